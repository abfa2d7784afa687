//! The parser: [`events`] (the zero-copy view), [`parse`] (into a
//! [`Response`]) and [`DocReader`] (owned events from any `BufRead`).

use std::borrow::Cow;
use std::collections::VecDeque;
use std::fmt;
use std::io::{self, BufRead, Read};

use quick_xml::events::attributes::Attributes;
use quick_xml::events::Event;
use quick_xml::Reader;

use super::model::{Group, Packed, Span};
use super::{Field, Ignored, Response, Row, Text};
use crate::slices::range_within;

/// Limits of the parser.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct ParseConfig {
    /// Largest document accepted, in bytes. Default 16 MiB: a status
    /// table of some 100,000 rows, far more than any status page, and
    /// still a bounded amount of memory when collecting a [`Response`].
    pub max_size: u64,
    /// Deepest element nesting accepted. The dialect needs 5 levels
    /// (`serverResponse/results/lists/list/item`); default 32 leaves room
    /// for unknown extensions while stopping pathological nesting.
    pub max_depth: usize,
}

impl Default for ParseConfig {
    fn default() -> Self {
        ParseConfig {
            max_size: 16 * 1024 * 1024,
            max_depth: 32,
        }
    }
}

impl ParseConfig {
    /// The default limits with another maximum size.
    pub fn with_max_size(mut self, max_size: u64) -> Self {
        self.max_size = max_size;
        self
    }

    /// The default limits with another maximum depth.
    pub fn with_max_depth(mut self, max_depth: usize) -> Self {
        self.max_depth = max_depth;
        self
    }
}

/// Why a document was refused, and where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{kind} (at byte {position})")]
pub struct ParseError {
    /// What is wrong.
    pub kind: ParseErrorKind,
    /// The byte offset into the document where it was found.
    pub position: u64,
}

/// What is wrong with a refused document. All are problems of the data
/// (the server's, for a fetched reply); none is worth retrying as is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ParseErrorKind {
    /// The bytes are not well-formed XML (quick-xml's diagnosis), e.g. an
    /// attribute value missing its closing quote or mismatched tags.
    #[error("malformed XML: {0}")]
    Xml(String),
    /// The text is not UTF-8.
    #[error("not UTF-8")]
    NotUtf8,
    /// There is no root element at all.
    #[error("no document")]
    Empty,
    /// The root element is not `<serverResponse>`.
    #[error("not a serverResponse document (root element <{0}>)")]
    NotServerResponse(String),
    /// Well-formed XML that breaks the dialect's structure (neither
    /// results nor faults, both, or content after the root).
    #[error("invalid serverResponse document: {0}")]
    Structure(&'static str),
    /// A `<result>`, `<item>`, `<fault>`, `<list>` or `<lists>` has no
    /// `id`.
    #[error("<{element}> without an id attribute")]
    MissingId {
        /// The element.
        element: &'static str,
    },
    /// The document exceeds [`ParseConfig::max_size`] (or, collected
    /// into a [`Response`], holds more than 4 GiB of ids and values).
    #[error("document larger than {0} bytes")]
    TooLarge(u64),
    /// Elements nest deeper than [`ParseConfig::max_depth`].
    #[error("elements nested deeper than {0}")]
    TooDeep(usize),
    /// Reading the source failed.
    #[error("read failed: {0}")]
    Io(String),
}

/// One piece of a document, as [`DocReader`] delivers it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DocEvent {
    /// `<results>` or `<faults>` opened.
    Begin {
        /// `true` for `<faults>`.
        faults: bool,
        /// The `server` attribute.
        server: String,
        /// The `service` attribute.
        service: String,
    },
    /// A `<result>`.
    Result(Field),
    /// A `<lists>` table opened.
    BeginLists(Text),
    /// One complete `<list>` row of the open table.
    Row(Row),
    /// The open table closed.
    EndLists,
    /// A `<fault>`.
    Fault(Field),
    /// Something skipped.
    Ignored(Ignored),
    /// `</serverResponse>`: the document is complete.
    End,
}

/// One piece of a document, borrowed from the bytes parsed: what
/// [`Events`] yields.
///
/// Ids and values are `Cow::Borrowed` slices of the input unless they had
/// to be decoded (an entity such as `&amp;`, or a literal tab or line
/// break, which XML reads as a space); then they are `Cow::Owned`. Unlike
/// [`DocEvent`], a table row arrives in pieces ([`BeginRow`], its
/// [`Item`]s, [`EndRow`]), so nothing is gathered.
///
/// [`BeginRow`]: EventRef::BeginRow
/// [`Item`]: EventRef::Item
/// [`EndRow`]: EventRef::EndRow
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventRef<'a> {
    /// `<results>` or `<faults>` opened.
    Begin {
        /// `true` for `<faults>`.
        faults: bool,
        /// The `server` attribute (empty when absent).
        server: Cow<'a, str>,
        /// The `service` attribute (empty when absent).
        service: Cow<'a, str>,
    },
    /// A `<result>`.
    Result(FieldRef<'a>),
    /// A `<lists>` table opened; the id.
    BeginLists(Cow<'a, str>),
    /// A `<list>` row of the open table opened; the id.
    BeginRow(Cow<'a, str>),
    /// An `<item>` of the open row.
    Item(FieldRef<'a>),
    /// The open row closed.
    EndRow,
    /// The open table closed.
    EndLists,
    /// A `<fault>`.
    Fault(FieldRef<'a>),
    /// Something skipped.
    Ignored(Ignored),
    /// `</serverResponse>`: the document is complete.
    End,
}

/// A borrowed `id`/`value` pair (see [`EventRef`]).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct FieldRef<'a> {
    /// What the value is about.
    pub id: Cow<'a, str>,
    /// The value (empty when the attribute is absent).
    pub value: Cow<'a, str>,
}

impl FieldRef<'_> {
    /// An owned copy.
    pub fn into_owned(self) -> Field {
        Field {
            id: Text::from(self.id),
            value: Text::from(self.value),
        }
    }
}

/// Parses a whole document with the default limits.
pub fn parse(bytes: &[u8]) -> Result<Response, ParseError> {
    parse_with(bytes, &ParseConfig::default())
}

/// Parses a whole document with explicit limits.
///
/// Built on the zero-copy [`Events`]: each id and value is copied once,
/// from the input (or from its decoded form) into the [`Response`].
pub fn parse_with(bytes: &[u8], config: &ParseConfig) -> Result<Response, ParseError> {
    let mut events = Events::with_config(bytes, config);
    let mut builder = Builder::for_document(events.text);
    events.drive(&mut builder)?;
    builder.finish(events.position())
}

/// The [`EventRef`]s of a document held in memory, with the default
/// limits: a zero-copy view, see [`Events`].
pub fn events(bytes: &[u8]) -> Events<'_> {
    Events::with_config(bytes, &ParseConfig::default())
}

/// A zero-copy view of a document held in memory: an iterator over its
/// [`EventRef`]s, whose ids and values borrow from the input.
///
/// It checks what [`parse`] checks, in the same order and with the same
/// errors and positions (the size limit and UTF-8 first, for the whole
/// input; then the XML and the dialect as it goes). After an error it
/// ends. Use it to read a large table without building it, or to pick a
/// few values out of a document without copying the rest.
///
/// ```
/// use msgwire::serverresponse::{events, EventRef};
///
/// let xml = b"<serverResponse><results server=\"s\" service=\"t\">\
///             <result id=\"a\" value=\"1 &amp; 2\"/>\
///             <lists id=\"l\"><list id=\"r\"><item id=\"b\" value=\"x\"/></list></lists>\
///             </results></serverResponse>";
/// let mut values = Vec::new();
/// for event in events(xml) {
///     match event? {
///         EventRef::Result(f) | EventRef::Item(f) => values.push((f.id, f.value)),
///         _ => {}
///     }
/// }
/// assert_eq!(values, [("a".into(), "1 & 2".into()), ("b".into(), "x".into())]);
/// // Plain values are slices of the input; decoded ones are owned.
/// assert!(matches!(values[1].1, std::borrow::Cow::Borrowed("x")));
/// # Ok::<(), msgwire::serverresponse::ParseError>(())
/// ```
pub struct Events<'a> {
    text: &'a str,
    reader: Reader<&'a [u8]>,
    machine: Machine,
    pending: VecDeque<EventRef<'a>>,
    /// An error found before the first event (size, UTF-8).
    error: Option<ParseError>,
    done: bool,
}

