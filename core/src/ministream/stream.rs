//! One stream's protocol state, sans-IO.
//!
//! [`StreamState`] is what one side knows about one stream: its role
//! (client: we sent the SYN; server: we received it), both ids, the phase
//! of the handshake, the bytes received and not yet read, the bytes written
//! before the ACK, and how the stream ended. It consumes frames and
//! application calls and hands back the bytes to transmit (already in the
//! transport's length-prefixed framing); it never touches a socket, a
//! thread or a clock (deadlines are passed in), so every rule below is a
//! unit test.
//!
//! # Rules
//!
//! * **Client side.** `SynSent` until an ACK with a 3-byte server id
//!   arrives (then `Established`) or a Close does (then refused, whatever
//!   its payload). An ACK of another length while waiting is ignored, as the
//!   Java code does. Data written while waiting is held, in order, and
//!   becomes data frames the moment the ACK is handled, so it follows the
//!   handshake on the wire before anything written later.
//! * **Server side.** Created `AcceptPending` from a SYN; [`accept`]
//!   produces the ACK and establishes the stream, [`refuse`] the Close.
//!   (The manager refuses when nobody listens and when no `accept()` takes
//!   the stream within the accept timeout.)
//! * **Established.** Data frames append to the receive buffer. A Close
//!   from the peer ends the stream for reading after the buffered bytes
//!   (end-of-file, then every read returns 0) and makes writes fail with
//!   [`Error::Reset`]. On the client side an ACK without a 3-byte payload
//!   also counts as a Close (sample (c) of the protocol document ends that
//!   way); an ACK with one is a duplicate and ignored.
//! * **Closing.** [`close`] sends the Close of the type table (`0xA2` from
//!   the client side, `0x52` from the server side) once; before the ACK
//!   nothing is sent (the server id is unknown) and a late ACK is answered
//!   with a Close by the manager.
//!
//! # Receive buffering
//!
//! [`has_room`](StreamState::has_room) is true while fewer than
//! `buffer_size` bytes wait to be read. The manager only hands a data
//! frame to a stream that has room, so a stream holds at most
//! `buffer_size` plus one frame; when it has no room the manager stops
//! reading the whole transport connection until the application reads.
//!
//! [`accept`]: StreamState::accept
//! [`refuse`]: StreamState::refuse
//! [`close`]: StreamState::close

use std::collections::VecDeque;
use std::time::Instant;

use bytes::{Buf, Bytes, BytesMut};

use super::error::Error;
use super::frame::{encode_data, Frame, FrameType, StreamId};

/// Which end of the stream this side is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// We sent the SYN.
    Client,
    /// We received the SYN.
    Server,
}

/// Where a stream is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Client side: SYN sent, waiting for the ACK.
    SynSent,
    /// Server side: SYN received, waiting for `accept()`.
    AcceptPending,
    /// Both ids known; data flows.
    Established,
    /// Ended (see [`StreamState::end`] for how).
    Closed,
}

/// How a stream ended, as far as the application is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum End {
    /// The peer sent a Close: reads give end-of-file after the buffered
    /// bytes, writes fail with [`Error::Reset`].
    PeerClosed,
    /// The peer refused our SYN.
    Refused,
    /// The connect timed out.
    TimedOut,
    /// This side closed it.
    LocalClosed,
    /// The transport connection failed.
    TransportFailed,
    /// The manager was destroyed.
    Destroyed,
}

/// The outcome of handing a frame to a stream.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Handled {
    /// Bytes to write to the transport (prefixed frames), if any.
    pub transmit: Option<Bytes>,
    /// The phase changed (waiters should look again).
    pub changed: bool,
    /// The frame was ignored (logged and counted by the caller).
    pub ignored: bool,
}

/// One stream's protocol state. See the [module docs](self).
#[derive(Debug)]
pub struct StreamState {
    role: Role,
    local_id: StreamId,
    remote_id: Option<StreamId>,
    phase: Phase,
    end: Option<End>,
    recv: VecDeque<Bytes>,
    recv_len: usize,
    held: BytesMut,
    /// Closed by the application before the ACK: send the held data and
    /// our Close as soon as the ACK comes.
    close_pending: bool,
    buffer_size: usize,
    max_payload: usize,
    connect_deadline: Option<Instant>,
}

