//! Reading blobs back: every segment is authenticated before any of its bytes is returned.

use std::io::{self, Read, Seek as _, SeekFrom};
use std::path::PathBuf;
use std::pin::Pin;
use std::task::{Context, Poll};

use safeguard_domain::digest::{FileDigests, Sha256};
use sha2::Digest as _;
use tokio::io::{AsyncRead, ReadBuf};

use crate::envelope::{SegmentCipher, HEADER_LEN, TAG_LEN};
use crate::error::VaultError;
use crate::storage::StorageFile;
use crate::vault::{file_name, read_header_from, Vault};

/// A decrypting, verifying reader over one blob.
///
/// Each segment is authenticated before its bytes are handed out, and the whole content's
/// SHA-256 is checked at the end. A tampered, truncated or reordered blob makes `read` fail with
/// an `io::Error` carrying [`VaultError::Corrupt`] (recover it with
/// [`VaultError::from_read_error`]). A streaming consumer may already have received the verified
/// segments before a later one fails; use [`Vault::read_to_vec`] or [`Vault::verify_all`] when
/// all-or-nothing matters.
pub struct BlobReader {
    file: Box<dyn StorageFile>,
    path: PathBuf,
    cipher: SegmentCipher,
    segment_size: u64,
    size: u64,
    segments: u64,
    next_segment: u64,
    buf: Vec<u8>,
    pos: usize,
    hasher: sha2::Sha256,
    digests: FileDigests,
    failed: Option<String>,
    finished: bool,
}

impl std::fmt::Debug for BlobReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BlobReader")
            .field("path", &self.path)
            .field("size", &self.size)
            .field("next_segment", &self.next_segment)
            .finish_non_exhaustive()
    }
}

impl BlobReader {
    /// Plaintext size in bytes, as recorded (authenticated) in the header.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The digests recorded (authenticated) in the header at storage time.
    pub fn digests(&self) -> FileDigests {
        self.digests
    }

    fn corrupt(&mut self, reason: &str) -> io::Error {
        self.failed = Some(reason.to_owned());
        self.buf.clear();
        self.pos = 0;
        VaultError::corrupt(file_name(&self.path), reason).into_io()
    }

    fn next_segment(&mut self) -> io::Result<bool> {
        if self.next_segment == self.segments {
            if !self.finished {
                self.finished = true;
                let actual: [u8; 32] = std::mem::take(&mut self.hasher).finalize().into();
                if actual != *self.digests.sha256.as_bytes() {
                    return Err(self.corrupt("content does not match its SHA-256"));
                }
            }
            return Ok(false);
        }
        let index = self.next_segment;
        let offset = index * self.segment_size;
        let plain_len = self.segment_size.min(self.size - offset) as usize;
        self.buf.resize(plain_len + TAG_LEN, 0);
        if let Err(e) = self.file.read_exact(&mut self.buf) {
            if e.kind() == io::ErrorKind::UnexpectedEof {
                return Err(self.corrupt("truncated"));
            }
            return Err(VaultError::io("read", self.path.clone())(e).into_io());
        }
        let last = index + 1 == self.segments;
        // `segments` fits in u32: checked when the reader was opened.
        let counter = u32::try_from(index).unwrap_or(u32::MAX);
        if self.cipher.open(counter, last, &mut self.buf).is_err() {
            return Err(self.corrupt(&format!("segment {index} failed authentication")));
        }
        self.hasher.update(&self.buf);
        self.pos = 0;
        self.next_segment += 1;
        Ok(true)
    }
}

