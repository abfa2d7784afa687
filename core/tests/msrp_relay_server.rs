//! The MSRP relay server (RFC 4976) on 127.0.0.1, port 0: AUTH against
//! our own relay client and against hand-written wire bytes (the legacy
//! python-msrplib form among them), forwarding between clients of one
//! relay and across two relays with the exact path rewriting, every
//! refusal, cut-through of a large body with back-pressure, §5.1
//! interruption, the 408 timeout, connection limits, the status pages, a
//! TLS listener with a test CA, and shutdown during a transfer.

mod common;
use common::within;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use bytes::Bytes;
use msgwire::msrp::endpoint::{BindOptions, BoundTransport, DirectConnector};
use msgwire::msrp::relay::digest::Challenge;
use msgwire::msrp::relay::{Mode, RelayConnection, RelayError, RelaySettings};
use msgwire::msrp::relay_server::{Relay, RelayConfig, Users};
use msgwire::msrp::{make_response, Chunk, ChunkBuilder, Event, Flag, Parser, ParserConfig, Uri};
use msgwire::net::{TlsClientConfig, TlsServerConfig};
use sha2::{Digest, Sha256};

const LIMIT: Duration = Duration::from_secs(60);
const REALM: &str = "relay.test";
/// The From-Path of the raw AUTH tests.
const ME: &str = "msrp://127.0.0.1:9/me;tcp";

fn users() -> Users {
    let mut u = Users::new();
    u.add_password("alice", "secret");
    u.add_password("bob", "hunter2");
    u
}

fn config() -> RelayConfig {
    let mut c = RelayConfig::new(REALM, users());
    c.plain_tcp = Some("127.0.0.1:0".parse().unwrap());
    c
}

fn start(c: RelayConfig) -> Relay {
    Relay::start(c).unwrap()
}

fn settings(relay: &Relay, user: &str, password: &str) -> RelaySettings {
    let mut s = RelaySettings::new(REALM, user, password);
    s.host = Some("127.0.0.1".into());
    s.port = Some(relay.plain_addr().unwrap().port());
    s.auth_timeout = Duration::from_secs(10);
    s
}

/// Our relay client for `user` at `relay`, binding as `mode`.
fn client(relay: &Relay, user: &str, password: &str, mode: Mode) -> RelayConnection {
    RelayConnection::new(
        settings(relay, user, password),
        mode,
        BindOptions::default(),
    )
}

fn local_uri() -> Option<Uri> {
    Some(Uri::new("127.0.0.1", Some(0), None))
}

// ------------------------------------------------------------ raw wire

/// A hand-driven connection: writes bytes, reads whole chunks (bodies
/// collected) with the library's parser.
struct Raw {
    tcp: TcpStream,
    parser: Parser,
    buf: Vec<u8>,
}

/// A chunk as received: head, body, flag.
struct Got {
    head: Chunk,
    body: Vec<u8>,
    flag: Flag,
}

impl Raw {
    fn connect(addr: SocketAddr) -> Raw {
        let tcp = TcpStream::connect(addr).unwrap();
        tcp.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        Raw {
            tcp,
            parser: Parser::with_config(ParserConfig {
                max_body_len: u64::MAX,
                ..ParserConfig::default()
            }),
            buf: Vec::new(),
        }
    }

    fn send(&mut self, bytes: &[u8]) {
        self.tcp.write_all(bytes).unwrap();
    }

    /// The next chunk, or `None` at end of stream.
    fn next(&mut self) -> Option<Got> {
        let mut head: Option<Chunk> = None;
        let mut body = Vec::new();
        loop {
            let mut input = &self.buf[..];
            let mut done = None;
            let mut consumed = 0;
            loop {
                let (used, r) = self.parser.parse(input);
                input = &input[used..];
                consumed += used;
                match r.unwrap() {
                    Some(Event::Start(h)) => head = Some(h.to_chunk()),
                    Some(Event::Data(d)) => body.extend_from_slice(d),
                    Some(Event::End(f)) => {
                        done = Some(f);
                        break;
                    }
                    None => break,
                }
            }
            self.buf.drain(..consumed);
            if let Some(flag) = done {
                return Some(Got {
                    head: head.unwrap(),
                    body,
                    flag,
                });
            }
            let mut tmp = [0u8; 65536];
            match self.tcp.read(&mut tmp) {
                Ok(0) | Err(_) => return None,
                Ok(n) => self.buf.extend_from_slice(&tmp[..n]),
            }
        }
    }

    fn expect(&mut self) -> Got {
        self.next().expect("a chunk from the relay")
    }

    /// Whether the relay closed the connection (reads end).
    fn is_closed(&mut self) -> bool {
        let mut tmp = [0u8; 1024];
        loop {
            match self.tcp.read(&mut tmp) {
                Ok(0) => return true,
                Ok(_) => continue,
                Err(e) => {
                    return !matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    )
                }
            }
        }
    }
}

fn auth_bytes(tid: &str, to: &str, from: &str, extra: &[(&str, &str)]) -> Vec<u8> {
    let mut s = format!("MSRP {tid} AUTH\r\nTo-Path: {to}\r\nFrom-Path: {from}\r\n");
    for (n, v) in extra {
        s.push_str(&format!("{n}: {v}\r\n"));
    }
    s.push_str(&format!("-------{tid}$\r\n"));
    s.into_bytes()
}

/// A raw connection authenticating by hand: AUTHs to the relay's domain
/// URI from `from`, one response read for each.
struct RawAuth {
    raw: Raw,
    to: String,
    from: String,
}

impl RawAuth {
    fn connect(addr: SocketAddr, from: &str) -> RawAuth {
        RawAuth {
            raw: Raw::connect(addr),
            to: format!("msrp://{REALM}:{};tcp", addr.port()),
            from: from.to_string(),
        }
    }

