//! STS/1.0 fragments: content larger than one message, sent as several
//! messages that carry `Content-Range` (`n`).
//!
//! The spec limits a single message to a 64K body but allows content up to
//! 64M "as multiple fragments". Fragments must not overlap, may arrive in
//! any order, and are grouped into one complete content by transaction id,
//! or by the `X-Sequence` (`q`) header for messages outside a transaction
//! ([`FragmentKey`]). The spec gives no Content-Range syntax; python-sts
//! uses HTTP's `bytes START-END/TOTAL` with an inclusive end
//! ([`ContentRange`]).
//!
//! Sending: [`split`] cuts content into zero-copy fragments. Receiving:
//! [`Reassembler`] collects the fragments of any number of groups of one
//! connection, in any order, within memory bounds, and hands back each
//! content once it is complete.
//!
//! ## Memory
//!
//! A peer announces a group's total size in its first fragment. The
//! reassembler *reserves* that total against
//! [`ReassemblerConfig::max_buffered`] as soon as the group opens (so the sum
//! of the totals of all open groups of a connection never exceeds the
//! bound), but *allocates* lazily: a group's buffer only grows up to the
//! highest byte received so far, never beyond its total. A hostile peer
//! that announces 64 MiB and then sends one byte from the start makes the
//! connection hold one byte, not 64 MiB; one that sends the *last* byte
//! first costs at most the reserved total, which the bound already covers.
//! The bookkeeping of received ranges is bounded too
//! ([`ReassemblerConfig::max_ranges`]).

use std::collections::HashMap;
use std::fmt;

use bytes::Bytes;

/// The largest content the spec allows through fragments: 64 MiB ("content
/// up to 64M can be sent as multiple fragments").
pub const DEFAULT_MAX_TOTAL: u64 = 64 * 1024 * 1024;

/// Default [`ReassemblerConfig::max_buffered`]: one maximal content
/// ([`DEFAULT_MAX_TOTAL`]) plus 64 KiB, so that one largest content and
/// small fragmented messages (one message body's worth) can be in flight
/// together on one connection.
pub const DEFAULT_MAX_BUFFERED: u64 = DEFAULT_MAX_TOTAL + 64 * 1024;

/// Default [`ReassemblerConfig::max_groups`]: 64 fragmented contents in
/// flight per connection, far above what a client with a handful of
/// concurrent multi-part replies needs, small enough to bound the table.
pub const DEFAULT_MAX_GROUPS: usize = 64;

/// Default [`ReassemblerConfig::max_ranges`]: 8192 disjoint received ranges
/// per group (128 KiB of bookkeeping at most). A 64 MiB content in 64 KiB
/// fragments has 1024 fragments, so even fully shuffled arrival stays far
/// below; a peer scattering one-byte fragments hits the limit.
pub const DEFAULT_MAX_RANGES: usize = 8192;

/// A `Content-Range` value: `bytes START-END/TOTAL`, END inclusive.
///
/// A valid range has `start <= end < total` (so `total >= 1`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ContentRange {
    /// Offset of the fragment's first byte.
    pub start: u64,
    /// Offset of the fragment's last byte (inclusive).
    pub end: u64,
    /// Size of the whole content.
    pub total: u64,
}

impl ContentRange {
    /// Parses `bytes START-END/TOTAL`.
    ///
    /// Leniency: the unit is matched case-insensitively, whitespace is
    /// allowed before and after the unit (at least one blank separates it
    /// from the range) and at the very end; none is allowed inside
    /// `START-END/TOTAL`. Numbers are plain decimal digits. The `*` forms of
    /// HTTP (unknown total, unsatisfied range) are not accepted.
    ///
    /// # Errors
    /// A [`ContentRangeError`].
    pub fn parse(value: &str) -> Result<ContentRange, ContentRangeError> {
        let value = value.trim();
        let Some(split) = value.find(|c: char| c.is_ascii_whitespace()) else {
            return Err(if value.eq_ignore_ascii_case("bytes") || value.is_empty() {
                ContentRangeError::Syntax
            } else {
                ContentRangeError::Unit
            });
        };
        let (unit, rest) = value.split_at(split);
        if !unit.eq_ignore_ascii_case("bytes") {
            return Err(ContentRangeError::Unit);
        }
        let rest = rest.trim_start();
        let (span, total) = rest.split_once('/').ok_or(ContentRangeError::Syntax)?;
        let (start, end) = span.split_once('-').ok_or(ContentRangeError::Syntax)?;
        let range = ContentRange {
            start: parse_number(start)?,
            end: parse_number(end)?,
            total: parse_number(total)?,
        };
        if !range.is_valid() {
            return Err(ContentRangeError::Invalid);
        }
        Ok(range)
    }

