//! STS/1.0 for Python: the native half of the `sts` package (python-sts's
//! `inetmsg`, `ineterr`, `inetsocket`, `inetmgr`) and of `msgwire.sts`.
//!
//! Translation only: parsing, encoding, error bodies, header names,
//! transactions, reply sequencing, fragments, pings and idle drops are
//! the core's (`msgwire::sts`). Values cross as plain data:
//!
//! * a start line is `(method: str, uri: str)` for a request and
//!   `(code: int, reason: str)` for a reply;
//! * headers are a list of `(name, value)` pairs in wire order;
//! * bodies are `bytes`;
//! * an error body is `(code, server, module, line, text)`.
//!
//! # Threads and the GIL
//!
//! Every call that can wait (a reply, a socket write, detaching, closing,
//! shutting down) releases the GIL. Server handlers are Python callables
//! run on the connection's reader thread, which takes the GIL for the
//! call (not at all once the interpreter is exiting, see
//! [`crate::session::attach`]); a handler that raises is reported through
//! `sys.unraisablehook`, and a request it left unanswered gets an error
//! reply (status 500). Handlers should not block: they hold up every
//! message behind them on that connection. A [`PyResponder`] may be kept
//! and answered later from any thread.

use std::collections::HashMap;
use std::os::fd::{FromRawFd, IntoRawFd, RawFd};
use std::sync::Mutex;
use std::time::Duration;

use bytes::Bytes;
use msgwire_core::sts::client::{ClientConfig, ConnectInfo, StsClient};
use msgwire_core::sts::error::ErrorReply;
use msgwire_core::sts::header::{self, Headers, NameStyle};
use msgwire_core::sts::message::{EncodeOptions, Message, StartLine};
use msgwire_core::sts::parser::{Parser, ParserConfig};
use msgwire_core::sts::peer::{PeerError, Replies, ReplyItem, Responder};
use msgwire_core::sts::server::{Request, ServerConfig, StsServer};
use pyo3::exceptions::{PyOSError, PyRuntimeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList, PyString, PyTuple};
use pyo3::IntoPyObjectExt;

use crate::endpoint::{lock, seconds};
use crate::session::{attach, keep_thread_state};

/// A start line as it comes from Python: `(method, uri)` or `(code, reason)`.
#[derive(FromPyObject)]
pub(crate) enum StartIn {
    Status(u16, String),
    Request(String, String),
}

impl From<StartIn> for StartLine {
    fn from(s: StartIn) -> Self {
        match s {
            StartIn::Status(code, reason) => StartLine::Status { code, reason },
            StartIn::Request(method, uri) => StartLine::Request { method, uri },
        }
    }
}

fn start_object<'py>(py: Python<'py>, start: &StartLine) -> PyResult<Bound<'py, PyTuple>> {
    match start {
        StartLine::Request { method, uri } => (method.as_str(), uri.as_str()).into_pyobject(py),
        StartLine::Status { code, reason } => (*code, reason.as_str()).into_pyobject(py),
    }
}

fn headers_in(headers: HeadersIn) -> Headers {
    headers.0.into_iter().collect()
}

/// Headers from Python: a mapping (its `items()`) or an iterable of
/// `(name, value)` pairs; anything false (`None`, `False`, `{}`) is none.
/// Names are `str(name)` (so `sts.inetheaders.Header` keys work); a list
/// or tuple value is joined with `,`, bytes are UTF-8, anything else is
/// `str(value)`.
pub(crate) struct HeadersIn(Vec<(String, String)>);

impl<'a, 'py> FromPyObject<'a, 'py> for HeadersIn {
    type Error = PyErr;

    fn extract(obj: Borrowed<'a, 'py, PyAny>) -> PyResult<Self> {
        if !obj.is_truthy()? {
            return Ok(HeadersIn(Vec::new()));
        }
        let items = if obj.is_instance_of::<PyDict>() {
            obj.cast::<PyDict>()?.items().into_any()
        } else if obj.hasattr(pyo3::intern!(obj.py(), "items"))? {
            obj.call_method0(pyo3::intern!(obj.py(), "items"))?
        } else {
            obj.to_owned()
        };
        let mut out = Vec::new();
        for pair in items.try_iter()? {
            let pair = pair?;
            let (name, value): (Bound<'py, PyAny>, Bound<'py, PyAny>) = pair.extract()?;
            let name = match name.cast::<PyString>() {
                Ok(s) => s.to_cow()?.into_owned(),
                Err(_) => name.str()?.to_cow()?.into_owned(),
            };
            out.push((name, header_value(&value)?));
        }
        Ok(HeadersIn(out))
    }
}

fn header_value(value: &Bound<'_, PyAny>) -> PyResult<String> {
    if let Ok(s) = value.cast::<PyString>() {
        return Ok(s.to_cow()?.into_owned());
    }
    if let Ok(b) = value.cast::<PyBytes>() {
        return String::from_utf8(b.as_bytes().to_vec())
            .map_err(|_| PyValueError::new_err("a header value is not UTF-8"));
    }
    if value.is_instance_of::<PyList>() || value.is_instance_of::<PyTuple>() {
        let items = value
            .try_iter()?
            .map(|v| header_value(&v?))
            .collect::<PyResult<Vec<_>>>()?;
        return Ok(items.join(","));
    }
    Ok(value.str()?.to_cow()?.into_owned())
}

