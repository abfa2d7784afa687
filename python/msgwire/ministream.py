"""I2P ministreaming: many reliable byte streams between two destinations,
multiplexed over one TCP connection (or in memory), on the msgwire core.

Server and client in one process::

    from msgwire import ministream

    server = ministream.SocketManager.listen("127.0.0.1:0")
    client = ministream.SocketManager.listen("127.0.0.1:0")
    listener = server.server_socket()        # from now on streams wait for accept()

    # connect() waits until the peer accepts, so accept on another thread
    # (or connect from one).
    ...
    with client.connect(server.destination, timeout=10) as s:
        s.sendall(b"hello")
        print(s.recv(5))

A manager's ``destination`` is its bound ``host:port`` (TCP) or a name (in
memory, :meth:`SocketManager.in_memory_pair`). Sockets behave like
``socket.socket`` for ``sendall``, ``recv`` (``b""`` at the end of the
stream), ``settimeout``, ``makefile``, ``close`` and ``with``.

Options (keyword arguments of :meth:`SocketManager.listen` and
:meth:`SocketManager.in_memory_pair`), named after Java's
``I2PSocketOptions``: ``connect_timeout`` (seconds, default 60),
``read_timeout`` and ``write_timeout`` (``None``: wait forever),
``buffer_size`` (bytes buffered per stream before the connection stops
reading, default 65536), ``accept_timeout`` (how long an incoming stream
waits for ``accept()`` before it is refused, default 5), ``max_payload``
(bytes per data frame, default 32768), ``accept_backlog`` (most incoming
streams waiting for ``accept()``; more are refused at once, default 4096).
:meth:`SocketManager.listen` also takes ``credentials``
(:class:`msrplib.tls.X509Credentials`) to speak TLS on every connection.

Errors: :class:`ConnectionRefused` (a ``ConnectionRefusedError``),
:class:`Timeout` (a ``TimeoutError``), :class:`ConnectionReset` (the peer
closed the stream while we wrote), :class:`Closed` (closed here or the
manager destroyed), :class:`TransportError` (the TCP connection failed),
:class:`ProtocolError` (bytes that are not a frame; a ``ValueError``).

Every blocking call releases the GIL.
"""

import io
from typing import NamedTuple, Optional, Union

from msgwire import _native

__all__ = ['SocketManager', 'ServerSocket', 'Socket', 'Frame', 'MinistreamError',
           'ConnectionRefused', 'Timeout', 'ConnectionReset', 'Closed',
           'TransportError', 'ProtocolError', 'SYN', 'ACK', 'DATA_IN', 'DATA_OUT',
           'CLOSE_IN', 'CLOSE_OUT', 'CHAFF']

#: Frame types (towards the server side: 0xA?; towards the client side: 0x5?).
DATA_IN = 0xA0
SYN = 0xA1
CLOSE_IN = 0xA2
DATA_OUT = 0x50
ACK = 0x51
CLOSE_OUT = 0x52
CHAFF = 0xFF


class MinistreamError(OSError):
    """Base class of the ministreaming errors."""


class ConnectionRefused(MinistreamError, ConnectionRefusedError):
    """The peer refused the stream (nobody accepted it)."""


class Timeout(MinistreamError, TimeoutError):
    """A connect, accept, recv, sendall or ping ran out of time."""


class ConnectionReset(MinistreamError, ConnectionResetError):
    """The peer closed the stream while we were writing."""


class Closed(MinistreamError):
    """The stream was closed here, or its manager destroyed."""


class TransportError(MinistreamError, ConnectionError):
    """The transport connection carrying the stream failed."""


class ProtocolError(MinistreamError, ValueError):
    """Bytes that are not a ministreaming frame."""


def _dest(destination: Union[str, bytes]) -> bytes:
    if isinstance(destination, str):
        return destination.encode('utf-8')
    return bytes(destination)


def _text(raw: bytes) -> str:
    return raw.decode('utf-8', 'replace')


class Frame(NamedTuple):
    """One frame: ``type`` (int), ``id`` (1..0xFFFFFF) and ``payload``."""
    type: int
    id: int
    payload: bytes = b''

    def encode(self) -> bytes:
        """The frame's bytes (type, 3-byte id, payload), without the
        transport's length prefix."""
        return _native.ministream_frame_encode(self.type, self.id, bytes(self.payload))

    def encode_prefixed(self) -> bytes:
        """The frame with the 4-byte big-endian length prefix used over
        TCP."""
        body = self.encode()
        return len(body).to_bytes(4, 'big') + body

    @classmethod
    def decode(cls, data: bytes) -> 'Frame':
        """Decodes one frame (without length prefix). The ping probe
        ``b"\\xff"`` and chaff decode as ``Frame(0xFF, 0, b"")``. Raises
        :class:`ProtocolError` for bytes that are not a frame (too short,
        id 0, a type outside the ranges)."""
        return cls(*_native.ministream_frame_decode(bytes(data)))


