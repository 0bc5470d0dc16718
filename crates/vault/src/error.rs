//! The vault's typed errors.

use std::io;
use std::path::PathBuf;

use safeguard_domain::digest::Sha256;

use crate::keys::KeyError;

/// Everything that can go wrong in the vault.
#[derive(Debug, thiserror::Error)]
pub enum VaultError {
    /// The upload (or a requested read) is larger than the configured limit. A refused put
    /// leaves nothing behind.
    #[error("blob exceeds the size limit of {limit} bytes")]
    TooLarge {
        /// The limit in bytes.
        limit: u64,
    },
    /// No blob with this SHA-256 is stored.
    #[error("no blob with SHA-256 {sha256} in the vault")]
    NotFound {
        /// The requested digest.
        sha256: Sha256,
    },
    /// A stored blob failed authentication or does not match its name: tampered, truncated,
    /// reordered, or damaged on disk. No unverified byte is ever returned.
    #[error("blob {blob} is corrupt: {reason}")]
    Corrupt {
        /// The blob's file name (its keyed name, not the SHA-256).
        blob: String,
        /// What failed to verify.
        reason: String,
    },
    /// The vault's naming key is wrapped under a key the ring does not hold (or holds with
    /// different material): the wrong key file or environment variable.
    #[error("the vault is sealed under master key {key_id:?}, which the key ring does not hold (or holds with different material)")]
    KeyMismatch {
        /// Id of the key the vault expects.
        key_id: String,
    },
    /// A file-system operation of the vault failed (ENOSPC, EIO, permissions...).
    #[error("vault I/O error while trying to {op} {path}: {source}")]
    Io {
        /// What the vault was doing.
        op: &'static str,
        /// The file or directory concerned.
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
    /// Reading the upload itself failed (client went away, aborted stream...). Nothing is kept.
    #[error("reading the upload failed: {0}")]
    Source(#[source] io::Error),
    /// A key or key file problem.
    #[error(transparent)]
    Key(#[from] KeyError),
    /// An invalid [`crate::VaultConfig`].
    #[error("invalid vault configuration: {0}")]
    Config(String),
    /// A rotation stopped on an I/O error; running it again with the same key resumes it.
    #[error("key rotation interrupted after re-wrapping {rewrapped} blob(s): {source}")]
    RotationInterrupted {
        /// Blob headers re-wrapped before the interruption.
        rewrapped: u64,
        /// The error that stopped it.
        source: Box<VaultError>,
    },
    /// A background task of the async API failed (panicked or was cancelled).
    #[error("vault background task failed: {0}")]
    Task(String),
}

impl VaultError {
    pub(crate) fn io(op: &'static str, path: impl Into<PathBuf>) -> impl FnOnce(io::Error) -> Self {
        let path = path.into();
        move |source| VaultError::Io { op, path, source }
    }

    pub(crate) fn corrupt(blob: impl Into<String>, reason: impl Into<String>) -> Self {
        VaultError::Corrupt {
            blob: blob.into(),
            reason: reason.into(),
        }
    }

    /// Recovers the vault error carried by an `io::Error` returned from a
    /// [`crate::BlobReader`]'s `Read` implementation (other I/O errors become
    /// [`VaultError::Io`] about `path`).
    pub fn from_read_error(error: io::Error, path: impl Into<PathBuf>) -> Self {
        let path = path.into();
        if !error
            .get_ref()
            .is_some_and(|inner| inner.is::<VaultError>())
        {
            return VaultError::Io {
                op: "read",
                path,
                source: error,
            };
        }
        let kind = error.kind();
        match error
            .into_inner()
            .map(|inner| inner.downcast::<VaultError>())
        {
            Some(Ok(vault_error)) => *vault_error,
            Some(Err(other)) => VaultError::Io {
                op: "read",
                path,
                source: io::Error::new(kind, other),
            },
            None => VaultError::Io {
                op: "read",
                path,
                source: io::Error::from(kind),
            },
        }
    }

    /// Wraps this error in an `io::Error` (kind `InvalidData` for corruption), so it can travel
    /// through `Read` and be recovered with [`VaultError::from_read_error`].
    pub(crate) fn into_io(self) -> io::Error {
        let kind = match &self {
            VaultError::Corrupt { .. } => io::ErrorKind::InvalidData,
            VaultError::Io { source, .. } => source.kind(),
            _ => io::ErrorKind::Other,
        };
        io::Error::new(kind, self)
    }
}
