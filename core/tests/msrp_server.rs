//! `MsrpServer` tests: many passive sessions behind one listening socket,
//! over loopback TCP with port 0. Every test body runs under [`within`], a
//! watchdog that fails the test instead of hanging the suite.

mod common;
use common::within;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::panic;
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use bytes::Bytes;
use crossbeam_channel::{self as channel, Receiver};
use msgwire::msrp::endpoint::{
    BindOptions, BoundTransport, DirectConnector, EndpointEvent, Error, MsrpSession,
};
use msgwire::msrp::server::MsrpServer;
use msgwire::msrp::session::{SessionConfig, SessionEvent};
use msgwire::msrp::{parse_chunk, Chunk, ChunkBuilder, Uri};
use msgwire::net::{TlsClientConfig, TlsServerConfig};

const LIMIT: Duration = Duration::from_secs(20);
const WAIT: Duration = Duration::from_secs(5);

fn any_port() -> Option<Uri> {
    Some(Uri::new("127.0.0.1", Some(0), None))
}

fn short(incoming_connect: Duration, bind: Duration) -> BindOptions {
    let mut options = BindOptions::default();
    options.timeouts.incoming_connect = incoming_connect;
    options.timeouts.bind = bind;
    options
}

/// Binds a fresh connector to `server_path` while `server` completes for it.
fn bind_through(server: &Arc<MsrpServer>, server_path: &[Uri]) -> (BoundTransport, BoundTransport) {
    let mut connector = DirectConnector::new(BindOptions::default());
    let connector_path = connector.prepare(None);
    let srv = server.clone();
    let passive = thread::spawn(move || srv.complete(&connector_path));
    let active = connector.complete(server_path).unwrap();
    (active, passive.join().unwrap().unwrap())
}

fn start(bound: BoundTransport) -> (MsrpSession, Receiver<EndpointEvent>) {
    let (tx, rx) = channel::unbounded();
    let session = MsrpSession::start(bound, SessionConfig::default(), move |ev| {
        let _ = tx.send(ev);
    })
    .unwrap();
    (session, rx)
}

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

/// Sends a bind SEND for `to` over raw TCP and returns the connection.
fn raw_bind(to: &Uri) -> TcpStream {
    let port = to.port.unwrap();
    let mut tcp = TcpStream::connect(("127.0.0.1", port)).unwrap();
    tcp.set_read_timeout(Some(WAIT)).unwrap();
    let from = Uri::new("127.0.0.1", Some(2855), Some("rawpeer".into()));
    let bind = ChunkBuilder::send(Bytes::new()).build(&to.to_string(), &from.to_string());
    tcp.write_all(&bind.encode()).unwrap();
    tcp
}

/// Reads one response and then expects the server to close the connection.
fn response_then_eof(tcp: &mut TcpStream) -> Chunk {
    let mut got = Vec::new();
    tcp.read_to_end(&mut got).expect("EOF after the response");
    parse_chunk(&got).expect("one MSRP response")
}

