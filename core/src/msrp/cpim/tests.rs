use super::*;
use proptest::prelude::*;

/// RFC 3862 §5.1, as MSRP carries it (from the first message header on).
const RFC_EXAMPLE: &[u8] = b"From: MR SANDERS <im:piglet@100akerwood.com>\r\n\
To: Depressed Donkey <im:eeyore@100akerwood.com>\r\n\
DateTime: 2000-12-13T13:40:00-08:00\r\n\
Subject: the weather will be fine today\r\n\
Subject:;lang=fr beau temps prevu pour aujourd'hui\r\n\
NS: MyFeatures <mid:MessageFeatures@id.foo.com>\r\n\
Require: MyFeatures.VitalMessageOption\r\n\
MyFeatures.VitalMessageOption: Confirmation-requested\r\n\
MyFeatures.WackyMessageOption: Use-silly-font\r\n\
\r\n\
Content-type: text/xml; charset=utf-8\r\n\
Content-ID: <1234567890@foo.com>\r\n\
\r\n\
<body>\r\n\
Here is the text of my message.\r\n\
</body>";

fn parse(b: &[u8]) -> Result<CpimMessage, CpimError> {
    CpimMessage::parse_slice(b)
}

fn err(b: &[u8]) -> CpimError {
    parse(b).unwrap_err()
}

#[test]
fn rfc3862_example_parses() {
    let m = parse(RFC_EXAMPLE).unwrap();
    assert_eq!(
        m.sender(),
        Some(Identity::new("im:piglet@100akerwood.com").with_display_name("MR SANDERS"))
    );
    assert_eq!(
        m.recipients(),
        vec![Identity::new("im:eeyore@100akerwood.com").with_display_name("Depressed Donkey")]
    );
    assert!(m.courtesy_recipients().is_empty());
    let dt = m.timestamp().unwrap();
    assert_eq!(
        (dt.year, dt.month, dt.day, dt.hour, dt.minute, dt.second),
        (2000, 12, 13, 13, 40, 0)
    );
    assert_eq!(dt.offset_minutes, -480);
    assert_eq!(
        m.subjects(),
        vec![
            Subject {
                lang: None,
                text: "the weather will be fine today".into()
            },
            Subject {
                lang: Some("fr".into()),
                text: "beau temps prevu pour aujourd'hui".into()
            },
        ]
    );
    assert_eq!(
        m.namespaces(),
        vec![(
            Some("MyFeatures".to_string()),
            "mid:MessageFeatures@id.foo.com".to_string()
        )]
    );
    assert_eq!(m.required(), vec!["MyFeatures.VitalMessageOption"]);
    let extra: Vec<_> = m.additional_headers().collect();
    assert_eq!(extra.len(), 2);
    assert_eq!(extra[0].prefix.as_deref(), Some("MyFeatures"));
    assert_eq!(extra[0].name, "VitalMessageOption");
    assert_eq!(extra[0].namespace, "mid:MessageFeatures@id.foo.com");
    assert_eq!(extra[0].value, "Confirmation-requested");
    assert_eq!(extra[1].full_name(), "MyFeatures.WackyMessageOption");
    assert_eq!(extra[1].value, "Use-silly-font");
    assert_eq!(m.content_type(), Some("text/xml; charset=utf-8"));
    assert_eq!(m.content_header("content-id"), Some("<1234567890@foo.com>"));
    assert_eq!(m.content_headers()[0].name, "Content-type");
    assert_eq!(
        &m.content()[..],
        b"<body>\r\nHere is the text of my message.\r\n</body>"
    );
    assert_eq!(m.headers().len(), 9);
}

#[test]
fn rfc3862_example_round_trips_byte_for_byte() {
    let m = parse(RFC_EXAMPLE).unwrap();
    assert_eq!(&m.encode()[..], RFC_EXAMPLE);
    assert_eq!(m.encoded_len(), RFC_EXAMPLE.len());
    // ... and with a final CRLF on the payload.
    let mut with_crlf = RFC_EXAMPLE.to_vec();
    with_crlf.extend_from_slice(b"\r\n");
    let m = parse(&with_crlf).unwrap();
    assert!(m.content().ends_with(b"</body>\r\n"));
    assert_eq!(&m.encode()[..], &with_crlf[..]);
}

#[test]
fn payload_is_a_slice_of_the_input() {
    let body = Bytes::copy_from_slice(RFC_EXAMPLE);
    let m = CpimMessage::parse(body.clone()).unwrap();
    let start = body.len() - m.content().len();
    assert_eq!(m.content().as_ptr(), body[start..].as_ptr());
}

