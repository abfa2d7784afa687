//! STS/1.0 reply subjects, reply sequences, fragment reassembly and the
//! client transaction table, driven on a virtual clock.

use std::time::{Duration, Instant};

use bytes::Bytes;
use msgwire::sts::fragment::{
    split, Complete, ContentRange, FragmentError, FragmentKey, Reassembler, ReassemblerConfig,
    DEFAULT_MAX_TOTAL,
};
use msgwire::sts::subject::{
    parse_request_id, ReplyMark, ReplySequence, ReplySubject, SequenceError, SubjectError,
    MAX_TRANSACTION_ID,
};
use msgwire::sts::transaction::{
    ReplyError, ReplyOutcome, TransactionConfig, Transactions, DEFAULT_TIMEOUT,
};
use proptest::prelude::*;

/// Small deterministic PRNG (xorshift64*) for shuffles outside proptest.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn shuffle<T>(&mut self, v: &mut [T]) {
        for i in (1..v.len()).rev() {
            let j = (self.next() % (i as u64 + 1)) as usize;
            v.swap(i, j);
        }
    }
}

fn cr(start: u64, end: u64, total: u64) -> ContentRange {
    ContentRange { start, end, total }
}

fn txn(id: u64) -> FragmentKey {
    FragmentKey::Transaction(id)
}

// ---------------------------------------------------------------- subjects

#[test]
fn request_subjects() {
    let cases: &[(Option<&str>, Option<u64>)] = &[
        (None, None),
        (Some(""), None),
        (Some("   "), None),
        (Some("0"), None),
        (Some("1"), Some(1)),
        (Some("5"), Some(5)),
        (Some("4294967296"), Some(4294967296)),
        (Some("4294967297"), None),
        (Some("18446744073709551616"), None),
        (Some("5r1"), None),
        (Some("x"), None),
    ];
    for (input, want) in cases {
        assert_eq!(parse_request_id(*input), *want, "{input:?}");
    }
}

#[test]
fn reply_subjects() {
    use ReplyMark::*;
    type Parsed = Result<(u64, ReplyMark), SubjectError>;
    let cases: &[(&str, Parsed)] = &[
        ("5r1", Ok((5, Partial(1)))),
        ("5R", Ok((5, Final(None)))),
        ("5R3", Ok((5, Final(Some(3))))),
        ("5R;x=y", Ok((5, Final(None)))),
        ("5r2;foo", Ok((5, Partial(2)))),
        ("4294967296R", Ok((4294967296, Final(None)))),
        ("4294967297R", Err(SubjectError::BadId)),
        ("99999999999999999999999r1", Err(SubjectError::BadId)),
        ("5", Err(SubjectError::MissingMark)),
        ("5r", Err(SubjectError::PartialWithoutNumber)),
        ("5x", Err(SubjectError::BadId)),
        ("r1", Err(SubjectError::BadId)),
        ("R", Err(SubjectError::BadId)),
        ("", Err(SubjectError::Empty)),
        ("5Rx", Err(SubjectError::BadNumber)),
    ];
    for (input, want) in cases {
        let got = ReplySubject::parse(input).map(|s| (s.id, s.mark));
        assert_eq!(got, *want, "{input}");
    }
    for canon in ["5r1", "5R", "5R3", "4294967296r17"] {
        assert_eq!(ReplySubject::parse(canon).unwrap().to_string(), canon);
    }
}

