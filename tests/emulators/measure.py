"""Measure the emulators: startup time and requests per second on loopback.

    .venv/bin/python tests/emulators/measure.py [--requests N]

Prints one line per figure. The acceptance bar (issue 3): start in under 3 s,
serve at least 200 requests per second with no added latency.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from harness import Emulators


def rate(session, method, url, n, **kwargs):
    start = time.perf_counter()
    for _ignored in range(n):
        r = session.request(method, url, **kwargs)
        r.raise_for_status()
    return n / (time.perf_counter() - start)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=500)
    n = parser.parse_args().requests
    emu = Emulators(Path(tempfile.mkdtemp(prefix="kdp-measure-")))
    try:
        e = emu.endpoints
        print(f"startup: {emu.startup_seconds:.2f} s")
        s = requests.Session()
        s.trust_env = False
        s.verify = e["ca_path"]
        konnect = {"Authorization": "Bearer " + e["konnect_token"]}
        for i in range(10):
            s.post(
                e["konnect_url"] + "/v2/dcr-providers",
                headers=konnect,
                json={
                    "name": f"measure-{i}",
                    "provider_type": "azureAd",
                    "issuer": "https://sts.windows.net/" + e["tenant_id"],
                    "dcr_config": {"initial_client_id": "x", "initial_client_secret": "y"},
                },
            ).raise_for_status()
        token = s.post(
            f"{e['authority_host']}/{e['tenant_id']}/oauth2/v2.0/token",
            data={
                "grant_type": "client_credentials",
                "client_id": e["automation_client_id"],
                "client_secret": e["automation_client_secret"],
                "scope": "https://graph.microsoft.com/.default",
            },
        ).json()["access_token"]
        graph = {"Authorization": "Bearer " + token}
        figures = {
            "konnect GET /v2/dcr-providers (10 providers)": rate(
                s, "GET", e["konnect_url"] + "/v2/dcr-providers", n, headers=konnect
            ),
            "konnect GET /v3/portals": rate(s, "GET", e["konnect_url"] + "/v3/portals", n, headers=konnect),
            "graph GET /v1.0/applications?$select=id,appId": rate(
                s, "GET", e["graph_url"] + "/v1.0/applications?$select=id,appId", n, headers=graph
            ),
            "entra GET v2 openid-configuration": rate(
                s, "GET", f"{e['authority_host']}/{e['tenant_id']}/v2.0/.well-known/openid-configuration", n
            ),
        }
        for name, value in figures.items():
            print(f"{name}: {value:.0f} req/s")
    finally:
        emu.stop()


if __name__ == "__main__":
    main()