    /// Sends AUTH `tid` with `extra` headers and returns the response.
    fn auth(&mut self, tid: &str, extra: &[(&str, &str)]) -> Got {
        self.raw.send(&auth_bytes(tid, &self.to, &self.from, extra));
        self.raw.expect()
    }

    /// AUTH `tid` without credentials: the challenge of its 401.
    fn challenge(&mut self, tid: &str) -> Challenge {
        let r = self.auth(tid, &[]);
        assert_eq!(r.head.code(), Some(401));
        challenge_of(&r)
    }

    /// `user`'s answer to `c` (nonce count `nc`), as a header value.
    fn answer(&self, c: &Challenge, user: &str, password: &str, nc: u32) -> String {
        c.answer(user, password, &self.to, true, nc, "x")
            .unwrap()
            .to_header()
    }
}

fn challenge_of(r: &Got) -> Challenge {
    Challenge::parse(r.head.headers.get("WWW-Authenticate").unwrap()).unwrap()
}

/// Authenticates `user` on a raw connection; returns the connection, the
/// relay URI (Use-Path) and the client URI used.
fn raw_client(addr: SocketAddr, user: &str, password: &str, name: &str) -> (Raw, Uri, Uri) {
    let client: Uri = format!("msrp://127.0.0.1:9/{name};tcp").parse().unwrap();
    let mut auth = RawAuth::connect(addr, &client.to_string());
    let c = auth.challenge("txna1");
    let answer = auth.answer(&c, user, password, 1);
    let ok = auth.auth("txna2", &[("Authorization", &answer)]);
    assert_eq!(ok.head.code(), Some(200), "{:?}", ok.head.comment());
    let use_path: Uri = ok.head.headers.get("Use-Path").unwrap().parse().unwrap();
    (auth.raw, use_path, client)
}

fn send_bytes(tid: &str, to: &[&Uri], from: &Uri, body: &[u8], flag: char, extra: &str) -> Vec<u8> {
    let to: Vec<String> = to.iter().map(|u| u.to_string()).collect();
    let mut v = format!(
        "MSRP {tid} SEND\r\nTo-Path: {}\r\nFrom-Path: {from}\r\nMessage-ID: m-{tid}\r\n{extra}Content-Type: text/plain\r\n\r\n",
        to.join(" ")
    )
    .into_bytes();
    v.extend_from_slice(body);
    v.extend_from_slice(format!("\r\n-------{tid}{flag}\r\n").as_bytes());
    v
}

// ------------------------------------------------------------ AUTH

#[test]
fn auth_with_our_client_returns_use_path_and_expires() {
    within(LIMIT, || {
        let relay = start(config());
        let mut c = client(&relay, "alice", "secret", Mode::Active);
        let path = c.prepare(local_uri()).unwrap();
        let port = relay.plain_addr().unwrap().port();
        assert_eq!(path.len(), 2);
        assert_eq!(path[0].host, "127.0.0.1");
        assert_eq!(path[0].port, Some(port));
        assert!(!path[0].secure);
        let sid = path[0].session_id.clone().unwrap();
        assert!(sid.len() >= 16);
        assert_eq!(
            c.reservation().unwrap().expires,
            Some(Duration::from_secs(600))
        );
        let r = relay.reservations();
        assert_eq!(r.len(), 1);
        assert_eq!(r[0].user, "alice");
        assert_eq!(r[0].session_id, sid);
        assert_eq!(r[0].client, path[1].to_string());
        assert!(r[0].expires_in <= Duration::from_secs(600));
        assert_eq!(relay.counters().auth_ok, 1);
    });
}

#[test]
fn wrong_password_gets_401_again_and_the_client_gives_up() {
    within(LIMIT, || {
        let relay = start(config());
        let mut c = client(&relay, "alice", "wrong", Mode::Active);
        match c.prepare(None) {
            Err(RelayError::AuthRejected { code: 401, .. }) => {}
            other => panic!("expected AuthRejected 401, got {other:?}"),
        }
        assert_eq!(relay.counters().auth_failed, 1);
        assert!(relay.reservations().is_empty());
        // An unknown user the same way.
        let mut c = client(&relay, "mallory", "secret", Mode::Active);
        assert!(matches!(
            c.prepare(None),
            Err(RelayError::AuthRejected { code: 401, .. })
        ));
    });
}

#[test]
fn expired_nonce_is_stale_and_the_retry_succeeds() {
    within(LIMIT, || {
        let mut cfg = config();
        cfg.nonce_lifetime = Duration::from_millis(200);
        let relay = start(cfg);
        let mut raw = RawAuth::connect(relay.plain_addr().unwrap(), ME);
        let c1 = raw.challenge("txnt1");
        assert!(!c1.stale);
        thread::sleep(Duration::from_millis(400));
        let a = raw.answer(&c1, "alice", "secret", 1);
        let r = raw.auth("txnt2", &[("Authorization", &a)]);
        assert_eq!(r.head.code(), Some(401));
        let c2 = challenge_of(&r);
        assert!(c2.stale, "an expired nonce with right credentials is stale");
        assert_ne!(c2.nonce, c1.nonce);
        let a = raw.answer(&c2, "alice", "secret", 1);
        assert_eq!(
            raw.auth("txnt3", &[("Authorization", &a)]).head.code(),
            Some(200)
        );
        assert_eq!(relay.counters().auth_failed, 0);
    });
}

