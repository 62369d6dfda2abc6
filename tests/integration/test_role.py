"""Acceptance tests of the azure_dcr role and its playbooks: real ansible-playbook runs.

The playbooks run against the emulators with the example inventory of
docs/examples/inventory (dev, staging and prod), connection values from the
environment as AWX would inject them. Every test reads the emulators' /state
and request log to see what really happened.

A "write" here is a request that changes something in Graph, Konnect or the
portal: POST/PUT/PATCH/DELETE, except the sign-in's token requests (Entra) and
Konnect's provider verification (POST .../verify, a check that changes nothing).
"""

from __future__ import annotations

import json

import pytest

from harness import ROOT, run_playbook

INVENTORY = ROOT / "docs" / "examples" / "inventory"
SETUP = "konnect.devportal.setup"
VALIDATE = "konnect.devportal.validate"
ROTATE = "konnect.devportal.rotate_secret"
CLEANUP = "konnect.devportal.cleanup"
KEY_ID_LABEL = "azure-dcr-key-id"
REPORT = "Report the validation checks"
PUBLISH = "Publish the APIs to the Dev Portals with the DCR auth strategy"
STRATEGY = "Create the application auth strategy (OpenID Connect through the DCR provider, credential claim appid)"
VALIDATE_TASK = "Validate - Konnect verifies the provider, v1 token claims, admin consent, a developer's round trip"
# the names each host of the example inventory uses (group_vars/<env>.yml)
ENVS = {
    env: {"app": "konnect-dcr-" + env, "secret": "konnect-dcr-" + env, "provider": "azure-dcr-" + env}
    for env in ("dev", "staging", "prod")
}
WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


# -- helpers ---------------------------------------------------------------------------------


def run(emulators, playbook, limit="dev", **kwargs):
    args = list(kwargs.pop("args", []))
    if limit:
        args += ["--limit", limit]
    result = run_playbook(playbook, env=emulators.env(), inventory=INVENTORY, args=args, **kwargs)
    return result


def ok(result):
    assert result.rc == 0, result.output[-4000:]
    return result


def writes(emulators, since):
    """State-changing requests since the mark (see the module docstring)."""
    return [
        "%s %s %s" % (r["service"], r["method"], r["path"])
        for r in emulators.requests(since)
        if r["service"] != "entra" and r["method"] in WRITE_METHODS and not r["path"].endswith("/verify")
    ]


def tenant_state(emulators):
    state = emulators.state()
    return state["graph"]["tenants"][emulators.endpoints["tenant_id"]], state["konnect"]


def app(graph, env):
    found = [a for a in graph["applications"] if a.get("uniqueName") == ENVS[env]["app"]]
    assert len(found) <= 1
    return found[0] if found else None


def secrets(graph, env):
    return [c["keyId"] for c in app(graph, env)["passwordCredentials"] if c["displayName"] == ENVS[env]["secret"]]


def provider(konnect, env):
    found = [p for p in konnect["dcr_providers"] if p["name"] == ENVS[env]["provider"]]
    return found[0] if found else None


def task(result, name):
    """The result of the role's task NAME (recorded as "<role> : NAME")."""
    return result.result("konnect.devportal.azure_dcr : " + name)


def task_names(result):
    return [t["name"].split(" : ", 1)[-1] for t in result.tasks()]


def calls(entries):
    """The last path segment of each write: an action (addPassword) or an object id."""
    return [w.rsplit("/", 1)[-1].rsplit(".", 1)[-1] for w in entries]


def checks(result):
    """{check name: 'ok - detail' or 'FAILED - detail'} from the report task."""
    lines = task(result, REPORT)["msg"]
    lines = lines if isinstance(lines, list) else [lines]
    return dict(line.split(": ", 1) for line in lines if not line.startswith("skipped "))


def ensure_set_up(emulators, env="dev"):
    """The environment set up (reusing an earlier test's work when it is there)."""
    graph, konnect = tenant_state(emulators)
    if app(graph, env) is None or provider(konnect, env) is None:
        ok(run(emulators, SETUP, limit=env, extra_vars={"azure_dcr_validate": False}))


@pytest.fixture
def clean(emulators):
    emulators.reset()
    return emulators


# -- tests -----------------------------------------------------------------------------------


