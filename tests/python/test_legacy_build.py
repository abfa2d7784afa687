"""Chunks built the way legacy msrplib code builds them give the exact bytes
the legacy library put on the wire (shared/legacy/wire captures)."""

import pytest

from msgwire.msrp import make_report, make_response, parse_chunk
from msrplib.protocol import (URI, ByteRange, ByteRangeHeader, ContentTypeHeader, FromPathHeader,
                              MessageIDHeader, MSRPData, SuccessReportHeader, ToPathHeader,
                              UseNicknameHeader)
from test_roundtrip import stream_chunks


def chunks_of(capture, name):
    """(direction, chunk bytes) for every chunk of a capture, in order."""
    out = []
    for segment in capture(name):
        for chunk in stream_chunks(segment.data):
            out.append((segment.direction, chunk.encode()))
    return out


def request(tid, method, server_port, extra=()):
    """A request as the legacy MSRPTransport.make_request builds it."""
    chunk = MSRPData(transaction_id=tid, method=method)
    chunk.add_header(ToPathHeader([URI(host='127.0.0.1', port=server_port, session_id='srv0sess', use_tls=False)]))
    chunk.add_header(FromPathHeader([URI(host='127.0.0.1', port=2855, session_id='cli0sess', use_tls=False)]))
    for header in extra:
        chunk.add_header(header)
    return chunk


def bind_send(tid, message_id, server_port):
    """The empty SEND that binds a session (make_send_request with no data)."""
    return request(tid, 'SEND', server_port, [ByteRangeHeader(ByteRange(1, 0, 0)), MessageIDHeader(message_id)])


def test_send_report(capture):
    wire = chunks_of(capture, 'send_report.txt')
    bind = bind_send('e3735cbb6094e55f', 'dc20b15e3c057238', 46239)
    assert bind.encode() == wire[0][1]
    assert make_response(parse_chunk(wire[0][1]), 200, 'OK').encode() == wire[1][1]

    send = request('40965e3a2254040f', 'SEND', 46239, [
        ByteRangeHeader(ByteRange(1, 5, 5)),
        MessageIDHeader('52e88db0a2cc56b1'),
        SuccessReportHeader('yes'),
        ContentTypeHeader('text/plain'),
    ])
    send.data = 'hello'  # a str body is sent as UTF-8, like the legacy library
    assert send.encode() == wire[2][1]

    received = parse_chunk(wire[2][1])
    assert make_response(received, 200, 'OK').encode() == wire[3][1]
    report = make_report(received, 200, 'OK')
    report.transaction_id = '715410dd47936af7'  # the legacy one was random too
    assert report.first_line == 'MSRP 715410dd47936af7 REPORT'
    assert report.encode() == wire[4][1]


def test_chunked_large(capture):
    wire = chunks_of(capture, 'chunked_large.txt')
    sends = [data for direction, data in wire if direction == '>>'][1:]
    received = [parse_chunk(data) for data in sends]
    assert [c.byte_range for c in received] == [(1, None, 2500), (835, None, 2500), (1669, None, 2500)]
    assert [c.contflag for c in received] == ['+', '+', '$']
    body = b''.join(c.data for c in received)
    assert len(body) == 2500
    offsets = [(0, 834), (834, 1668), (1668, 2500)]
    for chunk, data, (a, b) in zip(received, sends, offsets):
        built = request(chunk.transaction_id, 'SEND', 53553, [
            # Over 2048 bytes in all, the legacy library writes the end as '*'.
            ByteRangeHeader(ByteRange(a + 1, None, 2500)),
            MessageIDHeader('chunkedmsg01'),
            ContentTypeHeader('text/plain'),
        ])
        built.data = body[a:b]
        built.contflag = '$' if b == 2500 else '+'
        assert built.encode() == data


def test_nickname(capture):
    wire = chunks_of(capture, 'nickname.txt')
    nick = request('855165feba6bf94b', 'NICKNAME', 35891, [UseNicknameHeader('Alice')])
    assert nick.encode() == wire[2][1]
    assert make_response(parse_chunk(wire[2][1]), 200, 'OK').encode() == wire[3][1]


def test_reject415(capture):
    wire = chunks_of(capture, 'reject415.txt')
    send = request('dbf47533f108016d', 'SEND', 54569, [
        ByteRangeHeader(ByteRange(1, 15, 15)),
        MessageIDHeader('71be35767fdb5745'),
        ContentTypeHeader('image/png'),
    ])
    send.data = b'\x89PNG fake image'
    assert send.encode() == wire[2][1]
    received = parse_chunk(wire[2][1])
    assert make_response(received, 415, 'Unsupported media type').encode() == wire[3][1]
    # A 415 with the default Failure-Report gets a failure REPORT, but the
    # legacy session sends none for a content-type reject: that is session
    # policy, not a wire rule, so the wire layer still offers one.
    assert make_report(received, 415, 'Unsupported media type') is not None


def test_unknown_method501(capture):
    wire = chunks_of(capture, 'unknown_method501.txt')
    foobar = request('d96ffb761a3f5e4c', 'FOOBAR', 43919)
    assert foobar.encode() == wire[2][1]
    response = make_response(parse_chunk(wire[2][1]), 501, 'Method unknown')
    assert response.encode() == wire[3][1]


@pytest.mark.parametrize('name', ['send_report.txt', 'nickname.txt', 'reject415.txt', 'unknown_method501.txt'])
def test_bind_exchange(name, capture):
    wire = chunks_of(capture, name)
    first = parse_chunk(wire[0][1])
    port = first.to_path[0].port
    assert bind_send(first.transaction_id, first.message_id, port).encode() == wire[0][1]
    assert make_response(first, 200, 'OK').encode() == wire[1][1]
