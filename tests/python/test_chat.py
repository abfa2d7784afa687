"""msgwire.chat.MSRPChat: two chats over loopback exchange CPIM-wrapped or
plain messages, delivery reports and is-composing indications, with every
notification observed in order, and posted to python-application's
NotificationCenter when that package is importable (faked here)."""

import datetime
import queue
import socket
import sys
import threading

import pytest

from msgwire.chat import MSRPChat, MSRPChatError
from msgwire.sdp import MSRPMedia
from msrplib.protocol import MSRPData

ALICE = 'sip:alice@example.com'
BOB = 'sip:bob@example.com'
WAIT = 5


class Recorder(object):
    def __init__(self, chat):
        self.chat = chat
        self.queue = queue.Queue()
        chat.add_observer(self)

    def __call__(self, notification):
        self.queue.put(notification)

    def next(self, name=None):
        n = self.queue.get(timeout=WAIT)
        if name is not None:
            assert n.name == name, (n.name, n.data)
        assert n.sender is self.chat
        return n

    def quiet(self, seconds=0.3):
        with pytest.raises(queue.Empty):
            self.queue.get(timeout=seconds)


def make(outgoing, **kwargs):
    me, peer = (ALICE, BOB) if outgoing else (BOB, ALICE)
    chat = MSRPChat(me, peer, outgoing, local_address='127.0.0.1', **kwargs)
    rec = Recorder(chat)
    media = chat.initialize()
    n = rec.next('MSRPChatDidInitialize')
    assert isinstance(n.data.sdpmedia, MSRPMedia)
    assert n.data.sdpmedia == media
    return chat, rec, media


def start_pair(a, b, a_sees, b_sees):
    errors = []

    def run():
        try:
            b[0].start(b_sees)
        except Exception as e:  # reported below
            errors.append(e)
    t = threading.Thread(target=run)
    t.start()
    a[0].start(a_sees)
    t.join(WAIT * 2)
    assert not t.is_alive() and not errors, errors
    a[1].next('MSRPChatDidStart')
    b[1].next('MSRPChatDidStart')


@pytest.fixture
def pair(request):
    made = []

    def build(b_accept=None, doctor=None):
        a = make(True)
        kwargs = {} if b_accept is None else {'accept_types': b_accept}
        b = make(False, **kwargs)
        b_media = b[2] if doctor is None else doctor(MSRPMedia.parse(b[2].encode()))
        start_pair(a, b, b_media, a[2])
        made.extend([a[0], b[0]])
        return a, b
    yield build
    for chat in made:
        chat.end()


def test_direct_media_is_plain_tcp():
    a, rec, media = make(True)
    b, brec, bmedia = make(False)
    try:
        assert media.transport == 'TCP/MSRP'
        assert media.setup == 'active' and bmedia.setup == 'passive'
        text = media.encode()
        assert 'c=IN IP4 127.0.0.1\r\n' in text
        assert str(media.path[-1]).startswith('msrp://127.0.0.1:')
        assert media.accept_types == ['message/cpim', 'text/*', 'application/im-iscomposing+xml']
        assert media.accept_wrapped_types == ['*']
    finally:
        a.end()
        b.end()


def test_cpim_messages_and_every_notification_in_order():
    a = make(True)
    b = make(False)
    start_pair(a, b, b[2], a[2])
    alice, arec = a[0], a[1]
    bob, brec = b[0], b[1]
    dt = datetime.datetime(2024, 5, 1, 10, 0, 0, tzinfo=datetime.timezone.utc)
    chunk = alice.send_message(u'h\u00e9llo bob', 'text/plain', dt=dt)
    assert isinstance(chunk, MSRPData)
    assert chunk.content_type == 'message/cpim'
    assert chunk.headers['Failure-Report'].decoded == 'partial'
    assert chunk.headers['Success-Report'].decoded == 'yes'
    got = brec.next('MSRPChatGotMessage').data
    assert got.content == u'h\u00e9llo bob'
    assert got.content_type == 'text/plain'
    assert got.cpim_headers == {'From': '<%s>' % ALICE, 'To': '<%s>' % BOB,
                                'DateTime': '2024-05-01T10:00:00Z'}
    assert isinstance(got.message, MSRPData)
    assert got.message.message_id == chunk.message_id
    delivered = arec.next('MSRPChatDidDeliverMessage').data
    assert delivered.message_id == chunk.message_id
    assert delivered.code == 200
    assert isinstance(delivered.reason, str)
    assert delivered.message.method == 'REPORT'

    # Non-text payloads arrive as bytes.
    bob.send_message(b'\x89PNG\r\n', 'image/png')
    got = arec.next('MSRPChatGotMessage').data
    assert got.content == b'\x89PNG\r\n' and got.content_type == 'image/png'
    brec.next('MSRPChatDidDeliverMessage')

    alice.end()
    arec.next('MSRPChatWillEnd')
    arec.next('MSRPChatDidEnd')
    last = brec.next()
    assert last.name in ('MSRPChatDidEnd', 'MSRPChatDidFail')
    if last.name == 'MSRPChatDidFail':
        assert last.data.context == 'reading'
    bob.end()
    arec.quiet()
    with pytest.raises(MSRPChatError):
        alice.send_message('late')


