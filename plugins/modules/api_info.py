#!/usr/bin/python
# Copyright: (c) 2026, konnect.devportal contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: api_info
short_description: Read Konnect APIs (API Catalog v3)
version_added: 0.1.0
description:
  - Returns the APIs with a name (and version), one API by id, the APIs of a list of names and
    ids, or all of them (C(/v3/apis)).
author:
  - konnect.devportal contributors (@konnect-devportal)
options:
  name:
    description:
      - The API's name, or its id. Left out, every API is returned.
      - A name that matches nothing returns an empty list.
    type: str
  names:
    description:
      - Every API whose name, or id, is in this list, read with one request per about 100
        values (C(filter[name][oeq])), however many APIs the organization has.
      - Mutually exclusive with O(name).
    type: list
    elements: str
  api_version:
    description:
      - Only the API with this version.
    type: str
extends_documentation_fragment:
  - konnect.devportal.konnect
  - konnect.devportal.query
  - konnect.devportal.attributes.INFO_MODULE
  - konnect.devportal.attributes.KONNECT_GROUP
seealso:
  - module: konnect.devportal.api_publication
"""

EXAMPLES = r"""
- name: Every version of the orders API
  konnect.devportal.api_info:
    name: orders
  register: orders

- name: The APIs an inventory publishes, to check that each exists
  konnect.devportal.api_info:
    names: "{{ publications | map(attribute='api') | unique }}"
    query: "[].{name: name, version: version}"
  register: known_apis

- name: Where orders v1 is published
  konnect.devportal.api_info:
    name: orders
    api_version: v1
    query: "[0].portals[].name"
  register: portals
"""

RETURN = r"""
apis:
  description: The APIs as Konnect returns them; empty when nothing matches.
  returned: always
  type: list
  elements: dict
  sample:
    - id: 9f5061ce-78f6-4452-9108-ad7c02821fd5
      name: orders
      version: v1
      slug: orders-v1
      description: Orders API
      portals:
        - id: 7710d5c4-d902-410b-992f-18b814155b53
          name: developer-portal
          display_name: Developer Portal
      labels: {}
      created_at: "2026-01-01T00:00:00.000Z"
      updated_at: "2026-01-01T00:00:00.000Z"
query_result:
  description: The value of O(query) applied to RV(apis).
  returned: when O(query) is given
  type: raw
"""

from ansible_collections.konnect.devportal.plugins.module_utils.konnect import KonnectModule, eq, info_result, lookup


def main():
    module = KonnectModule(
        argument_spec=dict(
            name=dict(type="str"),
            names=dict(type="list", elements="str"),
            api_version=dict(type="str"),
            query=dict(type="str"),
        ),
        mutually_exclusive=[("name", "names")],
        supports_check_mode=True,
    )
    p = module.params
    version = p["api_version"]
    with module.failures():
        if p["names"] is not None:
            by_id, by_name = module.client.list_refs("api", p["names"])
            found = dict((a["id"], a) for a in list(by_id.values()) + [a for m in by_name.values() for a in m])
            items = sorted(found.values(), key=lambda a: (a.get("name") or "", a.get("version") or ""))
        else:
            items = lookup(module.client, "api", p["name"], eq("version", version) if version else None)
        items = [a for a in items if not version or a.get("version") == version]
        module.exit_json(**info_result(module, "apis", items))


if __name__ == "__main__":
    main()
