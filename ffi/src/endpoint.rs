//! MSRP endpoints for C: direct session binding (RFC 4975 §5.4) and the
//! session driver, wrapping `msgwire::msrp::endpoint`.
//!
//! # Objects
//!
//! * `msgwire_msrp_connector` / `msgwire_msrp_acceptor` — the active and
//!   passive sides of a binding. `_prepare` gives the local path to put in
//!   SDP, `_complete` takes the peer's path and blocks until the bind
//!   exchange is done, giving a `msgwire_msrp_transport`.
//! * `msgwire_msrp_transport` — a bound connection, consumed by
//!   `msgwire_msrp_session_start`. Before that it can exchange chunks by
//!   itself (`_write`, `_write_chunk`, `_write_response`, `_read_chunk`,
//!   the legacy `MSRPTransport` calls); those map the core's errors to
//!   statuses and add `MSGWIRE_MSRP_ENDPOINT_TIMEOUT` for a read that
//!   timed out (the core reports it as an I/O error of kind `TimedOut`).
//!
//! # TLS
//!
//! `msrps` needs a configuration from the [`crate::tls`] module, attached
//! with `msgwire_msrp_connector_set_tls` / `msgwire_msrp_acceptor_set_tls`.
//! The core attaches TLS by value (`with_tls(self)`), so those functions
//! swap the core object out for a moment; the connector or acceptor
//! otherwise stays as it was (prepared path, listener, options).
//! * `msgwire_msrp_session` — a running session. Its events reach C through
//!   the function pointers of `msgwire_msrp_session_callbacks`.
//!
//! # Paths as text
//!
//! A path crosses the boundary as its SDP spelling: URIs separated by
//! spaces (`a=path:` without the prefix). This is what a C program reads
//! from and writes to SDP anyway, and it keeps the API free of URI-list
//! handles.
//!
//! # Callbacks and `user_data`
//!
//! The core calls one Rust closure per session, on the connection's reader
//! thread or the shared timer thread, never two at once. Here that closure
//! forwards to the C function pointers, which live in a slot shared with
//! the session handle ([`Shared`]). Each C call is made with the slot
//! locked, and `msgwire_msrp_session_free` empties the slot under that same
//! lock before it calls `user_data_free`. So once `_free` returns no
//! callback is running or will run, even if the core keeps the connection
//! alive a little longer (a `shutdown(false)` still finishing), and
//! `user_data` is released exactly once, after the last callback.
//!
//! Blocking calls made from inside a callback (`deliver_chunk`,
//! `shutdown(true)`, `_free` of the same session) would wait for the very
//! thread that runs the callback. They are detected through a thread-local
//! marker and refused with `MSGWIRE_INVALID_ARGUMENT` instead of hanging
//! (`_free`, which cannot report, defers the release to the end of the
//! running callback).
//!
//! # The timer thread
//!
//! The core serves session deadlines from one timer thread. By default that
//! thread is process-wide and never stops, which a C program sees as a
//! thread still running at `exit` (and valgrind as "possibly lost" memory).
//! Sessions started here share one timer of their own instead
//! ([`session_timer`]): it is created with the first live session and its
//! thread stops when the last session handle is freed (the core joins it
//! when the last clone goes), so a program that frees everything leaves no
//! msgwire thread behind. STS clients and servers ([`crate::sts`]) take
//! shares of the same timer.
//!
//! # SIGPIPE
//!
//! The connection's writer thread writes with `writev`, which raises
//! SIGPIPE when the peer has reset the connection. Rust programs ignore
//! SIGPIPE, C programs by default die of it. A library must not change the
//! process's signal dispositions, so `msgwire_msrp_session_start` instead
//! blocks SIGPIPE in the calling thread's signal mask while the core spawns
//! the connection's threads, which inherit the mask: a broken connection
//! then surfaces as an `EPIPE` error (reported through `on_closed`) and the
//! signal stays pending on a thread that never unblocks it. The caller's
//! mask is restored before the call returns.

use std::cell::Cell;
use std::ffi::{c_char, c_void, CString};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use bytes::Bytes;
use msgwire_core::msrp::endpoint::{
    BindOptions, BindTimeouts, BoundTransport, DirectAcceptor, DirectConnector, EndpointEvent,
    EngineOptions, Error as EndpointError, MsrpSession,
};
use msgwire_core::msrp::session::{SessionConfig, SessionEvent, SharedLogger};
use msgwire_core::msrp::transfer::Delivery;
use msgwire_core::msrp::Uri;
use msgwire_core::net::Timer;

use crate::error::{msgwire_status, Error};
use crate::guard::{
    arg_buf, arg_bytes, arg_mut, arg_opt_str, arg_out, arg_ref, arg_str, free_handle, guard,
    guard_value, new_handle, OutBuf,
};
use crate::msrp::msgwire_msrp_chunk;
use crate::tls::{msgwire_tls_client_config, msgwire_tls_server_config};
use crate::transfer::{release_transfers, TransferTable};

// ================================================================= options

/// Deadlines and matching rule of a connector or acceptor.
///
/// Fill it with `msgwire_msrp_bind_options_default` and change what you
/// need. Every timeout is in milliseconds and must be at least 1.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct msgwire_msrp_bind_options {
    /// Connector: establishing the TCP connection (default 30000).
    pub connect_timeout_ms: u32,
    /// Acceptor: waiting for the peer to connect (default 30000).
    pub incoming_connect_timeout_ms: u32,
    /// Both: the bind SEND and its 200 once connected (default 30000).
    pub bind_timeout_ms: u32,
    /// Compare only session ids when checking the bind SEND's paths (for
    /// peers behind address-rewriting middleboxes, RFC 6714); the session
    /// started on the resulting transport matches the same way. Default
    /// `false`.
    pub use_sessmatch: bool,
}

pub(crate) fn millis(ms: u32, name: &str) -> Result<Duration, Error> {
    if ms == 0 {
        return Err(Error::invalid(format!("{name} must be at least 1 ms")));
    }
    Ok(Duration::from_millis(u64::from(ms)))
}

fn to_millis(d: Duration) -> u32 {
    u32::try_from(d.as_millis()).unwrap_or(u32::MAX)
}

impl From<&BindOptions> for msgwire_msrp_bind_options {
    fn from(o: &BindOptions) -> Self {
        msgwire_msrp_bind_options {
            connect_timeout_ms: to_millis(o.timeouts.connect),
            incoming_connect_timeout_ms: to_millis(o.timeouts.incoming_connect),
            bind_timeout_ms: to_millis(o.timeouts.bind),
            use_sessmatch: o.use_sessmatch,
        }
    }
}

impl msgwire_msrp_bind_options {
    fn to_core(self) -> Result<BindOptions, Error> {
        Ok(BindOptions {
            timeouts: BindTimeouts {
                connect: millis(self.connect_timeout_ms, "connect_timeout_ms")?,
                incoming_connect: millis(
                    self.incoming_connect_timeout_ms,
                    "incoming_connect_timeout_ms",
                )?,
                bind: millis(self.bind_timeout_ms, "bind_timeout_ms")?,
            },
            use_sessmatch: self.use_sessmatch,
        })
    }
}

/// Fills `*opts` with the defaults (those used when a `_new` function gets
/// NULL): 30 s for every step, no sessmatch.
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_msrp_bind_options_default(
    opts: *mut msgwire_msrp_bind_options,
) -> msgwire_status {
    guard(|| {
        // SAFETY: a writable out-pointer per the header.
        let opts = unsafe { arg_out(opts, "opts")? };
        opts.set((&BindOptions::default()).into());
        Ok(())
    })
}

/// Reads optional bind options: NULL gives the defaults.
///
/// # Safety
///
/// `opts` is NULL or points to a readable `msgwire_msrp_bind_options`.
pub(crate) unsafe fn bind_options(
    opts: *const msgwire_msrp_bind_options,
) -> Result<BindOptions, Error> {
    // SAFETY: forwarded contract.
    match unsafe { opts.as_ref() } {
        Some(o) => o.to_core(),
        None => Ok(BindOptions::default()),
    }
}

// =================================================================== paths

/// Parses a space-separated path (`a=path:` value).
pub(crate) fn parse_path(text: &str) -> Result<Vec<Uri>, Error> {
    let path = text
        .split_ascii_whitespace()
        .map(|u| u.parse::<Uri>().map_err(Error::from))
        .collect::<Result<Vec<_>, _>>()?;
    if path.is_empty() {
        return Err(Error::new(
            msgwire_status::MSGWIRE_MSRP_ENDPOINT_EMPTY_PATH,
            "the remote path holds no URI",
        ));
    }
    Ok(path)
}

pub(crate) fn path_text(path: &[Uri]) -> String {
    path.iter()
        .map(Uri::to_string)
        .collect::<Vec<_>>()
        .join(" ")
}

