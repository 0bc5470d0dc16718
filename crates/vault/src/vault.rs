//! The vault itself: opening, storing (sync and async), naming, deleting.

use std::io::{self, Read, Seek as _, SeekFrom, Write as _};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock, RwLockReadGuard};

use hmac::Mac as _;
use safeguard_domain::digest::{Digester, FileDigests, Sha256};
use tokio::io::{AsyncRead, AsyncReadExt as _};
use zeroize::Zeroizing;

use crate::envelope::{
    self, BlobMeta, Header, SegmentCipher, SlotError, HEADER_LEN, MAX_SEGMENT_SIZE,
    MIN_SEGMENT_SIZE, NAMING_FILE_LEN, NAMING_MAGIC, PREFIX_LEN, TAG_LEN,
};
use crate::error::VaultError;
use crate::keys::{KeyRing, MasterKey, KEY_LEN};
use crate::storage::{FsStorage, Storage, StorageFile};

/// Default plaintext bytes per encrypted segment (64 KiB).
pub const DEFAULT_SEGMENT_SIZE: u32 = 64 * 1024;
/// Default upper bound on one blob (4 GiB).
pub const DEFAULT_MAX_BLOB_SIZE: u64 = 4 * 1024 * 1024 * 1024;

const NAMING_FILE: &str = "naming.key";
const BLOBS_DIR: &str = "blobs";
const TMP_DIR: &str = "tmp";
/// Number of stripes of the in-process commit lock (by first byte of the blob name).
const COMMIT_STRIPES: usize = 64;

/// Tunables of a vault.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VaultConfig {
    /// Largest blob accepted, in bytes; a bigger upload fails with [`VaultError::TooLarge`].
    pub max_blob_size: u64,
    /// Plaintext bytes per encrypted segment for new blobs (1 KiB to 16 MiB). Each blob records
    /// its own, so changing this never affects blobs already stored.
    pub segment_size: u32,
}

impl Default for VaultConfig {
    fn default() -> Self {
        Self {
            max_blob_size: DEFAULT_MAX_BLOB_SIZE,
            segment_size: DEFAULT_SEGMENT_SIZE,
        }
    }
}

impl VaultConfig {
    fn check(&self) -> Result<(), VaultError> {
        if !(MIN_SEGMENT_SIZE..=MAX_SEGMENT_SIZE).contains(&self.segment_size) {
            return Err(VaultError::Config(format!(
                "segment_size {} is outside {MIN_SEGMENT_SIZE}..={MAX_SEGMENT_SIZE}",
                self.segment_size
            )));
        }
        // The STREAM counter is 32 bits.
        if self.max_blob_size / u64::from(self.segment_size) >= u64::from(u32::MAX) {
            return Err(VaultError::Config(
                "max_blob_size needs more than 2^32 segments: raise segment_size".to_owned(),
            ));
        }
        Ok(())
    }
}

/// What [`Vault::put`] stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoredBlob {
    /// MD5, SHA-1 and SHA-256 of the plaintext, computed while streaming.
    pub digests: FileDigests,
    /// Plaintext size in bytes.
    pub size: u64,
    /// True when identical content was already stored (nothing new was written).
    pub already_present: bool,
}

/// The evidence vault: content-addressed, encrypted blobs under one directory.
///
/// Cheap to clone (shared state); safe to use from many threads and tasks at once.
#[derive(Clone)]
pub struct Vault {
    pub(crate) inner: Arc<Inner>,
}

impl std::fmt::Debug for Vault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Vault")
            .field("dir", &self.inner.dir)
            .field("config", &self.inner.config)
            .field("keys", &*self.inner.keys())
            .finish_non_exhaustive()
    }
}

