"""serverResponse: GNU Bayonne's typeless XML replies to HTTP GET.

A client asks ``GET /<method>.xml?arg=value``; the server answers with a
``<serverResponse>`` document holding ``<results>`` (:class:`Result`
entries and :class:`Lists` tables) or ``<faults>``. Every value is a
string on the wire; numbers and booleans given here are written with
``str()`` (booleans as ``true``/``false``).

Model and documents::

    from msgwire import serverresponse as sr

    doc = sr.parse(data)                 # bytes -> Response (ParseError)
    doc.find('status')                   # the first result's value
    doc.ok                               # no faults
    xml = sr.Response('bayonne', 'status', [sr.Result('status', '-- ')]).to_xml()

Streaming writer (rows are pulled lazily, one at a time)::

    with sr.Writer(fileobj, 'bayonne', 'registrations') as w:
        w.lists('registrations', (sr.List('registration', [sr.Item('n', i)])
                                  for i in range(100000)))

Server (handlers run on the server's worker threads, under the GIL)::

    server = sr.Server(port=0)

    @server.method('registrations')
    def registrations(args):             # dict: str -> str (last value wins)
        if 'driver' not in args:
            raise sr.Fault(601, 'argument missing: driver')
        return [sr.Lists('registrations', rows_for(args['driver']))]

    server.start()                       # background threads
    sr.get(f'http://127.0.0.1:{server.port}/registrations.xml?driver=sip')
    server.close()

HTTPS uses msrplib's TLS credentials (:class:`msrplib.tls.X509Credentials`,
PEM text or ``X509Certificate``/``X509PrivateKey`` objects, as for
``msrps``): the server presents ``cert`` and ``key``, the client trusts the
CAs in ``trusted``::

    from msrplib.tls import X509Certificate, X509Credentials, X509PrivateKey

    server = sr.Server(port=0, credentials=X509Credentials(
        X509Certificate(open('server.pem').read()), X509PrivateKey(open('server.key').read())))
    ca = X509Certificate(open('ca.pem').read())
    sr.get(f'https://127.0.0.1:{server.port}/status.xml',
           credentials=X509Credentials(trusted=[ca]))

A certificate the client does not trust raises :class:`ClientError` with
``kind == 'tls'``.

A handler returns a list of :class:`Result`/:class:`Lists`, a ``dict`` (each
pair a result) or ``None`` (an empty ``<results></results>``: done). It
raises :class:`Fault` for a fault: codes 400 to 599 become the HTTP status
(service ``http``; lower codes, which are no HTTP error status, are sent
with status 500); 600 and up are sent with HTTP 200 under the method's
name. Any other exception becomes a 600 fault and the server carries on.
The GIL is released while the server waits for and talks to clients, and
while :func:`get` fetches.
"""

from msgwire import _native

__all__ = [
    'Result', 'Item', 'List', 'Lists', 'Response', 'ParseError', 'ClientError',
    'Fault', 'Writer', 'Server', 'parse', 'get',
    'COMMAND_FAILED', 'ARGUMENT_MISSING', 'SESSION_INVALID',
]

#: A command failed.
COMMAND_FAILED = 600
#: A required argument is missing.
ARGUMENT_MISSING = 601
#: The session named by the request is not valid.
SESSION_INVALID = 602


class ParseError(ValueError):
    """A document that is not a (well-formed) serverResponse document.

    ``position`` is the byte offset where the problem was found; ``kind``
    names it (``xml``, ``not_utf8``, ``empty``, ``not_server_response``,
    ``structure``, ``missing_id``, ``too_large``, ``too_deep``).
    """

    def __init__(self, message, position=0, kind='xml'):
        super().__init__(message)
        self.position = position
        self.kind = kind


class ClientError(OSError):
    """:func:`get` failed.

    ``kind`` says how: ``bad_url``, ``connect``, ``timeout``, ``tls``,
    ``io``, ``bad_reply`` (not valid HTTP), ``http`` (an error status without
    a serverResponse body; ``status`` is set), ``document`` (a success status
    whose body is not serverResponse; ``status`` and ``position`` are set).
    """

    def __init__(self, message, kind='io', status=None, position=None):
        super().__init__(message)
        self.kind = kind
        self.status = status
        self.position = position


class Fault(Exception):
    """Raised by a handler to answer with a fault."""

    def __init__(self, code, text=''):
        super().__init__(code, text)
        self.code = int(code)
        self.text = str(text)

    def __str__(self):
        return f'fault {self.code}: {self.text}'


def _text(value):
    if isinstance(value, bool):
        return 'true' if value else 'false'
    return value if isinstance(value, str) else str(value)


class _Pair:
    __slots__ = ('id', 'value')

    def __init__(self, id, value):
        self.id = id
        self.value = value

    def __eq__(self, other):
        return type(other) is type(self) and (self.id, self.value) == (other.id, other.value)

    def __hash__(self):
        return hash((type(self).__name__, self.id, self.value))

    def __repr__(self):
        return f'{type(self).__name__}({self.id!r}, {self.value!r})'


