"""The Entra ID emulator, over real HTTPS through serve.py: discovery, JWKS,
v1 and v2 client-credentials tokens, AADSTS errors, MSAL unchanged."""

from __future__ import annotations

import base64
import json
import re
import time
import uuid

import jwt
import msal
import pytest
import requests

TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"  # the default seed
DOMAIN = "contoso.onmicrosoft.com"
GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000"
GRAPH = "https://graph.microsoft.com"
SEEDED_ROLES = {
    "Application.ReadWrite.All",
    "AppRoleAssignment.ReadWrite.All",
    "DelegatedPermissionGrant.ReadWrite.All",
    "Application.Read.All",
}
GUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


class Entra:
    """Plain HTTP against the emulator; TLS verified against its CA on every request."""

    def __init__(self, emu):
        self.ep = emu.endpoints
        self.ca = self.ep["ca_path"]
        self.host = self.ep["authority_host"]
        self.session = requests.Session()
        self.session.trust_env = False  # else REQUESTS_CA_BUNDLE overrides the CA

    def get(self, path, **kw):
        return self.session.get(self.host + path, verify=self.ca, timeout=30, **kw)

    def post(self, path, **kw):
        return self.session.post(self.host + path, verify=self.ca, timeout=30, **kw)

    def v1(self, tenant=TENANT, **form):
        form.setdefault("grant_type", "client_credentials")
        return self.post("/%s/oauth2/token" % tenant, data=form)

    def v2(self, tenant=TENANT, **form):
        form.setdefault("grant_type", "client_credentials")
        return self.post("/%s/oauth2/v2.0/token" % tenant, data=form)

    def creds(self):
        return {"client_id": self.ep["automation_client_id"], "client_secret": self.ep["automation_client_secret"]}

    def graph_token(self):
        r = self.v2(scope=GRAPH + "/.default", **self.creds())
        assert r.status_code == 200, r.text
        return r.json()["access_token"]


@pytest.fixture(scope="module")
def entra(emulators):
    return Entra(emulators)


def claims(token):
    return jwt.decode(token, options={"verify_signature": False})


def aadsts(r, status, code, error):
    """Assert R is an Entra error with STATUS, AADSTS CODE and OAuth ERROR; the body."""
    assert r.status_code == status, r.text
    body = r.json()
    assert body["error"] == error, body
    assert body["error_codes"] == [code] and isinstance(body["error_codes"][0], int)
    desc = body["error_description"]
    assert desc.startswith("AADSTS%d: " % code), desc
    assert re.search(r"\r\nTrace ID: [0-9a-f-]{36}\r\nCorrelation ID: [0-9a-f-]{36}\r\nTimestamp: ", desc), desc
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ", body["timestamp"])
    assert GUID.match(body["trace_id"]) and GUID.match(body["correlation_id"])
    assert body["error_uri"] == "https://login.microsoftonline.com/error?code=%d" % code
    return body


def graph_sp_id(emulators):
    sps = emulators.state()["graph"]["tenants"][TENANT]["servicePrincipals"]
    return next(s["id"] for s in sps if s["appId"] == GRAPH_APP_ID)


def automation_sp_id(emulators):
    client_id = emulators.endpoints["automation_client_id"]
    sps = emulators.state()["graph"]["tenants"][TENANT]["servicePrincipals"]
    return next(s["id"] for s in sps if s["appId"] == client_id)


# -- endpoints.json and discovery ------------------------------------------------------------------
def test_endpoints_json_has_the_entra_keys(emulators):
    ep = emulators.endpoints
    assert re.fullmatch(r"https://127\.0\.0\.1:\d+", ep["authority_host"])
    assert ep["tenant_id"] == TENANT
    assert ep["automation_client_id"] == "5b2f6a3c-8d1e-4f7a-9c0b-1e2d3f4a5b6c"
    assert ep["automation_client_secret"] == "auto~Secret.1234567890abcdefghijKLMNOP"


