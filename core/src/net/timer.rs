//! One timer thread serving many deadlines.
//!
//! Protocol state machines take time as an input (sans-IO), so the engine
//! needs something to wake them when a deadline passes: transaction
//! timeouts, keepalives, pings. One thread per deadline would be wasteful,
//! and one per connection would still scale with connections, so a
//! [`Timer`] is one thread with a min-heap of deadlines, shared by cloning.
//!
//! * [`Timer::schedule`] takes an [`Instant`] or a [`Duration`] from now
//!   (see [`Deadline`]) and a callback, and returns a [`TimerHandle`].
//! * [`TimerHandle::cancel`] removes a callback that has not started. Cancels
//!   are O(1); cancelled entries are swept from the heap lazily, and the heap
//!   is compacted when most of it is cancelled, since transaction timeouts
//!   are typically cancelled long before they fire.
//! * Callbacks run **on the timer thread**, one at a time, without any lock
//!   held (they may schedule and cancel). They must not block: a slow
//!   callback delays every other deadline. Deadlines that are due together
//!   run in deadline order, ties in scheduling order. A panicking callback
//!   is reported by the panic hook as usual and does not stop the timer.
//! * When the last `Timer` clone is dropped, the thread stops and is joined;
//!   callbacks that have not run are dropped without running. A pending
//!   callback that owns a `Timer` clone keeps the timer alive until it runs,
//!   so a callback that reschedules itself forever should hold its timer by
//!   other means (e.g. take it from shared state) if it must ever stop.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::io;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Arc, Weak};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex, MutexGuard};

/// A handle on the shared timer thread. Clones share the thread; it stops
/// when the last clone is dropped.
#[derive(Debug, Clone)]
pub struct Timer {
    owner: Arc<Owner>,
}

/// When a callback should run: built from an [`Instant`] or from a
/// [`Duration`] counted from now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Deadline(pub Instant);

impl From<Instant> for Deadline {
    fn from(at: Instant) -> Self {
        Deadline(at)
    }
}

impl From<Duration> for Deadline {
    fn from(after: Duration) -> Self {
        let now = Instant::now();
        // A duration too large to represent means "never" in practice; a
        // century ahead is as good and keeps the arithmetic total.
        Deadline(
            now.checked_add(after)
                .unwrap_or_else(|| now + Duration::from_secs(100 * 365 * 24 * 3600)),
        )
    }
}

/// Identifies one scheduled callback; see [`TimerHandle::cancel`].
///
/// Dropping a handle does **not** cancel the callback.
#[derive(Debug, Clone)]
pub struct TimerHandle {
    id: u64,
    shared: Weak<Shared>,
}

impl Timer {
    /// Starts the timer thread. Fails only if the thread cannot be started.
    pub fn new() -> io::Result<Timer> {
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                heap: BinaryHeap::new(),
                pending: HashMap::new(),
                next_id: 0,
                stopping: false,
            }),
            changed: Condvar::new(),
        });
        let thread = {
            let shared = shared.clone();
            thread::Builder::new()
                .name("msgwire-timer".into())
                .spawn(move || run(&shared))?
        };
        Ok(Timer {
            owner: Arc::new(Owner {
                shared,
                thread: Some(thread),
            }),
        })
    }

    /// The process-wide timer, started on first use: one thread for every
    /// session and connection that does not bring its own.
    pub fn shared() -> io::Result<Timer> {
        static SHARED: parking_lot::Mutex<Option<Timer>> = parking_lot::Mutex::new(None);
        let mut slot = SHARED.lock();
        if let Some(t) = &*slot {
            return Ok(t.clone());
        }
        let t = Timer::new()?;
        *slot = Some(t.clone());
        Ok(t)
    }

    /// Runs `callback` on the timer thread once `when` has passed.
    ///
    /// `when` is an [`Instant`] or a [`Duration`] from now; a deadline in the
    /// past runs as soon as possible. The callback must not block.
    pub fn schedule<F>(&self, when: impl Into<Deadline>, callback: F) -> TimerHandle
    where
        F: FnOnce() + Send + 'static,
    {
        let Deadline(at) = when.into();
        let shared = &self.owner.shared;
        let mut state = shared.state.lock();
        let id = state.next_id;
        state.next_id += 1;
        let wake = state
            .heap
            .peek()
            .is_none_or(|Reverse((first, _))| at < *first);
        state.heap.push(Reverse((at, id)));
        state.pending.insert(id, Box::new(callback));
        drop(state);
        if wake {
            shared.changed.notify_one();
        }
        TimerHandle {
            id,
            shared: Arc::downgrade(shared),
        }
    }
}

