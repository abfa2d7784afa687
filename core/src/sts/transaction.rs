//! The client's table of STS transactions in flight (sans-IO).
//!
//! A request that wants replies gets a transaction id ([`Transactions::begin`])
//! which the caller puts in its Subject. Every incoming reply's Subject goes
//! through [`Transactions::on_reply`], which finds the transaction, checks
//! the reply sequence ([`ReplySequence`]) and says what to do with the reply
//! ([`ReplyOutcome`]). The table never reads a clock: the caller passes
//! `now`, asks [`Transactions::poll_timeout`] when to wake up, and calls
//! [`Transactions::handle_timeout`] then to learn which transactions must
//! get a synthesized timeout result.
//!
//! ## Timeouts
//!
//! The spec: "If no response is forthcoming the sender MUST synthesize a
//! timeout response; generally after 30 seconds" ([`DEFAULT_TIMEOUT`]).
//! python-sts applied its timeout to each wait for the next reply. Here the
//! deadline is `now + timeout` when the request starts and restarts at every
//! accepted partial reply, so a long multi-part answer that keeps flowing
//! never times out, while a peer that stops half way does.
//!
//! Replies for ids not in flight (finished, timed out, cancelled, never
//! sent) are [`ReplyOutcome::Unknown`]: the spec requires that late replies
//! be dropped silently.

use std::collections::{BTreeSet, HashMap};
use std::time::{Duration, Instant};

use super::subject::{
    reply_id, ReplySequence, ReplySubject, SequenceError, SubjectError, MAX_TRANSACTION_ID,
};

/// Default time to wait for a (next) reply: 30 s, the spec's "generally
/// after 30 seconds".
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// Settings of a [`Transactions`] table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransactionConfig {
    /// Time allowed until the first reply, and between a partial reply and
    /// the next one. Default [`DEFAULT_TIMEOUT`] (30 s).
    pub timeout: Duration,
}

impl Default for TransactionConfig {
    fn default() -> Self {
        TransactionConfig {
            timeout: DEFAULT_TIMEOUT,
        }
    }
}

/// All 2^32 transaction ids are in flight; no new transaction can start
/// until one ends. (Needs 2^32 concurrent requests: practically
/// unreachable, but typed rather than a panic or an endless loop.)
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("all 2^32 STS transaction ids are in flight")]
pub struct TransactionsFull;

/// What to do with a reply, from [`Transactions::on_reply`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ReplyOutcome {
    /// No transaction with this id is in flight (it finished, timed out, was
    /// cancelled, or never existed): drop the reply silently.
    Unknown {
        /// The id the reply names.
        id: u64,
    },
    /// The reply belongs to transaction `id` and is in sequence: deliver it.
    /// When `is_final`, the transaction is over and removed from the table.
    Accepted {
        /// The transaction.
        id: u64,
        /// The final reply (`R`/`R<n>`); no more replies will be accepted.
        is_final: bool,
    },
    /// The reply belongs to transaction `id` but is bad server data (out of
    /// sequence, after the final reply, a malformed mark). The transaction
    /// is removed; the caller fails it (python-sts: BAD_SERVER_DATA).
    Failed {
        /// The transaction.
        id: u64,
        /// What was wrong.
        error: ReplyError,
    },
    /// Not even the transaction id can be read from the Subject: the reply
    /// cannot be matched and should be dropped (or logged).
    Malformed(SubjectError),
}

