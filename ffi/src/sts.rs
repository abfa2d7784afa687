//! STS/1.0 for C, wrapping `msgwire::sts`: messages, error-reply bodies,
//! the client and the server.
//!
//! # Objects
//!
//! * `msgwire_sts_message` — one message (request or status line, headers,
//!   body). Built with `_new_request`/`_new_status`, read from bytes with
//!   `_parse`, handed to C (lent) by reply and route callbacks, and given
//!   out (owned) by `msgwire_sts_client_request_one` and
//!   `msgwire_sts_client_read`.
//! * `msgwire_sts_error_reply` — a plain struct holding the fields of an
//!   `<Error .../>` body.
//! * `msgwire_sts_client` — one client connection: simple messages,
//!   requests (replies to a callback, or blocking for one reply), and the
//!   messages the server sends on its own.
//! * `msgwire_sts_server` — a listening server whose routes
//!   (`/Protocol/Command`) call C functions; each request comes with a
//!   `msgwire_sts_responder` the C code answers through, at once or later
//!   from any thread.
//!
//! # Sending a request
//!
//! A request is described by its protocol and command (the request line
//! `P /Protocol/Command STS/1.0` is always built by msgwire) and an
//! optional message whose headers and body are sent with it; that message's
//! own start line is ignored, so a message from `_new_request` with any
//! names, or one received earlier, serves as well. The transaction id
//! (`Subject`) and `Content-Length` are msgwire's business and are
//! replaced. This keeps the common case (no headers, one body) a single
//! call with a NULL message plus `msgwire_sts_message_set_body` when
//! there is a body.
//!
//! # Threads and callbacks
//!
//! The core runs each connection on its own reader and writer threads and
//! serves deadlines (pings, idle checks, request timeouts) from a timer
//! thread. On top of that:
//!
//! * A route callback runs on the reader thread of the connection the
//!   request came on. It must not block: it may answer at once, or keep the
//!   responder and answer later from another thread. A slow callback holds
//!   up every other message of that connection.
//! * A reply callback (`msgwire_sts_client_request`) runs on a thread
//!   msgwire starts for that request, which delivers the replies in order
//!   and ends after the last one. A slow callback only delays that
//!   request's own later replies, but should still not block for long.
//! * `user_data_free` runs exactly once, after the last callback that gets
//!   that `user_data` has returned (or right away when the function that
//!   took it fails).
//!
//! The `_free` functions of clients and servers wait for these threads and
//! must not be called from a callback of the same object.
//!
//! # Timer thread
//!
//! Clients and servers made here share the timer of the MSRP sessions
//! (see [`crate::endpoint`]): its thread runs while at least one MSRP
//! session, STS client or STS server handle exists, and stops when the
//! last one is freed, so a program that frees everything leaves no msgwire
//! thread behind (and nothing for valgrind to report).

use std::cell::Cell;
use std::collections::HashMap;
use std::ffi::{c_char, c_void};
use std::sync::{Arc, Mutex, OnceLock, RwLock};
use std::time::Duration;

use bytes::Bytes;
use msgwire_core::sts::client::{ClientConfig, RequestError, StsClient};
use msgwire_core::sts::error::{ErrorBodyError, ErrorReply};
use msgwire_core::sts::header::{same_name, Headers};
use msgwire_core::sts::message::{EncodeError, EncodeOptions, Message, StartLine};
use msgwire_core::sts::parser::{parse_message, ParseError};
use msgwire_core::sts::peer::{PeerConfig, PeerError, ReplyItem, Responder};
use msgwire_core::sts::server::{ClientHandle, Request, ServerConfig, ServerEvent, StsServer};

use crate::endpoint::{session_timer, SigpipeBlocked, TimerShare};
use crate::error::{msgwire_status, Error};
use crate::guard::{
    arg_buf, arg_bytes, arg_mut, arg_opt_str, arg_out, arg_ref, arg_str, free_handle, guard,
    guard_value, new_handle, CText,
};
use crate::msgwire_str;

use msgwire_status::*;

// ================================================================== errors

fn parse_error(e: ParseError) -> Error {
    let status = match &e {
        ParseError::BadStartLine(_) => MSGWIRE_STS_PARSE_BAD_START_LINE,
        ParseError::BadVersion(_) => MSGWIRE_STS_PARSE_BAD_VERSION,
        ParseError::BadHeaderLine(_) => MSGWIRE_STS_PARSE_BAD_HEADER_LINE,
        ParseError::HeaderTooLarge { .. } => MSGWIRE_STS_PARSE_HEADER_TOO_LARGE,
        ParseError::BodyTooLarge { .. } => MSGWIRE_STS_PARSE_BODY_TOO_LARGE,
        ParseError::BadContentLength(_) => MSGWIRE_STS_PARSE_BAD_CONTENT_LENGTH,
        ParseError::Incomplete => MSGWIRE_STS_PARSE_INCOMPLETE,
        ParseError::TrailingData { .. } => MSGWIRE_STS_PARSE_TRAILING_DATA,
        // The core's enum is non-exhaustive; a new kind is still a
        // malformed message.
        _ => MSGWIRE_STS_PARSE_BAD_START_LINE,
    };
    Error::new(status, format!("invalid STS message: {e}"))
}

fn encode_error(e: EncodeError) -> Error {
    Error::new(
        MSGWIRE_STS_INVALID_MESSAGE,
        format!("the message cannot be encoded: {e}"),
    )
}

fn error_body_error(e: ErrorBodyError) -> Error {
    let status = match &e {
        ErrorBodyError::InvalidAttribute { .. } => MSGWIRE_STS_ERROR_ATTRIBUTE,
        _ => MSGWIRE_STS_ERROR_XML,
    };
    Error::new(status, e.to_string())
}

fn peer_error(e: PeerError) -> Error {
    let status = match &e {
        PeerError::Invalid(_) => MSGWIRE_STS_INVALID_MESSAGE,
        PeerError::Closed => MSGWIRE_STS_CLOSED,
        PeerError::TooManyTransactions => MSGWIRE_STS_TOO_MANY_TRANSACTIONS,
        PeerError::Answered => MSGWIRE_STS_ANSWERED,
        _ => MSGWIRE_STS_IO,
    };
    Error::new(status, e.to_string())
}

fn request_error(e: RequestError) -> Error {
    match e {
        RequestError::Send(p) => peer_error(p),
        RequestError::Error { status, error } => Error::new(
            MSGWIRE_STS_ERROR_REPLY,
            format!(
                "error reply {status}: code {} text {:?}",
                error.code, error.text
            ),
        ),
        RequestError::Timeout => Error::new(MSGWIRE_STS_TIMEOUT, "the request timed out"),
        RequestError::BadServerData(why) => Error::new(
            MSGWIRE_STS_BAD_SERVER_DATA,
            format!("bad server data: {why}"),
        ),
        other => Error::new(MSGWIRE_STS_BAD_SERVER_DATA, other.to_string()),
    }
}

fn millis(ms: u32) -> Option<Duration> {
    (ms != 0).then(|| Duration::from_millis(u64::from(ms)))
}

fn to_millis(d: Duration) -> u32 {
    u32::try_from(d.as_millis()).unwrap_or(u32::MAX)
}

// =============================================================== messages

/// One STS/1.0 message: a request line (`P /Protocol/Command STS/1.0`) or a
/// status line (`STS/1.0 200 OK`), headers in order, and a body.
///
/// Created by `msgwire_sts_message_new_request`,
/// `msgwire_sts_message_new_status`, `msgwire_sts_message_parse`,
/// `msgwire_sts_message_clone`, `msgwire_sts_client_request_one` and
/// `msgwire_sts_client_read`; released by `msgwire_sts_message_free`.
/// Messages lent to a callback belong to msgwire and are not freed.
///
/// Strings and body pointers read from a message stay valid until it is
/// modified (`_set_`/`_append_`/`_remove_`) or freed. Several threads may
/// read one message at once; modifying it needs exclusive access.
pub struct msgwire_sts_message {
    message: Message,
    texts: OnceLock<Texts>,
}

/// NUL-terminated copies of a message's strings, made on the first read.
struct Texts {
    method: Option<CText>,
    uri: Option<CText>,
    protocol: Option<CText>,
    command: Option<CText>,
    reason: Option<CText>,
    headers: Vec<(CText, CText)>,
}

