"""Validation of what the emulators receive and send against ../shared/specs.

Every emulated service checks each request and each response against the
official OpenAPI documents. A request the contract rejects gets the service's
own 400; a response that breaks the contract is an emulator bug, recorded in
``contract-violations.jsonl`` and answered with a 500 so a test sees it.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from pathlib import Path

from openapi_core import Config, OpenAPI
from openapi_core.deserializing.media_types.util import json_loads
from openapi_core.templating.paths.exceptions import OperationNotFound, PathNotFound, ServerNotFound
from openapi_core.testing import MockRequest, MockResponse
from openapi_core.validation.request.exceptions import SecurityValidationError

SPECS_DIR = Path(
    os.environ.get("KONNECT_DEVPORTAL_SPECS", Path(__file__).resolve().parents[2].parent / "shared" / "specs")
)

# jsonschema keyword -> Konnect's invalid_parameters[].rule
RULES = {
    "required": "required",
    "additionalProperties": "unknown_property",
    "enum": "enum",
    "type": "type",
    "minLength": "min_length",
    "maxLength": "max_length",
    "minItems": "min_items",
    "maxItems": "max_items",
    "pattern": "matches_regex",
    "format": "type",
    "minimum": "min",
    "maximum": "max",
}

_NOT_MINE = (PathNotFound, ServerNotFound, OperationNotFound)
_CACHE: dict[str, OpenAPI] = {}


def load(name: str) -> OpenAPI:
    if name not in _CACHE:
        import yaml

        with open(SPECS_DIR / name, encoding="utf-8") as fh:
            # the C loader when PyYAML has it: the same documents, ten times faster (startup budget)
            document = yaml.load(fh, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))  # noqa: S506
        # Konnect's errors are application/problem+json: parse them as JSON so they are checked
        config = Config(extra_media_type_deserializers={"application/problem+json": json_loads})
        _CACHE[name] = OpenAPI.from_dict(_kong_quirks(_open_types(document)), config=config)
    return _CACHE[name]


def _kong_quirks(document):
    """Kong's documents contradict themselves where a validator trips:
    ``LabelsUpdate`` is ``writeOnly`` yet the portal-management ``Application``
    responses require ``labels`` of that type; ``nullable`` enums (the Portal
    API's ``registration_status``) leave ``null`` out of ``enum``; and see
    _unmapped_discriminators."""
    labels_update = document.get("components", {}).get("schemas", {}).get("LabelsUpdate")
    if isinstance(labels_update, dict):
        labels_update.pop("writeOnly", None)
    _nullable_enums(document)
    return _unmapped_discriminators(document)


def _nullable_enums(node):
    if isinstance(node, dict):
        if node.get("nullable") is True and isinstance(node.get("enum"), list) and None not in node["enum"]:
            node["enum"] = [*node["enum"], None]
        for value in node.values():
            _nullable_enums(value)
    elif isinstance(node, list):
        for value in node:
            _nullable_enums(value)


def _unmapped_discriminators(node):
    """The Portal API declares ``discriminator: {propertyName: credential_type}``
    (and ``type``) with no ``mapping`` while its values (``client_credentials``,
    ``api_key``) are not schema names, so no value could ever resolve. Drop
    such discriminators: the ``oneOf`` they sit on still decides."""
    if isinstance(node, dict):
        if isinstance(node.get("discriminator"), dict) and "mapping" not in node["discriminator"] and "oneOf" in node:
            del node["discriminator"]
        for value in node.values():
            _unmapped_discriminators(value)
    elif isinstance(node, list):
        for value in node:
            _unmapped_discriminators(value)
    return node


def _open_types(node):
    """Graph's generator writes OData open types as ``additionalProperties:
    {type: object}`` on every ``allOf`` part; JSON Schema would then demand
    that every property of the *other* parts be an object. The intent is
    "extra properties allowed", so say that."""
    if isinstance(node, dict):
        if node.get("additionalProperties") == {"type": "object"}:
            node["additionalProperties"] = True
        for value in node.values():
            _open_types(value)
    elif isinstance(node, list):
        for value in node:
            _open_types(value)
    return node


class Contract:
    """One or more OpenAPI documents that together describe a service.

    ``host`` is the scheme+host of the documents' ``servers`` entry, so
    emulator paths (``/v2/dcr-providers``) resolve as in production.
    ``rewrite`` maps an emulator path to the spec's spelling of it (Graph's
    ``/addPassword`` alias of ``/microsoft.graph.addPassword``).
    """

    # request headers that take part in a check (the spec's header parameters)
    key_headers: tuple[str, ...] = ("content-type",)
    MAX_CACHED = 4096

    def __init__(self, spec_names, host: str, prefix: str = "", rewrite: Callable[[str], str] | None = None):
        self.specs = [load(n) for n in spec_names]
        self.host = host
        self.prefix = prefix
        self.rewrite = rewrite or (lambda p: p)
        # openapi-core takes 5-80 ms a message on these specs, and a check is a pure function of
        # what was sent, so an identical request or response (polling, paging, retries) is checked once
        self._seen_requests: dict[tuple, list] = {}
        self._seen_responses: dict[tuple, list] = {}

    def _remember(self, cache, key, compute):
        errors = cache.get(key)
        if errors is None:
            if len(cache) >= self.MAX_CACHED:
                cache.clear()
            errors = cache[key] = compute()
        return errors

    def _request_key(self, req) -> tuple:
        return (req.method, req.path, req.raw_query, req.body, *(req.headers.get(h) for h in self.key_headers))

    def _mock(self, req) -> MockRequest:
        headers = {k: v for k, v in req.headers.items() if k != "cookie"}
        return MockRequest(
            self.host,
            req.method.lower(),
            self.prefix + self.rewrite(req.path),
            args=_flat_query(req.query),
            data=req.body or None,
            headers=headers,
            cookies=req.cookies(),
            content_type=req.headers.get("content-type") or "application/json",
        )

    def check_request(self, req) -> list[dict]:
        return self._remember(self._seen_requests, self._request_key(req), lambda: self._check_request(req))

    def check_response(self, req, resp) -> list[str]:
        key = (req.method, self.rewrite(req.path), resp.status, resp.content_type, hashlib.sha256(resp.body).digest())
        return self._remember(self._seen_responses, key, lambda: self._check_response(req, resp))

    def _check_request(self, req) -> list[dict]:
        mock = self._mock(req)
        for spec in self.specs:
            result = spec.unmarshal_request(mock)
            errors = [e for e in result.errors if not isinstance(e, SecurityValidationError)]
            if errors and isinstance(errors[0], _NOT_MINE):
                continue
            details = [d for e in errors for d in describe(e)]
            return [d for d in details if not _tool_limit(d)]
        return []

    def _check_response(self, req, resp) -> list[str]:
        mock = self._mock(req)
        response = MockResponse(resp.body or b"", status_code=resp.status, content_type=resp.content_type or None)
        for spec in self.specs:
            # validate only: unmarshalling the body as well costs 20x more (70 ms for ten DCR providers)
            errors = list(spec.response_validator.iter_errors(mock, response))
            if errors and isinstance(errors[0], _NOT_MINE):
                continue
            return [f"{type(e).__name__}: {e} {_cause(e)}".strip() for e in errors]
        return []


def _tool_limit(detail) -> bool:
    """openapi-core limits, not contract violations: it reports a path id
    whose schema is ``readOnly`` as a write, and cannot parse two-level
    deepObject filters (``filter[name][eq]``, the portal API's
    ``applicationfilter``); the services check those."""
    return (detail["rule"] == "readOnly" and detail["source"] == "query") or (
        detail["source"] == "query" and detail["field"] in ("filter", "page", "applicationfilter")
    )


def _flat_query(query: dict[str, list[str]]) -> dict[str, str]:
    return {k: v[-1] for k, v in query.items()}


def _cause(exc) -> str:
    cause = exc.__cause__
    return f"({cause})" if cause else ""


def describe(exc) -> list[dict]:
    """Field-level detail of one openapi-core error: field, rule, reason."""
    schema_errors = []
    cause = exc.__cause__
    while cause is not None and not schema_errors:
        schema_errors = list(getattr(cause, "schema_errors", []) or [])
        cause = cause.__cause__
    if not schema_errors:
        name = getattr(exc, "name", None) or getattr(getattr(exc, "__cause__", None), "name", None)
        return [{"field": name or "body", "rule": "type", "reason": str(exc), "source": _source(exc)}]
    out = []
    for err in schema_errors:
        for leaf in _leaves(err):
            out.append(_detail(leaf, _source(exc)))
    return out


def _leaves(err):
    """The most specific errors under a oneOf/anyOf failure."""
    discriminator = (err.schema or {}).get("discriminator") if isinstance(err.schema, dict) else None
    if err.validator in ("oneOf", "anyOf") and discriminator and isinstance(err.instance, dict):
        prop = discriminator["propertyName"]
        if prop not in err.instance:
            return [_Synthetic(err, prop, "required", "is a required field")]
        choices = sorted(discriminator.get("mapping", {}))
        if choices and err.instance[prop] not in choices:
            return [_Synthetic(err, prop, "enum", "must be one of: " + ", ".join(choices), choices)]
    if err.validator in ("oneOf", "anyOf") and err.context:
        # keep the branch that got furthest (the discriminated one)
        best = max(err.context, key=lambda e: (len(e.relative_schema_path), -len(list(e.context or []))))
        branch = [e for e in err.context if list(e.relative_schema_path)[:1] == list(best.relative_schema_path)[:1]]
        return [leaf for e in branch for leaf in _leaves(e)]
    return [err]


class _Synthetic:
    """A leaf error for a discriminator problem, shaped like a jsonschema error."""

    def __init__(self, parent, prop, rule, reason, choices=None):
        self.absolute_path = [*parent.absolute_path, prop]
        self.validator = "_synthetic"
        self.rule = rule
        self.message = reason
        self.choices = choices


def _detail(err, source):
    if isinstance(err, _Synthetic):
        detail = {"field": ".".join(str(p) for p in err.absolute_path), "rule": err.rule, "reason": err.message}
        if err.choices:
            detail["choices"] = err.choices
        detail["source"] = source
        return detail
    path = ".".join(str(p) for p in err.absolute_path)
    rule = RULES.get(err.validator, err.validator)
    detail = {"field": path, "rule": rule, "reason": err.message, "source": source}
    if err.validator == "required":
        missing = err.message.split("'")[1] if "'" in err.message else ""
        detail["field"] = ".".join(p for p in (path, missing) if p)
        detail["reason"] = "is a required field"
    elif err.validator == "additionalProperties":
        extra = sorted(set(err.instance) - set(err.schema.get("properties", {})))
        detail["field"] = ".".join(p for p in (path, ",".join(extra)) if p)
        detail["reason"] = "is not a known property"
    elif err.validator == "enum":
        detail["choices"] = list(err.validator_value)
    elif err.validator in ("maxLength", "maxItems", "maximum"):
        detail["maximum"] = err.validator_value
    elif err.validator in ("minLength", "minItems", "minimum"):
        detail["minimum"] = err.validator_value
    elif err.validator == "format" and err.validator_value == "uuid":
        detail["rule"] = "is_uuid"
    return detail


def _source(exc) -> str:
    name = type(exc).__name__.lower()
    if "body" in name:
        return "body"
    if "parameter" in name:
        return "query"
    return "body"
