//! Endpoints: binding a session (`Connector`) and the bound connection
//! (`BoundTransport`), plus the two helpers `msrplib.transport.MSRPTransport`
//! builds requests and checks paths with. The driven session (`Session`)
//! is in [`crate::session`].
//!
//! Every call that can block (connecting, accepting, reading, writing)
//! releases the GIL (see `python/README.md`).
//!
//! Chunks cross the boundary as `msrplib.protocol.MSRPData` objects (see
//! [`crate::chunk`]): read attribute by attribute on the way in (or given
//! as the parts tuple, [`ChunkIn`]), built like `MSRPData._from_parts` on
//! the way out.

use std::sync::Mutex;
use std::time::Duration;

use msgwire_core::msrp::endpoint::{
    BindOptions, BindTimeouts, BoundTransport, DirectAcceptor, DirectConnector,
};
use msgwire_core::msrp::session::SessionPaths;
use msgwire_core::msrp::{make_response, ChunkBuilder, EncodeError, Uri};
use pyo3::exceptions::{PyRuntimeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyBytes;

use crate::chunk::{
    body_bytes, build_chunk, chunk_object, flag_from_str, flag_str, kind_parts, new_msrpdata,
    ChunkIn, HeaderPairs, PyHeaderList,
};
use crate::errors::CoreError;
use crate::tls::{PyTlsClientConfig, PyTlsServerConfig};
use crate::uri::{from_parts, to_parts, UriParts};

/// `(local_uri, local_path, remote_path, remote_uri)`.
pub(crate) type PathParts = (UriParts, Vec<UriParts>, Vec<UriParts>, UriParts);

/// Longest accepted timeout; longer values are clamped so that adding them
/// to the current instant cannot overflow.
const MAX_SECONDS: f64 = 10.0 * 365.0 * 86400.0;

pub(crate) fn seconds(value: f64, what: &str) -> PyResult<Duration> {
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

pub(crate) fn path_parts(paths: &SessionPaths) -> PathParts {
    (
        to_parts(paths.local_uri.clone()),
        paths.local_path.iter().cloned().map(to_parts).collect(),
        paths.remote_path.iter().cloned().map(to_parts).collect(),
        to_parts(paths.remote_uri.clone()),
    )
}

// ------------------------------------------------------------------ binding

/// A connected, bound connection waiting to be driven by a `Session`.
#[pyclass(name = "BoundTransport", module = "msgwire._native")]
pub(crate) struct PyBoundTransport {
    pub(crate) inner: Mutex<Option<BoundTransport>>,
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

    /// Writes one chunk (an `MSRPData` or [`ChunkParts`]). Blocks without
    /// the GIL.
    fn write_chunk(&self, py: Python<'_>, chunk: ChunkIn) -> PyResult<()> {
        let chunk = chunk.outgoing()?;
        self.with_transport(py, |t| t.write_chunk(&chunk))
    }

    /// Writes the response owed for a request (an `MSRPData` or
    /// [`ChunkParts`]), if its Failure-Report asks for one; returns the
    /// response written (an `MSRPData`) or `None`.
    #[pyo3(signature = (request, status_code, status_comment=None))]
    fn write_response<'py>(
        &self,
        py: Python<'py>,
        request: ChunkIn,
        status_code: u16,
        status_comment: Option<&str>,
    ) -> PyResult<Option<Bound<'py, PyAny>>> {
        let request = request.outgoing()?;
        let Some(response) =
            make_response(&request, status_code, status_comment).map_err(CoreError::from)?
        else {
            return Ok(None);
        };
        self.with_transport(py, |t| t.write_chunk(&response))?;
        chunk_object(py, response).map(Some)
    }

    /// Reads the next chunk without the GIL: `(chunk, segment)`, the chunk
    /// an `MSRPData` and `segment`
    /// `None` for a whole chunk or the number (from 1) of a
    /// "virtual" segment of a chunk whose body exceeded `max_size`.
    /// `timeout` in seconds (`None`: wait forever) raises `TimeoutError`.
    #[pyo3(signature = (max_size=None, timeout=None))]
    fn read_chunk<'py>(
        &self,
        py: Python<'py>,
        max_size: Option<usize>,
        timeout: Option<f64>,
    ) -> PyResult<(Bound<'py, PyAny>, Option<u32>)> {
        let timeout = timeout.map(|t| seconds(t, "timeout")).transpose()?;
        let read = self.with_transport(py, |t| t.read_chunk_timeout(max_size, timeout))?;
        Ok((chunk_object(py, read.chunk)?, read.segment))
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

// ------------------------------------------------------------- transport

/// Builds a request the way the legacy `make_chunk`/`make_send_request`
/// did (core `ChunkBuilder`): To-Path, From-Path, Byte-Range, Message-ID,
/// then the body and flag for SEND. `unknown_end_above`: write the range
/// end as `*` when the total is larger (the legacy library used 2048).
/// `content_type`, if given, is appended last as `Content-Type` (what the
/// legacy `make_message` added to `make_send_request`'s chunk); it is
/// checked when the chunk is encoded or sent, as a header added later is.
/// Returns an `MSRPData` whose `data` is `data` itself (`bytes`, or `str`
/// counted and sent as UTF-8) for SEND, else `b''`.
#[pyfunction]
#[pyo3(signature = (to_path, from_path, method, data, start=1, end=None, length=None, message_id=None, transaction_id=None, contflag=None, unknown_end_above=None, content_type=None))]
#[allow(clippy::too_many_arguments)]
pub(crate) fn build_request<'py>(
    to_path: &str,
    from_path: &str,
    method: &str,
    data: Bound<'py, PyAny>,
    start: u64,
    end: Option<u64>,
    length: Option<u64>,
    message_id: Option<String>,
    transaction_id: Option<String>,
    contflag: Option<&str>,
    unknown_end_above: Option<u64>,
    content_type: Option<&str>,
) -> PyResult<Bound<'py, PyAny>> {
    let py = data.py();
    let body = body_bytes(&data)?;
    let mut builder = ChunkBuilder::send(bytes::Bytes::copy_from_slice(&body));
    builder.method = method.to_string();
    builder.start = start;
    builder.end = end;
    builder.length = length;
    builder.message_id = message_id;
    builder.transaction_id = transaction_id;
    builder.contflag = contflag.map(flag_from_str).transpose()?;
    builder.unknown_end_above = unknown_end_above;
    let mut chunk = builder.build(to_path, from_path);
    if let Err(e @ (EncodeError::LineBreak(_) | EncodeError::BadHeaderName(_))) = chunk.validate() {
        return Err(PyValueError::new_err(format!("cannot encode chunk: {e}")));
    }
    if let Some(content_type) = content_type {
        chunk.headers.append(
            msgwire_core::msrp::header::names::CONTENT_TYPE,
            content_type,
        );
    }
    // ChunkBuilder builds requests only.
    let (method, _, _) = kind_parts(&chunk.kind);
    let method = method.unwrap_or_default();
    let data = if method == "SEND" {
        data
    } else {
        PyBytes::new(py, b"").into_any()
    };
    let headers = Bound::new(py, PyHeaderList::take(chunk.headers))?.into_any();
    new_msrpdata(
        py,
        &chunk.transaction_id,
        Some(&method),
        None,
        None,
        headers,
        data,
        flag_str(chunk.flag),
    )
}

/// Checks an incoming SEND's To-Path and From-Path against a bound
/// session: `None` when they match, else `(code, comment)`: 400 for a
/// missing or unreadable path, 481 for a path naming another session.
/// With `sessmatch`, only the session ids of the first URIs are compared.
#[pyfunction]
pub(crate) fn check_send_paths(
    headers: HeaderPairs,
    local_uri: UriParts,
    expected_from: Vec<UriParts>,
    sessmatch: bool,
) -> Option<(u16, String)> {
    let chunk = build_chunk("", Some("SEND"), None, None, headers.into_vec(), &[]);
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
