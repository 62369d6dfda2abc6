"""Microsoft Entra ID (login.microsoftonline.com) emulator.

What MSAL and plain HTTP clients use for app-only sign-in:

- ``/{tenant}/v2.0/.well-known/openid-configuration`` (MSAL's tenant discovery)
  and ``/{tenant}/.well-known/openid-configuration`` (v1 metadata, the issuer
  Kong's DCR provider uses);
- JWKS at ``/common/discovery/keys``, ``/{tenant}/discovery/keys`` and
  ``/{tenant}/discovery/v2.0/keys``;
- ``POST /{tenant}/oauth2/v2.0/token`` (client credentials, ``scope=<resource>/.default``)
  and ``POST /{tenant}/oauth2/token`` (v1, ``resource=``; numbers as strings).

Errors use Entra's JSON shape with the real AADSTS codes. Tokens are RS256
JWTs signed with a per-run key published in the JWKS; ``roles`` are the values
of the app roles assigned to the client's service principal on the resource.
A client with no service principal in the tenant gets AADSTS700016 (the
research documents that code for an app "not installed" in the tenant).
"""

from __future__ import annotations

import base64
import os
import re
import urllib.parse
import uuid

import jwt

import directory as dirmod
from framework import Request, Response, Service, route

TENANT = r"/(?P<tenant>[^/]+)"
GUID_RE = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
DOMAIN_RE = re.compile(r"^[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")
MULTI_TENANT = ("common", "organizations", "consumers")
TOKEN_LIFETIME = 3599
CLOCK_SKEW = 300  # Entra back-dates iat/nbf by five minutes
AUTH_METHODS = ["client_secret_post", "private_key_jwt", "client_secret_basic"]
CLAIMS = [
    "sub",
    "iss",
    "cloud_instance_name",
    "cloud_instance_host_name",
    "cloud_graph_host_name",
    "msgraph_host",
    "aud",
    "exp",
    "iat",
    "auth_time",
    "acr",
    "nonce",
    "preferred_username",
    "name",
    "tid",
    "ver",
    "at_hash",
    "c_hash",
    "email",
]


class TokenError(Exception):
    """An AADSTS error: HTTP status, OAuth error, AADSTS number, text."""

    def __init__(self, status: int, error: str, code: int, text: str):
        super().__init__(text)
        self.status, self.error, self.code, self.text = status, error, code, text


_NOT_INSTALLED = (
    "This can happen if the application has not been installed by the administrator of the tenant or consented to by "
    "any user in the tenant. You may have sent your authentication request to the wrong tenant."
)

# AADSTS code -> (HTTP status, OAuth error, message template); invalid_client answers 401, the rest 400
AADSTS = {
    50059: (400, "invalid_request", "No tenant-identifying information found in either the request or implied by "
            "any provided credentials."),
    70003: (400, "unsupported_grant_type", "The app requested an unsupported grant type '{grant}'."),
    90002: (400, "invalid_request", "Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID "
            "and are signing into the correct cloud. Check with your subscription administrator, this may happen if "
            "there are no active subscriptions for the tenant."),
    90033: (503, "temporarily_unavailable", "A transient error has occurred. Please try again."),
    90055: (429, "temporarily_unavailable", "There are too many incoming requests. Please try again later."),
    500011: (400, "invalid_resource", "The resource principal named {resource} was not found in the tenant named "
             "{tenant}. " + _NOT_INSTALLED),
    700016: (400, "unauthorized_client", "Application with identifier '{app}' was not found in the directory "
             "'{tenant}'. " + _NOT_INSTALLED),
    700022: (400, "invalid_scope", "The provided value for the input parameter scope is not valid because it "
             "contains more than one resource. Scope {scope} is not valid."),
    700027: (401, "invalid_client", "Client assertion failed signature validation."),
    900023: (400, "invalid_request", "Specified tenant identifier '{tenant}' is neither a valid DNS name, nor a valid "
             "external domain."),
    900144: (400, "invalid_request", "The request body must contain the following parameter: '{name}'."),
    900561: (400, "invalid_request", "The endpoint only accepts POST, OPTIONS requests. Received a {verb} request."),
    901002: (400, "invalid_request", "The 'resource' request parameter is not supported."),
    1002012: (400, "invalid_scope", "The provided value for scope {scope} is not valid. Client credential flows must "
              "have a scope value with /.default suffixed to the resource identifier (application ID URI)."),
    7000112: (400, "unauthorized_client", "Application '{app}'({name}) is disabled."),
    7000215: (401, "invalid_client", "Invalid client secret provided. Ensure the secret being sent in the request is "
              "the client secret value, not the client secret ID, for a secret added to app '{app}'."),
    7000218: (401, "invalid_client", "The request body must contain the following parameter: 'client_assertion' or "
              "'client_secret'."),
    7000222: (401, "invalid_client", "The provided client secret keys for app '{app}' are expired. Visit the Azure "
              "portal to create new keys for your app: https://aka.ms/NewClientSecret, or consider using certificate "
              "credentials for added security: https://aka.ms/certCreds."),
}  # fmt: skip


