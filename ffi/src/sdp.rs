//! The SDP media description of an MSRP session for C (RFC 4975 section 8,
//! `a=setup` of RFC 6135): parse one media section, read its fields, build
//! one, and encode it.
//!
//! `msgwire_sdp_media` keeps NUL-terminated copies of its strings, made on
//! the first read and dropped by the next modification; that is the
//! documented lifetime of every string it lends ("until the media is
//! modified or freed").

use std::ffi::c_char;
use std::sync::OnceLock;

use msgwire_core::msrp::sdp::{Attribute, Connection, MediaProtocol, MsrpMedia, Setup};
use msgwire_core::msrp::Uri;

use crate::error::Error;
use crate::guard::{
    arg_buf, arg_mut, arg_opt_str, arg_out, arg_ref, arg_str, free_handle, guard, guard_value,
    msgwire_str, new_handle, CText,
};
use crate::msgwire_status;

/// The protocol of the `m=` line.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum msgwire_sdp_protocol {
    /// `TCP/MSRP` (`msrp://` URIs).
    Tcp = 0,
    /// `TCP/TLS/MSRP` (`msrps://` URIs).
    Tls = 1,
}

/// The `a=setup` role (RFC 6135).
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum msgwire_sdp_setup {
    /// `active`: this endpoint opens the connection.
    Active = 0,
    /// `passive`: this endpoint waits for it.
    Passive = 1,
    /// `actpass`: either; the answerer chooses.
    Actpass = 2,
    /// `holdconn`: not to be sent; a receiver treats it as absent.
    Holdconn = 3,
}

impl From<Setup> for msgwire_sdp_setup {
    fn from(s: Setup) -> Self {
        match s {
            Setup::Active => msgwire_sdp_setup::Active,
            Setup::Passive => msgwire_sdp_setup::Passive,
            Setup::ActPass => msgwire_sdp_setup::Actpass,
            Setup::HoldConn => msgwire_sdp_setup::Holdconn,
        }
    }
}

impl From<msgwire_sdp_setup> for Setup {
    fn from(s: msgwire_sdp_setup) -> Self {
        match s {
            msgwire_sdp_setup::Active => Setup::Active,
            msgwire_sdp_setup::Passive => Setup::Passive,
            msgwire_sdp_setup::Actpass => Setup::ActPass,
            msgwire_sdp_setup::Holdconn => Setup::HoldConn,
        }
    }
}

/// One MSRP media section.
///
/// Created by `msgwire_sdp_media_parse` or `msgwire_sdp_media_for_path`,
/// released by `msgwire_sdp_media_free`. Strings read from it stay valid
/// until it is modified (a `_set_`/`_add_` function) or freed. Several
/// threads may read it at once; modifying needs exclusive access.
pub struct msgwire_sdp_media {
    media: MsrpMedia,
    texts: OnceLock<Texts>,
}

struct Texts {
    connection: Option<[CText; 3]>,
    path: Vec<CText>,
    accept_types: Vec<CText>,
    accept_wrapped_types: Vec<CText>,
    attributes: Vec<(CText, Option<CText>)>,
}

impl msgwire_sdp_media {
    pub(crate) fn new(media: MsrpMedia) -> Self {
        msgwire_sdp_media {
            media,
            texts: OnceLock::new(),
        }
    }

    fn texts(&self) -> &Texts {
        self.texts.get_or_init(|| {
            let m = &self.media;
            Texts {
                connection: m.connection.as_ref().map(|c| {
                    [
                        CText::new(&c.net_type),
                        CText::new(&c.addr_type),
                        CText::new(&c.address),
                    ]
                }),
                path: m.path.iter().map(|u| CText::new(&u.to_string())).collect(),
                accept_types: m.accept_types.iter().map(|t| CText::new(t)).collect(),
                accept_wrapped_types: m
                    .accept_wrapped_types
                    .iter()
                    .map(|t| CText::new(t))
                    .collect(),
                attributes: m
                    .attributes
                    .iter()
                    .map(|a| (CText::new(&a.name), a.value.as_deref().map(CText::new)))
                    .collect(),
            }
        })
    }

