"""HTTPS plumbing shared by every emulated service.

A ``Service`` owns a set of routes and speaks its real API's error format.
A ``World`` holds what all services share: the object store, the emulated
clock, the fault injector, the rate limiter, the request log and the
contract checker. ``Listener`` serves one service on one loopback port.
"""

from __future__ import annotations

import datetime as dt
import http.server
import json
import random
import re
import socket
import ssl
import threading
import time
import urllib.parse
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

JSON_TYPES = ("application/json", "application/problem+json")
WRITE_METHODS = ("POST", "PUT", "PATCH", "DELETE")


class Request:
    """One parsed HTTP request."""

    def __init__(self, method, raw_path, headers, body, scope=None):
        self.method = method.upper()
        parsed = urllib.parse.urlsplit(raw_path)
        self.path = urllib.parse.unquote(parsed.path)
        self.raw_query = parsed.query
        self.query: dict[str, list[str]] = urllib.parse.parse_qs(parsed.query, keep_blank_values=True)
        self.headers = {k.lower(): v for k, v in headers.items()}
        self.body = body or b""
        self.scope = scope or {}
        self.params: dict[str, str] = {}  # filled from the route's named groups
        self.request_id = str(uuid.uuid4())

    def arg(self, name, default=None):
        values = self.query.get(name)
        return values[0] if values else default

    @property
    def content_type(self):
        return self.headers.get("content-type", "").split(";")[0].strip().lower()

    def json(self):
        """The body as JSON; raises BadJson when it is not."""
        if not self.body:
            raise BadJson("empty body")
        try:
            return json.loads(self.body)
        except ValueError as exc:
            raise BadJson(str(exc)) from exc

    def form(self) -> dict[str, str]:
        pairs = urllib.parse.parse_qsl(self.body.decode("utf-8", "replace"), keep_blank_values=True)
        return dict(pairs)

    def cookies(self) -> dict[str, str]:
        out = {}
        for part in self.headers.get("cookie", "").split(";"):
            if "=" in part:
                k, v = part.split("=", 1)
                out[k.strip()] = v.strip()
        return out

    def bearer(self):
        auth = self.headers.get("authorization", "")
        if auth[:7].lower() == "bearer ":
            return auth[7:].strip()
        return None

    def logged_body(self):
        return _parse_body(self.body, self.content_type)


class BadJson(Exception):
    pass


@dataclass
class Response:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    # set by the framework: which fault was injected, and whether to drop the reply
    fault: str | None = None
    lose: bool = False
    skip_contract: bool = False

    @classmethod
    def json(cls, status, obj, content_type="application/json", headers=None):
        h = {"Content-Type": content_type}
        h.update(headers or {})
        return cls(status, json.dumps(obj).encode(), h)

    @classmethod
    def empty(cls, status=204, headers=None):
        return cls(status, b"", dict(headers or {}))

    @property
    def content_type(self):
        return self.headers.get("Content-Type", "").split(";")[0].strip().lower()

    def logged_body(self):
        return _parse_body(self.body, self.content_type)


