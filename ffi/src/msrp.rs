//! The MSRP wire layer (RFC 4975) for C: URIs, chunks, the streaming parser
//! and the response/report rules.
//!
//! # Objects
//!
//! * `msgwire_msrp_uri` — an immutable parsed URI.
//! * `msgwire_msrp_chunk` — one request or response (the core `Chunk`),
//!   parsed from bytes or built field by field, and encoded back to bytes.
//! * `msgwire_msrp_parser` — the incremental parser. It reports each chunk
//!   through callbacks as a head (start line and headers), body slices and an
//!   end flag, so bodies are never buffered.
//! * `msgwire_msrp_head` — a view of a chunk's head, lent to the `on_start`
//!   callback only.
//!
//! # Borrowed strings
//!
//! Core values keep their text in Rust `String`s, which are not
//! NUL-terminated. A handle therefore keeps NUL-terminated copies of its
//! strings (`CText`) and lends those as `msgwire_str`. For a chunk the copies
//! are made on the first read and dropped on the next modification, which is
//! exactly the documented lifetime of a borrowed string ("until the chunk is
//! modified or freed"); a chunk that is only built and encoded never pays for
//! them.
//!
//! # Input checks
//!
//! The core builds whatever it is given; text with CR or LF in a header
//! value, a transaction id or a comment would encode into a different (or
//! unparseable) message. The setters here reject such input with
//! `MSGWIRE_INVALID_ARGUMENT`, so a chunk built through the C API always
//! encodes to something the parser accepts as the same chunk.

use std::ffi::{c_char, c_void};
use std::sync::OnceLock;

use bytes::Bytes;
use msgwire_core::msrp::{
    make_report, make_response, parse_chunk, Chunk, ChunkBuilder, ChunkKind, Event, FailureReport,
    Flag, Head, Parser, ParserConfig, SuccessReport, Uri,
};

use crate::error::{msgwire_status, Error};
use crate::guard::{
    arg_buf, arg_bytes, arg_mut, arg_opt_str, arg_out, arg_ref, arg_str, free_handle, guard,
    msgwire_str, new_handle, CText,
};

// ===================================================================== URI

/// A parsed MSRP URI (`msrp[s]://[user@]host[:port][/session-id];transport[;params]`).
///
/// Created by `msgwire_msrp_uri_parse`, released by `msgwire_msrp_uri_free`.
/// It never changes after parsing, so several threads may read it at once.
/// Strings read from it stay valid until it is freed.
pub struct msgwire_msrp_uri {
    uri: Uri,
    host: CText,
    user: Option<CText>,
    session_id: Option<CText>,
    transport: CText,
    params: Vec<(CText, Option<CText>)>,
}

impl msgwire_msrp_uri {
    fn new(uri: Uri) -> Self {
        msgwire_msrp_uri {
            host: CText::new(&uri.host),
            user: uri.user.as_deref().map(CText::new),
            session_id: uri.session_id.as_deref().map(CText::new),
            transport: CText::new(&uri.transport),
            params: uri
                .params
                .iter()
                .map(|(n, v)| (CText::new(n), v.as_deref().map(CText::new)))
                .collect(),
            uri,
        }
    }
}

/// Parses an MSRP URI (RFC 4975 section 9).
///
/// `text` is a NUL-terminated UTF-8 string. On success `*out` receives a new
/// URI to release with `msgwire_msrp_uri_free`. On failure a
/// `MSGWIRE_MSRP_URI_*` status names the part that is wrong and
/// `msgwire_last_error()` quotes it; `*out` is not written.
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_msrp_uri_parse(
    text: *const c_char,
    out: *mut *mut msgwire_msrp_uri,
) -> msgwire_status {
    guard(|| {
        // SAFETY: the caller passes a NUL-terminated string and a writable
        // out-pointer, or NULL (reported).
        let (text, out) = unsafe { (arg_str(text, "text")?, arg_out(out, "out")?) };
        let uri: Uri = text.parse()?;
        out.set(new_handle(msgwire_msrp_uri::new(uri)));
        Ok(())
    })
}

/// Releases a URI. NULL is ignored. The URI and every string read from it
/// must not be used afterwards.
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_msrp_uri_free(uri: *mut msgwire_msrp_uri) {
    crate::guard::guard_value((), || {
        // SAFETY: `uri` is NULL or a live handle from msgwire_msrp_uri_parse,
        // freed once, as the header requires.
        unsafe { free_handle(uri) }
    })
}

/// Writes `true` to `*out` for `msrps` (TLS), `false` for `msrp`.
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_msrp_uri_secure(
    uri: *const msgwire_msrp_uri,
    out: *mut bool,
) -> msgwire_status {
    guard(|| {
        // SAFETY: live handle and writable out-pointer per the header.
        let (uri, out) = unsafe { (arg_ref(uri, "uri")?, arg_out(out, "out")?) };
        out.set(uri.uri.secure);
        Ok(())
    })
}

/// The host: a name, an IPv4 address, or an IPv6 address without brackets.
///
/// `*out` borrows from the URI (valid until `msgwire_msrp_uri_free`).
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_msrp_uri_host(
    uri: *const msgwire_msrp_uri,
    out: *mut msgwire_str,
) -> msgwire_status {
    guard(|| {
        // SAFETY: live handle and writable out-pointer per the header.
        let (uri, out) = unsafe { (arg_ref(uri, "uri")?, arg_out(out, "out")?) };
        out.set(uri.host.view());
        Ok(())
    })
}

/// The port. When the URI names one, `*out_port` receives it and
/// `*out_has_port` is `true`; otherwise `*out_port` is 0 and `*out_has_port`
/// is `false` (RFC 4975 gives no default: an absent port is not 2855 for
/// comparisons).
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_msrp_uri_port(
    uri: *const msgwire_msrp_uri,
    out_port: *mut u16,
    out_has_port: *mut bool,
) -> msgwire_status {
    guard(|| {
        // SAFETY: live handle and writable out-pointers per the header.
        let (uri, out_port, out_has_port) = unsafe {
            (
                arg_ref(uri, "uri")?,
                arg_out(out_port, "out_port")?,
                arg_out(out_has_port, "out_has_port")?,
            )
        };
        out_port.set(uri.uri.port.unwrap_or(0));
        out_has_port.set(uri.uri.port.is_some());
        Ok(())
    })
}

/// The session-id (the part after the authority's `/`).
///
/// `*out` borrows from the URI (valid until `msgwire_msrp_uri_free`).
/// Returns `MSGWIRE_NOT_FOUND` when the URI has no session-id.
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_msrp_uri_session_id(
    uri: *const msgwire_msrp_uri,
    out: *mut msgwire_str,
) -> msgwire_status {
    guard(|| {
        // SAFETY: live handle and writable out-pointer per the header.
        let (uri, out) = unsafe { (arg_ref(uri, "uri")?, arg_out(out, "out")?) };
        let sid = uri
            .session_id
            .as_ref()
            .ok_or_else(|| Error::not_found("the URI has no session-id"))?;
        out.set(sid.view());
        Ok(())
    })
}

/// The transport token (normally `tcp`), as written.
///
/// `*out` borrows from the URI (valid until `msgwire_msrp_uri_free`).
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_msrp_uri_transport(
    uri: *const msgwire_msrp_uri,
    out: *mut msgwire_str,
) -> msgwire_status {
    guard(|| {
        // SAFETY: live handle and writable out-pointer per the header.
        let (uri, out) = unsafe { (arg_ref(uri, "uri")?, arg_out(out, "out")?) };
        out.set(uri.transport.view());
        Ok(())
    })
}

/// The userinfo before `@`.
///
/// `*out` borrows from the URI (valid until `msgwire_msrp_uri_free`).
/// Returns `MSGWIRE_NOT_FOUND` when the URI has none.
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_msrp_uri_user(
    uri: *const msgwire_msrp_uri,
    out: *mut msgwire_str,
) -> msgwire_status {
    guard(|| {
        // SAFETY: live handle and writable out-pointer per the header.
        let (uri, out) = unsafe { (arg_ref(uri, "uri")?, arg_out(out, "out")?) };
        let user = uri
            .user
            .as_ref()
            .ok_or_else(|| Error::not_found("the URI has no userinfo"))?;
        out.set(user.view());
        Ok(())
    })
}

