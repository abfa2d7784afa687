"""msrplib.connect relay client (RFC 4976) against a relay scripted in
the test on 127.0.0.1: digest AUTH checked byte for byte, the Use-Path
returned as the local path, binding through the relay in both modes, and
the legacy exceptions for a wrong password, a silent relay and no relay;
and DNS SRV discovery against a DNS server of the test's own, with
fallback from a refusing relay to the next.
"""

import hashlib
import os
import re
import socket
import ssl
import threading
import time

import pytest

from msgwire.msrp import ChunkData, ChunkEnd, ChunkStart, Parser, make_response
from msrplib import protocol
from msrplib.session import MSRPSession
from msrplib.tls import TLSError, X509Credentials
from msrplib.connect import (AcceptorRelay, ConnectorRelay, DirectAcceptor, DirectConnector,
                             MSRPAuthTimeout, MSRPRelayAuthError, MSRPRelayConnectTimeout,
                             MSRPRelaySettings, RelayConnection, get_acceptor, get_connector)

pytestmark = pytest.mark.timeout(60)

REALM = 'relay.test'


def md5(text):
    return hashlib.md5(text.encode()).hexdigest()


def digest_params(value):
    assert value.startswith('Digest ')
    return {k: v1 or v2 for k, v1, v2 in re.findall(r'(\w+)=(?:"([^"]*)"|([^,\s]+))', value)}


class Wire(object):
    """Reads whole chunks from a socket."""

    def __init__(self, sock):
        self.sock = sock
        self.parser = Parser()
        self.pending = []

    def read(self):
        chunk, data = None, b''
        while True:
            for event in self.parser:
                if isinstance(event, ChunkStart):
                    chunk = event.chunk
                elif isinstance(event, ChunkData):
                    data += event.data
                elif isinstance(event, ChunkEnd):
                    chunk.data = data
                    return chunk
            got = self.sock.recv(65536)
            if not got:
                return None
            self.parser.feed(got)

    def respond(self, chunk, code, headers=()):
        r = make_response(chunk, code)
        for h in headers:
            r.add_header(h)
        self.sock.sendall(r.encode())


def forwarded(chunk):
    """The request as a relay forwards it: its URI moves from To-Path to
    the front of From-Path."""
    to = list(chunk.headers['To-Path'].decoded)
    frm = list(chunk.headers['From-Path'].decoded)
    frm.insert(0, to.pop(0))
    out = protocol.MSRPData('fw' + chunk.transaction_id, method=chunk.method)
    for name, header in chunk.headers.items():
        if name not in ('To-Path', 'From-Path'):
            out.add_header(protocol.MSRPHeader(name, header.encoded))
    out.add_header(protocol.ToPathHeader(to))
    out.add_header(protocol.FromPathHeader(frm))
    out.data = chunk.data
    return out, to