def _parse_body(body, content_type):
    if not body:
        return None
    if content_type in JSON_TYPES or content_type.endswith("+json"):
        try:
            return json.loads(body)
        except ValueError:
            pass
    if content_type == "application/x-www-form-urlencoded":
        return dict(urllib.parse.parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
    return body.decode("utf-8", "replace")


def route(method: str, pattern: str, faults: bool = True):
    """Mark a Service method as the handler of METHOD PATTERN.

    PATTERN is a regex matched against the whole path; named groups become
    ``request.params``. ``faults=False`` exempts the route from injected faults
    (discovery documents, say).
    """

    def mark(fn):
        fn.__dict__.setdefault("_routes", []).append((method.upper(), re.compile(pattern + r"\Z"), faults))
        return fn

    return mark


class Service:
    """Base of an emulated service: routing plus the service's error format.

    Subclasses set ``name`` (the request log's ``service``), decorate handlers
    with ``@route`` and override the error builders.
    """

    name = "service"
    contract = None  # a contract.Contract, or None

    def __init__(self, world: World):
        self.world = world
        self._routes = []
        for attr in dir(type(self)):
            fn = getattr(type(self), attr)
            for method, rx, faults in getattr(fn, "_routes", ()):
                self._routes.append((method, rx, faults, getattr(self, attr)))

    # -- routing -------------------------------------------------------
    def match(self, req: Request):
        """(handler, faults_allowed) for the request, or an error Response."""
        allowed = []
        for method, rx, faults, handler in self._routes:
            m = rx.match(req.path)
            if m:
                if method == req.method:
                    req.params = {k: v for k, v in m.groupdict().items() if v is not None}
                    return handler, faults
                allowed.append(method)
        if allowed:
            return self.method_not_allowed(req, sorted(allowed)), False
        return self.not_found(req), False

    # -- the service's own error formats (override) ---------------------
    def not_found(self, req: Request) -> Response:
        return Response.json(404, {"message": "Not Found"})

    def method_not_allowed(self, req: Request, allowed) -> Response:
        return Response.json(405, {"message": "Method Not Allowed"}, headers={"Allow": ", ".join(allowed)})

    def bad_json(self, req: Request, detail: str) -> Response:
        return Response.json(400, {"message": "Malformed JSON: " + detail})

    def throttled(self, req: Request, retry_after: int) -> Response:
        return Response.json(429, {"message": "Too Many Requests"}, headers={"Retry-After": str(retry_after)})

    def unavailable(self, req: Request) -> Response:
        return Response.json(503, {"message": "Service Unavailable"}, headers={"Retry-After": "1"})

    def invalid_request(self, req: Request, errors: list[str]) -> Response:
        """What the real service answers to a request its contract rejects."""
        return Response.json(400, {"message": "; ".join(errors)})

    # -- admin hooks ---------------------------------------------------
    def seed(self, data: dict) -> None:
        """Add objects from a seed document (the whole document is passed)."""

    def reset(self) -> None:
        """Forget every object."""

    def state(self) -> dict:
        return {}

    def endpoints(self) -> dict:
        """Extra keys this service contributes to endpoints.json."""
        return {}

    def headers(self, req: Request) -> dict:
        """Headers added to every response of this service."""
        return {}


class Clock:
    """Emulated time: real time plus an offset an admin can advance."""

    def __init__(self):
        self.offset = 0.0

    def now(self) -> float:
        return time.time() + self.offset

    def utcnow(self) -> dt.datetime:
        return dt.datetime.fromtimestamp(self.now(), dt.timezone.utc)

    def advance_days(self, days: float) -> None:
        self.offset += days * 86400


class FaultInjector:
    """Seeded, reproducible faults: 429, 503 and lost responses after a write."""

    KINDS = ("429", "503", "lost")

    def __init__(self, rate=0.0, seed=0):
        self.rate = rate
        self.seed = seed
        self.rng = random.Random(seed)
        self.lock = threading.Lock()

    def configure(self, rate=None, seed=None):
        with self.lock:
            if rate is not None:
                self.rate = float(rate)
            if seed is not None:
                self.seed = int(seed)
                self.rng = random.Random(self.seed)

    def draw(self, method: str) -> str | None:
        with self.lock:
            if self.rate <= 0 or self.rng.random() >= self.rate:
                return None
            kinds = self.KINDS if method in WRITE_METHODS else self.KINDS[:2]
            return self.rng.choice(kinds)


class RateLimiter:
    """A fixed one-second window per service, like Kong's rate-limiting plugin."""

    def __init__(self, per_second=0):
        self.per_second = per_second
        self.windows: dict[str, tuple[int, int]] = {}
        self.lock = threading.Lock()

    def check(self, service: str):
        """None when allowed, else (limit, remaining, reset_seconds)."""
        if not self.per_second:
            return None
        with self.lock:
            window = int(time.time())
            start, count = self.windows.get(service, (window, 0))
            if start != window:
                start, count = window, 0
            count += 1
            self.windows[service] = (start, count)
            if count > self.per_second:
                return (self.per_second, 0, 1)
            return None


class World:
    """Everything the services share."""

    def __init__(
        self, state_dir: Path, latency_ms=0, fault_rate=0.0, fault_seed=0, consistency_delay=0.0, rate_limit=0
    ):
        self.state_dir = Path(state_dir)
        self.lock = threading.RLock()
        self.clock = Clock()
        self.latency_ms = latency_ms
        self.consistency_delay = consistency_delay
        self.faults = FaultInjector(fault_rate, fault_seed)
        self.rate_limiter = RateLimiter(rate_limit)
        self.services: dict[str, Service] = {}
        self.listeners: list[Listener] = []
        self.ssl_context: ssl.SSLContext | None = None
        self.ca_path: str | None = None
        self._log_lock = threading.Lock()
        self.log_path = self.state_dir / "requests.jsonl"
        self.violations_path = self.state_dir / "contract-violations.jsonl"
        self.requests: list[dict] = []

    # -- services and listeners -----------------------------------------
    def add_service(self, service: Service) -> Service:
        self.services[service.name] = service
        return service

    def listen(self, service: Service, scope=None) -> Listener:
        listener = Listener(self, service, scope)
        listener.start()
        self.listeners.append(listener)
        return listener

    def open_portal(self, portal_id: str) -> str:
        """Start a listener serving one portal's developer API; its netloc."""
        listener = self.listen(self.services["portal"], scope={"portal_id": portal_id})
        return listener.netloc

    def close_portal(self, portal_id: str) -> None:
        for listener in list(self.listeners):
            if listener.scope.get("portal_id") == portal_id:
                listener.stop()
                self.listeners.remove(listener)

    def url_of(self, service_name: str) -> str:
        for listener in self.listeners:
            if listener.service.name == service_name and not listener.scope:
                return listener.url
        raise KeyError(service_name)

    # -- the request pipeline --------------------------------------------
    def handle(self, service: Service, req: Request) -> Response:
        if self.latency_ms:
            time.sleep(self.latency_ms / 1000.0)
        resp = self._dispatch(service, req)
        for k, v in service.headers(req).items():
            resp.headers.setdefault(k, v)
        self._log(service, req, resp)
        return resp

    def _dispatch(self, service: Service, req: Request) -> Response:
        matched, faults_allowed = service.match(req)
        if isinstance(matched, Response):
            return matched
        if service.name != "admin":
            limited = self.rate_limiter.check(service.name)
            if limited:
                resp = service.throttled(req, limited[2])
                resp.fault, resp.skip_contract = "rate_limit", True
                return resp
        # the admin API is never faulted: a test must always be able to turn faults off again
        fault = self.faults.draw(req.method) if faults_allowed and service.name != "admin" else None
        if fault == "429":
            resp = service.throttled(req, 1)
            resp.fault, resp.skip_contract = "429", True
            return resp
        if fault == "503":
            resp = service.unavailable(req)
            resp.fault, resp.skip_contract = "503", True
            return resp
        if service.contract is not None:
            errors = service.contract.check_request(req)
            if errors:
                return service.invalid_request(req, errors)
        try:
            resp = matched(req)
        except BadJson as exc:
            return service.bad_json(req, str(exc))
        if service.contract is not None and not resp.skip_contract:
            errors = service.contract.check_response(req, resp)
            if errors:
                self._violation(service, req, resp, errors)
                return Response.json(
                    500, {"emulator_contract_violation": errors, "service": service.name, "path": req.path}
                )
        if fault == "lost":
            resp.fault, resp.lose = "lost", True
        return resp

    def _violation(self, service, req, resp, errors):
        record = {
            "service": service.name,
            "method": req.method,
            "path": req.path,
            "status": resp.status,
            "errors": errors,
            "response_body": resp.logged_body(),
        }
        with self._log_lock, open(self.violations_path, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(record) + "\n")

    def _log(self, service: Service, req: Request, resp: Response):
        record = {
            "ts": time.time(),
            "service": service.name,
            "method": req.method,
            "path": req.path,
            "query": req.raw_query,
            "status": resp.status,
            "request_body": req.logged_body(),
            "response_body": resp.logged_body(),
            "fault": resp.fault,
        }
        if service.name == "admin":
            return
        with self._log_lock:
            self.requests.append(record)
            with open(self.log_path, "a", encoding="utf-8") as fh:
                fh.write(json.dumps(record) + "\n")

    # -- admin -------------------------------------------------------------
    def seed(self, data: dict):
        with self.lock:
            for service in list(self.services.values()):
                service.seed(data)

    def reset(self):
        with self.lock:
            for service in self.services.values():
                service.reset()
            self.clock.offset = 0.0
            with self._log_lock:
                self.requests.clear()
                self.log_path.write_text("", encoding="utf-8")

    def state(self) -> dict:
        with self.lock:
            return {name: svc.state() for name, svc in self.services.items() if name != "admin"}

    def endpoints(self) -> dict:
        out = {"ca_path": self.ca_path}
        for svc in self.services.values():
            out.update(svc.endpoints())
        return out

    def shutdown(self):
        for listener in self.listeners:
            listener.stop()


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "emulator"
    sys_version = ""

    def log_message(self, *args):  # the World keeps its own log
        pass

    def date_time_string(self, timestamp=None):
        # the Date header follows the emulated clock, as clients may judge expiry by it
        return super().date_time_string(self.server.listener.world.clock.now() if timestamp is None else timestamp)

    def _serve(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        listener: Listener = self.server.listener  # type: ignore[attr-defined]
        req = Request(self.command, self.path, dict(self.headers.items()), body, listener.scope)
        try:
            resp = listener.world.handle(listener.service, req)
        except Exception as exc:  # an emulator bug must be loud
            resp = Response.json(500, {"emulator_error": f"{type(exc).__name__}: {exc}"})
        if resp.lose:
            # the write happened; the reply never arrives
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return
        self.send_response(resp.status)
        for k, v in resp.headers.items():
            if k.lower() == "set-cookie" and isinstance(v, list):
                for item in v:
                    self.send_header(k, item)
            else:
                self.send_header(k, v)
        self.send_header("Content-Length", str(len(resp.body)))
        self.end_headers()
        if self.command != "HEAD" and resp.body:
            self.wfile.write(resp.body)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _serve


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128

    def get_request(self):
        sock, addr = super().get_request()
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return sock, addr


class Listener:
    """One service on one HTTPS port of 127.0.0.1."""

    def __init__(self, world: World, service: Service, scope=None, host="127.0.0.1", port=0, context=None):
        self.world = world
        self.service = service
        self.scope = scope or {}
        self.server = _Server((host, port), _Handler)
        self.server.listener = self  # type: ignore[attr-defined]
        ctx = context or world.ssl_context
        if ctx is not None:
            self.server.socket = ctx.wrap_socket(self.server.socket, server_side=True, do_handshake_on_connect=False)
        self.host, self.port = self.server.server_address[:2]
        self.thread: threading.Thread | None = None

    @property
    def netloc(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def url(self) -> str:
        return f"https://{self.netloc}"

    def start(self):
        self.thread = threading.Thread(
            target=self.server.serve_forever, name=f"emulator-{self.service.name}", daemon=True
        )
        self.thread.start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


def make_tls(state_dir: Path):
    """A CA (written to ca.pem) and a server context for 127.0.0.1/localhost."""
    import trustme

    ca = trustme.CA(organization_name="konnect.devportal emulators")
    cert = ca.issue_cert("127.0.0.1", "localhost")
    ca_path = Path(state_dir) / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_path))
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(ctx)
    return ctx, str(ca_path), ca


def iso(ts: float) -> str:
    """RFC 3339 UTC with a Z, as both Graph and Konnect write timestamps."""
    return dt.datetime.fromtimestamp(ts, dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


Handler = Callable[[Request], Response]
Json = Any