impl std::fmt::Debug for Events<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Events")
            .field("position", &self.reader.buffer_position())
            .field("done", &self.done)
            .finish_non_exhaustive()
    }
}

impl<'a> Events<'a> {
    /// The view of `bytes` with explicit limits.
    pub fn with_config(bytes: &'a [u8], config: &ParseConfig) -> Events<'a> {
        let checked = if bytes.len() as u64 > config.max_size {
            Err(ParseError {
                kind: ParseErrorKind::TooLarge(config.max_size),
                position: config.max_size,
            })
        } else {
            // One UTF-8 check for the whole document: every id and value
            // is then a slice of `text`, not checked again.
            std::str::from_utf8(bytes).map_err(|e| ParseError {
                kind: ParseErrorKind::NotUtf8,
                position: e.valid_up_to() as u64,
            })
        };
        let (text, error) = match checked {
            Ok(text) => (text, None),
            Err(e) => ("", Some(e)),
        };
        let mut reader = Reader::from_reader(text.as_bytes());
        reader.config_mut().trim_text(true);
        Events {
            text,
            reader,
            machine: Machine::new(config.max_depth),
            pending: VecDeque::new(),
            error,
            done: false,
        }
    }

    /// The byte offset the view has read up to.
    pub fn position(&self) -> u64 {
        self.reader.buffer_position()
    }

    /// Runs the rest of the document through `emit`, without the queue
    /// the iterator needs (the path of [`parse`]).
    fn drive(&mut self, emit: &mut impl Sink<'a>) -> Result<(), ParseError> {
        self.done = true;
        if let Some(e) = self.error.take() {
            return Err(e);
        }
        for ev in self.pending.drain(..) {
            emit.event(ev);
        }
        while step(&mut self.reader, &mut self.machine, self.text, emit)? {}
        Ok(())
    }
}

/// Reads one quick-xml event of an [`Events`] and hands what it means to
/// `emit`; `false` once the input is over.
fn step<'a>(
    reader: &mut Reader<&'a [u8]>,
    machine: &mut Machine,
    text: &'a str,
    emit: &mut impl Sink<'a>,
) -> Result<bool, ParseError> {
    let start = reader.buffer_position();
    let event = reader.read_event().map_err(|e| xml_error(reader, e))?;
    let eof = matches!(event, Event::Eof);
    let end = reader.buffer_position();
    if let Some(tag) = machine.feed(&event, start, end, emit)? {
        // A slice reader's events borrow from the input: the tag's text
        // lies in `text`, and so do the ids and values.
        let content = match &event {
            Event::Start(e) | Event::Empty(e) => within(text, e),
            _ => None,
        };
        let content = content.ok_or(ParseError {
            kind: ParseErrorKind::NotUtf8,
            position: tag.pos,
        })?;
        machine.element(content, text, tag, emit)?;
    }
    Ok(!eof)
}

impl<'a> Iterator for Events<'a> {
    type Item = Result<EventRef<'a>, ParseError>;

    fn next(&mut self) -> Option<Self::Item> {
        if let Some(ev) = self.pending.pop_front() {
            return Some(Ok(ev));
        }
        loop {
            if self.done {
                return None;
            }
            if self.error.is_some() {
                self.done = true;
                return self.error.take().map(Err);
            }
            // Most quick-xml events mean one event or none: the first
            // goes out directly, only the others through the queue.
            let mut first = None;
            let Events {
                reader,
                machine,
                text,
                pending,
                ..
            } = self;
            let stepped = step(reader, machine, text, &mut |ev| {
                if first.is_none() {
                    first = Some(ev);
                } else {
                    pending.push_back(ev);
                }
            });
            match stepped {
                Ok(more) => self.done = !more,
                Err(e) => {
                    self.done = true;
                    self.pending.clear();
                    return Some(Err(e));
                }
            }
            if let Some(ev) = first {
                return Some(Ok(ev));
            }
        }
    }
}

impl std::iter::FusedIterator for Events<'_> {}

/// Pulls [`DocEvent`]s from a [`BufRead`] one at a time.
///
/// Memory use is bounded by the largest single element (plus one row), not
/// the document: a table of any length streams through.
///
/// ```
/// use msgwire::serverresponse::{DocEvent, DocReader};
///
/// let xml = b"<serverResponse><results server=\"s\" service=\"t\">\
///             <lists id=\"l\"><list id=\"r\"><item id=\"a\" value=\"1\"/></list></lists>\
///             </results></serverResponse>";
/// let mut reader = DocReader::new(&xml[..]);
/// let mut rows = 0;
/// while let Some(event) = reader.next_event()? {
///     if let DocEvent::Row(row) = event {
///         assert_eq!(row.get("a"), Some("1"));
///         rows += 1;
///     }
/// }
/// assert_eq!(rows, 1);
/// # Ok::<(), msgwire::serverresponse::ParseError>(())
/// ```
#[derive(Debug)]
pub struct DocReader<R: BufRead> {
    reader: Reader<Limited<R>>,
    buf: Vec<u8>,
    machine: Machine,
    owned: Owned,
    pending: VecDeque<DocEvent>,
    max_size: u64,
    finished: bool,
}

