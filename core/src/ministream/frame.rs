//! The ministreaming wire format, sans-IO: frames and the length-prefixed
//! transport framing.
//!
//! A frame is one message of the transport: a type byte, a three-byte
//! stream id (big-endian, never `00 00 00`) and a payload that runs to the
//! end of the message.
//!
//! | type | direction | id | payload |
//! |---|---|---|---|
//! | `0xA0` data | towards the server side | the server id | stream bytes |
//! | `0xA1` SYN | towards the server side | the client id | the connecting side's destination |
//! | `0xA2` Close | towards the server side | the server id | nothing (ignored) |
//! | `0x50` data | towards the client side | the client id | stream bytes |
//! | `0x51` ACK | towards the client side | the client id | the 3-byte server id |
//! | `0x52` Close | towards the client side | the client id | nothing, or the 3-byte server id |
//! | `0xFF` chaff | either | anything | ignored; the one-byte message `FF` is a ping probe |
//!
//! # Where this module follows the Java implementation, not the document
//!
//! The protocol document leaves details out or gets them wrong; the public
//! Java code (`I2PSocketManagerImpl`) is what peers actually run, so it wins:
//!
//! * **SYN payload.** The document calls it a key made up by the client;
//!   the code sends the connecting side's whole destination. Here it is
//!   opaque bytes (for the TCP transport, the manager's `host:port`).
//! * **ACK payload.** Exactly three bytes, the server id. The code ignores
//!   an ACK of any other length while the stream waits for one, and the
//!   decoder here does not reject it: [`ack_server_id`] returns `None` and
//!   the stream layer decides.
//! * **Close payload.** The document says "nothing", but the code refuses a
//!   SYN with a Close carrying the server id it had just allocated. Any
//!   Close payload is accepted and ignored.
//! * **Sample (c)'s last line** is a bare `51 11 11 11` labelled Close. The
//!   code never sends a bare ACK once a stream is set up, so the stream layer
//!   reads an ACK without a 3-byte payload on an established stream as a
//!   Close. This side always closes with `0xA2` or `0x52`.
//! * **Types in range but unknown** (`0xA3`–`0xAF`, `0x53`–`0x5F`) decode as
//!   [`FrameType::Unknown`] so a manager can drop and count them; any other
//!   type byte is a [`FrameError::UnknownType`].
//!
//! # Transport framing
//!
//! Over a byte stream (TCP, TLS, the in-memory pipe) each frame travels as a
//! 4-byte unsigned big-endian length followed by the frame. [`FrameReader`]
//! undoes it incrementally: feed it any slices (one byte at a time works),
//! take whole messages out. A length above the configured maximum is
//! [`FrameError::TooLong`]; the stream cannot be resynchronised after it, so
//! the caller closes that connection.
//!
//! # Example
//!
//! ```
//! use bytes::{Bytes, BytesMut};
//! use msgwire::ministream::frame::{Frame, FrameType, Message, StreamId};
//!
//! let id = StreamId::new(0x23_45_67).unwrap();
//! let syn = Frame::new(FrameType::Syn, id, Bytes::from_static(b"127.0.0.1:7000"));
//! let mut wire = BytesMut::new();
//! syn.encode(&mut wire);
//! assert_eq!(&wire[..4], &[0xA1, 0x23, 0x45, 0x67]);
//! assert_eq!(Message::decode(wire.freeze()).unwrap(), Message::Frame(syn));
//! ```

use bytes::{Buf, BufMut, Bytes, BytesMut};

/// The largest data payload one frame carries by default: 32 KiB. Longer
/// writes are split. Big enough that the 4-byte header and the length
/// prefix cost nothing, small enough that streams sharing a connection
/// take turns often.
pub const DEFAULT_MAX_PAYLOAD: usize = 32 * 1024;

/// The largest message (frame) accepted from the transport by default:
/// 64 KiB. Twice the default payload, so a peer using larger frames than
/// ours still gets through, while a corrupt length prefix cannot make us
/// allocate gigabytes.
pub const DEFAULT_MAX_MESSAGE: usize = 64 * 1024;