def aadsts(code: int, error: str | None = None, **values) -> TokenError:
    status, default_error, template = AADSTS[code]
    return TokenError(status, error or default_error, code, template.format(**values))


class Entra(Service):
    name = "entra"

    def __init__(self, world):
        super().__init__(world)
        self.directory = dirmod.get(world)

    # -- admin hooks ------------------------------------------------------------------------------
    def seed(self, data):
        self.directory.seed(data)

    def reset(self):
        self.directory.reset()

    def state(self):
        d = self.directory
        return {
            "tenants": sorted(d.tenants),
            "jwks_kids": [k.kid for k in d.keys],
            "signing_kid": d.signing_key.kid,
            "tokens_issued": d.tokens_issued,
        }

    def endpoints(self):
        out = {"authority_host": self.world.url_of("entra")}
        first = self.directory.first
        if first:
            out.update(
                tenant_id=first["tenant_id"],
                automation_client_id=first["client_id"],
                automation_client_secret=first.get("client_secret"),
            )
        return out

    def headers(self, req):
        h = {"x-ms-request-id": req.request_id, "Cache-Control": "no-store, no-cache", "Pragma": "no-cache"}
        if req.headers.get("client-request-id"):
            h["client-request-id"] = req.headers["client-request-id"]
        return h

    # -- Entra's error formats --------------------------------------------------------------------
    def _error(self, req, exc: TokenError) -> Response:
        ts = self.world.clock.utcnow().strftime("%Y-%m-%d %H:%M:%SZ")
        corr = req.headers.get("client-request-id") or str(uuid.uuid4())
        text = "AADSTS%d: %s" % (exc.code, exc.text)
        body = {
            "error": exc.error,
            "error_description": "%s\r\nTrace ID: %s\r\nCorrelation ID: %s\r\nTimestamp: %s"
            % (text, req.request_id, corr, ts),
            "error_codes": [exc.code],
            "timestamp": ts,
            "trace_id": req.request_id,
            "correlation_id": corr,
            "error_uri": "https://login.microsoftonline.com/error?code=%d" % exc.code,
        }
        return Response.json(exc.status, body, content_type="application/json; charset=utf-8")

    def not_found(self, req):
        # login.microsoftonline.com answers unknown paths with an HTML page
        html = b"<!DOCTYPE html><html><head><title>Sign in to your account</title></head><body>404</body></html>"
        return Response(404, html, {"Content-Type": "text/html; charset=utf-8"})

    def method_not_allowed(self, req, allowed):
        if req.path.endswith("/token"):
            return self._wrong_verb(req)
        return Response(405, b"", {"Allow": ", ".join(allowed)})

    def throttled(self, req, retry_after):
        resp = self._error(req, aadsts(90055))
        resp.headers["Retry-After"] = str(retry_after)
        return resp

    def unavailable(self, req):
        resp = self._error(req, aadsts(90033))
        resp.headers["Retry-After"] = "1"
        return resp

    def _wrong_verb(self, req):
        return self._error(req, aadsts(900561, verb=req.method))

    # -- tenants ----------------------------------------------------------------------------------
    def _tenant(self, ref: str, discovery=False):
        """The tenant a path names; TokenError when there is none."""
        if ref.lower() in MULTI_TENANT:
            return None
        tenant = self.directory.tenant(ref)
        if tenant is not None:
            return tenant
        if not GUID_RE.match(ref) and not DOMAIN_RE.match(ref):
            raise aadsts(900023, tenant=ref)
        # discovery documents call it invalid_tenant, the token endpoints invalid_request
        raise aadsts(90002, "invalid_tenant" if discovery else None, tenant=ref)

    # -- discovery --------------------------------------------------------------------------------
    def _discovery(self, req, v2: bool) -> Response:
        try:
            tenant = self._tenant(req.params["tenant"], discovery=True)
        except TokenError as exc:
            return self._error(req, exc)
        host = self.world.url_of("entra")
        seg = tenant.id if tenant else req.params["tenant"].lower()
        tid = tenant.id if tenant else "{tenantid}"
        graph_host = urllib.parse.urlsplit(self.world.url_of("graph")).netloc if "graph" in self.world.services else ""
        common = {
            "token_endpoint_auth_methods_supported": AUTH_METHODS,
            "response_modes_supported": ["query", "fragment", "form_post"],
            "subject_types_supported": ["pairwise"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "http_logout_supported": True,
            "frontchannel_logout_supported": True,
            "claims_supported": CLAIMS,
            "request_uri_parameter_supported": False,
            "tenant_region_scope": "NA" if tenant else None,
            "cloud_instance_name": "microsoftonline.com",
            "cloud_graph_host_name": "graph.windows.net",
            "msgraph_host": graph_host,
            "rbac_url": "https://pas.windows.net",
        }
        if v2:
            doc = {
                "token_endpoint": "%s/%s/oauth2/v2.0/token" % (host, seg),
                "jwks_uri": "%s/%s/discovery/v2.0/keys" % (host, seg),
                "issuer": "%s/%s/v2.0" % (host, tid),
                "authorization_endpoint": "%s/%s/oauth2/v2.0/authorize" % (host, seg),
                "device_authorization_endpoint": "%s/%s/oauth2/v2.0/devicecode" % (host, seg),
                "end_session_endpoint": "%s/%s/oauth2/v2.0/logout" % (host, seg),
                "kerberos_endpoint": "%s/%s/kerberos" % (host, seg),
                "userinfo_endpoint": "https://%s/oidc/userinfo" % graph_host,
                "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
                "scopes_supported": ["openid", "profile", "email", "offline_access"],
                **common,
            }
        else:
            doc = {
                "token_endpoint": "%s/%s/oauth2/token" % (host, seg),
                "jwks_uri": "%s/common/discovery/keys" % host,
                "issuer": "https://sts.windows.net/%s/" % tid,
                "authorization_endpoint": "%s/%s/oauth2/authorize" % (host, seg),
                "device_authorization_endpoint": "%s/%s/oauth2/devicecode" % (host, seg),
                "end_session_endpoint": "%s/%s/oauth2/logout" % (host, seg),
                "check_session_iframe": "%s/%s/oauth2/checksession" % (host, seg),
                "userinfo_endpoint": "%s/%s/openid/userinfo" % (host, seg),
                "kerberos_endpoint": "%s/%s/kerberos" % (host, seg),
                "microsoft_multi_refresh_token": True,
                "response_types_supported": ["code", "id_token", "code id_token", "token id_token", "token"],
                "scopes_supported": ["openid"],
                **common,
            }
        return Response.json(200, doc, content_type="application/json; charset=utf-8")

    @route("GET", TENANT + r"/v2\.0/\.well-known/openid-configuration", faults=False)
    def openid_configuration_v2(self, req: Request) -> Response:
        with self.world.lock:
            return self._discovery(req, v2=True)

    @route("GET", TENANT + r"/\.well-known/openid-configuration", faults=False)
    def openid_configuration_v1(self, req: Request) -> Response:
        with self.world.lock:
            return self._discovery(req, v2=False)

    def _jwks(self, req, v2: bool) -> Response:
        issuer = None
        if v2:
            try:
                tenant = self._tenant(req.params["tenant"], discovery=True)
            except TokenError as exc:
                return self._error(req, exc)
            issuer = "%s/%s/v2.0" % (self.world.url_of("entra"), tenant.id if tenant else "{tenantid}")
        keys = [k.jwk(issuer) for k in self.directory.keys]
        return Response.json(200, {"keys": keys}, content_type="application/json; charset=utf-8")

    @route("GET", TENANT + r"/discovery/v2\.0/keys", faults=False)
    def jwks_v2(self, req: Request) -> Response:
        with self.world.lock:
            return self._jwks(req, v2=True)

    @route("GET", TENANT + r"/discovery/keys", faults=False)
    def jwks_v1(self, req: Request) -> Response:
        with self.world.lock:
            if req.params["tenant"].lower() != "common":
                try:
                    self._tenant(req.params["tenant"], discovery=True)
                except TokenError as exc:
                    return self._error(req, exc)
            return self._jwks(req, v2=False)

    # -- token endpoints --------------------------------------------------------------------------
    @route("POST", TENANT + r"/oauth2/v2\.0/token")
    def token_v2(self, req: Request) -> Response:
        return self._token(req, v1=False)

    @route("POST", TENANT + r"/oauth2/token")
    def token_v1(self, req: Request) -> Response:
        return self._token(req, v1=True)

    @route("GET", TENANT + r"/oauth2/v2\.0/token")
    def token_v2_get(self, req: Request) -> Response:
        return self._wrong_verb(req)

    @route("GET", TENANT + r"/oauth2/token")
    def token_v1_get(self, req: Request) -> Response:
        return self._wrong_verb(req)

    @route("OPTIONS", TENANT + r"/oauth2/(?:v2\.0/)?token")
    def token_options(self, req: Request) -> Response:
        return Response.empty(200, {"Allow": "POST, OPTIONS"})

    def _token(self, req: Request, v1: bool) -> Response:
        try:
            with self.world.lock:
                return self._issue(req, v1)
        except TokenError as exc:
            return self._error(req, exc)

    def _issue(self, req: Request, v1: bool) -> Response:
        tenant = self._tenant(req.params["tenant"])
        if tenant is None:  # common/organizations cannot do app-only sign-in
            raise aadsts(50059)
        # a body that is not a form is not read at all (JSON bodies end up "missing grant_type")
        form = req.form() if req.content_type == "application/x-www-form-urlencoded" else {}
        basic_id, basic_secret = _basic_auth(req)
        grant_type = form.get("grant_type")
        if not grant_type:
            raise aadsts(900144, name="grant_type")
        if grant_type != "client_credentials":
            raise aadsts(70003, grant=grant_type)
        client_id = form.get("client_id") or basic_id
        if not client_id:
            raise aadsts(900144, name="client_id")
        if v1:
            resource = form.get("resource")  # v1 ignores scope; no resource means Azure AD Graph
        else:
            if "resource" in form:
                raise aadsts(901002)
            resource = _resource_of_scope(form.get("scope"))

        d = self.directory
        app = tenant.app_by_app_id(client_id)
        sp = tenant.sp_by_app_id(client_id)
        # no service principal in the tenant counts as "not installed" (700016), as the research documents
        if app is None or not d.visible(tenant, app["id"]) or sp is None or not d.visible(tenant, sp["id"]):
            raise aadsts(700016, app=client_id, tenant=tenant.display_name)
        if form.get("client_assertion"):
            raise aadsts(700027)  # certificates (keyCredentials) are not modelled: no assertion can be valid
        secret = form.get("client_secret") or basic_secret
        if not secret:
            raise aadsts(7000218)
        problem = d.check_secret(tenant, app, secret)
        if problem:
            raise aadsts(7000222 if problem == "expired" else 7000215, app=client_id)
        if not sp["accountEnabled"]:
            raise aadsts(7000112, app=client_id, name=app["displayName"])

        if resource is None:
            aud, resource_sp = dirmod.AAD_GRAPH_APP_ID, None
        else:
            resource_sp = d.resource_sp(tenant, resource)
            if resource_sp is None:
                raise aadsts(500011, resource=resource, tenant=tenant.display_name)
            aud = resource
        token, claims = self._sign(tenant, app, sp, resource_sp, aud)
        d.tokens_issued += 1
        if v1:
            body = {
                "token_type": "Bearer",
                "expires_in": str(TOKEN_LIFETIME),
                "ext_expires_in": str(TOKEN_LIFETIME),
                "expires_on": str(claims["exp"]),
                "not_before": str(claims["nbf"]),
                "resource": resource or dirmod.AAD_GRAPH_APP_ID,
                "access_token": token,
            }
        else:
            body = {
                "token_type": "Bearer",
                "expires_in": TOKEN_LIFETIME,
                "ext_expires_in": TOKEN_LIFETIME,
                "access_token": token,
            }
        return Response.json(200, body, content_type="application/json; charset=utf-8")

    def _sign(self, tenant, app, sp, resource_sp, aud):
        """A v1- or v2-shaped access token; the resource decides the shape, not the endpoint."""
        now = int(self.directory.now())
        key = self.directory.signing_key
        roles = self.directory.roles_for(tenant, sp, resource_sp) if resource_sp else []
        v2 = False
        if resource_sp is not None and resource_sp["appId"] != dirmod.GRAPH_APP_ID:
            resource_app = tenant.app_by_app_id(resource_sp["appId"])
            v2 = bool(resource_app and resource_app["api"].get("requestedAccessTokenVersion") == 2)
        claims = {
            "iat": now - CLOCK_SKEW,
            "nbf": now - CLOCK_SKEW,
            "exp": now + TOKEN_LIFETIME,
            "aio": _opaque(48),
            "idtyp": "app",
            "oid": sp["id"],
            "rh": "0.A" + _opaque(40) + ".",
            "sub": sp["id"],
            "tid": tenant.id,
            "uti": _opaque(22),
        }
        if v2:
            claims.update(
                aud=resource_sp["appId"],  # v2 audiences are always the API's client id
                iss="%s/%s/v2.0" % (self.world.url_of("entra"), tenant.id),
                azp=app["appId"],
                azpacr="1",
                ver="2.0",
            )
            headers = {"kid": key.kid}
        else:
            claims.update(
                aud=aud,
                iss="https://sts.windows.net/%s/" % tenant.id,
                idp="https://sts.windows.net/%s/" % tenant.id,
                app_displayname=app["displayName"],
                appid=app["appId"],
                appidacr="1",
                ver="1.0",
            )
            headers = {"kid": key.kid, "x5t": key.x5t}
        if roles:  # Entra leaves the claim out rather than sending an empty list
            claims["roles"] = roles
        return jwt.encode(claims, key.pem, algorithm="RS256", headers=headers), claims


def _resource_of_scope(scope: str | None) -> str:
    """The single resource a client-credentials scope names (``<resource>/.default``)."""
    if not scope or not scope.strip():
        raise aadsts(900144, name="scope")
    resources = []
    for item in scope.split():
        if item in ("openid", "profile", "offline_access", "email"):
            continue
        if not item.endswith("/.default"):
            raise aadsts(1002012, scope=item)
        resources.append(item[: -len("/.default")])
    if len({r.lower() for r in resources}) != 1:
        raise aadsts(700022, scope=scope)
    return resources[0]


def _basic_auth(req: Request):
    """(client_id, client_secret) from an HTTP Basic header (RFC 6749 2.3.1: both form-encoded)."""
    auth = req.headers.get("authorization", "")
    if auth[:6].lower() != "basic ":
        return None, None
    try:
        raw = base64.b64decode(auth[6:].strip()).decode("utf-8")
    except ValueError:
        return None, None
    user, _ignored, password = raw.partition(":")
    return urllib.parse.unquote_plus(user), urllib.parse.unquote_plus(password)


def _opaque(n: int) -> str:
    return base64.urlsafe_b64encode(os.urandom(n)).decode().rstrip("=")[:n]
