"""The one error tree of hubbub, and the one table of HTTP error statuses.

Every error a client can see is a ``HubbubError`` with a machine-readable ``code``. Each
HTTP error status hubbub answers with has one entry in ``STATUSES``: its code and its reason
phrase. An error class names only its status; its code comes from the table, unless the
class needs a finer one for clients to tell it apart (``AccountDeactivated``). The HTTP API,
aiohttp's own refusals (``too_large`` for a body over the size bound, ``timeout``) and the
WebSocket handshake's refusals all take their codes from it. Anything that is not a
``HubbubError`` is a bug on our side: clients get ``internal`` and a generic text, the
details go to the log only.

    HubbubError
    ├── BadRequest        bad_request     400  the client sent something malformed or invalid
    ├── Unauthenticated   unauthenticated 401  no or bad credentials
    ├── Forbidden         forbidden       403  allowed to see, not allowed to do
    │   └── AccountDeactivated  account_deactivated  403  sign-in to a deactivated account
    ├── NotFound          not_found       404  missing, or not visible to this user
    ├── Conflict          conflict        409  the name is taken
    ├── TooLarge          too_large       413  over a size bound or a quota
    ├── RateLimited       rate_limited    429  slow down; ``retry_after`` in seconds
    └── Unavailable       unavailable     503  the server is overloaded or shutting down
"""

from __future__ import annotations

from typing import Any, ClassVar, NamedTuple


class Status(NamedTuple):
    code: str  # the ``code`` of the ``{code, message}`` body
    phrase: str  # the reason phrase of the status line


STATUSES: dict[int, Status] = {
    400: Status("bad_request", "Bad Request"),
    401: Status("unauthenticated", "Unauthorized"),
    403: Status("forbidden", "Forbidden"),
    404: Status("not_found", "Not Found"),
    405: Status("bad_request", "Method Not Allowed"),
    408: Status("timeout", "Request Timeout"),
    409: Status("conflict", "Conflict"),
    413: Status("too_large", "Content Too Large"),
    415: Status("bad_request", "Unsupported Media Type"),
    426: Status("bad_request", "Upgrade Required"),
    429: Status("rate_limited", "Too Many Requests"),
    431: Status("too_large", "Request Header Fields Too Large"),
    500: Status("internal", "Internal Server Error"),
    503: Status("unavailable", "Service Unavailable"),
}


def status_of(http_status: int) -> Status:
    """The entry of an HTTP error status; one not in the table is ``internal`` from 500 up
    and ``bad_request`` below."""
    known = STATUSES.get(http_status)
    if known is not None:
        return known
    return Status("internal" if http_status >= 500 else "bad_request", "Error")


class HubbubError(Exception):
    http_status: ClassVar[int] = 500
    code: ClassVar[str] = STATUSES[500].code

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "code" not in cls.__dict__:  # the table decides, unless a class names a finer code
            cls.code = status_of(cls.http_status).code

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class BadRequest(HubbubError):
    http_status = 400


class Unauthenticated(HubbubError):
    http_status = 401


class Forbidden(HubbubError):
    http_status = 403


class AccountDeactivated(Forbidden):
    """Sign-in to a deactivated account, refused once its password checked out."""

    code = "account_deactivated"


class NotFound(HubbubError):
    http_status = 404


class Conflict(HubbubError):
    http_status = 409


class TooLarge(HubbubError):
    http_status = 413


class RateLimited(HubbubError):
    http_status = 429

    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class Unavailable(HubbubError):
    http_status = 503


def room_not_found(room: str) -> NotFound:
    """The answer for a room that is missing *or* that the user may not see: identical."""
    return NotFound(f"no room named {room!r}")


def file_not_found(file_id: str) -> NotFound:
    """The answer for a file that is missing *or* that the user may not fetch: identical."""
    return NotFound(f"no file {file_id!r}")
