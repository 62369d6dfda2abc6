# Copyright: (c) 2026, konnect.devportal contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    """The ``query`` option every _info module takes."""

    DOCUMENTATION = r"""
options:
  query:
    description:
      - A JMESPath expression (the query language of C(az ... --query)) applied to the list
        of objects the module returns; its value is returned as RV(query_result).
      - Needs the C(jmespath) Python library.
    type: str
"""