impl StreamState {
    /// The client side of a new stream with our id `local_id`: the SYN to
    /// send comes from [`syn`](Self::syn).
    pub fn client(local_id: StreamId, buffer_size: usize, max_payload: usize) -> StreamState {
        StreamState::with(
            Role::Client,
            local_id,
            None,
            Phase::SynSent,
            buffer_size,
            max_payload,
        )
    }

    /// The server side of a stream opened by a SYN carrying `client_id`,
    /// given our new id `local_id`; waits for [`accept`](Self::accept).
    pub fn server(
        local_id: StreamId,
        client_id: StreamId,
        buffer_size: usize,
        max_payload: usize,
    ) -> StreamState {
        StreamState::with(
            Role::Server,
            local_id,
            Some(client_id),
            Phase::AcceptPending,
            buffer_size,
            max_payload,
        )
    }

    fn with(
        role: Role,
        local_id: StreamId,
        remote_id: Option<StreamId>,
        phase: Phase,
        buffer_size: usize,
        max_payload: usize,
    ) -> StreamState {
        StreamState {
            role,
            local_id,
            remote_id,
            phase,
            end: None,
            recv: VecDeque::new(),
            recv_len: 0,
            held: BytesMut::new(),
            close_pending: false,
            buffer_size: buffer_size.max(1),
            max_payload: max_payload.max(1),
            connect_deadline: None,
        }
    }

    /// The SYN frame (client side) carrying our `destination`, prefixed.
    pub fn syn(&self, destination: &[u8]) -> Bytes {
        let mut out = BytesMut::new();
        Frame::new(
            FrameType::Syn,
            self.local_id,
            Bytes::copy_from_slice(destination),
        )
        .encode_prefixed(&mut out);
        out.freeze()
    }

    /// Our role.
    pub fn role(&self) -> Role {
        self.role
    }

    /// Our id for this stream (the id frames to us carry).
    pub fn local_id(&self) -> StreamId {
        self.local_id
    }

    /// The peer's id, once known.
    pub fn remote_id(&self) -> Option<StreamId> {
        self.remote_id
    }

    /// The current phase.
    pub fn phase(&self) -> Phase {
        self.phase
    }

    /// How the stream ended, if it has.
    pub fn end(&self) -> Option<End> {
        self.end
    }

    /// Sets the deadline [`poll_timeout`](Self::poll_timeout) checks while
    /// the SYN is unanswered.
    pub fn set_connect_deadline(&mut self, deadline: Option<Instant>) {
        self.connect_deadline = deadline;
    }

    /// The connect deadline, if one is set and the SYN is unanswered.
    pub fn connect_deadline(&self) -> Option<Instant> {
        (self.phase == Phase::SynSent)
            .then_some(self.connect_deadline)
            .flatten()
    }

    /// Ends a connect whose deadline has passed. Returns whether it did.
    pub fn poll_timeout(&mut self, now: Instant) -> bool {
        match self.connect_deadline() {
            Some(deadline) if now >= deadline => {
                self.finish(End::TimedOut);
                true
            }
            _ => false,
        }
    }

    /// Whether a data frame may be appended now (see the module docs).
    pub fn has_room(&self) -> bool {
        self.recv_len < self.buffer_size || !self.accepts_data()
    }

    /// Bytes received and not yet read.
    pub fn buffered(&self) -> usize {
        self.recv_len
    }

    /// Bytes written before the ACK and not yet sent.
    pub fn held(&self) -> usize {
        self.held.len()
    }

    /// Handles a frame addressed to this stream (the manager has matched
    /// the id and the connection).
    pub fn on_frame(&mut self, frame: &Frame) -> Handled {
        match (self.role, frame.kind) {
            (Role::Client, FrameType::Ack) => self.on_ack(frame),
            (Role::Client, FrameType::CloseToClient) | (Role::Server, FrameType::CloseToServer) => {
                self.on_close()
            }
            (Role::Client, FrameType::DataToClient) | (Role::Server, FrameType::DataToServer) => {
                self.on_data(frame.payload.clone())
            }
            _ => Handled {
                ignored: true,
                ..Handled::default()
            },
        }
    }

