"""An in-memory Microsoft Graph (and the few Entra ID endpoints MSAL calls), for unit tests.

It stands in for the ``requests.Session`` of the collection's HTTP client:
``request()`` routes by method and path to a small stateful directory, records
every call in ``calls``, and can inject Graph's behaviours the modules must
handle - 403 for a missing permission, replication lag after a create, lost
replies and throttling.
"""

from __future__ import annotations

import base64
import copy
import datetime
import email.utils
import http.client
import json
import re
import uuid
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit

import jwt
import pytest
import requests
from ansible.module_utils.common import warnings as ansible_warnings
from ansible.module_utils.testing import patch_module_args
from cryptography.hazmat.primitives.asymmetric import rsa
from requests.structures import CaseInsensitiveDict

TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
GRAPH = "https://graph.test"
AUTHORITY = "https://login.test"
AUTOMATION_ID = "5b2f6a3c-8d1e-4f7a-9c0b-1e2d3f4a5b6c"
AUTOMATION_SECRET = "auto~Secret.1234567890abcdefghijKLMNOP"
GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000"
ROLES = {
    "Application.ReadWrite.OwnedBy": "18a4783c-866b-4cc7-a460-3d5e5662c884",
    "Application.ReadWrite.All": "1bfefb4e-e0b5-418b-a88f-73c46d2cc8e9",
    "Application.Read.All": "9a5d68dd-52b0-4cc2-bd40-abcf44ac3a30",
}
SCOPES = {"User.Read": "e1fe6dd8-ba31-4d61-89e7-88639da4683d", "openid": "37f7f235-527c-4136-accd-4a02d197296e"}


SIGNING_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)