/// A body from Python: bytes (or any buffer bytes() takes), or str
/// (UTF-8); anything false (`None`, `False`, `''`) is empty.
pub(crate) struct BodyIn(Bytes);

impl<'a, 'py> FromPyObject<'a, 'py> for BodyIn {
    type Error = PyErr;

    fn extract(obj: Borrowed<'a, 'py, PyAny>) -> PyResult<Self> {
        if let Ok(b) = obj.cast::<PyBytes>() {
            return Ok(BodyIn(Bytes::copy_from_slice(b.as_bytes())));
        }
        if let Ok(s) = obj.cast::<PyString>() {
            return Ok(BodyIn(Bytes::copy_from_slice(s.to_cow()?.as_bytes())));
        }
        if !obj.is_truthy()? {
            return Ok(BodyIn(Bytes::new()));
        }
        let bytes = obj.py().get_type::<PyBytes>().call1((obj,))?;
        let bytes = bytes.cast::<PyBytes>()?;
        Ok(BodyIn(Bytes::copy_from_slice(bytes.as_bytes())))
    }
}

fn headers_out<'py>(py: Python<'py>, headers: &Headers) -> PyResult<Bound<'py, PyList>> {
    PyList::new(py, headers.iter().collect::<Vec<_>>())
}

/// A message as `(start, headers, body)`.
fn message_object<'py>(py: Python<'py>, m: &Message) -> PyResult<Bound<'py, PyTuple>> {
    (
        start_object(py, &m.start)?,
        headers_out(py, &m.headers)?,
        PyBytes::new(py, &m.body),
    )
        .into_pyobject(py)
}

fn error_tuple(e: &ErrorReply) -> (i64, i64, i64, i64, String) {
    (e.code, e.server, e.module, e.line, e.text.clone())
}

fn peer_error(e: PeerError) -> PyErr {
    match e {
        PeerError::Invalid(why) => PyValueError::new_err(why),
        PeerError::Io(e) => PyOSError::new_err(e.to_string()),
        other => PyRuntimeError::new_err(other.to_string()),
    }
}

/// `str(obj)`, without a call for a `str`.
fn text_arg(obj: &Bound<'_, PyAny>) -> PyResult<String> {
    match obj.cast::<PyString>() {
        Ok(s) => Ok(s.to_cow()?.into_owned()),
        Err(_) => Ok(obj.str()?.to_cow()?.into_owned()),
    }
}

fn name_style(names: &str) -> PyResult<NameStyle> {
    match names {
        "compact" => Ok(NameStyle::Compact),
        "full" => Ok(NameStyle::Full),
        "as_given" => Ok(NameStyle::AsGiven),
        other => Err(PyValueError::new_err(format!(
            "names must be 'compact', 'full' or 'as_given', not {other:?}"
        ))),
    }
}

fn opt_seconds(value: Option<f64>, what: &str) -> PyResult<Option<Duration>> {
    value.map(|v| seconds(v, what)).transpose()
}

/// Encodes one message. `content_length=False` and `xml_lf=False` give
/// python-sts's `build_message` (headers exactly as given, body verbatim);
/// the defaults give what its socket sends (`l` added, an XML body ending
/// in LF). Raises `ValueError` for a message that cannot be framed (line
/// breaks in a value, spaces in the method or URI, a bad header name).
#[pyfunction]
#[pyo3(signature = (start, headers, body, *, names="compact", content_length=true, xml_lf=true))]
pub(crate) fn sts_encode<'py>(
    py: Python<'py>,
    start: StartIn,
    headers: HeadersIn,
    body: BodyIn,
    names: &str,
    content_length: bool,
    xml_lf: bool,
) -> PyResult<Bound<'py, PyBytes>> {
    let message = Message {
        start: start.into(),
        headers: headers_in(headers),
        body: body.0,
    };
    let opts = EncodeOptions {
        names: name_style(names)?,
        xml_trailing_lf: xml_lf,
        content_length,
    };
    let wire = message
        .encode(&opts)
        .map_err(|e| PyValueError::new_err(e.to_string()))?;
    Ok(PyBytes::new(py, &wire))
}

/// Parses exactly one complete message into `(start, headers, body)`;
/// `ValueError` for anything else.
#[pyfunction]
pub(crate) fn sts_parse<'py>(py: Python<'py>, data: &[u8]) -> PyResult<Bound<'py, PyTuple>> {
    let m = msgwire_core::sts::parser::parse_message(data)
        .map_err(|e| PyValueError::new_err(e.to_string()))?;
    message_object(py, &m)
}

/// Groups parsed header pairs the way python-sts's header dictionary
/// does: each name becomes its canonical key (the compact letter when it
/// has one, else the name in lower case); a multi-value header gives the
/// list of all its comma-separated values over every occurrence, any other
/// header its last value. First-seen key order.
#[pyfunction]
pub(crate) fn sts_header_items<'py>(
    py: Python<'py>,
    pairs: Vec<(String, String)>,
) -> PyResult<Bound<'py, PyList>> {
    let headers = headers_in(HeadersIn(pairs));
    let out = PyList::empty(py);
    for_each_grouped(py, &headers, |key, value| out.append((key, value)))?;
    Ok(out)
}

