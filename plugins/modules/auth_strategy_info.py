#!/usr/bin/python
# Copyright: (c) 2026, konnect.devportal contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: auth_strategy_info
short_description: Read Konnect application auth strategies
version_added: 0.1.0
description:
  - Returns one auth strategy by name or id, or all of them (C(/v2/application-auth-strategies)).
author:
  - konnect.devportal contributors (@konnect-devportal)
options:
  name:
    description:
      - The auth strategy's name, or its id. Left out, every auth strategy is returned.
      - A name that matches nothing returns an empty list.
    type: str
extends_documentation_fragment:
  - konnect.devportal.konnect
  - konnect.devportal.query
  - konnect.devportal.attributes.INFO_MODULE
  - konnect.devportal.attributes.KONNECT_GROUP
seealso:
  - module: konnect.devportal.auth_strategy
"""

EXAMPLES = r"""
- name: One auth strategy
  konnect.devportal.auth_strategy_info:
    name: azure-dcr
  register: found

- name: All of them, reduced with a JMESPath query
  konnect.devportal.auth_strategy_info:
    query: "[?strategy_type=='openid_connect'].name"
  register: summary
"""

RETURN = r"""
auth_strategies:
  description:
    - The application auth strategies as Konnect returns them; empty when nothing matches.
  returned: always
  type: list
  elements: dict
  sample:
    - id: 0f6e3c55-3a4e-4bd4-8d7b-2b6a0c1d9e8f
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
      active: true
      labels: {}
      created_at: "2026-01-01T00:00:00.000Z"
      updated_at: "2026-01-01T00:00:00.000Z"
query_result:
  description: The value of O(query) applied to RV(auth_strategies).
  returned: when O(query) is given
  type: raw
"""

from ansible_collections.konnect.devportal.plugins.module_utils.konnect import KonnectModule, info_result, lookup


def main():
    module = KonnectModule(
        argument_spec=dict(name=dict(type="str"), query=dict(type="str")),
        supports_check_mode=True,
    )
    with module.failures():
        items = lookup(module.client, "auth_strategy", module.params["name"])
        module.exit_json(**info_result(module, "auth_strategies", items))


if __name__ == "__main__":
    main()
