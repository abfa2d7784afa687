//! Ministreaming over real transports: the protocol document's samples byte
//! for byte against a raw TCP peer, refusals, many streams, bulk data,
//! back-pressure, bad frames, destroy.

mod common;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use common::within;
use msgwire::ministream::{
    Error, ManagerConfig, MemoryNetwork, Phase, Role, SocketManager, SocketOptions,
};
use sha2::{Digest, Sha256};

const LIMIT: Duration = Duration::from_secs(60);

fn tcp_manager() -> SocketManager {
    SocketManager::listen_tcp("127.0.0.1:0", ManagerConfig::default()).unwrap()
}

fn opts() -> SocketOptions {
    let mut o = SocketOptions::default();
    o.connect_timeout = Duration::from_secs(20);
    o
}

/// A peer speaking the length-prefixed framing by hand.
struct Raw(TcpStream);

impl Raw {
    fn connect(dest: &[u8]) -> Raw {
        let tcp = TcpStream::connect(std::str::from_utf8(dest).unwrap()).unwrap();
        tcp.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        Raw(tcp)
    }
    fn from(tcp: TcpStream) -> Raw {
        tcp.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        Raw(tcp)
    }
    fn send(&mut self, frame: &[u8]) {
        let mut out = (frame.len() as u32).to_be_bytes().to_vec();
        out.extend_from_slice(frame);
        self.0.write_all(&out).unwrap();
    }
    fn recv(&mut self) -> Vec<u8> {
        let mut len = [0u8; 4];
        self.0.read_exact(&mut len).unwrap();
        let mut frame = vec![0u8; u32::from_be_bytes(len) as usize];
        self.0.read_exact(&mut frame).unwrap();
        frame
    }
    /// Reads until the peer closes the TCP connection; returns whether it
    /// did (and not some other error).
    fn eof(&mut self) -> bool {
        let mut b = [0u8; 1];
        matches!(self.0.read(&mut b), Ok(0))
    }
}

/// Connects `a` to `b` while `server` (of `b`) accepts on another thread:
/// `connect` waits for the ACK, which `accept` sends.
fn connected(
    a: &SocketManager,
    b_dest: &[u8],
    server: &msgwire::ministream::ServerSocket,
) -> (msgwire::ministream::Socket, msgwire::ministream::Socket) {
    let server = server.clone();
    let t = thread::spawn(move || server.accept(Some(Duration::from_secs(20))).unwrap());
    let c = a.connect(b_dest, &opts()).unwrap();
    (c, t.join().unwrap())
}

fn cat(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

// ------------------------------------------------------------ samples: server

#[test]
fn sample_a_as_server_refuses_when_nobody_listens() {
    within(LIMIT, || {
        let m = tcp_manager();
        let mut raw = Raw::connect(m.destination());
        raw.send(b"\xA1\x12\x34\x56key...");
        assert_eq!(raw.recv(), b"\x52\x12\x34\x56");
        m.destroy();
    });
}

#[test]
fn sample_b_as_server() {
    within(LIMIT, || {
        let m = tcp_manager();
        let server = m.server_socket().unwrap();
        let mut raw = Raw::connect(m.destination());
        raw.send(b"\xA1\x23\x45\x67key...");
        let mut s = server.accept(Some(Duration::from_secs(20))).unwrap();
        assert_eq!(&s.peer_destination()[..], b"key...");
        let ack = raw.recv();
        assert_eq!(&ack[..4], b"\x51\x23\x45\x67");
        assert_eq!(ack.len(), 7);
        let sid = ack[4..7].to_vec();
        assert_eq!(s.local_id().get().to_be_bytes()[1..], sid[..]);
        s.write_all(b"data").unwrap();
        assert_eq!(raw.recv(), b"\x50\x23\x45\x67data");
        raw.send(&cat(&[b"\xA2", &sid]));
        let mut buf = [0u8; 8];
        assert_eq!(s.read(&mut buf).unwrap(), 0, "EOF after the client's Close");
        assert_eq!(s.read(&mut buf).unwrap(), 0);
        let e = s.write_all(b"late").unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::ConnectionReset);
        m.destroy();
    });
}

#[test]
fn sample_c_as_server_closes_with_52() {
    within(LIMIT, || {
        let m = tcp_manager();
        let server = m.server_socket().unwrap();
        let mut raw = Raw::connect(m.destination());
        raw.send(b"\xA1\x11\x11\x11key...");
        let mut s = server.accept(Some(Duration::from_secs(20))).unwrap();
        let ack = raw.recv();
        assert_eq!(&ack[..4], b"\x51\x11\x11\x11");
        let sid = ack[4..7].to_vec();
        raw.send(&cat(&[b"\xA0", &sid, b"GET / HTTP/1.0\r\n\r\n"]));
        let mut buf = [0u8; 18];
        s.read_exact(&mut buf).unwrap();
        assert_eq!(&buf, b"GET / HTTP/1.0\r\n\r\n");
        s.write_all(b"answer").unwrap();
        s.write_all(b"more").unwrap();
        s.close();
        assert_eq!(raw.recv(), b"\x50\x11\x11\x11answer");
        assert_eq!(raw.recv(), b"\x50\x11\x11\x11more");
        assert_eq!(
            raw.recv(),
            b"\x52\x11\x11\x11",
            "Close of the type table, not 51"
        );
        m.destroy();
    });
}

// ------------------------------------------------------------ samples: client

/// A raw server on a port of its own: returns its destination and a join
/// handle running `script` on the accepted connection.
fn raw_server(script: impl FnOnce(Raw) + Send + 'static) -> (Vec<u8>, thread::JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let dest = listener.local_addr().unwrap().to_string().into_bytes();
    let h = thread::spawn(move || {
        let (tcp, _) = listener.accept().unwrap();
        script(Raw::from(tcp));
    });
    (dest, h)
}

