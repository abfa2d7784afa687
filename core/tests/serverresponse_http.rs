//! The serverResponse HTTP server and client on loopback: exact reply
//! bytes, faults, limits, the status method, TLS and IPv6.

mod common;

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use common::within;
use msgwire::net::stats::{self, Protocol};
use msgwire::net::{Stream, TlsClientConfig, TlsServerConfig};
use msgwire::serverresponse::{
    get, get_with, parse, ClientError, Fault, GetOptions, ParseConfig, ParseErrorKind, Server,
    ServerConfig,
};

const LIMIT: Duration = Duration::from_secs(60);
const T: Duration = Duration::from_secs(10);

const STATUS: &[u8] = include_bytes!("../../tests/data/serverresponse/status.xml");
const UNKNOWN: &[u8] = include_bytes!("../../tests/data/serverresponse/unknown.xml");
const REGISTRATIONS: &[u8] = include_bytes!("../../tests/data/serverresponse/registrations.xml");

fn version() -> &'static str {
    msgwire::serverresponse::http::VERSION
}

/// Sends raw bytes, reads the reply to end-of-file.
fn raw(addr: SocketAddr, request: &[u8]) -> Vec<u8> {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(T)).unwrap();
    s.write_all(request).unwrap();
    // Nothing more will come: a request cut short is cut short now.
    s.shutdown(Shutdown::Write).unwrap();
    let mut out = Vec::new();
    s.read_to_end(&mut out).unwrap();
    out
}

fn split(reply: &[u8]) -> (String, Vec<u8>) {
    let at = reply
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a reply head")
        + 4;
    (
        String::from_utf8(reply[..at].to_vec()).unwrap(),
        reply[at..].to_vec(),
    )
}

fn head(status: &str, extra: &str) -> String {
    format!(
        "HTTP/1.1 {status}\r\nConnection: close\r\nServer: msgwire/{}\r\nContent-Type: text/xml\r\n{extra}\r\n",
        version()
    )
}

/// A Bayonne look-alike serving the spec's samples.
fn bayonne() -> Server {
    let config = ServerConfig {
        server_name: "bayonne".into(),
        ..ServerConfig::default()
    };
    let server = Server::bind("127.0.0.1:0", config).unwrap();
    server.method("status", |_, reply| {
        reply.result("status", "-- ")?;
        Ok(())
    });
    server.method("registrations", |req, reply| {
        let rows = [
            ("sip", "192.168.1.95", "291", "friend", "active"),
            ("h323", "192.168.1.96", "292", "peer", "idle"),
        ];
        reply.begin_lists("registrations")?;
        for (driver, server, userid, access, status) in rows {
            if req.arg("driver").is_some_and(|d| d != driver) {
                continue;
            }
            reply.row(
                "registration",
                [
                    ("driver", driver),
                    ("server", server),
                    ("userid", userid),
                    ("access", access),
                    ("status", status),
                ],
            )?;
        }
        Ok(())
    });
    server
}

#[test]
fn spec_samples_byte_for_byte() {
    within(LIMIT, || {
        let server = bayonne();
        let addr = server.local_addr();
        let r = raw(
            addr,
            b"GET /status.xml HTTP/1.0\r\nUser-Agent: Any\r\nHost: 127.0.0.1\r\n\r\n",
        );
        assert_eq!(split(&r), (head("200 OK", ""), STATUS.to_vec()));
        let r = raw(
            addr,
            b"GET /unknown.xml HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n",
        );
        assert_eq!(split(&r), (head("404 Not Found", ""), UNKNOWN.to_vec()));
        let r = raw(
            addr,
            b"GET /registrations.xml?driver=sip HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n",
        );
        assert_eq!(split(&r), (head("200 OK", ""), REGISTRATIONS.to_vec()));
        // And through our client.
        let doc = get(&format!("http://{addr}/registrations.xml?driver=h323"), T).unwrap();
        let rows = doc.lists("registrations").unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(rows.row(0).unwrap().get("userid"), Some("292"));
    });
}