impl Texts {
    fn of(m: &Message) -> Self {
        let (method, uri, reason) = match &m.start {
            StartLine::Request { method, uri } => {
                (Some(CText::new(method)), Some(CText::new(uri)), None)
            }
            StartLine::Status { reason, .. } => (None, None, Some(CText::new(reason))),
        };
        let (protocol, command) = match m.start.protocol_command() {
            Some((p, c)) => (Some(CText::new(p)), Some(CText::new(c))),
            None => (None, None),
        };
        Texts {
            method,
            uri,
            protocol,
            command,
            reason,
            headers: m
                .headers
                .iter()
                .map(|(n, v)| (CText::new(n), CText::new(v)))
                .collect(),
        }
    }
}

impl msgwire_sts_message {
    fn new(message: Message) -> Self {
        msgwire_sts_message {
            message,
            texts: OnceLock::new(),
        }
    }

    fn texts(&self) -> &Texts {
        self.texts.get_or_init(|| Texts::of(&self.message))
    }

    /// The message for modification; drops the lent strings.
    fn edit(&mut self) -> &mut Message {
        self.texts = OnceLock::new();
        &mut self.message
    }
}

/// A message pointer that may be NULL: its headers and body, or none.
///
/// # Safety
///
/// `m` is NULL or a live message.
unsafe fn headers_and_body(m: *const msgwire_sts_message) -> (Headers, Bytes) {
    // SAFETY: forwarded contract.
    match unsafe { m.as_ref() } {
        Some(m) => (m.message.headers.clone(), m.message.body.clone()),
        None => (Headers::new(), Bytes::new()),
    }
}

/// Whether `s` can be one segment of `/Protocol/Command`.
fn check_segment(s: &str, what: &str) -> Result<(), Error> {
    if s.is_empty()
        || s.chars()
            .any(|c| c == '/' || c.is_whitespace() || c.is_control())
    {
        return Err(Error::invalid(format!(
            "{what} {s:?} is empty or contains '/', a space or a control character"
        )));
    }
    Ok(())
}

fn check_header(name: &str, value: &str) -> Result<(), Error> {
    if name.is_empty()
        || name
            .chars()
            .any(|c| c == ':' || c.is_whitespace() || c.is_control())
    {
        return Err(Error::invalid(format!(
            "header name {name:?} is empty or contains ':', a space or a control character"
        )));
    }
    check_line_text(value, name)
}

fn check_line_text(value: &str, what: &str) -> Result<(), Error> {
    if value.contains(['\r', '\n', '\0']) {
        return Err(Error::invalid(format!(
            "{what} value {value:?} contains CR, LF or NUL"
        )));
    }
    Ok(())
}

/// Creates a request `P /<protocol>/<command> STS/1.0` with no headers and
/// an empty body. `protocol` and `command` are NUL-terminated, non-empty,
/// without `/`, spaces or control characters (`MSGWIRE_INVALID_ARGUMENT`
/// otherwise). On success `*out` receives a new message to release with
/// `msgwire_sts_message_free`.
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_sts_message_new_request(
    protocol: *const c_char,
    command: *const c_char,
    out: *mut *mut msgwire_sts_message,
) -> msgwire_status {
    guard(|| {
        // SAFETY: strings and a writable out-pointer per the header.
        let (p, c, out) = unsafe {
            (
                arg_str(protocol, "protocol")?,
                arg_str(command, "command")?,
                arg_out(out, "out")?,
            )
        };
        check_segment(p, "protocol")?;
        check_segment(c, "command")?;
        out.set(new_handle(msgwire_sts_message::new(Message::request(p, c))));
        Ok(())
    })
}

/// Creates a reply `STS/1.0 <code> <reason>` with no headers and an empty
/// body. `code` must be 100 to 999; `reason` may be NULL (empty) and may
/// contain spaces, not CR or LF (`MSGWIRE_INVALID_ARGUMENT` otherwise). On
/// success `*out` receives a new message to release with
/// `msgwire_sts_message_free`.
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_sts_message_new_status(
    code: u16,
    reason: *const c_char,
    out: *mut *mut msgwire_sts_message,
) -> msgwire_status {
    guard(|| {
        // SAFETY: a string or NULL and a writable out-pointer per the header.
        let (reason, out) = unsafe {
            (
                arg_opt_str(reason, "reason")?.unwrap_or(""),
                arg_out(out, "out")?,
            )
        };
        if !(100..=999).contains(&code) {
            return Err(Error::invalid(format!(
                "status code {code} is not within 100-999"
            )));
        }
        check_line_text(reason, "reason")?;
        out.set(new_handle(msgwire_sts_message::new(Message::status(
            code, reason,
        ))));
        Ok(())
    })
}

/// Copies a message (e.g. one lent to a callback, to keep it). On success
/// `*out` receives a new message to release with `msgwire_sts_message_free`.
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_sts_message_clone(
    message: *const msgwire_sts_message,
    out: *mut *mut msgwire_sts_message,
) -> msgwire_status {
    guard(|| {
        // SAFETY: a live message and a writable out-pointer per the header.
        let (m, out) = unsafe { (arg_ref(message, "message")?, arg_out(out, "out")?) };
        out.set(new_handle(msgwire_sts_message::new(m.message.clone())));
        Ok(())
    })
}

/// Parses exactly one complete message from `data[0..len]` (copied; `data`
/// may be NULL when `len` is 0). Header lines may end in CRLF or LF; blank
/// lines before the start line are skipped. The body is `Content-Length`
/// bytes (none without the header), at most 64 KiB; headers at most 32 KiB.
///
/// Errors, one status per kind of problem: `MSGWIRE_STS_PARSE_BAD_START_LINE`,
/// `_BAD_VERSION`, `_BAD_HEADER_LINE`, `_HEADER_TOO_LARGE`,
/// `_BODY_TOO_LARGE`, `_BAD_CONTENT_LENGTH`, `_INCOMPLETE` (the input
/// ends early) and `_TRAILING_DATA` (bytes follow the message). On success
/// `*out` receives a new message to release with `msgwire_sts_message_free`.
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_sts_message_parse(
    data: *const u8,
    len: usize,
    out: *mut *mut msgwire_sts_message,
) -> msgwire_status {
    guard(|| {
        // SAFETY: `len` readable bytes and a writable out-pointer per the
        // header.
        let (data, out) = unsafe { (arg_bytes(data, len, "data")?, arg_out(out, "out")?) };
        let message = parse_message(data).map_err(parse_error)?;
        out.set(new_handle(msgwire_sts_message::new(message)));
        Ok(())
    })
}

/// Releases a message; NULL is ignored. Never pass a message lent to a
/// callback.
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_sts_message_free(message: *mut msgwire_sts_message) {
    guard_value((), || {
        // SAFETY: NULL or a live owned handle, freed once, per the header.
        unsafe { free_handle(message) }
    })
}

/// Writes whether the message is a request (`true`) or a reply (`false`).
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_sts_message_is_request(
    message: *const msgwire_sts_message,
    out: *mut bool,
) -> msgwire_status {
    guard(|| {
        // SAFETY: a live message and a writable out-pointer per the header.
        let (m, out) = unsafe { (arg_ref(message, "message")?, arg_out(out, "out")?) };
        out.set(m.message.is_request());
        Ok(())
    })
}

fn text_of(
    message: *const msgwire_sts_message,
    out: *mut msgwire_str,
    pick: impl FnOnce(&Texts) -> Option<&CText>,
    missing: &str,
) -> msgwire_status {
    guard(|| {
        // SAFETY: a live message and a writable out-pointer per the header.
        let (m, out) = unsafe { (arg_ref(message, "message")?, arg_out(out, "out")?) };
        let text = pick(m.texts()).ok_or_else(|| Error::not_found(missing))?;
        out.set(text.view());
        Ok(())
    })
}

/// The method of a request (`"P"` for every request msgwire builds).
/// `*out` borrows from the message. `MSGWIRE_NOT_FOUND` for a reply.
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_sts_message_method(
    message: *const msgwire_sts_message,
    out: *mut msgwire_str,
) -> msgwire_status {
    text_of(message, out, |t| t.method.as_ref(), "a reply has no method")
}

/// The URI of a request (`"/Protocol/Command"`). `*out` borrows from the
/// message. `MSGWIRE_NOT_FOUND` for a reply.
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_sts_message_uri(
    message: *const msgwire_sts_message,
    out: *mut msgwire_str,
) -> msgwire_status {
    text_of(message, out, |t| t.uri.as_ref(), "a reply has no URI")
}

/// The protocol of a request whose URI is `/Protocol/Command` (two
/// non-empty segments). `*out` borrows from the message.
/// `MSGWIRE_NOT_FOUND` for a reply or another kind of URI.
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_sts_message_protocol(
    message: *const msgwire_sts_message,
    out: *mut msgwire_str,
) -> msgwire_status {
    text_of(
        message,
        out,
        |t| t.protocol.as_ref(),
        "not a /Protocol/Command request",
    )
}

