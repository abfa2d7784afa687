//! MSRP (RFC 4975).
//!
//! Layered bottom-up. The wire layer and the session state machine are
//! *sans-IO*: they never read a socket, start a thread or look at a clock —
//! bytes and time go in, values and bytes come out. Only [`endpoint`] does
//! I/O, on the [`crate::net`] engine.
//!
//! * [`Uri`] — `msrp://` and `msrps://` URIs (RFC 4975 §9) with the §6.1
//!   equality rules.
//! * [`Headers`] and the typed header values in [`header`] — each header keeps
//!   its encoded text and is decoded only when read, so one bad value does not
//!   make a whole chunk unreadable.
//! * [`Chunk`] — one MSRP request or response: start line, headers, body and
//!   continuation flag.
//! * [`Parser`] — an incremental parser that accepts input in slices of any
//!   size and reports chunk starts, body slices and chunk ends; bodies are
//!   never buffered, so a multi-gigabyte body streams in constant memory.
//! * [`make_response`], [`make_report`] and [`ChunkBuilder`] — the transaction
//!   rules that sessions apply to incoming and outgoing chunks.
//! * [`session::Session`] — a bound session as a sans-IO state machine:
//!   bytes and time in; chunks to send, events and deadlines out.
//! * [`transfer`] — large messages: chunked sending with interleaving and
//!   back-pressure ([`transfer::OutgoingMessage`]), and whole-message
//!   reassembly on receipt, in memory or into a [`transfer::MessageSink`].
//! * [`endpoint`] — blocking endpoints on the [`crate::net`] engine: direct
//!   session binding ([`endpoint::DirectConnector`],
//!   [`endpoint::DirectAcceptor`]) and [`endpoint::MsrpSession`], which
//!   drives a session over a connection's threads.
//! * [`relay_server`] — an MSRP relay (RFC 4976): AUTH with digest
//!   against a users file, forwarding with chunks cut through, status
//!   pages ([`relay_server::Relay`]).
//! * [`server`] — [`server::MsrpServer`]: one listening socket shared by
//!   many passive sessions, bindings sorted by their To-Path (legacy
//!   `MSRPServer`).
//! * [`trafficlog`] — the traffic logger interface of the legacy library.
//! * [`cpim`] — Message/CPIM (RFC 3862), the wrapper of chat messages:
//!   parse, build and encode, byte for byte.
//! * [`sdp`] — the SDP media description of an MSRP session (RFC 4975 §8,
//!   `a=setup` of RFC 6135): build and parse.
//! * [`chat`] — MSRPChat: a chat over one session, with CPIM wrapping,
//!   delivery reports, is-composing (RFC 3994) and ordered notifications.

pub mod chat;
mod chunk;
pub mod cpim;
pub mod endpoint;
mod error;
pub mod header;
mod parser;
pub mod relay;
pub mod relay_server;
mod rules;
pub mod sdp;
pub mod server;
pub mod session;
pub mod trafficlog;
pub mod transfer;
mod uri;

pub use chunk::{
    check_header, check_method, check_status_code, check_text, check_transaction_id, Chunk,
    ChunkKind, Flag, Header, Headers,
};
pub use error::{EncodeError, HeaderError, HeaderErrorKind, ParseError, ParseErrorKind, UriError};
pub use header::{
    ByteRange, ContentDisposition, DigestParams, FailureReport, Status, SuccessReport,
};
pub use parser::{parse_chunk, parse_chunk_with, Event, Head, Parser, ParserConfig};
pub use rules::{make_report, make_response, random_hex, random_id, ChunkBuilder};
pub use transfer::{
    BodySource, Delivery, MessageSink, OutgoingMessage, SendMessageError, TransferEvent, TransferId,
};
pub use uri::{HostKind, Uri};

/// The port registered for MSRP. Used only where the legacy API fills in a
/// default; a [`Uri`] without a port keeps `None`.
pub const DEFAULT_PORT: u16 = 2855;
