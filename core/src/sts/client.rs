//! The STS/1.0 client: python-sts's `inetsocket.Socket` and
//! `inetmgr.connect`, over a [`Peer`].
//!
//! [`StsClient`] sends simple messages ([`send`](StsClient::send)) and
//! requests ([`request_many`](StsClient::request_many),
//! [`request_one`](StsClient::request_one),
//! [`request_none`](StsClient::request_none)), queues what the server
//! sends on its own for [`read`](StsClient::read), pings after 5 s of
//! silence (python-sts's `AUTO_PING_SECONDS`), and can be
//! [attached](StsClient::attach) to and [detached](StsClient::detach) from
//! an existing socket. [`ConnectInfo`] is the `/Sts/Connect` notification
//! of `inetmgr.connect`.

use std::io;
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

use bytes::Bytes;
use crossbeam_channel as channel;

use super::error::ErrorReply;
use super::header::Headers;
use super::message::Message;
use super::peer::{Peer, PeerConfig, PeerError, PeerEvent, Replies, ReplyItem, Responder};
use crate::net::{DetachError, Stream};

/// python-sts's `AUTO_PING_SECONDS`: a ping after this long without
/// sending.
pub const AUTO_PING: Duration = Duration::from_secs(5);

/// How a client's reader polls so that [`StsClient::detach`] can stop it
/// (see [`crate::net::Config::detach_poll`]).
pub const DETACH_POLL: Duration = Duration::from_millis(50);

/// A client's settings: a [`PeerConfig`] with the client defaults (ping
/// every [`AUTO_PING`] of silence, detachable sockets).
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// The connection's settings.
    pub peer: PeerConfig,
}

impl Default for ClientConfig {
    fn default() -> Self {
        let mut peer = PeerConfig {
            ping_interval: Some(AUTO_PING),
            ..PeerConfig::default()
        };
        peer.connection.detach_poll = Some(DETACH_POLL);
        ClientConfig { peer }
    }
}

/// A request or simple message the server sent on its own.
#[derive(Debug)]
pub struct ServerMessage {
    /// The message (fragments reassembled).
    pub message: Message,
    /// For a request with a transaction id: how to answer it.
    pub responder: Option<Responder>,
}

impl ServerMessage {
    /// `(protocol, command)` of a `/Protocol/Command` request line.
    pub fn protocol_command(&self) -> Option<(&str, &str)> {
        self.message.start.protocol_command()
    }
}

/// What [`StsClient::request_one`] and [`StsClient::request_none`] can
/// end with besides success.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RequestError {
    /// The request could not be sent.
    #[error(transparent)]
    Send(#[from] PeerError),
    /// An error reply (status 400 or above).
    #[error("error reply {status}: code {} {}", .error.code, .error.text)]
    Error {
        /// The status code.
        status: u16,
        /// Its `<Error .../>` body.
        error: ErrorReply,
    },
    /// No final reply in time (python-sts's `TIMEOUT`, 42).
    #[error("the request timed out")]
    Timeout,
    /// Bad data from the server (python-sts's `BAD_SERVER_DATA`, 4):
    /// replies out of sequence, a broken fragment, an unexpected body or
    /// several replies where one was expected; or the connection closed.
    #[error("bad server data: {0}")]
    BadServerData(String),
}

/// An STS client connection; see the [module docs](self). Cheap to clone.
#[derive(Debug, Clone)]
pub struct StsClient {
    peer: Peer,
    incoming: channel::Receiver<ServerMessage>,
}

impl StsClient {
    /// Connects over TCP.
    pub fn connect(addr: impl ToSocketAddrs, config: ClientConfig) -> io::Result<StsClient> {
        StsClient::attach(TcpStream::connect(addr)?, config)
    }

    /// Takes over a connected socket (python-sts's `Socket(socket)`).
    pub fn attach(socket: TcpStream, config: ClientConfig) -> io::Result<StsClient> {
        StsClient::attach_stream(socket, config)
    }

    /// Takes over any connected stream, e.g. TLS from
    /// [`Stream::tls_connect`] (which cannot be detached).
    pub fn attach_stream(stream: impl Into<Stream>, config: ClientConfig) -> io::Result<StsClient> {
        let (tx, rx) = channel::unbounded();
        let peer = Peer::start(stream, config.peer, move |ev| {
            if let PeerEvent::Request { message, responder } = ev {
                let _ = tx.send(ServerMessage { message, responder });
            }
        })?;
        Ok(StsClient { peer, incoming: rx })
    }

    /// Stops the client's threads and returns the socket, open
    /// (python-sts's `detach_socket`). Requests in flight fail; messages
    /// not yet [`read`](Self::read) stay readable.
    pub fn detach(&self) -> Result<TcpStream, DetachError> {
        self.peer.detach()
    }

    /// The connection underneath.
    pub fn peer(&self) -> &Peer {
        &self.peer
    }

    /// Sends a simple message `P /protocol/command` (no reply).
    pub fn send(
        &self,
        protocol: &str,
        command: &str,
        headers: Headers,
        body: impl Into<Bytes>,
    ) -> Result<(), PeerError> {
        self.peer
            .send(build(protocol, command, headers, body.into()))
    }

