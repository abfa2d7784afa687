"""The `msgwire relay` command (built by `make build`) with the legacy
msrplib client on 127.0.0.1: TLS with a CA made at test time, a chat
message and a 64 MiB file through the relay with the hash checked, the
status pages, and SIGTERM while a transfer runs (both ends see the
transfer fail, nothing hangs, the relay exits 0); over raw connections, a
replayed nonce count, a spoofed From-Path (403) and an unknown session
(481); a wrong password, an out-of-bounds Expires retried within the
bound, and two relays chained, through the legacy client."""

import hashlib
import os
import re
import signal
import subprocess
import threading
import time
import urllib.request

import pytest

from msrplib import protocol
from msrplib.connect import DirectAcceptor, MSRPRelaySettings, RelayConnection
from msrplib.session import MessageStored, MSRPSession, OutgoingFile
from msrplib.tls import X509Credentials

from test_file_transfer import make_file, sha256_of

pytestmark = pytest.mark.timeout(180)

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BINARY = os.path.join(ROOT, 'target', 'release', 'msgwire')
REALM = 'relay.test'
MiB = 1 << 20


class CliRelay(object):
    """`msgwire relay` in a child process, with plain TCP, TLS and status
    listeners on 127.0.0.1 port 0."""

    def __init__(self, tmp_path, made_ca):
        if not os.path.exists(BINARY):
            pytest.fail('{} is missing: run `make build` first'.format(BINARY))
        users = tmp_path / 'users'
        users.write_text('# test users\nalice:secret\nbob:{}:{}\n'.format(
            REALM, hashlib.md5('bob:{}:pw'.format(REALM).encode()).hexdigest()))
        self.process = subprocess.Popen(
            [BINARY, 'relay', '--listen', '127.0.0.1:0', '--cert', str(made_ca / 'server.pem'),
             '--key', str(made_ca / 'server.key'), '--users', str(users), '--realm', REALM,
             '--plain-tcp', '127.0.0.1:0', '--status', '127.0.0.1:0'],
            stderr=subprocess.PIPE, text=True)
        self.log = []
        while True:
            line = self.process.stderr.readline()
            assert line, 'the relay ended before listening: {}'.format(self.log)
            self.log.append(line)
            found = re.match(r'listening tls=(\S+) plain=(\S+) status=(\S+)', line)
            if found:
                self.tls, self.plain, self.status = found.groups()
                break
        # Keep draining its log so it never blocks on a full pipe.
        self.reader = threading.Thread(target=lambda: self.log.extend(self.process.stderr), daemon=True)
        self.reader.start()

    @staticmethod
    def port(address):
        return int(address.rsplit(':', 1)[1])

    def stop(self, sig=signal.SIGTERM):
        if self.process.poll() is None:
            self.process.send_signal(sig)
        code = self.process.wait(30)
        self.reader.join(10)
        self.process.stderr.close()
        return code


@pytest.fixture
def relay(tmp_path, made_ca):
    r = CliRelay(tmp_path, made_ca)
    yield r
    r.stop(signal.SIGKILL)


def relayed_pair(relay_port, use_tls=False, credentials=None, user='alice', password='secret'):
    """A relayed sender (active, through the relay) and a direct acceptor,
    bound: (sender transport, receiver transport)."""
    settings = MSRPRelaySettings(REALM, user, password, host='127.0.0.1', port=relay_port,
                                 use_tls=use_tls, credentials=credentials)
    conn = RelayConnection(settings, 'active')
    local = protocol.URI(host='127.0.0.1', port=0, use_tls=use_tls)
    a_path = conn.prepare(local)
    acceptor = DirectAcceptor()
    b_path = acceptor.prepare(protocol.URI(host='127.0.0.1', port=0, use_tls=False))
    out = {}
    t = threading.Thread(target=lambda: out.setdefault('b', acceptor.complete(a_path)))
    t.start()
    a = conn.complete(b_path)
    t.join(30)
    return a, out['b']