    /// The media itself.
    pub(crate) fn media(&self) -> &MsrpMedia {
        &self.media
    }

    /// The media for modification; drops the lent strings.
    fn edit(&mut self) -> &mut MsrpMedia {
        self.texts = OnceLock::new();
        &mut self.media
    }
}

/// Which list of media types a function reads or extends.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum msgwire_sdp_types {
    /// `a=accept-types`.
    Accept = 0,
    /// `a=accept-wrapped-types`.
    AcceptWrapped = 1,
}

fn list_of(texts: &Texts, which: msgwire_sdp_types) -> &[CText] {
    match which {
        msgwire_sdp_types::Accept => &texts.accept_types,
        msgwire_sdp_types::AcceptWrapped => &texts.accept_wrapped_types,
    }
}

fn index_error(what: &str, index: usize, count: usize) -> Error {
    Error::invalid(format!(
        "{what} index {index} out of range (there are {count})"
    ))
}

/// Parses one media section, from its `m=` line to the end of `text` (a
/// NUL-terminated string; CRLF or LF line ends). On success `*out` receives
/// a new media to release with `msgwire_sdp_media_free`. On failure a
/// `MSGWIRE_SDP_*` status says what is wrong and `msgwire_last_error()`
/// names the line; `*out` is not written.
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_sdp_media_parse(
    text: *const c_char,
    out: *mut *mut msgwire_sdp_media,
) -> msgwire_status {
    guard(|| {
        // SAFETY: a NUL-terminated string and a writable out-pointer.
        let (text, out) = unsafe { (arg_str(text, "text")?, arg_out(out, "out")?) };
        let media = MsrpMedia::parse(text)?;
        out.set(new_handle(msgwire_sdp_media::new(media)));
        Ok(())
    })
}

/// The media a session advertises for its path: `path` holds the MSRP URIs
/// separated by spaces, the session's own URI last, and `accept_types` the
/// media types it accepts, separated by spaces. The port, protocol and
/// `c=` address come from the last URI; the format list is `*` and
/// `a=accept-wrapped-types` is `*`. On success `*out` receives a new media
/// to release with `msgwire_sdp_media_free`. A URI that does not parse
/// gives its `MSGWIRE_MSRP_URI_*` status.
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_sdp_media_for_path(
    path: *const c_char,
    accept_types: *const c_char,
    out: *mut *mut msgwire_sdp_media,
) -> msgwire_status {
    guard(|| {
        // SAFETY: NUL-terminated strings and a writable out-pointer.
        let (path, accept, out) = unsafe {
            (
                arg_str(path, "path")?,
                arg_str(accept_types, "accept_types")?,
                arg_out(out, "out")?,
            )
        };
        let uris = path
            .split_ascii_whitespace()
            .map(str::parse)
            .collect::<Result<Vec<Uri>, _>>()?;
        if uris.is_empty() {
            return Err(Error::invalid("the path holds no URI"));
        }
        let types = accept
            .split_ascii_whitespace()
            .map(str::to_string)
            .collect();
        out.set(new_handle(msgwire_sdp_media::new(MsrpMedia::for_path(
            uris, types,
        ))));
        Ok(())
    })
}

/// Releases a media. NULL is ignored. Nothing read from it may be used
/// afterwards.
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_sdp_media_free(media: *mut msgwire_sdp_media) {
    guard_value((), || {
        // SAFETY: NULL or a live handle, freed once, as the header requires.
        unsafe { free_handle(media) }
    })
}

