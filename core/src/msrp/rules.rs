//! Transaction rules of RFC 4975 §7: which chunks get responses and
//! REPORTs, what those look like, and how outgoing requests are built.
//!
//! The path headers of responses and REPORTs are copied from the request as
//! text (after checking they decode), so a peer sees its own URIs back byte
//! for byte, whatever spelling it used.

use bytes::Bytes;

use super::chunk::{Chunk, Flag};
use super::error::HeaderError;
use super::header::{
    names, ByteRange, FailureReport, FromPath, MessageId, Status, SuccessReport, ToPath,
    TypedHeader,
};

/// The response a receiver owes for `request`, or `None` when none is sent:
/// a SEND with `Failure-Report: no` never gets one, `partial` gets only
/// failures. Failure-Report governs SEND requests only (RFC 4975 §7.1.2):
/// any other request (NICKNAME, AUTH, a method the receiver does not know)
/// always gets its response.
///
/// The response has the request's transaction id, a To-Path of the first
/// From-Path entry for SEND (the previous hop) or the whole From-Path for
/// other methods, and a From-Path of the first To-Path entry.
///
/// Fails when To-Path or From-Path is missing or malformed, or a SEND's
/// Failure-Report is malformed.
pub fn make_response(
    request: &Chunk,
    code: u16,
    comment: Option<&str>,
) -> Result<Option<Chunk>, HeaderError> {
    if request.method() == Some("SEND") {
        match request.failure_report()? {
            FailureReport::No => return Ok(None),
            FailureReport::Partial if code == 200 => return Ok(None),
            _ => {}
        }
    }
    let to = path_text::<ToPath>(request)?;
    let from = path_text::<FromPath>(request)?;
    let mut response = Chunk::response(request.transaction_id.clone(), code, comment);
    let to_path = if request.method() == Some("SEND") {
        first_uri(from)
    } else {
        from
    };
    response.headers.set(names::TO_PATH, to_path);
    response.headers.set(names::FROM_PATH, first_uri(to));
    Ok(Some(response))
}

/// The REPORT a receiver owes for `request` after processing it with
/// `code`, or `None`: a REPORT is sent when Success-Report is `yes`, or for
/// a failure (`code != 200`) when Failure-Report is `yes` or `partial`.
///
/// The REPORT gets a fresh transaction id, goes back along the whole
/// From-Path, and carries Status, the request's Message-ID and a Byte-Range
/// covering the request's body.
///
/// Fails when a header it needs (To-Path, From-Path, Message-ID) is missing
/// or malformed.
pub fn make_report(
    request: &Chunk,
    code: u16,
    comment: Option<&str>,
) -> Result<Option<Chunk>, HeaderError> {
    report_for(request, code, comment, true)
}

/// [`make_report`] for a request whose To-Path and From-Path are known to
/// be valid (a session's own text): the same REPORT, without decoding the
/// paths again.
pub(crate) fn make_report_on_known_paths(
    request: &Chunk,
    code: u16,
    comment: Option<&str>,
) -> Result<Option<Chunk>, HeaderError> {
    report_for(request, code, comment, false)
}

fn report_for(
    request: &Chunk,
    code: u16,
    comment: Option<&str>,
    check_paths: bool,
) -> Result<Option<Chunk>, HeaderError> {
    let wanted = request.success_report()? == SuccessReport::Yes
        || (code != 200 && request.failure_report()? != FailureReport::No);
    if !wanted {
        return Ok(None);
    }
    let (to, from) = if check_paths {
        (
            path_text::<ToPath>(request)?,
            path_text::<FromPath>(request)?,
        )
    } else {
        let text = |name| {
            request
                .headers
                .get(name)
                .ok_or_else(|| HeaderError::missing(name))
        };
        (text(names::TO_PATH)?, text(names::FROM_PATH)?)
    };
    let message_id = request
        .headers
        .get_typed::<MessageId>()?
        .ok_or_else(|| HeaderError::missing(names::MESSAGE_ID))?;
    let size = request.size() as u64;
    let (start, total) = match request.byte_range()? {
        Some(r) => (r.start, r.total),
        None => (1, Some(size)),
    };
    let mut report = Chunk::request(random_id(), "REPORT");
    report.headers.set(names::TO_PATH, from);
    report.headers.set(names::FROM_PATH, first_uri(to));
    report.headers.set_typed(&Status {
        code,
        comment: comment.map(str::to_string),
    });
    report.headers.set_typed(&message_id);
    report.headers.set_typed(&ByteRange {
        start,
        end: Some((start + size).saturating_sub(1)),
        total,
    });
    Ok(Some(report))
}

