"""What the client raises. Every error is a ``ClientError``; none carries a token or a body."""

from __future__ import annotations


class ClientError(Exception):
    """Something the client could not do."""


class RequestError(ClientError):
    """The server answered a request with ``error``: ``code`` to match on (see Error codes
    in protocol.md), ``message`` for people, ``retry_after`` (seconds) with
    ``rate_limited``."""

    def __init__(self, code: str, message: str, retry_after: float | None = None) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.retry_after = retry_after


class OutboxFull(ClientError):
    """The outbox holds as many messages as it may; wait for some to be acknowledged."""


class ConnectionLost(ClientError):
    """The connection ended before the reply came; the request may or may not have been
    handled (``send`` is retried by the outbox instead)."""


class ClientClosed(ClientError):
    """The client was closed, or stopped for good (``__cause__`` says why)."""


class Stopped(ClientError):
    """The server closed the connection in a way that reconnecting would not mend (a close
    code or a handshake refusal the protocol says not to retry after)."""

    def __init__(self, message: str, close_code: int | None = None, status: int | None = None):
        super().__init__(message)
        self.close_code = close_code
        self.status = status


class AuthFailed(Stopped):
    """The credential is not (or no longer) valid: a bad, revoked or expired token (close
    4401), a wrong password, a deactivated account. Sign in again with a new one."""

    def __init__(
        self,
        message: str,
        code: str = "unauthenticated",
        close_code: int | None = None,
        status: int | None = None,
    ) -> None:
        super().__init__(message, close_code, status)
        self.code = code


__all__ = [
    "AuthFailed",
    "ClientClosed",
    "ClientError",
    "ConnectionLost",
    "OutboxFull",
    "RequestError",
    "Stopped",
]