/// The number of `;name[=value]` parameters after the transport.
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_msrp_uri_param_count(
    uri: *const msgwire_msrp_uri,
    out: *mut usize,
) -> msgwire_status {
    guard(|| {
        // SAFETY: live handle and writable out-pointer per the header.
        let (uri, out) = unsafe { (arg_ref(uri, "uri")?, arg_out(out, "out")?) };
        out.set(uri.params.len());
        Ok(())
    })
}

/// The parameter at `index` (0-based, in URI order).
///
/// `*out_name` and `*out_value` borrow from the URI (valid until
/// `msgwire_msrp_uri_free`). A parameter without `=` has an empty
/// `*out_value` and `*out_has_value` set to `false`. Returns
/// `MSGWIRE_INVALID_ARGUMENT` when `index` is not below the count.
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_msrp_uri_param(
    uri: *const msgwire_msrp_uri,
    index: usize,
    out_name: *mut msgwire_str,
    out_value: *mut msgwire_str,
    out_has_value: *mut bool,
) -> msgwire_status {
    guard(|| {
        // SAFETY: live handle and writable out-pointers per the header.
        let (uri, out_name, out_value, out_has_value) = unsafe {
            (
                arg_ref(uri, "uri")?,
                arg_out(out_name, "out_name")?,
                arg_out(out_value, "out_value")?,
                arg_out(out_has_value, "out_has_value")?,
            )
        };
        let (name, value) = uri.params.get(index).ok_or_else(|| {
            Error::invalid(format!(
                "parameter index {index} out of range (the URI has {})",
                uri.params.len()
            ))
        })?;
        out_name.set(name.view());
        // An absent value is lent as the empty tail of the name.
        out_value.set(
            value
                .as_ref()
                .map_or(name.view_from(usize::MAX), CText::view),
        );
        out_has_value.set(value.is_some());
        Ok(())
    })
}

/// Writes the URI text (as parsed: the same spelling) into `buf`.
///
/// Copies into the caller's buffer: on success `buf` holds the text and a
/// NUL, and `*out_len` its length without the NUL. When `cap` is less than
/// that length + 1, nothing is copied, `*out_len` still receives the length
/// and `MSGWIRE_BUFFER_TOO_SMALL` is returned. `buf` may be NULL when `cap`
/// is 0, to ask for the length.
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_msrp_uri_format(
    uri: *const msgwire_msrp_uri,
    buf: *mut c_char,
    cap: usize,
    out_len: *mut usize,
) -> msgwire_status {
    guard(|| {
        // SAFETY: live handle, and a buffer of `cap` bytes plus a writable
        // length, per the header.
        let (uri, buf) = unsafe { (arg_ref(uri, "uri")?, arg_buf(buf.cast(), cap, out_len)?) };
        buf.fill(uri.uri.to_string().as_bytes(), true)
    })
}

/// Compares two URIs by the rules of RFC 4975 section 6.1: scheme, host and
/// transport without case, port exactly (absent never equals present),
/// session-id with case; userinfo and parameters are ignored.
/// Writes the answer to `*out_equal`.
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_msrp_uri_equal(
    a: *const msgwire_msrp_uri,
    b: *const msgwire_msrp_uri,
    out_equal: *mut bool,
) -> msgwire_status {
    guard(|| {
        // SAFETY: live handles and a writable out-pointer per the header.
        let (a, b, out) = unsafe {
            (
                arg_ref(a, "a")?,
                arg_ref(b, "b")?,
                arg_out(out_equal, "out_equal")?,
            )
        };
        out.set(a.uri == b.uri);
        Ok(())
    })
}

// =================================================================== chunk

/// One MSRP request or response: start line, headers, body and
/// continuation flag.
///
/// Created by `msgwire_msrp_chunk_parse`, `msgwire_msrp_chunk_new_request`,
/// `msgwire_msrp_chunk_new_response`, `msgwire_msrp_chunk_build_send`,
/// `msgwire_msrp_make_response`, `msgwire_msrp_make_report` or
/// `msgwire_msrp_head_to_chunk`; released by `msgwire_msrp_chunk_free`.
///
/// Strings and body pointers read from a chunk stay valid until the chunk
/// is modified (any `_set_`/`_add_`/`_remove_` function) or freed. Several
/// threads may read one chunk at once; modifying it needs exclusive access.
pub struct msgwire_msrp_chunk {
    pub(crate) chunk: Chunk,
    texts: OnceLock<Texts>,
}

/// NUL-terminated copies of a chunk's strings (see the module docs).
struct Texts {
    tid: CText,
    method: Option<CText>,
    comment: Option<CText>,
    headers: Vec<(CText, CText)>,
}

impl Texts {
    fn of(chunk: &Chunk) -> Self {
        let (method, comment) = match &chunk.kind {
            ChunkKind::Request { method } => (Some(CText::new(method)), None),
            ChunkKind::Response { comment, .. } => (None, comment.as_deref().map(CText::new)),
        };
        Texts {
            tid: CText::new(&chunk.transaction_id),
            method,
            comment,
            headers: chunk
                .headers
                .iter()
                .map(|h| (CText::new(&h.name), CText::new(&h.value)))
                .collect(),
        }
    }

    /// The first header called `name`, ignoring ASCII case (as the core's
    /// `Headers::get`).
    fn header(&self, name: &str) -> Option<&CText> {
        self.headers
            .iter()
            .find(|(n, _)| n.as_bytes().eq_ignore_ascii_case(name.as_bytes()))
            .map(|(_, v)| v)
    }
}

impl msgwire_msrp_chunk {
    pub(crate) fn new(chunk: Chunk) -> Self {
        msgwire_msrp_chunk {
            chunk,
            texts: OnceLock::new(),
        }
    }

    fn texts(&self) -> &Texts {
        self.texts.get_or_init(|| Texts::of(&self.chunk))
    }

    /// The chunk for modification; drops the lent strings.
    fn edit(&mut self) -> &mut Chunk {
        self.texts = OnceLock::new();
        &mut self.chunk
    }

    fn transaction_id(&self) -> msgwire_str {
        self.texts().tid.view()
    }

    fn method(&self) -> Result<msgwire_str, Error> {
        self.texts()
            .method
            .as_ref()
            .map(CText::view)
            .ok_or_else(|| Error::not_found("a response has no method"))
    }

    fn code(&self) -> Result<u16, Error> {
        self.chunk
            .code()
            .ok_or_else(|| Error::not_found("a request has no status code"))
    }

    fn comment(&self) -> Result<msgwire_str, Error> {
        if self.chunk.code().is_none() {
            return Err(Error::not_found("a request has no comment"));
        }
        self.texts()
            .comment
            .as_ref()
            .map(CText::view)
            .ok_or_else(|| Error::not_found("the response has no comment"))
    }

    fn header(&self, name: &str) -> Result<msgwire_str, Error> {
        self.texts()
            .header(name)
            .map(CText::view)
            .ok_or_else(|| Error::not_found(format!("no {name} header")))
    }

    fn header_at(&self, index: usize) -> Result<(msgwire_str, msgwire_str), Error> {
        let headers = &self.texts().headers;
        headers
            .get(index)
            .map(|(n, v)| (n.view(), v.view()))
            .ok_or_else(|| {
                Error::invalid(format!(
                    "header index {index} out of range (there are {})",
                    headers.len()
                ))
            })
    }
}

/// Parses one complete chunk from `data[0..len]` with the default parser
/// limits.
///
/// The bytes must hold exactly one chunk, end-line included (blank lines
/// after it are tolerated). A missing end-line is
/// `MSGWIRE_MSRP_PARSE_UNEXPECTED_EOF`; extra bytes after it are
/// `MSGWIRE_MSRP_PARSE_BAD_START_LINE`; other `MSGWIRE_MSRP_PARSE_*`
/// statuses describe malformed input. Header values are not decoded here
/// (see `msgwire_msrp_chunk_verify_headers`). The bytes are copied: `data`
/// may be reused as soon as the call returns. On success `*out` receives a
/// new chunk to release with `msgwire_msrp_chunk_free`.
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_msrp_chunk_parse(
    data: *const u8,
    len: usize,
    out: *mut *mut msgwire_msrp_chunk,
) -> msgwire_status {
    guard(|| {
        // SAFETY: `data` holds `len` readable bytes (or len is 0) and `out`
        // is writable, per the header.
        let (data, out) = unsafe { (arg_bytes(data, len, "data")?, arg_out(out, "out")?) };
        let chunk = parse_chunk(data)?;
        out.set(new_handle(msgwire_msrp_chunk::new(chunk)));
        Ok(())
    })
}

