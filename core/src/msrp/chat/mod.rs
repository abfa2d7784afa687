//! MSRPChat: instant messaging over one MSRP session, the chat layer of
//! the msrplib wiki's high-level API (python-sipsimple's `MSRPChat`).
//!
//! A [`Chat`] owns the connection set-up (a direct connector or acceptor,
//! or a relay), the session, the Message/CPIM wrapping of outgoing messages
//! and the unwrapping of incoming ones, delivery reports and is-composing
//! indications (RFC 3994). Everything it has to say goes out as a
//! [`ChatEvent`], in one order, through one callback.
//!
//! # Identities
//!
//! The legacy class took a SIP account and a remote URI; a chat here takes
//! the two identities as strings: SIP URIs (`sip:alice@example.com`) or
//! name-addresses (`Alice <sip:alice@example.com>`). They become the CPIM
//! `From` and (by default) `To` of every wrapped message.
//!
//! # Life cycle
//!
//! 1. [`Chat::initialize`] prepares the connection and returns (and posts
//!    in [`ChatEvent::DidInitialize`]) the local SDP media to offer or
//!    answer with.
//! 2. [`Chat::start`] takes the peer's media, completes the connection
//!    (binding the session), posts [`ChatEvent::DidStart`] and then sends
//!    the messages queued before it, in order, before any message passed to
//!    [`Chat::send_message`] after `start` returns. Incoming messages are
//!    never posted before `DidStart`.
//! 3. [`Chat::end`] posts [`ChatEvent::WillEnd`], closes the session
//!    gracefully and posts [`ChatEvent::DidEnd`] (also after a failure).
//!    When the peer ends, this side posts `DidEnd` (a clean close) or
//!    [`ChatEvent::DidFail`] with context `reading` (an I/O error).
//!
//! Failures post [`ChatEvent::DidFail`] with a [`FailureContext`].
//!
//! # Who connects
//!
//! With a direct connection the **outgoing** chat (the SDP offerer) is the
//! active side: it connects, and advertises `a=setup:active`; the incoming
//! chat listens on `local_address` and advertises `a=setup:passive`. The
//! SDP may reverse this: an incoming chat whose peer's media says
//! `a=setup:passive` connects instead (its listener is dropped). An
//! outgoing chat whose peer says `a=setup:active` fails with context
//! `sdp_negotiation`, since neither side would listen. Through a relay,
//! the outgoing chat sends the bind SEND (relay mode active) and the
//! incoming one waits for it.
//!
//! # Wrapping
//!
//! See [`policy::choose_wrapping`]: CPIM when the peer's `accept-types`
//! lists `message/cpim` (and the type inside is acceptable wrapped),
//! else the type plainly when the peer accepts it, else
//! [`ChatError::NotAccepted`]. A private message (a `to_uri` other than
//! the remote identity) needs CPIM ([`ChatError::PrivateNeedsCpim`]).
//! Messages go out with `Failure-Report: partial` and `Success-Report:
//! yes`: the peer's success REPORT posts [`ChatEvent::DidDeliverMessage`],
//! a failure REPORT or failure response [`ChatEvent::DidNotDeliverMessage`].
//! A message queued before `start` is decided at `start`; if it cannot be
//! sent then, `DidNotDeliverMessage` is posted for it with the local code
//! 415.
//!
//! Incoming: a `message/cpim` SEND whose payload type this chat accepts
//! neither in `accept_wrapped_types` nor in `accept_types` (see
//! [`policy::refuse_wrapped`]) is answered `415 Unsupported media type`
//! from its first chunk, before any 200, through the session's
//! [`SendFilter`]; later chunks of that message get 415 too, and nothing
//! of it is posted. (With `*` among the wrapped types no filter is set.)
//! NICKNAME requests (RFC 7701, for chat rooms) are answered `501 Method
//! unknown` at once. A message the sender split into several chunks (over
//! its chunk size, or interrupted) is put back together by the session
//! ([`Delivery::Messages`], in memory) and posted once, whole, with the
//! headers of its first chunk and `Byte-Range: 1-N/N`, up to the
//! session's `max_message_size`; a `#` chunk drops it, and so do the
//! session's bounds on incomplete messages (see [`crate::msrp::transfer`]).
//!
//! # Threads
//!
//! The event callback runs on whichever thread produced the event — the
//! caller of `initialize`/`start`/`end`, the connection's reader thread,
//! the shared timer thread — one call at a time, in posting order. It must
//! not block, and must not call [`Chat::start`] or [`Chat::end`] (they
//! wait for those threads); [`Chat::with_channel`] hands events to a
//! channel instead, for callers that want to read them on their own
//! thread.
//!
//! # Is-composing
//!
//! [`Chat::send_composing_indication`] sends an [`IsComposing`] document
//! (wrapped in CPIM when the peer accepts CPIM, with `Failure-Report: no`
//! and `Success-Report: no`);
//! incoming ones post [`ChatEvent::GotComposingIndication`]. An incoming
//! `active` indication with a refresh interval that is not renewed (by
//! another indication) within that many seconds is followed by a local
//! `idle` indication (`local: true`), served by the shared [`Timer`].

pub mod iscomposing;
pub mod policy;

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use parking_lot::{Condvar, Mutex};

