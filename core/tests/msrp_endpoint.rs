//! Endpoint tests: direct binding and the blocking session driver, over
//! loopback TCP with port 0. Every test body runs under [`within`], a
//! watchdog that fails the test instead of hanging the suite.

mod common;
use common::{bind_pair, local, start, within};

use std::io::{Read, Write};
use std::net::TcpListener;
use std::panic;
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use crossbeam_channel::{self as channel, Receiver};
use msgwire::msrp::endpoint::{
    BindOptions, BindTimeouts, BoundTransport, DirectAcceptor, DirectConnector, EndpointEvent,
    Error, MsrpSession, SessionState,
};
use msgwire::msrp::session::{SessionConfig, SessionEvent};
use msgwire::msrp::{parse_chunk, Chunk, ChunkBuilder, Flag, Uri};
use msgwire::net::{TlsClientConfig, TlsServerConfig};
use parking_lot::Mutex;

const LIMIT: Duration = Duration::from_secs(10);
const WAIT: Duration = Duration::from_secs(5);

fn next_incoming(rx: &Receiver<EndpointEvent>) -> Chunk {
    loop {
        match rx.recv_timeout(WAIT).expect("an event") {
            EndpointEvent::Session(SessionEvent::Incoming(c)) => return c,
            EndpointEvent::Session(_) => {}
            EndpointEvent::Closed(e) => panic!("closed early: {e:?}"),
            _ => {}
        }
    }
}

#[test]
fn messages_both_ways_with_success_reports() {
    within(LIMIT, || {
        let (a, b) = bind_pair(BindOptions::default(), BindOptions::default());
        let (alice, alice_rx) = start(a, SessionConfig::default());
        let (bob, bob_rx) = start(b, SessionConfig::default());
        assert_eq!(alice.paths().remote_uri, bob.paths().local_uri);

        for (from, to_rx, from_rx, text) in [
            (&alice, &bob_rx, &alice_rx, "hello bob"),
            (&bob, &alice_rx, &bob_rx, "hello alice"),
        ] {
            let mut msg = from.make_message(text.to_string(), "text/plain", None);
            msg.headers.set("Success-Report", "yes");
            let mid = msg.message_id().unwrap().to_string();
            let (otx, orx) = channel::bounded(1);
            from.send_chunk(msg, Some(Box::new(move |o| otx.send(o).unwrap())))
                .unwrap();
            let got = next_incoming(to_rx);
            assert_eq!(&got.data[..], text.as_bytes());
            let outcome = orx.recv_timeout(WAIT).unwrap();
            assert_eq!((outcome.response.code(), outcome.local), (Some(200), false));
            let report = next_incoming(from_rx);
            assert_eq!(report.method(), Some("REPORT"));
            assert_eq!(report.message_id(), Some(mid.as_str()));
            assert_eq!(report.status().unwrap().unwrap().code, 200);
        }
        alice.shutdown(true);
        bob.shutdown(true);
        assert_eq!(alice.state(), SessionState::Done);
    });
}

#[test]
fn deliver_chunk_returns_the_200() {
    within(LIMIT, || {
        let (a, b) = bind_pair(BindOptions::default(), BindOptions::default());
        let (alice, _arx) = start(a, SessionConfig::default());
        let (_bob, bob_rx) = start(b, SessionConfig::default());
        let msg = alice.make_message("hi", "text/plain", None);
        let tid = msg.transaction_id.clone();
        let response = alice.deliver_chunk(msg).unwrap().unwrap();
        assert_eq!(response.code(), Some(200));
        assert_eq!(response.transaction_id, tid);
        assert_eq!(&next_incoming(&bob_rx).data[..], b"hi");
        // Failure-Report: no returns at once without a response.
        let mut quiet = alice.make_message("quiet", "text/plain", None);
        quiet.headers.set("Failure-Report", "no");
        assert!(alice.deliver_chunk(quiet).unwrap().is_none());
        assert_eq!(&next_incoming(&bob_rx).data[..], b"quiet");
    });
}