def test_v2_discovery_document(entra):
    for ref in (TENANT, DOMAIN, TENANT.upper()):
        r = entra.get("/%s/v2.0/.well-known/openid-configuration" % ref)
        assert r.status_code == 200, r.text
        doc = r.json()
        # MSAL needs these two, and takes the first path segment of the token endpoint as the tenant
        assert doc["token_endpoint"] == "%s/%s/oauth2/v2.0/token" % (entra.host, TENANT)
        assert doc["authorization_endpoint"] == "%s/%s/oauth2/v2.0/authorize" % (entra.host, TENANT)
        assert doc["issuer"] == "%s/%s/v2.0" % (entra.host, TENANT)
        assert doc["jwks_uri"] == "%s/%s/discovery/v2.0/keys" % (entra.host, TENANT)
        assert doc["token_endpoint_auth_methods_supported"] == [
            "client_secret_post",
            "private_key_jwt",
            "client_secret_basic",
        ]
        assert doc["id_token_signing_alg_values_supported"] == ["RS256"]
        assert doc["scopes_supported"] == ["openid", "profile", "email", "offline_access"]
    common = entra.get("/common/v2.0/.well-known/openid-configuration").json()
    assert common["issuer"] == entra.host + "/{tenantid}/v2.0"
    assert common["token_endpoint"] == entra.host + "/common/oauth2/v2.0/token"


def test_v1_discovery_document(entra):
    doc = entra.get("/%s/.well-known/openid-configuration" % TENANT).json()
    assert doc["issuer"] == "https://sts.windows.net/%s/" % TENANT  # trailing slash
    assert doc["token_endpoint"] == "%s/%s/oauth2/token" % (entra.host, TENANT)
    assert doc["authorization_endpoint"] == "%s/%s/oauth2/authorize" % (entra.host, TENANT)
    assert doc["jwks_uri"] == entra.host + "/common/discovery/keys"
    assert doc["subject_types_supported"] == ["pairwise"]
    assert doc["response_modes_supported"] == ["query", "fragment", "form_post"]
    assert doc["scopes_supported"] == ["openid"]
    assert doc["microsoft_multi_refresh_token"] is True
    assert doc["cloud_graph_host_name"] == "graph.windows.net"


def test_discovery_of_unknown_or_malformed_tenants(entra):
    unknown = str(uuid.uuid4())
    body = aadsts(entra.get("/%s/v2.0/.well-known/openid-configuration" % unknown), 400, 90002, "invalid_tenant")
    assert "Tenant '%s' not found" % unknown in body["error_description"]
    aadsts(entra.get("/nosuch.onmicrosoft.com/.well-known/openid-configuration"), 400, 90002, "invalid_tenant")
    aadsts(entra.get("/not_a_tenant/.well-known/openid-configuration"), 400, 900023, "invalid_request")


def test_jwks_endpoints_publish_the_signing_keys(entra, emulators):
    state = emulators.state()["entra"]
    v1 = entra.get("/common/discovery/keys").json()["keys"]
    assert [k["kid"] for k in v1] == state["jwks_kids"]
    assert state["signing_kid"] in state["jwks_kids"]
    assert len(v1) == 2  # the signing key is not simply the first one: clients must select by kid
    for key in v1:
        assert key["kty"] == "RSA" and key["use"] == "sig" and key["e"] == "AQAB"
        assert key["kid"] == key["x5t"]
        assert key["x5c"] and "issuer" not in key
    assert entra.get("/%s/discovery/keys" % TENANT).json()["keys"] == v1
    v2 = entra.get("/%s/discovery/v2.0/keys" % TENANT).json()["keys"]
    assert [k["kid"] for k in v2] == state["jwks_kids"]
    assert {k["issuer"] for k in v2} == {"%s/%s/v2.0" % (entra.host, TENANT)}
    aadsts(entra.get("/%s/discovery/v2.0/keys" % uuid.uuid4()), 400, 90002, "invalid_tenant")


