# Copyright: (c) 2026, konnect.devportal contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Konnect client and the base of every Konnect module.

FOR INTERNAL COLLECTION USE ONLY: this API may change without notice.

- ``KonnectClient``: one ``requests`` session per module run (built on
  ``http.HttpClient``), Bearer auth, pagination, filters, one-line errors from
  problem+json or ``{"message"}`` bodies, lookups by name or id, and creates
  that re-read by name when their reply is lost instead of repeating them.
- ``KonnectModule``: an ``AnsibleModule`` that adds the shared connection
  options (``konnect_token``, ``konnect_region``, ``konnect_url``,
  ``validate_certs``, ``ca_path``) with their environment fallbacks.
- ``ensure_present`` / ``ensure_absent``: the netbox-style reconcile of one
  named object, with check mode and a diff of the user-set fields.
- Publications work on batches (``resolve_apis``, ``resolve_refs``,
  ``plan_publications``) so one module run reconciles many with list calls.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re
import threading
from concurrent.futures import ThreadPoolExecutor

from ansible.module_utils.basic import env_fallback, missing_required_lib

from ansible_collections.konnect.devportal.plugins.module_utils.common import (
    HAS_JMESPATH,
    JMESPATH_IMPORT_ERROR,
    BaseModule,
    InputError,
    apply_query,
    one_line,
)
from ansible_collections.konnect.devportal.plugins.module_utils.http_client import (
    HAS_REQUESTS,
    REQUESTS_IMPORT_ERROR,
    ApiError,
    HttpClient,
    ResponseLost,
)
from ansible_collections.konnect.devportal.plugins.module_utils.reconcile import (
    changes,
    diff,
    merge,
    subset,
)

REGIONS = ("us", "eu", "au", "me", "in", "sg")
PAGE_SIZE = 100
# Values joined into one ``filter[...][oeq]`` list call: at most this many, and at most this
# many characters (about 50 UUIDs), so the URL stays far below common server limits; more
# values are split into several calls.
OEQ_CHUNK = 100
OEQ_CHARS = 2000
# A batch of writes (API publications) goes out over at most this many connections at once,
# each thread with its own HTTP session.
PARALLEL_WRITES = 8
NONE_STRATEGY = "none"
UUID_RE = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
AZURE_ISSUER_RE = re.compile(r"^https://sts\.windows\.net/([0-9a-fA-F-]{36})$")
UUID_SEARCH_RE = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")

# Konnect's Labels schema
LABEL_KEY_RE = re.compile(r"^(?!kong|konnect|mesh|kic|_).{1,63}$", re.S)
LABEL_VALUE_RE = re.compile(r"^[a-zA-Z0-9]([a-zA-Z0-9._-]*[a-zA-Z0-9])?$")
MAX_LABELS = 50

AUTH_METHODS = (
    "password",
    "client_credentials",
    "authorization_code",
    "bearer",
    "introspection",
    "kong_oauth2",
    "refresh_token",
    "session",
)

INSECURE_WARNING = (
    "validate_certs=false: TLS certificates of the Konnect API are not verified, which is insecure "
    "(anyone on the network path can read the token). Use ca_path to trust a private CA instead."
)


class Kind:
    """One Konnect collection: its path, its label in messages and its filters."""

    def __init__(self, path, label, oeq_names=True, oeq_ids=True):
        self.path = path
        self.label = label
        # ``filter[name][oeq]`` / ``filter[id][oeq]`` documented for this collection
        self.oeq_names = oeq_names
        self.oeq_ids = oeq_ids


KINDS = {
    # /v2/dcr-providers documents only eq and contains on name and id
    "dcr_provider": Kind("/v2/dcr-providers", "DCR provider", oeq_names=False, oeq_ids=False),
    # /v2/application-auth-strategies has no id filter
    "auth_strategy": Kind("/v2/application-auth-strategies", "auth strategy", oeq_ids=False),
    "portal": Kind("/v3/portals", "portal"),
    "api": Kind("/v3/apis", "API"),
}


def is_uuid(value):
    return isinstance(value, str) and bool(UUID_RE.match(value))


def eq(field, value):
    """The query parameter of an exact-match filter."""
    return {"filter[%s][eq]" % field: value}


def oeq(field, values):
    """The query parameter of a match-any-of filter."""
    return {"filter[%s][oeq]" % field: ",".join(values)}


# -- errors -------------------------------------------------------------------


