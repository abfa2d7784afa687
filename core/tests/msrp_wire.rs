//! Integration tests of the MSRP wire layer: the RFC example corpus,
//! slicing invariance, malformed input classes and streaming bounds.

use std::path::PathBuf;

use msgwire::msrp::{
    parse_chunk, parse_chunk_with, Chunk, Event, Flag, ParseError, ParseErrorKind, Parser,
    ParserConfig,
};
use proptest::prelude::*;

fn rfc_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/rfc")
}

/// Every `.msrp` example file, with whether it is in `quirky/`.
fn rfc_examples() -> Vec<(String, Vec<u8>, bool)> {
    let mut out = Vec::new();
    for (dir, quirky) in [(rfc_dir(), false), (rfc_dir().join("quirky"), true)] {
        let mut entries: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "msrp"))
            .collect();
        entries.sort();
        for p in entries {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            out.push((name, std::fs::read(&p).unwrap(), quirky));
        }
    }
    assert!(out.len() >= 30, "RFC corpus missing: {}", out.len());
    out
}

/// An owned, comparable form of the events.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Ev {
    Start(String),
    Data(Vec<u8>),
    End(Flag),
    Error(ParseErrorKind, Option<String>),
}

/// Feeds `input` in the given slice sizes (cycled), merging adjacent data.
fn events(input: &[u8], sizes: &[usize], config: &ParserConfig) -> Vec<Ev> {
    let mut parser = Parser::with_config(config.clone());
    let mut out: Vec<Ev> = Vec::new();
    let mut push = |ev: Ev| match (out.last_mut(), ev) {
        (Some(Ev::Data(prev)), Ev::Data(d)) => prev.extend_from_slice(&d),
        (_, ev) => out.push(ev),
    };
    let mut offset = 0;
    let mut i = 0;
    while offset < input.len() {
        let n = sizes[i % sizes.len()].max(1).min(input.len() - offset);
        i += 1;
        let mut slice = &input[offset..offset + n];
        offset += n;
        loop {
            let (used, r) = parser.parse(slice);
            slice = &slice[used..];
            match r {
                Ok(Some(Event::Start(h))) => push(Ev::Start(h.raw().to_string())),
                Ok(Some(Event::Data(d))) => push(Ev::Data(d.to_vec())),
                Ok(Some(Event::End(f))) => push(Ev::End(f)),
                Ok(None) => break,
                Err(e) => push(Ev::Error(e.kind, e.transaction_id)),
            }
        }
        assert!(slice.is_empty());
    }
    if let Err(e) = parser.finish() {
        push(Ev::Error(e.kind, e.transaction_id));
    }
    out
}

fn default_events(input: &[u8], sizes: &[usize]) -> Vec<Ev> {
    events(input, sizes, &ParserConfig::default())
}

