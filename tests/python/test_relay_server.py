"""msgwire.relay.Relay, the in-process MSRP relay, with the legacy
msrplib.connect clients on 127.0.0.1 (port 0): the 2011 API page's
"Waiting for an inbound connection" example through the relay with a
direct connector on the other side, two relayed endpoints exchanging a
message, a wrong password, the status pages, an unknown session answered
481, and bad configurations.
"""

import queue
import socket
import threading

import pytest

from msgwire import serverresponse
from msgwire.msrp import ChunkData, ChunkEnd, ChunkStart, Parser
from msgwire.relay import Relay
from msrplib import protocol
from msrplib.connect import (DirectConnector, MSRPRelayAuthError, MSRPRelaySettings,
                             RelayConnection)
from msrplib.session import MSRPSession

pytestmark = pytest.mark.timeout(60)

REALM = 'relay.test'


@pytest.fixture
def users(tmp_path):
    path = tmp_path / 'users'
    path.write_text('# test users\nuser:pass\nbob:hunter2\n')
    return path


@pytest.fixture
def relay(users):
    with Relay(users, REALM, plain_tcp='127.0.0.1:0', status='127.0.0.1:0') as r:
        yield r


def settings(relay, username='user', password='pass'):
    host, port = relay.plain_tcp_address.rsplit(':', 1)
    return MSRPRelaySettings(domain=REALM, username=username, password=password, host=host,
                             port=int(port))


def local_uri():
    return protocol.URI(host='127.0.0.1', port=0, use_tls=False)


def test_waiting_for_an_inbound_connection_through_the_relay(relay):
    # The example, with the relay's address filled in and the other side
    # a direct connector whose path would come from the SDP offer.
    connector = RelayConnection(settings(relay), 'passive')
    full_local_path = connector.prepare(local_uri())
    assert len(full_local_path) == 2
    assert full_local_path[0].port == int(relay.plain_tcp_address.rsplit(':', 1)[1])

    remote = DirectConnector()
    full_remote_path = remote.prepare(local_uri())
    result = {}
    t = threading.Thread(target=lambda: result.update(t=connector.complete(full_remote_path)))
    t.start()
    remote_transport = remote.complete(full_local_path)  # connects to the relay
    t.join(30)
    msrp_transport = result['t']

    got = queue.Queue()

    def handle_incoming(chunk=None, error=None):
        got.put((chunk, error))

    session = MSRPSession(msrp_transport, on_incoming_cb=handle_incoming)
    try:
        session.send_chunk(msrp_transport.make_chunk(data='Hello world!'))
        chunk = remote_transport.read_chunk()
        assert chunk.method == 'SEND'
        assert chunk.data == b'Hello world!'
        # From-Path: the relay's URI, then the relayed endpoint.
        assert [str(u) for u in chunk.headers['From-Path'].decoded] == \
            [str(u) for u in full_local_path]
        # The direct side answers and sends back over its own connection.
        remote_transport.write_response(chunk, 200, 'OK')
        back = remote_transport.make_chunk(data='hello yourself')
        back.add_header(protocol.ContentTypeHeader('text/plain'))
        remote_transport.write_chunk(back)
        incoming, error = got.get(timeout=20)
        assert error is None
        assert incoming.data == b'hello yourself'
        # The relayed endpoint's 200 comes back for the direct side's
        # own transaction.
        response = remote_transport.read_chunk()
        assert (response.transaction_id, response.code) == (back.transaction_id, 200)
    finally:
        session.shutdown()
        remote_transport.loseConnection(wait=False)
    counters = relay.counters()
    assert counters['auth_ok'] == 1
    assert counters['forwarded'] >= 3  # bind, hello, reply


