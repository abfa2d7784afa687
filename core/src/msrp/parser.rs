//! The incremental MSRP parser.
//!
//! [`Parser::parse`] takes whatever bytes have arrived — a whole buffer or a
//! single byte — and returns at most one [`Event`] per call together with how
//! many input bytes it consumed:
//!
//! * [`Event::Start`] when the start line and headers of a chunk are complete,
//! * [`Event::Data`] for each slice of body bytes (borrowed from the input
//!   whenever possible, never accumulated),
//! * [`Event::End`] when the end-line `-------<tid><flag>` has been read.
//!
//! The start line and headers are copied into one reusable buffer (bounded by
//! [`ParserConfig::max_line_len`] and [`ParserConfig::max_headers`]); the
//! body is not buffered at all, apart from at most one partial end-line
//! (under 50 bytes) held back across calls. Memory use is therefore constant
//! whatever the body size.
//!
//! # Errors and recovery
//!
//! A violation returns a [`ParseError`] and the parser recovers by itself, so
//! the caller can keep feeding:
//!
//! * when the transaction id is known (bad header, too many headers, an
//!   over-long line, a body over the size limit) the rest of that chunk is
//!   skipped up to its own end-line, keeping the stream in step — the caller
//!   can answer the transaction with 400;
//! * otherwise (garbage line, bad transaction id, a body that runs past its
//!   Byte-Range without an end-line) input is skipped to the next line that
//!   starts with `MSRP `.
//!
//! # Leniency
//!
//! * Empty lines between chunks are ignored.
//! * A header may have no space after its colon (`Name:value`).
//! * Methods may contain `_` (sipsimple's `FILE_OFFSET`).
//! * [`ParserConfig::strict_byte_range`] decides how a body longer than its
//!   Byte-Range is treated; see there.

use memchr::memmem;

use super::chunk::{Chunk, ChunkKind, Flag, Headers};
use super::error::{ParseError, ParseErrorKind};
use super::header::{decode_byte_range, decode_byte_range_bytes, names, ByteRange};

/// Limits and leniency switches of a [`Parser`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParserConfig {
    /// Longest start line or header line accepted, in bytes, CRLF excluded.
    /// Default 16,384, the legacy library's limit.
    pub max_line_len: usize,
    /// Most header lines accepted in one chunk. Default 64, the legacy
    /// library's limit.
    pub max_headers: usize,
    /// Largest body accepted in one chunk, in bytes. Default 64 MiB: enough
    /// for any sane sender (RFC 4975 senders chunk large messages), small
    /// enough that a consumer collecting bodies in memory is safe. Raise it
    /// for streaming consumers: the parser itself never holds a body.
    pub max_body_len: u64,
    /// How to treat a body longer than its `Byte-Range` announces (only when
    /// the range end is known).
    ///
    /// `false` (default): accept up to four times the announced length.
    /// Senders that count characters instead of bytes (the legacy library
    /// given a `str`) and the RFC 4975 examples themselves get lengths wrong,
    /// but never by more than UTF-8's four bytes per character. Past that the
    /// end-line is taken to be missing or wrong and the parser resynchronises
    /// on the next start line instead of swallowing the following requests.
    ///
    /// `true`: the body may not exceed the announced length at all.
    pub strict_byte_range: bool,
}

impl Default for ParserConfig {
    fn default() -> Self {
        ParserConfig {
            max_line_len: 16 * 1024,
            max_headers: 64,
            max_body_len: 64 * 1024 * 1024,
            strict_byte_range: false,
        }
    }
}

