//! `make bench`, relay part: one large SEND body over TCP on 127.0.0.1,
//! (a) through an in-process relay (both ends authenticated clients of
//! it), (b) directly from socket to socket, in the same run; MiB/s as the
//! median of several runs, and the ratio (a)/(b). Printed only, never
//! asserted: these machines are shared and noisy.
//!
//! `MSGWIRE_RELAY_BENCH_MIB` sets the body size (default 256).

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::thread;
use std::time::Instant;

use msgwire::msrp::relay::digest::Challenge;
use msgwire::msrp::relay_server::{Relay, RelayConfig, Users};
use msgwire::msrp::{parse_chunk, Uri};

const RUNS: usize = 5;
const REALM: &str = "bench.test";
const PIECE: usize = 64 * 1024;

/// Reads one whole response (no body) from `tcp`.
fn read_response(tcp: &mut TcpStream) -> msgwire::msrp::Chunk {
    let mut buf = Vec::new();
    let mut tmp = [0u8; 4096];
    loop {
        let n = tcp.read(&mut tmp).expect("the relay answers");
        assert!(n > 0, "the relay closed");
        buf.extend_from_slice(&tmp[..n]);
        if buf.ends_with(b"$\r\n") {
            return parse_chunk(&buf).expect("a valid response");
        }
    }
}

fn auth(tcp: &mut TcpStream, to: &str, from: &str, extra: &str) -> msgwire::msrp::Chunk {
    let tid = msgwire::msrp::random_id();
    tcp.write_all(
        format!(
            "MSRP {tid} AUTH\r\nTo-Path: {to}\r\nFrom-Path: {from}\r\n{extra}-------{tid}$\r\n"
        )
        .as_bytes(),
    )
    .unwrap();
    read_response(tcp)
}

/// A client of the relay: its connection, the relay URI, its own URI.
fn client(addr: SocketAddr, user: &str, password: &str) -> (TcpStream, Uri, Uri) {
    let mut tcp = TcpStream::connect(addr).unwrap();
    let me: Uri = format!("msrp://127.0.0.1:9/{user}bench;tcp")
        .parse()
        .unwrap();
    let to = format!("msrp://{REALM}:{};tcp", addr.port());
    let r = auth(&mut tcp, &to, &me.to_string(), "");
    let c = Challenge::parse(r.headers.get("WWW-Authenticate").unwrap()).unwrap();
    let a = c.answer(user, password, &to, true, 1, "bench").unwrap();
    let ok = auth(
        &mut tcp,
        &to,
        &me.to_string(),
        &format!("Authorization: {}\r\n", a.to_header()),
    );
    assert_eq!(ok.code(), Some(200));
    let relay_uri = ok.headers.get("Use-Path").unwrap().parse().unwrap();
    (tcp, relay_uri, me)
}

/// Writes one SEND of `size` bytes on `out` while `inp` reads until the
/// end-line; MiB/s.
fn transfer(mut out: TcpStream, mut inp: TcpStream, to: &str, from: &str, size: usize) -> f64 {
    let head = format!(
        "MSRP benchtx SEND\r\nTo-Path: {to}\r\nFrom-Path: {from}\r\nMessage-ID: b\r\nByte-Range: 1-{size}/{size}\r\nContent-Type: application/octet-stream\r\n\r\n"
    );
    let start = Instant::now();
    let writer = thread::spawn(move || {
        out.write_all(head.as_bytes()).unwrap();
        let piece = vec![b'x'; PIECE];
        for _ in 0..size / PIECE {
            out.write_all(&piece).unwrap();
        }
        out.write_all(b"\r\n-------benchtx$\r\n").unwrap();
        out
    });
    let mut buf = vec![0u8; 256 * 1024];
    let mut total = 0usize;
    let mut tail = Vec::new();
    loop {
        let n = inp.read(&mut buf).unwrap();
        assert!(n > 0);
        total += n;
        tail.extend_from_slice(&buf[..n]);
        if tail.len() > 64 {
            tail.drain(..tail.len() - 64);
        }
        if total > size && tail.ends_with(b"$\r\n") {
            break;
        }
    }
    let secs = start.elapsed().as_secs_f64();
    drop(writer.join().unwrap());
    size as f64 / (1024.0 * 1024.0) / secs
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let mib: usize = std::env::var("MSGWIRE_RELAY_BENCH_MIB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(256);
    let size = mib * 1024 * 1024;
    let mut users = Users::new();
    users.add_password("alice", "a");
    users.add_password("bob", "b");
    let mut config = RelayConfig::new(REALM, users);
    config.plain_tcp = Some("127.0.0.1:0".parse().unwrap());
    let relay = Relay::start(config).unwrap();
    let addr = relay.plain_addr().unwrap();
    let (mut relayed, mut direct) = (Vec::new(), Vec::new());
    for _ in 0..RUNS {
        let (a, ra, a_uri) = client(addr, "alice", "a");
        let (b, rb, b_uri) = client(addr, "bob", "b");
        let to = format!("{ra} {rb} {b_uri}");
        relayed.push(transfer(a, b, &to, &a_uri.to_string(), size));
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let out = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        out.set_nodelay(true).unwrap();
        let (inp, _) = listener.accept().unwrap();
        direct.push(transfer(
            out,
            inp,
            &b_uri.to_string(),
            &a_uri.to_string(),
            size,
        ));
    }
    let (r, d) = (median(relayed), median(direct));
    println!("relay: {mib} MiB SEND body, median of {RUNS} runs");
    println!("  (a) through the relay: {r:>8.0} MiB/s");
    println!("  (b) direct TCP:        {d:>8.0} MiB/s");
    println!("  ratio (a)/(b):         {:>8.2}", r / d);
}
