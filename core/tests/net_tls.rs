//! TLS transport tests: handshakes, verification, connections and the split
//! halves over loopback TCP (IPv4, and IPv6 where the machine has it).
//!
//! Certificates are made fresh by rcgen for every test: a test CA and a leaf
//! it signs for `localhost`, `127.0.0.1` and `::1`. Every test body runs
//! under [`within`], a watchdog that fails the test instead of letting a
//! deadlock hang the suite. Sockets bind port 0.

mod common;
use common::within;

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::panic;
use std::thread;
use std::time::Duration;

use bytes::Bytes;
use crossbeam_channel::{self as channel, Receiver};
use msgwire::net::{
    Connection, Incoming, Listener, ListenerConfig, PemInput, Split, Stream, TlsClientConfig,
    TlsError, TlsServerConfig,
};
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair};

/// The longest any test may take.
const LIMIT: Duration = Duration::from_secs(10);
/// Handshake timeout used by the tests; well inside [`LIMIT`].
const HANDSHAKE: Duration = Duration::from_secs(5);
/// How long a test waits for one expected event.
const WAIT: Duration = Duration::from_secs(5);

// ---------------------------------------------------------------- helpers

/// PEM material for one test: a CA, and a server certificate it signed.
struct Pki {
    ca_pem: String,
    server_chain_pem: String,
    server_key_pem: String,
}

fn make_ca(name: &str) -> (rcgen::Certificate, KeyPair) {
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, name);
    let cert = params.self_signed(&key).unwrap();
    (cert, key)
}

fn make_pki() -> Pki {
    let (ca, ca_key) = make_ca("msgwire test CA");
    let key = KeyPair::generate().unwrap();
    let params = CertificateParams::new(vec![
        "localhost".to_string(),
        "127.0.0.1".to_string(),
        "::1".to_string(),
    ])
    .unwrap();
    let leaf = params.signed_by(&key, &ca, &ca_key).unwrap();
    Pki {
        ca_pem: ca.pem(),
        server_chain_pem: leaf.pem(),
        server_key_pem: key.serialize_pem(),
    }
}

fn server_config(pki: &Pki) -> TlsServerConfig {
    TlsServerConfig::from_pem(
        pki.server_chain_pem.as_bytes(),
        pki.server_key_pem.as_bytes(),
    )
    .unwrap()
}

fn client_config(pki: &Pki) -> TlsClientConfig {
    TlsClientConfig::with_ca_pem(pki.ca_pem.as_bytes()).unwrap()
}

/// A listener on `addr` (port 0), or `None` when that address family is
/// unavailable here.
fn listen(addr: &str) -> Option<(TcpListener, SocketAddr)> {
    let listener = TcpListener::bind(addr).ok()?;
    let local = listener.local_addr().ok()?;
    Some((listener, local))
}

/// Connects a client and a server over loopback and runs both handshakes
/// concurrently. Returns (client result, server result).
fn handshake_pair(
    addr: &str,
    server: TlsServerConfig,
    client: &TlsClientConfig,
    server_name: &str,
) -> Option<(Result<Stream, TlsError>, Result<Stream, TlsError>)> {
    let (listener, local) = listen(addr)?;
    let accepting = thread::spawn(move || {
        let (tcp, _) = listener.accept().unwrap();
        Stream::tls_accept(tcp, &server, HANDSHAKE)
    });
    let tcp = TcpStream::connect(local).ok()?;
    let client = Stream::tls_connect(tcp, client, server_name, HANDSHAKE);
    let server = accepting.join().unwrap();
    Some((client, server))
}

/// A verified client/server pair over IPv4 loopback.
fn verified_pair(pki: &Pki) -> (Stream, Stream) {
    let (client, server) = handshake_pair(
        "127.0.0.1:0",
        server_config(pki),
        &client_config(pki),
        "localhost",
    )
    .expect("IPv4 loopback");
    (client.unwrap(), server.unwrap())
}

/// A connection that forwards every event to a channel: data as `Ok`,
/// the end as `Err(report)`.
type Event = Result<Vec<u8>, Option<io::ErrorKind>>;

fn recording(stream: Stream) -> (Connection, Receiver<Event>) {
    let (tx, rx) = channel::unbounded();
    let conn = Connection::spawn(stream, move |event, _| {
        let _ = tx.send(match event {
            Incoming::Data(data) => Ok(data.to_vec()),
            Incoming::Closed(report) => Err(report.map(|e| e.kind())),
        });
    })
    .unwrap();
    (conn, rx)
}