    /// `start <= end < total`.
    pub fn is_valid(&self) -> bool {
        self.start <= self.end && self.end < self.total
    }

    /// Number of bytes in the fragment (`end - start + 1`); 0 for an
    /// invalid range.
    pub fn len(&self) -> u64 {
        if self.start <= self.end {
            (self.end - self.start).saturating_add(1)
        } else {
            0
        }
    }

    /// `true` when [`len`](Self::len) is 0 (only for invalid ranges).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// `true` when the fragment is the whole content (`0-(total-1)/total`).
    pub fn is_whole(&self) -> bool {
        self.start == 0 && self.total != 0 && self.end == self.total - 1
    }
}

impl fmt::Display for ContentRange {
    /// `bytes START-END/TOTAL`, e.g. `bytes 0-2/6`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "bytes {}-{}/{}", self.start, self.end, self.total)
    }
}

/// Why a `Content-Range` value could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ContentRangeError {
    /// The unit is not `bytes`.
    #[error("content-range unit is not bytes")]
    Unit,
    /// The value is not `UNIT START-END/TOTAL`.
    #[error("content-range is not of the form `bytes START-END/TOTAL`")]
    Syntax,
    /// A number is not plain decimal digits, or does not fit 64 bits.
    #[error("content-range has an invalid number")]
    Number,
    /// The numbers violate `start <= end < total`.
    #[error("content-range is not start <= end < total")]
    Invalid,
}

/// Cuts `body` into consecutive fragments of at most `max_fragment` bytes
/// each (the last one may be shorter), each with its [`ContentRange`]. The
/// fragments are zero-copy slices of `body`.
///
/// An empty body yields no fragments: empty content is never fragmented
/// (the caller sends one plain message). A body that fits in one fragment
/// yields one fragment covering it all; whether to send that with or
/// without Content-Range is the caller's choice. A `max_fragment` of 0 is
/// treated as 1.
pub fn split(body: &Bytes, max_fragment: usize) -> Vec<(ContentRange, Bytes)> {
    let step = max_fragment.max(1);
    let total = body.len() as u64;
    let mut out = Vec::with_capacity(body.len().div_ceil(step));
    let mut start = 0usize;
    while start < body.len() {
        let end = start.saturating_add(step).min(body.len());
        let range = ContentRange {
            start: start as u64,
            end: end as u64 - 1,
            total,
        };
        out.push((range, body.slice(start..end)));
        start = end;
    }
    out
}

/// What groups fragments into one content.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum FragmentKey {
    /// Fragments of a transaction's request or replies: the transaction id.
    Transaction(u64),
    /// Fragments of a non-transaction message: the `X-Sequence` (`q`) value.
    Sequence(String),
}

/// Limits of a [`Reassembler`] (one per connection).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReassemblerConfig {
    /// Largest total a group may announce. Default [`DEFAULT_MAX_TOTAL`]
    /// (64 MiB, the spec's limit).
    pub max_total: u64,
    /// Sum of the announced totals of all open groups together. Default
    /// [`DEFAULT_MAX_BUFFERED`] (64 MiB + 64 KiB).
    pub max_buffered: u64,
    /// Number of open groups. Default [`DEFAULT_MAX_GROUPS`] (64).
    pub max_groups: usize,
    /// Disjoint received ranges per group (bounds the bookkeeping). Default
    /// [`DEFAULT_MAX_RANGES`] (8192).
    pub max_ranges: usize,
}

impl Default for ReassemblerConfig {
    fn default() -> Self {
        ReassemblerConfig {
            max_total: DEFAULT_MAX_TOTAL,
            max_buffered: DEFAULT_MAX_BUFFERED,
            max_groups: DEFAULT_MAX_GROUPS,
            max_ranges: DEFAULT_MAX_RANGES,
        }
    }
}

