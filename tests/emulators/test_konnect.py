"""The Konnect control-plane emulator, over real HTTPS through serve.py.

Status codes, problem+json bodies, write-only secrets, immutable fields,
PATCH merges, pagination, filters, publications, Kong's 429/503, and the
provider verify that really signs in to the Entra emulator.
"""

from __future__ import annotations

import json
import re
import uuid

import pytest
import requests

TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"  # the default seed's tenant
ISSUER = f"https://sts.windows.net/{TENANT}"
CLIENT_ID = "11111111-2222-3333-4444-555555555555"
TRACE = re.compile(r"kong:trace:\d+")


class Client:
    """A keep-alive session to one emulated service; TLS verified per request
    (requests lets REQUESTS_CA_BUNDLE override session.verify)."""

    def __init__(self, base, ca, token=None):
        self.base, self.ca = base, ca
        self.session = requests.Session()
        self.session.trust_env = False
        if token:
            self.session.headers["Authorization"] = "Bearer " + token

    def __call__(self, method, path, **kwargs) -> requests.Response:
        return self.session.request(method, self.base + path, verify=self.ca, timeout=30, **kwargs)


def konnect(emu, token=None) -> Client:
    e = emu.endpoints
    return Client(e["konnect_url"], e["ca_path"], token or e["konnect_token"])


def problem(r, status) -> dict:
    """Assert R is a Konnect problem+json error with STATUS; its body."""
    assert r.status_code == status, r.text
    assert r.headers["Content-Type"].startswith("application/problem+json"), r.headers
    body = r.json()
    assert body["status"] == status
    assert body["title"] and body["detail"]
    assert TRACE.fullmatch(body["instance"]), body
    return body


def invalid(r, field) -> dict:
    """Assert a 400 whose invalid_parameters name FIELD; that entry."""
    body = problem(r, 400)
    found = [p for p in body["invalid_parameters"] if p["field"] == field]
    assert found, body
    return found[0]


def azure_provider(name, secret=None, **extra) -> dict:
    body = {
        "name": name,
        "provider_type": "azureAd",
        "issuer": ISSUER,
        "dcr_config": {"initial_client_id": CLIENT_ID, "initial_client_secret": secret or "s3cret~value"},
    }
    body.update(extra)
    return body


def oidc_strategy(name, provider_id=None, **extra) -> dict:
    body = {
        "name": name,
        "display_name": name.title(),
        "strategy_type": "openid_connect",
        "configs": {
            "openid-connect": {
                "issuer": ISSUER,
                "credential_claim": ["appid"],
                "scopes": ["openid"],
                "auth_methods": ["client_credentials", "bearer", "session"],
            }
        },
    }
    if provider_id:
        body["dcr_provider_id"] = provider_id
    body.update(extra)
    return body


def seeded(k: Client, kind: str, **filters) -> dict:
    query = "&".join(f"filter[{f}][eq]={v}" for f, v in filters.items())
    data = k("GET", f"/v3/{kind}?{query}").json()["data"]
    assert len(data) == 1, data
    return data[0]


@pytest.fixture(scope="module")
def k(emulators):
    return konnect(emulators)


# -- authentication and errors ---------------------------------------------------------------


def test_bearer_token_is_required(emulators, k):
    assert k("GET", "/v2/dcr-providers").status_code == 200
    for token in (None, "kpat_notASeededToken0123456789", "spat_whatever"):
        c = Client(emulators.endpoints["konnect_url"], emulators.endpoints["ca_path"], token)
        body = problem(c("GET", "/v2/dcr-providers"), 401)
        assert body["title"] == "Unauthorized"
        # credentials are checked before the body, as Kong's gateway does
        problem(c("POST", "/v2/dcr-providers", json={"bogus": 1}), 401)
    spat = "spat_seededSystemAccountToken0123456789abcdef"
    emulators.seed({"konnect_tokens": [spat]})
    assert konnect(emulators, spat)("GET", "/v3/portals").status_code == 200


