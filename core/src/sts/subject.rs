//! Transaction ids and reply sequence marks in the STS `Subject` (`s`)
//! header.
//!
//! A request that expects replies carries its transaction id as the decimal
//! Subject (`s: 5`). The ids run from 1 through 2^32 ([`MAX_TRANSACTION_ID`]);
//! a missing Subject or the id 0 means "no reply wanted".
//!
//! Replies echo the id followed by a mark (this syntax comes from
//! python-sts; the spec only says the id is returned):
//!
//! | subject | meaning |
//! |---|---|
//! | `5r1`, `5r2`, … | partial reply number n (n ≥ 1) |
//! | `5R` | the one and only (final) reply |
//! | `5R3` | final reply, numbered n (after partials 1..n-1, or `R1` alone) |
//!
//! The case of the letter carries the meaning: lowercase is a partial
//! reply, uppercase the final one. Anything from the first `;` on is ignored
//! (`5R;x=y` is `5R`).
//!
//! [`ReplySequence`] checks that the replies of one transaction arrive in
//! the order python-sts insists on.

use std::fmt;

/// The largest transaction id: 2^32 (the spec's range is 1 through 2^32,
/// inclusive, so ids need 33 bits and are carried as `u64`).
pub const MAX_TRANSACTION_ID: u64 = 1 << 32;

/// Reads the transaction id from a request's Subject.
///
/// Returns `None` — the request is a notification that expects no reply —
/// when the Subject is absent, empty, `0`, not a decimal number, or above
/// [`MAX_TRANSACTION_ID`].
///
/// Lenient choices: surrounding whitespace is trimmed and leading zeros are
/// accepted (`" 007 "` is 7), as python's `int()` did. Signs, inner spaces
/// and anything after the digits (including a `;` suffix) are rejected.
pub fn parse_request_id(subject: Option<&str>) -> Option<u64> {
    let id = parse_digits(subject?.trim())?;
    (1..=MAX_TRANSACTION_ID).contains(&id).then_some(id)
}

/// Reads only the transaction id of a reply Subject (the digits before the
/// `r`/`R` mark), ignoring whether the mark itself is well formed.
///
/// Lets a caller find the transaction a malformed reply belongs to (and fail
/// it) instead of dropping the reply as unreadable. A Subject without any
/// mark yields its whole (trimmed) text as the id.
///
/// # Errors
/// [`SubjectError::Empty`] or [`SubjectError::BadId`].
pub fn reply_id(subject: &str) -> Result<u64, SubjectError> {
    let text = strip_suffix(subject);
    if text.is_empty() {
        return Err(SubjectError::Empty);
    }
    let id_text = match text.find(['r', 'R']) {
        Some(pos) => &text[..pos],
        None => text,
    };
    parse_id(id_text)
}

/// The sequence mark of a reply Subject.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ReplyMark {
    /// `r<n>`: partial reply number n; more replies follow. Parsed marks
    /// always have n ≥ 1.
    Partial(u64),
    /// `R` (`None`) or `R<n>` (`Some(n)`): the final reply of the
    /// transaction. Parsing maps `R0` to `None`, as python-sts did.
    Final(Option<u64>),
}

impl ReplyMark {
    /// `true` for [`ReplyMark::Final`].
    pub fn is_final(self) -> bool {
        matches!(self, ReplyMark::Final(_))
    }

    /// The sequence number, if the mark carries one (0 counts as none).
    pub fn number(self) -> Option<u64> {
        match self {
            ReplyMark::Partial(n) | ReplyMark::Final(Some(n)) if n != 0 => Some(n),
            _ => None,
        }
    }
}

/// A parsed reply Subject: the transaction id and the sequence mark.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ReplySubject {
    /// The transaction id, 1 through [`MAX_TRANSACTION_ID`].
    pub id: u64,
    /// Partial or final, with its number.
    pub mark: ReplyMark,
}