class Received(object):
    def __init__(self):
        self.items = []
        self.changed = threading.Condition()

    def add(self, item):
        with self.changed:
            self.items.append(item)
            self.changed.notify_all()

    def incoming(self, chunk=None, error=None):
        self.add(('closed', error) if chunk is None else ('chunk', chunk))

    def wait_for(self, predicate, timeout=60):
        with self.changed:
            assert self.changed.wait_for(lambda: any(predicate(i) for i in self.items), timeout), self.items
            return next(i for i in self.items if predicate(i))


def sessions(tmp_path, a, b, stored):
    rx = Received()

    def sink(message_id, content_type, total):
        if content_type == 'text/plain':
            return None
        f = open(str(tmp_path / 'received.bin'), 'wb')
        stored.append(f)
        return f

    sender = MSRPSession(a, on_incoming_cb=lambda chunk=None, error=None: None)
    receiver = MSRPSession(b, on_incoming_cb=rx.incoming, on_message_event=lambda e: rx.add(('event', e)),
                           deliver_whole_messages=True, max_message_size=1 << 30, file_sink=sink)
    return sender, receiver, rx


def test_chat_and_a_64_mib_file_through_the_cli_relay_over_tls(tmp_path, relay, made_ca):
    ca = (made_ca / 'ca.pem').read_text()
    a, b = relayed_pair(relay.port(relay.tls), use_tls=True, credentials=X509Credentials(trusted=[ca]))
    stored = []
    sender, receiver, rx = sessions(tmp_path, a, b, stored)
    try:
        chat = sender.make_message('hello through the relay', 'text/plain')
        sender.deliver_chunk(chat)
        _, got = rx.wait_for(lambda i: i[0] == 'chunk')
        assert got.data == b'hello through the relay'
        # The relay is in the From-Path the receiver sees, before the sender.
        from_path = [str(u) for u in got.headers['From-Path'].decoded]
        assert len(from_path) == 2 and from_path[0].startswith('msrps://127.0.0.1:{}/'.format(relay.port(relay.tls)))

        src = make_file(str(tmp_path / 'src.bin'), 64 * MiB)
        done = threading.Event()
        errors = []
        with open(src, 'rb') as f:
            sender.send_file(OutgoingFile(f, 64 * MiB, 'application/octet-stream',
                                          on_done=lambda error: (errors.append(error), done.set())))
            assert done.wait(150), 'the transfer did not finish'
        assert errors == [None]
        _, event = rx.wait_for(lambda i: i[0] == 'event')
        assert isinstance(event, MessageStored) and event.size == 64 * MiB
        assert sha256_of(str(tmp_path / 'received.bin')) == sha256_of(src)

        # The status pages, served by the relay's serverResponse server.
        status = urllib.request.urlopen('http://{}/status.xml'.format(relay.status), timeout=10).read().decode()
        assert '<serverResponse' in status and '<results' in status
        sessions_page = urllib.request.urlopen('http://{}/sessions.xml'.format(relay.status),
                                               timeout=10).read().decode()
        assert 'alice' in sessions_page
    finally:
        sender.shutdown(wait=True)
        receiver.shutdown(wait=True)
    assert relay.stop() == 0


def test_sigterm_while_a_transfer_runs_fails_it_cleanly_on_both_ends(tmp_path, relay):
    # bob's password is stored as an HA1 in the users file.
    a, b = relayed_pair(relay.port(relay.plain), user='bob', password='pw')
    stored = []
    sender, receiver, rx = sessions(tmp_path, a, b, stored)
    size = 512 * MiB
    done = threading.Event()
    outcome = []
    started = threading.Event()

    class Endless(object):
        """512 MiB of zeros, read lazily."""
        left = size

        def read(self, n=-1):
            n = min(self.left, 1 << 16 if n is None or n < 0 else n)
            self.left -= n
            return bytes(n)

        def readinto(self, buf):
            data = self.read(len(buf))
            buf[:len(data)] = data
            return len(data)

    def on_progress(acknowledged, total):
        if acknowledged > 4 * MiB:
            started.set()

    try:
        sender.send_file(OutgoingFile(Endless(), size, 'application/octet-stream',
                                      on_progress=on_progress,
                                      on_done=lambda error: (outcome.append(error), done.set())))
        assert started.wait(60), 'the transfer did not start'
        assert relay.stop(signal.SIGTERM) == 0
        assert done.wait(60), 'the sender never learnt the transfer ended'
        assert outcome[0] is not None, 'a transfer cut by the relay cannot succeed'
        # The receiver sees its connection end, and keeps no partial file.
        rx.wait_for(lambda i: i[0] == 'closed')
    finally:
        sender.shutdown(wait=True)
        receiver.shutdown(wait=True)
    assert not any(isinstance(e, MessageStored) for kind, e in rx.items if kind == 'event')
    assert any('shut' in line.lower() or 'signal' in line.lower() for line in relay.log), relay.log