#[test]
fn reply_sequences() {
    use ReplyMark::*;
    type Case = (
        &'static str,
        &'static [ReplyMark],
        Result<bool, SequenceError>,
    );
    let oos = |expected, got| Err(SequenceError::OutOfSequence { expected, got });
    let cases: Vec<Case> = vec![
        (
            "r1 r2 R3",
            &[Partial(1), Partial(2), Final(Some(3))],
            Ok(true),
        ),
        ("R alone", &[Final(None)], Ok(true)),
        ("R1 alone", &[Final(Some(1))], Ok(true)),
        ("r2 first", &[Partial(2)], oos(1, Some(2))),
        ("R2 first", &[Final(Some(2))], oos(1, Some(2))),
        ("r1 r3", &[Partial(1), Partial(3)], oos(2, Some(3))),
        ("r1 R", &[Partial(1), Final(None)], oos(2, None)),
        ("r1 R1", &[Partial(1), Final(Some(1))], oos(2, Some(1))),
        (
            "R R",
            &[Final(None), Final(None)],
            Err(SequenceError::AfterFinal),
        ),
        (
            "R r1",
            &[Final(None), Partial(1)],
            Err(SequenceError::AfterFinal),
        ),
        (
            "r1 R2 r3",
            &[Partial(1), Final(Some(2)), Partial(3)],
            Err(SequenceError::AfterFinal),
        ),
    ];
    for (name, marks, want) in cases {
        let mut seq = ReplySequence::new();
        let (last, init) = marks.split_last().unwrap();
        for m in init {
            assert_eq!(seq.accept(*m), Ok(m.is_final()), "{name}: prefix {m:?}");
        }
        assert_eq!(seq.accept(*last), want, "{name}");
    }
}

// --------------------------------------------------------------- fragments

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn fragments_in_any_order_complete_once(
        content in proptest::collection::vec(any::<u8>(), 1..300 * 1024),
        max_fragment in 256usize..70_000,
        seed in any::<u64>(),
    ) {
        let body = Bytes::from(content);
        let mut parts = split(&body, max_fragment);
        let mut rng = Rng(seed | 1);
        rng.shuffle(&mut parts);
        let mut r = Reassembler::default();
        let mut completed = Vec::new();
        for (range, data) in &parts {
            let parsed = ContentRange::parse(&range.to_string()).unwrap();
            prop_assert_eq!(parsed, *range);
            if let Some(done) = r.add(txn(9), parsed, data).unwrap() {
                completed.push(done);
            }
        }
        prop_assert_eq!(completed.len(), 1);
        prop_assert_eq!(&completed[0].content, &body);
        prop_assert_eq!(r.groups(), 0);
        prop_assert_eq!(r.buffered_bytes(), 0);
    }

    #[test]
    fn small_content_tiny_fragments(
        content in proptest::collection::vec(any::<u8>(), 1..2000),
        max_fragment in 1usize..17,
        seed in any::<u64>(),
    ) {
        let body = Bytes::from(content);
        let mut parts = split(&body, max_fragment);
        Rng(seed | 1).shuffle(&mut parts);
        let mut r = Reassembler::default();
        let key = FragmentKey::Sequence("q-1".into());
        let n = parts.len();
        for (i, (range, data)) in parts.iter().enumerate() {
            let out = r.add(key.clone(), *range, data).unwrap();
            prop_assert_eq!(out.is_some(), i + 1 == n);
            if let Some(done) = out {
                prop_assert_eq!(&done.content, &body);
            }
        }
    }
}

