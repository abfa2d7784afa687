//! Helpers shared by the integration tests (`mod common;` in each).

use std::panic;
use std::thread;
use std::time::Duration;

use crossbeam_channel::{self as channel, Receiver, RecvTimeoutError};
use msgwire::msrp::endpoint::{
    BindOptions, BoundTransport, DirectAcceptor, DirectConnector, EndpointEvent, MsrpSession,
};
use msgwire::msrp::session::SessionConfig;
use msgwire::msrp::transfer::MessageSink;
use msgwire::msrp::Uri;

/// Runs `body` on its own thread and fails if it takes longer than `limit`,
/// so a hang fails its test instead of stalling the suite. A panic in the
/// body fails the test with the body's own message.
pub fn within(limit: Duration, body: impl FnOnce() + Send + 'static) {
    let (done_tx, done_rx) = channel::bounded::<()>(1);
    let handle = thread::spawn(move || {
        body();
        let _ = done_tx.send(());
    });
    match done_rx.recv_timeout(limit) {
        Ok(()) | Err(RecvTimeoutError::Disconnected) => {
            if let Err(payload) = handle.join() {
                panic::resume_unwind(payload);
            }
        }
        Err(RecvTimeoutError::Timeout) => panic!("test body still running after {limit:?}"),
    }
}

/// `msrp://127.0.0.1:0` (any free port), for acceptors.
#[allow(dead_code)] // not every test file binds
pub fn local() -> Option<Uri> {
    Some(Uri::new("127.0.0.1", Some(0), None))
}

/// Binds a connector and an acceptor to each other on 127.0.0.1;
/// `(active, passive)` transports.
#[allow(dead_code)]
pub fn bind_pair(
    connector_options: BindOptions,
    acceptor_options: BindOptions,
) -> (BoundTransport, BoundTransport) {
    let mut acceptor = DirectAcceptor::new(acceptor_options);
    let acceptor_path = acceptor.prepare(local()).unwrap();
    assert_ne!(acceptor_path[0].port, Some(0), "real port written back");
    let mut connector = DirectConnector::new(connector_options);
    let connector_path = connector.prepare(None);
    let passive = thread::spawn(move || acceptor.complete(&connector_path));
    let active = connector.complete(&acceptor_path).unwrap();
    (active, passive.join().unwrap().unwrap())
}

/// Starts a session whose events land in a channel.
#[allow(dead_code)]
pub fn start(
    bound: BoundTransport,
    config: SessionConfig,
) -> (MsrpSession, Receiver<EndpointEvent>) {
    let (tx, rx) = channel::unbounded();
    let session = MsrpSession::start(bound, config, move |ev| {
        let _ = tx.send(ev);
    })
    .unwrap();
    (session, rx)
}

/// A message sink that drops every byte (for transfers whose content is
/// not checked).
#[allow(dead_code)]
pub struct Discard;

impl MessageSink for Discard {
    fn write_at(&mut self, _: u64, _: &[u8]) -> std::io::Result<()> {
        Ok(())
    }
    fn finish(&mut self) -> std::io::Result<()> {
        Ok(())
    }
    fn abort(&mut self) {}
}
