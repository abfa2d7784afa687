"""Message/CPIM (RFC 3862): the wrapper chat messages travel in.

A CPIM body, as an MSRP SEND carries it, is the message headers (From, To,
cc, DateTime, Subject, NS, Require and namespaced extensions), an empty
line, the payload's MIME headers (Content-Type, ...), an empty line and the
payload::

    >>> from msgwire.cpim import CPIMMessage, ChatIdentity
    >>> msg = CPIMMessage(b'Hi', 'text/plain',
    ...                   sender=ChatIdentity('sip:alice@example.com', 'Alice'),
    ...                   recipients=[ChatIdentity('sip:bob@example.com')])
    >>> msg.encode()
    b'From: Alice <sip:alice@example.com>\\r\\nTo: <sip:bob@example.com>\\r\\n\\r\\nContent-Type: text/plain\\r\\n\\r\\nHi'
    >>> CPIMMessage.parse(msg.encode()).sender
    ChatIdentity('sip:alice@example.com', display_name='Alice')

Parsing and encoding happen in the Rust core: a parsed message encodes back
to the very bytes it was read from. :class:`CPIMMessage` objects are
immutable; build a new one to change a message.

Header values are returned as written, with two exceptions that RFC 3862's
escape mechanism (``\\t``, ``\\"``, ``\\uXXXX`` ...) applies to: display
names in quotes and Subject texts are unescaped on reading and escaped on
writing.
"""

import datetime

from msgwire import _native

__all__ = ['CPIM_NAMESPACE', 'CPIMHeader', 'CPIMMessage', 'CPIMParseError', 'ChatIdentity']

#: The namespace of RFC 3862's own headers (From, To, cc, DateTime, Subject,
#: NS, Require), and the default namespace of a message.
CPIM_NAMESPACE = 'urn:ietf:params:cpim-headers:'


class CPIMParseError(ValueError):
    """A CPIM body could not be parsed.

    ``kind`` names the problem (``'empty'``, ``'missing_header_end'``,
    ``'missing_content_header_end'``, ``'missing_colon'``,
    ``'undeclared_prefix'``, ``'bad_address'``, ``'bad_datetime'``, ...),
    ``line`` is the offending line's number (from 1) and ``text`` its text.
    """

    def __init__(self, message, kind=None, line=None, text=None):
        ValueError.__init__(self, message)
        self.kind = kind
        self.line = line
        self.text = text

    def __reduce__(self):
        return type(self), (str(self), self.kind, self.line, self.text)


class ChatIdentity(object):
    """A sender or recipient: a URI (``sip:alice@example.com``) and an
    optional display name. Compares by both."""

    __slots__ = ('uri', 'display_name')

    def __init__(self, uri, display_name=None):
        self.uri = str(uri)
        self.display_name = display_name

    def __eq__(self, other):
        if not isinstance(other, ChatIdentity):
            return NotImplemented
        return (self.uri, self.display_name) == (other.uri, other.display_name)

    def __ne__(self, other):
        result = self.__eq__(other)
        return result if result is NotImplemented else not result

    def __hash__(self):
        return hash((self.uri, self.display_name))

    def __repr__(self):
        if self.display_name is None:
            return '{}({!r})'.format(type(self).__name__, self.uri)
        return '{}({!r}, display_name={!r})'.format(type(self).__name__, self.uri, self.display_name)

    def __str__(self):
        if self.display_name:
            return '{} <{}>'.format(self.display_name, self.uri)
        return '<{}>'.format(self.uri)


class CPIMHeader(object):
    """An additional (namespaced) header: ``name`` without its prefix,
    ``namespace`` the namespace URI, ``value`` as written and ``prefix`` as
    written (``None`` to let the encoder choose one)."""

    __slots__ = ('name', 'namespace', 'value', 'prefix')

    def __init__(self, name, namespace, value, prefix=None):
        self.name = name
        self.namespace = namespace
        self.value = value
        self.prefix = prefix

    def __eq__(self, other):
        if not isinstance(other, CPIMHeader):
            return NotImplemented
        return ((self.name, self.namespace, self.value, self.prefix) ==
                (other.name, other.namespace, other.value, other.prefix))

    def __ne__(self, other):
        result = self.__eq__(other)
        return result if result is NotImplemented else not result

    def __hash__(self):
        return hash((self.name, self.namespace, self.value, self.prefix))

    def __repr__(self):
        return '{}({!r}, {!r}, {!r}, prefix={!r})'.format(
            type(self).__name__, self.name, self.namespace, self.value, self.prefix)


def _identity(parts):
    return None if parts is None else ChatIdentity(parts[0], parts[1])


def _identity_parts(identity):
    if isinstance(identity, ChatIdentity):
        return (identity.uri, identity.display_name)
    return (str(identity), None)


def _timestamp(parts):
    if parts is None:
        return None
    year, month, day, hour, minute, second, micro, offset = parts
    tz = datetime.timezone(datetime.timedelta(minutes=offset))
    return datetime.datetime(year, month, day, hour, minute, second, micro, tzinfo=tz)


