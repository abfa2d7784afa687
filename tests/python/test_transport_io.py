"""MSRPTransport's raw I/O (read_chunk / write_chunk / write_response /
write) on a bound transport before a session takes it over."""

import threading

import pytest

from msrplib.protocol import ContentTypeHeader, FailureReportHeader
from msrplib.session import MSRPSession, MSRPSessionError
from msrplib.transport import ChunkParseError, ConnectionClosed, ConnectionDone

from test_endpoints import Collector, bind_pair

pytestmark = pytest.mark.timeout(30)


def text(transport, data):
    """A SEND along ``transport``'s paths with a text/plain body."""
    chunk = transport.make_send_request(data=data)
    chunk.add_header(ContentTypeHeader('text/plain'))
    return chunk


def test_chunks_and_responses_both_ways():
    client, server = bind_pair()
    for sender, receiver in ((client, server), (server, client)):
        chunk = sender.make_send_request(data=b'raw hello')
        sender.write_chunk(chunk)
        got = receiver.read_chunk()
        assert got.transaction_id == chunk.transaction_id
        assert got.method == 'SEND' and got.data == b'raw hello' and got.contflag == '$'
        assert not hasattr(got, 'segment')
        receiver.write_response(got, 200, 'OK')
        response = sender.read_chunk()
        assert response.code == 200 and response.transaction_id == chunk.transaction_id
    # Failure-Report: no owes no response; nothing is written, so the next
    # thing the client reads is what the server writes after it.
    quiet = client.make_send_request(data='quiet')
    quiet.add_header(FailureReportHeader('no'))
    server.write_response(quiet, 200, 'OK')
    server.write(server.make_send_request(data='after').encode())
    assert client.read_chunk().data == b'after'
    with pytest.raises(TimeoutError):
        client.read_chunk(timeout=0.05)
    client.loseConnection()
    server.loseConnection()


def test_large_chunk_comes_in_segments():
    client, server = bind_pair()
    body = bytes(range(256)) * 40  # 10,240 bytes
    chunk = client.make_send_request(data=body)
    client.write_chunk(chunk)
    parts = [server.read_chunk(4096) for _ in range(3)]
    assert [p.segment for p in parts] == [1, 2, 3]
    assert [p.contflag for p in parts] == ['+', '+', '$']
    assert [p.byte_range for p in parts] == [(1, 4096, 10240), (4097, 8192, 10240), (8193, 10240, 10240)]
    assert b''.join(p.data for p in parts) == body
    assert all(p.transaction_id == chunk.transaction_id for p in parts)
    # max_size=0: every read returns what has arrived.
    client.write_chunk(client.make_send_request(data=b'x' * 100))
    got = b''
    while True:
        part = server.read_chunk(0)
        got += part.data
        if part.contflag == '$':
            break
    assert got == b'x' * 100
    client.loseConnection()
    server.loseConnection()


def test_peer_close_raises_connection_done():
    client, server = bind_pair()
    client.write_chunk(client.make_send_request(data='bye'))
    client.loseConnection()
    assert server.read_chunk().data == b'bye'
    with pytest.raises(ConnectionDone) as info:
        server.read_chunk()
    assert isinstance(info.value, ConnectionClosed)
    with pytest.raises(ConnectionDone):
        client.read_chunk()


def test_garbage_raises_chunk_parse_error():
    client, server = bind_pair()
    client.write(b'this is not msrp\r\n')
    client.write_chunk(client.make_send_request(data='fine'))
    with pytest.raises(ChunkParseError):
        server.read_chunk()
    assert server.read_chunk().data == b'fine'
    client.loseConnection()
    server.loseConnection()


def test_read_releases_the_gil():
    client, server = bind_pair()
    result = []
    reader = threading.Thread(target=lambda: result.append(server.read_chunk()))
    reader.start()
    # This thread runs Python (and writes) while the reader waits.
    client.write_chunk(client.make_send_request(data='late'))
    reader.join(5)
    assert result and result[0].data == b'late'
    client.loseConnection()
    server.loseConnection()


def test_session_after_raw_exchange_gets_buffered_chunks():
    client, server = bind_pair()
    ping = client.make_send_request(data='ping')
    client.write_chunk(ping)
    server.write_response(server.read_chunk(), 200, 'OK')
    assert client.read_chunk().code == 200
    # Two chunks arrive before the server's session starts; the server
    # reads the first one, and the second is buffered by a timed-out read.
    first = text(client, 'one')
    second = text(client, 'two')
    client.write(first.encode() + second.encode()[:40])
    assert server.read_chunk().data == b'one'
    with pytest.raises(TimeoutError):
        server.read_chunk(timeout=0.1)
    server_cb, client_cb = Collector(), Collector()
    server_session = MSRPSession(server, on_incoming_cb=server_cb)
    client.write(second.encode()[40:])
    server_cb.wait_for(lambda: server_cb.chunks)
    assert server_cb.chunks[0].data == b'two'
    response = client.read_chunk()
    assert response.code == 200 and response.transaction_id == second.transaction_id
    client_session = MSRPSession(client, on_incoming_cb=client_cb)
    client_session.deliver_chunk(client_session.make_message('via session', 'text/plain'))
    server_cb.wait_for(lambda: len(server_cb.chunks) == 2)
    assert server_cb.chunks[1].data == b'via session'
    # The transport belongs to the session now.
    with pytest.raises(ConnectionDone):
        client.read_chunk()
    client_session.shutdown()
    server_session.shutdown()


def test_session_refuses_transport_mid_chunk():
    client, server = bind_pair()
    encoded = client.make_send_request(data=b'y' * 100).encode()
    client.write(encoded[:-20])
    part = server.read_chunk(10)
    assert part.segment == 1 and len(part.data) == 10
    with pytest.raises(MSRPSessionError):
        MSRPSession(server, on_incoming_cb=Collector())
    # The transport is still usable: read on to the chunk's end.
    client.write(encoded[-20:])
    rest = b''
    while True:
        part = server.read_chunk(1000)
        rest += part.data
        if part.contflag == '$':
            break
    assert len(rest) == 90 and part.segment == 2
    session = MSRPSession(server, on_incoming_cb=Collector())
    session.shutdown()
    client.loseConnection()
