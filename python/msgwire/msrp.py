"""The MSRP wire layer: chunks in, bytes out, and back.

Chunks are :class:`msrplib.protocol.MSRPData` objects, so everything here
works with code written for the legacy ``msrplib``.

One-shot parsing::

    chunk = parse_chunk(wire_bytes)          # MSRPData, or ChunkParsingError
    assert chunk.encode() == wire_bytes      # for well-formed input

Streaming (a connection's bytes in slices of any size, one byte at a time
included)::

    parser = Parser()
    parser.feed(received)
    for event in parser:
        if isinstance(event, ChunkStart):   # event.kind == 'start'
            chunk = event.chunk             # headers, no data yet
        elif isinstance(event, ChunkData):  # event.kind == 'data'
            body.append(event.data)         # a slice of the body, as it arrives
        else:                               # ChunkEnd, event.kind == 'end'
            flag = event.contflag           # '$', '+' or '#'

The parser never buffers a body: ``ChunkData`` events hand out slices as
they arrive, so a multi-gigabyte body streams in constant memory.

A protocol violation raises :class:`ChunkParsingError` (a
:class:`msrplib.protocol.ParsingError`) from the iteration. Its
``transaction_id`` is set when the bad chunk's start line had been read (the
request deserves a 400 response). The parser has already recovered: iterate
again to get the events after the bad part.
"""

from typing import NamedTuple, Optional, Union

from msgwire import _native
from msrplib.protocol import ChunkParsingError, HeaderParsingError, MSRPData, ParsingError

__all__ = [
    'parse_chunk', 'Parser', 'ChunkStart', 'ChunkData', 'ChunkEnd', 'Event',
    'make_response', 'make_report', 'random_id',
    'ParsingError', 'HeaderParsingError', 'ChunkParsingError',
]


class ChunkStart(NamedTuple):
    """The start line and headers of a chunk are complete.

    ``chunk`` is an :class:`MSRPData` without data (its ``chunk_header`` is
    the head as received); the body follows as :class:`ChunkData` events.
    """

    chunk: MSRPData
    kind = 'start'


class ChunkData(NamedTuple):
    """A slice of the current chunk's body."""

    data: bytes
    kind = 'data'


class ChunkEnd(NamedTuple):
    """The current chunk's end-line was read.

    ``contflag`` is ``'$'`` (message complete), ``'+'`` (more chunks follow)
    or ``'#'`` (message aborted); ``footer`` is the end-line as received.
    """

    contflag: str
    footer: bytes
    kind = 'end'


Event = Union[ChunkStart, ChunkData, ChunkEnd]


def _as_bytes(data):
    if isinstance(data, bytes):
        return data
    if isinstance(data, str):
        raise TypeError('MSRP input must be bytes, not str')
    return bytes(data)


def parse_chunk(data) -> MSRPData:
    """Parses exactly one complete chunk (trailing blank lines are allowed).

    Returns an :class:`MSRPData` with ``data``, ``contflag``,
    ``chunk_header`` and ``chunk_footer`` set. Raises
    :class:`ChunkParsingError` for malformed, incomplete or extra input.
    Header values are only checked when read (``chunk.to_path`` etc.) or by
    ``chunk.verify_headers()``.
    """
    tid, method, code, comment, headers, body, flag, head, foot = _native.parse_chunk(_as_bytes(data))
    chunk = MSRPData._from_parts(tid, method, code, comment, headers, body, flag)
    chunk.chunk_header = head
    chunk.chunk_footer = foot
    return chunk


class Parser(object):
    """Incremental chunk parser; see the module docs.

    Limits left as ``None`` keep the core's defaults: 16,384-byte lines,
    64 header lines, 64 MiB per body, and a lenient Byte-Range check (a body
    may run to four times its announced length before the end-line is
    considered missing; ``strict_byte_range=True`` allows no excess).
    """

    def __init__(self, *, max_line_len: Optional[int] = None, max_headers: Optional[int] = None,
                 max_body_len: Optional[int] = None, strict_byte_range: Optional[bool] = None):
        self._native = _native.Parser(max_line_len=max_line_len, max_headers=max_headers,
                                      max_body_len=max_body_len, strict_byte_range=strict_byte_range)

    def feed(self, data) -> None:
        """Appends received bytes; they are parsed while iterating."""
        self._native.feed(_as_bytes(data))

    def __iter__(self):
        return self

    def __next__(self) -> Event:
        event = next(self._native)
        kind = event[0]
        if kind == 'data':
            return ChunkData(event[1])
        if kind == 'end':
            return ChunkEnd(event[1], event[2])
        _, tid, method, code, comment, headers, _has_body, head = event
        chunk = MSRPData._from_parts(tid, method, code, comment, headers)
        chunk.chunk_header = head
        return ChunkStart(chunk)

    def events(self, data=b'') -> list:
        """Feeds ``data`` and returns every event now available.

        Stops at the first error (raised); call again with no data to
        continue after it.
        """
        if data:
            self.feed(data)
        return list(self)

    def finish(self) -> None:
        """Declares the end of input; raises :class:`ChunkParsingError`
        (kind ``'unexpected_eof'``) if a chunk was left incomplete."""
        self._native.finish()

    def reset(self) -> None:
        """Drops buffered input and any partial chunk."""
        self._native.reset()

    @property
    def transaction_id(self) -> Optional[str]:
        """The transaction id of the chunk being parsed, if known."""
        return self._native.transaction_id

    @property
    def idle(self) -> bool:
        """True between chunks with no unparsed input."""
        return self._native.idle


def _request_parts(chunk):
    # The rules do not look at the flag.
    return (chunk.transaction_id, chunk.method, chunk.code, chunk.comment, chunk._header_pairs(),
            _as_body(chunk.data), '$')


def _as_body(data):
    return data.encode('utf-8') if isinstance(data, str) else bytes(data)


def make_response(chunk: MSRPData, code: int, comment: Optional[str] = None) -> Optional[MSRPData]:
    """The response owed to the request ``chunk`` (RFC 4975 §7.2), or ``None``.

    ``Failure-Report: no`` gets no response, ``partial`` only failures
    (``code != 200``). A SEND's response goes to the first From-Path URI only,
    other methods' to the whole From-Path; its From-Path is the first To-Path
    URI. Raises :class:`HeaderParsingError` when To-Path, From-Path or
    Failure-Report is missing or malformed.
    """
    parts = _native.make_response(_request_parts(chunk), code, comment)
    return None if parts is None else MSRPData._from_parts(*parts)


def make_report(chunk: MSRPData, code: int, comment: Optional[str] = None) -> Optional[MSRPData]:
    """The REPORT owed for ``chunk`` after processing it with ``code``, or ``None``.

    A REPORT is due when Success-Report is ``yes``, or for a failure when
    Failure-Report is ``yes`` or ``partial``. It has a fresh transaction id,
    goes back along the whole From-Path and carries Status, the request's
    Message-ID and a Byte-Range covering the request's body. Raises
    :class:`HeaderParsingError` when a header it needs is missing or
    malformed.
    """
    parts = _native.make_report(_request_parts(chunk), code, comment)
    return None if parts is None else MSRPData._from_parts(*parts)


def random_id() -> str:
    """A random transaction id or Message-ID (64 random bits in hex)."""
    return _native.random_id()