/// Calls `f(key, value)` for each canonical key of `headers` (see
/// [`sts_header_items`]), in first-seen order.
fn for_each_grouped<'py>(
    py: Python<'py>,
    headers: &Headers,
    mut f: impl FnMut(&str, Bound<'py, PyAny>) -> PyResult<()>,
) -> PyResult<()> {
    let mut keys: Vec<std::borrow::Cow<'_, str>> = Vec::with_capacity(headers.len());
    for (name, _) in headers.iter() {
        let key = header::canonical_key(name);
        if !keys.contains(&key) {
            keys.push(key);
        }
    }
    for key in keys {
        let value = if header::is_multi(&key) {
            headers.get_all(&key).into_bound_py_any(py)?
        } else {
            headers.get(&key).unwrap_or("").into_bound_py_any(py)?
        };
        f(&key, value)?;
    }
    Ok(())
}

/// How `sts.inetsocket` shapes request results (python-sts's tuples),
/// given to the native client once so that replies become those tuples
/// without running Python code for each:
///
/// * `header(key)` makes a header-dictionary key (`inetheaders.Header`);
///   one is made per canonical name and reused (at most 1,024 names);
/// * `success` is the `Error` of a successful reply;
/// * `fail(kind, payload)` makes the item of every other outcome:
///   `("error", (code, server, module, line, text))`, `("timeout", None)`
///   or `("failed", why)`.
#[pyclass(module = "msgwire._native", name = "StsLegacyShapes", frozen)]
pub(crate) struct PyLegacyShapes {
    header: Py<PyAny>,
    success: Py<PyAny>,
    fail: Py<PyAny>,
    keys: Mutex<HashMap<String, Py<PyAny>>>,
}

/// Header names remembered by [`PyLegacyShapes`]; names past this are
/// made again each time (a peer inventing names cannot grow memory).
const MAX_LEGACY_KEYS: usize = 1024;

#[pymethods]
impl PyLegacyShapes {
    #[new]
    fn new(header: Py<PyAny>, success: Py<PyAny>, fail: Py<PyAny>) -> Self {
        PyLegacyShapes {
            header,
            success,
            fail,
            keys: Mutex::new(HashMap::new()),
        }
    }
}

impl PyLegacyShapes {
    fn key<'py>(&self, py: Python<'py>, name: &str) -> PyResult<Bound<'py, PyAny>> {
        if let Some(k) = lock(&self.keys).get(name) {
            return Ok(k.bind(py).clone());
        }
        let k = self.header.bind(py).call1((name,))?;
        let mut keys = lock(&self.keys);
        if keys.len() < MAX_LEGACY_KEYS {
            keys.insert(name.to_string(), k.clone().unbind());
        }
        Ok(k)
    }

    /// python-sts's header dictionary.
    fn headers<'py>(&self, py: Python<'py>, headers: &Headers) -> PyResult<Bound<'py, PyDict>> {
        let dict = PyDict::new(py);
        for_each_grouped(py, headers, |key, value| {
            dict.set_item(self.key(py, key)?, value)
        })?;
        Ok(dict)
    }

    fn fail<'py>(
        &self,
        py: Python<'py>,
        kind: &str,
        payload: impl IntoPyObject<'py>,
    ) -> PyResult<Bound<'py, PyAny>> {
        self.fail.bind(py).call1((kind, payload))
    }

    /// The result item of one reply.
    fn item<'py>(&self, py: Python<'py>, item: ReplyItem) -> PyResult<Bound<'py, PyAny>> {
        match item {
            ReplyItem::Reply { message, .. } => {
                let success = self.success.bind(py);
                // python-sts: an empty or blank body is no message.
                if message.body.iter().all(|b| b" \t\n\r\x0b\x0c".contains(b)) {
                    return (success, py.None()).into_bound_py_any(py);
                }
                let msg = (
                    self.headers(py, &message.headers)?,
                    PyBytes::new(py, &message.body),
                );
                (success, msg).into_bound_py_any(py)
            }
            ReplyItem::Error { error, .. } => self.fail(py, "error", error_tuple(&error)),
            ReplyItem::Timeout => self.fail(py, "timeout", py.None()),
            ReplyItem::Failed(why) => self.fail(py, "failed", why),
            other => self.fail(py, "failed", format!("{other:?}")),
        }
    }
}

/// `(canonical_key, is_multi)` of a header name (see [`sts_header_items`]).
#[pyfunction]
pub(crate) fn sts_header_key(name: &str) -> (String, bool) {
    let key = header::canonical_key(name.trim()).into_owned();
    let multi = header::is_multi(&key);
    (key, multi)
}

/// Reads an error body: the `(code, server, module, line, text)` tuple,
/// or the string `"xml"` (not well-formed) or `"attribute"` (an integer
/// attribute is not an integer) when it cannot be read.
#[pyfunction]
pub(crate) fn sts_error_parse<'py>(py: Python<'py>, body: &[u8]) -> PyResult<Bound<'py, PyAny>> {
    use msgwire_core::sts::error::ErrorBodyError;
    match ErrorReply::parse(body) {
        Ok(e) => error_tuple(&e).into_bound_py_any(py),
        Err(ErrorBodyError::InvalidAttribute { .. }) => "attribute".into_bound_py_any(py),
        Err(_) => "xml".into_bound_py_any(py),
    }
}