def describe_konnect_error(response):
    """``(code, message, request_id)`` from a problem+json or ``{"message"}`` body."""
    try:
        body = response.json()
    except ValueError:
        text = one_line(response.text or "")[:200]
        return None, text or response.reason, None
    if not isinstance(body, dict):
        return None, response.reason, None
    title = one_line(body.get("title"))
    detail = one_line(body.get("detail") or body.get("message"))
    problems = []
    for item in body.get("invalid_parameters") or []:
        if isinstance(item, dict):
            field = item.get("field") or "?"
            problems.append("%s: %s" % (field, one_line(item.get("reason") or item.get("rule") or "invalid")))
    message = detail or ""
    if problems:
        message = "%s (%s)" % (message, "; ".join(problems)) if message else "; ".join(problems)
    code = title if title and title != detail else None
    request_id = one_line(body.get("instance")) or response.headers.get("x-kong-request-id")
    return code, message or response.reason, request_id


HINTS = {
    401: "check konnect_token (or KONNECT_TOKEN / KONNECT_SPAT): it is wrong, expired or revoked",
    403: "the token's account lacks the Konnect role this needs "
    "(Portal Creator, API Creator, DCR Provider Creator, API Publisher)",
}


# -- the client ---------------------------------------------------------------


def konnect_base_url(params):
    """``konnect_url`` when set, else ``https://<region>.api.konghq.com``."""
    url = params.get("konnect_url")
    if url:
        if not (url.startswith("https://") or url.startswith("http://")):
            raise InputError("konnect_url must be an https:// URL, got %r" % url)
        return url.rstrip("/")
    region = params.get("konnect_region") or "us"
    if region not in REGIONS:
        raise InputError("konnect_region must be one of %s, got %r" % (", ".join(REGIONS), region))
    return "https://%s.api.konghq.com" % region


