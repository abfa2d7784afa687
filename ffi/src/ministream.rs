//! I2P ministreaming for C, wrapping `msgwire::ministream`: socket managers
//! (TCP or an in-memory pair) and blocking streams.
//!
//! # Objects
//!
//! * `msgwire_ministream_manager` — one endpoint with one destination
//!   (`ip:port` for TCP, a generated name in memory). It opens streams
//!   (`_connect`), takes incoming ones (`_accept_streams` once, then
//!   `_accept`), pings destinations, and is shut down by `_destroy` (or
//!   `_free`).
//! * `msgwire_ministream_socket` — one stream: blocking `_read`/`_write`,
//!   `_close`. A socket may be used by two threads at once (one reading,
//!   one writing); `_free` must come after both are done.
//!
//! # Threads
//!
//! There are no callbacks: every call blocks the calling thread until it
//! is done or its timeout passes. The library runs each transport
//! connection on a reader and a writer thread, a TCP manager runs one more
//! thread accepting connections, and deadlines are served by the timer
//! thread MSRP sessions and STS handles share; all of them end when the
//! last handle is freed, so a program that frees everything leaves no
//! msgwire thread behind.
//!
//! # Timeouts
//!
//! Timeouts are in milliseconds. In `msgwire_ministream_config`, 0 means
//! "wait forever" for reads and writes; `_accept` takes a signed timeout
//! where a negative value waits forever; `_connect` and `_ping` take 0 for
//! the configured connect timeout.

use std::ffi::c_char;
use std::time::Duration;

use msgwire_core::ministream::{
    Error as MsError, ManagerConfig, ServerSocket, Socket, SocketManager, SocketOptions,
};
use msgwire_core::net::{TlsClientConfig, TlsServerConfig};

use crate::endpoint::{session_timer, SigpipeBlocked, TimerShare};
use crate::error::{msgwire_status, Error};
use crate::guard::{arg_buf, arg_bytes, arg_out, arg_ref, arg_str, free_handle, guard, new_handle};
use crate::tls::{msgwire_tls_client_config, msgwire_tls_server_config};
use msgwire_status::*;

/// Settings of a manager and the default options of its sockets. Fill it
/// with `msgwire_ministream_config_default` and change what you need.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct msgwire_ministream_config {
    /// How long `connect` waits for the peer to accept (and the transport
    /// to come up). Default 60000; must be at least 1.
    pub connect_timeout_ms: u32,
    /// How long a read waits for data; 0 (default) waits forever.
    pub read_timeout_ms: u32,
    /// How long a write waits for room; 0 (default) waits forever.
    pub write_timeout_ms: u32,
    /// Most received bytes buffered per stream before the transport stops
    /// being read (back-pressure). Default 65536; at least 1.
    pub buffer_size: u32,
    /// How long an incoming stream waits for `accept` before it is refused.
    /// Default 5000; at least 1.
    pub accept_timeout_ms: u32,
    /// Largest data payload per frame; longer writes are split. Default
    /// 32768; 1 to 65532.
    pub max_payload: u32,
    /// Most incoming streams waiting for `accept` at once; more are
    /// refused at once. Default 4096; at least 1.
    pub accept_backlog: u32,
}

/// Fills `*out` with the defaults (those used when a function gets a NULL
/// config).
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_ministream_config_default(
    out: *mut msgwire_ministream_config,
) -> msgwire_status {
    guard(|| {
        // SAFETY: a writable out-pointer per the header.
        let out = unsafe { arg_out(out, "out")? };
        let c = ManagerConfig::default();
        out.set(msgwire_ministream_config {
            connect_timeout_ms: to_millis(c.options.connect_timeout),
            read_timeout_ms: c.options.read_timeout.map_or(0, to_millis),
            write_timeout_ms: c.options.write_timeout.map_or(0, to_millis),
            buffer_size: u32::try_from(c.options.buffer_size).unwrap_or(u32::MAX),
            accept_timeout_ms: to_millis(c.accept_timeout),
            max_payload: u32::try_from(c.max_payload).unwrap_or(u32::MAX),
            accept_backlog: u32::try_from(c.accept_backlog).unwrap_or(u32::MAX),
        });
        Ok(())
    })
}

