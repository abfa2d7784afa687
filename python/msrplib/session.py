"""MSRP sessions over a bound transport, as in the legacy ``msrplib.session``.

An :class:`MSRPSession` runs on threads of msgwire's Rust core: a reader
and a writer per connection and a shared timer. The core answers incoming
requests (200, 415 for a refused Content-Type, 481 for foreign paths, 501
for an unknown method, 400 for malformed input), sends the automatic
success REPORT, matches responses, makes up a local 408 (or 200 for
``Failure-Report: partial``) after ``RESPONSE_TIMEOUT`` seconds and sends a
keep-alive every ``KEEPALIVE_INTERVAL`` seconds.

Callbacks (``on_incoming_cb`` and each ``response_cb``) run on one
dispatcher thread per session, one at a time and in the order the session
produced the events (``on_incoming_cb(error=...)`` last). The core's
threads only queue the events; the dispatcher takes whatever is queued and
runs it under a single acquisition of the GIL, so under load many
callbacks share one GIL hand-off. A callback that raises is reported
through :func:`sys.unraisablehook` and the session goes on. Callbacks
should return quickly: while one runs, the session's later callbacks wait,
and once a few thousand events are queued the connection is no longer
read. So they must not call :meth:`MSRPSession.deliver_chunk` or
``shutdown(wait=True)``, which wait for the connection; ``send_chunk`` and
``shutdown(wait=False)`` are fine. :meth:`MSRPSession.shutdown` with
``wait`` returns after the last callback has returned, and no thread of
the session outlives it. At interpreter exit, callbacks of sessions still
running stop (see ``python/README.md``).

``RESPONSE_TIMEOUT`` and ``KEEPALIVE_INTERVAL`` (``None`` or 0: no
keep-alives) are read from the instance when it is constructed, so a
subclass or an instance attribute set before ``__init__`` overrides them.

Differences from the legacy module:

* ``on_incoming_cb(error=...)`` gets a :class:`~msrplib.transport.ConnectionDone`
  or :class:`~msrplib.transport.ConnectionLost` exception (which also has
  the ``value``/``type``/``getErrorMessage()`` of a Twisted ``Failure``).
* ``deliver_chunk`` with ``Failure-Report: no`` returns ``None`` (the
  legacy code raised ``AttributeError``); its ``event`` argument is not
  supported.
* Requests that arrive while shutting down are still answered and
  delivered.
* ``GreenMSRPSession.receive_chunk`` takes an optional ``timeout`` and
  raises ``TimeoutError`` when it passes.
* Traffic logging (``logger.sent_chunk`` / ``logger.received_chunk``, see
  :mod:`msrplib.trafficlog`) covers the chunks that pass through Python:
  those the application sends, the requests it receives and the responses
  to its own requests. What the core sends and consumes by itself (the
  automatic 200 responses and success REPORTs, the bind exchange,
  keep-alives) is not reported. The logger is not
  called at all when it is ``None``, a
  :class:`~msrplib.trafficlog.NullLogger` or a
  :class:`~msrplib.trafficlog.Logger` without ``log_traffic``; a logger
  that raises is ignored.
"""

import queue

from msgwire import _native
from msrplib import MSRPError, protocol
from msrplib.trafficlog import _report, _traffic_logger
from msrplib.transport import ConnectionDone, ConnectionLost, MSRPTransactionError, MSRPTransport

__all__ = ['MSRPSessionError', 'MSRPBadContentType', 'LocalResponse', 'Response200OK', 'Response408Timeout',
           'contains_mime_type', 'MSRPSession', 'GreenMSRPSession']


class MSRPSessionError(MSRPError):
    """The session cannot do what was asked (e.g. it is closed)."""


class MSRPBadContentType(MSRPTransactionError):
    code = 415
    comment = 'Unsupported media type'


class LocalResponse(MSRPTransactionError):
    """A response made up locally: 408 when no response came in time (or
    the connection ended), 200 for requests that did not want a failure
    response."""

    def __repr__(self):
        return '<LocalResponse {} {}>'.format(self.code, getattr(self, 'comment', None))


Response200OK = LocalResponse('OK', 200)
Response408Timeout = LocalResponse('Timed out while waiting for transaction response', 408)


