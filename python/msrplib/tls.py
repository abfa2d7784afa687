"""TLS credentials for ``msrps`` URIs.

The legacy library took a python-gnutls ``X509Credentials`` as
``URI(..., use_tls=True, credentials=...)``. msgwire does TLS in its Rust
core (rustls), so this module provides the credentials object with the
same constructor, and small stand-ins for ``gnutls.crypto``'s
``X509Certificate`` and ``X509PrivateKey``::

    from msrplib.tls import X509Certificate, X509Credentials, X509PrivateKey

    cert = X509Certificate(open('server.pem').read())
    key = X509PrivateKey(open('server.key').read())
    ca = X509Certificate(open('ca.pem').read())
    credentials = X509Credentials(cert, key, trusted=[ca])
    local_uri = URI(port=0, use_tls=True, credentials=credentials)

Each of ``cert``, ``key`` and the items of ``trusted`` may also be PEM text
(``str`` or ``bytes``), a path to a PEM file, or any object with an
``export()`` method returning PEM (python-gnutls objects have one).

Whose credentials are used, as in the legacy library: a
:class:`~msrplib.connect.DirectAcceptor` or
:class:`~msrplib.connect.MSRPServer` listening on an ``msrps`` local URI
presents that URI's ``cert`` and ``key``; a
:class:`~msrplib.connect.DirectConnector` connecting to an ``msrps`` remote
URI checks the peer against its *local* URI's ``trusted`` CAs.

Difference from python-gnutls: the peer's certificate **is verified by
default** (``verify_peer=True``): it must chain to one of ``trusted`` and
name the host connected to. ``X509Credentials(verify_peer=False)``
accepts any certificate; it is meant for self-signed test setups only
(the traffic is encrypted but anyone on the path can impersonate the
peer). Client certificates are not sent (``cert``/``key`` are only used
when listening).

Errors: credentials that do not parse raise ``ValueError`` when first
used; an ``msrps`` URI without the credentials its side needs raises
``ValueError``; a failed handshake (untrusted or mismatched certificate,
the peer speaking plain TCP, a handshake timeout) raises :class:`TLSError`.
"""

import os

from msgwire import _native
from msrplib import MSRPError

__all__ = ['TLSError', 'X509Certificate', 'X509PrivateKey', 'X509Credentials']


class TLSError(MSRPError, OSError):
    """A TLS handshake or TLS connection failed."""


class _Pem(object):
    """PEM text kept as given; ``export()`` returns it as ``bytes``."""

    def __init__(self, buf):
        self._pem = _pem_bytes(buf)

    def export(self):
        return self._pem

    def __repr__(self):
        return '<{} ({} bytes of PEM)>'.format(type(self).__name__, len(self._pem))


class X509Certificate(_Pem):
    """A certificate (or a chain: several PEM sections) as PEM text."""


class X509PrivateKey(_Pem):
    """A private key (PKCS#8, PKCS#1 or SEC1) as PEM text."""


def _pem_bytes(value):
    """PEM bytes from PEM text, a PEM file's path or an object with ``export()``."""
    if hasattr(value, 'export'):
        value = value.export()
    if isinstance(value, os.PathLike):
        value = os.fspath(value)
    if isinstance(value, str):
        if '-----BEGIN' in value:
            return value.encode('ascii')
        with open(value, 'rb') as f:
            return f.read()
    if isinstance(value, (bytes, bytearray, memoryview)):
        value = bytes(value)
        if b'-----BEGIN' in value:
            return value
        with open(value, 'rb') as f:
            return f.read()
    raise TypeError('expected PEM text, a PEM file path or an object with export(), got {}'.format(
        type(value).__name__))


class X509Credentials(object):
    """What one side of an ``msrps`` connection presents and trusts.

    ``cert`` and ``key``: the certificate (chain) and private key presented
    when listening. ``trusted``: the CA certificates a connecting side
    accepts (one item or a list). ``verify_peer``: ``False`` accepts any
    certificate (test setups only).
    """

    def __init__(self, cert=None, key=None, trusted=None, crl_list=None, verify_peer=True):
        self.cert = cert
        self.key = key
        if trusted is None:
            trusted = []
        elif not isinstance(trusted, (list, tuple)):
            trusted = [trusted]
        self.trusted = list(trusted)
        self.crl_list = crl_list
        self.verify_peer = verify_peer
        self._server = None
        self._client = None

    def __repr__(self):
        return '<{} cert={} trusted={} verify_peer={}>'.format(
            type(self).__name__, 'yes' if self.cert is not None else 'no', len(self.trusted), self.verify_peer)

    def _server_config(self):
        """The native server configuration (built once)."""
        if self._server is None:
            if self.cert is None or self.key is None:
                raise ValueError('listening on msrps needs credentials with a certificate and a key')
            self._server = _native.tls_server_config(_pem_bytes(self.cert), _pem_bytes(self.key))
        return self._server

    def _client_config(self):
        """The native client configuration (built once)."""
        if self._client is None:
            ca = b''.join(_pem_bytes(item).rstrip(b'\n') + b'\n' for item in self.trusted)
            self._client = _native.tls_client_config(ca or None, bool(self.verify_peer))
        return self._client


def server_config(uri):
    """The native server configuration for listening on ``uri`` (``None``
    for plain ``msrp``); raises ``ValueError`` when it lacks credentials."""
    if not uri.use_tls:
        return None
    credentials = getattr(uri, 'credentials', None)
    if credentials is None:
        raise ValueError('{} is msrps but has no credentials (certificate and key)'.format(uri))
    return _as_credentials(credentials)._server_config()


def client_config(local_uri, remote_uri):
    """The native client configuration for connecting to ``remote_uri``
    (``None`` for plain ``msrp``), taken from ``local_uri``'s credentials."""
    if not remote_uri.use_tls:
        return None
    credentials = getattr(local_uri, 'credentials', None)
    if credentials is None:
        raise ValueError('connecting to msrps URI {} needs credentials on the local URI '
                         '(X509Credentials(trusted=[ca]) or verify_peer=False)'.format(remote_uri))
    return _as_credentials(credentials)._client_config()


def _as_credentials(credentials):
    """Our :class:`X509Credentials` for ours or a look-alike (python-gnutls'
    has ``cert``, ``key`` and ``trusted`` attributes)."""
    if isinstance(credentials, X509Credentials):
        return credentials
    converted = getattr(credentials, '_msgwire_credentials', None)
    if converted is None:
        converted = X509Credentials(getattr(credentials, 'cert', None), getattr(credentials, 'key', None),
                                    getattr(credentials, 'trusted', None) or None,
                                    verify_peer=getattr(credentials, 'verify_peer', True))
        try:
            credentials._msgwire_credentials = converted
        except (AttributeError, TypeError):
            pass
    return converted