/// Length of a frame header: type byte and 3-byte id.
pub const HEADER_LEN: usize = 4;

/// Length of the transport framing's length prefix.
pub const PREFIX_LEN: usize = 4;

/// The largest stream id (ids are 24 bits).
pub const MAX_ID: u32 = 0xFF_FF_FF;

/// A stream id: 24 bits, never zero.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StreamId(u32);

impl StreamId {
    /// `Some` for `1..=0xFFFFFF`, `None` for 0 (reserved) and values wider
    /// than 24 bits.
    pub fn new(value: u32) -> Option<StreamId> {
        (value != 0 && value <= MAX_ID).then_some(StreamId(value))
    }

    /// The id from its three wire bytes (big-endian); `None` for `00 00 00`.
    pub fn from_bytes(bytes: [u8; 3]) -> Option<StreamId> {
        StreamId::new(u32::from_be_bytes([0, bytes[0], bytes[1], bytes[2]]))
    }

    /// The three wire bytes, big-endian.
    pub fn to_bytes(self) -> [u8; 3] {
        let b = self.0.to_be_bytes();
        [b[1], b[2], b[3]]
    }

    /// The numeric value, `1..=0xFFFFFF`.
    pub fn get(self) -> u32 {
        self.0
    }
}

impl std::fmt::Display for StreamId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:06x}", self.0)
    }
}

/// The type byte of a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FrameType {
    /// `0xA0`: stream bytes towards the server side; id = server id.
    DataToServer,
    /// `0xA1`: opens a stream; id = the new client id, payload = the
    /// connecting side's destination.
    Syn,
    /// `0xA2`: closes a stream, towards the server side; id = server id.
    CloseToServer,
    /// `0x50`: stream bytes towards the client side; id = client id.
    DataToClient,
    /// `0x51`: accepts a SYN; id = client id, payload = the server id.
    Ack,
    /// `0x52`: closes (or refuses) a stream, towards the client side;
    /// id = client id.
    CloseToClient,
    /// `0xFF`: padding, ignored.
    Chaff,
    /// Another type inside `0xA0..=0xAF` or `0x50..=0x5F`: well formed,
    /// meaning unknown. Managers drop such frames and count them.
    Unknown(u8),
}

impl FrameType {
    /// The type for a wire byte; `None` outside the two ranges and `0xFF`.
    pub fn from_byte(byte: u8) -> Option<FrameType> {
        Some(match byte {
            0xA0 => FrameType::DataToServer,
            0xA1 => FrameType::Syn,
            0xA2 => FrameType::CloseToServer,
            0x50 => FrameType::DataToClient,
            0x51 => FrameType::Ack,
            0x52 => FrameType::CloseToClient,
            0xFF => FrameType::Chaff,
            0xA3..=0xAF | 0x53..=0x5F => FrameType::Unknown(byte),
            _ => return None,
        })
    }

    /// The wire byte.
    pub fn to_byte(self) -> u8 {
        match self {
            FrameType::DataToServer => 0xA0,
            FrameType::Syn => 0xA1,
            FrameType::CloseToServer => 0xA2,
            FrameType::DataToClient => 0x50,
            FrameType::Ack => 0x51,
            FrameType::CloseToClient => 0x52,
            FrameType::Chaff => 0xFF,
            FrameType::Unknown(b) => b,
        }
    }

    /// Whether frames of this type travel towards the server side of a
    /// stream (`0xA0..=0xAF`), so their id is the receiver's server id
    /// (the SYN's is the sender's client id).
    pub fn towards_server(self) -> bool {
        (0xA0..=0xAF).contains(&self.to_byte())
    }

    /// The data type for a stream seen from one side: `0xA0` when we are
    /// the client side (sending towards the server), `0x50` otherwise.
    pub fn data(we_are_client: bool) -> FrameType {
        if we_are_client {
            FrameType::DataToServer
        } else {
            FrameType::DataToClient
        }
    }