class KonnectClient:
    """Konnect's regional API over one ``HttpClient`` session."""

    def __init__(self, base_url, token, validate_certs=True, ca_path=None, http=None, **http_options):
        self.http = http or HttpClient(
            base_url,
            validate_certs=validate_certs,
            ca_path=ca_path,
            describe_error=describe_konnect_error,
            **http_options,
        )
        if token is not None:
            self.http.session.headers["Authorization"] = "Bearer %s" % token
        self.http.session.headers["Accept"] = "application/json, application/problem+json"

    @property
    def request_count(self):
        return self.http.request_count

    def fork(self):
        """A client with the same settings and token on an HTTP session of its own."""
        return KonnectClient(self.http.base_url, None, http=self.http.fork())

    def parallel(self, jobs, workers=PARALLEL_WRITES):
        """Run JOBS (callables taking a client) on up to WORKERS threads; their outcomes in order.

        Each thread has a client of its own (``requests`` sessions are not shared
        between threads). An outcome is ``(True, value)`` or ``(False, ApiError)``;
        other exceptions propagate. A single job runs in this thread, on this client.
        """
        if len(jobs) <= 1 or workers <= 1:
            return [_outcome(job, self) for job in jobs]
        local = threading.local()
        forks = []
        lock = threading.Lock()

        def run(job):
            client = getattr(local, "client", None)
            if client is None:
                client = local.client = self.fork()
                with lock:
                    forks.append(client)
            return _outcome(job, client)

        try:
            with ThreadPoolExecutor(max_workers=min(workers, len(jobs))) as pool:
                return list(pool.map(run, jobs))
        finally:
            for client in forks:
                self.http.request_count += client.request_count
                client.http.session.close()

    def request(self, method, path, expect=(200,), **kwargs):
        """Send one request; the parsed JSON body, or None when it has none."""
        if method.upper() in ("GET", "HEAD"):
            # a 500 on a read is safe to repeat (HttpClient already retries 429 and 502-504)
            kwargs.setdefault("retry_on", lambda response: response.status_code >= 500)
        try:
            response = self.http.request(method, path, expect=expect, **kwargs)
        except ResponseLost:
            raise
        except ApiError as exc:
            hint = HINTS.get(exc.status)
            if hint:
                exc.message = "%s. %s" % (exc.message, hint[0].upper() + hint[1:])
                exc.args = (exc.message,)
            raise
        if response.status_code == 204 or not response.content:
            return None
        try:
            return response.json()
        except ValueError:
            raise ApiError(
                "%s %s: HTTP %d with a body that is not JSON" % (method.upper(), path, response.status_code),
                status=response.status_code,
            ) from None

    def get(self, path, params=None, expect=(200,)):
        return self.request("GET", path, params=params, expect=expect)

    def list(self, path, filters=None):
        """Every item of a paginated collection (``page[size]=100`` until ``meta.page.total``)."""
        params = dict(filters or {})
        items = []
        number = 1
        while True:
            params["page[size]"] = PAGE_SIZE
            params["page[number]"] = number
            body = self.get(path, params=params) or {}
            data = body.get("data") or []
            items.extend(data)
            total = ((body.get("meta") or {}).get("page") or {}).get("total")
            if not data or (total is not None and len(items) >= total) or (total is None and len(data) < PAGE_SIZE):
                return items
            number += 1

    # -- objects by kind --------------------------------------------------
    def get_by_id(self, kind, object_id):
        """The object, or None when Konnect answers 404."""
        return self.get("%s/%s" % (KINDS[kind].path, object_id), expect=(200, 404)) or None

    def find_by_name(self, kind, name, extra_filters=None):
        """Every object whose name is exactly NAME (the server filter may be looser)."""
        filters = eq("name", name)
        filters.update(extra_filters or {})
        return [item for item in self.list(KINDS[kind].path, filters) if item.get("name") == name]

    def find_named(self, kind, name):
        """The one object named NAME (the key of the managed objects), or None."""
        matches = self.find_by_name(kind, name)
        if len(matches) > 1:
            raise ambiguous(kind, name, matches)
        return matches[0] if matches else None

    def find_one(self, kind, name_or_id):
        """One object by id (a UUID) or by name; None when missing; InputError when ambiguous."""
        if is_uuid(name_or_id):
            found = self.get_by_id(kind, name_or_id)
            if found is not None:
                return found
        matches = self.find_by_name(kind, name_or_id)
        if len(matches) > 1:
            raise ambiguous(kind, name_or_id, matches)
        return matches[0] if matches else None

    def find_many(self, kind, refs):
        """``{ref: object or None}`` for names and ids, with as few list calls as the API allows."""
        out, by_name = self.list_refs(kind, refs)
        for name, matches in by_name.items():
            if len(matches) > 1:
                raise ambiguous(kind, name, matches)
            out[name] = matches[0] if matches else None
        return out

    def list_refs(self, kind, refs):
        """``({id: object}, {name: [objects named so]})`` for REFS, names or ids, with as few list
        calls as the API allows. An id-shaped ref that is no object's id is taken as a name."""
        spec = KINDS[kind]
        refs = sorted(set(refs))
        by_id = {}
        ids = [r for r in refs if is_uuid(r)]
        names = [r for r in refs if not is_uuid(r)]
        if ids and spec.oeq_ids and len(ids) > 1:
            for chunk in _chunks(ids):
                for item in self.list(spec.path, oeq("id", chunk)):
                    by_id[item["id"]] = item
            names += [r for r in ids if r not in by_id]
        else:
            for ref in ids:
                found = self.get_by_id(kind, ref)
                if found is not None:
                    by_id[ref] = found
                else:
                    names.append(ref)
        if len(names) > 1 and spec.oeq_names and not any("," in n for n in names):
            listed = {}
            for chunk in _chunks(names):
                for item in self.list(spec.path, oeq("name", chunk)):
                    listed.setdefault(item.get("name"), []).append(item)
        else:
            listed = dict((n, self.find_by_name(kind, n)) for n in names)
        by_name = dict((n, [m for m in listed.get(n, []) if m.get("name") == n]) for n in names)
        return by_id, by_name

    def create(self, kind, body, expect=(200, 201)):
        """POST a new named object. A lost reply is followed by a re-read by name, never a blind retry.

        The specs say 201; some of Kong's how-tos show 200, and both mean it was created.
        """
        path = KINDS[kind].path
        for _attempt in range(3):
            try:
                return self.request("POST", path, json=body, expect=expect, retry_lost=False)
            except ResponseLost:
                found = self.find_by_name(kind, body["name"])
                if len(found) == 1:
                    return found[0]
                if found:
                    raise ambiguous(kind, body["name"], found) from None
                # not there: the request never took effect, so sending it again is safe
        raise ApiError("POST %s: the reply was lost three times; nothing was created" % path)

    def update(self, kind, object_id, body):
        """PATCH with absolute values, so repeating it after a lost reply is safe."""
        return self.request("PATCH", "%s/%s" % (KINDS[kind].path, object_id), json=body, retry_lost=True)

    def delete(self, kind, object_id):
        """DELETE; a 404 (already gone, e.g. a retry after a lost reply) is success."""
        self.request("DELETE", "%s/%s" % (KINDS[kind].path, object_id), expect=(204, 404))

    # -- helpers other modules use ------------------------------------------
    def verify_provider(self, provider_id):
        """Konnect's own check of a DCR provider: ``{"status": "success"|"failed", "errors": [...]}``."""
        return self.request("POST", "/v2/dcr-providers/%s/verify" % provider_id, retry_lost=True) or {}

    def strategies_using_provider(self, provider_id):
        return self.list(KINDS["auth_strategy"].path, eq("dcr_provider_id", provider_id))

    def publications(self, filters=None):
        return self.list("/v3/api-publications", filters)

    def publish(self, api_id, portal_id, body):
        """PUT is a full replace; 200 per the spec, 201 per Kong's how-tos."""
        return self.request("PUT", "/v3/apis/%s/publications/%s" % (api_id, portal_id), json=body, expect=(200, 201))

    def unpublish(self, api_id, portal_id):
        self.request("DELETE", "/v3/apis/%s/publications/%s" % (api_id, portal_id), expect=(204, 404))


