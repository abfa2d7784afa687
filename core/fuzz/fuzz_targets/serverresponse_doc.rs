//! Fuzzes the serverResponse parser: the slice parser and the streaming
//! reader (fed through a buffer whose size comes from the first byte) must
//! agree, and whatever parses must write and parse back to the same
//! document (minus what the parser skipped).
#![no_main]

use std::io::BufReader;

use libfuzzer_sys::fuzz_target;
use msgwire::serverresponse::{parse, Body, DocReader, Entry, Field, Response};

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
fn writable(mut doc: Response) -> Response {
    fn clean(s: &mut String) {
        let xml = |c: char| {
            matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
        };
        if !s.chars().all(xml) {
            *s = s.chars().map(|c| if xml(c) { c } else { '\u{FFFD}' }).collect();
        }
    }
    fn field(f: &mut Field) {
        clean(&mut f.id);
        clean(&mut f.value);
    }
    clean(&mut doc.server);
    clean(&mut doc.service);
    doc.ignored.clear();
    match &mut doc.body {
        Body::Faults(faults) => faults.iter_mut().for_each(field),
        Body::Results(entries) => {
            for e in entries {
                match e {
                    Entry::Result(f) => field(f),
                    Entry::Lists(l) => {
                        clean(&mut l.id);
                        for r in &mut l.rows {
                            clean(&mut r.id);
                            r.items.iter_mut().for_each(field);
                        }
                    }
                }
            }
        }
    }
    doc
}
