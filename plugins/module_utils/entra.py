# Copyright: (c) 2026, konnect.devportal contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Entra ID objects through Graph: app registrations, API permissions by name,
service principals, admin consent and client secrets.

FOR INTERNAL COLLECTION USE ONLY: this API may change without notice.

Permissions are held as an *access map*: ``{resource appId: {"Role": set of
app role ids, "Scope": set of delegated scope ids}}``, the shape of an app's
``requiredResourceAccess`` without its order. Consent is read as
``{resource service principal id: {"roles": {app role id: assignment id},
"grant": the AllPrincipals oauth2PermissionGrant or None}}``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import difflib
import re
from urllib.parse import quote

from ansible_collections.konnect.devportal.plugins.module_utils.graph import (
    ASSIGN_APP_ROLES,
    GRANT_DELEGATED,
    GRAPH_APP_ID,
    READ_APPS,
    READ_GRANTS,
    InputError,
    format_time,
    is_conflict,
    odata_string,
    parse_time,
)
from ansible_collections.konnect.devportal.plugins.module_utils.http_client import ApiError, ResponseLost, poll

APP_FIELDS = "id,appId,displayName,uniqueName,signInAudience,requiredResourceAccess"
APP_CREDENTIAL_FIELDS = "id,appId,displayName,uniqueName,passwordCredentials"
SP_FIELDS = "id,appId,displayName"
API_FIELDS = "id,appId,displayName,appRoles,oauth2PermissionScopes"
UUID_RE = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
# APIs users name every day, looked up by their (tenant-independent) appId
WELL_KNOWN_APIS = {"microsoft graph": GRAPH_APP_ID}
KINDS = (("Role", "application"), ("Scope", "delegated"))
# a write whose reply was lost is sent again only after a re-read shows what it did (and, for a
# new secret whose value only the reply held, after that secret is removed); at most this often
LOST_REPLY_ATTEMPTS = 5


def is_uuid(value):
    return isinstance(value, str) and bool(UUID_RE.match(value))


def alternate_key(collection, key, value):
    """``/applications(uniqueName='x')``, the literal percent-encoded."""
    return "/%s(%s=%s)" % (collection, key, quote(odata_string(value), safe="'"))


# -- applications -----------------------------------------------------------------------


def find_app(graph, unique_name=None, app_id=None, object_id=None, display_name=None, select=APP_FIELDS, fresh=False):
    """The app registration by the first key given, or None.

    ``fresh``: the app may have been created moments ago, so a 404 is retried
    while Graph replicates (ids only; a display name search can't tell).
    More than one app with the display name is an error naming their appIds.
    """
    params = {"$select": select}
    if object_id:
        return _get_maybe_fresh(graph, "/applications/%s" % quote(object_id), params, fresh)
    if app_id:
        return _get_maybe_fresh(graph, alternate_key("applications", "appId", app_id), params, fresh)
    if unique_name:
        return _get_maybe_fresh(graph, alternate_key("applications", "uniqueName", unique_name), params, fresh)
    matches = find_apps_by_name(graph, display_name, select)
    if len(matches) > 1:
        raise InputError(
            "%d app registrations are named %r (appIds: %s): use unique_name or app_id to pick one, "
            "or rename the others" % (len(matches), display_name, ", ".join(sorted(m["appId"] for m in matches)))
        )
    return matches[0] if matches else None


def find_apps_by_name(graph, display_name, select=APP_FIELDS):
    params = {"$filter": "displayName eq %s" % odata_string(display_name), "$select": select}
    return [a for a in graph.list("/applications", params) if a.get("displayName") == display_name]


def _get_maybe_fresh(graph, path, params, fresh):
    try:
        return graph.get(path, params, fresh=fresh)
    except ApiError as exc:
        if fresh and exc.status == 404:
            return None
        raise


def app_label(unique_name=None, app_id=None, object_id=None, display_name=None):
    if unique_name:
        return "unique name %r" % unique_name
    if app_id:
        return "appId %s" % app_id
    if object_id:
        return "object id %s" % object_id
    return "display name %r" % display_name


# -- APIs and permission names -----------------------------------------------------------


