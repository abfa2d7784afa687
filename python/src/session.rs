//! `Session`: a bound session driven by the core's threads, with its
//! Python callbacks run by one dispatcher thread of its own.
//!
//! # Why a dispatcher thread
//!
//! The core calls the session's event callback and the per-request
//! response callbacks on its reader and timer threads, one event at a time.
//! Taking the GIL there for every event makes three threads per session
//! pair (the application's and two readers) hand the GIL back and forth
//! for every message, and each hand-off costs far more than the callback.
//! So the closures given to the core only queue the event ([`Item`]); one
//! thread per session waits for the queue, takes everything in it and runs
//! the whole batch under a single GIL acquisition, in the order the core
//! produced the events. Under load a batch holds many events, so the GIL
//! changes hands once per batch instead of once per message.
//!
//! Two details keep the batches large. While events keep coming, the
//! dispatcher lets a batch as large as the previous one gather before it
//! asks for the GIL ([`GATHER_TIME`]): the application thread releases the
//! GIL in every `send_chunk` (the core may block there on a full queue),
//! and a dispatcher already waiting for the GIL would take it each time.
//! And the dispatcher keeps its Python thread state between batches
//! ([`ThreadState`]).
//!
//! # Rules kept
//!
//! * Order: the core delivers events (session events and per-request
//!   outcomes interleaved) in session order from one thread at a time; the
//!   queue is FIFO and has one consumer, so Python sees the same order.
//!   `Closed` is the last event; after it the dispatcher drops the session
//!   callback (which usually owns the Python session object) and exits.
//! * Back-pressure: the queue holds at most [`MAX_ITEMS`] events or
//!   [`MAX_BYTES`] of chunk bodies; a core thread that finds it full waits
//!   (without the GIL) until the dispatcher takes the batch, so a peer that
//!   sends faster than Python handles is slowed down by TCP as before
//!   (when callbacks ran on the reader thread). The dispatcher thread
//!   itself never waits there, and nothing waits once the session is gone.
//! * A callback that raises is reported through `sys.unraisablehook` (the
//!   thread has no caller to hand it to); the next events are delivered.
//! * Interpreter shutdown: an `atexit` hook ([`stop_callbacks`]) stops
//!   every dispatcher before Python finalizes: it waits (at most
//!   [`EXIT_GRACE`]) for the callbacks running at that moment to return,
//!   and from then on events are dropped instead of delivered. A thread
//!   that wanted the GIL while Python finalizes would be ended by CPython in
//!   a way Rust frames cannot survive (the process aborts); this keeps
//!   every dispatcher away from the GIL by then (see `python/README.md`).
//! * No thread outlives the session: `shutdown(wait=True)` returns after
//!   the dispatcher has delivered `Closed` and exited, and dropping the
//!   session joins it (both with the GIL released). Called on the
//!   dispatcher thread itself (from a callback), neither waits for it; the
//!   thread then ends as soon as that callback returns and the queue is
//!   empty.
//! * The GIL is released only around calls that can block: waiting for a
//!   response, a full send queue, shutting down, joining the dispatcher.

use std::collections::{HashMap, VecDeque};
use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, OnceLock};
use std::thread::{self, JoinHandle, ThreadId};
use std::time::{Duration, Instant};

use msgwire_core::msrp::endpoint::{
    BoundTransport, EndpointEvent, MsrpSession, SessionState, TransactionOutcome, TransferUpdate,
};
use msgwire_core::msrp::session::{SessionConfig, SessionEvent, SharedLogger};
use msgwire_core::msrp::transfer::{
    AbortReason, BodySource, Delivery, MessageHead, MessageSink, OutgoingMessage, SinkFactory,
    TransferId,
};
use pyo3::exceptions::{PyRuntimeError, PyValueError};
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyTuple};

use crate::chunk::{chunk_object, ChunkIn};
use crate::endpoint::{lock, path_parts, seconds, PathParts, PyBoundTransport};
use crate::errors::{CoreError, LocalResponse};
use crate::traffic::PyTraffic;

/// Most events queued for the dispatcher before the core threads wait.
const MAX_ITEMS: usize = 4096;
/// Most bytes of chunk bodies queued for the dispatcher before the core
/// threads wait (a single larger chunk is still queued alone).
const MAX_BYTES: usize = 16 << 20;

/// Events keep coming when the next one arrives within this time after a
/// batch was delivered.
const STREAMING: Duration = Duration::from_millis(1);
/// While events keep coming, the dispatcher lets a batch as large as the
/// last one (at most [`GATHER_ITEMS`]) gather before it asks for the GIL,
/// waiting at most [`GATHER_TIME`] for it. Without this, a steady stream
/// wakes the dispatcher for each event, and every wake takes the GIL from
/// the application thread the moment it releases it in a native call
/// (which then waits to get it back): one GIL hand-off per event instead
/// of per batch. An event after a quiet spell is delivered at once; a
/// stream that slows down waits at most `GATHER_TIME` once, then the
/// target follows the smaller batches.
const GATHER_TIME: Duration = Duration::from_millis(1);
const GATHER_ITEMS: usize = 64;

/// Set by [`stop_callbacks`] when Python is about to finalize.
static EXITING: AtomicBool = AtomicBool::new(false);
/// Dispatchers attached or about to attach, and its condition variable.
static ACTIVE: Mutex<usize> = Mutex::new(0);
static IDLE: Condvar = Condvar::new();
/// How long [`stop_callbacks`] waits for running callbacks to return.
const EXIT_GRACE: Duration = Duration::from_secs(5);