pub(crate) struct Inner {
    pub(crate) dir: PathBuf,
    pub(crate) blobs: PathBuf,
    pub(crate) tmp: PathBuf,
    pub(crate) storage: Arc<dyn Storage>,
    pub(crate) keys: RwLock<KeyRing>,
    naming_key: Zeroizing<[u8; KEY_LEN]>,
    pub(crate) config: VaultConfig,
    /// Puts hold it shared from choosing the active key until their blob is linked in; a
    /// rotation takes it exclusively once after switching keys, so that every blob it does not
    /// see in its listing is sealed under the new key.
    pub(crate) commit_gate: RwLock<()>,
    /// Serialises commit and delete of the same name within this process.
    commit_locks: Vec<Mutex<()>>,
    cleaned_temp_files: usize,
}

impl Inner {
    pub(crate) fn keys(&self) -> RwLockReadGuard<'_, KeyRing> {
        self.keys.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn commit_lock(&self, name: &str) -> MutexGuard<'_, ()> {
        let stripe = usize::from(name.as_bytes().first().copied().unwrap_or(0)) % COMMIT_STRIPES;
        self.commit_locks[stripe]
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

/// Deletes a temporary file when dropped, unless disarmed (best effort: whatever is left is
/// removed by the next [`Vault::open`]).
struct TempFile {
    storage: Arc<dyn Storage>,
    path: PathBuf,
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = self.storage.remove_file(&self.path);
    }
}

impl Vault {
    /// Opens (creating if needed) the vault in `dir` on the real file system.
    ///
    /// Removes temporary files left by crashed writers, and creates the vault's naming key
    /// (wrapped under the ring's active key) on first use.
    pub fn open(dir: &Path, keys: KeyRing, config: VaultConfig) -> Result<Self, VaultError> {
        Self::open_with_storage(dir, keys, config, Arc::new(FsStorage))
    }

    /// [`Vault::open`] over another [`Storage`] (fault injection in tests).
    pub fn open_with_storage(
        dir: &Path,
        keys: KeyRing,
        config: VaultConfig,
        storage: Arc<dyn Storage>,
    ) -> Result<Self, VaultError> {
        config.check()?;
        let blobs = dir.join(BLOBS_DIR);
        let tmp = dir.join(TMP_DIR);
        for d in [dir, &blobs, &tmp] {
            storage
                .create_dir_all(d)
                .map_err(VaultError::io("create directory", d))?;
        }
        let cleaned_temp_files = clean_temp_dir(storage.as_ref(), &tmp)?;
        let naming_key = load_or_create_naming_key(storage.as_ref(), dir, &blobs, &tmp, &keys)?;
        Ok(Self {
            inner: Arc::new(Inner {
                dir: dir.to_owned(),
                blobs,
                tmp,
                storage,
                keys: RwLock::new(keys),
                naming_key,
                config,
                commit_gate: RwLock::new(()),
                commit_locks: (0..COMMIT_STRIPES).map(|_| Mutex::new(())).collect(),
                cleaned_temp_files,
            }),
        })
    }

    /// The vault directory.
    pub fn dir(&self) -> &Path {
        &self.inner.dir
    }

    /// The configuration in force.
    pub fn config(&self) -> VaultConfig {
        self.inner.config
    }

    /// Id of the master key new blobs are wrapped under.
    pub fn active_key_id(&self) -> crate::keys::KeyId {
        self.inner.keys().active().id().clone()
    }

    /// Learns the keys of `ring` this vault does not hold yet and makes `ring`'s active key the
    /// active one, without interrupting readers or writers: how a running server follows a key
    /// rotation done by another process (`safeguard keys rotate`), which adds the new key to
    /// the key file before re-wrapping any blob under it. Keys the vault holds are never dropped
    /// here. Returns whether anything changed.
    pub fn refresh_keys(&self, ring: &crate::keys::KeyRing) -> Result<bool, VaultError> {
        let mut keys = self
            .inner
            .keys
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut changed = false;
        for id in ring.ids() {
            if keys.get(id).is_none() {
                if let Some(key) = ring.get(id) {
                    keys.insert(key.clone())?;
                    changed = true;
                }
            }
        }
        let active = ring.active().id();
        if keys.active().id() != active {
            keys.set_active(active)?;
            changed = true;
        }
        Ok(changed)
    }