/// The command of a request whose URI is `/Protocol/Command`. `*out`
/// borrows from the message. `MSGWIRE_NOT_FOUND` for a reply or another
/// kind of URI.
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_sts_message_command(
    message: *const msgwire_sts_message,
    out: *mut msgwire_str,
) -> msgwire_status {
    text_of(
        message,
        out,
        |t| t.command.as_ref(),
        "not a /Protocol/Command request",
    )
}

/// The reason phrase of a reply (may be empty or contain spaces). `*out`
/// borrows from the message. `MSGWIRE_NOT_FOUND` for a request.
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_sts_message_reason(
    message: *const msgwire_sts_message,
    out: *mut msgwire_str,
) -> msgwire_status {
    text_of(
        message,
        out,
        |t| t.reason.as_ref(),
        "a request has no reason phrase",
    )
}

/// The status code of a reply (400 and above: an error reply).
/// `MSGWIRE_NOT_FOUND` for a request.
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_sts_message_status_code(
    message: *const msgwire_sts_message,
    out: *mut u16,
) -> msgwire_status {
    guard(|| {
        // SAFETY: a live message and a writable out-pointer per the header.
        let (m, out) = unsafe { (arg_ref(message, "message")?, arg_out(out, "out")?) };
        let code = m
            .message
            .status_code()
            .ok_or_else(|| Error::not_found("a request has no status code"))?;
        out.set(code);
        Ok(())
    })
}

/// The value of header `name`. Names match without regard to letter case,
/// and a compact name equals its full name (`"l"`, `"Content-Length"` and
/// `"content-length"` find the same header). When the header appears more
/// than once the last occurrence wins (as python-sts reads it); use
/// `_header_at` to see every line. `*out` borrows from the message.
/// `MSGWIRE_NOT_FOUND` when there is no such header.
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_sts_message_header(
    message: *const msgwire_sts_message,
    name: *const c_char,
    out: *mut msgwire_str,
) -> msgwire_status {
    guard(|| {
        // SAFETY: a live message, a string and a writable out-pointer per
        // the header.
        let (m, name, out) = unsafe {
            (
                arg_ref(message, "message")?,
                arg_str(name, "name")?,
                arg_out(out, "out")?,
            )
        };
        let index = m
            .message
            .headers
            .iter()
            .enumerate()
            .filter(|(_, (n, _))| same_name(n, name))
            .map(|(i, _)| i)
            .last()
            .ok_or_else(|| Error::not_found(format!("no {name} header")))?;
        out.set(m.texts().headers[index].1.view());
        Ok(())
    })
}

/// The number of header lines.
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_sts_message_header_count(
    message: *const msgwire_sts_message,
    out: *mut usize,
) -> msgwire_status {
    guard(|| {
        // SAFETY: a live message and a writable out-pointer per the header.
        let (m, out) = unsafe { (arg_ref(message, "message")?, arg_out(out, "out")?) };
        out.set(m.message.headers.len());
        Ok(())
    })
}

/// The name and value of header line `index` (0-based, in message order),
/// names spelled as given or received. Both borrow from the message. An
/// index past the end is `MSGWIRE_INVALID_ARGUMENT`.
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_sts_message_header_at(
    message: *const msgwire_sts_message,
    index: usize,
    out_name: *mut msgwire_str,
    out_value: *mut msgwire_str,
) -> msgwire_status {
    guard(|| {
        // SAFETY: a live message and writable out-pointers per the header.
        let (m, out_name, out_value) = unsafe {
            (
                arg_ref(message, "message")?,
                arg_out(out_name, "out_name")?,
                arg_out(out_value, "out_value")?,
            )
        };
        let headers = &m.texts().headers;
        let (n, v) = headers.get(index).ok_or_else(|| {
            Error::invalid(format!(
                "header index {index} out of range (there are {})",
                headers.len()
            ))
        })?;
        out_name.set(n.view());
        out_value.set(v.view());
        Ok(())
    })
}

fn edit_header(
    message: *mut msgwire_sts_message,
    name: *const c_char,
    value: *const c_char,
    append: bool,
) -> msgwire_status {
    guard(|| {
        // SAFETY: exclusive access to a live message and two strings per
        // the header.
        let (m, name, value) = unsafe {
            (
                arg_mut(message, "message")?,
                arg_str(name, "name")?,
                arg_str(value, "value")?,
            )
        };
        check_header(name, value)?;
        let headers = &mut m.edit().headers;
        if append {
            headers.append(name, value);
        } else {
            headers.set(name, value);
        }
        Ok(())
    })
}

/// Sets header `name` to `value`: the first line of that header (either
/// name form, any case) takes the new name and value and keeps its place,
/// later lines of it are removed; when absent it is appended. The name
/// must not be empty or contain `:`, spaces or control characters, the
/// value must not contain CR, LF or NUL (`MSGWIRE_INVALID_ARGUMENT`).
/// `Content-Length` is always recomputed on encoding.
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_sts_message_set_header(
    message: *mut msgwire_sts_message,
    name: *const c_char,
    value: *const c_char,
) -> msgwire_status {
    edit_header(message, name, value, false)
}

/// Appends a header line, keeping existing lines of the same header (for
/// multi-value headers such as `Via`). Same rules as `_set_header`.
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_sts_message_append_header(
    message: *mut msgwire_sts_message,
    name: *const c_char,
    value: *const c_char,
) -> msgwire_status {
    edit_header(message, name, value, true)
}

/// Removes every line of header `name` (either name form, any case).
/// `MSGWIRE_NOT_FOUND` when there was none.
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_sts_message_remove_header(
    message: *mut msgwire_sts_message,
    name: *const c_char,
) -> msgwire_status {
    guard(|| {
        // SAFETY: exclusive access to a live message and a string per the
        // header.
        let (m, name) = unsafe { (arg_mut(message, "message")?, arg_str(name, "name")?) };
        if m.message.headers.contains(name) {
            m.edit().headers.remove(name);
            Ok(())
        } else {
            Err(Error::not_found(format!("no {name} header")))
        }
    })
}

/// Replaces the body with a copy of `data[0..len]` (`data` may be NULL
/// when `len` is 0).
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_sts_message_set_body(
    message: *mut msgwire_sts_message,
    data: *const u8,
    len: usize,
) -> msgwire_status {
    guard(|| {
        // SAFETY: exclusive access to a live message and `len` readable
        // bytes per the header.
        let (m, data) = unsafe { (arg_mut(message, "message")?, arg_bytes(data, len, "data")?) };
        m.edit().body = Bytes::copy_from_slice(data);
        Ok(())
    })
}

/// The body: `*out_data` points at `*out_len` bytes (never NULL, also for
/// an empty body). The bytes belong to the message (valid until it is
/// modified or freed) and are not NUL-terminated. A received XML body
/// usually ends with the LF the protocol puts after XML.
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_sts_message_body(
    message: *const msgwire_sts_message,
    out_data: *mut *const u8,
    out_len: *mut usize,
) -> msgwire_status {
    guard(|| {
        // SAFETY: a live message and writable out-pointers per the header.
        let (m, out_data, out_len) = unsafe {
            (
                arg_ref(message, "message")?,
                arg_out(out_data, "out_data")?,
                arg_out(out_len, "out_len")?,
            )
        };
        static NO_BYTES: [u8; 1] = [0];
        let body = &m.message.body;
        out_data.set(if body.is_empty() {
            NO_BYTES.as_ptr()
        } else {
            body.as_ptr()
        });
        out_len.set(body.len());
        Ok(())
    })
}

/// Encodes the message as it goes on the wire: the start line, the headers
/// in order with the compact names python-sts writes (`l`, `s`, `c`, ...;
/// other names as given), `Content-Length` computed from the body (in
/// place of one already there, else last), a blank line and the body. An
/// XML body (no `Content-Type`, or an XML one) gets a final LF when it has
/// none, so an empty ping encodes as `P /Sts/Ping STS/1.0\r\nl: 1\r\n\r\n\n`.
///
/// Copies into the caller's buffer: on success `*out_len` receives the
/// number of bytes written (no NUL is added). When `cap` is too small,
/// nothing is copied, `*out_len` receives the needed size and
/// `MSGWIRE_BUFFER_TOO_SMALL` is returned; `buf` may be NULL when `cap` is
/// 0, to ask for the size. A message that cannot be framed (e.g. a header
/// value with CR or LF set by other means) is `MSGWIRE_STS_INVALID_MESSAGE`.
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_sts_message_encode(
    message: *const msgwire_sts_message,
    buf: *mut u8,
    cap: usize,
    out_len: *mut usize,
) -> msgwire_status {
    guard(|| {
        // SAFETY: a live message and a caller buffer per the header.
        let (m, out) = unsafe { (arg_ref(message, "message")?, arg_buf(buf, cap, out_len)?) };
        let bytes = m
            .message
            .encode(&EncodeOptions::default())
            .map_err(encode_error)?;
        out.fill(&bytes, false)
    })
}

