#!/usr/bin/python
# Copyright: (c) 2026, konnect.devportal contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: azure_app_registration
short_description: Manage an Entra ID app registration, its API permissions, service principal and admin consent
version_added: 0.1.0
description:
  - Creates, updates or deletes one Microsoft Entra ID (Azure AD) app registration through
    Microsoft Graph, idempotently. A rerun with the same input makes no write request.
  - The app is found by O(unique_name), Graph's alternate key (created with an upsert, so a
    retry can never make a second app), or else by O(display_name); more than one app with
    that display name is an error that lists their appIds.
  - Required API permissions are given by name (for example C(Application.ReadWrite.OwnedBy))
    and resolved to their ids through the API's service principal in the tenant.
  - The app's service principal (its enterprise application) is created when missing.
  - With O(grant_admin_consent=true), admin consent is granted the way the Azure portal's
    "Grant admin consent" button does - an app role assignment on the API's service principal
    for each application permission, and one C(AllPrincipals) delegated permission grant per
    API holding all its delegated permissions.
  - This is the "initial client" that Kong Konnect's Dev Portal Dynamic Client Registration
    with Entra ID needs (Microsoft Graph C(Application.ReadWrite.OwnedBy) application and
    C(User.Read) delegated, with admin consent). Use M(konnect.devportal.azure_app_secret) for
    its client secret.
  - "Graph application permissions of the automation identity: C(Application.ReadWrite.All) (or
    C(Application.ReadWrite.OwnedBy) for apps it created), C(Application.Read.All) to read the
    API service principals, and for O(grant_admin_consent) also C(AppRoleAssignment.ReadWrite.All)
    and C(DelegatedPermissionGrant.ReadWrite.All)."
author:
  - konnect.devportal contributors (@konnect-devportal)
