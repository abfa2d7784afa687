//! Large messages and file transfer for C, wrapping
//! `msgwire::msrp::transfer` and `MsrpSession::send_message`.
//!
//! # Sending
//!
//! A `msgwire_msrp_outgoing` describes one message: where its body comes
//! from (a file, opened by `msgwire_msrp_outgoing_from_path`, or a C read
//! callback), its size, headers, Message-ID and resume position.
//! `msgwire_msrp_session_send_message` consumes it and queues it; the
//! session's pump thread reads the body piece by piece and sends it in
//! chunks, and the message's update callback hears its progress and
//! outcome. Transfers are named by a `uint64_t` id (sequential from 1
//! within a session), which `msgwire_msrp_session_cancel_transfer` takes.
//!
//! # Receiving
//!
//! `msgwire_msrp_session_config` chooses whole-message delivery
//! (`whole_messages`), the largest message accepted and where bodies go:
//! memory (the default; the message then reaches `on_incoming` as one
//! chunk), a directory (`sink_directory`, one file per Message-ID), or C
//! callbacks (`sink`). Stored and dropped messages are reported to the
//! session callbacks `on_message_stored` / `on_message_aborted`.
//!
//! # Callback lifetimes
//!
//! Update callbacks are called like the session's own callbacks: through
//! the session's shared slot ([`Shared::call`]), so none runs once
//! `msgwire_msrp_session_free` has returned, and none overlaps another
//! callback of the session. Each message's `user_data` sits in a
//! [`TransferSlot`] that the session also lists; it is released exactly
//! once: after the final update, by `_free` for messages still running
//! then, or by `send_message` itself when it fails.

use std::collections::HashMap;
use std::ffi::{c_char, c_void, CString};
use std::fs::File;
use std::io;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard, Weak};

use msgwire_core::msrp::endpoint::{Error as EndpointError, TransferUpdate};
use msgwire_core::msrp::transfer::{
    AbortReason, BodySource, FileSink, MessageHead, MessageSink, OutgoingMessage, ReadSource,
    SinkFactory, TransferId,
};

use crate::endpoint::{msgwire_msrp_session, Shared};
use crate::error::{msgwire_status, Error};
use crate::guard::{arg_mut, arg_out, arg_ref, arg_str, free_handle, guard, new_handle};

// ================================================================ outgoing

/// Reads the next bytes of a message body into `buf[0..cap]`: returns how
/// many were written (at most `cap`), 0 at the end of the body, or a
/// negative number for an error (the message then fails with the local
/// code 500).
///
/// Threads: runs on the session's transfer pump thread (a msgwire worker),
/// only for bytes about to be sent; it may block until data is available
/// but should not block for long, since the session's other messages wait
/// meanwhile. Calls for one message never overlap.
pub type msgwire_msrp_read_callback =
    Option<unsafe extern "C" fn(user_data: *mut c_void, buf: *mut u8, cap: usize) -> i64>;

/// Releases a `user_data` given to msgwire together with callbacks. Called
/// exactly once, when msgwire no longer needs it; each function taking one
/// says when and on which thread.
pub type msgwire_user_data_free = Option<unsafe extern "C" fn(user_data: *mut c_void)>;

/// A message to send with `msgwire_msrp_session_send_message`: its body
/// source, size, headers, Message-ID and resume position.
///
/// Created by `msgwire_msrp_outgoing_from_path` or
/// `msgwire_msrp_outgoing_from_callback`; consumed by
/// `msgwire_msrp_session_send_message` or released by
/// `msgwire_msrp_outgoing_free`. Use it from one thread at a time.
pub struct msgwire_msrp_outgoing {
    /// Headers, Message-ID, size and position; its source is a placeholder
    /// until `send_message` puts `body` in.
    message: OutgoingMessage,
    body: Body,
}

/// The body of a `msgwire_msrp_outgoing`.
enum Body {
    /// A file, moved to the resume position when the message is sent.
    File(File),
    /// A C read callback, which starts at the resume position itself.
    Callback(CReadSource),
}

impl msgwire_msrp_outgoing {
    fn new(body: Body, size: Option<u64>) -> Self {
        msgwire_msrp_outgoing {
            message: OutgoingMessage::new(bytes::Bytes::new(), size),
            body,
        }
    }

