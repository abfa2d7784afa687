//! MSRPChat over loopback: two chats set up with each other's SDP media,
//! exchanging messages, reports and is-composing indications. Every body
//! runs under the `within` watchdog.

mod common;
use common::within;

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::thread;
use std::time::Duration;

use crossbeam_channel::Receiver;
use msgwire::msrp::chat::iscomposing::ComposingState;
use msgwire::msrp::chat::{Chat, ChatConfig, ChatError, ChatEvent, ChatTls, FailureContext};
use msgwire::msrp::cpim::DateTime;
use msgwire::msrp::relay::RelaySettings;
use msgwire::msrp::sdp::{MsrpMedia, Setup};
use msgwire::msrp::{make_response, parse_chunk, Chunk, Flag, Uri};
use msgwire::net::{TlsClientConfig, TlsServerConfig};
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair};

const LIMIT: Duration = Duration::from_secs(20);
const WAIT: Duration = Duration::from_secs(5);
const ALICE: &str = "sip:alice@example.com";
const BOB: &str = "sip:bob@example.com";

fn config(outgoing: bool, accept: Option<&[&str]>) -> ChatConfig {
    let (me, peer) = if outgoing { (ALICE, BOB) } else { (BOB, ALICE) };
    let mut c = ChatConfig::new(me, peer, outgoing);
    c.local_address = Some("127.0.0.1".into());
    if let Some(a) = accept {
        c.accept_types = a.iter().map(|s| s.to_string()).collect();
    }
    c
}

struct Side {
    chat: Chat,
    rx: Receiver<ChatEvent>,
    media: MsrpMedia,
}

fn side(config: ChatConfig) -> Side {
    let (chat, rx) = Chat::with_channel(config).unwrap();
    let media = chat.initialize().unwrap();
    assert!(matches!(next(&rx), ChatEvent::DidInitialize { media: m } if m == media));
    Side { chat, rx, media }
}

/// Starts both; `a_sees`/`b_sees` are the media each is given.
fn start_pair(a: &Side, b: &Side, a_sees: MsrpMedia, b_sees: MsrpMedia) {
    let bob = b.chat.clone();
    let t = thread::spawn(move || bob.start(&b_sees));
    a.chat.start(&a_sees).unwrap();
    t.join().unwrap().unwrap();
    assert!(matches!(next(&a.rx), ChatEvent::DidStart));
    assert!(matches!(next(&b.rx), ChatEvent::DidStart));
}

fn pair(b_accept: Option<&[&str]>) -> (Side, Side) {
    let a = side(config(true, None));
    let b = side(config(false, b_accept));
    let (am, bm) = (a.media.clone(), b.media.clone());
    start_pair(&a, &b, bm, am);
    (a, b)
}

fn next(rx: &Receiver<ChatEvent>) -> ChatEvent {
    rx.recv_timeout(WAIT).expect("an event in time")
}

/// `from` sends `text`; it is `to`'s next event.
fn says(from: &Side, to: &Side, text: &str) {
    from.chat
        .send_message(text.to_string(), "text/plain", None, None)
        .unwrap();
    let ChatEvent::GotMessage(m) = next(&to.rx) else {
        panic!("not a message")
    };
    assert_eq!(m.text().as_deref(), Some(text));
}

#[test]
fn media_is_plain_tcp_with_the_local_address() {
    within(LIMIT, || {
        let a = side(config(true, None));
        let b = side(config(false, None));
        for (s, setup) in [(&a, Setup::Active), (&b, Setup::Passive)] {
            let text = s.media.encode().unwrap();
            assert!(text.starts_with("m=message "), "{text}");
            assert!(text.contains(" TCP/MSRP *\r\n"), "{text}");
            assert!(text.contains("c=IN IP4 127.0.0.1\r\n"), "{text}");
            assert!(text.contains("a=path:msrp://127.0.0.1:"), "{text}");
            assert!(text
                .contains("a=accept-types:message/cpim text/* application/im-iscomposing+xml\r\n"));
            assert!(text.contains("a=accept-wrapped-types:*\r\n"));
            assert_eq!(s.media.setup, Some(setup));
        }
        a.chat.end();
        b.chat.end();
    });
}

