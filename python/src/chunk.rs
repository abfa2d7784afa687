//! Chunks: encoding, one-shot parsing and the RFC 4975 §7 response/report
//! rules, all on plain tuples that `msrplib.protocol.MSRPData` converts.
//!
//! A chunk crosses the boundary as its parts: transaction id, method (for a
//! request) or code and comment (for a response), the headers as a list of
//! `(name, encoded value)` pairs in insertion order, the body and the
//! continuation flag (`"$"`, `"+"` or `"#"`). The core sorts the headers
//! into wire order when it encodes. Python hands a chunk in as one such
//! tuple ([`ChunkParts`]); chunks going out to Python carry header pairs
//! with unique names ([`header_pairs`]), because `MSRPData` keeps them in a
//! dict and uses the list as is until a header is read.
//!
//! On the paths every message takes (a session's chunks, `build_request`,
//! a bound transport's reads and writes) chunks cross as `MSRPData`
//! objects instead: built here the way `MSRPData._from_parts` builds them
//! ([`chunk_object`]) and read here attribute by attribute ([`ChunkIn`],
//! which also takes the tuple). Their header pairs stay in Rust, in a
//! [`PyHeaderList`]: Python iterates it only when a header is read, and
//! handing the chunk back (sending it) clones Rust strings instead of
//! converting Python ones. Every function that takes header pairs takes a
//! `HeaderList` or a list of pairs ([`HeaderPairs`]).

use bytes::{Bytes, BytesMut};
use msgwire_core::msrp::{
    self, Chunk, ChunkKind, EncodeError, Event, Flag, Head, Header, Headers, Parser,
};
use pyo3::exceptions::PyValueError;
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::pybacked::{PyBackedBytes, PyBackedStr};
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBytes, PyDict, PyString, PyTuple, PyType};

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

/// Header pairs kept in Rust: an immutable sequence of `(name, value)`
/// tuples with unique names (see the module docs).
#[pyclass(name = "HeaderList", module = "msgwire._native", frozen, sequence)]
pub(crate) struct PyHeaderList {
    headers: Headers,
}

impl PyHeaderList {
    /// Takes a chunk's headers over (merging repeated names as
    /// [`header_pairs`] does; rare, so only then are they copied).
    pub(crate) fn take(headers: Headers) -> Self {
        let list: Vec<&Header> = headers.iter().collect();
        let unique = list
            .iter()
            .enumerate()
            .all(|(i, h)| list[..i].iter().all(|o| o.name != h.name));
        if unique {
            PyHeaderList { headers }
        } else {
            PyHeaderList {
                headers: header_pairs(&headers).into_iter().collect(),
            }
        }
    }

    fn pair(h: &Header) -> (&str, &str) {
        (&h.name, &h.value)
    }
}

#[pymethods]
impl PyHeaderList {
    fn __len__(&self) -> usize {
        self.headers.len()
    }

    fn __getitem__(&self, index: isize) -> PyResult<(&str, &str)> {
        let len = self.headers.len() as isize;
        let i = if index < 0 { index + len } else { index };
        match usize::try_from(i)
            .ok()
            .and_then(|i| self.headers.iter().nth(i))
        {
            Some(h) => Ok(Self::pair(h)),
            None => Err(pyo3::exceptions::PyIndexError::new_err(
                "HeaderList index out of range",
            )),
        }
    }

    fn __iter__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, pyo3::types::PyIterator>> {
        pyo3::types::PyList::new(py, self.headers.iter().map(Self::pair))?.try_iter()
    }

    fn __repr__(&self) -> String {
        let pairs: Vec<(&str, &str)> = self.headers.iter().map(Self::pair).collect();
        format!("HeaderList({pairs:?})")
    }
}

/// Header pairs from Python: a [`PyHeaderList`] or any sequence of
/// `(name, value)` pairs.
#[derive(FromPyObject)]
pub(crate) enum HeaderPairs {
    Native(Py<PyHeaderList>),
    Pairs(Vec<(String, String)>),
}

