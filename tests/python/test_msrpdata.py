"""msrplib.protocol.MSRPData: the legacy constructor, attributes and encoding."""

import pytest

from msgwire.msrp import parse_chunk
from msrplib.protocol import (URI, ByteRange, ByteRangeHeader, ContentDispositionHeader,
                              ContentTypeHeader, FailureReportHeader, FromPathHeader, HeaderMapping,
                              HeaderParsingError, MessageIDHeader, MSRPData, MSRPHeader, Status,
                              StatusHeader, SuccessReportHeader, ToPathHeader)

TO = 'msrp://bob.example:8888/9di4eae923wzd;tcp'
FROM = 'msrp://alice.example:7654/iau39soe2843z;tcp'


def send(tid='a786hjs2', data=b'hi'):
    chunk = MSRPData(tid, method='SEND')
    chunk.add_header(ContentTypeHeader('text/plain'))
    chunk.add_header(MessageIDHeader('87652491'))
    chunk.add_header(FromPathHeader(FROM))
    chunk.add_header(ToPathHeader(TO))
    chunk.add_header(ByteRangeHeader(ByteRange(1, len(data), len(data))))
    chunk.data = data
    return chunk


@pytest.mark.parametrize('kwargs, message', [
    ({}, 'either method or code must be specified'),
    ({'method': 'SEND', 'code': 200}, 'method and code cannot be both specified'),
    ({'method': 'SEND', 'comment': 'OK'}, 'comment should only be specified when code is specified'),
])
def test_constructor_validation(kwargs, message):
    with pytest.raises(ValueError) as info:
        MSRPData('tid00001', **kwargs)
    assert str(info.value) == message


def test_first_line_and_defaults():
    request = MSRPData('tid00001', method='SEND')
    assert request.first_line == 'MSRP tid00001 SEND' == str(request)
    assert (request.method, request.code, request.comment) == ('SEND', None, None)
    assert request.data == b'' and request.contflag == '$'
    assert request.chunk_header is None and request.chunk_footer is None
    assert isinstance(request.headers, HeaderMapping) and len(request.headers) == 0
    assert MSRPData('tid00001', code=200, comment='OK').first_line == 'MSRP tid00001 200 OK'
    assert MSRPData('tid00001', code=7).first_line == 'MSRP tid00001 007'


def test_immutable_attributes():
    chunk = MSRPData('tid00001', method='SEND')
    for name, value in [('method', 'REPORT'), ('code', 200), ('comment', 'x'), ('headers', {})]:
        with pytest.raises(AttributeError):
            setattr(chunk, name, value)
        with pytest.raises(AttributeError):
            delattr(chunk, name)
    chunk.data = b'x'
    chunk.contflag = '+'
    assert (chunk.data, chunk.contflag) == (b'x', '+')


def test_transaction_id_is_reassignable():
    chunk = send()
    before = chunk.encoded_header
    chunk.transaction_id = 'zz9'
    assert chunk.first_line == 'MSRP zz9 SEND'
    assert chunk.encoded_header == before.replace('a786hjs2', 'zz9')
    assert chunk.encode().endswith(b'\r\n-------zz9$\r\n')


def test_encoding_order_and_framing():
    chunk = send()
    expected = (b'MSRP a786hjs2 SEND\r\n'
                b'To-Path: ' + TO.encode() + b'\r\n'
                b'From-Path: ' + FROM.encode() + b'\r\n'
                b'Message-ID: 87652491\r\n'
                b'Byte-Range: 1-2/2\r\n'
                b'Content-Type: text/plain\r\n'
                b'\r\n'
                b'hi'
                b'\r\n-------a786hjs2$\r\n')
    assert chunk.encode() == expected
    assert chunk.encode_start() + b'hi' + chunk.encode_end() == expected
    assert chunk.encoded_header.encode() + b'hi' + chunk.encoded_footer.encode() == expected
    assert chunk.encode_end('#') == b'\r\n-------a786hjs2#\r\n'
    assert parse_chunk(expected) == chunk


def test_content_headers_go_last_in_insertion_order():
    chunk = MSRPData('tid00001', method='SEND')
    chunk.add_header(ContentTypeHeader('text/plain'))
    chunk.add_header(ContentDispositionHeader('inline'))
    chunk.add_header(MSRPHeader('X-Custom', '1'))
    chunk.add_header(FromPathHeader(FROM))
    chunk.add_header(MessageIDHeader('m'))
    chunk.add_header(ToPathHeader(TO))
    chunk.add_header(MSRPHeader('Content-Description', 'd'))
    names = [line.split(':')[0] for line in chunk.encoded_header.split('\r\n')[1:] if line]
    assert names == ['To-Path', 'From-Path', 'X-Custom', 'Message-ID', 'Content-Disposition',
                     'Content-Description', 'Content-Type']


