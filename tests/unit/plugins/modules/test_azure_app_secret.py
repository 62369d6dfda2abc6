"""azure_app_secret against an in-memory Graph: one valid secret, rotation, prune, lost replies."""

from __future__ import annotations

import datetime
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import graph_fake
from ansible_collections.konnect.devportal.plugins.modules import azure_app_secret as module

# the fixtures
fake_time = graph_fake.fake_time
graph = graph_fake.graph
run = graph_fake.run

DAY = datetime.timedelta(days=1)


def secret_calls(graph):
    return [(c["method"], c["path"].rsplit("/", 1)[-1]) for c in graph.writes() if c["path"].startswith("/v1.0/")]


def mine(graph, app, name="konnect-dcr"):
    return [c for c in graph.apps[app["id"]]["passwordCredentials"] if c["displayName"] == name]


def test_lifetime_over_two_years_fails_before_any_request(run, graph):
    out = run(module.main, dict(unique_name="x", name="konnect-dcr", lifetime_days=731))
    assert out["failed"] is True and "lifetime_days must be 1 to 730" in out["msg"]
    assert graph.calls == []


def test_rotation_window_must_be_shorter_than_the_lifetime(run, graph):
    out = run(module.main, dict(unique_name="x", name="konnect-dcr", lifetime_days=30, rotate_before_days=30))
    assert out["failed"] is True and "every run would rotate" in out["msg"]
    assert graph.calls == []


def test_created_once_value_returned_once(run, graph):
    app = graph.add_app("admin", unique_name="admin")
    out = run(module.main, dict(unique_name="admin", name="konnect-dcr", lifetime_days=365), no_log=True)
    assert out["changed"] is True and out["created"] is True and out["rotated"] is False
    [cred] = mine(graph, app)
    assert out["secret"] == graph.secret_values[cred["keyId"]]
    assert out["key_id"] == cred["keyId"]
    assert out["end_date_time"] == "2027-01-01T12:00:00Z"  # the directory's now + 365 days
    assert out["app_id"] == app["appId"] and out["object_id"] == app["id"]
    assert "warnings" not in out, out["warnings"]
    body = next(c["json"] for c in graph.calls if c["path"].endswith("/microsoft.graph.addPassword"))
    assert body == {"passwordCredential": {"displayName": "konnect-dcr", "endDateTime": "2027-01-01T12:00:00Z"}}

    graph.calls.clear()
    again = run(module.main, dict(unique_name="admin", name="konnect-dcr", lifetime_days=365))
    assert again["changed"] is False and again["created"] is False
    assert "secret" not in again
    assert again["key_id"] == cred["keyId"]
    assert secret_calls(graph) == []
    assert len([c for c in graph.calls if c["path"].startswith("/v1.0/")]) == 1  # one read
    assert "hint" not in json.dumps(again)


def test_warns_when_the_task_is_not_no_log(run, graph):
    graph.add_app("admin", unique_name="admin")
    out = run(module.main, dict(unique_name="admin", name="konnect-dcr"))
    warnings = json.dumps(out["warnings"])  # ansible-core 2.19 returns structured warnings
    assert "set no_log: true on the task" in warnings
    assert out["secret"] not in warnings


def test_rotates_in_the_window_keeps_the_old_until_prune(run, graph):
    app = graph.add_app("admin", unique_name="admin")
    first = run(module.main, dict(unique_name="admin", name="konnect-dcr", lifetime_days=60, rotate_before_days=10))
    graph.now += 45 * DAY
    same = run(module.main, dict(unique_name="admin", name="konnect-dcr", lifetime_days=60, rotate_before_days=10))
    assert same["changed"] is False
    graph.now += 6 * DAY  # 9 days left: inside the window
    rotated = run(module.main, dict(unique_name="admin", name="konnect-dcr", lifetime_days=60, rotate_before_days=10))
    assert rotated["changed"] is True and rotated["created"] is True and rotated["rotated"] is True
    assert rotated["key_id"] != first["key_id"] and rotated["secret"]
    assert rotated["removed_key_ids"] == []
    assert len(mine(graph, app)) == 2
    pruned = run(
        module.main, dict(unique_name="admin", name="konnect-dcr", prune=True, lifetime_days=60, rotate_before_days=10)
    )
    assert pruned["changed"] is True and pruned["created"] is False
    assert pruned["removed_key_ids"] == [first["key_id"]]
    assert [c["keyId"] for c in mine(graph, app)] == [rotated["key_id"]]
    assert (
        run(
            module.main,
            dict(unique_name="admin", name="konnect-dcr", prune=True, lifetime_days=60, rotate_before_days=10),
        )["changed"]
        is False
    )


def test_key_id_judges_the_secret_in_use_and_prune_keeps_it(run, graph):
    app = graph.add_app("admin", unique_name="admin")
    in_use = graph.add_secret(app, "konnect-dcr", graph.now - DAY, graph.now + 100 * DAY)
    # a newer secret whose value nobody holds: left by a run interrupted after addPassword
    orphan = graph.add_secret(app, "konnect-dcr", graph.now, graph.now + 180 * DAY)
    args = dict(unique_name="admin", name="konnect-dcr", key_id=in_use["keyId"])
    kept = run(module.main, args)
    assert kept["changed"] is False and kept["key_id"] == in_use["keyId"]
    pruned = run(module.main, dict(args, prune=True))
    assert pruned["removed_key_ids"] == [orphan["keyId"]] and pruned["created"] is False
    assert [c["keyId"] for c in mine(graph, app)] == [in_use["keyId"]]