#[test]
fn sample_a_as_client_is_refused() {
    within(LIMIT, || {
        let m = tcp_manager();
        let me = m.destination().to_vec();
        let (dest, h) = raw_server(move |mut raw| {
            let syn = raw.recv();
            assert_eq!(syn[0], 0xA1);
            assert_ne!(&syn[1..4], b"\0\0\0");
            assert_eq!(&syn[4..], &me[..], "SYN payload = our destination");
            raw.send(&cat(&[b"\x52", &syn[1..4]]));
            assert!(raw.eof());
        });
        let e = m.connect(&dest, &opts()).unwrap_err();
        assert!(matches!(e, Error::Refused), "{e:?}");
        assert!(m.list_sockets().is_empty());
        m.destroy();
        h.join().unwrap();
    });
}

#[test]
fn sample_b_as_client() {
    within(LIMIT, || {
        let m = tcp_manager();
        let (dest, h) = raw_server(|mut raw| {
            let syn = raw.recv();
            let cid = syn[1..4].to_vec();
            raw.send(&cat(&[b"\x51", &cid, b"\x98\x76\x54"]));
            raw.send(&cat(&[b"\x50", &cid, b"data"]));
            assert_eq!(raw.recv(), b"\xA2\x98\x76\x54");
            assert!(raw.eof());
        });
        let mut s = m.connect(&dest, &opts()).unwrap();
        assert_eq!(s.role(), Role::Client);
        assert_eq!(s.remote_id().unwrap().get(), 0x98_76_54);
        let mut buf = [0u8; 4];
        s.read_exact(&mut buf).unwrap();
        assert_eq!(&buf, b"data");
        assert_eq!(s.bytes_received(), 4);
        s.close();
        m.destroy();
        h.join().unwrap();
    });
}

fn sample_c_client(hold_before_ack: bool) {
    let m = tcp_manager();
    let (gate_tx, gate_rx) = crossbeam_channel::bounded::<()>(1);
    let (dest, h) = raw_server(move |mut raw| {
        let syn = raw.recv();
        let cid = syn[1..4].to_vec();
        if hold_before_ack {
            gate_rx.recv().unwrap(); // the client has written already
        }
        raw.send(&cat(&[b"\x51", &cid, b"\xFF\xFF\xFF"]));
        assert_eq!(raw.recv(), b"\xA0\xFF\xFF\xFFGET /");
        raw.send(&cat(&[b"\x50", &cid, b"data"]));
        raw.send(&cat(&[b"\x50", &cid, b"more"]));
        raw.send(&cat(&[b"\x51", &cid])); // the sample's bare 51 = Close
        assert!(raw.eof());
    });
    let mut s = if hold_before_ack {
        let s = m.open(&dest, &opts()).unwrap();
        (&s).write_all(b"GET /").unwrap();
        gate_tx.send(()).unwrap();
        s
    } else {
        let mut s = m.connect(&dest, &opts()).unwrap();
        s.write_all(b"GET /").unwrap();
        s
    };
    let mut all = Vec::new();
    s.read_to_end(&mut all).unwrap();
    assert_eq!(all, b"datamore");
    assert_eq!(s.read(&mut [0u8; 4]).unwrap(), 0);
    assert_eq!(s.bytes_sent(), 5);
    drop(s);
    m.destroy();
    h.join().unwrap();
}

#[test]
fn sample_c_as_client() {
    within(LIMIT, || sample_c_client(false));
}

#[test]
fn sample_c_as_client_with_data_written_before_the_ack() {
    within(LIMIT, || sample_c_client(true));
}

// ------------------------------------------------------------ refusal, timeouts

#[test]
fn refused_with_nobody_listening_and_after_the_accept_timeout() {
    within(LIMIT, || {
        let mut config = ManagerConfig::default();
        config.accept_timeout = Duration::from_millis(200);
        let network = MemoryNetwork::new();
        let a =
            SocketManager::in_memory(&network, Some(b"alice"), ManagerConfig::default()).unwrap();
        let b = SocketManager::in_memory(&network, Some(b"bob"), config).unwrap();
        assert_eq!(a.destination(), b"alice");
        let e = a.connect(b"bob", &opts()).unwrap_err();
        assert!(matches!(e, Error::Refused));
        let _server = b.server_socket().unwrap();
        // Nobody calls accept(): refused once the accept timeout passes.
        let e = a.connect(b"bob", &opts()).unwrap_err();
        assert!(matches!(e, Error::Refused), "{e:?}");
        assert!(b.list_sockets().is_empty());
        let e = a.connect(b"carol", &opts()).unwrap_err();
        assert!(matches!(e, Error::InvalidDestination(_)));
    });
}

#[test]
fn connect_times_out_without_an_ack_and_read_times_out() {
    within(LIMIT, || {
        let m = tcp_manager();
        let (stop_tx, stop_rx) = crossbeam_channel::bounded::<()>(1);
        let (dest, h) = raw_server(move |mut raw| {
            let _syn = raw.recv();
            let _ = stop_rx.recv();
        });
        let mut o = opts();
        o.connect_timeout = Duration::from_millis(300);
        let e = m.connect(&dest, &o).unwrap_err();
        assert!(matches!(e, Error::TimedOut), "{e:?}");
        stop_tx.send(()).unwrap();
        h.join().unwrap();

        let (a, b) = SocketManager::in_memory_pair(ManagerConfig::default()).unwrap();
        let server = b.server_socket().unwrap();
        let e = server.accept(Some(Duration::from_millis(50))).unwrap_err();
        assert!(matches!(e, Error::TimedOut));
        let (c, mut s) = connected(&a, b.destination(), &server);
        s.set_read_timeout(Some(Duration::from_millis(50)));
        let e = s.read(&mut [0u8; 4]).unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::TimedOut);
        assert!(matches!(Error::from_io(e), Error::TimedOut));
        // Still usable after a timeout.
        (&c).write_all(b"ok").unwrap();
        let mut buf = [0u8; 2];
        s.read_exact(&mut buf).unwrap();
        assert_eq!(&buf, b"ok");
        m.destroy();
    });
}