impl Read for BlobReader {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if let Some(reason) = self.failed.clone() {
            return Err(VaultError::corrupt(file_name(&self.path), reason).into_io());
        }
        while self.pos >= self.buf.len() {
            if !self.next_segment()? {
                return Ok(0);
            }
        }
        let n = out.len().min(self.buf.len() - self.pos);
        out[..n].copy_from_slice(&self.buf[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

impl Vault {
    /// Opens the blob holding content with this SHA-256 for reading.
    ///
    /// The header is authenticated and the file length checked against it before this returns.
    pub fn open_blob(&self, sha256: &Sha256) -> Result<BlobReader, VaultError> {
        let name = self.blob_name(sha256);
        let path = self.path_for_name(&name);
        let mut file = match self.inner.storage.open_read(&path) {
            Ok(file) => file,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Err(VaultError::NotFound { sha256: *sha256 })
            }
            Err(e) => return Err(VaultError::io("open", path)(e)),
        };
        let header = read_header_from(file.as_mut(), &path)?;
        let opened = header
            .open(&self.inner.keys())
            .map_err(|reason| VaultError::corrupt(name.as_str(), reason))?;
        let meta = opened.meta;
        if meta.digests.sha256 != *sha256 {
            return Err(VaultError::corrupt(
                name.as_str(),
                "holds content other than its name says",
            ));
        }
        let segment_size = u64::from(header.segment_size());
        let segments = meta.size.div_ceil(segment_size).max(1);
        if segments > u64::from(u32::MAX) {
            return Err(VaultError::corrupt(name.as_str(), "too many segments"));
        }
        let expected_len = (HEADER_LEN as u64)
            .checked_add(meta.size)
            .and_then(|n| n.checked_add(segments * TAG_LEN as u64))
            .ok_or_else(|| VaultError::corrupt(name.as_str(), "impossible size"))?;
        let actual_len = file
            .seek(SeekFrom::End(0))
            .map_err(VaultError::io("read", &path))?;
        if actual_len != expected_len {
            return Err(VaultError::corrupt(
                name.as_str(),
                format!("file is {actual_len} bytes, its header says {expected_len} (truncated or extended)"),
            ));
        }
        file.seek(SeekFrom::Start(HEADER_LEN as u64))
            .map_err(VaultError::io("read", &path))?;
        Ok(BlobReader {
            file,
            path,
            cipher: SegmentCipher::new(&meta.data_key, meta.nonce_prefix, *header.prefix()),
            segment_size,
            size: meta.size,
            segments,
            next_segment: 0,
            buf: Vec::new(),
            pos: 0,
            hasher: sha2::Sha256::new(),
            digests: meta.digests,
            failed: None,
            finished: false,
        })
    }

    /// Reads a whole blob into memory, refusing one larger than `max_len`
    /// ([`VaultError::TooLarge`]). All or nothing: any corruption gives an error, no bytes.
    pub fn read_to_vec(&self, sha256: &Sha256, max_len: u64) -> Result<Vec<u8>, VaultError> {
        let mut reader = self.open_blob(sha256)?;
        if reader.size() > max_len {
            return Err(VaultError::TooLarge { limit: max_len });
        }
        let capacity = usize::try_from(reader.size()).unwrap_or(0);
        let mut out = Vec::with_capacity(capacity);
        let path = reader.path.clone();
        reader
            .read_to_end(&mut out)
            .map_err(|e| VaultError::from_read_error(e, path))?;
        Ok(out)
    }

    /// [`Vault::read_to_vec`] on tokio's blocking pool.
    pub async fn read_to_vec_async(
        &self,
        sha256: &Sha256,
        max_len: u64,
    ) -> Result<Vec<u8>, VaultError> {
        let vault = self.clone();
        let sha256 = *sha256;
        tokio::task::spawn_blocking(move || vault.read_to_vec(&sha256, max_len))
            .await
            .map_err(|e| VaultError::Task(e.to_string()))?
    }

    /// Opens a blob as a tokio `AsyncRead` (e.g. to stream a download). Decryption runs on the
    /// blocking pool, a few segments ahead of the consumer. Verification is as for
    /// [`BlobReader`]: bytes are authenticated segment by segment.
    pub async fn open_blob_async(&self, sha256: &Sha256) -> Result<AsyncBlobReader, VaultError> {
        let vault = self.clone();
        let sha256 = *sha256;
        let reader = tokio::task::spawn_blocking(move || vault.open_blob(&sha256))
            .await
            .map_err(|e| VaultError::Task(e.to_string()))??;
        let size = reader.size();
        let digests = reader.digests();
        let chunk_len = reader.segment_size as usize;
        let (tx, rx) = tokio::sync::mpsc::channel::<Piece>(4);
        tokio::task::spawn_blocking(move || pump(reader, chunk_len, &tx));
        Ok(AsyncBlobReader {
            rx,
            current: Vec::new(),
            pos: 0,
            state: PumpState::Running,
            size,
            digests,
        })
    }
}

enum Piece {
    Data(Vec<u8>),
    End,
    Failed(io::Error),
}

fn pump(mut reader: BlobReader, chunk_len: usize, tx: &tokio::sync::mpsc::Sender<Piece>) {
    loop {
        let mut buf = vec![0u8; chunk_len];
        let piece = match reader.read(&mut buf) {
            Ok(0) => Piece::End,
            Ok(n) => {
                buf.truncate(n);
                Piece::Data(buf)
            }
            Err(e) => Piece::Failed(e),
        };
        let more = matches!(piece, Piece::Data(_));
        // A send error means the consumer dropped the reader: stop quietly.
        if tx.blocking_send(piece).is_err() || !more {
            return;
        }
    }
}

#[derive(Debug, PartialEq, Eq)]
enum PumpState {
    Running,
    Ended,
    Failed,
}

/// An `AsyncRead` over a decrypted, verified blob (see [`Vault::open_blob_async`]).
#[derive(Debug)]
pub struct AsyncBlobReader {
    rx: tokio::sync::mpsc::Receiver<Piece>,
    current: Vec<u8>,
    pos: usize,
    state: PumpState,
    size: u64,
    digests: FileDigests,
}

impl std::fmt::Debug for Piece {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Piece::Data(d) => write!(f, "Data({} bytes)", d.len()),
            Piece::End => f.write_str("End"),
            Piece::Failed(e) => write!(f, "Failed({e})"),
        }
    }
}

impl AsyncBlobReader {
    /// Plaintext size in bytes (authenticated header).
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Digests recorded at storage time (authenticated header).
    pub fn digests(&self) -> FileDigests {
        self.digests
    }
}

impl AsyncRead for AsyncBlobReader {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        out: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        loop {
            if this.pos < this.current.len() {
                let n = out.remaining().min(this.current.len() - this.pos);
                out.put_slice(&this.current[this.pos..this.pos + n]);
                this.pos += n;
                return Poll::Ready(Ok(()));
            }
            match this.state {
                PumpState::Ended => return Poll::Ready(Ok(())),
                PumpState::Failed => {
                    return Poll::Ready(Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        "blob read already failed",
                    )))
                }
                PumpState::Running => {}
            }
            match this.rx.poll_recv(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Some(Piece::Data(data))) => {
                    this.current = data;
                    this.pos = 0;
                }
                Poll::Ready(Some(Piece::End)) => this.state = PumpState::Ended,
                Poll::Ready(Some(Piece::Failed(e))) => {
                    this.state = PumpState::Failed;
                    return Poll::Ready(Err(e));
                }
                Poll::Ready(None) => {
                    // The decrypting task died without saying it had finished.
                    this.state = PumpState::Failed;
                    return Poll::Ready(Err(io::Error::other(VaultError::Task(
                        "blob reader task ended early".to_owned(),
                    ))));
                }
            }
        }
    }
}
