//! The MSRP relay server (RFC 4976) for C, wrapping
//! `msgwire::msrp::relay_server::Relay`: an in-process relay for tests and
//! embedding.
//!
//! # Objects
//!
//! * `msgwire_relay_config` — what the relay needs: realm, users,
//!   listening addresses, bounds. Made by `msgwire_relay_config_new`,
//!   filled by the `msgwire_relay_config_*` setters, released by
//!   `msgwire_relay_config_free`. It may be freed right after
//!   `msgwire_relay_start`.
//! * `msgwire_relay` — a running relay. Made by `msgwire_relay_start`,
//!   stopped gracefully by `msgwire_relay_shutdown` (chunks in flight
//!   finish, then every connection closes) and released by
//!   `msgwire_relay_free` (which shuts down first when needed).
//!
//! The relay runs on threads of its own (two per connection, one accept
//! loop per listener, one for housekeeping); no callback reaches C.
//! Addresses are `"host:port"` text (port 0 picks a free port; the
//! `msgwire_relay_*_address` getters give the bound one).

use std::ffi::c_char;
use std::net::{SocketAddr, ToSocketAddrs};
use std::time::Duration;

use msgwire_core::msrp::relay_server::{
    ExpiresBounds, Relay, RelayConfig, RelayServerError, Users,
};
use msgwire_core::net::TlsServerConfig;

use crate::endpoint::SigpipeBlocked;
use crate::error::{msgwire_status, Error};
use crate::guard::{arg_buf, arg_mut, arg_out, arg_ref, arg_str, free_handle, guard, new_handle};

use msgwire_status::*;

/// The configuration of a relay (see `msgwire_relay_config_new`).
pub struct msgwire_relay_config {
    config: RelayConfig,
}

/// A running MSRP relay (see `msgwire_relay_start`).
pub struct msgwire_relay {
    relay: Relay,
}

fn address(what: &str, text: &str) -> Result<SocketAddr, Error> {
    let bad = |why: String| {
        Error::new(
            MSGWIRE_RELAY_SERVER_CONFIG,
            format!("{what} {text:?}: {why}"),
        )
    };
    text.to_socket_addrs()
        .map_err(|e| bad(e.to_string()))?
        .next()
        .ok_or_else(|| bad("no address".into()))
}

/// A configuration for `realm` (the digest realm, also the domain clients
/// name the relay by) with no users and no listener yet, and the
/// documented defaults of the Rust `RelayConfig` (expires 60/600/3600 s,
/// nonces 15 s, 3 AUTH attempts, 30 s transaction timeout, 10 KiB
/// control bodies, 64 connections per address). `*out` receives a
/// configuration to release with `msgwire_relay_config_free`.
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_relay_config_new(
    realm: *const c_char,
    out: *mut *mut msgwire_relay_config,
) -> msgwire_status {
    guard(|| {
        // SAFETY: a string and a writable out-pointer per the header.
        let (realm, out) = unsafe { (arg_str(realm, "realm")?, arg_out(out, "out")?) };
        out.set(new_handle(msgwire_relay_config {
            config: RelayConfig::new(realm, Users::new()),
        }));
        Ok(())
    })
}

/// Adds the users of a users file (one `user:realm:HA1` or
/// `user:password` per line, `#` comments). `MSGWIRE_RELAY_SERVER_USERS`
/// when it cannot be read or a line is in neither form (nothing is
/// added then).
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_relay_config_users_file(
    config: *mut msgwire_relay_config,
    path: *const c_char,
) -> msgwire_status {
    guard(|| {
        // SAFETY: a live configuration and a string per the header.
        let (c, path) = unsafe { (arg_mut(config, "config")?, arg_str(path, "path")?) };
        let users = Users::from_file(path)
            .map_err(|e| Error::new(MSGWIRE_RELAY_SERVER_USERS, format!("{path}: {e}")))?;
        c.config.users.extend(users);
        Ok(())
    })
}

