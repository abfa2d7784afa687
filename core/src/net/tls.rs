//! TLS over TCP (what `msrps://` URIs run over), built on rustls.
//!
//! # Configuration
//!
//! * [`TlsServerConfig`] — a certificate chain and its private key, from PEM
//!   bytes ([`TlsServerConfig::from_pem`]) or files
//!   ([`TlsServerConfig::from_pem_files`]).
//! * [`TlsClientConfig`] — the certificate authorities a client trusts, from
//!   PEM ([`TlsClientConfig::with_ca_pem`],
//!   [`TlsClientConfig::with_ca_pem_file`]). Certificates are **verified by
//!   default**: chain to one of those CAs, validity dates, and the name the
//!   caller connects to ([`Stream::tls_connect`]'s `server_name`). There is
//!   no built-in CA set: which authorities to trust is the application's
//!   decision, not this library's. The one way to turn verification off,
//!   [`TlsClientConfig::danger_accept_any_certificate`], exists for
//!   self-signed test setups and says so in its name.
//!
//! Both wrap an `Arc` of the rustls configuration, so cloning one and using
//! it for many connections is cheap. Applications with needs beyond these
//! constructors (client certificates, ALPN, custom verifiers such as
//! certificate fingerprint pinning) build a rustls configuration themselves
//! and wrap it with `from_rustls`. Cryptography comes from rustls' *ring*
//! provider, which needs only a C compiler to build. TLS 1.2 and 1.3 are
//! offered; peers that only speak older versions are refused.
//!
//! # Handshake
//!
//! [`Stream::tls_connect`] and [`Stream::tls_accept`] take a connected
//! [`TcpStream`], run the whole handshake on the calling thread (blocking,
//! bounded by a timeout) and return a [`Stream::Tls`] ready for
//! [`Connection::spawn`](super::Connection::spawn). Failures are a typed
//! [`TlsError`]. Doing the handshake before the stream is split keeps the
//! reader and writer threads simple: they only ever see application data.
//!
//! # Splitting: how two threads share one TLS session
//!
//! A rustls session is one state machine for both directions (it is `Send`
//! but not `Sync`), while the engine runs a reader thread and a writer
//! thread. They share it through two locks, and the whole design rests on
//! one rule: **nobody holds the session lock during a system call.**
//!
//! * `session` — the rustls state. Held only for in-memory work: feeding
//!   received ciphertext in, taking plaintext out, encrypting, moving
//!   ciphertext into a buffer. Never while blocked on the socket.
//! * `send` — the socket's sending side plus an output buffer. Whoever holds
//!   it is the only one writing to the socket, and it is held across the
//!   (possibly blocking) socket write. Ciphertext is only taken out of the
//!   session while holding `send`, and everything taken out is written
//!   before `send` is released, so records reach the wire in the order
//!   rustls produced them.
//!
//! The reader thread reads raw bytes from its own clone of the socket
//! *without any lock*, then locks `session` to feed them in and take the
//! plaintext out. The writer thread locks `send`, briefly locks `session` to
//! encrypt and collect the ciphertext, releases `session`, then writes.
//!
//! Why neither half can block the other:
//!
//! * a reader blocked in `read` holds no lock, so the writer proceeds;
//! * a writer blocked in `write` holds only `send`, which the reader never
//!   waits for (it only ever *tries* to take it, below), so the reader keeps
//!   reading, which is exactly what lets a peer that is itself blocked on
//!   writing make progress;
//! * the locks are always taken in the order `send` then `session`, and the
//!   reader takes `session` alone, so there is no lock-order cycle.
//!
//! Reading can make rustls want to *send* something (an alert for a
//! corrupted record, a refused renegotiation). The reader then raises a flag and tries to take
//! `send`; if the writer has it, the writer checks the flag after releasing
//! `send` and flushes on the reader's behalf, so the bytes go out without
//! the reader ever waiting for the writer. (When the reader does get `send`,
//! it writes those few bytes itself.)
//!
//! [`Closer::abort`](super::Closer::abort) shuts the TCP socket down in both
//! directions, which wakes a reader blocked in `read` (it then returns
//! end-of-file) and a writer blocked in `write` (it fails).
//! [`WriteHalf::shutdown`](super::WriteHalf::shutdown) sends TLS
//! `close_notify` and then shuts down the TCP sending direction; the session
//! can still receive afterwards (a TLS half-close).
//!
//! # End of stream
//!
//! A peer that closes cleanly (sends `close_notify`, as
//! [`Connection::close`](super::Connection::close) does) is read as
//! end-of-file. A TCP end-of-file *without* `close_notify` (the peer crashed
//! or aborted) is indistinguishable from an attacker truncating the stream,
//! so it is reported as an `UnexpectedEof` error instead, and a connection
//! reports it as `Incoming::Closed(Some(..))`. An abort on this side still
//! reads as a plain end-of-file locally.
//!
//! # Example
//!
//! ```no_run
//! use std::net::TcpStream;
//! use std::time::Duration;
//! use msgwire::net::{Connection, Stream, TlsClientConfig};
//!
//! let config = TlsClientConfig::with_ca_pem_file("ca.pem")?;
//! let tcp = TcpStream::connect("relay.example.com:2855")?;
//! let stream = Stream::tls_connect(tcp, &config, "relay.example.com", Duration::from_secs(10))?;
//! let conn = Connection::spawn(stream, |_event, _sender| {})?;
//! # drop(conn);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::fmt;
use std::io::{self, IoSlice, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::pem::{self, PemObject};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{ClientConfig, ClientConnection, RootCertStore, ServerConfig, ServerConnection};

use super::stream::Stream;

// ---------------------------------------------------------------- errors

/// Which PEM input an error is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum PemInput {
    /// A server's certificate chain.
    CertificateChain,
    /// A server's private key.
    PrivateKey,
    /// The certificate authorities a client trusts.
    CaCertificates,
}

