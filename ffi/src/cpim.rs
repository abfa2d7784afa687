//! Message/CPIM (RFC 3862) for C: parse a CPIM body and read its parts, or
//! build one from typed values, and encode it.
//!
//! # Objects
//!
//! * `msgwire_cpim_message` — an immutable message, from
//!   `msgwire_cpim_message_parse` or `msgwire_cpim_builder_build`. Every
//!   string it lends stays valid until it is freed; several threads may read
//!   it at once.
//! * `msgwire_cpim_builder` — collects the values of a message to build.
//!   Building does not consume it: it can build again, and must be freed on
//!   its own.
//!
//! A message keeps NUL-terminated copies of its header texts, made once
//! when it is created (CPIM headers are few and short); the payload is lent
//! straight from the message's own buffer, which holds the only copy made of
//! the input.

use std::ffi::c_char;

use bytes::Bytes;
use msgwire_core::msrp::cpim::{CpimBuilder, CpimMessage, DateTime, Identity, NamespacedHeader};

use crate::error::Error;
use crate::guard::{
    arg_buf, arg_bytes, arg_mut, arg_opt_str, arg_out, arg_ref, arg_str, free_handle, guard,
    guard_value, msgwire_str, new_handle, CText,
};
use crate::msgwire_status;

/// An RFC 3339 date-time with its time zone offset (the CPIM DateTime).
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct msgwire_cpim_datetime {
    /// The year, 0 to 9999.
    pub year: u16,
    /// The month, 1 to 12.
    pub month: u8,
    /// The day of the month, 1 to 31.
    pub day: u8,
    /// The hour, 0 to 23.
    pub hour: u8,
    /// The minute, 0 to 59.
    pub minute: u8,
    /// The second, 0 to 60 (60 is a leap second).
    pub second: u8,
    /// Fractions of a second, in nanoseconds.
    pub nanosecond: u32,
    /// The offset from UTC in minutes (`-08:00` is -480, `Z` is 0).
    pub offset_minutes: i16,
}

impl From<DateTime> for msgwire_cpim_datetime {
    fn from(d: DateTime) -> Self {
        msgwire_cpim_datetime {
            year: d.year,
            month: d.month,
            day: d.day,
            hour: d.hour,
            minute: d.minute,
            second: d.second,
            nanosecond: d.nanosecond,
            offset_minutes: d.offset_minutes,
        }
    }
}

impl From<msgwire_cpim_datetime> for DateTime {
    fn from(d: msgwire_cpim_datetime) -> Self {
        DateTime {
            year: d.year,
            month: d.month,
            day: d.day,
            hour: d.hour,
            minute: d.minute,
            second: d.second,
            nanosecond: d.nanosecond,
            offset_minutes: d.offset_minutes,
        }
    }
}

/// A sender or recipient (From, To, cc), borrowed from a message.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct msgwire_cpim_identity {
    /// The URI between the angle brackets.
    pub uri: msgwire_str,
    /// The display name, unquoted and unescaped (empty without one).
    pub display_name: msgwire_str,
    /// Whether the header has a display name.
    pub has_display_name: bool,
}

/// One message header as written, borrowed from a message.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct msgwire_cpim_header {
    /// The namespace prefix before the `.` (empty without one).
    pub prefix: msgwire_str,
    /// Whether the name has a prefix.
    pub has_prefix: bool,
    /// The name after the prefix.
    pub name: msgwire_str,
    /// The namespace URI the header belongs to.
    pub namespace_uri: msgwire_str,
    /// The `;name=value` parameters between the colon and the value, as
    /// written, leading `;` included (empty without any).
    pub params: msgwire_str,
    /// The value as written.
    pub value: msgwire_str,
}

/// A parsed or built Message/CPIM message.
///
/// Created by `msgwire_cpim_message_parse` or `msgwire_cpim_builder_build`,
/// released by `msgwire_cpim_message_free`. It never changes; strings and
/// bytes read from it stay valid until it is freed.
pub struct msgwire_cpim_message {
    msg: CpimMessage,
    texts: Texts,
}

struct IdentityText {
    uri: CText,
    display_name: Option<CText>,
}

