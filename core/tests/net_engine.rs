//! Engine tests: connections over loopback TCP (IPv4 and IPv6) and the
//! in-memory pipe, and the shared timer.
//!
//! Every test body runs under [`within`], a watchdog that fails the test
//! instead of letting a deadlock hang the suite. Sockets bind port 0, so no
//! test depends on a particular free port. Behaviour that must hold for
//! every transport is written once and run over each by [`for_each_pair`].

mod common;
use common::within;

use std::io::{self, IoSlice, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::panic;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::thread;
use std::time::{Duration, Instant};

use bytes::Bytes;
use crossbeam_channel::{self as channel, Receiver};
use msgwire::net::{
    pipe, pipe_with_capacity, CloseError, Config, Connection, DetachError, Incoming, Received,
    SendError, Stream, Timer,
};

/// The longest any test may take.
const LIMIT: Duration = Duration::from_secs(10);

// ---------------------------------------------------------------- helpers

#[derive(Debug, Clone, Copy)]
enum Transport {
    Tcp4,
    Tcp6,
    Pipe,
}

/// Two connected streams, or `None` when the transport is unavailable here
/// (a machine without IPv6 loopback).
fn pair(transport: Transport) -> Option<(Stream, Stream)> {
    match transport {
        Transport::Tcp4 => Some(tcp_pair("127.0.0.1:0").expect("IPv4 loopback")),
        Transport::Tcp6 => tcp_pair("[::1]:0"),
        Transport::Pipe => {
            let (a, b) = pipe();
            Some((a.into(), b.into()))
        }
    }
}

fn tcp_pair(addr: &str) -> Option<(Stream, Stream)> {
    let listener = TcpListener::bind(addr).ok()?;
    let client = TcpStream::connect(listener.local_addr().ok()?).ok()?;
    let (server, _) = listener.accept().ok()?;
    Some((client.into(), server.into()))
}

/// Runs `test` once per transport, each under the watchdog.
fn for_each_pair(test: fn(Stream, Stream)) {
    for transport in [Transport::Tcp4, Transport::Tcp6, Transport::Pipe] {
        match pair(transport) {
            Some((a, b)) => within(LIMIT, move || test(a, b)),
            None => eprintln!("skipping {transport:?}: not available on this machine"),
        }
    }
}

/// What a collecting handler saw, owned so it can cross threads.
#[derive(Debug)]
enum Event {
    Data(Vec<u8>),
    Closed(Option<io::ErrorKind>),
}

/// A connection whose handler forwards every event to the returned channel.
fn collecting(stream: Stream, config: Config) -> (Connection, Receiver<Event>) {
    let (tx, rx) = channel::unbounded();
    let conn = Connection::spawn_with(stream, config, move |event, _| {
        let _ = tx.send(match event {
            Incoming::Data(data) => Event::Data(data.to_vec()),
            Incoming::Closed(err) => Event::Closed(err.map(|e| e.kind())),
        });
    })
    .unwrap();
    (conn, rx)
}

/// A connection that sends back everything it receives.
fn echoing(stream: Stream) -> Connection {
    Connection::spawn(stream, |event, sender| {
        if let Incoming::Data(data) = event {
            sender.send(Bytes::copy_from_slice(data)).unwrap();
        }
    })
    .unwrap()
}

/// Collects data events until `n` bytes have arrived.
fn recv_bytes(rx: &Receiver<Event>, n: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(n);
    while out.len() < n {
        match rx.recv_timeout(LIMIT).expect("data did not arrive") {
            Event::Data(data) => out.extend_from_slice(&data),
            Event::Closed(err) => panic!("closed ({err:?}) after {} of {n} bytes", out.len()),
        }
    }
    assert_eq!(out.len(), n, "more bytes than expected");
    out
}

/// Collects data events until the close; returns the data and the reason.
fn recv_until_closed(rx: &Receiver<Event>) -> (Vec<u8>, Option<io::ErrorKind>) {
    let mut out = Vec::new();
    loop {
        match rx.recv_timeout(LIMIT).expect("connection did not close") {
            Event::Data(data) => out.extend_from_slice(&data),
            Event::Closed(err) => return (out, err),
        }
    }
}

/// Queues `chunk`-sized messages with `try_send` until the queue stays
/// full, which happens once the peer stops reading and every buffer in
/// between (kernel socket buffers, pipe buffer) is full. A full queue is
/// only trusted once it is still full 30 ms later: before that the writer
/// may merely be behind. Returns how many messages were queued and the
/// last one, handed back by the refusing `try_send`.
fn fill(conn: &Connection, chunk: usize) -> (usize, Bytes) {
    let mut queued = 0;
    let mut full_since: Option<Instant> = None;
    let started = Instant::now();
    while started.elapsed() < LIMIT {
        let msg = numbered(queued, chunk);
        match conn.try_send(msg.clone()) {
            Ok(()) => {
                queued += 1;
                full_since = None;
            }
            Err(SendError::Full(back)) => {
                assert_eq!(back, msg, "the refused message is handed back intact");
                let since = *full_since.get_or_insert_with(Instant::now);
                if since.elapsed() >= Duration::from_millis(30) {
                    return (queued, back);
                }
                thread::sleep(Duration::from_millis(2));
            }
            Err(e) => panic!("unexpected {e:?}"),
        }
    }
    panic!("the queue never stayed full");
}

/// A `len`-byte message starting with its number, so order can be checked.
fn numbered(i: usize, len: usize) -> Bytes {
    let mut v = vec![(i % 251) as u8; len.max(8)];
    v[..8].copy_from_slice(&(i as u64).to_be_bytes());
    Bytes::from(v)
}

/// Reads `stream` to its end on a thread of its own.
fn read_to_end_in_thread(mut stream: Stream) -> thread::JoinHandle<Vec<u8>> {
    thread::spawn(move || {
        let mut all = Vec::new();
        stream.read_to_end(&mut all).unwrap();
        all
    })
}

/// `all` is `count` messages of `len` bytes made by [`numbered`], in order.
fn assert_numbered(all: &[u8], count: usize, len: usize) {
    assert_eq!(all.len(), count * len);
    for (i, msg) in all.chunks(len).enumerate() {
        assert_eq!(msg, &numbered(i, len)[..], "message {i}");
    }
}

fn small_config() -> Config {
    let mut config = Config::default();
    config.queue_capacity = 4;
    config
}

// ------------------------------------------------- connection behaviour

#[test]
fn echo_round_trip() {
    for_each_pair(|a, b| {
        let (client, events) = collecting(a, Config::default());
        let _server = echoing(b);
        for word in ["hello", " ", "world"] {
            client.send(Bytes::from_static(word.as_bytes())).unwrap();
        }
        assert_eq!(recv_bytes(&events, 11), b"hello world");
        client.close().unwrap();
        assert!(matches!(recv_until_closed(&events), (rest, None) if rest.is_empty()));
    });
}

#[test]
fn many_small_sends_arrive_intact_and_in_order() {
    for_each_pair(|a, b| {
        let (sender, _) = collecting(a, Config::default());
        let (_receiver, events) = collecting(b, Config::default());
        let mut expected = Vec::new();
        for i in 0..10_000 {
            let line = format!("message {i:05}\n");
            expected.extend_from_slice(line.as_bytes());
            sender.send(Bytes::from(line)).unwrap();
        }
        assert_eq!(recv_bytes(&events, expected.len()), expected);
        sender.close().unwrap();
    });
}

#[test]
fn eight_mib_transfer() {
    for_each_pair(|a, b| {
        const TOTAL: usize = 8 * 1024 * 1024;
        let data: Vec<u8> = (0..TOTAL).map(|i| (i * 7 % 256) as u8).collect();
        let data = Bytes::from(data);
        let (sender, _) = collecting(a, Config::default());
        let (_receiver, events) = collecting(b, Config::default());
        // Half as file-sized chunks, half as one big buffer.
        let half = TOTAL / 2;
        for start in (0..half).step_by(64 * 1024) {
            sender.send(data.slice(start..start + 64 * 1024)).unwrap();
        }
        sender.send(data.slice(half..)).unwrap();
        let got = recv_bytes(&events, TOTAL);
        assert!(got == data, "the transfer was corrupted");
        sender.close().unwrap();
    });
}

/// The handler's sender writes directly when the stream is idle; when the
/// socket takes only part of a reply (a peer that is not reading yet), the
/// rest goes through the writer thread. Either way the peer reads exactly
/// the bytes it sent, in order. (TCP only: the peer writes from a second
/// thread, and a pipe end cannot be shared; see the next test for pipes.)
#[test]
fn handler_replies_arrive_intact_and_in_order_when_the_peer_reads_late() {
    for transport in [Transport::Tcp4, Transport::Tcp6] {
        let Some((a, b)) = pair(transport) else {
            continue;
        };
        within(LIMIT, move || {
            const TOTAL: usize = 4 * 1024 * 1024;
            let Stream::Tcp(mut b) = b else {
                unreachable!()
            };
            let _echo = echoing(a);
            let data: Vec<u8> = (0..TOTAL).map(|i| (i * 13 % 251) as u8).collect();
            // Everything is written before anything is read back, so the
            // replies fill the socket buffers and direct writes stop
            // part-way.
            let mut writer = b.try_clone().unwrap();
            let sent = data.clone();
            let feeder = thread::spawn(move || writer.write_all(&sent).unwrap());
            thread::sleep(Duration::from_millis(50));
            let mut got = Vec::with_capacity(TOTAL);
            let mut buf = vec![0; 64 * 1024];
            while got.len() < TOTAL {
                let n = b.read(&mut buf).unwrap();
                assert!(n > 0, "end-of-file after {} bytes", got.len());
                got.extend_from_slice(&buf[..n]);
            }
            feeder.join().unwrap();
            assert!(got == data, "the echo was corrupted");
        });
    }
}

/// A partial direct write over a tiny pipe: the rest of each reply is
/// queued ahead of later replies.
#[test]
fn partial_direct_writes_keep_message_order() {
    within(LIMIT, || {
        let (a, mut b) = pipe_with_capacity(10);
        let _echo = Connection::spawn(a, |event, sender| {
            if let Incoming::Data(data) = event {
                // One reply per byte received, each longer than the pipe.
                for &byte in data {
                    sender.send(Bytes::from(vec![byte; 25])).unwrap();
                }
            }
        })
        .unwrap();
        let mut expected = Vec::new();
        let mut got = Vec::new();
        let mut buf = [0u8; 7];
        // 100 rounds: the replies pile up by 18 bytes a round, so at most
        // 72 messages wait in the queue, below its capacity (128). More
        // rounds would fill the queue, block the handler and, with this
        // thread blocked writing, deadlock by design (back-pressure).
        for i in 0..100u8 {
            b.write_all(&[i]).unwrap();
            expected.extend_from_slice(&[i; 25]);
            // Read a little at a time so the pipe stays nearly full.
            let n = b.read(&mut buf).unwrap();
            got.extend_from_slice(&buf[..n]);
        }
        while got.len() < expected.len() {
            let n = b.read(&mut buf).unwrap();
            assert!(n > 0);
            got.extend_from_slice(&buf[..n]);
        }
        assert_eq!(got, expected);
    });
}

/// The sizes of the reads a connection made of `total` bytes waiting in a
/// pipe, with the given read buffer sizes; the bytes are checked.
fn read_sizes(total: usize, size: usize, max: usize) -> Vec<usize> {
    let (a, mut b) = pipe_with_capacity(total);
    let sent = numbered(7, total);
    b.write_all(&sent).unwrap();
    drop(b);
    let mut config = Config::default();
    config.read_buffer_size = size;
    config.max_read_buffer_size = max;
    let (conn, rx) = collecting(a.into(), config);
    let mut got = Vec::new();
    let mut sizes = Vec::new();
    loop {
        match rx
            .recv_timeout(LIMIT)
            .expect("the connection did not close")
        {
            Event::Data(data) => {
                sizes.push(data.len());
                got.extend_from_slice(&data);
            }
            Event::Closed(err) => {
                assert_eq!(err, None);
                break;
            }
        }
    }
    assert!(got == sent[..], "the bytes arrived changed or out of order");
    drop(conn);
    sizes
}

#[test]
fn the_read_buffer_doubles_while_reads_fill_it_up_to_its_maximum() {
    within(LIMIT, || {
        // 1 MiB waiting: every read fills the buffer, which doubles from
        // 4 KiB to 64 KiB and stays there.
        let sizes = read_sizes(1 << 20, 4096, 64 * 1024);
        assert_eq!(sizes[..5], [4096, 8192, 16384, 32768, 65536]);
        assert!(sizes[5..].iter().all(|&n| n <= 65536), "{sizes:?}");
        assert_eq!(sizes.iter().filter(|&&n| n < 65536).count(), 4 + 1);
        // Without a maximum the buffer keeps its size.
        let fixed = read_sizes(1 << 20, 4096, 0);
        assert_eq!(fixed.len(), 256);
        assert!(fixed.iter().all(|&n| n == 4096));
    });
}

#[test]
fn owned_reads_deliver_every_byte_in_order_then_the_close() {
    for_each_pair(|a, mut b| {
        let (tx, rx) = channel::unbounded();
        let mut config = Config::default();
        config.read_buffer_size = 64 * 1024;
        let conn = Connection::spawn_owned(a, config, move |event, _| {
            let _ = tx.send(match event {
                Received::Data(data) => Event::Data(data.to_vec()),
                Received::Closed(err) => Event::Closed(err.map(|e| e.kind())),
            });
        })
        .unwrap();
        // Writes of every size from 1 byte to beyond the read buffer, so
        // reads are both copied out (small) and handed over whole.
        let mut sent = Vec::new();
        for (i, len) in [1, 7, 100, 5000, 9000, 70_000, 200_000, 3]
            .iter()
            .enumerate()
        {
            let piece = numbered(i, *len);
            b.write_all(&piece).unwrap();
            sent.extend_from_slice(&piece);
        }
        drop(b);
        let (got, err) = recv_until_closed(&rx);
        assert_eq!(err, None);
        assert_eq!(got.len(), sent.len());
        assert!(got == sent, "the bytes arrived changed or out of order");
        drop(conn);
    });
}

#[test]
fn send_slices_keeps_order_with_queued_messages_and_a_slow_peer() {
    for_each_pair(|a, mut b| {
        let (conn, _) = collecting(a, small_config());
        let direct = conn.direct_sender();
        // A large message in many parts while the peer does not read yet:
        // over TCP the caller waits for the peer, over the pipe the rest
        // is queued; either way it arrives whole and before what follows.
        let big: Vec<Vec<u8>> = (0..64).map(|i| numbered(i, 32 * 1024).to_vec()).collect();
        let reader = thread::spawn(move || {
            thread::sleep(Duration::from_millis(20));
            let mut all = Vec::new();
            b.read_to_end(&mut all).unwrap();
            all
        });
        conn.send(Bytes::from_static(b"first|")).unwrap();
        let parts: Vec<IoSlice<'_>> = big.iter().map(|p| IoSlice::new(p)).collect();
        direct.send_slices(&parts, None).unwrap();
        direct
            .send_slices(
                &[IoSlice::new(b"|"), IoSlice::new(b""), IoSlice::new(b"last")],
                None,
            )
            .unwrap();
        direct.send_slices(&[], None).unwrap();
        conn.close().unwrap();
        let all = reader.join().unwrap();
        let mut expected = b"first|".to_vec();
        for part in &big {
            expected.extend_from_slice(part);
        }
        expected.extend_from_slice(b"|last");
        assert_eq!(all.len(), expected.len());
        assert!(all == expected, "the bytes arrived changed or out of order");
    });
}

#[test]
fn send_slices_gives_up_at_its_deadline_when_the_peer_never_reads() {
    for_each_pair(|a, _b| {
        let (conn, _) = collecting(a, small_config());
        let direct = conn.direct_sender();
        let chunk = vec![7u8; 64 * 1024];
        // Direct writes until the socket is full (then one waits for the
        // peer until its deadline), queued ones until the queue is full:
        // sooner or later a call accepts nothing before its deadline.
        let mut accepted = 0;
        let refused = loop {
            let deadline = Instant::now() + Duration::from_millis(20);
            match direct.send_slices(
                &[IoSlice::new(&chunk[..8]), IoSlice::new(&chunk[8..])],
                Some(deadline),
            ) {
                Ok(()) => accepted += 1,
                Err(e) => {
                    assert!(Instant::now() >= deadline, "gave up before the deadline");
                    break e;
                }
            }
        };
        assert!(matches!(refused, SendError::Full(_)), "{refused:?}");
        assert!(accepted > 0);
        assert!(matches!(
            conn.sender().send_until(Bytes::from(chunk), Instant::now()),
            Err(SendError::Full(_))
        ));
    });
}

#[test]
fn send_slices_after_close_fails() {
    let (a, _b) = pipe();
    let (conn, _) = collecting(a.into(), Config::default());
    let sender = conn.direct_sender();
    conn.close().ok();
    assert!(matches!(
        sender.send_slices(&[IoSlice::new(b"x")], None),
        Err(SendError::Closed(_))
    ));
}

#[test]
fn send_all_sends_in_order_and_hands_back_what_was_refused() {
    for_each_pair(|a, b| {
        let (reply_tx, reply_rx) = channel::bounded(1);
        // The handler answers each read with three messages at once.
        let conn = Connection::spawn(a, move |event, sender| {
            if let Incoming::Data(data) = event {
                let mut batch: std::collections::VecDeque<Bytes> = [
                    Bytes::from_static(b"<"),
                    Bytes::copy_from_slice(data),
                    Bytes::new(),
                    Bytes::from_static(b">"),
                ]
                .into();
                sender.send_all(&mut batch).unwrap();
                assert!(batch.is_empty());
                let _ = reply_tx.try_send(());
            }
        })
        .unwrap();
        let (peer, events) = collecting(b, Config::default());
        peer.send(Bytes::from_static(b"ping")).unwrap();
        reply_rx.recv_timeout(LIMIT).unwrap();
        assert_eq!(recv_bytes(&events, 6), b"<ping>");
        // From an application thread (through the writer thread).
        let mut batch: std::collections::VecDeque<Bytes> =
            (0..500).map(|i| numbered(i, 300)).collect();
        conn.sender().send_all(&mut batch).unwrap();
        let got = recv_bytes(&events, 500 * 300);
        for (i, msg) in got.chunks(300).enumerate() {
            assert_eq!(msg, &numbered(i, 300)[..], "message {i}");
        }
        conn.close().unwrap();
        let mut batch: std::collections::VecDeque<Bytes> =
            [Bytes::from_static(b"one"), Bytes::from_static(b"two")].into();
        match conn.sender().send_all(&mut batch) {
            Err(SendError::Closed(first)) => assert_eq!(first, "one"),
            other => panic!("expected Closed, got {other:?}"),
        }
        assert_eq!(batch, [Bytes::from_static(b"two")]);
        drop(peer);
    });
}

#[test]
fn peer_close_is_reported_and_later_sends_hand_the_message_back() {
    for_each_pair(|a, b| {
        let (local, events) = collecting(a, Config::default());
        let (peer, _) = collecting(b, Config::default());
        peer.close().unwrap();
        let (rest, reason) = recv_until_closed(&events);
        assert!(rest.is_empty());
        assert_eq!(reason, None, "a clean close is not an error");
        let msg = Bytes::from_static(b"too late");
        match local.send(msg.clone()) {
            Err(SendError::Closed(back)) => assert_eq!(back, msg),
            other => panic!("expected Closed, got {other:?}"),
        }
        assert!(local.is_closed());
        local.close().unwrap();
    });
}

#[test]
fn raw_peer_going_away_is_reported() {
    for_each_pair(|a, b| {
        let (_local, events) = collecting(a, Config::default());
        drop(b);
        let (rest, _reason) = recv_until_closed(&events);
        assert!(rest.is_empty());
    });
}

#[test]
fn send_after_close_hands_the_message_back() {
    for_each_pair(|a, b| {
        let (conn, _) = collecting(a, Config::default());
        let _peer = echoing(b);
        conn.close().unwrap();
        let msg = Bytes::from_static(b"after close");
        assert_eq!(conn.send(msg.clone()).unwrap_err().into_inner(), msg);
        assert!(matches!(conn.try_send(msg.clone()), Err(SendError::Closed(m)) if m == msg));
        assert!(conn.sender().is_closed());
        // Closing again is harmless.
        conn.close().unwrap();
    });
}

#[test]
fn close_flushes_queued_data_before_eof() {
    for_each_pair(|a, b| {
        let (sender, _) = collecting(a, Config::default());
        let (_receiver, events) = collecting(b, Config::default());
        let mut expected = Vec::new();
        for i in 0..2_000 {
            let msg = numbered(i, 1024);
            expected.extend_from_slice(&msg);
            sender.send(msg).unwrap();
        }
        // Most of it is still queued when close starts.
        sender.close().unwrap();
        let (got, reason) = recv_until_closed(&events);
        assert_eq!(reason, None);
        assert!(
            got == expected,
            "got {} of {} bytes",
            got.len(),
            expected.len()
        );
    });
}

#[test]
fn drop_without_close_does_not_hang_on_a_silent_peer() {
    for_each_pair(|a, b| {
        // The peer never reads and never closes.
        let (conn, _) = collecting(a, small_config());
        fill(&conn, 64 * 1024);
        drop(conn);
        drop(b);
    });
}

#[test]
fn drop_of_an_idle_connection_does_not_hang() {
    for_each_pair(|a, b| {
        let (conn, _) = collecting(a, Config::default());
        drop(conn);
        drop(b);
    });
}

#[test]
fn close_with_a_stalled_peer_times_out_and_releases_blocked_senders() {
    for_each_pair(|a, b| {
        let mut config = small_config();
        config.close_timeout = Duration::from_millis(200);
        let (conn, _) = collecting(a, config);
        let conn = Arc::new(conn);
        fill(&conn, 64 * 1024);
        let blocked = {
            let conn = conn.clone();
            thread::spawn(move || conn.send(Bytes::from_static(b"stuck")))
        };
        let started = Instant::now();
        let closed = conn.close();
        assert!(matches!(closed, Err(CloseError::TimedOut)), "{closed:?}");
        assert!(started.elapsed() < Duration::from_secs(3));
        match blocked.join().unwrap() {
            Err(SendError::Closed(back)) => assert_eq!(&back[..], b"stuck"),
            // The writer freed a slot just before the abort; also fine.
            Ok(()) => {}
            Err(e) => panic!("unexpected {e:?}"),
        }
        drop(b);
    });
}

#[test]
fn back_pressure_blocks_then_delivers_everything() {
    for_each_pair(|a, b| {
        let (conn, _) = collecting(a, small_config());
        let conn = Arc::new(conn);
        let (queued, refused) = fill(&conn, 64 * 1024);

        // A blocking send waits while the peer is not reading ...
        let (sent_tx, sent_rx) = channel::bounded(1);
        let blocked = {
            let conn = conn.clone();
            thread::spawn(move || {
                let result = conn.send(refused);
                let _ = sent_tx.send(());
                result
            })
        };
        assert!(
            sent_rx.recv_timeout(Duration::from_millis(50)).is_err(),
            "send returned although the queue was full"
        );

        // ... and completes once the peer reads; nothing is lost.
        let reader = read_to_end_in_thread(b);
        sent_rx.recv_timeout(LIMIT).unwrap();
        blocked.join().unwrap().unwrap();
        // The peer's read_to_end only returns after our half-close, so
        // close concurrently; the peer then hangs up and close returns.
        let closer = thread::spawn(move || conn.close());
        let all = reader.join().unwrap();
        assert_numbered(&all, queued + 1, 64 * 1024);
        closer.join().unwrap().unwrap();
    });
}

/// `send_beyond` queues past a full queue without waiting, up to the
/// extra messages allowed, and refuses beyond them; everything it took
/// arrives, in order, once the peer reads.
#[test]
fn send_beyond_goes_past_a_full_queue_by_the_extra_allowed() {
    for_each_pair(|a, b| {
        let (conn, _) = collecting(a, small_config());
        let (queued, refused) = fill(&conn, 64 * 1024);
        let sender = conn.sender();
        assert!(matches!(
            sender.send_beyond(refused.clone(), 0),
            Err(SendError::Full(_))
        ));
        for i in 0..2 {
            let msg = numbered(queued + i, 64 * 1024);
            sender.send_beyond(msg, 2).unwrap();
        }
        let third = numbered(queued + 2, 64 * 1024);
        assert!(matches!(
            sender.send_beyond(third.clone(), 2),
            Err(SendError::Full(back)) if back == third
        ));
        let reader = read_to_end_in_thread(b);
        let closer = thread::spawn(move || conn.close());
        let all = reader.join().unwrap();
        assert_numbered(&all, queued + 2, 64 * 1024);
        closer.join().unwrap().unwrap();
    });
}

#[test]
fn handler_can_close_its_own_connection() {
    for_each_pair(|a, mut b| {
        let slot: Arc<OnceLock<Connection>> = Arc::new(OnceLock::new());
        let (closed_tx, closed_rx) = channel::bounded(1);
        let conn = {
            let slot = slot.clone();
            Connection::spawn(a, move |event, sender| match event {
                Incoming::Data(_) => {
                    sender.try_send(Bytes::from_static(b"bye")).unwrap();
                    let conn = slot.get().expect("connection stored");
                    let _ = closed_tx.send(conn.close().is_ok());
                }
                Incoming::Closed(_) => {}
            })
            .unwrap()
        };
        let _ = slot.set(conn);
        b.write_all(b"please close").unwrap();
        let mut reply = Vec::new();
        // The peer reads the reply, then end-of-file.
        b.read_to_end(&mut reply).unwrap();
        assert_eq!(reply, b"bye");
        drop(b);
        assert!(closed_rx.recv_timeout(LIMIT).unwrap());
        // Dropping the stored connection now joins nothing that can hang.
        drop(slot);
    });
}

#[test]
fn pipe_back_pressure_with_a_tiny_buffer() {
    within(LIMIT, || {
        let (a, b) = pipe_with_capacity(16);
        let (conn, _) = collecting(a.into(), small_config());
        let (_, refused) = fill(&conn, 100);
        assert_eq!(refused.len(), 100);
        drop(conn);
        drop(b);
    });
}

#[test]
fn write_error_reaches_the_handler_and_close() {
    within(LIMIT, || {
        // The peer stops reading for good (its read half is dropped) but
        // keeps its write half open, so only our writer can notice.
        let (a, b) = pipe();
        let (conn, events) = collecting(a.into(), Config::default());
        let peer = Stream::from(b).split().unwrap();
        drop(peer.reader);
        conn.send(Bytes::from_static(b"into the void")).unwrap();
        let (rest, reason) = recv_until_closed(&events);
        assert!(rest.is_empty());
        assert_eq!(reason, Some(io::ErrorKind::BrokenPipe));
        assert!(matches!(conn.send(Bytes::new()), Err(SendError::Closed(_))));
        match conn.close() {
            Err(CloseError::Io(e)) => assert_eq!(e.kind(), io::ErrorKind::BrokenPipe),
            other => panic!("expected the write error, got {other:?}"),
        }
        drop(peer.writer);
    });
}

#[test]
fn peer_closing_after_a_reply_still_delivers_it() {
    for_each_pair(|a, mut b| {
        let (conn, events) = collecting(a, Config::default());
        b.write_all(b"last words").unwrap();
        drop(b);
        let (got, reason) = recv_until_closed(&events);
        assert_eq!(got, b"last words");
        assert_eq!(reason, None);
        conn.close().unwrap();
    });
}

// ---------------------------------------------------------------- timer

#[test]
fn timer_runs_callbacks_in_deadline_order() {
    within(LIMIT, || {
        let timer = Timer::new().unwrap();
        let (tx, rx) = channel::unbounded();
        // Everything is scheduled well before the first deadline, so the
        // order cannot depend on how fast this loop runs.
        let start = Instant::now() + Duration::from_millis(50);
        for (label, ms) in [("30", 30), ("10", 10), ("20a", 20), ("20b", 20), ("0", 0)] {
            let tx = tx.clone();
            timer.schedule(start + Duration::from_millis(ms), move || {
                tx.send((label, Instant::now())).unwrap();
            });
        }
        let got: Vec<_> = (0..5).map(|_| rx.recv_timeout(LIMIT).unwrap()).collect();
        let labels: Vec<_> = got.iter().map(|(l, _)| *l).collect();
        assert_eq!(labels, ["0", "10", "20a", "20b", "30"]);
        let (_, last) = got[4];
        assert!(last >= start + Duration::from_millis(30), "ran early");
    });
}

#[test]
fn timer_cancel() {
    within(LIMIT, || {
        let timer = Timer::new().unwrap();
        let ran = Arc::new(AtomicBool::new(false));
        let cancelled = {
            let ran = ran.clone();
            timer.schedule(Duration::from_millis(10), move || {
                ran.store(true, Ordering::SeqCst)
            })
        };
        assert!(cancelled.cancel());
        assert!(!cancelled.cancel(), "a second cancel finds nothing");

        let (tx, rx) = channel::bounded(1);
        let marker = timer.schedule(Duration::from_millis(30), move || tx.send(()).unwrap());
        rx.recv_timeout(LIMIT).unwrap();
        assert!(!ran.load(Ordering::SeqCst), "a cancelled callback ran");
        assert!(!marker.cancel(), "cannot cancel what already ran");
    });
}

#[test]
fn timer_callbacks_can_schedule_and_survive_panics() {
    within(LIMIT, || {
        let timer = Timer::new().unwrap();
        let (tx, rx) = channel::bounded(1);
        timer.schedule(Duration::ZERO, || panic!("a broken callback (expected)"));
        let inner = timer.clone();
        timer.schedule(Duration::from_millis(1), move || {
            inner.schedule(Duration::from_millis(1), move || tx.send(()).unwrap());
        });
        rx.recv_timeout(LIMIT).unwrap();
    });
}

#[test]
fn dropping_the_last_timer_stops_it_without_running_pending_callbacks() {
    within(LIMIT, || {
        struct Flag(Arc<AtomicUsize>);
        impl Drop for Flag {
            fn drop(&mut self) {
                self.0.fetch_add(1, Ordering::SeqCst);
            }
        }
        let timer = Timer::new().unwrap();
        let dropped = Arc::new(AtomicUsize::new(0));
        let ran = Arc::new(AtomicBool::new(false));
        let handle = {
            let flag = Flag(dropped.clone());
            let ran = ran.clone();
            timer.schedule(Duration::from_secs(3600), move || {
                let _flag = flag;
                ran.store(true, Ordering::SeqCst);
            })
        };
        let clone = timer.clone();
        drop(timer);
        assert_eq!(dropped.load(Ordering::SeqCst), 0, "a clone still lives");
        drop(clone);
        // Joined: the pending callback has been dropped, never run.
        assert_eq!(dropped.load(Ordering::SeqCst), 1);
        assert!(!ran.load(Ordering::SeqCst));
        assert!(!handle.cancel(), "the timer is gone");
    });
}

#[test]
fn default_ip_is_a_local_address() {
    let ip = msgwire::net::default_ip();
    assert!(!ip.is_unspecified() && !ip.is_multicast());
    // It is stable while the routes are, and a local interface's address:
    // this machine can listen on it.
    assert_eq!(msgwire::net::default_ip(), ip);
    let listener = TcpListener::bind((ip, 0)).unwrap();
    assert_eq!(listener.local_addr().unwrap().ip(), ip);
}

// ---------------------------------------------------------------- detach

fn detachable() -> Config {
    let mut config = Config::default();
    config.detach_poll = Some(Duration::from_millis(20));
    config
}

#[test]
fn detach_flushes_stops_both_threads_and_hands_the_socket_back() {
    within(LIMIT, || {
        let (a, b) = tcp_pair("127.0.0.1:0").unwrap();
        let (conn, events) = collecting(a, detachable());
        let Stream::Tcp(mut peer) = b else {
            unreachable!("tcp_pair gives TCP streams")
        };
        // Something read by the connection, then queued messages that the
        // detach must flush before returning.
        peer.write_all(b"before").unwrap();
        assert_eq!(recv_bytes(&events, 6), b"before");
        for i in 0..100 {
            conn.send(numbered(i, 100)).unwrap();
        }
        let mut socket = conn.detach().expect("detached");
        match events.recv_timeout(LIMIT).unwrap() {
            Event::Closed(None) => {}
            other => panic!("expected a clean Closed, got {other:?}"),
        }
        assert!(conn.is_closed());
        assert!(matches!(
            conn.send(Bytes::from_static(b"late")),
            Err(SendError::Closed(_))
        ));
        let mut flushed = vec![0; 100 * 100];
        peer.read_exact(&mut flushed).unwrap();
        for i in 0..100 {
            assert_eq!(&flushed[i * 100..(i + 1) * 100], &numbered(i, 100)[..]);
        }
        // The socket still works both ways, and no stopped reader took the
        // peer's next bytes.
        peer.write_all(b"after").unwrap();
        let mut got = [0u8; 5];
        socket.read_exact(&mut got).unwrap();
        assert_eq!(&got, b"after");
        socket.write_all(b"reply").unwrap();
        peer.read_exact(&mut got).unwrap();
        assert_eq!(&got, b"reply");
        assert_eq!(socket.read_timeout().unwrap(), None, "timeout restored");
        // Dropping the detached connection leaves the socket alone.
        drop(conn);
        socket.write_all(b"still").unwrap();
        peer.read_exact(&mut got).unwrap();
        assert_eq!(&got, b"still");
        assert!(matches!(
            events.recv_timeout(Duration::from_millis(50)),
            Err(channel::RecvTimeoutError::Disconnected)
        ));
    });
}

#[test]
fn detach_is_refused_where_it_cannot_work() {
    within(LIMIT, || {
        // No detach_poll: a blocked read could not be stopped.
        let (a, _b) = tcp_pair("127.0.0.1:0").unwrap();
        let (conn, _events) = collecting(a, Config::default());
        assert!(matches!(conn.detach(), Err(DetachError::NotDetachable)));
        assert!(!conn.is_closed(), "a refused detach changes nothing");
        // Not a socket.
        let (p, _q) = pipe();
        let (conn, _events) = collecting(p.into(), detachable());
        assert!(matches!(conn.detach(), Err(DetachError::NotDetachable)));
        // From the handler.
        let (a, b) = tcp_pair("127.0.0.1:0").unwrap();
        let slot: Arc<OnceLock<Arc<Connection>>> = Arc::new(OnceLock::new());
        let (tx, rx) = channel::unbounded();
        let seen = slot.clone();
        let conn = Arc::new(
            Connection::spawn_with(a, detachable(), move |event, _| {
                if let (Incoming::Data(_), Some(c)) = (event, seen.get()) {
                    let _ = tx.send(matches!(c.detach(), Err(DetachError::OnReader)));
                }
            })
            .unwrap(),
        );
        let _ = slot.set(conn.clone());
        let Stream::Tcp(mut peer) = b else {
            unreachable!()
        };
        peer.write_all(b"x").unwrap();
        assert!(rx.recv_timeout(LIMIT).unwrap(), "refused on the reader");
        // Twice: the second finds it closed.
        let _socket = conn.detach().unwrap();
        assert!(matches!(conn.detach(), Err(DetachError::Closed)));
        // The handler's clone of the connection lives in the slot; the
        // cycle is broken when the slot goes.
        drop(slot);
    });
}
