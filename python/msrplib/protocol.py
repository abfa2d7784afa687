"""MSRP URIs, headers and chunks, with the names of the legacy ``msrplib.protocol``.

Everything that knows the MSRP grammar lives in msgwire's Rust core; the
classes here only hold values and translate between the legacy Python types
(``deque`` of :class:`URI`, the :class:`ByteRange` and :class:`Status`
named tuples, ``dict`` for Digest parameters, ...) and the plain tuples the
native module speaks.

Differences from the legacy module, all deliberate:

* Parsing and validation are strict RFC 4975/4976 (a ``Byte-Range`` of
  ``banana`` or ``0-5/5`` is a :class:`HeaderParsingError`, not a value).
* :meth:`URI.parse` accepts any transport token and parameters without a
  value, keeps an absent port as ``None`` and an absent session id as
  ``None`` (the legacy parser filled in 2855 and a random id), so
  ``str(URI.parse(text)) == text``. The constructor still fills in the
  legacy defaults.
* Setting a header's ``decoded`` value to something that cannot be encoded
  raises ``ValueError`` when it is encoded, instead of writing an invalid
  header.
* A chunk with a body but no ``Content-Type`` is framed correctly (the
  legacy encoder dropped the blank line before the body).
* ``MSRPData.encode_start()`` and ``encode_end()`` return ``bytes``; the
  ``encoded_header`` and ``encoded_footer`` properties return ``str`` as in
  the legacy module.
"""

from collections import deque, namedtuple

from msgwire import _native
from msrplib import MSRPError

__all__ = [
    'ParsingError', 'HeaderParsingError', 'ChunkParsingError',
    'ByteRange', 'Status', 'ContentDisposition',
    'SimpleHeaderType', 'UTF8HeaderType', 'URIHeaderType', 'IntegerHeaderType',
    'LimitedChoiceHeaderType', 'SuccessReportHeaderType', 'FailureReportHeaderType',
    'ByteRangeHeaderType', 'StatusHeaderType', 'ContentDispositionHeaderType',
    'ParameterListHeaderType', 'DigestHeaderType',
    'MSRPHeaderMeta', 'MSRPHeader', 'MSRPNamedHeader',
    'ToPathHeader', 'FromPathHeader', 'MessageIDHeader', 'SuccessReportHeader',
    'FailureReportHeader', 'ByteRangeHeader', 'StatusHeader', 'ExpiresHeader',
    'MinExpiresHeader', 'MaxExpiresHeader', 'UsePathHeader', 'WWWAuthenticateHeader',
    'AuthorizationHeader', 'AuthenticationInfoHeader', 'ContentTypeHeader',
    'ContentIDHeader', 'ContentDescriptionHeader', 'ContentDispositionHeader',
    'UseNicknameHeader',
    'HeaderOrderMapping', 'HeaderOrdering', 'MissingHeader', 'HeaderMapping',
    'MSRPData', 'ConnectInfo', 'URI',
]


# ---------------------------------------------------------------------------
# Exceptions (raised from the native module as well)
# ---------------------------------------------------------------------------

class ParsingError(MSRPError):
    """Text or bytes that do not follow the MSRP grammar (e.g. a bad URI)."""


class HeaderParsingError(ParsingError):
    """A header value could not be decoded, or a required header is missing.

    ``header`` is the header's name and ``reason`` says what is wrong.
    """

    def __init__(self, header, reason):
        self.header = header
        self.reason = reason
        ParsingError.__init__(self, 'Error parsing {} header: {}'.format(header, reason))

    def __reduce__(self):
        return type(self), (self.header, self.reason)


class ChunkParsingError(ParsingError):
    """The chunk parser rejected part of its input.

    ``transaction_id`` is the chunk's transaction id when its start line had
    been read (the request can then be answered with 400), else ``None``.
    ``kind`` names the violation (``'bad_start_line'``, ``'bad_header_line'``,
    ``'line_too_long'``, ``'unexpected_eof'``, ...). The parser has already
    recovered: feeding and iterating can go on.
    """

    def __init__(self, message, transaction_id=None, kind=None):
        ParsingError.__init__(self, message)
        self.transaction_id = transaction_id
        self.kind = kind

    def __reduce__(self):
        return type(self), (self.args[0], self.transaction_id, self.kind)


