//! Integration tests of the STS/1.0 wire layer: byte-exact encodings,
//! header name forms, malformed input classes, limits, slicing invariance
//! and round trips.

use bytes::Bytes;
use msgwire::sts::error::{ErrorBodyError, ErrorReply};
use msgwire::sts::header::{Headers, NameStyle};
use msgwire::sts::message::{EncodeOptions, Message, StartLine};
use msgwire::sts::parser::{parse_message, ParseError, ParseErrorKind, Parser, ParserConfig};
use proptest::prelude::*;

fn enc(m: &Message) -> Vec<u8> {
    m.encode(&EncodeOptions::default()).unwrap().to_vec()
}

fn no_lf() -> EncodeOptions {
    EncodeOptions {
        names: NameStyle::Compact,
        xml_trailing_lf: false,
        ..EncodeOptions::default()
    }
}

// ---------------------------------------------------------------- encoding

#[test]
fn byte_exact_encodings() {
    let error_body = ErrorReply::new(7, "denied").to_xml();
    let cases: Vec<(&str, Message, EncodeOptions, &[u8])> = vec![
        (
            "ping",
            Message::request("Sts", "Ping"),
            EncodeOptions::default(),
            b"P /Sts/Ping STS/1.0\r\nl: 1\r\n\r\n\n",
        ),
        (
            "request",
            Message::request("Chat", "Send")
                .with_header("s", "1")
                .with_body("<Msg>hi</Msg>"),
            EncodeOptions::default(),
            b"P /Chat/Send STS/1.0\r\ns: 1\r\nl: 14\r\n\r\n<Msg>hi</Msg>\n",
        ),
        (
            "partial reply",
            Message::status(200, "OK")
                .with_header("s", "1r1")
                .with_body("<Item id=\"1\"/>"),
            EncodeOptions::default(),
            b"STS/1.0 200 OK\r\ns: 1r1\r\nl: 15\r\n\r\n<Item id=\"1\"/>\n",
        ),
        (
            "final reply",
            Message::status(200, "OK")
                .with_header("Subject", "1R2")
                .with_body("<Item id=\"2\"/>"),
            EncodeOptions::default(),
            b"STS/1.0 200 OK\r\ns: 1R2\r\nl: 15\r\n\r\n<Item id=\"2\"/>\n",
        ),
        (
            "error reply",
            Message::status(400, "Error")
                .with_header("s", "2R")
                .with_body(error_body),
            EncodeOptions::default(),
            b"STS/1.0 400 Error\r\ns: 2R\r\nl: 63\r\n\r\n\
              <Error code=\"7\" server=\"0\" module=\"0\" line=\"0\" text=\"denied\"/>\n",
        ),
        (
            // python-sts' fragment example carries no trailing LF.
            "fragment",
            Message::status(200, "OK")
                .with_header("s", "3r1")
                .with_header("Content-Range", "bytes 0-2/6")
                .with_body("abc"),
            no_lf(),
            b"STS/1.0 200 OK\r\ns: 3r1\r\nn: bytes 0-2/6\r\nl: 3\r\n\r\nabc",
        ),
        (
            "full names",
            Message::status(200, "OK")
                .with_header("s", "1R")
                .with_header("i", "t1"),
            EncodeOptions {
                names: NameStyle::Full,
                xml_trailing_lf: true,
                ..EncodeOptions::default()
            },
            b"STS/1.0 200 OK\r\nSubject: 1R\r\nX-Trace-ID: t1\r\nContent-Length: 1\r\n\r\n\n",
        ),
        (
            "as given",
            Message::request("A", "B").with_header("SUBJECT", "5"),
            EncodeOptions {
                names: NameStyle::AsGiven,
                xml_trailing_lf: true,
                ..EncodeOptions::default()
            },
            b"P /A/B STS/1.0\r\nSUBJECT: 5\r\nl: 1\r\n\r\n\n",
        ),
        (
            "reason with spaces",
            Message::status(404, "Not Found"),
            EncodeOptions::default(),
            b"STS/1.0 404 Not Found\r\nl: 1\r\n\r\n\n",
        ),
        (
            "non-xml empty body",
            Message::request("A", "B").with_header("c", "text/plain"),
            EncodeOptions::default(),
            b"P /A/B STS/1.0\r\nc: text/plain\r\nl: 0\r\n\r\n",
        ),
        (
            "xml with parameters",
            Message::request("A", "B")
                .with_header("Content-Type", "APPLICATION/XML; charset=utf-8")
                .with_body("<a/>"),
            EncodeOptions::default(),
            b"P /A/B STS/1.0\r\nc: APPLICATION/XML; charset=utf-8\r\nl: 5\r\n\r\n<a/>\n",
        ),
    ];
    for (name, msg, opts, want) in cases {
        let got = msg.encode(&opts).unwrap();
        assert_eq!(
            &got[..],
            want,
            "{name}: {:?}",
            String::from_utf8_lossy(&got)
        );
        // And every one parses back.
        let back = parse_message(&got).unwrap();
        assert_eq!(back.start, msg.start, "{name}");
    }
}