impl fmt::Display for PemInput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PemInput::CertificateChain => "certificate chain",
            PemInput::PrivateKey => "private key",
            PemInput::CaCertificates => "CA certificates",
        })
    }
}

/// Why a TLS configuration could not be built or a handshake failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TlsError {
    /// A PEM file could not be read.
    #[error("cannot read {}: {source}", path.display())]
    File {
        /// The file.
        path: PathBuf,
        /// What reading it reported.
        #[source]
        source: io::Error,
    },
    /// The input is not well-formed PEM (bad base64, a section without its
    /// end line, ...).
    #[error("malformed PEM in the {input}: {source}")]
    BadPem {
        /// Which input.
        input: PemInput,
        /// The parser's complaint.
        #[source]
        source: pem::Error,
    },
    /// The PEM input holds no `CERTIFICATE` section.
    #[error("no certificate found in the {0}")]
    NoCertificates(PemInput),
    /// The key PEM holds no private key (`PRIVATE KEY`, `RSA PRIVATE KEY` or
    /// `EC PRIVATE KEY`).
    #[error("no private key found")]
    NoPrivateKey,
    /// A CA certificate could not be parsed as an X.509 trust anchor.
    #[error("unusable CA certificate: {0}")]
    BadCaCertificate(#[source] rustls::Error),
    /// rustls refused the configuration: an unsupported key type, or a key
    /// that does not belong to the certificate.
    #[error("unusable TLS configuration: {0}")]
    Config(#[source] rustls::Error),
    /// The name given to [`Stream::tls_connect`] is neither a DNS name nor an
    /// IP address.
    #[error("invalid TLS server name {0:?}")]
    InvalidServerName(String),
    /// The handshake failed: the peer's certificate was rejected, the peer
    /// rejected ours (a received alert), no common protocol version or
    /// cipher suite, a protocol violation, ...
    #[error("TLS handshake failed: {0}")]
    Handshake(#[source] rustls::Error),
    /// The handshake did not finish in time.
    #[error("the TLS handshake did not finish within {0:?}")]
    HandshakeTimeout(Duration),
    /// The socket failed during the handshake, or the peer closed it
    /// (`UnexpectedEof`).
    #[error("I/O error during the TLS handshake: {0}")]
    Io(#[source] io::Error),
}

impl From<TlsError> for io::Error {
    /// For callers working in `io::Result`: socket errors keep their kind,
    /// a timeout becomes `TimedOut`, everything else `InvalidData`.
    fn from(e: TlsError) -> io::Error {
        match e {
            TlsError::Io(e) => e,
            TlsError::File { source, .. } => source,
            e @ TlsError::HandshakeTimeout(_) => io::Error::new(io::ErrorKind::TimedOut, e),
            e => io::Error::new(io::ErrorKind::InvalidData, e),
        }
    }
}

// ---------------------------------------------------------------- configuration

/// The crypto provider every configuration here uses: rustls' *ring*
/// backend, which builds with just a C compiler.
fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn read_file(path: &Path) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|source| TlsError::File {
        path: path.to_path_buf(),
        source,
    })
}

/// Every `CERTIFICATE` section of `pem`, in order; at least one.
fn parse_certificates(
    pem: &[u8],
    input: PemInput,
) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let certs = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|source| TlsError::BadPem { input, source })?;
    if certs.is_empty() {
        return Err(TlsError::NoCertificates(input));
    }
    Ok(certs)
}