use self::iscomposing::{ComposingState, IsComposing, IsComposingError};
use self::policy::{Incoming, Wrapping};
use crate::msrp::cpim::{CpimBuildError, DateTime};
use crate::msrp::endpoint::{
    BindOptions, BoundTransport, DirectAcceptor, DirectConnector, EndpointEvent, EngineOptions,
    Error as EndpointError, MsrpSession, TransactionOutcome,
};
use crate::msrp::header::names;
use crate::msrp::relay::{Mode, RelayConnection, RelayError, RelaySettings};
use crate::msrp::sdp::{MsrpMedia, Setup};
use crate::msrp::session::{SendFilter, SessionConfig, SessionEvent};
use crate::msrp::transfer::Delivery;
use crate::msrp::{check_header, random_id, ByteRange, Chunk, Uri};
use crate::net::{Timer, TimerHandle, TlsClientConfig, TlsServerConfig};

/// The `accept-types` of a chat unless configured otherwise.
pub const DEFAULT_ACCEPT_TYPES: [&str; 3] = ["message/cpim", "text/*", iscomposing::CONTENT_TYPE];

/// How long [`Chat::end`] waits for the connection's last event after the
/// session's graceful shutdown (which has its own deadlines).
const END_WAIT: Duration = Duration::from_secs(5);

/// The local status code of a queued message that could not be sent at
/// `start` (the peer accepts none of the ways it could travel).
pub const UNSENDABLE_CODE: u16 = 415;

/// What a chat is made of (see [`Chat::new`]).
#[derive(Debug, Clone)]
pub struct ChatConfig {
    /// This side's identity (CPIM From): a SIP URI or name-address.
    pub local_identity: String,
    /// The peer's identity (default CPIM To).
    pub remote_identity: String,
    /// Whether this side makes the SDP offer (see the module docs on who
    /// connects).
    pub outgoing: bool,
    /// Reach the peer through this relay instead of directly.
    pub relay: Option<RelaySettings>,
    /// Types accepted in incoming SENDs, advertised in `a=accept-types`.
    /// Default [`DEFAULT_ACCEPT_TYPES`].
    pub accept_types: Vec<String>,
    /// Advertised in `a=accept-wrapped-types`. Default `["*"]`.
    pub accept_wrapped_types: Vec<String>,
    /// The IP address a direct connection listens on and advertises in
    /// `a=path` and `c=`; `None`: the default-route interface's address.
    pub local_address: Option<String>,
    /// TLS for a direct connection (see [`ChatTls`]); `None`: plain TCP
    /// (`TCP/MSRP`, `msrp://`). A relay's own TLS is in its
    /// [`RelaySettings`].
    pub tls: Option<ChatTls>,
    /// Binding deadlines and options.
    pub bind: BindOptions,
    /// The session's tunables (its `accept_types` is replaced by the
    /// chat's, and it takes messages whole, in memory, with NICKNAME
    /// answered 501: its `delivery`, `sink_factory` and `handles_nickname`
    /// are the chat's own; so is `send_filter` unless
    /// `accept_wrapped_types` has `*`).
    pub session: SessionConfig,
    /// The timer for is-composing expiries and session deadlines; `None`:
    /// the process-wide shared one.
    pub timer: Option<Timer>,
}

impl ChatConfig {
    /// A configuration with every default.
    pub fn new(
        local_identity: impl Into<String>,
        remote_identity: impl Into<String>,
        outgoing: bool,
    ) -> Self {
        ChatConfig {
            local_identity: local_identity.into(),
            remote_identity: remote_identity.into(),
            outgoing,
            relay: None,
            accept_types: DEFAULT_ACCEPT_TYPES.iter().map(|s| s.to_string()).collect(),
            accept_wrapped_types: vec!["*".to_string()],
            local_address: None,
            tls: None,
            bind: BindOptions::default(),
            session: SessionConfig::default(),
            timer: None,
        }
    }
}

/// TLS settings of a direct chat: with them the chat advertises
/// `m=message <port> TCP/TLS/MSRP *` and an `msrps://` path, listens with
/// TLS and connects with TLS (to an `msrps` peer), as the session layer's
/// [`DirectAcceptor::with_tls`] and [`DirectConnector::with_tls`] do.
///
/// A chat that listens (an incoming one) needs `server`; one that
/// connects (an outgoing one, or an incoming one whose peer says
/// `a=setup:passive`) needs `client`. A missing one fails
/// [`Chat::initialize`] (or [`Chat::start`], for the reversed case) with
/// [`ChatError::Endpoint`] (`TlsNotConfigured`).
#[derive(Debug, Clone, Default)]
pub struct ChatTls {
    /// The certificate chain and key presented when listening.
    pub server: Option<TlsServerConfig>,
    /// The certificate authorities trusted when connecting.
    pub client: Option<TlsClientConfig>,
}

/// Where a failure happened (the legacy `context` strings).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FailureContext {
    /// Preparing the connection ([`Chat::initialize`]).
    Initialize,
    /// The peer's media cannot work with ours ([`Chat::start`]).
    SdpNegotiation,
    /// Completing the connection or starting the session ([`Chat::start`]).
    Start,
    /// The connection failed while running.
    Reading,
}

impl FailureContext {
    /// `initialize`, `sdp_negotiation`, `start` or `reading`.
    pub fn as_str(self) -> &'static str {
        match self {
            FailureContext::Initialize => "initialize",
            FailureContext::SdpNegotiation => "sdp_negotiation",
            FailureContext::Start => "start",
            FailureContext::Reading => "reading",
        }
    }
}

