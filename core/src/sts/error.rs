//! STS/1.0 error replies: the `<Error .../>` body and the error codes.
//!
//! A reply with status 400 or above is an error reply; its body is a single
//! element whose attributes `code`, `server`, `module`, `line` (integers)
//! and `text` describe the error, each counting as zero (or empty) when
//! missing. The same element with code [`SUCCESS`] serves as a plain
//! success answer.
//!
//! ```
//! use msgwire::sts::error::ErrorReply;
//!
//! let e = ErrorReply { code: 7, text: "denied".into(), ..ErrorReply::default() };
//! let xml = e.to_xml();
//! assert_eq!(xml, r#"<Error code="7" server="0" module="0" line="0" text="denied"/>"#);
//! assert_eq!(ErrorReply::parse(xml.as_bytes()), Ok(e));
//! ```

use quick_xml::events::Event;
use quick_xml::Reader;

/// Success.
pub const SUCCESS: i64 = 0;
/// Still pending (used for unfinished transactions; a peer sending it is
/// treated as bad server data by the transaction layer).
pub const PENDING: i64 = -1;
/// The server sent something that cannot be understood.
pub const BAD_SERVER_DATA: i64 = 4;
/// No reply came in time (synthesised locally).
pub const TIMEOUT: i64 = 42;

/// The content of an error reply body.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct ErrorReply {
    /// The error code ([`SUCCESS`], [`TIMEOUT`], or a server's own code).
    pub code: i64,
    /// Which server raised it (0 when not given).
    pub server: i64,
    /// Which module of the server raised it (0 when not given).
    pub module: i64,
    /// The source line that raised it (0 when not given).
    pub line: i64,
    /// A description (empty when not given).
    pub text: String,
}

/// An error reply body cannot be read.
///
/// A problem with the peer's data; python-sts reports both cases as
/// [`BAD_SERVER_DATA`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ErrorBodyError {
    /// The body is not UTF-8, not well-formed XML, or does not hold exactly
    /// one root element.
    #[error("invalid error body XML: {0}")]
    InvalidXml(String),
    /// An integer attribute is not an integer.
    #[error("invalid error attribute {name}={value:?}")]
    InvalidAttribute {
        /// The attribute name.
        name: String,
        /// Its (decoded) value.
        value: String,
    },
}

impl ErrorReply {
    /// An error reply with a code and text; server, module and line 0.
    pub fn new(code: i64, text: impl Into<String>) -> Self {
        ErrorReply {
            code,
            text: text.into(),
            ..ErrorReply::default()
        }
    }

    /// Whether the code is [`SUCCESS`].
    pub fn is_success(&self) -> bool {
        self.code == SUCCESS
    }

    /// The XML element for a reply body:
    /// `<Error code=".." server=".." module=".." line=".." text=".."/>`.
    ///
    /// The attributes come in the order of python-sts's `Error` fields
    /// (which is also what its intended serialiser gives on Python 3); no
    /// XML declaration and no trailing newline (the message encoder adds
    /// the LF XML bodies need). In `text`, `& < > "` become entities and
    /// tab, LF and CR numeric references, so they survive attribute-value
    /// normalisation; the characters XML 1.0 cannot carry at all (other
    /// C0 controls, U+FFFE, U+FFFF) are replaced with U+FFFD, since not
    /// even a character reference may stand for them.
    pub fn to_xml(&self) -> String {
        let mut out = format!(
            "<Error code=\"{}\" server=\"{}\" module=\"{}\" line=\"{}\" text=\"",
            self.code, self.server, self.module, self.line
        );
        for c in self.text.chars() {
            match c {
                '&' => out.push_str("&amp;"),
                '<' => out.push_str("&lt;"),
                '>' => out.push_str("&gt;"),
                '"' => out.push_str("&quot;"),
                '\t' => out.push_str("&#9;"),
                '\n' => out.push_str("&#10;"),
                '\r' => out.push_str("&#13;"),
                c if !xml_char(c) => out.push('\u{FFFD}'),
                c => out.push(c),
            }
        }
        out.push_str("\"/>");
        out
    }

    /// Reads an error reply body.
    ///
    /// Like python-sts, the root element's name is not checked (`<Foo/>`
    /// reads as all zeros), children and text are ignored, and so are
    /// unknown attributes. Whitespace, an XML declaration, comments and
    /// processing instructions may surround the root. Integer attributes
    /// allow surrounding whitespace and a sign (`" -3 "`, `"+7"`); any
    /// value fits, including [`PENDING`].
    pub fn parse(body: &[u8]) -> Result<ErrorReply, ErrorBodyError> {
        let invalid = |why: &str| ErrorBodyError::InvalidXml(why.to_string());
        let text = std::str::from_utf8(body).map_err(|_| invalid("not UTF-8"))?;
        let mut reader = Reader::from_str(text);
        let mut reply: Option<ErrorReply> = None;
        let mut depth = 0usize;
        loop {
            let event = reader
                .read_event()
                .map_err(|e| ErrorBodyError::InvalidXml(e.to_string()))?;
            let is_open = matches!(event, Event::Start(_));
            match event {
                Event::Start(e) | Event::Empty(e) if depth == 0 => {
                    if reply.is_some() {
                        return Err(invalid("more than one root element"));
                    }
                    reply = Some(read_attributes(&e)?);
                    if is_open {
                        depth = 1;
                    }
                }
                Event::Start(_) => depth += 1,
                Event::End(_) => {
                    depth = depth
                        .checked_sub(1)
                        .ok_or_else(|| invalid("unmatched end tag"))?;
                }
                Event::Text(t) if depth == 0 && !t.iter().all(u8::is_ascii_whitespace) => {
                    return Err(invalid("text outside the root element"));
                }
                Event::CData(_) | Event::GeneralRef(_) if depth == 0 => {
                    return Err(invalid("text outside the root element"));
                }
                Event::Eof => break,
                _ => {}
            }
        }
        if depth != 0 {
            return Err(invalid("unclosed root element"));
        }
        reply.ok_or_else(|| invalid("no root element"))
    }
}