/// The error body `<Error code=".." server=".." module=".." line=".."
/// text=".."/>` (no declaration, no trailing LF) as bytes.
#[pyfunction]
pub(crate) fn sts_error_xml<'py>(
    py: Python<'py>,
    code: i64,
    server: i64,
    module: i64,
    line: i64,
    text: &str,
) -> Bound<'py, PyBytes> {
    let e = ErrorReply {
        code,
        server,
        module,
        line,
        text: text.to_string(),
    };
    PyBytes::new(py, e.to_xml().as_bytes())
}

/// The `<Connect>…</Connect>` body of python-sts's `inetmgr.connect` for
/// this process.
#[pyfunction]
pub(crate) fn sts_connect_xml(
    conn_type: &str,
    program: &str,
    build: &str,
    address: &str,
) -> String {
    ConnectInfo::new(conn_type, program, build, address).to_xml()
}

/// The core's incremental parser: `feed` bytes, `next()` gives a message
/// `(start, headers, body)` or `None` when more input is needed; a
/// malformed stream raises `ValueError`.
#[pyclass(module = "msgwire._native", name = "StsParser")]
pub(crate) struct PyStsParser {
    inner: Parser,
}

#[pymethods]
impl PyStsParser {
    /// Limits left as `None` keep the spec's 32 KiB header section and
    /// 64 KiB body.
    #[new]
    #[pyo3(signature = (*, max_header_bytes=None, max_body_bytes=None))]
    fn new(max_header_bytes: Option<usize>, max_body_bytes: Option<usize>) -> Self {
        let mut config = ParserConfig::default();
        if let Some(v) = max_header_bytes {
            config.max_header_bytes = v;
        }
        if let Some(v) = max_body_bytes {
            config.max_body_bytes = v;
        }
        PyStsParser {
            inner: Parser::with_config(config),
        }
    }

    fn feed(&mut self, data: &[u8]) {
        self.inner.push(data);
    }

    fn next<'py>(&mut self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyTuple>>> {
        match self.inner.next_message() {
            Ok(Some(m)) => message_object(py, &m).map(Some),
            Ok(None) => Ok(None),
            Err(e) => Err(PyValueError::new_err(e.to_string())),
        }
    }

    /// Bytes still missing from the body being read; `None` while a
    /// header section is being read.
    #[getter]
    fn body_remaining(&self) -> Option<u64> {
        self.inner.body_remaining()
    }

    /// The header-section limit in bytes.
    #[getter]
    fn max_header_bytes(&self) -> usize {
        self.inner.config().max_header_bytes
    }
}

/// Answers one incoming request (core [`Responder`]): partial replies,
/// then one final reply or error reply. Usable from any thread.
#[pyclass(module = "msgwire._native", name = "StsResponder", frozen)]
pub(crate) struct PyResponder {
    inner: Responder,
}

#[pymethods]
impl PyResponder {
    /// The request's transaction id.
    #[getter]
    fn id(&self) -> u64 {
        self.inner.id()
    }

    /// Whether the final reply went out.
    #[getter]
    fn answered(&self) -> bool {
        self.inner.is_answered()
    }

    /// A partial reply (`s: <id>r<n>`).
    #[pyo3(signature = (body=BodyIn(Bytes::new()), headers=HeadersIn(Vec::new())))]
    fn partial(&self, py: Python<'_>, body: BodyIn, headers: HeadersIn) -> PyResult<()> {
        let body = body.0;
        py.detach(|| self.inner.partial(headers_in(headers), body))
            .map_err(peer_error)
    }

    /// The final reply (`s: <id>R`, or `<id>R<n>` after partials).
    #[pyo3(signature = (body=BodyIn(Bytes::new()), headers=HeadersIn(Vec::new()), status=200, reason="OK"))]
    fn reply(
        &self,
        py: Python<'_>,
        body: BodyIn,
        headers: HeadersIn,
        status: u16,
        reason: &str,
    ) -> PyResult<()> {
        let body = body.0;
        py.detach(|| {
            self.inner
                .reply_with_status(status, reason, headers_in(headers), body)
        })
        .map_err(peer_error)
    }

    /// A final error reply with an `<Error .../>` body.
    #[pyo3(signature = (code, text="", *, server=0, module=0, line=0, status=400, reason="Error"))]
    #[allow(clippy::too_many_arguments)]
    fn error(
        &self,
        py: Python<'_>,
        code: i64,
        text: &str,
        server: i64,
        module: i64,
        line: i64,
        status: u16,
        reason: &str,
    ) -> PyResult<()> {
        let e = ErrorReply {
            code,
            server,
            module,
            line,
            text: text.to_string(),
        };
        py.detach(|| self.inner.error(status, reason, &e))
            .map_err(peer_error)
    }
}

