"""Kong Konnect control plane: DCR providers, auth strategies, portals, APIs, publications.

Follows ../shared/specs (AAS v2, API Builder v3, Portal Management v3) and the
behaviours in research/konnect-api.md. Where both are silent the emulator is
strict, so the collection learns about the case in tests rather than in
production:

- duplicate names of DCR providers and auth strategies are accepted (no 409
  is documented); portal names and API ``name+version`` are unique (409);
- deleting a DCR provider still referenced by an auth strategy, and deleting
  a portal with publications without ``force``, answer 409 (not in the spec);
- unknown top-level keys on ``POST /v2/dcr-providers`` are refused although
  that schema does not say ``additionalProperties: false``;
- PATCH labels merge, ``null`` deletes a key, omitted keys are kept;
- default page size 10, maximum 100.

When a DCR provider is verified, or a developer creates a DCR application in
a portal, Konnect acts as the provider's initial client against the Entra and
Graph emulators over real HTTPS (``AzureDcr``), never through their internals.
"""

from __future__ import annotations

import base64
import datetime as dt
import functools
import hashlib
import json
import re
import time
import urllib.parse
import uuid

import requests

from contract import Contract
from framework import Request, Response, Service, iso, route

ID = r"(?P<{}>[^/]+)"
PROBLEM = "application/problem+json"
TITLES = {
    400: "Invalid Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    409: "Conflict",
    415: "Unsupported Media Type",
}
# rules a BadRequestError may carry (InvalidRules plus the min/max/enum variants)
RULES = {
    "required", "is_array", "is_base64", "is_boolean", "is_date_time", "is_integer", "is_null", "is_number",
    "is_object", "is_string", "is_uuid", "is_fqdn", "is_arn", "unknown_property", "missing_reference", "is_label",
    "matches_regex", "invalid", "type", "enum", "min_length", "min_items", "min", "max_length", "max_items", "max",
}  # fmt: skip
SECRET_KEYS = ("initial_client_secret", "dcr_token", "api_key")
# dcr_config keys a request may carry, per provider type (the spec's Create/Update schemas)
DCR_CONFIG_KEYS = {
    "auth0": {"initial_client_id", "initial_client_secret", "initial_client_audience", "use_developer_managed_scopes"},
    "azureAd": {"initial_client_id", "initial_client_secret"},
    "curity": {"initial_client_id", "initial_client_secret"},
    "okta": {"dcr_token"},
    "kongIdentity": set(),
    "http": {"dcr_base_url", "api_key", "disable_event_hooks", "disable_refresh_secret", "allow_multiple_credentials"},
}
PROVIDER_CREATE_KEYS = {"provider_type", "dcr_config", "name", "display_name", "issuer", "labels"}
AZURE_ISSUER = re.compile(r"https://sts\.windows\.net/(?P<tid>[0-9a-fA-F-]{36})")
LABEL_KEY = re.compile(r"(?!kong|konnect|mesh|kic|_).{1,63}", re.S)
FILTER_KEY = r"\[([^\[\]]+)\](?:\[([^\[\]]+)\])?"  # after "filter": [field] or [field][op]
OPERATORS = {
    "string": ("eq", "contains", "ocontains", "oeq", "neq"),
    "uuid": ("eq", "oeq", "neq"),
    "bool": ("eq",),
    "datetime": ("eq", "lt", "lte", "gt", "gte"),
}
DEFAULT_PAGE_SIZE = 10
MAX_PAGE_SIZE = 100
GRAPH_SCOPE = "https://graph.microsoft.com/.default"
DCR_ROLES = ("Application.ReadWrite.OwnedBy", "Application.ReadWrite.All")


def trace(req: Request) -> str:
    return "kong:trace:%d" % (uuid.UUID(req.request_id).int % 10**19)


def is_uuid(value) -> bool:
    try:
        return str(uuid.UUID(str(value))) == str(value).lower()
    except ValueError:
        return False


def is_url(value) -> bool:
    parts = urllib.parse.urlsplit(str(value))
    return parts.scheme in ("http", "https") and bool(parts.netloc) and " " not in str(value)


class Problem(Exception):
    """An error answer in Konnect's problem+json format.

    ``off_spec`` marks answers the spec does not list for the operation (a
    documented emulator decision), so the contract check lets them through.
    """

    def __init__(self, status, detail=None, invalid=None, title=None, off_spec=False, instance=None):
        super().__init__(detail)
        self.status = status
        self.detail = detail or TITLES.get(status, "Error")
        self.invalid = invalid
        self.title = title or TITLES.get(status, "Error")
        self.off_spec = off_spec
        self.instance = instance


def bad(field, reason, rule="invalid", source="body", **extra) -> Problem:
    """A 400 about one field."""
    return Problem(400, "Invalid Parameters", [dict(field=field, rule=rule, reason=reason, source=source, **extra)])


def missing(what) -> Problem:
    return Problem(404, f"{what} not found")


def check_labels(labels, field="labels"):
    for key in labels or {}:
        if not LABEL_KEY.fullmatch(key):
            raise bad(
                f"{field}.{key}",
                "label keys must be 1-63 characters and must not start with kong, konnect, mesh, kic or _",
                rule="is_label",
            )


def merge_labels(current: dict, update) -> dict:
    """LabelsUpdate: merge; a null value deletes the key; null clears all."""
    if update is None:
        return {}
    out = dict(current)
    for key, value in update.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = value
    return out


def body_of(req: Request) -> dict:
    body = req.json()
    if not isinstance(body, dict):
        raise bad("body", "must be a JSON object", rule="is_object")
    return body


