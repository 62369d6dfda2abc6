"""Acceptance tests of the Azure modules and dcr_validate: real ansible-playbook runs against the emulators.

Every assertion about what happened is made on the emulators' state and request
log (``emulators.state()``, ``.requests()``), not only on what the modules say.
"""

from __future__ import annotations

import json

from harness import run_playbook

TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000"
OWNED_BY = "18a4783c-866b-4cc7-a460-3d5e5662c884"
READ_ALL = "9a5d68dd-52b0-4cc2-bd40-abcf44ac3a30"
USER_READ = "e1fe6dd8-ba31-4d61-89e7-88639da4683d"
UNIQUE = "konnect-dcr-admin"
DCR_PERMISSIONS = [
    {"api": "Microsoft Graph", "application": ["Application.ReadWrite.OwnedBy"], "delegated": ["User.Read"]}
]
REGISTRATION = {
    "unique_name": UNIQUE,
    "display_name": "Konnect DCR admin",
    "api_permissions": DCR_PERMISSIONS,
    "grant_admin_consent": True,
}
SECRET = {"unique_name": UNIQUE, "name": "konnect-dcr", "lifetime_days": 90, "rotate_before_days": 30}


# -- helpers -----------------------------------------------------------------------------------


def task(name, module, args, **options):
    return dict({"name": name, "konnect.devportal." + module: args}, **options)


def play(*tasks, extra_vars=None):
    """A play on localhost (JSON is YAML)."""
    body = {"hosts": "localhost", "gather_facts": False, "tasks": list(tasks)}
    if extra_vars:
        body["vars"] = extra_vars
    return json.dumps([body], indent=1) + "\n"


def tenant(emulators):
    return emulators.state()["graph"]["tenants"][TENANT]


def graph_writes(emulators, since):
    return [(r["method"], r["path"]) for r in emulators.writes(since) if r["service"] == "graph"]


def app_named(state, unique_name):
    found = [a for a in state["applications"] if a.get("uniqueName") == unique_name]
    assert len(found) <= 1, "duplicate apps: %s" % [a["appId"] for a in found]
    return found[0] if found else None


def sp_of(state, app):
    found = [s for s in state["servicePrincipals"] if s["appId"] == app["appId"]]
    assert len(found) <= 1
    return found[0] if found else None


def secrets_named(app, name):
    return [c for c in app["passwordCredentials"] if c["displayName"] == name]


def ok(result, name):
    assert result.rc == 0, result.output[-3000:]
    return result.result(name)


def issued_secrets(emulators):
    """Every secret value the emulators handed out or were given: addPassword answers,
    DCR application credentials, the seeded automation secret and developer password."""
    values = {
        emulators.endpoints["automation_client_secret"],
        emulators.endpoints["developer_password"],
        emulators.endpoints["konnect_token"],
    }
    for entry in emulators.requests():
        body = entry.get("response_body")
        if isinstance(body, dict):
            for key in ("secretText", "client_secret"):
                if body.get(key):
                    values.add(body[key])
        request = entry.get("request_body")
        if isinstance(request, dict):
            secret = (request.get("dcr_config") or {}).get("initial_client_secret")
            if secret:
                values.add(secret)
    return values


# -- azure_app_registration ----------------------------------------------------------------------


