"""Unit tests of the Graph client and the Azure module base (no network: an in-memory Graph)."""

from __future__ import annotations

import datetime
import json
import sys
from pathlib import Path

import pytest
from ansible.module_utils.testing import patch_module_args

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import graph_fake
from ansible_collections.konnect.devportal.plugins.module_utils import graph as graph_utils
from ansible_collections.konnect.devportal.plugins.module_utils.http_client import ApiError
from graph_fake import AUTHORITY, AUTOMATION_ID, AUTOMATION_SECRET, GRAPH, TENANT, FakeResponse, graph_error

# the fixtures
fake_time = graph_fake.fake_time
graph = graph_fake.graph


def client(**kwargs):
    options = dict(authority_host=AUTHORITY, graph_url=GRAPH, replication_timeout=30)
    options.update(kwargs)
    return graph_utils.GraphClient(TENANT, AUTOMATION_ID, AUTOMATION_SECRET, **options)


# -- connection options -----------------------------------------------------------------


def module_params(monkeypatch, env, args=None):
    for name in (
        "AZURE_TENANT",
        "AZURE_TENANT_ID",
        "AZURE_CLIENT_ID",
        "AZURE_SECRET",
        "AZURE_CLIENT_SECRET",
        "AZURE_AUTHORITY_HOST",
        "AZURE_GRAPH_URL",
        "REQUESTS_CA_BUNDLE",
    ):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with patch_module_args(args or {}):
        return graph_utils.AzureModule(argument_spec={}).params


def test_env_fallbacks_take_awx_names_first(monkeypatch):
    params = module_params(
        monkeypatch,
        {
            "AZURE_TENANT": "awx-tenant",
            "AZURE_TENANT_ID": "sdk-tenant",
            "AZURE_SECRET": "awx-secret",
            "AZURE_CLIENT_SECRET": "sdk-secret",
            "AZURE_CLIENT_ID": "client",
            "AZURE_AUTHORITY_HOST": "https://login.microsoftonline.us",
            "AZURE_GRAPH_URL": "https://graph.microsoft.us",
            "REQUESTS_CA_BUNDLE": "/etc/ca.pem",
        },
    )
    assert params["tenant_id"] == "awx-tenant"
    assert params["client_secret"] == "awx-secret"
    assert params["client_id"] == "client"
    assert params["authority_host"] == "https://login.microsoftonline.us"
    assert params["graph_url"] == "https://graph.microsoft.us"
    assert params["ca_path"] == "/etc/ca.pem"


def test_env_second_names_and_defaults(monkeypatch):
    params = module_params(monkeypatch, {"AZURE_TENANT_ID": "sdk-tenant", "AZURE_CLIENT_SECRET": "sdk-secret"})
    assert params["tenant_id"] == "sdk-tenant"
    assert params["client_secret"] == "sdk-secret"
    assert params["authority_host"] == "https://login.microsoftonline.com"
    assert params["graph_url"] == "https://graph.microsoft.com"
    assert params["replication_timeout"] == 60


def test_options_win_over_env(monkeypatch):
    params = module_params(monkeypatch, {"AZURE_TENANT": "env"}, {"tenant_id": "option"})
    assert params["tenant_id"] == "option"


def test_https_url_adds_scheme_and_refuses_http():
    assert graph_utils.https_url("login.microsoftonline.us/", "authority_host") == "https://login.microsoftonline.us"
    with pytest.raises(graph_utils.InputError, match="authority_host must be an https URL"):
        graph_utils.https_url("http://login.test", "authority_host")


# -- credentials ---------------------------------------------------------------------------


def test_credential_is_the_secret_or_the_certificate():
    assert graph_utils.client_credential({"client_secret": "s"}) == "s"
    cert = graph_utils.client_credential(
        {"client_secret": "s", "client_certificate_private_key": "KEY", "client_certificate_thumbprint": "AB:CD"}
    )
    assert cert == {"private_key": "KEY", "thumbprint": "abcd"}
    with pytest.raises(graph_utils.InputError, match="no Azure credential"):
        graph_utils.client_credential({})


