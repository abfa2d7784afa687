//! The chat's decisions, sans-IO: how an outgoing message travels (CPIM or
//! plain), how an incoming SEND or REPORT reads, how a body's text is
//! decoded. No sockets, no threads, no clock (the time of a CPIM DateTime
//! is an argument).

use bytes::{Bytes, BytesMut};

use super::iscomposing::{self, IsComposing, IsComposingError};
use super::ChatError;
use crate::msrp::cpim::{peek_content_type, CpimMessage, DateTime, Identity};
use crate::msrp::sdp::{media_type_matches, MsrpMedia};
use crate::msrp::session::{accepts, SendRefusal};
use crate::msrp::Chunk;

/// The MIME type of the CPIM wrapper.
pub const CPIM_TYPE: &str = "message/cpim";

/// How one outgoing message is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wrapping {
    /// In a Message/CPIM wrapper (the SEND's Content-Type is `message/cpim`).
    Cpim,
    /// As is, with its own Content-Type.
    Plain,
}

/// Decides how a message of `content_type` goes to a peer described by
/// `remote`: wrapped in CPIM when the peer accepts `message/cpim` and the
/// type inside it (its `accept-types` or `accept-wrapped-types`), else
/// plainly when its `accept-types` list the type. A `private` message (a
/// CPIM To other than the peer's identity) can only travel in CPIM.
pub fn choose_wrapping(
    remote: &MsrpMedia,
    content_type: &str,
    private: bool,
) -> Result<Wrapping, ChatError> {
    if remote.accepts(CPIM_TYPE) && remote.accepts_wrapped(content_type) {
        return Ok(Wrapping::Cpim);
    }
    if private {
        return Err(ChatError::PrivateNeedsCpim);
    }
    if remote.accepts(content_type) {
        return Ok(Wrapping::Plain);
    }
    Err(ChatError::NotAccepted {
        content_type: content_type.to_string(),
    })
}

/// Reads an identity given as a SIP URI (`sip:alice@example.com`) or as a
/// CPIM/SIP name-address (`Alice <sip:alice@example.com>`).
pub fn identity(text: &str) -> Identity {
    if text.contains('<') {
        if let Some(id) = Identity::parse(text) {
            return id;
        }
    }
    Identity::new(text.trim())
}

/// Whether two identities name the same URI (display names ignored).
pub fn same_identity(a: &str, b: &str) -> bool {
    identity(a).uri == identity(b).uri
}

/// The CPIM body of a chat message: From `from`, To `to`, DateTime `dt`,
/// the payload `content` of type `content_type`.
pub fn wrap_cpim(
    from: &str,
    to: &str,
    dt: DateTime,
    content_type: &str,
    content: Bytes,
) -> Result<Bytes, ChatError> {
    let msg = CpimMessage::builder(content_type, content)
        .sender(identity(from))
        .recipient(identity(to))
        .timestamp(dt)
        .build()
        .map_err(ChatError::Cpim)?;
    Ok(msg.encode())
}

/// The chat's verdict on an incoming SEND (its
/// [`SendFilter`](crate::msrp::session::SendFilter)): a `message/cpim`
/// body whose payload type this side accepts neither wrapped
/// (`accept_wrapped_types`) nor as a root body (`accept_types`; RFC 4975
/// §8.6, the same rule [`MsrpMedia::accepts_wrapped`] applies for the
/// sender) is refused `415 Unsupported media type`. Decided on the
/// message's first chunk, whose body starts with the CPIM headers; a
/// first chunk too short to show the payload type is let through.
pub fn refuse_wrapped(
    chunk: &Chunk,
    accept_types: &[String],
    accept_wrapped_types: &[String],
) -> Option<SendRefusal> {
    let outer = chunk.content_type()?;
    if !media_type_matches(CPIM_TYPE, outer) {
        return None;
    }
    let inner = peek_content_type(&chunk.data)?;
    if accepts(accept_wrapped_types, inner) || accepts(accept_types, inner) {
        return None;
    }
    Some(SendRefusal {
        code: 415,
        comment: "Unsupported media type".to_string(),
    })
}

/// The value a CPIM `From` or `To` header carries for an identity given
/// as text (see [`identity`]), checked as [`CpimMessage::builder`] checks
/// it; `None` when the builder would refuse it.
pub fn identity_value(text: &str) -> Option<String> {
    let msg = CpimMessage::builder("text/plain", Bytes::new())
        .sender(identity(text))
        .build()
        .ok()?;
    msg.headers().first().map(|h| h.value.clone())
}

/// [`wrap_cpim`] for identities whose header values are known good (from
/// [`identity_value`]): the same bytes, written straight into one buffer
/// -- no message value, no header list, the payload copied once. Falls
/// back to [`wrap_cpim`]'s checks (and error) for a content type the
/// builder would refuse.
pub fn wrap_cpim_values(
    from_value: &str,
    to_value: &str,
    dt: DateTime,
    content_type: &str,
    content: &Bytes,
) -> Result<Bytes, ChatError> {
    if !dt.is_valid()
        || content_type
            .bytes()
            .any(|c| c.is_ascii_control() && c != b'\t')
    {
        return Err(CpimMessage::builder(content_type, content.clone())
            .timestamp(dt)
            .build()
            .err()
            .map_or_else(
                || ChatError::InvalidArgument(format!("bad content type {content_type:?}")),
                ChatError::Cpim,
            ));
    }
    let (dt, dt_len) = dt.rfc3339_micros_bytes();
    let dt = &dt[..dt_len];
    let parts: [&[u8]; 11] = [
        b"From: ",
        from_value.as_bytes(),
        b"\r\nTo: ",
        to_value.as_bytes(),
        b"\r\nDateTime: ",
        dt,
        b"\r\n\r\nContent-Type: ",
        content_type.as_bytes(),
        b"\r\n\r\n",
        content,
        b"",
    ];
    let mut out = BytesMut::with_capacity(parts.iter().map(|p| p.len()).sum());
    for p in parts {
        out.extend_from_slice(p);
    }
    Ok(out.freeze())
}

