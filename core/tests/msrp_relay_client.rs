//! The client side of RFC 4976 AUTH against a scripted relay on 127.0.0.1
//! (port 0): the challenge and the digest answer checked by the relay,
//! the Use-Path returned as the local path, and each quirk the client
//! must survive (stale nonce, 423 bounds, a relay silent when the digest
//! URI is present, wrong password, no answer at all); and relay
//! discovery against a DNS server of the test's own (SRV order, fallback
//! to the next relay, truncated answers asked again over TCP, the
//! domain's own address without SRV records).

mod common;
use common::within;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use bytes::Bytes;
use msgwire::msrp::endpoint::{
    BindOptions, BoundTransport, DirectAcceptor, DirectConnector, MsrpSession,
};
use msgwire::msrp::relay::digest::{ha1, Authorization, Challenge};
use msgwire::msrp::relay::{Mode, RelayConnection, RelayError, RelaySettings};
use msgwire::msrp::session::SessionConfig;
use msgwire::msrp::{make_response, parse_chunk, Chunk, ChunkBuilder, Uri};

const LIMIT: Duration = Duration::from_secs(60);
const REALM: &str = "relay.test";

/// How the scripted relay behaves.
#[derive(Clone, Copy, Default)]
struct Script {
    /// Answer the first correct Authorization with a stale 401.
    stale_once: bool,
    /// Never answer an Authorization that carries `uri` (msrprelay 1.4).
    silent_on_uri: bool,
    /// Answer an AUTH without Expires 423 with Max-Expires 300... or one
    /// with Expires above this bound 423 with Max-Expires.
    max_expires: Option<u32>,
    /// Never answer anything.
    mute: bool,
    /// Answer every AUTH 403.
    refuse: bool,
}

/// What the relay saw: each AUTH's headers.
type Seen = Arc<Mutex<Vec<Chunk>>>;

fn read_chunk(conn: &mut TcpStream, buf: &mut Vec<u8>) -> Option<Chunk> {
    let mut tmp = [0u8; 4096];
    loop {
        if let Some(end) = find_end(buf) {
            let chunk = parse_chunk(&buf[..end]).expect("the client sent valid MSRP");
            buf.drain(..end);
            return Some(chunk);
        }
        match conn.read(&mut tmp) {
            Ok(0) | Err(_) => return None,
            Ok(n) => buf.extend_from_slice(&tmp[..n]),
        }
    }
}

/// The end of the first chunk in `buf` (its end-line included).
fn find_end(buf: &[u8]) -> Option<usize> {
    let text = std::str::from_utf8(buf).ok()?;
    let first = text.find("\r\n")?;
    let tid = text[..first].split(' ').nth(1)?;
    let end_line = format!("-------{tid}");
    let at = text.find(&end_line)?;
    let after = at + end_line.len() + 1;
    text.get(after..after + 2).filter(|s| *s == "\r\n")?;
    Some(after + 2)
}

fn respond(conn: &mut TcpStream, req: &Chunk, code: u16, headers: &[(&str, String)]) {
    let mut r = make_response(req, code, None).unwrap().unwrap();
    for (n, v) in headers {
        r.headers.set(n, v.clone());
    }
    conn.write_all(&r.encode()).unwrap();
}

