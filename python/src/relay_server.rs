//! `msgwire.relay.Relay`'s native half: a core
//! [`Relay`](msgwire_core::msrp::relay_server::Relay) started from Python
//! values. Translation only; starting and closing release the GIL.
//!
//! Errors: a users file or certificate that cannot be read, or an address
//! that cannot be bound, is `OSError`; a configuration that cannot work
//! (no listener, bad bounds, a malformed users file or address) is
//! `ValueError`.

use std::net::{SocketAddr, ToSocketAddrs};
use std::sync::Mutex;

use msgwire_core::msrp::relay_server::{
    ExpiresBounds, Relay, RelayConfig, RelayServerError, Users, UsersError,
};
use msgwire_core::net::TlsServerConfig;
use pyo3::exceptions::{PyOSError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::endpoint::lock;

fn address(what: &str, text: &str) -> PyResult<SocketAddr> {
    text.to_socket_addrs()
        .map_err(|e| PyValueError::new_err(format!("{what} {text:?}: {e}")))?
        .next()
        .ok_or_else(|| PyValueError::new_err(format!("{what} {text:?}: no address")))
}

fn users_error(path: &str, e: UsersError) -> PyErr {
    match e {
        UsersError::Io(io) => PyOSError::new_err(format!("{path}: {io}")),
        UsersError::Syntax { .. } => PyValueError::new_err(format!("{path}: {e}")),
    }
}

fn start_error(e: RelayServerError) -> PyErr {
    match e {
        RelayServerError::Io { .. } => PyOSError::new_err(e.to_string()),
        RelayServerError::Config(_) => PyValueError::new_err(e.to_string()),
    }
}

/// A running MSRP relay.
#[pyclass(name = "RelayServer", module = "msgwire._native")]
pub(crate) struct PyRelayServer {
    inner: Mutex<Option<Relay>>,
    addrs: [Option<String>; 3],
}

#[pymethods]
impl PyRelayServer {
    /// Starts a relay. `users`: path of the users file; `listen`,
    /// `plain_tcp`, `status`: `"host:port"`; `tls`: `(cert_path,
    /// key_path)` PEM files for `listen`; `expires`: `(min, default,
    /// max)` seconds; `transaction_timeout`: seconds.
    #[new]
    #[pyo3(signature = (users, realm, listen=None, tls=None, plain_tcp=None, status=None, expires=(60, 600, 3600), transaction_timeout=30.0))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        users: &str,
        realm: &str,
        listen: Option<&str>,
        tls: Option<(String, String)>,
        plain_tcp: Option<&str>,
        status: Option<&str>,
        expires: (u32, u32, u32),
        transaction_timeout: f64,
    ) -> PyResult<Self> {
        let table = Users::from_file(users).map_err(|e| users_error(users, e))?;
        let mut c = RelayConfig::new(realm, table);
        c.listen = listen.map(|l| address("listen", l)).transpose()?;
        if let Some((cert, key)) = tls {
            c.tls = Some(
                TlsServerConfig::from_pem_files(&cert, &key)
                    .map_err(|e| PyOSError::new_err(format!("tls: {e}")))?,
            );
        }
        c.plain_tcp = plain_tcp.map(|a| address("plain_tcp", a)).transpose()?;
        c.status = status.map(|a| address("status", a)).transpose()?;
        let (min, default, max) = expires;
        c.expires = ExpiresBounds { min, default, max };
        if !(transaction_timeout.is_finite() && transaction_timeout > 0.0) {
            return Err(PyValueError::new_err(
                "transaction_timeout must be positive",
            ));
        }
        c.transaction_timeout = std::time::Duration::from_secs_f64(transaction_timeout);
        let relay = py.detach(move || Relay::start(c)).map_err(start_error)?;
        let s = |a: Option<SocketAddr>| a.map(|a| a.to_string());
        let addrs = [
            s(relay.tls_addr()),
            s(relay.plain_addr()),
            s(relay.status_addr()),
        ];
        Ok(PyRelayServer {
            inner: Mutex::new(Some(relay)),
            addrs,
        })
    }

    /// The bound TLS address, `"host:port"`, or None.
    #[getter]
    fn tls_address(&self) -> Option<String> {
        self.addrs[0].clone()
    }

    /// The bound plain TCP address, or None.
    #[getter]
    fn plain_tcp_address(&self) -> Option<String> {
        self.addrs[1].clone()
    }

    /// The bound status server address, or None.
    #[getter]
    fn status_address(&self) -> Option<String> {
        self.addrs[2].clone()
    }

    /// The counters as a dict of int (empty once closed).
    fn counters<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        if let Some(r) = lock(&self.inner).as_ref() {
            for (k, v) in r.counters().named() {
                d.set_item(k, v)?;
            }
        }
        Ok(d)
    }

    /// The reservations: a list of dicts (`user`, `session_id`, `uri`,
    /// `client`, `peer`, `expires` in seconds, `bytes`).
    fn reservations<'py>(&self, py: Python<'py>) -> PyResult<Vec<Bound<'py, PyDict>>> {
        let list = lock(&self.inner)
            .as_ref()
            .map(Relay::reservations)
            .unwrap_or_default();
        list.into_iter()
            .map(|r| {
                let d = PyDict::new(py);
                d.set_item("user", r.user)?;
                d.set_item("session_id", r.session_id)?;
                d.set_item("uri", r.uri)?;
                d.set_item("client", r.client)?;
                d.set_item("peer", r.peer.to_string())?;
                d.set_item("expires", r.expires_in.as_secs_f64())?;
                d.set_item("bytes", r.bytes)?;
                Ok(d)
            })
            .collect()
    }

    /// Shuts the relay down gracefully (idempotent).
    fn close(&self, py: Python<'_>) {
        let relay = lock(&self.inner).take();
        if let Some(relay) = relay {
            py.detach(move || relay.shutdown());
        }
    }

    /// Whether `close` has run.
    #[getter]
    fn closed(&self) -> bool {
        lock(&self.inner).is_none()
    }
}
