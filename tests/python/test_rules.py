"""make_response / make_report: RFC 4975 §7 rules through the core."""

import pytest

from msgwire.msrp import make_report, make_response, parse_chunk, random_id
from msrplib.protocol import (FailureReportHeader, HeaderParsingError, MSRPData, MSRPHeader,
                              SuccessReportHeader)


def send(extra=b'', method=b'SEND', body=b'hello'):
    return parse_chunk(
        b'MSRP tx000001 ' + method + b'\r\n'
        b'To-Path: msrp://relay:1/r;tcp msrp://bob:2/b;tcp\r\n'
        b'From-Path: msrp://alice:3/a;tcp msrp://hop:4/h;tcp\r\n'
        b'Message-ID: m1\r\n' + extra +
        b'Content-Type: text/plain\r\n\r\n' + body + b'\r\n-------tx000001$\r\n')


def test_response_to_send():
    response = make_response(send(), 200, 'OK')
    assert isinstance(response, MSRPData)
    assert response.encode() == (b'MSRP tx000001 200 OK\r\n'
                                 b'To-Path: msrp://alice:3/a;tcp\r\n'
                                 b'From-Path: msrp://relay:1/r;tcp\r\n'
                                 b'-------tx000001$\r\n')
    assert make_response(send(), 481).first_line == 'MSRP tx000001 481'


def test_response_to_other_methods_goes_back_the_whole_path():
    response = make_response(send(method=b'AUTH'), 401, 'Unauthorized')
    assert response.headers['To-Path'].encoded == 'msrp://alice:3/a;tcp msrp://hop:4/h;tcp'
    assert response.headers['From-Path'].encoded == 'msrp://relay:1/r;tcp'


@pytest.mark.parametrize('failure_report, code, expected', [
    (None, 200, True),
    (None, 400, True),
    (b'yes', 200, True),
    (b'no', 200, False),
    (b'no', 400, False),
    (b'partial', 200, False),
    (b'partial', 415, True),
])
def test_failure_report_decides_the_response(failure_report, code, expected):
    extra = b'' if failure_report is None else b'Failure-Report: ' + failure_report + b'\r\n'
    response = make_response(send(extra), code, None)
    assert (response is not None) == expected
    if expected:
        assert response.code == code


@pytest.mark.parametrize('success_report, failure_report, code, expected', [
    (None, None, 200, False),
    (b'yes', None, 200, True),
    (b'no', None, 200, False),
    (None, None, 415, True),
    (None, b'partial', 415, True),
    (None, b'no', 415, False),
    (b'yes', b'no', 200, True),
])
def test_report_rules(success_report, failure_report, code, expected):
    extra = b''
    if success_report is not None:
        extra += b'Success-Report: ' + success_report + b'\r\n'
    if failure_report is not None:
        extra += b'Failure-Report: ' + failure_report + b'\r\n'
    report = make_report(send(extra), code, 'OK' if code == 200 else None)
    assert (report is not None) == expected


def test_report_contents():
    request = send(b'Success-Report: yes\r\nByte-Range: 1-5/5\r\n')
    report = make_report(request, 200, 'OK')
    assert report.method == 'REPORT'
    assert report.transaction_id != request.transaction_id
    lines = report.encode().split(b'\r\n')
    assert lines[1:6] == [b'To-Path: msrp://alice:3/a;tcp msrp://hop:4/h;tcp',
                          b'From-Path: msrp://relay:1/r;tcp',
                          b'Status: 000 200 OK',
                          b'Message-ID: m1',
                          b'Byte-Range: 1-5/5']
    assert report.status == (200, 'OK')
    # Without a Byte-Range the body is taken as the whole message.
    assert make_report(send(b'Success-Report: yes\r\n'), 200, None).byte_range == (1, 5, 5)
    partial = make_report(send(b'Success-Report: yes\r\nByte-Range: 11-15/*\r\n'), 200, None)
    assert partial.byte_range == (11, 15, None)


def test_built_chunks_are_accepted():
    request = MSRPData(random_id(), method='SEND')
    request.add_header(MSRPHeader('To-Path', 'msrp://b:1/s;tcp'))
    request.add_header(MSRPHeader('From-Path', 'msrp://a:1/t;tcp'))
    request.add_header(MSRPHeader('Message-ID', 'x'))
    request.add_header(SuccessReportHeader('yes'))
    request.add_header(FailureReportHeader('partial'))
    request.data = 'abc'
    assert make_response(request, 200, 'OK') is None
    assert make_report(request, 200, 'OK').byte_range == (1, 3, 3)


@pytest.mark.parametrize('remove, set_header, header', [
    ('From-Path', None, 'From-Path'),
    ('To-Path', None, 'To-Path'),
    (None, ('From-Path', 'garbage'), 'From-Path'),
    (None, ('Failure-Report', 'sometimes'), 'Failure-Report'),
])
def test_response_with_bad_headers_raises(remove, set_header, header):
    request = send()
    if remove:
        del request.headers[remove]
    if set_header:
        request.add_header(MSRPHeader(*set_header))
    with pytest.raises(HeaderParsingError) as info:
        make_response(request, 200, 'OK')
    assert info.value.header == header


def test_report_without_message_id_raises():
    request = send(b'Success-Report: yes\r\n')
    del request.headers['Message-ID']
    with pytest.raises(HeaderParsingError) as info:
        make_report(request, 200, None)
    assert info.value.header == 'Message-ID'
    request = send(b'Success-Report: maybe\r\n')
    with pytest.raises(HeaderParsingError) as info:
        make_report(request, 200, None)
    assert info.value.header == 'Success-Report'


def test_random_ids():
    ids = {random_id() for _ in range(100)}
    assert len(ids) == 100
    assert all(1 <= len(i) <= 16 and int(i, 16) >= 0 for i in ids)
