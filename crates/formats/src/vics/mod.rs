//! Project VIC VICS JSON (data models 1.1–1.3 and 2.0): streaming import and export.
//!
//! A VICS file is an OData JSON envelope: `{"@odata.context": "…/2.0.xml/US/$metadata#Media",
//! "value": [Media…]}` in 2.0 (`odata.metadata` and `…/1.2.xml#Media` in 1.x), or `#Cases` with
//! `value: [Case{…, Media: [Media…]}]`. See `docs/known-material-formats.md` and the notes
//! this was built from.
//!
//! * [`VicsReader`] streams Media one by one from a file of any size (memory bounded by the
//!   largest single record), accepting the variants real files contain.
//! * [`VicsWriter`] writes 2.0 (default) or 1.x, record by record.
//! * [`VicsDocument`] reads or writes a whole (small) file in memory.

mod known;
mod model;
mod reader;
mod scan;
mod writer;

use std::io::{BufRead, Write};

pub use known::MissingMd5;
pub use model::{
    AlternativeHash, Case, Exif, Extra, FieldError, Media, MediaFile, Repository, Segment,
};
pub use reader::{VicsHeader, VicsReader, VicsReaderOptions, VicsRecord};
pub use scan::Position;
pub use writer::{BoolStyle, VicsLayout, VicsWriter};

/// A VICS data-model version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum VicsVersion {
    /// 1.1 (`odata.metadata`).
    V1_1,
    /// 1.2 (`odata.metadata`; the NIST NSRL CAID files).
    V1_2,
    /// 1.3 (`odata.metadata`).
    V1_3,
    /// 2.0 (`@odata.context`, with a region segment).
    V2_0,
}

impl VicsVersion {
    /// Recognises `1.1`, `1.2`, `1.3`, `2.0` (also `2`).
    pub fn from_number(text: &str) -> Option<Self> {
        match text.trim() {
            "1.1" => Some(Self::V1_1),
            "1.2" => Some(Self::V1_2),
            "1.3" => Some(Self::V1_3),
            "2.0" | "2" => Some(Self::V2_0),
            _ => None,
        }
    }

    /// The version number as written in the context URL.
    pub const fn number(self) -> &'static str {
        match self {
            Self::V1_1 => "1.1",
            Self::V1_2 => "1.2",
            Self::V1_3 => "1.3",
            Self::V2_0 => "2.0",
        }
    }

    /// True for the 1.x models (OData v3 annotations, PhotoDNA in `AlternativeHashes`).
    pub const fn is_v1(self) -> bool {
        !matches!(self, Self::V2_0)
    }
}

/// What the `value` array of a VICS file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum VicsKind {
    /// A hash set: `value` is a list of Media.
    Media,
    /// A case export: `value` is a list of Cases, each with its Media.
    Cases,
}

/// Why a VICS file could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum VicsError {
    /// Reading or writing failed.
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
    /// The JSON structure is broken (truncated file, bad nesting, missing comma…); reading
    /// cannot go on.
    #[error("line {}, column {}: {message}", at.line, at.column)]
    Syntax {
        /// Where the problem was found.
        at: Position,
        /// What is wrong.
        message: String,
    },
    /// One Media could not be read (invalid JSON inside it, a field of the wrong type, bad
    /// hexadecimal); reading goes on with the next one.
    #[error("media record {ordinal} (line {}, column {}): {message}", at.line, at.column)]
    Record {
        /// 1-based ordinal of the Media in the file.
        ordinal: u64,
        /// Where the record (or, for invalid JSON, the error) is.
        at: Position,
        /// What is wrong.
        message: String,
    },
    /// A case header field could not be read.
    #[error("case {case} (line {}, column {}): {message}", at.line, at.column)]
    Case {
        /// 1-based ordinal of the case.
        case: u64,
        /// Where the field is.
        at: Position,
        /// What is wrong.
        message: String,
    },
    /// A single value is larger than [`VicsReaderOptions::max_value_bytes`].
    #[error("line {}, column {}: a single value is larger than the limit of {limit} bytes", at.line, at.column)]
    TooLarge {
        /// Where the value starts.
        at: Position,
        /// The limit in bytes.
        limit: usize,
    },
    /// The file is JSON but not a VICS document.
    #[error("not a VICS document: {0}")]
    Envelope(String),
    /// The writer was called out of order.
    #[error("VICS writer misuse: {0}")]
    Usage(String),
}

