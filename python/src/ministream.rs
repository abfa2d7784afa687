//! I2P ministreaming for Python: the native half of `msgwire.ministream`.
//!
//! Translation only: frames, streams, transports and the manager are the
//! core's (`msgwire::ministream`). Destinations and data cross as `bytes`.
//!
//! # Threads and the GIL
//!
//! Every call that can wait (connect, accept, recv, sendall, ping, close,
//! destroy) releases the GIL; none of them calls back into Python, so no
//! core lock is ever held while the GIL is taken.
//!
//! # Errors
//!
//! The exception classes live in `msgwire.ministream` (Python), so that
//! `except ministream.Timeout` and `isinstance(e, TimeoutError)` work:
//!
//! | core error | Python exception |
//! |---|---|
//! | `Refused` | `ConnectionRefused` (a `ConnectionRefusedError`) |
//! | `TimedOut` | `Timeout` (a `TimeoutError`) |
//! | `Reset` | `ConnectionReset` (a `ConnectionResetError`) |
//! | `Closed`, `Destroyed` | `Closed` (an `OSError`) |
//! | `Transport` | `TransportError` (a `ConnectionError`) |
//! | `InvalidDestination`, `Invalid` | `ValueError` |
//! | `Frame` | `ProtocolError` (a `ValueError`) |

use std::time::Duration;

use msgwire_core::ministream::{
    Error as MsError, Frame, FrameType, ManagerConfig, Message, Phase, Role, ServerSocket, Socket,
    SocketManager, SocketOptions, StreamId,
};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict};

use crate::endpoint::seconds;
use crate::tls::{PyTlsClientConfig, PyTlsServerConfig};

pyo3::import_exception!(msgwire.ministream, ConnectionRefused);
pyo3::import_exception!(msgwire.ministream, Timeout);
pyo3::import_exception!(msgwire.ministream, ConnectionReset);
pyo3::import_exception!(msgwire.ministream, Closed);
pyo3::import_exception!(msgwire.ministream, TransportError);
pyo3::import_exception!(msgwire.ministream, ProtocolError);

/// The one conversion from core errors to Python exceptions.
fn py_err(e: MsError) -> PyErr {
    let text = e.to_string();
    match e {
        MsError::Refused => ConnectionRefused::new_err(text),
        MsError::TimedOut => Timeout::new_err(text),
        MsError::Reset => ConnectionReset::new_err(text),
        MsError::Closed | MsError::Destroyed => Closed::new_err(text),
        MsError::Transport(_) => TransportError::new_err(text),
        MsError::Frame(_) => ProtocolError::new_err(text),
        _ => PyValueError::new_err(text),
    }
}

fn opt_seconds(value: Option<f64>, what: &str) -> PyResult<Option<Duration>> {
    value.map(|v| seconds(v, what)).transpose()
}

/// A socket manager (`msgwire.ministream.SocketManager` wraps it).
#[pyclass(name = "MinistreamManager", module = "msgwire._native", frozen)]
pub(crate) struct PyManager {
    manager: SocketManager,
    options: SocketOptions,
}

#[allow(clippy::too_many_arguments)]
fn config(
    connect_timeout: f64,
    read_timeout: Option<f64>,
    write_timeout: Option<f64>,
    buffer_size: usize,
    accept_timeout: f64,
    max_payload: usize,
    accept_backlog: usize,
) -> PyResult<ManagerConfig> {
    if buffer_size == 0 {
        return Err(PyValueError::new_err("buffer_size must be at least 1"));
    }
    let mut c = ManagerConfig::default();
    c.options.connect_timeout = seconds(connect_timeout, "connect_timeout")?;
    c.options.read_timeout = opt_seconds(read_timeout, "read_timeout")?;
    c.options.write_timeout = opt_seconds(write_timeout, "write_timeout")?;
    c.options.buffer_size = buffer_size;
    c.accept_timeout = seconds(accept_timeout, "accept_timeout")?;
    c.max_payload = max_payload;
    c.accept_backlog = accept_backlog;
    Ok(c)
}

