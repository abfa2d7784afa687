//! serverResponse for C, wrapping `msgwire::serverresponse`: documents
//! (build, write, parse, read), the streaming writer, the HTTP server with
//! C handlers, and the client.
//!
//! # Objects
//!
//! * `msgwire_sr_response` — a whole document. Built with
//!   `_new_results`/`_new_faults` and the `_add_*` functions, read from
//!   bytes with `msgwire_sr_parse`, fetched with `msgwire_sr_get`; written
//!   with `_write` (to a buffer) or `_write_to` (to a callback); read with
//!   the accessors. Strings the accessors lend stay valid until the
//!   response is modified or freed.
//! * `msgwire_sr_parse_events` — the zero-copy view of the core for C: a
//!   document is read without being built, piece by piece through a
//!   callback (ids and values lent for the call).
//! * `msgwire_sr_writer` — a streaming writer: every call writes its piece
//!   at once, so a table of any length never sits in memory. Made by
//!   `msgwire_sr_writer_new` over a write callback (released with
//!   `_free`), or lent to a server handler for its reply (not freed).
//! * `msgwire_sr_server` — the embedded HTTP server; `_method` registers a
//!   C handler per method name.
//! * `msgwire_sr_request` — what a handler is called with: the method
//!   name and the decoded query arguments, lent for the call.
//!
//! # Threads
//!
//! Handlers run on the server's worker threads, several at once for
//! different requests; each call owns its thread while it runs, so it may
//! take its time (the client waits). A handler must not call
//! `msgwire_sr_server_free` of its own server.

use std::collections::HashMap;
use std::ffi::{c_char, c_void};
use std::sync::{Arc, OnceLock, RwLock};
use std::time::Duration;

use msgwire_core::net::{TlsClientConfig, TlsServerConfig};
use msgwire_core::serverresponse::{
    self as sr, Body, ClientError, Entry, Fault, Field, GetOptions, Lists, ParseErrorKind, Reply,
    Response, Row, Server, ServerConfig, WriteError, Writer,
};

use crate::endpoint::SigpipeBlocked;
use crate::error::{msgwire_status, msgwire_status::*, Error};
use crate::guard::{
    arg_buf, arg_bytes, arg_mut, arg_opt_str, arg_out, arg_ref, arg_str, free_handle, guard,
    guard_value, msgwire_str, new_handle, CText,
};
use crate::tls::{msgwire_tls_client_config, msgwire_tls_server_config};

// --------------------------------------------------------------- response

/// A serverResponse document.
///
/// Made by `msgwire_sr_response_new_results`, `_new_faults`,
/// `msgwire_sr_parse` or `msgwire_sr_get`; released by
/// `msgwire_sr_response_free`. Reading it from several threads at once is
/// safe; modifying it is not.
pub struct msgwire_sr_response {
    /// The document as the owned model: C builds it piece by piece, and
    /// its accessors copy every string out anyway.
    doc: Doc,
    /// NUL-terminated copies for the accessors, built on first use and
    /// dropped by every modification.
    view: OnceLock<View>,
}

/// The owned form of a document.
struct Doc {
    server: String,
    service: String,
    body: Body,
    /// How many things the parser skipped.
    ignored: usize,
}

impl Doc {
    /// The document packed, for writing.
    fn response(&self) -> Response {
        Response::new(self.server.as_str(), self.service.as_str(), &self.body)
    }
}

struct View {
    server: CText,
    service: CText,
    entries: Vec<ViewEntry>,
    faults: Vec<(CText, CText)>,
}

/// A row: its id and its (id, value) items.
type ViewRow = (CText, Vec<(CText, CText)>);

enum ViewEntry {
    Result(CText, CText),
    Lists(CText, Vec<ViewRow>),
}

fn pair(f: &Field) -> (CText, CText) {
    (CText::new(&f.id), CText::new(&f.value))
}

impl msgwire_sr_response {
    fn new(doc: Response) -> *mut msgwire_sr_response {
        new_handle(msgwire_sr_response {
            doc: Doc {
                body: doc.to_body(),
                ignored: doc.ignored.len(),
                server: doc.server,
                service: doc.service,
            },
            view: OnceLock::new(),
        })
    }

    fn view(&self) -> &View {
        self.view.get_or_init(|| View {
            server: CText::new(&self.doc.server),
            service: CText::new(&self.doc.service),
            entries: self
                .doc
                .body
                .entries()
                .iter()
                .map(|e| match e {
                    Entry::Result(f) => {
                        let (a, b) = pair(f);
                        ViewEntry::Result(a, b)
                    }
                    Entry::Lists(l) => ViewEntry::Lists(
                        CText::new(&l.id),
                        l.rows
                            .iter()
                            .map(|r| (CText::new(&r.id), r.items.iter().map(pair).collect()))
                            .collect(),
                    ),
                })
                .collect(),
            faults: self.doc.body.fault_fields().iter().map(pair).collect(),
        })
    }

    fn entries_mut(&mut self) -> Result<&mut Vec<Entry>, Error> {
        self.view = OnceLock::new();
        match &mut self.doc.body {
            Body::Results(e) => Ok(e),
            Body::Faults(_) => Err(Error::new(
                MSGWIRE_SR_WRITE_ORDER,
                "results added to a faults document",
            )),
        }
    }

    fn last_lists(&mut self) -> Result<&mut Lists, Error> {
        match self.entries_mut()?.last_mut() {
            Some(Entry::Lists(l)) => Ok(l),
            _ => Err(Error::new(
                MSGWIRE_SR_WRITE_ORDER,
                "a row needs a table: call msgwire_sr_response_add_lists first",
            )),
        }
    }

    fn entry(&self, index: usize) -> Result<&ViewEntry, Error> {
        self.view().entries.get(index).ok_or_else(|| {
            Error::invalid(format!(
                "entry {index} is past the end ({} entries)",
                self.view().entries.len()
            ))
        })
    }

    fn row(&self, entry: usize, row: usize) -> Result<&ViewRow, Error> {
        match self.entry(entry)? {
            ViewEntry::Lists(_, rows) => rows.get(row).ok_or_else(|| {
                Error::invalid(format!("row {row} is past the end ({} rows)", rows.len()))
            }),
            ViewEntry::Result(..) => Err(Error::invalid(format!(
                "entry {entry} is a result, not a table"
            ))),
        }
    }
}

/// What an entry of a results document is.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum msgwire_sr_entry_kind {
    /// A `<result id value/>`.
    Result = 0,
    /// A `<lists>` table of rows.
    Lists = 1,
}

/// A new, empty results document (`<results server service>`). Add to it
/// with `msgwire_sr_response_add_result`, `_add_lists`, `_add_row` and
/// `_add_item`; empty, it is the "done" reply `<results></results>`.
/// `*out` receives a response to release with `msgwire_sr_response_free`.
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_sr_response_new_results(
    server: *const c_char,
    service: *const c_char,
    out: *mut *mut msgwire_sr_response,
) -> msgwire_status {
    guard(|| {
        // SAFETY: strings and a writable out-pointer per the header.
        let (server, service, out) = unsafe {
            (
                arg_str(server, "server")?,
                arg_str(service, "service")?,
                arg_out(out, "out")?,
            )
        };
        out.set(msgwire_sr_response::new(Response::results(
            server,
            service,
            Vec::new(),
        )));
        Ok(())
    })
}