#[test]
fn cpim_messages_are_delivered_and_reported() {
    within(LIMIT, || {
        let (a, b) = pair(None);
        let dt = DateTime::parse("2024-05-01T10:00:00Z").unwrap();
        let sent = a
            .chat
            .send_message("hello bob", "text/plain", None, Some(dt))
            .unwrap();
        assert_eq!(sent.content_type(), Some("message/cpim"));
        assert_eq!(sent.headers.get("Failure-Report"), Some("partial"));
        assert_eq!(sent.headers.get("Success-Report"), Some("yes"));
        let mid = sent.message_id().unwrap().to_string();
        let ChatEvent::GotMessage(m) = next(&b.rx) else {
            panic!("not a message")
        };
        assert_eq!(m.text().as_deref(), Some("hello bob"));
        assert_eq!(m.content_type, "text/plain");
        assert_eq!(
            m.cpim_headers,
            vec![
                ("From".to_string(), format!("<{ALICE}>")),
                ("To".to_string(), format!("<{BOB}>")),
                ("DateTime".to_string(), "2024-05-01T10:00:00Z".to_string()),
            ]
        );
        assert_eq!(m.message.message_id(), Some(mid.as_str()));
        let ChatEvent::DidDeliverMessage(r) = next(&a.rx) else {
            panic!("no delivery report")
        };
        assert_eq!((r.message_id.as_str(), r.code), (mid.as_str(), 200));
        assert_eq!(r.message.method(), Some("REPORT"));

        // And the other way round.
        b.chat
            .send_message("hi alice", "text/plain", None, None)
            .unwrap();
        let ChatEvent::GotMessage(m) = next(&a.rx) else {
            panic!("not a message")
        };
        assert_eq!(&m.content[..], b"hi alice");
        assert!(matches!(next(&b.rx), ChatEvent::DidDeliverMessage(_)));

        a.chat.end();
        assert!(matches!(next(&a.rx), ChatEvent::WillEnd));
        assert!(matches!(next(&a.rx), ChatEvent::DidEnd));
        match next(&b.rx) {
            ChatEvent::DidEnd => {}
            ChatEvent::DidFail { context, .. } => assert_eq!(context, FailureContext::Reading),
            other => panic!("{other:?}"),
        }
        b.chat.end(); // already ended by the peer: nothing more
        assert!(b.rx.recv_timeout(Duration::from_millis(200)).is_err());
        assert!(matches!(
            a.chat.send_message("late", "text/plain", None, None),
            Err(ChatError::Closed)
        ));
    });
}

#[test]
fn plain_text_when_the_peer_lacks_cpim() {
    within(LIMIT, || {
        let (a, b) = pair(Some(&["text/plain"]));
        let sent = a
            .chat
            .send_message("plain", "text/plain", None, None)
            .unwrap();
        assert_eq!(sent.content_type(), Some("text/plain"));
        let ChatEvent::GotMessage(m) = next(&b.rx) else {
            panic!("not a message")
        };
        assert!(m.cpim_headers.is_empty());
        assert_eq!(m.message.content_type(), Some("text/plain"));
        assert_eq!(m.text().as_deref(), Some("plain"));
        // A private message needs CPIM; an unaccepted type has no way.
        assert!(matches!(
            a.chat
                .send_message("psst", "text/plain", Some("sip:carol@example.com"), None),
            Err(ChatError::PrivateNeedsCpim)
        ));
        assert!(matches!(
            a.chat
                .send_message(&b"\x89PNG"[..], "image/png", None, None),
            Err(ChatError::NotAccepted { .. })
        ));
        // To the remote identity itself is not private.
        a.chat
            .send_message("x", "text/plain", Some(BOB), None)
            .unwrap();
        assert!(matches!(next(&b.rx), ChatEvent::GotMessage(_)));
        a.chat.end();
        b.chat.end();
    });
}

#[test]
fn messages_queued_before_start_go_first_in_order() {
    within(LIMIT, || {
        let (a, arx) = Chat::with_channel(config(true, None)).unwrap();
        let early = a.send_message("one", "text/plain", None, None).unwrap();
        assert!(early.message_id().is_some());
        assert!(early.headers.get("To-Path").is_none());
        let am = a.initialize().unwrap();
        a.send_message("two", "text/plain", None, None).unwrap();
        let b = side(config(false, None));
        let bm = b.media.clone();
        let bob = b.chat.clone();
        let t = thread::spawn(move || bob.start(&am));
        a.start(&bm).unwrap();
        a.send_message("three", "text/plain", None, None).unwrap();
        t.join().unwrap().unwrap();
        assert!(matches!(next(&b.rx), ChatEvent::DidStart));
        let mut texts = Vec::new();
        let mut first_id = None;
        for _ in 0..3 {
            let ChatEvent::GotMessage(m) = next(&b.rx) else {
                panic!("not a message")
            };
            first_id.get_or_insert(m.message.message_id().unwrap().to_string());
            texts.push(m.text().unwrap());
        }
        assert_eq!(texts, ["one", "two", "three"]);
        assert_eq!(first_id.as_deref(), early.message_id());
        let names: Vec<_> = (0..5).map(|_| next(&arx).name()).collect();
        assert_eq!(names[..2], ["MSRPChatDidInitialize", "MSRPChatDidStart"]);
        assert!(names[2..].iter().all(|n| *n == "MSRPChatDidDeliverMessage"));
        a.end();
        b.chat.end();
    });
}