    /// The message ready to send.
    fn into_message(self) -> io::Result<OutgoingMessage> {
        let mut message = self.message;
        message.source = match self.body {
            Body::File(mut file) => {
                use std::io::Seek;
                file.seek(io::SeekFrom::Start(message.position))?;
                Box::new(ReadSource(file))
            }
            Body::Callback(c) => Box::new(c),
        };
        Ok(message)
    }
}

/// A body read through a C callback.
struct CReadSource {
    read: unsafe extern "C" fn(*mut c_void, *mut u8, usize) -> i64,
    user_data: *mut c_void,
    free: msgwire_user_data_free,
}

// SAFETY: the header tells C callers that the read callback and
// `user_data_free` run on msgwire worker threads; msgwire only hands the
// pointer back to them.
unsafe impl Send for CReadSource {}

impl BodySource for CReadSource {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        // SAFETY: the caller's callback, given a writable buffer of
        // `buf.len()` bytes as documented.
        let n = unsafe { (self.read)(self.user_data, buf.as_mut_ptr(), buf.len()) };
        match usize::try_from(n) {
            Ok(n) if n <= buf.len() => Ok(n),
            Ok(n) => Err(io::Error::other(format!(
                "the read callback returned {n} for a buffer of {}",
                buf.len()
            ))),
            Err(_) => Err(io::Error::other(format!("the read callback failed ({n})"))),
        }
    }
}

impl Drop for CReadSource {
    fn drop(&mut self) {
        if let Some(free) = self.free {
            // SAFETY: the caller's release function with its own pointer,
            // called once (in drop).
            unsafe { free(self.user_data) }
        }
    }
}

/// Creates a message whose body is the file at `path` (NUL-terminated),
/// opened now and read while it is sent; its size is the file's size at
/// this call. A path that cannot be opened, or is not a regular file, is
/// `MSGWIRE_MSRP_TRANSFER_FILE`.
///
/// On success `*out` receives a new message, to pass to
/// `msgwire_msrp_session_send_message` or release with
/// `msgwire_msrp_outgoing_free`. The file is closed when the message
/// ends or is freed.
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_msrp_outgoing_from_path(
    path: *const c_char,
    out: *mut *mut msgwire_msrp_outgoing,
) -> msgwire_status {
    guard(|| {
        // SAFETY: a string and a writable out-pointer, per the header.
        let (path, out) = unsafe { (arg_str(path, "path")?, arg_out(out, "out")?) };
        let file_error = |e: io::Error| {
            Error::new(
                msgwire_status::MSGWIRE_MSRP_TRANSFER_FILE,
                format!("cannot read {path}: {e}"),
            )
        };
        let file = File::open(path).map_err(file_error)?;
        let meta = file.metadata().map_err(file_error)?;
        if !meta.is_file() {
            return Err(Error::new(
                msgwire_status::MSGWIRE_MSRP_TRANSFER_FILE,
                format!("{path} is not a regular file"),
            ));
        }
        out.set(new_handle(msgwire_msrp_outgoing::new(
            Body::File(file),
            Some(meta.len()),
        )));
        Ok(())
    })
}

/// Creates a message whose body is read through `read` (see
/// `msgwire_msrp_read_callback`), of `size` bytes, or of unknown size when
/// `size` is -1 (the message then ends when `read` returns 0; the peer sees
/// a `*` total). Other negative sizes are `MSGWIRE_INVALID_ARGUMENT`; a
/// body that ends before `size` bytes fails the message (local 500).
///
/// `user_data` is passed to every `read` call and then released with
/// `user_data_free` (may be NULL), exactly once: by
/// `msgwire_msrp_outgoing_free` or a failing
/// `msgwire_msrp_session_send_message` (on the calling thread), or once the
/// message has ended (on a msgwire worker thread, or in
/// `msgwire_msrp_session_free`). When this function fails it is released
/// right away. On success `*out` receives a new message, as for
/// `msgwire_msrp_outgoing_from_path`.
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_msrp_outgoing_from_callback(
    read: msgwire_msrp_read_callback,
    user_data: *mut c_void,
    user_data_free: msgwire_user_data_free,
    size: i64,
    out: *mut *mut msgwire_msrp_outgoing,
) -> msgwire_status {
    guard(|| {
        let release = || {
            if let Some(free) = user_data_free {
                // SAFETY: the caller's release function with its pointer,
                // called once on this failure path.
                unsafe { free(user_data) }
            }
        };
        let Some(read) = read else {
            release();
            return Err(Error::null("read"));
        };
        // SAFETY: a writable out-pointer per the header.
        let out = match unsafe { arg_out(out, "out") } {
            Ok(o) => o,
            Err(e) => {
                release();
                return Err(e);
            }
        };
        let size = match size {
            -1 => None,
            s if s >= 0 => Some(s as u64),
            s => {
                release();
                return Err(Error::invalid(format!(
                    "size must be -1 (unknown) or at least 0, not {s}"
                )));
            }
        };
        let source = CReadSource {
            read,
            user_data,
            free: user_data_free,
        };
        out.set(new_handle(msgwire_msrp_outgoing::new(
            Body::Callback(source),
            size,
        )));
        Ok(())
    })
}