def portal_url(portal):
    """The portal's public base URL: its canonical (custom) domain, else Konnect's default domain."""
    domain = portal.get("canonical_domain") or portal.get("default_domain")
    if not domain:
        raise InputError("portal %r has no domain in Konnect's answer" % portal.get("name"))
    return "https://%s" % domain


def ambiguous(kind, name, matches):
    ids = ", ".join(sorted(str(m.get("id")) for m in matches))
    return InputError(
        "%d %ss are named %r (ids: %s): give the id instead, or rename the extra ones in Konnect"
        % (len(matches), KINDS[kind].label, name, ids)
    )


def not_found(kind, ref):
    return InputError("%s %r not found in Konnect: check the name (or id) and the region" % (KINDS[kind].label, ref))


def _outcome(job, client):
    try:
        return True, job(client)
    except ApiError as exc:
        return False, exc


def _chunks(values, size=OEQ_CHUNK, chars=OEQ_CHARS):
    """VALUES in runs of at most SIZE values and CHARS characters once comma-joined."""
    chunk, length = [], 0
    for value in values:
        if chunk and (len(chunk) >= size or length + 1 + len(value) > chars):
            yield chunk
            chunk, length = [], 0
        length += len(value) + (1 if chunk else 0)
        chunk.append(value)
    if chunk:
        yield chunk


# -- input checks ---------------------------------------------------------------


def check_azure_issuer(issuer, option="issuer"):
    """Konnect's Azure DCR needs the v1 issuer ``https://sts.windows.net/<tenant uuid>``, no trailing slash."""
    if AZURE_ISSUER_RE.match(issuer or "") and is_uuid(issuer.rsplit("/", 1)[1]):
        return
    tenant = UUID_SEARCH_RE.search(issuer or "")
    want = "https://sts.windows.net/%s" % (tenant.group(0) if tenant else "<tenant uuid>")
    if (issuer or "").rstrip("/") == want:
        why = "must not end with a slash"
    elif "login.microsoftonline.com" in (issuer or "") or "v2.0" in (issuer or ""):
        why = "is the v2.0 issuer; Konnect's Azure DCR supports only the v1 issuer"
    elif not tenant:
        why = "must name the tenant by its UUID (the Directory (tenant) ID), not by a domain"
    else:
        why = "is not the Azure AD v1 issuer"
    raise InputError("%s %r %s: use %s" % (option, issuer, why, want))


def check_labels(labels, option="labels"):
    """Konnect's rules for labels (the Labels schema of its specs), before any request."""
    if not labels:
        return
    problems = []
    if len(labels) > MAX_LABELS:
        problems.append("at most %d labels, got %d" % (MAX_LABELS, len(labels)))
    for key, value in sorted(labels.items()):
        if not LABEL_KEY_RE.match(key):
            problems.append(
                "key %r must be 1-63 characters and must not start with kong, konnect, mesh, kic or _" % key
            )
        if not isinstance(value, str):
            problems.append("the value of %r must be a string (quote it), got %r" % (key, value))
        elif len(value) > 63 or not LABEL_VALUE_RE.match(value):
            problems.append(
                "the value of %r, %r, must be 1-63 letters, digits, '-', '.' or '_', beginning and ending "
                "with a letter or digit" % (key, value)
            )
    if problems:
        raise InputError("%s: %s" % (option, "; ".join(problems)))


