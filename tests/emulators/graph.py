"""Microsoft Graph v1.0 emulator: the directory calls the collection makes.

Applications (with ``uniqueName`` upsert, addPassword/removePassword, owners,
soft delete), service principals, app role assignments, delegated permission
grants and deleted items, following ../shared/specs/graph-v1.0-subset.yaml
(every request and response is checked against it) and the behaviours in
research/graph-entra.md: status codes, Graph's error body, ``$filter``/
``$select``/``$top`` and ``@odata.nextLink`` paging, permission checks from the
caller's token ``roles``, and replication delay (``world.consistency_delay``).

Only ``/v1.0`` is served. Query features the emulator does not implement
(``$search``, ``$orderby``, ``$expand``) are refused with a 400 that says so,
never silently ignored.
"""

from __future__ import annotations

import base64
import copy
import functools
import json
import re
import time
import urllib.parse
from dataclasses import dataclass

import jwt
import yaml

import directory as dirmod
from contract import SPECS_DIR, Contract
from framework import Request, Response, Service, route

SPEC = "graph-v1.0-subset.yaml"
GRAPH_HOST = "https://graph.microsoft.com"
META = GRAPH_HOST + "/v1.0/$metadata#"
JSON_CT = "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8"
BAD_JSON = (
    "Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON format."
)
GUID_RE = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")

V1 = r"/v1\.0"
_ID = r"(?P<id>[^/()$.]+)"
_KEY = r"'(?P<val>(?:[^']|'')*)'"
APP = V1 + r"/applications(?:/" + _ID + r"|\((?P<key>appId|uniqueName)=" + _KEY + r"\))"
SP = V1 + r"/servicePrincipals(?:/" + _ID + r"|\((?P<key>appId)=" + _KEY + r"\))"
GRANT = V1 + r"/oauth2PermissionGrants/(?P<gid>[^/]+)"
DELETED = V1 + r"/directory/deletedItems/" + _ID

# application permissions (token roles) each operation accepts
READ_APPS = frozenset(
    {
        "Application.Read.All",
        "Application.ReadWrite.All",
        "Application.ReadWrite.OwnedBy",
        "Directory.Read.All",
        "Directory.ReadWrite.All",
    }
)
CREATE_APPS = frozenset({"Application.ReadWrite.All", "Application.ReadWrite.OwnedBy"})
ALL_APPS = "Application.ReadWrite.All"
OWNED_BY = "Application.ReadWrite.OwnedBy"
ASSIGN = "AppRoleAssignment.ReadWrite.All"
ASSIGN_ALSO = frozenset(
    {"Application.Read.All", "Application.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All"}
)
GRANT_WRITE = frozenset({"DelegatedPermissionGrant.ReadWrite.All", "Directory.ReadWrite.All"})
GRANT_READ = GRANT_WRITE | {"DelegatedPermissionGrant.Read.All", "Directory.Read.All"}

APP_READ_ONLY = {
    "id",
    "appId",
    "createdDateTime",
    "publisherDomain",
    "uniqueName",
    "deletedDateTime",
    "applicationTemplateId",
    "disabledByMicrosoftStatus",
}
SP_READ_ONLY = {
    "id",
    "appId",
    "appDisplayName",
    "appOwnerOrganizationId",
    "servicePrincipalType",
    "deletedDateTime",
    "applicationTemplateId",
    "signInAudience",
}
SIGN_IN_AUDIENCES = (
    "AzureADMyOrg",
    "AzureADMultipleOrgs",
    "AzureADandPersonalMicrosoftAccount",
    "PersonalMicrosoftAccount",
)
FILTER_OPS = ("eq", "ne", "not", "ge", "le", "in", "startswith")
ADVANCED_OPS = ("ne", "not")  # need ConsistencyLevel: eventual and $count=true


class GraphError(Exception):
    def __init__(self, status: int, code: str, message: str, headers: dict | None = None):
        super().__init__(message)
        self.status, self.code, self.message, self.headers = status, code, message, headers


def bad_request(message: str) -> GraphError:
    return GraphError(400, "Request_BadRequest", message)


def invalid_value(prop: str, resource: str) -> GraphError:
    return bad_request("Invalid value specified for property '%s' of resource '%s'." % (prop, resource))


def not_found(ref: str) -> GraphError:
    return GraphError(
        404,
        "Request_ResourceNotFound",
        "Resource '%s' does not exist or one of its queried reference-property objects are not present." % ref,
    )


DENIED = GraphError(403, "Authorization_RequestDenied", "Insufficient privileges to complete the operation.")
WWW_AUTH = (
    'Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize", '
    'client_id="00000003-0000-0000-c000-000000000000"'
)


def unauthenticated(message: str) -> GraphError:
    return GraphError(401, "InvalidAuthenticationToken", message, {"WWW-Authenticate": WWW_AUTH})


@dataclass
class Caller:
    """Who is calling, from the verified token."""

    tenant: dirmod.Tenant
    sp_id: str
    app_id: str
    roles: frozenset

    def need(self, any_of) -> None:
        if not self.roles & any_of:
            raise DENIED


def spec_path(path: str) -> str:
    """The spec's spelling of a path Graph also accepts in another form."""
    path = re.sub(r"/(addPassword|removePassword|restore)$", r"/microsoft.graph.\1", path)
    # sub-resources of an alternate key are the same operations as on the object id
    return re.sub(
        r"^(/v1\.0/(?:applications|servicePrincipals))\((?:appId|uniqueName)='([^/]*)'\)(?=/)", r"\1/\2", path
    )


class GraphContract(Contract):
    """The Graph contract: ``ConsistencyLevel`` is a header parameter of its lists."""

    key_headers = ("content-type", "consistencylevel")

    def check_response(self, req, resp):
        # a 204 has no content by definition (RFC 9110), so the spec's 2XX content cannot apply
        if resp.status == 204 and not resp.body:
            return []
        # openapi-core reads text/plain as a string; the only text/plain schema here is $count's int32
        if resp.content_type == "text/plain":
            return [] if resp.body.isdigit() and int(resp.body) < 2**31 else ["ODataCountResponse: not an int32"]
        return super().check_response(req, resp)


class Schemas:
    """Property names and ``$filter`` capabilities of Graph types, read from the spec."""

    KINDS = ("application", "servicePrincipal", "appRoleAssignment", "oAuth2PermissionGrant", "directoryObject")

    def __init__(self):
        with open(SPECS_DIR / SPEC, encoding="utf-8") as fh:
            doc = yaml.load(fh, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))  # noqa: S506 - safe loaders only
        self._schemas = doc["components"]["schemas"]
        self.props = {k: self._collect("microsoft.graph." + k) for k in self.KINDS}
        self.filters = {k: self._filter_caps(k) for k in self.KINDS}

    def _collect(self, name):
        schema = self._schemas[name]
        out = {}
        for part in schema.get("allOf", [schema]):
            if "$ref" in part:
                out.update(self._collect(part["$ref"].rsplit("/", 1)[1]))
            else:
                out.update(part.get("properties", {}))
        return out

    def _filter_caps(self, kind):
        """{property: operators} from the "Supports $filter (...)" notes of the spec."""
        caps = {"id": {"eq", "in"}}
        for name, schema in self.props[kind].items():
            m = re.search(r"Supports \$filter \(([^)]*)\)", schema.get("description") or "")
            if not m:
                continue
            ops = set()
            for part in re.split(r",|\band\b", m.group(1)):
                words = part.strip().lower().split()
                if words and words[0] in FILTER_OPS:
                    ops.add(words[0])
            if ops:
                caps[name] = ops
        return caps

    def writable(self, kind):
        return {k for k, v in self.props[kind].items() if not v.get("x-ms-navigationProperty")}

    def is_array(self, kind, prop):
        return self.props[kind].get(prop, {}).get("type") == "array"


