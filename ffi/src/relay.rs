//! MSRP relays for C, client side (RFC 4976): settings, and a relay
//! connection that authenticates and binds a session through the relay,
//! wrapping `msgwire::msrp::relay`.
//!
//! # Objects
//!
//! * `msgwire_msrp_relay_settings` — where the relay is and who we are
//!   (legacy `MSRPRelaySettings`): `_new(domain, username, password)`,
//!   then setters for what differs from the defaults (host, port, TLS,
//!   Expires, DNS servers, timeouts).
//! * `msgwire_msrp_relay_connection` — legacy `RelayConnection`, with the
//!   shape of the direct connector and acceptor: `_prepare` connects,
//!   authenticates and gives the full local path for SDP (the relay's
//!   Use-Path, then our URI); `_complete` binds through the relay (the
//!   active side sends the bind SEND, the passive side waits for the
//!   peer's) and gives a `msgwire_msrp_transport`. A session started on
//!   that transport keeps the reservation alive (a new AUTH three
//!   quarters into each reservation).
//!
//! # Statuses
//!
//! The relay's own failures are in block 2000-2019
//! (`MSGWIRE_MSRP_RELAY_*`: refused, no answer, no connection, DNS);
//! failures of the connection and bind underneath are the
//! `MSGWIRE_MSRP_ENDPOINT_*` codes of the direct endpoints.

use std::ffi::c_char;
use std::net::SocketAddr;

use msgwire_core::msrp::relay::{Mode, RelayConnection, RelaySettings};

use crate::endpoint::{
    arg_local_uri, bind_options, copy_path, millis, msgwire_msrp_bind_options,
    msgwire_msrp_transport, parse_path, path_text,
};
use crate::error::Error;
use crate::guard::{
    arg_buf, arg_mut, arg_out, arg_ref, arg_str, free_handle, guard, guard_value, new_handle,
};
use crate::msgwire_status;
use crate::tls::msgwire_tls_client_config;

/// Where and how to reach an MSRP relay. Created by
/// `msgwire_msrp_relay_settings_new`, released by
/// `msgwire_msrp_relay_settings_free`. A relay connection copies the
/// settings when it is made, so they can be freed or reused afterwards.
pub struct msgwire_msrp_relay_settings {
    settings: RelaySettings,
}

/// Settings for `username` with `password` at the relay of `domain`: the
/// domain names the relay in the AUTH (`msrp://<domain>:<port>;tcp`) and
/// is where it is looked up (DNS SRV `_msrp._tcp.<domain>`, or
/// `_msrps._tcp` with TLS, then the domain's own addresses on port 2855)
/// unless `msgwire_msrp_relay_settings_set_host` names a host. Plain TCP,
/// no `Expires` asked for, 30 s to wait for each answer to AUTH, DNS
/// servers from /etc/resolv.conf. On success `*out` receives the
/// settings.
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_msrp_relay_settings_new(
    domain: *const c_char,
    username: *const c_char,
    password: *const c_char,
    out: *mut *mut msgwire_msrp_relay_settings,
) -> msgwire_status {
    guard(|| {
        // SAFETY: three strings and a writable out-pointer, per the header.
        let (domain, username, password, out) = unsafe {
            (
                arg_str(domain, "domain")?,
                arg_str(username, "username")?,
                arg_str(password, "password")?,
                arg_out(out, "out")?,
            )
        };
        if domain.trim().is_empty() {
            return Err(Error::invalid("the relay domain is empty"));
        }
        out.set(new_handle(msgwire_msrp_relay_settings {
            settings: RelaySettings::new(domain.trim(), username, password),
        }));
        Ok(())
    })
}

/// Connects to `host` (a name or an address) instead of looking the
/// domain up in DNS. NULL goes back to DNS discovery.
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_msrp_relay_settings_set_host(
    settings: *mut msgwire_msrp_relay_settings,
    host: *const c_char,
) -> msgwire_status {
    guard(|| {
        // SAFETY: live settings and a string or NULL, per the header.
        let (s, host) = unsafe {
            (
                arg_mut(settings, "settings")?,
                crate::guard::arg_opt_str(host, "host")?,
            )
        };
        s.settings.host = host.map(|h| h.trim().to_string());
        Ok(())
    })
}

/// The relay's port (also in the AUTH's URI and the digest URI); 0 goes
/// back to the default: 2855, or what DNS SRV records say.
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_msrp_relay_settings_set_port(
    settings: *mut msgwire_msrp_relay_settings,
    port: u16,
) -> msgwire_status {
    guard(|| {
        // SAFETY: live settings, per the header.
        let s = unsafe { arg_mut(settings, "settings")? };
        s.settings.port = (port != 0).then_some(port);
        Ok(())
    })
}

