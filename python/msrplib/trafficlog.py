"""The logger object of the legacy ``msrplib.trafficlog``, on Python ``logging``.

A :class:`Logger` is what connectors, transports and sessions take as
their ``logger`` argument. It has two kinds of methods:

* the level methods ``debug``, ``info``, ``warning`` (alias ``warn``),
  ``error``, ``exception``, ``critical`` (alias ``fatal``) and ``log``,
  which take ``logging``-style ``message, *args`` and write to the
  ``logging`` logger named ``'msrplib'`` (``Logger.logger``), with
  ``prefix`` put in front of every message;
* the traffic methods, which write what went over the wire at ``INFO``
  level, only when ``log_traffic`` is true: ``received_chunk`` and
  ``sent_chunk`` (a whole chunk, as the python3 library reports them),
  ``received_illegal_data``, and the finer-grained ``received_new_chunk``,
  ``received_chunk_data``, ``received_chunk_end``, ``sent_new_chunk``,
  ``sent_chunk_data`` and ``sent_chunk_end`` of the older library.

Traffic methods never raise: a chunk that cannot be written out is logged
as its ``repr``. (The python3 library raised ``TypeError`` for every sent
chunk, joining ``str`` headers to a ``bytes`` body.)

:class:`NullLogger` has the same methods and does nothing; ``None`` is
accepted wherever a logger is (see :mod:`msrplib.transport`).

Where the output goes is up to the application's ``logging`` setup. As
long as the application has configured none at all (no handler on the
root logger or on ``'msrplib'``, no level set on ``'msrplib'``), ``INFO``
and above are written to standard error as ``LEVEL    [msrplib] message``,
which is what the legacy library's logging package did on import; once the
application configures ``logging``, its levels and handlers alone decide.
"""

import datetime
import logging
import sys

__all__ = ['Logger', 'NullLogger']


class _UnconfiguredHandler(logging.Handler):
    """Writes to the current ``sys.stderr``, and only while the application
    has set up no logging of its own."""

    def __init__(self):
        logging.Handler.__init__(self)
        self.setFormatter(logging.Formatter('%(levelname)-8s [%(name)s] %(message)s'))

    def emit(self, record):
        if _configured(logging.getLogger(record.name)):
            return
        try:
            stream = sys.stderr
            if stream is not None:
                stream.write(self.format(record) + '\n')
                stream.flush()
        except Exception:
            self.handleError(record)


_fallback = _UnconfiguredHandler()
_msrplib_logger = logging.getLogger('msrplib')
if not any(isinstance(h, _UnconfiguredHandler) for h in _msrplib_logger.handlers):
    _msrplib_logger.addHandler(_fallback)


def _configured(logger):
    """True once the application has a handler of its own on ``logger``'s
    chain (pytest's ``caplog`` counts)."""
    while logger is not None:
        if any(not isinstance(h, _UnconfiguredHandler) for h in logger.handlers):
            return True
        if not logger.propagate:
            return False
        logger = logger.parent
    return False


def _text(value):
    if value is None:
        return ''
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value).decode('utf-8', 'replace')
    return str(value)


def _address(value):
    """``host:port`` from a Twisted-style address (``.host``/``.port``), a
    ``(host, port)`` tuple or a URI; ``?`` when unknown."""
    if value is None:
        return '?'
    host = getattr(value, 'host', None)
    if host is not None:
        return '{}:{}'.format(host, getattr(value, 'port', '?'))
    if isinstance(value, tuple) and len(value) >= 2:
        return '{}:{}'.format(value[0], value[1])
    return str(value)


def _endpoints(transport):
    """``(local, remote)`` of a transport as ``host:port`` text."""
    if transport is None:
        return '?', '?'
    local = remote = None
    try:
        get_host = getattr(transport, 'getHost', None)
        local = get_host() if get_host is not None else getattr(transport, 'local_uri', None)
    except Exception:
        pass
    try:
        get_peer = getattr(transport, 'getPeer', None)
        remote = get_peer() if get_peer is not None else getattr(transport, 'remote_uri', None)
    except Exception:
        pass
    return _address(local), _address(remote)


def _chunk_text(chunk):
    """A chunk as it goes over the wire, as ``str`` (the body decoded as
    UTF-8 with replacement)."""
    try:
        header = getattr(chunk, 'chunk_header', None)
        if header is None:
            header = chunk.encoded_header
        footer = getattr(chunk, 'chunk_footer', None)
        if footer is None:
            footer = chunk.encoded_footer
        return _text(header) + _text(chunk.data) + _text(footer)
    except Exception:
        return repr(chunk)