# ---------------------------------------------------------------------------
# Decoded value types
# ---------------------------------------------------------------------------

ByteRange = namedtuple('ByteRange', ['start', 'end', 'total'])
ByteRange.__doc__ = 'Byte-Range value; end and total are None for "*".'
Status = namedtuple('Status', ['code', 'comment'])
Status.__doc__ = 'Status header value: three-digit code and optional comment.'
ContentDisposition = namedtuple('ContentDisposition', ['disposition', 'parameters'])
ContentDisposition.__doc__ = 'Content-Disposition value: type and a dict of parameters.'


# ---------------------------------------------------------------------------
# Header value types: how a header's text maps to its decoded value
# ---------------------------------------------------------------------------

class SimpleHeaderType(object):
    """A header whose value is its text (headers msgwire has no type for)."""

    data_type = object

    @staticmethod
    def decode(encoded):
        return encoded

    @staticmethod
    def encode(decoded):
        return decoded if isinstance(decoded, str) else str(decoded)

    @classmethod
    def coerce(cls, value):
        """Returns ``value`` as ``data_type``, or raises ``TypeError``."""
        if isinstance(value, cls.data_type):
            return value
        try:
            return cls.data_type(value)
        except Exception:
            raise TypeError('value must be an instance of {}'.format(cls.data_type.__name__)) from None


class _CoreType(SimpleHeaderType):
    """A type decoded and encoded by the core, using the grammar of the
    header named ``core_header``. Subclasses convert between the native
    module's plain values and the legacy Python types."""

    core_header = None

    @classmethod
    def decode(cls, encoded):
        return cls.from_native(_native.decode_header(cls.core_header, encoded))

    @classmethod
    def encode(cls, decoded):
        return _native.encode_header(cls.core_header, cls.to_native(decoded))

    @staticmethod
    def from_native(value):
        return value

    @staticmethod
    def to_native(value):
        return value


class _TextHeaderType(_CoreType):
    """Free text that must not be empty (Message-ID, Content-Type, ...)."""

    core_header = 'Message-ID'

    @staticmethod
    def to_native(value):
        return value if isinstance(value, str) else str(value)


class UTF8HeaderType(_TextHeaderType):
    """UTF-8 text (Use-Nickname)."""

    core_header = 'Use-Nickname'


class URIHeaderType(_CoreType):
    """A space-separated list of MSRP URIs, decoded as a ``deque`` of :class:`URI`."""

    data_type = deque
    core_header = 'To-Path'

    @staticmethod
    def from_native(value):
        return deque(URI._from_parts(parts) for parts in value)

    @classmethod
    def coerce(cls, value):
        # Text items are parsed, so ``decoded`` always holds URI objects.
        if isinstance(value, (str, bytes)):
            raise TypeError('value must be an instance of deque')
        value = SimpleHeaderType.coerce.__func__(cls, value)
        if all(isinstance(uri, URI) for uri in value):
            return value
        return deque(uri if isinstance(uri, URI) else URI.parse(uri) for uri in value)

    @staticmethod
    def to_native(value):
        return [(uri if isinstance(uri, URI) else URI.parse(uri))._parts() for uri in value]


class IntegerHeaderType(_CoreType):
    """A non-negative 32-bit integer (Expires, Min-Expires, Max-Expires)."""

    data_type = int
    core_header = 'Expires'


class LimitedChoiceHeaderType(_CoreType):
    """One word out of ``allowed_values``.

    The built-in subclasses are checked by the core; a subclass without a
    ``core_header`` (an application's own header) is checked against
    ``allowed_values``.
    """

    allowed_values = frozenset()

    @classmethod
    def decode(cls, encoded):
        if cls.core_header is not None:
            return super().decode(encoded)
        if encoded not in cls.allowed_values:
            raise ValueError('invalid value {!r}'.format(encoded))
        return encoded

    @classmethod
    def encode(cls, decoded):
        if cls.core_header is not None:
            return super().encode(decoded)
        return cls.decode(decoded)


