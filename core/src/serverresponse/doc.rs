//! The serverResponse document: model, streaming writer, streaming parser.
//!
//! Sans-IO: the writer writes to any [`Write`], the parser reads from a byte
//! slice or any [`BufRead`]; neither touches sockets, threads or clocks.
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
//! * [`DocReader`]: [`DocEvent`]s pulled from any [`BufRead`] (a socket),
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

use std::borrow::Cow;
use std::collections::VecDeque;
use std::fmt;
use std::io::{self, BufRead, Read, Write};

use quick_xml::events::attributes::Attributes;
use quick_xml::events::Event;
use quick_xml::Reader;

use crate::slices::range_within;

// ------------------------------------------------------------------ model

/// The string type of ids and values in the owned model: a
/// [`String`]-like type (it derefs to `str`, compares with `&str` and
/// `String`, and converts from both) that keeps strings of up to 24 bytes
/// inline.
///
/// Almost every id and value of a serverResponse table is that short
/// (`driver`, `sip`, `192.168.1.20`), so a row streamed by [`DocReader`]
/// costs one allocation (its cell vector) instead of one per id and one
/// per value. Longer strings live on the heap as a `String` would.
pub type Text = compact_str::CompactString;

/// One `id`/`value` pair: a `<result>`, an `<item>` or a `<fault>`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Field {
    /// What the value is about.
    pub id: Text,
    /// The value, always a string.
    pub value: Text,
}

impl Field {
    /// A field with a string value.
    pub fn new(id: impl Into<Text>, value: impl Into<Text>) -> Field {
        Field {
            id: id.into(),
            value: value.into(),
        }
    }

    /// A field holding a number (or anything else displayable), written
    /// with its `Display` form.
    pub fn number(id: impl Into<Text>, value: impl fmt::Display) -> Field {
        Field::new(id, compact_str::format_compact!("{value}"))
    }

    /// A field holding a boolean, written `true` or `false`.
    pub fn flag(id: impl Into<Text>, value: bool) -> Field {
        Field::new(id, if value { "true" } else { "false" })
    }

    /// The field borrowed, as a [`Response`] shows its fields.
    pub fn view(&self) -> FieldView<'_> {
        FieldView {
            id: &self.id,
            value: &self.value,
        }
    }

    /// The value as a signed integer (see [`FieldView::as_i64`]).
    pub fn as_i64(&self) -> Option<i64> {
        self.view().as_i64()
    }

    /// The value as an unsigned integer (see [`FieldView::as_u64`]).
    pub fn as_u64(&self) -> Option<u64> {
        self.view().as_u64()
    }

    /// The value as a floating-point number (see [`FieldView::as_f64`]).
    pub fn as_f64(&self) -> Option<f64> {
        self.view().as_f64()
    }

    /// The value as a boolean (see [`FieldView::as_bool`]).
    pub fn as_bool(&self) -> Option<bool> {
        self.view().as_bool()
    }
}

/// `true`/`yes`/`on`/`1` and `false`/`no`/`off`/`0`, in any case and
/// with spaces around; anything else is `None`.
fn parse_flag(v: &str) -> Option<bool> {
    let v = v.trim();
    const TRUE: [&str; 4] = ["true", "yes", "on", "1"];
    const FALSE: [&str; 4] = ["false", "no", "off", "0"];
    if TRUE.iter().any(|t| v.eq_ignore_ascii_case(t)) {
        Some(true)
    } else if FALSE.iter().any(|f| v.eq_ignore_ascii_case(f)) {
        Some(false)
    } else {
        None
    }
}

/// One `<list>` row of a table: its id and its `<item>` cells in order.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Row {
    /// The row's id (the spec's sample: `registration`).
    pub id: Text,
    /// The cells.
    pub items: Vec<Field>,
}

impl Row {
    /// A row from its id and cells.
    pub fn new(id: impl Into<Text>, items: Vec<Field>) -> Row {
        Row {
            id: id.into(),
            items,
        }
    }

    /// The value of the first cell with this id.
    pub fn get(&self, id: &str) -> Option<&str> {
        self.items
            .iter()
            .find(|f| f.id == id)
            .map(|f| f.value.as_str())
    }
}

/// A `<lists>` table.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Lists {
    /// The table's id.
    pub id: Text,
    /// Its rows in order.
    pub rows: Vec<Row>,
}

/// One entry of `<results>`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Entry {
    /// A `<result id value/>`.
    Result(Field),
    /// A `<lists>` table.
    Lists(Lists),
}

/// What a document holds: results or faults, never both.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Body {
    /// `<results>`: success; empty means "done, nothing to report".
    Results(Vec<Entry>),
    /// `<faults>`: failure.
    Faults(Vec<Field>),
}

/// Something the parser skipped because the dialect does not define it
/// there. Positions are byte offsets into the document.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Ignored {
    /// An unknown element (its whole content was skipped).
    Element {
        /// The element's name.
        name: String,
        /// Where it starts.
        position: u64,
    },
    /// An unknown attribute of a known element.
    Attribute {
        /// The element it was on.
        element: String,
        /// The attribute's name.
        name: String,
        /// Where the element starts.
        position: u64,
    },
    /// Non-blank text inside the document.
    Text {
        /// Where it starts.
        position: u64,
    },
}

/// A serverResponse document: what [`parse`] and [`get`](super::get)
/// return, and what [`Response::results`] and [`Response::faults`] build.
///
/// Its ids and values live packed in one string, not one owned string
/// each: a parsed table of any length costs a handful of allocations and
/// about half the memory of owned rows of owned cells. They are read
/// through borrowed views ([`entries`](Response::entries) yields
/// [`EntryView`]s, tables are [`ListsView`]s of [`RowView`]s of
/// [`FieldView`]s), or copied out whole as the owned [`Body`] with
/// [`to_body`](Response::to_body).
///
/// Two documents are equal when they say the same: same server, service,
/// results or faults, in the same order, and the same things ignored.
///
/// A document holds at most 4 GiB of ids and values together: [`parse`]
/// refuses more ([`ParseErrorKind::TooLarge`]); the constructors, which
/// cannot fail, leave any string past that limit empty.
///
/// ```
/// use msgwire::serverresponse::{parse, Entry, Field, Lists, Response, Row};
///
/// let doc = Response::results(
///     "bayonne",
///     "registrations",
///     vec![
///         Entry::Result(Field::new("count", "1")),
///         Entry::Lists(Lists {
///             id: "registrations".into(),
///             rows: vec![Row::new("registration", vec![Field::new("driver", "sip")])],
///         }),
///     ],
/// );
/// let back = parse(&doc.to_xml())?;
/// assert_eq!(back, doc);
/// assert_eq!(back.find("count"), Some("1"));
/// let table = back.lists("registrations").unwrap();
/// assert_eq!(table.rows().next().unwrap().get("driver"), Some("sip"));
/// # Ok::<(), msgwire::serverresponse::ParseError>(())
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Response {
    /// The `server` attribute: which kind of server answered.
    pub server: String,
    /// The `service` attribute: the method called, or `http` for faults of
    /// the HTTP layer.
    pub service: String,
    /// What the parser skipped (always empty for a built document).
    pub ignored: Vec<Ignored>,
    packed: Packed,
}

/// Where a string lies in [`Packed::text`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
struct Span {
    at: u32,
    len: u32,
}

/// A `<result>`, `<item>` or `<fault>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct Cell {
    id: Span,
    value: Span,
}

/// A `<results>` entry: a cell or a table, by index.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Slot {
    Result(u32),
    Lists(u32),
}

/// A `<lists>` (its rows are `rows[start..end]`) or a `<list>` (its
/// items are `cells[start..end]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
struct Group {
    id: Span,
    start: u32,
    end: u32,
}

impl Group {
    fn len(&self) -> usize {
        (self.end - self.start) as usize
    }

    fn of<'p, T>(&self, all: &'p [T]) -> &'p [T] {
        all.get(self.start as usize..self.end as usize)
            .unwrap_or_default()
    }
}

/// The body of a [`Response`], packed: every id and value in document
/// order in one string, the structure as small index records. Built in
/// document order by [`parse`] and by the owned constructors alike, so
/// equal documents pack equally.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
struct Packed {
    faults: bool,
    text: String,
    /// Results, items and faults, in document order.
    cells: Vec<Cell>,
    /// The `<results>` entries.
    entries: Vec<Slot>,
    tables: Vec<Group>,
    rows: Vec<Group>,
    /// More than 4 GiB of text: past what a [`Span`] can say.
    overflow: bool,
}

impl Packed {
    #[inline(always)]
    fn put(&mut self, s: &str) -> Span {
        match (u32::try_from(self.text.len()), u32::try_from(s.len())) {
            (Ok(at), Ok(len)) if at.checked_add(len).is_some() => {
                self.text.push_str(s);
                Span { at, len }
            }
            _ => {
                self.overflow = true;
                Span::default()
            }
        }
    }

    /// The span of what was appended to the text since it was `start`
    /// bytes long.
    fn appended(&mut self, start: usize) -> Span {
        match (u32::try_from(start), u32::try_from(self.text.len())) {
            (Ok(at), Ok(end)) => Span { at, len: end - at },
            _ => {
                self.overflow = true;
                self.text.truncate(start);
                Span::default()
            }
        }
    }

    fn get(&self, span: Span) -> &str {
        let start = span.at as usize;
        self.text
            .get(start..start + span.len as usize)
            .unwrap_or_default()
    }

    fn index(n: usize) -> u32 {
        // The text overflows long before a count of records does (each
        // record holds at least one byte of it).
        u32::try_from(n).unwrap_or(u32::MAX)
    }

    #[inline(always)]
    fn cell(&mut self, id: Span, value: Span) -> u32 {
        let at = Packed::index(self.cells.len());
        self.cells.push(Cell { id, value });
        at
    }

    fn result(&mut self, id: Span, value: Span) {
        let at = self.cell(id, value);
        self.entries.push(Slot::Result(at));
    }

    fn begin_lists(&mut self, id: Span) {
        let at = Packed::index(self.tables.len());
        let rows = Packed::index(self.rows.len());
        self.tables.push(Group {
            id,
            start: rows,
            end: rows,
        });
        self.entries.push(Slot::Lists(at));
    }

    /// Whether a table is open (the last entry is one): rows go there.
    fn in_table(&self) -> bool {
        matches!(self.entries.last(), Some(Slot::Lists(_)))
    }

    fn begin_row(&mut self, id: Span) {
        if !self.in_table() {
            return;
        }
        let cells = Packed::index(self.cells.len());
        self.rows.push(Group {
            id,
            start: cells,
            end: cells,
        });
        if let Some(t) = self.tables.last_mut() {
            t.end = Packed::index(self.rows.len());
        }
    }

    /// An item of the last row (the machine and the owned model only
    /// give items inside rows inside tables).
    #[inline(always)]
    fn item(&mut self, id: Span, value: Span) {
        let end = Packed::index(self.cells.len() + 1);
        if let Some(r) = self.rows.last_mut() {
            r.end = end;
            self.cells.push(Cell { id, value });
        }
    }