/// Releases a chunk. NULL is ignored. The chunk and every string or body
/// pointer read from it must not be used afterwards.
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_msrp_chunk_free(chunk: *mut msgwire_msrp_chunk) {
    crate::guard::guard_value((), || {
        // SAFETY: `chunk` is NULL or a live handle, freed once, as the
        // header requires.
        unsafe { free_handle(chunk) }
    })
}

/// The transaction id of the start line.
///
/// `*out` borrows from the chunk (valid until it is modified or freed).
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_msrp_chunk_transaction_id(
    chunk: *const msgwire_msrp_chunk,
    out: *mut msgwire_str,
) -> msgwire_status {
    guard(|| {
        // SAFETY: live handle and writable out-pointer per the header.
        let (chunk, out) = unsafe { (arg_ref(chunk, "chunk")?, arg_out(out, "out")?) };
        out.set(chunk.transaction_id());
        Ok(())
    })
}

/// Writes `true` to `*out` for a request (`MSRP <tid> <METHOD>`), `false`
/// for a response (`MSRP <tid> <code> [comment]`).
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_msrp_chunk_is_request(
    chunk: *const msgwire_msrp_chunk,
    out: *mut bool,
) -> msgwire_status {
    guard(|| {
        // SAFETY: live handle and writable out-pointer per the header.
        let (chunk, out) = unsafe { (arg_ref(chunk, "chunk")?, arg_out(out, "out")?) };
        out.set(chunk.chunk.method().is_some());
        Ok(())
    })
}

/// The method of a request (e.g. `SEND`, `REPORT`).
///
/// `*out` borrows from the chunk (valid until it is modified or freed).
/// Returns `MSGWIRE_NOT_FOUND` for a response.
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_msrp_chunk_method(
    chunk: *const msgwire_msrp_chunk,
    out: *mut msgwire_str,
) -> msgwire_status {
    guard(|| {
        // SAFETY: live handle and writable out-pointer per the header.
        let (chunk, out) = unsafe { (arg_ref(chunk, "chunk")?, arg_out(out, "out")?) };
        out.set(chunk.method()?);
        Ok(())
    })
}

/// The three-digit status code of a response.
///
/// Returns `MSGWIRE_NOT_FOUND` for a request.
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_msrp_chunk_code(
    chunk: *const msgwire_msrp_chunk,
    out: *mut u16,
) -> msgwire_status {
    guard(|| {
        // SAFETY: live handle and writable out-pointer per the header.
        let (chunk, out) = unsafe { (arg_ref(chunk, "chunk")?, arg_out(out, "out")?) };
        out.set(chunk.code()?);
        Ok(())
    })
}

/// The comment (reason phrase) of a response, e.g. `OK`.
///
/// `*out` borrows from the chunk (valid until it is modified or freed).
/// Returns `MSGWIRE_NOT_FOUND` for a request or a response without comment.
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_msrp_chunk_comment(
    chunk: *const msgwire_msrp_chunk,
    out: *mut msgwire_str,
) -> msgwire_status {
    guard(|| {
        // SAFETY: live handle and writable out-pointer per the header.
        let (chunk, out) = unsafe { (arg_ref(chunk, "chunk")?, arg_out(out, "out")?) };
        out.set(chunk.comment()?);
        Ok(())
    })
}

/// The value of the first header called `name` (compared without ASCII
/// case), as encoded on the wire, without the `: ` separator.
///
/// `*out` borrows from the chunk (valid until it is modified or freed).
/// Returns `MSGWIRE_NOT_FOUND` when there is no such header.
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_msrp_chunk_header(
    chunk: *const msgwire_msrp_chunk,
    name: *const c_char,
    out: *mut msgwire_str,
) -> msgwire_status {
    guard(|| {
        // SAFETY: live handle, NUL-terminated name and writable out-pointer
        // per the header.
        let (chunk, name, out) = unsafe {
            (
                arg_ref(chunk, "chunk")?,
                arg_str(name, "name")?,
                arg_out(out, "out")?,
            )
        };
        out.set(chunk.header(name)?);
        Ok(())
    })
}

/// The number of headers.
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_msrp_chunk_header_count(
    chunk: *const msgwire_msrp_chunk,
    out: *mut usize,
) -> msgwire_status {
    guard(|| {
        // SAFETY: live handle and writable out-pointer per the header.
        let (chunk, out) = unsafe { (arg_ref(chunk, "chunk")?, arg_out(out, "out")?) };
        out.set(chunk.chunk.headers.len());
        Ok(())
    })
}

/// The header at `index` (0-based), in the order the headers were received
/// or added. (Encoding writes them in RFC 4975 order: To-Path, From-Path,
/// the others, the `Content-*` headers, Content-Type last.)
///
/// `*out_name` and `*out_value` borrow from the chunk (valid until it is
/// modified or freed). Returns `MSGWIRE_INVALID_ARGUMENT` when `index` is not
/// below the count.
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_msrp_chunk_header_at(
    chunk: *const msgwire_msrp_chunk,
    index: usize,
    out_name: *mut msgwire_str,
    out_value: *mut msgwire_str,
) -> msgwire_status {
    guard(|| {
        // SAFETY: live handle and writable out-pointers per the header.
        let (chunk, out_name, out_value) = unsafe {
            (
                arg_ref(chunk, "chunk")?,
                arg_out(out_name, "out_name")?,
                arg_out(out_value, "out_value")?,
            )
        };
        let (name, value) = chunk.header_at(index)?;
        out_name.set(name);
        out_value.set(value);
        Ok(())
    })
}

/// The body: `*out_data` points at `*out_len` bytes (an empty body gives a
/// non-NULL pointer and length 0).
///
/// The bytes belong to the chunk (valid until it is modified or freed). The
/// body is binary: it is not NUL-terminated.
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_msrp_chunk_body(
    chunk: *const msgwire_msrp_chunk,
    out_data: *mut *const u8,
    out_len: *mut usize,
) -> msgwire_status {
    guard(|| {
        // SAFETY: live handle and writable out-pointers per the header.
        let (chunk, out_data, out_len) = unsafe {
            (
                arg_ref(chunk, "chunk")?,
                arg_out(out_data, "out_data")?,
                arg_out(out_len, "out_len")?,
            )
        };
        let data = &chunk.chunk.data;
        // Never hand out a dangling pointer, even for zero bytes.
        static NO_BYTES: [u8; 1] = [0];
        out_data.set(if data.is_empty() {
            NO_BYTES.as_ptr()
        } else {
            data.as_ptr()
        });
        out_len.set(data.len());
        Ok(())
    })
}

/// The continuation flag of the end-line: `'$'` (message complete), `'+'`
/// (more chunks follow) or `'#'` (message aborted).
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_msrp_chunk_flag(
    chunk: *const msgwire_msrp_chunk,
    out: *mut c_char,
) -> msgwire_status {
    guard(|| {
        // SAFETY: live handle and writable out-pointer per the header.
        let (chunk, out) = unsafe { (arg_ref(chunk, "chunk")?, arg_out(out, "out")?) };
        out.set(chunk.chunk.flag.as_byte() as c_char);
        Ok(())
    })
}

/// A decoded `Byte-Range: start-end/total` header. Positions count from 1
/// and `end` is inclusive, so an empty chunk is `1-0/0`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct msgwire_msrp_byte_range {
    /// Position of the chunk's first body byte in the whole message.
    pub start: u64,
    /// Position of its last byte; meaningful only when `has_end`.
    pub end: u64,
    /// `false` when the end is `*` (unknown).
    pub has_end: bool,
    /// Size of the whole message; meaningful only when `has_total`.
    pub total: u64,
    /// `false` when the total is `*` (unknown).
    pub has_total: bool,
}

/// The value of a `Failure-Report` header (RFC 4975 section 7.1.2).
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum msgwire_msrp_failure_report {
    /// `yes` (also when the header is absent): responses and failure REPORTs.
    Yes = 0,
    /// `no`: no responses, no REPORTs.
    No = 1,
    /// `partial`: only failure responses and failure REPORTs.
    Partial = 2,
}