#[test]
fn unsupported_type_is_refused_with_415() {
    within(LIMIT, || {
        let (a, b) = bind_pair(BindOptions::default(), BindOptions::default());
        let (alice, _arx) = start(a, SessionConfig::default());
        let bob_config = SessionConfig {
            accept_types: vec!["text/*".into()],
            ..SessionConfig::default()
        };
        let (_bob, bob_rx) = start(b, bob_config);
        let err = alice
            .deliver_chunk(alice.make_message("png", "image/png", None))
            .unwrap_err();
        match err {
            Error::Response {
                code,
                comment,
                local,
            } => {
                assert_eq!((code, local), (415, false));
                assert_eq!(comment.as_deref(), Some("Unsupported media type"));
            }
            other => panic!("{other:?}"),
        }
        assert!(
            bob_rx.try_recv().is_err(),
            "a refused SEND is not delivered"
        );
    });
}

#[test]
fn bind_with_unexpected_paths_fails_481() {
    within(LIMIT, || {
        let mut acceptor = DirectAcceptor::new(BindOptions::default());
        let acceptor_path = acceptor.prepare(local()).unwrap();
        let mut connector = DirectConnector::new(BindOptions::default());
        connector.prepare(None);
        // The acceptor expects a different peer session.
        let expected = vec![Uri::new(
            "127.0.0.1",
            Some(2855),
            Some("someoneelse".into()),
        )];
        let passive = thread::spawn(move || acceptor.complete(&expected));
        match connector.complete(&acceptor_path) {
            Err(Error::BindRejected { code: 481, .. }) => {}
            other => panic!("{other:?}"),
        }
        match passive.join().unwrap() {
            Err(Error::BindMismatch(c)) => assert_eq!(c, "Invalid From-Path"),
            other => panic!("{other:?}"),
        }
    });
}

#[test]
fn sessmatch_ignores_addresses() {
    within(LIMIT, || {
        let mut acceptor = DirectAcceptor::new(BindOptions {
            use_sessmatch: true,
            ..BindOptions::default()
        });
        let acceptor_path = acceptor.prepare(local()).unwrap();
        let mut connector = DirectConnector::new(BindOptions::default());
        let mut advertised = connector.prepare(None);
        // A middlebox rewrote the connector's address in the SDP.
        advertised[0].host = "10.1.2.3".into();
        let passive = thread::spawn(move || acceptor.complete(&advertised));
        connector.complete(&acceptor_path).unwrap();
        passive.join().unwrap().unwrap();
    });
}

/// A raw TCP peer: accepts one connection, answers the bind 200 with
/// `after_bind` appended in the same write, then runs `then`.
fn raw_peer(
    after_bind: impl Fn(&Chunk) -> Vec<u8> + Send + 'static,
    then: impl FnOnce(std::net::TcpStream) + Send + 'static,
) -> (Vec<Uri>, thread::JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let path = vec![Uri::new("127.0.0.1", Some(port), Some("rawpeer1".into()))];
    let handle = thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        let mut buf = vec![0; 4096];
        let n = s.read(&mut buf).unwrap();
        let bind = parse_chunk(&buf[..n]).unwrap();
        let mut reply = msgwire::msrp::make_response(&bind, 200, Some("OK"))
            .unwrap()
            .unwrap()
            .encode()
            .to_vec();
        reply.extend(after_bind(&bind));
        s.write_all(&reply).unwrap();
        then(s);
    });
    (path, handle)
}

#[test]
fn bytes_after_the_bind_reach_the_session() {
    within(LIMIT, || {
        let (path, peer) = raw_peer(
            |bind| {
                // A SEND from the peer in the same segment as the 200.
                let mut send = Chunk::request("early001", "SEND");
                send.headers
                    .set("To-Path", bind.headers.get("From-Path").unwrap());
                send.headers
                    .set("From-Path", bind.headers.get("To-Path").unwrap());
                send.headers.set("Message-ID", "m1");
                send.headers.set("Byte-Range", "1-5/5");
                send.headers.set("Content-Type", "text/plain");
                send.data = "early".into();
                send.encode().to_vec()
            },
            |mut s| {
                let mut buf = vec![0; 4096];
                let n = s.read(&mut buf).unwrap();
                let resp = parse_chunk(&buf[..n]).unwrap();
                assert_eq!(resp.transaction_id, "early001");
                assert_eq!(resp.code(), Some(200));
            },
        );
        let mut connector = DirectConnector::new(BindOptions::default());
        connector.prepare(None);
        let bound = connector.complete(&path).unwrap();
        let (_s, rx) = start(bound, SessionConfig::default());
        assert_eq!(&next_incoming(&rx).data[..], b"early");
        peer.join().unwrap();
    });
}

