"""Acceptance tests of the Konnect modules: real ansible-playbook runs against the Konnect emulator.

One emulator serves the whole file. Each lifecycle is one playbook run: between
steps a marker task (``portal_info`` for a name ``mark-<step>``) leaves a
recognisable GET in the emulator's request log, so the requests of every step
can be counted without starting ansible-playbook once per step.
"""

from __future__ import annotations

import json
from urllib.parse import parse_qs

import pytest
import requests

from harness import run_playbook

TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
ISSUER = "https://sts.windows.net/" + TENANT
SECRET = "Dcr-Secret-Value-7f3e2a91"
ROTATED = "Dcr-Rotated-Value-c4d5e6f7"
CLIENT_ID = "5b2f6a3c-8d1e-4f7a-9c0b-1e2d3f4a5b6c"
MARK = "mark-"

PROVIDER = {
    "name": "azure-dcr",
    "display_name": "Azure AD",
    "issuer": ISSUER,
    "initial_client_id": CLIENT_ID,
    "initial_client_secret": SECRET,
    "labels": {"env": "test"},
}
STRATEGY = {
    "name": "azure-dcr",
    "display_name": "Azure AD client credentials",
    "dcr_provider": "azure-dcr",
    "credential_claim": ["appid"],
    "scopes": ["openid"],
    "auth_methods": ["client_credentials", "bearer", "session"],
}
PUBLICATION = {
    "api": "orders",
    "api_version": "v1",
    "portal": "developer-portal",
    "auth_strategy": "azure-dcr",
    "visibility": "private",
}


# -- playbooks -----------------------------------------------------------------------------


def task(name, module, args, **options):
    return dict({"name": name, "konnect.devportal." + module: args}, **options)


def marker(label):
    return task("%s%s" % (MARK, label), "portal_info", {"name": MARK + label}, check_mode=False)


def playbook(*tasks, steps=()):
    """A play on localhost; STEPS are (label, task) pairs, each preceded by its marker."""
    body = list(tasks)
    for label, step in steps:
        body += [marker(label), dict(step, name=label)]
    if steps:
        body.append(marker("end"))
    return json.dumps([{"hosts": "localhost", "gather_facts": False, "tasks": body}], indent=1) + "\n"


def requests_by_step(log):
    """{step label: [requests]} from the marker GETs in the emulator's request log."""
    out, label = {}, None
    for entry in log:
        name = parse_qs(entry.get("query") or "").get("filter[name][eq]", [""])[0]
        if entry["path"] == "/v3/portals" and name.startswith(MARK):
            label = name[len(MARK) :]
            out.setdefault(label, [])
        elif label is not None:
            out[label].append(entry)
    return out


def writes(entries):
    return [e for e in entries if e["method"] in ("POST", "PUT", "PATCH", "DELETE")]


def play(emulators, text, **kwargs):
    result = run_playbook(text, env=emulators.env(), **kwargs)
    return result


def changed_fields(diff):
    before, after = diff["before"], diff["after"]
    return _changed(before, after)


def _changed(before, after, prefix=""):
    keys = set(before) | set(after)
    out = set()
    for key in keys:
        left, right = before.get(key), after.get(key)
        if isinstance(left, dict) and isinstance(right, dict):
            out |= _changed(left, right, prefix + key + ".")
        elif left != right:
            out.add(prefix + key)
    return out


def konnect_state(emulators):
    return emulators.state()["konnect"]


@pytest.fixture
def clean(emulators):
    """The default seed, no objects made by earlier tests, an empty request log."""
    emulators.reset()
    return emulators


# -- acceptance: one lifecycle per module ---------------------------------------------------------


def lifecycle(name, module, create, change, absent):
    """The seven acceptance steps of one module."""
    return [
        ("check-create", task(name, module, create, check_mode=True, diff=True)),
        ("create", task(name, module, create, diff=True)),
        ("rerun", task(name, module, create, diff=True)),
        ("change", task(name, module, dict(create, **change), diff=True)),
        ("check-drift", task(name, module, create, check_mode=True, diff=True)),
        ("absent", task(name, module, absent, diff=True)),
        ("absent-again", task(name, module, absent, diff=True)),
    ]