fn parse_private_key(pem: &[u8]) -> Result<PrivateKeyDer<'static>, TlsError> {
    PrivateKeyDer::from_pem_slice(pem).map_err(|source| match source {
        pem::Error::NoItemsFound => TlsError::NoPrivateKey,
        source => TlsError::BadPem {
            input: PemInput::PrivateKey,
            source,
        },
    })
}

/// What a TLS server presents: a certificate chain and its private key.
///
/// Cheap to clone; one configuration serves any number of connections.
#[derive(Clone)]
pub struct TlsServerConfig {
    inner: Arc<ServerConfig>,
}

impl fmt::Debug for TlsServerConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsServerConfig").finish_non_exhaustive()
    }
}

impl TlsServerConfig {
    /// From PEM text: `cert_chain` holds the server's certificate first,
    /// then any intermediates; `key` holds its private key (PKCS#8, PKCS#1
    /// or SEC1). Client certificates are not requested.
    pub fn from_pem(cert_chain: &[u8], key: &[u8]) -> Result<Self, TlsError> {
        let chain = parse_certificates(cert_chain, PemInput::CertificateChain)?;
        let key = parse_private_key(key)?;
        let config = ServerConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .map_err(TlsError::Config)?
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .map_err(TlsError::Config)?;
        Ok(TlsServerConfig {
            inner: Arc::new(config),
        })
    }

    /// Like [`from_pem`](Self::from_pem), reading both from files (they may
    /// be the same file).
    pub fn from_pem_files(
        cert_chain: impl AsRef<Path>,
        key: impl AsRef<Path>,
    ) -> Result<Self, TlsError> {
        let chain = read_file(cert_chain.as_ref())?;
        let key = read_file(key.as_ref())?;
        TlsServerConfig::from_pem(&chain, &key)
    }

    /// Wraps a rustls configuration built by the caller, for what the
    /// constructors above do not cover (client authentication, ALPN, ...).
    pub fn from_rustls(config: Arc<ServerConfig>) -> Self {
        TlsServerConfig { inner: config }
    }
}

/// What a TLS client trusts. Server certificates are verified unless the
/// configuration was made with
/// [`danger_accept_any_certificate`](Self::danger_accept_any_certificate).
///
/// Cheap to clone; one configuration serves any number of connections.
#[derive(Clone)]
pub struct TlsClientConfig {
    inner: Arc<ClientConfig>,
    verifies: bool,
}

impl fmt::Debug for TlsClientConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsClientConfig")
            .field("verifies", &self.verifies)
            .finish_non_exhaustive()
    }
}

impl TlsClientConfig {
    /// Trusts exactly the certificate authorities in `ca_pem` (one or more
    /// `CERTIFICATE` sections). A server must present a certificate that
    /// chains to one of them, is currently valid, and is issued for the name
    /// passed to [`Stream::tls_connect`].
    ///
    /// Every certificate in the input must be usable as a trust anchor; one
    /// that is not is an error rather than silently skipped.
    pub fn with_ca_pem(ca_pem: &[u8]) -> Result<Self, TlsError> {
        let mut roots = RootCertStore::empty();
        for cert in parse_certificates(ca_pem, PemInput::CaCertificates)? {
            roots.add(cert).map_err(TlsError::BadCaCertificate)?;
        }
        let config = ClientConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .map_err(TlsError::Config)?
            .with_root_certificates(roots)
            .with_no_client_auth();
        Ok(TlsClientConfig {
            inner: Arc::new(config),
            verifies: true,
        })
    }

    /// Like [`with_ca_pem`](Self::with_ca_pem), reading the CAs from a file.
    pub fn with_ca_pem_file(path: impl AsRef<Path>) -> Result<Self, TlsError> {
        TlsClientConfig::with_ca_pem(&read_file(path.as_ref())?)
    }