#[test]
fn silent_peer_gets_a_local_408() {
    within(LIMIT, || {
        let (path, peer) = raw_peer(
            |_| Vec::new(),
            |mut s| {
                // Read and never answer, until the other side goes.
                let mut buf = vec![0; 4096];
                while matches!(s.read(&mut buf), Ok(n) if n > 0) {}
            },
        );
        let mut connector = DirectConnector::new(BindOptions::default());
        connector.prepare(None);
        let bound = connector.complete(&path).unwrap();
        let config = SessionConfig {
            response_timeout: Duration::from_millis(100),
            ..SessionConfig::default()
        };
        let (session, _rx) = start(bound, config);
        let err = session
            .deliver_chunk(session.make_message("anyone?", "text/plain", None))
            .unwrap_err();
        assert!(
            matches!(
                err,
                Error::Response {
                    code: 408,
                    local: true,
                    ..
                }
            ),
            "{err:?}"
        );
        session.shutdown(true);
        peer.join().unwrap();
    });
}

#[test]
fn peer_close_is_reported_and_sending_fails() {
    within(LIMIT, || {
        let (a, b) = bind_pair(BindOptions::default(), BindOptions::default());
        let (alice, alice_rx) = start(a, SessionConfig::default());
        let (bob, _brx) = start(b, SessionConfig::default());
        bob.shutdown(true);
        loop {
            if let EndpointEvent::Closed(e) = alice_rx.recv_timeout(WAIT).expect("the close") {
                assert!(e.is_none(), "{e:?}");
                break;
            }
        }
        assert_eq!(alice.state(), SessionState::Done);
        let err = alice
            .deliver_chunk(alice.make_message("late", "text/plain", None))
            .unwrap_err();
        assert!(matches!(err, Error::Closed), "{err:?}");
    });
}

#[test]
fn shutdown_flushes_queued_messages() {
    within(LIMIT, || {
        let (a, b) = bind_pair(BindOptions::default(), BindOptions::default());
        let (alice, _arx) = start(a, SessionConfig::default());
        let received = Arc::new(Mutex::new(Vec::new()));
        let (closed_tx, closed_rx) = channel::bounded(1);
        let sink = received.clone();
        let _bob = MsrpSession::start(b, SessionConfig::default(), move |ev| match ev {
            EndpointEvent::Session(SessionEvent::Incoming(c)) => sink.lock().push(c.data),
            EndpointEvent::Closed(_) => closed_tx.send(()).unwrap(),
            _ => {}
        })
        .unwrap();
        let answered = Arc::new(Mutex::new(0));
        for i in 0..100 {
            let count = answered.clone();
            let msg = alice.make_message(format!("message {i}"), "text/plain", None);
            alice
                .send_chunk(
                    msg,
                    Some(Box::new(move |o| {
                        if o.response.code() == Some(200) && !o.local {
                            *count.lock() += 1;
                        }
                    })),
                )
                .unwrap();
        }
        alice.shutdown(true);
        assert_eq!(alice.state(), SessionState::Done);
        assert_eq!(*answered.lock(), 100, "every message was answered");
        closed_rx.recv_timeout(WAIT).unwrap();
        let got = received.lock();
        assert_eq!(got.len(), 100);
        for (i, data) in got.iter().enumerate() {
            assert_eq!(&data[..], format!("message {i}").as_bytes());
        }
        assert!(matches!(
            alice.send_chunk(alice.make_message("x", "text/plain", None), None),
            Err(Error::Closed)
        ));
    });
}

#[test]
fn bind_times_out_against_a_mute_peer() {
    within(LIMIT, || {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let (stop_tx, stop_rx) = channel::bounded::<()>(1);
        let peer = thread::spawn(move || {
            let (_s, _) = listener.accept().unwrap();
            let _ = stop_rx.recv_timeout(WAIT);
        });
        let mut connector = DirectConnector::new(BindOptions {
            timeouts: BindTimeouts {
                bind: Duration::from_millis(200),
                ..BindTimeouts::default()
            },
            ..BindOptions::default()
        });
        connector.prepare(None);
        let path = vec![Uri::new("127.0.0.1", Some(port), Some("mute".into()))];
        let started = std::time::Instant::now();
        match connector.complete(&path) {
            Err(Error::BindTimeout(t)) => assert_eq!(t, Duration::from_millis(200)),
            other => panic!("{other:?}"),
        }
        assert!(started.elapsed() < Duration::from_secs(2));
        stop_tx.send(()).unwrap();
        peer.join().unwrap();
    });
}

