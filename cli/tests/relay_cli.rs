//! The `msgwire relay` binary: started on 127.0.0.1 port 0 (TLS with a
//! certificate made here, plus plain TCP and the status server), it
//! reports its addresses, authenticates two of our clients and relays
//! between them; SIGTERM during a transfer ends both clients' connections
//! and the process exits 0.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use msgwire::msrp::endpoint::BindOptions;
use msgwire::msrp::relay::{Mode, RelayConnection, RelaySettings};
use msgwire::msrp::Uri;

const REALM: &str = "cli.test";

struct Running {
    child: Child,
    lines: mpsc::Receiver<String>,
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(dir: &std::path::Path, extra: &[&str]) -> Running {
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = rcgen::CertificateParams::new(vec!["127.0.0.1".to_string()])
        .unwrap()
        .self_signed(&key)
        .unwrap();
    let (cert_path, key_path, users) =
        (dir.join("cert.pem"), dir.join("key.pem"), dir.join("users"));
    std::fs::write(&cert_path, cert.pem()).unwrap();
    std::fs::write(&key_path, key.serialize_pem()).unwrap();
    let ha1 = msgwire::msrp::relay::digest::ha1("bob", REALM, "hunter2");
    std::fs::write(
        &users,
        format!("# test users\nalice:secret\nbob:{REALM}:{ha1}\n"),
    )
    .unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_msgwire"));
    cmd.args(["relay", "--listen", "127.0.0.1:0", "--cert"])
        .arg(&cert_path)
        .arg("--key")
        .arg(&key_path)
        .arg("--users")
        .arg(&users)
        .args(["--realm", REALM])
        .args(extra)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, lines) = mpsc::channel();
    thread::spawn(move || {
        for line in BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                // Keep draining so the child never blocks on a full pipe.
                continue;
            }
        }
    });
    Running { child, lines }
}

/// The `listening` line's addresses: (tls, plain, status).
fn addresses(r: &Running) -> (String, String, String) {
    loop {
        let line = r
            .lines
            .recv_timeout(Duration::from_secs(20))
            .expect("the listening line");
        if let Some(rest) = line.strip_prefix("listening ") {
            let mut v = rest
                .split(' ')
                .map(|kv| kv.split_once('=').unwrap().1.to_string());
            return (v.next().unwrap(), v.next().unwrap(), v.next().unwrap());
        }
    }
}

fn settings(plain: SocketAddr, user: &str, password: &str) -> RelaySettings {
    let mut s = RelaySettings::new(REALM, user, password);
    s.host = Some("127.0.0.1".into());
    s.port = Some(plain.port());
    s.auth_timeout = Duration::from_secs(10);
    s
}

fn wait_exit(child: &mut Child) -> std::process::ExitStatus {
    for _ in 0..400 {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        thread::sleep(Duration::from_millis(50));
    }
    panic!("the relay did not exit after SIGTERM");
}

#[test]
fn relay_binary_serves_and_stops_on_sigterm_during_a_transfer() {
    let dir = tempfile::tempdir().unwrap();
    let mut running = start(
        dir.path(),
        &[
            "--plain-tcp",
            "127.0.0.1:0",
            "--status",
            "127.0.0.1:0",
            "--expires",
            "30,300,900",
        ],
    );
    let (tls, plain, status) = addresses(&running);
    assert!(tls.starts_with("127.0.0.1:") && !tls.ends_with(":0"));
    let plain: SocketAddr = plain.parse().unwrap();
    // Both users authenticate (one by password, one by HA1).
    let mut a = RelayConnection::new(
        settings(plain, "alice", "secret"),
        Mode::Active,
        BindOptions::default(),
    );
    let mut b = RelayConnection::new(
        settings(plain, "bob", "hunter2"),
        Mode::Passive,
        BindOptions::default(),
    );
    let local = Some(Uri::new("127.0.0.1", Some(0), None));
    let a_path = a.prepare(local.clone()).unwrap();
    let b_path = b.prepare(local).unwrap();
    assert_eq!(
        b.reservation().unwrap().expires,
        Some(Duration::from_secs(300))
    );
    let page = msgwire::serverresponse::get(
        &format!("http://{status}/status.xml"),
        Duration::from_secs(10),
    )
    .unwrap();
    assert_eq!(page.find("reservations"), Some("2"));
    let a_for_b = a_path.clone();
    let b_side = thread::spawn(move || b.complete(&a_for_b).unwrap());
    let mut a_bound = a.complete(&b_path).unwrap();
    let mut b_bound = b_side.join().unwrap();
    // A starts a large chunk and keeps writing.
    let paths = a_bound.paths().clone();
    let head = format!(
        "MSRP bigchunk SEND\r\nTo-Path: {}\r\nFrom-Path: {}\r\nMessage-ID: big\r\nContent-Type: application/octet-stream\r\n\r\n",
        paths.to_path_value(),
        paths.from_path_value()
    );
    a_bound.write(head.as_bytes()).unwrap();
    let writer = thread::spawn(move || {
        // Paced, so that A's socket buffer does not fill: a client
        // blocked in a write on a full buffer only learns that the relay
        // closed from its read side (which this bare transport does not
        // watch; a session's reader thread does).
        let piece = vec![b'q'; 16 * 1024];
        let mut sent = 0u64;
        while a_bound.write(&piece).is_ok() {
            sent += piece.len() as u64;
            thread::sleep(Duration::from_millis(2));
        }
        sent
    });
    let (first_tx, first) = mpsc::channel();
    let reader = thread::spawn(move || {
        let mut got = 0usize;
        // Segments of the endless chunk until the relay goes away.
        while let Ok(c) = b_bound.read_chunk(Some(64 * 1024)) {
            got += c.chunk.data.len();
            let _ = first_tx.send(());
        }
        got
    });
    // B receives: the transfer runs. Then SIGTERM.
    first
        .recv_timeout(Duration::from_secs(20))
        .expect("B receives part of the transfer");
    let pid = running.child.id().to_string();
    let killed = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    assert!(killed.success());
    let status = wait_exit(&mut running.child);
    assert_eq!(status.code(), Some(0), "a clean exit after SIGTERM");
    let sent = writer.join().unwrap();
    assert!(sent > 0, "A wrote before the relay went away, then failed");
    // B's reading ended with an error (the chunk never completed).
    assert!(reader.join().unwrap() > 0);
    // The relay logged its shutdown.
    let mut saw = false;
    while let Ok(line) = running.lines.recv_timeout(Duration::from_secs(2)) {
        saw |= line.contains("shutting down");
    }
    assert!(saw, "the shutdown is logged");
}

#[test]
fn bad_arguments_exit_2_and_help_exits_0() {
    let bin = env!("CARGO_BIN_EXE_msgwire");
    let out = Command::new(bin)
        .args(["relay", "--help"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).contains("--plain-tcp"));
    let out = Command::new(bin)
        .args(["relay", "--realm", "r"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--users"));
    let out = Command::new(bin)
        .args(["relay", "--frob"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}
