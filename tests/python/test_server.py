"""msrplib.connect.MSRPServer: many passive sessions through one listening
port, over loopback TCP (port 0 only)."""

import socket
import threading
import time

import pytest

from msrplib import connect
from msrplib.connect import (DirectConnector, MSRPBindSessionTimeout, MSRPIncomingConnectTimeout, MSRPServer,
                             MSRPServerCompleteTimeout)
from msrplib.protocol import URI
from msrplib.session import GreenMSRPSession, MSRPSession
from msrplib.trafficlog import NullLogger
from msrplib.transport import ConnectionDone, MSRPNoSuchSessionError, MSRPTransport

pytestmark = pytest.mark.timeout(60)


def local(session_id=None):
    return URI(host='127.0.0.1', port=0, use_tls=False, session_id=session_id)


class Connecting(threading.Thread):
    """A DirectConnector binding to ``server_path`` on its own thread;
    ``result()`` is the transport or raises what the connector raised."""

    def __init__(self, server_path, session_id):
        threading.Thread.__init__(self, daemon=True)
        self.connector = DirectConnector()
        self.path = self.connector.prepare(local(session_id))
        self.server_path = server_path
        self.transport = self.error = None
        self.start()

    def run(self):
        try:
            self.transport = self.connector.complete(self.server_path)
        except Exception as exc:
            self.error = exc

    def result(self, timeout=10):
        self.join(timeout)
        assert not self.is_alive(), 'connector still running'
        if self.error is not None:
            raise self.error
        return self.transport


class Waiting(threading.Thread):
    """``server.complete(path)`` on its own thread."""

    def __init__(self, call, *args):
        threading.Thread.__init__(self, daemon=True)
        self.call, self.args = call, args
        self.transport = self.error = None
        self.start()

    def run(self):
        try:
            self.transport = self.call(*self.args)
        except Exception as exc:
            self.error = exc


def free_port():
    s = socket.socket()
    s.bind(('127.0.0.1', 0))
    port = s.getsockname()[1]
    s.close()
    return port


# ------------------------------------------------------------------ API

def test_legacy_names_and_constructor():
    assert 'MSRPServer' in connect.__all__
    server = MSRPServer(None)  # the legacy constructor takes the logger positionally
    assert isinstance(server.logger, NullLogger)
    assert server.timeouts is None and server.local_addresses == []
    assert issubclass(MSRPServerCompleteTimeout, MSRPIncomingConnectTimeout)
    assert issubclass(MSRPServerCompleteTimeout, MSRPBindSessionTimeout)
    server.close()  # closing a server that never listened is fine
    with pytest.raises(ValueError):
        server.prepare(URI(host='127.0.0.1', port=0, use_tls=True))


def test_prepare_shares_one_port_and_writes_it_back():
    server = MSRPServer()
    try:
        first, second = local(), local('two')
        assert server.prepare(first) == [first]
        assert server.prepare(second)[0] is second
        assert first.port and first.port == second.port and first.session_id
        assert second.session_id == 'two'
        assert server.local_addresses == [('127.0.0.1', first.port)]
        assert sorted(u.session_id for u in server.expected_local_uris) == sorted([first.session_id, 'two'])
        default = server.prepare()[0]  # no URI: plain msrp on any free port
        assert default.use_tls is False and default.port
        # An explicit port reuses the listener there.
        again = URI(host='127.0.0.1', port=first.port, use_tls=False)
        assert server.prepare(again)[0].port == first.port
    finally:
        server.close()


# ------------------------------------------------------------------ sessions