impl IdentityText {
    fn of(id: &Identity) -> Self {
        IdentityText {
            uri: CText::new(&id.uri),
            display_name: id.display_name.as_deref().map(CText::new),
        }
    }

    fn view(&self) -> msgwire_cpim_identity {
        msgwire_cpim_identity {
            uri: self.uri.view(),
            display_name: self.display_name.as_ref().map_or_else(empty, CText::view),
            has_display_name: self.display_name.is_some(),
        }
    }
}

struct HeaderText {
    prefix: Option<CText>,
    name: CText,
    namespace: CText,
    params: CText,
    value: CText,
}

struct Texts {
    headers: Vec<HeaderText>,
    content_headers: Vec<(CText, CText)>,
    sender: Option<IdentityText>,
    recipients: Vec<IdentityText>,
    courtesy: Vec<IdentityText>,
    subjects: Vec<(Option<CText>, CText)>,
    namespaces: Vec<(Option<CText>, CText)>,
    required: Vec<CText>,
}

impl msgwire_cpim_message {
    fn new(msg: CpimMessage) -> Self {
        let texts = Texts {
            headers: msg
                .headers()
                .iter()
                .map(|h| HeaderText {
                    prefix: h.prefix.as_deref().map(CText::new),
                    name: CText::new(&h.name),
                    namespace: CText::new(&h.namespace),
                    params: CText::new(
                        &h.params
                            .iter()
                            .map(|(n, v)| format!(";{n}={v}"))
                            .collect::<String>(),
                    ),
                    value: CText::new(&h.value),
                })
                .collect(),
            content_headers: msg
                .content_headers()
                .iter()
                .map(|h| (CText::new(&h.name), CText::new(&h.value)))
                .collect(),
            sender: msg.sender().as_ref().map(IdentityText::of),
            recipients: msg.recipients().iter().map(IdentityText::of).collect(),
            courtesy: msg
                .courtesy_recipients()
                .iter()
                .map(IdentityText::of)
                .collect(),
            subjects: msg
                .subjects()
                .iter()
                .map(|s| (s.lang.as_deref().map(CText::new), CText::new(&s.text)))
                .collect(),
            namespaces: msg
                .namespaces()
                .iter()
                .map(|(p, u)| (p.as_deref().map(CText::new), CText::new(u)))
                .collect(),
            required: msg.required().iter().map(|n| CText::new(n)).collect(),
        };
        msgwire_cpim_message { msg, texts }
    }
}

fn index_error(what: &str, index: usize, count: usize) -> Error {
    Error::invalid(format!(
        "{what} index {index} out of range (there are {count})"
    ))
}

/// A NUL-terminated empty string that lives forever, lent for absent parts.
fn empty() -> msgwire_str {
    msgwire_str {
        ptr: c"".as_ptr(),
        len: 0,
    }
}

/// Parses a CPIM body (RFC 3862) from `data[0..len]`: message headers, an
/// empty line, the payload's MIME headers, an empty line, the payload. The
/// body starts at the first message header (MSRP carries `Message/CPIM` as
/// the chunk's own Content-Type). Lines end in CRLF.
///
/// The bytes are copied once; `data` may be reused when the call returns.
/// On success `*out` receives a new message to release with
/// `msgwire_cpim_message_free`. On failure a `MSGWIRE_CPIM_*` status says
/// what is wrong and `msgwire_last_error()` names the line; `*out` is not
/// written.
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_cpim_message_parse(
    data: *const u8,
    len: usize,
    out: *mut *mut msgwire_cpim_message,
) -> msgwire_status {
    guard(|| {
        // SAFETY: `data` holds `len` readable bytes (or len is 0) and `out`
        // is writable, per the header.
        let (data, out) = unsafe { (arg_bytes(data, len, "data")?, arg_out(out, "out")?) };
        let msg = CpimMessage::parse_slice(data)?;
        out.set(new_handle(msgwire_cpim_message::new(msg)));
        Ok(())
    })
}

/// Releases a message. NULL is ignored. Nothing read from it may be used
/// afterwards.
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_cpim_message_free(msg: *mut msgwire_cpim_message) {
    guard_value((), || {
        // SAFETY: NULL or a live handle, freed once, as the header requires.
        unsafe { free_handle(msg) }
    })
}