/// A connection that sends back whatever it receives.
fn echo(stream: Stream) -> Connection {
    Connection::spawn(stream, |event, sender| {
        if let Incoming::Data(data) = event {
            sender.send(Bytes::copy_from_slice(data)).unwrap();
        }
    })
    .unwrap()
}

/// Collects data events until `len` bytes arrived.
fn collect(rx: &Receiver<Event>, len: usize) -> Vec<u8> {
    let mut got = Vec::with_capacity(len);
    while got.len() < len {
        match rx.recv_timeout(WAIT) {
            Ok(Ok(data)) => got.extend_from_slice(&data),
            Ok(Err(report)) => panic!("closed after {} of {len} bytes: {report:?}", got.len()),
            Err(e) => panic!("waiting after {} of {len} bytes: {e}", got.len()),
        }
    }
    assert_eq!(got.len(), len, "more data than expected");
    got
}

/// Waits for the end event, skipping data.
fn closed(rx: &Receiver<Event>) -> Option<io::ErrorKind> {
    loop {
        match rx.recv_timeout(WAIT).expect("a Closed event") {
            Ok(_) => continue,
            Err(report) => return report,
        }
    }
}

/// Deterministic test data that is not periodic at small distances.
fn pattern(len: usize, seed: u32) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect()
}

fn echo_round_trip(client: Stream, server: Stream) {
    let _server = echo(server);
    let (client, rx) = recording(client);
    client.send(Bytes::from_static(b"MSRP a SEND\r\n")).unwrap();
    client.send(Bytes::from_static(b"-------a$\r\n")).unwrap();
    assert_eq!(collect(&rx, 24), b"MSRP a SEND\r\n-------a$\r\n");
    client.close().unwrap();
    assert_eq!(closed(&rx), None);
}

// ---------------------------------------------------------------- tests

#[test]
fn echo_round_trip_with_verification() {
    within(LIMIT, || {
        let pki = make_pki();
        let (client, server) = verified_pair(&pki);
        let Stream::Tls(tls) = &client else {
            panic!("expected a TLS stream, got {client:?}");
        };
        // The client saw the server's leaf certificate.
        assert!(tls.peer_certificate().is_some());
        assert!(tls.protocol_version().is_some());
        echo_round_trip(client, server);
    });
}

#[test]
fn ip_address_server_name_is_verified() {
    within(LIMIT, || {
        let pki = make_pki();
        let (client, server) = handshake_pair(
            "127.0.0.1:0",
            server_config(&pki),
            &client_config(&pki),
            "127.0.0.1",
        )
        .unwrap();
        echo_round_trip(client.unwrap(), server.unwrap());
    });
}

#[test]
fn ipv6_echo_round_trip() {
    within(LIMIT, || {
        let pki = make_pki();
        let Some((client, server)) = handshake_pair(
            "[::1]:0",
            server_config(&pki),
            &client_config(&pki),
            "[::1]",
        ) else {
            eprintln!("skipping: no IPv6 loopback on this machine");
            return;
        };
        echo_round_trip(client.unwrap(), server.unwrap());
    });
}

#[test]
fn four_mib_both_ways_at_once() {
    within(LIMIT, || {
        const LEN: usize = 4 * 1024 * 1024;
        let pki = make_pki();
        let (a, b) = verified_pair(&pki);
        let (a, a_rx) = recording(a);
        let (b, b_rx) = recording(b);
        let to_b = pattern(LEN, 1);
        let to_a = pattern(LEN, 2);
        // Send both directions concurrently, in chunks of varied sizes, so
        // both writers and both readers are busy at the same time.
        let send_all = |conn: &Connection, data: &[u8]| {
            let mut offset = 0;
            let mut size = 1;
            while offset < data.len() {
                let end = (offset + size).min(data.len());
                conn.send(Bytes::copy_from_slice(&data[offset..end]))
                    .unwrap();
                offset = end;
                size = size * 7 % 65_521 + 1;
            }
        };
        thread::scope(|s| {
            s.spawn(|| send_all(&a, &to_b));
            s.spawn(|| send_all(&b, &to_a));
            let got_b = s.spawn(|| collect(&b_rx, LEN));
            let got_a = collect(&a_rx, LEN);
            assert!(got_a == to_a, "A received corrupted data");
            assert!(got_b.join().unwrap() == to_b, "B received corrupted data");
        });
        a.close().unwrap();
        assert_eq!(closed(&b_rx), None);
        b.close().unwrap();
        assert_eq!(closed(&a_rx), None);
    });
}

