"""sts.inetsocket, sts.inetmgr and msgwire.sts over loopback TCP: replies
in all shapes, fragments in any order, sequence errors, timeouts and late
replies, pings, idle drops, many requests in flight, broadcast to many
clients, detach/attach."""

import os
import random
import socket
import sys
import threading
import time

import pytest

from msgwire.sts import StsServer
from sts import inetmgr, inetsocket
from sts.ineterr import BAD_SERVER_DATA, SUCCESS, TIMEOUT, Error
from sts.inetheaders import CONTENT_TYPE, SUBJECT, Header
from sts.inetmsg import RequestLine, read_message

pytestmark = pytest.mark.timeout(60)


def connect_to(port):
    return socket.create_connection(('127.0.0.1', port), timeout=10)


class RawPeer(object):
    """A listening socket whose single accepted connection the test drives
    by hand."""

    def __init__(self):
        self.listener = socket.socket()
        self.listener.bind(('127.0.0.1', 0))
        self.listener.listen(1)
        self.port = self.listener.getsockname()[1]
        self.conn = None

    def accept(self):
        self.listener.settimeout(10)
        self.conn, _ = self.listener.accept()
        self.conn.settimeout(10)
        self.fp = self.conn.makefile('rb')
        return self.conn

    def read(self):
        return read_message(self.fp)

    def send(self, data):
        self.conn.sendall(data)

    def close(self):
        # Closed before the client, so that its graceful close (which
        # waits for the peer's side to close) returns at once.
        if self.conn is not None:
            self.fp.close()
            self.conn.close()
            self.conn = None
        self.listener.close()


@pytest.fixture
def raw():
    peer = RawPeer()
    yield peer
    peer.close()


@pytest.fixture
def client_of(raw):
    """An inetsocket.Socket connected to the raw peer."""
    made = []

    def make():
        sock = connect_to(raw.port)
        raw.accept()
        s = inetsocket.Socket(sock)
        made.append((s, sock))
        return s
    yield make
    raw.close()
    for s, sock in made:
        s.close()
        sock.close()


def reply(sid, mark, body=b'', status='200 OK', extra=b''):
    head = 'STS/1.0 {}\r\ns: {}{}\r\n'.format(status, sid, mark).encode() + extra
    return head + b'l: %d\r\n\r\n' % len(body) + body


def test_request_on_the_wire_and_one_reply(raw, client_of):
    s = client_of()
    result = {}
    t = threading.Thread(target=lambda: result.update(r=s.request_one('Chat', 'Send', body='<Msg>hi</Msg>')))
    t.start()
    start, headers, body = raw.read()
    assert start == RequestLine('P', '/Chat/Send')
    assert headers[SUBJECT] == '1' and body == b'<Msg>hi</Msg>\n'
    raw.send(reply(1, 'R', b'<Ok/>\n'))
    t.join(10)
    err, msg = result['r']
    assert err.code == SUCCESS
    assert msg[1] == b'<Ok/>\n' and msg[0][SUBJECT] == '1R'
    # Keyed like read_message's dictionaries: Header objects.
    assert [type(k) for k in msg[0]] == [Header] * len(msg[0])
    assert msg[0] == {Header('s'): '1R', Header('l'): '6'}


def test_partial_then_final_and_error_reply(raw, client_of):
    s = client_of()
    it = s.request_many('A', 'B')
    sid = raw.read()[1][SUBJECT]
    raw.send(reply(sid, 'r1', b'<Item id="1"/>\n') + reply(sid, 'R2', b'<Item id="2"/>\n'))
    items = list(it)
    assert [e.code for e, _ in items] == [SUCCESS, SUCCESS]
    assert [m[1] for _, m in items] == [b'<Item id="1"/>\n', b'<Item id="2"/>\n']

    err_body = b'<Error code="7" server="0" module="0" line="0" text="denied" />\n'
    items = []
    t = threading.Thread(target=lambda: items.extend(s.request_many('A', 'B')))
    t.start()
    sid = raw.read()[1][SUBJECT]
    raw.send(reply(sid, 'R', err_body, status='400 Error'))
    t.join(10)
    assert items == [(Error(7, 0, 0, 0, 'denied'), None)]


