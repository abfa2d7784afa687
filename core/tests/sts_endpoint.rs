//! STS client and server over loopback TCP (port 0): requests with one,
//! several and error replies, unknown commands, timeouts and late replies,
//! pings and idle drops, fragments both ways, many requests in flight,
//! multi-destination messages, detach/attach, and replies out of sequence
//! from a hand-written server. Every body runs under [`within`].

mod common;
use common::within;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use bytes::Bytes;
use crossbeam_channel as channel;
use msgwire::sts::client::{ClientConfig, RequestError, StsClient};
use msgwire::sts::error::ErrorReply;
use msgwire::sts::header::Headers;
use msgwire::sts::message::Message;
use msgwire::sts::parser::Parser;
use msgwire::sts::peer::{CloseReason, ReplyItem};
use msgwire::sts::server::{ServerConfig, ServerEvent, StsServer};

const LIMIT: Duration = Duration::from_secs(60);
const WAIT: Duration = Duration::from_secs(20);

fn server() -> StsServer {
    StsServer::bind("127.0.0.1:0", ServerConfig::default()).unwrap()
}

fn client(server: &StsServer) -> StsClient {
    StsClient::connect(server.local_addr(), ClientConfig::default()).unwrap()
}

fn text(m: &Message) -> &str {
    std::str::from_utf8(&m.body).unwrap()
}

/// An echo route: the final reply carries the request's body and
/// Content-Type.
fn echo(server: &StsServer) {
    server.route("Test", "Echo", |req| {
        let mut headers = Headers::new();
        if let Some(ct) = req.message.headers.get("Content-Type") {
            headers.set("Content-Type", ct);
        }
        if let Some(r) = req.responder {
            r.reply(headers, req.message.body.clone()).unwrap();
        }
    });
}

#[test]
fn request_one_round_trip_and_unknown_command() {
    within(LIMIT, || {
        let s = server();
        echo(&s);
        let c = client(&s);
        let reply = c
            .request_one("Test", "Echo", Headers::new(), "<Hi/>", None)
            .unwrap();
        // The XML trailing LF travels with the body.
        assert_eq!(text(&reply), "<Hi/>\n");
        assert_eq!(reply.status_code(), Some(200));
        match c.request_one("Test", "Nope", Headers::new(), "", None) {
            Err(RequestError::Error { status, error }) => {
                assert_eq!(status, 404);
                assert_eq!(error.code, 404);
                assert!(error.text.contains("/Test/Nope"), "{}", error.text);
            }
            other => panic!("expected a 404 error reply, got {other:?}"),
        }
    });
}

#[test]
fn partial_replies_then_the_final_one_and_error_replies() {
    within(LIMIT, || {
        let s = server();
        s.route("Test", "Many", |req| {
            let r = req.responder.unwrap();
            for i in 1..=3 {
                r.partial(Headers::new(), format!("<Part n=\"{i}\"/>"))
                    .unwrap();
            }
            r.reply(Headers::new(), "<Done/>").unwrap();
            assert!(r.is_answered());
            assert!(r.reply(Headers::new(), "").is_err(), "only one final");
        });
        s.route("Test", "Fail", |req| {
            let r = req.responder.unwrap();
            r.error(
                403,
                "Forbidden here",
                &ErrorReply {
                    code: 7,
                    server: 1,
                    module: 2,
                    line: 3,
                    text: "no & never".into(),
                },
            )
            .unwrap();
        });
        let c = client(&s);
        let items: Vec<ReplyItem> = c
            .request_many("Test", "Many", Headers::new(), "", None)
            .unwrap()
            .collect();
        assert_eq!(items.len(), 4);
        for (i, item) in items.iter().enumerate() {
            match item {
                ReplyItem::Reply { message, is_final } => {
                    assert_eq!(*is_final, i == 3);
                    if i < 3 {
                        assert_eq!(text(message), format!("<Part n=\"{}\"/>\n", i + 1));
                    } else {
                        assert_eq!(text(message), "<Done/>\n");
                    }
                }
                other => panic!("unexpected {other:?}"),
            }
        }
        // request_one refuses a multi-part answer.
        assert!(matches!(
            c.request_one("Test", "Many", Headers::new(), "", None),
            Err(RequestError::BadServerData(_))
        ));
        match c.request_one("Test", "Fail", Headers::new(), "", None) {
            Err(RequestError::Error { status, error }) => {
                assert_eq!(status, 403);
                assert_eq!(
                    (error.code, error.server, error.module, error.line),
                    (7, 1, 2, 3)
                );
                assert_eq!(error.text, "no & never");
            }
            other => panic!("expected an error reply, got {other:?}"),
        }
        // request_none: success without content.
        s.route("Test", "Ack", |req| {
            req.responder.unwrap().reply(Headers::new(), "").unwrap();
        });
        c.request_none("Test", "Ack", Headers::new(), "", None)
            .unwrap();
    });
}

