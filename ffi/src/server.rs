//! The MSRP server for C: many passive sessions behind one listening
//! socket, wrapping `msgwire::msrp::server::MsrpServer`.
//!
//! # Objects
//!
//! * `msgwire_msrp_server` — the shared listener(s). `_prepare` registers a
//!   local URI and gives the path to put in SDP (starting a listener for
//!   its host and port when none runs there yet); `_complete` waits for the
//!   peer's bind SEND and gives a `msgwire_msrp_transport`, the same kind
//!   of object a connector or acceptor gives, for
//!   `msgwire_msrp_session_start`. `msgwire_msrp_server_set_tls` gives
//!   it the certificate for `msrps` local URIs.
//!
//! # Threads
//!
//! Unlike the connector and acceptor, a server is meant to be shared: every
//! function except `_free` may be called from any thread, also at the same
//! time, so several threads can each block in `_complete` for their own
//! session while others prepare new ones. The functions therefore take a
//! `const` pointer. `_close` is the way to wake the threads blocked in
//! `_complete` (they return `MSGWIRE_MSRP_ENDPOINT_CLOSED`); `_free` must
//! come after every other call on the server has returned.
//!
//! # The prepared path
//!
//! `_prepare` registers its URI before it copies the path out, so a buffer
//! that is too small must not lead to a second `_prepare` (with a random
//! session-id that would register a second, different URI). The path is
//! kept for the thread that prepared it: `_local_path` gives the calling
//! thread's last path prepared on that server. Keeping it per thread (in a
//! thread-local slot, like the last error) stays correct when several
//! threads prepare on one server at the same time; a per-server "last path"
//! could hand one thread another thread's session.
//!
//! # SIGPIPE
//!
//! The server's listener thread and the threads it starts to read bind
//! requests are spawned by `_prepare`, which blocks SIGPIPE while it runs
//! (as `msgwire_msrp_session_start` does, see the endpoint module), so those
//! threads inherit the blocked signal. The 200 that `_complete` writes on
//! the calling thread goes through `send` with `MSG_NOSIGNAL`, which raises
//! no signal.

use std::cell::RefCell;
use std::ffi::c_char;
use std::sync::atomic::{AtomicU64, Ordering};

use msgwire_core::msrp::server::MsrpServer;
use msgwire_core::msrp::Uri;

use crate::endpoint::{
    arg_local_uri, bind_options, msgwire_msrp_bind_options, msgwire_msrp_transport, parse_path,
    path_text, SigpipeBlocked,
};
use crate::error::{msgwire_status, Error};
use crate::guard::{arg_buf, arg_out, arg_ref, arg_str, guard, guard_value, new_handle};
use crate::tls::msgwire_tls_server_config;

/// Many passive MSRP sessions behind shared listening sockets: each session
/// is registered with `msgwire_msrp_server_prepare` and bound with
/// `msgwire_msrp_server_complete`, and incoming connections are sorted by
/// the To-Path of their bind SEND.
///
/// Created by `msgwire_msrp_server_new`, released by
/// `msgwire_msrp_server_free`. Every other function on it may be called from
/// any thread, also concurrently.
pub struct msgwire_msrp_server {
    server: MsrpServer,
    /// Tells servers apart in the per-thread prepared-path slot (an address
    /// could be reused by a later server).
    id: u64,
}

// The handle is shared between C threads; the core server is built for that.
const _: () = {
    const fn shareable<T: Send + Sync>() {}
    shareable::<MsrpServer>();
};

static NEXT_SERVER_ID: AtomicU64 = AtomicU64::new(1);

thread_local! {
    /// The last path prepared on this thread: (server id, path text).
    static LAST_PREPARED: RefCell<Option<(u64, String)>> = const { RefCell::new(None) };
}

/// Reads a required URI argument (surrounding blanks ignored).
///
/// # Safety
///
/// As for `arg_str`.
unsafe fn arg_uri(ptr: *const c_char, name: &str) -> Result<Uri, Error> {
    // SAFETY: forwarded contract.
    let text = unsafe { arg_str(ptr, name)? };
    Ok(text.trim().parse::<Uri>()?)
}

/// Creates a server with the options in `*opts`, or the defaults when
/// `opts` is NULL (the options are copied). It listens nowhere until the
/// first `msgwire_msrp_server_prepare`.
///
/// Of the options, `incoming_connect_timeout_ms` bounds how long
/// `_complete` waits for its binding, `bind_timeout_ms` how long a
/// connection may take to send its bind SEND and how long such a binding
/// waits for a `_complete` to claim it (it is answered 481 after that), and
/// `use_sessmatch` makes bindings match on session-ids only;
/// `connect_timeout_ms` is not used. A timeout of 0 is
/// `MSGWIRE_INVALID_ARGUMENT`. On success `*out` receives a new server to
/// release with `msgwire_msrp_server_free`.
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_msrp_server_new(
    opts: *const msgwire_msrp_bind_options,
    out: *mut *mut msgwire_msrp_server,
) -> msgwire_status {
    guard(|| {
        // SAFETY: `opts` NULL or readable, `out` writable, per the header.
        let (options, out) = unsafe { (bind_options(opts)?, arg_out(out, "out")?) };
        out.set(new_handle(msgwire_msrp_server {
            server: MsrpServer::new(options),
            id: NEXT_SERVER_ID.fetch_add(1, Ordering::Relaxed),
        }));
        Ok(())
    })
}