// =========================================================== error replies

/// The fields of an error reply body
/// `<Error code=".." server=".." module=".." line=".." text=".."/>`;
/// missing attributes read as 0 (or an empty text).
///
/// Filled by `msgwire_sts_error_reply_parse` and
/// `msgwire_sts_client_request_one`: then `text` is owned by the struct and
/// released with `msgwire_sts_error_reply_clear`. A struct lent to a reply
/// callback belongs to msgwire and is not cleared.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct msgwire_sts_error_reply {
    /// The error code (0 is success, 42 a timeout, 4 bad server data, 404
    /// an unknown command, or the server's own code).
    pub code: i64,
    /// Which server raised it.
    pub server: i64,
    /// Which module of the server raised it.
    pub module: i64,
    /// The source line that raised it.
    pub line: i64,
    /// The description, NUL-terminated; never NULL once filled.
    pub text: *mut c_char,
    /// The length of `text` without its NUL (authoritative: the text may
    /// contain NUL characters).
    pub text_len: usize,
}

/// A copy of `text` with a NUL, handed to C.
fn owned_text(text: &str) -> (*mut c_char, usize) {
    let mut v = Vec::with_capacity(text.len() + 1);
    v.extend_from_slice(text.as_bytes());
    v.push(0);
    let boxed: Box<[u8]> = v.into_boxed_slice();
    (Box::into_raw(boxed).cast::<c_char>(), text.len())
}

fn owned_error(e: &ErrorReply) -> msgwire_sts_error_reply {
    let (text, text_len) = owned_text(&e.text);
    msgwire_sts_error_reply {
        code: e.code,
        server: e.server,
        module: e.module,
        line: e.line,
        text,
        text_len,
    }
}

/// Writes the XML body of an error reply,
/// `<Error code="7" server="0" module="0" line="0" text="denied"/>`, into
/// `buf` (NUL-terminated; `*out_len` is the length without the NUL;
/// `MSGWIRE_BUFFER_TOO_SMALL` gives the needed length). `text` may be NULL
/// (empty); its `& < > "`, tab, CR and LF are escaped.
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_sts_error_reply_to_xml(
    code: i64,
    server: i64,
    module: i64,
    line: i64,
    text: *const c_char,
    buf: *mut c_char,
    cap: usize,
    out_len: *mut usize,
) -> msgwire_status {
    guard(|| {
        // SAFETY: a string or NULL and a caller buffer per the header.
        let (text, out) = unsafe {
            (
                arg_opt_str(text, "text")?.unwrap_or(""),
                arg_buf(buf.cast(), cap, out_len)?,
            )
        };
        let reply = ErrorReply {
            code,
            server,
            module,
            line,
            text: text.to_string(),
        };
        out.fill(reply.to_xml().as_bytes(), true)
    })
}

/// Reads an error reply body from `data[0..len]` (e.g. the body of a reply
/// with status 400 or above) into `*out`. The root element's name is not
/// checked, unknown attributes are ignored. Malformed XML (or not exactly
/// one root element) is `MSGWIRE_STS_ERROR_XML`, a non-integer `code`,
/// `server`, `module` or `line` is `MSGWIRE_STS_ERROR_ATTRIBUTE`. On success
/// `out->text` is owned by `*out`: release it with
/// `msgwire_sts_error_reply_clear`.
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_sts_error_reply_parse(
    data: *const u8,
    len: usize,
    out: *mut msgwire_sts_error_reply,
) -> msgwire_status {
    guard(|| {
        // SAFETY: `len` readable bytes and a writable out-pointer per the
        // header.
        let (data, out) = unsafe { (arg_bytes(data, len, "data")?, arg_out(out, "out")?) };
        let reply = ErrorReply::parse(data).map_err(error_body_error)?;
        out.set(owned_error(&reply));
        Ok(())
    })
}

/// Releases the text of an error reply filled by msgwire and sets `text`
/// to NULL and `text_len` to 0; the numbers are left as they are. NULL, or
/// a struct whose `text` is already NULL, is ignored, so clearing twice is
/// harmless. Never clear a struct lent to a callback.
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_sts_error_reply_clear(reply: *mut msgwire_sts_error_reply) {
    guard_value((), || {
        // SAFETY: NULL or a struct filled by msgwire per the header.
        let Some(r) = (unsafe { reply.as_mut() }) else {
            return;
        };
        if !r.text.is_null() {
            let slice = std::ptr::slice_from_raw_parts_mut(r.text.cast::<u8>(), r.text_len + 1);
            // SAFETY: `text` came from `owned_text` (a boxed slice of
            // text_len + 1 bytes) and is released once: it is reset below.
            drop(unsafe { Box::from_raw(slice) });
        }
        r.text = std::ptr::null_mut();
        r.text_len = 0;
    })
}

// ================================================================ the client

/// A client's settings. Fill it with `msgwire_sts_client_config_default`
/// and change what you need.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct msgwire_sts_client_config {
    /// Send a ping (`P /Sts/Ping`) after this many milliseconds without
    /// sending anything; 0 turns pings off. Default 5000 (python-sts).
    pub ping_interval_ms: u32,
    /// How long a request waits for each next reply before it times out,
    /// when the request call gives 0. Default 30000; must be at least 1.
    pub request_timeout_ms: u32,
    /// Bodies larger than this many bytes are sent as fragments. Default
    /// 65536 (the largest body a peer must accept); must be at least 1.
    pub fragment_size: u32,
}

/// Fills `*out` with the client defaults (those used when `connect` gets
/// NULL).
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_sts_client_config_default(
    out: *mut msgwire_sts_client_config,
) -> msgwire_status {
    guard(|| {
        // SAFETY: a writable out-pointer per the header.
        let out = unsafe { arg_out(out, "out")? };
        let c = ClientConfig::default();
        out.set(msgwire_sts_client_config {
            ping_interval_ms: c.peer.ping_interval.map_or(0, to_millis),
            request_timeout_ms: to_millis(c.peer.request_timeout),
            fragment_size: u32::try_from(c.peer.fragment_size).unwrap_or(u32::MAX),
        });
        Ok(())
    })
}

/// Checks and applies the settings client and server configs share.
fn apply_common(
    peer: &mut PeerConfig,
    request_timeout_ms: u32,
    fragment_size: u32,
) -> Result<(), Error> {
    if request_timeout_ms == 0 {
        return Err(Error::invalid("request_timeout_ms must be at least 1"));
    }
    if fragment_size == 0 {
        return Err(Error::invalid("fragment_size must be at least 1"));
    }
    peer.request_timeout = Duration::from_millis(u64::from(request_timeout_ms));
    peer.fragment_size = fragment_size as usize;
    Ok(())
}

/// Gives `peer` the C library's timer, which stops with the last handle
/// that holds its share (see `session_timer`).
fn share_timer(peer: &mut PeerConfig) -> Result<TimerShare, Error> {
    let (share, timer) = session_timer()?;
    peer.timer = Some(timer);
    Ok(share)
}

/// One STS client connection.
///
/// Created by `msgwire_sts_client_connect`, released by
/// `msgwire_sts_client_free`. Every other function on it may be called
/// from any thread, also at the same time.
pub struct msgwire_sts_client {
    // Field order is drop order: the connection goes before the share of
    // the timer.
    client: StsClient,
    /// The threads delivering replies to callbacks.
    _timer: TimerShare,
}

const _: () = {
    const fn shareable<T: Send + Sync>() {}
    shareable::<StsClient>();
    shareable::<StsServer>();
    shareable::<Responder>();
};