/// A new, empty faults document (`<faults server service>`); add faults
/// with `msgwire_sr_response_add_fault` (Bayonne sends `code` and `text`).
/// `*out` receives a response to release with `msgwire_sr_response_free`.
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_sr_response_new_faults(
    server: *const c_char,
    service: *const c_char,
    out: *mut *mut msgwire_sr_response,
) -> msgwire_status {
    guard(|| {
        // SAFETY: strings and a writable out-pointer per the header.
        let (server, service, out) = unsafe {
            (
                arg_str(server, "server")?,
                arg_str(service, "service")?,
                arg_out(out, "out")?,
            )
        };
        out.set(msgwire_sr_response::new(Response::faults(
            server,
            service,
            Vec::new(),
        )));
        Ok(())
    })
}

/// Releases a response. NULL does nothing.
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_sr_response_free(response: *mut msgwire_sr_response) {
    guard_value((), || {
        // SAFETY: NULL or a response from this library, freed once.
        unsafe { free_handle(response) }
    })
}

/// Appends `<result id value/>` to a results document.
/// `MSGWIRE_SR_WRITE_ORDER` for a faults document.
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_sr_response_add_result(
    response: *mut msgwire_sr_response,
    id: *const c_char,
    value: *const c_char,
) -> msgwire_status {
    guard(|| {
        // SAFETY: a live response and strings per the header.
        let (r, id, value) = unsafe {
            (
                arg_mut(response, "response")?,
                arg_str(id, "id")?,
                arg_str(value, "value")?,
            )
        };
        r.entries_mut()?.push(Entry::Result(Field::new(id, value)));
        Ok(())
    })
}

/// Appends an empty `<lists id>` table to a results document; the rows
/// added next go into it. `MSGWIRE_SR_WRITE_ORDER` for a faults document.
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_sr_response_add_lists(
    response: *mut msgwire_sr_response,
    id: *const c_char,
) -> msgwire_status {
    guard(|| {
        // SAFETY: a live response and a string per the header.
        let (r, id) = unsafe { (arg_mut(response, "response")?, arg_str(id, "id")?) };
        r.entries_mut()?.push(Entry::Lists(Lists {
            id: id.into(),
            rows: Vec::new(),
        }));
        Ok(())
    })
}

/// Appends an empty `<list id>` row to the last entry, which must be a
/// table (`MSGWIRE_SR_WRITE_ORDER` otherwise); the items added next go
/// into it.
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_sr_response_add_row(
    response: *mut msgwire_sr_response,
    id: *const c_char,
) -> msgwire_status {
    guard(|| {
        // SAFETY: a live response and a string per the header.
        let (r, id) = unsafe { (arg_mut(response, "response")?, arg_str(id, "id")?) };
        r.last_lists()?.rows.push(Row::new(id, Vec::new()));
        Ok(())
    })
}

/// Appends `<item id value/>` to the last row of the last table
/// (`MSGWIRE_SR_WRITE_ORDER` when there is none).
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_sr_response_add_item(
    response: *mut msgwire_sr_response,
    id: *const c_char,
    value: *const c_char,
) -> msgwire_status {
    guard(|| {
        // SAFETY: a live response and strings per the header.
        let (r, id, value) = unsafe {
            (
                arg_mut(response, "response")?,
                arg_str(id, "id")?,
                arg_str(value, "value")?,
            )
        };
        let row = r.last_lists()?.rows.last_mut().ok_or_else(|| {
            Error::new(
                MSGWIRE_SR_WRITE_ORDER,
                "an item needs a row: call msgwire_sr_response_add_row first",
            )
        })?;
        row.items.push(Field::new(id, value));
        Ok(())
    })
}

/// Appends `<fault id value/>` to a faults document
/// (`MSGWIRE_SR_WRITE_ORDER` for a results document).
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_sr_response_add_fault(
    response: *mut msgwire_sr_response,
    id: *const c_char,
    value: *const c_char,
) -> msgwire_status {
    guard(|| {
        // SAFETY: a live response and strings per the header.
        let (r, id, value) = unsafe {
            (
                arg_mut(response, "response")?,
                arg_str(id, "id")?,
                arg_str(value, "value")?,
            )
        };
        r.view = OnceLock::new();
        match &mut r.doc.body {
            Body::Faults(f) => {
                f.push(Field::new(id, value));
                Ok(())
            }
            Body::Results(_) => Err(Error::new(
                MSGWIRE_SR_WRITE_ORDER,
                "a fault added to a results document",
            )),
        }
    })
}

/// Writes the document (XML declaration, one-space indentation, LF line
/// ends) into `buf`, with its length in `*out_len`. Not NUL-terminated.
/// `MSGWIRE_BUFFER_TOO_SMALL` stores the needed length in `*out_len`
/// (pass `buf` NULL and `cap` 0 to ask).
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_sr_response_write(
    response: *const msgwire_sr_response,
    buf: *mut u8,
    cap: usize,
    out_len: *mut usize,
) -> msgwire_status {
    guard(|| {
        // SAFETY: a live response and a caller buffer per the header.
        let (r, out) = unsafe { (arg_ref(response, "response")?, arg_buf(buf, cap, out_len)?) };
        out.fill(&r.doc.response().to_xml(), false)
    })
}

/// Receives the bytes of a document as they are written. Returns 0 when
/// all `len` bytes were taken, anything else to stop writing (the writing
/// function then fails with `MSGWIRE_SR_WRITE`). `data` is lent for the
/// call only. Called on the thread of the writing function.
pub type msgwire_sr_write_callback =
    Option<unsafe extern "C" fn(user_data: *mut c_void, data: *const u8, len: usize) -> i32>;

/// Writes the document through `callback` (see
/// `msgwire_sr_write_callback`), piece by piece, on the calling thread.
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_sr_response_write_to(
    response: *const msgwire_sr_response,
    callback: msgwire_sr_write_callback,
    user_data: *mut c_void,
) -> msgwire_status {
    guard(|| {
        // SAFETY: a live response per the header.
        let r = unsafe { arg_ref(response, "response")? };
        let f = callback.ok_or_else(|| Error::null("callback"))?;
        r.doc
            .response()
            .write_to(CallbackSink { f, user_data })
            .map(drop)
            .map_err(write_error)
    })
}

/// Parses a document from `len` bytes at `data`. On success `*out`
/// receives a response to release with `msgwire_sr_response_free`. On a
/// parse error (`MSGWIRE_SR_PARSE_*`), `*error_position` (may be NULL)
/// receives the byte offset where the problem was found. Unknown elements
/// and attributes are skipped (`msgwire_sr_response_ignored_count` says
/// how many).
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_sr_parse(
    data: *const u8,
    len: usize,
    out: *mut *mut msgwire_sr_response,
    error_position: *mut u64,
) -> msgwire_status {
    guard(|| {
        // SAFETY: readable bytes and a writable out-pointer per the header.
        let (bytes, out) = unsafe { (arg_bytes(data, len, "data")?, arg_out(out, "out")?) };
        match sr::parse(bytes) {
            Ok(doc) => {
                out.set(msgwire_sr_response::new(doc));
                Ok(())
            }
            Err(e) => {
                // SAFETY: NULL or writable per the header.
                if let Some(p) = unsafe { error_position.as_mut() } {
                    *p = e.position;
                }
                Err(parse_error(&e))
            }
        }
    })
}

