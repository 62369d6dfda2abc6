"""Reliability and security, measured: the real playbooks against the emulators.

    python tests/reliability.py [--suite NAME ...] [--seeds N] [--kill-points N] [--workers N]
        [--bounded] [--json FILE] [--keep]

Suites (all by default):

- ``faults``: ``--fault-rate 0.2 --consistency-delay 3`` (429 with Retry-After, 503, lost
  replies after a write, replication lag), one emulator per fault seed. ``setup`` once, then
  count every object from ``/state`` (one app, one service principal, one app role assignment
  per application permission, one delegated grant, the secrets the policy allows, one provider,
  one strategy, the publications asked for), then ``setup`` again: ``changed=0``, no write.
- ``interrupt``: ``setup`` killed (SIGKILL of its process group and of the worker sessions under
  it, as a crash would) right after the k-th request of a calibrated run (after each write, each
  of Konnect's verifications, the read after each, one in the preflight); then a rerun converges
  with no duplicate, one secret (the one the provider holds), Konnect verifies the provider
  (``POST /v2/dcr-providers/{id}/verify``), and a third run changes nothing.
- ``interrupt-rotation``: the same for ``rotate_secret`` after a complete setup (a rotation in
  flight: two secrets of the name are allowed until the rerun).
- ``bad-input``: wrong inventory values and a world that does not fit; each run fails before its
  first write (the request log shows no POST/PUT/PATCH/DELETE but token requests) with a message
  that names the variable and the fix.
- ``secrets``: ``setup``, ``rotate_secret``, ``validate`` and ``cleanup`` at ``-vvv --diff`` with a
  log file and JSON results; every secret the emulators saw is searched in everything the runs
  printed, logged, recorded or left on disk.
- ``tls``: an untrusted server certificate fails with one clear line; ``validate_certs: false``
  works and warns that it is insecure.
- ``rate-limit``: ``--rate-limit 5``: the run completes by waiting as ``Retry-After`` says.
- ``concurrent``: two setups of one environment at once: no duplicate, and the next run converges.

``make reliability`` runs the full sizes and prints the figures; the bounded part runs in
``make test`` through ``tests/integration/test_reliability.py``, which calls the same functions.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.parse
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import ROOT, Emulators, PlaybookResult, ensure_collection_path

SETUP = "konnect.devportal.setup"
VALIDATE = "konnect.devportal.validate"
ROTATE = "konnect.devportal.rotate_secret"
CLEANUP = "konnect.devportal.cleanup"
WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
KEY_ID_LABEL = "azure-dcr-key-id"
GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000"
# What Kong's how-to grants the initial client (the role's __azure_dcr_api_permissions)
APP_PERMISSIONS = ["Application.ReadWrite.OwnedBy"]
DELEGATED = ["User.Read"]
HOST = "rel"
NAMES = {
    "app_name": "Konnect DCR (reliability)",
    "unique_name": "konnect-dcr-rel",
    "secret": "konnect-dcr-rel",
    "provider": "azure-dcr-rel",
    "strategy": "azure-dcr-rel",
}
PUBLICATIONS = [
    {"api": "orders", "api_version": "v1", "portal": "developer-portal", "visibility": "public"},
    {"api": "payments", "api_version": "v1", "portal": "developer-portal", "visibility": "private"},
    {"api": "inventory", "portal": "partner-portal", "visibility": "private", "auto_approve_registrations": False},
]
FAULT_SEEDS = (11, 23, 37, 41, 53, 67, 71, 83, 97, 101, 113, 127, 131, 149, 157, 163, 179, 181, 191, 199)


# -- running ansible-playbook ---------------------------------------------------------------------


def host_vars(**overrides) -> dict:
    """The inventory host's variables: this suite's names and publications."""
    hv = {
        "ansible_connection": "local",
        "ansible_python_interpreter": sys.executable,
        "azure_dcr_app_name": NAMES["app_name"],
        "azure_dcr_app_unique_name": NAMES["unique_name"],
        "azure_dcr_secret_name": NAMES["secret"],
        "azure_dcr_provider_name": NAMES["provider"],
        "azure_dcr_strategy_name": NAMES["strategy"],
        "azure_dcr_labels": {"managed-by": "ansible", "suite": "reliability"},
        "azure_dcr_publications": PUBLICATIONS,
    }
    hv.update(overrides)
    return hv


def write_inventory(directory: Path, **overrides) -> Path:
    """An inventory directory with one host (JSON is YAML)."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "hosts.yml"
    path.write_text(json.dumps({"all": {"hosts": {HOST: host_vars(**overrides)}}}, indent=1))
    return directory


def _group_members(pgid: int) -> list[tuple[int, str, str]]:
    """(pid, state, command) of every process in process group PGID."""
    out = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # pid (comm) state ppid pgrp ...
        rest = stat[stat.rindex(")") + 2 :].split()
        if int(rest[2]) == pgid:
            try:
                cmd = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
            except OSError:
                cmd = ""
            out.append((int(entry.name), rest[0], cmd))
    return out


def live_group_members(pgid: int) -> list[tuple[int, str, str]]:
    return [m for m in _group_members(pgid) if m[1] not in ("Z", "X")]


def _children() -> dict[int, list[int]]:
    """ppid -> [pid] of every process now."""
    out: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            ppid = int(stat[stat.rindex(")") + 2 :].split()[1])
            out.setdefault(ppid, []).append(int(entry.name))
    return out


def _alive(pid: int) -> bool:
    try:
        stat = Path("/proc/%d/stat" % pid).read_text()
    except OSError:
        return False
    return stat[stat.rindex(")") + 2 :].split()[0] not in ("Z", "X")


def kill_tree(root: int) -> set[int]:
    """SIGKILL ROOT and every process under it, as a crash of the control node would.

    ansible-playbook's workers call setsid(), so they and the module processes they start are
    in sessions of their own: killing the playbook's process group alone lets the module in
    flight run on. So: stop the tree (no more forks), find everything in it, kill it all.
    """
    pids = {root}
    for _attempt in range(10):
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGSTOP)
        children = _children()
        found, todo = set(), [root]
        while todo:
            pid = todo.pop()
            found.add(pid)
            todo.extend(children.get(pid, []))
        if found <= pids:
            break
        pids |= found
    with contextlib.suppress(ProcessLookupError):
        os.killpg(root, signal.SIGKILL)
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    return pids


class RequestLog:
    """Reads an emulator's requests.jsonl as it grows."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.offset = 0
        self.entries: list[dict] = []
        self._partial = b""

    def poll(self) -> list[dict]:
        try:
            with open(self.path, "rb") as fh:
                fh.seek(self.offset)
                data = fh.read()
        except FileNotFoundError:
            return self.entries
        self.offset += len(data)
        data = self._partial + data
        lines = data.split(b"\n")
        self._partial = lines.pop()
        for line in lines:
            if line.strip():
                self.entries.append(json.loads(line))
        return self.entries


def is_write(entry: dict) -> bool:
    """A request that changes something: not a sign-in, not Konnect's verification."""
    return (
        entry["method"] in WRITE_METHODS
        and entry["service"] != "entra"
        and not entry["path"].endswith("/verify")
        and not entry["path"].endswith("/developer/authenticate")
    )


def non_token_writes(entries: list[dict]) -> list[str]:
    """Every POST/PUT/PATCH/DELETE except Entra's token requests, as 'service METHOD path'."""
    return [
        "%s %s %s" % (e["service"], e["method"], e["path"])
        for e in entries
        if e["method"] in WRITE_METHODS and not (e["service"] == "entra" and "/oauth2/" in e["path"])
    ]


@dataclass
class Run:
    """One ansible-playbook run: the harness's result plus how it ended."""

    result: PlaybookResult
    seconds: float
    killed: bool = False
    killed_after: int | None = None  # requests in the emulator log when the kill was sent
    leftovers: list = field(default_factory=list)  # processes of its group still alive afterwards
    record_text: str = ""  # what the record callback wrote (searched for secrets)

    @property
    def rc(self):
        return self.result.rc

    @property
    def output(self):
        return self.result.output

    def failed_messages(self) -> list[str]:
        """The msg of every failed task (what the user reads first)."""
        out = []
        for t in self.result.tasks():
            if t["status"] == "failed":
                msg = t["result"].get("msg")
                out.append(msg if isinstance(msg, str) else json.dumps(msg))
        return out