/// A ministreaming endpoint. Created by `msgwire_ministream_manager_listen`
/// or `msgwire_ministream_manager_pair`, released by
/// `msgwire_ministream_manager_free`. Every other function on it may be
/// called from any thread, also at the same time.
pub struct msgwire_ministream_manager {
    // Field order is drop order: the manager (its threads) before the
    // share of the timer.
    server: std::sync::Mutex<Option<ServerSocket>>,
    manager: SocketManager,
    options: SocketOptions,
    _timer: TimerShare,
}

/// One stream. Obtained from `msgwire_ministream_manager_connect` or
/// `msgwire_ministream_manager_accept`, released by
/// `msgwire_ministream_socket_free` (which closes it). One thread may read
/// while another writes.
pub struct msgwire_ministream_socket {
    socket: Socket,
    _timer: TimerShare,
}

/// Creates a manager over TCP listening on `address` (`"127.0.0.1:0"`
/// picks a free port; `"[::1]:0"` for IPv6). Its destination, the bound
/// `ip:port`, is what peers connect to. `config` may be NULL for the
/// defaults (it is copied). On success `*out` receives a manager to
/// release with `msgwire_ministream_manager_free`.
///
/// Errors: `MSGWIRE_MINISTREAM_LISTEN`, `MSGWIRE_INVALID_ARGUMENT` for a
/// bad config.
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_ministream_manager_listen(
    address: *const c_char,
    config: *const msgwire_ministream_config,
    out: *mut *mut msgwire_ministream_manager,
) -> msgwire_status {
    guard(|| {
        // SAFETY: a string, NULL or a readable config, and a writable
        // out-pointer per the header.
        let (address, cfg, out) = unsafe {
            (
                arg_str(address, "address")?,
                config.as_ref().copied(),
                arg_out(out, "out")?,
            )
        };
        out.set(listen(address, cfg, None, None)?);
        Ok(())
    })
}

/// `msgwire_ministream_manager_listen` over TLS. With `server_tls`
/// (NULL: plain TCP), connections peers open to this manager must speak
/// TLS and are shown its certificate; with `client_tls` (NULL: plain
/// TCP), the connections it opens speak TLS, and the host part of the
/// destination (`host:port`) is the name the peer's certificate must
/// match. Peers that reach each other both ways need both. The manager
/// keeps its own reference to each configuration: the caller may free
/// them right after this call.
///
/// A connection whose TLS handshake fails carries no stream: `connect`
/// fails with `MSGWIRE_MINISTREAM_TRANSPORT`. Other errors as for
/// `msgwire_ministream_manager_listen`.
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_ministream_manager_listen_tls(
    address: *const c_char,
    config: *const msgwire_ministream_config,
    server_tls: *const msgwire_tls_server_config,
    client_tls: *const msgwire_tls_client_config,
    out: *mut *mut msgwire_ministream_manager,
) -> msgwire_status {
    guard(|| {
        // SAFETY: a string, NULL or a readable config, NULL or live TLS
        // configurations, and a writable out-pointer per the header.
        let (address, cfg, server_tls, client_tls, out) = unsafe {
            (
                arg_str(address, "address")?,
                config.as_ref().copied(),
                server_tls.as_ref().map(|t| t.config.clone()),
                client_tls.as_ref().map(|t| t.config.clone()),
                arg_out(out, "out")?,
            )
        };
        out.set(listen(address, cfg, server_tls, client_tls)?);
        Ok(())
    })
}

/// A TCP manager handle listening on `address`.
fn listen(
    address: &str,
    cfg: Option<msgwire_ministream_config>,
    tls_server: Option<TlsServerConfig>,
    tls_client: Option<TlsClientConfig>,
) -> Result<*mut msgwire_ministream_manager, Error> {
    let (mut core, options) = core_config(cfg)?;
    let (share, timer) = session_timer()?;
    core.timer = Some(timer);
    core.tls_server = tls_server;
    core.tls_client = tls_client;
    let _mask = SigpipeBlocked::new();
    let manager = SocketManager::listen_tcp(address, core).map_err(|e| match e {
        MsError::Transport(io) => Error::new(
            MSGWIRE_MINISTREAM_LISTEN,
            format!("cannot listen on {address}: {io}"),
        ),
        other => Error::from(other),
    })?;
    Ok(new_handle(msgwire_ministream_manager {
        server: std::sync::Mutex::new(None),
        manager,
        options,
        _timer: share,
    }))
}

