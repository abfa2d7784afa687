"""`make bench`, Python part 2: a 1 GiB file through msrplib on 127.0.0.1.

The sender queues an ``OutgoingFile`` over a real file; the receiver uses
whole-message delivery into a ``file_sink`` returning a real file (both are
read and written natively through duplicated descriptors, without the GIL).
This is the work of figure (a) of the Rust msrp_transfer bench, run just
before by ``make bench``, which leaves its figure in
``$MSGWIRE_BENCH_DIR/msrp_transfer_a``: the ratio to it is printed when that
file is there. Median of 5 runs, MB/s (1 MB = 10^6 bytes). Printed only,
never asserted.
"""

import os
import statistics
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from bench_session import bind_pair  # noqa: E402
from msrplib.session import MSRPSession, OutgoingFile  # noqa: E402

SIZE = 1 << 30
RUNS = 5


class Quiet(MSRPSession):
    KEEPALIVE_INTERVAL = 0


def make_source(directory):
    path = os.path.join(directory, 'source.bin')
    block = os.urandom(1 << 20)
    with open(path, 'wb') as f:
        for _ in range(SIZE >> 20):
            f.write(block)
    return path


def run_once(source, directory):
    a, b = bind_pair()
    stored = threading.Event()
    target = os.path.join(directory, 'target.bin')

    def sink(message_id, content_type, total):
        return open(target, 'w+b')

    def on_event(event):
        stored.set()

    alice = Quiet(a, on_incoming_cb=lambda chunk=None, error=None: None)
    bob = Quiet(b, on_incoming_cb=lambda chunk=None, error=None: None, deliver_whole_messages=True,
                max_message_size=SIZE, file_sink=sink, on_message_event=on_event)
    done = threading.Event()
    errors = []
    with open(source, 'rb') as f:
        start = time.perf_counter()
        alice.send_file(OutgoingFile(f, SIZE, 'application/octet-stream',
                                     on_done=lambda error: (errors.append(error), done.set())))
        if not done.wait(300) or not stored.wait(300):
            raise SystemExit('transfer did not finish')
        elapsed = time.perf_counter() - start
    alice.shutdown()
    bob.shutdown()
    if errors[0] is not None:
        raise SystemExit('transfer failed: %r' % errors[0])
    if os.path.getsize(target) != SIZE:
        raise SystemExit('stored %d bytes' % os.path.getsize(target))
    os.remove(target)
    return SIZE / elapsed / 1e6


def main():
    with tempfile.TemporaryDirectory(prefix='msgwire-bench-') as directory:
        source = make_source(directory)
        rates = [run_once(source, directory) for _ in range(RUNS)]
    rate = statistics.median(rates)
    print('msrplib (Python) transfer benchmark (1 GiB file, TCP on 127.0.0.1, median of %d)' % RUNS)
    line = '  (c) send_file, file -> file_sink     %8.0f MB/s' % rate
    rust = rust_figure()
    if rust is not None:
        line += '   (ratio to Rust (a): %.2f, target >= 0.90)' % (rate / rust)
    print(line)


def rust_figure():
    """Figure (a) of the Rust bench in MB/s, if it ran in this `make bench`."""
    directory = os.environ.get('MSGWIRE_BENCH_DIR')
    if not directory:
        return None
    try:
        with open(os.path.join(directory, 'msrp_transfer_a')) as f:
            return float(f.read()) / 1e6
    except (OSError, ValueError):
        return None


if __name__ == '__main__':
    main()