#[test]
fn a_refused_type_is_not_delivered() {
    within(LIMIT, || {
        let a = side(config(true, None));
        let b = side(config(false, Some(&["text/plain"])));
        // Bob's SDP is doctored to claim text/html: his session refuses it.
        let mut claimed = b.media.clone();
        claimed.accept_types = vec!["text/plain".into(), "text/html".into()];
        let am = a.media.clone();
        start_pair(&a, &b, claimed, am);
        let sent = a
            .chat
            .send_message("<b>x</b>", "text/html", None, None)
            .unwrap();
        let ChatEvent::DidNotDeliverMessage(r) = next(&a.rx) else {
            panic!("no failure")
        };
        assert_eq!(r.code, 415);
        assert_eq!(Some(r.message_id.as_str()), sent.message_id());
        assert!(!r.local);
        a.chat.end();
        b.chat.end();
        assert!(b
            .rx
            .try_iter()
            .all(|e| !matches!(e, ChatEvent::GotMessage(_))));
    });
}

#[test]
fn composing_indications_both_ways_and_expiry() {
    within(LIMIT, || {
        let (a, b) = pair(None);
        let sent = a
            .chat
            .send_composing_indication(ComposingState::Active, Some(1), None)
            .unwrap();
        assert_eq!(sent.headers.get("Success-Report"), Some("no"));
        assert_eq!(sent.headers.get("Failure-Report"), Some("no"));
        let ChatEvent::GotComposingIndication(c) = next(&b.rx) else {
            panic!("no indication")
        };
        assert_eq!(
            (c.state, c.refresh, c.local),
            (ComposingState::Active, Some(1), false)
        );
        assert_eq!(c.content_type.as_deref(), Some("text/plain"));
        let ChatEvent::GotComposingIndication(c) = next(&b.rx) else {
            panic!("no expiry")
        };
        assert_eq!((c.state, c.local), (ComposingState::Idle, true));

        let last = DateTime::parse("2024-05-01T10:00:00Z").unwrap();
        b.chat
            .send_composing_indication(ComposingState::Idle, None, Some(last))
            .unwrap();
        let ChatEvent::GotComposingIndication(c) = next(&a.rx) else {
            panic!("no indication")
        };
        assert_eq!((c.state, c.last_active), (ComposingState::Idle, Some(last)));

        // Renewed before its refresh passes: the expiry of the first is off.
        a.chat
            .send_composing_indication(ComposingState::Active, Some(1), None)
            .unwrap();
        a.chat
            .send_composing_indication(ComposingState::Idle, None, None)
            .unwrap();
        let states: Vec<_> = (0..2)
            .map(|_| match next(&b.rx) {
                ChatEvent::GotComposingIndication(c) => c.state,
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(states, [ComposingState::Active, ComposingState::Idle]);
        assert!(b.rx.recv_timeout(Duration::from_millis(1500)).is_err());
        a.chat.end();
        b.chat.end();
    });
}

#[test]
fn both_active_fails_sdp_negotiation() {
    within(LIMIT, || {
        let a = side(config(true, None));
        let mut other = a.media.clone();
        other.setup = Some(Setup::Active);
        assert!(matches!(
            a.chat.start(&other),
            Err(ChatError::Negotiation(_))
        ));
        let ChatEvent::DidFail { context, .. } = next(&a.rx) else {
            panic!("no failure")
        };
        assert_eq!(context, FailureContext::SdpNegotiation);
        a.chat.end();
        assert!(matches!(next(&a.rx), ChatEvent::WillEnd));
        assert!(matches!(next(&a.rx), ChatEvent::DidEnd));
    });
}

#[test]
fn an_incoming_chat_connects_when_the_peer_is_passive() {
    within(LIMIT, || {
        let a = side(config(false, None));
        let b = side(config(false, None));
        // `a` keeps listening (its peer says active); `b` is told `a` is
        // passive and connects.
        let mut b_as_active = b.media.clone();
        b_as_active.setup = Some(Setup::Active);
        let am = a.media.clone();
        start_pair(&a, &b, b_as_active, am);
        says(&b, &a, "reversed");
        a.chat.end();
        b.chat.end();
    });
}

#[test]
fn start_failure_is_reported() {
    within(LIMIT, || {
        let mut c = config(true, None);
        c.bind.timeouts.connect = Duration::from_secs(2);
        let (a, rx) = Chat::with_channel(c).unwrap();
        a.initialize().unwrap();
        // A listener that is closed again: nobody answers on that port.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let text = format!(
            "m=message {port} TCP/MSRP *\r\na=path:msrp://127.0.0.1:{port}/abc;tcp\r\na=accept-types:*\r\n"
        );
        let remote = MsrpMedia::parse(&text).unwrap();
        assert!(a.start(&remote).is_err());
        assert!(matches!(next(&rx), ChatEvent::DidInitialize { .. }));
        assert!(matches!(
            next(&rx),
            ChatEvent::DidFail {
                context: FailureContext::Start,
                ..
            }
        ));
        assert!(matches!(
            a.send_message("x", "text/plain", None, None),
            Err(ChatError::Closed)
        ));
        assert!(matches!(a.start(&remote), Err(ChatError::Closed)));
        a.end();
        assert_eq!(next(&rx).name(), "MSRPChatWillEnd");
        assert_eq!(next(&rx).name(), "MSRPChatDidEnd");
    });
}

#[test]
fn wrong_order_calls_are_errors() {
    within(LIMIT, || {
        let (a, _rx) = Chat::with_channel(config(true, None)).unwrap();
        let media =
            MsrpMedia::parse("m=message 9 TCP/MSRP *\r\na=path:msrp://127.0.0.1:9/x;tcp\r\n")
                .unwrap();
        assert!(matches!(a.start(&media), Err(ChatError::State(_))));
        a.initialize().unwrap();
        assert!(matches!(a.initialize(), Err(ChatError::State(_))));
        assert!(matches!(
            a.send_message("x", "text/plain\r\nX: y", None, None),
            Err(ChatError::InvalidArgument(_))
        ));
        a.end();
    });
}

// ------------------------------------------------------------ through a relay

/// Where a chunk read into `buf` ends (after its end-line), if all of it
/// is there. Good enough for the test's own traffic, whose bodies never
/// hold an end-line.
fn chunk_end(buf: &[u8]) -> Option<usize> {
    let line = buf.windows(2).position(|w| w == b"\r\n")?;
    let start = std::str::from_utf8(&buf[..line]).ok()?;
    let marker = format!("\r\n-------{}", start.split(' ').nth(1)?);
    let at = buf
        .windows(marker.len())
        .position(|w| w == marker.as_bytes())?;
    let end = at + marker.len() + 3; // flag and CRLF
    (buf.len() >= end).then_some(end)
}

fn read_whole(conn: &mut TcpStream, buf: &mut Vec<u8>) -> Option<Chunk> {
    loop {
        if let Some(end) = chunk_end(buf) {
            let chunk = parse_chunk(&buf[..end]).ok()?;
            buf.drain(..end);
            return Some(chunk);
        }
        let mut tmp = [0u8; 8192];
        match conn.read(&mut tmp) {
            Ok(0) | Err(_) => return None,
            Ok(n) => buf.extend_from_slice(&tmp[..n]),
        }
    }
}

/// A request as a relay passes it on: the relay's own URI leaves the
/// front of To-Path and joins the front of From-Path.
fn pass_on(mut req: Chunk) -> Chunk {
    let join = |v: &[Uri]| v.iter().map(Uri::to_string).collect::<Vec<_>>().join(" ");
    let mut to = req.to_path().unwrap().unwrap();
    let mut from = req.from_path().unwrap().unwrap();
    from.insert(0, to.remove(0));
    req.headers.set("To-Path", join(&to));
    req.headers.set("From-Path", join(&from));
    req
}

/// Moves chunks from `src` to `dst` (requests passed on, responses as
/// they are) until `src` ends, then ends `dst`'s direction too.
fn pump(mut src: TcpStream, mut dst: TcpStream, mut buf: Vec<u8>) {
    while let Some(chunk) = read_whole(&mut src, &mut buf) {
        let chunk = if chunk.method().is_some() {
            pass_on(chunk)
        } else {
            chunk
        };
        if dst.write_all(&chunk.encode()).is_err() {
            break;
        }
    }
    let _ = dst.shutdown(Shutdown::Write);
}

/// A fake relay on 127.0.0.1 for one session: grants the first AUTH with
/// a Use-Path of its own, then connects to the next hop the bind SEND
/// names and relays both ways.
fn fake_relay() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    thread::spawn(move || {
        let (mut a, _) = listener.accept().unwrap();
        let mut a_buf = Vec::new();
        let auth = read_whole(&mut a, &mut a_buf).unwrap();
        assert_eq!(auth.method(), Some("AUTH"));
        let mut ok = make_response(&auth, 200, Some("OK")).unwrap().unwrap();
        ok.headers
            .set("Use-Path", format!("msrp://127.0.0.1:{port}/relayed;tcp"));
        ok.headers.set("Expires", "600");
        a.write_all(&ok.encode()).unwrap();
        let bind = read_whole(&mut a, &mut a_buf).unwrap();
        let next = bind.to_path().unwrap().unwrap()[1].clone();
        let mut b = TcpStream::connect(("127.0.0.1", next.port.unwrap())).unwrap();
        b.write_all(&pass_on(bind).encode()).unwrap();
        let (a2, b2) = (a.try_clone().unwrap(), b.try_clone().unwrap());
        let back = thread::spawn(move || pump(b2, a2, Vec::new()));
        pump(a, b, a_buf);
        let _ = back.join();
    });
    port
}

