"""`make bench`, Python part: ministreaming through ``msgwire.ministream``.

Two TCP managers on 127.0.0.1 in this process (every blocking call releases
the GIL, so the reading and writing threads run side by side):

(a) one stream's bulk throughput: 256 MiB sent with ``sendall`` in 1 MiB
    pieces and read with ``recv(1 MiB)`` to the end; and a plain Python
    ``socket`` copy of the same bytes; medians of 3, and the ratio to the
    Rust figure (a) of the same ``make bench`` run
    (``$MSGWIRE_BENCH_DIR/ministream_a``), target >= 0.8;
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
import threading
import time

from msgwire.ministream import SocketManager

TOTAL = 256 << 20
PIECE = 1 << 20
STREAMS = 1000
PER_STREAM = 1024
RUNS = 3
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
    ms = statistics.median(bulk(a, b, listener, block) for _ in range(RUNS))
    raw = statistics.median(raw_copy(block) for _ in range(RUNS))
    rate = statistics.median(many(a, b, listener, False) for _ in range(RUNS))
    rate_connect = statistics.median(many(a, b, listener, True) for _ in range(RUNS))
    a.close()
    b.close()
    print('ministream benchmark, Python (two TCP managers on 127.0.0.1, medians of %d)' % RUNS)
    print('  (a) one stream, 256 MiB          %10.0f MB/s' % (ms / MB))
    print('      plain Python socket copy     %10.0f MB/s   (ratio %.2f)' % (raw / MB, ms / raw))
    rust_a = rust_figure('ministream_a')
    if rust_a:
        print('      ratio to Rust (a)            %10.2f        (target >= 0.8)' % (ms / rust_a))
    print('  (b) 1,000 streams of 1 KiB       %10.0f streams/s' % rate)
    rust_b = rust_figure('ministream_b')
    if rust_b:
        print('      ratio to Rust (b)            %10.2f' % (rate / rust_b))
    print('      with connect (waits for ACK) %10.0f streams/s' % rate_connect)


if __name__ == '__main__':
    main()