/// A content whose fragments have all arrived.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Complete {
    /// The group the content belongs to.
    pub key: FragmentKey,
    /// The whole content, `total` bytes.
    pub content: Bytes,
}

/// Why a fragment was rejected. Every error drops the group the fragment
/// belonged to (its memory is freed, later fragments of the same key open a
/// new group); the error is reported once, for the fragment that caused it.
/// All of them mean bad peer data: the content is lost, the connection can
/// carry on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FragmentError {
    /// The range violates `start <= end < total` (a [`ContentRange`] built
    /// by hand; [`ContentRange::parse`] never yields one).
    #[error("invalid fragment range {start}-{end}/{total}")]
    PastTotal {
        /// First byte of the fragment.
        start: u64,
        /// Last byte of the fragment.
        end: u64,
        /// Announced total.
        total: u64,
    },
    /// The fragment's data is not `end - start + 1` bytes long.
    #[error("fragment carries {got} bytes, its range says {expected}")]
    LengthMismatch {
        /// Length given by the range.
        expected: u64,
        /// Length of the data.
        got: u64,
    },
    /// The announced total is above [`ReassemblerConfig::max_total`] (or
    /// above what this platform can address).
    #[error("fragmented content of {total} bytes exceeds the limit of {max}")]
    TooLarge {
        /// Announced total.
        total: u64,
        /// The limit.
        max: u64,
    },
    /// The fragment announces a different total than the group's first one.
    #[error("fragment total {got} differs from the group's total {expected}")]
    InconsistentTotal {
        /// Total of the group's first fragment.
        expected: u64,
        /// Total of this fragment.
        got: u64,
    },
    /// The fragment overlaps bytes already received.
    #[error("fragment {start}-{end} overlaps bytes already received")]
    Overlap {
        /// First byte of the fragment.
        start: u64,
        /// Last byte of the fragment.
        end: u64,
    },
    /// Opening the group would reserve more than
    /// [`ReassemblerConfig::max_buffered`] for this connection.
    #[error("{reserved} bytes reserved, {total} more would exceed the limit of {max}")]
    BufferLimit {
        /// Totals already reserved by open groups.
        reserved: u64,
        /// Total the new group announced.
        total: u64,
        /// The limit.
        max: u64,
    },
    /// [`ReassemblerConfig::max_groups`] groups are already open.
    #[error("too many fragmented contents in flight (limit {max})")]
    TooManyGroups {
        /// The limit.
        max: usize,
    },
    /// The received bytes of a group are split into more than
    /// [`ReassemblerConfig::max_ranges`] disjoint ranges.
    #[error("fragments too scattered (more than {max} disjoint ranges)")]
    TooFragmented {
        /// The limit.
        max: usize,
    },
    /// [`Reassembler::finish`] found the group incomplete.
    #[error("fragmented content incomplete: bytes {start}-{end} missing")]
    Gap {
        /// First missing byte.
        start: u64,
        /// Last byte of the first missing range (inclusive).
        end: u64,
    },
}

/// Reassembles fragmented contents of one connection (sans-IO, no clock).
///
/// Feed every fragment with [`add`](Self::add); a content is returned once
/// every byte of `0..total` has been received exactly once. When the sender
/// signals the end some other way (a final reply arrived), call
/// [`finish`](Self::finish) to learn whether bytes are missing. Groups that
/// are never finished (the transaction timed out) should be
/// [`discard`](Self::discard)ed by the caller.
#[derive(Debug, Default)]
pub struct Reassembler {
    config: ReassemblerConfig,
    groups: HashMap<FragmentKey, Group>,
    reserved: u64,
}

impl Reassembler {
    /// A reassembler with the given limits.
    pub fn new(config: ReassemblerConfig) -> Self {
        Reassembler {
            config,
            groups: HashMap::new(),
            reserved: 0,
        }
    }

    /// The limits in use.
    pub fn config(&self) -> &ReassemblerConfig {
        &self.config
    }