#[test]
fn empty_sections_are_allowed() {
    // No message headers, no content headers: just the two empty lines.
    let m = parse(b"\r\n\r\nraw").unwrap();
    assert!(m.headers().is_empty());
    assert!(m.content_headers().is_empty());
    assert_eq!(m.content_type(), None);
    assert_eq!(&m.content()[..], b"raw");
    assert_eq!(&m.encode()[..], b"\r\n\r\nraw");
    let m = parse(b"From: <sip:a@b>\r\n\r\nContent-Type: text/plain\r\n\r\n").unwrap();
    assert!(m.content().is_empty());
}

#[test]
fn malformed_input_is_a_typed_error_naming_the_line() {
    let e = err(b"");
    assert_eq!((e.kind, e.line), (CpimErrorKind::Empty, 1));

    let e = err(b"From: <sip:a@b>\r\nTo: <sip:c@d>\r\n");
    assert_eq!(e.kind, CpimErrorKind::MissingHeaderEnd);
    assert_eq!((e.line, e.text.as_str()), (2, "To: <sip:c@d>"));

    let e = err(b"From: <sip:a@b>\r\nTo: <sip:c@d>");
    assert_eq!(e.kind, CpimErrorKind::MissingHeaderEnd);
    assert_eq!((e.line, e.text.as_str()), (2, "To: <sip:c@d>"));

    let e = err(b"From: <sip:a@b>\r\n\r\nContent-Type: text/plain\r\nhello");
    assert_eq!(e.kind, CpimErrorKind::MissingContentHeaderEnd);
    assert_eq!((e.line, e.text.as_str()), (4, "hello"));

    let e = err(b"From: <sip:a@b>\r\n\r\nContent-Type: text/plain\r\n");
    assert_eq!(e.kind, CpimErrorKind::MissingContentHeaderEnd);
    assert_eq!((e.line, e.text.as_str()), (3, "Content-Type: text/plain"));

    let e = err(b"From: <sip:a@b>\r\nBogus line\r\n\r\n\r\n");
    assert_eq!(e.kind, CpimErrorKind::MissingColon);
    assert_eq!((e.line, e.text.as_str()), (2, "Bogus line"));

    let e = err(b"\r\nContent-Type text/plain\r\n\r\nx");
    assert_eq!((e.kind, e.line), (CpimErrorKind::MissingColon, 2));

    let e = err(b"NS: A <urn:a>\r\nB.Name: v\r\n\r\n\r\n");
    assert_eq!(e.kind, CpimErrorKind::UndeclaredPrefix("B".into()));
    assert_eq!((e.line, e.text.as_str()), (2, "B.Name: v"));
    assert!(e.to_string().contains("line 2"), "{e}");

    // A prefix declared later does not count.
    let e = err(b"A.Name: v\r\nNS: A <urn:a>\r\n\r\n\r\n");
    assert_eq!(
        (e.kind, e.line),
        (CpimErrorKind::UndeclaredPrefix("A".into()), 1)
    );
}

#[test]
fn more_malformed_headers() {
    let cases: &[(&[u8], CpimErrorKind, usize)] = &[
        (b"From: <sip:a@b>\n\r\n\r\n", CpimErrorKind::BareLineFeed, 1),
        (b"Fr om: x\r\n\r\n\r\n", CpimErrorKind::BadHeaderName, 1),
        (b": x\r\n\r\n\r\n", CpimErrorKind::BadHeaderName, 1),
        (
            b" From: <sip:a@b>\r\n\r\n\r\n",
            CpimErrorKind::BadHeaderName,
            1,
        ),
        (
            b"From:<sip:a@b>\r\n\r\n\r\n",
            CpimErrorKind::MissingSpace,
            1,
        ),
        (
            b"Subject:;lang fr\r\n\r\n\r\n",
            CpimErrorKind::BadParameter,
            1,
        ),
        (
            b"Subject:;lang=\"fr x\r\n\r\n\r\n",
            CpimErrorKind::BadParameter,
            1,
        ),
        (b"From: sip:a@b\r\n\r\n\r\n", CpimErrorKind::BadAddress, 1),
        (b"To: Bob <>\r\n\r\n\r\n", CpimErrorKind::BadAddress, 1),
        (
            b"cc: \"Bob <sip:b@c>\r\n\r\n\r\n",
            CpimErrorKind::BadAddress,
            1,
        ),
        (
            b"DateTime: 2000-12-13T13:40:00\r\n\r\n\r\n",
            CpimErrorKind::BadDateTime,
            1,
        ),
        (
            b"DateTime: 2001-02-29T13:40:00Z\r\n\r\n\r\n",
            CpimErrorKind::BadDateTime,
            1,
        ),
        (b"NS: A\r\n\r\n\r\n", CpimErrorKind::BadNamespace, 1),
        (
            b"NS: A B <urn:x>\r\n\r\n\r\n",
            CpimErrorKind::BadNamespace,
            1,
        ),
        (b"Require: A.B,,C\r\n\r\n\r\n", CpimErrorKind::BadRequire, 1),
        (b"X: \xff\r\n\r\n\r\n", CpimErrorKind::InvalidUtf8, 1),
        (b"\r\nBad Name: x\r\n\r\n", CpimErrorKind::BadHeaderName, 2),
    ];
    for (input, kind, line) in cases {
        let e = err(input);
        assert_eq!(
            (&e.kind, e.line),
            (kind, *line),
            "{:?}",
            String::from_utf8_lossy(input)
        );
    }
}

