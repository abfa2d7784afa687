//! The serverResponse document layer: the spec's samples, the writer's
//! exact bytes and escaping, the parser's leniency and its errors, limits,
//! and streaming both ways.

use std::borrow::Cow;
use std::io::{self, BufReader, Read, Write};

use msgwire::serverresponse::{
    events, parse, parse_with, Body, DocEvent, DocReader, Entry, EntryView, EventRef, Events,
    Field, FieldView, Ignored, Lists, ParseConfig, ParseError, ParseErrorKind, Response, Row,
    WriteError, Writer,
};
use proptest::prelude::*;

const STATUS: &[u8] = include_bytes!("../../tests/data/serverresponse/status.xml");
const UNKNOWN: &[u8] = include_bytes!("../../tests/data/serverresponse/unknown.xml");
const REGISTRATIONS: &[u8] = include_bytes!("../../tests/data/serverresponse/registrations.xml");

fn registrations_model() -> Response {
    Response::results(
        "bayonne",
        "registrations",
        vec![Entry::Lists(Lists {
            id: "registrations".into(),
            rows: vec![Row::new(
                "registration",
                vec![
                    Field::new("driver", "sip"),
                    Field::new("server", "192.168.1.95"),
                    Field::new("userid", "291"),
                    Field::new("access", "friend"),
                    Field::new("status", "active"),
                ],
            )],
        })],
    )
}

#[test]
fn spec_samples_parse() {
    let status = parse(STATUS).unwrap();
    assert_eq!(
        status,
        Response::results(
            "bayonne",
            "status",
            vec![Entry::Result(Field::new("status", "-- "))]
        )
    );
    assert_eq!(status.find("status"), Some("-- "));
    assert!(!status.is_fault());

    let unknown = parse(UNKNOWN).unwrap();
    assert!(unknown.is_fault());
    assert_eq!(unknown.service, "http");
    assert_eq!(unknown.fault_code(), Some(404));
    assert_eq!(unknown.fault_text(), Some("Not Found"));
    assert_eq!(
        unknown,
        Response::fault("bayonne", "http", 404, "Not Found")
    );

    let regs = parse(REGISTRATIONS).unwrap();
    assert_eq!(regs, registrations_model());
    let table = regs.lists("registrations").unwrap();
    assert_eq!(table.row(0).unwrap().get("userid"), Some("291"));
    assert!(regs.ignored.is_empty());
}

#[test]
fn writer_reproduces_spec_samples_byte_for_byte() {
    let mut out = Vec::new();
    let mut w = Writer::new(&mut out, "bayonne", "status");
    w.result("status", "-- ").unwrap();
    w.finish().unwrap();
    assert_eq!(out, STATUS);

    assert_eq!(
        Response::fault("bayonne", "http", 404, "Not Found").to_xml(),
        UNKNOWN
    );
    assert_eq!(registrations_model().to_xml(), REGISTRATIONS);

    // The same table, streamed piece by piece.
    let mut out = Vec::new();
    let mut w = Writer::new(&mut out, "bayonne", "registrations");
    w.begin_lists("registrations").unwrap();
    w.begin_row("registration").unwrap();
    for (k, v) in [
        ("driver", "sip"),
        ("server", "192.168.1.95"),
        ("userid", "291"),
        ("access", "friend"),
        ("status", "active"),
    ] {
        w.item(k, v).unwrap();
    }
    w.finish().unwrap();
    assert_eq!(out, REGISTRATIONS);
}

#[test]
fn empty_results_is_done() {
    let mut out = Vec::new();
    Writer::new(&mut out, "msgwire", "reload").finish().unwrap();
    assert_eq!(
        String::from_utf8(out.clone()).unwrap(),
        "<?xml version=\"1.0\"?>\n<serverResponse>\n \
         <results server=\"msgwire\" service=\"reload\"></results>\n</serverResponse>\n"
    );
    let r = parse(&out).unwrap();
    assert_eq!(r.to_body(), Body::Results(vec![]));
    assert!(!r.is_fault());
    let r = parse(b"<serverResponse><results/></serverResponse>").unwrap();
    assert_eq!(
        (r.server.as_str(), r.to_body()),
        ("", Body::Results(vec![]))
    );
}

