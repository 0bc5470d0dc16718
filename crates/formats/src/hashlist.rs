//! Plain and CSV hash lists: streaming reader and writer.
//!
//! Three layouts are recognised from the first data line:
//!
//! * **plain**: one hash a line, optionally followed by white space and a file name (the
//!   `md5sum`/`sha256sum` output form, `*` binary marker accepted). The kind comes from the
//!   length: 32 hex = MD5, 40 = SHA-1, 64 = SHA-256 (or PDQ with [`HashListOptions::pdq`]: the
//!   two cannot be told apart), 192 base64 / 288 hex = PhotoDNA. `#` comments and blank lines
//!   are skipped.
//! * **type/value CSV**: a header with a value column (`hash`, `value`, `digest`, `signal`) and
//!   a type column (`type`, `hash_type`, `algorithm`, `signal_type`), e.g. `hash,type` or
//!   `type,value`, types `MD5`/`SHA1`/`SHA256`/`PDQ`/`PhotoDNA`; or the same two columns
//!   without a header when one of them holds a type name.
//! * **wide CSV**: a header naming one column per hash kind (`MD5`, `SHA-1`, `SHA256`, `PDQ`,
//!   `PhotoDNA`), as the legacy NSRL `NSRLFile.txt` (`"SHA-1","MD5","CRC32","FileName",…`);
//!   unknown columns are ignored, a `FileName` column is kept.
//!
//! Delimiters `,`, `;` and tab are sniffed. Errors name the line.

use std::io::{self, BufRead, BufReader, Cursor, Read, Write};

use crate::icse::{cell_text, sniff_delimiter, Replay};
use crate::known_media::{
    HashKind, HashParseError, KnownHashes, KnownMediaRecord, SourceFormat, SourceRef,
};
use crate::line_tracker::LineTracker;

/// How hashes whose kind the text does not say are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HashListOptions {
    /// The kind of a 64-hex hash in a plain list: SHA-256 (default) or PDQ.
    pub sixty_four_hex: HashKind,
    /// Read every hash of a plain list as this kind (`--type`), whatever its length.
    pub force: Option<HashKind>,
}

impl Default for HashListOptions {
    fn default() -> Self {
        Self {
            sixty_four_hex: HashKind::Sha256,
            force: None,
        }
    }
}

impl HashListOptions {
    /// Options for a plain list of PDQ hashes.
    pub fn pdq() -> Self {
        Self {
            sixty_four_hex: HashKind::Pdq,
            force: None,
        }
    }

    /// The kind of a bare hash from its length, honouring the options.
    pub fn kind_for(&self, text: &str) -> Option<HashKind> {
        if let Some(k) = self.force {
            return Some(k);
        }
        match text.len() {
            32 => Some(HashKind::Md5),
            40 => Some(HashKind::Sha1),
            64 => Some(self.sixty_four_hex),
            192 | 288 => Some(HashKind::PhotoDna),
            _ => None,
        }
    }
}

/// The layout a reader recognised.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HashListLayout {
    /// One hash a line.
    Plain,
    /// A type column and a value column.
    TypeValue {
        /// Delimiter.
        delimiter: u8,
        /// Whether the first line was a header.
        header: bool,
    },
    /// One column per hash kind.
    Wide {
        /// Delimiter.
        delimiter: u8,
        /// The hash columns.
        kinds: Vec<HashKind>,
    },
}

/// One line (or row) of a hash list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HashListRecord {
    /// 1-based line.
    pub line: u64,
    /// 1-based ordinal of the data line.
    pub ordinal: u64,
    /// The hashes of the line (one in plain and type/value lists).
    pub hashes: KnownHashes,
    /// A file name given with the hash (plain `md5sum` form, `FileName`/`name` column).
    pub file_name: Option<String>,
    /// A free comment column (`comment`, `description`, `label`).
    pub comment: Option<String>,
}

/// Why a hash list could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum HashListError {
    /// Reading or writing failed.
    #[error("I/O error: {0}")]
    Io(#[from] io::Error),
    /// The header is unusable.
    #[error("line {line}: {message}")]
    Header {
        /// 1-based line of the header.
        line: u64,
        /// What is wrong.
        message: String,
    },
    /// A line is malformed (bad hexadecimal, unknown type, wrong column count).
    #[error("line {line}: {message}")]
    Line {
        /// 1-based line.
        line: u64,
        /// What is wrong.
        message: String,
    },
}