def play(
    playbook: str,
    env: dict,
    inventory: Path,
    *,
    workdir: Path | None = None,
    args: list[str] | None = None,
    verbosity: int = 0,
    diff: bool = False,
    log_path: Path | None = None,
    kill_when=None,
    emulator_log: Path | None = None,
    timeout: float = 900,
) -> Run:
    """Run the real ansible-playbook in its own process group.

    ``env`` overrides the environment; a value of None removes the variable.
    ``kill_when(entries)``: polled with the emulator's request log (``emulator_log``); when it
    returns true, the playbook's process group and every process under it get SIGKILL (kill_tree).
    """
    collections = ensure_collection_path()
    own_tmp = Path(tempfile.mkdtemp(prefix="kdp-rel-"))
    workdir = Path(workdir) if workdir else own_tmp
    record_file = own_tmp / "record.json"
    stdout_path, stderr_path = own_tmp / "stdout.txt", own_tmp / "stderr.txt"
    cmd = [str(Path(sys.executable).parent / "ansible-playbook"), playbook, "-i", str(inventory)]
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
            "ANSIBLE_HOME": str(own_tmp / "ansible-home"),
            "ANSIBLE_CALLBACK_PLUGINS": str(ROOT / "tests" / "callback_plugins"),
            "ANSIBLE_CALLBACKS_ENABLED": "record",
            "KDP_RECORD_FILE": str(record_file),
        }
    )
    if log_path:
        run_env["ANSIBLE_LOG_PATH"] = str(log_path)
    for key, value in env.items():
        if value is None:
            run_env.pop(key, None)
        else:
            run_env[key] = value
    started = time.monotonic()
    killed, killed_after, tree = False, None, set()
    watcher = RequestLog(emulator_log) if kill_when and emulator_log else None
    with open(stdout_path, "wb") as out, open(stderr_path, "wb") as err:
        proc = subprocess.Popen(cmd, cwd=workdir, env=run_env, stdout=out, stderr=err, start_new_session=True)
        pgid = proc.pid
        try:
            while proc.poll() is None:
                if time.monotonic() - started > timeout:
                    os.killpg(pgid, signal.SIGKILL)
                    proc.wait()
                    raise TimeoutError("%s ran longer than %ss" % (playbook, timeout))
                if watcher is not None and not killed:
                    entries = watcher.poll()
                    if kill_when(entries):
                        tree = kill_tree(pgid)
                        killed, killed_after = True, len(entries)
                        proc.wait()
                        break
                time.sleep(0.005 if watcher is not None else 0.05)
        finally:
            if proc.poll() is None:
                os.killpg(pgid, signal.SIGKILL)
                proc.wait()
    seconds = time.monotonic() - started

    # after a kill, nothing of the tree may run on (give the kernel a moment)
    def remaining():
        alive = live_group_members(pgid)
        if killed:
            pids = {m[0] for m in alive}
            alive += [(pid, "?", "pid %d of the killed tree" % pid) for pid in tree if _alive(pid) and pid not in pids]
        return alive

    deadline = time.monotonic() + 5
    leftovers = remaining()
    while leftovers and time.monotonic() < deadline:
        time.sleep(0.05)
        leftovers = remaining()
    stdout = stdout_path.read_text(errors="replace")
    stderr = stderr_path.read_text(errors="replace")
    record = json.loads(record_file.read_text()) if record_file.exists() else None  # none when killed
    result = PlaybookResult(SimpleNamespace(returncode=proc.returncode, stdout=stdout, stderr=stderr), record)
    record_text = record_file.read_text() if record_file.exists() else ""
    run = Run(result, seconds, killed, killed_after, leftovers, record_text)
    shutil.rmtree(own_tmp, ignore_errors=True)
    return run


# -- what the emulators hold ---------------------------------------------------------------------


def census(emu: Emulators, publications=None, names=None) -> dict:
    """Count, from /state, every object the role manages (a count above 1 is a duplicate)."""
    publications = PUBLICATIONS if publications is None else publications
    names = NAMES if names is None else names
    state = emu.state()
    tenant = state["graph"]["tenants"][emu.endpoints["tenant_id"]]
    konnect = state["konnect"]
    graph_sp = next(sp for sp in tenant["servicePrincipals"] if sp["appId"] == GRAPH_APP_ID)
    role_ids = {r["value"]: r["id"] for r in graph_sp.get("appRoles", [])}
    apps = [a for a in tenant["applications"] if a.get("uniqueName") == names["unique_name"]]
    out = {
        "app": len(apps),
        "app_by_display_name": len([a for a in tenant["applications"] if a["displayName"] == names["app_name"]]),
    }
    app = apps[0] if apps else None
    sps = [sp for sp in tenant["servicePrincipals"] if app and sp["appId"] == app["appId"]]
    out["service_principal"] = len(sps)
    sp_ids = {sp["id"] for sp in sps}
    assignments = Counter(
        (a["resourceId"], a["appRoleId"]) for a in tenant["appRoleAssignments"] if a["principalId"] in sp_ids
    )
    for perm in APP_PERMISSIONS:
        out["assignment " + perm] = assignments.pop((graph_sp["id"], role_ids.get(perm)), 0)
    out["other assignments"] = sum(assignments.values())
    grants = [g for g in tenant["oauth2PermissionGrants"] if g["clientId"] in sp_ids]
    out["delegated_grant"] = len(grants)
    out["grant_scopes_ok"] = all(set(DELEGATED) <= set(g["scope"].split()) for g in grants) and bool(grants)
    secrets = [c for c in (app or {}).get("passwordCredentials", []) if c["displayName"] == names["secret"]]
    out["secret"] = len(secrets)
    providers = [p for p in konnect["dcr_providers"] if p["name"] == names["provider"]]
    out["provider"] = len(providers)
    strategies = [s for s in konnect["application_auth_strategies"] if s["name"] == names["strategy"]]
    out["strategy"] = len(strategies)
    # the provider holds the secret its label names, for the app it names
    provider = providers[0] if providers else None
    held = (provider or {}).get("labels", {}).get(KEY_ID_LABEL)
    out["provider_holds_a_current_secret"] = bool(
        provider
        and app
        and provider["dcr_config"].get("initial_client_id") == app["appId"]
        and held in {s["keyId"] for s in secrets}
    )
    texts = secret_texts(emu.requests())
    out["provider_secret_matches_label"] = bool(
        provider
        and held in texts
        and hashlib.sha256(texts[held].encode()).hexdigest()[:16] == provider.get("secret_sha256")
    )
    apis = {(a["name"], a["version"]): a["id"] for a in konnect["apis"]}
    portals = {p["name"]: p["id"] for p in konnect["portals"]}
    strategy_id = strategies[0]["id"] if strategies else None
    wanted = {(apis.get((p["api"], p.get("api_version"))), portals.get(p["portal"])) for p in publications}
    pubs = Counter((p["api_id"], p["portal_id"]) for p in konnect["publications"])
    out["publications"] = sum(1 for key in wanted if pubs.get(key))
    out["publication duplicates"] = sum(n - 1 for n in pubs.values() if n > 1)
    out["publications_with_strategy"] = sum(
        1
        for p in konnect["publications"]
        if (p["api_id"], p["portal_id"]) in wanted and strategy_id in (p.get("auth_strategy_ids") or [])
    )
    return out


def secret_texts(entries: list[dict]) -> dict:
    """keyId -> secretText of every addPassword the emulator answered."""
    out = {}
    for e in entries:
        body = e.get("response_body")
        if e["path"].endswith("addPassword") and isinstance(body, dict) and body.get("secretText"):
            out[body["keyId"]] = body["secretText"]
    return out


def duplicates(c: dict, max_secrets: int = 2) -> int:
    """Objects beyond one of each (secrets: beyond the policy)."""
    singles = ["app", "app_by_display_name", "service_principal", "delegated_grant", "provider", "strategy"]
    singles += ["assignment " + p for p in APP_PERMISSIONS]
    n = sum(max(0, c[k] - 1) for k in singles)
    return n + c["other assignments"] + c["publication duplicates"] + max(0, c["secret"] - max_secrets)


def convergence_problems(c: dict, publications=None) -> list[str]:
    """What differs from exactly one of everything after a successful run."""
    publications = PUBLICATIONS if publications is None else publications
    expected = {k: 1 for k in ("app", "app_by_display_name", "service_principal", "delegated_grant")}
    expected.update({"secret": 1, "provider": 1, "strategy": 1, "other assignments": 0})
    expected.update({"assignment " + p: 1 for p in APP_PERMISSIONS})
    expected.update({"publications": len(publications), "publication duplicates": 0})
    expected.update({"publications_with_strategy": len(publications)})
    expected.update({"grant_scopes_ok": True, "provider_holds_a_current_secret": True})
    expected["provider_secret_matches_label"] = True
    return ["%s: %r, expected %r" % (k, c.get(k), v) for k, v in expected.items() if c.get(k) != v]


def verify_provider(emu: Emulators, name: str = NAMES["provider"]) -> dict:
    """Konnect's own check, through its API: POST /v2/dcr-providers/{id}/verify."""
    e = emu.endpoints
    headers = {"Authorization": "Bearer " + e["konnect_token"]}
    found = requests.get(
        e["konnect_url"] + "/v2/dcr-providers",
        params={"filter[name]": name},
        headers=headers,
        verify=e["ca_path"],
        timeout=30,
    ).json()["data"]
    found = [p for p in found if p["name"] == name]
    if len(found) != 1:
        return {"status": "failed", "errors": ["%d providers named %s" % (len(found), name)]}
    answer = requests.post(
        e["konnect_url"] + "/v2/dcr-providers/%s/verify" % found[0]["id"],
        headers=headers,
        verify=e["ca_path"],
        timeout=30,
    )
    return answer.json()


# -- suite: faults ----------------------------------------------------------------------------------


