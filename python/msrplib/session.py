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
* File transfer (:class:`OutgoingFile`, :meth:`MSRPSession.send_file`) is
  done by the core: the file is sent in chunks of at most 64 KiB, read
  only as fast as the peer takes it (a file of any size never sits in
  memory), with chat messages sent meanwhile going out between its chunks.
  ``send_file`` returns the transfer's number; :meth:`MSRPSession.cancel_file`
  and the ``on_progress``/``on_done`` callbacks of :class:`OutgoingFile`
  are extensions.
* Receiving whole messages is an extension (keyword-only arguments of
  :class:`MSRPSession`: ``deliver_whole_messages``, ``max_message_size``,
  ``file_sink``, ``on_message_event``); by default every chunk is
  delivered on its own, as in the legacy library.
* Traffic logging (``logger.sent_chunk`` / ``logger.received_chunk``, see
  :mod:`msrplib.trafficlog`) covers every chunk of the session, including
  what the core sends and consumes by itself (automatic 200 responses and
  success REPORTs, keep-alives, rejections), reported from the core's
  threads, one chunk at a time, with bodies cut at 64 KiB. Whether a
  session logs is decided when it starts: its transport's logger must log
  traffic then (not ``None``, not a
  :class:`~msrplib.trafficlog.NullLogger`, not a
  :class:`~msrplib.trafficlog.Logger` without ``log_traffic``); a session
  that logs reports to whatever ``transport.logger`` is at each chunk. The
  bind exchange happens before the session and is not reported. A logger
  that raises is ignored.
