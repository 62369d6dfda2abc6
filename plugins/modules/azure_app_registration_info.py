#!/usr/bin/python
# Copyright: (c) 2026, konnect.devportal contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: azure_app_registration_info
short_description: Read Entra ID app registrations with their permissions, service principal and admin consent
version_added: 0.1.0
description:
  - Returns one app registration (by O(unique_name), O(app_id), O(object_id) or O(display_name))
    or every app registration of the tenant, each with its declared API permissions by name,
    its service principal, the admin consent that service principal holds, and the metadata
    (never the values) of its client secrets.
  - A display name may match several apps; all of them are returned.
  - For each app, one request reads its service principal and, when it has one, two more read
    its consent; listing a large tenant this way takes a while - prefer a single app.
  - "Graph application permissions of the automation identity: C(Application.Read.All), and
    C(DelegatedPermissionGrant.ReadWrite.All) (or C(Directory.Read.All)) to read delegated grants."
author:
  - konnect.devportal contributors (@konnect-devportal)
options:
  unique_name:
    description: The app by its unique name.
    type: str
  app_id:
    description: The app by its Application (client) ID.
    type: str
  object_id:
    description: The app by its object id.
    type: str
  display_name:
    description: Every app with this display name.
    type: str
  caller_only:
    description:
      - Return only RV(caller), the automation identity, and read no app registration. That
        costs no Graph request beyond the sign-in, which makes it a cheap preflight of the
        permissions a run needs.
    type: bool
    default: false
extends_documentation_fragment:
  - konnect.devportal.azure
  - konnect.devportal.query
  - konnect.devportal.attributes.INFO_MODULE
  - konnect.devportal.attributes.AZURE_GROUP
seealso:
  - module: konnect.devportal.azure_app_registration
"""

EXAMPLES = r"""
- name: The DCR initial client and whether it has admin consent
  konnect.devportal.azure_app_registration_info:
    unique_name: konnect-dcr-admin
  register: dcr_app

- name: Client ids of all apps with consent missing
  konnect.devportal.azure_app_registration_info:
    query: "[?consent_granted == `false`].app_id"
  register: without_consent

- name: When does the newest secret called konnect-dcr expire?
  konnect.devportal.azure_app_registration_info:
    unique_name: konnect-dcr-admin
    query: "[0].secrets[?name == 'konnect-dcr'] | max_by(@, &end_date_time).end_date_time"
  register: expiry
"""

RETURN = r"""
caller:
  description:
    - The automation identity this module signed in as, read from the claims of its Graph token.
  returned: always
  type: dict
  contains:
    client_id:
      description: Its Application (client) ID.
      type: str
    tenant_id:
      description: The tenant it signed in to.
      type: str
    object_id:
      description: The object id of its service principal.
      type: str
    roles:
      description: The Microsoft Graph application permissions consented to it.
      type: list
      elements: str
      sample: [Application.ReadWrite.All, AppRoleAssignment.ReadWrite.All]
applications:
  description: The app registrations found (an empty list when none).
  returned: always
  type: list
  elements: dict
  contains:
    app_id:
      description: The Application (client) ID.
      type: str
    object_id:
      description: The app's object id.
      type: str
    display_name:
      description: The display name.
      type: str
    unique_name:
      description: The unique name, null when it has none.
      type: str
    sign_in_audience:
      description: Who may sign in.
      type: str
    service_principal_id:
      description: The object id of its service principal, null when it has none.
      type: str
    permissions:
      description: Declared API permissions by name (C(api), C(api_app_id), C(application), C(delegated)).
      type: list
      elements: dict
    consent:
      description: Consented permissions by API and name (C(api), C(api_app_id), C(application), C(delegated)).
      type: list
      elements: dict
    consent_granted:
      description: Whether every declared permission has admin consent (false without a service principal).
      type: bool
    secrets:
      description: Client secret metadata (C(key_id), C(name), C(start_date_time), C(end_date_time)), never values.
      type: list
      elements: dict
query_result:
  description: The value of O(query) applied to RV(applications).
  returned: when O(query) is set
  type: raw
"""

from ansible_collections.konnect.devportal.plugins.module_utils.common import apply_query
from ansible_collections.konnect.devportal.plugins.module_utils.entra import (
    access_map,
    describe_access,
    describe_consent,
    ensure_apis,
    find_app,
    find_apps_by_name,
    find_service_principal,
    read_consent,
    secret_view,
)
from ansible_collections.konnect.devportal.plugins.module_utils.graph import AzureModule

APP_KEYS = ("unique_name", "app_id", "object_id", "display_name")
FIELDS = "id,appId,displayName,uniqueName,signInAudience,requiredResourceAccess,passwordCredentials"


def main():
    module = AzureModule(
        argument_spec=dict(
            unique_name=dict(type="str"),
            app_id=dict(type="str"),
            object_id=dict(type="str"),
            display_name=dict(type="str"),
            query=dict(type="str"),
            caller_only=dict(type="bool", default=False),
        ),
        mutually_exclusive=[list(APP_KEYS)],
        supports_check_mode=True,
    )
    with module.failures():
        result = {"changed": False, "caller": module.graph.caller(), "applications": []}
        if module.params["caller_only"]:
            module.exit_json(**result)
        apis = {}  # resource service principals, read once for all apps
        apps = [describe(module.graph, app, apis) for app in find(module)]
        result["applications"] = apps
        if module.params["query"]:
            result["query_result"] = apply_query(apps, module.params["query"])
    module.exit_json(**result)


def find(module):
    graph, p = module.graph, module.params
    if p["display_name"]:
        return find_apps_by_name(graph, p["display_name"], FIELDS)
    if p["unique_name"] or p["app_id"] or p["object_id"]:
        app = find_app(graph, unique_name=p["unique_name"], app_id=p["app_id"], object_id=p["object_id"], select=FIELDS)
        return [app] if app else []
    return graph.list("/applications", {"$select": FIELDS})


def describe(graph, app, apis):
    """One app as the module returns it; APIS caches resource service principals across apps."""
    access = access_map(app.get("requiredResourceAccess"))
    ensure_apis(graph, access, apis)
    sp = find_service_principal(graph, app["appId"])
    consent = read_consent(graph, sp["id"]) if sp else {}
    consented, granted = describe_consent(access, apis, consent)
    return {
        "app_id": app.get("appId"),
        "object_id": app.get("id"),
        "display_name": app.get("displayName"),
        "unique_name": app.get("uniqueName"),
        "sign_in_audience": app.get("signInAudience"),
        "service_principal_id": (sp or {}).get("id"),
        "permissions": describe_access(access, apis),
        "consent": consented,
        "consent_granted": bool(sp) and granted,
        "secrets": [secret_view(c) for c in app.get("passwordCredentials") or []],
    }


if __name__ == "__main__":
    main()
