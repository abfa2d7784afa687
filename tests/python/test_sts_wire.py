"""sts.ineterr, sts.inetheaders and sts.inetmsg: messages byte-exact,
header names, error bodies and every class of malformed input."""

import io
import sys

import pytest

from msgwire import _native
from sts import ineterr, inetheaders, inetmsg
from sts.ineterr import BAD_SERVER_DATA, Error
from sts.inetheaders import (ACCEPT, COMPACT_HEADERS, CONTENT_LENGTH, CONTENT_RANGE,
                             MULTI_HEADERS, SUBJECT, VIA, Header)
from sts.inetmsg import ParseError, RequestLine, StatusLine, build_message, read_message


def read(data):
    return read_message(io.BytesIO(data))


# -- ineterr ---------------------------------------------------------------

def test_error_constants_and_tuple():
    assert (ineterr.SUCCESS, ineterr.PENDING, ineterr.BAD_SERVER_DATA, ineterr.TIMEOUT) == (0, -1, 4, 42)
    e = Error(1, 2, 3, 4, 'x')
    assert e == (1, 2, 3, 4, 'x')
    assert Error._fields == ('code', 'server', 'module', 'line', 'text')
    assert repr(e) == "Error(code=1, server=2, module=3, line=4, text='x')"


def test_err_takes_the_callers_line():
    line = sys._getframe().f_lineno + 1
    e = ineterr.err(42)
    assert e == Error(42, 0, 0, line, '')


def test_build_error_and_parse_error_round_trip():
    e = Error(7, 1, 2, 3, 'a & <b> "c"\n\ttab')
    xml = ineterr.build_error(e)
    assert isinstance(xml, bytes)
    assert xml.startswith(b'<Error code="7" server="1" module="2" line="3" text="a &amp; &lt;b&gt; &quot;c&quot;')
    assert xml.endswith(b'"/>')
    assert ineterr.parse_error(xml) == e
    assert ineterr.parse_error(xml.decode()) == e
    assert ineterr.build_error(Error(0, 0, 0, 0, '')) == \
        b'<Error code="0" server="0" module="0" line="0" text=""/>'


def test_parse_error_lenient_and_bad_xml():
    assert ineterr.parse_error(b'<Foo/>') == Error(0, 0, 0, 0, '')
    assert ineterr.parse_error('<Error code=" -3 " line="+7" text="a&amp;b"><x/>t</Error>') == \
        Error(-3, 0, 0, 7, 'a&b')
    for bad in (b'', b'<Error', b'not xml', b'<a></b>'):
        e = ineterr.parse_error(bad)
        assert (e.code, e.text) == (BAD_SERVER_DATA, 'parse_error, invalid XML')
    e = ineterr.parse_error(b'<Error code="0x1"/>')
    assert (e.code, e.text) == (BAD_SERVER_DATA, 'parse_error, invalid attribute(s)')
    with pytest.raises(TypeError):
        ineterr.parse_error(None)


# -- inetheaders -----------------------------------------------------------

def test_header_normalisation_and_comparison():
    h = Header('  Subject ')
    assert h.normalized == 'subject' and str(h) == 'subject'
    assert hash(Header('S')) == hash('s')
    assert Header(SUBJECT) == SUBJECT
    assert Header('X-Foo') == Header('x-foo')
    assert Header('x-foo') != Header('x-bar')
    # Friendlier than python-sts's assert: str is accepted, and a full name
    # equals its compact form.
    assert SUBJECT == 's' and SUBJECT == ' S ' and SUBJECT == 'Subject'
    assert CONTENT_LENGTH == 'content-length'
    assert SUBJECT != 'l' and SUBJECT != 3
    assert {SUBJECT: '1'}.get('s') == '1'


def test_header_tables():
    assert len(COMPACT_HEADERS) == 18
    assert COMPACT_HEADERS[Header('x-trace-id')] == inetheaders.TRACE
    assert str(COMPACT_HEADERS[Header('content-range')]) == 'n'
    assert len(MULTI_HEADERS) == 26
    assert ACCEPT in MULTI_HEADERS and VIA in MULTI_HEADERS and SUBJECT not in MULTI_HEADERS
    names = [n for n in dir(inetheaders) if n.isupper() and isinstance(getattr(inetheaders, n), Header)]
    assert len(names) == 18