/// The replies of one request as an iterator; `__next__` waits without
/// the GIL. Items:
///
/// * `("reply", status, headers, body, is_final)`
/// * `("error", status, (code, server, module, line, text), headers)`
/// * `("timeout",)`
/// * `("failed", why)` (out of sequence, bad fragment, bad error body,
///   connection closed)
///
/// Dropped before its last item, the request is cancelled: its late
/// replies are dropped.
#[pyclass(module = "msgwire._native", name = "StsReplies")]
pub(crate) struct PyReplies {
    waiting: Waiting,
}

/// One request's replies still to come, shared by [`PyReplies`] and
/// [`PyLegacyReplies`]. Dropped before its last item, the request is
/// cancelled (its late replies are dropped).
struct Waiting {
    replies: Mutex<Replies>,
    client: StsClient,
    finished: bool,
}

impl Waiting {
    fn new(replies: Replies, client: StsClient) -> Self {
        Waiting {
            replies: Mutex::new(replies),
            client,
            finished: false,
        }
    }

    /// The next item, waiting without the GIL; `None` after the last.
    fn next(&mut self, py: Python<'_>) -> Option<ReplyItem> {
        if self.finished {
            return None;
        }
        let replies = &self.replies;
        let item = py.detach(|| lock(replies).next());
        self.finished = item.as_ref().is_none_or(ReplyItem::is_last);
        item
    }

    /// Stops waiting: later replies are dropped.
    fn cancel(&mut self) {
        if !self.finished {
            self.finished = true;
            let id = lock(&self.replies).id();
            self.client.peer().cancel(id);
        }
    }
}

impl Drop for Waiting {
    fn drop(&mut self) {
        self.cancel();
    }
}

impl PyReplies {
    fn item<'py>(py: Python<'py>, item: ReplyItem) -> PyResult<Bound<'py, PyTuple>> {
        match item {
            ReplyItem::Reply { message, is_final } => (
                "reply",
                message.status_code().unwrap_or(200),
                headers_out(py, &message.headers)?,
                PyBytes::new(py, &message.body),
                is_final,
            )
                .into_pyobject(py),
            ReplyItem::Error {
                status,
                error,
                message,
            } => (
                "error",
                status,
                error_tuple(&error),
                headers_out(py, &message.headers)?,
            )
                .into_pyobject(py),
            ReplyItem::Timeout => ("timeout",).into_pyobject(py),
            ReplyItem::Failed(why) => ("failed", why).into_pyobject(py),
            other => ("failed", format!("{other:?}")).into_pyobject(py),
        }
    }
}

#[pymethods]
impl PyReplies {
    /// The request's transaction id.
    #[getter]
    fn id(&self) -> u64 {
        lock(&self.waiting.replies).id()
    }

    fn __iter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    fn __next__<'py>(&mut self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyTuple>>> {
        self.waiting
            .next(py)
            .map(|item| Self::item(py, item))
            .transpose()
    }

    /// Stops waiting: later replies are dropped.
    fn cancel(&mut self) {
        self.waiting.cancel();
    }
}

/// The replies of one request as python-sts's result items (see
/// [`PyLegacyShapes`]): `(Error, (headers, body))` or `(Error, None)`
/// per reply, the final one last; an error reply, a timeout or a broken
/// transaction is one last `(Error, None)`. A request that could not be
/// sent gives one `fail("failed", why)` item. Dropped (or cancelled)
/// before its end, the request's later replies are dropped.
#[pyclass(module = "msgwire._native", name = "StsLegacyReplies")]
pub(crate) struct PyLegacyReplies {
    /// `Err`: the request was not sent; the reason is taken by the one
    /// item that reports it.
    replies: Result<Waiting, Option<String>>,
    shapes: Py<PyLegacyShapes>,
}

#[pymethods]
impl PyLegacyReplies {
    fn __iter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    fn __next__<'py>(&mut self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        let shapes = self.shapes.get();
        match &mut self.replies {
            Ok(waiting) => waiting.next(py).map(|item| shapes.item(py, item)),
            Err(why) => why.take().map(|why| shapes.fail(py, "failed", why)),
        }
        .transpose()
    }

    /// python-sts's Python 2 spelling of `__next__` (raises
    /// `StopIteration` at the end).
    fn next<'py>(&mut self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        self.__next__(py)?
            .ok_or_else(|| pyo3::exceptions::PyStopIteration::new_err(()))
    }

    /// Whether the last item was returned (or the request cancelled).
    #[getter]
    fn finished(&self) -> bool {
        match &self.replies {
            Ok(waiting) => waiting.finished,
            Err(why) => why.is_none(),
        }
    }

    /// Stops waiting: later replies are dropped.
    fn cancel(&mut self) {
        match &mut self.replies {
            Ok(waiting) => waiting.cancel(),
            Err(why) => *why = None,
        }
    }

    /// The same as [`cancel`](Self::cancel) (generator protocol).
    fn close(&mut self) {
        self.cancel();
    }
}

/// The core client over a socket descriptor (python-sts's
/// `inetsocket.Socket`).
#[pyclass(module = "msgwire._native", name = "StsClient", frozen)]
pub(crate) struct PyStsClient {
    inner: StsClient,
    shapes: Option<Py<PyLegacyShapes>>,
}

