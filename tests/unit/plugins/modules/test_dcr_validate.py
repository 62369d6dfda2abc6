"""dcr_validate against an in-memory Konnect, Dev Portal, Graph and Entra ID (v1 tokens signed with a test key)."""

from __future__ import annotations

import json
import sys
import uuid
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import pytest
import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import graph_fake
from ansible_collections.konnect.devportal.plugins.modules import dcr_validate as module
from graph_fake import AUTHORITY, AUTOMATION_ID, AUTOMATION_SECRET, GRAPH, ROLES, TENANT, FakeResponse

# the fixtures
fake_time = graph_fake.fake_time
graph = graph_fake.graph

KONNECT = "https://konnect.test"
PORTAL_DOMAIN = "portal.test"
INITIAL_SECRET = "Initial~Client.Secret-0123456789"
DEVELOPER = {"email": "dev@example.com", "password": "Developer-Passw0rd!"}
ISSUER = "https://sts.windows.net/" + TENANT


class Konnect:
    """Konnect's regional API and one portal's developer API, as far as dcr_validate uses them."""

    def __init__(self, graph):
        self.graph = graph
        self.providers = []
        self.strategies = []
        self.portals = [
            {
                "id": str(uuid.uuid4()),
                "name": "developer-portal",
                "default_domain": PORTAL_DOMAIN,
                "canonical_domain": PORTAL_DOMAIN,
            }
        ]
        self.verify = {"status": "success", "errors": []}
        self.verify_answers = []  # answered first, one per call, before self.verify
        self.verify_calls = 0
        self.applications = {}
        self.fail_token_for_new_clients = False
        self.headers = {}
        self.calls = []

    def request(self, method, url, params=None, json=None, headers=None, **kwargs):
        parts = urlsplit(url)
        if parts.netloc not in ("konnect.test", PORTAL_DOMAIN):
            return self.graph.request(method, url, params=params, json=json, headers=headers, **kwargs)
        query = dict(parse_qsl(parts.query))
        query.update(params or {})
        self.calls.append((method, parts.netloc, parts.path, dict(self.headers)))
        if parts.netloc == PORTAL_DOMAIN:
            return self._portal(method, parts.path, json)
        for collection, items in (
            ("/v2/dcr-providers", self.providers),
            ("/v2/application-auth-strategies", self.strategies),
            ("/v3/portals", self.portals),
        ):
            if parts.path == collection:
                name = query.get("filter[name][eq]")
                found = [i for i in items if name is None or i["name"] == name]
                return FakeResponse(
                    200, {"data": found, "meta": {"page": {"number": 1, "size": 100, "total": len(found)}}}
                )
            if parts.path.startswith(collection + "/"):
                rest = parts.path[len(collection) + 1 :]
                if rest.endswith("/verify"):
                    self.verify_calls += 1
                    return FakeResponse(200, self.verify_answers.pop(0) if self.verify_answers else self.verify)
                found = [i for i in items if i["id"] == rest]
                return (
                    FakeResponse(200, found[0]) if found else FakeResponse(404, {"status": 404, "title": "Not Found"})
                )
        raise AssertionError("no Konnect route for %s %s" % (method, parts.path))

    def _portal(self, method, path, body):
        if path == "/api/v3/developer/authenticate":
            assert body == {"username": DEVELOPER["email"], "password": DEVELOPER["password"]}
            return FakeResponse(204, None, {"Set-Cookie": "portalaccesstoken=cookie-123; Path=/; HttpOnly; Secure"})
        assert self.headers.get("Cookie") == "portalaccesstoken=cookie-123"
        if method == "POST" and path == "/api/v3/applications":
            app = self.graph.add_app(body["name"])  # Konnect creates the Entra ID app through DCR
            secret = "Dcr~App.Secret-" + uuid.uuid4().hex
            if not self.fail_token_for_new_clients:
                self.graph.v1_secrets[app["appId"]] = secret
            created = {
                "id": str(uuid.uuid4()),
                "name": body["name"],
                "client_id": app["appId"],
                "client_secret": secret,
            }
            self.applications[created["id"]] = dict(created, auth_strategy_id=body["auth_strategy_id"])
            return FakeResponse(201, created)
        if method == "DELETE" and path.startswith("/api/v3/applications/"):
            self.applications.pop(path.rsplit("/", 1)[1])
            return FakeResponse(204)
        raise AssertionError("no portal route for %s %s" % (method, path))