/// Adds one user with a clear password (good in any realm).
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_relay_config_add_user(
    config: *mut msgwire_relay_config,
    user: *const c_char,
    password: *const c_char,
) -> msgwire_status {
    guard(|| {
        // SAFETY: a live configuration and strings per the header.
        let (c, user, password) = unsafe {
            (
                arg_mut(config, "config")?,
                arg_str(user, "user")?,
                arg_str(password, "password")?,
            )
        };
        if user.is_empty() || user.contains(':') {
            return Err(Error::invalid("the user name is empty or holds ':'"));
        }
        c.config.users.add_password(user, password);
        Ok(())
    })
}

/// Listens with TLS on `address`, with the certificate chain and private
/// key of the PEM files `cert_path` and `key_path`.
/// `MSGWIRE_RELAY_SERVER_TLS` when they cannot be read or used,
/// `MSGWIRE_RELAY_SERVER_CONFIG` for an unusable address.
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_relay_config_listen_tls(
    config: *mut msgwire_relay_config,
    address: *const c_char,
    cert_path: *const c_char,
    key_path: *const c_char,
) -> msgwire_status {
    guard(|| {
        // SAFETY: a live configuration and strings per the header.
        let (c, a, cert, key) = unsafe {
            (
                arg_mut(config, "config")?,
                arg_str(address, "address")?,
                arg_str(cert_path, "cert_path")?,
                arg_str(key_path, "key_path")?,
            )
        };
        let addr = self::address("address", a)?;
        let tls = TlsServerConfig::from_pem_files(cert, key)
            .map_err(|e| Error::new(MSGWIRE_RELAY_SERVER_TLS, e.to_string()))?;
        c.config.listen = Some(addr);
        c.config.tls = Some(tls);
        Ok(())
    })
}

/// Also listens on plain TCP at `address`: for tests and closed networks
/// only (RFC 4976 makes TLS mandatory).
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_relay_config_plain_tcp(
    config: *mut msgwire_relay_config,
    address: *const c_char,
) -> msgwire_status {
    guard(|| {
        // SAFETY: a live configuration and a string per the header.
        let (c, a) = unsafe { (arg_mut(config, "config")?, arg_str(address, "address")?) };
        c.config.plain_tcp = Some(self::address("address", a)?);
        Ok(())
    })
}

/// Serves the status pages (`/status.xml`, `/sessions.xml`) over HTTP at
/// `address`.
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_relay_config_status(
    config: *mut msgwire_relay_config,
    address: *const c_char,
) -> msgwire_status {
    guard(|| {
        // SAFETY: a live configuration and a string per the header.
        let (c, a) = unsafe { (arg_mut(config, "config")?, arg_str(address, "address")?) };
        c.config.status = Some(self::address("address", a)?);
        Ok(())
    })
}

/// Sets the reservation time bounds in seconds (`min <= dflt <= max`,
/// checked by `msgwire_relay_start`).
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_relay_config_expires(
    config: *mut msgwire_relay_config,
    min: u32,
    dflt: u32,
    max: u32,
) -> msgwire_status {
    guard(|| {
        // SAFETY: a live configuration per the header.
        let c = unsafe { arg_mut(config, "config")? };
        c.config.expires = ExpiresBounds {
            min,
            default: dflt,
            max,
        };
        Ok(())
    })
}

/// Sets how long a forwarded transaction may wait for its response before
/// the relay answers 408 (milliseconds, at least 1; default 30,000).
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_relay_config_transaction_timeout_ms(
    config: *mut msgwire_relay_config,
    ms: u32,
) -> msgwire_status {
    guard(|| {
        // SAFETY: a live configuration per the header.
        let c = unsafe { arg_mut(config, "config")? };
        if ms == 0 {
            return Err(Error::invalid(
                "the transaction timeout must be at least 1 ms",
            ));
        }
        c.config.transaction_timeout = Duration::from_millis(u64::from(ms));
        Ok(())
    })
}