/// What an incoming SEND carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Incoming {
    /// A message for the user.
    Message {
        /// The payload (unwrapped from CPIM when it came wrapped).
        content: Bytes,
        /// Its Content-Type as written (parameters included).
        content_type: String,
        /// The CPIM message headers, names (with their prefix) and values as
        /// written, in wire order; empty without CPIM.
        cpim_headers: Vec<(String, String)>,
    },
    /// An is-composing indication.
    Composing(IsComposing),
}

/// Why an incoming SEND could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum IncomingError {
    /// The SEND has no Content-Type (the session answers those 415 before
    /// the chat sees them; kept for direct callers).
    #[error("the message has no Content-Type")]
    NoContentType,
    /// A `message/cpim` body is not valid CPIM.
    #[error("bad CPIM body: {0}")]
    Cpim(#[from] crate::msrp::cpim::CpimError),
    /// The CPIM payload has no Content-Type.
    #[error("the CPIM payload has no Content-Type")]
    NoWrappedContentType,
    /// An is-composing body is not a valid document.
    #[error(transparent)]
    IsComposing(#[from] IsComposingError),
}

/// Reads an incoming SEND: unwraps CPIM and recognises is-composing
/// documents (plain or wrapped).
pub fn read_incoming(chunk: &Chunk) -> Result<Incoming, IncomingError> {
    let outer = chunk.content_type().ok_or(IncomingError::NoContentType)?;
    if media_type_matches(CPIM_TYPE, outer) {
        let (headers, content_headers, content) =
            CpimMessage::parse(chunk.data.clone())?.into_parts();
        // The first Content-Type, as CpimMessage::content_type finds it.
        let inner = content_headers
            .into_iter()
            .find(|h| h.name.eq_ignore_ascii_case("Content-Type"))
            .ok_or(IncomingError::NoWrappedContentType)?
            .value;
        if is_composing_type(&inner) {
            return Ok(Incoming::Composing(IsComposing::parse(&content)?));
        }
        let cpim_headers = headers
            .into_iter()
            .map(|h| {
                let name = match &h.prefix {
                    Some(_) => h.full_name(),
                    None => h.name,
                };
                (name, h.value)
            })
            .collect();
        return Ok(Incoming::Message {
            content,
            content_type: inner,
            cpim_headers,
        });
    }
    if is_composing_type(outer) {
        return Ok(Incoming::Composing(IsComposing::parse(&chunk.data)?));
    }
    Ok(Incoming::Message {
        content: chunk.data.clone(),
        content_type: outer.to_string(),
        cpim_headers: Vec::new(),
    })
}

fn is_composing_type(content_type: &str) -> bool {
    media_type_matches(iscomposing::CONTENT_TYPE, content_type)
}

/// The text of a payload of `content_type`: `Some` for `text/*` types
/// whose bytes decode in their charset (UTF-8 when the type names none;
/// `utf-8`, `us-ascii` and `iso-8859-1`/`latin1` are known), `None` for
/// other types, unknown charsets, or bytes invalid in the charset.
pub fn decode_text(content_type: &str, content: &[u8]) -> Option<String> {
    let mut parts = content_type.split(';');
    let base = parts.next().unwrap_or("").trim();
    if !media_type_matches("text/*", base) {
        return None;
    }
    let charset = parts
        .filter_map(|p| p.split_once('='))
        .find(|(k, _)| k.trim().eq_ignore_ascii_case("charset"))
        .map(|(_, v)| v.trim().trim_matches('"').to_ascii_lowercase());
    match charset.as_deref() {
        None | Some("utf-8" | "utf8") => std::str::from_utf8(content).ok().map(str::to_string),
        Some("us-ascii" | "ascii") => content
            .is_ascii()
            .then(|| String::from_utf8_lossy(content).into_owned()),
        Some("iso-8859-1" | "latin1" | "latin-1" | "iso_8859-1") => {
            Some(content.iter().map(|&b| char::from(b)).collect())
        }
        Some(_) => None,
    }
}

/// What a REPORT says about one of our messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportOutcome {
    /// The Message-ID the report is about.
    pub message_id: String,
    /// The status code (200 for a success report).
    pub code: u16,
    /// The status comment (empty when there is none).
    pub reason: String,
}

impl ReportOutcome {
    /// Whether the report says the message was delivered.
    pub fn delivered(&self) -> bool {
        (200..300).contains(&self.code)
    }
}

/// Reads a REPORT's Message-ID and Status; `None` when either is missing
/// or unreadable.
pub fn read_report(chunk: &Chunk) -> Option<ReportOutcome> {
    let message_id = chunk.message_id()?.to_string();
    let status = chunk.status().ok()??;
    Some(ReportOutcome {
        message_id,
        code: status.code,
        reason: status.comment.unwrap_or_default(),
    })
}