/// The value of a `Success-Report` header (RFC 4975 section 7.1.2).
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum msgwire_msrp_success_report {
    /// `yes`: the sender wants a REPORT when the message arrives.
    Yes = 0,
    /// `no` (also when the header is absent).
    No = 1,
}

/// Decodes the Byte-Range header into `*out`.
///
/// Returns `MSGWIRE_NOT_FOUND` when the header is absent and
/// `MSGWIRE_MSRP_HEADER_BYTE_RANGE` when its value is malformed or
/// inconsistent (start 0, end before start, end past total).
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_msrp_chunk_byte_range(
    chunk: *const msgwire_msrp_chunk,
    out: *mut msgwire_msrp_byte_range,
) -> msgwire_status {
    guard(|| {
        // SAFETY: live handle and writable out-pointer per the header.
        let (chunk, out) = unsafe { (arg_ref(chunk, "chunk")?, arg_out(out, "out")?) };
        let range = chunk
            .chunk
            .byte_range()?
            .ok_or_else(|| Error::not_found("no Byte-Range header"))?;
        out.set(msgwire_msrp_byte_range {
            start: range.start,
            end: range.end.unwrap_or(0),
            has_end: range.end.is_some(),
            total: range.total.unwrap_or(0),
            has_total: range.total.is_some(),
        });
        Ok(())
    })
}

/// Decodes the Failure-Report header into `*out`; an absent header gives
/// the RFC default `MSGWIRE_MSRP_FAILURE_REPORT_YES`.
///
/// Returns `MSGWIRE_MSRP_HEADER_CHOICE` when the value is not `yes`, `no`
/// or `partial`.
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_msrp_chunk_failure_report(
    chunk: *const msgwire_msrp_chunk,
    out: *mut msgwire_msrp_failure_report,
) -> msgwire_status {
    guard(|| {
        // SAFETY: live handle and writable out-pointer per the header.
        let (chunk, out) = unsafe { (arg_ref(chunk, "chunk")?, arg_out(out, "out")?) };
        out.set(match chunk.chunk.failure_report()? {
            FailureReport::Yes => msgwire_msrp_failure_report::Yes,
            FailureReport::No => msgwire_msrp_failure_report::No,
            FailureReport::Partial => msgwire_msrp_failure_report::Partial,
        });
        Ok(())
    })
}

/// Decodes the Success-Report header into `*out`; an absent header gives
/// the RFC default `MSGWIRE_MSRP_SUCCESS_REPORT_NO`.
///
/// Returns `MSGWIRE_MSRP_HEADER_CHOICE` when the value is not `yes` or `no`.
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_msrp_chunk_success_report(
    chunk: *const msgwire_msrp_chunk,
    out: *mut msgwire_msrp_success_report,
) -> msgwire_status {
    guard(|| {
        // SAFETY: live handle and writable out-pointer per the header.
        let (chunk, out) = unsafe { (arg_ref(chunk, "chunk")?, arg_out(out, "out")?) };
        out.set(match chunk.chunk.success_report()? {
            SuccessReport::Yes => msgwire_msrp_success_report::Yes,
            SuccessReport::No => msgwire_msrp_success_report::No,
        });
        Ok(())
    })
}

/// Decodes the Status header of a REPORT (`000 <code> [comment]`).
///
/// `*out_code` receives the code and `*out_comment` the comment (length 0
/// when there is none); the comment borrows from the chunk (valid until it
/// is modified or freed). Returns `MSGWIRE_NOT_FOUND` when the header is
/// absent and `MSGWIRE_MSRP_HEADER_STATUS` when it is malformed.
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_msrp_chunk_status(
    chunk: *const msgwire_msrp_chunk,
    out_code: *mut u16,
    out_comment: *mut msgwire_str,
) -> msgwire_status {
    guard(|| {
        // SAFETY: live handle and writable out-pointers per the header.
        let (chunk, out_code, out_comment) = unsafe {
            (
                arg_ref(chunk, "chunk")?,
                arg_out(out_code, "out_code")?,
                arg_out(out_comment, "out_comment")?,
            )
        };
        let status = chunk
            .chunk
            .status()?
            .ok_or_else(|| Error::not_found("no Status header"))?;
        let value = chunk
            .texts()
            .header(msgwire_core::msrp::header::names::STATUS)
            .ok_or_else(|| Error::not_found("no Status header"))?;
        // The decoded comment is the tail of the encoded value, so it can be
        // lent from the value's NUL-terminated copy.
        let comment_len = status.comment.as_deref().map_or(0, str::len);
        out_code.set(status.code);
        out_comment.set(value.view_from(value.as_bytes().len() - comment_len));
        Ok(())
    })
}

/// Checks that To-Path and From-Path are present and that every header
/// whose type msgwire knows (paths, Byte-Range, Status, the report headers,
/// Expires, Digest headers, Content-*, ...) decodes.
///
/// Returns `MSGWIRE_OK`, or the `MSGWIRE_MSRP_HEADER_*` status of the first
/// problem (`msgwire_last_error()` names the header and value). A receiver
/// usually answers a request that fails this with 400.
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_msrp_chunk_verify_headers(
    chunk: *const msgwire_msrp_chunk,
) -> msgwire_status {
    guard(|| {
        // SAFETY: live handle per the header.
        let chunk = unsafe { arg_ref(chunk, "chunk")? };
        chunk.chunk.verify_headers()?;
        Ok(())
    })
}

/// The core's framing checks (transaction id, method, code, header names,
/// one-line values) as an invalid-argument error for C callers.
fn checked(r: Result<(), msgwire_core::msrp::EncodeError>) -> Result<(), Error> {
    r.map_err(|e| Error::invalid(e.to_string()))
}

/// Creates a request `MSRP <tid> <method>` with no headers, no body and
/// flag `'$'`.
///
/// `transaction_id` must follow RFC 4975 (4 to 32 letters, digits or
/// `.-+%=`, starting with a letter or digit) and `method` be upper-case
/// letters (or `_`); otherwise `MSGWIRE_INVALID_ARGUMENT`. On success `*out`
/// receives a new chunk to release with `msgwire_msrp_chunk_free`.
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_msrp_chunk_new_request(
    transaction_id: *const c_char,
    method: *const c_char,
    out: *mut *mut msgwire_msrp_chunk,
) -> msgwire_status {
    guard(|| {
        // SAFETY: NUL-terminated strings and a writable out-pointer per the
        // header.
        let (tid, method, out) = unsafe {
            (
                arg_str(transaction_id, "transaction_id")?,
                arg_str(method, "method")?,
                arg_out(out, "out")?,
            )
        };
        checked(msgwire_core::msrp::check_transaction_id(tid))?;
        checked(msgwire_core::msrp::check_method(method))?;
        out.set(new_handle(msgwire_msrp_chunk::new(Chunk::request(
            tid, method,
        ))));
        Ok(())
    })
}

/// Creates a response `MSRP <tid> <code> [comment]` with no headers and
/// flag `'$'`.
///
/// `code` must be at most 999; `comment` may be NULL (no comment) and must
/// not contain CR or LF; `transaction_id` as for
/// `msgwire_msrp_chunk_new_request`. On success `*out` receives a new chunk
/// to release with `msgwire_msrp_chunk_free`.
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_msrp_chunk_new_response(
    transaction_id: *const c_char,
    code: u16,
    comment: *const c_char,
    out: *mut *mut msgwire_msrp_chunk,
) -> msgwire_status {
    guard(|| {
        // SAFETY: NUL-terminated strings (comment may be NULL) and a
        // writable out-pointer per the header.
        let (tid, comment, out) = unsafe {
            (
                arg_str(transaction_id, "transaction_id")?,
                arg_opt_str(comment, "comment")?,
                arg_out(out, "out")?,
            )
        };
        checked(msgwire_core::msrp::check_transaction_id(tid))?;
        checked(msgwire_core::msrp::check_status_code(code))?;
        if let Some(c) = comment {
            checked(msgwire_core::msrp::check_text("comment", c))?;
        }
        out.set(new_handle(msgwire_msrp_chunk::new(Chunk::response(
            tid, code, comment,
        ))));
        Ok(())
    })
}

