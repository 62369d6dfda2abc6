"""dcr_provider: args in, JSON result out, requests checked against a scripted session."""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import konnect_fake
from ansible_collections.konnect.devportal.plugins.modules import dcr_provider
from konnect_fake import ISSUER, SECRET, TENANT, ok, page, problem, provider, strategy, uid, warning_texts

run = konnect_fake.run  # the fixture
PATH = "/v2/dcr-providers"
ARGS = dict(
    name="azure-dcr",
    display_name="Azure AD",
    issuer=ISSUER,
    initial_client_id="client-1",
    initial_client_secret=SECRET,
)


def no_secret(out, session=None):
    assert SECRET not in json.dumps(out)
    return True


def test_check_mode_on_empty_org_plans_a_create_without_writing(run):
    out, session = run(dcr_provider.main, ARGS, ("GET", PATH, page([])), check=True)
    assert out["changed"] is True and out["secret_sent"] is True
    assert out["dcr_provider"]["id"] is None and "initial_client_secret" not in out["dcr_provider"]["dcr_config"]
    assert out["diff"]["before"] == {"state": "absent"}
    assert out["diff"]["after"]["dcr_config"] == {"initial_client_id": "client-1", "initial_client_secret": "********"}
    assert session.writes() == [] and session.calls[0]["params"]["filter[name][eq]"] == "azure-dcr"
    assert no_secret(out)


def test_create_sends_the_secret_once(run):
    out, session = run(dcr_provider.main, ARGS, ("GET", PATH, page([])), ("POST", PATH, ok(provider(), 201)))
    body = session.writes()[0]["json"]
    assert body == {
        "name": "azure-dcr",
        "provider_type": "azureAd",
        "display_name": "Azure AD",
        "issuer": ISSUER,
        "dcr_config": {"initial_client_id": "client-1", "initial_client_secret": SECRET},
    }
    assert out["changed"] is True and out["dcr_provider"]["id"] == uid(1)
    assert no_secret(out)


def test_rerun_makes_no_write_and_reports_no_change(run):
    out, session = run(dcr_provider.main, ARGS, ("GET", PATH, page([provider()])))
    assert out["changed"] is False and out["secret_sent"] is False and session.writes() == []
    assert out["diff"]["before"] == out["diff"]["after"]


def test_display_name_missing_from_answer_is_not_drift(run):
    current = provider()
    del current["display_name"]
    out, session = run(dcr_provider.main, ARGS, ("GET", PATH, page([current])))
    assert out["changed"] is False and session.writes() == []


def test_one_changed_field_is_the_only_thing_patched_and_diffed(run):
    out, session = run(
        dcr_provider.main,
        dict(ARGS, display_name="Entra ID"),
        ("GET", PATH, page([provider()])),
        ("PATCH", PATH + "/" + uid(1), ok(provider(display_name="Entra ID"))),
    )
    assert session.writes()[0]["json"] == {"display_name": "Entra ID"}
    before, after = out["diff"]["before"], out["diff"]["after"]
    assert {k for k in before if before[k] != after[k]} == {"display_name"}
    assert after["display_name"] == "Entra ID"


def test_check_mode_on_drift_reports_without_writing(run):
    out, session = run(
        dcr_provider.main, dict(ARGS, display_name="Entra ID"), ("GET", PATH, page([provider()])), check=True
    )
    assert out["changed"] is True and session.writes() == []
    assert out["dcr_provider"]["display_name"] == "Entra ID"


def test_update_secret_always_sends_it_and_reports_change(run):
    out, session = run(
        dcr_provider.main,
        dict(ARGS, update_secret="always"),
        ("GET", PATH, page([provider()])),
        ("PATCH", PATH + "/" + uid(1), ok(provider())),
    )
    assert session.writes()[0]["json"] == {"dcr_config": {"initial_client_secret": SECRET}}
    assert out["changed"] is True and out["secret_sent"] is True
    assert out["diff"]["after"]["dcr_config"]["initial_client_secret"] == "********"
    assert no_secret(out)


def test_new_client_id_is_sent_with_its_secret(run):
    out, session = run(
        dcr_provider.main,
        dict(ARGS, initial_client_id="client-2"),
        ("GET", PATH, page([provider()])),
        ("PATCH", PATH + "/" + uid(1), ok(provider(dcr_config={"initial_client_id": "client-2"}))),
    )
    assert session.writes()[0]["json"] == {
        "dcr_config": {"initial_client_id": "client-2", "initial_client_secret": SECRET}
    }
    assert out["secret_sent"] is True and no_secret(out)


def test_labels_become_exactly_the_given_ones(run):
    out, session = run(
        dcr_provider.main,
        dict(ARGS, labels={"env": "prod"}),
        ("GET", PATH, page([provider(labels={"env": "dev", "team": "x"})])),
        ("PATCH", PATH + "/" + uid(1), ok(provider(labels={"env": "prod"}))),
    )
    assert session.writes()[0]["json"] == {"labels": {"env": "prod", "team": None}}
    assert out["diff"]["before"]["labels"] == {"env": "dev", "team": "x"}
    assert out["diff"]["after"]["labels"] == {"env": "prod"}