/// Encodes the message. A parsed message comes out byte for byte as it was
/// read (MIME headers with one space after their colon).
///
/// Copies into the caller's buffer (no NUL is added: the payload may be
/// binary). When `cap` is smaller than the encoding, nothing is copied,
/// `*out_len` receives the needed size and `MSGWIRE_BUFFER_TOO_SMALL` is
/// returned; `buf` may be NULL when `cap` is 0, to ask for the size.
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_cpim_message_encode(
    msg: *const msgwire_cpim_message,
    buf: *mut u8,
    cap: usize,
    out_len: *mut usize,
) -> msgwire_status {
    guard(|| {
        // SAFETY: live handle, a buffer of `cap` bytes and a writable length.
        let (msg, buf) = unsafe { (arg_ref(msg, "msg")?, arg_buf(buf, cap, out_len)?) };
        buf.fill(&msg.msg.encode(), false)
    })
}

/// The payload: `*out_data` points at `*out_len` bytes (never NULL, also
/// for an empty payload). Binary, not NUL-terminated; borrowed from the
/// message until it is freed.
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_cpim_message_content(
    msg: *const msgwire_cpim_message,
    out_data: *mut *const u8,
    out_len: *mut usize,
) -> msgwire_status {
    guard(|| {
        // SAFETY: live handle and writable out-pointers per the header.
        let (msg, out_data, out_len) = unsafe {
            (
                arg_ref(msg, "msg")?,
                arg_out(out_data, "out_data")?,
                arg_out(out_len, "out_len")?,
            )
        };
        let content = msg.msg.content();
        static NO_BYTES: [u8; 1] = [0];
        out_data.set(if content.is_empty() {
            NO_BYTES.as_ptr()
        } else {
            content.as_ptr()
        });
        out_len.set(content.len());
        Ok(())
    })
}

/// The payload's Content-Type as written, parameters included.
///
/// `*out` borrows from the message. `MSGWIRE_NOT_FOUND` when the payload
/// has no Content-Type header.
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_cpim_message_content_type(
    msg: *const msgwire_cpim_message,
    out: *mut msgwire_str,
) -> msgwire_status {
    guard(|| {
        // SAFETY: live handle and writable out-pointer per the header.
        let (msg, out) = unsafe { (arg_ref(msg, "msg")?, arg_out(out, "out")?) };
        let value = msg
            .texts
            .content_headers
            .iter()
            .find(|(n, _)| n.as_bytes().eq_ignore_ascii_case(b"content-type"))
            .map(|(_, v)| v.view())
            .ok_or_else(|| Error::not_found("no Content-Type header"))?;
        out.set(value);
        Ok(())
    })
}

/// The number of message headers (NS and Require lines included).
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_cpim_message_header_count(
    msg: *const msgwire_cpim_message,
    out: *mut usize,
) -> msgwire_status {
    guard(|| {
        // SAFETY: live handle and writable out-pointer per the header.
        let (msg, out) = unsafe { (arg_ref(msg, "msg")?, arg_out(out, "out")?) };
        out.set(msg.texts.headers.len());
        Ok(())
    })
}

/// The message header at `index` (0-based, in wire order); its strings
/// borrow from the message. `MSGWIRE_INVALID_ARGUMENT` past the end.
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_cpim_message_header(
    msg: *const msgwire_cpim_message,
    index: usize,
    out: *mut msgwire_cpim_header,
) -> msgwire_status {
    guard(|| {
        // SAFETY: live handle and writable out-pointer per the header.
        let (msg, out) = unsafe { (arg_ref(msg, "msg")?, arg_out(out, "out")?) };
        let headers = &msg.texts.headers;
        let h = headers
            .get(index)
            .ok_or_else(|| index_error("header", index, headers.len()))?;
        out.set(msgwire_cpim_header {
            prefix: h.prefix.as_ref().map_or_else(empty, CText::view),
            has_prefix: h.prefix.is_some(),
            name: h.name.view(),
            namespace_uri: h.namespace.view(),
            params: h.params.view(),
            value: h.value.view(),
        });
        Ok(())
    })
}

