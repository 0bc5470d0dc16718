//! Walking the stored blobs: listing their SHA-256s and the integrity sweep.

use std::ffi::OsString;
use std::io::{self, Read as _};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use safeguard_domain::digest::{Digester, Sha256};

use crate::error::VaultError;
use crate::storage::Storage;
use crate::vault::{file_name, is_blob_name, read_header, Vault};

/// One file found under `blobs/`.
#[derive(Debug)]
pub(crate) struct Found {
    pub(crate) path: PathBuf,
    /// Whether the file name and its place have the shape of a blob (`ab/cd/abcd…`).
    pub(crate) well_placed: bool,
}

/// A lazy walk of `blobs/<2 hex>/<2 hex>/<file>`: one directory listing in memory at a time.
pub(crate) struct Walk {
    storage: Arc<dyn Storage>,
    tops: std::vec::IntoIter<PathBuf>,
    mids: std::vec::IntoIter<PathBuf>,
    files: std::vec::IntoIter<(PathBuf, bool)>,
    failed: bool,
}

impl Walk {
    pub(crate) fn new(storage: Arc<dyn Storage>, blobs: &Path) -> Result<Self, VaultError> {
        let tops = list(storage.as_ref(), blobs)?
            .into_iter()
            .map(|n| blobs.join(n))
            .collect::<Vec<_>>();
        Ok(Self {
            storage,
            tops: tops.into_iter(),
            mids: Vec::new().into_iter(),
            files: Vec::new().into_iter(),
            failed: false,
        })
    }
}

fn list(storage: &dyn Storage, dir: &Path) -> Result<Vec<OsString>, VaultError> {
    storage.list_dir(dir).map_err(VaultError::io("list", dir))
}

fn two_hex(path: &Path) -> Option<String> {
    let name = path.file_name()?.to_str()?;
    (name.len() == 2 && name.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')))
        .then(|| name.to_owned())
}

impl Iterator for Walk {
    type Item = Result<Found, VaultError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        loop {
            if let Some((path, well_placed)) = self.files.next() {
                return Some(Ok(Found { path, well_placed }));
            }
            if let Some(mid) = self.mids.next() {
                let names = match list(self.storage.as_ref(), &mid) {
                    Ok(names) => names,
                    Err(e) if is_not_a_dir(&e) => {
                        return Some(Ok(Found {
                            path: mid,
                            well_placed: false,
                        }))
                    }
                    Err(e) => {
                        self.failed = true;
                        return Some(Err(e));
                    }
                };
                let prefix = mid
                    .parent()
                    .and_then(two_hex)
                    .zip(two_hex(&mid))
                    .map(|(a, b)| a + &b);
                self.files = names
                    .into_iter()
                    .map(|n| {
                        let well_placed = n.to_str().is_some_and(|n| {
                            is_blob_name(n) && prefix.as_deref().is_some_and(|p| n.starts_with(p))
                        });
                        (mid.join(n), well_placed)
                    })
                    .collect::<Vec<_>>()
                    .into_iter();
                continue;
            }
            let top = self.tops.next()?;
            match list(self.storage.as_ref(), &top) {
                Ok(names) => {
                    self.mids = names
                        .into_iter()
                        .map(|n| top.join(n))
                        .collect::<Vec<_>>()
                        .into_iter();
                }
                Err(e) if is_not_a_dir(&e) => {
                    return Some(Ok(Found {
                        path: top,
                        well_placed: false,
                    }))
                }
                Err(e) => {
                    self.failed = true;
                    return Some(Err(e));
                }
            }
        }
    }
}

fn is_not_a_dir(e: &VaultError) -> bool {
    matches!(e, VaultError::Io { source, .. } if source.kind() == io::ErrorKind::NotADirectory)
}

/// One blob that failed the integrity sweep.
#[derive(Debug)]
pub struct VerifyProblem {
    /// The file concerned.
    pub path: PathBuf,
    /// The content's SHA-256, when the header could be opened.
    pub sha256: Option<Sha256>,
    /// What is wrong.
    pub error: VaultError,
}

/// Outcome of [`Vault::verify_all`].
#[derive(Debug, Default)]
pub struct VerifyReport {
    /// Blobs examined.
    pub checked: u64,
    /// Blobs that decrypted completely and matched their name and recorded digests.
    pub ok: u64,
    /// Plaintext bytes verified.
    pub bytes: u64,
    /// Blobs that did not, and stray files under `blobs/`.
    pub problems: Vec<VerifyProblem>,
}