#[test]
fn acceptor_times_out_without_a_peer() {
    within(LIMIT, || {
        let mut acceptor = DirectAcceptor::new(BindOptions {
            timeouts: BindTimeouts {
                incoming_connect: Duration::from_millis(100),
                ..BindTimeouts::default()
            },
            ..BindOptions::default()
        });
        acceptor.prepare(local()).unwrap();
        let peer = vec![Uri::new("127.0.0.1", Some(2855), Some("nobody".into()))];
        assert!(matches!(
            acceptor.complete(&peer),
            Err(Error::IncomingConnectTimeout(_))
        ));
    });
}

/// A self-signed certificate for 127.0.0.1, as (cert PEM, key PEM).
fn self_signed() -> (String, String) {
    let ck =
        rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_string(), "localhost".to_string()])
            .unwrap();
    (ck.cert.pem(), ck.key_pair.serialize_pem())
}

/// Binds an msrps session; the client trusts `ca_pem` (or anything when
/// `None`). Returns the connector's result and the acceptor's.
fn bind_tls(
    cert: &(String, String),
    ca_pem: Option<&str>,
) -> (Result<BoundTransport, Error>, Result<BoundTransport, Error>) {
    let server = TlsServerConfig::from_pem(cert.0.as_bytes(), cert.1.as_bytes()).unwrap();
    let client = match ca_pem {
        Some(ca) => TlsClientConfig::with_ca_pem(ca.as_bytes()).unwrap(),
        None => TlsClientConfig::danger_accept_any_certificate().unwrap(),
    };
    let mut options = BindOptions::default();
    options.timeouts.bind = Duration::from_secs(3);
    let mut acceptor = DirectAcceptor::new(options.clone()).with_tls(server);
    let mut uri = Uri::new("127.0.0.1", Some(0), None);
    uri.secure = true;
    let acceptor_path = acceptor.prepare(Some(uri)).unwrap();
    assert_eq!(acceptor_path[0].scheme(), "msrps");
    let mut connector = DirectConnector::new(options).with_tls(client);
    let mut local = Uri::new("127.0.0.1", None, None);
    local.secure = true;
    let connector_path = connector.prepare(Some(local));
    let passive = thread::spawn(move || acceptor.complete(&connector_path));
    let active = connector.complete(&acceptor_path);
    (active, passive.join().unwrap())
}

#[test]
fn msrps_session_over_verified_tls() {
    within(LIMIT, || {
        let cert = self_signed();
        let (a, b) = bind_tls(&cert, Some(&cert.0));
        let (a, b) = (a.unwrap(), b.unwrap());
        assert!(a.is_tls() && b.is_tls());
        let (alice, _arx) = start(a, SessionConfig::default());
        let (bob, brx) = start(b, SessionConfig::default());
        let r = alice
            .deliver_chunk(alice.make_message("secret hello", "text/plain", None))
            .unwrap();
        assert_eq!(r.unwrap().code(), Some(200));
        assert_eq!(&next_incoming(&brx).data[..], b"secret hello");
        alice.shutdown(true);
        bob.shutdown(true);
    });
}

#[test]
fn msrps_rejects_an_untrusted_certificate_and_needs_a_config() {
    within(LIMIT, || {
        let cert = self_signed();
        let other = self_signed();
        // The client trusts another CA: the handshake fails on both sides.
        let (a, b) = bind_tls(&cert, Some(&other.0));
        assert!(matches!(a, Err(Error::Tls(_))), "{a:?}");
        assert!(b.is_err());
        // The explicit opt-out accepts the self-signed certificate.
        let (a, b) = bind_tls(&cert, None);
        assert!(a.is_ok() && b.is_ok());
        // An msrps peer without a TLS configuration is a setup error.
        let mut connector = DirectConnector::new(BindOptions::default());
        connector.prepare(None);
        let mut peer = Uri::new("127.0.0.1", Some(9), Some("x".into()));
        peer.secure = true;
        assert!(matches!(
            connector.complete(&[peer]),
            Err(Error::TlsNotConfigured)
        ));
    });
}

