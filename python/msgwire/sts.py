"""STS/1.0 servers and clients on the msgwire core.

Server::

    from msgwire.sts import StsServer

    server = StsServer(port=0)               # 127.0.0.1, any free port

    @server.route('Chat', 'Send')
    def send(request):                       # runs on the connection's thread
        request.responder.partial(b'<Item n="1"/>')
        request.responder.reply(b'<Done/>')

    server.broadcast('Chat', 'Notice', b'<Hi/>')     # to every client
    server.shutdown()

Handlers get a :class:`Request` (the native ``StsRequest``: ``protocol``,
``command``, ``method``, ``uri``, ``headers`` as ``(name, value)`` pairs in
wire order, ``body`` bytes, ``client_id``, ``responder``; use
:func:`headers_dict` for python-sts's dictionary). They run on the connection's
reader thread with the GIL and should return quickly: keep
``request.responder`` and answer from another thread when the work takes
time. ``responder`` is ``None`` for a notification (no transaction id).
A handler that raises is reported through ``sys.unraisablehook`` and its
unanswered request gets a 500 error reply; a request for a command
without a route gets a 404 error reply.

Responder (native ``StsResponder``): ``partial(body=b'', headers=[])``,
``reply(body=b'', headers=[], status=200, reason='OK')``,
``error(code, text='', *, server=0, module=0, line=0, status=400,
reason='Error')``, ``answered``, ``id``. Headers are a dict or
``(name, value)`` pairs (list values joined with ``,``); bodies ``bytes``
or ``str`` (UTF-8). An XML body (no Content-Type, or application/xml) goes
out ending in LF.

Client: :func:`connect` gives a :class:`Client`; ``sts.inetsocket.Socket``
is the legacy API over the same core.
"""

import os as _os
import socket as _socket
from typing import Callable, NamedTuple, Optional, Tuple

from msgwire import _native
from sts.ineterr import BAD_SERVER_DATA, TIMEOUT, Error
from sts.inetmsg import _headers_dict as headers_dict

__all__ = ['StsServer', 'Request', 'Responder', 'Client', 'Reply', 'Message',
           'StsRequestError', 'connect', 'headers_dict']

#: What a handler receives (native class).
Request = _native.StsRequest
#: How a request is answered (native class).
Responder = _native.StsResponder


class StsServer(object):
    """A listening STS server; see the module docs.

    ``idle_timeout``: seconds of silence after which a connection is
    dropped (default 30, six missed client pings; ``None``: never).
    """

    def __init__(self, host='127.0.0.1', port=0, idle_timeout=30.0, request_timeout=None):
        self._native = _native.StsServer(host, port, idle_timeout, request_timeout)

    @property
    def port(self) -> int:
        return self._native.port

    @property
    def address(self) -> Tuple[str, int]:
        return self._native.address

    def route(self, protocol, command, handler: Optional[Callable] = None):
        """Registers ``handler(request)`` for ``/protocol/command``; without
        ``handler``, a decorator."""
        if handler is None:
            def decorate(fn):
                self._native.route(protocol, command, fn)
                return fn
            return decorate
        self._native.route(protocol, command, handler)
        return handler

    def fallback(self, handler):
        """Registers ``handler(request)`` for every unrouted command."""
        self._native.fallback(handler)
        return handler

    def clients(self):
        """``[(client_id, (host, port))]`` of the connected clients."""
        return self._native.clients()

    def broadcast(self, protocol, command, body=b'', headers=None, to=None) -> int:
        """Sends one notification to the clients ``to`` (ids; all when
        ``None``), encoded once; returns how many took it."""
        return self._native.broadcast(protocol, command, headers, body,
                                      None if to is None else list(to))

    def send(self, client_id, protocol, command, body=b'', headers=None) -> bool:
        """Sends one notification to one client."""
        return self._native.send(client_id, protocol, command, headers, body)

    def disconnect(self, client_id) -> bool:
        """Closes one client's connection."""
        return self._native.disconnect(client_id)

    def shutdown(self):
        """Stops listening and closes every connection."""
        self._native.shutdown()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.shutdown()


class Reply(NamedTuple):
    """One reply: ``status``, ``headers`` (dict), ``body``, ``is_final``."""

    status: int
    headers: dict
    body: bytes
    is_final: bool


class Message(NamedTuple):
    """A request or notification the server sent to a :class:`Client`."""

    protocol: Optional[str]
    command: Optional[str]
    headers: dict
    body: bytes
    responder: Optional[Responder]


class StsRequestError(Exception):
    """A request ended without a final reply: ``error`` is the
    ``sts.ineterr.Error`` (code ``TIMEOUT`` 42, ``BAD_SERVER_DATA`` 4, or
    the error reply's code); ``status`` the error reply's status, if any."""

    def __init__(self, error, status=None):
        super().__init__(error.text or 'error {}'.format(error.code))
        self.error = error
        self.status = status


class Client(object):
    """A thin STS client over a connected socket (which stays the
    caller's; the client works on a duplicate of its descriptor).
    ``sts.inetsocket.Socket`` is the legacy API over the same core."""

    def __init__(self, sock, ping_interval=5.0, request_timeout=None):
        fd = _os.dup(sock.fileno())
        try:
            self._native = _native.StsClient(fd, ping_interval, request_timeout)
        except BaseException:
            _os.close(fd)
            raise
        self._socket = sock

    def send(self, protocol, command, body=b'', headers=None):
        """Sends a notification."""
        self._native.send(protocol, command, headers, body)

    def request(self, protocol, command, body=b'', headers=None, timeout=None):
        """Sends a request; yields each :class:`Reply`, raising
        :class:`StsRequestError` when it ends otherwise."""
        return self._iterate(self._native.request_many(protocol, command, headers, body, timeout))

    @staticmethod
    def _iterate(replies):
        for item in replies:
            kind = item[0]
            if kind == 'reply':
                yield Reply(item[1], headers_dict(item[2]), item[3], item[4])
            elif kind == 'error':
                raise StsRequestError(Error(*item[2]), item[1])
            elif kind == 'timeout':
                raise StsRequestError(Error(TIMEOUT, 0, 0, 0, 'timeout'))
            else:
                raise StsRequestError(Error(BAD_SERVER_DATA, 0, 0, 0, str(item[1])))

    def request_one(self, protocol, command, body=b'', headers=None, timeout=None) -> Reply:
        """Sends a request expecting one final reply and returns it."""
        replies = self._native.request_many(protocol, command, headers, body, timeout)
        reply = next(self._iterate(replies))
        if not reply.is_final:
            replies.cancel()
            raise StsRequestError(Error(BAD_SERVER_DATA, 0, 0, 0, 'multi-part response'))
        return reply

    def read(self, timeout=None) -> Optional[Message]:
        """The next request or notification the server sent on its own;
        ``None`` after ``timeout`` seconds or when the connection ended."""
        got = self._native.read(timeout)
        if got is None:
            return None
        _method, uri, pairs, body, responder = got
        parts = uri.split('/')
        protocol, command = (parts[1], parts[2]) if len(parts) == 3 else (None, None)
        return Message(protocol, command, headers_dict(pairs), body, responder)

    def is_closed(self) -> bool:
        return self._native.is_closed()

    def close(self):
        """Closes the connection and the socket."""
        self._native.close()
        self._socket.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def connect(address, ping_interval=5.0, request_timeout=None, timeout=10.0) -> Client:
    """Connects to ``address`` (``(host, port)``) and returns a :class:`Client`."""
    sock = _socket.create_connection(address, timeout=timeout)
    sock.settimeout(None)
    return Client(sock, ping_interval, request_timeout)