    /// How many abandoned temporary files [`Vault::open`] removed.
    pub fn cleaned_temp_files(&self) -> usize {
        self.inner.cleaned_temp_files
    }

    /// The on-disk name of the blob holding content with this SHA-256: HMAC-SHA256 under the
    /// vault's secret naming key, so the disk alone does not reveal which known files it holds.
    pub fn blob_name(&self, sha256: &Sha256) -> String {
        blob_name(&self.inner.naming_key, sha256)
    }

    /// Path of the blob for this SHA-256 (whether or not it exists).
    pub fn blob_path(&self, sha256: &Sha256) -> PathBuf {
        self.path_for_name(&self.blob_name(sha256))
    }

    pub(crate) fn path_for_name(&self, name: &str) -> PathBuf {
        // Names are 64 lower-case hex digits, so the slices are in bounds and on char edges.
        self.inner
            .blobs
            .join(&name[0..2])
            .join(&name[2..4])
            .join(name)
    }

    /// Whether a blob with this SHA-256 is stored (its presence only; see
    /// [`Vault::verify_all`] for its integrity).
    pub fn exists(&self, sha256: &Sha256) -> Result<bool, VaultError> {
        let path = self.blob_path(sha256);
        self.inner
            .storage
            .exists(&path)
            .map_err(VaultError::io("check", path))
    }

    /// Removes a blob; true if it existed.
    ///
    /// Contract: the vault stores identical content once and does no reference counting.
    /// The caller (the store) counts references and calls `delete` only when the last
    /// report referring to this content is gone.
    pub fn delete(&self, sha256: &Sha256) -> Result<bool, VaultError> {
        let name = self.blob_name(sha256);
        let path = self.path_for_name(&name);
        let _commit = self.inner.commit_lock(&name);
        match self.inner.storage.remove_file(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(false),
            Err(e) => return Err(VaultError::io("delete", path)(e)),
        }
        let dir = parent(&path);
        self.inner
            .storage
            .sync_dir(dir)
            .map_err(VaultError::io("sync directory", dir))?;
        Ok(true)
    }

    /// Stores the bytes of `reader`, streaming: encrypted segment by segment, hashed on the way,
    /// never held whole in memory.
    pub fn put<R: Read>(&self, reader: R) -> Result<StoredBlob, VaultError> {
        let (tmp_file, file) = self.create_temp()?;
        match self.write_and_commit(reader, &tmp_file, file) {
            Ok(stored) => Ok(stored),
            Err(e) => {
                drop(tmp_file); // removes the partial file before the error is reported
                Err(e)
            }
        }
    }

    /// Stores an in-memory buffer.
    pub fn put_bytes(&self, bytes: &[u8]) -> Result<StoredBlob, VaultError> {
        self.put(bytes)
    }

    /// Stores the bytes of an async reader (e.g. a multipart upload field).
    ///
    /// The reading happens on the calling task; encryption and disk writes run on tokio's
    /// blocking pool, with a small bounded queue in between (back-pressure, bounded memory).
    /// If this future is dropped before the end of the stream, nothing is stored. Needs a tokio
    /// runtime.
    pub async fn put_async<R: AsyncRead + Unpin + Send>(
        &self,
        mut reader: R,
    ) -> Result<StoredBlob, VaultError> {
        let (tx, rx) = tokio::sync::mpsc::channel::<Chunk>(4);
        let vault = self.clone();
        let writer = tokio::task::spawn_blocking(move || {
            vault.put(ChannelReader {
                rx,
                current: Vec::new(),
                pos: 0,
                ended: false,
            })
        });
        let chunk_len = self.inner.config.segment_size as usize;
        loop {
            let mut buf = vec![0u8; chunk_len];
            let message = match reader.read(&mut buf).await {
                Ok(0) => Chunk::End,
                Ok(n) => {
                    buf.truncate(n);
                    Chunk::Data(buf)
                }
                Err(e) => Chunk::Failed(e),
            };
            let last = !matches!(message, Chunk::Data(_));
            // A send error means the writer stopped early (too large, disk error): its result
            // says why.
            if tx.send(message).await.is_err() || last {
                break;
            }
        }
        drop(tx);
        writer.await.map_err(|e| VaultError::Task(e.to_string()))?
    }

