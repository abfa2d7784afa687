"""NICKNAME (RFC 7701) between two msrplib sessions on loopback: the
request reaches the peer's callback, the application answers it, and the
malformed forms are refused with 400 by the session itself."""

import threading

import pytest

from msrplib.protocol import FailureReportHeader, UseNicknameHeader
from msrplib.session import GreenMSRPSession, MSRPSession
from msrplib.transport import MSRPTransactionError

from test_endpoints import bind_pair

pytestmark = pytest.mark.timeout(30)


class Moderator(object):
    """Answers NICKNAME requests: 200 for free names, 425 for taken ones."""

    def __init__(self, taken):
        self.taken = taken
        self.session = None
        self.seen = []
        self.ready = threading.Event()

    def __call__(self, chunk=None, error=None):
        self.ready.wait(10)
        if chunk is None or chunk.method != 'NICKNAME':
            return
        name = chunk.headers['Use-Nickname'].decoded
        self.seen.append(name)
        if name in self.taken:
            self.session.send_response(chunk, 425, 'Nickname reserved or already in use')
        else:
            self.session.send_response(chunk, 200, 'OK')


@pytest.fixture
def sessions():
    client, server = bind_pair()
    moderator = Moderator({'bob'})
    server_session = MSRPSession(server, on_incoming_cb=moderator)
    moderator.session = server_session
    moderator.ready.set()
    client_session = GreenMSRPSession(client)
    yield client_session, moderator
    client_session.shutdown()
    server_session.shutdown()


def nickname(session, name=None, extra=()):
    chunk = session.msrp.make_request('NICKNAME')
    if name is not None:
        chunk.add_header(UseNicknameHeader(name))
    for header in extra:
        chunk.add_header(header)
    return chunk


def test_nickname_round_trip(sessions):
    client, moderator = sessions
    response = client.deliver_chunk(nickname(client, 'alice'))
    assert response.code == 200 and response.method is None
    with pytest.raises(MSRPTransactionError) as info:
        client.deliver_chunk(nickname(client, 'bob'))
    assert info.value.code == 425
    assert moderator.seen == ['alice', 'bob']


def test_malformed_nickname_requests_get_400_without_reaching_the_app(sessions):
    client, moderator = sessions
    with pytest.raises(MSRPTransactionError) as info:
        client.deliver_chunk(nickname(client))
    assert info.value.code == 400
    with pytest.raises(MSRPTransactionError) as info:
        client.deliver_chunk(nickname(client, 'carol', [FailureReportHeader('yes')]))
    assert info.value.code == 400
    # A good one afterwards still works, and only it reached the callback.
    assert client.deliver_chunk(nickname(client, 'dave')).code == 200
    assert moderator.seen == ['dave']
