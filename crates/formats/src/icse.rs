//! INTERPOL ICSE export CSV: streaming reader and writer.
//!
//! The export IPED imports has the header
//! `MD5;SHA1;PhotoDNA;Image ID;Is distributed;Victim identified;Offender identified;Series name;Number of submissions;File Available;Media Type;Baseline`.
//! The reader sniffs the delimiter (`;` or `,`, also tab) from the header line, matches header
//! names case-insensitively and ignoring spaces and underscores (so IPED's renamed
//! `IsDistributed` form is read too), tolerates missing and unknown columns, and names the line
//! of every error. Text that is not UTF-8 is read as Latin-1 rather than refused.

use std::io::{self, BufRead, BufReader, Cursor, Read, Write};

use safeguard_domain::digest::{Md5, Sha1};

use crate::known_media::{
    parse_flag, KnownHashes, KnownMediaRecord, PhotoDna, SourceFormat, SourceRef,
};
use crate::line_tracker::LineTracker;

/// A column of the ICSE export.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IcseColumn {
    /// `MD5`.
    Md5,
    /// `SHA1`.
    Sha1,
    /// `PhotoDNA` (base64, or hexadecimal).
    PhotoDna,
    /// `Image ID`.
    ImageId,
    /// `Is distributed`.
    IsDistributed,
    /// `Victim identified`.
    VictimIdentified,
    /// `Offender identified`.
    OffenderIdentified,
    /// `Series name`.
    SeriesName,
    /// `Number of submissions`.
    NumberOfSubmissions,
    /// `File Available`.
    FileAvailable,
    /// `Media Type`.
    MediaType,
    /// `Baseline`.
    Baseline,
}

impl IcseColumn {
    /// The columns in the order of the export.
    pub const ALL: [IcseColumn; 12] = [
        IcseColumn::Md5,
        IcseColumn::Sha1,
        IcseColumn::PhotoDna,
        IcseColumn::ImageId,
        IcseColumn::IsDistributed,
        IcseColumn::VictimIdentified,
        IcseColumn::OffenderIdentified,
        IcseColumn::SeriesName,
        IcseColumn::NumberOfSubmissions,
        IcseColumn::FileAvailable,
        IcseColumn::MediaType,
        IcseColumn::Baseline,
    ];

    /// The header name as the export writes it.
    pub const fn header(self) -> &'static str {
        match self {
            IcseColumn::Md5 => "MD5",
            IcseColumn::Sha1 => "SHA1",
            IcseColumn::PhotoDna => "PhotoDNA",
            IcseColumn::ImageId => "Image ID",
            IcseColumn::IsDistributed => "Is distributed",
            IcseColumn::VictimIdentified => "Victim identified",
            IcseColumn::OffenderIdentified => "Offender identified",
            IcseColumn::SeriesName => "Series name",
            IcseColumn::NumberOfSubmissions => "Number of submissions",
            IcseColumn::FileAvailable => "File Available",
            IcseColumn::MediaType => "Media Type",
            IcseColumn::Baseline => "Baseline",
        }
    }

    /// Recognises a header name: case-insensitive, spaces, dashes and underscores ignored.
    pub fn from_header(name: &str) -> Option<Self> {
        let fold = |s: &str| -> String {
            s.chars()
                .filter(|c| !matches!(c, ' ' | '_' | '-'))
                .flat_map(char::to_lowercase)
                .collect()
        };
        let wanted = fold(name);
        let aliases: &[(&str, IcseColumn)] = &[
            ("numsubmissions", IcseColumn::NumberOfSubmissions),
            ("pdna", IcseColumn::PhotoDna),
        ];
        IcseColumn::ALL
            .iter()
            .copied()
            .find(|c| fold(c.header()) == wanted)
            .or_else(|| aliases.iter().find(|(a, _)| *a == wanted).map(|(_, c)| *c))
    }
}

/// One row of an ICSE export. `None` means the cell was empty or the column absent.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IcseRecord {
    /// `MD5`.
    pub md5: Option<Md5>,
    /// `SHA1`.
    pub sha1: Option<Sha1>,
    /// `PhotoDNA`.
    pub photodna: Option<PhotoDna>,
    /// `Image ID`.
    pub image_id: Option<String>,
    /// `Is distributed`.
    pub is_distributed: Option<bool>,
    /// `Victim identified`.
    pub victim_identified: Option<bool>,
    /// `Offender identified`.
    pub offender_identified: Option<bool>,
    /// `Series name`.
    pub series_name: Option<String>,
    /// `Number of submissions`.
    pub number_of_submissions: Option<u64>,
    /// `File Available`.
    pub file_available: Option<bool>,
    /// `Media Type` (free text, e.g. `Image`, `Video`).
    pub media_type: Option<String>,
    /// `Baseline`.
    pub baseline: Option<bool>,
}