/// Sets header `name` to `value`: replaces the value of the first header of
/// that name (compared without ASCII case) in place, or appends a new
/// header.
///
/// `name` must be a token (letters, digits, `-.!%*_+`'~`) and `value` must
/// not contain CR or LF; otherwise `MSGWIRE_INVALID_ARGUMENT`. The value is
/// stored as given; typed headers are checked when read or by
/// `msgwire_msrp_chunk_verify_headers`. Invalidates strings previously read
/// from the chunk.
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_msrp_chunk_set_header(
    chunk: *mut msgwire_msrp_chunk,
    name: *const c_char,
    value: *const c_char,
) -> msgwire_status {
    guard(|| {
        // SAFETY: exclusive access to a live handle and NUL-terminated
        // strings per the header.
        let (chunk, name, value) = unsafe {
            (
                arg_mut(chunk, "chunk")?,
                arg_str(name, "name")?,
                arg_str(value, "value")?,
            )
        };
        checked(msgwire_core::msrp::check_header(name, ""))?;
        checked(msgwire_core::msrp::check_text("a header value", value))?;
        chunk.edit().headers.set(name, value);
        Ok(())
    })
}

/// Appends header `name: value`, even when a header of that name exists.
///
/// Same checks as `msgwire_msrp_chunk_set_header`. Invalidates strings
/// previously read from the chunk.
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_msrp_chunk_add_header(
    chunk: *mut msgwire_msrp_chunk,
    name: *const c_char,
    value: *const c_char,
) -> msgwire_status {
    guard(|| {
        // SAFETY: exclusive access to a live handle and NUL-terminated
        // strings per the header.
        let (chunk, name, value) = unsafe {
            (
                arg_mut(chunk, "chunk")?,
                arg_str(name, "name")?,
                arg_str(value, "value")?,
            )
        };
        checked(msgwire_core::msrp::check_header(name, ""))?;
        checked(msgwire_core::msrp::check_text("a header value", value))?;
        chunk.edit().headers.append(name, value);
        Ok(())
    })
}

/// Removes every header called `name` (compared without ASCII case).
/// Removing a header that is not there is not an error. Invalidates strings
/// previously read from the chunk.
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_msrp_chunk_remove_header(
    chunk: *mut msgwire_msrp_chunk,
    name: *const c_char,
) -> msgwire_status {
    guard(|| {
        // SAFETY: exclusive access to a live handle and a NUL-terminated
        // string per the header.
        let (chunk, name) = unsafe { (arg_mut(chunk, "chunk")?, arg_str(name, "name")?) };
        chunk.edit().headers.remove(name);
        Ok(())
    })
}

/// Replaces the body with a copy of `data[0..len]` (`data` may be NULL when
/// `len` is 0). The body may hold any bytes.
///
/// Note that a chunk is encoded with a body part (a blank line after the
/// headers) when it has data or a Content-Type header. Invalidates strings
/// and body pointers previously read from the chunk.
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_msrp_chunk_set_body(
    chunk: *mut msgwire_msrp_chunk,
    data: *const u8,
    len: usize,
) -> msgwire_status {
    guard(|| {
        // SAFETY: exclusive access to a live handle and `len` readable bytes
        // per the header.
        let (chunk, data) = unsafe { (arg_mut(chunk, "chunk")?, arg_bytes(data, len, "data")?) };
        chunk.edit().data = Bytes::copy_from_slice(data);
        Ok(())
    })
}

/// Sets the continuation flag: `'$'`, `'+'` or `'#'`; any other character
/// is `MSGWIRE_INVALID_ARGUMENT`.
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_msrp_chunk_set_flag(
    chunk: *mut msgwire_msrp_chunk,
    flag: c_char,
) -> msgwire_status {
    guard(|| {
        // SAFETY: exclusive access to a live handle per the header.
        let chunk = unsafe { arg_mut(chunk, "chunk")? };
        let flag = Flag::from_byte(flag as u8).ok_or_else(|| {
            Error::invalid(format!(
                "invalid flag {:?}: use '$', '+' or '#'",
                char::from(flag as u8)
            ))
        })?;
        chunk.edit().flag = flag;
        Ok(())
    })
}

/// Encodes the whole chunk (start line, headers in RFC 4975 order, body,
/// end-line) into `buf`, byte for byte as the core's `Chunk::encode`.
///
/// Copies into the caller's buffer: on success `*out_len` receives the
/// number of bytes written (no NUL is added: the chunk may hold binary
/// data). When `cap` is smaller than the encoding, nothing is copied,
/// `*out_len` still receives the needed size and `MSGWIRE_BUFFER_TOO_SMALL`
/// is returned; `buf` may be NULL when `cap` is 0, to ask for the size.
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_msrp_chunk_encode(
    chunk: *const msgwire_msrp_chunk,
    buf: *mut u8,
    cap: usize,
    out_len: *mut usize,
) -> msgwire_status {
    guard(|| {
        // SAFETY: live handle, a buffer of `cap` bytes and a writable length
        // per the header.
        let (chunk, buf) = unsafe { (arg_ref(chunk, "chunk")?, arg_buf(buf, cap, out_len)?) };
        buf.fill(&chunk.chunk.encode(), false)
    })
}

/// The response a receiver owes for `request` after handling it with
/// `code` (RFC 4975 section 7.2), as the core's `make_response`.
///
/// On success `*out` receives a new chunk to release with
/// `msgwire_msrp_chunk_free`, or NULL when no response is due
/// (`Failure-Report: no`, or `partial` with code 200); both return
/// `MSGWIRE_OK`. `comment` may be NULL. Fails with a
/// `MSGWIRE_MSRP_HEADER_*` status when To-Path, From-Path or Failure-Report
/// is missing or malformed, and with `MSGWIRE_INVALID_ARGUMENT` for a code
/// above 999 or a comment containing CR or LF.
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_msrp_make_response(
    request: *const msgwire_msrp_chunk,
    code: u16,
    comment: *const c_char,
    out: *mut *mut msgwire_msrp_chunk,
) -> msgwire_status {
    answer(request, code, comment, out, make_response)
}

/// The REPORT a receiver owes for `request` after handling it with `code`
/// (RFC 4975 section 7.1.2), as the core's `make_report`: when Success-Report is
/// `yes`, or for a failure (`code` other than 200) unless Failure-Report is
/// `no`. The REPORT gets a fresh random transaction id.
///
/// On success `*out` receives a new chunk to release with
/// `msgwire_msrp_chunk_free`, or NULL when no REPORT is due; both return
/// `MSGWIRE_OK`. `comment` may be NULL. Fails with a
/// `MSGWIRE_MSRP_HEADER_*` status when a header it needs (To-Path,
/// From-Path, Message-ID, the report headers, Byte-Range) is missing or
/// malformed, and with `MSGWIRE_INVALID_ARGUMENT` for a code above 999 or a
/// comment containing CR or LF.
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_msrp_make_report(
    request: *const msgwire_msrp_chunk,
    code: u16,
    comment: *const c_char,
    out: *mut *mut msgwire_msrp_chunk,
) -> msgwire_status {
    answer(request, code, comment, out, make_report)
}

/// `make_response` or `make_report` of the core.
type AnswerRule =
    fn(&Chunk, u16, Option<&str>) -> Result<Option<Chunk>, msgwire_core::msrp::HeaderError>;

/// Checks the code and comment of a response or REPORT to be built (also
/// used by `msgwire_msrp_transport_write_response`).
pub(crate) fn check_answer_args(code: u16, comment: Option<&str>) -> Result<(), Error> {
    checked(msgwire_core::msrp::check_status_code(code))?;
    if let Some(c) = comment {
        checked(msgwire_core::msrp::check_text("comment", c))?;
    }
    Ok(())
}

/// The common part of `msgwire_msrp_make_response` and
/// `msgwire_msrp_make_report`: checks the arguments, applies `rule` and
/// hands out its chunk (or NULL when none is due).
fn answer(
    request: *const msgwire_msrp_chunk,
    code: u16,
    comment: *const c_char,
    out: *mut *mut msgwire_msrp_chunk,
    rule: AnswerRule,
) -> msgwire_status {
    guard(|| {
        // SAFETY: live handle, an optional NUL-terminated string and a
        // writable out-pointer per the header.
        let (request, comment, out) = unsafe {
            (
                arg_ref(request, "request")?,
                arg_opt_str(comment, "comment")?,
                arg_out(out, "out")?,
            )
        };
        check_answer_args(code, comment)?;
        let answer = rule(&request.chunk, code, comment)?;
        out.set(answer.map_or(std::ptr::null_mut(), |c| {
            new_handle(msgwire_msrp_chunk::new(c))
        }));
        Ok(())
    })
}

