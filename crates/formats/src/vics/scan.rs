//! A small structural JSON scanner over a byte stream.
//!
//! serde_json parses a whole value; a VICS hash set is one value of hundreds of megabytes. The
//! scanner walks the envelope (`{ "@odata.context": …, "value": [ … ] }`) itself and cuts out
//! one array element at a time as raw bytes, which serde_json then parses. Memory is bounded by
//! the largest single element, and the scanner knows the line and column of every element, so
//! that errors can name them. It checks bracket nesting and string termination only; full
//! validation of each element is serde_json's.

use std::io::{self, BufRead};

/// A position in the input: 1-based line and 1-based column (in bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Position {
    /// 1-based line.
    pub line: u64,
    /// 1-based column, counted in bytes.
    pub column: u64,
}

/// What can go wrong while scanning.
#[derive(Debug)]
pub(crate) enum ScanError {
    Io(io::Error),
    Syntax { at: Position, message: String },
    TooLarge { at: Position, limit: usize },
}

pub(crate) struct Scanner<R> {
    inner: R,
    line: u64,
    column: u64,
    /// Bracket stack of the value being captured, reused between captures.
    stack: Vec<u8>,
}

impl<R: BufRead> Scanner<R> {
    pub(crate) fn new(inner: R) -> Self {
        Self {
            inner,
            line: 1,
            column: 1,
            stack: Vec::new(),
        }
    }

    /// Position of the next byte to be read.
    pub(crate) fn position(&self) -> Position {
        Position {
            line: self.line,
            column: self.column,
        }
    }

    fn syntax(&self, message: impl Into<String>) -> ScanError {
        ScanError::Syntax {
            at: self.position(),
            message: message.into(),
        }
    }

    /// Skips white space (and a UTF-8 byte-order mark at the very start) and returns the next
    /// byte without consuming it; `None` at end of input.
    pub(crate) fn peek_significant(&mut self) -> Result<Option<u8>, ScanError> {
        loop {
            let buf = self.inner.fill_buf().map_err(ScanError::Io)?;
            if buf.is_empty() {
                return Ok(None);
            }
            let skip = buf
                .iter()
                .position(|b| !matches!(b, b' ' | b'\t' | b'\n' | b'\r'))
                .unwrap_or(buf.len());
            let found = buf.get(skip).copied();
            advance(&mut self.line, &mut self.column, &buf[..skip]);
            self.inner.consume(skip);
            if let Some(b) = found {
                if b == 0xEF && self.line == 1 && self.column == 1 {
                    // A byte-order mark before the document: skip its three bytes.
                    let mut bom = [0u8; 3];
                    self.inner.read_exact(&mut bom).map_err(ScanError::Io)?;
                    if bom != [0xEF, 0xBB, 0xBF] {
                        return Err(self.syntax("invalid byte at the start of the file"));
                    }
                    continue;
                }
                return Ok(Some(b));
            }
        }
    }

    /// Consumes the next significant byte, which must be `expected`.
    pub(crate) fn expect(&mut self, expected: u8, what: &str) -> Result<(), ScanError> {
        match self.peek_significant()? {
            Some(b) if b == expected => {
                self.inner.consume(1);
                self.column += 1;
                Ok(())
            }
            Some(b) => Err(self.syntax(format!("expected {what}, found {}", printable(b)))),
            None => Err(self.syntax(format!(
                "expected {what}, found the end of the file (truncated?)"
            ))),
        }
    }

    /// Consumes one byte already seen by [`Self::peek_significant`].
    pub(crate) fn bump(&mut self) {
        self.inner.consume(1);
        self.column += 1;
    }

