//! STS/1.0 headers: compact names, multi-value headers and the ordered
//! header list of a message.
//!
//! STS borrows the SIP idea of *compact* header names: `l` is
//! `Content-Length`, `s` is `Subject`, and so on (see [`COMPACT_HEADERS`]).
//! A peer may send either form and every peer must accept both, so all
//! lookups here treat a name, its other spelling and any letter case as the
//! same header ([`same_name`]). The names themselves are kept exactly as
//! given, and [`NameStyle`] decides how they are written out.

use std::borrow::Cow;

/// The 18 compact header names of STS/1.0, as `(compact, full)` pairs.
///
/// The full spelling is the canonical one written by [`NameStyle::Full`].
pub const COMPACT_HEADERS: [(&str, &str); 18] = [
    ("a", "Accept"),
    ("e", "Content-Encoding"),
    ("l", "Content-Length"),
    ("n", "Content-Range"),
    ("c", "Content-Type"),
    ("f", "From"),
    ("g", "X-From-Game"),
    ("h", "X-From-Rights"),
    ("r", "Refer-To"),
    ("p", "Reply-To"),
    ("q", "X-Sequence"),
    ("m", "Stream"),
    ("s", "Subject"),
    ("z", "Timestamp"),
    ("t", "To"),
    ("i", "X-Trace-ID"),
    ("x", "Transfer-Encoding"),
    ("v", "Via"),
];

/// The headers that may carry several comma-separated values and may be
/// repeated (lower-case full names; the compact forms `a`, `e`, `x` and `v`
/// name the same headers).
pub const MULTI_HEADERS: [&str; 26] = [
    "accept",
    "accept-charset",
    "accept-encoding",
    "accept-language",
    "accept-ranges",
    "allow",
    "cache-control",
    "connection",
    "content-encoding",
    "content-language",
    "expect",
    "if-match",
    "if-none-match",
    "pragma",
    "proxy-authenticate",
    "set-cookie",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "user-agent",
    "vary",
    "via",
    "warning",
    "www-authenticate",
    "x-forwarded-for",
];

/// Full canonical names of the headers the protocol itself uses.
pub mod names {
    /// `Content-Length` (compact `l`).
    pub const CONTENT_LENGTH: &str = "Content-Length";
    /// `Content-Range` (compact `n`).
    pub const CONTENT_RANGE: &str = "Content-Range";
    /// `Content-Type` (compact `c`).
    pub const CONTENT_TYPE: &str = "Content-Type";
    /// `Subject` (compact `s`): the transaction id.
    pub const SUBJECT: &str = "Subject";
    /// `X-Sequence` (compact `q`): groups fragments outside transactions.
    pub const SEQUENCE: &str = "X-Sequence";
}

/// The content type assumed when a message has no `Content-Type` header
/// (the spec: "The Content-Type header is optional and defaults to
/// 'application/xml'").
pub const DEFAULT_CONTENT_TYPE: &str = "application/xml";

/// The compact letter of a header, given either of its names in any case.
///
/// `compact_name("Content-Length") == Some("l")`, `compact_name("L") ==
/// Some("l")`; `None` for headers without a compact form.
pub fn compact_name(name: &str) -> Option<&'static str> {
    entry(name).map(|(c, _)| c)
}

/// The full canonical spelling of a header that has a compact form, given
/// either of its names in any case (`full_name("l") ==
/// Some("Content-Length")`); `None` for other headers.
pub fn full_name(name: &str) -> Option<&'static str> {
    entry(name).map(|(_, f)| f)
}

/// Whether a header may hold several values (see [`MULTI_HEADERS`]);
/// either name form, any case.
pub fn is_multi(name: &str) -> bool {
    let full = full_name(name).unwrap_or(name);
    MULTI_HEADERS.iter().any(|m| m.eq_ignore_ascii_case(full))
}