/// Reads the optional local URI of `_prepare`.
///
/// # Safety
///
/// As for `arg_opt_str`.
pub(crate) unsafe fn arg_local_uri(ptr: *const c_char) -> Result<Option<Uri>, Error> {
    // SAFETY: forwarded contract.
    let text = unsafe { arg_opt_str(ptr, "local_uri")? };
    Ok(match text {
        Some(t) => Some(t.trim().parse::<Uri>()?),
        None => None,
    })
}

// =============================================================== connector

/// The active side of a direct binding: connects to the peer and sends the
/// bind SEND.
///
/// Created by `msgwire_msrp_connector_new`, released by
/// `msgwire_msrp_connector_free`. Use it from one thread at a time.
pub struct msgwire_msrp_connector {
    connector: DirectConnector,
    local_path: Option<String>,
}

/// Creates a connector with the options in `*opts`, or the defaults when
/// `opts` is NULL (the options are copied). A timeout of 0 is
/// `MSGWIRE_INVALID_ARGUMENT`. On success `*out` receives a new connector
/// to release with `msgwire_msrp_connector_free`.
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_msrp_connector_new(
    opts: *const msgwire_msrp_bind_options,
    out: *mut *mut msgwire_msrp_connector,
) -> msgwire_status {
    guard(|| {
        // SAFETY: `opts` NULL or readable, `out` writable, per the header.
        let (options, out) = unsafe { (bind_options(opts)?, arg_out(out, "out")?) };
        out.set(new_handle(msgwire_msrp_connector {
            connector: DirectConnector::new(options),
            local_path: None,
        }));
        Ok(())
    })
}

/// Attaches a TLS client configuration, used when the first URI of the
/// remote path given to `msgwire_msrp_connector_complete` is `msrps`: the
/// connector then runs the TLS handshake (bounded by the connect timeout)
/// and verifies the peer's certificate as `config` says, for the host
/// named in that URI. `msrp` peers are still reached over plain TCP.
///
/// The connector keeps its own reference to the configuration: the caller
/// still owns `config` and may free it right after this call. Call it
/// before `_complete`; calling it again replaces the configuration. Without
/// one, completing towards an `msrps` URI fails with
/// `MSGWIRE_MSRP_ENDPOINT_TLS_NOT_CONFIGURED`.
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_msrp_connector_set_tls(
    connector: *mut msgwire_msrp_connector,
    config: *const msgwire_tls_client_config,
) -> msgwire_status {
    guard(|| {
        // SAFETY: a live connector used by this thread only and a live
        // configuration, per the header.
        let (c, config) = unsafe { (arg_mut(connector, "connector")?, arg_ref(config, "config")?) };
        // The core attaches TLS by value (`with_tls(self)`); a connector
        // made with default options stands in for the moment.
        let placeholder = DirectConnector::new(BindOptions::default());
        let connector = std::mem::replace(&mut c.connector, placeholder);
        c.connector = connector.with_tls(config.config.clone());
        Ok(())
    })
}

/// Copies the address used for a local URI without a host into `buf`:
/// the address of the interface that holds the default route (found
/// without sending anything), or `127.0.0.1` when there is none, as the
/// legacy library chose it. Written NUL-terminated with its length
/// (without the NUL) in `*out_len`; `MSGWIRE_BUFFER_TOO_SMALL` gives the
/// needed length. 46 bytes always suffice.
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_default_ip(
    buf: *mut c_char,
    cap: usize,
    out_len: *mut usize,
) -> msgwire_status {
    guard(|| {
        // SAFETY: a caller buffer, per the header.
        let out = unsafe { arg_buf(buf.cast(), cap, out_len)? };
        let ip = msgwire_core::net::default_ip().to_string();
        out.fill(ip.as_bytes(), true)
    })
}

/// Chooses the local path to advertise and copies it into `buf`.
///
/// `local_uri` is a NUL-terminated MSRP URI or NULL. What it leaves out is
/// filled in: a missing session-id becomes a random one; a port of 0
/// becomes 2855 (a connector never listens). NULL means
/// `msrp://<default ip>:2855/<random>;tcp` (see `msgwire_default_ip`).
/// When the peer's URI is `msrps`,
/// advertise an `msrps` URI too (whether TLS is used is decided by the
/// peer's URI, see `msgwire_msrp_connector_set_tls`).
///
/// The path is written as its SDP `a=path` value (URIs separated by
/// spaces), NUL-terminated, with its length (without the NUL) in
/// `*out_len`. The connector is prepared even when the buffer is too small
/// (`MSGWIRE_BUFFER_TOO_SMALL`, needed length in `*out_len`): fetch the path
/// with `msgwire_msrp_connector_local_path` rather than preparing again,
/// which would choose a new session-id.
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_msrp_connector_prepare(
    connector: *mut msgwire_msrp_connector,
    local_uri: *const c_char,
    buf: *mut c_char,
    cap: usize,
    out_len: *mut usize,
) -> msgwire_status {
    guard(|| {
        // SAFETY: a live connector used by this thread only, a string or
        // NULL, and a caller buffer, per the header.
        let (c, uri, out) = unsafe {
            (
                arg_mut(connector, "connector")?,
                arg_local_uri(local_uri)?,
                arg_buf(buf.cast(), cap, out_len)?,
            )
        };
        let path = path_text(&c.connector.prepare(uri));
        let path = c.local_path.insert(path);
        out.fill(path.as_bytes(), true)
    })
}

/// Copies the path chosen by the last `msgwire_msrp_connector_prepare` into
/// `buf` (same buffer rules). Returns `MSGWIRE_NOT_FOUND` before the first
/// `_prepare`.
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_msrp_connector_local_path(
    connector: *const msgwire_msrp_connector,
    buf: *mut c_char,
    cap: usize,
    out_len: *mut usize,
) -> msgwire_status {
    guard(|| {
        // SAFETY: a live connector and a caller buffer, per the header.
        let (c, out) = unsafe {
            (
                arg_ref(connector, "connector")?,
                arg_buf(buf.cast(), cap, out_len)?,
            )
        };
        copy_path(c.local_path.as_deref(), out)
    })
}

pub(crate) fn copy_path(path: Option<&str>, out: OutBuf<'_>) -> Result<(), Error> {
    let path = path.ok_or_else(|| Error::not_found("not prepared yet"))?;
    out.fill(path.as_bytes(), true)
}

/// Connects to the first URI of `remote_path` (the peer's SDP `a=path`
/// value: URIs separated by spaces), sends the bind SEND and waits for its
/// 200. Prepares with defaults first if `_prepare` was not called.
///
/// Blocks the calling thread for up to the connect timeout plus the bind
/// timeout. On success `*transport_out` receives a bound transport to pass
/// to `msgwire_msrp_session_start` (or release with
/// `msgwire_msrp_transport_free`). Failures are `MSGWIRE_MSRP_URI_*` for a
/// malformed path and `MSGWIRE_MSRP_ENDPOINT_*` otherwise (e.g.
/// `_CONNECT`, `_CONNECT_TIMEOUT`, `_BIND_TIMEOUT`, `_BIND_REJECTED`; for
/// an `msrps` peer `_TLS_NOT_CONFIGURED` without
/// `msgwire_msrp_connector_set_tls`, and `_TLS` when the handshake fails,
/// e.g. a certificate the configuration does not trust).
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_msrp_connector_complete(
    connector: *mut msgwire_msrp_connector,
    remote_path: *const c_char,
    transport_out: *mut *mut msgwire_msrp_transport,
) -> msgwire_status {
    guard(|| {
        // SAFETY: a live connector used by this thread only, a string and a
        // writable out-pointer, per the header.
        let (c, remote, out) = unsafe {
            (
                arg_mut(connector, "connector")?,
                arg_str(remote_path, "remote_path")?,
                arg_out(transport_out, "transport_out")?,
            )
        };
        let path = parse_path(remote)?;
        let bound = c.connector.complete(&path)?;
        out.set(new_handle(msgwire_msrp_transport { bound }));
        Ok(())
    })
}

/// Releases a connector. NULL is ignored. A transport it completed is not
/// affected.
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_msrp_connector_free(connector: *mut msgwire_msrp_connector) {
    guard_value((), || {
        // SAFETY: NULL or a live handle, freed once and not in use, per the
        // header.
        unsafe { free_handle(connector) }
    })
}

// ================================================================ acceptor

/// The passive side of a direct binding: listens, accepts one connection
/// and answers its bind SEND.
///
/// Created by `msgwire_msrp_acceptor_new`, released by
/// `msgwire_msrp_acceptor_free`. Use it from one thread at a time (a typical
/// program prepares it on one thread and completes it on another; that is
/// fine as long as the calls do not overlap).
pub struct msgwire_msrp_acceptor {
    acceptor: DirectAcceptor,
    local_path: Option<String>,
}

