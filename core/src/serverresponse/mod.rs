//! serverResponse: GNU Bayonne's typeless XML replies to HTTP GET (see
//! `shared/specs/004_…`).
//!
//! A client asks `GET /<method>.xml?arg=value&…`; the server answers with a
//! `<serverResponse>` document holding either `<results>` (plain
//! `<result id value/>` entries and `<lists>` tables) or `<faults>`. Every
//! value is a string. The reply carries no `Content-Length`: the document
//! is written as it is produced and the client reads to end-of-file.
//!
//! * [`doc`] — the sans-IO part: the document model ([`Response`]), a
//!   streaming [`Writer`] that never needs the whole document in memory,
//!   and a streaming parser ([`parse`], [`DocReader`]) built on quick-xml,
//!   bounded in size and depth.
//! * [`http`] — the embedded HTTP/1.x server (listener, bounded worker
//!   pool, handlers by method name, the built-in `status` method) and the
//!   blocking client [`get`].
//!
//! # Example
//!
//! ```
//! use msgwire::serverresponse::{parse, Response, Writer};
//!
//! let mut out = Vec::new();
//! let mut w = Writer::new(&mut out, "bayonne", "status");
//! w.result("status", "-- ")?;
//! w.finish()?;
//! assert_eq!(
//!     String::from_utf8(out.clone()).unwrap(),
//!     "<?xml version=\"1.0\"?>\n<serverResponse>\n \
//!      <results server=\"bayonne\" service=\"status\">\n  \
//!      <result id=\"status\" value=\"-- \"/>\n </results>\n</serverResponse>\n"
//! );
//! let back: Response = parse(&out)?;
//! assert_eq!(back.find("status"), Some("-- "));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod doc;
pub mod http;

pub use doc::{
    events, parse, parse_with, Body, DocEvent, DocReader, Entries, Entry, EntryView, EventRef,
    Events, Field, FieldRef, FieldView, Fields, Ignored, Lists, ListsView, ParseConfig, ParseError,
    ParseErrorKind, Response, Row, RowView, Rows, Text, WriteError, Writer,
};
pub use http::{
    get, get_with, ClientError, Fault, GetOptions, Handler, Reply, Request, Server, ServerConfig,
};