/// Whether two header names denote the same header: letter case is ignored
/// and a compact name equals its full name (`l`, `Content-Length` and
/// `content-length` are all the same).
pub fn same_name(a: &str, b: &str) -> bool {
    if a.eq_ignore_ascii_case(b) {
        return true;
    }
    match (compact_name(a), compact_name(b)) {
        (Some(x), Some(y)) => x == y,
        (None, None) => a.eq_ignore_ascii_case(b),
        _ => false,
    }
}

/// A canonical key for a header name: its compact letter when it has one,
/// otherwise the name in lower case. Two names are [`same_name`] exactly
/// when their keys are equal.
pub fn canonical_key(name: &str) -> Cow<'_, str> {
    match compact_name(name) {
        Some(c) => Cow::Borrowed(c),
        None if name.bytes().any(|b| b.is_ascii_uppercase()) => {
            Cow::Owned(name.to_ascii_lowercase())
        }
        None => Cow::Borrowed(name),
    }
}

/// How header names are written when a message is encoded.
///
/// The default is [`Compact`](Self::Compact): python-sts writes the headers
/// it adds itself (`s`, `l`) in compact form, it is the shortest form on the
/// wire, and the spec requires every peer to accept both forms, so nothing
/// is lost.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum NameStyle {
    /// The compact letter for the 18 headers that have one
    /// ([`COMPACT_HEADERS`]); other names as given.
    #[default]
    Compact,
    /// The full canonical spelling (`Content-Length`, `X-Trace-ID`) for
    /// the 18 headers with a compact form; other names as given.
    Full,
    /// Every name exactly as the caller gave it.
    AsGiven,
}

impl NameStyle {
    /// The spelling of `name` on the wire under this style.
    pub fn wire_name<'a>(&self, name: &'a str) -> &'a str {
        match self {
            NameStyle::Compact => compact_name(name).unwrap_or(name),
            NameStyle::Full => full_name(name).unwrap_or(name),
            NameStyle::AsGiven => name,
        }
    }
}

/// A header value is unusable for what the protocol needs from it.
///
/// Always a problem with the message (a peer's or the caller's), never a
/// transient one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HeaderError {
    /// The value does not have the required form.
    #[error("invalid {name} value {value:?}: {expected}")]
    BadValue {
        /// The header's full name.
        name: &'static str,
        /// The offending value.
        value: String,
        /// What the value should look like.
        expected: &'static str,
    },
    /// A single-value header appears more than once with different values.
    #[error("conflicting {name} values {first:?} and {second:?}")]
    Conflict {
        /// The header's full name.
        name: &'static str,
        /// The first value seen.
        first: String,
        /// A later, different value.
        second: String,
    },
}

/// The headers of one message: `(name, value)` entries in wire order.
///
/// Names are stored as given; every lookup treats names as
/// [`same_name`] does. Two `Headers` compare equal when they hold the same
/// values in the same order under the same (equivalent) names, so `l: 3`
/// equals `Content-Length: 3`.
#[derive(Debug, Clone, Default)]
pub struct Headers {
    entries: Vec<(String, String)>,
}

impl Headers {
    /// An empty header list.
    pub fn new() -> Self {
        Headers::default()
    }