/// `Python::try_attach` for a dispatcher thread, unless Python is exiting
/// (`None` then, as when it is finalizing). Counts the thread as active
/// from before it asks for the GIL, so that [`stop_callbacks`] either sees
/// it or it sees `EXITING`.
pub(crate) fn attach<R>(f: impl FnOnce(Python<'_>) -> R) -> Option<R> {
    *lock(&ACTIVE) += 1;
    let result = if EXITING.load(Ordering::SeqCst) {
        None
    } else {
        Python::try_attach(f)
    };
    let mut active = lock(&ACTIVE);
    *active -= 1;
    if *active == 0 {
        IDLE.notify_all();
    }
    result
}

/// Registered with `atexit` when the module loads: stops every
/// dispatcher's callbacks before the interpreter finalizes. Waits (without
/// the GIL, at most [`EXIT_GRACE`]) for the callbacks running now to
/// return; events queued after that are dropped. Sessions shut down before
/// exit have delivered everything already.
#[pyfunction]
pub(crate) fn stop_callbacks(py: Python<'_>) {
    EXITING.store(true, Ordering::SeqCst);
    py.detach(|| {
        let deadline = Instant::now() + EXIT_GRACE;
        let mut active = lock(&ACTIVE);
        while *active > 0 {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            active = IDLE
                .wait_timeout(active, left)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    });
}

/// One thing for the dispatcher to deliver.
enum Item {
    /// An event for the session callback.
    Event(EndpointEvent),
    /// The outcome of a request sent with its own callback.
    Outcome(Py<PyAny>, TransactionOutcome),
    /// Progress or outcome of a message sent with `send_message`.
    Transfer(Arc<Py<PyAny>>, TransferUpdate),
}

impl Item {
    fn body_len(&self) -> usize {
        match self {
            Item::Event(EndpointEvent::Session(SessionEvent::Incoming(chunk))) => chunk.data.len(),
            Item::Event(EndpointEvent::Session(SessionEvent::Response { response, .. })) => {
                response.data.len()
            }
            Item::Outcome(_, outcome) => outcome.response.data.len(),
            Item::Event(_) | Item::Transfer(..) => 0,
        }
    }
}

#[derive(Default)]
struct Queue {
    items: VecDeque<Item>,
    /// Body bytes in `items`.
    bytes: usize,
    /// No more items will come (the session was dropped): deliver what is
    /// left, then exit.
    closed: bool,
    /// The dispatcher has exited.
    finished: bool,
    /// Whether the dispatcher waits on `ready`, and how many threads wait
    /// on `room`: a condition variable is only signalled when someone waits
    /// (signalling costs a system call even when nobody does).
    dispatcher_waiting: bool,
    pushers_waiting: usize,
    /// Whether the dispatcher lets a batch of `gather` events gather (see
    /// `wait_ready`).
    dispatcher_gathering: bool,
    gather: usize,
}

/// The queue between the core's threads and the dispatcher thread.
#[derive(Default)]
struct Dispatch {
    queue: Mutex<Queue>,
    /// Signalled when the dispatcher waits and the queue gets an item or is
    /// closed.
    ready: Condvar,
    /// Signalled when pushers wait and the dispatcher has emptied the
    /// queue, or it is closed.
    room: Condvar,
    /// Signalled when the dispatcher has exited.
    done: Condvar,
    /// The dispatcher thread, once started.
    thread: OnceLock<ThreadId>,
}

impl Dispatch {
    fn on_dispatcher(&self) -> bool {
        self.thread.get() == Some(&thread::current().id())
    }

    /// Queues `item` (called by the core's threads, never with the GIL).
    fn push(&self, item: Item) {
        let len = item.body_len();
        let mut q = lock(&self.queue);
        if !self.on_dispatcher() {
            while !q.closed
                && !q.items.is_empty()
                && (q.items.len() >= MAX_ITEMS || q.bytes >= MAX_BYTES)
            {
                q.pushers_waiting += 1;
                q = self.room.wait(q).unwrap_or_else(|e| e.into_inner());
                q.pushers_waiting -= 1;
            }
        }
        if q.closed {
            // The session is gone; so is whoever would have received this.
            // (A Python object dropped here without the GIL is released by
            // pyo3 the next time some thread attaches.)
            return;
        }
        q.items.push_back(item);
        q.bytes += len;
        // One signal per wait: the flags are cleared here, not when the
        // dispatcher gets to run.
        let wake = std::mem::take(&mut q.dispatcher_waiting)
            || (q.items.len() >= q.gather && std::mem::take(&mut q.dispatcher_gathering));
        drop(q);
        if wake {
            self.ready.notify_one();
        }
    }

    /// Lets the dispatcher finish what is queued and exit; later pushes are
    /// dropped.
    fn close(&self) {
        lock(&self.queue).closed = true;
        self.ready.notify_one();
        self.room.notify_all();
    }

    /// Waits until the dispatcher has exited. Call without the GIL, and not
    /// on the dispatcher thread.
    fn wait_finished(&self) {
        let mut q = lock(&self.queue);
        while !q.finished {
            q = self.done.wait(q).unwrap_or_else(|e| e.into_inner());
        }
    }

    /// Waits (without the GIL) until there is something to deliver;
    /// `false` once the queue is closed and empty. With a `gather` target
    /// above 1 (events keep coming), lets a batch gather first: until that
    /// many events are queued, or [`GATHER_TIME`] has passed.
    fn wait_ready(&self, gather: usize) -> bool {
        let mut q = lock(&self.queue);
        while q.items.is_empty() && !q.closed {
            q.dispatcher_waiting = true;
            q = self.ready.wait(q).unwrap_or_else(|e| e.into_inner());
        }
        q.dispatcher_waiting = false;
        if gather > q.items.len() {
            q.gather = gather;
            let deadline = Instant::now() + GATHER_TIME;
            while q.items.len() < gather && !q.closed {
                let left = deadline.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    break;
                }
                q.dispatcher_gathering = true;
                q = self
                    .ready
                    .wait_timeout(q, left)
                    .unwrap_or_else(|e| e.into_inner())
                    .0;
            }
            q.dispatcher_gathering = false;
        }
        !q.items.is_empty()
    }

    /// Takes everything queued.
    fn take(&self) -> VecDeque<Item> {
        let (batch, wake) = {
            let mut q = lock(&self.queue);
            q.bytes = 0;
            (std::mem::take(&mut q.items), q.pushers_waiting > 0)
        };
        if wake {
            self.room.notify_all();
        }
        batch
    }

    /// The dispatcher thread's body.
    fn run(&self, callback: Py<PyAny>) {
        let mut callback = Some(callback);
        let mut thread_state = ThreadState(None);
        let mut python_gone = false;
        // When the last batch ended and how many events it started with.
        let mut last_batch: Option<(Instant, usize)> = None;
        loop {
            let gather = match last_batch {
                Some((ended, size)) if ended.elapsed() < STREAMING => size.min(GATHER_ITEMS),
                _ => 1,
            };
            if !self.wait_ready(gather) {
                break;
            }
            if python_gone {
                // Interpreter shutdown: nothing is delivered any more.
                if is_closed(&self.take()) {
                    break;
                }
                continue;
            }
            // The GIL first, then the batch: whatever arrived while waiting
            // for it comes along. Go on while more keeps arriving (Python
            // itself hands the GIL to a waiting thread now and then, in the
            // middle of a callback).
            let mut size = 0;
            let delivered = attach(|py| {
                thread_state.keep(py);
                loop {
                    let mut batch = self.take();
                    if batch.is_empty() {
                        return Delivered::All;
                    }
                    if size == 0 {
                        size = batch.len();
                    }
                    let result = deliver(py, &mut batch, &mut callback);
                    if result != Delivered::All {
                        return result;
                    }
                }
            });
            last_batch = Some((Instant::now(), size));
            match delivered {
                Some(Delivered::Closed) => break,
                Some(Delivered::All) => {}
                Some(Delivered::Exiting) | None => python_gone = true,
            }
        }
        // Drop the callback with the GIL while there still is an
        // interpreter (else pyo3 defers the release).
        if callback.is_some() {
            let _ = attach(|_| drop(callback.take()));
        }
        thread_state.release();
        let mut q = lock(&self.queue);
        q.finished = true;
        q.closed = true;
        // Anything pushed meanwhile has no receiver any more.
        q.items.clear();
        drop(q);
        self.done.notify_all();
        self.room.notify_all();
    }
}

fn is_closed(batch: &VecDeque<Item>) -> bool {
    batch
        .iter()
        .any(|item| matches!(item, Item::Event(EndpointEvent::Closed(_))))
}

/// Keeps the dispatcher thread's Python thread state from one batch to
/// the next. Attaching a thread without one creates it (allocating its
/// frame stack) and detaching deletes it again (unmapping the stack, which
/// interrupts every core to flush its TLB): per batch, that cost more than
/// the callbacks. One extra `PyGILState_Ensure`, taken while attached,
/// keeps it; [`release`](Self::release) gives it back at the end.
struct ThreadState(Option<pyo3::ffi::PyGILState_STATE>);

impl ThreadState {
    /// Call while attached.
    fn keep(&mut self, _py: Python<'_>) {
        if self.0.is_none() {
            // SAFETY: the thread is attached, so this only counts up.
            self.0 = Some(unsafe { pyo3::ffi::PyGILState_Ensure() });
        }
    }

    /// Lets the thread state go (unless the interpreter is shutting down:
    /// then it is no longer touched at all).
    fn release(&mut self) {
        if let Some(state) = self.0.take() {
            // SAFETY: pairs with the `PyGILState_Ensure` in `keep`, on the
            // same thread, while attached.
            let _ = attach(|_| unsafe { pyo3::ffi::PyGILState_Release(state) });
        }
    }
}

impl Drop for ThreadState {
    fn drop(&mut self) {
        self.release();
    }
}

thread_local! {
    /// The thread state [`keep_thread_state`] keeps, given back when the
    /// thread ends.
    static KEPT: std::cell::RefCell<ThreadState> =
        const { std::cell::RefCell::new(ThreadState(None)) };
}

/// Keeps the calling thread's Python thread state until the thread ends
/// (see [`ThreadState`]), for core threads that call into Python once per
/// message: a connection's reader thread running STS server handlers.
/// Call while attached.
pub(crate) fn keep_thread_state(py: Python<'_>) {
    let _ = KEPT.try_with(|kept| {
        if let Ok(mut kept) = kept.try_borrow_mut() {
            kept.keep(py);
        }
    });
}

/// How far [`deliver`] got.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Delivered {
    /// The whole batch.
    All,
    /// Up to `Closed`: the session callback is dropped, the thread ends.
    Closed,
    /// Python is exiting: the rest is dropped.
    Exiting,
}