/// A message received ([`ChatEvent::GotMessage`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivedMessage {
    /// The payload, unwrapped from CPIM when it came wrapped.
    pub content: Bytes,
    /// The payload's Content-Type as written.
    pub content_type: String,
    /// The CPIM message headers (`From`, `To`, `DateTime`, `Prefix.Name`,
    /// NS lines...) with their values as written, in wire order; empty
    /// without CPIM.
    pub cpim_headers: Vec<(String, String)>,
    /// The SEND that carried it (with the sender's Message-ID).
    pub message: Chunk,
}

impl ReceivedMessage {
    /// The payload as text for `text/*` types (see
    /// [`policy::decode_text`]); `None` otherwise.
    pub fn text(&self) -> Option<String> {
        policy::decode_text(&self.content_type, &self.content)
    }
}

/// The outcome of a message sent ([`ChatEvent::DidDeliverMessage`],
/// [`ChatEvent::DidNotDeliverMessage`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryReport {
    /// The Message-ID of the message.
    pub message_id: String,
    /// The status code: the REPORT's or the response's.
    pub code: u16,
    /// The status comment (empty without one).
    pub reason: String,
    /// The REPORT or the response; for a local outcome, the response made
    /// up locally or the message that could not be sent.
    pub message: Chunk,
    /// Whether the outcome was decided locally (no response in time, a
    /// queued message that could not be sent).
    pub local: bool,
}

/// An is-composing indication ([`ChatEvent::GotComposingIndication`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ComposingIndication {
    /// `active` or `idle`.
    pub state: ComposingState,
    /// The refresh interval in seconds, as received.
    pub refresh: Option<u32>,
    /// When the peer was last active.
    pub last_active: Option<DateTime>,
    /// The type being composed.
    pub content_type: Option<String>,
    /// `true` for the `idle` posted locally when an `active` indication's
    /// refresh interval passed without renewal.
    pub local: bool,
}

/// Everything a chat tells its user (the legacy notifications).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ChatEvent {
    /// `MSRPChatDidInitialize`: the local media to put in the SDP.
    DidInitialize {
        /// The media description (legacy `sdpmedia`).
        media: MsrpMedia,
    },
    /// `MSRPChatDidStart`.
    DidStart,
    /// `MSRPChatWillEnd`.
    WillEnd,
    /// `MSRPChatDidEnd`.
    DidEnd,
    /// `MSRPChatDidFail`.
    DidFail {
        /// Where it failed.
        context: FailureContext,
        /// What went wrong, in words.
        reason: String,
        /// The error in detail (its debug form).
        failure: String,
    },
    /// `MSRPChatGotMessage`.
    GotMessage(ReceivedMessage),
    /// `MSRPChatDidDeliverMessage`: a success REPORT.
    DidDeliverMessage(DeliveryReport),
    /// `MSRPChatDidNotDeliverMessage`: a failure REPORT or response.
    DidNotDeliverMessage(DeliveryReport),
    /// `MSRPChatGotComposingIndication`.
    GotComposingIndication(ComposingIndication),
}

impl ChatEvent {
    /// The legacy notification name (`MSRPChatDidStart`, ...).
    pub fn name(&self) -> &'static str {
        match self {
            ChatEvent::DidInitialize { .. } => "MSRPChatDidInitialize",
            ChatEvent::DidStart => "MSRPChatDidStart",
            ChatEvent::WillEnd => "MSRPChatWillEnd",
            ChatEvent::DidEnd => "MSRPChatDidEnd",
            ChatEvent::DidFail { .. } => "MSRPChatDidFail",
            ChatEvent::GotMessage(_) => "MSRPChatGotMessage",
            ChatEvent::DidDeliverMessage(_) => "MSRPChatDidDeliverMessage",
            ChatEvent::DidNotDeliverMessage(_) => "MSRPChatDidNotDeliverMessage",
            ChatEvent::GotComposingIndication(_) => "MSRPChatGotComposingIndication",
        }
    }
}

