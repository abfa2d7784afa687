"""Getting a connected, bound :class:`~msrplib.transport.MSRPTransport`, as
in the legacy ``msrplib.connect`` (direct connections; no relay yet).

The procedure is the same for both sides::

    connector = DirectConnector()          # or DirectAcceptor()
    full_local_path = connector.prepare(local_uri)
    try:
        # put full_local_path in SDP a=path, read the peer's path from SDP
        transport = connector.complete(full_remote_path)
    finally:
        connector.cleanup()

The connector opens TCP to the first URI of the remote path and sends the
empty bind SEND; the acceptor listens on ``local_uri``'s host and port
(port 0: any free port, written back into ``local_uri``) and answers the
peer's bind SEND after checking its paths. Both calls block without
holding the GIL; the work is done by msgwire's Rust core.

Timeouts are the class attributes ``seconds`` of
:class:`MSRPConnectTimeout`, :class:`MSRPIncomingConnectTimeout` and
:class:`MSRPBindSessionTimeout` (30 by default, or whatever
:class:`MSRPTimeout` is set to), read when ``complete()`` is called and
raised when they pass.

Differences from the legacy module:

* TLS (``msrps``) takes :class:`msrplib.tls.X509Credentials` (same
  constructor as python-gnutls') as the URI's ``credentials``; the peer's
  certificate is verified unless ``verify_peer=False`` (see
  :mod:`msrplib.tls`). When ``prepare()`` gets no URI it makes a plain
  ``msrp`` one (the legacy default was TLS).
* A URI without a port (as :meth:`URI.parse` leaves it) is connected to on
  port 2855.
* Relays (RFC 4976): :class:`RelayConnection` (and the 2009 names
  :class:`ConnectorRelay`/:class:`AcceptorRelay`, :func:`get_connector`,
  :func:`get_acceptor`) authenticate with digest AUTH and bind through the
  relay. Without ``host``, the relay is found through DNS SRV
  (``_msrps._tcp``/``_msrp._tcp`` of the domain, then the domain itself on
  port 2855), trying each target until one authenticates. The AUTH's
  To-Path and digest URI are the relay's domain URI (as the legacy library
  sent); the digest ``uri`` is sent (RFC 2617) and left out once, and for
  the rest of that connection's life, when the relay does not answer an
  AUTH carrying it (AGProjects msrprelay 1.4). A stale nonce is retried
  once; a 423 is retried within the bound the relay names.
  :class:`MSRPRelaySettings` keeps the seed's ``use_tls=False`` default;
  with TLS the relay's certificate is verified against the settings'
  ``credentials`` (see :mod:`msrplib.tls`).
* :class:`MSRPServer` starts its listeners (and fixes its timeouts) at the
  first ``prepare()``; ``prepare()`` without a URI listens on any free port
  (the legacy default was TLS on port 2855), and its ``complete()`` waits
  ``MSRPIncomingConnectTimeout.seconds``. See the class for the details.
* ``logger=None`` means no logging (a :class:`~msrplib.trafficlog.NullLogger`,
  which is also the default); the logger given is the one the resulting
  transport gets as ``transport.logger``.
"""

import threading

from msgwire import _native
from msrplib import MSRPError, protocol, tls
from msrplib.trafficlog import NullLogger
from msrplib.transport import MSRPTransactionError, MSRPTransport

__all__ = ['MSRPTimeout', 'MSRPConnectTimeout', 'MSRPRelayConnectTimeout', 'MSRPIncomingConnectTimeout',
           'MSRPBindSessionTimeout', 'MSRPRelayAuthError', 'MSRPAuthTimeout',
           'MSRPServer', 'DirectConnector', 'DirectAcceptor', 'ConnectorDirect', 'AcceptorDirect',
           'MSRPRelaySettings', 'RelayConnection', 'ConnectorRelay', 'AcceptorRelay',
           'get_connector', 'get_acceptor']


class MSRPTimeout(MSRPError):
    """Base of the binding timeouts; ``seconds`` is the deadline."""

    seconds = 30


class MSRPConnectTimeout(MSRPTimeout):
    """The TCP connection to the peer was not established in time."""


class MSRPRelayConnectTimeout(MSRPTimeout):
    """The connection to the relay was not established in time."""


class MSRPIncomingConnectTimeout(MSRPTimeout):
    """No peer connected to the acceptor in time."""


class MSRPBindSessionTimeout(MSRPTimeout):
    """The bind exchange (empty SEND and its 200) did not finish in time."""