def load_api(graph, api):
    """The service principal of a resource API, by appId or display name, with its roles and scopes."""
    app_id = WELL_KNOWN_APIS.get(api.strip().lower()) or (api if is_uuid(api) else None)
    if app_id:
        sp = graph.get(alternate_key("servicePrincipals", "appId", app_id), {"$select": API_FIELDS})
        if sp is None:
            raise InputError("API %r: no service principal with appId %s in the tenant" % (api, app_id))
        return sp
    params = {"$filter": "displayName eq %s" % odata_string(api), "$select": API_FIELDS}
    matches = [sp for sp in graph.list("/servicePrincipals", params) if sp.get("displayName") == api]
    if not matches:
        raise InputError("API %r: no service principal with this display name in the tenant; give its appId" % api)
    if len(matches) > 1:
        raise InputError(
            "API %r is ambiguous: %d service principals have this display name (appIds: %s); give the appId"
            % (api, len(matches), ", ".join(sorted(sp["appId"] for sp in matches)))
        )
    return matches[0]


def permission_table(sp, kind):
    """``{value: id}`` of the API's enabled app roles (``Role``) or delegated scopes (``Scope``)."""
    if kind == "Role":
        items = [r for r in sp.get("appRoles") or [] if "Application" in (r.get("allowedMemberTypes") or [])]
    else:
        items = sp.get("oauth2PermissionScopes") or []
    return dict((i["value"], i["id"]) for i in items if i.get("value") and i.get("isEnabled", True) is not False)


def permission_names(sp, kind, ids):
    """Sorted names for IDS; an id the API doesn't (or no longer) define stays an id."""
    by_id = dict((v, k) for k, v in permission_table(sp or {}, kind).items())
    return sorted(by_id.get(i, i) for i in ids)


def resolve_permissions(graph, api_permissions, apis):
    """The access map of the user's ``api_permissions``; fills APIS ``{appId: sp}``.

    Unknown names fail, listing the valid ones (closest first).
    """
    access = {}
    for entry in api_permissions:
        sp = load_api(graph, entry["api"])
        apis[sp["appId"]] = sp
        wanted = access.setdefault(sp["appId"], {"Role": set(), "Scope": set()})
        for kind, option in KINDS:
            table = permission_table(sp, kind)
            for name in entry.get(option) or []:
                if name not in table:
                    raise InputError(_unknown_permission(entry["api"], option, name, table))
                wanted[kind].add(table[name])
    return access


def _unknown_permission(api, option, name, table):
    names = sorted(table)
    close = difflib.get_close_matches(name, names, n=3, cutoff=0.6)
    shown = names if len(names) <= 40 else [*names[:40], "... %d more" % (len(names) - 40)]
    text = "Unknown %s permission %r for API %r." % (option, name, api)
    if close:
        text += " Did you mean %s?" % ", ".join(close)
    if not names:
        return text + " The API defines no %s permissions." % option
    return text + " Valid %s permissions: %s" % (option, ", ".join(shown))


def access_map(required_resource_access):
    """The access map of an app's ``requiredResourceAccess``."""
    access = {}
    for resource in required_resource_access or []:
        entry = access.setdefault(resource["resourceAppId"], {"Role": set(), "Scope": set()})
        for item in resource.get("resourceAccess") or []:
            entry.setdefault(item.get("type"), set()).add(item["id"])
    return access


def merge_access(current, requested, purge):
    """The access to declare: the request alone with ``purge``, else added to what is declared."""
    if purge:
        return dict((k, {"Role": set(v["Role"]), "Scope": set(v["Scope"])}) for k, v in requested.items())
    out = dict((k, {"Role": set(v.get("Role", ())), "Scope": set(v.get("Scope", ()))}) for k, v in current.items())
    for app_id, wanted in requested.items():
        entry = out.setdefault(app_id, {"Role": set(), "Scope": set()})
        entry["Role"] |= wanted["Role"]
        entry["Scope"] |= wanted["Scope"]
    return out


def same_access(left, right):
    def clean(access):
        return dict(
            (k, (frozenset(v.get("Role", ())), frozenset(v.get("Scope", ()))))
            for k, v in access.items()
            if v.get("Role") or v.get("Scope")
        )

    return clean(left) == clean(right)


