//! TLS configurations for C (what `msrps` URIs run over), wrapping
//! `msgwire::net::{TlsServerConfig, TlsClientConfig}`.
//!
//! # Objects
//!
//! * `msgwire_tls_server_config` — a certificate chain and its private key,
//!   for the side that accepts connections (acceptor, server).
//! * `msgwire_tls_client_config` — the certificate authorities a connector
//!   trusts. Certificates are verified by default; the one way to turn that
//!   off, `msgwire_tls_client_config_insecure`, says so in its name.
//!
//! # Ownership
//!
//! A configuration is an immutable value. The functions that attach one to
//! a connector, acceptor or server (`msgwire_msrp_*_set_tls`) take their own
//! reference to it, so the caller may free its handle right after the call
//! and may attach one configuration to any number of objects. That is also
//! why the handles can be read from several threads at once.
//!
//! # No built-in trust store
//!
//! As in the core, there is no default set of certificate authorities:
//! which ones to trust is the application's decision, made explicit by the
//! CA PEM it passes.

use std::ffi::c_char;

use msgwire_core::net::{TlsClientConfig, TlsServerConfig};

use crate::error::msgwire_status;
use crate::guard::{
    arg_bytes, arg_out, arg_ref, arg_str, free_handle, guard, guard_value, new_handle,
};

// ================================================================== server

/// What a TLS server presents: a certificate chain and its private key.
///
/// Created by `msgwire_tls_server_config_from_pem` or
/// `msgwire_tls_server_config_from_files`, released by
/// `msgwire_tls_server_config_free`. Immutable: several threads may use it
/// at once. Attach it with `msgwire_msrp_acceptor_set_tls`,
/// `msgwire_msrp_server_set_tls` or `msgwire_sr_server_bind_tls`, which
/// keep their own reference.
pub struct msgwire_tls_server_config {
    pub(crate) config: TlsServerConfig,
}

/// Builds a server configuration from PEM text: `cert_pem[0..cert_len]`
/// holds the server's certificate first, then any intermediates;
/// `key_pem[0..key_len]` holds its private key (PKCS#8, PKCS#1 or SEC1).
/// Both are copied; they need not be NUL-terminated. Client certificates
/// are not requested.
///
/// On success `*out` receives a new configuration to release with
/// `msgwire_tls_server_config_free`. Failures: `MSGWIRE_TLS_BAD_PEM`,
/// `MSGWIRE_TLS_NO_CERTIFICATES`, `MSGWIRE_TLS_NO_PRIVATE_KEY`, and
/// `MSGWIRE_TLS_CONFIG` for a key that does not match the certificate or
/// is of an unsupported type.
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_tls_server_config_from_pem(
    cert_pem: *const u8,
    cert_len: usize,
    key_pem: *const u8,
    key_len: usize,
    out: *mut *mut msgwire_tls_server_config,
) -> msgwire_status {
    guard(|| {
        // SAFETY: readable byte ranges and a writable out-pointer, per the
        // header.
        let (cert, key, out) = unsafe {
            (
                arg_bytes(cert_pem, cert_len, "cert_pem")?,
                arg_bytes(key_pem, key_len, "key_pem")?,
                arg_out(out, "out")?,
            )
        };
        let config = TlsServerConfig::from_pem(cert, key)?;
        out.set(new_handle(msgwire_tls_server_config { config }));
        Ok(())
    })
}

/// Like `msgwire_tls_server_config_from_pem`, reading the PEM text from the
/// files `cert_path` and `key_path` (NUL-terminated UTF-8 paths; they may
/// name the same file). The files are read during the call only. A file
/// that cannot be read is `MSGWIRE_TLS_FILE`.
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_tls_server_config_from_files(
    cert_path: *const c_char,
    key_path: *const c_char,
    out: *mut *mut msgwire_tls_server_config,
) -> msgwire_status {
    guard(|| {
        // SAFETY: strings and a writable out-pointer, per the header.
        let (cert, key, out) = unsafe {
            (
                arg_str(cert_path, "cert_path")?,
                arg_str(key_path, "key_path")?,
                arg_out(out, "out")?,
            )
        };
        let config = TlsServerConfig::from_pem_files(cert, key)?;
        out.set(new_handle(msgwire_tls_server_config { config }));
        Ok(())
    })
}

/// Releases a server configuration. NULL is ignored. Acceptors and servers
/// it was attached to keep working: they hold their own reference.
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_tls_server_config_free(config: *mut msgwire_tls_server_config) {
    guard_value((), || {
        // SAFETY: NULL or a live handle, freed once, per the header.
        unsafe { free_handle(config) }
    })
}

// ================================================================== client

