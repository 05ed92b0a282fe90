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
    "403": "Not allowed (forbidden); a deactivated account signing in (account_deactivated)",
    "404": "No such room, user or file, or not visible to you (not_found)",
    "409": (
        "Name taken, the message is deleted, it has all the reactions it may,"
        " the file is attached already, or the last active server admin would be lost"
        " (conflict)"
    ),
    "408": "The request body did not arrive in time (timeout)",
    "413": "Body or file too large, or over your file quota (too_large)",
    "415": "Not sent as application/json (bad_request)",
    "429": "Too many requests (rate_limited); see retry_after",
    "431": "The request head, its URL and headers, over 16 KiB (too_large)",
    "503": "Storage unavailable or the server overloaded (unavailable); try again later",
}

_PATH_SCHEMAS = {
    "room": {"type": "string"},
    "user": {"type": "string"},
    "seq": {"type": "integer", "minimum": 0},
    "root": {"type": "integer", "minimum": 0, "description": "the seq of the thread's root"},
    "emoji": {"type": "string", "description": "one emoji or a :name:, URL-encoded"},
    "file": {"type": "string", "description": "a file's id"},
    "name": {"type": "string", "description": "any name; not read"},
    "id": {"type": "string", "description": "an invite link's id"},
    "address": {"type": "string", "description": "an IP address or network, URL-encoded"},
    "hook": {"type": "string", "description": "a webhook's id"},
    "secret": {"type": "string", "description": "a webhook's secret: the credential"},
}
_BINARY = {"type": "string", "format": "binary"}


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
        elif e.raw_body is not None:
            op["requestBody"] = {"required": True, "content": {e.raw_body: {"schema": _BINARY}}}
        ok: dict[str, Any] = {"description": "OK"}
        if e.response is not None:
            ok["content"] = {"application/json": {"schema": refs[e.response]}}
        elif e.raw_response is not None:
            ok["content"] = {e.raw_response: {"schema": _BINARY}}
        partial = {"206": {"description": "Partial Content: the Range asked for"}}
        again = {"description": "Made before, so nothing new: what the first one made"}
        repeat = {} if e.repeat_status is None else {str(e.repeat_status): ok | again}
        op["responses"] = (
            {str(e.status): ok}
            | repeat
            | (partial if e.raw_response else {})
            | {code: {"description": text} | error for code, text in _ERRORS.items()}
        )
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