def required_resource_access(access, current_list):
    """ACCESS as a ``requiredResourceAccess`` list: resources in their current order, new ones after."""
    order = [r["resourceAppId"] for r in current_list or []]
    order += sorted(k for k in access if k not in order)
    out = []
    for app_id in order:
        entry = access.get(app_id) or {}
        items = [{"id": i, "type": "Role"} for i in sorted(entry.get("Role", ()))]
        items += [{"id": i, "type": "Scope"} for i in sorted(entry.get("Scope", ()))]
        if items:
            out.append({"resourceAppId": app_id, "resourceAccess": items})
    return out


def ensure_apis(graph, access, apis):
    """Load the service principal of every API in ACCESS not in APIS yet (to name its permissions)."""
    for app_id in sorted(access):
        if app_id not in apis:
            try:
                apis[app_id] = load_api(graph, app_id)
            except InputError:
                apis[app_id] = None  # an API the tenant doesn't know: shown by ids


def describe_access(access, apis):
    """``[{api, api_app_id, application, delegated}]`` with permission names."""
    out = []
    for app_id in sorted(access, key=lambda k: (_api_name(apis.get(k), k), k)):
        sp = apis.get(app_id)
        entry = access[app_id]
        if not entry.get("Role") and not entry.get("Scope"):
            continue
        out.append(
            {
                "api": _api_name(sp, app_id),
                "api_app_id": app_id,
                "application": permission_names(sp, "Role", entry.get("Role", ())),
                "delegated": permission_names(sp, "Scope", entry.get("Scope", ())),
            }
        )
    return out


def _api_name(sp, app_id):
    return (sp or {}).get("displayName") or app_id


# -- service principals ------------------------------------------------------------------


def find_service_principal(graph, app_id, fresh=False):
    try:
        return graph.get(alternate_key("servicePrincipals", "appId", app_id), {"$select": SP_FIELDS}, fresh=fresh)
    except ApiError as exc:
        if fresh and exc.status == 404:
            return None
        raise


def create_service_principal(graph, app_id, fresh):
    """POST the app's service principal; Graph allows one per appId, so a retry can't duplicate it."""
    for _attempt in range(LOST_REPLY_ATTEMPTS):
        try:
            return graph.post("/servicePrincipals", {"appId": app_id}, fresh=fresh)
        except ResponseLost:
            found = find_service_principal(graph, app_id)
            if found:
                return found
        except ApiError as exc:
            if not is_conflict(exc):
                raise
            found = find_service_principal(graph, app_id, fresh=True)
            if found:
                return found
            raise
    raise ApiError("POST /servicePrincipals: the reply was lost %d times; rerun the task" % LOST_REPLY_ATTEMPTS)


# -- admin consent -------------------------------------------------------------------------


def read_consent(graph, sp_id):
    """The app role assignments and AllPrincipals delegated grants of the service principal SP_ID."""
    consent = {}
    assignments = graph.list(
        "/servicePrincipals/%s/appRoleAssignments" % sp_id, {"$select": "id,appRoleId,resourceId"}, needs=READ_APPS
    )
    for item in assignments:
        consent.setdefault(item["resourceId"], {"roles": {}, "grant": None})["roles"][item["appRoleId"]] = item["id"]
    grants = graph.list(
        "/oauth2PermissionGrants", {"$filter": "clientId eq %s" % odata_string(sp_id)}, needs=READ_GRANTS
    )
    for grant in grants:
        if grant.get("clientId") == sp_id and grant.get("consentType") == "AllPrincipals":
            consent.setdefault(grant["resourceId"], {"roles": {}, "grant": None})["grant"] = grant
    return consent


def grant_scopes(grant):
    return (grant or {}).get("scope", "").split() if grant else []


