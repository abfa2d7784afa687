//! The serverResponse document: model, streaming writer, streaming parser.
//!
//! Sans-IO: the writer writes to any [`Write`](std::io::Write), the parser reads from a byte
//! slice or any [`BufRead`](std::io::BufRead); neither touches sockets, threads or clocks.
//!
//! # The document
//!
//! Two forms: [`Response`], a whole document packed for reading (what the
//! parser and the HTTP client return), and the owned model ([`Field`],
//! [`Row`], [`Lists`], [`Entry`], [`Body`]) for building one piece by
//! piece or receiving one row at a time ([`DocEvent`]).
//!
//! ```text
//! <?xml version="1.0"?>
//! <serverResponse>
//!  <results server="bayonne" service="registrations">
//!   <result id="count" value="1"/>
//!   <lists id="registrations">
//!    <list id="registration">
//!     <item id="driver" value="sip"/>
//!    </list>
//!   </lists>
//!  </results>
//! </serverResponse>
//! ```
//!
//! `<results>` holds, in any order, `<result>` entries and `<lists>` tables
//! of `<list>` rows of `<item>` cells; `<faults>` holds `<fault>` entries
//! (Bayonne sends `code` and `text`). Every `value` is a string: the dialect
//! has no types. [`Field`] offers number and boolean conversions on top.
//!
//! # Writing
//!
//! [`Writer`] emits each piece as soon as it is given: a handler can stream
//! a table of any length row by row. It writes the spec's layout (the
//! `<?xml version="1.0"?>` declaration, one space of indentation per
//! level, LF line ends) so its output for the spec's samples is
//! byte-identical to them. [`Response::write_to`] writes a whole model.
//!
//! # Parsing
//!
//! Three ways in, all on quick-xml's tokenizer, with the same rules and
//! errors, bounded by [`ParseConfig`] (document size, nesting depth):
//!
//! * [`events`] / [`Events`]: a zero-copy view of a document in memory.
//!   It yields [`EventRef`]s whose ids and values are slices of the input
//!   (`Cow::Borrowed`); only a value holding an entity or a literal tab or
//!   line break is decoded into an owned string. Nothing else is
//!   allocated per element.
//! * [`parse`]: the document collected into a [`Response`], which packs
//!   every id and value into one string and the structure into small
//!   index records: a table of any length costs a handful of allocations,
//!   and each value is copied (or decoded) once, straight from the input.
//!   It is read through borrowed views ([`EntryView`], [`ListsView`],
//!   [`RowView`], [`FieldView`]) or copied out as the owned model
//!   ([`Response::to_body`]).
//! * [`DocReader`]: [`DocEvent`]s pulled from any [`BufRead`](std::io::BufRead) (a socket),
//!   one row at a time, so a long table is never held whole.
//!
//! quick-xml does all the tokenizing: it finds every tag, its name, its
//! end, comments, CDATA and the rest. Only the split of a tag's
//! attributes has a fast path of ours, for the canonical shape that our
//! writer and Bayonne's both write (` id="..." value="..."`, wanted keys
//! in order, double quotes, nothing else): one pass finds each value's
//! closing quote and whether it needs decoding. Any other shape (single
//! quotes, other order, unknown or repeated attributes, stray bytes)
//! goes through quick-xml's attribute iterator with its errors, and a
//! test holds the fast path to reading exactly what that iterator reads.
//!
//! Leniency, on purpose:
//! * unknown elements (anywhere inside `<serverResponse>`) and unknown
//!   attributes are skipped, so newer servers can add to the dialect; each
//!   is reported as [`Ignored`] (in [`Response::ignored`] or as
//!   [`DocEvent::Ignored`]) so a caller can tell a document was not fully
//!   understood;
//! * a missing `value` attribute reads as the empty string; missing
//!   `server`/`service` attributes too;
//! * item ids are free: real Bayonne servers say `remote` in registrations
//!   lists where the spec shows `server`, and both are just ids.
//!
//! Everything else that is not a well-formed serverResponse document (a
//! different root element, text outside it, a second body, malformed XML
//! such as an attribute value missing its closing quote) is a
//! [`ParseError`] carrying the byte position where it was found.

mod model;
mod parser;
mod writer;

pub use model::{
    Body, Entries, Entry, EntryView, Field, FieldView, Fields, Ignored, Lists, ListsView, Response,
    Row, RowView, Rows, Text,
};
pub use parser::{
    events, parse, parse_with, DocEvent, DocReader, EventRef, Events, FieldRef, ParseConfig,
    ParseError, ParseErrorKind,
};
pub use writer::{WriteError, Writer};
