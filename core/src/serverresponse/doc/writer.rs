//! The streaming [`Writer`].

use std::io::{self, Write};

use super::Entry;

/// A [`Writer`] could not write.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WriteError {
    /// The underlying writer failed (for a network reply: the client went
    /// away). The document is incomplete; stop writing.
    #[error("write failed: {0}")]
    Io(#[from] io::Error),
    /// The calls came in an order the dialect cannot express (a fault
    /// after results, an item outside a row, anything after
    /// [`Writer::finish`]). A bug in the caller; nothing was written for
    /// the refused call.
    #[error("serverResponse writer: {0}")]
    Order(&'static str),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum WState {
    /// Nothing written yet.
    Fresh,
    Results,
    Lists,
    Row,
    Faults,
    Done,
}

/// Writes a serverResponse document piece by piece.
///
/// Nothing is written until the first piece: the first [`result`]
/// or [`begin_lists`] opens `<results>`, the first [`fault`] opens
/// `<faults>`. Opening a row closes the previous row; a result or a new
/// table closes an open table; [`finish`] closes whatever is open (and
/// writes an empty `<results></results>` if nothing was written). Each
/// call writes its piece at once, so memory stays flat however long the
/// document; wrap an unbuffered sink in a `BufWriter`.
///
/// Attribute values are escaped: `& < > " '` become entities, tab, LF and
/// CR become character references (so they survive a parser's
/// attribute-value normalisation), and the characters XML 1.0 cannot carry
/// at all (other C0 controls, U+FFFE, U+FFFF) become U+FFFD.
///
/// [`result`]: Writer::result
/// [`begin_lists`]: Writer::begin_lists
/// [`fault`]: Writer::fault
/// [`finish`]: Writer::finish
#[derive(Debug)]
pub struct Writer<W: Write> {
    out: W,
    server: String,
    service: String,
    state: WState,
    line: Vec<u8>,
}

impl<W: Write> Writer<W> {
    /// A writer for a document from `server` answering `service`.
    pub fn new(out: W, server: &str, service: &str) -> Writer<W> {
        Writer {
            out,
            server: server.to_string(),
            service: service.to_string(),
            state: WState::Fresh,
            line: Vec::with_capacity(256),
        }
    }

    /// Whether anything has been written yet.
    pub fn is_started(&self) -> bool {
        self.state != WState::Fresh
    }

    /// Whether the document is a faults document.
    pub fn is_faults(&self) -> bool {
        self.state == WState::Faults
    }

    /// Whether [`finish`](Self::finish) has run.
    pub fn is_finished(&self) -> bool {
        self.state == WState::Done
    }

    /// The sink.
    pub fn get_mut(&mut self) -> &mut W {
        &mut self.out
    }

    /// The sink (call [`finish`](Self::finish) first).
    pub fn into_inner(self) -> W {
        self.out
    }

    /// Opens `<results>` now (also done by the first result or table).
    pub fn open_results(&mut self) -> Result<(), WriteError> {
        match self.state {
            WState::Fresh => self.open(false),
            WState::Results | WState::Lists | WState::Row => Ok(()),
            WState::Faults => Err(WriteError::Order("results in a faults document")),
            WState::Done => Err(WriteError::Order("write after finish")),
        }
    }

    /// Opens `<faults>` now (also done by the first fault).
    pub fn open_faults(&mut self) -> Result<(), WriteError> {
        match self.state {
            WState::Fresh => self.open(true),
            WState::Faults => Ok(()),
            WState::Done => Err(WriteError::Order("write after finish")),
            _ => Err(WriteError::Order("a fault in a results document")),
        }
    }

    /// Writes `<result id value/>`, closing an open table first.
    pub fn result(&mut self, id: &str, value: &str) -> Result<(), WriteError> {
        self.open_results()?;
        self.close_to(WState::Results)?;
        self.field(2, "result", id, value)
    }

    /// Opens a `<lists id>` table, closing an open one first.
    pub fn begin_lists(&mut self, id: &str) -> Result<(), WriteError> {
        self.open_results()?;
        self.close_to(WState::Results)?;
        self.start_line(2, "lists", id);
        self.line.extend_from_slice(b">\n");
        self.flush_line()?;
        self.state = WState::Lists;
        Ok(())
    }

    /// Opens a `<list id>` row in the open table, closing the previous row.
    pub fn begin_row(&mut self, id: &str) -> Result<(), WriteError> {
        match self.state {
            WState::Lists => {}
            WState::Row => self.close_to(WState::Lists)?,
            _ => return Err(WriteError::Order("a row outside a table")),
        }
        self.start_line(3, "list", id);
        self.line.extend_from_slice(b">\n");
        self.flush_line()?;
        self.state = WState::Row;
        Ok(())
    }

    /// Writes `<item id value/>` in the open row.
    pub fn item(&mut self, id: &str, value: &str) -> Result<(), WriteError> {
        if self.state != WState::Row {
            return Err(WriteError::Order("an item outside a row"));
        }
        self.field(4, "item", id, value)
    }

    /// Closes the open row.
    pub fn end_row(&mut self) -> Result<(), WriteError> {
        if self.state != WState::Row {
            return Err(WriteError::Order("no row is open"));
        }
        self.close_to(WState::Lists)
    }

    /// Writes a whole row: `begin_row`, its items, `end_row`.
    pub fn row<'a, I>(&mut self, id: &str, items: I) -> Result<(), WriteError>
    where
        I: IntoIterator<Item = (&'a str, &'a str)>,
    {
        self.begin_row(id)?;
        for (k, v) in items {
            self.item(k, v)?;
        }
        self.end_row()
    }

    /// Closes the open table.
    pub fn end_lists(&mut self) -> Result<(), WriteError> {
        if !matches!(self.state, WState::Lists | WState::Row) {
            return Err(WriteError::Order("no table is open"));
        }
        self.close_to(WState::Results)
    }

    /// Writes a whole entry (a result or a table).
    pub fn entry(&mut self, entry: &Entry) -> Result<(), WriteError> {
        match entry {
            Entry::Result(f) => self.result(&f.id, &f.value),
            Entry::Lists(l) => {
                self.begin_lists(&l.id)?;
                for r in &l.rows {
                    self.row(&r.id, r.items.iter().map(|f| (&*f.id, &*f.value)))?;
                }
                self.end_lists()
            }
        }
    }

    /// Writes `<fault id value/>`.
    pub fn fault(&mut self, id: &str, value: &str) -> Result<(), WriteError> {
        self.open_faults()?;
        self.field(2, "fault", id, value)
    }

    /// Closes the document (an empty `<results></results>` if nothing was
    /// written) and flushes the sink. Calling it again does nothing.
    pub fn finish(&mut self) -> Result<(), WriteError> {
        match self.state {
            WState::Done => return Ok(()),
            WState::Fresh => {
                self.line.clear();
                self.line.extend_from_slice(PROLOG);
                self.body_open_tag(false);
                self.line
                    .extend_from_slice(b"</results>\n</serverResponse>\n");
                self.flush_line()?;
            }
            WState::Faults => {
                self.line.clear();
                self.line
                    .extend_from_slice(b" </faults>\n</serverResponse>\n");
                self.flush_line()?;
            }
            _ => {
                self.close_to(WState::Results)?;
                self.line.clear();
                self.line
                    .extend_from_slice(b" </results>\n</serverResponse>\n");
                self.flush_line()?;
            }
        }
        self.state = WState::Done;
        self.out.flush()?;
        Ok(())
    }

    fn open(&mut self, faults: bool) -> Result<(), WriteError> {
        self.line.clear();
        self.line.extend_from_slice(PROLOG);
        self.body_open_tag(faults);
        self.line.push(b'\n');
        self.flush_line()?;
        self.state = if faults {
            WState::Faults
        } else {
            WState::Results
        };
        Ok(())
    }

    fn body_open_tag(&mut self, faults: bool) {
        self.line.extend_from_slice(if faults {
            b" <faults server=\""
        } else {
            b" <results server=\""
        });
        escape_into(&mut self.line, &self.server);
        self.line.extend_from_slice(b"\" service=\"");
        escape_into(&mut self.line, &self.service);
        self.line.extend_from_slice(b"\">");
    }

    /// Closes open rows and tables down to `target` (Results or Lists).
    fn close_to(&mut self, target: WState) -> Result<(), WriteError> {
        self.line.clear();
        if self.state == WState::Row {
            self.line.extend_from_slice(b"   </list>\n");
            self.state = WState::Lists;
        }
        if self.state == WState::Lists && target == WState::Results {
            self.line.extend_from_slice(b"  </lists>\n");
            self.state = WState::Results;
        }
        if self.line.is_empty() {
            Ok(())
        } else {
            self.flush_line()
        }
    }

    fn start_line(&mut self, indent: usize, tag: &str, id: &str) {
        self.line.clear();
        self.line.extend(std::iter::repeat_n(b' ', indent));
        self.line.push(b'<');
        self.line.extend_from_slice(tag.as_bytes());
        self.line.extend_from_slice(b" id=\"");
        escape_into(&mut self.line, id);
        self.line.push(b'"');
    }

    fn field(&mut self, indent: usize, tag: &str, id: &str, value: &str) -> Result<(), WriteError> {
        self.start_line(indent, tag, id);
        self.line.extend_from_slice(b" value=\"");
        escape_into(&mut self.line, value);
        self.line.extend_from_slice(b"\"/>\n");
        self.flush_line()
    }

    fn flush_line(&mut self) -> Result<(), WriteError> {
        self.out.write_all(&self.line)?;
        Ok(())
    }
}

/// Appends `s` escaped for a double-quoted attribute value.
fn escape_into(out: &mut Vec<u8>, s: &str) {
    let bytes = s.as_bytes();
    let mut start = 0;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        let (replacement, skip): (&[u8], usize) = match b {
            b'&' => (b"&amp;", 1),
            b'<' => (b"&lt;", 1),
            b'>' => (b"&gt;", 1),
            b'"' => (b"&quot;", 1),
            b'\'' => (b"&apos;", 1),
            b'\t' => (b"&#9;", 1),
            b'\n' => (b"&#10;", 1),
            b'\r' => (b"&#13;", 1),
            0..=0x1F => ("\u{FFFD}".as_bytes(), 1),
            // U+FFFE and U+FFFF are EF BF BE / EF BF BF in UTF-8.
            0xEF if bytes.get(i + 1) == Some(&0xBF)
                && matches!(bytes.get(i + 2), Some(0xBE | 0xBF)) =>
            {
                ("\u{FFFD}".as_bytes(), 3)
            }
            _ => {
                i += 1;
                continue;
            }
        };
        out.extend_from_slice(&bytes[start..i]);
        out.extend_from_slice(replacement);
        i += skip;
        start = i;
    }
    out.extend_from_slice(&bytes[start..]);
}

const PROLOG: &[u8] = b"<?xml version=\"1.0\"?>\n<serverResponse>\n";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_cases() {
        let mut out = Vec::new();
        escape_into(
            &mut out,
            "a&b<c>d\"e'f\tg\nh\ri\u{1}j\u{FFFE}k\u{FFFF}l\u{FFFD}é",
        );
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "a&amp;b&lt;c&gt;d&quot;e&apos;f&#9;g&#10;h&#13;i\u{FFFD}j\u{FFFD}k\u{FFFD}l\u{FFFD}é"
        );
    }
}