def api(method: str, pattern: str):
    """A Graph route: authenticated, under the world lock, GraphError -> Graph's error body."""

    def mark(fn):
        @functools.wraps(fn)
        def handler(self, req):
            try:
                with self.world.lock:
                    caller = self._authenticate(req)
                    self._purge(caller.tenant)
                    return fn(self, req, caller)
            except GraphError as exc:
                return self.error(req, exc)

        return route(method, pattern)(handler)

    return mark


class Graph(Service):
    name = "graph"

    def __init__(self, world):
        super().__init__(world)
        self.directory = dirmod.get(world)
        self.contract = GraphContract([SPEC], GRAPH_HOST, rewrite=spec_path)
        self.schemas = Schemas()
        self._verified: dict[str, dict] = {}  # token -> claims (signature checked once)

    # -- admin hooks ------------------------------------------------------------------------------
    def seed(self, data):
        self.directory.seed(data)

    def reset(self):
        self.directory.reset()

    def state(self):
        return {"page_size": self.directory.page_size, "tenants": self.directory.state()}

    def endpoints(self):
        return {"graph_url": self.world.url_of("graph")}

    def headers(self, req):
        return {
            "request-id": req.request_id,
            "client-request-id": self._client_request_id(req),
            "x-ms-ags-diagnostic": '{"ServerInfo":{"DataCenter":"Emulator","Slice":"E","Ring":"0",'
            '"ScaleUnit":"000","RoleInstance":"EMU"}}',
            "Strict-Transport-Security": "max-age=31536000",
        }

    # -- Graph's error formats --------------------------------------------------------------------
    @staticmethod
    def _client_request_id(req):
        return req.headers.get("client-request-id") or req.request_id

    def error(self, req, exc: GraphError, inner: dict | None = None) -> Response:
        inner_error = {
            "date": self.world.clock.utcnow().strftime("%Y-%m-%dT%H:%M:%S"),
            "request-id": req.request_id,
            "client-request-id": self._client_request_id(req),
        }
        inner_error.update(inner or {})
        body = {"error": {"code": exc.code, "message": exc.message, "innerError": inner_error}}
        return Response.json(exc.status, body, content_type=JSON_CT, headers=exc.headers)

    def not_found(self, req):
        parts = req.path.strip("/").split("/")
        if parts[0] != "v1.0":
            return self.error(req, GraphError(400, "BadRequest", "Invalid version: %s" % parts[0]))
        segment = parts[1] if len(parts) > 1 and parts[1] not in _ENTITY_SETS else parts[-1]
        return self.error(req, GraphError(400, "BadRequest", "Resource not found for the segment '%s'." % segment))

    def method_not_allowed(self, req, allowed):
        exc = GraphError(
            405,
            "Request_BadRequest",
            "Specified HTTP method is not allowed for the request uri.",
            {"Allow": ", ".join(allowed)},
        )
        return self.error(req, exc)

    def bad_json(self, req, detail):
        return self.error(req, GraphError(400, "BadRequest", BAD_JSON))

    def throttled(self, req, retry_after):
        exc = GraphError(429, "TooManyRequests", "Please retry again later.", {"Retry-After": str(retry_after)})
        return self.error(req, exc, {"code": "429", "message": "Please retry after", "status": "429"})

    def unavailable(self, req):
        exc = GraphError(
            503, "serviceNotAvailable", "Service unavailable. Please retry again later.", {"Retry-After": "1"}
        )
        return self.error(req, exc)

    def invalid_request(self, req, errors):
        """A request the spec rejects: Graph authenticates first, then answers 400."""
        try:
            with self.world.lock:
                self._authenticate(req)
        except GraphError as exc:
            return self.error(req, exc)
        body_errors = [e for e in errors if e.get("source") == "body"]
        if req.body and body_errors:
            try:
                json.loads(req.body)
            except ValueError:
                return self.bad_json(req, "")
        if not req.body and body_errors:
            return self.bad_json(req, "empty body")
        first = errors[0]
        field = first.get("field") or "body"
        if first.get("source") == "query":
            message = "Invalid value for query parameter '%s': %s" % (field, first.get("reason"))
        else:
            message = "Invalid value specified for property '%s' of resource '%s'." % (field, _resource_name(req.path))
        resp = self.error(req, bad_request(message))
        details = [
            {"code": e.get("rule", "invalid"), "message": e.get("reason", ""), "target": e.get("field") or ""}
            for e in errors
        ]
        body = json.loads(resp.body)
        body["error"]["details"] = details
        resp.body = json.dumps(body).encode()
        return resp

    # -- authentication ---------------------------------------------------------------------------
    def _authenticate(self, req: Request) -> Caller:
        token = req.bearer()
        if not token:
            raise unauthenticated("Access token is empty.")
        claims = self._verified.get(token)
        if claims is None:
            claims = self._verify(token)
            if len(self._verified) > 2000:
                self._verified.clear()
            self._verified[token] = claims
        now = self.directory.now()
        if claims.get("exp", 0) <= now:
            raise unauthenticated("Lifetime validation failed, the token is expired.")
        if claims.get("nbf", 0) > now + 300:
            raise unauthenticated("Lifetime validation failed, the token is not yet valid.")
        tenant = self.directory.tenant(claims.get("tid", ""))
        if tenant is None:
            raise unauthenticated("Access token validation failure. Invalid issuer.")
        return Caller(tenant, claims.get("oid", ""), claims.get("appid", ""), frozenset(claims.get("roles", [])))

    def _verify(self, token: str) -> dict:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.InvalidTokenError as exc:
            raise unauthenticated("IDX14100: JWT is not well formed.") from exc
        key = next((k for k in self.directory.keys if k.kid == header.get("kid")), None)
        if key is None:
            raise unauthenticated("Access token validation failure. Signing key not found.")
        try:
            claims = jwt.decode(
                token,
                key.public,
                algorithms=["RS256"],
                options={"verify_aud": False, "verify_exp": False, "verify_nbf": False, "verify_iat": False},
            )
        except jwt.InvalidTokenError as exc:
            raise unauthenticated("Access token validation failure. Invalid signature.") from exc
        if claims.get("aud") not in dirmod.GRAPH_AUDIENCES:
            raise unauthenticated("Access token validation failure. Invalid audience.")
        if claims.get("iss") != "https://sts.windows.net/%s/" % claims.get("tid"):
            raise unauthenticated("Access token validation failure. Invalid issuer.")
        return claims

    # -- lookups ----------------------------------------------------------------------------------
    def _visible(self, tenant, key) -> bool:
        return self.directory.visible(tenant, key)

    @staticmethod
    def _object_id(raw: str) -> str:
        if not GUID_RE.match(raw):
            raise bad_request("Invalid object identifier '%s'." % raw)
        return raw.lower()

    def _app(self, caller: Caller, req: Request) -> dict:
        t, p = caller.tenant, req.params
        if "id" in p:
            ref = p["id"]
            app = t.applications.get(self._object_id(ref))
        else:
            ref = _unquote(p["val"])
            app = t.app_by_app_id(ref) if p["key"] == "appId" else t.app_by_unique_name(ref)
        if app is None or not self._visible(t, app["id"]):
            raise not_found(ref)
        return app

    def _sp(self, caller: Caller, req: Request) -> dict:
        t, p = caller.tenant, req.params
        if "id" in p:
            ref = p["id"]
            sp = t.service_principals.get(self._object_id(ref))
        else:
            ref = _unquote(p["val"])
            sp = t.sp_by_app_id(ref)
        if sp is None or not self._visible(t, sp["id"]):
            raise not_found(ref)
        return sp

    def _can_write(self, caller: Caller, object_id: str) -> bool:
        """Application.ReadWrite.All touches anything; OwnedBy only what the caller owns."""
        if ALL_APPS in caller.roles:
            return True
        return OWNED_BY in caller.roles and caller.sp_id in caller.tenant.owners.get(object_id, [])

    def _purge(self, tenant) -> None:
        """Deleted items older than 30 days (emulated clock) are gone for good."""
        limit = self.directory.now() - dirmod.DELETED_RETENTION_DAYS * 86400
        for oid, obj in list(tenant.deleted.items()):
            if dirmod.parse_time(obj["deletedDateTime"]) < limit:
                self._destroy(tenant, oid)

    def _destroy(self, tenant, oid: str) -> None:
        obj = tenant.deleted.pop(oid)
        tenant.owners.pop(oid, None)
        for cred in obj.get("passwordCredentials", []):
            tenant.secrets.pop(cred["keyId"], None)
        if obj.get("@odata.type") == "#microsoft.graph.servicePrincipal":
            for aid, a in list(tenant.assignments.items()):
                if oid in (a["principalId"], a["resourceId"]):
                    del tenant.assignments[aid]
            for gid, g in list(tenant.grants.items()):
                if oid in (g["clientId"], g["resourceId"]):
                    del tenant.grants[gid]

    def _born(self, tenant, key: str) -> None:
        tenant.born[key] = time.monotonic()

    # -- responses --------------------------------------------------------------------------------
    def _select(self, req: Request, kind: str) -> list[str] | None:
        raw = req.arg("$select")
        if raw is None:
            return None
        names = [s.strip() for s in raw.split(",") if s.strip()]
        for name in names:
            if name not in self.schemas.props[kind]:
                raise GraphError(
                    400,
                    "BadRequest",
                    "Parsing OData Select and Expand failed: Could not find a property "
                    "named '%s' on type 'microsoft.graph.%s'." % (name, kind),
                )
        return names

    @staticmethod
    def _project(obj: dict, names: list[str] | None) -> dict:
        if names is None:
            return copy.deepcopy(obj)
        keep = ["@odata.type", "id", *names]
        return {k: copy.deepcopy(obj[k]) for k in keep if k in obj}

    def _one(self, req, obj, kind, context, status=200, extra=None) -> Response:
        names = self._select(req, kind)
        ctx = context + ("(%s)" % ",".join(names) if names else "") + "/$entity"
        body = {"@odata.context": META + ctx, **self._project(obj, names), **(extra or {})}
        return Response.json(status, body, content_type=JSON_CT)

    def _list(self, req: Request, items: list[dict], kind: str, context: str) -> Response:
        for unsupported in ("$search", "$orderby", "$expand", "$skip"):
            if req.arg(unsupported) is not None:
                raise GraphError(
                    400,
                    "Request_UnsupportedQuery",
                    "The emulator does not support the query option '%s'." % unsupported,
                )
        eventual = req.headers.get("consistencylevel", "").lower() == "eventual"
        count = (req.arg("$count") or "").lower() == "true"
        if count and not eventual:
            raise bad_request("$count is only supported with the ConsistencyLevel header set to eventual.")
        if req.arg("$filter") is not None:
            pred = _Filter(req.arg("$filter"), self.schemas, kind, advanced=eventual and count).parse()
            items = [o for o in items if pred(o)]
        names = self._select(req, kind)
        top = req.arg("$top")
        try:
            size = int(top) if top is not None else self.directory.page_size
        except ValueError:
            size = 0
        if not 1 <= size <= 999:
            raise bad_request("Invalid page size specified: '%d'. Must be between 1 and 999 inclusive." % size)
        # paging by id cursor: stable while objects come and go between pages
        items = sorted(items, key=lambda o: o["id"])
        after = _decode_skiptoken(req.arg("$skiptoken"))
        if after is not None:
            items_after = [o for o in items if o["id"] > after]
        else:
            items_after = items
        page = items_after[:size]
        ctx = context + ("(%s)" % ",".join(names) if names else "")
        body = {"@odata.context": META + ctx}
        if count and after is None:
            body["@odata.count"] = len(items)
        if len(items_after) > size:
            body["@odata.nextLink"] = self._next_link(req, page[-1]["id"])
        body["value"] = [self._project(o, names) for o in page]
        return Response.json(200, body, content_type=JSON_CT)

    def _next_link(self, req: Request, last_id: str) -> str:
        query = [(k, v) for k, v in urllib.parse.parse_qsl(req.raw_query, keep_blank_values=True) if k != "$skiptoken"]
        query.append(("$skiptoken", _encode_skiptoken(last_id)))
        path = urllib.parse.quote(req.path, safe="/()'=$,.-_~")
        qs = urllib.parse.urlencode(query, quote_via=urllib.parse.quote, safe="$,'()")
        return "%s%s?%s" % (self.world.url_of("graph"), path, qs)

    def _count(self, req: Request, items: list[dict]) -> Response:
        if req.headers.get("consistencylevel", "").lower() != "eventual":
            raise bad_request("$count is only supported with the ConsistencyLevel header set to eventual.")
        return Response(200, str(len(items)).encode(), {"Content-Type": "text/plain;charset=utf-8"})

    # -- applications -----------------------------------------------------------------------------
    def _live_apps(self, tenant):
        return [a for a in tenant.applications.values() if self._visible(tenant, a["id"])]

    @api("GET", V1 + r"/applications")
    def list_applications(self, req, caller):
        caller.need(READ_APPS)
        return self._list(req, self._live_apps(caller.tenant), "application", "applications")

    @api("GET", V1 + r"/applications/\$count")
    def count_applications(self, req, caller):
        caller.need(READ_APPS)
        return self._count(req, self._live_apps(caller.tenant))

    @api("POST", V1 + r"/applications")
    def create_application(self, req, caller):
        caller.need(CREATE_APPS)
        body = _object_body(req)
        return self._create_application(req, caller, body, unique_name=None)

    def _create_application(self, req, caller, body, unique_name):
        t = caller.tenant
        self._check_app_body(t, body, current=None)
        owners = self._bound_owners(t, body.pop("owners@odata.bind", []))
        passwords = body.pop("passwordCredentials", [])
        app = self.directory.new_application(t, body["displayName"])
        body.pop("@odata.type", None)
        _merge(app, body)
        _normalize_app(app)
        app["uniqueName"] = unique_name
        self._born(t, app["id"])
        # the caller owns what it creates (how Application.ReadWrite.OwnedBy works)
        t.owners[app["id"]] = [caller.sp_id, *(o for o in owners if o != caller.sp_id)]
        created = []
        for pc in passwords:
            cred = self._add_password(t, app, pc)
            created.append(cred)
        out = copy.deepcopy(app)
        by_key = {c["keyId"]: c for c in created}
        out["passwordCredentials"] = [by_key.get(c["keyId"], c) for c in out["passwordCredentials"]]
        return Response.json(201, {"@odata.context": META + "applications/$entity", **out}, content_type=JSON_CT)

    def _bound_owners(self, tenant, binds) -> list[str]:
        if not isinstance(binds, list):
            raise invalid_value("owners@odata.bind", "Application")
        out = []
        for url in binds:
            oid = str(url).rstrip("/").rsplit("/", 1)[-1]
            obj = tenant.alive(oid.lower()) if GUID_RE.match(oid) else None
            if obj is None or not self._visible(tenant, obj["id"]):
                raise not_found(oid)
            out.append(obj["id"])
        return out

    def _check_app_body(self, tenant, body: dict, current: dict | None) -> None:
        creating = current is None
        allowed = self.schemas.writable("application")
        for k in body:
            if k == "@odata.type" or (creating and k == "owners@odata.bind"):
                continue
            if k in APP_READ_ONLY:
                raise bad_request("Property '%s' is read-only and cannot be set." % k)
            if k not in allowed:
                raise bad_request("Property '%s' does not exist as a declared property or extension property." % k)
        if creating or "displayName" in body:
            name = body.get("displayName")
            if not isinstance(name, str) or not name.strip():
                raise invalid_value("displayName", "Application")
        if "signInAudience" in body and body["signInAudience"] not in SIGN_IN_AUDIENCES:
            raise invalid_value("signInAudience", "Application")
        audience = body.get("signInAudience") or (current["signInAudience"] if current else "AzureADMyOrg")
        api_body = body.get("api") if isinstance(body.get("api"), dict) else {}
        if "requestedAccessTokenVersion" in api_body:
            version = api_body["requestedAccessTokenVersion"]
        else:
            version = current["api"].get("requestedAccessTokenVersion") if current else None
        if "Personal" in audience and version != 2:
            raise bad_request("Property api.requestedAccessTokenVersion is invalid.")
        for rra in body.get("requiredResourceAccess") or []:
            if not isinstance(rra, dict) or not rra.get("resourceAppId"):
                raise invalid_value("requiredResourceAccess", "Application")
            for ra in rra.get("resourceAccess") or []:
                if not isinstance(ra, dict) or ra.get("type") not in ("Role", "Scope") or not ra.get("id"):
                    raise invalid_value("requiredResourceAccess", "Application")
        for role in body.get("appRoles") or []:
            if not isinstance(role, dict) or not role.get("id") or not role.get("allowedMemberTypes"):
                raise invalid_value("appRoles", "Application")
        if body.get("keyCredentials"):
            raise bad_request("The emulator does not model keyCredentials (certificates); use addPassword.")
        if "passwordCredentials" in body:
            if not creating:
                raise bad_request("New password credentials must be generated using service actions.")
            for pc in body["passwordCredentials"] or []:
                if not isinstance(pc, dict) or pc.get("secretText"):
                    raise bad_request("New password credentials must be generated using service actions.")
                if pc.get("keyId"):
                    raise invalid_value("keyId", "PasswordCredential")
        self._check_identifier_uris(tenant, body.get("identifierUris"), current)

    def _check_identifier_uris(self, tenant, uris, current) -> None:
        if not uris:
            return
        for uri in uris:
            if not isinstance(uri, str) or not uri:
                raise invalid_value("identifierUris", "Application")
            if not uri.startswith("api://"):
                host = (urllib.parse.urlsplit(uri).hostname or "").lower()
                domain = tenant.domain.lower()
                if host != domain and not host.endswith("." + domain):
                    raise bad_request(
                        "Values of identifierUris property must use a verified domain of the "
                        "organization or its subdomain: '%s'" % uri
                    )
        # soft-deleted applications keep their identifier URIs
        taken = {
            u.lower()
            for o in [*tenant.applications.values(), *tenant.deleted.values()]
            if o is not current
            for u in o.get("identifierUris", [])
        }
        if any(u.lower() in taken for u in uris):
            raise bad_request("Another object with the same value for property identifierUris already exists.")

    def _update_application(self, caller, app, body) -> None:
        if not self._can_write(caller, app["id"]):
            raise DENIED
        self._check_app_body(caller.tenant, body, current=app)
        body.pop("@odata.type", None)
        _merge(app, body)
        _normalize_app(app)
        self._sync_sp(caller.tenant, app)

    def _sync_sp(self, tenant, app) -> None:
        """The service principal mirrors its application's names and published permissions."""
        sp = tenant.sp_by_app_id(app["appId"])
        if sp is None:
            return
        sp.update(
            appDisplayName=app["displayName"],
            displayName=app["displayName"],
            signInAudience=app["signInAudience"],
            servicePrincipalNames=[app["appId"], *app["identifierUris"]],
            appRoles=[dict(r, origin="Application") for r in app["appRoles"]],
            oauth2PermissionScopes=[dict(s, origin="Application") for s in app["api"]["oauth2PermissionScopes"]],
        )

    @api("GET", APP)
    def get_application(self, req, caller):
        caller.need(READ_APPS)
        return self._one(req, self._app(caller, req), "application", "applications")

    @api("PATCH", APP)
    def patch_application(self, req, caller):
        body = _object_body(req)
        t = caller.tenant
        if req.params.get("key") == "uniqueName":
            # upsert: keyed on uniqueName on the write side, so replication never makes a duplicate
            name = _unquote(req.params["val"])
            app = t.app_by_unique_name(name)
            if app is None:
                if "create-if-missing" not in _prefer(req):
                    raise not_found(name)
                caller.need(CREATE_APPS)
                if "passwordCredentials" in body:  # "Using PATCH to set passwordCredential is not supported"
                    raise bad_request("New password credentials must be generated using service actions.")
                return self._create_application(req, caller, body, unique_name=name)
            caller.need(CREATE_APPS)
            self._update_application(caller, app, body)
            return Response.empty(204)
        caller.need(CREATE_APPS)
        self._update_application(caller, self._app(caller, req), body)
        return Response.empty(204)

    @api("DELETE", APP)
    def delete_application(self, req, caller):
        caller.need(CREATE_APPS)
        t = caller.tenant
        app = self._app(caller, req)
        if not self._can_write(caller, app["id"]):
            raise DENIED
        self._soft_delete(t, app, "#microsoft.graph.application")
        # the home tenant's service principal goes with its application
        sp = t.sp_by_app_id(app["appId"])
        if sp is not None:
            self._soft_delete(t, sp, "#microsoft.graph.servicePrincipal")
        return Response.empty(204)

    def _soft_delete(self, tenant, obj, odata_type) -> None:
        store = tenant.applications if odata_type.endswith("application") else tenant.service_principals
        del store[obj["id"]]
        obj["deletedDateTime"] = dirmod.gtime(self.directory.now())
        obj["@odata.type"] = odata_type
        tenant.deleted[obj["id"]] = obj

    # -- passwords --------------------------------------------------------------------------------
    def _add_password(self, tenant, app, pc: dict) -> dict:
        if not isinstance(pc, dict):
            raise invalid_value("passwordCredential", "Application")
        try:
            start = dirmod.parse_time(pc["startDateTime"]) if pc.get("startDateTime") else None
            end = dirmod.parse_time(pc["endDateTime"]) if pc.get("endDateTime") else None
        except (TypeError, ValueError) as exc:
            raise invalid_value("passwordCredential", "Application") from exc
        if end is not None and end <= (start if start is not None else self.directory.now()):
            raise invalid_value("endDateTime", "PasswordCredential")
        cred = self.directory.add_password(tenant, app, pc.get("displayName"), start, end)
        self._born(tenant, cred["keyId"])
        return cred

    @api("POST", APP + r"/(?:microsoft\.graph\.)?addPassword")
    def add_password(self, req, caller):
        caller.need(CREATE_APPS)
        app = self._app(caller, req)
        if not self._can_write(caller, app["id"]):
            raise DENIED
        body = _object_body(req)
        cred = self._add_password(caller.tenant, app, body.get("passwordCredential") or {})
        return Response.json(
            200, {"@odata.context": META + "microsoft.graph.passwordCredential", **cred}, content_type=JSON_CT
        )

    @api("POST", APP + r"/(?:microsoft\.graph\.)?removePassword")
    def remove_password(self, req, caller):
        caller.need(CREATE_APPS)
        app = self._app(caller, req)
        if not self._can_write(caller, app["id"]):
            raise DENIED
        key_id = str(_object_body(req).get("keyId") or "").lower()
        creds = app["passwordCredentials"]
        if not any(c["keyId"] == key_id for c in creds):
            raise not_found(key_id)
        app["passwordCredentials"] = [c for c in creds if c["keyId"] != key_id]
        caller.tenant.secrets.pop(key_id, None)
        return Response.empty(204)

    # -- owners -----------------------------------------------------------------------------------
    def _owners(self, caller, object_id) -> list[dict]:
        t = caller.tenant
        out = []
        for oid in t.owners.get(object_id, []):
            obj = t.service_principals.get(oid)
            if obj is not None and self._visible(t, oid):
                out.append(dict(obj, **{"@odata.type": "#microsoft.graph.servicePrincipal"}))
        return out

    @api("GET", APP + r"/owners")
    def list_app_owners(self, req, caller):
        caller.need(READ_APPS)
        return self._list(
            req, self._owners(caller, self._app(caller, req)["id"]), "servicePrincipal", "directoryObjects"
        )

    @api("GET", APP + r"/owners/\$ref")
    def list_app_owner_refs(self, req, caller):
        caller.need(READ_APPS)
        owners = self._owners(caller, self._app(caller, req)["id"])
        # the spec describes the $ref list as a collection of strings (the owners' URLs)
        value = [GRAPH_HOST + "/v1.0/directoryObjects/" + o["id"] for o in owners]
        return Response.json(200, {"@odata.context": META + "Collection(string)", "value": value}, content_type=JSON_CT)

    @api("POST", APP + r"/owners/\$ref")
    def add_app_owner(self, req, caller):
        caller.need(READ_APPS)
        app = self._app(caller, req)
        # "Application.ReadWrite.OwnedBy isn't sufficient to add another owner"
        if ALL_APPS not in caller.roles:
            raise DENIED
        ref = _object_body(req).get("@odata.id")
        if not isinstance(ref, str) or not ref:
            raise invalid_value("@odata.id", "DirectoryObject")
        (owner_id,) = self._bound_owners(caller.tenant, [ref])
        owners = caller.tenant.owners.setdefault(app["id"], [])
        if owner_id in owners:
            raise bad_request(
                "One or more added object references already exist for the following modified properties: 'owners'."
            )
        owners.append(owner_id)
        return Response.empty(204)

    @api("DELETE", APP + r"/owners/(?P<owner>[^/]+)/\$ref")
    def remove_app_owner(self, req, caller):
        return self._remove_owner(req, caller, req.params["owner"])

    @api("DELETE", APP + r"/owners/\$ref")
    def remove_app_owner_by_query(self, req, caller):
        ref = req.arg("@id") or req.arg("$id") or ""
        return self._remove_owner(req, caller, ref.rstrip("/").rsplit("/", 1)[-1])

    def _remove_owner(self, req, caller, owner_id):
        caller.need(CREATE_APPS)
        app = self._app(caller, req)
        if not self._can_write(caller, app["id"]):
            raise DENIED
        owners = caller.tenant.owners.get(app["id"], [])
        if owner_id.lower() not in owners:
            raise not_found(owner_id)
        owners.remove(owner_id.lower())
        return Response.empty(204)

    # -- service principals -----------------------------------------------------------------------
    def _live_sps(self, tenant):
        return [s for s in tenant.service_principals.values() if self._visible(tenant, s["id"])]

    @api("GET", V1 + r"/servicePrincipals")
    def list_service_principals(self, req, caller):
        caller.need(READ_APPS)
        return self._list(req, self._live_sps(caller.tenant), "servicePrincipal", "servicePrincipals")

    @api("GET", V1 + r"/servicePrincipals/\$count")
    def count_service_principals(self, req, caller):
        caller.need(READ_APPS)
        return self._count(req, self._live_sps(caller.tenant))

    @api("POST", V1 + r"/servicePrincipals")
    def create_service_principal(self, req, caller):
        caller.need(CREATE_APPS)
        return self._create_sp(caller, _object_body(req), None)

    def _create_sp(self, caller, body, app_id):
        t = caller.tenant
        app_id = app_id or body.get("appId")
        if not isinstance(app_id, str) or not app_id:
            raise invalid_value("appId", "ServicePrincipal")
        app = t.app_by_app_id(app_id)
        if app is None or not self._visible(t, app["id"]):
            # also what a just-created application looks like until it replicates
            raise bad_request(
                "The appId '%s' of the service principal does not reference a valid application object." % app_id
            )
        if not self._can_write(caller, app["id"]):
            raise DENIED
        if t.sp_by_app_id(app_id) is not None:
            raise GraphError(
                409,
                "Request_MultipleObjectsWithSameKeyValue",
                "The service principal cannot be created, updated, or restored because the service "
                "principal name %s is already in use." % app_id,
            )
        patch = {k: v for k, v in body.items() if k not in ("appId", "@odata.type")}
        self._check_sp_body(patch)
        sp = self.directory.new_service_principal(t, app)
        _merge(sp, patch)
        self._born(t, sp["id"])
        t.owners[sp["id"]] = [caller.sp_id]
        return Response.json(201, {"@odata.context": META + "servicePrincipals/$entity", **sp}, content_type=JSON_CT)

    def _check_sp_body(self, body) -> None:
        allowed = self.schemas.writable("servicePrincipal")
        for k in body:
            if k in SP_READ_ONLY:
                raise bad_request("Property '%s' is read-only and cannot be set." % k)
            if k not in allowed or k in ("passwordCredentials", "keyCredentials"):
                raise bad_request("Property '%s' does not exist as a declared property or extension property." % k)

    @api("GET", SP)
    def get_service_principal(self, req, caller):
        caller.need(READ_APPS)
        return self._one(req, self._sp(caller, req), "servicePrincipal", "servicePrincipals")

    @api("PATCH", SP)
    def patch_service_principal(self, req, caller):
        caller.need(CREATE_APPS)
        body = _object_body(req)
        t = caller.tenant
        if req.params.get("key") == "appId":
            app_id = _unquote(req.params["val"])
            sp = t.sp_by_app_id(app_id)
            if sp is None:
                if "create-if-missing" not in _prefer(req):
                    raise not_found(app_id)
                return self._create_sp(caller, body, app_id)
        else:
            sp = self._sp(caller, req)
        if not self._can_write(caller, sp["id"]):
            raise DENIED
        body.pop("@odata.type", None)
        self._check_sp_body(body)
        _merge(sp, body)
        return Response.empty(204)

    @api("DELETE", SP)
    def delete_service_principal(self, req, caller):
        caller.need(CREATE_APPS)
        sp = self._sp(caller, req)
        if sp["appId"] == dirmod.GRAPH_APP_ID or not self._can_write(caller, sp["id"]):
            raise DENIED
        self._soft_delete(caller.tenant, sp, "#microsoft.graph.servicePrincipal")
        return Response.empty(204)

    @api("GET", SP + r"/owners")
    def list_sp_owners(self, req, caller):
        caller.need(READ_APPS)
        return self._list(
            req, self._owners(caller, self._sp(caller, req)["id"]), "servicePrincipal", "directoryObjects"
        )

    @api("GET", SP + r"/owners/\$ref")
    def list_sp_owner_refs(self, req, caller):
        caller.need(READ_APPS)
        owners = self._owners(caller, self._sp(caller, req)["id"])
        value = [GRAPH_HOST + "/v1.0/directoryObjects/" + o["id"] for o in owners]
        return Response.json(200, {"@odata.context": META + "Collection(string)", "value": value}, content_type=JSON_CT)

    @api("POST", SP + r"/owners/\$ref")
    def add_sp_owner(self, req, caller):
        caller.need(READ_APPS)
        sp = self._sp(caller, req)
        if ALL_APPS not in caller.roles:
            raise DENIED
        ref = _object_body(req).get("@odata.id")
        if not isinstance(ref, str) or not ref:
            raise invalid_value("@odata.id", "DirectoryObject")
        (owner_id,) = self._bound_owners(caller.tenant, [ref])
        owners = caller.tenant.owners.setdefault(sp["id"], [])
        if owner_id in owners:
            raise bad_request(
                "One or more added object references already exist for the following modified properties: 'owners'."
            )
        owners.append(owner_id)
        return Response.empty(204)

    # -- app role assignments (application permissions, admin consent) ----------------------------
    def _alive_assignment(self, tenant, a) -> bool:
        return (
            self._visible(tenant, a["id"])
            and a["principalId"] in tenant.service_principals
            and a["resourceId"] in tenant.service_principals
        )

    def _assignments(self, caller, sp, side) -> list[dict]:
        t = caller.tenant
        return [a for a in t.assignments.values() if a[side] == sp["id"] and self._alive_assignment(t, a)]

    @api("GET", SP + r"/appRoleAssignedTo")
    def list_app_role_assigned_to(self, req, caller):
        caller.need(READ_APPS)
        sp = self._sp(caller, req)
        ctx = "servicePrincipals('%s')/appRoleAssignedTo" % sp["id"]
        return self._list(req, self._assignments(caller, sp, "resourceId"), "appRoleAssignment", ctx)

    @api("GET", SP + r"/appRoleAssignments")
    def list_app_role_assignments(self, req, caller):
        caller.need(READ_APPS)
        sp = self._sp(caller, req)
        ctx = "servicePrincipals('%s')/appRoleAssignments" % sp["id"]
        return self._list(req, self._assignments(caller, sp, "principalId"), "appRoleAssignment", ctx)

    @api("POST", SP + r"/appRoleAssignedTo")
    def create_app_role_assigned_to(self, req, caller):
        return self._assign(req, caller, path_side="resourceId")

    @api("POST", SP + r"/appRoleAssignments")
    def create_app_role_assignment(self, req, caller):
        return self._assign(req, caller, path_side="principalId")

    def _assign(self, req, caller, path_side):
        if ASSIGN not in caller.roles:
            raise DENIED
        caller.need(ASSIGN_ALSO)  # AppRoleAssignment.ReadWrite.All alone is not enough
        t = caller.tenant
        path_sp = self._sp(caller, req)
        body = _object_body(req)
        for prop in ("principalId", "resourceId", "appRoleId"):
            if not isinstance(body.get(prop), str) or not GUID_RE.match(body[prop]):
                raise invalid_value(prop, "AppRoleAssignment")
        if body[path_side].lower() != path_sp["id"]:
            raise invalid_value(path_side, "AppRoleAssignment")
        other_side = "resourceId" if path_side == "principalId" else "principalId"
        other_id = body[other_side].lower()
        other = t.service_principals.get(other_id)
        if other is None:
            raise not_found(other_id)
        if not self._visible(t, other_id):
            raise bad_request("Not a valid reference update.")  # replication: a brand-new principal
        principal, resource = (path_sp, other) if path_side == "principalId" else (other, path_sp)
        role_id = body["appRoleId"].lower()
        roles = {r["id"]: r for r in resource.get("appRoles", []) if r.get("isEnabled", True)}
        default_ok = role_id == "00000000-0000-0000-0000-000000000000" and not roles
        if role_id not in roles and not default_ok:
            raise bad_request("Permission being assigned was not found on application '%s'." % resource["appId"])
        if role_id in roles and "Application" not in roles[role_id].get("allowedMemberTypes", []):
            raise bad_request("Permission being assigned is not allowed for service principals.")
        for a in t.assignments.values():  # the write side sees not-yet-replicated assignments too
            if (a["principalId"], a["resourceId"], a["appRoleId"]) == (principal["id"], resource["id"], role_id):
                raise bad_request("Permission being assigned already exists on the object.")
        a = self.directory.assign_role(t, principal, resource, role_id)
        self._born(t, a["id"])
        side = "appRoleAssignedTo" if path_side == "resourceId" else "appRoleAssignments"
        ctx = META + "servicePrincipals('%s')/%s/$entity" % (path_sp["id"], side)
        return Response.json(201, {"@odata.context": ctx, **a}, content_type=JSON_CT)

    def _assignment(self, req, caller, side):
        sp = self._sp(caller, req)
        a = caller.tenant.assignments.get(req.params["aid"])
        if a is None or a[side] != sp["id"] or not self._alive_assignment(caller.tenant, a):
            raise not_found(req.params["aid"])
        return sp, a

    @api("GET", SP + r"/appRoleAssignedTo/(?P<aid>[^/]+)")
    def get_app_role_assigned_to(self, req, caller):
        caller.need(READ_APPS)
        sp, a = self._assignment(req, caller, "resourceId")
        return self._one(req, a, "appRoleAssignment", "servicePrincipals('%s')/appRoleAssignedTo" % sp["id"])

    @api("GET", SP + r"/appRoleAssignments/(?P<aid>[^/]+)")
    def get_app_role_assignment(self, req, caller):
        caller.need(READ_APPS)
        sp, a = self._assignment(req, caller, "principalId")
        return self._one(req, a, "appRoleAssignment", "servicePrincipals('%s')/appRoleAssignments" % sp["id"])

    @api("DELETE", SP + r"/appRoleAssignedTo/(?P<aid>[^/]+)")
    def delete_app_role_assigned_to(self, req, caller):
        return self._unassign(req, caller, "resourceId")

    @api("DELETE", SP + r"/appRoleAssignments/(?P<aid>[^/]+)")
    def delete_app_role_assignment(self, req, caller):
        return self._unassign(req, caller, "principalId")

    def _unassign(self, req, caller, side):
        if ASSIGN not in caller.roles:
            raise DENIED
        caller.need(ASSIGN_ALSO)
        _ignored, a = self._assignment(req, caller, side)
        del caller.tenant.assignments[a["id"]]
        return Response.empty(204)

    # -- delegated permission grants --------------------------------------------------------------
    def _alive_grant(self, tenant, g) -> bool:
        return (
            self._visible(tenant, g["id"])
            and g["clientId"] in tenant.service_principals
            and g["resourceId"] in tenant.service_principals
        )

    @api("GET", V1 + r"/oauth2PermissionGrants")
    def list_grants(self, req, caller):
        caller.need(GRANT_READ)
        t = caller.tenant
        grants = [g for g in t.grants.values() if self._alive_grant(t, g)]
        return self._list(req, grants, "oAuth2PermissionGrant", "oauth2PermissionGrants")

    @api("GET", SP + r"/oauth2PermissionGrants")
    def list_sp_grants(self, req, caller):
        caller.need(GRANT_READ | READ_APPS)
        t = caller.tenant
        sp = self._sp(caller, req)
        grants = [g for g in t.grants.values() if g["clientId"] == sp["id"] and self._alive_grant(t, g)]
        return self._list(req, grants, "oAuth2PermissionGrant", "oauth2PermissionGrants")

    @api("POST", V1 + r"/oauth2PermissionGrants")
    def create_grant(self, req, caller):
        caller.need(GRANT_WRITE)
        t = caller.tenant
        body = _object_body(req)
        for prop in ("clientId", "resourceId"):
            value = body.get(prop)
            if not isinstance(value, str) or not GUID_RE.match(value):
                raise invalid_value(prop, "OAuth2PermissionGrant")
            sp = t.service_principals.get(value.lower())
            if sp is None:
                raise not_found(value)
            if not self._visible(t, sp["id"]):
                raise bad_request(
                    "Resource '%s' does not exist or one of its queried reference-property objects are "
                    "not present." % value
                )
        consent = body.get("consentType")
        principal = body.get("principalId")
        if consent not in ("AllPrincipals", "Principal"):
            raise invalid_value("consentType", "OAuth2PermissionGrant")
        if (consent == "AllPrincipals") == bool(principal):
            raise invalid_value("principalId", "OAuth2PermissionGrant")
        if principal and not GUID_RE.match(str(principal)):
            raise invalid_value("principalId", "OAuth2PermissionGrant")
        scope = body.get("scope") or ""
        if not isinstance(scope, str) or len(scope) > 3850:
            raise invalid_value("scope", "OAuth2PermissionGrant")
        key = (body["clientId"].lower(), body["resourceId"].lower(), (principal or "").lower() or None)
        for g in t.grants.values():  # unique per (client, resource, principal), replicated or not
            if (g["clientId"], g["resourceId"], g["principalId"]) == key:
                raise GraphError(409, "Request_MultipleObjectsWithSameKeyValue", "Permission entry already exists.")
        grant = {
            "id": dirmod.grant_id_for(*key),
            "clientId": key[0],
            "consentType": consent,
            "principalId": key[2],
            "resourceId": key[1],
            "scope": scope,
        }
        t.grants[grant["id"]] = grant
        self._born(t, grant["id"])
        return Response.json(
            201, {"@odata.context": META + "oauth2PermissionGrants/$entity", **grant}, content_type=JSON_CT
        )

    def _grant(self, req, caller) -> dict:
        g = caller.tenant.grants.get(req.params["gid"])
        if g is None or not self._alive_grant(caller.tenant, g):
            raise not_found(req.params["gid"])
        return g

    @api("GET", GRANT)
    def get_grant(self, req, caller):
        caller.need(GRANT_READ)
        return self._one(req, self._grant(req, caller), "oAuth2PermissionGrant", "oauth2PermissionGrants")

    @api("PATCH", GRANT)
    def patch_grant(self, req, caller):
        caller.need(GRANT_WRITE)
        g = self._grant(req, caller)
        body = _object_body(req)
        for k in body:
            if k in ("principalId", "clientId", "resourceId", "consentType", "id"):
                raise bad_request("Property cannot be updated: %s" % k)
            if k != "scope":
                raise bad_request("Property '%s' does not exist as a declared property or extension property." % k)
        if "scope" in body:
            if not isinstance(body["scope"], str) or len(body["scope"]) > 3850:
                raise invalid_value("scope", "OAuth2PermissionGrant")
            g["scope"] = body["scope"]
        return Response.empty(204)

    @api("DELETE", GRANT)
    def delete_grant(self, req, caller):
        caller.need(GRANT_WRITE)
        g = self._grant(req, caller)
        del caller.tenant.grants[g["id"]]
        return Response.empty(204)

    # -- deleted items ----------------------------------------------------------------------------
    def _deleted(self, caller, kind) -> list[dict]:
        return [o for o in caller.tenant.deleted.values() if o["@odata.type"] == "#microsoft.graph." + kind]

    @api("GET", V1 + r"/directory/deletedItems/microsoft\.graph\.application")
    def list_deleted_applications(self, req, caller):
        caller.need(READ_APPS)
        items = [{k: v for k, v in o.items() if k != "@odata.type"} for o in self._deleted(caller, "application")]
        return self._list(req, items, "application", "directory/deletedItems/microsoft.graph.application")

    @api("GET", V1 + r"/directory/deletedItems/microsoft\.graph\.servicePrincipal")
    def list_deleted_service_principals(self, req, caller):
        caller.need(READ_APPS)
        items = [{k: v for k, v in o.items() if k != "@odata.type"} for o in self._deleted(caller, "servicePrincipal")]
        return self._list(req, items, "servicePrincipal", "directory/deletedItems/microsoft.graph.servicePrincipal")

    def _deleted_item(self, req, caller) -> dict:
        obj = caller.tenant.deleted.get(self._object_id(req.params["id"]))
        if obj is None:
            raise not_found(req.params["id"])
        return obj

    @api("GET", DELETED)
    def get_deleted_item(self, req, caller):
        caller.need(READ_APPS)
        return self._one(req, self._deleted_item(req, caller), "directoryObject", "directory/deletedItems")

    @api("DELETE", DELETED)
    def purge_deleted_item(self, req, caller):
        caller.need(CREATE_APPS)
        obj = self._deleted_item(req, caller)
        if not self._can_write(caller, obj["id"]):
            raise DENIED
        self._destroy(caller.tenant, obj["id"])
        return Response.empty(204)

    @api("POST", DELETED + r"/(?:microsoft\.graph\.)?restore")
    def restore_deleted_item(self, req, caller):
        caller.need(CREATE_APPS)
        t = caller.tenant
        obj = self._deleted_item(req, caller)
        if not self._can_write(caller, obj["id"]):
            raise DENIED
        is_app = obj["@odata.type"] == "#microsoft.graph.application"
        if is_app and obj.get("uniqueName") and t.app_by_unique_name(obj["uniqueName"]):
            raise GraphError(
                409,
                "Request_MultipleObjectsWithSameKeyValue",
                "Another object with the same value for property uniqueName already exists.",
            )
        if not is_app and t.sp_by_app_id(obj["appId"]):
            raise GraphError(
                409,
                "Request_MultipleObjectsWithSameKeyValue",
                "The service principal cannot be created, updated, or restored because the service "
                "principal name %s is already in use." % obj["appId"],
            )
        del t.deleted[obj["id"]]
        odata_type = obj.pop("@odata.type")
        obj["deletedDateTime"] = None
        (t.applications if is_app else t.service_principals)[obj["id"]] = obj
        body = {"@odata.context": META + "directoryObjects/$entity", "@odata.type": odata_type, **obj}
        return Response.json(200, body, content_type=JSON_CT)