#[test]
fn a_chat_through_a_relay() {
    within(LIMIT, || {
        let port = fake_relay();
        let mut c = config(true, None);
        let mut relay = RelaySettings::new("relay.test", "alice", "secret");
        relay.host = Some("127.0.0.1".into());
        relay.port = Some(port);
        c.relay = Some(relay);
        let a = side(c);
        let relay_uri = format!("msrp://127.0.0.1:{port}/relayed;tcp");
        assert_eq!(a.media.path[0].to_string(), relay_uri);
        assert_eq!(a.media.path.len(), 2);
        let b = side(config(false, None));
        let (am, bm) = (a.media.clone(), b.media.clone());
        start_pair(&a, &b, bm, am);
        let sent = a
            .chat
            .send_message("via the relay", "text/plain", None, None)
            .unwrap();
        let ChatEvent::GotMessage(m) = next(&b.rx) else {
            panic!("not a message")
        };
        assert_eq!(m.text().as_deref(), Some("via the relay"));
        assert!(m
            .message
            .headers
            .get("From-Path")
            .unwrap()
            .starts_with(&relay_uri));
        let ChatEvent::DidDeliverMessage(r) = next(&a.rx) else {
            panic!("no report")
        };
        assert_eq!(Some(r.message_id.as_str()), sent.message_id());
        b.chat
            .send_message("back", "text/plain", None, None)
            .unwrap();
        let ChatEvent::GotMessage(m) = next(&a.rx) else {
            panic!("not a message")
        };
        assert_eq!(m.text().as_deref(), Some("back"));
        a.chat.end();
        assert_eq!(next(&a.rx).name(), "MSRPChatWillEnd");
        assert_eq!(next(&a.rx).name(), "MSRPChatDidEnd");
        b.chat.end();
    });
}