# -- the module base ------------------------------------------------------------


def konnect_argument_spec():
    """The shared connection options; env fallbacks exactly as DESIGN.md's table."""
    return dict(
        konnect_token=dict(type="str", no_log=True, fallback=(env_fallback, ["KONNECT_TOKEN", "KONNECT_SPAT"])),
        konnect_region=dict(
            type="str", default="us", choices=list(REGIONS), fallback=(env_fallback, ["KONNECT_REGION"])
        ),
        konnect_url=dict(type="str", fallback=(env_fallback, ["KONNECT_SERVER_URL"])),
        validate_certs=dict(type="bool", default=True),
        ca_path=dict(type="path", fallback=(env_fallback, ["REQUESTS_CA_BUNDLE"])),
    )


def connect(module):
    """A ``KonnectClient`` from a module's connection options (``konnect_argument_spec``).

    For modules that are not a ``KonnectModule`` (``dcr_validate`` takes both
    the Azure and the Konnect options): checks the inputs, warns when TLS is
    not verified, and fails the module with one line when something is missing.
    """
    params = module.params
    if not HAS_REQUESTS:
        module.fail_json(msg=missing_required_lib("requests"), exception=repr(REQUESTS_IMPORT_ERROR))
    if not params.get("konnect_token"):
        module.fail_json(msg="konnect_token is required: set it, or the KONNECT_TOKEN (or KONNECT_SPAT) variable")
    try:
        base_url = konnect_base_url(params)
    except InputError as exc:
        module.fail_json(msg=str(exc))
    if not params.get("validate_certs", True):
        module.warn(INSECURE_WARNING)
        _silence_insecure_request_warnings()
    return KonnectClient(
        base_url,
        params["konnect_token"],
        validate_certs=params.get("validate_certs", True),
        ca_path=params.get("ca_path"),
    )


class KonnectModule(BaseModule):
    """An ``AnsibleModule`` with the Konnect connection options and one client per run."""

    ERRORS = (ApiError, InputError)

    def __init__(self, argument_spec=None, **kwargs):
        spec = konnect_argument_spec()
        spec.update(argument_spec or {})
        super(KonnectModule, self).__init__(argument_spec=spec, **kwargs)
        self.client = connect(self)


def _silence_insecure_request_warnings():
    # the module already warned once, in Ansible's own words
    try:
        import urllib3

        urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)
    except ImportError:  # pragma: no cover
        pass


def info_result(module, key, items):
    """An _info result: the list under KEY, plus ``query_result`` when a query was given."""
    result = {key: items}
    if module.params.get("query"):
        if not HAS_JMESPATH:
            module.fail_json(msg=missing_required_lib("jmespath"), exception=JMESPATH_IMPORT_ERROR)
        result["query_result"] = apply_query(items, module.params["query"])
    return dict(changed=False, **result)


# -- reconcile one named object ------------------------------------------------------


def ensure_present(module, kind, current, current_view, desired, create_body, patch_body, secrets=None):
    """Create or update one object so the fields the user set match.

    ``current_view``: the current object in the shape of ``desired`` (None when
    missing). ``desired``: only the fields the user set; dicts are compared key
    by key, except ``labels``, which must match exactly. ``patch_body(delta)``
    builds the PATCH body from the differing fields. ``secrets``: write-only
    fields to send on this run (dotted path -> value); sending one is a change,
    since Konnect never returns them to compare.

    Returns ``(changed, object, diff)``; the object never holds a secret.
    """
    secrets = secrets or {}
    secret_paths = sorted(secrets)
    if current is None:
        if module.check_mode:
            obj = dict(merge(create_body, {}), id=None)
        else:
            obj = module.client.create(kind, create_body)
        return True, _without(obj, secret_paths), diff(None, _with_secrets(desired, secrets), secret_paths)
    before = subset(current_view, desired)
    delta = changes(current_view, desired)
    for key in EXACT_KEYS:
        if key in desired:
            before[key] = current_view.get(key)
            if desired[key] != current_view.get(key):
                delta[key] = desired[key]
    if not delta and not secrets:
        return False, current, diff(before, before)
    body = patch_body(delta)
    for path, value in secrets.items():
        body = merge(body, _nest(path, value))
    after = merge(before, delta)
    for key in EXACT_KEYS:
        if key in delta:
            after[key] = delta[key]
    if module.check_mode:
        obj = merge(current, body)
        if "labels" in body:
            obj["labels"] = dict((k, v) for k, v in (obj.get("labels") or {}).items() if v is not None)
    else:
        obj = module.client.update(kind, current["id"], body)
    return True, _without(obj, secret_paths), diff(before, _with_secrets(after, secrets), secret_paths)