impl TimerHandle {
    /// Cancels the callback if it has not started yet, and returns whether
    /// it did. `false` means it already ran, is running now (cancel does not
    /// wait for it), was already cancelled, or the timer has stopped.
    pub fn cancel(&self) -> bool {
        let Some(shared) = self.shared.upgrade() else {
            return false;
        };
        let mut state = shared.state.lock();
        let callback = state.pending.remove(&self.id);
        if state.heap.len() > COMPACT_MIN && state.heap.len() > 2 * state.pending.len() {
            let State { heap, pending, .. } = &mut *state;
            heap.retain(|Reverse((_, id))| pending.contains_key(id));
        }
        drop(state);
        // Dropped outside the lock: it may own the last `Timer` clone.
        callback.is_some()
    }
}

/// Stops the thread when the last [`Timer`] clone goes.
#[derive(Debug)]
struct Owner {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

impl Drop for Owner {
    fn drop(&mut self) {
        self.shared.state.lock().stopping = true;
        self.shared.changed.notify_all();
        if let Some(thread) = self.thread.take() {
            // The last clone may be dropped by a callback, on the timer
            // thread itself; it cannot join itself, and it is about to see
            // `stopping` and exit anyway.
            if thread.thread().id() != thread::current().id() {
                let _ = thread.join();
            }
        }
    }
}

type Callback = Box<dyn FnOnce() + Send>;

#[derive(Debug)]
struct Shared {
    state: Mutex<State>,
    changed: Condvar,
}

struct State {
    /// `(deadline, id)`, earliest first; ids break ties in scheduling order.
    /// May hold ids that were cancelled; those are skipped.
    heap: BinaryHeap<Reverse<(Instant, u64)>>,
    /// Callbacks not yet run or cancelled.
    pending: HashMap<u64, Callback>,
    next_id: u64,
    stopping: bool,
}

impl std::fmt::Debug for State {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("State")
            .field("scheduled", &self.heap.len())
            .field("pending", &self.pending.len())
            .field("stopping", &self.stopping)
            .finish()
    }
}

/// The timer thread.
fn run(shared: &Shared) {
    let mut state = shared.state.lock();
    while !state.stopping {
        let Some(&Reverse((at, id))) = state.heap.peek() else {
            shared.changed.wait(&mut state);
            continue;
        };
        if at > Instant::now() {
            shared.changed.wait_until(&mut state, at);
            continue;
        }
        state.heap.pop();
        if let Some(callback) = state.pending.remove(&id) {
            MutexGuard::unlocked(&mut state, || {
                let _ = catch_unwind(AssertUnwindSafe(callback));
            });
        }
    }
    let left = std::mem::take(&mut state.pending);
    drop(state);
    // Dropped outside the lock: they may own `Timer` clones.
    drop(left);
}

/// Compact the heap only when it is this large and mostly cancelled, so a
/// small timer never pays for a rebuild.
const COMPACT_MIN: usize = 64;

#[cfg(test)]
mod tests {
    use super::*;
    use crossbeam_channel as channel;

    #[test]
    fn duration_deadline_is_in_the_future() {
        let before = Instant::now();
        let Deadline(at) = Duration::from_millis(50).into();
        assert!(at >= before + Duration::from_millis(50));
        let Deadline(far) = Duration::MAX.into();
        assert!(far > before);
    }

    #[test]
    fn past_deadline_runs_promptly() {
        let timer = Timer::new().unwrap();
        let (tx, rx) = channel::bounded(1);
        timer.schedule(Instant::now() - Duration::from_millis(5), move || {
            tx.send(()).unwrap()
        });
        rx.recv_timeout(Duration::from_secs(5)).unwrap();
    }

    #[test]
    fn cancel_many_compacts_the_heap() {
        let timer = Timer::new().unwrap();
        let handles: Vec<_> = (0..200)
            .map(|_| timer.schedule(Duration::from_secs(3600), || {}))
            .collect();
        for h in &handles {
            assert!(h.cancel());
        }
        let state = timer.owner.shared.state.lock();
        assert!(state.pending.is_empty());
        assert!(state.heap.len() <= COMPACT_MIN + 1, "{}", state.heap.len());
    }

    #[test]
    fn last_clone_dropped_by_a_callback_does_not_deadlock() {
        let timer = Timer::new().unwrap();
        let (tx, rx) = channel::bounded(1);
        let inner = timer.clone();
        timer.schedule(Duration::ZERO, move || {
            let _keep = inner;
            tx.send(()).unwrap();
        });
        drop(timer);
        // The callback holds the last clone and drops it on the timer thread.
        rx.recv_timeout(Duration::from_secs(5)).unwrap();
    }
}
