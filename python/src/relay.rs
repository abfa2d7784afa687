//! `msrplib.connect.RelayConnection`'s native half: a core
//! [`RelayConnection`] (AUTH with digest, SRV discovery, binding through
//! the relay). Translation only; every blocking call releases the GIL.
//!
//! Errors become the legacy exceptions: a refused AUTH
//! `MSRPRelayAuthError` (with `code` and `comment`), no answer to AUTH
//! `MSRPAuthTimeout`, no relay reachable (connection refused or timed
//! out, nothing found in DNS) `MSRPRelayConnectTimeout`; binding errors
//! as for direct connections.

use std::net::SocketAddr;
use std::sync::Mutex;

use msgwire_core::msrp::endpoint::BindOptions;
use msgwire_core::msrp::relay::{legacy_digest, Mode, RelayConnection, RelayError, RelaySettings};
use msgwire_core::msrp::Uri;
use pyo3::exceptions::{PyRuntimeError, PyValueError};
use pyo3::prelude::*;

use crate::endpoint::{bind_options, lock, seconds, PyBoundTransport};
use crate::errors::CoreError;
use crate::tls::PyTlsClientConfig;
use crate::uri::{from_parts, to_parts, UriParts};

pyo3::import_exception!(msrplib.connect, MSRPRelayConnectTimeout);
pyo3::import_exception!(msrplib.connect, MSRPRelayAuthError);
pyo3::import_exception!(msrplib.connect, MSRPAuthTimeout);
pyo3::import_exception!(msrplib.digest, LoginFailed);

fn relay_error(e: RelayError) -> PyErr {
    let text = e.to_string();
    match e {
        RelayError::AuthRejected { code, comment } => {
            MSRPRelayAuthError::new_err((comment.unwrap_or(text), code))
        }
        RelayError::AuthTimeout(_) => MSRPAuthTimeout::new_err(()),
        RelayError::ConnectTimeout(_) | RelayError::Discovery(_) => {
            MSRPRelayConnectTimeout::new_err(text)
        }
        RelayError::Endpoint(e @ msgwire_core::msrp::endpoint::Error::Connect { .. }) => {
            MSRPRelayConnectTimeout::new_err(e.to_string())
        }
        RelayError::Endpoint(e) => CoreError::from(e).into(),
        RelayError::BadDigest(_) | RelayError::BadResponse(_) => {
            MSRPRelayAuthError::new_err((text, 400))
        }
        RelayError::NotPrepared => PyRuntimeError::new_err(text),
    }
}

/// A relay connection (`active`: sends the bind SEND; else waits for it).
#[pyclass(name = "RelayConnector", module = "msgwire._native")]
pub(crate) struct PyRelayConnector {
    inner: Mutex<Option<RelayConnection>>,
}

