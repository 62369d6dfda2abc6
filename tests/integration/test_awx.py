"""AWX: the setup playbook run as an AWX job runs it, the execution environment, the credential type.

- An AWX job is ``ansible-runner`` with a private data directory: the project's playbook in
  ``project/``, the inventory in ``inventory/``, the credentials' variables in ``env/envvars``
  and the survey answers (strings) in ``env/extravars``. These tests lay one out the same way
  and run the real ``ansible_runner.run``: the first job sets every environment up, a second
  one changes nothing and writes nothing, and no secret reaches what AWX stores (stdout and
  job events).
- The "Kong Konnect" credential type: its two copies in extensions/awx agree, its injectors
  render as AWX renders them, and an empty Server URL leaves the region to
  ``azure_dcr_konnect_region`` / ``KONNECT_REGION`` (a job proves it through a proxy).
- ``ansible-builder create`` makes a build context for an execution environment that installs
  the collection from its tarball; ``ansible-builder introspect`` finds the collection's
  Python requirements.

A "write" is a request that changes something in Graph, Konnect or the portal:
POST/PUT/PATCH/DELETE, except the sign-in's token requests (Entra) and Konnect's provider
verification (POST .../verify, a check that changes nothing).
"""

from __future__ import annotations

import os
import shutil
import socketserver
import subprocess
import sys
import threading
from collections import Counter
from datetime import datetime
from pathlib import Path

import ansible_runner
import pytest
import yaml
from jinja2 import StrictUndefined, Undefined
from jinja2.sandbox import ImmutableSandboxedEnvironment

from harness import ROOT, ensure_collection_path

VENV_BIN = Path(sys.executable).parent
INVENTORY = ROOT / "docs" / "examples" / "inventory"
CREDENTIAL_TYPE = ROOT / "extensions" / "awx" / "credential_types" / "kong_konnect.yml"
CREDENTIAL_TYPE_PLAYBOOK = ROOT / "extensions" / "awx" / "credential_type.yml"
ENVS = ("dev", "staging", "prod")
WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
REPORT = ("konnect.devportal.azure_dcr", "Report the validation checks")
# survey answers as AWX sends them: text and multiple choice answers are strings
SURVEY = {"azure_dcr_rotate_secret": "false", "azure_dcr_validate": "true", "azure_dcr_secret_lifetime_days": "180"}
# the project's one-line playbook, as docs/awx.md has it
PROJECT_PLAYBOOK = """\
- name: Set up Dev Portal DCR with Entra ID
  ansible.builtin.import_playbook: konnect.devportal.setup
"""


# -- AWX, imitated -----------------------------------------------------------------------------


def awx_render(definition: dict, inputs: dict) -> dict:
    """The env vars a credential of type DEFINITION injects, rendered the way AWX does.

    AWX (``CredentialType.inject_credential``) puts only the fields that have a value in the
    namespace, and renders each env template with an ``ImmutableSandboxedEnvironment`` and
    Jinja's default ``Undefined``: an empty or missing field is undefined, not an error.
    """
    namespace = {k: v for k, v in inputs.items() if isinstance(v, bool) or len(v)}
    sandbox = ImmutableSandboxedEnvironment(undefined=Undefined)
    env = definition["injectors"]["env"]
    return {name: sandbox.from_string(tmpl).render(**namespace) for name, tmpl in env.items()}


def awx_validate(definition: dict) -> None:
    """What AWX checks when the type is saved: every template renders with StrictUndefined."""
    namespace = {f["id"]: "EXAMPLE" for f in definition["inputs"]["fields"]}
    sandbox = ImmutableSandboxedEnvironment(undefined=StrictUndefined)
    for tmpl in definition["injectors"]["env"].values():
        sandbox.from_string(tmpl).render(**namespace)


