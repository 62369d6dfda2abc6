"""azure_app_registration_info against an in-memory Graph."""

from __future__ import annotations

import datetime
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import graph_fake
from ansible_collections.konnect.devportal.plugins.modules import azure_app_registration as registration
from ansible_collections.konnect.devportal.plugins.modules import azure_app_registration_info as module

# the fixtures
fake_time = graph_fake.fake_time
graph = graph_fake.graph
run = graph_fake.run

DCR = [{"api": "Microsoft Graph", "application": ["Application.ReadWrite.OwnedBy"], "delegated": ["User.Read"]}]


def test_one_app_with_consent_and_secret_metadata(run, graph):
    made = run(registration.main, dict(unique_name="admin", api_permissions=DCR, grant_admin_consent=True))
    app = graph.app_named("admin")
    graph.add_secret(app, "konnect-dcr", graph.now, graph.now + datetime.timedelta(days=30))
    graph.calls.clear()
    out = run(module.main, dict(unique_name="admin"))
    assert out["changed"] is False
    [found] = out["applications"]
    assert found["app_id"] == made["app_id"] and found["service_principal_id"] == made["service_principal_id"]
    assert found["unique_name"] == "admin" and found["sign_in_audience"] == "AzureADMyOrg"
    assert found["permissions"] == made["permissions"]
    assert found["consent"] == made["consent"] and found["consent_granted"] is True
    assert found["secrets"] == [
        {
            "key_id": app["passwordCredentials"][0]["keyId"],
            "name": "konnect-dcr",
            "start_date_time": "2026-01-01T12:00:00Z",
            "end_date_time": "2026-01-31T12:00:00Z",
        }
    ]
    assert graph.writes() == [c for c in graph.writes() if "/oauth2/" in c["path"]]  # only the sign-in


def test_consent_missing_is_reported(run, graph):
    run(registration.main, dict(unique_name="admin", api_permissions=DCR))
    out = run(module.main, dict(unique_name="admin"))
    [found] = out["applications"]
    assert found["consent"] == [] and found["consent_granted"] is False


def test_all_apps_and_a_query(run, graph):
    run(registration.main, dict(unique_name="a", api_permissions=DCR, grant_admin_consent=True))
    run(registration.main, dict(unique_name="b", api_permissions=DCR))
    graph.add_app("no-sp")
    out = run(module.main, dict(query="[?consent_granted].unique_name"))
    assert sorted(a["display_name"] for a in out["applications"]) == ["a", "b", "no-sp"]
    assert out["query_result"] == ["a"]
    no_sp = next(a for a in out["applications"] if a["display_name"] == "no-sp")
    assert no_sp["service_principal_id"] is None and no_sp["consent_granted"] is False
    # Graph's own service principal is read once, not once per app
    graph_sp_reads = [c for c in graph.calls if c["path"].endswith("(appId='00000003-0000-0000-c000-000000000000')")]
    assert len(graph_sp_reads) == 3  # two registration runs and one info run


def test_display_name_returns_every_match_and_none_is_empty(run, graph):
    graph.add_app("twin")
    graph.add_app("twin")
    assert len(run(module.main, dict(display_name="twin"))["applications"]) == 2
    assert run(module.main, dict(unique_name="nothing"))["applications"] == []


def test_bad_query_fails_clearly(run, graph):
    out = run(module.main, dict(unique_name="nothing", query="[?"))
    assert out["failed"] is True and "not a valid JMESPath expression" in out["msg"]


def test_caller_only_reads_no_app_and_reports_the_consented_roles(run, graph):
    run(registration.main, dict(unique_name="admin", api_permissions=DCR))
    graph.calls.clear()
    out = run(module.main, dict(caller_only=True))
    assert out["applications"] == []
    caller = out["caller"]
    assert caller["client_id"] == graph.automation_id
    assert "AppRoleAssignment.ReadWrite.All" in caller["roles"]
    assert [c for c in graph.calls if c["path"].startswith("/v1.0/")] == []  # the sign-in only