    fn fault(&mut self, id: Span, value: Span) {
        if self.faults {
            self.cell(id, value);
        }
    }

    fn push_field(&mut self, f: &Field) -> (Span, Span) {
        (self.put(&f.id), self.put(&f.value))
    }

    fn from_entries(entries: &[Entry]) -> Packed {
        let mut p = Packed::default();
        for e in entries {
            match e {
                Entry::Result(f) => {
                    let (id, value) = p.push_field(f);
                    p.result(id, value);
                }
                Entry::Lists(l) => {
                    let id = p.put(&l.id);
                    p.begin_lists(id);
                    for r in &l.rows {
                        let id = p.put(&r.id);
                        p.begin_row(id);
                        for f in &r.items {
                            let (id, value) = p.push_field(f);
                            p.item(id, value);
                        }
                    }
                }
            }
        }
        p
    }

    fn from_faults(faults: &[Field]) -> Packed {
        let mut p = Packed {
            faults: true,
            ..Packed::default()
        };
        for f in faults {
            let (id, value) = p.push_field(f);
            p.fault(id, value);
        }
        p
    }

    fn field(&self, c: &Cell) -> FieldView<'_> {
        FieldView {
            id: self.get(c.id),
            value: self.get(c.value),
        }
    }
}

impl Response {
    /// A results document.
    pub fn results(
        server: impl Into<String>,
        service: impl Into<String>,
        entries: Vec<Entry>,
    ) -> Response {
        Response {
            server: server.into(),
            service: service.into(),
            ignored: Vec::new(),
            packed: Packed::from_entries(&entries),
        }
    }

    /// A faults document.
    pub fn faults(
        server: impl Into<String>,
        service: impl Into<String>,
        faults: Vec<Field>,
    ) -> Response {
        Response {
            server: server.into(),
            service: service.into(),
            ignored: Vec::new(),
            packed: Packed::from_faults(&faults),
        }
    }

    /// A document holding `body`.
    pub fn new(server: impl Into<String>, service: impl Into<String>, body: Body) -> Response {
        match body {
            Body::Results(entries) => Response::results(server, service, entries),
            Body::Faults(faults) => Response::faults(server, service, faults),
        }
    }

    /// The Bayonne fault shape: `code` and `text` faults.
    pub fn fault(
        server: impl Into<String>,
        service: impl Into<String>,
        code: u32,
        text: impl Into<Text>,
    ) -> Response {
        Response::faults(
            server,
            service,
            vec![Field::number("code", code), Field::new("text", text)],
        )
    }

    /// Whether this is a faults document.
    pub fn is_fault(&self) -> bool {
        self.packed.faults
    }

    /// The results entries, in order (none for faults).
    pub fn entries(&self) -> Entries<'_> {
        Entries {
            packed: &self.packed,
            inner: self.packed.entries.iter(),
        }
    }

    /// The fault entries, in order (none for results).
    pub fn fault_fields(&self) -> Fields<'_> {
        let cells = if self.packed.faults {
            &self.packed.cells[..]
        } else {
            &[]
        };
        Fields {
            packed: &self.packed,
            inner: cells.iter(),
        }
    }

    /// The value of the first `<result>` (or, in a faults document, the
    /// first `<fault>`) with this id.
    pub fn find(&self, id: &str) -> Option<&str> {
        if self.packed.faults {
            return self.fault_fields().find(|f| f.id == id).map(|f| f.value);
        }
        self.entries().find_map(|e| match e {
            EntryView::Result(f) if f.id == id => Some(f.value),
            _ => None,
        })
    }

    /// The first table with this id.
    pub fn lists(&self, id: &str) -> Option<ListsView<'_>> {
        self.entries().find_map(|e| match e {
            EntryView::Lists(l) if l.id() == id => Some(l),
            _ => None,
        })
    }

    /// For a faults document, the `code` fault as a number.
    pub fn fault_code(&self) -> Option<i64> {
        self.fault_fields()
            .find(|f| f.id == "code")
            .and_then(|f| f.as_i64())
    }

    /// For a faults document, the `text` fault.
    pub fn fault_text(&self) -> Option<&str> {
        self.fault_fields()
            .find(|f| f.id == "text")
            .map(|f| f.value)
    }

    /// An owned copy of the body, as the model types.
    pub fn to_body(&self) -> Body {
        if self.packed.faults {
            Body::Faults(self.fault_fields().map(FieldView::into_owned).collect())
        } else {
            Body::Results(self.entries().map(EntryView::into_owned).collect())
        }
    }

    /// Writes the document to `out` (see [`Writer`] for the layout).
    pub fn write_to<W: Write>(&self, out: W) -> Result<W, WriteError> {
        let mut w = Writer::new(out, &self.server, &self.service);
        if self.packed.faults {
            w.open_faults()?;
            for f in self.fault_fields() {
                w.fault(f.id, f.value)?;
            }
        } else {
            // The first entry opens `<results>`; none at all gives the
            // one-line `<results ...></results>` of `finish`.
            for e in self.entries() {
                match e {
                    EntryView::Result(f) => w.result(f.id, f.value)?,
                    EntryView::Lists(l) => {
                        w.begin_lists(l.id())?;
                        for r in l.rows() {
                            w.row(r.id(), r.items().map(|f| (f.id, f.value)))?;
                        }
                        w.end_lists()?;
                    }
                }
            }
        }
        w.finish()?;
        Ok(w.into_inner())
    }

    /// The document as bytes.
    pub fn to_xml(&self) -> Vec<u8> {
        // Writing to a Vec cannot fail, and the writer is driven in order.
        self.write_to(Vec::new()).unwrap_or_default()
    }
}

impl fmt::Debug for Response {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Response")
            .field("server", &self.server)
            .field("service", &self.service)
            .field("body", &self.to_body())
            .field("ignored", &self.ignored)
            .finish()
    }
}

/// A `<result>`, `<item>` or `<fault>` of a [`Response`], borrowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FieldView<'r> {
    /// What the value is about.
    pub id: &'r str,
    /// The value, always a string.
    pub value: &'r str,
}

impl<'r> FieldView<'r> {
    /// The value as a signed integer (surrounding spaces allowed).
    pub fn as_i64(&self) -> Option<i64> {
        self.value.trim().parse().ok()
    }

    /// The value as an unsigned integer (surrounding spaces allowed).
    pub fn as_u64(&self) -> Option<u64> {
        self.value.trim().parse().ok()
    }

    /// The value as a floating-point number (surrounding spaces allowed).
    pub fn as_f64(&self) -> Option<f64> {
        self.value.trim().parse().ok()
    }

    /// The value as a boolean: `true`/`yes`/`on`/`1` and
    /// `false`/`no`/`off`/`0`, in any case; anything else is `None`.
    pub fn as_bool(&self) -> Option<bool> {
        parse_flag(self.value)
    }

    /// An owned copy.
    pub fn into_owned(self) -> Field {
        Field::new(self.id, self.value)
    }
}

/// One entry of a results [`Response`], borrowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryView<'r> {
    /// A `<result id value/>`.
    Result(FieldView<'r>),
    /// A `<lists>` table.
    Lists(ListsView<'r>),
}

impl EntryView<'_> {
    /// An owned copy.
    pub fn into_owned(self) -> Entry {
        match self {
            EntryView::Result(f) => Entry::Result(f.into_owned()),
            EntryView::Lists(l) => Entry::Lists(l.into_owned()),
        }
    }
}

/// The views of a [`Group`]: a table or a row, borrowed.
macro_rules! group_view {
    ($(#[$doc:meta])* $name:ident, $what:literal, $children:ident: $iter:ident of $all:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy)]
        pub struct $name<'r> {
            packed: &'r Packed,
            group: Group,
        }

        impl<'r> $name<'r> {
            #[doc = concat!("The ", $what, "'s id.")]
            pub fn id(&self) -> &'r str {
                self.packed.get(self.group.id)
            }

            #[doc = concat!("How many ", stringify!($children), " it has.")]
            pub fn len(&self) -> usize {
                self.group.len()
            }

            #[doc = concat!("Whether it has no ", stringify!($children), ".")]
            pub fn is_empty(&self) -> bool {
                self.len() == 0
            }

            #[doc = concat!("Its ", stringify!($children), " in order.")]
            pub fn $children(&self) -> $iter<'r> {
                $iter {
                    packed: self.packed,
                    inner: self.group.of(&self.packed.$all).iter(),
                }
            }
        }

        impl PartialEq for $name<'_> {
            fn eq(&self, other: &Self) -> bool {
                self.id() == other.id() && self.$children().eq(other.$children())
            }
        }

        impl Eq for $name<'_> {}

        impl fmt::Debug for $name<'_> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_struct(stringify!($name))
                    .field("id", &self.id())
                    .field(stringify!($children), &self.$children().collect::<Vec<_>>())
                    .finish()
            }
        }
    };
}

group_view!(
    /// A `<lists>` table of a [`Response`], borrowed.
    ListsView,
    "table",
    rows: Rows of rows
);

group_view!(
    /// A `<list>` row of a table, borrowed.
    RowView,
    "row",
    items: Fields of cells
);

impl<'r> ListsView<'r> {
    /// The row at `index`.
    pub fn row(&self, index: usize) -> Option<RowView<'r>> {
        self.rows().nth(index)
    }

    /// An owned copy.
    pub fn into_owned(self) -> Lists {
        Lists {
            id: self.id().into(),
            rows: self.rows().map(RowView::into_owned).collect(),
        }
    }
}

impl<'r> RowView<'r> {
    /// The value of the first cell with this id.
    pub fn get(&self, id: &str) -> Option<&'r str> {
        self.items().find(|f| f.id == id).map(|f| f.value)
    }

    /// An owned copy.
    pub fn into_owned(self) -> Row {
        Row::new(self.id(), self.items().map(FieldView::into_owned).collect())
    }
}

/// The iterators over the records of a [`Response`], each record turned
/// into its view.
macro_rules! view_iterator {
    ($(#[$doc:meta])* $name:ident, $record:ty, $view:ident, $make:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone)]
        pub struct $name<'r> {
            packed: &'r Packed,
            inner: std::slice::Iter<'r, $record>,
        }

        impl<'r> $name<'r> {
            fn view(&self, record: &$record) -> $view<'r> {
                let make: fn(&'r Packed, &$record) -> $view<'r> = $make;
                make(self.packed, record)
            }
        }

        impl<'r> Iterator for $name<'r> {
            type Item = $view<'r>;

            fn next(&mut self) -> Option<$view<'r>> {
                let record = self.inner.next()?;
                Some(self.view(record))
            }

            fn size_hint(&self) -> (usize, Option<usize>) {
                self.inner.size_hint()
            }

            fn nth(&mut self, n: usize) -> Option<$view<'r>> {
                let record = self.inner.nth(n)?;
                Some(self.view(record))
            }
        }

        impl DoubleEndedIterator for $name<'_> {
            fn next_back(&mut self) -> Option<Self::Item> {
                let record = self.inner.next_back()?;
                Some(self.view(record))
            }
        }

        impl ExactSizeIterator for $name<'_> {}
    };
}