options:
  unique_name:
    description:
      - The app's C(uniqueName), an immutable alternate key chosen by you. The app is created
        with C(PATCH /applications(uniqueName=...)) and the header C(Prefer=create-if-missing),
        so concurrent or repeated runs can't make duplicates.
      - Recommended. An app created without one (in the portal, or by O(display_name)) can't be
        given one later; manage it by O(display_name).
      - One of O(unique_name) and O(display_name) is required.
    type: str
  display_name:
    description:
      - The app's display name. With O(unique_name) it is the name to set (default - the unique
        name); without it, the app is looked up by this name.
      - Display names are not unique in Entra ID; a lookup that matches more than one app fails
        and lists their appIds. Entra ID may also show a new app to a name search only after a
        few seconds, so a rerun that quick could create a second app - use O(unique_name).
    type: str
  allow_duplicate_display_name:
    description:
      - With O(unique_name), creating the app fails, naming their appIds, when other app
        registrations already have its display name, because the admin consent prompt, the
        portal and Konnect would show them alike. Set this to create it anyway.
      - Only a creation reads the display names (one request); an existing app is never refused.
    type: bool
    default: false
  sign_in_audience:
    description:
      - Who may sign in; V(AzureADMyOrg) is single tenant ("Accounts in this organizational
        directory only"), which Konnect's DCR needs.
    type: str
    choices: [AzureADMyOrg, AzureADMultipleOrgs, AzureADandPersonalMicrosoftAccount, PersonalMicrosoftAccount]
    default: AzureADMyOrg
  api_permissions:
    description:
      - The API permissions the app requires (its C(requiredResourceAccess)), by name.
      - Added to those already declared, unless O(purge_permissions=true).
      - Omit to leave the declared permissions alone.
    type: list
    elements: dict
    suboptions:
      api:
        description:
          - The API, by the display name of its service principal (for example
            V(Microsoft Graph)) or by its appId.
        type: str
        required: true
      application:
        description:
          - Application permissions (app roles), by value, for example
            V(Application.ReadWrite.OwnedBy). An unknown name fails and lists the valid ones.
        type: list
        elements: str
        default: []
      delegated:
        description:
          - Delegated permissions (scopes), by value, for example V(User.Read).
        type: list
        elements: str
        default: []
  purge_permissions:
    description:
      - Make O(api_permissions) the complete list - remove declared permissions not listed,
        and with O(grant_admin_consent) also their app role assignments and delegated scopes.
    type: bool
    default: false
  grant_admin_consent:
    description:
      - Grant admin consent for every declared permission (app role assignments and one
        C(AllPrincipals) delegated grant per API), as the portal's "Grant admin consent" button.
      - The automation identity then also needs C(AppRoleAssignment.ReadWrite.All) and
        C(DelegatedPermissionGrant.ReadWrite.All).
      - V(false) leaves consent alone, and the consent state is not read (RV(consent_granted) is null).
    type: bool
    default: false
  state:
    description:
      - V(present) creates or updates the app; V(absent) deletes it (Entra ID keeps deleted
        apps for 30 days in its deleted items, with their service principals).
    type: str
    choices: [present, absent]
    default: present
  permanently_delete:
    description:
      - With O(state=absent), also delete the app from the deleted items, so it can't be
        restored and its O(unique_name) is free at once. Also purges an app already in the
        deleted items.
    type: bool
    default: false
extends_documentation_fragment:
  - konnect.devportal.azure
  - konnect.devportal.attributes
  - konnect.devportal.attributes.AZURE_GROUP
notes:
  - With O(state=present), the check mode result predicts creation; ids of objects still to be
    created are null.
  - The diff shows the fields you set - display name, unique name, sign-in audience, the
    declared permissions by name and, with O(grant_admin_consent), the consented ones.
seealso:
  - module: konnect.devportal.azure_app_secret
  - module: konnect.devportal.azure_app_registration_info
  - name: Upsert application (Microsoft Graph)
    description: The create-if-missing upsert by unique name.
    link: https://learn.microsoft.com/graph/api/application-upsert
  - name: Grant or revoke API permissions programmatically
    description: App role assignments and delegated grants, as this module makes them.
    link: https://learn.microsoft.com/graph/permissions-grant-via-msgraph
"""

EXAMPLES = r"""
- name: The Konnect DCR initial client, with admin consent
  konnect.devportal.azure_app_registration:
    unique_name: konnect-dcr-admin
    display_name: Konnect DCR admin
    api_permissions:
      - api: Microsoft Graph
        application: [Application.ReadWrite.OwnedBy]
        delegated: [User.Read]
    grant_admin_consent: true
  register: dcr_app

- name: Connection options once for every Azure module in the block
  module_defaults:
    group/konnect.devportal.azure:
      tenant_id: "{{ azure_tenant_id }}"
      client_id: "{{ automation_client_id }}"
      client_secret: "{{ automation_client_secret }}"
  block:
    - name: Exactly these permissions, nothing else
      konnect.devportal.azure_app_registration:
        unique_name: konnect-dcr-admin
        api_permissions:
          - api: 00000003-0000-0000-c000-000000000000
            application: [Application.ReadWrite.OwnedBy]
        purge_permissions: true
        grant_admin_consent: true

- name: An app made in the portal, found by its display name
  konnect.devportal.azure_app_registration:
    display_name: Legacy DCR admin
    sign_in_audience: AzureADMyOrg

- name: Delete it for good
  konnect.devportal.azure_app_registration:
    unique_name: konnect-dcr-admin
    state: absent
    permanently_delete: true
"""

RETURN = r"""
app_id:
  description: The Application (client) ID; null when the app is still to be created (check mode) or was deleted.
  returned: always
  type: str
  sample: 3f1c8c2e-5a4b-4c7d-9e8f-0a1b2c3d4e5f
object_id:
  description: The app's object id (Graph's C(id)).
  returned: always
  type: str
  sample: 8d2e4f6a-1b3c-4d5e-8f7a-9b0c1d2e3f4a
service_principal_id:
  description: The object id of the app's service principal (its enterprise application).
  returned: when O(state=present)
  type: str
  sample: 6a7b8c9d-0e1f-4a2b-8c3d-4e5f6a7b8c9d
tenant_id:
  description: The tenant the app is in.
  returned: always
  type: str
  sample: 72f988bf-86f1-41af-91ab-2d7cd011db47
display_name:
  description: The app's display name.
  returned: when the app exists or is created
  type: str
  sample: Konnect DCR admin
