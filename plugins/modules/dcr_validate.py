#!/usr/bin/python
# Copyright: (c) 2026, konnect.devportal contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: dcr_validate
short_description: Prove that Konnect Dev Portal DCR with Entra ID works, end to end
version_added: 0.1.0
description:
  - Runs the checks that show a Kong Konnect Dev Portal Dynamic Client Registration (DCR) setup
    with Microsoft Entra ID works, and fails, naming each failed check, when one does not.
    Every check is returned with C(ok) and a one-line C(detail).
  - C(provider_issuer) - the DCR provider's issuer is the v1 issuer
    C(https://sts.windows.net/<tenant id>) (no trailing slash), of the tenant O(tenant_id) when set.
  - C(provider_verify) - Konnect's own verification of the provider
    (C(POST /v2/dcr-providers/{id}/verify)), which signs in with the initial client secret Konnect
    holds - a wrong or expired secret there fails this check.
  - C(auth_strategy) and C(credential_claim) (with O(auth_strategy)) - the strategy uses this
    provider and its issuer, and its C(credential_claim) is C([appid]), the v1 claim carrying the
    client id.
  - C(initial_client_token) (with O(initial_client_secret)) - a v1 access token for the provider's
    initial client, whose claims are checked (C(ver) C(1.0), C(iss) exactly
    C(https://sts.windows.net/<tid>/), C(appid) the client id, C(tid), C(aud)) and whose signature is
    checked against the tenant's signing keys (the C(jwks_uri) of its v1 metadata).
  - C(admin_consent) - the initial client's service principal holds admin consent for Microsoft Graph
    C(Application.ReadWrite.OwnedBy) (application) and C(User.Read) (delegated), read through Graph
    when the automation identity is configured (O(client_id) and a credential); otherwise judged from
    the C(roles) claim of the initial client's token (application permission only).
  - C(developer_round_trip) (with O(developer), O(portal) and O(auth_strategy)) - what a developer
    does - log in to the portal (at its Konnect domain), create an application with the DCR
    strategy (Konnect then creates its Entra ID app), get a v1 token for the new client id whose
    C(appid) is that client id, and delete the application again.
  - Tokens are requested the way Konnect's Azure DCR needs them - a C(POST) to the B(v1) endpoint
    C(<authority_host>/<tenant>/oauth2/token) with C(resource). Kong's how-to shows
    C(curl --request GET) with C(scope=https://graph.microsoft.com/.default); real Entra ID refuses a
    GET (AADSTS900561), and the v1 endpoint ignores C(scope), so the token's audience would be Azure AD
    Graph instead of Microsoft Graph.
  - The module is in both action groups, C(konnect.devportal.konnect) and C(konnect.devportal.azure),
    so C(module_defaults) of either sets its connection options.
author:
  - konnect.devportal contributors (@konnect-devportal)
options:
  dcr_provider:
    description: The DCR provider, by name or id.
    type: str
    required: true
  auth_strategy:
    description:
      - The application auth strategy (DCR) that uses the provider, by name or id.
      - Needed for the C(auth_strategy), C(credential_claim) and C(developer_round_trip) checks.
    type: str
  initial_client_secret:
    description:
      - The initial client's secret, as given to the DCR provider (Konnect never returns it), for
        the C(initial_client_token) check.
    type: str
  resource:
    description: The resource of the v1 tokens (their audience).
    type: str
    default: https://graph.microsoft.com
  portal:
    description: The Dev Portal of the developer round trip, by name or id.
    type: str
  developer:
    description:
      - A developer account of O(portal), for the C(developer_round_trip) check.
      - The application it creates is deleted again, also when a step fails.
    type: dict
    suboptions:
      email:
        description: The developer's login (email).
        type: str
        required: true
      password:
        description: The developer's password.
        type: str
        required: true
  application_name:
    description:
      - The name of the developer application the round trip creates (and deletes).
      - Default - C(dcr-validate-) and a random suffix.
    type: str
extends_documentation_fragment:
  - konnect.devportal.konnect
  - konnect.devportal.azure
attributes:
  check_mode:
    support: partial
    description: Runs every check that changes nothing.
    details: In check mode the developer round trip, which creates and deletes an application, is skipped.
  diff_mode:
    support: none
    description: Nothing is changed, so there is no diff.
  action_group:
    support: full
    description:
      - Use C(group/konnect.devportal.konnect) or C(group/konnect.devportal.azure) in C(module_defaults)
        to set the connection options once.
    membership:
      - konnect.devportal.azure
      - konnect.devportal.konnect
notes:
  - The client secrets of the initial client and of the round trip's application are never
    returned or logged.
  - Konnect's connection options are O(konnect_token), O(konnect_region) and O(konnect_url); the
    Azure ones name the automation identity (used only for the C(admin_consent) check) and the
    sign-in host O(authority_host). The tenant comes from O(tenant_id), else from the provider's issuer.
  - New credentials and consent can take a moment to work everywhere in Entra ID. For up to
    O(replication_timeout) seconds, token requests answered with AADSTS700016 or AADSTS7000215 are
    retried, Konnect's verification is repeated while it fails that way (an unknown secret or app),
    and the consent is read again while it looks missing. A check that passes only after waiting
    says so in its C(detail); a real misconfiguration of this kind fails after that time.
seealso:
  - module: konnect.devportal.dcr_provider
  - module: konnect.devportal.auth_strategy
  - module: konnect.devportal.azure_app_registration
  - name: Konnect Dev Portal DCR with Azure AD (Kong's how-to)
    description: The manual flow this module checks.
    link: https://developer.konghq.com/how-to/azure-ad-dcr/
"""

EXAMPLES = r"""
- name: Validate the DCR setup, including a developer round trip
  konnect.devportal.dcr_validate:
    dcr_provider: azure-dcr
    auth_strategy: azure-dcr
    initial_client_secret: "{{ dcr_secret.secret | default(omit) }}"
    portal: developer-portal
    developer:
      email: dev@example.com
      password: "{{ vault_developer_password }}"
  register: validation

- name: Only what Konnect and Entra ID can tell without secrets
  konnect.devportal.dcr_validate:
    dcr_provider: azure-dcr
    auth_strategy: azure-dcr
"""

RETURN = r"""
checks:
  description: Every check that ran, in order.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description:
        - C(provider_issuer), C(provider_verify), C(auth_strategy), C(credential_claim),
          C(initial_client_token), C(admin_consent) or C(developer_round_trip).
      type: str
    ok:
      description: Whether the check passed.
      type: bool
    detail:
      description: What was found, in one line.
      type: str
  sample:
    - {name: provider_verify, ok: true, detail: Konnect verified the provider}
    - {name: credential_claim, ok: false, detail: "credential_claim is ['client_id'], not ['appid']"}
skipped_checks:
  description: Checks that did not run, with why.
  returned: always
  type: list
  elements: str
  sample: ["developer_round_trip: no developer given"]
initial_client_id:
  description: The client id of the provider's initial client.
  returned: always
  type: str
tenant_id:
  description: The tenant the checks ran against.
  returned: always
  type: str
"""

import contextlib
import re
import time
import uuid

from ansible_collections.konnect.devportal.plugins.module_utils.entra import (
    find_service_principal,
    grant_scopes,
    load_api,
    permission_table,
    read_consent,
)
from ansible_collections.konnect.devportal.plugins.module_utils.graph import (
    GRAPH_APP_ID,
    AzureModule,
    InputError,
    https_url,
)
from ansible_collections.konnect.devportal.plugins.module_utils.http_client import ApiError, HttpClient, poll
from ansible_collections.konnect.devportal.plugins.module_utils.konnect import (
    AZURE_ISSUER_RE,
    KonnectClient,
    check_azure_issuer,
    describe_konnect_error,
    konnect_argument_spec,
    konnect_base_url,
    portal_url,
)
from ansible_collections.konnect.devportal.plugins.module_utils.tokens import TokenError, validate_v1_client

OWNED_BY = "Application.ReadWrite.OwnedBy"
USER_READ = "User.Read"
COOKIE_RE = re.compile(r"portalaccesstoken=([^;,\s]+)")
# how Entra ID answers for a secret or app it has not replicated yet (AADSTS7000215, AADSTS700016)
REPLICATION_SIGNS = ("AADSTS7000215", "AADSTS700016", "invalid client secret", "was not found in the directory")


class Checks:
    """The checks run so far: each ``{name, ok, detail}``, and the skipped ones with why."""

    def __init__(self):
        self.results = []
        self.skipped = []

    def add(self, name, ok, detail):
        self.results.append({"name": name, "ok": bool(ok), "detail": detail})

    def skip(self, name, why):
        self.skipped.append("%s: %s" % (name, why))

    @contextlib.contextmanager
    def run(self, name, ok_detail):
        """Record NAME as passed with OK_DETAIL, or failed with the error's one line.

        The block may append remarks to the list it gets; they follow OK_DETAIL.
        """
        remarks = []
        try:
            yield remarks
        except (ApiError, InputError, TokenError) as exc:
            self.add(name, False, str(exc))
        else:
            self.add(name, True, " ".join([ok_detail] + ["(%s)" % r for r in remarks]).strip())

    def failed(self):
        return [c for c in self.results if not c["ok"]]


def main():
    spec = konnect_argument_spec()
    spec.update(
        dcr_provider=dict(type="str", required=True),
        auth_strategy=dict(type="str"),
        initial_client_secret=dict(type="str", no_log=True),
        resource=dict(type="str", default="https://graph.microsoft.com"),
        portal=dict(type="str"),
        developer=dict(
            type="dict",
            options=dict(email=dict(type="str", required=True), password=dict(type="str", required=True, no_log=True)),
        ),
        application_name=dict(type="str"),
    )
    module = AzureModule(
        argument_spec=spec,
        required_by={"developer": ["portal", "auth_strategy"]},
        supports_check_mode=True,
    )
    if not module.params["konnect_token"]:
        module.fail_json(msg="konnect_token is required: set it, or the KONNECT_TOKEN (or KONNECT_SPAT) variable")
    result = None
    with module.failures():
        result = validate(module)
    failed = [c["name"] for c in result["checks"] if not c["ok"]]
    if failed:
        details = "; ".join("%s: %s" % (c["name"], c["detail"]) for c in result["checks"] if not c["ok"])
        module.fail_json(msg="DCR validation failed (%s): %s" % (", ".join(failed), details), **result)
    module.exit_json(changed=False, **result)


def validate(module):
    p = module.params
    konnect = KonnectClient(
        konnect_base_url(p), p["konnect_token"], validate_certs=p["validate_certs"], ca_path=p["ca_path"]
    )
    entra = HttpClient(
        https_url(p["authority_host"], "authority_host"), validate_certs=p["validate_certs"], ca_path=p["ca_path"]
    )
    checks = Checks()
    provider = konnect.find_one("dcr_provider", p["dcr_provider"])
    if provider is None:
        raise InputError(
            "DCR provider %r not found in Konnect: check the name (or id) and the region" % p["dcr_provider"]
        )
    client_id = (provider.get("dcr_config") or {}).get("initial_client_id")
    tenant_id = check_issuer(checks, provider, p["tenant_id"])

    with checks.run("provider_verify", "Konnect verified the provider") as passed:
        answer, waited = poll(
            lambda: verified(konnect.verify_provider(provider["id"])),
            p["replication_timeout"],
            sleep=time.sleep,
            clock=time.monotonic,
        )
        if answer.get("status") != "success":
            errors = "; ".join(str(e) for e in answer.get("errors") or []) or "no reason given"
            raise InputError(
                "Konnect's verification %s: %s%s"
                % (answer.get("status") or "failed", errors, replication_note(waited, p["replication_timeout"]))
            )
        if waited:
            passed.append("after %ds of Entra ID replication" % round(waited))

    strategy = None
    if p["auth_strategy"]:
        strategy = konnect.find_one("auth_strategy", p["auth_strategy"])
        check_strategy(checks, strategy, provider, p["auth_strategy"])
    else:
        checks.skip("auth_strategy", "no auth_strategy given")
        checks.skip("credential_claim", "no auth_strategy given")

    keys = {}
    claims = None
    if p["initial_client_secret"] and tenant_id and client_id:
        with checks.run("initial_client_token", "v1 token for %s: claims and signature are right" % client_id):
            claims = validate_v1_client(
                entra,
                entra.base_url,
                tenant_id,
                client_id,
                p["initial_client_secret"],
                p["resource"],
                propagation_timeout=p["replication_timeout"],
                keys=keys,
                credential_source="initial_client_secret",
            )
    elif not p["initial_client_secret"]:
        checks.skip("initial_client_token", "no initial_client_secret given")
    else:
        checks.skip("initial_client_token", "the provider names no tenant or initial client")

    if tenant_id and not p["tenant_id"]:
        p["tenant_id"] = tenant_id  # the automation identity signs in to the provider's tenant
    check_consent(module, checks, client_id, claims)

    if not p["developer"]:
        checks.skip("developer_round_trip", "no developer given")
    elif module.check_mode:
        checks.skip("developer_round_trip", "check mode: it would create an application")
    elif strategy and tenant_id:
        round_trip(module, checks, konnect, entra, strategy, tenant_id, keys)
    else:
        checks.skip("developer_round_trip", "the auth strategy or the tenant is unknown")
    return {
        "checks": checks.results,
        "skipped_checks": checks.skipped,
        "initial_client_id": client_id,
        "tenant_id": tenant_id,
    }


def check_issuer(checks, provider, tenant_id):
    """The ``provider_issuer`` check; returns the tenant to use."""
    issuer = provider.get("issuer") or ""
    match = AZURE_ISSUER_RE.match(issuer.rstrip("/"))
    found = match.group(1) if match else None
    with checks.run("provider_issuer", "issuer %s is the v1 issuer of tenant %s" % (issuer, found or tenant_id)):
        check_azure_issuer(issuer, option="the provider's issuer")
        if tenant_id and found and found.lower() != tenant_id.lower():
            raise InputError("the provider's issuer %s names tenant %s, not tenant_id %s" % (issuer, found, tenant_id))
    return tenant_id or found


def check_strategy(checks, strategy, provider, ref):
    if strategy is None:
        checks.add("auth_strategy", False, "auth strategy %r not found in Konnect" % ref)
        checks.skip("credential_claim", "the auth strategy was not found")
        return
    config = (strategy.get("configs") or {}).get("openid-connect") or {}
    with checks.run("auth_strategy", "strategy %s uses provider %s" % (strategy["name"], provider["name"])):
        problems = []
        linked = (strategy.get("dcr_provider") or {}).get("id")
        if linked != provider["id"]:
            problems.append("it uses DCR provider %s, not %s (%s)" % (linked, provider["name"], provider["id"]))
        if (config.get("issuer") or "").rstrip("/") != (provider.get("issuer") or "").rstrip("/"):
            problems.append(
                "its issuer %r differs from the provider's %r" % (config.get("issuer"), provider.get("issuer"))
            )
        if problems:
            raise InputError("auth strategy %s: %s" % (strategy["name"], "; ".join(problems)))
    claim = config.get("credential_claim")
    with checks.run("credential_claim", "credential_claim is ['appid']"):
        if claim != ["appid"]:
            raise InputError(
                "credential_claim is %r, not ['appid'] (the v1 claim holding the client id; Konnect matches "
                "tokens to applications by it)" % (claim,)
            )


def check_consent(module, checks, client_id, claims):
    p = module.params
    automation = bool(p["client_id"]) and bool(
        p["client_secret"] or p["client_certificate_path"] or p["client_certificate_private_key"]
    )
    if not client_id:
        checks.add("admin_consent", False, "the provider has no initial_client_id")
        return
    if automation:
        with checks.run(
            "admin_consent", "%s has admin consent for %s and %s" % (client_id, OWNED_BY, USER_READ)
        ) as passed:
            graph = module.graph
            graph_sp = load_api(graph, GRAPH_APP_ID)
            # consent given seconds ago may not be listed yet
            missing, waited = poll(
                lambda: done_when_empty(missing_consent(graph, graph_sp, client_id)),
                p["replication_timeout"],
                sleep=graph.sleep,
                clock=graph.clock,
            )
            if missing:
                raise InputError(
                    "the initial client %s lacks admin consent for Microsoft Graph %s: grant it "
                    "(azure_app_registration with grant_admin_consent: true)%s"
                    % (client_id, " and ".join(missing), replication_note(waited, p["replication_timeout"]))
                )
            if waited:
                passed.append("after %ds of Entra ID replication" % round(waited))
    elif claims is not None:
        with checks.run("admin_consent", "the token of %s carries the role %s" % (client_id, OWNED_BY)):
            if OWNED_BY not in (claims.get("roles") or []):
                raise InputError(
                    "the token of %s has no %s role: admin consent for this Microsoft Graph application permission "
                    "is missing" % (client_id, OWNED_BY)
                )
    else:
        checks.skip("admin_consent", "neither the automation identity nor initial_client_secret is given")


def verified(answer):
    """Konnect's verify answer, and whether it is final: a failure that reads like a credential
    Entra ID has not replicated yet (unknown secret or app) is not."""
    if answer.get("status") == "success":
        return answer, True
    text = " ".join(str(e) for e in answer.get("errors") or []).lower()
    return answer, not any(sign.lower() in text for sign in REPLICATION_SIGNS)


def done_when_empty(missing):
    return missing, not missing


def replication_note(waited, timeout):
    if not waited:
        return ""
    return (
        " (still so after %ds: Entra ID replicates new credentials and consent within seconds to minutes, "
        "raise replication_timeout (%ds) if they are that new)" % (round(waited), timeout)
    )


def missing_consent(graph, graph_sp, client_id):
    """The Graph permissions Konnect's DCR needs that the client's service principal lacks."""
    sp = find_service_principal(graph, client_id)
    if sp is None:
        return ["%s (application) and %s (delegated) - it has no service principal" % (OWNED_BY, USER_READ)]
    held = read_consent(graph, sp["id"]).get(graph_sp["id"]) or {"roles": {}, "grant": None}
    missing = []
    if permission_table(graph_sp, "Role").get(OWNED_BY) not in held["roles"]:
        missing.append("%s (application)" % OWNED_BY)
    if USER_READ not in grant_scopes(held["grant"]):
        missing.append("%s (delegated)" % USER_READ)
    return missing


def round_trip(module, checks, konnect, entra, strategy, tenant_id, keys):
    """Log in as the developer, create a DCR application, get a token for it, delete it."""
    p = module.params
    name = p["application_name"] or "dcr-validate-%s" % uuid.uuid4().hex[:8]
    steps = []
    with checks.run("developer_round_trip", ""):
        portal = konnect.find_one("portal", p["portal"])
        if portal is None:
            raise InputError("portal %r not found in Konnect" % p["portal"])
        base = portal_url(portal)
        steps.append("portal %s" % base)
        dev = HttpClient(
            base, validate_certs=p["validate_certs"], ca_path=p["ca_path"], describe_error=describe_konnect_error
        )
        login = dev.request(
            "POST",
            "/api/v3/developer/authenticate",
            json={"username": p["developer"]["email"], "password": p["developer"]["password"]},
            expect=(200, 204),
            retry_lost=True,  # a login changes nothing
        )
        match = COOKIE_RE.search(login.headers.get("Set-Cookie") or "")
        if not match:
            raise InputError("the portal's login set no portalaccesstoken cookie")
        module.no_log_values.add(match.group(1))
        dev.session.headers["Cookie"] = "portalaccesstoken=%s" % match.group(1)
        steps.append("logged in")
        body = {"name": name, "auth_strategy_id": strategy["id"], "description": "konnect.devportal.dcr_validate"}
        app = dev.request("POST", "/api/v3/applications", json=body, expect=(200, 201), retry_lost=False).json()
        secret = app.get("client_secret")
        if secret:
            module.no_log_values.add(secret)
        steps.append("application %s created with client id %s" % (app.get("id"), app.get("client_id")))
        error = None
        try:
            if not app.get("client_id") or not secret:
                raise InputError("the portal returned no client_id/client_secret for the DCR application")
            claims = validate_v1_client(
                entra,
                entra.base_url,
                tenant_id,
                app["client_id"],
                secret,
                p["resource"],
                propagation_timeout=p["replication_timeout"],
                keys=keys,
                credential_source="the secret the portal returned",
            )
            steps.append("v1 token with appid %s" % claims["appid"])
        except (ApiError, InputError, TokenError) as exc:
            error = exc
        # always clean up, and say so when that fails too
        try:
            dev.request("DELETE", "/api/v3/applications/%s" % app["id"], expect=(204, 404))
            steps.append("application deleted")
        except ApiError as exc:
            steps.append("application %s NOT deleted: %s" % (app["id"], exc))
            error = error or exc
        if error is not None:
            raise error
    result = checks.results[-1]
    if result["ok"]:
        result["detail"] = "; ".join(steps)
    else:
        result["detail"] = "%s (after: %s)" % (result["detail"], "; ".join(steps) or "nothing")


if __name__ == "__main__":
    main()