# -- MSAL ------------------------------------------------------------------------------------------
def test_msal_confidential_client_gets_a_graph_token(entra, emulators):
    mark = emulators.mark()
    session = requests.Session()
    session.trust_env = False
    session.verify = entra.ca  # with trust_env off, the session's CA is the one used
    app = msal.ConfidentialClientApplication(
        entra.ep["automation_client_id"],
        client_credential=entra.ep["automation_client_secret"],
        authority="%s/%s" % (entra.host, TENANT),
        instance_discovery=False,  # else MSAL asks login.microsoftonline.com about the host
        azure_region=False,
        http_client=session,
    )
    result = app.acquire_token_for_client([GRAPH + "/.default"])
    assert "access_token" in result, result
    assert result["token_type"] == "Bearer" and result["token_source"] == "identity_provider"
    assert isinstance(result["expires_in"], int) and result["expires_in"] > 3000
    c = claims(result["access_token"])
    # Graph tokens are v1-shaped even from the v2 endpoint
    assert c["ver"] == "1.0" and c["iss"] == "https://sts.windows.net/%s/" % TENANT
    assert c["aud"] == GRAPH and c["appid"] == entra.ep["automation_client_id"]
    assert set(c["roles"]) == SEEDED_ROLES
    cached = app.acquire_token_for_client([GRAPH + "/.default"])
    assert cached["token_source"] == "cache"
    log = emulators.requests(mark)
    assert [(r["method"], r["path"]) for r in log] == [
        ("GET", "/%s/v2.0/.well-known/openid-configuration" % TENANT),
        ("POST", "/%s/oauth2/v2.0/token" % TENANT),
    ]
    sent = log[1]["request_body"]
    assert sent["client_info"] == "1" and sent["scope"] == GRAPH + "/.default"  # MSAL's extra field is ignored


def test_msal_surfaces_an_aadsts_error(entra):
    session = requests.Session()
    session.trust_env = False
    session.verify = entra.ca
    app = msal.ConfidentialClientApplication(
        entra.ep["automation_client_id"],
        client_credential="wrong-secret",
        authority="%s/%s" % (entra.host, TENANT),
        instance_discovery=False,
        azure_region=False,
        http_client=session,
    )
    result = app.acquire_token_for_client([GRAPH + "/.default"])
    assert result["error"] == "invalid_client" and result["error_codes"] == [7000215]


# -- the v1 endpoint -------------------------------------------------------------------------------
def test_v1_token_claims_and_signature(entra, emulators):
    r = entra.v1(resource=GRAPH, **entra.creds())
    assert r.status_code == 200, r.text
    body = r.json()
    for field in ("expires_in", "ext_expires_in", "expires_on", "not_before"):
        assert isinstance(body[field], str) and body[field].isdigit(), field  # v1 numbers are strings
    assert body["token_type"] == "Bearer" and body["resource"] == GRAPH
    token = body["access_token"]
    header = jwt.get_unverified_header(token)
    assert header["alg"] == "RS256" and header["typ"] == "JWT" and header["x5t"] == header["kid"]
    jwks = entra.get("/common/discovery/keys").json()
    jwk = next(k for k in jwks["keys"] if k["kid"] == header["kid"])
    c = jwt.decode(
        token,
        jwt.PyJWK(jwk).key,
        algorithms=["RS256"],
        audience=GRAPH,
        issuer="https://sts.windows.net/%s/" % TENANT,
    )
    assert c["ver"] == "1.0"
    assert c["appid"] == entra.ep["automation_client_id"] and c["appidacr"] == "1"
    assert c["tid"] == TENANT and c["idtyp"] == "app"
    sp_id = automation_sp_id(emulators)
    assert c["oid"] == sp_id and c["sub"] == sp_id
    assert set(c["roles"]) == SEEDED_ROLES
    assert c["nbf"] <= c["iat"] <= time.time() < c["exp"]
    assert int(body["expires_on"]) == c["exp"]
    # a wrong key does not verify it
    other = next(k for k in jwks["keys"] if k["kid"] != header["kid"])
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(token, jwt.PyJWK(other).key, algorithms=["RS256"], audience=GRAPH)


def test_v1_without_resource_is_azure_ad_graph(entra):
    # Kong's documented validation sends scope=; v1 ignores it and defaults to Azure AD Graph
    r = entra.v1(scope=GRAPH + "/.default", **entra.creds())
    assert r.status_code == 200, r.text
    assert r.json()["resource"] == "00000002-0000-0000-c000-000000000000"
    c = claims(r.json()["access_token"])
    assert c["aud"] == "00000002-0000-0000-c000-000000000000"
    assert "roles" not in c


def test_v1_audience_is_the_resource_as_requested(entra):
    for resource in (GRAPH + "/", GRAPH_APP_ID):
        r = entra.v1(resource=resource, **entra.creds())
        assert r.status_code == 200, r.text
        assert claims(r.json()["access_token"])["aud"] == resource