/// Creates an acceptor with the options in `*opts`, or the defaults when
/// `opts` is NULL (the options are copied). A timeout of 0 is
/// `MSGWIRE_INVALID_ARGUMENT`. On success `*out` receives a new acceptor to
/// release with `msgwire_msrp_acceptor_free`.
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_msrp_acceptor_new(
    opts: *const msgwire_msrp_bind_options,
    out: *mut *mut msgwire_msrp_acceptor,
) -> msgwire_status {
    guard(|| {
        // SAFETY: `opts` NULL or readable, `out` writable, per the header.
        let (options, out) = unsafe { (bind_options(opts)?, arg_out(out, "out")?) };
        out.set(new_handle(msgwire_msrp_acceptor {
            acceptor: DirectAcceptor::new(options),
            local_path: None,
        }));
        Ok(())
    })
}

/// Attaches a TLS server configuration (certificate and key), used when
/// the local URI given to `msgwire_msrp_acceptor_prepare` is `msrps`: the
/// acceptor then runs the TLS handshake on the incoming connection
/// (bounded by the bind timeout) before the bind exchange. With an `msrp`
/// local URI the configuration is not used.
///
/// The acceptor keeps its own reference to the configuration: the caller
/// still owns `config` and may free it right after this call. Call it
/// before `_complete` (usually before `_prepare`); calling it again
/// replaces the configuration. Without one, completing an acceptor
/// prepared with an `msrps` URI fails with
/// `MSGWIRE_MSRP_ENDPOINT_TLS_NOT_CONFIGURED`.
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_msrp_acceptor_set_tls(
    acceptor: *mut msgwire_msrp_acceptor,
    config: *const msgwire_tls_server_config,
) -> msgwire_status {
    guard(|| {
        // SAFETY: a live acceptor used by this thread only and a live
        // configuration, per the header.
        let (a, config) = unsafe { (arg_mut(acceptor, "acceptor")?, arg_ref(config, "config")?) };
        // As for the connector; the listener of a prepared acceptor moves
        // along with it.
        let placeholder = DirectAcceptor::new(BindOptions::default());
        let acceptor = std::mem::replace(&mut a.acceptor, placeholder);
        a.acceptor = acceptor.with_tls(config.config.clone());
        Ok(())
    })
}

/// Starts listening and copies the local path to advertise into `buf`.
///
/// `local_uri` is a NUL-terminated MSRP URI or NULL. The acceptor listens on
/// its host and port; port 0 picks a free port, which is written into the
/// returned path. A missing session-id becomes a random one. NULL means
/// `msrp://<default ip>:0/<random>;tcp` (see `msgwire_default_ip`). A
/// socket that cannot be bound is
/// `MSGWIRE_MSRP_ENDPOINT_LISTEN`. An `msrps` URI makes the connection run
/// over TLS, with the configuration of `msgwire_msrp_acceptor_set_tls`.
///
/// Buffer rules as for `msgwire_msrp_connector_prepare`: on
/// `MSGWIRE_BUFFER_TOO_SMALL` the acceptor is listening already; fetch the
/// path with `msgwire_msrp_acceptor_local_path`. Preparing again replaces
/// the listener.
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_msrp_acceptor_prepare(
    acceptor: *mut msgwire_msrp_acceptor,
    local_uri: *const c_char,
    buf: *mut c_char,
    cap: usize,
    out_len: *mut usize,
) -> msgwire_status {
    guard(|| {
        // SAFETY: a live acceptor used by this thread only, a string or
        // NULL, and a caller buffer, per the header.
        let (a, uri, out) = unsafe {
            (
                arg_mut(acceptor, "acceptor")?,
                arg_local_uri(local_uri)?,
                arg_buf(buf.cast(), cap, out_len)?,
            )
        };
        let path = path_text(&a.acceptor.prepare(uri)?);
        let path = a.local_path.insert(path);
        out.fill(path.as_bytes(), true)
    })
}

/// Copies the path chosen by the last `msgwire_msrp_acceptor_prepare` into
/// `buf` (same buffer rules). Returns `MSGWIRE_NOT_FOUND` before the first
/// `_prepare`.
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_msrp_acceptor_local_path(
    acceptor: *const msgwire_msrp_acceptor,
    buf: *mut c_char,
    cap: usize,
    out_len: *mut usize,
) -> msgwire_status {
    guard(|| {
        // SAFETY: a live acceptor and a caller buffer, per the header.
        let (a, out) = unsafe {
            (
                arg_ref(acceptor, "acceptor")?,
                arg_buf(buf.cast(), cap, out_len)?,
            )
        };
        copy_path(a.local_path.as_deref(), out)
    })
}

/// Waits for one incoming connection, checks that its bind SEND names our
/// URI and `remote_path` (the peer's SDP `a=path` value, URIs separated by
/// spaces), answers 200 and stops listening.
///
/// Blocks the calling thread for up to the incoming-connect timeout plus the
/// bind timeout. On success `*transport_out` receives a bound transport. A
/// bind SEND for other paths is answered 481 and gives
/// `MSGWIRE_MSRP_ENDPOINT_BIND_MISMATCH`; no connection in time gives
/// `MSGWIRE_MSRP_ENDPOINT_INCOMING_CONNECT_TIMEOUT`; without a successful
/// `_prepare` it is `MSGWIRE_MSRP_ENDPOINT_CLOSED`. Prepared with an `msrps`
/// URI, it fails with `MSGWIRE_MSRP_ENDPOINT_TLS_NOT_CONFIGURED` without
/// `msgwire_msrp_acceptor_set_tls` (before accepting anything) and with
/// `MSGWIRE_MSRP_ENDPOINT_TLS` when the handshake fails (e.g. the peer
/// does not trust our certificate, or speaks plain TCP). The listener is
/// used up either way: prepare again to retry.
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_msrp_acceptor_complete(
    acceptor: *mut msgwire_msrp_acceptor,
    remote_path: *const c_char,
    transport_out: *mut *mut msgwire_msrp_transport,
) -> msgwire_status {
    guard(|| {
        // SAFETY: a live acceptor used by this thread only, a string and a
        // writable out-pointer, per the header.
        let (a, remote, out) = unsafe {
            (
                arg_mut(acceptor, "acceptor")?,
                arg_str(remote_path, "remote_path")?,
                arg_out(transport_out, "transport_out")?,
            )
        };
        let path = parse_path(remote)?;
        let bound = a.acceptor.complete(&path)?;
        out.set(new_handle(msgwire_msrp_transport { bound }));
        Ok(())
    })
}

/// Releases an acceptor, closing its listener if `_complete` did not use
/// it. NULL is ignored. Must not be called while `_complete` runs.
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_msrp_acceptor_free(acceptor: *mut msgwire_msrp_acceptor) {
    guard_value((), || {
        // SAFETY: NULL or a live handle, freed once and not in use, per the
        // header.
        unsafe { free_handle(acceptor) }
    })
}

// =============================================================== transport

/// A connected and bound MSRP connection, made by `_complete`.
///
/// Pass it to `msgwire_msrp_session_start`, which consumes it, or release it
/// unused with `msgwire_msrp_transport_free` (which closes the connection).
/// Before that (or instead of a session), chunks can be exchanged on it
/// directly, without a session's transaction handling, like the legacy
/// `MSRPTransport`: `msgwire_msrp_transport_write`, `_write_chunk`,
/// `_write_response` and `_read_chunk`. These block the calling thread and
/// raise no SIGPIPE (a peer that is gone is an error status). Use a
/// transport from one thread at a time: a read and a write must not
/// overlap.
pub struct msgwire_msrp_transport {
    pub(crate) bound: BoundTransport,
}

/// Releases a transport that was not given to `msgwire_msrp_session_start`,
/// closing its connection. NULL is ignored.
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_msrp_transport_free(transport: *mut msgwire_msrp_transport) {
    guard_value((), || {
        // SAFETY: NULL or a live handle, freed once, per the header.
        unsafe { free_handle(transport) }
    })
}

/// Writes to `*out` whether the transport runs over TLS (it was bound to
/// or from an `msrps` URI).
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_msrp_transport_is_tls(
    transport: *const msgwire_msrp_transport,
    out: *mut bool,
) -> msgwire_status {
    guard(|| {
        // SAFETY: a live transport and a writable out-pointer, per the
        // header.
        let (t, out) = unsafe { (arg_ref(transport, "transport")?, arg_out(out, "out")?) };
        out.set(t.bound.is_tls());
        Ok(())
    })
}