/// Connects to an STS server over TCP. `address` is `"host:port"`
/// (`"127.0.0.1:4000"`, `"example.net:4000"`, `"[::1]:4000"`); every
/// address the host resolves to is tried. `config` may be NULL for the
/// defaults (it is copied). Blocks until connected.
///
/// Errors: `MSGWIRE_STS_CONNECT` when the address does not resolve or
/// nobody accepts, `MSGWIRE_INVALID_ARGUMENT` for a bad configuration. On
/// success `*out` receives a client to release with
/// `msgwire_sts_client_free`.
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_sts_client_connect(
    address: *const c_char,
    config: *const msgwire_sts_client_config,
    out: *mut *mut msgwire_sts_client,
) -> msgwire_status {
    guard(|| {
        // SAFETY: a string, NULL or a readable config, and a writable
        // out-pointer per the header.
        let (address, cfg, out) = unsafe {
            (
                arg_str(address, "address")?,
                config.as_ref().copied(),
                arg_out(out, "out")?,
            )
        };
        let mut core = ClientConfig::default();
        if let Some(c) = cfg {
            apply_common(&mut core.peer, c.request_timeout_ms, c.fragment_size)?;
            core.peer.ping_interval = millis(c.ping_interval_ms);
        }
        let share = share_timer(&mut core.peer)?;
        let _mask = SigpipeBlocked::new();
        let client = StsClient::connect(address, core).map_err(|e| {
            Error::new(
                MSGWIRE_STS_CONNECT,
                format!("cannot connect to {address}: {e}"),
            )
        })?;
        out.set(new_handle(msgwire_sts_client {
            client,
            _timer: share,
        }));
        Ok(())
    })
}

/// Reads the protocol and command arguments of a send or request.
///
/// # Safety
///
/// As for `arg_str`.
unsafe fn arg_target<'a>(
    protocol: *const c_char,
    command: *const c_char,
) -> Result<(&'a str, &'a str), Error> {
    // SAFETY: forwarded contract.
    let (p, c) = unsafe { (arg_str(protocol, "protocol")?, arg_str(command, "command")?) };
    check_segment(p, "protocol")?;
    check_segment(c, "command")?;
    Ok((p, c))
}

/// Sends a simple message `P /<protocol>/<command>` (no reply is
/// expected) with the headers and body of `message`, or none when
/// `message` is NULL (its start line is ignored; it is copied). Returns
/// once the message is queued. Errors: `MSGWIRE_STS_CLOSED`,
/// `MSGWIRE_STS_INVALID_MESSAGE`.
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_sts_client_send(
    client: *const msgwire_sts_client,
    protocol: *const c_char,
    command: *const c_char,
    message: *const msgwire_sts_message,
) -> msgwire_status {
    guard(|| {
        // SAFETY: a live client, strings and NULL or a live message per the
        // header.
        let (c, (p, cmd), (headers, body)) = unsafe {
            (
                arg_ref(client, "client")?,
                arg_target(protocol, command)?,
                headers_and_body(message),
            )
        };
        c.client.send(p, cmd, headers, body).map_err(peer_error)
    })
}

/// What a reply-callback item is.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum msgwire_sts_reply_kind {
    /// A partial reply (status below 400); more items follow.
    Partial = 0,
    /// The final reply (status below 400); the last item.
    Final = 1,
    /// An error reply (status 400 or above, e.g. 404 for an unknown
    /// command); the last item.
    Error = 2,
    /// No reply came within the timeout; the last item. Replies arriving
    /// later are dropped.
    Timeout = 3,
    /// The request broke (replies out of sequence, a bad fragment, a
    /// malformed error body, the connection closing); the last item.
    Failed = 4,
}

/// One step of a request's outcome, lent to a
/// `msgwire_sts_reply_callback` for the duration of the call.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct msgwire_sts_reply_item {
    /// What happened.
    pub kind: msgwire_sts_reply_kind,
    /// The reply's status code (200 for partial and final replies); 0 for
    /// `TIMEOUT` and `FAILED`.
    pub status: u16,
    /// The reply (`PARTIAL`, `FINAL`, `ERROR`), lent for the call (copy it
    /// with `msgwire_sts_message_clone` to keep it); NULL otherwise.
    pub message: *const msgwire_sts_message,
    /// The fields of the error body (`ERROR`), lent for the call (never
    /// clear it); NULL otherwise.
    pub error: *const msgwire_sts_error_reply,
    /// Why the request failed (`FAILED`); an empty string otherwise. Lent
    /// for the call.
    pub failure: msgwire_str,
}

/// Receives the replies of a request sent with
/// `msgwire_sts_client_request`, in order: any number of `PARTIAL` items,
/// then exactly one last item (`FINAL`, `ERROR`, `TIMEOUT` or `FAILED`).
/// `item` and everything it points to are lent for this call only.
///
/// Runs on a thread msgwire starts for the request (never on the caller's
/// thread), one item at a time. It may call any msgwire function except
/// `msgwire_sts_client_free` of the same client; it should return soon.
pub type msgwire_sts_reply_callback =
    Option<unsafe extern "C" fn(user_data: *mut c_void, item: *const msgwire_sts_reply_item)>;

/// Releases a `user_data` given to msgwire with a callback. Called exactly
/// once, after the last callback that receives that `user_data` has
/// returned, or by the function that took it when that function fails.
pub type msgwire_sts_user_data_free = Option<unsafe extern "C" fn(user_data: *mut c_void)>;

/// A C function pointer with its `user_data`, released exactly once.
struct UserData {
    user_data: *mut c_void,
    free: msgwire_sts_user_data_free,
}

// SAFETY: the header makes the C side promise that its callbacks and
// `user_data_free` may run on msgwire's threads with this pointer; msgwire
// only passes the pointer along and never dereferences it.
unsafe impl Send for UserData {}
// SAFETY: as above; shared use only reads the pointer value.
unsafe impl Sync for UserData {}

impl Drop for UserData {
    fn drop(&mut self) {
        if let Some(free) = self.free {
            // SAFETY: the caller's release function with its own pointer;
            // drop runs once.
            unsafe { free(self.user_data) }
        }
    }
}

thread_local! {
    /// Set while this thread runs a reply or route callback.
    static IN_CALLBACK: Cell<bool> = const { Cell::new(false) };
}

/// Runs a C callback with the thread marked; a panic in msgwire's part of
/// it is contained (no C caller to report it to).
fn in_callback(f: impl FnOnce()) {
    let previous = IN_CALLBACK.with(|c| c.replace(true));
    guard_value((), f);
    IN_CALLBACK.with(|c| c.set(previous));
}

fn deliver(
    f: unsafe extern "C" fn(*mut c_void, *const msgwire_sts_reply_item),
    user_data: *mut c_void,
    item: ReplyItem,
) {
    let empty = CText::new("");
    let call = |kind,
                status,
                message: Option<&msgwire_sts_message>,
                error: Option<&msgwire_sts_error_reply>,
                failure: msgwire_str| {
        let item = msgwire_sts_reply_item {
            kind,
            status,
            message: message.map_or(std::ptr::null(), |m| m as *const _),
            error: error.map_or(std::ptr::null(), |e| e as *const _),
            failure,
        };
        // SAFETY: the caller's callback; `item` and what it points to
        // outlive the call, as documented.
        in_callback(|| unsafe { f(user_data, &item) });
    };
    match item {
        ReplyItem::Reply { message, is_final } => {
            let status = message.status_code().unwrap_or(200);
            let m = msgwire_sts_message::new(message);
            let kind = if is_final {
                msgwire_sts_reply_kind::Final
            } else {
                msgwire_sts_reply_kind::Partial
            };
            call(kind, status, Some(&m), None, empty.view());
        }
        ReplyItem::Error {
            status,
            error,
            message,
        } => {
            let m = msgwire_sts_message::new(message);
            let text = CText::new(&error.text);
            let view = text.view();
            let e = msgwire_sts_error_reply {
                code: error.code,
                server: error.server,
                module: error.module,
                line: error.line,
                text: view.ptr.cast_mut(),
                text_len: view.len,
            };
            call(
                msgwire_sts_reply_kind::Error,
                status,
                Some(&m),
                Some(&e),
                empty.view(),
            );
        }
        ReplyItem::Timeout => call(msgwire_sts_reply_kind::Timeout, 0, None, None, empty.view()),
        ReplyItem::Failed(why) => {
            let why = CText::new(&why);
            call(msgwire_sts_reply_kind::Failed, 0, None, None, why.view());
        }
        other => {
            let why = CText::new(&format!("{other:?}"));
            call(msgwire_sts_reply_kind::Failed, 0, None, None, why.view());
        }
    }
}

