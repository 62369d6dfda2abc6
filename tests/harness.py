"""Test harness: start the emulators, talk to their admin API, run playbooks.

Used by the emulator tests, the module acceptance tests and the benchmarks.
Everything goes through real processes: ``serve.py`` and ``ansible-playbook``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
BUILD = ROOT / "build"
COLLECTIONS = BUILD / "collections"
SERVE = ROOT / "tests" / "emulators" / "serve.py"


def ensure_collection_path() -> Path:
    """build/collections/ansible_collections/konnect/devportal -> the checkout."""
    link = COLLECTIONS / "ansible_collections" / "konnect" / "devportal"
    if not link.exists():
        link.parent.mkdir(parents=True, exist_ok=True)
        try:
            link.symlink_to(ROOT, target_is_directory=True)
        except FileExistsError:
            pass
    return COLLECTIONS


class Emulators:
    """A running ``serve.py`` process and its endpoints."""

    def __init__(self, state_dir: Path, *args: str, timeout: float = 15):
        self.state_dir = Path(state_dir)
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self.args = list(args)
        endpoints_file = self.state_dir / "endpoints.json"
        endpoints_file.unlink(missing_ok=True)
        self.log = open(self.state_dir / "serve.log", "wb")
        started = time.monotonic()
        self.proc = subprocess.Popen(
            [sys.executable, str(SERVE), "--state-dir", str(self.state_dir), *self.args],
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        while not endpoints_file.exists():
            if self.proc.poll() is not None:
                raise RuntimeError("emulators exited: " + (self.state_dir / "serve.log").read_text())
            if time.monotonic() - started > timeout:
                self.stop()
                raise RuntimeError("emulators did not start in %ss" % timeout)
            time.sleep(0.05)
        self.startup_seconds = time.monotonic() - started
        self.endpoints = json.loads(endpoints_file.read_text())
        self.admin = requests.Session()
        self.ca_path = self.endpoints["ca_path"]

    # -- admin API ----------------------------------------------------------
    def _admin(self, method, path, body=None):
        # verify per request: requests lets REQUESTS_CA_BUNDLE override session.verify
        r = self.admin.request(method, self.endpoints["admin_url"] + path, json=body, timeout=30, verify=self.ca_path)
        r.raise_for_status()
        return r.json()

    def state(self) -> dict:
        return self._admin("GET", "/state")

    def requests(self, since: int = 0) -> list[dict]:
        return self._admin("GET", "/requests?since=%d" % since)

    def mark(self) -> int:
        """The request-log position now, for ``requests(since=...)``."""
        return len(self.requests())

    def writes(self, since: int = 0) -> list[dict]:
        return [r for r in self.requests(since) if r["method"] in ("POST", "PUT", "PATCH", "DELETE")]

    def faults(self, **settings) -> dict:
        return self._admin("POST", "/faults", settings)

    def seed(self, data: dict) -> dict:
        return self._admin("POST", "/seed", data)

    def reset(self) -> dict:
        return self._admin("POST", "/reset")

    def advance_days(self, days: float) -> dict:
        return self._admin("POST", "/clock", {"advance_days": days})

    def violations(self) -> list[dict]:
        path = self.state_dir / "contract-violations.jsonl"
        if not path.exists():
            return []
        return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]

    def env(self) -> dict:
        """The variables env.sh exports, as a dict."""
        e = self.endpoints
        return {
            "AZURE_TENANT": e["tenant_id"],
            "AZURE_CLIENT_ID": e["automation_client_id"],
            "AZURE_SECRET": e["automation_client_secret"],
            "AZURE_AUTHORITY_HOST": e["authority_host"],
            "AZURE_GRAPH_URL": e["graph_url"],
            "KONNECT_TOKEN": e["konnect_token"],
            "KONNECT_SERVER_URL": e["konnect_url"],
            "REQUESTS_CA_BUNDLE": e["ca_path"],
        }

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


class PlaybookResult:
    """What one ansible-playbook run printed and recorded (tests/callback_plugins/record.py)."""

    def __init__(self, proc: subprocess.CompletedProcess, record: dict | None):
        self.rc = proc.returncode
        self.stdout = proc.stdout
        self.stderr = proc.stderr
        self.record = record or {"tasks": [], "stats": {}}

    @property
    def output(self) -> str:
        return self.stdout + self.stderr

    def tasks(self) -> list[dict]:
        """[{name, action, host, status, result}] for every task result, in order."""
        return self.record["tasks"]

    def result(self, name: str) -> dict:
        """The result of the (last) task called NAME."""
        found = [t["result"] for t in self.tasks() if t["name"] == name]
        if not found:
            raise KeyError("no task %r in %s" % (name, [t["name"] for t in self.tasks()]))
        return found[-1]

    def stats(self) -> dict:
        return self.record["stats"]

    def changed(self) -> int:
        return sum(s.get("changed", 0) for s in self.stats().values())

    def failed(self) -> int:
        return sum(s.get("failures", 0) + s.get("unreachable", 0) for s in self.stats().values())


def run_playbook(
    playbook: str | Path,
    env: dict | None = None,
    extra_vars: dict | None = None,
    inventory: str | Path | None = None,
    check: bool = False,
    diff: bool = False,
    verbosity: int = 0,
    args: list[str] | None = None,
    timeout: float = 600,
) -> PlaybookResult:
    """Run the real ``ansible-playbook``; PLAYBOOK is a path or YAML text."""
    collections = ensure_collection_path()
    tmp = Path(tempfile.mkdtemp(prefix="kdp-play-"))
    try:
        if isinstance(playbook, str) and "\n" in playbook:
            path = tmp / "playbook.yml"
            path.write_text(playbook)
        else:
            path = Path(playbook) if not str(playbook).startswith("konnect.") else playbook
        cmd = [str(Path(sys.executable).parent / "ansible-playbook"), str(path)]
        cmd += ["-i", str(inventory) if inventory else "localhost,"]
        if not inventory:
            cmd += ["-c", "local"]
        if extra_vars:
            vars_file = tmp / "extra_vars.json"
            vars_file.write_text(json.dumps(extra_vars))
            cmd += ["-e", "@" + str(vars_file)]
        if check:
            cmd.append("--check")
        if diff:
            cmd.append("--diff")
        if verbosity:
            cmd.append("-" + "v" * verbosity)
        cmd += args or []
        run_env = dict(os.environ)
        run_env.update(
            {
                "ANSIBLE_COLLECTIONS_PATH": str(collections),
                "ANSIBLE_COLLECTIONS_SCAN_SYS_PATH": "false",
                "ANSIBLE_LOCALHOST_WARNING": "false",
                "ANSIBLE_INVENTORY_UNPARSED_WARNING": "false",
                "ANSIBLE_PYTHON_INTERPRETER": sys.executable,
                "ANSIBLE_NOCOLOR": "1",
                "ANSIBLE_RETRY_FILES_ENABLED": "false",
                "ANSIBLE_HOME": str(tmp / "ansible-home"),
            }
        )
        record_file = tmp / "record.json"
        run_env["ANSIBLE_CALLBACK_PLUGINS"] = str(ROOT / "tests" / "callback_plugins")
        run_env["ANSIBLE_CALLBACKS_ENABLED"] = "record"
        run_env["KDP_RECORD_FILE"] = str(record_file)
        run_env.update(env or {})
        proc = subprocess.run(cmd, env=run_env, capture_output=True, text=True, timeout=timeout, check=False)
        record = json.loads(record_file.read_text()) if record_file.exists() else None
        return PlaybookResult(proc, record)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
