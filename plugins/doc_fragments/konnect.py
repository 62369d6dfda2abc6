# Copyright: (c) 2026, konnect.devportal contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    """The Konnect connection options every Konnect module takes."""

    DOCUMENTATION = r"""
options:
  konnect_token:
    description:
      - A Konnect personal access token (C(kpat_...)) or system account token (C(spat_...)),
        sent as a C(Bearer) token in the C(Authorization) header.
      - Required. Precedence, first set wins - this option, then the E(KONNECT_TOKEN)
        environment variable, then E(KONNECT_SPAT).
      - The account needs the Konnect roles for what the task does (DCR Provider Creator,
        API Creator, API Publisher, Portal Creator...).
    type: str
  konnect_region:
    description:
      - The Konnect geo that holds the portals, APIs, auth strategies and DCR providers;
        the API base URL is C(https://<region>.api.konghq.com).
      - Precedence - this option, then the E(KONNECT_REGION) environment variable, then V(us).
      - Ignored when O(konnect_url) (or E(KONNECT_SERVER_URL)) is set.
    type: str
    choices: [us, eu, au, me, in, sg]
    default: us
  konnect_url:
    description:
      - The Konnect API base URL, without the version prefix (for example
        V(https://eu.api.konghq.com), or a test server). Overrides O(konnect_region).
      - Precedence - this option, then the E(KONNECT_SERVER_URL) environment variable
        (which the collection's AWX "Kong Konnect" credential type injects), then the URL
        of O(konnect_region).
    type: str
  validate_certs:
    description:
      - Verify the TLS certificate of the Konnect API.
      - V(false) is insecure (the token can be read on the network path) and makes the
        module warn; prefer O(ca_path) for a private CA.
    type: bool
    default: true
  ca_path:
    description:
      - A PEM file (or directory) of CA certificates to trust instead of the system trust
        store.
      - Precedence - this option, then the E(REQUESTS_CA_BUNDLE) environment variable,
        then the system trust store.
    type: path
requirements:
  - requests >= 2.28
notes:
  - Requests are retried with backoff on HTTP 429 (honouring C(Retry-After) and
    C(ratelimit-reset)), 5xx and connection errors, never on other 4xx. A create whose
    reply is lost is not sent again blindly - the module first looks the object up by
    name.
  - The modules run on the controller; delegate them to localhost or use a local
    connection.
"""
