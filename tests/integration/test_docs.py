"""Every example in docs/*.md runs: playbooks and shell commands against the emulators.

An HTML comment on the line before a fenced block says what to do with it
(the convention is described in docs/development.md):

    <!-- test: playbook -->           run the YAML with ansible-playbook; it must succeed
    <!-- test: playbook idempotent --> ... and a second run must report changed=0
    <!-- test: playbook fails "text" --> ... it must fail, printing "text"
    <!-- test: file PATH -->          write the block to PATH in the page's workspace
    <!-- test: vars -->               role variables: checked against the role's argument specs
    <!-- test: shell -->              run with bash (-e -o pipefail) in the page's workspace
    <!-- test: shell fails "text" -->  ... it must fail, printing "text"
    <!-- test: pytest -->             a pytest file, run with tests/conftest.py's fixtures
    <!-- test: skip REASON -->        not run (needs a real tenant, AWX...): kept few

Two comments stand alone, as hidden steps at that point of the page:
``<!-- test: run COMMAND -->`` runs COMMAND like a shell block, and
``<!-- test: env NAME=VALUE... -->`` sets variables for the steps that follow
(``$VAR`` in VALUE is expanded), standing in for a reader's own ``export``.

Every ``yaml``, ``sh``, ``bash``, ``shell``, ``console`` and ``python`` block
must carry a comment; other languages (``text``, ``json``...) show output.

Each page runs in order, in a workspace of its own (a temporary directory
with symlinks to the checkout's top-level entries, so ``docs/...`` and
``tests/...`` paths work as from the repository root), against emulators of
its own with the default seed. Pages run in parallel (KDP_DOCS_WORKERS, 3).
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml

from harness import ROOT, Emulators, ensure_collection_path, run_playbook

DOCS = ROOT / "docs"
PAGES = sorted(p.name for p in DOCS.glob("*.md"))
ROLE_SPECS = ROOT / "roles" / "azure_dcr" / "meta" / "argument_specs.yml"
VENV_BIN = Path(sys.executable).parent

EXAMPLE_LANGS = {"yaml", "yml", "sh", "bash", "shell", "console", "python"}
KINDS = {"playbook", "file", "vars", "shell", "pytest", "skip", "run", "env"}
HIDDEN = {"run", "env"}
MARKER_RE = re.compile(r"^\s*<!--\s*test:\s*(?P<kind>[a-z]+)\b\s*(?P<arg>.*?)\s*-->\s*$")
FENCE_RE = re.compile(r"^(?P<indent>\s*)(?P<fence>`{3,}|~{3,})(?P<info>.*)$")
LINK_RE = re.compile(r"\[[^\]]*\]\((?P<target>[^)\s]+)\)")
# real-tenant examples: kept few, and each says why it is not run
MAX_SKIPPED = 12
STEP_TIMEOUT = 300
# pages run in parallel, each against emulators of its own
WORKERS = int(os.environ.get("KDP_DOCS_WORKERS", "3"))


@dataclass
class Step:
    page: str
    line: int
    kind: str
    arg: str = ""
    lang: str = ""
    text: str = ""
    options: list = field(default_factory=list)

    def __str__(self):
        return "%s:%d (%s %s)" % (self.page, self.line, self.kind, self.arg)


def parse(page: str):
    """(steps, problems) of a docs page: the marked blocks and hidden steps, in order."""
    lines = (DOCS / page).read_text(encoding="utf-8").splitlines()
    steps, problems = [], []
    pending = None  # a marker waiting for its block
    i = 0
    while i < len(lines):
        line = lines[i]
        marker = MARKER_RE.match(line)
        fence = FENCE_RE.match(line)
        if marker:
            kind, arg = marker.group("kind"), marker.group("arg")
            if kind not in KINDS:
                problems.append("%s:%d: unknown test marker %r" % (page, i + 1, kind))
            elif kind in HIDDEN:
                steps.append(Step(page, i + 1, kind, arg, "sh", arg, shlex.split(arg)))
            else:
                if pending:
                    problems.append("%s:%d: marker not followed by a fenced block" % (page, pending.line))
                pending = Step(page, i + 1, kind, arg, options=shlex.split(arg))
            i += 1
            continue
        if fence:
            indent, ticks = fence.group("indent"), fence.group("fence")
            lang = (fence.group("info").strip().split() or [""])[0].lower()
            body = []
            i += 1
            while i < len(lines) and not lines[i].strip().startswith(ticks):
                body.append(lines[i][len(indent) :] if lines[i].startswith(indent) else lines[i])
                i += 1
            i += 1  # the closing fence
            text = "\n".join(body) + "\n"
            if pending:
                pending.lang, pending.text = lang, text
                steps.append(pending)
                pending = None
            elif lang in EXAMPLE_LANGS:
                problems.append("%s:%d: a %s example without a <!-- test: ... --> marker" % (page, i, lang))
            continue
        if line.strip() and pending:
            problems.append("%s:%d: marker not followed by a fenced block" % (page, pending.line))
            pending = None
        i += 1
    if pending:
        problems.append("%s:%d: marker not followed by a fenced block" % (page, pending.line))
    return steps, problems


def all_steps():
    return {page: parse(page) for page in PAGES}


# -- role variables ------------------------------------------------------------------------------


def role_options(entry_point="main"):
    specs = yaml.safe_load(ROLE_SPECS.read_text(encoding="utf-8"))["argument_specs"]
    return specs[entry_point]["options"]


def check_role_vars(values: dict, where: str):
    """Type-check the azure_dcr_* variables of VALUES against the role's argument specs.

    Templated values are left alone (they are resolved at run time), and a
    missing required variable is not an error: a file may hold only some.
    """
    from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
    from ansible.module_utils.errors import RequiredError

    assert isinstance(values, dict), "%s: not a mapping of variables" % where
    params = {k: v for k, v in values.items() if k.startswith("azure_dcr_") and "{{" not in repr(v)}
    if not params:
        return
    result = ArgumentSpecValidator(role_options()).validate(params)
    errors = [str(e) for e in result.errors if not isinstance(e, RequiredError)]
    assert not errors, "%s: %s" % (where, "; ".join(errors))


# -- running a page -------------------------------------------------------------------------------


def workspace(tmp_path: Path) -> Path:
    """A directory that looks like the repository root but keeps what the page writes."""
    work = tmp_path / "work"
    work.mkdir()
    for entry in ROOT.iterdir():
        if entry.name not in (".git",):
            (work / entry.name).symlink_to(entry)
    return work


def shell_env(emulators, tmp_path: Path) -> dict:
    env = dict(os.environ)
    env.update(emulators.env())
    env.update(
        {
            "PATH": "%s:%s" % (VENV_BIN, env.get("PATH", "")),
            "ANSIBLE_COLLECTIONS_PATH": str(ensure_collection_path()),
            "ANSIBLE_COLLECTIONS_SCAN_SYS_PATH": "false",
            "ANSIBLE_LOCALHOST_WARNING": "false",
            "ANSIBLE_INVENTORY_UNPARSED_WARNING": "false",
            "ANSIBLE_NOCOLOR": "1",
            "ANSIBLE_RETRY_FILES_ENABLED": "false",
            "ANSIBLE_HOME": str(tmp_path / "ansible-home"),
            # what a reader keeps in a vault; the docs read them from these variables
            "DCR_DEVELOPER_EMAIL": emulators.endpoints["developer_email"],
            "DCR_DEVELOPER_PASSWORD": emulators.endpoints["developer_password"],
            # the emulators' admin API, for hidden steps (moving the clock...)
            "EMULATOR_ADMIN_URL": emulators.endpoints["admin_url"],
        }
    )
    env.pop("VIRTUAL_ENV", None)
    return env


def run_shell(step: Step, work: Path, env: dict):
    proc = subprocess.run(
        ["bash", "-e", "-o", "pipefail", "-c", step.text],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        timeout=STEP_TIMEOUT,
        check=False,
    )
    output = proc.stdout + proc.stderr
    if "fails" in step.options:
        assert proc.returncode != 0, "%s: expected a failure, got:\n%s" % (step, output[-4000:])
        for text in step.options[step.options.index("fails") + 1 :]:
            assert text in output, "%s: %r not in:\n%s" % (step, text, output[-4000:])
        return
    assert proc.returncode == 0, "%s exited %d:\n%s" % (step, proc.returncode, output[-6000:])


def run_step(step: Step, work: Path, env: dict, emulators):
    if step.kind == "skip":
        assert step.arg, "%s: say why the example is not run" % step
        return
    if step.kind in ("shell", "run"):
        run_shell(step, work, env)
    elif step.kind == "env":
        for item in step.options:
            name, equals, value = item.partition("=")
            assert name and equals, "%s: expected NAME=VALUE, got %r" % (step, item)
            env[name] = re.sub(r"\$(\w+)", lambda m: env.get(m.group(1), ""), value)
    elif step.kind == "file":
        assert step.options, "%s: file needs a path" % step
        path = work / step.options[0]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(step.text, encoding="utf-8")
        if step.lang in ("yaml", "yml"):
            data = yaml.safe_load(step.text)
            if path.parent.name in ("group_vars", "host_vars") or path.parent.parent.name in (
                "group_vars",
                "host_vars",
            ):
                check_role_vars(data or {}, str(step))
    elif step.kind == "vars":
        check_role_vars(yaml.safe_load(step.text), str(step))
    elif step.kind == "playbook":
        yaml.safe_load(step.text)
        expect_failure = "fails" in step.options
        result = run_playbook(step.text, env=env)
        if expect_failure:
            assert result.rc != 0, "%s: expected a failure, got:\n%s" % (step, result.output[-4000:])
            wanted = step.options[step.options.index("fails") + 1 :]
            for text in wanted:
                assert text in result.output, "%s: %r not in:\n%s" % (step, text, result.output[-4000:])
            return
        assert result.rc == 0, "%s failed:\n%s" % (step, result.output[-6000:])
        if "idempotent" in step.options:
            again = run_playbook(step.text, env=env)
            assert again.rc == 0 and again.changed() == 0, "%s: rerun not idempotent:\n%s" % (
                step,
                again.output[-6000:],
            )
    elif step.kind == "pytest":
        path = work / "test_docs_example.py"
        path.write_text(step.text, encoding="utf-8")
        pytest_env = dict(env, PYTHONPATH=str(ROOT / "tests"))
        proc = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "conftest", "-p", "no:cacheprovider", str(path)],
            cwd=work,
            env=pytest_env,
            capture_output=True,
            text=True,
            timeout=STEP_TIMEOUT,
            check=False,
        )
        assert proc.returncode == 0, "%s:\n%s\n%s" % (step, proc.stdout[-4000:], proc.stderr[-2000:])


# -- the tests ------------------------------------------------------------------------------------


def test_every_example_is_marked():
    problems = [problem for _steps, found in all_steps().values() for problem in found]
    assert not problems, "\n".join(problems)


def test_real_tenant_examples_are_few():
    skipped = [str(s) for steps, _problems in all_steps().values() for s in steps if s.kind == "skip"]
    assert len(skipped) <= MAX_SKIPPED, "too many examples are not run:\n" + "\n".join(skipped)


def run_page(page: str, base: Path):
    """Run the steps of PAGE against emulators of its own: (error or None, [(seconds, step)])."""
    timings = []
    steps, problems = parse(page)
    if problems:
        return "\n".join(problems), timings
    base.mkdir(parents=True)
    emulators = Emulators(base / "emulators")
    try:
        work = workspace(base)
        env = shell_env(emulators, base)
        for step in steps:
            started = time.monotonic()
            run_step(step, work, env, emulators)
            timings.append((time.monotonic() - started, str(step)))
        assert emulators.violations() == [], "the emulators broke their API contracts: %s" % emulators.violations()
        return None, timings
    except Exception as exc:  # reported by the page's test
        return "%s: %s" % (type(exc).__name__, exc), timings
    finally:
        emulators.stop()


RUNNABLE_PAGES = [p for p in PAGES if any(s.kind != "skip" for s in parse(p)[0])]


@pytest.fixture(scope="module")
def page_results(request, tmp_path_factory):
    """Every selected page, run WORKERS at a time (each with its own emulators)."""
    selected = sorted(
        {
            item.callspec.params["page"]
            for item in request.session.items
            if getattr(item, "originalname", None) == "test_page_examples_run" and hasattr(item, "callspec")
        }
    )
    base = tmp_path_factory.mktemp("pages")
    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        futures = {page: pool.submit(run_page, page, base / page.replace(".", "_")) for page in selected}
        return {page: future.result() for page, future in futures.items()}


@pytest.mark.parametrize("page", RUNNABLE_PAGES)
def test_page_examples_run(page, page_results):
    error, timings = page_results[page]
    for seconds, step in timings:
        print("%5.1fs %s" % (seconds, step))
    assert error is None, error


def anchors(path: Path) -> set:
    """The anchors GitHub makes for the headings of a Markdown file."""
    out = set()
    for line in path.read_text(encoding="utf-8").splitlines():
        heading = re.match(r"^#{1,6}\s+(.*?)\s*$", line)
        if heading:
            text = re.sub(r"[`*_]", "", heading.group(1)).lower()
            out.add(re.sub(r"\s", "-", re.sub(r"[^\w\s-]", "", text)))
    return out


def test_links_resolve():
    """Relative links of README.md and docs/*.md point at files (and headings) that exist."""
    broken = []
    for page in [ROOT / "README.md", *(DOCS / p for p in PAGES)]:
        for match in LINK_RE.finditer(page.read_text(encoding="utf-8")):
            target = match.group("target")
            if re.match(r"^[a-z]+:", target):
                continue
            file_part, _sep, anchor = target.partition("#")
            path = (page.parent / file_part).resolve() if file_part else page
            if not path.exists():
                broken.append("%s: %s" % (page.relative_to(ROOT), target))
            elif anchor and path.suffix == ".md" and anchor not in anchors(path):
                broken.append("%s: %s (no such heading)" % (page.relative_to(ROOT), target))
    assert not broken, "\n".join(broken)


def test_every_page_is_linked_from_the_indexes():
    index = (DOCS / "README.md").read_text(encoding="utf-8")
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    links = (DOCS / "docsite" / "links.yml").read_text(encoding="utf-8")
    guides = (DOCS / "docsite" / "rst" / "guides.rst").read_text(encoding="utf-8")
    missing = []
    for page in PAGES:
        if page == "README.md":
            continue
        if "(%s)" % page not in index:
            missing.append("docs/README.md does not link %s" % page)
        if "(docs/%s)" % page not in readme:
            missing.append("README.md does not link docs/%s" % page)
        if "docs/%s" % page not in links:
            missing.append("docs/docsite/links.yml does not link docs/%s" % page)
        if "docs/%s" % page not in guides:
            missing.append("docs/docsite/rst/guides.rst does not link docs/%s" % page)
    assert not missing, "\n".join(missing)


def test_readme_quick_start_is_two_commands():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```[a-z]*\n(.*?)```", section, re.S).group(1)
    commands = [line.split("#", 1)[0].strip() for line in block.splitlines() if line.strip()]
    assert commands == ["make demo", "make test"]


def test_role_variables_page_matches_the_argument_specs():
    """role-variables.md documents every option of every entry point, and the docs name no other."""
    documented = set(re.findall(r"\bazure_dcr_\w+", (DOCS / "role-variables.md").read_text(encoding="utf-8")))
    specs = yaml.safe_load(ROLE_SPECS.read_text(encoding="utf-8"))["argument_specs"]
    options = {name for entry in specs.values() for name in (entry.get("options") or {})}
    # the role's results, which the docs name too
    registered = set()
    for path in (ROLE_SPECS.parents[1] / "tasks").glob("*.yml"):
        registered |= set(re.findall(r"^\s*register:\s*(azure_dcr_\w+)", path.read_text(encoding="utf-8"), re.M))
    known = options | registered
    assert options - documented == set(), "not in docs/role-variables.md: %s" % sorted(options - documented)
    mentioned = set()
    for page in PAGES:
        text = (DOCS / page).read_text(encoding="utf-8")
        mentioned |= set(re.findall(r"(?<![_\w])azure_dcr_\w+", text))
    for path in (DOCS / "examples").rglob("*.yml"):
        mentioned |= set(re.findall(r"(?<![_\w])azure_dcr_\w+", path.read_text(encoding="utf-8")))
    assert mentioned - known == set(), "the docs name variables the role does not have: %s" % sorted(mentioned - known)


def test_example_inventory_matches_the_argument_specs():
    """docs/examples/inventory: every host's variables pass the role's argument specs."""
    inventory = ROOT / "docs" / "examples" / "inventory"
    env = dict(os.environ, ANSIBLE_INVENTORY_UNPARSED_WARNING="false", ANSIBLE_NOCOLOR="1")
    proc = subprocess.run(
        [str(VENV_BIN / "ansible-inventory"), "-i", str(inventory), "--list"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    hostvars = yaml.safe_load(proc.stdout)["_meta"]["hostvars"]
    assert sorted(hostvars) == ["dev", "prod", "staging"]
    for host, values in hostvars.items():
        check_role_vars(values, "docs/examples/inventory host %s" % host)