    /// Accepts a pending server-side stream: returns the ACK to send.
    /// `None` if the stream is not waiting for `accept()`.
    pub fn accept(&mut self) -> Option<Bytes> {
        let client = self.remote_id?;
        if self.phase != Phase::AcceptPending {
            return None;
        }
        self.phase = Phase::Established;
        let mut out = BytesMut::new();
        Frame::ack(client, self.local_id).encode_prefixed(&mut out);
        Some(out.freeze())
    }

    /// Refuses a pending server-side stream: returns the Close to send
    /// (`52` + the client id, no payload, as in sample (a)).
    pub fn refuse(&mut self) -> Option<Bytes> {
        let client = self.remote_id?;
        if self.phase != Phase::AcceptPending {
            return None;
        }
        self.finish(End::LocalClosed);
        Some(close_frame(FrameType::CloseToClient, client))
    }

    /// Writes application data: `Ok(Some(frames))` to transmit when
    /// established, `Ok(None)` when held until the ACK. Fails once the
    /// stream has ended ([`Error::Reset`] after a peer Close).
    pub fn write(&mut self, data: &[u8]) -> Result<Option<Bytes>, Error> {
        if let Some(end) = self.end {
            return Err(end_error(end, true));
        }
        if self.close_pending {
            return Err(Error::Closed);
        }
        match (self.phase, self.remote_id) {
            (Phase::Established, Some(peer)) => {
                let mut out = BytesMut::new();
                encode_data(
                    FrameType::data(self.role == Role::Client),
                    peer,
                    data,
                    self.max_payload,
                    &mut out,
                );
                Ok(Some(out.freeze()))
            }
            _ => {
                self.held.extend_from_slice(data);
                Ok(None)
            }
        }
    }

    /// Where data written now goes: `Ok(Some((type, peer id)))` once
    /// established (the caller frames it, e.g. with
    /// [`data_header`](super::frame::data_header), and sends it from its
    /// own buffer), `Ok(None)` before the ACK (hand it to
    /// [`write`](Self::write), which holds it). Fails as `write` does.
    pub fn data_target(&self) -> Result<Option<(FrameType, StreamId)>, Error> {
        if let Some(end) = self.end {
            return Err(end_error(end, true));
        }
        if self.close_pending {
            return Err(Error::Closed);
        }
        Ok(match (self.phase, self.remote_id) {
            (Phase::Established, Some(peer)) => {
                Some((FrameType::data(self.role == Role::Client), peer))
            }
            _ => None,
        })
    }

    /// Reads buffered bytes into `buf`: `Ok(n > 0)` data, `Ok(0)` end of
    /// stream (or an empty `buf`), `Err(None)` nothing yet (wait),
    /// `Err(Some(e))` the stream failed.
    pub fn read(&mut self, buf: &mut [u8]) -> Result<usize, Option<Error>> {
        if buf.is_empty() {
            return Ok(0);
        }
        if self.recv_len > 0 {
            let mut n = 0;
            while n < buf.len() {
                let Some(front) = self.recv.front_mut() else {
                    break;
                };
                let take = front.len().min(buf.len() - n);
                buf[n..n + take].copy_from_slice(&front[..take]);
                front.advance(take);
                n += take;
                if front.is_empty() {
                    self.recv.pop_front();
                }
            }
            self.recv_len -= n;
            return Ok(n);
        }
        self.at_end().map(|()| 0)
    }

    /// With nothing buffered: `Ok(())` at the end of the stream,
    /// `Err(None)` to wait, `Err(Some(e))` when it failed.
    fn at_end(&self) -> Result<(), Option<Error>> {
        if self.close_pending {
            return Err(Some(Error::Closed));
        }
        match self.end {
            None => Err(None),
            Some(End::PeerClosed) => Ok(()),
            Some(end) => Err(Some(end_error(end, false))),
        }
    }

