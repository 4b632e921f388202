"""Where the virtual key comes from: x-api-key, Authorization: Bearer, or x-bf-vk."""
from __future__ import annotations

from multidict import CIMultiDictProxy

AUTH_HEADERS = ("x-api-key", "authorization", "x-bf-vk")


def presented_keys(headers: CIMultiDictProxy) -> list[str]:
    """Every credential the client sent, most specific first (Claude Code may send both x-api-key and Bearer)."""
    out = []
    vk = headers.get("x-bf-vk")
    if vk:
        out.append(vk.strip())
    api_key = headers.get("x-api-key")
    if api_key:
        out.append(api_key.strip())
    auth = headers.get("authorization", "")
    if auth[:7].lower() == "bearer ":
        out.append(auth[7:].strip())
    return [k for k in out if k]