class SuccessReportHeaderType(LimitedChoiceHeaderType):
    allowed_values = frozenset({'yes', 'no'})
    core_header = 'Success-Report'


class FailureReportHeaderType(LimitedChoiceHeaderType):
    allowed_values = frozenset({'yes', 'no', 'partial'})
    core_header = 'Failure-Report'


class _TupleType(_CoreType):
    """A named tuple value; any sequence of the right length is accepted."""

    @classmethod
    def coerce(cls, value):
        if isinstance(value, cls.data_type):
            return value
        if isinstance(value, (str, bytes)):
            raise TypeError('value must be an instance of {}'.format(cls.data_type.__name__))
        try:
            return cls.data_type(*value)
        except Exception:
            raise TypeError('value must be an instance of {}'.format(cls.data_type.__name__)) from None


class ByteRangeHeaderType(_TupleType):
    """``start-end/total``, decoded as :class:`ByteRange`."""

    data_type = ByteRange
    core_header = 'Byte-Range'

    @staticmethod
    def from_native(value):
        return ByteRange(*value)

    @staticmethod
    def to_native(value):
        return tuple(value)


class StatusHeaderType(_TupleType):
    """``000 code [comment]``, decoded as :class:`Status`."""

    data_type = Status
    core_header = 'Status'

    @staticmethod
    def from_native(value):
        return Status(*value)

    @staticmethod
    def to_native(value):
        return tuple(value)


class ContentDispositionHeaderType(_TupleType):
    """``type; name="value"; ...``, decoded as :class:`ContentDisposition`."""

    data_type = ContentDisposition
    core_header = 'Content-Disposition'

    @staticmethod
    def from_native(value):
        disposition, parameters = value
        return ContentDisposition(disposition, dict(parameters))

    @staticmethod
    def to_native(value):
        disposition, parameters = value
        items = parameters.items() if hasattr(parameters, 'items') else parameters
        return disposition, [(name, str(val)) for name, val in items]


class ParameterListHeaderType(_CoreType):
    """A comma-separated ``name=value`` list, decoded as a ``dict``.

    Encoding writes every value quoted, as the legacy library does.
    """

    data_type = dict
    core_header = 'Authentication-Info'

    @staticmethod
    def from_native(value):
        return dict(value)

    @staticmethod
    def to_native(value):
        return dict(value)


class DigestHeaderType(ParameterListHeaderType):
    """``Digest name="value", ...`` (WWW-Authenticate, Authorization)."""

    core_header = 'Authorization'


# ---------------------------------------------------------------------------
# Headers
# ---------------------------------------------------------------------------

class _Unset(object):
    """Marks a header value (text or decoded) not computed yet. Copies and
    pickles of a header keep the marker itself, so they compute it too."""

    __slots__ = ()

    def __repr__(self):
        return '<unset>'

    def __reduce__(self):
        return '_UNSET'

    def __copy__(self):
        return self

    def __deepcopy__(self, memo):
        return self


_UNSET = _Unset()


class MSRPHeaderMeta(type):
    """Makes ``MSRPHeader(name, value)`` build the class registered for
    ``name`` (e.g. ``MSRPHeader('To-Path', v)`` is a :class:`ToPathHeader`).

    Every class with a ``name`` registers itself; names are matched exactly,
    and unknown names give a plain :class:`MSRPHeader`.
    """

    __classmap__ = {}

    name = None

    def __init__(cls, name, bases, namespace):
        type.__init__(cls, name, bases, namespace)
        if cls.name is not None:
            MSRPHeaderMeta.__classmap__[cls.name] = cls

    def __call__(cls, *args, **kw):
        if cls.name is not None:
            # A class bound to one header: build it as usual.
            return type.__call__(cls, *args, **kw)
        return cls._instantiate_specialized_class(*args, **kw)

    def _instantiate_specialized_class(cls, name, value):
        specialized = MSRPHeaderMeta.__classmap__.get(name)
        if specialized is None:
            return type.__call__(cls, name, value)
        return type.__call__(specialized, value)


