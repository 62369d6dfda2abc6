"""Dev Portal developer API (Portal API v3): one listener per portal.

Each portal created in Konnect gets its own HTTPS listener (its
``default_domain``); ``req.scope["portal_id"]`` says which portal a request
is for. A developer signs in with ``POST /api/v3/developer/authenticate`` and
gets the ``portalaccesstoken`` cookie, valid for that portal only.

Creating an application with a DCR auth strategy makes Konnect act as the
strategy's DCR provider's initial client in Azure (``konnect.AzureDcr``):
a Graph app it then owns, plus a password whose value is returned once. When
Azure refuses, the creation fails with a 400 whose detail says why.

Decisions where the spec is silent: the strategies offered to developers are
those of the portal's publications plus the portal's default; an application
name is unique per developer and portal (409); a registration needs the
API's publication to use the application's auth strategy (400 otherwise);
deleting a DCR application deletes its Graph app first and fails (400) if
Azure refuses, so no client is left behind unnoticed.
"""

from __future__ import annotations

import hmac
import json
import secrets
import uuid

from contract import Contract
from framework import Response, iso, route
from konnect import ID, AzureDcr, AzureError, KongService, Problem, bad, body_of, missing

SESSION_SECONDS = 3600
COOKIE = "portalaccesstoken"
TTL_DAYS = {"days": 1, "weeks": 7, "years": 365}