#[test]
fn traffic_logger_sees_both_directions_with_addresses() {
    use msgwire::msrp::session::SharedLogger;
    use msgwire::msrp::trafficlog::TrafficLogger;

    #[derive(Default)]
    struct Rec(Mutex<Vec<String>>);
    impl TrafficLogger for Rec {
        fn received_new_chunk(&self, c: &str, head: &msgwire::msrp::Head<'_>) {
            self.0
                .lock()
                .push(format!("{c} rx {}", head.transaction_id()));
        }
        fn sent_new_chunk(&self, c: &str, tid: &str, _: &[u8]) {
            self.0.lock().push(format!("{c} tx {tid}"));
        }
    }
    within(LIMIT, || {
        let (a, b) = bind_pair(BindOptions::default(), BindOptions::default());
        let rec = Arc::new(Rec::default());
        let config = SessionConfig {
            logger: Some(SharedLogger {
                logger: rec.clone(),
                label: String::new(),
            }),
            ..SessionConfig::default()
        };
        let (alice, _arx) = start(a, config);
        let (bob, _brx) = start(b, SessionConfig::default());
        let msg = alice.make_message("logged", "text/plain", None);
        let tid = msg.transaction_id.clone();
        alice.deliver_chunk(msg).unwrap();
        let lines = rec.0.lock().clone();
        assert!(
            lines.iter().any(|l| l.ends_with(&format!("tx {tid}"))),
            "{lines:?}"
        );
        assert!(
            lines.iter().any(|l| l.ends_with(&format!("rx {tid}"))),
            "{lines:?}"
        );
        assert!(
            lines
                .iter()
                .all(|l| l.starts_with("127.0.0.1:") && l.contains(" <-> 127.0.0.1:")),
            "{lines:?}"
        );
        alice.shutdown(true);
        bob.shutdown(true);
    });
}

// ------------------------------------------------- raw I/O before a session

/// A SEND along `bound`'s paths carrying `body` (whole message).
fn send_along(bound: &BoundTransport, body: &[u8]) -> Chunk {
    let paths = bound.paths();
    ChunkBuilder::send(body.to_vec())
        .content_type("text/plain")
        .build(&paths.to_path_value(), &paths.from_path_value())
}

#[test]
fn raw_chunks_both_ways_before_a_session() {
    within(LIMIT, || {
        let (mut a, mut b) = bind_pair(BindOptions::default(), BindOptions::default());
        fn exchange(from: &mut BoundTransport, to: &mut BoundTransport) {
            let chunk = send_along(from, b"raw hello");
            from.write_chunk(&chunk).unwrap();
            let got = to.read_chunk(None).unwrap();
            assert_eq!(got.segment, None);
            assert_eq!(got.chunk.transaction_id, chunk.transaction_id);
            assert_eq!(got.chunk.method(), Some("SEND"));
            assert_eq!(got.chunk.headers, chunk.headers);
            assert_eq!(&got.chunk.data[..], b"raw hello");
            // The response goes back the same way.
            assert!(to.write_response(&got.chunk, 200, Some("OK")).unwrap());
            let response = from.read_chunk(Some(4096)).unwrap().chunk;
            assert_eq!(response.code(), Some(200));
            assert_eq!(response.transaction_id, chunk.transaction_id);
        }
        exchange(&mut a, &mut b);
        exchange(&mut b, &mut a);
        // Failure-Report: no owes no response: nothing is written.
        let mut quiet = send_along(&a, b"quiet");
        quiet.headers.set("Failure-Report", "no");
        assert!(!b.write_response(&quiet, 200, Some("OK")).unwrap());
        // A read with a timeout that passes loses nothing.
        let err = a
            .read_chunk_timeout(None, Some(Duration::from_millis(50)))
            .unwrap_err();
        assert!(matches!(&err, Error::Io(e) if e.kind() == std::io::ErrorKind::TimedOut));
        b.write(b"MSRP tid01 SEND\r\nTo-Path: x\r\n").unwrap();
        let err = a
            .read_chunk_timeout(None, Some(Duration::from_millis(50)))
            .unwrap_err();
        assert!(matches!(&err, Error::Io(_)), "{err:?}");
        b.write(b"From-Path: y\r\n\r\nabc\r\n-------tid01$\r\n")
            .unwrap();
        let got = a.read_chunk(None).unwrap().chunk;
        assert_eq!(
            (got.transaction_id.as_str(), &got.data[..]),
            ("tid01", &b"abc"[..])
        );
    });
}