def test_unknown_paths_malformed_json_and_media_type(k):
    body = problem(k("GET", "/v2/no-such-thing"), 404)
    assert body["detail"] == "Not Found"
    r = k("POST", "/v2/dcr-providers", data=b"{not json", headers={"Content-Type": "application/json"})
    assert invalid(r, "body")["rule"] == "type"
    problem(k("POST", "/v3/apis", data=b"name=x", headers={"Content-Type": "application/x-www-form-urlencoded"}), 415)
    r = k("DELETE", "/v2/dcr-providers")
    problem(r, 405)
    assert r.headers["Allow"] == "GET, POST"
    # a malformed id in the path names the parameter
    entry = invalid(k("GET", "/v2/dcr-providers/not-a-uuid"), "dcrProviderId")
    assert (entry["rule"], entry["source"]) == ("is_uuid", "path")
    problem(k("GET", f"/v2/dcr-providers/{uuid.uuid4()}"), 404)


# -- DCR providers ------------------------------------------------------------------------------------


def test_provider_create_never_returns_the_secret(emulators, k):
    secret = "never~show~this~" + uuid.uuid4().hex
    r = k("POST", "/v2/dcr-providers", json=azure_provider("secretive", secret, labels={"env": "test"}))
    assert r.status_code == 201, r.text
    created = r.json()
    assert created["dcr_config"] == {"initial_client_id": CLIENT_ID}
    assert created["active"] is False
    assert created["labels"] == {"env": "test"}
    assert "display_name" not in created  # only when set
    for r in (k("GET", f"/v2/dcr-providers/{created['id']}"), k("GET", "/v2/dcr-providers?page[size]=100")):
        assert r.status_code == 200
        assert secret not in r.text
    assert secret not in json.dumps(emulators.state())
    k("DELETE", f"/v2/dcr-providers/{created['id']}")


def test_provider_request_validation(k):
    r = k("POST", "/v2/dcr-providers", json=azure_provider("x", extra_field=1))
    assert invalid(r, "extra_field")["rule"] == "unknown_property"
    body = azure_provider("x")
    body["dcr_config"]["dcr_token"] = "okta-only"
    assert invalid(k("POST", "/v2/dcr-providers", json=body), "dcr_config.dcr_token")["rule"] == "unknown_property"
    del body["dcr_config"]["dcr_token"], body["dcr_config"]["initial_client_secret"]
    assert invalid(k("POST", "/v2/dcr-providers", json=body), "dcr_config.initial_client_secret")["rule"] == "required"
    entry = invalid(k("POST", "/v2/dcr-providers", json=azure_provider("x", provider_type="azure")), "provider_type")
    assert entry["rule"] == "enum" and "azureAd" in entry["choices"]
    entry = invalid(k("POST", "/v2/dcr-providers", json=azure_provider("")), "name")
    assert (entry["rule"], entry["minimum"]) == ("min_length", 1)
    r = k("POST", "/v2/dcr-providers", json=azure_provider("x", labels={"konnect-owned": "yes"}))
    assert invalid(r, "labels.konnect-owned")["rule"] == "is_label"
    assert invalid(k("POST", "/v2/dcr-providers", json=azure_provider("x", issuer="not a url")), "issuer")


@pytest.mark.parametrize(
    "issuer",
    [
        f"https://login.microsoftonline.com/{TENANT}/v2.0",  # the v2 issuer
        ISSUER + "/",  # trailing slash
        "https://sts.windows.net/contoso.onmicrosoft.com",  # not a tenant id
        f"http://sts.windows.net/{TENANT}",
    ],
)
def test_azure_issuer_must_be_the_v1_form(k, issuer):
    entry = invalid(k("POST", "/v2/dcr-providers", json=azure_provider("issuer-form", issuer=issuer)), "issuer")
    assert "https://sts.windows.net/<tenant-id>" in entry["reason"]


def test_provider_patch_merges_and_keeps_immutables(emulators, k):
    created = k(
        "POST", "/v2/dcr-providers", json=azure_provider("patchable", labels={"env": "dev", "team": "a"})
    ).json()
    url = f"/v2/dcr-providers/{created['id']}"

    def fingerprint():
        return next(p for p in emulators.state()["konnect"]["dcr_providers"] if p["id"] == created["id"])[
            "secret_sha256"
        ]

    before = fingerprint()
    # dcr_config is merged: the secret survives a PATCH that leaves it out
    r = k("PATCH", url, json={"dcr_config": {"initial_client_id": "new-client"}, "labels": {"env": None, "owner": "x"}})
    assert r.status_code == 200, r.text
    assert r.json()["dcr_config"] == {"initial_client_id": "new-client"}
    assert r.json()["labels"] == {"team": "a", "owner": "x"}  # null deleted env; team kept
    assert fingerprint() == before
    r = k("PATCH", url, json={"dcr_config": {"initial_client_secret": "rotated"}, "display_name": "Shown"})
    assert r.json()["display_name"] == "Shown" and "rotated" not in r.text
    assert fingerprint() != before
    # provider_type is immutable: not even part of the update schema
    assert invalid(k("PATCH", url, json={"provider_type": "okta"}), "provider_type")["rule"] == "unknown_property"
    assert invalid(k("PATCH", url, json={"issuer": ISSUER + "/"}), "issuer")
    assert invalid(k("PATCH", url, json={"dcr_config": {"dcr_token": "t"}}), "dcr_config.dcr_token")
    assert k("PATCH", url, json={"labels": None}).json()["labels"] == {}
    assert k("DELETE", url).status_code == 204
    problem(k("GET", url), 404)
    problem(k("DELETE", url), 404)


