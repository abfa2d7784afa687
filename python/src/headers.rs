//! Typed header values: decode text to plain Python values, encode them back.
//!
//! One pair of functions covers every header the core knows, chosen by name
//! (case-insensitive). Decoded values are plain Python data; the
//! `msrplib.protocol` shims wrap them in the legacy types:
//!
//! | header | decoded value |
//! |---|---|
//! | To-Path, From-Path, Use-Path | list of URI part tuples (see `parse_uri`) |
//! | Message-ID, Content-Type, Content-ID, Content-Description, Use-Nickname | `str` |
//! | Success-Report, Failure-Report | `str` (`yes`, `no`, `partial`) |
//! | Expires, Min-Expires, Max-Expires | `int` |
//! | Byte-Range | `(start, end or None, total or None)` |
//! | Status | `(code, comment or None)` |
//! | WWW-Authenticate, Authorization, Authentication-Info | list of `(name, value)` |
//! | Content-Disposition | `(disposition, [(name, value), ...])` |
//! | anything else | the text, unchanged |
//!
//! Encoding takes the same shapes (a Digest parameter list may also be a
//! `dict`). Every encoded value is decoded again by the core before it is
//! returned, so nothing the core would reject on input can be produced
//! here; a value that fails raises `ValueError`.

use msgwire_core::msrp::header::{
    names, AuthenticationInfo, Authorization, ContentDescription, ContentId, ContentType, Expires,
    FromPath, MaxExpires, MessageId, MinExpires, ToPath, TypedHeader, UseNickname, UsePath,
    WwwAuthenticate,
};
use msgwire_core::msrp::{
    ByteRange, ContentDisposition, DigestParams, FailureReport, HeaderError, Status, SuccessReport,
};
use pyo3::prelude::*;
use pyo3::types::PyDict;
use pyo3::IntoPyObjectExt;

use crate::errors::{header_reason, CoreError};
use crate::uri::{from_parts, to_parts, UriParts};

/// The headers with a typed value in the core.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    ToPath,
    FromPath,
    UsePath,
    MessageId,
    ContentType,
    ContentId,
    ContentDescription,
    UseNickname,
    SuccessReport,
    FailureReport,
    Expires,
    MinExpires,
    MaxExpires,
    ByteRange,
    Status,
    WwwAuthenticate,
    Authorization,
    AuthenticationInfo,
    ContentDisposition,
}

impl Kind {
    fn of(name: &str) -> Option<Kind> {
        KINDS
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, k)| *k)
    }
}

const KINDS: [(&str, Kind); 19] = [
    (names::TO_PATH, Kind::ToPath),
    (names::FROM_PATH, Kind::FromPath),
    (names::USE_PATH, Kind::UsePath),
    (names::MESSAGE_ID, Kind::MessageId),
    (names::CONTENT_TYPE, Kind::ContentType),
    (names::CONTENT_ID, Kind::ContentId),
    (names::CONTENT_DESCRIPTION, Kind::ContentDescription),
    (names::USE_NICKNAME, Kind::UseNickname),
    (names::SUCCESS_REPORT, Kind::SuccessReport),
    (names::FAILURE_REPORT, Kind::FailureReport),
    (names::EXPIRES, Kind::Expires),
    (names::MIN_EXPIRES, Kind::MinExpires),
    (names::MAX_EXPIRES, Kind::MaxExpires),
    (names::BYTE_RANGE, Kind::ByteRange),
    (names::STATUS, Kind::Status),
    (names::WWW_AUTHENTICATE, Kind::WwwAuthenticate),
    (names::AUTHORIZATION, Kind::Authorization),
    (names::AUTHENTICATION_INFO, Kind::AuthenticationInfo),
    (names::CONTENT_DISPOSITION, Kind::ContentDisposition),
];

/// Whether the core has a typed value for the header `name`.
#[pyfunction]
pub(crate) fn is_known_header(name: &str) -> bool {
    Kind::of(name).is_some()
}

