"""Secrets handed to people (calendar addresses, password links): only their hash is kept.

A token carries 256 random bits, so a fast hash is as good as a slow one: nobody can guess
a token from its hash, and looking one up stays a single indexed read.
"""

from __future__ import annotations

import hashlib
import secrets

MAX_TOKEN_LENGTH = 200  # anything longer was never one of ours


def new_token() -> str:
    return secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def looks_like_token(token: str | None) -> bool:
    return bool(token) and len(token) <= MAX_TOKEN_LENGTH and token.isascii()