def test_other_provider_types_hide_their_secrets(k):
    bodies = [
        {"name": "okta", "provider_type": "okta", "issuer": "https://x.okta.com", "dcr_config": {"dcr_token": "tok"}},
        {
            "name": "http",
            "provider_type": "http",
            "issuer": "https://idp.example.com",
            "dcr_config": {"dcr_base_url": "https://dcr.example.com/v1", "api_key": "abcdef_123456789"},
        },
        {"name": "kong", "provider_type": "kongIdentity", "issuer": "https://id.konghq.com/"},
    ]
    shown = []
    for body in bodies:
        r = k("POST", "/v2/dcr-providers", json=body)
        assert r.status_code == 201, r.text
        shown.append(r.json()["dcr_config"])
        k("DELETE", "/v2/dcr-providers/" + r.json()["id"])
    assert shown == [{}, {"dcr_base_url": "https://dcr.example.com/v1", "allow_multiple_credentials": False}, {}]


def test_pagination_sorting_and_filters(k):
    run = uuid.uuid4().hex[:8]
    ids = []
    for i in range(12):
        body = azure_provider(f"page-{run}-{i:02d}", labels={"run": run})
        ids.append(k("POST", "/v2/dcr-providers", json=body).json()["id"])
    pages = [
        k("GET", f"/v2/dcr-providers?filter[name][contains]={run}&page[size]=5&page[number]={n}").json()
        for n in (1, 2, 3, 4)
    ]
    assert [len(p["data"]) for p in pages] == [5, 5, 2, 0]
    assert pages[2]["meta"] == {"page": {"number": 3, "size": 5, "total": 12}}
    assert [p["id"] for page in pages for p in page["data"]] == ids  # creation order by default
    default = k("GET", f"/v2/dcr-providers?filter[name][contains]={run}").json()
    assert default["meta"]["page"]["size"] == 10 and len(default["data"]) == 10

    def names(query):
        r = k("GET", "/v2/dcr-providers?page[size]=100&" + query)
        assert r.status_code == 200, r.text
        return [p["name"] for p in r.json()["data"]]

    first, second = f"page-{run}-00", f"page-{run}-01"
    assert names(f"filter[name][eq]={first}") == [first]
    assert names(f"filter[name]={first}") == [first]
    assert names(f"filter[name][oeq]={first},{second}") == [first, second]
    assert len(names(f"filter[name][contains]={run}&filter[name][neq]={first}")) == 11
    assert names(f"filter[name][contains]={run}&sort=name desc")[0] == f"page-{run}-11"
    assert len(names(f"filter[issuer]={ISSUER}&filter[provider_type]=azureAd&filter[name][contains]={run}")) == 12
    assert names(f"filter[id]={ids[3]}") == [f"page-{run}-03"]
    assert len(names("filter[initial_client_id][contains]=2222-3333")) >= 12
    # bad list parameters
    assert invalid(k("GET", "/v2/dcr-providers?filter[colour]=red"), "filter[colour]")["rule"] == "unknown_property"
    assert invalid(k("GET", "/v2/dcr-providers?filter[name][like]=x"), "filter[name][like]")["rule"] == "enum"
    assert invalid(k("GET", "/v2/dcr-providers?page[size]=abc"), "page[size]")["rule"] == "is_number"
    assert invalid(k("GET", "/v2/dcr-providers?page[size]=1000"), "page[size]")["maximum"] == 100
    assert invalid(k("GET", "/v2/dcr-providers?page[number]=0"), "page[number]")["rule"] == "min"
    assert invalid(k("GET", "/v2/dcr-providers?sort=colour"), "sort")["rule"] == "enum"
    for pid in ids:
        assert k("DELETE", f"/v2/dcr-providers/{pid}").status_code == 204