view_iterator!(
    /// The entries of a [`Response`] (see [`Response::entries`]).
    Entries,
    Slot,
    EntryView,
    |packed, slot| match *slot {
        Slot::Result(i) => match packed.cells.get(i as usize) {
            Some(c) => EntryView::Result(packed.field(c)),
            None => EntryView::Result(FieldView { id: "", value: "" }),
        },
        Slot::Lists(i) => EntryView::Lists(ListsView {
            packed,
            group: packed.tables.get(i as usize).copied().unwrap_or_default(),
        }),
    }
);

view_iterator!(
    /// The rows of a table (see [`ListsView::rows`]).
    Rows,
    Group,
    RowView,
    |packed, row| RowView { packed, group: *row }
);

view_iterator!(
    /// The cells of a row, or the faults of a document (see
    /// [`RowView::items`], [`Response::fault_fields`]).
    Fields,
    Cell,
    FieldView,
    |packed, cell| packed.field(cell)
);

// ----------------------------------------------------------------- writer

/// A [`Writer`] could not write.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WriteError {
    /// The underlying writer failed (for a network reply: the client went
    /// away). The document is incomplete; stop writing.
    #[error("write failed: {0}")]
    Io(#[from] io::Error),
    /// The calls came in an order the dialect cannot express (a fault
    /// after results, an item outside a row, anything after
    /// [`Writer::finish`]). A bug in the caller; nothing was written for
    /// the refused call.
    #[error("serverResponse writer: {0}")]
    Order(&'static str),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum WState {
    /// Nothing written yet.
    Fresh,
    Results,
    Lists,
    Row,
    Faults,
    Done,
}

/// Writes a serverResponse document piece by piece.
///
/// Nothing is written until the first piece: the first [`result`]
/// or [`begin_lists`] opens `<results>`, the first [`fault`] opens
/// `<faults>`. Opening a row closes the previous row; a result or a new
/// table closes an open table; [`finish`] closes whatever is open (and
/// writes an empty `<results></results>` if nothing was written). Each
/// call writes its piece at once, so memory stays flat however long the
/// document; wrap an unbuffered sink in a `BufWriter`.
///
/// Attribute values are escaped: `& < > " '` become entities, tab, LF and
/// CR become character references (so they survive a parser's
/// attribute-value normalisation), and the characters XML 1.0 cannot carry
/// at all (other C0 controls, U+FFFE, U+FFFF) become U+FFFD.
///
/// [`result`]: Writer::result
/// [`begin_lists`]: Writer::begin_lists
/// [`fault`]: Writer::fault
/// [`finish`]: Writer::finish
#[derive(Debug)]
pub struct Writer<W: Write> {
    out: W,
    server: String,
    service: String,
    state: WState,
    line: Vec<u8>,
}

impl<W: Write> Writer<W> {
    /// A writer for a document from `server` answering `service`.
    pub fn new(out: W, server: &str, service: &str) -> Writer<W> {
        Writer {
            out,
            server: server.to_string(),
            service: service.to_string(),
            state: WState::Fresh,
            line: Vec::with_capacity(256),
        }
    }

    /// Whether anything has been written yet.
    pub fn is_started(&self) -> bool {
        self.state != WState::Fresh
    }

    /// Whether the document is a faults document.
    pub fn is_faults(&self) -> bool {
        self.state == WState::Faults
    }

    /// Whether [`finish`](Self::finish) has run.
    pub fn is_finished(&self) -> bool {
        self.state == WState::Done
    }

    /// The sink.
    pub fn get_mut(&mut self) -> &mut W {
        &mut self.out
    }

    /// The sink (call [`finish`](Self::finish) first).
    pub fn into_inner(self) -> W {
        self.out
    }

    /// Opens `<results>` now (also done by the first result or table).
    pub fn open_results(&mut self) -> Result<(), WriteError> {
        match self.state {
            WState::Fresh => self.open(false),
            WState::Results | WState::Lists | WState::Row => Ok(()),
            WState::Faults => Err(WriteError::Order("results in a faults document")),
            WState::Done => Err(WriteError::Order("write after finish")),
        }
    }

    /// Opens `<faults>` now (also done by the first fault).
    pub fn open_faults(&mut self) -> Result<(), WriteError> {
        match self.state {
            WState::Fresh => self.open(true),
            WState::Faults => Ok(()),
            WState::Done => Err(WriteError::Order("write after finish")),
            _ => Err(WriteError::Order("a fault in a results document")),
        }
    }

    /// Writes `<result id value/>`, closing an open table first.
    pub fn result(&mut self, id: &str, value: &str) -> Result<(), WriteError> {
        self.open_results()?;
        self.close_to(WState::Results)?;
        self.field(2, "result", id, value)
    }

    /// Opens a `<lists id>` table, closing an open one first.
    pub fn begin_lists(&mut self, id: &str) -> Result<(), WriteError> {
        self.open_results()?;
        self.close_to(WState::Results)?;
        self.start_line(2, "lists", id);
        self.line.extend_from_slice(b">\n");
        self.flush_line()?;
        self.state = WState::Lists;
        Ok(())
    }

    /// Opens a `<list id>` row in the open table, closing the previous row.
    pub fn begin_row(&mut self, id: &str) -> Result<(), WriteError> {
        match self.state {
            WState::Lists => {}
            WState::Row => self.close_to(WState::Lists)?,
            _ => return Err(WriteError::Order("a row outside a table")),
        }
        self.start_line(3, "list", id);
        self.line.extend_from_slice(b">\n");
        self.flush_line()?;
        self.state = WState::Row;
        Ok(())
    }

    /// Writes `<item id value/>` in the open row.
    pub fn item(&mut self, id: &str, value: &str) -> Result<(), WriteError> {
        if self.state != WState::Row {
            return Err(WriteError::Order("an item outside a row"));
        }
        self.field(4, "item", id, value)
    }

    /// Closes the open row.
    pub fn end_row(&mut self) -> Result<(), WriteError> {
        if self.state != WState::Row {
            return Err(WriteError::Order("no row is open"));
        }
        self.close_to(WState::Lists)
    }

    /// Writes a whole row: `begin_row`, its items, `end_row`.
    pub fn row<'a, I>(&mut self, id: &str, items: I) -> Result<(), WriteError>
    where
        I: IntoIterator<Item = (&'a str, &'a str)>,
    {
        self.begin_row(id)?;
        for (k, v) in items {
            self.item(k, v)?;
        }
        self.end_row()
    }

    /// Closes the open table.
    pub fn end_lists(&mut self) -> Result<(), WriteError> {
        if !matches!(self.state, WState::Lists | WState::Row) {
            return Err(WriteError::Order("no table is open"));
        }
        self.close_to(WState::Results)
    }

    /// Writes a whole entry (a result or a table).
    pub fn entry(&mut self, entry: &Entry) -> Result<(), WriteError> {
        match entry {
            Entry::Result(f) => self.result(&f.id, &f.value),
            Entry::Lists(l) => {
                self.begin_lists(&l.id)?;
                for r in &l.rows {
                    self.row(&r.id, r.items.iter().map(|f| (&*f.id, &*f.value)))?;
                }
                self.end_lists()
            }
        }
    }

    /// Writes `<fault id value/>`.
    pub fn fault(&mut self, id: &str, value: &str) -> Result<(), WriteError> {
        self.open_faults()?;
        self.field(2, "fault", id, value)
    }

    /// Closes the document (an empty `<results></results>` if nothing was
    /// written) and flushes the sink. Calling it again does nothing.
    pub fn finish(&mut self) -> Result<(), WriteError> {
        match self.state {
            WState::Done => return Ok(()),
            WState::Fresh => {
                self.line.clear();
                self.line.extend_from_slice(PROLOG);
                self.body_open_tag(false);
                self.line
                    .extend_from_slice(b"</results>\n</serverResponse>\n");
                self.flush_line()?;
            }
            WState::Faults => {
                self.line.clear();
                self.line
                    .extend_from_slice(b" </faults>\n</serverResponse>\n");
                self.flush_line()?;
            }
            _ => {
                self.close_to(WState::Results)?;
                self.line.clear();
                self.line
                    .extend_from_slice(b" </results>\n</serverResponse>\n");
                self.flush_line()?;
            }
        }
        self.state = WState::Done;
        self.out.flush()?;
        Ok(())
    }

    fn open(&mut self, faults: bool) -> Result<(), WriteError> {
        self.line.clear();
        self.line.extend_from_slice(PROLOG);
        self.body_open_tag(faults);
        self.line.push(b'\n');
        self.flush_line()?;
        self.state = if faults {
            WState::Faults
        } else {
            WState::Results
        };
        Ok(())
    }

    fn body_open_tag(&mut self, faults: bool) {
        self.line.extend_from_slice(if faults {
            b" <faults server=\""
        } else {
            b" <results server=\""
        });
        escape_into(&mut self.line, &self.server);
        self.line.extend_from_slice(b"\" service=\"");
        escape_into(&mut self.line, &self.service);
        self.line.extend_from_slice(b"\">");
    }

    /// Closes open rows and tables down to `target` (Results or Lists).
    fn close_to(&mut self, target: WState) -> Result<(), WriteError> {
        self.line.clear();
        if self.state == WState::Row {
            self.line.extend_from_slice(b"   </list>\n");
            self.state = WState::Lists;
        }
        if self.state == WState::Lists && target == WState::Results {
            self.line.extend_from_slice(b"  </lists>\n");
            self.state = WState::Results;
        }
        if self.line.is_empty() {
            Ok(())
        } else {
            self.flush_line()
        }
    }

    fn start_line(&mut self, indent: usize, tag: &str, id: &str) {
        self.line.clear();
        self.line.extend(std::iter::repeat_n(b' ', indent));
        self.line.push(b'<');
        self.line.extend_from_slice(tag.as_bytes());
        self.line.extend_from_slice(b" id=\"");
        escape_into(&mut self.line, id);
        self.line.push(b'"');
    }

    fn field(&mut self, indent: usize, tag: &str, id: &str, value: &str) -> Result<(), WriteError> {
        self.start_line(indent, tag, id);
        self.line.extend_from_slice(b" value=\"");
        escape_into(&mut self.line, value);
        self.line.extend_from_slice(b"\"/>\n");
        self.flush_line()
    }

    fn flush_line(&mut self) -> Result<(), WriteError> {
        self.out.write_all(&self.line)?;
        Ok(())
    }
}

/// Appends `s` escaped for a double-quoted attribute value.
fn escape_into(out: &mut Vec<u8>, s: &str) {
    let bytes = s.as_bytes();
    let mut start = 0;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        let (replacement, skip): (&[u8], usize) = match b {
            b'&' => (b"&amp;", 1),
            b'<' => (b"&lt;", 1),
            b'>' => (b"&gt;", 1),
            b'"' => (b"&quot;", 1),
            b'\'' => (b"&apos;", 1),
            b'\t' => (b"&#9;", 1),
            b'\n' => (b"&#10;", 1),
            b'\r' => (b"&#13;", 1),
            0..=0x1F => ("\u{FFFD}".as_bytes(), 1),
            // U+FFFE and U+FFFF are EF BF BE / EF BF BF in UTF-8.
            0xEF if bytes.get(i + 1) == Some(&0xBF)
                && matches!(bytes.get(i + 2), Some(0xBE | 0xBF)) =>
            {
                ("\u{FFFD}".as_bytes(), 3)
            }
            _ => {
                i += 1;
                continue;
            }
        };
        out.extend_from_slice(&bytes[start..i]);
        out.extend_from_slice(replacement);
        i += skip;
        start = i;
    }
    out.extend_from_slice(&bytes[start..]);
}

