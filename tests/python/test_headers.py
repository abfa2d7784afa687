"""Every header class: text <-> value both ways, lazy errors, legacy dispatch."""

from collections import deque

import pytest

from msrplib import protocol
from msrplib.protocol import (URI, AuthenticationInfoHeader, AuthorizationHeader, ByteRange,
                              ByteRangeHeader, ContentDescriptionHeader, ContentDisposition,
                              ContentDispositionHeader, ContentIDHeader, ContentTypeHeader,
                              ExpiresHeader, FailureReportHeader, FromPathHeader, HeaderOrdering,
                              HeaderParsingError, MaxExpiresHeader, MessageIDHeader, MinExpiresHeader,
                              MSRPHeader, MSRPNamedHeader, ParsingError, Status, StatusHeader,
                              SuccessReportHeader, ToPathHeader, UseNicknameHeader, UsePathHeader,
                              WWWAuthenticateHeader)

PATH = 'msrp://a.example:1/x;tcp msrps://u@b.example/y;tcp'

# (class, wire text, decoded value); decoded -> text gives the same text back.
CASES = [
    (ToPathHeader, PATH, deque([URI.parse('msrp://a.example:1/x;tcp'), URI.parse('msrps://u@b.example/y;tcp')])),
    (FromPathHeader, 'msrp://alice.example:7654/jshA7weztas;tcp',
     deque([URI(host='alice.example', port=7654, session_id='jshA7weztas', use_tls=False)])),
    (UsePathHeader, 'msrps://intra.example.com:9000/jui787s2f;tcp',
     deque([URI(host='intra.example.com', port=9000, session_id='jui787s2f')])),
    (MessageIDHeader, '87652491', '87652491'),
    (SuccessReportHeader, 'yes', 'yes'),
    (SuccessReportHeader, 'no', 'no'),
    (FailureReportHeader, 'partial', 'partial'),
    (FailureReportHeader, 'no', 'no'),
    (ByteRangeHeader, '1-25/25', ByteRange(1, 25, 25)),
    (ByteRangeHeader, '835-*/2500', ByteRange(835, None, 2500)),
    (ByteRangeHeader, '1-*/*', ByteRange(1, None, None)),
    (ByteRangeHeader, '1-0/0', ByteRange(1, 0, 0)),
    (StatusHeader, '000 200 OK', Status(200, 'OK')),
    (StatusHeader, '000 408', Status(408, None)),
    (StatusHeader, '000 413 Message too big, sorry', Status(413, 'Message too big, sorry')),
    (ExpiresHeader, '900', 900),
    (MinExpiresHeader, '0', 0),
    (MaxExpiresHeader, '4294967295', 4294967295),
    (WWWAuthenticateHeader, 'Digest realm="relay.example", qop="auth", nonce="dcd98b7102"',
     {'realm': 'relay.example', 'qop': 'auth', 'nonce': 'dcd98b7102'}),
    (AuthorizationHeader, 'Digest username="alice", realm="r", nc="00000001"',
     {'username': 'alice', 'realm': 'r', 'nc': '00000001'}),
    (AuthenticationInfoHeader, 'nextnonce="bz8V", rspauth="72f1"', {'nextnonce': 'bz8V', 'rspauth': '72f1'}),
    (ContentTypeHeader, 'text/plain', 'text/plain'),
    (ContentIDHeader, '<1234@example.com>', '<1234@example.com>'),
    (ContentDescriptionHeader, 'My cat', 'My cat'),
    (ContentDispositionHeader, 'attachment; filename="My cat.jpeg"; size="10"',
     ContentDisposition('attachment', {'filename': 'My cat.jpeg', 'size': '10'})),
    (ContentDispositionHeader, 'inline', ContentDisposition('inline', {})),
    (UseNicknameHeader, 'Alice', 'Alice'),
    (UseNicknameHeader, 'Zoë ✓', 'Zoë ✓'),
]


@pytest.mark.parametrize('cls, text, value', CASES, ids=['{}:{}'.format(c[0].__name__, c[1][:20]) for c in CASES])
def test_decode_and_encode(cls, text, value):
    from_text = cls(text)
    assert from_text.name == cls.name
    assert from_text.encoded == text
    assert from_text.decoded == value
    assert type(from_text.decoded) is type(value)

    from_value = cls(value)
    assert from_value.encoded == text
    assert from_value == from_text