# ---- protocol checks over a raw connection ------------------------------

from msrplib import digest  # noqa: E402
from msrplib.connect import MSRPRelayAuthError  # noqa: E402
from test_relay_client import Wire, digest_params  # noqa: E402


class RawClient(object):
    """A plain TCP connection to the relay, speaking MSRP by hand."""

    def __init__(self, address):
        import socket
        host, port = address.rsplit(':', 1)
        self.sock = socket.create_connection((host, int(port)), timeout=10)
        self.wire = Wire(self.sock)
        self.uri = 'msrp://127.0.0.1:{}/raw{};tcp'.format(self.sock.getsockname()[1], id(self) % 1000)
        self.relay_uri = 'msrp://{}:{};tcp'.format(REALM, port)
        self.n = 0

    def request(self, method, headers, body=b''):
        self.n += 1
        tid = 'raw{}x{}'.format(id(self) % 1000, self.n)
        lines = ['MSRP {} {}'.format(tid, method)] + ['{}: {}'.format(k, v) for k, v in headers]
        if body:
            lines.append('Content-Type: text/plain')
            text = '\r\n'.join(lines).encode() + b'\r\n\r\n' + body + b'\r\n'
        else:
            text = '\r\n'.join(lines).encode() + b'\r\n'
        self.sock.sendall(text + '-------{}$\r\n'.format(tid).encode())
        return self.wire.read()

    def auth(self, password='secret', nc='00000001', reuse=None):
        """AUTH twice (challenge, answer); returns (response, the answer's
        parameters). `reuse`: answer that challenge again instead."""
        if reuse is None:
            r = self.request('AUTH', [('To-Path', self.relay_uri), ('From-Path', self.uri)])
            assert r.code == 401
            challenge = digest_params(r.headers['WWW-Authenticate'].encoded)
        else:
            challenge = reuse
        authorization, _ = digest.process_www_authenticate('alice', password, 'AUTH', self.relay_uri,
                                                           **challenge)
        authorization['nc'] = nc
        authorization['response'], _ = digest.calc_responses(
            username='alice', password=password, realm=challenge['realm'], method='AUTH',
            uri=self.relay_uri, nonce=challenge['nonce'], nc=nc, cnonce=authorization['cnonce'])
        value = 'Digest ' + ', '.join(
            '{}={}'.format(k, v if k in ('qop', 'nc') else '"{}"'.format(v)) for k, v in authorization.items())
        r = self.request('AUTH', [('To-Path', self.relay_uri), ('From-Path', self.uri),
                                  ('Authorization', value)])
        return r, challenge

    def close(self):
        self.sock.close()


def test_replayed_nonce_count_is_refused(relay):
    c = RawClient(relay.plain)
    try:
        ok, challenge = c.auth()
        assert ok.code == 200 and 'Use-Path' in ok.headers
        # The same nonce with the same count again: a replay.
        again, _ = c.auth(reuse=challenge)
        assert again.code in (401, 403), again.code
        # The next count on the same nonce is fine.
        nxt, _ = c.auth(reuse=challenge, nc='00000002')
        assert nxt.code == 200
    finally:
        c.close()