/// Runs one batch, stopping early when Python is about to exit.
fn deliver(
    py: Python<'_>,
    batch: &mut VecDeque<Item>,
    callback: &mut Option<Py<PyAny>>,
) -> Delivered {
    while let Some(item) = batch.pop_front() {
        if EXITING.load(Ordering::Relaxed) {
            batch.clear();
            return Delivered::Exiting;
        }
        match item {
            Item::Outcome(cb, outcome) => {
                call(py, &cb, |py| {
                    PyTuple::new(py, [outcome_object(py, outcome)?])
                });
            }
            Item::Transfer(cb, update) => {
                call(py, &cb, |py| transfer_args(py, update));
            }
            Item::Event(event) => {
                let last = matches!(event, EndpointEvent::Closed(_));
                if let Some(cb) = callback.as_ref() {
                    call(py, cb, |py| event_args(py, event));
                }
                if last {
                    // Release whatever the callback holds (usually the
                    // Python session) before the thread ends.
                    *callback = None;
                    batch.clear();
                    return Delivered::Closed;
                }
            }
        }
    }
    Delivered::All
}

/// Calls `callback` with the arguments `make_args` builds. An exception is
/// reported as unraisable.
fn call<F>(py: Python<'_>, callback: &Py<PyAny>, make_args: F)
where
    F: for<'py> FnOnce(Python<'py>) -> PyResult<Bound<'py, PyTuple>>,
{
    let result = make_args(py).and_then(|args| callback.call1(py, args));
    if let Err(e) = result {
        e.write_unraisable(py, Some(callback.bind(py)));
    }
}

