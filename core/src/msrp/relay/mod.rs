//! MSRP relays (RFC 4976), client side: authenticating with a relay and
//! binding a session through it.
//!
//! * [`digest`]: HTTP digest (RFC 2617, MD5, `qop=auth`) values, for both
//!   ends.
//! * [`auth`]: the AUTH exchange as a sans-IO state machine, with the
//!   quirks of the relays deployed today (see its docs).
//! * [`refresh`]: renewing the reservation while a session lives (driven
//!   by the session; sans-IO).
//! * [`legacy_digest`]: the separate hashes and the IP-bound challenger of
//!   the legacy `msrplib.digest` module, for code that calls them.
//! * [`RelayConnection`]: the blocking endpoint. [`prepare`] connects to
//!   the relay (TCP, or TLS verified against the configured CAs), runs
//!   AUTH and returns the full local path to advertise (the relay's
//!   `Use-Path`, then our URI); [`complete`] binds the session over that
//!   same connection (`Active`: sends the empty SEND; `Passive`: waits for
//!   the peer's) and returns a [`BoundTransport`] like the direct
//!   connector and acceptor do.
//!
//! The relay is addressed by its domain: the AUTH's To-Path and the
//! digest URI are `msrp(s)://<domain>:<port>;tcp` (what the legacy
//! python-msrplib sent). The TCP connection goes to `host` when given,
//! else to what [`discovery`] finds (SRV, then the domain's addresses);
//! each target is tried in turn until one authenticates.
//!
//! [`prepare`]: RelayConnection::prepare
//! [`complete`]: RelayConnection::complete

pub mod auth;
pub mod digest;
pub mod discovery;
pub mod legacy_digest;
pub mod refresh;

use std::io;
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

use self::auth::{AuthClient, AuthStep, Reservation};
use self::discovery::{DiscoveryError, Resolver, Target};
use super::endpoint::{
    bind_active, bind_passive, complete_local_uri, write_before, BindOptions, BoundTransport,
    ChunkReader, Error,
};
use super::session::SessionPaths;
use super::{Uri, DEFAULT_PORT};
use crate::net::{Stream, TlsClientConfig};