/// Attaches a TLS server configuration (certificate and key), used by the
/// listeners of `msrps` local URIs: each connection they accept runs the
/// TLS handshake (bounded by the bind timeout) before its bind SEND is
/// read; a connection whose handshake fails is dropped. `msrp` listeners
/// are not affected.
///
/// The server keeps its own reference to the configuration: the caller
/// still owns `config` and may free it right after this call. Call it
/// before preparing the first `msrps` URI (without a configuration that is
/// `MSGWIRE_MSRP_ENDPOINT_TLS_NOT_CONFIGURED`). Calling it again replaces
/// the configuration: listeners keep running, and connections they accept
/// from then on present the new certificate (e.g. a renewed one). May be
/// called from any thread.
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_msrp_server_set_tls(
    server: *const msgwire_msrp_server,
    config: *const msgwire_tls_server_config,
) -> msgwire_status {
    guard(|| {
        // SAFETY: a live server and a live configuration, per the header.
        let (s, config) = unsafe { (arg_ref(server, "server")?, arg_ref(config, "config")?) };
        s.server.set_tls(config.config.clone());
        Ok(())
    })
}

/// Registers a local URI for one incoming session and copies the path to
/// advertise into `buf`.
///
/// `local_uri` is a NUL-terminated MSRP URI or NULL. A missing session-id
/// becomes a random one. A missing port or port 0 reuses the listener this
/// server already runs on that host (for the same scheme), or listens on a
/// free port; the port in use is written into the returned path, so every
/// session prepared with port 0 on one host shares one port. An explicit
/// port listens on (or reuses) exactly that port. NULL means
/// `msrp://<default ip>:0/<random>;tcp` (see `msgwire_default_ip`).
/// Preparing a URI that is already
/// registered keeps its registration.
///
/// The path is written as its SDP `a=path` value, NUL-terminated, with its
/// length (without the NUL) in `*out_len`. On `MSGWIRE_BUFFER_TOO_SMALL`
/// (needed length in `*out_len`) the URI is registered all the same: do not
/// prepare again (that would register a second URI when the session-id is
/// random) but fetch the path with `msgwire_msrp_server_local_path`, from
/// the same thread, with a buffer of `*out_len + 1` bytes.
///
/// Other failures: `MSGWIRE_MSRP_URI_*` for a malformed URI,
/// `MSGWIRE_MSRP_ENDPOINT_LISTEN` when the port cannot be bound or this
/// server listens there for the other scheme,
/// `MSGWIRE_MSRP_ENDPOINT_TLS_NOT_CONFIGURED` for `msrps` without
/// `msgwire_msrp_server_set_tls`, `MSGWIRE_MSRP_ENDPOINT_CLOSED` after
/// `msgwire_msrp_server_close`. May be called from any thread.
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_msrp_server_prepare(
    server: *const msgwire_msrp_server,
    local_uri: *const c_char,
    buf: *mut c_char,
    cap: usize,
    out_len: *mut usize,
) -> msgwire_status {
    guard(|| {
        // SAFETY: a live server, a string or NULL, and a caller buffer, per
        // the header.
        let (s, uri, out) = unsafe {
            (
                arg_ref(server, "server")?,
                arg_local_uri(local_uri)?,
                arg_buf(buf.cast(), cap, out_len)?,
            )
        };
        let path = {
            // A listener started here, and the threads it starts, inherit
            // the blocked SIGPIPE (see the module docs).
            let _mask = SigpipeBlocked::new();
            path_text(&s.server.prepare(uri)?)
        };
        LAST_PREPARED.with(|slot| {
            let mut slot = slot.borrow_mut();
            let (_, path) = slot.insert((s.id, path));
            out.fill(path.as_bytes(), true)
        })
    })
}

/// Copies the path chosen by the calling thread's last successful
/// `msgwire_msrp_server_prepare` on this server into `buf` (same buffer
/// rules). Returns `MSGWIRE_NOT_FOUND` when this thread has not prepared on
/// this server, or has prepared on another server since.
///
/// Each thread keeps only its own last path, so this is the retry after
/// `MSGWIRE_BUFFER_TOO_SMALL` even when other threads prepare on the same
/// server meanwhile.
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_msrp_server_local_path(
    server: *const msgwire_msrp_server,
    buf: *mut c_char,
    cap: usize,
    out_len: *mut usize,
) -> msgwire_status {
    guard(|| {
        // SAFETY: a live server and a caller buffer, per the header.
        let (s, out) = unsafe {
            (
                arg_ref(server, "server")?,
                arg_buf(buf.cast(), cap, out_len)?,
            )
        };
        LAST_PREPARED.with(|slot| {
            let slot = slot.borrow();
            let (_, path) = slot.as_ref().filter(|(id, _)| *id == s.id).ok_or_else(|| {
                Error::not_found("this thread has not prepared a path on this server")
            })?;
            out.fill(path.as_bytes(), true)
        })
    })
}