#[test]
fn two_sessions_share_one_port_and_talk_independently() {
    within(LIMIT, || {
        let server = Arc::new(MsrpServer::new(BindOptions::default()));
        let path_a = server.prepare(any_port()).unwrap();
        let path_b = server.prepare(any_port()).unwrap();
        let port = path_a[0].port.unwrap();
        assert_ne!(port, 0, "real port written back");
        assert_eq!(path_b[0].port, Some(port), "port 0 reuses the listener");
        assert_ne!(path_a[0].session_id, path_b[0].session_id);
        // An explicit port names the same listener too.
        let path_c = server
            .prepare(Some(Uri::new("127.0.0.1", Some(port), Some("cee".into()))))
            .unwrap();
        assert_eq!(path_c[0].port, Some(port));
        assert_eq!(server.local_addrs().len(), 1);
        server.cleanup(&path_c[0]);

        let (a_active, a_passive) = bind_through(&server, &path_a);
        let (b_active, b_passive) = bind_through(&server, &path_b);
        assert_eq!(a_passive.paths().local_uri, path_a[0]);
        assert_eq!(b_passive.paths().local_uri, path_b[0]);
        assert_eq!(a_passive.paths().remote_uri, a_active.paths().local_uri);
        // A bound URI is no longer expected; nothing else is left.
        assert!(server.expected().is_empty());

        let (alice, alice_rx) = start(a_active);
        let (srv_a, srv_a_rx) = start(a_passive);
        let (bob, bob_rx) = start(b_active);
        let (srv_b, srv_b_rx) = start(b_passive);
        alice
            .deliver_chunk(alice.make_message("to a", "text/plain", None))
            .unwrap();
        bob.deliver_chunk(bob.make_message("to b", "text/plain", None))
            .unwrap();
        assert_eq!(&next_incoming(&srv_a_rx).data[..], b"to a");
        assert_eq!(&next_incoming(&srv_b_rx).data[..], b"to b");
        srv_b
            .deliver_chunk(srv_b.make_message("back to bob", "text/plain", None))
            .unwrap();
        srv_a
            .deliver_chunk(srv_a.make_message("back to alice", "text/plain", None))
            .unwrap();
        assert_eq!(&next_incoming(&alice_rx).data[..], b"back to alice");
        assert_eq!(&next_incoming(&bob_rx).data[..], b"back to bob");
        // Closing one session leaves the other working.
        alice.shutdown(true);
        srv_a.shutdown(true);
        bob.deliver_chunk(bob.make_message("still here", "text/plain", None))
            .unwrap();
        assert_eq!(&next_incoming(&srv_b_rx).data[..], b"still here");
        bob.shutdown(true);
        srv_b.shutdown(true);
        server.close();
    });
}

#[test]
fn a_hundred_sessions_at_once_through_one_port() {
    within(Duration::from_secs(60), || {
        const N: usize = 100;
        let server = Arc::new(MsrpServer::new(BindOptions::default()));
        let mut workers = Vec::new();
        for i in 0..N {
            let server_path = server.prepare(any_port()).unwrap();
            let mut connector = DirectConnector::new(BindOptions::default());
            let connector_path = connector.prepare(None);
            let srv = server.clone();
            let passive = thread::spawn(move || {
                let bound = srv.complete(&connector_path).unwrap();
                let (session, rx) = start(bound);
                let got = next_incoming(&rx);
                session.shutdown(true);
                got.data
            });
            let active = thread::spawn(move || {
                let bound = connector.complete(&server_path).unwrap();
                let (session, _rx) = start(bound);
                let text = format!("message {i}");
                session
                    .deliver_chunk(session.make_message(text, "text/plain", None))
                    .unwrap();
                session.shutdown(true);
            });
            workers.push((i, passive, active));
        }
        assert_eq!(server.local_addrs().len(), 1, "one listener for all");
        for (i, passive, active) in workers {
            active.join().unwrap();
            let data = passive.join().unwrap();
            assert_eq!(&data[..], format!("message {i}").as_bytes());
        }
        assert!(server.expected().is_empty());
    });
}

#[test]
fn unknown_session_gets_481_and_is_dropped_while_others_work() {
    within(LIMIT, || {
        let server = Arc::new(MsrpServer::new(BindOptions::default()));
        let path = server.prepare(any_port()).unwrap();
        let mut stranger = path[0].clone();
        stranger.session_id = Some("nosuchsession".into());
        let mut raw = raw_bind(&stranger);
        let response = response_then_eof(&mut raw);
        assert_eq!(response.code(), Some(481));

        // A connector naming an unknown URI is refused the same way.
        let mut connector = DirectConnector::new(BindOptions::default());
        connector.prepare(None);
        match connector.complete(&[stranger]) {
            Err(Error::BindRejected { code: 481, .. }) => {}
            other => panic!("expected a 481, got {other:?}"),
        }

        // The expected session still binds and works.
        assert_eq!(server.expected(), path);
        let (active, passive) = bind_through(&server, &path);
        let (alice, _arx) = start(active);
        let (_srv, srv_rx) = start(passive);
        alice
            .deliver_chunk(alice.make_message("fine", "text/plain", None))
            .unwrap();
        assert_eq!(&next_incoming(&srv_rx).data[..], b"fine");
    });
}