    fn create_temp(&self) -> Result<(TempFile, Box<dyn StorageFile>), VaultError> {
        let name = format!("{}-{:016x}.tmp", std::process::id(), rand::random::<u64>());
        let path = self.inner.tmp.join(name);
        let file = self
            .inner
            .storage
            .create_temp(&path)
            .map_err(VaultError::io("create temporary file", &path))?;
        Ok((
            TempFile {
                storage: Arc::clone(&self.inner.storage),
                path,
            },
            file,
        ))
    }

    fn write_and_commit<R: Read>(
        &self,
        mut reader: R,
        tmp: &TempFile,
        mut file: Box<dyn StorageFile>,
    ) -> Result<StoredBlob, VaultError> {
        let config = self.inner.config;
        let seg = config.segment_size as usize;
        let mut header = Header::new(config.segment_size);
        let write_err = || VaultError::io("write", tmp.path.clone());
        // Room for the header, written last once the digests and size are known.
        file.write_all(&[0u8; HEADER_LEN]).map_err(write_err())?;

        let (data_key, nonce_prefix) = BlobMeta::fresh();
        let cipher = SegmentCipher::new(&data_key, nonce_prefix, *header.prefix());
        let mut digester = Digester::new();
        let mut current = Vec::with_capacity(seg + TAG_LEN);
        let mut next = Vec::with_capacity(seg + TAG_LEN);
        let mut total = fill(&mut reader, &mut current, seg)? as u64;
        let mut counter: u32 = 0;
        loop {
            // One segment of look-ahead: only an empty read tells that `current` is the last.
            if current.len() == seg {
                total += fill(&mut reader, &mut next, seg)? as u64;
            }
            if total > config.max_blob_size {
                return Err(VaultError::TooLarge {
                    limit: config.max_blob_size,
                });
            }
            let last = next.is_empty();
            digester.update(&current);
            cipher.seal(counter, last, &mut current);
            file.write_all(&current).map_err(write_err())?;
            if last {
                break;
            }
            // Cannot overflow: the config check bounds max_blob_size / segment_size below 2^32.
            counter = counter.checked_add(1).ok_or(VaultError::TooLarge {
                limit: config.max_blob_size,
            })?;
            std::mem::swap(&mut current, &mut next);
            next.clear();
        }
        let digests = digester.finish();
        let meta = BlobMeta {
            data_key,
            nonce_prefix,
            size: total,
            digests,
        };

        // From here until the blob is linked in, a rotation must wait (see `commit_gate`).
        let _gate = self
            .inner
            .commit_gate
            .read()
            .unwrap_or_else(PoisonError::into_inner);
        {
            let keys = self.inner.keys();
            header.seal_into(0, keys.active(), &meta);
        }
        file.seek(SeekFrom::Start(0)).map_err(write_err())?;
        file.write_all(&header.bytes).map_err(write_err())?;
        file.flush().map_err(write_err())?;

        // Identical content already stored and intact: the copy is dropped unsynced. (Checked
        // again under the commit lock below, for puts racing on the same content.)
        let known_path = self.blob_path(&digests.sha256);
        if self.inner.storage.exists(&known_path).unwrap_or(false)
            && self.existing_blob_is_sound(&digests.sha256)
        {
            return Ok(StoredBlob {
                digests,
                size: total,
                already_present: true,
            });
        }
        file.sync_all()
            .map_err(VaultError::io("sync", tmp.path.clone()))?;
        drop(file);

        let already_present = self.commit(tmp, &digests.sha256)?;
        Ok(StoredBlob {
            digests,
            size: total,
            already_present,
        })
    }

