//! Fuzzes the STS/1.0 parser, error-reply bodies, reply subjects and
//! Content-Range values: the parser is fed in slices whose sizes come from
//! the first byte and must give what a single push gives; whatever parses
//! must encode and parse back to the same message.
#![no_main]

use libfuzzer_sys::fuzz_target;
use msgwire::sts::error::ErrorReply;
use msgwire::sts::fragment::ContentRange;
use msgwire::sts::message::EncodeOptions;
use msgwire::sts::parser::Parser;
use msgwire::sts::subject::ReplySubject;

fn run(data: &[u8], step: usize) -> Vec<String> {
    let mut parser = Parser::new();
    let mut out = Vec::new();
    for piece in data.chunks(step.max(1)) {
        parser.push(piece);
        loop {
            match parser.next_message() {
                Ok(Some(m)) => {
                    let wire = m
                        .encode(&EncodeOptions {
                            xml_trailing_lf: false,
                            ..EncodeOptions::default()
                        })
                        .expect("a parsed message encodes");
                    let mut again = Parser::new();
                    again.push(&wire);
                    let back = again.next_message().expect("re-encoded message parses");
                    assert_eq!(back.as_ref().map(|b| &b.body), Some(&m.body));
                    out.push(format!("{:?}", m.start));
                }
                Ok(None) => break,
                Err(e) => {
                    out.push(format!("error {e}"));
                    if e.is_fatal() {
                        return out;
                    }
                }
            }
        }
    }
    out
}

fuzz_target!(|data: &[u8]| {
    let Some((&first, rest)) = data.split_first() else { return };
    assert_eq!(run(rest, usize::MAX), run(rest, 1 + (first as usize % 17)));
    if let Ok(e) = ErrorReply::parse(rest) {
        assert_eq!(ErrorReply::parse(e.to_xml().as_bytes()).ok(), Some(e));
    }
    if let Ok(text) = std::str::from_utf8(rest) {
        if let Ok(s) = ReplySubject::parse(text) {
            assert_eq!(ReplySubject::parse(&s.to_string()).ok(), Some(s));
        }
        if let Ok(r) = ContentRange::parse(text) {
            assert_eq!(ContentRange::parse(&r.to_string()).ok(), Some(r));
        }
    }
});
