"""Chunks made by the native module (parsed, built, received) keep their
headers as native (name, text) pairs until a header is read: they must
behave exactly like chunks built header by header."""

import copy
import pickle

import pytest

from msgwire import _native
from msgwire.msrp import make_response, parse_chunk
from msrplib.protocol import (URI, ByteRange, ByteRangeHeader, ContentTypeHeader, FailureReportHeader,
                              FromPathHeader, HeaderMapping, MessageIDHeader, MSRPData, MSRPHeader,
                              ToPathHeader)
from msrplib.transport import MSRPTransport

TO = 'msrp://bob.example:8888/9di4eae923wzd;tcp'
FROM = 'msrp://alice.example:7654/iau39soe2843z;tcp'
WIRE = (b'MSRP a786hjs2 SEND\r\n'
        b'To-Path: ' + TO.encode() + b'\r\n'
        b'From-Path: ' + FROM.encode() + b'\r\n'
        b'Message-ID: 87652491\r\n'
        b'Byte-Range: 1-2/2\r\n'
        b'Content-Type: text/plain\r\n'
        b'\r\n'
        b'hi'
        b'\r\n-------a786hjs2$\r\n')


def eager():
    """The chunk of WIRE, built header by header."""
    chunk = MSRPData('a786hjs2', method='SEND')
    chunk.add_header(ToPathHeader(TO))
    chunk.add_header(FromPathHeader(FROM))
    chunk.add_header(MessageIDHeader('87652491'))
    chunk.add_header(ByteRangeHeader(ByteRange(1, 2, 2)))
    chunk.add_header(ContentTypeHeader('text/plain'))
    chunk.data = b'hi'
    return chunk


def lazy():
    chunk = parse_chunk(WIRE)
    assert 'headers' not in vars(chunk)
    return chunk


def test_never_read_headers_are_handed_back_as_they_came():
    chunk = lazy()
    pairs = chunk._header_pairs()
    assert isinstance(pairs, list)
    assert chunk._header_pairs() is pairs
    assert 'headers' not in vars(chunk)
    assert list(pairs) == [('To-Path', TO), ('From-Path', FROM), ('Message-ID', '87652491'),
                           ('Byte-Range', '1-2/2'), ('Content-Type', 'text/plain')]
    assert chunk.encode() == WIRE
    assert chunk.encoded_header.encode() + b'hi' + chunk.encoded_footer.encode() == WIRE
    assert 'headers' not in vars(chunk)


def test_lazy_headers_read_like_eager_ones():
    chunk, twin = lazy(), eager()
    assert chunk == twin and twin == chunk
    assert isinstance(chunk.headers, HeaderMapping)
    assert list(chunk.headers) == list(twin.headers)
    for name, header in chunk.headers.items():
        assert type(header) is type(twin.headers[name])
        assert header.name == name and header.encoded == twin.headers[name].encoded
        assert header == twin.headers[name]
    assert chunk.to_path[0] == URI.parse(TO)
    assert chunk.byte_range == ByteRange(1, 2, 2)
    assert chunk.headers['Byte-Range'].decoded.total == 2
    assert chunk.content_type == 'text/plain' and chunk.message_id == '87652491'
    assert chunk.first_line == 'MSRP a786hjs2 SEND' == str(chunk)
    assert repr(chunk).split(' ', 3)[3] == repr(twin).split(' ', 3)[3]
    assert repr(chunk.headers).startswith('HeaderMapping({')
    assert chunk.encode() == twin.encode() == WIRE


def test_lazy_headers_change_like_eager_ones():
    chunk, twin = lazy(), eager()
    before = chunk.encoded_header
    for c in (chunk, twin):
        c.add_header(MessageIDHeader('other'))  # replaces, keeps its place
        c.add_header(FailureReportHeader('no'))
        del c.headers['Byte-Range']
    assert list(chunk.headers) == list(twin.headers) == ['To-Path', 'From-Path', 'Message-ID', 'Content-Type',
                                                          'Failure-Report']
    assert chunk == twin
    assert chunk.encoded_header != before
    assert 'Message-ID: other\r\n' in chunk.encoded_header
    assert 'Byte-Range' not in chunk.encoded_header
    assert chunk._header_pairs() == twin._header_pairs()
    assert chunk.encode() == twin.encode()
    chunk.headers.clear()
    assert chunk._header_pairs() == []


def test_lazy_headers_cannot_be_replaced_or_deleted():
    chunk = lazy()
    with pytest.raises(AttributeError):
        chunk.headers = {}
    with pytest.raises(AttributeError):
        del chunk.headers
    assert chunk.headers['To-Path'].encoded == TO


def test_copies_share_header_objects_like_eager_ones():
    for make in (lazy, eager):
        chunk = make()
        twin = chunk.copy()
        assert twin == chunk and twin.headers is not chunk.headers
        assert twin.headers['To-Path'] is chunk.headers['To-Path']
        shallow = copy.copy(make())
        assert shallow.headers['From-Path'].encoded == FROM
        original = make()
        shallow = copy.copy(original)
        assert shallow.headers is original.headers
        deep = copy.deepcopy(make())
        assert deep == eager()
        thawed = pickle.loads(pickle.dumps(make()))
        assert thawed == eager() and thawed.first_line == 'MSRP a786hjs2 SEND'