#[test]
fn a_queued_message_the_peer_cannot_take_is_not_delivered_at_start() {
    within(LIMIT, || {
        let (a, arx) = Chat::with_channel(config(true, None)).unwrap();
        let private = a
            .send_message("psst", "text/plain", Some("sip:carol@example.com"), None)
            .unwrap();
        a.send_message("fine", "text/plain", None, None).unwrap();
        let am = a.initialize().unwrap();
        let b = side(config(false, Some(&["text/plain"])));
        let bm = b.media.clone();
        let bob = b.chat.clone();
        let t = thread::spawn(move || bob.start(&am));
        a.start(&bm).unwrap();
        t.join().unwrap().unwrap();
        assert_eq!(next(&arx).name(), "MSRPChatDidInitialize");
        assert_eq!(next(&arx).name(), "MSRPChatDidStart");
        let ChatEvent::DidNotDeliverMessage(r) = next(&arx) else {
            panic!("no local failure")
        };
        assert_eq!(Some(r.message_id.as_str()), private.message_id());
        assert_eq!((r.code, r.local), (415, true));
        assert!(matches!(next(&b.rx), ChatEvent::DidStart));
        let ChatEvent::GotMessage(m) = next(&b.rx) else {
            panic!("not a message")
        };
        assert_eq!(m.text().as_deref(), Some("fine"));
        a.end();
        b.chat.end();
    });
}