#[test]
fn timeout_is_synthesized_and_the_late_reply_dropped() {
    within(LIMIT, || {
        let s = server();
        let (held_tx, held_rx) = channel::unbounded();
        s.route("Test", "Slow", move |req| {
            // Answer later, from another thread.
            let _ = held_tx.send(req.responder.unwrap());
        });
        echo(&s);
        let c = client(&s);
        let started = Instant::now();
        let r = c.request_one(
            "Test",
            "Slow",
            Headers::new(),
            "",
            Some(Duration::from_millis(150)),
        );
        assert!(matches!(r, Err(RequestError::Timeout)), "{r:?}");
        assert!(started.elapsed() >= Duration::from_millis(150));
        assert_eq!(c.peer().in_flight(), 0);
        // The late reply reaches the client and is dropped silently: the
        // next request gets its own answer.
        let responder = held_rx.recv_timeout(WAIT).unwrap();
        responder.reply(Headers::new(), "<Late/>").unwrap();
        let reply = c
            .request_one("Test", "Echo", Headers::new(), "<Next/>", None)
            .unwrap();
        assert_eq!(text(&reply), "<Next/>\n");
        assert!(c.read(Some(Duration::from_millis(100))).is_none());
    });
}

#[test]
fn client_pings_after_silence() {
    within(LIMIT, || {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let mut config = ClientConfig::default();
        config.peer.ping_interval = Some(Duration::from_millis(100));
        let c = StsClient::connect(listener.local_addr().unwrap(), config).unwrap();
        let (mut raw, _) = listener.accept().unwrap();
        raw.set_read_timeout(Some(WAIT)).unwrap();
        let ping = b"P /Sts/Ping STS/1.0\r\nl: 1\r\n\r\n\n";
        let mut got = vec![0u8; ping.len()];
        raw.read_exact(&mut got).unwrap();
        assert_eq!(got, ping);
        drop(c);
    });
}

#[test]
fn server_drops_an_idle_connection() {
    within(LIMIT, || {
        let mut config = ServerConfig::default();
        config.peer.idle_timeout = Some(Duration::from_millis(200));
        let s = StsServer::bind("127.0.0.1:0", config).unwrap();
        let (tx, rx) = channel::unbounded();
        s.on_event(move |ev| {
            if let ServerEvent::Disconnected(_, reason) = ev {
                let _ = tx.send(matches!(reason, Some(CloseReason::Idle)));
            }
        });
        let mut raw = TcpStream::connect(s.local_addr()).unwrap();
        raw.set_read_timeout(Some(WAIT)).unwrap();
        let mut buf = [0u8; 16];
        // The server closes: end-of-file (or a reset).
        assert!(matches!(raw.read(&mut buf), Ok(0) | Err(_)));
        assert!(rx.recv_timeout(WAIT).unwrap(), "closed for idleness");
        // A pinging client stays.
        let mut cc = ClientConfig::default();
        cc.peer.ping_interval = Some(Duration::from_millis(50));
        let c = StsClient::connect(s.local_addr(), cc).unwrap();
        thread::sleep(Duration::from_millis(600));
        assert!(!c.is_closed());
        assert_eq!(s.clients().len(), 1);
    });
}

#[test]
fn fragments_both_ways() {
    within(LIMIT, || {
        let s = server();
        echo(&s);
        let c = client(&s);
        let big: Vec<u8> = (0..1_000_000u32).map(|i| (i % 251) as u8).collect();
        let mut headers = Headers::new();
        headers.set("Content-Type", "application/octet-stream");
        let reply = c
            .request_one("Test", "Echo", headers, big.clone(), None)
            .unwrap();
        assert_eq!(reply.body.len(), big.len());
        assert!(reply.body[..] == big[..]);
        assert!(reply.headers.content_range_raw().is_none());
        // A simple message of 300 KB reaches the server whole.
        let (tx, rx) = channel::unbounded();
        s.route("Test", "Note", move |req| {
            let _ = tx.send(req.message.body.len());
        });
        let mut headers = Headers::new();
        headers.set("Content-Type", "text/plain");
        c.send("Test", "Note", headers, vec![b'x'; 300_000])
            .unwrap();
        assert_eq!(rx.recv_timeout(WAIT).unwrap(), 300_000);
        // Fragmented XML: the one trailing LF belongs to the whole content,
        // and every fragment stays within the 64 KiB body limit.
        let xml = format!("<Big>{}</Big>", "y".repeat(150_000));
        let reply = c
            .request_one("Test", "Echo", Headers::new(), xml.clone(), None)
            .unwrap();
        assert_eq!(reply.body.len(), xml.len() + 1);
        assert!(reply.body.ends_with(b"</Big>\n"));
    });
}