unique_name:
  description: The app's unique name, null when it has none.
  returned: when the app exists or is created
  type: str
  sample: konnect-dcr-admin
sign_in_audience:
  description: Who may sign in to the app.
  returned: when the app exists or is created
  type: str
  sample: AzureADMyOrg
created:
  description: Whether the app was created (or would be, in check mode).
  returned: always
  type: bool
permissions:
  description: The declared API permissions, by name (ids the API does not define stay ids).
  returned: when O(state=present)
  type: list
  elements: dict
  contains:
    api:
      description: The API's service principal display name.
      type: str
      sample: Microsoft Graph
    api_app_id:
      description: The API's appId.
      type: str
      sample: 00000003-0000-0000-c000-000000000000
    application:
      description: Application permissions.
      type: list
      elements: str
      sample: [Application.ReadWrite.OwnedBy]
    delegated:
      description: Delegated permissions.
      type: list
      elements: str
      sample: [User.Read]
consent:
  description: The admin consent the app's service principal holds, by API and name.
  returned: when O(state=present) and O(grant_admin_consent=true)
  type: list
  elements: dict
  contains:
    api:
      description: The API's service principal display name (its object id when unknown).
      type: str
    api_app_id:
      description: The API's appId (null when unknown).
      type: str
    application:
      description: Consented application permissions.
      type: list
      elements: str
    delegated:
      description: Delegated permissions in the C(AllPrincipals) grant.
      type: list
      elements: str
consent_granted:
  description: Whether every declared permission has admin consent; null when O(grant_admin_consent=false).
  returned: when O(state=present)
  type: bool
  sample: true
permanently_deleted:
  description: Whether the app was (or would be) removed from the deleted items.
  returned: when O(state=absent)
  type: bool