def plan_consent(access, apis, consent, purge):
    """The writes that make CONSENT cover ACCESS (and, with PURGE, nothing else).

    Returns a list of ``(action, details)``: ``assign`` (resource_id, role_id),
    ``unassign`` (resource_id, assignment_id), ``grant`` (resource_id, scopes),
    ``update_grant`` (grant, scopes) and ``revoke`` (grant).
    """
    actions = []
    wanted_resources = set()
    for app_id in sorted(access):
        sp = apis.get(app_id)
        if not sp:
            continue  # the API has no service principal here: nothing can be consented
        resource_id = sp["id"]
        wanted_resources.add(resource_id)
        have = consent.get(resource_id) or {"roles": {}, "grant": None}
        roles = access[app_id].get("Role", set())
        for role_id in sorted(roles - set(have["roles"])):
            actions.append(("assign", (resource_id, role_id)))
        if purge:
            for role_id in sorted(set(have["roles"]) - roles):
                actions.append(("unassign", (resource_id, have["roles"][role_id])))
        scopes = permission_names(sp, "Scope", access[app_id].get("Scope", ()))
        actions.extend(_plan_grant(resource_id, have["grant"], scopes, purge))
    if purge:
        for resource_id in sorted(set(consent) - wanted_resources):
            for assignment_id in sorted(consent[resource_id]["roles"].values()):
                actions.append(("unassign", (resource_id, assignment_id)))
            if consent[resource_id]["grant"]:
                actions.append(("revoke", consent[resource_id]["grant"]))
    return actions


def _plan_grant(resource_id, grant, scopes, purge):
    current = grant_scopes(grant)
    if grant is None:
        return [("grant", (resource_id, scopes))] if scopes else []
    target = list(scopes) if purge else current + [s for s in scopes if s not in current]
    if not target:
        return [("revoke", grant)]
    if set(target) != set(current):
        # keep the existing order, new scopes after
        ordered = [s for s in current if s in target] + [s for s in target if s not in current]
        return [("update_grant", (grant, ordered))]
    return []


def apply_consent(graph, sp_id, actions, fresh):
    """Carry out ``plan_consent``'s actions; "already exists" answers count as done."""
    for action, details in actions:
        if action == "assign":
            resource_id, role_id = details
            _assign(graph, sp_id, resource_id, role_id, fresh)
        elif action == "unassign":
            resource_id, assignment_id = details
            graph.delete(
                "/servicePrincipals/%s/appRoleAssignedTo/%s" % (resource_id, assignment_id), needs=ASSIGN_APP_ROLES
            )
        elif action == "grant":
            resource_id, scopes = details
            _grant(graph, sp_id, resource_id, scopes, fresh)
        elif action == "update_grant":
            grant, scopes = details
            graph.patch(
                "/oauth2PermissionGrants/%s" % grant["id"],
                {"scope": " ".join(scopes)},
                needs=GRANT_DELEGATED,
                fresh=fresh,
            )
        elif action == "revoke":
            graph.delete("/oauth2PermissionGrants/%s" % details["id"], needs=GRANT_DELEGATED)


def _assign(graph, sp_id, resource_id, role_id, fresh):
    body = {"principalId": sp_id, "resourceId": resource_id, "appRoleId": role_id}
    path = "/servicePrincipals/%s/appRoleAssignedTo" % resource_id
    for _attempt in range(LOST_REPLY_ATTEMPTS):
        try:
            graph.post(path, body, needs=ASSIGN_APP_ROLES, fresh=fresh)
            return
        except ResponseLost:
            # Graph refuses a second identical assignment, so sending it again can't duplicate it
            if role_id in (read_consent_roles(graph, sp_id, fresh=fresh).get(resource_id) or {}):
                return
        except ApiError as exc:
            if is_conflict(exc):
                return
            raise
    raise ApiError("POST %s: the reply was lost %d times; rerun the task" % (path, LOST_REPLY_ATTEMPTS))


def read_consent_roles(graph, sp_id, fresh=False):
    roles = {}
    params = {"$select": "id,appRoleId,resourceId"}
    for item in graph.list("/servicePrincipals/%s/appRoleAssignments" % sp_id, params, fresh=fresh):
        roles.setdefault(item["resourceId"], {})[item["appRoleId"]] = item["id"]
    return roles


def _grant(graph, sp_id, resource_id, scopes, fresh):
    body = {"clientId": sp_id, "consentType": "AllPrincipals", "resourceId": resource_id, "scope": " ".join(scopes)}
    for _attempt in range(LOST_REPLY_ATTEMPTS):
        try:
            graph.post("/oauth2PermissionGrants", body, needs=GRANT_DELEGATED, fresh=fresh)
            return
        except ResponseLost:
            existing = _find_grant(graph, sp_id, resource_id)
            if existing is not None:
                _top_up_grant(graph, existing, scopes)
                return
        except ApiError as exc:
            if not is_conflict(exc):
                raise
            # one grant per (client, resource): it appeared meanwhile (or a request whose reply
            # was lost made it, and it is not listed yet while Graph replicates), so wait for it
            # and add our scopes to it
            existing = _find_grant(graph, sp_id, resource_id, wait=fresh)
            if existing is None:
                raise
            _top_up_grant(graph, existing, scopes)
            return
    raise ApiError("POST /oauth2PermissionGrants: the reply was lost %d times; rerun the task" % LOST_REPLY_ATTEMPTS)


