"""msgwire.ministream: the document's samples byte for byte over a raw TCP
socket, refusals, many streams, bulk data, a slow reader, destroy, bad
frames, frames, the socket API."""

import hashlib
import pathlib
import socket
import struct
import threading

import pytest

from msgwire import ministream
from msgwire.ministream import Frame, SocketManager

WAIT = 20.0


class Raw(object):
    """A TCP peer speaking the length-prefixed framing by hand."""

    def __init__(self, sock):
        self.sock = sock
        self.sock.settimeout(WAIT)

    @classmethod
    def connect(cls, destination):
        host, port = destination.rsplit(':', 1)
        return cls(socket.create_connection((host, int(port)), timeout=WAIT))

    def send(self, frame):
        self.sock.sendall(struct.pack('>I', len(frame)) + frame)

    def recv_exact(self, n):
        out = b''
        while len(out) < n:
            chunk = self.sock.recv(n - len(out))
            if not chunk:
                raise EOFError('closed after %d bytes' % len(out))
            out += chunk
        return out

    def recv(self):
        (n,) = struct.unpack('>I', self.recv_exact(4))
        return self.recv_exact(n)

    def at_eof(self):
        try:
            return self.sock.recv(1) == b''
        except OSError:
            return False

    def close(self):
        self.sock.close()


def raw_server():
    """A listening raw peer: (destination, accept())."""
    lsock = socket.socket()
    lsock.bind(('127.0.0.1', 0))
    lsock.listen(1)
    lsock.settimeout(WAIT)
    dest = '127.0.0.1:%d' % lsock.getsockname()[1]

    def accept():
        conn, _ = lsock.accept()
        lsock.close()
        return Raw(conn)
    return dest, accept


def in_thread(fn, *args):
    box = {}

    def run():
        try:
            box['value'] = fn(*args)
        except BaseException as e:  # reported by result()
            box['error'] = e
    t = threading.Thread(target=run, daemon=True)
    t.start()

    def result():
        t.join(WAIT * 3)
        assert not t.is_alive(), 'thread still running'
        if 'error' in box:
            raise box['error']
        return box.get('value')
    return result


def connected(a, b, listener):
    accepted = in_thread(listener.accept, WAIT)
    c = a.connect(b.destination, timeout=WAIT)
    return c, accepted()


@pytest.fixture
def tcp_pair():
    a = SocketManager.listen()
    b = SocketManager.listen()
    yield a, b
    a.close()
    b.close()


# ---- the samples, as the server side ----------------------------------------

def test_sample_a_as_server():
    with SocketManager.listen() as m:
        raw = Raw.connect(m.destination)
        raw.send(b'\xa1\x12\x34\x56key...')
        assert raw.recv() == b'\x52\x12\x34\x56'
        raw.close()


def test_sample_b_as_server():
    with SocketManager.listen() as m:
        listener = m.server_socket()
        raw = Raw.connect(m.destination)
        raw.send(b'\xa1\x23\x45\x67key...')
        s = listener.accept(WAIT)
        ack = raw.recv()
        assert ack[:4] == b'\x51\x23\x45\x67' and len(ack) == 7
        sid = ack[4:]
        assert int.from_bytes(sid, 'big') == s.local_id
        assert s.peer_destination == b'key...'
        s.sendall(b'data')
        assert raw.recv() == b'\x50\x23\x45\x67data'
        raw.send(b'\xa2' + sid)
        assert s.recv(10) == b''
        assert s.recv(10) == b''
        with pytest.raises(ministream.ConnectionReset):
            s.sendall(b'late')
        raw.close()


def test_sample_c_as_server():
    with SocketManager.listen() as m:
        listener = m.server_socket()
        raw = Raw.connect(m.destination)
        raw.send(b'\xa1\x11\x11\x11key...')
        s = listener.accept(WAIT)
        sid = raw.recv()[4:]
        raw.send(b'\xa0' + sid + b'GET /')
        assert s.recv(5) == b'GET /'
        s.sendall(b'data')
        s.sendall(b'more')
        s.close()
        assert raw.recv() == b'\x50\x11\x11\x11data'
        assert raw.recv() == b'\x50\x11\x11\x11more'
        assert raw.recv() == b'\x52\x11\x11\x11'
        raw.close()


