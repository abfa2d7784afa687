//! STS/1.0: the HTTP-like request/reply and notification protocol of
//! python-sts (see `shared/specs/000_…`).
//!
//! Layers, as for MSRP: the sans-IO wire layer (start lines, headers,
//! messages, the incremental parser, error replies, fragments and reply
//! sequence marks) turns bytes into values and back; the endpoints drive
//! it over [`crate::net`] connections.

pub mod client;
pub mod error;
pub mod fragment;
pub mod header;
pub mod message;
pub mod parser;
pub mod peer;
pub mod server;
pub mod subject;
pub mod transaction;