    /// The number of entries (header lines).
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there are no entries.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The entries in order, as `(name, value)`.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> + '_ {
        self.entries.iter().map(|(n, v)| (n.as_str(), v.as_str()))
    }

    /// The value of a single-value header. When the header appears more
    /// than once the **last** occurrence wins, as in python-sts (whose
    /// header dictionary keeps the last value it read).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.get_query(&Query::new(name))
    }

    fn get_query(&self, q: &Query<'_>) -> Option<&str> {
        self.entries
            .iter()
            .rev()
            .find(|(n, _)| q.matches(n))
            .map(|(_, v)| v.as_str())
    }

    /// Every value of a multi-value header, over all its occurrences in
    /// order: each occurrence is split on `,`, items are trimmed and empty
    /// items dropped. Works for any header name (a single-value header
    /// containing commas is split too).
    pub fn get_all(&self, name: &str) -> Vec<&str> {
        let q = Query::new(name);
        self.entries
            .iter()
            .filter(|(n, _)| q.matches(n))
            .flat_map(|(_, v)| v.split(','))
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .collect()
    }

    /// Whether the header appears at least once.
    pub fn contains(&self, name: &str) -> bool {
        let q = Query::new(name);
        self.entries.iter().any(|(n, _)| q.matches(n))
    }

    /// Sets a header to one value: the first occurrence keeps its position
    /// (and takes the new name and value), later occurrences are removed;
    /// when absent the header is appended.
    pub fn set(&mut self, name: impl Into<String>, value: impl Into<String>) {
        let name = name.into();
        let value = value.into();
        let q = Query::new(&name);
        match self.entries.iter().position(|(n, _)| q.matches(n)) {
            Some(first) => {
                let mut i = 0;
                self.entries.retain(|(n, _)| {
                    let keep = i <= first || !q.matches(n);
                    i += 1;
                    keep
                });
                if let Some(slot) = self.entries.get_mut(first) {
                    *slot = (name, value);
                }
            }
            None => self.entries.push((name, value)),
        }
    }

    /// Appends an entry, keeping any existing ones (for multi-value
    /// headers, or to reproduce a wire message exactly).
    pub fn append(&mut self, name: impl Into<String>, value: impl Into<String>) {
        self.entries.push((name.into(), value.into()));
    }

    /// Removes every occurrence of a header; `true` if any was present.
    pub fn remove(&mut self, name: &str) -> bool {
        let before = self.entries.len();
        let q = Query::new(name);
        self.entries.retain(|(n, _)| !q.matches(n));
        self.entries.len() != before
    }

    /// The declared body length: `Ok(None)` when absent. Every occurrence
    /// must be a decimal number (digits only, no sign) that fits in a
    /// `u64`, and repeated occurrences must agree.
    pub fn content_length(&self) -> Result<Option<u64>, HeaderError> {
        let mut found: Option<(u64, &str)> = None;
        let q = Query::known("l", names::CONTENT_LENGTH);
        for (n, v) in &self.entries {
            if !q.matches(n) {
                continue;
            }
            let len = parse_decimal(v).ok_or_else(|| HeaderError::BadValue {
                name: names::CONTENT_LENGTH,
                value: v.clone(),
                expected: "a non-negative decimal number",
            })?;
            match found {
                Some((prev, first)) if prev != len => {
                    return Err(HeaderError::Conflict {
                        name: names::CONTENT_LENGTH,
                        first: first.to_string(),
                        second: v.clone(),
                    })
                }
                Some(_) => {}
                None => found = Some((len, v)),
            }
        }
        Ok(found.map(|(len, _)| len))
    }

    /// The content type, [`DEFAULT_CONTENT_TYPE`] when absent.
    pub fn content_type(&self) -> &str {
        self.get_query(&Query::known("c", names::CONTENT_TYPE))
            .unwrap_or(DEFAULT_CONTENT_TYPE)
    }

    /// Whether the content type's media type (parameters ignored, any
    /// case) is `application/xml`, the default.
    pub fn is_xml(&self) -> bool {
        let ct = self.content_type();
        let media = ct.split(';').next().unwrap_or("").trim();
        media.eq_ignore_ascii_case(DEFAULT_CONTENT_TYPE)
    }

    /// The `Subject` (`s`) header: the transaction id of a request, or the
    /// id and reply mark of a reply (`1r1`, `1R2`).
    pub fn subject(&self) -> Option<&str> {
        self.get_query(&Query::known("s", names::SUBJECT))
    }

    /// The `X-Sequence` (`q`) header, which groups fragments that are not
    /// part of a transaction.
    pub fn sequence(&self) -> Option<&str> {
        self.get_query(&Query::known("q", names::SEQUENCE))
    }

    /// The raw `Content-Range` (`n`) header of a fragment, such as
    /// `bytes 0-2/6` (parsed by the fragment layer).
    pub fn content_range_raw(&self) -> Option<&str> {
        self.get_query(&Query::known("n", names::CONTENT_RANGE))
    }
}

