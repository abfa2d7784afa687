//! `msgwire._native`: the pyo3 module under the `msgwire` and `msrplib`
//! Python packages.
//!
//! This crate translates, it does not implement: every parse, decode,
//! encode and validation is a call into the core crate (`msgwire`), and
//! values cross the boundary as plain Python data (str, int, bytes, tuples,
//! lists) that the pure-Python shims wrap in the legacy classes.
//!
//! * [`uri`] — `parse_uri`, `format_uri`, `validate_uri`
//! * [`headers`] — `decode_header`, `encode_header`, `verify_headers`
//! * [`chunk`] — `encode_chunk*`, `parse_chunk`, `make_response`,
//!   `make_report`, header ordering
//! * [`parser`] — the streaming `Parser` class
//! * [`endpoint`] — `Connector` and `BoundTransport` (direct binding),
//!   `build_request`, `check_send_paths`
//! * [`session`] — `Session`, the threaded session driver, whose Python
//!   callbacks run in batches on one dispatcher thread per session
//! * [`relay_server`] — `RelayServer`, an in-process MSRP relay (the
//!   native half of `msgwire.relay.Relay`)
//! * [`server`] — `Server`, many passive sessions on shared listening
//!   sockets (legacy `MSRPServer`)
//! * [`tls`] — `tls_server_config`, `tls_client_config` (msrps)
//! * [`sts`] — STS/1.0: `sts_encode`, `sts_parse`, `StsParser`, error
//!   bodies, `StsClient` (with `StsReplies`), `StsServer` (with
//!   `StsRequest`, `StsResponder`)
//! * [`serverresponse`] — serverResponse: `sr_parse`, `sr_to_xml`,
//!   `sr_get`, `SrWriter`, `SrServer` (the native half of
//!   `msgwire.serverresponse`)
//! * [`ministream`] — I2P ministreaming: `MinistreamManager`,
//!   `MinistreamServerSocket`, `MinistreamSocket`, frame encode/decode
//! * [`cpim`] — Message/CPIM (RFC 3862): `cpim_parse`, `cpim_build` and
//!   the `CpimMessage` class behind `msgwire.cpim`
//! * [`sdp`] — the MSRP SDP media description: `sdp_parse`, `sdp_encode`,
//!   `sdp_accepts`
//!   behind `msgwire.sdp`
//! * [`chat`] — MSRPChat: the `Chat` class behind `msgwire.chat`
//! * [`errors`] — the one conversion from core errors to the Python
//!   exception classes defined in `msrplib.protocol`
//!
//! The wire-layer modules never block and keep the GIL; every blocking
//! call in [`endpoint`], [`server`] and [`session`] releases it, and the
//! session's dispatcher thread takes it once per batch of callbacks (the
//! rules are in `python/README.md`).

use pyo3::prelude::*;

mod chat;
mod chunk;
mod cpim;
mod endpoint;
mod errors;
mod headers;
mod ministream;
mod parser;
mod relay;
mod relay_server;
mod sdp;
mod server;
mod serverresponse;
mod session;
mod sts;
mod tls;
mod traffic;
mod uri;

/// `bytes` random bytes as lower-case hex without leading zeros.
#[pyfunction]
fn random_hex(bytes: usize) -> String {
    msgwire_core::msrp::random_hex(bytes)
}

/// The address a local URI without a host gets: that of the interface
/// holding the default route, or 127.0.0.1 without one.
#[pyfunction]
fn default_ip() -> String {
    msgwire_core::net::default_ip().to_string()
}

