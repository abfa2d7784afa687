"""MSRPChat: instant messaging over one MSRP session, with the API of the
msrplib wiki's high-level ``MSRPChat`` (python-sipsimple).

    >>> from msgwire.chat import MSRPChat
    >>> alice = MSRPChat('sip:alice@example.com', 'sip:bob@example.com', outgoing=True,
    ...                  local_address='127.0.0.1')
    >>> media = alice.initialize()          # an msgwire.sdp.MSRPMedia to offer
    >>> media.accept_types
    ['message/cpim', 'text/*', 'application/im-iscomposing+xml']
    >>> alice.end()

The identities stand in for the legacy account and remote URI: SIP URIs
(``'sip:alice@example.com'``) or name-addresses (``'Alice
<sip:alice@example.com>'``) as strings. They are the CPIM ``From`` and the
default ``To`` of wrapped messages.

TLS: ``credentials`` (an :class:`msrplib.tls.X509Credentials`, as msrplib's
``URI(use_tls=True, credentials=...)`` takes for sessions) makes a direct
chat use ``msrps``: its media says ``TCP/TLS/MSRP`` with an ``msrps://``
path, it listens presenting the credentials' ``cert`` and ``key`` (needed
by a chat that listens: an incoming one) and connects trusting their
``trusted`` CAs (or any certificate with ``verify_peer=False``; needed by
a chat that connects: an outgoing one). A chat lacking the half it needs
fails ``initialize()`` (or ``start()``) with :class:`MSRPChatError`.
Without ``credentials`` the media is ``TCP/MSRP`` with ``msrp://`` paths.
A relay's TLS is its ``MSRPRelaySettings``' own.

Refusals: an incoming Message/CPIM message whose payload type is in
neither ``accept_wrapped_types`` nor ``accept_types`` is answered 415 (the
sender gets ``MSRPChatDidNotDeliverMessage`` with code 415) and never
posted; NICKNAME requests are answered 501. CPIM ``DateTime`` is written
with at most microseconds (``dt``'s microseconds are kept), as
``datetime.isoformat()`` does, with ``Z`` for UTC.

Who connects: the outgoing chat (the SDP offerer) connects and says
``a=setup:active``; the incoming chat listens on ``local_address`` and says
``a=setup:passive``. An incoming chat whose peer says ``a=setup:passive``
connects instead; an outgoing chat whose peer says ``a=setup:active`` fails
with context ``'sdp_negotiation'``. With ``relay`` (an
:class:`msrplib.connect.MSRPRelaySettings`) the outgoing chat sends the bind
request through the relay and the incoming one waits for it.

``initialize()`` and ``start()`` block until done (an incoming chat's
``start`` waits for its peer to connect, so call it on its own thread when
both chats live in one program); ``end()`` blocks until the session is
closed. Notifications are delivered on one thread per chat, in order, to
each observer added with :meth:`MSRPChat.add_observer` as
``fn(notification)`` with ``notification.name``, ``.sender`` (the chat) and
``.data``. When the python-application package is importable they are also
posted to its ``NotificationCenter()`` with the chat as sender and a
``NotificationData`` of the same fields.

Notifications and their data: ``MSRPChatDidInitialize`` (``sdpmedia``),
``MSRPChatDidStart``, ``MSRPChatWillEnd``, ``MSRPChatDidEnd``,
``MSRPChatDidFail`` (``context``: ``'initialize'``, ``'sdp_negotiation'``,
``'start'`` or ``'reading'``; ``reason``; ``failure``, an
:class:`MSRPChatError`), ``MSRPChatGotMessage`` (``content``: ``str`` for
``text/*`` in UTF-8 or a charset the core knows, else ``bytes``;
``content_type``; ``cpim_headers``: header names as written, ``From``,
``To``, ``DateTime``, ``Prefix.Name``..., to their values as written, the
first of repeated headers, empty without CPIM; ``message``: the received
SEND as ``msrplib.protocol.MSRPData``), ``MSRPChatDidDeliverMessage`` and
``MSRPChatDidNotDeliverMessage`` (``message_id``, ``code``, ``reason``,
``message``: the REPORT or response), ``MSRPChatGotComposingIndication``
(``state``, ``refresh``, ``last_active`` as a ``datetime`` or None,
``content_type``).
"""

