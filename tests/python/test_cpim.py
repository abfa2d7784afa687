"""msgwire.cpim: the RFC 3862 examples parse and round-trip byte for byte,
messages build in the documented order, malformed CPIM raises
CPIMParseError naming the line."""

import datetime
import pickle

import pytest

from msgwire.cpim import CPIM_NAMESPACE, ChatIdentity, CPIMHeader, CPIMMessage, CPIMParseError

# RFC 3862 section 5.1, from the first message header on (MSRP carries the
# outer "Content-type: Message/CPIM" as the chunk's own header).
RFC_EXAMPLE = (
    b"From: MR SANDERS <im:piglet@100akerwood.com>\r\n"
    b"To: Depressed Donkey <im:eeyore@100akerwood.com>\r\n"
    b"DateTime: 2000-12-13T13:40:00-08:00\r\n"
    b"Subject: the weather will be fine today\r\n"
    b"Subject:;lang=fr beau temps prevu pour aujourd'hui\r\n"
    b"NS: MyFeatures <mid:MessageFeatures@id.foo.com>\r\n"
    b"Require: MyFeatures.VitalMessageOption\r\n"
    b"MyFeatures.VitalMessageOption: Confirmation-requested\r\n"
    b"MyFeatures.WackyMessageOption: Use-silly-font\r\n"
    b"\r\n"
    b"Content-type: text/xml; charset=utf-8\r\n"
    b"Content-ID: <1234567890@foo.com>\r\n"
    b"\r\n"
    b"<body>\r\n"
    b"Here is the text of my message.\r\n"
    b"</body>"
)

# The smaller examples of RFC 3862 sections 2.2, 2.4, 3.3, 3.4, 4.1-4.7,
# each made into a whole message.
RFC_SNIPPETS = [
    b"To: Pooh Bear <im:pooh@100akerwood.com>\r\nFrom: <im:piglet@100akerwood.com>\r\n"
    b"DateTime: 2001-02-02T10:48:54-05:00\r\n",
    b"Subject:;lang=fr Objet de message\r\n",
    b"NS: MyFeatures <mid:MessageFeatures@id.foo.com>\r\nMyFeatures.WackyMessageOption: Use-silly-font\r\n",
    b"NS: acme <http://id.acme.widgets/wily-headers/>\r\nacme.runner-trap: set\r\n",
    b"NS: <http://id.acme.widgets/wily-headers/>\r\nrunner-trap: set\r\n",
    b"Require: MyFeatures.VitalMessageOption\r\nNS: MyFeatures <mid:x@y>\r\n"
    b"MyFeatures.VitalMessageOption: Confirmation-requested\r\n",
    b"From: Winnie the Pooh <im:pooh@100akerwood.com>\r\nTo: <im:tigger@100akerwood.com>\r\n"
    b"cc: Winnie the Pooh <im:pooh@100akerwood.com>\r\ncc: <im:tigger@100akerwood.com>\r\n",
    b"DateTime: 2001-02-01T12:16:49-05:00\r\nSubject:;lang=en Eeyore's feeling very depressed today\r\n",
    b"NS: MyAlias <mid:MessageFeatures@id.foo.com>\r\nMyAlias.MyHeader: private-extension-data\r\n"
    b"Require: MyAlias.VitalHeader\r\n",
]


def test_rfc3862_example_parses():
    msg = CPIMMessage.parse(RFC_EXAMPLE)
    assert msg.sender == ChatIdentity('im:piglet@100akerwood.com', 'MR SANDERS')
    assert msg.recipients == [ChatIdentity('im:eeyore@100akerwood.com', 'Depressed Donkey')]
    assert msg.courtesy_recipients == []
    tz = datetime.timezone(datetime.timedelta(hours=-8))
    assert msg.timestamp == datetime.datetime(2000, 12, 13, 13, 40, 0, tzinfo=tz)
    assert msg.timestamp.utcoffset() == datetime.timedelta(hours=-8)
    assert msg.subjects == [(None, 'the weather will be fine today'),
                            ('fr', "beau temps prevu pour aujourd'hui")]
    assert msg.namespaces == {'MyFeatures': 'mid:MessageFeatures@id.foo.com'}
    assert msg.required == ['MyFeatures.VitalMessageOption']
    assert msg.additional_headers == [
        CPIMHeader('VitalMessageOption', 'mid:MessageFeatures@id.foo.com', 'Confirmation-requested',
                   prefix='MyFeatures'),
        CPIMHeader('WackyMessageOption', 'mid:MessageFeatures@id.foo.com', 'Use-silly-font',
                   prefix='MyFeatures'),
    ]
    assert msg.content_type == 'text/xml; charset=utf-8'
    assert msg.content_headers == [('Content-type', 'text/xml; charset=utf-8'),
                                   ('Content-ID', '<1234567890@foo.com>')]
    assert msg.content == b"<body>\r\nHere is the text of my message.\r\n</body>"


