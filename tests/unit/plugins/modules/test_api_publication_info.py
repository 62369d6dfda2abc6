"""api_publication_info: filters by names and the names added to each item."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import konnect_fake
from ansible_collections.konnect.devportal.plugins.modules import api_publication_info
from konnect_fake import api, ok, page, portal, publication, strategy, uid

run = konnect_fake.run  # the fixture
ORDERS, DEV = api(30, "orders", "v1"), portal(20, "developer-portal")


def test_by_auth_strategy_with_names(run):
    out, session = run(
        api_publication_info.main,
        dict(auth_strategy="azure-dcr", query="[].[api_name, api_version, portal_name]"),
        ("GET", "/v2/application-auth-strategies", page([strategy()])),
        ("GET", "/v3/api-publications", page([publication(ORDERS, DEV, [uid(10)])])),
        ("GET", "/v3/apis/" + uid(30), ok(ORDERS)),
        ("GET", "/v3/portals/" + uid(20), ok(DEV)),
    )
    assert out["query_result"] == [["orders", "v1", "developer-portal"]]
    assert session.calls[1]["params"]["filter[auth_strategy_id][eq]"] == uid(10)


def test_by_api_and_portal_needs_no_name_lookups(run):
    out, session = run(
        api_publication_info.main,
        dict(api="orders", api_version="v1", portal="developer-portal"),
        ("GET", "/v3/apis", page([ORDERS])),
        ("GET", "/v3/portals", page([DEV])),
        ("GET", "/v3/api-publications", page([publication(ORDERS, DEV)])),
    )
    params = session.calls[2]["params"]
    assert params["filter[api_id][eq]"] == uid(30) and params["filter[portal_id][eq]"] == uid(20)
    assert out["publications"][0]["portal_name"] == "developer-portal"


def test_unknown_portal_matches_nothing(run):
    out, session = run(api_publication_info.main, dict(portal="nope"), ("GET", "/v3/portals", page([])))
    assert out["publications"] == [] and len(session.calls) == 1