/// What can go wrong with a relay.
#[derive(Debug, thiserror::Error)]
pub enum RelayError {
    /// A digest challenge or answer that cannot be read or used.
    #[error("digest: {0}")]
    BadDigest(String),
    /// The relay refused the AUTH (a second 401, 403, a 423 after the
    /// retry, ...): legacy `MSRPRelayAuthError`.
    #[error("the relay refused authentication: {code} {}", .comment.as_deref().unwrap_or(""))]
    AuthRejected {
        /// The status code.
        code: u16,
        /// Its comment.
        comment: Option<String>,
    },
    /// No answer to an AUTH in time: legacy `MSRPAuthTimeout`.
    #[error("no answer to AUTH within {0:?}")]
    AuthTimeout(Duration),
    /// The TCP (or TLS) connection to the relay was not made in time:
    /// legacy `MSRPRelayConnectTimeout`.
    #[error("connecting to the relay timed out after {0:?}")]
    ConnectTimeout(Duration),
    /// The relay's answer breaks the protocol (a 200 without Use-Path, an
    /// unreadable header, something other than a response).
    #[error("unexpected answer from the relay: {0}")]
    BadResponse(String),
    /// [`RelayConnection::complete`] or [`RelayConnection::prepare`] in
    /// the wrong order, or after [`RelayConnection::cleanup`].
    #[error("the relay connection is not prepared")]
    NotPrepared,
    /// Discovery found no relay (or DNS did not answer).
    #[error(transparent)]
    Discovery(#[from] DiscoveryError),
    /// Connecting, TLS, binding or I/O failed.
    #[error(transparent)]
    Endpoint(#[from] Error),
}

/// Where and how to reach a relay (legacy `MSRPRelaySettings`).
#[derive(Debug, Clone)]
pub struct RelaySettings {
    /// The relay's domain: names it in the AUTH and the digest URI.
    pub domain: String,
    /// The user name for digest authentication.
    pub username: String,
    /// The password.
    pub password: String,
    /// The host to connect to; `None`: the domain.
    pub host: Option<String>,
    /// The port; `None`: 2855.
    pub port: Option<u16>,
    /// `msrps` (TLS) to the relay. Needs [`tls`](Self::tls).
    pub use_tls: bool,
    /// The TLS client configuration (CAs to verify the relay against, or
    /// the explicit opt-out).
    pub tls: Option<TlsClientConfig>,
    /// The reservation time to ask for; `None` (default): no `Expires`
    /// header (deployed Kamailio relays answer any with 423).
    pub expires: Option<u32>,
    /// Leave the digest URI out from the start (a relay known to need it,
    /// see [`auth`]); otherwise learnt when the relay stays silent.
    pub omit_digest_uri: bool,
    /// How long to wait for each answer to AUTH (legacy
    /// `MSRPAuthTimeout.seconds`, 30 s). An AUTH with the digest URI
    /// that gets no answer is retried without it after
    /// [`quirk_wait`](Self::quirk_wait) instead.
    pub auth_timeout: Duration,
    /// How long an AUTH carrying the digest URI may go unanswered before
    /// it is retried without (5 s).
    pub quirk_wait: Duration,
    /// DNS servers for discovery (when `host` is `None`); `None`: those
    /// of `/etc/resolv.conf`.
    pub nameservers: Option<Vec<SocketAddr>>,
    /// How long each DNS server may take to answer (2 s).
    pub dns_timeout: Duration,
}

impl RelaySettings {
    /// Settings for `username`/`password` at the relay of `domain`, with
    /// the defaults above.
    pub fn new(domain: &str, username: &str, password: &str) -> Self {
        RelaySettings {
            domain: domain.to_string(),
            username: username.to_string(),
            password: password.to_string(),
            host: None,
            port: None,
            use_tls: false,
            tls: None,
            expires: None,
            omit_digest_uri: false,
            auth_timeout: Duration::from_secs(30),
            quirk_wait: Duration::from_secs(5),
            nameservers: None,
            dns_timeout: Duration::from_secs(2),
        }
    }

    /// The relay's URI as AUTH names it: `msrp(s)://domain:port;tcp`, the
    /// port 2855 when none is set (what the legacy library sent).
    pub fn uri(&self) -> Uri {
        let mut uri = Uri::new(
            self.domain.clone(),
            Some(self.port.unwrap_or(DEFAULT_PORT)),
            None,
        );
        uri.secure = self.use_tls;
        uri
    }

    /// The relays to try, in order: `host` (port or 2855) when given,
    /// else what DNS says (see [`discovery`]).
    pub fn targets(&self) -> Result<Vec<Target>, RelayError> {
        if let Some(host) = &self.host {
            let port = self.port.unwrap_or(DEFAULT_PORT);
            let addrs =
                (host.as_str(), port)
                    .to_socket_addrs()
                    .map_err(|source| Error::Connect {
                        target: format!("{host}:{port}"),
                        source,
                    })?;
            return Ok(addrs
                .map(|addr| Target {
                    name: host.clone(),
                    addr,
                })
                .collect());
        }
        let resolver = match &self.nameservers {
            Some(list) => Resolver::new(list.clone(), self.dns_timeout),
            None => Resolver::from_system(self.dns_timeout).map_err(Error::from)?,
        };
        let mut targets = discovery::relay_targets(&self.domain, self.use_tls, &resolver)?;
        if let Some(port) = self.port {
            // An explicit port overrides the records'.
            for t in &mut targets {
                t.addr.set_port(port);
            }
        }
        Ok(targets)
    }
}

/// Which side of the bind a relayed endpoint plays.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Sends the bind SEND (the SDP offerer, usually).
    Active,
    /// Waits for the peer's bind SEND.
    Passive,
}

/// A connection to a relay with its reservation, between
/// [`prepare`](RelayConnection::prepare) and
/// [`complete`](RelayConnection::complete).
#[derive(Debug)]
struct Reserved {
    stream: Stream,
    ctl: TcpStream,
    reader: ChunkReader,
    local_uri: Uri,
    reservation: Reservation,
    /// The exchange that won it and when, to renew it.
    auth: AuthClient,
    granted: Instant,
}

/// A session endpoint reached through a relay (legacy `RelayConnection`);
/// see the [module docs](self).
#[derive(Debug)]
pub struct RelayConnection {
    settings: RelaySettings,
    mode: Mode,
    options: BindOptions,
    reserved: Option<Reserved>,
}

impl RelayConnection {
    /// An endpoint through the relay of `settings`, binding as `mode`.
    pub fn new(settings: RelaySettings, mode: Mode, options: BindOptions) -> Self {
        RelayConnection {
            settings,
            mode,
            options,
            reserved: None,
        }
    }

