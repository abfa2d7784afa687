"""msrps: TLS between msrplib endpoints on loopback, with the test-only
certificates of tests/data/tls (a CA, a server certificate it issued for
127.0.0.1/::1/localhost, and an unrelated CA)."""

import os
import pathlib
import socket
import threading

import pytest

from msrplib import MSRPError
from msrplib.connect import DirectAcceptor, DirectConnector, MSRPServer
from msrplib.protocol import URI, SuccessReportHeader
from msrplib.session import GreenMSRPSession, MSRPSession
from msrplib.tls import TLSError, X509Certificate, X509Credentials, X509PrivateKey

pytestmark = pytest.mark.timeout(30)

TLS = pathlib.Path(__file__).resolve().parent.parent / 'data' / 'tls'
CA = TLS / 'ca.pem'
OTHER_CA = TLS / 'other-ca.pem'
CERT = TLS / 'server.pem'
KEY = TLS / 'server.key'


def server_credentials():
    return X509Credentials(X509Certificate(CERT.read_text()), X509PrivateKey(KEY.read_text()))


def client_credentials(ca=CA, **kw):
    return X509Credentials(trusted=[X509Certificate(ca.read_text())], **kw)


def tls_uri(credentials, session_id, host='127.0.0.1', port=0):
    return URI(host=host, port=port, use_tls=True, session_id=session_id, credentials=credentials)


def bind(server_creds, client_creds, host='127.0.0.1'):
    """(client transport, server transport) over msrps, or raises the
    connector's error (the acceptor's, if any, is returned in ``errors``)."""
    acceptor = DirectAcceptor()
    server_path = acceptor.prepare(tls_uri(server_creds, 'srv', host))
    connector = DirectConnector()
    client_path = connector.prepare(tls_uri(client_creds, 'cli', host))
    out, errors = {}, []

    def accept():
        try:
            out['server'] = acceptor.complete(client_path)
        except Exception as exc:
            errors.append(exc)

    t = threading.Thread(target=accept)
    t.start()
    try:
        client = connector.complete(server_path)
    finally:
        if 'server' not in out:
            acceptor.cleanup()  # wakes a waiting acceptor when the connector failed
        t.join(10)
        acceptor.cleanup()
    return client, out.get('server'), errors


def test_paths_say_msrps_and_a_session_exchanges_messages_with_reports():
    client, server, errors = bind(server_credentials(), client_credentials())
    assert not errors
    assert str(client.local_uri).startswith('msrps://127.0.0.1:')
    assert str(server.local_uri).startswith('msrps://127.0.0.1:')
    bob = GreenMSRPSession(server)
    received = []
    done = threading.Event()

    def on_incoming(chunk=None, error=None):
        if chunk is not None:
            received.append(chunk)
            done.set()

    alice = MSRPSession(client, on_incoming_cb=on_incoming)
    try:
        message = alice.make_message(b'hello over TLS', 'text/plain')
        message.add_header(SuccessReportHeader('yes'))
        response = alice.deliver_chunk(message)
        assert response.code == 200
        incoming = bob.receive_chunk(timeout=10)
        assert incoming.data == b'hello over TLS' and incoming.content_type == 'text/plain'
        assert done.wait(10), 'no success REPORT came back over TLS'
        report = received[0]
        assert report.method == 'REPORT' and report.message_id == message.message_id
        assert report.status.code == 200
        reply = bob.deliver_message('and back', 'text/plain')
        assert reply.method == 'SEND'
    finally:
        alice.shutdown()
        bob.shutdown()


def test_transport_read_and_write_before_a_session():
    client, server, errors = bind(server_credentials(), client_credentials())
    assert not errors
    try:
        chunk = client.make_send_request(data=b'raw chunk')
        client.write_chunk(chunk)
        got = server.read_chunk()
        assert got.method == 'SEND' and got.data == b'raw chunk'
        assert got.transaction_id == chunk.transaction_id
    finally:
        client.loseConnection()
        server.loseConnection()


def test_untrusted_certificate_is_refused():
    with pytest.raises(TLSError) as info:
        bind(server_credentials(), client_credentials(OTHER_CA))
    assert isinstance(info.value, OSError) and isinstance(info.value, MSRPError)
    assert 'certificate' in str(info.value).lower()


def test_wrong_name_is_refused():
    # The certificate names 127.0.0.1, ::1 and localhost; connect by another
    # loopback address so the name check fails while the CA is right.
    acceptor = DirectAcceptor()
    server_path = acceptor.prepare(tls_uri(server_credentials(), 'srv', '127.0.0.2'))
    try:
        connector = DirectConnector()
        connector.prepare(tls_uri(client_credentials(), 'cli'))
        threading.Thread(target=lambda: _ignore(acceptor.complete, connector.local_uri), daemon=True).start()
        with pytest.raises(TLSError):
            connector.complete(server_path)
    finally:
        acceptor.cleanup()