/// Releases a configuration. NULL does nothing.
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_relay_config_free(config: *mut msgwire_relay_config) {
    crate::guard::guard_value((), || {
        // SAFETY: a configuration from msgwire_relay_config_new, freed once.
        unsafe { free_handle(config) }
    })
}

/// Binds the listeners of `config` and starts serving. `*out` receives a
/// relay to release with `msgwire_relay_free`. `MSGWIRE_RELAY_SERVER_CONFIG`
/// when the configuration cannot work, `MSGWIRE_RELAY_SERVER_LISTEN` when
/// an address cannot be bound.
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_relay_start(
    config: *const msgwire_relay_config,
    out: *mut *mut msgwire_relay,
) -> msgwire_status {
    guard(|| {
        // SAFETY: a live configuration and a writable out-pointer per the
        // header.
        let (c, out) = unsafe { (arg_ref(config, "config")?, arg_out(out, "out")?) };
        // The relay's threads inherit the blocked SIGPIPE: a peer that
        // goes away must not kill the program.
        let _mask = SigpipeBlocked::new();
        let relay = Relay::start(c.config.clone()).map_err(|e| match e {
            RelayServerError::Io { .. } => Error::new(MSGWIRE_RELAY_SERVER_LISTEN, e.to_string()),
            RelayServerError::Config(_) => Error::new(MSGWIRE_RELAY_SERVER_CONFIG, e.to_string()),
        })?;
        out.set(new_handle(msgwire_relay { relay }));
        Ok(())
    })
}

fn copy_address(
    relay: *const msgwire_relay,
    which: fn(&Relay) -> Option<SocketAddr>,
    buf: *mut c_char,
    cap: usize,
    out_len: *mut usize,
) -> msgwire_status {
    guard(|| {
        // SAFETY: a live relay and a caller buffer per the header.
        let (r, out) = unsafe { (arg_ref(relay, "relay")?, arg_buf(buf.cast(), cap, out_len)?) };
        let addr = which(&r.relay).ok_or_else(|| Error::not_found("that listener is off"))?;
        out.fill(addr.to_string().as_bytes(), true)
    })
}

/// Copies the bound TLS address (`"host:port"`, NUL-terminated) into
/// `buf` of `cap` bytes; `*out_len` receives its length without the NUL
/// (also when `buf` is too small: `MSGWIRE_BUFFER_TOO_SMALL`).
/// `MSGWIRE_NOT_FOUND` when the relay has no TLS listener.
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_relay_tls_address(
    relay: *const msgwire_relay,
    buf: *mut c_char,
    cap: usize,
    out_len: *mut usize,
) -> msgwire_status {
    copy_address(relay, Relay::tls_addr, buf, cap, out_len)
}

/// As `msgwire_relay_tls_address`, for the plain TCP listener.
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_relay_plain_tcp_address(
    relay: *const msgwire_relay,
    buf: *mut c_char,
    cap: usize,
    out_len: *mut usize,
) -> msgwire_status {
    copy_address(relay, Relay::plain_addr, buf, cap, out_len)
}

/// As `msgwire_relay_tls_address`, for the status server.
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_relay_status_address(
    relay: *const msgwire_relay,
    buf: *mut c_char,
    cap: usize,
    out_len: *mut usize,
) -> msgwire_status {
    copy_address(relay, Relay::status_addr, buf, cap, out_len)
}

/// Shuts the relay down gracefully: the listeners stop, chunks in flight
/// finish (at most 5 s), then every connection is closed. Idempotent; the
/// relay must still be freed.
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_relay_shutdown(relay: *const msgwire_relay) -> msgwire_status {
    guard(|| {
        // SAFETY: a live relay per the header.
        let r = unsafe { arg_ref(relay, "relay")? };
        r.relay.shutdown();
        Ok(())
    })
}

/// Shuts the relay down (when not done yet) and releases it; every
/// thread it started has ended when this returns. NULL does nothing.
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_relay_free(relay: *mut msgwire_relay) {
    crate::guard::guard_value((), || {
        // SAFETY: a relay from msgwire_relay_start, freed once.
        unsafe { free_handle(relay) }
    })
}
