//! Streaming VICS import: one Media at a time, from a file of any size.

use std::collections::VecDeque;
use std::io::BufRead;

use serde_json::{Map, Value};

use super::model::{Case, Extra, Media};
use super::scan::{Position, ScanError, Scanner};
use super::{VicsError, VicsKind, VicsVersion};

/// Limits of the streaming reader.
#[derive(Debug, Clone, Copy)]
pub struct VicsReaderOptions {
    /// Largest single JSON value (one Media, one case-header field, one envelope field) accepted,
    /// in bytes. Bounds memory against hostile input; 64 MiB by default.
    pub max_value_bytes: usize,
}

impl Default for VicsReaderOptions {
    fn default() -> Self {
        Self {
            max_value_bytes: 64 << 20,
        }
    }
}

/// What the envelope of a VICS file says.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct VicsHeader {
    /// The `@odata.context` (2.0) or `odata.metadata` (1.x) URL, as written.
    pub context: Option<String>,
    /// The data-model version named by the context, when recognised.
    pub version: Option<VicsVersion>,
    /// The 2.0 region segment (`Default`, `US`, `UK`, `CUSTOM`): selects the category scheme.
    pub region: Option<String>,
    /// Whether `value` holds Media or Cases, when the context says.
    pub kind: Option<VicsKind>,
    /// Other top-level keys.
    pub extra: Extra,
}

impl VicsHeader {
    /// Reads the version, region and kind out of a context URL.
    pub fn from_context(context: &str) -> Self {
        let mut h = VicsHeader {
            context: Some(context.to_owned()),
            ..VicsHeader::default()
        };
        let lower = context.to_ascii_lowercase();
        if let Some(start) = lower.find("datamodels/") {
            let rest = &context[start + "datamodels/".len()..];
            if let Some(end) = rest.to_ascii_lowercase().find(".xml") {
                h.version = VicsVersion::from_number(&rest[..end]);
                let after = &rest[end + ".xml".len()..];
                // 2.0: `.xml/<Region>/$metadata#Media`
                if let Some(region) = after.strip_prefix('/') {
                    let region = region.split(['/', '#']).next().unwrap_or("");
                    if !region.is_empty() && !region.starts_with('$') {
                        h.region = Some(region.to_owned());
                    }
                }
            }
        }
        if let Some(fragment) = context.rsplit_once('#').map(|(_, f)| f) {
            if fragment.eq_ignore_ascii_case("Media") {
                h.kind = Some(VicsKind::Media);
            } else if fragment.eq_ignore_ascii_case("Cases") {
                h.kind = Some(VicsKind::Cases);
            }
        }
        h
    }
}

/// One Media read from a VICS file.
#[derive(Debug, Clone, PartialEq)]
pub struct VicsRecord {
    /// 1-based ordinal of the Media in the file (across cases).
    pub ordinal: u64,
    /// Where the Media object starts.
    pub position: Position,
    /// Index into [`VicsReader::cases`] of the case holding it (`#Cases` files).
    pub case: Option<usize>,
    /// The Media.
    pub media: Media,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    TopKeys { first: bool },
    Value { first: bool },
    CaseKeys { first: bool },
    CaseMedia { first: bool },
    End,
    Done,
}

/// Reads a VICS document Media by Media, holding one record in memory at a time.
///
/// [`VicsReader::new`] reads the envelope up to the `value` array; iterating yields each Media
/// (inside its case for `#Cases` files). An error in one record (invalid JSON inside it, a field
/// of the wrong type, bad hexadecimal) is yielded and reading goes on with the next record; an
/// error in the structure (truncation, broken nesting, a non-array `value`) ends the iteration.
pub struct VicsReader<R> {
    scan: Scanner<R>,
    state: State,
    header: VicsHeader,
    cases: Vec<Case>,
    buf: Vec<u8>,
    ordinal: u64,
    seen_value: bool,
    pending: VecDeque<Result<VicsRecord, VicsError>>,
    options: VicsReaderOptions,
}

impl<R: BufRead> VicsReader<R> {
    /// Starts reading with default limits.
    pub fn new(input: R) -> Result<Self, VicsError> {
        Self::with_options(input, VicsReaderOptions::default())
    }