/// What a per-request callback receives: the response as an `MSRPData`,
/// or for a response made up locally (a 408, or 200 for `Failure-Report:
/// partial`) a `msrplib.session.LocalResponse(comment, code)`.
fn outcome_object(py: Python<'_>, outcome: TransactionOutcome) -> PyResult<Bound<'_, PyAny>> {
    if outcome.local {
        let code = outcome.response.code();
        let comment = outcome.response.comment();
        return py.get_type::<LocalResponse>().call1((comment, code));
    }
    chunk_object(py, outcome.response)
}

/// The session callback's arguments `(kind, a, b)`.
fn event_args<'py>(py: Python<'py>, event: EndpointEvent) -> PyResult<Bound<'py, PyTuple>> {
    let none = py.None().into_bound(py);
    let (kind, a, b) = match event {
        EndpointEvent::Session(SessionEvent::Incoming(chunk)) => {
            (intern!(py, "incoming"), chunk_object(py, chunk)?, none)
        }
        EndpointEvent::Session(SessionEvent::Response {
            response, local, ..
        }) => (
            intern!(py, "response"),
            chunk_object(py, response)?,
            local.into_pyobject(py)?.to_owned().into_any(),
        ),
        EndpointEvent::Session(SessionEvent::ProtocolError(e)) => (
            intern!(py, "protocol_error"),
            e.to_string().into_pyobject(py)?.into_any(),
            none,
        ),
        EndpointEvent::Session(SessionEvent::KeepaliveTimeout) => {
            (intern!(py, "keepalive_timeout"), none.clone(), none)
        }
        EndpointEvent::Closed(error) => (
            intern!(py, "closed"),
            match error {
                Some(e) => e.to_string().into_pyobject(py)?.into_any(),
                None => none.clone(),
            },
            none,
        ),
        EndpointEvent::MessageStored {
            message_id,
            content_type,
            size,
            head,
        } => (
            intern!(py, "stored"),
            chunk_object(py, head)?,
            (message_id, content_type, size)
                .into_pyobject(py)?
                .into_any(),
        ),
        EndpointEvent::MessageAborted { message_id, reason } => (
            intern!(py, "aborted"),
            message_id.into_pyobject(py)?.into_any(),
            abort_reason(&reason).into_pyobject(py)?.into_any(),
        ),
        _ => (intern!(py, "other"), none.clone(), none),
    };
    PyTuple::new(py, [kind.clone().into_any(), a, b])
}

/// `MessageAborted`'s reason as text: `'sender'`, `'too_large'`,
/// `'storage: <error>'`, `'invalid'`, `'closed'` or `'crowded'`.
fn abort_reason(reason: &AbortReason) -> String {
    match reason {
        AbortReason::Sender => "sender".into(),
        AbortReason::TooLarge => "too_large".into(),
        AbortReason::Storage(text) => format!("storage: {text}"),
        AbortReason::Invalid => "invalid".into(),
        AbortReason::Closed => "closed".into(),
        AbortReason::Crowded => "crowded".into(),
        _ => "other".into(),
    }
}

/// A transfer callback's arguments `(kind, a, b, c)`: `('progress',
/// acknowledged, total or None, None)`, `('completed', None, None, None)`
/// or `('failed', code, comment, local)`.
fn transfer_args(py: Python<'_>, update: TransferUpdate) -> PyResult<Bound<'_, PyTuple>> {
    let none = || py.None().into_bound(py);
    let items = match update {
        TransferUpdate::Progress {
            acknowledged,
            total,
        } => [
            intern!(py, "progress").clone().into_any(),
            acknowledged.into_pyobject(py)?.into_any(),
            total.into_pyobject(py)?.into_any(),
            none(),
        ],
        TransferUpdate::Failed {
            code,
            comment,
            local,
        } => [
            intern!(py, "failed").clone().into_any(),
            code.into_pyobject(py)?.into_any(),
            comment.into_pyobject(py)?.into_any(),
            local.into_pyobject(py)?.to_owned().into_any(),
        ],
        _ => [
            intern!(py, "completed").clone().into_any(),
            none(),
            none(),
            none(),
        ],
    };
    PyTuple::new(py, items)
}

/// An I/O error carrying a Python exception's text.
fn py_io_error(py: Python<'_>, e: PyErr) -> io::Error {
    io::Error::other(e.value(py).to_string())
}

/// The error a native body source or sink reports when Python is exiting.
fn python_gone() -> io::Error {
    io::Error::other("the Python interpreter is exiting")
}

/// A message body read from a regular file through a duplicate of its
/// descriptor, with positional reads (`pread`): the Python file object's
/// own offset and buffer are never touched, and no GIL is needed.
#[cfg(unix)]
struct FdSource {
    file: std::fs::File,
    offset: u64,
}

#[cfg(unix)]
impl BodySource for FdSource {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        use std::os::unix::fs::FileExt;
        let n = self.file.read_at(buf, self.offset)?;
        self.offset += n as u64;
        Ok(n)
    }
}