#[test]
fn a_thousand_requests_in_flight_on_one_connection() {
    within(LIMIT, || {
        let s = server();
        echo(&s);
        let c = client(&s);
        let pending: Vec<_> = (0..1000)
            .map(|i| {
                let body = format!("<N v=\"{i}\"/>");
                (
                    i,
                    c.request_many("Test", "Echo", Headers::new(), body, None)
                        .unwrap(),
                )
            })
            .collect();
        let mut ids = std::collections::HashSet::new();
        for (i, mut replies) in pending {
            assert!(ids.insert(replies.id()));
            match replies.next() {
                Some(ReplyItem::Reply {
                    message,
                    is_final: true,
                }) => assert_eq!(text(&message), format!("<N v=\"{i}\"/>\n")),
                other => panic!("request {i}: {other:?}"),
            }
        }
        assert_eq!(c.peer().in_flight(), 0);
    });
}

#[test]
fn one_message_to_fifty_clients() {
    within(LIMIT, || {
        let s = server();
        let connected = Arc::new(AtomicUsize::new(0));
        let seen = connected.clone();
        s.on_event(move |ev| {
            if let ServerEvent::Connected(_) = ev {
                seen.fetch_add(1, Ordering::SeqCst);
            }
        });
        let clients: Vec<StsClient> = (0..50).map(|_| client(&s)).collect();
        let deadline = Instant::now() + WAIT;
        while connected.load(Ordering::SeqCst) < 50 {
            assert!(Instant::now() < deadline, "clients did not connect");
            thread::sleep(Duration::from_millis(5));
        }
        let mut m = Message::request("Chat", "Notice");
        m.body = Bytes::from_static(b"<Notice>all</Notice>");
        assert_eq!(s.broadcast(&m, None).unwrap(), 50);
        for c in &clients {
            let got = c.read(Some(WAIT)).expect("the notice");
            assert_eq!(got.protocol_command(), Some(("Chat", "Notice")));
            assert_eq!(text(&got.message), "<Notice>all</Notice>\n");
            assert!(got.responder.is_none());
        }
        // To a chosen few.
        let ids: Vec<u64> = s.clients().iter().take(3).map(|h| h.id()).collect();
        assert_eq!(s.broadcast(&m, Some(&ids)).unwrap(), 3);
    });
}

#[test]
fn detach_and_attach_again() {
    within(LIMIT, || {
        let s = server();
        echo(&s);
        let c = client(&s);
        assert_eq!(
            text(
                &c.request_one("Test", "Echo", Headers::new(), "<A/>", None)
                    .unwrap()
            ),
            "<A/>\n"
        );
        let socket = c.detach().unwrap();
        assert!(c.is_closed());
        let again = StsClient::attach(socket, ClientConfig::default()).unwrap();
        assert_eq!(
            text(
                &again
                    .request_one("Test", "Echo", Headers::new(), "<B/>", None)
                    .unwrap()
            ),
            "<B/>\n"
        );
    });
}

/// A hand-written server answering each request with `replies` (subject
/// marks) and returning what it read.
fn raw_server(replies: Vec<&'static str>) -> (std::net::SocketAddr, thread::JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let h = thread::spawn(move || {
        let (mut sock, _) = listener.accept().unwrap();
        sock.set_read_timeout(Some(WAIT)).unwrap();
        let mut parser = Parser::new();
        let mut buf = [0u8; 4096];
        let request = loop {
            if let Some(m) = parser.next_message().unwrap() {
                if m.start.protocol_command() != Some(("Sts", "Ping")) {
                    break m;
                }
                continue;
            }
            let n = sock.read(&mut buf).unwrap();
            assert!(n > 0);
            parser.push(&buf[..n]);
        };
        let id = request.headers.subject().unwrap().to_string();
        for mark in &replies {
            let wire = format!("STS/1.0 200 OK\r\ns: {id}{mark}\r\nl: 0\r\n\r\n");
            sock.write_all(wire.as_bytes()).unwrap();
        }
        // Keep the connection until the client goes.
        let _ = sock.read(&mut buf);
    });
    (addr, h)
}

