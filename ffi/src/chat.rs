//! MSRPChat for C: `msgwire_chat_*` over the core [`Chat`].
//!
//! A chat is created with its configuration and one callback that receives
//! every notification as a [`msgwire_chat_event`]: a kind, the legacy name
//! and the fields of that kind, all borrowed for the call. The core decides
//! everything (wrapping, ordering, is-composing); this module copies
//! strings into NUL-terminated buffers and back.

use std::ffi::{c_char, c_void};
use std::sync::{Arc, Mutex, MutexGuard};

use msgwire_core::msrp::chat::iscomposing::ComposingState;
use msgwire_core::msrp::chat::{Chat, ChatConfig, ChatEvent, ChatTls};
use msgwire_core::msrp::cpim::DateTime;
use msgwire_core::msrp::relay::RelaySettings;

use crate::endpoint::{session_timer, SigpipeBlocked, TimerShare};
use crate::error::{msgwire_status, Error};
use crate::guard::{
    arg_bytes, arg_opt_str, arg_out, arg_ref, arg_str, free_handle, guard, guard_value,
    msgwire_str, new_handle, CText,
};
use crate::msrp::msgwire_msrp_chunk;
use crate::sdp::msgwire_sdp_media;
use crate::tls::{msgwire_tls_client_config, msgwire_tls_server_config};

/// What a chat notification is (`name` in the event spells the legacy
/// notification name).
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum msgwire_chat_event_kind {
    /// `MSRPChatDidInitialize`: `media` is the local media.
    DidInitialize = 0,
    /// `MSRPChatDidStart`.
    DidStart = 1,
    /// `MSRPChatWillEnd`.
    WillEnd = 2,
    /// `MSRPChatDidEnd`.
    DidEnd = 3,
    /// `MSRPChatDidFail`: `context` and `reason`.
    DidFail = 4,
    /// `MSRPChatGotMessage`: `content`, `content_type`, `cpim_headers`,
    /// `message`, `message_id`.
    GotMessage = 5,
    /// `MSRPChatDidDeliverMessage`: `message_id`, `code`, `reason`,
    /// `message` (the REPORT).
    DidDeliverMessage = 6,
    /// `MSRPChatDidNotDeliverMessage`: as above; `message` is the REPORT or
    /// the response; `local` when decided locally.
    DidNotDeliverMessage = 7,
    /// `MSRPChatGotComposingIndication`: `state`, `refresh`,
    /// `last_active`, `content_type`; `local` for the idle posted when an
    /// active indication's refresh passed.
    GotComposingIndication = 8,
}

/// An is-composing state (RFC 3994).
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum msgwire_chat_composing_state {
    /// `idle`.
    Idle = 0,
    /// `active`.
    Active = 1,
}

/// One CPIM header of a received message: the name as written (with its
/// prefix) and the value as written.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct msgwire_chat_header {
    /// The name, e.g. `From` or `MyFeatures.VitalMessageOption`.
    pub name: msgwire_str,
    /// The value.
    pub value: msgwire_str,
}

/// One notification. Every string and pointer is borrowed for the
/// callback's duration only. Fields that do not belong to `kind` are
/// empty strings, NULL, 0 or false.
#[repr(C)]
#[derive(Debug)]
pub struct msgwire_chat_event {
    /// What happened.
    pub kind: msgwire_chat_event_kind,
    /// The legacy notification name, e.g. `MSRPChatGotMessage`.
    pub name: msgwire_str,
    /// DID_INITIALIZE: the local media to put in the SDP.
    pub media: *const msgwire_sdp_media,
    /// DID_FAIL: `initialize`, `sdp_negotiation`, `start` or `reading`.
    pub context: msgwire_str,
    /// DID_FAIL: what went wrong; (NOT_)DELIVER: the status comment.
    pub reason: msgwire_str,
    /// GOT_MESSAGE: the payload (unwrapped from CPIM), `content_len` bytes.
    pub content: *const u8,
    /// The length of `content`.
    pub content_len: usize,
    /// GOT_MESSAGE: the payload's type; GOT_COMPOSING_INDICATION: the type
    /// being composed (empty when not given).
    pub content_type: msgwire_str,
    /// GOT_MESSAGE: the CPIM headers in wire order (none without CPIM).
    pub cpim_headers: *const msgwire_chat_header,
    /// The number of `cpim_headers`.
    pub cpim_header_count: usize,
    /// GOT_MESSAGE: the SEND received; (NOT_)DELIVER: the REPORT or
    /// response.
    pub message: *const msgwire_msrp_chunk,
    /// GOT_MESSAGE and (NOT_)DELIVER: the Message-ID.
    pub message_id: msgwire_str,
    /// (NOT_)DELIVER: the status code.
    pub code: u16,
    /// GOT_COMPOSING_INDICATION: the state.
    pub state: msgwire_chat_composing_state,
    /// GOT_COMPOSING_INDICATION: the refresh interval in seconds; 0 when
    /// not given.
    pub refresh: u32,
    /// GOT_COMPOSING_INDICATION: when the peer was last active (RFC 3339;
    /// empty when not given).
    pub last_active: msgwire_str,
    /// NOT_DELIVER and GOT_COMPOSING_INDICATION: decided locally.
    pub local: bool,
}