/// A row read from an ICSE export, with where it was.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IcseRow {
    /// 1-based line where the row starts.
    pub line: u64,
    /// 1-based ordinal of the data row.
    pub ordinal: u64,
    /// The row.
    pub record: IcseRecord,
}

/// Why an ICSE export could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum IcseError {
    /// Reading or writing failed.
    #[error("I/O error: {0}")]
    Io(#[from] io::Error),
    /// The header line is unusable.
    #[error("line 1: {0}")]
    Header(String),
    /// A row is malformed as CSV (wrong number of columns, broken quoting).
    #[error("line {line}: {message}")]
    Csv {
        /// 1-based line.
        line: u64,
        /// What is wrong.
        message: String,
    },
    /// A cell has an invalid value.
    #[error("line {line}, column `{column}`: {message}")]
    Field {
        /// 1-based line.
        line: u64,
        /// Header name of the column.
        column: &'static str,
        /// What is wrong.
        message: String,
    },
}

impl IcseError {
    /// True when the error is confined to one row and reading can go on.
    pub fn is_record_error(&self) -> bool {
        matches!(self, IcseError::Field { .. } | IcseError::Csv { .. })
    }
}

/// An input with the lines read ahead (to recognise the layout) put back in front.
pub(crate) type Replay<R> = io::Chain<Cursor<Vec<u8>>, BufReader<R>>;

/// Reads the first line (the header) so the delimiter can be sniffed, and gives back a reader
/// that replays it.
pub(crate) fn sniff_first_line<R: Read>(input: R) -> io::Result<(Vec<u8>, Replay<R>)> {
    let mut buffered = BufReader::new(input);
    let mut first = Vec::new();
    // A header line longer than this is not a header: stop reading there.
    (&mut buffered)
        .take(64 * 1024)
        .read_until(b'\n', &mut first)?;
    if first.starts_with(&[0xEF, 0xBB, 0xBF]) {
        first.drain(..3);
    }
    let replay = Cursor::new(first.clone());
    Ok((first, replay.chain(buffered)))
}

/// The delimiter of a header line: whichever of `;`, `,`, tab occurs most outside quotes
/// (`;` on a tie, as the ICSE export uses it).
pub(crate) fn sniff_delimiter(line: &[u8]) -> u8 {
    let mut counts = [0usize; 3];
    let mut quoted = false;
    for &b in line {
        match b {
            b'"' => quoted = !quoted,
            b';' if !quoted => counts[0] += 1,
            b',' if !quoted => counts[1] += 1,
            b'\t' if !quoted => counts[2] += 1,
            _ => {}
        }
    }
    let candidates = [b';', b',', b'\t'];
    let mut best = 0;
    for i in 1..3 {
        if counts[i] > counts[best] {
            best = i;
        }
    }
    candidates[best]
}

/// Decodes a cell: UTF-8, or Latin-1 when it is not (old Windows exports).
pub(crate) fn cell_text(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(s) => s.trim().to_owned(),
        Err(_) => bytes
            .iter()
            .map(|&b| b as char)
            .collect::<String>()
            .trim()
            .to_owned(),
    }
}

pub(crate) fn csv_error(e: &csv::Error, fallback_line: u64) -> IcseError {
    csv_error_at(e, e.position().map_or(fallback_line, |p| p.line()))
}

/// A CSV error at a line computed by the caller.
fn csv_error_at(e: &csv::Error, line: u64) -> IcseError {
    let message = match e.kind() {
        csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => format!("{len} columns where the header has {expected_len}"),
        _ => e.to_string(),
    };
    IcseError::Csv { line, message }
}

/// Streams the rows of an ICSE export.
pub struct IcseReader<R: Read> {
    csv: csv::Reader<LineTracker<Replay<R>>>,
    columns: Vec<Option<IcseColumn>>,
    unknown: Vec<String>,
    delimiter: u8,
    ordinal: u64,
    record: csv::ByteRecord,
    done: bool,
}

