"""msgwire.serverresponse: the spec's samples, the model, the streaming
writer, the server (against urllib and raw sockets) and the client."""

import gc
import io
import os
import socket
import threading
import time
import tracemalloc
import urllib.error
import urllib.request

import pytest

from msgwire import serverresponse as sr

DATA = os.path.join(os.path.dirname(__file__), '..', 'data', 'serverresponse')


def sample(name):
    with open(os.path.join(DATA, name + '.xml'), 'rb') as f:
        return f.read()


STATUS = sample('status')
UNKNOWN = sample('unknown')
REGISTRATIONS = sample('registrations')

REGISTRATION_ROWS = [
    ('sip', '192.168.1.95', '291', 'friend', 'active'),
    ('h323', '192.168.1.96', '292', 'peer', 'idle'),
]


def registration(driver, server, userid, access, status):
    return sr.List('registration', [
        sr.Item('driver', driver), sr.Item('server', server), sr.Item('userid', userid),
        sr.Item('access', access), sr.Item('status', status)])


def raw(port, request, shutdown=True):
    """Sends raw bytes and reads the reply to EOF: (head, body)."""
    with socket.create_connection(('127.0.0.1', port), timeout=10) as s:
        s.sendall(request)
        if shutdown:
            s.shutdown(socket.SHUT_WR)
        data = b''
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    head, _, body = data.partition(b'\r\n\r\n')
    return head.decode(), body


def read_counting(port, request, needle):
    """Sends a request and reads the reply chunk by chunk, keeping nothing
    but counts: (bytes, occurrences of needle, the last bytes)."""
    total = count = 0
    carry = last = b''
    with socket.create_connection(('127.0.0.1', port), timeout=30) as s:
        s.sendall(request)
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            total += len(chunk)
            window = carry + chunk
            count += window.count(needle)
            carry = window[-(len(needle) - 1):]
            last = (last + chunk)[-64:]
            # An occurrence inside the carried tail is counted once: the
            # tail is shorter than the needle.
    return total, count, last


def expected_head(status):
    return ('HTTP/1.1 {}\r\nConnection: close\r\nServer: msgwire/{}\r\n'
            'Content-Type: text/xml'.format(status, sr._native.__version__))


@pytest.fixture
def bayonne():
    server = sr.Server(server_name='bayonne')

    @server.method('status')
    def status(args):
        return [sr.Result('status', '-- ')]

    @server.method('registrations')
    def registrations(args):
        driver = args.get('driver')
        rows = (registration(*r) for r in REGISTRATION_ROWS if driver in (None, r[0]))
        return [sr.Lists('registrations', rows)]

    with server:
        yield server


# ---- documents ---------------------------------------------------------------

def test_spec_samples_parse():
    doc = sr.parse(STATUS)
    assert (doc.server, doc.service, doc.ok) == ('bayonne', 'status', True)
    assert doc.results == [sr.Result('status', '-- ')]
    assert doc.find('status') == '-- '
    assert doc.faults is None

    doc = sr.parse(UNKNOWN)
    assert not doc.ok
    assert doc.service == 'http'
    assert doc.faults == [sr.Item('code', '404'), sr.Item('text', 'Not Found')]
    assert (doc.fault_code, doc.fault_text) == (404, 'Not Found')
    assert doc.results is None

    doc = sr.parse(REGISTRATIONS)
    assert doc.results == [sr.Lists('registrations', [
        registration('sip', '192.168.1.95', '291', 'friend', 'active')])]
    assert doc.lists('registrations').rows[0].get('userid') == '291'
    assert doc.ignored == 0


def test_model_writes_the_samples():
    assert sr.Response('bayonne', 'status', [sr.Result('status', '-- ')]).to_xml() == STATUS
    assert sr.Response('bayonne', 'http', faults=[
        sr.Item('code', 404), sr.Item('text', 'Not Found')]).to_xml() == UNKNOWN
    doc = sr.Response('bayonne', 'registrations', [sr.Lists('registrations', [
        registration('sip', '192.168.1.95', '291', 'friend', 'active')])])
    assert doc.to_xml() == REGISTRATIONS
    assert sr.parse(doc.to_xml()) == doc


