#!/usr/bin/python
# Copyright: (c) 2026, konnect.devportal contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: api_publication
short_description: Publish Konnect APIs to Dev Portals
version_added: 0.1.0
description:
  - Publishes an API to a Dev Portal (C(PUT /v3/apis/{api}/publications/{portal})) with an
    application auth strategy, a visibility and an auto-approval setting, or unpublishes it.
  - A publication is identified by its API and portal; there is never more than one.
  - Konnect replaces a publication as a whole, so every write sends all three settings.
    O(visibility) and O(auto_approve_registrations) left out keep their current value (or
    Konnect's default on the first publish); O(auth_strategy) left out means the portal's
    default strategy.
  - Give one publication with O(api) and O(portal), or many with O(publications); a list is
    reconciled with one lookup per kind of object and one read of the current publications
    (a list call covers about 50 APIs), so a rerun costs the same few requests whatever the
    number of APIs.
  - The writes of a list go out in parallel, over at most 8 connections. When some fail, the
    others are still applied, and the error names every publication that failed.
author:
  - konnect.devportal contributors (@konnect-devportal)
options:
  api:
    description:
      - The API, by name (with O(api_version) for a versioned API) or id.
    type: str
  api_version:
    description:
      - The API's version. Without it the API named O(api) must be unversioned or the only
        one of that name.
    type: str
  portal:
    description:
      - The Dev Portal, by name or id.
    type: str
  auth_strategy:
    description:
      - The application auth strategy developers register with, by name or id.
      - V(none) publishes without application authentication.
      - Left out, the portal's default application auth strategy (none when the portal has
        no default).
      - In check mode a strategy that does not exist yet (it may be created earlier in the
        same play) is reported as planned instead of failing.
    type: str
  visibility:
    description:
      - V(public) APIs are visible to anonymous visitors, V(private) ones only to signed-in
        developers. Konnect's default is V(private).
    type: str
    choices: [public, private]
  auto_approve_registrations:
    description:
      - Approve developers' registrations for this API automatically. When V(false), the
        portal's C(auto_approve_applications) setting applies. Defaults to V(false) on the
        first publish.
    type: bool
  publications:
    description:
      - Many publications, reconciled in one run. Publications not listed are left alone.
      - Cannot be used with O(api), O(api_version), O(portal), O(auth_strategy),
        O(visibility) or O(auto_approve_registrations).
    type: list
    elements: dict
    suboptions:
      api:
        description: As O(api).
        type: str
        required: true
      api_version:
        description: As O(api_version).
        type: str
      portal:
        description: As O(portal).
        type: str
        required: true
      auth_strategy:
        description: As O(auth_strategy).
        type: str
      visibility:
        description: As O(visibility).
        type: str
        choices: [public, private]
      auto_approve_registrations:
        description: As O(auto_approve_registrations).
        type: bool
      state:
        description: As O(state); defaults to O(state).
        type: str
        choices: [present, absent]
  state:
    description:
      - V(present) publishes (or updates the publication); V(absent) unpublishes.
    type: str
    choices: [present, absent]
    default: present
extends_documentation_fragment:
  - konnect.devportal.konnect
  - konnect.devportal.attributes
  - konnect.devportal.attributes.KONNECT_GROUP
seealso:
  - module: konnect.devportal.api_publication_info
  - module: konnect.devportal.auth_strategy
"""

EXAMPLES = r"""
- name: Publish orders v1 with the Azure DCR strategy
  konnect.devportal.api_publication:
    api: orders
    api_version: v1
    portal: developer-portal
    auth_strategy: azure-dcr
    visibility: public
    auto_approve_registrations: true

- name: Publish several APIs in one run
  konnect.devportal.api_publication:
    publications:
      - {api: orders, api_version: v2, portal: developer-portal, auth_strategy: azure-dcr}
      - {api: payments, api_version: v1, portal: partner-portal, auth_strategy: azure-dcr, visibility: private}
      - {api: inventory, portal: partner-portal, state: absent}