#[test]
fn attribute_escaping_round_trips() {
    let nasty = "a&b<c>d\"e'f\tg\nh\r\ni";
    let doc = Response::results(
        "s&<>\"'",
        "svc",
        vec![Entry::Result(Field::new("id\"'", nasty))],
    );
    let xml = doc.to_xml();
    let text = String::from_utf8(xml.clone()).unwrap();
    assert!(text.contains("value=\"a&amp;b&lt;c&gt;d&quot;e&apos;f&#9;g&#10;h&#13;&#10;i\""));
    assert!(text.contains("server=\"s&amp;&lt;&gt;&quot;&apos;\""));
    assert_eq!(parse(&xml).unwrap(), doc);

    // Characters XML cannot carry become U+FFFD.
    let doc = Response::results(
        "s",
        "t",
        vec![Entry::Result(Field::new("x", "a\u{0}b\u{1b}c"))],
    );
    assert_eq!(
        parse(&doc.to_xml()).unwrap().find("x"),
        Some("a\u{FFFD}b\u{FFFD}c")
    );
}

#[test]
fn typed_helpers() {
    assert_eq!(Field::number("n", 42).value, "42");
    assert_eq!(Field::number("n", -1.5).as_f64(), Some(-1.5));
    assert_eq!(Field::new("n", " 7 ").as_i64(), Some(7));
    assert_eq!(Field::new("n", "x").as_u64(), None);
    assert_eq!(Field::flag("b", true).value, "true");
    for (v, want) in [
        ("TRUE", Some(true)),
        ("yes", Some(true)),
        ("1", Some(true)),
        ("Off", Some(false)),
        ("0", Some(false)),
        ("maybe", None),
    ] {
        assert_eq!(Field::new("b", v).as_bool(), want, "{v}");
    }
}

#[test]
fn writer_refuses_impossible_orders() {
    let mut w = Writer::new(Vec::new(), "s", "t");
    assert!(matches!(w.item("a", "b"), Err(WriteError::Order(_))));
    assert!(matches!(w.begin_row("r"), Err(WriteError::Order(_))));
    w.result("a", "1").unwrap();
    assert!(matches!(w.fault("code", "1"), Err(WriteError::Order(_))));
    w.begin_lists("l").unwrap();
    w.row("r", [("a", "1")]).unwrap();
    w.result("b", "2").unwrap(); // closes the table
    w.finish().unwrap();
    assert!(matches!(w.result("c", "3"), Err(WriteError::Order(_))));
    let doc = parse(&w.into_inner()).unwrap();
    assert_eq!(doc.entries().len(), 3);

    let mut w = Writer::new(Vec::new(), "s", "t");
    w.fault("code", "600").unwrap();
    assert!(matches!(w.result("a", "1"), Err(WriteError::Order(_))));
}

#[test]
fn mixed_results_keep_their_order() {
    let xml = b"<serverResponse><results server='s' service='t'>\
        <result id='a' value='1'/>\
        <lists id='l1'><list id='r'><item id='x' value='1'/></list><list id='r'/></lists>\
        <result id='b' value='2'/>\
        <lists id='l2'/>\
        </results></serverResponse>";
    let doc = parse(xml).unwrap();
    assert_eq!(doc.entries().len(), 4);
    let e: Vec<EntryView> = doc.entries().collect();
    assert!(matches!(&e[0], EntryView::Result(f) if f.id == "a"));
    assert!(matches!(&e[1], EntryView::Lists(l) if l.len() == 2 && l.row(1).unwrap().is_empty()));
    assert!(matches!(&e[2], EntryView::Result(f) if f.value == "2"));
    assert!(matches!(&e[3], EntryView::Lists(l) if l.id() == "l2" && l.is_empty()));
    // The owned copy says the same.
    let Body::Results(owned) = doc.to_body() else {
        panic!("results expected")
    };
    assert_eq!(
        owned,
        e.iter().map(|e| e.into_owned()).collect::<Vec<Entry>>()
    );
    assert_eq!(Response::results("s", "t", owned), doc);
    // Written back and parsed again: the same document.
    assert_eq!(parse(&doc.to_xml()).unwrap(), doc);
}