/// A message body read through a Python object's `read(n)`, with the GIL
/// (on the core's pump thread).
struct PySource(Py<PyAny>);

impl BodySource for PySource {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        attach(|py| {
            let data = self
                .0
                .call_method1(py, intern!(py, "read"), (buf.len(),))
                .map_err(|e| py_io_error(py, e))?;
            let data = data.bind(py);
            if data.is_none() {
                // A non-blocking stream without data: not supported.
                return Err(io::Error::from(io::ErrorKind::WouldBlock));
            }
            let data = data.cast::<PyBytes>().map_err(|_| {
                io::Error::new(io::ErrorKind::InvalidData, "read() must return bytes")
            })?;
            let data = data.as_bytes();
            if data.len() > buf.len() {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    "read(n) returned more than n bytes",
                ));
            }
            buf[..data.len()].copy_from_slice(data);
            Ok(data.len())
        })
        .unwrap_or_else(|| Err(python_gone()))
    }
}

/// An incoming message body written through a Python file object
/// (`seek`/`write`, `flush` and `close` when finished, `close` when
/// aborted), with the GIL, on the core's reader thread.
struct PySink {
    file: Py<PyAny>,
    /// Where the file stands (after our last write).
    at: Option<u64>,
}

impl MessageSink for PySink {
    fn write_at(&mut self, offset: u64, data: &[u8]) -> io::Result<()> {
        attach(|py| -> PyResult<()> {
            let file = self.file.bind(py);
            if self.at != Some(offset) {
                file.call_method1(intern!(py, "seek"), (offset,))?;
            }
            self.at = None;
            let mut rest = data;
            while !rest.is_empty() {
                let written = file.call_method1(intern!(py, "write"), (PyBytes::new(py, rest),))?;
                // Raw files may write less; buffered ones return the length.
                let n = match written.extract::<Option<usize>>()? {
                    Some(n) if n > 0 && n <= rest.len() => n,
                    _ => rest.len(),
                };
                rest = &rest[n..];
            }
            self.at = Some(offset + data.len() as u64);
            Ok(())
        })
        .ok_or_else(python_gone)?
        .map_err(|e| attach(|py| py_io_error(py, e)).unwrap_or_else(python_gone))
    }

    fn finish(&mut self) -> io::Result<()> {
        close_file(&self.file, true)
    }

    fn abort(&mut self) {
        close_quietly(&self.file);
    }
}

/// Closes a Python file object at the end of a message (flushing it first
/// when it was written through), as an I/O error when that fails.
fn close_file(file: &Py<PyAny>, flush: bool) -> io::Result<()> {
    attach(|py| -> PyResult<()> {
        let file = file.bind(py);
        if flush {
            file.call_method0(intern!(py, "flush"))?;
        }
        file.call_method0(intern!(py, "close"))?;
        Ok(())
    })
    .ok_or_else(python_gone)?
    .map_err(|e| attach(|py| py_io_error(py, e)).unwrap_or_else(python_gone))
}

/// Closes a Python file object of an aborted message; a failure is only
/// reported through `sys.unraisablehook`.
fn close_quietly(file: &Py<PyAny>) {
    let _ = attach(|py| {
        if let Err(e) = file.call_method0(py, intern!(py, "close")) {
            e.write_unraisable(py, Some(file.bind(py)));
        }
    });
}

/// An incoming message body written to a regular file through a duplicate
/// of the Python file object's descriptor, with positional writes
/// (`pwrite`), without the GIL. The Python object is only closed at the
/// end (nothing was written through it, so it has nothing to flush).
#[cfg(unix)]
struct FdSink {
    file: std::fs::File,
    owner: Py<PyAny>,
}

#[cfg(unix)]
impl MessageSink for FdSink {
    fn write_at(&mut self, offset: u64, data: &[u8]) -> io::Result<()> {
        use std::os::unix::fs::FileExt;
        self.file.write_all_at(data, offset)
    }

    fn finish(&mut self) -> io::Result<()> {
        close_file(&self.owner, false)
    }

    fn abort(&mut self) {
        close_quietly(&self.owner);
    }
}