def test_empty_results_and_typed_values():
    done = sr.Response('msgwire', 'reload')
    assert done.ok and done.results == []
    assert b'<results server="msgwire" service="reload"></results>' in done.to_xml()
    assert sr.parse(done.to_xml()) == done
    doc = sr.parse(sr.Response('s', 't', [sr.Result('n', 42), sr.Result('on', True),
                                          sr.Result('x', 1.5)]).to_xml())
    assert [r.value for r in doc.results] == ['42', 'true', '1.5']
    with pytest.raises(ValueError):
        sr.Response('s', 't', results=[], faults=[])


def test_escaping_round_trip():
    nasty = 'a&b<c>d"e\'f\tg\nh'
    doc = sr.Response('s', 't', [sr.Result('x', nasty)])
    xml = doc.to_xml()
    assert b'value="a&amp;b&lt;c&gt;d&quot;e&apos;f&#9;g&#10;h"' in xml
    assert sr.parse(xml).find('x') == nasty


def test_parse_errors_carry_positions():
    with pytest.raises(sr.ParseError) as err:
        sr.parse(b'<serverResponse>\n <results>\n  <result value="1"/>')
    assert isinstance(err.value, ValueError)
    assert (err.value.position, err.value.kind) == (30, 'missing_id')
    with pytest.raises(sr.ParseError) as err:
        sr.parse(b'<html><body/></html>')
    assert err.value.kind == 'not_server_response'
    with pytest.raises(sr.ParseError):
        sr.parse(b'')


def test_quirks_of_real_servers():
    # `remote` where the spec says `server`: just another item id.
    doc = sr.parse(REGISTRATIONS.replace(b'id="server"', b'id="remote"'))
    row = doc.lists('registrations').rows[0]
    assert (row.get('remote'), row.get('server')) == ('192.168.1.95', None)
    # A value missing its closing quote: a clear error, not a hang.
    broken = REGISTRATIONS.replace(b'value="sip"', b'value="sip')
    with pytest.raises(sr.ParseError) as err:
        sr.parse(broken)
    assert err.value.kind == 'xml'
    assert 0 <= err.value.position <= len(broken)
    # Unknown elements and attributes are skipped but counted.
    doc = sr.parse(b'<serverResponse><results server="s" service="t" new="1">'
                   b'<result id="a" value="1"/><extension/></results></serverResponse>')
    assert (doc.find('a'), doc.ignored) == ('1', 2)


# ---- writer --------------------------------------------------------------------

def test_writer_streams_the_sample():
    out = io.BytesIO()
    with sr.Writer(out, 'bayonne', 'registrations') as w:
        w.lists('registrations', iter([registration('sip', '192.168.1.95', '291', 'friend',
                                                     'active')]))
    assert out.getvalue() == REGISTRATIONS
    out = io.BytesIO()
    w = sr.Writer(out, 'bayonne', 'http')
    w.fault('code', 404)
    w.fault('text', 'Not Found')
    with pytest.raises(ValueError):
        w.result('a', 'b')
    w.close()
    w.close()
    assert out.getvalue() == UNKNOWN


class Counting:
    def __init__(self):
        self.bytes = 0
        self.writes = 0

    def write(self, data):
        self.bytes += len(data)
        self.writes += 1
        return len(data)


def test_hundred_thousand_rows_with_flat_memory():
    rows_made = 0

    def rows():
        nonlocal rows_made
        for i in range(100_000):
            rows_made += 1
            yield sr.List('row', [sr.Item('n', i), sr.Item('name', 'user%d' % i)])

    sink = Counting()
    gc.collect()
    tracemalloc.start()
    try:
        with sr.Writer(sink, 'msgwire', 'big') as w:
            w.lists('rows', rows())
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert rows_made == 100_000
    assert sink.writes > 300_000          # every piece went out as written
    assert sink.bytes > 100_000 * 60
    # 100,000 rows held at once would take tens of MB of Python objects.
    assert peak < 1_000_000, peak


def test_writer_propagates_write_errors():
    class Broken:
        def write(self, data):
            raise OSError('disk full')

    w = sr.Writer(Broken(), 's', 't')
    with pytest.raises(OSError, match='disk full'):
        w.result('a', 'b')


# ---- server --------------------------------------------------------------------