/// The number of MIME headers of the payload (Content-Type included).
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_cpim_message_content_header_count(
    msg: *const msgwire_cpim_message,
    out: *mut usize,
) -> msgwire_status {
    guard(|| {
        // SAFETY: live handle and writable out-pointer per the header.
        let (msg, out) = unsafe { (arg_ref(msg, "msg")?, arg_out(out, "out")?) };
        out.set(msg.texts.content_headers.len());
        Ok(())
    })
}

/// The payload's MIME header at `index` (0-based, in wire order): name and
/// value as written, borrowed from the message. `MSGWIRE_INVALID_ARGUMENT`
/// past the end.
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_cpim_message_content_header(
    msg: *const msgwire_cpim_message,
    index: usize,
    out_name: *mut msgwire_str,
    out_value: *mut msgwire_str,
) -> msgwire_status {
    guard(|| {
        // SAFETY: live handle and writable out-pointers per the header.
        let (msg, out_name, out_value) = unsafe {
            (
                arg_ref(msg, "msg")?,
                arg_out(out_name, "out_name")?,
                arg_out(out_value, "out_value")?,
            )
        };
        let list = &msg.texts.content_headers;
        let (n, v) = list
            .get(index)
            .ok_or_else(|| index_error("content header", index, list.len()))?;
        out_name.set(n.view());
        out_value.set(v.view());
        Ok(())
    })
}

/// The sender (the first From header), borrowed from the message.
/// `MSGWIRE_NOT_FOUND` without a From header.
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_cpim_message_sender(
    msg: *const msgwire_cpim_message,
    out: *mut msgwire_cpim_identity,
) -> msgwire_status {
    guard(|| {
        // SAFETY: live handle and writable out-pointer per the header.
        let (msg, out) = unsafe { (arg_ref(msg, "msg")?, arg_out(out, "out")?) };
        let sender = msg
            .texts
            .sender
            .as_ref()
            .ok_or_else(|| Error::not_found("no From header"))?;
        out.set(sender.view());
        Ok(())
    })
}

/// The number of recipients: To headers when `courtesy` is false, cc
/// headers when it is true.
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_cpim_message_recipient_count(
    msg: *const msgwire_cpim_message,
    courtesy: bool,
    out: *mut usize,
) -> msgwire_status {
    guard(|| {
        // SAFETY: live handle and writable out-pointer per the header.
        let (msg, out) = unsafe { (arg_ref(msg, "msg")?, arg_out(out, "out")?) };
        let list = if courtesy {
            &msg.texts.courtesy
        } else {
            &msg.texts.recipients
        };
        out.set(list.len());
        Ok(())
    })
}

/// The recipient at `index` of the To headers (`courtesy` false) or the cc
/// headers (`courtesy` true), borrowed from the message.
/// `MSGWIRE_INVALID_ARGUMENT` past the end.
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_cpim_message_recipient(
    msg: *const msgwire_cpim_message,
    courtesy: bool,
    index: usize,
    out: *mut msgwire_cpim_identity,
) -> msgwire_status {
    guard(|| {
        // SAFETY: live handle and writable out-pointer per the header.
        let (msg, out) = unsafe { (arg_ref(msg, "msg")?, arg_out(out, "out")?) };
        let list = if courtesy {
            &msg.texts.courtesy
        } else {
            &msg.texts.recipients
        };
        let id = list
            .get(index)
            .ok_or_else(|| index_error("recipient", index, list.len()))?;
        out.set(id.view());
        Ok(())
    })
}

/// The first DateTime header's value. `MSGWIRE_NOT_FOUND` without one.
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_cpim_message_datetime(
    msg: *const msgwire_cpim_message,
    out: *mut msgwire_cpim_datetime,
) -> msgwire_status {
    guard(|| {
        // SAFETY: live handle and writable out-pointer per the header.
        let (msg, out) = unsafe { (arg_ref(msg, "msg")?, arg_out(out, "out")?) };
        let dt = msg
            .msg
            .timestamp()
            .ok_or_else(|| Error::not_found("no DateTime header"))?;
        out.set(dt.into());
        Ok(())
    })
}

/// The number of Subject headers.
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_cpim_message_subject_count(
    msg: *const msgwire_cpim_message,
    out: *mut usize,
) -> msgwire_status {
    guard(|| {
        // SAFETY: live handle and writable out-pointer per the header.
        let (msg, out) = unsafe { (arg_ref(msg, "msg")?, arg_out(out, "out")?) };
        out.set(msg.texts.subjects.len());
        Ok(())
    })
}