#[test]
fn python_sts_error_reply_parses() {
    let wire = b"STS/1.0 400 Error\r\ns: 2R\r\nl: 64\r\n\r\n\
        <Error code=\"7\" server=\"0\" module=\"0\" line=\"0\" text=\"denied\" />\n";
    let m = parse_message(wire).unwrap();
    assert!(m.is_error_reply());
    assert_eq!(m.headers.subject(), Some("2R"));
    assert_eq!(ErrorReply::parse(&m.body), Ok(ErrorReply::new(7, "denied")));
}

// ----------------------------------------------------------------- headers

#[test]
fn compact_and_full_names_parse_equal() {
    let compact = parse_message(
        b"STS/1.0 200 OK\r\ns: 1R\r\nn: bytes 0-2/6\r\nq: 9\r\nc: text/plain\r\nl: 3\r\n\r\nabc",
    )
    .unwrap();
    let full = parse_message(
        b"STS/1.0 200 OK\r\nSubject: 1R\r\ncontent-range: bytes 0-2/6\r\nX-SEQUENCE: 9\r\n\
          Content-Type: text/plain\r\nContent-Length: 3\r\n\r\nabc",
    )
    .unwrap();
    assert_eq!(compact, full);
    assert_eq!(full.headers.subject(), Some("1R"));
    assert_eq!(full.headers.sequence(), Some("9"));
    assert_eq!(full.headers.content_range_raw(), Some("bytes 0-2/6"));
    assert_eq!(full.headers.content_type(), "text/plain");
    assert_eq!(full.headers.content_length(), Ok(Some(3)));
}

#[test]
fn multi_headers_across_lines() {
    let m = parse_message(
        b"P /a/b STS/1.0\r\na: text/xml, text/plain\r\nVia: x\r\nAccept: image/png\r\nv: y, z\r\n\r\n",
    )
    .unwrap();
    assert_eq!(
        m.headers.get_all("accept"),
        vec!["text/xml", "text/plain", "image/png"]
    );
    assert_eq!(m.headers.get_all("V"), vec!["x", "y", "z"]);
    assert_eq!(m.headers.get("a"), Some("image/png"));
}

#[test]
fn single_header_last_wins() {
    let m = parse_message(b"P /a/b STS/1.0\r\ns: 1\r\nSubject: 2\r\n\r\n").unwrap();
    assert_eq!(m.headers.subject(), Some("2"));
}

#[test]
fn start_lines() {
    let cases: &[(&str, &[u8], StartLine)] = &[
        (
            "request",
            b"P /Sts/Ping STS/1.0\r\n\r\n",
            StartLine::Request {
                method: "P".into(),
                uri: "/Sts/Ping".into(),
            },
        ),
        (
            "other method",
            b"GET /x STS/1.0\r\n\r\n",
            StartLine::Request {
                method: "GET".into(),
                uri: "/x".into(),
            },
        ),
        (
            "reason with spaces",
            b"STS/1.0 404 Not Found\r\n\r\n",
            StartLine::Status {
                code: 404,
                reason: "Not Found".into(),
            },
        ),
        (
            "empty reason",
            b"STS/1.0 200\r\n\r\n",
            StartLine::Status {
                code: 200,
                reason: String::new(),
            },
        ),
        (
            "empty reason after space",
            b"STS/1.0 200 \r\n\r\n",
            StartLine::Status {
                code: 200,
                reason: String::new(),
            },
        ),
        (
            "bare lf everywhere",
            b"STS/1.0 500 Internal Server Error\ns: 1R\n\n",
            StartLine::Status {
                code: 500,
                reason: "Internal Server Error".into(),
            },
        ),
    ];
    for (name, input, want) in cases {
        let m = parse_message(input).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(&m.start, want, "{name}");
    }
}