#[pymethods]
impl PyStsClient {
    /// Takes ownership of `fd`, a connected TCP socket (pass a duplicate to
    /// keep the Python socket usable). `ping_interval`: seconds of send
    /// silence before a ping (`None` or 0: never); `request_timeout`:
    /// seconds to wait for each next reply (`None`: 30, the spec).
    /// `shapes`: what [`request_legacy`](Self::request_legacy) builds.
    #[new]
    #[pyo3(signature = (fd, ping_interval=Some(5.0), request_timeout=None, shapes=None))]
    fn new(
        py: Python<'_>,
        fd: RawFd,
        ping_interval: Option<f64>,
        request_timeout: Option<f64>,
        shapes: Option<Py<PyLegacyShapes>>,
    ) -> PyResult<Self> {
        if fd < 0 {
            return Err(PyValueError::new_err("invalid file descriptor"));
        }
        let mut config = ClientConfig::default();
        config.peer.ping_interval =
            opt_seconds(ping_interval, "ping_interval")?.filter(|d| !d.is_zero());
        if let Some(t) = opt_seconds(request_timeout, "request_timeout")? {
            config.peer.request_timeout = t;
        }
        // SAFETY: the caller hands over a descriptor it owns (a duplicate).
        let tcp = unsafe { std::net::TcpStream::from_raw_fd(fd) };
        let inner = py
            .detach(move || {
                tcp.set_nonblocking(false)?;
                StsClient::attach(tcp, config)
            })
            .map_err(|e| PyOSError::new_err(e.to_string()))?;
        Ok(PyStsClient { inner, shapes })
    }

    /// Sends a simple message `P /protocol/command` (no reply).
    #[pyo3(signature = (protocol, command, headers=HeadersIn(Vec::new()), body=BodyIn(Bytes::new())))]
    fn send(
        &self,
        py: Python<'_>,
        protocol: &str,
        command: &str,
        headers: HeadersIn,
        body: BodyIn,
    ) -> PyResult<()> {
        let body = body.0;
        py.detach(|| {
            self.inner
                .send(protocol, command, headers_in(headers), body)
        })
        .map_err(peer_error)
    }

    /// Sends a request; returns its [`PyReplies`]. `timeout`: seconds for
    /// each next reply (`None`: the client's request timeout).
    #[pyo3(signature = (protocol, command, headers=HeadersIn(Vec::new()), body=BodyIn(Bytes::new()), timeout=None))]
    fn request_many(
        &self,
        py: Python<'_>,
        protocol: &str,
        command: &str,
        headers: HeadersIn,
        body: BodyIn,
        timeout: Option<f64>,
    ) -> PyResult<PyReplies> {
        let timeout = opt_seconds(timeout, "timeout")?;
        let body = body.0;
        let replies = py
            .detach(|| {
                self.inner
                    .request_many(protocol, command, headers_in(headers), body, timeout)
            })
            .map_err(peer_error)?;
        Ok(PyReplies {
            waiting: Waiting::new(replies, self.inner.clone()),
        })
    }

    /// Sends a request like [`request_many`](Self::request_many) and
    /// returns its replies as python-sts's result items
    /// ([`PyLegacyReplies`], shaped by the client's `shapes`). A request
    /// the connection refuses (closed, detached) is not an exception but
    /// one failed item; a message that cannot be encoded raises
    /// `ValueError`. `protocol` and `command` may be any object (`str()`
    /// is used).
    #[pyo3(signature = (protocol, command, headers=HeadersIn(Vec::new()), body=BodyIn(Bytes::new()), timeout=None))]
    fn request_legacy(
        &self,
        py: Python<'_>,
        protocol: &Bound<'_, PyAny>,
        command: &Bound<'_, PyAny>,
        headers: HeadersIn,
        body: BodyIn,
        timeout: Option<f64>,
    ) -> PyResult<PyLegacyReplies> {
        let shapes = self
            .shapes
            .as_ref()
            .ok_or_else(|| PyRuntimeError::new_err("the client was made without shapes"))?
            .clone_ref(py);
        let protocol = text_arg(protocol)?;
        let command = text_arg(command)?;
        let timeout = opt_seconds(timeout, "timeout")?;
        let body = body.0;
        let sent = py.detach(|| {
            self.inner
                .request_many(&protocol, &command, headers_in(headers), body, timeout)
        });
        let replies = match sent {
            Ok(r) => Ok(Waiting::new(r, self.inner.clone())),
            Err(e @ (PeerError::Invalid(_) | PeerError::Io(_))) => return Err(peer_error(e)),
            Err(other) => Err(Some(other.to_string())),
        };
        Ok(PyLegacyReplies { replies, shapes })
    }