/// Creates two in-memory managers that reach each other (and nobody
/// else); their destinations are generated names. `config` may be NULL.
/// On success `*out_a` and `*out_b` each receive a manager to release with
/// `msgwire_ministream_manager_free`.
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_ministream_manager_pair(
    config: *const msgwire_ministream_config,
    out_a: *mut *mut msgwire_ministream_manager,
    out_b: *mut *mut msgwire_ministream_manager,
) -> msgwire_status {
    guard(|| {
        // SAFETY: NULL or a readable config, writable out-pointers.
        let (cfg, out_a, out_b) = unsafe {
            (
                config.as_ref().copied(),
                arg_out(out_a, "out_a")?,
                arg_out(out_b, "out_b")?,
            )
        };
        let (mut core, options) = core_config(cfg)?;
        let (share_a, timer) = session_timer()?;
        let (share_b, _) = session_timer()?;
        core.timer = Some(timer);
        let _mask = SigpipeBlocked::new();
        let (a, b) = SocketManager::in_memory_pair(core).map_err(Error::from)?;
        let wrap = |manager, share| msgwire_ministream_manager {
            server: std::sync::Mutex::new(None),
            manager,
            options: options.clone(),
            _timer: share,
        };
        out_a.set(new_handle(wrap(a, share_a)));
        out_b.set(new_handle(wrap(b, share_b)));
        Ok(())
    })
}

/// Copies the manager's destination (UTF-8 text, e.g. `"127.0.0.1:4711"`)
/// into `buf` with a terminating NUL and stores its length (without the
/// NUL) in `*out_len`. A buffer of 64 bytes holds any TCP destination;
/// when `buf` is too small `MSGWIRE_BUFFER_TOO_SMALL` is returned with the
/// needed length in `*out_len`.
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_ministream_manager_destination(
    manager: *const msgwire_ministream_manager,
    buf: *mut c_char,
    cap: usize,
    out_len: *mut usize,
) -> msgwire_status {
    guard(|| {
        // SAFETY: a live manager and a writable buffer per the header.
        let (m, out) = unsafe {
            (
                arg_ref(manager, "manager")?,
                arg_buf(buf.cast(), cap, out_len)?,
            )
        };
        out.fill(m.manager.destination(), true)
    })
}

/// Opens a stream to `destination` (`dest_len` bytes, e.g. the text
/// another manager's `_destination` gave) and waits until the peer accepts
/// it, for at most `timeout_ms` (0: the config's connect timeout). On
/// success `*out` receives a socket to release with
/// `msgwire_ministream_socket_free`.
///
/// Errors: `MSGWIRE_MINISTREAM_REFUSED`, `MSGWIRE_MINISTREAM_TIMEOUT`,
/// `MSGWIRE_MINISTREAM_TRANSPORT` (cannot reach the peer),
/// `MSGWIRE_MINISTREAM_DESTINATION`, `MSGWIRE_MINISTREAM_CLOSED`
/// (destroyed). Blocks the calling thread.
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_ministream_manager_connect(
    manager: *const msgwire_ministream_manager,
    destination: *const u8,
    dest_len: usize,
    timeout_ms: u32,
    out: *mut *mut msgwire_ministream_socket,
) -> msgwire_status {
    guard(|| {
        // SAFETY: a live manager, readable bytes and a writable out-pointer.
        let (m, dest, out) = unsafe {
            (
                arg_ref(manager, "manager")?,
                arg_bytes(destination, dest_len, "destination")?,
                arg_out(out, "out")?,
            )
        };
        let mut options = m.options.clone();
        if timeout_ms > 0 {
            options.connect_timeout = Duration::from_millis(u64::from(timeout_ms));
        }
        let (share, _) = session_timer()?;
        let _mask = SigpipeBlocked::new();
        let socket = m.manager.connect(dest, &options)?;
        out.set(new_handle(msgwire_ministream_socket {
            socket,
            _timer: share,
        }));
        Ok(())
    })
}

/// Starts accepting incoming streams: from now on a stream a peer opens
/// waits (up to the accept timeout) for `msgwire_ministream_manager_accept`
/// instead of being refused at once. Calling it again does nothing.
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_ministream_manager_accept_streams(
    manager: *const msgwire_ministream_manager,
) -> msgwire_status {
    guard(|| {
        // SAFETY: a live manager per the header.
        let m = unsafe { arg_ref(manager, "manager")? };
        server_of(m).map(drop)
    })
}