/// The Subject at `index` (wire order): its text, unescaped, and its
/// language (`*out_has_lang` false and `*out_lang` empty without one).
/// Borrowed from the message. `MSGWIRE_INVALID_ARGUMENT` past the end.
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_cpim_message_subject(
    msg: *const msgwire_cpim_message,
    index: usize,
    out_lang: *mut msgwire_str,
    out_has_lang: *mut bool,
    out_text: *mut msgwire_str,
) -> msgwire_status {
    guard(|| {
        // SAFETY: live handle and writable out-pointers per the header.
        let (msg, out_lang, out_has_lang, out_text) = unsafe {
            (
                arg_ref(msg, "msg")?,
                arg_out(out_lang, "out_lang")?,
                arg_out(out_has_lang, "out_has_lang")?,
                arg_out(out_text, "out_text")?,
            )
        };
        let list = &msg.texts.subjects;
        let (lang, text) = list
            .get(index)
            .ok_or_else(|| index_error("subject", index, list.len()))?;
        out_lang.set(lang.as_ref().map_or_else(empty, CText::view));
        out_has_lang.set(lang.is_some());
        out_text.set(text.view());
        Ok(())
    })
}

/// The number of NS declarations.
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_cpim_message_namespace_count(
    msg: *const msgwire_cpim_message,
    out: *mut usize,
) -> msgwire_status {
    guard(|| {
        // SAFETY: live handle and writable out-pointer per the header.
        let (msg, out) = unsafe { (arg_ref(msg, "msg")?, arg_out(out, "out")?) };
        out.set(msg.texts.namespaces.len());
        Ok(())
    })
}

/// The NS declaration at `index` (wire order): the prefix
/// (`*out_has_prefix` false and `*out_prefix` empty for a default-namespace
/// declaration) and the namespace URI. Borrowed from the message.
/// `MSGWIRE_INVALID_ARGUMENT` past the end.
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_cpim_message_namespace(
    msg: *const msgwire_cpim_message,
    index: usize,
    out_prefix: *mut msgwire_str,
    out_has_prefix: *mut bool,
    out_uri: *mut msgwire_str,
) -> msgwire_status {
    guard(|| {
        // SAFETY: live handle and writable out-pointers per the header.
        let (msg, out_prefix, out_has_prefix, out_uri) = unsafe {
            (
                arg_ref(msg, "msg")?,
                arg_out(out_prefix, "out_prefix")?,
                arg_out(out_has_prefix, "out_has_prefix")?,
                arg_out(out_uri, "out_uri")?,
            )
        };
        let list = &msg.texts.namespaces;
        let (prefix, uri) = list
            .get(index)
            .ok_or_else(|| index_error("namespace", index, list.len()))?;
        out_prefix.set(prefix.as_ref().map_or_else(empty, CText::view));
        out_has_prefix.set(prefix.is_some());
        out_uri.set(uri.view());
        Ok(())
    })
}

/// The number of header names listed by Require headers.
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_cpim_message_required_count(
    msg: *const msgwire_cpim_message,
    out: *mut usize,
) -> msgwire_status {
    guard(|| {
        // SAFETY: live handle and writable out-pointer per the header.
        let (msg, out) = unsafe { (arg_ref(msg, "msg")?, arg_out(out, "out")?) };
        out.set(msg.texts.required.len());
        Ok(())
    })
}

/// The required header name at `index`, as written
/// (`MyFeatures.VitalMessageOption`), borrowed from the message.
/// `MSGWIRE_INVALID_ARGUMENT` past the end.
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_cpim_message_required(
    msg: *const msgwire_cpim_message,
    index: usize,
    out: *mut msgwire_str,
) -> msgwire_status {
    guard(|| {
        // SAFETY: live handle and writable out-pointer per the header.
        let (msg, out) = unsafe { (arg_ref(msg, "msg")?, arg_out(out, "out")?) };
        let list = &msg.texts.required;
        let name = list
            .get(index)
            .ok_or_else(|| index_error("required name", index, list.len()))?;
        out.set(name.view());
        Ok(())
    })
}

