//! Large-message transfers through the threaded session driver
//! ([`MsrpSession::send_message`]) over loopback TCP with port 0: files
//! into file sinks, chat interleaving, cancel, 413, resume, several
//! messages, a connection lost mid-transfer and `shutdown(true)`. Every
//! test body runs under [`within`], a watchdog that fails the test instead
//! of hanging the suite. No assertion depends on timing.

mod common;
use common::{bind_pair, start, within, Discard};
use sha2::{Digest, Sha256};

use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bytes::Bytes;
use crossbeam_channel::{self as channel, Receiver};
use msgwire::msrp::endpoint::{
    BindOptions, EndpointEvent, MsrpSession, SessionState, TransferUpdate,
};
use msgwire::msrp::session::{SessionConfig, SessionEvent};
use msgwire::msrp::transfer::{
    AbortReason, Delivery, FileSink, MessageSink, OutgoingMessage, SinkFactory,
};

const LIMIT: Duration = Duration::from_secs(120);
const WAIT: Duration = Duration::from_secs(30);
const MIB: u64 = 1024 * 1024;
const OCTETS: &str = "application/octet-stream";

/// Alice (default config) and Bob (`bob_config`).
fn pair(bob_config: SessionConfig) -> (Pair, Pair) {
    let (a, b) = bind_pair(BindOptions::default(), BindOptions::default());
    (start(a, SessionConfig::default()), start(b, bob_config))
}

type Pair = (MsrpSession, Receiver<EndpointEvent>);

/// Deterministic pseudo-random bytes (xorshift64*), `len` of them.
struct Noise {
    state: u64,
    left: u64,
}

impl Noise {
    fn new(seed: u64, len: u64) -> Self {
        Noise {
            state: seed | 1,
            left: len,
        }
    }

    fn next_word(&mut self) -> u64 {
        self.state ^= self.state >> 12;
        self.state ^= self.state << 25;
        self.state ^= self.state >> 27;
        self.state.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
}

impl Read for Noise {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = (buf.len() as u64).min(self.left) as usize;
        for chunk in buf[..n].chunks_mut(8) {
            let w = self.next_word().to_le_bytes();
            chunk.copy_from_slice(&w[..chunk.len()]);
        }
        self.left -= n as u64;
        Ok(n)
    }
}

fn noise_bytes(seed: u64, len: u64) -> Vec<u8> {
    let mut v = Vec::with_capacity(len as usize);
    Noise::new(seed, len).read_to_end(&mut v).unwrap();
    v
}

/// SHA-256 and length of everything `r` yields.
fn sha256(mut r: impl Read) -> (Vec<u8>, u64) {
    let mut h = Sha256::new();
    let mut len = 0;
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = r.read(&mut buf).unwrap();
        if n == 0 {
            return (h.finalize().to_vec(), len);
        }
        len += n as u64;
        h.update(&buf[..n]);
    }
}

/// A unique path in the temp directory, removed when dropped.
struct TempPath(PathBuf);

impl TempPath {
    fn new(tag: &str) -> Self {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        TempPath(
            std::env::temp_dir().join(format!("msgwire-transfer-{}-{tag}-{n}", std::process::id())),
        )
    }
}