def test_samples_served_byte_identical(bayonne):
    head, body = raw(bayonne.port, b'GET /status.xml HTTP/1.0\r\nUser-Agent: Any\r\n'
                                   b'Host: 127.0.0.1\r\n\r\n')
    assert (head, body) == (expected_head('200 OK'), STATUS)
    head, body = raw(bayonne.port, b'GET /unknown.xml HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n')
    assert (head, body) == (expected_head('404 Not Found'), UNKNOWN)
    head, body = raw(bayonne.port, b'GET /registrations.xml?driver=sip HTTP/1.0\r\n\r\n')
    assert (head, body) == (expected_head('200 OK'), REGISTRATIONS)


def test_urllib_against_the_server(bayonne):
    base = 'http://127.0.0.1:%d' % bayonne.port
    with urllib.request.urlopen(base + '/registrations.xml?driver=h323', timeout=10) as r:
        assert r.status == 200
        assert r.headers['Content-Type'] == 'text/xml'
        assert r.headers['Content-Length'] is None
        doc = sr.parse(r.read())
    assert doc.lists('registrations').rows[0].get('userid') == '292'

    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(base + '/nothing.xml', timeout=10)
    assert err.value.code == 404
    assert sr.parse(err.value.read()).fault_code == 404
    err.value.close()

    post = urllib.request.Request(base + '/status.xml', data=b'x=1', method='POST')
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(post, timeout=10)
    assert err.value.code == 405
    assert err.value.headers['Allow'] == 'GET, HEAD'
    assert sr.parse(err.value.read()).fault_code == 405
    err.value.close()

    head = urllib.request.Request(base + '/status.xml', method='HEAD')
    with urllib.request.urlopen(head, timeout=10) as r:
        assert r.status == 200
        assert r.read() == b''


def test_arguments_and_handler_faults():
    with sr.Server() as server:
        @server.method('echo')
        def echo(args):
            return args

        @server.method('fail')
        def fail(args):
            raise sr.Fault(int(args['code']), 'failed ' + args['code'])

        @server.method('need')
        def need(args):
            if 'who' not in args:
                raise sr.Fault(sr.ARGUMENT_MISSING, 'argument missing: who')
            return None

        @server.method('broken')
        def broken(args):
            raise KeyError('oops')

        @server.method('badreturn')
        def badreturn(args):
            return [42]

        base = 'http://127.0.0.1:%d' % server.port
        doc = sr.get(base + '/echo.xml?a=1&b=two+words&c=%C3%A9%26%3D&a=last')
        assert [(r.id, r.value) for r in doc.results] == [
            ('a', 'last'), ('b', 'two words'), ('c', 'é&=')]
        for code in (600, 601, 602):
            doc = sr.get(base + '/fail.xml?code=%d' % code)
            assert (doc.ok, doc.service, doc.fault_code, doc.fault_text) == (
                False, 'fail', code, 'failed %d' % code)
            head, _ = raw(server.port, b'GET /fail.xml?code=%d HTTP/1.0\r\n\r\n' % code)
            assert head.startswith('HTTP/1.1 200 OK\r\n')
        doc = sr.get(base + '/fail.xml?code=403')
        assert (doc.service, doc.fault_code) == ('http', 403)
        assert sr.get(base + '/need.xml').fault_code == 601
        done = sr.get(base + '/need.xml?who=me')
        assert done.ok and done.results == []
        doc = sr.get(base + '/broken.xml')
        assert doc.fault_code == 600 and 'KeyError' in doc.fault_text
        assert sr.get(base + '/badreturn.xml').fault_code == 600
        # The server carries on.
        assert sr.get(base + '/status.xml').find('version') == sr._native.__version__


def test_connection_limit_answers_503():
    with sr.Server(max_connections=1, workers=1) as server:
        holder = socket.create_connection(('127.0.0.1', server.port), timeout=10)
        holder.sendall(b'GET /status.xml HTTP/1.0\r\n')
        try:
            head, body = raw(server.port, b'GET /status.xml HTTP/1.0\r\n\r\n')
            assert head.startswith('HTTP/1.1 503 Service Unavailable\r\n')
            assert sr.parse(body).fault_code == 503
        finally:
            holder.close()


