//! Chunks: encoding, one-shot parsing and the RFC 4975 §7 response/report
//! rules, all on plain tuples that `msrplib.protocol.MSRPData` converts.
//!
//! A chunk crosses the boundary as its parts: transaction id, method (for a
//! request) or code and comment (for a response), the headers as a list of
//! `(name, encoded value)` pairs in insertion order, the body and the
//! continuation flag (`"$"`, `"+"` or `"#"`). The core sorts the headers
//! into wire order when it encodes.

use bytes::{Bytes, BytesMut};
use msgwire_core::msrp::{self, Chunk, ChunkKind, EncodeError, Event, Flag, Head, Headers, Parser};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyBytes;

use crate::errors::CoreError;

/// `(transaction_id, method, code, comment, headers)` of a chunk built by
/// the core (responses and reports have no body).
pub(crate) type ChunkHead = (
    String,
    Option<String>,
    Option<u16>,
    Option<String>,
    Vec<(String, String)>,
);

/// A parsed chunk: `(transaction_id, method, code, comment, headers, data,
/// contflag, chunk_header, chunk_footer)`, where `chunk_header` and
/// `chunk_footer` are the bytes around the body exactly as received.
pub(crate) type ParsedChunk<'py> = (
    String,
    Option<String>,
    Option<u16>,
    Option<String>,
    Vec<(String, String)>,
    Bound<'py, PyBytes>,
    &'static str,
    Bound<'py, PyBytes>,
    Bound<'py, PyBytes>,
);

/// Builds a core chunk from its parts. A request when `method` is set,
/// else a response.
pub(crate) fn build_chunk(
    transaction_id: &str,
    method: Option<&str>,
    code: Option<u16>,
    comment: Option<&str>,
    headers: Vec<(String, String)>,
    data: &[u8],
) -> Chunk {
    let mut chunk = match method {
        Some(m) => Chunk::request(transaction_id, m),
        None => Chunk::response(transaction_id, code.unwrap_or(0), comment),
    };
    chunk.headers = headers.into_iter().collect::<Headers>();
    chunk.data = Bytes::copy_from_slice(data);
    chunk
}

/// Refuses chunks whose header names or values would break the framing
/// (a CR/LF in a value injects header lines). Other grammar problems the core
/// reports (short transaction ids, odd methods) are let through: the legacy
/// library never checked them and existing code relies on that.
fn refuse_injection(chunk: &Chunk) -> PyResult<()> {
    match chunk.validate() {
        Err(e @ (EncodeError::LineBreak(_) | EncodeError::BadHeaderName(_))) => {
            Err(PyValueError::new_err(format!("cannot encode chunk: {e}")))
        }
        _ => Ok(()),
    }
}

pub(crate) fn flag_from_str(flag: &str) -> PyResult<Flag> {
    match flag.as_bytes() {
        [b] => Flag::from_byte(*b),
        _ => None,
    }
    .ok_or_else(|| {
        PyValueError::new_err(format!(
            "invalid continuation flag {flag:?} (expected '$', '+' or '#')"
        ))
    })
}

pub(crate) fn flag_str(flag: Flag) -> &'static str {
    match flag {
        Flag::End => "$",
        Flag::Continue => "+",
        Flag::Abort => "#",
    }
}

fn check_kind(method: Option<&str>, code: Option<u16>) -> PyResult<()> {
    match (method, code) {
        // The core writes codes as three digits and clamps larger ones.
        (None, Some(c)) if c > 999 => Err(PyValueError::new_err(format!(
            "status code {c} does not have three digits"
        ))),
        (Some(_), None) | (None, Some(_)) => Ok(()),
        _ => Err(PyValueError::new_err(
            "exactly one of method and code must be given",
        )),
    }
}

/// The start line without CRLF, e.g. `MSRP a786hjs2 SEND` or
/// `MSRP a786hjs2 200 OK`.
#[pyfunction]
#[pyo3(signature = (transaction_id, method=None, code=None, comment=None))]
pub(crate) fn first_line(
    transaction_id: &str,
    method: Option<&str>,
    code: Option<u16>,
    comment: Option<&str>,
) -> PyResult<String> {
    check_kind(method, code)?;
    Ok(build_chunk(transaction_id, method, code, comment, Vec::new(), &[]).first_line())
}