/// Receives every notification of a chat, one call at a time, in order.
/// Runs on whichever thread produced the event: the caller of
/// `msgwire_chat_initialize`/`_start`/`_end`/`_send_*`, a connection's
/// reader thread, or the shared timer thread. It must not block, and must
/// not call `msgwire_chat_start`, `msgwire_chat_end` or `msgwire_chat_free`
/// (they wait for those threads). `event` and everything it points to are
/// lent for the call only.
pub type msgwire_chat_callback =
    Option<unsafe extern "C" fn(user_data: *mut c_void, event: *const msgwire_chat_event)>;

/// What a chat is made of. Strings are NUL-terminated UTF-8 and copied by
/// `msgwire_chat_new`; optional ones may be NULL.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct msgwire_chat_config {
    /// This side's identity (CPIM From): a SIP URI or name-address.
    pub local_identity: *const c_char,
    /// The peer's identity (the default CPIM To).
    pub remote_identity: *const c_char,
    /// Whether this side made the SDP offer: with a direct connection the
    /// outgoing chat connects (`a=setup:active`) and the incoming one
    /// listens (`a=setup:passive`), unless the peer's media says otherwise.
    pub outgoing: bool,
    /// Accepted types separated by spaces; NULL: `message/cpim`, every
    /// text type and `application/im-iscomposing+xml`.
    pub accept_types: *const c_char,
    /// Accepted wrapped types separated by spaces; NULL: `*`.
    pub accept_wrapped_types: *const c_char,
    /// The IP address to listen on and advertise; NULL: the default-route
    /// interface's address.
    pub local_address: *const c_char,
    /// The relay's domain; NULL: a direct connection.
    pub relay_domain: *const c_char,
    /// The relay user name (with `relay_domain`).
    pub relay_username: *const c_char,
    /// The relay password (with `relay_domain`).
    pub relay_password: *const c_char,
    /// Where to connect to the relay; NULL: DNS discovery of the domain.
    pub relay_host: *const c_char,
    /// The relay port; 0: discovered or 2855.
    pub relay_port: u16,
    /// TLS for a direct connection: when this or `tls_client` is not NULL
    /// the chat advertises `TCP/TLS/MSRP` with an `msrps://` path and
    /// listens with TLS presenting this certificate (needed by a chat that
    /// listens: an incoming one). NULL with `tls_client` NULL: plain TCP.
    /// `msgwire_chat_new` takes its own reference; the caller may free its
    /// handle after the call. Not used with a relay.
    pub tls_server: *const msgwire_tls_server_config,
    /// TLS for a direct connection: the CAs trusted when connecting
    /// (needed by a chat that connects: an outgoing one, or an incoming
    /// one whose peer says `a=setup:passive`). A chat with TLS lacking
    /// the half it needs fails `msgwire_chat_initialize` (or `_start`)
    /// with `MSGWIRE_MSRP_ENDPOINT_TLS_NOT_CONFIGURED`. Referenced as
    /// `tls_server` is.
    pub tls_client: *const msgwire_tls_client_config,
}

/// One chat. Created by `msgwire_chat_new`, released by
/// `msgwire_chat_free`. Its functions may be called from several threads
/// at once (e.g. `msgwire_chat_start` on one while another sends).
pub struct msgwire_chat {
    chat: Chat,
    callback: Arc<Mutex<Option<CCallback>>>,
    /// The C API's session timer (see `endpoint`): its thread ends with
    /// the last session or chat, so a C program exits with none running.
    /// Declared after `chat`, which drops its clones first.
    _timer: TimerShare,
}

struct CCallback {
    f: unsafe extern "C" fn(*mut c_void, *const msgwire_chat_event),
    user_data: *mut c_void,
}