    /// The Close type for a stream seen from one side: `0xA2` when we are
    /// the client side, `0x52` otherwise.
    pub fn close(we_are_client: bool) -> FrameType {
        if we_are_client {
            FrameType::CloseToServer
        } else {
            FrameType::CloseToClient
        }
    }
}

/// One frame: type, id and payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// The type byte.
    pub kind: FrameType,
    /// The stream id (whose id it is depends on the type; see the table in
    /// the [module docs](self)).
    pub id: StreamId,
    /// Everything after the id.
    pub payload: Bytes,
}

impl Frame {
    /// A frame of `kind` for stream `id` carrying `payload`.
    pub fn new(kind: FrameType, id: StreamId, payload: Bytes) -> Frame {
        Frame { kind, id, payload }
    }

    /// The ACK accepting client stream `client` with server id `server`.
    pub fn ack(client: StreamId, server: StreamId) -> Frame {
        Frame::new(
            FrameType::Ack,
            client,
            Bytes::copy_from_slice(&server.to_bytes()),
        )
    }

    /// Length of the encoded frame (without a length prefix).
    pub fn encoded_len(&self) -> usize {
        HEADER_LEN + self.payload.len()
    }

    /// Appends the frame to `out`.
    pub fn encode(&self, out: &mut BytesMut) {
        out.reserve(self.encoded_len());
        encode_header(self.kind, self.id, out);
        out.extend_from_slice(&self.payload);
    }

    /// Appends the frame with the transport's 4-byte length prefix.
    pub fn encode_prefixed(&self, out: &mut BytesMut) {
        out.reserve(PREFIX_LEN + self.encoded_len());
        out.put_u32(self.encoded_len() as u32);
        self.encode(out);
    }

    /// The encoded frame as fresh bytes.
    pub fn to_bytes(&self) -> Bytes {
        let mut out = BytesMut::with_capacity(self.encoded_len());
        self.encode(&mut out);
        out.freeze()
    }

    /// For an ACK: the server id, when the payload is exactly three
    /// non-zero bytes.
    pub fn ack_server_id(&self) -> Option<StreamId> {
        ack_server_id(&self.payload)
    }
}

/// The server id an ACK payload names: `Some` only for exactly three bytes
/// that are not `00 00 00`.
pub fn ack_server_id(payload: &[u8]) -> Option<StreamId> {
    match payload {
        [a, b, c] => StreamId::from_bytes([*a, *b, *c]),
        _ => None,
    }
}

/// Appends a frame header (type and id) to `out`; the payload follows.
pub fn encode_header(kind: FrameType, id: StreamId, out: &mut BytesMut) {
    out.put_u8(kind.to_byte());
    out.extend_from_slice(&id.to_bytes());
}

/// Appends one prefixed data frame per `max_payload` bytes of `data` to
/// `out` (a longer write is split; at least 1 byte per frame). Returns the
/// number of frames written. Empty `data` writes nothing.
pub fn encode_data(
    kind: FrameType,
    id: StreamId,
    data: &[u8],
    max_payload: usize,
    out: &mut BytesMut,
) -> usize {
    let max = max_payload.max(1);
    let frames = data.len().div_ceil(max);
    out.reserve(data.len() + frames * (PREFIX_LEN + HEADER_LEN));
    for piece in data.chunks(max) {
        out.put_u32((HEADER_LEN + piece.len()) as u32);
        encode_header(kind, id, out);
        out.extend_from_slice(piece);
    }
    frames
}

/// The length prefix and header of one data frame carrying `payload_len`
/// bytes, for a caller that sends the payload from its own buffer
/// (a vectored write) instead of copying it behind the header.
pub fn data_header(
    kind: FrameType,
    id: StreamId,
    payload_len: usize,
) -> [u8; PREFIX_LEN + HEADER_LEN] {
    let len = ((HEADER_LEN + payload_len) as u32).to_be_bytes();
    let id = id.to_bytes();
    [
        len[0],
        len[1],
        len[2],
        len[3],
        kind.to_byte(),
        id[0],
        id[1],
        id[2],
    ]
}