class MSRPHeader(object, metaclass=MSRPHeaderMeta):
    """One header: ``name`` plus its value, kept both as text (``encoded``)
    and as a Python value (``decoded``), each computed from the other when
    first read.

    Build it from text (a ``str``) or from a decoded value. A malformed text
    raises :class:`HeaderParsingError` only when ``decoded`` is read, so a
    chunk with one bad header can still be handled.
    """

    name = None
    type = SimpleHeaderType

    def __init__(self, name, value):
        self.name = name
        if isinstance(value, str):
            self.encoded = value
        else:
            self.decoded = value

    @property
    def encoded(self):
        """The header value as it appears on the wire."""
        if self._encoded is _UNSET:
            self._encoded = self.type.encode(self._decoded)
        return self._encoded

    @encoded.setter
    def encoded(self, encoded):
        self._encoded = encoded
        self._decoded = _UNSET

    @property
    def decoded(self):
        """The header value as a Python object (raises :class:`HeaderParsingError`)."""
        if self._decoded is _UNSET:
            try:
                self._decoded = self.type.decode(self._encoded)
            except HeaderParsingError as exc:
                raise HeaderParsingError(self.name, exc.reason) from None
            except Exception as exc:
                raise HeaderParsingError(self.name, str(exc)) from None
        return self._decoded

    @decoded.setter
    def decoded(self, decoded):
        self._decoded = self.type.coerce(decoded)
        self._encoded = _UNSET

    def __eq__(self, other):
        if not isinstance(other, MSRPHeader):
            return NotImplemented
        if self.name != other.name:
            return False
        try:
            return self.decoded == other.decoded
        except HeaderParsingError:
            # A value that does not decode can still equal the same text.
            return self.encoded == other.encoded

    __hash__ = None

    def __repr__(self):
        if self._encoded is not _UNSET:
            value = self._encoded
        else:
            value = self._decoded
        if type(self).name is None:
            return '{}({!r}, {!r})'.format(type(self).__name__, self.name, value)
        return '{}({!r})'.format(type(self).__name__, value)


def _header_from_text(name, text):
    """``MSRPHeader(name, text)`` without the metaclass dispatch: the header
    objects of chunks the core built or parsed are made here, on the hot
    path of every message."""
    cls = MSRPHeaderMeta.__classmap__.get(name, MSRPHeader)
    header = object.__new__(cls)
    header.name = name
    header._encoded = text
    header._decoded = _UNSET
    return header


class MSRPNamedHeader(MSRPHeader):
    """Base of the headers bound to one name: built with the value only."""

    def __init__(self, value):
        MSRPHeader.__init__(self, self.name, value)


class ToPathHeader(MSRPNamedHeader):
    name = 'To-Path'
    type = URIHeaderType


class FromPathHeader(MSRPNamedHeader):
    name = 'From-Path'
    type = URIHeaderType


class MessageIDHeader(MSRPNamedHeader):
    name = 'Message-ID'
    type = _TextHeaderType


class SuccessReportHeader(MSRPNamedHeader):
    name = 'Success-Report'
    type = SuccessReportHeaderType


class FailureReportHeader(MSRPNamedHeader):
    name = 'Failure-Report'
    type = FailureReportHeaderType


class ByteRangeHeader(MSRPNamedHeader):
    name = 'Byte-Range'
    type = ByteRangeHeaderType

    @property
    def start(self):
        return self.decoded.start

    @property
    def end(self):
        return self.decoded.end

    @property
    def total(self):
        return self.decoded.total

    # The names used by the older msrplib documentation.
    fro = start
    length = total


class StatusHeader(MSRPNamedHeader):
    name = 'Status'
    type = StatusHeaderType

    @property
    def code(self):
        return self.decoded.code

    @property
    def comment(self):
        return self.decoded.comment


class ExpiresHeader(MSRPNamedHeader):
    name = 'Expires'
    type = IntegerHeaderType


class MinExpiresHeader(MSRPNamedHeader):
    name = 'Min-Expires'
    type = IntegerHeaderType