/// Writes `data[0..len]` to the connection as is (`data` may be NULL when
/// `len` is 0) and returns once the operating system (or TLS) has taken all
/// of it. Nothing checks that the bytes are MSRP. A peer that is gone is
/// `MSGWIRE_MSRP_ENDPOINT_IO` (broken pipe, reset).
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_msrp_transport_write(
    transport: *mut msgwire_msrp_transport,
    data: *const u8,
    len: usize,
) -> msgwire_status {
    guard(|| {
        // SAFETY: a live transport used by this thread only and `len`
        // readable bytes, per the header.
        let (t, data) = unsafe {
            (
                arg_mut(transport, "transport")?,
                arg_bytes(data, len, "data")?,
            )
        };
        t.bound.write(data)?;
        Ok(())
    })
}

/// Encodes `chunk` and writes it (as `msgwire_msrp_transport_write`). The
/// chunk is sent as given and only read: the caller keeps it and frees it.
/// No transaction is tracked: a response the peer sends back is read with
/// `msgwire_msrp_transport_read_chunk` like any other chunk.
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_msrp_transport_write_chunk(
    transport: *mut msgwire_msrp_transport,
    chunk: *const msgwire_msrp_chunk,
) -> msgwire_status {
    guard(|| {
        // SAFETY: a live transport used by this thread only and a live
        // chunk, per the header.
        let (t, c) = unsafe { (arg_mut(transport, "transport")?, arg_ref(chunk, "chunk")?) };
        t.bound.write_chunk(&c.chunk)?;
        Ok(())
    })
}

/// Writes the response owed for `request` (a request read from this
/// transport) after handling it with `code`, built as by
/// `msgwire_msrp_make_response`: nothing is written when the request's
/// Failure-Report asks for no response (`no`, or `partial` with a 200).
///
/// `comment` may be NULL. `written_out` may be NULL; otherwise it receives
/// whether a response was written. `request` is only read: the caller keeps
/// it and frees it. Fails with `MSGWIRE_INVALID_ARGUMENT` for a code above
/// 999 or a comment containing CR or LF, with a `MSGWIRE_MSRP_HEADER_*`
/// status when the request's To-Path, From-Path or Failure-Report is
/// missing or malformed, and with `MSGWIRE_MSRP_ENDPOINT_IO` when writing
/// fails.
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_msrp_transport_write_response(
    transport: *mut msgwire_msrp_transport,
    request: *const msgwire_msrp_chunk,
    code: u16,
    comment: *const c_char,
    written_out: *mut bool,
) -> msgwire_status {
    guard(|| {
        // SAFETY: a live transport used by this thread only, a live chunk,
        // a string or NULL, and NULL or a writable bool, per the header.
        let (t, r, comment, written_out) = unsafe {
            (
                arg_mut(transport, "transport")?,
                arg_ref(request, "request")?,
                arg_opt_str(comment, "comment")?,
                written_out.as_mut(),
            )
        };
        crate::msrp::check_answer_args(code, comment)?;
        // Unreadable request headers are the core's `Error::Header`, which
        // maps to the matching MSGWIRE_MSRP_HEADER_* status here rather
        // than the generic endpoint one.
        let written = match t.bound.write_response(&r.chunk, code, comment) {
            Err(EndpointError::Header(e)) => return Err(e.into()),
            other => other?,
        };
        if let Some(w) = written_out {
            *w = written;
        }
        Ok(())
    })
}

/// Reads the next chunk from the connection, blocking for at most
/// `timeout_ms` milliseconds (negative: no limit; 0: only what has already
/// arrived).
///
/// On success `*chunk_out` receives a new chunk to release with
/// `msgwire_msrp_chunk_free`, and `*segment_out` (when `segment_out` is not
/// NULL) the segment number: 0 for a whole chunk. A chunk whose body grows
/// past `max_size` bytes before its end-line arrives comes back in
/// "virtual" segments of exactly `max_size` bytes, numbered from 1: each
/// carries the chunk's start line and headers with its Byte-Range
/// rewritten to the segment's own bytes (start and end; the total is
/// kept), and every segment but the last has flag `'+'`; the last has the
/// chunk's own flag. `max_size` `SIZE_MAX` returns whole chunks only (up
/// to the parser's 64 MiB body limit); 0 returns whatever body has arrived
/// as a segment. A bind SEND that carried a body is returned first.
///
/// Failures (`*chunk_out` and `*segment_out` are not written):
///
/// * `MSGWIRE_MSRP_ENDPOINT_TIMEOUT`: nothing complete arrived in time.
///   Nothing is lost: a partly received chunk stays buffered and the next
///   call continues it.
/// * `MSGWIRE_MSRP_ENDPOINT_CONNECTION_CLOSED`: the peer closed the
///   connection and every complete chunk was returned.
/// * `MSGWIRE_MSRP_ENDPOINT_PROTOCOL`: the bytes are not MSRP
///   (`msgwire_last_error()` says why); the parser skips the bad chunk, so
///   reading may go on.
/// * `MSGWIRE_MSRP_ENDPOINT_IO`: the socket failed.
///
/// What was read and not returned stays in the transport, so a session
/// started on it afterwards loses nothing, a partly received chunk
/// included, unless segments of that chunk were already returned:
/// `msgwire_msrp_session_start` then fails with
/// `MSGWIRE_MSRP_ENDPOINT_MID_CHUNK` (see
/// `msgwire_msrp_transport_mid_chunk`).
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_msrp_transport_read_chunk(
    transport: *mut msgwire_msrp_transport,
    max_size: usize,
    timeout_ms: i64,
    chunk_out: *mut *mut msgwire_msrp_chunk,
    segment_out: *mut u32,
) -> msgwire_status {
    guard(|| {
        // SAFETY: a live transport used by this thread only, a writable
        // out-pointer, and NULL or a writable uint32_t, per the header.
        let (t, chunk_out, segment_out) = unsafe {
            (
                arg_mut(transport, "transport")?,
                arg_out(chunk_out, "chunk_out")?,
                segment_out.as_mut(),
            )
        };
        let timeout = u64::try_from(timeout_ms).ok().map(Duration::from_millis);
        let read = match t.bound.read_chunk_timeout(Some(max_size), timeout) {
            Ok(read) => read,
            Err(EndpointError::Io(e)) if e.kind() == std::io::ErrorKind::TimedOut => {
                return Err(Error::new(
                    msgwire_status::MSGWIRE_MSRP_ENDPOINT_TIMEOUT,
                    format!("no chunk arrived within {timeout_ms} ms"),
                ))
            }
            Err(e) => return Err(e.into()),
        };
        if let Some(s) = segment_out {
            *s = read.segment.unwrap_or(0);
        }
        chunk_out.set(new_handle(msgwire_msrp_chunk::new(read.chunk)));
        Ok(())
    })
}

/// Writes to `*out` whether `msgwire_msrp_transport_read_chunk` has
/// returned segments of a chunk whose last segment is still to come. A
/// session cannot take over in the middle of such a chunk:
/// `msgwire_msrp_session_start` refuses the transport with
/// `MSGWIRE_MSRP_ENDPOINT_MID_CHUNK`.
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_msrp_transport_mid_chunk(
    transport: *const msgwire_msrp_transport,
    out: *mut bool,
) -> msgwire_status {
    guard(|| {
        // SAFETY: a live transport and a writable out-pointer, per the
        // header.
        let (t, out) = unsafe { (arg_ref(transport, "transport")?, arg_out(out, "out")?) };
        out.set(t.bound.mid_chunk());
        Ok(())
    })
}

// ================================================================= session