impl PartialEq for Headers {
    fn eq(&self, other: &Self) -> bool {
        self.entries.len() == other.entries.len()
            && self
                .entries
                .iter()
                .zip(&other.entries)
                .all(|((n1, v1), (n2, v2))| v1 == v2 && same_name(n1, n2))
    }
}

impl Eq for Headers {}

impl<N: Into<String>, V: Into<String>> FromIterator<(N, V)> for Headers {
    fn from_iter<T: IntoIterator<Item = (N, V)>>(iter: T) -> Self {
        Headers {
            entries: iter
                .into_iter()
                .map(|(n, v)| (n.into(), v.into()))
                .collect(),
        }
    }
}

/// A decimal number of ASCII digits only (surrounding spaces and tabs
/// allowed), fitting in a `u64`.
pub(crate) fn parse_decimal(text: &str) -> Option<u64> {
    let t = text.trim_matches([' ', '\t']);
    if t.is_empty() || !t.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    t.parse().ok()
}

/// A header name to look up, with its table entry found once: each entry
/// compared is then a length check and at most two case-insensitive
/// comparisons, never a table scan.
struct Query<'a> {
    name: &'a str,
    entry: Option<(&'static str, &'static str)>,
}

impl<'a> Query<'a> {
    fn new(name: &'a str) -> Self {
        Query {
            name,
            entry: entry(name),
        }
    }

    /// A header of the compact table, without looking it up.
    const fn known(compact: &'static str, full: &'static str) -> Query<'static> {
        Query {
            name: full,
            entry: Some((compact, full)),
        }
    }

    /// Whether `n` is [`same_name`] as the query.
    fn matches(&self, n: &str) -> bool {
        match self.entry {
            Some((c, f)) => {
                (n.len() == c.len() && n.eq_ignore_ascii_case(c))
                    || (n.len() == f.len() && n.eq_ignore_ascii_case(f))
            }
            None => n.eq_ignore_ascii_case(self.name),
        }
    }
}