/// Builds a SEND carrying the whole message `data[0..len]` in one chunk,
/// as the core's `ChunkBuilder`: random transaction id and Message-ID,
/// To-Path and From-Path as given (encoded path values: URIs separated by
/// spaces), `Byte-Range: 1-len/len`, Content-Type when `content_type` is not
/// NULL, and flag `'$'`.
///
/// `data` may be NULL when `len` is 0. The paths and the content type must
/// not contain CR or LF (`MSGWIRE_INVALID_ARGUMENT`) and the result must
/// pass `msgwire_msrp_chunk_verify_headers` (else its
/// `MSGWIRE_MSRP_HEADER_*` status). On success `*out` receives a new chunk
/// to release with `msgwire_msrp_chunk_free`.
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_msrp_chunk_build_send(
    to_path: *const c_char,
    from_path: *const c_char,
    data: *const u8,
    len: usize,
    content_type: *const c_char,
    out: *mut *mut msgwire_msrp_chunk,
) -> msgwire_status {
    guard(|| {
        // SAFETY: NUL-terminated strings (content_type may be NULL), `len`
        // readable bytes and a writable out-pointer per the header.
        let (to, from, data, content_type, out) = unsafe {
            (
                arg_str(to_path, "to_path")?,
                arg_str(from_path, "from_path")?,
                arg_bytes(data, len, "data")?,
                arg_opt_str(content_type, "content_type")?,
                arg_out(out, "out")?,
            )
        };
        checked(msgwire_core::msrp::check_text("to_path", to))?;
        checked(msgwire_core::msrp::check_text("from_path", from))?;
        let mut builder = ChunkBuilder::send(Bytes::copy_from_slice(data));
        if let Some(ct) = content_type {
            checked(msgwire_core::msrp::check_text("content_type", ct))?;
            builder = builder.content_type(ct);
        }
        let chunk = builder.build(to, from);
        chunk.verify_headers()?;
        out.set(new_handle(msgwire_msrp_chunk::new(chunk)));
        Ok(())
    })
}

// ==================================================================== head

/// The start line and headers of a chunk being parsed, lent to the
/// `on_start` callback.
///
/// Valid only during that callback call: neither the head nor any string
/// read from it may be used after the callback returns (copy what you need,
/// or take a chunk with `msgwire_msrp_head_to_chunk`). Never freed by the
/// caller.
pub struct msgwire_msrp_head {
    chunk: msgwire_msrp_chunk,
    raw: CText,
}

impl msgwire_msrp_head {
    fn of(head: &Head<'_>) -> Self {
        msgwire_msrp_head {
            chunk: msgwire_msrp_chunk::new(head.to_chunk()),
            raw: CText::new(head.raw()),
        }
    }
}

/// The transaction id. `*out` is valid during the `on_start` call only.
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_msrp_head_transaction_id(
    head: *const msgwire_msrp_head,
    out: *mut msgwire_str,
) -> msgwire_status {
    guard(|| {
        // SAFETY: the head lent to the running callback and a writable
        // out-pointer per the header.
        let (head, out) = unsafe { (arg_ref(head, "head")?, arg_out(out, "out")?) };
        out.set(head.chunk.transaction_id());
        Ok(())
    })
}

/// Writes `true` to `*out` for a request, `false` for a response.
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_msrp_head_is_request(
    head: *const msgwire_msrp_head,
    out: *mut bool,
) -> msgwire_status {
    guard(|| {
        // SAFETY: the head lent to the running callback and a writable
        // out-pointer per the header.
        let (head, out) = unsafe { (arg_ref(head, "head")?, arg_out(out, "out")?) };
        out.set(head.chunk.chunk.method().is_some());
        Ok(())
    })
}

/// The method of a request; `MSGWIRE_NOT_FOUND` for a response. `*out` is
/// valid during the `on_start` call only.
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_msrp_head_method(
    head: *const msgwire_msrp_head,
    out: *mut msgwire_str,
) -> msgwire_status {
    guard(|| {
        // SAFETY: the head lent to the running callback and a writable
        // out-pointer per the header.
        let (head, out) = unsafe { (arg_ref(head, "head")?, arg_out(out, "out")?) };
        out.set(head.chunk.method()?);
        Ok(())
    })
}

/// The status code of a response; `MSGWIRE_NOT_FOUND` for a request.
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_msrp_head_code(
    head: *const msgwire_msrp_head,
    out: *mut u16,
) -> msgwire_status {
    guard(|| {
        // SAFETY: the head lent to the running callback and a writable
        // out-pointer per the header.
        let (head, out) = unsafe { (arg_ref(head, "head")?, arg_out(out, "out")?) };
        out.set(head.chunk.code()?);
        Ok(())
    })
}

/// The comment of a response; `MSGWIRE_NOT_FOUND` for a request or a
/// response without one. `*out` is valid during the `on_start` call only.
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_msrp_head_comment(
    head: *const msgwire_msrp_head,
    out: *mut msgwire_str,
) -> msgwire_status {
    guard(|| {
        // SAFETY: the head lent to the running callback and a writable
        // out-pointer per the header.
        let (head, out) = unsafe { (arg_ref(head, "head")?, arg_out(out, "out")?) };
        out.set(head.chunk.comment()?);
        Ok(())
    })
}

/// The value of the first header called `name` (compared without ASCII
/// case); `MSGWIRE_NOT_FOUND` when absent. `*out` is valid during the
/// `on_start` call only.
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_msrp_head_header(
    head: *const msgwire_msrp_head,
    name: *const c_char,
    out: *mut msgwire_str,
) -> msgwire_status {
    guard(|| {
        // SAFETY: the head lent to the running callback, a NUL-terminated
        // name and a writable out-pointer per the header.
        let (head, name, out) = unsafe {
            (
                arg_ref(head, "head")?,
                arg_str(name, "name")?,
                arg_out(out, "out")?,
            )
        };
        out.set(head.chunk.header(name)?);
        Ok(())
    })
}

/// The number of header lines.
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_msrp_head_header_count(
    head: *const msgwire_msrp_head,
    out: *mut usize,
) -> msgwire_status {
    guard(|| {
        // SAFETY: the head lent to the running callback and a writable
        // out-pointer per the header.
        let (head, out) = unsafe { (arg_ref(head, "head")?, arg_out(out, "out")?) };
        out.set(head.chunk.chunk.headers.len());
        Ok(())
    })
}

/// The header at `index` (0-based, in the order received);
/// `MSGWIRE_INVALID_ARGUMENT` when `index` is not below the count. The
/// strings are valid during the `on_start` call only.
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_msrp_head_header_at(
    head: *const msgwire_msrp_head,
    index: usize,
    out_name: *mut msgwire_str,
    out_value: *mut msgwire_str,
) -> msgwire_status {
    guard(|| {
        // SAFETY: the head lent to the running callback and writable
        // out-pointers per the header.
        let (head, out_name, out_value) = unsafe {
            (
                arg_ref(head, "head")?,
                arg_out(out_name, "out_name")?,
                arg_out(out_value, "out_value")?,
            )
        };
        let (name, value) = head.chunk.header_at(index)?;
        out_name.set(name);
        out_value.set(value);
        Ok(())
    })
}

/// The start line and header lines exactly as received, CRLFs included
/// (and the blank line that opens a body, when there is one). `*out` is
/// valid during the `on_start` call only.
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_msrp_head_raw(
    head: *const msgwire_msrp_head,
    out: *mut msgwire_str,
) -> msgwire_status {
    guard(|| {
        // SAFETY: the head lent to the running callback and a writable
        // out-pointer per the header.
        let (head, out) = unsafe { (arg_ref(head, "head")?, arg_out(out, "out")?) };
        out.set(head.raw.view());
        Ok(())
    })
}

/// Copies the head into a new chunk (start line and headers, empty body,
/// flag `'$'`) that outlives the callback, e.g. to pass to
/// `msgwire_msrp_make_response` or to collect the body into with
/// `msgwire_msrp_chunk_set_body`. Release it with `msgwire_msrp_chunk_free`.
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_msrp_head_to_chunk(
    head: *const msgwire_msrp_head,
    out: *mut *mut msgwire_msrp_chunk,
) -> msgwire_status {
    guard(|| {
        // SAFETY: the head lent to the running callback and a writable
        // out-pointer per the header.
        let (head, out) = unsafe { (arg_ref(head, "head")?, arg_out(out, "out")?) };
        out.set(new_handle(msgwire_msrp_chunk::new(
            head.chunk.chunk.clone(),
        )));
        Ok(())
    })
}