// --------------------------------------------------------------- malformed

#[test]
fn malformed_classes() {
    use ParseErrorKind::*;
    let cases: &[(&str, &[u8], ParseErrorKind)] = &[
        ("http status", b"HTTP/1.1 200 OK\r\n\r\n", BadVersion),
        ("sts 2 status", b"STS/2.0 200 OK\r\n\r\n", BadVersion),
        ("sts 2 request", b"P /a/b STS/2.0\r\n\r\n", BadVersion),
        ("http request", b"GET / HTTP/1.1\r\n\r\n", BadVersion),
        ("two tokens", b"P /a/b\r\n\r\n", BadStartLine),
        ("four tokens", b"P /a b STS/1.0\r\n\r\n", BadStartLine),
        ("no version", b"P /a/b XYZ\r\n\r\n", BadStartLine),
        ("empty method", b" /a/b STS/1.0\r\n\r\n", BadStartLine),
        ("two-digit code", b"STS/1.0 20 OK\r\n\r\n", BadStartLine),
        ("four-digit code", b"STS/1.0 2000 OK\r\n\r\n", BadStartLine),
        ("code below 100", b"STS/1.0 099 OK\r\n\r\n", BadStartLine),
        ("letters code", b"STS/1.0 2x0 OK\r\n\r\n", BadStartLine),
        ("version only", b"STS/1.0\r\n\r\n", BadStartLine),
        ("nul in start", b"P /a\0 STS/1.0\r\n\r\n", BadStartLine),
        ("non utf8 start", b"P /\xff STS/1.0\r\n\r\n", BadStartLine),
        (
            "no colon",
            b"P /a/b STS/1.0\r\nSubject 1\r\n\r\n",
            BadHeaderLine,
        ),
        (
            "folded",
            b"P /a/b STS/1.0\r\ns: 1\r\n\tmore\r\n\r\n",
            BadHeaderLine,
        ),
        (
            "space in name",
            b"P /a/b STS/1.0\r\nSub ject: 1\r\n\r\n",
            BadHeaderLine,
        ),
        (
            "space before colon",
            b"P /a/b STS/1.0\r\ns : 1\r\n\r\n",
            BadHeaderLine,
        ),
        (
            "empty name",
            b"P /a/b STS/1.0\r\n: 1\r\n\r\n",
            BadHeaderLine,
        ),
        (
            "cr in value",
            b"P /a/b STS/1.0\r\ns: 1\r2\r\n\r\n",
            BadHeaderLine,
        ),
        (
            "non utf8 header",
            b"P /a/b STS/1.0\r\ns: \xfe\r\n\r\n",
            BadHeaderLine,
        ),
        (
            "letters length",
            b"P /a/b STS/1.0\r\nl: abc\r\n\r\n",
            BadContentLength,
        ),
        (
            "negative length",
            b"P /a/b STS/1.0\r\nl: -1\r\n\r\n",
            BadContentLength,
        ),
        (
            "plus length",
            b"P /a/b STS/1.0\r\nl: +1\r\n\r\n",
            BadContentLength,
        ),
        (
            "empty length",
            b"P /a/b STS/1.0\r\nl:\r\n\r\n",
            BadContentLength,
        ),
        (
            "overflow length",
            b"P /a/b STS/1.0\r\nl: 184467440737095516160\r\n\r\n",
            BadContentLength,
        ),
        (
            "two lengths",
            b"P /a/b STS/1.0\r\nl: 1\r\nContent-Length: 2\r\n\r\nab",
            BadContentLength,
        ),
        ("incomplete head", b"P /a/b STS/1.0\r\ns: 1\r\n", Incomplete),
        (
            "incomplete body",
            b"P /a/b STS/1.0\r\nl: 5\r\n\r\nab",
            Incomplete,
        ),
        ("empty input", b"", Incomplete),
        ("trailing", b"P /a/b STS/1.0\r\n\r\nX", TrailingData),
    ];
    for (name, input, kind) in cases {
        let err = parse_message(input).expect_err(name);
        assert_eq!(err.kind(), *kind, "{name}: {err}");
        assert_eq!(err.is_fatal(), *kind != BodyTooLarge, "{name}");
    }
}

