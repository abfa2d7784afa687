"""msrplib.digest: the legacy digest helpers, checked against RFC 2617's
example and against hashlib, and the IP-bound AuthChallenger end to end
with process_www_authenticate."""

import hashlib
import time

import pytest

from msrplib import digest
from msrplib.digest import AuthChallenger, LoginFailed


def md5(text):
    return hashlib.md5(text.encode()).hexdigest()


def test_rfc_2617_example():
    ha1 = digest.calc_ha1(username="Mufasa", realm="testrealm@host.com", password="Circle Of Life")
    assert ha1 == md5("Mufasa:testrealm@host.com:Circle Of Life")
    response, rspauth = digest.calc_responses(
        ha1=ha1,
        method="GET",
        uri="/dir/index.html",
        nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093",
        nc="00000001",
        cnonce="0a4f113b",
    )
    assert response == "6629fae49393a05397450978507c4ef1"
    ha2 = md5(":/dir/index.html")
    assert rspauth == md5(
        "%s:dcd98b7102dd2f0e8b11d0f600bfb0c093:00000001:0a4f113b:auth:%s" % (ha1, ha2)
    )


def test_the_separate_hashes_match_their_formulas():
    assert digest.calc_ha2_response(method="AUTH", uri="msrp://r;tcp") == md5("AUTH:msrp://r;tcp")
    assert digest.calc_ha2_rspauth(uri="msrp://r;tcp") == md5(":msrp://r;tcp")
    assert digest.calc_hash(ha1="a", nonce="n", nc="00000002", cnonce="c", ha2="h") == md5(
        "a:n:00000002:c:auth:h"
    )
    # From the password when no ha1 is given.
    r1 = digest.calc_responses(
        username="u", realm="r", password="p", method="AUTH", uri="x", nonce="n", nc="1", cnonce="c"
    )
    r2 = digest.calc_responses(
        ha1=md5("u:r:p"), method="AUTH", uri="x", nonce="n", nc="1", cnonce="c"
    )
    assert r1 == r2
    data = digest.get_random_data(16)
    assert isinstance(data, str) and len(data) == 16 and max(map(ord, data)) < 256


def challenge_and_answer(challenger, password="pw", ip="10.1.2.3"):
    www = challenger.generate_www_authenticate("example.com", ip)
    assert www["realm"] == "example.com" and www["qop"] == "auth" and www["opaque"]
    auth, rspauth = digest.process_www_authenticate(
        "bob", password, "AUTH", "msrp://relay;tcp", **www
    )
    return auth, rspauth


def test_challenger_accepts_the_right_answer_and_proves_it_knows_the_password():
    ch = AuthChallenger(15)
    auth, rspauth = challenge_and_answer(ch)
    assert auth["nc"] == "00000001" and auth["qop"] == "auth" and len(auth["cnonce"]) == 32
    params = dict(auth)
    info = ch.process_authorization_password("pw", "AUTH", "msrp://relay;tcp", "10.1.2.3", **params)
    assert info == {"qop": "auth", "cnonce": auth["cnonce"], "nc": "00000001", "rspauth": rspauth}
    ha1 = md5("bob:example.com:pw")
    assert ch.process_authorization_ha1(ha1, "AUTH", "msrp://relay;tcp", "10.1.2.3", **params) == info


@pytest.mark.parametrize(
    "change, message",
    [
        (dict(password="wrong"), "Incorrect password"),
        (dict(ip="10.9.9.9"), "This challenge was not issued to you"),
        (dict(opaque="0" * 32), "This nonce/opaque combination was not issued by me"),
        (dict(drop="cnonce"), "Parameter not present: cnonce"),
    ],
)
def test_challenger_refusals(change, message):
    ch = AuthChallenger(15)
    auth, _ = challenge_and_answer(ch, password=change.get("password", "pw"))
    if "opaque" in change:
        auth["opaque"] = change["opaque"]
    if "drop" in change:
        del auth[change["drop"]]
    with pytest.raises(LoginFailed) as e:
        ch.process_authorization_password(
            "pw", "AUTH", "msrp://relay;tcp", change.get("ip", "10.1.2.3"), **auth
        )
    assert str(e.value) == message


def test_nonces_expire_and_belong_to_their_challenger():
    ch = AuthChallenger(0)
    auth, _ = challenge_and_answer(ch)
    time.sleep(0.01)
    with pytest.raises(LoginFailed, match="This challenge has expired"):
        ch.process_authorization_password("pw", "AUTH", "msrp://relay;tcp", "10.1.2.3", **auth)
    other = AuthChallenger(15)
    auth, _ = challenge_and_answer(AuthChallenger(15))
    with pytest.raises(LoginFailed, match="not issued by me"):
        other.process_authorization_password("pw", "AUTH", "msrp://relay;tcp", "10.1.2.3", **auth)
    with pytest.raises(ValueError):
        AuthChallenger(-1)