def test_registration_check_mode_create_rerun_and_added_permission(emulators):
    emulators.reset()
    env = emulators.env()

    mark = emulators.mark()
    check = run_playbook(play(task("register", "azure_app_registration", REGISTRATION)), env=env, check=True)
    predicted = ok(check, "register")
    assert predicted["changed"] is True and predicted["created"] is True
    assert graph_writes(emulators, mark) == []
    assert app_named(tenant(emulators), UNIQUE) is None

    mark = emulators.mark()
    created = ok(run_playbook(play(task("register", "azure_app_registration", REGISTRATION)), env=env), "register")
    state = tenant(emulators)
    app = app_named(state, UNIQUE)
    sp = sp_of(state, app)
    graph_sp = next(s for s in state["servicePrincipals"] if s["appId"] == GRAPH_APP_ID)
    assert (
        created["changed"] is True and created["app_id"] == app["appId"] and created["service_principal_id"] == sp["id"]
    )
    assert created["consent_granted"] is True
    assert app["displayName"] == "Konnect DCR admin" and app["signInAudience"] == "AzureADMyOrg"
    assert {(r["id"], r["type"]) for r in app["requiredResourceAccess"][0]["resourceAccess"]} == {
        (OWNED_BY, "Role"),
        (USER_READ, "Scope"),
    }
    assignments = [a for a in state["appRoleAssignments"] if a["principalId"] == sp["id"]]
    assert [(a["resourceId"], a["appRoleId"]) for a in assignments] == [(graph_sp["id"], OWNED_BY)]
    grants = [g for g in state["oauth2PermissionGrants"] if g["clientId"] == sp["id"]]
    assert [(g["resourceId"], g["consentType"], g["scope"]) for g in grants] == [
        (graph_sp["id"], "AllPrincipals", "User.Read")
    ]
    create_requests = emulators.requests(mark)
    assert graph_writes(emulators, mark) == [
        ("PATCH", "/v1.0/applications(uniqueName='%s')" % UNIQUE),
        ("POST", "/v1.0/servicePrincipals"),
        ("POST", "/v1.0/servicePrincipals/%s/appRoleAssignedTo" % graph_sp["id"]),
        ("POST", "/v1.0/oauth2PermissionGrants"),
    ]
    assert len(create_requests) <= 9  # sign-in (2) + 3 reads (app, Graph SP, the display name taken?) + 4 writes

    mark = emulators.mark()
    rerun = run_playbook(play(task("register", "azure_app_registration", REGISTRATION)), env=env)
    assert ok(rerun, "register")["changed"] is False and rerun.changed() == 0
    assert graph_writes(emulators, mark) == []
    assert len([r for r in emulators.requests(mark) if r["service"] == "graph"]) == 5

    mark = emulators.mark()
    more = dict(
        REGISTRATION,
        api_permissions=[
            dict(DCR_PERMISSIONS[0], application=["Application.ReadWrite.OwnedBy", "Application.Read.All"])
        ],
    )
    added = run_playbook(play(task("register", "azure_app_registration", more)), env=env, diff=True)
    result = ok(added, "register")
    assert result["changed"] is True
    assert result["diff"]["before"]["api_permissions"][0]["application"] == ["Application.ReadWrite.OwnedBy"]
    assert result["diff"]["after"]["api_permissions"][0]["application"] == [
        "Application.Read.All",
        "Application.ReadWrite.OwnedBy",
    ]
    assert result["diff"]["after"]["admin_consent"][0]["application"] == [
        "Application.Read.All",
        "Application.ReadWrite.OwnedBy",
    ]
    assert '+                "Application.Read.All",' in added.output  # the diff as the user sees it
    state = tenant(emulators)
    assert {a["appRoleId"] for a in state["appRoleAssignments"] if a["principalId"] == sp["id"]} == {OWNED_BY, READ_ALL}
    assert graph_writes(emulators, mark) == [
        ("PATCH", "/v1.0/applications/%s" % app["id"]),
        ("POST", "/v1.0/servicePrincipals/%s/appRoleAssignedTo" % graph_sp["id"]),
    ]


def test_first_run_with_replication_delay_makes_no_duplicates(start_emulators):
    emulators = start_emulators("--consistency-delay", "5")
    result = run_playbook(
        play(
            task("register", "azure_app_registration", REGISTRATION),
            task("secret", "azure_app_secret", SECRET, no_log=True),
        ),
        env=emulators.env(),
    )
    assert ok(result, "register")["consent_granted"] is True
    assert result.result("secret")["changed"] is True
    # the delay was met (Graph refused writes that refer to objects not replicated yet) and waited out
    refused = [(r["method"], r["path"].rsplit("/", 1)[-1]) for r in emulators.requests() if r["status"] in (400, 404)]
    assert ("POST", "servicePrincipals") in refused and ("POST", "appRoleAssignedTo") in refused
    state = tenant(emulators)
    app = app_named(state, UNIQUE)
    sp = sp_of(state, app)
    assert len([a for a in state["applications"] if a["displayName"] == "Konnect DCR admin"]) == 1
    assert len([a for a in state["appRoleAssignments"] if a["principalId"] == sp["id"]]) == 1
    assert len([g for g in state["oauth2PermissionGrants"] if g["clientId"] == sp["id"]]) == 1
    assert len(secrets_named(app, "konnect-dcr")) == 1