const PROLOG: &[u8] = b"<?xml version=\"1.0\"?>\n<serverResponse>\n";

// ----------------------------------------------------------------- parser

/// Limits of the parser.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct ParseConfig {
    /// Largest document accepted, in bytes. Default 16 MiB: a status
    /// table of some 100,000 rows, far more than any status page, and
    /// still a bounded amount of memory when collecting a [`Response`].
    pub max_size: u64,
    /// Deepest element nesting accepted. The dialect needs 5 levels
    /// (`serverResponse/results/lists/list/item`); default 32 leaves room
    /// for unknown extensions while stopping pathological nesting.
    pub max_depth: usize,
}

impl Default for ParseConfig {
    fn default() -> Self {
        ParseConfig {
            max_size: 16 * 1024 * 1024,
            max_depth: 32,
        }
    }
}

impl ParseConfig {
    /// The default limits with another maximum size.
    pub fn with_max_size(mut self, max_size: u64) -> Self {
        self.max_size = max_size;
        self
    }

    /// The default limits with another maximum depth.
    pub fn with_max_depth(mut self, max_depth: usize) -> Self {
        self.max_depth = max_depth;
        self
    }
}

/// Why a document was refused, and where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{kind} (at byte {position})")]
pub struct ParseError {
    /// What is wrong.
    pub kind: ParseErrorKind,
    /// The byte offset into the document where it was found.
    pub position: u64,
}

/// What is wrong with a refused document. All are problems of the data
/// (the server's, for a fetched reply); none is worth retrying as is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ParseErrorKind {
    /// The bytes are not well-formed XML (quick-xml's diagnosis), e.g. an
    /// attribute value missing its closing quote or mismatched tags.
    #[error("malformed XML: {0}")]
    Xml(String),
    /// The text is not UTF-8.
    #[error("not UTF-8")]
    NotUtf8,
    /// There is no root element at all.
    #[error("no document")]
    Empty,
    /// The root element is not `<serverResponse>`.
    #[error("not a serverResponse document (root element <{0}>)")]
    NotServerResponse(String),
    /// Well-formed XML that breaks the dialect's structure (neither
    /// results nor faults, both, or content after the root).
    #[error("invalid serverResponse document: {0}")]
    Structure(&'static str),
    /// A `<result>`, `<item>`, `<fault>`, `<list>` or `<lists>` has no
    /// `id`.
    #[error("<{element}> without an id attribute")]
    MissingId {
        /// The element.
        element: &'static str,
    },
    /// The document exceeds [`ParseConfig::max_size`] (or, collected
    /// into a [`Response`], holds more than 4 GiB of ids and values).
    #[error("document larger than {0} bytes")]
    TooLarge(u64),
    /// Elements nest deeper than [`ParseConfig::max_depth`].
    #[error("elements nested deeper than {0}")]
    TooDeep(usize),
    /// Reading the source failed.
    #[error("read failed: {0}")]
    Io(String),
}

/// One piece of a document, as [`DocReader`] delivers it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DocEvent {
    /// `<results>` or `<faults>` opened.
    Begin {
        /// `true` for `<faults>`.
        faults: bool,
        /// The `server` attribute.
        server: String,
        /// The `service` attribute.
        service: String,
    },
    /// A `<result>`.
    Result(Field),
    /// A `<lists>` table opened.
    BeginLists(Text),
    /// One complete `<list>` row of the open table.
    Row(Row),
    /// The open table closed.
    EndLists,
    /// A `<fault>`.
    Fault(Field),
    /// Something skipped.
    Ignored(Ignored),
    /// `</serverResponse>`: the document is complete.
    End,
}

/// One piece of a document, borrowed from the bytes parsed: what
/// [`Events`] yields.
///
/// Ids and values are `Cow::Borrowed` slices of the input unless they had
/// to be decoded (an entity such as `&amp;`, or a literal tab or line
/// break, which XML reads as a space); then they are `Cow::Owned`. Unlike
/// [`DocEvent`], a table row arrives in pieces ([`BeginRow`], its
/// [`Item`]s, [`EndRow`]), so nothing is gathered.
///
/// [`BeginRow`]: EventRef::BeginRow
/// [`Item`]: EventRef::Item
/// [`EndRow`]: EventRef::EndRow
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventRef<'a> {
    /// `<results>` or `<faults>` opened.
    Begin {
        /// `true` for `<faults>`.
        faults: bool,
        /// The `server` attribute (empty when absent).
        server: Cow<'a, str>,
        /// The `service` attribute (empty when absent).
        service: Cow<'a, str>,
    },
    /// A `<result>`.
    Result(FieldRef<'a>),
    /// A `<lists>` table opened; the id.
    BeginLists(Cow<'a, str>),
    /// A `<list>` row of the open table opened; the id.
    BeginRow(Cow<'a, str>),
    /// An `<item>` of the open row.
    Item(FieldRef<'a>),
    /// The open row closed.
    EndRow,
    /// The open table closed.
    EndLists,
    /// A `<fault>`.
    Fault(FieldRef<'a>),
    /// Something skipped.
    Ignored(Ignored),
    /// `</serverResponse>`: the document is complete.
    End,
}

/// A borrowed `id`/`value` pair (see [`EventRef`]).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct FieldRef<'a> {
    /// What the value is about.
    pub id: Cow<'a, str>,
    /// The value (empty when the attribute is absent).
    pub value: Cow<'a, str>,
}

impl FieldRef<'_> {
    /// An owned copy.
    pub fn into_owned(self) -> Field {
        Field {
            id: Text::from(self.id),
            value: Text::from(self.value),
        }
    }
}

/// Parses a whole document with the default limits.
pub fn parse(bytes: &[u8]) -> Result<Response, ParseError> {
    parse_with(bytes, &ParseConfig::default())
}

/// Parses a whole document with explicit limits.
///
/// Built on the zero-copy [`Events`]: each id and value is copied once,
/// from the input (or from its decoded form) into the [`Response`].
pub fn parse_with(bytes: &[u8], config: &ParseConfig) -> Result<Response, ParseError> {
    let mut events = Events::with_config(bytes, config);
    let mut builder = Builder::for_document(events.text);
    events.drive(&mut builder)?;
    builder.finish(events.position())
}

/// The [`EventRef`]s of a document held in memory, with the default
/// limits: a zero-copy view, see [`Events`].
pub fn events(bytes: &[u8]) -> Events<'_> {
    Events::with_config(bytes, &ParseConfig::default())
}

/// A zero-copy view of a document held in memory: an iterator over its
/// [`EventRef`]s, whose ids and values borrow from the input.
///
/// It checks what [`parse`] checks, in the same order and with the same
/// errors and positions (the size limit and UTF-8 first, for the whole
/// input; then the XML and the dialect as it goes). After an error it
/// ends. Use it to read a large table without building it, or to pick a
/// few values out of a document without copying the rest.
///
/// ```
/// use msgwire::serverresponse::{events, EventRef};
///
/// let xml = b"<serverResponse><results server=\"s\" service=\"t\">\
///             <result id=\"a\" value=\"1 &amp; 2\"/>\
///             <lists id=\"l\"><list id=\"r\"><item id=\"b\" value=\"x\"/></list></lists>\
///             </results></serverResponse>";
/// let mut values = Vec::new();
/// for event in events(xml) {
///     match event? {
///         EventRef::Result(f) | EventRef::Item(f) => values.push((f.id, f.value)),
///         _ => {}
///     }
/// }
/// assert_eq!(values, [("a".into(), "1 & 2".into()), ("b".into(), "x".into())]);
/// // Plain values are slices of the input; decoded ones are owned.
/// assert!(matches!(values[1].1, std::borrow::Cow::Borrowed("x")));
/// # Ok::<(), msgwire::serverresponse::ParseError>(())
/// ```
pub struct Events<'a> {
    text: &'a str,
    reader: Reader<&'a [u8]>,
    machine: Machine,
    pending: VecDeque<EventRef<'a>>,
    /// An error found before the first event (size, UTF-8).
    error: Option<ParseError>,
    done: bool,
}

impl std::fmt::Debug for Events<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Events")
            .field("position", &self.reader.buffer_position())
            .field("done", &self.done)
            .finish_non_exhaustive()
    }
}

impl<'a> Events<'a> {
    /// The view of `bytes` with explicit limits.
    pub fn with_config(bytes: &'a [u8], config: &ParseConfig) -> Events<'a> {
        let checked = if bytes.len() as u64 > config.max_size {
            Err(ParseError {
                kind: ParseErrorKind::TooLarge(config.max_size),
                position: config.max_size,
            })
        } else {
            // One UTF-8 check for the whole document: every id and value
            // is then a slice of `text`, not checked again.
            std::str::from_utf8(bytes).map_err(|e| ParseError {
                kind: ParseErrorKind::NotUtf8,
                position: e.valid_up_to() as u64,
            })
        };
        let (text, error) = match checked {
            Ok(text) => (text, None),
            Err(e) => ("", Some(e)),
        };
        let mut reader = Reader::from_reader(text.as_bytes());
        reader.config_mut().trim_text(true);
        Events {
            text,
            reader,
            machine: Machine::new(config.max_depth),
            pending: VecDeque::new(),
            error,
            done: false,
        }
    }

    /// The byte offset the view has read up to.
    pub fn position(&self) -> u64 {
        self.reader.buffer_position()
    }

    /// Runs the rest of the document through `emit`, without the queue
    /// the iterator needs (the path of [`parse`]).
    fn drive(&mut self, emit: &mut impl Sink<'a>) -> Result<(), ParseError> {
        self.done = true;
        if let Some(e) = self.error.take() {
            return Err(e);
        }
        for ev in self.pending.drain(..) {
            emit.event(ev);
        }
        while step(&mut self.reader, &mut self.machine, self.text, emit)? {}
        Ok(())
    }
}

/// Reads one quick-xml event of an [`Events`] and hands what it means to
/// `emit`; `false` once the input is over.
fn step<'a>(
    reader: &mut Reader<&'a [u8]>,
    machine: &mut Machine,
    text: &'a str,
    emit: &mut impl Sink<'a>,
) -> Result<bool, ParseError> {
    let start = reader.buffer_position();
    let event = reader.read_event().map_err(|e| xml_error(reader, e))?;
    let eof = matches!(event, Event::Eof);
    let end = reader.buffer_position();
    if let Some(tag) = machine.feed(&event, start, end, emit)? {
        // A slice reader's events borrow from the input: the tag's text
        // lies in `text`, and so do the ids and values.
        let content = match &event {
            Event::Start(e) | Event::Empty(e) => within(text, e),
            _ => None,
        };
        let content = content.ok_or(ParseError {
            kind: ParseErrorKind::NotUtf8,
            position: tag.pos,
        })?;
        machine.element(content, text, tag, emit)?;
    }
    Ok(!eof)
}