    /// **DANGER: accepts any server certificate, from anyone, for any
    /// name.** The connection is encrypted but not authenticated: anyone
    /// on the network path can impersonate the server and read everything.
    ///
    /// Meant only for tests and lab setups with self-signed certificates.
    /// The handshake is still a real one: the server must prove it holds the
    /// private key of the certificate it presents (its handshake signature
    /// is checked); only the question "is this certificate the right one?"
    /// is skipped. Applications that know which certificate to expect (for
    /// example from an SDP `a=fingerprint`) should check it instead, with a
    /// custom verifier via [`from_rustls`](Self::from_rustls).
    pub fn danger_accept_any_certificate() -> Result<Self, TlsError> {
        let provider = provider();
        let verifier = Arc::new(AcceptAnyCertificate {
            algorithms: provider.signature_verification_algorithms,
        });
        let config = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(TlsError::Config)?
            .dangerous()
            .with_custom_certificate_verifier(verifier)
            .with_no_client_auth();
        Ok(TlsClientConfig {
            inner: Arc::new(config),
            verifies: false,
        })
    }

    /// Wraps a rustls configuration built by the caller (client
    /// certificates, ALPN, certificate pinning, a platform verifier, ...).
    /// It is assumed to verify certificates.
    pub fn from_rustls(config: Arc<ClientConfig>) -> Self {
        TlsClientConfig {
            inner: config,
            verifies: true,
        }
    }

    /// `false` only for
    /// [`danger_accept_any_certificate`](Self::danger_accept_any_certificate).
    pub fn verifies_certificates(&self) -> bool {
        self.verifies
    }
}

/// The verifier behind [`TlsClientConfig::danger_accept_any_certificate`]:
/// takes every certificate, but still checks the handshake signatures made
/// with its key.
#[derive(Debug)]
struct AcceptAnyCertificate {
    algorithms: WebPkiSupportedAlgorithms,
}

impl ServerCertVerifier for AcceptAnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

// ---------------------------------------------------------------- handshake

impl Stream {
    /// Runs a TLS client handshake over `tcp` and returns the encrypted
    /// stream ([`Stream::Tls`]).
    ///
    /// `server_name` is what the certificate must be issued for: a DNS name
    /// or an IP address (IPv6 with or without brackets). It is also sent as
    /// SNI when it is a DNS name. The handshake blocks the calling thread for
    /// at most `timeout`; on any failure the socket is closed.
    pub fn tls_connect(
        tcp: TcpStream,
        config: &TlsClientConfig,
        server_name: &str,
        timeout: Duration,
    ) -> Result<Stream, TlsError> {
        TlsStream::connect(tcp, config, server_name, timeout).map(Stream::Tls)
    }

    /// Runs a TLS server handshake over an accepted `tcp` connection and
    /// returns the encrypted stream ([`Stream::Tls`]). Blocks the calling
    /// thread for at most `timeout`; on any failure the socket is closed.
    pub fn tls_accept(
        tcp: TcpStream,
        config: &TlsServerConfig,
        timeout: Duration,
    ) -> Result<Stream, TlsError> {
        TlsStream::accept(tcp, config, timeout).map(Stream::Tls)
    }
}

/// Parses a server name, accepting a bracketed IPv6 literal as it appears
/// in URIs (`[::1]`).
fn server_name(name: &str) -> Result<ServerName<'static>, TlsError> {
    let bare = name
        .strip_prefix('[')
        .and_then(|rest| rest.strip_suffix(']'))
        .unwrap_or(name);
    ServerName::try_from(bare)
        .map(|n| n.to_owned())
        .map_err(|_| TlsError::InvalidServerName(name.to_owned()))
}

/// Time left until `deadline`, or the timeout error once it has passed.
fn remaining(deadline: Instant, timeout: Duration) -> Result<Duration, TlsError> {
    let left = deadline.saturating_duration_since(Instant::now());
    if left.is_zero() {
        Err(TlsError::HandshakeTimeout(timeout))
    } else {
        Ok(left)
    }
}