def test_request_one_with_a_partial_is_bad_server_data(raw, client_of):
    s = client_of()
    out = {}
    t = threading.Thread(target=lambda: out.update(r=s.request_one('A', 'B', timeout=5)))
    t.start()
    sid = raw.read()[1][SUBJECT]
    raw.send(reply(sid, 'r1', b'x'))
    t.join(10)
    err, msg = out['r']
    assert err.code == BAD_SERVER_DATA and msg is None


def test_request_none(raw, client_of):
    s = client_of()
    out = {}
    t = threading.Thread(target=lambda: out.update(a=s.request_none('A', 'B'), b=s.request_none('A', 'C')))
    t.start()
    sid = raw.read()[1][SUBJECT]
    raw.send(reply(sid, 'R', b'\n'))
    sid = raw.read()[1][SUBJECT]
    raw.send(reply(sid, 'R', b'<x/>\n'))
    t.join(10)
    assert isinstance(out['a'], Error) and out['a'].code == SUCCESS
    assert out['b'].code == BAD_SERVER_DATA and out['b'].text == 'request_none, message response'


@pytest.mark.parametrize('marks', [['r2'], ['r1', 'r3'], ['r1', 'R'], ['r1', 'r1'], ['R2']])
def test_out_of_sequence_is_bad_server_data(raw, client_of, marks):
    s = client_of()
    it = s.request_many('A', 'B', timeout=5)
    sid = raw.read()[1][SUBJECT]
    raw.send(b''.join(reply(sid, m, b'x') for m in marks))
    items = list(it)
    assert items[-1][0].code == BAD_SERVER_DATA, items
    assert items[-1][1] is None
    assert all(e.code == SUCCESS for e, _ in items[:-1])


@pytest.mark.parametrize('seed', range(4))
def test_fragmented_reply_in_random_order(raw, client_of, seed):
    rnd = random.Random(seed)
    content = bytes(rnd.randrange(256) for _ in range(1000))
    pieces = [(i, min(i + 97, len(content))) for i in range(0, len(content), 97)]
    order = list(range(len(pieces)))
    rnd.shuffle(order)
    s = client_of()
    it = s.request_many('A', 'B', timeout=10)
    sid = raw.read()[1][SUBJECT]
    wire = b''
    for n, k in enumerate(order, 1):
        a, b = pieces[k]
        mark = 'R%d' % n if n == len(order) else 'r%d' % n
        rng = 'n: bytes {}-{}/{}\r\nc: application/octet-stream\r\n'.format(a, b - 1, len(content)).encode()
        wire += reply(sid, mark, content[a:b], extra=rng)
    raw.send(wire)
    items = list(it)
    assert len(items) == 1
    err, (headers, body) = items[0]
    assert err.code == SUCCESS and body == content


def test_fragmented_request_to_the_server_reassembled():
    got = []
    with StsServer(port=0) as server:
        @server.route('Up', 'Load')
        def load(request):
            got.append(request.body)
            request.responder.reply(b"<ok/>")

        sock = connect_to(server.port)
        content = os.urandom(500)
        parts = [(0, 200), (400, 500), (200, 400)]
        for n, (a, b) in enumerate(parts):
            sock.sendall('P /Up/Load STS/1.0\r\ns: 9\r\nn: bytes {}-{}/500\r\nc: x/y\r\nl: {}\r\n\r\n'
                         .format(a, b - 1, b - a).encode() + content[a:b])
        fp = sock.makefile('rb')
        start, headers, body = read_message(fp)
        assert start.code == 200 and headers[SUBJECT] == '9R' and body == b'<ok/>\n'
        assert got == [content]
        fp.close()
        sock.close()


def test_fragments_between_socket_and_server_both_ways():
    big = os.urandom(200000)
    with StsServer() as server:
        @server.route('Big', 'Echo')
        def echo(request):
            request.responder.reply(request.body, {'c': 'application/octet-stream'})

        sock = connect_to(server.port)
        s = inetsocket.Socket(sock)
        err, (headers, body) = s.request_one('Big', 'Echo', {CONTENT_TYPE: 'application/octet-stream'}, big)
        assert err.code == SUCCESS and body == big
        s.close()
        sock.close()


