"""msrplib.protocol.URI: parse, format, defaults, RFC 4975 §6.1 equality."""

import ipaddress
import socket

import pytest

from msrplib import MSRPError
from msrplib.protocol import URI, ConnectInfo, ParsingError


@pytest.mark.parametrize('text', [
    'msrp://atlanta.example.com:7654/jshA7weztas;tcp',
    'msrps://bob@relay.example.net:2855/s/x+y=z;tcp',
    'msrp://10.0.0.1;tcp',
    'msrp://[::1]:9/a;tcp',
    'msrps://extra.example.com;tcp',
    'msrp://h:1/s;sctp;foo=bar;flag',
    'msrps://user:pw@host-1.example/s;tcp',
])
def test_parse_format_round_trip(text):
    uri = URI.parse(text)
    assert str(uri) == text
    assert URI.parse(str(uri)) == uri
    uri.validate()


def test_parsed_parts():
    uri = URI.parse('msrps://alice@example.com:2855/abc123;tcp;a=b;flag')
    assert uri.use_tls is True
    assert uri.scheme == 'msrps'
    assert uri.user == 'alice'
    assert uri.host == 'example.com'
    assert uri.port == 2855
    assert uri.session_id == 'abc123'
    assert uri.transport == 'tcp'
    assert uri.parameters == {'a': 'b', 'flag': None}
    assert uri.credentials is None
    assert isinstance(uri, ConnectInfo)

    plain = URI.parse('msrp://relay.example;tcp')
    assert (plain.use_tls, plain.scheme, plain.port, plain.session_id, plain.user) == (False, 'msrp', None, None, None)
    assert URI.parse('msrp://[2001:db8::1]:99/x;tcp').host == '2001:db8::1'


def test_any_transport_token_is_accepted():
    assert URI.parse('msrp://h:1/s;ws').transport == 'ws'
    assert URI.parse('msrp://h:1/s;TCP').transport == 'TCP'


@pytest.mark.parametrize('text', [
    'http://example.com;tcp',
    'msrp:example.com;tcp',
    'msrp://;tcp',
    'msrp://h:99999/s;tcp',
    'msrp://h:x/s;tcp',
    'msrp://h/s',
    'msrp://h/;tcp',
    'msrp://h/a b;tcp',
    'msrp://h/s;t-c',
    'msrp://h/s;tcp;a=b c',
    'msrp://1.2.3.999/s;tcp',
    'msrp://ho st/s;tcp',
    '',
    'garbage',
])
def test_bad_uris_raise_parsing_error(text):
    with pytest.raises(ParsingError) as info:
        URI.parse(text)
    assert isinstance(info.value, MSRPError)
    assert 'URI' in str(info.value)


def test_parse_rejects_non_text():
    with pytest.raises(ParsingError):
        URI.parse(None)
    assert URI.parse(b'msrp://h:1/s;tcp') == URI.parse('msrp://h:1/s;tcp')


def test_constructor_defaults():
    uri = URI()
    assert uri.use_tls is True and uri.scheme == 'msrps'
    assert uri.port == 2855
    assert uri.transport == 'tcp'
    assert uri.parameters == {}
    assert uri.user is None and uri.credentials is None
    # The default host is an address of this machine (default route or loopback).
    ipaddress.ip_address(uri.host)
    # The same rule as the core (Rust and C): the default-route interface,
    # which a UDP socket "connected" to a documentation address reveals.
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(('192.0.2.1', 9))
            expected = probe.getsockname()[0]
        except OSError:
            expected = '127.0.0.1'
    assert uri.host == expected
    # 80 random bits in hex.
    int(uri.session_id, 16)
    assert 1 <= len(uri.session_id) <= 20
    assert URI().session_id != uri.session_id
    assert str(uri) == 'msrps://{}:2855/{};tcp'.format(uri.host, uri.session_id)


def test_constructor_arguments():
    uri = URI(host='example.com', use_tls=False, user='bob', port=7777, session_id='s1',
              transport='tcp', parameters={'x': 'y'})
    assert str(uri) == 'msrp://bob@example.com:7777/s1;tcp;x=y'
    assert URI(host=b'example.org', session_id='s').host == 'example.org'
    # Like the legacy class, a port of 0 (pick one) and an empty session id are left out.
    assert str(URI(host='h', port=0, session_id='', use_tls=False)) == 'msrp://h;tcp'
    assert str(URI(host='::1', port=5, session_id='a', use_tls=False)) == 'msrp://[::1]:5/a;tcp'


def test_repr_lists_every_field():
    uri = URI(host='h', use_tls=False, port=1, session_id='s')
    assert repr(uri) == ("URI(host='h', use_tls=False, user=None, port=1, session_id='s', "
                         "transport='tcp', parameters={}, credentials=None)")


def test_equality_rfc4975_6_1():
    assert URI.parse('msrp://Host.COM:1/abc;tcp') == URI.parse('MSRP://host.com:1/abc;TCP')
    assert URI.parse('msrp://u@h:1/abc;tcp') == URI.parse('msrp://h:1/abc;tcp')
    assert URI.parse('msrp://h:1/abc;tcp;a=b') == URI.parse('msrp://h:1/abc;tcp')
    assert URI.parse('msrp://h:1/abc;tcp') != URI.parse('msrp://h:1/ABC;tcp')
    assert URI.parse('msrp://h:1/abc;tcp') != URI.parse('msrps://h:1/abc;tcp')
    assert URI.parse('msrp://h:1/abc;tcp') != URI.parse('msrp://h:2/abc;tcp')
    # An explicit port never equals an absent one.
    assert URI.parse('msrp://h/abc;tcp') != URI.parse('msrp://h:2855/abc;tcp')
    assert URI.parse('msrp://h:1/abc;tcp') != 'msrp://h:1/abc;tcp'
    built = URI(host='H', port=1, session_id='abc', use_tls=False)
    assert built == URI.parse('msrp://h:1/abc;tcp')


def test_hash_agrees_with_equality():
    a = URI.parse('msrp://HOST:1/a;TCP')
    b = URI.parse('msrp://u@host:1/a;tcp;x=y')
    assert hash(a) == hash(b)
    assert len({a, b, URI.parse('msrp://host:1/b;tcp')}) == 2


def test_invalid_fields_are_caught_by_validate():
    with pytest.raises(ParsingError):
        URI(host='bad host', session_id='s').validate()
    with pytest.raises(ParsingError):
        URI(host='h', session_id='a b').validate()
