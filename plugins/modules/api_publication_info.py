#!/usr/bin/python
# Copyright: (c) 2026, konnect.devportal contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: api_publication_info
short_description: Read the publications of Konnect APIs to Dev Portals
version_added: 0.1.0
description:
  - Returns API publications (C(/v3/api-publications)), all of them or those of an API, a
    portal and/or an auth strategy, with the names of their API and portal.
author:
  - konnect.devportal contributors (@konnect-devportal)
options:
  api:
    description:
      - Only the publications of this API, by name or id. A name without O(api_version)
        matches every version.
    type: str
  api_version:
    description:
      - With O(api) given by name, only this version.
    type: str
  portal:
    description:
      - Only the publications in this portal, by name or id.
    type: str
  auth_strategy:
    description:
      - Only the publications that use this auth strategy, by name or id.
    type: str
notes:
  - An API, portal or auth strategy that does not exist matches no publication.
extends_documentation_fragment:
  - konnect.devportal.konnect
  - konnect.devportal.query
  - konnect.devportal.attributes.INFO_MODULE
  - konnect.devportal.attributes.KONNECT_GROUP
seealso:
  - module: konnect.devportal.api_publication
"""

EXAMPLES = r"""
- name: What uses the Azure DCR strategy
  konnect.devportal.api_publication_info:
    auth_strategy: azure-dcr
    query: "[].[api_name, api_version, portal_name]"
  register: users

- name: Everything published to one portal
  konnect.devportal.api_publication_info:
    portal: developer-portal
  register: published
"""

RETURN = r"""
publications:
  description:
    - The publications as Konnect lists them, plus C(api_name), C(api_version) and
      C(portal_name); empty when nothing matches.
  returned: always
  type: list
  elements: dict
  sample:
    - api_id: 9f5061ce-78f6-4452-9108-ad7c02821fd5
      api_name: orders
      api_version: v1
      portal_id: 7710d5c4-d902-410b-992f-18b814155b53
      portal_name: developer-portal
      visibility: public
      auth_strategy_ids: [0f6e3c55-3a4e-4bd4-8d7b-2b6a0c1d9e8f]
      auto_approve_registrations: true
      entity_type: api
      created_at: "2026-01-01T00:00:00.000Z"
      updated_at: "2026-01-01T00:00:00.000Z"
query_result:
  description: The value of O(query) applied to RV(publications).
  returned: when O(query) is given
  type: raw
"""

from ansible_collections.konnect.devportal.plugins.module_utils.konnect import (
    KonnectModule,
    info_result,
    lookup_publications,
)


def main():
    module = KonnectModule(
        argument_spec=dict(
            api=dict(type="str"),
            api_version=dict(type="str"),
            portal=dict(type="str"),
            auth_strategy=dict(type="str"),
            query=dict(type="str"),
        ),
        supports_check_mode=True,
        required_by={"api_version": "api"},
    )
    params = module.params
    with module.failures():
        items = lookup_publications(
            module.client, params["api"], params["api_version"], params["portal"], params["auth_strategy"]
        )
        module.exit_json(**info_result(module, "publications", items))


if __name__ == "__main__":
    main()
