//! MSRP URIs as plain tuples.
//!
//! Python's `msrplib.protocol.URI` is a mutable object with the legacy
//! attribute names; the native side sees it as a tuple of its parts
//! ([`UriParts`]) so that the core [`Uri`] stays the only parser and
//! formatter.

use msgwire_core::msrp::Uri;
use pyo3::prelude::*;

use crate::errors::CoreError;

/// `(use_tls, user, host, port, session_id, transport, parameters)`, where
/// `parameters` is a list of `(name, value or None)`.
pub(crate) type UriParts = (
    bool,
    Option<String>,
    String,
    Option<u16>,
    Option<String>,
    String,
    Vec<(String, Option<String>)>,
);

pub(crate) fn to_parts(u: Uri) -> UriParts {
    (
        u.secure,
        u.user,
        u.host,
        u.port,
        u.session_id,
        u.transport,
        u.params,
    )
}

pub(crate) fn from_parts(p: UriParts) -> Uri {
    let (secure, user, host, port, session_id, transport, params) = p;
    // An IPv6 host may come in with its brackets (as users tend to write it);
    // the core stores it without them.
    let host = match host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        Some(inner) => inner.to_string(),
        None => host,
    };
    Uri {
        secure,
        user,
        host,
        port,
        session_id,
        transport,
        params,
    }
}

/// Parses an `msrp://` or `msrps://` URI into its parts.
///
/// Raises `msrplib.protocol.ParsingError` when the text is not a valid MSRP
/// URI (RFC 4975 §9).
#[pyfunction]
pub(crate) fn parse_uri(text: &str) -> PyResult<UriParts> {
    let uri: Uri = text.parse().map_err(CoreError::from)?;
    Ok(to_parts(uri))
}

/// Formats URI parts as text. Nothing is validated (like the legacy
/// `URI.__str__`); use [`validate_uri`] for that.
#[pyfunction]
pub(crate) fn format_uri(parts: UriParts) -> String {
    from_parts(parts).to_string()
}

/// Checks URI parts against the RFC 4975 grammar; raises
/// `msrplib.protocol.ParsingError` naming the bad part.
#[pyfunction]
pub(crate) fn validate_uri(parts: UriParts) -> PyResult<()> {
    from_parts(parts).validate().map_err(CoreError::from)?;
    Ok(())
}
