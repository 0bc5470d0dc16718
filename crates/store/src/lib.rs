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
mod federation;
mod files;
mod intake;
mod known;
mod linking;
mod neighbours;
mod package_flow;
mod packages;
mod pipeline;
mod reports;
mod retention;
mod routing;
mod sessions;
mod time_codec;
mod triage;
mod victim;

pub use accounts::{NewUser, StoredCredentials};
pub use audit::AuditVerification;
pub use connection::{Backend, Store, StoreOptions};
pub use error::StoreError;
pub use federation::{
    CustodyHop, FederatedOutcome, FederationAlert, IdentifierKey, OutboxItem, PeerReferral,
    UnsentAck, UnsentOutcome, JOB_FEDERATION_DELIVER,
};
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
    Bundle, ClusterView, DeconflictionAlert, Exclusion, KeyStat, LinkBatch, LinkOutcome,
    LinkReason, LinkSettings,
};
pub use neighbours::SharedIdentifier;
pub use package_flow::{PackageListItem, PackageStatistics, RecordedOutcome, ReferralGroup};
pub use packages::{Outcome, OutcomeCount, PackageState, StoredPackage};
pub use pipeline::{BlobPdq, KnownWatermark};
pub use reports::{
    DemoBulkReport, ReportFilter, ReportPage, ReportSummary, StoredReport, Submission,
};
pub use retention::{DataClass, PurgeCandidate, Purged, Tombstone, UnknownDataClass};
pub use routing::{
    Job, JobCount, NewReferral, Referral, RetryPolicy, RoutingRecord, StoredRouting,
    JOB_REPORT_FINISHED, SHARED_IDENTIFIER_COUNT_CAP,
};
pub use sessions::{SavedView, WebSession, WellnessSettings};
pub use triage::{
    priority_rank, BulkChange, Count, PriorityFilter, QueueCursor, QueueFilter, QueueItem,
    QueuePage, Statistics,
};
pub use victim::{
    Approval, ApprovalOutcome, Clue, ClueFilter, MediaMetadata, NewClue, NewObject,
    NewTaskforceEvent, PublicObject, PublicStatistics, SeriesMedium, Taskforce, TaskforceCounts,
    TaskforceEvent, TaskforceSeries, Tip, TipOutcome,
};
