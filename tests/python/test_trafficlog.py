"""msrplib.trafficlog: the legacy Logger on Python logging, null loggers, and
traffic logging while sessions send and receive."""

import logging
import re
import subprocess
import sys
import threading

import pytest

from msrplib.connect import DirectAcceptor, DirectConnector
from msrplib.protocol import URI, MSRPData, SuccessReportHeader
from msrplib.session import GreenMSRPSession, MSRPSession
from msrplib.trafficlog import Logger, NullLogger
from msrplib.transport import MSRPTransport

pytestmark = pytest.mark.timeout(30)


def local(session_id):
    return URI(host='127.0.0.1', port=0, use_tls=False, session_id=session_id)


def bind_pair(client_logger, server_logger):
    """(client transport, server transport) over loopback, each connector
    given its logger."""
    acceptor = DirectAcceptor(logger=server_logger)
    server_path = acceptor.prepare(local('server'))
    connector = DirectConnector(logger=client_logger)
    client_path = connector.prepare(local('client'))
    result = {}

    def accept():
        try:
            result['server'] = acceptor.complete(client_path)
        except Exception as exc:
            result['error'] = exc

    t = threading.Thread(target=accept)
    t.start()
    try:
        client = connector.complete(server_path)
    finally:
        t.join(10)
        acceptor.cleanup()
    if 'error' in result:
        raise result['error']
    return client, result['server']


def traffic_messages(caplog):
    return [r.getMessage() for r in caplog.records if r.name == 'msrplib' and '\n\n' in r.getMessage()]


def sample_chunk(data=b'hello \xe2\x82\xac'):
    t = MSRPTransport(URI(host='alice.example', port=7654, session_id='a1', use_tls=False))
    t._set_full_remote_path([URI(host='bob.example', port=8888, session_id='b2', use_tls=False)])
    chunk = t.make_send_request(message_id='m1', data=data)
    return chunk, t


# ------------------------------------------------------------ level methods

def test_level_methods_write_through_logging(caplog):
    caplog.set_level(logging.DEBUG, logger='msrplib')
    logger = Logger(prefix='[s1] ')
    assert logger.logger is logging.getLogger('msrplib')
    logger.debug('d %s', 1)
    logger.info('i %s', 2)
    logger.warning('w')
    logger.warn('w2')
    logger.error('e')
    logger.critical('c')
    logger.fatal('f')
    logger.log(logging.INFO, 'l %d', 3)
    got = [(r.levelno, r.getMessage()) for r in caplog.records if r.name == 'msrplib']
    assert got == [(logging.DEBUG, '[s1] d 1'), (logging.INFO, '[s1] i 2'), (logging.WARNING, '[s1] w'),
                   (logging.WARNING, '[s1] w2'), (logging.ERROR, '[s1] e'), (logging.CRITICAL, '[s1] c'),
                   (logging.CRITICAL, '[s1] f'), (logging.INFO, '[s1] l 3')]
    # The record points at the caller, not at msrplib.trafficlog.
    assert all(r.filename == 'test_trafficlog.py' for r in caplog.records if r.name == 'msrplib')


def test_exception_carries_traceback(caplog):
    caplog.set_level(logging.DEBUG, logger='msrplib')
    try:
        raise KeyError('boom')
    except KeyError:
        Logger().exception('failed: %s', 'x')
    Logger().exception(exc_info=ValueError('given'))
    records = [r for r in caplog.records if r.name == 'msrplib']
    assert records[0].levelno == logging.ERROR and records[0].getMessage() == 'failed: x'
    assert records[0].exc_info[0] is KeyError
    assert records[1].getMessage() == ''
    assert records[1].exc_info[0] is ValueError


def test_levels_follow_logging_configuration(caplog):
    caplog.set_level(logging.WARNING, logger='msrplib')
    logger = Logger()
    logger.info('hidden')
    logger.warning('shown')
    assert [r.getMessage() for r in caplog.records if r.name == 'msrplib'] == ['shown']


# ------------------------------------------------------------ traffic methods

def test_traffic_off_by_default(caplog):
    caplog.set_level(logging.DEBUG, logger='msrplib')
    chunk, transport = sample_chunk()
    logger = Logger()
    logger.sent_chunk(chunk, transport)
    logger.received_chunk(chunk, transport)
    logger.received_illegal_data(b'junk', transport)
    logger.sent_new_chunk('MSRP x SEND\r\n', transport, chunk)
    assert traffic_messages(caplog) == []