/// Sends a request `P /<protocol>/<command>` with the headers and body of
/// `message` (or none when NULL; its start line is ignored, it is copied)
/// and returns at once; the replies go to `callback` (see
/// `msgwire_sts_reply_callback`) on the connection's reader thread (the
/// timer thread for a timeout), one at a time and in order: it must not
/// block.
///
/// `timeout_ms` is how long to wait for each next reply; 0 uses the
/// client's `request_timeout_ms`. `user_data` is passed to every call of
/// `callback` and then to `user_data_free` (may be NULL), which runs once
/// after the last item, or before this function returns when it fails.
///
/// Errors (no callback is called then): `MSGWIRE_STS_CLOSED`,
/// `MSGWIRE_STS_TOO_MANY_TRANSACTIONS`, `MSGWIRE_STS_INVALID_MESSAGE`,
/// `MSGWIRE_NULL_PARAMETER` for a NULL callback.
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_sts_client_request(
    client: *const msgwire_sts_client,
    protocol: *const c_char,
    command: *const c_char,
    message: *const msgwire_sts_message,
    timeout_ms: u32,
    callback: msgwire_sts_reply_callback,
    user_data: *mut c_void,
    user_data_free: msgwire_sts_user_data_free,
) -> msgwire_status {
    guard(|| {
        // Released on every early return, or by the delivering thread.
        let data = UserData {
            user_data,
            free: user_data_free,
        };
        let f = callback.ok_or_else(|| Error::null("callback"))?;
        // SAFETY: a live client, strings and NULL or a live message per the
        // header.
        let (c, (p, cmd), (headers, body)) = unsafe {
            (
                arg_ref(client, "client")?,
                arg_target(protocol, command)?,
                headers_and_body(message),
            )
        };
        let mut request = Message::request(p, cmd);
        request.headers = headers;
        request.body = body;
        // `data` goes with the callback, which the peer drops after the
        // last item (or at once when sending fails): that releases it.
        c.client
            .peer()
            .request_with(request, millis(timeout_ms), move |item| {
                // The whole `UserData` (which is `Send`) is captured.
                let data = &data;
                deliver(f, data.user_data, item);
            })
            .map_err(peer_error)?;
        Ok(())
    })
}

/// Sends a request and waits for its one reply (at most `timeout_ms`; 0
/// uses the client's `request_timeout_ms`). The headers and body come from
/// `message` as for `msgwire_sts_client_request`.
///
/// * A final reply: `MSGWIRE_OK`, `*reply_out` receives it (a new message
///   to release with `msgwire_sts_message_free`).
/// * An error reply (e.g. 404 for an unknown command):
///   `MSGWIRE_STS_ERROR_REPLY`; when `error_out` is not NULL it receives
///   the error body's fields (release its text with
///   `msgwire_sts_error_reply_clear`), and `msgwire_last_error()` names the
///   status, code and text.
/// * No reply in time: `MSGWIRE_STS_TIMEOUT` (a later reply is dropped).
/// * Partial replies, replies out of sequence, the connection closing:
///   `MSGWIRE_STS_BAD_SERVER_DATA`.
/// * Not sent: `MSGWIRE_STS_CLOSED`, `MSGWIRE_STS_INVALID_MESSAGE`, ...
///
/// Blocks the calling thread; do not call it from a route callback.
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_sts_client_request_one(
    client: *const msgwire_sts_client,
    protocol: *const c_char,
    command: *const c_char,
    message: *const msgwire_sts_message,
    timeout_ms: u32,
    reply_out: *mut *mut msgwire_sts_message,
    error_out: *mut msgwire_sts_error_reply,
) -> msgwire_status {
    guard(|| {
        // SAFETY: a live client, strings, NULL or a live message, and
        // writable out-pointers per the header.
        let (c, (p, cmd), (headers, body), out) = unsafe {
            (
                arg_ref(client, "client")?,
                arg_target(protocol, command)?,
                headers_and_body(message),
                arg_out(reply_out, "reply_out")?,
            )
        };
        match c
            .client
            .request_one(p, cmd, headers, body, millis(timeout_ms))
        {
            Ok(reply) => {
                out.set(new_handle(msgwire_sts_message::new(reply)));
                Ok(())
            }
            Err(RequestError::Error { status, error }) => {
                // SAFETY: NULL or writable per the header.
                if let Some(e) = unsafe { error_out.as_mut() } {
                    *e = owned_error(&error);
                }
                Err(request_error(RequestError::Error { status, error }))
            }
            Err(e) => Err(request_error(e)),
        }
    })
}

/// Takes the next request or message the server sent on its own (not a
/// reply), waiting up to `timeout_ms` (0: only what has already arrived).
/// On success `*out` receives it (a new message to release with
/// `msgwire_sts_message_free`). When the server expects a reply, and
/// `responder_out` is not NULL, `*responder_out` receives a responder to
/// answer with and release with `msgwire_sts_responder_free`; otherwise it
/// is set to NULL (with a NULL `responder_out` such a request is never
/// answered and the server's request times out).
///
/// Returns `MSGWIRE_STS_TIMEOUT` when nothing came in time and
/// `MSGWIRE_STS_CLOSED` when nothing is left and the connection has
/// ended. Blocks the calling thread.
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_sts_client_read(
    client: *const msgwire_sts_client,
    timeout_ms: u32,
    out: *mut *mut msgwire_sts_message,
    responder_out: *mut *mut msgwire_sts_responder,
) -> msgwire_status {
    guard(|| {
        // SAFETY: a live client and writable out-pointers per the header.
        let (c, out) = unsafe { (arg_ref(client, "client")?, arg_out(out, "out")?) };
        let timeout = Duration::from_millis(u64::from(timeout_ms));
        // A message that arrived just before the end is still handed out.
        let got = c.client.read(Some(timeout)).or_else(|| {
            if c.client.is_closed() {
                c.client.read(Some(Duration::ZERO))
            } else {
                None
            }
        });
        match got {
            Some(m) => {
                let responder = m.responder.map(|r| msgwire_sts_responder { responder: r });
                // SAFETY: NULL or writable per the header.
                if let Some(slot) = unsafe { responder_out.as_mut() } {
                    *slot = responder.map_or(std::ptr::null_mut(), new_handle);
                }
                out.set(new_handle(msgwire_sts_message::new(m.message)));
                Ok(())
            }
            None if c.client.is_closed() => {
                Err(Error::new(MSGWIRE_STS_CLOSED, "the connection is closed"))
            }
            None => Err(Error::new(
                MSGWIRE_STS_TIMEOUT,
                format!("no message from the server within {timeout_ms} ms"),
            )),
        }
    })
}

/// Writes whether the connection has ended (closed by either side or
/// broken).
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_sts_client_is_closed(
    client: *const msgwire_sts_client,
    out: *mut bool,
) -> msgwire_status {
    guard(|| {
        // SAFETY: a live client and a writable out-pointer per the header.
        let (c, out) = unsafe { (arg_ref(client, "client")?, arg_out(out, "out")?) };
        out.set(c.client.is_closed());
        Ok(())
    })
}

/// Closes the connection gracefully: what is queued goes out, then the
/// connection ends; requests still waiting end with a `FAILED` item (or
/// `MSGWIRE_STS_BAD_SERVER_DATA`). Waits for the connection's threads
/// (bounded by a few seconds). The client must still be freed.
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_sts_client_close(client: *const msgwire_sts_client) -> msgwire_status {
    guard(|| {
        // SAFETY: a live client per the header.
        let c = unsafe { arg_ref(client, "client")? };
        c.client.close();
        Ok(())
    })
}

/// Closes the connection (as `_close`, if not done yet), waits until every
/// reply callback has returned and every `user_data_free` has run, and
/// releases the client. NULL is ignored. Must be the last call on the
/// client, and not made from one of its reply callbacks.
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_sts_client_free(client: *mut msgwire_sts_client) {
    guard_value((), || {
        if client.is_null() {
            return;
        }
        // SAFETY: a live handle, freed once, per the header.
        let c = unsafe { Box::from_raw(client) };
        c.client.close();
        c.client.peer().finish_callbacks();
        drop(c);
    })
}

// ================================================================ the server

/// A server's settings. Fill it with `msgwire_sts_server_config_default`
/// and change what you need.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct msgwire_sts_server_config {
    /// Close a connection on which nothing (not even a ping) arrived for
    /// this many milliseconds; 0 keeps idle connections. Default 30000
    /// (six missed client pings).
    pub idle_timeout_ms: u32,
    /// How long requests the server sends wait for replies. Default 30000;
    /// must be at least 1.
    pub request_timeout_ms: u32,
    /// Reply bodies larger than this many bytes are sent as fragments.
    /// Default 65536; must be at least 1.
    pub fragment_size: u32,
}

/// Fills `*out` with the server defaults (those used when `bind` gets
/// NULL).
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_sts_server_config_default(
    out: *mut msgwire_sts_server_config,
) -> msgwire_status {
    guard(|| {
        // SAFETY: a writable out-pointer per the header.
        let out = unsafe { arg_out(out, "out")? };
        let c = ServerConfig::default();
        out.set(msgwire_sts_server_config {
            idle_timeout_ms: c.peer.idle_timeout.map_or(0, to_millis),
            request_timeout_ms: to_millis(c.peer.request_timeout),
            fragment_size: u32::try_from(c.peer.fragment_size).unwrap_or(u32::MAX),
        });
        Ok(())
    })
}

