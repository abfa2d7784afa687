//! Incoming chat messages larger than one chunk, put back together.
//!
//! A chat's session delivers every SEND chunk on its own (the legacy
//! behaviour, and what lets the session's send filter read a CPIM
//! payload's type from the first chunk). A message the sender split into
//! several chunks — anything over its chunk size, commonly 64 KiB, or a
//! chunk it interrupted to let another message through — is only readable
//! as a whole: its CPIM headers are at the start of the first chunk and
//! the payload runs on into the others. [`Pieces`] collects the chunks of
//! such a message by Message-ID, placing each body by its Byte-Range (so
//! chunks out of order or repeated are fine), and hands back one chunk
//! holding the whole body once every byte is there, with the headers of
//! the chunk that completed it and `Byte-Range: 1-N/N`.
//!
//! Bounds: the messages collected hold at most `max_size` bytes in all
//! (the session's `max_message_size`), so one message may grow that large
//! and no more. When a message grows past what is left, the messages
//! that started before it are dropped, oldest first, to make room; if
//! that is not enough, it is dropped itself. At most [`MAX_PARTIAL`]
//! messages are collected at once; a new one then pushes out the one
//! that started first. A `#` chunk drops its message. Every
//! drop is logged by the caller; the chunks were already answered 200 by
//! the session, as in the legacy per-chunk delivery.

use std::collections::{HashMap, VecDeque};

use bytes::Bytes;

use crate::msrp::header::names;
use crate::msrp::transfer::RangeSet;
use crate::msrp::{Chunk, Flag};

/// Most messages collected at once.
pub const MAX_PARTIAL: usize = 16;

/// What [`Pieces::add`] made of a chunk.
#[derive(Debug)]
pub enum Piece {
    /// A whole message: the chunk itself, or the message put back together.
    Whole(Chunk),
    /// Part of a message still incomplete; kept.
    Kept,
    /// The message was dropped, for this reason.
    Dropped {
        /// Its Message-ID.
        message_id: String,
        /// Why.
        reason: &'static str,
    },
}

/// The messages being put back together; see the [module docs](self).
#[derive(Debug)]
pub struct Pieces {
    partial: HashMap<String, Partial>,
    /// Message-IDs of `partial`, oldest first.
    order: VecDeque<String>,
    max_size: u64,
    /// Bytes held by `partial`, in all.
    held: u64,
}

#[derive(Debug, Default)]
struct Partial {
    body: Vec<u8>,
    got: RangeSet,
    /// The size, once a chunk said it (Byte-Range total, or the end of the
    /// `$` chunk).
    size: Option<u64>,
}

impl Pieces {
    /// Collects messages of at most `max_size` bytes.
    pub fn new(max_size: u64) -> Pieces {
        Pieces {
            partial: HashMap::new(),
            order: VecDeque::new(),
            max_size,
            held: 0,
        }
    }

    /// Takes one incoming SEND chunk.
    pub fn add(&mut self, chunk: Chunk) -> Piece {
        let range = chunk.byte_range().ok().flatten();
        let start = range.map_or(1, |r| r.start).max(1);
        let Some(message_id) = chunk.message_id().map(str::to_string) else {
            return Piece::Whole(chunk);
        };
        let collecting = self.partial.contains_key(&message_id);
        if !collecting && start == 1 && chunk.flag == Flag::End {
            return Piece::Whole(chunk); // the common case: one chunk
        }
        if chunk.flag == Flag::Abort {
            self.forget(&message_id);
            return Piece::Dropped {
                message_id,
                reason: "the sender aborted it",
            };
        }
        let offset = start - 1;
        let end = offset + chunk.data.len() as u64;
        let total = range.and_then(|r| r.total);
        if end > self.max_size || total.is_some_and(|t| t > self.max_size) {
            self.forget(&message_id);
            return Piece::Dropped {
                message_id,
                reason: "it is larger than the largest message accepted",
            };
        }
        if !collecting {
            if self.order.len() >= MAX_PARTIAL {
                self.drop_oldest("too many at once");
            }
            self.order.push_back(message_id.clone());
        }
        let had = self
            .partial
            .get(&message_id)
            .map_or(0, |p| p.body.len() as u64);
        let growth = end.saturating_sub(had);
        while self.held + growth > self.max_size && self.order.front() != Some(&message_id) {
            self.drop_oldest("the messages collected are too large together");
        }
        if self.held + growth > self.max_size {
            self.forget(&message_id);
            return Piece::Dropped {
                message_id,
                reason: "it is larger than the largest message accepted",
            };
        }
        self.held += growth;
        let p = self.partial.entry(message_id.clone()).or_default();
        let (from, to) = (offset as usize, end as usize);
        if p.body.len() < to {
            p.body.resize(to, 0);
        }
        p.body[from..to].copy_from_slice(&chunk.data);
        p.got.insert(offset, end);
        if let Some(t) = total {
            p.size = Some(t);
        } else if chunk.flag == Flag::End {
            p.size = Some(end);
        }
        let Some(size) = p.size.filter(|&n| p.got.covers(n)) else {
            return Piece::Kept;
        };
        let mut body = self.forget(&message_id).map(|p| p.body).unwrap_or_default();
        body.truncate(size as usize);
        let mut whole = chunk;
        whole.data = Bytes::from(body);
        whole.flag = Flag::End;
        whole
            .headers
            .set(names::BYTE_RANGE, format!("1-{size}/{size}"));
        Piece::Whole(whole)
    }

