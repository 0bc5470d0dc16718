use safeguard_domain::account::AccountError;

/// What can go wrong in storage. Conflicts and missing rows are told apart from failures of the
/// database itself, so the edge can answer 409/404 rather than 500.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{what} {name:?} already exists")]
    Duplicate { what: &'static str, name: String },
    #[error("no {what} {name:?}")]
    NotFound { what: &'static str, name: String },
    #[error("the idempotency key {key:?} was already used for a different request")]
    IdempotencyConflict { key: String },
    /// The row exists but its state does not allow the change (a closed object, say).
    #[error("{0}")]
    StateConflict(String),
    #[error("stored data is inconsistent: {0}")]
    Corrupt(String),
    #[error("unsupported database URL {0:?}: use sqlite://PATH or postgres://…")]
    UnsupportedUrl(String),
    #[error(transparent)]
    Account(#[from] AccountError),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migration failed: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),
}

impl StoreError {
    /// True when the database refused a row because a unique constraint already holds it.
    pub(crate) fn is_unique_violation(err: &sqlx::Error) -> bool {
        match err {
            sqlx::Error::Database(db) => db.is_unique_violation(),
            _ => false,
        }
    }

    pub(crate) fn corrupt(what: impl std::fmt::Display) -> Self {
        Self::Corrupt(what.to_string())
    }
}