def test_trickling_client_is_cut_off():
    with sr.Server(read_timeout=0.5, workers=2) as server:
        s = socket.create_connection(('127.0.0.1', server.port), timeout=10)
        data = b''
        try:
            for b in b'GET /status.xml HTTP/1.0\r\nX-Slow: ' * 100:
                try:
                    s.sendall(bytes([b]))
                except OSError:
                    break
                time.sleep(0.02)
                s.setblocking(False)
                try:
                    data = s.recv(65536)
                except BlockingIOError:
                    data = b''
                finally:
                    s.setblocking(True)
                if data:
                    break
            s.settimeout(10)
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
        finally:
            s.close()
        head, _, body = data.partition(b'\r\n\r\n')
        assert head.startswith(b'HTTP/1.1 408 Request Timeout')
        assert sr.parse(body).fault_code == 408
        # Others were served meanwhile and still are.
        assert sr.get('http://127.0.0.1:%d/status.xml' % server.port).ok


def test_streamed_table_with_flat_server_memory():
    with sr.Server() as server:
        @server.method('big')
        def big(args):
            return [sr.Lists('rows', (sr.List('row', [sr.Item('n', i)])
                                      for i in range(100_000)))]

        gc.collect()
        tracemalloc.start()
        try:
            total, rows, tail = read_counting(server.port, b'GET /big.xml HTTP/1.0\r\n\r\n',
                                              b'<list id="row">')
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert rows == 100_000
        assert tail.endswith(b'</serverResponse>\n')
        assert total > 100_000 * 50
        # The rows were never all Python objects at once (that would take
        # tens of MB); the reply was read and dropped chunk by chunk.
        assert peak < 2_000_000, peak
        doc = sr.get('http://127.0.0.1:%d/big.xml' % server.port, timeout=60)
        rows = doc.lists('rows').rows
        assert len(rows) == 100_000 and rows[-1].get('n') == '99999'


