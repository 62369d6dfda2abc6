"""The bounded part of ``make bench`` (tests/bench.py), run by ``make test``.

The setup playbook with 1 and then 10 publications, against the emulators without added
latency: a rerun writes nothing, and its requests do not grow with the number of APIs
(lists, not one GET per object). Wall times are ``make bench``'s business.
"""

from __future__ import annotations

import collections

from bench import MAX_RERUN_GROWTH, MAX_RERUN_REQUESTS, SETUP, api_name, is_write, publications
from harness import run_playbook


def setup(emulators, n):
    mark = emulators.mark()
    result = run_playbook(
        SETUP, env=emulators.env(), extra_vars={"azure_dcr_publications": publications(n), "azure_dcr_validate": False}
    )
    assert result.rc == 0, result.output[-4000:]
    return result, emulators.requests(mark)


def test_a_rerun_writes_nothing_and_its_requests_do_not_grow_with_the_apis(start_emulators):
    emulators = start_emulators()
    emulators.seed({"apis": [{"name": api_name(i), "version": "v1"} for i in range(1, 11)]})
    reruns = {}
    for n in (1, 10):
        first, _requests = setup(emulators, n)
        assert first.changed() > 0
        rerun, requests = setup(emulators, n)
        assert rerun.changed() == 0
        assert [r for r in requests if is_write(r)] == []
        reruns[n] = requests
    counts = dict((n, len(requests)) for n, requests in reruns.items())
    detail = dict(
        (n, collections.Counter("%s %s" % (r["service"], r["method"]) for r in requests))
        for n, requests in reruns.items()
    )
    assert counts[10] - counts[1] <= MAX_RERUN_GROWTH, detail
    assert counts[10] <= MAX_RERUN_REQUESTS, detail
    # every publication is in Konnect, with the role's auth strategy
    konnect = emulators.state()["konnect"]
    [strategy] = [s for s in konnect["application_auth_strategies"] if s["name"] == "azure-dcr"]
    published = [p for p in konnect["publications"] if p["auth_strategy_ids"] == [strategy["id"]]]
    assert len(published) == 10