class ScriptedRelay(object):
    """Serves one relayed endpoint: digest AUTH for alice/secret, then
    forwards one bind (``mode``) and, when active, one message."""

    def __init__(self, mode, answer=True, expires=600):
        self.expires = expires
        self.renewals = []
        self.listener = socket.socket()
        self.listener.bind(('127.0.0.1', 0))
        self.listener.listen(2)
        self.port = self.listener.getsockname()[1]
        self.mode = mode
        self.answer = answer
        self.auths = []
        self.error = None
        self.sockets = [self.listener]
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    @property
    def use_path(self):
        return 'msrp://127.0.0.1:{}/sess1;tcp'.format(self.port)

    def _run(self):
        try:
            self._serve()
        except Exception as e:  # reported by the test
            self.error = e
        finally:
            for sock in self.sockets:
                sock.close()

    def wire(self, sock):
        self.sockets.append(sock)
        return Wire(sock)

    def join(self):
        self.thread.join(10)
        assert not self.thread.is_alive()
        assert self.error is None, self.error

    def _serve(self):
        a_sock, _ = self.listener.accept()
        a = self.wire(a_sock)
        while True:
            auth = a.read()
            if auth is None:
                return
            self.auths.append(auth)
            if not self.answer:
                continue
            if 'Authorization' not in auth.headers:
                a.respond(auth, 401, [protocol.WWWAuthenticateHeader(
                    'Digest realm="{}", nonce="n1", qop="auth", opaque="op"'.format(REALM))])
                continue
            p = digest_params(auth.headers['Authorization'].encoded)
            uri = p.get('uri') or auth.headers['To-Path'].encoded
            expected = md5('{}:{}:{}:{}:auth:{}'.format(md5('alice:{}:secret'.format(REALM)), p['nonce'],
                                                        p['nc'], p['cnonce'], md5('AUTH:' + uri)))
            if p['response'] != expected or p.get('opaque') != 'op':
                a.respond(auth, 401, [protocol.WWWAuthenticateHeader(
                    'Digest realm="{}", nonce="n2", qop="auth", opaque="op"'.format(REALM))])
                continue
            a.respond(auth, 200, [protocol.UsePathHeader([protocol.URI.parse(self.use_path)]),
                                  protocol.ExpiresHeader(self.expires)])
            break
        if self.mode == 'active':
            request = a.read()  # the bind, then one message
            _, to = forwarded(request)
            b = self.wire(socket.create_connection((to[0].host, to[0].port)))
            out, _ = forwarded(request)
            b.sock.sendall(out.encode())
            a.respond(request, b.read().code)
            # The message: B reads it raw and answers nothing.
            out, _ = forwarded(a.read())
            b.sock.sendall(out.encode())
        else:
            b_sock, _ = self.listener.accept()
            b = self.wire(b_sock)
            bind = b.read()
            out, _ = forwarded(bind)
            a.sock.sendall(out.encode())
            b.respond(bind, a.read().code)
        # Until the endpoint closes: grant every renewal (AUTH again).
        while True:
            again = a.read()
            if again is None:
                return
            if again.method == 'AUTH':
                self.renewals.append(again)
                a.respond(again, 200, [protocol.UsePathHeader([protocol.URI.parse(self.use_path)]),
                                       protocol.ExpiresHeader(self.expires)])


def relay_settings(relay, password='secret'):
    return MSRPRelaySettings(REALM, 'alice', password, host='127.0.0.1', port=relay.port)


def local_uri():
    return protocol.URI(host='127.0.0.1', port=0, use_tls=False)


def test_settings_and_factories():
    s = MSRPRelaySettings('example.com', 'bob', 'pw')
    assert (s.use_tls, s.host, s.port, s.credentials) == (False, None, None, None)
    assert repr(s) == "MSRPRelaySettings('example.com', 'bob', 'pw')"
    assert str(s) == 'MSRPRelay msrp://example.com'
    assert str(s.uri_domain) == 'msrp://example.com:2855;tcp'
    with pytest.raises(ValueError):
        RelayConnection(s, 'sideways')
    assert type(get_connector(None)) is DirectConnector
    assert type(get_acceptor(None)) is DirectAcceptor
    assert type(get_connector(s)) is ConnectorRelay and get_connector(s).mode == 'active'
    assert type(get_acceptor(s)) is AcceptorRelay and get_acceptor(s).mode == 'passive'


def test_active_through_the_relay_with_digest_auth():
    relay = ScriptedRelay('active')
    connector = ConnectorRelay(relay_settings(relay))
    full_local_path = connector.prepare(local_uri())
    assert [str(u) for u in full_local_path[:-1]] == [relay.use_path]
    assert full_local_path[-1] is connector.local_uri
    # The AUTHs: first without credentials, then the digest answer.
    first, second = relay.auths
    assert 'Authorization' not in first.headers
    relay_uri = 'msrp://{}:{};tcp'.format(REALM, relay.port)
    assert first.headers['To-Path'].encoded == relay_uri
    p = digest_params(second.headers['Authorization'].encoded)
    assert (p['username'], p['realm'], p['uri'], p['qop'], p['nc']) == \
        ('alice', REALM, relay_uri, 'auth', '00000001')

    acceptor = DirectAcceptor()
    b_path = acceptor.prepare(local_uri())
    result = {}
    t = threading.Thread(target=lambda: result.update(b=acceptor.complete(full_local_path)))
    t.start()
    a = connector.complete(b_path)
    t.join(30)
    b = result['b']
    assert [str(u) for u in a.full_local_path] == [str(u) for u in full_local_path]
    chunk = a.make_chunk(data='hello through the relay')
    a.write_chunk(chunk)
    got = b.read_chunk()
    assert got.data == b'hello through the relay'
    assert got.headers['From-Path'].encoded == '{} {}'.format(relay.use_path, connector.local_uri)
    a.loseConnection(wait=False)
    b.loseConnection(wait=False)
    relay.join()