/// What a `msgwire_sr_parse_events` callback is told, and what its `id`
/// and `value` then hold (empty strings where nothing is said).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum msgwire_sr_event_kind {
    /// `<results>` opened: `id` is the `server` attribute, `value` the
    /// `service`.
    BeginResults = 0,
    /// `<faults>` opened: `id` is the `server` attribute, `value` the
    /// `service`.
    BeginFaults = 1,
    /// A `<result id value/>`.
    Result = 2,
    /// A `<lists id>` table opened.
    BeginLists = 3,
    /// A `<list id>` row of the open table opened.
    BeginRow = 4,
    /// An `<item id value/>` of the open row.
    Item = 5,
    /// The open row closed.
    EndRow = 6,
    /// The open table closed.
    EndLists = 7,
    /// A `<fault id value/>`.
    Fault = 8,
    /// Something skipped: `id` is the unknown element's or attribute's
    /// name (empty for stray text).
    Ignored = 9,
    /// `</serverResponse>`: the document is complete.
    End = 10,
}

/// Receives the events of `msgwire_sr_parse_events`, on the calling
/// thread. `id` and `value` are lent for the call only (NUL-terminated;
/// copy them to keep them). Return `true` to go on, `false` to stop.
pub type msgwire_sr_event_fn = Option<
    unsafe extern "C" fn(
        user_data: *mut c_void,
        kind: msgwire_sr_event_kind,
        id: msgwire_str,
        value: msgwire_str,
    ) -> bool,
>;

/// Parses a document from `len` bytes at `data` without building it:
/// `on_event` is called for each piece in document order (see
/// `msgwire_sr_event_kind`), so a table of any length is read row by row
/// with no memory per row. The checks and errors are those of
/// `msgwire_sr_parse` (`*error_position`, may be NULL, receives the byte
/// offset of a parse error); events before an error have been delivered.
/// When `on_event` returns `false` parsing stops there and the call
/// returns `MSGWIRE_OK`.
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_sr_parse_events(
    data: *const u8,
    len: usize,
    on_event: msgwire_sr_event_fn,
    user_data: *mut c_void,
    error_position: *mut u64,
) -> msgwire_status {
    guard(|| {
        // SAFETY: readable bytes per the header.
        let bytes = unsafe { arg_bytes(data, len, "data")? };
        let f = on_event.ok_or_else(|| Error::null("on_event"))?;
        // The strings handed out: id, NUL, value, NUL, in one buffer
        // reused for every event.
        let mut scratch: Vec<u8> = Vec::with_capacity(256);
        for event in sr::events(bytes) {
            let event = match event {
                Ok(ev) => ev,
                Err(e) => {
                    // SAFETY: NULL or writable per the header.
                    if let Some(p) = unsafe { error_position.as_mut() } {
                        *p = e.position;
                    }
                    return Err(parse_error(&e));
                }
            };
            let (kind, id, value) = event_parts(&event);
            scratch.clear();
            scratch.extend_from_slice(id.as_bytes());
            scratch.push(0);
            scratch.extend_from_slice(value.as_bytes());
            scratch.push(0);
            let id = msgwire_str {
                ptr: scratch.as_ptr().cast(),
                len: id.len(),
            };
            let value = msgwire_str {
                // SAFETY: within `scratch`, after the id and its NUL.
                ptr: unsafe { scratch.as_ptr().add(id.len + 1) }.cast(),
                len: value.len(),
            };
            // SAFETY: the caller's callback with its own pointer; the
            // strings stay valid for the call.
            if !unsafe { f(user_data, kind, id, value) } {
                break;
            }
        }
        Ok(())
    })
}

/// An event as the C callback sees it.
fn event_parts<'e>(ev: &'e sr::EventRef<'_>) -> (msgwire_sr_event_kind, &'e str, &'e str) {
    use msgwire_sr_event_kind as K;
    use sr::{EventRef as E, Ignored};
    match ev {
        E::Begin {
            faults,
            server,
            service,
        } => (
            if *faults {
                K::BeginFaults
            } else {
                K::BeginResults
            },
            server,
            service,
        ),
        E::Result(f) => (K::Result, &f.id, &f.value),
        E::BeginLists(id) => (K::BeginLists, id, ""),
        E::BeginRow(id) => (K::BeginRow, id, ""),
        E::Item(f) => (K::Item, &f.id, &f.value),
        E::EndRow => (K::EndRow, "", ""),
        E::EndLists => (K::EndLists, "", ""),
        E::Fault(f) => (K::Fault, &f.id, &f.value),
        E::Ignored(Ignored::Element { name, .. } | Ignored::Attribute { name, .. }) => {
            (K::Ignored, name, "")
        }
        E::Ignored(_) => (K::Ignored, "", ""),
        E::End => (K::End, "", ""),
    }
}

/// The `server` attribute, lent until the response is modified or freed.
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_sr_response_server(
    response: *const msgwire_sr_response,
    out: *mut msgwire_str,
) -> msgwire_status {
    guard(|| {
        // SAFETY: a live response and a writable out-pointer per the header.
        let (r, out) = unsafe { (arg_ref(response, "response")?, arg_out(out, "out")?) };
        out.set(r.view().server.view());
        Ok(())
    })
}

/// The `service` attribute (the method, or `http` for HTTP-level faults),
/// lent until the response is modified or freed.
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_sr_response_service(
    response: *const msgwire_sr_response,
    out: *mut msgwire_str,
) -> msgwire_status {
    guard(|| {
        // SAFETY: a live response and a writable out-pointer per the header.
        let (r, out) = unsafe { (arg_ref(response, "response")?, arg_out(out, "out")?) };
        out.set(r.view().service.view());
        Ok(())
    })
}

/// Whether the document holds faults (`true`) or results (`false`).
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_sr_response_is_fault(
    response: *const msgwire_sr_response,
    out: *mut bool,
) -> msgwire_status {
    guard(|| {
        // SAFETY: a live response and a writable out-pointer per the header.
        let (r, out) = unsafe { (arg_ref(response, "response")?, arg_out(out, "out")?) };
        out.set(r.doc.body.is_fault());
        Ok(())
    })
}

/// How many entries (results and tables, in document order) a results
/// document has; 0 for faults.
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_sr_response_entry_count(
    response: *const msgwire_sr_response,
    out: *mut usize,
) -> msgwire_status {
    guard(|| {
        // SAFETY: a live response and a writable out-pointer per the header.
        let (r, out) = unsafe { (arg_ref(response, "response")?, arg_out(out, "out")?) };
        out.set(r.doc.body.entries().len());
        Ok(())
    })
}