class Portal(KongService):
    name = "portal"
    contract = Contract(["konnect-dev-portal-v3-portal-api.yaml"], "https://custom.example.com")
    auth_exempt = ("login", "logout")

    def __init__(self, world):
        super().__init__(world)
        self.reset()

    @property
    def konnect(self):
        return self.world.services["konnect"]

    # -- admin hooks ----------------------------------------------------------
    def reset(self):
        with self.world.lock:
            self.developers: dict[str, dict] = {}
            self.sessions: dict[str, dict] = {}
            self.applications: dict[str, dict] = {}
            self.registrations: dict[str, dict] = {}

    def seed(self, data):
        with self.world.lock:
            for item in data.get("developers", []):
                portal = next((p for p in self.konnect.portals.values() if p["name"] == item["portal"]), None)
                if portal is None:
                    raise ValueError(f"seed: developer {item['email']} names an unknown portal {item['portal']!r}")
                if any(
                    d["email"] == item["email"] and d["portal_id"] == portal["id"] for d in self.developers.values()
                ):
                    continue
                dev = {"id": str(uuid.uuid4()), "email": item["email"], "password": item["password"]}
                dev["portal_id"] = portal["id"]
                self.developers[dev["id"]] = dev

    def state(self):
        with self.world.lock:
            apps = []
            for app in self.applications.values():
                view = {k: v for k, v in app.items() if k not in ("credentials", "strategy")}
                view["auth_strategy"] = app["strategy"]
                apps.append(view)
            return {
                "developers": [{k: d[k] for k in ("id", "email", "portal_id")} for d in self.developers.values()],
                "applications": apps,
                "registrations": list(self.registrations.values()),
                "sessions": len(self.sessions),
            }

    def endpoints(self):
        first = next(iter(self.developers.values()), None)
        return {"developer_email": first and first["email"], "developer_password": first and first["password"]}

    def headers(self, req):
        return {"X-Kong-Request-Id": req.request_id.replace("-", "")}

    def forget(self, portal_id=None, api_id=None):
        """Konnect deleted a portal or an API: drop what hung off it."""
        with self.world.lock:
            if portal_id:
                for table in (self.developers, self.applications, self.registrations):
                    for key in [k for k, v in table.items() if v.get("portal_id") == portal_id]:
                        del table[key]
                for token in [t for t, s in self.sessions.items() if s["portal_id"] == portal_id]:
                    del self.sessions[token]
            if api_id:
                for key in [k for k, r in self.registrations.items() if r["api_id"] == api_id]:
                    del self.registrations[key]

    # -- who is asking ----------------------------------------------------------
    def portal(self, req) -> dict:
        portal = self.konnect.portals.get(req.scope.get("portal_id"))
        if portal is None:  # deleted while a connection stayed open
            raise Problem(404, "Portal not found", off_spec=True)
        return portal

    def authenticate(self, req):
        with self.world.lock:
            portal = self.portal(req)
            if not portal["authentication_enabled"]:
                # the spec's tag note, though not every operation lists 404
                raise Problem(404, "This portal is public: applications are not available", off_spec=True)
            session = self.sessions.get(req.cookies().get(COOKIE, ""))
            if not session or session["portal_id"] != portal["id"] or session["expires"] < self.world.clock.now():
                # off_spec: GET .../credentials lists no 401, yet the cookie check comes first
                raise Problem(401, "Unauthorized", off_spec=True)
            req.developer = self.developers[session["developer_id"]]

    @route("POST", "/api/v3/developer/authenticate")
    def login(self, req):
        body = body_of(req)
        with self.world.lock:
            portal = self.portal(req)
            dev = next(
                (
                    d
                    for d in self.developers.values()
                    if d["portal_id"] == portal["id"] and d["email"].lower() == str(body["username"]).lower()
                ),
                None,
            )
            if dev is None or not hmac.compare_digest(dev["password"].encode(), str(body["password"]).encode()):
                raise Problem(
                    401,
                    "You have entered an invalid email or password.",
                    title="Invalid Credentials",
                    instance="konnect:trace:%d" % (uuid.uuid4().int % 10**19),
                )
            token = secrets.token_urlsafe(32)
            self.sessions[token] = {
                "developer_id": dev["id"],
                "portal_id": portal["id"],
                "expires": self.world.clock.now() + SESSION_SECONDS,
            }
        cookie = f"{COOKIE}={token}; Path=/; Max-Age={SESSION_SECONDS}; HttpOnly; Secure; SameSite=None"
        return Response.empty(204, {"Set-Cookie": cookie})

    @route("POST", "/api/v3/developer/logout")
    def logout(self, req):
        with self.world.lock:
            self.sessions.pop(req.cookies().get(COOKIE, ""), None)
        return Response.empty(204, {"Set-Cookie": f"{COOKIE}=; Path=/; Max-Age=0; HttpOnly; Secure; SameSite=None"})

    # -- auth strategies offered by this portal --------------------------------------
    def portal_strategies(self, portal) -> list[dict]:
        k = self.konnect
        ids = [
            sid
            for (_ignored, pid), pub in k.publications.items()
            if pid == portal["id"]
            for sid in pub["auth_strategy_ids"] or []
        ]
        ids.append(portal["default_application_auth_strategy_id"])
        return [k.strategies[sid] for sid in dict.fromkeys(ids) if sid in k.strategies]

    def strategy_view(self, s: dict) -> dict:
        """PortalAuthStrategy: how a developer sees an auth strategy."""
        view = {"id": s["id"], "name": s["display_name"] or s["name"]}
        if s["strategy_type"] == "key_auth":
            cfg = s["configs"]["key-auth"]
            view.update(credential_type="key_auth", key_names=list(cfg.get("key_names") or ["apikey"]))
            if cfg.get("ttl"):
                view["ttl"] = dict(cfg["ttl"])
        else:
            cfg = s["configs"]["openid-connect"]
            kind = "client_credentials" if s["dcr_provider_id"] else "self_managed_client_credentials"
            view.update(credential_type=kind, auth_methods=list(cfg.get("auth_methods") or []))
        view["supports_multiple_credentials"] = self.konnect.multiple_credentials(s)
        return view

    @route("GET", "/api/v3/application-auth-strategies")
    def list_strategies(self, req):
        with self.world.lock:
            views = [self.strategy_view(s) for s in self.portal_strategies(self.portal(req))]
            fields = {
                "name": ("string", lambda v: v["name"]),
                "credential_type": ("string", lambda v: v["credential_type"]),
            }
            return Response.json(200, self.page(req, self.filtered(req, views, fields)))

    # -- applications -------------------------------------------------------------------
    def app_view(self, app: dict) -> dict:
        view = {k: app[k] for k in ("id", "name", "description", "redirect_uri", "created_at", "updated_at")}
        strategy = self.konnect.strategies.get(app["auth_strategy_id"])
        view["auth_strategy"] = self.strategy_view(strategy) if strategy else app["strategy"]
        if app["client_id"]:
            view["client_id"] = app["client_id"]
        if app.get("team_id"):
            view["team_id"] = app["team_id"]
        return view

    def admin_view(self, app: dict) -> dict:
        """The same application as Konnect's admin API (PM3) shows it."""
        strategy = _bare(self.app_view(app)["auth_strategy"])
        view = {k: app[k] for k in ("id", "created_at", "updated_at", "name", "description")}
        view.update(
            labels=dict(app["labels"]),
            registration_count=sum(1 for r in self.registrations.values() if r["application_id"] == app["id"]),
            portal={"id": app["portal_id"]},
            auth_strategy=strategy,
            owner={"type": "developer", "id": app["developer_id"]},
        )
        if strategy["credential_type"] != "key_auth":
            view["client_id"] = app["client_id"] or ""
            view["dcr_provider"] = {"id": app["dcr_provider_id"]} if app["dcr_provider_id"] else None
            view["granted_scopes"] = None  # Entra does not report granted scopes
        return view

    def _application(self, req) -> dict:
        app = self.applications.get(req.params["applicationId"])
        if not app or app["developer_id"] != req.developer["id"] or app.get("creating"):
            raise missing("Application")
        return app

    @route("GET", "/api/v3/applications")
    def list_applications(self, req):
        with self.world.lock:
            apps = [
                a
                for a in self.applications.values()
                if a["developer_id"] == req.developer["id"] and not a.get("creating")
            ]
            fields = {
                "name": ("string", lambda a: a["name"]),
                "auth_strategy_id": ("uuid", lambda a: a["auth_strategy_id"]),
                "team_id": ("uuid", lambda a: a.get("team_id") or "null"),
            }
            page = self.page(req, self.filtered(req, apps, fields))
            page["data"] = [self.app_view(a) for a in page["data"]]
        return Response.json(200, page)

    @route("POST", "/api/v3/applications")
    def create_application(self, req):
        body = body_of(req)
        with self.world.lock:
            portal, dev = self.portal(req), req.developer
            sid = body.get("auth_strategy_id") or portal["default_application_auth_strategy_id"]
            if not sid:
                raise bad("auth_strategy_id", "this portal has no default application auth strategy", rule="required")
            offered = {s["id"]: s for s in self.portal_strategies(portal)}
            if sid not in offered:
                raise Problem(404, f"Auth strategy [{sid}] is not available in this portal")
            strategy = offered[sid]
            if any(
                a["name"] == body["name"] and a["developer_id"] == dev["id"] and a["portal_id"] == portal["id"]
                for a in self.applications.values()
            ):
                raise Problem(409, f"An application named [{body['name']}] already exists")
            provider = self.konnect.providers.get(strategy["dcr_provider_id"] or "")
            if strategy["dcr_provider_id"] and not provider:
                raise Problem(400, "The auth strategy's DCR provider no longer exists", [_field("auth_strategy_id")])
            if provider and body.get("client_id"):
                raise bad("client_id", "cannot be set when the auth strategy uses Dynamic Client Registration")
            self_managed = strategy["strategy_type"] == "openid_connect" and not provider
            if self_managed and not body.get("client_id"):
                raise bad("client_id", "is required by a self-managed client credentials strategy", rule="required")
            now = iso(self.world.clock.now())
            app = {
                "id": str(uuid.uuid4()),
                "portal_id": portal["id"],
                "developer_id": dev["id"],
                "name": body["name"],
                "description": body.get("description"),
                "redirect_uri": body.get("redirect_uri"),
                "auth_strategy_id": sid,
                "strategy": self.strategy_view(strategy),
                "client_id": body.get("client_id") if self_managed else None,
                "dcr_provider_id": provider["id"] if provider else None,
                "graph_object_id": None,
                "team_id": body.get("team_id"),
                "labels": {},
                "credentials": [],
                "created_at": now,
                "updated_at": now,
                "creating": bool(provider),  # reserved while Azure works (keeps the name taken)
            }
            self.applications[app["id"]] = app
            provider = json.loads(json.dumps(provider)) if provider else None
        secret = None
        if provider:  # outside the lock: Entra and Graph are other services
            try:
                if provider["provider_type"] != "azureAd":
                    raise AzureError(f"{provider['provider_type']} DCR providers are not supported by this emulator")
                graph_app, secret = AzureDcr(self.world, provider).create_app(body["name"])
            except AzureError as exc:
                with self.world.lock:
                    self.applications.pop(app["id"], None)
                raise Problem(
                    400,
                    f"The DCR provider [{provider['name']}] could not create the application in Azure AD: {exc}",
                    [_field("auth_strategy_id", f"DCR with provider [{provider['name']}] failed: {exc}")],
                ) from None
            with self.world.lock:
                app.update(client_id=graph_app["appId"], graph_object_id=graph_app["id"], creating=False)
        with self.world.lock:
            view = self.app_view(app)
        if secret:
            view["client_secret"] = secret["secretText"]  # shown once, never stored
        return Response.json(201, view)

    @route("GET", "/api/v3/applications/" + ID.format("applicationId"))
    def get_application(self, req):
        with self.world.lock:
            return Response.json(200, self.app_view(self._application(req)))

    @route("PATCH", "/api/v3/applications/" + ID.format("applicationId"))
    def update_application(self, req):
        body = body_of(req)
        with self.world.lock:
            app = self._application(req)
            name = body.get("name", app["name"])
            if any(
                a is not app and a["name"] == name and a["developer_id"] == app["developer_id"]
                for a in self.applications.values()
            ):
                raise Problem(409, f"An application named [{name}] already exists")
            if "client_id" in body and app["dcr_provider_id"]:
                raise bad("client_id", "cannot be set when the auth strategy uses Dynamic Client Registration")
            for key in ("name", "description", "redirect_uri", "client_id", "team_id"):
                if key in body:
                    app[key] = body[key]
            app["updated_at"] = iso(self.world.clock.now())
            return Response.json(200, self.app_view(app))

    @route("DELETE", "/api/v3/applications/" + ID.format("applicationId"))
    def delete_application_route(self, req):
        with self.world.lock:
            app = self._application(req)
        self.delete_application(app)
        return Response.empty(204)

    def delete_application(self, app: dict) -> None:
        """Delete the Graph app Konnect made for it (if any), then the application."""
        with self.world.lock:
            provider = self.konnect.providers.get(app["dcr_provider_id"] or "")
            provider = json.loads(json.dumps(provider)) if provider else None
        if provider and app["graph_object_id"]:
            try:
                AzureDcr(self.world, provider).delete_app(app["graph_object_id"])
            except AzureError as exc:
                raise Problem(
                    400,
                    f"The DCR provider [{provider['name']}] could not delete the application in Azure AD: {exc}",
                    [_field("applicationId", str(exc), source="path")],
                ) from None
        with self.world.lock:
            self.applications.pop(app["id"], None)
            for key in [k for k, r in self.registrations.items() if r["application_id"] == app["id"]]:
                del self.registrations[key]

    # -- credentials -----------------------------------------------------------------------
    def _azure_for(self, app) -> AzureDcr | None:
        provider = self.konnect.providers.get(app["dcr_provider_id"] or "")
        if not provider or not app["graph_object_id"]:
            return None
        return AzureDcr(self.world, json.loads(json.dumps(provider)))

    @route("GET", "/api/v3/applications/" + ID.format("applicationId") + "/credentials")
    def list_credentials(self, req):
        with self.world.lock:
            app = self._application(req)
            azure = self._azure_for(app)
            items = [{k: v for k, v in c.items() if k != "credential"} for c in app["credentials"]]
        if azure:  # Entra holds the client's secrets; Konnect only maps the client id
            try:
                passwords = azure.secrets(app["graph_object_id"])
            except AzureError as exc:
                raise Problem(409, f"Could not read the credentials from Azure AD: {exc}") from None
            items = [
                {
                    "type": "client_secret",
                    "id": p["keyId"],
                    "display_name": p.get("displayName"),
                    "client_id": app["client_id"],
                    "created_at": p.get("startDateTime"),
                    "expires_at": p.get("endDateTime"),
                }
                for p in passwords
            ]
        return Response.json(200, self.page(req, items))

    @route("POST", "/api/v3/applications/" + ID.format("applicationId") + "/credentials")
    def create_credential(self, req):
        body = body_of(req) if req.body else {}
        with self.world.lock:
            app = self._application(req)
            azure = self._azure_for(app)
            strategy = app["strategy"]
            if not azure and strategy["credential_type"] != "key_auth":
                raise bad("applicationId", "this client's secrets are managed in the identity provider", source="path")
            if not azure:
                now = self.world.clock.now()
                ttl = strategy.get("ttl")
                expires = now + ttl["value"] * TTL_DAYS[ttl["unit"]] * 86400 if ttl else None
                cred = {
                    "type": "api_key",
                    "id": str(uuid.uuid4()),
                    "display_name": body.get("display_name") or "API key",
                    "credential": secrets.token_urlsafe(24),
                    "status": "active",
                    "expires_at": iso(expires) if expires else None,
                    "created_at": iso(now),
                }
                app["credentials"].append(cred)
                return Response.json(201, dict(cred))
        try:
            password = azure.add_secret(app["graph_object_id"], body.get("display_name") or "Konnect DCR")
        except AzureError as exc:
            raise Problem(
                400, f"Azure AD refused the new secret: {exc}", [_field("applicationId", str(exc), source="path")]
            ) from None
        return Response.json(
            201,
            {
                "type": "client_secret",
                "id": password["keyId"],
                "display_name": password.get("displayName"),
                "client_id": app["client_id"],
                "client_secret": password["secretText"],
                "created_at": password.get("startDateTime"),
                "expires_at": password.get("endDateTime"),
            },
        )

    # -- registrations ---------------------------------------------------------------------
    def registration_view(self, r: dict) -> dict:
        api = self.konnect.apis.get(r["api_id"], {})
        view = {k: r[k] for k in ("id", "status", "application_id", "api_id", "created_at", "updated_at")}
        view.update(api_name=api.get("name", ""), api_slug=api.get("slug", ""))
        return view

    @route("GET", "/api/v3/applications/" + ID.format("applicationId") + "/registrations")
    def list_registrations(self, req):
        with self.world.lock:
            app = self._application(req)
            regs = [self.registration_view(r) for r in self.registrations.values() if r["application_id"] == app["id"]]
            fields = {
                "id": ("string", lambda r: r["id"]),
                "status": ("string", lambda r: r["status"]),
                "api_name": ("string", lambda r: r["api_name"]),
            }
            return Response.json(200, self.page(req, self.filtered(req, regs, fields)))

    @route("POST", "/api/v3/applications/" + ID.format("applicationId") + "/registrations")
    def register(self, req):
        body = body_of(req)
        with self.world.lock:
            app = self._application(req)
            portal = self.portal(req)
            pub = self.konnect.publications.get((body["api_id"], portal["id"]))
            if pub is None:
                raise Problem(404, f"API [{body['api_id']}] is not published in this portal")
            if app["auth_strategy_id"] not in (pub["auth_strategy_ids"] or []):
                raise bad(
                    "api_id",
                    f"the API is published with auth strategies {pub['auth_strategy_ids']}; "
                    f"the application uses [{app['auth_strategy_id']}]",
                )
            if any(
                r["application_id"] == app["id"] and r["api_id"] == body["api_id"] for r in self.registrations.values()
            ):
                raise Problem(409, "The application is already registered for this API")
            approved = pub["auto_approve_registrations"] or portal["auto_approve_applications"]
            now = iso(self.world.clock.now())
            reg = {
                "id": str(uuid.uuid4()),
                "application_id": app["id"],
                "api_id": body["api_id"],
                "portal_id": portal["id"],
                "status": "approved" if approved else "pending",
                "created_at": now,
                "updated_at": now,
            }
            self.registrations[reg["id"]] = reg
            return Response.json(201, self.registration_view(reg))

    @route("GET", "/api/v3/apis/" + ID.format("apiIdOrSlug") + "/applications")
    def api_applications(self, req):
        with self.world.lock:
            portal = self.portal(req)
            key = req.params["apiIdOrSlug"]
            api = next((a for a in self.konnect.apis.values() if key in (a["id"], a["slug"])), None)
            if api is None or (api["id"], portal["id"]) not in self.konnect.publications:
                raise missing("API")
            regs = {r["application_id"]: r for r in self.registrations.values() if r["api_id"] == api["id"]}
            unregistered = req.arg("unregistered") in ("", "true")
            apps = [
                a
                for a in self.applications.values()
                if a["developer_id"] == req.developer["id"]
                and a["portal_id"] == portal["id"]
                and not a.get("creating")
                and (a["id"] in regs) != unregistered
            ]
            fields = {"name": ("string", lambda a: a["name"])}
            page = self.page(req, self.filtered(req, apps, fields, prefix="applicationfilter"))
            page["data"] = [
                {
                    "id": a["id"],
                    "name": a["name"],
                    "registration_id": regs[a["id"]]["id"] if a["id"] in regs else None,
                    "registration_status": regs[a["id"]]["status"] if a["id"] in regs else None,
                    "auth_strategy": _bare(self.app_view(a)["auth_strategy"]),
                    "created_at": a["created_at"],
                    "updated_at": a["updated_at"],
                }
                for a in page["data"]
            ]
        return Response.json(200, page)


def _bare(strategy: dict) -> dict:
    """AuthStrategy (not PortalAuthStrategy): without supports_multiple_credentials."""
    return {k: v for k, v in strategy.items() if k != "supports_multiple_credentials"}


def _field(field, reason="is invalid", source="body") -> dict:
    return {"field": field, "rule": "invalid", "reason": reason, "source": source}
