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

* TLS (``msrps``) is not supported yet: a URI with ``use_tls`` raises
  ``ValueError``. When ``prepare()`` gets no URI it makes a plain ``msrp``
  one (the legacy default was TLS).
* A URI without a port (as :meth:`URI.parse` leaves it) is connected to on
  port 2855.
* ``MSRPServer`` and ``RelayConnection`` are not available.
* ``logger=None`` means no logging (a :class:`~msrplib.trafficlog.NullLogger`,
  which is also the default); the logger given is the one the resulting
  transport gets as ``transport.logger``.
"""

from msgwire import _native
from msrplib import MSRPError, protocol
from msrplib.trafficlog import NullLogger
from msrplib.transport import MSRPTransactionError, MSRPTransport

__all__ = ['MSRPTimeout', 'MSRPConnectTimeout', 'MSRPRelayConnectTimeout', 'MSRPIncomingConnectTimeout',
           'MSRPBindSessionTimeout', 'MSRPRelayAuthError', 'MSRPAuthTimeout',
           'DirectConnector', 'DirectAcceptor', 'ConnectorDirect', 'AcceptorDirect']


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


def _check_plain(uri):
    if uri.use_tls:
        raise ValueError('msrps (TLS) is not supported yet: {}'.format(uri))


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
        _check_plain(local_uri)
        self._before_prepare(local_uri)
        path = self._native.prepare(local_uri._parts(), *_timeouts())
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
        for uri in full_remote_path:
            _check_plain(uri)
        self.remote_uri = full_remote_path[0]
        self._before_complete(full_remote_path)
        bound = self._native.complete([uri._parts() for uri in full_remote_path], *_timeouts())
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
