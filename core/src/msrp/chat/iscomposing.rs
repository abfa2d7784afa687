//! The is-composing document of RFC 3994 (`application/im-iscomposing+xml`):
//! build and read, sans-IO.
//!
//! A chat tells its peer that the user is typing (`active`) or stopped
//! (`idle`) with a small XML document:
//!
//! ```text
//! <?xml version="1.0" encoding="UTF-8"?>
//! <isComposing xmlns="urn:ietf:params:xml:ns:im-iscomposing">
//!   <state>active</state>
//!   <lastactive>2024-05-01T10:00:00Z</lastactive>
//!   <contenttype>text/plain</contenttype>
//!   <refresh>60</refresh>
//! </isComposing>
//! ```
//!
//! Only `state` is required. [`IsComposing::encode`] writes the elements in
//! the schema's order (state, lastactive, contenttype, refresh) and
//! [`IsComposing::parse`] reads them in any order, ignoring elements of
//! other namespaces (RFC 3994's schema allows extensions there). Both go
//! through `quick-xml`.

use std::fmt;

use quick_xml::events::{BytesDecl, BytesEnd, BytesStart, BytesText, Event};
use quick_xml::{Reader, Writer};

use crate::msrp::cpim::DateTime;

/// The MIME type of an is-composing document.
pub const CONTENT_TYPE: &str = "application/im-iscomposing+xml";

/// The XML namespace of the document's elements.
pub const NAMESPACE: &str = "urn:ietf:params:xml:ns:im-iscomposing";

/// What the composer is doing (RFC 3994 §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ComposingState {
    /// The user is composing a message.
    Active,
    /// The user is not composing (or stopped).
    Idle,
}

impl ComposingState {
    /// The word the document uses.
    pub fn as_str(self) -> &'static str {
        match self {
            ComposingState::Active => "active",
            ComposingState::Idle => "idle",
        }
    }

    /// Reads `active` or `idle` (surrounding white space ignored).
    pub fn parse(text: &str) -> Option<ComposingState> {
        match text.trim() {
            "active" => Some(ComposingState::Active),
            "idle" => Some(ComposingState::Idle),
            _ => None,
        }
    }
}

impl fmt::Display for ComposingState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One is-composing indication.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IsComposing {
    /// `active` or `idle`.
    pub state: ComposingState,
    /// When the user was last active (`lastactive`).
    pub last_active: Option<DateTime>,
    /// The type of message being composed (`contenttype`), e.g. `text/plain`.
    pub content_type: Option<String>,
    /// Seconds after which an `active` state lapses unless renewed
    /// (`refresh`; RFC 3994 asks for a positive integer).
    pub refresh: Option<u32>,
}

/// Why a document could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum IsComposingError {
    /// Not UTF-8, not well-formed XML, or more than one root element.
    #[error("is-composing document is not well-formed XML: {0}")]
    Xml(String),
    /// The root element is not `isComposing` in the is-composing namespace.
    #[error("the root element is not isComposing")]
    NotIsComposing,
    /// The `state` element is absent.
    #[error("the state element is missing")]
    MissingState,
    /// An element's text is not a valid value for it (a state other than
    /// active/idle, a refresh that is not a positive integer, a bad date).
    #[error("invalid {element} value {value:?}")]
    BadValue {
        /// The element name.
        element: &'static str,
        /// Its text.
        value: String,
    },
    /// A value to encode contains characters XML cannot carry, or a
    /// refresh of 0 (RFC 3994: positive).
    #[error("cannot encode {element}: {value:?}")]
    Unencodable {
        /// The element name.
        element: &'static str,
        /// The offending value.
        value: String,
    },
}

impl IsComposing {
    /// An indication of `state` with no optional element.
    pub fn new(state: ComposingState) -> Self {
        IsComposing {
            state,
            last_active: None,
            content_type: None,
            refresh: None,
        }
    }

