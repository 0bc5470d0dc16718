//! Storage on SQLite (embedded default) and PostgreSQL (several nodes): migrations, reports,
//! accounts, the hash-chained audit log, evidence references and the job queue.
//!
//! One code path serves both databases: queries go through `sqlx::Any` and are written in the
//! SQL both understand (`$N` placeholders, `RETURNING`, integers for flags and times). Only the
//! migrations differ in their column types, one folder per database.

mod accounts;
mod audit;
mod connection;
mod error;
mod files;
mod reports;
mod routing;
mod time_codec;

pub use accounts::{NewUser, StoredCredentials};
pub use audit::AuditVerification;
pub use connection::{Backend, Store, StoreOptions};
pub use error::StoreError;
pub use files::{NewFile, ReleasedBlob};
pub use reports::{ReportFilter, ReportPage, ReportSummary, StoredReport, Submission};
pub use routing::{Job, NewReferral, Referral, RoutingRecord, StoredRouting, JOB_REPORT_FINISHED};
