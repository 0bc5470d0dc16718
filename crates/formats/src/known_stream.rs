//! Format-agnostic streaming import and export of [`KnownMediaRecord`]s.
//!
//! [`KnownMediaReader`] recognises VICS, ICSE and hash lists from their first bytes (or is told
//! which) and yields `KnownMediaRecord`s one at a time; [`KnownMediaWriter`] writes them in any
//! of the three. An importer written against these two never needs to know the format.

use std::io::{self, BufRead, BufReader, Read, Write};

use crate::hashlist::{
    HashListError, HashListOptions, HashListReader, HashListRecord, HashListStyle, HashListWriter,
};
use crate::icse::{sniff_delimiter, IcseColumn, IcseError, IcseReader, IcseRecord, IcseWriter};
use crate::known_media::KnownMediaRecord;
use crate::vics::{
    Media, MissingMd5, VicsError, VicsHeader, VicsKind, VicsLayout, VicsReader, VicsWriter,
};

/// The known-material formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KnownFormat {
    /// Project VIC VICS JSON.
    Vics,
    /// INTERPOL ICSE export CSV.
    Icse,
    /// Plain or CSV hash list.
    HashList,
}

/// How [`KnownMediaReader`] reads its input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct KnownReadOptions {
    /// The format, or `None` to recognise it from the first bytes.
    pub format: Option<KnownFormat>,
    /// Hints for hash lists (64 hex = SHA-256 or PDQ).
    pub hash_list: HashListOptions,
}