#[pymethods]
impl PyManager {
    /// A manager over TCP listening on `address` (`host:port`). With
    /// `tls_server` it accepts only TLS connections; with `tls_client` it
    /// dials with TLS.
    #[staticmethod]
    #[pyo3(signature = (address, connect_timeout=60.0, read_timeout=None, write_timeout=None,
                        buffer_size=65536, accept_timeout=5.0, max_payload=32768,
                        accept_backlog=4096, tls_server=None, tls_client=None))]
    #[allow(clippy::too_many_arguments)]
    fn listen(
        py: Python<'_>,
        address: String,
        connect_timeout: f64,
        read_timeout: Option<f64>,
        write_timeout: Option<f64>,
        buffer_size: usize,
        accept_timeout: f64,
        max_payload: usize,
        accept_backlog: usize,
        tls_server: Option<PyRef<'_, PyTlsServerConfig>>,
        tls_client: Option<PyRef<'_, PyTlsClientConfig>>,
    ) -> PyResult<PyManager> {
        let mut c = config(
            connect_timeout,
            read_timeout,
            write_timeout,
            buffer_size,
            accept_timeout,
            max_payload,
            accept_backlog,
        )?;
        c.tls_server = tls_server.map(|t| t.inner.clone());
        c.tls_client = tls_client.map(|t| t.inner.clone());
        let options = c.options.clone();
        let manager = py
            .detach(move || SocketManager::listen_tcp(address.as_str(), c))
            .map_err(py_err)?;
        Ok(PyManager { manager, options })
    }

    /// Two in-memory managers that reach each other.
    #[staticmethod]
    #[pyo3(signature = (connect_timeout=60.0, read_timeout=None, write_timeout=None,
                        buffer_size=65536, accept_timeout=5.0, max_payload=32768,
                        accept_backlog=4096))]
    #[allow(clippy::too_many_arguments)]
    fn in_memory_pair(
        py: Python<'_>,
        connect_timeout: f64,
        read_timeout: Option<f64>,
        write_timeout: Option<f64>,
        buffer_size: usize,
        accept_timeout: f64,
        max_payload: usize,
        accept_backlog: usize,
    ) -> PyResult<(PyManager, PyManager)> {
        let c = config(
            connect_timeout,
            read_timeout,
            write_timeout,
            buffer_size,
            accept_timeout,
            max_payload,
            accept_backlog,
        )?;
        let options = c.options.clone();
        let (a, b) = py
            .detach(move || SocketManager::in_memory_pair(c))
            .map_err(py_err)?;
        Ok((
            PyManager {
                manager: a,
                options: options.clone(),
            },
            PyManager {
                manager: b,
                options,
            },
        ))
    }

    /// This manager's destination.
    #[getter]
    fn destination<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, self.manager.destination())
    }

    /// Opens a stream and waits for the peer to accept it.
    #[pyo3(signature = (destination, timeout=None))]
    fn connect(
        &self,
        py: Python<'_>,
        destination: &[u8],
        timeout: Option<f64>,
    ) -> PyResult<PySocket> {
        let mut options = self.options.clone();
        if let Some(t) = opt_seconds(timeout, "timeout")? {
            options.connect_timeout = t;
        }
        let socket = py
            .detach(|| self.manager.connect(destination, &options))
            .map_err(py_err)?;
        Ok(PySocket::new(socket))
    }

    /// Opens a stream without waiting for the peer's acceptance: writes
    /// are held until it comes (see `SocketManager::open`).
    fn open(&self, py: Python<'_>, destination: &[u8]) -> PyResult<PySocket> {
        let socket = py
            .detach(|| self.manager.open(destination, &self.options))
            .map_err(py_err)?;
        Ok(PySocket::new(socket))
    }

    /// The server socket (created on first call).
    fn server_socket(&self) -> PyResult<PyServerSocket> {
        let server = self.manager.server_socket().map_err(py_err)?;
        Ok(PyServerSocket { server })
    }

    /// Whether `destination` is reachable within `timeout` seconds.
    fn ping(&self, py: Python<'_>, destination: &[u8], timeout: f64) -> PyResult<bool> {
        let timeout = seconds(timeout, "timeout")?;
        py.detach(|| self.manager.ping(destination, timeout))
            .map_err(py_err)
    }

    /// Open streams as `(role, local_id, remote_id, peer_destination,
    /// phase)` tuples.
    #[allow(clippy::type_complexity)]
    fn list_sockets<'py>(
        &self,
        py: Python<'py>,
    ) -> Vec<(
        &'static str,
        u32,
        Option<u32>,
        Bound<'py, PyBytes>,
        &'static str,
    )> {
        self.manager
            .list_sockets()
            .into_iter()
            .map(|info| {
                (
                    match info.role {
                        Role::Client => "client",
                        Role::Server => "server",
                    },
                    info.local_id.get(),
                    info.remote_id.map(StreamId::get),
                    PyBytes::new(py, &info.peer_destination),
                    match info.phase {
                        Phase::SynSent => "syn_sent",
                        Phase::AcceptPending => "accept_pending",
                        Phase::Established => "established",
                        Phase::Closed => "closed",
                    },
                )
            })
            .collect()
    }

    /// Counts of dropped frames, as a dict.
    fn stats<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let s = self.manager.stats();
        let d = PyDict::new(py);
        d.set_item("malformed", s.malformed)?;
        d.set_item("unknown_type", s.unknown_type)?;
        d.set_item("unknown_stream", s.unknown_stream)?;
        d.set_item("pings", s.pings)?;
        d.set_item("framing_errors", s.framing_errors)?;
        Ok(d)
    }

    /// Closes every stream and connection (see `SocketManager::destroy`).
    fn destroy(&self, py: Python<'_>) {
        py.detach(|| self.manager.destroy());
    }

    /// Whether `destroy` has run.
    #[getter]
    fn destroyed(&self) -> bool {
        self.manager.is_destroyed()
    }
}

