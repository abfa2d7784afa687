"""`make bench`, Python part 2: a 1 GiB file through msrplib on 127.0.0.1.

The sender queues an ``OutgoingFile`` over a real file; the receiver uses
whole-message delivery into a ``file_sink`` returning a real file (both are
read and written natively through duplicated descriptors, without the GIL).
This is the work of figure (a) of the Rust msrp_transfer bench: before
each Python run the Rust bench runs (a) once over the same file
(``MSGWIRE_BENCH_ONE_A``), and the ratio printed is the median of the
pairs' ratios. Median of 5 runs, MB/s (1 MB = 10^6 bytes). Printed only,
never asserted.
"""

import os
import statistics
import subprocess
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
        rates, rust, ratios = [], [], []
        for _ in range(RUNS):
            # Each Python run right after a Rust run of the same work on
            # the same file: the ratio of each pair is steadier on a
            # shared machine than the ratio of two medians.
            r = rust_run(source)
            rate = run_once(source, directory)
            rates.append(rate)
            if r is not None:
                rust.append(r)
                ratios.append(rate / r)
    print('msrplib (Python) transfer benchmark (1 GiB file, TCP on 127.0.0.1, median of %d)' % RUNS)
    line = '  (c) send_file, file -> file_sink     %8.0f MB/s' % statistics.median(rates)
    if ratios:
        line += ('   (Rust (a) in the same pairs %.0f MB/s; ratio %.2f, median of paired runs; '
                 'target >= 0.90)' % (statistics.median(rust), statistics.median(ratios)))
    print(line)


def rust_run(source):
    """One run of the Rust bench's figure (a) over ``source``, in MB/s
    (``None`` when cargo is not at hand)."""
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    env = dict(os.environ, MSGWIRE_BENCH_ONE_A=source)
    try:
        out = subprocess.run([os.environ.get('CARGO', 'cargo'), 'bench', '-q', '-p', 'msgwire',
                              '--bench', 'msrp_transfer'], cwd=root, env=env, check=True,
                             stdout=subprocess.PIPE, timeout=600).stdout
        return float(out.split()[-1]) / 1e6
    except (OSError, subprocess.SubprocessError, ValueError, IndexError):
        return None


if __name__ == '__main__':
    main()