/// Uses TLS (`msrps`) to the relay, verifying its certificate as `config`
/// says (the trusted CAs, or the explicit opt-out
/// `msgwire_tls_client_config_insecure`). The settings keep their own
/// reference; the caller may free `config` afterwards. NULL goes back to
/// plain TCP.
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_msrp_relay_settings_set_tls(
    settings: *mut msgwire_msrp_relay_settings,
    config: *const msgwire_tls_client_config,
) -> msgwire_status {
    guard(|| {
        // SAFETY: live settings and a live configuration or NULL, per the
        // header.
        let s = unsafe { arg_mut(settings, "settings")? };
        // SAFETY: as above.
        let config = unsafe { config.as_ref() };
        s.settings.use_tls = config.is_some();
        s.settings.tls = config.map(|c| c.config.clone());
        Ok(())
    })
}

/// Asks the relay for a reservation of `seconds` (an `Expires` header); 0
/// sends none, the default, because deployed Kamailio relays answer any
/// `Expires` with 423. A 423 naming Min-Expires or Max-Expires is retried
/// once within that bound either way.
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_msrp_relay_settings_set_expires(
    settings: *mut msgwire_msrp_relay_settings,
    seconds: u32,
) -> msgwire_status {
    guard(|| {
        // SAFETY: live settings, per the header.
        let s = unsafe { arg_mut(settings, "settings")? };
        s.settings.expires = (seconds != 0).then_some(seconds);
        Ok(())
    })
}

/// How long to wait for each answer to AUTH (default 30000 ms), and how
/// long an AUTH carrying the digest `uri` may go unanswered before it is
/// sent again without it (default 5000 ms; AGProjects msrprelay 1.4 never
/// answers one with it). Both at least 1 ms.
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_msrp_relay_settings_set_auth_timeouts(
    settings: *mut msgwire_msrp_relay_settings,
    auth_timeout_ms: u32,
    quirk_wait_ms: u32,
) -> msgwire_status {
    guard(|| {
        // SAFETY: live settings, per the header.
        let s = unsafe { arg_mut(settings, "settings")? };
        let auth = millis(auth_timeout_ms, "auth_timeout_ms")?;
        let quirk = millis(quirk_wait_ms, "quirk_wait_ms")?;
        s.settings.auth_timeout = auth;
        s.settings.quirk_wait = quirk;
        Ok(())
    })
}

/// Adds a DNS server (`"ip:port"`, or an IP for port 53) to ask for the
/// relay's SRV and address records, in the order added, instead of those
/// of /etc/resolv.conf. `timeout_ms` (at least 1) bounds each server's
/// answer.
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_msrp_relay_settings_add_nameserver(
    settings: *mut msgwire_msrp_relay_settings,
    address: *const c_char,
    timeout_ms: u32,
) -> msgwire_status {
    guard(|| {
        // SAFETY: live settings and a string, per the header.
        let (s, address) =
            unsafe { (arg_mut(settings, "settings")?, arg_str(address, "address")?) };
        let address = address.trim();
        let addr = address
            .parse::<SocketAddr>()
            .or_else(|_| address.parse().map(|ip| SocketAddr::new(ip, 53)))
            .map_err(|_| Error::invalid(format!("not an IP address or ip:port: {address:?}")))?;
        s.settings.dns_timeout = millis(timeout_ms, "timeout_ms")?;
        s.settings
            .nameservers
            .get_or_insert_with(Vec::new)
            .push(addr);
        Ok(())
    })
}

/// Releases settings. NULL is ignored.
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_msrp_relay_settings_free(settings: *mut msgwire_msrp_relay_settings) {
    guard_value((), || {
        // SAFETY: NULL or a live handle, freed once, per the header.
        unsafe { free_handle(settings) }
    })
}

/// Which side of the bind a relayed endpoint plays.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum msgwire_msrp_relay_mode {
    /// Sends the bind SEND through the relay (usually the SDP offerer).
    Active = 0,
    /// Waits for the peer's bind SEND, relayed to us.
    Passive = 1,
}

/// A session endpoint reached through a relay. Created by
/// `msgwire_msrp_relay_connection_new`, released by
/// `msgwire_msrp_relay_connection_free`. Use it from one thread at a
/// time.
pub struct msgwire_msrp_relay_connection {
    connection: RelayConnection,
    local_path: Option<String>,
}

/// Creates a relay connection with a copy of `settings`, binding as
/// `mode`, with the bind options in `*opts` or the defaults when `opts` is
/// NULL (its connect timeout bounds the TCP connection to the relay).
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_msrp_relay_connection_new(
    settings: *const msgwire_msrp_relay_settings,
    mode: msgwire_msrp_relay_mode,
    opts: *const msgwire_msrp_bind_options,
    out: *mut *mut msgwire_msrp_relay_connection,
) -> msgwire_status {
    guard(|| {
        // SAFETY: live settings, options or NULL, and a writable
        // out-pointer, per the header.
        let (s, options, out) = unsafe {
            (
                arg_ref(settings, "settings")?,
                bind_options(opts)?,
                arg_out(out, "out")?,
            )
        };
        let mode = match mode {
            msgwire_msrp_relay_mode::Active => Mode::Active,
            msgwire_msrp_relay_mode::Passive => Mode::Passive,
        };
        out.set(new_handle(msgwire_msrp_relay_connection {
            connection: RelayConnection::new(s.settings.clone(), mode, options),
            local_path: None,
        }));
        Ok(())
    })
}