// SAFETY: the header makes the caller promise that the callback may run on
// msgwire's threads with this `user_data`; msgwire only passes it back.
unsafe impl Send for CCallback {}

fn list(text: Option<&str>) -> Option<Vec<String>> {
    text.map(|t| t.split_ascii_whitespace().map(str::to_string).collect())
}

/// Creates a chat (nothing is connected until `msgwire_chat_initialize`).
/// `callback` may be NULL to ignore notifications. On success `*out`
/// receives the chat, to release with `msgwire_chat_free`.
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_chat_new(
    config: *const msgwire_chat_config,
    callback: msgwire_chat_callback,
    user_data: *mut c_void,
    out: *mut *mut msgwire_chat,
) -> msgwire_status {
    guard(|| {
        // SAFETY: a live config whose strings are NUL-terminated or NULL,
        // and a writable out-pointer.
        let (c, out) = unsafe { (arg_ref(config, "config")?, arg_out(out, "out")?) };
        // SAFETY: as above.
        let mut cfg = unsafe {
            ChatConfig::new(
                arg_str(c.local_identity, "local_identity")?,
                arg_str(c.remote_identity, "remote_identity")?,
                c.outgoing,
            )
        };
        // SAFETY: NUL-terminated strings or NULL.
        unsafe {
            if let Some(types) = list(arg_opt_str(c.accept_types, "accept_types")?) {
                cfg.accept_types = types;
            }
            if let Some(types) = list(arg_opt_str(c.accept_wrapped_types, "accept_wrapped_types")?)
            {
                cfg.accept_wrapped_types = types;
            }
            cfg.local_address = arg_opt_str(c.local_address, "local_address")?.map(str::to_string);
            if let Some(domain) = arg_opt_str(c.relay_domain, "relay_domain")? {
                let mut s = RelaySettings::new(
                    domain,
                    arg_str(c.relay_username, "relay_username")?,
                    arg_str(c.relay_password, "relay_password")?,
                );
                s.host = arg_opt_str(c.relay_host, "relay_host")?.map(str::to_string);
                s.port = (c.relay_port != 0).then_some(c.relay_port);
                cfg.relay = Some(s);
            }
            if !c.tls_server.is_null() || !c.tls_client.is_null() {
                cfg.tls = Some(ChatTls {
                    server: c.tls_server.as_ref().map(|t| t.config.clone()),
                    client: c.tls_client.as_ref().map(|t| t.config.clone()),
                });
            }
        }
        let (share, timer) = session_timer()?;
        cfg.timer = Some(timer);
        let slot = Arc::new(Mutex::new(callback.map(|f| CCallback { f, user_data })));
        let sink = slot.clone();
        let chat = Chat::new(cfg, move |event| {
            let guard = lock(&sink);
            if let Some(cb) = guard.as_ref() {
                deliver(cb, event);
            }
        })?;
        out.set(new_handle(msgwire_chat {
            chat,
            callback: slot,
            _timer: share,
        }));
        Ok(())
    })
}

/// Prepares the connection (listens, or reserves a path at the relay),
/// posts DID_INITIALIZE and writes the local media to `*out_media` (a new
/// media to release with `msgwire_sdp_media_free`; `out_media` may be NULL
/// to only get the notification). Failures post DID_FAIL (`initialize`).
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_chat_initialize(
    chat: *const msgwire_chat,
    out_media: *mut *mut msgwire_sdp_media,
) -> msgwire_status {
    guard(|| {
        // SAFETY: a live chat handle.
        let chat = unsafe { arg_ref(chat, "chat")? };
        let media = chat.chat.initialize()?;
        if !out_media.is_null() {
            // SAFETY: non-NULL and writable, as the header requires.
            unsafe { arg_out(out_media, "out_media")? }
                .set(new_handle(msgwire_sdp_media::new(media)));
        }
        Ok(())
    })
}

/// Completes the connection with the peer's media, posts DID_START, then
/// sends the messages queued before. Blocks until the session is bound (an
/// incoming chat waits for its peer to connect: call it on its own thread
/// when both ends are in one program). Failures post DID_FAIL
/// (`sdp_negotiation` or `start`).
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_chat_start(
    chat: *const msgwire_chat,
    remote_media: *const msgwire_sdp_media,
) -> msgwire_status {
    guard(|| {
        // SAFETY: live handles.
        let (chat, media) = unsafe {
            (
                arg_ref(chat, "chat")?,
                arg_ref(remote_media, "remote_media")?,
            )
        };
        // The connection's threads start here: with SIGPIPE blocked, as
        // every session of the C API.
        let _mask = SigpipeBlocked::new();
        Ok(chat.chat.start(media.media())?)
    })
}