/// What entry `index` is. `MSGWIRE_INVALID_ARGUMENT` past the end.
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_sr_response_entry_kind(
    response: *const msgwire_sr_response,
    index: usize,
    out: *mut msgwire_sr_entry_kind,
) -> msgwire_status {
    guard(|| {
        // SAFETY: a live response and a writable out-pointer per the header.
        let (r, out) = unsafe { (arg_ref(response, "response")?, arg_out(out, "out")?) };
        out.set(match r.entry(index)? {
            ViewEntry::Result(..) => msgwire_sr_entry_kind::Result,
            ViewEntry::Lists(..) => msgwire_sr_entry_kind::Lists,
        });
        Ok(())
    })
}

/// The id and value of entry `index`, which must be a result
/// (`MSGWIRE_INVALID_ARGUMENT` otherwise). Lent until the response is
/// modified or freed.
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_sr_response_result(
    response: *const msgwire_sr_response,
    index: usize,
    id: *mut msgwire_str,
    value: *mut msgwire_str,
) -> msgwire_status {
    guard(|| {
        // SAFETY: a live response and writable out-pointers per the header.
        let (r, id, value) = unsafe {
            (
                arg_ref(response, "response")?,
                arg_out(id, "id")?,
                arg_out(value, "value")?,
            )
        };
        match r.entry(index)? {
            ViewEntry::Result(k, v) => {
                id.set(k.view());
                value.set(v.view());
                Ok(())
            }
            ViewEntry::Lists(..) => Err(Error::invalid(format!(
                "entry {index} is a table, not a result"
            ))),
        }
    })
}

/// The id and row count of entry `index`, which must be a table
/// (`MSGWIRE_INVALID_ARGUMENT` otherwise). The id is lent until the
/// response is modified or freed.
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_sr_response_lists(
    response: *const msgwire_sr_response,
    index: usize,
    id: *mut msgwire_str,
    row_count: *mut usize,
) -> msgwire_status {
    guard(|| {
        // SAFETY: a live response and writable out-pointers per the header.
        let (r, id, count) = unsafe {
            (
                arg_ref(response, "response")?,
                arg_out(id, "id")?,
                arg_out(row_count, "row_count")?,
            )
        };
        match r.entry(index)? {
            ViewEntry::Lists(k, rows) => {
                id.set(k.view());
                count.set(rows.len());
                Ok(())
            }
            ViewEntry::Result(..) => Err(Error::invalid(format!(
                "entry {index} is a result, not a table"
            ))),
        }
    })
}

/// The id and item count of row `row` of the table at entry `index`.
/// The id is lent until the response is modified or freed.
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_sr_response_row(
    response: *const msgwire_sr_response,
    index: usize,
    row: usize,
    id: *mut msgwire_str,
    item_count: *mut usize,
) -> msgwire_status {
    guard(|| {
        // SAFETY: a live response and writable out-pointers per the header.
        let (r, id, count) = unsafe {
            (
                arg_ref(response, "response")?,
                arg_out(id, "id")?,
                arg_out(item_count, "item_count")?,
            )
        };
        let (rid, items) = r.row(index, row)?;
        id.set(rid.view());
        count.set(items.len());
        Ok(())
    })
}

/// The id and value of item `item` of row `row` of the table at entry
/// `index`, lent until the response is modified or freed.
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_sr_response_item(
    response: *const msgwire_sr_response,
    index: usize,
    row: usize,
    item: usize,
    id: *mut msgwire_str,
    value: *mut msgwire_str,
) -> msgwire_status {
    guard(|| {
        // SAFETY: a live response and writable out-pointers per the header.
        let (r, id, value) = unsafe {
            (
                arg_ref(response, "response")?,
                arg_out(id, "id")?,
                arg_out(value, "value")?,
            )
        };
        let (_, items) = r.row(index, row)?;
        let (k, v) = items.get(item).ok_or_else(|| {
            Error::invalid(format!(
                "item {item} is past the end ({} items)",
                items.len()
            ))
        })?;
        id.set(k.view());
        value.set(v.view());
        Ok(())
    })
}

/// How many faults a faults document has; 0 for results.
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_sr_response_fault_count(
    response: *const msgwire_sr_response,
    out: *mut usize,
) -> msgwire_status {
    guard(|| {
        // SAFETY: a live response and a writable out-pointer per the header.
        let (r, out) = unsafe { (arg_ref(response, "response")?, arg_out(out, "out")?) };
        out.set(r.doc.body.fault_fields().len());
        Ok(())
    })
}

/// The id and value of fault `index`, lent until the response is
/// modified or freed. `MSGWIRE_INVALID_ARGUMENT` past the end.
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_sr_response_fault(
    response: *const msgwire_sr_response,
    index: usize,
    id: *mut msgwire_str,
    value: *mut msgwire_str,
) -> msgwire_status {
    guard(|| {
        // SAFETY: a live response and writable out-pointers per the header.
        let (r, id, value) = unsafe {
            (
                arg_ref(response, "response")?,
                arg_out(id, "id")?,
                arg_out(value, "value")?,
            )
        };
        let faults = &r.view().faults;
        let (k, v) = faults.get(index).ok_or_else(|| {
            Error::invalid(format!(
                "fault {index} is past the end ({} faults)",
                faults.len()
            ))
        })?;
        id.set(k.view());
        value.set(v.view());
        Ok(())
    })
}

/// The value of the first result (in a faults document: the first fault)
/// with this id, lent until the response is modified or freed.
/// `MSGWIRE_NOT_FOUND` when there is none.
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_sr_response_find(
    response: *const msgwire_sr_response,
    id: *const c_char,
    value: *mut msgwire_str,
) -> msgwire_status {
    guard(|| {
        // SAFETY: a live response, a string and a writable out-pointer.
        let (r, key, value) = unsafe {
            (
                arg_ref(response, "response")?,
                arg_str(id, "id")?,
                arg_out(value, "value")?,
            )
        };
        let v = r.view();
        let hit = if r.doc.body.is_fault() {
            v.faults
                .iter()
                .find(|(k, _)| k.as_bytes() == key.as_bytes())
                .map(|(_, val)| val)
        } else {
            v.entries.iter().find_map(|e| match e {
                ViewEntry::Result(k, val) if k.as_bytes() == key.as_bytes() => Some(val),
                _ => None,
            })
        };
        let val = hit.ok_or_else(|| Error::not_found(format!("no result with id {key:?}")))?;
        value.set(val.view());
        Ok(())
    })
}

/// How many unknown elements, attributes and text pieces the parser
/// skipped (0 for documents built here).
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_sr_response_ignored_count(
    response: *const msgwire_sr_response,
    out: *mut usize,
) -> msgwire_status {
    guard(|| {
        // SAFETY: a live response and a writable out-pointer per the header.
        let (r, out) = unsafe { (arg_ref(response, "response")?, arg_out(out, "out")?) };
        out.set(r.doc.ignored);
        Ok(())
    })
}

// ----------------------------------------------------------------- writer

struct CallbackSink {
    f: unsafe extern "C" fn(*mut c_void, *const u8, usize) -> i32,
    user_data: *mut c_void,
}