/// Decodes the text `value` of the header `name` (see the module docs for
/// the result). Raises `msrplib.protocol.HeaderParsingError` when the value
/// is malformed.
#[pyfunction]
pub(crate) fn decode_header<'py>(
    py: Python<'py>,
    name: &str,
    value: &str,
) -> PyResult<Bound<'py, PyAny>> {
    let Some(kind) = Kind::of(name) else {
        return value.into_bound_py_any(py);
    };
    let relabel = |error: HeaderError| CoreError::Header {
        header: name.to_string(),
        error,
    };
    macro_rules! decode {
        ($t:ty) => {
            <$t>::decode_header(value).map_err(relabel)?
        };
    }
    match kind {
        Kind::ToPath => paths(py, decode!(ToPath).0),
        Kind::FromPath => paths(py, decode!(FromPath).0),
        Kind::UsePath => paths(py, decode!(UsePath).0),
        Kind::MessageId => decode!(MessageId).0.into_bound_py_any(py),
        Kind::ContentType => decode!(ContentType).0.into_bound_py_any(py),
        Kind::ContentId => decode!(ContentId).0.into_bound_py_any(py),
        Kind::ContentDescription => decode!(ContentDescription).0.into_bound_py_any(py),
        Kind::UseNickname => decode!(UseNickname).0.into_bound_py_any(py),
        Kind::SuccessReport => decode!(SuccessReport).as_str().into_bound_py_any(py),
        Kind::FailureReport => decode!(FailureReport).as_str().into_bound_py_any(py),
        Kind::Expires => decode!(Expires).0.into_bound_py_any(py),
        Kind::MinExpires => decode!(MinExpires).0.into_bound_py_any(py),
        Kind::MaxExpires => decode!(MaxExpires).0.into_bound_py_any(py),
        Kind::ByteRange => {
            let r = decode!(ByteRange);
            (r.start, r.end, r.total).into_bound_py_any(py)
        }
        Kind::Status => {
            let s = decode!(Status);
            (s.code, s.comment).into_bound_py_any(py)
        }
        Kind::WwwAuthenticate => params(py, decode!(WwwAuthenticate).0),
        Kind::Authorization => params(py, decode!(Authorization).0),
        Kind::AuthenticationInfo => params(py, decode!(AuthenticationInfo).0),
        Kind::ContentDisposition => {
            let d = decode!(ContentDisposition);
            (d.disposition, d.params).into_bound_py_any(py)
        }
    }
}

/// Encodes a decoded value (see the module docs) as the text of the header
/// `name`. For a header the core does not know, `value` must be a `str` and
/// is returned unchanged. Raises `ValueError` (or `TypeError` for a value of
/// the wrong shape) when the value cannot be encoded as a valid header.
#[pyfunction]
pub(crate) fn encode_header(name: &str, value: &Bound<'_, PyAny>) -> PyResult<String> {
    let Some(kind) = Kind::of(name) else {
        return value.extract::<String>();
    };
    let text = match kind {
        Kind::ToPath => checked::<ToPath>(name, ToPath(uris(value)?))?,
        Kind::FromPath => checked::<FromPath>(name, FromPath(uris(value)?))?,
        Kind::UsePath => checked::<UsePath>(name, UsePath(uris(value)?))?,
        Kind::MessageId => checked::<MessageId>(name, MessageId(value.extract()?))?,
        Kind::ContentType => checked::<ContentType>(name, ContentType(value.extract()?))?,
        Kind::ContentId => checked::<ContentId>(name, ContentId(value.extract()?))?,
        Kind::ContentDescription => {
            checked::<ContentDescription>(name, ContentDescription(value.extract()?))?
        }
        Kind::UseNickname => checked::<UseNickname>(name, UseNickname(value.extract()?))?,
        Kind::SuccessReport => word::<SuccessReport>(name, value)?,
        Kind::FailureReport => word::<FailureReport>(name, value)?,
        Kind::Expires => checked::<Expires>(name, Expires(integer(name, value)?))?,
        Kind::MinExpires => checked::<MinExpires>(name, MinExpires(integer(name, value)?))?,
        Kind::MaxExpires => checked::<MaxExpires>(name, MaxExpires(integer(name, value)?))?,
        Kind::ByteRange => {
            let (start, end, total): (u64, Option<u64>, Option<u64>) = value.extract()?;
            checked::<ByteRange>(name, ByteRange { start, end, total })?
        }
        Kind::Status => {
            let (code, comment): (u16, Option<String>) = value.extract()?;
            checked::<Status>(name, Status { code, comment })?
        }
        Kind::WwwAuthenticate => {
            checked::<WwwAuthenticate>(name, WwwAuthenticate(digest_params(value)?))?
        }
        Kind::Authorization => {
            checked::<Authorization>(name, Authorization(digest_params(value)?))?
        }
        Kind::AuthenticationInfo => {
            checked::<AuthenticationInfo>(name, AuthenticationInfo(digest_params(value)?))?
        }
        Kind::ContentDisposition => {
            let (disposition, params): (String, Vec<(String, String)>) = value.extract()?;
            checked::<ContentDisposition>(
                name,
                ContentDisposition {
                    disposition,
                    params,
                },
            )?
        }
    };
    Ok(text)
}