/// One decoded transport message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// The one-byte message `FF`: a ping probe. Nothing answers it.
    Ping,
    /// A chaff message (type `0xFF`, longer than one byte): ignored.
    Chaff,
    /// A frame of a known or in-range type.
    Frame(Frame),
}

impl Message {
    /// Decodes one whole message. The payload shares `message`'s memory.
    pub fn decode(mut message: Bytes) -> Result<Message, FrameError> {
        match message.first() {
            None => return Err(FrameError::TooShort(0)),
            Some(0xFF) if message.len() == 1 => return Ok(Message::Ping),
            Some(0xFF) => return Ok(Message::Chaff),
            Some(_) => {}
        }
        if message.len() < HEADER_LEN {
            return Err(FrameError::TooShort(message.len()));
        }
        let kind = FrameType::from_byte(message[0]).ok_or(FrameError::UnknownType(message[0]))?;
        let id = StreamId::from_bytes([message[1], message[2], message[3]])
            .ok_or(FrameError::ZeroId(message[0]))?;
        message.advance(HEADER_LEN);
        Ok(Message::Frame(Frame {
            kind,
            id,
            payload: message,
        }))
    }

    /// Decodes from a borrowed slice (copies the payload).
    pub fn decode_slice(message: &[u8]) -> Result<Message, FrameError> {
        Message::decode(Bytes::copy_from_slice(message))
    }
}

/// Why bytes are not a frame.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FrameError {
    /// A message shorter than the 4-byte header (and not the ping probe).
    /// Dropped and counted by managers; the connection carries on.
    #[error("a frame of {0} bytes is shorter than the 4-byte header")]
    TooShort(usize),
    /// The type byte is outside `0xA0..=0xAF`, `0x50..=0x5F` and `0xFF`.
    /// Dropped and counted by managers.
    #[error("frame type {0:#04x} is outside the ministreaming ranges")]
    UnknownType(u8),
    /// The id is the reserved `00 00 00` (the type byte is given).
    /// Dropped and counted by managers.
    #[error("a frame of type {0:#04x} carries the reserved id 00 00 00")]
    ZeroId(u8),
    /// Transport framing: a length prefix above the limit. The byte stream
    /// cannot be trusted after it; the connection is closed.
    #[error("a message of {len} bytes exceeds the {max}-byte limit")]
    TooLong {
        /// The announced length.
        len: usize,
        /// The configured maximum.
        max: usize,
    },
}

impl FrameError {
    /// Whether the error breaks the transport framing (the connection must
    /// close) rather than one frame (dropped, the connection carries on).
    pub fn is_fatal(&self) -> bool {
        matches!(self, FrameError::TooLong { .. })
    }
}

/// Incremental decoder of the length-prefixed transport framing.
///
/// Feed bytes with [`push_bytes`](FrameReader::push_bytes) (or
/// [`push`](FrameReader::push), which copies a borrowed slice first) and
/// take messages with [`next_message`](FrameReader::next_message) until it
/// returns `Ok(None)`.
///
/// A message that lies whole inside one pushed buffer is returned as a
/// slice of it: no copy. Only a message cut by the end of a buffer is put
/// together in a buffer of its own (one copy of that message). A returned
/// message keeps its whole pushed buffer alive until it is dropped.
#[derive(Debug)]
pub struct FrameReader {
    /// Pushed bytes not yet looked at.
    chunk: Bytes,
    /// The start of a message cut by the end of a pushed buffer (with its
    /// length prefix); always before `chunk`.
    partial: BytesMut,
    max_message: usize,
    failed: bool,
}

impl FrameReader {
    /// A reader refusing messages longer than `max_message` bytes.
    pub fn new(max_message: usize) -> FrameReader {
        FrameReader {
            chunk: Bytes::new(),
            partial: BytesMut::new(),
            max_message,
            failed: false,
        }
    }

    /// Appends received bytes (copied).
    pub fn push(&mut self, data: &[u8]) {
        if !data.is_empty() {
            self.push_bytes(Bytes::copy_from_slice(data));
        }
    }

