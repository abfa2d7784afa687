"""The bound MSRP connection and the transaction errors, as in the legacy
``msrplib.transport``.

An :class:`MSRPTransport` comes from :mod:`msrplib.connect`
(``connector.complete(...)``) and is handed to
:class:`msrplib.session.MSRPSession`, which drives it. The transport itself
builds requests along its paths (:meth:`MSRPTransport.make_request`,
:meth:`~MSRPTransport.make_send_request`, :meth:`~MSRPTransport.make_chunk`)
and checks incoming paths (:meth:`~MSRPTransport.check_incoming_SEND_chunk`);
the rules are the Rust core's (``ChunkBuilder``, session paths).

Differences from the legacy module:

* ``read_chunk``/``write_chunk``/``write_response``/``write`` work on a
  bound transport until a session takes it over (the legacy API of 2011:
  ``read_chunk`` returns "virtual" segments with a ``segment`` attribute,
  ``+`` flag and a ``Byte-Range`` of their own bytes once a chunk's body
  exceeds ``max_size``). They block without the GIL; ``wait`` is accepted
  and ignored (writes always complete before returning). Bytes read and not
  returned stay with the transport and reach a later
  :class:`msrplib.session.MSRPSession`; a session refuses a transport in the
  middle of a segmented chunk (:class:`msrplib.session.MSRPSessionError`).
  After the peer closed, ``read_chunk`` raises :class:`ConnectionDone`.
* Byte counts (``Byte-Range``) are taken from the UTF-8 encoding of a
  ``str`` body; the legacy code counted characters.
* A connection that ends is reported with :class:`ConnectionDone` (clean end)
  or :class:`ConnectionLost` (an I/O error); both also offer the ``value``,
  ``type`` and ``getErrorMessage()`` of the Twisted ``Failure`` the legacy
  callbacks received.
* ``logger=None`` gives a default :class:`msrplib.trafficlog.Logger` (as in
  the legacy module). Chunks are reported to the logger's ``sent_chunk`` /
  ``received_chunk`` by the session, for the chunks that pass through
  Python (see :mod:`msrplib.session`).
"""

from msgwire import _native
from msrplib import MSRPError, protocol
from msrplib.trafficlog import Logger, _report, _traffic_logger

__all__ = ['ChunkParseError', 'MSRPTransactionError', 'MSRPBadRequest', 'MSRPNoSuchSessionError',
           'ConnectionClosed', 'ConnectionDone', 'ConnectionLost', 'MSRPTransport']


class ChunkParseError(MSRPError):
    """Failed to parse an incoming chunk."""


class MSRPTransactionError(MSRPError):
    """A transaction failed with ``code`` (and ``comment``).

    Subclasses may set ``code``/``comment`` as class attributes; without a
    code anywhere the constructor raises ``TypeError``.
    """

    def __init__(self, comment=None, code=None):
        if comment is not None:
            self.comment = comment
        if code is not None:
            self.code = code
        if not hasattr(self, 'code'):
            raise TypeError("must provide 'code'")
        MSRPError.__init__(self, *(a for a in (comment, code) if a is not None))

    def __str__(self):
        if hasattr(self, 'comment'):
            return '{} {}'.format(self.code, self.comment)
        return str(self.code)

    def __reduce__(self):
        return type(self), (self.__dict__.get('comment'), self.__dict__.get('code'))


class MSRPBadRequest(MSRPTransactionError):
    code = 400
    comment = 'Bad Request'

    def __str__(self):
        return 'Remote party sent bogus data'


class MSRPNoSuchSessionError(MSRPTransactionError):
    code = 481
    comment = 'No such session'


class ConnectionClosed(MSRPError, ConnectionError):
    """The connection ended. Looks enough like a Twisted ``Failure`` for the
    legacy ``on_incoming_cb(error=...)`` handlers (``error.value``,
    ``error.type``, ``error.getErrorMessage()``)."""

    @property
    def value(self):
        return self

    @property
    def type(self):
        return type(self)

    tb = None

    def getErrorMessage(self):
        return str(self)


class ConnectionDone(ConnectionClosed):
    """The connection was closed cleanly (by the peer or by shutdown)."""

    def __init__(self, message='Connection was closed cleanly.'):
        ConnectionClosed.__init__(self, message)


class ConnectionLost(ConnectionClosed):
    """The connection ended with an I/O error."""


_path_cache = {}


def _uri_key(uri):
    parameters = uri.parameters
    return (uri.use_tls, uri.user, uri.host, uri.port, uri.session_id, uri.transport,
            tuple(parameters.items()) if parameters else ())


