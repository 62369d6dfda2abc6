"""The Dev Portal developer API emulator, over real HTTPS through serve.py.

Developer login (cookie), the strategies a portal offers, applications,
registrations and credentials, and the DCR round trip in which Konnect, as
the provider's initial client, creates the application's Azure app through
the Entra and Graph emulators.
"""

from __future__ import annotations

import base64
import json
import uuid

import pytest
import requests

TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
ISSUER = f"https://sts.windows.net/{TENANT}"
DCR_ADMIN = {  # Kong's "initial client": Application.ReadWrite.OwnedBy only
    "client_id": "0d1c2b3a-4e5f-4a6b-8c7d-9e0f1a2b3c4d",
    "client_secret": "dcr~Admin.Secret-0123456789abcdefghij",
    "display_name": "konnect-dcr-admin",
    "roles": ["Application.ReadWrite.OwnedBy"],
}
NO_CONSENT = {  # a registered app whose Graph permission was never consented
    "client_id": "9a8b7c6d-5e4f-4a3b-9c2d-1e0f9a8b7c6d",
    "client_secret": "no~Consent.Secret-0123456789abcdefghij",
    "display_name": "konnect-dcr-unconsented",
    "roles": [],
}


class Client:
    """A keep-alive session; TLS verified per request (REQUESTS_CA_BUNDLE would win over session.verify)."""

    def __init__(self, base, ca, token=None):
        self.base, self.ca = base, ca
        self.session = requests.Session()
        self.session.trust_env = False
        if token:
            self.session.headers["Authorization"] = "Bearer " + token

    def __call__(self, method, path, **kwargs) -> requests.Response:
        return self.session.request(method, self.base + path, verify=self.ca, timeout=30, **kwargs)


def problem(r, status) -> dict:
    assert r.status_code == status, r.text
    assert r.headers["Content-Type"].startswith("application/problem+json"), r.headers
    body = r.json()
    assert body["status"] == status and body["title"] and body["detail"] and "trace:" in body["instance"]
    return body


def login(emu, portal_url, email=None, password=None) -> Client:
    c = Client(portal_url, emu.endpoints["ca_path"])
    r = c(
        "POST",
        "/api/v3/developer/authenticate",
        json={
            "username": email or emu.endpoints["developer_email"],
            "password": password or emu.endpoints["developer_password"],
        },
    )
    assert r.status_code == 204, r.text
    return c


def claims(token: str) -> dict:
    part = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