impl HeaderPairs {
    pub(crate) fn into_vec(self) -> Vec<(String, String)> {
        match self {
            HeaderPairs::Native(list) => list
                .get()
                .headers
                .iter()
                .map(|h| (h.name.clone(), h.value.clone()))
                .collect(),
            HeaderPairs::Pairs(pairs) => pairs,
        }
    }
}

/// A chunk handed in by Python as the tuple `(transaction_id, method,
/// code, comment, headers, data, contflag)` (`MSRPData.encode` and
/// `msgwire.msrp` build it; the session and transport calls also take the
/// `MSRPData` itself, see [`ChunkIn`]). `data` is `bytes` (or `bytearray`).
#[derive(FromPyObject)]
pub(crate) struct ChunkParts(
    String,
    Option<String>,
    Option<u16>,
    Option<String>,
    HeaderPairs,
    PyBackedBytes,
    PyBackedStr,
);

impl ChunkParts {
    /// The core chunk with its body and flag, checked for a valid kind and
    /// flag and for header text that would break the framing: what goes on
    /// the wire.
    pub(crate) fn outgoing(self) -> PyResult<Chunk> {
        check_kind(self.1.as_deref(), self.2)?;
        let flag = flag_from_str(&self.6)?;
        let mut chunk = self.request()?;
        chunk.flag = flag;
        refuse_injection(&chunk)?;
        Ok(chunk)
    }

    /// The core chunk with its body, for the rules that look at a received
    /// request (its flag is not read).
    fn request(self) -> PyResult<Chunk> {
        let ChunkParts(transaction_id, method, code, comment, headers, data, _) = self;
        check_kind(method.as_deref(), code)?;
        Ok(build_chunk(
            &transaction_id,
            method.as_deref(),
            code,
            comment.as_deref(),
            headers.into_vec(),
            &data,
        ))
    }
}

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

/// The whole chunk (given as [`ChunkParts`]) as bytes: start line, headers
/// in wire order, the blank line and body when there is a body or a
/// Content-Type, and the end-line.
#[pyfunction]
pub(crate) fn encode_chunk<'py>(
    py: Python<'py>,
    chunk: ChunkParts,
) -> PyResult<Bound<'py, PyBytes>> {
    let ChunkParts(transaction_id, method, code, comment, headers, data, contflag) = chunk;
    check_kind(method.as_deref(), code)?;
    let flag = flag_from_str(&contflag)?;
    // The body is copied once, straight into the result; the core chunk
    // only needs to know whether there is one.
    let chunk = build_chunk(
        &transaction_id,
        method.as_deref(),
        code,
        comment.as_deref(),
        headers.into_vec(),
        &data[..data.len().min(1)],
    );
    refuse_injection(&chunk)?;
    let data: &[u8] = &data;
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

/// The response owed to a request (given as [`ChunkParts`]; RFC 4975
/// §7.2), or `None` when none is sent. Raises
/// `msrplib.protocol.HeaderParsingError` when To-Path, From-Path or
/// Failure-Report is missing or malformed.
#[pyfunction]
#[pyo3(signature = (request, response_code, response_comment=None))]
pub(crate) fn make_response(
    request: ChunkParts,
    response_code: u16,
    response_comment: Option<&str>,
) -> PyResult<Option<ChunkHead>> {
    let request = request.request()?;
    let response =
        msrp::make_response(&request, response_code, response_comment).map_err(CoreError::from)?;
    Ok(response.map(|c| chunk_head(&c)))
}