    /// Like [`read`](Self::read), but hands out the received payloads
    /// themselves (slices of the transport's read buffers, no copy), at
    /// most `max` bytes in all: `Ok(chunks)` with data, `Ok(vec![])` at
    /// the end of the stream (or for `max == 0`).
    pub fn read_chunks(&mut self, max: usize) -> Result<Vec<Bytes>, Option<Error>> {
        if max == 0 {
            return Ok(Vec::new());
        }
        if self.recv_len > 0 {
            let mut out = Vec::new();
            let mut n = 0;
            while n < max {
                let Some(front) = self.recv.front_mut() else {
                    break;
                };
                if front.len() > max - n {
                    out.push(front.split_to(max - n));
                    n = max;
                    break;
                }
                n += front.len();
                out.extend(self.recv.pop_front());
            }
            self.recv_len -= n;
            return Ok(out);
        }
        self.at_end().map(|()| Vec::new())
    }

    /// Closes from this side: returns the Close to send, if one is due
    /// (established and not closed yet). Buffered received bytes are
    /// dropped (nobody will read them).
    ///
    /// Before the ACK (client side) nothing can be sent yet: the stream
    /// stays in `SynSent` with [`close_pending`](Self::close_pending) set,
    /// and the ACK then releases the held data followed by our Close, so
    /// bytes written before closing are not lost. Reads and writes fail
    /// from now on either way.
    pub fn close(&mut self) -> Option<Bytes> {
        self.recv.clear();
        self.recv_len = 0;
        if self.phase == Phase::SynSent && self.end.is_none() {
            self.close_pending = true;
            return None;
        }
        let was_open = self.end.is_none() && self.phase == Phase::Established;
        let peer = self.remote_id;
        self.held.clear();
        if self.end.is_none() || self.end == Some(End::PeerClosed) {
            self.end = Some(End::LocalClosed);
        }
        self.phase = Phase::Closed;
        match (was_open, peer) {
            (true, Some(peer)) => Some(close_frame(
                FrameType::close(self.role == Role::Client),
                peer,
            )),
            _ => None,
        }
    }

    /// Whether the application closed the stream before its ACK came (the
    /// stream still waits for it to send the held data and the Close).
    pub fn close_pending(&self) -> bool {
        self.close_pending
    }

    /// Ends the stream for a reason outside the protocol (transport
    /// failure, manager destroyed). Buffered bytes stay readable.
    pub fn fail(&mut self, end: End) {
        if self.end.is_none() {
            self.finish(end);
        }
    }

    fn finish(&mut self, end: End) {
        self.end = Some(end);
        self.phase = Phase::Closed;
        self.held.clear();
    }

    fn accepts_data(&self) -> bool {
        self.end.is_none() && self.phase == Phase::Established
    }

    fn on_ack(&mut self, frame: &Frame) -> Handled {
        let server_id = frame.ack_server_id();
        match (self.phase, server_id) {
            (Phase::SynSent, Some(server)) => {
                self.remote_id = Some(server);
                self.phase = Phase::Established;
                let mut out = BytesMut::new();
                if !self.held.is_empty() {
                    let held = self.held.split().freeze();
                    encode_data(
                        FrameType::DataToServer,
                        server,
                        &held,
                        self.max_payload,
                        &mut out,
                    );
                }
                if self.close_pending {
                    Frame::new(FrameType::CloseToServer, server, Bytes::new())
                        .encode_prefixed(&mut out);
                    self.finish(End::LocalClosed);
                }
                Handled {
                    transmit: (!out.is_empty()).then(|| out.freeze()),
                    changed: true,
                    ignored: false,
                }
            }
            // A bare ACK on an established stream: sample (c)'s Close.
            (Phase::Established, None) if frame.payload.is_empty() => self.on_close(),
            _ => Handled {
                ignored: true,
                ..Handled::default()
            },
        }
    }