/// Releases a message that was not sent (and its source: the file is
/// closed, a callback source's `user_data_free` runs on this thread). NULL
/// is ignored.
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_msrp_outgoing_free(outgoing: *mut msgwire_msrp_outgoing) {
    crate::guard::guard_value((), || {
        // SAFETY: NULL or a live handle, freed once, per the header.
        unsafe { free_handle(outgoing) }
    })
}

fn is_tchar(c: char) -> bool {
    c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c)
}

fn check_value(value: &str, what: &str) -> Result<(), Error> {
    if value.contains(['\r', '\n', '\0']) {
        return Err(Error::invalid(format!("{what} contains CR or LF")));
    }
    if value.trim().is_empty() {
        return Err(Error::invalid(format!("{what} is empty")));
    }
    Ok(())
}

/// Headers the session writes itself on every chunk.
const RESERVED: [&str; 4] = ["To-Path", "From-Path", "Byte-Range", "Message-ID"];

/// Sets the Content-Type sent with every chunk (a NUL-terminated string
/// such as `"application/octet-stream"`, copied). An empty value or one
/// containing CR or LF is `MSGWIRE_INVALID_ARGUMENT`.
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_msrp_outgoing_set_content_type(
    outgoing: *mut msgwire_msrp_outgoing,
    content_type: *const c_char,
) -> msgwire_status {
    guard(|| {
        // SAFETY: a live message used by this thread only and a string, per
        // the header.
        let (o, ct) = unsafe {
            (
                arg_mut(outgoing, "outgoing")?,
                arg_str(content_type, "content_type")?,
            )
        };
        check_value(ct, "content_type")?;
        o.message.headers.set("Content-Type", ct.trim());
        Ok(())
    })
}

/// Sets a header sent with every chunk, replacing one of the same name
/// (both strings NUL-terminated and copied), e.g. `Success-Report: yes`,
/// `Failure-Report: partial` or `Content-Disposition`. A name that is not a
/// token, a value that is empty or contains CR or LF, and the headers the
/// session writes itself (To-Path, From-Path, Byte-Range, Message-ID; see
/// `msgwire_msrp_outgoing_set_message_id`) are `MSGWIRE_INVALID_ARGUMENT`.
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_msrp_outgoing_set_header(
    outgoing: *mut msgwire_msrp_outgoing,
    name: *const c_char,
    value: *const c_char,
) -> msgwire_status {
    guard(|| {
        // SAFETY: a live message used by this thread only and two strings,
        // per the header.
        let (o, name, value) = unsafe {
            (
                arg_mut(outgoing, "outgoing")?,
                arg_str(name, "name")?,
                arg_str(value, "value")?,
            )
        };
        if name.is_empty() || !name.chars().all(is_tchar) {
            return Err(Error::invalid(format!(
                "header name {name:?} is not a token"
            )));
        }
        if RESERVED.iter().any(|r| r.eq_ignore_ascii_case(name)) {
            return Err(Error::invalid(format!(
                "{name} is written by the session and cannot be set"
            )));
        }
        check_value(value, "value")?;
        o.message.headers.set(name, value.trim());
        Ok(())
    })
}

/// Sets the Message-ID (NUL-terminated, copied): 4 to 32 letters, digits
/// and `-.+%=`, starting with a letter or digit. Without it a random one is
/// chosen. Anything else is `MSGWIRE_INVALID_ARGUMENT`.
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_msrp_outgoing_set_message_id(
    outgoing: *mut msgwire_msrp_outgoing,
    message_id: *const c_char,
) -> msgwire_status {
    guard(|| {
        // SAFETY: a live message used by this thread only and a string, per
        // the header.
        let (o, id) = unsafe {
            (
                arg_mut(outgoing, "outgoing")?,
                arg_str(message_id, "message_id")?,
            )
        };
        let ident = (4..=32).contains(&id.len())
            && id.starts_with(|c: char| c.is_ascii_alphanumeric())
            && id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-.+%=".contains(c));
        if !ident {
            return Err(Error::invalid(format!(
                "message_id {id:?} is not 4 to 32 ident characters"
            )));
        }
        o.message.message_id = Some(id.to_string());
        Ok(())
    })
}