@pytest.fixture
def world(graph, fake_time, monkeypatch):
    konnect = Konnect(graph)
    monkeypatch.setattr(requests, "Session", lambda: konnect)
    for name in ("KONNECT_TOKEN", "KONNECT_SPAT", "KONNECT_REGION", "KONNECT_SERVER_URL"):
        monkeypatch.delenv(name, raising=False)
    # the DCR initial client, consented, and the Konnect objects using it
    app = graph.add_app("konnect-dcr-admin")
    graph.v1_secrets[app["appId"]] = INITIAL_SECRET
    sp = {"id": str(uuid.uuid4()), "appId": app["appId"], "displayName": "konnect-dcr-admin"}
    graph.sps[sp["id"]] = sp
    assignment = {
        "id": "a-1",
        "principalId": sp["id"],
        "resourceId": graph.graph_sp["id"],
        "appRoleId": ROLES["Application.ReadWrite.OwnedBy"],
    }
    graph.assignments["a-1"] = assignment
    graph.grants["g-1"] = {
        "id": "g-1",
        "clientId": sp["id"],
        "consentType": "AllPrincipals",
        "resourceId": graph.graph_sp["id"],
        "principalId": None,
        "scope": "User.Read",
    }
    provider = {
        "id": str(uuid.uuid4()),
        "name": "azure-dcr",
        "provider_type": "azureAd",
        "issuer": ISSUER,
        "dcr_config": {"initial_client_id": app["appId"]},
    }
    konnect.providers.append(provider)
    konnect.strategies.append(
        {
            "id": str(uuid.uuid4()),
            "name": "azure-dcr",
            "strategy_type": "openid_connect",
            "configs": {"openid-connect": {"issuer": ISSUER, "credential_claim": ["appid"]}},
            "dcr_provider": {"id": provider["id"], "name": "azure-dcr", "provider_type": "azureAd"},
        }
    )
    konnect.app = app
    return konnect


@pytest.fixture
def validate(world, capsys, monkeypatch, fake_time):
    monkeypatch.setattr(module, "time", fake_time)
    from ansible.module_utils.common import warnings as ansible_warnings
    from ansible.module_utils.testing import patch_module_args

    def runner(check=False, automation=True, **args):
        module_args = dict(
            konnect_token="kpat_unit",
            konnect_url=KONNECT,
            authority_host=AUTHORITY,
            graph_url=GRAPH,
            tenant_id=TENANT,
            dcr_provider="azure-dcr",
            replication_timeout=3,
            _ansible_check_mode=check,
        )
        if automation:
            module_args.update(client_id=AUTOMATION_ID, client_secret=AUTOMATION_SECRET)
        module_args.update(args)
        monkeypatch.setattr(ansible_warnings, "_global_warnings", {})
        with patch_module_args(module_args), pytest.raises(SystemExit):
            module.main()
        out = capsys.readouterr().out
        return json.loads(out), out

    return runner


FULL = dict(
    auth_strategy="azure-dcr", initial_client_secret=INITIAL_SECRET, portal="developer-portal", developer=DEVELOPER
)


def by_name(result):
    return {c["name"]: c for c in result["checks"]}


def test_a_correct_setup_passes_every_check(validate, world):
    result, out = validate(**FULL)
    assert result["changed"] is False and "failed" not in result
    assert [c["name"] for c in result["checks"]] == [
        "provider_issuer",
        "provider_verify",
        "auth_strategy",
        "credential_claim",
        "initial_client_token",
        "admin_consent",
        "developer_round_trip",
    ]
    assert all(c["ok"] for c in result["checks"]) and result["skipped_checks"] == []
    assert result["initial_client_id"] == world.app["appId"] and result["tenant_id"] == TENANT
    detail = by_name(result)["developer_round_trip"]["detail"]
    assert "portal https://portal.test; logged in; application" in detail and detail.endswith("application deleted")
    assert world.applications == {}
    for secret in [INITIAL_SECRET, DEVELOPER["password"], "cookie-123", *list(world.graph.v1_secrets.values())]:
        assert secret not in out
    v1 = [c for c in world.graph.calls if c["path"] == "/%s/oauth2/token" % TENANT]
    assert len(v1) == 2 and all(c["method"] == "POST" for c in v1)
    assert all(c["data"]["resource"] == "https://graph.microsoft.com" and "scope" not in c["data"] for c in v1)


def test_a_claim_other_than_appid_fails_naming_the_check(validate, world):
    world.strategies[0]["configs"]["openid-connect"]["credential_claim"] = ["client_id"]
    result, _out = validate(auth_strategy="azure-dcr")
    assert result["failed"] is True
    assert result["msg"].startswith("DCR validation failed (credential_claim): credential_claim: credential_claim is")
    assert by_name(result)["credential_claim"]["ok"] is False
    assert by_name(result)["auth_strategy"]["ok"] is True


def test_a_strategy_of_another_provider_fails(validate, world):
    world.strategies[0]["dcr_provider"]["id"] = "other"
    result, _out = validate(auth_strategy="azure-dcr")
    assert "auth_strategy" in result["msg"] and "it uses DCR provider other" in result["msg"]


def test_a_wrong_initial_secret_fails_the_token_check(validate, world):
    result, out = validate(initial_client_secret="Wrong-Secret-Value-000")
    assert result["failed"] is True
    check = by_name(result)["initial_client_token"]
    assert (
        check["ok"] is False and "AADSTS7000215" in check["detail"] and "check initial_client_secret" in check["detail"]
    )
    assert "Wrong-Secret-Value-000" not in out