    /// Starts reading, consuming the envelope up to the first record.
    pub fn with_options(input: R, options: VicsReaderOptions) -> Result<Self, VicsError> {
        let mut reader = Self {
            scan: Scanner::new(input),
            state: State::TopKeys { first: true },
            header: VicsHeader::default(),
            cases: Vec::new(),
            buf: Vec::new(),
            ordinal: 0,
            seen_value: false,
            pending: VecDeque::new(),
            options,
        };
        match reader.scan.peek_significant().map_err(from_scan)? {
            Some(b'{') => reader.scan.bump(),
            Some(_) => {
                return Err(VicsError::Envelope(
                    "a VICS document is a JSON object; the file does not start with '{'".into(),
                ))
            }
            None => return Err(VicsError::Envelope("the file is empty".into())),
        }
        while let State::TopKeys { .. } = reader.state {
            reader.step_top_keys()?;
        }
        Ok(reader)
    }

    /// The envelope as read so far (keys after `value` are known only once iteration ended).
    pub fn header(&self) -> &VicsHeader {
        &self.header
    }

    /// Case headers read so far (their `media` is empty: the Media are yielded instead).
    pub fn cases(&self) -> &[Case] {
        &self.cases
    }

    /// The header and case headers, once iteration is over.
    pub fn into_parts(self) -> (VicsHeader, Vec<Case>) {
        (self.header, self.cases)
    }

    fn limit(&self) -> usize {
        self.options.max_value_bytes
    }

    fn read_key(&mut self) -> Result<String, VicsError> {
        let limit = self.limit();
        match self.scan.peek_significant().map_err(from_scan)? {
            Some(b'"') => {}
            Some(_) | None => {
                return Err(VicsError::Syntax {
                    at: self.scan.position(),
                    message: "expected a key (a string)".into(),
                })
            }
        }
        let at = self
            .scan
            .capture_value(&mut self.buf, limit)
            .map_err(from_scan)?;
        serde_json::from_slice::<String>(&self.buf).map_err(|e| VicsError::Syntax {
            at: shift(at, &e),
            message: format!("invalid key: {}", json_message(&e)),
        })
    }

    fn capture_json(&mut self) -> Result<(Position, Value), VicsError> {
        let limit = self.limit();
        let at = self
            .scan
            .capture_value(&mut self.buf, limit)
            .map_err(from_scan)?;
        let v = serde_json::from_slice::<Value>(&self.buf).map_err(|e| VicsError::Syntax {
            at: shift(at, &e),
            message: json_message(&e),
        })?;
        Ok((at, v))
    }

    fn step_top_keys(&mut self) -> Result<(), VicsError> {
        let State::TopKeys { first } = self.state else {
            return Ok(());
        };
        match self.scan.peek_significant().map_err(from_scan)? {
            Some(b'}') => {
                self.scan.bump();
                self.state = State::End;
                return Ok(());
            }
            None => {
                return Err(VicsError::Syntax {
                    at: self.scan.position(),
                    message: "the file ends inside the top-level object (truncated?)".into(),
                })
            }
            Some(_) => {}
        }
        if !first {
            self.scan
                .expect(b',', "',' or '}' after a top-level field")
                .map_err(from_scan)?;
        }
        let key = self.read_key()?;
        self.scan
            .expect(b':', "':' after a key")
            .map_err(from_scan)?;
        self.state = State::TopKeys { first: false };
        if key == "value" {
            if self.seen_value {
                return Err(VicsError::Envelope("two `value` arrays".into()));
            }
            self.seen_value = true;
            self.scan
                .expect(b'[', "the '[' of the `value` array")
                .map_err(from_scan)?;
            self.state = State::Value { first: true };
            return Ok(());
        }
        let (at, v) = self.capture_json()?;
        if key == "@odata.context" || key == "odata.metadata" {
            let Value::String(context) = v else {
                return Err(VicsError::Syntax {
                    at,
                    message: format!("`{key}` must be a string"),
                });
            };
            let extra = std::mem::take(&mut self.header.extra);
            self.header = VicsHeader::from_context(&context);
            self.header.extra = extra;
        } else {
            self.header.extra.insert(key, v);
        }
        Ok(())
    }