    /// The settings (after [`prepare`](Self::prepare):
    /// `omit_digest_uri` is set when the relay needed it).
    pub fn settings(&self) -> &RelaySettings {
        &self.settings
    }

    /// The settings, adjustable between calls.
    pub fn settings_mut(&mut self) -> &mut RelaySettings {
        &mut self.settings
    }

    /// The options, adjustable before [`complete`](Self::complete).
    pub fn options_mut(&mut self) -> &mut BindOptions {
        &mut self.options
    }

    /// The reservation, after [`prepare`](Self::prepare).
    pub fn reservation(&self) -> Option<&Reservation> {
        self.reserved.as_ref().map(|r| &r.reservation)
    }

    /// Connects to the relay, authenticates, and returns the full local
    /// path to advertise: the relay's Use-Path, then our URI (whose host
    /// and port are those of our end of the relay connection, and whose
    /// session id is random unless `local_uri` has one). A connection
    /// left from an earlier `prepare` is dropped.
    pub fn prepare(&mut self, local_uri: Option<Uri>) -> Result<Vec<Uri>, RelayError> {
        self.cleanup();
        let local_uri = complete_local_uri(local_uri);
        let mut last = None;
        for target in self.settings.targets()? {
            match self.try_target(&target, local_uri.clone()) {
                Ok(path) => return Ok(path),
                Err(e) => {
                    log::info!("relay {} ({}) failed: {e}", target.name, target.addr);
                    last = Some(e);
                }
            }
        }
        Err(last.unwrap_or_else(|| DiscoveryError::NotFound(self.settings.domain.clone()).into()))
    }

    /// Connects to one relay and authenticates.
    fn try_target(&mut self, target: &Target, mut local_uri: Uri) -> Result<Vec<Uri>, RelayError> {
        let connect_timeout = self.options.timeouts.connect;
        let tcp = TcpStream::connect_timeout(&target.addr, connect_timeout).map_err(|e| {
            if matches!(
                e.kind(),
                io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock
            ) {
                RelayError::ConnectTimeout(connect_timeout)
            } else {
                Error::Connect {
                    target: target.addr.to_string(),
                    source: e,
                }
                .into()
            }
        })?;
        let ctl = tcp.try_clone().map_err(Error::from)?;
        let here = ctl.local_addr().map_err(Error::from)?;
        local_uri.host = here.ip().to_string();
        local_uri.port = Some(here.port());
        local_uri.secure = self.settings.use_tls;
        let mut stream = if self.settings.use_tls {
            let tls = self.settings.tls.as_ref().ok_or(Error::TlsNotConfigured)?;
            Stream::tls_connect(tcp, tls, &target.name, connect_timeout).map_err(Error::from)?
        } else {
            Stream::Tcp(tcp)
        };
        let mut reader = ChunkReader::new();
        let (reservation, auth) = self.authenticate(&mut stream, &ctl, &mut reader, &local_uri)?;
        let granted = Instant::now();
        let mut path = reservation.use_path.clone();
        path.push(local_uri.clone());
        self.reserved = Some(Reserved {
            stream,
            ctl,
            reader,
            local_uri,
            reservation,
            auth,
            granted,
        });
        Ok(path)
    }