def test_duplicate_names_are_accepted_for_providers_and_strategies(emulators, k):
    # no 409 is documented on create: Konnect keeps both, so a module must look up by name first
    a = k("POST", "/v2/dcr-providers", json=azure_provider("twin")).json()
    b = k("POST", "/v2/dcr-providers", json=azure_provider("twin")).json()
    assert a["id"] != b["id"]
    assert len(k("GET", "/v2/dcr-providers?filter[name][eq]=twin").json()["data"]) == 2
    assert [p["name"] for p in emulators.state()["konnect"]["dcr_providers"]].count("twin") == 2
    s1 = k("POST", "/v2/application-auth-strategies", json=oidc_strategy("twin")).json()
    s2 = k("POST", "/v2/application-auth-strategies", json=oidc_strategy("twin")).json()
    assert len(k("GET", "/v2/application-auth-strategies?filter[name]=twin").json()["data"]) == 2
    for path in (f"strategies/{s1['id']}", f"strategies/{s2['id']}"):
        k("DELETE", "/v2/application-auth-" + path)
    for p in (a, b):
        k("DELETE", f"/v2/dcr-providers/{p['id']}")


# -- application auth strategies -----------------------------------------------------------------------


def test_strategy_lifecycle(k):
    provider = k("POST", "/v2/dcr-providers", json=azure_provider("for-strategy")).json()
    r = k("POST", "/v2/application-auth-strategies", json=oidc_strategy("azure dcr", provider["id"]))
    assert r.status_code == 201, r.text
    s = r.json()
    assert "dcr_provider_id" not in s
    assert s["dcr_provider"] == {"id": provider["id"], "name": "for-strategy", "provider_type": "azureAd"}
    assert (s["active"], s["labels"], s["principals"]) == (False, {}, {"enabled": False})
    assert s["supports_multiple_credentials"] is True  # Entra apps hold several secrets
    url = f"/v2/application-auth-strategies/{s['id']}"

    # configs.openid-connect is merged key by key; arrays replace
    r = k("PATCH", url, json={"configs": {"openid-connect": {"scopes": ["api://x/.default"], "cache_tokens": False}}})
    assert r.status_code == 200, r.text
    oidc = r.json()["configs"]["openid-connect"]
    assert oidc["scopes"] == ["api://x/.default"] and oidc["credential_claim"] == ["appid"]
    assert oidc["issuer"] == ISSUER and oidc["cache_tokens"] is False
    r = k("PATCH", url, json={"labels": {"a": "1", "b": "2"}, "display_name": "Shown"})
    assert r.json()["labels"] == {"a": "1", "b": "2"} and r.json()["display_name"] == "Shown"
    assert k("PATCH", url, json={"labels": {"a": None}}).json()["labels"] == {"b": "2"}
    # immutable type, wrong config key, unknown provider
    assert invalid(k("PATCH", url, json={"strategy_type": "key_auth"}), "strategy_type")["rule"] == "unknown_property"
    invalid(k("PATCH", url, json={"configs": {"key-auth": {"key_names": ["k"]}}}), "configs")
    entry = invalid(k("PATCH", url, json={"dcr_provider_id": str(uuid.uuid4())}), "dcr_provider_id")
    assert entry["rule"] == "missing_reference"
    r = k("POST", "/v2/application-auth-strategies", json=oidc_strategy("bad", str(uuid.uuid4())))
    assert invalid(r, "dcr_provider_id")["rule"] == "missing_reference"
    # the provider can't go while a strategy uses it (not documented: decided 409)
    assert "in use" in problem(k("DELETE", f"/v2/dcr-providers/{provider['id']}"), 409)["detail"]

    # PUT is a full replace (and answers 201, as the spec says)
    r = k("PUT", url, json=oidc_strategy("replaced"))
    assert r.status_code == 201, r.text
    replaced = r.json()
    assert (replaced["name"], replaced["labels"], replaced["dcr_provider"]) == ("replaced", {}, None)
    assert replaced["configs"]["openid-connect"]["scopes"] == ["openid"]
    assert invalid(k("PUT", url, json=key_auth("x")), "strategy_type")
    assert k("PUT", f"/v2/application-auth-strategies/{uuid.uuid4()}", json=oidc_strategy("x")).status_code == 404
    assert k("DELETE", f"/v2/dcr-providers/{provider['id']}").status_code == 204
    assert k("DELETE", url).status_code == 204


