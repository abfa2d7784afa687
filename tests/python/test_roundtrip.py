"""Parse -> encode is byte-exact for every RFC example and the legacy captures."""

import os
import re

import pytest

from msgwire.msrp import ChunkData, ChunkEnd, ChunkStart, Parser, parse_chunk
from msrplib.protocol import MSRPData
from wire_captures import RFC_DIR


def _index_rows():
    """The table of core/tests/data/rfc/INDEX.md as dicts."""
    with open(os.path.join(RFC_DIR, 'INDEX.md'), encoding='utf-8') as f:
        lines = [line for line in f if line.startswith('| `')]
    rows = []
    for line in lines:
        cells = [c.strip() for c in line.strip().strip('|').split('|')]
        rows.append({
            'file': cells[0].strip('`'),
            'tid': cells[3].strip('`'),
            'start': cells[4].strip('`'),
            'flag': cells[5].strip('`'),
            'body': cells[6],
            'quirky': cells[0].startswith('`quirky/'),
        })
    return rows


INDEX = _index_rows()


def test_index_covers_every_file():
    on_disk = set()
    for root, _, files in os.walk(RFC_DIR):
        for name in files:
            if name.endswith('.msrp'):
                on_disk.add(os.path.relpath(os.path.join(root, name), RFC_DIR))
    assert on_disk == {row['file'] for row in INDEX}
    assert len(on_disk) >= 30


def stream_chunks(data, step=None):
    """Parses ``data`` with the streaming parser (fed in ``step``-byte
    slices) into complete MSRPData chunks."""
    parser = Parser()
    chunks = []
    slices = [data] if step is None else [data[i:i + step] for i in range(0, len(data), step)]
    current = body = None
    for piece in slices:
        parser.feed(piece)
        for event in parser:
            if isinstance(event, ChunkStart):
                current, body = event.chunk, []
            elif isinstance(event, ChunkData):
                body.append(event.data)
            else:
                assert isinstance(event, ChunkEnd)
                current.data = b''.join(body)
                current.contflag = event.contflag
                current.chunk_footer = event.footer
                chunks.append(current)
    parser.finish()
    return chunks


@pytest.mark.parametrize('row', INDEX, ids=[r['file'] for r in INDEX])
def test_rfc_example_round_trip(row, rfc_file):
    wire = rfc_file(row['file'])
    chunk = parse_chunk(wire)
    assert chunk.encode() == wire
    assert chunk.chunk_header + chunk.data + chunk.chunk_footer == wire

    # What INDEX.md says about the message.
    assert chunk.transaction_id == row['tid']
    if row['start'][0].isdigit():
        code, _, comment = row['start'].partition(' ')
        assert (chunk.method, chunk.code, chunk.comment) == (None, int(code), comment or None)
    else:
        assert (chunk.method, chunk.code) == (row['start'], None)
    assert chunk.contflag == row['flag']
    if row['body'] == '—':
        assert chunk.data == b'' and 'Content-Type' not in chunk.headers
    else:
        assert chunk.size == int(row['body'])

    # Every header decodes and re-encodes to the same text.
    if not row['quirky'] or 'To-Path' in chunk.headers:
        chunk.verify_headers()
    for name, header in chunk.headers.items():
        rebuilt = type(header)(header.decoded) if type(header).name else None
        if rebuilt is not None and name not in ('Authorization', 'Authentication-Info', 'WWW-Authenticate'):
            assert rebuilt.encoded == header.encoded, name

    # The streaming parser gives the same chunk, even one byte at a time.
    for step in (None, 1, 7):
        (streamed,) = stream_chunks(wire, step)
        assert streamed == chunk
        assert streamed.chunk_header == chunk.chunk_header
        assert streamed.chunk_footer == chunk.chunk_footer
        assert streamed.encode() == wire


CAPTURES = ['send_report.txt', 'chunked_large.txt', 'nickname.txt', 'reject415.txt', 'unknown_method501.txt']


@pytest.mark.parametrize('name', CAPTURES)
def test_capture_round_trip(name, capture):
    segments = capture(name)
    assert segments, name
    total = 0
    for segment in segments:
        chunks = stream_chunks(segment.data)
        assert chunks, segment
        # One read can carry several chunks (a 200 and a REPORT).
        assert b''.join(c.encode() for c in chunks) == segment.data
        for chunk in chunks:
            assert chunk.chunk_header + chunk.data + chunk.chunk_footer == chunk.encode()
            again = parse_chunk(chunk.encode())
            assert again == chunk
            assert isinstance(again, MSRPData)
            chunk.verify_headers()
            total += 1
    assert total >= 4


def test_send_report_has_two_chunks_in_one_read(capture):
    reads = [s for s in capture('send_report.txt') if s.direction == '<<']
    chunks = stream_chunks(reads[-1].data)
    assert [str(c) for c in chunks] == ['MSRP 40965e3a2254040f 200 OK', 'MSRP 715410dd47936af7 REPORT']
    assert chunks[1].status.code == 200 and chunks[1].status.comment == 'OK'
    assert re.fullmatch(r'[0-9a-f]+', chunks[1].transaction_id)