def test_first_run_sets_everything_up_and_the_second_writes_nothing(clean):
    emulators = clean
    developer = {"email": emulators.endpoints["developer_email"], "password": emulators.endpoints["developer_password"]}
    mark = emulators.mark()
    first = ok(run(emulators, SETUP, extra_vars={"azure_dcr_validate_developer": developer}))
    assert first.changed() == 5  # app, secret, provider, strategy, publication

    graph, konnect = tenant_state(emulators)
    dev = app(graph, "dev")
    assert dev["displayName"] == "Konnect DCR (dev)" and dev["signInAudience"] == "AzureADMyOrg"
    [key_id] = secrets(graph, "dev")
    prov = provider(konnect, "dev")
    assert prov["issuer"] == "https://sts.windows.net/" + emulators.endpoints["tenant_id"]
    assert prov["dcr_config"]["initial_client_id"] == dev["appId"]
    assert prov["labels"] == {"managed-by": "ansible", "env": "dev", KEY_ID_LABEL: key_id}
    [strategy] = [s for s in konnect["application_auth_strategies"] if s["name"] == "azure-dcr-dev"]
    assert strategy["display_name"] == "Azure AD (dev)"
    assert strategy["dcr_provider"]["id"] == prov["id"]
    oidc = strategy["configs"]["openid-connect"]
    assert oidc["credential_claim"] == ["appid"] and oidc["issuer"] == prov["issuer"]
    assert oidc["auth_methods"] == ["client_credentials", "bearer", "session"]
    [publication] = konnect["publications"]
    assert publication["auth_strategy_ids"] == [strategy["id"]]
    assert publication["visibility"] == "private" and publication["auto_approve_registrations"] is True

    # every check of Kong's how-to step 5 passed, with the new secret's v1 token and a developer
    found = checks(first)
    for name in (
        "provider_verify",
        "initial_client_token",
        "admin_consent",
        "credential_claim",
        "developer_round_trip",
    ):
        assert found[name].startswith("ok - "), found

    # the secret went from Azure to Konnect and was never shown
    requests = emulators.requests(mark)
    [added] = [r for r in requests if dev["id"] in r["path"] and r["path"].endswith("addPassword")]
    value = added["response_body"]["secretText"]
    [created] = [r for r in requests if r["method"] == "POST" and r["path"] == "/v2/dcr-providers"]
    assert created["request_body"]["dcr_config"]["initial_client_secret"] == value
    assert value not in first.output and value not in json.dumps(first.record)

    mark = emulators.mark()
    second = ok(run(emulators, SETUP))
    assert second.changed() == 0
    assert writes(emulators, mark) == []


def test_check_diff_shows_a_new_publication_and_display_name_and_writes_nothing(emulators):
    ensure_set_up(emulators)
    more = {
        "azure_dcr_strategy_display_name": "Azure AD (dev, renamed)",
        "azure_dcr_publications": [
            {
                "api": "orders",
                "api_version": "v2",
                "portal": "developer-portal",
                "visibility": "private",
                "auto_approve_registrations": True,
            },
            {"api": "payments", "api_version": "v1", "portal": "partner-portal"},
        ],
    }
    mark = emulators.mark()
    result = ok(run(emulators, SETUP, extra_vars=more, check=True, diff=True))
    assert writes(emulators, mark) == []
    assert result.changed() == 2

    strategy_diff = task(result, STRATEGY)["diff"]
    assert strategy_diff["before"]["display_name"] == "Azure AD (dev)"
    assert strategy_diff["after"]["display_name"] == "Azure AD (dev, renamed)"
    publish_diff = task(result, PUBLISH)["diff"]
    assert publish_diff["before"]["payments v1 -> partner-portal"] == "absent"
    assert publish_diff["after"]["payments v1 -> partner-portal"]["visibility"] == "private"
    assert "Azure AD (dev, renamed)" in result.output and "payments v1 -> partner-portal" in result.output
    _graph, konnect = tenant_state(emulators)
    assert [s["display_name"] for s in konnect["application_auth_strategies"] if s["name"] == "azure-dcr-dev"] == [
        "Azure AD (dev)"
    ]


def test_survey_strings_for_booleans(emulators):
    ensure_set_up(emulators)
    graph, _konnect = tenant_state(emulators)
    [before] = secrets(graph, "dev")

    mark = emulators.mark()
    quiet = ok(run(emulators, SETUP, extra_vars={"azure_dcr_rotate_secret": "false", "azure_dcr_validate": "false"}))
    assert quiet.changed() == 0 and writes(emulators, mark) == []
    assert VALIDATE_TASK not in task_names(quiet)

    rotated = ok(run(emulators, SETUP, extra_vars={"azure_dcr_rotate_secret": "true", "azure_dcr_validate": "False"}))
    graph, konnect = tenant_state(emulators)
    [after] = secrets(graph, "dev")
    assert after != before and provider(konnect, "dev")["labels"][KEY_ID_LABEL] == after
    assert VALIDATE_TASK not in task_names(rotated)