impl<'a> Iterator for Events<'a> {
    type Item = Result<EventRef<'a>, ParseError>;

    fn next(&mut self) -> Option<Self::Item> {
        if let Some(ev) = self.pending.pop_front() {
            return Some(Ok(ev));
        }
        loop {
            if self.done {
                return None;
            }
            if self.error.is_some() {
                self.done = true;
                return self.error.take().map(Err);
            }
            // Most quick-xml events mean one event or none: the first
            // goes out directly, only the others through the queue.
            let mut first = None;
            let Events {
                reader,
                machine,
                text,
                pending,
                ..
            } = self;
            let stepped = step(reader, machine, text, &mut |ev| {
                if first.is_none() {
                    first = Some(ev);
                } else {
                    pending.push_back(ev);
                }
            });
            match stepped {
                Ok(more) => self.done = !more,
                Err(e) => {
                    self.done = true;
                    self.pending.clear();
                    return Some(Err(e));
                }
            }
            if let Some(ev) = first {
                return Some(Ok(ev));
            }
        }
    }
}

impl std::iter::FusedIterator for Events<'_> {}

/// Pulls [`DocEvent`]s from a [`BufRead`] one at a time.
///
/// Memory use is bounded by the largest single element (plus one row), not
/// the document: a table of any length streams through.
///
/// ```
/// use msgwire::serverresponse::{DocEvent, DocReader};
///
/// let xml = b"<serverResponse><results server=\"s\" service=\"t\">\
///             <lists id=\"l\"><list id=\"r\"><item id=\"a\" value=\"1\"/></list></lists>\
///             </results></serverResponse>";
/// let mut reader = DocReader::new(&xml[..]);
/// let mut rows = 0;
/// while let Some(event) = reader.next_event()? {
///     if let DocEvent::Row(row) = event {
///         assert_eq!(row.get("a"), Some("1"));
///         rows += 1;
///     }
/// }
/// assert_eq!(rows, 1);
/// # Ok::<(), msgwire::serverresponse::ParseError>(())
/// ```
#[derive(Debug)]
pub struct DocReader<R: BufRead> {
    reader: Reader<Limited<R>>,
    buf: Vec<u8>,
    machine: Machine,
    owned: Owned,
    pending: VecDeque<DocEvent>,
    max_size: u64,
    finished: bool,
}

impl<R: BufRead> DocReader<R> {
    /// A reader with the default limits.
    pub fn new(source: R) -> DocReader<R> {
        DocReader::with_config(source, &ParseConfig::default())
    }

    /// A reader with explicit limits.
    pub fn with_config(source: R, config: &ParseConfig) -> DocReader<R> {
        let mut reader = Reader::from_reader(Limited {
            inner: source,
            left: config.max_size,
            exceeded: false,
            error: None,
        });
        reader.config_mut().trim_text(true);
        DocReader {
            reader,
            buf: Vec::new(),
            machine: Machine::new(config.max_depth),
            owned: Owned::default(),
            pending: VecDeque::new(),
            max_size: config.max_size,
            finished: false,
        }
    }

    /// The next event; `None` once the document has been read completely
    /// (after [`DocEvent::End`]). An error ends the document.
    pub fn next_event(&mut self) -> Result<Option<DocEvent>, ParseError> {
        loop {
            if let Some(ev) = self.pending.pop_front() {
                return Ok(Some(ev));
            }
            if self.finished {
                return Ok(None);
            }
            self.buf.clear();
            let start = self.reader.buffer_position();
            let event = self.reader.read_event_into(&mut self.buf);
            let limited = self.reader.get_ref();
            if limited.exceeded {
                self.finished = true;
                return Err(ParseError {
                    kind: ParseErrorKind::TooLarge(self.max_size),
                    position: self.max_size,
                });
            }
            if let Some(e) = &limited.error {
                self.finished = true;
                return Err(ParseError {
                    kind: ParseErrorKind::Io(e.clone()),
                    position: self.reader.buffer_position(),
                });
            }
            let event = match event {
                Ok(ev) => ev,
                Err(e) => {
                    self.finished = true;
                    return Err(xml_error(&self.reader, e));
                }
            };
            let eof = matches!(event, Event::Eof);
            let end = self.reader.buffer_position();
            let (pending, owned) = (&mut self.pending, &mut self.owned);
            let mut emit = |ev: EventRef<'_>| {
                if let Some(ev) = owned.convert(ev) {
                    pending.push_back(ev);
                }
            };
            let fed = self
                .machine
                .feed(&event, start, end, &mut emit)
                .and_then(|tag| match (tag, &event) {
                    (Some(tag), Event::Start(e) | Event::Empty(e)) => {
                        let content = std::str::from_utf8(e).map_err(|_| ParseError {
                            kind: ParseErrorKind::NotUtf8,
                            position: tag.pos,
                        })?;
                        self.machine.element(content, content, tag, &mut emit)
                    }
                    _ => Ok(()),
                });
            if let Err(e) = fed {
                self.finished = true;
                return Err(e);
            }
            if eof {
                self.finished = true;
            }
        }
    }

    /// Reads the rest of the document into a [`Response`].
    pub fn into_response(mut self) -> Result<Response, ParseError> {
        let mut builder = Builder::default();
        while let Some(ev) = self.next_event()? {
            builder.push(ev);
        }
        builder.finish(self.reader.buffer_position())
    }
}

/// A `BufRead` that stops at a byte budget and remembers whether the
/// source had more (the parser then reports [`ParseErrorKind::TooLarge`]
/// instead of a misleading "unexpected end").
#[derive(Debug)]
struct Limited<R> {
    inner: R,
    left: u64,
    exceeded: bool,
    /// A read error, kept as text so the parser can report it typed.
    error: Option<String>,
}

impl<R: BufRead> Read for Limited<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let avail = self.fill_buf()?;
        let n = avail.len().min(buf.len());
        buf[..n].copy_from_slice(&avail[..n]);
        self.consume(n);
        Ok(n)
    }
}

impl<R: BufRead> BufRead for Limited<R> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        let left = self.left;
        let buf = match self.inner.fill_buf() {
            Ok(b) => b,
            Err(e) => {
                self.error = Some(e.to_string());
                return Err(e);
            }
        };
        if left == 0 {
            if !buf.is_empty() {
                self.exceeded = true;
            }
            return Ok(&[]);
        }
        let n = usize::try_from(left).unwrap_or(usize::MAX).min(buf.len());
        Ok(&buf[..n])
    }

    fn consume(&mut self, amt: usize) {
        self.left = self.left.saturating_sub(amt as u64);
        self.inner.consume(amt);
    }
}

fn xml_error<R>(reader: &Reader<R>, e: quick_xml::Error) -> ParseError {
    ParseError {
        kind: match e {
            quick_xml::Error::Io(io) => ParseErrorKind::Io(io.to_string()),
            quick_xml::Error::Encoding(_) => ParseErrorKind::NotUtf8,
            other => ParseErrorKind::Xml(other.to_string()),
        },
        position: reader.error_position(),
    }
}

/// Turns borrowed events into owned [`DocEvent`]s, gathering the pieces
/// of a row into one [`DocEvent::Row`].
#[derive(Debug, Default)]
struct Owned {
    row: Option<Row>,
    /// Items in the last row completed: rows of a table are alike, so the
    /// next one is sized for as many.
    width: usize,
}

impl Owned {
    fn convert(&mut self, ev: EventRef<'_>) -> Option<DocEvent> {
        Some(match ev {
            EventRef::Begin {
                faults,
                server,
                service,
            } => DocEvent::Begin {
                faults,
                server: server.into_owned(),
                service: service.into_owned(),
            },
            EventRef::Result(f) => DocEvent::Result(f.into_owned()),
            EventRef::BeginLists(id) => DocEvent::BeginLists(Text::from(id)),
            EventRef::BeginRow(id) => {
                self.row = Some(Row::new(id, Vec::with_capacity(self.width)));
                return None;
            }
            EventRef::Item(f) => {
                if let Some(row) = &mut self.row {
                    row.items.push(f.into_owned());
                }
                return None;
            }
            EventRef::EndRow => {
                let row = self.row.take()?;
                self.width = row.items.len();
                DocEvent::Row(row)
            }
            EventRef::EndLists => DocEvent::EndLists,
            EventRef::Fault(f) => DocEvent::Fault(f.into_owned()),
            EventRef::Ignored(i) => DocEvent::Ignored(i),
            EventRef::End => DocEvent::End,
        })
    }
}

/// Collects events into a [`Response`]: the events of [`parse`] (through
/// [`Sink`], leaf values straight from the document into the packed text)
/// and the owned events of [`DocReader::into_response`].
#[derive(Default)]
struct Builder<'t> {
    /// The document, when parsing one held in memory (to size tables).
    text: &'t str,
    /// Where the open table's first row starts in `text`.
    first_row: Option<usize>,
    server: String,
    service: String,
    ignored: Vec<Ignored>,
    packed: Packed,
}