// ------------------------------------------------------------ many streams

#[test]
fn two_hundred_streams_both_directions_in_memory() {
    within(LIMIT, || {
        let (a, b) = SocketManager::in_memory_pair(ManagerConfig::default()).unwrap();
        exchange(&a, &b, 100);
    });
}

#[test]
fn two_hundred_streams_both_directions_over_tcp() {
    within(LIMIT, || {
        let a = tcp_manager();
        let b = tcp_manager();
        exchange(&a, &b, 100);
        assert_eq!(a.stats(), Default::default());
    });
}

/// Each side opens `n` streams to the other; the acceptor sends back the
/// stream's own pattern after reading it, then both close. Every stream's
/// bytes are checked.
fn exchange(a: &SocketManager, b: &SocketManager, n: usize) {
    let pattern =
        |i: usize, len: usize| -> Vec<u8> { (0..len).map(|k| (k * 7 + i * 13) as u8).collect() };
    let serve = |server: msgwire::ministream::ServerSocket| {
        thread::spawn(move || {
            let mut workers = Vec::new();
            for _ in 0..n {
                let mut s = server.accept(Some(Duration::from_secs(30))).unwrap();
                workers.push(thread::spawn(move || {
                    let mut head = [0u8; 8];
                    s.read_exact(&mut head).unwrap();
                    let i = u32::from_be_bytes(head[..4].try_into().unwrap()) as usize;
                    let len = u32::from_be_bytes(head[4..].try_into().unwrap()) as usize;
                    let mut body = vec![0u8; len];
                    s.read_exact(&mut body).unwrap();
                    assert_eq!(
                        body,
                        (0..len).map(|k| (k * 7 + i * 13) as u8).collect::<Vec<_>>()
                    );
                    let reply: Vec<u8> = body.iter().rev().copied().collect();
                    s.write_all(&reply).unwrap();
                    let mut rest = Vec::new();
                    s.read_to_end(&mut rest).unwrap();
                    assert!(rest.is_empty());
                }));
            }
            for w in workers {
                w.join().unwrap();
            }
        })
    };
    let ta = serve(a.server_socket().unwrap());
    let tb = serve(b.server_socket().unwrap());
    let mut clients = Vec::new();
    for (k, (from, to)) in [(a, b.destination()), (b, a.destination())]
        .into_iter()
        .enumerate()
    {
        for j in 0..n {
            let i = k * n + j;
            let mut s = from.connect(to, &opts()).unwrap();
            clients.push(thread::spawn(move || {
                let len = 100 + i * 97;
                let mut msg = (i as u32).to_be_bytes().to_vec();
                msg.extend_from_slice(&(len as u32).to_be_bytes());
                msg.extend_from_slice(&pattern(i, len));
                s.write_all(&msg).unwrap();
                let mut back = vec![0u8; len];
                s.read_exact(&mut back).unwrap();
                let expect: Vec<u8> = pattern(i, len).into_iter().rev().collect();
                assert_eq!(back, expect, "stream {i}");
                s.close();
            }));
        }
    }
    for c in clients {
        c.join().unwrap();
    }
    ta.join().unwrap();
    tb.join().unwrap();
}

// ------------------------------------------------------------ bulk, back-pressure

#[test]
fn bulk_transfer_with_hash_over_tcp() {
    within(LIMIT, || {
        let a = tcp_manager();
        let b = tcp_manager();
        let server = b.server_socket().unwrap();
        const TOTAL: usize = 16 << 20;
        let rx = thread::spawn(move || {
            let mut s = server.accept(None).unwrap();
            let mut hash = Sha256::new();
            let mut buf = vec![0u8; 50_000];
            let mut n = 0;
            loop {
                let k = s.read(&mut buf).unwrap();
                if k == 0 {
                    break;
                }
                hash.update(&buf[..k]);
                n += k;
            }
            (n, hash.finalize().to_vec())
        });
        let mut s = a.connect(b.destination(), &opts()).unwrap();
        let mut hash = Sha256::new();
        let mut chunk = vec![0u8; 100_003];
        let mut sent = 0;
        let mut x = 1u32;
        while sent < TOTAL {
            let k = chunk.len().min(TOTAL - sent);
            for b in &mut chunk[..k] {
                x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
                *b = (x >> 16) as u8;
            }
            s.write_all(&chunk[..k]).unwrap();
            hash.update(&chunk[..k]);
            sent += k;
        }
        s.close();
        let (n, digest) = rx.join().unwrap();
        assert_eq!(n, TOTAL);
        assert_eq!(digest, hash.finalize().to_vec());
    });
}

#[test]
fn a_slow_reader_loses_nothing_on_any_stream() {
    within(LIMIT, || {
        let mut config = ManagerConfig::default();
        config.options.buffer_size = 4096;
        let a = tcp_manager();
        let b = SocketManager::listen_tcp("127.0.0.1:0", config).unwrap();
        let server = b.server_socket().unwrap();
        const PER: usize = 1 << 20;
        let mut senders = Vec::new();
        let a = Arc::new(a);
        for i in 0..3u8 {
            let a = a.clone();
            let dest = b.destination().to_vec();
            senders.push(thread::spawn(move || {
                let mut s = a.connect(&dest, &opts()).unwrap();
                s.write_all(&[i]).unwrap();
                s.write_all(&vec![i; PER]).unwrap();
                s.close();
            }));
        }
        let mut readers = Vec::new();
        for _ in 0..3 {
            let mut s = server.accept(Some(Duration::from_secs(30))).unwrap();
            readers.push(thread::spawn(move || {
                let mut tag = [0u8; 1];
                s.read_exact(&mut tag).unwrap();
                let mut all = Vec::new();
                let mut buf = vec![0u8; 1000];
                loop {
                    if tag[0] == 0 {
                        // The slow one: small reads with pauses.
                        thread::sleep(Duration::from_micros(200));
                    }
                    let k = s.read(&mut buf).unwrap();
                    if k == 0 {
                        break;
                    }
                    all.extend_from_slice(&buf[..k]);
                }
                assert_eq!(all.len(), PER, "stream {}", tag[0]);
                assert!(all.iter().all(|b| *b == tag[0]));
            }));
        }
        for s in senders {
            s.join().unwrap();
        }
        for r in readers {
            r.join().unwrap();
        }
    });
}