#[test]
fn replies_out_of_sequence_fail_the_request() {
    within(LIMIT, || {
        for marks in [vec!["r2"], vec!["r1", "r3"], vec!["r1", "R"]] {
            let (addr, h) = raw_server(marks.clone());
            let c = StsClient::connect(addr, ClientConfig::default()).unwrap();
            let items: Vec<ReplyItem> = c
                .request_many("T", "X", Headers::new(), "", None)
                .unwrap()
                .collect();
            assert!(
                matches!(items.last(), Some(ReplyItem::Failed(_))),
                "{marks:?}: {items:?}"
            );
            c.close();
            h.join().unwrap();
        }
    });
}

/// The test certificates of tests/data/tls (127.0.0.1, ::1, localhost).
fn tls_file(name: &str) -> Vec<u8> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/data/tls")
        .join(name);
    std::fs::read(path).unwrap()
}

#[test]
fn over_tls() {
    use msgwire::net::{Stream, TlsClientConfig, TlsServerConfig};
    within(LIMIT, || {
        let config = ServerConfig {
            tls: Some(
                TlsServerConfig::from_pem(&tls_file("server.pem"), &tls_file("server.key"))
                    .unwrap(),
            ),
            ..ServerConfig::default()
        };
        let s = StsServer::bind("127.0.0.1:0", config).unwrap();
        echo(&s);
        let tcp = TcpStream::connect(s.local_addr()).unwrap();
        let trust = TlsClientConfig::with_ca_pem(&tls_file("ca.pem")).unwrap();
        let stream = Stream::tls_connect(tcp, &trust, "127.0.0.1", WAIT).unwrap();
        let c = StsClient::attach_stream(stream, ClientConfig::default()).unwrap();
        let reply = c
            .request_one("Test", "Echo", Headers::new(), "<Secret/>", None)
            .unwrap();
        assert_eq!(text(&reply), "<Secret/>\n");
        // A TLS stream cannot be handed back.
        assert!(c.detach().is_err());
        // A plain client on the TLS port gets nowhere.
        let plain = StsClient::connect(s.local_addr(), ClientConfig::default()).unwrap();
        assert!(plain
            .request_one(
                "Test",
                "Echo",
                Headers::new(),
                "",
                Some(Duration::from_millis(500))
            )
            .is_err());
    });
}

#[test]
fn connect_notification_and_server_pushes() {
    within(LIMIT, || {
        use msgwire::sts::client::ConnectInfo;
        // The exact bytes of the /Sts/Connect notification.
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let c =
            StsClient::connect(listener.local_addr().unwrap(), ClientConfig::default()).unwrap();
        let (mut raw, _) = listener.accept().unwrap();
        raw.set_read_timeout(Some(WAIT)).unwrap();
        let mut info = ConnectInfo::new("Client", "Gw2 & <x>", "1234", "127.0.0.1");
        info.process = "32762".into();
        c.announce(&info).unwrap();
        let body = "<Connect><ConnType>Client</ConnType><Program>Gw2 &amp; &lt;x&gt;</Program>\
                    <Build>1234</Build><Process>32762</Process><ProductType>1000</ProductType>\
                    <AppIndex>1</AppIndex><Address>127.0.0.1</Address></Connect>\n";
        let expected = format!("P /Sts/Connect STS/1.0\r\nl: {}\r\n\r\n{body}", body.len());
        let mut got = vec![0u8; expected.len()];
        raw.read_exact(&mut got).unwrap();
        assert_eq!(String::from_utf8(got).unwrap(), expected);
        drop(c);

        // A server sends a request of its own to a client, which answers.
        let s = server();
        let (tx, rx) = channel::unbounded();
        s.on_event(move |ev| {
            if let ServerEvent::Connected(h) = ev {
                let _ = tx.send(h);
            }
        });
        let c = client(&s);
        let handle = rx.recv_timeout(WAIT).unwrap();
        handle
            .send(Message::request("Push", "Note").with_body("<N/>"))
            .unwrap();
        let note = c.read(Some(WAIT)).unwrap();
        assert_eq!(note.protocol_command(), Some(("Push", "Note")));
        let mut asking = handle
            .peer()
            .request(Message::request("Push", "Ask"), None)
            .unwrap();
        let question = c.read(Some(WAIT)).unwrap();
        question
            .responder
            .expect("a request")
            .reply(Headers::new(), "<Yes/>")
            .unwrap();
        match asking.next() {
            Some(ReplyItem::Reply {
                message,
                is_final: true,
            }) => assert_eq!(text(&message), "<Yes/>\n"),
            other => panic!("{other:?}"),
        }
    });
}

