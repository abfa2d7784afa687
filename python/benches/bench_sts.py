"""`make bench`, Python part: STS request/reply round trips per second.

One ``sts.inetsocket.Socket`` on 127.0.0.1 against a ``msgwire.sts``
server in a child process (so the two sides do not share a GIL), 64
requests in flight through ``request_many`` iterators: the oldest one is
consumed (its single final reply, as ``request_one`` takes it), then a new
request starts. Median of 3 runs of 50,000 requests. Printed only, never
asserted (the target is >= 25,000/s).
"""

import multiprocessing
import os
import socket
import statistics
import sys
import time
from collections import deque

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

REQUESTS = 50000
WINDOW = 64
RUNS = 3


def serve(port_out, stop):
    from msgwire.sts import StsServer
    server = StsServer(port=0, idle_timeout=None)
    server.route('Bench', 'Echo', lambda request: request.responder.reply(request.body))
    port_out.send(server.port)
    stop.wait()
    server.shutdown()


def run_once(port):
    from sts import inetsocket
    from sts.ineterr import SUCCESS
    sock = socket.create_connection(('127.0.0.1', port))
    s = inetsocket.Socket(sock)
    body = b'<Ping n="1"/>'
    inflight = deque(s.request_many('Bench', 'Echo', body=body) for _ in range(WINDOW))
    started = WINDOW
    done = 0
    t0 = time.perf_counter()
    while inflight:
        err, msg = next(inflight.popleft())
        assert err.code == SUCCESS and msg is not None, err
        done += 1
        if started < REQUESTS:
            inflight.append(s.request_many('Bench', 'Echo', body=body))
            started += 1
    elapsed = time.perf_counter() - t0
    s.close()
    sock.close()
    return done / elapsed


def main():
    ctx = multiprocessing.get_context('spawn')
    recv, send = ctx.Pipe(duplex=False)
    stop = ctx.Event()
    child = ctx.Process(target=serve, args=(send, stop), daemon=True)
    child.start()
    port = recv.recv()
    try:
        rates = [run_once(port) for _ in range(RUNS)]
    finally:
        stop.set()
        child.join(10)
    print('sts request_one round trips, 1 connection, {} in flight: {:,.0f}/s '
          '(median of {}; target >= 25,000/s)'.format(WINDOW, statistics.median(rates), RUNS))


if __name__ == '__main__':
    main()