/// Writes the section as text with CRLF line ends, `m=` first, then `c=`,
/// `a=path`, `a=accept-types`, `a=accept-wrapped-types`, `a=max-size`,
/// `a=setup` and the other attributes.
///
/// Copies into the caller's buffer: on success `buf` holds the text and a
/// NUL, and `*out_len` its length without the NUL. When `cap` is less than
/// that length + 1, nothing is copied, `*out_len` still receives the length
/// and `MSGWIRE_BUFFER_TOO_SMALL` is returned; `buf` may be NULL when `cap`
/// is 0. `MSGWIRE_SDP_INVALID_MEDIA` when a field cannot be written.
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_sdp_media_encode(
    media: *const msgwire_sdp_media,
    buf: *mut c_char,
    cap: usize,
    out_len: *mut usize,
) -> msgwire_status {
    guard(|| {
        // SAFETY: live handle, a buffer of `cap` bytes and a writable length.
        let (media, buf) =
            unsafe { (arg_ref(media, "media")?, arg_buf(buf.cast(), cap, out_len)?) };
        let text = media.media.encode()?;
        buf.fill(text.as_bytes(), true)
    })
}

/// The `m=` port.
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_sdp_media_port(
    media: *const msgwire_sdp_media,
    out: *mut u16,
) -> msgwire_status {
    guard(|| {
        // SAFETY: live handle and writable out-pointer per the header.
        let (media, out) = unsafe { (arg_ref(media, "media")?, arg_out(out, "out")?) };
        out.set(media.media.port);
        Ok(())
    })
}

/// The `m=` protocol.
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_sdp_media_protocol(
    media: *const msgwire_sdp_media,
    out: *mut msgwire_sdp_protocol,
) -> msgwire_status {
    guard(|| {
        // SAFETY: live handle and writable out-pointer per the header.
        let (media, out) = unsafe { (arg_ref(media, "media")?, arg_out(out, "out")?) };
        out.set(match media.media.protocol {
            MediaProtocol::Tcp => msgwire_sdp_protocol::Tcp,
            MediaProtocol::Tls => msgwire_sdp_protocol::Tls,
        });
        Ok(())
    })
}

/// The `c=` line's fields (e.g. `IN`, `IP4`, `127.0.0.1`), borrowed from
/// the media. `MSGWIRE_NOT_FOUND` when the section has no `c=` line.
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_sdp_media_connection(
    media: *const msgwire_sdp_media,
    out_net_type: *mut msgwire_str,
    out_addr_type: *mut msgwire_str,
    out_address: *mut msgwire_str,
) -> msgwire_status {
    guard(|| {
        // SAFETY: live handle and writable out-pointers per the header.
        let (media, net, addr_type, address) = unsafe {
            (
                arg_ref(media, "media")?,
                arg_out(out_net_type, "out_net_type")?,
                arg_out(out_addr_type, "out_addr_type")?,
                arg_out(out_address, "out_address")?,
            )
        };
        let [n, t, a] = media
            .texts()
            .connection
            .as_ref()
            .ok_or_else(|| Error::not_found("no c= line"))?;
        net.set(n.view());
        addr_type.set(t.view());
        address.set(a.view());
        Ok(())
    })
}

/// Sets (or replaces) the `c=` line as `IN <addr_type> <address>`.
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_sdp_media_set_connection(
    media: *mut msgwire_sdp_media,
    addr_type: *const c_char,
    address: *const c_char,
) -> msgwire_status {
    guard(|| {
        // SAFETY: live handle and NUL-terminated strings per the header.
        let (media, addr_type, address) = unsafe {
            (
                arg_mut(media, "media")?,
                arg_str(addr_type, "addr_type")?,
                arg_str(address, "address")?,
            )
        };
        media.edit().connection = Some(Connection {
            net_type: "IN".to_string(),
            addr_type: addr_type.to_string(),
            address: address.to_string(),
        });
        Ok(())
    })
}

/// The number of URIs in `a=path`.
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_sdp_media_path_count(
    media: *const msgwire_sdp_media,
    out: *mut usize,
) -> msgwire_status {
    guard(|| {
        // SAFETY: live handle and writable out-pointer per the header.
        let (media, out) = unsafe { (arg_ref(media, "media")?, arg_out(out, "out")?) };
        out.set(media.media.path.len());
        Ok(())
    })
}