impl<R: BufRead> DocReader<R> {
    /// A reader with the default limits.
    pub fn new(source: R) -> DocReader<R> {
        DocReader::with_config(source, &ParseConfig::default())
    }

    /// A reader with explicit limits.
    pub fn with_config(source: R, config: &ParseConfig) -> DocReader<R> {
        let mut reader = Reader::from_reader(Limited {
            inner: source,
            left: config.max_size,
            exceeded: false,
            error: None,
        });
        reader.config_mut().trim_text(true);
        DocReader {
            reader,
            buf: Vec::new(),
            machine: Machine::new(config.max_depth),
            owned: Owned::default(),
            pending: VecDeque::new(),
            max_size: config.max_size,
            finished: false,
        }
    }

    /// The next event; `None` once the document has been read completely
    /// (after [`DocEvent::End`]). An error ends the document.
    pub fn next_event(&mut self) -> Result<Option<DocEvent>, ParseError> {
        loop {
            if let Some(ev) = self.pending.pop_front() {
                return Ok(Some(ev));
            }
            if self.finished {
                return Ok(None);
            }
            self.buf.clear();
            let start = self.reader.buffer_position();
            let event = self.reader.read_event_into(&mut self.buf);
            let limited = self.reader.get_ref();
            if limited.exceeded {
                self.finished = true;
                return Err(ParseError {
                    kind: ParseErrorKind::TooLarge(self.max_size),
                    position: self.max_size,
                });
            }
            if let Some(e) = &limited.error {
                self.finished = true;
                return Err(ParseError {
                    kind: ParseErrorKind::Io(e.clone()),
                    position: self.reader.buffer_position(),
                });
            }
            let event = match event {
                Ok(ev) => ev,
                Err(e) => {
                    self.finished = true;
                    return Err(xml_error(&self.reader, e));
                }
            };
            let eof = matches!(event, Event::Eof);
            let end = self.reader.buffer_position();
            let (pending, owned) = (&mut self.pending, &mut self.owned);
            let mut emit = |ev: EventRef<'_>| {
                if let Some(ev) = owned.convert(ev) {
                    pending.push_back(ev);
                }
            };
            let fed = self
                .machine
                .feed(&event, start, end, &mut emit)
                .and_then(|tag| match (tag, &event) {
                    (Some(tag), Event::Start(e) | Event::Empty(e)) => {
                        let content = std::str::from_utf8(e).map_err(|_| ParseError {
                            kind: ParseErrorKind::NotUtf8,
                            position: tag.pos,
                        })?;
                        self.machine.element(content, content, tag, &mut emit)
                    }
                    _ => Ok(()),
                });
            if let Err(e) = fed {
                self.finished = true;
                return Err(e);
            }
            if eof {
                self.finished = true;
            }
        }
    }

    /// Reads the rest of the document into a [`Response`].
    pub fn into_response(mut self) -> Result<Response, ParseError> {
        let mut builder = Builder::default();
        while let Some(ev) = self.next_event()? {
            builder.push(ev);
        }
        builder.finish(self.reader.buffer_position())
    }
}

/// A `BufRead` that stops at a byte budget and remembers whether the
/// source had more (the parser then reports [`ParseErrorKind::TooLarge`]
/// instead of a misleading "unexpected end").
#[derive(Debug)]
struct Limited<R> {
    inner: R,
    left: u64,
    exceeded: bool,
    /// A read error, kept as text so the parser can report it typed.
    error: Option<String>,
}

impl<R: BufRead> Read for Limited<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let avail = self.fill_buf()?;
        let n = avail.len().min(buf.len());
        buf[..n].copy_from_slice(&avail[..n]);
        self.consume(n);
        Ok(n)
    }
}

impl<R: BufRead> BufRead for Limited<R> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        let left = self.left;
        let buf = match self.inner.fill_buf() {
            Ok(b) => b,
            Err(e) => {
                self.error = Some(e.to_string());
                return Err(e);
            }
        };
        if left == 0 {
            if !buf.is_empty() {
                self.exceeded = true;
            }
            return Ok(&[]);
        }
        let n = usize::try_from(left).unwrap_or(usize::MAX).min(buf.len());
        Ok(&buf[..n])
    }

    fn consume(&mut self, amt: usize) {
        self.left = self.left.saturating_sub(amt as u64);
        self.inner.consume(amt);
    }
}

fn xml_error<R>(reader: &Reader<R>, e: quick_xml::Error) -> ParseError {
    ParseError {
        kind: match e {
            quick_xml::Error::Io(io) => ParseErrorKind::Io(io.to_string()),
            quick_xml::Error::Encoding(_) => ParseErrorKind::NotUtf8,
            other => ParseErrorKind::Xml(other.to_string()),
        },
        position: reader.error_position(),
    }
}

/// Turns borrowed events into owned [`DocEvent`]s, gathering the pieces
/// of a row into one [`DocEvent::Row`].
#[derive(Debug, Default)]
struct Owned {
    row: Option<Row>,
    /// Items in the last row completed: rows of a table are alike, so the
    /// next one is sized for as many.
    width: usize,
}

impl Owned {
    fn convert(&mut self, ev: EventRef<'_>) -> Option<DocEvent> {
        Some(match ev {
            EventRef::Begin {
                faults,
                server,
                service,
            } => DocEvent::Begin {
                faults,
                server: server.into_owned(),
                service: service.into_owned(),
            },
            EventRef::Result(f) => DocEvent::Result(f.into_owned()),
            EventRef::BeginLists(id) => DocEvent::BeginLists(Text::from(id)),
            EventRef::BeginRow(id) => {
                self.row = Some(Row::new(id, Vec::with_capacity(self.width)));
                return None;
            }
            EventRef::Item(f) => {
                if let Some(row) = &mut self.row {
                    row.items.push(f.into_owned());
                }
                return None;
            }
            EventRef::EndRow => {
                let row = self.row.take()?;
                self.width = row.items.len();
                DocEvent::Row(row)
            }
            EventRef::EndLists => DocEvent::EndLists,
            EventRef::Fault(f) => DocEvent::Fault(f.into_owned()),
            EventRef::Ignored(i) => DocEvent::Ignored(i),
            EventRef::End => DocEvent::End,
        })
    }
}

/// Collects events into a [`Response`]: the events of [`parse`] (through
/// [`Sink`], leaf values straight from the document into the packed text)
/// and the owned events of [`DocReader::into_response`].
#[derive(Default)]
struct Builder<'t> {
    /// The document, when parsing one held in memory (to size tables).
    text: &'t str,
    /// Where the open table's first row starts in `text`.
    first_row: Option<usize>,
    server: String,
    service: String,
    ignored: Vec<Ignored>,
    packed: Packed,
}

