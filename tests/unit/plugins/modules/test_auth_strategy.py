"""auth_strategy: args in, JSON result out, requests checked against a scripted session."""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import konnect_fake
from ansible_collections.konnect.devportal.plugins.modules import auth_strategy
from konnect_fake import ISSUER, api, ok, page, portal, problem, provider, publication, strategy, uid, warning_texts

run = konnect_fake.run  # the fixture
PATH = "/v2/application-auth-strategies"
PROVIDERS = "/v2/dcr-providers"
ARGS = dict(
    name="azure-dcr",
    dcr_provider="azure-dcr",
    credential_claim=["appid"],
    scopes=["openid"],
    auth_methods=["client_credentials", "bearer", "session"],
)


def fails(out, *words):
    assert out.get("failed") is True, out
    assert "\n" not in out["msg"]
    for word in words:
        assert word in out["msg"], out["msg"]
    return True


def test_create_takes_the_issuer_from_the_provider(run):
    out, session = run(
        auth_strategy.main,
        ARGS,
        ("GET", PATH, page([])),
        ("GET", PROVIDERS, page([provider()])),
        ("POST", PATH, ok(strategy(), 201)),
    )
    assert session.writes()[0]["json"] == {
        "name": "azure-dcr",
        "display_name": "azure-dcr",
        "strategy_type": "openid_connect",
        "dcr_provider_id": uid(1),
        "configs": {
            "openid-connect": {
                "issuer": ISSUER,
                "credential_claim": ["appid"],
                "scopes": ["openid"],
                "auth_methods": ["client_credentials", "bearer", "session"],
            }
        },
    }
    assert out["changed"] is True and out["auth_strategy"]["id"] == uid(10)


def test_rerun_makes_no_write(run):
    out, session = run(
        auth_strategy.main, ARGS, ("GET", PATH, page([strategy()])), ("GET", PROVIDERS, page([provider()]))
    )
    assert out["changed"] is False and session.writes() == []


def test_patch_sends_only_the_changed_config_key(run):
    out, session = run(
        auth_strategy.main,
        dict(ARGS, scopes=["openid", "profile"], extra_settings={"cache_tokens": False}),
        ("GET", PATH, page([strategy()])),
        ("GET", PROVIDERS, page([provider()])),
        ("PATCH", PATH + "/" + uid(10), ok(strategy())),
    )
    assert session.writes()[0]["json"] == {
        "configs": {"openid-connect": {"scopes": ["openid", "profile"], "cache_tokens": False}}
    }
    after = out["diff"]["after"]["configs"]["openid-connect"]
    before = out["diff"]["before"]["configs"]["openid-connect"]
    assert {k for k in after if after[k] != before.get(k)} == {"scopes", "cache_tokens"}


def test_check_mode_with_provider_still_to_create_plans_and_warns(run):
    out, session = run(
        auth_strategy.main,
        dict(ARGS, issuer=ISSUER),
        ("GET", PATH, page([])),
        ("GET", PROVIDERS, page([])),
        check=True,
    )
    assert out["changed"] is True and session.writes() == []
    assert "does not exist yet" in json.dumps(out["warnings"])


def test_missing_provider_outside_check_mode_fails(run):
    out, session = run(auth_strategy.main, ARGS, ("GET", PATH, page([])), ("GET", PROVIDERS, page([])))
    assert fails(out, "DCR provider 'azure-dcr' not found") and session.writes() == []


def test_unknown_auth_method_fails_before_any_request(run):
    out, session = run(auth_strategy.main, dict(ARGS, auth_methods=["client_credentials", "magic"]))
    assert fails(out, "auth_methods", "magic") and session.calls == []


def test_azure_provider_requires_the_v1_issuer(run):
    out, session = run(
        auth_strategy.main,
        dict(ARGS, issuer=ISSUER + "/"),
        ("GET", PATH, page([])),
        ("GET", PROVIDERS, page([provider()])),
    )
    assert fails(out, "must not end with a slash", "use " + ISSUER) and session.writes() == []


def test_strategy_type_change_says_how_to_replace(run):
    out, session = run(
        auth_strategy.main, dict(name="azure-dcr", strategy_type="key_auth"), ("GET", PATH, page([strategy()]))
    )
    assert fails(out, "is openid_connect", "cannot change to key_auth", "state=absent") and session.writes() == []