def test_certificate_file_gives_key_and_thumbprint(tmp_path):
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "automation")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ) + cert.public_bytes(serialization.Encoding.PEM)
    path = tmp_path / "automation.pem"
    path.write_bytes(pem)
    credential = graph_utils.client_credential(
        {"client_certificate_path": str(path), "client_certificate_password": "pw"}
    )
    assert credential["thumbprint"] == cert.fingerprint(hashes.SHA1()).hex()  # noqa: S303
    assert "PRIVATE KEY" in credential["private_key"]
    assert credential["public_certificate"].startswith("-----BEGIN CERTIFICATE-----")
    assert credential["passphrase"] == "pw"


def test_certificate_file_without_a_certificate_is_refused(tmp_path):
    path = tmp_path / "key.pem"
    path.write_text("-----BEGIN PRIVATE KEY-----\nabc\n-----END PRIVATE KEY-----\n")
    with pytest.raises(graph_utils.InputError, match="must be a PEM file"):
        graph_utils.client_credential({"client_certificate_path": str(path)})


# -- sign-in through MSAL ---------------------------------------------------------------------


def test_one_token_per_run_on_the_same_session_and_trust(graph, fake_time, monkeypatch):
    monkeypatch.setenv("MSAL_FORCE_REGION", "westus")  # must not move the token request elsewhere
    graph.add_app("one")
    c = client(ca_path="/tmp/ca.pem")
    c.get("/applications", {"$top": "1"})
    c.list("/applications")
    entra = [call for call in graph.calls if not call["path"].startswith("/v1.0/")]
    # discovery and one token request; no instance discovery at login.microsoftonline.com
    assert [(x["method"], x["path"]) for x in entra] == [
        ("GET", "/%s/v2.0/.well-known/openid-configuration" % TENANT),
        ("POST", "/%s/oauth2/v2.0/token" % TENANT),
    ]
    token_call = entra[1]
    assert token_call["data"]["scope"] == "00000003-0000-0000-c000-000000000000/.default"
    assert all(call["verify"] == "/tmp/ca.pem" for call in graph.calls)
    graph_calls = [call for call in graph.calls if call["path"].startswith("/v1.0/")]
    assert all(call["headers"]["Authorization"] == "Bearer " + graph.graph_token for call in graph_calls)


def test_wrong_secret_is_one_line_with_the_code_and_hint(graph, fake_time):
    c = graph_utils.GraphClient(TENANT, AUTOMATION_ID, "wrong-secret", authority_host=AUTHORITY, graph_url=GRAPH)
    with pytest.raises(ApiError) as info:
        c.get("/applications/x")
    message = str(info.value)
    assert "\n" not in message
    assert "AADSTS7000215" in message and "trace id t-1" in message
    assert "check client_secret (AZURE_SECRET)" in message
    assert "wrong-secret" not in message


def test_token_endpoint_failure_is_one_line(graph, fake_time, monkeypatch):
    answer = graph._entra

    def broken(method, path, data):
        if path.endswith("/oauth2/v2.0/token"):
            return FakeResponse(500, {"error": "server_error"})
        return answer(method, path, data)

    monkeypatch.setattr(graph, "_entra", broken)
    with pytest.raises(ApiError, match=r"^Sign-in at https://login.test/%s failed: .*Try again later$" % TENANT):
        client().token()


def test_unknown_tenant_names_authority(graph, fake_time):
    c = graph_utils.GraphClient("other-tenant", AUTOMATION_ID, AUTOMATION_SECRET, authority_host=AUTHORITY)
    with pytest.raises(graph_utils.InputError, match="Check authority_host and tenant_id"):
        c.token()


# -- requests ---------------------------------------------------------------------------------------


def test_list_follows_next_links(graph, fake_time):
    for n in range(5):
        graph.add_app("app-%d" % n)
    items = client().list("/applications", {"$select": "id,displayName"})
    assert sorted(a["displayName"] for a in items) == ["app-%d" % n for n in range(5)]
    pages = [c for c in graph.calls if c["path"] == "/v1.0/applications"]
    assert len(pages) == 3
    assert all(c["params"]["$select"] == "id,displayName" for c in pages)


def test_forbidden_names_the_missing_permission_and_request_id(graph, fake_time):
    graph.denied.append(("POST", r"/servicePrincipals/.*/appRoleAssignedTo"))
    with pytest.raises(ApiError) as info:
        client().post("/servicePrincipals/sp/appRoleAssignedTo", {}, needs=graph_utils.ASSIGN_APP_ROLES)
    message = str(info.value)
    assert "HTTP 403 Authorization_RequestDenied" in message
    assert "(request id req-403)" in message
    assert "lacks the Microsoft Graph application permission AppRoleAssignment.ReadWrite.All" in message
    assert AUTOMATION_ID in message