class MSRPServerCompleteTimeout(MSRPIncomingConnectTimeout, MSRPBindSessionTimeout):
    """:meth:`MSRPServer.complete` found no binding in time. It is both an
    :class:`MSRPIncomingConnectTimeout` (the timeout that applies, as for
    :class:`DirectAcceptor`) and an :class:`MSRPBindSessionTimeout` (what the
    legacy ``MSRPServer.complete`` raised)."""


class MSRPRelayAuthError(MSRPTransactionError):
    pass


class MSRPAuthTimeout(MSRPTransactionError):
    code = 408
    comment = 'No response to AUTH request'
    seconds = 30


def _timeouts():
    return (float(MSRPConnectTimeout.seconds), float(MSRPIncomingConnectTimeout.seconds),
            float(MSRPBindSessionTimeout.seconds))


def _host_port(address):
    return '?' if address is None else '{}:{}'.format(*address)


def _log(logger, message, *args):
    """``logger.info(...)`` for any logger object; a failing logger never
    breaks binding."""
    info = getattr(logger, 'info', None)
    if info is not None:
        try:
            info(message, *args)
        except Exception:
            pass


class ConnectBase(object):
    """What both direct connectors share."""

    _active = None

    def __init__(self, logger=None, use_sessmatch=False):
        self.logger = NullLogger() if logger is None else logger
        self.use_sessmatch = use_sessmatch
        self.local_uri = None
        self.remote_uri = None
        self._native = _native.Connector(self._active, bool(use_sessmatch))

    def __repr__(self):
        return '<{} at {:#x} local_uri={}>'.format(type(self).__name__, id(self), self.local_uri)

    def prepare(self, local_uri=None):
        """Returns the full local path (a list of :class:`~msrplib.protocol.URI`)
        to advertise; ``local_uri`` is completed in place."""
        if local_uri is None:
            local_uri = protocol.URI(port=0, use_tls=False)
        self._before_prepare(local_uri)
        server_tls = None if self._active else tls.server_config(local_uri)
        path = self._native.prepare(local_uri._parts(), *_timeouts(), server_tls=server_tls)
        use_tls, user, host, port, session_id, transport, parameters = path[-1]
        local_uri.host = host
        local_uri.port = port
        local_uri.session_id = session_id
        self.local_uri = local_uri
        self._after_prepare(local_uri)
        return [local_uri]

    def _after_prepare(self, local_uri):
        pass

    def _before_prepare(self, local_uri):
        pass

    def complete(self, full_remote_path):
        """Connects and binds; returns an :class:`~msrplib.transport.MSRPTransport`."""
        full_remote_path = list(full_remote_path)
        if not full_remote_path:
            raise ValueError('the remote path is empty')
        if self.local_uri is None:
            self.prepare()
        self.remote_uri = full_remote_path[0]
        client_tls = tls.client_config(self.local_uri, self.remote_uri) if self._active else None
        self._before_complete(full_remote_path)
        bound = self._native.complete([uri._parts() for uri in full_remote_path], *_timeouts(),
                                      client_tls=client_tls)
        transport = MSRPTransport._from_bound(bound, self.local_uri, full_remote_path, self.logger,
                                              self.use_sessmatch)
        self._after_complete(transport)
        return transport

    def _before_complete(self, full_remote_path):
        pass

    def _after_complete(self, transport):
        pass

    def cleanup(self, wait=True):
        """Releases what ``prepare()`` set up (the acceptor's listening socket)."""
        self._native.cleanup()


class DirectConnector(ConnectBase):
    """The active side without a relay: connects to the peer and binds.

    ``prepare`` advertises port 2855 when ``local_uri`` has none (the
    connector never listens), like the legacy library.
    """

    _active = True

    def _before_prepare(self, local_uri):
        # The class attribute, so that a changed default port is advertised.
        local_uri.port = local_uri.port or type(local_uri).port

    def _before_complete(self, full_remote_path):
        _log(self.logger, 'Connecting to %s', full_remote_path[0])

    def _after_complete(self, transport):
        _log(self.logger, 'Connected to %s', _host_port(transport.getPeer()))


class DirectAcceptor(ConnectBase):
    """The passive side without a relay: listens on ``local_uri`` and waits
    for the peer's bind SEND."""

    _active = False

    def _after_prepare(self, local_uri):
        _log(self.logger, 'Listening for incoming %s connections on %s:%s', local_uri.scheme.upper(),
             local_uri.host, local_uri.port)

    def _after_complete(self, transport):
        _log(self.logger, 'Incoming %s connection from %s', self.local_uri.scheme.upper(),
             _host_port(transport.getPeer()))


ConnectorDirect = DirectConnector
AcceptorDirect = DirectAcceptor


