"""STS/1.0 messages (python-sts's ``sts.inetmsg``).

``read_message(fp)`` reads one message from a file-like object with
``readline()`` and ``read(n)`` (``socket.makefile('rb')``, ``io.BytesIO``)
and returns ``(start_line, headers, body)``:

* ``start_line`` is a ``RequestLine(method, uri)`` or a
  ``StatusLine(code, reason)`` (``code`` an ``int``);
* ``headers`` is a ``dict`` keyed by ``inetheaders.Header``: headers that
  have a compact form are keyed by it (``Content-Length`` and ``l`` both
  give the key ``l``), others by the lower-case name. Values are ``str``;
  the last occurrence of a single-value header wins;
* ``body`` is ``bytes``, exactly ``Content-Length`` bytes (empty without
  one).

``build_message(start_line, headers, body)`` returns the wire form as
``bytes`` in python-sts's format: each header written as
``str(name): value`` (a list value joined with ``','``), no
``Content-Length`` added, no XML LF added, the body verbatim.

Every check is the core parser's, and every malformed input raises
``ParseError`` (a subclass of ``ValueError`` as well, since python-sts
raised a bare ``ValueError`` for some of them). Differences from
python-sts:

* Reason phrases may contain spaces (``STS/1.0 404 Not Found``) or be
  absent; a blank line ending in a bare LF ends the headers; blank lines
  before a start line are skipped.
* The spec's limits are enforced: a header section over 32 KiB or a body
  over 64 KiB raises ``ParseError``, and so do a negative or non-numeric
  ``Content-Length`` (python-sts read to EOF or raised ``ValueError``), a
  header line without a colon, a status code that is not three digits, a
  start line that is not UTF-8, and EOF before the end of the message
  (python-sts returned a short body). After a ``ParseError`` the stream's
  position is undefined.
* Multi-value headers (``MULTI_HEADERS``: Accept, Via, ...) are **kept**,
  as a list of their comma-separated items over all occurrences;
  python-sts dropped them from the result.
* ``build_message`` raises ``ValueError`` for a message that cannot be put
  on the wire unambiguously (CR or LF in a value, a space in the method or
  URI, a header name with a colon or a space) instead of writing it.
  ``str`` bodies and values are encoded as UTF-8.
"""

import collections

from msgwire import _native
from sts.inetheaders import Header

__all__ = ['PROTOCOL_VERSION', 'ParseError', 'RequestLine', 'StatusLine',
           'read_message', 'build_message']

PROTOCOL_VERSION = 'STS/1.0'


class ParseError(ValueError):
    """The input is not a valid STS/1.0 message."""


RequestLine = collections.namedtuple('RequestLine', 'method uri')
StatusLine = collections.namedtuple('StatusLine', 'code reason')


def _start_line(start):
    first, second = start
    if isinstance(first, int):
        return StatusLine(first, second)
    return RequestLine(first, second)


_KEYS = {}


def _key(name):
    # Header objects for the canonical names seen so far (a handful).
    key = _KEYS.get(name)
    if key is None:
        key = Header(name)
        if len(_KEYS) < 1024:
            _KEYS[name] = key
    return key


def _headers_dict(pairs):
    """The header dictionary of parsed ``(name, value)`` pairs."""
    return {_key(name): value for name, value in _native.sts_header_items(pairs)}


def read_message(fp):
    """Reads one message from ``fp``; see the module docs."""
    parser = _native.StsParser()
    budget = parser.max_header_bytes + 1
    while True:
        remaining = parser.body_remaining
        if remaining:
            data = fp.read(remaining)
        else:
            # One line at a time, never past the header limit (a longer
            # line is refused by the parser without reading it all).
            data = fp.readline(budget)
        if not data:
            raise ParseError('unexpected end of input')
        if isinstance(data, str):
            data = data.encode('utf-8')
        parser.feed(data)
        try:
            message = parser.next()
        except ValueError as e:
            raise ParseError(str(e)) from None
        if message is not None:
            start, pairs, body = message
            return _start_line(start), _headers_dict(pairs), body


def _start_parts(start_line):
    if isinstance(start_line, StatusLine):
        return (int(start_line.code), str(start_line.reason))
    if isinstance(start_line, RequestLine):
        return (str(start_line.method), str(start_line.uri))
    raise TypeError('start_line must be a StatusLine or RequestLine')


def build_message(start_line, headers, body):
    """The message as ``bytes``; see the module docs."""
    return _native.sts_encode(_start_parts(start_line), headers, body, names='as_given',
                              content_length=False, xml_lf=False)