# compared as a whole: a label the user did not list is removed
EXACT_KEYS = ("labels",)


def ensure_absent(module, kind, current, current_view):
    """Delete the object when it exists; returns ``(changed, diff)``."""
    if current is None:
        return False, diff(None, None)
    if not module.check_mode:
        module.client.delete(kind, current["id"])
    return True, diff(current_view, None)


def label_patch(current, desired):
    """The PATCH value that makes the labels exactly DESIRED: removed keys are sent as null."""
    current = current or {}
    if current == desired:
        return None
    patch = dict((key, None) for key in current if key not in desired)
    patch.update(desired)
    return patch


def _with_secrets(view, secrets):
    out = merge(view, {})
    for path, value in secrets.items():
        out = merge(out, _nest(path, value))
    return out


def _nest(path, value):
    out = value
    for key in reversed(path.split(".")):
        out = {key: out}
    return out


def _without(obj, paths):
    """A copy of OBJ without the dotted PATHS (secrets never go back to the user)."""
    out = merge(obj or {}, {})
    for path in paths:
        keys = path.split(".")
        node = out
        for key in keys[:-1]:
            node = node.get(key) if isinstance(node, dict) else None
        if isinstance(node, dict):
            node.pop(keys[-1], None)
    return out


# -- API publications, in batches --------------------------------------------------


def api_label(name, version):
    return "%s %s" % (name, version) if version else name


def resolve_apis(client, refs):
    """``{(api, api_version): api object}`` for many APIs with one list call.

    ``api`` is an id or a name; without ``api_version`` the name must be
    unversioned or unique. Raises InputError for unknown or ambiguous APIs.
    """
    out = {}
    ids = sorted(set(api for api, _version in refs if is_uuid(api)))
    names = sorted(set(api for api, _version in refs if not is_uuid(api)))
    by_id = client.find_many("api", ids) if ids else {}
    by_name = {}
    if len(names) == 1 or (names and any("," in n for n in names)):
        for name in names:
            by_name[name] = client.find_by_name("api", name)
    elif names:
        for chunk in _chunks(names):
            for item in client.list(KINDS["api"].path, oeq("name", chunk)):
                by_name.setdefault(item.get("name"), []).append(item)
    for api, version in refs:
        if is_uuid(api) and by_id.get(api) is not None:
            found = by_id[api]
            if version and found.get("version") != version:
                raise InputError(
                    "API %s is %s, not version %r" % (api, api_label(found.get("name"), found.get("version")), version)
                )
            out[(api, version)] = found
            continue
        if is_uuid(api):
            # an id-shaped value that is no API id may still be a name
            candidates = client.find_by_name("api", api)
        else:
            candidates = [a for a in by_name.get(api, []) if a.get("name") == api]
        out[(api, version)] = _pick_version(api, version, candidates)
    return out


def _pick_version(name, version, candidates):
    if not candidates:
        raise InputError("API %r not found in Konnect: check the name (or id) and the region" % name)
    if version:
        matches = [a for a in candidates if a.get("version") == version]
        if not matches:
            raise InputError("API %r has no version %r (versions: %s)" % (name, version, _versions(candidates)))
    else:
        matches = candidates if len(candidates) == 1 else [a for a in candidates if not a.get("version")]
        if len(matches) != 1:
            raise InputError(
                "API %r is ambiguous: it has versions %s; set api_version (or give the API id)"
                % (name, _versions(candidates))
            )
    if len(matches) > 1:
        raise ambiguous("api", api_label(name, version), matches)
    return matches[0]


def _versions(apis):
    return ", ".join(sorted(a.get("version") or "(unversioned)" for a in apis))


def resolve_refs(client, kind, refs, check_mode=False, planned=False):
    """``{ref: object}`` for many names or ids of KIND with as few calls as possible.

    ``planned``: the object may be created earlier in the same play; in check
    mode a missing one is then a placeholder rather than an error.
    """
    found = client.find_many(kind, refs) if refs else {}
    out = {}
    for ref in refs:
        if found.get(ref) is not None:
            out[ref] = found[ref]
        elif planned and check_mode:
            out[ref] = {"id": None, "name": ref, "planned": True}
        else:
            raise not_found(kind, ref)
    return out


