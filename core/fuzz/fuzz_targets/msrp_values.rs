//! Fuzzes URI and typed-header decoding: decoding never panics, and what
//! decodes re-encodes to text that decodes to the same value.
#![no_main]

use libfuzzer_sys::fuzz_target;
use msgwire::msrp::header::{
    Authorization, ByteRange, ContentDisposition, FailureReport, Status, SuccessReport, ToPath,
    TypedHeader, WwwAuthenticate,
};
use msgwire::msrp::Uri;

fn check<T: TypedHeader + PartialEq + std::fmt::Debug>(s: &str) {
    if let Ok(v) = T::decode(s) {
        let again = T::decode(&v.encoded()).expect("encoded value must decode");
        assert_eq!(again, v);
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else { return };
    if let Ok(u) = s.parse::<Uri>() {
        let text = u.to_string();
        let again: Uri = text.parse().expect("formatted URI must parse");
        assert_eq!(again, u);
        assert_eq!(again.to_string(), text);
    }
    check::<ByteRange>(s);
    check::<Status>(s);
    check::<SuccessReport>(s);
    check::<FailureReport>(s);
    check::<ToPath>(s);
    check::<WwwAuthenticate>(s);
    check::<Authorization>(s);
    check::<ContentDisposition>(s);
});