/// Builds outgoing requests the way the legacy `make_chunk` does: random
/// transaction and message ids, To-Path/From-Path from the caller,
/// Byte-Range from `start`/`end`/`length`, and a continuation flag derived
/// from whether the chunk ends the message.
///
/// ```
/// use msgwire::msrp::{ChunkBuilder, Flag};
/// let chunk = ChunkBuilder::send("hello").content_type("text/plain")
///     .build("msrp://b.example:1/s;tcp", "msrp://a.example:2/t;tcp");
/// assert_eq!(chunk.headers.get("Byte-Range"), Some("1-5/5"));
/// assert_eq!(chunk.flag, Flag::End);
/// let part = ChunkBuilder::send("hel").length(5).build("msrp://b:1/s;tcp", "msrp://a:2/t;tcp");
/// assert_eq!(part.headers.get("Byte-Range"), Some("1-3/5"));
/// assert_eq!(part.flag, Flag::Continue);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChunkBuilder {
    /// Transaction id; random when `None`.
    pub transaction_id: Option<String>,
    /// The method (default `SEND`).
    pub method: String,
    /// The body (only SEND chunks carry one).
    pub data: Bytes,
    /// Continuation flag; when `None`, `$` if the chunk reaches the end of
    /// the message, else `+`.
    pub contflag: Option<Flag>,
    /// Position of the first body byte in the message (1-based, default 1).
    pub start: u64,
    /// Position of the last body byte; default `start - 1 + data.len()`.
    pub end: Option<u64>,
    /// Total message size; default `start - 1 + data.len()`.
    pub length: Option<u64>,
    /// Message-ID; random when `None`.
    pub message_id: Option<String>,
    /// Content-Type to set, if any.
    pub content_type: Option<String>,
    /// Write the range end as `*` when the total exceeds this many bytes.
    /// The legacy library does this above 2048; `None` (default) always
    /// writes the known end.
    pub unknown_end_above: Option<u64>,
}

impl Default for ChunkBuilder {
    fn default() -> Self {
        ChunkBuilder {
            transaction_id: None,
            method: "SEND".to_string(),
            data: Bytes::new(),
            contflag: None,
            start: 1,
            end: None,
            length: None,
            message_id: None,
            content_type: None,
            unknown_end_above: None,
        }
    }
}

impl ChunkBuilder {
    /// A SEND carrying `data`.
    pub fn send(data: impl Into<Bytes>) -> Self {
        ChunkBuilder {
            data: data.into(),
            ..ChunkBuilder::default()
        }
    }

    /// A request of another method (no body).
    pub fn request(method: &str) -> Self {
        ChunkBuilder {
            method: method.to_string(),
            ..ChunkBuilder::default()
        }
    }

    /// Sets the total message size.
    pub fn length(mut self, length: u64) -> Self {
        self.length = Some(length);
        self
    }

    /// Sets the start position.
    pub fn start(mut self, start: u64) -> Self {
        self.start = start;
        self
    }

    /// Sets the Message-ID.
    pub fn message_id(mut self, id: &str) -> Self {
        self.message_id = Some(id.to_string());
        self
    }

    /// Sets the Content-Type.
    pub fn content_type(mut self, content_type: &str) -> Self {
        self.content_type = Some(content_type.to_string());
        self
    }

    /// Builds the chunk with the given encoded To-Path and From-Path values.
    pub fn build(&self, to_path: &str, from_path: &str) -> Chunk {
        let tid = self.transaction_id.clone().unwrap_or_else(random_id);
        let mut chunk = Chunk::request(tid, self.method.clone());
        chunk.headers.set(names::TO_PATH, to_path);
        chunk.headers.set(names::FROM_PATH, from_path);
        let start = self.start.max(1);
        let natural = start - 1 + self.data.len() as u64;
        let end = self.end.unwrap_or(natural);
        let length = self.length.unwrap_or(natural);
        let contflag = self.contflag.unwrap_or(if end == length {
            Flag::End
        } else {
            Flag::Continue
        });
        let star = self.unknown_end_above.is_some_and(|limit| length > limit);
        chunk.headers.set_typed(&ByteRange {
            start,
            end: if star { None } else { Some(end) },
            total: Some(length),
        });
        let mid = self.message_id.clone().unwrap_or_else(random_id);
        chunk.headers.set(names::MESSAGE_ID, mid);
        if self.method == "SEND" {
            if let Some(ct) = &self.content_type {
                chunk.headers.set(names::CONTENT_TYPE, ct.as_str());
            }
            chunk.data = self.data.clone();
            chunk.flag = contflag;
        }
        chunk
    }
}

