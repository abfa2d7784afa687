"""File transfer over loopback: OutgoingFile / send_file / cancel_file,
whole-message delivery, file sinks, resume, interleaving and limits."""

import gc
import hashlib
import io
import os
import threading
import time

import pytest

from msrplib.protocol import MSRPHeader
from msrplib.session import (LocalResponse, MessageAborted, MessageStored, MSRPSession, MSRPSessionError,
                             OutgoingFile)
from msrplib.transport import MSRPTransactionError

from test_endpoints import bind_pair

pytestmark = pytest.mark.timeout(120)

MiB = 1 << 20


class Events(object):
    """Records incoming chunks, message events and the close, in order."""

    def __init__(self):
        self.log = []
        self.changed = threading.Condition()

    def _add(self, item):
        with self.changed:
            self.log.append(item)
            self.changed.notify_all()

    def incoming(self, chunk=None, error=None):
        self._add(('closed', error) if error is not None else ('chunk', chunk))

    def message_event(self, event):
        self._add(('event', event))

    def wait_for(self, predicate, timeout=60):
        with self.changed:
            assert self.changed.wait_for(lambda: any(predicate(i) for i in self.log), timeout), self.log
            return next(i for i in self.log if predicate(i))

    def chunks(self):
        return [c for kind, c in self.log if kind == 'chunk']


class Outcome(object):
    """on_progress / on_done of one OutgoingFile."""

    def __init__(self):
        self.progress = []
        self.done = threading.Event()
        self.error = 'not called'

    def on_progress(self, acknowledged, total):
        self.progress.append((acknowledged, total))

    def on_done(self, error):
        assert not self.done.is_set(), 'on_done called twice'
        self.error = error
        self.done.set()

    def wait(self, timeout=90):
        assert self.done.wait(timeout), 'on_done not called'
        return self.error


def outgoing(fileobj, size, outcome, **kwargs):
    return OutgoingFile(fileobj, size, on_progress=outcome.on_progress, on_done=outcome.on_done, **kwargs)


def make_file(path, size):
    with open(path, 'wb') as f:
        left = size
        while left:
            f.write(os.urandom(min(left, MiB)))
            left -= min(left, MiB)
    return path


def sha256_of(path):
    digest = hashlib.sha256()
    with open(path, 'rb') as f:
        for block in iter(lambda: f.read(MiB), b''):
            digest.update(block)
    return digest.hexdigest()


@pytest.fixture
def pair():
    made = []

    def start(receiver_options=None, sender_options=None):
        a, b = bind_pair()
        rx = Events()
        sender_events = Events()
        sender = MSRPSession(a, on_incoming_cb=sender_events.incoming, **(sender_options or {}))
        receiver = MSRPSession(b, on_incoming_cb=rx.incoming, on_message_event=rx.message_event,
                               **(receiver_options or {}))
        made.extend([sender, receiver])
        return sender, receiver, rx

    yield start
    for session in made:
        session.shutdown(wait=True)


def sink_into(tmp_path, opened):
    def file_sink(message_id, content_type, total):
        if content_type == 'text/plain':
            return None  # chat: kept in memory, delivered to on_incoming_cb
        f = open(str(tmp_path / 'received-{}'.format(len(opened))), 'wb')
        opened.append((message_id, content_type, total, f))
        return f
    return file_sink


def test_outgoing_file_attributes():
    f = io.BytesIO(b'abc')
    of = OutgoingFile(f, 3, 'text/plain', position=1, message_id='m1')
    assert (of.fileobj, of.size, of.position, of.message_id) == (f, 3, 1, 'm1')
    assert list(of.headers) == ['Content-Type']
    assert of.headers['Content-Type'].encoded == 'text/plain'
    assert OutgoingFile(f, 3).headers == {}


def test_50mib_file_into_file_sink(tmp_path, pair):
    size = 50 * MiB
    src = make_file(str(tmp_path / 'src.bin'), size)
    opened = []
    sender, receiver, rx = pair({'deliver_whole_messages': True, 'max_message_size': 1 << 30,
                                 'file_sink': sink_into(tmp_path, opened)})
    outcome = Outcome()
    with open(src, 'rb') as f:
        of = outgoing(f, size, outcome, content_type='application/octet-stream', message_id='file-1')
        of.headers['Success-Report'] = MSRPHeader('Success-Report', 'yes')
        number = sender.send_file(of)
        assert isinstance(number, int)
        assert outcome.wait() is None
        # The file's own position is left alone by the native reader.
        assert f.tell() == 0
    assert outcome.progress, 'no progress reported'
    acked = [a for a, _ in outcome.progress]
    assert acked == sorted(acked) and acked[-1] == size
    assert all(total == size for _, total in outcome.progress)
    _, stored = rx.wait_for(lambda i: i[0] == 'event')
    assert isinstance(stored, MessageStored)
    assert (stored.message_id, stored.content_type, stored.size) == ('file-1', 'application/octet-stream', size)
    assert stored.head.byte_range == (1, size, size)
    assert [(m, c, t) for m, c, t, _ in opened] == [('file-1', 'application/octet-stream', size)]
    assert opened[0][3].closed
    assert sha256_of(str(tmp_path / 'received-0')) == sha256_of(src)
    assert not rx.chunks()