def test_no_blank_line_without_body():
    response = MSRPData('tid00001', code=200, comment='OK')
    response.add_header(ToPathHeader(FROM))
    response.add_header(FromPathHeader(TO))
    assert response.encode() == ('MSRP tid00001 200 OK\r\nTo-Path: {}\r\nFrom-Path: {}\r\n'
                                 '-------tid00001$\r\n').format(FROM, TO).encode()
    # A body without Content-Type still gets its blank line (the legacy encoder lost it).
    response.data = b'x'
    assert b'\r\n\r\nx\r\n-------tid00001$\r\n' in response.encode()
    assert parse_chunk(response.encode()).data == b'x'


def test_str_data_is_sent_as_utf8():
    chunk = send(data='héllo')
    assert chunk.size == 6
    assert chunk.encode().endswith(b'h\xc3\xa9llo\r\n-------a786hjs2$\r\n')


def test_header_modification_invalidates_the_cached_header():
    chunk = send()
    first = chunk.encoded_header
    assert chunk.encoded_header is first  # cached
    chunk.headers['Failure-Report'] = FailureReportHeader('no')
    assert 'Failure-Report: no\r\n' in chunk.encoded_header
    del chunk.headers['Failure-Report']
    assert chunk.encoded_header == first
    chunk.data = b''
    chunk.headers.pop('Content-Type')
    assert not chunk.encoded_header.endswith('\r\n')


def test_header_shortcuts():
    chunk = send()
    assert chunk.to_path[0] == URI.parse(TO)
    assert chunk.from_path[0].session_id == 'iau39soe2843z'
    assert chunk.content_type == 'text/plain'
    assert chunk.message_id == '87652491'
    assert chunk.byte_range == ByteRange(1, 2, 2)
    assert chunk.status is None
    assert chunk.failure_report == 'yes'
    assert chunk.success_report == 'no'
    assert chunk.size == 2
    chunk.add_header(SuccessReportHeader('yes'))
    chunk.add_header(FailureReportHeader('partial'))
    chunk.add_header(StatusHeader(Status(200, 'OK')))
    assert (chunk.success_report, chunk.failure_report, chunk.status) == ('yes', 'partial', (200, 'OK'))


def test_verify_headers():
    chunk = send()
    chunk.verify_headers()
    del chunk.headers['To-Path']
    with pytest.raises(HeaderParsingError) as info:
        chunk.verify_headers()
    assert info.value.header == 'To-Path'
    assert str(info.value) == 'Error parsing To-Path header: header is missing'

    chunk = send()
    del chunk.headers['From-Path']
    with pytest.raises(HeaderParsingError) as info:
        chunk.verify_headers()
    assert info.value.header == 'From-Path'

    chunk = send()
    chunk.add_header(MSRPHeader('Success-Report', 'maybe'))
    with pytest.raises(HeaderParsingError) as info:
        chunk.verify_headers()
    assert info.value.header == 'Success-Report'

    chunk = send()
    chunk.add_header(MSRPHeader('Byte-Range', 'banana'))
    with pytest.raises(HeaderParsingError) as info:
        chunk.byte_range
    assert info.value.header == 'Byte-Range'


def test_equality_copy_and_repr():
    chunk = send()
    twin = chunk.copy()
    assert twin == chunk and twin is not chunk
    assert twin.headers is not chunk.headers
    twin.contflag = '+'
    assert twin != chunk
    other = send(tid='b786hjs2')
    assert other != chunk
    assert send(data='hi') == send(data=b'hi')
    text = repr(chunk)
    assert text.startswith('<MSRPData at 0x')
    assert "MSRP a786hjs2 SEND To-Path='{}' From-Path='{}'".format(TO, FROM) in text
    assert text.endswith("Content-Type='text/plain' len=2 $>")
    with pytest.raises(TypeError):
        hash(chunk)


def test_headers_argument():
    headers = {'Message-ID': MessageIDHeader('m1')}
    chunk = MSRPData('tid00001', method='SEND', headers=headers, data=b'abc', contflag='+')
    assert chunk.message_id == 'm1' and chunk.data == b'abc' and chunk.contflag == '+'
    headers['Message-ID'] = MessageIDHeader('m2')
    assert chunk.message_id == 'm1'  # copied into the chunk's own mapping


def test_bad_contflag_is_rejected_at_encoding():
    chunk = send()
    chunk.contflag = '!'
    with pytest.raises(ValueError):
        chunk.encode()
