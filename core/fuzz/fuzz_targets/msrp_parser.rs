//! Fuzzes the streaming MSRP parser: the input is fed in slices whose sizes
//! come from the first byte, and the events must match a one-shot parse.
#![no_main]

use libfuzzer_sys::fuzz_target;
use msgwire::msrp::{parse_chunk, Event, Parser};

fn run(data: &[u8], step: usize) -> Vec<String> {
    let mut parser = Parser::new();
    let mut out = Vec::new();
    let mut body = Vec::new();
    for piece in data.chunks(step.max(1)) {
        let mut rest = piece;
        loop {
            let (used, r) = parser.parse(rest);
            rest = &rest[used..];
            match r {
                Ok(Some(Event::Start(h))) => {
                    let c = h.to_chunk();
                    let _ = c.verify_headers();
                    let _ = c.byte_range();
                    out.push(format!("start {}", h.raw()));
                }
                Ok(Some(Event::Data(d))) => body.extend_from_slice(d),
                Ok(Some(Event::End(f))) => {
                    out.push(format!("data {:?}", std::mem::take(&mut body)));
                    out.push(format!("end {f:?}"));
                }
                Ok(None) => break,
                Err(e) => {
                    if !body.is_empty() {
                        out.push(format!("data {:?}", std::mem::take(&mut body)));
                    }
                    out.push(format!("error {e}"));
                }
            }
        }
    }
    if let Err(e) = parser.finish() {
        out.push(format!("eof {e}"));
    }
    out
}

fuzz_target!(|data: &[u8]| {
    let Some((&first, rest)) = data.split_first() else { return };
    let whole = run(rest, usize::MAX);
    let sliced = run(rest, 1 + (first as usize % 17));
    // Data may be split differently, but merged per chunk it is the same.
    assert_eq!(whole, sliced);
    if let Ok(chunk) = parse_chunk(rest) {
        let again = parse_chunk(&chunk.encode()).expect("re-encoded chunk must parse");
        assert_eq!(again.transaction_id, chunk.transaction_id);
        assert_eq!(again.data, chunk.data);
    }
});
