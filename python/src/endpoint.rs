//! Endpoints: binding a session (`Connector`), the bound connection
//! (`BoundTransport`) and the driven session (`Session`), plus the two
//! helpers `msrplib.transport.MSRPTransport` builds requests and checks
//! paths with.
//!
//! Every call that can block (connecting, accepting, waiting for a
//! response, a full send queue, shutting down) releases the GIL. Python
//! callbacks are called from the core's reader and timer threads; the
//! closures below take the GIL only around the call itself, and the core
//! never calls them while holding one of its locks (see `python/README.md`).
//!
//! Chunks cross the boundary as the parts `msrplib.protocol.MSRPData`
//! converts (see [`crate::chunk`]); incoming chunks arrive as
//! `(transaction_id, method, code, comment, headers, data, contflag)`.

use std::sync::Mutex;
use std::time::Duration;

use msgwire_core::msrp::endpoint::{
    BindOptions, BindTimeouts, BoundTransport, DirectAcceptor, DirectConnector, EndpointEvent,
    MsrpSession, SessionState, TransactionOutcome,
};
use msgwire_core::msrp::session::{SessionConfig, SessionEvent, SessionPaths};
use msgwire_core::msrp::{make_response, Chunk, ChunkBuilder, EncodeError, Uri};
use pyo3::exceptions::{PyRuntimeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyTuple};

use crate::chunk::{build_chunk, flag_from_str, flag_str, header_pairs, kind_parts};
use crate::errors::CoreError;
use crate::tls::{PyTlsClientConfig, PyTlsServerConfig};
use crate::uri::{from_parts, to_parts, UriParts};

/// `(local_uri, local_path, remote_path, remote_uri)`.
type PathParts = (UriParts, Vec<UriParts>, Vec<UriParts>, UriParts);

/// Longest accepted timeout; longer values are clamped so that adding them
/// to the current instant cannot overflow.
const MAX_SECONDS: f64 = 10.0 * 365.0 * 86400.0;

fn seconds(value: f64, what: &str) -> PyResult<Duration> {
    if value.is_nan() || value < 0.0 {
        return Err(PyValueError::new_err(format!(
            "{what} must be a non-negative number of seconds, not {value}"
        )));
    }
    Ok(Duration::from_secs_f64(value.min(MAX_SECONDS)))
}

pub(crate) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A panic while holding one of these locks leaves plain data behind;
    // carry on with it.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn path_parts(paths: &SessionPaths) -> PathParts {
    (
        to_parts(paths.local_uri.clone()),
        paths.local_path.iter().cloned().map(to_parts).collect(),
        paths.remote_path.iter().cloned().map(to_parts).collect(),
        to_parts(paths.remote_uri.clone()),
    )
}

/// A chunk as the tuple `MSRPData._from_parts` takes.
fn chunk_to_py<'py>(py: Python<'py>, chunk: &Chunk) -> PyResult<Bound<'py, PyTuple>> {
    let (method, code, comment) = kind_parts(&chunk.kind);
    (
        chunk.transaction_id.clone(),
        method,
        code,
        comment,
        header_pairs(&chunk.headers),
        PyBytes::new(py, &chunk.data),
        flag_str(chunk.flag),
    )
        .into_pyobject(py)
}

/// Builds an outgoing chunk from its parts, refusing header text that would
/// break the framing.
#[allow(clippy::too_many_arguments)]
fn outgoing_chunk(
    transaction_id: &str,
    method: Option<&str>,
    code: Option<u16>,
    comment: Option<&str>,
    headers: Vec<(String, String)>,
    data: &[u8],
    contflag: &str,
) -> PyResult<Chunk> {
    if method.is_some() == code.is_some() {
        return Err(PyValueError::new_err(
            "exactly one of method and code must be given",
        ));
    }
    let mut chunk = build_chunk(transaction_id, method, code, comment, headers, data);
    chunk.flag = flag_from_str(contflag)?;
    if let Err(e @ (EncodeError::LineBreak(_) | EncodeError::BadHeaderName(_))) = chunk.validate() {
        return Err(PyValueError::new_err(format!("cannot encode chunk: {e}")));
    }
    Ok(chunk)
}

