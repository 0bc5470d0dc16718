use safeguard_domain::account::{AccountError, Denied};
use safeguard_domain::report::FieldError;
use safeguard_store::StoreError;

/// What a use case can answer instead of a result.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The input breaks one or more rules; every broken field is listed.
    #[error("invalid input: {}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
    Invalid(Vec<FieldError>),
    #[error(transparent)]
    Denied(#[from] Denied),
    /// Not there, or not visible to the caller (the two are not told apart, so that ids cannot
    /// be probed).
    #[error("{what} {id} not found")]
    NotFound { what: &'static str, id: String },
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    Unauthenticated(&'static str),
    #[error("the instance has no hotline or coordinator organisation to receive reports")]
    NoReceivingOrganisation,
    /// A file (a hash set to import) is not in the format it claims, beyond a bad record.
    #[error("invalid file: {0}")]
    InvalidFile(String),
    #[error(transparent)]
    Account(#[from] AccountError),
    #[error("password hashing failed: {0}")]
    PasswordHash(String),
    #[error(transparent)]
    Store(StoreError),
}

impl From<StoreError> for EngineError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::Duplicate { what, name } => {
                Self::Conflict(format!("{what} {name:?} already exists"))
            }
            StoreError::NotFound { what, name } => Self::NotFound { what, id: name },
            StoreError::IdempotencyConflict { key } => Self::Conflict(format!(
                "the Idempotency-Key {key:?} was already used for a different request"
            )),
            StoreError::StateConflict(message) => Self::Conflict(message),
            StoreError::Account(e) => Self::Account(e),
            other => Self::Store(other),
        }
    }
}