/// What a TLS client (a connector) trusts.
///
/// Created by `msgwire_tls_client_config_with_ca_pem`,
/// `msgwire_tls_client_config_with_ca_file` or
/// `msgwire_tls_client_config_insecure`, released by
/// `msgwire_tls_client_config_free`. Immutable: several threads may use it
/// at once. Attach it with `msgwire_msrp_connector_set_tls`, which keeps its
/// own reference, or pass it to `msgwire_sr_get_tls`.
pub struct msgwire_tls_client_config {
    pub(crate) config: TlsClientConfig,
}

/// Builds a client configuration trusting exactly the certificate
/// authorities in `ca_pem[0..len]` (one or more `CERTIFICATE` sections;
/// copied, need not be NUL-terminated). A server must then present a
/// certificate that chains to one of them, is currently valid, and is
/// issued for the host of the URI connected to (a DNS name or an IP
/// address in its subjectAltName); otherwise binding fails with
/// `MSGWIRE_MSRP_ENDPOINT_TLS`.
///
/// On success `*out` receives a new configuration to release with
/// `msgwire_tls_client_config_free`. Failures: `MSGWIRE_TLS_BAD_PEM`,
/// `MSGWIRE_TLS_NO_CERTIFICATES` (an empty input included), and
/// `MSGWIRE_TLS_BAD_CA_CERTIFICATE` when a certificate cannot serve as a
/// trust anchor (each one must; none is silently skipped).
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_tls_client_config_with_ca_pem(
    ca_pem: *const u8,
    len: usize,
    out: *mut *mut msgwire_tls_client_config,
) -> msgwire_status {
    guard(|| {
        // SAFETY: a readable byte range and a writable out-pointer, per the
        // header.
        let (ca, out) = unsafe { (arg_bytes(ca_pem, len, "ca_pem")?, arg_out(out, "out")?) };
        let config = TlsClientConfig::with_ca_pem(ca)?;
        out.set(new_handle(msgwire_tls_client_config { config }));
        Ok(())
    })
}

/// Like `msgwire_tls_client_config_with_ca_pem`, reading the CA
/// certificates from the file `path` (a NUL-terminated UTF-8 path, read
/// during the call only). A file that cannot be read is `MSGWIRE_TLS_FILE`.
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_tls_client_config_with_ca_file(
    path: *const c_char,
    out: *mut *mut msgwire_tls_client_config,
) -> msgwire_status {
    guard(|| {
        // SAFETY: a string and a writable out-pointer, per the header.
        let (path, out) = unsafe { (arg_str(path, "path")?, arg_out(out, "out")?) };
        let config = TlsClientConfig::with_ca_pem_file(path)?;
        out.set(new_handle(msgwire_tls_client_config { config }));
        Ok(())
    })
}

/// **INSECURE: builds a client configuration that accepts any server
/// certificate, from anyone, for any name.** The connection is encrypted
/// but not authenticated: anyone on the network path can impersonate the
/// peer and read everything.
///
/// Meant only for tests and lab setups with self-signed certificates. The
/// handshake is still a real one (the server must prove it holds the key of
/// the certificate it presents); only the question "is this the right
/// certificate?" is skipped. Anything else should use
/// `msgwire_tls_client_config_with_ca_pem` or `_with_ca_file`, with the
/// self-signed certificate itself as the CA if need be.
///
/// On success `*out` receives a new configuration to release with
/// `msgwire_tls_client_config_free`.
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_tls_client_config_insecure(
    out: *mut *mut msgwire_tls_client_config,
) -> msgwire_status {
    guard(|| {
        // SAFETY: a writable out-pointer, per the header.
        let out = unsafe { arg_out(out, "out")? };
        let config = TlsClientConfig::danger_accept_any_certificate()?;
        out.set(new_handle(msgwire_tls_client_config { config }));
        Ok(())
    })
}

/// Writes to `*out` whether the configuration verifies server certificates:
/// `false` only for one made by `msgwire_tls_client_config_insecure`.
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_tls_client_config_verifies(
    config: *const msgwire_tls_client_config,
    out: *mut bool,
) -> msgwire_status {
    guard(|| {
        // SAFETY: a live handle and a writable out-pointer, per the header.
        let (c, out) = unsafe { (arg_ref(config, "config")?, arg_out(out, "out")?) };
        out.set(c.config.verifies_certificates());
        Ok(())
    })
}

/// Releases a client configuration. NULL is ignored. Connectors it was
/// attached to keep working: they hold their own reference.
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_tls_client_config_free(config: *mut msgwire_tls_client_config) {
    guard_value((), || {
        // SAFETY: NULL or a live handle, freed once, per the header.
        unsafe { free_handle(config) }
    })
}