/// One step of parsing (see [`Parser::parse`]).
#[derive(Debug, PartialEq, Eq)]
pub enum Event<'a> {
    /// The start line and headers of a chunk.
    Start(Head<'a>),
    /// A slice of the current chunk's body.
    Data(&'a [u8]),
    /// The end-line of the current chunk was read.
    End(Flag),
}

/// The start line and headers of a chunk being parsed.
///
/// Borrowed from the parser; call [`to_chunk`](Self::to_chunk) to keep it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Head<'a> {
    raw: &'a str,
    tid: &'a str,
    kind: HeadKind<'a>,
    headers: &'a [(Span, Span)],
    has_body: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum HeadKind<'a> {
    Request(&'a str),
    Response(u16, Option<&'a str>),
}

impl<'a> Head<'a> {
    /// The transaction id.
    pub fn transaction_id(&self) -> &'a str {
        self.tid
    }

    /// The method, for a request.
    pub fn method(&self) -> Option<&'a str> {
        match self.kind {
            HeadKind::Request(m) => Some(m),
            HeadKind::Response(..) => None,
        }
    }

    /// The status code, for a response.
    pub fn code(&self) -> Option<u16> {
        match self.kind {
            HeadKind::Response(c, _) => Some(c),
            HeadKind::Request(_) => None,
        }
    }

    /// The comment of a response, if any.
    pub fn comment(&self) -> Option<&'a str> {
        match self.kind {
            HeadKind::Response(_, c) => c,
            HeadKind::Request(_) => None,
        }
    }

    /// The headers as `(name, value)` in the order received.
    pub fn headers(&self) -> impl Iterator<Item = (&'a str, &'a str)> + 'a {
        let raw = self.raw;
        self.headers
            .iter()
            .map(move |(n, v)| (n.of(raw), v.of(raw)))
    }

    /// The value of the first header called `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&'a str> {
        self.headers()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    }

    /// The Byte-Range header (already validated by the parser).
    pub fn byte_range(&self) -> Option<ByteRange> {
        self.header(names::BYTE_RANGE).and_then(decode_byte_range)
    }

    /// Whether a body part follows (the headers ended with a blank line).
    pub fn has_body(&self) -> bool {
        self.has_body
    }

    /// The start line and headers exactly as received, including the blank
    /// line that opens a body.
    pub fn raw(&self) -> &'a str {
        self.raw
    }

    /// An owned [`Chunk`] with these headers, no data, and flag `$`.
    pub fn to_chunk(&self) -> Chunk {
        let kind = match self.kind {
            HeadKind::Request(m) => ChunkKind::Request {
                method: m.to_string(),
            },
            HeadKind::Response(code, comment) => ChunkKind::Response {
                code,
                comment: comment.map(str::to_string),
            },
        };
        Chunk {
            transaction_id: self.tid.to_string(),
            kind,
            headers: self
                .headers()
                .map(|(n, v)| (n.to_string(), v.to_string()))
                .collect::<Headers>(),
            data: bytes::Bytes::new(),
            flag: Flag::End,
        }
    }
}

/// A byte range inside the parser's head buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
struct Span(u32, u32);