/// Handles the requests and simple messages of one `/Protocol/Command`.
///
/// `request` is lent for this call only (copy it with
/// `msgwire_sts_message_clone` to keep it). `responder` is NULL for a
/// simple message (no reply expected); otherwise it belongs to the callback
/// from now on: answer through it (now, or later from any thread) and
/// release it with `msgwire_sts_responder_free`. A responder freed without
/// a final reply leaves the client to its timeout.
///
/// Runs on the reader thread of the connection the request came on, so it
/// must not block: answer at once, or keep the responder and answer from
/// another thread. Callbacks for different connections may run at the
/// same time. It must not call `msgwire_sts_server_free` or
/// `_shutdown`.
pub type msgwire_sts_route_callback = Option<
    unsafe extern "C" fn(
        user_data: *mut c_void,
        request: *const msgwire_sts_message,
        responder: *mut msgwire_sts_responder,
    ),
>;

/// The C side of one route. Callbacks read it; the server's `_free` (or a
/// replacing `_route`) empties it under the write lock, which waits for
/// running callbacks, and then releases `user_data`.
struct RouteSlot {
    slot: RwLock<
        Option<(
            unsafe extern "C" fn(
                *mut c_void,
                *const msgwire_sts_message,
                *mut msgwire_sts_responder,
            ),
            UserData,
        )>,
    >,
}

impl RouteSlot {
    fn call(&self, req: Request) {
        let slot = self.slot.read().unwrap_or_else(|e| e.into_inner());
        let Some((f, data)) = slot.as_ref() else {
            return;
        };
        let m = msgwire_sts_message::new(req.message);
        let responder = req.responder.map_or(std::ptr::null_mut(), |r| {
            new_handle(msgwire_sts_responder { responder: r })
        });
        // SAFETY: the caller's callback; `m` outlives the call and the
        // responder is handed over, as documented.
        in_callback(|| unsafe { f(data.user_data, &m, responder) });
    }

    /// Empties the slot (waiting for running callbacks) and releases the
    /// `user_data`.
    fn release(&self) {
        let taken = self.slot.write().unwrap_or_else(|e| e.into_inner()).take();
        drop(taken);
    }
}

/// A listening STS server.
///
/// Created by `msgwire_sts_server_bind`, released by
/// `msgwire_sts_server_free`. Every other function on it may be called
/// from any thread, also at the same time.
pub struct msgwire_sts_server {
    // Field order is drop order: the server goes before the connections
    // kept here, and those before the share of the timer.
    server: StsServer,
    routes: Mutex<HashMap<String, Arc<RouteSlot>>>,
    connections: Arc<Mutex<Connections>>,
    _timer: TimerShare,
}

/// Handles of the server's connections, kept so that the last handle of a
/// connection is never dropped on that connection's own reader thread.
///
/// The core drops its handles of a connection when the connection ends,
/// on the connection's reader thread, which cannot join itself: the thread
/// would then finish detached, possibly after the C program has freed the
/// server and returned from `main` (valgrind sees such a thread as leaked
/// memory). Holding one more handle here, and dropping ended connections
/// from another thread (the listener's, when the next client connects, or
/// the caller's in `_free`), makes every connection's threads joined.
#[derive(Default)]
struct Connections {
    live: HashMap<u64, ClientHandle>,
    ended: Vec<ClientHandle>,
}

fn track_connections(server: &StsServer) -> Arc<Mutex<Connections>> {
    let connections = Arc::new(Mutex::new(Connections::default()));
    let events = connections.clone();
    server.on_event(move |ev| match ev {
        ServerEvent::Connected(client) => {
            // On the listener thread: a good place to join the threads of
            // connections that ended meanwhile (outside the lock).
            let ended = {
                let mut c = events.lock().unwrap_or_else(|e| e.into_inner());
                c.live.insert(client.id(), client);
                std::mem::take(&mut c.ended)
            };
            drop(ended);
        }
        ServerEvent::Disconnected(client, _) => {
            let mut c = events.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(kept) = c.live.remove(&client.id()) {
                c.ended.push(kept);
            }
        }
        _ => {}
    });
    connections
}

/// Listens on `address` (`"127.0.0.1:0"`: any free port, see
/// `_local_port`; `"0.0.0.0:4000"`: every interface) and serves clients
/// from background threads. `config` may be NULL for the defaults (it is
/// copied). Requests for commands without a route get a 404 error reply
/// (`<Error code="404" text="unknown command /P/C"/>`); add routes with
/// `msgwire_sts_server_route`, before clients send requests.
///
/// Errors: `MSGWIRE_STS_LISTEN` when the address cannot be listened on,
/// `MSGWIRE_INVALID_ARGUMENT` for a bad configuration. On success `*out`
/// receives a server to release with `msgwire_sts_server_free`.
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_sts_server_bind(
    address: *const c_char,
    config: *const msgwire_sts_server_config,
    out: *mut *mut msgwire_sts_server,
) -> msgwire_status {
    guard(|| {
        // SAFETY: a string, NULL or a readable config, and a writable
        // out-pointer per the header.
        let (address, cfg, out) = unsafe {
            (
                arg_str(address, "address")?,
                config.as_ref().copied(),
                arg_out(out, "out")?,
            )
        };
        let mut core = ServerConfig::default();
        if let Some(c) = cfg {
            apply_common(&mut core.peer, c.request_timeout_ms, c.fragment_size)?;
            core.peer.idle_timeout = millis(c.idle_timeout_ms);
        }
        let share = share_timer(&mut core.peer)?;
        // The listener thread, and the connection threads it starts,
        // inherit the blocked SIGPIPE (see the endpoint module).
        let _mask = SigpipeBlocked::new();
        let server = StsServer::bind(address, core).map_err(|e| {
            Error::new(
                MSGWIRE_STS_LISTEN,
                format!("cannot listen on {address}: {e}"),
            )
        })?;
        let connections = track_connections(&server);
        out.set(new_handle(msgwire_sts_server {
            server,
            routes: Mutex::new(HashMap::new()),
            connections,
            _timer: share,
        }));
        Ok(())
    })
}

/// The port the server listens on (the one chosen for port 0).
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_sts_server_local_port(
    server: *const msgwire_sts_server,
    out: *mut u16,
) -> msgwire_status {
    guard(|| {
        // SAFETY: a live server and a writable out-pointer per the header.
        let (s, out) = unsafe { (arg_ref(server, "server")?, arg_out(out, "out")?) };
        out.set(s.server.local_addr().port());
        Ok(())
    })
}

/// Copies the address the server listens on (`"127.0.0.1:40123"`,
/// `"[::1]:40123"`) into `buf`, NUL-terminated, with its length (without
/// the NUL) in `*out_len`; `MSGWIRE_BUFFER_TOO_SMALL` gives the needed
/// length. 64 bytes always suffice.
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_sts_server_local_addr(
    server: *const msgwire_sts_server,
    buf: *mut c_char,
    cap: usize,
    out_len: *mut usize,
) -> msgwire_status {
    guard(|| {
        // SAFETY: a live server and a caller buffer per the header.
        let (s, out) = unsafe {
            (
                arg_ref(server, "server")?,
                arg_buf(buf.cast(), cap, out_len)?,
            )
        };
        out.fill(s.server.local_addr().to_string().as_bytes(), true)
    })
}

/// Calls `callback` for every request and simple message for
/// `/<protocol>/<command>` (see `msgwire_sts_route_callback`). Routing the
/// same command again replaces the route: the old callback is not called
/// any more and its `user_data_free` runs (after its running calls have
/// returned). `user_data` is passed to every call and released with
/// `user_data_free` (may be NULL) when the server is freed or the route
/// replaced, or before this function returns when it fails.
///
/// May be called from any thread, also while clients are connected, but
/// not from the callback of the route it replaces (the replacement waits
/// for that callback to return).
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_sts_server_route(
    server: *const msgwire_sts_server,
    protocol: *const c_char,
    command: *const c_char,
    callback: msgwire_sts_route_callback,
    user_data: *mut c_void,
    user_data_free: msgwire_sts_user_data_free,
) -> msgwire_status {
    guard(|| {
        let data = UserData {
            user_data,
            free: user_data_free,
        };
        let f = callback.ok_or_else(|| Error::null("callback"))?;
        // SAFETY: a live server and strings per the header.
        let (s, (p, c)) = unsafe { (arg_ref(server, "server")?, arg_target(protocol, command)?) };
        let slot = Arc::new(RouteSlot {
            slot: RwLock::new(Some((f, data))),
        });
        let mut routes = s.routes.lock().unwrap_or_else(|e| e.into_inner());
        let handler = slot.clone();
        s.server.route(p, c, move |req| handler.call(req));
        if let Some(old) = routes.insert(format!("/{p}/{c}"), slot) {
            old.release();
        }
        Ok(())
    })
}