// ------------------------------------------------------------ bad frames

#[test]
fn bad_frames_are_dropped_and_counted_and_other_streams_carry_on() {
    within(LIMIT, || {
        let m = tcp_manager();
        let server = m.server_socket().unwrap();
        let mut raw = Raw::connect(m.destination());
        raw.send(b"\xA1\x00\x00\x07me");
        let mut s = server.accept(Some(Duration::from_secs(20))).unwrap();
        let sid = raw.recv()[4..7].to_vec();
        raw.send(b"\xA0\x00\x00\x00zero id");
        raw.send(b"\x10\x00\x00\x07out of range");
        raw.send(b"\xA5\x00\x00\x07unknown in range");
        raw.send(b"\xA0\x01");
        raw.send(b"");
        raw.send(b"\xA0\x00\x00\x09no such stream");
        raw.send(b"\xA2\x00\x00\x09");
        raw.send(b"\xFF");
        raw.send(&cat(&[b"\xA0", &sid, b"still here"]));
        let mut buf = [0u8; 10];
        s.read_exact(&mut buf).unwrap();
        assert_eq!(&buf, b"still here");
        let stats = m.stats();
        assert_eq!(stats.malformed, 4);
        assert_eq!(stats.unknown_type, 1);
        assert_eq!(stats.unknown_stream, 2);
        assert_eq!(stats.pings, 1);
        s.write_all(b"reply").unwrap();
        assert_eq!(raw.recv(), b"\x50\x00\x00\x07reply");

        // A second link with its own stream, then a broken length prefix on
        // the first: only the first closes.
        let mut other = Raw::connect(m.destination());
        other.send(b"\xA1\x00\x00\x08other");
        let mut s2 = server.accept(Some(Duration::from_secs(20))).unwrap();
        let sid2 = other.recv()[4..7].to_vec();
        raw.0.write_all(&[0, 1, 0, 1, 0xA0]).unwrap(); // 65537 bytes announced
        assert!(raw.eof(), "the link is closed");
        let e = s.read(&mut buf).unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::BrokenPipe);
        assert!(matches!(Error::from_io(e), Error::Transport(_)));
        assert_eq!(m.stats().framing_errors, 1);
        other.send(&cat(&[b"\xA0", &sid2, b"fine"]));
        let mut b4 = [0u8; 4];
        s2.read_exact(&mut b4).unwrap();
        assert_eq!(&b4, b"fine");
        m.destroy();
        // destroy closes the stream with a Close and the link.
        assert_eq!(other.recv(), cat(&[b"\x52\x00\x00\x08"]));
        assert!(other.eof());
    });
}

// ------------------------------------------------------------ destroy, ping, lists

#[test]
fn destroy_with_open_streams_closes_them_and_wakes_everyone() {
    within(LIMIT, || {
        let a = tcp_manager();
        let b = tcp_manager();
        let server = b.server_socket().unwrap();
        let (c1, mut s1) = connected(&a, b.destination(), &server);
        let (c2, s2) = connected(&a, b.destination(), &server);
        assert_eq!(a.list_sockets().len(), 2);
        assert_eq!(b.list_sockets().len(), 2);
        let info = &a.list_sockets()[0];
        assert_eq!(info.role, Role::Client);
        assert_eq!(info.phase, Phase::Established);
        assert_eq!(&info.peer_destination[..], b.destination());
        let blocked = thread::spawn(move || {
            let mut c1 = c1;
            c1.read(&mut [0u8; 4])
        });
        let accepting = {
            let server = a.server_socket().unwrap();
            thread::spawn(move || server.accept(None).map(|_| ()))
        };
        thread::sleep(Duration::from_millis(50));
        a.destroy();
        assert!(a.is_destroyed());
        assert!(blocked.join().unwrap().is_err());
        assert!(matches!(accepting.join().unwrap(), Err(Error::Destroyed)));
        // The peer saw a Close on both streams: end of stream.
        assert_eq!(s1.read(&mut [0u8; 4]).unwrap(), 0);
        assert_eq!((&s2).read(&mut [0u8; 4]).unwrap(), 0);
        assert!(matches!(
            a.connect(b.destination(), &opts()),
            Err(Error::Destroyed)
        ));
        assert!(c2.write_bytes(b"x").is_err());
        a.destroy();
        b.destroy();
    });
}

#[test]
fn ping_and_bidirectional_use_of_one_link() {
    within(LIMIT, || {
        let a = tcp_manager();
        let b = tcp_manager();
        assert!(a.ping(b.destination(), Duration::from_secs(5)).unwrap());
        let dead = TcpListener::bind("127.0.0.1:0").unwrap();
        let dead_dest = dead.local_addr().unwrap().to_string();
        drop(dead);
        assert!(!a
            .ping(dead_dest.as_bytes(), Duration::from_secs(5))
            .unwrap());
        // b opens a stream to a over the link a dialled: a's SYN payload
        // told b who a is. (Both ways work.)
        let sa = a.server_socket().unwrap();
        let sb = b.server_socket().unwrap();
        let (c, _s) = connected(&a, b.destination(), &sb);
        let (back, mut got) = connected(&b, a.destination(), &sa);
        (&back).write_all(b"hi").unwrap();
        let mut buf = [0u8; 2];
        got.read_exact(&mut buf).unwrap();
        assert_eq!(&buf, b"hi");
        assert_eq!(&got.peer_destination()[..], b.destination());
        assert_eq!(&got.local_destination()[..], a.destination());
        drop(c);
        b.destroy();
        // b's streams ended: a's stream reads EOF (Close) or a transport
        // error, never hangs.
        let _ = got.read(&mut buf);
        assert!(b.ping(a.destination(), Duration::from_secs(1)).is_err());
    });
}