class KongService(Service):
    """What Konnect's APIs share: problem+json errors, Kong's 429/503, auth, lists."""

    auth_exempt: tuple = ()

    # -- dispatch: authentication first, then the handler; Problems become answers
    def match(self, req: Request):
        handler, faults = super().match(req)
        if isinstance(handler, Response):
            return handler, faults
        return functools.partial(self._call, handler), faults

    def _call(self, handler, req: Request) -> Response:
        try:
            if handler.__name__ not in self.auth_exempt:
                self.authenticate(req)
            return handler(req)
        except Problem as p:
            return self.problem(req, p)

    def authenticate(self, req: Request) -> None:
        """Raise Problem(401) unless the request carries valid credentials."""

    def problem(self, req: Request, p: Problem) -> Response:
        body = {"status": p.status, "title": p.title, "instance": p.instance or trace(req), "detail": p.detail}
        if p.status == 400:
            body["invalid_parameters"] = _unique(
                p.invalid or [{"field": "body", "rule": "invalid", "reason": p.detail}]
            )
        resp = Response.json(p.status, body, content_type=PROBLEM)
        resp.skip_contract = p.off_spec
        return resp

    # -- the framework's error hooks ------------------------------------------
    def not_found(self, req):
        return self.problem(req, Problem(404, "Not Found", off_spec=True))

    def method_not_allowed(self, req, allowed):
        resp = self.problem(req, Problem(405, f"Method {req.method} is not allowed on {req.path}", off_spec=True))
        resp.headers["Allow"] = ", ".join(allowed)
        return resp

    def bad_json(self, req, detail):
        return self.problem(req, bad("body", "invalid JSON: " + detail, rule="type"))

    def throttled(self, req, retry_after):
        # Kong's rate-limiting plugin: plain JSON, not problem+json (research §1)
        limit = self.world.rate_limiter.per_second or 50
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "Retry-After": str(retry_after),
            "RateLimit-Limit": str(limit),
            "RateLimit-Remaining": "0",
            "RateLimit-Reset": str(retry_after),
            "X-RateLimit-Limit-Minute": str(limit * 60),
            "X-RateLimit-Remaining-Minute": "0",
            "Via": "kong-enterprise-edition",
        }
        return Response(429, b'{"message":"API rate limit exceeded"}', headers)

    def unavailable(self, req):
        # Kong's own 503: no Retry-After, so clients must back off by themselves
        body = json.dumps({"message": "The upstream server is currently unavailable", "request_id": req.request_id})
        headers = {"Content-Type": "application/json; charset=utf-8", "Via": "kong-enterprise-edition"}
        return Response(503, body.encode(), headers)

    def invalid_request(self, req, errors):
        handler, _ignored = Service.match(self, req)
        try:
            if getattr(handler, "__name__", None) not in self.auth_exempt:
                self.authenticate(req)  # Kong checks credentials before the body
        except Problem as p:
            return self.problem(req, p)
        if any("mimetype not found" in e.get("reason", "") for e in errors):
            return self.problem(
                req, Problem(415, "This API only supports requests with `Content-Type: application/json`")
            )
        return self.problem(req, Problem(400, "Invalid Parameters", self._normalize(req, errors)))

    def _normalize(self, req, errors) -> list[dict]:
        """The contract's findings as valid InvalidParameters entries."""
        out = []
        for e in errors:
            field, rule, source = e.get("field") or "body", e.get("rule"), e.get("source", "body")
            item = {"field": field, "rule": rule, "reason": e.get("reason", "is invalid"), "source": source}
            if rule == "is_uuid" and field == "body" and source == "query":
                # a path id: name it after the route's parameter
                bad_ids = [k for k, v in req.params.items() if not is_uuid(v)]
                item.update(field=bad_ids[0] if bad_ids else "id", source="path", reason="must be a valid UUID")
            if field.startswith("page[") and rule == "type":
                item.update(rule="is_number", reason=f'"{field}" must be a number')
            if rule in ("min_length", "min_items", "min"):
                item["minimum"] = int(e.get("minimum", 1))
            elif rule in ("max_length", "max_items", "max"):
                item["maximum"] = int(e.get("maximum", 1))
            elif rule == "enum":
                item["choices"] = e.get("choices") or ["?"]
            elif rule == "readOnly":
                item.update(rule="invalid", reason="is read-only")
            elif rule not in RULES:
                item["rule"] = "invalid"
            out.append(item)
        return out or [{"field": "body", "rule": "invalid", "reason": "is invalid", "source": "body"}]

    # -- lists -------------------------------------------------------------
    def filtered(self, req: Request, items: list, fields: dict, prefix="filter") -> list:
        """Apply ``filter[field]`` / ``filter[field][op]``; FIELDS maps a name to
        (kind, getter). ``labels`` allows ``filter[labels.<key>]``."""
        pattern = re.compile(re.escape(prefix) + FILTER_KEY)
        for key, values in req.query.items():
            if not key.startswith(prefix):
                continue
            m = pattern.fullmatch(key)
            name, op = (m.group(1), m.group(2) or "eq") if m else (key, "eq")
            spec = fields.get(name) if name != "labels" else None
            if spec is None and name.startswith("labels.") and "labels" in fields:
                label = name[len("labels.") :]
                spec = ("string", lambda o, label=label: (o.get("labels") or {}).get(label))
            if not m or spec is None:
                raise bad(key, f'"{key}" is not allowed', rule="unknown_property", source="query")
            kind, getter = spec
            if op not in OPERATORS[kind]:
                raise bad(
                    key, f"unsupported filter operator {op}", rule="enum", source="query", choices=list(OPERATORS[kind])
                )
            items = [o for o in items if _matches(kind, op, getter(o), values[-1], key)]
        return items

    def sorted(self, req: Request, items: list, attrs: dict) -> list:
        """``sort=attr[ desc],...`` over ATTRS (name -> getter)."""
        for part in reversed([p.strip() for p in (req.arg("sort") or "").split(",") if p.strip()]):
            name, _ignored, direction = part.partition(" ")
            if name not in attrs or direction.strip() not in ("", "asc", "desc"):
                raise bad(
                    "sort", f"must be one of [{', '.join(attrs)}]", rule="enum", source="query", choices=list(attrs)
                )
            getter = attrs[name]
            items = sorted(
                items, key=lambda o: (getter(o) is None, getter(o) or ""), reverse=direction.strip() == "desc"
            )
        return items

    def page(self, req: Request, items: list) -> dict:
        size = self._page_arg(req, "page[size]", DEFAULT_PAGE_SIZE)
        number = self._page_arg(req, "page[number]", 1)
        if size > MAX_PAGE_SIZE:
            raise bad(
                "page[size]", f"must be at most {MAX_PAGE_SIZE}", rule="max", source="query", maximum=MAX_PAGE_SIZE
            )
        start = (number - 1) * size
        return {
            "data": items[start : start + size],
            "meta": {"page": {"number": number, "size": size, "total": len(items)}},
        }

    @staticmethod
    def _page_arg(req, name, default) -> int:
        raw = req.arg(name)
        if raw in (None, ""):
            return default
        try:
            value = int(raw)
        except ValueError:
            raise bad(name, f'"{name}" must be a number', rule="is_number", source="query") from None
        if value < 1:
            raise bad(name, f'"{name}" must be at least 1', rule="min", source="query", minimum=1)
        return value

    def now(self) -> str:
        return iso(self.world.clock.now())


def _unique(items):
    seen, out = set(), []
    for item in items:
        key = json.dumps(item, sort_keys=True)
        if key not in seen:
            seen.add(key)
            out.append(item)
    return out


