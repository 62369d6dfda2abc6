# Copyright: (c) 2026, konnect.devportal contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    """The Azure connection options every Azure module takes."""

    DOCUMENTATION = r"""
options:
  tenant_id:
    description:
      - The Directory (tenant) ID of the Entra ID tenant to work in (a UUID).
      - Precedence, first set wins - this option, then the E(AZURE_TENANT) environment
        variable (which AWX's "Microsoft Azure Resource Manager" credential injects), then
        E(AZURE_TENANT_ID).
    type: str
  client_id:
    description:
      - The Application (client) ID of the automation identity the module signs in to
        Microsoft Graph as (an app registration with Graph application permissions and admin
        consent; not the app the module manages).
      - Precedence - this option, then the E(AZURE_CLIENT_ID) environment variable.
    type: str
  client_secret:
    description:
      - A client secret of the automation identity.
      - Precedence - this option, then E(AZURE_SECRET) (AWX's name), then
        E(AZURE_CLIENT_SECRET).
      - Ignored when a client certificate is set (O(client_certificate_path) or
        O(client_certificate_private_key)).
    type: str
  client_certificate_path:
    description:
      - A PEM file holding the private key and the certificate of the automation identity,
        as azure-identity reads it; the thumbprint is computed from the certificate.
      - Precedence - this option, then the E(AZURE_CLIENT_CERTIFICATE_PATH) environment
        variable.
    type: path
  client_certificate_private_key:
    description:
      - The PEM private key of the automation identity's certificate, for example from a
        vault. Requires O(client_certificate_thumbprint).
    type: str
  client_certificate_thumbprint:
    description:
      - The SHA-1 thumbprint (hex) of the certificate whose key is
        O(client_certificate_private_key), as Entra ID shows it.
    type: str
  client_certificate_password:
    description:
      - The passphrase of an encrypted private key.
      - Precedence - this option, then the E(AZURE_CLIENT_CERTIFICATE_PASSWORD) environment
        variable.
    type: str
  authority_host:
    description:
      - The Entra ID sign-in host, for example V(https://login.microsoftonline.us) for US
        Government; a bare host name gets C(https://).
      - Precedence - this option, then the E(AZURE_AUTHORITY_HOST) environment variable,
        then V(https://login.microsoftonline.com).
      - MSAL's instance discovery runs only for Microsoft's own hosts, and C(MSAL_FORCE_REGION)
        is ignored, so tokens are always requested from this host.
    type: str
    default: https://login.microsoftonline.com
  graph_url:
    description:
      - The Microsoft Graph endpoint of the same cloud, without C(/v1.0).
      - Precedence - this option, then the E(AZURE_GRAPH_URL) environment variable, then
        V(https://graph.microsoft.com).
    type: str
    default: https://graph.microsoft.com
  validate_certs:
    description:
      - Verify the TLS certificates of Entra ID and Microsoft Graph.
      - V(false) is insecure and makes the module warn; prefer O(ca_path) for a private CA.
    type: bool
    default: true
  ca_path:
    description:
      - A PEM file (or directory) of CA certificates to trust instead of the system trust
        store, for Graph and for the sign-in.
      - Precedence - this option, then the E(REQUESTS_CA_BUNDLE) environment variable, then
        the system trust store.
    type: path
  replication_timeout:
    description:
      - How long, in seconds, to keep retrying when Entra ID has not yet replicated an object
        created moments ago (HTTP 404, or the "does not reference a valid application
        object" kind of answer Graph gives right after a create), with backoff.
      - V(0) retries none.
    type: int
    default: 60
requirements:
  - msal >= 1.24
  - requests >= 2.28
notes:
  - The automation identity signs in with the OAuth 2.0 client credentials flow (MSAL), once
    per task. The Graph permissions it needs are named in each module's description; a
    missing one fails with HTTP 403 C(Authorization_RequestDenied) and the name of the
    permission to add.
  - Requests are retried with backoff on HTTP 429 and 503/504 (honouring C(Retry-After)) and
    on connection errors. A create whose reply is lost is never sent again blindly - the
    module re-reads first, so a retry can't make a duplicate.
  - The modules run on the controller; use C(delegate_to=localhost) or a local connection.
"""