def passive_pair(relay):
    """A passive relayed transport bound to a direct connector, which
    connects to `relay` as the first hop: (relayed, direct, relayed path)."""
    acceptor = AcceptorRelay(relay_settings(relay))
    a_path = acceptor.prepare(local_uri())
    connector = DirectConnector()
    b_path = connector.prepare(local_uri())
    result = {}
    t = threading.Thread(target=lambda: result.update(a=acceptor.complete(b_path)))
    t.start()
    b = connector.complete(a_path)
    t.join(30)
    return result['a'], b, a_path


def test_passive_through_the_relay():
    relay = ScriptedRelay('passive')
    a, b, _ = passive_pair(relay)
    assert str(b.full_remote_path[0]) == relay.use_path
    assert [str(u) for u in a.local_path] == [relay.use_path]
    a.loseConnection(wait=False)
    b.loseConnection(wait=False)
    relay.join()


def test_a_session_renews_its_relay_reservation():
    # A 2 s reservation: the session started on the relayed transport
    # authenticates again every 1.5 s, and the relay's answers stay its own.
    relay = ScriptedRelay('passive', expires=2)
    a, b, a_path = passive_pair(relay)
    incoming = []
    session = MSRPSession(a, on_incoming_cb=lambda chunk=None, error=None: incoming.append(chunk))
    deadline = time.time() + 20
    while len(relay.renewals) < 2 and time.time() < deadline:
        time.sleep(0.05)
    assert len(relay.renewals) >= 2
    assert all(r.headers['From-Path'].encoded == str(a_path[1]) for r in relay.renewals)
    assert incoming == []
    session.shutdown(wait=True)
    b.loseConnection(wait=False)
    relay.join()


def test_wrong_password_raises_relay_auth_error():
    relay = ScriptedRelay('active')
    with pytest.raises(MSRPRelayAuthError) as info:
        ConnectorRelay(relay_settings(relay, 'wrong')).prepare(local_uri())
    assert info.value.code == 401
    relay.join()


def test_silent_relay_raises_auth_timeout(monkeypatch):
    monkeypatch.setattr(MSRPAuthTimeout, 'seconds', 0.3)
    relay = ScriptedRelay('active', answer=False)
    with pytest.raises(MSRPAuthTimeout):
        ConnectorRelay(relay_settings(relay)).prepare(local_uri())
    relay.join()


def test_no_relay_raises_relay_connect_timeout():
    s = socket.socket()
    s.bind(('127.0.0.1', 0))
    port = s.getsockname()[1]
    s.close()  # nobody listens there now
    settings = MSRPRelaySettings(REALM, 'alice', 'secret', host='127.0.0.1', port=port)
    with pytest.raises(MSRPRelayConnectTimeout):
        ConnectorRelay(settings).prepare(local_uri())