    /// Adds one fragment of the group `key`.
    ///
    /// Returns `Ok(Some(_))` when this fragment completes the content (the
    /// group is then closed), `Ok(None)` while bytes are still missing. A
    /// fragment that is the whole content completes at once without opening
    /// a group.
    ///
    /// # Errors
    /// A [`FragmentError`]; the group is dropped.
    pub fn add(
        &mut self,
        key: FragmentKey,
        range: ContentRange,
        data: &[u8],
    ) -> Result<Option<Complete>, FragmentError> {
        match self.add_inner(&key, range, data) {
            Ok(true) => {
                let content = match self.groups.remove(&key) {
                    Some(group) => {
                        self.reserved -= group.total;
                        Bytes::from(group.buf)
                    }
                    // A whole-content fragment never opened a group.
                    None => Bytes::copy_from_slice(data),
                };
                Ok(Some(Complete { key, content }))
            }
            Ok(false) => Ok(None),
            Err(e) => {
                self.discard(&key);
                Err(e)
            }
        }
    }

    /// The sender says the group `key` is over. `Ok(())` when no bytes are
    /// outstanding (no such group: it completed earlier or never started);
    /// otherwise the group is dropped and the first missing range is
    /// reported. (A complete group is returned by [`add`](Self::add) and
    /// closed at once, so there is never anything to hand back here.)
    ///
    /// # Errors
    /// [`FragmentError::Gap`].
    pub fn finish(&mut self, key: &FragmentKey) -> Result<(), FragmentError> {
        let Some(group) = self.groups.remove(key) else {
            return Ok(());
        };
        self.reserved -= group.total;
        let (start, end) = group.first_gap();
        Err(FragmentError::Gap { start, end })
    }

    /// Drops the group `key`, if open, freeing its memory. Returns whether a
    /// group was dropped.
    pub fn discard(&mut self, key: &FragmentKey) -> bool {
        match self.groups.remove(key) {
            Some(group) => {
                self.reserved -= group.total;
                true
            }
            None => false,
        }
    }

    /// Bytes reserved by the open groups: the sum of their announced totals
    /// (what [`ReassemblerConfig::max_buffered`] bounds). The memory
    /// actually allocated is at most this.
    pub fn buffered_bytes(&self) -> u64 {
        self.reserved
    }

    /// Number of open (incomplete) groups.
    pub fn groups(&self) -> usize {
        self.groups.len()
    }

    /// Bytes received so far for the group `key` (`None` if not open).
    pub fn received(&self, key: &FragmentKey) -> Option<u64> {
        self.groups.get(key).map(|g| g.received)
    }

    /// Validates and stores the fragment; `Ok(true)` when the content is
    /// complete (in its group, or as one whole fragment with no group).
    fn add_inner(
        &mut self,
        key: &FragmentKey,
        range: ContentRange,
        data: &[u8],
    ) -> Result<bool, FragmentError> {
        let ContentRange { start, end, total } = range;
        if !range.is_valid() {
            return Err(FragmentError::PastTotal { start, end, total });
        }
        let expected = end - start + 1;
        if data.len() as u64 != expected {
            return Err(FragmentError::LengthMismatch {
                expected,
                got: data.len() as u64,
            });
        }
        let max = self.config.max_total;
        if total > max || usize::try_from(total).is_err() {
            return Err(FragmentError::TooLarge { total, max });
        }
        let group = match self.groups.get_mut(key) {
            Some(group) => {
                if group.total != total {
                    return Err(FragmentError::InconsistentTotal {
                        expected: group.total,
                        got: total,
                    });
                }
                group
            }
            None => {
                if range.is_whole() {
                    return Ok(true);
                }
                if self.groups.len() >= self.config.max_groups {
                    return Err(FragmentError::TooManyGroups {
                        max: self.config.max_groups,
                    });
                }
                let max = self.config.max_buffered;
                if self.reserved.saturating_add(total) > max {
                    return Err(FragmentError::BufferLimit {
                        reserved: self.reserved,
                        total,
                        max,
                    });
                }
                self.reserved += total;
                self.groups.entry(key.clone()).or_insert_with(|| Group {
                    total,
                    received: 0,
                    ranges: Vec::new(),
                    buf: Vec::new(),
                })
            }
        };
        group.insert_range(start, end + 1, self.config.max_ranges)?;
        group.write(start, data);
        Ok(group.received == group.total)
    }
}