def test_lost_replies_throttling_and_outages_make_no_duplicates(start_emulators):
    emulators = start_emulators("--fault-rate", "0.25", "--fault-seed", "23")
    result = run_playbook(
        play(
            task("register", "azure_app_registration", REGISTRATION),
            task("secret", "azure_app_secret", SECRET, no_log=True),
        ),
        env=emulators.env(),
    )
    faults = [r["fault"] for r in emulators.requests() if r["fault"]]
    assert "lost" in faults and len(faults) >= 3
    assert ok(result, "register")["consent_granted"] is True
    emulators.faults(fault_rate=0)
    state = tenant(emulators)
    app = app_named(state, UNIQUE)
    sp = sp_of(state, app)
    assert len([a for a in state["applications"] if a["displayName"] == "Konnect DCR admin"]) == 1
    assert len([a for a in state["appRoleAssignments"] if a["principalId"] == sp["id"]]) == 1
    assert len([g for g in state["oauth2PermissionGrants"] if g["clientId"] == sp["id"]]) == 1
    assert len(secrets_named(app, "konnect-dcr")) == 1


def test_missing_app_role_assignment_permission_fails_at_the_consent_step(emulators):
    emulators.reset()
    limited = {
        "client_id": "0c1d2e3f-4a5b-4c6d-8e7f-90a1b2c3d4e5",
        "client_secret": "Limited~Secret.0123456789abcdef",
        "display_name": "limited-automation",
        "roles": ["Application.ReadWrite.All", "Application.Read.All", "DelegatedPermissionGrant.ReadWrite.All"],
    }
    emulators.seed({"tenants": [{"id": TENANT, "extra_apps": [limited]}]})
    args = dict(REGISTRATION, client_id=limited["client_id"], client_secret=limited["client_secret"])
    mark = emulators.mark()
    result = run_playbook(play(task("register", "azure_app_registration", args)), env=emulators.env())
    assert result.rc != 0
    failure = result.result("register")
    assert "AppRoleAssignment.ReadWrite.All" in failure["msg"]
    assert "HTTP 403 Authorization_RequestDenied" in failure["msg"]
    assert "/appRoleAssignedTo" in failure["msg"]
    # the app and its service principal were made: it failed at the consent step
    assert app_named(tenant(emulators), UNIQUE) is not None
    last_write = [r for r in emulators.writes(mark) if r["service"] == "graph"][-1]
    assert last_write["path"].endswith("/appRoleAssignedTo") and last_write["status"] == 403
    assert limited["client_secret"] not in result.output


# -- azure_app_secret ------------------------------------------------------------------------------


def test_secret_created_once_rotated_after_the_window_and_pruned(emulators):
    emulators.reset()
    env = emulators.env()
    ok(run_playbook(play(task("register", "azure_app_registration", REGISTRATION)), env=env), "register")

    def secret_run(**extra):
        mark = emulators.mark()
        result = run_playbook(play(task("secret", "azure_app_secret", dict(SECRET, **extra), no_log=True)), env=env)
        ok(result, "secret")
        calls = [path.rsplit("/", 1)[-1] for _method, path in graph_writes(emulators, mark)]
        return result, calls, secrets_named(app_named(tenant(emulators), UNIQUE), "konnect-dcr")

    first, calls, secrets = secret_run()
    assert first.changed() == 1 and calls == ["microsoft.graph.addPassword"] and len(secrets) == 1
    again, calls, secrets = secret_run()
    assert again.changed() == 0 and calls == [] and len(secrets) == 1

    emulators.advance_days(61)  # 29 of 90 days left: inside the 30-day window
    rotated, calls, secrets = secret_run()
    assert rotated.changed() == 1 and calls == ["microsoft.graph.addPassword"]
    assert len(secrets) == 2  # the old one stays until prune
    newest = max(secrets, key=lambda c: c["endDateTime"])

    pruned, calls, secrets = secret_run(prune=True)
    assert pruned.changed() == 1 and calls == ["microsoft.graph.removePassword"]
    assert [c["keyId"] for c in secrets] == [newest["keyId"]]