class MSRPRelaySettings(protocol.ConnectInfo):
    """A relay to use (legacy ``MSRPRelaySettings``): ``domain`` names it
    (AUTH and DNS discovery), ``host``/``port`` say where to connect when
    given (``port`` alone overrides the SRV records' ports), and
    ``credentials`` (an :class:`msrplib.tls.X509Credentials`) what its
    certificate is checked against when ``use_tls``."""

    use_tls = False
    port = None

    def __init__(self, domain, username, password, host=None, use_tls=False, port=None, credentials=None):
        protocol.ConnectInfo.__init__(self, host, use_tls=use_tls, port=port, credentials=credentials)
        self.domain = domain
        self.username = username
        self.password = password

    def __str__(self):
        text = 'MSRPRelay {}://{}'.format(self.scheme, self.host or self.domain)
        if self.port:
            text += ':{}'.format(self.port)
        return text

    def __repr__(self):
        params = [self.domain, self.username, self.password, self.host, self.port]
        while params[-1] is None and len(params) > 3:
            params.pop()
        return '{}({})'.format(type(self).__name__, ', '.join(repr(p) for p in params))

    @property
    def uri_domain(self):
        """The relay's URI as the AUTH names it."""
        return protocol.URI(host=self.domain, port=self.port, use_tls=self.use_tls, session_id='')


class RelayConnection(object):
    """An endpoint reached through a relay. ``mode`` is ``'active'`` (sends
    the bind SEND at ``complete``) or ``'passive'`` (waits for it).

    ``prepare(local_uri=None)`` connects to the relay, authenticates and
    returns the full local path (the relay's Use-Path, then ``local_uri``,
    whose host and port become those of this end of the relay connection);
    ``complete(full_remote_path)`` binds through the relay and returns an
    :class:`~msrplib.transport.MSRPTransport`; ``cleanup()`` drops an
    unused relay connection. Timeouts: :class:`MSRPRelayConnectTimeout`
    (connecting), :class:`MSRPAuthTimeout` (each AUTH answer),
    :class:`MSRPBindSessionTimeout` (binding), each class's ``seconds``.
    """

    #: DNS servers for discovery, as ``(ip, port)`` pairs; ``None`` reads
    #: /etc/resolv.conf.
    nameservers = None

    #: Reservation time to ask the relay for, in seconds (an ``Expires``
    #: header); ``None`` sends none (deployed Kamailio relays answer any
    #: with 423). A 423 naming Min-Expires or Max-Expires is retried once
    #: within that bound either way.
    expires = None

    def __init__(self, relay, mode, logger=None, use_sessmatch=False):
        if mode not in ('active', 'passive'):
            raise ValueError("RelayConnection mode should be one of 'active' or 'passive'")
        self.relay = relay
        self.mode = mode
        self.logger = NullLogger() if logger is None else logger
        self.use_sessmatch = use_sessmatch
        self.local_uri = None
        self.remote_uri = relay
        self._use_path = []
        client_tls = None
        if relay.use_tls:
            if relay.credentials is None:
                raise ValueError('a TLS relay needs credentials (X509Credentials(trusted=[ca]) '
                                 'or verify_peer=False)')
            client_tls = tls._as_credentials(relay.credentials)._client_config()
        self._native = _native.RelayConnector(
            relay.domain, relay.username, relay.password, host=relay.host,
            port=int(relay.port) if relay.port else None, use_tls=bool(relay.use_tls),
            active=(mode == 'active'), use_sessmatch=bool(use_sessmatch), tls=client_tls,
            nameservers=self.nameservers,
            expires=None if self.expires is None else int(self.expires))

    def __repr__(self):
        return '<{} at {:#x} relay={!r}>'.format(type(self).__name__, id(self), self.relay)

    def prepare(self, local_uri=None):
        """Authenticates at the relay; returns the full local path."""
        if local_uri is None:
            local_uri = protocol.URI(port=0, use_tls=self.relay.use_tls)
        path = self._native.prepare(local_uri._parts(), float(MSRPRelayConnectTimeout.seconds),
                                    float(MSRPAuthTimeout.seconds), float(MSRPBindSessionTimeout.seconds))
        use_tls, user, host, port, session_id, transport, parameters = path[-1]
        local_uri.host = host
        local_uri.port = port
        local_uri.session_id = session_id
        self.local_uri = local_uri
        self._use_path = [protocol.URI._from_parts(parts) for parts in path[:-1]]
        _log(self.logger, 'Reserved session at relay %s', self._use_path[0] if self._use_path else self.relay)
        return self._use_path + [local_uri]

    def complete(self, full_remote_path):
        """Binds through the relay; returns an MSRPTransport."""
        full_remote_path = list(full_remote_path)
        if not full_remote_path:
            raise ValueError('the remote path is empty')
        if self.local_uri is None:
            raise RuntimeError('prepare() must be called first')
        bound = self._native.complete([uri._parts() for uri in full_remote_path],
                                      float(MSRPBindSessionTimeout.seconds))
        transport = MSRPTransport._from_bound(bound, self.local_uri, full_remote_path, self.logger,
                                              self.use_sessmatch)
        transport.set_local_path(list(self._use_path))
        return transport

    def cleanup(self, wait=True):
        """Drops the relay connection of a ``prepare()`` not completed."""
        self._native.cleanup()