impl VicsError {
    /// True when the error is confined to one record and reading can go on.
    pub fn is_record_error(&self) -> bool {
        matches!(self, VicsError::Record { .. } | VicsError::Case { .. })
    }
}

/// A whole VICS document in memory: for small files, tests and conversions. Large files should
/// go through [`VicsReader`] and [`VicsWriter`].
#[derive(Debug, Clone, PartialEq)]
pub struct VicsDocument {
    /// Data-model version named by the context (`None` if unrecognised or absent).
    pub version: Option<VicsVersion>,
    /// 2.0 region segment.
    pub region: Option<String>,
    /// Whether this is a hash set or a case export.
    pub kind: VicsKind,
    /// Cases (case exports), each with its Media.
    pub cases: Vec<Case>,
    /// Media (hash sets).
    pub media: Vec<Media>,
    /// Unknown top-level keys.
    pub extra: Extra,
}

impl VicsDocument {
    /// Reads a whole document; the first error of any kind fails the read.
    pub fn read<R: BufRead>(input: R) -> Result<Self, VicsError> {
        let mut reader = VicsReader::new(input)?;
        let mut loose = Vec::new();
        let mut in_cases: Vec<(usize, Media)> = Vec::new();
        for record in reader.by_ref() {
            let record = record?;
            match record.case {
                Some(i) => in_cases.push((i, record.media)),
                None => loose.push(record.media),
            }
        }
        let (header, mut cases) = reader.into_parts();
        for (i, media) in in_cases {
            if let Some(case) = cases.get_mut(i) {
                case.media.push(media);
            }
        }
        let kind = header.kind.unwrap_or(if cases.is_empty() {
            VicsKind::Media
        } else {
            VicsKind::Cases
        });
        Ok(Self {
            version: header.version,
            region: header.region,
            kind,
            cases,
            media: loose,
            extra: header.extra,
        })
    }

    /// Reads a document from bytes.
    pub fn from_slice(bytes: &[u8]) -> Result<Self, VicsError> {
        Self::read(bytes)
    }

    /// Every Media of the document, case by case then loose ones.
    pub fn all_media(&self) -> impl Iterator<Item = &Media> {
        self.cases
            .iter()
            .flat_map(|c| c.media.iter())
            .chain(self.media.iter())
    }

    /// Writes the document in `layout`. A `#Cases` layout writes the cases (and puts loose
    /// Media in one extra unnamed case); a `#Media` layout flattens cases into one list.
    pub fn write<W: Write>(&self, out: W, layout: VicsLayout) -> Result<W, VicsError> {
        let kind = layout.kind;
        let mut w = VicsWriter::with_envelope(out, layout, &self.extra)?;
        match kind {
            VicsKind::Media => {
                for m in self.all_media() {
                    w.write_media(m)?;
                }
            }
            VicsKind::Cases => {
                for c in &self.cases {
                    w.write_case(c)?;
                }
                if !self.media.is_empty() {
                    w.begin_case(&Case::default())?;
                    for m in &self.media {
                        w.write_media(m)?;
                    }
                    w.end_case()?;
                }
            }
        }
        w.finish()
    }

    /// The document written in `layout`, as bytes.
    pub fn to_vec(&self, layout: VicsLayout) -> Result<Vec<u8>, VicsError> {
        self.write(Vec::new(), layout)
    }
}