- name: Publish without application authentication
  konnect.devportal.api_publication:
    api: inventory
    portal: developer-portal
    auth_strategy: none

- name: Unpublish
  konnect.devportal.api_publication:
    api: orders
    api_version: v1
    portal: developer-portal
    state: absent
"""

RETURN = r"""
publication:
  description:
    - The publication (single form). The settings Konnect holds after the run (in check mode,
      the ones it would hold), with the names and ids of the API and portal.
  returned: when O(api) is used
  type: dict
  contains:
    api_id:
      description: The API's id.
      type: str
    api_name:
      description: The API's name.
      type: str
    api_version:
      description: The API's version (null when unversioned).
      type: str
    portal_id:
      description: The portal's id.
      type: str
    portal_name:
      description: The portal's name.
      type: str
    published:
      description: Whether the API is published to the portal after the run.
      type: bool
    action:
      description: What the run did (or would do) - V(created), V(updated), V(deleted) or V(unchanged).
      type: str
    visibility:
      description: V(public) or V(private). Not returned after an unpublish.
      type: str
    auth_strategy_ids:
      description: The auth strategy id in a one-item list, or null for no application auth.
      type: list
      elements: str
    auto_approve_registrations:
      description: Whether registrations are approved automatically.
      type: bool
  sample:
    api_id: 9f5061ce-78f6-4452-9108-ad7c02821fd5
    api_name: orders
    api_version: v1
    portal_id: 7710d5c4-d902-410b-992f-18b814155b53
    portal_name: developer-portal
    published: true
    action: created
    visibility: public
    auth_strategy_ids: [0f6e3c55-3a4e-4bd4-8d7b-2b6a0c1d9e8f]
    auto_approve_registrations: true
publications:
  description: One item per entry of O(publications), in order, shaped as RV(publication).
  returned: when O(publications) is used
  type: list
  elements: dict
"""

from ansible_collections.konnect.devportal.plugins.module_utils.konnect import KonnectModule, plan_publications

SETTINGS = ("api", "api_version", "portal", "auth_strategy", "visibility", "auto_approve_registrations")


def argument_spec():
    return dict(
        api=dict(type="str"),
        api_version=dict(type="str"),
        portal=dict(type="str"),
        auth_strategy=dict(type="str"),
        visibility=dict(type="str", choices=["public", "private"]),
        auto_approve_registrations=dict(type="bool"),
        publications=dict(
            type="list",
            elements="dict",
            options=dict(
                api=dict(type="str", required=True),
                api_version=dict(type="str"),
                portal=dict(type="str", required=True),
                auth_strategy=dict(type="str"),
                visibility=dict(type="str", choices=["public", "private"]),
                auto_approve_registrations=dict(type="bool"),
                state=dict(type="str", choices=["present", "absent"]),
            ),
        ),
        state=dict(type="str", default="present", choices=["present", "absent"]),
    )


def main():
    module = KonnectModule(
        argument_spec=argument_spec(),
        supports_check_mode=True,
        mutually_exclusive=[("publications", s) for s in SETTINGS],
        required_one_of=[("api", "publications")],
        required_together=[("api", "portal")],
    )
    params = module.params
    single = params["publications"] is None
    if single:
        items = [dict((s, params[s]) for s in SETTINGS)]
    else:
        items = [dict(item) for item in params["publications"]]
    for item in items:
        item["state"] = item.get("state") or params["state"]
    with module.failures():
        changed, results, diff_value = plan_publications(module, items)
    if single:
        key = next(iter(diff_value["before"]))
        diff_value = dict((side, _as_dict(diff_value[side][key])) for side in ("before", "after"))
        module.exit_json(**module.result(changed, diff_value, publication=results[0]))
    module.exit_json(**module.result(changed, diff_value, publications=results))


def _as_dict(value):
    return {"state": "absent"} if value == "absent" else value


if __name__ == "__main__":
    main()