def test_rotate_secret_replaces_the_secret_and_the_provider_still_verifies(emulators):
    ensure_set_up(emulators)
    graph, _konnect = tenant_state(emulators)
    [old] = secrets(graph, "dev")
    mark = emulators.mark()
    result = ok(run(emulators, ROTATE))

    graph, konnect = tenant_state(emulators)
    [new] = secrets(graph, "dev")
    assert new != old
    assert provider(konnect, "dev")["labels"][KEY_ID_LABEL] == new
    # the order that keeps the old secret until the new one works
    provider_id = provider(konnect, "dev")["id"]
    assert calls(writes(emulators, mark)) == ["addPassword", provider_id, "removePassword"]
    found = checks(result)
    assert found["provider_verify"].startswith("ok - ") and found["initial_client_token"].startswith("ok - "), found

    validated = ok(run(emulators, VALIDATE))
    assert checks(validated)["provider_verify"].startswith("ok - ")


def test_a_rotation_waits_for_entra_id_to_know_the_new_secret(emulators):
    """With a replication delay of 8 s a new secret is unknown to Entra ID for a while: Konnect's
    verification of it waits (the module, not the role, retries), and only then is the old one
    removed. (The unit tests cover the same wait for consent.)"""
    ensure_set_up(emulators)
    emulators.faults(consistency_delay=8)
    try:
        mark = emulators.mark()
        rotated = ok(run(emulators, ROTATE, extra_vars={"azure_dcr_replication_timeout": 30}))
    finally:
        emulators.faults(consistency_delay=0)
    verify = task(rotated, "Verify that Konnect signs in with the provider's secret before older secrets are removed")
    assert "attempts" not in verify, verify  # no task retries
    [check] = [c for c in verify["checks"] if c["name"] == "provider_verify"]
    assert check["ok"] and check["detail"].startswith("Konnect verified the provider (after "), check
    # Entra ID refused the new secret at first: the delay was really met
    answers = [
        r["response_body"]["status"]
        for r in emulators.requests(mark)
        if r["service"] == "konnect" and r["path"].endswith("/verify")
    ]
    assert answers[0] == "failed" and "success" in answers, answers
    graph, konnect = tenant_state(emulators)
    assert len(secrets(graph, "dev")) == 1
    assert provider(konnect, "dev")["labels"][KEY_ID_LABEL] == secrets(graph, "dev")[0]


def test_a_failing_secret_step_says_why_though_its_tasks_hide_their_output(emulators):
    """An automation identity with Application.ReadWrite.OwnedBy that does not own the app (another
    identity made it) passes the preflight, but Graph refuses its addPassword. The task is no_log
    (its result would hold the secret); the rescue shows the task's error message."""
    ensure_set_up(emulators)
    pipeline = {
        "client_id": "5b3c1d2e-4f5a-4b6c-8d7e-9f0a1b2c3d4e",
        "client_secret": "pipeline~Secret.1234567890abcdefghijklmn",
        "display_name": "rotation-pipeline",
        "roles": [
            "Application.ReadWrite.OwnedBy",
            "Application.Read.All",
            "AppRoleAssignment.ReadWrite.All",
            "DelegatedPermissionGrant.ReadWrite.All",
        ],
    }
    emulators.seed({"tenants": [{"id": emulators.endpoints["tenant_id"], "extra_apps": [pipeline]}]})
    env = dict(emulators.env(), AZURE_CLIENT_ID=pipeline["client_id"], AZURE_SECRET=pipeline["client_secret"])
    mark = emulators.mark()
    result = run_playbook(ROTATE, env=env, inventory=INVENTORY, args=["--limit", "dev"])
    assert result.rc != 0
    # the one write tried, refused; nothing changed
    tried = [r for r in emulators.requests(mark) if r["service"] != "entra" and r["method"] in WRITE_METHODS]
    assert [(r["path"].rsplit(".", 1)[-1], r["status"]) for r in tried] == [("addPassword", 403)]
    [failure] = [
        t
        for t in result.tasks()
        if t["name"].endswith("Say why the client secret step failed (its tasks hide their output)")
    ]
    message = failure["result"]["msg"]
    assert message.startswith("Create the client secret, or keep the one the DCR provider holds while it is valid: "), (
        message
    )
    assert "403" in message and "Application.ReadWrite" in message, message
    assert pipeline["client_secret"] not in result.output