def test_two_sessions_through_one_port_exchange_messages():
    server = MSRPServer()
    try:
        path_a = server.prepare(local('server-a'))
        path_b = server.prepare(local('server-b'))
        assert path_a[0].port == path_b[0].port
        clients = [Connecting(path_a, 'client-a'), Connecting(path_b, 'client-b')]
        # Completed in the other order than they were prepared.
        server_b = server.complete(clients[1].path)
        server_a = server.complete(clients[0].path)
        client_a, client_b = clients[0].result(), clients[1].result()
        assert isinstance(server_a, MSRPTransport) and isinstance(server_b, MSRPTransport)
        assert server_a.local_uri is path_a[0] and server_b.local_uri is path_b[0]
        assert server_a.remote_uri.session_id == 'client-a'
        assert server_b.remote_uri.session_id == 'client-b'
        assert server.expected_local_uris == []

        sessions = []
        for client_t, server_t, name in ((client_a, server_a, 'a'), (client_b, server_b, 'b')):
            srv = GreenMSRPSession(server_t)
            cli = GreenMSRPSession(client_t)
            sessions += [srv, cli]
            cli.deliver_message('to server ' + name, 'text/plain')
            srv.deliver_message('to client ' + name, 'text/plain')
            assert srv.receive_chunk(timeout=5).data == ('to server ' + name).encode()
            got = cli.receive_chunk(timeout=5)
            assert got.data == ('to client ' + name).encode()
            assert got.to_path[-1].session_id == 'client-' + name
        for session in sessions:
            session.shutdown()
    finally:
        server.close()


def test_hundred_sessions_at_once_through_one_server():
    count = 100
    server = MSRPServer()
    try:
        paths = [server.prepare(local('srv-{}'.format(i))) for i in range(count)]
        assert len({p[0].port for p in paths}) == 1
        received = []
        lock = threading.Lock()
        all_in = threading.Event()

        def on_incoming(chunk=None, error=None):
            if chunk is not None and chunk.method == 'SEND':
                with lock:
                    received.append((chunk.to_path[-1].session_id, chunk.data))
                    if len(received) == count:
                        all_in.set()

        results = {}
        ready = {}
        ready_events = [threading.Event() for _ in range(count)]

        def client(i):
            connector = DirectConnector()
            client_path = connector.prepare(local('cli-{}'.format(i)))
            ready[i] = client_path
            ready_events[i].set()
            try:
                transport = connector.complete(paths[i])
                session = MSRPSession(transport, on_incoming_cb=lambda chunk=None, error=None: None)
                chunk = session.make_message('message {}'.format(i), 'text/plain')
                response = session.deliver_chunk(chunk)
                results[i] = (response.code, session)
            except Exception as exc:
                results[i] = (exc, None)

        threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(count)]
        for t in threads:
            t.start()
        server_sessions = []
        for i in range(count):
            assert ready_events[i].wait(10)
            transport = server.complete(ready[i])
            assert transport.local_uri is paths[i][0]
            server_sessions.append(MSRPSession(transport, on_incoming_cb=on_incoming))
        for t in threads:
            t.join(30)
        assert all_in.wait(30)
        assert all(code == 200 for code, _ in results.values()), results
        assert sorted(received) == sorted(('srv-{}'.format(i), 'message {}'.format(i).encode())
                                          for i in range(count))
        for _, session in results.values():
            session.shutdown(wait=False)
        for session in server_sessions:
            session.shutdown(wait=False)
    finally:
        server.close()


def test_unknown_session_rejected_while_others_bind():
    server = MSRPServer()
    try:
        path = server.prepare(local('known'))
        good = Connecting(path, 'good')
        bad = Connecting([URI(host='127.0.0.1', port=path[0].port, use_tls=False, session_id='nosuch')], 'bad')
        with pytest.raises(MSRPNoSuchSessionError):
            bad.result()
        server_t = server.complete(good.path)
        client_t = good.result()
        srv, cli = GreenMSRPSession(server_t), GreenMSRPSession(client_t)
        cli.deliver_message('still fine', 'text/plain')
        assert srv.receive_chunk(timeout=5).data == b'still fine'
        cli.shutdown()
        srv.shutdown()
    finally:
        server.close()


def test_complete_for_checks_the_from_path():
    server = MSRPServer()
    try:
        path = server.prepare(local('for'))
        client = Connecting(path, 'client')
        elsewhere = [URI(host='127.0.0.1', port=1234, use_tls=False, session_id='someone-else')]
        with pytest.raises(MSRPNoSuchSessionError):
            server.complete_for(path[0], elsewhere)
        with pytest.raises(MSRPNoSuchSessionError):
            client.result()
        # A mismatch leaves the URI expected: a second attempt binds.
        client = Connecting(path, 'client')
        transport = server.complete_for(path[0], client.path)
        assert transport.local_uri is path[0]
        client.result().loseConnection()
        transport.loseConnection()
        # Once bound, the URI is no longer expected.
        with pytest.raises(MSRPNoSuchSessionError):
            server.complete_for(path[0], client.path)
    finally:
        server.close()