/// Why a reply failed its transaction.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ReplyError {
    /// The Subject's id is readable but its mark is not.
    #[error("malformed reply subject: {0}")]
    Subject(#[from] SubjectError),
    /// The reply breaks the sequence rules.
    #[error(transparent)]
    Sequence(#[from] SequenceError),
}

/// The client's transactions in flight: id allocation, reply matching and
/// timeouts. Operations are `O(log n)` in the number of transactions.
#[derive(Debug)]
pub struct Transactions {
    config: TransactionConfig,
    /// Next id to try, 1..=2^32.
    next_id: u64,
    in_flight: HashMap<u64, Entry>,
    /// `(deadline, id)` of every transaction with a deadline, kept exactly
    /// in step with `in_flight`.
    deadlines: BTreeSet<(Instant, u64)>,
}

#[derive(Debug)]
struct Entry {
    /// `None`: the timeout was too large to represent; never times out.
    deadline: Option<Instant>,
    timeout: Duration,
    sequence: ReplySequence,
}

impl Default for Transactions {
    fn default() -> Self {
        Self::new(TransactionConfig::default())
    }
}

impl Transactions {
    /// An empty table; the first id handed out is 1.
    pub fn new(config: TransactionConfig) -> Self {
        Transactions {
            config,
            next_id: 1,
            in_flight: HashMap::new(),
            deadlines: BTreeSet::new(),
        }
    }

    /// The settings in use.
    pub fn config(&self) -> &TransactionConfig {
        &self.config
    }

    /// Starts a transaction with the configured timeout and returns its id
    /// (for the request's Subject).
    ///
    /// Ids count up from 1, wrap from 2^32 back to 1 (0 is never used: it
    /// means "no reply"), and skip ids still in flight.
    ///
    /// # Errors
    /// [`TransactionsFull`] when all 2^32 ids are in flight.
    pub fn begin(&mut self, now: Instant) -> Result<u64, TransactionsFull> {
        self.begin_with_timeout(now, self.config.timeout)
    }

    /// [`begin`](Self::begin) with a timeout for this transaction only. A
    /// timeout so large that `now + timeout` cannot be represented means the
    /// transaction never times out.
    ///
    /// # Errors
    /// [`TransactionsFull`] when all 2^32 ids are in flight.
    pub fn begin_with_timeout(
        &mut self,
        now: Instant,
        timeout: Duration,
    ) -> Result<u64, TransactionsFull> {
        if self.in_flight.len() as u64 >= MAX_TRANSACTION_ID {
            return Err(TransactionsFull);
        }
        // Terminates: fewer than 2^32 ids are taken.
        let id = loop {
            let candidate = self.next_id;
            self.next_id = if candidate >= MAX_TRANSACTION_ID {
                1
            } else {
                candidate + 1
            };
            if !self.in_flight.contains_key(&candidate) {
                break candidate;
            }
        };
        let deadline = now.checked_add(timeout);
        if let Some(deadline) = deadline {
            self.deadlines.insert((deadline, id));
        }
        self.in_flight.insert(
            id,
            Entry {
                deadline,
                timeout,
                sequence: ReplySequence::new(),
            },
        );
        Ok(id)
    }

    /// Matches a reply by its Subject (`5r1`, `5R`, `5R3;…`) and checks its
    /// place in the transaction's reply sequence. An accepted partial reply
    /// restarts the transaction's deadline; a final or failed reply removes
    /// the transaction.
    pub fn on_reply(&mut self, subject: &str, now: Instant) -> ReplyOutcome {
        let id = match reply_id(subject) {
            Ok(id) => id,
            Err(e) => return ReplyOutcome::Malformed(e),
        };
        let Some(entry) = self.in_flight.get_mut(&id) else {
            return ReplyOutcome::Unknown { id };
        };
        let result = ReplySubject::parse(subject)
            .map_err(ReplyError::from)
            .and_then(|s| entry.sequence.accept(s.mark).map_err(ReplyError::from));
        match result {
            Ok(false) => {
                let old = entry.deadline;
                entry.deadline = now.checked_add(entry.timeout);
                let new = entry.deadline;
                if let Some(old) = old {
                    self.deadlines.remove(&(old, id));
                }
                if let Some(new) = new {
                    self.deadlines.insert((new, id));
                }
                ReplyOutcome::Accepted {
                    id,
                    is_final: false,
                }
            }
            Ok(true) => {
                self.remove(id);
                ReplyOutcome::Accepted { id, is_final: true }
            }
            Err(error) => {
                self.remove(id);
                ReplyOutcome::Failed { id, error }
            }
        }
    }

    /// The earliest deadline of the transactions in flight: call
    /// [`handle_timeout`](Self::handle_timeout) then. `None` when nothing
    /// can time out.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.deadlines.first().map(|&(deadline, _)| deadline)
    }

    /// Removes and returns the transactions whose deadline is at or before
    /// `now`, earliest first. The caller synthesizes a TIMEOUT result for
    /// each; later replies for them are [`ReplyOutcome::Unknown`].
    pub fn handle_timeout(&mut self, now: Instant) -> Vec<u64> {
        let mut expired = Vec::new();
        while let Some(&(deadline, id)) = self.deadlines.first() {
            if deadline > now {
                break;
            }
            self.deadlines.pop_first();
            self.in_flight.remove(&id);
            expired.push(id);
        }
        expired
    }

    /// Forgets transaction `id` (the caller gave up on it). Returns whether
    /// it was in flight; later replies for it are [`ReplyOutcome::Unknown`].
    pub fn cancel(&mut self, id: u64) -> bool {
        self.remove(id)
    }

    /// Number of transactions in flight.
    pub fn in_flight(&self) -> usize {
        self.in_flight.len()
    }

    /// Whether transaction `id` is in flight.
    pub fn contains(&self, id: u64) -> bool {
        self.in_flight.contains_key(&id)
    }

    /// The deadline of transaction `id`, if it is in flight and can time
    /// out.
    pub fn deadline(&self, id: u64) -> Option<Instant> {
        self.in_flight.get(&id).and_then(|e| e.deadline)
    }

    /// Sets the next id [`begin`](Self::begin) will try (clamped to
    /// 1..=2^32). For tests of the wrap-around at 2^32.
    #[doc(hidden)]
    pub fn set_next_id(&mut self, id: u64) {
        self.next_id = id.clamp(1, MAX_TRANSACTION_ID);
    }

    fn remove(&mut self, id: u64) -> bool {
        match self.in_flight.remove(&id) {
            Some(entry) => {
                if let Some(deadline) = entry.deadline {
                    self.deadlines.remove(&(deadline, id));
                }
                true
            }
            None => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_count_up_and_wrap() {
        let now = Instant::now();
        let mut t = Transactions::default();
        assert_eq!(t.begin(now), Ok(1));
        assert_eq!(t.begin(now), Ok(2));
        t.set_next_id(MAX_TRANSACTION_ID - 1);
        assert_eq!(t.begin(now), Ok(MAX_TRANSACTION_ID - 1));
        assert_eq!(t.begin(now), Ok(MAX_TRANSACTION_ID));
        // 1 and 2 are in flight: skipped.
        assert_eq!(t.begin(now), Ok(3));
        t.set_next_id(0);
        assert_eq!(t.begin(now), Ok(4));
    }

    #[test]
    fn partial_reply_restarts_deadline() {
        let t0 = Instant::now();
        let mut t = Transactions::default();
        let id = t.begin(t0).unwrap();
        assert_eq!(t.poll_timeout(), Some(t0 + DEFAULT_TIMEOUT));
        let t1 = t0 + Duration::from_secs(20);
        assert_eq!(
            t.on_reply(&format!("{id}r1"), t1),
            ReplyOutcome::Accepted {
                id,
                is_final: false
            }
        );
        assert_eq!(t.poll_timeout(), Some(t1 + DEFAULT_TIMEOUT));
        assert!(t.handle_timeout(t0 + DEFAULT_TIMEOUT).is_empty());
        assert_eq!(t.handle_timeout(t1 + DEFAULT_TIMEOUT), vec![id]);
        assert_eq!(t.poll_timeout(), None);
        assert_eq!(
            t.on_reply(&format!("{id}R2"), t1),
            ReplyOutcome::Unknown { id }
        );
    }

    #[test]
    fn huge_timeout_never_expires() {
        let t0 = Instant::now();
        let mut t = Transactions::default();
        let id = t.begin_with_timeout(t0, Duration::MAX).unwrap();
        assert_eq!(t.poll_timeout(), None);
        assert!(t.contains(id));
        assert!(t.cancel(id));
        assert!(!t.cancel(id));
    }
}