/// One content being reassembled.
#[derive(Debug)]
struct Group {
    /// Announced size.
    total: u64,
    /// Bytes received (no overlaps, so the sum of the range lengths).
    received: u64,
    /// Received byte ranges, half-open `[start, end)`, sorted, disjoint and
    /// not adjacent (neighbours are merged).
    ranges: Vec<(u64, u64)>,
    /// The content so far; grown lazily up to the highest byte received.
    buf: Vec<u8>,
}

impl Group {
    /// Records `[start, end)` as received, rejecting overlaps.
    fn insert_range(
        &mut self,
        start: u64,
        end: u64,
        max_ranges: usize,
    ) -> Result<(), FragmentError> {
        let overlap = FragmentError::Overlap {
            start,
            end: end - 1,
        };
        // First range starting after `start`.
        let idx = self.ranges.partition_point(|r| r.0 <= start);
        let prev = idx.checked_sub(1).map(|i| self.ranges[i]);
        let next = self.ranges.get(idx).copied();
        if prev.is_some_and(|p| p.1 > start) || next.is_some_and(|n| n.0 < end) {
            return Err(overlap);
        }
        let joins_prev = prev.is_some_and(|p| p.1 == start);
        let joins_next = next.is_some_and(|n| n.0 == end);
        match (joins_prev, joins_next) {
            (true, true) => {
                self.ranges[idx - 1].1 = self.ranges[idx].1;
                self.ranges.remove(idx);
            }
            (true, false) => self.ranges[idx - 1].1 = end,
            (false, true) => self.ranges[idx].0 = start,
            (false, false) => {
                if self.ranges.len() >= max_ranges {
                    return Err(FragmentError::TooFragmented { max: max_ranges });
                }
                self.ranges.insert(idx, (start, end));
            }
        }
        self.received += end - start;
        Ok(())
    }

    /// Copies `data` to offset `start`, growing the buffer (capacity capped
    /// at the total). The caller has checked that `start + data.len() <=
    /// total` and that `total` fits `usize`.
    fn write(&mut self, start: u64, data: &[u8]) {
        let total = self.total as usize;
        let start = start as usize;
        let end = start + data.len();
        if start == self.buf.len() {
            // In order (the usual case): append, without zeroing first.
            if self.buf.capacity() < end {
                let target = end.max(self.buf.capacity().saturating_mul(2)).min(total);
                self.buf.reserve_exact(target - self.buf.len());
            }
            self.buf.extend_from_slice(data);
            return;
        }
        if self.buf.len() < end {
            if self.buf.capacity() < end {
                let target = end.max(self.buf.capacity().saturating_mul(2)).min(total);
                self.buf.reserve_exact(target - self.buf.len());
            }
            self.buf.resize(end, 0);
        }
        if let Some(dst) = self.buf.get_mut(start..end) {
            dst.copy_from_slice(data);
        }
    }

    /// The first missing range, inclusive (the group is incomplete).
    fn first_gap(&self) -> (u64, u64) {
        match self.ranges.first() {
            Some(&(s, _)) if s > 0 => (0, s - 1),
            Some(&(_, e)) => {
                let next = self.ranges.get(1).map_or(self.total, |r| r.0);
                (e, next.saturating_sub(1))
            }
            None => (0, self.total.saturating_sub(1)),
        }
    }
}

