"""Connection set-up (python-sts's ``sts.inetmgr``).

``connect(socket, conn_type, program, build)`` wraps ``socket`` in an
``inetsocket.Socket``, sends the ``/Sts/Connect`` notification and returns
the ``Socket``. The notification's body is
``<Connect><ConnType>..</ConnType><Program>..</Program><Build>..</Build>
<Process>pid</Process><ProductType>1000</ProductType><AppIndex>1</AppIndex>
<Address>local ip</Address></Connect>`` plus the XML LF, without a Subject:
no reply is awaited. Text is escaped (``& < > " '``); unlike python-sts,
non-ASCII characters are sent as UTF-8 rather than ``&#NNN;`` references,
and ``"``/``'`` are escaped too (python-sts left them as they were).
"""

from sts import inetsocket

__all__ = ['connect']


def connect(socket, conn_type, program, build):
    """Starts an STS connection over ``socket`` and announces it."""
    s = inetsocket.Socket(socket)
    address = socket.getsockname()[0]
    s._native_client().announce(str(conn_type), str(program), str(build), str(address))
    return s