impl Drop for TempPath {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// Writes `len` pseudo-random bytes to a new temp file.
fn noise_file(seed: u64, len: u64) -> TempPath {
    let path = TempPath::new("src");
    let mut file = File::create(&path.0).unwrap();
    io::copy(&mut Noise::new(seed, len), &mut file).unwrap();
    path
}

fn discarding_config() -> SessionConfig {
    SessionConfig {
        delivery: Delivery::Messages,
        max_message_size: 1 << 40,
        // Large messages are counted and dropped, small ones (chat) kept
        // in memory and delivered as `Incoming`.
        sink_factory: Some(SinkFactory::new(|head| {
            Ok(match head.total {
                Some(n) if n < MIB => None,
                _ => Some(Box::new(Discard) as Box<dyn MessageSink>),
            })
        })),
        ..SessionConfig::default()
    }
}

/// Sends `msg` with its updates going to a channel.
fn send(
    session: &MsrpSession,
    msg: OutgoingMessage,
) -> (
    msgwire::msrp::transfer::TransferId,
    Receiver<TransferUpdate>,
) {
    let (tx, rx) = channel::unbounded();
    let id = session
        .send_message(msg, move |u| {
            let _ = tx.send(u);
        })
        .unwrap();
    (id, rx)
}

/// Collects updates up to the final one; checks that progress only grows.
fn outcome(rx: &Receiver<TransferUpdate>) -> (Vec<u64>, TransferUpdate) {
    let mut progress = Vec::new();
    loop {
        match rx.recv_timeout(WAIT).expect("a transfer update") {
            TransferUpdate::Progress { acknowledged, .. } => {
                if let Some(&last) = progress.last() {
                    assert!(acknowledged >= last, "progress went back");
                }
                progress.push(acknowledged);
            }
            last => return (progress, last),
        }
    }
}

fn file_message(path: &Path) -> OutgoingMessage {
    let file = File::open(path).unwrap();
    let size = file.metadata().unwrap().len();
    OutgoingMessage::from_reader(file, Some(size)).content_type(OCTETS)
}

#[test]
fn file_of_50_mib_into_a_file_sink() {
    within(LIMIT, || {
        let size = 50 * MIB;
        let source = noise_file(7, size);
        let target = TempPath::new("dst");
        let target_path = target.0.clone();
        let config = SessionConfig {
            delivery: Delivery::Messages,
            max_message_size: 1 << 30,
            sink_factory: Some(SinkFactory::new(move |_| {
                Ok(Some(Box::new(FileSink::create(&target_path)?)))
            })),
            ..SessionConfig::default()
        };
        let ((alice, _arx), (_bob, brx)) = pair(config);
        let (_, updates) = send(&alice, file_message(&source.0));
        let (progress, last) = outcome(&updates);
        assert_eq!(last, TransferUpdate::Completed);
        assert_eq!(progress.last(), Some(&size), "progress reaches the total");
        assert_eq!(alice.active_transfers(), 0);
        let stored = loop {
            match brx.recv_timeout(WAIT).expect("MessageStored") {
                EndpointEvent::MessageStored {
                    size,
                    content_type,
                    message_id,
                    head,
                } => {
                    assert_eq!(content_type.as_deref(), Some("application/octet-stream"));
                    assert_eq!(head.message_id(), Some(message_id.as_str()));
                    break size;
                }
                EndpointEvent::Closed(e) => panic!("closed: {e:?}"),
                _ => {}
            }
        };
        assert_eq!(stored, size);
        let sent = sha256(File::open(&source.0).unwrap());
        let got = sha256(File::open(&target.0).unwrap());
        assert_eq!(sent, got, "same bytes arrived");
    });
}

#[test]
fn chat_goes_out_during_a_transfer() {
    within(LIMIT, || {
        let size = 50 * MIB;
        let ((alice, _arx), (_bob, brx)) = pair(discarding_config());
        let msg =
            OutgoingMessage::from_reader(Noise::new(3, size), Some(size)).content_type(OCTETS);
        let (_, updates) = send(&alice, msg);
        // Once the transfer is under way, a chat message.
        assert!(matches!(
            updates.recv_timeout(WAIT).unwrap(),
            TransferUpdate::Progress { .. }
        ));
        let chat = alice.make_message("hello during the transfer", "text/plain", None);
        let (chat_tx, chat_rx) = channel::bounded(1);
        alice
            .send_chunk(
                chat,
                Some(Box::new(move |o| {
                    let _ = chat_tx.send(o.response.code());
                })),
            )
            .unwrap();
        // Bob sees the chat message before the whole file.
        loop {
            match brx.recv_timeout(WAIT).expect("the chat message") {
                EndpointEvent::Session(SessionEvent::Incoming(c)) => {
                    assert_eq!(&c.data[..], b"hello during the transfer");
                    break;
                }
                EndpointEvent::MessageStored { .. } => {
                    panic!("the transfer completed before the chat message arrived")
                }
                EndpointEvent::Closed(e) => panic!("closed: {e:?}"),
                _ => {}
            }
        }
        assert_eq!(chat_rx.recv_timeout(WAIT).unwrap(), Some(200));
        let (_, last) = outcome(&updates);
        assert_eq!(last, TransferUpdate::Completed);
        loop {
            match brx.recv_timeout(WAIT).expect("MessageStored") {
                EndpointEvent::MessageStored { size: got, .. } => {
                    assert_eq!(got, size);
                    break;
                }
                EndpointEvent::Closed(e) => panic!("closed: {e:?}"),
                _ => {}
            }
        }
    });
}

#[test]
fn cancel_mid_transfer_fails_locally_and_aborts_at_the_receiver() {
    within(LIMIT, || {
        let size = 200 * MIB;
        let ((alice, _arx), (_bob, brx)) = pair(discarding_config());
        let msg =
            OutgoingMessage::from_reader(Noise::new(5, size), Some(size)).content_type(OCTETS);
        let (id, updates) = send(&alice, msg);
        assert!(matches!(
            updates.recv_timeout(WAIT).unwrap(),
            TransferUpdate::Progress { .. }
        ));
        assert!(alice.cancel_transfer(id));
        let (_, last) = outcome(&updates);
        assert!(
            matches!(
                last,
                TransferUpdate::Failed {
                    code: 487,
                    local: true,
                    ..
                }
            ),
            "{last:?}"
        );
        assert!(!alice.cancel_transfer(id), "already over");
        assert_eq!(alice.active_transfers(), 0);
        loop {
            match brx.recv_timeout(WAIT).expect("MessageAborted") {
                EndpointEvent::MessageAborted { reason, .. } => {
                    assert_eq!(reason, AbortReason::Sender);
                    break;
                }
                EndpointEvent::MessageStored { .. } => panic!("stored a cancelled message"),
                EndpointEvent::Closed(e) => panic!("closed: {e:?}"),
                _ => {}
            }
        }
        // The session goes on.
        let reply = alice
            .deliver_chunk(alice.make_message("still here", "text/plain", None))
            .unwrap();
        assert_eq!(reply.unwrap().code(), Some(200));
    });
}

#[test]
fn too_large_for_the_receiver_fails_413() {
    within(LIMIT, || {
        let config = SessionConfig {
            delivery: Delivery::Messages,
            max_message_size: MIB,
            ..SessionConfig::default()
        };
        let ((alice, _arx), (_bob, brx)) = pair(config);
        let size = 8 * MIB;
        let source = noise_file(11, size);
        let (_, updates) = send(&alice, file_message(&source.0));
        let (_, last) = outcome(&updates);
        assert!(
            matches!(
                last,
                TransferUpdate::Failed {
                    code: 413,
                    local: false,
                    ..
                }
            ),
            "{last:?}"
        );
        loop {
            match brx.recv_timeout(WAIT).expect("MessageAborted") {
                EndpointEvent::MessageAborted { reason, .. } => {
                    assert_eq!(reason, AbortReason::TooLarge);
                    break;
                }
                EndpointEvent::Closed(e) => panic!("closed: {e:?}"),
                _ => {}
            }
        }
    });
}

#[test]
fn resume_from_a_position() {
    within(LIMIT, || {
        // Bob takes chunks as they come (the legacy way) and so sees the
        // ranges of a resumed message.
        let ((alice, _arx), (_bob, brx)) = pair(SessionConfig::default());
        let size = 3 * MIB + 123;
        let position = MIB + 77;
        let body = noise_bytes(13, size);
        let msg = OutgoingMessage::from_bytes(Bytes::copy_from_slice(&body[position as usize..]))
            .message_id("resumed-1")
            .content_type(OCTETS)
            .position(position);
        let msg = OutgoingMessage {
            size: Some(size),
            ..msg
        };
        let (_, updates) = send(&alice, msg);
        let (progress, last) = outcome(&updates);
        assert_eq!(last, TransferUpdate::Completed);
        assert!(progress[0] > position, "counts include the position");
        assert_eq!(progress.last(), Some(&size));
        let mut got = Vec::new();
        let mut first_start = None;
        while (got.len() as u64) < size - position {
            match brx.recv_timeout(WAIT).expect("a chunk") {
                EndpointEvent::Session(SessionEvent::Incoming(c)) => {
                    assert_eq!(c.message_id(), Some("resumed-1"));
                    let range = c.byte_range().unwrap().unwrap();
                    assert_eq!(range.total, Some(size));
                    first_start.get_or_insert(range.start);
                    assert_eq!(range.start, position + 1 + got.len() as u64, "in order");
                    got.extend_from_slice(&c.data);
                }
                EndpointEvent::Closed(e) => panic!("closed: {e:?}"),
                _ => {}
            }
        }
        assert_eq!(first_start, Some(position + 1));
        assert_eq!(&got[..], &body[position as usize..]);
    });
}

#[test]
fn several_queued_messages_all_arrive_whole() {
    within(LIMIT, || {
        let config = SessionConfig {
            delivery: Delivery::Messages,
            ..SessionConfig::default()
        };
        let ((alice, _arx), (_bob, brx)) = pair(config);
        let bodies: Vec<Vec<u8>> = (1..=3).map(|i| noise_bytes(i, i * MIB + i)).collect();
        let mut pending = Vec::new();
        for (i, body) in bodies.iter().enumerate() {
            let msg = OutgoingMessage::from_bytes(body.clone())
                .message_id(&format!("multi-{i}"))
                .content_type(OCTETS);
            pending.push(send(&alice, msg).1);
        }
        assert!(alice.active_transfers() > 0);
        for updates in &pending {
            let (_, last) = outcome(updates);
            assert_eq!(last, TransferUpdate::Completed);
        }
        let mut seen = 0;
        while seen < bodies.len() {
            match brx.recv_timeout(WAIT).expect("a message") {
                EndpointEvent::Session(SessionEvent::Incoming(c)) => {
                    let id = c.message_id().unwrap().to_string();
                    let i: usize = id.strip_prefix("multi-").unwrap().parse().unwrap();
                    assert_eq!(&c.data[..], &bodies[i][..], "message {i}");
                    seen += 1;
                }
                EndpointEvent::Closed(e) => panic!("closed: {e:?}"),
                _ => {}
            }
        }
        assert_eq!(alice.active_transfers(), 0);
    });
}

#[test]
fn connection_lost_mid_transfer_fails_the_transfer() {
    within(LIMIT, || {
        let size = 500 * MIB;
        let ((alice, arx), (bob, brx)) = pair(discarding_config());
        let msg =
            OutgoingMessage::from_reader(Noise::new(17, size), Some(size)).content_type(OCTETS);
        let (_, updates) = send(&alice, msg);
        assert!(matches!(
            updates.recv_timeout(WAIT).unwrap(),
            TransferUpdate::Progress { .. }
        ));
        // Bob goes away without a goodbye: the connection is aborted.
        drop(bob);
        drop(brx);
        let (_, last) = outcome(&updates);
        assert!(
            matches!(last, TransferUpdate::Failed { local: true, .. }),
            "{last:?}"
        );
        loop {
            if let EndpointEvent::Closed(_) = arx.recv_timeout(WAIT).expect("the close") {
                break;
            }
        }
        assert_eq!(alice.state(), SessionState::Done);
        assert_eq!(alice.active_transfers(), 0);
        let refused = alice.send_message_with(OutgoingMessage::from_bytes("late"), None);
        assert!(refused.is_err());
    });
}

#[test]
fn shutdown_waits_for_a_queued_transfer() {
    within(LIMIT, || {
        let config = SessionConfig {
            delivery: Delivery::Messages,
            ..SessionConfig::default()
        };
        let ((alice, _arx), (_bob, brx)) = pair(config);
        let body = noise_bytes(19, 8 * MIB);
        let (_, updates) = send(
            &alice,
            OutgoingMessage::from_bytes(body.clone()).content_type(OCTETS),
        );
        alice.shutdown(true);
        assert_eq!(alice.state(), SessionState::Done);
        let (_, last) = outcome(&updates);
        assert_eq!(last, TransferUpdate::Completed);
        loop {
            match brx.recv_timeout(WAIT).expect("the message") {
                EndpointEvent::Session(SessionEvent::Incoming(c)) => {
                    assert_eq!(c.data.len(), body.len());
                    assert!(c.data[..] == body[..]);
                    break;
                }
                EndpointEvent::Closed(e) => panic!("closed first: {e:?}"),
                _ => {}
            }
        }
        assert!(alice
            .send_message_with(OutgoingMessage::from_bytes("late"), None)
            .is_err());
    });
}
