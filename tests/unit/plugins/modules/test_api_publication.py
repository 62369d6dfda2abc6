"""api_publication: single and list forms against a scripted session."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import konnect_fake
from ansible_collections.konnect.devportal.plugins.modules import api_publication
from konnect_fake import api, ok, page, portal, problem, publication, strategy, uid

run = konnect_fake.run  # the fixture
ORDERS, ORDERS2, PAYMENTS = api(30, "orders", "v1"), api(31, "orders", "v2"), api(32, "payments", "v1")
DEV, PARTNER = portal(20, "developer-portal"), portal(21, "partner-portal", default_strategy=uid(11))
STRATEGY = strategy()
ARGS = dict(api="orders", api_version="v1", portal="developer-portal", auth_strategy="azure-dcr", visibility="public")
PUT = "/v3/apis/%s/publications/%s" % (uid(30), uid(20))


def lookups(existing=()):
    return (
        ("GET", "/v3/apis", page([ORDERS, ORDERS2])),
        ("GET", "/v3/portals", page([DEV])),
        ("GET", "/v2/application-auth-strategies", page([STRATEGY])),
        ("GET", "/v3/api-publications", page(list(existing))),
    )


def fails(out, *words):
    assert out.get("failed") is True, out
    for word in words:
        assert word in out["msg"], out["msg"]
    return True


def test_publish_sends_all_three_fields_and_accepts_201(run):
    out, session = run(api_publication.main, ARGS, *lookups(), ("PUT", PUT, ok({"visibility": "public"}, 201)))
    assert session.writes()[0]["json"] == {
        "visibility": "public",
        "auth_strategy_ids": [uid(10)],
        "auto_approve_registrations": False,
    }
    pub = out["publication"]
    assert out["changed"] is True and pub["action"] == "created" and pub["api_name"] == "orders"
    assert pub["api_id"] == uid(30) and pub["portal_name"] == "developer-portal"
    assert out["diff"] == {
        "before": {"state": "absent"},
        "after": {"visibility": "public", "auth_strategy_ids": [uid(10)], "auto_approve_registrations": False},
    }
    filters = session.calls[3]["params"]
    assert filters["filter[api_id][eq]"] == uid(30) and filters["filter[portal_id][eq]"] == uid(20)


def test_rerun_makes_no_write(run):
    existing = publication(ORDERS, DEV, [uid(10)], "public")
    out, session = run(api_publication.main, ARGS, *lookups([existing]))
    assert out["changed"] is False and out["publication"]["action"] == "unchanged" and session.writes() == []


def test_unset_fields_keep_their_value_in_the_full_replace(run):
    existing = publication(ORDERS, DEV, [uid(10)], "public", auto_approve=True)
    out, session = run(
        api_publication.main,
        dict(api="orders", api_version="v1", portal="developer-portal", auth_strategy="none"),
        ("GET", "/v3/apis", page([ORDERS, ORDERS2])),
        ("GET", "/v3/portals", page([DEV])),
        ("GET", "/v3/api-publications", page([existing])),
        ("PUT", PUT, ok({})),
    )
    assert session.writes()[0]["json"] == {
        "visibility": "public",
        "auth_strategy_ids": None,
        "auto_approve_registrations": True,
    }
    assert out["diff"]["before"]["auth_strategy_ids"] == [uid(10)] and out["diff"]["after"]["auth_strategy_ids"] is None


def test_omitted_strategy_is_the_portals_default(run):
    _out, session = run(
        api_publication.main,
        dict(api="payments", portal="partner-portal"),
        ("GET", "/v3/apis", page([PAYMENTS])),
        ("GET", "/v3/portals", page([PARTNER])),
        ("GET", "/v3/api-publications", page([])),
        ("PUT", "/v3/apis/%s/publications/%s" % (uid(32), uid(21)), ok({})),
    )
    assert session.writes()[0]["json"]["auth_strategy_ids"] == [uid(11)]
    assert session.writes()[0]["json"]["visibility"] == "private"


def test_check_mode_on_drift_reports_without_writing(run):
    existing = publication(ORDERS, DEV, [uid(10)], "private")
    out, session = run(api_publication.main, ARGS, *lookups([existing]), check=True)
    assert out["changed"] is True and out["publication"]["action"] == "updated" and session.writes() == []
    assert out["diff"]["before"]["visibility"] == "private" and out["diff"]["after"]["visibility"] == "public"


def test_absent_unpublishes_then_is_idempotent(run):
    existing = publication(ORDERS, DEV, [uid(10)], "public")
    args = dict(api="orders", api_version="v1", portal="developer-portal", state="absent")
    steps = [("GET", "/v3/apis", page([ORDERS, ORDERS2])), ("GET", "/v3/portals", page([DEV]))]
    listed = ("GET", "/v3/api-publications", page([existing]))
    out, session = run(api_publication.main, args, *steps, listed, ("DELETE", PUT, ok(None, 204)))
    assert out["changed"] is True and out["publication"]["action"] == "deleted"
    out, session = run(api_publication.main, args, *steps, ("GET", "/v3/api-publications", page([])))
    assert out["changed"] is False and session.writes() == []


def test_ambiguous_api_names_its_versions(run):
    out, session = run(
        api_publication.main,
        dict(api="orders", portal="developer-portal"),
        ("GET", "/v3/apis", page([ORDERS, ORDERS2])),
    )
    assert fails(out, "API 'orders' is ambiguous: it has versions v1, v2; set api_version") and session.writes() == []


def test_unknown_portal_fails(run):
    out, session = run(
        api_publication.main,
        dict(ARGS, portal="nope"),
        ("GET", "/v3/apis", page([ORDERS, ORDERS2])),
        ("GET", "/v3/portals", page([])),
    )
    assert fails(out, "portal 'nope' not found") and session.writes() == []


def test_list_form_reconciles_many_with_one_call_per_kind(run):
    existing = [publication(ORDERS, DEV, [uid(10)], "public")]
    out, session = run(
        api_publication.main,
        dict(
            publications=[
                ARGS,
                dict(api="orders", api_version="v2", portal="developer-portal", auth_strategy="azure-dcr"),
                dict(api="payments", portal="partner-portal", auth_strategy="none"),
            ]
        ),
        ("GET", "/v3/apis", page([ORDERS, ORDERS2, PAYMENTS])),
        ("GET", "/v3/portals", page([DEV, PARTNER])),
        ("GET", "/v2/application-auth-strategies", page([STRATEGY])),
        ("GET", "/v3/api-publications", page(existing)),
        ("PUT", "/v3/apis/%s/publications/%s" % (uid(31), uid(20)), ok({})),
        ("PUT", "/v3/apis/%s/publications/%s" % (uid(32), uid(21)), ok({})),
    )
    assert [p["action"] for p in out["publications"]] == ["unchanged", "created", "created"]
    assert session.calls[0]["params"]["filter[name][oeq]"] == "orders,payments"
    assert session.calls[1]["params"]["filter[name][oeq]"] == "developer-portal,partner-portal"
    assert session.calls[3]["params"]["filter[api_id][oeq]"] == ",".join(sorted([uid(30), uid(31), uid(32)]))
    keys = {"orders v1 -> developer-portal", "orders v2 -> developer-portal", "payments -> partner-portal"}
    assert set(out["diff"]["after"]) == keys


def test_list_form_refuses_duplicates(run):
    item = dict(api="orders", api_version="v1", portal="developer-portal")
    out, session = run(api_publication.main, dict(publications=[item, item]))
    assert fails(out, "listed more than once: orders v1 -> developer-portal") and session.calls == []


def test_single_and_list_forms_are_exclusive(run):
    out, session = run(api_publication.main, dict(ARGS, publications=[dict(api="a", portal="b")]))
    assert fails(out, "mutually exclusive") and session.calls == []


MANY = [api(100 + n, "api-%02d" % n, "v1") for n in range(12)]


def many_lookups():
    return (
        ("GET", "/v3/apis", page(MANY)),
        ("GET", "/v3/portals", page([DEV, PARTNER])),
        ("GET", "/v2/application-auth-strategies", page([STRATEGY])),
        ("GET", "/v3/api-publications", page([])),
    )


def many_items():
    return [
        dict(
            api=a["name"],
            api_version="v1",
            portal=("developer-portal", "partner-portal")[n % 2],
            auth_strategy="azure-dcr",
        )
        for n, a in enumerate(MANY)
    ]


def test_list_form_sends_its_writes_in_parallel_and_returns_them_in_order(run):
    puts = [
        ("PUT", "/v3/apis/%s/publications/%s" % (a["id"], (DEV, PARTNER)[n % 2]["id"]), ok({"visibility": "private"}))
        for n, a in enumerate(MANY)
    ]
    out, session = run(api_publication.main, dict(publications=many_items()), *many_lookups(), *puts)
    assert out["changed"] is True and len(session.writes()) == 12
    assert [p["api_name"] for p in out["publications"]] == [a["name"] for a in MANY]
    assert all(p["action"] == "created" and p["visibility"] == "private" for p in out["publications"])
    # one list call per kind, whatever the number of APIs; publications filtered by API and portal
    assert [c["method"] for c in session.calls[:4]] == ["GET"] * 4
    assert session.calls[3]["params"]["filter[portal_id][oeq]"] == ",".join(sorted([uid(20), uid(21)]))


def test_list_form_applies_the_other_writes_and_names_every_failed_one(run):
    puts = [
        (
            "PUT",
            "/v3/apis/%s/publications/%s" % (a["id"], (DEV, PARTNER)[n % 2]["id"]),
            problem(403, "Forbidden", "not an API Publisher") if n in (3, 7) else ok({}),
        )
        for n, a in enumerate(MANY)
    ]
    out, session = run(api_publication.main, dict(publications=many_items()), *many_lookups(), *puts)
    assert fails(out, "2 of 12 publication writes failed", "the other 10 were applied")
    assert fails(out, "api-03 v1 -> partner-portal: PUT", "api-07 v1 -> partner-portal: PUT", "HTTP 403")
    assert len(session.writes()) == 12