// ------------------------------------------------------------------- TLS

/// TLS settings trusting a CA made now, presenting a certificate it
/// signed for 127.0.0.1.
fn tls_settings() -> ChatTls {
    let ca_key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params
        .distinguished_name
        .push(DnType::CommonName, "msgwire chat test CA");
    let ca = params.self_signed(&ca_key).unwrap();
    let key = KeyPair::generate().unwrap();
    let leaf = CertificateParams::new(vec!["127.0.0.1".to_string()])
        .unwrap()
        .signed_by(&key, &ca, &ca_key)
        .unwrap();
    ChatTls {
        server: Some(
            TlsServerConfig::from_pem(leaf.pem().as_bytes(), key.serialize_pem().as_bytes())
                .unwrap(),
        ),
        client: Some(TlsClientConfig::with_ca_pem(ca.pem().as_bytes()).unwrap()),
    }
}

#[test]
fn two_chats_over_tls() {
    within(LIMIT, || {
        let tls = tls_settings();
        let mut ca = config(true, None);
        ca.tls = Some(tls.clone());
        let mut cb = config(false, None);
        cb.tls = Some(tls);
        let a = side(ca);
        let b = side(cb);
        for s in [&a, &b] {
            let text = s.media.encode().unwrap();
            assert!(text.contains(" TCP/TLS/MSRP *\r\n"), "{text}");
            assert!(text.contains("a=path:msrps://127.0.0.1:"), "{text}");
            assert!(s.media.path.iter().all(|u| u.secure));
        }
        let (am, bm) = (a.media.clone(), b.media.clone());
        start_pair(&a, &b, bm, am);
        says(&a, &b, "secret");
        assert!(matches!(next(&a.rx), ChatEvent::DidDeliverMessage(_)));
        says(&b, &a, "back");
        a.chat.end();
        b.chat.end();
    });
}

#[test]
fn tls_without_the_side_it_needs_fails_initialize() {
    within(LIMIT, || {
        // An outgoing chat connects: it needs what it trusts.
        let mut c = config(true, None);
        c.tls = Some(ChatTls {
            client: None,
            ..tls_settings()
        });
        let (chat, rx) = Chat::with_channel(c).unwrap();
        assert!(matches!(chat.initialize(), Err(ChatError::Endpoint(_))));
        assert!(matches!(
            next(&rx),
            ChatEvent::DidFail {
                context: FailureContext::Initialize,
                ..
            }
        ));
        // An incoming chat listens: it needs its certificate.
        let mut c = config(false, None);
        c.tls = Some(ChatTls {
            server: None,
            ..tls_settings()
        });
        let (chat, _rx) = Chat::with_channel(c).unwrap();
        assert!(matches!(chat.initialize(), Err(ChatError::Endpoint(_))));
    });
}

// ---------------------------------------- a raw peer: refusals on the wire

/// A raw MSRP peer connected and bound to an incoming chat `b` (started
/// on its own thread); returns the connection and the peer's URI.
fn raw_peer(b: &Side) -> (TcpStream, Uri, thread::JoinHandle<Result<(), ChatError>>) {
    let me: Uri = "msrp://127.0.0.1:9/rawpeer;tcp".parse().unwrap();
    let mut media = MsrpMedia::for_path(vec![me.clone()], vec!["*".into()]);
    media.setup = Some(Setup::Active);
    let bob = b.chat.clone();
    let t = thread::spawn(move || bob.start(&media));
    let target = &b.media.path[0];
    let mut conn = TcpStream::connect(("127.0.0.1", target.port.unwrap())).unwrap();
    conn.set_read_timeout(Some(WAIT)).unwrap();
    let mut bind = Chunk::request("bind0001", "SEND");
    bind.headers.set("To-Path", target.to_string());
    bind.headers.set("From-Path", me.to_string());
    bind.headers.set("Message-ID", "bind-mid");
    bind.headers.set("Byte-Range", "1-0/0");
    conn.write_all(&bind.encode()).unwrap();
    let mut buf = Vec::new();
    let ok = read_whole(&mut conn, &mut buf).unwrap();
    assert_eq!(ok.code(), Some(200));
    (conn, me, t)
}