/// Sets the resume position: the number of bytes of the message the peer
/// already has (default 0). The first chunk then starts at byte
/// `position + 1`, and the source must already stand there: a file opened
/// by `msgwire_msrp_outgoing_from_path` is moved there by this call, a
/// callback source must start reading there itself. A position past a known
/// size is `MSGWIRE_INVALID_ARGUMENT`.
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_msrp_outgoing_set_position(
    outgoing: *mut msgwire_msrp_outgoing,
    position: u64,
) -> msgwire_status {
    guard(|| {
        // SAFETY: a live message used by this thread only, per the header.
        let o = unsafe { arg_mut(outgoing, "outgoing")? };
        if o.message.size.is_some_and(|s| position > s) {
            return Err(Error::invalid(format!(
                "position {position} is past the size {}",
                o.message.size.unwrap_or_default()
            )));
        }
        o.message.position = position;
        Ok(())
    })
}

// ================================================================= updates

/// What a `msgwire_msrp_transfer_update` reports.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum msgwire_msrp_transfer_update_kind {
    /// More of the message was acknowledged by the peer (about once per
    /// chunk).
    Progress = 0,
    /// Every chunk was sent and acknowledged; the last update.
    Completed = 1,
    /// The message was stopped (`code`, `comment` and `local` say how); the
    /// last update.
    Failed = 2,
}

/// One update on a message sent with `msgwire_msrp_session_send_message`.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct msgwire_msrp_transfer_update {
    /// Progress, completion or failure.
    pub kind: msgwire_msrp_transfer_update_kind,
    /// Bytes acknowledged so far, counting the resume position (for
    /// `COMPLETED` and `FAILED`: as of the last progress update).
    pub acknowledged: u64,
    /// The message's size, -1 when unknown.
    pub total: i64,
    /// `FAILED`: the response code (e.g. 413 from the peer) or a local one:
    /// 487 cancelled, 500 the source failed, 408 a response timeout or the
    /// connection closed. 0 otherwise.
    pub code: u16,
    /// `FAILED`: the response comment or a local explanation,
    /// NUL-terminated, lent for the call only; NULL otherwise.
    pub comment: *const c_char,
    /// `FAILED`: whether the failure was decided locally.
    pub local: bool,
}

/// Receives the updates of one message: any number of `PROGRESS`, then
/// exactly one `COMPLETED` or `FAILED` (unless the session is freed first).
/// `update` is lent for the call only.
///
/// Threads: runs on a msgwire worker thread (the connection's reader, the
/// timer or the transfer pump), never concurrently with another callback of
/// the same session. It must not block. It may call
/// `msgwire_msrp_session_send_message`, `_cancel_transfer`, `_send_chunk`
/// and `_shutdown(session, false)`, with the same limits as
/// `msgwire_msrp_incoming_callback`.
pub type msgwire_msrp_transfer_callback = Option<
    unsafe extern "C" fn(user_data: *mut c_void, update: *const msgwire_msrp_transfer_update),
>;

/// The C side of one message's updates.
struct CTransfer {
    f: msgwire_msrp_transfer_callback,
    user_data: *mut c_void,
    free: msgwire_user_data_free,
    acknowledged: u64,
    total: i64,
}

// SAFETY: the header makes the C side promise that the callback and
// `user_data_free` may run on worker threads; msgwire only hands the
// pointer back to them.
unsafe impl Send for CTransfer {}

impl CTransfer {
    fn release(self) {
        if let Some(free) = self.free {
            // SAFETY: the caller's release function with its own pointer,
            // called once (self is consumed).
            unsafe { free(self.user_data) }
        }
    }
}

/// One message's C callback and `user_data`, until released.
pub(crate) struct TransferSlot(Mutex<Option<CTransfer>>);

impl TransferSlot {
    fn lock(&self) -> MutexGuard<'_, Option<CTransfer>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn release(&self) {
        let taken = self.lock().take();
        if let Some(t) = taken {
            t.release();
        }
    }
}

/// The transfers of a session, by id, as the session's [`Shared`] keeps
/// them: the core's id (for cancelling) and the slot (for releasing on
/// `_free`). Entries whose slot is gone are pruned on the next send.
pub(crate) type TransferTable = Mutex<HashMap<u64, (TransferId, Weak<TransferSlot>)>>;