impl HashListError {
    /// True when the error is confined to one line and reading can go on.
    pub fn is_record_error(&self) -> bool {
        matches!(self, HashListError::Line { .. })
    }
}

/// Longest line a plain hash list may have (a hash and a file name).
const MAX_LINE_BYTES: u64 = 1 << 20;

const VALUE_NAMES: &[&str] = &[
    "hash",
    "value",
    "digest",
    "signal",
    "hashvalue",
    "signalvalue",
];
const TYPE_NAMES: &[&str] = &[
    "type",
    "hashtype",
    "algorithm",
    "kind",
    "signaltype",
    "hashname",
];
const FILE_NAME_NAMES: &[&str] = &["filename", "name", "file", "path", "filepath"];
const COMMENT_NAMES: &[&str] = &["comment", "comments", "description", "label", "note"];

fn fold(name: &str) -> String {
    name.chars()
        .filter(|c| !matches!(c, ' ' | '_' | '-' | '"'))
        .flat_map(char::to_lowercase)
        .collect()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Value,
    Type,
    Kind(HashKind),
    FileName,
    Comment,
    Ignored,
}

fn role_of(header: &str) -> Role {
    let f = fold(header);
    if let Some(kind) = HashKind::from_name(header.trim().trim_matches('"')) {
        Role::Kind(kind)
    } else if VALUE_NAMES.contains(&f.as_str()) {
        Role::Value
    } else if TYPE_NAMES.contains(&f.as_str()) {
        Role::Type
    } else if FILE_NAME_NAMES.contains(&f.as_str()) {
        Role::FileName
    } else if COMMENT_NAMES.contains(&f.as_str()) {
        Role::Comment
    } else {
        Role::Ignored
    }
}

enum Body<R: Read> {
    Plain {
        lines: Replay<R>,
        line: u64,
    },
    Csv {
        csv: Box<csv::Reader<LineTracker<Replay<R>>>>,
        roles: Vec<Role>,
        record: csv::ByteRecord,
    },
}

/// Streams the records of a hash list.
pub struct HashListReader<R: Read> {
    body: Body<R>,
    layout: HashListLayout,
    options: HashListOptions,
    ordinal: u64,
    done: bool,
}

fn is_plain_hash_token(token: &str, options: &HashListOptions) -> bool {
    let t = token.trim_start_matches('\\');
    match t.len() {
        32 | 40 | 64 | 288 => t.bytes().all(|b| b.is_ascii_hexdigit()),
        192 => t
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'=')),
        _ => options.force.is_some(),
    }
}

impl<R: Read> HashListReader<R> {
    /// Reads a hash list with default options (64 hex = SHA-256).
    pub fn new(input: R) -> Result<Self, HashListError> {
        Self::with_options(input, HashListOptions::default())
    }