impl<'t> Builder<'t> {
    /// A builder for the document `text`, held in memory: every id and
    /// value comes from it and decoding only shortens, so the packed text
    /// never outgrows it.
    fn for_document(text: &'t str) -> Builder<'t> {
        let mut b = Builder {
            text,
            ..Builder::default()
        };
        b.packed.text.reserve(text.len());
        b
    }

    /// A raw attribute value into the packed text, decoded if it needs to
    /// be (straight into the text: no string of its own).
    #[inline(always)]
    fn put_raw(&mut self, tag: &Tag<'_>, raw: Raw<'_>) -> Result<Span, ParseError> {
        if raw.form == Form::Plain {
            return Ok(self.packed.put(raw.text));
        }
        let start = self.packed.text.len();
        if decode_common(raw.text, &mut self.packed.text) {
            return Ok(self.packed.appended(start));
        }
        self.packed.text.truncate(start);
        let decoded = decode_any(raw.text).map_err(|k| tag.fail(k))?;
        Ok(self.packed.put(&decoded))
    }

    fn begin(&mut self, faults: bool, server: String, service: String) {
        self.server = server;
        self.service = service;
        self.packed.faults = faults;
    }

    /// A leaf whose id and value are already in the packed text.
    #[inline(always)]
    fn place(&mut self, leaf: Leaf, id: Span, value: Span) {
        match leaf {
            Leaf::Item => self.packed.item(id, value),
            Leaf::Result => self.packed.result(id, value),
            Leaf::Fault => self.packed.fault(id, value),
        }
    }

    /// A leaf from its id and value.
    fn leaf(&mut self, leaf: Leaf, id: &str, value: &str) {
        let (id, value) = self.packed.put_pair(id, value);
        self.place(leaf, id, value);
    }

    /// A borrowed event. (The machine hands [`parse`]'s leaves to
    /// [`Sink::field`] instead, as raw values.)
    fn push_ref(&mut self, ev: EventRef<'_>) {
        match ev {
            EventRef::BeginRow(id) => {
                if self.packed.in_table() {
                    self.size_table(&id);
                }
                let id = self.packed.put(&id);
                self.packed.begin_row(id);
            }
            EventRef::BeginLists(id) => {
                self.first_row = None;
                let id = self.packed.put(&id);
                self.packed.begin_lists(id);
            }
            EventRef::Result(f) => self.leaf(Leaf::Result, &f.id, &f.value),
            EventRef::Item(f) => self.leaf(Leaf::Item, &f.id, &f.value),
            EventRef::Fault(f) => self.leaf(Leaf::Fault, &f.id, &f.value),
            EventRef::Begin {
                faults,
                server,
                service,
            } => self.begin(faults, server.into_owned(), service.into_owned()),
            EventRef::Ignored(i) => self.ignored.push(i),
            EventRef::EndRow | EventRef::EndLists | EventRef::End => {}
        }
    }

    /// Sizes a table from its first row, as its first and second rows
    /// begin (`id` being the id of the row beginning). Rows of a table
    /// are alike, so the bytes left in the document divided by the first
    /// row's length bound how many rows follow: reserving that many rows
    /// and cells at once saves growing them a dozen times through a long
    /// table, each time into fresh memory. Only ids that are slices of
    /// the document tell where rows are.
    fn size_table(&mut self, id: &str) {
        let Some(table) = self.packed.tables.last() else {
            return;
        };
        let rows = table.len();
        if rows >= 2 {
            return;
        }
        let Some(at) = range_within(self.text.as_bytes(), id.as_bytes()).map(|r| r.start) else {
            return;
        };
        if rows == 0 {
            self.first_row = Some(at);
            return;
        }
        let Some(stride) = self
            .first_row
            .and_then(|first| at.checked_sub(first))
            .filter(|&s| s > 0)
        else {
            return;
        };
        let more = self.text.len().saturating_sub(at) / stride + 1;
        let width = self.packed.rows.last().map_or(0, Group::len);
        self.packed.rows.reserve(more);
        self.packed.cells.reserve(more * width);
    }

    fn push(&mut self, ev: DocEvent) {
        match ev {
            DocEvent::Begin {
                faults,
                server,
                service,
            } => self.begin(faults, server, service),
            DocEvent::Result(f) => self.leaf(Leaf::Result, &f.id, &f.value),
            DocEvent::BeginLists(id) => {
                let id = self.packed.put(&id);
                self.packed.begin_lists(id);
            }
            DocEvent::Row(row) => {
                let id = self.packed.put(&row.id);
                self.packed.begin_row(id);
                for f in &row.items {
                    self.leaf(Leaf::Item, &f.id, &f.value);
                }
            }
            DocEvent::Fault(f) => self.leaf(Leaf::Fault, &f.id, &f.value),
            DocEvent::Ignored(i) => self.ignored.push(i),
            DocEvent::EndLists | DocEvent::End => {}
        }
    }

    fn finish(mut self, position: u64) -> Result<Response, ParseError> {
        if self.packed.overflow {
            return Err(ParseError {
                kind: ParseErrorKind::TooLarge(u64::from(u32::MAX)),
                position,
            });
        }
        // Give back what was reserved beyond need.
        fn trim<T>(v: &mut Vec<T>) {
            if v.capacity() > v.len() + v.len() / 4 + 4 {
                v.shrink_to_fit();
            }
        }
        let p = &mut self.packed;
        if p.text.capacity() > 2 * p.text.len() + 64 {
            p.text.shrink_to_fit();
        }
        trim(&mut p.rows);
        trim(&mut p.cells);
        Ok(Response {
            server: self.server,
            service: self.service,
            ignored: self.ignored,
            packed: self.packed,
        })
    }
}

impl<'s> Sink<'s> for Builder<'_> {
    fn event(&mut self, ev: EventRef<'s>) {
        self.push_ref(ev);
    }