/// Calls a Python callable from a core thread: the GIL is taken for the
/// call only. An exception is reported as unraisable (the thread has no
/// caller to hand it to). While the interpreter is shutting down (a
/// session still running at exit) the call is skipped instead of touching
/// a dying interpreter.
fn call_python<F>(callback: &Py<PyAny>, make_args: F)
where
    F: for<'py> FnOnce(Python<'py>) -> PyResult<Bound<'py, PyTuple>>,
{
    let _ = Python::try_attach(|py| {
        let result = make_args(py).and_then(|args| callback.call1(py, args));
        if let Err(e) = result {
            e.write_unraisable(py, Some(callback.bind(py)));
        }
    });
}

// ------------------------------------------------------------------ binding

/// A connected, bound connection waiting to be driven by a `Session`.
#[pyclass(name = "BoundTransport", module = "msgwire._native")]
pub(crate) struct PyBoundTransport {
    inner: Mutex<Option<BoundTransport>>,
    paths: SessionPaths,
    peer: Option<(String, u16)>,
}

impl PyBoundTransport {
    pub(crate) fn new(bound: BoundTransport) -> Self {
        let paths = bound.paths().clone();
        let peer = bound
            .peer_addr()
            .ok()
            .map(|a| (a.ip().to_string(), a.port()));
        PyBoundTransport {
            inner: Mutex::new(Some(bound)),
            paths,
            peer,
        }
    }
}

#[pymethods]
impl PyBoundTransport {
    /// `(local_uri, local_path, remote_path, remote_uri)` as URI parts.
    fn paths(&self) -> PathParts {
        path_parts(&self.paths)
    }

    /// The peer's `(ip, port)`.
    #[getter]
    fn peer_address(&self) -> Option<(String, u16)> {
        self.peer.clone()
    }

    /// False once a session took the connection over or it was closed.
    #[getter]
    fn available(&self, py: Python<'_>) -> bool {
        // Never wait for the lock with the GIL held: a blocked
        // `read_chunk` holds it and needs the GIL to return.
        py.detach(|| lock(&self.inner).is_some())
    }

    /// Closes the connection unless a session took it over. Waits for a
    /// `read_chunk` in progress on another thread to return.
    fn close(&self, py: Python<'_>) {
        py.detach(|| drop(lock(&self.inner).take()));
    }

    /// Whether `read_chunk` returned segments of a chunk that has not
    /// ended yet (a session cannot take over then).
    #[getter]
    fn mid_chunk(&self, py: Python<'_>) -> bool {
        py.detach(|| {
            lock(&self.inner)
                .as_ref()
                .is_some_and(BoundTransport::mid_chunk)
        })
    }

    /// Writes raw bytes. Blocks without the GIL.
    fn write(&self, py: Python<'_>, data: &[u8]) -> PyResult<()> {
        self.with_transport(py, |t| t.write(data))
    }

    /// Writes one chunk given as parts. Blocks without the GIL.
    #[pyo3(signature = (transaction_id, method, code, comment, headers, data, contflag))]
    #[allow(clippy::too_many_arguments)]
    fn write_chunk(
        &self,
        py: Python<'_>,
        transaction_id: &str,
        method: Option<&str>,
        code: Option<u16>,
        comment: Option<&str>,
        headers: Vec<(String, String)>,
        data: &[u8],
        contflag: &str,
    ) -> PyResult<()> {
        let chunk = outgoing_chunk(
            transaction_id,
            method,
            code,
            comment,
            headers,
            data,
            contflag,
        )?;
        self.with_transport(py, |t| t.write_chunk(&chunk))
    }