impl ReplySubject {
    /// Parses a reply Subject such as `5r1`, `5R`, `5R3` or `5R;x=y`.
    ///
    /// Leniency: the text before the first `;` is trimmed of surrounding
    /// whitespace; leading zeros are accepted in both numbers. `R0` is read
    /// as a bare `R` (python-sts's "no number"); `r0`, like a bare `r`, is a
    /// partial reply without a number and is rejected.
    ///
    /// # Errors
    /// A [`SubjectError`] naming the first problem found.
    pub fn parse(subject: &str) -> Result<ReplySubject, SubjectError> {
        let text = strip_suffix(subject);
        if text.is_empty() {
            return Err(SubjectError::Empty);
        }
        let Some(pos) = text.find(['r', 'R']) else {
            // Still report a bad id first: "abc" is not "an id without mark".
            parse_id(text)?;
            return Err(SubjectError::MissingMark);
        };
        let id = parse_id(&text[..pos])?;
        let is_final = text.as_bytes()[pos] == b'R';
        let number_text = &text[pos + 1..];
        let number = if number_text.is_empty() {
            0
        } else {
            parse_digits(number_text).ok_or(SubjectError::BadNumber)?
        };
        let mark = match (is_final, number) {
            (true, 0) => ReplyMark::Final(None),
            (true, n) => ReplyMark::Final(Some(n)),
            (false, 0) => return Err(SubjectError::PartialWithoutNumber),
            (false, n) => ReplyMark::Partial(n),
        };
        Ok(ReplySubject { id, mark })
    }
}

impl fmt::Display for ReplySubject {
    /// The canonical form: `5r1`, `5R` or `5R3` (no suffix).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.mark {
            ReplyMark::Partial(n) => write!(f, "{}r{}", self.id, n),
            ReplyMark::Final(None) => write!(f, "{}R", self.id),
            ReplyMark::Final(Some(n)) => write!(f, "{}R{}", self.id, n),
        }
    }
}

/// Why a reply Subject could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SubjectError {
    /// The Subject is empty (or only whitespace before a `;`). The reply
    /// cannot be matched to a transaction.
    #[error("empty reply subject")]
    Empty,
    /// The id is not a decimal number in 1..=2^32. The reply cannot be
    /// matched to a transaction.
    #[error("reply subject has no valid transaction id")]
    BadId,
    /// The Subject is a bare id without `r`/`R`: a request-style Subject on
    /// a reply. The transaction is known but the reply is bad server data.
    #[error("reply subject has no r/R sequence mark")]
    MissingMark,
    /// The text after `r`/`R` is not a decimal number (e.g. `5rx`, `5r1r2`).
    #[error("reply subject has an invalid sequence number")]
    BadNumber,
    /// A partial reply (`r`) without a number, or numbered 0: partial
    /// replies are always numbered from 1.
    #[error("partial reply subject without a sequence number")]
    PartialWithoutNumber,
}

/// Checks the order of the replies of one transaction, by python-sts's
/// rules:
///
/// * the first numbered reply must be number 1;
/// * each further numbered reply must be the previous number + 1;
/// * after numbered partial replies, the final reply must be `R<n>` with the
///   expected n: a bare `R` is out of sequence;
/// * a lone `R` or `R1` as the first reply is a complete transaction;
/// * nothing may follow the final reply.
///
/// A rejected reply leaves the state unchanged; callers normally fail the
/// whole transaction on any error (the spec allows treating out-of-sequence
/// replies as a failed transaction, and python-sts does so).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReplySequence {
    /// The number the next reply must carry; `None` before any numbered
    /// reply.
    next: Option<u64>,
    /// The final reply has been accepted.
    finished: bool,
}

