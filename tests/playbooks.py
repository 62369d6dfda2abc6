"""`make playbooks`: the collection's real playbooks against fresh emulators.

Runs, with the example inventory (dev, staging and prod) and connection values
from the environment, as AWX injects them:

    setup          every environment set up
    setup          again: changed=0 and not one write request
    validate       every check passes (dev also does a developer's round trip)
    rotate_secret  a new secret everywhere; the providers still verify, and
                   exactly one secret of each name remains
    cleanup        everything the role made is gone from Graph and Konnect
    cleanup        again: changed=0 and not one write request

A write is a request that changes something in Graph, Konnect or the portal
(POST/PUT/PATCH/DELETE), not counting the sign-in's token requests and
Konnect's provider verification (a check that changes nothing). Prints a table
of the runs and exits non-zero on the first failure.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import ROOT, Emulators, run_playbook

INVENTORY = ROOT / "docs" / "examples" / "inventory"
ENVS = ("dev", "staging", "prod")
WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


class Failure(Exception):
    pass


def check(condition, message):
    if not condition:
        raise Failure(message)


def writes(emulators, since):
    return [
        "%s %s %s" % (r["service"], r["method"], r["path"])
        for r in emulators.requests(since)
        if r["service"] != "entra" and r["method"] in WRITE_METHODS and not r["path"].endswith("/verify")
    ]


def our_objects(emulators):
    """What the role made, per environment, as the emulators hold it."""
    state = emulators.state()
    graph = state["graph"]["tenants"][emulators.endpoints["tenant_id"]]
    konnect = state["konnect"]
    out = {}
    for env in ENVS:
        apps = [a for a in graph["applications"] if a.get("uniqueName") == "konnect-dcr-" + env]
        out[env] = {
            "apps": apps,
            "secrets": [
                c["keyId"] for a in apps for c in a["passwordCredentials"] if c["displayName"] == "konnect-dcr-" + env
            ],
            "deleted": [d for d in graph["deletedItems"] if d.get("uniqueName") == "konnect-dcr-" + env],
            "providers": [p for p in konnect["dcr_providers"] if p["name"] == "azure-dcr-" + env],
            "strategies": [s for s in konnect["application_auth_strategies"] if s["name"] == "azure-dcr-" + env],
        }
    out["publications"] = konnect["publications"]
    return out


def report_checks(result):
    """{host: [check lines]} of the validation report tasks."""
    out = {}
    for t in result.tasks():
        if t["name"].endswith(" : Report the validation checks"):
            msg = t["result"].get("msg")
            out[t["host"]] = msg if isinstance(msg, list) else [msg]
    return out


def main() -> int:
    work = Path(tempfile.mkdtemp(prefix="kdp-playbooks-"))
    emulators = Emulators(work / "emulators")
    # the developer account for dev's round trip in the validate run, as a vaulted file would hold it
    developer = work / "developer.yml"
    developer.write_text(
        yaml.safe_dump(
            {
                "all": {
                    "hosts": {
                        "dev": {
                            "azure_dcr_validate_developer": {
                                "email": emulators.endpoints["developer_email"],
                                "password": emulators.endpoints["developer_password"],
                            }
                        }
                    }
                }
            }
        )
    )
    rows = []

    def play(label, playbook, extra_vars=None, inventories=()):
        mark = emulators.mark()
        started = time.monotonic()
        args = [arg for inventory in inventories for arg in ("-i", str(inventory))]
        result = run_playbook(playbook, env=emulators.env(), inventory=INVENTORY, args=args, extra_vars=extra_vars)
        seconds = time.monotonic() - started
        done = writes(emulators, mark)
        rows.append((label, result.rc, result.changed(), len(done), seconds))
        check(result.rc == 0, "%s failed:\n%s" % (label, result.output[-6000:]))
        check(sorted(result.stats()) == sorted(ENVS), "%s did not run on every host: %s" % (label, result.stats()))
        return result, done

    try:
        first, done = play("setup", "konnect.devportal.setup")
        check(first.changed() > 0 and done, "the first setup changed nothing")
        objects = our_objects(emulators)
        for env in ENVS:
            check(len(objects[env]["apps"]) == 1 and len(objects[env]["secrets"]) == 1, "setup: %s app/secret" % env)
            check(
                len(objects[env]["providers"]) == 1 and len(objects[env]["strategies"]) == 1, "setup: %s Konnect" % env
            )

        second, done = play("setup again", "konnect.devportal.setup")
        check(second.changed() == 0, "the second setup reported changes")
        check(done == [], "the second setup wrote: %s" % done)

        validation, _done = play("validate", "konnect.devportal.validate", inventories=[developer])
        found = report_checks(validation)
        check(sorted(found) == sorted(ENVS), "validate: no report for some host: %s" % found)
        for host, lines in found.items():
            check(not [line for line in lines if ": FAILED" in line], "validate %s: %s" % (host, lines))
        check(any(line.startswith("developer_round_trip: ok") for line in found["dev"]), "no round trip: %s" % found)

        before = {env: objects[env]["secrets"] for env in ENVS}
        rotation, done = play("rotate_secret", "konnect.devportal.rotate_secret")
        objects = our_objects(emulators)
        for env in ENVS:
            secrets = objects[env]["secrets"]
            check(len(secrets) == 1 and secrets != before[env], "rotate_secret: %s secrets %s" % (env, secrets))
            held = objects[env]["providers"][0]["labels"].get("azure-dcr-key-id")
            check(held == secrets[0], "rotate_secret: %s provider holds %s, Azure has %s" % (env, held, secrets))
        for host, lines in report_checks(rotation).items():
            check(any(line.startswith("provider_verify: ok") for line in lines), "rotate %s: %s" % (host, lines))

        # a survey-style string, as AWX sends it
        gone = {"azure_dcr_app_permanently_delete": "true"}
        cleanup, done = play("cleanup", "konnect.devportal.cleanup", extra_vars=gone)
        check(cleanup.changed() > 0 and done, "cleanup changed nothing")
        objects = our_objects(emulators)
        for env in ENVS:
            left = {k: v for k, v in objects[env].items() if v}
            check(not left, "cleanup left objects of %s: %s" % (env, left))
        check(objects["publications"] == [], "cleanup left publications: %s" % objects["publications"])

        again, done = play("cleanup again", "konnect.devportal.cleanup", extra_vars=gone)
        check(again.changed() == 0, "the second cleanup reported changes")
        check(done == [], "the second cleanup wrote: %s" % done)
        check(emulators.violations() == [], "contract violations: %s" % emulators.violations())
        failure = None
    except Failure as exc:
        failure = exc
    finally:
        emulators.stop()

    print("\n%-15s %4s %8s %7s %8s" % ("playbook", "rc", "changed", "writes", "seconds"))
    for label, rc, changed, count, seconds in rows:
        print("%-15s %4d %8d %7d %8.1f" % (label, rc, changed, count, seconds))
    print("total %.1f s" % sum(r[4] for r in rows))
    if failure:
        print("\nFAILED: %s" % failure, file=sys.stderr)
        return 1
    print("\nplaybooks: every check passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
