"""An in-process MSRP relay (RFC 4976), for tests and embedding.

::

    from msgwire.relay import Relay

    with Relay('users.txt', 'example.org', plain_tcp='127.0.0.1:0',
               status='127.0.0.1:0') as relay:
        host, port = relay.plain_tcp_address.rsplit(':', 1)
        ...   # msrplib.connect.RelayConnection clients authenticate here

The relay authenticates clients with HTTP digest against ``users``, a
file with one ``user:realm:HA1`` or ``user:password`` per line (``#``
comments), gives each a reservation (``Use-Path`` and ``Expires``), and
forwards SEND, REPORT and NICKNAME between its clients, direct peers and
other relays, cutting bodies through chunk by chunk. ``status`` serves
``/status.xml`` and ``/sessions.xml`` (serverResponse). What it does on
the wire, and every refusal, is documented with the Rust type
``msgwire::msrp::relay_server::Relay``.

Addresses are ``"host:port"`` strings (port 0 picks a free port; the
``*_address`` properties give the bound one, or ``None`` when off).
``listen`` is the TLS address and needs ``tls=(cert_path, key_path)``;
``plain_tcp`` is for tests and closed networks only. ``expires`` is
``(min, default, max)`` in seconds.

Errors: ``OSError`` when a file cannot be read or an address cannot be
bound, ``ValueError`` for a configuration that cannot work.
"""

from msgwire import _native

__all__ = ['Relay']


class Relay(object):
    """A relay, started by :meth:`start` (or by entering a ``with``
    block) and stopped by :meth:`close` (chunks in flight finish, then
    every connection closes)."""

    def __init__(self, users, realm, listen=None, tls=None, plain_tcp=None, status=None,
                 expires=(60, 600, 3600), transaction_timeout=30.0):
        self.users = str(users)
        self.realm = realm
        self.listen = listen
        self.tls = None if tls is None else (str(tls[0]), str(tls[1]))
        self.plain_tcp = plain_tcp
        self.status = status
        self.expires = tuple(expires)
        self.transaction_timeout = transaction_timeout
        self._native = None

    def start(self):
        """Binds the listeners and starts serving; returns self."""
        if self._native is not None:
            raise RuntimeError('the relay is already started')
        self._native = _native.RelayServer(
            self.users, self.realm, listen=self.listen, tls=self.tls,
            plain_tcp=self.plain_tcp, status=self.status, expires=self.expires,
            transaction_timeout=self.transaction_timeout)
        return self

    def _address(self, name):
        return None if self._native is None else getattr(self._native, name)

    @property
    def tls_address(self):
        """The bound TLS address ``"host:port"``, or None."""
        return self._address('tls_address')

    @property
    def plain_tcp_address(self):
        """The bound plain TCP address, or None."""
        return self._address('plain_tcp_address')

    @property
    def status_address(self):
        """The bound status server address, or None."""
        return self._address('status_address')

    def counters(self):
        """The relay's counters (dict of int)."""
        return {} if self._native is None else self._native.counters()

    def reservations(self):
        """The reservations held now (list of dicts: user, session_id,
        uri, client, peer, expires, bytes)."""
        return [] if self._native is None else self._native.reservations()

    def close(self):
        """Shuts the relay down gracefully; idempotent."""
        if self._native is not None:
            self._native.close()

    def __enter__(self):
        if self._native is None:
            self.start()
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def __repr__(self):
        return '<Relay %s tls=%s plain=%s status=%s>' % (
            self.realm, self.tls_address, self.plain_tcp_address, self.status_address)
