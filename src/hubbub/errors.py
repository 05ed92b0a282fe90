"""The one error tree of hubbub.

Every error a client can see is a ``HubbubError`` with a machine-readable ``code``; the HTTP
status that goes with it lives here too, so the mapping exists in exactly one place. Anything
that is not a ``HubbubError`` is a bug on our side: clients get ``internal`` and a generic text,
the details go to the log only. (Refusals that come from aiohttp itself, such as ``too_large``
for a body over the size bound, get their codes in ``transport/app.py``.)

    HubbubError
    ├── BadRequest        bad_request     400  the client sent something malformed or invalid
    ├── Unauthenticated   unauthenticated 401  no or bad credentials
    ├── Forbidden         forbidden       403  allowed to see, not allowed to do
    ├── NotFound          not_found       404  missing, or not visible to this user
    ├── Conflict          conflict        409  the name is taken
    ├── RateLimited       rate_limited    429  slow down; ``retry_after`` in seconds
    └── Unavailable       unavailable     503  the server is overloaded or shutting down
"""

from __future__ import annotations


class HubbubError(Exception):
    code = "internal"
    http_status = 500

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class BadRequest(HubbubError):
    code = "bad_request"
    http_status = 400


class Unauthenticated(HubbubError):
    code = "unauthenticated"
    http_status = 401


class Forbidden(HubbubError):
    code = "forbidden"
    http_status = 403


class NotFound(HubbubError):
    code = "not_found"
    http_status = 404


class Conflict(HubbubError):
    code = "conflict"
    http_status = 409


class RateLimited(HubbubError):
    code = "rate_limited"
    http_status = 429

    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class Unavailable(HubbubError):
    code = "unavailable"
    http_status = 503


def room_not_found(room: str) -> NotFound:
    """The answer for a room that is missing *or* that the user may not see: identical."""
    return NotFound(f"no room named {room!r}")