impl Drop for PyManager {
    fn drop(&mut self) {
        // The core's Drop destroys; do it without the GIL (it joins threads).
        if !self.manager.is_destroyed() {
            Python::attach(|py| py.detach(|| self.manager.destroy()));
        }
    }
}

/// The server socket of a manager.
#[pyclass(name = "MinistreamServerSocket", module = "msgwire._native", frozen)]
pub(crate) struct PyServerSocket {
    server: ServerSocket,
}

#[pymethods]
impl PyServerSocket {
    /// Waits for an incoming stream (`None`: without a time limit).
    #[pyo3(signature = (timeout=None))]
    fn accept(&self, py: Python<'_>, timeout: Option<f64>) -> PyResult<PySocket> {
        let timeout = opt_seconds(timeout, "timeout")?;
        let socket = py.detach(|| self.server.accept(timeout)).map_err(py_err)?;
        Ok(PySocket::new(socket))
    }

    /// Stops accepting; waiting and later incoming streams are refused.
    fn close(&self, py: Python<'_>) {
        py.detach(|| self.server.close());
    }
}

/// One stream.
#[pyclass(name = "MinistreamSocket", module = "msgwire._native", frozen)]
pub(crate) struct PySocket {
    socket: Socket,
}

impl PySocket {
    fn new(socket: Socket) -> PySocket {
        PySocket { socket }
    }
}

#[pymethods]
impl PySocket {
    /// Writes all of `data`.
    fn sendall(&self, py: Python<'_>, data: &[u8]) -> PyResult<()> {
        py.detach(|| self.socket.write_bytes(data)).map_err(py_err)
    }