#[test]
fn cleanup_unregisters_the_uri() {
    within(LIMIT, || {
        let server = MsrpServer::new(BindOptions::default());
        let path = server.prepare(any_port()).unwrap();
        let other = server.prepare(any_port()).unwrap();
        server.cleanup(&path[0]);
        assert_eq!(server.expected(), other);
        let mut connector = DirectConnector::new(BindOptions::default());
        connector.prepare(None);
        match connector.complete(&path) {
            Err(Error::BindRejected { code: 481, .. }) => {}
            other => panic!("expected a 481, got {other:?}"),
        }
        // Waiting for a URI that is no longer expected fails at once.
        assert!(matches!(
            server.complete_for(&path[0], &other),
            Err(Error::Closed)
        ));
    });
}

#[test]
fn cleanup_rejects_a_parked_binding() {
    within(LIMIT, || {
        let server = MsrpServer::new(BindOptions::default());
        let path = server.prepare(any_port()).unwrap();
        let mut raw = raw_bind(&path[0]);
        // Let the bind SEND arrive and be parked (no response yet).
        raw.set_read_timeout(Some(Duration::from_millis(300)))
            .unwrap();
        let mut byte = [0u8; 1];
        assert!(raw.read(&mut byte).is_err(), "no answer while parked");
        raw.set_read_timeout(Some(WAIT)).unwrap();
        server.cleanup(&path[0]);
        assert_eq!(response_then_eof(&mut raw).code(), Some(481));
    });
}

#[test]
fn complete_times_out() {
    within(LIMIT, || {
        let server = MsrpServer::new(short(Duration::from_millis(200), WAIT));
        let path = server.prepare(any_port()).unwrap();
        let peer = [Uri::new("127.0.0.1", Some(2855), Some("peer".into()))];
        let began = Instant::now();
        match server.complete(&peer) {
            Err(Error::IncomingConnectTimeout(t)) => assert_eq!(t, Duration::from_millis(200)),
            other => panic!("expected a timeout, got {other:?}"),
        }
        assert!(began.elapsed() >= Duration::from_millis(200));
        assert!(matches!(
            server.complete_for(&path[0], &peer),
            Err(Error::IncomingConnectTimeout(_))
        ));
        // The registration survives a timed-out complete.
        assert_eq!(server.expected(), path);
    });
}

#[test]
fn complete_only_takes_the_binding_from_its_peer() {
    within(LIMIT, || {
        let server = Arc::new(MsrpServer::new(short(Duration::from_millis(300), WAIT)));
        let path = server.prepare(any_port()).unwrap();
        let mut connector = DirectConnector::new(BindOptions::default());
        let connector_path = connector.prepare(None);
        let active = thread::spawn(move || connector.complete(&path));
        // A complete for someone else does not take this binding...
        let stranger = [Uri::new("127.0.0.1", Some(2855), Some("someone".into()))];
        assert!(matches!(
            server.complete(&stranger),
            Err(Error::IncomingConnectTimeout(_))
        ));
        // ...the right one does.
        let passive = server.complete(&connector_path).unwrap();
        active.join().unwrap().unwrap();
        assert_eq!(passive.paths().remote_uri, connector_path[0]);
    });
}

