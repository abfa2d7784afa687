//! Unit tests of the chat's sans-IO parts: wrapping decisions, incoming
//! decoding, reports, the is-composing codec and the event emitter.

use bytes::Bytes;

use super::iscomposing::{ComposingState, IsComposing, IsComposingError};
use super::policy::{self, Incoming, Wrapping};
use super::*;
use crate::msrp::cpim::DateTime;
use crate::msrp::sdp::MsrpMedia;
use crate::msrp::Chunk;

fn media(accept: &[&str], wrapped: &[&str]) -> MsrpMedia {
    let mut m = MsrpMedia::for_path(
        vec![Uri::new("127.0.0.1", Some(1), Some("s".into()))],
        accept.iter().map(|s| s.to_string()).collect(),
    );
    m.accept_wrapped_types = wrapped.iter().map(|s| s.to_string()).collect();
    m
}

#[test]
fn cpim_when_the_peer_accepts_it() {
    let m = media(&["message/cpim", "text/plain"], &["*"]);
    assert_eq!(
        policy::choose_wrapping(&m, "text/plain", false).unwrap(),
        Wrapping::Cpim
    );
    assert_eq!(
        policy::choose_wrapping(&m, "image/png", true).unwrap(),
        Wrapping::Cpim
    );
}

#[test]
fn plain_without_cpim() {
    let m = media(&["text/*"], &[]);
    assert_eq!(
        policy::choose_wrapping(&m, "text/html", false).unwrap(),
        Wrapping::Plain
    );
}

#[test]
fn type_inside_cpim_must_be_acceptable() {
    // accept-types count as wrapped types too (RFC 4975 section 8.6).
    let m = media(&["message/cpim", "image/png"], &["text/plain"]);
    assert_eq!(
        policy::choose_wrapping(&m, "image/png", false).unwrap(),
        Wrapping::Cpim
    );
    assert_eq!(
        policy::choose_wrapping(&m, "text/plain", false).unwrap(),
        Wrapping::Cpim
    );
    let m = media(&["message/cpim"], &["text/plain"]);
    assert!(matches!(
        policy::choose_wrapping(&m, "image/png", false),
        Err(ChatError::NotAccepted { .. })
    ));
}

#[test]
fn private_needs_cpim() {
    let m = media(&["text/plain"], &["*"]);
    assert!(matches!(
        policy::choose_wrapping(&m, "text/plain", true),
        Err(ChatError::PrivateNeedsCpim)
    ));
}

#[test]
fn nothing_acceptable() {
    let m = media(&["text/plain"], &["*"]);
    assert!(matches!(
        policy::choose_wrapping(&m, "image/png", false),
        Err(ChatError::NotAccepted { content_type }) if content_type == "image/png"
    ));
}

#[test]
fn identities_compare_by_uri() {
    assert!(policy::same_identity(
        "Bob <sip:bob@x.org>",
        "sip:bob@x.org"
    ));
    assert!(!policy::same_identity("sip:carol@x.org", "sip:bob@x.org"));
}

fn send(content_type: &str, body: &[u8]) -> Chunk {
    let mut c = Chunk::request("t1234", "SEND");
    c.headers.set(names::MESSAGE_ID, "m1");
    c.headers.set(names::CONTENT_TYPE, content_type);
    c.data = Bytes::copy_from_slice(body);
    c
}