/// Why known-material records could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum KnownMediaError {
    /// Reading or writing failed.
    #[error("I/O error: {0}")]
    Io(#[from] io::Error),
    /// A VICS error.
    #[error("VICS: {0}")]
    Vics(#[from] VicsError),
    /// An ICSE error.
    #[error("ICSE: {0}")]
    Icse(#[from] IcseError),
    /// A hash-list error.
    #[error("hash list: {0}")]
    HashList(#[from] HashListError),
    /// A record without MD5 cannot be written as VICS.
    #[error("VICS export: {0}")]
    MissingMd5(#[from] MissingMd5),
}

impl KnownMediaError {
    /// True when the error concerns one record and reading (or writing) can go on.
    pub fn is_record_error(&self) -> bool {
        match self {
            KnownMediaError::Vics(e) => e.is_record_error(),
            KnownMediaError::Icse(e) => e.is_record_error(),
            KnownMediaError::HashList(e) => e.is_record_error(),
            KnownMediaError::MissingMd5(_) => true,
            KnownMediaError::Io(_) => false,
        }
    }
}

/// Recognises the format from the first bytes of a file: a JSON object is VICS; a header line
/// naming an ICSE column other than the hashes (`Image ID`, `Series name`, `Victim identified`…)
/// is ICSE; anything else is a hash list.
pub fn detect_format(head: &[u8]) -> KnownFormat {
    let head = head.strip_prefix(&[0xEF, 0xBB, 0xBF][..]).unwrap_or(head);
    let start = head
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(head.len());
    let rest = &head[start..];
    if rest.first() == Some(&b'{') {
        return KnownFormat::Vics;
    }
    let line_end = rest.iter().position(|&b| b == b'\n').unwrap_or(rest.len());
    let line = &rest[..line_end];
    let delimiter = sniff_delimiter(line);
    let icse_only = String::from_utf8_lossy(line)
        .split(delimiter as char)
        .filter_map(|cell| IcseColumn::from_header(cell.trim().trim_matches('"')))
        .any(|c| !matches!(c, IcseColumn::Md5 | IcseColumn::Sha1 | IcseColumn::PhotoDna));
    if icse_only {
        KnownFormat::Icse
    } else {
        KnownFormat::HashList
    }
}

enum Inner<R: Read> {
    Vics(Box<VicsReader<BufReader<R>>>),
    Icse(Box<IcseReader<BufReader<R>>>),
    HashList(Box<HashListReader<BufReader<R>>>),
}

/// Streams [`KnownMediaRecord`]s out of a VICS, ICSE or hash-list file.
///
/// Record-level errors are yielded and reading goes on (see
/// [`KnownMediaError::is_record_error`]); after any other error the iteration ends.
pub struct KnownMediaReader<R: Read> {
    inner: Inner<R>,
}

impl<R: Read> KnownMediaReader<R> {
    /// Opens `input`, recognising its format unless `options.format` says it.
    pub fn open(input: R, options: KnownReadOptions) -> Result<Self, KnownMediaError> {
        let mut buffered = BufReader::with_capacity(1 << 16, input);
        let format = match options.format {
            Some(f) => f,
            None => detect_format(buffered.fill_buf()?),
        };
        let inner = match format {
            KnownFormat::Vics => Inner::Vics(Box::new(VicsReader::new(buffered)?)),
            KnownFormat::Icse => Inner::Icse(Box::new(IcseReader::new(buffered)?)),
            KnownFormat::HashList => Inner::HashList(Box::new(HashListReader::with_options(
                buffered,
                options.hash_list,
            )?)),
        };
        Ok(Self { inner })
    }

    /// The format being read.
    pub fn format(&self) -> KnownFormat {
        match self.inner {
            Inner::Vics(_) => KnownFormat::Vics,
            Inner::Icse(_) => KnownFormat::Icse,
            Inner::HashList(_) => KnownFormat::HashList,
        }
    }

    /// The VICS envelope (version, region: the category scheme), for VICS input.
    pub fn vics_header(&self) -> Option<&VicsHeader> {
        match &self.inner {
            Inner::Vics(r) => Some(r.header()),
            _ => None,
        }
    }
}

impl<R: Read> Iterator for KnownMediaReader<R> {
    type Item = Result<KnownMediaRecord, KnownMediaError>;

    fn next(&mut self) -> Option<Self::Item> {
        Some(match &mut self.inner {
            Inner::Vics(r) => match r.next()? {
                Ok(rec) => {
                    let mut known = KnownMediaRecord::from(&rec);
                    known.category_scheme = r.header().region.clone();
                    Ok(known)
                }
                Err(e) => Err(e.into()),
            },
            Inner::Icse(r) => match r.next()? {
                Ok(row) => Ok(KnownMediaRecord::from(&row)),
                Err(e) => Err(e.into()),
            },
            Inner::HashList(r) => match r.next()? {
                Ok(rec) => Ok(KnownMediaRecord::from(&rec)),
                Err(e) => Err(e.into()),
            },
        })
    }
}

/// Writes [`KnownMediaRecord`]s as VICS (Media layout), ICSE or a hash list, record by record.
pub enum KnownMediaWriter<W: Write> {
    /// VICS.
    Vics(Box<VicsWriter<W>>),
    /// ICSE.
    Icse(Box<IcseWriter<W>>),
    /// Hash list.
    HashList(Box<HashListWriter<W>>),
}

impl<W: Write> KnownMediaWriter<W> {
    /// A VICS writer; `layout.kind` is forced to `#Media` (records carry no case).
    pub fn vics(out: W, layout: VicsLayout) -> Result<Self, KnownMediaError> {
        let layout = VicsLayout {
            kind: VicsKind::Media,
            ..layout
        };
        Ok(Self::Vics(Box::new(VicsWriter::new(out, layout)?)))
    }

    /// An ICSE writer (`;`, `true`/`false`).
    pub fn icse(out: W) -> Result<Self, KnownMediaError> {
        Ok(Self::Icse(Box::new(IcseWriter::new(out)?)))
    }

    /// A hash-list writer.
    pub fn hash_list(out: W, style: HashListStyle) -> Result<Self, KnownMediaError> {
        Ok(Self::HashList(Box::new(HashListWriter::new(
            out, style, None,
        )?)))
    }

    /// Writes one record. A record without MD5 cannot be VICS: that error is a record error and
    /// writing can go on.
    pub fn write(&mut self, record: &KnownMediaRecord) -> Result<(), KnownMediaError> {
        match self {
            Self::Vics(w) => w.write_media(&Media::try_from(record)?)?,
            Self::Icse(w) => w.write(&IcseRecord::from(record))?,
            Self::HashList(w) => w.write(&HashListRecord::from(record))?,
        }
        Ok(())
    }

    /// Closes the output and returns it.
    pub fn finish(self) -> Result<W, KnownMediaError> {
        Ok(match self {
            Self::Vics(w) => w.finish()?,
            Self::Icse(w) => w.finish()?,
            Self::HashList(w) => w.finish()?,
        })
    }
}