/// Releases the `user_data` of every transfer still running (from
/// `msgwire_msrp_session_free`, after the session's slot was emptied).
pub(crate) fn release_transfers(table: &TransferTable) {
    let slots: Vec<_> = table
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .drain()
        .filter_map(|(_, (_, slot))| slot.upgrade())
        .collect();
    for slot in slots {
        slot.release();
    }
}

/// The core's callback for one message: forwards to C through the
/// session's shared slot and releases `user_data` after the final update,
/// or when dropped without one.
struct Forwarder {
    shared: Arc<Shared>,
    slot: Arc<TransferSlot>,
}

impl Forwarder {
    fn update(&self, update: TransferUpdate) {
        let slot = &self.slot;
        self.shared.call(|_| {
            let mut guard = slot.lock();
            let Some(t) = guard.as_mut() else { return };
            let mut comment_text = None;
            let (kind, code, local, last) = match update {
                TransferUpdate::Progress {
                    acknowledged,
                    total,
                } => {
                    t.acknowledged = acknowledged;
                    t.total = total.map_or(-1, |t| i64::try_from(t).unwrap_or(i64::MAX));
                    (msgwire_msrp_transfer_update_kind::Progress, 0, false, false)
                }
                TransferUpdate::Completed => {
                    (msgwire_msrp_transfer_update_kind::Completed, 0, false, true)
                }
                TransferUpdate::Failed {
                    code,
                    comment,
                    local,
                } => {
                    comment_text =
                        Some(CString::new(comment.replace('\0', " ")).unwrap_or_default());
                    (msgwire_msrp_transfer_update_kind::Failed, code, local, true)
                }
                // Future kinds of update: nothing to tell C yet.
                #[allow(unreachable_patterns)]
                _ => return,
            };
            let view = msgwire_msrp_transfer_update {
                kind,
                acknowledged: t.acknowledged,
                total: t.total,
                code,
                comment: comment_text
                    .as_ref()
                    .map_or(std::ptr::null(), |c| c.as_ptr()),
                local,
            };
            if let Some(f) = t.f {
                // SAFETY: the caller's callback; `view` and its comment
                // outlive the call as documented.
                unsafe { f(t.user_data, &view) }
            }
            if last {
                let done = guard.take();
                drop(guard);
                if let Some(t) = done {
                    t.release();
                }
            }
        });
    }
}

impl Drop for Forwarder {
    fn drop(&mut self) {
        self.slot.release();
    }
}