def key_auth(name) -> dict:
    return {
        "name": name,
        "display_name": name,
        "strategy_type": "key_auth",
        "configs": {"key-auth": {"key_names": ["apikey"]}},
    }


def test_key_auth_strategy_and_filters(k):
    r = k("POST", "/v2/application-auth-strategies", json=key_auth("keys"))
    assert r.status_code == 201, r.text
    s = r.json()
    assert (s["dcr_provider"], s["supports_multiple_credentials"]) == (None, True)
    r = k("POST", "/v2/application-auth-strategies", json={**key_auth("x"), "dcr_provider_id": str(uuid.uuid4())})
    assert invalid(r, "dcr_provider_id")["rule"] == "unknown_property"
    url = f"/v2/application-auth-strategies/{s['id']}"
    r = k("PATCH", url, json={"configs": {"key-auth": {"ttl": {"value": 30, "unit": "days"}}}})
    assert r.json()["configs"]["key-auth"] == {"key_names": ["apikey"], "ttl": {"value": 30, "unit": "days"}}
    r = k("PATCH", url, json={"configs": {"key-auth": {"ttl": None}}})
    assert r.json()["configs"]["key-auth"] == {"key_names": ["apikey"]}
    found = k("GET", "/v2/application-auth-strategies?filter[strategy_type][eq]=key_auth&filter[name]=keys").json()
    assert [x["id"] for x in found["data"]] == [s["id"]]
    assert invalid(k("GET", "/v2/application-auth-strategies?filter[colour]=x"), "filter[colour]")
    assert k("DELETE", url).status_code == 204


# -- portals, APIs, publications -----------------------------------------------------------------------


def test_seeded_portals_and_apis(emulators, k):
    portals = k("GET", "/v3/portals").json()
    assert [p["name"] for p in portals["data"]][:2] == ["developer-portal", "partner-portal"]
    dev = seeded(k, "portals", name="developer-portal")
    assert dev["auto_approve_applications"] is True and dev["display_name"] == "Developer Portal"
    assert "https://" + dev["default_domain"] == emulators.endpoints["portal_url"]
    assert dev["canonical_domain"] == dev["default_domain"]
    assert k("GET", "/v3/portals?filter[auto_approve_applications]=false").json()["data"][0]["name"] == "partner-portal"
    assert invalid(k("GET", "/v3/portals?filter[auto_approve_applications]=maybe"), "filter[auto_approve_applications]")
    orders = k("GET", "/v3/apis?filter[name][eq]=orders&sort=version desc").json()["data"]
    assert [a["version"] for a in orders] == ["v2", "v1"]
    v1 = seeded(k, "apis", name="orders", version="v1")
    assert (v1["slug"], v1["portals"], v1["description"]) == ("orders-v1", [], "Orders API")
    unversioned = k("GET", "/v3/apis?filter[name]=inventory").json()["data"][0]
    assert (unversioned["version"], unversioned["slug"]) == (None, "inventory")
    assert k("GET", "/v3/apis/" + v1["id"]).json() == v1


