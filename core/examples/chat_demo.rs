//! The main job for now (`make demo`): two MSRP endpoints on 127.0.0.1 bind
//! a session (acceptor and connector, RFC 4975 §5.4), exchange chat
//! messages that ask for success reports, and print what each side received
//! and the round-trip times. Then Alice sends Bob a 256 MiB file-like
//! message (generated deterministically while it is sent) with a live
//! progress line on stderr, Bob stores it in a temporary file through a
//! `FileSink` (whole-message delivery), the hashes of both sides are
//! compared, and a chat message sent during the transfer shows its round
//! trip.
//!
//! Run with `cargo run --release --example chat_demo`.

use std::fs::File;
use std::io::{self, Read, Write};
use std::path::PathBuf;
use std::sync::{mpsc, Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use msgwire::msrp::endpoint::{
    BindOptions, DirectAcceptor, DirectConnector, EndpointEvent, MsrpSession, TransferUpdate,
};
use msgwire::msrp::session::{SessionConfig, SessionEvent};
use msgwire::msrp::transfer::{Delivery, FileSink, MessageSink, OutgoingMessage, SinkFactory};
use msgwire::msrp::Uri;
use sha2::{Digest, Sha256};

/// Size of the demo transfer.
const FILE_SIZE: u64 = 256 * 1024 * 1024;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut acceptor = DirectAcceptor::new(BindOptions::default());
    let bob_path = acceptor.prepare(Some("msrp://127.0.0.1:0/bob;tcp".parse::<Uri>()?))?;
    let mut connector = DirectConnector::new(BindOptions::default());
    let alice_path = connector.prepare(Some("msrp://127.0.0.1/alice;tcp".parse::<Uri>()?));
    println!("alice advertises a=path:{}", join(&alice_path));
    println!("bob   advertises a=path:{}", join(&bob_path));

    // In a real call the paths travel in SDP; here both sides run at once.
    let t = Instant::now();
    let accepting = {
        let alice_path = alice_path.clone();
        thread::spawn(move || acceptor.complete(&alice_path))
    };
    let alice_bound = connector.complete(&bob_path)?;
    let bob_bound = accepting.join().map_err(|_| "acceptor thread panicked")??;
    println!(
        "bound in {:.2} ms (prepare + complete, both sides)\n",
        t.elapsed().as_secs_f64() * 1e3
    );

    let (alice_tx, alice_rx) = mpsc::channel();
    let (bob_tx, bob_rx) = mpsc::channel();
    let alice = MsrpSession::start(alice_bound, SessionConfig::default(), move |ev| {
        let _ = alice_tx.send(ev);
    })?;
    // Bob takes whole messages: small ones in memory (as before), large
    // ones streamed into a temporary file.
    let received_path = std::env::temp_dir().join(format!(
        "msgwire-demo-{}-{}.bin",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos())
    ));
    let bob_config = SessionConfig {
        delivery: Delivery::Messages,
        max_message_size: 1 << 40,
        sink_factory: Some(SinkFactory::new({
            let path = received_path.clone();
            move |head| match head.total {
                Some(n) if n < 1 << 20 => Ok(None),
                _ => Ok(Some(
                    Box::new(FileSink::create(&path)?) as Box<dyn MessageSink>
                )),
            }
        })),
        ..SessionConfig::default()
    };
    let bob = MsrpSession::start(bob_bound, bob_config, move |ev| {
        let _ = bob_tx.send(ev);
    })?;

    let lines = [
        (&alice, "alice", "Hi Bob, are you there?"),
        (&bob, "bob", "Hi Alice! Yes, over MSRP."),
        (
            &alice,
            "alice",
            "Reports are on: you will see a REPORT for each message.",
        ),
    ];
    for (session, who, text) in lines {
        let mut msg = session.make_message(text.as_bytes().to_vec(), "text/plain", None);
        msg.headers.set("Success-Report", "yes");
        let start = Instant::now();
        let response = session.deliver_chunk(msg)?;
        let rtt = start.elapsed();
        let code = response.as_ref().and_then(|r| r.code()).unwrap_or(0);
        println!(
            "{who:>5} sent {text:?}: {code} in {:.3} ms",
            rtt.as_secs_f64() * 1e3
        );
    }
    // Let the REPORTs arrive, then show what each side received.
    thread::sleep(Duration::from_millis(100));
    for (who, rx) in [("alice", &alice_rx), ("bob", &bob_rx)] {
        for ev in rx.try_iter() {
            match ev {
                EndpointEvent::Session(SessionEvent::Incoming(c)) if c.method() == Some("SEND") => {
                    println!(
                        "{who:>5} received SEND {:?} ({})",
                        String::from_utf8_lossy(&c.data),
                        c.content_type().unwrap_or("?")
                    );
                }
                EndpointEvent::Session(SessionEvent::Incoming(c)) => {
                    let status = c.status().ok().flatten().map(|s| s.code).unwrap_or(0);
                    println!(
                        "{who:>5} received {} for message {} (status {status})",
                        c.method().unwrap_or("?"),
                        c.message_id().unwrap_or("?")
                    );
                }
                other => println!("{who:>5} event {other:?}"),
            }
        }
    }

    // Round-trip time of a small chat message, median of 200.
    let mut rtts: Vec<f64> = (0..200)
        .map(|i| {
            let msg = alice.make_message(format!("ping {i}").into_bytes(), "text/plain", None);
            let t = Instant::now();
            alice
                .deliver_chunk(msg)
                .map(|_| t.elapsed().as_secs_f64() * 1e6)
        })
        .collect::<Result<_, _>>()?;
    rtts.sort_by(f64::total_cmp);
    println!(
        "\nchat round trip (SEND -> 200), median of 200: {:.0} us",
        rtts[100]
    );

    let transfer = send_file(&alice, &bob_rx, &received_path);
    let _ = std::fs::remove_file(&received_path);
    transfer?;

    alice.shutdown(true);
    bob.shutdown(true);
    println!(
        "sessions closed: alice {:?}, bob {:?}",
        alice.state(),
        bob.state()
    );
    Ok(())
}