impl<R: Read> IcseReader<R> {
    /// Reads the header line and prepares to stream the rows.
    pub fn new(input: R) -> Result<Self, IcseError> {
        let (first, replay) = sniff_first_line(input)?;
        if first.iter().all(u8::is_ascii_whitespace) {
            return Err(IcseError::Header(
                "the file is empty: no header line".into(),
            ));
        }
        let delimiter = sniff_delimiter(&first);
        let mut csv = csv::ReaderBuilder::new()
            .delimiter(delimiter)
            .has_headers(true)
            .flexible(false)
            .from_reader(LineTracker::new(replay, false));
        let headers = csv.byte_headers().map_err(|e| csv_error(&e, 1))?.clone();
        let mut columns = Vec::with_capacity(headers.len());
        let mut unknown = Vec::new();
        for h in headers.iter() {
            let name = cell_text(h);
            let col = IcseColumn::from_header(&name);
            if let Some(c) = col {
                if columns.contains(&Some(c)) {
                    return Err(IcseError::Header(format!(
                        "column `{}` appears twice",
                        c.header()
                    )));
                }
            } else {
                unknown.push(name);
            }
            columns.push(col);
        }
        let has_hash = columns.iter().any(|c| {
            matches!(
                c,
                Some(IcseColumn::Md5 | IcseColumn::Sha1 | IcseColumn::PhotoDna)
            )
        });
        if !has_hash {
            return Err(IcseError::Header(
                "no MD5, SHA1 or PhotoDNA column: not an ICSE export".into(),
            ));
        }
        Ok(Self {
            csv,
            columns,
            unknown,
            delimiter,
            ordinal: 0,
            record: csv::ByteRecord::new(),
            done: false,
        })
    }

    /// The delimiter sniffed from the header.
    pub fn delimiter(&self) -> u8 {
        self.delimiter
    }

    /// Header names that are not ICSE columns (their cells are ignored).
    pub fn unknown_columns(&self) -> &[String] {
        &self.unknown
    }

    /// The recognised columns, in file order (`None` for unknown ones).
    pub fn columns(&self) -> &[Option<IcseColumn>] {
        &self.columns
    }

    fn parse_row(&self, line: u64) -> Result<IcseRecord, IcseError> {
        let mut r = IcseRecord::default();
        for (cell, column) in self.record.iter().zip(&self.columns) {
            let Some(column) = *column else { continue };
            let text = cell_text(cell);
            if text.is_empty() {
                continue;
            }
            let field = |message: String| IcseError::Field {
                line,
                column: column.header(),
                message,
            };
            let flag = |t: &str| parse_flag(t).map_err(|e| field(e.to_string()));
            match column {
                IcseColumn::Md5 => {
                    r.md5 = Some(Md5::parse(&text).map_err(|e| field(e.to_string()))?)
                }
                IcseColumn::Sha1 => {
                    r.sha1 = Some(Sha1::parse(&text).map_err(|e| field(e.to_string()))?)
                }
                IcseColumn::PhotoDna => {
                    r.photodna = Some(PhotoDna::parse(&text).map_err(|e| field(e.to_string()))?)
                }
                IcseColumn::ImageId => r.image_id = Some(text),
                IcseColumn::IsDistributed => r.is_distributed = flag(&text)?,
                IcseColumn::VictimIdentified => r.victim_identified = flag(&text)?,
                IcseColumn::OffenderIdentified => r.offender_identified = flag(&text)?,
                IcseColumn::SeriesName => r.series_name = Some(text),
                IcseColumn::NumberOfSubmissions => {
                    r.number_of_submissions = Some(text.parse::<u64>().map_err(|_| {
                        field(format!(
                            "expected a non-negative integer, got {:?}",
                            text.chars().take(40).collect::<String>()
                        ))
                    })?)
                }
                IcseColumn::FileAvailable => r.file_available = flag(&text)?,
                IcseColumn::MediaType => r.media_type = Some(text),
                IcseColumn::Baseline => r.baseline = flag(&text)?,
            }
        }
        if r.md5.is_none() && r.sha1.is_none() && r.photodna.is_none() {
            return Err(IcseError::Csv {
                line,
                message: "no hash in the row (MD5, SHA1 and PhotoDNA all empty)".into(),
            });
        }
        Ok(r)
    }
}

impl<R: Read> Iterator for IcseReader<R> {
    type Item = Result<IcseRow, IcseError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let mut record = std::mem::take(&mut self.record);
        let read = self.csv.read_byte_record(&mut record);
        self.record = record;
        match read {
            Ok(false) => {
                self.done = true;
                None
            }
            Ok(true) => {
                self.ordinal += 1;
                let byte = self.record.position().map_or(0, |p| p.byte());
                let line = self.csv.get_ref().line_of(byte);
                Some(self.parse_row(line).map(|record| IcseRow {
                    line,
                    ordinal: self.ordinal,
                    record,
                }))
            }
            Err(e) => {
                let line = e
                    .position()
                    .map_or(0, |p| self.csv.get_ref().line_of(p.byte()));
                if matches!(e.kind(), csv::ErrorKind::Io(_)) {
                    self.done = true;
                }
                self.ordinal += 1;
                Some(Err(csv_error_at(&e, line)))
            }
        }
    }
}

