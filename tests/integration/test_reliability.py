"""Reliability and security, the bounded part (make test); ``make reliability`` runs the full sizes.

Every test drives the real ``ansible-playbook`` against the real emulators through
tests/reliability.py, which also prints the figures of the full runs. A suite returns what it
measured; the assertions here say what must hold. The bad-input cases include the two the first
full run found failing after a write (a clean-up of a strategy used outside the role, apps already
carrying azure_dcr_app_name); test_role pins the third (validation of a seconds-old secret).
"""

from __future__ import annotations

import json

import reliability as rel


def brief(rows, keys):
    return json.dumps([{k: r.get(k) for k in keys} for r in rows], indent=1)


def test_faults_two_seeds_one_run_no_duplicate_rerun_changes_nothing(tmp_path):
    """--fault-rate 0.2 (429, 503, lost replies) and --consistency-delay 3, two seeds."""
    res = rel.suite_faults(tmp_path, rel.FAULT_SEEDS[:2])
    rows = brief(res["rows"], ["seed", "first_rc", "first_error", "duplicates", "problems", "second_changed"])
    assert res["duplicates"] == 0, rows
    assert res["first_run_successes"] == res["runs"], rows
    assert res["passed"] == res["runs"], rows
    # the faults really happened, lost replies included
    assert res["faults_injected"].get("lost", 0) > 0 and res["faults_injected"].get("429", 0) > 0, res


def test_interrupted_setup_converges_on_rerun(tmp_path):
    """SIGKILL of the playbook (its process group and the worker sessions under it) after the app,
    after the new secret (Konnect doesn't have it yet: an orphan), after the provider (not
    verified); a rerun converges to one of each and one secret, and Konnect verifies the provider."""
    res = rel.suite_interrupt(tmp_path, rel.BOUNDED_KILL_POINTS, full=False, workers=len(rel.BOUNDED_KILL_POINTS))
    rows = brief(res["rows"], ["point", "killed", "writes_at_kill", "rerun_rc", "rerun_error", "problems", "verify"])
    assert res["points"] == len(rel.BOUNDED_KILL_POINTS) == res["distinct_points"], rows
    assert all(r["killed"] for r in res["rows"]), rows
    assert res["leftover_processes"] == 0, rows
    assert res["duplicates"] == 0 and res["orphaned_secrets"] == 0, rows
    assert res["verified"] == res["points"] and res["converged"] == res["points"], rows
    # the kill after addPassword left a secret Konnect never got: the rerun removed it
    hand_off = next(r for r in res["rows"] if "secret" in r["point"])
    assert hand_off["secrets_after_kill"] == 1 and hand_off["secrets"] == 1, rows


def test_bad_input_fails_before_the_first_write_naming_the_variable(tmp_path):
    res = rel.suite_bad_input(tmp_path, rel.BAD_INPUT_BOUNDED)
    rows = brief(res["rows"], ["id", "rc", "missing", "writes", "message"])
    assert res["cases"] == len(rel.BAD_INPUT_BOUNDED), rows
    assert res["failed_before_first_write"] == res["cases"], rows
    assert res["passed"] == res["cases"], rows


def test_the_secret_search_finds_what_it_looks_for():
    """The search of the secrets suite finds a secret as is, JSON-escaped and URL-encoded."""
    secret = 'Ab1~x/y+z"q\\w'
    assert rel.search({secret: "planted"}, {"plain": "..%s.." % secret}) == ["planted in plain"]
    assert rel.search({secret: "planted"}, {"json": json.dumps({"k": secret})}) == ["planted in json"]
    assert rel.search({secret: "planted"}, {"form": "a=1&s=" + rel.urllib.parse.quote_plus(secret)})
    assert rel.search({secret: "planted"}, {"other": "Ab1~x/y+z"}) == []


def test_no_secret_in_any_output_log_record_or_file(tmp_path):
    """setup, rotate_secret, validate (developer round trip) and cleanup at -vvv --diff."""
    res = rel.suite_secrets(tmp_path)
    assert res["run_rc"] == {"setup": 0, "rotate_secret": 0, "validate": 0, "cleanup": 0}, res["run_errors"]
    assert res["hits"] == [], res["hits"]
    assert res["unseen_in_emulator_log"] == [], res
    assert all(res["checks"].values()), res["checks"]


def test_untrusted_certificate_fails_clearly_and_validate_certs_false_warns(tmp_path):
    res = rel.suite_tls(tmp_path, full=False)
    assert res["passed"] == res["cases"] == 3, json.dumps(res["rows"], indent=1)


def test_rate_limit_is_honoured(tmp_path):
    res = rel.suite_rate_limit(tmp_path, per_second=5, full=False)
    assert res["passed"], res
    assert res["throttled"] > 0 and res["min_wait_before_retry"] >= 0.9, res