    /// Writes the response owed for a request given as parts, if its
    /// Failure-Report asks for one; returns the response written (as
    /// parts) or `None`.
    #[pyo3(signature = (transaction_id, method, code, comment, headers, data, contflag, status_code, status_comment=None))]
    #[allow(clippy::too_many_arguments)]
    fn write_response<'py>(
        &self,
        py: Python<'py>,
        transaction_id: &str,
        method: Option<&str>,
        code: Option<u16>,
        comment: Option<&str>,
        headers: Vec<(String, String)>,
        data: &[u8],
        contflag: &str,
        status_code: u16,
        status_comment: Option<&str>,
    ) -> PyResult<Option<Bound<'py, PyTuple>>> {
        let request = outgoing_chunk(
            transaction_id,
            method,
            code,
            comment,
            headers,
            data,
            contflag,
        )?;
        let Some(response) =
            make_response(&request, status_code, status_comment).map_err(CoreError::from)?
        else {
            return Ok(None);
        };
        self.with_transport(py, |t| t.write_chunk(&response))?;
        chunk_to_py(py, &response).map(Some)
    }

    /// Reads the next chunk without the GIL: `(parts, segment)` where
    /// `segment` is `None` for a whole chunk or the number (from 1) of a
    /// "virtual" segment of a chunk whose body exceeded `max_size`.
    /// `timeout` in seconds (`None`: wait forever) raises `TimeoutError`.
    #[pyo3(signature = (max_size=None, timeout=None))]
    fn read_chunk<'py>(
        &self,
        py: Python<'py>,
        max_size: Option<usize>,
        timeout: Option<f64>,
    ) -> PyResult<(Bound<'py, PyTuple>, Option<u32>)> {
        let timeout = timeout.map(|t| seconds(t, "timeout")).transpose()?;
        let read = self.with_transport(py, |t| t.read_chunk_timeout(max_size, timeout))?;
        Ok((chunk_to_py(py, &read.chunk)?, read.segment))
    }
}

impl PyBoundTransport {
    /// Runs `f` on the transport without the GIL (the lock is also taken
    /// without it). A closed or taken-over transport is `ConnectionDone`.
    fn with_transport<T: Send>(
        &self,
        py: Python<'_>,
        f: impl FnOnce(&mut BoundTransport) -> Result<T, msgwire_core::msrp::endpoint::Error> + Send,
    ) -> PyResult<T> {
        let result = py.detach(|| lock(&self.inner).as_mut().map(f));
        match result {
            Some(r) => Ok(r.map_err(CoreError::from)?),
            None => Err(crate::errors::ConnectionDone::new_err(
                "the transport is closed or used by a session",
            )),
        }
    }
}

/// The binding half of `msrplib.connect`: a direct connector (`active`) or
/// a direct acceptor.
#[pyclass(name = "Connector", module = "msgwire._native")]
pub(crate) struct PyConnector {
    active: bool,
    use_sessmatch: bool,
    local_uri: Mutex<Option<Uri>>,
    acceptor: Mutex<Option<DirectAcceptor>>,
}

pub(crate) fn bind_options(
    use_sessmatch: bool,
    connect: f64,
    incoming: f64,
    bind: f64,
) -> PyResult<BindOptions> {
    Ok(BindOptions {
        timeouts: BindTimeouts {
            connect: seconds(connect, "the connect timeout")?,
            incoming_connect: seconds(incoming, "the incoming connect timeout")?,
            bind: seconds(bind, "the bind timeout")?,
        },
        use_sessmatch,
    })
}

#[pymethods]
impl PyConnector {
    #[new]
    #[pyo3(signature = (active, use_sessmatch=false))]
    fn new(active: bool, use_sessmatch: bool) -> Self {
        PyConnector {
            active,
            use_sessmatch,
            local_uri: Mutex::new(None),
            acceptor: Mutex::new(None),
        }
    }