# -- $filter -------------------------------------------------------------------------------------
_TOKEN_RE = re.compile(
    r"\s*(?:(?P<str>'(?:[^']|'')*')|(?P<punct>[(),:])|(?P<num>-?\d+(?:\.\d+)?(?![\w-]))|(?P<word>[A-Za-z_$][\w./$]*))"
)


class _Filter:
    """A small OData ``$filter`` parser: eq/ne/ge/le/in, startswith(), not, and/or, any()."""

    def __init__(self, text: str, schemas: Schemas, kind: str, advanced: bool):
        self.text, self.schemas, self.kind, self.advanced = text, schemas, kind, advanced
        self.caps = schemas.filters[kind]
        self.tokens = []
        pos = 0
        while pos < len(text):
            if not text[pos:].strip():
                break
            m = _TOKEN_RE.match(text, pos)
            if not m:
                self._syntax(pos)
            kind_ = m.lastgroup
            self.tokens.append((kind_, m.group(kind_), m.start(kind_)))
            pos = m.end()
        self.i = 0

    def _syntax(self, pos=None):
        if pos is None:
            pos = self.tokens[self.i][2] if self.i < len(self.tokens) else len(self.text)
        raise GraphError(
            400, "BadRequest", "Invalid filter clause: Syntax error at position %d in '%s'." % (pos, self.text)
        )

    def _peek(self):
        return self.tokens[self.i] if self.i < len(self.tokens) else (None, None, len(self.text))

    def _take(self, kind=None, value=None):
        tok = self._peek()
        if tok[0] is None or (kind and tok[0] != kind) or (value and tok[1].lower() != value):
            self._syntax()
        self.i += 1
        return tok[1]

    def _is(self, kind, value=None):
        tok = self._peek()
        return tok[0] == kind and (value is None or tok[1].lower() == value)

    def parse(self):
        pred = self._or()
        if self.i != len(self.tokens):
            self._syntax()
        return pred

    def _or(self):
        left = self._and()
        while self._is("word", "or"):
            self.i += 1
            right = self._and()
            left = _either(left, right)
        return left

    def _and(self):
        left = self._unary()
        while self._is("word", "and"):
            self.i += 1
            right = self._unary()
            left = _both(left, right)
        return left

    def _unary(self):
        if self._is("word", "not"):
            self.i += 1
            self._gate("not")
            inner = self._unary()
            return lambda o: not inner(o)
        if self._is("punct", "("):
            self.i += 1
            inner = self._or()
            self._take("punct", ")")
            return inner
        return self._clause()

    def _check(self, prop, op, in_any=False):
        ops = self.caps.get(prop)
        if ops is None or op not in ops or self.schemas.is_array(self.kind, prop) != in_any:
            raise GraphError(
                400,
                "Request_UnsupportedQuery",
                "Unsupported or invalid query filter clause specified for property '%s' of resource "
                "'%s'." % (prop, self.kind[0].upper() + self.kind[1:]),
            )
        self._gate(op)

    def _gate(self, op):
        if op in ADVANCED_OPS and not self.advanced:
            raise GraphError(
                400,
                "Request_UnsupportedQuery",
                "Operator '%s' is not supported because the required parameters might be missing. Try "
                "adding $count with a value of true and the ConsistencyLevel header with a value of "
                "eventual." % op,
            )

    def _literal(self):
        kind, value, _ignored = self._peek()
        self.i += 1
        if kind == "str":
            return value[1:-1].replace("''", "'")
        if kind == "num":
            return float(value) if "." in value else int(value)
        if kind == "word" and value.lower() in ("null", "true", "false"):
            return {"null": None, "true": True, "false": False}[value.lower()]
        self.i -= 1
        return self._syntax()

    def _clause(self):
        word = self._take("word")
        if word.lower() == "startswith" and self._is("punct", "("):
            self.i += 1
            prop = self._take("word")
            self._take("punct", ",")
            lit = self._literal()
            self._take("punct", ")")
            self._check(prop, "startswith")
            return lambda o: isinstance(o.get(prop), str) and str(o[prop]).lower().startswith(str(lit).lower())
        if word.lower().endswith("/any"):
            prop = word[:-4]
            self._take("punct", "(")
            var = self._take("word")
            self._take("punct", ":")
            if self._take("word") != var:
                self._syntax()
            op = self._take("word").lower()
            lit = self._literal()
            self._take("punct", ")")
            if op not in ("eq", "ne", "ge", "le"):
                self._syntax()
            self._check(prop, op, in_any=True)
            return lambda o: any(_compare(v, op, lit) for v in (o.get(prop) or []))
        prop = word
        op = self._take("word").lower()
        if op == "in":
            self._take("punct", "(")
            values = [self._literal()]
            while self._is("punct", ","):
                self.i += 1
                values.append(self._literal())
            self._take("punct", ")")
            self._check(prop, "in")
            return lambda o: any(_compare(o.get(prop), "eq", v) for v in values)
        if op not in ("eq", "ne", "ge", "le"):
            self._syntax()
        lit = self._literal()
        # "eq on null values" needs no advanced query; "ne" does
        self._check(prop, op)
        return lambda o: _compare(o.get(prop), op, lit)