def test_token_endpoints_refuse_get(entra):
    # Kong's how-to uses curl --request GET; the real endpoint refuses it
    for path in ("/%s/oauth2/token" % TENANT, "/%s/oauth2/v2.0/token" % TENANT):
        body = aadsts(entra.get(path, params=entra.creds()), 400, 900561, "invalid_request")
        assert "only accepts POST, OPTIONS requests. Received a GET request." in body["error_description"]
    aadsts(entra.session.put(entra.host + "/%s/oauth2/token" % TENANT, verify=entra.ca), 400, 900561, "invalid_request")


# -- the v2 endpoint -------------------------------------------------------------------------------
def test_v2_token_numbers_are_ints_and_basic_auth_works(entra):
    r = entra.v2(scope=GRAPH + "/.default", client_info="1", unknown_field="x", **entra.creds())
    assert r.status_code == 200, r.text
    body = r.json()
    assert isinstance(body["expires_in"], int) and isinstance(body["ext_expires_in"], int)
    assert set(body) == {"token_type", "expires_in", "ext_expires_in", "access_token"}
    basic = base64.b64encode(
        ("%s:%s" % (entra.ep["automation_client_id"], entra.ep["automation_client_secret"])).encode()
    )
    r = entra.post(
        "/%s/oauth2/v2.0/token" % TENANT,
        data={"grant_type": "client_credentials", "scope": GRAPH + "/.default"},
        headers={"Authorization": "Basic " + basic.decode()},
    )
    assert r.status_code == 200, r.text
    assert claims(r.json()["access_token"])["appid"] == entra.ep["automation_client_id"]


def test_v2_request_errors(entra):
    creds = entra.creds()
    aadsts(entra.v2(scope=GRAPH + "/.default", resource=GRAPH, **creds), 400, 901002, "invalid_request")
    body = aadsts(entra.v2(**creds), 400, 900144, "invalid_request")
    assert "'scope'" in body["error_description"]
    aadsts(entra.v2(scope=GRAPH + "/User.Read", **creds), 400, 1002012, "invalid_scope")
    aadsts(entra.v2(scope=GRAPH + "/.default api://other/.default", **creds), 400, 700022, "invalid_scope")
    aadsts(entra.v2(grant_type="password", scope=GRAPH + "/.default", **creds), 400, 70003, "unsupported_grant_type")
    body = aadsts(entra.v2(scope=GRAPH + "/.default", client_secret="x"), 400, 900144, "invalid_request")
    assert "'client_id'" in body["error_description"]
    body = aadsts(entra.v2(client_id=creds["client_id"], scope=GRAPH + "/.default"), 401, 7000218, "invalid_client")
    # a JSON body is not a form: the endpoint sees no grant_type at all
    r = entra.post("/%s/oauth2/v2.0/token" % TENANT, json={"grant_type": "client_credentials", **creds})
    assert "'grant_type'" in aadsts(r, 400, 900144, "invalid_request")["error_description"]


def test_client_and_tenant_errors(entra):
    creds = entra.creds()
    scope = GRAPH + "/.default"
    corr = str(uuid.uuid4())
    r = entra.post(
        "/%s/oauth2/v2.0/token" % TENANT,
        data={
            "grant_type": "client_credentials",
            "scope": scope,
            "client_id": creds["client_id"],
            "client_secret": "no",
        },
        headers={"client-request-id": corr},
    )
    body = aadsts(r, 401, 7000215, "invalid_client")
    assert body["correlation_id"] == corr and r.headers["client-request-id"] == corr
    assert "Correlation ID: %s" % corr in body["error_description"]
    unknown = str(uuid.uuid4())
    body = aadsts(entra.v2(scope=scope, client_id=unknown, client_secret="x"), 400, 700016, "unauthorized_client")
    assert "Application with identifier '%s' was not found in the directory" % unknown in body["error_description"]
    missing_tenant = str(uuid.uuid4())
    aadsts(entra.v2(tenant=missing_tenant, scope=scope, **creds), 400, 90002, "invalid_request")
    aadsts(entra.v1(tenant="common", resource=GRAPH, **creds), 400, 50059, "invalid_request")
    body = aadsts(entra.v1(resource="https://unknown.example.com", **creds), 400, 500011, "invalid_resource")
    assert "resource principal named https://unknown.example.com was not found" in body["error_description"]
    # the tenant's domain name works as well as its id
    assert entra.v2(tenant=DOMAIN, scope=scope, **creds).status_code == 200