#[test]
fn unknown_elements_and_attributes_are_skipped_but_reported() {
    let xml = br#"<?xml version="1.0"?>
<!-- a comment -->
<serverResponse version="2">
 <meta><deep><deeper/></deep></meta>
 <results server="bayonne" service="status" extra="1">
  <result id="a" value="1" type="int"/>
  <note>hello</note>
  <lists id="l">
   <list id="r"><item id="x" value="y"/><cell id="z"/></list>
  </lists>
 </results>
</serverResponse>
"#;
    let doc = parse(xml).unwrap();
    assert_eq!(doc.find("a"), Some("1"));
    assert_eq!(
        doc.lists("l").unwrap().row(0).unwrap().into_owned().items,
        vec![Field::new("x", "y")]
    );
    let names: Vec<String> = doc
        .ignored
        .iter()
        .map(|i| match i {
            Ignored::Element { name, .. } => format!("<{name}>"),
            Ignored::Attribute { element, name, .. } => format!("{element}@{name}"),
            Ignored::Text { .. } => "text".into(),
        })
        .collect();
    assert_eq!(
        names,
        ["<meta>", "results@extra", "result@type", "<note>", "<cell>"]
    );
    // Positions point into the document.
    let Ignored::Element { position, .. } = &doc.ignored[0] else {
        unreachable!()
    };
    assert!(xml[*position as usize..].starts_with(b"<meta>"));
}

#[test]
fn remote_quirk_is_just_another_item() {
    let xml = br#"<?xml version="1.0"?>
<serverResponse>
 <results server="bayonne" service="registrations">
  <lists id="registrations">
   <list id="registration">
    <item id="driver" value="sip"/>
    <item id="remote" value="192.168.1.95"/>
   </list>
  </lists>
 </results>
</serverResponse>"#;
    let doc = parse(xml).unwrap();
    let row = doc.lists("registrations").unwrap().row(0).unwrap();
    assert_eq!(row.get("remote"), Some("192.168.1.95"));
    assert_eq!(row.get("server"), None);
    assert!(doc.ignored.is_empty());
}

#[test]
fn missing_closing_quote_is_a_clear_error() {
    let cases: &[&[u8]] = &[
        // The quote of `server` is missing: the rest of the tag is misread.
        br#"<serverResponse><results server="bayonne service="x"><result id="a" value="1"/></results></serverResponse>"#,
        // A value never closed at all: runs to the end of the input.
        br#"<serverResponse><results server="b" service="s"><result id="a" value="1/></results></serverResponse>"#,
        br#"<serverResponse><results server="b" service="s"><lists id="l"><list id="r"><item id="driver" value="sip/></list></lists></results></serverResponse>"#,
        br#"<serverResponse><results server="b" service="s"><result id="a value="1"/></results></serverResponse>"#,
    ];
    for xml in cases {
        let err = parse(xml).unwrap_err();
        assert!(
            matches!(err.kind, ParseErrorKind::Xml(_)),
            "{}: {err}",
            String::from_utf8_lossy(xml)
        );
        assert!(err.position <= xml.len() as u64, "{err}");
        // Byte by byte through the streaming reader: the same verdict, no hang.
        let streamed = DocReader::new(BufReader::with_capacity(1, *xml)).into_response();
        assert!(streamed.is_err());
    }
}

#[test]
fn refuses_what_is_not_a_server_response() {
    type Check = fn(&ParseErrorKind) -> bool;
    let cases: &[(&[u8], Check)] = &[
        (b"", |k| matches!(k, ParseErrorKind::Empty)),
        (b"   \n", |k| matches!(k, ParseErrorKind::Empty)),
        (
            b"<html><body/></html>",
            |k| matches!(k, ParseErrorKind::NotServerResponse(n) if n == "html"),
        ),
        (b"<methodResponse/>", |k| {
            matches!(k, ParseErrorKind::NotServerResponse(_))
        }),
        (b"<serverResponse/>", |k| {
            matches!(k, ParseErrorKind::Structure(_))
        }),
        (b"<serverResponse></serverResponse>", |k| {
            matches!(k, ParseErrorKind::Structure(_))
        }),
        (
            b"<serverResponse><results/><faults/></serverResponse>",
            |k| matches!(k, ParseErrorKind::Structure(_)),
        ),
        (b"<serverResponse><results/></serverResponse><x/>", |k| {
            matches!(k, ParseErrorKind::Structure(_))
        }),
        (b"junk<serverResponse><results/></serverResponse>", |k| {
            matches!(k, ParseErrorKind::Structure(_))
        }),
        (b"<serverResponse><results></serverResponse>", |k| {
            matches!(k, ParseErrorKind::Xml(_))
        }),
        (b"<serverResponse><results>", |k| {
            matches!(k, ParseErrorKind::Xml(_))
        }),
        (
            b"<serverResponse><results><result value='1'/></results></serverResponse>",
            |k| matches!(k, ParseErrorKind::MissingId { element: "result" }),
        ),
        (
            b"<serverResponse><results><result id='a' value='&bogus;'/></results></serverResponse>",
            |k| matches!(k, ParseErrorKind::Xml(_)),
        ),
        (
            b"<serverResponse><results><result id='a' id='b'/></results></serverResponse>",
            |k| matches!(k, ParseErrorKind::Xml(_)),
        ),
        (
            b"<serverResponse><results><result id='\xff'/></results></serverResponse>",
            |k| matches!(k, ParseErrorKind::NotUtf8),
        ),
    ];
    for (xml, check) in cases {
        let err = parse(xml).unwrap_err();
        assert!(
            check(&err.kind),
            "{:?}: {err:?}",
            String::from_utf8_lossy(xml)
        );
    }
}