# -- inetmsg: building -------------------------------------------------------

def test_build_message_python_sts_format():
    wire = build_message(StatusLine(200, 'OK'), {SUBJECT: '1R', ACCEPT: ['a', 'b'], 'X-Foo': 'bar'}, b'body')
    assert wire == b'STS/1.0 200 OK\r\ns: 1R\r\na: a,b\r\nX-Foo: bar\r\n\r\nbody'
    assert build_message(RequestLine('P', '/Sts/Ping'), {}, '') == b'P /Sts/Ping STS/1.0\r\n\r\n'
    assert build_message(RequestLine('P', '/a/b'), None, 'é') == 'P /a/b STS/1.0\r\n\r\né'.encode()
    with pytest.raises(TypeError):
        build_message(('P', '/a/b'), {}, b'')
    with pytest.raises(ValueError):
        build_message(RequestLine('P', '/a/b'), {'x': 'a\r\nb'}, b'')


# The message forms of the fact sheet, exactly as they are on the wire.
FORMS = [
    (b'P /Chat/Send STS/1.0\r\ns: 1\r\nl: 14\r\n\r\n<Msg>hi</Msg>\n',
     RequestLine('P', '/Chat/Send'), {SUBJECT: '1', CONTENT_LENGTH: '14'}, b'<Msg>hi</Msg>\n'),
    (b'STS/1.0 200 OK\r\ns: 1r1\r\nl: 15\r\n\r\n<Item id="1"/>\n',
     StatusLine(200, 'OK'), {SUBJECT: '1r1', CONTENT_LENGTH: '15'}, b'<Item id="1"/>\n'),
    (b'STS/1.0 200 OK\r\ns: 1R2\r\nl: 15\r\n\r\n<Item id="2"/>\n',
     StatusLine(200, 'OK'), {SUBJECT: '1R2', CONTENT_LENGTH: '15'}, b'<Item id="2"/>\n'),
    (b'STS/1.0 400 Error\r\ns: 2R\r\nl: 64\r\n\r\n<Error code="7" server="0" module="0" line="0" text="denied" />\n',
     StatusLine(400, 'Error'), {SUBJECT: '2R', CONTENT_LENGTH: '64'},
     b'<Error code="7" server="0" module="0" line="0" text="denied" />\n'),
    (b'P /Sts/Ping STS/1.0\r\nl: 1\r\n\r\n\n',
     RequestLine('P', '/Sts/Ping'), {CONTENT_LENGTH: '1'}, b'\n'),
    (b'STS/1.0 200 OK\r\ns: 3r1\r\nn: bytes 0-2/6\r\nl: 3\r\n\r\nabc',
     StatusLine(200, 'OK'), {SUBJECT: '3r1', CONTENT_RANGE: 'bytes 0-2/6', CONTENT_LENGTH: '3'}, b'abc'),
]


@pytest.mark.parametrize('wire,start,headers,body', FORMS)
def test_message_forms_byte_exact(wire, start, headers, body):
    assert read(wire) == (start, headers, body)
    assert build_message(start, headers, body) == wire


def test_error_reply_form_parses():
    body = FORMS[3][3]
    assert ineterr.parse_error(body) == Error(7, 0, 0, 0, 'denied')


def test_native_encoder_adds_length_and_lf():
    assert _native.sts_encode(('P', '/Sts/Ping'), [], b'') == b'P /Sts/Ping STS/1.0\r\nl: 1\r\n\r\n\n'
    assert _native.sts_encode(('P', '/Chat/Send'), [('Subject', '1')], b'<Msg>hi</Msg>') == FORMS[0][0]
    assert _native.sts_encode((200, 'OK'), [('s', '1')], b'x', names='full') == \
        b'STS/1.0 200 OK\r\nSubject: 1\r\nContent-Length: 2\r\n\r\nx\n'


# -- inetmsg: reading --------------------------------------------------------