    /// Reads a hash list, recognising its layout from the first data line.
    pub fn with_options(input: R, options: HashListOptions) -> Result<Self, HashListError> {
        let mut buffered = BufReader::new(input);
        // Read the comment and blank lines before the first data line, keeping them for replay
        // so that line numbers stay right.
        let mut head = Vec::new();
        let mut first_data = None;
        let mut first_line_no = 0u64;
        loop {
            let mut line = Vec::new();
            let n = (&mut buffered).take(1 << 20).read_until(b'\n', &mut line)?;
            if n == 0 {
                break;
            }
            first_line_no += 1;
            if first_line_no == 1 && line.starts_with(&[0xEF, 0xBB, 0xBF]) {
                line.drain(..3);
            }
            let text = cell_text(&line);
            head.extend_from_slice(&line);
            if text.is_empty() || text.starts_with('#') {
                continue;
            }
            first_data = Some(text);
            break;
        }
        let replay = Cursor::new(head).chain(buffered);
        let Some(first) = first_data else {
            // Nothing but comments: an empty list.
            return Ok(Self {
                body: Body::Plain {
                    lines: replay,
                    line: 0,
                },
                layout: HashListLayout::Plain,
                options,
                ordinal: 0,
                done: false,
            });
        };
        let first_token = first.split_whitespace().next().unwrap_or("");
        let delimiter = sniff_delimiter(first.as_bytes());
        let has_delimiter = first.as_bytes().contains(&delimiter);
        if !has_delimiter
            || (is_plain_hash_token(first_token, &options)
                && !first_token.as_bytes().contains(&delimiter))
        {
            return Ok(Self {
                body: Body::Plain {
                    lines: replay,
                    line: 0,
                },
                layout: HashListLayout::Plain,
                options,
                ordinal: 0,
                done: false,
            });
        }
        // CSV: decide from the first row whether it is a header.
        let cells: Vec<String> = {
            let mut probe = csv::ReaderBuilder::new()
                .delimiter(delimiter)
                .has_headers(false)
                .flexible(true)
                .from_reader(first.as_bytes());
            let mut rec = csv::StringRecord::new();
            let got = probe
                .read_record(&mut rec)
                .map_err(|e| HashListError::Header {
                    line: first_line_no,
                    message: e.to_string(),
                })?;
            if got {
                rec.iter().map(|s| s.trim().to_owned()).collect()
            } else {
                Vec::new()
            }
        };
        let roles: Vec<Role> = cells.iter().map(|c| role_of(c)).collect();
        let values = roles.iter().filter(|r| **r == Role::Value).count();
        let types = roles.iter().filter(|r| **r == Role::Type).count();
        let kinds: Vec<HashKind> = roles
            .iter()
            .filter_map(|r| match r {
                Role::Kind(k) => Some(*k),
                _ => None,
            })
            .collect();
        let (layout, roles, has_header) = if values == 1 && types == 1 {
            (
                HashListLayout::TypeValue {
                    delimiter,
                    header: true,
                },
                roles,
                true,
            )
        } else if !kinds.is_empty() && values == 0 && types == 0 {
            if cells.len() == 2 && kinds.len() == 1 {
                // `MD5,<hash>`: a headerless type/value row, not a one-kind header.
                let type_first = matches!(roles[0], Role::Kind(_));
                let roles = if type_first {
                    vec![Role::Type, Role::Value]
                } else {
                    vec![Role::Value, Role::Type]
                };
                let other = &cells[usize::from(type_first)];
                if is_plain_hash_token(other, &options) || other.len() > 16 {
                    (
                        HashListLayout::TypeValue {
                            delimiter,
                            header: false,
                        },
                        roles,
                        false,
                    )
                } else {
                    let roles = cells.iter().map(|c| role_of(c)).collect();
                    (HashListLayout::Wide { delimiter, kinds }, roles, true)
                }
            } else {
                let mut seen = Vec::new();
                for k in &kinds {
                    if seen.contains(k) {
                        return Err(HashListError::Header {
                            line: first_line_no,
                            message: format!("column {k} appears twice"),
                        });
                    }
                    seen.push(*k);
                }
                (HashListLayout::Wide { delimiter, kinds }, roles, true)
            }
        } else {
            return Err(HashListError::Header {
                line: first_line_no,
                message: format!(
                    "unrecognised hash-list header {:?}: expected hash/type columns or one column per hash kind (MD5, SHA1, SHA256, PDQ, PhotoDNA)",
                    first.chars().take(120).collect::<String>()
                ),
            });
        };
        let mut csv = csv::ReaderBuilder::new()
            .delimiter(delimiter)
            .has_headers(has_header)
            .flexible(false)
            .comment(Some(b'#'))
            .from_reader(LineTracker::new(replay, true));
        if has_header {
            // Reading the header now keeps the line numbers of the records right.
            csv.byte_headers().map_err(|e| HashListError::Header {
                line: first_line_no,
                message: e.to_string(),
            })?;
        }
        Ok(Self {
            body: Body::Csv {
                csv: Box::new(csv),
                roles,
                record: csv::ByteRecord::new(),
            },
            layout,
            options,
            ordinal: 0,
            done: false,
        })
    }
}

impl<R: Read> HashListReader<R> {
    /// The layout recognised from the first data line.
    pub fn layout(&self) -> &HashListLayout {
        &self.layout
    }