/// Drives `session` over `tcp` until the handshake is complete and
/// everything it produced (including TLS 1.3 session tickets a server
/// sends right after) has been written. Each socket operation gets the time
/// left until the deadline as its timeout, so a peer that trickles bytes
/// cannot stretch the handshake past `timeout`.
fn handshake(
    session: &mut rustls::Connection,
    tcp: &mut TcpStream,
    timeout: Duration,
) -> Result<(), TlsError> {
    let deadline = Instant::now() + timeout;
    let timed_out = |e: &io::Error| {
        matches!(
            e.kind(),
            io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
        )
    };
    while session.is_handshaking() || session.wants_write() {
        if session.wants_write() {
            tcp.set_write_timeout(Some(remaining(deadline, timeout)?))
                .map_err(TlsError::Io)?;
            match session.write_tls(tcp) {
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if timed_out(&e) => return Err(TlsError::HandshakeTimeout(timeout)),
                Err(e) => return Err(TlsError::Io(e)),
            }
            continue;
        }
        tcp.set_read_timeout(Some(remaining(deadline, timeout)?))
            .map_err(TlsError::Io)?;
        match session.read_tls(tcp) {
            Ok(0) => {
                return Err(TlsError::Io(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "the peer closed the connection during the TLS handshake",
                )))
            }
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) if timed_out(&e) => return Err(TlsError::HandshakeTimeout(timeout)),
            Err(e) => return Err(TlsError::Io(e)),
        }
        if let Err(e) = session.process_new_packets() {
            // Tell the peer why (rustls queued an alert), best effort: the
            // handshake has failed whatever happens to these bytes.
            let _ = tcp.set_write_timeout(Some(Duration::from_millis(100)));
            let _ = session.write_tls(tcp);
            return Err(TlsError::Handshake(e));
        }
    }
    tcp.set_read_timeout(None).map_err(TlsError::Io)?;
    tcp.set_write_timeout(None).map_err(TlsError::Io)?;
    Ok(())
}

// ---------------------------------------------------------------- the stream

/// An established TLS session over TCP: the payload of [`Stream::Tls`].
///
/// Made by [`Stream::tls_connect`] / [`Stream::tls_accept`]. It implements
/// `Read` and `Write` for use on one thread; the engine splits it (see the
/// [module docs](self) for how the halves share the session).
pub struct TlsStream {
    reader: TlsReader,
    writer: TlsWriter,
}

impl fmt::Debug for TlsStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsStream")
            .field("peer", &self.reader.sock.peer_addr().ok())
            .finish_non_exhaustive()
    }
}

impl TlsStream {
    fn connect(
        tcp: TcpStream,
        config: &TlsClientConfig,
        name: &str,
        timeout: Duration,
    ) -> Result<TlsStream, TlsError> {
        let name = server_name(name)?;
        let session =
            ClientConnection::new(config.inner.clone(), name).map_err(TlsError::Config)?;
        TlsStream::establish(tcp, session.into(), timeout)
    }

    fn accept(
        tcp: TcpStream,
        config: &TlsServerConfig,
        timeout: Duration,
    ) -> Result<TlsStream, TlsError> {
        let session = ServerConnection::new(config.inner.clone()).map_err(TlsError::Config)?;
        TlsStream::establish(tcp, session.into(), timeout)
    }

    fn establish(
        mut tcp: TcpStream,
        mut session: rustls::Connection,
        timeout: Duration,
    ) -> Result<TlsStream, TlsError> {
        // The handshake is a few round trips of small records: Nagle would
        // only delay them, as it would delay chat messages later.
        tcp.set_nodelay(true).map_err(TlsError::Io)?;
        handshake(&mut session, &mut tcp, timeout)?;
        let reader_sock = tcp.try_clone().map_err(TlsError::Io)?;
        let control = tcp.try_clone().map_err(TlsError::Io)?;
        let shared = Arc::new(Shared {
            session: Mutex::new(session),
            send: Mutex::new(SendSide {
                sock: tcp,
                buf: Vec::new(),
                broken: None,
            }),
            flush_wanted: AtomicBool::new(false),
            aborted: AtomicBool::new(false),
            control,
        });
        Ok(TlsStream {
            reader: TlsReader {
                shared: shared.clone(),
                sock: reader_sock,
                incoming: Incoming {
                    raw: vec![0; RAW_READ_SIZE].into_boxed_slice(),
                    start: 0,
                    end: 0,
                    tcp_eof: false,
                    eof_fed: false,
                },
            },
            writer: TlsWriter {
                shared,
                closed: false,
            },
        })
    }

    /// The certificate the peer presented (DER), if any: always for a
    /// client's view of a server, never for a server here (client
    /// certificates are not requested). Useful to compare against a
    /// fingerprint learned out of band.
    pub fn peer_certificate(&self) -> Option<Vec<u8>> {
        let session = self.reader.shared.session.lock();
        session
            .peer_certificates()
            .and_then(|chain| chain.first())
            .map(|cert| cert.as_ref().to_vec())
    }