def test_portal_lifecycle_opens_and_closes_its_listener(emulators, k):
    r = k("POST", "/v3/portals", json={"name": "temp-portal", "labels": {"env": "test"}})
    assert r.status_code == 201, r.text
    portal = r.json()
    assert re.fullmatch(r"127\.0\.0\.1:\d+", portal["default_domain"])
    assert (portal["display_name"], portal["default_application_auth_strategy_id"]) == ("temp-portal", None)
    dev_api = Client("https://" + portal["default_domain"], emulators.endpoints["ca_path"])
    assert dev_api("GET", "/api/v3/applications").status_code == 401  # its own developer API answers
    problem(k("POST", "/v3/portals", json={"name": "temp-portal"}), 409)
    r = k("PATCH", f"/v3/portals/{portal['id']}", json={"display_name": "Temp", "labels": {"env": None}})
    assert (r.json()["display_name"], r.json()["labels"]) == ("Temp", {})
    problem(k("PATCH", f"/v3/portals/{portal['id']}", json={"name": "developer-portal"}), 409)
    invalid(
        k("PATCH", f"/v3/portals/{portal['id']}", json={"default_application_auth_strategy_id": str(uuid.uuid4())}),
        "default_application_auth_strategy_id",
    )
    assert invalid(k("PATCH", f"/v3/portals/{portal['id']}", json={"default_domain": "x.example"}), "default_domain")
    api = seeded(k, "apis", name="payments", version="v1")
    assert k("PUT", f"/v3/apis/{api['id']}/publications/{portal['id']}", json={"auth_strategy_ids": None}).ok
    assert "force=true" in problem(k("DELETE", f"/v3/portals/{portal['id']}"), 409)["detail"]
    assert k("DELETE", f"/v3/portals/{portal['id']}?force=true").status_code == 204
    problem(k("GET", f"/v3/portals/{portal['id']}"), 404)
    assert k("GET", f"/v3/apis/{api['id']}").json()["portals"] == []
    problem(dev_api("GET", "/api/v3/applications"), 404)  # a kept-alive connection: the portal is gone
    with pytest.raises(requests.ConnectionError):  # and nothing listens any more
        Client("https://" + portal["default_domain"], emulators.endpoints["ca_path"])("GET", "/api/v3/applications")


def test_api_lifecycle(k):
    r = k("POST", "/v3/apis", json={"name": "shipping", "version": "2024-01", "labels": {"team": "x"}})
    assert r.status_code == 201, r.text
    api = r.json()
    assert (api["slug"], api["portals"], api["current_version_summary"]) == ("shipping-2024-01", [], None)
    problem(k("POST", "/v3/apis", json={"name": "shipping", "version": "2024-01"}), 409)  # name+version unique
    other = k(
        "POST", "/v3/apis", json={"name": "shipping", "version": "2024-02", "spec_content": '{"openapi":"3.0.0"}'}
    )
    assert other.status_code == 201 and other.json()["current_version_summary"]["spec"]["type"] == "oas3"
    problem(k("PATCH", f"/v3/apis/{other.json()['id']}", json={"version": "2024-01"}), 409)
    r = k("PATCH", f"/v3/apis/{api['id']}", json={"description": "Ships", "labels": {"team": None}})
    assert (r.json()["description"], r.json()["labels"]) == ("Ships", {})
    found = k("GET", "/v3/apis?filter[name][eq]=shipping&filter[version][eq]=2024-02").json()["data"]
    assert [a["id"] for a in found] == [other.json()["id"]]
    k("PATCH", f"/v3/apis/{other.json()['id']}", json={"labels": {"tier": "gold"}})
    assert [a["id"] for a in k("GET", "/v3/apis?filter[labels.tier]=gold").json()["data"]] == [other.json()["id"]]
    assert k("GET", "/v3/apis?filter[created_at][lt]=2000-01-01T00:00:00Z").json()["data"] == []
    assert invalid(k("POST", "/v3/apis", json={"version": "x"}), "name")["rule"] == "required"
    for a in (api, other.json()):
        assert k("DELETE", f"/v3/apis/{a['id']}").status_code == 204
    problem(k("GET", f"/v3/apis/{api['id']}"), 404)