def test_plain_text_without_cpim_and_private_messages_raise(pair):
    (alice, arec, _), (bob, brec, _) = pair(b_accept=['text/plain'])
    chunk = alice.send_message('plain')
    assert chunk.content_type == 'text/plain'
    got = brec.next('MSRPChatGotMessage').data
    assert got.content == 'plain'
    assert got.cpim_headers == {}
    assert got.message.content_type == 'text/plain'
    with pytest.raises(MSRPChatError):
        alice.send_message('psst', to_uri='sip:carol@example.com')
    with pytest.raises(MSRPChatError):
        alice.send_message(b'x', 'image/png')
    alice.send_message('to bob himself', to_uri=BOB)
    assert brec.next('MSRPChatGotMessage').data.content == 'to bob himself'


def test_private_message_with_cpim(pair):
    (alice, arec, _), (bob, brec, _) = pair()
    alice.send_message('psst', to_uri='sip:carol@example.com')
    got = brec.next('MSRPChatGotMessage').data
    assert got.cpim_headers['To'] == '<sip:carol@example.com>'


def test_messages_queued_before_start_arrive_first_in_order():
    alice = MSRPChat(ALICE, BOB, True, local_address='127.0.0.1')
    arec = Recorder(alice)
    first = alice.send_message('one')
    assert first.message_id
    media = alice.initialize()
    arec.next('MSRPChatDidInitialize')
    alice.send_message('two')
    bob, brec, bmedia = make(False)
    t = threading.Thread(target=bob.start, args=(media,))
    t.start()
    alice.start(bmedia)
    alice.send_message('three')
    t.join(WAIT * 2)
    try:
        brec.next('MSRPChatDidStart')
        got = [brec.next('MSRPChatGotMessage').data for _ in range(3)]
        assert [g.content for g in got] == ['one', 'two', 'three']
        assert got[0].message.message_id == first.message_id
        arec.next('MSRPChatDidStart')
        for _ in range(3):
            arec.next('MSRPChatDidDeliverMessage')
    finally:
        alice.end()
        bob.end()


def test_not_delivered_when_the_peer_refuses_the_type(pair):
    def claim_html(media):
        media.accept_types = ['text/plain', 'text/html']
        return media
    (alice, arec, _), (bob, brec, _) = pair(b_accept=['text/plain'], doctor=claim_html)
    chunk = alice.send_message('<b>x</b>', 'text/html')
    n = arec.next('MSRPChatDidNotDeliverMessage').data
    assert n.message_id == chunk.message_id
    assert n.code == 415
    assert isinstance(n.message, MSRPData) and n.message.code == 415
    brec.quiet()


def test_composing_both_ways_and_refresh_expiry(pair):
    (alice, arec, _), (bob, brec, _) = pair()
    alice.send_composing_indication('active', refresh=1)
    n = brec.next('MSRPChatGotComposingIndication').data
    assert (n.state, n.refresh, n.content_type) == ('active', 1, 'text/plain')
    assert n.last_active is None
    n = brec.next('MSRPChatGotComposingIndication').data
    assert n.state == 'idle' and n.refresh is None
    last = datetime.datetime(2024, 5, 1, 10, 0, tzinfo=datetime.timezone.utc)
    bob.send_composing_indication('idle', last_active=last)
    n = arec.next('MSRPChatGotComposingIndication').data
    assert n.state == 'idle' and n.last_active == last
    # No indication is ever posted as a message, and no report comes back.
    arec.quiet()
    with pytest.raises(MSRPChatError):
        alice.send_composing_indication('typing')