# ---- the samples, as the client side ----------------------------------------

def test_sample_a_as_client():
    with SocketManager.listen() as m:
        dest, accept = raw_server()

        def peer():
            raw = accept()
            syn = raw.recv()
            assert syn[0] == 0xA1 and syn[4:] == m.destination.encode()
            raw.send(b'\x52' + syn[1:4])
            try:
                assert raw.at_eof()
            finally:
                raw.close()
        done = in_thread(peer)
        with pytest.raises(ministream.ConnectionRefused) as info:
            m.connect(dest, timeout=WAIT)
        assert isinstance(info.value, ConnectionRefusedError)
        m.close()
        done()


def test_sample_b_as_client():
    with SocketManager.listen() as m:
        dest, accept = raw_server()

        def peer():
            raw = accept()
            cid = raw.recv()[1:4]
            raw.send(b'\x51' + cid + b'\x98\x76\x54')
            raw.send(b'\x50' + cid + b'data')
            try:
                assert raw.recv() == b'\xa2\x98\x76\x54'
            finally:
                raw.close()
        done = in_thread(peer)
        with m.connect(dest, timeout=WAIT) as s:
            assert s.remote_id == 0x987654
            assert s.recv(4) == b'data'
        done()


def test_sample_c_as_client():
    with SocketManager.listen() as m:
        dest, accept = raw_server()

        def peer():
            raw = accept()
            cid = raw.recv()[1:4]
            raw.send(b'\x51' + cid + b'\xff\xff\xff')
            assert raw.recv() == b'\xa0\xff\xff\xffGET /'
            raw.send(b'\x50' + cid + b'data')
            raw.send(b'\x50' + cid + b'more')
            raw.send(b'\x51' + cid)  # the sample's bare 51, read as a Close
            raw.close()
        done = in_thread(peer)
        s = m.connect(dest, timeout=WAIT)
        s.sendall(b'GET /')
        got = b''
        while True:
            chunk = s.recv(100)
            if not chunk:
                break
            got += chunk
        assert got == b'datamore'
        s.close()
        done()


# ---- refusal and timeouts ------------------------------------------------------

def test_refused_with_nobody_listening_and_after_the_accept_timeout():
    a, b = SocketManager.in_memory_pair(accept_timeout=0.2)
    with a, b:
        with pytest.raises(ministream.ConnectionRefused):
            a.connect(b.destination)
        b.server_socket()  # listening, but nobody calls accept()
        with pytest.raises(ministream.ConnectionRefused):
            a.connect(b.destination, timeout=WAIT)
        assert b.list_sockets() == []


def test_syns_beyond_the_accept_backlog_are_refused_at_once():
    a, b = SocketManager.in_memory_pair(accept_backlog=1, accept_timeout=60.0)
    with a, b:
        listener = b.server_socket()
        first = {}
        waiting = threading.Thread(
            target=lambda: first.setdefault('socket', a.connect(b.destination, timeout=WAIT)))
        waiting.start()
        while len(b.list_sockets()) < 1:
            threading.Event().wait(0.001)
        # The accept timeout is a minute: only the backlog refuses this one.
        with pytest.raises(ministream.ConnectionRefused):
            a.connect(b.destination, timeout=WAIT / 2)
        accepted = listener.accept(timeout=WAIT)
        waiting.join(WAIT)
        first['socket'].sendall(b'in the backlog')
        assert accepted.recv(100) == b'in the backlog'
    with pytest.raises(ValueError):
        SocketManager.in_memory_pair(accept_backlog=0)


def test_accept_and_recv_timeouts():
    a, b = SocketManager.in_memory_pair()
    with a, b:
        listener = b.server_socket()
        with pytest.raises(ministream.Timeout) as info:
            listener.accept(timeout=0.05)
        assert isinstance(info.value, TimeoutError)
        c, s = connected(a, b, listener)
        s.settimeout(0.05)
        assert s.gettimeout() == 0.05
        with pytest.raises(ministream.Timeout):
            s.recv(10)
        c.sendall(b'still fine')
        assert s.recv(100) == b'still fine'
        info = a.list_sockets()
        assert info == [('client', c.local_id, c.remote_id, b.destination.encode(), 'established')]