/// Waits for an incoming stream, sends its acceptance and stores a socket
/// in `*out` (release it with `msgwire_ministream_socket_free`). Waits at
/// most `timeout_ms`; a negative value waits until a stream comes or the
/// manager is destroyed. Starts accepting (as `_accept_streams`) if that
/// was not done yet.
///
/// Errors: `MSGWIRE_MINISTREAM_TIMEOUT`, `MSGWIRE_MINISTREAM_CLOSED`.
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_ministream_manager_accept(
    manager: *const msgwire_ministream_manager,
    timeout_ms: i64,
    out: *mut *mut msgwire_ministream_socket,
) -> msgwire_status {
    guard(|| {
        // SAFETY: a live manager and a writable out-pointer.
        let (m, out) = unsafe { (arg_ref(manager, "manager")?, arg_out(out, "out")?) };
        let server = server_of(m)?;
        let timeout = u64::try_from(timeout_ms).ok().map(Duration::from_millis);
        let (share, _) = session_timer()?;
        let socket = server.accept(timeout)?;
        out.set(new_handle(msgwire_ministream_socket {
            socket,
            _timer: share,
        }));
        Ok(())
    })
}

/// Checks whether `destination` is reachable: the transport connection to
/// it is up or comes up within `timeout_ms` (0: the connect timeout) and
/// the one-byte ping probe was queued. Stores the answer in `*out`.
/// Errors: `MSGWIRE_MINISTREAM_DESTINATION`, `MSGWIRE_MINISTREAM_CLOSED`.
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_ministream_manager_ping(
    manager: *const msgwire_ministream_manager,
    destination: *const u8,
    dest_len: usize,
    timeout_ms: u32,
    out: *mut bool,
) -> msgwire_status {
    guard(|| {
        // SAFETY: a live manager, readable bytes and a writable out-pointer.
        let (m, dest, out) = unsafe {
            (
                arg_ref(manager, "manager")?,
                arg_bytes(destination, dest_len, "destination")?,
                arg_out(out, "out")?,
            )
        };
        let timeout = if timeout_ms == 0 {
            m.options.connect_timeout
        } else {
            Duration::from_millis(u64::from(timeout_ms))
        };
        let _mask = SigpipeBlocked::new();
        out.set(m.manager.ping(dest, timeout)?);
        Ok(())
    })
}

/// Stores in `*out` how many streams are open or being opened.
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_ministream_manager_socket_count(
    manager: *const msgwire_ministream_manager,
    out: *mut usize,
) -> msgwire_status {
    guard(|| {
        // SAFETY: a live manager and a writable out-pointer.
        let (m, out) = unsafe { (arg_ref(manager, "manager")?, arg_out(out, "out")?) };
        out.set(m.manager.list_sockets().len());
        Ok(())
    })
}

/// Counts of frames a manager received and dropped.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct msgwire_ministream_stats {
    /// Messages that were not frames (too short, id 00 00 00, a type
    /// outside the ranges).
    pub malformed: u64,
    /// Frames of an unknown type inside the ranges.
    pub unknown_type: u64,
    /// Frames for a stream not open on that connection.
    pub unknown_stream: u64,
    /// Ping probes and chaff received.
    pub pings: u64,
    /// Transport connections closed for a length prefix over the limit.
    pub framing_errors: u64,
}

/// Copies the manager's counts of dropped frames into `*out`.
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_ministream_manager_stats(
    manager: *const msgwire_ministream_manager,
    out: *mut msgwire_ministream_stats,
) -> msgwire_status {
    guard(|| {
        // SAFETY: a live manager and a writable out-pointer.
        let (m, out) = unsafe { (arg_ref(manager, "manager")?, arg_out(out, "out")?) };
        let s = m.manager.stats();
        out.set(msgwire_ministream_stats {
            malformed: s.malformed,
            unknown_type: s.unknown_type,
            unknown_stream: s.unknown_stream,
            pings: s.pings,
            framing_errors: s.framing_errors,
        });
        Ok(())
    })
}

/// Closes every stream (sending each peer a Close), refuses streams
/// waiting for accept, stops listening and closes every transport
/// connection. Blocked calls on the manager and its sockets return
/// `MSGWIRE_MINISTREAM_CLOSED`. Sockets stay valid handles (free them as
/// usual). Calling it again does nothing; `_free` does it too.
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_ministream_manager_destroy(
    manager: *const msgwire_ministream_manager,
) -> msgwire_status {
    guard(|| {
        // SAFETY: a live manager per the header.
        let m = unsafe { arg_ref(manager, "manager")? };
        m.manager.destroy();
        Ok(())
    })
}