    /// Captures one Media element and converts it. A failure inside the element is confined to
    /// the record (the inner `Result`); `None` means a whole case was absorbed into `pending`.
    #[allow(clippy::type_complexity)]
    fn read_media(
        &mut self,
        case: Option<usize>,
    ) -> Result<Option<Result<VicsRecord, VicsError>>, VicsError> {
        let limit = self.limit();
        let at = self
            .scan
            .capture_value(&mut self.buf, limit)
            .map_err(from_scan)?;
        self.ordinal += 1;
        let ordinal = self.ordinal;
        let map = match serde_json::from_slice::<Map<String, Value>>(&self.buf) {
            Ok(m) => m,
            Err(e) => {
                return Ok(Some(Err(VicsError::Record {
                    ordinal,
                    at: shift(at, &e),
                    message: json_message(&e),
                })))
            }
        };
        if case.is_none() && self.header.kind.is_none() && looks_like_case(&map) {
            // No context said `#Cases` before the array: a whole case was cut out as one value.
            self.ordinal -= 1;
            self.absorb_case(map, at);
            return Ok(None);
        }
        Ok(Some(to_record(map, ordinal, at, case)))
    }

    fn absorb_case(&mut self, map: Map<String, Value>, at: Position) {
        let index = self.cases.len();
        let mut case = Case::default();
        let mut media = Vec::new();
        for (key, v) in map {
            if key.eq_ignore_ascii_case("media") {
                if let Value::Array(items) = v {
                    media = items;
                }
            } else if let Err(e) = case.read_field(&key, v) {
                self.pending.push_back(Err(VicsError::Case {
                    case: index as u64 + 1,
                    at,
                    message: e.to_string(),
                }));
            }
        }
        self.cases.push(case);
        for item in media {
            self.ordinal += 1;
            let ordinal = self.ordinal;
            let r = match item {
                Value::Object(m) => to_record(m, ordinal, at, Some(index)),
                other => Err(VicsError::Record {
                    ordinal,
                    at,
                    message: format!("expected a Media object, got {other}"),
                }),
            };
            self.pending.push_back(r);
        }
    }

    fn next_record(&mut self) -> Result<Option<VicsRecord>, VicsError> {
        loop {
            if let Some(r) = self.pending.pop_front() {
                return r.map(Some);
            }
            match self.state {
                State::Done => return Ok(None),
                State::TopKeys { .. } => self.step_top_keys()?,
                State::End => {
                    self.state = State::Done;
                    if !self.scan.at_end().map_err(from_scan)? {
                        return Err(VicsError::Syntax {
                            at: self.scan.position(),
                            message: "unexpected data after the end of the document".into(),
                        });
                    }
                    if !self.seen_value {
                        return Err(VicsError::Envelope("no `value` array".into()));
                    }
                    return Ok(None);
                }
                State::Value { first } => {
                    match self.peek_in("the `value` array")? {
                        b']' => {
                            self.scan.bump();
                            self.state = State::TopKeys { first: false };
                            continue;
                        }
                        _ if !first => self
                            .scan
                            .expect(b',', "',' or ']' between records")
                            .map_err(from_scan)?,
                        _ => {}
                    }
                    self.state = State::Value { first: false };
                    if self.header.kind == Some(VicsKind::Cases) {
                        self.scan.expect(b'{', "a Case object").map_err(from_scan)?;
                        self.cases.push(Case::default());
                        self.state = State::CaseKeys { first: true };
                        continue;
                    }
                    match self.read_media(None)? {
                        Some(r) => return r.map(Some),
                        None => continue,
                    }
                }
                State::CaseKeys { first } => {
                    match self.peek_in("a Case object")? {
                        b'}' => {
                            self.scan.bump();
                            self.state = State::Value { first: false };
                            continue;
                        }
                        _ if !first => self
                            .scan
                            .expect(b',', "',' or '}' in a Case")
                            .map_err(from_scan)?,
                        _ => {}
                    }
                    self.state = State::CaseKeys { first: false };
                    let key = self.read_key()?;
                    self.scan
                        .expect(b':', "':' after a key")
                        .map_err(from_scan)?;
                    let case_number = self.cases.len() as u64;
                    if key.eq_ignore_ascii_case("media")
                        && self.scan.peek_significant().map_err(from_scan)? == Some(b'[')
                    {
                        self.scan.bump();
                        self.state = State::CaseMedia { first: true };
                        continue;
                    }
                    let (at, v) = self.capture_json()?;
                    if key.eq_ignore_ascii_case("media") {
                        if v.is_null() {
                            continue;
                        }
                        return Err(VicsError::Case {
                            case: case_number,
                            at,
                            message: "`Media` must be an array".into(),
                        });
                    }
                    if let Some(case) = self.cases.last_mut() {
                        case.read_field(&key, v).map_err(|e| VicsError::Case {
                            case: case_number,
                            at,
                            message: e.to_string(),
                        })?;
                    }
                }
                State::CaseMedia { first } => {
                    match self.peek_in("the Media array of a Case")? {
                        b']' => {
                            self.scan.bump();
                            self.state = State::CaseKeys { first: false };
                            continue;
                        }
                        _ if !first => self
                            .scan
                            .expect(b',', "',' or ']' between Media")
                            .map_err(from_scan)?,
                        _ => {}
                    }
                    self.state = State::CaseMedia { first: false };
                    let case = self.cases.len().checked_sub(1);
                    match self.read_media(case)? {
                        Some(r) => return r.map(Some),
                        None => continue,
                    }
                }
            }
        }
    }