def test_key_auth_options_on_oidc_are_refused(run):
    out, session = run(auth_strategy.main, dict(ARGS, key_names=["apikey"]))
    assert fails(out, "key_names do not apply to strategy_type openid_connect") and session.calls == []


def test_key_auth_create(run):
    created = strategy(12, "keys", provider_obj=False, strategy_type="key_auth", configs={"key-auth": {}})
    out, session = run(
        auth_strategy.main,
        dict(name="keys", strategy_type="key_auth", key_names=["apikey"], ttl={"value": 30, "unit": "days"}),
        ("GET", PATH, page([])),
        ("POST", PATH, ok(created, 201)),
    )
    assert session.writes()[0]["json"]["configs"] == {
        "key-auth": {"key_names": ["apikey"], "ttl": {"value": 30, "unit": "days"}}
    }
    assert out["changed"] is True


def delete_in_use(run, check):
    """Delete the strategy while orders v1 on developer-portal uses it."""
    orders, dev = api(30, "orders", "v1"), portal(20, "developer-portal")
    return run(
        auth_strategy.main,
        dict(name="azure-dcr", state="absent"),
        ("GET", PATH, page([strategy()])),
        ("GET", "/v3/api-publications", page([publication(orders, dev, [uid(10)])])),
        ("GET", "/v3/apis/" + uid(30), ok(orders)),
        ("GET", "/v3/portals/" + uid(20), ok(dev)),
        check=check,
    )


def test_delete_in_use_names_the_publications(run):
    out, session = delete_in_use(run, check=False)
    assert fails(out, "used by the API publications orders v1 on developer-portal", "api_publication state=absent")
    assert session.calls[1]["params"]["filter[auth_strategy_id][eq]"] == uid(10) and session.writes() == []


def test_delete_in_use_in_check_mode_predicts_the_delete_and_warns(run):
    """An earlier task of the run (simulated in check mode) may unpublish them."""
    out, session = delete_in_use(run, check=True)
    assert out["changed"] is True and "failed" not in out and session.writes() == []
    assert warning_texts(out) == [
        "check mode: auth strategy 'azure-dcr' is used by the API publications orders v1 on developer-portal; "
        "it can be deleted only once they are unpublished"
    ]


def test_delete_conflict_from_konnect_gets_a_hint(run):
    out, _session = run(
        auth_strategy.main,
        dict(name="azure-dcr", state="absent"),
        ("GET", PATH, page([strategy()])),
        ("GET", "/v3/api-publications", page([])),
        ("DELETE", PATH + "/" + uid(10), problem(409, "Conflict", "in use")),
    )
    assert fails(out, "HTTP 409 Conflict: in use", "portal's default")


def test_absent_deletes_then_is_idempotent(run):
    out, session = run(
        auth_strategy.main,
        dict(name="azure-dcr", state="absent"),
        ("GET", PATH, page([strategy()])),
        ("GET", "/v3/api-publications", page([])),
        ("DELETE", PATH + "/" + uid(10), ok(None, 204)),
    )
    assert out["changed"] is True
    out, session = run(auth_strategy.main, dict(name="azure-dcr", state="absent"), ("GET", PATH, page([])))
    assert out["changed"] is False and session.writes() == []


def test_rerun_with_the_issuer_given_needs_no_provider_lookup(run):
    # the strategy names its provider (id, name, type): with the issuer given, one request in all
    out, session = run(auth_strategy.main, dict(ARGS, issuer=ISSUER), ("GET", PATH, page([strategy()])))
    assert out["changed"] is False and len(session.calls) == 1


def test_a_strategy_on_another_provider_still_looks_the_provider_up(run):
    other = provider(2, name="other-dcr")
    out, session = run(
        auth_strategy.main,
        dict(ARGS, issuer=ISSUER),
        ("GET", PATH, page([strategy(provider_obj=other)])),
        ("GET", PROVIDERS, page([provider()])),
        ("PATCH", PATH + "/" + uid(10), ok(strategy())),
    )
    assert out["changed"] is True and session.writes()[0]["json"] == {"dcr_provider_id": uid(1)}