/// The current time in UTC from the system clock, for stamping a message
/// with `msgwire_cpim_builder_set_datetime`.
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_cpim_datetime_now(out: *mut msgwire_cpim_datetime) -> msgwire_status {
    guard(|| {
        // SAFETY: writable out-pointer per the header.
        let out = unsafe { arg_out(out, "out")? };
        out.set(DateTime::now_utc().into());
        Ok(())
    })
}

// ================================================================= builder

/// Collects the parts of a CPIM message to build.
///
/// Created by `msgwire_cpim_builder_new`, released by
/// `msgwire_cpim_builder_free`. Not for concurrent use. Values are checked
/// by `msgwire_cpim_builder_build`, which writes the headers in this order:
/// From, To, cc, DateTime, Subject, NS (one per namespace, before its first
/// use), Require, then the additional headers.
pub struct msgwire_cpim_builder {
    builder: CpimBuilder,
}

impl msgwire_cpim_builder {
    fn edit(&mut self, f: impl FnOnce(CpimBuilder) -> CpimBuilder) {
        let placeholder = CpimBuilder::new(String::new(), Bytes::new());
        let builder = std::mem::replace(&mut self.builder, placeholder);
        self.builder = f(builder);
    }
}

/// Starts a message whose payload is a copy of `data[0..len]` of MIME type
/// `content_type` (written as the first MIME header). On success `*out`
/// receives a builder to release with `msgwire_cpim_builder_free`.
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_cpim_builder_new(
    content_type: *const c_char,
    data: *const u8,
    len: usize,
    out: *mut *mut msgwire_cpim_builder,
) -> msgwire_status {
    guard(|| {
        // SAFETY: a NUL-terminated string, `len` readable bytes and a
        // writable out-pointer, per the header.
        let (content_type, data, out) = unsafe {
            (
                arg_str(content_type, "content_type")?,
                arg_bytes(data, len, "data")?,
                arg_out(out, "out")?,
            )
        };
        out.set(new_handle(msgwire_cpim_builder {
            builder: CpimBuilder::new(content_type, Bytes::copy_from_slice(data)),
        }));
        Ok(())
    })
}

/// Releases a builder. NULL is ignored. Messages it built are not affected.
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_cpim_builder_free(builder: *mut msgwire_cpim_builder) {
    guard_value((), || {
        // SAFETY: NULL or a live handle, freed once, as the header requires.
        unsafe { free_handle(builder) }
    })
}

/// Which header an identity goes to (`msgwire_cpim_builder_add_identity`).
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum msgwire_cpim_role {
    /// `From` (one; a second call replaces the first).
    From = 0,
    /// `To` (each call adds one).
    To = 1,
    /// `cc` (each call adds one).
    Cc = 2,
}

/// Adds an identity: the sender (`MSGWIRE_CPIM_ROLE_FROM`), a recipient
/// (`_TO`) or a courtesy recipient (`_CC`). `uri` is required;
/// `display_name` may be NULL. A display name that is not plain words is
/// quoted and escaped when built.
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_cpim_builder_add_identity(
    builder: *mut msgwire_cpim_builder,
    role: msgwire_cpim_role,
    uri: *const c_char,
    display_name: *const c_char,
) -> msgwire_status {
    guard(|| {
        // SAFETY: live handle and NUL-terminated strings per the header.
        let (b, uri, name) = unsafe {
            (
                arg_mut(builder, "builder")?,
                arg_str(uri, "uri")?,
                arg_opt_str(display_name, "display_name")?,
            )
        };
        let mut id = Identity::new(uri);
        id.display_name = name.map(str::to_string);
        b.edit(|bld| match role {
            msgwire_cpim_role::From => bld.sender(id),
            msgwire_cpim_role::To => bld.recipient(id),
            msgwire_cpim_role::Cc => bld.courtesy_recipient(id),
        });
        Ok(())
    })
}