def test_sendall_times_out_against_a_peer_that_does_not_read():
    a, b = SocketManager.in_memory_pair()
    with a, b:
        c, s = connected(a, b, b.server_socket())
        c.settimeout(0.2)
        blocks = [bytes([i % 251]) * 65536 for i in range(1024)]
        done = 0
        with pytest.raises(ministream.Timeout) as info:
            for block in blocks:
                c.sendall(block)
                done += 1
        assert isinstance(info.value, TimeoutError)
        # Back-pressure stopped it well before the 64 MiB on offer (the
        # stream's window and the link's queue are bounded).
        assert 0 < done < 512
        # What arrives is the blocks handed over, then at most part of
        # the one that timed out, then what is sent after: in order,
        # nothing lost, nothing doubled.
        c.settimeout(WAIT)
        tail = b'after the timeout'
        sender = in_thread(c.sendall, tail)
        expected_prefix = b''.join(blocks[:done])
        got = b''
        s.settimeout(WAIT)
        while not got.endswith(tail):
            chunk = s.recv(1 << 20)
            assert chunk, 'stream ended early'
            got += chunk
        sender()
        assert got.startswith(expected_prefix)
        middle = got[len(expected_prefix):-len(tail)]
        assert blocks[done].startswith(middle)


# ---- many streams, bulk, back-pressure -----------------------------------------

def test_two_hundred_streams_both_directions(tcp_pair):
    a, b = tcp_pair
    n = 100
    errors = []

    def serve(listener):
        workers = []
        for _ in range(n):
            s = listener.accept(WAIT)

            def work(s=s):
                try:
                    head = b''
                    while len(head) < 8:
                        head += s.recv(8 - len(head))
                    i, length = struct.unpack('>II', head)
                    body = b''
                    while len(body) < length:
                        body += s.recv(length - len(body))
                    assert body == bytes((k * 7 + i) % 256 for k in range(length))
                    s.sendall(body[::-1])
                    assert s.recv(1) == b''
                except BaseException as e:
                    errors.append(e)
            t = threading.Thread(target=work, daemon=True)
            t.start()
            workers.append(t)
        for t in workers:
            t.join(WAIT * 3)

    servers = [threading.Thread(target=serve, args=(m.server_socket(),), daemon=True) for m in (a, b)]
    for t in servers:
        t.start()

    def client(src, dst, i):
        try:
            length = 50 + i * 41
            body = bytes((k * 7 + i) % 256 for k in range(length))
            s = src.connect(dst.destination, timeout=WAIT)
            s.sendall(struct.pack('>II', i, length) + body)
            back = b''
            while len(back) < length:
                back += s.recv(length - len(back))
            assert back == body[::-1], i
            s.close()
        except BaseException as e:
            errors.append(e)

    clients = []
    for k, (src, dst) in enumerate(((a, b), (b, a))):
        for j in range(n):
            t = threading.Thread(target=client, args=(src, dst, k * n + j), daemon=True)
            t.start()
            clients.append(t)
    for t in clients + servers:
        t.join(WAIT * 3)
        assert not t.is_alive()
    assert errors == []
    assert a.stats()['malformed'] == 0


