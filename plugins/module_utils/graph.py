# Copyright: (c) 2026, konnect.devportal contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Microsoft Graph client and the base of every Azure module.

FOR INTERNAL COLLECTION USE ONLY: this API may change without notice.

- ``azure_argument_spec()``: the shared Azure connection options and their
  environment fallbacks (AWX's "Microsoft Azure Resource Manager" credential
  names first).
- ``GraphClient``: one MSAL ``ConfidentialClientApplication`` and one token per
  module run, all HTTP (MSAL's included) on one ``requests`` session with the
  collection's TLS trust and retry policy (``http.HttpClient``), bounded
  retries of Graph's replication errors right after a create,
  ``@odata.nextLink`` paging, and one-line errors naming the Graph error code,
  the request id and what to do.
- ``AzureModule``: an ``AnsibleModule`` with those options and a lazy client.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import datetime
import email.utils
import json
import time
import traceback
from urllib.parse import urlsplit

from ansible.module_utils.basic import env_fallback, missing_required_lib

from ansible_collections.konnect.devportal.plugins.module_utils.common import BaseModule, InputError, one_line
from ansible_collections.konnect.devportal.plugins.module_utils.http_client import (
    HAS_REQUESTS,
    REQUESTS_IMPORT_ERROR,
    RETRY_STATUSES,
    ApiError,
    HttpClient,
    ResponseLost,
    requests,
)

try:
    import msal
    import msal.exceptions
    from msal.authority import WELL_KNOWN_AUTHORITY_HOSTS

    HAS_MSAL = True
    MSAL_IMPORT_ERROR = None
except ImportError:  # pragma: no cover - reported when a token is needed
    msal = None
    WELL_KNOWN_AUTHORITY_HOSTS = frozenset()
    HAS_MSAL = False
    MSAL_IMPORT_ERROR = traceback.format_exc()

DEFAULT_AUTHORITY_HOST = "https://login.microsoftonline.com"
DEFAULT_GRAPH_URL = "https://graph.microsoft.com"
GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000"

# The Graph application permissions each kind of call needs (least privileged first).
READ_APPS = "Application.Read.All (or Application.ReadWrite.All)"
WRITE_APPS = "Application.ReadWrite.All (or Application.ReadWrite.OwnedBy for apps it owns)"
ASSIGN_APP_ROLES = "AppRoleAssignment.ReadWrite.All"
GRANT_DELEGATED = "DelegatedPermissionGrant.ReadWrite.All"
READ_GRANTS = "DelegatedPermissionGrant.ReadWrite.All (or Directory.Read.All)"

# Messages Graph answers while a just-created object is not yet replicated
# (terraform-provider-azuread retries on the same texts; Graph has no code for them).
REPLICATION_MESSAGES = (
    "does not reference a valid application object",
    "backing application of the service principal being created must in the local tenant",
    "not a valid reference update",
    "does not exist or one of its queried reference-property objects are not present",
)

# Sign-in errors worth a hint (AADSTS code -> what to do); {secret} names where the secret came from.
SIGN_IN_HINTS = {
    7000215: "the client secret is wrong: check {secret}",
    7000222: "the client secret has expired: create a new one and update {secret}",
    700016: "no app with this client id exists in the tenant: check the client id and the tenant",
    90002: "the tenant was not found: check tenant_id (AZURE_TENANT)",
    700027: "the certificate assertion was rejected: check the certificate and its thumbprint",
    7000218: "no credential was sent: set client_secret or a client certificate",
}
AUTOMATION_CREDENTIAL = "client_secret (AZURE_SECRET)"


# -- connection options -----------------------------------------------------------


def azure_argument_spec():
    """The shared Azure connection options; env fallbacks exactly as DESIGN.md's table."""
    return dict(
        tenant_id=dict(type="str", fallback=(env_fallback, ["AZURE_TENANT", "AZURE_TENANT_ID"])),
        client_id=dict(type="str", fallback=(env_fallback, ["AZURE_CLIENT_ID"])),
        client_secret=dict(type="str", no_log=True, fallback=(env_fallback, ["AZURE_SECRET", "AZURE_CLIENT_SECRET"])),
        client_certificate_path=dict(type="path", fallback=(env_fallback, ["AZURE_CLIENT_CERTIFICATE_PATH"])),
        client_certificate_private_key=dict(type="str", no_log=True),
        client_certificate_thumbprint=dict(type="str"),
        client_certificate_password=dict(
            type="str", no_log=True, fallback=(env_fallback, ["AZURE_CLIENT_CERTIFICATE_PASSWORD"])
        ),
        authority_host=dict(
            type="str", default=DEFAULT_AUTHORITY_HOST, fallback=(env_fallback, ["AZURE_AUTHORITY_HOST"])
        ),
        graph_url=dict(type="str", default=DEFAULT_GRAPH_URL, fallback=(env_fallback, ["AZURE_GRAPH_URL"])),
        validate_certs=dict(type="bool", default=True),
        ca_path=dict(type="path", fallback=(env_fallback, ["REQUESTS_CA_BUNDLE"])),
        replication_timeout=dict(type="int", default=60),
    )


AZURE_REQUIRED_TOGETHER = [["client_certificate_private_key", "client_certificate_thumbprint"]]


def https_url(value, option):
    """VALUE as an ``https://host[:port]`` base URL; a bare host gets ``https://``."""
    value = (value or "").strip().rstrip("/")
    if "://" not in value:
        value = "https://" + value
    if not value.startswith("https://") or not urlsplit(value).hostname:
        raise InputError("%s must be an https URL such as https://login.microsoftonline.com, got %r" % (option, value))
    return value


def client_credential(params):
    """MSAL's ``client_credential``: the certificate when one is set, else the secret."""
    password = params.get("client_certificate_password")
    if params.get("client_certificate_private_key"):
        credential = {
            "private_key": params["client_certificate_private_key"],
            "thumbprint": params["client_certificate_thumbprint"].replace(":", "").lower(),
        }
    elif params.get("client_certificate_path"):
        credential = _certificate_file(params["client_certificate_path"], password)
    elif params.get("client_secret"):
        return params["client_secret"]
    else:
        raise InputError(
            "no Azure credential: set client_secret (or AZURE_SECRET), or client_certificate_path "
            "(or AZURE_CLIENT_CERTIFICATE_PATH), or client_certificate_private_key with its thumbprint"
        )
    if password:
        credential["passphrase"] = password
    return credential


def _certificate_file(path, password):
    """A PEM file holding the private key and its certificate (azure-identity's format)."""
    try:
        with open(path, "rb") as handle:
            pem = handle.read()
    except OSError as exc:
        raise InputError("cannot read client_certificate_path %s: %s" % (path, exc.strerror)) from None
    start = pem.find(b"-----BEGIN CERTIFICATE-----")
    end = pem.find(b"-----END CERTIFICATE-----")
    if start < 0 or end < 0 or b"PRIVATE KEY-----" not in pem:
        raise InputError(
            "client_certificate_path %s must be a PEM file with the private key and the certificate" % path
        )
    certificate = pem[start : end + len(b"-----END CERTIFICATE-----")]
    try:
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes
    except ImportError:
        raise InputError(missing_required_lib("cryptography")) from None
    thumbprint = x509.load_pem_x509_certificate(certificate).fingerprint(hashes.SHA1()).hex()  # noqa: S303
    return {"private_key": pem.decode("ascii"), "thumbprint": thumbprint, "public_certificate": certificate.decode()}


# -- errors ---------------------------------------------------------------------


def describe_graph_error(response):
    """``(code, message, request_id)`` from Graph's ``{"error": {...}}`` body."""
    request_id = response.headers.get("request-id")
    try:
        body = response.json()
    except ValueError:
        return None, one_line(response.text or "")[:200] or response.reason, request_id
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return None, response.reason, request_id
    inner = error.get("innerError") or error.get("innererror") or {}
    request_id = inner.get("request-id") or request_id
    message = one_line(error.get("message") or response.reason)
    return error.get("code"), message, request_id


def is_replication_error(exc, method="GET"):
    """True for the answers Graph gives while a new object is still replicating."""
    if not isinstance(exc, ApiError) or isinstance(exc, ResponseLost):
        return False
    message = (exc.message or "").lower()
    if exc.code == "Directory_ConcurrencyViolation":
        return True
    if exc.status == 404:
        return True
    if exc.status == 409 and method == "PATCH":
        return True
    return exc.status in (400, 403) and any(text in message for text in REPLICATION_MESSAGES)


def is_conflict(exc):
    """Graph's "this already exists" answers (app role assignment 400, grant 409)."""
    if not isinstance(exc, ApiError) or isinstance(exc, ResponseLost):
        return False
    return exc.status == 409 or (exc.status == 400 and "already exists" in (exc.message or "").lower())


def odata_string(value):
    """An OData string literal: quotes doubled."""
    return "'%s'" % value.replace("'", "''")


def parse_time(value):
    """Graph's ISO 8601 timestamp (any number of fraction digits) as an aware datetime."""
    if not value:
        return None
    text = value.strip().replace("Z", "+00:00")
    if "." in text:
        head, rest = text.split(".", 1)
        digits = ""
        while rest and rest[0].isdigit():
            digits, rest = digits + rest[0], rest[1:]
        text = "%s.%s%s" % (head, (digits + "000000")[:6], rest)
    when = datetime.datetime.fromisoformat(text)
    if when.tzinfo is None:
        when = when.replace(tzinfo=datetime.timezone.utc)
    return when


def format_time(when):
    return when.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


# -- the client -----------------------------------------------------------------------


class _MsalTransport:
    """MSAL's ``http_client``: our session (same TLS trust and pool) with our retries and timeout."""

    # every status is handed to MSAL, except the ones HttpClient retries first
    PASS_THROUGH = tuple(s for s in range(100, 600) if s not in RETRY_STATUSES)

    def __init__(self, http):
        self.http = http

    def post(self, url, params=None, data=None, headers=None, **kwargs):
        return self._send("POST", url, params=params, data=data, headers=headers, **kwargs)

    def get(self, url, params=None, headers=None, **kwargs):
        return self._send("GET", url, params=params, headers=headers, **kwargs)

    def _send(self, method, url, **kwargs):
        kwargs = dict((k, v) for k, v in kwargs.items() if v is not None)
        # a token request changes nothing: repeating it after a lost reply is safe
        return self.http.request(method, url, expect=self.PASS_THROUGH, retry_lost=True, **kwargs)

    def close(self):
        """MSAL may close its client; the session belongs to the module run."""


class GraphClient:
    """Microsoft Graph v1.0 with one app-only token, as the automation identity."""

    def __init__(
        self,
        tenant_id,
        client_id,
        credential,
        authority_host=DEFAULT_AUTHORITY_HOST,
        graph_url=DEFAULT_GRAPH_URL,
        validate_certs=True,
        ca_path=None,
        replication_timeout=60,
        http=None,
        sleep=None,
        clock=None,
    ):
        self.tenant_id = tenant_id
        self.client_id = client_id
        self.credential = credential
        self.authority_host = https_url(authority_host, "authority_host")
        self.graph_url = https_url(graph_url, "graph_url")
        self.replication_timeout = replication_timeout
        self.sleep = sleep or time.sleep
        self.clock = clock or time.monotonic
        self.http = http or HttpClient(
            self.graph_url + "/v1.0",
            validate_certs=validate_certs,
            ca_path=ca_path,
            describe_error=describe_graph_error,
            sleep=self.sleep,
        )
        self._token = None
        self.server_date = None

    @property
    def request_count(self):
        return self.http.request_count

    # -- sign-in --------------------------------------------------------------
    def token(self):
        """The app-only Graph token of this run (MSAL client credentials, v2 endpoint)."""
        if self._token is None:
            self._token = self._acquire_token()
        return self._token

    def _acquire_token(self):
        if not HAS_MSAL:
            raise InputError(missing_required_lib("msal"))
        if not self.tenant_id or not self.client_id:
            raise InputError(
                "tenant_id and client_id of the automation identity are required: set them, "
                "or AZURE_TENANT and AZURE_CLIENT_ID"
            )
        authority = "%s/%s" % (self.authority_host, self.tenant_id)
        host = urlsplit(self.authority_host).hostname
        try:
            app = msal.ConfidentialClientApplication(
                self.client_id,
                client_credential=self.credential,
                authority=authority,
                http_client=_MsalTransport(self.http),
                # only Microsoft's own hosts can be validated against Microsoft's instance list
                instance_discovery=None if host in WELL_KNOWN_AUTHORITY_HOSTS else False,
                # never let MSAL_FORCE_REGION send the token request to another host
                azure_region=False,
            )
            # Graph's appId names it in every cloud, whatever URL graph_url uses
            result = app.acquire_token_for_client(scopes=[GRAPH_APP_ID + "/.default"])
        except ApiError:
            raise
        except ValueError as exc:
            raise InputError(
                "Cannot sign in at %s: %s. Check authority_host and tenant_id (or AZURE_AUTHORITY_HOST and "
                "AZURE_TENANT): the tenant must be your Directory (tenant) ID" % (authority, _first_line(exc))
            ) from None
        except (RuntimeError, requests.RequestException, msal.exceptions.MsalError) as exc:
            # MSAL raises on a 5xx answer from the token endpoint
            raise ApiError("Sign-in at %s failed: %s. Try again later" % (authority, _first_line(exc))) from None
        if "access_token" not in result:
            raise ApiError(sign_in_error(result, self.client_id, authority))
        return result["access_token"]

    def caller(self):
        """Who the automation identity is, from the claims of this run's token (no request).

        Read, never trusted for access: Graph checks the token itself. The
        claims tell a preflight which application permissions were consented.
        """
        claims = _jwt_claims(self.token())
        return {
            "client_id": claims.get("appid") or claims.get("azp") or self.client_id,
            "tenant_id": claims.get("tid") or self.tenant_id,
            "object_id": claims.get("oid"),
            "roles": sorted(claims.get("roles") or []),
        }

    # -- requests ---------------------------------------------------------------
    def request(
        self,
        method,
        path,
        body=None,
        params=None,
        expect=(200,),
        headers=None,
        needs=None,
        fresh=False,
        retry_lost=None,
    ):
        """Send one Graph request; the ``requests.Response``.

        ``needs``: the Graph permission this call requires, named in a 403.
        ``fresh``: the call involves an object created moments ago, so
        Graph's replication errors are retried (with backoff) for up to
        ``replication_timeout`` seconds.
        """
        send_headers = {"Authorization": "Bearer %s" % self.token()}
        send_headers.update(headers or {})
        deadline = self.clock() + self.replication_timeout
        attempt = 0
        while True:
            attempt += 1
            try:
                response = self.http.request(
                    method, path, expect=expect, params=params, json=body, headers=send_headers, retry_lost=retry_lost
                )
            except ResponseLost:
                raise
            except ApiError as exc:
                if fresh and is_replication_error(exc, method) and self.clock() < deadline:
                    self.sleep(min(max(0.0, deadline - self.clock()), 0.5 * (2 ** min(attempt - 1, 4))))
                    continue
                raise self._explain(exc, needs) from None
            self._note_date(response)
            return response

    def get(self, path, params=None, needs=READ_APPS, fresh=False, missing_ok=True):
        """The object at PATH, or None when Graph answers 404 (and ``missing_ok``)."""
        expect = (200, 404) if missing_ok and not fresh else (200,)
        response = self.request("GET", path, params=params, expect=expect, needs=needs, fresh=fresh)
        return None if response.status_code == 404 else response.json()

    def list(self, path, params=None, needs=READ_APPS, headers=None, fresh=False):
        """Every item of a collection, following ``@odata.nextLink`` until it is absent.

        ``fresh``: the collection belongs to an object created moments ago (a new service
        principal's appRoleAssignments), so a 404 while it replicates is waited out.
        """
        items = []
        next_path, next_params = path, params
        while next_path:
            body = self.request("GET", next_path, params=next_params, needs=needs, headers=headers, fresh=fresh).json()
            items.extend(body.get("value") or [])
            next_path, next_params = body.get("@odata.nextLink"), None
        return items

    def post(self, path, body, expect=(201,), needs=WRITE_APPS, fresh=False):
        """POST; raises ``ResponseLost`` when the reply was lost, so the caller re-reads first."""
        response = self.request("POST", path, body=body, expect=expect, needs=needs, fresh=fresh, retry_lost=False)
        return response.json() if response.content else None

    def patch(self, path, body, needs=WRITE_APPS, fresh=False, headers=None, expect=(204,)):
        """PATCH with absolute values: repeating it after a lost reply is safe."""
        response = self.request(
            "PATCH", path, body=body, expect=expect, needs=needs, fresh=fresh, headers=headers, retry_lost=True
        )
        return response.json() if response.content else None

    def delete(self, path, needs=WRITE_APPS):
        """DELETE; a 404 (already gone, e.g. after a lost reply) is success."""
        self.request("DELETE", path, expect=(204, 404), needs=needs, retry_lost=True)

    def now(self):
        """The directory's time (the ``Date`` of Graph's last reply), else the local clock.

        Secret expiry is judged on the directory's clock, so a skewed
        controller clock rotates neither early nor late.
        """
        return self.server_date or datetime.datetime.now(datetime.timezone.utc)

    def _note_date(self, response):
        value = response.headers.get("Date")
        if value:
            try:
                when = email.utils.parsedate_to_datetime(value)
            except (TypeError, ValueError):
                return
            if when is not None:
                self.server_date = when if when.tzinfo else when.replace(tzinfo=datetime.timezone.utc)

    def _explain(self, exc, needs):
        """The error with what to do, in the same one line."""
        hint = None
        if exc.status == 403 and exc.code == "Authorization_RequestDenied" and needs:
            hint = (
                "The automation identity (client_id %s) lacks the Microsoft Graph application permission %s: "
                "add it to that app registration and grant admin consent" % (self.client_id, needs)
            )
        elif exc.status == 401:
            hint = "Graph rejected the token: check that graph_url is the Graph of authority_host's cloud"
        if hint:
            exc.message = "%s. %s" % (exc.message, hint)
            exc.args = (exc.message,)
        return exc


def _jwt_claims(token):
    """The payload of a JWT, unverified (an empty dict when it is not one)."""
    try:
        payload = token.split(".")[1]
        return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (IndexError, ValueError):
        return {}


def sign_in_error(result, client_id, authority, secret=AUTOMATION_CREDENTIAL):
    """One line from an OAuth error (MSAL's dict or the token endpoint's body): code, ids, what to do."""
    description = _first_line(result.get("error_description") or "")
    text = "Sign-in of client_id %s at %s failed: %s" % (client_id, authority, result.get("error") or "error")
    if description:
        text += " %s" % description
    ids = []
    if result.get("trace_id"):
        ids.append("trace id %s" % result["trace_id"])
    if result.get("correlation_id"):
        ids.append("correlation id %s" % result["correlation_id"])
    if ids:
        text += " (%s)" % ", ".join(ids)
    for code in result.get("error_codes") or []:
        if code in SIGN_IN_HINTS:
            hint = SIGN_IN_HINTS[code].format(secret=secret)
            text += ". " + hint[0].upper() + hint[1:]
            break
    return text


def _first_line(value):
    text = str(value).strip()
    return text.splitlines()[0].strip() if text else ""


# -- the module base ------------------------------------------------------------------


class AzureModule(BaseModule):
    """An ``AnsibleModule`` with the Azure connection options and one Graph client per run."""

    ERRORS = (ApiError, InputError)

    def __init__(self, argument_spec=None, required_together=None, **kwargs):
        spec = azure_argument_spec()
        spec.update(argument_spec or {})
        super(AzureModule, self).__init__(
            argument_spec=spec, required_together=AZURE_REQUIRED_TOGETHER + (required_together or []), **kwargs
        )
        if not HAS_REQUESTS:
            self.fail_json(msg=missing_required_lib("requests"), exception=repr(REQUESTS_IMPORT_ERROR))
        if not self.params["validate_certs"]:
            self.warn(
                "validate_certs=false: TLS certificates of Entra ID and Microsoft Graph are not verified, which is "
                "insecure. Use ca_path to trust a private CA instead."
            )
        if self.params["replication_timeout"] < 0:
            self.fail_json(msg="replication_timeout must be 0 or more seconds")
        self._graph = None

    @property
    def graph(self):
        if self._graph is None:
            if not HAS_MSAL:
                self.fail_json(msg=missing_required_lib("msal"), exception=MSAL_IMPORT_ERROR)
            params = self.params
            self._graph = GraphClient(
                params["tenant_id"],
                params["client_id"],
                client_credential(params),
                authority_host=params["authority_host"],
                graph_url=params["graph_url"],
                validate_certs=params["validate_certs"],
                ca_path=params["ca_path"],
                replication_timeout=params["replication_timeout"],
            )
        return self._graph
