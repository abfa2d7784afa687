//! The C ABI of msgwire (`libmsgwire`, header `include/msgwire.h`).
//!
//! The header is generated from this crate by `tools/gen-header` (a pinned
//! cbindgen); every `///` comment on an exported item ends up in it, so these
//! comments are written for C programmers.
//!
//! # Shape of the API
//!
//! The API follows the conventions of rustls-ffi, chosen because they make a
//! C API predictable:
//!
//! * Every name starts with `msgwire_`; MSRP functions are
//!   `msgwire_msrp_<object>_<verb>`.
//! * Objects are opaque handles created by `_new`/`_parse`/`_build_*` and
//!   released by exactly one `_free`; `_free(NULL)` does nothing.
//! * Nearly every function returns a [`msgwire_status`] (0 = `MSGWIRE_OK`) and
//!   writes its results through out-pointers, only on success (the exceptions
//!   are documented on the function: `MSGWIRE_BUFFER_TOO_SMALL` reports the
//!   needed length, and the streaming parser reports how much it consumed).
//!   [`msgwire_last_error`] gives a message for the last failure on the
//!   calling thread.
//! * No Rust panic ever crosses into C: every exported body runs inside the
//!   one guard in [`guard`], which turns a panic into `MSGWIRE_PANIC`.
//!
//! # Modules
//!
//! * [`error`] — the status enum, its texts, the mapping from core errors and
//!   the thread-local last-error message.
//! * [`guard`] — the panic guard, pointer checks, handle allocation and the
//!   string/buffer conventions shared by every function.
//! * [`msrp`] — the MSRP wire layer (URIs, chunks, the streaming parser and
//!   the transaction rules).
//! * [`endpoint`] — MSRP endpoints: direct binding (connector, acceptor)
//!   and running sessions with C callbacks.
//! * [`relay_server`] — the MSRP relay server (RFC 4976), in process:
//!   configuration, start, bound addresses, graceful shutdown.
//! * [`server`] — the MSRP server: many passive sessions behind one
//!   listening port, callable from several threads at once.
//! * [`sts`] — STS/1.0: messages, error replies, the client (requests
//!   with reply callbacks or blocking) and the server (routes with C
//!   callbacks and responder handles).
//! * [`serverresponse`] — serverResponse: documents (build, write,
//!   parse, read), the streaming writer, the HTTP server with C handlers
//!   and the client.
//! * [`ministream`] — I2P ministreaming: socket managers (TCP or an
//!   in-memory pair) and blocking streams.
//! * [`cpim`] — Message/CPIM (RFC 3862): parse, read, build and encode
//!   the wrapper of chat messages.
//! * [`sdp`] — the SDP media description of an MSRP session (RFC 4975
//!   section 8, RFC 6135 `a=setup`): parse, read, build and encode.
//! * [`relay`] — MSRP relays, client side (RFC 4976): settings and a
//!   relay connection that authenticates and binds through the relay.
//! * [`tls`] — TLS configurations (certificates, trusted CAs) for `msrps`,
//!   attached to connectors, acceptors and servers.
//!
//! # Status names
//!
//! rustls-ffi prefixes enum constants with the enum's name, and so do the
//! other enums here (`MSGWIRE_MSRP_FAILURE_REPORT_PARTIAL`). The status enum
//! is the exception: C code compares against it after every call, so its
//! constants are spelled `MSGWIRE_OK`, `MSGWIRE_NOT_FOUND`, ... (errno-like,
//! and short enough to read in a chain of `if` statements). Their numbers
//! are grouped by area and never change.
//!
//! # Strings
//!
//! Strings passed in are NUL-terminated UTF-8 (`const char *`), bytes are
//! `(const uint8_t *, size_t)`. Strings passed out are either a
//! [`msgwire_str`] borrowed from a handle (NUL-terminated, with its length;
//! valid until the handle is modified or freed) or copied into a caller
//! buffer `(char *buf, size_t cap, size_t *out_len)`.

// The exported items keep their C names in Rust (`msgwire_msrp_chunk`,
// `MSGWIRE_OK`) so that Rust and C code can be searched for the same word.
#![allow(non_camel_case_types)]
// The exported functions are `extern "C"` entry points whose pointer
// arguments are checked for NULL and otherwise trusted as the header
// documents; marking them `unsafe` would change nothing for C callers.
#![allow(clippy::not_unsafe_ptr_arg_deref)]
#![deny(missing_docs)]

pub mod chat;
pub mod cpim;
pub mod endpoint;
pub mod error;
pub mod guard;
pub mod ministream;
pub mod msrp;
pub mod relay;
pub mod relay_server;
pub mod sdp;
pub mod server;
pub mod serverresponse;
pub mod sts;
pub mod tls;
pub mod transfer;

pub use error::{msgwire_last_error, msgwire_status, msgwire_status_text};
pub use guard::msgwire_str;

use std::ffi::c_char;

/// The library version, e.g. `"msgwire/0.1.0"`.
///
/// Returns a static NUL-terminated string; never NULL, never freed.
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_version() -> *const c_char {
    const VERSION: &str = concat!("msgwire/", env!("CARGO_PKG_VERSION"), "\0");
    guard::guard_value(VERSION.as_ptr().cast(), || VERSION.as_ptr().cast())
}