def assert_lifecycle(result, log, changed_field):
    assert result.rc == 0, result.output[-3000:]
    steps = requests_by_step(log)
    outcome = {label: result.result(label) for label in steps if label != "end"}
    assert outcome["check-create"]["changed"] is True
    assert outcome["check-create"]["diff"]["before"] == {"state": "absent"}
    assert writes(steps["check-create"]) == []
    assert outcome["create"]["changed"] is True and len(writes(steps["create"])) == 1
    assert outcome["rerun"]["changed"] is False and writes(steps["rerun"]) == []
    assert outcome["change"]["changed"] is True and len(writes(steps["change"])) == 1
    assert changed_fields(outcome["change"]["diff"]) == {changed_field}
    assert outcome["check-drift"]["changed"] is True and writes(steps["check-drift"]) == []
    assert changed_fields(outcome["check-drift"]["diff"]) == {changed_field}
    assert outcome["absent"]["changed"] is True
    assert [w["method"] for w in writes(steps["absent"])] == ["DELETE"]
    assert outcome["absent-again"]["changed"] is False and writes(steps["absent-again"]) == []
    return steps


def test_dcr_provider_lifecycle(clean):
    result = play(
        clean,
        playbook(
            steps=lifecycle(
                "provider",
                "dcr_provider",
                PROVIDER,
                {"display_name": "Entra ID"},
                {"name": "azure-dcr", "state": "absent"},
            )
        ),
    )
    steps = assert_lifecycle(result, clean.requests(), "display_name")
    assert writes(steps["change"])[0]["request_body"] == {"display_name": "Entra ID"}
    # the secret went out once, on create, and never came back
    assert writes(steps["create"])[0]["request_body"]["dcr_config"]["initial_client_secret"] == SECRET
    assert SECRET not in result.output and SECRET not in json.dumps(result.record)
    assert konnect_state(clean)["dcr_providers"] == []


def test_auth_strategy_lifecycle(clean):
    setup = task("setup provider", "dcr_provider", PROVIDER)
    result = play(
        clean,
        playbook(
            setup,
            steps=lifecycle(
                "strategy",
                "auth_strategy",
                STRATEGY,
                {"scopes": ["openid", "profile"]},
                {"name": "azure-dcr", "state": "absent"},
            ),
        ),
    )
    steps = assert_lifecycle(result, clean.requests(), "configs.openid-connect.scopes")
    # PATCH sends only what changed
    assert writes(steps["change"])[0]["request_body"] == {
        "configs": {"openid-connect": {"scopes": ["openid", "profile"]}}
    }
    created = writes(steps["create"])[0]["request_body"]
    assert created["configs"]["openid-connect"]["issuer"] == ISSUER  # from the provider
    assert konnect_state(clean)["application_auth_strategies"] == []


def test_api_publication_lifecycle(clean):
    setup = [task("setup provider", "dcr_provider", PROVIDER), task("setup strategy", "auth_strategy", STRATEGY)]
    absent = {"api": "orders", "api_version": "v1", "portal": "developer-portal", "state": "absent"}
    result = play(
        clean,
        playbook(
            *setup,
            steps=lifecycle("publication", "api_publication", PUBLICATION, {"visibility": "public"}, absent),
        ),
    )
    steps = assert_lifecycle(result, clean.requests(), "visibility")
    strategy_id = konnect_state(clean)["application_auth_strategies"][0]["id"]
    # every PUT is a full replace: all three fields
    assert writes(steps["change"])[0]["request_body"] == {
        "visibility": "public",
        "auth_strategy_ids": [strategy_id],
        "auto_approve_registrations": False,
    }
    assert konnect_state(clean)["publications"] == []


