//! Line numbers for CSV records.
//!
//! The `csv` crate's line counter is off by one after a CRLF terminator and counts skipped blank
//! and comment lines oddly, and its byte offsets point at the start of the parse (which
//! includes the skipped lines), not at the record. [`LineTracker`] sits under the CSV reader,
//! remembers where each line starts (and whether it is blank or a comment, which the CSV reader
//! skips) and turns a record's byte offset into the line the record really starts on. It keeps
//! only the lines not yet handed to the caller, and refuses to read more than
//! [`MAX_RECORD_BYTES`] past the last record asked about: that bounds both its own memory and
//! the CSV reader's record buffer against a hostile file (one endless quoted field).

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::io::{self, Read};

/// Largest stretch of input (one record plus the read-ahead) the CSV readers accept.
pub(crate) const MAX_RECORD_BYTES: u64 = 64 << 20;

#[derive(Debug, Clone, Copy)]
struct LineStart {
    /// Byte offset of the first byte of the line.
    start: u64,
    /// Blank or comment: the CSV reader skips it.
    skipped: bool,
}

/// A reader that notes where lines start, for [`LineTracker::line_of`].
pub(crate) struct LineTracker<R> {
    inner: R,
    offset: u64,
    at_line_start: bool,
    /// The current line began with `\r`: blank if a `\n` follows.
    line_began_with_cr: bool,
    comments: bool,
    lines: RefCell<VecDeque<LineStart>>,
    /// 1-based number of the first line in `lines`.
    front_number: Cell<u64>,
    /// Byte offset of the last record asked about.
    last_asked: Cell<u64>,
}

impl<R> LineTracker<R> {
    /// Tracks `inner`; `comments` says whether `#` lines are skipped by the CSV reader.
    pub(crate) fn new(inner: R, comments: bool) -> Self {
        Self {
            inner,
            offset: 0,
            at_line_start: true,
            line_began_with_cr: false,
            comments,
            lines: RefCell::new(VecDeque::new()),
            front_number: Cell::new(1),
            last_asked: Cell::new(0),
        }
    }

    /// The 1-based line of the record whose parse began at byte `offset` (as the CSV reader
    /// reports it). Offsets must be asked in increasing order.
    pub(crate) fn line_of(&self, offset: u64) -> u64 {
        self.last_asked.set(self.last_asked.get().max(offset));
        let mut lines = self.lines.borrow_mut();
        while lines.len() >= 2 && lines[1].start <= offset {
            lines.pop_front();
            self.front_number.set(self.front_number.get() + 1);
        }
        let mut idx = match lines.front() {
            Some(l) if l.start == offset => 0,
            Some(_) => 1,
            None => 0,
        };
        while lines.get(idx).is_some_and(|l| l.skipped) {
            idx += 1;
        }
        self.front_number.get() + idx as u64
    }
}

impl<R: Read> Read for LineTracker<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.offset.saturating_sub(self.last_asked.get()) > MAX_RECORD_BYTES {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "a single record is larger than {} MiB (unterminated quote?)",
                    MAX_RECORD_BYTES >> 20
                ),
            ));
        }
        let n = self.inner.read(buf)?;
        let lines = self.lines.get_mut();
        for (i, &b) in buf[..n].iter().enumerate() {
            let at = self.offset + i as u64;
            if self.at_line_start {
                lines.push_back(LineStart {
                    start: at,
                    skipped: b == b'\n' || (self.comments && b == b'#'),
                });
                self.line_began_with_cr = b == b'\r';
                self.at_line_start = false;
            } else if self.line_began_with_cr {
                self.line_began_with_cr = false;
                if b == b'\n' {
                    if let Some(last) = lines.back_mut() {
                        last.skipped = true;
                    }
                }
            }
            if b == b'\n' {
                self.at_line_start = true;
            }
        }
        self.offset += n as u64;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines_of(data: &str, comments: bool) -> Vec<u64> {
        let mut r = csv::ReaderBuilder::new()
            .comment(comments.then_some(b'#'))
            .from_reader(LineTracker::new(data.as_bytes(), comments));
        r.byte_headers().expect("header");
        let mut rec = csv::ByteRecord::new();
        let mut out = Vec::new();
        while r.read_byte_record(&mut rec).expect("record") {
            let byte = rec.position().map_or(0, |p| p.byte());
            out.push(r.get_ref().line_of(byte));
        }
        out
    }

    #[test]
    fn lines_are_right_with_lf_crlf_blank_and_comment_lines() {
        assert_eq!(lines_of("a,b\n1,2\n3,4\n", false), vec![2, 3]);
        assert_eq!(lines_of("a,b\r\n1,2\r\n3,4\r\n", false), vec![2, 3]);
        assert_eq!(
            lines_of("a,b\r\n#c\r\n1,2\r\n\r\n3,4\r\n", true),
            vec![3, 5]
        );
        assert_eq!(lines_of("a,b\n\n\n1,\"x\ny\"\n3,4", false), vec![4, 6]);
    }
}