impl<'t> Builder<'t> {
    /// A builder for the document `text`, held in memory: every id and
    /// value comes from it and decoding only shortens, so the packed text
    /// never outgrows it.
    fn for_document(text: &'t str) -> Builder<'t> {
        let mut b = Builder {
            text,
            ..Builder::default()
        };
        b.packed.text.reserve(text.len());
        b
    }

    /// A raw attribute value into the packed text, decoded if it needs to
    /// be (straight into the text: no string of its own).
    #[inline(always)]
    fn put_raw(&mut self, tag: &Tag<'_>, raw: Raw<'_>) -> Result<Span, ParseError> {
        if raw.form == Form::Plain {
            return Ok(self.packed.put(raw.text));
        }
        let start = self.packed.text.len();
        if decode_common(raw.text, &mut self.packed.text) {
            return Ok(self.packed.appended(start));
        }
        self.packed.text.truncate(start);
        let decoded = decode_any(raw.text).map_err(|k| tag.fail(k))?;
        Ok(self.packed.put(&decoded))
    }

    fn begin(&mut self, faults: bool, server: String, service: String) {
        self.server = server;
        self.service = service;
        self.packed.faults = faults;
    }

    /// A borrowed event other than a leaf (those come through
    /// [`Sink::field`]).
    fn push_ref(&mut self, ev: EventRef<'_>) {
        match ev {
            EventRef::BeginRow(id) => {
                if self.packed.in_table() {
                    self.size_table(&id);
                }
                let id = self.packed.put(&id);
                self.packed.begin_row(id);
            }
            EventRef::BeginLists(id) => {
                self.first_row = None;
                let id = self.packed.put(&id);
                self.packed.begin_lists(id);
            }
            EventRef::Result(f) => {
                let (id, value) = (self.packed.put(&f.id), self.packed.put(&f.value));
                self.packed.result(id, value);
            }
            EventRef::Item(f) => {
                let (id, value) = (self.packed.put(&f.id), self.packed.put(&f.value));
                self.packed.item(id, value);
            }
            EventRef::Fault(f) => {
                let (id, value) = (self.packed.put(&f.id), self.packed.put(&f.value));
                self.packed.fault(id, value);
            }
            EventRef::Begin {
                faults,
                server,
                service,
            } => self.begin(faults, server.into_owned(), service.into_owned()),
            EventRef::Ignored(i) => self.ignored.push(i),
            EventRef::EndRow | EventRef::EndLists | EventRef::End => {}
        }
    }

    /// Sizes a table from its first row, as its first and second rows
    /// begin (`id` being the id of the row beginning). Rows of a table
    /// are alike, so the bytes left in the document divided by the first
    /// row's length bound how many rows follow: reserving that many rows
    /// and cells at once saves growing them a dozen times through a long
    /// table, each time into fresh memory. Only ids that are slices of
    /// the document tell where rows are.
    fn size_table(&mut self, id: &str) {
        let Some(table) = self.packed.tables.last() else {
            return;
        };
        let rows = table.len();
        if rows >= 2 {
            return;
        }
        let Some(at) = range_within(self.text.as_bytes(), id.as_bytes()).map(|r| r.start) else {
            return;
        };
        if rows == 0 {
            self.first_row = Some(at);
            return;
        }
        let Some(stride) = self
            .first_row
            .and_then(|first| at.checked_sub(first))
            .filter(|&s| s > 0)
        else {
            return;
        };
        let more = self.text.len().saturating_sub(at) / stride + 1;
        let width = self.packed.rows.last().map_or(0, Group::len);
        self.packed.rows.reserve(more);
        self.packed.cells.reserve(more * width);
    }

    fn push(&mut self, ev: DocEvent) {
        match ev {
            DocEvent::Begin {
                faults,
                server,
                service,
            } => self.begin(faults, server, service),
            DocEvent::Result(f) => {
                let (id, value) = self.packed.push_field(&f);
                self.packed.result(id, value);
            }
            DocEvent::BeginLists(id) => {
                let id = self.packed.put(&id);
                self.packed.begin_lists(id);
            }
            DocEvent::Row(row) => {
                let id = self.packed.put(&row.id);
                self.packed.begin_row(id);
                for f in &row.items {
                    let (id, value) = self.packed.push_field(f);
                    self.packed.item(id, value);
                }
            }
            DocEvent::Fault(f) => {
                let (id, value) = self.packed.push_field(&f);
                self.packed.fault(id, value);
            }
            DocEvent::Ignored(i) => self.ignored.push(i),
            DocEvent::EndLists | DocEvent::End => {}
        }
    }

    fn finish(mut self, position: u64) -> Result<Response, ParseError> {
        if self.packed.overflow {
            return Err(ParseError {
                kind: ParseErrorKind::TooLarge(u64::from(u32::MAX)),
                position,
            });
        }
        // Give back what was reserved beyond need.
        let p = &mut self.packed;
        if p.text.capacity() > 2 * p.text.len() + 64 {
            p.text.shrink_to_fit();
        }
        if p.rows.capacity() > p.rows.len() + p.rows.len() / 4 + 4 {
            p.rows.shrink_to_fit();
        }
        if p.cells.capacity() > p.cells.len() + p.cells.len() / 4 + 4 {
            p.cells.shrink_to_fit();
        }
        Ok(Response {
            server: self.server,
            service: self.service,
            ignored: self.ignored,
            packed: self.packed,
        })
    }
}

impl<'s> Sink<'s> for Builder<'_> {
    fn event(&mut self, ev: EventRef<'s>) {
        self.push_ref(ev);
    }

    /// Leaf values go straight from the document into the packed text.
    #[inline(always)]
    fn field(
        &mut self,
        leaf: Leaf,
        tag: &Tag<'s>,
        id: Raw<'s>,
        value: Raw<'s>,
    ) -> Result<(), ParseError> {
        let id = self.put_raw(tag, id)?;
        let value = self.put_raw(tag, value)?;
        match leaf {
            Leaf::Item => self.packed.item(id, value),
            Leaf::Result => self.packed.result(id, value),
            Leaf::Fault => self.packed.fault(id, value),
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ctx {
    Root,
    Results,
    Faults,
    Lists,
    List,
    /// A known leaf (`result`, `item`, `fault`) written with an end tag.
    Leaf,
    Unknown,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Prolog,
    Inside,
    Epilog,
}

/// The dialect's rules over quick-xml events; shared by [`Events`] (slice,
/// events borrowed from the input) and [`DocReader`] (buffered events).
#[derive(Debug)]
struct Machine {
    max_depth: usize,
    phase: Phase,
    stack: Vec<Ctx>,
    body_seen: bool,
}

impl Machine {
    fn new(max_depth: usize) -> Machine {
        Machine {
            max_depth,
            phase: Phase::Prolog,
            stack: Vec::with_capacity(8),
            body_seen: false,
        }
    }

    /// Takes one quick-xml event (bytes `pos..end` of the input) and
    /// emits what it means, except for a start tag: then it returns
    /// where the tag is, for the caller to hand its text to
    /// [`element`](Self::element) (so the text can live as long as the
    /// caller has it: the whole input for [`Events`], one event for
    /// [`DocReader`]).
    fn feed<'s>(
        &mut self,
        event: &Event<'_>,
        pos: u64,
        end: u64,
        emit: &mut impl Sink<'s>,
    ) -> Result<Option<StartTag>, ParseError> {
        let err = |kind| {
            Err(ParseError {
                kind,
                position: pos,
            })
        };
        match event {
            // `pos` is where the previous event ended; the element itself
            // starts after any blank text trimmed away in between.
            Event::Start(e) => Ok(Some(StartTag {
                empty: false,
                name_len: e.name().as_ref().len(),
                pos: end.saturating_sub(e.len() as u64 + 2),
            })),
            Event::Empty(e) => Ok(Some(StartTag {
                empty: true,
                name_len: e.name().as_ref().len(),
                pos: end.saturating_sub(e.len() as u64 + 3),
            })),
            Event::End(_) => {
                match self.stack.pop() {
                    Some(Ctx::List) => emit.event(EventRef::EndRow),
                    Some(Ctx::Lists) => emit.event(EventRef::EndLists),
                    Some(Ctx::Root) => {
                        if !self.body_seen {
                            return err(ParseErrorKind::Structure(
                                "neither <results> nor <faults>",
                            ));
                        }
                        self.phase = Phase::Epilog;
                        emit.event(EventRef::End);
                    }
                    Some(_) => {}
                    None => return err(ParseErrorKind::Xml("unmatched end tag".into())),
                }
                Ok(None)
            }
            Event::Text(_) | Event::CData(_) | Event::GeneralRef(_) => {
                // Blank text never arrives (trim_text).
                match self.phase {
                    Phase::Inside => {
                        if self.stack.last() != Some(&Ctx::Unknown) {
                            emit.event(EventRef::Ignored(Ignored::Text { position: pos }));
                        }
                        Ok(None)
                    }
                    _ => err(ParseErrorKind::Structure("text outside the document")),
                }
            }
            Event::Eof => match self.phase {
                Phase::Prolog => err(ParseErrorKind::Empty),
                Phase::Inside => err(ParseErrorKind::Xml(
                    "unexpected end of input inside the document".into(),
                )),
                Phase::Epilog => Ok(None),
            },
            Event::Decl(_) | Event::PI(_) | Event::Comment(_) | Event::DocType(_) => Ok(None),
        }
    }

    /// A start tag (`<name attributes>` or `<name attributes/>`) whose
    /// text between the angle brackets is `content`, which lies inside
    /// `window` (the whole document, or just `content`): the value checks
    /// may read ahead in it (see [`needs_decoding`]).
    fn element<'s>(
        &mut self,
        content: &'s str,
        window: &'s str,
        start: StartTag,
        emit: &mut impl Sink<'s>,
    ) -> Result<(), ParseError> {
        let StartTag {
            empty,
            name_len,
            pos,
        } = start;
        let fail = |kind| ParseError {
            kind,
            position: pos,
        };
        let tag = Tag {
            content,
            window,
            name_len,
            pos,
        };
        let name = content.as_bytes().get(..name_len).unwrap_or_default();
        let parent = match self.phase {
            Phase::Epilog => {
                return Err(fail(ParseErrorKind::Structure(
                    "content after the document",
                )))
            }
            Phase::Prolog => {
                if name != b"serverResponse" {
                    return Err(fail(ParseErrorKind::NotServerResponse(
                        String::from_utf8_lossy(name).into_owned(),
                    )));
                }
                if empty {
                    return Err(fail(ParseErrorKind::Structure(
                        "neither <results> nor <faults>",
                    )));
                }
                self.phase = Phase::Inside;
                self.stack.push(Ctx::Root);
                return Ok(());
            }
            Phase::Inside => *self.stack.last().unwrap_or(&Ctx::Unknown),
        };
        if self.stack.len() >= self.max_depth {
            return Err(fail(ParseErrorKind::TooDeep(self.max_depth)));
        }
        let ctx = match (parent, name) {
            (Ctx::Root, b"results" | b"faults") => {
                if self.body_seen {
                    return Err(fail(ParseErrorKind::Structure(
                        "more than one <results>/<faults>",
                    )));
                }
                self.body_seen = true;
                let faults = name == b"faults";
                let element = if faults { "faults" } else { "results" };
                let [server, service] = tag.attributes(element, &[SERVER, SERVICE], emit)?;
                emit.event(EventRef::Begin {
                    faults,
                    server: tag.value(server.unwrap_or_default())?,
                    service: tag.value(service.unwrap_or_default())?,
                });
                if faults {
                    Ctx::Faults
                } else {
                    Ctx::Results
                }
            }
            (Ctx::Results, b"result") => {
                tag.field(Leaf::Result, emit)?;
                Ctx::Leaf
            }
            (Ctx::Faults, b"fault") => {
                tag.field(Leaf::Fault, emit)?;
                Ctx::Leaf
            }
            (Ctx::Results, b"lists") => {
                let id = tag.id_only("lists", emit)?;
                emit.event(EventRef::BeginLists(id));
                if empty {
                    emit.event(EventRef::EndLists);
                }
                Ctx::Lists
            }
            (Ctx::Lists, b"list") => {
                let id = tag.id_only("list", emit)?;
                emit.event(EventRef::BeginRow(id));
                if empty {
                    emit.event(EventRef::EndRow);
                }
                Ctx::List
            }
            (Ctx::List, b"item") => {
                tag.field(Leaf::Item, emit)?;
                Ctx::Leaf
            }
            (Ctx::Unknown, _) => Ctx::Unknown,
            _ => {
                emit.event(EventRef::Ignored(Ignored::Element {
                    name: String::from_utf8_lossy(name).into_owned(),
                    position: pos,
                }));
                Ctx::Unknown
            }
        };
        if !empty {
            self.stack.push(ctx);
        }
        Ok(())
    }
}

/// The leaf elements: an `id`/`value` pair each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Leaf {
    Result,
    Item,
    Fault,
}

