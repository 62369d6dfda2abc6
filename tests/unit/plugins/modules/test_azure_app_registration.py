"""azure_app_registration against an in-memory Graph: the JSON result and the requests made."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import graph_fake
from ansible_collections.konnect.devportal.plugins.modules import azure_app_registration as module
from graph_fake import ROLES, SCOPES, TENANT

# the fixtures
fake_time = graph_fake.fake_time
graph = graph_fake.graph
run = graph_fake.run

DCR = [{"api": "Microsoft Graph", "application": ["Application.ReadWrite.OwnedBy"], "delegated": ["User.Read"]}]
ARGS = dict(
    unique_name="konnect-dcr-admin", display_name="Konnect DCR admin", api_permissions=DCR, grant_admin_consent=True
)


def writes(graph):
    return [(c["method"], c["path"]) for c in graph.writes() if c["path"].startswith("/v1.0/")]


def test_creates_app_service_principal_and_consent_from_nothing(run, graph):
    out = run(module.main, ARGS)
    assert out["changed"] is True and out["created"] is True
    app = graph.app_named("konnect-dcr-admin")
    assert out["app_id"] == app["appId"] and out["object_id"] == app["id"]
    assert out["tenant_id"] == TENANT
    assert out["display_name"] == "Konnect DCR admin" and out["sign_in_audience"] == "AzureADMyOrg"
    sp = next(s for s in graph.sps.values() if s["appId"] == app["appId"])
    assert out["service_principal_id"] == sp["id"]
    assert app["requiredResourceAccess"] == [
        {
            "resourceAppId": "00000003-0000-0000-c000-000000000000",
            "resourceAccess": [
                {"id": ROLES["Application.ReadWrite.OwnedBy"], "type": "Role"},
                {"id": SCOPES["User.Read"], "type": "Scope"},
            ],
        }
    ]
    expected = [
        {
            "api": "Microsoft Graph",
            "api_app_id": "00000003-0000-0000-c000-000000000000",
            "application": ["Application.ReadWrite.OwnedBy"],
            "delegated": ["User.Read"],
        }
    ]
    assert out["permissions"] == expected
    assert out["consent"] == expected and out["consent_granted"] is True
    assert [(a["principalId"], a["resourceId"], a["appRoleId"]) for a in graph.assignments.values()] == [
        (sp["id"], graph.graph_sp["id"], ROLES["Application.ReadWrite.OwnedBy"])
    ]
    grant = next(iter(graph.grants.values()))
    assert (grant["clientId"], grant["consentType"], grant["scope"]) == (sp["id"], "AllPrincipals", "User.Read")
    upsert = next(c for c in graph.calls if c["method"] == "PATCH")
    assert upsert["path"] == "/v1.0/applications(uniqueName='konnect-dcr-admin')"
    assert upsert["headers"]["Prefer"] == "create-if-missing"
    assert writes(graph) == [
        ("PATCH", "/v1.0/applications(uniqueName='konnect-dcr-admin')"),
        ("POST", "/v1.0/servicePrincipals"),
        ("POST", "/v1.0/servicePrincipals/%s/appRoleAssignedTo" % graph.graph_sp["id"]),
        ("POST", "/v1.0/oauth2PermissionGrants"),
    ]
    assert out["diff"]["before"] == {"state": "absent"}
    assert out["diff"]["after"]["admin_consent"] == [
        {"api": "Microsoft Graph", "application": ["Application.ReadWrite.OwnedBy"], "delegated": ["User.Read"]}
    ]


def test_rerun_reads_only_and_reports_no_change(run, graph):
    run(module.main, ARGS)
    graph.calls.clear()
    out = run(module.main, ARGS)
    assert out["changed"] is False and out["created"] is False
    assert writes(graph) == []
    reads = [c["path"] for c in graph.calls if c["path"].startswith("/v1.0/")]
    assert len(reads) == 5  # app, Graph's SP, the app's SP, its assignments, its grants
    assert out["diff"]["before"] == out["diff"]["after"]


def test_check_mode_predicts_creation_and_writes_nothing(run, graph):
    out = run(module.main, ARGS, check=True)
    assert out["changed"] is True and out["created"] is True
    assert out["app_id"] is None and out["service_principal_id"] is None
    assert out["consent_granted"] is True  # predicted
    assert writes(graph) == []
    assert graph.apps == {}


def test_permission_added_later_is_declared_granted_and_in_the_diff(run, graph):
    run(module.main, ARGS)
    graph.calls.clear()
    more = [dict(DCR[0], application=["Application.ReadWrite.OwnedBy", "Application.Read.All"])]
    out = run(module.main, dict(ARGS, api_permissions=more))
    assert out["changed"] is True and out["consent_granted"] is True
    assert writes(graph) == [
        ("PATCH", "/v1.0/applications/%s" % out["object_id"]),
        ("POST", "/v1.0/servicePrincipals/%s/appRoleAssignedTo" % graph.graph_sp["id"]),
    ]
    before, after = out["diff"]["before"], out["diff"]["after"]
    assert before["api_permissions"][0]["application"] == ["Application.ReadWrite.OwnedBy"]
    assert after["api_permissions"][0]["application"] == ["Application.Read.All", "Application.ReadWrite.OwnedBy"]
    assert after["admin_consent"][0]["application"] == ["Application.Read.All", "Application.ReadWrite.OwnedBy"]


def test_purge_removes_unlisted_permissions_and_their_consent(run, graph):
    run(module.main, ARGS)
    only_owned_by = [{"api": "Microsoft Graph", "application": ["Application.ReadWrite.OwnedBy"]}]
    out = run(module.main, dict(ARGS, api_permissions=only_owned_by, purge_permissions=True))
    assert out["changed"] is True
    assert out["permissions"][0]["delegated"] == []
    assert graph.grants == {}
    assert len(graph.assignments) == 1
    rerun = run(module.main, dict(ARGS, api_permissions=only_owned_by, purge_permissions=True))
    assert rerun["changed"] is False


def test_delegated_scope_added_to_the_existing_grant(run, graph):
    run(module.main, ARGS)
    more = [dict(DCR[0], delegated=["User.Read", "openid"])]
    out = run(module.main, dict(ARGS, api_permissions=more))
    assert out["changed"] is True
    grant = next(iter(graph.grants.values()))
    assert grant["scope"] == "User.Read openid"
    assert len(graph.grants) == 1


def test_unknown_permission_fails_and_lists_valid_names(run, graph):
    bad = [{"api": "Microsoft Graph", "application": ["Application.ReadWrite.Owned"]}]
    out = run(module.main, dict(ARGS, api_permissions=bad))
    assert out["failed"] is True
    assert "Unknown application permission 'Application.ReadWrite.Owned' for API 'Microsoft Graph'" in out["msg"]
    assert "Did you mean Application.ReadWrite.OwnedBy" in out["msg"]
    assert "Valid application permissions: Application.Read.All, Application.ReadWrite.All" in out["msg"]
    assert graph.apps == {}


def test_api_by_app_id(run, graph):
    by_id = [{"api": "00000003-0000-0000-c000-000000000000", "delegated": ["User.Read"]}]
    out = run(module.main, dict(ARGS, api_permissions=by_id))
    assert out["permissions"][0]["api"] == "Microsoft Graph"


def test_missing_consent_permission_names_it(run, graph):
    graph.denied.append(("POST", r"/servicePrincipals/[^/]+/appRoleAssignedTo"))
    out = run(module.main, ARGS)
    assert out["failed"] is True
    assert "HTTP 403 Authorization_RequestDenied" in out["msg"]
    assert "lacks the Microsoft Graph application permission AppRoleAssignment.ReadWrite.All" in out["msg"]


def test_replication_lag_after_create_is_waited_out_without_duplicates(run, graph, fake_time):
    graph.lag = 4  # each new object stays invisible for four requests
    out = run(module.main, ARGS)
    assert fake_time.slept  # the SP create and the consent writes were retried
    assert out["changed"] is True and out["consent_granted"] is True
    assert len(graph.apps) == 1 and len(graph.sps) == 2
    assert len(graph.assignments) == 1 and len(graph.grants) == 1


def test_lost_upsert_reply_is_repeated_safely(run, graph):
    graph.lost.append(("PATCH", r"/applications\(uniqueName='konnect-dcr-admin'\)"))
    out = run(module.main, ARGS)
    assert out["changed"] is True
    assert len(graph.apps) == 1
    assert out["app_id"] == graph.app_named("konnect-dcr-admin")["appId"]


def test_display_name_create_after_a_lost_reply_adopts_the_app(run, graph):
    graph.lost.append(("POST", r"/applications"))
    out = run(module.main, dict(display_name="legacy-admin", api_permissions=DCR))
    assert out["changed"] is True and out["created"] is True
    assert len(graph.apps) == 1
    assert out["app_id"] == next(iter(graph.apps.values()))["appId"]
    assert len([c for c in graph.calls if (c["method"], c["path"]) == ("POST", "/v1.0/applications")]) == 1


def test_lost_consent_replies_do_not_duplicate(run, graph):
    graph.lost.append(("POST", r"/servicePrincipals/[^/]+/appRoleAssignedTo"))
    graph.lost.append(("POST", r"/oauth2PermissionGrants"))
    graph.lost.append(("POST", r"/servicePrincipals"))
    out = run(module.main, ARGS)
    assert out["consent_granted"] is True
    assert len(graph.sps) == 2 and len(graph.assignments) == 1 and len(graph.grants) == 1


def test_ambiguous_display_name_lists_app_ids(run, graph):
    one = graph.add_app("twin")
    two = graph.add_app("twin")
    out = run(module.main, dict(display_name="twin"))
    assert out["failed"] is True
    assert "2 app registrations are named 'twin'" in out["msg"]
    assert one["appId"] in out["msg"] and two["appId"] in out["msg"]


def test_a_new_app_whose_display_name_is_taken_is_refused_before_any_write(run, graph):
    other = graph.add_app("Konnect DCR admin")
    for check in (False, True):
        out = run(module.main, ARGS, check=check)
        assert out["failed"] is True and writes(graph) == []
        assert out["msg"] == (
            "display_name 'Konnect DCR admin' is already used by 1 app registration(s) (appIds: %s), so a new app "
            "with unique_name 'konnect-dcr-admin' would look the same in the consent prompt, the portal and Konnect: "
            "choose another display_name, rename or delete those apps, or set allow_duplicate_display_name"
            % other["appId"]
        )
    out = run(module.main, dict(ARGS, allow_duplicate_display_name=True))
    assert out["changed"] is True and out["created"] is True
    # the app exists now: a rerun is not refused and reads no display names
    graph.calls.clear()
    out = run(module.main, ARGS)
    assert out["changed"] is False
    assert not [c for c in graph.calls if "displayName eq" in str((c.get("params") or {}).get("$filter"))]


def test_display_name_update_and_audience(run, graph):
    app = graph.add_app("portal-made", signInAudience="AzureADMultipleOrgs")
    graph.sps["sp-x"] = {"id": "sp-x", "appId": app["appId"], "displayName": "portal-made"}
    out = run(module.main, dict(display_name="portal-made"))
    assert out["changed"] is True and out["created"] is False
    assert graph.apps[app["id"]]["signInAudience"] == "AzureADMyOrg"
    assert out["diff"]["before"]["sign_in_audience"] == "AzureADMultipleOrgs"
    assert out["consent_granted"] is None


def test_absent_deletes_and_purges(run, graph):
    run(module.main, ARGS)
    object_id = graph.app_named("konnect-dcr-admin")["id"]
    check = run(module.main, dict(unique_name="konnect-dcr-admin", state="absent", permanently_delete=True), check=True)
    assert check["changed"] is True and check["permanently_deleted"] is True and len(graph.apps) == 1
    out = run(module.main, dict(unique_name="konnect-dcr-admin", state="absent", permanently_delete=True))
    assert out["changed"] is True and out["permanently_deleted"] is True
    assert out["object_id"] == object_id
    assert graph.apps == {} and graph.deleted == {}
    again = run(module.main, dict(unique_name="konnect-dcr-admin", state="absent", permanently_delete=True))
    assert again["changed"] is False


def test_absent_then_purge_from_deleted_items(run, graph):
    run(module.main, ARGS)
    run(module.main, dict(unique_name="konnect-dcr-admin", state="absent"))
    assert len(graph.deleted) == 1
    out = run(module.main, dict(unique_name="konnect-dcr-admin", state="absent", permanently_delete=True))
    assert out["changed"] is True and out["permanently_deleted"] is True
    assert graph.deleted == {}