/// Sets the DateTime. `MSGWIRE_INVALID_ARGUMENT` when a field is out of
/// range (a 30th of February, an offset of a day, ...).
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_cpim_builder_set_datetime(
    builder: *mut msgwire_cpim_builder,
    datetime: *const msgwire_cpim_datetime,
) -> msgwire_status {
    guard(|| {
        // SAFETY: live handle and a readable struct per the header.
        let (b, dt) = unsafe { (arg_mut(builder, "builder")?, arg_ref(datetime, "datetime")?) };
        let dt = DateTime::from(*dt);
        if !dt.is_valid() {
            return Err(Error::invalid(format!("date-time out of range: {dt:?}")));
        }
        b.edit(|bld| bld.timestamp(dt));
        Ok(())
    })
}

/// Adds a Subject with an optional language tag (`lang` may be NULL).
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_cpim_builder_add_subject(
    builder: *mut msgwire_cpim_builder,
    lang: *const c_char,
    text: *const c_char,
) -> msgwire_status {
    guard(|| {
        // SAFETY: live handle and NUL-terminated strings per the header.
        let (b, lang, text) = unsafe {
            (
                arg_mut(builder, "builder")?,
                arg_opt_str(lang, "lang")?,
                arg_str(text, "text")?,
            )
        };
        b.edit(|bld| bld.subject(lang, text));
        Ok(())
    })
}

/// Adds a header name (`Prefix.Name` or `Name`) to the Require header.
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_cpim_builder_add_require(
    builder: *mut msgwire_cpim_builder,
    name: *const c_char,
) -> msgwire_status {
    guard(|| {
        // SAFETY: live handle and a NUL-terminated string per the header.
        let (b, name) = unsafe { (arg_mut(builder, "builder")?, arg_str(name, "name")?) };
        b.edit(|bld| bld.require(name));
        Ok(())
    })
}

/// Adds an additional header `name` in the namespace `namespace_uri`, with
/// `value` written as given. `prefix` may be NULL: the builder then writes
/// no prefix for the CPIM namespace, reuses the prefix already bound to the
/// namespace, or makes up `nsN`. An NS line declares each namespace before
/// its first header.
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_cpim_builder_add_header(
    builder: *mut msgwire_cpim_builder,
    namespace_uri: *const c_char,
    prefix: *const c_char,
    name: *const c_char,
    value: *const c_char,
) -> msgwire_status {
    guard(|| {
        // SAFETY: live handle and NUL-terminated strings per the header.
        let (b, namespace, prefix, name, value) = unsafe {
            (
                arg_mut(builder, "builder")?,
                arg_str(namespace_uri, "namespace_uri")?,
                arg_opt_str(prefix, "prefix")?,
                arg_str(name, "name")?,
                arg_str(value, "value")?,
            )
        };
        let header = NamespacedHeader {
            namespace: namespace.to_string(),
            prefix: prefix.map(str::to_string),
            name: name.to_string(),
            value: value.to_string(),
        };
        b.edit(|bld| bld.header(header));
        Ok(())
    })
}

/// Adds a MIME header of the payload after Content-Type (`Content-ID`,
/// `Content-Disposition`, ...).
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_cpim_builder_add_content_header(
    builder: *mut msgwire_cpim_builder,
    name: *const c_char,
    value: *const c_char,
) -> msgwire_status {
    guard(|| {
        // SAFETY: live handle and NUL-terminated strings per the header.
        let (b, name, value) = unsafe {
            (
                arg_mut(builder, "builder")?,
                arg_str(name, "name")?,
                arg_str(value, "value")?,
            )
        };
        b.edit(|bld| bld.content_header(name, value));
        Ok(())
    })
}

/// Checks every value and builds a message; the builder stays usable. On
/// success `*out` receives a new message to release with
/// `msgwire_cpim_message_free`. `MSGWIRE_CPIM_INVALID_MESSAGE` when a value
/// cannot be encoded (a URI without a scheme, a bad name, a control
/// character, one prefix for two namespaces); the message says which.
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_cpim_builder_build(
    builder: *const msgwire_cpim_builder,
    out: *mut *mut msgwire_cpim_message,
) -> msgwire_status {
    guard(|| {
        // SAFETY: live handle and writable out-pointer per the header.
        let (b, out) = unsafe { (arg_ref(builder, "builder")?, arg_out(out, "out")?) };
        let msg = b.builder.clone().build()?;
        out.set(new_handle(msgwire_cpim_message::new(msg)));
        Ok(())
    })
}