// ================================================================== parser

/// Limits and leniency of a streaming parser (the core's `ParserConfig`).
/// Fill it with `msgwire_msrp_parser_config_default` and adjust.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct msgwire_msrp_parser_config {
    /// Longest start line or header line accepted, in bytes, CRLF excluded.
    /// Default 16384.
    pub max_line_len: usize,
    /// Most header lines accepted in one chunk. Default 64.
    pub max_headers: usize,
    /// Largest body accepted in one chunk, in bytes. Default 64 MiB. The
    /// parser never holds a body, so streaming consumers may raise it.
    pub max_body_len: u64,
    /// `false` (default): a body may run up to four times past the length
    /// its Byte-Range announces (senders that count characters instead of
    /// bytes, and several RFC 4975 examples, get it wrong). `true`: not at
    /// all. Past the limit the parser reports
    /// `MSGWIRE_MSRP_PARSE_BODY_EXCEEDS_BYTE_RANGE` and resynchronises.
    pub strict_byte_range: bool,
}

impl From<ParserConfig> for msgwire_msrp_parser_config {
    fn from(c: ParserConfig) -> Self {
        msgwire_msrp_parser_config {
            max_line_len: c.max_line_len,
            max_headers: c.max_headers,
            max_body_len: c.max_body_len,
            strict_byte_range: c.strict_byte_range,
        }
    }
}

impl From<msgwire_msrp_parser_config> for ParserConfig {
    fn from(c: msgwire_msrp_parser_config) -> Self {
        ParserConfig {
            max_line_len: c.max_line_len,
            max_headers: c.max_headers,
            max_body_len: c.max_body_len,
            strict_byte_range: c.strict_byte_range,
        }
    }
}

/// Called when the start line and headers of a chunk are complete.
///
/// `user_data` is the pointer given to `msgwire_msrp_parser_feed`. `head` is
/// lent for this call only (see `msgwire_msrp_head`). Called on the thread
/// that called `msgwire_msrp_parser_feed`, from inside that call, never
/// concurrently for one parser. The callback must not call functions on the
/// parser that is running it.
pub type msgwire_msrp_start_callback =
    Option<unsafe extern "C" fn(user_data: *mut c_void, head: *const msgwire_msrp_head)>;

/// Called with each slice of the current chunk's body, in order; the slices
/// of one chunk concatenated are its body. A body may arrive in any number
/// of slices (or none for an empty body), whatever the feed sizes.
///
/// `data` points at `len` bytes lent for this call only (they may be inside
/// the caller's input or the parser's buffer). Same thread rules as
/// `msgwire_msrp_start_callback`.
pub type msgwire_msrp_data_callback =
    Option<unsafe extern "C" fn(user_data: *mut c_void, data: *const u8, len: usize)>;

/// Called when a chunk's end-line has been read, with its flag: `'$'`
/// (message complete), `'+'` (more chunks follow) or `'#'` (aborted). Same
/// thread rules as `msgwire_msrp_start_callback`.
pub type msgwire_msrp_end_callback =
    Option<unsafe extern "C" fn(user_data: *mut c_void, flag: c_char)>;

/// The callbacks `msgwire_msrp_parser_feed` reports to. Each may be NULL to
/// ignore that kind of event. For every chunk the parser calls `on_start`
/// once, `on_data` zero or more times, then `on_end` once, unless a parse
/// error interrupts the chunk: `msgwire_msrp_parser_feed` then returns the
/// error and that chunk gets no `on_end` (the next event, if any, is the
/// `on_start` of a later chunk).
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct msgwire_msrp_callbacks {
    /// The head of a chunk is complete (may be NULL).
    pub on_start: msgwire_msrp_start_callback,
    /// A slice of body bytes (may be NULL).
    pub on_data: msgwire_msrp_data_callback,
    /// The chunk ended (may be NULL).
    pub on_end: msgwire_msrp_end_callback,
}

/// An incremental MSRP parser: feed it bytes as they arrive, in slices of
/// any size, and it reports chunks through callbacks.
///
/// Created by `msgwire_msrp_parser_new`, released by
/// `msgwire_msrp_parser_free`. It holds at most one start line and header
/// block plus a few bytes of a possible end-line, never a body. Use one
/// parser per connection, from one thread at a time.
pub struct msgwire_msrp_parser {
    parser: Parser,
    error_tid: Option<CText>,
}

impl msgwire_msrp_parser {
    /// Records the transaction id of an error and turns it into a status.
    fn fail(&mut self, e: msgwire_core::msrp::ParseError) -> Error {
        self.error_tid = e.transaction_id.as_deref().map(CText::new);
        e.into()
    }
}

/// Fills `*cfg` with the default limits (those used when
/// `msgwire_msrp_parser_new` gets NULL).
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_msrp_parser_config_default(
    cfg: *mut msgwire_msrp_parser_config,
) -> msgwire_status {
    guard(|| {
        // SAFETY: a writable out-pointer per the header.
        let cfg = unsafe { arg_out(cfg, "cfg")? };
        cfg.set(ParserConfig::default().into());
        Ok(())
    })
}

/// Creates a parser with the limits in `*cfg`, or the defaults when `cfg`
/// is NULL. The configuration is copied. On success `*out` receives a new
/// parser to release with `msgwire_msrp_parser_free`.
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_msrp_parser_new(
    cfg: *const msgwire_msrp_parser_config,
    out: *mut *mut msgwire_msrp_parser,
) -> msgwire_status {
    guard(|| {
        // SAFETY: `cfg` is NULL or readable, and `out` writable, per the
        // header.
        let (cfg, out) = unsafe { (cfg.as_ref().copied(), arg_out(out, "out")?) };
        let config = cfg.map_or_else(ParserConfig::default, ParserConfig::from);
        out.set(new_handle(msgwire_msrp_parser {
            parser: Parser::with_config(config),
            error_tid: None,
        }));
        Ok(())
    })
}

/// Releases a parser, discarding any partial chunk. NULL is ignored. Must
/// not be called from one of the parser's own callbacks.
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_msrp_parser_free(parser: *mut msgwire_msrp_parser) {
    crate::guard::guard_value((), || {
        // SAFETY: `parser` is NULL or a live handle, freed once and not
        // running, as the header requires.
        unsafe { free_handle(parser) }
    })
}

/// Parses `data[0..len]`, calling the callbacks in `*callbacks` (NULL: no
/// callbacks) with `user_data` for every event, until the input is used up.
///
/// On `MSGWIRE_OK` all `len` bytes were consumed and `*consumed` is `len`;
/// a chunk may be left incomplete, to be continued by the next call.
///
/// On the first protocol error it stops and returns that
/// `MSGWIRE_MSRP_PARSE_*` status; `*consumed` tells how many bytes were
/// used (the events for them have been delivered), `msgwire_last_error()`
/// describes the error and `msgwire_msrp_parser_error_tid` gives the
/// transaction id when the start line had been read (a receiver should
/// then answer that request with 400). The parser recovers by itself
/// (skipping the rest of the bad chunk, or up to the next line starting
/// with `MSRP `): call again with the remaining
/// `data + *consumed, len - *consumed` to go on. `*consumed` is written on
/// both of these outcomes, and not for NULL arguments.
///
/// `data` may be NULL when `len` is 0. The callbacks run on the calling
/// thread, inside this call; they must not call functions on this parser.
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_msrp_parser_feed(
    parser: *mut msgwire_msrp_parser,
    callbacks: *const msgwire_msrp_callbacks,
    user_data: *mut c_void,
    data: *const u8,
    len: usize,
    consumed: *mut usize,
) -> msgwire_status {
    guard(|| {
        // SAFETY: exclusive access to a live parser, `callbacks` NULL or
        // readable, `len` readable bytes and a writable out-pointer, per the
        // header.
        let (p, callbacks, input, consumed) = unsafe {
            (
                arg_mut(parser, "parser")?,
                callbacks.as_ref().copied().unwrap_or_default(),
                arg_bytes(data, len, "data")?,
                arg_out(consumed, "consumed")?,
            )
        };
        let mut rest = input;
        loop {
            let (used, result) = p.parser.parse(rest);
            rest = &rest[used..];
            match result {
                Ok(Some(Event::Start(head))) => {
                    if let Some(on_start) = callbacks.on_start {
                        let view = msgwire_msrp_head::of(&head);
                        // SAFETY: a C callback given by the caller; `view`
                        // outlives the call, as documented.
                        unsafe { on_start(user_data, &view) };
                    }
                }
                Ok(Some(Event::Data(bytes))) => {
                    if let Some(on_data) = callbacks.on_data {
                        // SAFETY: a C callback given by the caller; the slice
                        // outlives the call, as documented.
                        unsafe { on_data(user_data, bytes.as_ptr(), bytes.len()) };
                    }
                }
                Ok(Some(Event::End(flag))) => {
                    if let Some(on_end) = callbacks.on_end {
                        // SAFETY: a C callback given by the caller.
                        unsafe { on_end(user_data, flag.as_byte() as c_char) };
                    }
                }
                Ok(None) => break,
                Err(e) => {
                    let e = p.fail(e);
                    consumed.set(input.len() - rest.len());
                    return Err(e);
                }
            }
        }
        consumed.set(input.len());
        Ok(())
    })
}