fn read_attributes(e: &quick_xml::events::BytesStart<'_>) -> Result<ErrorReply, ErrorBodyError> {
    let mut reply = ErrorReply::default();
    for attr in e.attributes() {
        let attr = attr.map_err(|e| ErrorBodyError::InvalidXml(e.to_string()))?;
        let key = attr.key.as_ref();
        let raw = std::str::from_utf8(&attr.value)
            .map_err(|_| ErrorBodyError::InvalidXml("not UTF-8".into()))?;
        // Attribute-value normalisation (XML 1.0 §3.3.3): literal line
        // breaks and tabs read as spaces; references are decoded after.
        let normalised = raw.replace("\r\n", " ").replace(['\r', '\n', '\t'], " ");
        let value = quick_xml::escape::unescape(&normalised)
            .map_err(|e| ErrorBodyError::InvalidXml(e.to_string()))?;
        let slot = match key {
            b"code" => &mut reply.code,
            b"server" => &mut reply.server,
            b"module" => &mut reply.module,
            b"line" => &mut reply.line,
            b"text" => {
                reply.text = value.into_owned();
                continue;
            }
            _ => continue,
        };
        *slot = value
            .trim()
            .parse()
            .map_err(|_| ErrorBodyError::InvalidAttribute {
                name: String::from_utf8_lossy(key).into_owned(),
                value: value.clone().into_owned(),
            })?;
    }
    Ok(reply)
}

/// Whether XML 1.0 can carry the character.
fn xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn to_xml_exact() {
        let e = ErrorReply::new(7, "denied");
        assert_eq!(
            e.to_xml(),
            r#"<Error code="7" server="0" module="0" line="0" text="denied"/>"#
        );
        let e = ErrorReply {
            code: -1,
            server: 2,
            module: 3,
            line: 4,
            text: "a&b<c>\"d\"\n\r\t\u{1}".into(),
        };
        assert_eq!(
            e.to_xml(),
            "<Error code=\"-1\" server=\"2\" module=\"3\" line=\"4\" \
             text=\"a&amp;b&lt;c&gt;&quot;d&quot;&#10;&#13;&#9;\u{FFFD}\"/>"
        );
    }

    #[test]
    fn parse_lenient_forms() {
        let cases: &[(&str, ErrorReply)] = &[
            ("<Foo/>", ErrorReply::default()),
            (
                "<?xml version=\"1.0\"?>\n <Error code=\" -3 \" line=\"+7\" text=\"a&amp;b\" x=\"y\">\
                 <child/>text</Error>\r\n",
                ErrorReply {
                    code: -3,
                    line: 7,
                    text: "a&b".into(),
                    ..ErrorReply::default()
                },
            ),
            (
                "<Error code='7' text='x\ny'/><!-- trailing -->",
                ErrorReply::new(7, "x y"),
            ),
            ("<Error code=\"-1\"/>", ErrorReply::new(PENDING, "")),
        ];
        for (xml, want) in cases {
            assert_eq!(
                ErrorReply::parse(xml.as_bytes()).as_ref(),
                Ok(want),
                "{xml}"
            );
        }
    }

    #[test]
    fn parse_errors() {
        let invalid = [
            "",
            "   ",
            "<Error",
            "<Error code=\"1\">",
            "<a/><b/>",
            "text<a/>",
            "<a/>text",
            "<a></b>",
            "<a x=\"&bogus;\"/>",
            "<a x=\"1\" x=\"2\"/>",
        ];
        for xml in invalid {
            assert!(
                matches!(
                    ErrorReply::parse(xml.as_bytes()),
                    Err(ErrorBodyError::InvalidXml(_))
                ),
                "{xml}"
            );
        }
        assert!(matches!(
            ErrorReply::parse(b"\xff<a/>"),
            Err(ErrorBodyError::InvalidXml(_))
        ));
        for xml in ["<a code=\"x\"/>", "<a line=\"0x1\"/>", "<a server=\"\"/>"] {
            assert!(
                matches!(
                    ErrorReply::parse(xml.as_bytes()),
                    Err(ErrorBodyError::InvalidAttribute { .. })
                ),
                "{xml}"
            );
        }
    }

    #[test]
    fn constants() {
        assert_eq!((SUCCESS, PENDING, BAD_SERVER_DATA, TIMEOUT), (0, -1, 4, 42));
        assert!(ErrorReply::default().is_success());
    }
}
