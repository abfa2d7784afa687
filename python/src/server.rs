//! `Server`: the native half of `msrplib.connect.MSRPServer`, one set of
//! listening sockets shared by many passive sessions (core
//! [`MsrpServer`]).
//!
//! The core server fixes its [`BindOptions`] (timeouts, sessmatch) when it
//! is made. To read the timeouts as late as the legacy library did, this
//! class makes its core server only at the first `prepare`, with the
//! timeouts handed to that call; `close` drops it, and the next `prepare`
//! starts a new one (with the then-current timeouts), as a legacy server
//! could listen again after `close`.
//!
//! Every call that can block (binding a listener, waiting for a peer,
//! answering refused bindings, joining the server's threads) releases the
//! GIL. The core server's threads never call Python.
//!
//! Errors are the usual conversions ([`crate::errors`]) except for the
//! core's `Closed`, which here means one of two things:
//!
//! | situation | Python exception |
//! |---|---|
//! | the server was closed while (or before) the call ran | `msrplib.transport.ConnectionDone` |
//! | `complete_for` names a local URI that is not expected (never prepared, cleaned up, or already bound) | `msrplib.transport.MSRPNoSuchSessionError` |

use std::sync::{Arc, Mutex};

use msgwire_core::msrp::endpoint::Error;
use msgwire_core::msrp::server::MsrpServer;
use msgwire_core::msrp::Uri;
use pyo3::exceptions::{PyRuntimeError, PyValueError};
use pyo3::prelude::*;

use crate::endpoint::{bind_options, lock, PyBoundTransport};
use crate::errors::{ConnectionDone, CoreError, MSRPNoSuchSessionError};
use crate::tls::PyTlsServerConfig;
use crate::uri::{from_parts, to_parts, UriParts};

/// Many passive sessions behind shared listening sockets.
#[pyclass(name = "Server", module = "msgwire._native")]
pub(crate) struct PyServer {
    use_sessmatch: bool,
    /// The running core server; `None` before the first `prepare` and
    /// after `close`.
    server: Mutex<Option<Arc<MsrpServer>>>,
}

impl PyServer {
    /// The running core server, for calls that need one.
    fn running(&self) -> PyResult<Arc<MsrpServer>> {
        lock(&self.server)
            .clone()
            .ok_or_else(|| PyRuntimeError::new_err("prepare() must be called first"))
    }

    /// Whether `server` is still the running one (not closed by `close`).
    fn is_running(&self, server: &Arc<MsrpServer>) -> bool {
        lock(&self.server)
            .as_ref()
            .is_some_and(|s| Arc::ptr_eq(s, server))
    }

    fn error(&self, server: &Arc<MsrpServer>, e: Error) -> PyErr {
        match e {
            Error::Closed if self.is_running(server) => MSRPNoSuchSessionError::new_err(
                "no session is expected for this local URI (not prepared, cleaned up or already bound)",
            ),
            Error::Closed => ConnectionDone::new_err("the MSRP server was closed"),
            e => CoreError::from(e).into(),
        }
    }

    fn remote_path(full_remote_path: Vec<UriParts>) -> PyResult<Vec<Uri>> {
        if full_remote_path.is_empty() {
            return Err(PyValueError::new_err("the remote path is empty"));
        }
        Ok(full_remote_path.into_iter().map(from_parts).collect())
    }
}

#[pymethods]
impl PyServer {
    #[new]
    #[pyo3(signature = (use_sessmatch=false))]
    fn new(use_sessmatch: bool) -> Self {
        PyServer {
            use_sessmatch,
            server: Mutex::new(None),
        }
    }