import atexit
import datetime
import threading
import weakref

from msgwire import _native

__all__ = ['MSRPChat', 'MSRPChatError', 'Notification', 'NotificationData']

DEFAULT_ACCEPT_TYPES = ('message/cpim', 'text/*', 'application/im-iscomposing+xml')

# How often the notification thread checks that its chat still exists.
_POLL = 0.5

# Notification threads are daemons (a chat that is never ended must not keep
# the program alive), but a daemon thread still waiting inside the native
# module when the interpreter finalizes is killed in a way Rust frames do
# not survive: at exit they are told to stop and joined first.
_stopping = threading.Event()
_threads = weakref.WeakSet()


@atexit.register
def _stop_notification_threads():
    _stopping.set()
    for thread in list(_threads):
        thread.join(_POLL * 4)


class MSRPChatError(Exception):
    """A chat call cannot be done: the peer accepts neither CPIM nor the
    type, a private message without CPIM, a call in the wrong state, a
    connection failure, or a chat that has ended."""


class NotificationData(object):
    """The fields of a notification, as attributes."""

    def __init__(self, **fields):
        self.__dict__.update(fields)

    def __repr__(self):
        return '{}({})'.format(type(self).__name__,
                               ', '.join('{}={!r}'.format(k, v) for k, v in sorted(self.__dict__.items())))

    def __eq__(self, other):
        return isinstance(other, NotificationData) and self.__dict__ == other.__dict__

    def __ne__(self, other):
        return not self == other

    __hash__ = None


class Notification(object):
    """One notification: ``name``, ``sender`` and ``data``."""

    __slots__ = ('name', 'sender', 'data')

    def __init__(self, name, sender, data):
        self.name = name
        self.sender = sender
        self.data = data

    def __repr__(self):
        return 'Notification({!r}, {!r})'.format(self.name, self.data)


def _rfc3339(value):
    if value is None:
        return None
    if isinstance(value, datetime.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=datetime.timezone.utc)
        return value.isoformat()
    return str(value)


def _datetime(text):
    if text is None:
        return None
    if text.endswith(('Z', 'z')):
        text = text[:-1] + '+00:00'
    try:
        return datetime.datetime.fromisoformat(text)
    except ValueError:
        return text


def _notification_center():
    """python-application's default NotificationCenter and NotificationData
    classes, or None when the package is not importable."""
    try:
        from application.notification import NotificationCenter, NotificationData as AppData
    except ImportError:
        return None
    return NotificationCenter, AppData