/// Destroys the manager (as `_destroy`) and releases it. NULL does
/// nothing. No other call on it may be running or follow.
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_ministream_manager_free(manager: *mut msgwire_ministream_manager) {
    guard_value_unit(|| {
        if let Some(m) = unsafe_ref(manager) {
            m.manager.destroy();
        }
        // SAFETY: NULL or a manager from this library, freed once.
        unsafe { free_handle(manager) };
    });
}

/// Reads up to `cap` bytes of the stream into `buf` and stores how many in
/// `*out_len`; 0 means the peer closed the stream and everything was read.
/// Waits for data up to the socket's read timeout.
///
/// Errors: `MSGWIRE_MINISTREAM_TIMEOUT` (nothing arrived in time; the
/// socket stays usable), `MSGWIRE_MINISTREAM_CLOSED`,
/// `MSGWIRE_MINISTREAM_TRANSPORT`.
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_ministream_socket_read(
    socket: *const msgwire_ministream_socket,
    buf: *mut u8,
    cap: usize,
    out_len: *mut usize,
) -> msgwire_status {
    guard(|| {
        // SAFETY: a live socket, a writable buffer of `cap` bytes and a
        // writable out-pointer per the header.
        let (s, out) = unsafe { (arg_ref(socket, "socket")?, arg_out(out_len, "out_len")?) };
        if buf.is_null() && cap != 0 {
            return Err(Error::null("buf"));
        }
        let slice: &mut [u8] = if cap == 0 {
            &mut []
        } else {
            // SAFETY: non-NULL and writable for `cap` bytes per the header.
            unsafe { std::slice::from_raw_parts_mut(buf, cap) }
        };
        let n = s.socket.read_bytes(slice)?;
        out.set(n);
        Ok(())
    })
}

/// Writes all `len` bytes of `data` to the stream (split into frames),
/// waiting for room up to the socket's write timeout.
///
/// Errors: `MSGWIRE_MINISTREAM_RESET` (the peer closed the stream),
/// `MSGWIRE_MINISTREAM_TIMEOUT`, `MSGWIRE_MINISTREAM_CLOSED`,
/// `MSGWIRE_MINISTREAM_TRANSPORT`.
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_ministream_socket_write(
    socket: *const msgwire_ministream_socket,
    data: *const u8,
    len: usize,
) -> msgwire_status {
    guard(|| {
        // SAFETY: a live socket and readable bytes per the header.
        let (s, data) = unsafe { (arg_ref(socket, "socket")?, arg_bytes(data, len, "data")?) };
        let _mask = SigpipeBlocked::new();
        s.socket.write_bytes(data)?;
        Ok(())
    })
}

/// Sets the socket's read and write timeouts in milliseconds (0: wait
/// forever).
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_ministream_socket_set_timeouts(
    socket: *const msgwire_ministream_socket,
    read_timeout_ms: u32,
    write_timeout_ms: u32,
) -> msgwire_status {
    guard(|| {
        // SAFETY: a live socket per the header.
        let s = unsafe { arg_ref(socket, "socket")? };
        s.socket.set_read_timeout(millis(read_timeout_ms));
        s.socket.set_write_timeout(millis(write_timeout_ms));
        Ok(())
    })
}

/// Copies the peer's destination (for an accepted stream, the bytes its
/// opener sent; for TCP managers, their `ip:port`) into `buf`, followed by
/// a NUL, and stores its length (without the NUL) in `*out_len`. When
/// `buf` is too small `MSGWIRE_BUFFER_TOO_SMALL` is returned with the
/// needed length.
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_ministream_socket_peer_destination(
    socket: *const msgwire_ministream_socket,
    buf: *mut c_char,
    cap: usize,
    out_len: *mut usize,
) -> msgwire_status {
    guard(|| {
        // SAFETY: a live socket and a writable buffer per the header.
        let (s, out) = unsafe {
            (
                arg_ref(socket, "socket")?,
                arg_buf(buf.cast(), cap, out_len)?,
            )
        };
        out.fill(&s.socket.peer_destination(), true)
    })
}

