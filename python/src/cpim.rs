//! Message/CPIM (RFC 3862) for `msgwire.cpim`.
//!
//! The core message lives in a small native class, [`PyCpimMessage`], so
//! that a parsed message is encoded by the core from what it read (byte for
//! byte) rather than rebuilt from Python values. Its `info()` hands every
//! decoded part to the pure-Python `CPIMMessage` as plain data.
//!
//! Parse errors raise `msgwire.cpim.CPIMParseError(message, kind, line,
//! text)`; values that cannot be built raise `ValueError`.

use bytes::Bytes;
use msgwire_core::msrp::cpim::{
    CpimError, CpimErrorKind, CpimMessage, DateTime, Identity, NamespacedHeader,
};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict};

pyo3::import_exception!(msgwire.cpim, CPIMParseError);

/// `(year, month, day, hour, minute, second, microsecond, offset_minutes)`.
pub(crate) type DateTimeParts = (u16, u8, u8, u8, u8, u8, u32, i16);

/// A CPIM message held by the core.
#[pyclass(name = "CpimMessage", module = "msgwire._native", frozen)]
pub(crate) struct PyCpimMessage {
    msg: CpimMessage,
}

#[pymethods]
impl PyCpimMessage {
    /// The encoded message (a parsed one exactly as it was read).
    fn encode<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, &self.msg.encode())
    }

    /// The payload.
    #[getter]
    fn content<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, self.msg.content())
    }

    /// Every decoded part as plain data: `headers` (list of `(prefix or
    /// None, name, namespace, [(param, value)], value)`), `content_headers`
    /// (list of `(name, value)`), `content_type` (str or None), `sender`
    /// (`(uri, display_name or None)` or None), `recipients` and
    /// `courtesy_recipients` (lists of those), `timestamp` (date-time parts
    /// or None), `subjects` (list of `(lang or None, text)`), `namespaces`
    /// (list of `(prefix or None, uri)`), `required` (list of names) and
    /// `additional_headers` (list of `(prefix or None, name, namespace,
    /// value)`, the headers other than RFC 3862's own).
    fn info<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let m = &self.msg;
        let d = PyDict::new(py);
        let headers: Vec<_> = m
            .headers()
            .iter()
            .map(|h| {
                (
                    h.prefix.clone(),
                    h.name.clone(),
                    h.namespace.clone(),
                    h.params.clone(),
                    h.value.clone(),
                )
            })
            .collect();
        d.set_item("headers", headers)?;
        let content_headers: Vec<_> = m
            .content_headers()
            .iter()
            .map(|h| (h.name.clone(), h.value.clone()))
            .collect();
        d.set_item("content_headers", content_headers)?;
        d.set_item("content_type", m.content_type())?;
        d.set_item("sender", m.sender().map(identity_parts))?;
        d.set_item(
            "recipients",
            m.recipients()
                .into_iter()
                .map(identity_parts)
                .collect::<Vec<_>>(),
        )?;
        d.set_item(
            "courtesy_recipients",
            m.courtesy_recipients()
                .into_iter()
                .map(identity_parts)
                .collect::<Vec<_>>(),
        )?;
        d.set_item("timestamp", m.timestamp().map(datetime_parts))?;
        let subjects: Vec<_> = m.subjects().into_iter().map(|s| (s.lang, s.text)).collect();
        d.set_item("subjects", subjects)?;
        d.set_item("namespaces", m.namespaces())?;
        d.set_item("required", m.required())?;
        let additional: Vec<_> = m
            .additional_headers()
            .map(|h| {
                (
                    h.prefix.clone(),
                    h.name.clone(),
                    h.namespace.clone(),
                    h.value.clone(),
                )
            })
            .collect();
        d.set_item("additional_headers", additional)?;
        Ok(d)
    }
}

/// Parses a CPIM body. Raises `msgwire.cpim.CPIMParseError`.
#[pyfunction]
pub(crate) fn cpim_parse(data: &[u8]) -> PyResult<PyCpimMessage> {
    let msg = CpimMessage::parse(Bytes::copy_from_slice(data)).map_err(parse_error)?;
    Ok(PyCpimMessage { msg })
}