def test_check_mode_on_an_empty_org_writes_nothing(clean):
    before = konnect_state(clean)
    mark = clean.mark()
    result = play(
        clean,
        playbook(
            task("provider", "dcr_provider", PROVIDER),
            task("strategy", "auth_strategy", STRATEGY),
            task("publication", "api_publication", PUBLICATION),
        ),
        check=True,
        diff=True,
    )
    assert result.rc == 0, result.output[-3000:]
    assert [result.result(n)["changed"] for n in ("provider", "strategy", "publication")] == [True, True, True]
    # the strategy and publication name objects still to be created: planned, with a warning
    assert "does not exist yet" in json.dumps(result.result("strategy").get("warnings"))
    assert clean.writes(mark) == []
    assert konnect_state(clean) == before
    assert SECRET not in result.output


def test_publications_list_form_and_request_counts(clean):
    items = [
        dict(PUBLICATION, visibility="public"),
        {"api": "orders", "api_version": "v2", "portal": "developer-portal", "auth_strategy": "azure-dcr"},
        {"api": "payments", "portal": "partner-portal", "auth_strategy": "none"},
        {"api": "inventory", "portal": "partner-portal"},
    ]
    setup = [task("setup provider", "dcr_provider", PROVIDER), task("setup strategy", "auth_strategy", STRATEGY)]
    publish = task("many", "api_publication", {"publications": items}, diff=True)
    result = play(clean, playbook(*setup, steps=[("first", publish), ("again", publish)]))
    assert result.rc == 0, result.output[-3000:]
    steps = requests_by_step(clean.requests())
    assert [p["action"] for p in result.result("first")["publications"]] == ["created"] * 4
    assert result.result("again")["changed"] is False
    # one list call per kind of object plus one for the current publications, whatever the count
    assert len([r for r in steps["again"] if r["method"] == "GET"]) == 4 and writes(steps["again"]) == []
    assert len(writes(steps["first"])) == 4
    published = {(p["visibility"], tuple(p["auth_strategy_ids"] or ())) for p in konnect_state(clean)["publications"]}
    strategy_id = konnect_state(clean)["application_auth_strategies"][0]["id"]
    assert published == {("public", (strategy_id,)), ("private", (strategy_id,)), ("private", ())}


def test_info_modules_read_what_was_made(clean):
    setup = [
        task("setup provider", "dcr_provider", PROVIDER),
        task("setup strategy", "auth_strategy", STRATEGY),
        task("setup publication", "api_publication", PUBLICATION),
    ]
    reads = [
        task("providers", "dcr_provider_info", {"name": "azure-dcr", "query": "[0].dcr_config.initial_client_id"}),
        task("strategies", "auth_strategy_info", {"query": "[].dcr_provider.name"}),
        task("portals", "portal_info", {"query": "[].name"}),
        task("apis", "api_info", {"name": "orders", "api_version": "v1", "query": "[0].portals[].name"}),
        task(
            "publications",
            "api_publication_info",
            {"auth_strategy": "azure-dcr", "query": "[].[api_name, api_version, portal_name]"},
        ),
        task("missing", "portal_info", {"name": "no-such-portal"}),
    ]
    result = play(clean, playbook(*setup, *reads))
    assert result.rc == 0, result.output[-3000:]
    mark_reads = clean.mark()
    result_check = play(clean, playbook(*reads), check=True)
    assert result_check.rc == 0 and clean.writes(mark_reads) == []
    assert result.result("providers")["query_result"] == CLIENT_ID
    assert result.result("strategies")["query_result"] == ["azure-dcr"]
    assert sorted(result.result("portals")["query_result"]) == ["developer-portal", "partner-portal"]
    assert result.result("apis")["query_result"] == ["developer-portal"]
    assert result.result("publications")["query_result"] == [["orders", "v1", "developer-portal"]]
    assert result.result("missing")["portals"] == []
    assert all(result.result(t["name"])["changed"] is False for t in reads)


# -- bad inputs: one clear line each, no write ------------------------------------------------------