class ConnectorRelay(RelayConnection):
    """The 2009 name of an active :class:`RelayConnection`."""

    def __init__(self, relay, logger=None, use_sessmatch=False):
        RelayConnection.__init__(self, relay, 'active', logger, use_sessmatch)


class AcceptorRelay(RelayConnection):
    """The 2009 name of a passive :class:`RelayConnection`."""

    def __init__(self, relay, logger=None, use_sessmatch=False):
        RelayConnection.__init__(self, relay, 'passive', logger, use_sessmatch)


def get_connector(relay, logger=None, use_sessmatch=False):
    """A :class:`DirectConnector` without a relay, else a :class:`ConnectorRelay`."""
    if relay is None:
        return DirectConnector(logger=logger, use_sessmatch=use_sessmatch)
    return ConnectorRelay(relay, logger=logger, use_sessmatch=use_sessmatch)


def get_acceptor(relay, logger=None, use_sessmatch=False):
    """A :class:`DirectAcceptor` without a relay, else an :class:`AcceptorRelay`."""
    if relay is None:
        return DirectAcceptor(logger=logger, use_sessmatch=use_sessmatch)
    return AcceptorRelay(relay, logger=logger, use_sessmatch=use_sessmatch)


def _uri_key(parts):
    """A hashable key for URI parts, equal for equal URIs."""
    return protocol.URI._from_parts(parts)._key()