def azure_resource_manager(emulators) -> dict:
    """What AWX's built-in "Microsoft Azure Resource Manager" credential injects (service principal)."""
    e = emulators.endpoints
    return {
        "AZURE_CLIENT_ID": e["automation_client_id"],
        "AZURE_SECRET": e["automation_client_secret"],
        "AZURE_TENANT": e["tenant_id"],
        # AWX may require a subscription; the collection never reads it
        "AZURE_SUBSCRIPTION_ID": "00000000-0000-0000-0000-000000000000",
    }


def emulator_only(emulators) -> dict:
    """Variables a real job does not need: they point the modules at the emulators, and
    ansible-playbook at this checkout's virtualenv and collection (an execution environment
    has both installed)."""
    e = emulators.endpoints
    return {
        "PATH": "%s:%s" % (VENV_BIN, os.environ.get("PATH", "/usr/bin:/bin")),
        "AZURE_AUTHORITY_HOST": e["authority_host"],
        "AZURE_GRAPH_URL": e["graph_url"],
        "REQUESTS_CA_BUNDLE": e["ca_path"],
        "ANSIBLE_COLLECTIONS_PATH": str(ensure_collection_path()),
        "ANSIBLE_COLLECTIONS_SCAN_SYS_PATH": "false",
    }


def awx_job(base: Path, ident: str, envvars: dict, extravars: dict, limit: str | None = None, verbosity: int = 0):
    """Lay out a private data directory as AWX does, and run the job with ansible-runner."""
    data = base / ident
    (data / "project").mkdir(parents=True)
    (data / "project" / "setup.yml").write_text(PROJECT_PLAYBOOK)
    shutil.copytree(INVENTORY, data / "inventory")
    (data / "env").mkdir()
    envvars = dict(envvars, ANSIBLE_HOME=str(data / "ansible-home"), ANSIBLE_NOCOLOR="1")
    (data / "env" / "envvars").write_text(yaml.safe_dump(envvars))
    (data / "env" / "extravars").write_text(yaml.safe_dump(extravars))
    return ansible_runner.run(
        private_data_dir=str(data),
        playbook="setup.yml",
        ident=ident,
        limit=limit,
        verbosity=verbosity,
        quiet=True,
        timeout=300,
    )


def artifacts_text(job) -> str:
    """What AWX keeps of a job: its stdout, its job events (and the fact cache).

    Leaves out ``command``: ansible-runner records the job's whole environment there,
    credentials included; AWX does not store it (it keeps a masked ``job_env``) and removes
    the private data directory after the job.
    """
    root = Path(job.config.artifact_dir)
    files = [p for p in root.rglob("*") if p.is_file() and p.name != "command"]
    assert root / "stdout" in files and any(p.parent.name == "job_events" for p in files)
    return "\n".join(p.read_text(errors="replace") for p in files)


def changed(job) -> int:
    return sum(job.stats["changed"].values())


def writes(emulators, since):
    return [
        "%s %s %s" % (r["service"], r["method"], r["path"])
        for r in emulators.requests(since)
        if r["service"] != "entra" and r["method"] in WRITE_METHODS and not r["path"].endswith("/verify")
    ]


def report(job) -> dict:
    """{host: the validation report's lines}, from the runner's job events."""
    out = {}
    for event in job.events:
        data = event.get("event_data", {})
        if event.get("event") == "runner_on_ok" and (data.get("resolved_role"), data.get("task")) == REPORT:
            msg = data["res"]["msg"]
            out[data["host"]] = msg if isinstance(msg, list) else [msg]
    return out


class Recorder(socketserver.ThreadingTCPServer):
    """An HTTP proxy that records where each CONNECT goes, then hangs up on the tunnel.

    The client's TLS handshake fails at once (no retry, no network), and the module's error
    names the host it tried.
    """

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self):
        self.targets = []
        super().__init__(("127.0.0.1", 0), ProxyHandler)

    @property
    def url(self):
        return "http://127.0.0.1:%d" % self.server_address[1]