def test_start_failure_then_end():
    alice = MSRPChat(ALICE, BOB, True, local_address='127.0.0.1')
    rec = Recorder(alice)
    media = alice.initialize()
    rec.next('MSRPChatDidInitialize')
    both_active = MSRPMedia.parse(media.encode())
    both_active.setup = 'active'
    with pytest.raises(MSRPChatError):
        alice.start(both_active)
    n = rec.next('MSRPChatDidFail')
    assert n.data.context == 'sdp_negotiation'
    assert isinstance(n.data.reason, str) and n.data.reason
    assert isinstance(n.data.failure, MSRPChatError)
    alice.end()
    rec.next('MSRPChatWillEnd')
    rec.next('MSRPChatDidEnd')


def test_remove_observer():
    chat = MSRPChat(ALICE, BOB, True, local_address='127.0.0.1')
    rec = Recorder(chat)
    other = []
    chat.add_observer(other.append)
    chat.remove_observer(other.append)
    chat.initialize()
    rec.next('MSRPChatDidInitialize')
    chat.end()
    rec.next('MSRPChatWillEnd')
    rec.next('MSRPChatDidEnd')
    assert other == []


FAKE_NOTIFICATION = '''
class NotificationData(object):
    def __init__(self, **kwargs):
        self.__dict__.update(kwargs)


class NotificationCenter(object):
    _instance = None
    posted = []

    def __new__(cls):
        if cls._instance is None:
            cls._instance = object.__new__(cls)
        return cls._instance

    def post_notification(self, name, sender=None, data=None):
        self.posted.append((name, sender, data))
'''


def test_notifications_reach_the_application_notification_center(tmp_path, monkeypatch):
    package = tmp_path / 'application'
    package.mkdir()
    (package / '__init__.py').write_text('')
    (package / 'notification.py').write_text(FAKE_NOTIFICATION)
    monkeypatch.syspath_prepend(str(tmp_path))
    for name in ('application', 'application.notification'):
        monkeypatch.delitem(sys.modules, name, raising=False)
    try:
        from application.notification import NotificationCenter, NotificationData
        chat = MSRPChat(ALICE, BOB, True, local_address='127.0.0.1')
        rec = Recorder(chat)
        media = chat.initialize()
        rec.next('MSRPChatDidInitialize')
        chat.end()
        rec.next('MSRPChatWillEnd')
        rec.next('MSRPChatDidEnd')
        posted = NotificationCenter().posted
        assert [p[0] for p in posted] == ['MSRPChatDidInitialize', 'MSRPChatWillEnd', 'MSRPChatDidEnd']
        assert all(p[1] is chat for p in posted)
        assert all(isinstance(p[2], NotificationData) for p in posted)
        assert posted[0][2].sdpmedia == media
    finally:
        for name in ('application', 'application.notification'):
            sys.modules.pop(name, None)


# ----- through a relay (a fake one: grants AUTH, then relays both ways) -----

def _read_chunk(sock, buf):
    """One whole chunk's bytes from sock (buf keeps the rest), or None."""
    while True:
        line_end = buf.find(b'\r\n')
        if line_end >= 0:
            tid = buf[:line_end].split(b' ')[1]
            at = buf.find(b'\r\n-------' + tid)
            end = at + len(b'\r\n-------') + len(tid) + 3
            if at >= 0 and len(buf) >= end:
                chunk = bytes(buf[:end])
                del buf[:end]
                return chunk
        data = sock.recv(65536)
        if not data:
            return None
        buf.extend(data)


def _pass_on(chunk):
    """A request as a relay passes it on: its own URI moves from the front
    of To-Path to the front of From-Path."""
    head, sep, rest = chunk.partition(b'\r\n\r\n')
    lines = head.split(b'\r\n')
    if lines[0].split(b' ')[2].isdigit():
        return chunk
    to = [l for l in lines if l.startswith(b'To-Path: ')][0]
    uris = to[len(b'To-Path: '):].split(b' ')
    out = []
    for l in lines:
        if l is to:
            l = b'To-Path: ' + b' '.join(uris[1:])
        elif l.startswith(b'From-Path: '):
            l = b'From-Path: ' + uris[0] + b' ' + l[len(b'From-Path: '):]
        out.append(l)
    return b'\r\n'.join(out) + sep + rest


