//! The main job for now (`make demo`): two MSRP endpoints on 127.0.0.1 bind
//! a session (acceptor and connector, RFC 4975 §5.4), exchange chat
//! messages that ask for success reports, and print what each side received
//! and the round-trip times.
//!
//! Run with `cargo run --release --example chat_demo`.

use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use msgwire::msrp::endpoint::{
    BindOptions, DirectAcceptor, DirectConnector, EndpointEvent, MsrpSession,
};
use msgwire::msrp::session::{SessionConfig, SessionEvent};
use msgwire::msrp::Uri;

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
    let bob = MsrpSession::start(bob_bound, SessionConfig::default(), move |ev| {
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