/// Queues `outgoing` (consumed whatever the outcome: do not use or free it
/// afterwards; NULL is `MSGWIRE_NULL_PARAMETER`) to be sent in chunks, and
/// returns at once with its transfer id in `*transfer_id_out` (sequential
/// from 1 within the session). The body is read later, piece by piece, by
/// the session's pump thread.
///
/// `update` (may be NULL) hears the message's progress and outcome (see
/// `msgwire_msrp_transfer_callback`) with `user_data`, which
/// `user_data_free` (may be NULL) releases exactly once: after the final
/// update, on the thread that ran it; in `msgwire_msrp_session_free` when
/// the message is still running then; or before this function returns when
/// it fails. Updates may come before this function returns.
///
/// Fails with `MSGWIRE_MSRP_ENDPOINT_CLOSED` once the session is shutting
/// down or closed, and `MSGWIRE_MSRP_TRANSFER_INVALID_MESSAGE` for a
/// message the session refuses as given (e.g. a malformed Failure-Report,
/// a position past the size). May be called from a session callback.
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_msrp_session_send_message(
    session: *const msgwire_msrp_session,
    outgoing: *mut msgwire_msrp_outgoing,
    update: msgwire_msrp_transfer_callback,
    user_data: *mut c_void,
    user_data_free: msgwire_user_data_free,
    transfer_id_out: *mut u64,
) -> msgwire_status {
    guard(|| {
        let ctransfer = CTransfer {
            f: update,
            user_data,
            free: user_data_free,
            acknowledged: 0,
            total: -1,
        };
        let message = if outgoing.is_null() {
            None
        } else {
            // SAFETY: a message handle, consumed here once, per the header.
            Some(*unsafe { Box::from_raw(outgoing) })
        };
        // SAFETY: a live session and a writable out-pointer, per the
        // header.
        let checked = unsafe {
            arg_ref(session, "session")
                .and_then(|s| arg_out(transfer_id_out, "transfer_id_out").map(|o| (s, o)))
        };
        let (s, out, message) = match (checked, message) {
            (Ok((s, o)), Some(m)) => (s, o, m),
            (Err(e), _) => {
                ctransfer.release();
                return Err(e);
            }
            (Ok(_), None) => {
                ctransfer.release();
                return Err(Error::null("outgoing"));
            }
        };
        if message
            .message
            .size
            .is_some_and(|size| message.message.position > size)
        {
            ctransfer.release();
            return Err(Error::new(
                msgwire_status::MSGWIRE_MSRP_TRANSFER_INVALID_MESSAGE,
                "the position is past the size",
            ));
        }
        let message = match message.into_message() {
            Ok(m) => m,
            Err(e) => {
                ctransfer.release();
                return Err(Error::new(
                    msgwire_status::MSGWIRE_MSRP_TRANSFER_FILE,
                    format!("cannot move the file to the resume position: {e}"),
                ));
            }
        };
        let slot = Arc::new(TransferSlot(Mutex::new(Some(ctransfer))));
        let forwarder = Forwarder {
            shared: s.shared.clone(),
            slot: slot.clone(),
        };
        // Not under the transfer table's lock: updates may run on this
        // thread before the core returns, and they may cancel or send.
        let sent = s
            .session
            .send_message_with(message, Some(Box::new(move |u| forwarder.update(u))));
        match sent {
            Ok(id) => {
                let mut table = s.shared.transfers.lock().unwrap_or_else(|e| e.into_inner());
                table.retain(|_, (_, w)| w.strong_count() > 0);
                // A message already finished leaves an entry whose slot is
                // gone; it is pruned by the next send.
                table.insert(id.get(), (id, Arc::downgrade(&slot)));
                drop(table);
                out.set(id.get());
                Ok(())
            }
            Err(e) => {
                // The core dropped the forwarder, which released user_data.
                slot.release();
                Err(match e {
                    EndpointError::Io(io) if io.kind() == io::ErrorKind::InvalidInput => {
                        Error::new(
                            msgwire_status::MSGWIRE_MSRP_TRANSFER_INVALID_MESSAGE,
                            io.to_string(),
                        )
                    }
                    other => other.into(),
                })
            }
        }
    })
}

/// Stops a message queued with `msgwire_msrp_session_send_message`: a chunk
/// of it being written ends with `#`, nothing more of it is sent, and its
/// update callback gets `FAILED` with the local code 487 (possibly before
/// this returns). `MSGWIRE_NOT_FOUND` when no message with this id is
/// running (unknown, completed or failed already). May be called from a
/// session callback.
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_msrp_session_cancel_transfer(
    session: *const msgwire_msrp_session,
    transfer_id: u64,
) -> msgwire_status {
    guard(|| {
        // SAFETY: a live session per the header.
        let s = unsafe { arg_ref(session, "session")? };
        let id = s
            .shared
            .transfers
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&transfer_id)
            .map(|(id, _)| *id);
        let not_found = || Error::not_found(format!("no transfer {transfer_id} is running"));
        let id = id.ok_or_else(not_found)?;
        if s.session.cancel_transfer(id) {
            Ok(())
        } else {
            Err(not_found())
        }
    })
}

/// Copies the number of messages sent with
/// `msgwire_msrp_session_send_message` that have neither completed nor
/// failed into `*out`.
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_msrp_session_active_transfers(
    session: *const msgwire_msrp_session,
    out: *mut usize,
) -> msgwire_status {
    guard(|| {
        // SAFETY: a live session and a writable out-pointer, per the
        // header.
        let (s, out) = unsafe { (arg_ref(session, "session")?, arg_out(out, "out")?) };
        out.set(s.session.active_transfers());
        Ok(())
    })
}

// ================================================================= sinks

/// Opens where one incoming message is stored (whole-message delivery with
/// a `sink`). `message_id` and `content_type` (NULL when absent) are
/// NUL-terminated and lent for the call; `total` is the message's size, -1
/// when the sender does not know it yet.
///
/// Returns a sink handle of the application's choosing, passed back to the
/// other sink callbacks; NULL refuses the message (the peer gets 413 and
/// `on_message_aborted` reports `MSGWIRE_MSRP_ABORT_REASON_STORAGE`).
///
/// Threads: every sink callback runs on the connection's reader thread
/// (`abort` also in `msgwire_msrp_session_free`, for messages still
/// incomplete then), one at a time for a session. They should not block
/// for long: nothing else is read meanwhile. Writing to a local file is
/// fine. They must not call back into the session.
pub type msgwire_msrp_sink_open_callback = Option<
    unsafe extern "C" fn(
        user_data: *mut c_void,
        message_id: *const c_char,
        content_type: *const c_char,
        total: i64,
    ) -> *mut c_void,