def test_resume_from_position(tmp_path, pair):
    size = 1 * MiB + 12345
    src = make_file(str(tmp_path / 'src.bin'), size)
    position = 300000
    sender, receiver, rx = pair()
    outcome = Outcome()
    with open(src, 'rb') as f:
        f.seek(position)
        sender.send_file(outgoing(f, size, outcome, content_type='application/octet-stream', position=position))
        assert outcome.wait() is None
    assert outcome.progress[-1] == (size, size)
    assert outcome.progress[0][0] > position
    rx.wait_for(lambda i: i[0] == 'chunk' and i[1].contflag == '$')
    chunks = rx.chunks()
    assert chunks[0].byte_range[0] == position + 1
    assert all(c.byte_range[2] == size for c in chunks)
    with open(src, 'rb') as f:
        expected = f.read()[position:]
    assert b''.join(c.data for c in chunks) == expected


def test_cancel(tmp_path, pair):
    size = 50 * MiB
    src = make_file(str(tmp_path / 'src.bin'), size)
    opened = []
    sender, receiver, rx = pair({'deliver_whole_messages': True, 'max_message_size': 1 << 30,
                                 'file_sink': sink_into(tmp_path, opened)})
    outcome = Outcome()
    cancelled = []

    def on_progress(acknowledged, total):
        outcome.on_progress(acknowledged, total)
        if not cancelled:
            # From the dispatcher thread: cancel_file must not wait for it.
            cancelled.append(sender.cancel_file(of))

    with open(src, 'rb') as f:
        of = OutgoingFile(f, size, 'application/octet-stream', message_id='big', on_progress=on_progress, on_done=outcome.on_done)
        sender.send_file(of)
        error = outcome.wait()
    assert cancelled == [True], (error, outcome.progress, rx.log)
    assert isinstance(error, LocalResponse) and error.code == 487
    assert outcome.progress[-1][0] < size
    _, aborted = rx.wait_for(lambda i: i[0] == 'event')
    assert isinstance(aborted, MessageAborted)
    assert (aborted.message_id, aborted.reason) == ('big', 'sender')
    assert opened and opened[0][3].closed
    assert sender.cancel_file(of) is False


def transfer_threads():
    """Native transfer (pump) threads of this process, by their name."""
    names = []
    for task in os.listdir('/proc/self/task'):
        try:
            with open('/proc/self/task/{}/comm'.format(task)) as f:
                names.append(f.read().strip())
        except OSError:
            pass  # the thread ended meanwhile
    return sum(1 for n in names if n.startswith('msgwire-msrp-pu'))


@pytest.mark.skipif(not os.path.isdir('/proc/self/task'), reason='needs /proc')
def settled(check, within=1.0):
    # Thread names in /proc lag the threads themselves a little: a new
    # thread names itself after it starts, and a joined one can be listed
    # until the kernel has removed it.
    deadline = time.monotonic() + within
    while not check():
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.002)
    return True


def test_no_transfer_thread_outlives_shutdown(pair):
    # Sessions of earlier tests go now, not in the middle of the counting.
    gc.collect()
    gc.disable()
    try:
        before = transfer_threads()
        sender, receiver, rx = pair({'deliver_whole_messages': True})
        outcome = Outcome()
        data = b'x' * (4 * MiB)
        sender.send_file(outgoing(io.BytesIO(data), len(data), outcome, content_type='application/octet-stream'))
        # The new thread names itself once it runs.
        assert settled(lambda: transfer_threads() == before + 1)
        sender.shutdown(wait=True)
        # A program may exit right after shutdown: the thread is gone
        # (joined; the kernel may list a joined thread a moment longer).
        assert settled(lambda: transfer_threads() == before)
        assert outcome.wait() is None
    finally:
        gc.enable()


