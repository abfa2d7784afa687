"""`make bench`, Python part: ministreaming through ``msgwire.ministream``.

Two TCP managers on 127.0.0.1 in this process (every blocking call releases
the GIL, so the reading and writing threads run side by side):

(a) one stream's bulk throughput: 256 MiB sent with ``sendall`` in 1 MiB
    pieces and read with ``recv(1 MiB)`` to the end; and a plain Python
    ``socket`` copy of the same bytes. Before each Python run the Rust
    benchmark runs its figure (a) once (``MSGWIRE_BENCH_ONE_A``, through
    ``$CARGO``, default ``cargo``), so each Python figure has a Rust one
    measured moments before on the same machine; printed: medians of 5,
    the median of the paired Python/Rust ratios (target >= 0.8) and of the
    paired ratios to the plain socket copy;
(b) 1,000 streams opened with ``open`` (not waiting for each ACK, as the
    Rust benchmark does), used for 1 KiB and closed, while other threads
    accept and read each to its end: streams per second, median of 3, and
    the ratio to the Rust figure (b) (``ministream_b``); and the same with
    ``connect``, which waits for each ACK (one round trip per stream).

Printed only, never asserted.
"""

import os
import queue
import socket
import statistics
import subprocess
import threading
import time

from msgwire.ministream import SocketManager

TOTAL = 256 << 20
PIECE = 1 << 20
STREAMS = 1000
PER_STREAM = 1024
RUNS = 3
RUNS_A = 5
MB = 1e6


def drain(sock_recv):
    n = 0
    while True:
        chunk = sock_recv(PIECE)
        if not chunk:
            return n
        n += len(chunk)


def bulk(a, b, listener, block):
    result = {}

    def read():
        s = listener.accept()
        result['n'] = drain(s.recv)
        result['end'] = time.perf_counter()
        s.close()
    t = threading.Thread(target=read)
    t.start()
    start = time.perf_counter()
    s = a.connect(b.destination)
    for _ in range(TOTAL // PIECE):
        s.sendall(block)
    s.close()
    t.join()
    assert result['n'] == TOTAL
    return TOTAL / (result['end'] - start)


def raw_copy(block):
    lsock = socket.socket()
    lsock.bind(('127.0.0.1', 0))
    lsock.listen(1)
    result = {}

    def read():
        conn, _ = lsock.accept()
        result['n'] = drain(conn.recv)
        result['end'] = time.perf_counter()
        conn.close()
    t = threading.Thread(target=read)
    t.start()
    start = time.perf_counter()
    c = socket.create_connection(lsock.getsockname())
    c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    for _ in range(TOTAL // PIECE):
        c.sendall(block)
    c.close()
    t.join()
    lsock.close()
    assert result['n'] == TOTAL
    return TOTAL / (result['end'] - start)


def many(a, b, listener, wait_for_ack):
    accepted = queue.Queue()
    result = {}

    def acceptor():
        for _ in range(STREAMS):
            accepted.put(listener.accept())

    def reader():
        for _ in range(STREAMS):
            s = accepted.get()
            n = 0
            while True:
                chunk = s.recv(4096)
                if not chunk:
                    break
                n += len(chunk)
            assert n == PER_STREAM
            s.close()
        result['end'] = time.perf_counter()
    threads = [threading.Thread(target=acceptor), threading.Thread(target=reader)]
    for t in threads:
        t.start()
    data = b'\x42' * PER_STREAM
    start = time.perf_counter()
    for _ in range(STREAMS):
        s = a.connect(b.destination) if wait_for_ack else a.open(b.destination)
        s.sendall(data)
        s.close()
    for t in threads:
        t.join()
    return STREAMS / (result['end'] - start)


def rust_run_a():
    """One run of the Rust benchmark's figure (a), in bytes/s (``None``
    when cargo is not at hand)."""
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    env = dict(os.environ, MSGWIRE_BENCH_ONE_A='1')
    try:
        out = subprocess.run([os.environ.get('CARGO', 'cargo'), 'bench', '-q', '-p', 'msgwire',
                              '--bench', 'ministream'], cwd=root, env=env, check=True,
                             stdout=subprocess.PIPE, timeout=600).stdout
        return float(out.split()[-1])
    except (OSError, subprocess.SubprocessError, ValueError, IndexError):
        return None


def rust_figure(name):
    directory = os.environ.get('MSGWIRE_BENCH_DIR')
    if not directory:
        return None
    try:
        with open(os.path.join(directory, name)) as f:
            return float(f.read().strip())
    except (OSError, ValueError):
        return None


def main():
    a = SocketManager.listen()
    b = SocketManager.listen()
    listener = b.server_socket()
    block = b'\x5a' * PIECE
    py_a, raw_a, rust_a, to_rust, to_raw = [], [], [], [], []
    for _ in range(RUNS_A):
        r = rust_run_a()
        m = bulk(a, b, listener, block)
        c = raw_copy(block)
        py_a.append(m)
        raw_a.append(c)
        to_raw.append(m / c)
        if r is not None:
            rust_a.append(r)
            to_rust.append(m / r)
    ms = statistics.median(py_a)
    raw = statistics.median(raw_a)
    rate = statistics.median(many(a, b, listener, False) for _ in range(RUNS))
    rate_connect = statistics.median(many(a, b, listener, True) for _ in range(RUNS))
    a.close()
    b.close()
    print('ministream benchmark, Python (two TCP managers on 127.0.0.1, medians of %d, '
          '(a) of %d)' % (RUNS, RUNS_A))
    print('  (a) one stream, 256 MiB          %10.0f MB/s' % (ms / MB))
    print('      plain Python socket copy     %10.0f MB/s   (paired ratio %.2f)'
          % (raw / MB, statistics.median(to_raw)))
    if to_rust:
        print('      Rust (a) in the same pairs   %10.0f MB/s   (paired ratio %.2f, target >= 0.8)'
              % (statistics.median(rust_a) / MB, statistics.median(to_rust)))
    else:
        print('      Rust (a): cargo not found, no ratio')
    print('  (b) 1,000 streams of 1 KiB       %10.0f streams/s' % rate)
    rust_b = rust_figure('ministream_b')
    if rust_b:
        print('      ratio to Rust (b)            %10.2f' % (rate / rust_b))
    print('      with connect (waits for ACK) %10.0f streams/s' % rate_connect)


if __name__ == '__main__':
    main()
