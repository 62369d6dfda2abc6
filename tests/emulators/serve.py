"""Start the Entra ID, Microsoft Graph, Konnect and Dev Portal emulators.

    python tests/emulators/serve.py --state-dir DIR [--seed FILE] [--latency-ms N]
        [--fault-rate F] [--fault-seed N] [--consistency-delay S] [--rate-limit N]

Writes DIR/ca.pem, DIR/endpoints.json and DIR/env.sh once every listener is
up, appends every request to DIR/requests.jsonl, and serves until SIGTERM or
SIGINT.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import signal
import sys
import threading
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from entra import Entra
from framework import Request, Response, Service, World, make_tls, route
from graph import Graph
from konnect import Konnect
from portal import Portal
from seeds import DEFAULT_SEED

ENV_SH = {
    "AZURE_TENANT": "tenant_id",
    "AZURE_CLIENT_ID": "automation_client_id",
    "AZURE_SECRET": "automation_client_secret",
    "AZURE_AUTHORITY_HOST": "authority_host",
    "AZURE_GRAPH_URL": "graph_url",
    "KONNECT_TOKEN": "konnect_token",
    "KONNECT_SERVER_URL": "konnect_url",
    "REQUESTS_CA_BUNDLE": "ca_path",
}


class Admin(Service):
    """Test control: state, request log, faults, seed, reset, clock."""

    name = "admin"

    def __init__(self, world: World, initial_seed: dict):
        super().__init__(world)
        self.initial_seed = initial_seed

    def endpoints(self):
        return {"admin_url": self.world.url_of("admin")}

    @route("GET", "/state")
    def get_state(self, req: Request) -> Response:
        return Response.json(200, self.world.state())

    @route("GET", "/requests")
    def get_requests(self, req: Request) -> Response:
        since = int(req.arg("since", "0"))
        return Response.json(200, self.world.requests[since:])

    @route("POST", "/faults")
    def post_faults(self, req: Request) -> Response:
        body = req.json()
        world = self.world
        world.faults.configure(body.get("fault_rate"), body.get("fault_seed"))
        if "latency_ms" in body:
            world.latency_ms = int(body["latency_ms"])
        if "consistency_delay" in body:
            world.consistency_delay = float(body["consistency_delay"])
        if "rate_limit" in body:
            world.rate_limiter.per_second = int(body["rate_limit"])
        return Response.json(200, self._settings())

    @route("POST", "/seed")
    def post_seed(self, req: Request) -> Response:
        self.world.seed(req.json())
        return Response.json(200, self.world.state())

    @route("POST", "/reset")
    def post_reset(self, req: Request) -> Response:
        self.world.reset()
        self.world.seed(self.initial_seed)
        return Response.json(200, self.world.state())

    @route("POST", "/clock")
    def post_clock(self, req: Request) -> Response:
        self.world.clock.advance_days(float(req.json().get("advance_days", 0)))
        return Response.json(
            200, {"now": self.world.clock.utcnow().isoformat(), "offset_days": self.world.clock.offset / 86400}
        )

    def _settings(self):
        w = self.world
        return {
            "fault_rate": w.faults.rate,
            "fault_seed": w.faults.seed,
            "latency_ms": w.latency_ms,
            "consistency_delay": w.consistency_delay,
            "rate_limit": w.rate_limiter.per_second,
        }


def build(args) -> World:
    state_dir = Path(args.state_dir)
    state_dir.mkdir(parents=True, exist_ok=True)
    for stale in ("endpoints.json", "env.sh", "requests.jsonl", "contract-violations.jsonl"):
        (state_dir / stale).unlink(missing_ok=True)
    world = World(
        state_dir,
        latency_ms=args.latency_ms,
        fault_rate=args.fault_rate,
        fault_seed=args.fault_seed,
        consistency_delay=args.consistency_delay,
        rate_limit=args.rate_limit,
    )
    world.ssl_context, world.ca_path, world.ca = make_tls(state_dir)
    seed = json.loads(Path(args.seed).read_text(encoding="utf-8")) if args.seed else DEFAULT_SEED
    for service in (Entra(world), Graph(world), Konnect(world), Portal(world), Admin(world, seed)):
        world.add_service(service)
    for name in ("entra", "graph", "konnect", "admin"):
        world.listen(world.services[name])
    world.seed(seed)
    return world


def write_endpoints(world: World) -> dict:
    endpoints = world.endpoints()
    state_dir = world.state_dir
    tmp = state_dir / "endpoints.json.tmp"
    tmp.write_text(json.dumps(endpoints, indent=2) + "\n", encoding="utf-8")
    lines = [f"export {var}={shlex.quote(str(endpoints.get(key, '')))}" for var, key in ENV_SH.items()]
    env_sh = state_dir / "env.sh"
    env_sh.write_text("\n".join(lines) + "\n", encoding="utf-8")
    os.chmod(env_sh, 0o600)
    tmp.replace(state_dir / "endpoints.json")
    return endpoints


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--state-dir", required=True)
    parser.add_argument("--seed", help="JSON seed document (default: the built-in seed)")
    parser.add_argument("--latency-ms", type=int, default=0)
    parser.add_argument("--fault-rate", type=float, default=0.0)
    parser.add_argument("--fault-seed", type=int, default=0)
    parser.add_argument("--consistency-delay", type=float, default=0.0)
    parser.add_argument("--rate-limit", type=int, default=0, help="requests per second per service (0: off)")
    args = parser.parse_args(argv)
    world = build(args)
    write_endpoints(world)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    world.shutdown()


if __name__ == "__main__":
    main()