/// How the ICSE writer spells flags.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum IcseFlagStyle {
    /// `true` / `false` (default).
    #[default]
    TrueFalse,
    /// `Yes` / `No`.
    YesNo,
    /// `1` / `0`.
    OneZero,
}

/// Writes an ICSE export row by row, with all twelve columns.
pub struct IcseWriter<W: Write> {
    csv: csv::Writer<W>,
    flags: IcseFlagStyle,
}

impl<W: Write> IcseWriter<W> {
    /// A writer with the export's `;` delimiter and `true`/`false` flags; writes the header.
    pub fn new(out: W) -> Result<Self, IcseError> {
        Self::with_options(out, b';', IcseFlagStyle::default())
    }

    /// A writer with another delimiter or flag spelling; writes the header.
    pub fn with_options(out: W, delimiter: u8, flags: IcseFlagStyle) -> Result<Self, IcseError> {
        let mut csv = csv::WriterBuilder::new()
            .delimiter(delimiter)
            .from_writer(out);
        csv.write_record(IcseColumn::ALL.iter().map(|c| c.header()))
            .map_err(|e| csv_error(&e, 1))?;
        Ok(Self { csv, flags })
    }

    fn flag(&self, v: Option<bool>) -> &'static str {
        match (v, self.flags) {
            (None, _) => "",
            (Some(true), IcseFlagStyle::TrueFalse) => "true",
            (Some(false), IcseFlagStyle::TrueFalse) => "false",
            (Some(true), IcseFlagStyle::YesNo) => "Yes",
            (Some(false), IcseFlagStyle::YesNo) => "No",
            (Some(true), IcseFlagStyle::OneZero) => "1",
            (Some(false), IcseFlagStyle::OneZero) => "0",
        }
    }

    /// Writes one row.
    pub fn write(&mut self, r: &IcseRecord) -> Result<(), IcseError> {
        let text = |s: &Option<String>| s.clone().unwrap_or_default();
        let row = [
            r.md5.map(|h| h.to_hex()).unwrap_or_default(),
            r.sha1.map(|h| h.to_hex()).unwrap_or_default(),
            r.photodna
                .as_ref()
                .map(|h| h.to_base64())
                .unwrap_or_default(),
            text(&r.image_id),
            self.flag(r.is_distributed).to_owned(),
            self.flag(r.victim_identified).to_owned(),
            self.flag(r.offender_identified).to_owned(),
            text(&r.series_name),
            r.number_of_submissions
                .map(|n| n.to_string())
                .unwrap_or_default(),
            self.flag(r.file_available).to_owned(),
            text(&r.media_type),
            self.flag(r.baseline).to_owned(),
        ];
        self.csv.write_record(&row).map_err(|e| csv_error(&e, 0))
    }

    /// Flushes and returns the output.
    pub fn finish(self) -> Result<W, IcseError> {
        self.csv
            .into_inner()
            .map_err(|e| IcseError::Io(io::Error::other(e.to_string())))
    }
}

impl KnownMediaRecord {
    /// The known-media view of one ICSE row.
    pub fn from_icse(row: &IcseRow) -> Self {
        let r = &row.record;
        let mut k = KnownMediaRecord::new(SourceRef {
            format: SourceFormat::Icse,
            ordinal: row.ordinal,
            line: Some(row.line),
        });
        k.hashes = KnownHashes {
            md5: r.md5,
            sha1: r.sha1,
            sha256: None,
            pdq: None,
            photodna: r.photodna.clone(),
        };
        k.external_id = r.image_id.clone();
        k.is_distributed = r.is_distributed;
        k.victim_identified = r.victim_identified;
        k.offender_identified = r.offender_identified;
        k.series = r.series_name.clone();
        k.submissions = r.number_of_submissions;
        k.file_available = r.file_available;
        k.media_type = r.media_type.clone();
        k.baseline = r.baseline;
        k
    }
}

impl From<&IcseRow> for KnownMediaRecord {
    fn from(row: &IcseRow) -> Self {
        KnownMediaRecord::from_icse(row)
    }
}

impl From<&KnownMediaRecord> for IcseRecord {
    /// The ICSE row for a known-media record (fields ICSE has no column for are dropped).
    fn from(k: &KnownMediaRecord) -> Self {
        IcseRecord {
            md5: k.hashes.md5,
            sha1: k.hashes.sha1,
            photodna: k.hashes.photodna.clone(),
            image_id: k.external_id.clone(),
            is_distributed: k.is_distributed,
            victim_identified: k.victim_identified,
            offender_identified: k.offender_identified,
            series_name: k.series.clone(),
            number_of_submissions: k.submissions,
            file_available: k.file_available,
            media_type: k.media_type.clone(),
            baseline: k.baseline,
        }
    }
}