#[pymethods]
impl PyRelayConnector {
    /// `nameservers`: `(host, port)` pairs for discovery (`None`:
    /// /etc/resolv.conf); `tls`: what the relay is verified against when
    /// `use_tls`; `expires`: reservation seconds to ask for (`None`: no
    /// Expires header).
    #[new]
    #[pyo3(signature = (domain, username, password, host=None, port=None, use_tls=false, active=true, use_sessmatch=false, tls=None, nameservers=None, expires=None))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        domain: &str,
        username: &str,
        password: &str,
        host: Option<String>,
        port: Option<u16>,
        use_tls: bool,
        active: bool,
        use_sessmatch: bool,
        tls: Option<PyRef<'_, PyTlsClientConfig>>,
        nameservers: Option<Vec<(String, u16)>>,
        expires: Option<u32>,
    ) -> PyResult<Self> {
        let mut s = RelaySettings::new(domain, username, password);
        s.host = host;
        s.port = port;
        s.use_tls = use_tls;
        s.tls = tls.map(|t| t.inner.clone());
        s.expires = expires;
        if let Some(list) = nameservers {
            let mut addrs = Vec::new();
            for (h, p) in list {
                let ip = h
                    .parse()
                    .map_err(|_| PyValueError::new_err(format!("bad nameserver address {h:?}")))?;
                addrs.push(SocketAddr::new(ip, p));
            }
            s.nameservers = Some(addrs);
        }
        let mode = if active { Mode::Active } else { Mode::Passive };
        let options = BindOptions {
            use_sessmatch,
            ..BindOptions::default()
        };
        Ok(PyRelayConnector {
            inner: Mutex::new(Some(RelayConnection::new(s, mode, options))),
        })
    }

    /// Connects to the relay, authenticates and returns the full local
    /// path as URI parts. `auth_timeout`: seconds for each answer to AUTH.
    fn prepare(
        &self,
        py: Python<'_>,
        local_uri: Option<UriParts>,
        connect_timeout: f64,
        auth_timeout: f64,
        bind_timeout: f64,
    ) -> PyResult<Vec<UriParts>> {
        let mut conn = lock(&self.inner)
            .take()
            .ok_or_else(|| PyRuntimeError::new_err("the relay connection is in use"))?;
        *conn.options_mut() = bind_options(
            conn.options_mut().use_sessmatch,
            connect_timeout,
            connect_timeout,
            bind_timeout,
        )?;
        conn.settings_mut().auth_timeout = seconds(auth_timeout, "the AUTH timeout")?;
        let local: Option<Uri> = local_uri.map(from_parts);
        let (conn, path) = py.detach(move || {
            let path = conn.prepare(local);
            (conn, path)
        });
        *lock(&self.inner) = Some(conn);
        Ok(path
            .map_err(relay_error)?
            .into_iter()
            .map(to_parts)
            .collect())
    }

    /// Binds through the relay; returns the bound transport.
    fn complete(
        &self,
        py: Python<'_>,
        full_remote_path: Vec<UriParts>,
        bind_timeout: f64,
    ) -> PyResult<PyBoundTransport> {
        let remote: Vec<Uri> = full_remote_path.into_iter().map(from_parts).collect();
        if remote.is_empty() {
            return Err(PyValueError::new_err("the remote path is empty"));
        }
        let mut conn = lock(&self.inner)
            .take()
            .ok_or_else(|| PyRuntimeError::new_err("the relay connection is in use"))?;
        conn.options_mut().timeouts.bind = seconds(bind_timeout, "the bind timeout")?;
        let (conn, bound) = py.detach(move || {
            let bound = conn.complete(&remote);
            (conn, bound)
        });
        *lock(&self.inner) = Some(conn);
        Ok(PyBoundTransport::new(bound.map_err(relay_error)?))
    }

    /// Drops the relay connection of a `prepare` that will not be
    /// completed.
    fn cleanup(&self) {
        if let Some(conn) = lock(&self.inner).as_mut() {
            conn.cleanup();
        }
    }

    /// Whether the relay needed the digest `uri` left out (learnt during
    /// `prepare`).
    #[getter]
    fn omits_digest_uri(&self) -> bool {
        lock(&self.inner)
            .as_ref()
            .is_some_and(|c| c.settings().omit_digest_uri)
    }
}

/// `MD5(username:realm:password)` (legacy `calc_ha1`).
#[pyfunction]
pub(crate) fn digest_ha1(username: &str, realm: &str, password: &str) -> String {
    msgwire_core::msrp::relay::digest::ha1(username, realm, password)
}

/// `MD5(method:uri)`; `method=""` gives the HA2 of `rspauth`.
#[pyfunction]
pub(crate) fn digest_ha2(method: &str, uri: &str) -> String {
    legacy_digest::ha2(method, uri)
}

/// `MD5(ha1:nonce:nc:cnonce:auth:ha2)` (legacy `calc_hash`).
#[pyfunction]
pub(crate) fn digest_hash(ha1: &str, nonce: &str, nc: &str, cnonce: &str, ha2: &str) -> String {
    legacy_digest::auth_hash(ha1, nonce, nc, cnonce, ha2)
}

/// The legacy `AuthChallenger`'s native half: IP-bound nonces.
#[pyclass(name = "DigestChallenger", module = "msgwire._native")]
pub(crate) struct PyDigestChallenger {
    inner: legacy_digest::IpChallenger,
}

#[pymethods]
impl PyDigestChallenger {
    #[new]
    fn new(expire_time: f64) -> PyResult<Self> {
        let lifetime = std::time::Duration::try_from_secs_f64(expire_time)
            .map_err(|_| PyValueError::new_err("expire_time must be a non-negative number"))?;
        Ok(PyDigestChallenger {
            inner: legacy_digest::IpChallenger::new(lifetime),
        })
    }

    /// `(realm, qop, nonce, opaque)`.
    fn challenge(&self, realm: &str, peer_ip: &str) -> (String, String, String, String) {
        let c = self.inner.challenge(realm, peer_ip);
        (c.realm, c.qop, c.nonce, c.opaque)
    }

    /// `(qop, cnonce, nc, rspauth)`; a refused answer raises
    /// `msrplib.digest.LoginFailed` with the legacy message.
    #[allow(clippy::too_many_arguments)]
    fn check(
        &self,
        ha1: &str,
        method: &str,
        uri: &str,
        peer_ip: &str,
        nonce: &str,
        opaque: &str,
        response: &str,
        nc: &str,
        cnonce: &str,
    ) -> PyResult<(String, String, String, String)> {
        let answer = legacy_digest::Answer {
            nonce,
            opaque,
            response,
            nc,
            cnonce,
        };
        self.inner
            .check(ha1, method, uri, peer_ip, &answer)
            .map(|i| (i.qop, i.cnonce, i.nc, i.rspauth))
            .map_err(|e| LoginFailed::new_err(e.to_string()))
    }
}