def test_konnect_verify_failure_is_named_at_once_when_it_is_not_replication(validate, world):
    world.verify = {"status": "failed", "errors": ["issuer metadata could not be fetched"]}
    result, _out = validate()
    assert result["msg"] == (
        "DCR validation failed (provider_verify): provider_verify: Konnect's verification failed: "
        "issuer metadata could not be fetched"
    )
    assert world.verify_calls == 1


def test_a_secret_entra_id_does_not_know_yet_is_waited_for(validate, world, fake_time):
    unknown = {"status": "failed", "errors": ["AADSTS7000215: Invalid client secret provided."]}
    world.verify_answers = [unknown, unknown]
    result, _out = validate()
    check = by_name(result)["provider_verify"]
    assert check["ok"] is True and world.verify_calls == 3
    assert check["detail"] == "Konnect verified the provider (after 3s of Entra ID replication)"
    assert fake_time.slept == [1.0, 2.0]


def test_a_secret_still_unknown_after_replication_timeout_fails_saying_how_long(validate, world, fake_time):
    world.verify = {"status": "failed", "errors": ["invalid client secret"]}
    result, _out = validate(replication_timeout=10)
    assert result["msg"] == (
        "DCR validation failed (provider_verify): provider_verify: Konnect's verification failed: invalid client "
        "secret (still so after 10s: Entra ID replicates new credentials and consent within seconds to minutes, "
        "raise replication_timeout (10s) if they are that new)"
    )
    assert world.verify_calls == 5 and fake_time.slept == [1.0, 2.0, 4.0, 3.0]  # the last at the deadline


def test_consent_given_seconds_ago_is_waited_for(validate, world, fake_time, monkeypatch):
    assignment = world.graph.assignments.pop("a-1")
    sleep = fake_time.sleep

    def sleep_then_replicate(seconds):
        sleep(seconds)
        world.graph.assignments["a-1"] = assignment

    monkeypatch.setattr(fake_time, "sleep", sleep_then_replicate)
    result, _out = validate()
    check = by_name(result)["admin_consent"]
    assert check["ok"] is True and check["detail"].endswith("(after 1s of Entra ID replication)")


def test_missing_consent_is_named_from_graph(validate, world):
    world.graph.assignments.clear()
    result, _out = validate()
    check = by_name(result)["admin_consent"]
    assert check["ok"] is False
    assert "lacks admin consent for Microsoft Graph Application.ReadWrite.OwnedBy (application)" in check["detail"]


def test_missing_consent_is_named_from_the_token_without_automation_identity(validate, world):
    world.graph.assignments.clear()
    result, _out = validate(automation=False, initial_client_secret=INITIAL_SECRET)
    check = by_name(result)["admin_consent"]
    assert check["ok"] is False and "has no Application.ReadWrite.OwnedBy role" in check["detail"]
    assert not [c for c in world.graph.calls if c["path"].startswith("/v1.0/")]  # no Graph call


def test_consent_from_the_token_passes(validate, world):
    result, _out = validate(automation=False, initial_client_secret=INITIAL_SECRET)
    assert by_name(result)["admin_consent"]["ok"] is True


def test_issuer_of_another_tenant_fails(validate, world):
    world.providers[0]["issuer"] = "https://sts.windows.net/11111111-2222-3333-4444-555555555555"
    result, _out = validate()
    assert "provider_issuer" in result["msg"] and "not tenant_id %s" % TENANT in result["msg"]


def test_v2_issuer_fails_with_the_right_form(validate, world):
    world.providers[0]["issuer"] = "https://login.microsoftonline.com/%s/v2.0" % TENANT
    result, _out = validate()
    assert "provider_issuer" in result["msg"] and ISSUER in result["msg"]


def test_round_trip_failure_still_deletes_the_application(validate, world):
    world.fail_token_for_new_clients = True
    result, _out = validate(**FULL)
    check = by_name(result)["developer_round_trip"]
    assert check["ok"] is False and "AADSTS7000215" in check["detail"]
    assert check["detail"].endswith("application deleted)")
    assert world.applications == {}


def test_check_mode_skips_the_round_trip(validate, world):
    result, _out = validate(check=True, **FULL)
    assert "developer_round_trip" not in by_name(result)
    assert result["skipped_checks"] == ["developer_round_trip: check mode: it would create an application"]
    assert not [c for c in world.calls if c[1] == PORTAL_DOMAIN]


def test_unknown_provider_fails(validate, world):
    result, _out = validate(dcr_provider="nope")
    assert result["failed"] is True and "DCR provider 'nope' not found" in result["msg"]


def test_round_trip_needs_portal_and_strategy(validate, world):
    result, _out = validate(developer=DEVELOPER)
    assert result["failed"] is True and "portal" in result["msg"] and "auth_strategy" in result["msg"]