class Socket(object):
    """One stream; see the module docs."""

    def __init__(self, native):
        self._native = native
        self._timeout = native.gettimeout()

    def sendall(self, data) -> None:
        """Writes all of ``data`` (bytes-like)."""
        if not isinstance(data, bytes):
            data = bytes(data)
        self._native.sendall(data)

    def send(self, data) -> int:
        """Writes all of ``data`` and returns its length."""
        self.sendall(data)
        return len(data)

    def recv(self, n: int) -> bytes:
        """At most ``n`` bytes; ``b""`` once the peer closed the stream."""
        return self._native.recv(n)

    def recv_into(self, buffer, nbytes: int = 0) -> int:
        """Reads into ``buffer``; returns the number of bytes read."""
        view = memoryview(buffer).cast('B')
        n = nbytes or len(view)
        data = self._native.recv(n)
        view[:len(data)] = data
        return len(data)

    def settimeout(self, timeout: Optional[float]) -> None:
        """Timeout of later ``recv``/``sendall`` calls, in seconds; ``None``
        waits forever."""
        self._native.settimeout(timeout)
        self._timeout = timeout

    def gettimeout(self) -> Optional[float]:
        return self._timeout

    def makefile(self, mode: str = 'rb', buffering: Optional[int] = None):
        """A file object over the stream (binary modes ``r``, ``w``,
        ``rw``)."""
        if 'b' not in mode:
            mode += 'b'
        readable = 'r' in mode
        writable = 'w' in mode
        raw = _SocketIO(self, readable, writable)
        size = io.DEFAULT_BUFFER_SIZE if buffering is None or buffering < 0 else buffering
        if size == 0:
            return raw
        if readable and writable:
            return io.BufferedRWPair(raw, raw, size)
        if readable:
            return io.BufferedReader(raw, size)
        return io.BufferedWriter(raw, size)

    def close(self) -> None:
        """Closes the stream; the peer reads end of stream."""
        self._native.close()

    @property
    def peer_destination(self) -> bytes:
        """The peer's destination (for an accepted stream, what its SYN
        carried)."""
        return self._native.peer_destination

    @property
    def local_destination(self) -> bytes:
        return self._native.local_destination

    @property
    def local_id(self) -> int:
        return self._native.local_id

    @property
    def remote_id(self) -> Optional[int]:
        return self._native.remote_id

    @property
    def bytes_sent(self) -> int:
        return self._native.bytes_sent

    @property
    def bytes_received(self) -> int:
        return self._native.bytes_received

    def __enter__(self) -> 'Socket':
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        return '<ministream.Socket id=%06x peer=%s>' % (self.local_id, _text(self.peer_destination))


class _SocketIO(io.RawIOBase):
    def __init__(self, sock: Socket, readable: bool, writable: bool):
        super().__init__()
        self._sock = sock
        self._readable = readable
        self._writable = writable

    def readable(self) -> bool:
        return self._readable

    def writable(self) -> bool:
        return self._writable

    def readinto(self, b) -> int:
        return self._sock.recv_into(b)

    def write(self, b) -> int:
        self._sock.sendall(b)
        return len(b)


class ServerSocket(object):
    """Takes incoming streams: :meth:`accept`."""

    def __init__(self, native):
        self._native = native

    def accept(self, timeout: Optional[float] = None) -> Socket:
        """The next incoming stream (its acceptance is sent now). Raises
        :class:`Timeout` when none comes within ``timeout`` seconds."""
        return Socket(self._native.accept(timeout))

    def close(self) -> None:
        """Stops accepting: waiting and later streams are refused."""
        self._native.close()

    def __enter__(self) -> 'ServerSocket':
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class SocketManager(object):
    """A ministreaming endpoint; see the module docs."""

    def __init__(self, native):
        self._native = native

    @classmethod
    def listen(cls, address: str = '127.0.0.1:0', credentials=None, **options) -> 'SocketManager':
        """A manager over TCP listening on ``address``.

        With ``credentials`` (a :class:`msrplib.tls.X509Credentials`, or an
        object with the same ``cert``, ``key``, ``trusted`` and
        ``verify_peer``), every connection is TLS: accepted ones present
        ``cert``/``key`` (required), dialled ones trust the CAs of
        ``trusted`` (or anything with ``verify_peer=False``) and check the
        host part of the destination against the peer's certificate.
        Raises ``ValueError`` for unusable credentials."""
        if credentials is not None:
            from msrplib import tls as _tls
            creds = _tls._as_credentials(credentials)
            options['tls_server'] = creds._server_config()
            options['tls_client'] = creds._client_config()
        return cls(_native.MinistreamManager.listen(address, **options))

    @classmethod
    def in_memory_pair(cls, **options):
        """Two managers in this process that reach each other."""
        a, b = _native.MinistreamManager.in_memory_pair(**options)
        return cls(a), cls(b)

    @property
    def destination(self) -> str:
        """This manager's destination (TCP: the bound ``host:port``)."""
        return _text(self._native.destination)

    def connect(self, destination: Union[str, bytes], timeout: Optional[float] = None) -> Socket:
        """Opens a stream to ``destination`` and waits until the peer accepts
        it (up to ``timeout`` seconds, or the ``connect_timeout`` option)."""
        return Socket(self._native.connect(_dest(destination), timeout))

    def open(self, destination: Union[str, bytes]) -> Socket:
        """Opens a stream without waiting for the peer to accept it: data
        sent now is held and goes out, in order, once it does (a refusal
        shows on the next ``recv``/``sendall``)."""
        return Socket(self._native.open(_dest(destination)))

    def server_socket(self) -> ServerSocket:
        """The server socket: from now on incoming streams wait for
        ``accept()`` instead of being refused."""
        return ServerSocket(self._native.server_socket())

    def ping(self, destination: Union[str, bytes], timeout: float) -> bool:
        """Whether ``destination`` can be reached within ``timeout``
        seconds."""
        return self._native.ping(_dest(destination), timeout)

    def list_sockets(self):
        """Open streams as ``(role, local_id, remote_id, peer_destination,
        phase)`` tuples."""
        return self._native.list_sockets()

    def stats(self) -> dict:
        """Counts of frames received and dropped."""
        return self._native.stats()

    def close(self) -> None:
        """Destroys the manager: closes every stream (each peer gets a
        Close) and connection."""
        self._native.destroy()

    destroy = close

    @property
    def closed(self) -> bool:
        return self._native.destroyed

    def __enter__(self) -> 'SocketManager':
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        return '<ministream.SocketManager %s>' % self.destination