class FakeDNS(object):
    """A DNS server on 127.0.0.1 (UDP) answering from ``records``: a dict
    from ``(name, qtype)`` to a list of answers, each ``(priority, weight,
    port, target)`` for SRV (33) or an IPv4 string for A (1). Every other
    question gets an empty answer. The messages are built here by hand:
    this is the test's own server, not the library's."""

    def __init__(self, records):
        self.records = records
        self.questions = []
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(('127.0.0.1', 0))
        self.sock.settimeout(0.2)
        self.address = self.sock.getsockname()
        self.running = True
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    @staticmethod
    def _name(labels):
        return b''.join(bytes([len(l)]) + l.encode() for l in labels.split('.') if l) + b'\0'

    def _serve(self):
        while self.running:
            try:
                query, peer = self.sock.recvfrom(512)
            except socket.timeout:
                continue
            at, labels = 12, []
            while query[at]:
                labels.append(query[at + 1:at + 1 + query[at]].decode())
                at += 1 + query[at]
            qtype = int.from_bytes(query[at + 1:at + 3], 'big')
            question = query[12:at + 5]
            name = '.'.join(labels).lower()
            self.questions.append((name, qtype))
            answers = b''
            items = self.records.get((name, qtype), [])
            for item in items:
                if qtype == 33:
                    priority, weight, port, target = item
                    rdata = (priority.to_bytes(2, 'big') + weight.to_bytes(2, 'big')
                             + port.to_bytes(2, 'big') + self._name(target))
                else:
                    rdata = socket.inet_aton(item)
                answers += (b'\xc0\x0c' + qtype.to_bytes(2, 'big') + b'\x00\x01'
                            + (60).to_bytes(4, 'big') + len(rdata).to_bytes(2, 'big') + rdata)
            header = query[:2] + b'\x81\x80\x00\x01' + len(items).to_bytes(2, 'big') + b'\x00\x00\x00\x00'
            self.sock.sendto(header + question + answers, peer)

    def close(self):
        self.running = False
        self.thread.join(5)
        self.sock.close()


class OneAuthRelay(object):
    """A relay that answers the first AUTH on one connection with ``code``
    (200 grants at once, with a Use-Path), then waits for the close."""

    def __init__(self, code, tls=None):
        self.tls = tls
        self.listener = socket.socket()
        self.listener.bind(('127.0.0.1', 0))
        self.listener.listen(1)
        self.port = self.listener.getsockname()[1]
        self.code = code
        self.auths = []
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    @property
    def use_path(self):
        return 'msrp://127.0.0.1:{}/granted{};tcp'.format(self.port, self.code)

    def _serve(self):
        sock, _ = self.listener.accept()
        if self.tls is not None:
            try:
                sock = self.tls.wrap_socket(sock, server_side=True)
            except (ssl.SSLError, OSError) as e:
                self.auths.append(e)
                sock.close()
                return
        with sock:
            wire = Wire(sock)
            auth = wire.read()
            if auth is None:
                return
            self.auths.append(auth)
            headers = []
            if self.code == 200:
                headers = [protocol.UsePathHeader([protocol.URI.parse(self.use_path)]),
                           protocol.ExpiresHeader(600)]
            wire.respond(auth, self.code, headers)
            wire.read()

    def close(self):
        self.thread.join(10)
        self.listener.close()
        assert not self.thread.is_alive()


def test_srv_discovery_falls_back_from_a_refusing_relay_to_the_next():
    refusing, granting = OneAuthRelay(403), OneAuthRelay(200)
    dns = FakeDNS({
        ('_msrp._tcp.' + REALM, 33): [(20, 0, granting.port, 'r2.' + REALM),
                                     (10, 0, refusing.port, 'r1.' + REALM)],
        ('r1.' + REALM, 1): ['127.0.0.1'],
        ('r2.' + REALM, 1): ['127.0.0.1'],
    })
    try:
        relay = MSRPRelaySettings(REALM, 'alice', 'secret')
        assert relay.host is None
        # The class attribute is read when the connection is made.
        conn = type('Discovering', (RelayConnection,), {'nameservers': [dns.address]})(relay, 'active')
        path = conn.prepare(local_uri())
        # The lower priority value went first and refused; the second took us.
        assert len(refusing.auths) == 1 and len(granting.auths) == 1
        assert str(path[0]) == granting.use_path
        assert ('_msrp._tcp.' + REALM, 33) in dns.questions
        conn.cleanup()
    finally:
        dns.close()
        refusing.close()
        granting.close()


def test_srv_discovery_that_finds_nothing_raises_relay_connect_timeout():
    dns = FakeDNS({})
    try:
        relay = MSRPRelaySettings('nothing.' + REALM, 'alice', 'secret')
        conn = type('Discovering', (RelayConnection,), {'nameservers': [dns.address]})(relay, 'active')
        with pytest.raises(MSRPRelayConnectTimeout):
            conn.prepare(local_uri())
        # SRV first, then the domain's own addresses.
        assert ('_msrp._tcp.nothing.' + REALM, 33) in dns.questions
        assert ('nothing.' + REALM, 1) in dns.questions
    finally:
        dns.close()