    fn forget(&mut self, message_id: &str) -> Option<Partial> {
        let p = self.partial.remove(message_id)?;
        self.order.retain(|m| m != message_id);
        self.held -= p.body.len() as u64;
        Some(p)
    }

    fn drop_oldest(&mut self, why: &str) {
        if let Some(oldest) = self.order.front().cloned() {
            self.forget(&oldest);
            log::warn!("msrp chat: dropped incomplete message {oldest}: {why}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunk(id: &str, range: &str, body: &[u8], flag: Flag) -> Chunk {
        let mut c = Chunk::request("t1", "SEND");
        c.headers.set(names::MESSAGE_ID, id);
        c.headers.set(names::BYTE_RANGE, range);
        c.data = Bytes::copy_from_slice(body);
        c.flag = flag;
        c
    }

    fn whole(p: Piece) -> Chunk {
        match p {
            Piece::Whole(c) => c,
            other => panic!("not whole: {other:?}"),
        }
    }

    #[test]
    fn a_single_chunk_passes_through() {
        let mut p = Pieces::new(1000);
        let c = whole(p.add(chunk("m", "1-3/3", b"abc", Flag::End)));
        assert_eq!(&c.data[..], b"abc");
        assert!(p.partial.is_empty());
    }

    #[test]
    fn chunks_in_order_and_out_of_order_make_one_message() {
        let mut p = Pieces::new(1000);
        assert!(matches!(
            p.add(chunk("m", "1-*/9", b"abc", Flag::Continue)),
            Piece::Kept
        ));
        assert!(matches!(
            p.add(chunk("m", "4-*/9", b"def", Flag::Continue)),
            Piece::Kept
        ));
        let c = whole(p.add(chunk("m", "7-9/9", b"ghi", Flag::End)));
        assert_eq!(&c.data[..], b"abcdefghi");
        assert_eq!(c.headers.get(names::BYTE_RANGE), Some("1-9/9"));
        assert_eq!(c.flag, Flag::End);
        // The last chunk first, totals unknown (`*`), and a repeat.
        assert!(matches!(
            p.add(chunk("n", "4-6/*", b"def", Flag::End)),
            Piece::Kept
        ));
        assert!(matches!(
            p.add(chunk("n", "1-2/*", b"ab", Flag::Continue)),
            Piece::Kept
        ));
        assert!(matches!(
            p.add(chunk("n", "1-2/*", b"ab", Flag::Continue)),
            Piece::Kept
        ));
        let c = whole(p.add(chunk("n", "3-3/*", b"c", Flag::Continue)));
        assert_eq!(&c.data[..], b"abcdef");
        assert!(p.partial.is_empty() && p.order.is_empty());
    }

    #[test]
    fn abort_size_and_count_limits_drop_messages() {
        let mut p = Pieces::new(10);
        p.add(chunk("a", "1-*/6", b"abc", Flag::Continue));
        assert!(matches!(
            p.add(chunk("a", "4-*/6", b"", Flag::Abort)),
            Piece::Dropped { .. }
        ));
        assert!(p.partial.is_empty());
        assert!(matches!(
            p.add(chunk("b", "1-*/11", b"abc", Flag::Continue)),
            Piece::Dropped { .. }
        ));
        p.add(chunk("c", "1-*/*", b"abcdefgh", Flag::Continue));
        assert!(matches!(
            p.add(chunk("c", "9-*/*", b"ijk", Flag::Continue)),
            Piece::Dropped { .. }
        ));
        assert!(p.partial.is_empty());
        let mut p = Pieces::new(1000);
        for i in 0..=MAX_PARTIAL {
            p.add(chunk(&format!("m{i}"), "1-*/4", b"ab", Flag::Continue));
        }
        assert_eq!(p.partial.len(), MAX_PARTIAL);
        assert!(!p.partial.contains_key("m0"), "the oldest goes first");
        // A later chunk of the pushed-out message does not complete it.
        assert!(matches!(
            p.add(chunk("m0", "3-4/4", b"cd", Flag::End)),
            Piece::Kept
        ));
    }

    #[test]
    fn messages_collected_share_one_budget() {
        let mut p = Pieces::new(10);
        p.add(chunk("a", "1-*/*", b"aaaa", Flag::Continue));
        p.add(chunk("b", "1-*/*", b"bbbb", Flag::Continue));
        assert_eq!(p.held, 8);
        // c needs 4 more: a, the oldest, goes to make room.
        assert!(matches!(
            p.add(chunk("c", "1-*/*", b"cccc", Flag::Continue)),
            Piece::Kept
        ));
        assert!(!p.partial.contains_key("a") && p.partial.contains_key("b"));
        assert_eq!(p.held, 8);
        // b grows to 10 with c there: c is newer, so b itself cannot grow.
        assert!(matches!(
            p.add(chunk("b", "5-*/*", b"bbbbbb", Flag::Continue)),
            Piece::Dropped { .. }
        ));
        assert_eq!((p.held, p.partial.len()), (4, 1));
        let c = whole(p.add(chunk("c", "5-6/6", b"cc", Flag::End)));
        assert_eq!(&c.data[..], b"cccccc");
        assert_eq!(p.held, 0);
    }
}
