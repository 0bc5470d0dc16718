//! Storage on SQLite (embedded default) and PostgreSQL (several nodes): migrations, reports,
//! accounts, the hash-chained audit log, evidence references, the job queue and known material
//! (hash sets, series, match results).
//!
//! One code path serves both databases: queries go through `sqlx::Any` and are written in the
//! SQL both understand (`$N` placeholders, `RETURNING`, integers for flags and times). Only the
//! migrations differ in their column types, one folder per database.

mod accounts;
mod audit;
mod connection;
mod error;
mod files;
mod intake;
mod known;
mod linking;
mod packages;
mod reports;
mod retention;
mod routing;
mod sessions;
mod time_codec;
mod triage;

pub use accounts::{NewUser, StoredCredentials};
pub use audit::AuditVerification;
pub use connection::{Backend, Store, StoreOptions};
pub use error::StoreError;
pub use files::{NewFile, ReleasedBlob};
pub use intake::{
    ExpiredReports, FileMetadata, IntakeActor, IntakeOp, IntakeOutcome, IntakeRefusal,
    IntakeStatus, OwnedSubmission, IDLE_LIFETIME_MICROS, OPEN_LIFETIME_MICROS,
};
pub use known::{
    EntryFilter, FileClassification, ImportContext, ImportCounts, KnownActor, KnownFrame,
    KnownImport, NewHashSet, NewKnownEntry, UpsertOutcome,
};
pub use linking::{
    Bundle, ClusterView, DeconflictionAlert, Exclusion, KeyStat, LinkOutcome, LinkReason,
    LinkSettings,
};
pub use packages::{Outcome, OutcomeCount, PackageState, StoredPackage};
pub use reports::{ReportFilter, ReportPage, ReportSummary, StoredReport, Submission};
pub use retention::{DataClass, PurgeCandidate, Purged, Tombstone, UnknownDataClass};
pub use routing::{Job, NewReferral, Referral, RoutingRecord, StoredRouting, JOB_REPORT_FINISHED};
pub use sessions::{SavedView, WebSession, WellnessSettings};
pub use triage::{
    priority_rank, BulkChange, Count, PriorityFilter, QueueCursor, QueueFilter, QueueItem,
    QueuePage, Statistics,
};