/// The native sink for a Python file object backed by a regular file
/// (`fileno()` works and names a regular file), or `None`.
#[cfg(unix)]
fn fd_sink(py: Python<'_>, file: &Py<PyAny>) -> Option<Box<dyn MessageSink>> {
    use std::os::fd::BorrowedFd;
    let fd: i32 = file
        .call_method0(py, intern!(py, "fileno"))
        .ok()?
        .extract(py)
        .ok()?;
    if fd < 0 {
        return None;
    }
    // Whatever the object buffered must reach the file before we write
    // around it (a new file object has nothing buffered).
    file.call_method0(py, intern!(py, "flush")).ok()?;
    // SAFETY: `fd` is the descriptor of the open file object `file`, which
    // we hold (with the GIL) during this call; it is only duplicated.
    let borrowed = unsafe { BorrowedFd::borrow_raw(fd) };
    let dup = std::fs::File::from(borrowed.try_clone_to_owned().ok()?);
    if !dup.metadata().ok()?.is_file() {
        return None;
    }
    Some(Box::new(FdSink {
        file: dup,
        owner: file.clone_ref(py),
    }))
}

/// The core's sink factory over the Python `file_sink(message_id,
/// content_type, total)`: a file object, or `None` for memory. A file
/// object over a regular file is written natively ([`FdSink`]); anything
/// else through its `seek`/`write` ([`PySink`]).
fn sink_factory(file_sink: Py<PyAny>) -> SinkFactory {
    SinkFactory::new(move |head: &MessageHead<'_>| {
        let made = attach(|py| -> PyResult<Option<Box<dyn MessageSink>>> {
            let file = file_sink.call1(py, (head.message_id, head.content_type, head.total))?;
            if file.is_none(py) {
                return Ok(None);
            }
            #[cfg(unix)]
            if let Some(sink) = fd_sink(py, &file) {
                return Ok(Some(sink));
            }
            Ok(Some(Box::new(PySink { file, at: None })))
        })
        .ok_or_else(python_gone)?
        .map_err(|e| attach(|py| py_io_error(py, e)).unwrap_or_else(python_gone))?;
        Ok(made)
    })
}

fn state_name(state: SessionState) -> &'static str {
    match state {
        SessionState::Connected => "CONNECTED",
        SessionState::Flushing => "FLUSHING",
        SessionState::Closing => "CLOSING",
        SessionState::Done => "DONE",
    }
}

/// Why `Session.start` could not take a transport.
enum NotTaken {
    MidChunk,
    Closed,
}

/// A bound session driven by the core's threads.
#[pyclass(name = "Session", module = "msgwire._native")]
pub(crate) struct PySession {
    /// `None` only while being dropped.
    inner: Option<MsrpSession>,
    dispatch: Arc<Dispatch>,
    dispatcher: Mutex<Option<JoinHandle<()>>>,
    /// Messages sent with `send_message` and not finished, by number.
    transfers: Arc<Mutex<HashMap<u64, TransferId>>>,
}

impl PySession {
    fn session(&self) -> &MsrpSession {
        self.inner.as_ref().expect("the session is alive")
    }

    /// Waits (call without the GIL) until the dispatcher has exited, unless
    /// this is the dispatcher thread.
    fn join_dispatcher(&self) {
        if self.dispatch.on_dispatcher() {
            return;
        }
        self.dispatch.wait_finished();
        if let Some(handle) = lock(&self.dispatcher).take() {
            let _ = handle.join();
        }
    }
}

impl Drop for PySession {
    fn drop(&mut self) {
        // Nothing blocks on a full queue from here on.
        self.dispatch.close();
        let inner = self.inner.take();
        let handle = lock(&self.dispatcher).take();
        // SAFETY: always safe to call. It returns 0 once the interpreter
        // has started finalizing.
        let finalizing = unsafe { pyo3::ffi::Py_IsInitialized() } == 0;
        if finalizing {
            // Threads of the session may be waiting for the GIL we hold
            // and may not take it any more (a Python file source on the
            // pump, a Python sink on the reader): joining them would hang
            // the exit. The process is ending; leave everything as it is.
            std::mem::forget(inner);
            std::mem::forget(handle);
            return;
        }
        // Not the dispatcher itself (the last reference dropped in a
        // callback: the thread ends when the callback returns).
        let join = !self.dispatch.on_dispatcher();
        let finish = move || {
            // Dropping the last handle of a live session aborts its
            // connection and joins the core's threads (which may need the
            // GIL to finish a Python read or write); no `closed` event
            // follows.
            drop(inner);
            if let (Some(handle), true) = (handle, join) {
                let _ = handle.join();
            }
        };
        // pyo3 drops a pyclass with the GIL held (also on the dispatcher,
        // inside a callback); the threads joined may need it.
        Python::attach(|py| py.detach(finish));
    }
}