    /// Completes the local URI and, for an acceptor, starts listening
    /// (port 0: any free port).
    /// Returns the full local path as URI parts.
    /// `server_tls` is what an acceptor presents on an `msrps` local URI.
    #[pyo3(signature = (local_uri, connect_timeout, incoming_timeout, bind_timeout, server_tls=None))]
    fn prepare(
        &self,
        py: Python<'_>,
        local_uri: Option<UriParts>,
        connect_timeout: f64,
        incoming_timeout: f64,
        bind_timeout: f64,
        server_tls: Option<PyRef<'_, PyTlsServerConfig>>,
    ) -> PyResult<Vec<UriParts>> {
        let options = bind_options(
            self.use_sessmatch,
            connect_timeout,
            incoming_timeout,
            bind_timeout,
        )?;
        let local_uri = local_uri.map(from_parts);
        let path = if self.active {
            DirectConnector::new(options).prepare(local_uri)
        } else {
            let mut acceptor = DirectAcceptor::new(options);
            if let Some(tls) = server_tls {
                acceptor = acceptor.with_tls(tls.inner.clone());
            }
            let path = py
                .detach(|| acceptor.prepare(local_uri))
                .map_err(CoreError::from)?;
            *lock(&self.acceptor) = Some(acceptor);
            path
        };
        *lock(&self.local_uri) = path.last().cloned();
        Ok(path.into_iter().map(to_parts).collect())
    }

    /// Connects (connector) or waits for the peer (acceptor) and binds.
    /// Blocks without the GIL.
    /// `client_tls` is what a connector trusts when the remote URI is
    /// `msrps`.
    #[pyo3(signature = (full_remote_path, connect_timeout, incoming_timeout, bind_timeout, client_tls=None))]
    fn complete(
        &self,
        py: Python<'_>,
        full_remote_path: Vec<UriParts>,
        connect_timeout: f64,
        incoming_timeout: f64,
        bind_timeout: f64,
        client_tls: Option<PyRef<'_, PyTlsClientConfig>>,
    ) -> PyResult<PyBoundTransport> {
        let options = bind_options(
            self.use_sessmatch,
            connect_timeout,
            incoming_timeout,
            bind_timeout,
        )?;
        let remote: Vec<Uri> = full_remote_path.into_iter().map(from_parts).collect();
        if remote.is_empty() {
            return Err(PyValueError::new_err("the remote path is empty"));
        }
        let bound = if self.active {
            let local = lock(&self.local_uri).clone();
            let tls = client_tls.map(|tls| tls.inner.clone());
            py.detach(move || {
                let mut connector = DirectConnector::new(options);
                if let Some(tls) = tls {
                    connector = connector.with_tls(tls);
                }
                connector.prepare(local);
                connector.complete(&remote)
            })
        } else {
            let mut acceptor = lock(&self.acceptor)
                .take()
                .ok_or_else(|| PyRuntimeError::new_err("prepare() must be called first"))?;
            // Timeouts are read now, as the legacy library reads them.
            *acceptor.options_mut() = options;
            py.detach(move || acceptor.complete(&remote))
        }
        .map_err(CoreError::from)?;
        Ok(PyBoundTransport::new(bound))
    }

    /// Stops listening (acceptor); nothing to do for a connector.
    fn cleanup(&self) {
        drop(lock(&self.acceptor).take());
    }
}

// ------------------------------------------------------------------ session

/// Why `Session.start` could not take a transport.
enum NotTaken {
    MidChunk,
    Closed,
}
use NotTaken::{Closed, MidChunk};

/// A bound session driven by the core's threads.
#[pyclass(name = "Session", module = "msgwire._native")]
pub(crate) struct PySession {
    inner: MsrpSession,
}

