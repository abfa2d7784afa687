//! TLS configurations for `msrps` (the native half of `msrplib.tls`).
//!
//! `X509Credentials` in Python reads PEM text from wherever the caller
//! keeps it and hands bytes here; this module only builds the core's
//! [`TlsServerConfig`] / [`TlsClientConfig`] from them. Both are cheap to
//! clone and shared by every connection made with them.

use msgwire_core::net::tls::{TlsClientConfig, TlsError, TlsServerConfig};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

fn config_error(e: TlsError) -> PyErr {
    PyValueError::new_err(format!("invalid TLS credentials: {e}"))
}

/// What a listening `msrps` endpoint presents: certificate chain and key.
#[pyclass(name = "TlsServerConfig", module = "msgwire._native", frozen)]
pub(crate) struct PyTlsServerConfig {
    pub(crate) inner: TlsServerConfig,
}

/// What a connecting `msrps` endpoint trusts.
#[pyclass(name = "TlsClientConfig", module = "msgwire._native", frozen)]
pub(crate) struct PyTlsClientConfig {
    pub(crate) inner: TlsClientConfig,
}

#[pymethods]
impl PyTlsClientConfig {
    /// `False` only for a configuration made with `verify=False`.
    #[getter]
    fn verifies(&self) -> bool {
        self.inner.verifies_certificates()
    }
}

/// A server configuration from PEM: the certificate chain (leaf first) and
/// its private key. Raises `ValueError` when either does not parse or they
/// do not belong together.
#[pyfunction]
pub(crate) fn tls_server_config(cert_pem: &[u8], key_pem: &[u8]) -> PyResult<PyTlsServerConfig> {
    TlsServerConfig::from_pem(cert_pem, key_pem)
        .map(|inner| PyTlsServerConfig { inner })
        .map_err(config_error)
}

/// A client configuration: with `verify`, servers must present a
/// certificate chaining to one of the CAs in `ca_pem` (required: without
/// any, no server could be trusted); without it, any certificate is taken
/// (self-signed test setups only) and `ca_pem` is ignored.
#[pyfunction]
#[pyo3(signature = (ca_pem, verify))]
pub(crate) fn tls_client_config(
    ca_pem: Option<&[u8]>,
    verify: bool,
) -> PyResult<PyTlsClientConfig> {
    let inner = match (verify, ca_pem) {
        (false, _) => TlsClientConfig::danger_accept_any_certificate(),
        (true, Some(pem)) if !pem.is_empty() => TlsClientConfig::with_ca_pem(pem),
        (true, _) => {
            return Err(PyValueError::new_err(
                "verifying the peer needs trusted CA certificates (or verify_peer=False)",
            ))
        }
    };
    inner
        .map(|inner| PyTlsClientConfig { inner })
        .map_err(config_error)
}