impl std::io::Write for CallbackSink {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        // SAFETY: the caller's callback with its own pointer; `data` lives
        // for the call.
        let rc = unsafe { (self.f)(self.user_data, data.as_ptr(), data.len()) };
        if rc == 0 {
            Ok(data.len())
        } else {
            Err(std::io::Error::other(format!(
                "the write callback returned {rc}"
            )))
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

enum WriterKind {
    /// Made by `msgwire_sr_writer_new`, owned by C.
    Callback(Writer<CallbackSink>),
    /// Lent to a handler for the duration of its call.
    Reply {
        reply: *mut Reply,
        fault: Option<Fault>,
    },
}

/// A streaming serverResponse writer: each call writes its piece at once.
///
/// Either made by `msgwire_sr_writer_new` over a write callback (release
/// it with `msgwire_sr_writer_free`) or lent to a server handler for its
/// reply (valid during the call only; never freed by the handler).
///
/// The first `_result` or `_begin_lists` opens `<results>`, the first
/// `_fault` opens `<faults>`; a new row closes the previous row, a result
/// or new table closes an open table; `_finish` closes everything (an
/// empty `<results></results>` when nothing was written). Not for use by
/// several threads at once.
pub struct msgwire_sr_writer {
    kind: WriterKind,
}

impl msgwire_sr_writer {
    fn with<R>(
        &mut self,
        f: impl FnOnce(&mut dyn WriteOps) -> Result<R, WriteError>,
    ) -> Result<R, Error> {
        match &mut self.kind {
            WriterKind::Callback(w) => f(w),
            // SAFETY: the reply outlives the handler call this writer is
            // lent for, and only the handler's thread uses it.
            WriterKind::Reply { reply, .. } => f(unsafe { &mut **reply }),
        }
        .map_err(write_error)
    }
}

/// The writer operations both kinds share.
trait WriteOps {
    fn result(&mut self, id: &str, value: &str) -> Result<(), WriteError>;
    fn begin_lists(&mut self, id: &str) -> Result<(), WriteError>;
    fn begin_row(&mut self, id: &str) -> Result<(), WriteError>;
    fn item(&mut self, id: &str, value: &str) -> Result<(), WriteError>;
    fn end_row(&mut self) -> Result<(), WriteError>;
    fn end_lists(&mut self) -> Result<(), WriteError>;
    fn fault(&mut self, id: &str, value: &str) -> Result<(), WriteError>;
    fn finish(&mut self) -> Result<(), WriteError>;
}

impl<W: std::io::Write> WriteOps for Writer<W> {
    fn result(&mut self, id: &str, value: &str) -> Result<(), WriteError> {
        Writer::result(self, id, value)
    }
    fn begin_lists(&mut self, id: &str) -> Result<(), WriteError> {
        Writer::begin_lists(self, id)
    }
    fn begin_row(&mut self, id: &str) -> Result<(), WriteError> {
        Writer::begin_row(self, id)
    }
    fn item(&mut self, id: &str, value: &str) -> Result<(), WriteError> {
        Writer::item(self, id, value)
    }
    fn end_row(&mut self) -> Result<(), WriteError> {
        Writer::end_row(self)
    }
    fn end_lists(&mut self) -> Result<(), WriteError> {
        Writer::end_lists(self)
    }
    fn fault(&mut self, id: &str, value: &str) -> Result<(), WriteError> {
        Writer::fault(self, id, value)
    }
    fn finish(&mut self) -> Result<(), WriteError> {
        Writer::finish(self)
    }
}

/// A writer for a document from `server` answering `service`, sending its
/// bytes to `callback` (see `msgwire_sr_write_callback`) on the thread of
/// each writing call. `*out` receives a writer to release with
/// `msgwire_sr_writer_free` (after `msgwire_sr_writer_finish`).
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_sr_writer_new(
    server: *const c_char,
    service: *const c_char,
    callback: msgwire_sr_write_callback,
    user_data: *mut c_void,
    out: *mut *mut msgwire_sr_writer,
) -> msgwire_status {
    guard(|| {
        // SAFETY: strings and a writable out-pointer per the header.
        let (server, service, out) = unsafe {
            (
                arg_str(server, "server")?,
                arg_str(service, "service")?,
                arg_out(out, "out")?,
            )
        };
        let f = callback.ok_or_else(|| Error::null("callback"))?;
        out.set(new_handle(msgwire_sr_writer {
            kind: WriterKind::Callback(Writer::new(CallbackSink { f, user_data }, server, service)),
        }));
        Ok(())
    })
}

/// Releases a writer made by `msgwire_sr_writer_new` (without finishing
/// the document). NULL does nothing. Never call it on a handler's writer.
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_sr_writer_free(writer: *mut msgwire_sr_writer) {
    guard_value((), || {
        // SAFETY: NULL or a writer from msgwire_sr_writer_new, freed once.
        unsafe { free_handle(writer) }
    })
}

/// Writes `<result id value/>` (closing an open table first).
/// `MSGWIRE_SR_WRITE_ORDER` in a faults document, `MSGWIRE_SR_WRITE`
/// when the bytes could not be written.
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_sr_writer_result(
    writer: *mut msgwire_sr_writer,
    id: *const c_char,
    value: *const c_char,
) -> msgwire_status {
    guard(|| {
        // SAFETY: a live writer and strings per the header.
        let (w, id, value) = unsafe {
            (
                arg_mut(writer, "writer")?,
                arg_str(id, "id")?,
                arg_str(value, "value")?,
            )
        };
        w.with(|ops| ops.result(id, value))
    })
}

/// Opens a `<lists id>` table (closing an open one first).
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_sr_writer_begin_lists(
    writer: *mut msgwire_sr_writer,
    id: *const c_char,
) -> msgwire_status {
    guard(|| {
        // SAFETY: a live writer and a string per the header.
        let (w, id) = unsafe { (arg_mut(writer, "writer")?, arg_str(id, "id")?) };
        w.with(|ops| ops.begin_lists(id))
    })
}

/// Opens a `<list id>` row in the open table (closing the previous
/// row). `MSGWIRE_SR_WRITE_ORDER` outside a table.
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_sr_writer_begin_row(
    writer: *mut msgwire_sr_writer,
    id: *const c_char,
) -> msgwire_status {
    guard(|| {
        // SAFETY: a live writer and a string per the header.
        let (w, id) = unsafe { (arg_mut(writer, "writer")?, arg_str(id, "id")?) };
        w.with(|ops| ops.begin_row(id))
    })
}

/// Writes `<item id value/>` in the open row
/// (`MSGWIRE_SR_WRITE_ORDER` outside a row).
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_sr_writer_item(
    writer: *mut msgwire_sr_writer,
    id: *const c_char,
    value: *const c_char,
) -> msgwire_status {
    guard(|| {
        // SAFETY: a live writer and strings per the header.
        let (w, id, value) = unsafe {
            (
                arg_mut(writer, "writer")?,
                arg_str(id, "id")?,
                arg_str(value, "value")?,
            )
        };
        w.with(|ops| ops.item(id, value))
    })
}

/// Closes the open row (`MSGWIRE_SR_WRITE_ORDER` if none).
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_sr_writer_end_row(writer: *mut msgwire_sr_writer) -> msgwire_status {
    guard(|| {
        // SAFETY: a live writer per the header.
        let w = unsafe { arg_mut(writer, "writer")? };
        w.with(|ops| ops.end_row())
    })
}

/// Closes the open table (`MSGWIRE_SR_WRITE_ORDER` if none).
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_sr_writer_end_lists(writer: *mut msgwire_sr_writer) -> msgwire_status {
    guard(|| {
        // SAFETY: a live writer per the header.
        let w = unsafe { arg_mut(writer, "writer")? };
        w.with(|ops| ops.end_lists())
    })
}

/// Writes `<fault id value/>` (`MSGWIRE_SR_WRITE_ORDER` in a results
/// document). In a handler, prefer `msgwire_sr_writer_fail`, which
/// also sets the HTTP status.
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_sr_writer_fault(
    writer: *mut msgwire_sr_writer,
    id: *const c_char,
    value: *const c_char,
) -> msgwire_status {
    guard(|| {
        // SAFETY: a live writer and strings per the header.
        let (w, id, value) = unsafe {
            (
                arg_mut(writer, "writer")?,
                arg_str(id, "id")?,
                arg_str(value, "value")?,
            )
        };
        w.with(|ops| ops.fault(id, value))
    })
}

/// Closes the document. A handler's writer is finished by the server
/// when the handler returns; calling this earlier is allowed.
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_sr_writer_finish(writer: *mut msgwire_sr_writer) -> msgwire_status {
    guard(|| {
        // SAFETY: a live writer per the header.
        let w = unsafe { arg_mut(writer, "writer")? };
        w.with(|ops| ops.finish())
    })
}

/// In a handler: answer with a fault instead of results. Codes 400 to 599
/// become the HTTP status (service `http`; lower codes, which are no HTTP
/// error status, are sent with status 500); 600 and up (600 command
/// failed, 601 argument missing, 602 session invalid) are sent with HTTP
/// 200 under the method's name. Takes effect when the handler returns;
/// results written before are then discarded if they have not gone out
/// yet (otherwise the connection is cut). `MSGWIRE_INVALID_ARGUMENT` on a
/// writer that is not a handler's.
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_sr_writer_fail(
    writer: *mut msgwire_sr_writer,
    code: u32,
    text: *const c_char,
) -> msgwire_status {
    guard(|| {
        // SAFETY: a live writer and a string per the header.
        let (w, text) = unsafe { (arg_mut(writer, "writer")?, arg_str(text, "text")?) };
        match &mut w.kind {
            WriterKind::Reply { fault, .. } => {
                *fault = Some(Fault::new(code, text));
                Ok(())
            }
            WriterKind::Callback(_) => Err(Error::invalid(
                "msgwire_sr_writer_fail is for a handler's writer",
            )),
        }
    })
}

// ----------------------------------------------------------------- server

/// Server settings; zero fields take the defaults.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct msgwire_sr_server_config {
    /// Total time a client has to send its request; 0: 10000 ms.
    pub read_timeout_ms: u32,
    /// Most connections at once (the next get a 503 fault); 0: 256.
    pub max_connections: u32,
    /// Worker threads; 0: 16.
    pub workers: u32,
    /// Largest request line plus headers in bytes; 0: 8192.
    pub max_head: u32,
    /// Total time a reply may take, from the end of the request to the
    /// last byte taken by the client (a client reading slowly or not at
    /// all is cut off then, freeing its worker); 0: 30000 ms.
    pub write_timeout_ms: u32,
    /// Longest wait of `msgwire_sr_server_free` for the worker threads
    /// once the connections are cut; a handler still running then is left
    /// to finish on its own (see `msgwire_sr_server_free`); 0: 2000 ms.
    pub shutdown_timeout_ms: u32,
}

/// A request as a handler sees it: the method name and the decoded query
/// arguments, lent for the duration of the handler call.
pub struct msgwire_sr_request {
    method: CText,
    args: Vec<(CText, CText)>,
    head: bool,
}

/// The method name (`status` for `/status.xml`), lent for the call.
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_sr_request_method(
    request: *const msgwire_sr_request,
    out: *mut msgwire_str,
) -> msgwire_status {
    guard(|| {
        // SAFETY: a live request and a writable out-pointer per the header.
        let (r, out) = unsafe { (arg_ref(request, "request")?, arg_out(out, "out")?) };
        out.set(r.method.view());
        Ok(())
    })
}

/// Whether the request is a HEAD (the body written is discarded).
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_sr_request_is_head(
    request: *const msgwire_sr_request,
    out: *mut bool,
) -> msgwire_status {
    guard(|| {
        // SAFETY: a live request and a writable out-pointer per the header.
        let (r, out) = unsafe { (arg_ref(request, "request")?, arg_out(out, "out")?) };
        out.set(r.head);
        Ok(())
    })
}

/// How many query arguments there are (repeated keys count each time).
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_sr_request_arg_count(
    request: *const msgwire_sr_request,
    out: *mut usize,
) -> msgwire_status {
    guard(|| {
        // SAFETY: a live request and a writable out-pointer per the header.
        let (r, out) = unsafe { (arg_ref(request, "request")?, arg_out(out, "out")?) };
        out.set(r.args.len());
        Ok(())
    })
}

/// Argument `index` (in query order), percent-decoded with `+` as a
/// space, lent for the call. `MSGWIRE_INVALID_ARGUMENT` past the end.
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_sr_request_arg(
    request: *const msgwire_sr_request,
    index: usize,
    key: *mut msgwire_str,
    value: *mut msgwire_str,
) -> msgwire_status {
    guard(|| {
        // SAFETY: a live request and writable out-pointers per the header.
        let (r, key, value) = unsafe {
            (
                arg_ref(request, "request")?,
                arg_out(key, "key")?,
                arg_out(value, "value")?,
            )
        };
        let (k, v) = r.args.get(index).ok_or_else(|| {
            Error::invalid(format!(
                "argument {index} is past the end ({} arguments)",
                r.args.len()
            ))
        })?;
        key.set(k.view());
        value.set(v.view());
        Ok(())
    })
}

/// The first value of argument `key`, lent for the call;
/// `MSGWIRE_NOT_FOUND` when the query has no such key.
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_sr_request_get(
    request: *const msgwire_sr_request,
    key: *const c_char,
    value: *mut msgwire_str,
) -> msgwire_status {
    guard(|| {
        // SAFETY: a live request, a string and a writable out-pointer.
        let (r, key, value) = unsafe {
            (
                arg_ref(request, "request")?,
                arg_str(key, "key")?,
                arg_out(value, "value")?,
            )
        };
        let v = r
            .args
            .iter()
            .find(|(k, _)| k.as_bytes() == key.as_bytes())
            .map(|(_, v)| v)
            .ok_or_else(|| Error::not_found(format!("no argument {key:?}")))?;
        value.set(v.view());
        Ok(())
    })
}

/// Answers one request. Runs on one of the server's worker threads
/// (several calls may run at once, for different requests); it may take
/// its time, but must not call `msgwire_sr_server_free` of its server.
/// Write the reply through `writer` (lent for the call: do not free or
/// keep it); call `msgwire_sr_writer_fail` to answer with a fault. When
/// the handler returns the server finishes the document.
pub type msgwire_sr_handler = Option<
    unsafe extern "C" fn(
        user_data: *mut c_void,
        request: *const msgwire_sr_request,
        writer: *mut msgwire_sr_writer,
    ),
>;

/// Releases a `user_data` given with a handler: called once, after the
/// last call of that handler, when the server is freed or the method is
/// registered again (or at once when registering fails).
pub type msgwire_sr_user_data_free = Option<unsafe extern "C" fn(user_data: *mut c_void)>;

struct UserData {
    user_data: *mut c_void,
    free: msgwire_sr_user_data_free,
}

// SAFETY: the header makes the C side promise that its handlers and
// `user_data_free` may run on msgwire's threads with this pointer; msgwire
// only passes the pointer along.
unsafe impl Send for UserData {}
// SAFETY: as above; shared use only reads the pointer value.
unsafe impl Sync for UserData {}

impl Drop for UserData {
    fn drop(&mut self) {
        if let Some(free) = self.free {
            // SAFETY: the caller's release function with its own pointer.
            unsafe { free(self.user_data) }
        }
    }
}

type HandlerFn =
    unsafe extern "C" fn(*mut c_void, *const msgwire_sr_request, *mut msgwire_sr_writer);

/// One registered C handler; emptied when the server is freed or the
/// method re-registered. Each call holds its own reference, so the
/// `user_data` is released after the last running call returns, and
/// emptying never waits for a handler (which may be stuck).
struct Slot(RwLock<Option<Arc<(HandlerFn, UserData)>>>);

impl Slot {
    fn call(&self, req: &sr::Request, reply: &mut Reply) -> Result<(), Fault> {
        let entry = self.0.read().unwrap_or_else(|e| e.into_inner()).clone();
        let Some((f, data)) = entry.as_deref() else {
            return Err(Fault::new(404, "Not Found"));
        };
        let request = msgwire_sr_request {
            method: CText::new(&req.method),
            args: req
                .args
                .iter()
                .map(|(k, v)| (CText::new(k), CText::new(v)))
                .collect(),
            head: req.head,
        };
        let mut writer = msgwire_sr_writer {
            kind: WriterKind::Reply {
                reply: reply as *mut Reply,
                fault: None,
            },
        };
        // SAFETY: the caller's handler; `request` and `writer` outlive the
        // call, as documented.
        guard_value((), || unsafe { f(data.user_data, &request, &mut writer) });
        match writer.kind {
            WriterKind::Reply { fault: Some(f), .. } => Err(f),
            _ => Ok(()),
        }
    }

