"""An STS/1.0 connection (python-sts's ``sts.inetsocket``).

``Socket(sock)`` takes over a connected TCP socket object: the msgwire
core's reader and writer threads run the connection (on a duplicate of the
socket's descriptor, so ``sock`` itself stays open and usable after
``detach_socket``). Requests return python-sts's shapes:

* ``request_many(protocol, command, headers=False, body=False,
  timeout=None)`` -> an iterator of ``(Error, (headers, body))`` or
  ``(Error, None)`` items, one per reply (partial replies first, then the
  final one); ``headers`` is a dict as ``inetmsg.read_message`` makes it;
* ``request_one(...)`` -> one ``(Error, msg)`` item;
* ``request_none(...)`` -> an ``Error``;
* ``send(protocol, command, headers=False, body=False)`` -> ``None``
  (a notification, no reply);
* ``read(timeout=None)`` -> ``(protocol, command, headers, body)`` of the
  next request or notification the server sent on its own, or ``None``.

Results: success is ``Error(SUCCESS, ...)``. An error reply (status 400 or
above) gives its parsed ``<Error/>`` body and ``None``. No final reply in
time gives ``(Error(TIMEOUT, 0, 0, line, ''), None)``; replies out of
sequence, a broken fragmented reply, an unreadable error body or the
connection ending give ``(Error(BAD_SERVER_DATA, ...), None)``; each of
these ends the iteration.

Knobs: the module attribute ``AUTO_PING_SECONDS`` (5.0) is read when a
``Socket`` is created (and at each ``attach_socket``): a ping
(``P /Sts/Ping STS/1.0``, ``l: 1``, body LF) goes out after that many
seconds without sending; 0 or ``None`` turns pings off. ``timeout=None``
means the core's default of 30 seconds (the spec's "generally after 30
seconds"), not "forever"; the timeout is the time allowed for each next
reply, as in python-sts.

Bodies are ``bytes``; ``str`` is accepted and sent as UTF-8. A body whose
content type is XML (the default) goes out ending in one LF (added unless
it already ends with one).

Differences from python-sts (where it was wrong or the spec says
otherwise):

* ``read()`` returns incoming requests and notifications (python-sts's
  could never return one; its reader dropped them). Pings are not
  returned.
* A late reply (after its request's final reply, timeout or cancellation)
  is dropped silently, as the spec requires; python-sts queued it for
  ``read()``.
* ``request_one`` answered with a partial reply returns
  ``(Error(BAD_SERVER_DATA, ..., 'request_one, multi-part response'),
  None)`` and the request's later replies are dropped; python-sts
  returned the first partial as a success.
* ``request_many`` stops after the final reply (python-sts waited once
  more after a fragmented one, ending in a timeout); fragments may arrive
  in any order. A reply body that is empty or only whitespace counts as
  no body: the item is ``(Error, None)``, and ``request_none`` accepts it.
* ``request_none`` always returns an ``Error`` (python-sts returned a
  tuple when the reply had a body); that case is
  ``Error(BAD_SERVER_DATA, ..., 'request_none, message response')``.
* A request is sent when ``request_many`` is called, not at the first
  ``next()``; dropping the iterator before its end cancels the request.
* Caller header dicts are not modified (python-sts added ``l`` and ``s``
  to them). A caller ``Subject`` is replaced by the transaction id;
  ``Content-Length`` is always computed.
* Transaction ids restart at 1 on each ``attach_socket`` and wrap after
  2**32 (skipping 0); python-sts counted up per ``Socket`` without limit.
* ``detach_socket`` returns in about 50 ms (python-sts took up to 5 s)
  and does not change the socket's timeout (python-sts set it to 5 s).
  Requests in flight end with ``BAD_SERVER_DATA``.
* A body over 64 KiB goes out as fragments (``Content-Range``); messages
  over the spec's limits from the peer close the connection.
* ``close()`` is added (python-sts had no way to close except
  ``detach_socket``): it sends what is queued, half-closes and waits (at
  most 5 s) for the peer to close its side.
"""

import os

from msgwire import _native
from sts.ineterr import BAD_SERVER_DATA, SUCCESS, TIMEOUT, Error, err
from sts.inetheaders import Header
from sts.inetmsg import _headers_dict

__all__ = ['AUTO_PING_SECONDS', 'Socket']

AUTO_PING_SECONDS = 5.0


_SUCCESS = err(SUCCESS)


def _fail(kind, payload):
    # The result item of every outcome but a reply (see
    # msgwire._native.StsLegacyShapes).
    if kind == 'error':
        return (Error(*payload), None)
    if kind == 'timeout':
        return (err(TIMEOUT), None)
    return (err(BAD_SERVER_DATA, '_request, ' + str(payload)), None)