>;

/// Writes `data[0..len]` at byte `offset` (0-based) of the message; pieces
/// may come out of order, overlap or repeat. Returns 0 on success; anything
/// else drops the message (413, `abort` follows). `data` is lent for the
/// call only.
pub type msgwire_msrp_sink_write_callback = Option<
    unsafe extern "C" fn(
        user_data: *mut c_void,
        sink: *mut c_void,
        offset: u64,
        data: *const u8,
        len: usize,
    ) -> i32,
>;

/// Every byte arrived: make the message durable and release `sink`.
/// Returns 0 on success (`on_message_stored` follows); anything else
/// drops the message (`abort` follows, and must release `sink`).
pub type msgwire_msrp_sink_finish_callback =
    Option<unsafe extern "C" fn(user_data: *mut c_void, sink: *mut c_void) -> i32>;

/// The message was abandoned, refused or cut off: discard what was written
/// and release `sink`.
pub type msgwire_msrp_sink_abort_callback =
    Option<unsafe extern "C" fn(user_data: *mut c_void, sink: *mut c_void)>;

/// Where whole incoming messages are stored, through C callbacks. For each
/// sink handle `open` returned, msgwire calls `write_at` any number of
/// times, then `finish`; it calls `abort` when the message is dropped
/// (also after a failed `finish`). So each handle ends with a successful
/// `finish` or with exactly one `abort`. All four are required.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct msgwire_msrp_sink_callbacks {
    /// Opens a message's storage.
    pub open: msgwire_msrp_sink_open_callback,
    /// Writes a piece of the body.
    pub write_at: msgwire_msrp_sink_write_callback,
    /// Completes a message.
    pub finish: msgwire_msrp_sink_finish_callback,
    /// Discards a message.
    pub abort: msgwire_msrp_sink_abort_callback,
}

#[derive(Clone, Copy)]
struct CSinkTable {
    open: unsafe extern "C" fn(*mut c_void, *const c_char, *const c_char, i64) -> *mut c_void,
    write_at: unsafe extern "C" fn(*mut c_void, *mut c_void, u64, *const u8, usize) -> i32,
    finish: unsafe extern "C" fn(*mut c_void, *mut c_void) -> i32,
    abort: unsafe extern "C" fn(*mut c_void, *mut c_void),
    user_data: *mut c_void,
}

// SAFETY: the header tells C callers that the sink callbacks run on worker
// threads and that `sink_user_data` stays valid until the session is freed;
// msgwire only hands the pointers back to those callbacks.
unsafe impl Send for CSinkTable {}
// SAFETY: as above; no Rust state is shared through the pointers.
unsafe impl Sync for CSinkTable {}

/// One message's C sink handle.
struct CSink {
    table: CSinkTable,
    handle: *mut c_void,
    /// `finish` succeeded or `abort` ran: the handle is released.
    closed: bool,
}

// SAFETY: as for `CSinkTable`.
unsafe impl Send for CSink {}

impl MessageSink for CSink {
    fn write_at(&mut self, offset: u64, data: &[u8]) -> io::Result<()> {
        // SAFETY: the caller's callback with its handle; `data` lives
        // through the call.
        let rc = unsafe {
            (self.table.write_at)(
                self.table.user_data,
                self.handle,
                offset,
                data.as_ptr(),
                data.len(),
            )
        };
        if rc == 0 {
            Ok(())
        } else {
            Err(io::Error::other(format!(
                "the sink's write_at failed ({rc})"
            )))
        }
    }

    fn finish(&mut self) -> io::Result<()> {
        // SAFETY: the caller's callback with its handle.
        let rc = unsafe { (self.table.finish)(self.table.user_data, self.handle) };
        if rc == 0 {
            self.closed = true;
            Ok(())
        } else {
            Err(io::Error::other(format!("the sink's finish failed ({rc})")))
        }
    }

    fn abort(&mut self) {
        if !std::mem::replace(&mut self.closed, true) {
            // SAFETY: the caller's callback with its handle, once.
            unsafe { (self.table.abort)(self.table.user_data, self.handle) }
        }
    }
}