fn raw_request(b: &Side, me: &Uri, tid: &str, method: &str) -> Chunk {
    let mut c = Chunk::request(tid, method);
    c.headers.set("To-Path", b.media.path[0].to_string());
    c.headers.set("From-Path", me.to_string());
    c
}

fn cpim_send(b: &Side, me: &Uri, tid: &str, mid: &str, range: &str, body: &[u8]) -> Chunk {
    let mut c = raw_request(b, me, tid, "SEND");
    c.headers.set("Message-ID", mid);
    c.headers.set("Byte-Range", range);
    c.headers.set("Failure-Report", "partial");
    c.headers.set("Success-Report", "yes");
    c.headers.set("Content-Type", "message/cpim");
    c.data = bytes::Bytes::copy_from_slice(body);
    c
}

/// Reads the next chunk the chat sends; skips nothing.
fn read_next(conn: &mut TcpStream, buf: &mut Vec<u8>) -> Chunk {
    read_whole(conn, buf).expect("a chunk from the chat")
}

const PNG_IN_CPIM: &[u8] = b"From: <sip:alice@example.com>\r\nTo: <sip:bob@example.com>\r\n\r\nContent-Type: image/png\r\n\r\n\x89PNG....";

#[test]
fn a_wrapped_type_the_chat_does_not_accept_is_refused_415_on_the_wire() {
    within(LIMIT, || {
        let mut cb = config(false, None);
        cb.accept_wrapped_types = vec!["text/plain".into()];
        let b = side(cb);
        let (mut conn, me, t) = raw_peer(&b);
        t.join().unwrap().unwrap();
        assert!(matches!(next(&b.rx), ChatEvent::DidStart));
        let mut buf = Vec::new();
        // A whole message: 415, exactly these bytes, and no REPORT.
        let send = cpim_send(&b, &me, "tid00001", "mid-png", "1-*/*", PNG_IN_CPIM);
        conn.write_all(&send.encode()).unwrap();
        let got = read_next(&mut conn, &mut buf);
        assert_eq!(
            &got.encode()[..],
            format!(
                "MSRP tid00001 415 Unsupported media type\r\n\
                 To-Path: {me}\r\n\
                 From-Path: {}\r\n\
                 -------tid00001$\r\n",
                b.media.path[0]
            )
            .as_bytes()
        );
        // In two chunks: refused at the first, the second refused too.
        let (head, tail) = PNG_IN_CPIM.split_at(90);
        let total = PNG_IN_CPIM.len();
        let mut first = cpim_send(
            &b,
            &me,
            "tid00002",
            "mid-png2",
            &format!("1-90/{total}"),
            head,
        );
        first.flag = Flag::Continue;
        let second = cpim_send(
            &b,
            &me,
            "tid00003",
            "mid-png2",
            &format!("91-{total}/{total}"),
            tail,
        );
        conn.write_all(&first.encode()).unwrap();
        let got = read_next(&mut conn, &mut buf);
        assert_eq!(
            (got.transaction_id.as_str(), got.code()),
            ("tid00002", Some(415))
        );
        conn.write_all(&second.encode()).unwrap();
        let got = read_next(&mut conn, &mut buf);
        assert_eq!(
            (got.transaction_id.as_str(), got.code()),
            ("tid00003", Some(415))
        );
        // An accepted type goes through: its REPORT (200) is the next thing
        // on the wire, and it is the only message posted.
        let text = b"From: <sip:alice@example.com>\r\nTo: <sip:bob@example.com>\r\n\r\nContent-Type: text/plain\r\n\r\nhi";
        conn.write_all(&cpim_send(&b, &me, "tid00004", "mid-text", "1-*/*", text).encode())
            .unwrap();
        let got = read_next(&mut conn, &mut buf);
        assert_eq!(got.method(), Some("REPORT"));
        assert_eq!(got.message_id(), Some("mid-text"));
        let ChatEvent::GotMessage(m) = next(&b.rx) else {
            panic!("not a message")
        };
        assert_eq!(&m.content[..], b"hi");
        assert_eq!(m.message.message_id(), Some("mid-text"));
        drop(conn);
        b.chat.end();
        assert!(b
            .rx
            .try_iter()
            .all(|e| !matches!(e, ChatEvent::GotMessage(_))));
    });
}

