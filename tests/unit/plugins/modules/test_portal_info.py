"""portal_info: by name, all with paging, and a JMESPath query."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import konnect_fake
from ansible_collections.konnect.devportal.plugins.modules import portal_info
from konnect_fake import page, portal

run = konnect_fake.run  # the fixture


def test_by_name_with_query(run):
    out, _s = run(
        portal_info.main,
        dict(name="developer-portal", query="[0].default_domain"),
        ("GET", "/v3/portals", page([portal()])),
    )
    assert out["query_result"] == "developer-portal.example.test"


def test_all_pages(run):
    portals = [portal(n, "p%d" % n) for n in range(150)]
    out, session = run(
        portal_info.main,
        dict(),
        ("GET", "/v3/portals", page(portals[:100], 1, total=150)),
        ("GET", "/v3/portals", page(portals[100:], 2, total=150)),
    )
    assert len(out["portals"]) == 150 and [c["params"]["page[number]"] for c in session.calls] == [1, 2]