    /// Appends received bytes without copying them.
    pub fn push_bytes(&mut self, data: Bytes) {
        if self.failed || data.is_empty() {
            return;
        }
        if !self.chunk.is_empty() {
            // Pushed twice without draining: keep the order.
            let earlier = std::mem::take(&mut self.chunk);
            self.partial.extend_from_slice(&earlier);
        }
        self.chunk = data;
    }

    /// The next whole message (without its prefix), `Ok(None)` when more
    /// bytes are needed, or [`FrameError::TooLong`] (then forever: the
    /// stream is out of step).
    pub fn next_message(&mut self) -> Result<Option<Bytes>, FrameError> {
        if self.failed {
            return Ok(None);
        }
        if self.partial.is_empty() {
            if self.chunk.len() >= PREFIX_LEN {
                let len = self.check_len(prefix(&self.chunk))?;
                if self.chunk.len() >= PREFIX_LEN + len {
                    self.chunk.advance(PREFIX_LEN);
                    return Ok(Some(self.chunk.split_to(len)));
                }
                // Ask for the whole message at once so the buffer grows once.
                self.partial.reserve(PREFIX_LEN + len);
            }
            let rest = std::mem::take(&mut self.chunk);
            self.partial.extend_from_slice(&rest);
            return Ok(None);
        }
        self.fill_partial(PREFIX_LEN);
        if self.partial.len() < PREFIX_LEN {
            return Ok(None);
        }
        let len = self.check_len(prefix(&self.partial))?;
        self.fill_partial(PREFIX_LEN + len);
        if self.partial.len() < PREFIX_LEN + len {
            return Ok(None);
        }
        let mut message = self.partial.split();
        message.advance(PREFIX_LEN);
        Ok(Some(message.freeze()))
    }

    /// Bytes received but not yet returned as a message.
    pub fn buffered(&self) -> usize {
        self.partial.len() + self.chunk.len()
    }

    /// Moves bytes from `chunk` to `partial` until it holds `want` bytes
    /// (or `chunk` is empty).
    fn fill_partial(&mut self, want: usize) {
        let take = want
            .saturating_sub(self.partial.len())
            .min(self.chunk.len());
        if take > 0 {
            self.partial.extend_from_slice(&self.chunk[..take]);
            self.chunk.advance(take);
        }
    }

    /// `len` if it is within the limit; else the reader fails for good.
    fn check_len(&mut self, len: usize) -> Result<usize, FrameError> {
        if len <= self.max_message {
            return Ok(len);
        }
        self.failed = true;
        self.chunk = Bytes::new();
        self.partial = BytesMut::new();
        Err(FrameError::TooLong {
            len,
            max: self.max_message,
        })
    }
}