def _either(a, b):
    return lambda o: a(o) or b(o)


def _both(a, b):
    return lambda o: a(o) and b(o)


def _compare(value, op, lit) -> bool:
    """Directory string comparisons ignore case."""
    a = value.lower() if isinstance(value, str) else value
    b = lit.lower() if isinstance(lit, str) else lit
    if op == "eq":
        return a == b
    if op == "ne":
        return a != b
    if a is None or b is None or type(a) is not type(b):
        return False
    return a >= b if op == "ge" else a <= b


# -- helpers -------------------------------------------------------------------------------------
_ENTITY_SETS = ("applications", "servicePrincipals", "oauth2PermissionGrants", "directory")


def _resource_name(path: str) -> str:
    if "appRoleAssign" in path:
        return "AppRoleAssignment"
    if "Password" in path:
        return "PasswordCredential"
    if "oauth2PermissionGrants" in path:
        return "OAuth2PermissionGrant"
    if "servicePrincipals" in path:
        return "ServicePrincipal"
    return "Application"


def _unquote(value: str) -> str:
    """An OData string literal's content: '' stands for one quote."""
    return value.replace("''", "'")


def _prefer(req: Request) -> set[str]:
    return {p.strip().lower() for p in req.headers.get("prefer", "").split(",") if p.strip()}