class MSRPChat(object):
    """One chat (see the module documentation)."""

    def __init__(self, local_identity, remote_identity, outgoing, relay=None,
                 accept_types=list(DEFAULT_ACCEPT_TYPES), accept_wrapped_types=['*'],
                 local_address=None, credentials=None):
        self.local_identity = str(local_identity)
        self.remote_identity = str(remote_identity)
        self.outgoing = bool(outgoing)
        self.relay = relay
        self.accept_types = list(accept_types)
        self.accept_wrapped_types = list(accept_wrapped_types)
        self.local_address = local_address
        self.credentials = credentials
        self.local_media = None
        # Looked up once: a failed import is not cached by Python, and
        # trying it again for every notification cost more than the rest
        # of the notification path together.
        self._center = _notification_center()
        relay_parts = relay_tls = None
        if relay is not None:
            relay_parts = (relay.domain, relay.username, relay.password, relay.host,
                           int(relay.port) if relay.port else None, bool(relay.use_tls))
            if relay.use_tls:
                from msrplib import tls
                relay_tls = tls._as_credentials(relay.credentials)._client_config()
        tls_server = tls_client = None
        if credentials is not None:
            from msrplib import tls
            creds = tls._as_credentials(credentials)
            if creds.cert is not None and creds.key is not None:
                tls_server = creds._server_config()
            if creds.trusted or not creds.verify_peer:
                tls_client = creds._client_config()
        self._native = _native.Chat(self.local_identity, self.remote_identity, self.outgoing,
                                    self.accept_types, self.accept_wrapped_types,
                                    local_address, relay_parts, relay_tls,
                                    credentials is not None, tls_server, tls_client)
        self._observers = []
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=_deliver, args=(self._native, weakref.ref(self)),
                                        name='msgwire-chat-notifications', daemon=True)
        _threads.add(self._thread)
        self._thread.start()

    def __repr__(self):
        return '<{} {} -> {} outgoing={}>'.format(type(self).__name__, self.local_identity,
                                                  self.remote_identity, self.outgoing)

    def add_observer(self, observer):
        """Calls ``observer(notification)`` for every notification from now on."""
        with self._lock:
            self._observers = self._observers + [observer]

    def remove_observer(self, observer):
        """Stops calling ``observer``; unknown observers are ignored."""
        with self._lock:
            self._observers = [o for o in self._observers if o is not observer and o != observer]

    def initialize(self):
        """Prepares the connection; posts ``MSRPChatDidInitialize`` and
        returns the local :class:`msgwire.sdp.MSRPMedia`."""
        from msgwire.sdp import MSRPMedia
        self.local_media = MSRPMedia.parse(self._native.initialize())
        return self.local_media

    def start(self, remote_media):
        """Completes the connection with the peer's ``MSRPMedia`` (or its SDP
        text), posts ``MSRPChatDidStart`` and sends the queued messages."""
        text = remote_media if isinstance(remote_media, str) else remote_media.encode()
        self._native.start(text)

    def end(self):
        """Posts ``MSRPChatWillEnd``, closes, posts ``MSRPChatDidEnd``."""
        self._native.end()

    def send_message(self, content, content_type='text/plain', to_uri=None, dt=None):
        """Sends a message, in CPIM when the peer accepts it (From the local
        identity, To ``to_uri`` or the remote identity, DateTime ``dt`` or
        now), else plainly; queued before :meth:`start`. Returns the chunk
        (``MSRPData``; its ``message_id`` identifies the message)."""
        return self._native.send_message(content, content_type,
                                         None if to_uri is None else str(to_uri), _rfc3339(dt))

    def send_composing_indication(self, state, refresh=None, last_active=None):
        """Sends an is-composing indication (RFC 3994): ``state`` is
        ``'active'`` or ``'idle'``, ``refresh`` seconds, ``last_active`` a
        ``datetime``. Returns the chunk."""
        return self._native.send_composing_indication(
            str(state), None if refresh is None else int(refresh), _rfc3339(last_active))

    # ----- notifications -----

    def _post(self, name, fields):
        if name == 'MSRPChatDidInitialize':
            from msgwire.sdp import MSRPMedia
            fields['sdpmedia'] = MSRPMedia.parse(fields['sdpmedia'])
        elif name == 'MSRPChatDidFail':
            fields['failure'] = MSRPChatError(fields['failure'])
        elif name == 'MSRPChatGotComposingIndication':
            fields['last_active'] = _datetime(fields['last_active'])
        notification = Notification(name, self, NotificationData(**fields))
        for observer in self._observers:
            observer(notification)
        if self._center is not None:
            center_class, data_class = self._center
            center_class().post_notification(name, sender=self, data=data_class(**fields))


def _deliver(native, chat_ref):
    """The notification thread: reads the chat's events in order and posts
    them until ``MSRPChatDidEnd`` or until the chat is gone."""
    while not _stopping.is_set():
        try:
            event = native.next_event(_POLL)
        except EOFError:
            return
        if event is None:
            if chat_ref() is None:
                return
            continue
        chat = chat_ref()
        if chat is None:
            return
        name, fields = event
        try:
            chat._post(name, fields)
        except Exception:
            import logging
            logging.getLogger('msgwire.chat').exception('an observer of %s failed', name)
        if name == 'MSRPChatDidEnd':
            return
        del chat