/// Settings of a session, read only during `msgwire_msrp_session_start`.
///
/// Fill it with `msgwire_msrp_session_config_default` and change what you
/// need.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct msgwire_msrp_session_config {
    /// MIME types accepted in incoming SENDs, separated by commas and/or
    /// spaces (so an SDP `a=accept-types` value can be passed as is):
    /// full types (`text/plain`), wildcard subtypes (`text/` followed by a
    /// star), or a lone star for any type. SENDs of other types are answered
    /// 415 and not delivered. NULL (the default) accepts any type; an empty
    /// string accepts no typed SEND at all. The string is only read during
    /// `msgwire_msrp_session_start`.
    pub accept_types: *const c_char,
    /// Send the success REPORT asked for by incoming SENDs
    /// (`Success-Report: yes`). Default `true`.
    pub automatic_reports: bool,
    /// How long to wait for a response before a local 408 is made up, in
    /// milliseconds (at least 1). Default 30000.
    pub response_timeout_ms: u32,
    /// Interval of keep-alive SENDs in milliseconds; 0 turns them off.
    /// Default 60000.
    pub keepalive_interval_ms: u32,
    /// Match incoming paths on session-id only (RFC 6714). Default `false`;
    /// also turned on by a transport bound with `use_sessmatch`.
    pub use_sessmatch: bool,
    /// Traffic logging: called for every chunk the session receives and
    /// sends, and for protocol errors. NULL (the default) logs nothing. The
    /// table is copied by `msgwire_msrp_session_start`; `traffic_user_data`
    /// must stay valid until the session is freed.
    pub traffic: *const msgwire_msrp_traffic_callbacks,
    /// Passed as the first argument of every `traffic` callback.
    pub traffic_user_data: *mut c_void,
    /// Most body bytes in one chunk of a message sent with
    /// `msgwire_msrp_session_send_message` (at least 1). Default 65536.
    pub chunk_size: u64,
    /// Most body bytes of messages sent with
    /// `msgwire_msrp_session_send_message` in chunks written and not yet
    /// answered 200: no new chunk starts while that many are. It bounds how
    /// long a chat message waits behind a transfer to a slow receiver, and
    /// limits a transfer to this many bytes per round trip. Default
    /// 4 MiB; 0 for no limit.
    pub send_window: u64,
    /// Deliver incoming SENDs as whole messages, reassembled by Message-ID
    /// (to `on_incoming` as one chunk with `Byte-Range: 1-N/N`, or to a
    /// sink, see `sink_directory` and `sink`), instead of chunk by chunk
    /// as received (`false`, the default). SENDs without a Message-ID are
    /// delivered per chunk either way.
    pub whole_messages: bool,
    /// With `whole_messages`: the largest message accepted, in bytes;
    /// larger ones are answered 413 and reported to `on_message_aborted`.
    /// Also bounds the memory the incomplete messages kept in memory take
    /// together (at most 16 are reassembled at once; one giving way is
    /// reported with `MSGWIRE_MSRP_ABORT_REASON_CROWDED`). Default
    /// 16 MiB; raise it when storing messages in files.
    pub max_message_size: u64,
    /// With `whole_messages`: store each message in this directory
    /// (NUL-terminated, read only during `msgwire_msrp_session_start`),
    /// as a file named after its Message-ID, written as the chunks arrive
    /// and removed when the message is dropped; `on_message_stored`
    /// reports a complete one. NULL (the default) keeps messages in memory.
    /// A path that is not a directory is `MSGWIRE_MSRP_TRANSFER_FILE`.
    pub sink_directory: *const c_char,
    /// With `whole_messages`: store messages through these callbacks
    /// (copied by `msgwire_msrp_session_start`) instead; NULL (the
    /// default) for none. Setting both `sink` and `sink_directory` is
    /// `MSGWIRE_INVALID_ARGUMENT`.
    pub sink: *const crate::transfer::msgwire_msrp_sink_callbacks,
    /// Passed as the first argument of every `sink` callback; must stay
    /// valid until the session is freed.
    pub sink_user_data: *mut c_void,
}

/// A traffic callback reporting a chunk's start line and headers, a body
/// slice, or its end-line, received or sent.
///
/// `connection` names the connection (`local-address <-> peer-address`),
/// `transaction_id` the chunk; both are NUL-terminated and, like
/// `bytes[0..len]`, lent for the call only.
///
/// Threads: runs on msgwire worker threads (the reader, the timer) or on
/// the thread that sends a chunk; calls for one session do not overlap in
/// practice but may come from different threads. It must not block and
/// must not call back into the session.
pub type msgwire_msrp_traffic_callback = Option<
    unsafe extern "C" fn(
        user_data: *mut c_void,
        connection: *const c_char,
        transaction_id: *const c_char,
        bytes: *const u8,
        len: usize,
    ),
>;

/// A traffic callback for diagnostics: `level` is 0 debug, 1 info, 2 warn,
/// 3 error, 4 fatal; `text` is NUL-terminated and lent for the call. Same
/// threading rules as `msgwire_msrp_traffic_callback`.
pub type msgwire_msrp_traffic_message_callback =
    Option<unsafe extern "C" fn(user_data: *mut c_void, level: u32, text: *const c_char)>;

/// The traffic logger of a session (the legacy Logger interface). Every
/// entry may be NULL.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct msgwire_msrp_traffic_callbacks {
    /// A chunk's start line and headers were received (`bytes` is the
    /// exact text, blank line included when a body follows).
    pub received_new_chunk: msgwire_msrp_traffic_callback,
    /// A slice of a received chunk's body.
    pub received_chunk_data: msgwire_msrp_traffic_callback,
    /// A received chunk's end-line (`-------<tid><flag>`).
    pub received_chunk_end: msgwire_msrp_traffic_callback,
    /// A chunk's start line and headers were queued for sending.
    pub sent_new_chunk: msgwire_msrp_traffic_callback,
    /// The body of a chunk queued for sending.
    pub sent_chunk_data: msgwire_msrp_traffic_callback,
    /// The end-line of a chunk queued for sending.
    pub sent_chunk_end: msgwire_msrp_traffic_callback,
    /// A diagnostic message (e.g. a protocol error from the peer).
    pub message: msgwire_msrp_traffic_message_callback,
}

/// Adapts a C callback table to the core's traffic logger.
struct CTraffic {
    table: msgwire_msrp_traffic_callbacks,
    user_data: *mut c_void,
}

// SAFETY: the header tells C callers that the traffic callbacks run on
// worker threads and that `traffic_user_data` stays valid until the
// session is freed; the pointer is only handed back to those callbacks.
unsafe impl Send for CTraffic {}
// SAFETY: as above; no Rust state is shared through the pointer.
unsafe impl Sync for CTraffic {}

impl CTraffic {
    fn call(&self, f: msgwire_msrp_traffic_callback, connection: &str, tid: &str, bytes: &[u8]) {
        let Some(f) = f else { return };
        let (Ok(c), Ok(t)) = (
            std::ffi::CString::new(connection),
            std::ffi::CString::new(tid),
        ) else {
            return;
        };
        // SAFETY: a C function pointer from the table the caller supplied,
        // with the user data it asked for; the strings and bytes live
        // through the call, as documented.
        unsafe {
            f(
                self.user_data,
                c.as_ptr(),
                t.as_ptr(),
                bytes.as_ptr(),
                bytes.len(),
            )
        }
    }
}

impl msgwire_core::msrp::trafficlog::TrafficLogger for CTraffic {
    fn received_new_chunk(&self, connection: &str, head: &msgwire_core::msrp::Head<'_>) {
        let raw = head.raw();
        self.call(
            self.table.received_new_chunk,
            connection,
            head.transaction_id(),
            raw.as_bytes(),
        );
    }
    fn received_chunk_data(&self, connection: &str, tid: &str, data: &[u8]) {
        self.call(self.table.received_chunk_data, connection, tid, data);
    }
    fn received_chunk_end(&self, connection: &str, tid: &str, end: &[u8]) {
        self.call(self.table.received_chunk_end, connection, tid, end);
    }
    fn sent_new_chunk(&self, connection: &str, tid: &str, head: &[u8]) {
        self.call(self.table.sent_new_chunk, connection, tid, head);
    }
    fn sent_chunk_data(&self, connection: &str, tid: &str, data: &[u8]) {
        self.call(self.table.sent_chunk_data, connection, tid, data);
    }
    fn sent_chunk_end(&self, connection: &str, tid: &str, end: &[u8]) {
        self.call(self.table.sent_chunk_end, connection, tid, end);
    }
    fn message(&self, level: msgwire_core::msrp::trafficlog::Level, text: &str) {
        use msgwire_core::msrp::trafficlog::Level;
        let Some(f) = self.table.message else { return };
        let Ok(t) = std::ffi::CString::new(text) else {
            return;
        };
        let level = match level {
            Level::Debug => 0,
            Level::Info => 1,
            Level::Warn => 2,
            Level::Error => 3,
            Level::Fatal => 4,
        };
        // SAFETY: as in `call`.
        unsafe { f(self.user_data, level, t.as_ptr()) }
    }
}

/// Fills `*cfg` with the defaults (those used when
/// `msgwire_msrp_session_start` gets NULL).
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_msrp_session_config_default(
    cfg: *mut msgwire_msrp_session_config,
) -> msgwire_status {
    guard(|| {
        // SAFETY: a writable out-pointer per the header.
        let cfg = unsafe { arg_out(cfg, "cfg")? };
        let d = SessionConfig::default();
        cfg.set(msgwire_msrp_session_config {
            accept_types: std::ptr::null(),
            automatic_reports: d.automatic_reports,
            response_timeout_ms: to_millis(d.response_timeout),
            keepalive_interval_ms: d.keepalive_interval.map_or(0, to_millis),
            use_sessmatch: d.use_sessmatch,
            traffic: std::ptr::null(),
            traffic_user_data: std::ptr::null_mut(),
            chunk_size: d.chunk_size,
            send_window: d.send_window,
            whole_messages: d.delivery == Delivery::Messages,
            max_message_size: d.max_message_size,
            sink_directory: std::ptr::null(),
            sink: std::ptr::null(),
            sink_user_data: std::ptr::null_mut(),
        });
        Ok(())
    })
}