/// The REPORT owed for a request (given as [`ChunkParts`]) processed with
/// `status_code` (RFC 4975 §7.1.2), or `None`. Raises
/// `msrplib.protocol.HeaderParsingError` when a header it needs is missing
/// or malformed.
#[pyfunction]
#[pyo3(signature = (request, status_code, status_comment=None))]
pub(crate) fn make_report(
    request: ChunkParts,
    status_code: u16,
    status_comment: Option<&str>,
) -> PyResult<Option<ChunkHead>> {
    let request = request.request()?;
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

/// The headers as `(name, value)` pairs for `MSRPData`, which keeps them
/// in a dict: a name repeated exactly keeps the position of its first
/// occurrence and the value of its last, as assigning them to a dict in
/// order would. (The core keeps repeated headers; a chunk has a handful,
/// so the quadratic search costs less than hashing.)
pub(crate) fn header_pairs(headers: &Headers) -> Vec<(String, String)> {
    unique_pairs(headers.iter().map(|h| (h.name.as_str(), h.value.as_str())))
}

pub(crate) fn unique_pairs<'a>(
    headers: impl Iterator<Item = (&'a str, &'a str)>,
) -> Vec<(String, String)> {
    let mut pairs: Vec<(String, String)> = Vec::with_capacity(headers.size_hint().0);
    for (name, value) in headers {
        match pairs.iter_mut().find(|(n, _)| n == name) {
            Some(pair) => pair.1 = value.to_string(),
            None => pairs.push((name.to_string(), value.to_string())),
        }
    }
    pairs
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
        unique_pairs(head.headers()),
    )
}

// ------------------------------------------------------------ MSRPData objects
//
// On the paths every message takes, chunks cross as `MSRPData` objects
// rather than tuples: the native side reads an object's attributes itself
// ([`ChunkIn`]) and builds new objects exactly as `MSRPData._from_parts`
// does ([`chunk_object`]): `object.__new__`, then a copy of the template
// `MSRPData._PARTS` with the parts filled in as the instance dict. The
// layout stays defined in Python; this only fills in the keys named after
// `_from_parts`'s parameters.

/// What building and reading `MSRPData` objects needs, looked up once.
struct DataClass {
    cls: Py<PyType>,
    template: Py<PyDict>,
    object_new: Py<PyAny>,
}

static DATA_CLASS: PyOnceLock<DataClass> = PyOnceLock::new();

fn data_class(py: Python<'_>) -> PyResult<&DataClass> {
    DATA_CLASS.get_or_try_init(py, || {
        let cls = py
            .import("msrplib.protocol")?
            .getattr("MSRPData")?
            .cast_into::<PyType>()?;
        let template = cls.getattr("_PARTS")?.cast_into::<PyDict>()?;
        let object_new = py.get_type::<PyAny>().getattr("__new__")?;
        Ok::<_, PyErr>(DataClass {
            cls: cls.unbind(),
            template: template.unbind(),
            object_new: object_new.unbind(),
        })
    })
}

/// A `str` for the method or comment, shared for the common ones.
fn text<'py>(py: Python<'py>, s: &str) -> Bound<'py, PyString> {
    match s {
        "SEND" => intern!(py, "SEND").clone(),
        "REPORT" => intern!(py, "REPORT").clone(),
        "OK" => intern!(py, "OK").clone(),
        _ => PyString::new(py, s),
    }
}

/// A new `MSRPData` made like `MSRPData._from_parts(transaction_id,
/// method, code, comment, headers, data, contflag)`.
#[allow(clippy::too_many_arguments)]
pub(crate) fn new_msrpdata<'py>(
    py: Python<'py>,
    transaction_id: &str,
    method: Option<&str>,
    code: Option<u16>,
    comment: Option<&str>,
    headers: Bound<'py, PyAny>,
    data: Bound<'py, PyAny>,
    contflag: &str,
) -> PyResult<Bound<'py, PyAny>> {
    let dc = data_class(py)?;
    let dict = dc.template.bind(py).copy()?;
    dict.set_item(intern!(py, "transaction_id"), transaction_id)?;
    dict.set_item(intern!(py, "method"), method.map(|m| text(py, m)))?;
    dict.set_item(intern!(py, "code"), code)?;
    dict.set_item(intern!(py, "comment"), comment.map(|c| text(py, c)))?;
    dict.set_item(intern!(py, "_raw_headers"), headers)?;
    dict.set_item(intern!(py, "data"), data)?;
    dict.set_item(intern!(py, "contflag"), contflag)?;
    let chunk = dc.object_new.bind(py).call1((dc.cls.bind(py),))?;
    // object.__setattr__(chunk, '__dict__', dict), past MSRPData.__setattr__.
    // SAFETY: three valid object pointers; the call only borrows them.
    let rc = unsafe {
        pyo3::ffi::PyObject_GenericSetAttr(
            chunk.as_ptr(),
            intern!(py, "__dict__").as_ptr(),
            dict.as_ptr(),
        )
    };
    if rc < 0 {
        return Err(PyErr::fetch(py));
    }
    Ok(chunk)
}

