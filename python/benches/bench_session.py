"""`make bench`, Python part: one msrplib session over TCP on 127.0.0.1.

100,000 chat SENDs of 100 bytes through the legacy-compatible msrplib API
(MSRPSession.send_chunk with a response callback), at most 64 outstanding,
median of 3 runs; and the time of one bind (prepare + complete, both sides).
Printed only, never asserted.
"""

import statistics
import threading
import time

from msrplib.connect import DirectAcceptor, DirectConnector
from msrplib.protocol import URI
from msrplib.session import MSRPSession

MESSAGES = 100000
WINDOW = 64


def bind_pair():
    acceptor = DirectAcceptor()
    server_path = acceptor.prepare(URI(host='127.0.0.1', port=0, use_tls=False, session_id='bench-b'))
    connector = DirectConnector()
    client_path = connector.prepare(URI(host='127.0.0.1', use_tls=False, session_id='bench-a'))
    out = {}
    t = threading.Thread(target=lambda: out.setdefault('b', acceptor.complete(client_path)))
    t.start()
    a = connector.complete(server_path)
    t.join()
    return a, out['b']


class Quiet(MSRPSession):
    KEEPALIVE_INTERVAL = 0


def run_once():
    a, b = bind_pair()
    window = threading.BoundedSemaphore(WINDOW)
    failures = []

    def on_response(response):
        if getattr(response, 'code', None) != 200:
            failures.append(response)
        window.release()

    alice = Quiet(a, on_incoming_cb=lambda chunk=None, error=None: None, automatic_reports=False)
    bob = Quiet(b, on_incoming_cb=lambda chunk=None, error=None: None, automatic_reports=False)
    body = b'x' * 100
    start = time.perf_counter()
    for _ in range(MESSAGES):
        window.acquire()
        alice.send_chunk(alice.make_message(body, 'text/plain'), on_response)
    for _ in range(WINDOW):
        window.acquire()
    elapsed = time.perf_counter() - start
    alice.shutdown()
    bob.shutdown()
    if failures:
        raise SystemExit('failed responses: %r' % failures[:3])
    return MESSAGES / elapsed


def main():
    rates = [run_once() for _ in range(3)]
    binds = []
    for _ in range(50):
        t = time.perf_counter()
        a, b = bind_pair()
        binds.append((time.perf_counter() - t) * 1e3)
        a.loseConnection()
        b.loseConnection()
    print('msrplib (Python) session benchmark (TCP on 127.0.0.1, medians)')
    print('  100-byte SEND + 200, %d outstanding  %10.0f msg/s   (target >= 30,000)' % (WINDOW, statistics.median(rates)))
    print('  bind (prepare + complete)            %10.3f ms      (legacy ~1.6-2.3 ms)' % statistics.median(binds))


if __name__ == '__main__':
    main()