#[test]
fn same_length_twice_is_fine() {
    let m = parse_message(b"P /a/b STS/1.0\r\nl: 2\r\nContent-Length: 2\r\n\r\nab").unwrap();
    assert_eq!(&m.body[..], b"ab");
}

#[test]
fn error_text_is_truncated() {
    let mut input = b"P /".to_vec();
    input.extend(std::iter::repeat_n(b'a', 1000));
    input.extend_from_slice(b" HTTP/1.1\r\n\r\n");
    let e = parse_message(&input).unwrap_err();
    assert_eq!(e.kind(), ParseErrorKind::BadVersion);
    assert!(e.to_string().len() < 150, "{e}");
}

#[test]
fn fatal_error_repeats() {
    let mut p = Parser::new();
    p.push(b"P /a/b STS/1.0\r\nbroken\r\n\r\n");
    let first = p.next_message().unwrap_err();
    assert_eq!(first.kind(), ParseErrorKind::BadHeaderLine);
    for _ in 0..3 {
        p.push(b"P /a/b STS/1.0\r\n\r\n");
        assert_eq!(p.next_message().unwrap_err(), first);
    }
}

// ------------------------------------------------------------------ limits

fn head_of_size(total: usize) -> Vec<u8> {
    // "P /a/b STS/1.0\r\n" (16) + "x: " (3) + filler + "\r\n" (2) + "\r\n" (2)
    let filler = total - 23;
    let mut v = b"P /a/b STS/1.0\r\nx: ".to_vec();
    v.extend(std::iter::repeat_n(b'v', filler));
    v.extend_from_slice(b"\r\n\r\n");
    assert_eq!(v.len(), total);
    v
}

#[test]
fn header_exactly_at_limit_accepted() {
    let input = head_of_size(32 * 1024);
    let m = parse_message(&input).unwrap();
    assert_eq!(m.headers.get("x").map(str::len), Some(32 * 1024 - 23));
}

#[test]
fn header_over_limit_rejected() {
    let input = head_of_size(32 * 1024 + 1);
    let err = parse_message(&input).unwrap_err();
    assert_eq!(err.kind(), ParseErrorKind::HeaderTooLarge);
    assert!(err.is_fatal());
}

#[test]
fn header_too_large_detected_before_terminator() {
    let mut p = Parser::new();
    let mut input = b"P /a/b STS/1.0\r\nx: ".to_vec();
    input.extend(std::iter::repeat_n(b'v', 40 * 1024));
    for chunk in input.chunks(1000) {
        p.push(chunk);
        match p.next_message() {
            Ok(None) => {}
            Err(e) => {
                assert_eq!(e.kind(), ParseErrorKind::HeaderTooLarge);
                assert!(p.buffered() <= 33 * 1024);
                return;
            }
            Ok(Some(m)) => panic!("unexpected {m:?}"),
        }
    }
    panic!("no error");
}

#[test]
fn body_over_limit_skipped_then_next_parses() {
    let big = 64 * 1024 + 1;
    let mut input = format!("P /a/b STS/1.0\r\nl: {big}\r\n\r\n").into_bytes();
    input.extend(std::iter::repeat_n(b'z', big));
    input.extend_from_slice(b"P /Next/One STS/1.0\r\nl: 2\r\n\r\nok");
    for chunk_size in [1usize, 7, 4096, input.len()] {
        let mut p = Parser::new();
        let mut out = Vec::new();
        let mut max_buffered = 0;
        for chunk in input.chunks(chunk_size) {
            p.push(chunk);
            max_buffered = max_buffered.max(p.buffered());
            drain(&mut p, &mut out);
        }
        assert_eq!(out.len(), 2, "chunk {chunk_size}");
        assert_eq!(
            out[0],
            Err(ParseError::BodyTooLarge {
                declared: big as u64,
                limit: 64 * 1024
            })
        );
        let m = out[1].as_ref().unwrap();
        assert_eq!(m.start.protocol_command(), Some(("Next", "One")));
        assert_eq!(&m.body[..], b"ok");
        if chunk_size < 4096 {
            assert!(max_buffered < 8192, "buffered {max_buffered}");
        }
    }
}