def test_every_legacy_header_class_is_covered():
    named = {c for c in vars(protocol).values()
             if isinstance(c, type) and issubclass(c, MSRPNamedHeader) and c.name is not None}
    assert named == {case[0] for case in CASES}
    assert len(named) == 19


def test_non_string_values_coerce_like_legacy():
    assert ExpiresHeader(30).encoded == '30'
    header = ExpiresHeader('1')
    header.decoded = '45'  # int('45'), as the legacy setter does
    assert header.decoded == 45 and header.encoded == '45'
    assert ByteRangeHeader((1, 5, 10)).encoded == '1-5/10'
    assert StatusHeader([404, 'Not found']).encoded == '000 404 Not found'
    assert ToPathHeader(['msrp://a:1/b;tcp']).decoded == deque([URI.parse('msrp://a:1/b;tcp')])
    assert ToPathHeader([URI.parse('msrp://a:1/b;tcp')]).encoded == 'msrp://a:1/b;tcp'
    assert MessageIDHeader(12345).encoded == '12345'
    assert ContentDispositionHeader(('attachment', [('filename', 'a"b.txt')])).encoded == \
        'attachment; filename="a\\"b.txt"'
    assert AuthorizationHeader([('username', 'bob')]).encoded == 'Digest username="bob"'


VALID = {cls: text for cls, text, _ in reversed(CASES)}


@pytest.mark.parametrize('cls, value', [
    (ExpiresHeader, object()),
    (ExpiresHeader, 'soon'),
    (ByteRangeHeader, 5),
    (ByteRangeHeader, (1, 2)),
    (StatusHeader, 'OK'),
    (WWWAuthenticateHeader, 7),
    (ContentDispositionHeader, 3),
    (ToPathHeader, 42),
    (ToPathHeader, 'msrp://a:1/b;tcp'),
])
def test_setting_decoded_with_a_wrong_type_raises_type_error(cls, value):
    header = cls(VALID[cls])
    with pytest.raises(TypeError):
        header.decoded = value
    # The header keeps its previous value.
    assert header.encoded == VALID[cls]


@pytest.mark.parametrize('cls, text, fragment', [
    (ToPathHeader, 'http://example/x', 'scheme'),
    (ToPathHeader, '', 'no URI'),
    (FromPathHeader, 'msrp://h:1/s;tcp msrp://ba^d;tcp', 'host'),
    (UsePathHeader, 'msrp://h:1/s', 'transport'),
    (MessageIDHeader, '', 'empty'),
    (SuccessReportHeader, 'maybe', 'maybe'),
    (FailureReportHeader, 'sometimes', 'sometimes'),
    (ByteRangeHeader, 'banana', 'banana'),
    (ByteRangeHeader, '0-5/5', '0-5/5'),
    (ByteRangeHeader, '5-3/9', '5-3/9'),
    (ByteRangeHeader, '1-10/5', '1-10/5'),
    (StatusHeader, '200 OK', '200 OK'),
    (StatusHeader, '000 20 OK', '000 20 OK'),
    (ExpiresHeader, '-1', '-1'),
    (MinExpiresHeader, '99999999999', '99999999999'),
    (MaxExpiresHeader, 'ten', 'ten'),
    (WWWAuthenticateHeader, 'Basic realm="x"', 'Basic'),
    (AuthorizationHeader, 'Digest a="open', 'open'),
    (AuthenticationInfoHeader, 'justaword', 'justaword'),
    (ContentTypeHeader, '', 'empty'),
    (ContentIDHeader, '', 'empty'),
    (ContentDescriptionHeader, '', 'empty'),
    (ContentDispositionHeader, '', 'disposition'),
    (ContentDispositionHeader, 'inline; x="open', 'disposition'),
    (UseNicknameHeader, '', 'empty'),
])
def test_bad_values_raise_only_when_decoded(cls, text, fragment):
    header = cls(text)  # building it never fails
    assert header.encoded == text
    with pytest.raises(HeaderParsingError) as info:
        header.decoded
    error = info.value
    assert error.header == cls.name
    assert isinstance(error, ParsingError)
    assert str(error).startswith('Error parsing {} header: '.format(cls.name))
    assert fragment in str(error)
    assert error.reason in str(error)