#[test]
fn untrusted_certificate_is_rejected() {
    within(LIMIT, || {
        let pki = make_pki();
        // The client trusts a different CA than the one that signed the
        // server's certificate.
        let (other_ca, _) = make_ca("some other CA");
        let client = TlsClientConfig::with_ca_pem(other_ca.pem().as_bytes()).unwrap();
        assert!(client.verifies_certificates());
        let (client, server) =
            handshake_pair("127.0.0.1:0", server_config(&pki), &client, "localhost").unwrap();
        match client {
            Err(TlsError::Handshake(rustls::Error::InvalidCertificate(_))) => {}
            other => panic!("expected a rejected certificate, got {other:?}"),
        }
        // The server learns of it too (an alert, or the connection closing).
        assert!(server.is_err(), "server handshake succeeded: {server:?}");
    });
}

#[test]
fn self_signed_certificate_is_rejected_with_verification() {
    within(LIMIT, || {
        let pki = make_pki();
        let self_signed =
            rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
        let server = TlsServerConfig::from_pem(
            self_signed.cert.pem().as_bytes(),
            self_signed.key_pair.serialize_pem().as_bytes(),
        )
        .unwrap();
        let (client, _server) =
            handshake_pair("127.0.0.1:0", server, &client_config(&pki), "localhost").unwrap();
        assert!(
            matches!(
                client,
                Err(TlsError::Handshake(rustls::Error::InvalidCertificate(_)))
            ),
            "{client:?}"
        );
    });
}

#[test]
fn wrong_server_name_is_rejected() {
    within(LIMIT, || {
        let pki = make_pki();
        let (client, _server) = handshake_pair(
            "127.0.0.1:0",
            server_config(&pki),
            &client_config(&pki),
            "relay.example.com",
        )
        .unwrap();
        assert!(
            matches!(
                client,
                Err(TlsError::Handshake(rustls::Error::InvalidCertificate(_)))
            ),
            "{client:?}"
        );
    });
}

#[test]
fn opt_out_accepts_self_signed_certificate() {
    within(LIMIT, || {
        let self_signed =
            rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
        let server = TlsServerConfig::from_pem(
            self_signed.cert.pem().as_bytes(),
            self_signed.key_pair.serialize_pem().as_bytes(),
        )
        .unwrap();
        let client = TlsClientConfig::danger_accept_any_certificate().unwrap();
        assert!(!client.verifies_certificates());
        // Any name is accepted too.
        let (client, server) =
            handshake_pair("127.0.0.1:0", server, &client, "anything.invalid").unwrap();
        let client = client.unwrap();
        let Stream::Tls(tls) = &client else {
            panic!("expected a TLS stream");
        };
        assert_eq!(
            tls.peer_certificate().unwrap(),
            self_signed.cert.der().to_vec()
        );
        echo_round_trip(client, server.unwrap());
    });
}

#[test]
fn peer_close_is_a_clean_end() {
    within(LIMIT, || {
        let pki = make_pki();
        let (a, b) = verified_pair(&pki);
        let (a, a_rx) = recording(a);
        let (b, b_rx) = recording(b);
        a.send(Bytes::from_static(b"last words")).unwrap();
        // close flushes, sends close_notify and waits for B to close too,
        // which B's connection does on its own once it reads the end.
        a.close().unwrap();
        assert_eq!(collect(&b_rx, 10), b"last words");
        assert_eq!(closed(&b_rx), None);
        assert_eq!(closed(&a_rx), None);
        assert!(b.is_closed());
        b.close().unwrap();
    });
}

#[test]
fn peer_vanishing_without_close_notify_is_an_error() {
    within(LIMIT, || {
        let pki = make_pki();
        let (a, b) = verified_pair(&pki);
        let (b, b_rx) = recording(b);
        // Dropping a connection aborts: TCP closes without close_notify,
        // which a TLS peer cannot tell from a truncation attack.
        drop(recording(a).0);
        assert_eq!(closed(&b_rx), Some(io::ErrorKind::UnexpectedEof));
        drop(b);
    });
}