/// Converts a C session config.
///
/// # Safety
///
/// `cfg.accept_types` and `cfg.sink_directory` are NULL or NUL-terminated
/// strings; `cfg.traffic` and `cfg.sink` NULL or readable tables.
unsafe fn session_config(cfg: &msgwire_msrp_session_config) -> Result<SessionConfig, Error> {
    // SAFETY: forwarded contract.
    let accept = unsafe { arg_opt_str(cfg.accept_types, "accept_types")? };
    let mut config = SessionConfig::default();
    if let Some(text) = accept {
        config.accept_types = text
            .split(|c: char| c == ',' || c.is_ascii_whitespace())
            .filter(|t| !t.is_empty())
            .map(str::to_string)
            .collect();
    }
    config.automatic_reports = cfg.automatic_reports;
    config.response_timeout = millis(cfg.response_timeout_ms, "response_timeout_ms")?;
    config.keepalive_interval = (cfg.keepalive_interval_ms != 0)
        .then(|| Duration::from_millis(u64::from(cfg.keepalive_interval_ms)));
    config.use_sessmatch = cfg.use_sessmatch;
    if cfg.chunk_size == 0 {
        return Err(Error::invalid("chunk_size must be at least 1"));
    }
    config.chunk_size = cfg.chunk_size;
    config.send_window = cfg.send_window;
    config.delivery = if cfg.whole_messages {
        Delivery::Messages
    } else {
        Delivery::Chunks
    };
    config.max_message_size = cfg.max_message_size;
    // SAFETY: forwarded contract.
    let dir = unsafe { arg_opt_str(cfg.sink_directory, "sink_directory")? };
    // SAFETY: forwarded contract (read, copied, only during this call).
    let sink = unsafe { cfg.sink.as_ref() };
    config.sink_factory = match (dir, sink) {
        (Some(_), Some(_)) => {
            return Err(Error::invalid("sink_directory and sink cannot both be set"))
        }
        (Some(dir), None) => Some(crate::transfer::directory_sink_factory(dir)?),
        // SAFETY: the C caller vouches for the table and its user data.
        (None, Some(table)) => {
            Some(unsafe { crate::transfer::c_sink_factory(table, cfg.sink_user_data)? })
        }
        (None, None) => None,
    };
    if !cfg.traffic.is_null() {
        // SAFETY: a non-NULL pointer to a callback table per the header,
        // read (copied) only during this call.
        let table = unsafe { *cfg.traffic };
        config.logger = Some(SharedLogger {
            logger: std::sync::Arc::new(CTraffic {
                table,
                user_data: cfg.traffic_user_data,
            }),
            label: String::new(),
        });
    }
    Ok(config)
}

/// Called for each request the peer sends that the application must see:
/// a SEND that was accepted (already answered 200, its success REPORT
/// already sent when asked for and `automatic_reports` is on), a REPORT,
/// or another request such as NICKNAME.
///
/// `chunk` is lent for this call only: copy what you need (or build a new
/// chunk) before returning; do not free it.
///
/// Threads: runs on a msgwire worker thread (the connection's reader
/// thread), never concurrently with another callback of the same session.
/// It must not block: while it runs nothing else is read from the
/// connection. It may call `msgwire_msrp_session_send_chunk`,
/// `msgwire_msrp_session_make_message` and
/// `msgwire_msrp_session_shutdown(session, false)`; it must not call
/// `msgwire_msrp_session_deliver_chunk`, `shutdown(session, true)` or
/// `msgwire_msrp_session_free` (they are refused or deferred: they would
/// wait for this very thread).
pub type msgwire_msrp_incoming_callback =
    Option<unsafe extern "C" fn(user_data: *mut c_void, chunk: *const msgwire_msrp_chunk)>;

/// Called with the outcome of a request sent by
/// `msgwire_msrp_session_send_chunk` that expects a response
/// (Failure-Report `yes`, the default, or `partial`): the peer's response,
/// or one made up by msgwire (`local` is `true`: 408 when none came within
/// the response timeout or the connection ended; 200 for `partial`).
///
/// `transaction_id` (NUL-terminated) and `response` are lent for this call
/// only. Same thread rules as `msgwire_msrp_incoming_callback` (it may also
/// run on the shared timer thread).
pub type msgwire_msrp_response_callback = Option<
    unsafe extern "C" fn(
        user_data: *mut c_void,
        transaction_id: *const c_char,
        response: *const msgwire_msrp_chunk,
        local: bool,
    ),
>;

/// Called once when the connection has ended, as the session's last
/// callback: `reason` is `MSGWIRE_OK` for a clean end (the peer closed, or
/// `msgwire_msrp_session_shutdown`) and `MSGWIRE_MSRP_ENDPOINT_IO` when an
/// I/O error ended it. Requests still waiting have had their
/// `on_response` (with `local`) before it.
///
/// Not called when the session is freed without a shutdown. Same thread
/// rules as `msgwire_msrp_incoming_callback` (it may also run inside
/// `msgwire_msrp_session_shutdown`'s worker).
pub type msgwire_msrp_closed_callback =
    Option<unsafe extern "C" fn(user_data: *mut c_void, reason: msgwire_status)>;

/// Releases the `user_data` given to `msgwire_msrp_session_start`. Called
/// exactly once, from `msgwire_msrp_session_free` on the thread that calls
/// it, after the session's last callback has returned; or from
/// `msgwire_msrp_session_start` itself when it fails.
pub type msgwire_msrp_user_data_free = Option<unsafe extern "C" fn(user_data: *mut c_void)>;

/// With `whole_messages` and a sink (`sink_directory` or `sink`): an
/// incoming message was stored completely (its sink finished).
/// `message_id` and `content_type` (NULL when the message has none) are
/// NUL-terminated; they and `head` (the headers of its first chunk to
/// arrive, with `Byte-Range: 1-N/N` and no body) are lent for this call
/// only. Same thread rules as `msgwire_msrp_incoming_callback`.
pub type msgwire_msrp_message_stored_callback = Option<
    unsafe extern "C" fn(
        user_data: *mut c_void,
        message_id: *const c_char,
        content_type: *const c_char,
        size: u64,
        head: *const msgwire_msrp_chunk,
    ),
>;

/// With `whole_messages`: an incomplete incoming message was dropped, for
/// `reason`; `detail` says more (e.g. the sink's error). Both strings are
/// NUL-terminated and lent for this call only. Same thread rules as
/// `msgwire_msrp_incoming_callback`.
pub type msgwire_msrp_message_aborted_callback = Option<
    unsafe extern "C" fn(
        user_data: *mut c_void,
        message_id: *const c_char,
        reason: crate::transfer::msgwire_msrp_abort_reason,
        detail: *const c_char,
    ),
>;

/// The callbacks of a session; each may be NULL to ignore those events.
/// The struct is copied by `msgwire_msrp_session_start`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct msgwire_msrp_session_callbacks {
    /// An incoming request (may be NULL).
    pub on_incoming: msgwire_msrp_incoming_callback,
    /// The outcome of a request sent with `_send_chunk` (may be NULL).
    pub on_response: msgwire_msrp_response_callback,
    /// The connection ended (may be NULL).
    pub on_closed: msgwire_msrp_closed_callback,
    /// Releases `user_data` when the session is freed (may be NULL).
    pub user_data_free: msgwire_msrp_user_data_free,
    /// A whole incoming message was stored by its sink (may be NULL).
    pub on_message_stored: msgwire_msrp_message_stored_callback,
    /// An incomplete incoming message was dropped (may be NULL).
    pub on_message_aborted: msgwire_msrp_message_aborted_callback,
}

/// The C callbacks with their `user_data`.
pub(crate) struct CCallbacks {
    fns: msgwire_msrp_session_callbacks,
    user_data: *mut c_void,
}

// SAFETY: the header makes the C side promise that the callbacks may run on
// worker threads with this `user_data`; msgwire only moves the pointer
// between threads and never dereferences it.
unsafe impl Send for CCallbacks {}

impl CCallbacks {
    fn release(self) {
        if let Some(free) = self.fns.user_data_free {
            // SAFETY: the caller's release function with its own pointer,
            // called once (self is consumed).
            unsafe { free(self.user_data) }
        }
    }
}

/// What the session handle and the core's callback closure share.
pub(crate) struct Shared {
    /// `None` once the session handle was freed.
    slot: Mutex<Option<CCallbacks>>,
    /// Set when `_free` ran inside one of this session's callbacks: the
    /// callback wrapper releases `user_data` when that callback returns.
    free_pending: std::sync::atomic::AtomicBool,
    /// The messages sent with `msgwire_msrp_session_send_message` (see
    /// [`crate::transfer`]).
    pub(crate) transfers: TransferTable,
}