/// A core chunk as a new `MSRPData` (its headers moved into a
/// [`PyHeaderList`], not copied).
pub(crate) fn chunk_object(py: Python<'_>, chunk: Chunk) -> PyResult<Bound<'_, PyAny>> {
    let (method, code, comment) = match &chunk.kind {
        ChunkKind::Request { method } => (Some(method.as_str()), None, None),
        ChunkKind::Response { code, comment } => (None, Some(*code), comment.as_deref()),
    };
    let headers = Bound::new(py, PyHeaderList::take(chunk.headers))?.into_any();
    let data = PyBytes::new(py, &chunk.data).into_any();
    new_msrpdata(
        py,
        &chunk.transaction_id,
        method,
        code,
        comment,
        headers,
        data,
        flag_str(chunk.flag),
    )
}

/// A body as bytes: `bytes` as is, `str` as UTF-8, anything else through
/// `bytes()` (what `MSRPData` does with its `data`).
pub(crate) fn body_bytes(data: &Bound<'_, PyAny>) -> PyResult<PyBackedBytes> {
    if let Ok(bytes) = data.cast::<PyBytes>() {
        return Ok(PyBackedBytes::from(bytes.clone()));
    }
    if let Ok(s) = data.cast::<PyString>() {
        return Ok(PyBackedBytes::from(s.encode_utf8()?));
    }
    let bytes = data.py().get_type::<PyBytes>().call1((data,))?;
    Ok(PyBackedBytes::from(bytes.cast_into::<PyBytes>()?))
}

/// A chunk handed in by Python: an `MSRPData` (or any object with its
/// attributes and `_header_pairs()`), or the tuple [`ChunkParts`].
pub(crate) struct ChunkIn(pub(crate) ChunkParts);

impl ChunkIn {
    pub(crate) fn outgoing(self) -> PyResult<Chunk> {
        self.0.outgoing()
    }
}

impl<'a, 'py> FromPyObject<'a, 'py> for ChunkIn {
    type Error = PyErr;

    fn extract(obj: Borrowed<'a, 'py, PyAny>) -> PyResult<Self> {
        if obj.is_instance_of::<PyTuple>() {
            return Ok(ChunkIn(obj.extract()?));
        }
        let py = obj.py();
        let dc = data_class(py)?;
        // A plain MSRPData keeps every attribute in its instance dict (no
        // properties to honour): read them from there; anything missing,
        // and every attribute of other objects, through getattr.
        let dict = if obj.get_type().is(dc.cls.bind(py)) {
            obj.getattr(intern!(py, "__dict__"))?
                .cast_into::<PyDict>()
                .ok()
        } else {
            None
        };
        let get = |name: &Bound<'py, PyString>| -> PyResult<Bound<'py, PyAny>> {
            if let Some(value) = dict
                .as_ref()
                .map(|d| d.get_item(name))
                .transpose()?
                .flatten()
            {
                return Ok(value);
            }
            obj.getattr(name)
        };
        let headers = match dict
            .as_ref()
            .map(|d| d.get_item(intern!(py, "_raw_headers")))
            .transpose()?
            .flatten()
        {
            Some(raw) if !raw.is_none() => raw,
            _ => obj.call_method0(intern!(py, "_header_pairs"))?,
        };
        let data = body_bytes(&get(intern!(py, "data"))?)?;
        Ok(ChunkIn(ChunkParts(
            get(intern!(py, "transaction_id"))?.extract()?,
            get(intern!(py, "method"))?.extract()?,
            get(intern!(py, "code"))?.extract()?,
            get(intern!(py, "comment"))?.extract()?,
            headers.extract()?,
            data,
            get(intern!(py, "contflag"))?.extract()?,
        )))
    }
}