def test_timeout_synthesized_and_late_reply_dropped(raw, client_of):
    s = client_of()
    t0 = time.monotonic()
    items = list(s.request_many('Slow', 'Op', timeout=0.3))
    assert time.monotonic() - t0 < 5
    assert len(items) == 1
    err, msg = items[0]
    assert (err.code, err.server, err.module, err.text) == (TIMEOUT, 0, 0, '') and msg is None
    sid = raw.read()[1][SUBJECT]
    # The late reply, then a notification: read() sees only the latter.
    raw.send(reply(sid, 'R', b'<late/>\n') + b'P /Push/Note STS/1.0\r\nl: 7\r\n\r\n<note/>')
    got = s.read(timeout=5)
    assert got[:2] == ('Push', 'Note') and got[3] == b'<note/>'
    assert s.read(timeout=0.2) is None


def test_ping_after_idle(raw, monkeypatch):
    monkeypatch.setattr(inetsocket, 'AUTO_PING_SECONDS', 0.2)
    sock = connect_to(raw.port)
    raw.accept()
    s = inetsocket.Socket(sock)
    try:
        raw.conn.settimeout(5)
        expected = b'P /Sts/Ping STS/1.0\r\nl: 1\r\n\r\n\n'
        data = b''
        while len(data) < len(expected):
            data += raw.conn.recv(len(expected) - len(data))
        assert data == expected
    finally:
        raw.close()
        s.close()
        sock.close()


def test_server_drops_an_idle_client():
    with StsServer(idle_timeout=0.3) as server:
        sock = connect_to(server.port)
        sock.settimeout(10)
        t0 = time.monotonic()
        assert sock.recv(100) == b''  # closed by the server
        assert time.monotonic() - t0 < 8
        sock.close()


def test_pinging_client_is_not_dropped(monkeypatch):
    monkeypatch.setattr(inetsocket, 'AUTO_PING_SECONDS', 0.1)
    with StsServer(idle_timeout=0.5) as server:
        server.route('A', 'B', lambda r: r.responder.reply(b'<ok/>'))
        sock = connect_to(server.port)
        s = inetsocket.Socket(sock)
        time.sleep(1.2)
        assert not s.is_closed()
        assert s.request_one('A', 'B')[0].code == SUCCESS
        s.close()
        sock.close()


