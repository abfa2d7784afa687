//! The client side of RFC 4976 AUTH against a scripted relay on 127.0.0.1
//! (port 0): the challenge and the digest answer checked by the relay,
//! the Use-Path returned as the local path, and each quirk the client
//! must survive (stale nonce, 423 bounds, a relay silent when the digest
//! URI is present, wrong password, no answer at all).

mod common;
use common::within;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use msgwire::msrp::endpoint::BindOptions;
use msgwire::msrp::relay::digest::{ha1, Authorization, Challenge};
use msgwire::msrp::relay::{Mode, RelayConnection, RelayError, RelaySettings};
use msgwire::msrp::{make_response, parse_chunk, Chunk};

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