/// Builds a CPIM message from typed values (see the core `CpimBuilder` for
/// the header order). `additional` holds `(namespace, prefix or None, name,
/// value)`. Raises `ValueError` for values that cannot be encoded.
#[pyfunction]
#[pyo3(signature = (content, content_type, sender=None, recipients=Vec::new(),
                    courtesy_recipients=Vec::new(), timestamp=None, subjects=Vec::new(),
                    required=Vec::new(), additional=Vec::new(), content_headers=Vec::new()))]
#[allow(clippy::too_many_arguments)]
pub(crate) fn cpim_build(
    content: &[u8],
    content_type: String,
    sender: Option<(String, Option<String>)>,
    recipients: Vec<(String, Option<String>)>,
    courtesy_recipients: Vec<(String, Option<String>)>,
    timestamp: Option<DateTimeParts>,
    subjects: Vec<(Option<String>, String)>,
    required: Vec<String>,
    additional: Vec<(String, Option<String>, String, String)>,
    content_headers: Vec<(String, String)>,
) -> PyResult<PyCpimMessage> {
    let identity = |(uri, name): (String, Option<String>)| Identity {
        uri,
        display_name: name,
    };
    let mut b = CpimMessage::builder(content_type, Bytes::copy_from_slice(content));
    if let Some(s) = sender {
        b = b.sender(identity(s));
    }
    for r in recipients {
        b = b.recipient(identity(r));
    }
    for r in courtesy_recipients {
        b = b.courtesy_recipient(identity(r));
    }
    if let Some(t) = timestamp {
        let (year, month, day, hour, minute, second, micro, offset_minutes) = t;
        let dt = DateTime {
            year,
            month,
            day,
            hour,
            minute,
            second,
            nanosecond: micro.saturating_mul(1000),
            offset_minutes,
        };
        if !dt.is_valid() {
            return Err(PyValueError::new_err(format!("invalid timestamp {t:?}")));
        }
        b = b.timestamp(dt);
    }
    for (lang, text) in subjects {
        b = b.subject(lang.as_deref(), text);
    }
    for name in required {
        b = b.require(name);
    }
    for (namespace, prefix, name, value) in additional {
        b = b.header(NamespacedHeader {
            namespace,
            prefix,
            name,
            value,
        });
    }
    for (name, value) in content_headers {
        b = b.content_header(name, value);
    }
    let msg = b
        .build()
        .map_err(|e| PyValueError::new_err(format!("cannot build the CPIM message: {e}")))?;
    Ok(PyCpimMessage { msg })
}

fn identity_parts(id: Identity) -> (String, Option<String>) {
    (id.uri, id.display_name)
}

/// Date-time parts with microseconds; a leap second (60) becomes the last
/// microsecond of the minute, which Python's `datetime` can hold.
fn datetime_parts(d: DateTime) -> DateTimeParts {
    let (second, micro) = if d.second == 60 {
        (59, 999_999)
    } else {
        (d.second, d.nanosecond / 1000)
    };
    (
        d.year,
        d.month,
        d.day,
        d.hour,
        d.minute,
        second,
        micro,
        d.offset_minutes,
    )
}

fn parse_error(e: CpimError) -> PyErr {
    CPIMParseError::new_err((e.to_string(), error_kind(&e.kind), e.line, e.text.clone()))
}

/// A stable snake_case name per error kind (`CPIMParseError.kind`).
fn error_kind(kind: &CpimErrorKind) -> &'static str {
    match kind {
        CpimErrorKind::Empty => "empty",
        CpimErrorKind::MissingHeaderEnd => "missing_header_end",
        CpimErrorKind::MissingContentHeaderEnd => "missing_content_header_end",
        CpimErrorKind::BareLineFeed => "bare_line_feed",
        CpimErrorKind::InvalidUtf8 => "invalid_utf8",
        CpimErrorKind::MissingColon => "missing_colon",
        CpimErrorKind::BadHeaderName => "bad_header_name",
        CpimErrorKind::MissingSpace => "missing_space",
        CpimErrorKind::BadParameter => "bad_parameter",
        CpimErrorKind::UndeclaredPrefix(_) => "undeclared_prefix",
        CpimErrorKind::BadNamespace => "bad_namespace",
        CpimErrorKind::BadAddress => "bad_address",
        CpimErrorKind::BadDateTime => "bad_datetime",
        CpimErrorKind::BadRequire => "bad_require",
    }
}
