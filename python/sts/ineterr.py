"""STS error values (python-sts's ``sts.ineterr``).

``Error`` is the namedtuple ``(code, server, module, line, text)`` every
request result carries; ``SUCCESS`` (0) means success.

Differences from python-sts:

* ``build_error`` works (python-sts's always raised). It returns the
  error body as ``bytes``:
  ``<Error code=".." server=".." module=".." line=".." text=".."/>`` --
  attributes in the order of ``Error``'s fields, no space before ``/>``,
  no XML declaration and no trailing LF (the socket adds the LF XML bodies
  need). ``&``, ``<``, ``>``, ``"``, tab, CR and LF in ``text`` are
  escaped, so every text survives ``parse_error``.
* ``parse_error`` takes ``bytes`` or ``str``. As in python-sts it never
  raises for a bad body: malformed XML gives
  ``err(BAD_SERVER_DATA, 'parse_error, invalid XML')`` and a non-integer
  attribute ``err(BAD_SERVER_DATA, 'parse_error, invalid attribute(s)')``;
  the root element's name is not checked and missing attributes read as 0
  (``text`` as ``''``). Integer attributes must fit in 64 bits.
  ``parse_error(None)`` raises ``TypeError``.
"""

import collections
import sys

from msgwire import _native

__all__ = ['Error', 'SUCCESS', 'PENDING', 'BAD_SERVER_DATA', 'TIMEOUT',
           'err', 'parse_error', 'build_error']

SUCCESS = 0
PENDING = -1
BAD_SERVER_DATA = 4
TIMEOUT = 42

Error = collections.namedtuple('Error', 'code server module line text')


def err(code, text=''):
    """An ``Error`` with ``server`` and ``module`` 0 and ``line`` set to the
    line of the code that called ``err``."""
    return Error(code, 0, 0, sys._getframe(1).f_lineno, text)


def _error_at(code, text, depth):
    # `line` of the frame `depth` levels above the caller.
    return Error(code, 0, 0, sys._getframe(depth + 1).f_lineno, text)


def parse_error(body):
    """Reads an error reply body (``<Error code=".." .../>``) into an
    ``Error``; see the module docs for bad bodies."""
    if body is None:
        raise TypeError('parse_error() needs bytes or str, not None')
    if isinstance(body, str):
        body = body.encode('utf-8')
    parsed = _native.sts_error_parse(bytes(body))
    if parsed == 'xml':
        return err(BAD_SERVER_DATA, 'parse_error, invalid XML')
    if parsed == 'attribute':
        return err(BAD_SERVER_DATA, 'parse_error, invalid attribute(s)')
    return Error(*parsed)


def build_error(error):
    """The error body for ``error`` (an ``Error`` or any 5-tuple in its
    field order) as ``bytes``; see the module docs."""
    code, server, module, line, text = error
    return _native.sts_error_xml(int(code), int(server), int(module), int(line),
                                 '' if text is None else str(text))