thread_local! {
    /// The session whose callback this thread is running, if any.
    static IN_CALLBACK: Cell<*const Shared> = const { Cell::new(std::ptr::null()) };
}

fn in_any_callback() -> bool {
    IN_CALLBACK.with(|c| !c.get().is_null())
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Option<CCallbacks>> {
        // A panic while the lock was held cannot leave the slot half
        // written (it is only ever replaced whole), so poisoning is ignored.
        self.slot.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Runs `f` with the C callbacks, if the session is still alive, with
    /// the thread marked as running a callback of this session.
    pub(crate) fn call(self: &Arc<Self>, f: impl FnOnce(&CCallbacks)) {
        let mut slot = self.lock();
        let Some(cbs) = slot.as_ref() else { return };
        let previous = IN_CALLBACK.with(|c| c.replace(Arc::as_ptr(self)));
        // No panic can come out of a C function; `f` only builds views.
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(cbs)));
        IN_CALLBACK.with(|c| c.set(previous));
        if self
            .free_pending
            .swap(false, std::sync::atomic::Ordering::SeqCst)
        {
            if let Some(cbs) = slot.take() {
                drop(slot);
                cbs.release();
                release_transfers(&self.transfers);
            }
        }
        // A panic in msgwire's own part of the call is a bug; there is no
        // C caller to report it to, so the event is dropped.
        let _ = result;
    }

    fn event(self: &Arc<Self>, ev: EndpointEvent) {
        match ev {
            EndpointEvent::Session(SessionEvent::Incoming(chunk)) => self.call(|c| {
                if let Some(f) = c.fns.on_incoming {
                    let view = msgwire_msrp_chunk::new(chunk);
                    // SAFETY: the caller's callback; `view` outlives the
                    // call as documented.
                    unsafe { f(c.user_data, &view) }
                }
            }),
            EndpointEvent::Session(SessionEvent::Response {
                transaction_id,
                response,
                local,
            }) => self.call(|c| {
                if let Some(f) = c.fns.on_response {
                    // A transaction id is made of `ident` characters, so it
                    // has no NUL; fall back to "" rather than fail.
                    let tid = CString::new(transaction_id).unwrap_or_default();
                    let view = msgwire_msrp_chunk::new(response);
                    // SAFETY: the caller's callback; `tid` and `view`
                    // outlive the call as documented.
                    unsafe { f(c.user_data, tid.as_ptr(), &view, local) }
                }
            }),
            EndpointEvent::Closed(error) => self.call(|c| {
                if let Some(f) = c.fns.on_closed {
                    let reason = match error {
                        None => msgwire_status::MSGWIRE_OK,
                        Some(_) => msgwire_status::MSGWIRE_MSRP_ENDPOINT_IO,
                    };
                    // SAFETY: the caller's callback.
                    unsafe { f(c.user_data, reason) }
                }
            }),
            EndpointEvent::MessageStored {
                message_id,
                content_type,
                size,
                head,
            } => self.call(|c| {
                if let Some(f) = c.fns.on_message_stored {
                    let id = CString::new(message_id).unwrap_or_default();
                    let ct = content_type.and_then(|t| CString::new(t).ok());
                    let view = msgwire_msrp_chunk::new(head);
                    // SAFETY: the caller's callback; the strings and `view`
                    // outlive the call as documented.
                    unsafe {
                        f(
                            c.user_data,
                            id.as_ptr(),
                            ct.as_ref().map_or(std::ptr::null(), |t| t.as_ptr()),
                            size,
                            &view,
                        )
                    }
                }
            }),
            EndpointEvent::MessageAborted { message_id, reason } => self.call(|c| {
                if let Some(f) = c.fns.on_message_aborted {
                    let (reason, detail) = crate::transfer::abort_reason(&reason);
                    let id = CString::new(message_id).unwrap_or_default();
                    let detail = CString::new(detail.replace('\0', " ")).unwrap_or_default();
                    // SAFETY: the caller's callback; the strings outlive
                    // the call as documented.
                    unsafe { f(c.user_data, id.as_ptr(), reason, detail.as_ptr()) }
                }
            }),
            // Protocol errors were already answered (400/413) by the
            // session, and a keep-alive failure closes the connection,
            // which on_closed reports.
            EndpointEvent::Session(SessionEvent::ProtocolError(_))
            | EndpointEvent::Session(SessionEvent::KeepaliveTimeout) => {}
            _ => {}
        }
    }
}

/// The timer shared by the live sessions, with their number (see the
/// module docs).
static SESSION_TIMER: Mutex<(usize, Option<Timer>)> = Mutex::new((0, None));

/// A share of the session timer, held by one session handle; dropping it
/// stops the timer's thread when it was the last share (once the core has
/// dropped its own clones too).
pub(crate) struct TimerShare;

/// Takes a share of the session timer, starting its thread if needed.
pub(crate) fn session_timer() -> Result<(TimerShare, Timer), Error> {
    let mut slot = SESSION_TIMER.lock().unwrap_or_else(|e| e.into_inner());
    let timer = match &slot.1 {
        Some(t) => t.clone(),
        None => {
            let t = Timer::new().map_err(msgwire_core::msrp::endpoint::Error::Io)?;
            slot.1 = Some(t.clone());
            t
        }
    };
    slot.0 += 1;
    Ok((TimerShare, timer))
}

impl Drop for TimerShare {
    fn drop(&mut self) {
        let last = {
            let mut slot = SESSION_TIMER.lock().unwrap_or_else(|e| e.into_inner());
            slot.0 -= 1;
            if slot.0 == 0 {
                slot.1.take()
            } else {
                None
            }
        };
        // Dropped outside the lock: the last clone joins the thread.
        drop(last);
    }
}

/// SIGPIPE blocked in the calling thread's mask until dropped (see the
/// module docs). Threads spawned meanwhile inherit the blocked signal.
pub(crate) struct SigpipeBlocked {
    previous: Option<libc::sigset_t>,
}

impl SigpipeBlocked {
    pub(crate) fn new() -> Self {
        // SAFETY: sigset_t is plain data that sigemptyset initialises;
        // pthread_sigmask only reads `set` and writes `previous`.
        unsafe {
            let mut set: libc::sigset_t = std::mem::zeroed();
            let mut previous: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut set);
            libc::sigaddset(&mut set, libc::SIGPIPE);
            let ok = libc::pthread_sigmask(libc::SIG_BLOCK, &set, &mut previous) == 0;
            SigpipeBlocked {
                previous: ok.then_some(previous),
            }
        }
    }
}

impl Drop for SigpipeBlocked {
    fn drop(&mut self) {
        if let Some(previous) = &self.previous {
            // SAFETY: restores the mask saved by `new` on this same thread.
            unsafe {
                libc::pthread_sigmask(libc::SIG_SETMASK, previous, std::ptr::null_mut());
            }
        }
    }
}

/// A running MSRP session over a bound transport.
///
/// Created by `msgwire_msrp_session_start`, released by
/// `msgwire_msrp_session_free`. The functions on it may be called from any
/// thread, also concurrently (except `_free`, which must be the last call).
pub struct msgwire_msrp_session {
    // Field order is drop order: the core session (and with it, usually,
    // its timer clone) goes before the share of the timer.
    pub(crate) session: MsrpSession,
    pub(crate) shared: Arc<Shared>,
    _timer: TimerShare,
}

