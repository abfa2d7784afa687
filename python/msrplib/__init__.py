"""msrplib: the MSRP (RFC 4975) library API of python3-msrplib, on msgwire.

This package keeps the module layout, class names and behaviour of the
legacy AG Projects ``msrplib`` so existing code keeps working, while every
parse, encode and validation runs in msgwire's Rust core.

Modules available so far:

* :mod:`msrplib.protocol` -- URIs, headers and chunks (``MSRPData``).
* :mod:`msrplib.connect` -- ``DirectConnector`` and ``DirectAcceptor``:
  binding a session over TCP or TLS (``msrps``); ``MSRPServer``: many
  passive sessions through one shared listening port; relays (RFC 4976):
  ``MSRPRelaySettings``, ``RelayConnection`` and the ``ConnectorRelay``/
  ``AcceptorRelay``, ``get_connector``/``get_acceptor`` helpers.
* :mod:`msrplib.tls` -- ``X509Credentials`` for ``msrps`` URIs.
* :mod:`msrplib.transport` -- ``MSRPTransport`` (paths, building requests,
  checking incoming paths, ``read_chunk``/``write_chunk`` before a session)
  and the transaction errors.
* :mod:`msrplib.session` -- ``MSRPSession`` and ``GreenMSRPSession``,
  driven by threads of the Rust core.
* :mod:`msrplib.trafficlog` -- the ``Logger`` objects taken as ``logger``
  arguments, writing through the ``logging`` logger ``'msrplib'``, and
  ``NullLogger``.

``__version__`` is the msgwire version; the API mirrored is that of
python3-msrplib 0.21.
"""

__all__ = ['MSRPError', '__version__']


class MSRPError(Exception):
    """Base class of every error raised by msrplib."""


# Imported after MSRPError: loading the native module loads msgwire, whose
# modules import msrplib.protocol, which needs MSRPError.
from msgwire._native import __version__  # noqa: E402