/// Tells the parser the input has ended (e.g. the connection closed).
///
/// Returns `MSGWIRE_OK` when it was between chunks, or
/// `MSGWIRE_MSRP_PARSE_UNEXPECTED_EOF` when a chunk was left incomplete
/// (`msgwire_msrp_parser_error_tid` then gives its transaction id). Either
/// way the parser is reset and can parse a new stream.
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_msrp_parser_finish(parser: *mut msgwire_msrp_parser) -> msgwire_status {
    guard(|| {
        // SAFETY: exclusive access to a live parser per the header.
        let p = unsafe { arg_mut(parser, "parser")? };
        p.parser.finish().map_err(|e| p.fail(e))
    })
}

/// Copies the transaction id of the chunk in which the parser's last error
/// (from `msgwire_msrp_parser_feed` or `msgwire_msrp_parser_finish`)
/// occurred into `buf`.
///
/// Returns `MSGWIRE_NOT_FOUND` when there was no error yet or the error
/// came before a transaction id was read (e.g. a malformed start line).
/// Copies into the caller's buffer like `msgwire_msrp_uri_format`: text plus
/// NUL, `*out_len` the length without the NUL, `MSGWIRE_BUFFER_TOO_SMALL`
/// (with `*out_len` set) when `cap` is not above it. Transaction ids are at
/// most 32 bytes.
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_msrp_parser_error_tid(
    parser: *const msgwire_msrp_parser,
    buf: *mut c_char,
    cap: usize,
    out_len: *mut usize,
) -> msgwire_status {
    guard(|| {
        // SAFETY: a live parser, a buffer of `cap` bytes and a writable
        // length per the header.
        let (p, buf) = unsafe {
            (
                arg_ref(parser, "parser")?,
                arg_buf(buf.cast(), cap, out_len)?,
            )
        };
        let tid = p
            .error_tid
            .as_ref()
            .ok_or_else(|| Error::not_found("the last parse error has no transaction id"))?;
        buf.fill(tid.as_bytes(), true)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ptr;

    const SEND: &[u8] = b"MSRP a786hjs2 SEND\r\n\
To-Path: msrp://biloxi.example.com:12763/kjhd37s2s20w2a;tcp\r\n\
From-Path: msrp://atlanta.example.com:7654/jshA7weztas;tcp\r\n\
Message-ID: 87652491\r\n\
Byte-Range: 1-23/23\r\n\
Content-Type: text/plain\r\n\
\r\n\
Hey Bob, are you there?\r\n\
-------a786hjs2$\r\n";

    fn s(v: msgwire_str) -> String {
        // SAFETY: views point at `len` valid bytes.
        let b = unsafe { std::slice::from_raw_parts(v.ptr.cast::<u8>(), v.len) };
        String::from_utf8(b.to_vec()).unwrap()
    }

    fn parse(bytes: &[u8]) -> *mut msgwire_msrp_chunk {
        let mut c = ptr::null_mut();
        assert_eq!(
            msgwire_msrp_chunk_parse(bytes.as_ptr(), bytes.len(), &mut c),
            msgwire_status::MSGWIRE_OK
        );
        c
    }

    #[test]
    fn strings_are_nul_terminated_and_invalidated_on_edit() {
        let c = parse(SEND);
        let mut v = msgwire_str {
            ptr: ptr::null(),
            len: 0,
        };
        assert_eq!(
            msgwire_msrp_chunk_header(c, c"message-id".as_ptr(), &mut v),
            msgwire_status::MSGWIRE_OK
        );
        assert_eq!(s(v), "87652491");
        // SAFETY: the view is NUL-terminated.
        assert_eq!(unsafe { *v.ptr.add(v.len) }, 0);
        assert_eq!(
            msgwire_msrp_chunk_set_header(c, c"Message-ID".as_ptr(), c"x".as_ptr()),
            msgwire_status::MSGWIRE_OK
        );
        assert_eq!(
            msgwire_msrp_chunk_header(c, c"Message-ID".as_ptr(), &mut v),
            msgwire_status::MSGWIRE_OK
        );
        assert_eq!(s(v), "x");
        msgwire_msrp_chunk_free(c);
    }

    #[test]
    fn setters_refuse_line_breaks() {
        let mut c = ptr::null_mut();
        assert_eq!(
            msgwire_msrp_chunk_new_request(c"abcd".as_ptr(), c"SEND".as_ptr(), &mut c),
            msgwire_status::MSGWIRE_OK
        );
        assert_eq!(
            msgwire_msrp_chunk_set_header(c, c"X".as_ptr(), c"a\r\nY: b".as_ptr()),
            msgwire_status::MSGWIRE_INVALID_ARGUMENT
        );
        assert_eq!(
            msgwire_msrp_chunk_set_header(c, c"X Y".as_ptr(), c"a".as_ptr()),
            msgwire_status::MSGWIRE_INVALID_ARGUMENT
        );
        let mut bad = ptr::null_mut();
        assert_eq!(
            msgwire_msrp_chunk_new_request(c"a b".as_ptr(), c"SEND".as_ptr(), &mut bad),
            msgwire_status::MSGWIRE_INVALID_ARGUMENT
        );
        assert!(bad.is_null());
        msgwire_msrp_chunk_free(c);
    }

    #[test]
    fn status_comment_is_a_tail_of_the_value() {
        let mut c = ptr::null_mut();
        msgwire_msrp_chunk_new_request(c"abcd".as_ptr(), c"REPORT".as_ptr(), &mut c);
        let (mut code, mut comment) = (
            0u16,
            msgwire_str {
                ptr: ptr::null(),
                len: 0,
            },
        );
        assert_eq!(
            msgwire_msrp_chunk_status(c, &mut code, &mut comment),
            msgwire_status::MSGWIRE_NOT_FOUND
        );
        msgwire_msrp_chunk_set_header(c, c"Status".as_ptr(), c"000 413 Too big".as_ptr());
        assert_eq!(
            msgwire_msrp_chunk_status(c, &mut code, &mut comment),
            msgwire_status::MSGWIRE_OK
        );
        assert_eq!((code, s(comment).as_str()), (413, "Too big"));
        msgwire_msrp_chunk_set_header(c, c"Status".as_ptr(), c"000 200".as_ptr());
        assert_eq!(
            msgwire_msrp_chunk_status(c, &mut code, &mut comment),
            msgwire_status::MSGWIRE_OK
        );
        assert_eq!((code, comment.len), (200, 0));
        msgwire_msrp_chunk_free(c);
    }

    #[test]
    fn built_chunks_reparse_to_the_same_chunk() {
        let mut c = ptr::null_mut();
        let body = b"hello";
        assert_eq!(
            msgwire_msrp_chunk_build_send(
                c"msrp://b.example:1/s;tcp".as_ptr(),
                c"msrp://a.example:2/t;tcp".as_ptr(),
                body.as_ptr(),
                body.len(),
                c"text/plain".as_ptr(),
                &mut c,
            ),
            msgwire_status::MSGWIRE_OK
        );
        // SAFETY: `c` is a live handle.
        let chunk = unsafe { &(*c).chunk };
        assert_eq!(parse_chunk(&chunk.encode()).as_ref(), Ok(chunk));
        msgwire_msrp_chunk_free(c);
    }
}
