# Copyright: (c) 2026, konnect.devportal contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    """The ``attributes`` every module of the collection shares."""

    # A module that changes objects: full check mode and diff.
    DOCUMENTATION = r"""
options: {}
attributes:
  check_mode:
    support: full
    description: Computes the same plan without writing and reports C(changed) truthfully.
  diff_mode:
    support: full
    description: Shows before and after of the fields the user set; secrets are masked.
"""

    # A module that only reads.
    INFO_MODULE = r"""
options: {}
attributes:
  check_mode:
    support: full
    description: This module only reads, so it runs the same in check mode.
  diff_mode:
    support: none
    description: Nothing changes, so there is no diff.
"""

    KONNECT_GROUP = r"""
options: {}
attributes:
  action_group:
    support: full
    description: Use C(group/konnect.devportal.konnect) in C(module_defaults) to set the connection options once.
    membership:
      - konnect.devportal.konnect
"""

    AZURE_GROUP = r"""
options: {}
attributes:
  action_group:
    support: full
    description: Use C(group/konnect.devportal.azure) in C(module_defaults) to set the connection options once.
    membership:
      - konnect.devportal.azure
"""
