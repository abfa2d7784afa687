"""msgwire.sdp: MSRP media sections (RFC 4975 section 8, RFC 6135 a=setup)
parse into their fields, encode with CRLF and m= first, keep unknown
attributes, and report malformed lines."""

import pickle

import pytest

from msgwire.sdp import MSRPMedia, SDPParseError
from msrplib.protocol import URI

OFFER = (
    'm=message 7394 TCP/MSRP *\r\n'
    'c=IN IP4 alice.example.com\r\n'
    'a=path:msrp://relay.example.net:2855/aa11;tcp msrp://alice.example.com:7394/2s93i93idj;tcp\r\n'
    'a=accept-types:message/cpim text/plain text/html\r\n'
    'a=accept-wrapped-types:*\r\n'
    'a=max-size:65536\r\n'
    'a=setup:actpass\r\n'
    'a=sendrecv\r\n'
    'a=chatroom:nickname private-messages\r\n'
)


def test_parse_reads_every_field():
    media = MSRPMedia.parse(OFFER)
    assert media.port == 7394
    assert media.transport == 'TCP/MSRP'
    assert media.formats == ['*']
    assert media.connection == ('IN', 'IP4', 'alice.example.com')
    assert [str(uri) for uri in media.path] == [
        'msrp://relay.example.net:2855/aa11;tcp', 'msrp://alice.example.com:7394/2s93i93idj;tcp']
    assert all(isinstance(uri, URI) for uri in media.path)
    assert media.path[-1].session_id == '2s93i93idj' and media.path[-1].port == 7394
    assert media.accept_types == ['message/cpim', 'text/plain', 'text/html']
    assert media.accept_wrapped_types == ['*']
    assert media.max_size == 65536
    assert media.setup == 'actpass'
    assert media.attributes == [('sendrecv', None), ('chatroom', 'nickname private-messages')]


def test_encode_round_trips_canonical_text():
    assert MSRPMedia.parse(OFFER).encode() == OFFER
    assert str(MSRPMedia.parse(OFFER)) == OFFER


def test_rfc4975_answer_and_absent_attributes():
    text = 'm=message 8493 TCP/MSRP *\nc=IN IP4 bob.example.com\na=accept-types:message/cpim text/plain\n' \
           'a=path:msrp://bob.example.com:8493/si438dsaodes;tcp\n'
    media = MSRPMedia.parse(text)
    assert media.accept_wrapped_types == []
    assert media.max_size is None and media.setup is None and media.attributes == []
    # CRLF on output, m= first, path before accept-types.
    assert media.encode() == (
        'm=message 8493 TCP/MSRP *\r\nc=IN IP4 bob.example.com\r\n'
        'a=path:msrp://bob.example.com:8493/si438dsaodes;tcp\r\na=accept-types:message/cpim text/plain\r\n')


def test_build_for_path():
    media = MSRPMedia.for_path(['msrps://127.0.0.1:40000/s3ss;tcp'],
                               ['message/cpim', 'text/*', 'application/im-iscomposing+xml'],
                               setup='active', attributes=[('sendrecv', None)])
    assert media.encode() == (
        'm=message 40000 TCP/TLS/MSRP *\r\n'
        'c=IN IP4 127.0.0.1\r\n'
        'a=path:msrps://127.0.0.1:40000/s3ss;tcp\r\n'
        'a=accept-types:message/cpim text/* application/im-iscomposing+xml\r\n'
        'a=accept-wrapped-types:*\r\n'
        'a=setup:active\r\n'
        'a=sendrecv\r\n')
    assert MSRPMedia.parse(media.encode()) == media


def test_build_directly_and_mutate():
    media = MSRPMedia(2855, [URI.parse('msrp://[2001:db8::1]:2855/x;tcp')], ['text/plain'],
                      connection='2001:db8::1', max_size=10)
    media.accept_types.append('message/cpim')
    media.attributes.append(('file-selector', 'name:"a b.txt"'))
    text = media.encode()
    assert text == ('m=message 2855 TCP/MSRP *\r\nc=IN IP6 2001:db8::1\r\n'
                    'a=path:msrp://[2001:db8::1]:2855/x;tcp\r\na=accept-types:text/plain message/cpim\r\n'
                    'a=max-size:10\r\na=file-selector:name:"a b.txt"\r\n')
    assert MSRPMedia.parse(text).attributes == [('file-selector', 'name:"a b.txt"')]


def test_encode_rejects_what_would_not_parse_back():
    media = MSRPMedia.parse(OFFER)
    media.accept_types = ['text/plain\r\na=evil']
    with pytest.raises(ValueError):
        media.encode()
    media = MSRPMedia.parse(OFFER)
    media.setup = 'sometimes'
    with pytest.raises(ValueError, match='setup'):
        media.encode()
    media = MSRPMedia.parse(OFFER)
    media.transport = 'UDP/MSRP'
    with pytest.raises(ValueError, match='protocol'):
        media.encode()


MALFORMED = [
    ('', 'missing_media_line', 1),
    ('v=0\r\nm=message 1 TCP/MSRP *\r\n', 'missing_media_line', 1),
    ('m=message x TCP/MSRP *\r\n', 'bad_media_line', 1),
    ('m=audio 49170 RTP/AVP 0\r\n', 'not_message', 1),
    ('m=message 1 TCP/RTP *\r\n', 'unsupported_protocol', 1),
    ('m=message 1 TCP/MSRP *\r\nm=message 2 TCP/MSRP *\r\n', 'extra_media_line', 2),
    ('m=message 1 TCP/MSRP *\r\nc=IN IP4\r\n', 'bad_connection', 2),
    ('m=message 1 TCP/MSRP *\r\na=path:sip:bob@example.com\r\n', 'bad_path', 2),
    ('m=message 1 TCP/MSRP *\r\na=max-size:lots\r\n', 'bad_max_size', 2),
    ('m=message 1 TCP/MSRP *\r\na=setup:holdon\r\n', 'bad_setup', 2),
    ('m=message 1 TCP/MSRP *\r\na=setup:active\r\na=setup:passive\r\n', 'duplicate_line', 3),
    ('m=message 1 TCP/MSRP *\r\nnot a line\r\n', 'bad_line', 2),
]


@pytest.mark.parametrize('text,kind,line', MALFORMED)
def test_malformed_media_raises_naming_the_line(text, kind, line):
    with pytest.raises(SDPParseError) as info:
        MSRPMedia.parse(text)
    assert (info.value.kind, info.value.line) == (kind, line)
    assert info.value.text == text.split('\r\n')[line - 1]
    assert 'line {}'.format(line) in str(info.value)
    again = pickle.loads(pickle.dumps(info.value))
    assert (again.kind, again.line, str(again)) == (kind, line, str(info.value))


def test_accepts_follows_rfc4975_wildcards():
    media = MSRPMedia.parse(OFFER)
    assert media.accepts('message/cpim')
    assert media.accepts('Text/Plain; charset=utf-8')
    assert not media.accepts('image/png')
    assert media.accepts('image/png', wrapped=True)  # a=accept-wrapped-types:*
    media.accept_types = ['text/*']
    media.accept_wrapped_types = []
    assert media.accepts('text/html') and not media.accepts('message/cpim')
    assert not media.accepts('message/cpim', wrapped=True)
