"""`make demo`: the whole setup against the local emulators, then a short summary.

Starts the emulators of Entra ID, Microsoft Graph, Konnect and the Dev Portal,
runs the real playbooks konnect.devportal.setup and konnect.devportal.validate
for the "dev" environment of the example inventory (docs/examples/inventory),
with connection values from the environment as AWX would inject them, prints
what was created and each validation check - never a secret - and stops the
emulators. Exits non-zero when a step fails.
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
HOST = "dev"


def task_result(result, name):
    found = [t["result"] for t in result.tasks() if t["host"] == HOST and t["name"].endswith(" : " + name)]
    return found[-1] if found else {}


def main() -> int:
    work = Path(tempfile.mkdtemp(prefix="kdp-demo-"))
    print("Starting the emulators of Entra ID, Microsoft Graph, Konnect and the Dev Portal ...")
    emulators = Emulators(work / "emulators")
    try:
        endpoints = emulators.endpoints
        # the portal's developer account, for the validation's round trip
        developer = work / "developer.yml"
        developer.write_text(
            yaml.safe_dump(
                {
                    "all": {
                        "hosts": {
                            HOST: {
                                "azure_dcr_validate_developer": {
                                    "email": endpoints["developer_email"],
                                    "password": endpoints["developer_password"],
                                }
                            }
                        }
                    }
                }
            )
        )
        steps = [
            ("setup", "konnect.devportal.setup", []),
            ("validate", "konnect.devportal.validate", ["-i", str(developer)]),
        ]
        results = {}
        for label, playbook, args in steps:
            print("ansible-playbook %s -i docs/examples/inventory --limit %s ..." % (playbook, HOST), flush=True)
            started = time.monotonic()
            result = run_playbook(playbook, env=emulators.env(), inventory=INVENTORY, args=["--limit", HOST, *args])
            print("  rc=%d changed=%d (%.1f s)" % (result.rc, result.changed(), time.monotonic() - started))
            if result.rc != 0:
                print(result.output[-6000:], file=sys.stderr)
                print("demo: %s failed" % label, file=sys.stderr)
                return 1
            results[label] = result

        summary = task_result(results["setup"], "Summary of the setup").get("msg") or {}
        checks = task_result(results["validate"], "Report the validation checks").get("msg") or []
        checks = checks if isinstance(checks, list) else [checks]
        print()
        print("Konnect Dev Portal DCR with Microsoft Entra ID - environment %r" % HOST)
        for key, label in (
            ("tenant_id", "tenant"),
            ("client_id", "client id (initial client)"),
            ("issuer", "issuer"),
            ("dcr_provider", "DCR provider"),
            ("auth_strategy", "auth strategy"),
            ("secret", "client secret"),
        ):
            print("  %-27s %s" % (label, summary.get(key, "?")))
        for publication in summary.get("publications") or []:
            print("  %-27s %s" % ("publication", publication))
        print("Validation")
        for line in checks:
            print("  " + line)
        failed = [line for line in checks if ": FAILED" in line]
        if not summary or not checks or failed:
            print("demo: the validation did not pass", file=sys.stderr)
            return 1
        print("\ndemo: done; stopping the emulators")
        return 0
    finally:
        emulators.stop()


if __name__ == "__main__":
    sys.exit(main())