def suite_faults(
    workdir: Path, seeds=FAULT_SEEDS, fault_rate=0.2, consistency_delay=3.0, workers: int = 2, log=print
) -> dict:
    """One emulator per seed: setup once, census, setup again (changed=0, no write).

    WORKERS seeds run at once (the runs mostly wait: Retry-After, replication).
    """
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        rows = list(pool.map(lambda seed: _fault_seed(workdir, seed, fault_rate, consistency_delay, log), seeds))
    return {
        "runs": len(rows),
        "first_run_successes": sum(1 for r in rows if r["first_rc"] == 0),
        "rerun_changed_0": sum(1 for r in rows if r["second_rc"] == 0 and r["second_changed"] == 0),
        "recovered_by_rerun": sum(1 for r in rows if r["first_rc"] != 0 and r.get("recovered")),
        "duplicates": sum(r["duplicates"] for r in rows),
        "passed": sum(1 for r in rows if r["ok"]),
        "faults_injected": dict(sum((Counter(r["faults"]) for r in rows), Counter())),
        "lost_replies": dict(Counter(k for r in rows for k in r["lost_replies"]).most_common()),
        "first_run_seconds": sorted(r["first_seconds"] for r in rows),
        "rows": rows,
    }


def _fault_seed(workdir, seed, fault_rate, consistency_delay, log) -> dict:
    """One seed: its own emulator, setup, census, setup again."""
    base = Path(workdir) / ("fault-seed-%d" % seed)
    inventory = write_inventory(base / "inventory")
    emu = Emulators(
        base / "emulators",
        "--fault-rate",
        str(fault_rate),
        "--fault-seed",
        str(seed),
        "--consistency-delay",
        str(consistency_delay),
    )
    try:
        first = play(SETUP, emu.env(), inventory)
        c1 = census(emu)
        row = {
            "seed": seed,
            "first_rc": first.rc,
            "first_seconds": round(first.seconds, 1),
            "first_error": (first.failed_messages() or [""])[0][:400],
            "duplicates": duplicates(c1, max_secrets=1 if first.rc == 0 else 2),
            "problems": convergence_problems(c1) if first.rc == 0 else [],
            "faults": dict(Counter(e["fault"] for e in emu.requests() if e["fault"])),
            # which writes lost their reply: the cases that must never duplicate
            "lost_replies": [_kind(e) for e in emu.requests() if e["fault"] == "lost"],
            "leftovers": len(first.leftovers),
        }
        mark = emu.mark()
        second = play(SETUP, emu.env(), inventory)
        row["second_rc"] = second.rc
        row["second_changed"] = second.result.changed() if second.rc == 0 else None
        row["second_writes"] = [w for w in map(_describe, emu.requests(mark)) if w] if second.rc == 0 else None
        row["second_error"] = (second.failed_messages() or [""])[0][:400]
        c2 = census(emu)
        row["duplicates"] = max(row["duplicates"], duplicates(c2))
        if first.rc != 0:
            # not a pass, but say whether the rerun repaired it
            row["recovered"] = second.rc == 0 and not convergence_problems(c2)
            if second.rc == 0:
                third = play(SETUP, emu.env(), inventory)
                row["third_changed"] = third.result.changed() if third.rc == 0 else None
        elif second.rc == 0:
            row["problems"] += convergence_problems(c2)
        row["violations"] = len(emu.violations())
        row["leftovers"] += len(second.leftovers)
    finally:
        emu.stop()
    row["ok"] = (
        row["first_rc"] == 0
        and row["second_rc"] == 0
        and row["second_changed"] == 0
        and not row["second_writes"]
        and row["duplicates"] == 0
        and not row["problems"]
        and not row["violations"]
        and not row["leftovers"]
    )
    log(
        "  seed %-4d first rc=%d %5.1fs  dup=%d  rerun rc=%s changed=%s writes=%d  faults=%s%s"
        % (
            seed,
            row["first_rc"],
            row["first_seconds"],
            row["duplicates"],
            row["second_rc"],
            row["second_changed"],
            len(row["second_writes"] or []),
            row["faults"],
            "" if row["first_rc"] == 0 else "\n      first run: " + row["first_error"][:300],
        )
    )
    return row


def _kind(entry: dict) -> str:
    """'service METHOD path' with ids left out, to count like requests together."""
    return "%s %s %s" % (entry["service"], entry["method"], re.sub(r"[0-9a-f]{8}-[0-9a-f-]{27}", "{id}", entry["path"]))


def _describe(entry: dict) -> str:
    return "%s %s %s" % (entry["service"], entry["method"], entry["path"]) if is_write(entry) else ""


# -- suite: interruptions ---------------------------------------------------------------------------


def calibrate(workdir: Path, latency_ms: int, playbook: str = SETUP) -> list[dict]:
    """The requests of one uninterrupted run of PLAYBOOK (after a setup, for rotate_secret), in order."""
    base = Path(workdir) / ("calibration-" + playbook.rsplit(".", 1)[-1])
    inventory = write_inventory(base / "inventory")
    emu = Emulators(base / "emulators", "--latency-ms", str(latency_ms))
    try:
        mark = 0
        if playbook != SETUP:
            _must(play(SETUP, emu.env(), inventory), "the setup before calibrating " + playbook)
            mark = emu.mark()
        _must(play(playbook, emu.env(), inventory), "the calibration run of " + playbook)
        return emu.requests(mark)
    finally:
        emu.stop()


def _must(run: Run, what: str) -> Run:
    if run.rc != 0:
        raise AssertionError("%s failed: %s" % (what, "\n".join(run.failed_messages()) or run.output[-2000:]))
    return run


