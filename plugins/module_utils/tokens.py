# Copyright: (c) 2026, konnect.devportal contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Entra ID v1 access tokens, as Konnect's Azure DCR uses them: request, claims, signature.

FOR INTERNAL COLLECTION USE ONLY: this API may change without notice.

Konnect's Azure DCR supports only the OAuth 2.0 **v1** endpoint
(``/{tenant}/oauth2/token``), whose tokens carry the client id in ``appid``
and the issuer ``https://sts.windows.net/{tid}/``. The request is a POST with
``resource``: Kong's how-to shows a GET with ``scope``, which Entra refuses
(AADSTS900561), and v1 ignores ``scope`` anyway (the audience would be Azure
AD Graph).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import binascii
import datetime
import email.utils
import json
import time
import traceback

from ansible_collections.konnect.devportal.plugins.module_utils.graph import GRAPH_APP_ID, sign_in_error
from ansible_collections.konnect.devportal.plugins.module_utils.http_client import RETRY_STATUSES

try:
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding, rsa

    HAS_CRYPTOGRAPHY = True
    CRYPTOGRAPHY_IMPORT_ERROR = None
except ImportError:  # pragma: no cover - reported when a signature is checked
    HAS_CRYPTOGRAPHY = False
    CRYPTOGRAPHY_IMPORT_ERROR = traceback.format_exc()

GRAPH_RESOURCE = "https://graph.microsoft.com"
AZURE_AD_GRAPH_APP_ID = "00000002-0000-0000-c000-000000000000"
# New credentials and apps take a moment to reach every token server.
PROPAGATION_CODES = (7000215, 700016)
CLOCK_SKEW = datetime.timedelta(minutes=5)
# statuses handed back to the caller; HttpClient retries the others (429, 502-504) first
ANSWERS = tuple(s for s in range(200, 500) if s not in RETRY_STATUSES)


class TokenError(Exception):
    """A token could not be obtained or is not what Konnect expects."""


def v1_issuer(tenant_id):
    """The ``iss`` of v1 tokens (with the trailing slash Konnect's issuer setting leaves out)."""
    return "https://sts.windows.net/%s/" % tenant_id


# -- requesting ------------------------------------------------------------------------


def request_v1_token(
    http,
    authority_host,
    tenant_id,
    client_id,
    client_secret,
    resource=GRAPH_RESOURCE,
    propagation_timeout=0,
    sleep=None,
    clock=None,
    credential_source="the client secret",
):
    """``(access_token, server time)`` from the v1 endpoint with client credentials.

    Errors meaning "this client or secret is not known yet" (a credential
    made seconds ago) are retried for up to PROPAGATION_TIMEOUT seconds.
    Raises ``TokenError`` with Entra's code, trace id and a hint.
    """
    url = "%s/%s/oauth2/token" % (authority_host.rstrip("/"), tenant_id)
    form = {
        "grant_type": "client_credentials",
        "client_id": client_id,
        "client_secret": client_secret,
        "resource": resource,
    }
    sleep = sleep or time.sleep
    clock = clock or time.monotonic
    deadline = clock() + propagation_timeout
    delay = 1.0
    while True:
        # a token request changes nothing, so a lost reply may be repeated
        response = http.request("POST", url, data=form, expect=ANSWERS, retry_lost=True)
        body = _json(response)
        if response.status_code == 200 and body.get("access_token"):
            if str(body.get("token_type", "")).lower() != "bearer":
                raise TokenError("the v1 endpoint answered token_type %r, not Bearer" % body.get("token_type"))
            return body["access_token"], response_time(response)
        codes = body.get("error_codes") or []
        if any(code in PROPAGATION_CODES for code in codes) and clock() < deadline:
            sleep(min(delay, max(0.0, deadline - clock())))
            delay = min(delay * 2, 10)
            continue
        if not body:
            raise TokenError("POST %s: HTTP %d without an OAuth error body" % (url, response.status_code))
        authority = "%s/%s" % (authority_host, tenant_id)
        raise TokenError("v1 token: " + sign_in_error(body, client_id, authority, secret=credential_source))


def _json(response):
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def response_time(response):
    """The server's ``Date`` (the clock tokens are issued on), else the local clock."""
    value = response.headers.get("Date")
    when = None
    if value:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            when = None
    if when is None:
        return datetime.datetime.now(datetime.timezone.utc)
    return when if when.tzinfo else when.replace(tzinfo=datetime.timezone.utc)


def tenant_signing_keys(http, authority_host, tenant_id):
    """The JWKS of the tenant's v1 metadata (``jwks_uri``), and the metadata's issuer."""
    url = "%s/%s/.well-known/openid-configuration" % (authority_host.rstrip("/"), tenant_id)
    metadata = http.request("GET", url).json()
    jwks_uri = metadata.get("jwks_uri")
    if not jwks_uri:
        raise TokenError("the v1 metadata at %s has no jwks_uri" % url)
    return http.request("GET", jwks_uri).json(), metadata.get("issuer")


# -- reading and checking ------------------------------------------------------------------


def _b64url(segment):
    segment += "=" * (-len(segment) % 4)
    return base64.urlsafe_b64decode(segment.encode("ascii"))