/// Sends one simple message to every connected client (its start line, a
/// request line such as `P /Chat/Notice STS/1.0`, is sent as it is; the
/// message is copied and encoded once). `*count_out` (may be NULL)
/// receives how many clients took it. Errors: `MSGWIRE_STS_INVALID_MESSAGE`.
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_sts_server_broadcast(
    server: *const msgwire_sts_server,
    message: *const msgwire_sts_message,
    count_out: *mut usize,
) -> msgwire_status {
    guard(|| {
        // SAFETY: a live server and message per the header.
        let (s, m) = unsafe { (arg_ref(server, "server")?, arg_ref(message, "message")?) };
        let n = s.server.broadcast(&m.message, None).map_err(peer_error)?;
        // SAFETY: NULL or writable per the header.
        if let Some(out) = unsafe { count_out.as_mut() } {
            *out = n;
        }
        Ok(())
    })
}

/// The number of clients connected now.
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_sts_server_client_count(
    server: *const msgwire_sts_server,
    out: *mut usize,
) -> msgwire_status {
    guard(|| {
        // SAFETY: a live server and a writable out-pointer per the header.
        let (s, out) = unsafe { (arg_ref(server, "server")?, arg_out(out, "out")?) };
        out.set(s.server.clients().len());
        Ok(())
    })
}

/// Stops listening and closes every client connection (waiting for their
/// threads, a few seconds at most). Calling it again does nothing. The
/// server must still be freed. Not from a route callback.
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_sts_server_shutdown(server: *const msgwire_sts_server) -> msgwire_status {
    guard(|| {
        // SAFETY: a live server per the header.
        let s = unsafe { arg_ref(server, "server")? };
        if IN_CALLBACK.with(Cell::get) {
            return Err(Error::invalid(
                "shutdown waits for the connection threads and cannot be called from a callback",
            ));
        }
        s.server.shutdown();
        Ok(())
    })
}

/// Shuts the server down (as `_shutdown`), waits for running route
/// callbacks, releases every route's `user_data` and the server. NULL is
/// ignored. Must be the last call on the server, and not made from one of
/// its callbacks. Responders still held stay valid to free; answering
/// through them gives `MSGWIRE_STS_CLOSED`.
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_sts_server_free(server: *mut msgwire_sts_server) {
    guard_value((), || {
        if server.is_null() {
            return;
        }
        // SAFETY: a live handle, freed once, per the header.
        let s = unsafe { Box::from_raw(server) };
        s.server.shutdown();
        let routes: Vec<_> = s
            .routes
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .drain()
            .map(|(_, r)| r)
            .collect();
        for r in routes {
            r.release();
        }
        // Every connection is closed now; dropping the handles kept for
        // them joins what is left of their threads, on this thread.
        let kept = {
            let mut c = s.connections.lock().unwrap_or_else(|e| e.into_inner());
            let live: Vec<ClientHandle> = c.live.drain().map(|(_, h)| h).collect();
            (live, std::mem::take(&mut c.ended))
        };
        drop(kept);
        drop(s);
    })
}

// ============================================================== responders

/// Answers one request: any number of partial replies, then one final
/// reply or error reply.
///
/// Given to a route callback (or by `msgwire_sts_client_read`), released
/// by `msgwire_sts_responder_free`. May be used from any thread, also
/// after the callback returned; it does not keep the connection open.
pub struct msgwire_sts_responder {
    responder: Responder,
}

/// Headers holding a Content-Type, or none for NULL.
///
/// # Safety
///
/// As for `arg_opt_str`.
unsafe fn content_type_headers(content_type: *const c_char) -> Result<Headers, Error> {
    let mut headers = Headers::new();
    // SAFETY: forwarded contract.
    if let Some(ct) = unsafe { arg_opt_str(content_type, "content_type")? } {
        check_header("Content-Type", ct)?;
        headers.set("Content-Type", ct);
    }
    Ok(headers)
}

fn respond(
    responder: *const msgwire_sts_responder,
    data: *const u8,
    len: usize,
    content_type: *const c_char,
    last: bool,
) -> msgwire_status {
    guard(|| {
        // SAFETY: a live responder, `len` readable bytes and a string or
        // NULL per the header.
        let (r, body, headers) = unsafe {
            (
                arg_ref(responder, "responder")?,
                arg_bytes(data, len, "data")?,
                content_type_headers(content_type)?,
            )
        };
        let body = Bytes::copy_from_slice(body);
        let sent = if last {
            r.responder.reply(headers, body)
        } else {
            r.responder.partial(headers, body)
        };
        sent.map_err(peer_error)
    })
}

/// Sends a partial reply (status 200) carrying a copy of `data[0..len]`
/// (`data` may be NULL when `len` is 0) and, when `content_type` is not
/// NULL, that Content-Type (none means XML). Errors: `MSGWIRE_STS_ANSWERED`
/// after the final reply, `MSGWIRE_STS_CLOSED` when the connection is gone.
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_sts_responder_partial(
    responder: *const msgwire_sts_responder,
    data: *const u8,
    len: usize,
    content_type: *const c_char,
) -> msgwire_status {
    respond(responder, data, len, content_type, false)
}

/// Sends the final reply (status 200 OK), as `_partial` otherwise. Nothing
/// can be sent through the responder afterwards.
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_sts_responder_reply(
    responder: *const msgwire_sts_responder,
    data: *const u8,
    len: usize,
    content_type: *const c_char,
) -> msgwire_status {
    respond(responder, data, len, content_type, true)
}

/// Sends `reply` as the final reply: its status code and reason when it
/// has a status line (else 200 OK), its headers and body (copied).
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_sts_responder_reply_message(
    responder: *const msgwire_sts_responder,
    reply: *const msgwire_sts_message,
) -> msgwire_status {
    guard(|| {
        // SAFETY: a live responder and message per the header.
        let (r, m) = unsafe { (arg_ref(responder, "responder")?, arg_ref(reply, "reply")?) };
        let (code, reason) = match &m.message.start {
            StartLine::Status { code, reason } => (*code, reason.as_str()),
            StartLine::Request { .. } => (200, "OK"),
        };
        r.responder
            .reply_with_status(
                code,
                reason,
                m.message.headers.clone(),
                m.message.body.clone(),
            )
            .map_err(peer_error)
    })
}

/// Sends a final error reply: status `status` (400 or above, else
/// `MSGWIRE_INVALID_ARGUMENT`) with reason `reason` (NULL: `"Error"`) and
/// the body `<Error code="<code>" server="0" module="0" line="0"
/// text="<text>"/>` (`text` NULL: empty).
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_sts_responder_error(
    responder: *const msgwire_sts_responder,
    status: u16,
    reason: *const c_char,
    code: i64,
    text: *const c_char,
) -> msgwire_status {
    guard(|| {
        // SAFETY: a live responder and strings or NULL per the header.
        let (r, reason, text) = unsafe {
            (
                arg_ref(responder, "responder")?,
                arg_opt_str(reason, "reason")?.unwrap_or("Error"),
                arg_opt_str(text, "text")?.unwrap_or(""),
            )
        };
        if !(400..=999).contains(&status) {
            return Err(Error::invalid(format!(
                "an error reply needs a status from 400 to 999, not {status}"
            )));
        }
        check_line_text(reason, "reason")?;
        r.responder
            .error(status, reason, &ErrorReply::new(code, text))
            .map_err(peer_error)
    })
}

/// Writes whether the final reply (or error reply) went out.
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_sts_responder_is_answered(
    responder: *const msgwire_sts_responder,
    out: *mut bool,
) -> msgwire_status {
    guard(|| {
        // SAFETY: a live responder and a writable out-pointer per the header.
        let (r, out) = unsafe { (arg_ref(responder, "responder")?, arg_out(out, "out")?) };
        out.set(r.responder.is_answered());
        Ok(())
    })
}

/// Releases a responder; NULL is ignored. A request not answered yet is
/// left to the client's timeout.
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_sts_responder_free(responder: *mut msgwire_sts_responder) {
    guard_value((), || {
        // SAFETY: NULL or a live handle, freed once, per the header.
        unsafe { free_handle(responder) }
    })
}