def test_compact_and_full_names_read_the_same():
    full = read(b'P /a/b STS/1.0\r\nSubject: 5\r\nContent-Length: 2\r\nX-Trace-ID: t\r\nX-Other: o\r\n\r\nab')
    compact = read(b'P /a/b STS/1.0\r\ns: 5\r\nl: 2\r\ni: t\r\nx-other: o\r\n\r\nab')
    assert full == compact
    assert full[1][Header('x-other')] == 'o'
    assert full[1]['s'] == '5'


def test_multi_value_headers_are_kept():
    _, headers, _ = read(b'P /a/b STS/1.0\r\nAccept: x, y\r\na: z\r\nVia: v1\r\ns: 1\r\ns: 2\r\n\r\n')
    assert headers[ACCEPT] == ['x', 'y', 'z']
    assert headers[VIA] == ['v1']
    assert headers[SUBJECT] == '2'


def test_lenient_forms():
    assert read(b'STS/1.0 404 Not Found\r\n\r\n')[0] == StatusLine(404, 'Not Found')
    assert read(b'STS/1.0 200 OK\n\n') == (StatusLine(200, 'OK'), {}, b'')
    assert read(b'\r\nP /a/b STS/1.0\r\nl: 0\r\n\r\n')[0] == RequestLine('P', '/a/b')


def test_reads_consecutive_messages_from_one_stream():
    fp = io.BytesIO(FORMS[1][0] + FORMS[2][0] + FORMS[4][0])
    assert [read_message(fp)[1][SUBJECT] for _ in range(2)] == ['1r1', '1R2']
    assert read_message(fp)[0] == RequestLine('P', '/Sts/Ping')
    with pytest.raises(ParseError):
        read_message(fp)


MALFORMED = {
    'eof': b'',
    'eof in headers': b'P /a/b STS/1.0\r\ns: 1\r\n',
    'short body': b'P /a/b STS/1.0\r\nl: 5\r\n\r\nab',
    'start line tokens': b'P /a/b\r\n\r\n',
    'start line extra': b'P /a/b c STS/1.0\r\n\r\n',
    'version': b'P /a/b STS/2.0\r\n\r\n',
    'status version': b'HTTP/1.1 200 OK\r\n\r\n',
    'status code': b'STS/1.0 2x0 OK\r\n\r\n',
    'status code short': b'STS/1.0 20 OK\r\n\r\n',
    'no colon': b'P /a/b STS/1.0\r\nnocolon\r\n\r\n',
    'folding': b'P /a/b STS/1.0\r\ns: 1\r\n  more\r\n\r\n',
    'space in name': b'P /a/b STS/1.0\r\nx y: 1\r\n\r\n',
    'negative length': b'P /a/b STS/1.0\r\nl: -1\r\n\r\n',
    'bad length': b'P /a/b STS/1.0\r\nl: abc\r\n\r\n',
    'conflicting length': b'P /a/b STS/1.0\r\nl: 1\r\nContent-Length: 2\r\n\r\na',
    'control char': b'P /a/b STS/1.0\r\nx: a\x01b\r\n\r\n',
    'not utf-8': b'P /\xff/b STS/1.0\r\n\r\n',
    'header section over 32K': b'P /a/b STS/1.0\r\nx: ' + b'a' * 40000 + b'\r\n\r\n',
    'body over 64K': b'P /a/b STS/1.0\r\nl: 70000\r\n\r\n' + b'a' * 70000,
}


@pytest.mark.parametrize('name', sorted(MALFORMED))
def test_malformed_input_raises_parse_error(name):
    with pytest.raises(ParseError):
        read(MALFORMED[name])


def test_parse_error_is_also_a_value_error():
    assert issubclass(ParseError, ValueError)


def test_limits_are_the_specs():
    body = b'a' * 65536
    assert read(b'P /a/b STS/1.0\r\nl: 65536\r\n\r\n' + body)[2] == body
    head = b'P /a/b STS/1.0\r\nx-big: ' + b'a' * 30000 + b'\r\n\r\n'
    assert read(head)[1][Header('x-big')] == 'a' * 30000
