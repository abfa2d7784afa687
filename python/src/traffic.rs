//! The bridge from the core's traffic logger to a Python `msrplib` logger.
//!
//! A session started with a traffic logger reports every chunk that goes
//! over its connection, including those the core sends and consumes by
//! itself (automatic 200s and success REPORTs, keep-alives, 400/415/481/501
//! answers) that never pass through Python. The core reports chunks in
//! pieces (head, body slices, end-line); this bridge puts each chunk back
//! together and hands it to the logger as one `MSRPData`, the way the
//! legacy transport did: `logger.received_chunk(chunk, transport)` and
//! `logger.sent_chunk(chunk, transport)`, where `logger` is the
//! transport's `logger` attribute at that moment (so replacing it, or
//! turning its `log_traffic` off, takes effect at once). Diagnostics go to
//! the logger's `debug`/`info`/`warn`/`error`/`fatal`.
//!
//! Logging the traffic is a debugging aid and costs what it costs: the
//! bridge takes the GIL once per chunk, on the thread that received or
//! sent it. At most [`KEEP`] bytes of a body are kept for the report (the
//! rest is left out, and the reported chunk is that much shorter). A
//! logger that raises is noted on the `msrplib` logging logger (see
//! `msrplib.trafficlog._report`) and never disturbs the session; nothing
//! is reported once Python is exiting.

use std::sync::Mutex;

use msgwire_core::msrp::trafficlog::{Level, TrafficLogger};
use msgwire_core::msrp::{parse_chunk, Head};
use pyo3::prelude::*;

use crate::chunk::chunk_object;
use crate::endpoint::lock;
use crate::session::attach;

/// Most body bytes of one chunk kept for its report.
const KEEP: usize = 64 * 1024;

/// One direction's chunk being put back together.
#[derive(Default)]
struct Pending {
    wire: Vec<u8>,
    /// The head opened a body: a CRLF precedes the end-line on the wire.
    has_body: bool,
    kept: usize,
}

/// A core [`TrafficLogger`] that reports whole chunks to a Python logger.
pub(crate) struct PyTraffic {
    transport: Py<PyAny>,
    received: Mutex<Pending>,
    sent: Mutex<Pending>,
}

impl PyTraffic {
    pub(crate) fn new(transport: Py<PyAny>) -> Self {
        PyTraffic {
            transport,
            received: Mutex::new(Pending::default()),
            sent: Mutex::new(Pending::default()),
        }
    }

    fn report(&self, method: &str, wire: &[u8]) {
        let Ok(chunk) = parse_chunk(wire) else {
            return;
        };
        attach(|py| {
            let result = (|| -> PyResult<()> {
                let chunk = chunk_object(py, chunk)?;
                let trafficlog = py.import("msrplib.trafficlog")?;
                trafficlog.getattr("_report_transport")?.call1((
                    self.transport.bind(py),
                    method,
                    chunk,
                ))?;
                Ok(())
            })();
            if let Err(e) = result {
                e.write_unraisable(py, None);
            }
        });
    }

    /// `logger.<name>(text)`, or its `logging` spelling (`warning`,
    /// `critical`) when the legacy one is missing.
    fn message_hook(&self, name: &str, text: &str) {
        attach(|py| {
            let Ok(logger) = self.transport.bind(py).getattr("logger") else {
                return;
            };
            if logger.is_none() {
                return;
            }
            let hook = logger.getattr(name).or_else(|_| {
                logger.getattr(match name {
                    "warn" => "warning",
                    "fatal" => "critical",
                    other => other,
                })
            });
            if let Ok(hook) = hook {
                // A failing logger never disturbs the session.
                let _ = hook.call1((text,));
            }
        });
    }
}

fn append_data(p: &mut Pending, data: &[u8]) {
    let room = KEEP.saturating_sub(p.kept);
    let take = room.min(data.len());
    p.wire.extend_from_slice(&data[..take]);
    p.kept += take;
}

impl TrafficLogger for PyTraffic {
    fn received_new_chunk(&self, _connection: &str, head: &Head<'_>) {
        let mut p = lock(&self.received);
        p.wire.clear();
        p.kept = 0;
        p.wire.extend_from_slice(head.raw().as_bytes());
        p.has_body = head.raw().ends_with("\r\n\r\n");
    }

    fn received_chunk_data(&self, _connection: &str, _transaction_id: &str, data: &[u8]) {
        append_data(&mut lock(&self.received), data);
    }

    fn received_chunk_end(&self, _connection: &str, _transaction_id: &str, end_line: &[u8]) {
        let wire = {
            let mut p = lock(&self.received);
            if p.has_body {
                p.wire.extend_from_slice(b"\r\n");
            }
            p.wire.extend_from_slice(end_line);
            p.wire.extend_from_slice(b"\r\n");
            std::mem::take(&mut p.wire)
        };
        self.report("received_chunk", &wire);
    }

    fn sent_new_chunk(&self, _connection: &str, _transaction_id: &str, head: &[u8]) {
        let mut p = lock(&self.sent);
        p.wire.clear();
        p.kept = 0;
        p.wire.extend_from_slice(head);
    }

    fn sent_chunk_data(&self, _connection: &str, _transaction_id: &str, data: &[u8]) {
        append_data(&mut lock(&self.sent), data);
    }

    fn sent_chunk_end(&self, _connection: &str, _transaction_id: &str, end_line: &[u8]) {
        let wire = {
            let mut p = lock(&self.sent);
            // The end as written: CRLF (after a body), end-line, CRLF.
            p.wire.extend_from_slice(end_line);
            std::mem::take(&mut p.wire)
        };
        self.report("sent_chunk", &wire);
    }

    fn message(&self, level: Level, text: &str) {
        let name = match level {
            Level::Debug => "debug",
            Level::Info => "info",
            Level::Warn => "warn",
            Level::Error => "error",
            Level::Fatal => "fatal",
        };
        self.message_hook(name, text);
    }
}
