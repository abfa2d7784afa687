//! The STS/1.0 server: listens (TCP, optionally TLS), runs one [`Peer`]
//! per connection, dispatches requests by `/Protocol/Command` to
//! handlers, drops connections that stay silent too long, and sends one
//! simple message to many clients in one call (the spec's
//! multi-destination messages).
//!
//! Handlers run on the connection's reader thread: they must not block.
//! A handler that needs time moves the [`Responder`] to another thread and
//! answers from there (partial replies, then a final or error reply).
//! A request for a command nobody handles gets a 404 error reply
//! (`<Error code="404" text="unknown command /P/C"/>`); a simple message
//! for one is dropped (there is nobody to tell).

use std::collections::HashMap;
use std::io;
use std::net::{SocketAddr, ToSocketAddrs};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::{Mutex, RwLock};

use super::error::ErrorReply;
use super::message::{Message, StartLine};
use super::peer::{CloseReason, Peer, PeerConfig, PeerError, PeerEvent, Responder};
use crate::net::{Listener, ListenerConfig, Stream, TlsServerConfig};

/// Status of the error reply to a request for an unknown command.
pub const UNKNOWN_COMMAND: u16 = 404;

/// A server's settings.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Each connection's settings. The server default closes a connection
    /// silent for 30 s (six missed client pings) and does not ping.
    pub peer: PeerConfig,
    /// Serve TLS on the listening socket.
    pub tls: Option<TlsServerConfig>,
    /// How long a TLS handshake may take.
    pub handshake_timeout: Duration,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            peer: PeerConfig {
                idle_timeout: Some(Duration::from_secs(30)),
                ..PeerConfig::default()
            },
            tls: None,
            handshake_timeout: Duration::from_secs(10),
        }
    }
}

/// A request or simple message handed to a handler.
#[derive(Debug)]
pub struct Request {
    /// The connection it came on (to send it messages later).
    pub connection: ClientHandle,
    /// The message, fragments reassembled.
    pub message: Message,
    /// For a request with a transaction id: how to answer it.
    pub responder: Option<Responder>,
}

/// Handles the requests of one `/Protocol/Command`.
pub type Handler = Arc<dyn Fn(Request) + Send + Sync>;

/// Connection lifecycle notices.
#[derive(Debug)]
#[non_exhaustive]
pub enum ServerEvent {
    /// A client connected.
    Connected(ClientHandle),
    /// A client's connection ended (`None`: cleanly).
    Disconnected(ClientHandle, Option<CloseReason>),
    /// A client sent something refused (see [`PeerEvent::ProtocolError`]).
    ProtocolError(ClientHandle, String),
}

/// One connected client, as the server sees it. Cheap to clone.
#[derive(Debug, Clone)]
pub struct ClientHandle {
    id: u64,
    addr: Option<SocketAddr>,
    peer: Peer,
}

impl ClientHandle {
    /// The server's number for this connection (unique per server).
    pub fn id(&self) -> u64 {
        self.id
    }

    /// The client's address.
    pub fn addr(&self) -> Option<SocketAddr> {
        self.addr
    }

    /// The connection, to send messages or requests to the client.
    pub fn peer(&self) -> &Peer {
        &self.peer
    }

    /// Sends a simple message to this client.
    pub fn send(&self, message: Message) -> Result<(), PeerError> {
        self.peer.send(message)
    }

    /// Closes this client's connection.
    pub fn close(&self) {
        self.peer.close();
    }
}

type EventCallback = Arc<dyn Fn(ServerEvent) + Send + Sync>;

struct Shared {
    config: ServerConfig,
    /// Handlers by request URI (`/Protocol/Command`).
    routes: RwLock<HashMap<String, Handler>>,
    fallback: RwLock<Option<Handler>>,
    events: RwLock<Option<EventCallback>>,
    clients: Mutex<HashMap<u64, ClientHandle>>,
    next_id: Mutex<u64>,
    closed: AtomicBool,
}

/// A listening STS server; see the [module docs](self).
pub struct StsServer {
    shared: Arc<Shared>,
    addr: SocketAddr,
    listener: Mutex<Option<Listener>>,
}

impl std::fmt::Debug for StsServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StsServer")
            .field("addr", &self.addr)
            .field("clients", &self.shared.clients.lock().len())
            .finish_non_exhaustive()
    }
}

impl StsServer {
    /// Listens on `addr` (port 0: any free port; see
    /// [`local_addr`](Self::local_addr)). Register handlers before clients
    /// send requests: until then they get 404s.
    pub fn bind(addr: impl ToSocketAddrs, config: ServerConfig) -> io::Result<StsServer> {
        let listener_config = ListenerConfig {
            // Game backends see many clients behind one address: no
            // limits here, as before the shared listener.
            max_connections: usize::MAX,
            max_per_address: usize::MAX,
            tls: config.tls.clone(),
            handshake_timeout: config.handshake_timeout,
        };
        let shared = Arc::new(Shared {
            config,
            routes: RwLock::new(HashMap::new()),
            fallback: RwLock::new(None),
            events: RwLock::new(None),
            clients: Mutex::new(HashMap::new()),
            next_id: Mutex::new(0),
            closed: AtomicBool::new(false),
        });
        let run = Arc::downgrade(&shared);
        let listener = Listener::bind(addr, listener_config, "sts", move |accepted| {
            // Unlimited, so the slot need not be kept.
            if let Some(shared) = run.upgrade() {
                shared.start_client(accepted.stream, Some(accepted.peer));
            }
        })?;
        Ok(StsServer {
            shared,
            addr: listener.local_addr(),
            listener: Mutex::new(Some(listener)),
        })
    }

