"""STS header names (python-sts's ``sts.inetheaders``).

``Header(name)`` holds ``name`` stripped and in lower case
(``.normalized``); ``str()`` gives that text and ``hash()`` equals the hash
of that plain string.

Two ``Header`` objects are equal when their normalized texts are, as in
python-sts (so ``Header('Subject') != SUBJECT``: the full and compact
forms are different keys, which keeps equality consistent with the hash;
the parser maps full names to compact ones, see ``inetmsg``).

Difference from python-sts: comparing a ``Header`` with a ``str`` does
not raise ``AssertionError`` ('Invalid Comparison'). The string is
normalized the same way, and a full name also equals its compact form:
``SUBJECT == 's'``, ``SUBJECT == ' S '`` and ``SUBJECT == 'Subject'`` are
all true. A dictionary keyed by the constants is therefore found with the
compact string (``{SUBJECT: 1}['s']``, same hash); a full-name string
hashes differently and misses. Other types compare unequal. ``!=`` is the
negation of ``==`` (python-sts on Python 2 compared identities).

The 18 constants hold the compact letters; ``COMPACT_HEADERS`` maps each
lower-case full name to its compact constant; ``MULTI_HEADERS`` is the
frozenset of headers that hold comma-separated lists.
"""

from msgwire import _native

__all__ = [
    'Header', 'ACCEPT', 'CONTENT_ENCODING', 'CONTENT_LENGTH', 'CONTENT_RANGE',
    'CONTENT_TYPE', 'FROM', 'FROM_EX', 'FROM_RIGHTS', 'REFER_TO', 'REPLY_TO',
    'SEQUENCE', 'STREAM', 'SUBJECT', 'TIMESTAMP', 'TO', 'TRACE',
    'TRANSFER_ENCODING', 'VIA', 'COMPACT_HEADERS', 'MULTI_HEADERS',
]


class Header(object):
    """A header name, compared without regard to case or surrounding
    whitespace."""

    __slots__ = ('normalized',)

    def __init__(self, name):
        if isinstance(name, Header):
            name = name.normalized
        self.normalized = str(name).strip().lower()

    def __hash__(self):
        return hash(self.normalized)

    def __eq__(self, right):
        if isinstance(right, Header):
            return self.normalized == right.normalized
        if isinstance(right, str):
            right = right.strip().lower()
            if right == self.normalized:
                return True
            return (_native.sts_header_key(right)[0]
                    == _native.sts_header_key(self.normalized)[0])
        return NotImplemented

    def __ne__(self, right):
        result = self.__eq__(right)
        return result if result is NotImplemented else not result

    def __str__(self):
        return self.normalized

    def __repr__(self):
        return 'Header({!r})'.format(self.normalized)


ACCEPT = Header('a')
CONTENT_ENCODING = Header('e')
CONTENT_LENGTH = Header('l')
CONTENT_RANGE = Header('n')
CONTENT_TYPE = Header('c')
FROM = Header('f')
FROM_EX = Header('g')
FROM_RIGHTS = Header('h')
REFER_TO = Header('r')
REPLY_TO = Header('p')
SEQUENCE = Header('q')
STREAM = Header('m')
SUBJECT = Header('s')
TIMESTAMP = Header('z')
TO = Header('t')
TRACE = Header('i')
TRANSFER_ENCODING = Header('x')
VIA = Header('v')

COMPACT_HEADERS = {
    Header('accept'): ACCEPT,
    Header('content-encoding'): CONTENT_ENCODING,
    Header('content-length'): CONTENT_LENGTH,
    Header('content-range'): CONTENT_RANGE,
    Header('content-type'): CONTENT_TYPE,
    Header('from'): FROM,
    Header('x-from-game'): FROM_EX,
    Header('x-from-rights'): FROM_RIGHTS,
    Header('refer-to'): REFER_TO,
    Header('reply-to'): REPLY_TO,
    Header('x-sequence'): SEQUENCE,
    Header('stream'): STREAM,
    Header('subject'): SUBJECT,
    Header('timestamp'): TIMESTAMP,
    Header('to'): TO,
    Header('x-trace-id'): TRACE,
    Header('transfer-encoding'): TRANSFER_ENCODING,
    Header('via'): VIA,
}

MULTI_HEADERS = frozenset(Header(n) for n in (
    'a', 'accept-charset', 'accept-encoding', 'accept-language', 'accept-ranges',
    'allow', 'cache-control', 'connection', 'e', 'content-language', 'expect',
    'if-match', 'if-none-match', 'pragma', 'proxy-authenticate', 'set-cookie',
    'te', 'trailer', 'x', 'upgrade', 'user-agent', 'vary', 'v', 'warning',
    'www-authenticate', 'x-forwarded-for',
))