/// Checks `(name, value)` pairs (a list or a `HeaderList`) the way the
/// legacy `verify_headers` does: To-Path and From-Path must be present and
/// every header with a known type must decode. Raises
/// `msrplib.protocol.HeaderParsingError`.
#[pyfunction]
pub(crate) fn verify_headers(headers: crate::chunk::HeaderPairs) -> PyResult<()> {
    let headers = headers.into_vec();
    let chunk = crate::chunk::build_chunk("verify", Some("SEND"), None, None, headers, &[]);
    chunk.verify_headers().map_err(|error| {
        // Report the header as the caller spelled it, when it is there.
        let header = chunk
            .headers
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case(&error.header))
            .map(|h| h.name.clone())
            .unwrap_or_else(|| error.header.clone());
        CoreError::Header { header, error }
    })?;
    Ok(())
}

/// Encodes `v` and decodes the result again: only text the core accepts, and
/// that reads back as the same value, leaves this function (a status code of
/// 1000 would otherwise be written as 999).
fn checked<T: TypedHeader + PartialEq>(name: &str, v: T) -> PyResult<String> {
    let text = v.encoded();
    if text.contains(['\r', '\n']) {
        return Err(CoreError::Encode {
            header: name.to_string(),
            reason: "line breaks are not allowed in a header value".to_string(),
        }
        .into());
    }
    let back = T::decode_header(&text).map_err(|e| CoreError::Encode {
        header: name.to_string(),
        reason: header_reason(&e),
    })?;
    if back != v {
        return Err(CoreError::Encode {
            header: name.to_string(),
            reason: format!("the value does not survive encoding as {text:?}"),
        }
        .into());
    }
    Ok(text)
}

/// A yes/no/partial word: decoding it is the check.
fn word<T: TypedHeader>(name: &str, value: &Bound<'_, PyAny>) -> PyResult<String> {
    let text: String = value.extract()?;
    T::decode_header(&text).map_err(|e| CoreError::Encode {
        header: name.to_string(),
        reason: header_reason(&e),
    })?;
    Ok(text)
}

fn integer(name: &str, value: &Bound<'_, PyAny>) -> PyResult<u32> {
    let n: i128 = value.extract()?;
    u32::try_from(n).map_err(|_| {
        CoreError::Encode {
            header: name.to_string(),
            reason: format!("{n} is not an integer from 0 to 4294967295"),
        }
        .into()
    })
}

fn uris(value: &Bound<'_, PyAny>) -> PyResult<Vec<msgwire_core::msrp::Uri>> {
    let parts: Vec<UriParts> = value.extract()?;
    Ok(parts.into_iter().map(from_parts).collect())
}

/// A Digest parameter list from a `dict` or a sequence of pairs. Every
/// value is written quoted, as the legacy library writes them.
fn digest_params(value: &Bound<'_, PyAny>) -> PyResult<DigestParams> {
    let pairs: Vec<(String, String)> = match value.cast::<PyDict>() {
        Ok(dict) => dict
            .iter()
            .map(|(k, v)| Ok((k.extract()?, v.str()?.extract()?)))
            .collect::<PyResult<_>>()?,
        Err(_) => value.extract()?,
    };
    let mut params = DigestParams::default();
    for (name, value) in pairs {
        params.push_quoted(&name, &value);
    }
    Ok(params)
}

fn paths<'py>(py: Python<'py>, uris: Vec<msgwire_core::msrp::Uri>) -> PyResult<Bound<'py, PyAny>> {
    uris.into_iter()
        .map(to_parts)
        .collect::<Vec<_>>()
        .into_bound_py_any(py)
}

fn params<'py>(py: Python<'py>, p: DigestParams) -> PyResult<Bound<'py, PyAny>> {
    p.params
        .into_iter()
        .map(|(n, v, _quoted)| (n, v))
        .collect::<Vec<_>>()
        .into_bound_py_any(py)
}