def test_chat_interleaved_with_transfer(tmp_path, pair):
    size = 50 * MiB
    src = make_file(str(tmp_path / 'src.bin'), size)
    opened = []
    sender, receiver, rx = pair({'deliver_whole_messages': True, 'max_message_size': 1 << 30,
                                 'file_sink': sink_into(tmp_path, opened)})
    outcome = Outcome()
    with open(src, 'rb') as f:
        sender.send_file(outgoing(f, size, outcome, content_type='application/octet-stream'))
        deadline = time.monotonic() + 30
        while not outcome.progress:
            assert time.monotonic() < deadline
            time.sleep(0.001)
        sender.send_message('hello while sending', 'text/plain')
        assert outcome.wait() is None
    rx.wait_for(lambda i: i[0] == 'event')
    kinds = [(kind, getattr(v, 'content_type', None)) for kind, v in rx.log]
    assert kinds.index(('chunk', 'text/plain')) < kinds.index(('event', 'application/octet-stream'))
    chat = rx.chunks()[0]
    assert chat.data in ('hello while sending', b'hello while sending')
    assert sha256_of(str(tmp_path / 'received-0')) == sha256_of(src)


def test_413_over_max_message_size(pair):
    sender, receiver, rx = pair({'deliver_whole_messages': True, 'max_message_size': MiB})
    outcome = Outcome()
    data = os.urandom(2 * MiB)
    sender.send_file(outgoing(io.BytesIO(data), len(data), outcome, content_type='text/plain', message_id='too-big'))
    error = outcome.wait()
    assert isinstance(error, MSRPTransactionError) and not isinstance(error, LocalResponse)
    assert error.code == 413
    _, aborted = rx.wait_for(lambda i: i[0] == 'event')
    assert (aborted.message_id, aborted.reason) == ('too-big', 'too_large')
    assert not rx.chunks()


def test_python_object_source_whole_message_in_memory(pair):
    sender, receiver, rx = pair({'deliver_whole_messages': True})
    outcome = Outcome()
    data = os.urandom(3 * MiB + 7)
    source = io.BytesIO(data)
    sender.send_file(outgoing(source, len(data), outcome, content_type='image/png'))
    # The pump thread takes the GIL to read the source while it holds the
    # session: reading the state with the GIL must not deadlock.
    while not outcome.done.is_set():
        assert sender.state == 'CONNECTED' and receiver.state == 'CONNECTED'
    assert outcome.wait() is None
    _, chunk = rx.wait_for(lambda i: i[0] == 'chunk')
    assert chunk.content_type == 'image/png'
    assert chunk.byte_range == (1, len(data), len(data))
    assert bytes(chunk.data) == data
    assert source.tell() == len(data)
    assert len(rx.chunks()) == 1


def test_python_source_read_error_fails_the_transfer(pair):
    class Broken(object):
        def read(self, n):
            raise OSError('disk on fire')

    sender, receiver, rx = pair({'deliver_whole_messages': True})
    outcome = Outcome()
    sender.send_file(outgoing(Broken(), 1000, outcome, content_type='text/plain'))
    error = outcome.wait()
    assert isinstance(error, LocalResponse) and error.code == 500


def test_several_files_queued_and_send_after_shutdown(pair):
    sender, receiver, rx = pair({'deliver_whole_messages': True})
    outcomes = [Outcome() for _ in range(3)]
    bodies = [os.urandom(200000 + i) for i in range(3)]
    for i, (body, outcome) in enumerate(zip(bodies, outcomes)):
        sender.send_file(outgoing(io.BytesIO(body), len(body), outcome, content_type='text/plain', message_id='f{}'.format(i)))
    for outcome in outcomes:
        assert outcome.wait() is None
    for i in range(3):
        _, chunk = rx.wait_for(lambda item, i=i: item[0] == 'chunk' and item[1].message_id == 'f{}'.format(i))
        assert bytes(chunk.data) == bodies[i]
    sender.shutdown(wait=True)
    with pytest.raises(MSRPSessionError):
        sender.send_file(OutgoingFile(io.BytesIO(b'x'), 1))


def test_out_of_order_chunks_reassembled():
    a, b = bind_pair()
    rx = Events()
    receiver = MSRPSession(b, on_incoming_cb=rx.incoming, deliver_whole_messages=True)
    try:
        body = b'abcdefghijklmnopqrstuvwxyz'
        pieces = [(11, 20, '+'), (1, 10, '+'), (21, 26, '$')]
        for start, end, flag in pieces:
            chunk = a.make_chunk(data=body[start - 1:end], start=start, end=end, length=len(body),
                                 message_id='ooo', contflag=flag)
            chunk.add_header(MSRPHeader('Content-Type', 'text/plain'))
            a.write_chunk(chunk)
        for _ in pieces:
            response = a.read_chunk(timeout=10)
            assert response.code == 200
        _, chunk = rx.wait_for(lambda i: i[0] == 'chunk')
        assert chunk.message_id == 'ooo'
        assert chunk.byte_range == (1, len(body), len(body))
        assert chunk.data in (body, body.decode())
        assert len(rx.chunks()) == 1
    finally:
        a.loseConnection(wait=False)
        receiver.shutdown(wait=True)