class MSRPServer(object):
    """Many passive sessions behind shared listening sockets (legacy
    ``MSRPServer``).

    A :class:`DirectAcceptor` owns its listening socket, so two of them
    cannot wait on the same port at once. An ``MSRPServer`` keeps one
    listener per host and port and hands each incoming connection to the
    session its bind SEND names::

        server = MSRPServer(logger)
        full_local_path = server.prepare(local_uri)   # once per session
        # put full_local_path in SDP a=path, read the peer's path from SDP
        try:
            transport = server.complete(full_remote_path)
        finally:
            server.cleanup(local_uri)
        ...
        server.close()                                # when done with all of them

    * ``prepare(local_uri=None, logger=None)`` starts a listener for
      ``local_uri``'s host and port unless the server already has one there
      and adds ``local_uri`` to the expected URIs. Port 0 (or no port) means
      the port the server already listens on for that host, or any free
      port for the first one; the port in use is written back into
      ``local_uri``, as are a missing session id and host. ``local_uri=None``
      is a plain ``msrp`` URI on any free port. ``logger``, if given, is the
      logger of the transport this URI binds (else the server's).
    * ``complete(full_remote_path)`` waits, without holding the GIL, until a
      connection to any expected URI binds with ``full_remote_path`` as its
      From-Path, answers its bind SEND 200 and returns the
      :class:`~msrplib.transport.MSRPTransport` (for :class:`MSRPSession` or
      :class:`GreenMSRPSession`). Each prepared URI binds once.
    * ``complete_for(local_uri, full_remote_path)`` (not in the legacy
      class) waits for the binding of ``local_uri`` only and checks its
      From-Path like :class:`DirectAcceptor`: a mismatch is answered 481 and
      raises :class:`~msrplib.transport.MSRPNoSuchSessionError`.
    * ``cleanup(local_uri)`` stops expecting ``local_uri``.
    * ``close()`` (also ``stopListening()``) stops listening, wakes waiting
      ``complete`` calls with :class:`~msrplib.transport.ConnectionDone` and
      waits for the server's threads. Transports and sessions already
      returned are not affected. A later ``prepare`` starts listening again.

    Connections whose bind SEND names no expected URI are answered
    ``481 Unknown To-Path``, which the connecting
    :class:`DirectConnector` raises as
    :class:`~msrplib.transport.MSRPNoSuchSessionError`; other sessions are
    not disturbed. A connection nobody completes within the bind timeout is
    answered 481 too.

    Timeouts: the server reads :class:`MSRPIncomingConnectTimeout` and
    :class:`MSRPBindSessionTimeout` ``.seconds`` when it starts, i.e. at the
    first ``prepare()`` (and at the first after ``close()``), not at every
    ``complete()`` as the direct connectors do; later changes apply to the
    next start. ``complete()`` waits up to the incoming-connect timeout and
    then raises :class:`MSRPServerCompleteTimeout`, which is both an
    :class:`MSRPIncomingConnectTimeout` and the
    :class:`MSRPBindSessionTimeout` the legacy class raised. A connected
    peer must send its bind SEND within the bind timeout. ``timeouts`` is
    ``(connect, incoming_connect, bind)`` of the running server, or ``None``.

    All methods may be called from any thread; ``complete`` calls for
    different sessions can wait at the same time.
    """

    def __init__(self, logger=None, use_sessmatch=False):
        self.logger = NullLogger() if logger is None else logger
        self.use_sessmatch = use_sessmatch
        self.local_uri = None
        self._native = _native.Server(bool(use_sessmatch))
        self._lock = threading.Lock()
        self._expected = {}  # URI key -> (the caller's URI object, logger or None)

    def __repr__(self):
        return '<{} at {:#x} listening on {}>'.format(
            type(self).__name__, id(self), ', '.join(_host_port(a) for a in self.local_addresses) or 'nothing')

    @property
    def timeouts(self):
        return self._native.timeouts

    @property
    def local_addresses(self):
        """The ``(ip, port)`` addresses the server listens on."""
        return self._native.local_addresses()

    @property
    def expected_local_uris(self):
        """The local URIs prepared and not yet bound or cleaned up."""
        return [protocol.URI._from_parts(parts) for parts in self._native.expected()]

    def prepare(self, local_uri=None, logger=None):
        """Listens for and expects ``local_uri``; returns the full local path
        (``[local_uri]``, completed in place)."""
        if local_uri is None:
            local_uri = protocol.URI(port=0, use_tls=False)
        server_tls = tls.server_config(local_uri)
        before = set(self._native.local_addresses())
        path = self._native.prepare(local_uri._parts(), *_timeouts(), server_tls=server_tls)
        parts = path[-1]
        use_tls, user, host, port, session_id, transport, parameters = parts
        local_uri.host = host
        local_uri.port = port
        local_uri.session_id = session_id
        with self._lock:
            self._expected[_uri_key(parts)] = (local_uri, logger)
        self.local_uri = local_uri
        if set(self._native.local_addresses()) != before:
            _log(self.logger, 'Listening for incoming %s connections on %s:%s', local_uri.scheme.upper(),
                 local_uri.host, local_uri.port)
        return [local_uri]

    def complete(self, full_remote_path):
        """Waits for the binding from ``full_remote_path``; returns an
        :class:`~msrplib.transport.MSRPTransport`."""
        full_remote_path = self._remote(full_remote_path)
        try:
            bound = self._native.complete([uri._parts() for uri in full_remote_path])
        except MSRPIncomingConnectTimeout as exc:
            raise MSRPServerCompleteTimeout(*exc.args) from None
        return self._transport(bound, full_remote_path)

    def complete_for(self, local_uri, full_remote_path):
        """Waits for the binding of ``local_uri`` (as prepared) and checks that
        it comes from ``full_remote_path``."""
        full_remote_path = self._remote(full_remote_path)
        try:
            bound = self._native.complete_for(local_uri._parts(), [uri._parts() for uri in full_remote_path])
        except MSRPIncomingConnectTimeout as exc:
            raise MSRPServerCompleteTimeout(*exc.args) from None
        return self._transport(bound, full_remote_path)

    def cleanup(self, local_uri):
        """Stops expecting ``local_uri``; unknown URIs are ignored."""
        self._native.cleanup(local_uri._parts())
        with self._lock:
            self._expected.pop(local_uri._key(), None)

    def close(self):
        """Stops listening and waits for the server's threads."""
        self._native.close()
        with self._lock:
            self._expected.clear()

    stopListening = close

    def _remote(self, full_remote_path):
        full_remote_path = list(full_remote_path)
        if not full_remote_path:
            raise ValueError('the remote path is empty')
        return full_remote_path

    def _transport(self, bound, full_remote_path):
        parts = bound.paths()[0]
        with self._lock:
            local_uri, logger = self._expected.pop(_uri_key(parts), (None, None))
        if local_uri is None:
            local_uri = protocol.URI._from_parts(parts)
        logger = self.logger if logger is None else logger
        transport = MSRPTransport._from_bound(bound, local_uri, full_remote_path, logger, self.use_sessmatch)
        _log(logger, 'Incoming %s connection from %s', local_uri.scheme.upper(), _host_port(transport.getPeer()))
        return transport