    /// Gives the finished temporary file its final name; true if the content was already there.
    fn commit(&self, tmp: &TempFile, sha256: &Sha256) -> Result<bool, VaultError> {
        let storage = self.inner.storage.as_ref();
        let name = self.blob_name(sha256);
        let path = self.path_for_name(&name);
        let dir = parent(&path).to_owned();
        let _commit = self.inner.commit_lock(&name);
        self.ensure_blob_dir(&dir)?;
        match storage.link_new(&tmp.path, &path) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                if self.existing_blob_is_sound(sha256) {
                    return Ok(true);
                }
                // The stored copy is damaged: replace it with the fresh one.
                storage
                    .rename(&tmp.path, &path)
                    .map_err(VaultError::io("replace damaged blob", &path))?;
            }
            Err(e) if link_unsupported(&e) => {
                // A file system without hard links: check-then-rename under the commit lock.
                // Across processes two identical puts may both rename; the content is the same.
                if storage.exists(&path).unwrap_or(false) && self.existing_blob_is_sound(sha256) {
                    return Ok(true);
                }
                storage
                    .rename(&tmp.path, &path)
                    .map_err(VaultError::io("rename blob", &path))?;
            }
            Err(e) => return Err(VaultError::io("link blob", &path)(e)),
        }
        if let Err(e) = storage.sync_dir(&dir) {
            // Not durable: undo, so a failed put never leaves a blob behind. The commit lock
            // keeps a concurrent identical put from having counted on this name meanwhile.
            let _ = storage.remove_file(&path);
            return Err(VaultError::io("sync directory", dir)(e));
        }
        Ok(false)
    }

    /// Full check of an already stored copy (every segment and the SHA-256), so that a damaged
    /// copy is replaced by a fresh upload of the same content instead of being kept forever.
    fn existing_blob_is_sound(&self, sha256: &Sha256) -> bool {
        match self.open_blob(sha256) {
            Ok(mut reader) => io::copy(&mut reader, &mut io::sink()).is_ok(),
            Err(_) => false,
        }
    }

    fn ensure_blob_dir(&self, dir: &Path) -> Result<(), VaultError> {
        let storage = self.inner.storage.as_ref();
        if storage.exists(dir).map_err(VaultError::io("check", dir))? {
            return Ok(());
        }
        storage
            .create_dir_all(dir)
            .map_err(VaultError::io("create directory", dir))?;
        // Make the new directory entries durable up to `blobs/`.
        let mid = parent(dir);
        for d in [mid, &self.inner.blobs] {
            storage
                .sync_dir(d)
                .map_err(VaultError::io("sync directory", d))?;
        }
        Ok(())
    }
}

/// What the async side of [`Vault::put_async`] hands to the writer.
enum Chunk {
    Data(Vec<u8>),
    End,
    Failed(io::Error),
}

/// A blocking `Read` over the chunks sent by [`Vault::put_async`]. A channel that closes
/// without an explicit end (the upload future was dropped) is an error, never a short file.
struct ChannelReader {
    rx: tokio::sync::mpsc::Receiver<Chunk>,
    current: Vec<u8>,
    pos: usize,
    ended: bool,
}

impl Read for ChannelReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            if self.pos < self.current.len() {
                let n = buf.len().min(self.current.len() - self.pos);
                buf[..n].copy_from_slice(&self.current[self.pos..self.pos + n]);
                self.pos += n;
                return Ok(n);
            }
            if self.ended {
                return Ok(0);
            }
            match self.rx.blocking_recv() {
                Some(Chunk::Data(data)) => {
                    self.current = data;
                    self.pos = 0;
                }
                Some(Chunk::End) => self.ended = true,
                Some(Chunk::Failed(e)) => return Err(e),
                None => {
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "upload abandoned before its end",
                    ))
                }
            }
        }
    }
}

