"""A scripted stand-in for the ``requests.Session`` of the Konnect client, for unit tests.

Each test lists the requests it expects, in order, with the answer to give;
an unexpected request fails the test, and ``calls`` records what was sent.
"""

from __future__ import annotations

import copy
import http.client
import json
import threading
from urllib.parse import urlsplit

import pytest
import requests
from ansible.module_utils.common import warnings as ansible_warnings
from ansible.module_utils.testing import patch_module_args
from requests.structures import CaseInsensitiveDict

TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
ISSUER = "https://sts.windows.net/" + TENANT
SECRET = "Very-Secret-Value-42"
TOKEN = "kpat_unitTestToken0123456789"
BASE = "https://konnect.test"


class FakeResponse:
    def __init__(self, status, body=None, headers=None, content_type=None):
        self.status_code = status
        self.headers = CaseInsensitiveDict(headers or {})
        if body is None:
            self.content = b""
        elif isinstance(body, (dict, list)):
            self.content = json.dumps(body).encode()
            default = "application/problem+json" if status >= 400 and "title" in body else "application/json"
            self.headers.setdefault("Content-Type", content_type or default)
        else:
            self.content = body.encode()
        self.text = self.content.decode()
        self.reason = http.client.responses.get(status, "")

    def json(self):
        return json.loads(self.text)


class FakeSession:
    """Answers from STEPS: ``(method, path, FakeResponse or exception)`` in order.

    Writes that follow each other in STEPS may come in any order: a module sends a
    batch of writes in parallel (several threads share this one fake).
    """

    def __init__(self, steps=()):
        self.steps = list(steps)
        self.headers = {}
        self.verify = True
        self.calls = []
        self.lock = threading.Lock()

    def add(self, *steps):
        self.steps.extend(steps)
        return self

    def request(self, method, url, params=None, json=None, timeout=None, **kwargs):
        with self.lock:
            return self._answer(method, urlsplit(url).path, params, json, timeout)

    def _answer(self, method, path, params, json, timeout):
        self.calls.append(
            dict(method=method, path=path, params=dict(params or {}), json=copy.deepcopy(json), timeout=timeout)
        )
        assert self.steps, "unexpected request %s %s" % (method, path)
        index = 0
        if method != "GET":
            # the first of the writes that come next in STEPS with this method and path
            for position, (step_method, step_path, _answer) in enumerate(self.steps):
                if step_method == "GET":
                    break
                if (step_method, step_path) == (method, path):
                    index = position
                    break
        want_method, want_path, answer = self.steps.pop(index)
        assert (method, path) == (want_method, want_path), "expected %s %s, got %s %s" % (
            want_method,
            want_path,
            method,
            path,
        )
        if isinstance(answer, Exception):
            raise answer
        return answer

    def close(self):
        """The module closes the sessions of its write threads (here: this one)."""

    def writes(self):
        return [c for c in self.calls if c["method"] != "GET"]

    def done(self):
        return not self.steps


def page(items, number=1, size=100, total=None):
    meta = {"page": {"number": number, "size": size, "total": len(items) if total is None else total}}
    return FakeResponse(200, {"data": items, "meta": meta})


def ok(body, status=200):
    return FakeResponse(status, body)


def problem(status, title, detail, invalid=None, instance="kong:trace:1234567890"):
    body = {"status": status, "title": title, "detail": detail, "instance": instance}
    if invalid is not None:
        body["invalid_parameters"] = invalid
    return FakeResponse(status, body)


def uid(n):
    return "00000000-0000-4000-8000-%012d" % n


def provider(n=1, name="azure-dcr", **extra):
    obj = {
        "id": uid(n),
        "name": name,
        "display_name": "Azure AD",
        "provider_type": "azureAd",
        "issuer": ISSUER,
        "active": False,
        "dcr_config": {"initial_client_id": "client-1"},
        "labels": {},
        "created_at": "2026-01-01T00:00:00.000Z",
        "updated_at": "2026-01-01T00:00:00.000Z",
    }
    obj.update(extra)
    return obj


def strategy(n=10, name="azure-dcr", provider_obj=None, **extra):
    provider_obj = provider() if provider_obj is None else provider_obj
    obj = {
        "id": uid(n),
        "name": name,
        "display_name": name,
        "strategy_type": "openid_connect",
        "configs": {
            "openid-connect": {
                "issuer": ISSUER,
                "credential_claim": ["appid"],
                "scopes": ["openid"],
                "auth_methods": ["client_credentials", "bearer", "session"],
            }
        },
        "active": False,
        "dcr_provider": {"id": provider_obj["id"], "name": provider_obj["name"], "provider_type": "azureAd"}
        if provider_obj
        else None,
        "labels": {},
        "created_at": "2026-01-01T00:00:00.000Z",
        "updated_at": "2026-01-01T00:00:00.000Z",
    }
    obj.update(extra)
    return obj


def portal(n=20, name="developer-portal", default_strategy=None):
    return {
        "id": uid(n),
        "name": name,
        "display_name": name.title(),
        "default_domain": "%s.example.test" % name,
        "canonical_domain": "%s.example.test" % name,
        "default_application_auth_strategy_id": default_strategy,
        "auto_approve_applications": False,
    }


def api(n=30, name="orders", version="v1"):
    return {"id": uid(n), "name": name, "version": version, "slug": "%s-%s" % (name, version), "portals": []}


def publication(api_obj, portal_obj, strategy_ids=None, visibility="private", auto_approve=False):
    return {
        "api_id": api_obj["id"],
        "portal_id": portal_obj["id"],
        "entity_type": "api",
        "visibility": visibility,
        "auth_strategy_ids": strategy_ids,
        "auto_approve_registrations": auto_approve,
        "created_at": "2026-01-01T00:00:00.000Z",
        "updated_at": "2026-01-01T00:00:00.000Z",
    }


@pytest.fixture
def run(monkeypatch, capsys):
    """``run(main, args, *steps, check=False, diff=False)`` -> (result JSON, session)."""
    for name in ("KONNECT_TOKEN", "KONNECT_SPAT", "KONNECT_REGION", "KONNECT_SERVER_URL"):
        monkeypatch.delenv(name, raising=False)

    def runner(main, args, *steps, check=False, diff=True):
        session = FakeSession(steps)
        monkeypatch.setattr(requests, "Session", lambda: session)
        # warnings are process-global in Ansible: drop those of modules run before in this process
        monkeypatch.setattr(ansible_warnings, "_global_warnings", {})
        monkeypatch.setattr(ansible_warnings, "_global_deprecations", {})
        module_args = dict({"konnect_token": TOKEN, "konnect_url": BASE}, **args)
        module_args["_ansible_check_mode"] = check
        module_args["_ansible_diff"] = diff
        with patch_module_args(module_args), pytest.raises(SystemExit):
            main()
        out = json.loads(capsys.readouterr().out)
        assert session.done(), "expected requests not sent: %s" % session.steps
        return out, session

    return runner


def warning_texts(out):
    """The messages of a result's warnings (ansible-core 2.19 returns them structured)."""
    return [w["event"]["msg"] if isinstance(w, dict) else w for w in out.get("warnings", [])]