/// Why a chat call failed. Every variant is the caller's to handle; none
/// leaves the chat broken except where said.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ChatError {
    /// The call does not fit the chat's state (start before initialize,
    /// initialize twice, ...).
    #[error("{0}")]
    State(&'static str),
    /// The chat has ended (or failed); nothing more can be sent.
    #[error("the chat has ended")]
    Closed,
    /// The peer accepts neither `message/cpim` (with this type inside) nor
    /// this type plainly.
    #[error("the peer accepts neither message/cpim nor {content_type}")]
    NotAccepted {
        /// The type of the message.
        content_type: String,
    },
    /// A private message (To other than the peer) needs CPIM, which the
    /// peer does not accept.
    #[error("a private message needs message/cpim, which the peer does not accept")]
    PrivateNeedsCpim,
    /// An argument is unusable (an empty or multi-line content type).
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// The CPIM wrapper could not be built (a bad identity or date).
    #[error("cannot build the CPIM wrapper: {0}")]
    Cpim(#[source] CpimBuildError),
    /// The is-composing document could not be built.
    #[error(transparent)]
    IsComposing(#[from] IsComposingError),
    /// The peer's media cannot be used (no path, both sides active).
    #[error("SDP negotiation failed: {0}")]
    Negotiation(String),
    /// Connecting, listening, binding or sending failed.
    #[error(transparent)]
    Endpoint(#[from] EndpointError),
    /// The relay failed.
    #[error(transparent)]
    Relay(#[from] RelayError),
}

/// One MSRP chat (see the [module docs](self)). Cheap to clone; clones are
/// the same chat.
#[derive(Clone)]
pub struct Chat {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Chat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Chat")
            .field("local_identity", &self.inner.shared.local_identity)
            .field("remote_identity", &self.inner.shared.remote_identity)
            .field("outgoing", &self.inner.outgoing)
            .finish_non_exhaustive()
    }
}

impl Chat {
    /// A chat whose events go to `callback` (see the module docs for the
    /// threads it runs on). Nothing happens until [`initialize`](Self::initialize).
    pub fn new<F>(config: ChatConfig, callback: F) -> Result<Chat, ChatError>
    where
        F: FnMut(ChatEvent) + Send + 'static,
    {
        let timer = match config.timer.clone() {
            Some(t) => t,
            None => Timer::shared().map_err(EndpointError::Io)?,
        };
        let mut session = config.session.clone();
        session.accept_types = config.accept_types.clone();
        // The session puts messages sent in several chunks back together,
        // in memory, bounded by its max_message_size.
        session.delivery = Delivery::Messages;
        session.sink_factory = None;
        // A one-to-one chat has no nicknames (RFC 7701 is for chat rooms).
        session.handles_nickname = false;
        if !config.accept_wrapped_types.iter().any(|t| t.trim() == "*") {
            let accept_types = config.accept_types.clone();
            let wrapped = config.accept_wrapped_types.clone();
            session.send_filter = Some(SendFilter::new(move |chunk| {
                policy::refuse_wrapped(chunk, &accept_types, &wrapped)
            }));
        }
        let shared = Arc::new(Shared {
            from_value: policy::identity_value(&config.local_identity),
            to_value: policy::identity_value(&config.remote_identity),
            local_identity: config.local_identity.clone(),
            remote_identity: config.remote_identity.clone(),
            emitter: Emitter {
                queue: Mutex::new(EmitQueue::default()),
                sink: Mutex::new(Box::new(callback)),
            },
            composing: Mutex::new((0, None)),
            timer,
            life: Mutex::new(Life::default()),
            life_changed: Condvar::new(),
        });
        Ok(Chat {
            inner: Arc::new(Inner {
                outgoing: config.outgoing,
                relay: config.relay,
                accept_types: config.accept_types,
                accept_wrapped_types: config.accept_wrapped_types,
                local_address: config.local_address,
                tls: config.tls,
                bind: config.bind,
                session,
                shared,
                state: Mutex::new(ChatState {
                    phase: Phase::New,
                    link: None,
                    local_media: None,
                    remote_media: None,
                    session: None,
                    queue: Vec::new(),
                }),
            }),
        })
    }

    /// A chat whose events arrive on the returned channel, in order.
    pub fn with_channel(
        config: ChatConfig,
    ) -> Result<(Chat, crossbeam_channel::Receiver<ChatEvent>), ChatError> {
        let (tx, rx) = crossbeam_channel::unbounded();
        let chat = Chat::new(config, move |ev| {
            let _ = tx.send(ev);
        })?;
        Ok((chat, rx))
    }

    /// Whether this side made the SDP offer.
    pub fn outgoing(&self) -> bool {
        self.inner.outgoing
    }

    /// The local media, after [`initialize`](Self::initialize).
    pub fn local_media(&self) -> Option<MsrpMedia> {
        self.inner.state.lock().local_media.clone()
    }

    /// The peer's media, once [`start`](Self::start) has taken it.
    pub fn remote_media(&self) -> Option<MsrpMedia> {
        self.inner.state.lock().remote_media.clone()
    }

    /// Prepares the connection: listens (incoming direct chat), picks the
    /// local URI (outgoing direct chat) or reserves a path at the relay.
    /// Posts [`ChatEvent::DidInitialize`] and returns the same media; on
    /// failure posts [`ChatEvent::DidFail`] (`initialize`) and returns the
    /// error. Blocks while a relay is contacted.
    pub fn initialize(&self) -> Result<MsrpMedia, ChatError> {
        let inner = &self.inner;
        {
            let mut st = inner.state.lock();
            if st.phase != Phase::New {
                return Err(ChatError::State("the chat was already initialized"));
            }
            st.phase = Phase::Initializing;
        }
        match inner.prepare() {
            Ok((link, media)) => {
                {
                    let mut st = inner.state.lock();
                    if st.phase != Phase::Initializing {
                        // Ended meanwhile.
                        return Err(ChatError::Closed);
                    }
                    st.phase = Phase::Initialized;
                    st.link = Some(link);
                    st.local_media = Some(media.clone());
                }
                inner.shared.emitter.post(ChatEvent::DidInitialize {
                    media: media.clone(),
                });
                Ok(media)
            }
            Err(e) => {
                inner.fail(FailureContext::Initialize, &e);
                Err(e)
            }
        }
    }

    /// Completes the connection with the peer's `remote` media (binding
    /// the session), posts [`ChatEvent::DidStart`], then sends the queued
    /// messages. Blocks until the session is bound (an incoming direct
    /// chat waits for the peer to connect). Failures post
    /// [`ChatEvent::DidFail`] (`sdp_negotiation` or `start`) and are
    /// returned.
    pub fn start(&self, remote: &MsrpMedia) -> Result<(), ChatError> {
        let inner = &self.inner;
        let link = {
            let mut st = inner.state.lock();
            match st.phase {
                Phase::Initialized => {}
                Phase::New | Phase::Initializing => {
                    return Err(ChatError::State("start needs a completed initialize"))
                }
                Phase::Starting | Phase::Started => {
                    return Err(ChatError::State("the chat was already started"))
                }
                Phase::Failed | Phase::Ended => return Err(ChatError::Closed),
            }
            st.phase = Phase::Starting;
            st.link.take()
        };
        let Some(link) = link else {
            return Err(ChatError::Closed);
        };
        let link = match negotiate(link, remote, inner) {
            Ok(link) => link,
            Err(e) => {
                inner.fail(FailureContext::SdpNegotiation, &e);
                return Err(e);
            }
        };
        let bound = match link.complete(&remote.path) {
            Ok(b) => b,
            Err(e) => {
                inner.fail(FailureContext::Start, &e);
                return Err(e);
            }
        };
        let shared = inner.shared.clone();
        shared.emitter.hold();
        let engine = EngineOptions {
            timer: Some(shared.timer.clone()),
            ..EngineOptions::default()
        };
        let session =
            match MsrpSession::start_with(bound, inner.session.clone(), engine, move |ev| {
                shared.on_session_event(ev)
            }) {
                Ok(s) => s,
                Err(e) => {
                    inner.shared.emitter.release(None);
                    let e = ChatError::Endpoint(e);
                    inner.fail(FailureContext::Start, &e);
                    return Err(e);
                }
            };
        let mut st = inner.state.lock();
        if st.phase != Phase::Starting {
            // `end` ran meanwhile: it has posted its events.
            drop(st);
            inner.shared.emitter.release(None);
            session.shutdown(false);
            return Err(ChatError::Closed);
        }
        st.phase = Phase::Started;
        st.remote_media = Some(remote.clone());
        st.session = Some(session.clone());
        inner.shared.emitter.release_later(ChatEvent::DidStart);
        let queued = std::mem::take(&mut st.queue);
        for q in queued {
            if let Err(e) = inner.send_now(&session, remote, &q) {
                let mut message = q.placeholder.clone();
                message.headers.set(names::MESSAGE_ID, q.message_id.clone());
                inner
                    .shared
                    .emitter
                    .push(ChatEvent::DidNotDeliverMessage(DeliveryReport {
                        message_id: q.message_id.clone(),
                        code: UNSENDABLE_CODE,
                        reason: e.to_string(),
                        message,
                        local: true,
                    }));
            }
        }
        drop(st);
        inner.shared.emitter.drain();
        Ok(())
    }

    /// Sends a message (see the module docs on wrapping): `content` of
    /// `content_type`, with CPIM To `to_uri` (default: the remote identity)
    /// and DateTime `dt` (default: now). Returns the SEND; before `start`
    /// the message is queued and the chunk returned has no paths yet (its
    /// Message-ID is the one the message will carry).
    pub fn send_message(
        &self,
        content: impl Into<Bytes>,
        content_type: &str,
        to_uri: Option<&str>,
        dt: Option<DateTime>,
    ) -> Result<Chunk, ChatError> {
        let content_type = content_type.trim();
        if content_type.is_empty() || check_header(names::CONTENT_TYPE, content_type).is_err() {
            return Err(ChatError::InvalidArgument(format!(
                "bad content type {content_type:?}"
            )));
        }
        let q = Queued {
            message_id: random_id(),
            content: content.into(),
            content_type: content_type.to_string(),
            to: to_uri.map(str::to_string),
            dt: dt.unwrap_or_else(DateTime::now_utc),
            success_report: true,
            placeholder: Chunk::request(random_id(), "SEND"),
        };
        self.inner.submit(q)
    }

    /// Sends an is-composing indication (RFC 3994) with `state`, the
    /// refresh interval in seconds and the time of last activity. Queued
    /// before `start` like a message. Returns the SEND.
    pub fn send_composing_indication(
        &self,
        state: ComposingState,
        refresh: Option<u32>,
        last_active: Option<DateTime>,
    ) -> Result<Chunk, ChatError> {
        let doc = IsComposing {
            state,
            last_active,
            content_type: Some("text/plain".to_string()),
            refresh,
        };
        let body = doc.encode()?;
        let q = Queued {
            message_id: random_id(),
            content: Bytes::from(body),
            content_type: iscomposing::CONTENT_TYPE.to_string(),
            to: None,
            dt: DateTime::now_utc(),
            success_report: false,
            placeholder: Chunk::request(random_id(), "SEND"),
        };
        self.inner.submit(q)
    }

    /// Ends the chat: posts [`ChatEvent::WillEnd`], closes the session
    /// gracefully (waiting for what was already sent), and posts
    /// [`ChatEvent::DidEnd`]. After `initialize` only, it drops the
    /// listener or relay connection. Does nothing when the chat has already
    /// ended (also when the peer ended it). Blocks; never call it from the
    /// event callback.
    pub fn end(&self) {
        let inner = &self.inner;
        let shared = &inner.shared;
        {
            let mut life = shared.life.lock();
            if life.ending || life.did_end {
                return;
            }
            life.ending = true;
        }
        shared.emitter.post(ChatEvent::WillEnd);
        shared.cancel_composing_timer();
        let (session, link) = {
            let mut st = inner.state.lock();
            st.phase = Phase::Ended;
            st.queue.clear();
            (st.session.take(), st.link.take())
        };
        if let Some(link) = link {
            link.cleanup();
        }
        if let Some(session) = session {
            session.shutdown(true);
            // Let the connection's last event through before DidEnd.
            let mut life = shared.life.lock();
            if !life.closed {
                let _ = shared.life_changed.wait_for(&mut life, END_WAIT);
            }
        }
        shared.life.lock().did_end = true;
        shared.emitter.post(ChatEvent::DidEnd);
    }
}

// ------------------------------------------------------------------ internals

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    New,
    Initializing,
    Initialized,
    Starting,
    Started,
    /// initialize or start failed: only `end` is left.
    Failed,
    Ended,
}

/// The connection being set up, between `initialize` and `start`.
enum Link {
    Connector(DirectConnector),
    Acceptor(DirectAcceptor, Uri),
    Relay(Box<RelayConnection>),
}

impl Link {
    fn complete(self, remote_path: &[Uri]) -> Result<BoundTransport, ChatError> {
        match self {
            Link::Connector(mut c) => Ok(c.complete(remote_path)?),
            Link::Acceptor(mut a, _) => Ok(a.complete(remote_path)?),
            Link::Relay(mut r) => Ok(r.complete(remote_path)?),
        }
    }

    fn cleanup(self) {
        if let Link::Relay(mut r) = self {
            r.cleanup();
        }
    }
}

/// Applies the module docs' rule on who connects to the peer's `a=setup`.
fn negotiate(link: Link, remote: &MsrpMedia, inner: &Inner) -> Result<Link, ChatError> {
    if remote.path.is_empty() {
        return Err(ChatError::Negotiation(
            "the peer's media has no a=path".into(),
        ));
    }
    match (link, remote.setup) {
        (Link::Connector(_), Some(Setup::Active)) => Err(ChatError::Negotiation(
            "both sides want to connect (a=setup:active)".into(),
        )),
        (Link::Acceptor(a, uri), Some(Setup::Passive)) => {
            drop(a);
            let mut c = inner.connector()?;
            c.prepare(Some(uri));
            Ok(Link::Connector(c))
        }
        (link, _) => Ok(link),
    }
}

/// A message waiting for `start` (or being sent).
struct Queued {
    message_id: String,
    content: Bytes,
    content_type: String,
    to: Option<String>,
    dt: DateTime,
    success_report: bool,
    /// Returned to the caller before `start`: the body and headers
    /// without paths.
    placeholder: Chunk,
}

struct ChatState {
    phase: Phase,
    link: Option<Link>,
    local_media: Option<MsrpMedia>,
    remote_media: Option<MsrpMedia>,
    session: Option<MsrpSession>,
    queue: Vec<Queued>,
}

struct Inner {
    outgoing: bool,
    relay: Option<RelaySettings>,
    accept_types: Vec<String>,
    accept_wrapped_types: Vec<String>,
    local_address: Option<String>,
    tls: Option<ChatTls>,
    bind: BindOptions,
    session: SessionConfig,
    shared: Arc<Shared>,
    state: Mutex<ChatState>,
}

impl Inner {
    fn prepare(&self) -> Result<(Link, MsrpMedia), ChatError> {
        let mut local_uri = self
            .local_address
            .as_ref()
            .map(|a| Uri::new(a.clone(), None, None));
        if self.tls.is_some() && self.relay.is_none() {
            let mut uri = local_uri.unwrap_or_else(|| Uri::new("", None, None));
            uri.secure = true;
            local_uri = Some(uri);
        }
        let (link, path, setup) = if let Some(settings) = &self.relay {
            let mode = if self.outgoing {
                Mode::Active
            } else {
                Mode::Passive
            };
            let mut relay = RelayConnection::new(settings.clone(), mode, self.bind.clone());
            let path = relay.prepare(local_uri)?;
            (Link::Relay(Box::new(relay)), path, None)
        } else if self.outgoing {
            let mut c = self.connector()?;
            let path = c.prepare(local_uri);
            (Link::Connector(c), path, Some(Setup::Active))
        } else {
            let mut a = DirectAcceptor::new(self.bind.clone());
            if let Some(tls) = &self.tls {
                let server = tls.server.clone().ok_or(EndpointError::TlsNotConfigured)?;
                a = a.with_tls(server);
            }
            let path = a.prepare(local_uri)?;
            let own = path.last().cloned().ok_or(EndpointError::EmptyPath)?;
            (Link::Acceptor(a, own), path, Some(Setup::Passive))
        };
        let mut media = MsrpMedia::for_path(path, self.accept_types.clone());
        media.accept_wrapped_types = self.accept_wrapped_types.clone();
        media.setup = setup;
        Ok((link, media))
    }

    /// A direct connector, with the TLS client settings when the chat has
    /// TLS settings (which then must have them).
    fn connector(&self) -> Result<DirectConnector, ChatError> {
        let c = DirectConnector::new(self.bind.clone());
        Ok(match &self.tls {
            Some(tls) => {
                let client = tls.client.clone().ok_or(EndpointError::TlsNotConfigured)?;
                c.with_tls(client)
            }
            None => c,
        })
    }

    /// Posts a failure and leaves the chat to `end`.
    fn fail(&self, context: FailureContext, error: &ChatError) {
        {
            let mut st = self.state.lock();
            if st.phase != Phase::Ended {
                st.phase = Phase::Failed;
            }
            if let Some(link) = st.link.take() {
                link.cleanup();
            }
        }
        self.shared.emitter.post(ChatEvent::DidFail {
            context,
            reason: error.to_string(),
            failure: format!("{error:?}"),
        });
    }

    /// Sends `q` now when started, or queues it.
    fn submit(&self, q: Queued) -> Result<Chunk, ChatError> {
        let mut st = self.state.lock();
        match st.phase {
            Phase::Started => {
                let (Some(session), Some(remote)) = (st.session.clone(), st.remote_media.clone())
                else {
                    return Err(ChatError::Closed);
                };
                // Under the state lock: keeps the order of concurrent sends.
                let sent = self.send_now(&session, &remote, &q);
                drop(st);
                self.shared.emitter.drain();
                sent
            }
            Phase::Failed | Phase::Ended => Err(ChatError::Closed),
            _ => {
                let placeholder = placeholder_chunk(&q);
                st.queue.push(Queued {
                    placeholder: placeholder.clone(),
                    ..q
                });
                Ok(placeholder)
            }
        }
    }

    fn send_now(
        &self,
        session: &MsrpSession,
        remote: &MsrpMedia,
        q: &Queued,
    ) -> Result<Chunk, ChatError> {
        let shared = &self.shared;
        let to = q.to.as_deref().unwrap_or(&shared.remote_identity);
        let private =
            q.to.as_deref()
                .is_some_and(|t| !policy::same_identity(t, &shared.remote_identity));
        let (body, content_type) = match policy::choose_wrapping(remote, &q.content_type, private)?
        {
            Wrapping::Cpim => {
                let body = match (&shared.from_value, &shared.to_value, q.to.is_none()) {
                    (Some(from), Some(to), true) => {
                        policy::wrap_cpim_values(from, to, q.dt, &q.content_type, &q.content)?
                    }
                    _ => policy::wrap_cpim(
                        &shared.local_identity,
                        to,
                        q.dt,
                        &q.content_type,
                        q.content.clone(),
                    )?,
                };
                (body, policy::CPIM_TYPE)
            }
            Wrapping::Plain => (q.content.clone(), q.content_type.as_str()),
        };
        let mut chunk = session.make_message(body, content_type, Some(&q.message_id));
        set_report_headers(&mut chunk, q.success_report);
        let message_id = q.message_id.clone();
        let reporter = shared.clone();
        session.send_chunk(
            chunk.clone(),
            Some(Box::new(move |outcome: TransactionOutcome| {
                let code = outcome.response.code().unwrap_or(0);
                if (200..300).contains(&code) {
                    return;
                }
                reporter
                    .emitter
                    .post(ChatEvent::DidNotDeliverMessage(DeliveryReport {
                        message_id,
                        code,
                        reason: outcome.response.comment().unwrap_or("").to_string(),
                        message: outcome.response,
                        local: outcome.local,
                    }));
            })),
        )?;
        Ok(chunk)
    }
}

/// Messages: `Failure-Report: partial`, `Success-Report: yes`.
/// Is-composing indications (`success_report` false): `Failure-Report: no`
/// and `Success-Report: no` -- a lost indication is harmless and is
/// replaced by the next, and a partial one would keep its transaction open
/// (and a graceful shutdown waiting) for the whole response timeout, since
/// no REPORT settles it.
fn set_report_headers(chunk: &mut Chunk, success_report: bool) {
    let (failure, success) = if success_report {
        ("partial", "yes")
    } else {
        ("no", "no")
    };
    chunk.headers.set(names::FAILURE_REPORT, failure);
    chunk.headers.set(names::SUCCESS_REPORT, success);
}

/// The chunk returned for a message queued before `start`: Message-ID,
/// Byte-Range, Content-Type as given, report headers and body; no paths.
fn placeholder_chunk(q: &Queued) -> Chunk {
    let mut chunk = q.placeholder.clone();
    let len = q.content.len() as u64;
    chunk.headers.set(names::MESSAGE_ID, q.message_id.clone());
    chunk.headers.set_typed(&ByteRange {
        start: 1,
        end: Some(len),
        total: Some(len),
    });
    chunk
        .headers
        .set(names::CONTENT_TYPE, q.content_type.clone());
    set_report_headers(&mut chunk, q.success_report);
    chunk.data = q.content.clone();
    chunk
}

/// What the session callback, the response callbacks and the timer share.
struct Shared {
    local_identity: String,
    remote_identity: String,
    /// The CPIM values of the two identities, made once (`None`: invalid,
    /// and each message says so through the builder's error).
    from_value: Option<String>,
    to_value: Option<String>,
    emitter: Emitter,
    /// The is-composing expiry: a generation (bumped by every indication)
    /// and the armed timer entry.
    composing: Mutex<(u64, Option<TimerHandle>)>,
    timer: Timer,
    life: Mutex<Life>,
    life_changed: Condvar,
}

#[derive(Default)]
struct Life {
    /// `end` was called.
    ending: bool,
    /// The session's connection has ended.
    closed: bool,
    /// DidEnd was posted (by `end`, or because the peer closed).
    did_end: bool,
}

impl Shared {
    fn on_session_event(self: &Arc<Self>, event: EndpointEvent) {
        match event {
            EndpointEvent::Session(SessionEvent::Incoming(chunk)) => match chunk.method() {
                Some("SEND") => self.on_send(chunk),
                Some("REPORT") => self.on_report(chunk),
                _ => {}
            },
            EndpointEvent::Session(SessionEvent::ProtocolError(e)) => {
                log::warn!("msrp chat: protocol error from the peer: {e}");
            }
            EndpointEvent::MessageAborted { message_id, reason } => {
                log::warn!("msrp chat: dropped incoming message {message_id}: {reason:?}");
            }
            EndpointEvent::Closed(error) => self.on_closed(error),
            _ => {}
        }
    }

    fn on_send(self: &Arc<Self>, chunk: Chunk) {
        match policy::read_incoming(&chunk) {
            Ok(Incoming::Message {
                content,
                content_type,
                cpim_headers,
            }) => self.emitter.post(ChatEvent::GotMessage(ReceivedMessage {
                content,
                content_type,
                cpim_headers,
                message: chunk,
            })),
            Ok(Incoming::Composing(doc)) => self.on_composing(doc),
            Err(e) => log::warn!(
                "msrp chat: dropped unreadable message {}: {e}",
                chunk.message_id().unwrap_or("?")
            ),
        }
    }

    fn on_report(&self, chunk: Chunk) {
        let Some(outcome) = policy::read_report(&chunk) else {
            log::warn!("msrp chat: REPORT without Message-ID or Status ignored");
            return;
        };
        let report = DeliveryReport {
            message_id: outcome.message_id.clone(),
            code: outcome.code,
            reason: outcome.reason.clone(),
            message: chunk,
            local: false,
        };
        self.emitter.post(if outcome.delivered() {
            ChatEvent::DidDeliverMessage(report)
        } else {
            ChatEvent::DidNotDeliverMessage(report)
        });
    }

    fn on_composing(self: &Arc<Self>, doc: IsComposing) {
        {
            let mut slot = self.composing.lock();
            slot.0 += 1;
            if let Some(h) = slot.1.take() {
                h.cancel();
            }
            if let (ComposingState::Active, Some(refresh)) = (doc.state, doc.refresh) {
                let generation = slot.0;
                let weak = Arc::downgrade(self);
                slot.1 = Some(self.timer.schedule(
                    Duration::from_secs(u64::from(refresh)),
                    move || {
                        if let Some(shared) = weak.upgrade() {
                            shared.composing_expired(generation);
                        }
                    },
                ));
            }
        }
        self.emitter
            .post(ChatEvent::GotComposingIndication(ComposingIndication {
                state: doc.state,
                refresh: doc.refresh,
                last_active: doc.last_active,
                content_type: doc.content_type,
                local: false,
            }));
    }

    fn composing_expired(&self, generation: u64) {
        {
            let mut slot = self.composing.lock();
            if slot.0 != generation {
                return;
            }
            slot.1 = None;
        }
        self.emitter
            .post(ChatEvent::GotComposingIndication(ComposingIndication {
                state: ComposingState::Idle,
                refresh: None,
                last_active: None,
                content_type: None,
                local: true,
            }));
    }

    fn cancel_composing_timer(&self) {
        let mut slot = self.composing.lock();
        slot.0 += 1;
        if let Some(h) = slot.1.take() {
            h.cancel();
        }
    }

    fn on_closed(&self, error: Option<std::io::Error>) {
        let post = {
            let mut life = self.life.lock();
            life.closed = true;
            self.life_changed.notify_all();
            if life.ending || life.did_end {
                None
            } else if let Some(e) = error {
                Some(ChatEvent::DidFail {
                    context: FailureContext::Reading,
                    reason: format!("the connection failed: {e}"),
                    failure: format!("{e:?}"),
                })
            } else {
                life.did_end = true;
                Some(ChatEvent::DidEnd)
            }
        };
        if let Some(ev) = post {
            self.cancel_composing_timer();
            self.emitter.post(ev);
        }
    }
}

type Sink = Box<dyn FnMut(ChatEvent) + Send>;

/// Delivers events one at a time, in posting order, on whichever thread
/// finds the sink free (see the module docs). While held (during `start`),
/// events wait.
struct Emitter {
    queue: Mutex<EmitQueue>,
    sink: Mutex<Sink>,
}

#[derive(Default)]
struct EmitQueue {
    events: VecDeque<ChatEvent>,
    held: bool,
}

impl Emitter {
    fn post(&self, event: ChatEvent) {
        self.push(event);
        self.drain();
    }

    fn push(&self, event: ChatEvent) {
        self.queue.lock().events.push_back(event);
    }

    fn hold(&self) {
        self.queue.lock().held = true;
    }

    /// Ends a hold; `first` goes ahead of the events that waited.
    fn release(&self, first: Option<ChatEvent>) {
        self.release_later(first);
        self.drain();
    }

    /// Ends a hold without delivering yet (the caller holds a lock the
    /// sink might need); `first` goes ahead of the events that waited.
    fn release_later(&self, first: impl Into<Option<ChatEvent>>) {
        let mut q = self.queue.lock();
        q.held = false;
        if let Some(ev) = first.into() {
            q.events.push_front(ev);
        }
    }

    fn drain(&self) {
        loop {
            let Some(mut sink) = self.sink.try_lock() else {
                // Another thread is delivering; it will see our events.
                return;
            };
            loop {
                let next = {
                    let mut q = self.queue.lock();
                    if q.held {
                        None
                    } else {
                        q.events.pop_front()
                    }
                };
                match next {
                    Some(ev) => sink(ev),
                    None => break,
                }
            }
            drop(sink);
            let q = self.queue.lock();
            if q.held || q.events.is_empty() {
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests;