def test_logger_per_prepare():
    default_logger, own_logger = NullLogger(), NullLogger()
    server = MSRPServer(default_logger)
    try:
        path_own = server.prepare(local('own'), logger=own_logger)
        path_default = server.prepare(local('default'))
        one, two = Connecting(path_own, 'one'), Connecting(path_default, 'two')
        assert server.complete(one.path).logger is own_logger
        assert server.complete(two.path).logger is default_logger
        for c in (one, two):
            c.result().loseConnection()
    finally:
        server.close()


# ------------------------------------------------------------------ cleanup, close, timeouts

def test_cleanup_rejects_later_bindings():
    server = MSRPServer()
    try:
        path = server.prepare(local('gone'))
        kept = server.prepare(local('kept'))
        server.cleanup(path[0])
        server.cleanup(local('never-prepared'))  # ignored
        assert [u.session_id for u in server.expected_local_uris] == ['kept']
        with pytest.raises(MSRPNoSuchSessionError):
            Connecting(path, 'late').result()
        # A binding parked when cleanup runs is refused too.
        client = Connecting(kept, 'parked')
        time.sleep(0.2)
        server.cleanup(kept[0])
        with pytest.raises(MSRPNoSuchSessionError):
            client.result()
        assert server.expected_local_uris == []
    finally:
        server.close()


def test_close_wakes_complete_and_spares_bound_sessions():
    server = MSRPServer()
    path = server.prepare(local('bound'))
    client = Connecting(path, 'client')
    server_t = server.complete(client.path)
    srv, cli = GreenMSRPSession(server_t), GreenMSRPSession(client.result())

    server.prepare(local('waiting'))
    waiter = Waiting(server.complete, [URI(host='127.0.0.1', port=9, use_tls=False, session_id='x')])
    time.sleep(0.1)
    start = time.monotonic()
    server.close()
    waiter.join(10)
    assert time.monotonic() - start < 5
    assert isinstance(waiter.error, ConnectionDone)
    assert server.local_addresses == [] and server.timeouts is None
    server.close()  # idempotent

    # Nothing listens there any more.
    with pytest.raises(OSError):
        DirectConnector().complete(path)
    # The session bound before close still works.
    cli.deliver_message('after close', 'text/plain')
    assert srv.receive_chunk(timeout=5).data == b'after close'
    cli.shutdown()
    srv.shutdown()

    # complete() without a running server is a caller error; prepare()
    # starts listening again.
    with pytest.raises(RuntimeError):
        server.complete(client.path)
    again = server.prepare(local('again'))
    try:
        client = Connecting(again, 'client2')
        server.complete(client.path).loseConnection()
        client.result().loseConnection()
    finally:
        server.stopListening()


def test_timeouts_fixed_at_first_prepare(monkeypatch):
    monkeypatch.setattr(MSRPIncomingConnectTimeout, 'seconds', 0.2)
    server = MSRPServer()
    try:
        server.prepare(local())
        # Raised after the server started: not used until it restarts.
        monkeypatch.setattr(MSRPIncomingConnectTimeout, 'seconds', 60)
        assert server.timeouts == (30.0, 0.2, 30.0)
        remote = [URI(host='127.0.0.1', port=free_port(), use_tls=False, session_id='x')]
        start = time.monotonic()
        with pytest.raises(MSRPBindSessionTimeout) as info:  # what legacy callers catch
            server.complete(remote)
        assert isinstance(info.value, MSRPIncomingConnectTimeout)
        assert time.monotonic() - start < 5
        server.close()
        monkeypatch.setattr(MSRPIncomingConnectTimeout, 'seconds', 0.1)
        server.prepare(local())
        assert server.timeouts[1] == pytest.approx(0.1)
    finally:
        server.close()


def test_silent_peer_does_not_block_others():
    """A connection that never sends its bind SEND holds up nobody."""
    server = MSRPServer()
    try:
        path = server.prepare(local('busy'))
        silent = socket.create_connection(('127.0.0.1', path[0].port))
        try:
            client = Connecting(path, 'client')
            server.complete(client.path).loseConnection()
            client.result().loseConnection()
        finally:
            silent.close()
    finally:
        server.close()