/// The path URI at `index` (0 is the first hop, the last is the peer's own
/// URI), as written, borrowed from the media. `MSGWIRE_INVALID_ARGUMENT`
/// past the end.
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_sdp_media_path(
    media: *const msgwire_sdp_media,
    index: usize,
    out: *mut msgwire_str,
) -> msgwire_status {
    guard(|| {
        // SAFETY: live handle and writable out-pointer per the header.
        let (media, out) = unsafe { (arg_ref(media, "media")?, arg_out(out, "out")?) };
        let path = &media.texts().path;
        let uri = path
            .get(index)
            .ok_or_else(|| index_error("path", index, path.len()))?;
        out.set(uri.view());
        Ok(())
    })
}

/// The number of entries of `a=accept-types` or `a=accept-wrapped-types`.
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_sdp_media_type_count(
    media: *const msgwire_sdp_media,
    which: msgwire_sdp_types,
    out: *mut usize,
) -> msgwire_status {
    guard(|| {
        // SAFETY: live handle and writable out-pointer per the header.
        let (media, out) = unsafe { (arg_ref(media, "media")?, arg_out(out, "out")?) };
        out.set(list_of(media.texts(), which).len());
        Ok(())
    })
}

/// The media type at `index` of `a=accept-types` or
/// `a=accept-wrapped-types`, as written, borrowed from the media.
/// `MSGWIRE_INVALID_ARGUMENT` past the end.
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_sdp_media_type(
    media: *const msgwire_sdp_media,
    which: msgwire_sdp_types,
    index: usize,
    out: *mut msgwire_str,
) -> msgwire_status {
    guard(|| {
        // SAFETY: live handle and writable out-pointer per the header.
        let (media, out) = unsafe { (arg_ref(media, "media")?, arg_out(out, "out")?) };
        let list = list_of(media.texts(), which);
        let t = list
            .get(index)
            .ok_or_else(|| index_error("media type", index, list.len()))?;
        out.set(t.view());
        Ok(())
    })
}

/// Replaces `a=accept-types` or `a=accept-wrapped-types` with the media
/// types in `types`, separated by spaces (an empty string removes the
/// attribute).
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_sdp_media_set_types(
    media: *mut msgwire_sdp_media,
    which: msgwire_sdp_types,
    types: *const c_char,
) -> msgwire_status {
    guard(|| {
        // SAFETY: live handle and a NUL-terminated string per the header.
        let (media, types) = unsafe { (arg_mut(media, "media")?, arg_str(types, "types")?) };
        let list: Vec<String> = types.split_ascii_whitespace().map(str::to_string).collect();
        let m = media.edit();
        match which {
            msgwire_sdp_types::Accept => m.accept_types = list,
            msgwire_sdp_types::AcceptWrapped => m.accept_wrapped_types = list,
        }
        Ok(())
    })
}

/// `a=max-size`: `*out_has` tells whether the section has it, and
/// `*out_size` receives it (0 without).
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_sdp_media_max_size(
    media: *const msgwire_sdp_media,
    out_size: *mut u64,
    out_has: *mut bool,
) -> msgwire_status {
    guard(|| {
        // SAFETY: live handle and writable out-pointers per the header.
        let (media, out_size, out_has) = unsafe {
            (
                arg_ref(media, "media")?,
                arg_out(out_size, "out_size")?,
                arg_out(out_has, "out_has")?,
            )
        };
        out_size.set(media.media.max_size.unwrap_or(0));
        out_has.set(media.media.max_size.is_some());
        Ok(())
    })
}

/// Sets `a=max-size` to `size` octets, or removes it when `has` is false.
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_sdp_media_set_max_size(
    media: *mut msgwire_sdp_media,
    size: u64,
    has: bool,
) -> msgwire_status {
    guard(|| {
        // SAFETY: live handle per the header.
        let media = unsafe { arg_mut(media, "media")? };
        media.edit().max_size = has.then_some(size);
        Ok(())
    })
}

/// `a=setup`. `MSGWIRE_NOT_FOUND` when the section has none.
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_sdp_media_setup(
    media: *const msgwire_sdp_media,
    out: *mut msgwire_sdp_setup,
) -> msgwire_status {
    guard(|| {
        // SAFETY: live handle and writable out-pointer per the header.
        let (media, out) = unsafe { (arg_ref(media, "media")?, arg_out(out, "out")?) };
        let setup = media
            .media
            .setup
            .ok_or_else(|| Error::not_found("no a=setup line"))?;
        out.set(setup.into());
        Ok(())
    })
}

