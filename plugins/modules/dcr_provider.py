#!/usr/bin/python
# Copyright: (c) 2026, konnect.devportal contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: dcr_provider
short_description: Manage a Konnect Dev Portal DCR provider
version_added: 0.1.0
description:
  - Creates, updates or deletes a Dynamic Client Registration (DCR) provider in Kong Konnect
    (C(/v2/dcr-providers)), found by its O(name).
  - The provider's client secret is write-only (Konnect never returns it), so O(update_secret)
    decides when it is sent; with the default a rerun makes no write request.
  - Only the options you set are compared; an option left out is never drift.
author:
  - konnect.devportal contributors (@konnect-devportal)
options:
  name:
    description:
      - The provider's name, which identifies it. Two providers with this name are an error.
    type: str
    required: true
  display_name:
    description:
      - The name shown in the Konnect UI.
      - Konnect may leave it out of its answers; it is then not treated as drift.
    type: str
  provider_type:
    description:
      - The identity provider. It cannot change once the provider exists - to switch, delete
        the provider (O(state=absent), after deleting the auth strategies that use it) and
        create it again, or create one with another O(name).
      - V(azureAd) (Microsoft Entra ID) needs O(issuer), O(initial_client_id) and
        O(initial_client_secret).
      - V(auth0) and V(curity) take the same, V(auth0) also O(initial_client_audience) and
        O(use_developer_managed_scopes).
      - V(okta) needs O(issuer) and O(dcr_token).
      - V(http) (a custom DCR server) needs O(issuer), O(dcr_base_url) and O(api_key), and
        takes O(disable_event_hooks), O(disable_refresh_secret), O(allow_multiple_credentials).
      - V(kongIdentity) needs only O(issuer).
    type: str
    choices: [azureAd, auth0, curity, okta, http, kongIdentity]
    default: azureAd
  issuer:
    description:
      - The issuer URL of the identity provider. Required to create the provider.
      - For V(azureAd) it must be the v1 issuer C(https://sts.windows.net/<tenant uuid>)
        with no trailing slash; the v2.0 form (C(https://login.microsoftonline.com/<tenant>/v2.0))
        or a trailing slash fail before any request, with the value to use.
    type: str
  initial_client_id:
    description:
      - The application (client) ID of the management client Konnect uses to create
        applications in the identity provider (V(azureAd), V(auth0), V(curity)).
      - When it changes, O(initial_client_secret) (if given) is sent with it.
    type: str
  initial_client_secret:
    description:
      - The management client's secret (V(azureAd), V(auth0), V(curity)). Write-only, see
        O(update_secret). Required to create the provider.
    type: str
  initial_client_audience:
    description:
      - V(auth0) only. The audience of the initial client; defaults to the issuer in Konnect.
    type: str
  use_developer_managed_scopes:
    description:
      - V(auth0) only. Let developers pick the scopes of their applications.
    type: bool
  dcr_token:
    description:
      - V(okta) only. The token Konnect uses to register clients. Write-only, see
        O(update_secret).
    type: str
  dcr_base_url:
    description:
      - V(http) only. The base URL of the custom DCR server Konnect calls.
    type: str
  api_key:
    description:
      - V(http) only. The key Konnect sends to the custom DCR server (12 or more of
        C([a-zA-Z0-9_])). Write-only, see O(update_secret).
    type: str
  disable_event_hooks:
    description:
      - V(http) only. Turn off the event hooks of the application flow.
    type: bool
  disable_refresh_secret:
    description:
      - V(http) only. Turn off the refresh-secret endpoint of the application flow.
    type: bool
  allow_multiple_credentials:
    description:
      - V(http) only. The DCR server supports several credentials per application.
    type: bool
  update_secret:
    description:
      - When the write-only secret (O(initial_client_secret), O(dcr_token) or O(api_key)) is sent.
      - V(on_create) - only when the provider is created (or, for O(initial_client_secret),
        when O(initial_client_id) changes). Reruns report no change.
      - V(always) - on every run, for rotation. Konnect cannot tell whether the secret differs,
        so the task then reports a change every time.
    type: str
    choices: [on_create, always]
    default: on_create
  state:
    description:
      - V(present) creates or updates the provider; V(absent) deletes it.
      - Deleting fails, naming them, while auth strategies use the provider.
      - In check mode such a delete is reported as a change, with a warning naming the strategies,
        because an earlier task of the same run may delete them.
    type: str
    choices: [present, absent]
    default: present
extends_documentation_fragment:
  - konnect.devportal.konnect
  - konnect.devportal.labels
  - konnect.devportal.attributes
  - konnect.devportal.attributes.KONNECT_GROUP
seealso:
  - module: konnect.devportal.dcr_provider_info
  - module: konnect.devportal.auth_strategy
"""

EXAMPLES = r"""
- name: Azure AD DCR provider
  konnect.devportal.dcr_provider:
    name: azure-dcr
    display_name: Azure AD
    issuer: "https://sts.windows.net/{{ tenant_id }}"
    initial_client_id: "{{ app.client_id }}"
    initial_client_secret: "{{ secret.value }}"
    labels:
      env: prod

- name: Rotate the management client's secret
  konnect.devportal.dcr_provider:
    name: azure-dcr
    initial_client_secret: "{{ new_secret.value }}"
    update_secret: always

- name: Connection options once for every Konnect module
  module_defaults:
    group/konnect.devportal.konnect:
      konnect_region: eu
  block:
    - name: Remove the provider
      konnect.devportal.dcr_provider:
        name: azure-dcr
        state: absent
"""

RETURN = r"""
dcr_provider:
  description:
    - The provider as Konnect returns it (secrets are never included). In check mode, the
      object the module would create or update (C(id) is null for a create).
    - Empty when O(state=absent).
  returned: always
  type: dict
  sample:
    id: 5f5e8a24-7e0c-4a5b-9c2e-6d1f0a3b4c5d
    name: azure-dcr
    display_name: Azure AD
    provider_type: azureAd
    issuer: https://sts.windows.net/72f988bf-86f1-41af-91ab-2d7cd011db47
    active: false
    dcr_config:
      initial_client_id: 0b6c2f4e-1a2b-4c3d-8e9f-0a1b2c3d4e5f
    labels:
      env: prod
    created_at: "2026-01-01T00:00:00.000Z"
    updated_at: "2026-01-01T00:00:00.000Z"
secret_sent:
  description: Whether this run sent (or, in check mode, would send) the write-only secret.
  returned: always
  type: bool
  sample: false
"""

from ansible_collections.konnect.devportal.plugins.module_utils.konnect import (
    InputError,
    KonnectModule,
    check_azure_issuer,
    check_labels,
    ensure_absent,
    ensure_present,
    label_patch,
)
from ansible_collections.konnect.devportal.plugins.module_utils.reconcile import prune_unset

# Per provider type: the dcr_config options it takes, its write-only secret, and
# what creating it needs.
TYPES = {
    "azureAd": (("initial_client_id",), "initial_client_secret", ("initial_client_id",)),
    "auth0": (
        ("initial_client_id", "initial_client_audience", "use_developer_managed_scopes"),
        "initial_client_secret",
        ("initial_client_id",),
    ),
    "curity": (("initial_client_id",), "initial_client_secret", ("initial_client_id",)),
    "okta": ((), "dcr_token", ()),
    "http": (
        ("dcr_base_url", "disable_event_hooks", "disable_refresh_secret", "allow_multiple_credentials"),
        "api_key",
        ("dcr_base_url",),
    ),
    "kongIdentity": ((), None, ()),
}
CONFIG_OPTIONS = sorted(
    set(o for fields, secret, _req in TYPES.values() for o in fields + ((secret,) if secret else ()))
)


def argument_spec():
    return dict(
        name=dict(type="str", required=True),
        display_name=dict(type="str"),
        provider_type=dict(
            type="str", default="azureAd", choices=["azureAd", "auth0", "curity", "okta", "http", "kongIdentity"]
        ),
        issuer=dict(type="str"),
        initial_client_id=dict(type="str"),
        initial_client_secret=dict(type="str", no_log=True),
        initial_client_audience=dict(type="str"),
        use_developer_managed_scopes=dict(type="bool"),
        dcr_token=dict(type="str", no_log=True),
        dcr_base_url=dict(type="str"),
        api_key=dict(type="str", no_log=True),
        disable_event_hooks=dict(type="bool"),
        disable_refresh_secret=dict(type="bool"),
        allow_multiple_credentials=dict(type="bool"),
        update_secret=dict(type="str", default="on_create", choices=["on_create", "always"], no_log=False),
        labels=dict(type="dict"),
        state=dict(type="str", default="present", choices=["present", "absent"]),
    )


def check_input(params):
    """Every input error, before the first request."""
    provider_type = params["provider_type"]
    fields, secret, _required = TYPES[provider_type]
    stray = [o for o in CONFIG_OPTIONS if params.get(o) is not None and o not in fields and o != secret]
    if stray:
        raise InputError(
            "%s do%s not apply to provider_type %s" % (", ".join(stray), "es" if len(stray) == 1 else "", provider_type)
        )
    if provider_type == "azureAd" and params.get("issuer") is not None:
        check_azure_issuer(params["issuer"])
    policy = params["update_secret"]
    if policy == "always" and params["state"] == "present" and secret and not params.get(secret):
        raise InputError("update_secret=always needs %s" % secret)
    check_labels(params.get("labels"))


def desired_view(params):
    fields, _secret, _required = TYPES[params["provider_type"]]
    view = dict(
        display_name=params.get("display_name"),
        issuer=params.get("issuer"),
        labels=params.get("labels"),
        dcr_config=dict((f, params.get(f)) for f in fields),
    )
    view = prune_unset(view)
    if not view.get("dcr_config"):
        view.pop("dcr_config", None)
    return view


def current_view(provider, desired):
    view = dict(
        display_name=provider.get("display_name"),
        issuer=provider.get("issuer"),
        labels=provider.get("labels") or {},
        dcr_config=dict(provider.get("dcr_config") or {}),
    )
    # Konnect may omit display_name from its answers: unknown is not drift
    if view["display_name"] is None and "display_name" in desired:
        view["display_name"] = desired["display_name"]
    # Konnect may normalise a trailing slash of the issuer
    if (view["issuer"] or "").rstrip("/") == (desired.get("issuer") or "").rstrip("/"):
        view["issuer"] = desired.get("issuer", view["issuer"])
    return view


def create_body(params, desired):
    _fields, secret, required = TYPES[params["provider_type"]]
    missing = [o for o in ("issuer",) + required + ((secret,) if secret else ()) if params.get(o) is None]
    if missing:
        raise InputError(
            "creating DCR provider %r (%s) needs %s" % (params["name"], params["provider_type"], ", ".join(missing))
        )
    body = dict(name=params["name"], provider_type=params["provider_type"])
    body.update(desired)
    config = dict(desired.get("dcr_config") or {})
    if secret:
        config[secret] = params[secret]
    if params["provider_type"] != "kongIdentity" or config:
        body["dcr_config"] = config
    return body


def patch_body(current, desired):
    def build(delta):
        body = dict((k, v) for k, v in delta.items() if k in ("display_name", "issuer", "dcr_config"))
        if "labels" in delta:
            body["labels"] = label_patch(current.get("labels"), desired["labels"])
        return body

    return build


def secrets_to_send(params, current, desired):
    """The write-only secret, when the policy says to send it on this run."""
    _fields, secret, _required = TYPES[params["provider_type"]]
    if not secret or not params.get(secret):
        return {}
    if current is None:
        return {"dcr_config." + secret: params[secret]}
    new_client_id = (desired.get("dcr_config") or {}).get("initial_client_id")
    # a new management client needs its own secret, whatever the policy
    new_client = bool(new_client_id) and (current.get("dcr_config") or {}).get("initial_client_id") != new_client_id
    policy = params["update_secret"]
    if policy == "always" or (new_client and secret.startswith("initial_client")):
        return {"dcr_config." + secret: params[secret]}
    return {}


def main():
    module = KonnectModule(argument_spec=argument_spec(), supports_check_mode=True)
    params = module.params
    with module.failures():
        check_input(params)
        current = module.client.find_named("dcr_provider", params["name"])
        desired = desired_view(params)
        if params["state"] == "absent":
            if current is not None:
                users = module.client.strategies_using_provider(current["id"])
                if users:
                    in_use = "DCR provider %r is used by auth strategies %s" % (
                        params["name"],
                        ", ".join(repr(s.get("name")) for s in users),
                    )
                    if not module.check_mode:
                        raise InputError(in_use + ": delete them first (konnect.devportal.auth_strategy state=absent)")
                    # an earlier task of the same run may delete them; check mode cannot know
                    module.warn("check mode: %s; it can be deleted only once they are deleted" % in_use)
            view = current_view(current, {}) if current else None
            changed, diff_value = ensure_absent(module, "dcr_provider", current, view)
            module.exit_json(**module.result(changed, diff_value, dcr_provider={}, secret_sent=False))
        if current is not None and current.get("provider_type") != params["provider_type"]:
            raise InputError(
                "DCR provider %r is %s; provider_type cannot change to %s. To replace it, delete it "
                "(state=absent, after deleting the auth strategies that use it) and create it again, "
                "or create a new provider with another name"
                % (params["name"], current.get("provider_type"), params["provider_type"])
            )
        secrets = secrets_to_send(params, current, desired)
        body = create_body(params, desired) if current is None else None
        changed, obj, diff_value = ensure_present(
            module,
            "dcr_provider",
            current,
            current_view(current, desired) if current else None,
            desired,
            body,
            patch_body(current or {}, desired),
            secrets,
        )
        module.exit_json(**module.result(changed, diff_value, dcr_provider=obj, secret_sent=bool(secrets)))


if __name__ == "__main__":
    main()