/// A random identifier: 64 random bits in lower-case hex without leading
/// zeros, the form the legacy library uses for transaction ids and
/// Message-IDs. These only need to be unique, not secret, so they come from
/// a per-thread generator seeded once from the OS (no system call per id);
/// session ids, which RFC 4975 wants hard to guess, use [`random_hex`].
pub fn random_id() -> String {
    use std::cell::Cell;
    thread_local! {
        static STATE: Cell<u64> = Cell::new({
            let mut seed = [0u8; 8];
            fill_random(&mut seed);
            u64::from_le_bytes(seed) | 1
        });
    }
    let x = STATE.with(|s| {
        // SplitMix64: a full-period sequence with good mixing.
        let next = s.get().wrapping_add(0x9E37_79B9_7F4A_7C15);
        s.set(next);
        let mut z = next;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    });
    format!("{x:x}")
}

/// `bytes` random bytes as lower-case hex without leading zeros (at least
/// one digit). Session ids use 10 bytes (80 bits), like the legacy library.
pub fn random_hex(bytes: usize) -> String {
    let mut buf = [0u8; 32];
    let n = bytes.min(buf.len());
    fill_random(&mut buf[..n]);
    let mut s = String::with_capacity(n * 2);
    for b in &buf[..n] {
        s.push(HEX[(b >> 4) as usize] as char);
        s.push(HEX[(b & 15) as usize] as char);
    }
    let trimmed = s.trim_start_matches('0');
    if trimmed.is_empty() {
        "0".to_string()
    } else {
        trimmed.to_string()
    }
}