class MaxExpiresHeader(MSRPNamedHeader):
    name = 'Max-Expires'
    type = IntegerHeaderType


class UsePathHeader(MSRPNamedHeader):
    name = 'Use-Path'
    type = URIHeaderType


class WWWAuthenticateHeader(MSRPNamedHeader):
    name = 'WWW-Authenticate'
    type = DigestHeaderType


class AuthorizationHeader(MSRPNamedHeader):
    name = 'Authorization'
    type = DigestHeaderType


class AuthenticationInfoHeader(MSRPNamedHeader):
    name = 'Authentication-Info'
    type = ParameterListHeaderType


class ContentTypeHeader(MSRPNamedHeader):
    name = 'Content-Type'
    type = _TextHeaderType


class ContentIDHeader(MSRPNamedHeader):
    name = 'Content-ID'
    type = _TextHeaderType


class ContentDescriptionHeader(MSRPNamedHeader):
    name = 'Content-Description'
    type = _TextHeaderType


class ContentDispositionHeader(MSRPNamedHeader):
    name = 'Content-Disposition'
    type = ContentDispositionHeaderType


class UseNicknameHeader(MSRPNamedHeader):
    name = 'Use-Nickname'
    type = UTF8HeaderType


class HeaderOrderMapping(dict):
    """Header name -> wire-order rank (0 To-Path, 1 From-Path, 2 other
    headers, 3 Content-*, 4 Content-Type), computed by the core on lookup."""

    def __missing__(self, key):
        return _native.header_rank(key)

    sort_key = dict.__getitem__


class HeaderOrdering(object):
    """``sorted(names, key=HeaderOrdering.sort_key)`` puts headers in wire order."""

    name_map = HeaderOrderMapping()
    sort_key = name_map.sort_key


class MissingHeader(object):
    """Stands in for an absent header: its decoded value is ``None``."""

    decoded = None


class HeaderMapping(dict):
    """The headers of a chunk (name -> header object), remembering whether
    they changed since the chunk was last encoded (``__modified__``)."""

    def __init__(self, *args, **kw):
        dict.__init__(self, *args, **kw)
        self.__modified__ = True

    def __repr__(self):
        return '{}({})'.format(type(self).__name__, dict.__repr__(self))

    def __setitem__(self, key, value):
        dict.__setitem__(self, key, value)
        self.__modified__ = True

    def __delitem__(self, key):
        dict.__delitem__(self, key)
        self.__modified__ = True

    def __copy__(self):
        return type(self)(self)

    def copy(self):
        return type(self)(self)

    def clear(self):
        dict.clear(self)
        self.__modified__ = True

    def pop(self, *args):
        value = dict.pop(self, *args)
        self.__modified__ = True
        return value

    def popitem(self):
        item = dict.popitem(self)
        self.__modified__ = True
        return item

    def setdefault(self, *args):
        value = dict.setdefault(self, *args)
        self.__modified__ = True
        return value

    def update(self, *args, **kw):
        dict.update(self, *args, **kw)
        self.__modified__ = True


# ---------------------------------------------------------------------------
# Chunks
# ---------------------------------------------------------------------------

def _as_bytes(data):
    if isinstance(data, bytes):
        return data
    if isinstance(data, str):
        return data.encode('utf-8')
    return bytes(data)


def _encoded_value(header):
    return header if isinstance(header, str) else header.encoded