    /// Leaf values go straight from the document into the packed text.
    #[inline(always)]
    fn field(
        &mut self,
        leaf: Leaf,
        tag: &Tag<'s>,
        id: Raw<'s>,
        value: Raw<'s>,
    ) -> Result<(), ParseError> {
        let id = self.put_raw(tag, id)?;
        let value = self.put_raw(tag, value)?;
        self.place(leaf, id, value);
        Ok(())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ctx {
    Root,
    Results,
    Faults,
    Lists,
    List,
    /// A known leaf (`result`, `item`, `fault`) written with an end tag.
    Leaf,
    Unknown,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Prolog,
    Inside,
    Epilog,
}

/// The dialect's rules over quick-xml events; shared by [`Events`] (slice,
/// events borrowed from the input) and [`DocReader`] (buffered events).
#[derive(Debug)]
struct Machine {
    max_depth: usize,
    phase: Phase,
    stack: Vec<Ctx>,
    body_seen: bool,
}

impl Machine {
    fn new(max_depth: usize) -> Machine {
        Machine {
            max_depth,
            phase: Phase::Prolog,
            stack: Vec::with_capacity(8),
            body_seen: false,
        }
    }

    /// Takes one quick-xml event (bytes `pos..end` of the input) and
    /// emits what it means, except for a start tag: then it returns
    /// where the tag is, for the caller to hand its text to
    /// [`element`](Self::element) (so the text can live as long as the
    /// caller has it: the whole input for [`Events`], one event for
    /// [`DocReader`]).
    fn feed<'s>(
        &mut self,
        event: &Event<'_>,
        pos: u64,
        end: u64,
        emit: &mut impl Sink<'s>,
    ) -> Result<Option<StartTag>, ParseError> {
        let err = |kind| {
            Err(ParseError {
                kind,
                position: pos,
            })
        };
        match event {
            // `pos` is where the previous event ended; the element itself
            // starts after any blank text trimmed away in between.
            Event::Start(e) => Ok(Some(StartTag {
                empty: false,
                name_len: e.name().as_ref().len(),
                pos: end.saturating_sub(e.len() as u64 + 2),
            })),
            Event::Empty(e) => Ok(Some(StartTag {
                empty: true,
                name_len: e.name().as_ref().len(),
                pos: end.saturating_sub(e.len() as u64 + 3),
            })),
            Event::End(_) => {
                match self.stack.pop() {
                    Some(Ctx::List) => emit.event(EventRef::EndRow),
                    Some(Ctx::Lists) => emit.event(EventRef::EndLists),
                    Some(Ctx::Root) => {
                        if !self.body_seen {
                            return err(ParseErrorKind::Structure(
                                "neither <results> nor <faults>",
                            ));
                        }
                        self.phase = Phase::Epilog;
                        emit.event(EventRef::End);
                    }
                    Some(_) => {}
                    None => return err(ParseErrorKind::Xml("unmatched end tag".into())),
                }
                Ok(None)
            }
            Event::Text(_) | Event::CData(_) | Event::GeneralRef(_) => {
                // Blank text never arrives (trim_text).
                match self.phase {
                    Phase::Inside => {
                        if self.stack.last() != Some(&Ctx::Unknown) {
                            emit.event(EventRef::Ignored(Ignored::Text { position: pos }));
                        }
                        Ok(None)
                    }
                    _ => err(ParseErrorKind::Structure("text outside the document")),
                }
            }
            Event::Eof => match self.phase {
                Phase::Prolog => err(ParseErrorKind::Empty),
                Phase::Inside => err(ParseErrorKind::Xml(
                    "unexpected end of input inside the document".into(),
                )),
                Phase::Epilog => Ok(None),
            },
            Event::Decl(_) | Event::PI(_) | Event::Comment(_) | Event::DocType(_) => Ok(None),
        }
    }

    /// A start tag (`<name attributes>` or `<name attributes/>`) whose
    /// text between the angle brackets is `content`, which lies inside
    /// `window` (the whole document, or just `content`): the value checks
    /// may read ahead in it (see [`needs_decoding`]).
    fn element<'s>(
        &mut self,
        content: &'s str,
        window: &'s str,
        start: StartTag,
        emit: &mut impl Sink<'s>,
    ) -> Result<(), ParseError> {
        let StartTag {
            empty,
            name_len,
            pos,
        } = start;
        let fail = |kind| ParseError {
            kind,
            position: pos,
        };
        let tag = Tag {
            content,
            window,
            name_len,
            pos,
        };
        let name = content.as_bytes().get(..name_len).unwrap_or_default();
        let parent = match self.phase {
            Phase::Epilog => {
                return Err(fail(ParseErrorKind::Structure(
                    "content after the document",
                )))
            }
            Phase::Prolog => {
                if name != b"serverResponse" {
                    return Err(fail(ParseErrorKind::NotServerResponse(
                        String::from_utf8_lossy(name).into_owned(),
                    )));
                }
                if empty {
                    return Err(fail(ParseErrorKind::Structure(
                        "neither <results> nor <faults>",
                    )));
                }
                self.phase = Phase::Inside;
                self.stack.push(Ctx::Root);
                return Ok(());
            }
            Phase::Inside => *self.stack.last().unwrap_or(&Ctx::Unknown),
        };
        if self.stack.len() >= self.max_depth {
            return Err(fail(ParseErrorKind::TooDeep(self.max_depth)));
        }
        let ctx = match (parent, name) {
            (Ctx::Root, b"results" | b"faults") => {
                if self.body_seen {
                    return Err(fail(ParseErrorKind::Structure(
                        "more than one <results>/<faults>",
                    )));
                }
                self.body_seen = true;
                let faults = name == b"faults";
                let element = if faults { "faults" } else { "results" };
                let [server, service] = tag.attributes(element, &[SERVER, SERVICE], emit)?;
                emit.event(EventRef::Begin {
                    faults,
                    server: tag.value(server.unwrap_or_default())?,
                    service: tag.value(service.unwrap_or_default())?,
                });
                if faults {
                    Ctx::Faults
                } else {
                    Ctx::Results
                }
            }
            (Ctx::Results, b"result") => {
                tag.field(Leaf::Result, emit)?;
                Ctx::Leaf
            }
            (Ctx::Faults, b"fault") => {
                tag.field(Leaf::Fault, emit)?;
                Ctx::Leaf
            }
            (Ctx::Results, b"lists") => {
                tag.container(
                    "lists",
                    EventRef::BeginLists,
                    EventRef::EndLists,
                    empty,
                    emit,
                )?;
                Ctx::Lists
            }
            (Ctx::Lists, b"list") => {
                tag.container("list", EventRef::BeginRow, EventRef::EndRow, empty, emit)?;
                Ctx::List
            }
            (Ctx::List, b"item") => {
                tag.field(Leaf::Item, emit)?;
                Ctx::Leaf
            }
            (Ctx::Unknown, _) => Ctx::Unknown,
            _ => {
                emit.event(EventRef::Ignored(Ignored::Element {
                    name: String::from_utf8_lossy(name).into_owned(),
                    position: pos,
                }));
                Ctx::Unknown
            }
        };
        if !empty {
            self.stack.push(ctx);
        }
        Ok(())
    }
}

/// The leaf elements: an `id`/`value` pair each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Leaf {
    Result,
    Item,
    Fault,
}

impl Leaf {
    fn element(self) -> &'static str {
        match self {
            Leaf::Result => "result",
            Leaf::Item => "item",
            Leaf::Fault => "fault",
        }
    }
}

/// Where [`Machine`] sends what it reads: any `FnMut(EventRef)` (the
/// view, [`DocReader`]), or a builder that takes the raw values of leaf
/// elements straight into the model ([`parse`]), without the borrowed
/// event in between.
trait Sink<'s> {
    /// One event.
    fn event(&mut self, ev: EventRef<'s>);

    /// A leaf element read from `tag` (which decodes, and places errors).
    #[inline]
    fn field(
        &mut self,
        leaf: Leaf,
        tag: &Tag<'s>,
        id: Raw<'s>,
        value: Raw<'s>,
    ) -> Result<(), ParseError> {
        let f = FieldRef {
            id: tag.value(id)?,
            value: tag.value(value)?,
        };
        self.event(match leaf {
            Leaf::Result => EventRef::Result(f),
            Leaf::Item => EventRef::Item(f),
            Leaf::Fault => EventRef::Fault(f),
        });
        Ok(())
    }
}