    /// The negotiated protocol version, e.g. `"TLSv1_3"`.
    pub fn protocol_version(&self) -> Option<String> {
        let session = self.reader.shared.session.lock();
        session.protocol_version().map(|v| format!("{v:?}"))
    }

    /// Splits into the parts the engine's two threads use.
    pub(crate) fn split(self) -> (TlsReader, TlsWriter, TlsCloser) {
        let closer = TlsCloser(self.reader.shared.clone());
        (self.reader, self.writer, closer)
    }
}

impl Read for TlsStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.reader.read(buf)
    }
}

impl Write for TlsStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.writer.write(buf)
    }

    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        self.writer.write_vectored(bufs)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.writer.flush()
    }
}

/// Bytes read from the socket per system call. 64 KiB, like the
/// connection's own read buffer: a few full TLS records per call.
const RAW_READ_SIZE: usize = 64 * 1024;

/// Stop feeding ciphertext into rustls once this much plaintext waits to be
/// taken out. rustls refuses more input only above 16 KiB of pending
/// plaintext; stopping at exactly 16 KiB means that refusal never happens.
const PLAINTEXT_HIGH_WATER: usize = 16 * 1024;

/// The state both halves share; see the module docs for the locking rules.
struct Shared {
    /// The rustls state machine. Never held across a system call.
    session: Mutex<rustls::Connection>,
    /// The socket's sending side. Held across socket writes; always taken
    /// before `session` when both are needed.
    send: Mutex<SendSide>,
    /// The reader left ciphertext in the session (a key update response,
    /// an alert) that should be written without waiting for the next
    /// application write.
    flush_wanted: AtomicBool,
    /// [`TlsCloser::abort`] was called: reads end quietly.
    aborted: AtomicBool,
    /// A handle used only to shut the socket down.
    control: TcpStream,
}

struct SendSide {
    sock: TcpStream,
    /// Ciphertext taken out of the session, on its way to the socket.
    buf: Vec<u8>,
    /// A socket write failed: ciphertext was lost, so nothing more may be
    /// written (the peer would see a broken record sequence anyway).
    broken: Option<(io::ErrorKind, String)>,
}

impl Shared {
    fn aborted(&self) -> bool {
        self.aborted.load(Ordering::SeqCst)
    }

    /// Writes every byte of ciphertext the session has ready. The caller
    /// holds `send`; `session` is taken only to move bytes out of it.
    fn flush_locked(&self, send: &mut SendSide) -> io::Result<()> {
        if let Some((kind, msg)) = &send.broken {
            return Err(io::Error::new(*kind, msg.clone()));
        }
        loop {
            {
                let mut session = self.session.lock();
                while session.wants_write() {
                    // Writing into a Vec cannot fail.
                    session.write_tls(&mut send.buf)?;
                }
            }
            if send.buf.is_empty() {
                return Ok(());
            }
            let written = send.sock.write_all(&send.buf);
            send.buf.clear();
            if let Err(e) = written {
                send.broken = Some((e.kind(), e.to_string()));
                return Err(e);
            }
        }
    }

    /// Runs `f` with `send` held, then serves a flush the reader may have
    /// asked for meanwhile. Every holder of `send` other than
    /// [`serve_flush_requests`](Self::serve_flush_requests) itself goes
    /// through here, which is what guarantees a reader's request is never
    /// lost.
    fn with_send<R>(&self, f: impl FnOnce(&mut SendSide) -> R) -> R {
        let result = f(&mut self.send.lock());
        self.serve_flush_requests();
        result
    }

    /// The reader's side: ask for pending ciphertext to go out without
    /// waiting for the writer.
    fn request_flush(&self) {
        self.flush_wanted.store(true, Ordering::SeqCst);
        self.serve_flush_requests();
    }

    /// Flushes while a request is pending and `send` is free. If `send` is
    /// taken, its holder calls this after releasing it and sees the flag,
    /// because the flag is raised before the attempt to take `send`.
    fn serve_flush_requests(&self) {
        while self.flush_wanted.load(Ordering::SeqCst) {
            let Some(mut send) = self.send.try_lock() else {
                return;
            };
            self.flush_wanted.store(false, Ordering::SeqCst);
            // A failure is recorded in `broken` and reported to the next
            // writer; the reader carries on reading what the peer sent.
            let _ = self.flush_locked(&mut send);
        }
    }
}