#[test]
fn body_exactly_at_limit_accepted() {
    let n = 64 * 1024;
    let mut input = format!("P /a/b STS/1.0\r\nl: {n}\r\n\r\n").into_bytes();
    input.extend(std::iter::repeat_n(b'z', n));
    assert_eq!(parse_message(&input).unwrap().body.len(), n);
}

#[test]
fn custom_limits() {
    let mut p = Parser::with_config(ParserConfig {
        max_header_bytes: 100,
        max_body_bytes: 2,
    });
    p.push(b"P /a/b STS/1.0\r\nl: 3\r\n\r\nabcP /a/b STS/1.0\r\nl: 2\r\n\r\nab");
    assert_eq!(
        p.next_message().unwrap_err().kind(),
        ParseErrorKind::BodyTooLarge
    );
    assert_eq!(&p.next_message().unwrap().unwrap().body[..], b"ab");
    assert_eq!(p.next_message(), Ok(None));
}

// -------------------------------------------------------------- streaming

/// Collects everything the parser has ready; stops after a fatal error.
fn drain(p: &mut Parser, out: &mut Vec<Result<Message, ParseError>>) -> bool {
    loop {
        match p.next_message() {
            Ok(None) => return false,
            Ok(Some(m)) => out.push(Ok(m)),
            Err(e) => {
                let fatal = e.is_fatal();
                out.push(Err(e));
                if fatal {
                    return true;
                }
            }
        }
    }
}

fn feed(input: &[u8], cuts: &[usize], config: &ParserConfig) -> Vec<Result<Message, ParseError>> {
    let mut p = Parser::with_config(config.clone());
    let mut out = Vec::new();
    let mut points: Vec<usize> = cuts.iter().map(|c| c % (input.len() + 1)).collect();
    points.push(input.len());
    points.sort_unstable();
    let mut at = 0;
    for point in points {
        p.push(&input[at..point]);
        at = point;
        if drain(&mut p, &mut out) {
            break;
        }
    }
    out
}

#[test]
fn several_messages_in_one_push() {
    let mut input = Vec::new();
    for i in 0..5 {
        input.extend(enc(
            &Message::request("A", "B").with_header("s", i.to_string())
        ));
    }
    let out = feed(&input, &[], &ParserConfig::default());
    assert_eq!(out.len(), 5);
    for (i, m) in out.iter().enumerate() {
        assert_eq!(m.as_ref().unwrap().headers.subject(), Some(&*i.to_string()));
    }
}

#[test]
fn bodies_share_the_input_buffer() {
    let mut p = Parser::new();
    p.push(b"P /a/b STS/1.0\r\nl: 3\r\n\r\nabc");
    let m = p.next_message().unwrap().unwrap();
    assert_eq!(m.body, Bytes::from_static(b"abc"));
}

// -------------------------------------------------------------- proptests

fn header_name() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "s",
            "Subject",
            "q",
            "X-Sequence",
            "n",
            "i",
            "X-Trace-ID",
            "a",
            "Accept",
            "v",
            "t",
            "From",
            "z",
        ])
        .prop_map(str::to_string),
        "X-[A-Za-z0-9-]{1,8}",
    ]
}

fn header_value() -> impl Strategy<Value = String> {
    prop_oneof![Just(String::new()), "[!-~]([ -~]{0,12}[!-~])?", "[!-~]ü€"]
}

fn content_type() -> impl Strategy<Value = Option<String>> {
    prop::option::of(prop::sample::select(vec![
        "application/xml",
        "text/plain",
        "Application/XML; charset=utf-8",
        "application/octet-stream",
    ]))
    .prop_map(|c| c.map(str::to_string))
}