def test_transaction_id_and_first_line():
    chunk = lazy()
    assert 'first_line' not in vars(chunk)
    assert chunk.first_line == 'MSRP a786hjs2 SEND'
    chunk.transaction_id = 'zz9'
    assert chunk.first_line == 'MSRP zz9 SEND'
    assert chunk.encode().endswith(b'\r\n-------zz9$\r\n')
    response = make_response(lazy(), 200, 'OK')
    assert response.first_line == 'MSRP a786hjs2 200 OK'
    assert (response.code, response.comment, response.method) == (200, 'OK', None)
    assert not hasattr(chunk, 'segment')
    with pytest.raises(AttributeError):
        chunk.no_such_attribute


def test_repeated_header_names_merge_like_a_dict():
    wire = WIRE.replace(b'Message-ID: 87652491\r\n', b'X-A: 1\r\nMessage-ID: 87652491\r\nX-A: 2\r\n')
    chunk = parse_chunk(wire)
    names = [name for name, _ in chunk._header_pairs()]
    assert names == ['To-Path', 'From-Path', 'X-A', 'Message-ID', 'Byte-Range', 'Content-Type']
    assert dict(chunk._header_pairs())['X-A'] == '2'
    assert chunk.headers['X-A'] == MSRPHeader('X-A', '2')
    assert list(chunk.headers) == names


def test_native_header_list():
    transport = MSRPTransport(URI(host='127.0.0.1', port=7654, session_id='a', use_tls=False))
    transport._set_full_remote_path([URI(host='127.0.0.1', port=8888, session_id='b', use_tls=False)])
    chunk = transport.make_send_request(data=b'hi', message_id='m1')
    pairs = chunk._header_pairs()
    assert isinstance(pairs, _native.HeaderList)
    assert len(pairs) == 4
    assert pairs[0] == ('To-Path', 'msrp://127.0.0.1:8888/b;tcp')
    assert pairs[-1] == ('Message-ID', 'm1')
    with pytest.raises(IndexError):
        pairs[4]
    assert list(pairs) == [pairs[i] for i in range(4)]
    assert 'Byte-Range' in repr(pairs)
    _native.verify_headers(pairs)
    assert transport.check_incoming_SEND_chunk(chunk) is not None  # not addressed to this transport
    assert chunk.encode().startswith(b'MSRP ' + chunk.transaction_id.encode() + b' SEND\r\nTo-Path: ')


def test_make_message_in_one_call_builds_the_same_chunk():
    """MSRPSession.make_message builds in one native call what
    make_send_request plus add_header(ContentTypeHeader) builds."""
    from msrplib.session import MSRPSession

    class Slow(MSRPTransport):
        def make_send_request(self, *args, **kw):
            return MSRPTransport.make_send_request(self, *args, **kw)

    local = URI(host='127.0.0.1', port=7654, session_id='a', use_tls=False)
    remote = [URI(host='127.0.0.1', port=8888, session_id='b', use_tls=False)]
    chunks = []
    for cls in (MSRPTransport, Slow):
        session = object.__new__(MSRPSession)
        session.msrp = cls(local)
        session.msrp._set_full_remote_path(remote)
        for data in (b'hi', 'h\xe9llo', b'x' * 3000):
            chunk = session.make_message(data, 'text/plain', message_id='m1')
            chunk.transaction_id = 'tid1'
            chunks.append(chunk)
    fast, slow = chunks[:3], chunks[3:]
    for a, b in zip(fast, slow):
        assert a == b
        assert a.data is not None and a.data == b.data
        assert a.encode() == b.encode()
        assert list(a.headers) == list(b.headers) == ['To-Path', 'From-Path', 'Byte-Range', 'Message-ID',
                                                        'Content-Type']
    assert fast[1].data == 'h\xe9llo' and fast[1].byte_range == ByteRange(1, 6, 6)
    assert fast[2].headers['Byte-Range'].encoded == '1-*/3000'


def test_paths_follow_changed_uris():
    local = URI(host='127.0.0.1', port=7654, session_id='a', use_tls=False)
    remote = URI(host='127.0.0.1', port=8888, session_id='b', use_tls=False)
    transport = MSRPTransport(local)
    transport._set_full_remote_path([remote])
    assert transport.make_send_request(data='x').headers['To-Path'].encoded == 'msrp://127.0.0.1:8888/b;tcp'
    remote.port = 9999
    assert transport.make_send_request(data='x').headers['To-Path'].encoded == 'msrp://127.0.0.1:9999/b;tcp'
    remote.parameters['x'] = 'y'
    assert transport.make_send_request(data='x').headers['To-Path'].encoded == \
        'msrp://127.0.0.1:9999/b;tcp;x=y'
    transport.local_path = [URI(host='relay.example', port=2855, session_id='r', use_tls=True)]
    to_path = transport.make_send_request(data='x').headers['To-Path'].encoded
    assert to_path == 'msrps://relay.example:2855/r;tcp msrp://127.0.0.1:9999/b;tcp;x=y'
    local.session_id = 'c'
    assert transport.make_request('NICKNAME').headers['From-Path'].encoded == 'msrp://127.0.0.1:7654/c;tcp'


def test_parts_template_matches_from_parts():
    chunk = MSRPData._from_parts('tid1', 'SEND', None, None, [], b'', '$')
    assert set(vars(chunk)) == set(MSRPData._PARTS)
    built = MSRPTransport(URI(host='127.0.0.1', port=1, session_id='a', use_tls=False))
    built._set_full_remote_path([URI(host='127.0.0.1', port=2, session_id='b', use_tls=False)])
    assert set(vars(built.make_send_request(data='x'))) == set(MSRPData._PARTS)