def test_both_endpoints_behind_one_relay(relay):
    a = RelayConnection(settings(relay), 'active')
    b = RelayConnection(settings(relay, 'bob', 'hunter2'), 'passive')
    a_path = a.prepare(local_uri())
    b_path = b.prepare(local_uri())
    result = {}
    t = threading.Thread(target=lambda: result.update(b=b.complete(a_path)))
    t.start()
    a_transport = a.complete(b_path)
    t.join(30)
    b_transport = result['b']
    try:
        a_transport.write_chunk(a_transport.make_chunk(data='via one relay'))
        chunk = b_transport.read_chunk()
        assert chunk.data == b'via one relay'
        assert [str(u) for u in chunk.headers['From-Path'].decoded] == \
            [str(b_path[0]), str(a_path[0]), str(a_path[1])]
        assert [r['user'] for r in relay.reservations()] != []
        assert sorted(r['user'] for r in relay.reservations()) == ['bob', 'user']
    finally:
        a_transport.loseConnection(wait=False)
        b_transport.loseConnection(wait=False)


def test_wrong_password_raises_relay_auth_error(relay):
    with pytest.raises(MSRPRelayAuthError) as e:
        RelayConnection(settings(relay, password='wrong'), 'active').prepare(local_uri())
    assert e.value.code == 401
    assert relay.counters()['auth_failed'] == 1


def test_status_pages(relay):
    connector = RelayConnection(settings(relay), 'active')
    path = connector.prepare(local_uri())
    try:
        base = 'http://' + relay.status_address
        status = serverresponse.get(base + '/status.xml')
        assert status.find('realm') == REALM
        assert status.find('reservations') == '1'
        sessions = serverresponse.get(base + '/sessions.xml')
        rows = sessions.lists('sessions').rows
        assert [(r.get('user'), r.get('session_id')) for r in rows] == \
            [('user', path[0].session_id)]
    finally:
        connector.cleanup()


def read_chunk(sock):
    parser, head, data = Parser(), None, b''
    while True:
        for event in parser:
            if isinstance(event, ChunkStart):
                head = event.chunk
            elif isinstance(event, ChunkData):
                data += event.data
            elif isinstance(event, ChunkEnd):
                return head
        got = sock.recv(65536)
        assert got, 'the relay closed the connection'
        parser.feed(got)


def test_unknown_session_is_481(relay):
    connector = RelayConnection(settings(relay), 'active')
    path = connector.prepare(local_uri())
    try:
        # A peer connecting to the relay names a session that is not there.
        host, port = relay.plain_tcp_address.rsplit(':', 1)
        wrong = protocol.URI(host=host, port=int(port), session_id='nosuchsession', use_tls=False)
        sock = socket.create_connection((host, int(port)))
        try:
            me = protocol.URI(host='127.0.0.1', port=9, session_id='peer', use_tls=False)
            sock.sendall(('MSRP tx481 SEND\r\nTo-Path: {} {}\r\nFrom-Path: {}\r\n'
                          'Message-ID: m1\r\nContent-Type: text/plain\r\n\r\nhi\r\n'
                          '-------tx481$\r\n').format(wrong, path[1], me).encode())
            response = read_chunk(sock)
            assert (response.transaction_id, response.code) == ('tx481', 481)
        finally:
            sock.close()
    finally:
        connector.cleanup()
    assert relay.counters()['refused'] == 1


def test_addresses_lifecycle_and_bad_configurations(users, tmp_path):
    r = Relay(users, REALM, plain_tcp='127.0.0.1:0')
    assert r.plain_tcp_address is None
    r.start()
    try:
        assert r.plain_tcp_address.startswith('127.0.0.1:')
        assert r.tls_address is None and r.status_address is None
        with pytest.raises(RuntimeError):
            r.start()
    finally:
        r.close()
    r.close()  # idempotent
    with pytest.raises(ValueError):
        Relay(users, REALM).start()  # no listener
    with pytest.raises(ValueError):
        Relay(users, REALM, listen='127.0.0.1:0').start()  # TLS without certificate
    with pytest.raises(ValueError):
        Relay(users, REALM, plain_tcp='127.0.0.1:0', expires=(700, 600, 3600)).start()
    with pytest.raises(OSError):
        Relay(tmp_path / 'missing', REALM, plain_tcp='127.0.0.1:0').start()
    bad = tmp_path / 'bad'
    bad.write_text('no colon here\n')
    with pytest.raises(ValueError):
        Relay(bad, REALM, plain_tcp='127.0.0.1:0').start()
