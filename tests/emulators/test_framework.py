"""The emulator plumbing: TLS, routing, faults, rate limit, request log, contract checks."""

from __future__ import annotations

import json
import ssl
import sys
from pathlib import Path

import pytest
import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))

from contract import Contract
from framework import Response, Service, World, make_tls, route


class Toy(Service):
    """A tiny service with a read, a write and a contract."""

    name = "toy"

    def __init__(self, world):
        super().__init__(world)
        self.items = []

    @route("GET", r"/items")
    def list_items(self, req):
        return Response.json(200, {"items": self.items})

    @route("POST", r"/items")
    def add_item(self, req):
        self.items.append(req.json())
        return Response.json(201, {"count": len(self.items)})

    @route("GET", r"/items/(?P<index>\d+)")
    def get_item(self, req):
        return Response.json(200, self.items[int(req.params["index"])])


@pytest.fixture
def toy(tmp_path):
    world = World(tmp_path)
    world.ssl_context, world.ca_path, _ignored = make_tls(tmp_path)
    service = world.add_service(Toy(world))
    listener = world.listen(service)
    session = requests.Session()
    session.verify = world.ca_path
    session.trust_env = False  # else REQUESTS_CA_BUNDLE overrides session.verify
    yield world, service, listener.url, session
    world.shutdown()


def test_tls_is_verified_with_the_emulator_ca_only(toy):
    world, _ignored, url, session = toy
    assert session.get(url + "/items").status_code == 200
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(url + "/items", timeout=5)  # system trust does not know the emulator CA
    # the CA file is a real PEM that ssl can load
    ctx = ssl.create_default_context(cafile=world.ca_path)
    assert ctx.cert_store_stats()["x509_ca"] == 1


def test_routing_params_and_method_not_allowed(toy):
    _ignored, _service, url, session = toy
    session.post(url + "/items", json={"a": 1})
    assert session.get(url + "/items/0").json() == {"a": 1}
    r = session.delete(url + "/items")
    assert r.status_code == 405
    assert r.headers["Allow"] == "GET, POST"
    assert session.get(url + "/nope").status_code == 404


def test_malformed_json_gets_the_service_error(toy):
    _ignored, service, url, session = toy
    r = session.post(url + "/items", data=b"{not json", headers={"Content-Type": "application/json"})
    assert r.status_code == 400
    assert r.json()["message"].startswith("Malformed JSON")
    assert service.items == []


def test_request_log_is_complete(toy):
    world, _ignored, url, session = toy
    session.post(url + "/items?x=1", json={"a": 1})
    session.get(url + "/items")
    lines = [json.loads(line) for line in world.log_path.read_text().splitlines()]
    assert [(r["method"], r["path"], r["status"]) for r in lines] == [("POST", "/items", 201), ("GET", "/items", 200)]
    first = lines[0]
    assert set(first) == {
        "ts",
        "service",
        "method",
        "path",
        "query",
        "status",
        "request_body",
        "response_body",
        "fault",
    }
    assert first["service"] == "toy"
    assert first["query"] == "x=1"
    assert first["request_body"] == {"a": 1}
    assert first["response_body"] == {"count": 1}
    assert first["fault"] is None


def _fault_sequence(world, url, session, n=40):
    out = []
    for i in range(n):
        try:
            r = session.post(url + "/items", json={"i": i})
            out.append(r.status_code)
        except requests.exceptions.ConnectionError:
            out.append("lost")
    return out


def test_faults_are_reproducible_by_seed(toy):
    world, _service, url, session = toy
    world.faults.configure(rate=0.5, seed=7)
    first = _fault_sequence(world, url, session)
    world.faults.configure(seed=7)
    second = _fault_sequence(world, url, session)
    assert first == second
    assert {429, 503, "lost", 201} <= set(first)


def test_a_lost_response_was_applied(toy):
    world, service, url, session = toy
    world.faults.configure(rate=1.0, seed=3)
    lost = 0
    for i in range(30):
        before = len(service.items)
        try:
            session.post(url + "/items", json={"i": i})
        except requests.exceptions.ConnectionError:
            lost += 1
            assert len(service.items) == before + 1  # the write happened, the reply did not arrive
    assert lost > 0
    faults = [json.loads(line)["fault"] for line in world.log_path.read_text().splitlines()]
    assert faults.count("lost") == lost
    # reads are never "lost": only 429 and 503 for them
    world.faults.configure(rate=1.0, seed=4)
    statuses = {session.get(url + "/items").status_code for _ignored in range(20)}
    assert statuses <= {429, 503}


def test_throttled_answers_carry_retry_after(toy):
    world, _ignored, url, session = toy
    world.rate_limiter.per_second = 2
    statuses = [session.get(url + "/items") for _ignored in range(5)]
    limited = [r for r in statuses if r.status_code == 429]
    assert limited, [r.status_code for r in statuses]
    assert all(r.headers["Retry-After"] == "1" for r in limited)


def test_contract_rejects_bad_requests_and_flags_bad_responses(tmp_path):
    world = World(tmp_path)
    world.ssl_context, world.ca_path, _ignored = make_tls(tmp_path)

    class Providers(Service):
        name = "konnect-like"
        contract = Contract(["konnect-application-auth-strategies-v2.yaml"], "https://us.api.konghq.com")

        def invalid_request(self, req, errors):
            return Response.json(400, {"invalid_parameters": errors})

        @route("POST", r"/v2/dcr-providers")
        def create(self, req):
            return Response.json(201, {"id": "not-a-uuid"})  # breaks the response schema

    listener = world.listen(world.add_service(Providers(world)))
    session = requests.Session()
    session.verify = world.ca_path
    session.trust_env = False
    try:
        bad = session.post(listener.url + "/v2/dcr-providers", json={"name": "x", "zzz": 1})
        assert bad.status_code == 400
        rules = {(p["field"], p["rule"]) for p in bad.json()["invalid_parameters"]}
        assert ("provider_type", "required") in rules or ("zzz", "unknown_property") in rules
        good_body = {
            "name": "x",
            "provider_type": "azureAd",
            "issuer": "https://sts.windows.net/72f988bf-86f1-41af-91ab-2d7cd011db47",
            "dcr_config": {"initial_client_id": "a", "initial_client_secret": "b"},
        }
        broken = session.post(listener.url + "/v2/dcr-providers", json=good_body)
        assert broken.status_code == 500
        assert "emulator_contract_violation" in broken.json()
        violations = world.violations_path.read_text().splitlines()
        assert len(violations) == 1
        assert json.loads(violations[0])["path"] == "/v2/dcr-providers"
    finally:
        world.shutdown()


def test_clock_advances(tmp_path):
    world = World(tmp_path)
    before = world.clock.now()
    world.clock.advance_days(2)
    assert world.clock.now() - before >= 2 * 86400
