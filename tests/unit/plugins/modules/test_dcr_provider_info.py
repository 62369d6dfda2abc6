"""dcr_provider_info: by name, by id, all, and a JMESPath query."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import konnect_fake
from ansible_collections.konnect.devportal.plugins.modules import dcr_provider_info
from konnect_fake import ok, page, problem, provider, uid

run = konnect_fake.run  # the fixture
PATH = "/v2/dcr-providers"


def test_by_name(run):
    out, session = run(dcr_provider_info.main, dict(name="azure-dcr"), ("GET", PATH, page([provider()])))
    assert out["changed"] is False and [p["id"] for p in out["dcr_providers"]] == [uid(1)]
    assert session.calls[0]["params"]["filter[name][eq]"] == "azure-dcr"
    assert "query_result" not in out


def test_by_id_and_unknown_name(run):
    out, _s = run(dcr_provider_info.main, dict(name=uid(1)), ("GET", PATH + "/" + uid(1), ok(provider())))
    assert out["dcr_providers"][0]["name"] == "azure-dcr"
    out, _s = run(dcr_provider_info.main, dict(name="nope"), ("GET", PATH, page([])))
    assert out["dcr_providers"] == []


def test_all_with_query(run):
    out, _s = run(
        dcr_provider_info.main,
        dict(query="[].{name: name, client: dcr_config.initial_client_id}"),
        ("GET", PATH, page([provider(1, "a"), provider(2, "b")])),
    )
    assert out["query_result"] == [{"name": "a", "client": "client-1"}, {"name": "b", "client": "client-1"}]
    assert len(out["dcr_providers"]) == 2


def test_bad_query_and_api_error_are_one_line_failures(run):
    out, _s = run(dcr_provider_info.main, dict(query="[?"), ("GET", PATH, page([])))
    assert out["failed"] and "not a valid JMESPath expression" in out["msg"]
    denied = problem(403, "Forbidden", "You do not have permission")
    out, _s = run(dcr_provider_info.main, dict(), ("GET", PATH, denied))
    assert out["failed"] and "HTTP 403 Forbidden" in out["msg"] and "\n" not in out["msg"]