/// The reading half of a split [`TlsStream`].
pub(crate) struct TlsReader {
    shared: Arc<Shared>,
    /// Read without any lock held.
    sock: TcpStream,
    incoming: Incoming,
}

/// Ciphertext read from the socket and not yet fed to the session.
struct Incoming {
    /// `raw[start..end]` is waiting to be fed.
    raw: Box<[u8]>,
    start: usize,
    end: usize,
    /// The socket reported end-of-file.
    tcp_eof: bool,
    /// ...and the session has been told.
    eof_fed: bool,
}

impl fmt::Debug for TlsReader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsReader").finish_non_exhaustive()
    }
}

impl Incoming {
    /// Under the session lock: hands out plaintext, feeding buffered
    /// ciphertext in as needed. `None` means the session needs more bytes
    /// from the socket.
    fn take_plaintext(
        &mut self,
        session: &mut rustls::Connection,
        out: &mut [u8],
    ) -> Option<io::Result<usize>> {
        loop {
            match session.reader().read(out) {
                // Nothing decrypted yet: feed more below.
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                // Data, a clean end (close_notify: Ok(0)), or an unclean one.
                other => return Some(other),
            }
            if self.start < self.end {
                if let Err(e) = self.feed(session) {
                    return Some(Err(e));
                }
            } else if self.tcp_eof && !self.eof_fed {
                // After this the session answers Ok(0) or UnexpectedEof,
                // never WouldBlock, so the loop ends.
                self.eof_fed = true;
                if let Err(e) = session.read_tls(&mut io::empty()) {
                    return Some(Err(e));
                }
            } else {
                return None;
            }
        }
    }

    /// Feeds buffered ciphertext into the session until it is used up or
    /// enough plaintext is waiting.
    fn feed(&mut self, session: &mut rustls::Connection) -> io::Result<()> {
        while self.start < self.end {
            let mut rest = &self.raw[self.start..self.end];
            let n = session.read_tls(&mut rest)?;
            if n == 0 {
                // close_notify was received: nothing after it counts.
                self.start = self.end;
                break;
            }
            self.start += n;
            let state = session
                .process_new_packets()
                .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
            if state.plaintext_bytes_to_read() >= PLAINTEXT_HIGH_WATER {
                break;
            }
        }
        Ok(())
    }
}

impl Read for TlsReader {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if out.is_empty() {
            return Ok(0);
        }
        loop {
            if self.shared.aborted() {
                return Ok(0);
            }
            let (result, wants_write) = {
                let mut session = self.shared.session.lock();
                let result = self.incoming.take_plaintext(&mut session, out);
                (result, session.wants_write())
            };
            // The session lock is released before touching `send`.
            if wants_write {
                self.shared.request_flush();
            }
            match result {
                Some(Err(_)) if self.shared.aborted() => return Ok(0),
                Some(result) => return result,
                None => {}
            }
            let incoming = &mut self.incoming;
            if incoming.tcp_eof {
                // Unreachable in practice: once told about end-of-file the
                // session always answers. Never spin on a closed socket.
                return Err(io::ErrorKind::UnexpectedEof.into());
            }
            // The session needs more ciphertext: block on the socket with
            // no lock held.
            match self.sock.read(&mut incoming.raw) {
                Ok(0) => incoming.tcp_eof = true,
                Ok(n) => {
                    incoming.start = 0;
                    incoming.end = n;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) if self.shared.aborted() => return Ok(0),
                Err(e) => return Err(e),
            }
        }
    }
}

/// The writing half of a split [`TlsStream`].
pub(crate) struct TlsWriter {
    shared: Arc<Shared>,
    /// `shutdown` was called.
    closed: bool,
}

impl fmt::Debug for TlsWriter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsWriter")
            .field("closed", &self.closed)
            .finish_non_exhaustive()
    }
}

impl TlsWriter {
    /// Sends `close_notify`, then shuts the TCP sending direction down. The
    /// session can still receive. Calling it again does nothing.
    pub(crate) fn shutdown(&mut self) -> io::Result<()> {
        if self.closed {
            return Ok(());
        }
        self.closed = true;
        self.shared.with_send(|send| {
            self.shared.session.lock().send_close_notify();
            self.shared.flush_locked(send)?;
            match send.sock.shutdown(Shutdown::Write) {
                Err(e) if e.kind() == io::ErrorKind::NotConnected => Ok(()),
                other => other,
            }
        })
    }
}