def test_publications(emulators, k):
    portal = seeded(k, "portals", name="partner-portal")
    api = seeded(k, "apis", name="orders", version="v2")
    url = f"/v3/apis/{api['id']}/publications/{portal['id']}"
    problem(k("GET", url), 404)  # not published yet
    strategy = k("POST", "/v2/application-auth-strategies", json=oidc_strategy("publishing")).json()
    other = k("POST", "/v2/application-auth-strategies", json=key_auth("publishing-keys")).json()

    r = k(
        "PUT",
        url,
        json={"auth_strategy_ids": [strategy["id"]], "visibility": "public", "auto_approve_registrations": True},
    )
    assert r.status_code == 200, r.text
    first = r.json()
    assert (first["auth_strategy_ids"], first["visibility"], first["auto_approve_registrations"]) == (
        [strategy["id"]],
        "public",
        True,
    )
    assert k("GET", url).json() == first
    assert k("GET", f"/v2/application-auth-strategies/{strategy['id']}").json()["active"] is True
    assert k("GET", f"/v3/apis/{api['id']}").json()["portals"] == [
        {"id": portal["id"], "name": "partner-portal", "display_name": "Partner Portal"}
    ]
    # in use: the strategy can't be deleted
    assert "orders" in problem(k("DELETE", f"/v2/application-auth-strategies/{strategy['id']}"), 409)["detail"]

    # PUT is a full replace: what is left out goes back to its default
    r = k("PUT", url, json={"auth_strategy_ids": [strategy["id"]]})
    assert (r.json()["visibility"], r.json()["auto_approve_registrations"]) == ("private", False)
    assert r.json()["created_at"] == first["created_at"]
    assert k("PUT", url, json={"auth_strategy_ids": None}).json()["auth_strategy_ids"] is None
    # left out: the portal's default strategy (none yet, then the one set)
    assert k("PUT", url, json={}).json()["auth_strategy_ids"] is None
    k("PATCH", f"/v3/portals/{portal['id']}", json={"default_application_auth_strategy_id": other["id"]})
    assert k("PUT", url, json={"visibility": "public"}).json()["auth_strategy_ids"] == [other["id"]]
    assert (
        "default_application_auth_strategy_id"
        in problem(k("DELETE", f"/v2/application-auth-strategies/{other['id']}"), 409)["detail"]
    )
    # invalid lists of strategies
    assert invalid(k("PUT", url, json={"auth_strategy_ids": []}), "auth_strategy_ids")["rule"] == "min_items"
    entry = invalid(k("PUT", url, json={"auth_strategy_ids": [strategy["id"], other["id"]]}), "auth_strategy_ids")
    assert (entry["rule"], entry["maximum"]) == ("max_items", 1)
    entry = invalid(k("PUT", url, json={"auth_strategy_ids": [str(uuid.uuid4())]}), "auth_strategy_ids")
    assert entry["rule"] == "missing_reference"
    assert invalid(k("PUT", url, json={"visibility": "secret"}), "visibility")["rule"] == "enum"
    assert invalid(k("PUT", url, json={"published": True}), "published")["rule"] == "unknown_property"
    problem(k("PUT", f"/v3/apis/{uuid.uuid4()}/publications/{portal['id']}", json={}), 404)

    # the list endpoints
    listed = k("GET", f"/v3/api-publications?filter[api_id]={api['id']}&filter[portal_id][eq]={portal['id']}").json()
    assert len(listed["data"]) == 1
    assert listed["data"][0]["api_id"] == api["id"] and listed["data"][0]["entity_type"] == "api"
    by_strategy = k("GET", f"/v3/api-publications?filter[auth_strategy_id]={other['id']}").json()["data"]
    assert [p["api_id"] for p in by_strategy] == [api["id"]]
    assert k("GET", "/v3/api-publications?filter[portal_name]=partner-portal&filter[api_name]=orders").json()["data"]
    in_portal = k("GET", f"/v3/portals/{portal['id']}/api-publications").json()["data"]
    assert [(p["api_id"], p["portal_ids"]) for p in in_portal] == [(api["id"], [portal["id"]])]
    assert invalid(k("GET", f"/v3/portals/{portal['id']}/api-publications?filter[portal_id]=x"), "filter[portal_id]")

    assert k("DELETE", url).status_code == 204
    problem(k("GET", url), 404)
    problem(k("DELETE", url), 404)
    k("PATCH", f"/v3/portals/{portal['id']}", json={"default_application_auth_strategy_id": None})
    for s in (strategy, other):
        assert k("DELETE", f"/v2/application-auth-strategies/{s['id']}").status_code == 204
    assert not emulators.state()["konnect"]["publications"]


# -- verify: Konnect signs in to Entra as the initial client -------------------------------------------


def test_verify_signs_in_with_the_stored_initial_client(emulators, k):
    e = emulators.endpoints
    good = azure_provider("verify-good", e["automation_client_secret"])
    good["dcr_config"]["initial_client_id"] = e["automation_client_id"]
    provider = k("POST", "/v2/dcr-providers", json=good).json()
    r = k("POST", f"/v2/dcr-providers/{provider['id']}/verify")
    assert r.status_code == 200, r.text
    assert r.json() == {"status": "success", "errors": []}
    # a wrong secret, stored by PATCH: Entra refuses it
    k("PATCH", f"/v2/dcr-providers/{provider['id']}", json={"dcr_config": {"initial_client_secret": "wrong"}})
    result = k("POST", f"/v2/dcr-providers/{provider['id']}/verify").json()
    assert result["status"] == "failed" and "invalid_client" in result["errors"][0], result
    token_calls = [
        r for r in emulators.requests() if r["service"] == "entra" and r["path"] == f"/{TENANT}/oauth2/v2.0/token"
    ]
    assert token_calls and token_calls[-1]["request_body"]["scope"] == "https://graph.microsoft.com/.default"
    assert token_calls[-1]["request_body"]["client_id"] == e["automation_client_id"]
    problem(k("POST", f"/v2/dcr-providers/{uuid.uuid4()}/verify"), 404)
    k("DELETE", f"/v2/dcr-providers/{provider['id']}")