#[test]
fn a_replayed_nonce_count_is_refused_and_attempts_are_bounded() {
    within(LIMIT, || {
        let relay = start(config());
        let mut raw = RawAuth::connect(relay.plain_addr().unwrap(), ME);
        let c = raw.challenge("txnt1");
        let h = raw.answer(&c, "alice", "secret", 1);
        let code = |raw: &mut RawAuth, tid: &str, h: &str| {
            raw.auth(tid, &[("Authorization", h)]).head.code()
        };
        assert_eq!(code(&mut raw, "txnt2", &h), Some(200));
        // The same Authorization again: refused.
        let r = raw.auth("txnt3", &[("Authorization", &h)]);
        assert_eq!(r.head.code(), Some(401));
        assert!(!challenge_of(&r).stale);
        // The next count with the same nonce is fine.
        let h2 = raw.answer(&c, "alice", "secret", 2);
        assert_eq!(code(&mut raw, "txnt4", &h2), Some(200));
        // Two more failures reach the limit of 3: 403 and the connection
        // closes.
        let bad = raw.answer(&c, "alice", "nope", 3);
        assert_eq!(code(&mut raw, "txnt5", &bad), Some(401));
        assert_eq!(code(&mut raw, "txnt6", &bad), Some(403));
        assert!(raw.raw.is_closed());
        assert_eq!(relay.counters().auth_failed, 3);
    });
}

#[test]
fn the_legacy_clients_auth_bytes_are_accepted() {
    within(LIMIT, || {
        let relay = start(config());
        let addr = relay.plain_addr().unwrap();
        let mut raw = Raw::connect(addr);
        // python3-msrplib: To-Path is the relay's domain URI (port as
        // configured, here 2855 while we listen elsewhere), From-Path its
        // own URI; a random hex transaction id.
        let to = format!("msrp://{REALM}:2855;tcp");
        let from = "msrp://127.0.0.1:40123/abcdefgh1234;tcp";
        raw.send(
            format!(
                "MSRP 5e0f1c2d3b4a AUTH\r\nTo-Path: {to}\r\nFrom-Path: {from}\r\n-------5e0f1c2d3b4a$\r\n"
            )
            .as_bytes(),
        );
        let r = raw.expect();
        assert_eq!(r.head.code(), Some(401));
        assert_eq!(r.head.transaction_id, "5e0f1c2d3b4a");
        let c = challenge_of(&r);
        let opaque = c.opaque.clone().unwrap();
        assert!(!opaque.is_empty(), "the legacy client needs opaque");
        // Its answer: every value quoted, no uri, the response computed
        // over the To-Path URI.
        let cnonce = "0a1b2c3d4e5f60718293a4b5c6d7e8f9";
        let ha1 = msgwire::msrp::relay::digest::ha1("alice", REALM, "secret");
        let response = msgwire::msrp::relay::digest::response(
            &ha1,
            &c.nonce,
            Some(("00000001", cnonce)),
            "AUTH",
            &to,
        );
        let value = format!(
            "Digest username=\"alice\", realm=\"{REALM}\", nonce=\"{}\", qop=\"auth\", nc=\"00000001\", cnonce=\"{cnonce}\", response=\"{response}\", opaque=\"{opaque}\"",
            c.nonce
        );
        raw.send(
            format!(
                "MSRP 77aa99bb AUTH\r\nTo-Path: {to}\r\nFrom-Path: {from}\r\nAuthorization: {value}\r\n-------77aa99bb$\r\n"
            )
            .as_bytes(),
        );
        let ok = raw.expect();
        assert_eq!(ok.head.code(), Some(200), "{:?}", ok.head.comment());
        assert_eq!(ok.head.transaction_id, "77aa99bb");
        assert_eq!(ok.head.headers.get("To-Path"), Some(from));
        let use_path = ok.head.headers.get("Use-Path").unwrap();
        assert!(use_path.starts_with(&format!("msrp://127.0.0.1:{}/", addr.port())));
        assert_eq!(ok.head.headers.get("Expires"), Some("600"));
        // An AUTH to some other domain is not ours.
        raw.send(&auth_bytes(
            "txnt9",
            "msrp://elsewhere.test:2855;tcp",
            from,
            &[],
        ));
        assert_eq!(raw.expect().head.code(), Some(403));
    });
}

#[test]
fn expires_out_of_bounds_gets_423_and_the_client_retry_works() {
    within(LIMIT, || {
        let relay = start(config());
        for (asked, got, header) in [(7200, 3600, "Max-Expires"), (10, 60, "Min-Expires")] {
            let mut s = settings(&relay, "alice", "secret");
            s.expires = Some(asked);
            let mut c = RelayConnection::new(s, Mode::Active, BindOptions::default());
            c.prepare(None).unwrap();
            assert_eq!(
                c.reservation().unwrap().expires,
                Some(Duration::from_secs(got)),
                "{header}"
            );
        }
        // The 423 itself, on the wire.
        let mut raw = RawAuth::connect(relay.plain_addr().unwrap(), ME);
        let c = raw.challenge("txnt1");
        let a = raw.answer(&c, "bob", "hunter2", 1);
        let r = raw.auth("txnt2", &[("Authorization", &a), ("Expires", "5000")]);
        assert_eq!(r.head.code(), Some(423));
        assert_eq!(r.head.headers.get("Max-Expires"), Some("3600"));
    });
}

/// A (active) authenticated at `ra`, B (passive) at `rb`, bound to each
/// other through the relay(s): (A's path, B's path, A's and B's transports).
fn relayed_pair(ra: &Relay, rb: &Relay) -> (Vec<Uri>, Vec<Uri>, BoundTransport, BoundTransport) {
    let mut a = client(ra, "alice", "secret", Mode::Active);
    let mut b = client(rb, "bob", "hunter2", Mode::Passive);
    let a_path = a.prepare(local_uri()).unwrap();
    let b_path = b.prepare(local_uri()).unwrap();
    let a_for_b = a_path.clone();
    let b_side = thread::spawn(move || b.complete(&a_for_b).unwrap());
    let a_bound = a.complete(&b_path).unwrap();
    let b_bound = b_side.join().unwrap();
    (a_path, b_path, a_bound, b_bound)
}