#[test]
fn standard_names_are_case_sensitive_and_namespaced() {
    // `from` is not From: it is an unknown header of the CPIM namespace.
    let m = parse(b"from: whatever\r\n\r\n\r\n").unwrap();
    assert_eq!(m.sender(), None);
    assert_eq!(m.additional_headers().count(), 1);
    // After a default-namespace change, From is no longer the CPIM From.
    let m = parse(b"NS: <urn:other>\r\nFrom: not an address\r\n\r\n\r\n").unwrap();
    assert_eq!(m.sender(), None);
    assert_eq!(m.namespaces(), vec![(None, "urn:other".to_string())]);
    let extra: Vec<_> = m.additional_headers().collect();
    assert_eq!(extra.len(), 1);
    assert_eq!(extra[0].namespace, "urn:other");
    // A prefix may also be bound to the CPIM namespace itself.
    let m =
        parse(b"NS: C <urn:ietf:params:cpim-headers:>\r\nC.From: <sip:a@b>\r\n\r\n\r\n").unwrap();
    assert_eq!(m.sender(), Some(Identity::new("sip:a@b")));
    assert_eq!(m.additional_headers().count(), 0);
}

#[test]
fn identities() {
    let cases: &[(&str, Option<&str>, &str)] = &[
        ("<sip:a@b>", None, "sip:a@b"),
        ("Alice <sip:a@b>", Some("Alice"), "sip:a@b"),
        ("\"Alice Smith\" <sip:a@b>", Some("Alice Smith"), "sip:a@b"),
        ("\"Alice\"<sip:a@b>", Some("Alice"), "sip:a@b"),
        (
            "\"A \\\"q\\\" <x>\" <sip:a@b>",
            Some("A \"q\" <x>"),
            "sip:a@b",
        ),
        ("Zoë <sip:z@b>", Some("Zoë"), "sip:z@b"),
    ];
    for (text, name, uri) in cases {
        let id = Identity::parse(text).unwrap_or_else(|| panic!("{text}"));
        assert_eq!(
            (id.display_name.as_deref(), id.uri.as_str()),
            (*name, *uri),
            "{text}"
        );
    }
    for bad in [
        "",
        "sip:a@b",
        "<sip a@b>",
        "<nocolon>",
        "A  B <sip:a@b>",
        "\"x\" y <sip:a@b>",
    ] {
        assert_eq!(Identity::parse(bad), None, "{bad}");
    }
    // Writing quotes a name that is not plain tokens.
    assert_eq!(
        Identity::new("sip:a@b").with_display_name("Al").to_value(),
        "Al <sip:a@b>"
    );
    assert_eq!(
        Identity::new("sip:a@b")
            .with_display_name("Smith, \"Al\"")
            .to_value(),
        "\"Smith, \\\"Al\\\"\" <sip:a@b>"
    );
    let id = Identity::new("sip:a@b").with_display_name("x\\y, \"z\"");
    assert_eq!(Identity::parse(&id.to_value()), Some(id));
}

#[test]
fn subjects_are_unescaped() {
    let m = parse(b"Subject: tab\\there \\u0041\\\\ end\\\r\n\r\n\r\n").unwrap();
    assert_eq!(m.subjects()[0].text, "tab\there A\\ end");
}