/// The length prefix at the start of `buf` (at least 4 bytes).
fn prefix(buf: &[u8]) -> usize {
    u32::from_be_bytes([buf[0], buf[1], buf[2], buf[3]]) as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(v: u32) -> StreamId {
        StreamId::new(v).unwrap()
    }

    fn frame(bytes: &[u8]) -> Frame {
        match Message::decode_slice(bytes).unwrap() {
            Message::Frame(f) => f,
            other => panic!("not a frame: {other:?}"),
        }
    }

    #[test]
    fn ids_are_24_bit_and_never_zero() {
        assert!(StreamId::new(0).is_none());
        assert!(StreamId::new(0x100_0000).is_none());
        assert_eq!(id(0x12_34_56).to_bytes(), [0x12, 0x34, 0x56]);
        assert_eq!(StreamId::from_bytes([0, 0, 1]), Some(id(1)));
        assert_eq!(StreamId::from_bytes([0, 0, 0]), None);
        assert_eq!(id(0xAB).to_string(), "0000ab");
    }

    #[test]
    fn every_type_byte_round_trips() {
        for b in 0..=255u8 {
            match FrameType::from_byte(b) {
                Some(t) => assert_eq!(t.to_byte(), b),
                None => assert!(!(0xA0..=0xAF).contains(&b) && !(0x50..=0x5F).contains(&b)),
            }
        }
        assert_eq!(FrameType::from_byte(0xA7), Some(FrameType::Unknown(0xA7)));
        assert_eq!(FrameType::from_byte(0x5F), Some(FrameType::Unknown(0x5F)));
        assert_eq!(FrameType::from_byte(0x60), None);
        assert!(FrameType::Syn.towards_server());
        assert!(!FrameType::Ack.towards_server());
    }

    #[test]
    fn sample_a_frames() {
        let syn = frame(&[0xA1, 0x12, 0x34, 0x56, b'k', b'e', b'y']);
        assert_eq!(syn.kind, FrameType::Syn);
        assert_eq!(syn.id, id(0x12_34_56));
        assert_eq!(&syn.payload[..], b"key");
        let close = Frame::new(FrameType::CloseToClient, id(0x12_34_56), Bytes::new());
        assert_eq!(&close.to_bytes()[..], &[0x52, 0x12, 0x34, 0x56]);
    }

    #[test]
    fn sample_b_frames() {
        let ack = Frame::ack(id(0x23_45_67), id(0x98_76_54));
        assert_eq!(
            &ack.to_bytes()[..],
            &[0x51, 0x23, 0x45, 0x67, 0x98, 0x76, 0x54]
        );
        assert_eq!(ack.ack_server_id(), Some(id(0x98_76_54)));
        let data = frame(&[0x50, 0x23, 0x45, 0x67, b'd']);
        assert_eq!(data.kind, FrameType::DataToClient);
        let close = frame(&[0xA2, 0x98, 0x76, 0x54]);
        assert_eq!(close.kind, FrameType::CloseToServer);
        assert!(close.payload.is_empty());
    }

    #[test]
    fn sample_c_bare_ack_decodes_with_no_server_id() {
        let ack = frame(&[0x51, 0x11, 0x11, 0x11, 0xFF, 0xFF, 0xFF]);
        assert_eq!(ack.ack_server_id(), Some(id(0xFF_FF_FF)));
        let bare = frame(&[0x51, 0x11, 0x11, 0x11]);
        assert_eq!(bare.kind, FrameType::Ack);
        assert_eq!(bare.ack_server_id(), None);
        assert_eq!(ack_server_id(&[1, 2]), None);
        assert_eq!(ack_server_id(&[0, 0, 0]), None);
        assert_eq!(ack_server_id(&[1, 2, 3, 4]), None);
    }

    #[test]
    fn ping_chaff_and_errors() {
        assert_eq!(Message::decode_slice(&[0xFF]), Ok(Message::Ping));
        assert_eq!(
            Message::decode_slice(&[0xFF, 0, 0, 0, 9]),
            Ok(Message::Chaff)
        );
        assert_eq!(Message::decode_slice(&[]), Err(FrameError::TooShort(0)));
        assert_eq!(
            Message::decode_slice(&[0xA0, 1, 2]),
            Err(FrameError::TooShort(3))
        );
        assert_eq!(
            Message::decode_slice(&[0x10, 1, 2, 3]),
            Err(FrameError::UnknownType(0x10))
        );
        assert_eq!(
            Message::decode_slice(&[0xA0, 0, 0, 0, 1]),
            Err(FrameError::ZeroId(0xA0))
        );
        let unknown = frame(&[0xA9, 0, 0, 7, 1, 2]);
        assert_eq!(unknown.kind, FrameType::Unknown(0xA9));
        assert!(!FrameError::ZeroId(0).is_fatal());
        assert!(FrameError::TooLong { len: 9, max: 1 }.is_fatal());
    }

    #[test]
    fn encode_data_splits_long_writes() {
        let mut out = BytesMut::new();
        let data: Vec<u8> = (0..10u8).collect();
        let n = encode_data(FrameType::DataToServer, id(5), &data, 4, &mut out);
        assert_eq!(n, 3);
        let mut reader = FrameReader::new(100);
        reader.push(&out);
        let mut got = Vec::new();
        while let Some(m) = reader.next_message().unwrap() {
            let f = frame(&m);
            assert_eq!(f.kind, FrameType::DataToServer);
            assert!(f.payload.len() <= 4);
            got.extend_from_slice(&f.payload);
        }
        assert_eq!(got, data);
        assert_eq!(
            encode_data(FrameType::DataToServer, id(5), &[], 4, &mut out),
            0
        );
    }

    #[test]
    fn data_header_matches_encode_data() {
        let mut out = BytesMut::new();
        encode_data(FrameType::DataToClient, id(0x0A0B0C), b"xyz", 32, &mut out);
        let header = data_header(FrameType::DataToClient, id(0x0A0B0C), 3);
        assert_eq!(header, [0, 0, 0, 7, 0x50, 0x0A, 0x0B, 0x0C]);
        assert_eq!(&out[..8], &header);
    }

    #[test]
    fn reader_takes_one_byte_at_a_time() {
        let mut wire = BytesMut::new();
        Frame::ack(id(1), id(2)).encode_prefixed(&mut wire);
        wire.extend_from_slice(&[0, 0, 0, 1, 0xFF]);
        let mut reader = FrameReader::new(64);
        let mut got = Vec::new();
        for b in wire.iter() {
            reader.push(&[*b]);
            while let Some(m) = reader.next_message().unwrap() {
                got.push(Message::decode(m).unwrap());
            }
        }
        assert_eq!(
            got,
            vec![Message::Frame(Frame::ack(id(1), id(2))), Message::Ping]
        );
        assert_eq!(reader.buffered(), 0);
    }

    #[test]
    fn reader_joins_messages_cut_at_every_point_and_slices_whole_ones() {
        let mut wire = BytesMut::new();
        encode_data(FrameType::DataToClient, id(9), b"abcdefghij", 4, &mut wire);
        wire.extend_from_slice(&[0, 0, 0, 1, 0xFF]);
        let wire = wire.freeze();
        let expected = [&b"abcd"[..], b"efgh", b"ij"];
        for cut in 0..=wire.len() {
            for second in cut..=wire.len() {
                let mut reader = FrameReader::new(64);
                let mut got = Vec::new();
                for piece in [
                    wire.slice(..cut),
                    wire.slice(cut..second),
                    wire.slice(second..),
                ] {
                    reader.push_bytes(piece);
                    while let Some(m) = reader.next_message().unwrap() {
                        got.push(Message::decode(m).unwrap());
                    }
                }
                let payloads: Vec<&[u8]> = got
                    .iter()
                    .filter_map(|m| match m {
                        Message::Frame(f) => Some(&f.payload[..]),
                        _ => None,
                    })
                    .collect();
                assert_eq!(payloads, expected, "cuts at {cut} and {second}");
                assert_eq!(got.last(), Some(&Message::Ping));
                assert_eq!(reader.buffered(), 0);
            }
        }
        // Pushed twice before draining: still in order.
        let mut reader = FrameReader::new(64);
        reader.push_bytes(wire.slice(..3));
        reader.push_bytes(wire.slice(3..10));
        reader.push_bytes(wire.slice(10..));
        let first = reader.next_message().unwrap().unwrap();
        assert_eq!(&first[4..], b"abcd");
        // A message whole inside one pushed buffer is a slice of it.
        let mut reader = FrameReader::new(64);
        reader.push_bytes(wire.clone());
        let message = reader.next_message().unwrap().unwrap();
        assert!(wire.as_ptr_range().contains(&message.as_ptr()));
    }

    #[test]
    fn reader_refuses_an_over_long_prefix_for_good() {
        let mut reader = FrameReader::new(16);
        reader.push(&[0, 0, 0, 17, 1, 2]);
        assert_eq!(
            reader.next_message(),
            Err(FrameError::TooLong { len: 17, max: 16 })
        );
        reader.push(&[0, 0, 0, 1, 0xFF]);
        assert_eq!(reader.next_message(), Ok(None));
        // Zero-length messages are passed up (and rejected by decode).
        let mut reader = FrameReader::new(16);
        reader.push(&[0, 0, 0, 0]);
        assert_eq!(reader.next_message(), Ok(Some(Bytes::new())));
    }
}