/// Stores the data bytes written to and read from the stream so far.
/// Either pointer may be NULL.
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_ministream_socket_counters(
    socket: *const msgwire_ministream_socket,
    sent: *mut u64,
    received: *mut u64,
) -> msgwire_status {
    guard(|| {
        // SAFETY: a live socket; NULL or writable out-pointers.
        let s = unsafe { arg_ref(socket, "socket")? };
        // SAFETY: as above.
        unsafe {
            if let Some(p) = sent.as_mut() {
                *p = s.socket.bytes_sent();
            }
            if let Some(p) = received.as_mut() {
                *p = s.socket.bytes_received();
            }
        }
        Ok(())
    })
}

/// Closes the stream: the peer gets a Close, unread data is dropped, and
/// blocked reads and writes on this socket return
/// `MSGWIRE_MINISTREAM_CLOSED`. The handle stays valid until `_free`.
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_ministream_socket_close(
    socket: *const msgwire_ministream_socket,
) -> msgwire_status {
    guard(|| {
        // SAFETY: a live socket per the header.
        let s = unsafe { arg_ref(socket, "socket")? };
        s.socket.close();
        Ok(())
    })
}

/// Closes the stream (as `_close`) and releases the socket. NULL does
/// nothing. No other call on it may be running or follow.
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_ministream_socket_free(socket: *mut msgwire_ministream_socket) {
    guard_value_unit(|| {
        // SAFETY: NULL or a socket from this library, freed once.
        unsafe { free_handle(socket) };
    });
}

// ------------------------------------------------------------------ helpers

impl From<MsError> for Error {
    fn from(e: MsError) -> Self {
        let status = match &e {
            MsError::Refused => MSGWIRE_MINISTREAM_REFUSED,
            MsError::TimedOut => MSGWIRE_MINISTREAM_TIMEOUT,
            MsError::Reset => MSGWIRE_MINISTREAM_RESET,
            MsError::Closed | MsError::Destroyed => MSGWIRE_MINISTREAM_CLOSED,
            MsError::Transport(_) => MSGWIRE_MINISTREAM_TRANSPORT,
            MsError::InvalidDestination(_) => MSGWIRE_MINISTREAM_DESTINATION,
            MsError::Frame(_) => MSGWIRE_MINISTREAM_FRAME,
            // `Invalid`, and anything a newer core adds.
            _ => MSGWIRE_INVALID_ARGUMENT,
        };
        Error::new(status, format!("ministream: {e}"))
    }
}

fn core_config(
    cfg: Option<msgwire_ministream_config>,
) -> Result<(ManagerConfig, SocketOptions), Error> {
    let mut core = ManagerConfig::default();
    if let Some(c) = cfg {
        if c.connect_timeout_ms == 0
            || c.accept_timeout_ms == 0
            || c.buffer_size == 0
            || c.accept_backlog == 0
        {
            return Err(Error::invalid(
                "connect_timeout_ms, accept_timeout_ms, buffer_size and accept_backlog must be at least 1",
            ));
        }
        if c.max_payload == 0 || c.max_payload as usize + 4 > core.max_message {
            return Err(Error::invalid("max_payload must be 1 to 65532"));
        }
        core.options.connect_timeout = Duration::from_millis(u64::from(c.connect_timeout_ms));
        core.options.read_timeout = millis(c.read_timeout_ms);
        core.options.write_timeout = millis(c.write_timeout_ms);
        core.options.buffer_size = c.buffer_size as usize;
        core.accept_timeout = Duration::from_millis(u64::from(c.accept_timeout_ms));
        core.max_payload = c.max_payload as usize;
        core.accept_backlog = c.accept_backlog as usize;
    }
    let options = core.options.clone();
    Ok((core, options))
}

fn server_of(m: &msgwire_ministream_manager) -> Result<ServerSocket, Error> {
    let mut slot = m.server.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(server) = &*slot {
        return Ok(server.clone());
    }
    let server = m.manager.server_socket()?;
    *slot = Some(server.clone());
    Ok(server)
}

fn millis(ms: u32) -> Option<Duration> {
    (ms > 0).then(|| Duration::from_millis(u64::from(ms)))
}

fn to_millis(d: Duration) -> u32 {
    u32::try_from(d.as_millis()).unwrap_or(u32::MAX)
}

fn unsafe_ref<'a, T>(ptr: *const T) -> Option<&'a T> {
    // SAFETY: callers pass NULL or a live handle per the header.
    unsafe { ptr.as_ref() }
}

fn guard_value_unit(body: impl FnOnce()) {
    crate::guard::guard_value((), body);
}
