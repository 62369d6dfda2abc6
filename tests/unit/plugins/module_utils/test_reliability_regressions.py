"""Defects the reliability suite (tests/reliability.py) found, each pinned by a minimal test.

The in-memory Graph of graph_fake stands in for Graph; where it is more lenient than the
real service (and the emulators), the test makes it as strict as they are.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import graph_fake
from ansible_collections.konnect.devportal.plugins.modules import azure_app_registration as module

# the fixtures
fake_time = graph_fake.fake_time
graph = graph_fake.graph
run = graph_fake.run

DCR = [{"api": "Microsoft Graph", "application": ["Application.ReadWrite.OwnedBy"], "delegated": ["User.Read"]}]
ARGS = dict(
    unique_name="konnect-dcr-admin", display_name="Konnect DCR admin", api_permissions=DCR, grant_admin_consent=True
)


def strict_replication(graph):
    """As Graph and the emulators do: a service principal's appRoleAssignments are 404 until it replicates."""
    lenient = graph._graph

    def strict(method, path, query, body, headers):
        m = re.fullmatch(r"/servicePrincipals/([^/]+)/appRoleAssignments", path)
        if m and not graph._visible(m.group(1)):
            return graph._missing(m.group(1))
        return lenient(method, path, query, body, headers)

    graph._graph = strict


def test_lost_reply_of_an_assignment_to_a_new_service_principal_is_rechecked_after_replication(run, graph):
    """Seen with --fault-rate 0.2 --consistency-delay 3: the first setup run failed with
    'GET /v1.0/servicePrincipals/<new sp>/appRoleAssignments: HTTP 404 Request_ResourceNotFound'.

    The service principal was created moments before; the assignment's reply was lost, and the
    re-read that decides whether to send it again was not replication-tolerant (entra._assign ->
    read_consent_roles -> GraphClient.list without ``fresh``).
    """
    strict_replication(graph)
    graph.lag = 6  # each new object stays invisible for six requests
    graph.lost.append(("POST", r"/servicePrincipals/[^/]+/appRoleAssignedTo"))
    out = run(module.main, dict(ARGS, replication_timeout=60))
    assert out.get("failed") is not True, out.get("msg")
    assert out["consent_granted"] is True
    assert len(graph.assignments) == 1 and len(graph.grants) == 1


def strict_grants(graph):
    """As Graph and the emulators do: a new delegated grant is not listed until it replicates."""
    lenient_graph, lenient_grant = graph._graph, graph._grant

    def grant(body):
        response = lenient_grant(body)
        if response.status_code == 201:
            graph._hide(response.json())
        return response

    def strict(method, path, query, body, headers):
        response = lenient_graph(method, path, query, body, headers)
        if method == "GET" and path == "/oauth2PermissionGrants":
            page = response.json()
            page["value"] = [g for g in page["value"] if graph._visible(g["id"])]
            return graph_fake.FakeResponse(200, page)
        return response

    graph._grant = grant
    graph._graph = strict


def test_lost_reply_of_a_new_delegated_grant_then_409_waits_for_the_grant_to_replicate(run, graph):
    """Seen with --fault-rate 0.2 --consistency-delay 3 (seed 97): the first setup run failed with
    'POST /v1.0/oauth2PermissionGrants: HTTP 409 Request_MultipleObjectsWithSameKeyValue: Permission
    entry already exists.'

    The grant's reply was lost; the re-read found nothing (the new grant was not replicated yet),
    so the POST was sent again and answered 409; the re-read after the 409 still found nothing,
    and entra._grant raised the 409 instead of waiting for the grant it had made.
    """
    strict_grants(graph)
    graph.lag = 3
    graph.lost.append(("POST", r"/oauth2PermissionGrants"))
    out = run(module.main, dict(ARGS, replication_timeout=60))
    assert out.get("failed") is not True, out.get("msg")
    assert out["consent_granted"] is True
    assert len(graph.grants) == 1 and next(iter(graph.grants.values()))["scope"] == "User.Read"


def test_four_lost_replies_in_a_row_for_the_service_principal_still_converge(run, graph):
    """Seen with --fault-rate 0.2 --consistency-delay 3 (seed 149): 'POST /servicePrincipals: the
    reply was lost three times'. Each POST was applied, its reply lost, and the re-read did not see
    the new service principal yet (replication), so the next POST went out; the limit was three.
    """
    create_sp = graph._create_sp

    def create_invisible_sp(body):
        graph.lag = 12  # the new service principal stays invisible to reads meanwhile
        try:
            return create_sp(body)
        finally:
            graph.lag = 0

    graph._create_sp = create_invisible_sp
    # the first POST makes it (201), the next ones are refused (409): four replies lost in a row
    graph.lost.extend([("POST", r"/servicePrincipals")] * 4)
    out = run(module.main, dict(ARGS, replication_timeout=60))
    assert out.get("failed") is not True, out.get("msg")
    assert len([sp for sp in graph.sps.values() if sp["appId"] == out["app_id"]]) == 1
    assert len([c for c in graph.calls if c["method"] == "POST" and c["path"] == "/v1.0/servicePrincipals"]) == 5