impl<'s, F: FnMut(EventRef<'s>)> Sink<'s> for F {
    #[inline]
    fn event(&mut self, ev: EventRef<'s>) {
        self(ev)
    }
}

/// Where a start tag is, as [`Machine::feed`] reports it.
#[derive(Debug, Clone, Copy)]
struct StartTag {
    /// `<name/>`: no end tag follows.
    empty: bool,
    /// The length of the name at the start of the tag's text.
    name_len: usize,
    /// The byte offset of its `<`.
    pos: u64,
}

/// A start tag being read: its text, where its name ends, where it is.
struct Tag<'s> {
    content: &'s str,
    /// Text around `content` that the value scan may read ahead in (see
    /// [`scan_value`]): the whole document, or `content` itself.
    window: &'s str,
    name_len: usize,
    pos: u64,
}

impl<'s> Tag<'s> {
    fn fail(&self, kind: ParseErrorKind) -> ParseError {
        ParseError {
            kind,
            position: self.pos,
        }
    }

    // The rare paths, kept out of the loop over attributes.
    #[cold]
    fn bad_attribute(&self, e: quick_xml::events::attributes::AttrError) -> ParseError {
        self.fail(ParseErrorKind::Xml(e.to_string()))
    }

    #[cold]
    fn duplicate(&self, key: &[u8]) -> ParseError {
        self.fail(ParseErrorKind::Xml(format!(
            "duplicate attribute {}",
            String::from_utf8_lossy(key)
        )))
    }

    #[cold]
    fn ignored(&self, element: &'static str, key: &[u8]) -> EventRef<'s> {
        EventRef::Ignored(Ignored::Attribute {
            element: element.to_string(),
            name: String::from_utf8_lossy(key).into_owned(),
            position: self.pos,
        })
    }

    /// Reads `id` and `value` of a leaf element and hands them on.
    #[inline]
    fn field(&self, leaf: Leaf, emit: &mut impl Sink<'s>) -> Result<(), ParseError> {
        let element = leaf.element();
        let [id, value] = self.attributes(element, &[ID, VALUE], emit)?;
        let id = id.ok_or_else(|| self.fail(ParseErrorKind::MissingId { element }))?;
        emit.field(leaf, self, id, value.unwrap_or_default())
    }

    /// Opens a container element (a table or a row) with its `id`, and
    /// closes it at once when it is written empty (`<list id="r"/>`).
    fn container(
        &self,
        element: &'static str,
        begin: fn(Cow<'s, str>) -> EventRef<'s>,
        end: EventRef<'s>,
        empty: bool,
        emit: &mut impl Sink<'s>,
    ) -> Result<(), ParseError> {
        let id = self.id_only(element, emit)?;
        emit.event(begin(id));
        if empty {
            emit.event(end);
        }
        Ok(())
    }

    /// Reads the `id` of a container element.
    fn id_only(
        &self,
        element: &'static str,
        emit: &mut impl Sink<'s>,
    ) -> Result<Cow<'s, str>, ParseError> {
        let [id] = self.attributes(element, &[ID], emit)?;
        self.value(id.ok_or_else(|| self.fail(ParseErrorKind::MissingId { element }))?)
    }

    /// Reads the wanted attributes (raw), `slot` telling which is
    /// which; reports the others as ignored.
    #[inline(always)]
    fn attributes<const N: usize>(
        &self,
        element: &'static str,
        keys: &[Key; N],
        emit: &mut impl Sink<'s>,
    ) -> Result<[Option<Raw<'s>>; N], ParseError> {
        if let Some(found) = self.canonical_attributes(keys) {
            return Ok(found);
        }
        self.any_attributes(element, keys, emit)
    }

    /// The attributes when they have the canonical shape, the one our
    /// writer and Bayonne's write: ` key="value"` for each of `keys`, in
    /// that order, nothing after but blanks. `None` for anything else,
    /// which [`any_attributes`](Self::any_attributes) then reads with
    /// quick-xml's iterator; for every tag this accepts, that iterator
    /// yields the same keys and values (a test holds them to it).
    ///
    /// quick-xml has already found the tag and its name; only the split
    /// of its attributes is recognised here, in one pass that also finds
    /// whether a value needs decoding, where the general iterator costs
    /// more than all of the dialect's own rules.
    #[inline(always)]
    fn canonical_attributes<const N: usize>(
        &self,
        keys: &[Key; N],
    ) -> Option<[Option<Raw<'s>>; N]> {
        let window = self.window.as_bytes();
        let tag = range_within(window, self.content.as_bytes())?;
        let mut out = [None; N];
        let mut at = tag.start + self.name_len;
        for (slot, key) in out.iter_mut().zip(keys) {
            let open = at + key.head.len();
            if open > tag.end || !key.starts(window, at) {
                return None;
            }
            let (len, plain) = scan_value(window, open)?;
            let close = open + len;
            if close >= tag.end {
                return None;
            }
            *slot = Some(Raw {
                text: self.window.get(open..close)?,
                form: if plain { Form::Plain } else { Form::Encoded },
            });
            at = close + 1;
        }
        window
            .get(at..tag.end)?
            .iter()
            .all(|b| matches!(b, b' ' | b'\t' | b'\n' | b'\r'))
            .then_some(out)
    }

    /// Every other tag: quick-xml's attribute iterator, the unknown
    /// attributes reported, the wanted ones checked for duplicates.
    #[inline(never)]
    fn any_attributes<const N: usize>(
        &self,
        element: &'static str,
        keys: &[Key; N],
        emit: &mut impl Sink<'s>,
    ) -> Result<[Option<Raw<'s>>; N], ParseError> {
        // Raw values only: decoding waits until every attribute has been
        // read, so the loop moves nothing larger than a slice.
        let mut out: [Option<Raw<'s>>; N] = [None; N];
        let mut attrs = Attributes::new(self.content, self.name_len);
        // quick-xml's own duplicate check allocates for every element; the
        // attributes that matter are checked here instead (a repeated
        // unknown attribute is not an error).
        attrs.with_checks(false);
        for attr in attrs {
            let attr = attr.map_err(|e| self.bad_attribute(e))?;
            let key = attr.key.as_ref();
            let Some(found) = keys
                .iter()
                .position(|k| k.name() == key)
                .and_then(|i| out.get_mut(i))
            else {
                emit.event(self.ignored(element, key));
                continue;
            };
            if found.is_some() {
                return Err(self.duplicate(key));
            }
            // The value lies inside `content`, which is UTF-8.
            let text = within(self.content, &attr.value)
                .ok_or_else(|| self.fail(ParseErrorKind::NotUtf8))?;
            *found = Some(Raw {
                text,
                form: if text.bytes().any(special_in_value) {
                    Form::Encoded
                } else {
                    Form::Plain
                },
            });
        }
        Ok(out)
    }

    /// A raw attribute value, decoded if it needs to be.
    #[inline]
    fn value(&self, raw: Raw<'s>) -> Result<Cow<'s, str>, ParseError> {
        if raw.form == Form::Plain {
            Ok(Cow::Borrowed(raw.text))
        } else {
            decode_value(raw.text)
                .map(Cow::Owned)
                .map_err(|k| self.fail(k))
        }
    }
}

/// A wanted attribute: its name, as the canonical shape writes it
/// before the value (` id="`).
#[derive(Debug, Clone, Copy)]
struct Key {
    head: &'static [u8],
    /// The head's first 8 bytes as a little-endian word (zero-padded),
    /// and the mask of those that count.
    word: u64,
    mask: u64,
}

impl Key {
    const fn new(head: &'static [u8]) -> Key {
        let mut word = 0u64;
        let mut mask = 0u64;
        let mut i = 0;
        while i < head.len() && i < 8 {
            word |= (head[i] as u64) << (8 * i);
            mask |= 0xFF << (8 * i);
            i += 1;
        }
        Key { head, word, mask }
    }

    /// The attribute's name.
    fn name(&self) -> &'static [u8] {
        self.head.get(1..self.head.len() - 2).unwrap_or_default()
    }

    /// Whether `window` holds the head at `at`: one word compare for
    /// heads of up to 8 bytes (reading past the head when the window has
    /// the bytes), a slice compare otherwise.
    #[inline]
    fn starts(&self, window: &[u8], at: usize) -> bool {
        if self.head.len() <= 8 {
            if let Some(w) = window.get(at..at + 8) {
                if let Ok(w) = <[u8; 8]>::try_from(w) {
                    return u64::from_le_bytes(w) & self.mask == self.word;
                }
            }
        }
        window.get(at..at + self.head.len()) == Some(self.head)
    }
}

const ID: Key = Key::new(b" id=\"");
const VALUE: Key = Key::new(b" value=\"");
const SERVER: Key = Key::new(b" server=\"");
const SERVICE: Key = Key::new(b" service=\"");

/// A raw attribute value, and whether it can be used as it is.
#[derive(Debug, Clone, Copy)]
struct Raw<'s> {
    text: &'s str,
    form: Form,
}

/// Whether a raw value can be used as it is: plain means no `&` and no
/// byte below 0x20 (see [`special_in_value`]). A word, not a `bool`: the
/// padding after a `bool` made every copy of the attribute array load
/// bytes that were just stored in pieces, which stalled the load.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(usize)]
enum Form {
    Plain,
    Encoded,
}

impl Default for Raw<'_> {
    /// An absent attribute: the empty string.
    fn default() -> Self {
        Raw {
            text: "",
            form: Form::Plain,
        }
    }
}