def test_key_id_that_is_gone_or_expiring_means_a_new_secret(run, graph):
    app = graph.add_app("admin", unique_name="admin")
    graph.add_secret(app, "konnect-dcr", graph.now - DAY, graph.now + 100 * DAY)
    missing_key = "0b0b0b0b-0000-0000-0000-000000000000"
    gone = run(module.main, dict(unique_name="admin", name="konnect-dcr", key_id=missing_key))
    assert gone["created"] is True and gone["secret"]
    expiring = graph.add_secret(app, "konnect-dcr", graph.now - 170 * DAY, graph.now + 10 * DAY)
    soon = run(module.main, dict(unique_name="admin", name="konnect-dcr", key_id=expiring["keyId"]))
    assert soon["created"] is True and soon["rotated"] is True


def test_expired_secret_is_replaced(run, graph):
    app = graph.add_app("admin", unique_name="admin")
    graph.add_secret(app, "konnect-dcr", graph.now - 400 * DAY, graph.now - DAY)
    out = run(module.main, dict(unique_name="admin", name="konnect-dcr"))
    assert out["created"] is True and out["rotated"] is False


def test_force_rotate_with_prune_leaves_exactly_the_new_one(run, graph):
    app = graph.add_app("admin", unique_name="admin")
    graph.add_secret(app, "konnect-dcr", graph.now - DAY, graph.now + 100 * DAY)
    graph.add_secret(app, "other", graph.now - DAY, graph.now + 100 * DAY)
    out = run(module.main, dict(unique_name="admin", name="konnect-dcr", force_rotate=True, prune=True))
    assert out["created"] is True and out["rotated"] is True
    assert [c["keyId"] for c in mine(graph, app)] == [out["key_id"]]
    assert len(mine(graph, app, "other")) == 1
    # the new secret is added before the old one is removed
    assert secret_calls(graph) == [("POST", "microsoft.graph.addPassword"), ("POST", "microsoft.graph.removePassword")]


def test_absent_removes_only_this_name(run, graph):
    app = graph.add_app("admin", unique_name="admin")
    graph.add_secret(app, "konnect-dcr", graph.now - DAY, graph.now + 100 * DAY)
    graph.add_secret(app, "konnect-dcr", graph.now - DAY, graph.now + 50 * DAY)
    graph.add_secret(app, "other", graph.now - DAY, graph.now + 100 * DAY)
    out = run(module.main, dict(object_id=app["id"], name="konnect-dcr", state="absent"))
    assert out["changed"] is True and len(out["removed_key_ids"]) == 2
    assert [c["displayName"] for c in graph.apps[app["id"]]["passwordCredentials"]] == ["other"]
    assert run(module.main, dict(object_id=app["id"], name="konnect-dcr", state="absent"))["changed"] is False


def test_check_mode_predicts_and_writes_nothing(run, graph):
    app = graph.add_app("admin", unique_name="admin")
    out = run(module.main, dict(app_id=app["appId"], name="konnect-dcr"), check=True)
    assert out["changed"] is True and out["created"] is True
    assert out["key_id"] is None and "secret" not in out
    assert secret_calls(graph) == []
    assert out["diff"]["before"] == {"name": "konnect-dcr", "secrets": []}
    assert out["diff"]["after"]["secrets"][0]["key_id"] == "(new)"


def test_lost_add_password_reply_removes_the_unknown_secret_and_adds_again(run, graph):
    app = graph.add_app("admin", unique_name="admin")
    graph.lost.append(("POST", r"/applications/[^/]+/microsoft\.graph\.addPassword"))
    out = run(module.main, dict(unique_name="admin", name="konnect-dcr"))
    assert out["changed"] is True
    [cred] = mine(graph, app)
    assert out["key_id"] == cred["keyId"]
    assert out["secret"] == graph.secret_values[cred["keyId"]]
    assert secret_calls(graph) == [
        ("POST", "microsoft.graph.addPassword"),
        ("POST", "microsoft.graph.removePassword"),
        ("POST", "microsoft.graph.addPassword"),
    ]


def test_lost_remove_password_reply_is_checked_by_reading(run, graph):
    app = graph.add_app("admin", unique_name="admin")
    graph.add_secret(app, "konnect-dcr", graph.now - DAY, graph.now + 100 * DAY)
    graph.lost.append(("POST", r"/applications/[^/]+/microsoft\.graph\.removePassword"))
    out = run(module.main, dict(unique_name="admin", name="konnect-dcr", state="absent"))
    assert out["changed"] is True and mine(graph, app) == []


def test_app_created_moments_ago_is_waited_for(run, graph, fake_time):
    graph.lag = 3
    app = graph.add_app("admin", unique_name="admin")
    out = run(module.main, dict(app_id=app["appId"], name="konnect-dcr"))
    assert out["created"] is True and fake_time.slept


def test_missing_app_is_a_clear_failure(run, graph):
    out = run(module.main, dict(display_name="nope", name="konnect-dcr"))
    assert out["failed"] is True and out["msg"] == "no app registration with display name 'nope'"