/// A random transaction id or Message-ID: 64 random bits in hex.
#[pyfunction]
fn random_id() -> String {
    msgwire_core::msrp::random_id()
}

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add("DEFAULT_PORT", msgwire_core::msrp::DEFAULT_PORT)?;
    m.add_function(wrap_pyfunction!(random_hex, m)?)?;
    m.add_function(wrap_pyfunction!(random_id, m)?)?;
    m.add_function(wrap_pyfunction!(default_ip, m)?)?;
    m.add_function(wrap_pyfunction!(uri::parse_uri, m)?)?;
    m.add_function(wrap_pyfunction!(uri::format_uri, m)?)?;
    m.add_function(wrap_pyfunction!(uri::validate_uri, m)?)?;
    m.add_function(wrap_pyfunction!(headers::is_known_header, m)?)?;
    m.add_function(wrap_pyfunction!(headers::decode_header, m)?)?;
    m.add_function(wrap_pyfunction!(headers::encode_header, m)?)?;
    m.add_function(wrap_pyfunction!(headers::verify_headers, m)?)?;
    m.add_function(wrap_pyfunction!(chunk::first_line, m)?)?;
    m.add_function(wrap_pyfunction!(chunk::encode_chunk, m)?)?;
    m.add_function(wrap_pyfunction!(chunk::encode_chunk_start, m)?)?;
    m.add_function(wrap_pyfunction!(chunk::encode_chunk_end, m)?)?;
    m.add_function(wrap_pyfunction!(chunk::parse_chunk, m)?)?;
    m.add_function(wrap_pyfunction!(chunk::make_response, m)?)?;
    m.add_function(wrap_pyfunction!(chunk::make_report, m)?)?;
    m.add_function(wrap_pyfunction!(chunk::wire_order, m)?)?;
    m.add_function(wrap_pyfunction!(chunk::header_rank, m)?)?;
    m.add_class::<chunk::PyHeaderList>()?;
    m.add_class::<parser::PyParser>()?;
    m.add_function(wrap_pyfunction!(endpoint::build_request, m)?)?;
    m.add_function(wrap_pyfunction!(endpoint::check_send_paths, m)?)?;
    m.add_class::<endpoint::PyConnector>()?;
    m.add_class::<relay::PyRelayConnector>()?;
    m.add_class::<relay::PyDigestChallenger>()?;
    m.add_function(wrap_pyfunction!(relay::digest_ha1, m)?)?;
    m.add_function(wrap_pyfunction!(relay::digest_ha2, m)?)?;
    m.add_function(wrap_pyfunction!(relay::digest_hash, m)?)?;
    m.add_class::<relay_server::PyRelayServer>()?;
    m.add_class::<endpoint::PyBoundTransport>()?;
    m.add_class::<session::PySession>()?;
    // Stops the sessions' callback threads before Python finalizes.
    let stop = wrap_pyfunction!(session::stop_callbacks, m)?;
    m.py().import("atexit")?.call_method1("register", (stop,))?;
    m.add_class::<server::PyServer>()?;
    m.add_class::<tls::PyTlsServerConfig>()?;
    m.add_class::<tls::PyTlsClientConfig>()?;
    m.add_function(wrap_pyfunction!(tls::tls_server_config, m)?)?;
    m.add_function(wrap_pyfunction!(tls::tls_client_config, m)?)?;
    m.add_function(wrap_pyfunction!(sts::sts_encode, m)?)?;
    m.add_function(wrap_pyfunction!(sts::sts_parse, m)?)?;
    m.add_function(wrap_pyfunction!(sts::sts_header_items, m)?)?;
    m.add_function(wrap_pyfunction!(sts::sts_header_key, m)?)?;
    m.add_function(wrap_pyfunction!(sts::sts_error_parse, m)?)?;
    m.add_function(wrap_pyfunction!(sts::sts_error_xml, m)?)?;
    m.add_function(wrap_pyfunction!(sts::sts_connect_xml, m)?)?;
    m.add_class::<sts::PyStsParser>()?;
    m.add_class::<sts::PyResponder>()?;
    m.add_class::<sts::PyReplies>()?;
    m.add_class::<sts::PyLegacyReplies>()?;
    m.add_class::<sts::PyLegacyShapes>()?;
    m.add_class::<sts::PyStsClient>()?;
    m.add_class::<sts::PyRequest>()?;
    m.add_class::<sts::PyStsServer>()?;
    m.add_function(wrap_pyfunction!(serverresponse::sr_parse, m)?)?;
    m.add_function(wrap_pyfunction!(serverresponse::sr_get, m)?)?;
    m.add_function(wrap_pyfunction!(serverresponse::sr_to_xml, m)?)?;
    m.add_class::<serverresponse::PySrWriter>()?;
    m.add_class::<serverresponse::PySrServer>()?;
    m.add_class::<ministream::PyManager>()?;
    m.add_class::<ministream::PyServerSocket>()?;
    m.add_class::<ministream::PySocket>()?;
    m.add_function(wrap_pyfunction!(ministream::ministream_frame_encode, m)?)?;
    m.add_function(wrap_pyfunction!(ministream::ministream_frame_decode, m)?)?;
    m.add_class::<cpim::PyCpimMessage>()?;
    m.add_function(wrap_pyfunction!(cpim::cpim_parse, m)?)?;
    m.add_function(wrap_pyfunction!(cpim::cpim_build, m)?)?;
    m.add_function(wrap_pyfunction!(sdp::sdp_parse, m)?)?;
    m.add_function(wrap_pyfunction!(sdp::sdp_encode, m)?)?;
    m.add_function(wrap_pyfunction!(sdp::sdp_accepts, m)?)?;
    m.add_class::<chat::PyChat>()?;
    Ok(())
}