    /// Writes the document (UTF-8, with an XML declaration).
    pub fn encode(&self) -> Result<Vec<u8>, IsComposingError> {
        if self.refresh == Some(0) {
            return Err(IsComposingError::Unencodable {
                element: "refresh",
                value: "0".into(),
            });
        }
        if let Some(ct) = &self.content_type {
            if ct.chars().any(|c| c.is_control() && c != '\t') || ct.trim().is_empty() {
                return Err(IsComposingError::Unencodable {
                    element: "contenttype",
                    value: ct.clone(),
                });
            }
        }
        if let Some(dt) = &self.last_active {
            if !dt.is_valid() {
                return Err(IsComposingError::Unencodable {
                    element: "lastactive",
                    value: dt.to_string(),
                });
            }
        }
        let mut w = Writer::new(Vec::with_capacity(256));
        // Writing into a Vec cannot fail.
        let _ = w.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)));
        let mut root = BytesStart::new("isComposing");
        root.push_attribute(("xmlns", NAMESPACE));
        let _ = w.write_event(Event::Start(root));
        let mut element = |name: &str, text: &str| {
            let _ = w.write_event(Event::Start(BytesStart::new(name)));
            let _ = w.write_event(Event::Text(BytesText::new(text)));
            let _ = w.write_event(Event::End(BytesEnd::new(name)));
        };
        element("state", self.state.as_str());
        if let Some(dt) = &self.last_active {
            element("lastactive", &dt.to_string());
        }
        if let Some(ct) = &self.content_type {
            element("contenttype", ct);
        }
        if let Some(r) = self.refresh {
            element("refresh", &r.to_string());
        }
        let _ = w.write_event(Event::End(BytesEnd::new("isComposing")));
        Ok(w.into_inner())
    }

    /// Reads a document (see the module docs).
    pub fn parse(body: &[u8]) -> Result<IsComposing, IsComposingError> {
        let text = std::str::from_utf8(body)
            .map_err(|_| IsComposingError::Xml("the document is not UTF-8".into()))?;
        let mut reader = Reader::from_str(text);
        reader.config_mut().trim_text(true);
        let xml = |e: &dyn fmt::Display| IsComposingError::Xml(e.to_string());
        // Depth 0: before the root; 1: inside the root; 2+: in a child.
        let mut depth = 0usize;
        let mut root_seen = false;
        // The root's prefix: its children are read when they share it.
        let mut root_prefix: Option<Vec<u8>> = None;
        // The child of the root being read (ours, in our namespace) and its text.
        let mut current: Option<&'static str> = None;
        let mut value = String::new();
        let mut state = None;
        let mut doc = IsComposing::new(ComposingState::Idle);
        loop {
            match reader.read_event().map_err(|e| xml(&e))? {
                Event::Start(e) => {
                    depth += 1;
                    let name = e.name();
                    let (prefix, local) = split_name(name.as_ref());
                    if depth == 1 {
                        if root_seen {
                            return Err(IsComposingError::Xml("two root elements".into()));
                        }
                        root_seen = true;
                        if local != b"isComposing" || namespace_of(&e, prefix)? != NAMESPACE {
                            return Err(IsComposingError::NotIsComposing);
                        }
                        root_prefix = prefix.map(<[u8]>::to_vec);
                    } else if depth == 2 && prefix == root_prefix.as_deref() {
                        current = child_name(local);
                        value.clear();
                    }
                }
                Event::Empty(e) => {
                    let name = e.name();
                    let (prefix, local) = split_name(name.as_ref());
                    if depth == 0 {
                        if local != b"isComposing" || namespace_of(&e, prefix)? != NAMESPACE {
                            return Err(IsComposingError::NotIsComposing);
                        }
                        return Err(IsComposingError::MissingState);
                    }
                    if depth == 1 && prefix == root_prefix.as_deref() {
                        if let Some(name) = child_name(local) {
                            // An empty known element: an empty value.
                            apply(&mut doc, &mut state, name, "")?;
                        }
                    }
                }
                Event::Text(t) if current.is_some() && depth == 2 => {
                    value.push_str(&t.decode().map_err(|e| xml(&e))?);
                }
                Event::GeneralRef(r) if current.is_some() && depth == 2 => {
                    if let Some(c) = r.resolve_char_ref().map_err(|e| xml(&e))? {
                        value.push(c);
                    } else {
                        let name = r.decode().map_err(|e| xml(&e))?;
                        let entity = quick_xml::escape::resolve_predefined_entity(&name)
                            .ok_or_else(|| {
                                IsComposingError::Xml(format!("unknown entity &{name};"))
                            })?;
                        value.push_str(entity);
                    }
                }
                Event::End(_) => {
                    if depth == 2 {
                        if let Some(name) = current.take() {
                            apply(&mut doc, &mut state, name, &value)?;
                        }
                    }
                    depth = depth.saturating_sub(1);
                }
                Event::Eof => break,
                _ => {}
            }
        }
        if !root_seen {
            return Err(IsComposingError::NotIsComposing);
        }
        doc.state = state.ok_or(IsComposingError::MissingState)?;
        Ok(doc)
    }
}

/// The children of `isComposing` this codec reads.
fn child_name(local: &[u8]) -> Option<&'static str> {
    match local {
        b"state" => Some("state"),
        b"lastactive" => Some("lastactive"),
        b"contenttype" => Some("contenttype"),
        b"refresh" => Some("refresh"),
        _ => None,
    }
}

fn apply(
    doc: &mut IsComposing,
    state: &mut Option<ComposingState>,
    element: &'static str,
    value: &str,
) -> Result<(), IsComposingError> {
    let bad = || IsComposingError::BadValue {
        element,
        value: value.to_string(),
    };
    let v = value.trim();
    match element {
        "state" => *state = Some(ComposingState::parse(v).ok_or_else(bad)?),
        "lastactive" => doc.last_active = Some(DateTime::parse(v).ok_or_else(bad)?),
        "contenttype" => doc.content_type = Some(v.to_string()),
        _ => {
            let n: u32 = v.parse().map_err(|_| bad())?;
            if n == 0 {
                return Err(bad());
            }
            doc.refresh = Some(n);
        }
    }
    Ok(())
}

fn split_name(name: &[u8]) -> (Option<&[u8]>, &[u8]) {
    match name.iter().position(|&b| b == b':') {
        Some(i) => (Some(&name[..i]), &name[i + 1..]),
        None => (None, name),
    }
}

/// The namespace the root element's own `xmlns` (or `xmlns:prefix`)
/// attribute declares.
fn namespace_of(e: &BytesStart<'_>, prefix: Option<&[u8]>) -> Result<String, IsComposingError> {
    let wanted: Vec<u8> = match prefix {
        Some(p) => [b"xmlns:".as_slice(), p].concat(),
        None => b"xmlns".to_vec(),
    };
    for attr in e.attributes() {
        let attr = attr.map_err(|e| IsComposingError::Xml(e.to_string()))?;
        if attr.key.as_ref() == wanted.as_slice() {
            let v = attr
                .unescape_value()
                .map_err(|e| IsComposingError::Xml(e.to_string()))?;
            return Ok(v.into_owned());
        }
    }
    Ok(String::new())
}
