"""api_info: by name, by name and version, and a JMESPath query."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import konnect_fake
from ansible_collections.konnect.devportal.plugins.modules import api_info
from konnect_fake import api, ok, page, uid

run = konnect_fake.run  # the fixture


def test_every_version_of_a_name(run):
    out, _s = run(
        api_info.main,
        dict(name="orders", query="[].version"),
        ("GET", "/v3/apis", page([api(30, "orders", "v1"), api(31, "orders", "v2")])),
    )
    assert out["query_result"] == ["v1", "v2"]


def test_name_and_version_filter(run):
    out, session = run(
        api_info.main, dict(name="orders", api_version="v2"), ("GET", "/v3/apis", page([api(31, "orders", "v2")]))
    )
    assert session.calls[0]["params"]["filter[version][eq]"] == "v2"
    assert [a["version"] for a in out["apis"]] == ["v2"]


def test_names_and_ids_in_one_list_call_each_whatever_the_org_size(run):
    orders_v1, orders_v2, billing = api(30, "orders", "v1"), api(31, "orders", "v2"), api(32, "billing")
    users = api(33, "users", "v3")
    out, session = run(
        api_info.main,
        dict(names=["orders", "billing", uid(33), "orders"], query="[].[name, version]"),
        ("GET", "/v3/apis/" + uid(33), ok(users)),
        ("GET", "/v3/apis", page([orders_v1, orders_v2, billing])),
    )
    assert session.calls[1]["params"]["filter[name][oeq]"] == "billing,orders"
    assert out["query_result"] == [["billing", "v1"], ["orders", "v1"], ["orders", "v2"], ["users", "v3"]]


def test_names_with_a_version(run):
    out, _session = run(
        api_info.main,
        dict(names=["orders"], api_version="v2"),
        ("GET", "/v3/apis", page([api(30, "orders", "v1"), api(31, "orders", "v2")])),
    )
    assert [a["id"] for a in out["apis"]] == [uid(31)]