BAD_INPUTS = [
    (
        "issuer-trailing-slash",
        "dcr_provider",
        dict(PROVIDER, issuer=ISSUER + "/"),
        ["must not end with a slash", ISSUER],
    ),
    (
        "issuer-v2",
        "dcr_provider",
        dict(PROVIDER, issuer="https://login.microsoftonline.com/%s/v2.0" % TENANT),
        ["v2.0 issuer", "use " + ISSUER],
    ),
    (
        "issuer-domain",
        "dcr_provider",
        dict(PROVIDER, issuer="https://sts.windows.net/contoso.onmicrosoft.com"),
        ["tenant by its UUID"],
    ),
    (
        "provider-type-change",
        "dcr_provider",
        {"name": "azure-dcr", "provider_type": "okta", "issuer": "https://okta.example.com", "dcr_token": SECRET},
        ["is azureAd", "cannot change to okta", "state=absent"],
    ),
    (
        "provider-in-use",
        "dcr_provider",
        {"name": "azure-dcr", "state": "absent"},
        ["used by auth strategies 'azure-dcr'"],
    ),
    ("ambiguous-provider", "dcr_provider", dict(PROVIDER, name="twin"), ["2 DCR providers are named 'twin'"]),
    (
        "missing-secret",
        "dcr_provider",
        {"name": "new-provider", "issuer": ISSUER, "initial_client_id": CLIENT_ID},
        ["needs initial_client_secret"],
    ),
    ("unknown-auth-method", "auth_strategy", dict(STRATEGY, auth_methods=["client_credentials", "magic"]), ["magic"]),
    (
        "strategy-type-change",
        "auth_strategy",
        {"name": "azure-dcr", "strategy_type": "key_auth", "key_names": ["apikey"]},
        ["cannot change to key_auth"],
    ),
    (
        "strategy-in-use",
        "auth_strategy",
        {"name": "azure-dcr", "state": "absent"},
        ["used by the API publications orders v1 on developer-portal"],
    ),
    (
        "unknown-provider",
        "auth_strategy",
        dict(STRATEGY, name="other", dcr_provider="nope"),
        ["DCR provider 'nope' not found"],
    ),
    ("unknown-portal", "api_publication", dict(PUBLICATION, portal="nope"), ["portal 'nope' not found"]),
    ("unknown-api", "api_publication", dict(PUBLICATION, api="nope"), ["API 'nope' not found"]),
    (
        "ambiguous-api",
        "api_publication",
        {"api": "orders", "portal": "developer-portal"},
        ["API 'orders' is ambiguous: it has versions v1, v2; set api_version"],
    ),
    ("unknown-version", "api_publication", dict(PUBLICATION, api_version="v9"), ["has no version 'v9'"]),
    (
        "bad-token",
        "dcr_provider",
        dict(PROVIDER, konnect_token="kpat_wrong0123456789"),
        ["HTTP 401", "kong:trace:", "KONNECT_TOKEN"],
    ),
    ("bad-region", "portal_info", {"konnect_region": "mars", "konnect_url": None}, ["konnect_region", "mars"]),
]


def test_bad_inputs_fail_with_one_line_and_no_write(clean):
    konnect = clean.endpoints["konnect_url"]
    headers = {"Authorization": "Bearer " + clean.endpoints["konnect_token"]}
    twin = {"name": "twin", "provider_type": "kongIdentity", "issuer": "https://idp.example.com"}
    for _ignored in range(2):  # Konnect accepts duplicate provider names: make an ambiguous one
        answer = requests.post(
            konnect + "/v2/dcr-providers", json=twin, headers=headers, verify=clean.endpoints["ca_path"], timeout=30
        )
        answer.raise_for_status()
    setup = play(
        clean,
        playbook(
            task("provider", "dcr_provider", PROVIDER),
            task("strategy", "auth_strategy", STRATEGY),
            task("publication", "api_publication", PUBLICATION),
        ),
    )
    assert setup.rc == 0, setup.output[-3000:]
    mark = clean.mark()
    bad = [task(label, module, args, ignore_errors=True) for label, module, args, _words in BAD_INPUTS]
    result = play(clean, playbook(*bad), diff=True)
    assert len(BAD_INPUTS) >= 12
    status = {t["name"]: t["status"] for t in result.tasks()}
    for label, _module, _args, words in BAD_INPUTS:
        outcome = result.result(label)
        message = outcome.get("msg", "")
        assert status[label] == "ignored", (label, outcome)  # failed, with ignore_errors
        assert "\n" not in message.strip() and "Traceback" not in message, (label, message)
        for word in words:
            assert word in message, (label, message)
    assert clean.writes(mark) == []
    assert SECRET not in result.output