// ------------------------------------------------------------ forwarding

#[test]
fn two_clients_of_one_relay_exchange_send_and_report() {
    within(LIMIT, || {
        let relay = start(config());
        let (a_path, b_path, mut a_bound, mut b_bound) = relayed_pair(&relay, &relay);
        let (ra, a_uri) = (&a_path[0], &a_path[1]);
        let (rb, b_uri) = (&b_path[0], &b_path[1]);

        let paths = a_bound.paths().clone();
        assert_eq!(paths.to_path_value(), format!("{ra} {rb} {b_uri}"));
        let msg = ChunkBuilder::send(Bytes::from_static(b"hello bob"))
            .build(&paths.to_path_value(), &paths.from_path_value());
        a_bound.write_chunk(&msg).unwrap();
        let got = b_bound.read_chunk(None).unwrap().chunk;
        assert_eq!(&got.data[..], b"hello bob");
        // Exactly: B's relay URI, A's relay URI, A.
        assert_eq!(
            got.headers.get("From-Path").unwrap(),
            format!("{rb} {ra} {a_uri}")
        );
        assert_eq!(got.headers.get("To-Path").unwrap(), b_uri.to_string());
        assert_ne!(
            got.transaction_id, msg.transaction_id,
            "a new transaction id"
        );
        assert_eq!(got.message_id(), msg.message_id());
        // B answers 200: A gets it for its own transaction.
        b_bound.write_response(&got, 200, Some("OK")).unwrap();
        let resp = a_bound.read_chunk(None).unwrap().chunk;
        assert_eq!(resp.code(), Some(200));
        assert_eq!(resp.transaction_id, msg.transaction_id);
        assert_eq!(resp.headers.get("To-Path").unwrap(), a_uri.to_string());
        assert_eq!(resp.headers.get("From-Path").unwrap(), ra.to_string());

        // A REPORT from B back to A.
        let bp = b_bound.paths().clone();
        let mut report = Chunk::request("rep1", "REPORT");
        report.headers.set("To-Path", bp.to_path_value());
        report.headers.set("From-Path", bp.from_path_value());
        report.headers.set("Message-ID", msg.message_id().unwrap());
        report.headers.set("Byte-Range", "1-9/9");
        report.headers.set("Status", "000 200 OK");
        b_bound.write_chunk(&report).unwrap();
        let got = a_bound.read_chunk(None).unwrap().chunk;
        assert_eq!(got.method(), Some("REPORT"));
        assert_eq!(
            got.headers.get("From-Path").unwrap(),
            format!("{ra} {rb} {b_uri}")
        );
        assert_eq!(got.headers.get("To-Path").unwrap(), a_uri.to_string());
        assert_eq!(got.headers.get("Status"), Some("000 200 OK"));
        let c = relay.counters();
        assert!(c.forwarded >= 3, "{c:?}");
        assert!(c.bytes >= 9);
        assert!(relay.reservations().iter().all(|r| r.bytes >= 9));
    });
}

#[test]
fn a_direct_peer_talks_to_a_relayed_client() {
    within(LIMIT, || {
        let relay = start(config());
        let mut a = client(&relay, "alice", "secret", Mode::Passive);
        let a_path = a.prepare(local_uri()).unwrap();
        let mut b = DirectConnector::new(BindOptions::default());
        let b_path = b.prepare(local_uri());
        let b_for_a = b_path.clone();
        let a_side = thread::spawn(move || a.complete(&b_for_a).unwrap());
        // B connects to the relay (the first hop of A's path), unauthenticated.
        let mut b_bound = b.complete(&a_path).unwrap();
        let mut a_bound = a_side.join().unwrap();
        // A answers over the relay on B's own connection.
        let ap = a_bound.paths().clone();
        let msg = ChunkBuilder::send(Bytes::from_static(b"hi direct peer"))
            .build(&ap.to_path_value(), &ap.from_path_value());
        a_bound.write_chunk(&msg).unwrap();
        let got = b_bound.read_chunk(None).unwrap().chunk;
        assert_eq!(&got.data[..], b"hi direct peer");
        assert_eq!(
            got.headers.get("From-Path").unwrap(),
            format!("{} {}", a_path[0], a_path[1])
        );
        b_bound.write_response(&got, 200, None).unwrap();
        assert_eq!(a_bound.read_chunk(None).unwrap().chunk.code(), Some(200));
    });
}