def test_app_without_service_principal_and_expired_seeded_secret(entra, emulators):
    no_sp, expired = str(uuid.uuid4()), str(uuid.uuid4())
    emulators.seed(
        {
            "tenants": [
                {
                    "id": TENANT,
                    "extra_apps": [
                        {"client_id": no_sp, "client_secret": "nosp-secret-0123456789", "service_principal": False},
                        {
                            "client_id": expired,
                            "client_secret": "old-secret-0123456789",
                            "secret_end": "2020-01-01T00:00:00Z",
                        },
                    ],
                }
            ]
        }
    )
    scope = GRAPH + "/.default"
    # the app exists but has no service principal in the tenant: AADSTS700016 (see entra.py)
    aadsts(
        entra.v2(scope=scope, client_id=no_sp, client_secret="nosp-secret-0123456789"),
        400,
        700016,
        "unauthorized_client",
    )
    body = aadsts(
        entra.v1(resource=GRAPH, client_id=expired, client_secret="old-secret-0123456789"),
        401,
        7000222,
        "invalid_client",
    )
    assert "client secret keys for app '%s' are expired" % expired in body["error_description"]
    # a wrong secret for the same app is still "invalid", not "expired"
    aadsts(entra.v1(resource=GRAPH, client_id=expired, client_secret="other"), 401, 7000215, "invalid_client")


def test_tokens_for_a_custom_api_carry_its_roles_and_version(entra, emulators):
    """The token version follows the resource (requestedAccessTokenVersion), not the endpoint."""
    h = {"Authorization": "Bearer " + entra.graph_token()}
    graph = emulators.endpoints["graph_url"] + "/v1.0"

    def call(method, path, **kw):
        return entra.session.request(method, graph + path, headers=h, verify=entra.ca, timeout=30, **kw)

    role_id = str(uuid.uuid4())
    suffix = uuid.uuid4().hex[:8]
    app = call(
        "POST",
        "/applications",
        json={
            "displayName": "orders-api-" + suffix,
            "api": {"requestedAccessTokenVersion": 2},
            "appRoles": [
                {
                    "id": role_id,
                    "value": "Orders.Read",
                    "displayName": "Read orders",
                    "description": "Read orders",
                    "allowedMemberTypes": ["Application"],
                    "isEnabled": True,
                }
            ],
        },
    )
    assert app.status_code == 201, app.text
    app = app.json()
    uri = "api://" + app["appId"]
    assert call("PATCH", "/applications/" + app["id"], json={"identifierUris": [uri]}).status_code == 204
    sp = call("POST", "/servicePrincipals", json={"appId": app["appId"]})
    assert sp.status_code == 201, sp.text
    assert [r["value"] for r in sp.json()["appRoles"]] == ["Orders.Read"]
    principal = automation_sp_id(emulators)
    a = call(
        "POST",
        "/servicePrincipals/%s/appRoleAssignedTo" % sp.json()["id"],
        json={"principalId": principal, "resourceId": sp.json()["id"], "appRoleId": role_id},
    )
    assert a.status_code == 201, a.text
    creds = entra.creds()
    for r in (entra.v2(scope=uri + "/.default", **creds), entra.v1(resource=uri, **creds)):
        assert r.status_code == 200, r.text
        c = claims(r.json()["access_token"])
        assert c["ver"] == "2.0" and c["aud"] == app["appId"] and c["azp"] == creds["client_id"]
        assert c["iss"] == "%s/%s/v2.0" % (entra.host, TENANT) and c["azpacr"] == "1"
        assert c["roles"] == ["Orders.Read"]
        assert "x5t" not in jwt.get_unverified_header(r.json()["access_token"])
    # Graph refuses a token meant for another API
    other = {"Authorization": "Bearer " + entra.v2(scope=uri + "/.default", **creds).json()["access_token"]}
    r = entra.session.get(graph + "/applications", headers=other, verify=entra.ca)
    assert r.status_code == 401 and r.json()["error"]["code"] == "InvalidAuthenticationToken"