#[pymethods]
impl PySession {
    /// Takes the connection over from `bound` and starts the session.
    /// `callback(kind, a, b)` receives, on the session's dispatcher thread
    /// and in order: `("incoming", chunk, None)`, `("response", chunk,
    /// local)` for requests sent without their own callback,
    /// `("protocol_error", message, None)`, `("keepalive_timeout", None,
    /// None)` and last `("closed", error message or None, None)`.
    /// `traffic`, when given, is the Python transport: every chunk sent
    /// and received is reported to its logger ([`crate::traffic`]).
    ///
    /// With `whole_messages`, incoming SENDs with a Message-ID are
    /// reassembled (`max_message_size` bytes at most, 16 MiB by default)
    /// and delivered as one `("incoming", chunk, None)`, or, when
    /// `file_sink(message_id, content_type, total)` returns a file object,
    /// written to it and reported as `("stored", head, (message_id,
    /// content_type, size))`; dropped messages are reported as
    /// `("aborted", message_id, reason)`.
    ///
    /// `send_window`: most bytes of `send_message` chunks written and not
    /// yet answered (0: no limit; default that of the core, 4 MiB).
    #[staticmethod]
    #[allow(clippy::too_many_arguments)]
    #[pyo3(signature = (bound, callback, accept_types, automatic_reports, response_timeout, keepalive_interval, traffic=None, whole_messages=false, max_message_size=None, file_sink=None, send_window=None))]
    fn start(
        py: Python<'_>,
        bound: &PyBoundTransport,
        callback: Py<PyAny>,
        accept_types: Vec<String>,
        automatic_reports: bool,
        response_timeout: f64,
        keepalive_interval: Option<f64>,
        traffic: Option<Py<PyAny>>,
        whole_messages: bool,
        max_message_size: Option<u64>,
        file_sink: Option<Py<PyAny>>,
        send_window: Option<u64>,
    ) -> PyResult<PySession> {
        let defaults = SessionConfig::default();
        let config = SessionConfig {
            delivery: if whole_messages {
                Delivery::Messages
            } else {
                Delivery::Chunks
            },
            max_message_size: max_message_size.unwrap_or(defaults.max_message_size),
            sink_factory: file_sink.map(sink_factory),
            send_window: send_window.unwrap_or(defaults.send_window),
            accept_types,
            automatic_reports,
            response_timeout: seconds(response_timeout, "RESPONSE_TIMEOUT")?,
            keepalive_interval: keepalive_interval
                .map(|s| seconds(s, "KEEPALIVE_INTERVAL"))
                .transpose()?,
            // The driver labels it with the connection's addresses.
            logger: traffic.map(|transport| SharedLogger {
                logger: Arc::new(PyTraffic::new(transport)),
                label: String::new(),
            }),
            ..defaults
        };
        let bound = py
            .detach(|| {
                let mut slot = lock(&bound.inner);
                // A transport in the middle of a segmented chunk stays
                // usable: the session refuses it before taking it.
                if slot.as_ref().is_some_and(BoundTransport::mid_chunk) {
                    return Err(NotTaken::MidChunk);
                }
                slot.take().ok_or(NotTaken::Closed)
            })
            .map_err(|e| match e {
                NotTaken::MidChunk => PyErr::from(CoreError::from(
                    msgwire_core::msrp::endpoint::Error::MidChunk,
                )),
                NotTaken::Closed => {
                    PyRuntimeError::new_err("the transport is closed or already used by a session")
                }
            })?;
        let dispatch = Arc::new(Dispatch::default());
        let on_event = {
            let dispatch = dispatch.clone();
            move |event: EndpointEvent| dispatch.push(Item::Event(event))
        };
        // Events due at once (data that came with the bind) are queued
        // before the dispatcher exists; it delivers them first.
        let inner = py
            .detach(move || MsrpSession::start(bound, config, on_event))
            .map_err(CoreError::from)?;
        let handle = {
            let dispatch = dispatch.clone();
            thread::Builder::new()
                .name("msgwire-py-dispatch".into())
                .spawn(move || {
                    let _ = dispatch.thread.set(thread::current().id());
                    dispatch.run(callback)
                })
        };
        let handle = match handle {
            Ok(h) => {
                let _ = dispatch.thread.set(h.thread().id());
                h
            }
            Err(e) => {
                // No dispatcher, no session: abort the connection.
                dispatch.close();
                py.detach(move || drop(inner));
                return Err(e.into());
            }
        };
        Ok(PySession {
            inner: Some(inner),
            dispatch,
            dispatcher: Mutex::new(Some(handle)),
            transfers: Arc::default(),
        })
    }

    /// `(local_uri, local_path, remote_path, remote_uri)` as URI parts.
    fn paths(&self) -> PathParts {
        path_parts(self.session().paths())
    }