class Result(_Pair):
    """A ``<result id value/>`` entry."""


class Item(_Pair):
    """An ``<item id value/>`` cell of a row; also a ``<fault>`` entry."""


class List:
    """A ``<list id>`` row: its ``items``, a list of :class:`Item`."""

    __slots__ = ('id', 'items')

    def __init__(self, id, items=()):
        self.id = id
        self.items = list(items)

    def get(self, id, default=None):
        """The value of the first item with this id."""
        for item in self.items:
            if item.id == id:
                return item.value
        return default

    def __eq__(self, other):
        return type(other) is List and (self.id, self.items) == (other.id, other.items)

    def __repr__(self):
        return f'List({self.id!r}, {self.items!r})'


class Lists:
    """A ``<lists id>`` table: its ``rows``, :class:`List` objects.

    ``rows`` may be any iterable; it is consumed lazily when written (by
    :class:`Writer` or a server handler) and kept as given otherwise.
    """

    __slots__ = ('id', 'rows')

    def __init__(self, id, rows=()):
        self.id = id
        self.rows = rows

    def __eq__(self, other):
        return type(other) is Lists and self.id == other.id and list(self.rows) == list(other.rows)

    def __repr__(self):
        return f'Lists({self.id!r}, {self.rows!r})'


class Response:
    """A serverResponse document.

    ``results`` is a list of :class:`Result` and :class:`Lists` entries (for
    a results document) and ``faults`` a list of :class:`Item` (for a
    faults document); the other one is ``None``. Without either, the
    document is the empty "done" reply.
    """

    def __init__(self, server, service, results=None, faults=None):
        if results is not None and faults is not None:
            raise ValueError('a document holds results or faults, not both')
        self.server = server
        self.service = service
        self.results = list(results) if results is not None else (None if faults is not None else [])
        self.faults = list(faults) if faults is not None else None
        #: How many unknown elements, attributes and text pieces the parser skipped.
        self.ignored = 0

    @property
    def ok(self):
        """Whether this is a results document (no faults)."""
        return self.faults is None

    def find(self, id, default=None):
        """The value of the first result (in a faults document, the first
        fault) with this id."""
        for entry in (self.results if self.faults is None else self.faults):
            if isinstance(entry, (Result, Item)) and entry.id == id:
                return entry.value
        return default

    def lists(self, id):
        """The first table with this id, or ``None``."""
        for entry in self.results or ():
            if isinstance(entry, Lists) and entry.id == id:
                return entry
        return None

    @property
    def fault_code(self):
        """The ``code`` fault as an int (``None`` for results)."""
        if self.faults is None:
            return None
        code = self.find('code')
        try:
            return int(code)
        except (TypeError, ValueError):
            return None

    @property
    def fault_text(self):
        """The ``text`` fault (``None`` for results)."""
        return None if self.faults is None else self.find('text')

    def to_xml(self):
        """The document as bytes, in the spec's layout."""
        if self.faults is not None:
            return _native.sr_to_xml(self.server, self.service, [],
                                     [(f.id, _text(f.value)) for f in self.faults])
        return _native.sr_to_xml(self.server, self.service, _entries(self.results))

    def __eq__(self, other):
        return (type(other) is Response and
                (self.server, self.service, self.results, self.faults) ==
                (other.server, other.service, other.results, other.faults))

    def __repr__(self):
        body = f'faults={self.faults!r}' if self.faults is not None else f'results={self.results!r}'
        return f'Response({self.server!r}, {self.service!r}, {body})'


def _rows(rows):
    for row in rows:
        yield (row.id, [(item.id, _text(item.value)) for item in row.items])


def _entries(results):
    """Entries as the native layer takes them (tables' rows stay lazy)."""
    for entry in results:
        if isinstance(entry, Result):
            yield ('result', entry.id, _text(entry.value))
        elif isinstance(entry, Lists):
            yield ('lists', entry.id, _rows(entry.rows))
        else:
            raise TypeError(f'a results entry must be a Result or Lists, not {type(entry).__name__}')


# The classes the native layer builds parsed documents from.
_MODEL = (Result, Item, List, Lists)


def _response(data):
    server, service, is_fault, entries, faults, ignored = data
    if is_fault:
        doc = Response(server, service, faults=faults)
    else:
        doc = Response(server, service, entries)
    doc.ignored = ignored
    return doc


def parse(data):
    """Parses a document (``bytes``; ``str`` is encoded as UTF-8).

    Raises :class:`ParseError` (a ``ValueError``) with ``.position``.
    """
    if isinstance(data, str):
        data = data.encode('utf-8')
    return _response(_native.sr_parse(bytes(data), _MODEL))