#[test]
fn refusals_spoofing_unknown_session_method_body_and_strangers() {
    within(LIMIT, || {
        let relay = start(config());
        let addr = relay.plain_addr().unwrap();
        let (mut a, ra, a_uri) = raw_client(addr, "alice", "secret", "aaa");
        let (_b, rb, b_uri) = raw_client(addr, "bob", "hunter2", "bbb");
        // Spoofed From-Path.
        let other: Uri = "msrp://127.0.0.1:9/someoneelse;tcp".parse().unwrap();
        a.send(&send_bytes(
            "txns1",
            &[&ra, &rb, &b_uri],
            &other,
            b"x",
            '$',
            "",
        ));
        let r = a.expect();
        assert_eq!(
            (r.head.code(), r.head.transaction_id.as_str()),
            (Some(403), "txns1")
        );
        // Unknown session.
        let mut nosuch = ra.clone();
        nosuch.session_id = Some("nosuchsession".into());
        a.send(&send_bytes(
            "txns2",
            &[&nosuch, &b_uri],
            &a_uri,
            b"x",
            '$',
            "",
        ));
        assert_eq!(a.expect().head.code(), Some(481));
        // A method outside the list.
        a.send(
            format!("MSRP txns3 FROB\r\nTo-Path: {ra} {rb} {b_uri}\r\nFrom-Path: {a_uri}\r\n-------txns3$\r\n")
                .as_bytes(),
        );
        assert_eq!(a.expect().head.code(), Some(501));
        // A REPORT with a body over 10 KiB.
        let mut big = format!(
            "MSRP txns4 REPORT\r\nTo-Path: {ra} {rb} {b_uri}\r\nFrom-Path: {a_uri}\r\nMessage-ID: m\r\nStatus: 000 200 OK\r\nContent-Type: text/plain\r\n\r\n"
        )
        .into_bytes();
        big.extend(std::iter::repeat_n(b'z', 11 * 1024));
        big.extend_from_slice(b"\r\n-------txns4$\r\n");
        a.send(&big);
        assert_eq!(a.expect().head.code(), Some(413));
        // Not addressed to this relay at all.
        a.send(&send_bytes("txns5", &[&b_uri], &a_uri, b"x", '$', ""));
        assert_eq!(a.expect().head.code(), Some(403));
        // A through B's reservation to somewhere other than B.
        a.send(&send_bytes("txns6", &[&rb, &other], &a_uri, b"x", '$', ""));
        assert_eq!(a.expect().head.code(), Some(403));
        // An unauthenticated connection may not use A's reservation to go
        // elsewhere, but may reach A itself.
        let mut stranger = Raw::connect(addr);
        stranger.send(&send_bytes("txnu1", &[&ra, &other], &other, b"x", '$', ""));
        assert_eq!(stranger.expect().head.code(), Some(403));
        stranger.send(&send_bytes(
            "txnu2",
            &[&ra, &a_uri],
            &other,
            b"hey",
            '$',
            "",
        ));
        let got = a.expect();
        assert_eq!(got.body, b"hey");
        assert_eq!(
            got.head.headers.get("From-Path").unwrap(),
            format!("{ra} {other}")
        );
        assert!(relay.counters().refused >= 7);
    });
}

#[test]
fn two_relays_chained() {
    within(LIMIT, || {
        let r1 = start(config());
        let r2 = start(config());
        let (a_path, b_path, mut a_bound, mut b_bound) = relayed_pair(&r1, &r2);
        let ap = a_bound.paths().clone();
        let msg = ChunkBuilder::send(Bytes::from_static(b"across two relays"))
            .build(&ap.to_path_value(), &ap.from_path_value());
        a_bound.write_chunk(&msg).unwrap();
        let got = b_bound.read_chunk(None).unwrap().chunk;
        assert_eq!(&got.data[..], b"across two relays");
        assert_eq!(
            got.headers.get("From-Path").unwrap(),
            format!("{} {} {}", b_path[0], a_path[0], a_path[1])
        );
        b_bound.write_response(&got, 200, None).unwrap();
        assert_eq!(a_bound.read_chunk(None).unwrap().chunk.code(), Some(200));
        // And back: B to A, over the connection relay 1 opened.
        let bp = b_bound.paths().clone();
        let back = ChunkBuilder::send(Bytes::from_static(b"and back"))
            .build(&bp.to_path_value(), &bp.from_path_value());
        b_bound.write_chunk(&back).unwrap();
        let got = a_bound.read_chunk(None).unwrap().chunk;
        assert_eq!(&got.data[..], b"and back");
        assert_eq!(
            got.headers.get("From-Path").unwrap(),
            format!("{} {} {}", a_path[0], b_path[0], b_path[1])
        );
        assert_eq!(r1.counters().connections, 2, "A and the link to relay 2");
    });
}

/// A and B as raw clients of one relay; A's first To-Path for B.
fn raw_pair(relay: &Relay) -> ((Raw, Uri, Uri), (Raw, Uri, Uri)) {
    let addr = relay.plain_addr().unwrap();
    (
        raw_client(addr, "alice", "secret", "aaa"),
        raw_client(addr, "bob", "hunter2", "bbb"),
    )
}

#[test]
fn a_64_mib_body_is_cut_through_with_back_pressure() {
    within(Duration::from_secs(120), || {
        let relay = start(config());
        let ((mut a, ra, a_uri), (mut b, rb, b_uri)) = raw_pair(&relay);
        const SIZE: usize = 64 << 20;
        let head = format!(
            "MSRP bigone SEND\r\nTo-Path: {ra} {rb} {b_uri}\r\nFrom-Path: {a_uri}\r\nMessage-ID: big\r\nByte-Range: 1-{SIZE}/{SIZE}\r\nContent-Type: application/octet-stream\r\n\r\n"
        );
        let written = Arc::new(AtomicU64::new(0));
        let mut tcp = a.tcp.try_clone().unwrap();
        let counter = written.clone();
        let writer = thread::spawn(move || {
            let mut h = Sha256::new();
            tcp.write_all(head.as_bytes()).unwrap();
            let mut piece = vec![0u8; 64 * 1024];
            let mut x: u32 = 12345;
            for _ in 0..SIZE / piece.len() {
                for b in piece.iter_mut() {
                    x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
                    *b = (x >> 16) as u8;
                }
                h.update(&piece);
                tcp.write_all(&piece).unwrap();
                counter.fetch_add(piece.len() as u64, Ordering::SeqCst);
            }
            tcp.write_all(b"\r\n-------bigone$\r\n").unwrap();
            h.finalize().to_vec()
        });
        // B reads nothing yet: A must be held back once the buffers on the
        // way (kernel and the relay's bounded queue) are full.
        let mut last = u64::MAX;
        loop {
            thread::sleep(Duration::from_millis(300));
            let now = written.load(Ordering::SeqCst);
            if now == last {
                break;
            }
            last = now;
        }
        assert!(
            last < 40 << 20,
            "A wrote {last} bytes while B read nothing: the relay buffers too much"
        );
        let got = b.expect();
        assert_eq!(got.body.len(), SIZE);
        assert_eq!(got.flag, Flag::End);
        let sent = writer.join().unwrap();
        assert_eq!(Sha256::digest(&got.body).to_vec(), sent);
        assert_eq!(
            got.head.byte_range().unwrap().unwrap().total,
            Some(SIZE as u64)
        );
        // B answers; A gets its 200.
        b.send(
            &make_response(&got.head, 200, None)
                .unwrap()
                .unwrap()
                .encode(),
        );
        let r = a.expect();
        assert_eq!(
            (r.head.code(), r.head.transaction_id.as_str()),
            (Some(200), "bigone")
        );
    });
}