    fn next_plain(&mut self) -> Option<Result<HashListRecord, HashListError>> {
        let Body::Plain { lines, line, .. } = &mut self.body else {
            return None;
        };
        loop {
            let mut raw = Vec::new();
            // A hash line is short: bound it so a file without line breaks cannot fill memory.
            match lines
                .by_ref()
                .take(MAX_LINE_BYTES)
                .read_until(b'\n', &mut raw)
            {
                Ok(0) => return None,
                Ok(_) => {}
                Err(e) => return Some(Err(e.into())),
            }
            *line += 1;
            let line_no = *line;
            if raw.len() as u64 >= MAX_LINE_BYTES && !raw.ends_with(b"\n") {
                return Some(Err(HashListError::Io(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("line {line_no} is longer than {MAX_LINE_BYTES} bytes"),
                ))));
            }
            let text = cell_text(&raw);
            if text.is_empty() || text.starts_with('#') {
                continue;
            }
            self.ordinal += 1;
            let (token, rest) = match text.find(char::is_whitespace) {
                Some(i) => (&text[..i], text[i..].trim()),
                None => (text.as_str(), ""),
            };
            // `md5sum` escapes file names with a leading backslash; `*` marks binary mode.
            let token = token.trim_start_matches('\\');
            let rest = rest.strip_prefix('*').unwrap_or(rest);
            let Some(kind) = self.options.kind_for(token) else {
                return Some(Err(HashListError::Line {
                    line: line_no,
                    message: format!(
                        "{} characters is no known hash length (32 MD5, 40 SHA-1, 64 SHA-256/PDQ, 192/288 PhotoDNA): {:?}",
                        token.len(),
                        token.chars().take(80).collect::<String>()
                    ),
                }));
            };
            let value = match kind.parse(token) {
                Ok(v) => v,
                Err(e) => return Some(Err(line_error(line_no, &e))),
            };
            let mut hashes = KnownHashes::default();
            hashes.set(value);
            return Some(Ok(HashListRecord {
                line: line_no,
                ordinal: self.ordinal,
                hashes,
                file_name: (!rest.is_empty()).then(|| rest.to_owned()),
                comment: None,
            }));
        }
    }

    fn next_csv(&mut self) -> Option<Result<HashListRecord, HashListError>> {
        let Body::Csv { csv, roles, record } = &mut self.body else {
            return None;
        };
        let read = csv.read_byte_record(record);
        match read {
            Ok(false) => return None,
            Ok(true) => {}
            Err(e) => {
                let line = e.position().map_or(0, |p| csv.get_ref().line_of(p.byte()));
                if matches!(e.kind(), csv::ErrorKind::Io(_)) {
                    self.done = true;
                }
                self.ordinal += 1;
                let message = match e.kind() {
                    csv::ErrorKind::UnequalLengths {
                        expected_len, len, ..
                    } => format!("{len} columns where the first row has {expected_len}"),
                    _ => e.to_string(),
                };
                return Some(Err(HashListError::Line { line, message }));
            }
        }
        self.ordinal += 1;
        let line = csv
            .get_ref()
            .line_of(record.position().map_or(0, |p| p.byte()));
        let mut hashes = KnownHashes::default();
        let mut kind = None;
        let mut value = None;
        let mut file_name = None;
        let mut comment = None;
        for (cell, role) in record.iter().zip(roles.iter()) {
            let text = cell_text(cell);
            match role {
                Role::Type if !text.is_empty() => match HashKind::from_name(&text) {
                    Some(k) => kind = Some(k),
                    None => {
                        return Some(Err(HashListError::Line {
                            line,
                            message: format!(
                            "unknown hash type {:?} (expected MD5, SHA1, SHA256, PDQ or PhotoDNA)",
                            text.chars().take(40).collect::<String>()
                        ),
                        }))
                    }
                },
                Role::Value if !text.is_empty() => value = Some(text),
                Role::Kind(k) if !text.is_empty() => match k.parse(&text) {
                    Ok(v) => {
                        hashes.set(v);
                    }
                    Err(e) => return Some(Err(line_error(line, &e))),
                },
                Role::FileName if !text.is_empty() => file_name = Some(text),
                Role::Comment if !text.is_empty() => comment = Some(text),
                _ => {}
            }
        }
        if let Some(value) = value {
            let Some(kind) = kind.or_else(|| self.options.kind_for(&value)) else {
                return Some(Err(HashListError::Line {
                    line,
                    message: "no hash type, and the length does not tell".into(),
                }));
            };
            match kind.parse(&value) {
                Ok(v) => {
                    hashes.set(v);
                }
                Err(e) => return Some(Err(line_error(line, &e))),
            }
        }
        if hashes.is_empty() {
            return Some(Err(HashListError::Line {
                line,
                message: "no hash on the line".into(),
            }));
        }
        Some(Ok(HashListRecord {
            line,
            ordinal: self.ordinal,
            hashes,
            file_name,
            comment,
        }))
    }
}

fn line_error(line: u64, e: &HashParseError) -> HashListError {
    HashListError::Line {
        line,
        message: e.to_string(),
    }
}