/// Connects to the relay (trying each target DNS gives, in order, until
/// one authenticates), authenticates, and copies the full local path to
/// advertise into `buf`: the relay's Use-Path, then our URI, separated by
/// spaces. `local_uri` (NULL or an MSRP URI) may fix our URI's session id;
/// its host and port are always our end of the relay connection.
///
/// Blocks for up to the connect timeout plus the AUTH exchange. Failures:
/// `MSGWIRE_MSRP_RELAY_AUTH_REJECTED` (wrong credentials: a second 401,
/// 403, ...), `_AUTH_TIMEOUT` (no answer), `_CONNECT_TIMEOUT`,
/// `_DNS_NO_ANSWER` / `_NOT_FOUND` / `_BAD_DOMAIN` (discovery),
/// `_BAD_RESPONSE`, `_BAD_DIGEST`, and `MSGWIRE_MSRP_ENDPOINT_*` for the
/// connection itself (`_CONNECT`, `_TLS`, `_TLS_NOT_CONFIGURED`).
/// Buffer rules as for `msgwire_msrp_connector_prepare`: on
/// `MSGWIRE_BUFFER_TOO_SMALL` the connection is prepared; fetch the path
/// with `msgwire_msrp_relay_connection_local_path`.
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_msrp_relay_connection_prepare(
    connection: *mut msgwire_msrp_relay_connection,
    local_uri: *const c_char,
    buf: *mut c_char,
    cap: usize,
    out_len: *mut usize,
) -> msgwire_status {
    guard(|| {
        // SAFETY: a live connection used by this thread only, a string or
        // NULL, and a caller buffer, per the header.
        let (c, uri, out) = unsafe {
            (
                arg_mut(connection, "connection")?,
                arg_local_uri(local_uri)?,
                arg_buf(buf.cast(), cap, out_len)?,
            )
        };
        c.local_path = None;
        let path = path_text(&c.connection.prepare(uri)?);
        let path = c.local_path.insert(path);
        out.fill(path.as_bytes(), true)
    })
}

/// Copies the path of the last successful `_prepare` into `buf` (same
/// buffer rules). `MSGWIRE_NOT_FOUND` before one.
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_msrp_relay_connection_local_path(
    connection: *const msgwire_msrp_relay_connection,
    buf: *mut c_char,
    cap: usize,
    out_len: *mut usize,
) -> msgwire_status {
    guard(|| {
        // SAFETY: a live connection and a caller buffer, per the header.
        let (c, out) = unsafe {
            (
                arg_ref(connection, "connection")?,
                arg_buf(buf.cast(), cap, out_len)?,
            )
        };
        copy_path(c.local_path.as_deref(), out)
    })
}

/// Binds the session through the relay: `remote_path` is the peer's SDP
/// `a=path` value. The active side sends the bind SEND (our relay in
/// front of the peer's path) and waits for its 200; the passive side waits
/// for the peer's bind SEND, relayed to us, and answers it. On success
/// `*transport_out` receives a transport for `msgwire_msrp_session_start`
/// (a session started on it renews the relay reservation by itself).
/// Without a successful `_prepare` it is `MSGWIRE_MSRP_RELAY_NOT_PREPARED`;
/// bind failures are `MSGWIRE_MSRP_ENDPOINT_*` as for the direct
/// endpoints. The relay connection is used up either way.
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_msrp_relay_connection_complete(
    connection: *mut msgwire_msrp_relay_connection,
    remote_path: *const c_char,
    transport_out: *mut *mut msgwire_msrp_transport,
) -> msgwire_status {
    guard(|| {
        // SAFETY: a live connection used by this thread only, a string and
        // a writable out-pointer, per the header.
        let (c, remote, out) = unsafe {
            (
                arg_mut(connection, "connection")?,
                arg_str(remote_path, "remote_path")?,
                arg_out(transport_out, "transport_out")?,
            )
        };
        let path = parse_path(remote)?;
        let bound = c.connection.complete(&path)?;
        out.set(new_handle(msgwire_msrp_transport { bound }));
        Ok(())
    })
}

/// Drops the relay connection of a `_prepare` that will not be completed
/// (legacy `cleanup()`); `_free` does it too.
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_msrp_relay_connection_cleanup(
    connection: *mut msgwire_msrp_relay_connection,
) -> msgwire_status {
    guard(|| {
        // SAFETY: a live connection used by this thread only, per the
        // header.
        let c = unsafe { arg_mut(connection, "connection")? };
        c.connection.cleanup();
        c.local_path = None;
        Ok(())
    })
}

/// Releases a relay connection (closing a prepared, uncompleted one). NULL
/// is ignored. A transport it completed is not affected.
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_msrp_relay_connection_free(
    connection: *mut msgwire_msrp_relay_connection,
) {
    guard_value((), || {
        // SAFETY: NULL or a live handle, freed once and not in use, per the
        // header.
        unsafe { free_handle(connection) }
    })
}