def entra_token(emu, client_id, secret, v1=False) -> requests.Response:
    e = emu.endpoints
    form = {"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret}
    if v1:
        url, form["resource"] = f"{e['authority_host']}/{TENANT}/oauth2/token", "https://graph.microsoft.com"
    else:
        url, form["scope"] = f"{e['authority_host']}/{TENANT}/oauth2/v2.0/token", "https://graph.microsoft.com/.default"
    return requests.post(url, data=form, verify=e["ca_path"], timeout=30)


class World:
    """What the portal tests set up through Konnect's API."""

    def __init__(self, emu):
        self.emu = emu
        e = emu.endpoints
        self.k = Client(e["konnect_url"], e["ca_path"], e["konnect_token"])
        self.portals = {p["name"]: p for p in self.k("GET", "/v3/portals").json()["data"]}
        self.apis = {(a["name"], a["version"]): a for a in self.k("GET", "/v3/apis").json()["data"]}

    def url(self, portal_name) -> str:
        return "https://" + self.portals[portal_name]["default_domain"]

    def post(self, path, body) -> dict:
        r = self.k("POST", path, json=body)
        assert r.status_code == 201, r.text
        return r.json()

    def strategy(self, name, provider_id=None, key_auth=False) -> dict:
        if key_auth:
            configs = {"key-auth": {"key_names": ["apikey"], "ttl": {"value": 1, "unit": "weeks"}}}
            body = {"name": name, "display_name": name.title(), "strategy_type": "key_auth", "configs": configs}
        else:
            configs = {
                "openid-connect": {
                    "issuer": ISSUER,
                    "credential_claim": ["appid"],
                    "scopes": ["openid"],
                    "auth_methods": ["client_credentials", "bearer", "session"],
                }
            }
            body = {"name": name, "display_name": name.title(), "strategy_type": "openid_connect", "configs": configs}
            if provider_id:
                body["dcr_provider_id"] = provider_id
        return self.post("/v2/application-auth-strategies", body)

    def provider(self, name, identity) -> dict:
        dcr_config = {"initial_client_id": identity["client_id"], "initial_client_secret": identity["client_secret"]}
        return self.post(
            "/v2/dcr-providers", {"name": name, "provider_type": "azureAd", "issuer": ISSUER, "dcr_config": dcr_config}
        )

    def publish(self, api_key, portal_name, strategy_id, **extra):
        api, portal = self.apis[api_key], self.portals[portal_name]
        r = self.k(
            "PUT",
            f"/v3/apis/{api['id']}/publications/{portal['id']}",
            json={"auth_strategy_ids": [strategy_id], **extra},
        )
        assert r.status_code == 200, r.text


@pytest.fixture(scope="module")
def world(emulators):
    emulators.seed(
        {"tenants": [{"id": TENANT, "domain": "contoso.onmicrosoft.com", "extra_apps": [DCR_ADMIN, NO_CONSENT]}]}
    )
    return World(emulators)


@pytest.fixture(scope="module")
def keys(world):
    """A key-auth strategy with orders v1 published on both portals."""
    strategy = world.strategy("portal keys", key_auth=True)
    world.publish(("orders", "v1"), "developer-portal", strategy["id"])
    world.publish(("orders", "v1"), "partner-portal", strategy["id"])
    return strategy


# -- developer login -------------------------------------------------------------------------------


def test_login_sets_the_portal_cookie_and_logout_revokes_it(emulators, world):
    url = world.url("developer-portal")
    c = Client(url, emulators.endpoints["ca_path"])
    problem(c("GET", "/api/v3/applications"), 401)
    body = problem(
        c("POST", "/api/v3/developer/authenticate", json={"username": "dev@example.com", "password": "no"}), 401
    )
    assert (body["title"], body["detail"]) == ("Invalid Credentials", "You have entered an invalid email or password.")
    body = problem(c("POST", "/api/v3/developer/authenticate", json={"username": "not-an-email", "password": "x"}), 400)
    assert body["invalid_parameters"][0]["field"] == "username"
    body = problem(c("POST", "/api/v3/developer/authenticate", json={"username": "dev@example.com"}), 400)
    assert body["invalid_parameters"][0]["rule"] == "required"

    r = c(
        "POST",
        "/api/v3/developer/authenticate",
        json={"username": "DEV@example.com", "password": emulators.endpoints["developer_password"]},
    )
    assert r.status_code == 204 and not r.content
    cookie = r.headers["Set-Cookie"]
    assert cookie.startswith("portalaccesstoken=") and "HttpOnly" in cookie and "Secure" in cookie
    assert c("GET", "/api/v3/applications").json() == {
        "data": [],
        "meta": {"page": {"number": 1, "size": 10, "total": 0}},
    }
    # the cookie is this portal's only
    token = c.session.cookies.get("portalaccesstoken")
    other = Client(world.url("partner-portal"), emulators.endpoints["ca_path"])
    problem(other("GET", "/api/v3/applications", cookies={"portalaccesstoken": token}), 401)
    # the developer has no account on the partner portal
    problem(
        other(
            "POST",
            "/api/v3/developer/authenticate",
            json={"username": "dev@example.com", "password": emulators.endpoints["developer_password"]},
        ),
        401,
    )
    assert c("POST", "/api/v3/developer/logout").status_code == 204
    problem(c("GET", "/api/v3/applications", cookies={"portalaccesstoken": token}), 401)


def test_sessions_expire_on_the_emulated_clock(emulators, world):
    c = login(emulators, world.url("developer-portal"))
    assert c("GET", "/api/v3/applications").status_code == 200
    emulators.advance_days(1)
    problem(c("GET", "/api/v3/applications"), 401)


def test_every_developer_endpoint_needs_the_cookie(emulators, world):
    c = Client(world.url("developer-portal"), emulators.endpoints["ca_path"])
    some = str(uuid.uuid4())
    for method, path in [
        ("GET", "/api/v3/application-auth-strategies"),
        ("POST", "/api/v3/applications"),
        ("GET", f"/api/v3/applications/{some}"),
        ("DELETE", f"/api/v3/applications/{some}"),
        ("GET", f"/api/v3/applications/{some}/credentials"),
        ("GET", f"/api/v3/applications/{some}/registrations"),
        ("GET", "/api/v3/apis/orders-v1/applications"),
    ]:
        problem(c(method, path, json={"name": "x"} if method == "POST" else None), 401)


# -- strategies, applications, registrations, credentials (key auth: no Azure) ----------------------------


def test_portal_offers_the_strategies_of_its_publications(emulators, world, keys):
    c = login(emulators, world.url("developer-portal"))
    unused = world.strategy("not published anywhere")
    offered = c("GET", "/api/v3/application-auth-strategies").json()["data"]
    assert unused["id"] not in [s["id"] for s in offered]
    mine = next(s for s in offered if s["id"] == keys["id"])
    assert mine == {
        "id": keys["id"],
        "name": "Portal Keys",
        "credential_type": "key_auth",
        "key_names": ["apikey"],
        "ttl": {"value": 1, "unit": "weeks"},
        "supports_multiple_credentials": True,
    }
    found = c("GET", "/api/v3/application-auth-strategies?filter[credential_type][eq]=key_auth").json()["data"]
    assert [s["id"] for s in found] == [keys["id"]]
    problem(c("POST", "/api/v3/applications", json={"name": "x", "auth_strategy_id": unused["id"]}), 404)
    # no default strategy on this portal: one must be chosen
    assert (
        problem(c("POST", "/api/v3/applications", json={"name": "x"}), 400)["invalid_parameters"][0]["field"]
        == "auth_strategy_id"
    )


def test_key_auth_application_round_trip(emulators, world, keys):
    c = login(emulators, world.url("developer-portal"))
    r = c(
        "POST",
        "/api/v3/applications",
        json={"name": "my app", "description": "testing", "auth_strategy_id": keys["id"]},
    )
    assert r.status_code == 201, r.text
    app = r.json()
    assert (app["name"], app["description"], app["auth_strategy"]["credential_type"]) == (
        "my app",
        "testing",
        "key_auth",
    )
    assert "client_secret" not in app and "client_id" not in app
    problem(c("POST", "/api/v3/applications", json={"name": "my app", "auth_strategy_id": keys["id"]}), 409)
    assert c("GET", f"/api/v3/applications/{app['id']}").json()["id"] == app["id"]
    assert [a["id"] for a in c("GET", "/api/v3/applications?filter[name]=my app").json()["data"]] == [app["id"]]
    assert (
        c("PATCH", f"/api/v3/applications/{app['id']}", json={"description": "changed"}).json()["description"]
        == "changed"
    )

    # registrations: auto-approved on this portal; one per API
    api = world.apis[("orders", "v1")]
    r = c("POST", f"/api/v3/applications/{app['id']}/registrations", json={"api_id": api["id"]})
    assert r.status_code == 201, r.text
    reg = r.json()
    assert (reg["status"], reg["api_id"], reg["api_slug"], reg["application_id"]) == (
        "approved",
        api["id"],
        "orders-v1",
        app["id"],
    )
    problem(c("POST", f"/api/v3/applications/{app['id']}/registrations", json={"api_id": api["id"]}), 409)
    problem(
        c(
            "POST",
            f"/api/v3/applications/{app['id']}/registrations",
            json={"api_id": world.apis[("orders", "v2")]["id"]},
        ),
        404,
    )
    listed = c("GET", f"/api/v3/applications/{app['id']}/registrations?filter[status]=approved").json()
    assert [x["id"] for x in listed["data"]] == [reg["id"]]
    registered = c("GET", "/api/v3/apis/orders-v1/applications").json()["data"]
    assert [(a["id"], a["registration_id"], a["registration_status"]) for a in registered] == [
        (app["id"], reg["id"], "approved")
    ]
    assert c("GET", f"/api/v3/apis/{api['id']}/applications?unregistered=true").json()["data"] == []
    problem(c("GET", "/api/v3/apis/payments-v1/applications"), 404)  # not published here

    # credentials: API keys, shown once
    r = c("POST", f"/api/v3/applications/{app['id']}/credentials", json={"display_name": "ci"})
    assert r.status_code == 201, r.text
    key = r.json()
    assert key["type"] == "api_key" and key["credential"] and key["expires_at"]
    listed = c("GET", f"/api/v3/applications/{app['id']}/credentials").json()
    assert [x["id"] for x in listed["data"]] == [key["id"]] and "credential" not in listed["data"][0]

    # Konnect's admin API sees the application too
    portal_id = world.portals["developer-portal"]["id"]
    admin = world.k("GET", f"/v3/portals/{portal_id}/applications/{app['id']}").json()
    assert (admin["registration_count"], admin["owner"]["type"]) == (1, "developer")
    assert c("DELETE", f"/api/v3/applications/{app['id']}").status_code == 204
    problem(c("GET", f"/api/v3/applications/{app['id']}"), 404)
    assert not [a for a in emulators.state()["portal"]["applications"] if a["id"] == app["id"]]
    assert not [r for r in emulators.state()["portal"]["registrations"] if r["application_id"] == app["id"]]


def test_registration_is_pending_without_auto_approval(emulators, world, keys):
    emulators.seed(
        {"developers": [{"email": "partner@example.com", "password": "Partner-Passw0rd!", "portal": "partner-portal"}]}
    )
    c = login(emulators, world.url("partner-portal"), "partner@example.com", "Partner-Passw0rd!")
    app = c("POST", "/api/v3/applications", json={"name": "partner app", "auth_strategy_id": keys["id"]}).json()
    reg = c(
        "POST", f"/api/v3/applications/{app['id']}/registrations", json={"api_id": world.apis[("orders", "v1")]["id"]}
    )
    assert reg.status_code == 201 and reg.json()["status"] == "pending"
    # another developer, on another portal, can't see it
    other = login(emulators, world.url("developer-portal"))
    problem(other("GET", f"/api/v3/applications/{app['id']}"), 404)
    assert c("DELETE", f"/api/v3/applications/{app['id']}").status_code == 204


def test_registration_needs_the_publications_strategy(emulators, world, keys):
    other = world.strategy("other keys", key_auth=True)
    world.publish(("orders", "v2"), "developer-portal", other["id"])
    c = login(emulators, world.url("developer-portal"))
    app = c("POST", "/api/v3/applications", json={"name": "mismatch", "auth_strategy_id": keys["id"]}).json()
    r = c(
        "POST", f"/api/v3/applications/{app['id']}/registrations", json={"api_id": world.apis[("orders", "v2")]["id"]}
    )
    assert problem(r, 400)["invalid_parameters"][0]["field"] == "api_id"
    unregistered = c("GET", "/api/v3/apis/orders-v2/applications?unregistered=true").json()["data"]
    assert [a["id"] for a in unregistered] == [app["id"]]
    assert c("DELETE", f"/api/v3/applications/{app['id']}").status_code == 204


# -- the DCR round trip: Konnect creates the Azure app as the initial client --------------------------------


def graph_as_automation(emu):
    """A Graph client signed in as the seed's automation identity (Application.ReadWrite.All)."""
    e = emu.endpoints
    token = entra_token(emu, e["automation_client_id"], e["automation_client_secret"]).json()["access_token"]
    return Client(e["graph_url"] + "/v1.0", e["ca_path"], token)


def test_dcr_application_round_trip(emulators, world):
    provider = world.provider("azure dcr", DCR_ADMIN)
    strategy = world.strategy("azure dcr", provider["id"])
    world.publish(("payments", "v1"), "developer-portal", strategy["id"])
    # published: the strategy is active, and so is its provider
    assert world.k("GET", f"/v2/dcr-providers/{provider['id']}").json()["active"] is True
    c = login(emulators, world.url("developer-portal"))
    offered = {s["id"]: s for s in c("GET", "/api/v3/application-auth-strategies").json()["data"]}
    assert offered[strategy["id"]]["credential_type"] == "client_credentials"
    mark = emulators.mark()

    r = c("POST", "/api/v3/applications", json={"name": "dcr app", "auth_strategy_id": strategy["id"]})
    assert r.status_code == 201, r.text
    app = r.json()
    client_id, secret = app["client_id"], app["client_secret"]
    assert uuid.UUID(client_id) and secret
    assert app["auth_strategy"]["id"] == strategy["id"]
    # what Konnect did in Azure, over HTTPS, as the initial client
    calls = [(x["service"], x["method"], x["path"]) for x in emulators.requests(mark)]
    assert ("entra", "POST", f"/{TENANT}/oauth2/v2.0/token") in calls
    assert ("graph", "POST", "/v1.0/applications") in calls
    assert any(s == "graph" and p.endswith("/addPassword") for s, _ignored, p in calls)
    # the secret is shown once: never again
    assert "client_secret" not in c("GET", f"/api/v3/applications/{app['id']}").text
    assert secret not in json.dumps(emulators.state())

    # the developer's client signs in with a v1 token whose appid is the new client id
    r = entra_token(emulators, client_id, secret, v1=True)
    assert r.status_code == 200, r.text
    token = claims(r.json()["access_token"])
    assert (token["ver"], token["appid"], token["iss"]) == ("1.0", client_id, f"https://sts.windows.net/{TENANT}/")

    # the Azure app exists, named after the application and owned by the initial client
    graph = graph_as_automation(emulators)
    azure_app = graph("GET", f"/applications(appId='{client_id}')").json()
    assert azure_app["displayName"] == "dcr app"
    owners = graph("GET", f"/applications/{azure_app['id']}/owners").json()["value"]
    assert DCR_ADMIN["client_id"] in [o.get("appId") for o in owners]

    # credentials come from Entra; a new one works at once
    creds = c("GET", f"/api/v3/applications/{app['id']}/credentials").json()["data"]
    assert [(x["type"], x["client_id"]) for x in creds] == [("client_secret", client_id)]
    r = c("POST", f"/api/v3/applications/{app['id']}/credentials", json={"display_name": "second"})
    assert r.status_code == 201, r.text
    assert entra_token(emulators, client_id, r.json()["client_secret"], v1=True).status_code == 200
    assert len(c("GET", f"/api/v3/applications/{app['id']}/credentials").json()["data"]) == 2

    reg = c(
        "POST", f"/api/v3/applications/{app['id']}/registrations", json={"api_id": world.apis[("payments", "v1")]["id"]}
    )
    assert reg.json()["status"] == "approved"
    admin = world.k("GET", f"/v3/portals/{world.portals['developer-portal']['id']}/applications/{app['id']}").json()
    assert (admin["client_id"], admin["dcr_provider"]) == (client_id, {"id": provider["id"]})

    # deleting the application deletes its Azure app
    assert c("DELETE", f"/api/v3/applications/{app['id']}").status_code == 204
    assert graph("GET", f"/applications/{azure_app['id']}").status_code == 404
    assert entra_token(emulators, client_id, secret, v1=True).status_code != 200


def test_dcr_fails_when_azure_refuses(emulators, world):
    unconsented = world.provider("azure unconsented", NO_CONSENT)
    wrong = world.provider("azure wrong secret", {**DCR_ADMIN, "client_secret": "not-the-secret"})
    c = login(emulators, world.url("developer-portal"))
    before = len(emulators.state()["portal"]["applications"])
    for provider, expected in ((unconsented, "Authorization_RequestDenied"), (wrong, "invalid_client")):
        strategy = world.strategy("refused " + provider["name"], provider["id"])
        world.publish(("inventory", None), "developer-portal", strategy["id"])
        r = c("POST", "/api/v3/applications", json={"name": "refused app", "auth_strategy_id": strategy["id"]})
        body = problem(r, 400)
        assert expected in body["detail"] and provider["name"] in body["detail"], body
        assert body["invalid_parameters"][0]["field"] == "auth_strategy_id"
    assert len(emulators.state()["portal"]["applications"]) == before
    graph = graph_as_automation(emulators)
    names = [a["displayName"] for a in graph("GET", "/applications?$top=999").json()["value"]]
    assert "refused app" not in names
    # verify reports the same problems to an admin
    for provider in (unconsented, wrong):
        result = world.k("POST", f"/v2/dcr-providers/{provider['id']}/verify").json()
        assert result["status"] == "failed" and result["errors"]


def test_konnect_retries_azure_when_throttled(emulators, world):
    """Konnect honours Graph's and Entra's 429 + Retry-After like a real service."""
    provider = world.provider("azure dcr throttled", DCR_ADMIN)
    strategy = world.strategy("azure dcr throttled", provider["id"])
    world.publish(("orders", "v2"), "developer-portal", strategy["id"])
    c = login(emulators, world.url("developer-portal"))
    mark = emulators.mark()
    emulators.faults(rate_limit=2)  # per service and second: Konnect's 3 Graph calls can't all pass
    try:
        r = c("POST", "/api/v3/applications", json={"name": "throttled app", "auth_strategy_id": strategy["id"]})
        while r.status_code == 429:  # the portal itself may be limited too
            r = c("POST", "/api/v3/applications", json={"name": "throttled app", "auth_strategy_id": strategy["id"]})
    finally:
        emulators.faults(rate_limit=0)
    assert r.status_code == 201, r.text
    graph = [x for x in emulators.requests(mark) if x["service"] == "graph"]
    assert any(x["status"] == 429 for x in graph), [(x["path"], x["status"]) for x in graph]
    created = [x for x in graph if x["method"] == "POST" and x["path"] == "/v1.0/applications" and x["status"] == 201]
    assert len(created) == 1  # retried, never duplicated
    assert c("DELETE", f"/api/v3/applications/{r.json()['id']}").status_code == 204


def test_no_contract_violations(emulators):
    assert emulators.violations() == []