    fn on_close(&mut self) -> Handled {
        match self.phase {
            Phase::SynSent => self.finish(End::Refused),
            Phase::Established | Phase::AcceptPending => self.finish(End::PeerClosed),
            Phase::Closed => {
                return Handled {
                    ignored: true,
                    ..Handled::default()
                }
            }
        }
        Handled {
            changed: true,
            ..Handled::default()
        }
    }

    fn on_data(&mut self, payload: Bytes) -> Handled {
        if !self.accepts_data() {
            return Handled {
                ignored: true,
                ..Handled::default()
            };
        }
        if !payload.is_empty() {
            self.recv_len += payload.len();
            self.recv.push_back(payload);
        }
        Handled {
            changed: true,
            ..Handled::default()
        }
    }
}

/// The error a read (`writing == false`) or write reports for a stream
/// that ended with `end`.
pub fn end_error(end: End, writing: bool) -> Error {
    match end {
        End::PeerClosed if writing => Error::Reset,
        End::PeerClosed | End::LocalClosed => Error::Closed,
        End::Refused => Error::Refused,
        End::TimedOut => Error::TimedOut,
        End::TransportFailed => Error::Transport(std::io::Error::new(
            std::io::ErrorKind::BrokenPipe,
            "the transport connection closed",
        )),
        End::Destroyed => Error::Destroyed,
    }
}

/// A prefixed Close frame without payload.
fn close_frame(kind: FrameType, id: StreamId) -> Bytes {
    let mut out = BytesMut::new();
    Frame::new(kind, id, Bytes::new()).encode_prefixed(&mut out);
    out.freeze()
}

/// A random id in `1..=0xFFFFFF` for which `taken` is false.
pub fn random_id(mut taken: impl FnMut(StreamId) -> bool) -> StreamId {
    loop {
        let mut b = [0u8; 3];
        fill_random(&mut b);
        if let Some(id) = StreamId::from_bytes(b) {
            if !taken(id) {
                return id;
            }
        }
    }
}