#[test]
fn tls_transport() {
    within(LIMIT, || {
        let cert = rcgen::generate_simple_self_signed(vec!["127.0.0.1".into()]).unwrap();
        let server_tls = msgwire::net::TlsServerConfig::from_pem(
            cert.cert.pem().as_bytes(),
            cert.key_pair.serialize_pem().as_bytes(),
        )
        .unwrap();
        let client_tls =
            msgwire::net::TlsClientConfig::with_ca_pem(cert.cert.pem().as_bytes()).unwrap();
        let mut config = ManagerConfig::default();
        config.tls_server = Some(server_tls);
        config.tls_client = Some(client_tls);
        let a = SocketManager::listen_tcp("127.0.0.1:0", config.clone()).unwrap();
        let b = SocketManager::listen_tcp("127.0.0.1:0", config).unwrap();
        let server = b.server_socket().unwrap();
        let (mut c, mut s) = connected(&a, b.destination(), &server);
        c.write_all(b"secret").unwrap();
        let mut buf = [0u8; 6];
        s.read_exact(&mut buf).unwrap();
        assert_eq!(&buf, b"secret");
        // A plain client cannot talk to it.
        let mut raw = Raw::connect(b.destination());
        raw.send(b"\xA1\x00\x00\x01x");
        let mut any = [0u8; 16];
        assert!(!matches!(raw.0.read(&mut any), Ok(n) if n >= 4 && any[0..4] == [0, 0, 0, 4]));
    });
}

#[test]
fn sockets_split_across_threads_and_drop_closes() {
    within(LIMIT, || {
        let (a, b) = SocketManager::in_memory_pair(ManagerConfig::default()).unwrap();
        let server = b.server_socket().unwrap();
        let (c, s) = connected(&a, b.destination(), &server);
        let reader = c.try_clone().unwrap();
        let t = thread::spawn(move || {
            let mut all = Vec::new();
            (&reader).read_to_end(&mut all).unwrap();
            all
        });
        (&c).write_all(b"ping").unwrap();
        let mut buf = [0u8; 4];
        (&s).read_exact(&mut buf).unwrap();
        (&s).write_all(b"pong").unwrap();
        drop(s); // last handle: closes
        assert_eq!(t.join().unwrap(), b"pong");
        let arc = Arc::new(c);
        assert!(arc.write_bytes(b"x").is_err());
    });
}

#[test]
fn data_written_and_closed_before_the_ack_still_arrives() {
    within(LIMIT, || {
        let (a, b) = SocketManager::in_memory_pair(ManagerConfig::default()).unwrap();
        let server = b.server_socket().unwrap();
        for i in 0..50u8 {
            let s = a.open(b.destination(), &opts()).unwrap();
            (&s).write_all(&[i; 1024]).unwrap();
            drop(s); // closed before anyone accepted
        }
        for _ in 0..50 {
            let mut s = server.accept(Some(Duration::from_secs(20))).unwrap();
            let mut all = Vec::new();
            s.read_to_end(&mut all).unwrap();
            assert_eq!(all.len(), 1024);
            assert!(all.iter().all(|b| *b == all[0]));
        }
        assert!(a.list_sockets().is_empty());
    });
}

#[test]
fn a_closed_server_socket_refuses_and_a_new_one_accepts() {
    within(LIMIT, || {
        let (a, b) = SocketManager::in_memory_pair(ManagerConfig::default()).unwrap();
        let first = b.server_socket().unwrap();
        let kept = first.clone();
        first.close();
        assert!(matches!(
            kept.accept(Some(Duration::from_millis(10))),
            Err(Error::Closed)
        ));
        assert!(matches!(
            a.connect(b.destination(), &opts()),
            Err(Error::Refused)
        ));
        let second = b.server_socket().unwrap();
        let (mut c, mut s) = connected(&a, b.destination(), &second);
        c.write_all(b"again").unwrap();
        let mut buf = [0u8; 5];
        s.read_exact(&mut buf).unwrap();
        assert_eq!(&buf, b"again");
        drop(kept);
    });
}

#[test]
fn ipv6_loopback_destinations() {
    within(LIMIT, || {
        // Machines without IPv6 on loopback have nothing to test here.
        let Ok(a) = SocketManager::listen_tcp("[::1]:0", ManagerConfig::default()) else {
            return;
        };
        let b = SocketManager::listen_tcp("[::1]:0", ManagerConfig::default()).unwrap();
        assert!(b.destination().starts_with(b"[::1]:"));
        let server = b.server_socket().unwrap();
        let (mut c, mut s) = connected(&a, b.destination(), &server);
        assert_eq!(&s.peer_destination()[..], a.destination());
        c.write_all(b"v6").unwrap();
        let mut buf = [0u8; 2];
        s.read_exact(&mut buf).unwrap();
        assert_eq!(&buf, b"v6");
    });
}

/// The status counters (`net::stats`, served by the serverResponse
/// `status` page) see ministreaming links, streams and bytes.
#[test]
fn links_streams_and_bytes_are_counted() {
    use msgwire::net::stats::{self, Protocol};
    within(Duration::from_secs(60), || {
        let before = stats::snapshot(Protocol::Ministream);
        let a = tcp_manager();
        let b = tcp_manager();
        let server = b.server_socket().unwrap();
        let (mut c, mut s) = connected(&a, b.destination(), &server);
        c.write_all(b"counted").unwrap();
        let mut got = [0u8; 7];
        s.read_exact(&mut got).unwrap();
        let during = stats::snapshot(Protocol::Ministream);
        // Other tests run alongside: only growth is certain.
        assert!(during.connections_total >= before.connections_total + 2);
        assert!(during.sessions_open >= 2);
        assert!(during.bytes_out >= before.bytes_out + 7);
        assert!(during.bytes_in >= before.bytes_in + 7);
        drop((c, s));
        a.destroy();
        b.destroy();
    });
}