fn entry(name: &str) -> Option<(&'static str, &'static str)> {
    // Called for every header encoded and looked up: compact letters by
    // a direct match, full names compared only when the length fits.
    if let [b] = name.as_bytes() {
        let i = match b.to_ascii_lowercase() {
            b'a' => 0,
            b'e' => 1,
            b'l' => 2,
            b'n' => 3,
            b'c' => 4,
            b'f' => 5,
            b'g' => 6,
            b'h' => 7,
            b'r' => 8,
            b'p' => 9,
            b'q' => 10,
            b'm' => 11,
            b's' => 12,
            b'z' => 13,
            b't' => 14,
            b'i' => 15,
            b'x' => 16,
            b'v' => 17,
            _ => return None,
        };
        return COMPACT_HEADERS.get(i).copied();
    }
    COMPACT_HEADERS
        .iter()
        .find(|(_, f)| f.len() == name.len() && f.eq_ignore_ascii_case(name))
        .copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compact_and_full_lookup() {
        assert_eq!(compact_name("Content-Length"), Some("l"));
        assert_eq!(compact_name("L"), Some("l"));
        assert_eq!(compact_name("x-trace-id"), Some("i"));
        assert_eq!(compact_name("Content-Language"), None);
        assert_eq!(full_name("i"), Some("X-Trace-ID"));
        assert_eq!(full_name("SUBJECT"), Some("Subject"));
        assert_eq!(full_name("b"), None);
    }

    #[test]
    fn table_is_consistent() {
        for (c, f) in COMPACT_HEADERS {
            assert_eq!(compact_name(f), Some(c));
            assert_eq!(full_name(c), Some(f));
            assert!(same_name(c, &f.to_uppercase()));
        }
        assert_eq!(MULTI_HEADERS.len(), 26);
    }

    #[test]
    fn multi_headers() {
        assert!(is_multi("a"));
        assert!(is_multi("Accept"));
        assert!(is_multi("V"));
        assert!(is_multi("X-Forwarded-For"));
        assert!(!is_multi("l"));
        assert!(!is_multi("Subject"));
    }

    #[test]
    fn names_compare() {
        assert!(same_name("l", "Content-Length"));
        assert!(same_name("content-length", "L"));
        assert!(same_name("X-Foo", "x-foo"));
        assert!(!same_name("l", "s"));
        assert!(!same_name("l", "x-foo"));
        assert_eq!(canonical_key("Content-Length"), "l");
        assert_eq!(canonical_key("X-Foo"), "x-foo");
    }

    #[test]
    fn get_last_wins_and_get_all_splits() {
        let mut h = Headers::new();
        h.append("s", "1");
        h.append("Accept", "a/b, c/d");
        h.append("subject", "2");
        h.append("a", " ,e/f");
        assert_eq!(h.get("Subject"), Some("2"));
        assert_eq!(h.get_all("accept"), vec!["a/b", "c/d", "e/f"]);
        assert!(h.contains("A"));
        assert!(!h.contains("q"));
    }

    #[test]
    fn set_keeps_first_position() {
        let mut h = Headers::new();
        h.append("s", "1");
        h.append("x-a", "0");
        h.append("Subject", "2");
        h.set("SUBJECT", "3");
        let v: Vec<_> = h.iter().collect();
        assert_eq!(v, vec![("SUBJECT", "3"), ("x-a", "0")]);
        h.set("q", "9");
        assert_eq!(h.len(), 3);
        assert!(h.remove("x-sequence"));
        assert!(!h.remove("x-sequence"));
    }

    #[test]
    fn content_length_rules() {
        let h: Headers = [("l", "12")].into_iter().collect();
        assert_eq!(h.content_length(), Ok(Some(12)));
        let h: Headers = [("l", "12"), ("Content-Length", "12")]
            .into_iter()
            .collect();
        assert_eq!(h.content_length(), Ok(Some(12)));
        for bad in ["-1", "+1", "1a", "", "99999999999999999999999"] {
            let h: Headers = [("l", bad)].into_iter().collect();
            assert!(h.content_length().is_err(), "{bad}");
        }
        let h: Headers = [("l", "1"), ("content-length", "2")].into_iter().collect();
        assert!(matches!(
            h.content_length(),
            Err(HeaderError::Conflict { .. })
        ));
        assert_eq!(Headers::new().content_length(), Ok(None));
    }

    #[test]
    fn content_type_default() {
        let h = Headers::new();
        assert_eq!(h.content_type(), "application/xml");
        assert!(h.is_xml());
        let h: Headers = [("c", "Application/XML; charset=utf-8")]
            .into_iter()
            .collect();
        assert!(h.is_xml());
        let h: Headers = [("Content-Type", "text/plain")].into_iter().collect();
        assert!(!h.is_xml());
    }

    #[test]
    fn equality_ignores_name_form() {
        let a: Headers = [("l", "3"), ("s", "1")].into_iter().collect();
        let b: Headers = [("Content-Length", "3"), ("subject", "1")]
            .into_iter()
            .collect();
        assert_eq!(a, b);
        let c: Headers = [("s", "1"), ("l", "3")].into_iter().collect();
        assert_ne!(a, c);
    }

    #[test]
    fn name_styles() {
        assert_eq!(NameStyle::default(), NameStyle::Compact);
        assert_eq!(NameStyle::Compact.wire_name("Content-Length"), "l");
        assert_eq!(NameStyle::Full.wire_name("i"), "X-Trace-ID");
        assert_eq!(NameStyle::Full.wire_name("x-other"), "x-other");
        assert_eq!(NameStyle::AsGiven.wire_name("SUBJECT"), "SUBJECT");
    }
}