/// Starts a session on `transport`, which this call consumes whatever the
/// outcome (do not use or free it afterwards; NULL is
/// `MSGWIRE_NULL_PARAMETER`).
///
/// `cfg` may be NULL for the defaults; it and its `accept_types` string are
/// only read during the call. `callbacks` may be NULL for none; the struct
/// is copied. `user_data` is passed to every callback and to
/// `callbacks->user_data_free`, which releases it when the session is freed
/// (or right away when this call fails, so the caller never has to).
///
/// On success `*out` receives the session, to release with
/// `msgwire_msrp_session_free`. Callbacks may run before this function
/// returns (data that arrived with the bind exchange), on worker threads or
/// on the calling thread.
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_msrp_session_start(
    transport: *mut msgwire_msrp_transport,
    cfg: *const msgwire_msrp_session_config,
    callbacks: *const msgwire_msrp_session_callbacks,
    user_data: *mut c_void,
    out: *mut *mut msgwire_msrp_session,
) -> msgwire_status {
    guard(|| {
        // SAFETY: `callbacks` NULL or readable per the header.
        let fns = unsafe { callbacks.as_ref() }.copied().unwrap_or_default();
        let cbs = CCallbacks { fns, user_data };
        if transport.is_null() {
            cbs.release();
            return Err(Error::null("transport"));
        }
        // SAFETY: a transport handle from `_complete`, consumed here once,
        // per the header.
        let bound = unsafe { Box::from_raw(transport) }.bound;
        // SAFETY: `cfg` NULL or readable (with a valid accept_types) and
        // `out` writable, per the header.
        let checked = unsafe {
            match cfg.as_ref() {
                Some(c) => session_config(c),
                None => Ok(SessionConfig::default()),
            }
            .and_then(|c| arg_out(out, "out").map(|out| (c, out)))
        };
        let (config, out) = match checked {
            Ok(v) => v,
            Err(e) => {
                cbs.release();
                return Err(e);
            }
        };
        let shared = Arc::new(Shared {
            slot: Mutex::new(Some(cbs)),
            free_pending: false.into(),
            transfers: TransferTable::default(),
        });
        let for_events = shared.clone();
        let started = session_timer().and_then(|(share, timer)| {
            let options = EngineOptions {
                timer: Some(timer),
                ..EngineOptions::default()
            };
            let _mask = SigpipeBlocked::new();
            MsrpSession::start_with(bound, config, options, move |ev| for_events.event(ev))
                .map(|session| (session, share))
                .map_err(Error::from)
        });
        match started {
            Ok((session, share)) => {
                out.set(new_handle(msgwire_msrp_session {
                    session,
                    shared,
                    _timer: share,
                }));
                Ok(())
            }
            Err(e) => {
                if let Some(cbs) = shared.lock().take() {
                    cbs.release();
                }
                Err(e)
            }
        }
    })
}

/// Queues `chunk` (a request or response along this session's paths,
/// usually from `msgwire_msrp_session_make_message`) for sending and
/// returns; blocks only while the connection's send queue is full.
///
/// The chunk is copied: the caller keeps it and frees it. When it is a
/// request expecting a response (Failure-Report `yes` or `partial`), its
/// outcome is reported to `on_response`; with `Failure-Report: no` nothing
/// is reported. Returns `MSGWIRE_MSRP_ENDPOINT_CLOSED` once the session is
/// shutting down, `MSGWIRE_MSRP_ENDPOINT_DUPLICATE_TRANSACTION` when a
/// request with the same transaction id is still waiting, and
/// `MSGWIRE_MSRP_ENDPOINT_HEADER` when its Failure-Report is malformed.
/// May be called from a callback.
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_msrp_session_send_chunk(
    session: *const msgwire_msrp_session,
    chunk: *const msgwire_msrp_chunk,
) -> msgwire_status {
    guard(|| {
        // SAFETY: a live session and chunk per the header.
        let (s, c) = unsafe { (arg_ref(session, "session")?, arg_ref(chunk, "chunk")?) };
        s.session.send_chunk(c.chunk.clone(), None)?;
        Ok(())
    })
}

/// Sends `chunk` and waits for its response (at most the response
/// timeout). The chunk is copied: the caller keeps it and frees it.
///
/// * 2xx: `MSGWIRE_OK`, `*response_out` receives the response, a new chunk
///   to release with `msgwire_msrp_chunk_free`.
/// * `Failure-Report: no`: `MSGWIRE_OK` at once and `*response_out` is set
///   to NULL (no response will come).
/// * Any other code, from the peer or the local 408 after the timeout:
///   `MSGWIRE_MSRP_ENDPOINT_RESPONSE`; `msgwire_last_error()` gives the code
///   and comment (e.g. `"request failed: 415 ..."`). `*response_out` is not
///   written.
/// * The connection ended first: `MSGWIRE_MSRP_ENDPOINT_CLOSED`.
///
/// The outcome is not reported to `on_response`. Blocks the calling
/// thread; from a session callback it is refused with
/// `MSGWIRE_INVALID_ARGUMENT`.
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_msrp_session_deliver_chunk(
    session: *const msgwire_msrp_session,
    chunk: *const msgwire_msrp_chunk,
    response_out: *mut *mut msgwire_msrp_chunk,
) -> msgwire_status {
    guard(|| {
        // SAFETY: a live session and chunk, and a writable out-pointer, per
        // the header.
        let (s, c, out) = unsafe {
            (
                arg_ref(session, "session")?,
                arg_ref(chunk, "chunk")?,
                arg_out(response_out, "response_out")?,
            )
        };
        if in_any_callback() {
            return Err(Error::invalid(
                "deliver_chunk blocks and cannot be called from a session callback",
            ));
        }
        let response = s.session.deliver_chunk(c.chunk.clone())?;
        out.set(response.map_or(std::ptr::null_mut(), |r| {
            new_handle(msgwire_msrp_chunk::new(r))
        }));
        Ok(())
    })
}

/// Builds a SEND carrying a whole message along this session's paths, with
/// a random transaction id and Message-ID, `Byte-Range: 1-N/N` and the
/// given Content-Type (a NUL-terminated string such as `"text/plain"`).
///
/// `data[0..len]` is copied (`data` may be NULL when `len` is 0). On success
/// `*chunk_out` receives a new chunk to release with
/// `msgwire_msrp_chunk_free`; adjust it (e.g. `Success-Report: yes` with
/// `msgwire_msrp_chunk_set_header`) before sending it. A Content-Type
/// containing CR or LF is `MSGWIRE_INVALID_ARGUMENT`.
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_msrp_session_make_message(
    session: *const msgwire_msrp_session,
    data: *const u8,
    len: usize,
    content_type: *const c_char,
    chunk_out: *mut *mut msgwire_msrp_chunk,
) -> msgwire_status {
    guard(|| {
        // SAFETY: a live session, `len` readable bytes, a string and a
        // writable out-pointer, per the header.
        let (s, body, ct, out) = unsafe {
            (
                arg_ref(session, "session")?,
                arg_bytes(data, len, "data")?,
                arg_str(content_type, "content_type")?,
                arg_out(chunk_out, "chunk_out")?,
            )
        };
        if ct.contains(['\r', '\n']) || ct.trim().is_empty() {
            return Err(Error::invalid("content_type is empty or contains CR or LF"));
        }
        let chunk = s
            .session
            .make_message(Bytes::copy_from_slice(body), ct, None);
        out.set(new_handle(msgwire_msrp_chunk::new(chunk)));
        Ok(())
    })
}

/// Ends the session gracefully: sends what was already queued, waits for
/// the responses to requests already sent (bounded by the response
/// timeout), then closes the connection; `on_closed` follows. New chunks
/// are refused from the first call on.
///
/// With `wait` the call returns when the connection is closed (from a
/// session callback that is refused with `MSGWIRE_INVALID_ARGUMENT`);
/// without it the work goes on in the background and the call returns at
/// once. Calling it again only waits (with `wait`) for the first call's
/// work.
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_msrp_session_shutdown(
    session: *const msgwire_msrp_session,
    wait: bool,
) -> msgwire_status {
    guard(|| {
        // SAFETY: a live session per the header.
        let s = unsafe { arg_ref(session, "session")? };
        if wait && in_any_callback() {
            return Err(Error::invalid(
                "shutdown(wait) cannot be called from a session callback",
            ));
        }
        s.session.shutdown(wait);
        Ok(())
    })
}

/// Releases a session and its `user_data` (through `user_data_free`),
/// and the `user_data` of messages sent with
/// `msgwire_msrp_session_send_message` that are still running (their
/// update callbacks get no final update). NULL is ignored.
///
/// Does not wait for the peer: a session that was not shut down is aborted
/// (its connection reset, no `on_closed`), and the rest of a
/// `shutdown(session, false)` still in progress finishes in the
/// background. Either way, once this returns no callback of the session is
/// running or will run. It waits for a callback running on another thread
/// to return. Called from one of the session's own callbacks, the release
/// of `user_data` happens when that callback returns. The session must not
/// be used afterwards.
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_msrp_session_free(session: *mut msgwire_msrp_session) {
    guard_value((), || {
        if session.is_null() {
            return;
        }
        // SAFETY: a live handle, freed once, per the header.
        let s = unsafe { Box::from_raw(session) };
        let own_callback = IN_CALLBACK.with(|c| std::ptr::eq(c.get(), Arc::as_ptr(&s.shared)));
        if own_callback {
            // This thread holds the slot lock (see `Shared::call`).
            s.shared
                .free_pending
                .store(true, std::sync::atomic::Ordering::SeqCst);
        } else {
            let cbs = s.shared.lock().take();
            if let Some(cbs) = cbs {
                cbs.release();
            }
            release_transfers(&s.shared.transfers);
        }
        // Dropping the last core handle aborts the connection and joins its
        // threads (the core skips the join on its own reader thread).
        drop(s);
    })
}