#[test]
fn date_times() {
    let dt = DateTime::parse("1985-04-12T23:20:50.52Z").unwrap();
    assert_eq!(dt.nanosecond, 520_000_000);
    assert_eq!(dt.offset_minutes, 0);
    assert_eq!(dt.to_string(), "1985-04-12T23:20:50.52Z");
    assert_eq!(dt.unix_seconds(), 482_196_050);
    let dt = DateTime::parse("1996-12-19t16:39:57-08:00").unwrap();
    assert_eq!(dt.to_string(), "1996-12-19T16:39:57-08:00");
    assert_eq!(dt.unix_seconds(), 851_042_397);
    assert_eq!(DateTime::from_unix(851_042_397, 0, -480), Some(dt));
    assert!(DateTime::parse("1990-12-31T23:59:60Z").is_some());
    assert!(DateTime::parse("2000-02-29T00:00:00+05:30").is_some());
    for bad in [
        "2000-12-13 13:40:00Z",
        "2000-12-13T13:40:00",
        "2000-13-13T13:40:00Z",
        "2000-12-32T13:40:00Z",
        "1900-02-29T13:40:00Z",
        "2000-12-13T24:00:00Z",
        "2000-12-13T13:40:00.Z",
        "2000-12-13T13:40:00+0800",
        "2000-12-13T13:40:00+24:00",
        "2000-12-13T13:40:00Zjunk",
        "２000-12-13T13:40:00Z",
    ] {
        assert_eq!(DateTime::parse(bad), None, "{bad}");
    }
    assert_eq!(
        DateTime::from_unix(0, 0, 0).unwrap().to_string(),
        "1970-01-01T00:00:00Z"
    );
    assert_eq!(
        DateTime::from_unix(-1, 5_000, 60).unwrap().to_string(),
        "1970-01-01T00:59:59.000005+01:00"
    );
    let now = DateTime::now_utc();
    assert!(now.year >= 2024 && now.is_valid());
}

#[test]
fn builder_writes_the_documented_order_and_declares_namespaces() {
    let msg = CpimMessage::builder("text/plain; charset=utf-8", &b"Hello\r\n"[..])
        .sender(Identity::new("sip:alice@example.com").with_display_name("Alice"))
        .recipient(Identity::new("sip:bob@example.com"))
        .courtesy_recipient(Identity::new("sip:carol@example.com").with_display_name("Smith, C."))
        .timestamp(DateTime::parse("2024-05-01T10:00:00.5Z").unwrap())
        .subject(Some("en"), "hi\tthere")
        .require("MyFeatures.VitalMessageOption")
        .header(NamespacedHeader {
            namespace: "mid:MessageFeatures@id.foo.com".into(),
            prefix: Some("MyFeatures".into()),
            name: "VitalMessageOption".into(),
            value: "Confirmation-requested".into(),
        })
        .header(NamespacedHeader {
            namespace: "urn:x-other".into(),
            prefix: None,
            name: "Thing".into(),
            value: "1".into(),
        })
        .header(NamespacedHeader {
            namespace: "mid:MessageFeatures@id.foo.com".into(),
            prefix: None,
            name: "WackyMessageOption".into(),
            value: "Use-silly-font".into(),
        })
        .content_header("Content-ID", "<1@x>")
        .build()
        .unwrap();
    let expected: &[u8] = b"From: Alice <sip:alice@example.com>\r\n\
To: <sip:bob@example.com>\r\n\
cc: \"Smith, C.\" <sip:carol@example.com>\r\n\
DateTime: 2024-05-01T10:00:00.500000Z\r\n\
Subject:;lang=en hi\\tthere\r\n\
NS: MyFeatures <mid:MessageFeatures@id.foo.com>\r\n\
NS: ns1 <urn:x-other>\r\n\
Require: MyFeatures.VitalMessageOption\r\n\
MyFeatures.VitalMessageOption: Confirmation-requested\r\n\
ns1.Thing: 1\r\n\
MyFeatures.WackyMessageOption: Use-silly-font\r\n\
\r\n\
Content-Type: text/plain; charset=utf-8\r\n\
Content-ID: <1@x>\r\n\
\r\n\
Hello\r\n";
    assert_eq!(
        String::from_utf8_lossy(&msg.encode()),
        String::from_utf8_lossy(expected)
    );
    // What was built parses back to the same message.
    let again = parse(expected).unwrap();
    assert_eq!(again, msg);
    assert_eq!(again.subjects()[0].text, "hi\tthere");
    assert_eq!(
        again.courtesy_recipients()[0].display_name.as_deref(),
        Some("Smith, C.")
    );
}

