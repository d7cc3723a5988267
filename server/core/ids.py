"""Opaque identifiers and secret tokens."""

from __future__ import annotations

import hashlib
import secrets


def new_id() -> str:
    """A random, URL-safe, unguessable id (96 bits)."""
    return secrets.token_urlsafe(12)


def new_token() -> str:
    """A secret of 256 bits, shown once to its owner and stored only as a hash."""
    return secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