def test_a_rotation_interrupted_before_the_provider_update_converges(emulators):
    ensure_set_up(emulators)
    graph, _konnect = tenant_state(emulators)
    [held] = secrets(graph, "dev")
    # what an interrupted run leaves: a new secret whose value nobody kept
    orphan_play = """
- hosts: localhost
  gather_facts: false
  tasks:
    - name: A new secret, and then the run dies
      konnect.devportal.azure_app_secret:
        unique_name: konnect-dcr-dev
        name: konnect-dcr-dev
        force_rotate: true
      no_log: true
"""
    assert run_playbook(orphan_play, env=emulators.env()).rc == 0
    graph, _konnect = tenant_state(emulators)
    assert len(secrets(graph, "dev")) == 2

    mark = emulators.mark()
    ok(run(emulators, SETUP, extra_vars={"azure_dcr_validate": False}))
    graph, konnect = tenant_state(emulators)
    # the secret the provider holds stays, the orphan goes; nothing else is written
    assert secrets(graph, "dev") == [held]
    assert provider(konnect, "dev")["labels"][KEY_ID_LABEL] == held
    assert calls(writes(emulators, mark)) == ["removePassword"]


def test_cleanup_removes_what_the_role_made_and_a_second_run_changes_nothing(emulators):
    ensure_set_up(emulators)
    graph, konnect = tenant_state(emulators)
    app_id = app(graph, "dev")["appId"]
    untouched = {a["appId"] for a in graph["applications"]} - {app_id}

    first = ok(run(emulators, CLEANUP))
    assert first.changed() == 5  # publication, strategy, provider, secret, app

    graph, konnect = tenant_state(emulators)
    assert app(graph, "dev") is None
    assert {a["appId"] for a in graph["applications"]} == untouched
    assert app_id not in {sp["appId"] for sp in graph["servicePrincipals"]}
    assert provider(konnect, "dev") is None
    assert not [s for s in konnect["application_auth_strategies"] if s["name"] == "azure-dcr-dev"]
    assert not [p for p in konnect["publications"] if p["auth_strategy_ids"]]
    # Entra ID keeps the deleted app for 30 days; its secrets were removed first
    [deleted] = [d for d in graph["deletedItems"] if d.get("appId") == app_id and "application" in d["@odata.type"]]
    assert deleted["passwordCredentials"] == []

    mark = emulators.mark()
    second = ok(run(emulators, CLEANUP))
    assert second.changed() == 0
    assert writes(emulators, mark) == []


def test_cleanup_in_check_mode_reports_every_deletion_and_writes_nothing(emulators):
    ensure_set_up(emulators)
    before = tenant_state(emulators)
    mark = emulators.mark()
    result = ok(run(emulators, CLEANUP, check=True))
    assert result.changed() == 5  # publication, strategy, provider, secret, app
    assert writes(emulators, mark) == []
    assert tenant_state(emulators) == before


def test_cleanup_stops_before_any_write_when_others_use_the_strategy_or_the_provider(emulators):
    """Someone made a strategy on the role's provider and published another API with its strategy."""
    ensure_set_up(emulators)
    strategy = """
    - name: Another strategy on the role's provider
      konnect.devportal.auth_strategy:
        name: made-by-hand
        strategy_type: openid_connect
        dcr_provider: azure-dcr-dev
        issuer: https://sts.windows.net/%s
        credential_claim: [appid]
        scopes: [openid]
        auth_methods: [client_credentials]
        state: "{{ state }}"
""" % emulators.endpoints["tenant_id"]
    publication = """
    - name: Another API published with the role's strategy
      konnect.devportal.api_publication:
        api: orders
        api_version: v1
        portal: partner-portal
        auth_strategy: azure-dcr-dev
        state: "{{ state }}"
"""
    head = "- hosts: localhost\n  gather_facts: false\n  tasks:"
    made = run_playbook(head + strategy + publication, env=emulators.env(), extra_vars={"state": "present"})
    assert made.rc == 0, made.output[-3000:]
    try:
        mark = emulators.mark()
        result = run(emulators, CLEANUP)
        assert result.rc != 0
        assert writes(emulators, mark) == []
        message = result.output
        assert (
            "azure_dcr_strategy_name: the auth strategy 'azure-dcr-dev' is also used by API publications the role "
            "did not make (orders v1 in partner-portal)" in message
        ), message[-3000:]
        assert "add them to azure_dcr_publications" in message
        assert (
            "azure_dcr_provider_name: the DCR provider 'azure-dcr-dev' is also used by the auth strategies made-by-hand"
            in message
        ), message[-3000:]
    finally:
        undone = run_playbook(head + publication + strategy, env=emulators.env(), extra_vars={"state": "absent"})
        assert undone.rc == 0, undone.output[-3000:]