fn event_to_py<'py>(py: Python<'py>, event: EndpointEvent) -> PyResult<Bound<'py, PyTuple>> {
    let none = py.None().into_bound(py);
    let items: Vec<Bound<'py, PyAny>> = match event {
        EndpointEvent::Session(SessionEvent::Incoming(chunk)) => vec![
            "incoming".into_pyobject(py)?.into_any(),
            chunk_to_py(py, &chunk)?.into_any(),
            none.clone(),
        ],
        EndpointEvent::Session(SessionEvent::Response {
            response, local, ..
        }) => vec![
            "response".into_pyobject(py)?.into_any(),
            chunk_to_py(py, &response)?.into_any(),
            local.into_pyobject(py)?.to_owned().into_any(),
        ],
        EndpointEvent::Session(SessionEvent::ProtocolError(e)) => vec![
            "protocol_error".into_pyobject(py)?.into_any(),
            e.to_string().into_pyobject(py)?.into_any(),
            none.clone(),
        ],
        EndpointEvent::Session(SessionEvent::KeepaliveTimeout) => vec![
            "keepalive_timeout".into_pyobject(py)?.into_any(),
            none.clone(),
            none.clone(),
        ],
        EndpointEvent::Closed(error) => vec![
            "closed".into_pyobject(py)?.into_any(),
            match error {
                Some(e) => e.to_string().into_pyobject(py)?.into_any(),
                None => none.clone(),
            },
            none.clone(),
        ],
    };
    PyTuple::new(py, items)
}

fn state_name(state: SessionState) -> &'static str {
    match state {
        SessionState::Connected => "CONNECTED",
        SessionState::Flushing => "FLUSHING",
        SessionState::Closing => "CLOSING",
        SessionState::Done => "DONE",
    }
}

#[pymethods]
impl PySession {
    /// Takes the connection over from `bound` and starts the session.
    /// `callback(event)` receives `(kind, a, b)` tuples: `("incoming",
    /// chunk, None)`, `("response", chunk, local)` for requests sent
    /// without their own callback, `("protocol_error", message, None)`,
    /// `("keepalive_timeout", None, None)` and last `("closed", error
    /// message or None, None)`.
    #[staticmethod]
    #[pyo3(signature = (bound, callback, accept_types, automatic_reports, response_timeout, keepalive_interval))]
    fn start(
        py: Python<'_>,
        bound: &PyBoundTransport,
        callback: Py<PyAny>,
        accept_types: Vec<String>,
        automatic_reports: bool,
        response_timeout: f64,
        keepalive_interval: Option<f64>,
    ) -> PyResult<PySession> {
        let config = SessionConfig {
            accept_types,
            automatic_reports,
            response_timeout: seconds(response_timeout, "RESPONSE_TIMEOUT")?,
            keepalive_interval: keepalive_interval
                .map(|s| seconds(s, "KEEPALIVE_INTERVAL"))
                .transpose()?,
            ..SessionConfig::default()
        };
        let bound = py
            .detach(|| {
                let mut slot = lock(&bound.inner);
                // A transport in the middle of a segmented chunk stays
                // usable: the session refuses it before taking it.
                if slot.as_ref().is_some_and(BoundTransport::mid_chunk) {
                    return Err(MidChunk);
                }
                slot.take().ok_or(Closed)
            })
            .map_err(|e| match e {
                MidChunk => PyErr::from(CoreError::from(
                    msgwire_core::msrp::endpoint::Error::MidChunk,
                )),
                Closed => {
                    PyRuntimeError::new_err("the transport is closed or already used by a session")
                }
            })?;
        let on_event = move |event: EndpointEvent| {
            call_python(&callback, |py| PyTuple::new(py, [event_to_py(py, event)?]));
        };
        let inner = py
            .detach(move || MsrpSession::start(bound, config, on_event))
            .map_err(CoreError::from)?;
        Ok(PySession { inner })
    }

    /// `(local_uri, local_path, remote_path, remote_uri)` as URI parts.
    fn paths(&self) -> PathParts {
        path_parts(self.inner.paths())
    }