#[test]
fn a_chat_answers_nickname_501_at_once() {
    within(LIMIT, || {
        let b = side(config(false, None));
        let (mut conn, me, t) = raw_peer(&b);
        t.join().unwrap().unwrap();
        let mut nick = raw_request(&b, &me, "nick0001", "NICKNAME");
        nick.headers.set("Use-Nickname", "\"Alice\"");
        conn.write_all(&nick.encode()).unwrap();
        let mut buf = Vec::new();
        let got = read_next(&mut conn, &mut buf);
        assert_eq!(
            &got.encode()[..],
            format!(
                "MSRP nick0001 501 Method unknown\r\n\
                 To-Path: {me}\r\n\
                 From-Path: {}\r\n\
                 -------nick0001$\r\n",
                b.media.path[0]
            )
            .as_bytes()
        );
        drop(conn);
        b.chat.end();
    });
}

/// A CPIM message the sender split into three chunks (with a one-chunk
/// message between two of them) is posted once, whole; an aborted one is
/// never posted.
#[test]
fn a_message_in_several_chunks_is_posted_once_whole() {
    within(LIMIT, || {
        let b = side(config(false, None));
        let (mut conn, me, t) = raw_peer(&b);
        t.join().unwrap().unwrap();
        assert!(matches!(next(&b.rx), ChatEvent::DidStart));
        let text: String = (0..200_000)
            .map(|i| (b'a' + (i % 26) as u8) as char)
            .collect();
        let mut cpim = b"From: <sip:alice@example.com>\r\nTo: <sip:bob@example.com>\r\n\r\n\
                         Content-Type: text/plain\r\n\r\n"
            .to_vec();
        cpim.extend_from_slice(text.as_bytes());
        let n = cpim.len();
        let (one, two) = (70_000, 140_000);
        let mut first = cpim_send(
            &b,
            &me,
            "big00001",
            "mid-big",
            &format!("1-*/{n}"),
            &cpim[..one],
        );
        first.flag = Flag::Continue;
        let small = cpim_send(
            &b,
            &me,
            "sml00001",
            "mid-small",
            "1-*/*",
            b"From: <sip:alice@example.com>\r\nTo: <sip:bob@example.com>\r\n\r\nContent-Type: text/plain\r\n\r\nmeanwhile",
        );
        let mut second = cpim_send(
            &b,
            &me,
            "big00002",
            "mid-big",
            &format!("{}-*/{n}", one + 1),
            &cpim[one..two],
        );
        second.flag = Flag::Continue;
        let third = cpim_send(
            &b,
            &me,
            "big00003",
            "mid-big",
            &format!("{}-{n}/{n}", two + 1),
            &cpim[two..],
        );
        // An aborted message, never completed.
        let mut gone = cpim_send(&b, &me, "gon00001", "mid-gone", "1-*/100", &cpim[..50]);
        gone.flag = Flag::Continue;
        let mut abort = cpim_send(&b, &me, "gon00002", "mid-gone", "51-*/100", b"");
        abort.flag = Flag::Abort;
        for c in [&first, &small, &gone, &second, &abort, &third] {
            conn.write_all(&c.encode()).unwrap();
        }
        let ChatEvent::GotMessage(m) = next(&b.rx) else {
            panic!("not a message")
        };
        assert_eq!(m.content.len(), 9, "the small message comes first");
        assert_eq!(m.text().as_deref(), Some("meanwhile"));
        let len = m.message.data.len();
        assert_eq!(
            m.message.headers.get("Byte-Range"),
            Some(format!("1-{len}/{len}").as_str()),
            "the range of a whole message, whatever the chunk said"
        );
        let ChatEvent::GotMessage(m) = next(&b.rx) else {
            panic!("not a message")
        };
        assert_eq!(m.content.len(), text.len());
        assert!(m.text().as_deref() == Some(text.as_str()));
        assert_eq!(m.content_type, "text/plain");
        assert_eq!(
            m.cpim_headers[0],
            ("From".into(), "<sip:alice@example.com>".into())
        );
        assert_eq!(m.message.message_id(), Some("mid-big"));
        assert_eq!(
            m.message.transaction_id, "big00001",
            "the first chunk's head"
        );
        assert_eq!(m.message.flag, Flag::End);
        assert_eq!(m.message.data.len(), n);
        assert_eq!(
            m.message.headers.get("Byte-Range"),
            Some(format!("1-{n}/{n}").as_str())
        );
        drop(conn);
        b.chat.end();
        while let Ok(ev) = b.rx.recv_timeout(WAIT) {
            assert!(!matches!(ev, ChatEvent::GotMessage(_)), "{ev:?}");
            if matches!(ev, ChatEvent::DidEnd) {
                break;
            }
        }
    });
}