@pytest.mark.parametrize('cls, value', [
    (ExpiresHeader, -1),
    (ExpiresHeader, 2 ** 32),
    (ByteRangeHeader, ByteRange(0, 5, 5)),
    (StatusHeader, Status(1000, None)),
    (SuccessReportHeader, 'partial'),
    (MessageIDHeader, 'a\r\nInjected: yes'),
    (ToPathHeader, [URI(host='bad host', session_id='s')]),
])
def test_values_that_cannot_be_encoded_raise_value_error(cls, value):
    header = cls(VALID[cls])
    header.decoded = value
    with pytest.raises(ValueError) as info:
        header.encoded
    assert cls.name in str(info.value)


def test_metaclass_builds_the_specialised_class():
    header = MSRPHeader('To-Path', 'msrp://a:1/b;tcp')
    assert type(header) is ToPathHeader
    assert header.decoded[0].port == 1
    assert type(MSRPHeader('Byte-Range', ByteRange(1, 2, 3))) is ByteRangeHeader
    generic = MSRPHeader('X-Custom', 'anything at all')
    assert type(generic) is MSRPHeader
    assert generic.decoded == 'anything at all' and generic.encoded == 'anything at all'
    # Names are matched exactly, as in the legacy library.
    assert type(MSRPHeader('to-path', 'garbage')) is MSRPHeader
    assert MSRPHeader('to-path', 'garbage').decoded == 'garbage'


def test_an_application_header_class_registers_itself():
    class KeepAliveHeader(MSRPNamedHeader):
        name = 'X-Test-Keep-Alive'
        type = type('KeepAliveType', (protocol.LimitedChoiceHeaderType,), {'allowed_values': frozenset({'yes'})})

    header = MSRPHeader('X-Test-Keep-Alive', 'yes')
    assert type(header) is KeepAliveHeader and header.decoded == 'yes'
    with pytest.raises(HeaderParsingError) as info:
        MSRPHeader('X-Test-Keep-Alive', 'no').decoded
    assert info.value.header == 'X-Test-Keep-Alive'


def test_byte_range_and_status_shortcuts():
    byte_range = ByteRangeHeader('835-*/2500')
    assert (byte_range.start, byte_range.end, byte_range.total) == (835, None, 2500)
    assert (byte_range.fro, byte_range.length) == (835, 2500)
    status = StatusHeader('000 415 Unsupported media type')
    assert (status.code, status.comment) == (415, 'Unsupported media type')


def test_encoded_and_decoded_stay_in_step():
    header = ByteRangeHeader('1-5/5')
    header.decoded = ByteRange(6, 10, 10)
    assert header.encoded == '6-10/10'
    header.encoded = '1-*/*'
    assert header.decoded == ByteRange(1, None, None)


def test_equality_and_repr():
    assert ToPathHeader('msrp://H:1/a;tcp') == ToPathHeader('msrp://h:1/a;tcp')
    assert ToPathHeader('msrp://h:1/a;tcp') != FromPathHeader('msrp://h:1/a;tcp')
    assert ByteRangeHeader('banana') == ByteRangeHeader('banana')
    assert ByteRangeHeader('banana') != ByteRangeHeader('1-2/3')
    assert repr(MessageIDHeader('m1')) == "MessageIDHeader('m1')"
    assert repr(MSRPHeader('X-A', 'b')) == "MSRPHeader('X-A', 'b')"
    with pytest.raises(TypeError):
        hash(MessageIDHeader('m1'))


def test_header_ordering():
    names = ['Content-Type', 'X-Custom', 'From-Path', 'Content-ID', 'Message-ID', 'To-Path', 'Status']
    assert sorted(names, key=HeaderOrdering.sort_key) == [
        'To-Path', 'From-Path', 'X-Custom', 'Message-ID', 'Status', 'Content-ID', 'Content-Type']
    assert [HeaderOrdering.sort_key(n) for n in ('To-Path', 'From-Path', 'Byte-Range', 'Content-Foo', 'Content-Type')] \
        == [0, 1, 2, 3, 4]
