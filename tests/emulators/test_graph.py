"""The Microsoft Graph emulator, over real HTTPS through serve.py: applications,
upsert, passwords, owners, service principals, consent objects, deleted items,
OData queries and paging, permissions, replication, errors and faults."""

from __future__ import annotations

import json
import re
import time
import uuid

import jwt
import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
GRAPH = "https://graph.microsoft.com"
GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000"
META = GRAPH + "/v1.0/$metadata#"
OWNED_BY = "18a4783c-866b-4cc7-a460-3d5e5662c884"
USER_READ = "e1fe6dd8-ba31-4d61-89e7-88639da4683d"
GRAPH_ROLE_IDS = {
    "Application.ReadWrite.OwnedBy": OWNED_BY,
    "Application.ReadWrite.All": "1bfefb4e-e0b5-418b-a88f-73c46d2cc8e9",
    "Application.Read.All": "9a5d68dd-52b0-4cc2-bd40-abcf44ac3a30",
    "AppRoleAssignment.ReadWrite.All": "06b708a9-e830-4db3-a914-8e69da51d44f",
    "DelegatedPermissionGrant.ReadWrite.All": "8e8e4742-1d95-4f68-9d56-6ee75648c72a",
    "Directory.Read.All": "7ab1d382-f21e-4acd-a863-ba3e13f7da61",
}
GUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,7})?Z$")


class Graph:
    """A keep-alive Graph client signed in as one identity (a v2 client-credentials token)."""

    def __init__(self, emu, client_id=None, secret=None):
        ep = emu.endpoints
        self.ca = ep["ca_path"]
        self.base = ep["graph_url"] + "/v1.0"
        self.session = requests.Session()
        self.session.trust_env = False  # else REQUESTS_CA_BUNDLE overrides the emulator's CA
        form = {
            "grant_type": "client_credentials",
            "client_id": client_id or ep["automation_client_id"],
            "client_secret": secret or ep["automation_client_secret"],
            "scope": GRAPH + "/.default",
        }
        r = self.session.post("%s/%s/oauth2/v2.0/token" % (ep["authority_host"], TENANT), data=form, verify=self.ca)
        assert r.status_code == 200, r.text
        self.token = r.json()["access_token"]
        self.claims = jwt.decode(self.token, options={"verify_signature": False})
        self.session.headers["Authorization"] = "Bearer " + self.token

    def __call__(self, method, path, **kw) -> requests.Response:
        url = path if path.startswith("https://") else self.base + path
        return self.session.request(method, url, verify=self.ca, timeout=30, **kw)

    def all(self, path, **kw) -> list[dict]:
        """Every item of a collection, following @odata.nextLink."""
        out, url = [], path
        while url:
            r = self(("GET"), url, **kw)
            assert r.status_code == 200, r.text
            out += r.json()["value"]
            url = r.json().get("@odata.nextLink")
        return out

    def new_app(self, prefix="app", **body) -> dict:
        r = self("POST", "/applications", json={"displayName": "%s-%s" % (prefix, uuid.uuid4().hex[:8]), **body})
        assert r.status_code == 201, r.text
        return r.json()

    def new_sp(self, app) -> dict:
        r = self("POST", "/servicePrincipals", json={"appId": app["appId"]})
        assert r.status_code == 201, r.text
        return r.json()