def _timestamp_parts(dt):
    offset = dt.utcoffset()
    if offset is None:
        raise ValueError('timestamp must be a timezone-aware datetime')
    minutes, rest = divmod(offset, datetime.timedelta(minutes=1))
    if rest:
        raise ValueError('the timestamp offset must be whole minutes')
    return (dt.year, dt.month, dt.day, dt.hour, dt.minute, dt.second, dt.microsecond, minutes)


class CPIMMessage(object):
    """A Message/CPIM message.

    Build one with ``CPIMMessage(content, content_type, sender=None,
    recipients=None, timestamp=None, additional_headers=None)`` (and,
    keyword-only, ``courtesy_recipients``, ``subjects`` as ``(lang or None,
    text)`` pairs, ``required`` header names and ``content_headers`` as
    ``(name, value)`` pairs written after Content-Type), or read one with
    :meth:`parse`. ``content`` is bytes (``str`` is encoded as UTF-8),
    ``sender`` a :class:`ChatIdentity`, ``recipients`` a list of them,
    ``timestamp`` a timezone-aware ``datetime`` and ``additional_headers`` a
    list of :class:`CPIMHeader`. The encoder writes From, To, cc, DateTime,
    Subject, one NS line per namespace (before its first use), Require, then
    the additional headers. Invalid values raise ``ValueError``.

    Attributes (read-only): ``content``, ``content_type`` (as written,
    parameters kept; ``None`` when absent), ``sender``, ``recipients``,
    ``courtesy_recipients`` (cc), ``timestamp`` (aware ``datetime`` or
    ``None``), ``subjects`` (``(lang or None, text)`` in wire order),
    ``namespaces`` (dict prefix -> URI of the NS lines; ``''`` for a
    default-namespace declaration), ``required`` (header names as written),
    ``additional_headers`` (the headers other than RFC 3862's own, in wire
    order, with ``prefix`` as written) and ``content_headers`` (``(name,
    value)`` pairs, Content-Type included).
    """

    __slots__ = ('_native', '_info')

    def __init__(self, content, content_type, sender=None, recipients=None, timestamp=None,
                 additional_headers=None, *, courtesy_recipients=None, subjects=None, required=None,
                 content_headers=None):
        if isinstance(content, str):
            content = content.encode('utf-8')
        additional = [(h.namespace, h.prefix, h.name, h.value) for h in (additional_headers or [])]
        native = _native.cpim_build(
            bytes(content), str(content_type),
            sender=None if sender is None else _identity_parts(sender),
            recipients=[_identity_parts(r) for r in (recipients or [])],
            courtesy_recipients=[_identity_parts(r) for r in (courtesy_recipients or [])],
            timestamp=None if timestamp is None else _timestamp_parts(timestamp),
            subjects=[(lang, text) for lang, text in (subjects or [])],
            required=list(required or []),
            additional=additional,
            content_headers=[(n, v) for n, v in (content_headers or [])])
        self._set(native)

    def _set(self, native):
        self._native = native
        self._info = native.info()

    @classmethod
    def parse(cls, data):
        """Parses a CPIM body (bytes, from the first message header on).

        Raises :class:`CPIMParseError` naming the offending line.
        """
        if isinstance(data, str):
            data = data.encode('utf-8')
        message = cls.__new__(cls)
        message._set(_native.cpim_parse(bytes(data)))
        return message

    def encode(self):
        """The message as bytes (a parsed message exactly as it was read)."""
        return self._native.encode()

    @property
    def content(self):
        return self._native.content

    @property
    def content_type(self):
        return self._info['content_type']

    @property
    def sender(self):
        return _identity(self._info['sender'])

    @property
    def recipients(self):
        return [_identity(r) for r in self._info['recipients']]

    @property
    def courtesy_recipients(self):
        return [_identity(r) for r in self._info['courtesy_recipients']]

    @property
    def timestamp(self):
        return _timestamp(self._info['timestamp'])

    @property
    def subjects(self):
        return list(self._info['subjects'])

    @property
    def namespaces(self):
        return {prefix or '': uri for prefix, uri in self._info['namespaces']}

    @property
    def required(self):
        return list(self._info['required'])

    @property
    def additional_headers(self):
        return [CPIMHeader(name, namespace, value, prefix)
                for prefix, name, namespace, value in self._info['additional_headers']]

    @property
    def content_headers(self):
        return list(self._info['content_headers'])

    def __eq__(self, other):
        if not isinstance(other, CPIMMessage):
            return NotImplemented
        return self.encode() == other.encode()

    def __ne__(self, other):
        result = self.__eq__(other)
        return result if result is NotImplemented else not result

    __hash__ = None

    def __repr__(self):
        return '<{} {} from {} ({} bytes)>'.format(
            type(self).__name__, self.content_type, self.sender, len(self.content))