def _ignore(complete, uri):
    try:
        complete([uri])
    except Exception:
        pass


def test_verify_peer_false_accepts_any_certificate():
    client, server, errors = bind(server_credentials(), X509Credentials(verify_peer=False))
    assert not errors and server is not None
    client.loseConnection()
    server.loseConnection()


def test_ipv6_loopback():
    if not socket.has_ipv6:
        pytest.skip('no IPv6')
    try:
        probe = socket.socket(socket.AF_INET6)
        probe.bind(('::1', 0))
        probe.close()
    except OSError:
        pytest.skip('no ::1 on this machine')
    client, server, errors = bind(server_credentials(), client_credentials(), host='::1')
    assert not errors
    assert client.getPeer()[0] == '::1'
    client.loseConnection()
    server.loseConnection()


def test_credentials_from_paths_bytes_and_gnutls_like_objects():
    class GnutlsLike(object):  # python-gnutls credentials expose cert, key, trusted
        def __init__(self, cert, key, trusted):
            self.cert, self.key, self.trusted = cert, key, trusted

    class Exportable(object):
        def __init__(self, path):
            self.path = path

        def export(self):
            return self.path.read_bytes()

    server = X509Credentials(str(CERT), os.fspath(KEY))
    client = GnutlsLike(None, None, [Exportable(CA)])
    c, s, errors = bind(server, client)
    assert not errors
    c.loseConnection()
    s.loseConnection()
    server = X509Credentials(CERT.read_bytes(), KEY.read_bytes())
    c, s, errors = bind(server, X509Credentials(trusted=CA))
    assert not errors
    c.loseConnection()
    s.loseConnection()


def test_missing_or_bad_credentials_are_value_errors():
    with pytest.raises(ValueError, match='credentials'):
        DirectAcceptor().prepare(tls_uri(None, 'x'))
    with pytest.raises(ValueError, match='certificate and a key'):
        DirectAcceptor().prepare(tls_uri(X509Credentials(trusted=[CA]), 'x'))
    with pytest.raises(ValueError, match='invalid TLS credentials'):
        DirectAcceptor().prepare(tls_uri(X509Credentials(CERT.read_text(), CA.read_text()), 'x'))
    target = [tls_uri(None, 'peer', port=9)]
    connector = DirectConnector()
    connector.prepare(tls_uri(X509Credentials(), 'x'))
    with pytest.raises(ValueError, match='trusted CA'):
        connector.complete(target)
    connector = DirectConnector()
    connector.prepare(URI(host='127.0.0.1', use_tls=False))
    with pytest.raises(ValueError, match='needs credentials on the local URI'):
        connector.complete(target)
    with pytest.raises(TypeError):
        X509Credentials(42, 43)._server_config()


def test_plain_client_against_tls_acceptor_fails_cleanly():
    acceptor = DirectAcceptor()
    server_path = acceptor.prepare(tls_uri(server_credentials(), 'srv'))
    plain = URI(host='127.0.0.1', port=server_path[0].port, use_tls=False, session_id='srv')
    errors = []
    t = threading.Thread(target=lambda: errors.append(_catch(acceptor.complete, [URI(host='127.0.0.1', port=9,
                                                                                       use_tls=False)])))
    t.start()
    try:
        connector = DirectConnector()
        connector.prepare(URI(host='127.0.0.1', use_tls=False, session_id='cli'))
        with pytest.raises((OSError, MSRPError)):
            connector.complete([plain])
    finally:
        t.join(20)
        acceptor.cleanup()
    assert errors and isinstance(errors[0], (TLSError, MSRPError, OSError))


def _catch(fn, *args):
    try:
        fn(*args)
    except Exception as exc:
        return exc
    return None


def test_msrp_server_binds_tls_sessions():
    server = MSRPServer()
    try:
        uris = [tls_uri(server_credentials(), 'tls-%d' % i) for i in range(3)]
        for uri in uris:
            server.prepare(uri)
        assert len({uri.port for uri in uris}) == 1
        results, errors = {}, []

        def connect(uri):
            try:
                connector = DirectConnector()
                connector.prepare(tls_uri(client_credentials(), 'c-' + uri.session_id))
                results[uri.session_id] = connector.complete([uri])
            except Exception as exc:
                errors.append(exc)

        threads = [threading.Thread(target=connect, args=(uri,)) for uri in uris]
        for t in threads:
            t.start()
        served = [server.complete([results_path]) for results_path in _client_paths(uris, threads)]
        for t in threads:
            t.join(10)
        assert not errors
        assert sorted(t.local_uri.session_id for t in served) == ['tls-0', 'tls-1', 'tls-2']
        for t in served + list(results.values()):
            t.loseConnection()
    finally:
        server.close()


def _client_paths(uris, threads):
    # Every connector prepares 'c-<session id>' on 127.0.0.1 with port 2855 advertised.
    return [URI(host='127.0.0.1', port=2855, use_tls=True, session_id='c-' + uri.session_id) for uri in uris]