impl Span {
    fn of(self, s: &str) -> &str {
        s.get(self.0 as usize..self.1 as usize).unwrap_or("")
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum StartKind {
    Method(Span),
    Status(u16, Option<Span>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Reading a start line (the head buffer holds its first bytes, if any).
    StartLine,
    /// Reading header lines.
    Headers,
    /// Reading body bytes, looking for the end-line.
    Body,
    /// The end-line was consumed; the next call reports [`Event::End`].
    EmitEnd(Flag),
    /// Discarding the rest of a rejected chunk up to its end-line.
    Skip,
    /// Discarding input up to a line that starts with `MSRP `.
    Resync { line_start: bool, matched: u8 },
}

/// What a parse step produced, before it is turned into a borrowed [`Event`].
enum Step {
    NeedMore,
    Start,
    DataInput(usize, usize),
    DataPending(usize),
    End(Flag),
}

const END_PREFIX: &[u8] = b"\r\n-------";
const MSRP_SP: &[u8] = b"MSRP ";

/// The incremental MSRP parser (see the module docs of `msrp::parser`).
///
/// ```
/// use msgwire::msrp::{Event, Flag, Parser};
///
/// let wire = b"MSRP abcd SEND\r\nTo-Path: msrp://b:1/s;tcp\r\nFrom-Path: msrp://a:1/t;tcp\r\n\
/// Content-Type: text/plain\r\n\r\nhello\r\n-------abcd$\r\n";
/// let mut parser = Parser::new();
/// let mut body = Vec::new();
/// // Feed one byte at a time: the events are the same as for one big slice.
/// for b in wire.chunks(1) {
///     let mut input = b;
///     loop {
///         let (used, ev) = parser.parse(input);
///         input = &input[used..];
///         match ev.unwrap() {
///             Some(Event::Start(head)) => assert_eq!(head.transaction_id(), "abcd"),
///             Some(Event::Data(d)) => body.extend_from_slice(d),
///             Some(Event::End(flag)) => assert_eq!(flag, Flag::End),
///             None => break,
///         }
///     }
/// }
/// assert_eq!(body, b"hello");
/// assert!(parser.finish().is_ok());
/// ```
#[derive(Debug, Clone)]
pub struct Parser {
    config: ParserConfig,
    state: State,
    /// Start line and header lines, CRLFs included, while being read.
    head: Vec<u8>,
    /// The same bytes once the head is complete and checked to be UTF-8.
    head_text: String,
    /// Offset in `head` where the line being read starts.
    line_start: usize,
    tid: Span,
    start: StartKind,
    headers: Vec<(Span, Span)>,
    has_body: bool,
    /// Most body bytes the chunk may have (size limit and Byte-Range).
    body_limit: u64,
    /// Whether `body_limit` comes from the Byte-Range check.
    body_limit_is_range: bool,
    declared_len: u64,
    body_len: u64,
    /// Held-back bytes that may be the start of the end-line.
    pending: Vec<u8>,
    /// How many leading bytes of `pending` were handed out as data and must
    /// be dropped on the next call.
    pending_emitted: usize,
    /// A limit error to raise on the next call (see `count_body`).
    deferred: Option<ParseErrorKind>,
    /// Whether the last body byte reported was LF (for resynchronising).
    body_last_lf: bool,
    /// Boxed: the searcher holds SIMD state aligned to 32 bytes, and a
    /// parser embedded in a foreign allocation (Python objects, C handles)
    /// may only get 16-byte alignment.
    finder: Box<memmem::Finder<'static>>,
}

impl Default for Parser {
    fn default() -> Self {
        Parser::new()
    }
}

impl Parser {
    /// A parser with the default [`ParserConfig`].
    pub fn new() -> Self {
        Parser::with_config(ParserConfig::default())
    }

    /// A parser with the given limits.
    pub fn with_config(config: ParserConfig) -> Self {
        Parser {
            body_limit: config.max_body_len,
            config,
            state: State::StartLine,
            head: Vec::with_capacity(512),
            head_text: String::new(),
            line_start: 0,
            tid: Span::default(),
            start: StartKind::Method(Span::default()),
            headers: Vec::with_capacity(16),
            has_body: false,
            body_limit_is_range: false,
            declared_len: 0,
            body_len: 0,
            pending: Vec::with_capacity(64),
            pending_emitted: 0,
            deferred: None,
            body_last_lf: false,
            finder: Box::new(memmem::Finder::new(END_PREFIX).into_owned()),
        }
    }

    /// The parser's limits.
    pub fn config(&self) -> &ParserConfig {
        &self.config
    }

    /// Whether the parser is between chunks (nothing partial is buffered).
    pub fn is_idle(&self) -> bool {
        matches!(self.state, State::StartLine) && self.head.is_empty()
            || matches!(self.state, State::Resync { .. })
    }

    /// The transaction id of the chunk being parsed, if its start line has
    /// been read.
    pub fn current_transaction_id(&self) -> Option<&str> {
        match self.state {
            State::Headers | State::Body | State::Skip | State::EmitEnd(_) => self.tid_str(),
            State::StartLine | State::Resync { .. } => None,
        }
    }

    /// Forgets any partial chunk and starts over.
    pub fn reset(&mut self) {
        self.state = State::StartLine;
        self.clear_chunk();
    }

    /// Signals the end of input. Fails with [`ParseErrorKind::UnexpectedEof`]
    /// when a chunk was left incomplete. The parser is reset either way.
    pub fn finish(&mut self) -> Result<(), ParseError> {
        let result = if self.is_idle() {
            Ok(())
        } else {
            Err(ParseError::new(
                ParseErrorKind::UnexpectedEof,
                self.current_transaction_id(),
            ))
        };
        self.reset();
        result
    }

    /// Parses from `input` until one event is ready or the input is used up.
    ///
    /// Returns how many bytes of `input` were consumed and the outcome:
    /// `Ok(Some(event))`, `Ok(None)` when all input was consumed without
    /// completing an event, or `Err` for a protocol violation (the parser
    /// has already recovered; call again with the unconsumed rest). Call
    /// repeatedly with the unconsumed rest until it returns `Ok(None)`.
    pub fn parse<'a>(
        &'a mut self,
        input: &'a [u8],
    ) -> (usize, Result<Option<Event<'a>>, ParseError>) {
        if self.pending_emitted > 0 {
            self.pending.drain(..self.pending_emitted);
            self.pending_emitted = 0;
        }
        if self.deferred.is_some() {
            return (0, Err(self.raise_deferred()));
        }
        let mut pos = 0;
        let step = loop {
            let r = match self.state {
                State::StartLine | State::Headers => self.step_line(input, &mut pos),
                State::Body | State::Skip => self.step_body(input, &mut pos),
                State::EmitEnd(flag) => {
                    self.state = State::StartLine;
                    self.clear_chunk();
                    Ok(Some(Step::End(flag)))
                }
                State::Resync { .. } => {
                    self.step_resync(input, &mut pos);
                    Ok(None)
                }
            };
            match r {
                Ok(Some(Step::NeedMore)) => break Step::NeedMore,
                Ok(Some(step)) => break step,
                Ok(None) => {
                    if pos >= input.len() && !matches!(self.state, State::EmitEnd(_)) {
                        break Step::NeedMore;
                    }
                }
                Err(e) => return (pos, Err(e)),
            }
        };
        let event = match step {
            Step::NeedMore => None,
            Step::Start => Some(Event::Start(self.head_view())),
            Step::DataInput(a, b) => Some(Event::Data(&input[a..b])),
            Step::DataPending(n) => Some(Event::Data(&self.pending[..n])),
            Step::End(flag) => Some(Event::End(flag)),
        };
        (pos, Ok(event))
    }

    /// Feeds all of `input`, calling `on_event` for every event and every
    /// error (after which parsing goes on).
    pub fn feed(
        &mut self,
        mut input: &[u8],
        mut on_event: impl FnMut(Result<Event<'_>, ParseError>),
    ) {
        loop {
            let (used, result) = self.parse(input);
            input = &input[used..];
            match result {
                Ok(Some(ev)) => on_event(Ok(ev)),
                Ok(None) => break,
                Err(e) => on_event(Err(e)),
            }
        }
    }

    // ----- line reading (start line and headers) -----

    fn step_line(&mut self, input: &[u8], pos: &mut usize) -> Result<Option<Step>, ParseError> {
        let rest = &input[*pos..];
        let line_so_far = self.head.len() - self.line_start;
        let Some(nl) = memchr::memchr(b'\n', rest) else {
            if line_so_far + rest.len() > self.config.max_line_len + 1 {
                *pos = input.len();
                return Err(self.line_too_long());
            }
            self.head.extend_from_slice(rest);
            *pos = input.len();
            return Ok(Some(Step::NeedMore));
        };
        if line_so_far + nl > self.config.max_line_len + 1 {
            *pos += nl + 1;
            // The whole over-long line is consumed: we are at a line start.
            let e = self.line_too_long();
            if matches!(self.state, State::Resync { .. }) {
                self.state = State::Resync {
                    line_start: true,
                    matched: 0,
                };
            } else {
                self.pending.clear();
                self.pending.extend_from_slice(b"\r\n");
            }
            return Err(e);
        }
        self.head.extend_from_slice(&rest[..=nl]);
        *pos += nl + 1;
        match self.state {
            State::StartLine => self.on_start_line(),
            _ => self.on_header_line(),
        }
    }

    fn line_too_long(&mut self) -> ParseError {
        let kind = ParseErrorKind::LineTooLong {
            limit: self.config.max_line_len,
        };
        if matches!(self.state, State::Headers) {
            let e = ParseError::new(kind, self.tid_str());
            self.enter_skip(false);
            e
        } else {
            self.enter_resync(false);
            ParseError::new(kind, None)
        }
    }

    fn on_start_line(&mut self) -> Result<Option<Step>, ParseError> {
        let line = &self.head[..];
        if line == b"\r\n" || line == b"\n" {
            // Blank lines between chunks are tolerated.
            self.head.clear();
            return Ok(None);
        }
        let Some(text) = line.strip_suffix(b"\r\n") else {
            self.enter_resync(true);
            return Err(ParseError::new(ParseErrorKind::BadStartLine, None));
        };
        let Some(text) = text.strip_prefix(MSRP_SP) else {
            self.enter_resync(true);
            return Err(ParseError::new(ParseErrorKind::BadStartLine, None));
        };
        let sp = memchr::memchr(b' ', text).unwrap_or(text.len());
        let tid = &text[..sp];
        if !is_transaction_id(tid) {
            self.enter_resync(true);
            return Err(ParseError::new(ParseErrorKind::BadTransactionId, None));
        }
        let base = MSRP_SP.len();
        self.tid = Span(base as u32, (base + sp) as u32);
        if sp == text.len() {
            self.enter_skip(true);
            return Err(ParseError::new(
                ParseErrorKind::BadStartLine,
                self.tid_str(),
            ));
        }
        let rest_off = base + sp + 1;
        let rest = &text[sp + 1..];
        if rest.first().is_some_and(u8::is_ascii_digit) {
            let code_end = memchr::memchr(b' ', rest).unwrap_or(rest.len());
            let code = &rest[..code_end];
            if code.len() != 3 || !code.iter().all(u8::is_ascii_digit) {
                self.enter_skip(true);
                return Err(ParseError::new(
                    ParseErrorKind::BadStatusCode,
                    self.tid_str(),
                ));
            }
            let code = code.iter().fold(0u16, |n, d| n * 10 + (d - b'0') as u16);
            let comment = if code_end < rest.len() {
                let c = &rest[code_end + 1..];
                if std::str::from_utf8(c).is_err() {
                    self.enter_skip(true);
                    return Err(ParseError::new(ParseErrorKind::InvalidUtf8, self.tid_str()));
                }
                let a = rest_off + code_end + 1;
                Some(Span(a as u32, (a + c.len()) as u32))
            } else {
                None
            };
            self.start = StartKind::Status(code, comment);
        } else {
            if rest.is_empty() || !rest.iter().all(|&b| b.is_ascii_uppercase() || b == b'_') {
                self.enter_skip(true);
                return Err(ParseError::new(ParseErrorKind::BadMethod, self.tid_str()));
            }
            self.start = StartKind::Method(Span(rest_off as u32, (rest_off + rest.len()) as u32));
        }
        self.state = State::Headers;
        self.line_start = self.head.len();
        Ok(None)
    }

    fn on_header_line(&mut self) -> Result<Option<Step>, ParseError> {
        let start = self.line_start;
        let line = &self.head[start..];
        let Some(text) = line.strip_suffix(b"\r\n") else {
            self.enter_skip(true);
            return Err(ParseError::new(
                ParseErrorKind::BadHeaderLine,
                self.tid_str(),
            ));
        };
        if text.is_empty() {
            // Blank line: the body follows.
            self.check_head_utf8(true)?;
            self.has_body = true;
            self.begin_body();
            return Ok(Some(Step::Start));
        }
        if text.starts_with(b"-------") {
            let tid = self.tid_bytes();
            let tail = &text[7..];
            if tail.len() == tid.len() + 1 && tail.starts_with(tid) {
                if let Some(flag) = Flag::from_byte(tail[tid.len()]) {
                    // Chunk without a body. The end-line is not part of the head.
                    self.head.truncate(start);
                    self.check_head_utf8(false)?;
                    self.has_body = false;
                    self.state = State::EmitEnd(flag);
                    return Ok(Some(Step::Start));
                }
            }
            let e = ParseError::new(ParseErrorKind::BadEndLine, self.tid_str());
            self.state = State::StartLine;
            self.clear_chunk();
            return Err(e);
        }
        if self.headers.len() >= self.config.max_headers {
            let e = ParseError::new(
                ParseErrorKind::TooManyHeaders {
                    limit: self.config.max_headers,
                },
                self.tid_str(),
            );
            self.enter_skip(true);
            return Err(e);
        }
        // The name is a token ending at ':'; one pass over it.
        let colon = text
            .iter()
            .position(|&b| !is_token_byte(b))
            .unwrap_or(text.len());
        if colon == 0 || text.get(colon) != Some(&b':') {
            self.enter_skip(true);
            return Err(ParseError::new(
                ParseErrorKind::BadHeaderLine,
                self.tid_str(),
            ));
        }
        let spaces = text[colon + 1..]
            .iter()
            .take_while(|&&b| b == b' ' || b == b'\t')
            .count();
        let value_off = colon + 1 + spaces;
        if text[..colon].eq_ignore_ascii_case(names::BYTE_RANGE.as_bytes()) {
            let range = decode_byte_range_bytes(&text[value_off..]);
            let Some(range) = range else {
                self.enter_skip(true);
                return Err(ParseError::new(
                    ParseErrorKind::BadByteRange,
                    self.tid_str(),
                ));
            };
            if let Some(len) = range.len() {
                self.declared_len = len;
                let allowed = if self.config.strict_byte_range {
                    len
                } else {
                    len.saturating_mul(4)
                };
                if allowed < self.body_limit {
                    self.body_limit = allowed;
                    self.body_limit_is_range = true;
                }
            }
        }
        let s = start as u32;
        self.headers.push((
            Span(s, s + colon as u32),
            Span(s + value_off as u32, s + text.len() as u32),
        ));
        self.line_start = self.head.len();
        Ok(None)
    }

    /// Header lines are checked for UTF-8 once, when the head is complete.
    /// On failure the chunk is skipped (`in_body`: its body follows).
    /// The validated head moves into `head_text` (no copy), so handing it
    /// out as `&str` needs no second check.
    fn check_head_utf8(&mut self, in_body: bool) -> Result<(), ParseError> {
        match String::from_utf8(std::mem::take(&mut self.head)) {
            Ok(text) => {
                self.head_text = text;
                return Ok(());
            }
            Err(e) => self.head = e.into_bytes(),
        }
        let e = ParseError::new(ParseErrorKind::InvalidUtf8, self.tid_str());
        if in_body {
            self.state = State::Skip;
            self.pending.clear();
            self.pending_emitted = 0;
        } else {
            self.state = State::StartLine;
            self.clear_chunk();
        }
        Err(e)
    }

    // ----- body -----

    fn begin_body(&mut self) {
        self.state = State::Body;
        self.body_len = 0;
        self.body_last_lf = true;
        self.pending.clear();
        self.pending_emitted = 0;
    }

    /// Scans for `CRLF -------<tid><flag> CRLF`. In `Skip` state the bytes
    /// before it are dropped instead of reported.
    fn step_body(&mut self, input: &[u8], pos: &mut usize) -> Result<Option<Step>, ParseError> {
        let discard = matches!(self.state, State::Skip);
        if !self.pending.is_empty() {
            return self.step_pending(input, pos, discard);
        }
        let start = *pos;
        let hay = &input[start..];
        let tid_len = self.tid_len();
        let mut from = 0;
        while let Some(h) = self.find_end_prefix(&hay[from..]) {
            let at = from + h;
            let tail = &hay[at + END_PREFIX.len()..];
            if tail.len() >= tid_len + 3 {
                if let Some(flag) = self.end_line_tail(&tail[..tid_len + 3]) {
                    let data_end = start + at;
                    *pos = data_end + END_PREFIX.len() + tid_len + 3;
                    return self.finish_body(input, start, data_end, flag, discard, pos);
                }
                from = at + 1;
            } else if self.is_end_line_prefix(&hay[at..]) {
                // A possible end-line cut off by the end of the input.
                return self.hold_back(input, start, start + at, pos, discard);
            } else {
                from = at + 1;
            }
        }
        // No end-line start in the input; keep a trailing partial "\r\n----".
        let tail_from = hay.len().saturating_sub(END_PREFIX.len() - 1);
        let split = (tail_from..hay.len())
            .find(|&i| hay[i] == b'\r' && END_PREFIX.starts_with(&hay[i..]))
            .unwrap_or(hay.len());
        self.hold_back(input, start, start + split, pos, discard)
    }

    /// Position of the first complete `CRLF -------` in `hay`. Chat bodies
    /// are short, and for them a byte search for CR beats setting up the
    /// memmem searcher; longer bodies go to memmem after a short window.
    fn find_end_prefix(&self, hay: &[u8]) -> Option<usize> {
        const WINDOW: usize = 96;
        let window = hay.len().min(WINDOW);
        let mut i = 0;
        while let Some(r) = memchr::memchr(b'\r', &hay[i..window]) {
            let at = i + r;
            if hay[at..].starts_with(END_PREFIX) {
                return Some(at);
            }
            i = at + 1;
        }
        if window == hay.len() {
            return None;
        }
        self.finder.find(&hay[window..]).map(|p| p + window)
    }

    /// Data `input[start..data_end]` ends the body; the end-line is consumed.
    fn finish_body(
        &mut self,
        input: &[u8],
        start: usize,
        data_end: usize,
        flag: Flag,
        discard: bool,
        pos: &mut usize,
    ) -> Result<Option<Step>, ParseError> {
        if discard {
            self.state = State::StartLine;
            self.clear_chunk();
            return Ok(None);
        }
        if data_end > start {
            let n = data_end - start;
            let k = self.report_input(input, start, n, pos)?;
            if k < n {
                return Ok(Some(Step::DataInput(start, start + k)));
            }
            self.state = State::EmitEnd(flag);
            return Ok(Some(Step::DataInput(start, data_end)));
        }
        self.state = State::EmitEnd(flag);
        Ok(None)
    }

    /// Reports `input[start..split]` as data and keeps `input[split..]`
    /// (a possible partial end-line) in `pending`.
    fn hold_back(
        &mut self,
        input: &[u8],
        start: usize,
        split: usize,
        pos: &mut usize,
        discard: bool,
    ) -> Result<Option<Step>, ParseError> {
        if !discard && split > start {
            let n = split - start;
            let k = self.report_input(input, start, n, pos)?;
            if k < n {
                return Ok(Some(Step::DataInput(start, start + k)));
            }
        }
        self.pending.extend_from_slice(&input[split..]);
        *pos = input.len();
        if discard || split == start {
            Ok(Some(Step::NeedMore))
        } else {
            Ok(Some(Step::DataInput(start, split)))
        }
    }

    /// Accounts `n` body bytes of the input starting at `start`. Returns how
    /// many may be reported; fewer than `n` means a limit was reached: input
    /// is consumed only up to it and the error follows on the next call.
    fn report_input(
        &mut self,
        input: &[u8],
        start: usize,
        n: usize,
        pos: &mut usize,
    ) -> Result<usize, ParseError> {
        match self.count_body(n) {
            Ok(k) => {
                if k > 0 {
                    self.body_last_lf = input[start + k - 1] == b'\n';
                }
                if k < n {
                    *pos = start + k;
                }
                Ok(k)
            }
            Err(e) => {
                *pos = start;
                Err(e)
            }
        }
    }

    /// Continues matching a partial end-line held in `pending`.
    fn step_pending(
        &mut self,
        input: &[u8],
        pos: &mut usize,
        discard: bool,
    ) -> Result<Option<Step>, ParseError> {
        let full = END_PREFIX.len() + self.tid_len() + 3;
        while self.pending.len() < full {
            if self.pending.is_empty() {
                // Everything held back was released: back to fast scanning.
                return Ok(None);
            }
            let Some(&b) = input.get(*pos) else {
                return Ok(Some(Step::NeedMore));
            };
            self.pending.push(b);
            if self.is_end_line_prefix(&self.pending) {
                *pos += 1;
                continue;
            }
            // Not an end-line: give back the byte, release the held bytes up
            // to the next possible end-line start as data.
            self.pending.pop();
            let cut = (1..self.pending.len())
                .find(|&i| self.pending[i] == b'\r' && self.is_end_line_prefix(&self.pending[i..]))
                .unwrap_or(self.pending.len());
            if discard {
                self.pending.drain(..cut);
                continue;
            }
            let k = self.count_body(cut)?;
            self.body_last_lf = self.pending[k - 1] == b'\n';
            self.pending_emitted = k;
            return Ok(Some(Step::DataPending(k)));
        }
        let flag = self
            .end_line_tail(&self.pending[END_PREFIX.len()..])
            .unwrap_or(Flag::End);
        self.pending.clear();
        if discard {
            self.state = State::StartLine;
            self.clear_chunk();
            Ok(None)
        } else {
            self.state = State::EmitEnd(flag);
            Ok(None)
        }
    }

    /// Accounts `n` body bytes about to be reported and returns how many may
    /// be: all of them, or the part that still fits under the limit (the
    /// error is then deferred to the next call, so the bytes up to the limit
    /// are reported however the input was sliced). When nothing fits the
    /// error is raised at once.
    fn count_body(&mut self, n: usize) -> Result<usize, ParseError> {
        let room = self.body_limit.saturating_sub(self.body_len);
        if n as u64 <= room {
            self.body_len += n as u64;
            return Ok(n);
        }
        self.deferred = Some(if self.body_limit_is_range {
            ParseErrorKind::BodyExceedsByteRange {
                declared: self.declared_len,
            }
        } else {
            ParseErrorKind::BodyTooLarge {
                limit: self.config.max_body_len,
            }
        });
        if room == 0 {
            return Err(self.raise_deferred());
        }
        self.body_len += room;
        Ok(room as usize)
    }

    /// Raises the error recorded by [`count_body`](Self::count_body) and
    /// starts recovering: a body over its size limit is still well framed,
    /// so the chunk is skipped to its end-line; a body past its Byte-Range
    /// means the end-line is missing or wrong, so input is skipped to the
    /// next start line, beginning with any held-back bytes.
    fn raise_deferred(&mut self) -> ParseError {
        let kind = self
            .deferred
            .take()
            .unwrap_or(ParseErrorKind::UnexpectedEof);
        let e = ParseError::new(kind.clone(), self.tid_str());
        if let ParseErrorKind::BodyExceedsByteRange { .. } = kind {
            let held = std::mem::take(&mut self.pending);
            self.enter_resync(self.body_last_lf);
            let mut p = 0;
            self.step_resync(&held, &mut p);
        } else {
            self.state = State::Skip;
        }
        e
    }

    /// `tail` = tid + flag + CRLF: returns the flag if it matches this chunk.
    fn end_line_tail(&self, tail: &[u8]) -> Option<Flag> {
        let tid = self.tid_bytes();
        if tail.len() == tid.len() + 3 && tail.starts_with(tid) && tail.ends_with(b"\r\n") {
            Flag::from_byte(tail[tid.len()])
        } else {
            None
        }
    }

    /// Whether `b` is a prefix of this chunk's end-line (`\r\n-------<tid><flag>\r\n`).
    fn is_end_line_prefix(&self, b: &[u8]) -> bool {
        let tid = self.tid_bytes();
        b.iter().enumerate().all(|(i, &c)| {
            if i < END_PREFIX.len() {
                c == END_PREFIX[i]
            } else if i < END_PREFIX.len() + tid.len() {
                c == tid[i - END_PREFIX.len()]
            } else {
                match i - END_PREFIX.len() - tid.len() {
                    0 => Flag::from_byte(c).is_some(),
                    1 => c == b'\r',
                    2 => c == b'\n',
                    _ => false,
                }
            }
        })
    }

    // ----- resynchronisation -----

    fn step_resync(&mut self, input: &[u8], pos: &mut usize) {
        while *pos < input.len() {
            let State::Resync {
                mut line_start,
                mut matched,
            } = self.state
            else {
                return;
            };
            if line_start {
                let b = input[*pos];
                if b == MSRP_SP[matched as usize] {
                    matched += 1;
                    *pos += 1;
                    if matched as usize == MSRP_SP.len() {
                        self.state = State::StartLine;
                        self.clear_chunk();
                        self.head.extend_from_slice(MSRP_SP);
                        return;
                    }
                } else {
                    line_start = false;
                    matched = 0;
                }
            } else {
                match memchr::memchr(b'\n', &input[*pos..]) {
                    Some(i) => {
                        *pos += i + 1;
                        line_start = true;
                        matched = 0;
                    }
                    None => *pos = input.len(),
                }
            }
            self.state = State::Resync {
                line_start,
                matched,
            };
        }
    }

    // ----- helpers -----

    fn enter_resync(&mut self, line_start: bool) {
        self.clear_chunk();
        self.state = State::Resync {
            line_start,
            matched: 0,
        };
    }

    /// Skips the rest of the current chunk. `at_line_start`: the input
    /// position is right after a CRLF, so an end-line may follow directly.
    fn enter_skip(&mut self, at_line_start: bool) {
        self.state = State::Skip;
        self.pending.clear();
        self.pending_emitted = 0;
        if at_line_start {
            self.pending.extend_from_slice(b"\r\n");
        }
    }

    fn clear_chunk(&mut self) {
        if self.head_text.capacity() > 0 {
            // Keep the buffer's capacity for the next chunk.
            self.head = std::mem::take(&mut self.head_text).into_bytes();
        }
        self.head.clear();
        self.headers.clear();
        self.line_start = 0;
        self.tid = Span::default();
        self.has_body = false;
        self.body_len = 0;
        self.body_limit = self.config.max_body_len;
        self.body_limit_is_range = false;
        self.declared_len = 0;
        self.pending.clear();
        self.pending_emitted = 0;
        self.deferred = None;
    }

    /// The head bytes, wherever they are kept at this stage.
    fn head_bytes(&self) -> &[u8] {
        if self.head_text.is_empty() {
            &self.head
        } else {
            self.head_text.as_bytes()
        }
    }

    fn tid_bytes(&self) -> &[u8] {
        self.head_bytes()
            .get(self.tid.0 as usize..self.tid.1 as usize)
            .unwrap_or(b"")
    }

    fn tid_len(&self) -> usize {
        (self.tid.1 - self.tid.0) as usize
    }

    fn tid_str(&self) -> Option<&str> {
        std::str::from_utf8(self.tid_bytes())
            .ok()
            .filter(|s| !s.is_empty())
    }

    fn head_view(&self) -> Head<'_> {
        let raw = self.head_text.as_str();
        let kind = match self.start {
            StartKind::Method(m) => HeadKind::Request(m.of(raw)),
            StartKind::Status(code, comment) => {
                HeadKind::Response(code, comment.map(|c| c.of(raw)))
            }
        };
        Head {
            raw,
            tid: self.tid.of(raw),
            kind,
            headers: &self.headers,
            has_body: self.has_body,
        }
    }
}

/// RFC 3261 token characters (header names, as MSRP uses them).
fn is_token_byte(b: u8) -> bool {
    TOKEN[b as usize]
}

static TOKEN: [bool; 256] = {
    let mut t = [false; 256];
    let mut i = 0;
    while i < 256 {
        let b = i as u8;
        t[i] = b.is_ascii_alphanumeric()
            || matches!(
                b,
                b'-' | b'.' | b'!' | b'%' | b'*' | b'_' | b'+' | b'`' | b'\'' | b'~'
            );
        i += 1;
    }
    t
};

/// RFC 4975 `transact-id = ident`, `ident = ALPHANUM 3*31ident-char`,
/// `ident-char = ALPHANUM / "." / "-" / "+" / "%" / "="`.
pub(crate) fn is_transaction_id(t: &[u8]) -> bool {
    (4..=32).contains(&t.len())
        && t[0].is_ascii_alphanumeric()
        && t[1..]
            .iter()
            .all(|&b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'+' | b'%' | b'='))
}

/// Parses one complete chunk with the default limits.
///
/// The input must hold exactly one chunk (blank lines after it are
/// tolerated); a missing end-line is [`ParseErrorKind::UnexpectedEof`], extra
/// bytes after it are [`ParseErrorKind::BadStartLine`].
pub fn parse_chunk(input: &[u8]) -> Result<Chunk, ParseError> {
    parse_chunk_with(input, &ParserConfig::default())
}

/// [`parse_chunk`] with explicit limits.
pub fn parse_chunk_with(input: &[u8], config: &ParserConfig) -> Result<Chunk, ParseError> {
    let mut parser = Parser::with_config(config.clone());
    let mut chunk: Option<Chunk> = None;
    let mut data = bytes::BytesMut::new();
    let mut rest = input;
    loop {
        let (used, result) = parser.parse(rest);
        rest = &rest[used..];
        match result? {
            Some(Event::Start(head)) => chunk = Some(head.to_chunk()),
            Some(Event::Data(d)) => data.extend_from_slice(d),
            Some(Event::End(flag)) => {
                let mut c = chunk
                    .take()
                    .ok_or_else(|| ParseError::new(ParseErrorKind::BadStartLine, None))?;
                c.flag = flag;
                c.data = data.freeze();
                if rest.iter().any(|&b| b != b'\r' && b != b'\n') {
                    return Err(ParseError::new(ParseErrorKind::BadStartLine, None));
                }
                return Ok(c);
            }
            None => {
                parser.finish()?;
                return Err(ParseError::new(ParseErrorKind::UnexpectedEof, None));
            }
        }
    }
}
