//! Master-key rotation: re-wrap every blob's data key under a new master key, in place,
//! without touching the encrypted content and without stopping readers or writers.

use std::io::SeekFrom;
use std::path::{Path, PathBuf};
use std::sync::PoisonError;

use crate::envelope::{slot_key_id, Header, BLOB_SLOT_LEN};
use crate::error::VaultError;
use crate::keys::{KeyRing, MasterKey};
use crate::vault::{
    file_name, naming_file_path, read_header_from, read_naming_file, write_naming_temp, Vault,
};

/// Outcome of [`Vault::rotate`].
#[derive(Debug, Default)]
pub struct RotationReport {
    /// Blob headers changed by this run (newly wrapped under the new key, or a re-wrap
    /// interrupted earlier and finished now).
    pub rewrapped: u64,
    /// Blobs already wrapped only under the new key (e.g. done by an interrupted earlier run, or
    /// stored after the rotation began).
    pub already_current: u64,
    /// Whether the naming-key file was re-wrapped by this run.
    pub naming_key_rewrapped: bool,
    /// Blobs whose header could not be opened with any key of the ring; left untouched.
    pub failed: Vec<(PathBuf, VaultError)>,
}

enum Outcome {
    Rewrapped,
    AlreadyCurrent,
    Vanished,
}

impl Vault {
    /// Makes `new_key` the active master key and re-wraps every blob header (and the naming
    /// key) under it.
    ///
    /// Only the small header of each blob is rewritten — the content is not re-encrypted — so
    /// rotation costs a few hundred bytes of I/O per blob. Readers keep working throughout: the
    /// ring holds both keys, and each header has two slots, the new wrapping being written and
    /// synced before the old one is cleared, so a crash at any point leaves a readable blob.
    ///
    /// Idempotent and resumable: an I/O error stops the run with
    /// [`VaultError::RotationInterrupted`]; calling `rotate` again with the same key finishes
    /// the job. Once it returns `Ok` with no `failed` entry, the old key is no longer needed by
    /// this vault (persist the new ring, e.g. [`KeyRing::replace_key_file`], before removing
    /// it).
    pub fn rotate(&self, new_key: MasterKey) -> Result<RotationReport, VaultError> {
        {
            let mut keys = self
                .inner
                .keys
                .write()
                .unwrap_or_else(PoisonError::into_inner);
            keys.insert(new_key.clone())?;
            keys.set_active(new_key.id())?;
        }
        // Wait for puts that may have sealed under the previous key to finish linking their
        // blob in: every blob created after this point is sealed under the new key.
        drop(
            self.inner
                .commit_gate
                .write()
                .unwrap_or_else(PoisonError::into_inner),
        );

        let mut report = RotationReport::default();
        let interrupted = |rewrapped, e| VaultError::RotationInterrupted {
            rewrapped,
            source: Box::new(e),
        };
        report.naming_key_rewrapped = self.rewrap_naming_key().map_err(|e| interrupted(0, e))?;
        let walk = self.walk().map_err(|e| interrupted(0, e))?;
        let keys = self.inner.keys().clone();
        for found in walk {
            let found = found.map_err(|e| interrupted(report.rewrapped, e))?;
            if !found.well_placed {
                continue;
            }
            match self.rewrap_blob(&found.path, &keys) {
                Ok(Outcome::Rewrapped) => report.rewrapped += 1,
                Ok(Outcome::AlreadyCurrent) => report.already_current += 1,
                Ok(Outcome::Vanished) => {}
                Err(e @ VaultError::Corrupt { .. }) => report.failed.push((found.path, e)),
                Err(e) => return Err(interrupted(report.rewrapped, e)),
            }
        }
        Ok(report)
    }

    fn rewrap_naming_key(&self) -> Result<bool, VaultError> {
        let storage = self.inner.storage.as_ref();
        let path = naming_file_path(&self.inner.dir);
        let keys = self.inner.keys().clone();
        let (naming_key, key_id) = read_naming_file(storage, &path, &keys)?;
        if key_id == keys.active().id().as_str() {
            return Ok(false);
        }
        let temp = write_naming_temp(storage, &self.inner.tmp, &naming_key, keys.active())?;
        if let Err(e) = storage.rename(&temp, &path) {
            let _ = storage.remove_file(&temp);
            return Err(VaultError::io("replace", path)(e));
        }
        storage
            .sync_dir(&self.inner.dir)
            .map_err(VaultError::io("sync directory", &self.inner.dir))?;
        Ok(true)
    }

    fn rewrap_blob(&self, path: &Path, keys: &KeyRing) -> Result<Outcome, VaultError> {
        let storage = self.inner.storage.as_ref();
        let mut file = match storage.open_update(path) {
            Ok(file) => file,
            // Deleted since the listing: nothing to do.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Outcome::Vanished),
            Err(e) => return Err(VaultError::io("open", path)(e)),
        };
        let mut header = read_header_from(file.as_mut(), path)?;
        let opened = header
            .open(keys)
            .map_err(|reason| VaultError::corrupt(file_name(path), reason))?;
        let active = keys.active();
        let other = 1 - opened.slot;
        let other_in_use = header.slot(other).iter().any(|&b| b != 0);
        let write_err = VaultError::io("rewrite header of", path);

        let stale_slot = if opened.key_id == active.id().as_str() {
            if !other_in_use {
                return Ok(Outcome::AlreadyCurrent);
            }
            // An earlier run wrote the new wrapping but did not clear the old one.
            other
        } else {
            // Another slot may already hold a (possibly torn) new wrapping; it is overwritten.
            let sealed = header.seal_into(other, active, &opened.meta);
            write_at(file.as_mut(), Header::slot_offset(other), &sealed).map_err(write_err)?;
            file.sync_all().map_err(VaultError::io("sync", path))?;
            opened.slot
        };
        // Only once the new wrapping is durable does the old one go.
        debug_assert!(slot_key_id(header.slot(1 - stale_slot)).is_ok());
        write_at(
            file.as_mut(),
            Header::slot_offset(stale_slot),
            &[0u8; BLOB_SLOT_LEN],
        )
        .map_err(VaultError::io("rewrite header of", path))?;
        file.sync_all().map_err(VaultError::io("sync", path))?;
        Ok(Outcome::Rewrapped)
    }
}

fn write_at(
    file: &mut dyn crate::storage::StorageFile,
    offset: usize,
    bytes: &[u8],
) -> std::io::Result<()> {
    file.seek(SeekFrom::Start(offset as u64))?;
    file.write_all(bytes)?;
    file.flush()
}