    /// The next request or message the server sent on its own:
    /// `(method, uri, headers, body, responder or None)`, or `None` after
    /// `timeout` seconds (`None`: until one comes or the connection ends).
    /// Waits without the GIL, checking for signals (Ctrl-C) every 100 ms.
    #[pyo3(signature = (timeout=None))]
    fn read<'py>(
        &self,
        py: Python<'py>,
        timeout: Option<f64>,
    ) -> PyResult<Option<Bound<'py, PyTuple>>> {
        let timeout = opt_seconds(timeout, "timeout")?;
        let deadline = timeout.map(|t| std::time::Instant::now() + t);
        let step = Duration::from_millis(100);
        loop {
            let wait = match deadline {
                Some(d) => d
                    .saturating_duration_since(std::time::Instant::now())
                    .min(step),
                None => step,
            };
            let got = py.detach(|| self.inner.read(Some(wait)));
            if let Some(sm) = got {
                let (method, uri) = match &sm.message.start {
                    StartLine::Request { method, uri } => (method.clone(), uri.clone()),
                    StartLine::Status { .. } => continue,
                };
                let responder = sm.responder.map(|inner| PyResponder { inner });
                return (
                    method,
                    uri,
                    headers_out(py, &sm.message.headers)?,
                    PyBytes::new(py, &sm.message.body),
                    responder,
                )
                    .into_pyobject(py)
                    .map(Some);
            }
            // Messages queued before the end come first; then `None`.
            if self.inner.is_closed() || deadline.is_some_and(|d| std::time::Instant::now() >= d) {
                return Ok(None);
            }
            py.check_signals()?;
        }
    }

    /// Sends the `/Sts/Connect` notification of `inetmgr.connect`.
    fn announce(
        &self,
        py: Python<'_>,
        conn_type: &str,
        program: &str,
        build: &str,
        address: &str,
    ) -> PyResult<()> {
        let info = ConnectInfo::new(conn_type, program, build, address);
        py.detach(|| self.inner.announce(&info)).map_err(peer_error)
    }

    /// Stops the client's threads and returns the socket's descriptor
    /// (open, blocking; the caller owns it).
    fn detach(&self, py: Python<'_>) -> PyResult<RawFd> {
        let tcp = py
            .detach(|| self.inner.detach())
            .map_err(|e| PyRuntimeError::new_err(e.to_string()))?;
        Ok(tcp.into_raw_fd())
    }

    /// Whether the connection has ended (or was detached).
    fn is_closed(&self) -> bool {
        self.inner.is_closed()
    }

    /// Requests waiting for replies.
    #[getter]
    fn in_flight(&self) -> usize {
        self.inner.peer().in_flight()
    }

    /// Sends what is queued, then closes.
    fn close(&self, py: Python<'_>) {
        py.detach(|| self.inner.close());
    }
}

/// A request handed to a server handler.
#[pyclass(module = "msgwire._native", name = "StsRequest", frozen, get_all)]
pub(crate) struct PyRequest {
    /// The server's number for the connection.
    client_id: u64,
    method: String,
    uri: String,
    headers: Py<PyList>,
    body: Py<PyBytes>,
    /// `None` for a simple message (no transaction id).
    responder: Option<Py<PyResponder>>,
}

#[pymethods]
impl PyRequest {
    /// The `Protocol` of a `/Protocol/Command` URI, else `None`.
    #[getter]
    fn protocol(&self) -> Option<&str> {
        split_uri(&self.uri).map(|(p, _)| p)
    }

    /// The `Command` of a `/Protocol/Command` URI, else `None`.
    #[getter]
    fn command(&self) -> Option<&str> {
        split_uri(&self.uri).map(|(_, c)| c)
    }

    fn __repr__(&self) -> String {
        format!(
            "StsRequest(client_id={}, method={:?}, uri={:?})",
            self.client_id, self.method, self.uri
        )
    }
}

fn split_uri(uri: &str) -> Option<(&str, &str)> {
    StartLine::Request {
        method: String::new(),
        uri: uri.to_string(),
    }
    .protocol_command()
    .map(|(p, c)| {
        // Borrow from `uri` (same text, same positions).
        let p_at = 1;
        let c_at = p_at + p.len() + 1;
        (&uri[p_at..p_at + p.len()], &uri[c_at..c_at + c.len()])
    })
}

/// `(client_id, (host, port))` of one connected client.
type ClientEntry = (u64, Option<(String, u16)>);

/// The core server (see the module docs for how handlers run).
#[pyclass(module = "msgwire._native", name = "StsServer", frozen)]
pub(crate) struct PyStsServer {
    inner: Mutex<Option<StsServer>>,
    port: u16,
    host: String,
}

/// Runs a Python handler for one request on the calling (reader) thread.
fn run_handler(handler: &Py<PyAny>, req: Request) {
    let Request {
        connection,
        message,
        responder,
    } = req;
    let (method, uri) = match &message.start {
        StartLine::Request { method, uri } => (method.clone(), uri.clone()),
        StartLine::Status { .. } => return,
    };
    let unanswered = responder.clone();
    let failed = attach(|py| -> Option<String> {
        // Handlers run once per request on this connection's reader
        // thread: keep its thread state rather than build one per call.
        keep_thread_state(py);
        let call = || -> PyResult<()> {
            let request = PyRequest {
                client_id: connection.id(),
                method,
                uri,
                headers: headers_out(py, &message.headers)?.unbind(),
                body: PyBytes::new(py, &message.body).unbind(),
                responder: responder
                    .map(|inner| Py::new(py, PyResponder { inner }))
                    .transpose()?,
            };
            handler.call1(py, (request,))?;
            Ok(())
        };
        match call() {
            Ok(()) => None,
            Err(e) => {
                let text = e.to_string();
                e.write_unraisable(py, Some(handler.bind(py)));
                Some(text)
            }
        }
    })
    .flatten();
    if let (Some(text), Some(r)) = (failed, unanswered) {
        if !r.is_answered() {
            let _ = r.error(500, "Server Error", &ErrorReply::new(500, text));
        }
    }
}