def signing_jwk():
    numbers = SIGNING_KEY.public_key().public_numbers()

    def b64(number):
        raw = number.to_bytes((number.bit_length() + 7) // 8, "big")
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    return {"kty": "RSA", "use": "sig", "kid": "fake-kid", "x5t": "fake-kid", "n": b64(numbers.n), "e": b64(numbers.e)}


class FakeResponse:
    def __init__(self, status, body=None, headers=None):
        self.status_code = status
        self.headers = CaseInsensitiveDict(headers or {})
        if body is None:
            self.content = b""
        else:
            self.content = json.dumps(body).encode()
            self.headers.setdefault("Content-Type", "application/json")
        self.text = self.content.decode()
        self.reason = http.client.responses.get(status, "")

    def json(self):
        return json.loads(self.text)

    def raise_for_status(self):
        if self.status_code >= 400:
            raise requests.HTTPError(str(self.status_code))


def graph_error(status, code, message):
    body = {"error": {"code": code, "message": message, "innerError": {"request-id": "req-%d" % status}}}
    return FakeResponse(status, body, {"request-id": "req-%d" % status})


class FakeGraph:
    """A tenant with Microsoft Graph's service principal and whatever the tests create."""

    def __init__(self):
        self.now = datetime.datetime(2026, 1, 1, 12, 0, tzinfo=datetime.timezone.utc)
        self.apps = {}
        self.sps = {}
        self.assignments = {}
        self.grants = {}
        self.deleted = {}
        self.secret_values = {}
        self.calls = []
        self.denied = []  # (method, path regex): answered 403 Authorization_RequestDenied
        self.lost = []  # (method, path regex): done, then the reply is lost (once each)
        self.lag = 0  # a new object stays invisible for this many requests
        self.hidden = {}  # object id -> requests left until visible
        self.throttle = []  # (method, path regex): answered 429 once each
        self.v1_secrets = {}  # client id -> the secret the v1 token endpoint accepts
        self.automation_id = AUTOMATION_ID
        self.automation_roles = ["Application.ReadWrite.All", "AppRoleAssignment.ReadWrite.All"]
        self.graph_token = None
        self.headers = {}
        self.verify = True
        graph_sp = {
            "id": str(uuid.uuid4()),
            "appId": GRAPH_APP_ID,
            "displayName": "Microsoft Graph",
            "appRoles": [
                {"id": i, "value": v, "allowedMemberTypes": ["Application"], "isEnabled": True}
                for v, i in ROLES.items()
            ],
            "oauth2PermissionScopes": [
                {"id": i, "value": v, "isEnabled": True, "type": "User"} for v, i in SCOPES.items()
            ],
        }
        self.sps[graph_sp["id"]] = graph_sp
        self.graph_sp = graph_sp

    # -- helpers for tests -----------------------------------------------------------
    def writes(self):
        return [c for c in self.calls if c["method"] != "GET"]

    def app_named(self, unique_name):
        return next(a for a in self.apps.values() if a.get("uniqueName") == unique_name)

    def add_app(self, display_name, unique_name=None, **extra):
        app = self._new_app({"displayName": display_name, **extra})
        app["uniqueName"] = unique_name
        return app

    def add_secret(self, app, name, start, end):
        cred = {
            "keyId": str(uuid.uuid4()),
            "displayName": name,
            "startDateTime": start.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "endDateTime": end.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "hint": "abc",
            "secretText": None,
        }
        app["passwordCredentials"].append(cred)
        return cred

    # -- the session interface -----------------------------------------------------------
    def request(self, method, url, params=None, json=None, data=None, headers=None, **kwargs):
        parts = urlsplit(url)
        path = unquote(parts.path)
        query = dict(parse_qsl(parts.query))
        query.update(params or {})
        self.calls.append(
            dict(
                method=method,
                path=path,
                params=query,
                json=copy.deepcopy(json),
                data=data,
                headers=dict(headers or {}),
                verify=kwargs.get("verify"),
            )
        )
        for key in list(self.hidden):
            self.hidden[key] -= 1
            if self.hidden[key] < 0:
                del self.hidden[key]
        if url.startswith(AUTHORITY):
            return self._entra(method, path, data)
        assert path.startswith("/v1.0/"), path
        path = path[len("/v1.0") :]
        self._path = path
        for rule in list(self.throttle):
            if rule[0] == method and re.fullmatch(rule[1], path):
                self.throttle.remove(rule)
                return FakeResponse(
                    429, {"error": {"code": "TooManyRequests", "message": "slow down"}}, {"Retry-After": "2"}
                )
        for rule in self.denied:
            if rule[0] == method and re.fullmatch(rule[1], path):
                return graph_error(
                    403, "Authorization_RequestDenied", "Insufficient privileges to complete the operation."
                )
        response = self._graph(method, path, query, json, headers or {})
        response.headers["Date"] = email.utils.format_datetime(self.now, usegmt=True)
        for rule in list(self.lost):
            if rule[0] == method and re.fullmatch(rule[1], path):
                self.lost.remove(rule)
                raise requests.exceptions.ReadTimeout("read timed out")
        return response

    # -- Entra ID (MSAL's discovery and token endpoint) ---------------------------------------
    def _entra(self, method, path, data):
        if path == "/%s/v2.0/.well-known/openid-configuration" % TENANT:
            return FakeResponse(
                200,
                {
                    "authorization_endpoint": "%s/%s/oauth2/v2.0/authorize" % (AUTHORITY, TENANT),
                    "token_endpoint": "%s/%s/oauth2/v2.0/token" % (AUTHORITY, TENANT),
                    "issuer": "%s/%s/v2.0" % (AUTHORITY, TENANT),
                },
            )
        if method == "POST" and path == "/%s/oauth2/v2.0/token" % TENANT:
            if data.get("client_secret") != AUTOMATION_SECRET:
                return FakeResponse(
                    401,
                    {
                        "error": "invalid_client",
                        "error_description": "AADSTS7000215: Invalid client secret provided.\r\nTrace ID: t-1",
                        "error_codes": [7000215],
                        "trace_id": "t-1",
                        "correlation_id": "c-1",
                    },
                )
            # an unsigned JWT whose claims say who signed in (Graph itself is faked, so nothing verifies it)
            claims = {"appid": AUTOMATION_ID, "tid": TENANT, "roles": self.automation_roles}
            token = jwt.encode(claims, None, algorithm="none")
            self.graph_token = token
            return FakeResponse(200, {"token_type": "Bearer", "expires_in": 3599, "access_token": token})
        if path == "/%s/.well-known/openid-configuration" % TENANT:
            return FakeResponse(
                200,
                {"issuer": "https://sts.windows.net/%s/" % TENANT, "jwks_uri": AUTHORITY + "/common/discovery/keys"},
            )
        if path == "/common/discovery/keys":
            return FakeResponse(200, {"keys": [signing_jwk()]})
        if method == "POST" and path == "/%s/oauth2/token" % TENANT:
            return self._v1_token(data)
        return FakeResponse(404, {"error": "not_found"})

    def _v1_token(self, form):
        """The v1 endpoint: client credentials with ``resource``; numbers as strings, as Entra sends them."""
        client_id = form.get("client_id")
        if form.get("client_secret") is None or self.v1_secrets.get(client_id) != form.get("client_secret"):
            return FakeResponse(
                401,
                {
                    "error": "invalid_client",
                    "error_description": "AADSTS7000215: Invalid client secret provided.\r\nTrace ID: t-2",
                    "error_codes": [7000215],
                    "trace_id": "t-2",
                    "correlation_id": "c-2",
                },
            )
        sp = next((x for x in self.sps.values() if x["appId"] == client_id), None)
        roles = []
        if sp:
            by_id = dict((r["id"], r["value"]) for r in self.graph_sp["appRoles"])
            roles = [by_id[a["appRoleId"]] for a in self.assignments.values() if a["principalId"] == sp["id"]]
        now = int(self.now.timestamp())
        claims = {
            "ver": "1.0",
            "iss": "https://sts.windows.net/%s/" % TENANT,
            "aud": form.get("resource") or "00000002-0000-0000-c000-000000000000",
            "appid": client_id,
            "tid": TENANT,
            "iat": now - 300,
            "nbf": now - 300,
            "exp": now + 3599,
        }
        if roles:
            claims["roles"] = roles
        token = jwt.encode(claims, SIGNING_KEY, algorithm="RS256", headers={"kid": "fake-kid", "x5t": "fake-kid"})
        headers = {"Date": email.utils.format_datetime(self.now, usegmt=True)}
        return FakeResponse(200, {"token_type": "Bearer", "expires_in": "3599", "access_token": token}, headers)

    # -- Graph -------------------------------------------------------------------------------
    def _visible(self, obj_id):
        return obj_id not in self.hidden

    def _hide(self, obj):
        if self.lag:
            self.hidden[obj["id"]] = self.lag
        return obj

    def _new_app(self, body):
        app = {
            "id": str(uuid.uuid4()),
            "appId": str(uuid.uuid4()),
            "displayName": body["displayName"],
            "uniqueName": None,
            "signInAudience": body.get("signInAudience", "AzureADMyOrg"),
            "requiredResourceAccess": copy.deepcopy(body.get("requiredResourceAccess", [])),
            "passwordCredentials": [],
        }
        self.apps[app["id"]] = app
        return self._hide(app)

    def _app(self, key, value):
        for app in self.apps.values():
            if app.get(key) == value and self._visible(app["id"]):
                return app
        return None

    def _graph(self, method, path, query, body, headers):
        m = re.fullmatch(r"/applications\((appId|uniqueName)='(.*)'\)", path)
        if m:
            key, value = m.group(1), m.group(2).replace("''", "'")
            app = self._app(key, value)
            if method == "GET":
                return FakeResponse(200, self._select(app, query)) if app else self._missing(value)
            if method == "PATCH" and key == "uniqueName":
                existing = next((a for a in self.apps.values() if a.get("uniqueName") == value), None)
                if existing:
                    existing.update(copy.deepcopy(body))
                    return FakeResponse(204)
                if headers.get("Prefer") != "create-if-missing":
                    return self._missing(value)
                app = self._new_app(body)
                app["uniqueName"] = value
                return FakeResponse(201, app)
        if path == "/applications":
            if method == "POST":
                return FakeResponse(201, self._new_app(body))
            apps = [a for a in self.apps.values() if self._visible(a["id"])]
            m = re.fullmatch(r"displayName eq '(.*)'", query.get("$filter", ""))
            if m:
                apps = [a for a in apps if a["displayName"] == m.group(1).replace("''", "'")]
            return self._page(apps, query)
        m = re.fullmatch(r"/applications/([^/]+)(?:/microsoft\.graph\.(addPassword|removePassword))?", path)
        if m:
            app = self.apps.get(m.group(1))
            if app is None or not self._visible(app["id"]):
                return self._missing(m.group(1))
            if m.group(2) == "addPassword":
                return self._add_password(app, body["passwordCredential"])
            if m.group(2) == "removePassword":
                before = len(app["passwordCredentials"])
                app["passwordCredentials"] = [c for c in app["passwordCredentials"] if c["keyId"] != body["keyId"]]
                if len(app["passwordCredentials"]) == before:
                    return graph_error(400, "Request_BadRequest", "No password credential found with keyId")
                return FakeResponse(204)
            if method == "GET":
                return FakeResponse(200, self._select(app, query))
            if method == "PATCH":
                app.update(copy.deepcopy(body))
                return FakeResponse(204)
            if method == "DELETE":
                del self.apps[app["id"]]
                self.deleted[app["id"]] = app
                for sp in [s for s in self.sps.values() if s["appId"] == app["appId"]]:
                    del self.sps[sp["id"]]
                return FakeResponse(204)
        if path == "/directory/deletedItems/microsoft.graph.application":
            return self._page(list(self.deleted.values()), query)
        m = re.fullmatch(r"/directory/deletedItems/([^/]+)", path)
        if m and method == "DELETE":
            return FakeResponse(204) if self.deleted.pop(m.group(1), None) else self._missing(m.group(1))
        m = re.fullmatch(r"/servicePrincipals\(appId='(.*)'\)", path)
        if m:
            sp = next((s for s in self.sps.values() if s["appId"] == m.group(1) and self._visible(s["id"])), None)
            return FakeResponse(200, self._select(sp, query)) if sp else self._missing(m.group(1))
        if path == "/servicePrincipals":
            if method == "POST":
                return self._create_sp(body)
            m = re.fullmatch(r"displayName eq '(.*)'", query.get("$filter", ""))
            sps = [s for s in self.sps.values() if not m or s["displayName"] == m.group(1)]
            return self._page(sps, query)
        m = re.fullmatch(r"/servicePrincipals/([^/]+)/appRoleAssignments", path)
        if m:
            items = [a for a in self.assignments.values() if a["principalId"] == m.group(1)]
            return self._page(items, query)
        m = re.fullmatch(r"/servicePrincipals/([^/]+)/appRoleAssignedTo(?:/([^/]+))?", path)
        if m:
            if method == "DELETE":
                self.assignments.pop(m.group(2))
                return FakeResponse(204)
            return self._assign(m.group(1), body)
        if path == "/oauth2PermissionGrants":
            if method == "POST":
                return self._grant(body)
            m = re.fullmatch(r"clientId eq '(.*)'", query.get("$filter", ""))
            items = [g for g in self.grants.values() if g["clientId"] == m.group(1)]
            return self._page(items, query)
        m = re.fullmatch(r"/oauth2PermissionGrants/([^/]+)", path)
        if m:
            if method == "PATCH":
                self.grants[m.group(1)].update(body)
            else:
                del self.grants[m.group(1)]
            return FakeResponse(204)
        raise AssertionError("the fake Graph has no route for %s %s" % (method, path))

    def _missing(self, ref):
        return graph_error(
            404,
            "Request_ResourceNotFound",
            "Resource '%s' does not exist or one of its queried reference-property objects are not present." % ref,
        )

    def _select(self, obj, query):
        fields = query.get("$select")
        if not fields:
            return copy.deepcopy(obj)
        return dict((k, copy.deepcopy(obj.get(k))) for k in fields.split(","))

    def _page(self, items, query, size=2):
        """Two items a page, so every list exercises @odata.nextLink."""
        skip = int(query.get("$skiptoken", "0"))
        body = {"value": [self._select(i, query) for i in items[skip : skip + size]]}
        if skip + size < len(items):
            rest = dict(query, **{"$skiptoken": str(skip + size)})
            body["@odata.nextLink"] = GRAPH + "/v1.0" + self._path + "?" + urlencode(rest)
        return FakeResponse(200, body)

    def _add_password(self, app, cred):
        secret = "S3cr3t~" + uuid.uuid4().hex
        new = {
            "keyId": str(uuid.uuid4()),
            "displayName": cred.get("displayName"),
            "startDateTime": self.now.strftime("%Y-%m-%dT%H:%M:%S.0000000Z"),
            "endDateTime": cred["endDateTime"],
            "hint": secret[:3],
            "secretText": secret,
            "customKeyIdentifier": None,
        }
        self.secret_values[new["keyId"]] = secret
        app["passwordCredentials"].append(dict(new, secretText=None))
        return FakeResponse(200, new)

    def _create_sp(self, body):
        app = self._app("appId", body["appId"])
        if app is None:
            return graph_error(
                400,
                "Request_BadRequest",
                "The appId '%s' of the service principal does not reference a valid application object."
                % body["appId"],
            )
        if any(s["appId"] == body["appId"] for s in self.sps.values()):
            return graph_error(409, "Request_MultipleObjectsWithSameKeyValue", "The service principal already exists.")
        sp = {"id": str(uuid.uuid4()), "appId": body["appId"], "displayName": app["displayName"]}
        self.sps[sp["id"]] = sp
        return FakeResponse(201, self._hide(sp))

    def _assign(self, resource_id, body):
        if not self._visible(body["principalId"]) or body["principalId"] not in self.sps:
            return graph_error(400, "Request_BadRequest", "Not a valid reference update.")
        for a in self.assignments.values():
            if (a["principalId"], a["resourceId"], a["appRoleId"]) == (
                body["principalId"],
                resource_id,
                body["appRoleId"],
            ):
                return graph_error(400, "Request_BadRequest", "Permission being assigned already exists on the object.")
        item = dict(body, id="asg-" + uuid.uuid4().hex, resourceId=resource_id)
        self.assignments[item["id"]] = item
        return FakeResponse(201, item)

    def _grant(self, body):
        if not self._visible(body["clientId"]):
            return self._missing(body["clientId"])
        for g in self.grants.values():
            if (g["clientId"], g["resourceId"]) == (body["clientId"], body["resourceId"]):
                return graph_error(409, "Request_MultipleObjectsWithSameKeyValue", "Permission entry already exists.")
        item = dict(body, id="grant-" + uuid.uuid4().hex, principalId=None)
        self.grants[item["id"]] = item
        return FakeResponse(201, item)


@pytest.fixture
def graph(monkeypatch):
    """The fake Graph, answering every ``requests.Session`` the collection creates."""
    fake = FakeGraph()
    monkeypatch.setattr(requests, "Session", lambda: fake)
    for name in (
        "AZURE_TENANT",
        "AZURE_TENANT_ID",
        "AZURE_CLIENT_ID",
        "AZURE_SECRET",
        "AZURE_CLIENT_SECRET",
        "AZURE_AUTHORITY_HOST",
        "AZURE_GRAPH_URL",
        "AZURE_CLIENT_CERTIFICATE_PATH",
        "REQUESTS_CA_BUNDLE",
        "MSAL_FORCE_REGION",
    ):
        monkeypatch.delenv(name, raising=False)
    return fake


@pytest.fixture
def run(graph, fake_time, capsys, monkeypatch):
    """``run(main, args, check=False, diff=True)`` -> the module's result (``failed`` on failure)."""

    def runner(main, args, check=False, diff=True, no_log=False):
        module_args = dict(
            tenant_id=TENANT,
            client_id=AUTOMATION_ID,
            client_secret=AUTOMATION_SECRET,
            authority_host=AUTHORITY,
            graph_url=GRAPH,
            replication_timeout=5,
            _ansible_check_mode=check,
            _ansible_diff=diff,
            _ansible_no_log=no_log,
        )
        module_args.update(args)
        # warnings are process-global in Ansible: drop those of modules run before in this process
        monkeypatch.setattr(ansible_warnings, "_global_warnings", {})
        monkeypatch.setattr(ansible_warnings, "_global_deprecations", {})
        with patch_module_args(module_args), pytest.raises(SystemExit):
            main()
        return json.loads(capsys.readouterr().out)

    return runner


class FakeTime:
    """``time`` for the collection's retry loops: sleeping advances a virtual clock at once."""

    def __init__(self):
        self.now = 1000.0
        self.slept = []

    def sleep(self, seconds):
        self.slept.append(seconds)
        self.now += seconds

    def monotonic(self):
        return self.now

    def time(self):
        return self.now


@pytest.fixture
def fake_time(monkeypatch):
    from ansible_collections.konnect.devportal.plugins.module_utils import graph as graph_utils
    from ansible_collections.konnect.devportal.plugins.module_utils import tokens as token_utils

    fake = FakeTime()
    monkeypatch.setattr(graph_utils, "time", fake)
    monkeypatch.setattr(token_utils, "time", fake)
    return fake