def kill_points(entries: list[dict], wanted=None) -> list[tuple[int, str]]:
    """Points to kill at: (requests seen, label) after each write, each verification and a few reads.

    WANTED: None for all of them, a number of them spread over the run, or label fragments.
    """
    points = []
    for i, e in enumerate(entries, start=1):
        label = "%s %s %s" % (e["service"], e["method"], _short(e["path"]))
        if is_write(e) or e["path"].endswith("/verify"):
            points.append((i, "after " + label))
    first_write = next((i for i, e in enumerate(entries, start=1) if is_write(e)), len(entries))
    # a read in the preflight, and the read after each write: mid-task states
    extra = [(max(1, first_write // 2), "in the preflight")]
    for i, _label in list(points):
        if i < len(entries) and entries[i]["method"] == "GET":
            extra.append((i + 1, "after the read following request %d" % i))
    points = sorted(dict(points + extra).items())
    if isinstance(wanted, int) and 0 < wanted < len(points):
        step = len(points) / wanted
        points = [points[int(k * step)] for k in range(wanted)]
    elif isinstance(wanted, (list, tuple)):
        points = [next(p for p in points if fragment in p[1]) for fragment in wanted]
    return points


def _short(path: str) -> str:
    parts = path.split("/")
    return "/".join(p if len(p) < 30 else p[:8] + "…" for p in parts)


def _matcher(service: str, method: str, path_re: str):
    """A kill condition: the first logged request of SERVICE METHOD PATH."""
    pattern = re.compile(path_re)
    return lambda seen: any(
        e["service"] == service and e["method"] == method and pattern.fullmatch(e["path"]) for e in seen
    )


def suite_interrupt(
    workdir: Path,
    points=None,
    latency_ms: int = 40,
    full: bool = True,
    playbook: str = SETUP,
    workers: int = 2,
    log=print,
) -> dict:
    """Kill PLAYBOOK at each point, rerun it, check convergence and Konnect's verification.

    PLAYBOOK: setup, or rotate_secret (killed after a complete setup: a rotation in flight).

    POINTS: None (every point of a calibrated run), a number of them, or a list of
    ``(label, service, method, path regex)``: kill once such a request is logged (no calibration).
    ``full``: also run setup a third time and require changed=0 and no write.
    WORKERS: points handled at once, each worker with its own emulators.
    """
    entries, writes_total = [], None
    if points is None or isinstance(points, int):
        entries = calibrate(workdir, latency_ms, playbook)
        writes_total = sum(1 for e in entries if is_write(e))
        chosen = [
            ("#%d %s" % (at, label), lambda seen, at=at: len(seen) >= at) for at, label in kill_points(entries, points)
        ]
        log(
            "  calibration of %s: %d requests, %d writes; %d kill points (latency %d ms)"
            % (playbook, len(entries), writes_total, len(chosen), latency_ms)
        )
    else:
        chosen = [(label, _matcher(service, method, path)) for label, service, method, path in points]
    base = Path(workdir) / ("interrupt-" + playbook.rsplit(".", 1)[-1])
    workers = max(1, workers)
    shares = [(base / ("worker-%d" % i), chosen[i::workers]) for i in range(workers) if chosen[i::workers]]
    with ThreadPoolExecutor(max_workers=len(shares)) as pool:
        results = list(
            pool.map(lambda share: _interrupt_points(share[0], share[1], playbook, latency_ms, full, log), shares)
        )
    order = {label: i for i, (label, _condition) in enumerate(chosen)}
    rows = sorted((row for part, _v in results for row in part), key=lambda r: order[r["point"]])
    violations = sum(v for _part, v in results)
    return {
        "calibration_requests": len(entries),
        "calibration_writes": writes_total,
        "points": len(rows),
        "distinct_points": len({r["requests_at_kill"] for r in rows}),
        "converged": sum(1 for r in rows if r["rerun_rc"] == 0 and not r["problems"]),
        "verified": sum(1 for r in rows if r["verify"] == "success"),
        "duplicates": sum(r["duplicates"] for r in rows),
        "orphaned_secrets": sum(max(0, r["secrets"] - 1) for r in rows),
        "leftover_processes": sum(len(r["leftovers"]) for r in rows),
        "passed": sum(1 for r in rows if r["ok"]),
        "violations": violations,
        "rows": rows,
    }


def _interrupt_points(base: Path, chosen, playbook, latency_ms, full, log):
    """One worker: its own emulator, the kill points CHOSEN in turn; (rows, contract violations)."""
    rows = []
    inventory = write_inventory(base / "inventory")
    emu = Emulators(base / "emulators", "--latency-ms", str(latency_ms))
    try:
        for label, condition in chosen:
            emu.reset()
            start = 0
            if playbook != SETUP:
                _must(play(SETUP, emu.env(), inventory), "the setup before " + playbook)
                start = emu.mark()
            log_path = emu.state_dir / "requests.jsonl"
            killed = play(
                playbook,
                emu.env(),
                inventory,
                kill_when=lambda seen, condition=condition, start=start: condition(seen[start:]),
                emulator_log=log_path,
            )
            time.sleep(0.3)  # a request already sent still lands: count it
            done = emu.requests(start)
            c_killed = census(emu)
            row = {
                "playbook": playbook,
                "point": label,
                "killed": killed.killed,
                "requests_at_kill": len(done),
                "writes_at_kill": sum(1 for e in done if is_write(e)),
                "leftovers": [m[2][:80] for m in killed.leftovers],
                "duplicates_after_kill": duplicates(c_killed),
                "secrets_after_kill": c_killed["secret"],
            }
            rerun = play(playbook, emu.env(), inventory)
            c = census(emu)
            row["rerun_rc"] = rerun.rc
            row["rerun_error"] = (rerun.failed_messages() or [""])[0][:300]
            row["problems"] = convergence_problems(c)
            row["duplicates"] = max(row["duplicates_after_kill"], duplicates(c))
            row["secrets"] = c["secret"]
            row["verify"] = verify_provider(emu).get("status")
            row["leftovers"] += [m[2][:80] for m in rerun.leftovers]
            row["third_changed"], row["third_writes"] = 0, []
            if full:
                mark = emu.mark()
                again = play(SETUP, emu.env(), inventory)
                row["third_changed"] = again.result.changed() if again.rc == 0 else None
                row["third_writes"] = [w for w in map(_describe, emu.requests(mark)) if w]
                row["leftovers"] += [m[2][:80] for m in again.leftovers]
            row["ok"] = (
                row["killed"]
                and row["rerun_rc"] == 0
                and not row["problems"]
                and row["duplicates"] == 0
                and row["verify"] == "success"
                and row["third_changed"] == 0
                and not row["third_writes"]
                and not row["leftovers"]
            )
            log(
                "  killed after %3d requests (%2d writes) %-58s rerun rc=%d secrets %d->%d dup=%d verify=%s%s%s"
                % (
                    row["requests_at_kill"],
                    row["writes_at_kill"],
                    label[:58],
                    row["rerun_rc"],
                    row["secrets_after_kill"],
                    row["secrets"],
                    row["duplicates"],
                    row["verify"],
                    " next changed=%s" % row["third_changed"] if full else "",
                    "" if row["ok"] else "  PROBLEM %s %s" % (row["problems"], row["rerun_error"][:200]),
                )
            )
            rows.append(row)
        violations = len(emu.violations())
    finally:
        emu.stop()
    return rows, violations


# -- suite: bad input -------------------------------------------------------------------------------

TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
# an automation identity without DelegatedPermissionGrant.ReadWrite.All (it can't grant User.Read)
WEAK_AUTOMATION = {
    "client_id": "0d9c3c1e-6a45-4f0e-9a1b-3c5d7e9f1a2b",
    "client_secret": "weak~Secret.0987654321zyxwvutsrqPONMLK",
    "display_name": "ansible-automation-weak",
    "roles": ["Application.ReadWrite.All", "AppRoleAssignment.ReadWrite.All", "Application.Read.All"],
}


def _twins(name):
    """Two apps with the same display name and no unique name (as the portal makes them)."""
    return {
        "tenants": [
            {
                "id": TENANT,
                "extra_apps": [
                    {"client_id": "6e1f2a3b-4c5d-4e6f-8a9b-0c1d2e3f4a5b", "display_name": name, "roles": []},
                    {"client_id": "7f2a3b4c-5d6e-4f7a-9b0c-1d2e3f4a5b6c", "display_name": name, "roles": []},
                ],
            }
        ]
    }


def _module_play(task: dict) -> str:
    return json.dumps([{"hosts": HOST, "gather_facts": False, "tasks": [dict(task, name="The module under test")]}])


def _publish_outside_the_role(emu: Emulators, inventory: Path, workdir: Path):
    """Set up, then publish one more API with the role's strategy, as a person might in the UI."""
    run = play(SETUP, emu.env(), inventory, workdir=workdir)
    if run.rc != 0:
        raise AssertionError("setup before the cleanup case failed: " + run.output[-2000:])
    extra = _module_play(
        {
            "konnect.devportal.api_publication": {
                "api": "orders",
                "api_version": "v2",
                "portal": "partner-portal",
                "auth_strategy": NAMES["strategy"],
            }
        }
    )
    path = workdir / "publish-extra.yml"
    path.write_text(extra)
    run = play(str(path), emu.env(), inventory, workdir=workdir)
    if run.rc != 0:
        raise AssertionError("publishing outside the role failed: " + run.output[-2000:])


def _konnect(emu: Emulators, method: str, path: str, body: dict) -> dict:
    """A request to Konnect as a person in the UI (or another tool) would make it."""
    with requests.Session() as session:
        session.trust_env = False  # REQUESTS_CA_BUNDLE would override verify
        answer = session.request(
            method,
            emu.endpoints["konnect_url"] + path,
            json=body,
            headers={"Authorization": "Bearer " + emu.endpoints["konnect_token"]},
            verify=emu.ca_path,
            timeout=15,
        )
    answer.raise_for_status()
    return answer.json()


def _make_strategy_a_portal_default(emu: Emulators, inventory: Path, workdir: Path):
    """Set up, then make the role's strategy developer-portal's default, as a person might in the UI."""
    run = play(SETUP, emu.env(), inventory, workdir=workdir)
    if run.rc != 0:
        raise AssertionError("setup before the cleanup case failed: " + run.output[-2000:])
    konnect = emu.state()["konnect"]
    [strategy] = [s for s in konnect["application_auth_strategies"] if s["name"] == NAMES["strategy"]]
    [portal] = [p for p in konnect["portals"] if p["name"] == "developer-portal"]
    _konnect(emu, "PATCH", "/v3/portals/" + portal["id"], {"default_application_auth_strategy_id": strategy["id"]})


def _two_providers_of_the_role_s_name(emu: Emulators, inventory: Path, workdir: Path):
    """Konnect accepts two DCR providers of one name: made by hand before the first run."""
    for n in (1, 2):
        body = {
            "name": NAMES["provider"],
            "provider_type": "azureAd",
            "issuer": "https://sts.windows.net/" + TENANT,
            "dcr_config": {
                "initial_client_id": WEAK_AUTOMATION["client_id"],
                "initial_client_secret": "hand-made-%d" % n,
            },
        }
        _konnect(emu, "POST", "/v2/dcr-providers", body)


def _two_strategies_of_the_role_s_name(emu: Emulators, inventory: Path, workdir: Path):
    """Konnect accepts two auth strategies of one name: made by hand before the first run."""
    for _n in (1, 2):
        body = {
            "name": NAMES["strategy"],
            "display_name": "By hand",
            "strategy_type": "key_auth",
            "configs": {"key-auth": {"key_names": ["apikey"]}},
        }
        _konnect(emu, "POST", "/v2/application-auth-strategies", body)


# Each case: extra vars (or a module task), the environment, a seed, what the message must say
# (every fragment, case-insensitive; a tuple: one of them): the variable and the fix.
BAD_INPUT = [
    {
        "id": "tenant-domain-name",
        "vars": {"azure_dcr_tenant_id": "contoso.onmicrosoft.com"},
        "expect": ["azure_dcr_tenant_id", "UUID"],
    },
    {
        "id": "tenant-v2-issuer",
        "vars": {"azure_dcr_tenant_id": "https://login.microsoftonline.com/%s/v2.0" % TENANT},
        "expect": ["azure_dcr_tenant_id", "UUID"],
    },
    {
        "id": "tenant-v1-issuer-trailing-slash",
        "vars": {"azure_dcr_tenant_id": "https://sts.windows.net/%s/" % TENANT},
        "expect": ["azure_dcr_tenant_id", "UUID"],
    },
    {
        "id": "tenant-trailing-slash",
        "vars": {"azure_dcr_tenant_id": TENANT + "/"},
        "expect": ["azure_dcr_tenant_id", "UUID"],
    },
    {
        "id": "tenant-unknown",
        "vars": {"azure_dcr_tenant_id": "00000000-1111-2222-3333-444444444444"},
        "expect": [("azure_dcr_tenant_id", "AZURE_TENANT"), "tenant"],
    },
    {
        "id": "region-unknown",
        "vars": {"azure_dcr_konnect_region": "mars"},
        "expect": ["azure_dcr_konnect_region", "eu"],
    },
    {"id": "region-unknown-from-env", "env": {"KONNECT_REGION": "mars"}, "expect": ["KONNECT_REGION", "eu"]},
    {
        "id": "auth-methods-empty",
        "vars": {"azure_dcr_auth_methods": []},
        "expect": ["azure_dcr_auth_methods", "client_credentials"],
    },
    {
        "id": "auth-method-unknown",
        "vars": {"azure_dcr_auth_methods": ["client_credentials", "magic_link"]},
        "expect": ["azure_dcr_auth_methods", "magic_link", "bearer"],
    },
    {
        "id": "portal-unknown",
        "vars": {"azure_dcr_publications": [dict(PUBLICATIONS[0], portal="nope-portal")]},
        "expect": ["azure_dcr_publications[0].portal", "nope-portal", "developer-portal"],
    },
    {
        "id": "api-unknown",
        "vars": {"azure_dcr_publications": [dict(PUBLICATIONS[0], api="nope-api")]},
        "expect": ["azure_dcr_publications[0]", "nope-api"],
    },
    {
        "id": "api-version-unknown",
        "vars": {"azure_dcr_publications": [dict(PUBLICATIONS[0], api_version="v9")]},
        "expect": ["azure_dcr_publications[0]", "v9", "v1, v2"],
    },
    {
        "id": "api-version-ambiguous",
        "vars": {"azure_dcr_publications": [{"api": "orders", "portal": "developer-portal"}]},
        "expect": ["azure_dcr_publications[0].api_version", "v1, v2"],
    },
    {
        "id": "publication-twice",
        "vars": {"azure_dcr_publications": [PUBLICATIONS[0], PUBLICATIONS[0]]},
        "expect": ["azure_dcr_publications[1]", "once"],
    },
    {
        "id": "visibility-unknown",
        "vars": {"azure_dcr_publications": [dict(PUBLICATIONS[0], visibility="secret")]},
        "expect": ["visibility", "public", "private"],
    },
    {
        "id": "secret-lifetime-over-two-years",
        "vars": {"azure_dcr_secret_lifetime_days": 800},
        "expect": ["azure_dcr_secret_lifetime_days", "730"],
    },
    {
        "id": "secret-lifetime-zero",
        "vars": {"azure_dcr_secret_lifetime_days": 0},
        "expect": ["azure_dcr_secret_lifetime_days", "730"],
    },
    {
        "id": "rotate-before-not-below-lifetime",
        "vars": {"azure_dcr_secret_lifetime_days": 90, "azure_dcr_secret_rotate_before_days": 90},
        "expect": ["azure_dcr_secret_rotate_before_days", "less than"],
    },
    {
        "id": "app-unique-name-empty",
        "vars": {"azure_dcr_app_unique_name": ""},
        "expect": ["azure_dcr_app_unique_name", "empty"],
    },
    {
        "id": "reserved-label",
        "vars": {"azure_dcr_labels": {KEY_ID_LABEL: "mine"}},
        "expect": ["azure_dcr_labels", KEY_ID_LABEL],
    },
    {
        "id": "labels-against-konnect-rules",
        "vars": {"azure_dcr_labels": {"konnect-env": "dev", "owner": "Platform Team"}},
        "expect": ["azure_dcr_labels", "konnect-env", "Platform Team"],
    },
    {
        "id": "credential-claim-empty",
        "vars": {"azure_dcr_credential_claim": []},
        "expect": ["azure_dcr_credential_claim", "appid"],
    },
    {
        "id": "developer-without-password",
        "vars": {"azure_dcr_validate_developer": {"email": "dev@example.com"}},
        "expect": ["azure_dcr_validate_developer", "password"],
    },
    {
        "id": "validate-portal-unknown",
        "vars": {
            "azure_dcr_validate_developer": {"email": "dev@example.com", "password": "x"},
            "azure_dcr_validate_portal": "nope-portal",
        },
        "expect": ["azure_dcr_validate_portal", "nope-portal"],
    },
    {
        "id": "konnect-token-401",
        "vars": {"azure_dcr_konnect_token": "kpat_" + "x" * 50},
        "expect": ["401", "KONNECT_TOKEN"],
    },
    {"id": "konnect-token-missing", "env": {"KONNECT_TOKEN": None, "KONNECT_SPAT": None}, "expect": ["KONNECT_TOKEN"]},
    {
        "id": "automation-secret-wrong",
        "vars": {"azure_dcr_automation_client_secret": "wrong~Secret.000000000000000000000"},
        "expect": ["AADSTS7000215", "AZURE_SECRET"],
    },
    {
        "id": "automation-lacks-graph-permission",
        "seed": {"tenants": [{"id": TENANT, "extra_apps": [WEAK_AUTOMATION]}]},
        "vars": {
            "azure_dcr_automation_client_id": WEAK_AUTOMATION["client_id"],
            "azure_dcr_automation_client_secret": WEAK_AUTOMATION["client_secret"],
        },
        "expect": ["DelegatedPermissionGrant.ReadWrite.All", "azure_dcr_automation_client_id", "admin consent"],
    },
    {
        "id": "apps-with-the-same-display-name",
        "seed": _twins(NAMES["app_name"]),
        "expect": [
            "azure_dcr_app_name",
            "6e1f2a3b-4c5d-4e6f-8a9b-0c1d2e3f4a5b",
            "7f2a3b4c-5d6e-4f7a-9b0c-1d2e3f4a5b6c",
        ],
    },
    {
        "id": "strategy-in-use-on-cleanup",
        "playbook": CLEANUP,
        "prepare": _publish_outside_the_role,
        "expect": [NAMES["strategy"], "partner-portal", "orders"],
    },
    {
        "id": "strategy-is-a-portal-default-on-cleanup",
        "playbook": CLEANUP,
        "prepare": _make_strategy_a_portal_default,
        "expect": [
            "azure_dcr_strategy_name",
            NAMES["strategy"],
            "default application auth strategy",
            "developer-portal",
        ],
    },
    {
        "id": "providers-with-the-role-s-name",
        "prepare": _two_providers_of_the_role_s_name,
        "expect": ["azure_dcr_provider_name", "2 DCR providers", NAMES["provider"]],
    },
    {
        "id": "strategies-with-the-role-s-name",
        "prepare": _two_strategies_of_the_role_s_name,
        "expect": ["azure_dcr_strategy_name", "2 auth strategies", NAMES["strategy"]],
    },
    # module level
    {
        "id": "module-display-name-ambiguous",
        "seed": _twins("Twin DCR"),
        "module": {
            "konnect.devportal.azure_app_registration": {
                "display_name": "Twin DCR",
                "grant_admin_consent": True,
                "api_permissions": [{"api": "Microsoft Graph", "application": ["Application.ReadWrite.OwnedBy"]}],
            }
        },
        "expect": ["2 app registrations are named 'Twin DCR'", "unique_name"],
    },
    {
        "id": "module-new-app-display-name-taken",
        "seed": _twins("Twin DCR"),
        "module": {
            "konnect.devportal.azure_app_registration": {
                "unique_name": "twin-dcr",
                "display_name": "Twin DCR",
                "api_permissions": [{"api": "Microsoft Graph", "application": ["Application.ReadWrite.OwnedBy"]}],
            }
        },
        "expect": ["display_name 'Twin DCR'", "6e1f2a3b-4c5d-4e6f-8a9b-0c1d2e3f4a5b", "allow_duplicate_display_name"],
    },
    {
        "id": "module-provider-v2-issuer",
        "module": {
            "konnect.devportal.dcr_provider": {
                "name": "bad-issuer",
                "provider_type": "azureAd",
                "issuer": "https://login.microsoftonline.com/%s/v2.0" % TENANT,
                "initial_client_id": "6e1f2a3b-4c5d-4e6f-8a9b-0c1d2e3f4a5b",
                "initial_client_secret": "s3cret-value-x",
            }
        },
        "expect": ["issuer", "https://sts.windows.net/%s" % TENANT],
    },
    {
        "id": "module-provider-issuer-trailing-slash",
        "module": {
            "konnect.devportal.dcr_provider": {
                "name": "bad-issuer",
                "provider_type": "azureAd",
                "issuer": "https://sts.windows.net/%s/" % TENANT,
                "initial_client_id": "6e1f2a3b-4c5d-4e6f-8a9b-0c1d2e3f4a5b",
                "initial_client_secret": "s3cret-value-x",
            }
        },
        "expect": ["issuer", "must not end with a slash", "use https://sts.windows.net/%s" % TENANT],
    },
    {
        "id": "module-provider-label-reserved",
        "module": {
            "konnect.devportal.dcr_provider": {
                "name": "bad-labels",
                "provider_type": "azureAd",
                "issuer": "https://sts.windows.net/%s" % TENANT,
                "initial_client_id": "6e1f2a3b-4c5d-4e6f-8a9b-0c1d2e3f4a5b",
                "initial_client_secret": "s3cret-value-x",
                "labels": {"kong-tier": "gold"},
            }
        },
        "expect": ["labels", "kong-tier", "must not start with kong"],
    },
    {
        "id": "module-secret-lifetime-over-two-years",
        "module": {
            "konnect.devportal.azure_app_secret": {
                "unique_name": NAMES["unique_name"],
                "name": "x",
                "lifetime_days": 800,
            }
        },
        "expect": ["lifetime_days", "730"],
    },
    {
        "id": "module-publication-portal-unknown",
        "module": {
            "konnect.devportal.api_publication": {
                "api": "orders",
                "api_version": "v1",
                "portal": "nope-portal",
                "auth_strategy": "none",
            }
        },
        "expect": ["nope-portal", "not found"],
    },
    {
        "id": "module-strategy-auth-method-unknown",
        "module": {
            "konnect.devportal.auth_strategy": {
                "name": "bad-methods",
                "strategy_type": "openid_connect",
                "issuer": "https://sts.windows.net/%s" % TENANT,
                "credential_claim": ["appid"],
                "auth_methods": ["magic_link"],
            }
        },
        "expect": ["auth_methods", "magic_link"],
    },
]
# the interruptions of make test: an app without its service principal and consent, a secret
# Konnect never got (an orphan), a provider without its verification
BOUNDED_KILL_POINTS = [
    ("after the app registration, before its service principal", "graph", "PATCH", r"/v1\.0/applications\(.*\)"),
    ("after the secret is made, before Konnect has it", "graph", "POST", r".*/microsoft\.graph\.addPassword"),
    ("after the DCR provider is created, before its verification", "konnect", "POST", r"/v2/dcr-providers"),
]
# a rotation in flight: the new secret made but not in Konnect; in Konnect but the old one not removed
BOUNDED_ROTATION_KILL_POINTS = [
    ("rotation: after the new secret is made", "graph", "POST", r".*/microsoft\.graph\.addPassword"),
    ("rotation: after Konnect's verification", "konnect", "POST", r"/v2/dcr-providers/[^/]+/verify"),
]
BAD_INPUT_BOUNDED = [
    "tenant-v2-issuer",
    "tenant-unknown",
    "region-unknown",
    "auth-methods-empty",
    "portal-unknown",
    "secret-lifetime-over-two-years",
    "konnect-token-401",
    "automation-lacks-graph-permission",
    "module-display-name-ambiguous",
    "module-provider-issuer-trailing-slash",
    "apps-with-the-same-display-name",
    "strategy-in-use-on-cleanup",
    "strategy-is-a-portal-default-on-cleanup",
    "labels-against-konnect-rules",
]


def _mentions(text: str, fragment) -> bool:
    """FRAGMENT (or, for a tuple, one of them) is in TEXT, case-insensitively."""
    options = fragment if isinstance(fragment, tuple) else (fragment,)
    return any(o.lower() in text.lower() for o in options)


def suite_bad_input(workdir: Path, case_ids=None, log=print) -> dict:
    """Each case fails before its first write, with a message naming the variable and the fix."""
    cases = [c for c in BAD_INPUT if case_ids is None or c["id"] in case_ids]
    base = Path(workdir) / "bad-input"
    emu = Emulators(base / "emulators")
    rows = []
    try:
        for case in cases:
            emu.reset()
            if case.get("seed"):
                emu.seed(case["seed"])
            work = base / case["id"]
            work.mkdir(parents=True, exist_ok=True)
            inventory = write_inventory(work / "inventory")
            # the wrong values come as extra vars, as from `-e` or an AWX survey
            args = []
            if case.get("vars"):
                (work / "extra-vars.json").write_text(json.dumps(case["vars"]))
                args = ["-e", "@" + str(work / "extra-vars.json")]
            if case.get("prepare"):
                case["prepare"](emu, inventory, work)
            playbook = case.get("playbook", SETUP)
            if case.get("module"):
                playbook = str(work / "module.yml")
                Path(playbook).write_text(_module_play(case["module"]))
            mark = emu.mark()
            run = play(playbook, dict(emu.env(), **case.get("env", {})), inventory, workdir=work, args=args)
            messages = run.failed_messages()
            text = "\n".join(messages) or run.output[-3000:]
            missing = [f for f in case["expect"] if not _mentions(text, f)]
            writes = non_token_writes(emu.requests(mark))
            row = {
                "id": case["id"],
                "rc": run.rc,
                "message": text[:600],
                "missing": missing,
                "writes": writes,
                "traceback": "Traceback (most recent call last)" in run.output,
                "seconds": round(run.seconds, 1),
            }
            row["ok"] = run.rc != 0 and not missing and not writes and not row["traceback"]
            log(
                "  %-40s %s rc=%d writes=%d %4.1fs%s"
                % (
                    case["id"],
                    "ok  " if row["ok"] else "FAIL",
                    run.rc,
                    len(writes),
                    row["seconds"],
                    ""
                    if row["ok"]
                    else "\n      missing %s; writes %s\n      message: %s"
                    % (missing, writes[:5], " ".join(text.split())[:500]),
                )
            )
            rows.append(row)
    finally:
        emu.stop()
    return {
        "cases": len(rows),
        "failed_before_first_write": sum(1 for r in rows if r["rc"] != 0 and not r["writes"]),
        "clear_message": sum(1 for r in rows if r["rc"] != 0 and not r["missing"]),
        "passed": sum(1 for r in rows if r["ok"]),
        "rows": rows,
    }


# -- suite: secrets ---------------------------------------------------------------------------------

SECRET_KEYS = {"secretText", "client_secret", "initial_client_secret", "password", "clientSecret"}
TOKEN_KEYS = {"access_token", "refresh_token", "id_token"}


def _walk(obj, keys, out, path=""):
    if isinstance(obj, dict):
        for k, v in obj.items():
            if k in keys and isinstance(v, str) and len(v) >= 8:
                out.append((path + "." + k, v))
            _walk(v, keys, out, path + "." + k)
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            _walk(v, keys, out, "%s[%d]" % (path, i))


def known_secrets(emu: Emulators) -> dict:
    """Every secret the emulators know: {value: what it is}."""
    e = emu.endpoints
    found = {
        e["automation_client_secret"]: "automation client secret",
        e["konnect_token"]: "Konnect token",
        e["developer_password"]: "developer password",
    }
    for entry in emu.requests():
        where = "%s %s %s" % (entry["service"], entry["method"], _short(entry["path"]))
        for body, side in ((entry.get("request_body"), "request"), (entry.get("response_body"), "response")):
            hits = []
            _walk(body, SECRET_KEYS, hits)
            for key, value in hits:
                if value in found:
                    continue
                if entry["path"].endswith("addPassword") and (body or {}).get("displayName") == NAMES["secret"]:
                    what = "client secret of the DCR app (%s)" % where
                elif entry["path"].endswith("addPassword"):
                    # Konnect, as the initial client, made it for a developer's application
                    what = "developer application secret (%s)" % where
                elif entry["service"] == "portal":
                    what = "developer application secret (%s %s%s)" % (where, side, key)
                else:
                    what = "%s%s of %s %s" % (side, key, where, side)
                found[value] = what
            tokens = []
            _walk(body, TOKEN_KEYS, tokens)
            for _key, value in tokens:
                found.setdefault(value, "access token (%s)" % where)
    return found


def _forms(secret: str) -> set[str]:
    """How a secret can appear in text: as is, JSON-escaped, URL-encoded."""
    return {
        secret,
        json.dumps(secret)[1:-1],
        urllib.parse.quote(secret, safe=""),
        urllib.parse.quote_plus(secret),
    }


def search(secrets: dict, sources: dict) -> list[str]:
    """'<what> in <source>' for every secret found in a source."""
    hits = []
    for value, what in secrets.items():
        forms = _forms(value)
        for name, text in sources.items():
            if any(f in text for f in forms):
                hits.append("%s in %s" % (what, name))
    return hits


def _files(*roots: Path) -> dict:
    out = {}
    for root in roots:
        for path in sorted(Path(root).rglob("*")):
            if path.is_file() and not path.is_symlink():
                out[str(path)] = path.read_bytes().decode("utf-8", "replace")
    return out


def suite_secrets(workdir: Path, log=print) -> dict:
    """setup, rotate_secret, validate, cleanup at -vvv --diff: no secret anywhere they print or leave."""
    base = Path(workdir) / "secrets"
    project = base / "project"  # the working directory of the runs
    home = project / ".ansible"
    emu = Emulators(base / "emulators")
    runs = {}
    try:
        e = emu.endpoints
        inventory = write_inventory(
            project / "inventory",
            azure_dcr_validate_developer={
                "email": e["developer_email"],
                "password": "{{ lookup('ansible.builtin.env', 'KDP_DEVELOPER_PASSWORD') }}",
            },
            azure_dcr_validate_portal="developer-portal",
        )
        env = dict(
            emu.env(),
            KDP_DEVELOPER_PASSWORD=e["developer_password"],
            ANSIBLE_CALLBACK_RESULT_FORMAT="json",
            ANSIBLE_HOME=str(home),
            ANSIBLE_LOCAL_TEMP=str(home / "tmp"),
            ANSIBLE_REMOTE_TEMP=str(home / "remote-tmp"),
        )
        log_path = project / "ansible.log"
        for name, playbook in (
            ("setup", SETUP),
            ("rotate_secret", ROTATE),
            ("validate", VALIDATE),
            ("cleanup", CLEANUP),
        ):
            runs[name] = play(playbook, env, inventory, workdir=project, verbosity=3, diff=True, log_path=log_path)
            log(
                "  %-14s rc=%d %5.1fs output %d bytes"
                % (name, runs[name].rc, runs[name].seconds, len(runs[name].output))
            )
        secrets = known_secrets(emu)
        request_log = (emu.state_dir / "requests.jsonl").read_text()
    finally:
        emu.stop()
    sources = {}
    for name, run in runs.items():
        sources[name + " stdout"] = run.result.stdout
        sources[name + " stderr"] = run.result.stderr
        sources[name + " recorded results"] = run.record_text
    sources.update(_files(project))  # the log file, the inventory, ansible's home and temp dirs
    sources.update({"collection " + k: v for k, v in _files(ROOT / "playbooks", ROOT / "roles").items()})
    hits = search(secrets, sources)
    # the search must be able to find them: each one is in the emulators' own log
    # (all but the Konnect token: it travels in the Authorization header, which the log leaves out)
    unseen = [
        what
        for value, what in secrets.items()
        if what != "Konnect token" and not any(f in request_log for f in _forms(value))
    ]
    kinds = Counter(what.split(" (")[0] for what in secrets.values())
    everything = "".join(r.output for r in runs.values())
    checks = {
        "all runs succeeded": all(r.rc == 0 for r in runs.values()),
        "-vvv printed module arguments": "module_args" in everything,
        "no_log masked something": "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER" in everything
        or "the output has been hidden" in everything,
        "--diff printed a diff": '"before"' in everything or "--- before" in everything,
        "the log file was written": log_path.exists() and log_path.stat().st_size > 0,
        "secrets of every kind were made": kinds["client secret of the DCR app"] >= 2
        and kinds["developer application secret"] >= 2,
    }
    log("  %d secrets known (%s), searched in %d sources" % (len(secrets), dict(kinds), len(sources)))
    for hit in hits:
        log("  LEAK: " + hit)
    for name, ok in checks.items():
        if not ok:
            log("  CHECK FAILED: " + name)
    return {
        "secrets": len(secrets),
        "kinds": dict(kinds),
        "sources": len(sources),
        "hits": hits,
        "unseen_in_emulator_log": unseen,
        "checks": checks,
        "run_rc": {k: r.rc for k, r in runs.items()},
        "run_errors": {k: (r.failed_messages() or [""])[0][:500] for k, r in runs.items() if r.rc},
        "passed": not hits and not unseen and all(checks.values()),
    }


# -- suite: TLS -------------------------------------------------------------------------------------

INSECURE_PLAY = """
- hosts: rel
  gather_facts: false
  module_defaults:
    group/konnect.devportal.konnect: {validate_certs: false}
    group/konnect.devportal.azure: {validate_certs: false}
  tasks:
    - name: Konnect without certificate checks
      konnect.devportal.portal_info:
    - name: Graph without certificate checks
      konnect.devportal.azure_app_registration_info:
        caller_only: true
"""


def system_bundle() -> str | None:
    """The CA bundle this machine trusts (REQUESTS_CA_BUNDLE here), which lacks the emulators' CA."""
    for candidate in (os.environ.get("REQUESTS_CA_BUNDLE"), "/etc/ssl/certs/ca-certificates.crt"):
        if candidate and Path(candidate).exists():
            return candidate
    return None


def suite_tls(workdir: Path, full: bool = True, log=print) -> dict:
    """Untrusted certificates fail clearly; ``full``: also the role trusting the CA through azure_dcr_ca_path."""
    base = Path(workdir) / "tls"
    emu = Emulators(base / "emulators")
    rows = {}
    try:
        inventory = write_inventory(base / "inventory")
        untrusted = {
            "REQUESTS_CA_BUNDLE unset": {"REQUESTS_CA_BUNDLE": None, "CURL_CA_BUNDLE": None, "SSL_CERT_FILE": None},
            "REQUESTS_CA_BUNDLE = the system bundle": {"REQUESTS_CA_BUNDLE": system_bundle()},
        }
        for label, overrides in untrusted.items():
            mark = emu.mark()
            run = play(SETUP, dict(emu.env(), **overrides), inventory, workdir=base)
            messages = run.failed_messages()
            first = messages[0] if messages else run.output[-1000:]
            rows[label] = {
                "rc": run.rc,
                "message": first[:400],
                "clear": "TLS verification failed" in first and "ca_path" in first and "\n" not in first,
                "traceback": "Traceback (most recent call last)" in run.output,
                "requests_reached": len(emu.requests(mark)),
            }
            rows[label]["ok"] = (
                run.rc != 0
                and rows[label]["clear"]
                and not rows[label]["traceback"]
                and not rows[label]["requests_reached"]
            )
        if full:
            # the same server, trusted through the role's own variable
            trusted_inv = write_inventory(base / "inventory-ca", azure_dcr_ca_path=emu.ca_path)
            run = play(SETUP, dict(emu.env(), **untrusted["REQUESTS_CA_BUNDLE unset"]), trusted_inv, workdir=base)
            rows["azure_dcr_ca_path set, REQUESTS_CA_BUNDLE unset"] = {"rc": run.rc, "ok": run.rc == 0}
        # no verification at all: works, and says it is insecure
        path = base / "insecure.yml"
        path.write_text(INSECURE_PLAY)
        mark = emu.mark()
        run = play(str(path), dict(emu.env(), **untrusted["REQUESTS_CA_BUNDLE unset"]), inventory, workdir=base)
        warnings = [line for line in run.output.splitlines() if "WARNING" in line and "insecure" in line.lower()]
        rows["validate_certs: false"] = {
            "rc": run.rc,
            "warnings": warnings,
            "requests_reached": len(emu.requests(mark)),
            "ok": run.rc == 0
            and any("Konnect" in w for w in warnings)
            and any("Graph" in w or "Entra" in w for w in warnings)
            and len(emu.requests(mark)) > 0,
        }
    finally:
        emu.stop()
    for label, row in rows.items():
        log("  %-50s %s rc=%d %s" % (label, "ok  " if row["ok"] else "FAIL", row["rc"], row.get("message", "")[:160]))
    return {"cases": len(rows), "passed": sum(1 for r in rows.values() if r["ok"]), "rows": rows}


# -- suite: rate limit ------------------------------------------------------------------------------


def suite_rate_limit(workdir: Path, per_second: int = 5, full: bool = True, log=print) -> dict:
    """The run completes by honouring Retry-After; ``full``: a rerun changes nothing."""
    base = Path(workdir) / "rate-limit"
    emu = Emulators(base / "emulators", "--rate-limit", str(per_second))
    try:
        inventory = write_inventory(base / "inventory")
        run = play(SETUP, emu.env(), inventory, workdir=base)
        entries = emu.requests()
        limited = [i for i, e in enumerate(entries) if e["fault"] == "rate_limit"]
        gaps = []
        for i in limited:
            e = entries[i]
            retry = next(
                (
                    r
                    for r in entries[i + 1 :]
                    if (r["service"], r["method"], r["path"]) == (e["service"], e["method"], e["path"])
                ),
                None,
            )
            if retry is not None:
                gaps.append(round(retry["ts"] - e["ts"], 2))
        again, rerun_writes = None, []
        if full:
            mark = emu.mark()
            again = play(SETUP, emu.env(), inventory, workdir=base)
            rerun_writes = [w for w in map(_describe, emu.requests(mark)) if w]
        violations = len(emu.violations())
    finally:
        emu.stop()
    result = {
        "rate_limit_per_second": per_second,
        "rc": run.rc,
        "seconds": round(run.seconds, 1),
        "requests": len(entries),
        "throttled": len(limited),
        "throttled_by_service": dict(Counter(entries[i]["service"] for i in limited)),
        "retried": len(gaps),
        "min_wait_before_retry": min(gaps) if gaps else None,
        "rerun_rc": again.rc if again else None,
        "rerun_changed": again.result.changed() if again else None,
        "rerun_writes": rerun_writes,
        "violations": violations,
        "error": (run.failed_messages() or [""])[0][:400],
    }
    # every throttled request was retried, and not before Retry-After (1 s) had passed
    result["passed"] = bool(
        run.rc == 0
        and limited
        and len(gaps) == len(limited)
        and min(gaps) >= 0.9
        and (again is None or (again.rc == 0 and result["rerun_changed"] == 0))
        and not rerun_writes
        and not violations
    )
    log(
        "  rc=%d %.1fs, %d requests, %d answered 429 %s, each retried after >= %ss; rerun changed=%s"
        % (run.rc, run.seconds, len(entries), len(limited), result["throttled_by_service"],
           result["min_wait_before_retry"], result["rerun_changed"])
    )  # fmt: skip
    return result


# -- suite: concurrent runs ------------------------------------------------------------------------


def suite_concurrent(workdir: Path, runs: int = 2, log=print) -> dict:
    """RUNS setups of the same environment at once (a job launched twice): never a duplicate.

    Both may not succeed - the last secret wins, and the other run's validation then fails with
    its pruned secret - but the objects stay single and a next run converges with changed=0.
    """
    base = Path(workdir) / "concurrent"
    emu = Emulators(base / "emulators")
    try:
        inventory = write_inventory(base / "inventory")
        with ThreadPoolExecutor(max_workers=runs) as pool:
            results = list(pool.map(lambda _i: play(SETUP, emu.env(), inventory, workdir=base), range(runs)))
        c = census(emu)
        after = play(SETUP, emu.env(), inventory, workdir=base)
        mark = emu.mark()
        again = play(SETUP, emu.env(), inventory, workdir=base)
        row = {
            "runs": runs,
            "succeeded": sum(1 for r in results if r.rc == 0),
            "errors": [(r.failed_messages() or [""])[0][:300] for r in results if r.rc],
            "duplicates": duplicates(c),
            "next_rc": after.rc,
            "problems_after_next": convergence_problems(census(emu)),
            "then_changed": again.result.changed() if again.rc == 0 else None,
            "then_writes": [w for w in map(_describe, emu.requests(mark)) if w],
        }
    finally:
        emu.stop()
    row["passed"] = (
        row["duplicates"] == 0
        and row["next_rc"] == 0
        and not row["problems_after_next"]
        and row["then_changed"] == 0
        and not row["then_writes"]
    )
    log(
        "  %d setups at once: %d succeeded, duplicates %d; the next run converged: %s; then changed=%s"
        % (runs, row["succeeded"], row["duplicates"], not row["problems_after_next"], row["then_changed"])
    )
    for error in row["errors"]:
        log("    a run failed: " + " ".join(error.split())[:200])
    return row


# -- the command ------------------------------------------------------------------------------------

SUITES = ("faults", "interrupt", "interrupt-rotation", "bad-input", "secrets", "tls", "rate-limit", "concurrent")


def strays(workdir: Path) -> list[str]:
    """Processes still running with WORKDIR in their command line (emulators, playbooks)."""
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and int(entry.name) != os.getpid():
            try:
                cmd = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            if str(workdir) in cmd:
                out.append("%s %s" % (entry.name, cmd[:120]))
    return out


def run_suites(
    workdir: Path, suites=SUITES, seeds=FAULT_SEEDS, points=None, bad_input=None, full=True, workers=2, log=print
) -> dict:
    figures = {}
    for suite in suites:
        log("== %s" % suite)
        started = time.monotonic()
        if suite == "faults":
            figures[suite] = suite_faults(workdir, seeds, workers=workers, log=log)
        elif suite == "interrupt":
            figures[suite] = suite_interrupt(workdir, points, full=full, workers=workers, log=log)
        elif suite == "interrupt-rotation":
            chosen = BOUNDED_ROTATION_KILL_POINTS if points is BOUNDED_KILL_POINTS else points
            figures[suite] = suite_interrupt(workdir, chosen, full=full, playbook=ROTATE, workers=workers, log=log)
        elif suite == "bad-input":
            figures[suite] = suite_bad_input(workdir, bad_input, log=log)
        elif suite == "secrets":
            figures[suite] = suite_secrets(workdir, log=log)
        elif suite == "tls":
            figures[suite] = suite_tls(workdir, full=full, log=log)
        elif suite == "rate-limit":
            figures[suite] = suite_rate_limit(workdir, full=full, log=log)
        elif suite == "concurrent":
            figures[suite] = suite_concurrent(workdir, log=log)
        figures[suite]["duration_seconds"] = round(time.monotonic() - started, 1)
    figures["stray_processes"] = strays(workdir)
    return figures


def summary(figures: dict) -> list[str]:
    lines = []
    f = figures.get("faults")
    if f:
        lines.append(
            "faults      %d seeds (rate 0.2, consistency delay 3 s): first-run successes %d/%d, duplicates %d, "
            "reruns with changed=0 and no write %d/%d, recovered by a rerun %d; injected %s; %.0fs"
            % (f["runs"], f["first_run_successes"], f["runs"], f["duplicates"], f["rerun_changed_0"], f["runs"],
               f["recovered_by_rerun"], f["faults_injected"], f["duration_seconds"])
        )  # fmt: skip
        if f.get("lost_replies"):
            lines.append("            writes whose reply was lost: %s" % f["lost_replies"])
    for name in ("interrupt", "interrupt-rotation"):
        f = figures.get(name)
        if not f:
            continue
        lines.append(
            "%-11s %d kill points (%d distinct; calibrated run: %s requests, %s writes): converged %d/%d, "
            "provider verified %d/%d, duplicates %d, orphaned secrets %d, leftover processes %d; %.0fs"
            % (name, f["points"], f["distinct_points"], f["calibration_requests"], f["calibration_writes"],
               f["converged"], f["points"], f["verified"], f["points"], f["duplicates"], f["orphaned_secrets"],
               f["leftover_processes"], f["duration_seconds"])
        )  # fmt: skip
    f = figures.get("bad-input")
    if f:
        lines.append(
            "bad-input   %d cases: failed before the first write %d/%d, message names the variable and fix %d/%d, "
            "passed %d/%d; %.0fs"
            % (f["cases"], f["failed_before_first_write"], f["cases"], f["clear_message"], f["cases"], f["passed"],
               f["cases"], f["duration_seconds"])
        )  # fmt: skip
        failing = [r["id"] for r in f["rows"] if not r["ok"]]
        if failing:
            lines.append("            not passed: " + ", ".join(failing))
    f = figures.get("secrets")
    if f:
        lines.append(
            "secrets     4 playbooks at -vvv --diff: %d secrets %s searched in %d sources: %d hits; %.0fs"
            % (f["secrets"], f["kinds"], f["sources"], len(f["hits"]), f["duration_seconds"])
        )
    f = figures.get("tls")
    if f:
        lines.append("tls         %d/%d cases as expected; %.0fs" % (f["passed"], f["cases"], f["duration_seconds"]))
    f = figures.get("rate-limit")
    if f:
        lines.append(
            "rate-limit  %d/s: rc=%d in %.0fs, %d requests, %d answered 429 %s, all retried after >= %ss; "
            "rerun changed=%s"
            % (f["rate_limit_per_second"], f["rc"], f["seconds"], f["requests"], f["throttled"],
               f["throttled_by_service"], f["min_wait_before_retry"], f["rerun_changed"])
        )  # fmt: skip
    f = figures.get("concurrent")
    if f:
        lines.append(
            "concurrent  %d setups at once: %d succeeded, duplicates %d, next run converged %s, then changed=%s; %.0fs"
            % (f["runs"], f["succeeded"], f["duplicates"], not f["problems_after_next"], f["then_changed"],
               f["duration_seconds"])
        )  # fmt: skip
    lines.append("stray processes: %d" % len(figures.get("stray_processes", [])))
    return lines


def passed(figures: dict) -> bool:
    ok = not figures.get("stray_processes")
    for suite in ("faults", "interrupt", "interrupt-rotation", "bad-input"):
        if suite in figures:
            ok = ok and figures[suite]["passed"] == len(figures[suite]["rows"])
    for suite in ("secrets", "rate-limit", "concurrent"):
        if suite in figures:
            ok = ok and figures[suite]["passed"]
    if "tls" in figures:
        ok = ok and figures["tls"]["passed"] == figures["tls"]["cases"]
    return ok


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--suite", action="append", choices=SUITES, help="run only these (repeatable)")
    parser.add_argument("--seeds", type=int, default=len(FAULT_SEEDS), help="fault seeds (default: %(default)s)")
    parser.add_argument("--kill-points", type=int, default=0, help="kill points (default 0: every calibrated one)")
    parser.add_argument("--workers", type=int, default=2, help="fault seeds / kill points at once")
    parser.add_argument("--bounded", action="store_true", help="the sizes of make test")
    parser.add_argument("--json", default=str(ROOT / "build" / "reliability.json"), help="write the figures here")
    parser.add_argument("--keep", action="store_true", help="keep the working directory")
    args = parser.parse_args(argv)
    seeds = FAULT_SEEDS[: (2 if args.bounded else args.seeds)]
    points = BOUNDED_KILL_POINTS if args.bounded else (args.kill_points or None)
    bad_input = BAD_INPUT_BOUNDED if args.bounded else None
    workdir = Path(tempfile.mkdtemp(prefix="kdp-reliability-"))
    started = time.monotonic()
    try:
        figures = run_suites(
            workdir, args.suite or SUITES, seeds, points, bad_input, full=not args.bounded, workers=args.workers
        )
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    figures["duration_seconds"] = round(time.monotonic() - started, 1)
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(figures, indent=1, default=str))
    print("\n== figures (%s, %.0f s in all)" % (args.json, figures["duration_seconds"]))
    for line in summary(figures):
        print(line)
    ok = passed(figures)
    print("reliability: %s" % ("every check passed" if ok else "SOME CHECKS FAILED"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