    /// Reads at most `n` bytes; `b""` at the end of the stream.
    ///
    /// Waits without the GIL for the received payloads themselves
    /// (`Socket::read_chunks`, no copy), then copies them once, into the
    /// new `bytes` object.
    fn recv<'py>(&self, py: Python<'py>, n: usize) -> PyResult<Bound<'py, PyBytes>> {
        let n = n.min(MAX_RECV);
        let chunks = py.detach(|| self.socket.read_chunks(n)).map_err(py_err)?;
        if let [one] = &chunks[..] {
            return Ok(PyBytes::new(py, one));
        }
        let total = chunks.iter().map(|c| c.len()).sum();
        PyBytes::new_with(py, total, |out| {
            let mut at = 0;
            for chunk in &chunks {
                out[at..at + chunk.len()].copy_from_slice(chunk);
                at += chunk.len();
            }
            Ok(())
        })
    }

    /// Closes the stream.
    fn close(&self, py: Python<'_>) {
        py.detach(|| self.socket.close());
    }

    /// Sets the read and write timeouts (seconds; `None` waits forever).
    fn settimeout(&self, timeout: Option<f64>) -> PyResult<()> {
        let t = opt_seconds(timeout, "timeout")?;
        self.socket.set_read_timeout(t);
        self.socket.set_write_timeout(t);
        Ok(())
    }

    /// The read timeout in seconds, or `None`.
    fn gettimeout(&self) -> Option<f64> {
        self.socket.read_timeout().map(|d| d.as_secs_f64())
    }

    /// The peer's destination.
    #[getter]
    fn peer_destination<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, &self.socket.peer_destination())
    }

    /// This manager's destination.
    #[getter]
    fn local_destination<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, &self.socket.local_destination())
    }

    /// Our stream id.
    #[getter]
    fn local_id(&self) -> u32 {
        self.socket.local_id().get()
    }

    /// The peer's stream id, once known.
    #[getter]
    fn remote_id(&self) -> Option<u32> {
        self.socket.remote_id().map(StreamId::get)
    }

    /// Data bytes written so far.
    #[getter]
    fn bytes_sent(&self) -> u64 {
        self.socket.bytes_sent()
    }

    /// Data bytes read so far.
    #[getter]
    fn bytes_received(&self) -> u64 {
        self.socket.bytes_received()
    }
}

/// Encodes a frame: type byte, 3-byte id, payload (no length prefix).
/// Raises `ValueError` for a type outside 0..=255 or an id outside
/// 1..=0xFFFFFF.
#[pyfunction]
pub(crate) fn ministream_frame_encode<'py>(
    py: Python<'py>,
    kind: u8,
    id: u32,
    payload: &[u8],
) -> PyResult<Bound<'py, PyBytes>> {
    let id = StreamId::new(id).ok_or_else(|| PyValueError::new_err("id must be 1..=0xFFFFFF"))?;
    let kind = FrameType::from_byte(kind).unwrap_or(FrameType::Unknown(kind));
    let frame = Frame::new(kind, id, bytes::Bytes::copy_from_slice(payload));
    Ok(PyBytes::new(py, &frame.to_bytes()))
}

/// Decodes one frame into `(type, id, payload)`. The ping probe `FF` and
/// chaff give `(0xFF, 0, b"")`. Raises `ProtocolError` for bytes that are
/// not a frame.
#[pyfunction]
pub(crate) fn ministream_frame_decode<'py>(
    py: Python<'py>,
    data: &[u8],
) -> PyResult<(u8, u32, Bound<'py, PyBytes>)> {
    match Message::decode_slice(data).map_err(|e| py_err(e.into()))? {
        Message::Frame(f) => Ok((f.kind.to_byte(), f.id.get(), PyBytes::new(py, &f.payload))),
        Message::Ping | Message::Chaff => Ok((0xFF, 0, PyBytes::new(py, b""))),
    }
}

/// Most bytes one `recv` returns, whatever `n` asks for: 4 MiB.
const MAX_RECV: usize = 4 << 20;