    /// Sends a request; its replies come as they arrive, partial ones then
    /// the final one (or an error reply, a timeout or a failure).
    /// `timeout`: how long to wait for each next reply (default 30 s).
    pub fn request_many(
        &self,
        protocol: &str,
        command: &str,
        headers: Headers,
        body: impl Into<Bytes>,
        timeout: Option<Duration>,
    ) -> Result<Replies, PeerError> {
        self.peer
            .request(build(protocol, command, headers, body.into()), timeout)
    }

    /// Sends a request that expects exactly one reply, and returns it.
    /// Partial replies are bad server data here.
    pub fn request_one(
        &self,
        protocol: &str,
        command: &str,
        headers: Headers,
        body: impl Into<Bytes>,
        timeout: Option<Duration>,
    ) -> Result<Message, RequestError> {
        let mut replies = self.request_many(protocol, command, headers, body, timeout)?;
        match replies.next() {
            Some(ReplyItem::Reply {
                message,
                is_final: true,
            }) => Ok(message),
            Some(ReplyItem::Reply { .. }) => {
                self.peer.cancel(replies.id());
                Err(RequestError::BadServerData(
                    "a multi-part reply to a request expecting one".into(),
                ))
            }
            other => Err(ended(other)),
        }
    }

    /// Sends a request whose answer carries no content: success, or an
    /// error reply.
    pub fn request_none(
        &self,
        protocol: &str,
        command: &str,
        headers: Headers,
        body: impl Into<Bytes>,
        timeout: Option<Duration>,
    ) -> Result<(), RequestError> {
        let message = self.request_one(protocol, command, headers, body, timeout)?;
        if message.body.iter().all(u8::is_ascii_whitespace) {
            Ok(())
        } else {
            Err(RequestError::BadServerData(
                "a reply with content to a request expecting none".into(),
            ))
        }
    }

    /// The next request or message the server sent on its own, waiting up
    /// to `timeout` (`None`: until one comes or the connection ends).
    pub fn read(&self, timeout: Option<Duration>) -> Option<ServerMessage> {
        match timeout {
            Some(t) => self.incoming.recv_timeout(t).ok(),
            None => self.incoming.recv().ok(),
        }
    }

    /// Whether the connection has ended.
    pub fn is_closed(&self) -> bool {
        self.peer.is_closed()
    }

    /// Sends what is queued and closes.
    pub fn close(&self) {
        self.peer.close();
    }

    /// Sends the `/Sts/Connect` notification of python-sts's
    /// `inetmgr.connect`.
    pub fn announce(&self, info: &ConnectInfo) -> Result<(), PeerError> {
        self.send("Sts", "Connect", Headers::new(), info.to_xml())
    }
}

/// The fields of the `/Sts/Connect` notification (python-sts's
/// `inetmgr.connect`), sent as child elements of `<Connect>` in this
/// order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectInfo {
    /// `ConnType`.
    pub conn_type: String,
    /// `Program`.
    pub program: String,
    /// `Build`.
    pub build: String,
    /// `Process`: python-sts sends the process id.
    pub process: String,
    /// `ProductType`: python-sts always sends 1000.
    pub product_type: String,
    /// `AppIndex`: python-sts always sends 1.
    pub app_index: String,
    /// `Address`: the local IP address of the socket.
    pub address: String,
}

impl ConnectInfo {
    /// python-sts's values for this process and `local_ip`.
    pub fn new(conn_type: &str, program: &str, build: &str, local_ip: &str) -> ConnectInfo {
        ConnectInfo {
            conn_type: conn_type.to_string(),
            program: program.to_string(),
            build: build.to_string(),
            process: std::process::id().to_string(),
            product_type: "1000".to_string(),
            app_index: "1".to_string(),
            address: local_ip.to_string(),
        }
    }

    /// `<Connect><ConnType>…</ConnType>…<Address>…</Address></Connect>`
    /// (no declaration; the message adds the trailing LF).
    pub fn to_xml(&self) -> String {
        let mut out = String::from("<Connect>");
        for (name, value) in [
            ("ConnType", &self.conn_type),
            ("Program", &self.program),
            ("Build", &self.build),
            ("Process", &self.process),
            ("ProductType", &self.product_type),
            ("AppIndex", &self.app_index),
            ("Address", &self.address),
        ] {
            out.push('<');
            out.push_str(name);
            out.push('>');
            out.push_str(&quick_xml::escape::escape(value.as_str()));
            out.push_str("</");
            out.push_str(name);
            out.push('>');
        }
        out.push_str("</Connect>");
        out
    }
}

fn build(protocol: &str, command: &str, headers: Headers, body: Bytes) -> Message {
    let mut m = Message::request(protocol, command);
    m.headers = headers;
    m.body = body;
    m
}

/// The error for a request that ended without a final reply.
fn ended(item: Option<ReplyItem>) -> RequestError {
    match item {
        Some(ReplyItem::Error { status, error, .. }) => RequestError::Error { status, error },
        Some(ReplyItem::Timeout) => RequestError::Timeout,
        Some(ReplyItem::Failed(why)) => RequestError::BadServerData(why),
        Some(ReplyItem::Reply { .. }) | None => {
            RequestError::BadServerData("the connection closed".into())
        }
    }
}
