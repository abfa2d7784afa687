"""msgwire.msrp.Parser: streaming events, slicing independence, errors and recovery."""

import os

import pytest

from msgwire.msrp import ChunkData, ChunkEnd, ChunkParsingError, ChunkStart, Parser, parse_chunk
from msrplib.protocol import MSRPData, ParsingError
from wire_captures import RFC_DIR, WIRE_DIR, stream

SEND = (b'MSRP abcd1234 SEND\r\n'
        b'To-Path: msrp://b.example:1/s;tcp\r\n'
        b'From-Path: msrp://a.example:2/t;tcp\r\n'
        b'Message-ID: m1\r\n'
        b'Byte-Range: 1-11/11\r\n'
        b'Content-Type: text/plain\r\n'
        b'\r\n'
        b'hello\r\nworld'
        b'\r\n-------abcd1234$\r\n')
OK = (b'MSRP abcd1234 200 OK\r\n'
      b'To-Path: msrp://a.example:2/t;tcp\r\n'
      b'From-Path: msrp://b.example:1/s;tcp\r\n'
      b'-------abcd1234$\r\n')


def collect(parser, pieces):
    """Feeds ``pieces`` one by one; returns normalised events (data slices
    merged) and the errors as (kind, transaction_id)."""
    out = []
    for piece in pieces:
        parser.feed(piece)
        while True:
            try:
                for event in parser:
                    if isinstance(event, ChunkStart):
                        out.append(('start', event.chunk.first_line, tuple(event.chunk.headers),
                                    event.chunk.chunk_header))
                    elif isinstance(event, ChunkData):
                        assert event.data, 'empty data event'
                        if out and out[-1][0] == 'data':
                            out[-1] = ('data', out[-1][1] + event.data)
                        else:
                            out.append(('data', event.data))
                    else:
                        out.append(('end', event.contflag, event.footer))
            except ChunkParsingError as error:
                # The chunk is abandoned: body bytes it delivered before the
                # error depend on how the input was sliced, so drop them.
                while out and out[-1][0] == 'data':
                    out.pop()
                out.append(('error', error.kind, error.transaction_id))
                continue
            break
    return out


def split(data, step):
    return [data[i:i + step] for i in range(0, len(data), step)]


def corpus():
    blobs = []
    for root, _, files in os.walk(RFC_DIR):
        for name in sorted(files):
            if name.endswith('.msrp'):
                with open(os.path.join(root, name), 'rb') as f:
                    blobs.append(f.read())
    return b''.join(blobs)


def test_events_of_one_chunk():
    parser = Parser()
    parser.feed(SEND)
    events = list(parser)
    assert [e.kind for e in events] == ['start', 'data', 'end']
    start, data, end = events
    assert isinstance(start.chunk, MSRPData)
    assert start.chunk.first_line == 'MSRP abcd1234 SEND'
    assert start.chunk.message_id == 'm1' and start.chunk.data == b''
    assert start.chunk.chunk_header == SEND[:SEND.index(b'hello')]
    assert data == ChunkData(b'hello\r\nworld')
    assert end == ChunkEnd('$', b'\r\n-------abcd1234$\r\n')
    assert parser.idle


def test_bodyless_chunk_events():
    parser = Parser()
    events = parser.events(OK)
    assert [e.kind for e in events] == ['start', 'end']
    assert events[0].chunk.code == 200 and events[0].chunk.comment == 'OK'
    assert events[0].chunk.chunk_header + events[1].footer == OK


@pytest.mark.parametrize('step', [1, 2, 3, 5, 13, 64])
def test_slicing_does_not_change_events(step):
    data = corpus() + SEND + OK
    whole = collect(Parser(), [data])
    assert collect(Parser(), split(data, step)) == whole
    assert sum(1 for e in whole if e[0] == 'start') == 36
    assert not [e for e in whole if e[0] == 'error']


@pytest.mark.skipif(not os.path.isdir(WIRE_DIR), reason='legacy wire captures not available')
@pytest.mark.parametrize('name', sorted(os.listdir(WIRE_DIR)) if os.path.isdir(WIRE_DIR) else [])
def test_one_byte_at_a_time_on_every_capture(name):
    for direction in ('>>', '<<'):
        data = stream(name, direction)
        assert collect(Parser(), split(data, 1)) == collect(Parser(), [data])


MALFORMED = {
    # capture: [tid of each start, or (error kind, transaction id)], in order
    'malformed_bad_byte_range.txt': ['bindtx01', ('bad_byte_range', 'mal00003'), 'probe001'],
    'malformed_garbage_line_before_bind.txt': [('bad_start_line', None), 'bindtx01', 'probe001'],
    'malformed_header_without_colon_space.txt': ['bindtx01', ('bad_header_line', 'mal00008')],
    'malformed_oversize_header_line.txt': ['bindtx01', ('line_too_long', 'mal00010'), 'probe001'],
    'malformed_short_transaction_id.txt': ['bindtx01', ('bad_transaction_id', None), 'probe001'],
    'malformed_three_garbage_chunks.txt': ['bindtx01', ('bad_start_line', None), ('bad_method', 'xx12'), 'probe001'],
    'malformed_wrong_end_line_tid.txt': ['bindtx01', 'mal00006', ('body_exceeds_byte_range', 'mal00006'), 'probe001'],
    # Well framed, bad header values: the parser passes them on; reading the
    # header raises (see test_rules / test_msrpdata).
    'malformed_bad_failure_report_value.txt': ['bindtx01', 'mal00005'],
    'malformed_missing_to_path.txt': ['bindtx01', 'mal00001'],
}