def test_thousand_gets_from_sixteen_threads():
    with sr.Server(workers=16) as server:
        @server.method('square')
        def square(args):
            n = int(args['n'])
            return {'n': n, 'square': n * n}

        errors = []
        answered = []
        lock = threading.Lock()

        def client(t):
            try:
                for i in range(1000 // 16 + 1):
                    n = t * 1000 + i
                    if len(answered) >= 1000:
                        return
                    doc = sr.get('http://127.0.0.1:%d/square.xml?n=%d' % (server.port, n))
                    assert doc.find('square') == str(n * n), doc
                    with lock:
                        answered.append(n)
            except Exception as exc:  # noqa: BLE001 - reported below
                errors.append(exc)

        threads = [threading.Thread(target=client, args=(t,)) for t in range(16)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        assert not errors, errors[:3]
        assert len(answered) >= 1000
        assert len(set(answered)) == len(answered)


def test_close_releases_the_port():
    server = sr.Server().start()
    port = server.port
    assert sr.get('http://127.0.0.1:%d/status.xml' % port).ok
    server.close()
    server.close()
    with socket.socket() as s:
        # Connections closed by the server linger in TIME_WAIT; with
        # SO_REUSEADDR only a listening socket would still be in the way.
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(('127.0.0.1', port))
    with pytest.raises(sr.ClientError) as err:
        sr.get('http://127.0.0.1:%d/status.xml' % port, timeout=2)
    assert err.value.kind == 'connect'


def test_client_that_never_reads_frees_its_worker_at_the_write_deadline():
    produced = []
    with sr.Server(workers=1, write_timeout=0.5) as server:
        @server.method('big')
        def big(args):
            def rows():
                for i in range(int(args['n'])):
                    produced.append(i)
                    yield sr.List('row', [sr.Item('n', i), sr.Item('pad', 'x' * 100)])
            return [sr.Lists('rows', rows())]

        # Some 15 MB asked for, nothing read: the only worker blocks
        # writing until the deadline cuts the connection.
        idle = socket.create_connection(('127.0.0.1', server.port), timeout=10)
        try:
            idle.sendall(b'GET /big.xml?n=100000 HTTP/1.0\r\n\r\n')
            # The worker is free again: the next client is served.
            doc = sr.get('http://127.0.0.1:%d/big.xml?n=3' % server.port, timeout=20)
            assert [r.get('n') for r in doc.lists('rows').rows] == ['0', '1', '2']
            # The idle client's table was abandoned part way.
            assert len(produced) < 100_000 + 3
            assert produced[-3:] == [0, 1, 2]
        finally:
            idle.close()


def test_close_returns_while_a_handler_is_stuck():
    entered = threading.Event()
    release = threading.Event()
    returned = threading.Event()
    server = sr.Server(workers=2, shutdown_timeout=0.2).start()
    port = server.port

    @server.method('stuck')
    def stuck(args):
        entered.set()
        release.wait()  # only set after close()
        returned.set()
        return {'late': 'x'}

    client = socket.create_connection(('127.0.0.1', port), timeout=10)
    try:
        client.sendall(b'GET /stuck.xml HTTP/1.0\r\n\r\n')
        assert entered.wait(10)
        # Returns although the handler has not.
        server.close()
        assert not returned.is_set()
        # The client's connection is closed without a reply.
        assert client.recv(65536) == b''
    finally:
        client.close()
    with pytest.raises(sr.ClientError) as err:
        sr.get('http://127.0.0.1:%d/status.xml' % port, timeout=2)
    assert err.value.kind == 'connect'
    # The handler runs on until it returns; its reply goes nowhere.
    release.set()
    assert returned.wait(10)


def test_status_reports_protocols():
    with sr.Server() as server:
        doc = sr.get('http://127.0.0.1:%d/status.xml' % server.port)
    table = doc.lists('protocols')
    assert [r.get('name') for r in table.rows] == ['msrp', 'sts', 'ministream', 'serverresponse']
    assert int(table.rows[3].get('connections')) >= 1
    assert int(doc.find('uptime')) >= 0


# ---- client --------------------------------------------------------------------

def one_shot(reply):
    """A server writing `reply` after reading a request head."""
    listener = socket.create_server(('127.0.0.1', 0))
    port = listener.getsockname()[1]

    def serve():
        conn, _ = listener.accept()
        with conn:
            conn.settimeout(10)
            data = b''
            while b'\r\n\r\n' not in data:
                chunk = conn.recv(4096)
                if not chunk:
                    break
                data += chunk
            conn.sendall(reply)
            conn.shutdown(socket.SHUT_WR)
            try:
                conn.recv(1)
            except OSError:
                pass
        listener.close()

    thread = threading.Thread(target=serve)
    thread.start()
    return port, thread


def test_client_reply_forms_and_errors():
    port, t = one_shot(b'HTTP/1.1 200 OK\r\nConnection-Type: text/xml\r\nContent-Length: %d\r\n\r\n'
                       % len(STATUS) + STATUS)
    assert sr.get('http://127.0.0.1:%d/status.xml' % port).find('status') == '-- '
    t.join()
    port, t = one_shot(b'HTTP/1.1 404 Not Found\r\n\r\n' + UNKNOWN)
    doc = sr.get('http://127.0.0.1:%d/unknown.xml' % port)
    assert (doc.ok, doc.fault_code) == (False, 404)
    t.join()
    port, t = one_shot(b'HTTP/1.0 200 OK\r\n\r\n<html>hello</html>')
    with pytest.raises(sr.ClientError) as err:
        sr.get('http://127.0.0.1:%d/x.xml' % port)
    assert (err.value.kind, err.value.status) == ('document', 200)
    t.join()
    port, t = one_shot(b'HTTP/1.0 500 Oops\r\n\r\nbroken')
    with pytest.raises(sr.ClientError) as err:
        sr.get('http://127.0.0.1:%d/x.xml' % port)
    assert (err.value.kind, err.value.status) == ('http', 500)
    t.join()
    with pytest.raises(sr.ClientError) as err:
        sr.get('gopher://127.0.0.1/x')
    assert err.value.kind == 'bad_url'
    assert isinstance(err.value, OSError)
    silent = socket.create_server(('127.0.0.1', 0))
    try:
        with pytest.raises(sr.ClientError) as err:
            sr.get('http://127.0.0.1:%d/x.xml' % silent.getsockname()[1], timeout=0.3)
        assert err.value.kind == 'timeout'
    finally:
        silent.close()