def test_a_seventeenth_incomplete_message_pushes_out_the_first():
    a, b = bind_pair()
    rx = Events()
    receiver = MSRPSession(b, on_incoming_cb=rx.incoming, on_message_event=rx.message_event,
                           deliver_whole_messages=True)
    try:
        def part(message_id, start, data, flag):
            chunk = a.make_chunk(data=data, start=start, end=start + len(data) - 1, length=4,
                                 message_id=message_id, contflag=flag)
            chunk.add_header(MSRPHeader('Content-Type', 'text/plain'))
            a.write_chunk(chunk)
            return a.read_chunk(timeout=10)

        for i in range(17):
            assert part('crowd{:02d}'.format(i), 1, b'ab', '+').code == 200
        _, aborted = rx.wait_for(lambda i: i[0] == 'event')
        assert isinstance(aborted, MessageAborted)
        assert (aborted.message_id, aborted.reason) == ('crowd00', 'crowded')
        # Its rest is refused; the others complete.
        response = part('crowd00', 3, b'cd', '$')
        assert (response.code, response.comment) == (413, 'Too many incomplete messages')
        assert part('crowd16', 3, b'cd', '$').code == 200
        _, chunk = rx.wait_for(lambda i: i[0] == 'chunk')
        assert chunk.message_id == 'crowd16'
        assert chunk.data in (b'abcd', 'abcd')
        assert len(rx.chunks()) == 1
    finally:
        a.loseConnection(wait=False)
        receiver.shutdown(wait=True)


class SmallWindow(MSRPSession):
    SEND_WINDOW = 256 * 1024


def test_send_window_waits_for_200s():
    a, b = bind_pair()
    sender = SmallWindow(a, on_incoming_cb=lambda chunk=None, error=None: None)
    outcome = Outcome()
    data = os.urandom(1 * MiB)
    try:
        sender.send_file(outgoing(io.BytesIO(data), len(data), outcome, content_type='application/octet-stream'))
        # Nobody answers: four 64 KiB chunks fill the 256 KiB window.
        unanswered = [b.read_chunk(timeout=10) for _ in range(4)]
        everything = list(unanswered)
        assert [c.byte_range[0] for c in unanswered] == [1, 65537, 131073, 196609]
        with pytest.raises(TimeoutError):
            b.read_chunk(timeout=0.5)
        # One 200 lets one more chunk go.
        b.write_response(unanswered.pop(0), 200, 'OK')
        fifth = b.read_chunk(timeout=10)
        assert fifth.byte_range[0] == 262145
        unanswered.append(fifth)
        everything.append(fifth)
        while unanswered:
            b.write_response(unanswered.pop(0), 200, 'OK')
            if everything[-1].contflag != '$':
                more = b.read_chunk(timeout=10)
                unanswered.append(more)
                everything.append(more)
        assert outcome.wait() is None
        assert len(everything) == 16
        assert b''.join(bytes(c.data) for c in everything) == data
    finally:
        b.loseConnection(wait=False)
        sender.shutdown(wait=True)


def test_receiving_options_need_whole_messages():
    a, b = bind_pair()
    try:
        with pytest.raises(ValueError):
            MSRPSession(b, on_incoming_cb=lambda *args, **kwargs: None, max_message_size=10)
        with pytest.raises(TypeError):
            MSRPSession(b, on_incoming_cb=lambda *args, **kwargs: None, deliver_whole_messages=True,
                        file_sink=42)
    finally:
        a.loseConnection(wait=False)
        b.loseConnection(wait=False)


class MemorySink(object):
    """A writable, seekable object without a file descriptor: written
    through its Python methods (not the native fast path)."""

    def __init__(self):
        self.buffer = io.BytesIO()
        self.closed = False
        self.writes = 0

    def seek(self, offset, whence=0):
        return self.buffer.seek(offset, whence)

    def write(self, data):
        self.writes += 1
        return self.buffer.write(data)

    def flush(self):
        pass

    def close(self):
        self.closed = True


def test_python_object_sink(pair):
    data = os.urandom(3 * MiB + 123)
    sinks = []

    def file_sink(message_id, content_type, total):
        sinks.append(MemorySink())
        return sinks[-1]

    sender, receiver, rx = pair({'deliver_whole_messages': True, 'file_sink': file_sink})
    outcome = Outcome()
    sender.send_file(outgoing(io.BytesIO(data), len(data), outcome, content_type='application/x-test'))
    assert outcome.wait() is None
    _, stored = rx.wait_for(lambda i: i[0] == 'event')
    assert isinstance(stored, MessageStored) and stored.size == len(data)
    assert len(sinks) == 1 and sinks[0].closed and sinks[0].writes > 1
    assert sinks[0].buffer.getvalue() == data