    /// The address the server listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Handles requests and messages for `/protocol/command`.
    pub fn route<F>(&self, protocol: &str, command: &str, handler: F)
    where
        F: Fn(Request) + Send + Sync + 'static,
    {
        self.shared
            .routes
            .write()
            .insert(format!("/{protocol}/{command}"), Arc::new(handler));
    }

    /// Handles whatever no route matches (instead of the 404).
    pub fn fallback<F>(&self, handler: F)
    where
        F: Fn(Request) + Send + Sync + 'static,
    {
        *self.shared.fallback.write() = Some(Arc::new(handler));
    }

    /// Receives connection notices (on the connections' threads; must not
    /// block).
    pub fn on_event<F>(&self, callback: F)
    where
        F: Fn(ServerEvent) + Send + Sync + 'static,
    {
        *self.shared.events.write() = Some(Arc::new(callback));
    }

    /// The clients connected now.
    pub fn clients(&self) -> Vec<ClientHandle> {
        let mut v: Vec<_> = self.shared.clients.lock().values().cloned().collect();
        v.sort_by_key(ClientHandle::id);
        v
    }

    /// Sends one simple message to every client in `to` (all connected
    /// clients when `None`), encoding it once; returns how many took it.
    pub fn broadcast(&self, message: &Message, to: Option<&[u64]>) -> Result<usize, PeerError> {
        let targets: Vec<ClientHandle> = {
            let clients = self.shared.clients.lock();
            match to {
                None => clients.values().cloned().collect(),
                Some(ids) => ids
                    .iter()
                    .filter_map(|id| clients.get(id).cloned())
                    .collect(),
            }
        };
        let Some(first) = targets.first() else {
            return Ok(0);
        };
        let encoded = first.peer.encode_message(message)?;
        Ok(targets
            .iter()
            .filter(|c| c.peer.send_encoded(encoded.clone()).is_ok())
            .count())
    }

    /// Stops listening and closes every connection.
    pub fn shutdown(&self) {
        if self.shared.closed.swap(true, Ordering::SeqCst) {
            return;
        }
        if let Some(listener) = self.listener.lock().take() {
            listener.stop();
        }
        let clients: Vec<ClientHandle> =
            self.shared.clients.lock().drain().map(|(_, c)| c).collect();
        for c in clients {
            c.close();
        }
    }
}

impl Drop for StsServer {
    fn drop(&mut self) {
        self.shutdown();
    }
}

impl Shared {
    fn start_client(self: &Arc<Self>, stream: Stream, addr: Option<SocketAddr>) {
        if self.closed.load(Ordering::SeqCst) {
            return;
        }
        let id = {
            let mut n = self.next_id.lock();
            *n += 1;
            *n
        };
        // The handle is only known once the peer runs, but the reader
        // thread may deliver the first request before that: the slot stays
        // locked until the handle is in it, so such an event waits for it
        // instead of being dropped.
        let slot: Arc<Mutex<Option<ClientHandle>>> = Arc::new(Mutex::new(None));
        let mut pending = slot.lock();
        let me = Arc::downgrade(self);
        let handle_slot = slot.clone();
        let started = Peer::start(stream, self.config.peer.clone(), move |ev| {
            let Some(shared) = me.upgrade() else {
                return;
            };
            let Some(client) = handle_slot.lock().clone() else {
                return;
            };
            shared.on_peer_event(&client, ev);
        });
        let peer = match started {
            Ok(p) => p,
            Err(e) => {
                log::warn!("STS server: cannot start a connection: {e}");
                return;
            }
        };
        let client = ClientHandle { id, addr, peer };
        *pending = Some(client.clone());
        drop(pending);
        self.clients.lock().insert(id, client.clone());
        if self.closed.load(Ordering::SeqCst) {
            self.clients.lock().remove(&id);
            client.close();
            return;
        }
        self.notify(ServerEvent::Connected(client));
    }

    fn notify(&self, ev: ServerEvent) {
        let cb = self.events.read().clone();
        if let Some(cb) = cb {
            cb(ev);
        }
    }

    fn on_peer_event(&self, client: &ClientHandle, ev: PeerEvent) {
        match ev {
            PeerEvent::Request { message, responder } => {
                let routed = match (&message.start, message.start.protocol_command()) {
                    (StartLine::Request { uri, .. }, Some(_)) => {
                        self.routes.read().get(uri.as_str()).cloned()
                    }
                    _ => None,
                };
                let handler = routed.or_else(|| self.fallback.read().clone());
                match (handler, responder) {
                    (Some(h), responder) => h(Request {
                        connection: client.clone(),
                        message,
                        responder,
                    }),
                    (None, Some(responder)) => {
                        let what = match message.start.protocol_command() {
                            Some((p, c)) => format!("/{p}/{c}"),
                            None => "(not /Protocol/Command)".to_string(),
                        };
                        let _ = responder.error(
                            UNKNOWN_COMMAND,
                            "Not Found",
                            &ErrorReply {
                                code: i64::from(UNKNOWN_COMMAND),
                                text: format!("unknown command {what}"),
                                ..ErrorReply::default()
                            },
                        );
                    }
                    (None, None) => {
                        log::debug!("STS server: dropped a message for an unknown command");
                    }
                }
            }
            PeerEvent::ProtocolError(why) => {
                self.notify(ServerEvent::ProtocolError(client.clone(), why));
            }
            PeerEvent::Closed(reason) => {
                self.clients.lock().remove(&client.id);
                self.notify(ServerEvent::Disconnected(client.clone(), reason));
            }
        }
    }
}
