"""python-sts on msgwire: the legacy ``sts`` package (STS/1.0) for Python 3.

Import the modules as with python-sts::

    from sts import ineterr, inetheaders, inetmsg, inetsocket, inetmgr

Every module is a thin shim over the Rust core (``msgwire._native``):
parsing, encoding, error bodies, transactions, reply sequencing,
fragments, pings and timeouts all happen there.

Bodies are ``bytes``. Where a body or a header value is accepted, ``str``
works too and is encoded as UTF-8. Start lines and header names and
values come back as ``str``.
"""

__all__ = ['ineterr', 'inetheaders', 'inetmgr', 'inetmsg', 'inetsocket']
