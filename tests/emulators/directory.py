"""The tenants' directory, shared by the Entra ID and Microsoft Graph emulators.

Entra reads it to authenticate clients and to put ``roles`` in tokens; Graph
reads and writes it. Both reach the one instance through ``get(world)``
(stored as ``world.directory``), created by whichever service starts first.
The per-run token signing keys live here too, so Graph can verify what
Entra signs.

Objects are kept as their Graph JSON representation. Secrets are kept apart
(``Tenant.secrets``) so no response or state dump can leak them by accident.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import os
import secrets
import string
import time
import uuid

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000"
AAD_GRAPH_APP_ID = "00000002-0000-0000-c000-000000000000"  # aud of v1 tokens asked without resource
MICROSOFT_TENANT_ID = "f8cdef31-a31e-4b4a-93e4-5f571e91255a"  # owner of Microsoft's first-party apps
GRAPH_AUDIENCES = ("https://graph.microsoft.com", "https://graph.microsoft.com/", GRAPH_APP_ID)

# Microsoft Graph application permissions (app roles): value -> (id, display name).
# The IDs are the same in every tenant (research/graph-entra.md section 0).
GRAPH_APP_ROLES = {
    "Application.ReadWrite.OwnedBy": (
        "18a4783c-866b-4cc7-a460-3d5e5662c884",
        "Manage apps that this app creates or owns",
    ),
    "Application.ReadWrite.All": ("1bfefb4e-e0b5-418b-a88f-73c46d2cc8e9", "Read and write all applications"),
    "Application.Read.All": ("9a5d68dd-52b0-4cc2-bd40-abcf44ac3a30", "Read all applications"),
    "AppRoleAssignment.ReadWrite.All": (
        "06b708a9-e830-4db3-a914-8e69da51d44f",
        "Manage app permission grants and app role assignments",
    ),
    "DelegatedPermissionGrant.ReadWrite.All": (
        "8e8e4742-1d95-4f68-9d56-6ee75648c72a",
        "Manage all delegated permission grants",
    ),
    "Directory.Read.All": ("7ab1d382-f21e-4acd-a863-ba3e13f7da61", "Read directory data"),
    "Directory.ReadWrite.All": ("19dbc75e-c2e2-444c-a770-ec69d8559fc7", "Read and write directory data"),
    "User.Read.All": ("df021288-bdef-4463-88db-98f22de89214", "Read all users' full profiles"),
    "Group.Read.All": ("5b567255-7703-4780-807c-7be8301ae99b", "Read all groups"),
}

# Microsoft Graph delegated permissions: value -> (id, type, admin consent display name).
GRAPH_SCOPES = {
    "User.Read": ("e1fe6dd8-ba31-4d61-89e7-88639da4683d", "User", "Sign in and read user profile"),
    "openid": ("37f7f235-527c-4136-accd-4a02d197296e", "User", "Sign users in"),
    "profile": ("14dad69e-099b-42c9-810b-d002981feec1", "User", "View users' basic profile"),
    "email": ("64a6cdd6-aab1-4aaf-94b8-3cc8405e90d0", "User", "View users' email address"),
    "offline_access": (
        "7427e0e9-2fba-42fe-b0c0-848c9e6a8182",
        "User",
        "Maintain access to data you have given it access to",
    ),
    "User.Read.All": ("a154be20-db9c-4678-8ab7-66f6cc099a59", "Admin", "Read all users' full profiles"),
    "Directory.Read.All": ("06da0dbc-49e2-44d2-8312-53f166ab848a", "Admin", "Read directory data"),
    "Application.ReadWrite.All": ("bdfbf15f-ee85-4955-8675-146e8e5296b5", "Admin", "Read and write all applications"),
    "AppRoleAssignment.ReadWrite.All": (
        "84bccea3-f856-4a8a-967b-dbe0a3d53a64",
        "Admin",
        "Manage app permission grants and app role assignments",
    ),
}

GRAPH_SPNS = [
    GRAPH_APP_ID,
    "https://graph.microsoft.com",
    "https://graph.microsoft.com/",
    "https://canary.graph.microsoft.com",
    "00000003-0000-0000-c000-000000000000/ags.windows.net",
]

SEED_NS = uuid.UUID("8b0f3f6e-2f4e-4c55-9a1b-6c1f6f0d7a10")  # seeded objects get stable ids
DEFAULT_PAGE_SIZE = 5
DELETED_RETENTION_DAYS = 30
_SECRET_CHARS = string.ascii_letters + string.digits + "~.-_"


# -- time ----------------------------------------------------------------------------------------
def gtime(ts: float) -> str:
    """Graph's timestamp format: UTC, 7 fractional digits (100 ns ticks), Z."""
    d = dt.datetime.fromtimestamp(ts, dt.timezone.utc)
    return d.strftime("%Y-%m-%dT%H:%M:%S.") + "%07d" % (d.microsecond * 10) + "Z"