impl PyStsServer {
    fn with<R>(&self, f: impl FnOnce(&StsServer) -> R) -> PyResult<R> {
        let guard = lock(&self.inner);
        let server = guard
            .as_ref()
            .ok_or_else(|| PyRuntimeError::new_err("the STS server is shut down"))?;
        Ok(f(server))
    }
}

#[pymethods]
impl PyStsServer {
    /// Listens on `host:port` (port 0: any free port). `idle_timeout`:
    /// seconds of silence after which a connection is dropped (`None` or
    /// 0: never; default 30). `request_timeout`: for requests the server
    /// sends (default 30).
    #[new]
    #[pyo3(signature = (host="127.0.0.1", port=0, idle_timeout=Some(30.0), request_timeout=None))]
    fn new(
        py: Python<'_>,
        host: &str,
        port: u16,
        idle_timeout: Option<f64>,
        request_timeout: Option<f64>,
    ) -> PyResult<Self> {
        let mut config = ServerConfig::default();
        config.peer.idle_timeout =
            opt_seconds(idle_timeout, "idle_timeout")?.filter(|d| !d.is_zero());
        if let Some(t) = opt_seconds(request_timeout, "request_timeout")? {
            config.peer.request_timeout = t;
        }
        let addr = (host.to_string(), port);
        let server = py
            .detach(move || StsServer::bind(addr, config))
            .map_err(|e| PyOSError::new_err(e.to_string()))?;
        let local = server.local_addr();
        Ok(PyStsServer {
            inner: Mutex::new(Some(server)),
            port: local.port(),
            host: local.ip().to_string(),
        })
    }

    /// The port the server listens on.
    #[getter]
    fn port(&self) -> u16 {
        self.port
    }

    /// `(host, port)` the server listens on.
    #[getter]
    fn address(&self) -> (String, u16) {
        (self.host.clone(), self.port)
    }

    /// Calls `handler(request)` for every request and message to
    /// `/protocol/command` (a [`PyRequest`]).
    fn route(&self, protocol: &str, command: &str, handler: Py<PyAny>) -> PyResult<()> {
        self.with(|s| s.route(protocol, command, move |req| run_handler(&handler, req)))
    }

    /// Calls `handler(request)` for whatever no route matches (instead of
    /// the 404 error reply).
    fn fallback(&self, handler: Py<PyAny>) -> PyResult<()> {
        self.with(|s| s.fallback(move |req| run_handler(&handler, req)))
    }

    /// `[(client_id, (host, port))]` of the clients connected now.
    fn clients(&self) -> PyResult<Vec<ClientEntry>> {
        self.with(|s| {
            s.clients()
                .iter()
                .map(|c| (c.id(), c.addr().map(|a| (a.ip().to_string(), a.port()))))
                .collect()
        })
    }

    /// Sends one simple message `P /protocol/command` to the clients in
    /// `to` (ids; every client when `None`), encoded once. Returns how
    /// many clients took it.
    #[pyo3(signature = (protocol, command, headers=HeadersIn(Vec::new()), body=BodyIn(Bytes::new()), to=None))]
    fn broadcast(
        &self,
        py: Python<'_>,
        protocol: &str,
        command: &str,
        headers: HeadersIn,
        body: BodyIn,
        to: Option<Vec<u64>>,
    ) -> PyResult<usize> {
        let mut message = Message::request(protocol, command);
        message.headers = headers_in(headers);
        message.body = body.0;
        py.detach(|| self.with(|s| s.broadcast(&message, to.as_deref())))?
            .map_err(peer_error)
    }

    /// Sends one simple message to one client; `False` if it is gone.
    #[pyo3(signature = (client_id, protocol, command, headers=HeadersIn(Vec::new()), body=BodyIn(Bytes::new())))]
    fn send(
        &self,
        py: Python<'_>,
        client_id: u64,
        protocol: &str,
        command: &str,
        headers: HeadersIn,
        body: BodyIn,
    ) -> PyResult<bool> {
        let mut message = Message::request(protocol, command);
        message.headers = headers_in(headers);
        message.body = body.0;
        py.detach(|| {
            self.with(|s| {
                s.clients()
                    .into_iter()
                    .find(|c| c.id() == client_id)
                    .is_some_and(|c| c.send(message).is_ok())
            })
        })
    }

    /// Closes one client's connection; `False` if it is gone.
    fn disconnect(&self, py: Python<'_>, client_id: u64) -> PyResult<bool> {
        py.detach(|| {
            self.with(|s| {
                s.clients()
                    .into_iter()
                    .find(|c| c.id() == client_id)
                    .map(|c| c.close())
                    .is_some()
            })
        })
    }

    /// Stops listening and closes every connection (idempotent).
    fn shutdown(&self, py: Python<'_>) {
        let server = lock(&self.inner).take();
        py.detach(move || drop(server));
    }
}

impl Drop for PyStsServer {
    fn drop(&mut self) {
        let server = lock(&self.inner).take();
        if server.is_some() {
            // Shutting down joins threads that may be waiting for the GIL
            // (a handler about to run): wait without it.
            Python::attach(|py| py.detach(move || drop(server)));
        }
    }
}
