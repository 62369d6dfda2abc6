#!/usr/bin/python
# Copyright: (c) 2026, konnect.devportal contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: dcr_provider_info
short_description: Read Konnect DCR providers
version_added: 0.1.0
description:
  - Returns one DCR provider by name or id, or all of them (C(/v2/dcr-providers)).
author:
  - konnect.devportal contributors (@konnect-devportal)
options:
  name:
    description:
      - The DCR provider's name, or its id. Left out, every DCR provider is returned.
      - A name that matches nothing returns an empty list.
    type: str
extends_documentation_fragment:
  - konnect.devportal.konnect
  - konnect.devportal.query
  - konnect.devportal.attributes.INFO_MODULE
  - konnect.devportal.attributes.KONNECT_GROUP
seealso:
  - module: konnect.devportal.dcr_provider
"""

EXAMPLES = r"""
- name: One DCR provider
  konnect.devportal.dcr_provider_info:
    name: azure-dcr
  register: found

- name: All of them, reduced with a JMESPath query
  konnect.devportal.dcr_provider_info:
    query: "[].{name: name, issuer: issuer, id: id}"
  register: summary
"""

RETURN = r"""
dcr_providers:
  description:
    - The DCR providers as Konnect returns them; empty when nothing matches. Secrets are never included.
  returned: always
  type: list
  elements: dict
  sample:
    - id: 5f5e8a24-7e0c-4a5b-9c2e-6d1f0a3b4c5d
      name: azure-dcr
      provider_type: azureAd
      issuer: https://sts.windows.net/72f988bf-86f1-41af-91ab-2d7cd011db47
      active: true
      dcr_config:
        initial_client_id: 0b6c2f4e-1a2b-4c3d-8e9f-0a1b2c3d4e5f
      created_at: "2026-01-01T00:00:00.000Z"
      updated_at: "2026-01-01T00:00:00.000Z"
query_result:
  description: The value of O(query) applied to RV(dcr_providers).
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
        items = lookup(module.client, "dcr_provider", module.params["name"])
        module.exit_json(**info_result(module, "dcr_providers", items))


if __name__ == "__main__":
    main()
