//! Fuzzes the serverResponse parser: the slice parser and the streaming
//! reader (fed through a buffer whose size comes from the first byte) must
//! agree, and whatever parses must write and parse back to the same
//! document (minus what the parser skipped).
#![no_main]

use std::io::BufReader;

use libfuzzer_sys::fuzz_target;
use msgwire::serverresponse::{parse, Body, DocReader, Entry, Field, Lists, Response, Row};

fuzz_target!(|data: &[u8]| {
    let Some((&first, doc)) = data.split_first() else {
        return;
    };
    let whole = parse(doc);
    let capacity = usize::from(first % 16) + 1;
    let streamed = DocReader::new(BufReader::with_capacity(capacity, doc)).into_response();
    match (&whole, &streamed) {
        (Ok(a), Ok(b)) => assert_eq!(a, b),
        (Err(_), Err(_)) => {}
        // A document invalid as UTF-8 only where the streaming reader
        // never looks (e.g. a comment) is refused by the slice parser's
        // up-front check alone.
        (Err(e), Ok(_)) => assert!(std::str::from_utf8(doc).is_err(), "{e}"),
        (Ok(_), Err(e)) => panic!("streaming reader refused what parse took: {e}"),
    }
    if let Ok(doc) = whole {
        let again = parse(&doc.to_xml()).expect("a written document parses");
        assert_eq!(again, writable(doc));
    }
});

/// The document as the writer can carry it: characters XML 1.0 cannot
/// hold (reached through character references) become U+FFFD, and
/// nothing is skipped any more.
fn writable(doc: Response) -> Response {
    fn clean(s: &str) -> String {
        let xml = |c: char| {
            matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
        };
        s.chars().map(|c| if xml(c) { c } else { '\u{FFFD}' }).collect()
    }
    let field = |f: &Field| Field::new(clean(&f.id), clean(&f.value));
    let body = match doc.to_body() {
        Body::Faults(faults) => Body::Faults(faults.iter().map(field).collect()),
        Body::Results(entries) => Body::Results(
            entries
                .iter()
                .map(|e| match e {
                    Entry::Result(f) => Entry::Result(field(f)),
                    Entry::Lists(l) => Entry::Lists(Lists {
                        id: clean(&l.id).into(),
                        rows: l
                            .rows
                            .iter()
                            .map(|r| Row::new(clean(&r.id), r.items.iter().map(field).collect()))
                            .collect(),
                    }),
                })
                .collect(),
        ),
    };
    // Nothing is skipped any more: `new` starts with no ignored.
    Response::new(clean(&doc.server), clean(&doc.service), &body)
}