#[test]
fn large_body_comes_in_segments() {
    within(LIMIT, || {
        let (mut a, mut b) = bind_pair(BindOptions::default(), BindOptions::default());
        let body: Vec<u8> = (0..10_000u32).map(|i| (i % 251) as u8).collect();
        let chunk = send_along(&a, &body);
        a.write_chunk(&chunk).unwrap();
        let mut got = Vec::new();
        let mut expected_start = 1;
        for n in 1..=3u32 {
            let part = b.read_chunk(Some(4096)).unwrap();
            assert_eq!(part.segment, Some(n));
            let c = part.chunk;
            assert_eq!(c.transaction_id, chunk.transaction_id);
            let len = if n < 3 { 4096 } else { 10_000 - 2 * 4096 };
            assert_eq!(c.data.len(), len);
            let flag = if n < 3 { Flag::Continue } else { Flag::End };
            assert_eq!(c.flag, flag);
            let range = c.byte_range().unwrap().unwrap();
            assert_eq!(
                (range.start, range.end, range.total),
                (
                    expected_start,
                    Some(expected_start + len as u64 - 1),
                    Some(10_000)
                )
            );
            expected_start += len as u64;
            got.extend_from_slice(&c.data);
        }
        assert_eq!(got, body);
        // The next chunk is whole again.
        a.write_chunk(&send_along(&a, b"small")).unwrap();
        let next = b.read_chunk(Some(4096)).unwrap();
        assert_eq!((next.segment, &next.chunk.data[..]), (None, &b"small"[..]));
    });
}

#[test]
fn peer_close_while_reading_is_connection_closed() {
    within(LIMIT, || {
        let (mut a, b) = bind_pair(BindOptions::default(), BindOptions::default());
        let mut b = b;
        // A chunk sent just before the close is still returned first.
        b.write_chunk(&send_along(&b, b"last words")).unwrap();
        drop(b);
        assert_eq!(&a.read_chunk(None).unwrap().chunk.data[..], b"last words");
        assert!(matches!(a.read_chunk(None), Err(Error::ConnectionClosed)));
        assert!(matches!(a.read_chunk(None), Err(Error::ConnectionClosed)));
    });
}

#[test]
fn protocol_error_is_reported_and_reading_goes_on() {
    within(LIMIT, || {
        let (mut a, mut b) = bind_pair(BindOptions::default(), BindOptions::default());
        b.write(b"this is not msrp\r\n").unwrap();
        b.write_chunk(&send_along(&b, b"after")).unwrap();
        assert!(matches!(a.read_chunk(None), Err(Error::Protocol(_))));
        assert_eq!(&a.read_chunk(None).unwrap().chunk.data[..], b"after");
    });
}

#[test]
fn raw_exchange_then_session_loses_nothing() {
    within(LIMIT, || {
        let (mut a, mut b) = bind_pair(BindOptions::default(), BindOptions::default());
        let ping = send_along(&a, b"ping");
        a.write_chunk(&ping).unwrap();
        let got = b.read_chunk(None).unwrap().chunk;
        b.write_response(&got, 200, Some("OK")).unwrap();
        assert_eq!(a.read_chunk(None).unwrap().chunk.code(), Some(200));
        // Two chunks and half of a third arrive before the sessions start;
        // `b` reads one of them, starts a timed-out read of the rest (which
        // buffers them), then hands the transport to a session.
        let first = send_along(&a, b"one");
        let second = send_along(&a, b"two");
        let third = send_along(&a, b"three");
        let third_bytes = third.encode();
        let (head, tail) = third_bytes.split_at(third_bytes.len() / 2);
        let mut wire = first.encode().to_vec();
        wire.extend_from_slice(&second.encode());
        wire.extend_from_slice(head);
        a.write(&wire).unwrap();
        assert_eq!(&b.read_chunk(None).unwrap().chunk.data[..], b"one");
        // Wait for everything to be buffered: a read returns `two` (whole)
        // and then times out inside `three`.
        assert_eq!(&b.read_chunk(None).unwrap().chunk.data[..], b"two");
        assert!(b
            .read_chunk_timeout(None, Some(Duration::from_millis(100)))
            .is_err());
        assert!(!b.mid_chunk());
        let (bob, bob_rx) = start(b, SessionConfig::default());
        a.write(tail).unwrap();
        let got = next_incoming(&bob_rx);
        assert_eq!(&got.data[..], b"three");
        // And the session answers it on the wire.
        let response = a.read_chunk(None).unwrap().chunk;
        assert_eq!(
            (response.code(), response.transaction_id.as_str()),
            (Some(200), third.transaction_id.as_str())
        );
        let (alice, _alice_rx) = start(a, SessionConfig::default());
        alice
            .deliver_chunk(alice.make_message("via session", "text/plain", None))
            .unwrap();
        assert_eq!(&next_incoming(&bob_rx).data[..], b"via session");
        alice.shutdown(true);
        bob.shutdown(true);
    });
}