impl Leaf {
    fn element(self) -> &'static str {
        match self {
            Leaf::Result => "result",
            Leaf::Item => "item",
            Leaf::Fault => "fault",
        }
    }
}

/// Where [`Machine`] sends what it reads: any `FnMut(EventRef)` (the
/// view, [`DocReader`]), or a builder that takes the raw values of leaf
/// elements straight into the model ([`parse`]), without the borrowed
/// event in between.
trait Sink<'s> {
    /// One event.
    fn event(&mut self, ev: EventRef<'s>);

    /// A leaf element read from `tag` (which decodes, and places errors).
    #[inline]
    fn field(
        &mut self,
        leaf: Leaf,
        tag: &Tag<'s>,
        id: Raw<'s>,
        value: Raw<'s>,
    ) -> Result<(), ParseError> {
        let f = FieldRef {
            id: tag.value(id)?,
            value: tag.value(value)?,
        };
        self.event(match leaf {
            Leaf::Result => EventRef::Result(f),
            Leaf::Item => EventRef::Item(f),
            Leaf::Fault => EventRef::Fault(f),
        });
        Ok(())
    }
}

impl<'s, F: FnMut(EventRef<'s>)> Sink<'s> for F {
    #[inline]
    fn event(&mut self, ev: EventRef<'s>) {
        self(ev)
    }
}

/// Where a start tag is, as [`Machine::feed`] reports it.
#[derive(Debug, Clone, Copy)]
struct StartTag {
    /// `<name/>`: no end tag follows.
    empty: bool,
    /// The length of the name at the start of the tag's text.
    name_len: usize,
    /// The byte offset of its `<`.
    pos: u64,
}

/// A start tag being read: its text, where its name ends, where it is.
struct Tag<'s> {
    content: &'s str,
    /// Text around `content` that the value scan may read ahead in (see
    /// [`scan_value`]): the whole document, or `content` itself.
    window: &'s str,
    name_len: usize,
    pos: u64,
}

impl<'s> Tag<'s> {
    fn fail(&self, kind: ParseErrorKind) -> ParseError {
        ParseError {
            kind,
            position: self.pos,
        }
    }

    // The rare paths, kept out of the loop over attributes.
    #[cold]
    fn bad_attribute(&self, e: quick_xml::events::attributes::AttrError) -> ParseError {
        self.fail(ParseErrorKind::Xml(e.to_string()))
    }

    #[cold]
    fn duplicate(&self, key: &[u8]) -> ParseError {
        self.fail(ParseErrorKind::Xml(format!(
            "duplicate attribute {}",
            String::from_utf8_lossy(key)
        )))
    }

    #[cold]
    fn ignored(&self, element: &'static str, key: &[u8]) -> EventRef<'s> {
        EventRef::Ignored(Ignored::Attribute {
            element: element.to_string(),
            name: String::from_utf8_lossy(key).into_owned(),
            position: self.pos,
        })
    }

    /// Reads `id` and `value` of a leaf element and hands them on.
    #[inline]
    fn field(&self, leaf: Leaf, emit: &mut impl Sink<'s>) -> Result<(), ParseError> {
        let element = leaf.element();
        let [id, value] = self.attributes(element, &[ID, VALUE], emit)?;
        let id = id.ok_or_else(|| self.fail(ParseErrorKind::MissingId { element }))?;
        emit.field(leaf, self, id, value.unwrap_or_default())
    }

    /// Reads the `id` of a container element.
    fn id_only(
        &self,
        element: &'static str,
        emit: &mut impl Sink<'s>,
    ) -> Result<Cow<'s, str>, ParseError> {
        let [id] = self.attributes(element, &[ID], emit)?;
        self.value(id.ok_or_else(|| self.fail(ParseErrorKind::MissingId { element }))?)
    }

    /// Reads the wanted attributes (raw), `slot` telling which is
    /// which; reports the others as ignored.
    #[inline(always)]
    fn attributes<const N: usize>(
        &self,
        element: &'static str,
        keys: &[Key; N],
        emit: &mut impl Sink<'s>,
    ) -> Result<[Option<Raw<'s>>; N], ParseError> {
        if let Some(found) = self.canonical_attributes(keys) {
            return Ok(found);
        }
        self.any_attributes(element, keys, emit)
    }

    /// The attributes when they have the canonical shape, the one our
    /// writer and Bayonne's write: ` key="value"` for each of `keys`, in
    /// that order, nothing after but blanks. `None` for anything else,
    /// which [`any_attributes`](Self::any_attributes) then reads with
    /// quick-xml's iterator; for every tag this accepts, that iterator
    /// yields the same keys and values (a test holds them to it).
    ///
    /// quick-xml has already found the tag and its name; only the split
    /// of its attributes is recognised here, in one pass that also finds
    /// whether a value needs decoding, where the general iterator costs
    /// more than all of the dialect's own rules.
    #[inline(always)]
    fn canonical_attributes<const N: usize>(
        &self,
        keys: &[Key; N],
    ) -> Option<[Option<Raw<'s>>; N]> {
        let window = self.window.as_bytes();
        let tag = range_within(window, self.content.as_bytes())?;
        let mut out = [None; N];
        let mut at = tag.start + self.name_len;
        for (slot, key) in out.iter_mut().zip(keys) {
            let open = at + key.head.len();
            if open > tag.end || !key.starts(window, at) {
                return None;
            }
            let (len, plain) = scan_value(window, open)?;
            let close = open + len;
            if close >= tag.end {
                return None;
            }
            *slot = Some(Raw {
                text: self.window.get(open..close)?,
                form: if plain { Form::Plain } else { Form::Encoded },
            });
            at = close + 1;
        }
        window
            .get(at..tag.end)?
            .iter()
            .all(|b| matches!(b, b' ' | b'\t' | b'\n' | b'\r'))
            .then_some(out)
    }

    /// Every other tag: quick-xml's attribute iterator, the unknown
    /// attributes reported, the wanted ones checked for duplicates.
    #[inline(never)]
    fn any_attributes<const N: usize>(
        &self,
        element: &'static str,
        keys: &[Key; N],
        emit: &mut impl Sink<'s>,
    ) -> Result<[Option<Raw<'s>>; N], ParseError> {
        // Raw values only: decoding waits until every attribute has been
        // read, so the loop moves nothing larger than a slice.
        let mut out: [Option<Raw<'s>>; N] = [None; N];
        let mut attrs = Attributes::new(self.content, self.name_len);
        // quick-xml's own duplicate check allocates for every element; the
        // attributes that matter are checked here instead (a repeated
        // unknown attribute is not an error).
        attrs.with_checks(false);
        for attr in attrs {
            let attr = attr.map_err(|e| self.bad_attribute(e))?;
            let key = attr.key.as_ref();
            let Some(found) = keys
                .iter()
                .position(|k| k.name() == key)
                .and_then(|i| out.get_mut(i))
            else {
                emit.event(self.ignored(element, key));
                continue;
            };
            if found.is_some() {
                return Err(self.duplicate(key));
            }
            // The value lies inside `content`, which is UTF-8.
            let text = within(self.content, &attr.value)
                .ok_or_else(|| self.fail(ParseErrorKind::NotUtf8))?;
            *found = Some(Raw {
                text,
                form: if text.bytes().any(special_in_value) {
                    Form::Encoded
                } else {
                    Form::Plain
                },
            });
        }
        Ok(out)
    }

    /// A raw attribute value, decoded if it needs to be.
    #[inline]
    fn value(&self, raw: Raw<'s>) -> Result<Cow<'s, str>, ParseError> {
        if raw.form == Form::Plain {
            Ok(Cow::Borrowed(raw.text))
        } else {
            decode_value(raw.text)
                .map(Cow::Owned)
                .map_err(|k| self.fail(k))
        }
    }
}

/// A wanted attribute: its name, as the canonical shape writes it
/// before the value (` id="`).
#[derive(Debug, Clone, Copy)]
struct Key {
    head: &'static [u8],
    /// The head's first 8 bytes as a little-endian word (zero-padded),
    /// and the mask of those that count.
    word: u64,
    mask: u64,
}

impl Key {
    const fn new(head: &'static [u8]) -> Key {
        let mut word = 0u64;
        let mut mask = 0u64;
        let mut i = 0;
        while i < head.len() && i < 8 {
            word |= (head[i] as u64) << (8 * i);
            mask |= 0xFF << (8 * i);
            i += 1;
        }
        Key { head, word, mask }
    }

    /// The attribute's name.
    fn name(&self) -> &'static [u8] {
        self.head.get(1..self.head.len() - 2).unwrap_or_default()
    }

    /// Whether `window` holds the head at `at`: one word compare for
    /// heads of up to 8 bytes (reading past the head when the window has
    /// the bytes), a slice compare otherwise.
    #[inline]
    fn starts(&self, window: &[u8], at: usize) -> bool {
        if self.head.len() <= 8 {
            if let Some(w) = window.get(at..at + 8) {
                if let Ok(w) = <[u8; 8]>::try_from(w) {
                    return u64::from_le_bytes(w) & self.mask == self.word;
                }
            }
        }
        window.get(at..at + self.head.len()) == Some(self.head)
    }
}

const ID: Key = Key::new(b" id=\"");
const VALUE: Key = Key::new(b" value=\"");
const SERVER: Key = Key::new(b" server=\"");
const SERVICE: Key = Key::new(b" service=\"");

/// A raw attribute value, and whether it can be used as it is.
#[derive(Debug, Clone, Copy)]
struct Raw<'s> {
    text: &'s str,
    form: Form,
}

/// Whether a raw value can be used as it is: plain means no `&` and no
/// byte below 0x20 (see [`special_in_value`]). A word, not a `bool`: the
/// padding after a `bool` made every copy of the attribute array load
/// bytes that were just stored in pieces, which stalled the load.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(usize)]
enum Form {
    Plain,
    Encoded,
}

impl Default for Raw<'_> {
    /// An absent attribute: the empty string.
    fn default() -> Self {
        Raw {
            text: "",
            form: Form::Plain,
        }
    }
}

