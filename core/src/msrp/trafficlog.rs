//! Traffic logging: what went over the wire, chunk by chunk.
//!
//! The legacy library reports traffic to a duck-typed logger object with six
//! traffic methods and five level methods; [`TrafficLogger`] is the same
//! interface as a trait, so the C callback table and the Python object can
//! both be adapted to it. Every method has a default, so an implementation
//! overrides only what it cares about; [`NullLogger`] ignores everything and
//! [`LogLogger`] (the default) writes through the `log` crate under the
//! target `msgwire::msrp::traffic`.
//!
//! Give a logger to a session through `SessionConfig::logger`
//! ([`super::session::SharedLogger`]); a session driven by
//! [`super::endpoint::MsrpSession`] labels it with the connection's
//! addresses. Methods are called on the threads that drive the session
//! (the connection's reader, the timer, or the sending thread) and must not
//! block. `connection` is a short label of
//! the connection (e.g. `127.0.0.1:2855 -> 127.0.0.1:40123`).

use super::parser::Head;

/// Receives traffic and diagnostics of MSRP connections.
pub trait TrafficLogger: Send + Sync {
    /// A chunk's start line and headers were received (`head.raw()` is the
    /// exact text).
    fn received_new_chunk(&self, connection: &str, head: &Head<'_>) {
        let _ = (connection, head);
    }
    /// A slice of the body of the chunk `transaction_id` was received.
    fn received_chunk_data(&self, connection: &str, transaction_id: &str, data: &[u8]) {
        let _ = (connection, transaction_id, data);
    }
    /// The end-line of the chunk `transaction_id` was received.
    fn received_chunk_end(&self, connection: &str, transaction_id: &str, end_line: &[u8]) {
        let _ = (connection, transaction_id, end_line);
    }
    /// A chunk's start line and headers were written.
    fn sent_new_chunk(&self, connection: &str, transaction_id: &str, head: &[u8]) {
        let _ = (connection, transaction_id, head);
    }
    /// A slice of body of the chunk `transaction_id` was written.
    fn sent_chunk_data(&self, connection: &str, transaction_id: &str, data: &[u8]) {
        let _ = (connection, transaction_id, data);
    }
    /// The end-line of the chunk `transaction_id` was written.
    fn sent_chunk_end(&self, connection: &str, transaction_id: &str, end_line: &[u8]) {
        let _ = (connection, transaction_id, end_line);
    }
    /// A diagnostic message at `level`.
    fn message(&self, level: Level, text: &str) {
        let _ = (level, text);
    }
}

/// Severity of a [`TrafficLogger::message`], the legacy logger's five levels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    /// `debug`
    Debug,
    /// `info`
    Info,
    /// `warn`
    Warn,
    /// `error`
    Error,
    /// `fatal`
    Fatal,
}

/// Ignores everything (the legacy `Null` logger).
#[derive(Debug, Clone, Copy, Default)]
pub struct NullLogger;

impl TrafficLogger for NullLogger {}

/// Writes traffic at `trace` level and messages at their level through the
/// `log` crate; the default logger.
#[derive(Debug, Clone, Copy, Default)]
pub struct LogLogger;

const TARGET: &str = "msgwire::msrp::traffic";

impl TrafficLogger for LogLogger {
    fn received_new_chunk(&self, connection: &str, head: &Head<'_>) {
        log::trace!(target: TARGET, "{connection} <<< {}", head.raw().trim_end());
    }
    fn received_chunk_data(&self, connection: &str, transaction_id: &str, data: &[u8]) {
        log::trace!(target: TARGET, "{connection} <<< {transaction_id}: {} body bytes", data.len());
    }
    fn received_chunk_end(&self, connection: &str, transaction_id: &str, end_line: &[u8]) {
        log::trace!(target: TARGET, "{connection} <<< {transaction_id} end {}", String::from_utf8_lossy(end_line).trim());
    }
    fn sent_new_chunk(&self, connection: &str, _transaction_id: &str, head: &[u8]) {
        log::trace!(target: TARGET, "{connection} >>> {}", String::from_utf8_lossy(head).trim_end());
    }
    fn sent_chunk_data(&self, connection: &str, transaction_id: &str, data: &[u8]) {
        log::trace!(target: TARGET, "{connection} >>> {transaction_id}: {} body bytes", data.len());
    }
    fn sent_chunk_end(&self, connection: &str, transaction_id: &str, end_line: &[u8]) {
        log::trace!(target: TARGET, "{connection} >>> {transaction_id} end {}", String::from_utf8_lossy(end_line).trim());
    }
    fn message(&self, level: Level, text: &str) {
        let level = match level {
            Level::Debug => log::Level::Debug,
            Level::Info => log::Level::Info,
            Level::Warn => log::Level::Warn,
            Level::Error | Level::Fatal => log::Level::Error,
        };
        log::log!(target: "msgwire::msrp", level, "{text}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::msrp::{Event, Parser};
    use std::sync::Mutex;

    /// Records calls, overriding only two methods.
    #[derive(Default)]
    struct Recorder(Mutex<Vec<String>>);

    impl TrafficLogger for Recorder {
        fn received_new_chunk(&self, connection: &str, head: &Head<'_>) {
            self.0
                .lock()
                .unwrap()
                .push(format!("{connection} {}", head.transaction_id()));
        }
        fn message(&self, level: Level, text: &str) {
            self.0.lock().unwrap().push(format!("{level:?} {text}"));
        }
    }

    #[test]
    fn defaults_ignore_and_overrides_receive() {
        let rec = Recorder::default();
        let mut p = Parser::new();
        let (_, ev) = p.parse(b"MSRP abcd SEND\r\nTo-Path: msrp://a:1/b;tcp\r\n\r\n");
        let Ok(Some(Event::Start(head))) = ev else {
            panic!()
        };
        let loggers: [&dyn TrafficLogger; 3] = [&rec, &NullLogger, &LogLogger];
        for l in loggers {
            l.received_new_chunk("c1", &head);
            l.received_chunk_data("c1", "abcd", b"xy");
            l.sent_chunk_end("c1", "abcd", b"-------abcd$");
            l.message(Level::Warn, "careful");
        }
        assert_eq!(*rec.0.lock().unwrap(), ["c1 abcd", "Warn careful"]);
        assert!(Level::Debug < Level::Fatal);
    }
}
