//! Fuzzes the ministreaming framing and frames: the length-prefixed reader
//! is fed in slices whose sizes come from the first byte and must give what
//! one push gives; every message that decodes must encode back to the same
//! bytes; and every frame is handed to a client-side and a server-side
//! stream state, which must never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use msgwire::ministream::frame::{FrameReader, Message, StreamId};
use msgwire::ministream::StreamState;

fn messages(data: &[u8], step: usize) -> (Vec<Vec<u8>>, bool) {
    let mut reader = FrameReader::new(4096);
    let mut out = Vec::new();
    let mut failed = false;
    for piece in data.chunks(step.max(1)) {
        reader.push(piece);
        loop {
            match reader.next_message() {
                Ok(Some(m)) => out.push(m.to_vec()),
                Ok(None) => break,
                Err(_) => {
                    failed = true;
                    break;
                }
            }
        }
    }
    (out, failed)
}

fuzz_target!(|data: &[u8]| {
    let Some((&first, rest)) = data.split_first() else {
        return;
    };
    let whole = messages(rest, rest.len());
    let sliced = messages(rest, usize::from(first % 17) + 1);
    assert_eq!(whole, sliced, "slicing changed the messages");

    let id = StreamId::new(1).unwrap();
    let mut client = StreamState::client(id, 64, 16);
    let mut server = StreamState::server(id, StreamId::new(2).unwrap(), 64, 16);
    server.accept();
    let mut buf = [0u8; 32];
    for m in whole.0 {
        let Ok(Message::Frame(frame)) = Message::decode_slice(&m) else {
            continue;
        };
        assert_eq!(
            &frame.to_bytes()[..],
            &m[..],
            "a decoded frame encodes back"
        );
        let _ = client.on_frame(&frame);
        let _ = server.on_frame(&frame);
        let _ = client.write(&frame.payload);
        let _ = client.read(&mut buf);
        let _ = server.read(&mut buf);
    }
});
