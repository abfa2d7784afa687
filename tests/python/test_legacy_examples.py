"""Programs in the style of python3-msrplib's two hello examples run on msrplib.

The legacy package ships two tiny programs, one accepting and one
connecting, that bind a session with ``URI()`` defaults and trade a text
message through ``GreenMSRPSession``. The programs below are our own,
written against the same legacy API calls in the same order (acceptor or
connector with a ``Logger``, ``prepare``, ``complete``, ``send_message``,
``receive_chunk``, ``shutdown``), so existing code of that shape is known
to run unchanged.

They bind with ``URI()`` defaults: the host is the default-route address
and the port is the class attribute ``ConnectInfo.port`` (2855). So that
the test never needs port 2855 to be free, a small bootstrap sets that
class attribute to a free port, the way a legacy application could, and
then runs the program file as ``__main__``.
"""

import os
import socket
import subprocess
import sys
import threading
import time

import pytest

from msrplib.protocol import URI

pytestmark = pytest.mark.timeout(90)

HELLO_ACCEPT = '''\
# The passive end: waits for the client, says hello, prints the reply.
from msrplib.connect import DirectAcceptor
from msrplib.protocol import URI
from msrplib.session import GreenMSRPSession
from msrplib.trafficlog import Logger

log = Logger()
acceptor = DirectAcceptor(logger=log)
acceptor.prepare(URI(session_id='server', use_tls=False))
transport = acceptor.complete([URI(session_id='client', use_tls=False)])
chat = GreenMSRPSession(transport)
chat.send_message('hello', 'text/plain')
log.info('received: %s', chat.receive_chunk().data)
chat.shutdown()
'''

HELLO_CONNECT = '''\
# The active end: connects to the server, says hi, prints the reply.
from msrplib.connect import DirectConnector
from msrplib.protocol import URI
from msrplib.session import GreenMSRPSession
from msrplib.trafficlog import Logger

log = Logger()
connector = DirectConnector(logger=log)
connector.prepare(URI(session_id='client', use_tls=False))
transport = connector.complete([URI(session_id='server', use_tls=False)])
chat = GreenMSRPSession(transport)
chat.send_message('hi', 'text/plain')
log.info('received: %s', chat.receive_chunk().data)
chat.shutdown()
'''

# argv: port, example file. Changes the default port the legacy way (a
# class attribute; URI inherits it) and runs the file as the main program.
BOOTSTRAP = '''\
import runpy, sys
import msrplib.protocol
msrplib.protocol.ConnectInfo.port = int(sys.argv[1])
path = sys.argv[2]
sys.argv = [path]
runpy.run_path(path, run_name='__main__')
'''

STARTUP_TIMEOUT = 20
RUN_TIMEOUT = 40


def free_port(host):
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


class Program(object):
    """A running example; its output (stdout and stderr) is collected by a thread."""

    def __init__(self, path, port):
        self.lines = []
        self.changed = threading.Condition()
        self.process = subprocess.Popen(
            [sys.executable, '-c', BOOTSTRAP, str(port), path], cwd=os.path.dirname(path),
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for raw in self.process.stdout:
            with self.changed:
                self.lines.append(raw.decode('utf-8', 'replace').rstrip('\n'))
                self.changed.notify_all()
        with self.changed:
            self.lines.append(None)  # end of output
            self.changed.notify_all()

    @property
    def output(self):
        return '\n'.join(line for line in self.lines if line is not None)

    def wait_for_line(self, text, timeout):
        deadline = time.monotonic() + timeout
        with self.changed:
            while not any(line is not None and text in line for line in self.lines):
                remaining = deadline - time.monotonic()
                if None in self.lines or remaining <= 0:
                    return False
                self.changed.wait(remaining)
            return True

    def finish(self, timeout):
        try:
            code = self.process.wait(timeout)
        finally:
            self.kill()
        return code

    def kill(self):
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(5)
        self.reader.join(5)
        self.process.stdout.close()


def test_legacy_hello_examples(tmp_path):
    host = URI(use_tls=False).host   # the default-route address both examples use
    port = free_port(host)
    paths = {}
    for name, text in (('hello_accept.py', HELLO_ACCEPT), ('hello_connect.py', HELLO_CONNECT)):
        paths[name] = str(tmp_path / name)
        with open(paths[name], 'w', encoding='utf-8') as f:
            f.write(text)

    acceptor = Program(paths['hello_accept.py'], port)
    connector = None
    try:
        # The acceptor logs (INFO, through its Logger) once it listens.
        assert acceptor.wait_for_line('Listening for incoming MSRP connections on {}:{}'.format(host, port),
                                      STARTUP_TIMEOUT), 'acceptor did not start:\n' + acceptor.output
        connector = Program(paths['hello_connect.py'], port)
        connector_code = connector.finish(RUN_TIMEOUT)
        acceptor_code = acceptor.finish(RUN_TIMEOUT)
    finally:
        acceptor.kill()
        if connector is not None:
            connector.kill()

    report = '--- acceptor:\n{}\n--- connector:\n{}'.format(acceptor.output, connector.output)
    assert (acceptor_code, connector_code) == (0, 0), report
    assert "received: b'hi'" in acceptor.output, report
    assert "received: b'hello'" in connector.output, report
    assert 'Traceback' not in report, report
