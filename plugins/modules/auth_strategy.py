#!/usr/bin/python
# Copyright: (c) 2026, konnect.devportal contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: auth_strategy
short_description: Manage a Konnect application auth strategy
version_added: 0.1.0
description:
  - Creates, updates or deletes an application auth strategy in Kong Konnect
    (C(/v2/application-auth-strategies)), found by its O(name).
  - V(openid_connect) strategies can use a DCR provider, so that a developer who registers an
    application in the Dev Portal gets a client created in the identity provider.
  - Only the options you set are compared; an update sends only what changed.
author:
  - konnect.devportal contributors (@konnect-devportal)
options:
  name:
    description:
      - The strategy's name, which identifies it. Two strategies with this name are an error.
    type: str
    required: true
  display_name:
    description:
      - The name developers see in the Dev Portal. Defaults to O(name) when the strategy is
        created.
    type: str
  strategy_type:
    description:
      - V(openid_connect) (with or without a DCR provider) or V(key_auth).
      - It cannot change once the strategy exists - to switch, delete the strategy
        (O(state=absent), after unpublishing the APIs that use it) and create it again, or
        create one with another O(name).
    type: str
    choices: [openid_connect, key_auth]
    default: openid_connect
  dcr_provider:
    description:
      - V(openid_connect) only. The DCR provider, by name or id.
      - In check mode a provider that does not exist yet (it may be created earlier in the
        same play) is reported as planned instead of failing.
    type: str
  issuer:
    description:
      - V(openid_connect) only. The issuer URL. Defaults to the issuer of O(dcr_provider).
      - With an Azure AD provider it must be C(https://sts.windows.net/<tenant uuid>), no
        trailing slash.
    type: str
  credential_claim:
    description:
      - V(openid_connect) only. The token claims that carry the client id, for example
        V(appid) for Azure AD v1 tokens. Required to create the strategy.
    type: list
    elements: str
  scopes:
    description:
      - V(openid_connect) only. The scopes requested. Required (may be empty) to create the strategy.
    type: list
    elements: str
  auth_methods:
    description:
      - V(openid_connect) only. The authentication methods the gateway accepts. Required to
        create the strategy.
    type: list
    elements: str
    choices:
      - password
      - client_credentials
      - authorization_code
      - bearer
      - introspection
      - kong_oauth2
      - refresh_token
      - session
  extra_settings:
    description:
      - V(openid_connect) only. Other settings of the OpenID Connect plugin, merged into
        C(configs.openid-connect), for example C(cache_tokens=false).
      - Only the keys given are compared; others are left as they are.
    type: dict
  key_names:
    description:
      - V(key_auth) only. The header names that carry the API key (1 to 10). Required to
        create the strategy.
    type: list
    elements: str
  ttl:
    description:
      - V(key_auth) only. The longest lifetime of a key created under this strategy.
    type: dict
    suboptions:
      value:
        description: How many units.
        type: int
        required: true
      unit:
        description: The unit.
        type: str
        choices: [days, weeks, years]
        required: true
  state:
    description:
      - V(present) creates or updates the strategy; V(absent) deletes it.
      - Deleting fails, naming them, while API publications use the strategy.
      - In check mode such a delete is reported as a change, with a warning naming the publications,
        because an earlier task of the same run may unpublish them.
    type: str
    choices: [present, absent]
    default: present
extends_documentation_fragment:
  - konnect.devportal.konnect
  - konnect.devportal.labels
  - konnect.devportal.attributes
  - konnect.devportal.attributes.KONNECT_GROUP
seealso:
  - module: konnect.devportal.auth_strategy_info
  - module: konnect.devportal.dcr_provider
  - module: konnect.devportal.api_publication
"""

EXAMPLES = r"""
- name: Azure AD DCR strategy (the issuer comes from the provider)
  konnect.devportal.auth_strategy:
    name: azure-dcr
    display_name: Azure AD client credentials
    dcr_provider: azure-dcr
    credential_claim: [appid]
    scopes: [openid]
    auth_methods: [client_credentials, bearer, session]
    extra_settings:
      cache_tokens: false

- name: Key auth strategy
  konnect.devportal.auth_strategy:
    name: api-keys
    strategy_type: key_auth
    key_names: [apikey]
    ttl:
      value: 90
      unit: days

- name: Remove a strategy (fails while APIs are published with it)
  konnect.devportal.auth_strategy:
    name: api-keys
    state: absent
"""

RETURN = r"""
auth_strategy:
  description:
    - The strategy as Konnect returns it. In check mode, the object the module would create
      or update (C(id) is null for a create).
    - Empty when O(state=absent).
  returned: always
  type: dict
  sample:
    id: 0f6e3c55-3a4e-4bd4-8d7b-2b6a0c1d9e8f
    name: azure-dcr
    display_name: Azure AD client credentials
    strategy_type: openid_connect
    configs:
      openid-connect:
        issuer: https://sts.windows.net/72f988bf-86f1-41af-91ab-2d7cd011db47
        credential_claim: [appid]
        scopes: [openid]
        auth_methods: [client_credentials, bearer, session]
    dcr_provider:
      id: 5f5e8a24-7e0c-4a5b-9c2e-6d1f0a3b4c5d
      name: azure-dcr
      provider_type: azureAd
    active: false
    labels: {}
    created_at: "2026-01-01T00:00:00.000Z"
    updated_at: "2026-01-01T00:00:00.000Z"
"""

from ansible_collections.konnect.devportal.plugins.module_utils.http_client import ApiError
from ansible_collections.konnect.devportal.plugins.module_utils.konnect import (
    AUTH_METHODS,
    InputError,
    KonnectModule,
    check_azure_issuer,
    check_labels,
    describe_publications,
    ensure_absent,
    ensure_present,
    eq,
    label_patch,
    resolve_refs,
)
from ansible_collections.konnect.devportal.plugins.module_utils.reconcile import prune_unset

OIDC_OPTIONS = ("dcr_provider", "issuer", "credential_claim", "scopes", "auth_methods", "extra_settings")
KEY_AUTH_OPTIONS = ("key_names", "ttl")
CONFIG_KEY = {"openid_connect": "openid-connect", "key_auth": "key-auth"}


def argument_spec():
    return dict(
        name=dict(type="str", required=True),
        display_name=dict(type="str"),
        strategy_type=dict(type="str", default="openid_connect", choices=["openid_connect", "key_auth"]),
        dcr_provider=dict(type="str"),
        issuer=dict(type="str"),
        credential_claim=dict(type="list", elements="str"),
        scopes=dict(type="list", elements="str"),
        auth_methods=dict(type="list", elements="str", choices=list(AUTH_METHODS)),
        extra_settings=dict(type="dict"),
        key_names=dict(type="list", elements="str", no_log=False),
        ttl=dict(
            type="dict",
            options=dict(
                value=dict(type="int", required=True),
                unit=dict(type="str", required=True, choices=["days", "weeks", "years"]),
            ),
        ),
        labels=dict(type="dict"),
        state=dict(type="str", default="present", choices=["present", "absent"]),
    )


def check_input(params):
    strategy_type = params["strategy_type"]
    foreign = KEY_AUTH_OPTIONS if strategy_type == "openid_connect" else OIDC_OPTIONS
    stray = [o for o in foreign if params.get(o) is not None]
    if stray:
        raise InputError("%s do not apply to strategy_type %s" % (", ".join(stray), strategy_type))
    clash = sorted(set(params.get("extra_settings") or {}) & set(OIDC_OPTIONS))
    if clash:
        raise InputError("extra_settings must not repeat %s: use the options of the same name" % ", ".join(clash))
    if params["ttl"] and params["ttl"]["value"] < 1:
        raise InputError("ttl.value must be 1 or more")
    check_labels(params.get("labels"))


def resolve_provider(module, current=None):
    """The DCR provider object (a placeholder in check mode when it is still to be created).

    When the strategy already names this provider (its ``dcr_provider`` holds the id, name
    and type) and the issuer is given, that is all this module needs: no lookup.
    """
    ref = module.params.get("dcr_provider")
    if not ref:
        return None
    named = (current or {}).get("dcr_provider") or {}
    if named.get("id") and ref in (named.get("id"), named.get("name")) and module.params.get("issuer"):
        return named
    return resolve_refs(module.client, "dcr_provider", [ref], module.check_mode, planned=True)[ref]


def desired_view(params, provider):
    view = dict(display_name=params.get("display_name"), labels=params.get("labels"))
    if params["strategy_type"] == "openid_connect":
        issuer = params.get("issuer")
        if issuer is None and provider is not None:
            issuer = provider.get("issuer")
        if provider is not None and provider.get("provider_type") == "azureAd" and issuer:
            check_azure_issuer(issuer)
        config = dict(
            issuer=issuer,
            credential_claim=params.get("credential_claim"),
            scopes=params.get("scopes"),
            auth_methods=params.get("auth_methods"),
        )
        config.update(params.get("extra_settings") or {})
        if provider is not None:
            view["dcr_provider_id"] = provider["id"] or "(DCR provider %s, to be created)" % provider["name"]
    else:
        config = dict(key_names=params.get("key_names"), ttl=params.get("ttl"))
    config = prune_unset(config)
    if config:
        view["configs"] = {CONFIG_KEY[params["strategy_type"]]: config}
    return prune_unset(view)


def current_view(strategy):
    provider = strategy.get("dcr_provider") or {}
    return dict(
        display_name=strategy.get("display_name"),
        labels=strategy.get("labels") or {},
        dcr_provider_id=provider.get("id"),
        configs=strategy.get("configs") or {},
    )


def create_body(params, desired, provider):
    strategy_type = params["strategy_type"]
    if strategy_type == "openid_connect":
        required = ["credential_claim", "scopes", "auth_methods"]
        if not (provider and provider.get("planned")):
            required.insert(0, "issuer")
    else:
        required = ["key_names"]
    config = (desired.get("configs") or {}).get(CONFIG_KEY[strategy_type], {})
    missing = [o for o in required if config.get(o) is None]
    if missing:
        raise InputError(
            "creating auth strategy %r (%s) needs %s%s"
            % (
                params["name"],
                strategy_type,
                ", ".join(missing),
                " (or dcr_provider, whose issuer is used)" if "issuer" in missing else "",
            )
        )
    body = dict(name=params["name"], display_name=params["name"], strategy_type=strategy_type)
    body.update(desired)
    body.setdefault("configs", {CONFIG_KEY[strategy_type]: config})
    return body


def patch_body(current, desired):
    def build(delta):
        body = dict((k, v) for k, v in delta.items() if k in ("display_name", "dcr_provider_id", "configs"))
        if "labels" in delta:
            body["labels"] = label_patch(current.get("labels"), desired["labels"])
        return body

    return build


def delete(module, current):
    """Delete unless API publications use the strategy (named in the error)."""
    params = module.params
    if current is not None:
        users = module.client.publications(eq("auth_strategy_id", current["id"]))
        if users:
            in_use = "auth strategy %r is used by the API publications %s" % (
                params["name"],
                ", ".join(describe_publications(module.client, users)),
            )
            if not module.check_mode:
                raise InputError(
                    in_use + ": unpublish them (konnect.devportal.api_publication state=absent) or publish them "
                    "with another auth_strategy first"
                )
            # an earlier task of the same run may unpublish them; check mode cannot know
            module.warn("check mode: %s; it can be deleted only once they are unpublished" % in_use)
    try:
        changed, diff_value = ensure_absent(
            module, "auth_strategy", current, current_view(current) if current else None
        )
    except ApiError as exc:
        if exc.status == 409:
            exc.message += ". No API publication uses it; it may be a portal's default application auth strategy"
            exc.args = (exc.message,)
        raise
    module.exit_json(**module.result(changed, diff_value, auth_strategy={}))


def main():
    module = KonnectModule(argument_spec=argument_spec(), supports_check_mode=True)
    params = module.params
    with module.failures():
        check_input(params)
        current = module.client.find_named("auth_strategy", params["name"])
        if params["state"] == "absent":
            delete(module, current)
        if current is not None and current.get("strategy_type") != params["strategy_type"]:
            raise InputError(
                "auth strategy %r is %s; strategy_type cannot change to %s. To replace it, delete it "
                "(state=absent, after unpublishing the APIs that use it) and create it again, "
                "or create a new strategy with another name"
                % (params["name"], current.get("strategy_type"), params["strategy_type"])
            )
        provider = resolve_provider(module, current)
        desired = desired_view(params, provider)
        if provider and provider.get("planned"):
            module.warn("DCR provider %r does not exist yet; check mode assumes it is created first" % provider["name"])
        changed, obj, diff_value = ensure_present(
            module,
            "auth_strategy",
            current,
            current_view(current) if current else None,
            desired,
            create_body(params, desired, provider) if current is None else None,
            patch_body(current or {}, desired),
        )
        module.exit_json(**module.result(changed, diff_value, auth_strategy=obj))


if __name__ == "__main__":
    main()