#[test]
fn error_positions() {
    let xml =
        b"<serverResponse>\n <results>\n  <result value='1'/>\n </results>\n</serverResponse>";
    let err = parse(xml).unwrap_err();
    assert_eq!(err.position, 30, "{err}");
    assert!(xml[30..].starts_with(b"<result"));
    assert!(err.to_string().contains("at byte 30"));
}

#[test]
fn size_and_depth_limits() {
    let doc = registrations_model().to_xml();
    let small = ParseConfig::default().with_max_size(100);
    let err = parse_with(&doc, &small).unwrap_err();
    assert_eq!(err.kind, ParseErrorKind::TooLarge(100));
    let err = DocReader::with_config(&doc[..], &small)
        .into_response()
        .unwrap_err();
    assert_eq!(err.kind, ParseErrorKind::TooLarge(100));
    // Exactly at the limit is fine.
    let exact = ParseConfig::default().with_max_size(doc.len() as u64);
    assert!(parse_with(&doc, &exact).is_ok());
    assert!(DocReader::with_config(&doc[..], &exact)
        .into_response()
        .is_ok());

    // The dialect needs depth 5.
    let shallow = ParseConfig::default().with_max_depth(4);
    let err = parse_with(&doc, &shallow).unwrap_err();
    assert_eq!(err.kind, ParseErrorKind::TooDeep(4));
    assert!(parse_with(&doc, &ParseConfig::default().with_max_depth(5)).is_ok());

    let mut deep = b"<serverResponse><results><x>".to_vec();
    for _ in 0..10_000 {
        deep.extend_from_slice(b"<x>");
    }
    let err = parse(&deep).unwrap_err();
    assert!(matches!(err.kind, ParseErrorKind::TooDeep(32)), "{err}");
}

#[test]
fn byte_at_a_time_matches_whole() {
    for xml in [STATUS, UNKNOWN, REGISTRATIONS] {
        let streamed = DocReader::new(BufReader::with_capacity(1, xml))
            .into_response()
            .unwrap();
        assert_eq!(streamed, parse(xml).unwrap());
    }
}

/// A reader producing a document of `rows` rows on the fly.
struct Generated {
    rows: usize,
    next: usize,
    buf: Vec<u8>,
    pos: usize,
}