/// A write of more than `buffer_size` bytes before the ACK waits for the
/// ACK; the ACK must still get through. (It used to wait holding the
/// stream's send-order lock, which the link's reader needs to handle the
/// ACK: the reader, and every stream of the link, hung until the connect
/// deadline, and the write then failed with `TimedOut`.)
#[test]
fn a_write_waiting_for_the_ack_does_not_block_the_ack() {
    within(LIMIT, || {
        let mut config = ManagerConfig::default();
        config.options.buffer_size = 1024;
        let (a, b) = SocketManager::in_memory_pair(config).unwrap();
        let server = b.server_socket().unwrap();
        let mut o = opts();
        o.buffer_size = 1024;
        o.connect_timeout = Duration::from_secs(5);
        let s = Arc::new(a.open(b.destination(), &o).unwrap());
        let data: Vec<u8> = (0..10_000u32).map(|i| (i % 253) as u8).collect();
        let writer = {
            let (s, data) = (s.clone(), data.clone());
            thread::spawn(move || (&*s).write_all(&data).map(|()| s.close()))
        };
        // The first 1024 bytes are held; the writer then waits for the ACK.
        while s.bytes_sent() < 1024 {
            thread::sleep(Duration::from_millis(1));
        }
        thread::sleep(Duration::from_millis(50));
        let mut accepted = server.accept(Some(Duration::from_secs(20))).unwrap();
        accepted.set_read_timeout(Some(Duration::from_secs(20)));
        let mut all = Vec::new();
        accepted.read_to_end(&mut all).unwrap();
        writer.join().unwrap().unwrap();
        assert_eq!(all, data);
    });
}

/// Incoming streams waiting for `accept()` are bounded: beyond
/// `accept_backlog` a SYN is refused at once. (Before, every SYN queued
/// until the accept timeout, so a peer could grow memory without bound;
/// here the third connect waited and timed out instead of being refused.)
#[test]
fn syns_beyond_the_accept_backlog_are_refused_at_once() {
    within(LIMIT, || {
        let mut config = ManagerConfig::default();
        config.accept_backlog = 2;
        config.accept_timeout = Duration::from_secs(120);
        let (a, b) = SocketManager::in_memory_pair(config).unwrap();
        let server = b.server_socket().unwrap();
        let mut o = opts();
        o.connect_timeout = Duration::from_secs(3);
        let waiting: Vec<_> = (0..2)
            .map(|_| a.open(b.destination(), &o).unwrap())
            .collect();
        // Both SYNs have reached b's queue.
        while b.list_sockets().len() < 2 {
            thread::sleep(Duration::from_millis(1));
        }
        assert!(matches!(
            a.connect(b.destination(), &o),
            Err(Error::Refused)
        ));
        // The two in the backlog are still accepted.
        for _ in 0..2 {
            server.accept(Some(Duration::from_secs(20))).unwrap();
        }
        drop(waiting);
        let mut config = ManagerConfig::default();
        config.accept_backlog = 0;
        assert!(matches!(
            SocketManager::in_memory_pair(config),
            Err(Error::Invalid(_))
        ));
    });
}

/// `close` while another thread's write waits for a peer that does not
/// read: close returns (within the close timeout) instead of waiting for
/// that write, and later writes fail. (It used to wait for the stream's
/// send-order lock, held by the blocked write: forever.)
#[test]
fn close_does_not_wait_for_a_write_blocked_on_the_peer() {
    within(LIMIT, || {
        let mut config = ManagerConfig::default();
        config.close_timeout = Duration::from_millis(500);
        let a = SocketManager::listen_tcp("127.0.0.1:0", config.clone()).unwrap();
        let b = SocketManager::listen_tcp("127.0.0.1:0", config).unwrap();
        let server = b.server_socket().unwrap();
        let (c, _unread) = connected(&a, b.destination(), &server);
        let c = Arc::new(c);
        let writer = {
            let c = c.clone();
            thread::spawn(move || {
                let block = vec![1u8; 1 << 20];
                loop {
                    if let Err(e) = (&*c).write_all(&block) {
                        return e;
                    }
                }
            })
        };
        // Let the writer fill the socket buffers and block.
        thread::sleep(Duration::from_millis(300));
        c.close();
        let late = (&*c).write(b"x").unwrap_err();
        assert!(matches!(Error::from_io(late), Error::Closed));
        // Destroying the manager ends the blocked write; the writer then
        // sees the stream closed.
        drop(a);
        let e = writer.join().unwrap();
        assert!(
            matches!(Error::from_io(e), Error::Closed),
            "the writer saw another error"
        );
        drop(b);
    });
}