@pytest.mark.parametrize('final_crlf', [False, True])
def test_rfc3862_example_round_trips_byte_for_byte(final_crlf):
    data = RFC_EXAMPLE + (b"\r\n" if final_crlf else b"")
    msg = CPIMMessage.parse(data)
    assert msg.encode() == data
    assert msg.content.endswith(b"</body>\r\n" if final_crlf else b"</body>")
    assert CPIMMessage.parse(msg.encode()) == msg


@pytest.mark.parametrize('headers', RFC_SNIPPETS)
def test_rfc3862_snippets_round_trip(headers):
    data = headers + b"\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nbody\r\n"
    assert CPIMMessage.parse(data).encode() == data


def test_snippet_values():
    msg = CPIMMessage.parse(RFC_SNIPPETS[6] + b"\r\n\r\n")
    assert msg.sender == ChatIdentity('im:pooh@100akerwood.com', 'Winnie the Pooh')
    assert msg.recipients == [ChatIdentity('im:tigger@100akerwood.com')]
    assert msg.courtesy_recipients == [ChatIdentity('im:pooh@100akerwood.com', 'Winnie the Pooh'),
                                       ChatIdentity('im:tigger@100akerwood.com')]
    assert msg.content_type is None and msg.content == b''
    # A default-namespace declaration: runner-trap is in the acme namespace.
    msg = CPIMMessage.parse(RFC_SNIPPETS[4] + b"\r\n\r\n")
    assert msg.namespaces == {'': 'http://id.acme.widgets/wily-headers/'}
    assert msg.additional_headers == [CPIMHeader('runner-trap', 'http://id.acme.widgets/wily-headers/', 'set')]


def test_build_writes_the_documented_order():
    tz = datetime.timezone(datetime.timedelta(hours=2))
    msg = CPIMMessage(
        'Grüße', 'text/plain; charset=utf-8',
        sender=ChatIdentity('sip:alice@example.com', 'Alice Liddell'),
        recipients=[ChatIdentity('sip:bob@example.com')],
        timestamp=datetime.datetime(2024, 5, 1, 10, 0, 0, 250000, tzinfo=tz),
        additional_headers=[
            CPIMHeader('VitalMessageOption', 'mid:MessageFeatures@id.foo.com', 'Confirmation-requested',
                       prefix='MyFeatures'),
            CPIMHeader('Thing', 'urn:x-other', '1'),
        ],
        courtesy_recipients=[ChatIdentity('sip:carol@example.com', 'Carol, "C"')],
        subjects=[('en', 'hello\tthere')],
        required=['MyFeatures.VitalMessageOption'],
        content_headers=[('Content-ID', '<1@x>')],
    )
    assert msg.encode() == (
        b'From: Alice Liddell <sip:alice@example.com>\r\n'
        b'To: <sip:bob@example.com>\r\n'
        b'cc: "Carol, \\"C\\"" <sip:carol@example.com>\r\n'
        b'DateTime: 2024-05-01T10:00:00.250000+02:00\r\n'
        b'Subject:;lang=en hello\\tthere\r\n'
        b'NS: MyFeatures <mid:MessageFeatures@id.foo.com>\r\n'
        b'NS: ns1 <urn:x-other>\r\n'
        b'Require: MyFeatures.VitalMessageOption\r\n'
        b'MyFeatures.VitalMessageOption: Confirmation-requested\r\n'
        b'ns1.Thing: 1\r\n'
        b'\r\n'
        b'Content-Type: text/plain; charset=utf-8\r\n'
        b'Content-ID: <1@x>\r\n'
        b'\r\n' + 'Grüße'.encode('utf-8'))
    # Built and parsed messages expose the same values.
    again = CPIMMessage.parse(msg.encode())
    for name in ('content', 'content_type', 'sender', 'recipients', 'courtesy_recipients', 'timestamp',
                 'subjects', 'namespaces', 'required', 'additional_headers', 'content_headers'):
        assert getattr(again, name) == getattr(msg, name), name
    assert again.courtesy_recipients[0].display_name == 'Carol, "C"'
    assert again.subjects == [('en', 'hello\tthere')]
    assert msg.additional_headers[1].prefix == 'ns1'


