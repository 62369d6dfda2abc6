"""The default seed: what ``serve.py`` starts with when no ``--seed`` is given.

One tenant with the automation identity, a developer account, two portals
and three APIs (one of them in two versions). Each service reads the keys
it owns:

- ``tenants`` (entra, graph): ``id``, ``domain``, ``display_name`` (optional),
  ``automation`` (``client_id``, ``client_secret``, ``display_name``, ``roles``:
  the Microsoft Graph application permissions consented to it, by value), and
  optionally ``extra_apps``: more identities of the same shape (``roles`` may be
  empty, ``client_secret`` omitted), each also taking ``service_principal``
  (default true; false registers the app without one), ``unique_name``,
  ``owners`` (client ids whose service principals own the app), ``secret_name``
  and ``secret_end`` (ISO 8601; default two years after seeding). Seeding is
  additive and idempotent: an identity whose ``client_id`` exists is completed,
  not duplicated. The seeded secrets count as made by addPassword.
- ``graph_page_size`` (graph, optional): Graph's default page size (else the
  ``GRAPH_EMULATOR_PAGE_SIZE`` environment variable, else 5, small so that
  paging is exercised; ``$top`` overrides it per request).
- ``konnect_tokens`` (konnect): bearer tokens Konnect accepts.
- ``portals``, ``apis`` (konnect): created as if through the Konnect UI.
- ``developers`` (portal): ``email``, ``password``, ``portal`` (a name).
"""

TENANT_ID = "72f988bf-86f1-41af-91ab-2d7cd011db47"

AUTOMATION_ROLES = [
    "Application.ReadWrite.All",
    "AppRoleAssignment.ReadWrite.All",
    "DelegatedPermissionGrant.ReadWrite.All",
    "Application.Read.All",
]

DEFAULT_SEED = {
    "tenants": [
        {
            "id": TENANT_ID,
            "domain": "contoso.onmicrosoft.com",
            "automation": {
                "client_id": "5b2f6a3c-8d1e-4f7a-9c0b-1e2d3f4a5b6c",
                "client_secret": "auto~Secret.1234567890abcdefghijKLMNOP",
                "display_name": "ansible-automation",
                "roles": AUTOMATION_ROLES,
            },
        }
    ],
    "konnect_tokens": ["kpat_emulatorToken0123456789abcdefghijklmnopqrstuvwxyzABCD"],
    "portals": [
        {"name": "developer-portal", "display_name": "Developer Portal", "auto_approve_applications": True},
        {"name": "partner-portal", "display_name": "Partner Portal", "auto_approve_applications": False},
    ],
    "apis": [
        {"name": "orders", "version": "v1", "description": "Orders API"},
        {"name": "orders", "version": "v2", "description": "Orders API, second version"},
        {"name": "payments", "version": "v1", "description": "Payments API"},
        {"name": "inventory", "version": None, "description": "Inventory API (unversioned)"},
    ],
    "developers": [
        {"email": "dev@example.com", "password": "Developer-Passw0rd!", "portal": "developer-portal"},
    ],
}
