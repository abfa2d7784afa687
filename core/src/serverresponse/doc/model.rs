//! The document model: the packed [`Response`] with its borrowed views,
//! and the owned model for building documents and streaming rows.

use std::fmt;
use std::io::Write;

use super::{WriteError, Writer};

/// The string type of ids and values in the owned model: a
/// [`String`]-like type (it derefs to `str`, compares with `&str` and
/// `String`, and converts from both) that keeps strings of up to 24 bytes
/// inline.
///
/// Almost every id and value of a serverResponse table is that short
/// (`driver`, `sip`, `192.168.1.20`), so a row streamed by [`DocReader`](super::DocReader)
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

impl Body {
    /// Whether this is `<faults>`.
    pub fn is_fault(&self) -> bool {
        matches!(self, Body::Faults(_))
    }

    /// The results entries (none for faults).
    pub fn entries(&self) -> &[Entry] {
        match self {
            Body::Results(e) => e,
            Body::Faults(_) => &[],
        }
    }

    /// The fault entries (none for results).
    pub fn fault_fields(&self) -> &[Field] {
        match self {
            Body::Results(_) => &[],
            Body::Faults(f) => f,
        }
    }
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

/// A serverResponse document: what [`parse`](super::parse()) and [`get`](crate::serverresponse::get)
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
/// A document holds at most 4 GiB of ids and values together: [`parse`](super::parse())
/// refuses more ([`ParseErrorKind::TooLarge`](super::ParseErrorKind::TooLarge)); the constructors, which
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
    pub(super) packed: Packed,
}

/// Where a string lies in [`Packed::text`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub(super) struct Span {
    pub(super) at: u32,
    pub(super) len: u32,
}

/// A `<result>`, `<item>` or `<fault>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(super) struct Cell {
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
pub(super) struct Group {
    pub(super) id: Span,
    pub(super) start: u32,
    pub(super) end: u32,
}

impl Group {
    pub(super) fn len(&self) -> usize {
        (self.end - self.start) as usize
    }

    fn of<'p, T>(&self, all: &'p [T]) -> &'p [T] {
        all.get(self.start as usize..self.end as usize)
            .unwrap_or_default()
    }
}

/// The body of a [`Response`], packed: every id and value in document
/// order in one string, the structure as small index records. Built in
/// document order by [`parse`](super::parse()) and by the owned
/// constructors alike, so equal documents pack equally.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub(super) struct Packed {
    pub(super) faults: bool,
    pub(super) text: String,
    /// Results, items and faults, in document order.
    pub(super) cells: Vec<Cell>,
    /// The `<results>` entries.
    entries: Vec<Slot>,
    pub(super) tables: Vec<Group>,
    pub(super) rows: Vec<Group>,
    /// More than 4 GiB of text: past what a [`Span`] can say.
    pub(super) overflow: bool,
}

impl Packed {
    /// Appends `s` to the text.
    #[inline(always)]
    pub(super) fn put(&mut self, s: &str) -> Span {
        let start = self.text.len();
        self.text.push_str(s);
        self.appended(start)
    }

    /// Both strings of an id/value pair.
    pub(super) fn put_pair(&mut self, id: &str, value: &str) -> (Span, Span) {
        (self.put(id), self.put(value))
    }

    /// The span of what was appended to the text since it was `start`
    /// bytes long; past 4 GiB, nothing (the text is cut back and the
    /// overflow noted).
    #[inline(always)]
    pub(super) fn appended(&mut self, start: usize) -> Span {
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

    pub(super) fn result(&mut self, id: Span, value: Span) {
        let at = self.cell(id, value);
        self.entries.push(Slot::Result(at));
    }

    pub(super) fn begin_lists(&mut self, id: Span) {
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
    pub(super) fn in_table(&self) -> bool {
        matches!(self.entries.last(), Some(Slot::Lists(_)))
    }

    pub(super) fn begin_row(&mut self, id: Span) {
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
    pub(super) fn item(&mut self, id: Span, value: Span) {
        let end = Packed::index(self.cells.len() + 1);
        if let Some(r) = self.rows.last_mut() {
            r.end = end;
            self.cells.push(Cell { id, value });
        }
    }

    pub(super) fn fault(&mut self, id: Span, value: Span) {
        if self.faults {
            self.cell(id, value);
        }
    }

    fn from_entries(entries: &[Entry]) -> Packed {
        let mut p = Packed::default();
        for e in entries {
            match e {
                Entry::Result(f) => {
                    let (id, value) = p.put_pair(&f.id, &f.value);
                    p.result(id, value);
                }
                Entry::Lists(l) => {
                    let id = p.put(&l.id);
                    p.begin_lists(id);
                    for r in &l.rows {
                        let id = p.put(&r.id);
                        p.begin_row(id);
                        for f in &r.items {
                            let (id, value) = p.put_pair(&f.id, &f.value);
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
            let (id, value) = p.put_pair(&f.id, &f.value);
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
        Response::new(server, service, &Body::Results(entries))
    }

    /// A faults document.
    pub fn faults(
        server: impl Into<String>,
        service: impl Into<String>,
        faults: Vec<Field>,
    ) -> Response {
        Response::new(server, service, &Body::Faults(faults))
    }

    /// A document holding what `body` holds (packed from it: the owned
    /// model is only read).
    pub fn new(server: impl Into<String>, service: impl Into<String>, body: &Body) -> Response {
        Response {
            server: server.into(),
            service: service.into(),
            ignored: Vec::new(),
            packed: match body {
                Body::Results(entries) => Packed::from_entries(entries),
                Body::Faults(faults) => Packed::from_faults(faults),
            },
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
