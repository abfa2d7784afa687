//! The MSRP SDP media description for `msgwire.sdp`, as plain tuples.
//!
//! [`MediaParts`] carries every field of the core `MsrpMedia`, so a media
//! section goes to Python and back without loss; the core stays the only
//! parser and encoder. Parse errors raise `msgwire.sdp.SDPParseError(message,
//! kind, line, text)`; parts that cannot be encoded raise `ValueError`.

use msgwire_core::msrp::sdp::{
    Attribute, Connection, MediaProtocol, MsrpMedia, SdpErrorKind, Setup,
};
use msgwire_core::msrp::Uri;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

use crate::errors::CoreError;

pyo3::import_exception!(msgwire.sdp, SDPParseError);

/// `(port, protocol, formats, connection, path, accept_types,
/// accept_wrapped_types, max_size, setup, attributes, other_lines)`, where
/// `protocol` is `"TCP/MSRP"` or `"TCP/TLS/MSRP"`, `connection` is `(net
/// type, address type, address)` or None, `path` is URI texts, `setup` a
/// str or None and `attributes` a list of `(name, value or None)`.
pub(crate) type MediaParts = (
    u16,
    String,
    Vec<String>,
    Option<(String, String, String)>,
    Vec<String>,
    Vec<String>,
    Vec<String>,
    Option<u64>,
    Option<String>,
    Vec<(String, Option<String>)>,
    Vec<String>,
);

/// Parses one media section from its `m=` line. Raises
/// `msgwire.sdp.SDPParseError`.
#[pyfunction]
pub(crate) fn sdp_parse(text: &str) -> PyResult<MediaParts> {
    let m = MsrpMedia::parse(text).map_err(|e| {
        SDPParseError::new_err((e.to_string(), error_kind(&e.kind), e.line, e.text.clone()))
    })?;
    Ok((
        m.port,
        m.protocol.as_str().to_string(),
        m.formats,
        m.connection.map(|c| (c.net_type, c.addr_type, c.address)),
        m.path.iter().map(Uri::to_string).collect(),
        m.accept_types,
        m.accept_wrapped_types,
        m.max_size,
        m.setup.map(|s| s.as_str().to_string()),
        m.attributes
            .into_iter()
            .map(|a| (a.name, a.value))
            .collect(),
        m.other_lines,
    ))
}

/// Encodes media parts as text with CRLF line ends, `m=` first. Raises
/// `ValueError` for a value that cannot be written (an unknown protocol or
/// setup, a line break, an invalid path URI) and the URI's
/// `msrplib.protocol.ParsingError` for path text that does not parse.
#[pyfunction]
pub(crate) fn sdp_encode(parts: MediaParts) -> PyResult<String> {
    let (port, protocol, formats, connection, path, accept, wrapped, max_size, setup, attrs, other) =
        parts;
    let protocol = MediaProtocol::parse(&protocol)
        .ok_or_else(|| PyValueError::new_err(format!("unknown MSRP protocol {protocol:?}")))?;
    let setup = match setup {
        Some(s) => Some(
            Setup::parse(&s)
                .ok_or_else(|| PyValueError::new_err(format!("invalid setup value {s:?}")))?,
        ),
        None => None,
    };
    let path = path
        .iter()
        .map(|t| t.parse::<Uri>())
        .collect::<Result<Vec<_>, _>>()
        .map_err(CoreError::from)?;
    let media = MsrpMedia {
        port,
        protocol,
        formats,
        connection: connection.map(|(net_type, addr_type, address)| Connection {
            net_type,
            addr_type,
            address,
        }),
        path,
        accept_types: accept,
        accept_wrapped_types: wrapped,
        max_size,
        setup,
        attributes: attrs
            .into_iter()
            .map(|(name, value)| Attribute { name, value })
            .collect(),
        other_lines: other,
    };
    media
        .encode()
        .map_err(|e| PyValueError::new_err(format!("cannot encode the SDP media: {e}")))
}

/// Whether `content_type` may be sent to an endpoint with these accept
/// lists: unwrapped, or (`wrapped`) inside an accepted container (see the
/// core `MsrpMedia::accepts` and `accepts_wrapped`).
#[pyfunction]
#[pyo3(signature = (accept_types, accept_wrapped_types, content_type, wrapped=false))]
pub(crate) fn sdp_accepts(
    accept_types: Vec<String>,
    accept_wrapped_types: Vec<String>,
    content_type: &str,
    wrapped: bool,
) -> bool {
    let mut media = MsrpMedia::for_path(Vec::new(), accept_types);
    media.accept_wrapped_types = accept_wrapped_types;
    if wrapped {
        media.accepts_wrapped(content_type)
    } else {
        media.accepts(content_type)
    }
}

/// A stable snake_case name per error kind (`SDPParseError.kind`).
fn error_kind(kind: &SdpErrorKind) -> &'static str {
    match kind {
        SdpErrorKind::MissingMediaLine => "missing_media_line",
        SdpErrorKind::BadMediaLine => "bad_media_line",
        SdpErrorKind::NotMessage(_) => "not_message",
        SdpErrorKind::UnsupportedProtocol(_) => "unsupported_protocol",
        SdpErrorKind::ExtraMediaLine => "extra_media_line",
        SdpErrorKind::BadLine => "bad_line",
        SdpErrorKind::BadConnection => "bad_connection",
        SdpErrorKind::DuplicateLine(_) => "duplicate_line",
        SdpErrorKind::BadPath(_) => "bad_path",
        SdpErrorKind::BadFormatList => "bad_format_list",
        SdpErrorKind::BadMaxSize => "bad_max_size",
        SdpErrorKind::BadSetup => "bad_setup",
        SdpErrorKind::EmptyValue => "empty_value",
    }
}