#[test]
fn wrap_and_read_back() {
    let dt = DateTime::parse("2024-05-01T10:00:00Z").unwrap();
    let body = policy::wrap_cpim(
        "Alice <sip:alice@x.org>",
        "sip:bob@x.org",
        dt,
        "text/plain",
        Bytes::from_static(b"hi"),
    )
    .unwrap();
    assert_eq!(
        &body[..],
        &b"From: Alice <sip:alice@x.org>\r\nTo: <sip:bob@x.org>\r\nDateTime: 2024-05-01T10:00:00Z\r\n\r\nContent-Type: text/plain\r\n\r\nhi"[..]
    );
    match policy::read_incoming(&send("message/cpim", &body)).unwrap() {
        Incoming::Message {
            content,
            content_type,
            cpim_headers,
        } => {
            assert_eq!(&content[..], b"hi");
            assert_eq!(content_type, "text/plain");
            assert_eq!(
                cpim_headers,
                vec![
                    ("From".to_string(), "Alice <sip:alice@x.org>".to_string()),
                    ("To".to_string(), "<sip:bob@x.org>".to_string()),
                    ("DateTime".to_string(), "2024-05-01T10:00:00Z".to_string()),
                ]
            );
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn prefixed_cpim_headers_keep_their_prefix() {
    let body = b"From: <sip:a@x.org>\r\nNS: MyFeatures <mid:MessageFeatures@id.foo.com>\r\nMyFeatures.VitalMessageOption: Confirmation-requested\r\n\r\nContent-Type: text/plain\r\n\r\nx";
    let Incoming::Message { cpim_headers, .. } =
        policy::read_incoming(&send("Message/CPIM", body)).unwrap()
    else {
        panic!("not a message")
    };
    assert_eq!(
        cpim_headers[2],
        (
            "MyFeatures.VitalMessageOption".to_string(),
            "Confirmation-requested".to_string()
        )
    );
}

#[test]
fn bad_cpim_is_an_error() {
    assert!(matches!(
        policy::read_incoming(&send("message/cpim", b"garbage without end")),
        Err(policy::IncomingError::Cpim(_))
    ));
}

#[test]
fn plain_message_reads_as_is() {
    let Incoming::Message {
        content_type,
        cpim_headers,
        content,
    } = policy::read_incoming(&send("text/plain; charset=utf-8", "é".as_bytes())).unwrap()
    else {
        panic!("not a message")
    };
    assert_eq!(content_type, "text/plain; charset=utf-8");
    assert!(cpim_headers.is_empty());
    assert_eq!(policy::decode_text(&content_type, &content).unwrap(), "é");
}

#[test]
fn composing_is_recognised_plain_and_wrapped() {
    let doc = IsComposing {
        state: ComposingState::Active,
        last_active: None,
        content_type: Some("text/plain".into()),
        refresh: Some(60),
    };
    let xml = doc.encode().unwrap();
    assert_eq!(
        policy::read_incoming(&send(iscomposing::CONTENT_TYPE, &xml)).unwrap(),
        Incoming::Composing(doc.clone())
    );
    let wrapped = policy::wrap_cpim(
        "sip:a@x.org",
        "sip:b@x.org",
        DateTime::now_utc(),
        iscomposing::CONTENT_TYPE,
        Bytes::from(xml),
    )
    .unwrap();
    assert_eq!(
        policy::read_incoming(&send("message/cpim", &wrapped)).unwrap(),
        Incoming::Composing(doc)
    );
}

#[test]
fn text_decoding() {
    assert_eq!(
        policy::decode_text("text/plain", b"abc").as_deref(),
        Some("abc")
    );
    assert_eq!(
        policy::decode_text("text/plain; charset=\"ISO-8859-1\"", b"\xe9").as_deref(),
        Some("é")
    );
    assert_eq!(policy::decode_text("text/plain", b"\xff"), None);
    assert_eq!(
        policy::decode_text("text/plain; charset=us-ascii", b"\xe9"),
        None
    );
    assert_eq!(
        policy::decode_text("text/plain; charset=koi8-r", b"a"),
        None
    );
    assert_eq!(policy::decode_text("image/png", b"abc"), None);
}

#[test]
fn reports() {
    let mut r = Chunk::request("t9999", "REPORT");
    r.headers.set(names::MESSAGE_ID, "m7");
    r.headers.set(names::STATUS, "000 200 OK");
    let o = policy::read_report(&r).unwrap();
    assert_eq!(
        (o.message_id.as_str(), o.code, o.reason.as_str()),
        ("m7", 200, "OK")
    );
    assert!(o.delivered());
    r.headers.set(names::STATUS, "000 413 Too big");
    assert!(!policy::read_report(&r).unwrap().delivered());
    r.headers.remove(names::STATUS);
    assert!(policy::read_report(&r).is_none());
}

#[test]
fn iscomposing_encodes_in_schema_order() {
    let doc = IsComposing {
        state: ComposingState::Active,
        last_active: Some(DateTime::parse("2003-01-27T10:43:00Z").unwrap()),
        content_type: Some("text/plain".into()),
        refresh: Some(90),
    };
    let xml = String::from_utf8(doc.encode().unwrap()).unwrap();
    assert_eq!(
        xml,
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><isComposing xmlns=\"urn:ietf:params:xml:ns:im-iscomposing\">\
<state>active</state><lastactive>2003-01-27T10:43:00Z</lastactive>\
<contenttype>text/plain</contenttype><refresh>90</refresh></isComposing>"
    );
    assert_eq!(IsComposing::parse(xml.as_bytes()).unwrap(), doc);
}

#[test]
fn iscomposing_reads_rfc_example_with_prefix_and_extensions() {
    let xml = br#"<?xml version="1.0" encoding="UTF-8"?>
<ic:isComposing xmlns:ic="urn:ietf:params:xml:ns:im-iscomposing"
    xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
  <ic:state> idle </ic:state>
  <ic:lastactive>2003-01-27T10:43:00Z</ic:lastactive>
  <ic:contenttype>audio</ic:contenttype>
  <x:other xmlns:x="urn:example">ignored</x:other>
</ic:isComposing>"#;
    let doc = IsComposing::parse(xml).unwrap();
    assert_eq!(doc.state, ComposingState::Idle);
    assert_eq!(doc.content_type.as_deref(), Some("audio"));
    assert_eq!(doc.refresh, None);
    assert!(doc.last_active.is_some());
}

#[test]
fn iscomposing_errors() {
    type Check = fn(&IsComposingError) -> bool;
    let cases: &[(&[u8], Check)] = &[
        (b"<isComposing xmlns='urn:ietf:params:xml:ns:im-iscomposing'></isComposing>", |e| {
            matches!(e, IsComposingError::MissingState)
        }),
        (b"<isComposing xmlns='urn:ietf:params:xml:ns:im-iscomposing'/>", |e| {
            matches!(e, IsComposingError::MissingState)
        }),
        (b"<isComposing><state>active</state></isComposing>", |e| {
            matches!(e, IsComposingError::NotIsComposing)
        }),
        (b"<isComposing xmlns='urn:ietf:params:xml:ns:im-iscomposing'><state>busy</state></isComposing>", |e| {
            matches!(e, IsComposingError::BadValue { element: "state", .. })
        }),
        (b"<isComposing xmlns='urn:ietf:params:xml:ns:im-iscomposing'><state>active</state><refresh>0</refresh></isComposing>", |e| {
            matches!(e, IsComposingError::BadValue { element: "refresh", .. })
        }),
        (b"<isComposing xmlns='urn:ietf:params:xml:ns:im-iscomposing'><state>active</state><refresh>-5</refresh></isComposing>", |e| {
            matches!(e, IsComposingError::BadValue { element: "refresh", .. })
        }),
        (b"<isComposing xmlns='urn:ietf:params:xml:ns:im-iscomposing'><state>active</sta", |e| {
            matches!(e, IsComposingError::Xml(_))
        }),
        (b"\xff\xfe", |e| matches!(e, IsComposingError::Xml(_))),
        (b"", |e| matches!(e, IsComposingError::NotIsComposing)),
    ];
    for (input, check) in cases {
        let err = IsComposing::parse(input).unwrap_err();
        assert!(check(&err), "{:?}: {err:?}", String::from_utf8_lossy(input));
    }
}

#[test]
fn iscomposing_refuses_unencodable_values() {
    let mut doc = IsComposing::new(ComposingState::Active);
    doc.refresh = Some(0);
    assert!(doc.encode().is_err());
    doc.refresh = None;
    doc.content_type = Some("text/\nplain".into());
    assert!(doc.encode().is_err());
    doc.content_type = Some("a&b<c".into());
    let xml = doc.encode().unwrap();
    assert_eq!(IsComposing::parse(&xml).unwrap(), doc);
}

#[test]
fn emitter_holds_then_puts_the_first_event_ahead() {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let s = seen.clone();
    let emitter = Emitter {
        queue: Mutex::new(EmitQueue::default()),
        sink: Mutex::new(Box::new(move |ev: ChatEvent| s.lock().push(ev.name()))),
    };
    emitter.post(ChatEvent::WillEnd);
    emitter.hold();
    emitter.post(ChatEvent::DidEnd);
    assert_eq!(*seen.lock(), vec!["MSRPChatWillEnd"]);
    emitter.release(Some(ChatEvent::DidStart));
    assert_eq!(
        *seen.lock(),
        vec!["MSRPChatWillEnd", "MSRPChatDidStart", "MSRPChatDidEnd"]
    );
}

#[test]
fn the_fast_wrapper_writes_the_builders_bytes() {
    let payload = Bytes::from_static(b"h\xc3\xa9llo\r\n");
    for (from, to, dt, ct) in [
        (
            "Alice <sip:alice@x.org>",
            "sip:bob@x.org",
            "2024-05-01T10:00:00Z",
            "text/plain",
        ),
        (
            "sip:alice@x.org",
            "\"Bob, B.\" <sip:bob@x.org>",
            "2026-11-24T16:18:03.123456789-08:00",
            "text/plain; charset=utf-8",
        ),
    ] {
        let dt = DateTime::parse(dt).unwrap();
        let slow = policy::wrap_cpim(from, to, dt, ct, payload.clone()).unwrap();
        let fast = policy::wrap_cpim_values(
            &policy::identity_value(from).unwrap(),
            &policy::identity_value(to).unwrap(),
            dt,
            ct,
            &payload,
        )
        .unwrap();
        assert_eq!(fast, slow);
    }
    // What the builder refuses, the fast path refuses too.
    let v = policy::identity_value("sip:a@x.org").unwrap();
    let dt = DateTime::parse("2024-05-01T10:00:00Z").unwrap();
    assert!(policy::wrap_cpim_values(&v, &v, dt, "text/\u{7}plain", &payload).is_err());
    assert_eq!(policy::identity_value("sip:a@x.org\u{1}"), None);
}

#[test]
fn refuse_wrapped_follows_both_accept_lists() {
    let list = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let accept = list(&["message/cpim", "text/*"]);
    let wrapped = list(&["image/jpeg"]);
    let body = |ct: &str| {
        format!("From: <sip:a@x>\r\nTo: <sip:b@x>\r\n\r\nContent-Type: {ct}\r\n\r\nx").into_bytes()
    };
    for (ct, refused) in [
        ("image/png", true),
        ("IMAGE/JPEG", false),
        ("text/html; charset=utf-8", false),
        ("application/octet-stream", true),
    ] {
        let r = policy::refuse_wrapped(&send("message/cpim", &body(ct)), &accept, &wrapped);
        assert_eq!(r.is_some(), refused, "{ct}");
        if let Some(r) = r {
            assert_eq!(
                (r.code, r.comment.as_str()),
                (415, "Unsupported media type")
            );
        }
    }
    // Not CPIM, or CPIM cut before its payload type: not the filter's call.
    assert_eq!(
        policy::refuse_wrapped(&send("image/png", b"x"), &accept, &wrapped),
        None
    );
    assert_eq!(
        policy::refuse_wrapped(
            &send("message/cpim", b"From: <sip:a@x>\r\n"),
            &accept,
            &wrapped
        ),
        None
    );
}