def test_secrets_from_add_password_work_and_removed_ones_stop(entra, emulators):
    h = {"Authorization": "Bearer " + entra.graph_token()}
    graph = emulators.endpoints["graph_url"] + "/v1.0"
    s = entra.session
    app = s.post(
        graph + "/applications", json={"displayName": "dcr-" + uuid.uuid4().hex[:8]}, headers=h, verify=entra.ca
    )
    assert app.status_code == 201, app.text
    app = app.json()
    sp = s.post(graph + "/servicePrincipals", json={"appId": app["appId"]}, headers=h, verify=entra.ca)
    assert sp.status_code == 201, sp.text
    cred = s.post(graph + "/applications/%s/addPassword" % app["id"], json={}, headers=h, verify=entra.ca).json()
    r = entra.v1(resource=GRAPH, client_id=app["appId"], client_secret=cred["secretText"])
    assert r.status_code == 200, r.text
    c = claims(r.json()["access_token"])
    assert c["appid"] == app["appId"] and c["oid"] == sp.json()["id"] and "roles" not in c  # nothing consented
    gone = s.post(
        graph + "/applications/%s/removePassword" % app["id"], json={"keyId": cred["keyId"]}, headers=h, verify=entra.ca
    )
    assert gone.status_code == 204
    aadsts(
        entra.v1(resource=GRAPH, client_id=app["appId"], client_secret=cred["secretText"]),
        401,
        7000215,
        "invalid_client",
    )
    # once the application is deleted, the client is unknown
    assert s.delete(graph + "/applications/" + app["id"], headers=h, verify=entra.ca).status_code == 204
    aadsts(entra.v1(resource=GRAPH, client_id=app["appId"], client_secret="x"), 400, 700016, "unauthorized_client")


def test_discovery_is_never_faulted_but_tokens_are(entra, emulators):
    emulators.faults(fault_rate=1.0, fault_seed=3)
    try:
        for _ignored in range(5):
            assert entra.get("/%s/v2.0/.well-known/openid-configuration" % TENANT).status_code == 200
            assert entra.get("/common/discovery/keys").status_code == 200
        seen = set()
        for _ignored in range(12):
            try:
                r = entra.v2(scope=GRAPH + "/.default", **entra.creds())
            except requests.ConnectionError:
                seen.add("lost")  # the token was issued, the reply never arrived
                continue
            seen.add(r.status_code)
            assert r.headers["Retry-After"].isdigit()
            assert r.json()["error"] == "temporarily_unavailable" and r.json()["error_codes"][0] in (90055, 90033)
        assert seen == {429, 503, "lost"}
    finally:
        emulators.faults(fault_rate=0.0)


def test_clock_expires_the_automation_secret(start_emulators):
    """An isolated instance: moving the emulated clock past the secret's end gives 7000222,
    and Graph rejects tokens whose lifetime ended on the emulated clock."""
    emu = start_emulators()
    e = Entra(emu)
    token = e.graph_token()
    graph = emu.endpoints["graph_url"] + "/v1.0/applications"
    assert e.session.get(graph, headers={"Authorization": "Bearer " + token}, verify=e.ca).status_code == 200
    emu.advance_days(1)
    r = e.session.get(graph, headers={"Authorization": "Bearer " + token}, verify=e.ca)
    assert r.status_code == 401
    assert r.json()["error"]["message"] == "Lifetime validation failed, the token is expired."
    assert e.v1(resource=GRAPH, **e.creds()).status_code == 200
    emu.advance_days(2 * 366)
    body = aadsts(e.v1(resource=GRAPH, **e.creds()), 401, 7000222, "invalid_client")
    assert e.ep["automation_client_id"] in body["error_description"]
    assert emu.violations() == []


def test_state_lists_tenants_and_never_secrets(emulators):
    state = emulators.state()
    assert state["entra"]["tenants"] == [TENANT]
    assert state["entra"]["tokens_issued"] > 0
    dumped = json.dumps(state)
    assert emulators.endpoints["automation_client_secret"] not in dumped
    assert '"secretText"' not in dumped


def test_no_contract_violations(emulators):
    assert emulators.violations() == []
