"""msrplib.connect relay client (RFC 4976) against a relay scripted in
the test on 127.0.0.1: digest AUTH checked byte for byte, the Use-Path
returned as the local path, binding through the relay in both modes, and
the legacy exceptions for a wrong password, a silent relay and no relay.
"""

import hashlib
import re
import socket
import threading

import pytest

from msgwire.msrp import ChunkData, ChunkEnd, ChunkStart, Parser, make_response
from msrplib import protocol
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

    def __init__(self, mode, answer=True):
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
                                  protocol.ExpiresHeader(600)])
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
        a.read()  # until the endpoint closes


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


def test_passive_through_the_relay():
    relay = ScriptedRelay('passive')
    acceptor = AcceptorRelay(relay_settings(relay))
    a_path = acceptor.prepare(local_uri())
    connector = DirectConnector()
    b_path = connector.prepare(local_uri())
    result = {}
    t = threading.Thread(target=lambda: result.update(a=acceptor.complete(b_path)))
    t.start()
    b = connector.complete(a_path)  # connects to the relay, the first hop
    t.join(30)
    a = result['a']
    assert str(b.full_remote_path[0]) == relay.use_path
    assert [str(u) for u in a.local_path] == [relay.use_path]
    a.loseConnection(wait=False)
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