#[test]
fn fragment_errors_drop_the_group() {
    type Step = (ContentRange, &'static [u8]);
    let cases: Vec<(&str, Vec<Step>, FragmentError)> = vec![
        (
            "overlap",
            vec![(cr(0, 3, 10), b"abcd"), (cr(3, 5, 10), b"def")],
            FragmentError::Overlap { start: 3, end: 5 },
        ),
        (
            "duplicate",
            vec![(cr(4, 5, 10), b"ef"), (cr(4, 5, 10), b"ef")],
            FragmentError::Overlap { start: 4, end: 5 },
        ),
        (
            "inconsistent total",
            vec![(cr(0, 2, 10), b"abc"), (cr(3, 5, 11), b"def")],
            FragmentError::InconsistentTotal {
                expected: 10,
                got: 11,
            },
        ),
        (
            "past total",
            vec![(cr(0, 2, 10), b"abc"), (cr(8, 10, 10), b"ijk")],
            FragmentError::PastTotal {
                start: 8,
                end: 10,
                total: 10,
            },
        ),
        (
            "length mismatch",
            vec![(cr(0, 2, 10), b"abc"), (cr(3, 5, 10), b"de")],
            FragmentError::LengthMismatch {
                expected: 3,
                got: 2,
            },
        ),
        (
            "too large",
            vec![(cr(0, 0, DEFAULT_MAX_TOTAL + 1), b"a")],
            FragmentError::TooLarge {
                total: DEFAULT_MAX_TOTAL + 1,
                max: DEFAULT_MAX_TOTAL,
            },
        ),
    ];
    for (name, steps, want) in cases {
        let mut r = Reassembler::default();
        let (last, init) = steps.split_last().unwrap();
        for (range, data) in init {
            assert_eq!(r.add(txn(1), *range, data), Ok(None), "{name}");
        }
        assert_eq!(r.add(txn(1), last.0, last.1), Err(want), "{name}");
        assert_eq!(r.groups(), 0, "{name}: group dropped");
        assert_eq!(r.buffered_bytes(), 0, "{name}: memory released");
        // The key is free again: a fresh content under it works.
        let done = r.add(txn(1), cr(0, 1, 2), b"ok").unwrap().unwrap();
        assert_eq!(done.content, Bytes::from_static(b"ok"), "{name}");
    }
}

#[test]
fn gap_at_finish() {
    let mut r = Reassembler::default();
    r.add(txn(2), cr(0, 2, 12), b"abc").unwrap();
    r.add(txn(2), cr(6, 8, 12), b"ghi").unwrap();
    assert_eq!(
        r.finish(&txn(2)),
        Err(FragmentError::Gap { start: 3, end: 5 })
    );
    assert_eq!((r.groups(), r.buffered_bytes()), (0, 0));
    // Nothing outstanding: finishing is fine.
    assert_eq!(r.finish(&txn(2)), Ok(()));
    r.add(txn(3), cr(4, 5, 6), b"ef").unwrap();
    assert_eq!(
        r.finish(&txn(3)),
        Err(FragmentError::Gap { start: 0, end: 3 })
    );
    r.add(txn(4), cr(0, 1, 6), b"ab").unwrap();
    assert_eq!(
        r.finish(&txn(4)),
        Err(FragmentError::Gap { start: 2, end: 5 })
    );
}

#[test]
fn buffer_limit_counts_announced_totals() {
    let mut r = Reassembler::new(ReassemblerConfig {
        max_buffered: 100,
        ..Default::default()
    });
    r.add(txn(1), cr(0, 0, 60), b"a").unwrap();
    assert_eq!(r.buffered_bytes(), 60);
    assert_eq!(
        r.add(txn(2), cr(0, 0, 41), b"a"),
        Err(FragmentError::BufferLimit {
            reserved: 60,
            total: 41,
            max: 100
        })
    );
    assert_eq!(r.groups(), 1);
    r.add(txn(3), cr(0, 0, 40), b"a").unwrap();
    assert_eq!(r.buffered_bytes(), 100);
    // A whole content in one fragment needs no group and no reservation.
    let done = r.add(txn(4), cr(0, 2, 3), b"xyz").unwrap().unwrap();
    assert_eq!(done.content, Bytes::from_static(b"xyz"));
    assert!(r.discard(&txn(1)));
    assert!(!r.discard(&txn(1)));
    assert_eq!(r.buffered_bytes(), 40);
    r.add(txn(2), cr(0, 0, 41), b"a").unwrap();
}

#[test]
fn too_many_groups() {
    let mut r = Reassembler::new(ReassemblerConfig {
        max_groups: 3,
        ..Default::default()
    });
    for id in 1..=3 {
        r.add(txn(id), cr(0, 0, 2), b"a").unwrap();
    }
    assert_eq!(
        r.add(txn(4), cr(0, 0, 2), b"a"),
        Err(FragmentError::TooManyGroups { max: 3 })
    );
    assert_eq!(r.groups(), 3);
    // Existing groups still progress.
    let done = r.add(txn(2), cr(1, 1, 2), b"b").unwrap().unwrap();
    assert_eq!(done.key, txn(2));
    r.add(txn(4), cr(0, 0, 2), b"a").unwrap();
}

#[test]
fn interleaved_groups_complete_independently() {
    let a = Bytes::from((0..50_000u32).map(|i| i as u8).collect::<Vec<_>>());
    let b = Bytes::from((0..30_000u32).map(|i| (i * 7) as u8).collect::<Vec<_>>());
    let ka = txn(17);
    let kb = FragmentKey::Sequence("chat-42".into());
    let mut steps: Vec<(FragmentKey, ContentRange, Bytes)> = split(&a, 4096)
        .into_iter()
        .map(|(r, d)| (ka.clone(), r, d))
        .chain(split(&b, 1000).into_iter().map(|(r, d)| (kb.clone(), r, d)))
        .collect();
    Rng(0x5eed).shuffle(&mut steps);
    let mut r = Reassembler::default();
    let mut done: Vec<Complete> = Vec::new();
    for (key, range, data) in steps {
        if let Some(c) = r.add(key, range, &data).unwrap() {
            done.push(c);
        }
        assert!(r.groups() <= 2);
    }
    assert_eq!(done.len(), 2);
    for c in done {
        let want = if c.key == ka { &a } else { &b };
        assert_eq!(&c.content, want);
    }
    assert_eq!((r.groups(), r.buffered_bytes()), (0, 0));
}

// ------------------------------------------------------------ transactions

#[test]
fn ids_wrap_skipping_in_flight() {
    let now = Instant::now();
    let mut t = Transactions::default();
    let low: Vec<u64> = (0..3).map(|_| t.begin(now).unwrap()).collect();
    assert_eq!(low, [1, 2, 3]);
    assert!(t.cancel(2));
    t.set_next_id(MAX_TRANSACTION_ID - 1);
    let ids: Vec<u64> = (0..4).map(|_| t.begin(now).unwrap()).collect();
    assert_eq!(ids, [MAX_TRANSACTION_ID - 1, MAX_TRANSACTION_ID, 2, 4]);
    assert!(t.contains(MAX_TRANSACTION_ID));
    assert!(!t.contains(0));
    assert_eq!(t.in_flight(), 6);
}

#[test]
fn reply_outcomes() {
    let now = Instant::now();
    let mut t = Transactions::default();
    let a = t.begin(now).unwrap();
    let b = t.begin(now).unwrap();
    let c = t.begin(now).unwrap();
    let d = t.begin(now).unwrap();
    let cases: Vec<(String, ReplyOutcome)> = vec![
        (
            format!("{a}r1"),
            ReplyOutcome::Accepted {
                id: a,
                is_final: false,
            },
        ),
        (
            format!("{a}r2;x=1"),
            ReplyOutcome::Accepted {
                id: a,
                is_final: false,
            },
        ),
        (
            format!("{a}R3"),
            ReplyOutcome::Accepted {
                id: a,
                is_final: true,
            },
        ),
        (format!("{a}R4"), ReplyOutcome::Unknown { id: a }),
        (
            format!("{b}r2"),
            ReplyOutcome::Failed {
                id: b,
                error: ReplyError::Sequence(SequenceError::OutOfSequence {
                    expected: 1,
                    got: Some(2),
                }),
            },
        ),
        (format!("{b}R"), ReplyOutcome::Unknown { id: b }),
        (
            format!("{c}"),
            ReplyOutcome::Failed {
                id: c,
                error: ReplyError::Subject(SubjectError::MissingMark),
            },
        ),
        (
            format!("{d}r1"),
            ReplyOutcome::Accepted {
                id: d,
                is_final: false,
            },
        ),
        (
            format!("{d}R"),
            ReplyOutcome::Failed {
                id: d,
                error: ReplyError::Sequence(SequenceError::OutOfSequence {
                    expected: 2,
                    got: None,
                }),
            },
        ),
        ("999R".into(), ReplyOutcome::Unknown { id: 999 }),
        ("x1R".into(), ReplyOutcome::Malformed(SubjectError::BadId)),
        ("".into(), ReplyOutcome::Malformed(SubjectError::Empty)),
        ("0R".into(), ReplyOutcome::Malformed(SubjectError::BadId)),
    ];
    for (subject, want) in cases {
        assert_eq!(t.on_reply(&subject, now), want, "{subject}");
    }
    assert_eq!(t.in_flight(), 0);
    assert_eq!(t.poll_timeout(), None);
}

#[test]
fn timeouts_are_synthesized_at_the_deadline() {
    let t0 = Instant::now();
    let mut t = Transactions::new(TransactionConfig {
        timeout: Duration::from_secs(10),
    });
    let a = t.begin(t0).unwrap();
    let b = t.begin(t0 + Duration::from_secs(1)).unwrap();
    let c = t.begin_with_timeout(t0, Duration::from_secs(60)).unwrap();
    assert_eq!(t.poll_timeout(), Some(t0 + Duration::from_secs(10)));
    assert!(t
        .handle_timeout(t0 + Duration::from_millis(9_999))
        .is_empty());
    assert_eq!(t.handle_timeout(t0 + Duration::from_secs(10)), vec![a]);
    assert_eq!(t.poll_timeout(), Some(t0 + Duration::from_secs(11)));
    // A partial reply to b keeps it alive for another 10 s.
    let t5 = t0 + Duration::from_secs(5);
    assert_eq!(
        t.on_reply(&format!("{b}r1"), t5),
        ReplyOutcome::Accepted {
            id: b,
            is_final: false
        }
    );
    assert_eq!(t.deadline(b), Some(t5 + Duration::from_secs(10)));
    assert!(t.handle_timeout(t0 + Duration::from_secs(14)).is_empty());
    assert_eq!(t.handle_timeout(t0 + Duration::from_secs(15)), vec![b]);
    // Late replies are dropped silently.
    let late = t0 + Duration::from_secs(16);
    assert_eq!(
        t.on_reply(&format!("{a}R"), late),
        ReplyOutcome::Unknown { id: a }
    );
    assert_eq!(
        t.on_reply(&format!("{b}R2"), late),
        ReplyOutcome::Unknown { id: b }
    );
    assert_eq!(t.poll_timeout(), Some(t0 + Duration::from_secs(60)));
    assert_eq!(t.handle_timeout(t0 + Duration::from_secs(3600)), vec![c]);
    assert_eq!(t.in_flight(), 0);
    assert_eq!(DEFAULT_TIMEOUT, Duration::from_secs(30));
}

#[test]
fn thousand_concurrent_transactions_in_random_order() {
    let t0 = Instant::now();
    let mut t = Transactions::default();
    let ids: Vec<u64> = (0..1000).map(|_| t.begin(t0).unwrap()).collect();
    assert_eq!(t.in_flight(), 1000);
    // Each transaction gets 1..=3 replies: partials r1.. then R<n> (or R).
    let mut rng = Rng(42);
    let mut replies: Vec<String> = Vec::new();
    let mut queues: Vec<Vec<String>> = ids
        .iter()
        .map(|&id| match rng.next() % 3 {
            0 => vec![format!("{id}R")],
            1 => vec![format!("{id}r1"), format!("{id}R2")],
            _ => vec![format!("{id}r1"), format!("{id}r2"), format!("{id}R3;z")],
        })
        .collect();
    // Interleave randomly while keeping each transaction's own order.
    while !queues.is_empty() {
        let i = (rng.next() % queues.len() as u64) as usize;
        let subject = queues[i].remove(0);
        replies.push(subject);
        if queues[i].is_empty() {
            queues.swap_remove(i);
        }
    }
    let mut finals = 0;
    let mut now = t0;
    for subject in &replies {
        now += Duration::from_millis(10);
        match t.on_reply(subject, now) {
            ReplyOutcome::Accepted { is_final, .. } => finals += usize::from(is_final),
            other => panic!("{subject}: {other:?}"),
        }
        assert!(t.handle_timeout(now).is_empty());
    }
    assert_eq!(finals, 1000);
    assert_eq!(t.in_flight(), 0);
    assert_eq!(t.poll_timeout(), None);
}