/// A relay on 127.0.0.1 serving one connection by `script`; returns its
/// port and what it saw.
fn relay(password: &'static str, script: Script) -> (u16, Seen) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let seen: Seen = Arc::default();
    let log = seen.clone();
    thread::spawn(move || {
        let (mut conn, _) = listener.accept().unwrap();
        let mut buf = Vec::new();
        let user_ha1 = ha1("alice", REALM, password);
        let mut nonce = 0;
        let mut stale_sent = false;
        while let Some(req) = read_chunk(&mut conn, &mut buf) {
            log.lock().unwrap().push(req.clone());
            if script.mute {
                continue;
            }
            if script.refuse {
                respond(&mut conn, &req, 403, &[]);
                continue;
            }
            let challenge = |nonce: u32, stale: bool| Challenge {
                realm: REALM.into(),
                nonce: format!("nonce{nonce}"),
                opaque: Some("opaque-value".into()),
                qop: vec!["auth".into()],
                algorithm: None,
                stale,
            };
            let Some(value) = req.headers.get("Authorization") else {
                nonce += 1;
                respond(
                    &mut conn,
                    &req,
                    401,
                    &[("WWW-Authenticate", challenge(nonce, false).to_header())],
                );
                continue;
            };
            let auth = Authorization::parse(value).unwrap();
            if script.silent_on_uri && auth.uri.is_some() {
                continue;
            }
            let uri = auth
                .uri
                .clone()
                .unwrap_or_else(|| req.headers.get("To-Path").unwrap().to_string());
            let good = auth.nonce == format!("nonce{nonce}")
                && auth.opaque.as_deref() == Some("opaque-value")
                && auth.verify(&user_ha1, &uri);
            if !good {
                nonce += 1;
                respond(
                    &mut conn,
                    &req,
                    401,
                    &[("WWW-Authenticate", challenge(nonce, false).to_header())],
                );
                continue;
            }
            if script.stale_once && !stale_sent {
                stale_sent = true;
                nonce += 1;
                respond(
                    &mut conn,
                    &req,
                    401,
                    &[("WWW-Authenticate", challenge(nonce, true).to_header())],
                );
                continue;
            }
            if let Some(max) = script.max_expires {
                let asked = req
                    .headers
                    .get("Expires")
                    .map(|v| v.parse::<u32>().unwrap());
                if asked.is_none_or(|e| e > max) {
                    respond(&mut conn, &req, 423, &[("Max-Expires", max.to_string())]);
                    continue;
                }
            }
            respond(
                &mut conn,
                &req,
                200,
                &[
                    (
                        "Use-Path",
                        format!("msrp://127.0.0.1:{port}/relaysession;tcp"),
                    ),
                    ("Expires", "600".into()),
                ],
            );
        }
    });
    (port, seen)
}

fn settings(port: u16, password: &str) -> RelaySettings {
    let mut s = RelaySettings::new(REALM, "alice", password);
    s.host = Some("127.0.0.1".into());
    s.port = Some(port);
    s.auth_timeout = Duration::from_secs(10);
    s.quirk_wait = Duration::from_millis(300);
    s
}

fn connection(s: RelaySettings) -> RelayConnection {
    RelayConnection::new(s, Mode::Active, BindOptions::default())
}

#[test]
fn challenge_answer_and_use_path() {
    within(LIMIT, || {
        let (port, seen) = relay("secret", Script::default());
        let mut c = connection(settings(port, "secret"));
        let path = c.prepare(None).unwrap();
        assert_eq!(path.len(), 2);
        assert_eq!(
            path[0].to_string(),
            format!("msrp://127.0.0.1:{port}/relaysession;tcp")
        );
        // Our URI: our end of the relay connection.
        assert_eq!(path[1].host, "127.0.0.1");
        assert_eq!(
            c.reservation().unwrap().expires,
            Some(Duration::from_secs(600))
        );
        let seen = seen.lock().unwrap();
        assert_eq!(seen.len(), 2);
        let relay_uri = format!("msrp://{REALM}:{port};tcp");
        for auth in seen.iter() {
            assert_eq!(auth.method(), Some("AUTH"));
            assert_eq!(auth.headers.get("To-Path"), Some(relay_uri.as_str()));
            assert_eq!(
                auth.headers.get("From-Path"),
                Some(path[1].to_string().as_str())
            );
            assert!(
                auth.headers.get("Expires").is_none(),
                "Expires only when configured"
            );
        }
        assert!(seen[0].headers.get("Authorization").is_none());
        let a = Authorization::parse(seen[1].headers.get("Authorization").unwrap()).unwrap();
        assert_eq!(a.uri.as_deref(), Some(relay_uri.as_str()));
        assert_eq!(
            (a.qop.as_deref(), a.nc.as_deref()),
            (Some("auth"), Some("00000001"))
        );
        assert_eq!(a.opaque.as_deref(), Some("opaque-value"));
        assert!(!c.settings().omit_digest_uri);
    });
}

#[test]
fn wrong_password_is_an_auth_error() {
    within(LIMIT, || {
        let (port, _) = relay("secret", Script::default());
        let mut c = connection(settings(port, "wrong"));
        match c.prepare(None) {
            Err(RelayError::AuthRejected { code: 401, .. }) => {}
            other => panic!("expected a 401 rejection, got {other:?}"),
        }
    });
}

