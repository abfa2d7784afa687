"""msgwire: session-messaging protocols on a sans-IO Rust core.

* :mod:`msgwire.msrp` -- the MSRP (RFC 4975) wire layer: parse and encode
  chunks, stream-parse a connection's bytes, build responses and REPORTs.
* :mod:`msgwire.cpim` -- Message/CPIM (RFC 3862): parse, build and encode
  the wrapper of chat messages.
* :mod:`msgwire.sdp` -- the SDP media description of an MSRP session
  (RFC 4975 section 8, RFC 6135 ``a=setup``).
* :mod:`msgwire.chat` -- MSRPChat: a chat over one MSRP session with
  Message/CPIM wrapping, delivery reports, is-composing indications and
  sipsimple-style notifications.
* :mod:`msgwire.sts` -- STS/1.0 servers (routes, responders, broadcast)
  and a thin client.
* :mod:`msgwire.serverresponse` -- GNU Bayonne's serverResponse XML
  replies to HTTP GET: model, parser, streaming writer, server and client.
* :mod:`msgwire.relay` -- an in-process MSRP relay (RFC 4976): digest
  AUTH against a users file, forwarding with bodies cut through, status
  pages.
* :mod:`msgwire.ministream` -- I2P ministreaming: socket managers over TCP
  or in memory, blocking streams, frames.
* :mod:`sts` (a separate top-level package) -- the legacy python-sts API
  (``ineterr``, ``inetheaders``, ``inetmsg``, ``inetsocket``, ``inetmgr``).
* :mod:`msrplib` (a separate top-level package in the same distribution) --
  the legacy ``msrplib`` API on the same core.

The native extension is ``msgwire._native``; it is private, its API may
change between releases.
"""

from msgwire._native import __version__
from msgwire import msrp

__all__ = ['__version__', 'msrp']