/// The accept timeout's refusal runs on the manager's timer thread; when
/// the link's send queue is full (its peer does not read) it must not
/// block that thread, which serves every other deadline. (It waited up
/// to `close_timeout` for room, here a minute, holding up every timer.)
#[test]
fn an_accept_timeout_on_a_congested_link_does_not_stall_the_timer() {
    within(LIMIT, || {
        let timer = msgwire::net::Timer::new().unwrap();
        let mut config = ManagerConfig::default();
        config.timer = Some(timer.clone());
        config.accept_timeout = Duration::from_millis(50);
        config.close_timeout = Duration::from_secs(50);
        let (a, b) = SocketManager::in_memory_pair(config).unwrap();
        let server_a = a.server_socket().unwrap();
        let server_b = b.server_socket().unwrap();
        // b floods a stream a never reads: a's link reader stops (the
        // stream's buffer is full), the pipe fills, then b's send queue.
        let (from_a, _unread) = connected(&a, b.destination(), &server_b);
        let flooded = server_a.clone();
        let t = thread::spawn(move || flooded.accept(Some(Duration::from_secs(20))).unwrap());
        let towards_a = b.connect(a.destination(), &opts()).unwrap();
        let _a_side = t.join().unwrap();
        towards_a.set_write_timeout(Some(Duration::from_millis(200)));
        let block = vec![3u8; 256 * 1024];
        while (&towards_a).write_all(&block).is_ok() {}
        // A stream nobody accepts: refused by b's timer after 50 ms, over
        // the congested link.
        let mut o = opts();
        o.connect_timeout = Duration::from_secs(1);
        let _never = a.open(b.destination(), &o).unwrap();
        thread::sleep(Duration::from_millis(200));
        // The timer still runs other deadlines.
        let (tx, rx) = crossbeam_channel::bounded(1);
        timer.schedule(std::time::Instant::now(), move || {
            let _ = tx.send(());
        });
        assert!(
            rx.recv_timeout(Duration::from_secs(20)).is_ok(),
            "the timer thread is stuck"
        );
        drop(from_a);
    });
}

/// Frames a [`Raw`] peer read while draining a congested link.
#[derive(Default)]
struct Drained {
    /// Data payload bytes per (type, id).
    bytes: std::collections::HashMap<(u8, [u8; 3]), Vec<u8>>,
    /// Every control frame (not data), whole.
    control: Vec<Vec<u8>>,
}

/// The manager's link's reader thread sends replies of its own (held data
/// once the ACK comes, refusals) and `accept` sends ACKs. When the peer
/// does not read and the link's send queue is full, none of these may
/// wait for room: a reader thread that waits stops reading, so every
/// stream on the link stalls, and two peers doing the same deadlock.
/// Here a raw peer reads nothing while the manager's writers fill the
/// link; then it acknowledges a stream with held data, opens a stream the
/// manager accepts, opens one it refuses, sends data on a third and closes
/// a fourth: each is handled at once. Then it drains the link and finds
/// every byte and every reply, in order.
#[test]
fn a_congested_link_still_reads_acks_syns_data_and_closes() {
    within(LIMIT, || {
        let m = tcp_manager();
        let server = m.server_socket().unwrap();
        let mut raw = Raw::connect(m.destination());
        raw.0
            .set_read_timeout(Some(Duration::from_secs(20)))
            .unwrap();
        let mut accepted = Vec::new();
        for id in 1u8..=3 {
            raw.send(&cat(&[&[0xA1, 0, 0, id], b"raw-peer"]));
            accepted.push(server.accept(Some(Duration::from_secs(20))).unwrap());
        }
        let mut sid = std::collections::HashMap::new();
        for _ in 0..3 {
            let ack = raw.recv();
            assert_eq!((ack[0], ack.len()), (0x51, 7));
            sid.insert(ack[3], ack[4..7].to_vec());
        }
        let s3 = accepted.pop().unwrap();
        let s2 = Arc::new(accepted.pop().unwrap());
        let s1 = Arc::new(accepted.pop().unwrap());
        // A stream the manager opens over the same link, with data held
        // until the raw peer's ACK.
        let opened = m.open(b"raw-peer", &opts()).unwrap();
        let syn = raw.recv();
        assert_eq!(&syn[..1], b"\xA1");
        assert_eq!(&syn[4..], m.destination());
        let cid = syn[1..4].to_vec();
        (&opened).write_all(b"held-before-ack;").unwrap();

        // Congest: one writer blocks in the kernel, another fills the
        // link's send queue until its writes time out.
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let bulk = {
            let (s1, stop) = (s1.clone(), stop.clone());
            thread::spawn(move || {
                let block = vec![0xB1u8; 1 << 20];
                let mut sent = 0u64;
                while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                    (&*s1).write_all(&block).unwrap();
                    sent += block.len() as u64;
                }
                sent
            })
        };
        s2.set_write_timeout(Some(Duration::from_millis(100)));
        let mut small = 0u64;
        let mut timeouts_in_a_row = 0;
        while timeouts_in_a_row < 3 {
            match (&*s2).write(b"s") {
                Ok(n) => {
                    small += n as u64;
                    timeouts_in_a_row = 0;
                }
                Err(e) => {
                    assert!(matches!(Error::from_io(e), Error::TimedOut));
                    timeouts_in_a_row += 1;
                }
            }
        }

        // The raw peer acknowledges the opened stream (server id 7): the
        // held data goes out behind the queue, and later writes after it.
        raw.send(&cat(&[b"\x51", &cid, b"\x00\x00\x07"]));
        // It opens a stream the manager accepts: accept returns at once,
        // its ACK waits in the queue.
        raw.send(b"\xA1\x00\x00\x05raw-peer");
        let s5 = server.accept(Some(Duration::from_secs(10))).unwrap();
        assert_eq!(&s5.peer_destination()[..], b"raw-peer");
        // And one nobody accepts any more: refused.
        server.close();
        raw.send(b"\xA1\x00\x00\x04raw-peer");
        // Data on an accepted stream still reaches its reader...
        raw.send(&cat(&[b"\xA0", &sid[&3], b"still flowing"]));
        s3.set_read_timeout(Some(Duration::from_secs(10)));
        let mut buf = [0u8; 13];
        (&s3).read_exact(&mut buf).unwrap();
        assert_eq!(&buf, b"still flowing");
        // ...and a Close ends its stream.
        raw.send(&cat(&[b"\xA2", &sid[&2]]));
        s2.set_read_timeout(Some(Duration::from_secs(10)));
        assert_eq!((&*s2).read(&mut buf).unwrap(), 0);

        // Drain everything; the manager marks the end on stream 3.
        let drain = thread::spawn(move || {
            let mut seen = Drained::default();
            loop {
                let frame = raw.recv();
                let id: [u8; 3] = frame[1..4].try_into().unwrap();
                if matches!(frame[0], 0x50 | 0xA0) {
                    let bytes = seen.bytes.entry((frame[0], id)).or_default();
                    bytes.extend_from_slice(&frame[4..]);
                    if (frame[0], id) == (0x50, [0, 0, 3]) && bytes.ends_with(b"end") {
                        return (seen, raw);
                    }
                } else {
                    seen.control.push(frame);
                }
            }
        });
        // (A write on the established stream waits for room, as on TCP.)
        (&opened).write_all(b"after-ack").unwrap();
        stop.store(true, std::sync::atomic::Ordering::SeqCst);
        let bulk = bulk.join().unwrap();
        (&s3).write_all(b"end").unwrap();
        let (seen, mut raw) = drain.join().unwrap();
        let of = |t: u8, id: &[u8]| {
            let id: [u8; 3] = id.try_into().unwrap();
            seen.bytes.get(&(t, id)).cloned().unwrap_or_default()
        };
        let s1_bytes = of(0x50, &[0, 0, 1]);
        assert_eq!(s1_bytes.len() as u64, bulk);
        assert!(s1_bytes.iter().all(|&b| b == 0xB1));
        assert_eq!(of(0x50, &[0, 0, 2]), vec![b's'; small as usize]);
        assert_eq!(of(0xA0, &[0, 0, 7]), b"held-before-ack;after-ack");
        assert!(
            seen.control
                .iter()
                .any(|f| f[..4] == *b"\x51\x00\x00\x05" && f.len() == 7),
            "no ACK for stream 5"
        );
        assert!(
            seen.control.contains(&b"\x52\x00\x00\x04".to_vec()),
            "no refusal for stream 4"
        );
        // The link carries on both ways.
        raw.send(&cat(&[b"\xA0", &sid[&3], b"more"]));
        let mut more = [0u8; 4];
        (&s3).read_exact(&mut more).unwrap();
        assert_eq!(&more, b"more");
        (&s5).write_all(b"hi").unwrap();
        assert_eq!(raw.recv(), b"\x50\x00\x00\x05hi");
        drop((s1, s2, s3, s5, opened));
        m.destroy();
    });
}

