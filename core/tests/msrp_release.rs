//! No thread of an MSRP session outlives it: after `shutdown(true)`
//! returns, or the last handle is dropped, the session's transfer pump
//! (and, on a drop without shutdown, its connection threads) are gone.
//!
//! Threads are counted by name in `/proc/self/task`, so the scenarios run
//! one after another in a single test of their own binary: no other test
//! of the process starts sessions meanwhile. Nothing waits for a thread to
//! go away except where the thread is documented to end on its own (a
//! background shutdown, a handle dropped by the pump's own callback).

#![cfg(target_os = "linux")]

mod common;
use common::{bind_pair, start, within, Discard};

use std::fs;
use std::io::{self, Read};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use crossbeam_channel::{self as channel, Receiver};
use msgwire::msrp::endpoint::{
    BindOptions, EndpointEvent, MsrpSession, SessionState, TransferUpdate,
};
use msgwire::msrp::session::{SessionConfig, SessionEvent};
use msgwire::msrp::transfer::{Delivery, MessageSink, OutgoingMessage, SinkFactory};
use parking_lot::Mutex;

const LIMIT: Duration = Duration::from_secs(120);
const WAIT: Duration = Duration::from_secs(30);
const MIB: u64 = 1024 * 1024;

/// Threads of this process whose name starts with `prefix` (names are cut
/// to 15 bytes by the kernel).
fn threads_named(prefix: &str) -> usize {
    let Ok(tasks) = fs::read_dir("/proc/self/task") else {
        return 0;
    };
    tasks
        .filter_map(|t| fs::read_to_string(t.ok()?.path().join("comm")).ok())
        .filter(|name| name.trim_end().starts_with(prefix))
        .count()
}

fn pumps() -> usize {
    threads_named("msgwire-msrp-pu")
}

/// Pump threads still listed a moment after the call that joined them.
/// A joined thread can stay in /proc/self/task for a short while: the
/// kernel wakes `pthread_join` when the thread releases its memory map,
/// before the task is removed, and on a loaded machine the removal can lag
/// (seen in a full test run). So a count above zero is looked at again for
/// up to a second before it counts.
fn pumps_after_join() -> usize {
    let deadline = Instant::now() + Duration::from_secs(1);
    loop {
        let n = pumps();
        if n == 0 || Instant::now() >= deadline {
            return n;
        }
        thread::sleep(Duration::from_millis(2));
    }
}

/// Polls until no pump thread is left; for threads documented to end on
/// their own shortly after the call that let them go.
fn wait_for_no_pump() {
    let deadline = Instant::now() + WAIT;
    while pumps() > 0 {
        assert!(Instant::now() < deadline, "a pump thread is still running");
        thread::sleep(Duration::from_millis(5));
    }
}

/// An endless source of zeros: the transfer never finishes by itself.
struct Zeros;

impl Read for Zeros {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        buf.fill(0);
        Ok(buf.len())
    }
}

/// Bob stores whole messages into a sink that drops the bytes.
fn discarding() -> SessionConfig {
    SessionConfig {
        delivery: Delivery::Messages,
        max_message_size: 1 << 50,
        sink_factory: Some(SinkFactory::new(|_| {
            Ok(Some(Box::new(Discard) as Box<dyn MessageSink>))
        })),
        ..SessionConfig::default()
    }
}

fn octets(reader: impl Read + Send + 'static, size: u64) -> OutgoingMessage {
    OutgoingMessage::from_reader(reader, Some(size)).content_type("application/octet-stream")
}

fn endless() -> OutgoingMessage {
    octets(Zeros, 1 << 40)
}

/// Sends `msg`; updates go to the returned channel.
fn send(session: &MsrpSession, msg: OutgoingMessage) -> Receiver<TransferUpdate> {
    let (tx, rx) = channel::unbounded();
    session
        .send_message(msg, move |u| {
            let _ = tx.send(u);
        })
        .unwrap();
    rx
}

/// The update that ends a transfer (after its progress updates).
fn last_update(updates: &Receiver<TransferUpdate>) -> Option<TransferUpdate> {
    let mut last = None;
    while let Ok(u) = updates.recv_timeout(WAIT) {
        let done = !matches!(u, TransferUpdate::Progress { .. });
        last = Some(u);
        if done {
            break;
        }
    }
    last
}

fn first_progress(updates: &Receiver<TransferUpdate>) {
    match updates.recv_timeout(WAIT).expect("an update") {
        TransferUpdate::Progress { .. } => {}
        other => panic!("expected progress, got {other:?}"),
    }
}