class ProxyHandler(socketserver.StreamRequestHandler):
    def handle(self):
        request_line = self.rfile.readline().decode("latin-1").strip()
        while self.rfile.readline() not in (b"\r\n", b"\n", b""):
            pass
        self.server.targets.append(" ".join(request_line.split()[:2]))
        if request_line.startswith("CONNECT "):
            self.wfile.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
        else:
            self.wfile.write(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")


@pytest.fixture
def proxy():
    server = Recorder()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


# -- the credential type ---------------------------------------------------------------------


def load_credential_types():
    """(the UI definition, the awx.awx.credential_type task's arguments, its !unsafe strings)."""
    unsafe = []

    class UnsafeLoader(yaml.SafeLoader):
        """Reads Ansible's ``!unsafe`` strings as plain strings, and notes them."""

    def construct_unsafe(loader, node):
        value = loader.construct_scalar(node)
        unsafe.append(value)
        return value

    UnsafeLoader.add_constructor("!unsafe", construct_unsafe)
    definition = yaml.safe_load(CREDENTIAL_TYPE.read_text())
    [play] = yaml.load(CREDENTIAL_TYPE_PLAYBOOK.read_text(), Loader=UnsafeLoader)  # noqa: S506 - a SafeLoader
    [task] = play["tasks"]
    return definition, task["awx.awx.credential_type"], unsafe


def test_credential_type_copies_agree_and_inject_the_connection_variables():
    definition, module_args, unsafe = load_credential_types()
    assert {k: v for k, v in module_args.items() if k != "state"} == definition
    assert module_args["state"] == "present"
    # Ansible must hand AWX the templates unrendered
    assert sorted(unsafe) == sorted(definition["injectors"]["env"].values())

    fields = {f["id"]: f for f in definition["inputs"]["fields"]}
    assert fields["konnect_token"]["secret"] is True and definition["inputs"]["required"] == ["konnect_token"]
    assert set(definition["injectors"]) == {"env"}
    assert not [name for name in [*fields, *definition["injectors"]["env"]] if name.upper().startswith("ANSIBLE_")]
    awx_validate(definition)

    eu = awx_render(definition, {"konnect_token": "kpat_abc", "konnect_server_url": "https://eu.api.konghq.com"})
    assert eu == {"KONNECT_TOKEN": "kpat_abc", "KONNECT_SERVER_URL": "https://eu.api.konghq.com"}
    # no URL: the variable is empty, and the modules take the region (see the job test below)
    for inputs in ({"konnect_token": "spat_abc"}, {"konnect_token": "spat_abc", "konnect_server_url": ""}):
        assert awx_render(definition, inputs) == {"KONNECT_TOKEN": "spat_abc", "KONNECT_SERVER_URL": ""}


# -- AWX jobs ----------------------------------------------------------------------------------


def test_setup_as_an_awx_job_then_a_clean_rerun_and_no_secret_in_the_artifacts(emulators, tmp_path):
    emulators.reset()
    definition = yaml.safe_load(CREDENTIAL_TYPE.read_text())
    e = emulators.endpoints
    konnect = awx_render(definition, {"konnect_token": e["konnect_token"], "konnect_server_url": e["konnect_url"]})
    envvars = {**azure_resource_manager(emulators), **konnect, **emulator_only(emulators)}

    mark = emulators.mark()
    # verbosity 3 ("Debug" in the job template): the most a job can print
    first = awx_job(tmp_path, "setup", envvars, SURVEY, verbosity=3)
    assert (first.status, first.rc) == ("successful", 0), first.stdout.read()[-4000:]
    assert sorted(first.stats["ok"]) == sorted(ENVS) and not first.stats["failures"]
    assert all(first.stats["changed"][env] > 0 for env in ENVS), first.stats

    state = emulators.state()
    graph = state["graph"]["tenants"][e["tenant_id"]]
    published = Counter(i for p in state["konnect"]["publications"] for i in p["auth_strategy_ids"] or [])
    for env in ENVS:
        [app] = [a for a in graph["applications"] if a.get("uniqueName") == "konnect-dcr-" + env]
        [secret] = [c for c in app["passwordCredentials"] if c["displayName"] == "konnect-dcr-" + env]
        # the survey's "180" overrides the inventory's 90 and 365 days
        lifetime = datetime.fromisoformat(secret["endDateTime"].replace("Z", "+00:00")) - datetime.fromisoformat(
            secret["startDateTime"].replace("Z", "+00:00")
        )
        assert round(lifetime.total_seconds() / 86400) == 180, (env, secret)
        [provider] = [p for p in state["konnect"]["dcr_providers"] if p["name"] == "azure-dcr-" + env]
        assert provider["dcr_config"]["initial_client_id"] == app["appId"]
        assert provider["labels"]["azure-dcr-key-id"] == secret["keyId"]
        [strategy] = [s for s in state["konnect"]["application_auth_strategies"] if s["name"] == "azure-dcr-" + env]
        assert strategy["dcr_provider"]["id"] == provider["id"]
        # the inventory's publications: dev 1, staging 1, prod 2
        assert published[strategy["id"]] == {"dev": 1, "staging": 1, "prod": 2}[env], (env, published)
    assert len(state["konnect"]["publications"]) == 4
    # the survey's "true": every environment validated, every check passed
    found = report(first)
    assert sorted(found) == sorted(ENVS), found
    assert not [line for lines in found.values() for line in lines if "FAILED" in line], found

    mark_again = emulators.mark()
    second = awx_job(tmp_path, "setup-again", envvars, SURVEY)
    assert (second.status, second.rc) == ("successful", 0), second.stdout.read()[-4000:]
    assert changed(second) == 0, second.stats
    assert writes(emulators, mark_again) == []

    created = [
        r["response_body"]["secretText"]
        for r in emulators.requests(mark)
        if r["path"].endswith("addPassword") and r["status"] == 200
    ]
    assert len(created) == len(ENVS)
    secrets = [envvars["AZURE_SECRET"], envvars["KONNECT_TOKEN"], *created]
    assert all(len(s) >= 16 for s in secrets)
    for job in (first, second):
        text = artifacts_text(job)
        leaked = [s[:4] + "..." for s in secrets if s in text]
        assert leaked == [], "%s: secrets in the artifacts AWX keeps: %s" % (job.config.ident, leaked)


def test_an_empty_server_url_leaves_the_region_to_the_inventory(emulators, tmp_path, proxy):
    """The credential with no Server URL injects KONNECT_SERVER_URL="": the modules take the
    region, here azure_dcr_konnect_region=eu. The job goes to eu.api.konghq.com (through a
    proxy that records it and ends the TLS handshake) and fails before any write."""
    definition = yaml.safe_load(CREDENTIAL_TYPE.read_text())
    konnect = awx_render(definition, {"konnect_token": emulators.endpoints["konnect_token"]})
    assert konnect["KONNECT_SERVER_URL"] == ""
    envvars = {**azure_resource_manager(emulators), **konnect, **emulator_only(emulators)}
    # Graph and Entra stay on the emulators; everything else goes to the recording proxy
    envvars.update(HTTPS_PROXY=proxy.url, https_proxy=proxy.url, NO_PROXY="127.0.0.1", no_proxy="127.0.0.1")

    mark = emulators.mark()
    job = awx_job(tmp_path, "setup-eu", envvars, dict(SURVEY, azure_dcr_konnect_region="eu"), limit="dev")
    stdout = job.stdout.read()
    assert job.status == "failed", stdout[-4000:]
    assert proxy.targets and set(proxy.targets) == {"CONNECT eu.api.konghq.com:443"}, proxy.targets
    assert "TLS verification failed for eu.api.konghq.com" in stdout
    assert writes(emulators, mark) == []


# -- the execution environment ------------------------------------------------------------------


def run(cmd, cwd):
    proc = subprocess.run([str(c) for c in cmd], cwd=cwd, capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, "%s\n%s%s" % (" ".join(map(str, cmd)), proc.stdout, proc.stderr)
    return proc.stdout


def test_ansible_builder_makes_a_build_context_and_finds_the_requirements(tmp_path):
    # what introspection reads from an installed collection; its paths are relative to the collection
    # root, so it is not an execution environment definition (create would look for meta/requirements.txt)
    meta = yaml.safe_load((ROOT / "meta" / "execution-environment.yml").read_text())
    assert meta == {"version": 1, "dependencies": {"python": "requirements.txt"}}
    galaxy = yaml.safe_load((ROOT / "galaxy.yml").read_text())
    tarball = "%s-%s-%s.tar.gz" % (galaxy["namespace"], galaxy["name"], galaxy["version"])
    run([VENV_BIN / "ansible-galaxy", "collection", "build", "--output-path", tmp_path / "dist", ROOT], tmp_path)
    wanted = ("requests", "msal", "jmespath")

    # an execution environment definition (version 3) that installs the collection from its tarball
    ee = tmp_path / "ee"
    ee.mkdir()
    shutil.copy(tmp_path / "dist" / tarball, ee / tarball)
    shutil.copy(ROOT / "requirements.txt", ee / "requirements.txt")
    definition = {
        "version": 3,
        "images": {"base_image": {"name": "quay.io/ansible/awx-ee:latest"}},
        "dependencies": {
            "python": "requirements.txt",
            # the build copies _build/ to /build before it installs the collections
            "galaxy": {"collections": [{"name": "/build/collections/" + tarball, "type": "file"}]},
        },
        "additional_build_files": [{"src": tarball, "dest": "collections"}],
    }
    (ee / "execution-environment.yml").write_text(yaml.safe_dump(definition, sort_keys=False))
    out = run(
        [VENV_BIN / "ansible-builder", "create", "--context", "context", "--output-filename", "Containerfile"], ee
    )
    assert "Complete!" in out
    context = ee / "context"
    containerfile = (context / "Containerfile").read_text()
    assert "FROM $EE_BASE_IMAGE" in containerfile and "quay.io/ansible/awx-ee:latest" in containerfile
    assert "ansible-galaxy collection install" in containerfile and "COPY _build/requirements.txt" in containerfile
    assert (context / "_build" / "collections" / tarball).is_file()
    requirements_yml = yaml.safe_load((context / "_build" / "requirements.yml").read_text())
    assert requirements_yml == {"collections": [{"name": "/build/collections/" + tarball, "type": "file"}]}
    pip = (context / "_build" / "requirements.txt").read_text()
    assert all(any(line.startswith(w) for line in pip.splitlines()) for w in wanted), pip

    # the collection as the image will have it: the tarball installed; what introspection finds there
    installed = tmp_path / "installed"
    run(
        [VENV_BIN / "ansible-galaxy", "collection", "install", "--no-deps", "--force", "-p", installed, ee / tarball],
        tmp_path,
    )
    found = yaml.safe_load(run([VENV_BIN / "ansible-builder", "introspect", "--sanitize", installed], tmp_path))
    assert found["system"] == []
    assert sorted(line.split(">=")[0] for line in found["python"]) == sorted(wanted), found
    assert all(line.endswith("# from collection konnect.devportal") for line in found["python"]), found
    # the same with the script the image's builder stage runs, merged with the definition's file
    merged = tmp_path / "merged.txt"
    script = context / "_build" / "scripts" / "introspect.py"
    user_pip = context / "_build" / "requirements.txt"
    run([sys.executable, script, "introspect", "--user-pip", user_pip, "--write-pip", merged, installed], tmp_path)
    lines = merged.read_text().splitlines()
    for w in wanted:
        assert any(line.startswith(w) and line.endswith("from collection konnect.devportal") for line in lines), lines