class Logger(object):
    """Logs library messages and, with ``log_traffic``, chunks, through the
    ``logging`` logger ``'msrplib'``.

    ``prefix`` is put in front of every message (e.g. a session label).
    ``log_traffic`` may be changed at any time.
    """

    logger = logging.getLogger('msrplib')

    def __init__(self, prefix=None, log_traffic=False):
        self.prefix = prefix or ''
        self.log_traffic = log_traffic

    def __repr__(self):
        return '<{} prefix={!r} log_traffic={!r}>'.format(type(self).__name__, self.prefix, self.log_traffic)

    def apply_context(self, message):
        """``message`` with the prefix in front (an empty message stays empty)."""
        if message == '':
            return ''
        return '{}{}'.format(self.prefix, message)

    # --- level methods ------------------------------------------------------

    def _log(self, level, message, args, kw):
        logger = self.logger
        message = self.apply_context(message)
        if logger.isEnabledFor(level):
            kw.setdefault('stacklevel', 3)
            logger.log(level, message, *args, **kw)
        elif (level >= logging.INFO and logger.level == logging.NOTSET and not logger.disabled
              and logger.manager.disable < level and not _configured(logger)):
            # No logging set up at all (no handler, no level for 'msrplib',
            # no logging.disable): INFO is shown, as with the legacy library.
            exc_info = kw.get('exc_info')
            if exc_info and not isinstance(exc_info, tuple):
                exc_info = sys.exc_info() if not isinstance(exc_info, BaseException) else \
                    (type(exc_info), exc_info, exc_info.__traceback__)
            record = logger.makeRecord(logger.name, level, '(msrplib)', 0, message, args,
                                       exc_info or None, extra=kw.get('extra'))
            logger.handle(record)

    def debug(self, message, *args, **kw):
        self._log(logging.DEBUG, message, args, kw)

    def info(self, message, *args, **kw):
        self._log(logging.INFO, message, args, kw)

    def warning(self, message, *args, **kw):
        self._log(logging.WARNING, message, args, kw)

    warn = warning

    def error(self, message, *args, **kw):
        self._log(logging.ERROR, message, args, kw)

    def exception(self, message='', *args, **kw):
        """An error with the current exception's traceback (or ``exc_info``)."""
        kw['exc_info'] = kw.get('exc_info') or True
        self._log(logging.ERROR, message, args, kw)

    def critical(self, message, *args, **kw):
        self._log(logging.CRITICAL, message, args, kw)

    fatal = critical

    def log(self, level, message, *args, **kw):
        self._log(level, message, args, kw)

    # --- traffic --------------------------------------------------------------

    def _traffic(self, transport, arrow, text, tag=''):
        local, remote = _endpoints(transport)
        self.info('%s%s %s %s %s\n\n%s', tag, datetime.datetime.now(), local, arrow, remote, text)

    def received_chunk(self, data, transport):
        """A whole chunk was received."""
        if self.log_traffic:
            self._traffic(transport, '<--', _chunk_text(data))

    def sent_chunk(self, data, transport):
        """A whole chunk was sent."""
        if self.log_traffic:
            self._traffic(transport, '-->', _chunk_text(data))

    def received_illegal_data(self, data, transport):
        """Input that is not MSRP was received (and dropped)."""
        if self.log_traffic:
            self._traffic(transport, '<--', _text(data), '[Bad Message] ')

    def received_new_chunk(self, data, transport, chunk):
        """The start line and headers of ``chunk`` were received (``data``)."""
        if self.log_traffic:
            self._traffic(transport, '<--', _text(data))

    def received_chunk_data(self, data, transport, transaction_id):
        """Body bytes of the chunk ``transaction_id`` were received."""
        if self.log_traffic:
            self._traffic(transport, '<--', _text(data))

    def received_chunk_end(self, data, transport, transaction_id):
        """The end-line of the chunk ``transaction_id`` was received."""
        if self.log_traffic:
            self._traffic(transport, '<--', _text(data))

    def sent_new_chunk(self, data, transport, chunk):
        """The start line and headers of ``chunk`` were sent (``data``)."""
        if self.log_traffic:
            self._traffic(transport, '-->', _text(data))

    def sent_chunk_data(self, data, transport, transaction_id):
        """Body bytes of the chunk ``transaction_id`` were sent."""
        if self.log_traffic:
            self._traffic(transport, '-->', _text(data))

    def sent_chunk_end(self, data, transport, transaction_id):
        """The end-line of the chunk ``transaction_id`` was sent."""
        if self.log_traffic:
            self._traffic(transport, '-->', _text(data))


class NullLogger(Logger):
    """A logger that writes nothing (the library's own default)."""

    log_traffic = False

    def __init__(self, prefix=None, log_traffic=False):
        Logger.__init__(self, prefix, False)

    def _log(self, level, message, args, kw):
        pass

    def _traffic(self, transport, arrow, text, tag=''):
        pass


def _traffic_logger(logger):
    """``logger`` if chunks should be reported to it, else ``None`` (cheap
    enough to call for every chunk)."""
    if logger is None or isinstance(logger, NullLogger):
        return None
    if isinstance(logger, Logger) and not logger.log_traffic:
        return None
    return logger


def _report(logger, method, chunk, transport):
    """Calls ``logger.<method>(chunk, transport)``; a logger that fails is
    noted on the ``'msrplib'`` logger and never breaks sending or receiving."""
    hook = getattr(logger, method, None)
    if hook is None:
        return
    try:
        hook(chunk, transport)
    except Exception:
        _msrplib_logger.debug('traffic logger %r failed in %s', logger, method, exc_info=True)


def _report_transport(transport, method, chunk):
    """Reports ``chunk`` to ``transport.logger`` as it is now (the core's
    traffic bridge calls this for every chunk of a session that logs)."""
    logger = _traffic_logger(getattr(transport, 'logger', None))
    if logger is not None:
        _report(logger, method, chunk, transport)