/// Waits for the peer's binding and answers its bind SEND 200.
///
/// `remote_path` is the peer's SDP `a=path` value (URIs separated by
/// spaces). `local_uri` selects the session:
///
/// * NULL: the first binding, for any registered URI, whose From-Path is
///   `remote_path`.
/// * A URI as returned by `_prepare`: the binding for that URI. When its
///   From-Path is not `remote_path` it is answered 481 and the call fails
///   with `MSGWIRE_MSRP_ENDPOINT_BIND_MISMATCH` (the URI stays registered).
///
/// Blocks the calling thread for up to the incoming-connect timeout (plus
/// the bind timeout to write the 200). Several threads may wait on one
/// server at the same time, each for its own session. On success
/// `*transport_out` receives a bound transport to pass to
/// `msgwire_msrp_session_start` (or release with
/// `msgwire_msrp_transport_free`), and the URI is unregistered: one binding
/// per `_prepare`.
///
/// Other failures: `MSGWIRE_MSRP_ENDPOINT_INCOMING_CONNECT_TIMEOUT` when no
/// matching binding arrives in time (a connection whose TLS handshake
/// fails is dropped and never becomes a binding); `MSGWIRE_MSRP_ENDPOINT_CLOSED` when
/// the server is (or gets) closed, or `local_uri` is not registered (never
/// prepared, already bound or cleaned up); `MSGWIRE_MSRP_URI_*` and
/// `MSGWIRE_MSRP_ENDPOINT_EMPTY_PATH` for malformed arguments.
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_msrp_server_complete(
    server: *const msgwire_msrp_server,
    local_uri: *const c_char,
    remote_path: *const c_char,
    transport_out: *mut *mut msgwire_msrp_transport,
) -> msgwire_status {
    guard(|| {
        // SAFETY: a live server, a string or NULL, a string and a writable
        // out-pointer, per the header.
        let (s, local, remote, out) = unsafe {
            (
                arg_ref(server, "server")?,
                arg_local_uri(local_uri)?,
                arg_str(remote_path, "remote_path")?,
                arg_out(transport_out, "transport_out")?,
            )
        };
        let path = parse_path(remote)?;
        let bound = match &local {
            None => s.server.complete(&path)?,
            Some(uri) => s.server.complete_for(uri, &path)?,
        };
        out.set(new_handle(msgwire_msrp_transport { bound }));
        Ok(())
    })
}

/// Unregisters `local_uri` (as returned by `_prepare`), e.g. when the call
/// setup failed: a binding already waiting for it is answered 481 and
/// dropped, later ones get 481 at once, and a `_complete` waiting for it
/// returns `MSGWIRE_MSRP_ENDPOINT_CLOSED`. Unknown URIs are ignored
/// (`MSGWIRE_OK`). The listener keeps serving the other sessions. May be
/// called from any thread.
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_msrp_server_cleanup(
    server: *const msgwire_msrp_server,
    local_uri: *const c_char,
) -> msgwire_status {
    guard(|| {
        // SAFETY: a live server and a string, per the header.
        let (s, uri) = unsafe { (arg_ref(server, "server")?, arg_uri(local_uri, "local_uri")?) };
        s.server.cleanup(&uri);
        Ok(())
    })
}

/// Stops listening: closes every listener and the connections still being
/// bound, wakes every thread waiting in `_complete` (which returns
/// `MSGWIRE_MSRP_ENDPOINT_CLOSED`) and joins the server's threads before it
/// returns. Later `_prepare` and `_complete` calls fail with
/// `MSGWIRE_MSRP_ENDPOINT_CLOSED`. Sessions started on transports the
/// server gave out are not affected. Calling it again does nothing. May be
/// called from any thread, also while others wait in `_complete`.
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_msrp_server_close(server: *const msgwire_msrp_server) -> msgwire_status {
    guard(|| {
        // SAFETY: a live server per the header.
        let s = unsafe { arg_ref(server, "server")? };
        s.server.close();
        Ok(())
    })
}

/// Releases a server, closing it first if `_close` was not called (bounded:
/// it does not wait for peers). NULL is ignored. Must be the last call on
/// the server: no other thread may still be inside a function on it (to
/// stop threads blocked in `_complete`, call `msgwire_msrp_server_close`,
/// let them return, then free). Transports and sessions it gave out are not
/// affected.
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_msrp_server_free(server: *mut msgwire_msrp_server) {
    guard_value((), || {
        if server.is_null() {
            return;
        }
        // SAFETY: a live handle, freed once and no longer in use, per the
        // header.
        let s = unsafe { Box::from_raw(server) };
        // Forget this thread's prepared path now rather than at thread exit.
        LAST_PREPARED.with(|slot| {
            let mut slot = slot.borrow_mut();
            if slot.as_ref().is_some_and(|(id, _)| *id == s.id) {
                *slot = None;
            }
        });
        // Dropping the core server closes it and joins its threads.
        drop(s);
    })
}
