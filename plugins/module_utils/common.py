# Copyright: (c) 2026, konnect.devportal contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the Konnect and the Azure modules share.

FOR INTERNAL COLLECTION USE ONLY: this API may change without notice.

- ``InputError``: the user's input cannot be carried out.
- ``one_line``: any value as one line of text, for error messages.
- ``apply_query``: JMESPath for the ``query`` option of the _info modules.
- ``BaseModule``: an ``AnsibleModule`` with ``failures()`` (the errors of
  ``ERRORS`` become one-line failures) and ``result()``; ``KonnectModule`` and
  ``AzureModule`` subclass it.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import contextlib
import traceback

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

try:
    import jmespath

    HAS_JMESPATH = True
    JMESPATH_IMPORT_ERROR = None
except ImportError:  # pragma: no cover - reported when a query is given
    jmespath = None
    HAS_JMESPATH = False
    JMESPATH_IMPORT_ERROR = traceback.format_exc()


class InputError(Exception):
    """The user's input cannot be carried out; the message says what to change."""


def one_line(value):
    """VALUE as text with every run of whitespace (newlines too) made one space; None stays None."""
    if value is None:
        return None
    return " ".join(str(value).split())


def apply_query(data, query):
    """DATA filtered by the JMESPath QUERY (as ``az ... --query``), for the _info modules."""
    if not HAS_JMESPATH:
        raise InputError(missing_required_lib("jmespath"))
    try:
        return jmespath.search(query, data)
    except jmespath.exceptions.JMESPathError as exc:
        raise InputError("query %r is not a valid JMESPath expression: %s" % (query, one_line(exc))) from None


class BaseModule(AnsibleModule):
    """An ``AnsibleModule`` that fails in one line on the errors of its service."""

    # the errors ``failures()`` turns into a ``fail_json``; a subclass adds its service's own
    ERRORS = (InputError,)

    @contextlib.contextmanager
    def failures(self):
        """Turn API and input errors into one-line ``fail_json`` messages, without a traceback."""
        message = None
        try:
            yield
        except self.ERRORS as exc:
            message = str(exc)
        if message is not None:
            self.fail_json(msg=message)

    def result(self, changed, diff_value=None, **values):
        """The module result; the diff only with --diff."""
        out = dict(changed=changed, **values)
        if self._diff and diff_value is not None:
            out["diff"] = diff_value
        return out
