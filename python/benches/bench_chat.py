"""`make bench`, Python part: msgwire.chat.MSRPChat messages per second on
one session over TCP on 127.0.0.1, CPIM-wrapped beside plain.

Each run starts two chats, sends MESSAGES 100-byte text messages from
alice and stops the clock when bob's observer has seen every
MSRPChatGotMessage and alice's every MSRPChatDidDeliverMessage. "Plain"
runs give bob accept_types=['text/plain'] (no CPIM); "wrapped" runs use
the defaults. Runs alternate; medians and their ratio are printed, never
asserted. Target: wrapped >= 0.8 of plain.
"""

import statistics
import threading
import time

from msgwire.chat import MSRPChat

MESSAGES = 5000
RUNS = 3
ALICE = 'sip:alice@example.com'
BOB = 'sip:bob@example.com'


class Counter(object):
    def __init__(self, name):
        self.name = name
        self.count = 0
        self.done = threading.Event()

    def __call__(self, notification):
        if notification.name == self.name:
            self.count += 1
            if self.count == MESSAGES:
                self.done.set()


def run_once(cpim):
    alice = MSRPChat(ALICE, BOB, True, local_address='127.0.0.1')
    kwargs = {} if cpim else {'accept_types': ['text/plain']}
    bob = MSRPChat(BOB, ALICE, False, local_address='127.0.0.1', **kwargs)
    received = Counter('MSRPChatGotMessage')
    reported = Counter('MSRPChatDidDeliverMessage')
    bob.add_observer(received)
    alice.add_observer(reported)
    a_media = alice.initialize()
    b_media = bob.initialize()
    t = threading.Thread(target=bob.start, args=(a_media,))
    t.start()
    alice.start(b_media)
    t.join()
    body = 'x' * 100
    start = time.perf_counter()
    for _ in range(MESSAGES):
        alice.send_message(body)
    ok = received.done.wait(60) and reported.done.wait(60)
    elapsed = time.perf_counter() - start
    alice.end()
    bob.end()
    if not ok:
        raise SystemExit('messages or reports lost')
    return MESSAGES / elapsed


def main():
    plain, wrapped = [], []
    for _ in range(RUNS):
        plain.append(run_once(False))
        wrapped.append(run_once(True))
    p, w = statistics.median(plain), statistics.median(wrapped)
    print('msgwire.chat benchmark (MSRPChat, TCP on 127.0.0.1, {} x 100-byte messages, medians of {})'
          .format(MESSAGES, RUNS))
    print('  plain text/plain messages        {:>10.0f} msg/s'.format(p))
    print('  CPIM-wrapped messages            {:>10.0f} msg/s   (ratio wrapped/plain {:.2f}, target >= 0.80)'
          .format(w, w / p))


if __name__ == '__main__':
    main()