def test_sent_chunk_with_bytes_body_does_not_raise(caplog):
    # The python3 legacy logger raised TypeError here (str headers + bytes body).
    caplog.set_level(logging.INFO, logger='msrplib')
    chunk, transport = sample_chunk()
    logger = Logger(prefix='p: ', log_traffic=True)
    logger.sent_chunk(chunk, transport)
    logger.received_chunk(chunk, transport)
    text_chunk, _ = sample_chunk('plain text')
    logger.sent_chunk(text_chunk, transport)
    sent, received, sent_text = traffic_messages(caplog)
    assert sent.startswith('p: ')
    assert ' --> ' in sent and ' <-- ' in received
    assert 'To-Path: msrp://bob.example:8888/b2;tcp' in sent
    assert 'hello \u20ac' in sent and sent.rstrip().endswith('$')
    assert 'plain text' in sent_text


def test_illegal_data_and_fine_grained_hooks(caplog):
    caplog.set_level(logging.INFO, logger='msrplib')
    chunk, transport = sample_chunk()
    logger = Logger(log_traffic=True)
    logger.received_illegal_data(b'\xffgarbage\r\n', transport)
    logger.received_new_chunk(chunk.encoded_header, transport, chunk)
    logger.received_chunk_data(b'hello', transport, chunk.transaction_id)
    logger.received_chunk_end(chunk.encoded_footer, transport, chunk.transaction_id)
    logger.sent_new_chunk(chunk.encode_start(), transport, chunk)
    logger.sent_chunk_data('hello', transport, chunk.transaction_id)
    logger.sent_chunk_end(chunk.encode_end(), transport, chunk.transaction_id)
    messages = traffic_messages(caplog)
    assert len(messages) == 7
    assert messages[0].startswith('[Bad Message] ') and 'garbage' in messages[0]
    assert all(' <-- ' in m for m in messages[1:4]) and all(' --> ' in m for m in messages[4:])


def test_odd_arguments_never_raise(caplog):
    caplog.set_level(logging.INFO, logger='msrplib')

    class Broken(object):
        @property
        def encoded_header(self):
            raise RuntimeError('no header')

        def getPeer(self):
            raise OSError('gone')

    logger = Logger(log_traffic=True)
    logger.sent_chunk(Broken(), Broken())
    logger.received_chunk(MSRPData('t1', code=200, comment='OK'), None)
    logger.received_illegal_data(None, object())
    assert len(traffic_messages(caplog)) == 3


# ------------------------------------------------------------ null loggers

def test_null_logger_and_none(caplog):
    caplog.set_level(logging.DEBUG, logger='msrplib')
    chunk, transport = sample_chunk()
    null = NullLogger(log_traffic=True)
    assert null.log_traffic is False
    for name in ('debug', 'info', 'warning', 'warn', 'error', 'critical', 'fatal'):
        getattr(null, name)('nothing %s', 1)
    null.exception()
    null.sent_chunk(chunk, transport)
    null.received_chunk(chunk, transport)
    assert [r for r in caplog.records if r.name == 'msrplib'] == []

    assert isinstance(MSRPTransport(local('x'), None).logger, Logger)
    assert isinstance(DirectConnector(logger=None).logger, NullLogger)
    assert isinstance(DirectAcceptor().logger, NullLogger)


def test_connector_logger_reaches_transport_and_session(caplog):
    caplog.set_level(logging.INFO, logger='msrplib')
    client_logger, server_logger = Logger(prefix='client: '), Logger(prefix='server: ')
    client_t, server_t = bind_pair(client_logger, server_logger)
    assert client_t.logger is client_logger and server_t.logger is server_logger
    server = GreenMSRPSession(server_t)
    client = GreenMSRPSession(client_t)
    assert client.logger is client_logger
    other = NullLogger()
    client.logger = other
    assert client.msrp.logger is other and client.logger is other
    client.logger = None
    client.send_message('with no logger', 'text/plain')
    assert server.receive_chunk(timeout=5).data == b'with no logger'
    client.shutdown()
    server.shutdown()
    messages = [r.getMessage() for r in caplog.records if r.name == 'msrplib']
    assert any(m.startswith('server: Listening for incoming MSRP connections on 127.0.0.1:') for m in messages)
    assert any(m.startswith('client: Connecting to msrp://127.0.0.1:') for m in messages)


