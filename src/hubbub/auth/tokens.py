"""Opaque session tokens: 256 random bits for the client, only their SHA-256 on disk.

A stolen database yields no usable token, and deleting the row revokes a token at once.
"""

from __future__ import annotations

import hashlib
import secrets


def new_token() -> str:
    return secrets.token_urlsafe(32)


def token_hash(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()
