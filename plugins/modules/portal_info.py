#!/usr/bin/python
# Copyright: (c) 2026, konnect.devportal contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: portal_info
short_description: Read Konnect Dev Portals (v3)
version_added: 0.1.0
description:
  - Returns one portal by name or id, or all of them (C(/v3/portals)).
author:
  - konnect.devportal contributors (@konnect-devportal)
options:
  name:
    description:
      - The portal's name, or its id. Left out, every portal is returned.
      - A name that matches nothing returns an empty list.
    type: str
extends_documentation_fragment:
  - konnect.devportal.konnect
  - konnect.devportal.query
  - konnect.devportal.attributes.INFO_MODULE
  - konnect.devportal.attributes.KONNECT_GROUP
"""

EXAMPLES = r"""
- name: One portal
  konnect.devportal.portal_info:
    name: developer-portal
  register: found

- name: All of them, reduced with a JMESPath query
  konnect.devportal.portal_info:
    query: "[0].default_domain"
  register: summary
"""

RETURN = r"""
portals:
  description:
    - The Dev Portals (v3) as Konnect returns them; empty when nothing matches.
  returned: always
  type: list
  elements: dict
  sample:
    - id: 7710d5c4-d902-410b-992f-18b814155b53
      name: developer-portal
      display_name: Developer Portal
      default_domain: example.us.kongportals.com
      canonical_domain: example.us.kongportals.com
      default_application_auth_strategy_id: null
      auto_approve_applications: true
      created_at: "2026-01-01T00:00:00.000Z"
      updated_at: "2026-01-01T00:00:00.000Z"
query_result:
  description: The value of O(query) applied to RV(portals).
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
        items = lookup(module.client, "portal", module.params["name"])
        module.exit_json(**info_result(module, "portals", items))


if __name__ == "__main__":
    main()