    /// The AUTH exchange over the relay connection.
    fn authenticate(
        &mut self,
        stream: &mut Stream,
        ctl: &TcpStream,
        reader: &mut ChunkReader,
        local_uri: &Uri,
    ) -> Result<(Reservation, AuthClient), RelayError> {
        let s = &self.settings;
        let mut auth = AuthClient::new(
            &s.username,
            &s.password,
            s.uri(),
            local_uri.clone(),
            s.expires,
            !s.omit_digest_uri,
        );
        let mut request = auth.start()?;
        loop {
            // An AUTH with the digest URI gets the shorter wait (see the
            // auth module); everything else the full one.
            let wait = if request.headers.contains("Authorization") && auth.sends_uri() {
                s.quirk_wait.min(s.auth_timeout)
            } else {
                s.auth_timeout
            };
            let deadline = Instant::now() + wait;
            write_before(stream, ctl, &request.encode(), deadline, wait)?;
            let step = loop {
                let chunk = match reader.read_chunk(stream, ctl, deadline, wait) {
                    Ok(c) => c,
                    Err(Error::BindTimeout(_)) => break None,
                    Err(e) => return Err(e.into()),
                };
                if chunk.code().is_none() {
                    return Err(RelayError::BadResponse(chunk.first_line()));
                }
                if let Some(step) = auth.on_response(&chunk)? {
                    break Some(step);
                }
            };
            match step {
                Some(AuthStep::Send(next)) => request = next,
                Some(AuthStep::Done(reservation)) => {
                    self.settings.omit_digest_uri = !auth.sends_uri();
                    return Ok((reservation, auth));
                }
                None => request = auth.on_silence(wait)?,
            }
        }
    }

    /// Binds the session through the relay and returns its transport:
    /// `Active` sends the bind SEND to `full_remote_path` (with our relay
    /// in front) and waits for its 200; `Passive` waits for the peer's
    /// bind SEND (relayed to us) and answers it. Needs
    /// [`prepare`](Self::prepare) first.
    pub fn complete(&mut self, full_remote_path: &[Uri]) -> Result<BoundTransport, RelayError> {
        let Reserved {
            stream,
            ctl,
            reader,
            local_uri,
            reservation,
            auth,
            granted,
        } = self.reserved.take().ok_or(RelayError::NotPrepared)?;
        let mut paths = SessionPaths::new(local_uri, full_remote_path).ok_or(Error::EmptyPath)?;
        paths.local_path = reservation.use_path.clone();
        let timeout = self.options.timeouts.bind;
        let bound = match self.mode {
            Mode::Active => {
                let deadline = Instant::now() + timeout;
                let (stream, leftover) =
                    bind_active(stream, &ctl, reader, &paths, deadline, timeout)?;
                BoundTransport::from_parts(
                    stream,
                    ctl,
                    paths,
                    leftover,
                    None,
                    self.options.use_sessmatch,
                )
            }
            Mode::Passive => bind_passive(
                stream,
                ctl,
                reader,
                paths,
                self.options.use_sessmatch,
                timeout,
            )?,
        };
        Ok(bound.with_reservation(auth, reservation, granted))
    }

    /// Drops the relay connection of a [`prepare`](Self::prepare) that
    /// will not be completed.
    pub fn cleanup(&mut self) {
        if let Some(r) = self.reserved.take() {
            let _ = r.ctl.shutdown(std::net::Shutdown::Both);
        }
    }
}