def _path_value(header_class, uris):
    """The encoded path header for ``uris``. Encoding goes through the core;
    the result is remembered by the URIs' contents (they may be changed in
    place, as an acceptor does with its port), so each message does not pay
    for it again."""
    key = (header_class.name, tuple(_uri_key(u) for u in uris))
    value = _path_cache.get(key)
    if value is None:
        if len(_path_cache) > 1024:
            _path_cache.clear()
        value = _path_cache[key] = header_class(list(uris)).encoded
    return value


def _snapshot(attributes):
    """A copy of a URI's ``__dict__`` that compares equal to it until an
    attribute, or a parameter, changes."""
    copy = dict(attributes)
    parameters = copy.get('parameters')
    if isinstance(parameters, dict):
        copy['parameters'] = dict(parameters)
    return copy


def _body_bytes(data):
    if isinstance(data, bytes):
        return data
    if isinstance(data, str):
        return data.encode('utf-8')
    return bytes(data)


class MSRPTransport(object):
    """A connected and bound MSRP connection (or, built directly, just a set
    of paths to build chunks with).

    Outgoing requests carry ``To-Path: local_path + remote_path +
    [remote_uri]`` and ``From-Path: local_uri``.
    """

    def __init__(self, local_uri, logger=None, use_sessmatch=False):
        if local_uri is not None and not isinstance(local_uri, protocol.URI):
            raise TypeError('Not MSRP URI instance: {!r}'.format(local_uri))
        self.local_uri = local_uri
        self.logger = Logger() if logger is None else logger
        self.local_path = []
        self.remote_uri = None
        self.remote_path = []
        self.use_sessmatch = use_sessmatch
        self._bound = None
        self._paths = None

    @classmethod
    def _from_bound(cls, bound, local_uri, full_remote_path, logger=None, use_sessmatch=False):
        transport = cls(local_uri, logger, use_sessmatch)
        transport._set_full_remote_path(full_remote_path)
        transport._bound = bound
        return transport

    def __repr__(self):
        return '<{} at {:#x} local_uri={} remote_uri={}>'.format(type(self).__name__, id(self),
                                                                self.local_uri, self.remote_uri)

    # --- paths --------------------------------------------------------------

    def next_host(self):
        if self.local_path:
            return self.local_path[0]
        return self.full_remote_path[0]

    def set_local_path(self, lst):
        self.local_path = lst

    @property
    def full_local_path(self):
        """The path to advertise (SDP ``a=path``)."""
        return self.local_path + [self.local_uri]

    @property
    def full_remote_path(self):
        return self.remote_path + [self.remote_uri]

    def _set_full_remote_path(self, full_remote_path):
        full_remote_path = list(full_remote_path)
        if not all(isinstance(x, protocol.URI) for x in full_remote_path):
            raise TypeError('Not all elements are MSRP URI: {!r}'.format(full_remote_path))
        self.remote_uri = full_remote_path[-1]
        self.remote_path = full_remote_path[:-1]

    def _path_values(self):
        """The encoded To-Path and From-Path. Remembered with a copy of the
        URIs' attributes and encoded again when one of them changed (the
        URIs may be changed in place, as an acceptor does with its port);
        checking costs far less than encoding, on every message built."""
        uris = self.local_path + self.remote_path + [self.remote_uri, self.local_uri]
        state = [uri.__dict__ for uri in uris]
        cached = self.__dict__.get('_paths')
        if cached is not None and cached[0] == state:
            return cached[1]
        values = (_path_value(protocol.ToPathHeader, uris[:-1]), _path_value(protocol.FromPathHeader, uris[-1:]))
        self._paths = ([_snapshot(attributes) for attributes in state], values)
        return values

    def _to_path_value(self):
        return self._path_values()[0]

    def _from_path_value(self):
        return self._path_values()[1]

    # --- building chunks ------------------------------------------------------

    def make_request(self, method):
        """A request of ``method`` with To-Path and From-Path only (random
        transaction id)."""
        chunk = protocol.MSRPData(transaction_id=_native.random_id(), method=method)
        chunk.add_header(protocol.MSRPHeader('To-Path', self._to_path_value()))
        chunk.add_header(protocol.MSRPHeader('From-Path', self._from_path_value()))
        return chunk

    def _build(self, method, data, start, end, length, message_id, transaction_id, contflag, star_above):
        to_path, from_path = self._path_values()
        return _native.build_request(to_path, from_path, method, data, start, end, length, message_id,
                                     transaction_id, contflag, star_above)

    def make_send_request(self, message_id=None, data='', start=1, end=None, length=None):
        """A SEND carrying ``data`` (one chunk), as the legacy library built it:
        ``Byte-Range`` (end written as ``*`` when the total exceeds 2048
        bytes), then ``Message-ID`` (random unless given); flag ``$`` when the
        chunk ends the message, else ``+``."""
        return self._build('SEND', data, start, end, length, message_id, None, None, 2048)

    def make_chunk(self, transaction_id=None, method='SEND', code=None, comment=None, data='', contflag=None,
                   start=1, end=None, length=None, message_id=None):
        """A request (``method``) or, with ``code``, a response along this
        transport's paths. Requests get ``Byte-Range`` from
        ``start``/``end``/``length`` and a ``Message-ID``; ``contflag``
        ``None`` means ``$`` when the chunk ends the message, else ``+``."""
        if code is not None:
            chunk = protocol.MSRPData(transaction_id or _native.random_id(), code=code, comment=comment)
            chunk.add_header(protocol.MSRPHeader('To-Path', self._to_path_value()))
            chunk.add_header(protocol.MSRPHeader('From-Path', self._from_path_value()))
            return chunk
        return self._build(method, data, start, end, length, message_id, transaction_id, contflag, None)

    # --- checks ---------------------------------------------------------------

    def check_incoming_SEND_chunk(self, chunk):
        """Checks an incoming SEND's To-Path and From-Path against this
        transport: ``None`` when they name this session, else the error (an
        :class:`MSRPBadRequest` or :class:`MSRPNoSuchSessionError`) to answer
        with. With ``use_sessmatch`` only session ids are compared."""
        if chunk.method != 'SEND':
            raise ValueError('not a SEND chunk: {!r}'.format(chunk))
        expected_from = [u._parts() for u in self.local_path + self.remote_path + [self.remote_uri]]
        verdict = _native.check_send_paths(chunk._header_pairs(), self.local_uri._parts(), expected_from,
                                           bool(self.use_sessmatch))
        if verdict is None:
            return None
        code, comment = verdict
        if code == 481:
            return MSRPNoSuchSessionError(comment)
        return MSRPBadRequest(comment)

    # --- the connection -------------------------------------------------------

    def getPeer(self):
        """``(ip, port)`` of the peer, or ``None`` when not connected."""
        return None if self._bound is None else self._bound.peer_address

    def loseConnection(self, wait=True):
        """Closes the connection if no session has taken it over."""
        if self._bound is not None:
            self._bound.close()

    # --- raw I/O before a session ----------------------------------------

    def _connected(self):
        if self._bound is None:
            raise ConnectionDone('the transport is not connected')
        return self._bound

    def _log(self, method, chunk):
        traffic = _traffic_logger(self.logger)
        if traffic is not None:
            _report(traffic, method, chunk, self)

    def write(self, data, wait=True):
        """Writes raw bytes (``str`` as UTF-8). Blocks until written."""
        self._connected().write(_body_bytes(data))

    def write_chunk(self, chunk, wait=True):
        """Encodes and writes ``chunk`` as is; no transaction is tracked."""
        self._connected().write_chunk(chunk)
        self._log('sent_chunk', chunk)

    def write_response(self, chunk, code, comment, wait=True):
        """Writes the response owed for the request ``chunk``, if its
        Failure-Report asks for one (nothing for ``no``; only failures for
        ``partial``). Unreadable path headers raise
        :class:`msrplib.protocol.HeaderParsingError`."""
        response = self._connected().write_response(chunk, code, comment)
        if response is not None:
            self._log('sent_chunk', response)

    def read_chunk(self, max_size=1024 * 1024 * 4, timeout=None):
        """Waits for the next chunk and returns it as ``MSRPData``.

        When the body of a chunk exceeds ``max_size`` bytes, a "virtual"
        chunk of exactly ``max_size`` bytes (with ``0``: all the data read
        so far) is returned instead: same transaction id and headers,
        ``Byte-Range`` start and end of these bytes within the message,
        flag ``+`` and a ``segment`` attribute (1, 2, ...); the last
        segment of the chunk has the chunk's own flag. Whole chunks have no
        ``segment`` attribute. ``max_size=None`` never splits.

        Raises :class:`ConnectionDone` once the peer has closed (after every
        chunk that arrived before), :class:`ChunkParseError` for input that
        is not MSRP (reading may go on), ``TimeoutError`` when ``timeout``
        seconds pass (nothing is lost; the next call goes on).
        """
        if max_size is not None and max_size < 0:
            raise ValueError('max_size must not be negative')
        chunk, segment = self._connected().read_chunk(max_size, timeout)
        if segment is not None:
            chunk.segment = segment
        self._log('received_chunk', chunk)
        return chunk

    def _take_bound(self):
        if self._bound is None or not self._bound.available:
            raise MSRPError('the transport is not connected, or is already used by a session')
        return self._bound