#[test]
fn many_chunks_in_one_write_reach_two_clients_whole_and_in_order() {
    within(LIMIT, || {
        let relay = start(config());
        let addr = relay.plain_addr().unwrap();
        let (mut a, ra, a_uri) = raw_client(addr, "alice", "secret", "aaa");
        let (mut b, rb, b_uri) = raw_client(addr, "bob", "hunter2", "bbb");
        let (mut c, rc, c_uri) = raw_client(addr, "bob", "hunter2", "ccc");
        // 1,500 small SENDs written at once: 1,000 to B (a read of the
        // relay then holds more chunks than it gathers for one write),
        // then three to B and two to C, over and over (the next hop
        // changes within a read). Each body carries a false end-line.
        const N: usize = 1500;
        let mut wire = Vec::new();
        let mut expected = (Vec::new(), Vec::new());
        for i in 0..N {
            let tid = format!("many{i:04}");
            let body = format!("{i}\r\n-------many{i:04}x{}", "z".repeat(i % 37));
            let (relay_uri, to, list) = if i < 1000 || i % 5 < 3 {
                (&rb, &b_uri, &mut expected.0)
            } else {
                (&rc, &c_uri, &mut expected.1)
            };
            wire.extend(send_bytes(
                &tid,
                &[&ra, relay_uri, to],
                &a_uri,
                body.as_bytes(),
                '$',
                "",
            ));
            list.push((tid, body));
        }
        let mut tcp = a.tcp.try_clone().unwrap();
        let writer = thread::spawn(move || tcp.write_all(&wire).unwrap());
        // Each receiver gets its chunks whole, in order, and answers them
        // all in one write.
        let mut answers = Vec::new();
        for (raw, list) in [(&mut b, &expected.0), (&mut c, &expected.1)] {
            let mut wire = Vec::new();
            for (tid, body) in list {
                let got = raw.expect();
                assert_eq!(got.body, body.as_bytes(), "{tid}");
                assert_eq!(got.flag, Flag::End);
                assert_eq!(
                    got.head.headers.get("Message-ID"),
                    Some(format!("m-{tid}").as_str())
                );
                wire.extend_from_slice(
                    &make_response(&got.head, 200, None)
                        .unwrap()
                        .unwrap()
                        .encode(),
                );
            }
            answers.push(wire);
        }
        writer.join().unwrap();
        b.send(&answers[0]);
        c.send(&answers[1]);
        // A gets a 200 for every one of its transactions, once.
        let mut seen = std::collections::BTreeSet::new();
        for _ in 0..N {
            let r = a.expect();
            assert_eq!(r.head.code(), Some(200));
            assert!(seen.insert(r.head.transaction_id.clone()));
        }
        let all: std::collections::BTreeSet<String> =
            (0..N).map(|i| format!("many{i:04}")).collect();
        assert_eq!(seen, all);
    });
}

#[test]
fn interrupted_chunks_cross_the_relay() {
    within(LIMIT, || {
        let relay = start(config());
        let ((mut a, ra, a_uri), (mut b, rb, b_uri)) = raw_pair(&relay);
        a.send(&send_bytes(
            "txnc1",
            &[&ra, &rb, &b_uri],
            &a_uri,
            b"hello",
            '+',
            "Byte-Range: 1-*/10\r\n",
        ));
        a.send(&send_bytes(
            "txnc2",
            &[&ra, &rb, &b_uri],
            &a_uri,
            b"world",
            '$',
            "Byte-Range: 6-10/10\r\n",
        ));
        let one = b.expect();
        let two = b.expect();
        assert_eq!(
            (one.body.as_slice(), one.flag),
            (&b"hello"[..], Flag::Continue)
        );
        assert_eq!((two.body.as_slice(), two.flag), (&b"world"[..], Flag::End));
        assert_eq!(one.head.headers.get("Byte-Range"), Some("1-*/10"));
        assert_eq!(two.head.headers.get("Byte-Range"), Some("6-10/10"));
        assert_ne!(one.head.transaction_id, two.head.transaction_id);
        for (got, tid) in [(&one, "txnc1"), (&two, "txnc2")] {
            b.send(
                &make_response(&got.head, 200, None)
                    .unwrap()
                    .unwrap()
                    .encode(),
            );
            let r = a.expect();
            assert_eq!(
                (r.head.code(), r.head.transaction_id.as_str()),
                (Some(200), tid)
            );
        }
    });
}