def test_other_provider_types_build_their_config(run):
    out, session = run(
        dcr_provider.main,
        dict(
            name="custom",
            provider_type="http",
            issuer="https://idp.example.com",
            dcr_base_url="https://dcr.example.com",
            api_key="key_0123456789abc",
            allow_multiple_credentials=True,
        ),
        ("GET", PATH, page([])),
        ("POST", PATH, ok(provider(provider_type="http", dcr_config={"dcr_base_url": "https://dcr.example.com"}), 201)),
    )
    assert session.writes()[0]["json"]["dcr_config"] == {
        "dcr_base_url": "https://dcr.example.com",
        "allow_multiple_credentials": True,
        "api_key": "key_0123456789abc",
    }
    assert "key_0123456789abc" not in json.dumps(out)


def test_absent_deletes_then_is_idempotent(run):
    out, session = run(
        dcr_provider.main,
        dict(name="azure-dcr", state="absent"),
        ("GET", PATH, page([provider()])),
        ("GET", "/v2/application-auth-strategies", page([])),
        ("DELETE", PATH + "/" + uid(1), ok(None, 204)),
    )
    assert out["changed"] is True and out["diff"]["after"] == {"state": "absent"}
    assert session.calls[1]["params"]["filter[dcr_provider_id][eq]"] == uid(1)
    out, session = run(dcr_provider.main, dict(name="azure-dcr", state="absent"), ("GET", PATH, page([])))
    assert out["changed"] is False and session.writes() == []


def fails(out, *words):
    assert out.get("failed") is True, out
    assert "\n" not in out["msg"] and "Traceback" not in json.dumps(out)
    for word in words:
        assert word in out["msg"], out["msg"]
    return True


def test_absent_fails_while_strategies_use_it(run):
    out, session = run(
        dcr_provider.main,
        dict(name="azure-dcr", state="absent"),
        ("GET", PATH, page([provider()])),
        ("GET", "/v2/application-auth-strategies", page([strategy(name="s1"), strategy(11, name="s2")])),
    )
    assert fails(out, "'s1'", "'s2'", "auth_strategy state=absent") and session.writes() == []


def test_absent_in_check_mode_predicts_the_delete_and_warns_of_the_strategies(run):
    """An earlier task of the run (simulated in check mode) may delete the strategies."""
    out, session = run(
        dcr_provider.main,
        dict(name="azure-dcr", state="absent"),
        ("GET", PATH, page([provider()])),
        ("GET", "/v2/application-auth-strategies", page([strategy(name="s1")])),
        check=True,
    )
    assert out["changed"] is True and "failed" not in out and session.writes() == []
    assert warning_texts(out) == [
        "check mode: DCR provider 'azure-dcr' is used by auth strategies 's1'; "
        "it can be deleted only once they are deleted"
    ]


def test_issuer_with_trailing_slash_fails_before_any_request(run):
    out, session = run(dcr_provider.main, dict(ARGS, issuer=ISSUER + "/"))
    assert fails(out, "must not end with a slash", "use " + ISSUER) and session.calls == []


def test_v2_issuer_fails_with_the_v1_value(run):
    out, session = run(dcr_provider.main, dict(ARGS, issuer="https://login.microsoftonline.com/%s/v2.0" % TENANT))
    assert fails(out, "v2.0", "use " + ISSUER) and session.calls == []


def test_provider_type_change_says_how_to_replace(run):
    out, session = run(
        dcr_provider.main,
        dict(name="azure-dcr", provider_type="okta", issuer="https://okta.example.com", dcr_token=SECRET),
        ("GET", PATH, page([provider()])),
    )
    assert fails(out, "is azureAd", "cannot change to okta", "state=absent", "another name") and no_secret(out)
    assert session.writes() == []


def test_options_of_another_type_are_refused(run):
    out, session = run(dcr_provider.main, dict(ARGS, dcr_base_url="https://x.example.com"))
    assert fails(out, "dcr_base_url", "provider_type azureAd") and session.calls == []


def test_create_without_secret_names_what_is_missing(run):
    args = dict(ARGS)
    del args["initial_client_secret"]
    out, session = run(dcr_provider.main, args, ("GET", PATH, page([])))
    assert fails(out, "needs initial_client_secret") and session.writes() == []


def test_ambiguous_name_lists_the_ids(run):
    out, _session = run(dcr_provider.main, ARGS, ("GET", PATH, page([provider(1), provider(2)])))
    assert fails(out, "2 DCR providers are named 'azure-dcr'", uid(1), uid(2))


def test_api_error_is_one_line_with_trace_and_no_secret(run):
    out, _session = run(
        dcr_provider.main,
        ARGS,
        ("GET", PATH, page([])),
        ("POST", PATH, problem(400, "Invalid Request", "Invalid Parameters", [{"field": "issuer", "reason": "bad"}])),
    )
    assert fails(out, "POST /v2/dcr-providers: HTTP 400", "issuer: bad", "kong:trace:1234567890") and no_secret(out)


def test_401_names_the_token_options(run):
    out, _session = run(dcr_provider.main, ARGS, ("GET", PATH, problem(401, "Unauthorized", "Unauthorized")))
    assert fails(out, "HTTP 401", "KONNECT_TOKEN") and no_secret(out)


def test_check_mode_preview_drops_removed_labels(run):
    out, session = run(
        dcr_provider.main,
        dict(ARGS, labels={"env": "prod"}),
        ("GET", PATH, page([provider(labels={"env": "dev", "team": "x"})])),
        check=True,
    )
    assert out["dcr_provider"]["labels"] == {"env": "prod"} and session.writes() == []