"""

from ansible_collections.konnect.devportal.plugins.module_utils.entra import (
    access_map,
    alternate_key,
    apply_consent,
    create_service_principal,
    describe_access,
    describe_consent,
    ensure_apis,
    find_app,
    find_apps_by_name,
    find_service_principal,
    merge_access,
    plan_consent,
    read_consent,
    required_resource_access,
    resolve_permissions,
    same_access,
    simulate_consent,
)
from ansible_collections.konnect.devportal.plugins.module_utils.graph import (
    WRITE_APPS,
    AzureModule,
    InputError,
)
from ansible_collections.konnect.devportal.plugins.module_utils.http_client import ResponseLost, poll
from ansible_collections.konnect.devportal.plugins.module_utils.reconcile import diff

AUDIENCES = ["AzureADMyOrg", "AzureADMultipleOrgs", "AzureADandPersonalMicrosoftAccount", "PersonalMicrosoftAccount"]


def main():
    module = AzureModule(
        argument_spec=dict(
            unique_name=dict(type="str"),
            display_name=dict(type="str"),
            sign_in_audience=dict(type="str", default="AzureADMyOrg", choices=AUDIENCES),
            api_permissions=dict(
                type="list",
                elements="dict",
                options=dict(
                    api=dict(type="str", required=True),
                    application=dict(type="list", elements="str", default=[]),
                    delegated=dict(type="list", elements="str", default=[]),
                ),
            ),
            purge_permissions=dict(type="bool", default=False),
            allow_duplicate_display_name=dict(type="bool", default=False),
            grant_admin_consent=dict(type="bool", default=False),
            state=dict(type="str", default="present", choices=["present", "absent"]),
            permanently_delete=dict(type="bool", default=False),
        ),
        required_one_of=[["unique_name", "display_name"]],
        supports_check_mode=True,
    )
    with module.failures():
        if module.params["state"] == "absent":
            result = absent(module)
        else:
            result = present(module)
    module.exit_json(**result)


def lookup(module):
    p = module.params
    if p["unique_name"]:
        return find_app(module.graph, unique_name=p["unique_name"])
    return find_app(module.graph, display_name=p["display_name"])


def present(module):
    graph, p = module.graph, module.params
    before_app = lookup(module)
    apis = {}  # resource service principals by appId, to name permissions
    current_access = access_map((before_app or {}).get("requiredResourceAccess"))
    declared = current_access
    if p["api_permissions"] is not None:
        requested = resolve_permissions(graph, p["api_permissions"], apis)
        declared = merge_access(current_access, requested, p["purge_permissions"])
    ensure_apis(graph, declared, apis)

    app_changed, app, created = ensure_app(module, before_app, current_access, declared)
    sp_changed, sp, sp_created = ensure_service_principal(module, app, created)
    consent_changed = False
    consent_before = consent_after = consent_view = consent_granted = None
    if p["grant_admin_consent"]:
        consent_before = read_consent(graph, sp["id"]) if sp and not sp_created else {}
        actions = plan_consent(declared, apis, consent_before, p["purge_permissions"])
        consent_changed = bool(actions)
        if actions and not module.check_mode:
            apply_consent(graph, sp["id"], actions, fresh=True)
        consent_after = simulate_consent(consent_before, actions)
        consent_view, consent_granted = describe_consent(declared, apis, consent_after)

    before = None if before_app is None else view(p, before_app, current_access, apis, consent_before)
    after = view(p, app, declared, apis, consent_after)
    return module.result(
        app_changed or sp_changed or consent_changed,
        diff(before, after),
        created=created,
        app_id=app.get("appId"),
        object_id=app.get("id"),
        service_principal_id=(sp or {}).get("id"),
        tenant_id=p["tenant_id"],
        display_name=app.get("displayName"),
        unique_name=app.get("uniqueName"),
        sign_in_audience=app.get("signInAudience"),
        permissions=describe_access(declared, apis),
        consent=consent_view,
        consent_granted=consent_granted,
    )


def ensure_app(module, app, current_access, declared):
    """Create or update the app registration; ``(changed, app, created)``."""
    p = module.params
    fields = {"signInAudience": p["sign_in_audience"]}
    if p["display_name"]:
        fields["displayName"] = p["display_name"]
    if app is None:
        body = dict(fields, requiredResourceAccess=required_resource_access(declared, []))
        body.setdefault("displayName", p["unique_name"])
        if p["unique_name"] and not p["allow_duplicate_display_name"]:
            refuse_taken_display_name(module.graph, body["displayName"], p["unique_name"])
        if module.check_mode:
            return True, dict(body, id=None, appId=None, uniqueName=p["unique_name"]), True
        app, created = create_app(module, body)
        return True, app, created
    patch = dict((k, v) for k, v in fields.items() if app.get(k) != v)
    if not same_access(current_access, declared):
        patch["requiredResourceAccess"] = required_resource_access(declared, app.get("requiredResourceAccess"))
    if patch and not module.check_mode:
        module.graph.patch("/applications/%s" % app["id"], patch)
    return bool(patch), dict(app, **patch), False


def refuse_taken_display_name(graph, display_name, unique_name):
    others = find_apps_by_name(graph, display_name, "appId,displayName")
    if others:
        raise InputError(
            "display_name %r is already used by %d app registration(s) (appIds: %s), so a new app with "
            "unique_name %r would look the same in the consent prompt, the portal and Konnect: choose another "
            "display_name, rename or delete those apps, or set allow_duplicate_display_name"
            % (display_name, len(others), ", ".join(sorted(a["appId"] for a in others)), unique_name)
        )


def ensure_service_principal(module, app, app_created):
    """The app's service principal, created when missing; ``(changed, sp, created)``."""
    if not app.get("appId"):  # the app itself is still to be created (check mode)
        return False, None, False
    sp = None if app_created else find_service_principal(module.graph, app["appId"])
    if sp is not None:
        return False, sp, False
    if not module.check_mode:
        sp = create_service_principal(module.graph, app["appId"], fresh=True)
    return True, sp, True


