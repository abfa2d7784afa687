//! Fuzzes the Message/CPIM parser and the SDP media parser: neither may
//! panic; a CPIM message that parses encodes to bytes that parse to the
//! same message, with the message headers and payload exactly as read; a
//! media section that parses encodes to text that reads back and encodes
//! to the same text.
#![no_main]

use libfuzzer_sys::fuzz_target;
use msgwire::msrp::cpim::CpimMessage;
use msgwire::msrp::sdp::MsrpMedia;

fuzz_target!(|data: &[u8]| {
    if let Ok(m) = CpimMessage::parse_slice(data) {
        let wire = m.encode();
        let back = CpimMessage::parse(wire.clone()).expect("an encoded message parses");
        assert_eq!(back, m);
        assert_eq!(back.encode(), wire);
        assert!(data.ends_with(m.content()));
        let _ = (m.sender(), m.recipients(), m.timestamp(), m.subjects(), m.required());
    }
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(media) = MsrpMedia::parse(text) {
            if let Ok(encoded) = media.encode() {
                let back = MsrpMedia::parse(&encoded).expect("an encoded media section parses");
                assert_eq!(back.encode().expect("it encodes again"), encoded);
            }
        }
    }
});