fn join(path: &[Uri]) -> String {
    path.iter()
        .map(|u| u.to_string())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Deterministic pseudo-random bytes (xorshift64*) that also hash what they
/// hand out (SHA-256), so the sender knows the hash of what it sent.
struct Generated {
    state: u64,
    left: u64,
    hash: Arc<Mutex<Sha256>>,
}

impl Read for Generated {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = (buf.len() as u64).min(self.left) as usize;
        for chunk in buf[..n].chunks_mut(8) {
            self.state ^= self.state >> 12;
            self.state ^= self.state << 25;
            self.state ^= self.state >> 27;
            let w = self.state.wrapping_mul(0x2545_f491_4f6c_dd1d).to_le_bytes();
            chunk.copy_from_slice(&w[..chunk.len()]);
        }
        let mut h = self.hash.lock().map_err(|_| io::Error::other("poisoned"))?;
        h.update(&buf[..n]);
        self.left -= n as u64;
        Ok(n)
    }
}

fn hex(digest: &[u8]) -> String {
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// Sends [`FILE_SIZE`] generated bytes from Alice to Bob, with a progress
/// line, a chat round trip during the transfer, and a hash check of the
/// file Bob stored at `received`.
fn send_file(
    alice: &MsrpSession,
    bob_rx: &mpsc::Receiver<EndpointEvent>,
    received: &PathBuf,
) -> Result<(), Box<dyn std::error::Error>> {
    println!(
        "\nfile transfer: {} MiB, alice -> bob (bob stores it in {})",
        FILE_SIZE >> 20,
        received.display()
    );
    let sent_hash = Arc::new(Mutex::new(Sha256::new()));
    let source = Generated {
        state: 0x9e37_79b9_7f4a_7c15,
        left: FILE_SIZE,
        hash: sent_hash.clone(),
    };
    let msg = OutgoingMessage::from_reader(source, Some(FILE_SIZE))
        .content_type("application/octet-stream")
        .header("Content-Disposition", "attachment; filename=\"demo.bin\"");
    let (done_tx, done_rx) = mpsc::channel();
    let (started_tx, started_rx) = mpsc::channel();
    let start = Instant::now();
    let mut last_line: Option<Instant> = None;
    // The callback runs on a core thread: it only formats a line.
    alice.send_message(msg, move |update| match update {
        TransferUpdate::Progress {
            acknowledged,
            total,
        } => {
            let _ = started_tx.send(());
            let now = Instant::now();
            let finished = Some(acknowledged) == total;
            if finished || last_line.is_none_or(|t| now - t >= Duration::from_millis(100)) {
                last_line = Some(now);
                let total = total.unwrap_or(0).max(1);
                let secs = start.elapsed().as_secs_f64().max(1e-9);
                eprint!(
                    "\r  {:>4} / {} MiB  {:>5.1} %  {:>7.1} MB/s ",
                    acknowledged >> 20,
                    total >> 20,
                    acknowledged as f64 * 100.0 / total as f64,
                    acknowledged as f64 / secs / 1e6
                );
                let _ = io::stderr().flush();
            }
        }
        other => {
            let _ = done_tx.send(other);
        }
    })?;
    // A chat message while the file is on its way.
    let chat_rtt = match started_rx.recv_timeout(Duration::from_secs(30)) {
        Ok(()) => {
            let msg = alice.make_message("still chatting during the transfer", "text/plain", None);
            let t = Instant::now();
            alice.deliver_chunk(msg)?;
            Some(t.elapsed())
        }
        Err(_) => None,
    };
    let outcome = done_rx.recv_timeout(Duration::from_secs(600))?;
    let elapsed = start.elapsed();
    eprintln!();
    if outcome != TransferUpdate::Completed {
        return Err(format!("the transfer failed: {outcome:?}").into());
    }
    let stored = loop {
        match bob_rx.recv_timeout(Duration::from_secs(30))? {
            EndpointEvent::MessageStored { size, .. } => break size,
            EndpointEvent::Closed(e) => return Err(format!("bob closed: {e:?}").into()),
            _ => {}
        }
    };
    let mut got = Sha256::new();
    let mut file = File::open(received)?;
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        got.update(&buf[..n]);
    }
    let got = hex(&got.finalize());
    let sent = hex(&sent_hash.lock().map_err(|_| "poisoned")?.clone().finalize());
    println!(
        "  {} MiB in {:.2} s: {:.0} MB/s; bob stored {} bytes",
        FILE_SIZE >> 20,
        elapsed.as_secs_f64(),
        FILE_SIZE as f64 / elapsed.as_secs_f64() / 1e6,
        stored
    );
    println!(
        "  SHA-256 sent   {sent}\n  SHA-256 stored {got} -> {}",
        if sent == got && stored == FILE_SIZE {
            "match"
        } else {
            "MISMATCH"
        }
    );
    if let Some(rtt) = chat_rtt {
        println!(
            "  chat round trip during the transfer: {:.3} ms",
            rtt.as_secs_f64() * 1e3
        );
    }
    if sent != got || stored != FILE_SIZE {
        return Err("the stored file differs from what was sent".into());
    }
    Ok(())
}