impl ReplySequence {
    /// A sequence that has seen no reply yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Checks the next reply's mark and records it.
    ///
    /// Returns `Ok(true)` when the mark is the final one (the transaction is
    /// complete), `Ok(false)` for an accepted partial reply. `Final(Some(0))`
    /// counts as a bare `R`.
    ///
    /// # Errors
    /// A [`SequenceError`]; the state is not changed.
    pub fn accept(&mut self, mark: ReplyMark) -> Result<bool, SequenceError> {
        if self.finished {
            return Err(SequenceError::AfterFinal);
        }
        let number = mark.number();
        match (self.next, number) {
            (Some(expected), got) if got != Some(expected) => {
                return Err(SequenceError::OutOfSequence { expected, got });
            }
            (None, Some(got)) if got != 1 => {
                return Err(SequenceError::OutOfSequence {
                    expected: 1,
                    got: Some(got),
                });
            }
            _ => {}
        }
        let is_final = mark.is_final();
        if !is_final && number.is_none() {
            return Err(SequenceError::PartialWithoutNumber);
        }
        if let Some(n) = number {
            if is_final {
                self.next = Some(n);
            } else {
                self.next = Some(n.checked_add(1).ok_or(SequenceError::NumberOverflow)?);
            }
        }
        self.finished = is_final;
        Ok(is_final)
    }

    /// `true` once the final reply has been accepted.
    pub fn is_finished(&self) -> bool {
        self.finished
    }

    /// The number the next numbered reply must carry (1 before any numbered
    /// reply).
    pub fn expected(&self) -> u64 {
        self.next.unwrap_or(1)
    }
}

/// Why a reply was rejected by [`ReplySequence::accept`]. Each of these is
/// bad server data: the transaction should fail.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SequenceError {
    /// The reply's number is not the expected one; `got: None` is a bare
    /// `R` after numbered partial replies.
    #[error("reply out of sequence: expected number {expected}, got {got:?}")]
    OutOfSequence {
        /// The number the reply should have carried.
        expected: u64,
        /// The number it carried, if any.
        got: Option<u64>,
    },
    /// A reply arrived after the final reply.
    #[error("reply after the final reply")]
    AfterFinal,
    /// A partial reply without a number (or numbered 0).
    #[error("partial reply without a sequence number")]
    PartialWithoutNumber,
    /// A partial reply numbered `u64::MAX`: no further number exists.
    #[error("reply sequence number overflow")]
    NumberOverflow,
}

/// Text before the first `;`, trimmed.
fn strip_suffix(subject: &str) -> &str {
    subject.split(';').next().unwrap_or("").trim()
}

/// A transaction id in 1..=2^32.
fn parse_id(text: &str) -> Result<u64, SubjectError> {
    parse_digits(text)
        .filter(|id| (1..=MAX_TRANSACTION_ID).contains(id))
        .ok_or(SubjectError::BadId)
}