def _find_grant(graph, sp_id, resource_id, wait=False):
    """The AllPrincipals grant of SP_ID on RESOURCE_ID, or None.

    ``wait``: it is known to exist, so while it is not listed (replication) look again, with
    backoff, for up to ``replication_timeout`` seconds.
    """

    def attempt():
        params = {"$filter": "clientId eq %s" % odata_string(sp_id)}
        for grant in graph.list("/oauth2PermissionGrants", params, needs=READ_GRANTS):
            if grant.get("resourceId") == resource_id and grant.get("consentType") == "AllPrincipals":
                return grant, True
        return None, not wait

    return poll(attempt, graph.replication_timeout, sleep=graph.sleep, clock=graph.clock, first_delay=0.5)[0]


def _top_up_grant(graph, grant, scopes):
    current = grant_scopes(grant)
    missing = [s for s in scopes if s not in current]
    if missing:
        graph.patch(
            "/oauth2PermissionGrants/%s" % grant["id"], {"scope": " ".join(current + missing)}, needs=GRANT_DELEGATED
        )


def describe_consent(access, apis, consent):
    """``([{api, api_app_id, application, delegated}], all granted)``: what is consented, by name."""
    by_resource_id = dict((sp["id"], (app_id, sp)) for app_id, sp in apis.items() if sp)
    out = []
    for resource_id in sorted(consent):
        app_id, sp = by_resource_id.get(resource_id, (None, None))
        roles = permission_names(sp, "Role", consent[resource_id]["roles"])
        scopes = sorted(grant_scopes(consent[resource_id]["grant"]))
        if roles or scopes:
            out.append(
                {"api": _api_name(sp, resource_id), "api_app_id": app_id, "application": roles, "delegated": scopes}
            )
    granted = True
    for app_id, entry in access.items():
        sp = apis.get(app_id)
        if not sp:
            granted = granted and not (entry.get("Role") or entry.get("Scope"))
            continue
        have = consent.get(sp["id"]) or {"roles": {}, "grant": None}
        scopes = set(permission_names(sp, "Scope", entry.get("Scope", ())))
        if not set(entry.get("Role", ())) <= set(have["roles"]) or not scopes <= set(grant_scopes(have["grant"])):
            granted = False
    return sorted(out, key=lambda e: e["api"]), granted


def simulate_consent(consent, actions):
    """CONSENT as it will be after ACTIONS (check mode, and the result after writing)."""
    out = dict(
        (k, {"roles": dict(v["roles"]), "grant": dict(v["grant"]) if v["grant"] else None}) for k, v in consent.items()
    )
    for action, details in actions:
        if action == "assign":
            resource_id, role_id = details
            out.setdefault(resource_id, {"roles": {}, "grant": None})["roles"][role_id] = None
        elif action == "unassign":
            resource_id, assignment_id = details
            roles = out[resource_id]["roles"]
            for role_id in [r for r, a in roles.items() if a == assignment_id]:
                del roles[role_id]
        elif action == "grant":
            resource_id, scopes = details
            out.setdefault(resource_id, {"roles": {}, "grant": None})["grant"] = {"scope": " ".join(scopes)}
        elif action == "update_grant":
            grant, scopes = details
            out[grant["resourceId"]]["grant"] = dict(grant, scope=" ".join(scopes))
        elif action == "revoke":
            out[details["resourceId"]]["grant"] = None
    return out


# -- client secrets ----------------------------------------------------------------------------

MAX_SECRET_DAYS = 730  # Entra's limit for client secrets: two years


def secret_view(credential):
    """A password credential without anything secret (not even the 3-character hint)."""
    return {
        "key_id": credential.get("keyId"),
        "name": credential.get("displayName"),
        "start_date_time": credential.get("startDateTime"),
        "end_date_time": credential.get("endDateTime"),
    }