impl VerifyReport {
    /// True when every blob verified and nothing stray was found.
    pub fn is_clean(&self) -> bool {
        self.problems.is_empty()
    }
}

impl Vault {
    pub(crate) fn walk(&self) -> Result<Walk, VaultError> {
        Walk::new(Arc::clone(&self.inner.storage), &self.inner.blobs)
    }

    /// The SHA-256 of every stored blob (read from each blob's authenticated header), for the
    /// retention purge and for reconciliation with the store.
    ///
    /// Lazy: one directory listing in memory at a time. A blob whose header does not open or
    /// does not match its name is yielded as an error item and the walk goes on; files that are
    /// not blobs are skipped (the sweep reports them).
    pub fn list(
        &self,
    ) -> Result<impl Iterator<Item = Result<Sha256, VaultError>> + '_, VaultError> {
        Ok(self.walk()?.filter_map(move |found| match found {
            Err(e) => Some(Err(e)),
            Ok(found) if !found.well_placed => None,
            Ok(found) => self.sha256_of(&found.path).transpose(),
        }))
    }

    /// Opens a blob's header and checks that its name matches its content's SHA-256; `None` if
    /// the blob was deleted since it was listed (a concurrent purge is not an error).
    fn sha256_of(&self, path: &Path) -> Result<Option<Sha256>, VaultError> {
        let name = file_name(path);
        let header = match read_header(self.inner.storage.as_ref(), path) {
            Ok((_, header)) => header,
            Err(VaultError::Io { source, .. }) if source.kind() == io::ErrorKind::NotFound => {
                return Ok(None)
            }
            Err(e) => return Err(e),
        };
        let opened = header
            .open(&self.inner.keys())
            .map_err(|reason| VaultError::corrupt(name.as_str(), reason))?;
        let sha256 = opened.meta.digests.sha256;
        if self.blob_name(&sha256) != name {
            return Err(VaultError::corrupt(
                name,
                "holds content other than its name says",
            ));
        }
        Ok(Some(sha256))
    }

    /// The integrity sweep: decrypts every blob completely, checks every segment's
    /// authentication, that its SHA-256 matches its name and that MD5, SHA-1 and SHA-256 match
    /// those recorded at storage time. Reports stray files too. Stops early only on an I/O error
    /// listing the directories.
    pub fn verify_all(&self) -> Result<VerifyReport, VaultError> {
        let mut report = VerifyReport::default();
        for found in self.walk()? {
            let found = found?;
            report.checked += 1;
            if !found.well_placed {
                report.problems.push(VerifyProblem {
                    error: VaultError::corrupt(
                        file_name(&found.path),
                        "stray file: not a blob name in its place",
                    ),
                    path: found.path,
                    sha256: None,
                });
                continue;
            }
            let sha256 = match self.sha256_of(&found.path) {
                Ok(Some(sha256)) => sha256,
                Ok(None) => {
                    report.checked -= 1;
                    continue;
                }
                Err(error) => {
                    report.problems.push(VerifyProblem {
                        path: found.path,
                        sha256: None,
                        error,
                    });
                    continue;
                }
            };
            match self.verify_one(&sha256) {
                Ok(bytes) => {
                    report.ok += 1;
                    report.bytes += bytes;
                }
                Err(VaultError::NotFound { .. }) => report.checked -= 1,
                Err(error) => report.problems.push(VerifyProblem {
                    path: found.path,
                    sha256: Some(sha256),
                    error,
                }),
            }
        }
        Ok(report)
    }

    fn verify_one(&self, sha256: &Sha256) -> Result<u64, VaultError> {
        let mut reader = self.open_blob(sha256)?;
        let recorded = reader.digests();
        let mut digester = Digester::new();
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = reader
                .read(&mut buf)
                .map_err(|e| VaultError::from_read_error(e, self.blob_path(sha256)))?;
            if n == 0 {
                break;
            }
            digester.update(&buf[..n]);
        }
        let size = digester.len();
        if digester.finish() != recorded || size != reader.size() {
            return Err(VaultError::corrupt(
                self.blob_name(sha256),
                "digests differ from those recorded at storage time",
            ));
        }
        Ok(size)
    }
}