impl Read for Generated {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if self.pos == self.buf.len() {
            self.buf.clear();
            self.pos = 0;
            if self.next == 0 {
                self.buf.extend_from_slice(
                    b"<?xml version=\"1.0\"?>\n<serverResponse>\n <results server=\"g\" service=\"big\">\n  <lists id=\"big\">\n",
                );
            }
            if self.next < self.rows {
                write!(
                    self.buf,
                    "   <list id=\"row\">\n    <item id=\"n\" value=\"{}\"/>\n   </list>\n",
                    self.next
                )?;
            } else if self.next == self.rows {
                self.buf
                    .extend_from_slice(b"  </lists>\n </results>\n</serverResponse>\n");
            } else {
                return Ok(0);
            }
            self.next += 1;
        }
        let n = out.len().min(self.buf.len() - self.pos);
        out[..n].copy_from_slice(&self.buf[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

/// Counts what is written, keeping nothing.
struct Counting(u64);

impl Write for Counting {
    fn write(&mut self, b: &[u8]) -> io::Result<usize> {
        self.0 += b.len() as u64;
        Ok(b.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[test]
fn hundred_thousand_rows_stream_both_ways() {
    const ROWS: usize = 100_000;
    // Writing: nothing is kept, every row goes straight to the sink.
    let mut w = Writer::new(Counting(0), "g", "big");
    w.begin_lists("big").unwrap();
    for n in 0..ROWS {
        w.begin_row("row").unwrap();
        w.item("n", &n.to_string()).unwrap();
    }
    w.finish().unwrap();
    let written = w.into_inner().0;

    // Reading: rows arrive one by one from a generated source.
    let source = Generated {
        rows: ROWS,
        next: 0,
        buf: Vec::new(),
        pos: 0,
    };
    let mut reader = DocReader::new(BufReader::new(source));
    let mut seen = 0usize;
    let mut ended = false;
    while let Some(ev) = reader.next_event().unwrap() {
        match ev {
            DocEvent::Row(row) => {
                assert_eq!(row.get("n"), Some(seen.to_string().as_str()));
                seen += 1;
            }
            DocEvent::End => ended = true,
            _ => {}
        }
    }
    assert_eq!(seen, ROWS);
    assert!(ended);
    // The generator writes the writer's layout: same size.
    let mut whole = Vec::new();
    Generated {
        rows: ROWS,
        next: 0,
        buf: Vec::new(),
        pos: 0,
    }
    .read_to_end(&mut whole)
    .unwrap();
    assert_eq!(whole.len() as u64, written);
}

#[test]
fn doc_events_in_order() {
    let events: Vec<DocEvent> = {
        let mut r = DocReader::new(REGISTRATIONS);
        std::iter::from_fn(|| r.next_event().unwrap()).collect()
    };
    assert!(
        matches!(&events[0], DocEvent::Begin { faults: false, server, .. } if server == "bayonne")
    );
    assert_eq!(events[1], DocEvent::BeginLists("registrations".into()));
    assert!(matches!(&events[2], DocEvent::Row(r) if r.items.len() == 5));
    assert_eq!(events[3], DocEvent::EndLists);
    assert_eq!(events[4], DocEvent::End);
    assert_eq!(events.len(), 5);
}

fn xml_text() -> impl Strategy<Value = String> {
    proptest::collection::vec(
        prop_oneof![
            Just('&'),
            Just('<'),
            Just('>'),
            Just('"'),
            Just('\''),
            Just('\t'),
            Just('\n'),
            Just('\r'),
            Just(' '),
            Just('é'),
            Just('€'),
            proptest::char::range('a', 'z'),
        ],
        0..12,
    )
    .prop_map(|v| v.into_iter().collect())
}

// ------------------------------------------------------- zero-copy view

/// Builds a `Response` from the view's events, independently of `parse`.
fn from_view(mut view: Events<'_>) -> Result<Response, ParseError> {
    let (mut doc_server, mut doc_service, mut ignored) = (String::new(), String::new(), Vec::new());
    let mut entries = Vec::new();
    let mut faults = None;
    let mut row: Option<Row> = None;
    let mut ended = false;
    for ev in view.by_ref() {
        // Content after the document is an error after End.
        let ev = ev?;
        assert!(!ended, "an event after End");
        match ev {
            EventRef::Begin {
                faults: f,
                server,
                service,
            } => {
                (doc_server, doc_service) = (server.into_owned(), service.into_owned());
                if f {
                    faults = Some(Vec::new());
                }
            }
            EventRef::Result(f) => entries.push(Entry::Result(f.into_owned())),
            EventRef::BeginLists(id) => entries.push(Entry::Lists(Lists {
                id: id.into(),
                rows: Vec::new(),
            })),
            EventRef::BeginRow(id) => row = Some(Row::new(id, Vec::new())),
            EventRef::Item(f) => row
                .as_mut()
                .expect("item outside a row")
                .items
                .push(f.into_owned()),
            EventRef::EndRow => match entries.last_mut() {
                Some(Entry::Lists(l)) => l.rows.push(row.take().expect("EndRow without a row")),
                _ => panic!("a row outside a table"),
            },
            EventRef::EndLists => {}
            EventRef::Fault(f) => faults
                .as_mut()
                .expect("fault in results")
                .push(f.into_owned()),
            EventRef::Ignored(i) => ignored.push(i),
            EventRef::End => ended = true,
        }
    }
    assert!(ended, "the view ended without End or an error");
    let body = match faults {
        Some(f) => Body::Faults(f),
        None => Body::Results(entries),
    };
    let mut doc = Response::new(doc_server, doc_service, &body);
    doc.ignored = ignored;
    Ok(doc)
}

#[test]
fn view_borrows_plain_values_and_decodes_the_rest() {
    let xml = br#"<serverResponse><results server="b&amp;b" service="s">
        <result id="plain" value="sip"/>
        <result id="escaped" value="a &lt; b"/>
        <result id="tab" value="x	y"/>
        <lists id="t"><list id="r"><item id="k" value="v"/></list></lists>
        </results></serverResponse>"#;
    let inside = |s: &str| {
        let start = xml.as_ptr() as usize;
        (start..start + xml.len()).contains(&(s.as_ptr() as usize))
    };
    let mut seen = Vec::new();
    for ev in events(xml) {
        match ev.unwrap() {
            EventRef::Begin {
                server, service, ..
            } => {
                assert!(
                    matches!(server, Cow::Owned(ref s) if s == "b&b"),
                    "{server:?}"
                );
                assert!(matches!(service, Cow::Borrowed("s")));
                assert!(inside(&service));
            }
            EventRef::Result(f) | EventRef::Item(f) => {
                assert!(matches!(f.id, Cow::Borrowed(_)) && inside(&f.id));
                seen.push((f.id.into_owned(), f.value));
            }
            EventRef::BeginLists(id) | EventRef::BeginRow(id) => {
                assert!(matches!(id, Cow::Borrowed(_)) && inside(&id));
            }
            _ => {}
        }
    }
    assert_eq!(seen.len(), 4);
    assert!(matches!(&seen[0].1, Cow::Borrowed("sip")) && inside(&seen[0].1));
    assert!(matches!(&seen[1].1, Cow::Owned(v) if v == "a < b"));
    // A literal tab reads as a space (attribute-value normalisation).
    assert!(matches!(&seen[2].1, Cow::Owned(v) if v == "x y"));
    assert!(matches!(&seen[3].1, Cow::Borrowed("v")));
}

#[test]
fn view_yields_rows_in_pieces() {
    let got: Vec<EventRef<'_>> = events(REGISTRATIONS).map(Result::unwrap).collect();
    let begin_rows = got
        .iter()
        .filter(|e| matches!(e, EventRef::BeginRow(_)))
        .count();
    let end_rows = got.iter().filter(|e| matches!(e, EventRef::EndRow)).count();
    let rows = parse(REGISTRATIONS)
        .unwrap()
        .entries()
        .map(|e| match e {
            EntryView::Lists(l) => l.len(),
            EntryView::Result(_) => 0,
        })
        .sum::<usize>();
    assert!(rows > 0);
    assert_eq!((begin_rows, end_rows), (rows, rows));
    assert_eq!(got.last(), Some(&EventRef::End));
    // An empty row and an empty table still open and close.
    let xml = b"<serverResponse><results><lists id='t'><list id='r'/></lists><lists id='u'/></results></serverResponse>";
    let got: Vec<EventRef<'_>> = events(xml).map(Result::unwrap).collect();
    assert_eq!(
        got[1..got.len() - 1],
        [
            EventRef::BeginLists("t".into()),
            EventRef::BeginRow("r".into()),
            EventRef::EndRow,
            EventRef::EndLists,
            EventRef::BeginLists("u".into()),
            EventRef::EndLists,
        ]
    );
}

#[test]
fn view_agrees_with_parse_on_good_and_bad_documents() {
    let mut cases: Vec<Vec<u8>> = vec![
        STATUS.to_vec(),
        UNKNOWN.to_vec(),
        REGISTRATIONS.to_vec(),
        registrations_model().to_xml(),
        b"".to_vec(),
        b"<html/>".to_vec(),
        b"<serverResponse><results></serverResponse>".to_vec(),
        b"<serverResponse><results><result value='1'/></results></serverResponse>".to_vec(),
        b"<serverResponse><results><result id='a' value='&bogus;'/></results></serverResponse>"
            .to_vec(),
        b"<serverResponse><results><result id='a' id='b'/></results></serverResponse>".to_vec(),
        b"<serverResponse><results><result id='\xff'/></results></serverResponse>".to_vec(),
        br#"<serverResponse><results server="b" service="s"><result id="a" value="1/></results></serverResponse>"#.to_vec(),
        b"<serverResponse><results/></serverResponse><x/>".to_vec(),
    ];
    let mut deep = b"<serverResponse><results><x>".to_vec();
    deep.extend(std::iter::repeat_n(&b"<x>"[..], 100).flatten());
    cases.push(deep);
    for xml in &cases {
        let view = from_view(events(xml));
        assert_eq!(view, parse(xml), "{}", String::from_utf8_lossy(xml));
    }
    // The limits too.
    let doc = registrations_model().to_xml();
    for config in [
        ParseConfig::default().with_max_size(100),
        ParseConfig::default().with_max_depth(4),
    ] {
        let err = from_view(Events::with_config(&doc, &config)).unwrap_err();
        assert_eq!(Err(err), parse_with(&doc, &config));
    }
}

#[test]
fn view_ends_after_an_error() {
    let xml = b"<serverResponse><results><result value='1'/><result id='b' value='2'/></results></serverResponse>";
    let mut view = events(xml);
    let mut errors = 0;
    let mut after = 0;
    for ev in view.by_ref() {
        if errors > 0 {
            after += 1;
        }
        if ev.is_err() {
            errors += 1;
        }
    }
    assert_eq!((errors, after), (1, 0));
    assert!(view.next().is_none());
    // An error found before the first event (UTF-8) is the first item.
    let mut view = events(b"<serverResponse>\xff");
    assert!(matches!(
        view.next(),
        Some(Err(ParseError {
            kind: ParseErrorKind::NotUtf8,
            position: 16
        }))
    ));
    assert!(view.next().is_none());
}

proptest! {
    #[test]
    fn view_agrees_with_parse_on_arbitrary_bytes(
        bytes in proptest::collection::vec(any::<u8>(), 0..200),
    ) {
        prop_assert_eq!(from_view(events(&bytes)), parse(&bytes));
    }

    #[test]
    fn written_documents_parse_back(
        fields in proptest::collection::vec((xml_text(), xml_text()), 0..6),
        rows in proptest::collection::vec(proptest::collection::vec((xml_text(), xml_text()), 0..4), 0..4),
        faults in any::<bool>(),
    ) {
        let doc = if faults {
            Response::faults("s", "t", fields.iter().map(|(k, v)| Field::new(k, v)).collect())
        } else {
            let mut entries: Vec<Entry> =
                fields.iter().map(|(k, v)| Entry::Result(Field::new(k, v))).collect();
            entries.push(Entry::Lists(Lists {
                id: "l".into(),
                rows: rows
                    .iter()
                    .map(|r| Row::new("r", r.iter().map(|(k, v)| Field::new(k, v)).collect()))
                    .collect(),
            }));
            Response::results("s", "t", entries)
        };
        let xml = doc.to_xml();
        prop_assert_eq!(parse(&xml).unwrap(), doc.clone());
        prop_assert_eq!(from_view(events(&xml)).unwrap(), doc.clone());
        let streamed = DocReader::new(BufReader::with_capacity(3, &xml[..])).into_response().unwrap();
        prop_assert_eq!(streamed, doc);
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        let _ = parse(&bytes);
        let _ = DocReader::new(&bytes[..]).into_response();
    }
}

#[test]
fn a_response_reads_back_through_its_views_what_it_was_built_from() {
    let entries = vec![
        Entry::Result(Field::new("uptime", "42")),
        Entry::Lists(Lists {
            id: "t".into(),
            rows: vec![
                Row::new("r", vec![Field::flag("up", true), Field::number("n", -7)]),
                Row::new("r", Vec::new()),
                Row::new(
                    "s",
                    vec![Field::new("x", "a long value well past any inline size")],
                ),
            ],
        }),
        Entry::Lists(Lists {
            id: "empty".into(),
            rows: Vec::new(),
        }),
        Entry::Result(Field::new("", "")),
    ];
    let doc = Response::results("srv", "svc", entries.clone());
    assert_eq!(
        doc,
        Response::new("srv", "svc", &Body::Results(entries.clone()))
    );
    assert_eq!(doc.to_body(), Body::Results(entries.clone()));
    let body = doc.to_body();
    assert_eq!(
        (body.is_fault(), body.entries(), body.fault_fields()),
        (false, &entries[..], &[][..])
    );
    assert!(!doc.is_fault());
    assert_eq!(doc.fault_fields().len(), 0);

    let mut e = doc.entries();
    assert_eq!(e.len(), 4);
    assert!(matches!(e.next_back(), Some(EntryView::Result(f)) if f.id.is_empty()));
    assert_eq!(e.len(), 3);
    let Some(EntryView::Lists(t)) = e.nth(1) else {
        panic!("a table expected")
    };
    assert_eq!((t.id(), t.len(), t.is_empty()), ("t", 3, false));
    let first = t.row(0).unwrap();
    assert_eq!((first.id(), first.len()), ("r", 2));
    assert_eq!(first.get("up"), Some("true"));
    let cells: Vec<FieldView> = first.items().collect();
    assert_eq!(cells[0].as_bool(), Some(true));
    assert_eq!(cells[1].as_i64(), Some(-7));
    assert_eq!(cells[1].as_u64(), None);
    assert_eq!(cells[1].as_f64(), Some(-7.0));
    assert!(t.row(1).unwrap().is_empty());
    assert_eq!(t.row(3), None);
    let ids: Vec<&str> = t.rows().rev().map(|r| r.id()).collect();
    assert_eq!(ids, ["s", "r", "r"]);
    assert_eq!(
        t.rows()
            .next_back()
            .unwrap()
            .items()
            .next_back()
            .unwrap()
            .value,
        "a long value well past any inline size"
    );
    assert_eq!(t.into_owned(), {
        let Entry::Lists(l) = &entries[1] else {
            unreachable!()
        };
        l.clone()
    });
    assert!(doc.lists("empty").unwrap().is_empty());
    assert_eq!(doc.lists("empty").unwrap().rows().len(), 0);
    assert_eq!(doc.lists("missing"), None);
    assert_eq!(doc.find("uptime"), Some("42"));
    assert_eq!(doc.find(""), Some(""));
    // Debug shows the document, not its packing.
    let shown = format!("{doc:?}");
    assert!(shown.contains("Row { id: \"s\""), "{shown}");

    let faults = Response::fault("srv", "http", 404, "Not Found");
    assert!(faults.is_fault());
    assert_eq!(faults.entries().len(), 0);
    assert_eq!(faults.fault_fields().len(), 2);
    assert_eq!(
        (faults.fault_code(), faults.fault_text()),
        (Some(404), Some("Not Found"))
    );
    assert_eq!(faults.find("text"), Some("Not Found"));
    let body = faults.to_body();
    assert!(body.is_fault() && body.entries().is_empty());
    assert_eq!(body.fault_fields()[1], Field::new("text", "Not Found"));
    assert_eq!(
        faults.to_body(),
        Body::Faults(vec![
            Field::new("code", "404"),
            Field::new("text", "Not Found")
        ])
    );
    // Equal documents are equal however they were made; different ones
    // are not.
    assert_eq!(parse(&doc.to_xml()).unwrap(), doc);
    assert_eq!(parse(&faults.to_xml()).unwrap(), faults);
    assert_ne!(faults, Response::fault("srv", "http", 404, "Not found"));
    assert_ne!(doc, Response::results("srv", "svc", entries[..3].to_vec()));
}

#[test]
fn decoded_values_are_packed_whole_beside_plain_ones() {
    let xml = "<serverResponse><results server='a&amp;b' service='s'>\
        <result id='k&lt;' value='1 &amp; 2&#x41;'/>\
        <lists id='l'><list id='r'>\
        <item id='plain' value='x'/><item id='tab' value='a\tb'/>\
        <item id='ref' value='&#233;t&#xE9;'/><item id='after' value='y'/>\
        </list></lists></results></serverResponse>";
    let doc = parse(xml.as_bytes()).unwrap();
    assert_eq!(doc.server, "a&b");
    assert_eq!(doc.find("k<"), Some("1 & 2A"));
    let row = doc.lists("l").unwrap().row(0).unwrap();
    let got: Vec<(&str, &str)> = row.items().map(|f| (f.id, f.value)).collect();
    assert_eq!(
        got,
        [
            ("plain", "x"),
            ("tab", "a b"),
            ("ref", "été"),
            ("after", "y")
        ]
    );
    // The streaming reader builds the same document.
    let streamed = DocReader::new(BufReader::with_capacity(2, xml.as_bytes()))
        .into_response()
        .unwrap();
    assert_eq!(streamed, doc);
}
