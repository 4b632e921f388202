"""Virtual keys: generated, hashed with SHA-256, compared in constant time. The key itself is never stored."""
from __future__ import annotations

import hashlib
import hmac
import secrets

KEY_PREFIX = "vk-"


def hash_key(value: str) -> str:
    return "sha256:" + hashlib.sha256(value.encode("utf-8")).hexdigest()


def new_key(label: str = "") -> str:
    """A fresh virtual key such as vk-pranay-3f9c…; shown once, then only its hash is kept."""
    slug = "".join(c for c in label.lower() if c.isalnum() or c == "-")[:24]
    return f"{KEY_PREFIX}{slug + '-' if slug else ''}{secrets.token_urlsafe(24)}"


def hashes_equal(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


def key_hint(value: str) -> str:
    """A short non-secret hint for messages: the first 6 characters and the length."""
    return f"{value[:6]}… ({len(value)} chars)"