#[test]
fn builder_rejects_bad_values() {
    let b = || CpimMessage::builder("text/plain", Bytes::new());
    assert!(matches!(
        b().sender(Identity::new("no scheme")).build(),
        Err(CpimBuildError::BadUri(_))
    ));
    assert!(matches!(
        b().content_header("Content-ID", "a\r\nInjected: 1").build(),
        Err(CpimBuildError::ControlCharacter(_))
    ));
    assert!(matches!(
        b().content_header("Bad Name", "x").build(),
        Err(CpimBuildError::BadName(_))
    ));
    assert!(matches!(
        b().subject(Some("e n"), "x").build(),
        Err(CpimBuildError::BadLanguage(_))
    ));
    assert!(matches!(
        b().require("a.b.c").build(),
        Err(CpimBuildError::BadName(_))
    ));
    let mut feb30 = DateTime::parse("2023-02-28T00:00:00Z").unwrap();
    feb30.day = 30;
    assert!(matches!(
        b().timestamp(feb30).build(),
        Err(CpimBuildError::BadDateTime(_))
    ));
    let h = |ns: &str, p: &str| NamespacedHeader {
        namespace: ns.into(),
        prefix: Some(p.into()),
        name: "N".into(),
        value: "v".into(),
    };
    assert!(matches!(
        b().header(h("urn:a", "P")).header(h("urn:b", "P")).build(),
        Err(CpimBuildError::PrefixConflict { .. })
    ));
    assert!(matches!(
        b().header(h("not a uri", "P")).build(),
        Err(CpimBuildError::BadUri(_))
    ));
    // A chosen prefix never collides with one the caller named.
    let m = b()
        .header(NamespacedHeader {
            namespace: "urn:b".into(),
            prefix: None,
            name: "N".into(),
            value: "v".into(),
        })
        .header(h("urn:a", "ns1"))
        .build()
        .unwrap();
    assert_eq!(
        m.namespaces(),
        vec![
            (Some("ns2".to_string()), "urn:b".to_string()),
            (Some("ns1".to_string()), "urn:a".to_string())
        ]
    );
    // The CPIM namespace needs no prefix.
    let m = b()
        .header(NamespacedHeader {
            namespace: CPIM_NAMESPACE.into(),
            prefix: None,
            name: "X-Extra".into(),
            value: "v".into(),
        })
        .build()
        .unwrap();
    assert_eq!(
        &m.encode()[..],
        b"X-Extra: v\r\n\r\nContent-Type: text/plain\r\n\r\n"
    );
}

fn arb_name() -> impl Strategy<Value = String> {
    "[A-Za-z][A-Za-z0-9_-]{0,8}"
}

fn arb_value() -> impl Strategy<Value = String> {
    "[ -~]{0,20}|[a-zé€ ]{0,10}"
}

prop_compose! {
    fn arb_message()(
        sender in proptest::option::of(("[a-z]{1,8}", proptest::option::of("[A-Za-z ,\"\\\\]{0,12}"))),
        recipients in proptest::collection::vec("[a-z]{1,8}", 0..3),
        ts in proptest::option::of((0i64..253_402_300_799, 0u32..1_000_000_000, -1439i16..1440)),
        subjects in proptest::collection::vec((proptest::option::of("[a-z]{2}"), "[ -~\t]{0,20}"), 0..3),
        extra in proptest::collection::vec(("[a-c]", arb_name(), arb_value()), 0..4),
        content_headers in proptest::collection::vec((arb_name(), "[!-~][ -~]{0,15}"), 0..3),
        content in proptest::collection::vec(any::<u8>(), 0..64),
    ) -> CpimMessage {
        let mut b = CpimMessage::builder("text/plain", content);
        if let Some((user, name)) = sender {
            let mut id = Identity::new(format!("sip:{user}@example.com"));
            id.display_name = name;
            b = b.sender(id);
        }
        for r in recipients {
            b = b.recipient(Identity::new(format!("im:{r}@example.com")));
        }
        if let Some((secs, nanos, offset)) = ts {
            b = b.timestamp(DateTime::from_unix(secs, nanos, offset).unwrap());
        }
        for (lang, text) in subjects {
            b = b.subject(lang.as_deref(), text);
        }
        for (ns, name, value) in extra {
            b = b.header(NamespacedHeader {
                namespace: format!("urn:x-{ns}"),
                prefix: None,
                name,
                value,
            });
        }
        for (name, value) in content_headers {
            b = b.content_header(name, value);
        }
        b.build().unwrap()
    }
}