"""

import os
import queue
import stat

from msgwire import _native
from msrplib import MSRPError, protocol
from msrplib.trafficlog import _traffic_logger
from msrplib.transport import ConnectionDone, ConnectionLost, MSRPTransactionError, MSRPTransport

__all__ = ['MSRPSessionError', 'MSRPBadContentType', 'LocalResponse', 'Response200OK', 'Response408Timeout',
           'contains_mime_type', 'OutgoingFile', 'MessageStored', 'MessageAborted', 'MSRPSession',
           'GreenMSRPSession']


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


class OutgoingFile(object):
    """A file to send with :meth:`MSRPSession.send_file`.

    ``fileobj`` is read from its current position, which must be
    ``position`` (bytes of the file already delivered earlier, when
    resuming: the first chunk's Byte-Range then starts at
    ``position + 1``). ``size`` is the size of the whole file. ``headers``
    maps header names to header objects sent with every chunk:
    ``Content-Type`` when ``content_type`` is given, and whatever the
    application adds (e.g. ``Success-Report``, ``Failure-Report``,
    ``Content-Disposition``) before calling ``send_file``. ``message_id``
    is the Message-ID (a random one when ``None``).

    When ``fileobj`` has a working ``fileno()`` and is a regular file, the
    core reads a duplicate of its descriptor with positional reads,
    without the GIL (``fileobj``'s own position is left alone). Otherwise
    it calls ``fileobj.read(n)`` (``n`` at most 16 KiB) with the GIL on a
    thread of the core; ``read`` must return ``bytes`` (``b''`` at the
    end) and should not wait long: the session is locked while it runs, so
    the application's own sends wait for it.

    Extensions (keyword-only): ``on_progress(acknowledged, total)`` is
    called as the peer acknowledges chunks (``acknowledged`` counts
    ``position``); ``on_done(error)`` is called once at the end with
    ``None`` on success, an :class:`~msrplib.transport.MSRPTransactionError`
    ``(comment, code)`` for the peer's failure response (e.g. 413), or a
    :class:`LocalResponse` for a local failure (487 cancelled, 500 the
    file could not be read, 408 no response in time or connection
    closed). Both run on the session's dispatcher thread, in order with
    the other callbacks, and must return quickly.
    """

    def __init__(self, fileobj, size, content_type=None, position=0, message_id=None, *, on_progress=None,
                 on_done=None):
        self.fileobj = fileobj
        self.size = size
        self.position = position
        self.message_id = message_id
        self.headers = {}
        if content_type is not None:
            self.headers['Content-Type'] = protocol.ContentTypeHeader(content_type)
        self.on_progress = on_progress
        self.on_done = on_done
        self._session = None
        self._transfer = None

    def __repr__(self):
        return '<OutgoingFile {!r} size={} position={}>'.format(self.fileobj, self.size, self.position)

    def _on_update(self, kind, a, b, c):
        # Called by the dispatcher thread (see _native.Session.send_message).
        if kind == 'progress':
            if self.on_progress is not None:
                self.on_progress(a, b)
        elif self.on_done is not None:
            if kind == 'completed':
                self.on_done(None)
            else:
                self.on_done(LocalResponse(b, a) if c else MSRPTransactionError(b, a))


class MessageStored(object):
    """``on_message_event`` argument: an incoming message was written
    completely to the file ``file_sink`` returned for it (which was flushed
    and closed). ``head`` is the ``MSRPData`` of its first chunk (headers
    only, ``Byte-Range: 1-N/N``)."""

    def __init__(self, message_id, content_type, size, head):
        self.message_id = message_id
        self.content_type = content_type
        self.size = size
        self.head = head

    def __repr__(self):
        return '<MessageStored {} {} {} bytes>'.format(self.message_id, self.content_type, self.size)


class MessageAborted(object):
    """``on_message_event`` argument: an incomplete incoming message was
    dropped. ``reason``: ``'sender'`` (ended with ``#``, e.g. cancelled),
    ``'too_large'`` (answered 413), ``'storage: <error>'`` (``file_sink``
    or the file failed; answered 413), ``'invalid'``, ``'closed'`` or
    ``'crowded'`` (pushed out: too many incomplete messages at once, or
    those in memory too large together; answered 413)."""

    def __init__(self, message_id, reason):
        self.message_id = message_id
        self.reason = reason

    def __repr__(self):
        return '<MessageAborted {} {}>'.format(self.message_id, self.reason)


def _regular_fd(fileobj):
    """``fileobj``'s descriptor when it is a regular file, else ``None``."""
    try:
        fd = fileobj.fileno()
        return fd if isinstance(fd, int) and stat.S_ISREG(os.fstat(fd).st_mode) else None
    except (AttributeError, OSError, ValueError):
        # io.UnsupportedOperation is both an OSError and a ValueError.
        return None


_plain_make_send_request = MSRPTransport.make_send_request
_build_request = _native.build_request


class MSRPSession(object):
    """A session over a bound :class:`~msrplib.transport.MSRPTransport`.

    ``on_incoming_cb(chunk)`` receives every accepted incoming SEND (already
    answered), REPORT and NICKNAME; ``on_incoming_cb(error=...)`` is called
    once when the connection has ended.

    Extensions (keyword-only):

    * ``deliver_whole_messages``: reassemble incoming SENDs that have a
      Message-ID from their Byte-Ranges (chunks may arrive out of order)
      and deliver each message once, as one ``MSRPData`` with the whole
      body, ``Byte-Range: 1-N/N`` and the headers of its first chunk (the
      shape of a message sent in one chunk). A success REPORT, when asked
      for, is sent once per message. Default ``False``: every chunk on its
      own.
    * ``max_message_size``: with whole messages, the largest accepted (in
      bytes, default 16 MiB); larger ones are answered 413 and dropped.
      It also bounds what the incomplete messages kept in memory hold
      together, and at most 16 are reassembled at once: the oldest gives
      way (``MessageAborted`` reason ``'crowded'``).
    * ``file_sink(message_id, content_type, total)``: with whole messages,
      called for each new incoming message (``total`` is ``None`` when the
      sender does not know it); returns a writable, seekable binary file
      object to store the body in, or ``None`` to keep it in memory (and
      deliver it to ``on_incoming_cb``). An exception refuses the message
      (413). A file object over a regular file (a working ``fileno()``)
      is written natively, without the GIL, through a duplicate of its
      descriptor (positional writes; the object's own position is not
      used). Any other object is written with ``seek``/``write`` calls on
      the core's reader thread, taking the GIL for each slice received (up
      to a few per 64 KiB chunk): that costs GIL hand-offs with the
      application's threads, and reading the connection waits for them.
      The file is flushed and closed when the message is complete (then
      ``on_message_event(MessageStored(...))``), or closed when it is
      dropped (its partial content is left for the application to
      delete).
    * ``on_message_event(event)``: receives :class:`MessageStored` and
      :class:`MessageAborted` (dropped incomplete messages, also those
      reassembled in memory) on the dispatcher thread, in order with
      ``on_incoming_cb``. Without it these events are ignored.
    """

    RESPONSE_TIMEOUT = 30
    SHUTDOWN_TIMEOUT = 1
    KEEPALIVE_INTERVAL = 60
    #: Extension: most bytes of ``send_file`` chunks written and not yet
    #: answered 200; no new chunk starts while that many are. Bounds how
    #: long a chat message waits behind a file sent to a slow receiver, and
    #: limits a transfer to this many bytes per round trip. 0: no limit.
    SEND_WINDOW = 4 * 1024 * 1024

    def __init__(self, msrptransport, accept_types=['*'], on_incoming_cb=None, automatic_reports=True, *,
                 deliver_whole_messages=False, max_message_size=None, file_sink=None, on_message_event=None):
        if not callable(on_incoming_cb):
            raise TypeError('on_incoming_cb must be callable: {!r}'.format(on_incoming_cb))
        for name, value in (('file_sink', file_sink), ('on_message_event', on_message_event)):
            if value is not None and not callable(value):
                raise TypeError('{} must be callable: {!r}'.format(name, value))
        if (file_sink is not None or max_message_size is not None) and not deliver_whole_messages:
            raise ValueError('file_sink and max_message_size need deliver_whole_messages=True')
        self._on_message_event = on_message_event
        self.msrp = msrptransport
        self.accept_types = accept_types
        self.automatic_reports = automatic_reports
        self._on_incoming_cb = on_incoming_cb
        self.close_error = None
        keepalive = self.KEEPALIVE_INTERVAL
        logs = _traffic_logger(msrptransport.logger) is not None
        self._native = _native.Session.start(
            msrptransport._take_bound(), self._on_event, [str(t) for t in accept_types],
            bool(automatic_reports), float(self.RESPONSE_TIMEOUT),
            float(keepalive) if keepalive else None, msrptransport if logs else None,
            bool(deliver_whole_messages), None if max_message_size is None else int(max_message_size), file_sink,
            int(self.SEND_WINDOW))

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
            self._on_incoming_cb(a)
        elif kind == 'closed':
            error = ConnectionDone() if a is None else ConnectionLost(a)
            self.close_error = error
            self._on_incoming_cb(error=error)
        elif kind == 'stored':
            if self._on_message_event is not None:
                message_id, content_type, size = b
                self._on_message_event(MessageStored(message_id, content_type, size, a))
        elif kind == 'aborted':
            if self._on_message_event is not None:
                self._on_message_event(MessageAborted(a, b))
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
        try:
            self._native.send_chunk(chunk, response_cb)
        except MSRPSessionError:
            # The native call refuses a session that is not connected; say
            # so the way the legacy library did.
            state = self.state
            if state != 'CONNECTED':
                raise MSRPSessionError('Cannot send chunk because MSRPSession is {}'.format(state)) from None
            raise

    def deliver_chunk(self, chunk):
        """Sends ``chunk`` and waits for its response: returns a 2xx response,
        ``None`` at once for ``Failure-Report: no``, and raises
        :class:`~msrplib.transport.MSRPTransactionError` (a
        :class:`LocalResponse` for a local 408) otherwise, or
        :class:`MSRPSessionError` when the session is or gets closed."""
        state = self.state
        if state != 'CONNECTED':
            raise MSRPSessionError('Cannot send chunk because MSRPSession is {}'.format(state))
        return self._native.deliver_chunk(chunk)

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

    def send_file(self, outgoing_file):
        """Queues ``outgoing_file`` (an :class:`OutgoingFile`) to be sent in
        chunks and returns at once; several files may be queued (they take
        turns chunk by chunk). Returns the transfer's number (an ``int``;
        the legacy method returned nothing). Progress and the outcome go to
        the file's ``on_progress`` and ``on_done``. :meth:`shutdown` waits
        for files in progress. Raises :class:`MSRPSessionError` when the
        session is not connected, ``ValueError`` for a file that cannot be
        sent as given (e.g. a reserved header such as Byte-Range in
        ``headers``, ``position`` past ``size``)."""
        if not isinstance(outgoing_file, OutgoingFile):
            raise TypeError('send_file needs an OutgoingFile: {!r}'.format(outgoing_file))
        if outgoing_file._transfer is not None:
            raise ValueError('this OutgoingFile was already sent')
        state = self.state
        if state != 'CONNECTED':
            raise MSRPSessionError('Cannot send file because MSRPSession is {}'.format(state))
        fileobj = outgoing_file.fileobj
        fd = _regular_fd(fileobj)
        offset = fileobj.tell() if fd is not None else 0
        headers = [(str(name), header.encoded) for name, header in outgoing_file.headers.items()]
        size = outgoing_file.size
        try:
            number = self._native.send_message(
                fileobj, None if size is None else int(size), headers, outgoing_file.message_id,
                int(outgoing_file.position), fd, offset, outgoing_file._on_update)
        except OSError as exc:
            if isinstance(exc.args[-1], str) and exc.args[-1].startswith('invalid message'):
                raise ValueError(exc.args[-1]) from None
            raise
        outgoing_file._session = self
        outgoing_file._transfer = number
        return number

    def cancel_file(self, outgoing_file):
        """Stops sending ``outgoing_file`` (an extension): a chunk of it being
        written is ended with ``#`` (the receiver drops what it has), and
        its ``on_done`` gets a :class:`LocalResponse` with code 487.
        Returns ``False`` when it was not sent by this session or already
        ended."""
        if outgoing_file._session is not self:
            return False
        return self._native.cancel_transfer(outgoing_file._transfer)

    def shutdown(self, wait=True):
        """Sends what was already queued, waits for outstanding responses (at
        most ``RESPONSE_TIMEOUT``), then closes the connection. With
        ``wait``, returns when done (the GIL is released meanwhile)."""
        self._native.shutdown(bool(wait))


_CLOSED = object()


class GreenMSRPSession(MSRPSession):
    """A session whose incoming chunks are read with :meth:`receive_chunk`."""

    def __init__(self, msrptransport, accept_types=['*'], **options):
        # options: the keyword-only extensions of MSRPSession.
        self.incoming = queue.Queue()
        MSRPSession.__init__(self, msrptransport, accept_types, on_incoming_cb=self._incoming_cb, **options)

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