def tls_relay(made_ca, code=200):
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(str(made_ca / 'server.pem'), str(made_ca / 'server.key'))
    return OneAuthRelay(code, tls=context)


def test_tls_relay_verified_against_a_ca_made_at_test_time(made_ca):
    relay = tls_relay(made_ca)
    try:
        ca = (made_ca / 'ca.pem').read_text()
        settings = MSRPRelaySettings(REALM, 'alice', 'secret', host='127.0.0.1', port=relay.port,
                                     use_tls=True, credentials=X509Credentials(trusted=[ca]))
        conn = RelayConnection(settings, 'active')
        path = conn.prepare(protocol.URI(host='127.0.0.1', port=0, use_tls=True))
        assert str(path[0]) == relay.use_path
        # The AUTH named the relay with msrps.
        assert relay.auths[0].headers['To-Path'].encoded == 'msrps://{}:{};tcp'.format(REALM, relay.port)
        assert path[-1].use_tls
        conn.cleanup()
    finally:
        relay.close()


def test_tls_relay_with_an_untrusted_certificate_is_refused(made_ca):
    relay = tls_relay(made_ca)
    try:
        here = os.path.dirname(os.path.abspath(__file__))
        with open(os.path.join(here, '..', 'data', 'tls', 'other-ca.pem')) as f:
            other = f.read()
        settings = MSRPRelaySettings(REALM, 'alice', 'secret', host='127.0.0.1', port=relay.port,
                                     use_tls=True, credentials=X509Credentials(trusted=[other]))
        with pytest.raises(TLSError):
            RelayConnection(settings, 'active').prepare(protocol.URI(host='127.0.0.1', port=0, use_tls=True))
        # Nothing was sent to a relay that could not prove who it is.
        assert all(isinstance(a, Exception) for a in relay.auths)
        # A TLS relay without credentials is refused before connecting.
        with pytest.raises(ValueError):
            RelayConnection(MSRPRelaySettings(REALM, 'alice', 'secret', host='127.0.0.1',
                                              port=relay.port, use_tls=True), 'active')
    finally:
        relay.close()


class StaleRelay(OneAuthRelay):
    """Answers the first AUTH with a challenge, the answer to it with a
    stale 401 (a new nonce), and the answer to that, checked, with 200."""

    def __init__(self):
        OneAuthRelay.__init__(self, 200)

    def _serve(self):
        sock, _ = self.listener.accept()
        with sock:
            wire = Wire(sock)
            for nonce, stale in (('n1', False), ('n2', True)):
                auth = wire.read()
                self.auths.append(auth)
                wire.respond(auth, 401, [protocol.WWWAuthenticateHeader(
                    'Digest realm="{}", nonce="{}", qop="auth", opaque="op"{}'.format(
                        REALM, nonce, ', stale=true' if stale else ''))])
            auth = wire.read()
            self.auths.append(auth)
            p = digest_params(auth.headers['Authorization'].encoded)
            uri = p.get('uri') or auth.headers['To-Path'].encoded
            expected = md5('{}:{}:{}:{}:auth:{}'.format(md5('alice:{}:secret'.format(REALM)), p['nonce'],
                                                        p['nc'], p['cnonce'], md5('AUTH:' + uri)))
            code = 200 if (p['nonce'], p['response']) == ('n2', expected) else 401
            wire.respond(auth, code, [protocol.UsePathHeader([protocol.URI.parse(self.use_path)]),
                                      protocol.ExpiresHeader(600)])
            wire.read()


def test_a_stale_nonce_is_answered_again_with_the_new_one():
    relay = StaleRelay()
    try:
        conn = RelayConnection(relay_settings(relay), 'active')
        path = conn.prepare(local_uri())
        assert str(path[0]) == relay.use_path
        answers = [digest_params(a.headers['Authorization'].encoded) for a in relay.auths[1:]]
        assert [(a['nonce'], a['nc']) for a in answers] == [('n1', '00000001'), ('n2', '00000001')]
        conn.cleanup()
    finally:
        relay.close()
