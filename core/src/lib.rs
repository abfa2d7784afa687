//! msgwire: session-messaging protocols with a sans-IO core.
//!
//! The crate is organised by protocol. Each protocol has a *wire* layer that
//! turns bytes into values and values into bytes without touching sockets,
//! threads or clocks; higher layers (sessions, connections) are built on it.
//!
//! Available today:
//!
//! * [`msrp`] — the Message Session Relay Protocol (RFC 4975): URIs, typed
//!   headers, chunks, a streaming parser and the response/report rules.
//! * [`ministream`] — I2P ministreaming: frames, stream state machines and
//!   a socket manager multiplexing blocking streams over TCP or in memory.
//! * [`net`] — the blocking I/O engine: streams, connections, a shared timer.
//! * [`serverresponse`] — GNU Bayonne's serverResponse XML dialect: the
//!   document model, a streaming writer and parser, and an embedded HTTP
//!   GET server and client.
//!
//! # Example
//!
//! ```
//! use msgwire::msrp::{parse_chunk, Flag};
//!
//! let wire = b"MSRP a786hjs2 SEND\r\n\
//! To-Path: msrp://biloxi.example.com:12763/kjhd37s2s20w2a;tcp\r\n\
//! From-Path: msrp://atlanta.example.com:7654/jshA7weztas;tcp\r\n\
//! Message-ID: 87652491\r\n\
//! Byte-Range: 1-25/25\r\n\
//! Content-Type: text/plain\r\n\
//! \r\n\
//! Hey Bob, are you there?\r\n\
//! -------a786hjs2$\r\n";
//! let chunk = parse_chunk(wire).unwrap();
//! assert_eq!(chunk.method(), Some("SEND"));
//! assert_eq!(&chunk.data[..], b"Hey Bob, are you there?");
//! assert_eq!(chunk.flag, Flag::End);
//! assert_eq!(chunk.encode(), &wire[..]);
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod ministream;
pub mod msrp;
pub mod net;
pub mod serverresponse;
mod slices;
pub mod sts;