    fn peek_in(&mut self, inside: &str) -> Result<u8, VicsError> {
        match self.scan.peek_significant().map_err(from_scan)? {
            Some(b) => Ok(b),
            None => Err(VicsError::Syntax {
                at: self.scan.position(),
                message: format!("the file ends inside {inside} (truncated?)"),
            }),
        }
    }
}

impl<R: BufRead> Iterator for VicsReader<R> {
    type Item = Result<VicsRecord, VicsError>;

    fn next(&mut self) -> Option<Self::Item> {
        match self.next_record() {
            Ok(Some(r)) => Some(Ok(r)),
            Ok(None) => None,
            Err(e) => {
                if !e.is_record_error() {
                    // The structure is broken: there is no reliable place to resume from.
                    self.state = State::Done;
                    self.pending.clear();
                }
                Some(Err(e))
            }
        }
    }
}

fn to_record(
    map: Map<String, Value>,
    ordinal: u64,
    at: Position,
    case: Option<usize>,
) -> Result<VicsRecord, VicsError> {
    Media::from_json(map)
        .map(|media| VicsRecord {
            ordinal,
            position: at,
            case,
            media,
        })
        .map_err(|e| VicsError::Record {
            ordinal,
            at,
            message: e.to_string(),
        })
}

fn looks_like_case(map: &Map<String, Value>) -> bool {
    let has_media_array = map
        .iter()
        .any(|(k, v)| k.eq_ignore_ascii_case("media") && v.is_array());
    let has_md5 = map.keys().any(|k| k.eq_ignore_ascii_case("md5"));
    has_media_array && !has_md5
}

/// serde_json's message without its position, which is relative to the captured value (the
/// absolute one is in the error).
fn json_message(e: &serde_json::Error) -> String {
    let text = e.to_string();
    match text.rfind(" at line ") {
        Some(i) => text[..i].to_owned(),
        None => text,
    }
}

/// Turns a serde_json position inside a captured value into a position in the file.
fn shift(start: Position, e: &serde_json::Error) -> Position {
    let (line, column) = (e.line() as u64, e.column() as u64);
    if line <= 1 {
        Position {
            line: start.line,
            column: start.column + column.saturating_sub(1),
        }
    } else {
        Position {
            line: start.line + line - 1,
            column,
        }
    }
}

fn from_scan(e: ScanError) -> VicsError {
    match e {
        ScanError::Io(e) => VicsError::Io(e),
        ScanError::Syntax { at, message } => VicsError::Syntax { at, message },
        ScanError::TooLarge { at, limit } => VicsError::TooLarge { at, limit },
    }
}