# ------------------------------------------------------------ sessions with traffic logging

def test_session_traffic_logged_without_errors(caplog):
    caplog.set_level(logging.INFO, logger='msrplib')
    client_t, server_t = bind_pair(Logger(prefix='C ', log_traffic=True), Logger(prefix='S ', log_traffic=True))
    server = GreenMSRPSession(server_t)
    client = MSRPSession(client_t, on_incoming_cb=lambda chunk=None, error=None: None)

    client.send_message(b'\x00binary\xff', 'application/octet-stream')
    chunk = client.make_message('delivered', 'text/plain')
    chunk.add_header(SuccessReportHeader('yes'))
    assert client.deliver_chunk(chunk).code == 200
    done = threading.Event()
    outcomes = []
    client.send_chunk(client.make_message('with callback', 'text/plain'),
                      lambda response: (outcomes.append(response), done.set()))
    assert done.wait(5) and outcomes[0].code == 200
    received = [server.receive_chunk(timeout=5).data for _ in range(3)]
    assert received == [b'\x00binary\xff', b'delivered', b'with callback']
    client.shutdown()
    server.shutdown()

    messages = traffic_messages(caplog)
    sent = [m for m in messages if m.startswith('C ') and ' --> ' in m]
    client_in = [m for m in messages if m.startswith('C ') and ' <-- ' in m]
    server_in = [m for m in messages if m.startswith('S ') and ' <-- ' in m]
    assert len(sent) == 3
    assert 'binary' in sent[0] and 'delivered' in sent[1] and 'with callback' in sent[2]
    assert sum('MSRP ' in m and ' 200 OK' in m for m in client_in) >= 2   # deliver + callback responses
    assert len([m for m in server_in if ' SEND\r\n' in m or ' SEND\n' in m]) == 3
    # What the core sends by itself is reported too: the server's three
    # automatic 200s and the success REPORT, which the client receives.
    server_out = [m for m in messages if m.startswith('S ') and ' --> ' in m]
    assert sum(re.search(r'MSRP \S+ 200 OK', m) is not None for m in server_out) == 3
    assert sum(re.search(r'MSRP \S+ REPORT', m) is not None for m in server_out) == 1
    assert sum(re.search(r'MSRP \S+ REPORT', m) is not None for m in client_in) == 1


def test_failing_duck_typed_logger_does_not_break_sessions():
    calls = []

    class Custom(object):
        def info(self, *args, **kw):
            calls.append('info')

        def sent_chunk(self, data, transport):
            calls.append(('sent', data.data))
            raise RuntimeError('logger bug')

        def received_chunk(self, data, transport):
            calls.append(('received', data.data))
            raise RuntimeError('logger bug')

    client_t, server_t = bind_pair(Custom(), Custom())
    server = GreenMSRPSession(server_t)
    client = GreenMSRPSession(client_t)
    client.send_message('one', 'text/plain')
    assert client.deliver_message('two', 'text/plain')
    assert [server.receive_chunk(timeout=5).data for _ in range(2)] == [b'one', b'two']
    client.shutdown()
    server.shutdown()
    # Chunks are reported as they went over the wire: bodies are bytes.
    assert ('sent', b'one') in calls and ('sent', b'two') in calls
    assert ('received', b'one') in calls and ('received', b'two') in calls
    assert 'info' in calls


# ------------------------------------------------------------ no logging configured

UNCONFIGURED = r'''
import logging, sys
from msrplib.trafficlog import Logger
logger = Logger(prefix='x: ')
logger.debug('not shown')
logger.info('shown %s', 1)
logger.warning('warned')
logging.getLogger('msrplib').setLevel(logging.ERROR)
logger.warning('below the level set')
logging.getLogger('msrplib').setLevel(logging.NOTSET)
logging.basicConfig(level=logging.WARNING, format='app %(message)s', stream=sys.stderr)
logger.info('hidden now')
logger.error('once')
'''


def test_info_visible_while_logging_is_unconfigured():
    result = subprocess.run([sys.executable, '-c', UNCONFIGURED], capture_output=True, timeout=20,
                            stdin=subprocess.DEVNULL)
    assert result.returncode == 0, result.stderr
    assert result.stdout == b''
    lines = result.stderr.decode().splitlines()
    assert lines == ['INFO     [msrplib] x: shown 1', 'WARNING  [msrplib] x: warned', 'app x: once']