def _pump(src, dst, buf):
    while True:
        chunk = _read_chunk(src, buf)
        if chunk is None:
            break
        try:
            dst.sendall(_pass_on(chunk))
        except OSError:
            break
    try:
        dst.shutdown(socket.SHUT_WR)
    except OSError:
        pass


def _fake_relay():
    listener = socket.socket()
    listener.bind(('127.0.0.1', 0))
    listener.listen(1)
    port = listener.getsockname()[1]
    uri = 'msrp://127.0.0.1:%d/relayed;tcp' % port

    def serve():
        a, _ = listener.accept()
        listener.close()
        buf = bytearray()
        auth = _read_chunk(a, buf).decode()
        tid = auth.split(' ')[1]
        from_path = [l for l in auth.split('\r\n') if l.startswith('From-Path: ')][0][11:]
        a.sendall(('MSRP %s 200 OK\r\nTo-Path: %s\r\nFrom-Path: %s\r\nUse-Path: %s\r\n'
                   'Expires: 600\r\n-------%s$\r\n' % (tid, from_path, uri, uri, tid)).encode())
        bind = _read_chunk(a, buf)
        to = [l for l in bind.split(b'\r\n') if l.startswith(b'To-Path: ')][0]
        next_hop = to.split(b' ')[2].decode()
        port_b = int(next_hop.split(':')[2].split('/')[0])
        b = socket.create_connection(('127.0.0.1', port_b), timeout=WAIT)
        b.settimeout(None)
        b.sendall(_pass_on(bind))
        back = threading.Thread(target=_pump, args=(b, a, bytearray()))
        back.start()
        _pump(a, b, buf)
        back.join(WAIT * 2)
        a.close()
        b.close()
    t = threading.Thread(target=serve, daemon=True)
    t.start()
    return port, uri, t


def test_chat_through_a_relay():
    from msrplib.connect import MSRPRelaySettings
    port, uri, relay_thread = _fake_relay()
    relay = MSRPRelaySettings('relay.test', 'alice', 'secret', host='127.0.0.1', port=port)
    a = make(True, relay=relay)
    assert str(a[2].path[0]) == uri and len(a[2].path) == 2
    b = make(False)
    start_pair(a, b, b[2], a[2])
    (alice, arec, _), (bob, brec, _) = a, b
    chunk = alice.send_message('via the relay')
    got = brec.next('MSRPChatGotMessage').data
    assert got.content == 'via the relay'
    assert got.message.headers['From-Path'].encoded.startswith(uri)
    assert arec.next('MSRPChatDidDeliverMessage').data.message_id == chunk.message_id
    bob.send_message('back')
    assert arec.next('MSRPChatGotMessage').data.content == 'back'
    alice.end()
    arec.next('MSRPChatWillEnd')
    arec.next('MSRPChatDidEnd')
    bob.end()
    relay_thread.join(WAIT * 2)
    assert not relay_thread.is_alive()


def test_two_chats_through_msgwires_own_relay(tmp_path):
    """Both chats relayed by an in-process msgwire.relay.Relay: CPIM both
    ways, a delivery report, and the relay hops in From-Path."""
    from msgwire.relay import Relay
    from msrplib.connect import MSRPRelaySettings
    users = tmp_path / 'users'
    users.write_text('alice:alice-pw\nbob:bob-pw\n')
    with Relay(str(users), 'relay.test', plain_tcp='127.0.0.1:0') as relay:
        host, port = relay.plain_tcp_address.rsplit(':', 1)

        def settings(user, password):
            return MSRPRelaySettings('relay.test', user, password, host=host, port=int(port))

        a = make(True, relay=settings('alice', 'alice-pw'))
        b = make(False, relay=settings('bob', 'bob-pw'))
        assert str(a[2].path[0]).startswith('msrp://{}/'.format(relay.plain_tcp_address))
        assert str(b[2].path[0]).startswith('msrp://{}/'.format(relay.plain_tcp_address))
        start_pair(a, b, b[2], a[2])
        (alice, arec, _), (bob, brec, _) = a, b
        chunk = alice.send_message('hello via our relay')
        got = brec.next('MSRPChatGotMessage').data
        assert got.content == 'hello via our relay'
        assert got.cpim_headers['From'] and got.cpim_headers['To']
        assert [str(u) for u in got.message.headers['From-Path'].decoded] == \
            [str(b[2].path[0]), str(a[2].path[0]), str(a[2].path[1])]
        assert arec.next('MSRPChatDidDeliverMessage').data.message_id == chunk.message_id
        bob.send_message('and back')
        assert arec.next('MSRPChatGotMessage').data.content == 'and back'
        alice.end()
        arec.next('MSRPChatWillEnd')
        arec.next('MSRPChatDidEnd')
        bob.end()