/// Whether `link` failed because the file system has no hard links (Linux reports EPERM).
fn link_unsupported(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::Unsupported || e.raw_os_error() == Some(1)
}

/// Reads until `buf` holds `want` bytes or the reader is exhausted; returns bytes added.
fn fill<R: Read>(reader: &mut R, buf: &mut Vec<u8>, want: usize) -> Result<usize, VaultError> {
    let start = buf.len();
    buf.resize(start + want, 0);
    let mut filled = start;
    while filled < start + want {
        match reader.read(&mut buf[filled..start + want]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => {
                buf.truncate(start);
                return Err(VaultError::Source(e));
            }
        }
    }
    buf.truncate(filled);
    Ok(filled - start)
}

pub(crate) fn parent(path: &Path) -> &Path {
    path.parent().unwrap_or(Path::new("."))
}

pub(crate) fn blob_name(naming_key: &[u8; KEY_LEN], sha256: &Sha256) -> String {
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(naming_key)
        .expect("HMAC accepts keys of any length");
    mac.update(sha256.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// Whether a file name has the shape of a blob name (64 lower-case hex digits).
pub(crate) fn is_blob_name(name: &str) -> bool {
    name.len() == 64 && name.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// Reads and checks the clear part of a blob header.
pub(crate) fn read_header(
    storage: &dyn Storage,
    path: &Path,
) -> Result<(Box<dyn StorageFile>, Header), VaultError> {
    let mut file = storage
        .open_read(path)
        .map_err(VaultError::io("open", path))?;
    let header = read_header_from(file.as_mut(), path)?;
    Ok((file, header))
}

pub(crate) fn read_header_from(
    file: &mut dyn StorageFile,
    path: &Path,
) -> Result<Header, VaultError> {
    let mut bytes = [0u8; HEADER_LEN];
    if let Err(e) = file.read_exact(&mut bytes) {
        return Err(if e.kind() == io::ErrorKind::UnexpectedEof {
            VaultError::corrupt(file_name(path), "shorter than a header")
        } else {
            VaultError::io("read", path)(e)
        });
    }
    Header::parse(bytes).map_err(|reason| VaultError::corrupt(file_name(path), reason))
}

pub(crate) fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Removes temporary files whose writer is gone; returns how many.
fn clean_temp_dir(storage: &dyn Storage, tmp: &Path) -> Result<usize, VaultError> {
    let mut removed = 0;
    for name in storage.list_dir(tmp).map_err(VaultError::io("list", tmp))? {
        let path = tmp.join(&name);
        if storage
            .remove_if_unlocked(&path)
            .map_err(VaultError::io("remove abandoned temporary file", &path))?
        {
            removed += 1;
        }
    }
    Ok(removed)
}

fn naming_prefix() -> [u8; PREFIX_LEN] {
    envelope::prefix(NAMING_MAGIC, 0)
}

/// Reads the vault's naming key, unwrapping it with the ring.
pub(crate) fn read_naming_file(
    storage: &dyn Storage,
    path: &Path,
    keys: &KeyRing,
) -> Result<(Zeroizing<[u8; KEY_LEN]>, String), VaultError> {
    let mut file = storage
        .open_read(path)
        .map_err(VaultError::io("open", path))?;
    let mut bytes = Vec::with_capacity(NAMING_FILE_LEN);
    file.as_mut()
        .take(NAMING_FILE_LEN as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(VaultError::io("read", path))?;
    let corrupt = |reason: &str| VaultError::corrupt(NAMING_FILE, reason);
    if bytes.len() != NAMING_FILE_LEN {
        return Err(corrupt("wrong length"));
    }
    if bytes[..PREFIX_LEN] != naming_prefix() {
        return Err(corrupt("bad magic or version"));
    }
    let slot = &bytes[PREFIX_LEN..];
    let key_id = envelope::slot_key_id(slot)
        .map(|id| String::from_utf8_lossy(id).into_owned())
        .map_err(|_| corrupt("malformed key slot"))?;
    match envelope::open_slot(keys, &naming_prefix(), slot) {
        Ok(plain) => {
            let mut key = Zeroizing::new([0u8; KEY_LEN]);
            if plain.len() != KEY_LEN {
                return Err(corrupt("malformed naming key"));
            }
            key.copy_from_slice(&plain);
            Ok((key, key_id))
        }
        Err(SlotError::UnknownKey(_)) | Err(SlotError::Forged) => {
            Err(VaultError::KeyMismatch { key_id })
        }
        Err(SlotError::Empty) | Err(SlotError::Malformed) => Err(corrupt("malformed key slot")),
    }
}

/// Writes the naming key wrapped under `key` to a temporary file, durably; returns its path.
/// On error nothing is left behind.
pub(crate) fn write_naming_temp(
    storage: &dyn Storage,
    tmp_dir: &Path,
    naming_key: &[u8; KEY_LEN],
    key: &MasterKey,
) -> Result<PathBuf, VaultError> {
    let path = tmp_dir.join(format!("naming-{:016x}.tmp", rand::random::<u64>()));
    let mut file = storage
        .create_temp(&path)
        .map_err(VaultError::io("create temporary file", &path))?;
    let mut bytes = naming_prefix().to_vec();
    bytes.extend_from_slice(&envelope::seal_slot(key, &naming_prefix(), naming_key));
    let written = file
        .write_all(&bytes)
        .and_then(|()| file.flush())
        .map_err(VaultError::io("write", &path))
        .and_then(|()| file.sync_all().map_err(VaultError::io("sync", &path)));
    drop(file);
    match written {
        Ok(()) => Ok(path),
        Err(e) => {
            let _ = storage.remove_file(&path);
            Err(e)
        }
    }
}

fn load_or_create_naming_key(
    storage: &dyn Storage,
    dir: &Path,
    blobs: &Path,
    tmp: &Path,
    keys: &KeyRing,
) -> Result<Zeroizing<[u8; KEY_LEN]>, VaultError> {
    let path = dir.join(NAMING_FILE);
    if storage
        .exists(&path)
        .map_err(VaultError::io("check", &path))?
    {
        return read_naming_file(storage, &path, keys).map(|(key, _)| key);
    }
    let has_blobs = !storage
        .list_dir(blobs)
        .map_err(VaultError::io("list", blobs))?
        .is_empty();
    if has_blobs {
        // A new naming key would silently orphan every stored blob.
        return Err(VaultError::corrupt(
            NAMING_FILE,
            "missing while blobs are present (restore it from backup)",
        ));
    }
    let mut naming_key = Zeroizing::new([0u8; KEY_LEN]);
    rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, naming_key.as_mut());
    let temp = write_naming_temp(storage, tmp, &naming_key, keys.active())?;
    let mut linked = storage.link_new(&temp, &path);
    if linked.as_ref().is_err_and(link_unsupported) {
        linked = match storage.exists(&path) {
            Ok(true) => Err(io::Error::from(io::ErrorKind::AlreadyExists)),
            Ok(false) => storage.rename(&temp, &path),
            Err(e) => Err(e),
        };
    }
    let _ = storage.remove_file(&temp);
    match linked {
        Ok(()) => {
            storage
                .sync_dir(dir)
                .map_err(VaultError::io("sync directory", dir))?;
            Ok(naming_key)
        }
        // Another process initialised the vault at the same moment: use its key.
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
            read_naming_file(storage, &path, keys).map(|(key, _)| key)
        }
        Err(e) => Err(VaultError::io("create", &path)(e)),
    }
}

pub(crate) fn naming_file_path(dir: &Path) -> PathBuf {
    dir.join(NAMING_FILE)
}