fn valid_message() -> impl Strategy<Value = Message> {
    let start = prop_oneof![
        ("[A-Z]{1,4}", "/[A-Za-z]{1,6}/[A-Za-z]{1,6}")
            .prop_map(|(m, u)| Message::request_with_method(m, u)),
        (100u16..=999, "[ -~]{0,20}").prop_map(|(c, r)| Message::status(c, r)),
    ];
    (
        start,
        prop::collection::vec((header_name(), header_value()), 0..6),
        content_type(),
        prop::collection::vec(any::<u8>(), 0..64),
    )
        .prop_map(|(mut m, headers, ct, body)| {
            for (n, v) in headers {
                m.headers.append(n, v);
            }
            if let Some(ct) = ct {
                m.headers.append("Content-Type", ct);
            }
            m.with_body(body)
        })
}

/// What `m` reads back as after encoding with `opts`.
fn expected_after_encoding(m: &Message, opts: &EncodeOptions) -> Message {
    let mut want = m.clone();
    let mut body = m.body.to_vec();
    if opts.xml_trailing_lf && m.headers.is_xml() && !body.ends_with(b"\n") {
        body.push(b'\n');
    }
    want.headers.set("l", body.len().to_string());
    want.body = body.into();
    want
}

fn name_style() -> impl Strategy<Value = NameStyle> {
    prop::sample::select(vec![
        NameStyle::Compact,
        NameStyle::Full,
        NameStyle::AsGiven,
    ])
}

proptest! {
    #[test]
    fn encode_parse_round_trip(m in valid_message(), names in name_style(), lf in any::<bool>()) {
        let opts = EncodeOptions { names, xml_trailing_lf: lf, ..EncodeOptions::default() };
        let wire = m.encode(&opts).unwrap();
        let back = parse_message(&wire).unwrap();
        prop_assert_eq!(back, expected_after_encoding(&m, &opts));
    }

    #[test]
    fn slicing_invariance(
        msgs in prop::collection::vec(valid_message(), 1..5),
        garbage in prop::option::of(prop::collection::vec(any::<u8>(), 0..40)),
        oversized in prop::option::of(0usize..4),
        cuts in prop::collection::vec(any::<usize>(), 0..12),
        bare_lf in any::<bool>(),
    ) {
        let config = ParserConfig { max_header_bytes: 256, max_body_bytes: 48 };
        let mut input = Vec::new();
        for (i, m) in msgs.iter().enumerate() {
            if oversized == Some(i) {
                input.extend_from_slice(b"P /Big/One STS/1.0\r\nl: 60\r\n\r\n");
                input.extend(std::iter::repeat_n(b'#', 60));
            }
            let mut wire = m.encode(&EncodeOptions::default()).unwrap().to_vec();
            if bare_lf {
                // Only the head: the body may contain CRLF of its own.
                let head_end = wire.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
                let head: Vec<u8> = wire[..head_end].iter().copied().filter(|&b| b != b'\r').collect();
                wire = [head, wire[head_end..].to_vec()].concat();
            }
            input.extend(wire);
        }
        if let Some(g) = garbage {
            input.extend(g);
        }
        let whole = feed(&input, &[], &config);
        let sliced = feed(&input, &cuts, &config);
        prop_assert_eq!(&whole, &sliced);
        let bytewise = feed(&input, &(0..input.len()).collect::<Vec<_>>(), &config);
        prop_assert_eq!(&whole, &bytewise);
    }

    #[test]
    fn garbage_never_panics(
        input in prop::collection::vec(any::<u8>(), 0..300),
        cuts in prop::collection::vec(any::<usize>(), 0..8),
    ) {
        let config = ParserConfig { max_header_bytes: 64, max_body_bytes: 16 };
        let _ = feed(&input, &cuts, &config);
        let _ = parse_message(&input);
        let _ = ErrorReply::parse(&input);
    }

    #[test]
    fn sts_like_garbage_never_panics(
        parts in prop::collection::vec(prop::sample::select(vec![
            "STS/1.0 ", "P ", "/a/b ", "STS/1.0", "\r\n", "\n", "\r", "l: ", "9", "0",
            "s: ", "1R", ":", " ", "HTTP/1.1", "x", "\0", "Content-Length:",
        ]), 0..40),
        cuts in prop::collection::vec(any::<usize>(), 0..8),
    ) {
        let input: Vec<u8> = parts.concat().into_bytes();
        let config = ParserConfig { max_header_bytes: 64, max_body_bytes: 16 };
        let whole = feed(&input, &[], &config);
        let sliced = feed(&input, &cuts, &config);
        prop_assert_eq!(whole, sliced);
        let _ = parse_message(&input);
    }

    #[test]
    fn error_reply_round_trip(
        code in any::<i64>(), server in any::<i64>(), module in any::<i64>(), line in any::<i64>(),
        text in prop_oneof![
            any::<String>(),
            "[&<>\"' \t\r\n;#a-z0-9]{0,30}",
            Just("&amp; &#10; \r\n \n\r".to_string()),
        ],
    ) {
        // Characters XML cannot carry are replaced by U+FFFD (documented).
        let text: String = text
            .chars()
            .map(|c| match c {
                '\t' | '\n' | '\r' => c,
                c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => '\u{FFFD}',
                c => c,
            })
            .collect();
        let e = ErrorReply { code, server, module, line, text };
        prop_assert_eq!(ErrorReply::parse(e.to_xml().as_bytes()), Ok(e));
    }
}