def _matches(kind, op, value, wanted, key) -> bool:
    if kind == "bool":
        if wanted not in ("true", "false"):
            raise bad(key, f'value of "{key}" must be true or false', rule="is_boolean", source="query")
        return value is (wanted == "true")
    if kind == "datetime":
        try:
            left, right = _ts(value), _ts(wanted)
        except (TypeError, ValueError):
            raise bad(key, f'"{key}" must be an RFC 3339 date-time', rule="is_date_time", source="query") from None
        return {
            "eq": left == right,
            "lt": left < right,
            "lte": left <= right,
            "gt": left > right,
            "gte": left >= right,
        }[op]
    text = None if value is None else str(value)
    if op == "eq":
        return text == wanted
    if op == "neq":
        return text != wanted
    if op == "oeq":
        return text in wanted.split(",")
    if text is None:
        return False
    if op == "contains":
        return wanted.lower() in text.lower()
    return any(part.lower() in text.lower() for part in wanted.split(","))  # ocontains


def _ts(value) -> dt.datetime:
    return dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))


def slugify(*parts) -> str:
    text = "-".join(str(p) for p in parts if p)
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "api"


# -- Konnect as a DCR provider's initial client, in Azure ---------------------------------


class AzureError(Exception):
    """Azure refused, or did not answer; the message says which and why."""


class AzureDcr:
    """What Konnect does in the tenant as an azureAd provider's initial client.

    Plain HTTPS to the Entra and Graph emulators: a v2 client-credentials
    token for Microsoft Graph, then Graph v1.0 calls. Retries 429/503/504
    honouring Retry-After; a write whose reply was lost is not repeated.
    """

    ATTEMPTS = 5

    def __init__(self, world, provider: dict):
        self.world = world
        match = AZURE_ISSUER.fullmatch(provider["issuer"])
        self.tenant = match.group("tid") if match else provider["issuer"].rstrip("/").rsplit("/", 1)[-1]
        self.client_id = provider["dcr_config"].get("initial_client_id", "")
        self.client_secret = provider["dcr_config"].get("initial_client_secret", "")
        self._token = None

    def _send(self, method, url, what, idempotent, **kwargs) -> requests.Response:
        for attempt in range(1, self.ATTEMPTS + 1):
            try:
                with requests.Session() as session:  # one connection a call: nothing left open
                    session.trust_env = False  # no proxy; and REQUESTS_CA_BUNDLE would override verify
                    resp = session.request(method, url, timeout=15, verify=self.world.ca_path, **kwargs)
            except requests.RequestException as exc:
                if not idempotent or attempt == self.ATTEMPTS:
                    raise AzureError(f"no response from Azure to {what} ({type(exc).__name__})") from exc
                time.sleep(0.2 * attempt)
                continue
            if resp.status_code in (429, 503, 504) and attempt < self.ATTEMPTS:
                time.sleep(min(_retry_after(resp, 0.2 * attempt), 5.0))
                continue
            return resp
        raise AzureError(f"no response from Azure to {what}")  # pragma: no cover

    def claims(self) -> dict:
        """Sign in as the initial client; the Graph token's claims."""
        url = f"{self.world.url_of('entra')}/{self.tenant}/oauth2/v2.0/token"
        form = {
            "grant_type": "client_credentials",
            "client_id": self.client_id,
            "client_secret": self.client_secret,
            "scope": GRAPH_SCOPE,
        }
        resp = self._send("POST", url, "the token request", True, data=form)
        payload = _json(resp)
        if resp.status_code != 200 or "access_token" not in payload:
            code = payload.get("error", f"HTTP {resp.status_code}")
            text = str(payload.get("error_description", "")).splitlines()[0:1]
            raise AzureError(
                f"Azure AD refused the initial client {self.client_id} of tenant {self.tenant}: "
                f"{code}{': ' + text[0] if text else ''}"
            )
        self._token = payload["access_token"]
        return _jwt_claims(self._token)

    def graph(self, method, path, body=None, idempotent=True, fresh=False) -> dict:
        """One Graph call. FRESH: the object was just created, so a 404 (or a
        service principal's "not a valid application") is replication lag: wait."""
        if self._token is None:
            self.claims()
        url = f"{self.world.url_of('graph')}/v1.0{path}"
        headers = {"Authorization": "Bearer " + self._token}
        for attempt in range(8 if fresh else 1):
            resp = self._send(method, url, f"{method} {path}", idempotent, json=body, headers=headers)
            if not (fresh and _replication_lag(resp)):
                break
            time.sleep(min(0.25 * 2**attempt, 2.0))
        if resp.status_code >= 400:
            error = _json(resp).get("error") or {}
            raise AzureError(
                f"Microsoft Graph answered {method} /v1.0{path} with {resp.status_code} "
                f"{error.get('code', '')}: {error.get('message', resp.reason)}".replace(" :", ":"),
            )
        return _json(resp)

    def require_dcr_role(self, claims: dict):
        roles = claims.get("roles") or []
        if not any(role in roles for role in DCR_ROLES):
            raise AzureError(
                f"the initial client {self.client_id} has no admin-consented Microsoft Graph application "
                "permission Application.ReadWrite.OwnedBy (token roles: %s)" % (", ".join(roles) or "none")
            )

    # -- the DCR operations ---------------------------------------------------
    def create_app(self, display_name: str) -> tuple[dict, dict]:
        """A new app registration owned by the initial client, its service
        principal (without one Entra refuses the client's sign-in), and its
        first secret."""
        app = self.graph(
            "POST", "/applications", {"displayName": display_name, "signInAudience": "AzureADMyOrg"}, idempotent=False
        )
        try:
            self.graph("POST", "/servicePrincipals", {"appId": app["appId"]}, idempotent=False, fresh=True)
            secret = self.add_secret(app["id"], fresh=True)
        except AzureError:
            self.delete_app(app["id"], quiet=True)  # no half-made client left behind
            raise
        return app, secret

    def add_secret(self, object_id: str, display_name: str = "Konnect DCR", fresh=False) -> dict:
        body = {"passwordCredential": {"displayName": display_name}}
        return self.graph("POST", f"/applications/{object_id}/addPassword", body, idempotent=False, fresh=fresh)

    def secrets(self, object_id: str) -> list[dict]:
        return self.graph("GET", f"/applications/{object_id}").get("passwordCredentials") or []

    def delete_app(self, object_id: str, quiet=False) -> None:
        try:
            self.graph("DELETE", f"/applications/{object_id}")
        except AzureError as exc:
            if not quiet and "Request_ResourceNotFound" not in str(exc):
                raise


def _replication_lag(resp) -> bool:
    """Graph's answers while a new application has not replicated yet."""
    if resp.status_code == 404:
        return True
    message = str((_json(resp).get("error") or {}).get("message", ""))
    return resp.status_code == 400 and "valid application" in message


def _retry_after(resp, default) -> float:
    try:
        return float(resp.headers.get("Retry-After"))
    except (TypeError, ValueError):
        return default