def graph_error(r, status, code, message=None) -> dict:
    """Assert R is Graph's error body with STATUS and CODE; the error object."""
    assert r.status_code == status, r.text
    err = r.json()["error"]
    assert err["code"] == code, err
    if message is not None:
        assert err["message"] == message, err
    inner = err["innerError"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d", inner["date"])
    assert GUID.match(inner["request-id"]) and inner["request-id"] == r.headers["request-id"]
    assert inner["client-request-id"] == r.headers["client-request-id"]
    return err


DENIED = "Insufficient privileges to complete the operation."


@pytest.fixture(scope="module")
def g(emulators):
    return Graph(emulators)


@pytest.fixture(scope="module")
def graph_sp(g):
    r = g("GET", "/servicePrincipals(appId='%s')" % GRAPH_APP_ID)
    assert r.status_code == 200, r.text
    return r.json()


def identity(emulators, roles, name="identity") -> tuple[str, str]:
    """Seed another app-only identity with ROLES consented; (client_id, secret)."""
    client_id, secret = str(uuid.uuid4()), "s3cret~" + uuid.uuid4().hex
    emulators.seed(
        {
            "tenants": [
                {
                    "id": TENANT,
                    "extra_apps": [
                        {"client_id": client_id, "client_secret": secret, "display_name": name, "roles": roles}
                    ],
                }
            ]
        }
    )
    return client_id, secret


# -- authentication and Graph's error shape --------------------------------------------------------
def test_requests_need_a_graph_token(emulators, g):
    anon = requests.Session()
    anon.trust_env = False
    r = anon.get(g.base + "/applications", verify=g.ca)
    graph_error(r, 401, "InvalidAuthenticationToken", "Access token is empty.")
    assert r.headers["WWW-Authenticate"].startswith("Bearer realm=")
    r = anon.get(g.base + "/applications", verify=g.ca, headers={"Authorization": "Bearer not-a-jwt"})
    graph_error(r, 401, "InvalidAuthenticationToken")
    # a token for Azure AD Graph (v1 without resource) is not a Microsoft Graph token
    ep = emulators.endpoints
    form = {
        "grant_type": "client_credentials",
        "client_id": ep["automation_client_id"],
        "client_secret": ep["automation_client_secret"],
    }
    aad = anon.post("%s/%s/oauth2/token" % (ep["authority_host"], TENANT), data=form, verify=g.ca).json()
    r = anon.get(g.base + "/applications", verify=g.ca, headers={"Authorization": "Bearer " + aad["access_token"]})
    graph_error(r, 401, "InvalidAuthenticationToken", "Access token validation failure. Invalid audience.")
    # the right claims signed by someone else's key
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    header = jwt.get_unverified_header(g.token)
    forged = jwt.encode(g.claims, pem, algorithm="RS256", headers={"kid": header["kid"], "x5t": header["x5t"]})
    r = anon.get(g.base + "/applications", verify=g.ca, headers={"Authorization": "Bearer " + forged})
    graph_error(r, 401, "InvalidAuthenticationToken", "Access token validation failure. Invalid signature.")


def test_error_shape_and_request_ids(g):
    client_request_id = str(uuid.uuid4())
    r = g("GET", "/applications/" + str(uuid.uuid4()), headers={"client-request-id": client_request_id})
    err = graph_error(r, 404, "Request_ResourceNotFound")
    assert err["message"].endswith("does not exist or one of its queried reference-property objects are not present.")
    assert r.headers["client-request-id"] == client_request_id == err["innerError"]["client-request-id"]
    assert r.headers["Content-Type"].startswith("application/json")
    graph_error(
        g("GET", "/applications/not-a-guid"), 400, "Request_BadRequest", "Invalid object identifier 'not-a-guid'."
    )


def test_unknown_paths_methods_and_bodies(g):
    graph_error(g("GET", "/nosuchthing"), 400, "BadRequest", "Resource not found for the segment 'nosuchthing'.")
    r = g("GET", g.base.replace("/v1.0", "/v9.9") + "/applications")
    graph_error(r, 400, "BadRequest", "Invalid version: v9.9")
    r = g("PUT", "/applications", json={})
    graph_error(r, 405, "Request_BadRequest", "Specified HTTP method is not allowed for the request uri.")
    r = g("POST", "/applications", data=b"{not json", headers={"Content-Type": "application/json"})
    assert graph_error(r, 400, "BadRequest")["message"].startswith("Unable to read JSON request payload.")
    # the OpenAPI contract rejects a wrongly typed property
    err = graph_error(g("POST", "/applications", json={"displayName": 5}), 400, "Request_BadRequest")
    assert "'displayName'" in err["message"] and err["details"][0]["target"] == "displayName"


# -- the seeded tenant -----------------------------------------------------------------------------
def test_microsoft_graph_service_principal_is_seeded_with_real_ids(g, graph_sp):
    assert graph_sp["displayName"] == "Microsoft Graph" and graph_sp["appId"] == GRAPH_APP_ID
    assert graph_sp["@odata.context"] == META + "servicePrincipals/$entity"
    roles = {r["value"]: r["id"] for r in graph_sp["appRoles"]}
    for value, role_id in GRAPH_ROLE_IDS.items():
        assert roles[value] == role_id
    assert all(r["allowedMemberTypes"] == ["Application"] and r["isEnabled"] for r in graph_sp["appRoles"])
    scopes = {s["value"]: s for s in graph_sp["oauth2PermissionScopes"]}
    assert scopes["User.Read"]["id"] == USER_READ and scopes["User.Read"]["type"] == "User"
    assert {"openid", "profile", "offline_access"} <= set(scopes)
    # no application object: Microsoft owns it, not the tenant
    graph_error(g("GET", "/applications(appId='%s')" % GRAPH_APP_ID), 404, "Request_ResourceNotFound")
    found = g(
        "GET", "/servicePrincipals", params={"$filter": "displayName eq 'Microsoft Graph'", "$select": "id,appRoles"}
    )
    assert [s["id"] for s in found.json()["value"]] == [graph_sp["id"]]
    assert set(found.json()["value"][0]) == {"id", "appRoles"}


def test_automation_identity_is_consented(emulators, g, graph_sp):
    me = g("GET", "/servicePrincipals(appId='%s')" % emulators.endpoints["automation_client_id"]).json()
    assert g.claims["oid"] == me["id"]
    assigned = g.all("/servicePrincipals/%s/appRoleAssignments" % me["id"])
    role_ids = {a["appRoleId"] for a in assigned if a["resourceId"] == graph_sp["id"]}
    values = {r["id"]: r["value"] for r in graph_sp["appRoles"]}
    assert {values[i] for i in role_ids} == set(g.claims["roles"])


# -- applications ----------------------------------------------------------------------------------
def test_create_get_and_patch_an_application(g):
    name = "konnect-dcr-admin-" + uuid.uuid4().hex[:8]
    body = {
        "displayName": name,
        "signInAudience": "AzureADMyOrg",
        "requiredResourceAccess": [
            {
                "resourceAppId": GRAPH_APP_ID,
                "resourceAccess": [{"id": OWNED_BY, "type": "Role"}, {"id": USER_READ, "type": "Scope"}],
            }
        ],
    }
    r = g("POST", "/applications", json=body)
    assert r.status_code == 201, r.text
    app = r.json()
    assert app["@odata.context"] == META + "applications/$entity"
    assert GUID.match(app["id"]) and GUID.match(app["appId"]) and app["id"] != app["appId"]
    assert app["displayName"] == name and app["uniqueName"] is None
    assert app["passwordCredentials"] == [] and app["keyCredentials"] == [] and app["identifierUris"] == []
    assert app["publisherDomain"] == "contoso.onmicrosoft.com" and ISO.match(app["createdDateTime"])
    assert app["requiredResourceAccess"] == body["requiredResourceAccess"]
    assert app["api"]["requestedAccessTokenVersion"] is None
    for path in ("/applications/" + app["id"], "/applications(appId='%s')" % app["appId"]):
        got = g("GET", path)
        assert got.status_code == 200 and got.json()["id"] == app["id"]
    # PATCH: 204; complex properties merge, collections are replaced
    r = g(
        "PATCH",
        "/applications/" + app["id"],
        json={"api": {"requestedAccessTokenVersion": 2}, "notes": "n", "requiredResourceAccess": []},
    )
    assert r.status_code == 204 and r.content == b""
    got = g("GET", "/applications/" + app["id"]).json()
    assert got["api"]["requestedAccessTokenVersion"] == 2 and got["api"]["oauth2PermissionScopes"] == []
    assert got["notes"] == "n" and got["requiredResourceAccess"] == []
    r = g("PATCH", "/applications(appId='%s')" % app["appId"], json={"displayName": name + "-x"})
    assert r.status_code == 204 and g("GET", "/applications/" + app["id"]).json()["displayName"] == name + "-x"


def test_application_write_validation(g):
    app = g.new_app()
    path = "/applications/" + app["id"]
    cases = [
        ({"appId": str(uuid.uuid4())}, "Property 'appId' is read-only and cannot be set."),
        (
            {"noSuchProperty": 1},
            "Property 'noSuchProperty' does not exist as a declared property or extension property.",
        ),
        ({"displayName": ""}, "Invalid value specified for property 'displayName' of resource 'Application'."),
        (
            {"signInAudience": "Everyone"},
            "Invalid value specified for property 'signInAudience' of resource 'Application'.",
        ),
        ({"signInAudience": "PersonalMicrosoftAccount"}, "Property api.requestedAccessTokenVersion is invalid."),
        (
            {"passwordCredentials": [{"displayName": "x"}]},
            "New password credentials must be generated using service actions.",
        ),
        (
            {"identifierUris": ["https://evil.example.com/api"]},
            "Values of identifierUris property must use a verified domain of the organization or its subdomain: "
            "'https://evil.example.com/api'",
        ),
        (
            {
                "requiredResourceAccess": [
                    {"resourceAppId": GRAPH_APP_ID, "resourceAccess": [{"id": OWNED_BY, "type": "App"}]}
                ]
            },
            "Invalid value specified for property 'requiredResourceAccess' of resource 'Application'.",
        ),
    ]
    for body, message in cases:
        graph_error(g("PATCH", path, json=body), 400, "Request_BadRequest", message)
    graph_error(g("POST", "/applications", json={"notes": "no name"}), 400, "Request_BadRequest")
    r = g("POST", "/applications", json={"displayName": "x", "passwordCredentials": [{"keyId": str(uuid.uuid4())}]})
    graph_error(
        r, 400, "Request_BadRequest", "Invalid value specified for property 'keyId' of resource 'PasswordCredential'."
    )
    # identifier URIs are unique in the tenant
    uri = "api://" + app["appId"]
    assert g("PATCH", path, json={"identifierUris": [uri]}).status_code == 204
    other = g.new_app()
    r = g("PATCH", "/applications/" + other["id"], json={"identifierUris": [uri]})
    graph_error(
        r, 400, "Request_BadRequest", "Another object with the same value for property identifierUris already exists."
    )


def test_password_in_create_body_returns_its_secret_once(g):
    app = g.new_app(passwordCredentials=[{"displayName": "initial"}])
    (cred,) = app["passwordCredentials"]
    assert len(cred["secretText"]) == 40 and cred["hint"] == cred["secretText"][:3]
    again = g("GET", "/applications/" + app["id"]).json()["passwordCredentials"]
    assert again[0]["secretText"] is None and again[0]["keyId"] == cred["keyId"]


def test_delete_restore_and_purge(g):
    app = g.new_app()
    sp = g.new_sp(app)
    assert g("DELETE", "/applications/" + app["id"]).status_code == 204
    graph_error(g("GET", "/applications/" + app["id"]), 404, "Request_ResourceNotFound")
    # the home tenant's service principal went with it
    graph_error(g("GET", "/servicePrincipals/" + sp["id"]), 404, "Request_ResourceNotFound")
    deleted = g.all("/directory/deletedItems/microsoft.graph.application")
    mine = [d for d in deleted if d["id"] == app["id"]]
    assert len(mine) == 1 and ISO.match(mine[0]["deletedDateTime"])
    one = g("GET", "/directory/deletedItems/" + app["id"]).json()
    assert one["@odata.type"] == "#microsoft.graph.application" and one["appId"] == app["appId"]
    r = g("POST", "/directory/deletedItems/%s/restore" % app["id"], json={})
    assert r.status_code == 200 and r.json()["deletedDateTime"] is None
    assert g("GET", "/applications/" + app["id"]).status_code == 200
    # restoring an application does not restore its service principal
    graph_error(g("GET", "/servicePrincipals/" + sp["id"]), 404, "Request_ResourceNotFound")
    r = g("POST", "/directory/deletedItems/%s/microsoft.graph.restore" % sp["id"], json={})
    assert r.status_code == 200 and r.json()["@odata.type"] == "#microsoft.graph.servicePrincipal"
    assert g("DELETE", "/applications(appId='%s')" % app["appId"]).status_code == 204
    assert g("DELETE", "/directory/deletedItems/" + app["id"]).status_code == 204
    graph_error(g("GET", "/directory/deletedItems/" + app["id"]), 404, "Request_ResourceNotFound")
    assert app["id"] not in {d["id"] for d in g.all("/directory/deletedItems/microsoft.graph.application")}
    # the spec marks the restore body as required
    graph_error(g("POST", "/directory/deletedItems/%s/restore" % sp["id"]), 400, "BadRequest")


# -- uniqueName upsert -----------------------------------------------------------------------------
def test_upsert_by_unique_name(emulators, g):
    unique = "konnect-dcr-%s" % uuid.uuid4().hex[:8]
    path = "/applications(uniqueName='%s')" % unique
    graph_error(g("PATCH", path, json={"displayName": "x"}), 404, "Request_ResourceNotFound")
    graph_error(g("GET", path), 404, "Request_ResourceNotFound")
    # creating needs a displayName
    r = g("PATCH", path, json={"notes": "x"}, headers={"Prefer": "create-if-missing"})
    graph_error(r, 400, "Request_BadRequest")
    r = g(
        "PATCH", path, json={"displayName": "x", "passwordCredentials": [{}]}, headers={"Prefer": "create-if-missing"}
    )
    graph_error(r, 400, "Request_BadRequest", "New password credentials must be generated using service actions.")
    r = g("PATCH", path, json={"displayName": "DCR admin"}, headers={"Prefer": "create-if-missing"})
    assert r.status_code == 201, r.text
    created = r.json()
    assert created["uniqueName"] == unique and created["displayName"] == "DCR admin"
    r = g("PATCH", path, json={"displayName": "DCR admin 2"}, headers={"Prefer": "create-if-missing"})
    assert r.status_code == 204 and r.content == b""
    got = g("GET", path).json()
    assert got["id"] == created["id"] and got["displayName"] == "DCR admin 2"
    apps = emulators.state()["graph"]["tenants"][TENANT]["applications"]
    assert [a["id"] for a in apps if a["uniqueName"] == unique] == [created["id"]]
    # quotes in the key are doubled, as in any OData literal
    quoted = "o'brien-%s" % uuid.uuid4().hex[:6]
    r = g(
        "PATCH",
        "/applications(uniqueName='%s')" % quoted.replace("'", "''"),
        json={"displayName": quoted},
        headers={"Prefer": "create-if-missing"},
    )
    assert r.status_code == 201 and r.json()["uniqueName"] == quoted
    assert g("DELETE", path).status_code == 204
    graph_error(g("GET", path), 404, "Request_ResourceNotFound")


# -- passwords -------------------------------------------------------------------------------------
def test_add_and_remove_password(emulators, g):
    app = g.new_app()
    r = g("POST", "/applications/%s/addPassword" % app["id"], json={"passwordCredential": {"displayName": "konnect"}})
    assert r.status_code == 200, r.text
    cred = r.json()
    assert cred["@odata.context"] == META + "microsoft.graph.passwordCredential"
    assert 16 <= len(cred["secretText"]) <= 64 and cred["hint"] == cred["secretText"][:3]
    assert GUID.match(cred["keyId"]) and cred["customKeyIdentifier"] is None and cred["displayName"] == "konnect"
    start, end = cred["startDateTime"], cred["endDateTime"]
    assert ISO.match(start) and ISO.match(end)
    assert int(end[:4]) == int(start[:4]) + 2 and end[4:10] == start[4:10]  # two years by default
    r = g(
        "POST",
        "/applications/%s/microsoft.graph.addPassword" % app["id"],
        json={"passwordCredential": {"displayName": "short", "endDateTime": "2099-01-01T00:00:00Z"}},
    )
    second = r.json()
    assert r.status_code == 200 and second["endDateTime"] == "2099-01-01T00:00:00Z"
    listed = g("GET", "/applications/%s" % app["id"], params={"$select": "id,passwordCredentials"}).json()
    assert listed["@odata.context"] == META + "applications(id,passwordCredentials)/$entity"
    assert sorted(c["keyId"] for c in listed["passwordCredentials"]) == sorted([cred["keyId"], second["keyId"]])
    assert all(c["secretText"] is None for c in listed["passwordCredentials"])
    dumped = json.dumps(emulators.state())
    assert cred["secretText"] not in dumped and second["secretText"] not in dumped
    r = g("POST", "/applications/%s/removePassword" % app["id"], json={"keyId": cred["keyId"]})
    assert r.status_code == 204
    keys = [c["keyId"] for c in g("GET", "/applications/" + app["id"]).json()["passwordCredentials"]]
    assert keys == [second["keyId"]]
    graph_error(
        g("POST", "/applications/%s/removePassword" % app["id"], json={"keyId": cred["keyId"]}),
        404,
        "Request_ResourceNotFound",
    )
    graph_error(
        g("POST", "/applications/%s/removePassword" % app["id"], json={"keyId": "nope"}), 400, "Request_BadRequest"
    )
    r = g(
        "POST",
        "/applications/%s/addPassword" % app["id"],
        json={"passwordCredential": {"endDateTime": "2001-01-01T00:00:00Z"}},
    )
    graph_error(r, 400, "Request_BadRequest")


# -- owners ----------------------------------------------------------------------------------------
def test_creator_owns_its_applications(emulators, g):
    app = g.new_app()
    owners = g("GET", "/applications/%s/owners" % app["id"]).json()["value"]
    assert [(o["id"], o["@odata.type"]) for o in owners] == [(g.claims["oid"], "#microsoft.graph.servicePrincipal")]
    refs = g("GET", "/applications/%s/owners/$ref" % app["id"]).json()["value"]
    assert refs == [GRAPH + "/v1.0/directoryObjects/" + g.claims["oid"]]
    other_id, _ignored = identity(emulators, [])
    other_sp = g("GET", "/servicePrincipals(appId='%s')" % other_id).json()
    ref = {"@odata.id": GRAPH + "/v1.0/directoryObjects/" + other_sp["id"]}
    assert g("POST", "/applications/%s/owners/$ref" % app["id"], json=ref).status_code == 204
    r = g("POST", "/applications/%s/owners/$ref" % app["id"], json=ref)
    graph_error(
        r,
        400,
        "Request_BadRequest",
        "One or more added object references already exist for the following modified properties: 'owners'.",
    )
    ids = {o["id"] for o in g.all("/applications/%s/owners" % app["id"])}
    assert ids == {g.claims["oid"], other_sp["id"]}
    assert g("DELETE", "/applications/%s/owners/%s/$ref" % (app["id"], other_sp["id"])).status_code == 204
    graph_error(
        g("DELETE", "/applications/%s/owners/%s/$ref" % (app["id"], other_sp["id"])), 404, "Request_ResourceNotFound"
    )


# -- permissions from the token's roles ------------------------------------------------------------
def test_owned_by_may_only_touch_what_it_owns(emulators, g):
    client_id, secret = identity(emulators, ["Application.ReadWrite.OwnedBy"], "konnect-dcr-admin")
    dcr = Graph(emulators, client_id, secret)
    assert dcr.claims["roles"] == ["Application.ReadWrite.OwnedBy"]
    # what Konnect does as the DCR initial client: create, add a password, delete
    mine = dcr.new_app("portal-app")
    assert [o["id"] for o in dcr.all("/applications/%s/owners" % mine["id"])] == [dcr.claims["oid"]]
    assert dcr("POST", "/applications/%s/addPassword" % mine["id"], json={}).status_code == 200
    assert dcr("PATCH", "/applications/" + mine["id"], json={"notes": "mine"}).status_code == 204
    assert dcr("POST", "/servicePrincipals", json={"appId": mine["appId"]}).status_code == 201
    # it can read everything (the docs say OwnedBy lists all apps) ...
    theirs = g.new_app()
    assert dcr("GET", "/applications/" + theirs["id"]).status_code == 200
    assert theirs["id"] in {a["id"] for a in dcr.all("/applications", params={"$select": "id", "$top": "50"})}
    # ... but change only what it owns
    for method, path, body in [
        ("PATCH", "/applications/" + theirs["id"], {"notes": "x"}),
        ("DELETE", "/applications/" + theirs["id"], None),
        ("POST", "/applications/%s/addPassword" % theirs["id"], {}),
        ("POST", "/applications/%s/removePassword" % theirs["id"], {"keyId": str(uuid.uuid4())}),
        ("POST", "/servicePrincipals", {"appId": theirs["appId"]}),
        (
            "POST",
            "/applications/%s/owners/$ref" % mine["id"],
            {"@odata.id": GRAPH + "/v1.0/directoryObjects/" + g.claims["oid"]},
        ),
    ]:
        graph_error(dcr(method, path, json=body), 403, "Authorization_RequestDenied", DENIED)
    graph_sp_id = dcr("GET", "/servicePrincipals(appId='%s')" % GRAPH_APP_ID).json()["id"]
    r = dcr(
        "POST",
        "/servicePrincipals/%s/appRoleAssignedTo" % graph_sp_id,
        json={"principalId": dcr.claims["oid"], "resourceId": graph_sp_id, "appRoleId": OWNED_BY},
    )
    graph_error(r, 403, "Authorization_RequestDenied", DENIED)
    graph_error(dcr("GET", "/oauth2PermissionGrants"), 403, "Authorization_RequestDenied", DENIED)
    assert dcr("DELETE", "/applications/" + mine["id"]).status_code == 204
    assert dcr("DELETE", "/directory/deletedItems/" + mine["id"]).status_code == 204


def test_consent_needs_its_own_permissions(emulators, graph_sp):
    # AppRoleAssignment.ReadWrite.All alone is not enough: it needs Application.Read.All too
    alone = Graph(emulators, *identity(emulators, ["AppRoleAssignment.ReadWrite.All"]))
    body = {"principalId": alone.claims["oid"], "resourceId": graph_sp["id"], "appRoleId": OWNED_BY}
    r = alone("POST", "/servicePrincipals/%s/appRoleAssignedTo" % graph_sp["id"], json=body)
    graph_error(r, 403, "Authorization_RequestDenied", DENIED)
    with_read = Graph(emulators, *identity(emulators, ["AppRoleAssignment.ReadWrite.All", "Application.Read.All"]))
    body["principalId"] = with_read.claims["oid"]
    r = with_read("POST", "/servicePrincipals/%s/appRoleAssignedTo" % graph_sp["id"], json=body)
    assert r.status_code == 201, r.text
    # Application.Read.All cannot create applications; no roles at all cannot even read
    graph_error(with_read("POST", "/applications", json={"displayName": "x"}), 403, "Authorization_RequestDenied")
    nobody = Graph(emulators, *identity(emulators, []))
    assert "roles" not in nobody.claims
    graph_error(nobody("GET", "/applications"), 403, "Authorization_RequestDenied", DENIED)
    grants = Graph(emulators, *identity(emulators, ["DelegatedPermissionGrant.ReadWrite.All"]))
    assert grants("GET", "/oauth2PermissionGrants").status_code == 200
    graph_error(grants("GET", "/applications"), 403, "Authorization_RequestDenied", DENIED)


# -- service principals ----------------------------------------------------------------------------
def test_service_principals(g):
    role = {
        "id": str(uuid.uuid4()),
        "value": "Things.Read",
        "displayName": "Read things",
        "description": "d",
        "allowedMemberTypes": ["Application"],
    }
    scope = {
        "id": str(uuid.uuid4()),
        "value": "things",
        "type": "User",
        "adminConsentDisplayName": "Things",
        "adminConsentDescription": "d",
        "isEnabled": True,
    }
    app = g.new_app(appRoles=[role], api={"oauth2PermissionScopes": [scope]})
    sp = g.new_sp(app)
    assert sp["@odata.context"] == META + "servicePrincipals/$entity"
    assert sp["appId"] == app["appId"] and sp["displayName"] == app["displayName"]
    assert sp["servicePrincipalType"] == "Application" and sp["appOwnerOrganizationId"] == TENANT
    assert sp["accountEnabled"] is True and sp["servicePrincipalNames"] == [app["appId"]]
    # the app's permissions are published on its service principal
    assert [(r["id"], r["value"], r["isEnabled"], r["origin"]) for r in sp["appRoles"]] == [
        (role["id"], "Things.Read", True, "Application")
    ]
    assert [s["value"] for s in sp["oauth2PermissionScopes"]] == ["things"]
    r = g("POST", "/servicePrincipals", json={"appId": app["appId"]})
    err = graph_error(r, 409, "Request_MultipleObjectsWithSameKeyValue")
    assert app["appId"] in err["message"]
    missing = str(uuid.uuid4())
    r = g("POST", "/servicePrincipals", json={"appId": missing})
    graph_error(
        r,
        400,
        "Request_BadRequest",
        "The appId '%s' of the service principal does not reference a valid application object." % missing,
    )
    assert g("GET", "/servicePrincipals(appId='%s')" % app["appId"]).json()["id"] == sp["id"]
    found = g("GET", "/servicePrincipals", params={"$filter": "appId eq '%s'" % app["appId"]}).json()["value"]
    assert [s["id"] for s in found] == [sp["id"]]
    assert g("PATCH", "/servicePrincipals/" + sp["id"], json={"appRoleAssignmentRequired": True}).status_code == 204
    assert g("GET", "/servicePrincipals/" + sp["id"]).json()["appRoleAssignmentRequired"] is True
    graph_error(g("PATCH", "/servicePrincipals/" + sp["id"], json={"appId": missing}), 400, "Request_BadRequest")
    # upsert by appId creates the service principal when asked to
    other = g.new_app()
    path = "/servicePrincipals(appId='%s')" % other["appId"]
    graph_error(g("PATCH", path, json={}), 404, "Request_ResourceNotFound")
    r = g("PATCH", path, json={"tags": ["t"]}, headers={"Prefer": "create-if-missing"})
    assert r.status_code == 201 and r.json()["tags"] == ["t"]
    assert g("DELETE", "/servicePrincipals/" + r.json()["id"]).status_code == 204
    graph_error(g("DELETE", "/servicePrincipals(appId='%s')" % GRAPH_APP_ID), 403, "Authorization_RequestDenied")


# -- admin consent: app role assignments and delegated grants --------------------------------------
def test_app_role_assignments(emulators, g, graph_sp):
    app = g.new_app()
    sp = g.new_sp(app)
    body = {"principalId": sp["id"], "resourceId": graph_sp["id"], "appRoleId": OWNED_BY}
    r = g("POST", "/servicePrincipals/%s/appRoleAssignedTo" % graph_sp["id"], json=body)
    assert r.status_code == 201, r.text
    a = r.json()
    assert not GUID.match(a["id"]) and re.fullmatch(r"[A-Za-z0-9_-]{43}", a["id"])  # opaque, not a GUID
    assert a["principalType"] == "ServicePrincipal" and a["resourceDisplayName"] == "Microsoft Graph"
    assert a["principalDisplayName"] == app["displayName"] and a["deletedDateTime"] is None
    assert (a["principalId"], a["resourceId"], a["appRoleId"]) == (sp["id"], graph_sp["id"], OWNED_BY)
    r = g("POST", "/servicePrincipals/%s/appRoleAssignedTo" % graph_sp["id"], json=body)
    graph_error(r, 400, "Request_BadRequest", "Permission being assigned already exists on the object.")
    r = g("POST", "/servicePrincipals/%s/appRoleAssignments" % sp["id"], json=body)
    graph_error(r, 400, "Request_BadRequest", "Permission being assigned already exists on the object.")
    mine = g(
        "GET",
        "/servicePrincipals/%s/appRoleAssignments" % sp["id"],
        params={"$filter": "resourceId eq '%s'" % graph_sp["id"]},
    ).json()
    assert [x["id"] for x in mine["value"]] == [a["id"]]
    assert mine["@odata.context"] == META + "servicePrincipals('%s')/appRoleAssignments" % sp["id"]
    got = g("GET", "/servicePrincipals/%s/appRoleAssignedTo/%s" % (graph_sp["id"], a["id"]))
    assert got.status_code == 200 and got.json()["id"] == a["id"]
    # the role reaches the app's tokens
    cred = g("POST", "/applications/%s/addPassword" % app["id"], json={}).json()
    assert Graph(emulators, app["appId"], cred["secretText"]).claims["roles"] == ["Application.ReadWrite.OwnedBy"]
    bad = dict(body, appRoleId=str(uuid.uuid4()))
    r = g("POST", "/servicePrincipals/%s/appRoleAssignments" % sp["id"], json=bad)
    graph_error(
        r, 400, "Request_BadRequest", "Permission being assigned was not found on application '%s'." % GRAPH_APP_ID
    )
    unknown = dict(body, principalId=str(uuid.uuid4()))
    graph_error(
        g("POST", "/servicePrincipals/%s/appRoleAssignedTo" % graph_sp["id"], json=unknown),
        404,
        "Request_ResourceNotFound",
    )
    r = g("DELETE", "/servicePrincipals/%s/appRoleAssignedTo/%s" % (graph_sp["id"], a["id"]))
    assert r.status_code == 204
    assert g.all("/servicePrincipals/%s/appRoleAssignments" % sp["id"]) == []
    assert Graph(emulators, app["appId"], cred["secretText"]).claims.get("roles") is None


def test_delegated_permission_grants(g, graph_sp):
    sp = g.new_sp(g.new_app())
    body = {"clientId": sp["id"], "consentType": "AllPrincipals", "resourceId": graph_sp["id"], "scope": "User.Read"}
    r = g("POST", "/oauth2PermissionGrants", json=body)
    assert r.status_code == 201, r.text
    grant = r.json()
    assert grant["@odata.context"] == META + "oauth2PermissionGrants/$entity"
    assert not GUID.match(grant["id"]) and grant["principalId"] is None and grant["scope"] == "User.Read"
    r = g("POST", "/oauth2PermissionGrants", json=dict(body, scope="openid"))
    graph_error(r, 409, "Request_MultipleObjectsWithSameKeyValue", "Permission entry already exists.")
    r = g("POST", "/oauth2PermissionGrants", json=dict(body, principalId=str(uuid.uuid4())))
    graph_error(r, 400, "Request_BadRequest")
    filt = "clientId eq '%s' and consentType eq 'AllPrincipals'" % sp["id"]
    assert [x["id"] for x in g.all("/oauth2PermissionGrants", params={"$filter": filt})] == [grant["id"]]
    assert [x["id"] for x in g.all("/servicePrincipals/%s/oauth2PermissionGrants" % sp["id"])] == [grant["id"]]
    path = "/oauth2PermissionGrants/" + grant["id"]
    assert g("PATCH", path, json={"scope": "User.Read openid"}).status_code == 204
    assert g("GET", path).json()["scope"] == "User.Read openid"
    graph_error(
        g("PATCH", path, json={"principalId": str(uuid.uuid4())}),
        400,
        "Request_BadRequest",
        "Property cannot be updated: principalId",
    )
    missing = str(uuid.uuid4())
    graph_error(
        g("POST", "/oauth2PermissionGrants", json=dict(body, clientId=missing)), 404, "Request_ResourceNotFound"
    )
    assert g("DELETE", path).status_code == 204
    graph_error(g("GET", path), 404, "Request_ResourceNotFound")


# -- OData queries and paging ----------------------------------------------------------------------
def test_filter_select_and_quoting(g):
    tag = uuid.uuid4().hex[:8]
    name = "O'Brien's app %s" % tag
    app = g.new_app(displayName=name)
    quoted = name.replace("'", "''")
    found = g.all("/applications", params={"$filter": "displayName eq '%s'" % quoted})
    assert [a["id"] for a in found] == [app["id"]]
    # directory string comparisons ignore case, so exact matching is the client's job
    found = g.all("/applications", params={"$filter": "displayName eq '%s'" % quoted.upper()})
    assert [a["id"] for a in found] == [app["id"]]
    found = g.all("/applications", params={"$filter": "startswith(displayName,'o''brien''s app %s')" % tag})
    assert [a["id"] for a in found] == [app["id"]]
    found = g.all("/applications", params={"$filter": "appId eq '%s' or appId eq '%s'" % (app["appId"], GRAPH_APP_ID)})
    assert [a["id"] for a in found] == [app["id"]]
    found = g.all("/applications", params={"$filter": "id in ('%s', '%s')" % (app["id"], uuid.uuid4())})
    assert [a["id"] for a in found] == [app["id"]]
    graph_error(
        g("GET", "/applications", params={"$filter": "appId in ('%s')" % app["appId"]}), 400, "Request_UnsupportedQuery"
    )  # the spec allows only eq on an application's appId
    r = g("GET", "/applications", params={"$filter": "appId eq '%s'" % app["appId"], "$select": "appId,displayName"})
    assert r.json()["@odata.context"] == META + "applications(appId,displayName)"
    assert r.json()["value"] == [{"id": app["id"], "appId": app["appId"], "displayName": name}]
    r = g(
        "GET",
        "/servicePrincipals",
        params={"$filter": "servicePrincipalNames/any(c:c eq 'https://graph.microsoft.com')", "$select": "appId"},
    )
    assert [s["appId"] for s in r.json()["value"]] == [GRAPH_APP_ID]
    r = g("GET", "/applications", params={"$filter": "notes eq 'x'"})
    graph_error(
        r,
        400,
        "Request_UnsupportedQuery",
        "Unsupported or invalid query filter clause specified for property 'notes' of resource 'Application'.",
    )
    graph_error(g("GET", "/applications", params={"$filter": "displayName eq"}), 400, "BadRequest")
    graph_error(g("GET", "/applications", params={"$filter": "appId eq %s" % app["appId"]}), 400, "BadRequest")
    r = g("GET", "/applications", params={"$select": "id,nonsense"})
    graph_error(r, 400, "BadRequest")
    graph_error(g("GET", "/applications", params={"$orderby": "displayName"}), 400, "Request_UnsupportedQuery")
    # ne is an advanced query: ConsistencyLevel: eventual and $count=true
    params = {"$filter": "displayName ne 'x'"}
    err = graph_error(g("GET", "/applications", params=params), 400, "Request_UnsupportedQuery")
    assert "ConsistencyLevel" in err["message"]
    r = g("GET", "/applications", params={**params, "$count": "true"}, headers={"ConsistencyLevel": "eventual"})
    assert r.status_code == 200 and r.json()["@odata.count"] >= 1
    r = g("GET", "/applications/$count", headers={"ConsistencyLevel": "eventual"})
    assert r.status_code == 200 and int(r.text) >= 1


def test_paging_with_next_link(g):
    tag = "page-%s" % uuid.uuid4().hex[:8]
    ids = {g.new_app(tag)["id"] for _ignored in range(12)}
    params = {"$filter": "startswith(displayName,'%s')" % tag, "$select": "id,displayName"}
    first = g("GET", "/applications", params=params).json()
    assert len(first["value"]) == 5  # the emulator's small default page
    link = first["@odata.nextLink"]
    assert link.startswith(g.base + "/applications?") and "$skiptoken=" in link and "$filter=" in link
    seen = [a["id"] for a in g.all("/applications", params=params)]
    assert len(seen) == len(set(seen)) == 12 and set(seen) == ids
    pages = []
    url = "/applications"
    kw = {"params": {**params, "$top": "3"}}
    while url:
        body = g("GET", url, **kw).json()
        pages.append(len(body["value"]))
        url, kw = body.get("@odata.nextLink"), {}
    assert pages == [3, 3, 3, 3]
    graph_error(g("GET", "/applications", params={"$top": "1000"}), 400, "Request_BadRequest")
    graph_error(g("GET", "/applications", params={"$skiptoken": "garbage"}), 400, "Request_BadRequest")


def test_page_size_settings_and_30_day_purge(start_emulators, monkeypatch):
    """One isolated instance (it moves the clock): the page size from the environment
    and from a seed, and deleted items purged 30 days after deletion."""
    monkeypatch.setenv("GRAPH_EMULATOR_PAGE_SIZE", "2")
    emu = start_emulators()
    g = Graph(emu)
    assert len(g("GET", "/servicePrincipals").json()["value"]) == 2
    emu.seed({"graph_page_size": 1})
    body = g("GET", "/servicePrincipals").json()
    assert len(body["value"]) == 1 and "@odata.nextLink" in body
    assert emu.state()["graph"]["page_size"] == 1
    app = g.new_app()
    assert g("DELETE", "/applications/" + app["id"]).status_code == 204
    emu.advance_days(29)
    g = Graph(emu)  # the old token's lifetime ended on the emulated clock
    assert g("GET", "/directory/deletedItems/" + app["id"]).status_code == 200
    emu.advance_days(2)
    g = Graph(emu)
    graph_error(g("GET", "/directory/deletedItems/" + app["id"]), 404, "Request_ResourceNotFound")
    assert emu.state()["graph"]["tenants"][TENANT]["deletedItems"] == []
    assert emu.violations() == []


# -- replication -----------------------------------------------------------------------------------
def test_replication_delay(start_emulators):
    delay = 1.0
    emu = start_emulators("--consistency-delay", str(delay))
    g = Graph(emu)
    graph_sp = g("GET", "/servicePrincipals(appId='%s')" % GRAPH_APP_ID).json()
    created = time.monotonic()
    app = g.new_app("fresh")
    # upsert keys on uniqueName on the write side: never a duplicate, even before replication
    upsert = "/applications(uniqueName='fresh-%s')" % app["appId"][:8]
    assert g("PATCH", upsert, json={"displayName": "u"}, headers={"Prefer": "create-if-missing"}).status_code == 201
    assert g("PATCH", upsert, json={"displayName": "u"}, headers={"Prefer": "create-if-missing"}).status_code == 204
    graph_error(g("GET", upsert), 404, "Request_ResourceNotFound")
    graph_error(g("GET", "/applications/" + app["id"]), 404, "Request_ResourceNotFound")
    assert app["id"] not in {a["id"] for a in g.all("/applications")}
    r = g("POST", "/servicePrincipals", json={"appId": app["appId"]})
    graph_error(
        r,
        400,
        "Request_BadRequest",
        "The appId '%s' of the service principal does not reference a valid application object." % app["appId"],
    )
    time.sleep(max(0, delay - (time.monotonic() - created)) + 0.1)
    assert g("GET", "/applications/" + app["id"]).status_code == 200
    assert g("GET", upsert).status_code == 200
    cred = g("POST", "/applications/%s/addPassword" % app["id"], json={}).json()
    sp = g.new_sp(app)
    sp_born = time.monotonic()
    body = {"principalId": sp["id"], "resourceId": graph_sp["id"], "appRoleId": OWNED_BY}
    r = g("POST", "/servicePrincipals/%s/appRoleAssignedTo" % graph_sp["id"], json=body)
    graph_error(r, 400, "Request_BadRequest", "Not a valid reference update.")
    grant = {"clientId": sp["id"], "consentType": "AllPrincipals", "resourceId": graph_sp["id"], "scope": "User.Read"}
    r = g("POST", "/oauth2PermissionGrants", json=grant)
    err = graph_error(r, 400, "Request_BadRequest")
    assert err["message"].endswith("does not exist or one of its queried reference-property objects are not present.")
    # the token service does not know the client until its service principal replicates
    token_url = "%s/%s/oauth2/token" % (emu.endpoints["authority_host"], TENANT)

    def token(secret):
        form = {
            "grant_type": "client_credentials",
            "client_id": app["appId"],
            "client_secret": secret,
            "resource": GRAPH,
        }
        return g.session.post(token_url, data=form, verify=g.ca)

    r = token(cred["secretText"])
    assert r.status_code == 400 and r.json()["error_codes"] == [700016]
    time.sleep(max(0, delay - (time.monotonic() - sp_born)) + 0.1)
    assert g("POST", "/servicePrincipals/%s/appRoleAssignedTo" % graph_sp["id"], json=body).status_code == 201
    assert g("POST", "/oauth2PermissionGrants", json=grant).status_code == 201
    assert token(cred["secretText"]).status_code == 200
    # a brand-new secret is refused (7000215) until it replicates
    fresh = g("POST", "/applications/%s/addPassword" % app["id"], json={}).json()
    r = token(fresh["secretText"])
    assert r.status_code == 401 and r.json()["error_codes"] == [7000215]
    apps = emu.state()["graph"]["tenants"][TENANT]["applications"]
    assert len([a for a in apps if a["uniqueName"] == "fresh-%s" % app["appId"][:8]]) == 1
    assert emu.violations() == []


# -- faults, throttling and the request log --------------------------------------------------------
def _scripted_run(emu) -> list[tuple]:
    """The same requests against an emulator with faults on; (method, path, status, fault) as logged."""
    ep = emu.endpoints
    mark = emu.mark()
    session = requests.Session()
    session.trust_env = False
    form = {
        "grant_type": "client_credentials",
        "client_id": ep["automation_client_id"],
        "client_secret": ep["automation_client_secret"],
        "scope": GRAPH + "/.default",
    }
    token_url = "%s/%s/oauth2/v2.0/token" % (ep["authority_host"], TENANT)
    for _ignored in range(30):
        try:
            r = session.post(token_url, data=form, verify=ep["ca_path"])
        except requests.ConnectionError:
            continue
        if r.status_code == 200:
            break
    headers = {"Authorization": "Bearer " + r.json()["access_token"]}
    base = ep["graph_url"] + "/v1.0"
    for i in range(24):
        try:
            if i % 3 == 0:
                session.post(
                    base + "/applications", json={"displayName": "f%d" % i}, headers=headers, verify=ep["ca_path"]
                )
            else:
                session.get(base + "/applications", params={"$select": "id"}, headers=headers, verify=ep["ca_path"])
        except requests.ConnectionError:
            pass
    return [(r["method"], r["path"], r["status"], r["fault"]) for r in emu.requests(mark)]


def test_faults_are_reproducible_by_seed(start_emulators):
    a = _scripted_run(start_emulators("--fault-rate", "0.4", "--fault-seed", "11"))
    other = start_emulators("--fault-rate", "0.4", "--fault-seed", "11")
    assert _scripted_run(other) == a
    assert {"429", "503", "lost"} <= {f for *_rest, f in a if f}
    other.faults(fault_seed=12)  # a new seed restarts the draw with another sequence
    assert _scripted_run(other) != a
    other.faults(fault_seed=11)
    assert _scripted_run(other) == a
    assert other.violations() == []


def test_throttle_and_unavailable_bodies(emulators, g):
    emulators.faults(fault_rate=1.0, fault_seed=5)
    try:
        seen = {}
        for _ignored in range(10):
            r = g("GET", "/applications")
            seen[r.status_code] = r
    finally:
        emulators.faults(fault_rate=0.0)
    assert set(seen) == {429, 503}
    err = graph_error(seen[429], 429, "TooManyRequests")
    assert seen[429].headers["Retry-After"] == "1" and err["innerError"]["status"] == "429"
    graph_error(seen[503], 503, "serviceNotAvailable")
    assert seen[503].headers["Retry-After"].isdigit()
    emulators.faults(rate_limit=2)
    try:
        statuses = [g("GET", "/applications", params={"$top": "1"}).status_code for _ignored in range(6)]
    finally:
        emulators.faults(rate_limit=0)
    assert 429 in statuses and statuses[0] == 200


def test_lost_write_happened(emulators, g):
    name = "lost-%s" % uuid.uuid4().hex[:8]
    emulators.faults(fault_rate=1.0, fault_seed=1)
    lost = 0
    try:
        for _ignored in range(40):
            try:
                g("POST", "/applications", json={"displayName": name})
            except requests.ConnectionError:
                lost += 1
                if lost == 2:
                    break
    finally:
        emulators.faults(fault_rate=0.0)
    made = g.all("/applications", params={"$filter": "displayName eq '%s'" % name})
    assert lost >= 1 and len(made) == lost  # each lost reply was a write that happened


def test_request_log_is_complete(emulators, g):
    mark = emulators.mark()
    app = g.new_app("logged")
    g("GET", "/applications/" + app["id"], params={"$select": "id"})
    g("GET", "/applications/" + str(uuid.uuid4()))
    g("DELETE", "/applications/" + app["id"])
    log = emulators.requests(mark)
    assert [(r["service"], r["method"], r["status"]) for r in log] == [
        ("graph", "POST", 201),
        ("graph", "GET", 200),
        ("graph", "GET", 404),
        ("graph", "DELETE", 204),
    ]
    for r in log:
        assert set(r) == {
            "ts",
            "service",
            "method",
            "path",
            "query",
            "status",
            "request_body",
            "response_body",
            "fault",
        }
        assert r["fault"] is None
    assert log[0]["request_body"]["displayName"] == app["displayName"]
    assert log[0]["response_body"]["id"] == app["id"]
    assert log[1]["path"] == "/v1.0/applications/" + app["id"] and log[1]["query"] == "%24select=id"
    assert log[2]["response_body"]["error"]["code"] == "Request_ResourceNotFound"
    assert log[3]["response_body"] is None


def test_state_has_every_object_and_no_secret(emulators, g):
    state = emulators.state()["graph"]["tenants"][TENANT]
    assert set(state) >= {
        "applications",
        "servicePrincipals",
        "appRoleAssignments",
        "oauth2PermissionGrants",
        "deletedItems",
        "owners",
    }
    assert any(a["appId"] == emulators.endpoints["automation_client_id"] for a in state["applications"])
    assert any(s["appId"] == GRAPH_APP_ID for s in state["servicePrincipals"])
    assert state["appRoleAssignments"] and state["oauth2PermissionGrants"] is not None
    for app in state["applications"]:
        assert all("secretText" not in c for c in app["passwordCredentials"])
    assert emulators.endpoints["automation_client_secret"] not in json.dumps(state)


def test_no_contract_violations(emulators):
    assert emulators.violations() == []