#[test]
fn garbage_closes_the_connection_with_a_protocol_error() {
    within(LIMIT, || {
        let s = server();
        echo(&s);
        let (tx, rx) = channel::unbounded();
        s.on_event(move |ev| match ev {
            ServerEvent::ProtocolError(_, why) => {
                let _ = tx.send(format!("error {why}"));
            }
            ServerEvent::Disconnected(_, reason) => {
                let _ = tx.send(format!(
                    "closed {}",
                    matches!(reason, Some(CloseReason::Protocol(_)))
                ));
            }
            _ => {}
        });
        let mut raw = TcpStream::connect(s.local_addr()).unwrap();
        raw.set_read_timeout(Some(WAIT)).unwrap();
        raw.write_all(b"HELLO THERE\r\n\r\n").unwrap();
        let first = rx.recv_timeout(WAIT).unwrap();
        assert!(first.starts_with("error "), "{first}");
        assert_eq!(rx.recv_timeout(WAIT).unwrap(), "closed true");
        let mut buf = [0u8; 16];
        assert!(matches!(raw.read(&mut buf), Ok(0) | Err(_)));
        // The server goes on serving others.
        let c = client(&s);
        let reply = c
            .request_one("Test", "Echo", Headers::new(), "<Ok/>", None)
            .unwrap();
        assert_eq!(text(&reply), "<Ok/>\n");
    });
}

#[test]
fn replies_to_a_callback() {
    within(LIMIT, || {
        let s = server();
        s.route("Test", "Many", |req| {
            let r = req.responder.unwrap();
            r.partial(Headers::new(), "<P1/>").unwrap();
            r.partial(Headers::new(), "<P2/>").unwrap();
            r.reply(Headers::new(), "<F/>").unwrap();
        });
        s.route("Test", "Never", |_req| {});
        let c = client(&s);
        let (tx, rx) = channel::unbounded();
        let tx2 = tx.clone();
        c.peer()
            .request_with(Message::request("Test", "Many"), None, move |item| {
                let _ = tx.send(match item {
                    ReplyItem::Reply { message, is_final } => {
                        format!("{} {is_final}", text(&message).trim_end())
                    }
                    other => format!("{other:?}"),
                });
            })
            .unwrap();
        let got: Vec<String> = (0..3).map(|_| rx.recv_timeout(WAIT).unwrap()).collect();
        assert_eq!(got, ["<P1/> false", "<P2/> false", "<F/> true"]);
        c.peer()
            .request_with(
                Message::request("Test", "Never"),
                Some(Duration::from_millis(100)),
                move |item| {
                    let _ = tx2.send(format!("{}", matches!(item, ReplyItem::Timeout)));
                },
            )
            .unwrap();
        assert_eq!(rx.recv_timeout(WAIT).unwrap(), "true");
        // Both callbacks were dropped after their last item.
        assert!(matches!(
            rx.recv_timeout(WAIT),
            Err(channel::RecvTimeoutError::Disconnected)
        ));
    });
}

/// A handler that replies and then closes the connection: the server
/// gathers what its reader thread sends during one read and writes it at
/// the end, so the close must let those replies out first.
#[test]
fn a_reply_sent_just_before_the_handler_closes_still_arrives() {
    within(LIMIT, || {
        let s = server();
        s.route("Test", "Bye", |req| {
            if let Some(r) = req.responder {
                r.partial(Headers::new(), Bytes::from_static(b"<One/>"))
                    .unwrap();
                r.reply(Headers::new(), Bytes::from_static(b"<Bye/>"))
                    .unwrap();
            }
            req.connection.close();
        });
        let c = client(&s);
        let items: Vec<ReplyItem> = c
            .request_many("Test", "Bye", Headers::new(), "", Some(WAIT))
            .unwrap()
            .collect();
        let bodies: Vec<&str> = items
            .iter()
            .map(|item| match item {
                ReplyItem::Reply { message, .. } => text(message),
                other => panic!("expected two replies, got {other:?}"),
            })
            .collect();
        assert_eq!(bodies, ["<One/>\n", "<Bye/>\n"]);
        let deadline = Instant::now() + WAIT;
        while !c.is_closed() {
            assert!(Instant::now() < deadline, "the server did not close");
            thread::sleep(Duration::from_millis(5));
        }
    });
}