class MSRPData(object):
    """One MSRP chunk: a request (``method``) or a response (``code`` and
    ``comment``), its headers, body and continuation flag.

    ``data`` is ``bytes``; a ``str`` is accepted and sent as UTF-8.
    ``method``, ``code``, ``comment`` and ``headers`` cannot be replaced
    after construction (the mapping itself can be changed); assigning
    ``transaction_id`` rewrites ``first_line``. ``chunk_header`` and
    ``chunk_footer`` hold the bytes around the body as received, for chunks
    that came from the parser, and are ``None`` otherwise.
    """

    __immutable__ = frozenset({'method', 'code', 'comment', 'headers'})

    # The instance dict of a chunk made by _from_parts, before its parts
    # (the keys named after _from_parts's parameters, headers as
    # '_raw_headers') are filled in. The native module makes the chunks of
    # sessions and build_request from a copy of it.
    _PARTS = {'method': None, 'code': None, 'comment': None, 'transaction_id': None, '_raw_headers': None,
              'data': b'', 'contflag': '$', 'chunk_header': None, 'chunk_footer': None, '__modified__': True}

    def __init__(self, transaction_id, method=None, code=None, comment=None, headers=None, data=b'', contflag='$'):
        if method is None and code is None:
            raise ValueError('either method or code must be specified')
        if method is not None and code is not None:
            raise ValueError('method and code cannot be both specified')
        if code is None and comment is not None:
            raise ValueError('comment should only be specified when code is specified')
        self.method = method
        self.code = code
        self.comment = comment
        self.transaction_id = transaction_id
        self.headers = HeaderMapping(headers or {})
        self.data = data
        self.contflag = contflag
        self.chunk_header = None
        self.chunk_footer = None
        self.__modified__ = True

    @classmethod
    def _from_parts(cls, transaction_id, method, code, comment, headers, data=b'', contflag='$'):
        """A chunk from the native module's parts; ``headers`` are ``(name,
        text)`` pairs with unique names (the native module merges repeated
        names the way a ``dict`` would).

        This is the hot path of every message sent or received, so it skips
        ``__init__`` and ``__setattr__`` (the parts are known to be
        consistent) and builds nothing it does not have to: ``headers``
        stays a list of pairs until the attribute is first read (see
        :meth:`__getattr__`), and ``first_line`` is computed when first read.
        """
        chunk = object.__new__(cls)
        object.__setattr__(chunk, '__dict__', {
            'method': method, 'code': code, 'comment': comment, 'transaction_id': transaction_id,
            '_raw_headers': headers, 'data': data, 'contflag': contflag,
            'chunk_header': None, 'chunk_footer': None, '__modified__': True})
        return chunk

    def __getattr__(self, name):
        # Only called for attributes missing from the instance: the lazy
        # ones of a chunk made by _from_parts.
        d = self.__dict__
        if name == 'headers':
            raw = d.get('_raw_headers')
            if raw is None:
                raise AttributeError(name)
            mapping = HeaderMapping()
            for key, text in raw:
                dict.__setitem__(mapping, key, _header_from_text(key, text))
            d['headers'] = mapping
            del d['_raw_headers']
            return mapping
        if name == 'first_line' and 'transaction_id' in d:
            first_line = d['first_line'] = _native.first_line(d['transaction_id'], d.get('method'), d.get('code'),
                                                              d.get('comment'))
            return first_line
        raise AttributeError("{!r} object has no attribute {!r}".format(type(self).__name__, name))

    def __getstate__(self):
        # copy.copy, copy.deepcopy and pickle see the same state as for a
        # chunk built eagerly (copy.copy shares the header mapping).
        self.headers
        self.first_line
        return self.__dict__

    def __setattr__(self, name, value):
        d = self.__dict__
        if name in d or (name == 'headers' and '_raw_headers' in d):
            if name in self.__immutable__:
                raise AttributeError('Cannot overwrite attribute')
        if name == 'transaction_id':
            first_line = _native.first_line(value, self.method, self.code, self.comment)
            object.__setattr__(self, 'first_line', first_line)
            object.__setattr__(self, '__modified__', True)
        object.__setattr__(self, name, value)

    def __delattr__(self, name):
        if name in self.__immutable__:
            raise AttributeError('Cannot delete attribute')
        object.__delattr__(self, name)

    def __str__(self):
        return self.first_line

    def __repr__(self):
        parts = [self.first_line]
        for name in sorted(self.headers, key=HeaderOrdering.sort_key):
            parts.append('{}={!r}'.format(name, _encoded_value(self.headers[name])))
        parts.append('len={}'.format(self.size))
        return '<{} at {:#x} {} {}>'.format(type(self).__name__, id(self), ' '.join(parts), self.contflag)

    def __eq__(self, other):
        if isinstance(other, MSRPData):
            return (self.first_line == other.first_line and self.headers == other.headers
                    and _as_bytes(self.data) == _as_bytes(other.data) and self.contflag == other.contflag)
        return NotImplemented

    __hash__ = None

    def copy(self):
        """A new chunk with the same start line, headers (the same header
        objects in a new mapping), data and flag."""
        return type(self)(self.transaction_id, self.method, self.code, self.comment,
                          self.headers.copy(), self.data, self.contflag)

    def add_header(self, header):
        """Adds ``header`` (an :class:`MSRPHeader`), replacing one of the same name."""
        self.headers[header.name] = header

    def verify_headers(self):
        """Checks that To-Path and From-Path are present and every header
        decodes; raises :class:`HeaderParsingError` otherwise."""
        _native.verify_headers(self._header_pairs())
        for header in self.headers.values():
            if not isinstance(header, str):
                header.decoded

    # --- header shortcuts -------------------------------------------------

    @property
    def from_path(self):
        return self.headers.get('From-Path', MissingHeader).decoded

    @property
    def to_path(self):
        return self.headers.get('To-Path', MissingHeader).decoded

    @property
    def content_type(self):
        return self.headers.get('Content-Type', MissingHeader).decoded

    @property
    def message_id(self):
        return self.headers.get('Message-ID', MissingHeader).decoded

    @property
    def byte_range(self):
        return self.headers.get('Byte-Range', MissingHeader).decoded

    @property
    def status(self):
        return self.headers.get('Status', MissingHeader).decoded

    @property
    def failure_report(self):
        """Failure-Report, ``'yes'`` when absent."""
        return self.headers.get('Failure-Report', MissingHeader).decoded or 'yes'

    @property
    def success_report(self):
        """Success-Report, ``'no'`` when absent."""
        return self.headers.get('Success-Report', MissingHeader).decoded or 'no'

    @property
    def size(self):
        """The body size in bytes (a ``str`` body counts its UTF-8 bytes)."""
        return len(_as_bytes(self.data))

    # --- encoding ---------------------------------------------------------

    def _header_pairs(self):
        """``(name, text)`` pairs in insertion order; for a chunk whose
        headers were never read, the pairs it was built from (nothing is
        encoded again)."""
        d = self.__dict__
        headers = d.get('headers')
        if headers is None:
            raw = d.get('_raw_headers')
            if raw is not None:
                return raw
            headers = self.headers
        return [(name, _encoded_value(header)) for name, header in headers.items()]

    @property
    def encoded_header(self):
        """Start line and headers as ``str``, with the blank line that opens
        the body when there is a body or a Content-Type."""
        has_body = bool(self.data)
        d = self.__dict__
        cache = d.get('_header_cache')
        # Headers that were never read cannot have changed.
        headers = d.get('headers')
        if self.__modified__ or (headers is not None and headers.__modified__) or cache is None \
                or cache[0] != has_body:
            text = self.encode_start().decode('utf-8')
            object.__setattr__(self, '_header_cache', (has_body, text))
            object.__setattr__(self, '__modified__', False)
            if headers is not None:
                headers.__modified__ = False
            return text
        return cache[1]

    @property
    def encoded_footer(self):
        """The end-line with this chunk's ``contflag``, as ``str``."""
        return self.encode_end(self.contflag).decode('utf-8')

    def encode_start(self):
        """Start line and headers as ``bytes`` (see :attr:`encoded_header`)."""
        return _native.encode_chunk_start(self.transaction_id, self.method, self.code, self.comment,
                                          self._header_pairs(), bool(self.data))

    def encode_end(self, contflag=None):
        """The end-line ``CRLF -------<transaction_id><contflag> CRLF`` as ``bytes``."""
        return _native.encode_chunk_end(self.transaction_id, self.contflag if contflag is None else contflag)

    def encode(self):
        """The whole chunk as ``bytes``, headers in RFC 4975 order."""
        return _native.encode_chunk((self.transaction_id, self.method, self.code, self.comment,
                                     self._header_pairs(), _as_bytes(self.data), self.contflag))