#[test]
fn half_close_then_reply() {
    within(LIMIT, || {
        let pki = make_pki();
        let (a, mut b) = verified_pair(&pki);
        let Split {
            mut reader,
            mut writer,
            closer: _closer,
        } = a.split().unwrap();
        writer.write_all(b"question").unwrap();
        writer.shutdown().unwrap();
        assert!(writer.write_all(b"more").is_err());
        let mut got = Vec::new();
        b.read_to_end(&mut got).unwrap();
        assert_eq!(got, b"question");
        // The other direction still works after a half-close.
        b.write_all(b"answer").unwrap();
        b.flush().unwrap();
        let mut buf = [0; 6];
        reader.read_exact(&mut buf).unwrap();
        assert_eq!(&buf, b"answer");
        drop(b);
        // b vanished without close_notify.
        let err = reader.read(&mut buf).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof);
    });
}

#[test]
fn abort_wakes_blocked_reader_and_writer() {
    within(LIMIT, || {
        let pki = make_pki();
        // The peer never reads, so the writer eventually blocks on a full
        // socket; the reader blocks because nothing arrives.
        let (a, _b) = verified_pair(&pki);
        let Split {
            mut reader,
            mut writer,
            closer,
        } = a.split().unwrap();
        let r = thread::spawn(move || {
            let mut buf = [0; 1024];
            reader.read(&mut buf)
        });
        let w = thread::spawn(move || {
            let chunk = vec![0x5a; 64 * 1024];
            loop {
                writer.write_all(&chunk)?;
            }
            #[allow(unreachable_code)]
            Ok::<(), io::Error>(())
        });
        // Correctness does not depend on this pause, only what is exercised.
        thread::sleep(Duration::from_millis(200));
        closer.abort();
        assert_eq!(r.join().unwrap().unwrap(), 0);
        assert!(w.join().unwrap().is_err());
    });
}

#[test]
fn handshake_times_out_against_a_silent_peer() {
    within(LIMIT, || {
        let (listener, local) = listen("127.0.0.1:0").unwrap();
        let tcp = TcpStream::connect(local).unwrap();
        let (_silent, _) = listener.accept().unwrap();
        let pki = make_pki();
        let timeout = Duration::from_millis(200);
        match Stream::tls_connect(tcp, &client_config(&pki), "localhost", timeout) {
            Err(TlsError::HandshakeTimeout(t)) => assert_eq!(t, timeout),
            other => panic!("expected a timeout, got {other:?}"),
        }
    });
}

#[test]
fn plain_tcp_client_fails_the_server_handshake() {
    within(LIMIT, || {
        let pki = make_pki();
        let (listener, local) = listen("127.0.0.1:0").unwrap();
        let server = server_config(&pki);
        let accepting = thread::spawn(move || {
            let (tcp, _) = listener.accept().unwrap();
            Stream::tls_accept(tcp, &server, HANDSHAKE)
        });
        let mut tcp = TcpStream::connect(local).unwrap();
        tcp.write_all(b"MSRP abc SEND\r\n\r\n").unwrap();
        let result = accepting.join().unwrap();
        assert!(matches!(result, Err(TlsError::Handshake(_))), "{result:?}");
    });
}