#[test]
fn complete_for_a_wrong_peer_is_481() {
    within(LIMIT, || {
        let server = MsrpServer::new(BindOptions::default());
        let path = server.prepare(any_port()).unwrap();
        let mut connector = DirectConnector::new(BindOptions::default());
        connector.prepare(None);
        let server_path = path.clone();
        let active = thread::spawn(move || connector.complete(&server_path));
        let expected_peer = [Uri::new("127.0.0.1", Some(2855), Some("someone".into()))];
        match server.complete_for(&path[0], &expected_peer) {
            Err(Error::BindMismatch(m)) => assert_eq!(m, "Invalid From-Path"),
            other => panic!("expected a mismatch, got {other:?}"),
        }
        match active.join().unwrap() {
            Err(Error::BindRejected { code: 481, .. }) => {}
            other => panic!("expected a 481, got {other:?}"),
        }
    });
}

#[test]
fn unclaimed_binding_is_rejected_after_the_bind_timeout() {
    within(LIMIT, || {
        let server = MsrpServer::new(short(WAIT, Duration::from_millis(300)));
        let path = server.prepare(any_port()).unwrap();
        let mut raw = raw_bind(&path[0]);
        assert_eq!(response_then_eof(&mut raw).code(), Some(481));
        // The URI is still expected for a binding that does get completed.
        assert_eq!(server.expected(), path);
    });
}

#[test]
fn msrps_sessions_through_one_tls_port() {
    within(LIMIT, || {
        let ck = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_string()]).unwrap();
        let (cert, key) = (ck.cert.pem(), ck.key_pair.serialize_pem());
        let tls = TlsServerConfig::from_pem(cert.as_bytes(), key.as_bytes()).unwrap();
        let mut secure = Uri::new("127.0.0.1", Some(0), None);
        secure.secure = true;
        assert!(matches!(
            MsrpServer::new(BindOptions::default()).prepare(Some(secure.clone())),
            Err(Error::TlsNotConfigured)
        ));
        let server = Arc::new(MsrpServer::new(BindOptions::default()).with_tls(tls));
        let path = server.prepare(Some(secure)).unwrap();
        assert_eq!(path[0].scheme(), "msrps");
        // The plain scheme cannot share the TLS port.
        let plain = Uri::new("127.0.0.1", path[0].port, None);
        assert!(matches!(
            server.prepare(Some(plain)),
            Err(Error::Listen { .. })
        ));
        let client = TlsClientConfig::with_ca_pem(cert.as_bytes()).unwrap();
        let mut connector = DirectConnector::new(BindOptions::default()).with_tls(client);
        let mut local = Uri::new("127.0.0.1", None, None);
        local.secure = true;
        let connector_path = connector.prepare(Some(local));
        let srv = server.clone();
        let passive = thread::spawn(move || srv.complete(&connector_path));
        let active = connector.complete(&path).unwrap();
        let passive = passive.join().unwrap().unwrap();
        assert!(active.is_tls() && passive.is_tls());
        let (alice, _arx) = start(active);
        let (_srv, srv_rx) = start(passive);
        alice
            .deliver_chunk(alice.make_message("secret", "text/plain", None))
            .unwrap();
        assert_eq!(&next_incoming(&srv_rx).data[..], b"secret");
    });
}