def plan_secret(credentials, name, now, rotate_before, force_rotate=False, prune=False, key_id=None):
    """What to do with the secrets called NAME.

    Returns ``(create, keep, remove)``: whether to add a new secret, the
    valid one to keep using (None when there is none), and the keyIds to
    remove once the new one, if any, exists. The one kept is KEY_ID when
    given (the secret in use elsewhere), else the newest valid one. A secret
    is rotated when fewer than ROTATE_BEFORE (a timedelta) remain or when
    forced; ``prune`` removes every other secret of that name, keeping the
    kept one (the new one when one is created).
    """
    mine = [c for c in credentials if c.get("displayName") == name]
    valid = [c for c in mine if _end(c) and _end(c) > now]
    if key_id:
        # judge the secret in use, not a newer one whose value nobody holds
        valid = [c for c in valid if c.get("keyId") == key_id]
    keep = max(valid, key=lambda c: (_start(c) or _end(c), _end(c))) if valid else None
    create = bool(force_rotate or keep is None or _end(keep) - now < rotate_before)
    remove = []
    if prune:
        remove = [c["keyId"] for c in mine if create or c is not keep]
    return create, keep, remove


def _end(credential):
    return parse_time(credential.get("endDateTime"))


def _start(credential):
    return parse_time(credential.get("startDateTime"))


def add_secret(graph, app, name, end_date_time):
    """``addPassword``; the new credential with its ``secretText``.

    A lost reply is never answered by a blind retry: the app is re-read until
    the secret we never received shows up (for up to ``replication_timeout``
    seconds), that secret is removed, and only then is one added again.
    """
    # the OpenAPI spelling of the action (Graph also accepts plain /addPassword)
    path = "/applications/%s/microsoft.graph.addPassword" % app["id"]
    body = {"passwordCredential": {"displayName": name, "endDateTime": format_time(end_date_time)}}
    known = set(c.get("keyId") for c in app.get("passwordCredentials") or [])
    for _attempt in range(LOST_REPLY_ATTEMPTS):
        try:
            return graph.post(path, body, expect=(200,))
        except ResponseLost:
            orphans = _wait_for_new_secrets(graph, app["id"], name, known)
            if not orphans:
                raise ApiError(
                    "POST %s: the reply was lost and no new secret called %r appeared within %ss; nothing is "
                    "known to have been created. Rerun the task (use prune=true to tidy up if one appears later)"
                    % (path, name, graph.replication_timeout)
                ) from None
            for key_id in orphans:
                remove_secret(graph, app["id"], key_id)
            known |= set(orphans)
    raise ApiError(
        "POST %s: the reply was lost %d times; the secrets it made were removed. Rerun the task"
        % (path, LOST_REPLY_ATTEMPTS)
    )


def _wait_for_new_secrets(graph, object_id, name, known):
    def attempt():
        app = graph.get("/applications/%s" % object_id, {"$select": "id,passwordCredentials"}) or {}
        new = [
            c["keyId"]
            for c in app.get("passwordCredentials") or []
            if c.get("displayName") == name and c.get("keyId") not in known
        ]
        return new, bool(new)

    return poll(attempt, graph.replication_timeout, sleep=graph.sleep, clock=graph.clock, first_delay=0.5)[0]


def remove_secret(graph, object_id, key_id):
    """``removePassword``; after a lost reply or an error, the app is re-read before deciding."""
    path = "/applications/%s/microsoft.graph.removePassword" % object_id
    for _attempt in range(LOST_REPLY_ATTEMPTS):
        try:
            graph.post(path, {"keyId": key_id}, expect=(200, 204))
            return
        except ApiError as exc:
            if not isinstance(exc, ResponseLost) and exc.status not in (400, 404):
                raise
            app = graph.get("/applications/%s" % object_id, {"$select": "id,passwordCredentials"}) or {}
            if key_id not in [c.get("keyId") for c in app.get("passwordCredentials") or []]:
                return
            if not isinstance(exc, ResponseLost):
                raise
    raise ApiError("POST %s: the reply was lost %d times; rerun the task" % (path, LOST_REPLY_ATTEMPTS))