#[test]
fn session_refuses_a_transport_mid_chunk() {
    within(LIMIT, || {
        let (mut a, mut b) = bind_pair(BindOptions::default(), BindOptions::default());
        let chunk = send_along(&a, &[b'x'; 100]);
        let bytes = chunk.encode();
        // Everything but the end-line.
        a.write(&bytes[..bytes.len() - 20]).unwrap();
        let part = b.read_chunk(Some(10)).unwrap();
        assert_eq!((part.segment, part.chunk.data.len()), (Some(1), 10));
        assert!(b.mid_chunk());
        let result = MsrpSession::start(b, SessionConfig::default(), |_| {});
        assert!(matches!(result, Err(Error::MidChunk)));
    });
}

#[test]
fn bind_send_with_a_body_is_read_first() {
    within(LIMIT, || {
        let mut acceptor = DirectAcceptor::new(BindOptions::default());
        let acceptor_path = acceptor.prepare(local()).unwrap();
        let peer_uri = Uri::new("127.0.0.1", Some(2855), Some("peer".into()));
        let remote = vec![peer_uri.clone()];
        let passive = thread::spawn(move || acceptor.complete(&remote));
        let port = acceptor_path[0].port.unwrap();
        let mut tcp = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
        let bind = ChunkBuilder::send(b"early".to_vec())
            .content_type("text/plain")
            .build(&acceptor_path[0].to_string(), &peer_uri.to_string());
        tcp.write_all(&bind.encode()).unwrap();
        let mut b = passive.join().unwrap().unwrap();
        let first = b.read_chunk(None).unwrap();
        assert_eq!(&first.chunk.data[..], b"early");
        // A FIN (dropping the socket with the unread 200 would reset it).
        tcp.shutdown(std::net::Shutdown::Write).unwrap();
        assert!(matches!(b.read_chunk(None), Err(Error::ConnectionClosed)));
    });
}

/// Without a host, both sides use the default-route interface's address
/// (like the legacy library): the acceptor listens there, the connector
/// advertises it, and they bind and talk.
#[test]
fn a_missing_host_is_the_default_route_address() {
    within(LIMIT, || {
        let ip = msgwire::net::default_ip();
        assert!(!ip.is_unspecified());
        let mut acceptor = DirectAcceptor::new(BindOptions::default());
        let acceptor_path = acceptor.prepare(Some(Uri::new("", Some(0), None))).unwrap();
        assert_eq!(acceptor_path[0].host, ip.to_string());
        assert_eq!(acceptor.local_addr().unwrap().ip(), ip);
        let mut connector = DirectConnector::new(BindOptions::default());
        let connector_path = connector.prepare(None);
        assert_eq!(connector_path[0].host, ip.to_string());
        let passive = thread::spawn(move || acceptor.complete(&connector_path));
        let a = connector.complete(&acceptor_path).unwrap();
        let b = passive.join().unwrap().unwrap();
        assert_eq!(a.peer_addr().unwrap().ip(), ip);
        let (alice, _alice_rx) = start(a, SessionConfig::default());
        let (bob, bob_rx) = start(b, SessionConfig::default());
        alice
            .deliver_chunk(alice.make_message("hi", "text/plain", None))
            .unwrap();
        assert_eq!(&next_incoming(&bob_rx).data[..], b"hi");
        alice.shutdown(true);
        bob.shutdown(true);
    });
}