#[test]
fn close_stops_everything_and_prepare_fails_afterwards() {
    within(LIMIT, || {
        let server = Arc::new(MsrpServer::new(BindOptions::default()));
        let path = server.prepare(any_port()).unwrap();
        let port = path[0].port.unwrap();
        // A connection that never sends its bind SEND (30 s bind timeout)...
        let mut silent = TcpStream::connect(("127.0.0.1", port)).unwrap();
        silent.set_read_timeout(Some(WAIT)).unwrap();
        // ...one that is parked, and a complete waiting for someone else.
        let mut parked = raw_bind(&path[0]);
        let srv = server.clone();
        let waiting = thread::spawn(move || {
            srv.complete(&[Uri::new("127.0.0.1", Some(2855), Some("x".into()))])
        });
        thread::sleep(Duration::from_millis(200));
        let began = Instant::now();
        server.close();
        assert!(
            began.elapsed() < Duration::from_secs(3),
            "close does not wait for timeouts"
        );
        assert!(matches!(waiting.join().unwrap(), Err(Error::Closed)));
        let mut rest = Vec::new();
        assert_eq!(
            silent
                .read_to_end(&mut rest)
                .map(|_| rest.len())
                .unwrap_or(0),
            0
        );
        let mut rest = Vec::new();
        let _ = parked.read_to_end(&mut rest);
        assert!(rest.is_empty(), "a parked binding is dropped unanswered");
        assert!(
            TcpStream::connect(("127.0.0.1", port)).is_err(),
            "listener closed"
        );
        assert!(matches!(server.prepare(any_port()), Err(Error::Closed)));
        server.close(); // idempotent
    });
}

/// Counts the server's threads (named `msrp-srv-*`) in this process.
#[cfg(target_os = "linux")]
fn server_threads() -> usize {
    std::fs::read_dir("/proc/self/task")
        .unwrap()
        .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("comm")).ok())
        .filter(|name| name.starts_with("msrp-srv"))
        .count()
}

/// Runs in a child process (alone, so thread counts are exact): close and
/// drop join every listener and binding thread.
#[cfg(target_os = "linux")]
#[test]
fn close_and_drop_join_every_thread() {
    if std::env::var_os("MSGWIRE_SERVER_CHILD").is_none() {
        let status = std::process::Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "close_and_drop_join_every_thread",
                "--test-threads=1",
            ])
            .env("MSGWIRE_SERVER_CHILD", "1")
            .output()
            .unwrap();
        assert!(
            status.status.success(),
            "child test failed:\n{}{}",
            String::from_utf8_lossy(&status.stdout),
            String::from_utf8_lossy(&status.stderr)
        );
        return;
    }
    within(LIMIT, || {
        assert_eq!(server_threads(), 0);
        let server = MsrpServer::new(BindOptions::default());
        let a = server.prepare(any_port()).unwrap();
        server
            .prepare(Some(Uri::new("localhost", Some(0), None)))
            .unwrap();
        let _silent = TcpStream::connect(("127.0.0.1", a[0].port.unwrap())).unwrap();
        let _parked = raw_bind(&a[0]);
        thread::sleep(Duration::from_millis(200));
        // Two listeners and two binding threads.
        assert_eq!(server_threads(), 4);
        server.close();
        assert_eq!(server_threads(), 0);

        let server = MsrpServer::new(BindOptions::default());
        let b = server.prepare(any_port()).unwrap();
        let _silent = TcpStream::connect(("127.0.0.1", b[0].port.unwrap())).unwrap();
        thread::sleep(Duration::from_millis(100));
        assert_eq!(server_threads(), 2);
        drop(server);
        assert_eq!(server_threads(), 0);
    });
}

/// A server URI without a host listens on the default-route interface's
/// address.
#[test]
fn a_missing_host_is_the_default_route_address() {
    within(LIMIT, || {
        let ip = msgwire::net::default_ip();
        let server = Arc::new(MsrpServer::new(BindOptions::default()));
        let server_path = server.prepare(None).unwrap();
        assert_eq!(server_path[0].host, ip.to_string());
        assert!(server.local_addrs().iter().all(|a| a.ip() == ip));
        let (a, b) = bind_through(&server, &server_path);
        assert_eq!(a.peer_addr().unwrap().ip(), ip);
        let (alice, _alice_rx) = start(a);
        let (bob, bob_rx) = start(b);
        alice
            .deliver_chunk(alice.make_message("hi", "text/plain", None))
            .unwrap();
        assert_eq!(&next_incoming(&bob_rx).data[..], b"hi");
        alice.shutdown(true);
        bob.shutdown(true);
        server.close();
    });
}