def _json(resp) -> dict:
    try:
        value = resp.json()
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _jwt_claims(token: str) -> dict:
    try:
        part = token.split(".")[1]
        return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
    except (IndexError, ValueError):
        return {}


# -- the service -------------------------------------------------------------------------


class Konnect(KongService):
    name = "konnect"
    contract = Contract(
        [
            "konnect-application-auth-strategies-v2.yaml",
            "konnect-api-builder-v3.yaml",
            "konnect-portal-management-v3.yaml",
        ],
        "https://us.api.konghq.com",
    )

    def __init__(self, world):
        super().__init__(world)
        self.tokens: list[str] = []
        self.spare_domains: dict[str, tuple[str, str]] = {}  # portal name -> (netloc, old portal id)
        self.reset_objects()

    def reset_objects(self):
        self.providers: dict[str, dict] = {}
        self.strategies: dict[str, dict] = {}
        self.portals: dict[str, dict] = {}
        self.apis: dict[str, dict] = {}
        self.publications: dict[tuple[str, str], dict] = {}

    @property
    def portal_service(self):
        return self.world.services.get("portal")

    def authenticate(self, req):
        token = req.bearer()
        if not token or token not in self.tokens:
            raise Problem(401, "Unauthorized")

    def headers(self, req):
        return {"X-Kong-Request-Id": req.request_id.replace("-", "")}

    # -- admin hooks ----------------------------------------------------------
    def seed(self, data):
        with self.world.lock:
            for token in data.get("konnect_tokens", []):
                if token not in self.tokens:
                    self.tokens.append(token)
            for item in data.get("portals", []):
                if not any(p["name"] == item["name"] for p in self.portals.values()):
                    self._create_portal(dict(item))
            for item in data.get("apis", []):
                if not any(
                    (a["name"], a["version"]) == (item["name"], item.get("version")) for a in self.apis.values()
                ):
                    self._create_api(dict(item))

    def reset(self):
        with self.world.lock:
            # keep the listeners: a portal seeded again under the same name gets the same
            # default_domain, so endpoints.json's portal_url stays true after POST /reset
            for p in self.portals.values():
                self.spare_domains[p["name"]] = (p["default_domain"], p["id"])
            self.tokens = []
            self.reset_objects()

    def state(self):
        with self.world.lock:
            providers = []
            for p in self.providers.values():
                view = self.provider_view(p)
                secret = next((p["dcr_config"][k] for k in SECRET_KEYS if k in p["dcr_config"]), None)
                # never the secret; a fingerprint lets tests see that it changed
                view["secret_sha256"] = hashlib.sha256(secret.encode()).hexdigest()[:16] if secret else None
                providers.append(view)
            return {
                "dcr_providers": providers,
                "application_auth_strategies": [self.strategy_view(s) for s in self.strategies.values()],
                "portals": [dict(p) for p in self.portals.values()],
                "apis": [self.api_view(a) for a in self.apis.values()],
                "publications": [self.publication_item(k) for k in self.publications],
            }

    def endpoints(self):
        first_portal = next(iter(self.portals.values()), None)
        return {
            "konnect_url": self.world.url_of("konnect"),
            "konnect_token": self.tokens[0] if self.tokens else None,
            "portal_url": "https://" + first_portal["default_domain"] if first_portal else None,
        }

    # -- DCR providers ----------------------------------------------------------
    def provider_view(self, p: dict) -> dict:
        cfg = p["dcr_config"]
        kind = p["provider_type"]
        if kind in ("azureAd", "curity"):
            shown = {"initial_client_id": cfg.get("initial_client_id")}
        elif kind == "auth0":
            shown = {
                "initial_client_id": cfg.get("initial_client_id"),
                "initial_client_audience": cfg.get("initial_client_audience"),
                "use_developer_managed_scopes": bool(cfg.get("use_developer_managed_scopes", False)),
            }
        elif kind == "http":
            shown = {k: v for k, v in cfg.items() if k not in SECRET_KEYS}
            shown.setdefault("allow_multiple_credentials", False)
        else:  # okta, kongIdentity: only secrets, none shown
            shown = {}
        view = {k: p[k] for k in ("id", "name", "provider_type", "issuer")}
        if p.get("display_name") is not None:
            view["display_name"] = p["display_name"]
        view["active"] = any(
            s["dcr_provider_id"] == p["id"] and self.strategy_active(s) for s in self.strategies.values()
        )
        view.update(dcr_config=shown, labels=dict(p["labels"]), created_at=p["created_at"], updated_at=p["updated_at"])
        return view

    def _check_issuer(self, kind, issuer):
        if not is_url(issuer):
            raise bad("issuer", "must be a valid URL")
        if kind == "azureAd":
            m = AZURE_ISSUER.fullmatch(issuer)
            if not m or not is_uuid(m.group("tid").lower()):
                raise bad(
                    "issuer",
                    "an Azure AD issuer must be https://sts.windows.net/<tenant-id>: the tenant's v1 issuer, "
                    "with no trailing slash and not the v2.0 form https://login.microsoftonline.com/<tenant-id>/v2.0",
                )

    def _check_dcr_config(self, kind, cfg, prefix="dcr_config"):
        for key in cfg:
            if key not in DCR_CONFIG_KEYS[kind]:
                raise bad(f"{prefix}.{key}", f"is not a known property of a {kind} provider", rule="unknown_property")
        if "dcr_base_url" in cfg and not is_url(cfg["dcr_base_url"]):
            raise bad(f"{prefix}.dcr_base_url", "must be a valid URL")

    @route("GET", "/v2/dcr-providers")
    def list_providers(self, req):
        string = "string"
        fields = {
            "id": (string, lambda p: p["id"]),
            "name": (string, lambda p: p["name"]),
            "issuer": (string, lambda p: p["issuer"]),
            "provider_type": (string, lambda p: p["provider_type"]),
            "initial_client_id": (string, lambda p: p["dcr_config"].get("initial_client_id")),
            "initial_client_audience": (string, lambda p: p["dcr_config"].get("initial_client_audience")),
        }
        sort = {k: (lambda p, k=k: p[k]) for k in ("created_at", "updated_at", "provider_type", "issuer", "name")}
        with self.world.lock:
            items = self.sorted(req, self.filtered(req, list(self.providers.values()), fields), sort)
            page = self.page(req, items)
            page["data"] = [self.provider_view(p) for p in page["data"]]
        return Response.json(200, page)

    @route("POST", "/v2/dcr-providers")
    def create_provider(self, req):
        body = body_of(req)
        unknown = sorted(set(body) - PROVIDER_CREATE_KEYS)
        if unknown:
            raise bad(",".join(unknown), "is not a known property", rule="unknown_property")
        kind = body["provider_type"]
        self._check_issuer(kind, body["issuer"])
        cfg = dict(body.get("dcr_config") or {})
        self._check_dcr_config(kind, cfg)
        check_labels(body.get("labels"))
        now = self.now()
        provider = {
            "id": str(uuid.uuid4()),
            "name": body["name"],
            "display_name": body.get("display_name"),
            "provider_type": kind,
            "issuer": body["issuer"],
            "dcr_config": cfg,
            "labels": dict(body.get("labels") or {}),
            "created_at": now,
            "updated_at": now,
        }
        with self.world.lock:
            self.providers[provider["id"]] = provider
            return Response.json(201, self.provider_view(provider))

    def _provider(self, pid) -> dict:
        if pid not in self.providers:
            raise missing("DCR provider")
        return self.providers[pid]

    @route("GET", "/v2/dcr-providers/" + ID.format("dcrProviderId"))
    def get_provider(self, req):
        with self.world.lock:
            return Response.json(200, self.provider_view(self._provider(req.params["dcrProviderId"])))

    @route("PATCH", "/v2/dcr-providers/" + ID.format("dcrProviderId"))
    def update_provider(self, req):
        body = body_of(req)
        with self.world.lock:
            p = self._provider(req.params["dcrProviderId"])
            if "issuer" in body:
                self._check_issuer(p["provider_type"], body["issuer"])
            if "dcr_config" in body:
                self._check_dcr_config(p["provider_type"], body["dcr_config"] or {})
            check_labels({k: v for k, v in (body.get("labels") or {}).items() if v is not None})
            for key in ("name", "display_name", "issuer"):
                if key in body:
                    p[key] = body[key]
            if "dcr_config" in body:
                p["dcr_config"] = {**p["dcr_config"], **(body["dcr_config"] or {})}  # merged: secret kept if omitted
            if "labels" in body:
                p["labels"] = merge_labels(p["labels"], body["labels"])
            p["updated_at"] = self.now()
            return Response.json(200, self.provider_view(p))

    @route("DELETE", "/v2/dcr-providers/" + ID.format("dcrProviderId"))
    def delete_provider(self, req):
        with self.world.lock:
            p = self._provider(req.params["dcrProviderId"])
            users = [s["name"] for s in self.strategies.values() if s["dcr_provider_id"] == p["id"]]
            if users:
                raise Problem(
                    409,
                    f"DCR provider [{p['name']}] is in use by application auth strategies [{', '.join(users)}]; "
                    "delete them or unset their dcr_provider_id first",
                    off_spec=True,
                )
            del self.providers[p["id"]]
        return Response.empty(204)

    @route("POST", "/v2/dcr-providers/" + ID.format("dcrProviderId") + "/verify")
    def verify_provider(self, req):
        with self.world.lock:
            provider = json.loads(json.dumps(self._provider(req.params["dcrProviderId"])))
        if provider["provider_type"] != "azureAd":
            errors = [f"verifying {provider['provider_type']} providers is not supported by this emulator"]
            return Response.json(200, {"status": "failed", "errors": errors})
        azure = AzureDcr(self.world, provider)  # outside the lock: Entra is another service
        try:
            azure.require_dcr_role(azure.claims())
        except AzureError as exc:
            return Response.json(200, {"status": "failed", "errors": [str(exc)]})
        return Response.json(200, {"status": "success", "errors": []})

    # -- application auth strategies ------------------------------------------------
    def strategy_active(self, s: dict) -> bool:
        return any(s["id"] in (pub["auth_strategy_ids"] or []) for pub in self.publications.values())

    def strategy_view(self, s: dict) -> dict:
        provider = self.providers.get(s["dcr_provider_id"]) if s["dcr_provider_id"] else None
        if provider:
            dcr = {"id": provider["id"], "name": provider["name"], "provider_type": provider["provider_type"]}
            if provider.get("display_name") is not None:
                dcr["display_name"] = provider["display_name"]
        else:
            dcr = None
        view = {k: s[k] for k in ("id", "name", "display_name", "strategy_type")}
        view.update(
            configs=json.loads(json.dumps(s["configs"])),
            active=self.strategy_active(s),
            dcr_provider=dcr,
            labels=dict(s["labels"]),
            created_at=s["created_at"],
            updated_at=s["updated_at"],
            supports_multiple_credentials=self.multiple_credentials(s),
            principals=dict(s["principals"]),
        )
        return view

    def multiple_credentials(self, s: dict) -> bool:
        if s["strategy_type"] == "key_auth":
            return True
        provider = self.providers.get(s["dcr_provider_id"] or "")
        if not provider:
            return False
        if provider["provider_type"] == "http":
            return bool(provider["dcr_config"].get("allow_multiple_credentials", False))
        return provider["provider_type"] in ("azureAd", "okta")  # research §5: Entra and Okta do

    def _strategy_fields(self, body: dict, strategy_type: str) -> dict:
        """Validated fields of a create/replace body."""
        check_labels(body.get("labels"))
        provider_id = body.get("dcr_provider_id")
        if provider_id is not None and provider_id not in self.providers:
            raise bad("dcr_provider_id", f"DCR provider [{provider_id}] does not exist", rule="missing_reference")
        if strategy_type == "openid_connect":
            issuer = body["configs"]["openid-connect"]["issuer"]
            if not is_url(issuer):
                raise bad("configs.openid-connect.issuer", "must be a valid URL")
        return {
            "name": body["name"],
            "display_name": body["display_name"],
            "strategy_type": strategy_type,
            "configs": json.loads(json.dumps(body["configs"])),
            "dcr_provider_id": provider_id,
            "labels": dict(body.get("labels") or {}),
            "principals": dict(body.get("principals") or {"enabled": False}),
        }

    def _strategy(self, sid) -> dict:
        if sid not in self.strategies:
            raise missing("Application auth strategy")
        return self.strategies[sid]

    @route("GET", "/v2/application-auth-strategies")
    def list_strategies(self, req):
        def provider_field(key):
            return lambda s: (self.providers.get(s["dcr_provider_id"] or "") or {}).get(key)

        fields = {
            "strategy_type": ("string", lambda s: s["strategy_type"]),
            "name": ("string", lambda s: s["name"]),
            "display_name": ("string", lambda s: s["display_name"]),
            "dcr_provider_id": ("uuid", lambda s: s["dcr_provider_id"]),
            "dcr_provider_name": ("string", provider_field("name")),
            "dcr_provider_type": ("string", provider_field("provider_type")),
        }
        sort = {k: (lambda s, k=k: s[k]) for k in ("created_at", "updated_at", "strategy_type", "name", "display_name")}
        sort.update(
            dcr_provider_id=lambda s: s["dcr_provider_id"],
            dcr_provider_name=provider_field("name"),
            dcr_provider_type=provider_field("provider_type"),
        )
        with self.world.lock:
            items = self.sorted(req, self.filtered(req, list(self.strategies.values()), fields), sort)
            page = self.page(req, items)
            page["data"] = [self.strategy_view(s) for s in page["data"]]
        return Response.json(200, page)

    @route("POST", "/v2/application-auth-strategies")
    def create_strategy(self, req):
        body = body_of(req)
        with self.world.lock:
            now = self.now()
            s = {"id": str(uuid.uuid4()), **self._strategy_fields(body, body["strategy_type"])}
            s.update(created_at=now, updated_at=now)
            self.strategies[s["id"]] = s
            return Response.json(201, self.strategy_view(s))

    @route("GET", "/v2/application-auth-strategies/" + ID.format("authStrategyId"))
    def get_strategy(self, req):
        with self.world.lock:
            return Response.json(200, self.strategy_view(self._strategy(req.params["authStrategyId"])))

    @route("PUT", "/v2/application-auth-strategies/" + ID.format("authStrategyId"))
    def replace_strategy(self, req):
        body = body_of(req)
        with self.world.lock:
            sid = req.params["authStrategyId"]
            if sid not in self.strategies:
                raise Problem(404, "Application auth strategy not found", off_spec=True)  # the spec lists no 404
            s = self.strategies[sid]
            if body["strategy_type"] != s["strategy_type"]:
                raise bad("strategy_type", "cannot be changed; delete the strategy and create a new one")
            s.update(self._strategy_fields(body, s["strategy_type"]), updated_at=self.now())
            return Response.json(201, self.strategy_view(s))  # 201 on replace, as the spec says

    @route("PATCH", "/v2/application-auth-strategies/" + ID.format("authStrategyId"))
    def update_strategy(self, req):
        body = body_of(req)
        with self.world.lock:
            s = self._strategy(req.params["authStrategyId"])
            config_key = "openid-connect" if s["strategy_type"] == "openid_connect" else "key-auth"
            configs = body.get("configs")
            if configs is not None and config_key not in configs:
                raise bad("configs", f"a {s['strategy_type']} strategy is configured under configs.{config_key}")
            if "dcr_provider_id" in body:
                pid = body["dcr_provider_id"]
                if pid is not None and s["strategy_type"] == "key_auth":
                    raise bad("dcr_provider_id", "a key_auth strategy cannot use a DCR provider")
                if pid is not None and pid not in self.providers:
                    raise bad("dcr_provider_id", f"DCR provider [{pid}] does not exist", rule="missing_reference")
            check_labels({k: v for k, v in (body.get("labels") or {}).items() if v is not None})
            new_config = dict(s["configs"][config_key])
            for key, value in ((configs or {}).get(config_key) or {}).items():
                if value is None:
                    new_config.pop(key, None)  # key-auth ttl: null unsets it
                else:
                    new_config[key] = value  # merged key by key; arrays replace
            if config_key == "openid-connect" and not is_url(new_config.get("issuer", "")):
                raise bad("configs.openid-connect.issuer", "must be a valid URL")
            s["configs"][config_key] = new_config
            for key in ("name", "display_name", "dcr_provider_id", "principals"):
                if key in body:
                    s[key] = body[key]
            if "labels" in body:
                s["labels"] = merge_labels(s["labels"], body["labels"])
            s["updated_at"] = self.now()
            return Response.json(200, self.strategy_view(s))

    @route("DELETE", "/v2/application-auth-strategies/" + ID.format("authStrategyId"))
    def delete_strategy(self, req):
        with self.world.lock:
            s = self._strategy(req.params["authStrategyId"])
            users = [
                f"API [{self.apis[a]['name']}] in portal [{self.portals[p]['name']}]"
                for (a, p), pub in self.publications.items()
                if s["id"] in (pub["auth_strategy_ids"] or [])
            ]
            users += [
                f"portal [{p['name']}] (default_application_auth_strategy_id)"
                for p in self.portals.values()
                if p["default_application_auth_strategy_id"] == s["id"]
            ]
            if users:
                raise Problem(
                    409,
                    f"Application auth strategy [{s['name']}] is in use and cannot be deleted: used by "
                    + ", ".join(users),
                )
            del self.strategies[s["id"]]
        return Response.empty(204)

    # -- portals ----------------------------------------------------------------------
    PORTAL_DEFAULTS = {
        "description": None,
        "authentication_enabled": True,
        "rbac_enabled": False,
        "sipr_enabled": False,
        "default_api_visibility": "private",
        "default_page_visibility": "private",
        "default_application_auth_strategy_id": None,
        "auto_approve_developers": False,
        "auto_approve_applications": False,
        "labels": {},
        "notifications_developer_pii_visibility_enabled": False,
    }

    def _create_portal(self, body: dict) -> dict:
        now = self.now()
        portal = {"id": str(uuid.uuid4()), "created_at": now, "updated_at": now, "name": body["name"]}
        portal["display_name"] = body.get("display_name") or body["name"]
        for key, default in self.PORTAL_DEFAULTS.items():
            portal[key] = body.get(key, default)
        portal["labels"] = {k: v for k, v in (portal["labels"] or {}).items() if v is not None}
        spare = self.spare_domains.pop(portal["name"], None)
        if spare:  # a listener left by reset: serve this portal from it
            netloc, old_id = spare
            for listener in list(self.world.listeners):
                if listener.scope.get("portal_id") == old_id:
                    listener.scope["portal_id"] = portal["id"]
        else:
            netloc = self.world.open_portal(portal["id"])  # the portal's own developer API listener
        portal["default_domain"] = portal["canonical_domain"] = netloc
        self.portals[portal["id"]] = portal
        return portal

    def _portal(self, pid) -> dict:
        if pid not in self.portals:
            raise missing("Portal")
        return self.portals[pid]

    def _check_portal_fields(self, body, current=None):
        name = body.get("name")
        if name is not None and any(p["name"] == name and p is not current for p in self.portals.values()):
            raise Problem(409, f"A portal named [{name}] already exists", off_spec=current is None)
        sid = body.get("default_application_auth_strategy_id")
        if sid is not None and sid not in self.strategies:
            raise bad(
                "default_application_auth_strategy_id",
                f"auth strategy [{sid}] does not exist",
                rule="missing_reference",
            )
        check_labels({k: v for k, v in (body.get("labels") or {}).items() if v is not None})

    @route("GET", "/v3/portals")
    def list_portals(self, req):
        fields = {k: ("string", lambda p, k=k: p[k]) for k in ("name", "description", "default_api_visibility")}
        fields.update({k: ("string", lambda p, k=k: p[k]) for k in ("default_page_visibility", "default_domain")})
        fields["canonical_domain"] = ("string", lambda p: p["canonical_domain"])
        fields["id"] = ("uuid", lambda p: p["id"])
        fields["default_application_auth_strategy_id"] = ("uuid", lambda p: p["default_application_auth_strategy_id"])
        for key in ("authentication_enabled", "rbac_enabled", "auto_approve_developers", "auto_approve_applications"):
            fields[key] = ("bool", lambda p, key=key: p[key])
        sort_keys = ("name", "description", "authentication_enabled", "rbac_enabled", "auto_approve_applications")
        sort_keys += ("auto_approve_developers", "default_domain", "canonical_domain", "created_at", "updated_at")
        sort = {k: (lambda p, k=k: p[k]) for k in sort_keys}
        with self.world.lock:
            items = self.sorted(req, self.filtered(req, list(self.portals.values()), fields), sort)
            page = self.page(req, items)
            page["data"] = [dict(p) for p in page["data"]]
        return Response.json(200, page)

    @route("POST", "/v3/portals")
    def create_portal(self, req):
        body = body_of(req)
        with self.world.lock:
            self._check_portal_fields(body)
            return Response.json(201, dict(self._create_portal(body)))

    @route("GET", "/v3/portals/" + ID.format("portalId"))
    def get_portal(self, req):
        with self.world.lock:
            return Response.json(200, dict(self._portal(req.params["portalId"])))

    @route("PATCH", "/v3/portals/" + ID.format("portalId"))
    def update_portal(self, req):
        body = body_of(req)
        with self.world.lock:
            portal = self._portal(req.params["portalId"])
            self._check_portal_fields(body, portal)
            for key, value in body.items():
                if key == "labels":
                    portal["labels"] = merge_labels(portal["labels"], value)
                else:
                    portal[key] = value
            portal["updated_at"] = self.now()
            return Response.json(200, dict(portal))

    @route("DELETE", "/v3/portals/" + ID.format("portalId"))
    def delete_portal(self, req):
        with self.world.lock:
            portal = self._portal(req.params["portalId"])
            published = [k for k in self.publications if k[1] == portal["id"]]
            if published and req.arg("force") != "true":
                raise Problem(
                    409,
                    f"Portal [{portal['name']}] has {len(published)} published APIs; unpublish them or use force=true",
                    off_spec=True,
                )
            for key in published:
                del self.publications[key]
            del self.portals[portal["id"]]
            if self.portal_service:
                self.portal_service.forget(portal_id=portal["id"])
        self.world.close_portal(portal["id"])  # outside the lock: shutting a listener down takes a while
        return Response.empty(204)

    # -- APIs --------------------------------------------------------------------------
    def api_view(self, a: dict) -> dict:
        view = {k: v for k, v in a.items() if k != "spec_content"}
        view["labels"] = dict(a["labels"])
        view["portals"] = [
            {"id": p, "name": self.portals[p]["name"], "display_name": self.portals[p]["display_name"]}
            for (api_id, p) in self.publications
            if api_id == a["id"] and p in self.portals
        ]
        return view

    def _create_api(self, body: dict) -> dict:
        now = self.now()
        api = {
            "id": str(uuid.uuid4()),
            "name": body["name"],
            "description": body.get("description"),
            "version": body.get("version"),
            "slug": body.get("slug") or slugify(body["name"], body.get("version")),
            "labels": dict(body.get("labels") or {}),
            "attributes": dict(body.get("attributes") or {}),
            "api_spec_ids": [],
            "current_version_summary": None,
            "created_at": now,
            "updated_at": now,
        }
        if body.get("spec_content"):
            api["spec_content"] = body["spec_content"]
            api["current_version_summary"] = _version_summary(body["spec_content"], api["version"], now)
        self.apis[api["id"]] = api
        return api

    def _check_api_fields(self, body, current=None):
        name = body.get("name", current and current["name"])
        version = body.get("version", current and current["version"])
        for a in self.apis.values():
            if a is current:
                continue
            if (a["name"], a["version"]) == (name, version):
                raise Problem(
                    409,
                    f"Key (name, version)=({name}, {version}) already exists: the name + version combination "
                    "must be unique",
                    off_spec=current is None,  # POST /apis lists no 409
                )
            if body.get("slug") and a["slug"] == body["slug"]:
                raise Problem(409, f"Key (slug)=({body['slug']}) already exists", off_spec=current is None)
        check_labels({k: v for k, v in (body.get("labels") or {}).items() if v is not None})

    def _api(self, aid) -> dict:
        if aid not in self.apis:
            raise missing("API")
        return self.apis[aid]

    @route("GET", "/v3/apis")
    def list_apis(self, req):
        fields = {
            "id": ("uuid", lambda a: a["id"]),
            "name": ("string", lambda a: a["name"]),
            "version": ("string", lambda a: a["version"]),
            "implementation_mode": ("string", lambda a: a.get("implementation_mode")),
            "labels": ("string", None),
            "created_at": ("datetime", lambda a: a["created_at"]),
            "updated_at": ("datetime", lambda a: a["updated_at"]),
        }
        sort = {k: (lambda a, k=k: a[k]) for k in ("name", "version", "created_at", "updated_at")}
        with self.world.lock:
            items = self.sorted(req, self.filtered(req, list(self.apis.values()), fields), sort)
            page = self.page(req, items)
            page["data"] = [self.api_view(a) for a in page["data"]]
        return Response.json(200, page)

    @route("POST", "/v3/apis")
    def create_api(self, req):
        body = body_of(req)
        with self.world.lock:
            self._check_api_fields(body)
            return Response.json(201, self.api_view(self._create_api(body)))

    @route("GET", "/v3/apis/" + ID.format("apiId"))
    def get_api(self, req):
        with self.world.lock:
            return Response.json(200, self.api_view(self._api(req.params["apiId"])))

    @route("PATCH", "/v3/apis/" + ID.format("apiId"))
    def update_api(self, req):
        body = body_of(req)
        with self.world.lock:
            api = self._api(req.params["apiId"])
            self._check_api_fields(body, api)
            for key in ("name", "description", "version", "slug", "attributes"):
                if key in body:
                    api[key] = body[key]
            if "labels" in body:
                api["labels"] = merge_labels(api["labels"], body["labels"])
            if "slug" in body and not body["slug"]:
                api["slug"] = slugify(api["name"], api["version"])
            api["updated_at"] = self.now()
            return Response.json(200, self.api_view(api))

    @route("DELETE", "/v3/apis/" + ID.format("apiId"))
    def delete_api(self, req):
        with self.world.lock:
            api = self._api(req.params["apiId"])
            for key in [k for k in self.publications if k[0] == api["id"]]:
                del self.publications[key]
            del self.apis[api["id"]]
            if self.portal_service:
                self.portal_service.forget(api_id=api["id"])
        return Response.empty(204)

    # -- publications --------------------------------------------------------------------
    def publication_view(self, key) -> dict:
        pub = self.publications[key]
        return {
            "auto_approve_registrations": pub["auto_approve_registrations"],
            "auth_strategy_ids": list(pub["auth_strategy_ids"]) if pub["auth_strategy_ids"] is not None else None,
            "visibility": pub["visibility"],
            "warnings": [],
            "created_at": pub["created_at"],
            "updated_at": pub["updated_at"],
        }

    def publication_item(self, key) -> dict:
        return {"api_id": key[0], "portal_id": key[1], "entity_type": "api", **self.publication_view(key)}

    def _publication_key(self, req) -> tuple[str, str]:
        api_id, portal_id = req.params["apiId"], req.params["portalId"]
        self._api(api_id)
        self._portal(portal_id)
        return api_id, portal_id

    @route("PUT", "/v3/apis/" + ID.format("apiId") + "/publications/" + ID.format("portalId"))
    def publish(self, req):
        body = body_of(req)
        with self.world.lock:
            key = self._publication_key(req)
            portal = self.portals[key[1]]
            if "auth_strategy_ids" in body:
                ids = body["auth_strategy_ids"]  # null: no application auth
            else:  # omitted: the portal's default strategy
                default = portal["default_application_auth_strategy_id"]
                ids = [default] if default else None
            for sid in ids or []:
                if sid not in self.strategies:
                    raise bad("auth_strategy_ids", f"auth strategy [{sid}] does not exist", rule="missing_reference")
            now = self.now()
            previous = self.publications.get(key)
            # PUT replaces: whatever is left out goes back to its default
            self.publications[key] = {
                "auth_strategy_ids": list(ids) if ids is not None else None,
                "visibility": body.get("visibility", "private"),
                "auto_approve_registrations": bool(body.get("auto_approve_registrations", False)),
                "created_at": previous["created_at"] if previous else now,
                "updated_at": now,
            }
            return Response.json(200, self.publication_view(key))

    @route("GET", "/v3/apis/" + ID.format("apiId") + "/publications/" + ID.format("portalId"))
    def get_publication(self, req):
        with self.world.lock:
            key = self._publication_key(req)
            if key not in self.publications:
                raise missing("Publication")
            return Response.json(200, self.publication_view(key))

    @route("DELETE", "/v3/apis/" + ID.format("apiId") + "/publications/" + ID.format("portalId"))
    def unpublish(self, req):
        with self.world.lock:
            key = self._publication_key(req)
            if key not in self.publications:
                raise missing("Publication")
            del self.publications[key]
        return Response.empty(204)

    def _publication_fields(self):
        return {
            "api_id": ("uuid", lambda k: k[0]),
            "api_name": ("string", lambda k: self.apis[k[0]]["name"]),
            "auth_strategy_id": ("uuid", lambda k: ",".join(self.publications[k]["auth_strategy_ids"] or []) or None),
            "entity_type": ("string", lambda k: "api"),
        }

    def _publication_sort(self):
        return {
            "api_id": lambda k: k[0],
            "api_name": lambda k: self.apis[k[0]]["name"],
            "created_at": lambda k: self.publications[k]["created_at"],
            "updated_at": lambda k: self.publications[k]["updated_at"],
        }

    @route("GET", "/v3/api-publications")
    def list_publications(self, req):
        fields = self._publication_fields()
        fields.update(portal_id=("uuid", lambda k: k[1]), portal_name=("string", lambda k: self.portals[k[1]]["name"]))
        sort = self._publication_sort()
        sort.update(portal_id=lambda k: k[1], portal_name=lambda k: self.portals[k[1]]["name"])
        with self.world.lock:
            items = self.sorted(req, self.filtered(req, list(self.publications), fields), sort)
            page = self.page(req, items)
            page["data"] = [self.publication_item(k) for k in page["data"]]
        return Response.json(200, page)

    @route("GET", "/v3/portals/" + ID.format("portalId") + "/api-publications")
    def list_portal_publications(self, req):
        with self.world.lock:
            portal = self._portal(req.params["portalId"])
            keys = [k for k in self.publications if k[1] == portal["id"]]
            items = self.sorted(req, self.filtered(req, keys, self._publication_fields()), self._publication_sort())
            page = self.page(req, items)
            data = []
            for key in page["data"]:
                item = self.publication_item(key)
                item["portal_ids"] = [item.pop("portal_id")]  # PublicationListItem
                data.append(item)
            page["data"] = data
        return Response.json(200, page)

    # -- a portal's applications, seen by an admin (PM3) -------------------------------------
    @route("GET", "/v3/portals/" + ID.format("portalId") + "/applications")
    def list_portal_applications(self, req):
        with self.world.lock:
            portal = self._portal(req.params["portalId"])
            apps = [a for a in self.portal_service.applications.values() if a["portal_id"] == portal["id"]]
            fields = {
                "name": ("string", lambda a: a["name"]),
                "developer_id": ("uuid", lambda a: a["developer_id"]),
                "team_id": ("uuid", lambda a: a.get("team_id")),
            }
            sort = {"created_at": lambda a: a["created_at"], "developer_id": lambda a: a["developer_id"]}
            sort["name"] = lambda a: a["name"]
            page = self.page(req, self.sorted(req, self.filtered(req, apps, fields), sort))
            page["data"] = [self.portal_service.admin_view(a) for a in page["data"]]
        return Response.json(200, page)

    def _portal_application(self, req) -> dict:
        portal = self._portal(req.params["portalId"])
        app = self.portal_service.applications.get(req.params["applicationId"])
        if not app or app["portal_id"] != portal["id"]:
            raise missing("Application")
        return app

    @route("GET", "/v3/portals/" + ID.format("portalId") + "/applications/" + ID.format("applicationId"))
    def get_portal_application(self, req):
        with self.world.lock:
            return Response.json(200, self.portal_service.admin_view(self._portal_application(req)))

    @route("DELETE", "/v3/portals/" + ID.format("portalId") + "/applications/" + ID.format("applicationId"))
    def delete_portal_application(self, req):
        with self.world.lock:
            app = self._portal_application(req)
        self.portal_service.delete_application(app)
        return Response.empty(204)


def _version_summary(spec_content: str, version, now) -> dict:
    text = spec_content.lstrip()
    kind = "oas2" if "swagger" in text[:200] else "asyncapi" if "asyncapi" in text[:200] else "oas3"
    found = re.search(r'"?version"?\s*:\s*"?([^"\n,]+)"?', text)
    return {
        "id": str(uuid.uuid4()),
        "version": found.group(1).strip() if found else (version or "1.0.0"),
        "spec": {"type": kind},
        "created_at": now,
        "updated_at": now,
    }