#[test]
fn a_stale_nonce_is_retried_once() {
    within(LIMIT, || {
        let (port, seen) = relay(
            "secret",
            Script {
                stale_once: true,
                ..Script::default()
            },
        );
        let mut c = connection(settings(port, "secret"));
        c.prepare(None).unwrap();
        let seen = seen.lock().unwrap();
        assert_eq!(seen.len(), 3);
        let nonces: Vec<String> = seen[1..]
            .iter()
            .map(|a| {
                Authorization::parse(a.headers.get("Authorization").unwrap())
                    .unwrap()
                    .nonce
            })
            .collect();
        assert_eq!(nonces, ["nonce1", "nonce2"]);
    });
}

#[test]
fn out_of_bounds_expires_is_retried_within_the_bound() {
    within(LIMIT, || {
        let (port, seen) = relay(
            "secret",
            Script {
                max_expires: Some(300),
                ..Script::default()
            },
        );
        let mut s = settings(port, "secret");
        s.expires = Some(3600);
        let mut c = connection(s);
        c.prepare(None).unwrap();
        let seen = seen.lock().unwrap();
        let expires: Vec<Option<&str>> = seen.iter().map(|a| a.headers.get("Expires")).collect();
        assert_eq!(expires, [Some("3600"), Some("3600"), Some("300")]);
        // The retry counts on with the same nonce.
        let a = Authorization::parse(seen[2].headers.get("Authorization").unwrap()).unwrap();
        assert_eq!(a.nc.as_deref(), Some("00000002"));
    });
}

#[test]
fn a_relay_silent_on_the_digest_uri_gets_one_without() {
    within(LIMIT, || {
        let (port, seen) = relay(
            "secret",
            Script {
                silent_on_uri: true,
                ..Script::default()
            },
        );
        let mut c = connection(settings(port, "secret"));
        c.prepare(None).unwrap();
        assert!(c.settings().omit_digest_uri, "remembered for this relay");
        let seen = seen.lock().unwrap();
        let uris: Vec<Option<String>> = seen[1..]
            .iter()
            .map(|a| {
                Authorization::parse(a.headers.get("Authorization").unwrap())
                    .unwrap()
                    .uri
            })
            .collect();
        assert_eq!(uris, [Some(format!("msrp://{REALM}:{port};tcp")), None]);
    });
}

#[test]
fn no_answer_is_an_auth_timeout_and_no_relay_a_connect_error() {
    within(LIMIT, || {
        let (port, _) = relay(
            "secret",
            Script {
                mute: true,
                ..Script::default()
            },
        );
        let mut s = settings(port, "secret");
        s.auth_timeout = Duration::from_millis(200);
        match connection(s).prepare(None) {
            Err(RelayError::AuthTimeout(_)) => {}
            other => panic!("expected an AUTH timeout, got {other:?}"),
        }
        // A port nobody listens on.
        let free = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        match connection(settings(free, "secret")).prepare(None) {
            Err(RelayError::Endpoint(_)) | Err(RelayError::ConnectTimeout(_)) => {}
            other => panic!("expected a connection error, got {other:?}"),
        }
        // complete() before prepare().
        let mut c = connection(settings(free, "secret"));
        assert!(matches!(c.complete(&[]), Err(RelayError::NotPrepared)));
    });
}