#[test]
fn http_level_faults() {
    within(LIMIT, || {
        let server = bayonne();
        let addr = server.local_addr();
        let fault = |status: u16, reason: &str| {
            let mut body = Vec::new();
            write!(
                body,
                "<?xml version=\"1.0\"?>\n<serverResponse>\n <faults server=\"bayonne\" service=\"http\">\n  \
                 <fault id=\"code\" value=\"{status}\"/>\n  <fault id=\"text\" value=\"{reason}\"/>\n \
                 </faults>\n</serverResponse>\n"
            )
            .unwrap();
            body
        };
        let r = raw(
            addr,
            b"POST /status.xml HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n",
        );
        assert_eq!(
            split(&r),
            (
                head("405 Method Not Allowed", "Allow: GET, HEAD\r\n"),
                fault(405, "Method Not Allowed")
            )
        );
        for bad in [
            &b"GET /status.xml\r\n\r\n"[..],
            b"GET /status.xml HTTP/1.0\r\nno colon here\r\n\r\n",
            b"GARBAGE\r\n\r\n",
            b"GET /status.xml HTTP/1.0\r\n", // closed before the blank line
        ] {
            let r = raw(addr, bad);
            assert_eq!(
                split(&r),
                (head("400 Bad Request", ""), fault(400, "Bad Request")),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
        // HEAD: the status and headers only.
        assert_eq!(
            raw(addr, b"HEAD /status.xml HTTP/1.0\r\n\r\n"),
            head("200 OK", "").into_bytes()
        );
        assert_eq!(
            raw(addr, b"HEAD /nothing.xml HTTP/1.0\r\n\r\n"),
            head("404 Not Found", "").into_bytes()
        );
        // Nothing sent at all: no reply.
        assert_eq!(raw(addr, b""), b"");
    });
}

#[test]
fn head_size_limit() {
    within(LIMIT, || {
        let config = ServerConfig {
            max_head: 256,
            ..ServerConfig::default()
        };
        let server = Server::bind("127.0.0.1:0", config).unwrap();
        let addr = server.local_addr();
        let mut long = b"GET /status.xml HTTP/1.0\r\nX-Filler: ".to_vec();
        long.extend(std::iter::repeat_n(b'a', 300));
        long.extend_from_slice(b"\r\n\r\n");
        let (h, body) = split(&raw(addr, &long));
        assert!(h.starts_with("HTTP/1.1 431 "), "{h}");
        assert_eq!(parse(&body).unwrap().fault_code(), Some(431));
        // Just under the limit is served.
        let mut fits = b"GET /status.xml HTTP/1.0\r\nX: ".to_vec();
        fits.extend(std::iter::repeat_n(b'a', 256 - fits.len() - 4));
        fits.extend_from_slice(b"\r\n\r\n");
        assert_eq!(fits.len(), 256);
        let (h, _) = split(&raw(addr, &fits));
        assert!(h.starts_with("HTTP/1.1 200 "), "{h}");
    });
}

#[test]
fn trickling_client_is_cut_off_and_others_are_served() {
    within(LIMIT, || {
        let config = ServerConfig {
            read_timeout: Duration::from_millis(500),
            workers: 2,
            ..ServerConfig::default()
        };
        let server = Server::bind("127.0.0.1:0", config).unwrap();
        let addr = server.local_addr();
        let mut slow = TcpStream::connect(addr).unwrap();
        slow.set_read_timeout(Some(T)).unwrap();
        let trickler = thread::spawn(move || {
            // One byte at a time, never finishing the head: each byte
            // arrives well within any per-read timeout, but the total
            // deadline ends it.
            for b in b"GET /status.xml HTTP/1.0\r\nX-Slow: ".iter().cycle() {
                if slow.write_all(&[*b]).is_err() {
                    break;
                }
                thread::sleep(Duration::from_millis(20));
                let mut probe = [0u8; 1];
                slow.set_nonblocking(true).unwrap();
                let got = slow.peek(&mut probe);
                slow.set_nonblocking(false).unwrap();
                if matches!(got, Ok(n) if n > 0) {
                    break;
                }
            }
            let mut reply = Vec::new();
            let _ = slow.read_to_end(&mut reply);
            reply
        });
        // Meanwhile the other worker answers.
        let doc = get(&format!("http://{addr}/status.xml"), T).unwrap();
        assert!(doc.find("version").is_some());
        let reply = trickler.join().unwrap();
        let (h, body) = split(&reply);
        assert!(h.starts_with("HTTP/1.1 408 Request Timeout\r\n"), "{h}");
        assert_eq!(parse(&body).unwrap().fault_code(), Some(408));
    });
}

#[test]
fn slow_clients_do_not_starve_the_others() {
    within(LIMIT, || {
        let config = ServerConfig {
            workers: 4,
            ..ServerConfig::default()
        };
        let server = Server::bind("127.0.0.1:0", config).unwrap();
        let addr = server.local_addr();
        // Three clients hold a worker each by sending half a request.
        let idle: Vec<TcpStream> = (0..3)
            .map(|_| {
                let mut s = TcpStream::connect(addr).unwrap();
                s.write_all(b"GET /status.xml HTTP/1.0\r\n").unwrap();
                s
            })
            .collect();
        for _ in 0..20 {
            let doc = get(&format!("http://{addr}/status.xml"), T).unwrap();
            assert_eq!(doc.service, "status");
        }
        drop(idle);
    });
}

#[test]
fn over_the_connection_limit_gets_503() {
    within(LIMIT, || {
        let config = ServerConfig {
            max_connections: 2,
            workers: 2,
            ..ServerConfig::default()
        };
        let server = Server::bind("127.0.0.1:0", config).unwrap();
        let addr = server.local_addr();
        let holders: Vec<TcpStream> = (0..2)
            .map(|_| {
                let mut s = TcpStream::connect(addr).unwrap();
                s.write_all(b"GET /status.xml HTTP/1.0\r\n").unwrap();
                s
            })
            .collect();
        // The holders are accepted before the next connection (the
        // listener takes connections in order).
        let r = raw(addr, b"GET /status.xml HTTP/1.0\r\n\r\n");
        let (h, body) = split(&r);
        assert!(h.starts_with("HTTP/1.1 503 Service Unavailable\r\n"), "{h}");
        let doc = parse(&body).unwrap();
        assert_eq!(
            (doc.service.as_str(), doc.fault_code()),
            ("http", Some(503))
        );
        // Several more, quickly: none hangs.
        for _ in 0..5 {
            let doc = get(&format!("http://{addr}/status.xml"), T).unwrap();
            assert_eq!(doc.fault_code(), Some(503));
        }
        // Once the holders finish, requests are served again.
        for mut h in holders {
            h.write_all(b"\r\n").unwrap();
            let mut sink = Vec::new();
            h.read_to_end(&mut sink).unwrap();
        }
        let served = (0..100).any(|_| {
            let ok = get(&format!("http://{addr}/status.xml"), T)
                .map(|d| !d.is_fault())
                .unwrap_or(false);
            if !ok {
                thread::sleep(Duration::from_millis(10));
            }
            ok
        });
        assert!(served);
    });
}

#[test]
fn handler_faults() {
    within(LIMIT, || {
        let server = Server::bind("127.0.0.1:0", ServerConfig::default()).unwrap();
        let addr = server.local_addr();
        server.method("fail", |req, _| {
            let code: u32 = req.arg("code").unwrap_or("600").parse().unwrap();
            Err(Fault::new(code, format!("failed with {code}")))
        });
        server.method("need", |req, reply| {
            let who = req
                .arg("who")
                .ok_or_else(|| Fault::argument_missing("who"))?;
            reply.result("who", who)?;
            Ok(())
        });
        server.method("session", |_, _| {
            Err(Fault::session_invalid("no such session"))
        });
        server.method("panic", |_, reply| {
            reply.result("before", "1")?;
            panic!("handler bug");
        });
        for code in [600u32, 601, 602, 650] {
            let r = raw(
                addr,
                format!("GET /fail.xml?code={code} HTTP/1.0\r\n\r\n").as_bytes(),
            );
            let (h, body) = split(&r);
            assert_eq!(h, head("200 OK", ""));
            let doc = parse(&body).unwrap();
            assert_eq!(
                (doc.server.as_str(), doc.service.as_str()),
                ("msgwire", "fail")
            );
            assert_eq!(doc.fault_code(), Some(i64::from(code)));
            assert_eq!(
                doc.fault_text(),
                Some(format!("failed with {code}").as_str())
            );
        }
        let (h, body) = split(&raw(addr, b"GET /fail.xml?code=403 HTTP/1.0\r\n\r\n"));
        assert_eq!(h, head("403 Forbidden", ""));
        let doc = parse(&body).unwrap();
        assert_eq!(
            (doc.service.as_str(), doc.fault_code(), doc.fault_text()),
            ("http", Some(403), Some("failed with 403"))
        );
        // Codes below 600 that are no HTTP error status cannot be the
        // status line (below 100 it would be malformed; 1xx is not final,
        // 204 and 304 carry no body): 500, the code kept in the document.
        for code in [0u32, 42, 100, 204, 304, 399] {
            let r = raw(
                addr,
                format!("GET /fail.xml?code={code} HTTP/1.0\r\n\r\n").as_bytes(),
            );
            let (h, body) = split(&r);
            assert_eq!(h, head("500 Internal Server Error", ""), "code {code}");
            let doc = parse(&body).unwrap();
            assert_eq!(
                (doc.service.as_str(), doc.fault_code()),
                ("http", Some(i64::from(code)))
            );
            let doc = get(&format!("http://{addr}/fail.xml?code={code}"), T).unwrap();
            assert_eq!(doc.fault_code(), Some(i64::from(code)));
        }
        let doc = get(&format!("http://{addr}/need.xml"), T).unwrap();
        assert_eq!(
            (doc.fault_code(), doc.service.as_str()),
            (Some(601), "need")
        );
        let doc = get(&format!("http://{addr}/need.xml?who=me"), T).unwrap();
        assert_eq!(doc.find("who"), Some("me"));
        let doc = get(&format!("http://{addr}/session.xml"), T).unwrap();
        assert_eq!(doc.fault_code(), Some(602));
        // A panic is a 600 fault (nothing had gone out yet) and the
        // server carries on.
        let doc = get(&format!("http://{addr}/panic.xml"), T).unwrap();
        assert_eq!(doc.fault_code(), Some(600));
        assert!(doc.fault_text().unwrap().contains("panicked"));
        assert!(!get(&format!("http://{addr}/need.xml?who=x"), T)
            .unwrap()
            .is_fault());
    });
}

#[test]
fn arguments_are_decoded_in_order() {
    within(LIMIT, || {
        let server = Server::bind("127.0.0.1:0", ServerConfig::default()).unwrap();
        let addr = server.local_addr();
        server.method("args", |req, reply| {
            for (k, v) in &req.args {
                reply.result(k, v)?;
            }
            reply.result("head", if req.head { "yes" } else { "no" })?;
            Ok(())
        });
        let doc = get(
            &format!("http://{addr}/args.xml?a=1&b=two+words&a=%C3%A9%26%3D&empty&c=100%25"),
            T,
        )
        .unwrap();
        let got: Vec<(&str, &str)> = doc
            .entries()
            .map(|e| match e {
                msgwire::serverresponse::EntryView::Result(f) => (f.id, f.value),
                _ => unreachable!(),
            })
            .collect();
        assert_eq!(
            got,
            [
                ("a", "1"),
                ("b", "two words"),
                ("a", "é&="),
                ("empty", ""),
                ("c", "100%"),
                ("head", "no")
            ]
        );
        // Without the .xml suffix, and the method name itself encoded.
        let doc = get(&format!("http://{addr}/%61rgs?x=y"), T).unwrap();
        assert_eq!(doc.find("x"), Some("y"));
    });
}

#[test]
fn builtin_status_reports_counters_and_can_be_replaced() {
    within(LIMIT, || {
        let server = Server::bind("127.0.0.1:0", ServerConfig::default()).unwrap();
        let url = format!("http://{}/status.xml", server.local_addr());
        let _ = get(&url, T).unwrap();
        let doc = get(&url, T).unwrap();
        assert_eq!(doc.find("version"), Some(version()));
        assert!(doc.find("uptime").unwrap().parse::<u64>().is_ok());
        assert!(doc.find("requests").unwrap().parse::<u64>().unwrap() >= 2);
        let table = doc.lists("protocols").unwrap();
        let names: Vec<&str> = table.rows().map(|r| r.get("name").unwrap()).collect();
        assert_eq!(names, ["msrp", "sts", "ministream", "serverresponse"]);
        let sr = table.row(3).unwrap();
        // This very request is being served: one connection, one session.
        assert!(sr.get("connections").unwrap().parse::<u64>().unwrap() >= 1);
        assert!(sr.get("sessions").unwrap().parse::<u64>().unwrap() >= 1);
        assert!(sr.get("bytes_in").unwrap().parse::<u64>().unwrap() > 0);
        assert!(sr.get("bytes_out").unwrap().parse::<u64>().unwrap() > 0);
        assert!(stats::snapshot(Protocol::ServerResponse).bytes_out > 0);

        server.method("status", |_, reply| {
            reply.result("mine", "yes")?;
            Ok(())
        });
        assert_eq!(get(&url, T).unwrap().find("mine"), Some("yes"));
        assert!(server.remove_method("status"));
        assert_eq!(get(&url, T).unwrap().fault_code(), Some(404));
    });
}

#[test]
fn sts_traffic_is_counted() {
    within(LIMIT, || {
        use msgwire::sts::client::StsClient;
        use msgwire::sts::server::{ServerConfig as StsConfig, StsServer};
        let before = stats::snapshot(Protocol::Sts);
        let sts = StsServer::bind("127.0.0.1:0", StsConfig::default()).unwrap();
        let client = StsClient::connect(sts.local_addr(), Default::default()).unwrap();
        // Nobody handles /P/C: the server's 404 error reply still counts.
        let _ = client.request_one("P", "C", Default::default(), "", Some(T));
        let after = stats::snapshot(Protocol::Sts);
        assert!(after.connections_total >= before.connections_total + 2);
        assert!(after.bytes_out > before.bytes_out);
        assert!(after.bytes_in > before.bytes_in);
    });
}

#[test]
fn streamed_table_and_concurrent_clients() {
    within(LIMIT, || {
        let server = Server::bind("127.0.0.1:0", ServerConfig::default()).unwrap();
        let addr = server.local_addr();
        server.method("big", |req, reply| {
            let n: usize = req.arg("n").unwrap_or("0").parse().unwrap();
            reply.begin_lists("rows")?;
            for i in 0..n {
                reply.begin_row("row")?;
                reply.item("i", &i.to_string())?;
            }
            Ok(())
        });
        let doc = get(&format!("http://{addr}/big.xml?n=50000"), T).unwrap();
        let rows = doc.lists("rows").unwrap();
        assert_eq!(rows.len(), 50_000);
        assert_eq!(rows.row(49_999).unwrap().get("i"), Some("49999"));

        let ok = Arc::new(AtomicUsize::new(0));
        let threads: Vec<_> = (0..8)
            .map(|t| {
                let ok = ok.clone();
                thread::spawn(move || {
                    for i in 0..25 {
                        let n = t * 100 + i;
                        let doc = get(&format!("http://{addr}/big.xml?n={n}"), T).unwrap();
                        assert_eq!(doc.lists("rows").unwrap().len(), n);
                        ok.fetch_add(1, Ordering::SeqCst);
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(ok.load(Ordering::SeqCst), 200);
    });
}

/// A one-shot server writing a fixed reply after reading the request.
fn fixed(reply: &'static [u8]) -> (SocketAddr, thread::JoinHandle<Vec<u8>>) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    let h = thread::spawn(move || {
        let (mut s, _) = l.accept().unwrap();
        s.set_read_timeout(Some(T)).unwrap();
        let mut req = Vec::new();
        let mut b = [0u8; 1024];
        while !req.ends_with(b"\r\n\r\n") {
            let n = s.read(&mut b).unwrap();
            if n == 0 {
                break;
            }
            req.extend_from_slice(&b[..n]);
        }
        s.write_all(reply).unwrap();
        let _ = s.shutdown(Shutdown::Write);
        // Read until the client closes, so nothing is reset.
        let _ = s.read(&mut b);
        req
    });
    (addr, h)
}

#[test]
fn client_request_and_reply_forms() {
    within(LIMIT, || {
        // The spec's typo and a Content-Length, followed by junk that the
        // length excludes.
        let mut reply = b"HTTP/1.1 200 OK\r\nConnection: close\r\nServer: Bayonne/1.5.4\r\nConnection-Type: text/xml\r\nContent-Length: ".to_vec();
        reply.extend_from_slice(STATUS.len().to_string().as_bytes());
        reply.extend_from_slice(b"\r\n\r\n");
        reply.extend_from_slice(STATUS);
        reply.extend_from_slice(b"JUNK");
        let (addr, h) = fixed(Box::leak(reply.into_boxed_slice()));
        let doc = get(&format!("http://{addr}/status.xml?a=b"), T).unwrap();
        assert_eq!(doc.find("status"), Some("-- "));
        let req = String::from_utf8(h.join().unwrap()).unwrap();
        assert_eq!(
            req,
            format!(
                "GET /status.xml?a=b HTTP/1.0\r\nHost: {addr}\r\nUser-Agent: msgwire/{}\r\nAccept: text/xml\r\n\r\n",
                version()
            )
        );

        // A 404 with a faults body: a Response, not an error.
        let mut reply = b"HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n".to_vec();
        reply.extend_from_slice(UNKNOWN);
        let (addr, _h) = fixed(Box::leak(reply.into_boxed_slice()));
        let doc = get(&format!("http://{addr}/unknown.xml"), T).unwrap();
        assert_eq!(doc.fault_code(), Some(404));

        // An HTML error page: typed HTTP error.
        let (addr, _h) = fixed(b"HTTP/1.0 500 Oops\r\n\r\n<html>broken</html>");
        match get(&format!("http://{addr}/x.xml"), T) {
            Err(ClientError::Http {
                status: 500,
                reason,
            }) => assert_eq!(reason, "Oops"),
            other => panic!("{other:?}"),
        }
        // A 200 that is not serverResponse: typed document error.
        let (addr, _h) = fixed(b"HTTP/1.0 200 OK\r\n\r\n<methodResponse/>");
        match get(&format!("http://{addr}/x.xml"), T) {
            Err(ClientError::Document { status: 200, error }) => {
                assert!(matches!(error.kind, ParseErrorKind::NotServerResponse(_)))
            }
            other => panic!("{other:?}"),
        }
        // Not HTTP at all.
        let (addr, _h) = fixed(b"SSH-2.0-OpenSSH\r\n\r\n");
        assert!(matches!(
            get(&format!("http://{addr}/x.xml"), T),
            Err(ClientError::BadReply(_))
        ));
        // A Content-Length longer than the body.
        let (addr, _h) = fixed(b"HTTP/1.0 200 OK\r\nContent-Length: 999\r\n\r\n<serverResponse>");
        assert!(matches!(
            get(&format!("http://{addr}/x.xml"), T),
            Err(ClientError::BadReply(_))
        ));
    });
}

#[test]
fn client_failures_are_typed() {
    within(LIMIT, || {
        // Refused: bind a port, then free it.
        let port = {
            let l = TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        assert!(matches!(
            get(&format!("http://127.0.0.1:{port}/status.xml"), T),
            Err(ClientError::Connect(_))
        ));
        for bad in [
            "ftp://127.0.0.1/x",
            "127.0.0.1/x",
            "http:///x",
            "http://h:99999/",
        ] {
            assert!(matches!(get(bad, T), Err(ClientError::BadUrl(_))), "{bad}");
        }
        // A server that never answers: the timeout ends it.
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        let err = get(&format!("http://{addr}/x.xml"), Duration::from_millis(300)).unwrap_err();
        assert!(matches!(err, ClientError::Timeout), "{err:?}");
        drop(l);
        // https:// without TLS settings.
        assert!(matches!(
            get("https://127.0.0.1:1/x", T),
            Err(ClientError::BadUrl(_))
        ));
    });
}

#[test]
fn ipv6_loopback() {
    within(LIMIT, || {
        let Ok(server) = Server::bind("[::1]:0", ServerConfig::default()) else {
            eprintln!("no IPv6 loopback here; skipped");
            return;
        };
        let port = server.local_addr().port();
        let doc = get(&format!("http://[::1]:{port}/status.xml"), T).unwrap();
        assert_eq!(doc.service, "status");
    });
}

#[test]
fn over_tls() {
    within(LIMIT, || {
        let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
        let tls = TlsServerConfig::from_pem(
            cert.cert.pem().as_bytes(),
            cert.key_pair.serialize_pem().as_bytes(),
        )
        .unwrap();
        let config = ServerConfig {
            tls: Some(tls),
            ..ServerConfig::default()
        };
        let server = Server::bind("127.0.0.1:0", config).unwrap();
        server.method("hello", |req, reply| {
            reply.result("to", req.arg("name").unwrap_or("?"))?;
            Ok(())
        });
        let port = server.local_addr().port();
        let client = TlsClientConfig::with_ca_pem(cert.cert.pem().as_bytes()).unwrap();
        let options = GetOptions::default().with_timeout(T).with_tls(client);
        let doc = get_with(
            &format!("https://localhost:{port}/hello.xml?name=tls"),
            &options,
        )
        .unwrap();
        assert_eq!(doc.find("to"), Some("tls"));
        let doc = get_with(&format!("https://localhost:{port}/nope.xml"), &options).unwrap();
        assert_eq!(doc.fault_code(), Some(404));
        // Plain HTTP to the TLS port gets no serverResponse.
        assert!(get(&format!("http://127.0.0.1:{port}/hello.xml"), T).is_err());
    });
}

/// A TLS server for the tests below: a self-signed certificate for
/// `localhost` and a client configuration trusting it.
fn tls_pair() -> (TlsServerConfig, TlsClientConfig) {
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let server = TlsServerConfig::from_pem(
        cert.cert.pem().as_bytes(),
        cert.key_pair.serialize_pem().as_bytes(),
    )
    .unwrap();
    let client = TlsClientConfig::with_ca_pem(cert.cert.pem().as_bytes()).unwrap();
    (server, client)
}

#[test]
fn trickling_client_over_tls_is_cut_off() {
    // Over TLS the server's reads wait for whole TLS records: a client
    // that trickles one record a byte at a time must still meet the
    // total deadline (it used to be held as long as bytes kept coming).
    within(LIMIT, || {
        let (tls, client) = tls_pair();
        let config = ServerConfig {
            tls: Some(tls),
            read_timeout: Duration::from_millis(1000),
            workers: 1,
            ..ServerConfig::default()
        };
        let server = Server::bind("127.0.0.1:0", config).unwrap();
        let tcp = TcpStream::connect(server.local_addr()).unwrap();
        let mut raw = tcp.try_clone().unwrap();
        let mut tls = Stream::tls_connect(tcp, &client, "localhost", T).unwrap();
        // Take in what the server sends after the handshake (TLS 1.3
        // session tickets): a read that finds nothing else times out.
        raw.set_read_timeout(Some(Duration::from_millis(300)))
            .unwrap();
        assert!(tls.read(&mut [0u8; 16]).is_err());
        // The header of a 48-byte application-data record, then its
        // bytes one by one, 100 ms apart (4.8 s in all), looking before
        // each byte whether the server has answered.
        raw.write_all(&[0x17, 0x03, 0x03, 0x00, 48]).unwrap();
        for _ in 0..48 {
            raw.set_nonblocking(true).unwrap();
            let answered = matches!(raw.peek(&mut [0u8; 1]), Ok(n) if n > 0);
            raw.set_nonblocking(false).unwrap();
            if answered || raw.write_all(&[0]).is_err() {
                break;
            }
            thread::sleep(Duration::from_millis(100));
        }
        raw.set_read_timeout(Some(T)).unwrap();
        // The answer is a 408 over the intact server-to-client direction
        // (without the deadline the record completes, fails to decrypt and
        // the connection just ends).
        let mut reply = Vec::new();
        let _ = tls.read_to_end(&mut reply);
        assert!(!reply.is_empty(), "no reply");
        let (h, body) = split(&reply);
        assert!(h.starts_with("HTTP/1.1 408 Request Timeout\r\n"), "{h}");
        assert_eq!(parse(&body).unwrap().fault_code(), Some(408));
    });
}

#[test]
fn client_bounds_an_endless_reply_head() {
    // A server whose reply head never ends: the client gives up at its
    // head limit (64 KiB), not after reading a whole document's worth.
    within(LIMIT, || {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        let server = thread::spawn(move || {
            let (mut s, _) = l.accept().unwrap();
            s.write_all(b"HTTP/1.0 200 OK\r\nX-Junk: ").unwrap();
            let junk = [b'a'; 4096];
            let mut sent = 0usize;
            // Until the client hangs up (or far past any limit).
            while sent < 64 << 20 && s.write_all(&junk).is_ok() {
                sent += junk.len();
            }
            sent
        });
        match get(&format!("http://{addr}/status.xml"), T) {
            Err(ClientError::BadReply(why)) => assert!(why.contains("head"), "{why}"),
            other => panic!("{other:?}"),
        }
        server.join().unwrap();

        // An endless body that never closes stops at the size limit.
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        let server = thread::spawn(move || {
            let (mut s, _) = l.accept().unwrap();
            s.write_all(b"HTTP/1.0 200 OK\r\n\r\n<serverResponse><results>")
                .unwrap();
            let junk = [b' '; 4096];
            let mut sent = 0usize;
            while sent < 64 << 20 && s.write_all(&junk).is_ok() {
                sent += junk.len();
            }
        });
        let mut options = GetOptions::default().with_timeout(T);
        options.parse = ParseConfig::default().with_max_size(1 << 20);
        match get_with(&format!("http://{addr}/status.xml"), &options) {
            Err(ClientError::BadReply(why)) => assert!(why.contains("larger than"), "{why}"),
            other => panic!("{other:?}"),
        }
        server.join().unwrap();
    });
}

#[test]
fn queued_slow_clients_do_not_each_get_a_full_deadline() {
    // One worker, 5 s to send a request. Four clients that never finish
    // theirs connect at once: one holds the worker, three wait in the
    // queue. A client's time counts from its connection, so the queued
    // ones have used up theirs by the time the worker frees and are cut
    // within the 1 s grace each gets from then on; a good client behind
    // them is answered after some 8 s, not after 4 x 5 s.
    within(LIMIT, || {
        let config = ServerConfig {
            read_timeout: Duration::from_secs(5),
            workers: 1,
            ..ServerConfig::default()
        };
        let server = Server::bind("127.0.0.1:0", config).unwrap();
        let addr = server.local_addr();
        let slow: Vec<TcpStream> = (0..4)
            .map(|_| {
                let mut s = TcpStream::connect(addr).unwrap();
                s.write_all(b"GET /status.xml HTTP/1.0\r\nX-Slow: ")
                    .unwrap();
                s
            })
            .collect();
        // Generous: 14 s against the 20 s the queue used to take.
        let doc = get(
            &format!("http://{addr}/status.xml"),
            Duration::from_secs(14),
        );
        assert!(doc.is_ok(), "{doc:?}");
        for mut s in slow {
            s.set_read_timeout(Some(T)).unwrap();
            let mut reply = Vec::new();
            let _ = s.read_to_end(&mut reply);
            assert!(reply.starts_with(b"HTTP/1.1 408 "));
        }
    });
}

/// A server with one worker and a short reply deadline serving `table`, a
/// list of `n` rows; every handler outcome is reported on the channel
/// (`Ok` when the whole table was written).
fn table_server(
    write_timeout: Duration,
) -> (Server, crossbeam_channel::Receiver<Result<(), String>>) {
    table_server_with(ServerConfig {
        workers: 1,
        write_timeout,
        ..ServerConfig::default()
    })
}

fn table_server_with(
    config: ServerConfig,
) -> (Server, crossbeam_channel::Receiver<Result<(), String>>) {
    let server = Server::bind("127.0.0.1:0", config).unwrap();
    let (tx, rx) = crossbeam_channel::unbounded();
    server.method("table", move |req, reply| {
        let n: usize = req.arg("n").unwrap_or("0").parse().unwrap();
        let written = (|| {
            reply.begin_lists("rows")?;
            for i in 0..n {
                reply.begin_row("row")?;
                reply.item("i", &i.to_string())?;
                reply.item("text", "some padding to make the rows longer")?;
            }
            reply.end_lists()
        })();
        let _ = tx.send(written.as_ref().map(|_| ()).map_err(|e| e.to_string()));
        written.map_err(Fault::from)
    });
    (server, rx)
}

/// A connection that has asked `addr` for a table of 100,000 rows
/// (megabytes, far more than the socket buffers hold).
fn ask_for_big_table(addr: SocketAddr) -> TcpStream {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(T)).unwrap();
    s.write_all(b"GET /table.xml?n=100000 HTTP/1.0\r\n\r\n")
        .unwrap();
    s
}

#[test]
fn client_that_never_reads_is_cut_at_the_write_deadline() {
    within(LIMIT, || {
        let (server, outcomes) = table_server(Duration::from_millis(500));
        let addr = server.local_addr();
        // Never reads.
        let mut idle = ask_for_big_table(addr);
        // The only worker is stuck writing until the deadline cuts it.
        let outcome = outcomes.recv_timeout(LIMIT).unwrap();
        let err = outcome.unwrap_err();
        assert!(err.contains("write failed"), "{err}");
        // Freed: the next client is served.
        let doc = get(&format!("http://{addr}/table.xml?n=3"), T).unwrap();
        assert_eq!(doc.lists("rows").unwrap().len(), 3);
        assert_eq!(outcomes.recv_timeout(LIMIT).unwrap(), Ok(()));
        // What the idle client can still read is no complete document.
        let mut got = Vec::new();
        let _ = idle.read_to_end(&mut got);
        if got.len() > 4 {
            let (_, body) = split(&got);
            assert!(parse(&body).is_err());
        }
    });
}

#[test]
fn slow_reader_is_cut_at_the_total_write_deadline() {
    within(LIMIT, || {
        let (server, outcomes) = table_server(Duration::from_millis(800));
        let addr = server.local_addr();
        // Reads steadily but slowly: each read comes long before any
        // per-write timeout, only the total deadline can end it.
        let mut slow = ask_for_big_table(addr);
        let mut got = Vec::new();
        let mut buf = [0u8; 4096];
        loop {
            match slow.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => got.extend_from_slice(&buf[..n]),
            }
            thread::sleep(Duration::from_millis(20));
        }
        let err = outcomes.recv_timeout(LIMIT).unwrap().unwrap_err();
        assert!(err.contains("write failed"), "{err}");
        let (h, body) = split(&got);
        assert!(h.starts_with("HTTP/1.1 200 OK\r\n"), "{h}");
        // Cut short: the table did not arrive whole.
        assert!(parse(&body).is_err());
        let doc = get(&format!("http://{addr}/table.xml?n=2"), T).unwrap();
        assert_eq!(doc.lists("rows").unwrap().len(), 2);
    });
}

#[test]
fn shutdown_returns_while_a_handler_is_stuck() {
    within(LIMIT, || {
        let config = ServerConfig {
            workers: 2,
            shutdown_timeout: Duration::from_millis(200),
            ..ServerConfig::default()
        };
        let server = Server::bind("127.0.0.1:0", config).unwrap();
        let addr = server.local_addr();
        let (entered_tx, entered) = crossbeam_channel::bounded::<()>(1);
        let (release_tx, release) = crossbeam_channel::bounded::<()>(1);
        let (returned_tx, returned) = crossbeam_channel::bounded::<bool>(1);
        server.method("stuck", move |_, reply| {
            let _ = entered_tx.send(());
            // Waits for something that only comes after the shutdown.
            let _ = release.recv();
            let wrote = reply.result("late", "x").and_then(|()| reply.finish());
            let _ = returned_tx.send(wrote.is_ok());
            Ok(())
        });
        let mut client = TcpStream::connect(addr).unwrap();
        client.set_read_timeout(Some(T)).unwrap();
        client
            .write_all(b"GET /stuck.xml HTTP/1.0\r\n\r\n")
            .unwrap();
        entered.recv_timeout(LIMIT).unwrap();

        // Returns although the handler has not.
        server.shutdown();
        assert!(returned.try_recv().is_err());
        // The client's connection is closed, without a reply.
        let mut got = Vec::new();
        let _ = client.read_to_end(&mut got);
        assert!(got.is_empty(), "{}", String::from_utf8_lossy(&got));
        // The port is closed.
        assert!(TcpStream::connect(addr).is_err());
        drop(server);

        // The handler runs on until it returns; its late reply goes
        // nowhere.
        release_tx.send(()).unwrap();
        assert!(!returned.recv_timeout(LIMIT).unwrap());
    });
}

#[test]
fn client_that_never_reads_over_tls_is_cut_at_the_write_deadline() {
    // Over TLS a write loops inside the TLS layer; a timer cuts the
    // socket at the deadline instead.
    within(LIMIT, || {
        let (tls, client) = tls_pair();
        let (server, outcomes) = table_server_with(ServerConfig {
            tls: Some(tls),
            workers: 1,
            write_timeout: Duration::from_millis(500),
            ..ServerConfig::default()
        });
        let tcp = TcpStream::connect(server.local_addr()).unwrap();
        let mut idle = Stream::tls_connect(tcp, &client, "localhost", T).unwrap();
        idle.write_all(b"GET /table.xml?n=100000 HTTP/1.0\r\n\r\n")
            .unwrap();
        idle.flush().unwrap();
        let err = outcomes.recv_timeout(LIMIT).unwrap().unwrap_err();
        assert!(err.contains("write failed"), "{err}");
        let port = server.local_addr().port();
        let options = GetOptions::default().with_timeout(T).with_tls(client);
        let doc = get_with(&format!("https://localhost:{port}/table.xml?n=2"), &options).unwrap();
        assert_eq!(doc.lists("rows").unwrap().len(), 2);
        drop(idle);
    });
}