/// Sends a message of `content_type` (NULL: `text/plain`): wrapped in
/// Message/CPIM when the peer accepts it (To `to_uri`, NULL: the remote
/// identity; DateTime `datetime` in RFC 3339, NULL: now), else plainly.
/// Before `msgwire_chat_start` it is queued. `*out_chunk` (when
/// `out_chunk` is not NULL) receives the SEND, to release with
/// `msgwire_msrp_chunk_free`; its Message-ID identifies the message in
/// the delivery notifications. `MSGWIRE_CHAT_NOT_ACCEPTED` or
/// `MSGWIRE_CHAT_PRIVATE_NEEDS_CPIM` when the started peer cannot take it.
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_chat_send_message(
    chat: *const msgwire_chat,
    content: *const u8,
    content_len: usize,
    content_type: *const c_char,
    to_uri: *const c_char,
    datetime: *const c_char,
    out_chunk: *mut *mut msgwire_msrp_chunk,
) -> msgwire_status {
    guard(|| {
        // SAFETY: a live handle, `content_len` readable bytes, strings
        // NUL-terminated or NULL.
        let (chat, content, content_type, to_uri, datetime) = unsafe {
            (
                arg_ref(chat, "chat")?,
                arg_bytes(content, content_len, "content")?,
                arg_opt_str(content_type, "content_type")?,
                arg_opt_str(to_uri, "to_uri")?,
                arg_opt_str(datetime, "datetime")?,
            )
        };
        let dt = parse_datetime(datetime)?;
        let chunk = chat.chat.send_message(
            bytes::Bytes::copy_from_slice(content),
            content_type.unwrap_or("text/plain"),
            to_uri,
            dt,
        )?;
        // SAFETY: NULL or writable.
        unsafe { give_chunk(out_chunk, chunk) }
    })
}

/// Sends an is-composing indication (RFC 3994): `state`, `refresh` in
/// seconds (0: none), `last_active` in RFC 3339 (NULL: none). Queued
/// before start like a message. `*out_chunk` as for
/// `msgwire_chat_send_message`.
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_chat_send_composing_indication(
    chat: *const msgwire_chat,
    state: msgwire_chat_composing_state,
    refresh: u32,
    last_active: *const c_char,
    out_chunk: *mut *mut msgwire_msrp_chunk,
) -> msgwire_status {
    guard(|| {
        // SAFETY: a live handle and a NUL-terminated string or NULL.
        let (chat, last_active) = unsafe {
            (
                arg_ref(chat, "chat")?,
                arg_opt_str(last_active, "last_active")?,
            )
        };
        let state = match state {
            msgwire_chat_composing_state::Active => ComposingState::Active,
            msgwire_chat_composing_state::Idle => ComposingState::Idle,
        };
        let last_active = parse_datetime(last_active)?;
        let chunk = chat.chat.send_composing_indication(
            state,
            (refresh != 0).then_some(refresh),
            last_active,
        )?;
        // SAFETY: NULL or writable.
        unsafe { give_chunk(out_chunk, chunk) }
    })
}

/// Ends the chat: posts WILL_END, closes the session gracefully, posts
/// DID_END. Does nothing when it has already ended (also by the peer).
/// Blocks; never call it from the callback.
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_chat_end(chat: *const msgwire_chat) -> msgwire_status {
    guard(|| {
        // SAFETY: a live handle.
        let chat = unsafe { arg_ref(chat, "chat")? };
        chat.chat.end();
        Ok(())
    })
}

/// Ends the chat (as `msgwire_chat_end`) and releases it. No callback runs
/// after it returns. NULL is ignored. Never call it from the callback.
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_chat_free(chat: *mut msgwire_chat) {
    guard_value((), || {
        if chat.is_null() {
            return;
        }
        // SAFETY: a live handle (checked non-NULL above).
        let c = unsafe { &*chat };
        c.chat.end();
        // Waits for a callback in progress, then silences the chat.
        lock(&c.callback).take();
        // SAFETY: a live handle, freed once, as the header requires.
        unsafe { free_handle(chat) }
    })
}

/// Locks the callback slot; a panic in another holder does not matter
/// (the slot is only read or emptied).
fn lock(slot: &Mutex<Option<CCallback>>) -> MutexGuard<'_, Option<CCallback>> {
    slot.lock().unwrap_or_else(|e| e.into_inner())
}