def decode(token):
    """``(header, claims)`` of a JWT, without checking anything."""
    parts = (token or "").split(".")
    if len(parts) != 3:
        raise TokenError("the access token is not a JWT (expected 3 parts, got %d)" % len(parts))
    try:
        return json.loads(_b64url(parts[0])), json.loads(_b64url(parts[1]))
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise TokenError("the access token is not a JWT (undecodable header or payload)") from None


def check_v1_claims(claims, tenant_id, client_id, resource=GRAPH_RESOURCE, now=None):
    """The ways CLAIMS differ from a v1 app token of CLIENT_ID in TENANT_ID (empty: none)."""
    problems = []
    if claims.get("ver") != "1.0":
        problems.append("ver is %r, not '1.0' (a v2 token: Konnect's Azure DCR needs v1)" % claims.get("ver"))
    if claims.get("iss") != v1_issuer(tenant_id):
        problems.append("iss is %r, not %r" % (claims.get("iss"), v1_issuer(tenant_id)))
    if claims.get("appid") != client_id:
        problems.append("appid is %r, not the client id %s" % (claims.get("appid"), client_id))
    if claims.get("tid") != tenant_id:
        problems.append("tid is %r, not the tenant %s" % (claims.get("tid"), tenant_id))
    audiences = (resource, resource.rstrip("/") + "/")
    if resource.rstrip("/") == GRAPH_RESOURCE:
        audiences += (GRAPH_APP_ID,)
    if claims.get("aud") == AZURE_AD_GRAPH_APP_ID:
        problems.append("aud is Azure AD Graph: the token was requested with scope instead of resource")
    elif claims.get("aud") not in audiences:
        problems.append("aud is %r, not %s" % (claims.get("aud"), resource))
    if now is not None:
        expires, not_before = claims.get("exp"), claims.get("nbf")
        if isinstance(expires, (int, float)) and _at(expires) + CLOCK_SKEW < now:
            problems.append("the token expired at %s" % _at(expires).isoformat())
        if isinstance(not_before, (int, float)) and _at(not_before) - CLOCK_SKEW > now:
            problems.append("the token is not valid before %s" % _at(not_before).isoformat())
    return problems


def _at(epoch):
    return datetime.datetime.fromtimestamp(epoch, datetime.timezone.utc)


def verify_signature(token, jwks):
    """Raise ``TokenError`` unless TOKEN is RS256-signed by a key of JWKS (matched by ``kid``)."""
    if not HAS_CRYPTOGRAPHY:
        raise TokenError("the Python library cryptography is needed to check token signatures")
    header, _claims = decode(token)
    if header.get("alg") != "RS256":
        raise TokenError("the token is signed with %r, not RS256" % header.get("alg"))
    kid = header.get("kid") or header.get("x5t")
    keys = [k for k in (jwks or {}).get("keys") or [] if k.get("kid") == kid or k.get("x5t") == kid]
    if not keys:
        raise TokenError("no key with kid %r in the tenant's JWKS" % kid)
    signing_input, _dot, signature = token.rpartition(".")
    try:
        public_key = rsa.RSAPublicNumbers(
            int.from_bytes(_b64url(keys[0]["e"]), "big"), int.from_bytes(_b64url(keys[0]["n"]), "big")
        ).public_key()
        public_key.verify(_b64url(signature), signing_input.encode("ascii"), padding.PKCS1v15(), hashes.SHA256())
    except InvalidSignature:
        raise TokenError("the token's signature does not match key %r of the tenant's JWKS" % kid) from None
    except (KeyError, ValueError, binascii.Error):
        raise TokenError("key %r of the tenant's JWKS is not a usable RSA key" % kid) from None


def validate_v1_client(
    http,
    authority_host,
    tenant_id,
    client_id,
    client_secret,
    resource=GRAPH_RESOURCE,
    propagation_timeout=0,
    keys=None,
    sleep=None,
    clock=None,
    credential_source="the client secret",
):
    """Get a v1 token for the client and check it as Konnect's Azure DCR would use it.

    Returns the token's claims; raises ``TokenError`` naming every problem
    (claims, signature against the tenant's JWKS). KEYS caches the JWKS
    between calls (a dict, filled on first use).
    """
    token, now = request_v1_token(
        http,
        authority_host,
        tenant_id,
        client_id,
        client_secret,
        resource,
        propagation_timeout,
        sleep,
        clock,
        credential_source,
    )
    _header, claims = decode(token)
    problems = check_v1_claims(claims, tenant_id, client_id, resource, now)
    if keys is None:
        keys = {}
    if "jwks" not in keys:
        keys["jwks"], keys["issuer"] = tenant_signing_keys(http, authority_host, tenant_id)
    if keys["issuer"] != v1_issuer(tenant_id):
        problems.append("the tenant's v1 metadata names the issuer %r, not %r" % (keys["issuer"], v1_issuer(tenant_id)))
    try:
        verify_signature(token, keys["jwks"])
    except TokenError as exc:
        problems.append(str(exc))
    if problems:
        raise TokenError("; ".join(problems))
    return claims
