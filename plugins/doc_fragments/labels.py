# Copyright: (c) 2026, konnect.devportal contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    """The ``labels`` option of the Konnect modules that manage an object."""

    DOCUMENTATION = r"""
options:
  labels:
    description:
      - Labels of the object. When set, its labels become exactly these (labels not listed are
        removed).
      - Konnect's rules are checked before any request - at most 50 labels; keys of 1 to 63
        characters not starting with C(kong), C(konnect), C(mesh), C(kic) or C(_); string values of
        1 to 63 letters, digits, C(-), C(.) or C(_) that begin and end with a letter or digit.
    type: dict
"""