fn fill_random(buf: &mut [u8]) {
    if getrandom::fill(buf).is_ok() {
        return;
    }
    // The OS generator failed (practically never): a counter mixed with the
    // clock still gives distinct ids, which is all uniqueness needs.
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(1);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos() as u64)
        .unwrap_or(0);
    let x = (COUNTER.fetch_add(1, Ordering::Relaxed) ^ nanos.rotate_left(24)).to_be_bytes();
    for (b, x) in buf.iter_mut().zip(x.iter().rev()) {
        *b = *x;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ministream::frame::{FrameReader, Message};
    use std::time::Duration;

    fn id(v: u32) -> StreamId {
        StreamId::new(v).unwrap()
    }

    fn frames(wire: &[u8]) -> Vec<Vec<u8>> {
        let mut r = FrameReader::new(1 << 20);
        r.push(wire);
        let mut out = Vec::new();
        while let Some(m) = r.next_message().unwrap() {
            out.push(m.to_vec());
        }
        out
    }

    fn decode(bytes: &[u8]) -> Frame {
        match Message::decode_slice(bytes).unwrap() {
            Message::Frame(f) => f,
            m => panic!("{m:?}"),
        }
    }

    #[test]
    fn client_sample_b() {
        let mut s = StreamState::client(id(0x23_45_67), 100, 32);
        assert_eq!(
            frames(&s.syn(b"key")),
            vec![vec![0xA1, 0x23, 0x45, 0x67, b'k', b'e', b'y']]
        );
        let h = s.on_frame(&decode(&[0x51, 0x23, 0x45, 0x67, 0x98, 0x76, 0x54]));
        assert!(h.changed && h.transmit.is_none());
        assert_eq!(s.phase(), Phase::Established);
        s.on_frame(&decode(&[0x50, 0x23, 0x45, 0x67, b'd', b'a']));
        let mut buf = [0u8; 8];
        assert_eq!(s.read(&mut buf).unwrap(), 2);
        assert_eq!(&buf[..2], b"da");
        assert_eq!(
            frames(&s.close().unwrap()),
            vec![vec![0xA2, 0x98, 0x76, 0x54]]
        );
        assert!(s.close().is_none(), "closes once");
    }

    #[test]
    fn client_sample_c_holds_data_and_reads_the_bare_ack_as_close() {
        let mut s = StreamState::client(id(0x11_11_11), 100, 32);
        assert!(matches!(s.write(b"GET /"), Ok(None)));
        assert_eq!(s.held(), 5);
        let h = s.on_frame(&decode(&[0x51, 0x11, 0x11, 0x11, 0xFF, 0xFF, 0xFF]));
        assert_eq!(
            frames(&h.transmit.unwrap()),
            vec![b"\xA0\xFF\xFF\xFFGET /".to_vec()]
        );
        s.on_frame(&decode(b"\x50\x11\x11\x11one"));
        s.on_frame(&decode(b"\x50\x11\x11\x11two"));
        let h = s.on_frame(&decode(&[0x51, 0x11, 0x11, 0x11]));
        assert!(h.changed);
        let mut buf = [0u8; 16];
        assert_eq!(s.read(&mut buf).unwrap(), 6);
        assert_eq!(&buf[..6], b"onetwo");
        assert_eq!(s.read(&mut buf).unwrap(), 0);
        assert_eq!(s.read(&mut buf).unwrap(), 0);
        assert!(matches!(s.write(b"x"), Err(Error::Reset)));
    }

    #[test]
    fn client_refused_and_ack_lengths() {
        let mut s = StreamState::client(id(0x12_34_56), 100, 32);
        // An ACK of the wrong length is ignored while waiting.
        assert!(s.on_frame(&decode(&[0x51, 0x12, 0x34, 0x56, 1, 2])).ignored);
        assert!(s.on_frame(&decode(&[0x51, 0x12, 0x34, 0x56])).ignored);
        assert_eq!(s.phase(), Phase::SynSent);
        // A Close (with or without the server id) refuses.
        s.on_frame(&decode(&[0x52, 0x12, 0x34, 0x56, 9, 9, 9]));
        assert_eq!(s.end(), Some(End::Refused));
        assert!(matches!(s.read(&mut [0; 4]), Err(Some(Error::Refused))));
        // Duplicate ACK on an established stream is ignored.
        let mut s = StreamState::client(id(1), 100, 32);
        s.on_frame(&decode(&[0x51, 0, 0, 1, 0, 0, 2]));
        assert!(s.on_frame(&decode(&[0x51, 0, 0, 1, 0, 0, 3])).ignored);
        assert_eq!(s.remote_id(), Some(id(2)));
        assert!(s.on_frame(&decode(&[0x51, 0, 0, 1, 7])).ignored);
        assert_eq!(s.phase(), Phase::Established);
    }

    #[test]
    fn close_before_the_ack_sends_held_data_then_close() {
        let mut s = StreamState::client(id(7), 100, 32);
        assert!(matches!(s.write(b"early"), Ok(None)));
        assert!(s.close().is_none());
        assert!(s.close_pending());
        assert!(matches!(s.write(b"x"), Err(Error::Closed)));
        assert!(matches!(s.read(&mut [0; 4]), Err(Some(Error::Closed))));
        let h = s.on_frame(&decode(&[0x51, 0, 0, 7, 0, 0, 9]));
        assert_eq!(
            frames(&h.transmit.unwrap()),
            vec![b"\xA0\x00\x00\x09early".to_vec(), vec![0xA2, 0, 0, 9]]
        );
        assert_eq!(s.end(), Some(End::LocalClosed));
        // Refused instead: nothing to send.
        let mut r = StreamState::client(id(8), 100, 32);
        r.write(b"lost").unwrap();
        r.close();
        assert!(r.on_frame(&decode(&[0x52, 0, 0, 8])).transmit.is_none());
        assert_eq!(r.end(), Some(End::Refused));
    }

    #[test]
    fn connect_deadline() {
        let now = Instant::now();
        let mut s = StreamState::client(id(1), 100, 32);
        s.set_connect_deadline(Some(now + Duration::from_secs(30)));
        assert!(!s.poll_timeout(now));
        assert!(s.poll_timeout(now + Duration::from_secs(30)));
        assert!(matches!(s.read(&mut [0; 1]), Err(Some(Error::TimedOut))));
        assert_eq!(s.connect_deadline(), None);
    }

    #[test]
    fn read_chunks_hands_out_the_payloads_up_to_max_then_eof() {
        let mut s = StreamState::server(id(9), id(8), 100, 32);
        s.accept().unwrap();
        assert!(matches!(s.read_chunks(10), Err(None)));
        let wire = Bytes::from_static(b"abcdefg");
        for payload in [wire.slice(..3), wire.slice(3..)] {
            s.on_frame(&Frame::new(FrameType::DataToServer, id(9), payload));
        }
        let first = s.read_chunks(5).unwrap();
        assert_eq!(
            first,
            vec![Bytes::from_static(b"abc"), Bytes::from_static(b"de")]
        );
        // The payloads themselves, not copies.
        assert_eq!(first[0].as_ptr(), wire.as_ptr());
        assert_eq!(s.buffered(), 2);
        assert!(s.read_chunks(0).unwrap().is_empty());
        assert_eq!(s.read_chunks(10).unwrap(), vec![Bytes::from_static(b"fg")]);
        s.on_frame(&Frame::new(FrameType::CloseToServer, id(9), Bytes::new()));
        assert!(s.read_chunks(10).unwrap().is_empty());
        s.close();
        assert!(matches!(s.read_chunks(10), Err(Some(Error::Closed))));
    }

    #[test]
    fn server_side_accept_refuse_and_close() {
        let mut s = StreamState::server(id(0x98_76_54), id(0x23_45_67), 100, 32);
        assert!(matches!(s.write(b"early"), Ok(None)));
        assert_eq!(
            frames(&s.accept().unwrap()),
            vec![vec![0x51, 0x23, 0x45, 0x67, 0x98, 0x76, 0x54]]
        );
        assert!(s.accept().is_none());
        assert_eq!(
            frames(&s.write(b"data").unwrap().unwrap()),
            vec![b"\x50\x23\x45\x67data".to_vec()]
        );
        // Client-direction frames are not for a server stream.
        assert!(s.on_frame(&decode(&[0x51, 0x23, 0x45, 0x67])).ignored);
        s.on_frame(&decode(&[0xA2, 0x98, 0x76, 0x54]));
        assert_eq!(s.end(), Some(End::PeerClosed));
        assert!(s.close().is_none(), "no Close after the peer's");

        let mut r = StreamState::server(id(5), id(0x12_34_56), 100, 32);
        assert_eq!(
            frames(&r.refuse().unwrap()),
            vec![vec![0x52, 0x12, 0x34, 0x56]]
        );
        assert!(r.accept().is_none());
    }

    #[test]
    fn room_and_splitting() {
        let mut s = StreamState::server(id(9), id(8), 4, 3);
        s.accept();
        assert!(s.has_room());
        s.on_frame(&decode(b"\xA0\x00\x00\x09abcdef"));
        assert!(!s.has_room());
        assert_eq!(s.buffered(), 6);
        let mut buf = [0u8; 3];
        assert_eq!(s.read(&mut buf).unwrap(), 3);
        assert!(s.has_room());
        let out = s.write(b"1234567").unwrap().unwrap();
        assert_eq!(
            frames(&out),
            vec![
                b"\x50\x00\x00\x08123".to_vec(),
                b"\x50\x00\x00\x08456".to_vec(),
                b"\x50\x00\x00\x087".to_vec()
            ]
        );
        s.fail(End::TransportFailed);
        assert_eq!(s.read(&mut buf).unwrap(), 3);
        assert!(matches!(s.read(&mut buf), Err(Some(Error::Transport(_)))));
    }

    #[test]
    fn random_ids_avoid_taken_ones() {
        let mut seen = std::collections::HashSet::new();
        for _ in 0..1000 {
            let i = random_id(|i| seen.contains(&i));
            assert!(i.get() >= 1 && i.get() <= 0xFF_FF_FF);
            assert!(seen.insert(i));
        }
    }
}