impl Drop for CSink {
    fn drop(&mut self) {
        self.abort();
    }
}

/// Builds the sink factory for C callbacks.
///
/// # Safety
///
/// `table` is a callback table the C caller vouches for (see the header),
/// `user_data` stays valid until the session is freed.
pub(crate) unsafe fn c_sink_factory(
    table: &msgwire_msrp_sink_callbacks,
    user_data: *mut c_void,
) -> Result<SinkFactory, Error> {
    let (Some(open), Some(write_at), Some(finish), Some(abort)) =
        (table.open, table.write_at, table.finish, table.abort)
    else {
        return Err(Error::null("a sink callback"));
    };
    let table = CSinkTable {
        open,
        write_at,
        finish,
        abort,
        user_data,
    };
    Ok(SinkFactory::new(move |head: &MessageHead<'_>| {
        let table = table;
        let id = CString::new(head.message_id).map_err(io::Error::other)?;
        let ct = head
            .content_type
            .map(CString::new)
            .transpose()
            .map_err(io::Error::other)?;
        let total = head
            .total
            .map_or(-1, |t| i64::try_from(t).unwrap_or(i64::MAX));
        // SAFETY: the caller's callback; the strings live through the call.
        let handle = unsafe {
            (table.open)(
                table.user_data,
                id.as_ptr(),
                ct.as_ref().map_or(std::ptr::null(), |c| c.as_ptr()),
                total,
            )
        };
        if handle.is_null() {
            return Err(io::Error::other("the sink's open refused the message"));
        }
        Ok(Some(Box::new(CSink {
            table,
            handle,
            closed: false,
        }) as Box<dyn MessageSink>))
    }))
}

/// Builds the sink factory storing each message as `<dir>/<Message-ID>`.
pub(crate) fn directory_sink_factory(dir: &str) -> Result<SinkFactory, Error> {
    let dir = PathBuf::from(dir);
    if !dir.is_dir() {
        return Err(Error::new(
            msgwire_status::MSGWIRE_MSRP_TRANSFER_FILE,
            format!("sink_directory {} is not a directory", dir.display()),
        ));
    }
    Ok(SinkFactory::new(move |head: &MessageHead<'_>| {
        let id = head.message_id;
        // Message-IDs are ident characters, but one starting with a dot
        // would name a hidden file or a parent directory.
        if id.is_empty() || id.starts_with('.') || id.contains(['/', '\\', '\0']) {
            return Err(io::Error::other(format!(
                "Message-ID {id:?} cannot name a file"
            )));
        }
        let sink = FileSink::create(dir.join(id))?;
        Ok(Some(Box::new(sink) as Box<dyn MessageSink>))
    }))
}

// ============================================================ receive events

/// Why an incoming message was dropped (`on_message_aborted`).
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum msgwire_msrp_abort_reason {
    /// A reason this version of the header does not name.
    Other = 0,
    /// The sender abandoned it (a chunk ended with `#`).
    Sender = 1,
    /// Larger than `max_message_size` (or in too many pieces); answered 413.
    TooLarge = 2,
    /// The sink could not open, write or finish it; answered 413.
    Storage = 3,
    /// A chunk of it was rejected (e.g. 415 for its Content-Type).
    Invalid = 4,
    /// The connection closed before it was complete.
    Closed = 5,
    /// Pushed out to bound what incomplete messages hold (too many at
    /// once, or those in memory too large together); answered 413.
    Crowded = 6,
}

pub(crate) fn abort_reason(reason: &AbortReason) -> (msgwire_msrp_abort_reason, String) {
    match reason {
        AbortReason::Sender => (
            msgwire_msrp_abort_reason::Sender,
            "abandoned by the sender".into(),
        ),
        AbortReason::TooLarge => (
            msgwire_msrp_abort_reason::TooLarge,
            "the message is too large".into(),
        ),
        AbortReason::Storage(text) => (msgwire_msrp_abort_reason::Storage, text.clone()),
        AbortReason::Invalid => (
            msgwire_msrp_abort_reason::Invalid,
            "a chunk was rejected".into(),
        ),
        AbortReason::Closed => (
            msgwire_msrp_abort_reason::Closed,
            "the connection closed".into(),
        ),
        AbortReason::Crowded => (
            msgwire_msrp_abort_reason::Crowded,
            "too many incomplete messages".into(),
        ),
        #[allow(unreachable_patterns)]
        other => (msgwire_msrp_abort_reason::Other, format!("{other:?}")),
    }
}