#[test]
fn a_silent_next_hop_is_answered_408() {
    within(LIMIT, || {
        let mut cfg = config();
        cfg.transaction_timeout = Duration::from_millis(300);
        let relay = start(cfg);
        let ((mut a, ra, a_uri), (mut b, rb, b_uri)) = raw_pair(&relay);
        a.send(&send_bytes(
            "txnq1",
            &[&ra, &rb, &b_uri],
            &a_uri,
            b"anyone?",
            '$',
            "",
        ));
        assert_eq!(b.expect().body, b"anyone?"); // and B never answers
        let r = a.expect();
        assert_eq!(
            (r.head.code(), r.head.transaction_id.as_str()),
            (Some(408), "txnq1")
        );
        assert_eq!(relay.counters().timeouts, 1);
        // With Failure-Report: no nothing comes back at all; the next
        // request's answer is the next thing A reads.
        a.send(&send_bytes(
            "txnq2",
            &[&ra, &rb, &b_uri],
            &a_uri,
            b"fire and forget",
            '$',
            "Failure-Report: no\r\n",
        ));
        assert_eq!(b.expect().body, b"fire and forget");
        a.send(&send_bytes(
            "txnq3",
            &[&ra, &rb, &b_uri],
            &a_uri,
            b"x",
            '$',
            "",
        ));
        let q3 = b.expect();
        b.send(
            &make_response(&q3.head, 200, None)
                .unwrap()
                .unwrap()
                .encode(),
        );
        assert_eq!(a.expect().head.transaction_id, "txnq3");
    });
}

/// A sender whose connection cannot take its 408 (a chunk from elsewhere
/// is stalled half-way to it) loses that 408 after a bounded wait, and the
/// housekeeping goes on answering everyone else.
#[test]
fn a_sender_that_cannot_take_its_408_does_not_stall_the_others() {
    within(LIMIT, || {
        let mut cfg = config();
        cfg.transaction_timeout = Duration::from_millis(300);
        let relay = start(cfg);
        let addr = relay.plain_addr().unwrap();
        let ((mut a, ra, a_uri), (mut b, rb, b_uri)) = raw_pair(&relay);
        let (mut c, rc, c_uri) = raw_client(addr, "alice", "secret", "ccc");
        let (mut d, rd, d_uri) = raw_client(addr, "bob", "hunter2", "ddd");
        // B starts a chunk to A and stalls half-way: A's connection is
        // taken until that chunk ends.
        let head = format!(
            "MSRP stall1 SEND\r\nTo-Path: {rb} {ra} {a_uri}\r\nFrom-Path: {b_uri}\r\nMessage-ID: s\r\nByte-Range: 1-100000/100000\r\nContent-Type: text/plain\r\n\r\n"
        );
        b.send(head.as_bytes());
        b.send(&[b'x'; 1000]);
        // A's request to B is never answered: its 408 cannot get through.
        a.send(&send_bytes(
            "txns1",
            &[&ra, &rb, &b_uri],
            &a_uri,
            b"hello?",
            '$',
            "",
        ));
        assert_eq!(b.expect().body, b"hello?");
        thread::sleep(Duration::from_millis(500)); // late, and being answered
                                                   // C's request to D, never answered either, still gets its 408.
        c.send(&send_bytes(
            "txns2",
            &[&rc, &rd, &d_uri],
            &c_uri,
            b"anyone?",
            '$',
            "",
        ));
        assert_eq!(d.expect().body, b"anyone?");
        let r = c.expect();
        assert_eq!(
            (r.head.code(), r.head.transaction_id.as_str()),
            (Some(408), "txns2")
        );
        assert_eq!(relay.counters().timeouts, 2);
        // Once B's chunk ends, A gets it; its lost 408 never comes.
        let mut rest = vec![b'y'; 99_000];
        rest.extend_from_slice(b"\r\n-------stall1$\r\n");
        b.send(&rest);
        let got = a.expect();
        assert_eq!(
            (got.head.message_id(), got.body.len(), got.flag),
            (Some("s"), 100_000, Flag::End)
        );
    });
}

#[test]
fn connection_limits_per_address() {
    within(LIMIT, || {
        let mut cfg = config();
        cfg.max_per_address = 2;
        let relay = start(cfg);
        let addr = relay.plain_addr().unwrap();
        let to = format!("msrp://{REALM}:{};tcp", addr.port());
        let mut one = Raw::connect(addr);
        let mut two = Raw::connect(addr);
        for r in [&mut one, &mut two] {
            r.send(&auth_bytes("tttt", &to, "msrp://127.0.0.1:9/x;tcp", &[]));
            assert_eq!(r.expect().head.code(), Some(401));
        }
        let mut three = Raw::connect(addr);
        three.send(&auth_bytes("tttt", &to, "msrp://127.0.0.1:9/x;tcp", &[]));
        assert!(three.next().is_none(), "the third connection is closed");
        drop(one);
        // The slot comes back once the relay saw the close.
        let mut tries = 0;
        loop {
            let mut again = Raw::connect(addr);
            again.send(&auth_bytes("tttt", &to, "msrp://127.0.0.1:9/x;tcp", &[]));
            if let Some(r) = again.next() {
                assert_eq!(r.head.code(), Some(401));
                break;
            }
            tries += 1;
            assert!(tries < 100, "the slot never came back");
            thread::sleep(Duration::from_millis(50));
        }
    });
}