def test_throttling_waits_retry_after(graph, fake_time):
    graph.add_app("one")
    graph.throttle.append(("GET", "/applications"))
    assert len(client().list("/applications")) == 1
    assert 2.0 in fake_time.slept


def test_fresh_reads_wait_for_replication(graph, fake_time):
    graph.lag = 6
    app = graph.add_app("new")
    c = client()
    assert c.get("/applications/%s" % app["id"]) is None  # not fresh: a 404 is "missing"
    assert c.get("/applications/%s" % app["id"], fresh=True)["id"] == app["id"]
    assert fake_time.slept  # it backed off meanwhile


def test_fresh_reads_give_up_at_the_replication_timeout(graph, fake_time):
    graph.lag = 10**6
    app = graph.add_app("never")
    c = client(replication_timeout=10)
    start = fake_time.now
    with pytest.raises(ApiError, match="HTTP 404 Request_ResourceNotFound"):
        c.get("/applications/%s" % app["id"], fresh=True)
    assert 10 <= fake_time.now - start <= 11


def test_now_is_the_directory_clock(graph, fake_time):
    graph.now = datetime.datetime(2030, 5, 1, 8, 0, tzinfo=datetime.timezone.utc)
    c = client()
    c.list("/applications")
    assert c.now() == graph.now


def test_describe_graph_error_reads_the_body():
    response = graph_error(404, "Request_ResourceNotFound", "Resource 'x'\ndoes not exist.")
    assert graph_utils.describe_graph_error(response) == (
        "Request_ResourceNotFound",
        "Resource 'x' does not exist.",
        "req-404",
    )
    assert graph_utils.describe_graph_error(FakeResponse(502, None, {"request-id": "r"}))[2] == "r"


@pytest.mark.parametrize(
    ("status", "code", "message", "method", "expected"),
    [
        (404, "Request_ResourceNotFound", "Resource 'x' does not exist", "GET", True),
        (
            400,
            "Request_BadRequest",
            "The appId 'x' of the service principal does not reference a valid application object.",
            "POST",
            True,
        ),
        (400, "Request_BadRequest", "Not a valid reference update.", "POST", True),
        (400, "Directory_ConcurrencyViolation", "try again", "PATCH", True),
        (409, "Request_MultipleObjectsWithSameKeyValue", "conflict", "PATCH", True),
        (409, "Request_MultipleObjectsWithSameKeyValue", "Permission entry already exists.", "POST", False),
        (403, "Authorization_RequestDenied", "Insufficient privileges to complete the operation.", "POST", False),
        (400, "Request_BadRequest", "Permission being assigned already exists on the object.", "POST", False),
    ],
)
def test_replication_errors(status, code, message, method, expected):
    exc = ApiError(message, status=status, code=code)
    assert graph_utils.is_replication_error(exc, method) is expected


def test_conflicts():
    assert graph_utils.is_conflict(ApiError("Permission entry already exists.", status=409))
    assert graph_utils.is_conflict(ApiError("Permission being assigned already exists on the object.", status=400))
    assert not graph_utils.is_conflict(ApiError("Invalid value", status=400))


def test_times_parse_graph_fractions_and_format_utc():
    when = graph_utils.parse_time("2026-01-01T12:00:00.1234567Z")
    assert when == datetime.datetime(2026, 1, 1, 12, 0, 0, 123456, tzinfo=datetime.timezone.utc)
    assert graph_utils.format_time(when) == "2026-01-01T12:00:00Z"
    assert graph_utils.odata_string("O'Brien") == "'O''Brien'"


def test_module_fails_in_one_line_without_secret(graph, fake_time, capsys):
    from ansible_collections.konnect.devportal.plugins.modules import azure_app_registration_info as info

    args = dict(
        tenant_id=TENANT,
        client_id=AUTOMATION_ID,
        client_secret="Wrong-Secret-Value-123",
        authority_host=AUTHORITY,
        graph_url=GRAPH,
    )
    with patch_module_args(args), pytest.raises(SystemExit):
        info.main()
    out = capsys.readouterr().out
    result = json.loads(out)
    assert result["failed"] is True
    assert "AADSTS7000215" in result["msg"] and "\n" not in result["msg"]
    assert "Wrong-Secret-Value-123" not in out