    /// `'CONNECTED'`, `'FLUSHING'`, `'CLOSING'` or `'DONE'`.
    #[getter]
    fn state(&self, py: Python<'_>) -> &'static str {
        state_name(py.detach(|| self.inner.state()))
    }

    /// Queues a chunk. `callback(chunk, local)`, if given, receives the
    /// outcome of a request that expects a response.
    #[pyo3(signature = (transaction_id, method, code, comment, headers, data, contflag, callback=None))]
    #[allow(clippy::too_many_arguments)]
    fn send_chunk(
        &self,
        py: Python<'_>,
        transaction_id: &str,
        method: Option<&str>,
        code: Option<u16>,
        comment: Option<&str>,
        headers: Vec<(String, String)>,
        data: &[u8],
        contflag: &str,
        callback: Option<Py<PyAny>>,
    ) -> PyResult<()> {
        let chunk = outgoing_chunk(
            transaction_id,
            method,
            code,
            comment,
            headers,
            data,
            contflag,
        )?;
        let on_response = callback.map(|cb| {
            Box::new(move |outcome: TransactionOutcome| {
                call_python(&cb, |py| {
                    let local = outcome.local.into_pyobject(py)?.to_owned().into_any();
                    let items = [chunk_to_py(py, &outcome.response)?.into_any(), local];
                    PyTuple::new(py, items)
                });
            }) as Box<dyn FnOnce(TransactionOutcome) + Send>
        });
        py.detach(|| self.inner.send_chunk(chunk, on_response))
            .map_err(CoreError::from)?;
        Ok(())
    }

    /// Sends a chunk and waits (without the GIL) for its response: the
    /// 2xx response, or `None` for `Failure-Report: no`.
    #[pyo3(signature = (transaction_id, method, code, comment, headers, data, contflag))]
    #[allow(clippy::too_many_arguments)]
    fn deliver_chunk<'py>(
        &self,
        py: Python<'py>,
        transaction_id: &str,
        method: Option<&str>,
        code: Option<u16>,
        comment: Option<&str>,
        headers: Vec<(String, String)>,
        data: &[u8],
        contflag: &str,
    ) -> PyResult<Option<Bound<'py, PyTuple>>> {
        let chunk = outgoing_chunk(
            transaction_id,
            method,
            code,
            comment,
            headers,
            data,
            contflag,
        )?;
        let response = py
            .detach(|| self.inner.deliver_chunk(chunk))
            .map_err(CoreError::from)?;
        response.map(|r| chunk_to_py(py, &r)).transpose()
    }

    /// Sends the REPORT owed for an incoming SEND processed with `code`, if
    /// it asks for one; returns whether one was sent.
    #[pyo3(signature = (transaction_id, method, code, comment, headers, data, contflag, status_code, status_comment=None))]
    #[allow(clippy::too_many_arguments)]
    fn send_report(
        &self,
        py: Python<'_>,
        transaction_id: &str,
        method: Option<&str>,
        code: Option<u16>,
        comment: Option<&str>,
        headers: Vec<(String, String)>,
        data: &[u8],
        contflag: &str,
        status_code: u16,
        status_comment: Option<&str>,
    ) -> PyResult<bool> {
        let chunk = outgoing_chunk(
            transaction_id,
            method,
            code,
            comment,
            headers,
            data,
            contflag,
        )?;
        Ok(py
            .detach(|| self.inner.send_report(&chunk, status_code, status_comment))
            .map_err(CoreError::from)?)
    }

    /// Sends the response owed for an incoming request (e.g. a NICKNAME),
    /// if it asks for one; returns whether one was sent.
    #[pyo3(signature = (transaction_id, method, code, comment, headers, data, contflag, status_code, status_comment=None))]
    #[allow(clippy::too_many_arguments)]
    fn send_response(
        &self,
        py: Python<'_>,
        transaction_id: &str,
        method: Option<&str>,
        code: Option<u16>,
        comment: Option<&str>,
        headers: Vec<(String, String)>,
        data: &[u8],
        contflag: &str,
        status_code: u16,
        status_comment: Option<&str>,
    ) -> PyResult<bool> {
        let chunk = outgoing_chunk(
            transaction_id,
            method,
            code,
            comment,
            headers,
            data,
            contflag,
        )?;
        Ok(py
            .detach(|| {
                self.inner
                    .send_response(&chunk, status_code, status_comment)
            })
            .map_err(CoreError::from)?)
    }

    /// Flushes, waits for outstanding responses and closes; with `wait`,
    /// returns when done (without the GIL). Never `wait` from a callback.
    #[pyo3(signature = (wait=true))]
    fn shutdown(&self, py: Python<'_>, wait: bool) {
        py.detach(|| self.inner.shutdown(wait));
    }
}