/// The transfer is flowing (the peer reads and acknowledges) when the
/// last handle goes: the pump is joined before `drop` returns.
fn drop_while_sending() {
    let (a, b) = bind_pair(BindOptions::default(), BindOptions::default());
    let (alice, _arx) = start(a, SessionConfig::default());
    let (_bob, _brx) = start(b, discarding());
    let updates = send(&alice, endless());
    first_progress(&updates);
    assert_eq!(pumps(), 1);
    drop(alice);
    assert_eq!(pumps_after_join(), 0, "pump joined by the last drop");
    // The transfer's callback was released with the session.
    loop {
        match updates.recv_timeout(WAIT) {
            Err(channel::RecvTimeoutError::Disconnected) => break,
            Ok(_) => {}
            Err(e) => panic!("callback still held: {e:?}"),
        }
    }
}

/// The peer stops reading (its callback blocks), so the pump waits for
/// room in a full connection when the last handle goes.
fn drop_while_the_peer_stalls() {
    let (a, b) = bind_pair(BindOptions::default(), BindOptions::default());
    let (alice, _arx) = start(a, SessionConfig::default());
    let (release_tx, release_rx) = channel::bounded::<()>(0);
    let (seen_tx, seen_rx) = channel::bounded::<()>(1);
    // Per-chunk delivery: Bob's callback gets the first chunk and blocks,
    // which stops his reader.
    let bob = MsrpSession::start(b, SessionConfig::default(), move |ev| {
        if let EndpointEvent::Session(SessionEvent::Incoming(_)) = ev {
            let _ = seen_tx.try_send(());
            let _ = release_rx.recv();
        }
    })
    .unwrap();
    let _updates = send(&alice, endless());
    seen_rx.recv_timeout(WAIT).expect("bob got a chunk");
    // Let the socket buffers fill; correctness does not depend on it.
    thread::sleep(Duration::from_millis(100));
    assert_eq!(pumps(), 1);
    drop(alice);
    assert_eq!(
        pumps_after_join(),
        0,
        "stalled pump joined by the last drop"
    );
    drop(release_tx);
    drop(bob);
}

/// `shutdown(true)` returns after the last piece: the pump is gone by then
/// (a program may free the session and exit right away).
fn shutdown_then_exit() {
    let (a, b) = bind_pair(BindOptions::default(), BindOptions::default());
    let (alice, _arx) = start(a, SessionConfig::default());
    let (_bob, _brx) = start(b, discarding());
    let updates = send(&alice, octets(io::repeat(7).take(4 * MIB), 4 * MIB));
    alice.shutdown(true);
    assert_eq!(alice.state(), SessionState::Done);
    assert_eq!(pumps_after_join(), 0, "pump joined by the shutdown");
    assert_eq!(last_update(&updates), Some(TransferUpdate::Completed));
}

/// `shutdown(false)` then dropping every handle: the transfer still ends
/// (completed), then the background shutdown lets the pump go.
fn background_shutdown_after_drop() {
    let (a, b) = bind_pair(BindOptions::default(), BindOptions::default());
    let (alice, _arx) = start(a, SessionConfig::default());
    let (_bob, brx) = start(b, discarding());
    let updates = send(&alice, octets(io::repeat(1).take(8 * MIB), 8 * MIB));
    alice.shutdown(false);
    drop(alice);
    assert_eq!(last_update(&updates), Some(TransferUpdate::Completed));
    loop {
        match brx.recv_timeout(WAIT).expect("bob's events") {
            EndpointEvent::MessageStored { size, .. } => {
                assert_eq!(size, 8 * MIB);
                break;
            }
            EndpointEvent::Closed(e) => panic!("closed before the message: {e:?}"),
            _ => {}
        }
    }
    wait_for_no_pump();
}

/// The last handle is dropped by a transfer callback, which runs on the
/// pump thread: no deadlock, and the pump ends right after.
fn drop_from_the_pump_callback() {
    let (a, b) = bind_pair(BindOptions::default(), BindOptions::default());
    let (alice, _arx) = start(a, SessionConfig::default());
    let (_bob, _brx) = start(b, discarding());
    let slot: Arc<Mutex<Option<MsrpSession>>> = Arc::new(Mutex::new(None));
    let (done_tx, done_rx) = channel::bounded::<()>(1);
    let held = slot.clone();
    alice
        .send_message(endless(), move |_| {
            // Take the session out of the slot and drop it here.
            let taken = held.lock().take();
            if taken.is_some() {
                drop(taken);
                let _ = done_tx.try_send(());
            }
        })
        .unwrap();
    *slot.lock() = Some(alice);
    done_rx.recv_timeout(WAIT).expect("dropped in a callback");
    wait_for_no_pump();
}

#[test]
fn no_session_thread_outlives_its_session() {
    within(LIMIT, || {
        assert_eq!(pumps(), 0);
        drop_while_sending();
        drop_while_the_peer_stalls();
        shutdown_then_exit();
        background_shutdown_after_drop();
        drop_from_the_pump_callback();
    });
}