    /// Registers `local_uri` as expected, listening on its host and port
    /// unless the server already does (port 0 or none: the port the
    /// server already listens on for that host, else any free port).
    /// Returns the full local path as URI parts.
    ///
    /// The timeouts are used only when this call starts the core server
    /// (the first `prepare`, or the first after `close`).
    ///
    /// `server_tls`, when given, becomes the certificate every `msrps`
    /// listener of this server presents from now on.
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
        let server = {
            let mut slot = lock(&self.server);
            match &*slot {
                Some(server) => server.clone(),
                None => {
                    let options = bind_options(
                        self.use_sessmatch,
                        connect_timeout,
                        incoming_timeout,
                        bind_timeout,
                    )?;
                    let server = Arc::new(MsrpServer::new(options));
                    *slot = Some(server.clone());
                    server
                }
            }
        };
        if let Some(tls) = server_tls {
            server.set_tls(tls.inner.clone());
        }
        let local_uri = local_uri.map(from_parts);
        let path = {
            let server = server.clone();
            py.detach(move || server.prepare(local_uri))
        }
        .map_err(|e| self.error(&server, e))?;
        Ok(path.into_iter().map(to_parts).collect())
    }

    /// Waits (without the GIL) for a binding whose From-Path is
    /// `full_remote_path` on any expected local URI, answers it 200 and
    /// returns it. The local URI it bound is no longer expected.
    fn complete(
        &self,
        py: Python<'_>,
        full_remote_path: Vec<UriParts>,
    ) -> PyResult<PyBoundTransport> {
        let remote = Self::remote_path(full_remote_path)?;
        let server = self.running()?;
        let bound = {
            let server = server.clone();
            py.detach(move || server.complete(&remote))
        }
        .map_err(|e| self.error(&server, e))?;
        Ok(PyBoundTransport::new(bound))
    }

    /// Waits (without the GIL) for the binding of `local_uri` and checks its
    /// From-Path against `full_remote_path` as a direct acceptor does: a
    /// mismatch is answered 481 and raises `MSRPNoSuchSessionError`
    /// (`local_uri` stays expected).
    fn complete_for(
        &self,
        py: Python<'_>,
        local_uri: UriParts,
        full_remote_path: Vec<UriParts>,
    ) -> PyResult<PyBoundTransport> {
        let remote = Self::remote_path(full_remote_path)?;
        let local = from_parts(local_uri);
        let server = self.running()?;
        let bound = {
            let server = server.clone();
            py.detach(move || server.complete_for(&local, &remote))
        }
        .map_err(|e| self.error(&server, e))?;
        Ok(PyBoundTransport::new(bound))
    }

    /// Stops expecting `local_uri`: connections parked for it, and later
    /// ones naming it, are answered 481. Unknown URIs are ignored.
    fn cleanup(&self, py: Python<'_>, local_uri: UriParts) {
        let local = from_parts(local_uri);
        if let Some(server) = lock(&self.server).clone() {
            py.detach(move || server.cleanup(&local));
        }
    }

    /// Stops listening, drops connections still being bound, fails waiting
    /// `complete` calls with `ConnectionDone` and joins the server's
    /// threads (without the GIL). Sessions already bound are not affected.
    /// Idempotent; a later `prepare` starts a new server.
    fn close(&self, py: Python<'_>) {
        let server = lock(&self.server).take();
        if let Some(server) = server {
            py.detach(move || {
                server.close();
                drop(server);
            });
        }
    }

    /// The local URIs currently expected, as URI parts.
    fn expected(&self) -> Vec<UriParts> {
        let server = lock(&self.server).clone();
        server
            .map(|s| s.expected().into_iter().map(to_parts).collect())
            .unwrap_or_default()
    }

    /// The `(ip, port)` addresses the server listens on.
    fn local_addresses(&self) -> Vec<(String, u16)> {
        let server = lock(&self.server).clone();
        server
            .map(|s| {
                s.local_addrs()
                    .into_iter()
                    .map(|a| (a.ip().to_string(), a.port()))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// `(connect, incoming_connect, bind)` timeouts in seconds of the
    /// running server, or `None` before the first `prepare` and after
    /// `close`.
    #[getter]
    fn timeouts(&self) -> Option<(f64, f64, f64)> {
        lock(&self.server).as_ref().map(|s| {
            let t = &s.options().timeouts;
            (
                t.connect.as_secs_f64(),
                t.incoming_connect.as_secs_f64(),
                t.bind.as_secs_f64(),
            )
        })
    }
}