// ------------------------------------------------------------- transport

/// Builds a request the way the legacy `make_chunk`/`make_send_request`
/// did (core `ChunkBuilder`): To-Path, From-Path, Byte-Range, Message-ID,
/// then the body and flag for SEND. `unknown_end_above`: write the range
/// end as `*` when the total is larger (the legacy library used 2048).
/// Returns `(transaction_id, method, code, comment, headers, data, contflag)`.
#[pyfunction]
#[pyo3(signature = (to_path, from_path, method, data, start=1, end=None, length=None, message_id=None, transaction_id=None, contflag=None, unknown_end_above=None))]
#[allow(clippy::too_many_arguments)]
pub(crate) fn build_request<'py>(
    py: Python<'py>,
    to_path: &str,
    from_path: &str,
    method: &str,
    data: &[u8],
    start: u64,
    end: Option<u64>,
    length: Option<u64>,
    message_id: Option<String>,
    transaction_id: Option<String>,
    contflag: Option<&str>,
    unknown_end_above: Option<u64>,
) -> PyResult<Bound<'py, PyTuple>> {
    let mut builder = ChunkBuilder::send(bytes::Bytes::copy_from_slice(data));
    builder.method = method.to_string();
    builder.start = start;
    builder.end = end;
    builder.length = length;
    builder.message_id = message_id;
    builder.transaction_id = transaction_id;
    builder.contflag = contflag.map(flag_from_str).transpose()?;
    builder.unknown_end_above = unknown_end_above;
    let chunk = builder.build(to_path, from_path);
    if let Err(e @ (EncodeError::LineBreak(_) | EncodeError::BadHeaderName(_))) = chunk.validate() {
        return Err(PyValueError::new_err(format!("cannot encode chunk: {e}")));
    }
    chunk_to_py(py, &chunk)
}

/// Checks an incoming SEND's To-Path and From-Path against a bound
/// session: `None` when they match, else `(code, comment)`: 400 for a
/// missing or unreadable path, 481 for a path naming another session.
/// With `sessmatch`, only the session ids of the first URIs are compared.
#[pyfunction]
pub(crate) fn check_send_paths(
    headers: Vec<(String, String)>,
    local_uri: UriParts,
    expected_from: Vec<UriParts>,
    sessmatch: bool,
) -> Option<(u16, String)> {
    let chunk = build_chunk("", Some("SEND"), None, None, headers, &[]);
    let to = match chunk.to_path() {
        Ok(Some(p)) => p,
        Ok(None) => return Some((400, "To-Path header missing".into())),
        Err(e) => return Some((400, e.to_string())),
    };
    let from = match chunk.from_path() {
        Ok(Some(p)) => p,
        Ok(None) => return Some((400, "From-Path header missing".into())),
        Err(e) => return Some((400, e.to_string())),
    };
    let local = from_parts(local_uri);
    let expected_from: Vec<Uri> = expected_from.into_iter().map(from_parts).collect();
    let (to_ok, from_ok) = if sessmatch {
        (
            to.first().map(|u| &u.session_id) == Some(&local.session_id),
            from.first().map(|u| &u.session_id) == expected_from.first().map(|u| &u.session_id),
        )
    } else {
        (to == [local], from == expected_from)
    };
    if !to_ok {
        return Some((481, "Invalid To-Path".into()));
    }
    if !from_ok {
        return Some((481, "Invalid From-Path".into()));
    }
    None
}