impl<R: Read> Iterator for HashListReader<R> {
    type Item = Result<HashListRecord, HashListError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let item = match self.body {
            Body::Plain { .. } => self.next_plain(),
            Body::Csv { .. } => self.next_csv(),
        };
        match &item {
            None => self.done = true,
            Some(Err(e)) if !e.is_record_error() => self.done = true,
            _ => {}
        }
        item
    }
}

/// The layout a [`HashListWriter`] writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum HashListStyle {
    /// One hash a line, followed by two spaces and the file name when there is one
    /// (`sha256sum` form). Every hash of a record gets its own line. A list mixing SHA-256 and
    /// PDQ cannot be read back without hints: use CSV for that.
    #[default]
    Plain,
    /// `hash,type,file_name,comment` CSV: one row per hash, unambiguous.
    Csv,
}

enum Sink<W: Write> {
    Plain(W),
    Csv(Box<csv::Writer<W>>),
}

/// Writes a hash list record by record.
pub struct HashListWriter<W: Write> {
    sink: Sink<W>,
}

impl<W: Write> HashListWriter<W> {
    /// Starts a list; `comment` (if any) becomes `#` lines at the top of a plain list (CSV
    /// readers in the field do not all skip comments, so CSV gets none).
    pub fn new(
        mut out: W,
        style: HashListStyle,
        comment: Option<&str>,
    ) -> Result<Self, HashListError> {
        let sink = match style {
            HashListStyle::Plain => {
                if let Some(c) = comment {
                    for line in c.lines() {
                        writeln!(out, "# {line}")?;
                    }
                }
                Sink::Plain(out)
            }
            HashListStyle::Csv => {
                let mut csv = csv::Writer::from_writer(out);
                csv.write_record(["hash", "type", "file_name", "comment"])
                    .map_err(csv_write_error)?;
                Sink::Csv(Box::new(csv))
            }
        };
        Ok(Self { sink })
    }

    /// Writes every hash of `record`, one line (row) each.
    pub fn write(&mut self, record: &HashListRecord) -> Result<(), HashListError> {
        for value in record.hashes.values() {
            match &mut self.sink {
                Sink::Plain(out) => {
                    let text = value.to_text();
                    match record.file_name.as_deref().map(plain_name) {
                        Some(name) => writeln!(out, "{text}  {name}")?,
                        None => writeln!(out, "{text}")?,
                    }
                }
                Sink::Csv(csv) => csv
                    .write_record([
                        value.to_text().as_str(),
                        value.kind().name(),
                        record.file_name.as_deref().unwrap_or(""),
                        record.comment.as_deref().unwrap_or(""),
                    ])
                    .map_err(csv_write_error)?,
            }
        }
        Ok(())
    }

    /// Flushes and returns the output.
    pub fn finish(self) -> Result<W, HashListError> {
        match self.sink {
            Sink::Plain(mut out) => {
                out.flush()?;
                Ok(out)
            }
            Sink::Csv(csv) => csv
                .into_inner()
                .map_err(|e| HashListError::Io(io::Error::other(e.to_string()))),
        }
    }
}

/// A file name on one plain line: line breaks would start a new record.
fn plain_name(name: &str) -> String {
    name.replace(['\n', '\r'], " ")
}

fn csv_write_error(e: csv::Error) -> HashListError {
    HashListError::Io(io::Error::other(e.to_string()))
}

impl KnownMediaRecord {
    /// The known-media view of one hash-list record (the file name goes to `file_names`, the
    /// comment to `comments`).
    pub fn from_hash_list(record: &HashListRecord) -> Self {
        let mut k = KnownMediaRecord::new(SourceRef {
            format: SourceFormat::HashList,
            ordinal: record.ordinal,
            line: Some(record.line),
        });
        k.hashes = record.hashes.clone();
        k.file_names = record.file_name.iter().cloned().collect();
        k.comments = record.comment.clone();
        k
    }
}

impl From<&HashListRecord> for KnownMediaRecord {
    fn from(record: &HashListRecord) -> Self {
        KnownMediaRecord::from_hash_list(record)
    }
}

impl From<&KnownMediaRecord> for HashListRecord {
    /// The hash-list record of a known-media record: its hashes, first file name and comment.
    fn from(k: &KnownMediaRecord) -> Self {
        HashListRecord {
            line: k.source.line.unwrap_or(0),
            ordinal: k.source.ordinal,
            hashes: k.hashes.clone(),
            file_name: k.file_names.first().cloned(),
            comment: k.comments.clone(),
        }
    }
}
