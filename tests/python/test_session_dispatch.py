"""Session callbacks run in batches on one dispatcher thread per session:
order, errors in callbacks, shutdown and the end of the threads."""

import gc
import os
import subprocess
import sys
import threading
import time

import pytest

from msgwire import _native
from msrplib.protocol import FailureReportHeader, MSRPData
from msrplib.session import LocalResponse, MSRPSession, MSRPSessionError
from msrplib.transport import ConnectionDone

from test_endpoints import bind_pair

pytestmark = pytest.mark.timeout(60)


def dispatcher_threads():
    """How many session dispatcher threads this process has (by name)."""
    count = 0
    for tid in os.listdir('/proc/self/task'):
        try:
            with open('/proc/self/task/{}/comm'.format(tid)) as f:
                count += f.read().strip() == 'msgwire-py-disp'
        except OSError:
            pass
    return count


def wait_until(predicate, timeout=20):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, 'timed out'
        time.sleep(0.01)


class Recorder(object):
    """An on_incoming_cb recording chunks, the close error and the threads it ran on."""

    def __init__(self):
        self.chunks = []
        self.errors = []
        self.threads = set()
        self.closed = threading.Event()

    def __call__(self, chunk=None, error=None):
        self.threads.add(threading.get_ident())
        if error is not None:
            self.errors.append(error)
            self.closed.set()
        else:
            assert not self.errors, 'a chunk after the close'
            self.chunks.append(chunk)