# Replies become python-sts's items natively: header keys are
# inetheaders.Header objects (one per name), as read_message makes them.
_SHAPES = _native.StsLegacyShapes(Header, _SUCCESS, _fail)


class Socket(object):
    """An STS connection over a connected socket; see the module docs."""

    def __init__(self, socket):
        self._client = None
        self._socket = None
        self.attach_socket(socket)

    # -- socket ownership -------------------------------------------------

    def attach_socket(self, socket):
        """Starts running the connection over ``socket``."""
        assert self._socket is None, 'Invalid Socket State'
        fd = os.dup(socket.fileno())
        try:
            ping = AUTO_PING_SECONDS
            self._client = _native.StsClient(fd, ping_interval=float(ping) if ping else None,
                                             shapes=_SHAPES)
        except BaseException:
            os.close(fd)
            raise
        self._socket = socket

    def detach_socket(self):
        """Stops the connection's threads and returns the socket object
        (open, with its own timeout setting restored)."""
        assert self._socket is not None, 'Invalid Socket State'
        socket, client = self._socket, self._client
        self._socket = None
        try:
            fd = client.detach()
        except RuntimeError:
            fd = None  # already closed
        if fd is not None:
            os.close(fd)
        # The duplicate shared the blocking mode; restore the object's own.
        try:
            socket.settimeout(socket.gettimeout())
        except OSError:
            pass
        return socket

    def is_closed(self):
        """Whether the connection ended or the socket was detached."""
        return self._socket is None or self._client.is_closed()

    def close(self):
        """Sends what is queued and closes the connection (the socket
        object given to the constructor is left to its owner)."""
        if self._client is not None:
            self._client.close()

    # -- sending ----------------------------------------------------------

    def _native_client(self):
        if self._socket is None:
            raise RuntimeError('no socket attached')
        return self._client

    def send(self, protocol, command, headers=False, body=False):
        """Sends the notification ``P /protocol/command`` (no reply)."""
        self._native_client().send(str(protocol), str(command), headers, body)

    def request_many(self, protocol, command, headers=False, body=False, timeout=None):
        """Sends a request; returns an iterator over its replies."""
        if self._socket is None:
            return _NotSent('no socket attached')
        return self._client.request_legacy(protocol, command, headers, body, timeout)

    def request_one(self, protocol, command, headers=False, body=False, timeout=None):
        """Sends a request expecting one reply; returns ``(Error, msg)``."""
        replies = self.request_many(protocol, command, headers, body, timeout)
        item = next(replies, None)
        if item is None:
            return (err(BAD_SERVER_DATA, 'request_one, no reply'), None)
        if not replies.finished:
            replies.cancel()
            return (err(BAD_SERVER_DATA, 'request_one, multi-part response'), None)
        error, msg = item
        if error.code == SUCCESS and msg is None:
            return (err(BAD_SERVER_DATA, 'request_one, reply not message'), None)
        return item

    def request_none(self, protocol, command, headers=False, body=False, timeout=None):
        """Sends a request expecting an answer without content; returns
        an ``Error``."""
        replies = self.request_many(protocol, command, headers, body, timeout)
        item = next(replies, None)
        if item is None:
            return err(BAD_SERVER_DATA, 'request_none, no reply')
        if not replies.finished:
            replies.cancel()
            return err(BAD_SERVER_DATA, 'request_none, multi-part response')
        error, msg = item
        if error.code == SUCCESS and msg is not None:
            return err(BAD_SERVER_DATA, 'request_none, message response')
        return error

    # -- receiving --------------------------------------------------------

    def read(self, timeout=None):
        """The next request or notification from the peer as
        ``(protocol, command, headers, body)``; ``None`` after ``timeout``
        seconds (``None``: wait until one comes or the connection ends)."""
        client = self._native_client()
        while True:
            got = client.read(timeout)
            if got is None:
                return None
            _method, uri, pairs, body, _responder = got
            parts = uri.split('/')
            if len(parts) != 3:
                continue  # not /Protocol/Command, as python-sts skipped it
            return (parts[1], parts[2], _headers_dict(pairs), body)


class _NotSent(object):
    """The replies of a request that was not sent: one failed item."""

    def __init__(self, why):
        self._why = why
        self.finished = False

    def __iter__(self):
        return self

    def __next__(self):
        if self.finished:
            raise StopIteration
        self.finished = True
        return _fail('failed', self._why)

    next = __next__

    def cancel(self):
        self.finished = True

    close = cancel