def test_64_mib_on_one_stream_with_a_hash(tcp_pair):
    a, b = tcp_pair
    listener = b.server_socket()
    total = 64 << 20
    block = hashlib.sha256(b'seed').digest() * (1 << 15)  # 1 MiB

    def receive():
        s = listener.accept(WAIT)
        h = hashlib.sha256()
        n = 0
        while True:
            chunk = s.recv(1 << 20)
            if not chunk:
                break
            h.update(chunk)
            n += len(chunk)
        return n, h.hexdigest()
    done = in_thread(receive)
    s = a.connect(b.destination, timeout=WAIT)
    h = hashlib.sha256()
    for i in range(total // len(block)):
        piece = bytes([i % 256]) + block[1:]
        s.sendall(piece)
        h.update(piece)
    assert s.bytes_sent == total
    s.close()
    n, digest = done()
    assert n == total
    assert digest == h.hexdigest()


def test_a_slow_reader_loses_nothing():
    a = SocketManager.listen()
    b = SocketManager.listen(buffer_size=4096)
    with a, b:
        listener = b.server_socket()
        per = 1 << 20
        senders = []
        for tag in range(3):
            def send(tag=tag):
                s = a.connect(b.destination, timeout=WAIT)
                s.sendall(bytes([tag]))
                s.sendall(bytes([tag]) * per)
                s.close()
            senders.append(in_thread(send))
        results = []
        for _ in range(3):
            s = listener.accept(WAIT)

            def read(s=s):
                tag = s.recv(1)[0]
                got = bytearray()
                while True:
                    if tag == 0:
                        threading.Event().wait(0.0002)  # the slow one
                    chunk = s.recv(1000)
                    if not chunk:
                        return tag, bytes(got)
                    got += chunk
            results.append(in_thread(read))
        for r in senders:
            r()
        for r in results:
            tag, got = r()
            assert got == bytes([tag]) * per


# ---- destroy, ping ---------------------------------------------------------------

def test_destroy_with_open_streams(tcp_pair):
    a, b = tcp_pair
    listener = b.server_socket()
    pairs = [connected(a, b, listener) for _ in range(3)]
    blocked = in_thread(pairs[0][0].recv, 10)
    accepting = in_thread(a.server_socket().accept)
    threading.Event().wait(0.05)
    a.close()
    assert a.closed
    with pytest.raises(ministream.Closed):
        blocked()
    with pytest.raises(ministream.Closed):
        accepting()
    for c, s in pairs:
        assert s.recv(10) == b''  # the peer's Close
        with pytest.raises(ministream.Closed):
            c.sendall(b'x')
    with pytest.raises(ministream.Closed):
        a.connect(b.destination)


def test_ping(tcp_pair):
    a, b = tcp_pair
    assert a.ping(b.destination, 5.0) is True
    lsock = socket.socket()
    lsock.bind(('127.0.0.1', 0))
    dead = '127.0.0.1:%d' % lsock.getsockname()[1]
    lsock.close()
    assert a.ping(dead, 5.0) is False


# ---- bad frames ------------------------------------------------------------------

def test_bad_frames_give_the_documented_result():
    with SocketManager.listen() as m:
        listener = m.server_socket()
        raw = Raw.connect(m.destination)
        raw.send(b'\xa1\x00\x00\x07me')
        s = listener.accept(WAIT)
        sid = raw.recv()[4:]
        raw.send(b'\xa0\x00\x00\x00zero id')        # dropped, counted
        raw.send(b'\x10\x00\x00\x07type out of range')
        raw.send(b'\xa5\x00\x00\x07unknown in range')
        raw.send(b'\xa0\x01')                       # truncated frame
        raw.send(b'\xa0\x00\x00\x09nobody')          # unknown stream
        raw.send(b'\xa0' + sid + b'ok')
        assert s.recv(2) == b'ok'
        stats = m.stats()
        assert (stats['malformed'], stats['unknown_type'], stats['unknown_stream']) == (3, 1, 1)
        s.sendall(b'works')
        assert raw.recv() == b'\x50\x00\x00\x07works'

        # Another connection with its own stream keeps working when this
        # one sends an over-long length prefix (which closes it).
        other = Raw.connect(m.destination)
        other.send(b'\xa1\x00\x00\x08other')
        s2 = listener.accept(WAIT)
        sid2 = other.recv()[4:]
        raw.sock.sendall(struct.pack('>I', 1 << 20) + b'\xa0')
        assert raw.at_eof()
        with pytest.raises(ministream.TransportError):
            s.recv(1)
        assert m.stats()['framing_errors'] == 1
        other.send(b'\xa0' + sid2 + b'fine')
        assert s2.recv(4) == b'fine'
        raw.close()
        other.close()


def test_frames_encode_and_decode():
    assert Frame(ministream.SYN, 0x123456, b'key').encode() == b'\xa1\x12\x34\x56key'
    assert Frame(ministream.ACK, 0x234567, b'\x98\x76\x54').encode_prefixed() == \
        b'\x00\x00\x00\x07\x51\x23\x45\x67\x98\x76\x54'
    assert Frame.decode(b'\x52\x12\x34\x56') == Frame(0x52, 0x123456, b'')
    assert Frame.decode(b'\x50\x11\x11\x11data') == (0x50, 0x111111, b'data')
    assert Frame.decode(b'\xff') == Frame(0xFF, 0, b'')
    for bad in (b'', b'\xa0\x01', b'\xa0\x00\x00\x00x', b'\x10\x00\x00\x01'):
        with pytest.raises(ministream.ProtocolError):
            Frame.decode(bad)
    with pytest.raises(ValueError):
        Frame(0xA0, 0, b'').encode()


def test_makefile_and_context_managers():
    a, b = SocketManager.in_memory_pair()
    with a, b:
        listener = b.server_socket()
        c, s = connected(a, b, listener)
        with c, s:
            w = c.makefile('wb')
            w.write(b'line one\nline two\n')
            w.flush()
            r = s.makefile('rb')
            assert r.readline() == b'line one\n'
            assert r.readline() == b'line two\n'
            assert s.peer_destination == a.destination.encode()
            assert s.local_destination == b.destination.encode()
            assert c.bytes_sent == 18 and s.bytes_received == 18


def test_open_holds_data_until_the_peer_accepts():
    a, b = SocketManager.in_memory_pair()
    with a, b:
        listener = b.server_socket()
        s = a.open(b.destination)
        s.sendall(b'before the ack')
        s.close()
        t = listener.accept(WAIT)
        assert t.recv(100) == b'before the ack'
        assert t.recv(100) == b''


# ---- connect timeout, the GIL, TLS ----------------------------------------------

def test_connect_times_out_without_an_ack():
    dest, accept = raw_server()
    m = SocketManager.listen()
    with m:
        peer = in_thread(accept)
        with pytest.raises(ministream.Timeout) as info:
            m.connect(dest, timeout=0.2)
        assert isinstance(info.value, TimeoutError)
        raw = peer()
        syn = raw.recv()
        assert syn[0] == ministream.SYN and syn[4:] == m.destination.encode()
        raw.close()


def test_blocking_calls_release_the_gil():
    # A recv blocked in native code must let other Python threads run: the
    # main thread computes in Python, then sends what the reader waits for.
    a, b = SocketManager.in_memory_pair()
    with a, b:
        c, s = connected(a, b, b.server_socket())
        got = in_thread(s.recv, 100)
        total = sum(i * i for i in range(200000))
        c.sendall(str(total).encode())
        assert got() == str(total).encode()


TLS_DATA = pathlib.Path(__file__).resolve().parent.parent / 'data' / 'tls'


def _credentials(ca='ca.pem', cert=True):
    from msrplib.tls import X509Certificate, X509Credentials, X509PrivateKey
    return X509Credentials(
        X509Certificate((TLS_DATA / 'server.pem').read_text()) if cert else None,
        X509PrivateKey((TLS_DATA / 'server.key').read_text()) if cert else None,
        trusted=[X509Certificate((TLS_DATA / ca).read_text())])


def test_tls_managers():
    a = SocketManager.listen(credentials=_credentials())
    b = SocketManager.listen(credentials=_credentials())
    with a, b:
        listener = b.server_socket()
        c, s = connected(a, b, listener)
        c.sendall(b'over tls')
        assert s.recv(100) == b'over tls'
        s.sendall(b'back')
        assert c.recv(100) == b'back'
        # A plain peer's SYN is no TLS handshake: dropped, no reply.
        raw = Raw.connect(b.destination)
        raw.send(Frame(ministream.SYN, 0x123456, b'key').encode())
        with pytest.raises((EOFError, OSError)):
            raw.recv()
        raw.close()
        # A manager trusting another CA cannot reach b.
        with SocketManager.listen(credentials=_credentials('other-ca.pem')) as stranger:
            with pytest.raises(ministream.TransportError):
                stranger.connect(b.destination, timeout=WAIT)
    with pytest.raises(ValueError):
        SocketManager.listen(credentials=_credentials(cert=False))