/// Sets `a=setup`, or removes it when `has` is false.
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_sdp_media_set_setup(
    media: *mut msgwire_sdp_media,
    setup: msgwire_sdp_setup,
    has: bool,
) -> msgwire_status {
    guard(|| {
        // SAFETY: live handle per the header.
        let media = unsafe { arg_mut(media, "media")? };
        media.edit().setup = has.then(|| setup.into());
        Ok(())
    })
}

/// The number of other `a=` lines (those MSRP does not define).
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_sdp_media_attribute_count(
    media: *const msgwire_sdp_media,
    out: *mut usize,
) -> msgwire_status {
    guard(|| {
        // SAFETY: live handle and writable out-pointer per the header.
        let (media, out) = unsafe { (arg_ref(media, "media")?, arg_out(out, "out")?) };
        out.set(media.media.attributes.len());
        Ok(())
    })
}

/// The other `a=` line at `index`: its name and the text after its first
/// colon (`*out_has_value` false and `*out_value` empty for `a=name`
/// without a colon). Borrowed from the media. `MSGWIRE_INVALID_ARGUMENT`
/// past the end.
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_sdp_media_attribute(
    media: *const msgwire_sdp_media,
    index: usize,
    out_name: *mut msgwire_str,
    out_value: *mut msgwire_str,
    out_has_value: *mut bool,
) -> msgwire_status {
    guard(|| {
        // SAFETY: live handle and writable out-pointers per the header.
        let (media, out_name, out_value, out_has_value) = unsafe {
            (
                arg_ref(media, "media")?,
                arg_out(out_name, "out_name")?,
                arg_out(out_value, "out_value")?,
                arg_out(out_has_value, "out_has_value")?,
            )
        };
        let attrs = &media.texts().attributes;
        let (name, value) = attrs
            .get(index)
            .ok_or_else(|| index_error("attribute", index, attrs.len()))?;
        out_name.set(name.view());
        out_value.set(
            value
                .as_ref()
                .map_or(name.view_from(usize::MAX), CText::view),
        );
        out_has_value.set(value.is_some());
        Ok(())
    })
}

/// Appends an `a=name` (when `value` is NULL) or `a=name:value` line. The
/// values are checked when encoding.
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_sdp_media_add_attribute(
    media: *mut msgwire_sdp_media,
    name: *const c_char,
    value: *const c_char,
) -> msgwire_status {
    guard(|| {
        // SAFETY: live handle and NUL-terminated strings per the header.
        let (media, name, value) = unsafe {
            (
                arg_mut(media, "media")?,
                arg_str(name, "name")?,
                arg_opt_str(value, "value")?,
            )
        };
        media.edit().attributes.push(Attribute {
            name: name.to_string(),
            value: value.map(str::to_string),
        });
        Ok(())
    })
}

/// Whether a message of `content_type` may be sent to the endpoint this
/// media describes: unwrapped (`wrapped` false: it matches an entry of
/// `a=accept-types`) or inside an accepted container such as
/// `message/cpim` (`wrapped` true: it matches an entry of
/// `a=accept-wrapped-types` or `a=accept-types`). An entry `*` matches
/// every type and an entry whose subtype is `*` every subtype of its type
/// (RFC 4975 section 8.6); case and parameters are ignored.
/// Writes the answer to `*out`.
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_sdp_media_accepts(
    media: *const msgwire_sdp_media,
    content_type: *const c_char,
    wrapped: bool,
    out: *mut bool,
) -> msgwire_status {
    guard(|| {
        // SAFETY: live handle, a NUL-terminated string and a writable
        // out-pointer per the header.
        let (media, content_type, out) = unsafe {
            (
                arg_ref(media, "media")?,
                arg_str(content_type, "content_type")?,
                arg_out(out, "out")?,
            )
        };
        out.set(if wrapped {
            media.media.accepts_wrapped(content_type)
        } else {
            media.media.accepts(content_type)
        });
        Ok(())
    })
}