#[test]
fn bad_pem_is_a_typed_error() {
    within(LIMIT, || {
        let pki = make_pki();
        let chain = pki.server_chain_pem.as_bytes();
        let key = pki.server_key_pem.as_bytes();

        // No PEM at all.
        assert!(matches!(
            TlsServerConfig::from_pem(b"not a certificate", key),
            Err(TlsError::NoCertificates(PemInput::CertificateChain))
        ));
        assert!(matches!(
            TlsServerConfig::from_pem(chain, b"not a key"),
            Err(TlsError::NoPrivateKey)
        ));
        // A certificate where the key should be.
        assert!(matches!(
            TlsServerConfig::from_pem(chain, chain),
            Err(TlsError::NoPrivateKey)
        ));
        assert!(matches!(
            TlsClientConfig::with_ca_pem(b""),
            Err(TlsError::NoCertificates(PemInput::CaCertificates))
        ));

        // Malformed PEM: a section that never ends, and broken base64.
        let truncated = &chain[..chain.len() / 2];
        let err = TlsServerConfig::from_pem(truncated, key).unwrap_err();
        assert!(
            matches!(
                err,
                TlsError::BadPem {
                    input: PemInput::CertificateChain,
                    ..
                }
            ),
            "{err:?}"
        );
        let garbled = b"-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n";
        let err = TlsClientConfig::with_ca_pem(garbled).unwrap_err();
        assert!(
            matches!(
                err,
                TlsError::BadPem {
                    input: PemInput::CaCertificates,
                    ..
                }
            ),
            "{err:?}"
        );
        // Well-formed PEM whose content is not a certificate.
        let not_der = b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
        let err = TlsClientConfig::with_ca_pem(not_der).unwrap_err();
        assert!(matches!(err, TlsError::BadCaCertificate(_)), "{err:?}");

        // A key that does not belong to the certificate.
        let other_key = KeyPair::generate().unwrap().serialize_pem();
        let err = TlsServerConfig::from_pem(chain, other_key.as_bytes()).unwrap_err();
        assert!(matches!(err, TlsError::Config(_)), "{err:?}");

        // Files: missing, and read successfully.
        let err = TlsClientConfig::with_ca_pem_file("/nonexistent/msgwire/ca.pem").unwrap_err();
        assert!(matches!(err, TlsError::File { .. }), "{err:?}");
        let dir = std::env::temp_dir().join(format!("msgwire-tls-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let (chain_path, key_path, ca_path) = (
            dir.join("chain.pem"),
            dir.join("key.pem"),
            dir.join("ca.pem"),
        );
        std::fs::write(&chain_path, chain).unwrap();
        std::fs::write(&key_path, key).unwrap();
        std::fs::write(&ca_path, pki.ca_pem.as_bytes()).unwrap();
        let loaded = (
            TlsServerConfig::from_pem_files(&chain_path, &key_path),
            TlsClientConfig::with_ca_pem_file(&ca_path),
        );
        let _ = std::fs::remove_dir_all(&dir);
        assert!(loaded.0.is_ok() && loaded.1.is_ok(), "{loaded:?}");

        // Server names.
        let (listener, local) = listen("127.0.0.1:0").unwrap();
        let tcp = TcpStream::connect(local).unwrap();
        drop(listener);
        let err =
            Stream::tls_connect(tcp, &client_config(&pki), "not a name!", HANDSHAKE).unwrap_err();
        assert!(matches!(err, TlsError::InvalidServerName(_)), "{err:?}");
        // Errors convert to io::Error for io::Result callers.
        assert_eq!(io::Error::from(err).kind(), io::ErrorKind::InvalidData);
    });
}

// ---------------------------------------------------------------- listener

/// `Listener::stop` ends TLS handshakes under way instead of leaving their
/// threads to run until the handshake timeout: the stalled client sees its
/// connection closed, the slot is released, and nothing is handed out.
#[test]
fn listener_stop_ends_tls_handshakes_under_way() {
    within(LIMIT, || {
        let pki = make_pki();
        let (accepted_tx, accepted_rx) = channel::unbounded();
        let config = ListenerConfig {
            tls: Some(server_config(&pki)),
            // Far beyond the test's limit: only `stop` can end it in time.
            handshake_timeout: Duration::from_secs(600),
            ..ListenerConfig::default()
        };
        let listener = Listener::bind("127.0.0.1:0", config, "test", move |a| {
            let _ = accepted_tx.send(a.peer);
        })
        .unwrap();
        // A client that connects and never starts its handshake.
        let mut stalled = TcpStream::connect(listener.local_addr()).unwrap();
        stalled.set_read_timeout(Some(WAIT)).unwrap();
        let mut waited = Duration::ZERO;
        while listener.connections() == 0 {
            assert!(waited < WAIT, "the handshake never started");
            thread::sleep(Duration::from_millis(10));
            waited += Duration::from_millis(10);
        }
        listener.stop();
        assert_eq!(listener.connections(), 0, "the handshake's slot is held");
        let mut byte = [0u8; 1];
        match stalled.read(&mut byte) {
            Ok(0) => {}
            Err(e) if e.kind() == io::ErrorKind::ConnectionReset => {}
            other => panic!("the stalled connection is still open: {other:?}"),
        }
        assert!(
            accepted_rx.try_recv().is_err(),
            "a connection was handed out"
        );
    });
}