/// Plain decimal digits as u64.
fn parse_number(text: &str) -> Result<u64, ContentRangeError> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ContentRangeError::Number);
    }
    text.parse().map_err(|_| ContentRangeError::Number)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cr(start: u64, end: u64, total: u64) -> ContentRange {
        ContentRange { start, end, total }
    }

    #[test]
    fn parse_content_range() {
        let ok: &[(&str, ContentRange)] = &[
            ("bytes 0-2/6", cr(0, 2, 6)),
            ("BYTES 3-5/6", cr(3, 5, 6)),
            ("  Bytes \t 0-0/1  ", cr(0, 0, 1)),
            ("bytes 0-67108863/67108864", cr(0, 67108863, 67108864)),
        ];
        for (input, want) in ok {
            assert_eq!(ContentRange::parse(input), Ok(*want), "{input}");
        }
        assert_eq!(cr(0, 2, 6).to_string(), "bytes 0-2/6");
        use ContentRangeError::*;
        let bad: &[(&str, ContentRangeError)] = &[
            ("", Syntax),
            ("bytes", Syntax),
            ("bits 0-1/2", Unit),
            ("bytes0-1/2", Unit),
            ("bytes 0-1", Syntax),
            ("bytes 0/2", Syntax),
            ("bytes 0 - 1/2", Number),
            ("bytes 0-1 /2", Number),
            ("bytes -1-1/2", Number),
            ("bytes +0-1/2", Number),
            ("bytes 0-1/*", Number),
            ("bytes 0-99999999999999999999/2", Number),
            ("bytes 2-1/5", Invalid),
            ("bytes 0-5/5", Invalid),
            ("bytes 0-0/0", Invalid),
        ];
        for (input, err) in bad {
            assert_eq!(ContentRange::parse(input), Err(err.clone()), "{input}");
        }
    }

    #[test]
    fn split_and_join() {
        let body = Bytes::from_static(b"abcdefg");
        let parts = split(&body, 3);
        let ranges: Vec<String> = parts.iter().map(|(r, _)| r.to_string()).collect();
        assert_eq!(ranges, ["bytes 0-2/7", "bytes 3-5/7", "bytes 6-6/7"]);
        assert_eq!(parts[2].1, Bytes::from_static(b"g"));
        assert!(split(&Bytes::new(), 3).is_empty());
        assert_eq!(split(&body, 0).len(), 7);
        assert_eq!(split(&body, usize::MAX).len(), 1);
    }

    #[test]
    fn reassemble_out_of_order() {
        let mut r = Reassembler::default();
        let key = FragmentKey::Transaction(3);
        assert_eq!(r.add(key.clone(), cr(3, 5, 6), b"def"), Ok(None));
        assert_eq!(r.groups(), 1);
        assert_eq!(r.buffered_bytes(), 6);
        let done = r.add(key.clone(), cr(0, 2, 6), b"abc").unwrap().unwrap();
        assert_eq!(done.content, Bytes::from_static(b"abcdef"));
        assert_eq!(done.key, key);
        assert_eq!((r.groups(), r.buffered_bytes()), (0, 0));
    }

    #[test]
    fn ranges_merge_and_gap() {
        let mut g = Group {
            total: 10,
            received: 0,
            ranges: Vec::new(),
            buf: Vec::new(),
        };
        g.insert_range(4, 6, 10).unwrap();
        g.insert_range(8, 9, 10).unwrap();
        assert_eq!(g.first_gap(), (0, 3));
        g.insert_range(0, 4, 10).unwrap();
        assert_eq!(g.ranges, vec![(0, 6), (8, 9)]);
        assert_eq!(g.first_gap(), (6, 7));
        assert!(g.insert_range(5, 7, 10).is_err());
        assert!(g.insert_range(7, 9, 10).is_err());
        g.insert_range(6, 8, 10).unwrap();
        assert_eq!(g.ranges, vec![(0, 9)]);
        assert_eq!(g.first_gap(), (9, 9));
        assert_eq!(g.received, 9);
    }

    #[test]
    fn too_fragmented() {
        let cfg = ReassemblerConfig {
            max_ranges: 2,
            ..Default::default()
        };
        let mut r = Reassembler::new(cfg);
        let k = FragmentKey::Sequence("q".into());
        r.add(k.clone(), cr(0, 0, 10), b"a").unwrap();
        r.add(k.clone(), cr(2, 2, 10), b"c").unwrap();
        assert_eq!(
            r.add(k.clone(), cr(4, 4, 10), b"e"),
            Err(FragmentError::TooFragmented { max: 2 })
        );
        assert_eq!(r.groups(), 0);
    }

    #[test]
    fn lazy_allocation() {
        let mut r = Reassembler::default();
        let k = FragmentKey::Transaction(1);
        r.add(k.clone(), cr(0, 0, DEFAULT_MAX_TOTAL), b"x").unwrap();
        assert_eq!(r.buffered_bytes(), DEFAULT_MAX_TOTAL);
        let g = r.groups.get(&k).unwrap();
        assert!(g.buf.capacity() < 1024, "allocated {}", g.buf.capacity());
    }
}
