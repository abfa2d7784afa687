//! `make bench`, chat part: MSRPChat messages per second on one session
//! over TCP on 127.0.0.1, CPIM-wrapped beside plain.
//!
//! Each run starts two chats (alice outgoing, bob incoming), sends
//! `MESSAGES` 100-byte text messages from alice and stops the clock when
//! bob has posted every `MSRPChatGotMessage` and alice every
//! `MSRPChatDidDeliverMessage` (so the rate counts the whole chat path:
//! wrapping, the session, unwrapping, the success REPORT). "Plain" runs
//! give bob `accept-types: text/plain`, so alice sends without CPIM;
//! "wrapped" runs use the default types (message/cpim first). Plain and
//! wrapped runs alternate; the medians and their ratio are printed, never
//! asserted (these machines are shared and noisy). Target: wrapped >= 0.8
//! of plain.

use std::thread;
use std::time::{Duration, Instant};

use crossbeam_channel::Receiver;
use msgwire::msrp::chat::{Chat, ChatConfig, ChatEvent};

const MESSAGES: usize = 20_000;
const RUNS: usize = 5;
const WAIT: Duration = Duration::from_secs(60);

fn main() {
    let mut plain = Vec::new();
    let mut wrapped = Vec::new();
    for _ in 0..RUNS {
        plain.push(run(false));
        wrapped.push(run(true));
    }
    plain.sort_by(f64::total_cmp);
    wrapped.sort_by(f64::total_cmp);
    let (p, w) = (plain[RUNS / 2], wrapped[RUNS / 2]);
    println!("msrp chat benchmark (MSRPChat, TCP on 127.0.0.1, {MESSAGES} x 100-byte messages, medians of {RUNS})");
    println!("  plain text/plain messages        {p:>10.0} msg/s");
    println!(
        "  CPIM-wrapped messages            {w:>10.0} msg/s   (ratio wrapped/plain {:.2}, target >= 0.80)",
        w / p
    );
}

fn config(outgoing: bool, cpim: bool) -> ChatConfig {
    let (me, peer) = if outgoing {
        ("sip:alice@example.com", "sip:bob@example.com")
    } else {
        ("sip:bob@example.com", "sip:alice@example.com")
    };
    let mut c = ChatConfig::new(me, peer, outgoing);
    c.local_address = Some("127.0.0.1".into());
    if !outgoing && !cpim {
        c.accept_types = vec!["text/plain".into()];
    }
    c
}

/// Messages per second of one run.
fn run(cpim: bool) -> f64 {
    let (alice, arx) = Chat::with_channel(config(true, cpim)).unwrap();
    let (bob, brx) = Chat::with_channel(config(false, cpim)).unwrap();
    let am = alice.initialize().unwrap();
    let bm = bob.initialize().unwrap();
    let b = bob.clone();
    let starting = thread::spawn(move || b.start(&am).unwrap());
    alice.start(&bm).unwrap();
    starting.join().unwrap();
    let received = thread::spawn(move || count(&brx, "MSRPChatGotMessage"));
    let reported = thread::spawn(move || count(&arx, "MSRPChatDidDeliverMessage"));
    let body = "x".repeat(100);
    let t = Instant::now();
    for _ in 0..MESSAGES {
        alice
            .send_message(body.clone(), "text/plain", None, None)
            .unwrap();
    }
    assert_eq!(received.join().unwrap(), MESSAGES, "messages lost");
    assert_eq!(reported.join().unwrap(), MESSAGES, "reports lost");
    let rate = MESSAGES as f64 / t.elapsed().as_secs_f64();
    alice.end();
    bob.end();
    rate
}

/// Counts events called `name` until `MESSAGES` came (or none for `WAIT`).
fn count(rx: &Receiver<ChatEvent>, name: &str) -> usize {
    let mut n = 0;
    while n < MESSAGES {
        match rx.recv_timeout(WAIT) {
            Ok(ev) if ev.name() == name => n += 1,
            Ok(_) => {}
            Err(_) => break,
        }
    }
    n
}