    /// `'CONNECTED'`, `'FLUSHING'`, `'CLOSING'` or `'DONE'`.
    #[getter]
    fn state(&self, py: Python<'_>) -> &'static str {
        // Without the GIL: a core thread may hold the session's lock while
        // it waits for the GIL (a Python body source or file sink).
        let session = self.session();
        state_name(py.detach(|| session.state()))
    }

    /// Queues a message to be sent in chunks and returns its number at
    /// once. The body is read from `fd` (a regular file's descriptor,
    /// duplicated here and read with `pread` from `offset`, without the
    /// GIL; on Unix, ignored elsewhere) or else through `source.read(n)` (with the GIL, on the core's
    /// pump thread). `headers` are `(name, value)` pairs sent with every
    /// chunk. `callback(kind, a, b, c)`, if given, receives `('progress',
    /// acknowledged, total, None)`, then `('completed', None, None, None)`
    /// or `('failed', code, comment, local)`, on the dispatcher thread.
    #[allow(clippy::too_many_arguments)]
    #[pyo3(signature = (source, size, headers, message_id=None, position=0, fd=None, offset=0, callback=None))]
    fn send_message(
        &self,
        py: Python<'_>,
        source: Py<PyAny>,
        size: Option<u64>,
        headers: Vec<(String, String)>,
        message_id: Option<String>,
        position: u64,
        fd: Option<i32>,
        offset: u64,
        callback: Option<Py<PyAny>>,
    ) -> PyResult<u64> {
        #[cfg(not(unix))]
        let _ = (fd, offset);
        let mut message = match fd {
            #[cfg(unix)]
            Some(fd) => {
                use std::os::fd::BorrowedFd;
                if fd < 0 {
                    return Err(PyValueError::new_err("bad file descriptor"));
                }
                // SAFETY: `fd` is the descriptor of the caller's open file
                // object, which stays open for this call (the caller holds
                // it and the GIL); it is only duplicated here.
                let borrowed = unsafe { BorrowedFd::borrow_raw(fd) };
                let file = std::fs::File::from(borrowed.try_clone_to_owned()?);
                OutgoingMessage::new(FdSource { file, offset }, size)
            }
            // Elsewhere, the file object's own `read`.
            _ => OutgoingMessage::new(PySource(source), size),
        };
        for (name, value) in &headers {
            message = message.header(name, value);
        }
        if let Some(id) = &message_id {
            message = message.message_id(id);
        }
        message = message.position(position);
        let transfers = self.transfers.clone();
        let dispatch = self.dispatch.clone();
        let callback = callback.map(Arc::new);
        // The entry in `transfers` goes when the last update comes; that
        // may happen before `send_message` returns.
        let number = Arc::new(OnceLock::<u64>::new());
        let finished = Arc::new(AtomicBool::new(false));
        let on_update = {
            let number = number.clone();
            let finished = finished.clone();
            let transfers = transfers.clone();
            move |update: TransferUpdate| {
                if !matches!(update, TransferUpdate::Progress { .. }) {
                    finished.store(true, Ordering::SeqCst);
                    if let Some(n) = number.get() {
                        lock(&transfers).remove(n);
                    }
                }
                if let Some(cb) = &callback {
                    dispatch.push(Item::Transfer(cb.clone(), update));
                }
            }
        };
        let session = self.session();
        let id = py
            .detach(|| session.send_message(message, on_update))
            .map_err(CoreError::from)?;
        lock(&transfers).insert(id.get(), id);
        let _ = number.set(id.get());
        if finished.load(Ordering::SeqCst) {
            lock(&transfers).remove(&id.get());
        }
        Ok(id.get())
    }

    /// Stops a message queued with `send_message` (its callback gets
    /// `('failed', 487, ..., True)`); `False` when it already ended.
    fn cancel_transfer(&self, py: Python<'_>, number: u64) -> bool {
        let Some(id) = lock(&self.transfers).get(&number).copied() else {
            return false;
        };
        let session = self.session();
        py.detach(|| session.cancel_transfer(id))
    }

    /// Messages queued with `send_message` that have not ended.
    fn active_transfers(&self, py: Python<'_>) -> usize {
        let session = self.session();
        py.detach(|| session.active_transfers())
    }

    /// Queues a chunk (an `MSRPData` or its parts tuple). `callback(outcome)`,
    /// if given, receives the outcome of a request that expects a response
    /// (an `MSRPData`, or a `LocalResponse` made up locally), on the
    /// dispatcher thread. Blocks (without the GIL) while the connection's
    /// send queue is full.
    #[pyo3(signature = (chunk, callback=None))]
    fn send_chunk(
        &self,
        py: Python<'_>,
        chunk: ChunkIn,
        callback: Option<Py<PyAny>>,
    ) -> PyResult<()> {
        let chunk = chunk.outgoing()?;
        let on_response = callback.map(|cb| {
            let dispatch = self.dispatch.clone();
            Box::new(move |outcome: TransactionOutcome| {
                dispatch.push(Item::Outcome(cb, outcome));
            }) as Box<dyn FnOnce(TransactionOutcome) + Send>
        });
        let session = self.session();
        py.detach(|| session.send_chunk(chunk, on_response))
            .map_err(CoreError::from)?;
        Ok(())
    }

    /// Sends a chunk and waits (without the GIL) for its response: the
    /// 2xx response, or `None` for `Failure-Report: no`.
    fn deliver_chunk<'py>(
        &self,
        py: Python<'py>,
        chunk: ChunkIn,
    ) -> PyResult<Option<Bound<'py, PyAny>>> {
        let chunk = chunk.outgoing()?;
        let session = self.session();
        let response = py
            .detach(|| session.deliver_chunk(chunk))
            .map_err(CoreError::from)?;
        response.map(|r| chunk_object(py, r)).transpose()
    }

    /// Sends the REPORT owed for an incoming SEND processed with
    /// `status_code`, if it asks for one; returns whether one was sent.
    #[pyo3(signature = (chunk, status_code, status_comment=None))]
    fn send_report(
        &self,
        py: Python<'_>,
        chunk: ChunkIn,
        status_code: u16,
        status_comment: Option<&str>,
    ) -> PyResult<bool> {
        let chunk = chunk.outgoing()?;
        let session = self.session();
        Ok(py
            .detach(|| session.send_report(&chunk, status_code, status_comment))
            .map_err(CoreError::from)?)
    }

    /// Sends the response owed for an incoming request (e.g. a NICKNAME),
    /// if it asks for one; returns whether one was sent.
    #[pyo3(signature = (chunk, status_code, status_comment=None))]
    fn send_response(
        &self,
        py: Python<'_>,
        chunk: ChunkIn,
        status_code: u16,
        status_comment: Option<&str>,
    ) -> PyResult<bool> {
        let chunk = chunk.outgoing()?;
        let session = self.session();
        Ok(py
            .detach(|| session.send_response(&chunk, status_code, status_comment))
            .map_err(CoreError::from)?)
    }

    /// Flushes, waits for outstanding responses and closes; with `wait`,
    /// returns (without the GIL meanwhile) when done and every callback,
    /// `closed` last, has returned, unless called from a callback.
    #[pyo3(signature = (wait=true))]
    fn shutdown(&self, py: Python<'_>, wait: bool) {
        py.detach(|| {
            self.session().shutdown(wait);
            if wait {
                self.join_dispatcher();
            }
        });
    }
}
