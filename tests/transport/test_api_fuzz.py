"""The HTTP API fuzzed against its own OpenAPI document with schemathesis: every operation of
``/api/v1/openapi.json``, generated requests (valid and invalid) sent over real sockets to a
real server, as a server admin and as a plain user. No answer may be a 5xx, and every answer
must be one the document describes: a documented status, its content type, its schema."""

from __future__ import annotations

import asyncio
import itertools
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis import Case
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from support import PASSWORD, bearer, call_api, config_for, public_room, running_server

from hubbub.transport.openapi import build_openapi

ROOM = "fuzz"  # where the first two users and a bystander are, with a few messages
USERS = ("fuzzadmin", "fuzzmember", "bystander")
LEAVERS = itertools.count()
EXAMPLES = 15  # generated cases per operation, besides schemathesis's boundary cases
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@dataclass(frozen=True)
class FuzzTarget:
    url: str
    admin: str  # the token of the first account, so a server admin
    member: str  # the token of a plain account


class ServerThread(threading.Thread):
    """A real in-process server with its own event loop in a thread, so the synchronous
    schemathesis calls of a test can reach it while the test's thread waits for them."""

    def __init__(self, data_dir: Path) -> None:
        super().__init__(name="fuzzed-server", daemon=True)
        self.data_dir = data_dir
        self.ready = threading.Event()
        self.target: FuzzTarget | None = None
        self.error: BaseException | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._done: asyncio.Event | None = None

    def run(self) -> None:
        try:
            asyncio.run(self._serve())
        except BaseException as exc:
            self.error = exc
        finally:
            self.ready.set()

    async def _serve(self) -> None:
        self._loop, self._done = asyncio.get_running_loop(), asyncio.Event()
        # Buckets roomy enough that most requests reach the code behind them (429 is documented,
        # and still met: profile changes and sign-ins keep their fixed buckets).
        roomy = {f"{kind}_burst": 10_000.0 for kind in ("room_action", "read", "search")}
        async with running_server(config_for(self.data_dir, **roomy)) as server:
            async with aiohttp.ClientSession() as http:
                admin, member, _ = await public_room(http, server.url, ROOM, USERS)
                for token in (admin, member):
                    for n in range(3):
                        url = f"{server.url}/api/v1/rooms/{ROOM}/messages"
                        sent = await call_api(
                            http, "POST", url, token, json={"client_msg_id": f"m{n}", "body": "hi"}
                        )
                        assert sent.status == 201, sent.body
            self.target = FuzzTarget(server.url, admin, member)
            self.ready.set()
            await self._done.wait()

    def stop(self) -> None:
        if self.is_alive() and self._loop is not None and self._done is not None:
            self._loop.call_soon_threadsafe(self._done.set)
        self.join(30)


@pytest.fixture(scope="module")
def fuzz_target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FuzzTarget]:
    thread = ServerThread(tmp_path_factory.mktemp("fuzz") / "data")
    thread.start()
    try:
        assert thread.ready.wait(30), "the server did not start"
        if thread.error is not None:
            raise thread.error
        assert thread.target is not None
        yield thread.target
    finally:
        thread.stop()


@pytest.fixture(scope="module")
def http_session() -> Iterator[requests.Session]:
    with requests.Session() as session:
        yield session


# The document the server serves, built as it builds it: the operations are collected before
# any server runs (one test each), and `test_the_fuzzed_document_is_the_served_one` holds the
# two the same. schemathesis gets a copy of its own, which it annotates in place.
DOCUMENT = build_openapi()
schema = schemathesis.openapi.from_dict(build_openapi())


@schema.hook
def map_path_parameters(context: Any, path_parameters: dict[str, Any] | None) -> Any:
    """Half the rooms and users generated become real ones (which half, the generated text
    decides, so a run stays reproducible): else nearly every answer would be a 404. The
    users acted on are the bystander, so the two tokens stay good."""
    mapped = dict(path_parameters or {})
    for key, real in (("room", ROOM), ("user", USERS[2])):
        value = mapped.get(key)
        if isinstance(value, str) and len(value) % 2:
            mapped[key] = real
    return mapped


def test_the_fuzzed_document_is_the_served_one(
    fuzz_target: FuzzTarget, http_session: requests.Session
) -> None:
    response = http_session.get(fuzz_target.url + "/api/v1/openapi.json", timeout=10)
    assert response.status_code == 200
    assert response.json() == json.loads(json.dumps(DOCUMENT))  # tuples as lists


def test_an_answer_the_document_does_not_list_fails(
    fuzz_target: FuzzTarget, http_session: requests.Session
) -> None:
    """The checks can fail: were `GET /me` documented as answering 201, its 200 would fail."""
    wrong = build_openapi()
    responses = wrong["paths"]["/api/v1/me"]["get"]["responses"]
    responses["201"] = responses.pop("200")
    case = schemathesis.openapi.from_dict(wrong)["/api/v1/me"]["GET"].Case()
    with pytest.raises(FailureGroup, match="Undocumented status code"):
        case.call_and_validate(
            base_url=fuzz_target.url,
            session=http_session,
            checks=CHECKS,
            headers=bearer(fuzz_target.member),
            timeout=10,
        )


def fresh_token(session: requests.Session, url: str) -> str:
    """The token of a new account (sign-ups are cheap here, sign-ins throttled by address)."""
    name = f"leaver{next(LEAVERS)}"
    response = session.post(
        url + "/api/v1/register", json={"username": name, "password": PASSWORD}, timeout=10
    )
    assert response.status_code == 201, response.text
    return str(response.json()["token"])


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,  # a request's time is the server's, not the generator's
    derandomize=True,  # the same cases on every run, so CI is reproducible
    # Slow generation, filtered and large inputs are what fuzzing an API is made of.
    suppress_health_check=list(HealthCheck),
)
def test_every_answer_is_documented(
    case: Case[Any], fuzz_target: FuzzTarget, http_session: requests.Session
) -> None:
    """Each case is sent as the server admin and again as the plain member; `logout` alone
    as a new account, since it revokes the token it is sent."""
    tokens = [fuzz_target.admin, fuzz_target.member]
    if case.operation.path == "/api/v1/logout":
        tokens = [fresh_token(http_session, fuzz_target.url)]
    for token in tokens:
        http_session.cookies.clear()  # what a sign-up or sign-in set: the bearer alone speaks
        kwargs: dict[str, Any] = {"headers": bearer(token), "timeout": 10}
        case.call_and_validate(
            base_url=fuzz_target.url, session=http_session, checks=CHECKS, **kwargs
        )