/// Whether a byte of a raw attribute value means the value must go
/// through [`decode_value`]: a `&` (an entity or a character reference),
/// or a byte below 0x20 (tab, LF and CR, which XML reads as spaces, and
/// the other control characters, which the slow path leaves as they
/// are).
#[inline]
fn special_in_value(b: u8) -> bool {
    b < 0x20 || b == b'&'
}

/// `part` as a slice of `text` when it lies inside it: the text is known
/// to be UTF-8, so this skips a second check.
fn within<'t>(text: &'t str, part: &[u8]) -> Option<&'t str> {
    text.get(range_within(text.as_bytes(), part)?)
}

/// Scans a double-quoted attribute value that starts at `from` in
/// `window` for its closing quote: its length, and whether it is plain
/// (nothing [`special_in_value`] before the quote). `None` without a
/// closing quote.
///
/// Eight bytes at a time, with the classic "has a byte less than n" and
/// "has a byte equal to c" word tricks; in each, the lowest flagged byte
/// is always a true match (the false ones come only from borrows out of
/// a true match below them), so the first quote or special byte is found
/// exactly. Most values are shorter than a word: one load, one test.
#[inline]
fn scan_value(window: &[u8], from: usize) -> Option<(usize, bool)> {
    const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
    const HIGH: u64 = u64::from_ne_bytes([0x80; 8]);
    const SPACE: u64 = u64::from_ne_bytes([0x20; 8]);
    let equal = |x: u64, c: u8| {
        let y = x ^ u64::from_ne_bytes([c; 8]);
        y.wrapping_sub(ONES) & !y & HIGH
    };
    let mut i = from;
    let first = loop {
        match window
            .get(i..i + 8)
            .and_then(|w| <[u8; 8]>::try_from(w).ok())
        {
            Some(word) => {
                let x = u64::from_le_bytes(word);
                let hits = x.wrapping_sub(SPACE) & !x & HIGH | equal(x, b'"') | equal(x, b'&');
                if hits != 0 {
                    break i + (hits.trailing_zeros() / 8) as usize;
                }
                i += 8;
            }
            // The last bytes of the window, one by one.
            None => {
                let rest = window.get(i..)?;
                break i + rest
                    .iter()
                    .position(|&b| b == b'"' || special_in_value(b))?;
            }
        }
    };
    if window.get(first) == Some(&b'"') {
        return Some((first - from, true));
    }
    let quote = memchr::memchr(b'"', window.get(first..)?)?;
    Some((first + quote - from, false))
}

/// Decodes a raw attribute value that is not plain (see
/// [`special_in_value`]).
#[inline(never)]
fn decode_value(raw: &str) -> Result<String, ParseErrorKind> {
    let mut out = String::with_capacity(raw.len());
    if decode_common(raw, &mut out) {
        return Ok(out);
    }
    decode_any(raw)
}

/// Decodes the usual values in one pass, appending to `out`: those whose
/// only entities are the five XML predefines, with tabs and line breaks
/// read as spaces (a CR LF pair as one). `false` for anything else (a
/// character reference, an unknown or unterminated entity; `out` then
/// holds a part to cut off), which [`decode_any`] then handles with
/// quick-xml's full rules and errors.
fn decode_common(raw: &str, out: &mut String) -> bool {
    let mut rest = raw;
    loop {
        let Some(at) = rest
            .bytes()
            .position(|b| matches!(b, b'&' | b'\t' | b'\n' | b'\r'))
        else {
            out.push_str(rest);
            return true;
        };
        out.push_str(&rest[..at]);
        let special = rest.as_bytes()[at];
        rest = &rest[at + 1..];
        match special {
            b'&' => {
                let (ch, len) = match rest.as_bytes() {
                    [b'a', b'm', b'p', b';', ..] => ('&', 4),
                    [b'l', b't', b';', ..] => ('<', 3),
                    [b'g', b't', b';', ..] => ('>', 3),
                    [b'q', b'u', b'o', b't', b';', ..] => ('"', 5),
                    [b'a', b'p', b'o', b's', b';', ..] => ('\'', 5),
                    _ => return false,
                };
                out.push(ch);
                rest = &rest[len..];
            }
            b'\r' => {
                out.push(' ');
                rest = rest.strip_prefix('\n').unwrap_or(rest);
            }
            _ => out.push(' '),
        }
    }
}

