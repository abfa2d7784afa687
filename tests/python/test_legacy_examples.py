"""The two example programs shipped with python3-msrplib run unchanged on msrplib.

The programs below are the legacy ``examples/hello_accept.py`` and
``examples/hello_connect.py``, kept here as data because they are the API
contract. The one line removed from each is the import of Twisted's
reactor, which only selected an event-loop hub for the legacy library's
green threads and has no meaning here; nothing else was changed.

They bind with ``URI()`` defaults: the host is the default-route address
and the port is the class attribute ``ConnectInfo.port`` (2855). So that
the test never needs port 2855 to be free, a small bootstrap sets that
class attribute to a free port, the way a legacy application could, and
then runs the example file as ``__main__``.
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
# Copyright (C) 2008-2009 AG Projects. See LICENSE for details.
#

from msrplib.connect import DirectAcceptor
from msrplib.protocol import URI
from msrplib.trafficlog import Logger
from msrplib.session import GreenMSRPSession


logger = Logger()
local_uri = URI(session_id='server', use_tls=False)
remote_uri = URI(session_id='client', use_tls=False)
connector = DirectAcceptor(logger=logger)
connector.prepare(local_uri)
transport = connector.complete([remote_uri])
session = GreenMSRPSession(transport)

session.send_message('hello', 'text/plain')
logger.info('received: %s', session.receive_chunk().data)
session.shutdown()
'''

HELLO_CONNECT = '''\
# Copyright (C) 2008-2009 AG Projects. See LICENSE for details.
#

from msrplib.connect import DirectConnector
from msrplib.protocol import URI
from msrplib.trafficlog import Logger
from msrplib.session import GreenMSRPSession


logger = Logger()
local_uri = URI(session_id='client', use_tls=False)
remote_uri = URI(session_id='server', use_tls=False)
connector = DirectConnector(logger=logger)
connector.prepare(local_uri)
transport = connector.complete([remote_uri])
session = GreenMSRPSession(transport)

session.send_message('hi', 'text/plain')
logger.info('received: %s', session.receive_chunk().data)
session.shutdown()
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