def create_app(module, body):
    """Create the app; ``(app, created)``. Never two: upsert by unique name, or re-read after a lost reply."""
    graph, p = module.graph, module.params
    if p["unique_name"]:
        path = alternate_key("applications", "uniqueName", p["unique_name"])
        # an upsert is idempotent, so a lost reply may be repeated
        response = graph.request(
            "PATCH",
            path,
            body=body,
            expect=(201, 204),
            headers={"Prefer": "create-if-missing"},
            needs=WRITE_APPS,
            retry_lost=True,
        )
        if response.status_code == 201:
            return response.json(), True
        # 204: the app existed after all (our read came before replication, or a lost reply
        # was repeated) and was updated with the same body
        app = find_app(graph, unique_name=p["unique_name"], fresh=True)
        if app is None:
            raise InputError(
                "PATCH %s answered 204 (the app exists) but it can't be read within %ss; rerun the task"
                % (path, graph.replication_timeout)
            )
        return app, False
    try:
        return graph.post("/applications", body), True
    except ResponseLost:
        return _adopt_after_lost_create(module, body), True


def _adopt_after_lost_create(module, body):
    """The app our lost POST made, once a display-name search shows it (never a second POST)."""
    graph = module.graph

    def attempt():
        found = find_apps_by_name(graph, body["displayName"])
        return found, bool(found)

    found = poll(attempt, graph.replication_timeout, sleep=graph.sleep, clock=graph.clock, first_delay=0.5)[0]
    if len(found) > 1:
        raise InputError(
            "POST /applications: the reply was lost and %d apps are now named %r (appIds: %s); "
            "delete the extra one" % (len(found), body["displayName"], ", ".join(a["appId"] for a in found))
        )
    if not found:
        raise InputError(
            "POST /applications: the reply was lost and no app named %r appeared within %ss; rerun the task "
            "(it finds the app if it was created)" % (body["displayName"], graph.replication_timeout)
        )
    return found[0]


def view(p, app, access, apis, consent):
    """The fields the user set, as the diff shows them."""
    out = {}
    if p["unique_name"]:
        out["unique_name"] = app.get("uniqueName") or p["unique_name"]
    out["display_name"] = app.get("displayName")
    out["sign_in_audience"] = app.get("signInAudience")
    if p["api_permissions"] is not None:
        out["api_permissions"] = [
            dict((k, e[k]) for k in ("api", "application", "delegated")) for e in describe_access(access, apis)
        ]
    if p["grant_admin_consent"]:
        consented, _granted = describe_consent(access, apis, consent or {})
        out["admin_consent"] = [dict((k, e[k]) for k in ("api", "application", "delegated")) for e in consented]
    return out


def absent(module):
    graph, p = module.graph, module.params
    app = lookup(module)
    changed = False
    if app is not None:
        changed = True
        if not module.check_mode:
            graph.delete("/applications/%s" % app["id"])
    purged = False
    if p["permanently_delete"]:
        if app is not None:
            purged = True
            if not module.check_mode:
                # just deleted: the deleted item may take a moment to appear
                graph.request(
                    "DELETE", "/directory/deletedItems/%s" % app["id"], expect=(204,), fresh=True, needs=WRITE_APPS
                )
        else:
            deleted = find_deleted(module)
            if deleted is not None:
                changed = purged = True
                app = deleted
                if not module.check_mode:
                    graph.delete("/directory/deletedItems/%s" % deleted["id"])
    before = None
    if app is not None:
        before = {"display_name": app.get("displayName")}
        if p["unique_name"]:
            before["unique_name"] = app.get("uniqueName")
    return module.result(
        changed,
        diff(before, None),
        created=False,
        app_id=(app or {}).get("appId"),
        object_id=(app or {}).get("id"),
        tenant_id=p["tenant_id"],
        permanently_deleted=purged,
    )


def find_deleted(module):
    """The app in the deleted items, by unique name or display name."""
    p = module.params
    items = module.graph.list(
        "/directory/deletedItems/microsoft.graph.application", {"$select": "id,appId,displayName,uniqueName"}
    )
    if p["unique_name"]:
        matches = [a for a in items if a.get("uniqueName") == p["unique_name"]]
    else:
        matches = [a for a in items if a.get("displayName") == p["display_name"]]
    if len(matches) > 1:
        raise InputError(
            "%d deleted apps are named %r (appIds: %s): purge them by unique name, or in the portal"
            % (len(matches), p["display_name"], ", ".join(sorted(a["appId"] for a in matches)))
        )
    return matches[0] if matches else None


if __name__ == "__main__":
    main()