def test_thousand_concurrent_requests_on_one_connection():
    with StsServer() as server:
        @server.route('Calc', 'Double')
        def double(request):
            n = int(request.body)
            request.responder.reply(str(2 * n).encode(), {'c': 'text/plain'})

        sock = connect_to(server.port)
        s = inetsocket.Socket(sock)
        its = [s.request_many('Calc', 'Double', {CONTENT_TYPE: 'text/plain'}, str(i))
               for i in range(1000)]
        results = [list(it) for it in its]
        bad = [(i, r) for i, r in enumerate(results) if not (len(r) == 1 and r[0][0].code == SUCCESS)]
        assert not bad, (len(bad), bad[:3])
        assert [int(r[0][1][1]) for r in results] == [2 * i for i in range(1000)]

        out = [None] * 200

        def worker(k):
            for i in range(k, 200, 8):
                out[i] = s.request_one('Calc', 'Double', {CONTENT_TYPE: 'text/plain'}, str(i))
        threads = [threading.Thread(target=worker, args=(k,)) for k in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        assert [int(r[1][1]) for r in out] == [2 * i for i in range(200)]
        s.close()
        sock.close()


def test_handlers_of_one_connection_share_their_thread_state():
    # Handlers run on the connection's reader thread, which keeps one
    # Python thread state: threading.local data lives from one request to
    # the next (a thread state made per call would start it afresh).
    seen = threading.local()
    with StsServer() as server:
        @server.route('Count', 'Next')
        def count(request):
            seen.n = getattr(seen, 'n', 0) + 1
            request.responder.reply(str(seen.n).encode(), {'c': 'text/plain'})

        sock = connect_to(server.port)
        s = inetsocket.Socket(sock)
        got = [s.request_one('Count', 'Next') for _ in range(5)]
        assert [(e.code, int(m[1])) for e, m in got] == [(SUCCESS, n) for n in range(1, 6)]
        s.close()
        sock.close()


def test_broadcast_reaches_fifty_clients():
    with StsServer() as server:
        socks = [connect_to(server.port) for _ in range(50)]
        clients = [inetsocket.Socket(x) for x in socks]
        deadline = time.monotonic() + 10
        while len(server.clients()) < 50 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert len(server.clients()) == 50
        assert server.broadcast('News', 'Flash', b'<Flash/>') == 50
        for c in clients:
            got = c.read(timeout=10)
            assert got[0] == 'News' and got[1] == 'Flash' and got[3] == b'<Flash/>\n'
        first = server.clients()[0][0]
        assert server.broadcast('News', 'One', b'<x/>', to=[first]) == 1
        for c in clients:
            c.close()
        for x in socks:
            x.close()


def test_unknown_command_and_handler_error(monkeypatch):
    seen = []
    monkeypatch.setattr(sys, 'unraisablehook', seen.append)
    with StsServer() as server:
        def boom(request):
            raise RuntimeError('boom')
        server.route('A', 'Boom', boom)
        sock = connect_to(server.port)
        s = inetsocket.Socket(sock)
        err, msg = s.request_one('No', 'Such')
        assert err.code == 404 and '/No/Such' in err.text and msg is None
        err, msg = s.request_one('A', 'Boom')
        assert err.code == 500 and 'boom' in err.text
        assert len(seen) == 1 and isinstance(seen[0].exc_value, RuntimeError)
        s.close()
        sock.close()


def test_detach_and_attach_again(raw):
    sock = connect_to(raw.port)
    raw.accept()
    s = inetsocket.Socket(sock)
    s.send('A', 'One', body=b'<1/>')
    assert raw.read()[0] == RequestLine('P', '/A/One')
    t0 = time.monotonic()
    back = s.detach_socket()
    assert time.monotonic() - t0 < 3
    assert back is sock and s.is_closed()
    # The socket object is still usable by its owner.
    back.sendall(b'P /Raw/Bytes STS/1.0\r\nl: 0\r\n\r\n')
    assert raw.read()[0] == RequestLine('P', '/Raw/Bytes')
    raw.send(b'hello')
    assert back.recv(5) == b'hello'
    with pytest.raises(AssertionError):
        s.detach_socket()
    s.attach_socket(back)
    assert not s.is_closed()
    s.send('A', 'Two')
    assert raw.read()[0] == RequestLine('P', '/A/Two')
    with pytest.raises(AssertionError):
        s.attach_socket(back)
    raw.close()
    s.close()
    sock.close()


def test_closed_connection_is_reported(raw, client_of):
    s = client_of()
    it = s.request_many('A', 'B', timeout=10)
    raw.read()
    raw.fp.close()
    raw.conn.close()
    items = list(it)
    assert items[-1][0].code == BAD_SERVER_DATA
    deadline = time.monotonic() + 5
    while not s.is_closed() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert s.is_closed()
    assert s.read(timeout=1) is None


def test_inetmgr_connect_body(raw):
    sock = connect_to(raw.port)
    raw.accept()
    s = inetmgr.connect(sock, 'Client', 'Gw2 & <x>', 1234)
    try:
        assert isinstance(s, inetsocket.Socket)
        raw.conn.settimeout(5)
        expected_body = ('<Connect><ConnType>Client</ConnType><Program>Gw2 &amp; &lt;x&gt;</Program>'
                         '<Build>1234</Build><Process>{}</Process><ProductType>1000</ProductType>'
                         '<AppIndex>1</AppIndex><Address>127.0.0.1</Address></Connect>\n'
                         ).format(os.getpid()).encode()
        expected = b'P /Sts/Connect STS/1.0\r\nl: %d\r\n\r\n' % len(expected_body) + expected_body
        data = b''
        while len(data) < len(expected):
            data += raw.conn.recv(4096)
        assert data == expected
    finally:
        raw.close()
        s.close()
        sock.close()


def test_msgwire_client_and_server_push():
    from msgwire import sts as msts
    with StsServer() as server:
        @server.route('Chat', 'List')
        def list_(request):
            for i in range(3):
                request.responder.partial('<Item n="{}"/>'.format(i))
            request.responder.reply(b'<End/>', headers={'X-Count': '3'})

        with msts.connect(server.address) as c:
            replies = list(c.request('Chat', 'List', '<q/>'))
            assert [r.is_final for r in replies] == [False] * 3 + [True]
            assert replies[-1].headers[Header('x-count')] == '3'
            with pytest.raises(msts.StsRequestError) as e:
                c.request_one('No', 'Where')
            assert e.value.error.code == 404
            cid = server.clients()[0][0]
            assert server.send(cid, 'Push', 'Hello', b'<hi/>')
            got = c.read(timeout=5)
            assert (got.protocol, got.command, got.body) == ('Push', 'Hello', b'<hi/>\n')
