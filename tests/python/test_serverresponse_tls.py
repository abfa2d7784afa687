"""msgwire.serverresponse over HTTPS: the server with msrplib's
X509Credentials (certificate and key), the client trusting the test CA,
and the refusals (another CA, https without credentials, TLS against a
plain server)."""

import os
import socket
import ssl
import urllib.request

import pytest

from msgwire import serverresponse as sr
from msrplib.tls import X509Certificate, X509Credentials, X509PrivateKey

TLS = os.path.join(os.path.dirname(__file__), '..', 'data', 'tls')


def pem(name):
    with open(os.path.join(TLS, name), 'rb') as f:
        return f.read()


SERVER = X509Credentials(X509Certificate(pem('server.pem')), X509PrivateKey(pem('server.key')))
TRUSTING = X509Credentials(trusted=[X509Certificate(pem('ca.pem'))])
OTHER = X509Credentials(trusted=[X509Certificate(pem('other-ca.pem'))])


@pytest.fixture
def https_server():
    server = sr.Server(port=0, workers=2, server_name='bayonne', credentials=SERVER)

    @server.method('echo')
    def echo(args):
        if 'text' not in args:
            raise sr.Fault(sr.ARGUMENT_MISSING, 'argument missing: text')
        return [sr.Result('text', args['text'])]

    with server:
        yield server


def test_https_get_against_our_server(https_server):
    url = f'https://127.0.0.1:{https_server.port}/echo.xml?text=caf%C3%A9+au+lait'
    doc = sr.get(url, timeout=10, credentials=TRUSTING)
    assert doc.ok and doc.server == 'bayonne' and doc.service == 'echo'
    assert doc.find('text') == 'café au lait'
    # Faults come back as a document over TLS too.
    doc = sr.get(f'https://127.0.0.1:{https_server.port}/echo.xml', credentials=TRUSTING)
    assert not doc.ok and doc.fault_code == 601
    doc = sr.get(f'https://127.0.0.1:{https_server.port}/nope.xml', credentials=TRUSTING)
    assert doc.fault_code == 404 and doc.service == 'http'


def test_python_ssl_client_sees_our_certificate(https_server):
    """An independent TLS client (Python's ssl) trusting the test CA."""
    context = ssl.create_default_context(cafile=os.path.join(TLS, 'ca.pem'))
    url = f'https://127.0.0.1:{https_server.port}/echo.xml?text=x'
    with urllib.request.urlopen(url, context=context, timeout=10) as reply:
        assert reply.status == 200
        body = reply.read()
    assert sr.parse(body).find('text') == 'x'


def test_a_certificate_from_another_ca_is_refused(https_server):
    url = f'https://127.0.0.1:{https_server.port}/echo.xml?text=x'
    with pytest.raises(sr.ClientError) as err:
        sr.get(url, timeout=10, credentials=OTHER)
    assert err.value.kind == 'tls'
    assert 'TLS' in str(err.value)
    # The server carries on for the next, trusting client.
    assert sr.get(url, timeout=10, credentials=TRUSTING).find('text') == 'x'


def test_https_needs_credentials_and_plain_servers_fail_the_handshake(https_server):
    with pytest.raises(sr.ClientError) as err:
        sr.get(f'https://127.0.0.1:{https_server.port}/echo.xml?text=x', timeout=5)
    assert err.value.kind == 'bad_url'
    # Plain HTTP to the HTTPS port gets no serverResponse reply.
    with pytest.raises(sr.ClientError):
        sr.get(f'http://127.0.0.1:{https_server.port}/echo.xml?text=x', timeout=5)
    with sr.Server(port=0, workers=1) as plain:
        with pytest.raises(sr.ClientError) as err:
            sr.get(f'https://127.0.0.1:{plain.port}/status.xml', timeout=5, credentials=TRUSTING)
        assert err.value.kind == 'tls'
        # http:// URLs ignore the credentials.
        assert sr.get(f'http://127.0.0.1:{plain.port}/status.xml',
                      credentials=TRUSTING).find('version')


def test_a_client_that_never_finishes_the_handshake_is_cut_off():
    with sr.Server(port=0, workers=1, read_timeout=0.5, credentials=SERVER) as server:
        with socket.create_connection(('127.0.0.1', server.port), timeout=10) as stalled:
            stalled.sendall(b'\x16\x03\x01')  # the start of a ClientHello, then nothing
            # The only worker gives up on it after read_timeout and closes.
            assert stalled.recv(100) == b''
        assert sr.get(f'https://127.0.0.1:{server.port}/status.xml', timeout=10,
                      credentials=TRUSTING).ok


def test_bad_credentials_raise_value_error():
    with pytest.raises(ValueError):
        sr.Server(port=0, credentials=X509Credentials())  # no certificate
    with pytest.raises(ValueError):
        sr.get('https://127.0.0.1:1/x.xml', credentials=X509Credentials(trusted=[]))