// ------------------------------------------------------------ error reply

#[test]
fn error_reply_through_a_message() {
    let reply = ErrorReply {
        code: 42,
        server: 1,
        module: 2,
        line: 189,
        text: "timed \"out\" & <gone>\n".into(),
    };
    let m = Message::status(400, "Error")
        .with_header("s", "9R")
        .with_body(reply.to_xml());
    let back = parse_message(&enc(&m)).unwrap();
    assert!(back.is_error_reply());
    assert_eq!(ErrorReply::parse(&back.body), Ok(reply));
}

#[test]
fn error_reply_parse_table() {
    let ok: &[(&str, &str, ErrorReply)] = &[
        ("any root name", "<Foo/>", ErrorReply::default()),
        (
            "missing attrs",
            "<Error text=\"x\"/>\n",
            ErrorReply::new(0, "x"),
        ),
        (
            "signs and spaces",
            "<Error code=\" -3 \" server=\"+7\"/>",
            ErrorReply {
                code: -3,
                server: 7,
                ..ErrorReply::default()
            },
        ),
        ("pending", "<Error code=\"-1\"/>", ErrorReply::new(-1, "")),
        (
            "declaration and children",
            "<?xml version=\"1.0\" encoding=\"utf-8\"?>\r\n<Error code=\"5\"><X/>hi</Error>\r\n",
            ErrorReply::new(5, ""),
        ),
        (
            "entities",
            "<E text=\"a&amp;b&#x41;&lt;\"/>",
            ErrorReply::new(0, "a&bA<"),
        ),
        (
            "unknown attrs",
            "<E foo=\"bar\" code=\"1\"/>",
            ErrorReply::new(1, ""),
        ),
    ];
    for (name, xml, want) in ok {
        assert_eq!(
            ErrorReply::parse(xml.as_bytes()).as_ref(),
            Ok(want),
            "{name}"
        );
    }
    let bad: &[(&str, &[u8], bool)] = &[
        ("empty", b"", true),
        ("whitespace", b" \n", true),
        ("two roots", b"<a/><b/>", true),
        ("unclosed", b"<a>", true),
        ("mismatched", b"<a></b>", true),
        ("not utf8", b"<a t=\"\xff\"/>", true),
        ("text only", b"hello", true),
        ("hex code", b"<a code=\"0x10\"/>", false),
        ("float code", b"<a line=\"1.5\"/>", false),
        ("overflow", b"<a module=\"99999999999999999999\"/>", false),
    ];
    for (name, body, xml) in bad {
        let err = ErrorReply::parse(body).expect_err(name);
        match err {
            ErrorBodyError::InvalidXml(_) => assert!(*xml, "{name}: {err}"),
            ErrorBodyError::InvalidAttribute { .. } => assert!(!*xml, "{name}: {err}"),
            _ => panic!("{name}: {err}"),
        }
    }
}

#[test]
fn round_trip_of_default_options_keeps_headers() {
    let m = Message::request("A", "B")
        .with_header("Subject", "7")
        .with_header("X-Custom", "v");
    let back = parse_message(&enc(&m)).unwrap();
    let h: Headers = [("s", "7"), ("X-Custom", "v"), ("l", "1")]
        .into_iter()
        .collect();
    assert_eq!(back.headers, h);
    let names: Vec<_> = back.headers.iter().map(|(n, _)| n).collect();
    assert_eq!(names, vec!["s", "X-Custom", "l"]);
}