proptest! {
    #[test]
    fn built_messages_round_trip(msg in arb_message()) {
        let wire = msg.encode();
        prop_assert_eq!(wire.len(), msg.encoded_len());
        let parsed = CpimMessage::parse(wire.clone()).unwrap();
        prop_assert_eq!(&parsed, &msg);
        prop_assert_eq!(parsed.encode(), wire);
    }

    #[test]
    fn any_input_parses_or_fails_without_panic(input in proptest::collection::vec(
        prop_oneof![Just(b'\r'), Just(b'\n'), Just(b':'), Just(b' '), Just(b';'), Just(b'<'),
                    Just(b'>'), Just(b'.'), Just(b'"'), Just(b'\\'), Just(b'='), any::<u8>()],
        0..80,
    )) {
        if let Ok(m) = CpimMessage::parse_slice(&input) {
            // Message headers and payload come back exactly; MIME headers
            // may be respaced after their colon.
            let enc = m.encode();
            let head = m.headers().iter().map(CpimHeader::encoded_len).sum::<usize>() + 2;
            prop_assert_eq!(&enc[..head], &input[..head]);
            prop_assert!(input.ends_with(m.content()));
            if m.content_headers().is_empty() {
                prop_assert_eq!(&enc[..], &input[..]);
            }
        }
    }

    #[test]
    fn unix_time_round_trips(secs in -62_135_596_800i64..253_402_300_799, offset in -1439i16..1440) {
        if let Some(dt) = DateTime::from_unix(secs, 0, offset) {
            prop_assert_eq!(dt.unix_seconds(), secs);
            prop_assert_eq!(DateTime::parse(&dt.to_string()), Some(dt));
        }
    }
}

#[test]
fn built_date_times_have_at_most_microseconds() {
    let cases = [
        // Nanoseconds are truncated to microseconds, written with six digits.
        (
            "2026-11-24T16:18:03.123456789Z",
            "2026-11-24T16:18:03.123456Z",
        ),
        ("2026-11-24T16:18:03.5Z", "2026-11-24T16:18:03.500000Z"),
        (
            "2026-11-24T16:18:03.000001-08:00",
            "2026-11-24T16:18:03.000001-08:00",
        ),
        // A fraction under a microsecond is no fraction at all.
        (
            "2026-11-24T16:18:03.000000999+05:30",
            "2026-11-24T16:18:03+05:30",
        ),
        ("2026-11-24T16:18:03Z", "2026-11-24T16:18:03Z"),
        ("0001-01-01T00:00:00+00:00", "0001-01-01T00:00:00Z"),
    ];
    for (given, written) in cases {
        let dt = DateTime::parse(given).unwrap();
        assert_eq!(dt.to_rfc3339_micros(), written, "{given}");
        let msg = CpimMessage::builder("text/plain", &b"x"[..])
            .timestamp(dt)
            .build()
            .unwrap();
        let text = String::from_utf8(msg.encode().to_vec()).unwrap();
        assert!(
            text.starts_with(&format!("DateTime: {written}\r\n\r\n")),
            "{text}"
        );
    }
    // The current time: a fraction, when there is one, of six digits.
    let now = DateTime::now_utc().to_rfc3339_micros();
    let fraction = now.split_once('.').map(|(_, f)| f.trim_end_matches('Z'));
    assert!(fraction.is_none_or(|f| f.len() == 6), "{now}");
    assert!(now.ends_with('Z') && now.len() <= 27, "{now}");
}

#[test]
fn peek_content_type_reads_the_payload_type_of_a_first_chunk() {
    let body = b"From: <sip:a@x>\r\nTo: <sip:b@x>\r\n\r\nContent-ID: <1@x>\r\ncontent-TYPE:  image/png \r\n\r\n\x89PNG";
    assert_eq!(peek_content_type(body), Some("image/png"));
    assert_eq!(
        peek_content_type(b"\r\nContent-Type: text/plain\r\n\r\nhi"),
        Some("text/plain")
    );
    // Cut before the type is known, or no type: nothing.
    assert_eq!(peek_content_type(&body[..40]), None);
    assert_eq!(
        peek_content_type(b"From: <sip:a@x>\r\n\r\nContent-ID: <1@x>\r\n\r\nx"),
        None
    );
    assert_eq!(peek_content_type(b""), None);
}
