"""The SDP media description of an MSRP session (RFC 4975 section 8, with
RFC 6135's ``a=setup``): what a chat exchanges through SIP.

    >>> from msgwire.sdp import MSRPMedia
    >>> media = MSRPMedia.parse('m=message 7394 TCP/MSRP *\\r\\n'
    ...                         'c=IN IP4 alice.example.com\\r\\n'
    ...                         'a=path:msrp://alice.example.com:7394/2s93i9ek2a;tcp\\r\\n'
    ...                         'a=accept-types:message/cpim text/plain\\r\\n')
    >>> [str(uri) for uri in media.path]
    ['msrp://alice.example.com:7394/2s93i9ek2a;tcp']
    >>> media.accept_types
    ['message/cpim', 'text/plain']

Parsing and encoding happen in the Rust core. ``parse`` takes one media
section, starting at its ``m=`` line; ``encode`` writes ``m=`` first, then
``i=``, ``c=``, other lines, ``a=path``, ``a=accept-types``,
``a=accept-wrapped-types``, ``a=max-size``, ``a=setup`` and the other
attributes, with CRLF line ends.
"""

from msgwire import _native

__all__ = ['MSRPMedia', 'SDPParseError']


class SDPParseError(ValueError):
    """A media section could not be parsed.

    ``kind`` names the problem (``'missing_media_line'``,
    ``'unsupported_protocol'``, ``'bad_path'``, ``'bad_setup'``,
    ``'duplicate_line'``, ...), ``line`` is the offending line's number
    (from 1) and ``text`` its text.
    """

    def __init__(self, message, kind=None, line=None, text=None):
        ValueError.__init__(self, message)
        self.kind = kind
        self.line = line
        self.text = text

    def __reduce__(self):
        return type(self), (str(self), self.kind, self.line, self.text)


def _uri(text):
    # msrplib's URI formats back to the text it parsed, so str() of a path
    # item is the URI as written.
    from msrplib.protocol import URI
    return URI.parse(text)


class MSRPMedia(object):
    """One MSRP media section.

    ``MSRPMedia(port, path, accept_types, accept_wrapped_types=None,
    max_size=None, setup=None, transport='TCP/MSRP', connection=None,
    attributes=None)`` builds one: ``path`` is a list of URIs
    (``msrplib.protocol.URI`` objects or their text), ``connection`` a
    ``(net type, address type, address)`` triple or an address (for ``IN
    IP4``/``IN IP6``), ``setup`` ``'active'``, ``'passive'``, ``'actpass'``
    or ``None``, ``attributes`` a list of ``(name, value or None)`` for other
    ``a=`` lines. :meth:`for_path` fills the port, transport and address in
    from the path.

    Attributes: ``port``, ``transport`` (``'TCP/MSRP'`` or
    ``'TCP/TLS/MSRP'``), ``formats``, ``connection`` (triple or ``None``),
    ``path`` (list of ``msrplib.protocol.URI``), ``accept_types`` and
    ``accept_wrapped_types`` (lists of str in written order, ``[]`` when
    absent), ``max_size`` (int or ``None``), ``setup`` (str or ``None``),
    ``attributes`` (the other ``a=`` lines) and ``other_lines`` (other
    media-level lines such as ``b=...``, as written).
    """

    def __init__(self, port, path, accept_types, accept_wrapped_types=None, max_size=None, setup=None,
                 transport='TCP/MSRP', connection=None, attributes=None, formats=('*',), other_lines=None):
        self.port = int(port)
        self.transport = transport
        self.formats = list(formats)
        if isinstance(connection, str):
            connection = ('IN', 'IP6' if ':' in connection else 'IP4', connection)
        self.connection = None if connection is None else tuple(connection)
        self.path = [_uri(str(uri)) for uri in path]
        self.accept_types = list(accept_types or [])
        self.accept_wrapped_types = list(accept_wrapped_types or [])
        self.max_size = max_size
        self.setup = setup
        self.attributes = [(name, value) for name, value in (attributes or [])]
        self.other_lines = list(other_lines or [])

    @classmethod
    def for_path(cls, path, accept_types, accept_wrapped_types=('*',), **kwargs):
        """The media a session advertises for ``path`` (its own URI last):
        the port, transport and ``c=`` address come from that last URI."""
        uris = [_uri(str(uri)) for uri in path]
        own = uris[-1]
        kwargs.setdefault('transport', 'TCP/TLS/MSRP' if own.use_tls else 'TCP/MSRP')
        kwargs.setdefault('connection', own.host)
        return cls(own.port or 0, uris, accept_types, accept_wrapped_types, **kwargs)

    @classmethod
    def parse(cls, text):
        """Parses one media section from its ``m=`` line (CRLF or LF line
        ends). Raises :class:`SDPParseError` naming the offending line."""
        if isinstance(text, bytes):
            text = text.decode('utf-8')
        (port, transport, formats, connection, path, accept, wrapped, max_size, setup, attributes,
         other) = _native.sdp_parse(text)
        return cls(port, path, accept, wrapped, max_size, setup, transport, connection, attributes,
                   formats, other)

    def encode(self):
        """The section as text with CRLF line ends, ``m=`` first. Raises
        ``ValueError`` for a value that cannot be written."""
        connection = None if self.connection is None else tuple(str(p) for p in self.connection)
        max_size = None if self.max_size is None else int(self.max_size)
        return _native.sdp_encode((
            self.port, self.transport, list(self.formats), connection, [str(uri) for uri in self.path],
            list(self.accept_types), list(self.accept_wrapped_types), max_size, self.setup,
            [(name, value) for name, value in self.attributes], list(self.other_lines)))

    def accepts(self, content_type, wrapped=False):
        """Whether a message of ``content_type`` may be sent to this endpoint:
        unwrapped (it matches ``accept_types``) or, with ``wrapped``, inside
        an accepted container such as ``message/cpim`` (it matches
        ``accept_wrapped_types`` or ``accept_types``). ``*`` and ``type/*``
        entries match as RFC 4975 section 8.6 says; case and parameters are
        ignored."""
        return _native.sdp_accepts(list(self.accept_types), list(self.accept_wrapped_types),
                                   str(content_type), wrapped)

    def __str__(self):
        return self.encode()

    def __eq__(self, other):
        if not isinstance(other, MSRPMedia):
            return NotImplemented
        return self.encode() == other.encode()

    def __ne__(self, other):
        result = self.__eq__(other)
        return result if result is NotImplemented else not result

    __hash__ = None

    def __repr__(self):
        return '<{} {} {} path={}>'.format(type(self).__name__, self.port, self.transport,
                                           ' '.join(str(uri) for uri in self.path))