@pytest.mark.parametrize('name', sorted(MALFORMED))
def test_malformed_input_raises_and_recovers(name, capture):
    capture(name)  # skips when shared/ is absent
    data = stream(name, '>>')
    for pieces in ([data], split(data, 1)):
        got = []
        for event in collect(Parser(), pieces):
            if event[0] == 'start':
                got.append(event[1].split(' ')[1])
            elif event[0] == 'error':
                got.append((event[1], event[2]))
        assert got == MALFORMED[name]


def test_error_is_a_legacy_parsing_error_with_transaction_id():
    parser = Parser()
    parser.feed(b'MSRP tid00042 SEND\r\nTo-Path msrp://x;tcp\r\n\r\nbody\r\n-------tid00042$\r\n' + OK)
    with pytest.raises(ParsingError) as info:
        next(parser)
    error = info.value
    assert isinstance(error, ChunkParsingError)
    assert error.transaction_id == 'tid00042'
    assert error.kind == 'bad_header_line'
    assert 'tid00042' in str(error)
    # Iterating again continues after the bad chunk.
    events = list(parser)
    assert events[0].chunk.first_line == 'MSRP abcd1234 200 OK'


def test_unexpected_eof_on_finish():
    parser = Parser()
    parser.feed(SEND[:40])
    assert list(parser) == []
    assert parser.transaction_id == 'abcd1234'
    assert not parser.idle
    with pytest.raises(ChunkParsingError) as info:
        parser.finish()
    assert (info.value.kind, info.value.transaction_id) == ('unexpected_eof', 'abcd1234')
    assert parser.idle
    parser.finish()  # nothing pending any more


def test_limits_are_configurable():
    parser = Parser(max_headers=2)
    parser.feed(SEND + OK)
    with pytest.raises(ChunkParsingError) as info:
        list(parser)
    assert (info.value.kind, info.value.transaction_id) == ('too_many_headers', 'abcd1234')
    assert [e.kind for e in parser] == ['start', 'end']

    parser = Parser(max_line_len=20)
    with pytest.raises(ChunkParsingError) as info:
        parser.events(SEND)
    assert info.value.kind == 'line_too_long'

    parser = Parser(max_body_len=4)
    parser.feed(SEND + OK)
    with pytest.raises(ChunkParsingError) as info:
        list(parser)
    assert info.value.kind == 'body_too_large'


def test_large_body_streams_in_slices():
    body = bytes(range(256)) * 4096  # 1 MiB
    wire = (b'MSRP big00001 SEND\r\nTo-Path: msrp://b:1/s;tcp\r\nFrom-Path: msrp://a:2/t;tcp\r\n'
            b'Byte-Range: 1-1048576/1048576\r\nContent-Type: application/octet-stream\r\n\r\n'
            + body + b'\r\n-------big00001+\r\n')
    parser = Parser()
    received = bytearray()
    largest = 0
    for piece in split(wire, 65536):
        parser.feed(piece)
        for event in parser:
            if isinstance(event, ChunkData):
                received += event.data
                largest = max(largest, len(event.data))
            elif isinstance(event, ChunkEnd):
                assert event.contflag == '+'
    assert bytes(received) == body
    assert largest <= 65536  # never accumulated by the parser
    assert parse_chunk(wire).data == body


def test_feed_rejects_str():
    with pytest.raises(TypeError):
        Parser().feed('MSRP abcd SEND\r\n')


def test_reset_drops_partial_input():
    parser = Parser()
    parser.feed(SEND[:30])
    list(parser)
    parser.reset()
    assert parser.idle and parser.transaction_id is None
    assert [e.kind for e in parser.events(OK)] == ['start', 'end']


@pytest.mark.parametrize('data, kind, tid', [
    (SEND[:-3], 'unexpected_eof', 'abcd1234'),
    (SEND + OK, 'bad_start_line', None),
    (b'HELLO\r\n', 'bad_start_line', None),
    (b'MSRP ab SEND\r\n-------ab$\r\n', 'bad_transaction_id', None),
    (b'MSRP abcd send\r\n-------abcd$\r\n', 'bad_method', 'abcd'),
    (b'MSRP abcd 2000 OK\r\n-------abcd$\r\n', 'bad_status_code', 'abcd'),
])
def test_parse_chunk_errors(data, kind, tid):
    with pytest.raises(ChunkParsingError) as info:
        parse_chunk(data)
    assert (info.value.kind, info.value.transaction_id) == (kind, tid)