def test_the_example_inventory_converges_every_environment_and_limit_touches_one(clean):
    emulators = clean
    result = ok(run(emulators, SETUP, limit=None))
    assert sorted(result.stats()) == ["dev", "prod", "staging"]
    graph, konnect = tenant_state(emulators)
    held = {}
    for env in ENVS:
        [held[env]] = secrets(graph, env)
        assert provider(konnect, env)["labels"][KEY_ID_LABEL] == held[env]
        assert provider(konnect, env)["labels"]["env"] == env
    assert len(konnect["publications"]) == 4  # dev 1, staging 1, prod 2

    mark = emulators.mark()
    prod = ok(run(emulators, ROTATE, limit="prod"))
    assert list(prod.stats()) == ["prod"]
    graph, konnect = tenant_state(emulators)
    for env in ("dev", "staging"):
        assert secrets(graph, env) == [held[env]]
    assert secrets(graph, "prod") != [held["prod"]]
    # every write went to prod's app or prod's provider
    prod_ids = {app(graph, "prod")["id"], provider(konnect, "prod")["id"]}
    touched = writes(emulators, mark)
    assert touched and all(any(i in w for i in prod_ids) for w in touched), touched


def test_preflight_names_every_problem_before_any_write(emulators):
    bad = {
        "azure_dcr_tenant_id": "contoso.onmicrosoft.com",
        "azure_dcr_secret_lifetime_days": 800,
        "azure_dcr_auth_methods": [],
        "azure_dcr_publications": [
            {"api": "orders", "portal": "developer-portal"},
            {"api": "ghost", "portal": "nowhere"},
        ],
    }
    mark = emulators.mark()
    result = run(emulators, SETUP, extra_vars=bad)
    assert result.rc != 0
    assert writes(emulators, mark) == []
    for text in (
        "azure_dcr_tenant_id",
        "a UUID",
        "azure_dcr_secret_lifetime_days must be 1 to 730",
        "azure_dcr_auth_methods must list at least one",
    ):
        assert text in result.output

    # inputs fine, but Konnect does not have what the publications name
    bad.pop("azure_dcr_secret_lifetime_days"), bad.pop("azure_dcr_auth_methods"), bad.pop("azure_dcr_tenant_id")
    result = run(emulators, SETUP, extra_vars=bad)
    assert result.rc != 0
    assert writes(emulators, mark) == []
    for text in (
        "azure_dcr_publications[0].api_version: API 'orders' has several versions (v1, v2)",
        "azure_dcr_publications[1].portal: no Dev Portal 'nowhere'",
        "azure_dcr_publications[1].api: no API 'ghost'",
    ):
        assert text in result.output

    # an automation identity that may create apps but not grant consent: named before any write
    weak = {
        "client_id": "0c9d8e7f-6a5b-4c3d-8e2f-1a0b9c8d7e6f",
        "client_secret": "weak~Secret.0123456789abcdefghijklmnop",
    }
    emulators.seed(
        {
            "tenants": [
                {
                    "id": emulators.endpoints["tenant_id"],
                    "extra_apps": [dict(weak, display_name="weak-automation", roles=["Application.ReadWrite.OwnedBy"])],
                }
            ]
        }
    )
    identity = {
        "azure_dcr_automation_client_id": weak["client_id"],
        "azure_dcr_automation_client_secret": weak["client_secret"],
    }
    result = run(emulators, SETUP, extra_vars=identity)
    assert result.rc != 0
    assert writes(emulators, mark) == []
    for permission in (
        "Application.Read.All",
        "AppRoleAssignment.ReadWrite.All",
        "DelegatedPermissionGrant.ReadWrite.All",
    ):
        assert "lacks the Microsoft Graph application permission %s" % permission in result.output
    assert weak["client_secret"] not in result.output