/// Every other value: whitespace normalised, then quick-xml's unescaping
/// (character references, and its errors for a bad entity).
#[cold]
#[inline(never)]
fn decode_any(raw: &str) -> Result<String, ParseErrorKind> {
    let normalised;
    let text = if raw.bytes().any(|b| matches!(b, b'\t' | b'\n' | b'\r')) {
        normalised = raw.replace("\r\n", " ").replace(['\r', '\n', '\t'], " ");
        normalised.as_str()
    } else {
        raw
    };
    quick_xml::escape::unescape(text)
        .map(Cow::into_owned)
        .map_err(|e| ParseErrorKind::Xml(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scan_value_finds_the_quote_and_every_special_byte_at_every_offset() {
        // `check(v)` scans `v"` alone (the last bytes read one by one)
        // and inside windows whose bytes around it are special or quotes
        // (read as words): the answers must agree, and the length is
        // always the value's.
        fn check(v: &[u8]) -> bool {
            let alone = scan_value(&[v, b"\""].concat(), 0);
            assert_eq!(alone.map(|(len, _)| len), Some(v.len()), "{v:?}");
            for around in [
                &b"&\n\t\0&\r\x1f&&"[..],
                b"\"\"\"\"\"\"\"\"\"",
                b"aaaaaaaaaaaaaaaaa",
            ] {
                let window = [around, v, b"\"", around].concat();
                assert_eq!(scan_value(&window, around.len()), alone, "{v:?}");
            }
            alone.is_some_and(|(_, plain)| plain)
        }
        for len in 0..20 {
            assert!(check(&vec![b'a'; len]));
            assert!(check("é€ ~\u{7f}'".repeat(len).as_bytes()));
            for at in 0..len {
                for special in [b'&', b'\t', b'\n', b'\r', 0x00, 0x1F] {
                    let mut v = vec![b'a'; len];
                    v[at] = special;
                    assert!(!check(&v), "{v:?}");
                }
                // Neighbours of the special bytes are plain.
                for plain in [b' ', b'\'', b'%', b'!', b'#', 0x7F, 0x80, 0xFF] {
                    let mut v = vec![b'a'; len];
                    v[at] = plain;
                    assert!(check(&v), "{v:?}");
                }
            }
        }
        // No closing quote: none.
        assert_eq!(scan_value(b"abc", 0), None);
        assert_eq!(scan_value(b"a&bcdefghijklmnop", 0), None);
    }

    #[test]
    fn the_canonical_attributes_are_what_quick_xml_reads() {
        // Every attribute text built from these pieces, up to five of
        // them, after the name `item`: wherever the fast split accepts
        // it, quick-xml's iterator must read the same values under the
        // same keys, in order, and nothing else; and the fast split must
        // accept the usual shapes.
        let pieces = [
            " id=\"",
            " value=\"",
            "x\"",
            "x",
            "\"",
            " ",
            "\t",
            "id",
            "=",
            "'",
            "&amp;",
            "\n",
        ];
        let mut texts = vec![String::new()];
        for _ in 0..5 {
            let longer: Vec<String> = texts
                .iter()
                .flat_map(|t| pieces.iter().map(move |p| format!("{t}{p}")))
                .collect();
            texts.extend(longer);
        }
        texts.push(" id=\"a\" value=\"b\"".into());
        texts.push(" id=\"driver\" value=\"friend &amp; family\"".into());
        let mut accepted = 0;
        for text in &texts {
            let content = format!("item{text}");
            let document = format!("<{content}/>");
            for window in [content.as_str(), document.as_str()] {
                let tag = Tag {
                    content: &window[window.find("item").unwrap_or(0)..][..content.len()],
                    window,
                    name_len: 4,
                    pos: 0,
                };
                let Some(fast) = tag.canonical_attributes(&[ID, VALUE]) else {
                    continue;
                };
                accepted += 1;
                let mut attrs = Attributes::new(&content, 4);
                attrs.with_checks(false);
                let read: Vec<(Vec<u8>, String)> = attrs
                    .map(|a| {
                        let a = a.unwrap_or_else(|e| panic!("{content:?}: {e}"));
                        (
                            a.key.as_ref().to_vec(),
                            String::from_utf8(a.value.to_vec()).unwrap(),
                        )
                    })
                    .collect();
                let fast: Vec<(Vec<u8>, String)> = [b"id".to_vec(), b"value".to_vec()]
                    .into_iter()
                    .zip(fast)
                    .map(|(k, raw)| {
                        let raw = raw.unwrap();
                        let plain = !raw.text.bytes().any(special_in_value);
                        assert_eq!(raw.form == Form::Plain, plain);
                        (k, raw.text.to_string())
                    })
                    .collect();
                assert_eq!(read, fast, "{content:?}");
            }
        }
        assert!(accepted > 500, "{accepted}");
    }

    #[test]
    fn the_common_decoder_agrees_with_quick_xml() {
        // Every value built from these pieces, up to three of them: the
        // one-pass decoder must give what the full path gives, or leave
        // the value to it.
        let pieces = [
            "a", "é", " ", "\t", "\n", "\r", "\r\n", "&amp;", "&lt;", "&gt;", "&quot;", "&apos;",
            "&#38;", "&#x41;", "&", "&amp", "&nbsp;", ";",
        ];
        let mut values = vec![String::new()];
        for _ in 0..3 {
            let longer: Vec<String> = values
                .iter()
                .flat_map(|v| pieces.iter().map(move |p| format!("{v}{p}")))
                .collect();
            values.extend(longer);
        }
        let mut common = 0;
        for v in &values {
            let full = decode_any(v);
            // Appending to what is there already.
            let mut fast = String::from("before");
            if decode_common(v, &mut fast) {
                common += 1;
                assert_eq!(fast.strip_prefix("before"), full.as_deref().ok(), "{v:?}");
            }
            assert_eq!(decode_value(v), full, "{v:?}");
        }
        // The fast path is taken often enough to be tested here.
        assert!(common > values.len() / 4, "{common} of {}", values.len());
    }

    #[test]
    fn limited_reports_excess() {
        let mut l = Limited {
            inner: &b"abcdef"[..],
            left: 4,
            exceeded: false,
            error: None,
        };
        let mut s = String::new();
        l.read_to_string(&mut s).unwrap();
        assert_eq!(s, "abcd");
        assert!(l.exceeded);
    }
}