# -- secrets ----------------------------------------------------------------------------------------


def test_no_secret_in_verbose_diff_or_failure_output(clean):
    steps = [
        task("create", "dcr_provider", PROVIDER, diff=True),
        task(
            "rotate", "dcr_provider", dict(PROVIDER, initial_client_secret=ROTATED, update_secret="always"), diff=True
        ),
        task(
            "rotate-check",
            "dcr_provider",
            dict(PROVIDER, initial_client_secret=ROTATED, update_secret="always"),
            diff=True,
            check_mode=True,
        ),
        task(
            "fail",
            "dcr_provider",
            dict(PROVIDER, issuer=ISSUER + "/", initial_client_secret=ROTATED),
            ignore_errors=True,
        ),
        task(
            "fail-api",
            "dcr_provider",
            dict(PROVIDER, name="x", initial_client_secret=ROTATED, konnect_token="kpat_wrong0123456789"),
            ignore_errors=True,
        ),
    ]
    result = play(clean, playbook(*steps), diff=True, verbosity=3)
    assert result.rc == 0, result.output[-3000:]
    assert result.result("rotate")["changed"] is True and result.result("rotate")["secret_sent"] is True
    assert result.result("rotate")["diff"]["after"]["dcr_config"]["initial_client_secret"] == "********"
    status = {t["name"]: t["status"] for t in result.tasks()}
    assert status["fail"] == status["fail-api"] == "ignored"
    text = result.output + json.dumps(result.record)
    for secret in (SECRET, ROTATED, clean.endpoints["konnect_token"]):
        assert secret not in text
    # the rotated secret did reach Konnect
    rotated = [w for w in clean.writes() if w["method"] == "PATCH"]
    assert rotated[-1]["request_body"] == {"dcr_config": {"initial_client_secret": ROTATED}}


# -- faults -----------------------------------------------------------------------------------------


def test_throttling_outages_and_lost_replies_make_no_duplicates(clean):
    """429s, 503s and writes whose reply is lost: retried or re-read, never a second object."""
    items = [
        dict(PUBLICATION, visibility="public"),
        {"api": "payments", "portal": "partner-portal", "auth_strategy": "azure-dcr"},
    ]
    text = playbook(
        task("provider", "dcr_provider", PROVIDER),
        task("strategy", "auth_strategy", STRATEGY),
        task("publications", "api_publication", {"publications": items}),
    )
    clean.faults(fault_rate=0.35, fault_seed=7)
    try:
        first = play(clean, text)
        second = play(clean, text)
    finally:
        clean.faults(fault_rate=0.0)
    assert first.rc == 0, first.output[-3000:]
    assert second.rc == 0 and second.changed() == 0, second.output[-3000:]
    log = clean.requests()
    # the seed makes these faults happen, among others, on this request sequence
    lost = {(e["method"], e["path"]) for e in log if e["fault"] == "lost"}
    assert ("POST", "/v2/dcr-providers") in lost and ("POST", "/v2/application-auth-strategies") in lost, lost
    assert any(e["fault"] == "429" for e in log)
    state = konnect_state(clean)
    assert [p["name"] for p in state["dcr_providers"]] == ["azure-dcr"]
    assert [s["name"] for s in state["application_auth_strategies"]] == ["azure-dcr"]
    assert len(state["publications"]) == 2