# -- dcr_validate, and no secret anywhere in the output -----------------------------------------------


def test_dcr_validate_passes_on_a_correct_setup_and_names_each_broken_check(emulators):
    emulators.reset()
    e = emulators.endpoints
    issuer = "https://sts.windows.net/" + TENANT
    quick = {"replication_timeout": 2}
    tasks = [
        task("register", "azure_app_registration", REGISTRATION, register="app"),
        task("secret", "azure_app_secret", SECRET, register="secret", no_log=True),
        task(
            "provider",
            "dcr_provider",
            {
                "name": "azure-dcr",
                "issuer": issuer,
                "initial_client_id": "{{ app.app_id }}",
                "initial_client_secret": "{{ secret.secret }}",
            },
        ),
        task(
            "strategy",
            "auth_strategy",
            {
                "name": "azure-dcr",
                "display_name": "Azure DCR",
                "dcr_provider": "azure-dcr",
                "credential_claim": ["appid"],
                "scopes": ["openid"],
                "auth_methods": ["client_credentials", "bearer", "session"],
            },
        ),
        task(
            "publish",
            "api_publication",
            {
                "api": "orders",
                "api_version": "v1",
                "portal": "developer-portal",
                "auth_strategy": "azure-dcr",
                "visibility": "public",
                "auto_approve_registrations": True,
            },
        ),
        task(
            "validate",
            "dcr_validate",
            {
                "dcr_provider": "azure-dcr",
                "auth_strategy": "azure-dcr",
                "initial_client_secret": "{{ secret.secret }}",
                "portal": "developer-portal",
                "developer": {"email": e["developer_email"], "password": e["developer_password"]},
            },
        ),
        # broken on purpose, one thing each
        task(
            "wrong secret",
            "dcr_validate",
            dict(quick, dcr_provider="azure-dcr", initial_client_secret="Not-The-Secret-0123456789"),
            ignore_errors=True,
        ),
        task(
            "provider with a wrong secret",
            "dcr_provider",
            {
                "name": "azure-dcr-stale",
                "issuer": issuer,
                "initial_client_id": "{{ app.app_id }}",
                "initial_client_secret": "Stale-Secret-9876543210",
            },
        ),
        task("stale provider", "dcr_validate", dict(quick, dcr_provider="azure-dcr-stale"), ignore_errors=True),
        task(
            "client_id strategy",
            "auth_strategy",
            {
                "name": "azure-dcr-client-id",
                "display_name": "client_id",
                "dcr_provider": "azure-dcr",
                "credential_claim": ["client_id"],
                "scopes": ["openid"],
                "auth_methods": ["client_credentials", "bearer", "session"],
            },
        ),
        task(
            "wrong claim",
            "dcr_validate",
            dict(quick, dcr_provider="azure-dcr", auth_strategy="azure-dcr-client-id"),
            ignore_errors=True,
        ),
        task(
            "no consent app",
            "azure_app_registration",
            {"unique_name": "no-consent", "api_permissions": DCR_PERMISSIONS},
            register="bare",
        ),
        task(
            "no consent secret",
            "azure_app_secret",
            {"unique_name": "no-consent", "name": "konnect-dcr"},
            register="bare_secret",
            no_log=True,
        ),
        task(
            "no consent provider",
            "dcr_provider",
            {
                "name": "azure-dcr-no-consent",
                "issuer": issuer,
                "initial_client_id": "{{ bare.app_id }}",
                "initial_client_secret": "{{ bare_secret.secret }}",
            },
        ),
        task(
            "missing consent",
            "dcr_validate",
            dict(quick, dcr_provider="azure-dcr-no-consent", initial_client_secret="{{ bare_secret.secret }}"),
            ignore_errors=True,
        ),
        task(
            "failing sign-in",
            "azure_app_secret",
            dict(SECRET, client_secret="Wrong-Automation-Secret-42"),
            ignore_errors=True,
            no_log=False,
        ),
    ]
    result = run_playbook(play(*tasks), env=emulators.env(), diff=True, verbosity=3)
    assert result.rc == 0, result.output[-4000:]

    good = result.result("validate")
    assert good["changed"] is False and good["skipped_checks"] == []
    assert {c["name"]: c["ok"] for c in good["checks"]} == {
        "provider_issuer": True,
        "provider_verify": True,
        "auth_strategy": True,
        "credential_claim": True,
        "initial_client_token": True,
        "admin_consent": True,
        "developer_round_trip": True,
    }
    round_trip = next(c for c in good["checks"] if c["name"] == "developer_round_trip")["detail"]
    assert "logged in" in round_trip and "application deleted" in round_trip
    assert emulators.state()["portal"].get("applications") in (None, [], {})  # cleaned up

    def failed_checks(name):
        [record] = [t for t in result.tasks() if t["name"] == name]
        outcome = record["result"]
        assert record["status"] == "ignored", json.dumps(outcome)  # failed, with ignore_errors
        failed = sorted(c["name"] for c in outcome["checks"] if not c["ok"])
        for check in failed:
            assert check in outcome["msg"]
        return failed, outcome["msg"]

    failed, msg = failed_checks("wrong secret")
    assert failed == ["initial_client_token"] and "AADSTS7000215" in msg
    failed, msg = failed_checks("stale provider")
    assert failed == ["provider_verify"]
    failed, msg = failed_checks("wrong claim")
    assert failed == ["credential_claim"] and "credential_claim is ['client_id'], not ['appid']" in msg
    failed, msg = failed_checks("missing consent")
    assert "admin_consent" in failed and "Application.ReadWrite.OwnedBy" in msg
    failing = next(t for t in result.tasks() if t["name"] == "failing sign-in")
    assert failing["status"] == "ignored" and "AADSTS7000215" in failing["result"]["msg"]

    # no secret in the -vvv output, the --diff or a failure message
    secrets = issued_secrets(emulators) | {
        "Not-The-Secret-0123456789",
        "Stale-Secret-9876543210",
        "Wrong-Automation-Secret-42",
    }
    assert len(secrets) >= 9
    leaked = sorted(s for s in secrets if s in result.output)
    assert leaked == []
    recorded = json.dumps(result.tasks())
    assert sorted(s for s in secrets if s in recorded) == []


def test_no_secret_in_the_verbose_diff_of_a_rotation_with_prune(emulators):
    emulators.reset()
    env = emulators.env()
    ok(run_playbook(play(task("register", "azure_app_registration", REGISTRATION)), env=env), "register")
    ok(run_playbook(play(task("first", "azure_app_secret", SECRET, no_log=True)), env=env), "first")
    result = run_playbook(
        play(task("rotate", "azure_app_secret", dict(SECRET, force_rotate=True, prune=True), no_log=True)),
        env=env,
        diff=True,
        verbosity=3,
    )
    ok(result, "rotate")
    assert "microsoft.graph.removePassword" in {path.rsplit("/", 1)[-1] for _m, path in graph_writes(emulators, 0)}
    made = [
        r["response_body"]["secretText"]
        for r in emulators.requests()
        if r["path"].endswith("/microsoft.graph.addPassword")
    ]
    assert len(made) == 2
    secrets = issued_secrets(emulators)
    assert set(made) <= secrets
    assert [s for s in secrets if s in result.output] == []
