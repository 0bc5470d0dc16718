//! The vault's file operations, behind a small trait so tests can inject faults.
//!
//! Everything the vault does to the disk goes through [`Storage`]: the real implementation is
//! [`FsStorage`]; [`crate::fault::FaultyStorage`] wraps it and fails chosen operations with
//! ENOSPC or EIO.

use std::ffi::OsString;
use std::fmt;
use std::fs;
use std::io::{self, Read, Seek, Write};
use std::path::Path;

/// An open file of the vault: readable, writable, seekable, and durable on demand.
pub trait StorageFile: Read + Write + Seek + Send {
    /// Flushes data and metadata to stable storage (fsync).
    fn sync_all(&mut self) -> io::Result<()>;
}

/// The file-system operations the vault needs.
pub trait Storage: Send + Sync + fmt::Debug + 'static {
    /// Creates a directory and its missing parents (private mode where supported).
    fn create_dir_all(&self, path: &Path) -> io::Result<()>;
    /// Creates a new temporary file for writing (fails if it exists) and holds an exclusive
    /// advisory lock on it while it is open, so a cleanup never deletes a write in progress.
    fn create_temp(&self, path: &Path) -> io::Result<Box<dyn StorageFile>>;
    /// Opens an existing file for reading.
    fn open_read(&self, path: &Path) -> io::Result<Box<dyn StorageFile>>;
    /// Opens an existing file for reading and in-place writing (header re-wrapping).
    fn open_update(&self, path: &Path) -> io::Result<Box<dyn StorageFile>>;
    /// Gives `from` the additional name `to`, failing with `AlreadyExists` if `to` exists: the
    /// no-clobber commit that makes concurrent identical puts end with one blob.
    fn link_new(&self, from: &Path, to: &Path) -> io::Result<()>;
    /// Atomically replaces `to` with `from`.
    fn rename(&self, from: &Path, to: &Path) -> io::Result<()>;
    /// Removes a file.
    fn remove_file(&self, path: &Path) -> io::Result<()>;
    /// Removes a temporary file unless a live writer holds its lock; true when removed.
    fn remove_if_unlocked(&self, path: &Path) -> io::Result<bool>;
    /// Makes a directory's entries durable (fsync of the directory).
    fn sync_dir(&self, path: &Path) -> io::Result<()>;
    /// Names of the entries of a directory, sorted.
    fn list_dir(&self, path: &Path) -> io::Result<Vec<OsString>>;
    /// Whether a path exists.
    fn exists(&self, path: &Path) -> io::Result<bool>;
}

/// The real file system.
#[derive(Debug, Default, Clone, Copy)]
pub struct FsStorage;

impl StorageFile for fs::File {
    fn sync_all(&mut self) -> io::Result<()> {
        fs::File::sync_all(self)
    }
}

impl Storage for FsStorage {
    fn create_dir_all(&self, path: &Path) -> io::Result<()> {
        #[cfg(unix)]
        {
            use std::os::unix::fs::DirBuilderExt as _;
            fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(path)
        }
        #[cfg(not(unix))]
        {
            fs::create_dir_all(path)
        }
    }

    fn create_temp(&self, path: &Path) -> io::Result<Box<dyn StorageFile>> {
        let mut options = fs::OpenOptions::new();
        options.read(true).write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt as _;
            options.mode(0o600);
        }
        let file = options.open(path)?;
        // Exclusive lock for the life of the handle: cleanup skips locked temp files.
        if let Err(e) = file.try_lock() {
            let _ = fs::remove_file(path);
            return Err(match e {
                fs::TryLockError::Error(e) => e,
                fs::TryLockError::WouldBlock => io::Error::from(io::ErrorKind::WouldBlock),
            });
        }
        Ok(Box::new(file))
    }

    fn open_read(&self, path: &Path) -> io::Result<Box<dyn StorageFile>> {
        Ok(Box::new(fs::File::open(path)?))
    }

    fn open_update(&self, path: &Path) -> io::Result<Box<dyn StorageFile>> {
        Ok(Box::new(
            fs::OpenOptions::new().read(true).write(true).open(path)?,
        ))
    }

    fn link_new(&self, from: &Path, to: &Path) -> io::Result<()> {
        fs::hard_link(from, to)
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        fs::rename(from, to)
    }

    fn remove_file(&self, path: &Path) -> io::Result<()> {
        fs::remove_file(path)
    }

    fn remove_if_unlocked(&self, path: &Path) -> io::Result<bool> {
        let file = match fs::OpenOptions::new().read(true).write(true).open(path) {
            Ok(file) => file,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(false),
            Err(e) => return Err(e),
        };
        match file.try_lock() {
            Ok(()) => {
                // Its writer is gone (a crash or a dropped put): nothing will ever finish it.
                fs::remove_file(path)?;
                Ok(true)
            }
            Err(fs::TryLockError::WouldBlock) => Ok(false),
            Err(fs::TryLockError::Error(e)) => Err(e),
        }
    }

    fn sync_dir(&self, path: &Path) -> io::Result<()> {
        #[cfg(unix)]
        {
            fs::File::open(path)?.sync_all()
        }
        #[cfg(not(unix))]
        {
            let _ = path;
            Ok(())
        }
    }

    fn list_dir(&self, path: &Path) -> io::Result<Vec<OsString>> {
        let mut names = fs::read_dir(path)?
            .map(|entry| entry.map(|e| e.file_name()))
            .collect::<io::Result<Vec<_>>>()?;
        names.sort();
        Ok(names)
    }

    fn exists(&self, path: &Path) -> io::Result<bool> {
        path.try_exists()
    }
}