#[test]
fn status_pages_show_counters_and_reservations() {
    within(LIMIT, || {
        let mut cfg = config();
        cfg.status = Some("127.0.0.1:0".parse().unwrap());
        let relay = start(cfg);
        let ((_a, ra, _), (_b, _, _)) = raw_pair(&relay);
        let base = format!("http://{}", relay.status_addr().unwrap());
        let status = msgwire::serverresponse::get(&format!("{base}/status.xml"), LIMIT).unwrap();
        assert_eq!(status.find("realm"), Some(REALM));
        assert_eq!(status.find("reservations"), Some("2"));
        assert_eq!(status.find("auth_ok"), Some("2"));
        assert_eq!(status.find("connections"), Some("2"));
        let sessions =
            msgwire::serverresponse::get(&format!("{base}/sessions.xml"), LIMIT).unwrap();
        let rows = sessions.lists("sessions").unwrap();
        assert_eq!(rows.len(), 2);
        let mine = rows
            .rows()
            .find(|r| r.get("session_id") == ra.session_id.as_deref())
            .unwrap();
        assert_eq!(mine.get("user"), Some("alice"));
        assert_eq!(mine.get("bytes"), Some("0"));
        assert!(mine.get("peer").unwrap().starts_with("127.0.0.1:"));
        assert!(mine.get("expires").unwrap().parse::<u32>().unwrap() <= 600);
    });
}

#[test]
fn tls_listener_with_a_test_ca() {
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair};
    within(LIMIT, || {
        let ca_key = KeyPair::generate().unwrap();
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(DnType::CommonName, "relay test CA");
        let ca = ca_params.self_signed(&ca_key).unwrap();
        let key = KeyPair::generate().unwrap();
        let leaf = CertificateParams::new(vec![REALM.to_string(), "127.0.0.1".to_string()])
            .unwrap()
            .signed_by(&key, &ca, &ca_key)
            .unwrap();
        let mut cfg = RelayConfig::new(REALM, users());
        cfg.listen = Some("127.0.0.1:0".parse().unwrap());
        cfg.tls = Some(
            TlsServerConfig::from_pem(leaf.pem().as_bytes(), key.serialize_pem().as_bytes())
                .unwrap(),
        );
        let relay = start(cfg);
        assert!(relay.plain_addr().is_none());
        let mut s = RelaySettings::new(REALM, "alice", "secret");
        s.host = Some("127.0.0.1".into());
        s.port = Some(relay.tls_addr().unwrap().port());
        s.use_tls = true;
        s.tls = Some(TlsClientConfig::with_ca_pem(ca.pem().as_bytes()).unwrap());
        let mut c = RelayConnection::new(s.clone(), Mode::Active, BindOptions::default());
        let path = c.prepare(local_uri()).unwrap();
        assert!(path[0].secure, "msrps on the TLS listener");
        assert_eq!(path[0].port, s.port);
        // A client that does not trust the CA gets nowhere.
        let mut s2 = s;
        let other = KeyPair::generate().unwrap();
        let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
        p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let other_ca = p.self_signed(&other).unwrap();
        s2.tls = Some(TlsClientConfig::with_ca_pem(other_ca.pem().as_bytes()).unwrap());
        let mut c2 = RelayConnection::new(s2, Mode::Active, BindOptions::default());
        assert!(c2.prepare(None).is_err());
    });
}

#[test]
fn shutdown_during_a_transfer_ends_both_sides() {
    within(LIMIT, || {
        let mut cfg = config();
        cfg.shutdown_grace = Duration::from_millis(500);
        let relay = start(cfg);
        let ((mut a, ra, a_uri), (mut b, rb, b_uri)) = raw_pair(&relay);
        // A starts a chunk it never finishes.
        a.send(
            format!(
                "MSRP longone SEND\r\nTo-Path: {ra} {rb} {b_uri}\r\nFrom-Path: {a_uri}\r\nMessage-ID: l\r\nContent-Type: text/plain\r\n\r\nsome of it"
            )
            .as_bytes(),
        );
        let mut tcp = a.tcp.try_clone().unwrap();
        let writer = thread::spawn(move || {
            // Keeps writing until the relay is gone.
            let piece = [b'y'; 4096];
            while tcp.write_all(&piece).is_ok() {
                thread::sleep(Duration::from_millis(5));
            }
        });
        // B sees the body start.
        let mut tmp = [0u8; 4096];
        let mut seen = Vec::new();
        while !String::from_utf8_lossy(&seen).contains("some of it") {
            let n = b.tcp.read(&mut tmp).unwrap();
            assert!(n > 0);
            seen.extend_from_slice(&tmp[..n]);
        }
        relay.shutdown();
        assert!(b.is_closed(), "B's connection ends");
        assert!(a.is_closed(), "A's connection ends");
        writer.join().unwrap();
        // The listener is gone too.
        assert!(TcpStream::connect(relay.plain_addr().unwrap()).is_err());
    });
}

#[test]
fn bad_configurations_are_errors() {
    let mut c = RelayConfig::new(REALM, users());
    assert!(Relay::start(c.clone()).is_err(), "no listener");
    c.listen = Some("127.0.0.1:0".parse().unwrap());
    assert!(
        Relay::start(c.clone()).is_err(),
        "TLS without a certificate"
    );
    c.listen = None;
    c.plain_tcp = Some("127.0.0.1:0".parse().unwrap());
    c.expires.min = 700;
    assert!(Relay::start(c).is_err(), "min above default");
}

#[test]
fn ipv6_listener_and_clients() {
    within(LIMIT, || {
        let mut cfg = RelayConfig::new(REALM, users());
        cfg.plain_tcp = Some("[::1]:0".parse().unwrap());
        let relay = start(cfg);
        let mut s = RelaySettings::new(REALM, "alice", "secret");
        s.host = Some("::1".into());
        s.port = Some(relay.plain_addr().unwrap().port());
        let mut c = RelayConnection::new(s, Mode::Active, BindOptions::default());
        let path = c.prepare(Some(Uri::new("::1", Some(0), None))).unwrap();
        assert_eq!(path[0].host, "::1");
        assert!(path[0].to_string().starts_with("msrp://[::1]:"));
        assert_eq!(relay.reservations()[0].peer.ip().to_string(), "::1");
    });
}