#[test]
fn rfc_examples_parse_and_reencode_byte_exactly() {
    for (name, bytes, quirky) in rfc_examples() {
        let chunk = parse_chunk(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(&chunk.encode()[..], &bytes[..], "{name}: re-encode differs");
        if !quirky {
            chunk
                .verify_headers()
                .unwrap_or_else(|e| panic!("{name}: {e}"));
        }
        // One byte at a time gives the same result as one slice.
        assert_eq!(
            default_events(&bytes, &[1]),
            default_events(&bytes, &[usize::MAX]),
            "{name}"
        );
    }
}

#[test]
fn rfc_examples_in_one_stream() {
    let all: Vec<u8> = rfc_examples().into_iter().flat_map(|(_, b, _)| b).collect();
    let evs = default_events(&all, &[usize::MAX]);
    let ends = evs.iter().filter(|e| matches!(e, Ev::End(_))).count();
    assert_eq!(ends, rfc_examples().len());
    assert!(!evs.iter().any(|e| matches!(e, Ev::Error(..))), "{evs:?}");
    for sizes in [&[1usize][..], &[2, 3, 5, 7], &[9], &[13, 1, 44], &[4096]] {
        assert_eq!(default_events(&all, sizes), evs, "sizes {sizes:?}");
    }
}

#[test]
fn rfc4975_example_fields() {
    let bytes = std::fs::read(rfc_dir().join("rfc4975_s11_4_send_cpim_chunk1.msrp")).unwrap();
    let c = parse_chunk(&bytes).unwrap();
    assert_eq!(c.transaction_id, "d93kswow");
    assert_eq!(c.method(), Some("SEND"));
    assert_eq!(c.flag, Flag::Continue);
    assert_eq!(c.size(), 137);
    assert_eq!(c.content_type(), Some("message/cpim"));
    let r = c.byte_range().unwrap().unwrap();
    assert_eq!((r.start, r.end, r.total), (1, Some(137), Some(148)));
    let report = std::fs::read(rfc_dir().join("rfc4975_s11_6_report_success.msrp")).unwrap();
    let report = parse_chunk(&report).unwrap();
    assert_eq!(report.status().unwrap().unwrap().code, 200);
}

/// A body full of things that look like end-lines but are not.
fn tricky_stream() -> Vec<u8> {
    let mut v = Vec::new();
    v.extend_from_slice(
        b"MSRP tricky01 SEND\r\nTo-Path: msrp://b:1/s;tcp\r\nFrom-Path: msrp://a:1/t;tcp\r\n\
Message-ID: x\r\nContent-Type: text/plain\r\n\r\n\
-------tricky01$\r\nat body start is data\r\n\
-------other01$\r\n\r\n-------tricky01x\r\n\r\n-------tricky01$\r\r\n-------tricky0$\r\n\
\r\n\r\n-------tricky01\r\n\r\r\n-------tricky01#",
    );
    v.extend_from_slice(b"\r\n");
    v.extend_from_slice(b"MSRP tricky02 200 OK\r\nTo-Path: msrp://a:1/t;tcp\r\nFrom-Path: msrp://b:1/s;tcp\r\n-------tricky02$\r\n");
    v.extend_from_slice(b"\r\n");
    v.extend_from_slice(
        b"MSRP tricky03 SEND\r\nTo-Path: msrp://b:1/s;tcp\r\nFrom-Path: msrp://a:1/t;tcp\r\n\
Content-Type: application/octet-stream\r\n\r\n\r\n-------tricky03+\r\n",
    );
    v
}

#[test]
fn look_alike_end_lines_stay_in_the_body() {
    let evs = default_events(&tricky_stream(), &[usize::MAX]);
    assert_eq!(evs.len(), 7, "{evs:?}");
    let Ev::Data(body) = &evs[1] else {
        panic!("{evs:?}")
    };
    assert!(body.starts_with(b"-------tricky01$\r\nat body start"));
    assert!(body.ends_with(b"\r\n\r\n-------tricky01\r\n\r"));
    assert_eq!(evs[2], Ev::End(Flag::Abort));
    assert_eq!(evs[4], Ev::End(Flag::End));
    // Empty body after the blank line.
    assert!(matches!(&evs[5], Ev::Start(s) if s.starts_with("MSRP tricky03")));
    assert_eq!(evs[6], Ev::End(Flag::Continue));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    /// Any slicing of a valid stream yields the same events.
    #[test]
    fn slicing_does_not_change_events(sizes in proptest::collection::vec(1usize..64, 1..16)) {
        let mut stream = tricky_stream();
        for (_, b, _) in rfc_examples().into_iter().take(8) {
            stream.extend_from_slice(&b);
        }
        let whole = default_events(&stream, &[usize::MAX]);
        prop_assert_eq!(default_events(&stream, &sizes), whole);
    }

    /// Arbitrary bytes never panic, and feeding them in pieces reports the
    /// same events as feeding them at once.
    #[test]
    fn garbage_never_panics(data in proptest::collection::vec(any::<u8>(), 0..512),
                            sizes in proptest::collection::vec(1usize..32, 1..8)) {
        let a = default_events(&data, &[usize::MAX]);
        let b = default_events(&data, &sizes);
        prop_assert_eq!(a, b);
    }

    /// Chunks built from random pieces round-trip through encode and parse.
    #[test]
    fn build_encode_parse_round_trip(body in proptest::collection::vec(any::<u8>(), 0..300),
                                     tid in "[a-zA-Z0-9][a-zA-Z0-9.+%=-]{3,31}",
                                     flag in prop_oneof![Just(Flag::End), Just(Flag::Continue), Just(Flag::Abort)]) {
        let mut c = Chunk::request(tid.clone(), "SEND");
        c.headers.set("To-Path", "msrp://b.example:1/s;tcp");
        c.headers.set("From-Path", "msrp://a.example:1/t;tcp");
        c.headers.set("Message-ID", "m1");
        c.headers.set("Content-Type", "application/octet-stream");
        c.data = body.clone().into();
        c.flag = flag;
        let wire = c.encode();
        // A body that happens to contain its own end-line cannot be framed;
        // senders pick another transaction id (RFC 4975 §7.1).
        let end = format!("\r\n-------{tid}");
        prop_assume!(!wire[..wire.len() - end.len() - 3].windows(end.len()).any(|w| w == end.as_bytes()));
        let parsed = parse_chunk(&wire).unwrap();
        prop_assert_eq!(parsed, c);
    }
}

fn err_of(input: &[u8]) -> ParseError {
    err_with(input, &ParserConfig::default())
}

fn err_with(input: &[u8], config: &ParserConfig) -> ParseError {
    let mut parser = Parser::with_config(config.clone());
    let mut rest = input;
    loop {
        let (used, r) = parser.parse(rest);
        rest = &rest[used..];
        match r {
            Err(e) => return e,
            Ok(None) => break,
            Ok(Some(_)) => {}
        }
    }
    parser.finish().expect_err("expected an error")
}

const HEAD: &str = "To-Path: msrp://b:1/s;tcp\r\nFrom-Path: msrp://a:1/t;tcp\r\n";

#[test]
fn malformed_classes_have_specific_errors() {
    use ParseErrorKind::*;
    let long = "x".repeat(20_000);
    let many: String = (0..70).map(|i| format!("X-H{i}: v\r\n")).collect();
    let cases: Vec<(String, ParseErrorKind, Option<&str>)> = vec![
        ("THIS IS NOT MSRP AT ALL\r\n".into(), BadStartLine, None),
        ("MSRP\r\n".into(), BadStartLine, None),
        ("HTTP/1.1 200 OK\r\n".into(), BadStartLine, None),
        ("MSRP tx000001\r\n".into(), BadStartLine, Some("tx000001")),
        (format!("MSRP ab SEND\r\n{HEAD}-------ab$\r\n"), BadTransactionId, None),
        (format!("MSRP {} SEND\r\n", "a".repeat(33)), BadTransactionId, None),
        ("MSRP -abc SEND\r\n".into(), BadTransactionId, None),
        ("MSRP tx000001 send\r\n".into(), BadMethod, Some("tx000001")),
        ("MSRP tx000001 20 OK\r\n".into(), BadStatusCode, Some("tx000001")),
        ("MSRP tx000001 2000 OK\r\n".into(), BadStatusCode, Some("tx000001")),
        (format!("MSRP tx000001 SEND\r\nTo-Path msrp://b:1/s;tcp\r\n{HEAD}-------tx000001$\r\n"), BadHeaderLine, Some("tx000001")),
        (format!("MSRP tx000001 SEND\r\n{HEAD}Byte-Range: banana\r\n-------tx000001$\r\n"), BadByteRange, Some("tx000001")),
        (format!("MSRP tx000001 SEND\r\n{HEAD}X-Long: {long}\r\n"), LineTooLong { limit: 16384 }, Some("tx000001")),
        (format!("GARBAGE{long}"), LineTooLong { limit: 16384 }, None),
        (format!("MSRP tx000001 SEND\r\n{many}"), TooManyHeaders { limit: 64 }, Some("tx000001")),
        (format!("MSRP tx000001 SEND\r\n{HEAD}Content-Type: text/plain\r\n\r\nhel"), UnexpectedEof, Some("tx000001")),
        (format!("MSRP tx000001 SEND\r\n{HEAD}"), UnexpectedEof, Some("tx000001")),
        (format!("MSRP tx000001 SEND\r\n{HEAD}-------tx000002$\r\n"), BadEndLine, Some("tx000001")),
        (format!("MSRP tx000001 SEND\r\n{HEAD}Byte-Range: 1-5/5\r\nContent-Type: text/plain\r\n\r\nhello\r\n-------zzzzzzzz$\r\n{}", "y".repeat(30)),
            BodyExceedsByteRange { declared: 5 }, Some("tx000001")),
    ];
    for (input, kind, tid) in cases {
        let e = err_of(input.as_bytes());
        assert_eq!(e.kind, kind, "input {:?}", &input[..input.len().min(80)]);
        assert_eq!(
            e.transaction_id.as_deref(),
            tid,
            "input {:?}",
            &input[..input.len().min(80)]
        );
        assert!(!e.to_string().is_empty());
    }
    // Invalid UTF-8 in a header, with and without a body; the next chunk
    // still parses.
    for tail in [
        "-------tx000001$\r\n",
        "Content-Type: a/b\r\n\r\nxyz\r\n-------tx000001$\r\n",
    ] {
        let mut bad = format!("MSRP tx000001 SEND\r\n{HEAD}").into_bytes();
        bad.extend_from_slice(b"X-Bin: \xff\xfe\r\n");
        bad.extend_from_slice(tail.as_bytes());
        bad.extend_from_slice(
            format!("MSRP tx000002 SEND\r\n{HEAD}-------tx000002$\r\n").as_bytes(),
        );
        let evs = default_events(&bad, &[3]);
        assert_eq!(
            evs[0],
            Ev::Error(InvalidUtf8, Some("tx000001".into())),
            "{evs:?}"
        );
        assert!(
            matches!(&evs[1], Ev::Start(s) if s.starts_with("MSRP tx000002")),
            "{evs:?}"
        );
        assert_eq!(evs.len(), 3);
    }
    let mut bad = format!("MSRP tx000001 SEND\r\n{HEAD}").into_bytes();
    bad.extend_from_slice(b"X-Bin: \xff\xfe\r\n\r\n");
    let e = err_of(&bad);
    assert_eq!(
        (e.kind, e.transaction_id.as_deref()),
        (InvalidUtf8, Some("tx000001"))
    );
}

#[test]
fn oversized_body_is_an_error_and_the_chunk_is_skipped() {
    let config = ParserConfig {
        max_body_len: 10,
        ..ParserConfig::default()
    };
    let mut input = format!(
        "MSRP tx000001 SEND\r\n{HEAD}Content-Type: text/plain\r\n\r\n{}\r\n-------tx000001$\r\n",
        "z".repeat(50)
    )
    .into_bytes();
    input.extend_from_slice(format!("MSRP tx000002 SEND\r\n{HEAD}-------tx000002$\r\n").as_bytes());
    for sizes in [&[usize::MAX][..], &[1], &[7, 3]] {
        let evs = events(&input, sizes, &config);
        assert!(
            evs.contains(&Ev::Error(
                ParseErrorKind::BodyTooLarge { limit: 10 },
                Some("tx000001".into())
            )),
            "{evs:?}"
        );
        // The next chunk still parses, and the first never reports its end.
        assert!(matches!(evs.last(), Some(Ev::End(Flag::End))));
        assert!(
            matches!(&evs[evs.len() - 2], Ev::Start(s) if s.starts_with("MSRP tx000002")),
            "{evs:?}"
        );
        let data: usize = evs
            .iter()
            .map(|e| if let Ev::Data(d) = e { d.len() } else { 0 })
            .sum();
        assert!(data <= 10);
    }
    assert_eq!(
        parse_chunk_with(&input, &config).unwrap_err().kind,
        ParseErrorKind::BodyTooLarge { limit: 10 }
    );
}

/// After each kind of error the parser finds the next valid chunk (the
/// legacy library's failures in shared/legacy/wire/malformed_*.txt).
#[test]
fn recovers_after_errors() {
    let probe = format!("MSRP probe001 SEND\r\n{HEAD}Message-ID: probe\r\nByte-Range: 1-4/4\r\nContent-Type: text/plain\r\n\r\nping\r\n-------probe001$\r\n");
    let bad_inputs = [
        "THIS IS NOT MSRP AT ALL\r\n".to_string(),
        format!("MSRP ab SEND\r\n{HEAD}Byte-Range: 1-5/5\r\nContent-Type: text/plain\r\n\r\nhello\r\n-------ab$\r\n"),
        format!("MSRP mal00008 SEND\r\nTo-Path msrp://b:1/s;tcp\r\n{HEAD}Content-Type: text/plain\r\n\r\nhello\r\n-------mal00008$\r\n"),
        format!("MSRP mal00006 SEND\r\n{HEAD}Byte-Range: 1-5/5\r\nContent-Type: text/plain\r\n\r\nhello\r\n-------zzzzzzzz$\r\n"),
        format!("MSRP mal00009 SEND\r\n{HEAD}Byte-Range: banana\r\nContent-Type: text/plain\r\n\r\nhello\r\n-------mal00009$\r\n"),
        format!("MSRP mal00010 SEND\r\n{HEAD}X-Long: {}\r\nContent-Type: text/plain\r\n\r\nhello\r\n-------mal00010$\r\n", "x".repeat(20_000)),
        format!("MSRP mal00011 FOO1\r\n{HEAD}-------mal00011$\r\n"),
        "\u{1}\u{2}\u{3} junk without newline then\r\n".to_string(),
    ];
    for bad in bad_inputs {
        let input = format!("{bad}{probe}");
        for sizes in [&[usize::MAX][..], &[1], &[5, 11]] {
            let evs = default_events(input.as_bytes(), sizes);
            let n = evs.len();
            assert!(n >= 3, "{evs:?}");
            assert!(
                matches!(&evs[n - 3], Ev::Start(s) if s.starts_with("MSRP probe001 SEND")),
                "{bad:?} {sizes:?}: {evs:?}"
            );
            assert_eq!(evs[n - 2], Ev::Data(b"ping".to_vec()));
            assert_eq!(evs[n - 1], Ev::End(Flag::End));
            assert_eq!(
                evs.iter().filter(|e| matches!(e, Ev::Error(..))).count(),
                1,
                "{evs:?}"
            );
        }
    }
}

#[test]
fn strict_byte_range_rejects_any_overrun() {
    let input = format!("MSRP tx000001 SEND\r\n{HEAD}Byte-Range: 1-3/3\r\nContent-Type: text/plain\r\n\r\nhello\r\n-------tx000001$\r\n");
    assert!(parse_chunk(input.as_bytes()).is_ok(), "lenient by default");
    let strict = ParserConfig {
        strict_byte_range: true,
        ..ParserConfig::default()
    };
    let e = parse_chunk_with(input.as_bytes(), &strict).unwrap_err();
    assert_eq!(e.kind, ParseErrorKind::BodyExceedsByteRange { declared: 3 });
    // An interrupted chunk (shorter than announced) is fine either way.
    let short = format!("MSRP tx000001 SEND\r\n{HEAD}Byte-Range: 1-10/10\r\nContent-Type: text/plain\r\n\r\nabcd\r\n-------tx000001+\r\n");
    assert_eq!(
        parse_chunk_with(short.as_bytes(), &strict).unwrap().size(),
        4
    );
}

#[test]
fn parse_chunk_needs_exactly_one_chunk() {
    let one = format!("MSRP tx000001 SEND\r\n{HEAD}-------tx000001$\r\n");
    assert!(parse_chunk(format!("{one}\r\n").as_bytes()).is_ok());
    let two = format!("{one}{one}");
    assert_eq!(
        parse_chunk(two.as_bytes()).unwrap_err().kind,
        ParseErrorKind::BadStartLine
    );
    assert_eq!(
        parse_chunk(b"").unwrap_err().kind,
        ParseErrorKind::UnexpectedEof
    );
}

/// A 1 GiB body streams through in constant memory: every data slice is
/// borrowed from the input (or is a held-back partial end-line).
#[test]
fn huge_body_streams_without_buffering() {
    let config = ParserConfig {
        max_body_len: u64::MAX,
        ..ParserConfig::default()
    };
    let mut parser = Parser::with_config(config);
    let head = format!("MSRP bigbig01 SEND\r\n{HEAD}Byte-Range: 1-*/*\r\nContent-Type: application/octet-stream\r\n\r\n");
    let mut block = vec![b'a'; 1 << 20];
    // Decoys at the block edges: a partial end-line cut by every block end.
    let n = block.len();
    block[n - 12..].copy_from_slice(b"\r\n-------big");
    block[..3].copy_from_slice(b"bi\r");
    let blocks = 1024; // 1 GiB
    let mut total = 0u64;
    let feed = |parser: &mut Parser, input: &[u8], total: &mut u64| {
        let range = input.as_ptr_range();
        let mut rest = input;
        loop {
            let (used, r) = parser.parse(rest);
            rest = &rest[used..];
            match r.unwrap() {
                Some(Event::Data(d)) => {
                    let inside = range.contains(&d.as_ptr());
                    assert!(inside || d.len() <= 64, "copied {} bytes", d.len());
                    *total += d.len() as u64;
                }
                Some(Event::Start(_)) => {}
                Some(Event::End(f)) => assert_eq!(f, Flag::End),
                None => break,
            }
        }
    };
    feed(&mut parser, head.as_bytes(), &mut total);
    for _ in 0..blocks {
        feed(&mut parser, &block, &mut total);
    }
    feed(&mut parser, b"\r\n-------bigbig01$\r\n", &mut total);
    assert_eq!(total, (blocks * block.len()) as u64);
    assert!(parser.is_idle());
}

#[test]
fn parser_alignment_fits_foreign_allocations() {
    // Python objects and C allocations guarantee 16 bytes, not 32.
    assert!(std::mem::align_of::<Parser>() <= 16);
}

#[test]
fn events_expose_head_fields() {
    let input = b"MSRP tid12345 403 Forbidden here\r\nTo-Path: msrp://a:1/t;tcp\r\nFrom-Path: msrp://b:1/s;tcp\r\n-------tid12345$\r\n";
    let mut parser = Parser::new();
    let (used, r) = parser.parse(input);
    let Ok(Some(Event::Start(head))) = r else {
        panic!()
    };
    assert_eq!(head.transaction_id(), "tid12345");
    assert_eq!(head.code(), Some(403));
    assert_eq!(head.comment(), Some("Forbidden here"));
    assert_eq!(head.method(), None);
    assert_eq!(head.header("to-path"), Some("msrp://a:1/t;tcp"));
    assert_eq!(head.headers().count(), 2);
    assert!(!head.has_body());
    let chunk = head.to_chunk();
    assert_eq!(chunk.comment(), Some("Forbidden here"));
    let (used2, r) = parser.parse(&input[used..]);
    assert_eq!(r.unwrap(), Some(Event::End(Flag::End)));
    assert_eq!(used + used2, input.len());
}

/// Bytes up to a body limit are reported, then the error, however the input
/// is sliced (found by fuzzing: the error used to come earlier for one big
/// slice than for small ones).
#[test]
fn limit_errors_do_not_depend_on_slicing() {
    let probe = format!("MSRP probe001 SEND\r\n{HEAD}-------probe001$\r\n");
    let range = format!(
        "MSRP mal00006 SEND\r\n{HEAD}Byte-Range: 1-4/4\r\nContent-Type: text/plain\r\n\r\nabcd\r\n-------d\u{da}\u{da}\u{da}\r\n\u{da}x\r\n{probe}"
    );
    let big = format!("MSRP big00001 SEND\r\n{HEAD}Content-Type: text/plain\r\n\r\n0123456789abcdef\r\n-------big00001$\r\n{probe}");
    let small = ParserConfig {
        max_body_len: 10,
        ..ParserConfig::default()
    };
    for (input, config) in [
        (range.as_bytes(), ParserConfig::default()),
        (big.as_bytes(), small),
    ] {
        let whole = events(input, &[usize::MAX], &config);
        for sizes in [&[1usize][..], &[2], &[3, 5], &[7], &[13, 1]] {
            assert_eq!(events(input, sizes, &config), whole, "sizes {sizes:?}");
        }
        assert!(
            whole.iter().any(|e| matches!(e, Ev::Error(..))),
            "{whole:?}"
        );
        assert!(
            matches!(whole.last(), Some(Ev::End(Flag::End))),
            "{whole:?}"
        );
    }
}
