//! The evidence vault: media stored content-addressed and encrypted at rest.
//!
//! Uploaded files — potentially evidence of crimes against children — are streamed to disk,
//! never held whole in memory, encrypted segment by segment (XChaCha20-Poly1305 in the STREAM
//! construction) under a per-blob random data key that is itself wrapped by a master key kept
//! outside the database (envelope encryption). Blobs are named by a keyed hash of their SHA-256,
//! so identical content is stored once and a copy of the disk alone does not reveal which known
//! files are present. See `docs/vault.md` for the design.
//!
//! ```no_run
//! # fn main() -> Result<(), safeguard_vault::VaultError> {
//! use safeguard_vault::{KeyRing, Vault, VaultConfig};
//! let data_dir = std::path::Path::new("/var/lib/safeguard");
//! let (keys, _source) = KeyRing::load(data_dir)?;
//! let vault = Vault::open(&data_dir.join("vault"), keys, VaultConfig::default())?;
//! let stored = vault.put(std::fs::File::open("upload.bin").map_err(safeguard_vault::VaultError::Source)?)?;
//! let bytes = vault.read_to_vec(&stored.digests.sha256, 64 << 20)?;
//! # let _ = bytes; Ok(()) }
//! ```

mod envelope;
mod error;
pub mod fault;
mod integrity;
mod keys;
mod read;
mod rotation;
mod storage;
mod vault;

pub use envelope::{
    HEADER_LEN as BLOB_HEADER_LEN, MAX_SEGMENT_SIZE, MIN_SEGMENT_SIZE, TAG_LEN as SEGMENT_TAG_LEN,
};
pub use error::VaultError;
pub use integrity::{VerifyProblem, VerifyReport};
pub use keys::{
    KeyError, KeyId, KeyRing, KeySource, MasterKey, KEY_ENV_VAR, KEY_LEN, MAX_KEY_ID_LEN,
};
pub use read::{AsyncBlobReader, BlobReader};
pub use rotation::RotationReport;
pub use storage::{FsStorage, Storage, StorageFile};
pub use vault::{StoredBlob, Vault, VaultConfig, DEFAULT_MAX_BLOB_SIZE, DEFAULT_SEGMENT_SIZE};