# ----- TLS, refusals, DateTime -----

def test_two_chats_over_tls(made_ca):
    """credentials= makes a direct chat msrps: TCP/TLS/MSRP and msrps://
    paths in the SDP, messages both ways over TLS."""
    from msrplib.tls import X509Certificate, X509Credentials, X509PrivateKey
    creds = X509Credentials(X509Certificate(str(made_ca / 'server.pem')),
                            X509PrivateKey(str(made_ca / 'server.key')),
                            trusted=[X509Certificate(str(made_ca / 'ca.pem'))])
    a = make(True, credentials=creds)
    b = make(False, credentials=creds)
    try:
        for media in (a[2], b[2]):
            assert media.transport == 'TCP/TLS/MSRP'
            assert ' TCP/TLS/MSRP *\r\n' in media.encode()
            assert str(media.path[-1]).startswith('msrps://127.0.0.1:')
        start_pair(a, b, b[2], a[2])
        (alice, arec, _), (bob, brec, _) = a, b
        chunk = alice.send_message('over tls')
        assert brec.next('MSRPChatGotMessage').data.content == 'over tls'
        assert arec.next('MSRPChatDidDeliverMessage').data.message_id == chunk.message_id
        bob.send_message('back over tls')
        assert arec.next('MSRPChatGotMessage').data.content == 'back over tls'
    finally:
        a[0].end()
        b[0].end()


def test_tls_without_a_certificate_cannot_listen(made_ca):
    from msrplib.tls import X509Credentials
    chat = MSRPChat(BOB, ALICE, False, local_address='127.0.0.1',
                    credentials=X509Credentials(trusted=[str(made_ca / 'ca.pem')]))
    rec = Recorder(chat)
    with pytest.raises(MSRPChatError):
        chat.initialize()
    assert rec.next('MSRPChatDidFail').data.context == 'initialize'
    chat.end()


def test_a_wrapped_type_the_peer_does_not_accept_is_refused_415():
    a = make(True)
    b = make(False, accept_wrapped_types=['text/plain'])
    assert b[2].accept_wrapped_types == ['text/plain']
    # Alice is told that bob takes anything wrapped; he does not.
    told = MSRPMedia.parse(b[2].encode())
    told.accept_wrapped_types = ['*']
    start_pair(a, b, told, a[2])
    (alice, arec, _), (bob, brec, _) = a, b
    try:
        chunk = alice.send_message(b'\x89PNG', 'image/png')
        assert chunk.content_type == 'message/cpim'
        refused = arec.next('MSRPChatDidNotDeliverMessage').data
        assert (refused.message_id, refused.code) == (chunk.message_id, 415)
        assert refused.reason == 'Unsupported media type'
        # Nothing reached bob; what he accepts still does.
        alice.send_message('plain text is fine')
        got = brec.next('MSRPChatGotMessage').data
        assert got.content == 'plain text is fine'
    finally:
        alice.end()
        bob.end()


@pytest.mark.parametrize('dt, written', [
    (datetime.datetime(2026, 11, 24, 16, 18, 3, 123456, tzinfo=datetime.timezone.utc),
     '2026-11-24T16:18:03.123456Z'),
    (datetime.datetime(2026, 11, 24, 16, 18, 3, 120000,
                       tzinfo=datetime.timezone(datetime.timedelta(hours=2))),
     '2026-11-24T16:18:03.120000+02:00'),
    (datetime.datetime(2026, 11, 24, 16, 18, 3, tzinfo=datetime.timezone.utc),
     '2026-11-24T16:18:03Z'),
])
def test_cpim_datetime_keeps_microseconds(dt, written):
    a = make(True)
    b = make(False)
    start_pair(a, b, b[2], a[2])
    try:
        a[0].send_message('when', dt=dt)
        got = b[1].next('MSRPChatGotMessage').data
        assert got.cpim_headers['DateTime'] == written
        assert got.message.data.decode().count('DateTime: {}\r\n'.format(written)) == 1
        # Now: at most microseconds too.
        a[0].send_message('now')
        now = b[1].next('MSRPChatGotMessage').data.cpim_headers['DateTime']
        assert now.endswith('Z') and (len(now) == 20 or (now[19] == '.' and len(now) == 27)), now
    finally:
        a[0].end()
        b[0].end()