def parse_time(value: str) -> float:
    """Epoch seconds of an ISO 8601 timestamp; ValueError when it is not one."""
    d = dt.datetime.fromisoformat(value)
    if d.tzinfo is None:
        d = d.replace(tzinfo=dt.timezone.utc)
    return d.timestamp()


def echo_time(ts: float) -> str:
    """A client-supplied time as Graph echoes it: whole seconds stay whole."""
    d = dt.datetime.fromtimestamp(ts, dt.timezone.utc)
    return gtime(ts) if d.microsecond else d.strftime("%Y-%m-%dT%H:%M:%SZ")


def add_years(ts: float, years: int) -> float:
    d = dt.datetime.fromtimestamp(ts, dt.timezone.utc)
    try:
        return d.replace(year=d.year + years).timestamp()
    except ValueError:  # 29 February
        return d.replace(year=d.year + years, day=28).timestamp()


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


# -- signing keys --------------------------------------------------------------------------------
class SigningKey:
    """An RSA key with a self-signed certificate, as published in Entra's JWKS."""

    def __init__(self):
        self.private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "accounts.accesscontrol.windows.net")])
        now = dt.datetime.now(dt.timezone.utc)
        cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(self.private.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=3650))
            .sign(self.private, hashes.SHA256())
        )
        self.der = cert.public_bytes(serialization.Encoding.DER)
        # Entra's kid is the certificate's SHA-1 thumbprint, base64url, the same as x5t
        self.kid = self.x5t = b64url(hashlib.sha1(self.der).digest())  # noqa: S324 - a thumbprint, not security
        self.pem = self.private.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        self.public = self.private.public_key()

    def jwk(self, issuer: str | None = None) -> dict:
        numbers = self.public.public_numbers()
        key = {
            "kty": "RSA",
            "use": "sig",
            "kid": self.kid,
            "x5t": self.x5t,
            "n": b64url(numbers.n.to_bytes((numbers.n.bit_length() + 7) // 8, "big")),
            "e": b64url(numbers.e.to_bytes(3, "big")),
            "x5c": [base64.b64encode(self.der).decode()],
        }
        if issuer:
            key["issuer"] = issuer
        return key


# -- the directory -------------------------------------------------------------------------------
class Tenant:
    """One Entra tenant's objects."""

    def __init__(self, tid: str, domain: str, display_name: str):
        self.id = tid
        self.domain = domain
        self.display_name = display_name
        self.applications: dict[str, dict] = {}  # object id -> application
        self.service_principals: dict[str, dict] = {}
        self.assignments: dict[str, dict] = {}  # appRoleAssignments
        self.grants: dict[str, dict] = {}  # oauth2PermissionGrants
        self.deleted: dict[str, dict] = {}  # soft-deleted applications and service principals
        self.owners: dict[str, list[str]] = {}  # object id -> owner object ids
        self.secrets: dict[str, str] = {}  # password keyId -> secret text
        self.born: dict[str, float] = {}  # object or keyId -> monotonic creation time (replication)

    # lookups that ignore replication (the write side sees everything)
    def app_by_app_id(self, app_id: str) -> dict | None:
        app_id = (app_id or "").lower()
        return next((a for a in self.applications.values() if a["appId"].lower() == app_id), None)

    def sp_by_app_id(self, app_id: str) -> dict | None:
        app_id = (app_id or "").lower()
        return next((s for s in self.service_principals.values() if s["appId"].lower() == app_id), None)

    def app_by_unique_name(self, name: str) -> dict | None:
        name = name.lower()
        return next((a for a in self.applications.values() if (a.get("uniqueName") or "").lower() == name), None)

    def alive(self, object_id: str) -> dict | None:
        return self.applications.get(object_id) or self.service_principals.get(object_id)


class Directory:
    def __init__(self, world):
        self.world = world
        self.tenants: dict[str, Tenant] = {}
        self.first: dict | None = None  # the first seeded tenant and its automation identity
        self.page_size = int(os.environ.get("GRAPH_EMULATOR_PAGE_SIZE", DEFAULT_PAGE_SIZE))
        # a second, unused key first in the JWKS: clients must pick the key by kid
        self.keys = [SigningKey(), SigningKey()]
        self.signing_key = self.keys[1]
        self.tokens_issued = 0

    # -- tenants and replication ------------------------------------------------------------------
    def tenant(self, ref: str) -> Tenant | None:
        ref = (ref or "").lower()
        if ref in self.tenants:
            return self.tenants[ref]
        return next((t for t in self.tenants.values() if t.domain.lower() == ref), None)

    def visible(self, tenant: Tenant, key: str) -> bool:
        """Replication: objects younger than the consistency delay are not readable yet."""
        born = tenant.born.get(key)
        return born is None or time.monotonic() - born >= self.world.consistency_delay

    def now(self) -> float:
        return self.world.clock.now()

    # -- object factories (shared by Graph's handlers and the seed) -------------------------------
    def new_application(self, tenant: Tenant, display_name: str, object_id=None, app_id=None) -> dict:
        now = self.now()
        app = {
            "id": object_id or str(uuid.uuid4()),
            "deletedDateTime": None,
            "appId": app_id or str(uuid.uuid4()),
            "applicationTemplateId": None,
            "disabledByMicrosoftStatus": None,
            "createdDateTime": gtime(now),
            "displayName": display_name,
            "description": None,
            "groupMembershipClaims": None,
            "identifierUris": [],
            "isDeviceOnlyAuthSupported": None,
            "isFallbackPublicClient": None,
            "notes": None,
            "publisherDomain": tenant.domain,
            "serviceManagementReference": None,
            "signInAudience": "AzureADMyOrg",
            "tags": [],
            "tokenEncryptionKeyId": None,
            "uniqueName": None,
            "samlMetadataUrl": None,
            "defaultRedirectUri": None,
            "addIns": [],
            "api": {
                "acceptMappedClaims": None,
                "knownClientApplications": [],
                "requestedAccessTokenVersion": None,
                "oauth2PermissionScopes": [],
                "preAuthorizedApplications": [],
            },
            "appRoles": [],
            "info": {
                "logoUrl": None,
                "marketingUrl": None,
                "privacyStatementUrl": None,
                "supportUrl": None,
                "termsOfServiceUrl": None,
            },
            "keyCredentials": [],
            "parentalControlSettings": {"countriesBlockedForMinors": [], "legalAgeGroupRule": "Allow"},
            "passwordCredentials": [],
            "publicClient": {"redirectUris": []},
            "requiredResourceAccess": [],
            "verifiedPublisher": {"displayName": None, "verifiedPublisherId": None, "addedDateTime": None},
            "web": {
                "homePageUrl": None,
                "logoutUrl": None,
                "redirectUris": [],
                "implicitGrantSettings": {"enableAccessTokenIssuance": False, "enableIdTokenIssuance": False},
                "redirectUriSettings": [],
            },
            "spa": {"redirectUris": []},
        }
        tenant.applications[app["id"]] = app
        return app

    def new_service_principal(self, tenant: Tenant, app: dict, object_id=None) -> dict:
        sp = {
            "id": object_id or str(uuid.uuid4()),
            "deletedDateTime": None,
            "accountEnabled": True,
            "alternativeNames": [],
            "appDisplayName": app["displayName"],
            "appDescription": app.get("description"),
            "appId": app["appId"],
            "applicationTemplateId": None,
            "appOwnerOrganizationId": tenant.id,
            "appRoleAssignmentRequired": False,
            "description": None,
            "disabledByMicrosoftStatus": None,
            "displayName": app["displayName"],
            "homepage": None,
            "loginUrl": None,
            "logoutUrl": None,
            "notes": None,
            "notificationEmailAddresses": [],
            "preferredSingleSignOnMode": None,
            "preferredTokenSigningKeyThumbprint": None,
            "replyUrls": list(app["web"]["redirectUris"]),
            "servicePrincipalNames": [app["appId"], *app["identifierUris"]],
            "servicePrincipalType": "Application",
            "signInAudience": app["signInAudience"],
            "tags": list(app["tags"]),
            "tokenEncryptionKeyId": None,
            "addIns": [],
            # the app's permissions are published on its service principal
            "appRoles": [dict(r, origin="Application") for r in app["appRoles"]],
            "info": dict(app["info"]),
            "keyCredentials": [],
            "oauth2PermissionScopes": [dict(s, origin="Application") for s in app["api"]["oauth2PermissionScopes"]],
            "passwordCredentials": [],
            "resourceSpecificApplicationPermissions": [],
            "verifiedPublisher": dict(app["verifiedPublisher"]),
        }
        tenant.service_principals[sp["id"]] = sp
        return sp

    def add_password(self, tenant: Tenant, app: dict, display_name=None, start=None, end=None, secret=None) -> dict:
        """A new password credential; the returned copy is the only one with secretText."""
        start = self.now() if start is None else start
        end = add_years(start, 2) if end is None else end
        secret = secret or _new_secret()
        cred = {
            "customKeyIdentifier": None,
            "displayName": display_name,
            "endDateTime": echo_time(end),
            "hint": secret[:3],
            "keyId": str(uuid.uuid4()),
            "secretText": None,
            "startDateTime": echo_time(start),
        }
        app["passwordCredentials"].append(cred)
        tenant.secrets[cred["keyId"]] = secret
        return dict(cred, secretText=secret)

    def assign_role(
        self, tenant: Tenant, principal: dict, resource: dict, app_role_id: str, assignment_id=None
    ) -> dict:
        a = {
            "id": assignment_id or assignment_id_for(principal["id"]),
            "deletedDateTime": None,
            "appRoleId": app_role_id,
            "createdDateTime": gtime(self.now()),
            "principalDisplayName": principal["displayName"],
            "principalId": principal["id"],
            "principalType": "ServicePrincipal",
            "resourceDisplayName": resource["displayName"],
            "resourceId": resource["id"],
        }
        tenant.assignments[a["id"]] = a
        return a

    # -- what Entra needs -------------------------------------------------------------------------
    def check_secret(self, tenant: Tenant, app: dict, secret: str) -> str | None:
        """None when SECRET is a valid password of APP now, else the AADSTS reason."""
        now = self.now()
        for cred in app["passwordCredentials"]:
            stored = tenant.secrets.get(cred["keyId"])
            if stored is None or not hmac.compare_digest(stored.encode(), secret.encode()):
                continue
            if not self.visible(tenant, cred["keyId"]):
                return "invalid"  # a brand-new secret is not replicated yet
            if parse_time(cred["endDateTime"]) <= now:
                return "expired"
            if parse_time(cred["startDateTime"]) > now:
                return "invalid"
            return None
        return "invalid"

    def roles_for(self, tenant: Tenant, client_sp: dict, resource_sp: dict) -> list[str]:
        """The values of the app roles assigned to CLIENT_SP on RESOURCE_SP (the ``roles`` claim)."""
        by_id = {r["id"]: r["value"] for r in resource_sp.get("appRoles", [])}
        out = []
        for a in tenant.assignments.values():
            if a["principalId"] == client_sp["id"] and a["resourceId"] == resource_sp["id"]:
                if self.visible(tenant, a["id"]) and a["appRoleId"] in by_id and by_id[a["appRoleId"]] not in out:
                    out.append(by_id[a["appRoleId"]])
        return out

    def resource_sp(self, tenant: Tenant, resource: str) -> dict | None:
        """The service principal a token's resource names: appId, a servicePrincipalName or an identifier URI."""
        wanted = resource.lower()
        for sp in tenant.service_principals.values():
            names = [sp["appId"], *sp.get("servicePrincipalNames", [])]
            app = tenant.app_by_app_id(sp["appId"])
            if app:
                names += app["identifierUris"]
            if wanted in (n.lower() for n in names) and self.visible(tenant, sp["id"]):
                return sp
        return None

    # -- seed, reset, state -----------------------------------------------------------------------
    def seed(self, data: dict) -> None:
        """Add the ``tenants`` of a seed document; seeding the same data twice changes nothing."""
        if "graph_page_size" in data:
            self.page_size = int(data["graph_page_size"])
        for spec in data.get("tenants", []):
            tid = spec["id"].lower()
            tenant = self.tenants.get(tid)
            if tenant is None:
                domain = spec.get("domain") or "tenant%s.onmicrosoft.com" % tid[:8]
                tenant = self.tenants[tid] = Tenant(tid, domain, spec.get("display_name") or domain.split(".")[0])
                self._seed_graph_sp(tenant)
            identities = ([spec["automation"]] if spec.get("automation") else []) + list(spec.get("extra_apps", []))
            for ident in identities:
                self._seed_identity(tenant, ident)
            if self.first is None and spec.get("automation"):
                self.first = {"tenant_id": tid, **spec["automation"]}

    def _seed_graph_sp(self, tenant: Tenant) -> None:
        sp_id = str(uuid.uuid5(SEED_NS, tenant.id + ":graph-sp"))
        app_roles = [
            {
                "allowedMemberTypes": ["Application"],
                "description": "Allows the app to %s without a signed-in user." % (name[0].lower() + name[1:]),
                "displayName": name,
                "id": rid,
                "isEnabled": True,
                "origin": "Application",
                "value": value,
            }
            for value, (rid, name) in GRAPH_APP_ROLES.items()
        ]
        scopes = [
            {
                "adminConsentDescription": "Allows the app to %s on behalf of the signed-in user." % name.lower(),
                "adminConsentDisplayName": name,
                "id": sid,
                "isEnabled": True,
                "type": kind,
                "userConsentDescription": "Allows the app to %s on your behalf." % name.lower(),
                "userConsentDisplayName": name,
                "value": value,
            }
            for value, (sid, kind, name) in GRAPH_SCOPES.items()
        ]
        pseudo_app = {
            "displayName": "Microsoft Graph",
            "appId": GRAPH_APP_ID,
            "identifierUris": [],
            "signInAudience": "AzureADMultipleOrgs",
            "tags": [],
            "web": {"redirectUris": []},
            "appRoles": [],
            "api": {"oauth2PermissionScopes": []},
            "info": {
                "logoUrl": None,
                "marketingUrl": None,
                "privacyStatementUrl": None,
                "supportUrl": None,
                "termsOfServiceUrl": None,
            },
            "verifiedPublisher": {"displayName": None, "verifiedPublisherId": None, "addedDateTime": None},
        }
        sp = self.new_service_principal(tenant, pseudo_app, object_id=sp_id)
        # Microsoft owns Graph's application object; the tenant only has its service principal
        sp.update(appOwnerOrganizationId=MICROSOFT_TENANT_ID, servicePrincipalNames=list(GRAPH_SPNS))
        sp.update(appRoles=app_roles, oauth2PermissionScopes=scopes)

    def _seed_identity(self, tenant: Tenant, ident: dict) -> None:
        """An app registration with (optionally) its SP, a secret and consented Graph roles."""
        client_id = ident["client_id"].lower()
        app = tenant.app_by_app_id(client_id)
        graph_sp = tenant.sp_by_app_id(GRAPH_APP_ID)
        roles = list(ident.get("roles", []))
        unknown = [r for r in roles if r not in GRAPH_APP_ROLES]
        if unknown:
            raise ValueError("unknown Microsoft Graph application permissions in seed: %s" % unknown)
        if app is None:
            app_oid = str(uuid.uuid5(SEED_NS, "%s:%s:app" % (tenant.id, client_id)))
            app = self.new_application(tenant, ident.get("display_name") or "app-" + client_id[:8], app_oid, client_id)
            app["uniqueName"] = ident.get("unique_name")
            if roles:
                access = [{"id": GRAPH_APP_ROLES[r][0], "type": "Role"} for r in roles]
                app["requiredResourceAccess"] = [{"resourceAppId": GRAPH_APP_ID, "resourceAccess": access}]
        sp = tenant.sp_by_app_id(client_id)
        if sp is None and ident.get("service_principal", True):
            sp = self.new_service_principal(tenant, app, str(uuid.uuid5(SEED_NS, "%s:%s:sp" % (tenant.id, client_id))))
        secret = ident.get("client_secret")
        if secret and secret not in (tenant.secrets.get(c["keyId"]) for c in app["passwordCredentials"]):
            end = parse_time(ident["secret_end"]) if ident.get("secret_end") else None
            self.add_password(tenant, app, ident.get("secret_name", "seeded"), end=end, secret=secret)
        for owner in ident.get("owners", []):
            owner_sp = tenant.sp_by_app_id(owner)
            if owner_sp and owner_sp["id"] not in tenant.owners.setdefault(app["id"], []):
                tenant.owners[app["id"]].append(owner_sp["id"])
        if sp is None:
            return
        for value in roles:
            role_id = GRAPH_APP_ROLES[value][0]
            exists = any(
                a["principalId"] == sp["id"] and a["resourceId"] == graph_sp["id"] and a["appRoleId"] == role_id
                for a in tenant.assignments.values()
            )
            if not exists:
                self.assign_role(tenant, sp, graph_sp, role_id)

    def reset(self) -> None:
        self.tenants.clear()
        self.first = None
        self.page_size = int(os.environ.get("GRAPH_EMULATOR_PAGE_SIZE", DEFAULT_PAGE_SIZE))

    def state(self) -> dict:
        """Every object of every tenant; password credentials never carry secretText."""

        def clean(app):
            return dict(app, passwordCredentials=[_no_secret(c) for c in app["passwordCredentials"]])

        out = {}
        for tid, t in self.tenants.items():
            out[tid] = {
                "domain": t.domain,
                "applications": [clean(a) for a in t.applications.values()],
                "servicePrincipals": list(t.service_principals.values()),
                "appRoleAssignments": list(t.assignments.values()),
                "oauth2PermissionGrants": list(t.grants.values()),
                "deletedItems": [clean(o) if "passwordCredentials" in o else o for o in t.deleted.values()],
                "owners": {k: list(v) for k, v in t.owners.items() if v},
            }
        return out


def _no_secret(cred: dict) -> dict:
    return {k: v for k, v in cred.items() if k != "secretText"}


def _new_secret() -> str:
    """A 40-character secret shaped like Entra's (3 chars, a version marker, then random)."""
    body = "".join(secrets.choice(_SECRET_CHARS) for _ignored in range(34))
    head = "".join(secrets.choice(string.ascii_letters + string.digits) for _ignored in range(3))
    return head + "8Q~" + body


def assignment_id_for(principal_id: str) -> str:
    """Graph's appRoleAssignment ids are opaque base64url strings led by the principal's id."""
    return b64url(uuid.UUID(principal_id).bytes_le + os.urandom(16))


def grant_id_for(client_id: str, resource_id: str, principal_id: str | None) -> str:
    """oauth2PermissionGrant ids are derived from (client, resource[, principal])."""
    raw = uuid.UUID(client_id).bytes_le + uuid.UUID(resource_id).bytes_le
    if principal_id:
        raw += uuid.UUID(principal_id).bytes_le
    return b64url(raw)


def get(world) -> Directory:
    """The world's directory, made by whichever service asks first."""
    with world.lock:
        if getattr(world, "directory", None) is None:
            world.directory = Directory(world)
        return world.directory