/// A non-empty run of ASCII digits as u64; `None` on anything else or on
/// overflow.
fn parse_digits(text: &str) -> Option<u64> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.bytes().try_fold(0u64, |acc, b| {
        acc.checked_mul(10)?.checked_add(u64::from(b - b'0'))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_ids() {
        let cases: &[(Option<&str>, Option<u64>)] = &[
            (None, None),
            (Some(""), None),
            (Some("0"), None),
            (Some("5"), Some(5)),
            (Some(" 7 "), Some(7)),
            (Some("007"), Some(7)),
            (Some("+5"), None),
            (Some("-5"), None),
            (Some("5;x"), None),
            (Some("abc"), None),
            (Some("4294967296"), Some(MAX_TRANSACTION_ID)),
            (Some("4294967297"), None),
            (Some("99999999999999999999999"), None),
        ];
        for (input, want) in cases {
            assert_eq!(parse_request_id(*input), *want, "{input:?}");
        }
    }

    #[test]
    fn reply_subjects() {
        use ReplyMark::*;
        let ok: &[(&str, u64, ReplyMark, &str)] = &[
            ("5r1", 5, Partial(1), "5r1"),
            ("5R", 5, Final(None), "5R"),
            ("5R3", 5, Final(Some(3)), "5R3"),
            ("5R0", 5, Final(None), "5R"),
            ("5R;x=y", 5, Final(None), "5R"),
            (" 5r2 ;x", 5, Partial(2), "5r2"),
            (
                "4294967296R",
                MAX_TRANSACTION_ID,
                Final(None),
                "4294967296R",
            ),
        ];
        for (input, id, mark, canon) in ok {
            let s = ReplySubject::parse(input).unwrap();
            assert_eq!((s.id, s.mark), (*id, *mark), "{input}");
            assert_eq!(s.to_string(), *canon);
        }
        let bad: &[(&str, SubjectError)] = &[
            ("", SubjectError::Empty),
            (";x", SubjectError::Empty),
            ("5", SubjectError::MissingMark),
            ("5x", SubjectError::BadId),
            ("r1", SubjectError::BadId),
            ("0R", SubjectError::BadId),
            ("4294967297R", SubjectError::BadId),
            ("5r", SubjectError::PartialWithoutNumber),
            ("5r0", SubjectError::PartialWithoutNumber),
            ("5rx", SubjectError::BadNumber),
            ("5r1r2", SubjectError::BadNumber),
            ("5R99999999999999999999999", SubjectError::BadNumber),
        ];
        for (input, err) in bad {
            assert_eq!(ReplySubject::parse(input), Err(err.clone()), "{input}");
        }
        assert_eq!(reply_id("5x"), Err(SubjectError::BadId));
        assert_eq!(reply_id("5rx"), Ok(5));
        assert_eq!(reply_id("5"), Ok(5));
        assert_eq!(reply_id(""), Err(SubjectError::Empty));
    }

    #[test]
    fn sequences() {
        use ReplyMark::*;
        let run = |marks: &[ReplyMark]| -> Vec<Result<bool, SequenceError>> {
            let mut seq = ReplySequence::new();
            marks.iter().map(|m| seq.accept(*m)).collect()
        };
        assert_eq!(
            run(&[Partial(1), Partial(2), Final(Some(3))]),
            vec![Ok(false), Ok(false), Ok(true)]
        );
        assert_eq!(run(&[Final(None)]), vec![Ok(true)]);
        assert_eq!(run(&[Final(Some(1))]), vec![Ok(true)]);
        assert_eq!(
            run(&[Partial(2)]),
            vec![Err(SequenceError::OutOfSequence {
                expected: 1,
                got: Some(2)
            })]
        );
        assert_eq!(
            run(&[Final(Some(2))])[0],
            Err(SequenceError::OutOfSequence {
                expected: 1,
                got: Some(2)
            })
        );
        assert_eq!(
            run(&[Partial(1), Partial(3)])[1],
            Err(SequenceError::OutOfSequence {
                expected: 2,
                got: Some(3)
            })
        );
        assert_eq!(
            run(&[Partial(1), Final(None)])[1],
            Err(SequenceError::OutOfSequence {
                expected: 2,
                got: None
            })
        );
        assert_eq!(
            run(&[Final(None), Final(None)])[1],
            Err(SequenceError::AfterFinal)
        );
        assert_eq!(
            run(&[Final(Some(1)), Partial(2)])[1],
            Err(SequenceError::AfterFinal)
        );
        assert_eq!(
            run(&[Partial(0)])[0],
            Err(SequenceError::PartialWithoutNumber)
        );
        assert_eq!(
            run(&[Partial(u64::MAX)])[0],
            Err(SequenceError::OutOfSequence {
                expected: 1,
                got: Some(u64::MAX)
            })
        );
    }

    #[test]
    fn rejected_reply_keeps_state() {
        let mut seq = ReplySequence::new();
        assert!(seq.accept(ReplyMark::Partial(3)).is_err());
        assert_eq!(seq.expected(), 1);
        assert_eq!(seq.accept(ReplyMark::Partial(1)), Ok(false));
        assert_eq!(seq.expected(), 2);
        assert!(!seq.is_finished());
        assert_eq!(seq.accept(ReplyMark::Final(Some(2))), Ok(true));
        assert!(seq.is_finished());
    }
}