def get(url, timeout=10, credentials=None):
    """Fetches ``url`` with HTTP/1.0 and returns its :class:`Response`.

    An HTTP error status with a faults body returns the faults (check
    ``.ok``); everything else that goes wrong raises :class:`ClientError`.
    ``https://`` URLs need ``credentials``: a
    :class:`msrplib.tls.X509Credentials` whose ``trusted`` CAs the server's
    certificate must chain to (``verify_peer=False`` takes any certificate:
    tests only). Invalid credentials raise ``ValueError``.
    """
    tls = None
    if credentials is not None:
        from msrplib import tls as _tls
        tls = _tls._as_credentials(credentials)._client_config()
    return _response(_native.sr_get(url, _MODEL, float(timeout), tls))


class Writer:
    """Writes a document to ``fileobj`` (anything with ``write(bytes)``)
    piece by piece, as it is produced.

    The first :meth:`result` or :meth:`lists` opens ``<results>``, the first
    :meth:`fault` opens ``<faults>``; :meth:`close` ends the document (an
    empty ``<results></results>`` when nothing was written). Mixing results
    and faults raises ``ValueError``.
    """

    def __init__(self, fileobj, server, service):
        self._native = _native.SrWriter(fileobj.write, server, service)

    def result(self, id, value):
        """Writes ``<result id value/>``."""
        self._native.result(id, _text(value))

    def lists(self, id, rows):
        """Writes a ``<lists id>`` table; ``rows`` (of :class:`List`) may be
        any iterable and is consumed one row at a time."""
        w = self._native
        w.begin_lists(id)
        for row in rows:
            w.begin_row(row.id)
            for item in row.items:
                w.item(item.id, _text(item.value))
            w.end_row()
        w.end_lists()

    def fault(self, id, value):
        """Writes ``<fault id value/>``."""
        self._native.fault(id, _text(value))

    def close(self):
        """Ends the document. Calling it again does nothing."""
        self._native.finish()

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is None:
            self.close()
        return False


class Server:
    """The embedded HTTP GET server.

    ``read_timeout`` (seconds) bounds how long a client may take to send
    its request; ``write_timeout`` (seconds, counted from the end of the
    request) bounds how long its whole reply may take, however slowly the
    client reads (then the connection is cut and the worker freed);
    ``max_connections`` connections are served at once (the
    next get a 503 fault); ``workers`` threads serve them. The built-in
    ``status`` method reports msgwire itself until a handler replaces it.
    With ``credentials`` (a :class:`msrplib.tls.X509Credentials` holding a
    certificate and its key) the server speaks HTTPS only; the TLS
    handshake counts against ``read_timeout``.
    """

    def __init__(self, host='127.0.0.1', port=0, read_timeout=10, max_connections=256,
                 workers=16, server_name='msgwire', credentials=None, write_timeout=30,
                 shutdown_timeout=2):
        self.host = host
        self._port = port
        tls = None
        if credentials is not None:
            from msrplib import tls as _tls
            tls = _tls._as_credentials(credentials)._server_config()
        self._options = dict(read_timeout=float(read_timeout), max_connections=max_connections,
                             workers=workers, server_name=server_name, tls=tls,
                             write_timeout=float(write_timeout),
                             shutdown_timeout=float(shutdown_timeout))
        self._methods = {}
        self._native = None

    def method(self, name):
        """Decorator: serve ``/<name>.xml`` with the decorated function."""
        def register(handler):
            self._methods[name] = handler
            if self._native is not None:
                self._native.method(name, self._dispatcher(name))
            return handler
        return register

    def _dispatcher(self, name):
        def dispatch(args):
            handler = self._methods[name]
            try:
                result = handler(dict(args))
                if result is None:
                    entries = []
                elif isinstance(result, dict):
                    entries = [Result(k, v) for k, v in result.items()]
                else:
                    entries = list(result)
                return ('ok', _entries(entries))
            except Fault as fault:
                return ('fault', fault.code, fault.text)
            except Exception as exc:  # noqa: BLE001 - every failure is a 600 fault
                return ('fault', COMMAND_FAILED, f'{type(exc).__name__}: {exc}')
        return dispatch

    def start(self):
        """Binds and starts the background threads (once)."""
        if self._native is None:
            self._native = _native.SrServer(self.host, self._port, **self._options)
            for name in self._methods:
                self._native.method(name, self._dispatcher(name))
        return self

    @property
    def port(self):
        """The port listened on (the chosen one for port 0, once started)."""
        return self._native.port if self._native is not None else self._port

    def close(self):
        """Stops the server and releases its port.

        Connections being served are cut. It waits at most
        ``shutdown_timeout`` (seconds) for the running handlers: one that
        still has not returned (say it waits on an event that never comes)
        keeps running on its own thread until it returns, as threads
        cannot be killed; its reply goes nowhere.
        """
        if self._native is not None:
            self._native.close()

    def __enter__(self):
        return self.start()

    def __exit__(self, exc_type, exc, tb):
        self.close()
        return False