/// The whole chunk as bytes: start line, headers in wire order, the blank
/// line and body when there is a body or a Content-Type, and the end-line.
#[pyfunction]
#[pyo3(signature = (transaction_id, method, code, comment, headers, data, contflag))]
#[allow(clippy::too_many_arguments)]
pub(crate) fn encode_chunk<'py>(
    py: Python<'py>,
    transaction_id: &str,
    method: Option<&str>,
    code: Option<u16>,
    comment: Option<&str>,
    headers: Vec<(String, String)>,
    data: &[u8],
    contflag: &str,
) -> PyResult<Bound<'py, PyBytes>> {
    check_kind(method, code)?;
    let flag = flag_from_str(contflag)?;
    // The body is copied once, straight into the result; the core chunk
    // only needs to know whether there is one.
    let chunk = build_chunk(
        transaction_id,
        method,
        code,
        comment,
        headers,
        &data[..data.len().min(1)],
    );
    refuse_injection(&chunk)?;
    let mut start = BytesMut::new();
    chunk.encode_start_into(&mut start);
    let mut end = BytesMut::new();
    chunk.encode_end_into(flag, &mut end);
    PyBytes::new_with(py, start.len() + data.len() + end.len(), |out| {
        let (a, rest) = out.split_at_mut(start.len());
        let (b, c) = rest.split_at_mut(data.len());
        a.copy_from_slice(&start);
        b.copy_from_slice(data);
        c.copy_from_slice(&end);
        Ok(())
    })
}

/// The start line and headers, plus the blank line that opens the body when
/// `has_body` is true or there is a Content-Type header.
#[pyfunction]
#[pyo3(signature = (transaction_id, method, code, comment, headers, has_body))]
pub(crate) fn encode_chunk_start<'py>(
    py: Python<'py>,
    transaction_id: &str,
    method: Option<&str>,
    code: Option<u16>,
    comment: Option<&str>,
    headers: Vec<(String, String)>,
    has_body: bool,
) -> PyResult<Bound<'py, PyBytes>> {
    check_kind(method, code)?;
    let marker: &[u8] = if has_body { b"x" } else { b"" };
    let chunk = build_chunk(transaction_id, method, code, comment, headers, marker);
    refuse_injection(&chunk)?;
    Ok(PyBytes::new(py, &chunk.encode_start()))
}

/// The end-line `CRLF -------<transaction_id><contflag> CRLF`.
#[pyfunction]
pub(crate) fn encode_chunk_end<'py>(
    py: Python<'py>,
    transaction_id: &str,
    contflag: &str,
) -> PyResult<Bound<'py, PyBytes>> {
    let flag = flag_from_str(contflag)?;
    let chunk = Chunk::request(transaction_id, "SEND");
    Ok(PyBytes::new(py, &chunk.encode_end(flag)))
}

/// Parses exactly one complete chunk (see `msgwire.msrp.parse_chunk`).
/// Raises `msrplib.protocol.ChunkParsingError`.
#[pyfunction]
pub(crate) fn parse_chunk<'py>(py: Python<'py>, data: &[u8]) -> PyResult<ParsedChunk<'py>> {
    let chunk = msrp::parse_chunk(data).map_err(CoreError::from)?;
    // The core chunk does not keep the raw head; a second parser run that
    // stops at the first event gives it back exactly as received.
    let mut parser = Parser::new();
    let (raw_head, has_body) = match parser.parse(data) {
        (_, Ok(Some(Event::Start(head)))) => (head.raw().as_bytes().to_vec(), head.has_body()),
        _ => (chunk.encode_start().to_vec(), chunk.has_body()),
    };
    let footer = footer(&chunk.transaction_id, chunk.flag, has_body);
    let (method, code, comment) = kind_parts(&chunk.kind);
    Ok((
        chunk.transaction_id.clone(),
        method,
        code,
        comment,
        header_pairs(&chunk.headers),
        PyBytes::new(py, &chunk.data),
        flag_str(chunk.flag),
        PyBytes::new(py, &raw_head),
        PyBytes::new(py, &footer),
    ))
}

/// The response owed to a request (RFC 4975 §7.2), or `None` when none is
/// sent. Raises `msrplib.protocol.HeaderParsingError` when To-Path,
/// From-Path or Failure-Report is missing or malformed.
#[pyfunction]
#[pyo3(signature = (transaction_id, method, code, comment, headers, data, response_code, response_comment=None))]
#[allow(clippy::too_many_arguments)]
pub(crate) fn make_response(
    transaction_id: &str,
    method: Option<&str>,
    code: Option<u16>,
    comment: Option<&str>,
    headers: Vec<(String, String)>,
    data: &[u8],
    response_code: u16,
    response_comment: Option<&str>,
) -> PyResult<Option<ChunkHead>> {
    check_kind(method, code)?;
    let request = build_chunk(transaction_id, method, code, comment, headers, data);
    let response =
        msrp::make_response(&request, response_code, response_comment).map_err(CoreError::from)?;
    Ok(response.map(|c| chunk_head(&c)))
}