# ---------------------------------------------------------------------------
# URIs
# ---------------------------------------------------------------------------

def _default_host():
    """The address of the interface that holds the default route (no packet
    is sent to find it), or loopback without a default route: the core's
    rule, shared with the Rust and C APIs."""
    return _native.default_ip()


class ConnectInfo(object):
    """Where to connect: host, port and whether to use TLS.

    Unset values fall back to the class attributes (TLS on, port 2855).
    ``credentials`` (for ``msrps``) is a :class:`msrplib.tls.X509Credentials`.
    """

    host = None
    use_tls = True
    port = _native.DEFAULT_PORT

    def __init__(self, host=None, use_tls=None, port=None, credentials=None):
        if host is not None:
            self.host = host.decode() if isinstance(host, bytes) else host
        if use_tls is not None:
            self.use_tls = use_tls
        if port is not None:
            self.port = port
        self.credentials = credentials

    @property
    def scheme(self):
        """``'msrps'`` with TLS, else ``'msrp'``."""
        return 'msrps' if self.use_tls else 'msrp'


class URI(ConnectInfo):
    """An MSRP URI: ``msrp[s]://[user@]host[:port][/session_id];transport[;name[=value]]...``.

    The constructor fills in the legacy defaults: ``use_tls`` True, port
    2855, the default-route address as host and 80 random bits (hex) as
    session id. :meth:`parse` keeps exactly what the text says instead.
    Equality and hashing follow RFC 4975 §6.1: scheme, host (any case),
    port, session id and transport (any case); user and parameters are
    ignored.
    """

    def __init__(self, host=None, use_tls=None, user=None, port=None, session_id=None, transport='tcp',
                 parameters=None, credentials=None):
        ConnectInfo.__init__(self, host or _default_host(), use_tls=use_tls, port=port, credentials=credentials)
        self.user = user
        self.transport = transport
        self.session_id = _native.random_hex(10) if session_id is None else session_id
        self.parameters = {} if parameters is None else parameters

    @classmethod
    def parse(cls, value):
        """Parses URI text; raises :class:`ParsingError` if it is not a valid MSRP URI."""
        if isinstance(value, bytes):
            value = value.decode('utf-8', 'replace')
        if not isinstance(value, str):
            raise ParsingError('Cannot parse URI: expected str, got {}'.format(type(value).__name__))
        return cls._from_parts(_native.parse_uri(value))

    @classmethod
    def _from_parts(cls, parts):
        use_tls, user, host, port, session_id, transport, parameters = parts
        uri = cls.__new__(cls)
        uri.host = host
        uri.use_tls = use_tls
        uri.port = port
        uri.credentials = None
        uri.user = user
        uri.transport = transport
        uri.session_id = session_id
        uri.parameters = dict(parameters)
        return uri

    def _parts(self):
        """The parts tuple the native module takes. Like the legacy ``str()``,
        a false user, port or session id is left out."""
        port = int(self.port) if self.port else None
        parameters = [(str(name), None if val is None else str(val)) for name, val in (self.parameters or {}).items()]
        return (bool(self.use_tls), self.user or None, str(self.host), port, self.session_id or None,
                str(self.transport), parameters)

    def validate(self):
        """Checks the parts against the RFC 4975 grammar; raises :class:`ParsingError`."""
        _native.validate_uri(self._parts())

    def __str__(self):
        return _native.format_uri(self._parts())

    def __repr__(self):
        fields = ('host', 'use_tls', 'user', 'port', 'session_id', 'transport', 'parameters', 'credentials')
        return '{}({})'.format(type(self).__name__,
                               ', '.join('{}={!r}'.format(f, getattr(self, f)) for f in fields))

    def _key(self):
        return (bool(self.use_tls), str(self.host).lower(), self.port, self.session_id,
                str(self.transport).lower())

    def __eq__(self, other):
        if self is other:
            return True
        if isinstance(other, URI):
            return self._key() == other._key()
        return NotImplemented

    def __ne__(self, other):
        result = self.__eq__(other)
        return result if result is NotImplemented else not result

    def __hash__(self):
        return hash(self._key())