def contains_mime_type(mimetypelist, mimetype):
    """True if ``mimetype`` matches one of ``mimetypelist`` (full types,
    ``type/*`` patterns or ``*``; parameters after ``;`` are ignored)."""
    mimetype = mimetype.lower().partition(';')[0].strip()
    for pattern in mimetypelist:
        pattern = pattern.lower()
        if pattern in ('*', mimetype) or (pattern.endswith('/*') and mimetype.startswith(pattern[:-1])):
            return True
    return False


_plain_make_send_request = MSRPTransport.make_send_request
_build_request = _native.build_request


class MSRPSession(object):
    """A session over a bound :class:`~msrplib.transport.MSRPTransport`.

    ``on_incoming_cb(chunk)`` receives every accepted incoming SEND (already
    answered), REPORT and NICKNAME; ``on_incoming_cb(error=...)`` is called
    once when the connection has ended.
    """

    RESPONSE_TIMEOUT = 30
    SHUTDOWN_TIMEOUT = 1
    KEEPALIVE_INTERVAL = 60

    def __init__(self, msrptransport, accept_types=['*'], on_incoming_cb=None, automatic_reports=True):
        if not callable(on_incoming_cb):
            raise TypeError('on_incoming_cb must be callable: {!r}'.format(on_incoming_cb))
        self.msrp = msrptransport
        self.accept_types = accept_types
        self.automatic_reports = automatic_reports
        self._on_incoming_cb = on_incoming_cb
        self.close_error = None
        keepalive = self.KEEPALIVE_INTERVAL
        self._native = _native.Session.start(
            msrptransport._take_bound(), self._on_event, [str(t) for t in accept_types],
            bool(automatic_reports), float(self.RESPONSE_TIMEOUT),
            float(keepalive) if keepalive else None)

    def __repr__(self):
        return '<{} at {:#x} {} state={}>'.format(type(self).__name__, id(self), self.msrp, self.state)

    @property
    def logger(self):
        """The transport's logger (setting it sets ``self.msrp.logger``)."""
        return self.msrp.logger

    @logger.setter
    def logger(self, logger):
        self.msrp.logger = logger

    @property
    def state(self):
        """``'CONNECTED'``, ``'FLUSHING'``, ``'CLOSING'`` or ``'DONE'``."""
        return self._native.state

    @property
    def connected(self):
        return self.state == 'CONNECTED'

    def _on_event(self, kind, a, b):
        # Called by the dispatcher thread with ('incoming', chunk, None),
        # ('response', chunk, local) for requests sent without a callback,
        # ('protocol_error', message, None), ('keepalive_timeout', None,
        # None) and last ('closed', error message or None, None).
        if kind == 'incoming':
            traffic = _traffic_logger(self.msrp.logger)
            if traffic is not None:
                _report(traffic, 'received_chunk', a, self.msrp)
            self._on_incoming_cb(a)
        elif kind == 'response':
            if not b:
                traffic = _traffic_logger(self.msrp.logger)
                if traffic is not None:
                    _report(traffic, 'received_chunk', a, self.msrp)
        elif kind == 'closed':
            error = ConnectionDone() if a is None else ConnectionLost(a)
            self.close_error = error
            self._on_incoming_cb(error=error)
        # Responses to requests sent without a response_cb, protocol errors
        # (already answered by the core) and keep-alive failures (the
        # connection is then closed and 'closed' follows) need no action.

    def send_chunk(self, chunk, response_cb=None):
        """Queues ``chunk``. ``response_cb``, if given, is called once with the
        response (an ``MSRPData``) or a :class:`LocalResponse` (408, or 200
        for ``Failure-Report: partial``) when none came in time. With
        ``Failure-Report: no`` it is never called. Raises
        :class:`MSRPSessionError` when the session is not connected."""
        if response_cb is not None and not callable(response_cb):
            raise TypeError('response_cb must be callable: {!r}'.format(response_cb))
        callback = response_cb
        traffic = _traffic_logger(self.msrp.logger)
        if traffic is not None and response_cb is not None:
            def callback(outcome):
                if not isinstance(outcome, LocalResponse):
                    _report(traffic, 'received_chunk', outcome, self.msrp)
                response_cb(outcome)
        try:
            self._native.send_chunk(chunk, callback)
        except MSRPSessionError:
            # The native call refuses a session that is not connected; say
            # so the way the legacy library did.
            state = self.state
            if state != 'CONNECTED':
                raise MSRPSessionError('Cannot send chunk because MSRPSession is {}'.format(state)) from None
            raise
        if traffic is not None:
            _report(traffic, 'sent_chunk', chunk, self.msrp)

    def deliver_chunk(self, chunk):
        """Sends ``chunk`` and waits for its response: returns a 2xx response,
        ``None`` at once for ``Failure-Report: no``, and raises
        :class:`~msrplib.transport.MSRPTransactionError` (a
        :class:`LocalResponse` for a local 408) otherwise, or
        :class:`MSRPSessionError` when the session is or gets closed."""
        state = self.state
        if state != 'CONNECTED':
            raise MSRPSessionError('Cannot send chunk because MSRPSession is {}'.format(state))
        traffic = _traffic_logger(self.msrp.logger)
        if traffic is None:
            return self._native.deliver_chunk(chunk)
        # Reported before the call, which returns only with the response.
        _report(traffic, 'sent_chunk', chunk, self.msrp)
        response = self._native.deliver_chunk(chunk)
        if response is None:
            return None
        _report(traffic, 'received_chunk', response, self.msrp)
        return response

    def send_report(self, chunk, code, reason):
        """Sends the REPORT owed for the incoming SEND ``chunk`` processed with
        ``code``, if it asks for one."""
        if chunk.method != 'SEND':
            raise ValueError('reports may only be sent for SEND chunks')
        self._native.send_report(chunk, code, reason)

    def send_response(self, chunk, code, comment):
        """Answers an incoming request (e.g. a NICKNAME) if it wants a response."""
        self._native.send_response(chunk, code, comment)

    def make_message(self, msg, content_type, message_id=None):
        """A SEND carrying ``msg`` (see
        :meth:`~msrplib.transport.MSRPTransport.make_send_request`) with
        ``Content-Type: content_type`` added last."""
        msrp = self.msrp
        if type(content_type) is str and type(msrp).make_send_request is _plain_make_send_request:
            # The same chunk (make_send_request's headers, then
            # Content-Type) from one native call.
            to_path, from_path = msrp._path_values()
            return _build_request(to_path, from_path, 'SEND', msg, 1, None, None, message_id, None, None, 2048,
                                  content_type)
        chunk = msrp.make_send_request(data=msg, message_id=message_id)
        chunk.add_header(protocol.ContentTypeHeader(content_type))
        return chunk

    def send_message(self, msg, content_type):
        chunk = self.make_message(msg, content_type)
        self.send_chunk(chunk)
        return chunk

    def deliver_message(self, msg, content_type):
        chunk = self.make_message(msg, content_type)
        self.deliver_chunk(chunk)
        return chunk

    def shutdown(self, wait=True):
        """Sends what was already queued, waits for outstanding responses (at
        most ``RESPONSE_TIMEOUT``), then closes the connection. With
        ``wait``, returns when done (the GIL is released meanwhile)."""
        self._native.shutdown(bool(wait))


_CLOSED = object()


class GreenMSRPSession(MSRPSession):
    """A session whose incoming chunks are read with :meth:`receive_chunk`."""

    def __init__(self, msrptransport, accept_types=['*']):
        self.incoming = queue.Queue()
        MSRPSession.__init__(self, msrptransport, accept_types, on_incoming_cb=self._incoming_cb)

    def _incoming_cb(self, value=None, error=None):
        if error is not None:
            self.incoming.put((_CLOSED, error))
        else:
            self.incoming.put((None, value))

    def receive_chunk(self, timeout=None):
        """The next incoming chunk. Raises the close error (a
        :class:`~msrplib.transport.ConnectionClosed`) once the connection has
        ended and every chunk was read, and ``TimeoutError`` when
        ``timeout`` seconds pass first."""
        try:
            marker, value = self.incoming.get(timeout=timeout)
        except queue.Empty:
            raise TimeoutError('no chunk within {} seconds'.format(timeout)) from None
        if marker is _CLOSED:
            self.incoming.put((marker, value))
            raise value
        return value