def _object_body(req: Request) -> dict:
    body = req.json()
    if not isinstance(body, dict):
        raise GraphError(400, "BadRequest", BAD_JSON)
    return body


def _merge(target: dict, patch: dict) -> None:
    """PATCH semantics: complex properties merge, collections and scalars are replaced."""
    for k, v in patch.items():
        if isinstance(v, dict) and isinstance(target.get(k), dict):
            _merge(target[k], v)
        else:
            target[k] = copy.deepcopy(v)


def _normalize_app(app: dict) -> None:
    """Defaults Graph fills in on app roles and scopes, and lower-case GUIDs."""
    for role in app.get("appRoles") or []:
        role.setdefault("isEnabled", True)
        role["origin"] = "Application"
        role["id"] = role["id"].lower()
    for scope in (app.get("api") or {}).get("oauth2PermissionScopes") or []:
        scope.setdefault("isEnabled", True)
        scope["origin"] = "Application"
    for key in ("identifierUris", "tags", "appRoles", "requiredResourceAccess", "keyCredentials"):
        if app.get(key) is None:
            app[key] = []


def _encode_skiptoken(last_id: str) -> str:
    return base64.urlsafe_b64encode(b"RFNwdA" + last_id.encode()).decode().rstrip("=")


def _decode_skiptoken(token: str | None) -> str | None:
    if token is None:
        return None
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    except ValueError as exc:
        raise bad_request("Invalid $skiptoken.") from exc
    if not raw.startswith(b"RFNwdA"):
        raise bad_request("Invalid $skiptoken.")
    return raw[6:].decode("utf-8", "replace")
