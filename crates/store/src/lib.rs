//! Storage on SQLite (embedded default) and PostgreSQL (several nodes): migrations, reports,
//! accounts, the hash-chained audit log and the job queue.