/// Whether a byte of a raw attribute value means the value must go
/// through [`decode_value`]: a `&` (an entity or a character reference),
/// or a byte below 0x20 (tab, LF and CR, which XML reads as spaces, and
/// the other control characters, which the slow path leaves as they
/// are).
#[inline]
fn special_in_value(b: u8) -> bool {
    b < 0x20 || b == b'&'
}

/// `part` as a slice of `text` when it lies inside it: the text is known
/// to be UTF-8, so this skips a second check.
fn within<'t>(text: &'t str, part: &[u8]) -> Option<&'t str> {
    text.get(range_within(text.as_bytes(), part)?)
}

/// Scans a double-quoted attribute value that starts at `from` in
/// `window` for its closing quote: its length, and whether it is plain
/// (nothing [`special_in_value`] before the quote). `None` without a
/// closing quote.
///
/// Eight bytes at a time, with the classic "has a byte less than n" and
/// "has a byte equal to c" word tricks; in each, the lowest flagged byte
/// is always a true match (the false ones come only from borrows out of
/// a true match below them), so the first quote or special byte is found
/// exactly. Most values are shorter than a word: one load, one test.
#[inline]
fn scan_value(window: &[u8], from: usize) -> Option<(usize, bool)> {
    const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
    const HIGH: u64 = u64::from_ne_bytes([0x80; 8]);
    const SPACE: u64 = u64::from_ne_bytes([0x20; 8]);
    let equal = |x: u64, c: u8| {
        let y = x ^ u64::from_ne_bytes([c; 8]);
        y.wrapping_sub(ONES) & !y & HIGH
    };
    let mut i = from;
    let first = loop {
        match window
            .get(i..i + 8)
            .and_then(|w| <[u8; 8]>::try_from(w).ok())
        {
            Some(word) => {
                let x = u64::from_le_bytes(word);
                let hits = x.wrapping_sub(SPACE) & !x & HIGH | equal(x, b'"') | equal(x, b'&');
                if hits != 0 {
                    break i + (hits.trailing_zeros() / 8) as usize;
                }
                i += 8;
            }
            // The last bytes of the window, one by one.
            None => {
                let rest = window.get(i..)?;
                break i + rest
                    .iter()
                    .position(|&b| b == b'"' || special_in_value(b))?;
            }
        }
    };
    if window.get(first) == Some(&b'"') {
        return Some((first - from, true));
    }
    let quote = memchr::memchr(b'"', window.get(first..)?)?;
    Some((first + quote - from, false))
}

/// Decodes a raw attribute value that is not plain (see
/// [`special_in_value`]).
#[inline(never)]
fn decode_value(raw: &str) -> Result<String, ParseErrorKind> {
    let mut out = String::with_capacity(raw.len());
    if decode_common(raw, &mut out) {
        return Ok(out);
    }
    decode_any(raw)
}

/// Decodes the usual values in one pass, appending to `out`: those whose
/// only entities are the five XML predefines, with tabs and line breaks
/// read as spaces (a CR LF pair as one). `false` for anything else (a
/// character reference, an unknown or unterminated entity; `out` then
/// holds a part to cut off), which [`decode_any`] then handles with
/// quick-xml's full rules and errors.
fn decode_common(raw: &str, out: &mut String) -> bool {
    let mut rest = raw;
    loop {
        let Some(at) = rest
            .bytes()
            .position(|b| matches!(b, b'&' | b'\t' | b'\n' | b'\r'))
        else {
            out.push_str(rest);
            return true;
        };
        out.push_str(&rest[..at]);
        let special = rest.as_bytes()[at];
        rest = &rest[at + 1..];
        match special {
            b'&' => {
                let (ch, len) = match rest.as_bytes() {
                    [b'a', b'm', b'p', b';', ..] => ('&', 4),
                    [b'l', b't', b';', ..] => ('<', 3),
                    [b'g', b't', b';', ..] => ('>', 3),
                    [b'q', b'u', b'o', b't', b';', ..] => ('"', 5),
                    [b'a', b'p', b'o', b's', b';', ..] => ('\'', 5),
                    _ => return false,
                };
                out.push(ch);
                rest = &rest[len..];
            }
            b'\r' => {
                out.push(' ');
                rest = rest.strip_prefix('\n').unwrap_or(rest);
            }
            _ => out.push(' '),
        }
    }
}

/// Every other value: whitespace normalised, then quick-xml's unescaping
/// (character references, and its errors for a bad entity).
#[cold]
#[inline(never)]
fn decode_any(raw: &str) -> Result<String, ParseErrorKind> {
    let normalised;
    let text = if raw.bytes().any(|b| matches!(b, b'\t' | b'\n' | b'\r')) {
        normalised = raw.replace("\r\n", " ").replace(['\r', '\n', '\t'], " ");
        normalised.as_str()
    } else {
        raw
    };
    quick_xml::escape::unescape(text)
        .map(Cow::into_owned)
        .map_err(|e| ParseErrorKind::Xml(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_cases() {
        let mut out = Vec::new();
        escape_into(
            &mut out,
            "a&b<c>d\"e'f\tg\nh\ri\u{1}j\u{FFFE}k\u{FFFF}l\u{FFFD}é",
        );
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "a&amp;b&lt;c&gt;d&quot;e&apos;f&#9;g&#10;h&#13;i\u{FFFD}j\u{FFFD}k\u{FFFD}l\u{FFFD}é"
        );
    }

    #[test]
    fn scan_value_finds_the_quote_and_every_special_byte_at_every_offset() {
        // `check(v)` scans `v"` alone (the last bytes read one by one)
        // and inside windows whose bytes around it are special or quotes
        // (read as words): the answers must agree, and the length is
        // always the value's.
        fn check(v: &[u8]) -> bool {
            let alone = scan_value(&[v, b"\""].concat(), 0);
            assert_eq!(alone.map(|(len, _)| len), Some(v.len()), "{v:?}");
            for around in [
                &b"&\n\t\0&\r\x1f&&"[..],
                b"\"\"\"\"\"\"\"\"\"",
                b"aaaaaaaaaaaaaaaaa",
            ] {
                let window = [around, v, b"\"", around].concat();
                assert_eq!(scan_value(&window, around.len()), alone, "{v:?}");
            }
            alone.is_some_and(|(_, plain)| plain)
        }
        for len in 0..20 {
            assert!(check(&vec![b'a'; len]));
            assert!(check("é€ ~\u{7f}'".repeat(len).as_bytes()));
            for at in 0..len {
                for special in [b'&', b'\t', b'\n', b'\r', 0x00, 0x1F] {
                    let mut v = vec![b'a'; len];
                    v[at] = special;
                    assert!(!check(&v), "{v:?}");
                }
                // Neighbours of the special bytes are plain.
                for plain in [b' ', b'\'', b'%', b'!', b'#', 0x7F, 0x80, 0xFF] {
                    let mut v = vec![b'a'; len];
                    v[at] = plain;
                    assert!(check(&v), "{v:?}");
                }
            }
        }
        // No closing quote: none.
        assert_eq!(scan_value(b"abc", 0), None);
        assert_eq!(scan_value(b"a&bcdefghijklmnop", 0), None);
    }

    #[test]
    fn the_canonical_attributes_are_what_quick_xml_reads() {
        // Every attribute text built from these pieces, up to five of
        // them, after the name `item`: wherever the fast split accepts
        // it, quick-xml's iterator must read the same values under the
        // same keys, in order, and nothing else; and the fast split must
        // accept the usual shapes.
        let pieces = [
            " id=\"",
            " value=\"",
            "x\"",
            "x",
            "\"",
            " ",
            "\t",
            "id",
            "=",
            "'",
            "&amp;",
            "\n",
        ];
        let mut texts = vec![String::new()];
        for _ in 0..5 {
            let longer: Vec<String> = texts
                .iter()
                .flat_map(|t| pieces.iter().map(move |p| format!("{t}{p}")))
                .collect();
            texts.extend(longer);
        }
        texts.push(" id=\"a\" value=\"b\"".into());
        texts.push(" id=\"driver\" value=\"friend &amp; family\"".into());
        let mut accepted = 0;
        for text in &texts {
            let content = format!("item{text}");
            let document = format!("<{content}/>");
            for window in [content.as_str(), document.as_str()] {
                let tag = Tag {
                    content: &window[window.find("item").unwrap_or(0)..][..content.len()],
                    window,
                    name_len: 4,
                    pos: 0,
                };
                let Some(fast) = tag.canonical_attributes(&[ID, VALUE]) else {
                    continue;
                };
                accepted += 1;
                let mut attrs = Attributes::new(&content, 4);
                attrs.with_checks(false);
                let read: Vec<(Vec<u8>, String)> = attrs
                    .map(|a| {
                        let a = a.unwrap_or_else(|e| panic!("{content:?}: {e}"));
                        (
                            a.key.as_ref().to_vec(),
                            String::from_utf8(a.value.to_vec()).unwrap(),
                        )
                    })
                    .collect();
                let fast: Vec<(Vec<u8>, String)> = [b"id".to_vec(), b"value".to_vec()]
                    .into_iter()
                    .zip(fast)
                    .map(|(k, raw)| {
                        let raw = raw.unwrap();
                        let plain = !raw.text.bytes().any(special_in_value);
                        assert_eq!(raw.form == Form::Plain, plain);
                        (k, raw.text.to_string())
                    })
                    .collect();
                assert_eq!(read, fast, "{content:?}");
            }
        }
        assert!(accepted > 500, "{accepted}");
    }

    #[test]
    fn the_common_decoder_agrees_with_quick_xml() {
        // Every value built from these pieces, up to three of them: the
        // one-pass decoder must give what the full path gives, or leave
        // the value to it.
        let pieces = [
            "a", "é", " ", "\t", "\n", "\r", "\r\n", "&amp;", "&lt;", "&gt;", "&quot;", "&apos;",
            "&#38;", "&#x41;", "&", "&amp", "&nbsp;", ";",
        ];
        let mut values = vec![String::new()];
        for _ in 0..3 {
            let longer: Vec<String> = values
                .iter()
                .flat_map(|v| pieces.iter().map(move |p| format!("{v}{p}")))
                .collect();
            values.extend(longer);
        }
        let mut common = 0;
        for v in &values {
            let full = decode_any(v);
            // Appending to what is there already.
            let mut fast = String::from("before");
            if decode_common(v, &mut fast) {
                common += 1;
                assert_eq!(fast.strip_prefix("before"), full.as_deref().ok(), "{v:?}");
            }
            assert_eq!(decode_value(v), full, "{v:?}");
        }
        // The fast path is taken often enough to be tested here.
        assert!(common > values.len() / 4, "{common} of {}", values.len());
    }

    #[test]
    fn limited_reports_excess() {
        let mut l = Limited {
            inner: &b"abcdef"[..],
            left: 4,
            exceeded: false,
            error: None,
        };
        let mut s = String::new();
        l.read_to_string(&mut s).unwrap();
        assert_eq!(s, "abcd");
        assert!(l.exceeded);
    }
}