/// The REPORT owed for a request processed with `status_code` (RFC 4975
/// §7.1.2), or `None`. Raises `msrplib.protocol.HeaderParsingError` when a
/// header it needs is missing or malformed.
#[pyfunction]
#[pyo3(signature = (transaction_id, method, code, comment, headers, data, status_code, status_comment=None))]
#[allow(clippy::too_many_arguments)]
pub(crate) fn make_report(
    transaction_id: &str,
    method: Option<&str>,
    code: Option<u16>,
    comment: Option<&str>,
    headers: Vec<(String, String)>,
    data: &[u8],
    status_code: u16,
    status_comment: Option<&str>,
) -> PyResult<Option<ChunkHead>> {
    check_kind(method, code)?;
    let request = build_chunk(transaction_id, method, code, comment, headers, data);
    let report =
        msrp::make_report(&request, status_code, status_comment).map_err(CoreError::from)?;
    Ok(report.map(|c| chunk_head(&c)))
}

/// The order in which the core writes headers with these names: a list of
/// indices into `names` (To-Path, From-Path, the others as given,
/// Content-*, Content-Type last).
#[pyfunction]
pub(crate) fn wire_order(names: Vec<String>) -> Vec<usize> {
    // Each header's value is its index, so the sorted list maps back.
    let headers: Headers = names
        .into_iter()
        .enumerate()
        .map(|(i, n)| (n, i.to_string()))
        .collect();
    headers
        .in_wire_order()
        .iter()
        .filter_map(|h| h.value.parse().ok())
        .collect()
}

/// The wire-order rank of a header name: 0 To-Path, 1 From-Path, 2 other
/// headers, 3 Content-* headers, 4 Content-Type.
#[pyfunction]
pub(crate) fn header_rank(name: &str) -> usize {
    // The core keeps its rank function private, so the rank is read off the
    // public sort: one probe header per rank, then `name`. A stable sort
    // puts `name` right after the last probe of its own rank.
    const PROBES: [&str; 5] = [
        "To-Path",
        "From-Path",
        "X-Msgwire-Rank-Probe",
        "Content-Msgwire-Rank-Probe",
        "Content-Type",
    ];
    let mut names: Vec<String> = PROBES.iter().map(|s| s.to_string()).collect();
    names.push(name.to_string());
    let order = wire_order(names);
    match order.iter().position(|&i| i == PROBES.len()) {
        Some(p) if p > 0 => order[p - 1],
        _ => 0,
    }
}

pub(crate) fn kind_parts(kind: &ChunkKind) -> (Option<String>, Option<u16>, Option<String>) {
    match kind {
        ChunkKind::Request { method } => (Some(method.clone()), None, None),
        ChunkKind::Response { code, comment } => (None, Some(*code), comment.clone()),
    }
}

pub(crate) fn header_pairs(headers: &Headers) -> Vec<(String, String)> {
    headers
        .iter()
        .map(|h| (h.name.clone(), h.value.clone()))
        .collect()
}

fn chunk_head(c: &Chunk) -> ChunkHead {
    let (method, code, comment) = kind_parts(&c.kind);
    (
        c.transaction_id.clone(),
        method,
        code,
        comment,
        header_pairs(&c.headers),
    )
}

/// The end-line as it follows the head: a chunk without a body has no CRLF
/// of its own before the dashes (the last header line's CRLF serves).
pub(crate) fn footer(transaction_id: &str, flag: Flag, has_body: bool) -> Vec<u8> {
    let end = Chunk::request(transaction_id, "SEND").encode_end(flag);
    if has_body {
        end.to_vec()
    } else {
        end[2..].to_vec()
    }
}

/// The parts of a streamed chunk head.
pub(crate) fn head_parts(head: &Head<'_>) -> ChunkHead {
    (
        head.transaction_id().to_string(),
        head.method().map(str::to_string),
        head.code(),
        head.comment().map(str::to_string),
        head.headers()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect(),
    )
}