    fn release(&self) {
        let taken = self.0.write().unwrap_or_else(|e| e.into_inner()).take();
        drop(taken);
    }
}

/// The embedded serverResponse HTTP server.
///
/// Made by `msgwire_sr_server_bind`, released by `msgwire_sr_server_free`.
/// `_method` and the getters may be called from any thread.
pub struct msgwire_sr_server {
    server: Server,
    slots: std::sync::Mutex<HashMap<String, Arc<Slot>>>,
}

/// Listens on `address` (`"127.0.0.1:0"`: any free port, see
/// `_local_port`; `"[::1]:0"` for IPv6) and serves from background worker
/// threads. `server_name` (may be NULL: `"msgwire"`) is the `server`
/// attribute of every document; `config` may be NULL for the defaults.
/// The built-in `status` method is served until a handler replaces it.
/// `MSGWIRE_SR_LISTEN` when the address cannot be listened on. `*out`
/// receives a server to release with `msgwire_sr_server_free`.
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_sr_server_bind(
    address: *const c_char,
    server_name: *const c_char,
    config: *const msgwire_sr_server_config,
    out: *mut *mut msgwire_sr_server,
) -> msgwire_status {
    guard(|| {
        // SAFETY: strings, NULL or a readable config, and a writable
        // out-pointer per the header.
        unsafe { bind(address, server_name, config, None, out) }
    })
}

/// Like `msgwire_sr_server_bind`, serving HTTPS: every connection starts
/// with a TLS handshake presenting the certificate of `tls` (see
/// `msgwire_tls_server_config_from_pem`/`_from_files`; the server keeps
/// its own reference, so `tls` may be freed right after this call). The
/// handshake counts against `read_timeout_ms`; a client that fails it is
/// dropped without a reply.
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_sr_server_bind_tls(
    address: *const c_char,
    server_name: *const c_char,
    config: *const msgwire_sr_server_config,
    tls: *const msgwire_tls_server_config,
    out: *mut *mut msgwire_sr_server,
) -> msgwire_status {
    guard(|| {
        // SAFETY: a live TLS configuration per the header.
        let tls = unsafe { arg_ref(tls, "tls")? }.config.clone();
        // SAFETY: strings, NULL or a readable config, and a writable
        // out-pointer per the header.
        unsafe { bind(address, server_name, config, Some(tls), out) }
    })
}

/// The body of the two `bind` functions.
///
/// # Safety
/// The pointers as documented on `msgwire_sr_server_bind`.
unsafe fn bind(
    address: *const c_char,
    server_name: *const c_char,
    config: *const msgwire_sr_server_config,
    tls: Option<TlsServerConfig>,
    out: *mut *mut msgwire_sr_server,
) -> Result<(), Error> {
    // SAFETY: the caller's promise.
    let (address, name, cfg, out) = unsafe {
        (
            arg_str(address, "address")?,
            arg_opt_str(server_name, "server_name")?,
            config.as_ref().copied().unwrap_or_default(),
            arg_out(out, "out")?,
        )
    };
    let mut core = ServerConfig {
        tls,
        ..ServerConfig::default()
    };
    if let Some(n) = name {
        core.server_name = n.to_string();
    }
    if cfg.read_timeout_ms > 0 {
        core.read_timeout = Duration::from_millis(u64::from(cfg.read_timeout_ms));
    }
    if cfg.max_connections > 0 {
        core.max_connections = cfg.max_connections as usize;
    }
    if cfg.workers > 0 {
        core.workers = cfg.workers as usize;
    }
    if cfg.max_head > 0 {
        core.max_head = cfg.max_head as usize;
    }
    if cfg.write_timeout_ms > 0 {
        core.write_timeout = Duration::from_millis(u64::from(cfg.write_timeout_ms));
    }
    if cfg.shutdown_timeout_ms > 0 {
        core.shutdown_timeout = Duration::from_millis(u64::from(cfg.shutdown_timeout_ms));
    }
    // The worker threads inherit the blocked SIGPIPE (see the endpoint
    // module): a client that goes away must not kill the program.
    let _mask = SigpipeBlocked::new();
    let server = Server::bind(address, core).map_err(|e| {
        Error::new(
            MSGWIRE_SR_LISTEN,
            format!("cannot listen on {address}: {e}"),
        )
    })?;
    out.set(new_handle(msgwire_sr_server {
        server,
        slots: std::sync::Mutex::new(HashMap::new()),
    }));
    Ok(())
}

/// The port the server listens on (the one chosen for port 0).
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_sr_server_local_port(
    server: *const msgwire_sr_server,
    out: *mut u16,
) -> msgwire_status {
    guard(|| {
        // SAFETY: a live server and a writable out-pointer per the header.
        let (s, out) = unsafe { (arg_ref(server, "server")?, arg_out(out, "out")?) };
        out.set(s.server.local_addr().port());
        Ok(())
    })
}

/// Serves `method` (`/<method>.xml`) with `handler` (see
/// `msgwire_sr_handler`), replacing an earlier handler of that name
/// (also the built-in `status`). `user_data` goes to every call and then
/// to `user_data_free` (may be NULL).
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_sr_server_method(
    server: *const msgwire_sr_server,
    method: *const c_char,
    handler: msgwire_sr_handler,
    user_data: *mut c_void,
    user_data_free: msgwire_sr_user_data_free,
) -> msgwire_status {
    guard(|| {
        let data = UserData {
            user_data,
            free: user_data_free,
        };
        let f = handler.ok_or_else(|| Error::null("handler"))?;
        // SAFETY: a live server and a string per the header.
        let (s, name) = unsafe { (arg_ref(server, "server")?, arg_str(method, "method")?) };
        let slot = Arc::new(Slot(RwLock::new(Some(Arc::new((f, data))))));
        let call = slot.clone();
        let mut slots = s.slots.lock().unwrap_or_else(|e| e.into_inner());
        s.server
            .method(name, move |req, reply| call.call(req, reply));
        if let Some(old) = slots.insert(name.to_string(), slot) {
            old.release();
        }
        Ok(())
    })
}

/// Stops the server: no new connections, the ones being served are cut,
/// and the threads are joined, waiting at most `shutdown_timeout_ms`
/// (default 2000 ms) for them. It returns then even when a handler is
/// stuck (waits for something that never comes): that handler's thread
/// is detached and its connection already closed; the handler keeps
/// running until it returns (threads cannot be killed), its writes then
/// fail, and no handler of this server is called again. Each handler's
/// `user_data_free` runs once its last call has returned: before this
/// function returns, or for a stuck handler later, on its thread.
/// NULL does nothing. Not from a handler of this server.
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_sr_server_free(server: *mut msgwire_sr_server) {
    guard_value((), || {
        if server.is_null() {
            return;
        }
        // SAFETY: a server from msgwire_sr_server_bind, freed once.
        let s = unsafe { Box::from_raw(server) };
        s.server.shutdown();
        for slot in s.slots.lock().unwrap_or_else(|e| e.into_inner()).values() {
            slot.release();
        }
        drop(s);
    })
}

// ----------------------------------------------------------------- client

/// Fetches `url` (`http://host[:port]/method.xml?arg=value`) with HTTP/1.0
/// and parses the reply, all within `timeout_ms` (0: 10000 ms), on the
/// calling thread. An HTTP error status whose body is a faults document
/// succeeds: read the faults from the response. `*out` receives a
/// response to release with `msgwire_sr_response_free`. For `https://`
/// URLs use `msgwire_sr_get_tls`.
///
/// Errors: `MSGWIRE_SR_BAD_URL` (also for `https://`),
/// `MSGWIRE_SR_CONNECT`, `MSGWIRE_SR_TIMEOUT`, `MSGWIRE_SR_BAD_REPLY`,
/// `MSGWIRE_SR_HTTP_ERROR` (an error status without a document),
/// `MSGWIRE_SR_DOCUMENT` (a success status whose body is not
/// serverResponse).
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_sr_get(
    url: *const c_char,
    timeout_ms: u32,
    out: *mut *mut msgwire_sr_response,
) -> msgwire_status {
    guard(|| {
        // SAFETY: a string and a writable out-pointer per the header.
        unsafe { fetch(url, timeout_ms, None, out) }
    })
}

/// Like `msgwire_sr_get`, also for `https://` URLs: the server must
/// present a certificate that `tls` trusts (see
/// `msgwire_tls_client_config_with_ca_pem`/`_with_ca_file`) for the URL's
/// host; `tls` is only read during the call. A failed handshake (an
/// untrusted certificate, a server that does not speak TLS) is
/// `MSGWIRE_SR_TLS`; the other errors are those of `msgwire_sr_get`.
/// `http://` URLs are fetched without TLS.
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_sr_get_tls(
    url: *const c_char,
    timeout_ms: u32,
    tls: *const msgwire_tls_client_config,
    out: *mut *mut msgwire_sr_response,
) -> msgwire_status {
    guard(|| {
        // SAFETY: a live TLS configuration per the header.
        let tls = unsafe { arg_ref(tls, "tls")? }.config.clone();
        // SAFETY: a string and a writable out-pointer per the header.
        unsafe { fetch(url, timeout_ms, Some(tls), out) }
    })
}

/// The body of the two `get` functions.
///
/// # Safety
/// The pointers as documented on `msgwire_sr_get`.
unsafe fn fetch(
    url: *const c_char,
    timeout_ms: u32,
    tls: Option<TlsClientConfig>,
    out: *mut *mut msgwire_sr_response,
) -> Result<(), Error> {
    // SAFETY: the caller's promise.
    let (url, out) = unsafe { (arg_str(url, "url")?, arg_out(out, "out")?) };
    let timeout = Duration::from_millis(if timeout_ms == 0 {
        10_000
    } else {
        u64::from(timeout_ms)
    });
    let mut options = GetOptions::default().with_timeout(timeout);
    if let Some(tls) = tls {
        options = options.with_tls(tls);
    }
    let _mask = SigpipeBlocked::new();
    let doc = sr::get_with(url, &options).map_err(client_error)?;
    out.set(msgwire_sr_response::new(doc));
    Ok(())
}

// ----------------------------------------------------------------- errors

fn parse_error(e: &sr::ParseError) -> Error {
    let status = match e.kind {
        ParseErrorKind::NotUtf8 => MSGWIRE_SR_PARSE_NOT_UTF8,
        ParseErrorKind::Empty => MSGWIRE_SR_PARSE_EMPTY,
        ParseErrorKind::NotServerResponse(_) => MSGWIRE_SR_PARSE_NOT_SERVER_RESPONSE,
        ParseErrorKind::Structure(_) => MSGWIRE_SR_PARSE_STRUCTURE,
        ParseErrorKind::MissingId { .. } => MSGWIRE_SR_PARSE_MISSING_ID,
        ParseErrorKind::TooLarge(_) => MSGWIRE_SR_PARSE_TOO_LARGE,
        ParseErrorKind::TooDeep(_) => MSGWIRE_SR_PARSE_TOO_DEEP,
        _ => MSGWIRE_SR_PARSE_XML,
    };
    Error::new(status, e.to_string())
}

fn write_error(e: WriteError) -> Error {
    let status = match e {
        WriteError::Order(_) => MSGWIRE_SR_WRITE_ORDER,
        _ => MSGWIRE_SR_WRITE,
    };
    Error::new(status, e.to_string())
}

fn client_error(e: ClientError) -> Error {
    let status = match &e {
        ClientError::BadUrl(_) => MSGWIRE_SR_BAD_URL,
        ClientError::Connect(_) => MSGWIRE_SR_CONNECT,
        ClientError::Timeout => MSGWIRE_SR_TIMEOUT,
        ClientError::Http { .. } => MSGWIRE_SR_HTTP_ERROR,
        ClientError::Document { .. } => MSGWIRE_SR_DOCUMENT,
        ClientError::Tls(_) => MSGWIRE_SR_TLS,
        _ => MSGWIRE_SR_BAD_REPLY,
    };
    Error::new(status, e.to_string())
}
