//! Fault injection for tests: a [`Storage`] that fails a chosen operation with ENOSPC or EIO.
//!
//! Used by this crate's tests and available to higher floors that want to see how they cope with
//! a vault whose disk fills up or fails. Not meant for production use.

use std::ffi::OsString;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use crate::storage::{FsStorage, Storage, StorageFile};

/// A kind of operation that can be made to fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FaultOp {
    /// A `write` call on a file.
    Write,
    /// An fsync of a file or a directory.
    Sync,
    /// A no-clobber link (the commit of a new blob).
    Link,
    /// A rename (temp file to final name, e.g. the naming-key file).
    Rename,
    /// Creating a temporary file.
    CreateTemp,
    /// Creating a directory.
    CreateDir,
}

const OPS: [FaultOp; 6] = [
    FaultOp::Write,
    FaultOp::Sync,
    FaultOp::Link,
    FaultOp::Rename,
    FaultOp::CreateTemp,
    FaultOp::CreateDir,
];

fn op_index(op: FaultOp) -> usize {
    match op {
        FaultOp::Write => 0,
        FaultOp::Sync => 1,
        FaultOp::Link => 2,
        FaultOp::Rename => 3,
        FaultOp::CreateTemp => 4,
        FaultOp::CreateDir => 5,
    }
}

/// The error an injected fault produces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultError {
    /// ENOSPC: no space left on device.
    NoSpace,
    /// EIO: input/output error.
    Io,
}

impl FaultError {
    fn to_io(self) -> io::Error {
        match self {
            FaultError::NoSpace => io::Error::from_raw_os_error(28),
            FaultError::Io => io::Error::from_raw_os_error(5),
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Plan {
    op: FaultOp,
    /// 1-based ordinal, counted from when the plan was armed.
    nth: u64,
    error: FaultError,
    /// Keep failing every later operation of that kind too (a disk that stays full).
    sticky: bool,
    seen: u64,
}

#[derive(Debug, Default)]
struct State {
    plan: Mutex<Option<Plan>>,
    no_hard_links: std::sync::atomic::AtomicBool,
    counts: [AtomicU64; 6],
    fired: AtomicU64,
}

impl State {
    fn lock(&self) -> MutexGuard<'_, Option<Plan>> {
        self.plan
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn check(&self, op: FaultOp) -> io::Result<()> {
        self.counts[op_index(op)].fetch_add(1, Ordering::SeqCst);
        let mut guard = self.lock();
        if let Some(plan) = guard.as_mut() {
            if plan.op == op {
                plan.seen += 1;
                if plan.seen == plan.nth || (plan.sticky && plan.seen > plan.nth) {
                    self.fired.fetch_add(1, Ordering::SeqCst);
                    return Err(plan.error.to_io());
                }
            }
        }
        Ok(())
    }
}

/// A [`Storage`] over the real file system that fails the Nth operation of a chosen kind.
#[derive(Debug, Clone)]
pub struct FaultyStorage {
    inner: FsStorage,
    state: Arc<State>,
}

impl Default for FaultyStorage {
    fn default() -> Self {
        Self::new()
    }
}

impl FaultyStorage {
    /// A storage with no fault armed.
    pub fn new() -> Self {
        Self {
            inner: FsStorage,
            state: Arc::new(State::default()),
        }
    }

    /// Fails the `nth` (1-based, counted from now) operation of kind `op` with `error`.
    pub fn fail_nth(&self, op: FaultOp, nth: u64, error: FaultError) {
        *self.state.lock() = Some(Plan {
            op,
            nth,
            error,
            sticky: false,
            seen: 0,
        });
    }

    /// Fails the `nth` operation of kind `op` and every later one, until [`Self::disarm`].
    pub fn fail_from(&self, op: FaultOp, nth: u64, error: FaultError) {
        *self.state.lock() = Some(Plan {
            op,
            nth,
            error,
            sticky: true,
            seen: 0,
        });
    }

    /// Behaves like a file system without hard links: every link fails with EPERM, as Linux
    /// reports it (the vault then falls back to check-and-rename).
    pub fn without_hard_links(self) -> Self {
        self.state.no_hard_links.store(true, Ordering::SeqCst);
        self
    }

    /// Removes the armed fault.
    pub fn disarm(&self) {
        *self.state.lock() = None;
    }

    /// How many faults have fired so far.
    pub fn fired(&self) -> u64 {
        self.state.fired.load(Ordering::SeqCst)
    }

    /// How many operations of a kind have been attempted so far (faulted or not).
    pub fn count(&self, op: FaultOp) -> u64 {
        self.state.counts[op_index(op)].load(Ordering::SeqCst)
    }

    /// Resets all operation counters.
    pub fn reset_counts(&self) {
        for op in OPS {
            self.state.counts[op_index(op)].store(0, Ordering::SeqCst);
        }
    }
}

struct FaultyFile {
    inner: Box<dyn StorageFile>,
    state: Arc<State>,
}

impl Read for FaultyFile {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.inner.read(buf)
    }
}

impl Write for FaultyFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.state.check(FaultOp::Write)?;
        self.inner.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

impl Seek for FaultyFile {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        self.inner.seek(pos)
    }
}

impl StorageFile for FaultyFile {
    fn sync_all(&mut self) -> io::Result<()> {
        self.state.check(FaultOp::Sync)?;
        self.inner.sync_all()
    }
}

impl Storage for FaultyStorage {
    fn create_dir_all(&self, path: &Path) -> io::Result<()> {
        self.state.check(FaultOp::CreateDir)?;
        self.inner.create_dir_all(path)
    }

    fn create_temp(&self, path: &Path) -> io::Result<Box<dyn StorageFile>> {
        self.state.check(FaultOp::CreateTemp)?;
        Ok(Box::new(FaultyFile {
            inner: self.inner.create_temp(path)?,
            state: Arc::clone(&self.state),
        }))
    }

    fn open_read(&self, path: &Path) -> io::Result<Box<dyn StorageFile>> {
        self.inner.open_read(path)
    }

    fn open_update(&self, path: &Path) -> io::Result<Box<dyn StorageFile>> {
        Ok(Box::new(FaultyFile {
            inner: self.inner.open_update(path)?,
            state: Arc::clone(&self.state),
        }))
    }

    fn link_new(&self, from: &Path, to: &Path) -> io::Result<()> {
        self.state.check(FaultOp::Link)?;
        if self.state.no_hard_links.load(Ordering::SeqCst) {
            return Err(io::Error::from_raw_os_error(1));
        }
        self.inner.link_new(from, to)
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        self.state.check(FaultOp::Rename)?;
        self.inner.rename(from, to)
    }

    fn remove_file(&self, path: &Path) -> io::Result<()> {
        self.inner.remove_file(path)
    }

    fn remove_if_unlocked(&self, path: &Path) -> io::Result<bool> {
        self.inner.remove_if_unlocked(path)
    }

    fn sync_dir(&self, path: &Path) -> io::Result<()> {
        self.state.check(FaultOp::Sync)?;
        self.inner.sync_dir(path)
    }

    fn list_dir(&self, path: &Path) -> io::Result<Vec<OsString>> {
        self.inner.list_dir(path)
    }

    fn exists(&self, path: &Path) -> io::Result<bool> {
        self.inner.exists(path)
    }
}
