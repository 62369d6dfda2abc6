"""Unit tests of the v1 token checks: request, claims, signature."""

from __future__ import annotations

import base64
import datetime

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from ansible_collections.konnect.devportal.plugins.module_utils import tokens
from ansible_collections.konnect.devportal.plugins.module_utils.http_client import HttpClient

TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
CLIENT = "3f1c8c2e-5a4b-4c7d-9e8f-0a1b2c3d4e5f"
NOW = datetime.datetime(2026, 1, 1, 12, 0, tzinfo=datetime.timezone.utc)
KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)


def good_claims(**changes):
    claims = {
        "ver": "1.0",
        "iss": "https://sts.windows.net/%s/" % TENANT,
        "appid": CLIENT,
        "tid": TENANT,
        "aud": "https://graph.microsoft.com",
        "iat": int(NOW.timestamp()) - 300,
        "nbf": int(NOW.timestamp()) - 300,
        "exp": int(NOW.timestamp()) + 3599,
        "roles": ["Application.ReadWrite.OwnedBy"],
    }
    claims.update(changes)
    return claims


def b64(number):
    raw = number.to_bytes((number.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def jwks(key=KEY, kid="k1"):
    numbers = key.public_key().public_numbers()
    return {"keys": [{"kty": "RSA", "use": "sig", "kid": kid, "x5t": kid, "n": b64(numbers.n), "e": b64(numbers.e)}]}


def sign(claims, key=KEY, kid="k1", alg="RS256"):
    return jwt.encode(claims, key, algorithm=alg, headers={"kid": kid, "x5t": kid})


def test_good_v1_claims_pass():
    assert tokens.check_v1_claims(good_claims(), TENANT, CLIENT, now=NOW) == []
    assert tokens.check_v1_claims(good_claims(aud="00000003-0000-0000-c000-000000000000"), TENANT, CLIENT) == []


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        ({"ver": "2.0"}, "ver is '2.0'"),
        ({"iss": "https://sts.windows.net/%s" % TENANT}, "iss is"),
        ({"iss": "https://login.microsoftonline.com/%s/v2.0" % TENANT}, "iss is"),
        ({"appid": "someone-else"}, "appid is 'someone-else', not the client id"),
        ({"tid": "other"}, "tid is 'other'"),
        ({"aud": "00000002-0000-0000-c000-000000000000"}, "requested with scope instead of resource"),
        ({"aud": "api://other"}, "aud is 'api://other'"),
        ({"exp": int(NOW.timestamp()) - 3600}, "the token expired"),
        ({"nbf": int(NOW.timestamp()) + 3600}, "not valid before"),
    ],
)
def test_each_wrong_claim_is_named(changes, problem):
    problems = tokens.check_v1_claims(good_claims(**changes), TENANT, CLIENT, now=NOW)
    assert len(problems) == 1
    assert problem in problems[0]


def test_signature_checked_against_the_jwks():
    token = sign(good_claims())
    tokens.verify_signature(token, jwks())
    header, claims = tokens.decode(token)
    assert header["kid"] == "k1" and claims["appid"] == CLIENT


def test_signature_by_another_key_fails():
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    with pytest.raises(tokens.TokenError, match="signature does not match key 'k1'"):
        tokens.verify_signature(sign(good_claims(), key=other), jwks())


def test_unknown_kid_and_wrong_algorithm_fail():
    with pytest.raises(tokens.TokenError, match="no key with kid 'k9'"):
        tokens.verify_signature(sign(good_claims(), kid="k9"), jwks())
    with pytest.raises(tokens.TokenError, match="not RS256"):
        tokens.verify_signature(jwt.encode(good_claims(), "k" * 32, algorithm="HS256"), jwks())


def test_not_a_jwt():
    with pytest.raises(tokens.TokenError, match="not a JWT"):
        tokens.decode("opaque-token")
    with pytest.raises(tokens.TokenError, match="not a JWT"):
        tokens.decode("a.b.c")


# -- requesting a token ----------------------------------------------------------------------


class Answer:
    def __init__(self, status, body, date=None):
        import json as jsonlib

        self.status_code = status
        self.text = jsonlib.dumps(body)
        self.content = self.text.encode()
        self.headers = {"Date": date} if date else {}
        self.reason = "x"

    def json(self):
        import json as jsonlib

        return jsonlib.loads(self.text)


class Session:
    def __init__(self, answers):
        self.answers = list(answers)
        self.calls = []
        self.headers = {}

    def request(self, method, url, **kwargs):
        self.calls.append((method, url, kwargs.get("data")))
        return self.answers.pop(0)


def http_with(answers):
    client = HttpClient("https://login.test", sleep=lambda s: None)
    client.session = Session(answers)
    return client


def aadsts(code, error="invalid_client", status=401):
    return Answer(
        status,
        {
            "error": error,
            "error_description": "AADSTS%d: something.\r\nTrace ID: tr\r\nCorrelation ID: co" % code,
            "error_codes": [code],
            "trace_id": "tr",
            "correlation_id": "co",
        },
    )


def test_v1_token_is_a_post_with_resource_and_its_server_time():
    date = "Thu, 01 Jan 2026 12:00:00 GMT"
    http = http_with([Answer(200, {"token_type": "Bearer", "expires_in": "3599", "access_token": "t.o.k"}, date)])
    token, when = tokens.request_v1_token(http, "https://login.test", TENANT, CLIENT, "s3cret")
    assert token == "t.o.k"
    assert when == NOW
    method, url, form = http.session.calls[0]
    assert method == "POST"
    assert url == "https://login.test/%s/oauth2/token" % TENANT
    assert form == {
        "grant_type": "client_credentials",
        "client_id": CLIENT,
        "client_secret": "s3cret",
        "resource": "https://graph.microsoft.com",
    }


def test_v1_token_waits_for_a_new_client_to_propagate():
    clock = {"now": 0.0}

    def sleep(seconds):
        clock["now"] += seconds

    http = http_with(
        [
            aadsts(700016, "unauthorized_client", 400),
            aadsts(7000215),
            Answer(200, {"token_type": "Bearer", "access_token": "x"}),
        ]
    )
    token, _when = tokens.request_v1_token(
        http, "https://login.test", TENANT, CLIENT, "s", propagation_timeout=30, sleep=sleep, clock=lambda: clock["now"]
    )
    assert token == "x"
    assert len(http.session.calls) == 3


def test_v1_token_error_names_the_code_and_hint_without_the_secret():
    http = http_with([aadsts(7000215)])
    with pytest.raises(tokens.TokenError) as info:
        tokens.request_v1_token(http, "https://login.test", TENANT, CLIENT, "Sup3r-Secret-Value")
    message = str(info.value)
    assert "AADSTS7000215" in message and "trace id tr" in message and "client secret is wrong" in message
    assert "Sup3r-Secret-Value" not in message and "\n" not in message


def test_tenant_signing_keys_come_from_the_v1_metadata():
    metadata = {
        "issuer": "https://sts.windows.net/%s/" % TENANT,
        "jwks_uri": "https://login.test/common/discovery/keys",
    }
    http = http_with([Answer(200, metadata), Answer(200, jwks())])
    keys, issuer = tokens.tenant_signing_keys(http, "https://login.test", TENANT)
    assert keys["keys"][0]["kid"] == "k1"
    assert issuer == "https://sts.windows.net/%s/" % TENANT
    assert [c[1] for c in http.session.calls] == [
        "https://login.test/%s/.well-known/openid-configuration" % TENANT,
        "https://login.test/common/discovery/keys",
    ]