def _bound_raw_peer(bob, brec, media):
    """Starts `bob` (an incoming chat) with a raw MSRP peer on a socket and
    binds it: returns (socket, read buffer, the peer's URI, bob's URI)."""
    me = 'msrp://127.0.0.1:9/rawpeer;tcp'
    peer = MSRPMedia.parse('m=message 9 TCP/MSRP *\r\nc=IN IP4 127.0.0.1\r\na=path:{}\r\n'
                           'a=accept-types:*\r\na=setup:active\r\n'.format(me))
    errors = []

    def run():
        try:
            bob.start(peer)
        except Exception as e:  # reported below
            errors.append(e)
    t = threading.Thread(target=run)
    t.start()
    bob_uri = str(media.path[-1])
    sock = socket.create_connection(('127.0.0.1', media.path[-1].port), timeout=WAIT)
    buf = bytearray()
    sock.sendall('MSRP bind0001 SEND\r\nTo-Path: {}\r\nFrom-Path: {}\r\nMessage-ID: m1\r\n'
                 'Byte-Range: 1-0/0\r\n-------bind0001$\r\n'.format(bob_uri, me).encode())
    assert _read_chunk(sock, buf).startswith(b'MSRP bind0001 200 OK\r\n')
    t.join(WAIT)
    assert not t.is_alive() and not errors, errors
    brec.next('MSRPChatDidStart')
    return sock, buf, me, bob_uri


def test_a_chat_answers_nickname_501_on_the_wire():
    """A raw MSRP peer binds to an incoming chat and sends NICKNAME: the
    answer is 501 at once (not a 408 after the peer's timeout)."""
    bob, brec, media = make(False)
    sock, buf, me, bob_uri = _bound_raw_peer(bob, brec, media)
    try:
        sock.sendall('MSRP nick0001 NICKNAME\r\nTo-Path: {}\r\nFrom-Path: {}\r\nUse-Nickname: "Al"\r\n'
                     '-------nick0001$\r\n'.format(bob_uri, me).encode())
        answer = _read_chunk(sock, buf)
        assert answer == ('MSRP nick0001 501 Method unknown\r\nTo-Path: {}\r\nFrom-Path: {}\r\n'
                          '-------nick0001$\r\n'.format(me, bob_uri)).encode()
    finally:
        sock.close()
        bob.end()


def test_a_message_in_several_chunks_is_posted_once_whole():
    """A CPIM message a raw peer sends in three chunks (a one-chunk message
    between them) reaches the observers once, whole."""
    bob, brec, media = make(False)
    sock, buf, me, bob_uri = _bound_raw_peer(bob, brec, media)
    text = ''.join(chr(ord('a') + i % 26) for i in range(150000))
    head = (b'From: <sip:alice@example.com>\r\nTo: <sip:bob@example.com>\r\n\r\n'
            b'Content-Type: text/plain\r\n\r\n')
    cpim = head + text.encode()
    n = len(cpim)

    def send(tid, mid, byte_range, body, flag):
        sock.sendall('MSRP {0} SEND\r\nTo-Path: {1}\r\nFrom-Path: {2}\r\nMessage-ID: {3}\r\n'
                     'Byte-Range: {4}\r\nFailure-Report: partial\r\nContent-Type: message/cpim\r\n\r\n'
                     .format(tid, bob_uri, me, mid, byte_range).encode() + body
                     + '\r\n-------{}{}\r\n'.format(tid, flag).encode())
    try:
        send('big00001', 'mid-big', '1-*/{}'.format(n), cpim[:60000], '+')
        send('sml00001', 'mid-small', '1-*/*', head + b'meanwhile', '$')
        send('big00002', 'mid-big', '60001-*/{}'.format(n), cpim[60000:120000], '+')
        send('big00003', 'mid-big', '120001-{0}/{0}'.format(n), cpim[120000:], '$')
        small = brec.next('MSRPChatGotMessage')
        assert small.data.content == 'meanwhile'
        big = brec.next('MSRPChatGotMessage')
        assert len(big.data.content) == len(text) and big.data.content == text
        assert big.data.content_type == 'text/plain'
        assert big.data.cpim_headers['From'] == '<sip:alice@example.com>'
        assert big.data.message.message_id == 'mid-big'
    finally:
        sock.close()
        bob.end()