def test_spoofed_from_path_and_unknown_session(relay):
    c = RawClient(relay.plain)
    try:
        ok, _ = c.auth()
        use_path = ok.headers['Use-Path'].encoded
        peer = 'msrp://127.0.0.1:9/peer;tcp'
        # Sending as someone else: 403.
        r = c.request('SEND', [('To-Path', '{} {}'.format(use_path, peer)),
                               ('From-Path', 'msrp://127.0.0.1:1/someoneelse;tcp'),
                               ('Message-ID', 'm1'), ('Byte-Range', '1-2/2')], b'hi')
        assert r.code == 403
        # A session id the relay never gave out: 481.
        host_port = use_path.split('//', 1)[1].split('/', 1)[0]
        r = c.request('SEND', [('To-Path', 'msrp://{}/nosuchsession;tcp {}'.format(host_port, peer)),
                               ('From-Path', c.uri), ('Message-ID', 'm2'), ('Byte-Range', '1-2/2')], b'hi')
        assert r.code == 481
    finally:
        c.close()


def test_wrong_password_raises_relay_auth_error(relay):
    with pytest.raises(MSRPRelayAuthError):
        relayed_pair(relay.port(relay.plain), password='wrong')


def test_out_of_bounds_expires_is_423_and_the_client_retries_within_bounds(relay):
    # Asked for 10 s, the relay (bounds 60..3600) answers 423 with
    # Min-Expires 60 and the client asks again for 60.
    settings = MSRPRelaySettings(REALM, 'alice', 'secret', host='127.0.0.1', port=relay.port(relay.plain))
    conn = type('Short', (RelayConnection,), {'expires': 10})(settings, 'active')
    path = conn.prepare(protocol.URI(host='127.0.0.1', port=0, use_tls=False))
    session_id = str(path[0]).rsplit('/', 1)[1].split(';')[0]
    page = urllib.request.urlopen('http://{}/sessions.xml'.format(relay.status), timeout=10).read().decode()
    row = page[page.index(session_id):]
    granted = int(re.search(r'id="expires" value="(\d+)"', row).group(1))
    assert 50 <= granted <= 60, granted
    conn.cleanup()
    # The refusal is in the relay's log (read by a thread of ours: wait).
    for _ in range(100):
        if any('Expires 10 below 60' in line for line in relay.log):
            break
        time.sleep(0.05)
    else:
        raise AssertionError(relay.log)


def test_two_relays_chained(tmp_path, made_ca):
    (tmp_path / 'one').mkdir()
    (tmp_path / 'two').mkdir()
    first = CliRelay(tmp_path / 'one', made_ca)
    second = CliRelay(tmp_path / 'two', made_ca)
    try:
        a_conn = RelayConnection(MSRPRelaySettings(REALM, 'alice', 'secret', host='127.0.0.1',
                                                   port=first.port(first.plain)), 'active')
        b_conn = RelayConnection(MSRPRelaySettings(REALM, 'bob', 'pw', host='127.0.0.1',
                                                   port=second.port(second.plain)), 'passive')
        local = protocol.URI(host='127.0.0.1', port=0, use_tls=False)
        a_path = a_conn.prepare(local)
        b_path = b_conn.prepare(protocol.URI(host='127.0.0.1', port=0, use_tls=False))
        out = {}
        t = threading.Thread(target=lambda: out.setdefault('b', b_conn.complete(a_path)))
        t.start()
        a = a_conn.complete(b_path)
        t.join(30)
        rx, back = Received(), Received()
        sender = MSRPSession(a, on_incoming_cb=back.incoming)
        receiver = MSRPSession(out['b'], on_incoming_cb=rx.incoming)
        try:
            sender.deliver_chunk(sender.make_message('across two relays', 'text/plain'))
            _, got = rx.wait_for(lambda i: i[0] == 'chunk')
            assert got.data == b'across two relays'
            # Each relay moved its own URI to the front of From-Path.
            assert [str(u) for u in got.headers['From-Path'].decoded] == \
                [str(b_path[0]), str(a_path[0]), str(a_path[1])]
            # And back the other way, through both relays again.
            receiver.deliver_chunk(receiver.make_message('and back', 'text/plain'))
            _, got = back.wait_for(lambda i: i[0] == 'chunk')
            assert got.data == b'and back'
            assert [str(u) for u in got.headers['From-Path'].decoded] == \
                [str(a_path[0]), str(b_path[0]), str(b_path[1])]
        finally:
            sender.shutdown(wait=True)
            receiver.shutdown(wait=True)
    finally:
        first.stop()
        second.stop()