impl Write for TlsWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.write_vectored(&[IoSlice::new(buf)])
    }

    /// Encrypts as much of `bufs` as the session accepts at once (64 KiB,
    /// across buffer boundaries, so small messages share records) and
    /// writes the ciphertext before returning.
    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        if self.closed {
            return Err(io::Error::new(
                io::ErrorKind::BrokenPipe,
                "the TLS stream was shut down for writing",
            ));
        }
        if bufs.iter().all(|b| b.is_empty()) {
            return Ok(0);
        }
        self.shared.with_send(|send| {
            let accepted = self.shared.session.lock().writer().write_vectored(bufs)?;
            self.shared.flush_locked(send)?;
            Ok(accepted)
        })
    }

    fn flush(&mut self) -> io::Result<()> {
        self.shared.with_send(|send| self.shared.flush_locked(send))
    }
}

/// Aborts a split [`TlsStream`] from any thread.
#[derive(Clone)]
pub(crate) struct TlsCloser(Arc<Shared>);

impl fmt::Debug for TlsCloser {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsCloser").finish_non_exhaustive()
    }
}

impl TlsCloser {
    /// Shuts the socket down both ways, without `close_notify`: a blocked
    /// read returns end-of-file, a blocked write fails.
    pub(crate) fn abort(&self) {
        self.0.aborted.store(true, Ordering::SeqCst);
        // An error means the socket is already shut down or was never
        // connected; either way nothing is left to wake.
        let _ = self.0.control.shutdown(Shutdown::Both);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;
    use std::thread;

    /// A verified TLS pair over IPv4 loopback: (client, server).
    fn pair() -> (TlsStream, TlsStream) {
        let ca_key = rcgen::KeyPair::generate().unwrap();
        let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        let ca = ca_params.self_signed(&ca_key).unwrap();
        let key = rcgen::KeyPair::generate().unwrap();
        let leaf = rcgen::CertificateParams::new(vec!["localhost".to_string()])
            .unwrap()
            .signed_by(&key, &ca, &ca_key)
            .unwrap();
        let server =
            TlsServerConfig::from_pem(leaf.pem().as_bytes(), key.serialize_pem().as_bytes())
                .unwrap();
        let client = TlsClientConfig::with_ca_pem(ca.pem().as_bytes()).unwrap();

        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let accepting = thread::spawn(move || {
            let (tcp, _) = listener.accept().unwrap();
            TlsStream::accept(tcp, &server, Duration::from_secs(5)).unwrap()
        });
        let tcp = TcpStream::connect(addr).unwrap();
        let client = TlsStream::connect(tcp, &client, "localhost", Duration::from_secs(5)).unwrap();
        (client, accepting.join().unwrap())
    }

    /// Reading can make the session owe the peer bytes (here: the alert
    /// for a corrupted record). With the writer idle, the reader must send
    /// them itself, taking the send side only after releasing the session.
    #[test]
    fn reader_flushes_what_reading_produced() {
        let (a, b) = pair();
        let (mut a_reader, a_writer, _a_closer) = a.split();
        let (mut b_reader, _b_writer, _b_closer) = b.split();
        // A fails rather than hangs if B's alert never comes.
        a_reader
            .sock
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();

        // An application-data record whose ciphertext cannot authenticate.
        a_writer
            .shared
            .send
            .lock()
            .sock
            .write_all(b"\x17\x03\x03\x00\x20corrupted-record-corrupted-record")
            .unwrap();
        let mut buf = [0; 16];
        let err = b_reader.read(&mut buf).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData, "{err}");
        // B's alert left with no help from B's writer.
        assert!(!b_reader.shared.session.lock().wants_write());

        let err = a_reader.read(&mut buf).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData, "{err}");
        assert!(err.to_string().contains("BadRecordMac"), "{err}");
    }

    #[test]
    fn server_names() {
        assert!(server_name("localhost").is_ok());
        assert!(server_name("192.0.2.1").is_ok());
        assert!(server_name("[2001:db8::1]").is_ok());
        assert!(server_name("2001:db8::1").is_ok());
        assert!(matches!(
            server_name("[oops"),
            Err(TlsError::InvalidServerName(_))
        ));
    }
}