    /// Cuts out the next JSON value (object, array, string or scalar) into `out` (cleared
    /// first), leaving the input just after it. Returns the position where it started.
    pub(crate) fn capture_value(
        &mut self,
        out: &mut Vec<u8>,
        limit: usize,
    ) -> Result<Position, ScanError> {
        out.clear();
        self.stack.clear();
        let first = match self.peek_significant()? {
            Some(b) => b,
            None => {
                return Err(self.syntax("expected a value, found the end of the file (truncated?)"))
            }
        };
        let start = self.position();
        if matches!(first, b']' | b'}' | b',' | b':') {
            return Err(self.syntax(format!("expected a value, found {}", printable(first))));
        }
        let scalar = !matches!(first, b'{' | b'[' | b'"');
        let mut in_string = false;
        let mut escape = false;
        loop {
            let buf = self.inner.fill_buf().map_err(ScanError::Io)?;
            if buf.is_empty() {
                if scalar {
                    return Ok(start);
                }
                return Err(self.syntax(if in_string {
                    "unterminated string: the file ends inside it (truncated?)"
                } else {
                    "the file ends inside an object or array (truncated?)"
                }));
            }
            let mut end = None;
            let mut bad = None;
            let mut i = 0;
            if escape && !buf.is_empty() {
                // The previous chunk ended on a backslash inside a string.
                escape = false;
                i = 1;
            }
            while i < buf.len() {
                if in_string {
                    // Strings are most of a VICS file (hashes, names, paths): jump to the next
                    // quote or backslash instead of looking at every byte.
                    match memchr::memchr2(b'"', b'\\', &buf[i..]) {
                        None => {
                            i = buf.len();
                        }
                        Some(off) if buf[i + off] == b'\\' => {
                            if i + off + 1 < buf.len() {
                                i += off + 2;
                            } else {
                                escape = true;
                                i = buf.len();
                            }
                        }
                        Some(off) => {
                            in_string = false;
                            i += off + 1;
                            if self.stack.is_empty() {
                                end = Some(i);
                                break;
                            }
                        }
                    }
                    continue;
                }
                let b = buf[i];
                if scalar {
                    if matches!(b, b',' | b']' | b'}' | b':' | b' ' | b'\t' | b'\n' | b'\r') {
                        end = Some(i);
                        break;
                    }
                    i += 1;
                    continue;
                }
                match b {
                    b'"' => {
                        in_string = true;
                    }
                    b'{' => {
                        self.stack.push(b'}');
                    }
                    b'[' => {
                        self.stack.push(b']');
                    }
                    b'}' | b']' => match self.stack.pop() {
                        Some(close) if close == b => {
                            if self.stack.is_empty() {
                                end = Some(i + 1);
                                break;
                            }
                        }
                        _ => {
                            bad = Some((i, "mismatched bracket"));
                            break;
                        }
                    },
                    _ => {}
                }
                i += 1;
            }
            let take = end.or(bad.map(|(i, _)| i)).unwrap_or(buf.len());
            if out.len() + take > limit {
                return Err(ScanError::TooLarge { at: start, limit });
            }
            out.extend_from_slice(&buf[..take]);
            advance(&mut self.line, &mut self.column, &buf[..take]);
            self.inner.consume(take);
            if let Some((_, message)) = bad {
                return Err(self.syntax(message));
            }
            if end.is_some() {
                return Ok(start);
            }
        }
    }
}

impl<R: BufRead> Scanner<R> {
    /// True when only white space is left.
    pub(crate) fn at_end(&mut self) -> Result<bool, ScanError> {
        Ok(self.peek_significant()?.is_none())
    }
}

/// Moves a position past `consumed` bytes.
fn advance(line: &mut u64, column: &mut u64, consumed: &[u8]) {
    match memchr::memrchr(b'\n', consumed) {
        Some(last) => {
            *line += memchr::memchr_iter(b'\n', consumed).count() as u64;
            *column = (consumed.len() - last) as u64;
        }
        None => *column += consumed.len() as u64,
    }
}

fn printable(b: u8) -> String {
    if b.is_ascii_graphic() {
        format!("'{}'", b as char)
    } else {
        format!("byte 0x{b:02x}")
    }
}