PUBLICATION_FIELDS = ("visibility", "auth_strategy_ids", "auto_approve_registrations")


def publication_key(item):
    return "%s -> %s" % (api_label(item["api"], item.get("api_version")), item["portal"])


def plan_publications(module, items):
    """Reconcile many publications with one lookup per kind and one publication list.

    The writes (PUT or DELETE, one per publication to change) go out in parallel
    over a few connections (``PARALLEL_WRITES``); when some fail, the others are
    still applied and the error names every failed publication.

    ``items``: dicts with ``api``, ``api_version``, ``portal``, ``auth_strategy``
    (None = the portal's default, ``"none"`` = no application auth),
    ``visibility``, ``auto_approve_registrations`` (None = keep, or the API
    default on create) and ``state``. Returns ``(changed, results, diff)``.
    """
    client = module.client
    keys = [publication_key(i) for i in items]
    duplicates = sorted(set(k for k in keys if keys.count(k) > 1))
    if duplicates:
        raise InputError("publications are listed more than once: %s" % "; ".join(duplicates))
    apis = resolve_apis(client, [(i["api"], i.get("api_version")) for i in items])
    portals = resolve_refs(client, "portal", sorted(set(i["portal"] for i in items)))
    strategy_refs = sorted(
        set(
            i["auth_strategy"]
            for i in items
            if i.get("state") != "absent" and i.get("auth_strategy") not in (None, NONE_STRATEGY)
        )
    )
    strategies = resolve_refs(client, "auth_strategy", strategy_refs, module.check_mode, planned=True)
    current = _current_publications(client, apis.values(), portals.values())

    changed = False
    results = []
    writes = []  # (index in results, job)
    before_all, after_all = {}, {}
    for index, item in enumerate(items):
        key = keys[index]
        api = apis[(item["api"], item.get("api_version"))]
        portal = portals[item["portal"]]
        existing = current.get((api["id"], portal["id"]))
        have = dict((f, existing.get(f)) for f in PUBLICATION_FIELDS) if existing else None
        ids = dict(api_id=api["id"], portal_id=portal["id"], api_name=api.get("name"), portal_name=portal.get("name"))
        ids["api_version"] = api.get("version")
        if item.get("state", "present") == "absent":
            action = "deleted" if existing else "unchanged"
            if existing:
                writes.append((index, _unpublish_job(api["id"], portal["id"])))
            before_all[key], after_all[key] = (have or "absent"), "absent"
            results.append(dict(ids, action=action, published=False))
            changed = changed or bool(existing)
            continue
        want = _desired_publication(item, portal, strategies, have)
        if have == want:
            action, obj = "unchanged", existing
        else:
            action = "updated" if existing else "created"
            obj = want
            writes.append((index, _publish_job(api["id"], portal["id"], want)))
            changed = True
        before_all[key] = have if have is not None else "absent"
        after_all[key] = want
        results.append(dict(obj or {}, action=action, published=True, **ids))
    if writes and not module.check_mode:
        outcomes = client.parallel([job for _index, job in writes])
        failed = []
        for (index, _job), (ok, value) in zip(writes, outcomes, strict=True):
            if not ok:
                if len(writes) == 1:
                    raise value
                failed.append("%s: %s" % (keys[index], value))
            elif results[index]["published"]:
                results[index] = dict(value or {}, **_ids_of(results[index]))
        if failed:
            done = len(writes) - len(failed)
            raise ApiError(
                "%d of %d publication writes failed (the other %d were applied; rerun to retry): %s"
                % (len(failed), len(writes), done, "; ".join(failed))
            )
    return changed, results, {"before": before_all, "after": after_all}


def _publish_job(api_id, portal_id, body):
    return lambda client: client.publish(api_id, portal_id, body)


def _unpublish_job(api_id, portal_id):
    return lambda client: client.unpublish(api_id, portal_id)


RESULT_IDS = ("action", "published", "api_id", "portal_id", "api_name", "portal_name", "api_version")


def _ids_of(result):
    return dict((k, result[k]) for k in RESULT_IDS)