/// Fills a link's send queue from `s` (whose writes then time out) while
/// another write already waits for the peer in the kernel. Returns the
/// bytes written.
fn fill_send_queue(s: &msgwire::ministream::Socket) -> u64 {
    s.set_write_timeout(Some(Duration::from_millis(100)));
    let (mut written, mut timeouts_in_a_row) = (0u64, 0);
    while timeouts_in_a_row < 3 {
        match s.write_bytes(b"q") {
            Ok(()) => {
                written += 1;
                timeouts_in_a_row = 0;
            }
            Err(e) => {
                assert!(matches!(e, Error::TimedOut), "{e:?}");
                timeouts_in_a_row += 1;
            }
        }
    }
    s.set_write_timeout(None);
    written
}

/// Two more replies of the reader thread that must not wait: a bare ACK
/// (`51` without payload, the sample's Close) on a stream whose write
/// waits for a peer that does not read (the reader used to wait for that
/// write's send order), and a refusal when the link's queue is full (the
/// reader used to wait for room).
#[test]
fn a_bare_ack_and_a_refusal_on_a_stalled_link_do_not_stop_its_reader() {
    within(LIMIT, || {
        let m = tcp_manager();
        let server = m.server_socket().unwrap();
        let mut raw = Raw::connect(m.destination());
        raw.send(b"\xA1\x00\x00\x03raw-peer");
        let s3 = server.accept(Some(Duration::from_secs(20))).unwrap();
        let sid3 = raw.recv()[4..7].to_vec();
        s3.set_read_timeout(Some(Duration::from_secs(10)));
        let opened = Arc::new(m.open(b"raw-peer", &opts()).unwrap());
        let cid = raw.recv()[1..4].to_vec();
        raw.send(&cat(&[b"\x51", &cid, b"\x00\x00\x07"]));

        // A write on `opened` waits for the peer, holding its send order.
        let writer = {
            let opened = opened.clone();
            thread::spawn(move || {
                let block = vec![7u8; 1 << 20];
                loop {
                    if let Err(e) = opened.write_bytes(&block) {
                        return e;
                    }
                }
            })
        };
        let queued = fill_send_queue(&s3);
        // The peer closes `opened` the sample's way.
        raw.send(&cat(&[b"\x51", &cid]));
        raw.send(&cat(&[b"\xA0", &sid3, b"alive"]));
        let mut buf = [0u8; 5];
        (&s3).read_exact(&mut buf).unwrap();
        assert_eq!(&buf, b"alive");
        opened.set_read_timeout(Some(Duration::from_secs(10)));
        assert_eq!(opened.read_bytes(&mut [0u8; 4]).unwrap(), 0, "not closed");
        // Nobody listens: a SYN is refused, over the full queue.
        server.close();
        raw.send(b"\xA1\x00\x00\x04raw-peer");
        raw.send(&cat(&[b"\xA0", &sid3, b"again"]));
        (&s3).read_exact(&mut buf).unwrap();
        assert_eq!(&buf, b"again");

        // Drain: the refusal is there, after the queued bytes of s3.
        let mut s3_bytes = 0u64;
        loop {
            let frame = raw.recv();
            match (frame[0], &frame[1..4]) {
                (0x50, [0, 0, 3]) => s3_bytes += frame.len() as u64 - 4,
                (0x52, [0, 0, 4]) => break,
                _ => {}
            }
        }
        assert_eq!(s3_bytes, queued);
        let e = writer.join().unwrap();
        assert!(matches!(e, Error::Reset), "{e:?}");
        m.destroy();
    });
}