def test_build_minimal_and_utc():
    msg = CPIMMessage(b'x', 'text/plain',
                      timestamp=datetime.datetime(2024, 1, 2, 3, 4, 5, tzinfo=datetime.timezone.utc))
    assert msg.encode() == b'DateTime: 2024-01-02T03:04:05Z\r\n\r\nContent-Type: text/plain\r\n\r\nx'
    assert msg.sender is None and msg.recipients == [] and msg.timestamp.utcoffset() == datetime.timedelta(0)


def test_build_rejects_bad_values():
    with pytest.raises(ValueError, match='timezone-aware'):
        CPIMMessage(b'', 'text/plain', timestamp=datetime.datetime(2024, 1, 1))
    with pytest.raises(ValueError, match='invalid URI'):
        CPIMMessage(b'', 'text/plain', sender=ChatIdentity('alice'))
    with pytest.raises(ValueError, match='control character'):
        CPIMMessage(b'', 'text/plain\r\nX-Injected: 1')
    with pytest.raises(ValueError, match='prefix'):
        CPIMMessage(b'', 'text/plain', additional_headers=[CPIMHeader('A', 'urn:a', '1', 'P'),
                                                           CPIMHeader('B', 'urn:b', '2', 'P')])


def test_messages_are_immutable():
    msg = CPIMMessage.parse(RFC_EXAMPLE)
    with pytest.raises(AttributeError):
        msg.content = b'other'


MALFORMED = [
    (b'', 'empty', 1, ''),
    (b'From: <sip:a@b>\r\nTo: <sip:c@d>', 'missing_header_end', 2, 'To: <sip:c@d>'),
    (b'From: <sip:a@b>\r\nTo: <sip:c@d>\r\n', 'missing_header_end', 2, 'To: <sip:c@d>'),
    (b'From: <sip:a@b>\r\n\r\nContent-Type: text/plain\r\nHello', 'missing_content_header_end', 4, 'Hello'),
    (b'From: <sip:a@b>\r\n\r\nContent-Type: text/plain\r\n', 'missing_content_header_end', 3,
     'Content-Type: text/plain'),
    (b'From: <sip:a@b>\r\nno colon\r\n\r\n\r\n', 'missing_colon', 2, 'no colon'),
    (b'\r\nContent-Type text/plain\r\n\r\nx', 'missing_colon', 2, 'Content-Type text/plain'),
    (b'NS: A <urn:a>\r\nB.Name: v\r\n\r\n\r\n', 'undeclared_prefix', 2, 'B.Name: v'),
    (b'A.Name: v\r\nNS: A <urn:a>\r\n\r\n\r\n', 'undeclared_prefix', 1, 'A.Name: v'),
    (b'From: piglet@100akerwood.com\r\n\r\n\r\n', 'bad_address', 1, 'From: piglet@100akerwood.com'),
    (b'DateTime: 2000-12-13T13:40:00\r\n\r\n\r\n', 'bad_datetime', 1, 'DateTime: 2000-12-13T13:40:00'),
    (b'From: <sip:a@b>\n\n\n', 'bare_line_feed', 1, 'From: <sip:a@b>'),
    (b'From:<sip:a@b>\r\n\r\n\r\n', 'missing_space', 1, 'From:<sip:a@b>'),
    (b'NS: a b <urn:x>\r\n\r\n\r\n', 'bad_namespace', 1, 'NS: a b <urn:x>'),
]


@pytest.mark.parametrize('data,kind,line,text', MALFORMED)
def test_malformed_cpim_raises_naming_the_line(data, kind, line, text):
    with pytest.raises(CPIMParseError) as info:
        CPIMMessage.parse(data)
    error = info.value
    assert (error.kind, error.line, error.text) == (kind, line, text)
    assert 'line {}'.format(line) in str(error)
    assert isinstance(error, ValueError)


def test_parse_error_pickles():
    try:
        CPIMMessage.parse(b'oops')
    except CPIMParseError as e:
        again = pickle.loads(pickle.dumps(e))
        assert (again.kind, again.line, again.text, str(again)) == (e.kind, e.line, e.text, str(e))
    else:
        pytest.fail('no error')


def test_identity_and_header_values():
    assert ChatIdentity('sip:a@b') == ChatIdentity('sip:a@b', None)
    assert ChatIdentity('sip:a@b', 'A') != ChatIdentity('sip:a@b')
    assert str(ChatIdentity('sip:a@b', 'A')) == 'A <sip:a@b>'
    assert repr(CPIMHeader('N', CPIM_NAMESPACE, 'v')) == \
        "CPIMHeader('N', 'urn:ietf:params:cpim-headers:', 'v', prefix=None)"