def _desired_publication(item, portal, strategies, have):
    """All three PUT fields: a PUT is a full replace, so unset ones keep their value."""
    have = have or {}
    ref = item.get("auth_strategy")
    if ref == NONE_STRATEGY:
        strategy_ids = None
    elif ref is None:
        default = portal.get("default_application_auth_strategy_id")
        strategy_ids = [default] if default else None
    else:
        strategy_ids = [strategies[ref]["id"] or "(%s, to be created)" % ref]
    visibility = item.get("visibility") or have.get("visibility") or "private"
    auto_approve = item.get("auto_approve_registrations")
    if auto_approve is None:
        auto_approve = bool(have.get("auto_approve_registrations", False))
    return dict(visibility=visibility, auth_strategy_ids=strategy_ids, auto_approve_registrations=auto_approve)


def _current_publications(client, apis, portals):
    """``{(api_id, portal_id): publication}`` with one list call (per about 50 APIs).

    Filtered by API and portal, so only the publications in question come back.
    """
    api_ids = sorted(set(a["id"] for a in apis))
    portal_ids = set(p["id"] for p in portals)
    out = {}
    if len(portal_ids) == 1:
        by_portal = eq("portal_id", next(iter(portal_ids)))
    elif len(list(_chunks(sorted(portal_ids)))) == 1:
        by_portal = oeq("portal_id", sorted(portal_ids))
    else:
        by_portal = {}  # too many portals for one filter: the ones in question are picked below
    if len(api_ids) == 1:
        filter_sets = [merge(eq("api_id", api_ids[0]), by_portal)]
    else:
        filter_sets = [merge(oeq("api_id", chunk), by_portal) for chunk in _chunks(api_ids)]
    for filters in filter_sets:
        for item in client.publications(filters):
            if item.get("portal_id") in portal_ids:
                out[(item.get("api_id"), item.get("portal_id"))] = item
    return out


def describe_publications(client, publications):
    """``"orders v1 on developer-portal"`` strings for publication list items (names via two list calls)."""
    apis = client.find_many("api", sorted(set(p["api_id"] for p in publications)))
    portals = client.find_many("portal", sorted(set(p["portal_id"] for p in publications)))
    out = []
    for pub in publications:
        api = apis.get(pub["api_id"]) or {"name": pub["api_id"]}
        portal = portals.get(pub["portal_id"]) or {"name": pub["portal_id"]}
        out.append("%s on %s" % (api_label(api.get("name"), api.get("version")), portal.get("name")))
    return sorted(out)


# -- the _info modules ----------------------------------------------------------------


def lookup(client, kind, ref=None, filters=None):
    """Every object of KIND, or those named REF, or the one whose id is REF (a list either way)."""
    if ref is None:
        return client.list(KINDS[kind].path, filters)
    if is_uuid(ref):
        found = client.get_by_id(kind, ref)
        if found is not None:
            return [found]
    return client.find_by_name(kind, ref, filters)


def lookup_publications(client, api=None, api_version=None, portal=None, auth_strategy=None):
    """Publication list items, filtered by API, portal and auth strategy (names or ids),
    with ``api_name``, ``api_version`` and ``portal_name`` added."""
    filters = {}
    apis = {}
    portals = {}
    if api is not None:
        found = lookup(client, "api", api, eq("version", api_version) if api_version else None)
        found = [a for a in found if not api_version or a.get("version") == api_version]
        if not found:
            return []
        apis = dict((a["id"], a) for a in found)
        filters.update(eq("api_id", found[0]["id"]) if len(found) == 1 else oeq("api_id", sorted(apis)))
    if portal is not None:
        found = client.find_one("portal", portal)
        if found is None:
            return []
        portals[found["id"]] = found
        filters.update(eq("portal_id", found["id"]))
    if auth_strategy is not None:
        found = client.find_one("auth_strategy", auth_strategy)
        if found is None:
            return []
        filters.update(eq("auth_strategy_id", found["id"]))
    items = client.publications(filters)
    missing_apis = sorted(set(i["api_id"] for i in items) - set(apis))
    missing_portals = sorted(set(i["portal_id"] for i in items) - set(portals))
    if missing_apis:
        apis.update((k, v) for k, v in client.find_many("api", missing_apis).items() if v)
    if missing_portals:
        portals.update((k, v) for k, v in client.find_many("portal", missing_portals).items() if v)
    out = []
    for item in items:
        api_obj = apis.get(item["api_id"]) or {}
        portal_obj = portals.get(item["portal_id"]) or {}
        out.append(
            dict(
                item,
                api_name=api_obj.get("name"),
                api_version=api_obj.get("version"),
                portal_name=portal_obj.get("name"),
            )
        )
    return out
