//! Helpers shared by the integration tests (`mod common;` in each).

use std::panic;
use std::thread;
use std::time::Duration;

use crossbeam_channel::{self as channel, RecvTimeoutError};

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
