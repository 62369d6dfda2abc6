"""auth_strategy_info: by name, all, and a JMESPath query."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import konnect_fake
from ansible_collections.konnect.devportal.plugins.modules import auth_strategy_info
from konnect_fake import page, strategy

run = konnect_fake.run  # the fixture
PATH = "/v2/application-auth-strategies"


def test_by_name(run):
    out, session = run(auth_strategy_info.main, dict(name="azure-dcr"), ("GET", PATH, page([strategy()])))
    assert [s["name"] for s in out["auth_strategies"]] == ["azure-dcr"]
    assert session.calls[0]["params"]["filter[name][eq]"] == "azure-dcr"


def test_all_with_query(run):
    out, _s = run(
        auth_strategy_info.main,
        dict(query="[?dcr_provider.provider_type=='azureAd'].name"),
        ("GET", PATH, page([strategy(10, "a"), strategy(11, "b", provider_obj=False)])),
    )
    assert out["query_result"] == ["a"] and len(out["auth_strategies"]) == 2