fn parse_datetime(text: Option<&str>) -> Result<Option<DateTime>, Error> {
    text.map(|t| {
        DateTime::parse(t).ok_or_else(|| Error::invalid(format!("invalid date-time {t:?}")))
    })
    .transpose()
}

/// Writes `chunk` to `out` when it is not NULL.
///
/// # Safety
/// `out` is NULL or writable.
unsafe fn give_chunk(
    out: *mut *mut msgwire_msrp_chunk,
    chunk: msgwire_core::msrp::Chunk,
) -> Result<(), Error> {
    if !out.is_null() {
        // SAFETY: non-NULL and writable per the contract.
        unsafe { arg_out(out, "out_chunk")? }.set(new_handle(msgwire_msrp_chunk::new(chunk)));
    }
    Ok(())
}

/// Builds the C view of `event` and calls the callback.
fn deliver(cb: &CCallback, event: ChatEvent) {
    use msgwire_chat_composing_state::{Active, Idle};
    use msgwire_chat_event_kind::*;
    let empty = CText::new("");
    let name = CText::new(event.name());
    let mut texts: Vec<CText> = Vec::new();
    let mut keep = |t: &str| -> msgwire_str {
        texts.push(CText::new(t));
        // The box behind the CText does not move when the Vec grows.
        texts
            .last()
            .map(CText::view)
            .unwrap_or_else(|| empty.view())
    };
    let mut ev = msgwire_chat_event {
        kind: DidStart,
        name: name.view(),
        media: std::ptr::null(),
        context: empty.view(),
        reason: empty.view(),
        content: std::ptr::null(),
        content_len: 0,
        content_type: empty.view(),
        cpim_headers: std::ptr::null(),
        cpim_header_count: 0,
        message: std::ptr::null(),
        message_id: empty.view(),
        code: 0,
        state: Idle,
        refresh: 0,
        last_active: empty.view(),
        local: false,
    };
    let media_holder;
    let chunk_holder;
    let mut headers: Vec<msgwire_chat_header> = Vec::new();
    let body;
    match event {
        ChatEvent::DidInitialize { media } => {
            ev.kind = DidInitialize;
            media_holder = msgwire_sdp_media::new(media);
            ev.media = &media_holder;
        }
        ChatEvent::DidStart => ev.kind = DidStart,
        ChatEvent::WillEnd => ev.kind = WillEnd,
        ChatEvent::DidEnd => ev.kind = DidEnd,
        ChatEvent::DidFail {
            context, reason, ..
        } => {
            ev.kind = DidFail;
            ev.context = keep(context.as_str());
            ev.reason = keep(&reason);
        }
        ChatEvent::GotMessage(m) => {
            ev.kind = GotMessage;
            ev.content_type = keep(&m.content_type);
            ev.message_id = keep(m.message.message_id().unwrap_or(""));
            for (n, v) in &m.cpim_headers {
                headers.push(msgwire_chat_header {
                    name: keep(n),
                    value: keep(v),
                });
            }
            ev.cpim_headers = headers.as_ptr();
            ev.cpim_header_count = headers.len();
            body = m.content;
            ev.content = body.as_ptr();
            ev.content_len = body.len();
            chunk_holder = msgwire_msrp_chunk::new(m.message);
            ev.message = &chunk_holder;
        }
        ChatEvent::DidDeliverMessage(r) | ChatEvent::DidNotDeliverMessage(r) => {
            ev.kind = if (200..300).contains(&r.code) && !r.local {
                DidDeliverMessage
            } else {
                DidNotDeliverMessage
            };
            ev.message_id = keep(&r.message_id);
            ev.code = r.code;
            ev.reason = keep(&r.reason);
            ev.local = r.local;
            chunk_holder = msgwire_msrp_chunk::new(r.message);
            ev.message = &chunk_holder;
        }
        ChatEvent::GotComposingIndication(c) => {
            ev.kind = GotComposingIndication;
            ev.state = match c.state {
                ComposingState::Active => Active,
                ComposingState::Idle => Idle,
            };
            ev.refresh = c.refresh.unwrap_or(0);
            if let Some(t) = c.last_active {
                ev.last_active = keep(&t.to_string());
            }
            if let Some(t) = &c.content_type {
                ev.content_type = keep(t);
            }
            ev.local = c.local;
        }
        _ => {}
    }
    // SAFETY: the caller's callback with its own user_data; `ev` and what
    // it points to live until the call returns.
    unsafe { (cb.f)(cb.user_data, &ev) }
}
