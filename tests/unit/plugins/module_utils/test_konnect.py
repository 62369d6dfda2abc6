"""Unit tests of the Konnect client and the module base (no network: a scripted session)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.testing import patch_module_args

from ansible_collections.konnect.devportal.plugins.module_utils import konnect
from ansible_collections.konnect.devportal.plugins.module_utils.http_client import ApiError, HttpClient
from konnect_fake import (
    BASE,
    ISSUER,
    TENANT,
    TOKEN,
    FakeResponse,
    FakeSession,
    api,
    ok,
    page,
    portal,
    problem,
    provider,
    uid,
)


def make_client(*steps):
    sleeps = []
    http = HttpClient(BASE, describe_error=konnect.describe_konnect_error, sleep=sleeps.append)
    session = FakeSession(steps)
    http.session = session
    return konnect.KonnectClient(BASE, TOKEN, http=http), session, sleeps


# -- connection options -----------------------------------------------------------


@pytest.mark.parametrize(
    "params, url",
    [
        ({"konnect_region": "us"}, "https://us.api.konghq.com"),
        ({"konnect_region": "sg"}, "https://sg.api.konghq.com"),
        ({"konnect_region": "eu", "konnect_url": "https://konnect.test/"}, "https://konnect.test"),
    ],
)
def test_base_url_from_region_or_url(params, url):
    assert konnect.konnect_base_url(params) == url


def test_base_url_rejects_non_http_url():
    with pytest.raises(konnect.InputError, match="https:// URL"):
        konnect.konnect_base_url({"konnect_url": "konnect.test"})


def module_with(args, monkeypatch, env=None):
    for name in ("KONNECT_TOKEN", "KONNECT_SPAT", "KONNECT_REGION", "KONNECT_SERVER_URL", "REQUESTS_CA_BUNDLE"):
        monkeypatch.delenv(name, raising=False)
    for name, value in (env or {}).items():
        monkeypatch.setenv(name, value)
    with patch_module_args(args):
        return konnect.KonnectModule(argument_spec={}, supports_check_mode=True)


def test_env_fallbacks_in_documented_order(monkeypatch):
    module = module_with(
        {},
        monkeypatch,
        env={
            "KONNECT_TOKEN": "kpat_from_env",
            "KONNECT_SPAT": "spat_from_env",
            "KONNECT_REGION": "eu",
            "KONNECT_SERVER_URL": "https://konnect.test",
            "REQUESTS_CA_BUNDLE": "/tmp/ca.pem",
        },
    )
    assert module.params["konnect_token"] == "kpat_from_env"
    assert module.params["konnect_region"] == "eu"
    assert module.params["ca_path"] == "/tmp/ca.pem"
    assert module.client.http.base_url == "https://konnect.test"
    assert module.client.http.session.headers["Authorization"] == "Bearer kpat_from_env"
    assert "kpat_from_env" in module.no_log_values


def test_spat_is_the_second_token_fallback_and_options_win(monkeypatch):
    module = module_with({"konnect_region": "au"}, monkeypatch, env={"KONNECT_SPAT": "spat_x", "KONNECT_REGION": "eu"})
    assert module.params["konnect_token"] == "spat_x"
    assert module.client.http.base_url == "https://au.api.konghq.com"


def test_missing_token_fails_with_the_variables_to_set(monkeypatch, capsys):
    with pytest.raises(SystemExit):
        module_with({}, monkeypatch)
    out = json.loads(capsys.readouterr().out)
    assert out["failed"] and "KONNECT_TOKEN" in out["msg"] and "KONNECT_SPAT" in out["msg"]


def test_validate_certs_false_warns_insecure(monkeypatch, capsys):
    monkeypatch.setenv("KONNECT_TOKEN", TOKEN)
    with patch_module_args({"validate_certs": False}):
        module = konnect.KonnectModule(argument_spec={}, supports_check_mode=True)
        assert module.client.http.verify is False
        with pytest.raises(SystemExit):
            module.exit_json(changed=False)
    out = json.loads(capsys.readouterr().out)
    warnings = json.dumps(out["warnings"])  # core 2.19 returns structured warnings
    assert "validate_certs=false" in warnings and "insecure" in warnings


# -- errors ---------------------------------------------------------------------------


def test_problem_json_becomes_one_line_with_fields_and_trace():
    client, _session, _ignored = make_client(
        (
            "POST",
            "/v2/dcr-providers",
            problem(
                400,
                "Invalid Request",
                "Invalid Parameters",
                invalid=[{"field": "issuer", "rule": "invalid", "reason": "must be a valid URL"}],
                instance="kong:trace:42",
            ),
        )
    )
    with pytest.raises(ApiError) as err:
        client.create("dcr_provider", {"name": "x"})
    text = str(err.value)
    assert text == (
        "POST /v2/dcr-providers: HTTP 400 Invalid Request: Invalid Parameters (issuer: must be a valid URL) "
        "(request id kong:trace:42)"
    )
    assert "\n" not in text


def test_plain_message_body_and_401_hint():
    client, _s, _ignored = make_client(("GET", "/v3/portals", FakeResponse(401, {"message": "Invalid credentials"})))
    with pytest.raises(ApiError) as err:
        client.find_one("portal", "p")
    assert "HTTP 401: Invalid credentials" in str(err.value)
    assert "konnect_token" in str(err.value) and err.value.status == 401


def test_non_json_error_body_is_cut_to_one_line():
    client, _s, _ignored = make_client(("GET", "/v3/apis", FakeResponse(400, "<html>\n<b>bad</b>\n</html>")))
    with pytest.raises(ApiError, match=r"HTTP 400: <html> <b>bad</b> </html>"):
        client.list("/v3/apis")


# -- retries --------------------------------------------------------------------------


def test_429_honours_retry_after_then_succeeds():
    client, session, sleeps = make_client(
        ("GET", "/v3/portals", FakeResponse(429, {"message": "API rate limit exceeded"}, {"Retry-After": "7"})),
        ("GET", "/v3/portals", page([portal()])),
    )
    assert client.find_one("portal", "developer-portal")["id"] == uid(20)
    assert sleeps == [7.0] and len(session.calls) == 2


def test_429_falls_back_to_ratelimit_reset():
    client, _s, sleeps = make_client(
        ("GET", "/v3/portals", FakeResponse(429, {"message": "API rate limit exceeded"}, {"RateLimit-Reset": "3"})),
        ("GET", "/v3/portals", page([])),
    )
    assert client.find_one("portal", "x") is None
    assert sleeps == [3.0]


def test_500_on_a_read_is_retried_but_not_other_4xx():
    client, session, sleeps = make_client(
        ("GET", "/v3/apis", FakeResponse(500, {"message": "boom"})),
        ("GET", "/v3/apis", page([api()])),
    )
    assert len(client.list("/v3/apis")) == 1 and len(sleeps) == 1
    client, session, sleeps = make_client(("GET", "/v3/apis", problem(403, "Forbidden", "You do not have permission")))
    with pytest.raises(ApiError, match=r"HTTP 403 Forbidden: You do not have permission.*role"):
        client.list("/v3/apis")
    assert sleeps == [] and len(session.calls) == 1


def test_500_on_a_create_is_not_repeated():
    client, session, _ignored = make_client(("POST", "/v2/dcr-providers", FakeResponse(500, {"message": "boom"})))
    with pytest.raises(ApiError, match="HTTP 500"):
        client.create("dcr_provider", {"name": "azure-dcr"})
    assert len(session.writes()) == 1


def test_lost_create_reply_is_re_read_by_name_not_repeated():
    lost = requests.exceptions.ConnectionError("('Connection aborted.', RemoteDisconnected('closed'))")
    client, session, _ignored = make_client(
        ("POST", "/v2/dcr-providers", lost),
        ("GET", "/v2/dcr-providers", page([provider()])),
    )
    assert client.create("dcr_provider", {"name": "azure-dcr"})["id"] == uid(1)
    assert len(session.writes()) == 1
    assert session.calls[1]["params"]["filter[name][eq]"] == "azure-dcr"


def test_lost_create_that_did_not_happen_is_sent_again():
    lost = requests.exceptions.ConnectionError("('Connection aborted.', RemoteDisconnected('closed'))")
    client, session, _ignored = make_client(
        ("POST", "/v2/dcr-providers", lost),
        ("GET", "/v2/dcr-providers", page([])),
        ("POST", "/v2/dcr-providers", ok(provider(), 201)),
    )
    assert client.create("dcr_provider", {"name": "azure-dcr"})["name"] == "azure-dcr"
    assert len(session.writes()) == 2


def test_lost_delete_reply_then_404_is_success():
    lost = requests.exceptions.ConnectionError("('Connection aborted.', RemoteDisconnected('closed'))")
    client, session, _ignored = make_client(
        ("DELETE", "/v2/dcr-providers/" + uid(1), lost),
        ("DELETE", "/v2/dcr-providers/" + uid(1), problem(404, "Not Found", "Not Found")),
    )
    client.delete("dcr_provider", uid(1))
    assert session.done()


# -- lists, filters, lookups --------------------------------------------------------------


def test_list_pages_until_total():
    items = [api(n) for n in range(250)]
    client, session, _ignored = make_client(
        ("GET", "/v3/apis", page(items[:100], 1, total=250)),
        ("GET", "/v3/apis", page(items[100:200], 2, total=250)),
        ("GET", "/v3/apis", page(items[200:], 3, total=250)),
    )
    assert len(client.list("/v3/apis", konnect.eq("name", "orders"))) == 250
    assert [c["params"]["page[number]"] for c in session.calls] == [1, 2, 3]
    assert all(c["params"]["page[size]"] == 100 for c in session.calls)
    assert all(c["params"]["filter[name][eq]"] == "orders" for c in session.calls)


def test_list_without_total_stops_on_a_short_page():
    client, session, _ignored = make_client(("GET", "/v3/apis", ok({"data": [api()]})))
    assert len(client.list("/v3/apis")) == 1 and len(session.calls) == 1


def test_find_one_by_id_then_by_name_and_ambiguity():
    client, _s, _ignored = make_client(("GET", "/v3/portals/" + uid(20), ok(portal())))
    assert client.find_one("portal", uid(20))["name"] == "developer-portal"
    twins = [portal(21, "dup"), portal(22, "dup")]
    client, _s, _ignored = make_client(("GET", "/v3/portals", page(twins)))
    with pytest.raises(konnect.InputError, match=r"2 portals are named 'dup' \(ids: .*21, .*22\): give the id"):
        client.find_one("portal", "dup")


def test_find_one_ignores_loose_server_matches():
    client, _s, _ignored = make_client(("GET", "/v3/portals", page([portal(21, "Developer-Portal")])))
    assert client.find_one("portal", "developer-portal") is None


def test_find_many_uses_one_oeq_call_for_names():
    client, session, _ignored = make_client(("GET", "/v3/portals", page([portal(20, "a"), portal(21, "b")])))
    found = client.find_many("portal", ["b", "a", "c"])
    assert found["a"]["id"] == uid(20) and found["b"]["id"] == uid(21) and found["c"] is None
    assert session.calls[0]["params"]["filter[name][oeq]"] == "a,b,c"


def test_find_many_dcr_providers_uses_eq_per_name():
    client, session, _ignored = make_client(
        ("GET", "/v2/dcr-providers", page([provider(1, "a")])),
        ("GET", "/v2/dcr-providers", page([])),
    )
    assert client.find_many("dcr_provider", ["a", "b"]) == {"a": provider(1, "a"), "b": None}
    assert [c["params"]["filter[name][eq]"] for c in session.calls] == ["a", "b"]


def test_resolve_apis_one_call_and_version_rules():
    apis = [api(30, "orders", "v1"), api(31, "orders", "v2"), api(32, "inventory", None), api(33, "inventory", "v9")]
    client, session, _ignored = make_client(("GET", "/v3/apis", page(apis)))
    found = konnect.resolve_apis(client, [("orders", "v2"), ("inventory", None)])
    assert found[("orders", "v2")]["id"] == uid(31)
    assert found[("inventory", None)]["id"] == uid(32)  # the unversioned one
    assert len(session.calls) == 1
    client, _s, _ignored = make_client(("GET", "/v3/apis", page(apis[:2])))
    with pytest.raises(konnect.InputError, match="API 'orders' is ambiguous: it has versions v1, v2; set api_version"):
        konnect.resolve_apis(client, [("orders", None)])
    client, _s, _ignored = make_client(("GET", "/v3/apis", page(apis[:2])))
    with pytest.raises(konnect.InputError, match="API 'orders' has no version 'v3' \\(versions: v1, v2\\)"):
        konnect.resolve_apis(client, [("orders", "v3")])
    client, _s, _ignored = make_client(("GET", "/v3/apis", page([])))
    with pytest.raises(konnect.InputError, match="API 'nope' not found"):
        konnect.resolve_apis(client, [("nope", None)])


def test_verify_provider_and_portal_url():
    client, _session, _ignored = make_client(
        ("POST", "/v2/dcr-providers/%s/verify" % uid(1), ok({"status": "success", "errors": []}))
    )
    assert client.verify_provider(uid(1)) == {"status": "success", "errors": []}
    assert konnect.portal_url(portal()) == "https://developer-portal.example.test"
    assert konnect.portal_url({"default_domain": "d.example", "canonical_domain": None}) == "https://d.example"


# -- input checks and helpers -------------------------------------------------------------


@pytest.mark.parametrize(
    "issuer, why",
    [
        (ISSUER + "/", "must not end with a slash"),
        ("https://login.microsoftonline.com/%s/v2.0" % TENANT, "v2.0 issuer"),
        ("https://sts.windows.net/contoso.onmicrosoft.com", "by its UUID"),
        ("https://sts.windows.net/%s/v2.0" % TENANT, "v2.0 issuer"),
    ],
)
def test_azure_issuer_errors_name_the_value_to_use(issuer, why):
    with pytest.raises(konnect.InputError) as err:
        konnect.check_azure_issuer(issuer)
    assert why in str(err.value)
    if TENANT in issuer:
        assert str(err.value).endswith("use " + ISSUER)


def test_azure_issuer_accepts_the_v1_form():
    konnect.check_azure_issuer(ISSUER)


def test_label_patch_removes_unlisted_keys_with_null():
    assert konnect.label_patch({"a": "1", "b": "2"}, {"a": "1", "b": "2"}) is None
    assert konnect.label_patch({"a": "1", "b": "2"}, {"a": "3"}) == {"a": "3", "b": None}
    assert konnect.label_patch(None, {"a": "1"}) == {"a": "1"}


def test_connect_serves_modules_with_their_own_argspec(monkeypatch):
    """dcr_validate merges konnect_argument_spec() with the Azure options and calls connect()."""
    monkeypatch.delenv("KONNECT_SERVER_URL", raising=False)
    spec = konnect.konnect_argument_spec()
    spec["tenant_id"] = dict(type="str")
    with patch_module_args({"konnect_token": TOKEN, "konnect_region": "me", "tenant_id": TENANT}):
        module = AnsibleModule(argument_spec=spec)
        client = konnect.connect(module)
    assert client.http.base_url == "https://me.api.konghq.com"
    assert client.http.session.headers["Authorization"] == "Bearer " + TOKEN


def test_oeq_chunks_are_bounded_by_count_and_length():
    ids = [uid(n) for n in range(120)]
    chunks = list(konnect._chunks(ids))
    assert [len(c) for c in chunks] == [54, 54, 12]  # 36-character UUIDs, 2000 characters a call
    assert all(len(",".join(c)) <= konnect.OEQ_CHARS for c in chunks)
    names = ["api-%d" % n for n in range(150)]
    assert [len(c) for c in konnect._chunks(names)] == [100, 50]
    assert list(konnect._chunks([])) == []


def test_parallel_runs_jobs_on_forked_sessions_in_order_and_counts_their_requests(monkeypatch):
    client, session, _sleeps = make_client(*[("PUT", "/v3/x/%d" % n, ok({"n": n})) for n in range(12)])
    monkeypatch.setattr(requests, "Session", lambda: session)  # the forks' sessions
    client.http.request_count = 5
    jobs = [lambda c, n=n: c.request("PUT", "/v3/x/%d" % n, json={}) for n in range(12)]
    outcomes = client.parallel(jobs, workers=4)
    assert outcomes == [(True, {"n": n}) for n in range(12)]
    assert client.request_count == 5 + 12 and session.done()
    # every thread had its own client, with the same token and TLS settings
    fork = client.fork()
    assert fork.http is not client.http and fork.http.session.headers["Authorization"] == "Bearer " + TOKEN
    assert fork.http.verify == client.http.verify


def test_parallel_returns_api_errors_as_outcomes(monkeypatch):
    client, session, _sleeps = make_client(
        ("PUT", "/v3/x/0", ok({})), ("PUT", "/v3/x/1", problem(403, "Forbidden", "no")), ("PUT", "/v3/x/2", ok({}))
    )
    monkeypatch.setattr(requests, "Session", lambda: session)
    jobs = [lambda c, n=n: c.request("PUT", "/v3/x/%d" % n, json={}) for n in range(3)]
    outcomes = client.parallel(jobs, workers=3)
    assert [ok_ for ok_, _value in outcomes] == [True, False, True]
    assert isinstance(outcomes[1][1], ApiError) and outcomes[1][1].status == 403


def test_labels_are_checked_by_konnect_rules_before_any_request():
    konnect.check_labels(None)
    konnect.check_labels({"env": "prod", "team.name": "a-b_c.1", "x": "y"})
    with pytest.raises(konnect.InputError) as err:
        konnect.check_labels(
            {"konnect-env": "dev", "owner": "Platform Team", "tier": 1, "ok": "-x"}, "azure_dcr_labels"
        )
    assert str(err.value) == (
        "azure_dcr_labels: key 'konnect-env' must be 1-63 characters and must not start with kong, konnect, mesh, "
        "kic or _; the value of 'ok', '-x', must be 1-63 letters, digits, '-', '.' or '_', beginning and ending with "
        "a letter or digit; the value of 'owner', 'Platform Team', must be 1-63 letters, digits, '-', '.' or '_', "
        "beginning and ending with a letter or digit; the value of 'tier' must be a string (quote it), got 1"
    )
    with pytest.raises(konnect.InputError, match="at most 50 labels, got 51"):
        konnect.check_labels({"k%d" % i: "v" for i in range(51)})