/// A DNS server on 127.0.0.1 (UDP, and TCP on the same port) answering
/// from a fixed table: SRV records for `_msrp._tcp.relay.test.`, A records
/// for any name listed in `hosts`. With `truncate`, UDP answers to SRV
/// queries come back empty with the TC bit, so the client must ask again
/// over TCP. Returns the server's address and the count of TCP queries.
fn dns(
    srv: Vec<(u16, u16, u16, &'static str)>,
    hosts: Vec<&'static str>,
    truncate: bool,
) -> (SocketAddr, Arc<Mutex<usize>>) {
    use hickory_proto::op::{Message, MessageType, ResponseCode};
    use hickory_proto::rr::rdata::{A, SRV};
    use hickory_proto::rr::{Name, RData, Record, RecordType};

    let (tcp, udp) = loop {
        let tcp = TcpListener::bind("127.0.0.1:0").unwrap();
        if let Ok(udp) = UdpSocket::bind(tcp.local_addr().unwrap()) {
            break (tcp, udp);
        }
    };
    let addr = udp.local_addr().unwrap();
    let answer = move |query: &[u8], over_udp: bool| -> Vec<u8> {
        let q = Message::from_vec(query).unwrap();
        let question = q.queries()[0].clone();
        let mut m = Message::new();
        m.set_id(q.id()).set_message_type(MessageType::Response);
        m.add_query(question.clone());
        let name = question.name().to_ascii().to_lowercase();
        match question.query_type() {
            RecordType::SRV if name == "_msrp._tcp.relay.test." => {
                if truncate && over_udp {
                    m.set_truncated(true);
                } else {
                    for (p, w, port, target) in &srv {
                        let rdata = SRV::new(*p, *w, *port, Name::from_ascii(target).unwrap());
                        m.add_answer(Record::from_rdata(
                            question.name().clone(),
                            60,
                            RData::SRV(rdata),
                        ));
                    }
                }
            }
            RecordType::A if hosts.iter().any(|h| format!("{h}.") == name) => {
                let a = A::new(127, 0, 0, 1);
                m.add_answer(Record::from_rdata(question.name().clone(), 60, RData::A(a)));
            }
            _ => {
                m.set_response_code(ResponseCode::NXDomain);
            }
        }
        m.to_vec().unwrap()
    };
    let answer = Arc::new(answer);
    let udp_answer = answer.clone();
    thread::spawn(move || {
        let mut buf = [0u8; 2048];
        while let Ok((n, from)) = udp.recv_from(&mut buf) {
            let _ = udp.send_to(&udp_answer(&buf[..n], true), from);
        }
    });
    let tcp_count: Arc<Mutex<usize>> = Arc::default();
    let counted = tcp_count.clone();
    thread::spawn(move || {
        for conn in tcp.incoming() {
            let Ok(mut conn) = conn else { break };
            *counted.lock().unwrap() += 1;
            let mut len = [0u8; 2];
            if conn.read_exact(&mut len).is_err() {
                continue;
            }
            let mut q = vec![0u8; usize::from(u16::from_be_bytes(len))];
            if conn.read_exact(&mut q).is_err() {
                continue;
            }
            let a = answer(&q, false);
            let mut out = (a.len() as u16).to_be_bytes().to_vec();
            out.extend_from_slice(&a);
            let _ = conn.write_all(&out);
        }
    });
    (addr, tcp_count)
}

fn discovered(dns: SocketAddr) -> RelaySettings {
    let mut s = RelaySettings::new(REALM, "alice", "secret");
    s.nameservers = Some(vec![dns]);
    s.dns_timeout = Duration::from_secs(5);
    s.auth_timeout = Duration::from_secs(10);
    s
}

#[test]
fn srv_discovery_falls_back_from_a_refusing_relay_to_the_next() {
    within(LIMIT, || {
        let (refusing, refused) = relay(
            "secret",
            Script {
                refuse: true,
                ..Script::default()
            },
        );
        let (good, _) = relay("secret", Script::default());
        // Priority 10 first (it refuses), then priority 20; the A records
        // of the targets come from the same server.
        let (server, tcp_queries) = dns(
            vec![
                (20, 0, good, "good.relay.test."),
                (10, 0, refusing, "bad.relay.test."),
            ],
            vec!["good.relay.test", "bad.relay.test"],
            false,
        );
        let settings = discovered(server);
        let targets = settings.targets().unwrap();
        let ports: Vec<u16> = targets.iter().map(|t| t.addr.port()).collect();
        assert_eq!(ports, [refusing, good]);
        assert_eq!(targets[0].name, "bad.relay.test");
        let mut c = connection(settings);
        let path = c.prepare(None).unwrap();
        assert_eq!(
            path[0].to_string(),
            format!("msrp://127.0.0.1:{good}/relaysession;tcp")
        );
        assert_eq!(
            refused.lock().unwrap().len(),
            1,
            "the first relay was tried"
        );
        assert_eq!(*tcp_queries.lock().unwrap(), 0);
    });
}

#[test]
fn truncated_answers_are_asked_again_over_tcp() {
    within(LIMIT, || {
        let (good, _) = relay("secret", Script::default());
        let (server, tcp_queries) = dns(
            vec![(10, 0, good, "good.relay.test.")],
            vec!["good.relay.test"],
            true,
        );
        let targets = discovered(server).targets().unwrap();
        assert_eq!(targets.len(), 1);
        assert_eq!(targets[0].addr, SocketAddr::from(([127, 0, 0, 1], good)));
        assert_eq!(*tcp_queries.lock().unwrap(), 1);
    });
}

#[test]
fn without_srv_records_the_domain_itself_is_used() {
    within(LIMIT, || {
        let (good, _) = relay("secret", Script::default());
        // No SRV for this domain, but an A record for it.
        let (server, _) = dns(vec![], vec![REALM], false);
        let mut settings = discovered(server);
        settings.port = Some(good); // 2855 in real life
        let targets = settings.targets().unwrap();
        assert_eq!(
            targets,
            [msgwire::msrp::relay::discovery::Target {
                name: REALM.to_string(),
                addr: SocketAddr::from(([127, 0, 0, 1], good)),
            }]
        );
        connection(settings).prepare(None).unwrap();
        // And a domain nobody knows is a discovery error.
        let (server, _) = dns(vec![], vec![], false);
        let mut s = discovered(server);
        s.domain = "nowhere.invalid".into();
        assert!(matches!(s.targets(), Err(RelayError::Discovery(_))));
    });
}

/// Rewrites a request the way a relay forwards it: our URI (the first of
/// To-Path) moves to the front of From-Path; a new transaction id.
fn forwarded(req: &Chunk) -> Chunk {
    let mut to = req.to_path().unwrap().unwrap();
    let mut from = req.from_path().unwrap().unwrap();
    from.insert(0, to.remove(0));
    let mut out = req.clone();
    out.transaction_id = format!("fw{}", req.transaction_id);
    let join = |v: &[Uri]| {
        v.iter()
            .map(|u| u.to_string())
            .collect::<Vec<_>>()
            .join(" ")
    };
    out.headers.set("To-Path", join(&to));
    out.headers.set("From-Path", join(&from));
    out
}

/// Forwards `req` on `out`, waits for its response there, and answers
/// `req` on `back` with the same code (responses hop by hop).
fn relay_one(req: &Chunk, back: &mut TcpStream, out: &mut TcpStream, out_buf: &mut Vec<u8>) {
    out.write_all(&forwarded(req).encode()).unwrap();
    let resp = read_chunk(out, out_buf).expect("a response downstream");
    respond(back, req, resp.code().unwrap(), &[]);
}

/// A relay that grants any AUTH at once and then forwards what the test
/// needs: `Active` — the endpoint's bind SEND and one message to the peer
/// it names (a direct acceptor); `Passive` — a direct connector's bind
/// SEND, arriving on a second connection, to the endpoint.
fn forwarding_relay(mode: Mode) -> u16 {
    forwarding_relay_granting(mode, None).0
}

/// As [`forwarding_relay`], granting reservations of `expires` seconds
/// when given; in `Passive` mode it then grants every further AUTH on the
/// endpoint's connection too, and counts them on the returned channel.
fn forwarding_relay_granting(
    mode: Mode,
    expires: Option<u32>,
) -> (u16, std::sync::mpsc::Receiver<Chunk>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let (renewals, renewed) = std::sync::mpsc::channel();
    thread::spawn(move || {
        let (mut a, _) = listener.accept().unwrap();
        let mut a_buf = Vec::new();
        let auth = read_chunk(&mut a, &mut a_buf).unwrap();
        assert_eq!(auth.method(), Some("AUTH"));
        let use_path = format!("msrp://127.0.0.1:{port}/sess1;tcp");
        let mut grant = vec![("Use-Path", use_path)];
        if let Some(e) = expires {
            grant.push(("Expires", e.to_string()));
        }
        respond(&mut a, &auth, 200, &grant);
        match mode {
            Mode::Active => {
                let bind = read_chunk(&mut a, &mut a_buf).unwrap();
                let next = bind.to_path().unwrap().unwrap()[1].clone();
                let mut b = TcpStream::connect(("127.0.0.1", next.port.unwrap())).unwrap();
                let mut b_buf = Vec::new();
                relay_one(&bind, &mut a, &mut b, &mut b_buf);
                let message = read_chunk(&mut a, &mut a_buf).unwrap();
                relay_one(&message, &mut a, &mut b, &mut b_buf);
            }
            Mode::Passive => {
                let (mut b, _) = listener.accept().unwrap();
                let mut b_buf = Vec::new();
                let bind = read_chunk(&mut b, &mut b_buf).unwrap();
                relay_one(&bind, &mut b, &mut a, &mut a_buf);
                while let Some(req) = read_chunk(&mut a, &mut a_buf) {
                    if req.method() == Some("AUTH") {
                        respond(&mut a, &req, 200, &grant);
                        if renewals.send(req).is_err() {
                            return;
                        }
                    }
                }
            }
        }
        // Keep both connections until the test is done with them.
        let _ = read_chunk(&mut a, &mut a_buf);
    });
    (port, renewed)
}

fn local_uri() -> Option<Uri> {
    Some(Uri::new("127.0.0.1", Some(0), None))
}

#[test]
fn active_bind_and_a_message_through_the_relay() {
    within(LIMIT, || {
        let port = forwarding_relay(Mode::Active);
        let mut a = connection(settings(port, "secret"));
        let a_path = a.prepare(None).unwrap();
        let mut b = DirectAcceptor::new(BindOptions::default());
        let b_path = b.prepare(local_uri()).unwrap();
        // B checks that the bind names [relay, A] as the path back.
        let b_side = thread::spawn(move || b.complete(&a_path).unwrap());
        let mut a_bound = a.complete(&b_path).unwrap();
        let mut b_bound = b_side.join().unwrap();
        let relay_uri = format!("msrp://127.0.0.1:{port}/sess1;tcp");
        assert_eq!(
            a_bound.paths().to_path_value(),
            format!("{relay_uri} {}", b_path[0])
        );
        assert_eq!(b_bound.paths().remote_path[0].to_string(), relay_uri);
        let paths = a_bound.paths().clone();
        let msg = ChunkBuilder::send(Bytes::from_static(b"hi via relay"))
            .build(&paths.to_path_value(), &paths.from_path_value());
        a_bound.write_chunk(&msg).unwrap();
        let got = b_bound.read_chunk(None).unwrap().chunk;
        assert_eq!(&got.data[..], b"hi via relay");
        assert_eq!(
            got.headers.get("From-Path").unwrap(),
            format!("{relay_uri} {}", paths.local_uri)
        );
    });
}

/// A passive relayed endpoint A (through the relay on `port`) bound to a
/// direct connector B: A's advertised path and both transports.
fn passive_pair(port: u16) -> (Vec<Uri>, BoundTransport, BoundTransport) {
    let mut a = RelayConnection::new(
        settings(port, "secret"),
        Mode::Passive,
        BindOptions::default(),
    );
    let a_path = a.prepare(local_uri()).unwrap();
    let mut b = DirectConnector::new(BindOptions::default());
    let b_path = b.prepare(local_uri());
    let a_side = thread::spawn(move || a.complete(&b_path).unwrap());
    // B connects to the first hop of A's path: the relay.
    let b_bound = b.complete(&a_path).unwrap();
    (a_path, a_side.join().unwrap(), b_bound)
}

#[test]
fn passive_bind_through_the_relay() {
    within(LIMIT, || {
        let (a_path, a_bound, b_bound) = passive_pair(forwarding_relay(Mode::Passive));
        assert_eq!(
            b_bound.paths().to_path_value(),
            a_path
                .iter()
                .map(|u| u.to_string())
                .collect::<Vec<_>>()
                .join(" ")
        );
        assert_eq!(a_bound.paths().local_path, a_path[..1]);
    });
}

#[test]
fn a_session_renews_its_reservation_over_the_relay_connection() {
    within(LIMIT, || {
        // A 2 s reservation: renewed every 1.5 s while the session lives.
        let (port, renewed) = forwarding_relay_granting(Mode::Passive, Some(2));
        let (a_path, a_bound, _b_bound) = passive_pair(port);
        let (events, seen) = std::sync::mpsc::channel();
        let session = MsrpSession::start(a_bound, SessionConfig::default(), move |ev| {
            let _ = events.send(format!("{ev:?}"));
        })
        .unwrap();
        for _ in 0..2 {
            let auth = renewed.recv_timeout(Duration::from_secs(20)).unwrap();
            assert_eq!(
                auth.headers.get("To-Path"),
                Some(format!("msrp://{REALM}:{port};tcp").as_str())
            );
            assert_eq!(
                auth.headers.get("From-Path"),
                Some(a_path[1].to_string().as_str())
            );
        }
        // The relay's 200s were the renewal's business, not the application's.
        assert!(seen.try_recv().is_err());
        session.shutdown(true);
    });
}
