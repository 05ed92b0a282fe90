"""The OpenAPI 3.1 document of ``/api/v1``, generated from the endpoint table and its types."""

from __future__ import annotations

import re
from typing import Any

import msgspec

from hubbub import __version__
from hubbub.transport.http_api import ENDPOINTS, ErrorOut

_REF = "#/components/schemas/{name}"
_ERRORS = {
    "400": "Malformed or invalid request (bad_request)",
    "401": "Missing or bad credentials (unauthenticated)",
    "403": "Not allowed (forbidden)",
    "404": "No such room or user, or not visible to you (not_found)",
    "409": "Name taken, the message is deleted, or it has all the reactions it may (conflict)",
    "408": "The request body did not arrive in time (timeout)",
    "413": "Body too large (too_large)",
    "415": "Not sent as application/json (bad_request)",
    "429": "Too many requests (rate_limited); see retry_after",
    "503": "Storage unavailable or the server overloaded (unavailable); try again later",
}

_PATH_SCHEMAS = {
    "room": {"type": "string"},
    "user": {"type": "string"},
    "seq": {"type": "integer", "minimum": 0},
    "root": {"type": "integer", "minimum": 0, "description": "the seq of the thread's root"},
    "emoji": {"type": "string", "description": "one emoji or a :name:, URL-encoded"},
}


def build_openapi() -> dict[str, Any]:
    types: set[type] = {ErrorOut}
    for e in ENDPOINTS:
        types.update(t for t in (e.body, e.response, e.query) if t is not None)
    ordered = sorted(types, key=lambda t: t.__name__)
    schemas, components = msgspec.json.schema_components(ordered, ref_template=_REF)
    refs = dict(zip(ordered, schemas, strict=True))
    error = {"content": {"application/json": {"schema": refs[ErrorOut]}}}
    paths: dict[str, dict[str, Any]] = {}
    for e in ENDPOINTS:
        op: dict[str, Any] = {"summary": e.summary, "operationId": e.handler.__name__}
        params = [
            {"name": name, "in": "path", "required": True, "schema": _PATH_SCHEMAS[name]}
            for name in re.findall(r"{(\w+)}", e.path)
        ]
        if e.query is not None:
            props = components[e.query.__name__]["properties"]
            params += [{"name": n, "in": "query", "schema": s} for n, s in props.items()]
        if params:
            op["parameters"] = params
        if e.body is not None:
            op["requestBody"] = {
                "required": True,
                "content": {"application/json": {"schema": refs[e.body]}},
            }
        ok: dict[str, Any] = {"description": "OK"}
        if e.response is not None:
            ok["content"] = {"application/json": {"schema": refs[e.response]}}
        op["responses"] = {str(e.status): ok} | {
            code: {"description": text} | error for code, text in _ERRORS.items()
        }
        if e.auth:
            op["security"] = [{"bearer": []}, {"cookie": []}]
        paths.setdefault(e.path, {})[e.method.lower()] = op
    return {
        "openapi": "3.1.0",
        "info": {"title": "hubbub HTTP API", "version": __version__},
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer"},
                "cookie": {"type": "apiKey", "in": "cookie", "name": "hubbub_session"},
            },
        },
    }