def test_verify_fails_without_the_graph_permission(emulators, k):
    tenant, client_id, secret = str(uuid.uuid4()), str(uuid.uuid4()), "no~consent~" + uuid.uuid4().hex
    emulators.seed(
        {
            "tenants": [
                {
                    "id": tenant,
                    "domain": "noconsent.onmicrosoft.com",
                    "automation": {
                        "client_id": client_id,
                        "client_secret": secret,
                        "display_name": "dcr-admin-without-consent",
                        "roles": ["Application.Read.All"],
                    },
                }
            ]
        }
    )
    body = azure_provider("verify-no-consent", secret, issuer=f"https://sts.windows.net/{tenant}")
    body["dcr_config"]["initial_client_id"] = client_id
    provider = k("POST", "/v2/dcr-providers", json=body).json()
    result = k("POST", f"/v2/dcr-providers/{provider['id']}/verify").json()
    assert result["status"] == "failed"
    assert "Application.ReadWrite.OwnedBy" in result["errors"][0]
    k("DELETE", f"/v2/dcr-providers/{provider['id']}")


# -- Kong's gateway answers: 429 and 503 ------------------------------------------------------------


def test_rate_limit_answers_like_kong(start_emulators):
    emu = start_emulators("--rate-limit", "3")
    c = konnect(emu)
    answers = [c("GET", "/v2/dcr-providers") for _ignored in range(12)]
    limited = [r for r in answers if r.status_code == 429]
    assert limited, [r.status_code for r in answers]
    r = limited[0]
    assert r.content == b'{"message":"API rate limit exceeded"}'  # 37 bytes, not problem+json
    assert r.headers["Content-Type"] == "application/json; charset=utf-8"
    for header in (
        "Retry-After",
        "RateLimit-Limit",
        "RateLimit-Remaining",
        "RateLimit-Reset",
        "X-RateLimit-Limit-Minute",
        "X-RateLimit-Remaining-Minute",
    ):
        assert header in r.headers, r.headers
    assert (r.headers["RateLimit-Limit"], r.headers["RateLimit-Remaining"]) == ("3", "0")
    assert int(r.headers["Retry-After"]) >= 1
    assert emu.violations() == []


def test_injected_503_is_kongs(emulators, k):
    emulators.faults(fault_rate=1.0, fault_seed=3)
    try:
        answers = [k("GET", "/v2/dcr-providers") for _ignored in range(8)]
    finally:
        emulators.faults(fault_rate=0.0)
    unavailable = [r for r in answers if r.status_code == 503]
    assert unavailable and {r.status_code for r in answers} <= {429, 503}
    assert unavailable[0].json()["message"] == "The upstream server is currently unavailable"
    assert "Retry-After" not in unavailable[0].headers


def test_reset_keeps_the_seeded_portal_urls(emulators, k):
    before = {p["name"]: p for p in k("GET", "/v3/portals").json()["data"]}
    k("POST", "/v2/dcr-providers", json=azure_provider("gone after reset"))
    emulators.reset()
    after = {p["name"]: p for p in k("GET", "/v3/portals").json()["data"]}
    assert set(after) == {"developer-portal", "partner-portal"}
    assert after["developer-portal"]["id"] != before["developer-portal"]["id"]
    assert after["developer-portal"]["default_domain"] == before["developer-portal"]["default_domain"]
    assert k("GET", "/v2/dcr-providers").json()["data"] == []
    # endpoints.json still points at the developer portal, which answers for the new portal id
    dev = Client(emulators.endpoints["portal_url"], emulators.endpoints["ca_path"])
    e = emulators.endpoints
    r = dev(
        "POST",
        "/api/v3/developer/authenticate",
        json={"username": e["developer_email"], "password": e["developer_password"]},
    )
    assert r.status_code == 204, r.text
    assert dev("GET", "/api/v3/applications").status_code == 200


def test_no_contract_violations(emulators):
    assert emulators.violations() == []
