# Copyright: (c) 2026, konnect.devportal contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Compare what the user asked for with what the API holds, and describe it.

FOR INTERNAL COLLECTION USE ONLY: this API may change without notice.

Only the keys the user set take part (netbox style): an option left out is
never drift. Secrets are masked in every diff.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy

MASK = "********"
ABSENT = {"state": "absent"}


def prune_unset(value):
    """Drop ``None`` values recursively: they are options the user did not set."""
    if isinstance(value, dict):
        return dict((k, prune_unset(v)) for k, v in value.items() if v is not None)
    if isinstance(value, list):
        return [prune_unset(v) for v in value]
    return value


def changes(current, desired):
    """The part of ``desired`` that differs from ``current``.

    Dicts are compared key by key, recursively, over the desired keys only;
    anything else (lists included) must be equal as a whole. Returns ``{}``
    when nothing differs.
    """
    out = {}
    current = current or {}
    for key, want in desired.items():
        have = current.get(key)
        if isinstance(want, dict) and isinstance(have, dict):
            sub = changes(have, want)
            if sub:
                out[key] = sub
        elif want != have:
            out[key] = copy.deepcopy(want)
    return out


def subset(current, desired):
    """``current`` restricted to the keys (recursively) present in ``desired``."""
    out = {}
    current = current or {}
    for key, want in desired.items():
        have = current.get(key)
        if isinstance(want, dict) and isinstance(have, dict):
            out[key] = subset(have, want)
        else:
            out[key] = copy.deepcopy(have)
    return out


def merge(base, patch):
    """``base`` with ``patch`` applied recursively (a copy)."""
    out = copy.deepcopy(base or {})
    for key, value in patch.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def mask(value, secret_paths):
    """A copy of ``value`` with each dotted path in ``secret_paths`` masked."""
    out = copy.deepcopy(value)
    for path in secret_paths:
        node = out
        keys = path.split(".")
        for key in keys[:-1]:
            node = node.get(key) if isinstance(node, dict) else None
            if node is None:
                break
        if isinstance(node, dict) and node.get(keys[-1]) is not None:
            node[keys[-1]] = MASK
    return out


def diff(before, after, secret_paths=()):
    """An Ansible ``diff`` dict; ``None`` for either side means absent."""
    return {
        "before": mask(before, secret_paths) if before is not None else dict(ABSENT),
        "after": mask(after, secret_paths) if after is not None else dict(ABSENT),
    }
