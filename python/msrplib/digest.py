"""HTTP digest helpers (RFC 2617, ``qop=auth``, MD5) with the names of the
legacy ``msrplib.digest`` module, for code that calls them directly.

msgwire's own relay client and relay do their digest work in the Rust core;
so do these helpers (the hashes and the challenger below are thin calls into
it). Keyword arguments are passed as in the legacy module::

    ha1 = calc_ha1(username="bob", realm="example.com", password="pw")
    response, rspauth = calc_responses(ha1=ha1, method="AUTH", uri=uri,
                                       nonce=nonce, nc="00000001",
                                       cnonce=cnonce)

:class:`AuthChallenger` issues nonces bound to the peer's IP address and
checks answers to them without remembering them (the legacy design: the
issue time and IP are inside the nonce, and the ``opaque`` value proves the
challenger made it). It raises :class:`LoginFailed` with the legacy
messages.

Differences from the legacy module:

* ``process_www_authenticate`` puts ``opaque`` in the authorization only
  when the challenge had one (the legacy code raised ``KeyError``
  without it), and its client nonce is 32 hex digits from the system's
  random source (the legacy code hex-encoded the UTF-8 of random
  characters).
* A missing parameter in ``process_authorization_*`` raises
  :class:`LoginFailed` naming it (the legacy code raised ``KeyError``).
* The nonces of :class:`AuthChallenger` are hex rather than base64; they
  are only ever read back by the challenger that made them.
"""

import os

from msgwire import _native

__all__ = [
    "LoginFailed",
    "get_random_data",
    "calc_ha1",
    "calc_ha2_response",
    "calc_ha2_rspauth",
    "calc_hash",
    "calc_responses",
    "process_www_authenticate",
    "AuthChallenger",
]


class LoginFailed(Exception):
    """An answer to a digest challenge was refused."""


def get_random_data(length):
    """``length`` random characters in U+0000..U+00FF (as the legacy
    function returned)."""
    return "".join(map(chr, os.urandom(length)))


def calc_ha1(**parameters):
    """``MD5(username:realm:password)`` as hex."""
    return _native.digest_ha1(
        parameters["username"], parameters["realm"], parameters["password"]
    )


def calc_ha2_response(**parameters):
    """``MD5(method:uri)`` as hex."""
    return _native.digest_ha2(parameters["method"], parameters["uri"])


def calc_ha2_rspauth(**parameters):
    """``MD5(:uri)`` as hex (the HA2 of ``rspauth``)."""
    return _native.digest_ha2("", parameters["uri"])


def calc_hash(**parameters):
    """``MD5(ha1:nonce:nc:cnonce:auth:ha2)`` as hex."""
    return _native.digest_hash(
        parameters["ha1"],
        parameters["nonce"],
        parameters["nc"],
        parameters["cnonce"],
        parameters["ha2"],
    )


def calc_responses(**parameters):
    """``(response, rspauth)`` for ``method`` on ``uri``; from ``ha1`` when
    given, else from ``username``, ``realm`` and ``password``."""
    ha1 = parameters.pop("ha1", None)
    if ha1 is None:
        ha1 = calc_ha1(**parameters)
    response = calc_hash(ha1=ha1, ha2=calc_ha2_response(**parameters), **parameters)
    rspauth = calc_hash(ha1=ha1, ha2=calc_ha2_rspauth(**parameters), **parameters)
    return response, rspauth


def process_www_authenticate(username, password, method, uri, **parameters):
    """Answers a challenge (its parameters as keywords: ``realm``, ``nonce``,
    ``opaque``...): ``(authorization, rspauth)``, where ``authorization`` is
    the dict of ``Authorization`` parameters (nonce count 1, a fresh
    cnonce) and ``rspauth`` what the server's ``Authentication-Info`` should
    carry."""
    nc = "00000001"
    cnonce = os.urandom(16).hex()
    fields = dict(parameters, username=username, password=password, method=method, uri=uri)
    response, rspauth = calc_responses(nc=nc, cnonce=cnonce, **fields)
    authorization = {
        "username": username,
        "realm": parameters["realm"],
        "nonce": parameters["nonce"],
        "qop": "auth",
        "nc": nc,
        "cnonce": cnonce,
        "response": response,
    }
    if parameters.get("opaque") is not None:
        authorization["opaque"] = parameters["opaque"]
    return authorization, rspauth


class AuthChallenger(object):
    """Issues challenges whose nonces are good for ``expire_time`` seconds
    and bound to the peer's IP, and checks the answers."""

    def __init__(self, expire_time):
        self.expire_time = expire_time
        self._native = _native.DigestChallenger(float(expire_time))

    def generate_www_authenticate(self, realm, peer_ip):
        """The ``WWW-Authenticate`` parameters (realm, qop, nonce, opaque)
        for a peer at ``peer_ip``."""
        realm, qop, nonce, opaque = self._native.challenge(realm, str(peer_ip))
        return {"realm": realm, "qop": qop, "nonce": nonce, "opaque": opaque}

    def process_authorization_ha1(self, ha1, method, uri, peer_ip, **parameters):
        """Checks an answer (the ``Authorization`` parameters as keywords)
        for the user whose HA1 is ``ha1``; returns the
        ``Authentication-Info`` parameters (qop, cnonce, nc, rspauth) or
        raises :class:`LoginFailed`."""
        fields = {}
        for name in ("nonce", "opaque", "response", "nc", "cnonce"):
            if name not in parameters:
                raise LoginFailed("Parameter not present: %s" % name)
            fields[name] = str(parameters[name])
        qop, cnonce, nc, rspauth = self._native.check(
            ha1,
            method,
            uri,
            str(peer_ip),
            fields["nonce"],
            fields["opaque"],
            fields["response"],
            fields["nc"],
            fields["cnonce"],
        )
        return {"qop": qop, "cnonce": cnonce, "nc": nc, "rspauth": rspauth}

    def process_authorization_password(self, password, method, uri, peer_ip, **parameters):
        """As :meth:`process_authorization_ha1`, from the password (and
        the ``username`` and ``realm`` in ``parameters``)."""
        ha1 = calc_ha1(password=password, **parameters)
        return self.process_authorization_ha1(ha1, method, uri, peer_ip, **parameters)