def test_order_is_kept_under_load():
    a, b = bind_pair()
    before = dispatcher_threads()
    alice_in, bob_in = Recorder(), Recorder()
    alice = MSRPSession(a, on_incoming_cb=alice_in, automatic_reports=False)
    bob = MSRPSession(b, on_incoming_cb=bob_in, automatic_reports=False)
    wait_until(lambda: dispatcher_threads() == before + 2)  # named once they run
    count = 3000
    responses = []
    response_threads = set()
    window = threading.BoundedSemaphore(100)

    def on_response(i):
        def callback(response):
            response_threads.add(threading.get_ident())
            responses.append((i, response.code))
            window.release()
        return callback

    sent = []
    for i in range(count):
        window.acquire()
        chunk = alice.make_message(str(i).encode(), 'text/plain')
        sent.append(chunk.message_id)
        alice.send_chunk(chunk, on_response(i))
        if i % 500 == 0:
            bob.send_chunk(bob.make_message(b'back', 'text/plain'))
    wait_until(lambda: len(responses) == count and len(bob_in.chunks) == count)
    assert responses == [(i, 200) for i in range(count)]
    assert [c.message_id for c in bob_in.chunks] == sent
    assert [c.data for c in bob_in.chunks] == [str(i).encode() for i in range(count)]
    wait_until(lambda: len(alice_in.chunks) == count // 500)
    # One thread per session, none of them this one.
    assert len(bob_in.threads) == 1 and len(alice_in.threads) == 1
    assert response_threads == alice_in.threads
    assert threading.get_ident() not in bob_in.threads | alice_in.threads
    assert bob_in.threads != alice_in.threads
    alice.shutdown()
    bob.shutdown()
    # The close comes last, and shutdown(wait=True) returns after it.
    assert isinstance(alice_in.errors[0], ConnectionDone) and isinstance(bob_in.errors[0], ConnectionDone)
    assert len(alice_in.errors) == len(bob_in.errors) == 1
    assert dispatcher_threads() == before


def test_a_callback_that_raises_does_not_stop_the_session(monkeypatch):
    reported = []
    monkeypatch.setattr(sys, 'unraisablehook', lambda info: reported.append(info))
    a, b = bind_pair()
    seen = []

    def flaky(chunk=None, error=None):
        if chunk is not None:
            seen.append(chunk.data)
            if chunk.data.startswith(b'bad'):
                raise ValueError('callback failed on ' + chunk.data.decode())

    alice = MSRPSession(a, on_incoming_cb=lambda chunk=None, error=None: None)
    bob = MSRPSession(b, on_incoming_cb=flaky)
    outcomes = []

    def failing_response(response):
        outcomes.append(response.code)
        raise RuntimeError('response callback failed')

    for i in range(20):
        data = b'bad %d' % i if i % 3 == 0 else b'good %d' % i
        alice.send_chunk(alice.make_message(data, 'text/plain'), failing_response)
    assert alice.deliver_chunk(alice.make_message(b'last', 'text/plain')).code == 200
    wait_until(lambda: len(seen) == 21 and len(outcomes) == 20)
    assert seen[-1] == b'last'
    assert outcomes == [200] * 20
    alice.shutdown()
    bob.shutdown()
    assert sorted(type(info.exc_value).__name__ for info in reported) == ['RuntimeError'] * 20 + ['ValueError'] * 7
    assert all(info.object is not None for info in reported)


def test_local_responses_and_failure_report_no():
    a, b = bind_pair()

    class Slow(MSRPSession):
        RESPONSE_TIMEOUT = 0.2

    # The peer never answers: its transport is not driven by a session.
    alice = Slow(a, on_incoming_cb=lambda chunk=None, error=None: None)
    outcomes = []
    done = threading.Event()
    alice.send_chunk(alice.make_message(b'x', 'text/plain'), lambda r: (outcomes.append(r), done.set()))
    quiet = alice.make_message(b'y', 'text/plain')
    quiet.add_header(FailureReportHeader('no'))
    alice.send_chunk(quiet, lambda r: outcomes.append(r))
    assert done.wait(10)
    assert isinstance(outcomes[0], LocalResponse) and outcomes[0].code == 408
    b.loseConnection()
    alice.shutdown()
    assert len(outcomes) == 1


def test_session_dropped_inside_its_own_callback():
    """The last reference to a session goes away on its dispatcher thread
    (when the callback holding it is released after the close)."""
    a, b = bind_pair()
    before = dispatcher_threads()
    closed = threading.Event()
    holder = {}

    def on_incoming(chunk=None, error=None):
        if error is not None:
            holder.clear()
            closed.set()

    holder['bob'] = MSRPSession(b, on_incoming_cb=on_incoming)
    alice = MSRPSession(a, on_incoming_cb=lambda chunk=None, error=None: None)
    assert alice.deliver_chunk(alice.make_message(b'hi', 'text/plain')).code == 200
    alice.shutdown()
    assert closed.wait(10)
    gc.collect()
    wait_until(lambda: dispatcher_threads() <= before)


def test_native_session_dropped_while_connected():
    """A session object dropped without shutdown aborts its connection and
    stops its dispatcher (no close event follows)."""
    a, b = bind_pair()
    before = dispatcher_threads()
    events = []
    native = _native.Session.start(a._take_bound(), lambda *event: events.append(event), ['*'], False, 30.0,
                                   None)
    peer = []
    bob = MSRPSession(b, on_incoming_cb=lambda chunk=None, error=None: peer.append(error))
    wait_until(lambda: dispatcher_threads() == before + 2)
    bob.send_chunk(bob.make_message(b'hi', 'text/plain'))
    wait_until(lambda: events)
    assert events[0][0] == 'incoming' and isinstance(events[0][1], MSRPData)
    del native
    gc.collect()
    # Its dispatcher was joined; bob's ends once the close reached it.
    assert dispatcher_threads() <= before + 1
    wait_until(lambda: peer and peer[-1] is not None)
    bob.shutdown()
    assert dispatcher_threads() == before
    assert [e[0] for e in events] == ['incoming']


def test_callbacks_may_send_and_shut_down_without_waiting():
    a, b = bind_pair()
    echoed = []
    got_all = threading.Event()

    class Echo(object):
        session = None

        def __call__(self, chunk=None, error=None):
            if chunk is not None and chunk.method == 'SEND':
                self.session.send_chunk(self.session.make_message(chunk.data, 'text/plain'))
                if chunk.data == b'stop':
                    self.session.shutdown(wait=False)

    def on_alice(chunk=None, error=None):
        if chunk is not None:
            echoed.append(chunk.data)
        elif error is not None:
            got_all.set()

    echo = Echo()
    echo.session = MSRPSession(b, on_incoming_cb=echo)
    alice = MSRPSession(a, on_incoming_cb=on_alice)
    for i in range(50):
        alice.send_chunk(alice.make_message(b'%d' % i, 'text/plain'))
    alice.send_chunk(alice.make_message(b'stop', 'text/plain'))
    assert got_all.wait(20)
    assert echoed == [b'%d' % i for i in range(50)] + [b'stop']
    with pytest.raises(MSRPSessionError) as info:
        alice.send_chunk(alice.make_message(b'late', 'text/plain'))
    assert str(info.value) == 'Cannot send chunk because MSRPSession is DONE'
    alice.shutdown()
    echo.session.shutdown()


def test_chunks_of_any_shape_can_be_sent():
    """Sessions read MSRPData objects whose headers were never read, were
    read and changed, and objects of subclasses."""
    a, b = bind_pair()
    bob_in = Recorder()
    alice = MSRPSession(a, on_incoming_cb=lambda chunk=None, error=None: None)
    bob = MSRPSession(b, on_incoming_cb=bob_in)

    class Tagged(MSRPData):
        @property
        def contflag(self):
            return '$'

        @contflag.setter
        def contflag(self, value):
            pass

    untouched = alice.make_message(b'one', 'text/plain')
    changed = alice.make_message('two', 'text/plain')
    changed.add_header(FailureReportHeader('no'))
    tagged = Tagged(changed.transaction_id + 'x', method='SEND', headers=changed.headers.copy(), data=b'three')
    assert alice.deliver_chunk(untouched).code == 200
    assert alice.deliver_chunk(changed) is None
    assert alice.deliver_chunk(tagged) is None
    wait_until(lambda: len(bob_in.chunks) == 3)
    assert [c.data for c in bob_in.chunks] == [b'one', b'two', b'three']
    assert bob_in.chunks[1].failure_report == 'no'
    alice.shutdown()
    bob.shutdown()


EXIT_WITH_BUSY_CALLBACKS = r'''
import threading
from msrplib.connect import DirectAcceptor, DirectConnector
from msrplib.protocol import URI
from msrplib.session import MSRPSession
acceptor = DirectAcceptor()
server_path = acceptor.prepare(URI(host='127.0.0.1', port=0, use_tls=False, session_id='s'))
connector = DirectConnector()
client_path = connector.prepare(URI(host='127.0.0.1', use_tls=False, session_id='c'))
out = {}
t = threading.Thread(target=lambda: out.setdefault('b', acceptor.complete(client_path)))
t.start()
a = connector.complete(server_path)
t.join()

def busy(chunk=None, error=None):
    sum(range(5000))

alice = MSRPSession(a, on_incoming_cb=busy)
bob = MSRPSession(out['b'], on_incoming_cb=busy)
for _ in range(1000):
    bob.send_chunk(bob.make_message(b'x' * 100, 'text/plain'), busy)
    alice.send_chunk(alice.make_message(b'y' * 100, 'text/plain'), busy)
print('exiting with busy callbacks')
'''


def test_interpreter_exit_while_callbacks_run():
    """Dispatchers in the middle of callbacks when the interpreter exits
    stop before it finalizes (no abort, no panic)."""
    for _ in range(3):
        proc = subprocess.run([sys.executable, '-c', EXIT_WITH_BUSY_CALLBACKS], capture_output=True, text=True,
                              timeout=60)
        assert 'exiting with busy callbacks' in proc.stdout
        assert 'panicked' not in proc.stderr, proc.stderr
        assert proc.returncode == 0, proc.stderr