pub(crate) fn fill_random(buf: &mut [u8]) {
    if getrandom::fill(buf).is_ok() {
        return;
    }
    // The OS generator failed (practically never). Fall back to a
    // SplitMix64 stream seeded from the clock and a counter: still unique,
    // just not unpredictable.
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    let mut x = nanos ^ COUNTER.fetch_add(0x9E37_79B9_7F4A_7C15, Ordering::Relaxed);
    for b in buf.iter_mut() {
        x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = x;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        *b = (z ^ (z >> 31)) as u8;
    }
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// The encoded value of a path header, checked to decode.
fn path_text<T: TypedHeader>(chunk: &Chunk) -> Result<&str, HeaderError> {
    let value = chunk
        .headers
        .get(T::NAME)
        .ok_or_else(|| HeaderError::missing(T::NAME))?;
    T::decode_header(value)?;
    Ok(value)
}

/// The first URI of an encoded path.
fn first_uri(path: &str) -> &str {
    path.split_ascii_whitespace().next().unwrap_or(path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::msrp::{parse_chunk, HeaderErrorKind};

    fn send(extra: &str) -> Chunk {
        let text = format!(
            "MSRP tx000001 SEND\r\nTo-Path: msrp://relay:1/r;tcp msrp://bob:2/b;tcp\r\n\
             From-Path: msrp://alice:3/a;tcp\r\nMessage-ID: m1\r\n{extra}\
             Content-Type: text/plain\r\n\r\nhello\r\n-------tx000001$\r\n"
        );
        parse_chunk(text.as_bytes()).unwrap()
    }

    #[test]
    fn response_rules() {
        let r = make_response(&send(""), 200, Some("OK")).unwrap().unwrap();
        assert_eq!(
            &r.encode()[..],
            b"MSRP tx000001 200 OK\r\nTo-Path: msrp://alice:3/a;tcp\r\nFrom-Path: msrp://relay:1/r;tcp\r\n-------tx000001$\r\n"
        );
        assert!(make_response(&send("Failure-Report: no\r\n"), 400, None)
            .unwrap()
            .is_none());
        assert!(
            make_response(&send("Failure-Report: partial\r\n"), 200, None)
                .unwrap()
                .is_none()
        );
        let r = make_response(
            &send("Failure-Report: partial\r\n"),
            415,
            Some("Unsupported media type"),
        );
        assert_eq!(r.unwrap().unwrap().code(), Some(415));
        let mut bad = send("");
        bad.headers.remove("From-Path");
        assert_eq!(
            make_response(&bad, 200, None).unwrap_err().kind,
            HeaderErrorKind::Missing
        );
        bad.headers.set("From-Path", "garbage");
        assert!(matches!(
            make_response(&bad, 200, None).unwrap_err().kind,
            HeaderErrorKind::Uri(_)
        ));
    }

    #[test]
    fn non_send_response_goes_back_whole_path() {
        let mut c = send("");
        c.kind = crate::msrp::ChunkKind::Request {
            method: "AUTH".into(),
        };
        c.headers
            .set("From-Path", "msrp://x:1/a;tcp msrp://y:2/b;tcp");
        let r = make_response(&c, 401, None).unwrap().unwrap();
        assert_eq!(
            r.headers.get("To-Path"),
            Some("msrp://x:1/a;tcp msrp://y:2/b;tcp")
        );
    }

    #[test]
    fn report_rules() {
        assert!(make_report(&send(""), 200, Some("OK")).unwrap().is_none());
        let r = make_report(
            &send("Success-Report: yes\r\nByte-Range: 1-5/5\r\n"),
            200,
            Some("OK"),
        )
        .unwrap()
        .unwrap();
        assert_eq!(r.method(), Some("REPORT"));
        let names: Vec<_> = r
            .headers
            .in_wire_order()
            .iter()
            .map(|h| h.name.clone())
            .collect();
        assert_eq!(
            names,
            ["To-Path", "From-Path", "Status", "Message-ID", "Byte-Range"]
        );
        assert_eq!(r.headers.get("To-Path"), Some("msrp://alice:3/a;tcp"));
        assert_eq!(r.headers.get("From-Path"), Some("msrp://relay:1/r;tcp"));
        assert_eq!(r.headers.get("Status"), Some("000 200 OK"));
        assert_eq!(r.headers.get("Byte-Range"), Some("1-5/5"));
        // Failures are reported unless Failure-Report is no.
        assert!(make_report(&send(""), 415, None).unwrap().is_some());
        assert!(make_report(&send("Failure-Report: partial\r\n"), 415, None)
            .unwrap()
            .is_some());
        assert!(make_report(&send("Failure-Report: no\r\n"), 415, None)
            .unwrap()
            .is_none());
        let r = make_report(
            &send("Success-Report: yes\r\nByte-Range: 11-15/*\r\n"),
            200,
            None,
        )
        .unwrap()
        .unwrap();
        assert_eq!(r.headers.get("Byte-Range"), Some("11-15/*"));
        assert_eq!(r.headers.get("Status"), Some("000 200"));
        let mut c = send("Success-Report: yes\r\n");
        c.headers.remove("Message-ID");
        assert_eq!(make_report(&c, 200, None).unwrap_err().header, "Message-ID");
    }

    #[test]
    fn a_report_on_known_paths_is_the_same_report() {
        for (extra, code) in [
            ("Success-Report: yes\r\nByte-Range: 1-5/5\r\n", 200),
            ("Success-Report: yes\r\nByte-Range: 11-15/*\r\n", 200),
            ("", 200),
            ("", 415),
        ] {
            let c = send(extra);
            let mut fast = make_report_on_known_paths(&c, code, Some("OK")).unwrap();
            let slow = make_report(&c, code, Some("OK")).unwrap();
            if let (Some(f), Some(s)) = (fast.as_mut(), &slow) {
                f.transaction_id = s.transaction_id.clone();
            }
            assert_eq!(fast, slow, "{extra:?} {code}");
        }
        // Only the paths go unchecked: a missing one is still an error.
        let mut c = send("Success-Report: yes\r\n");
        c.headers.remove("From-Path");
        let e = make_report_on_known_paths(&c, 200, None).unwrap_err();
        assert_eq!(e.header, "From-Path");
    }

    #[test]
    fn builder() {
        let c = ChunkBuilder::send("x".repeat(3000)).build("msrp://b:1/s;tcp", "msrp://a:1/t;tcp");
        assert_eq!(c.headers.get("Byte-Range"), Some("1-3000/3000"));
        let mut b = ChunkBuilder::send("x".repeat(834));
        b.length = Some(2500);
        b.unknown_end_above = Some(2048);
        b.transaction_id = Some("f59a20ec5a33cae5".into());
        b.message_id = Some("chunkedmsg01".into());
        let c = b.build("msrp://b:1/s;tcp", "msrp://a:1/t;tcp");
        assert_eq!(c.headers.get("Byte-Range"), Some("1-*/2500"));
        assert_eq!(c.flag, Flag::Continue);
        assert_eq!(c.transaction_id, "f59a20ec5a33cae5");
        let a = ChunkBuilder::request("NICKNAME").build("msrp://b:1/s;tcp", "msrp://a:1/t;tcp");
        assert_eq!(a.headers.get("Byte-Range"), Some("1-0/0"));
        assert!(a.data.is_empty());
        let names: Vec<_> = a.headers.iter().map(|h| h.name.clone()).collect();
        assert_eq!(names, ["To-Path", "From-Path", "Byte-Range", "Message-ID"]);
    }

    #[test]
    fn random_ids() {
        let a = random_id();
        let b = random_id();
        assert_ne!(a, b);
        assert!(a.len() <= 16 && a.bytes().all(|c| c.is_ascii_hexdigit()));
        assert!(random_hex(10).len() <= 20);
    }
}
