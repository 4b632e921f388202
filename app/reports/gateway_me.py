"""How `bifrost-tui status` asks the gateway about the caller's own key (GET /api/me), and what an answer means.

/api/me lives at the gateway's root: ANTHROPIC_BASE_URL without its `/anthropic`. A 401 from there means an
unknown key only if that root is a bifrost-tui gateway: a wrong path can answer 401 as well (under /api/ the
management API asks for its admin token, and other servers deny everything), so the root's /api/hello, which
every gateway answers with "bifrost-tui gateway", is asked first. A 404 is a path no gateway has: a typo, a
missing or extra part. Messages never contain the key.
"""
from __future__ import annotations

import json
import os
import urllib.error
import urllib.request

KEY_VARS = ("ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN")
GATEWAY_GREETING = b"bifrost-tui gateway"  # GET /api/hello (and / and /anthropic) on every gateway


class StatusError(Exception):
    def __init__(self, message: str, code: int = 1):
        super().__init__(message)
        self.code = code


def gateway_root(base_url: str) -> str:
    """http://host:8080/anthropic/ -> http://host:8080 (/api/me lives at the server root)."""
    return base_url.strip().rstrip("/").removesuffix("/anthropic")


def credentials(env=os.environ) -> tuple[str, str]:
    """(ANTHROPIC_BASE_URL, virtual key); StatusError(code 2) naming what to set."""
    base = env.get("ANTHROPIC_BASE_URL", "").strip()
    key = next((env[v].strip() for v in KEY_VARS if env.get(v, "").strip()), "")
    missing = ([] if base else ["ANTHROPIC_BASE_URL (e.g. http://gateway-host:8080/anthropic)"]) + \
              ([] if key else ["ANTHROPIC_API_KEY (or ANTHROPIC_AUTH_TOKEN) to your virtual key"])
    if missing:
        raise StatusError("set " + " and ".join(missing) + " — the same variables Claude Code uses", 2)
    if not base.lower().startswith(("http://", "https://")):
        raise StatusError(f"ANTHROPIC_BASE_URL must start with http:// or https://; got {base!r}", 2)
    return base, key


def not_a_gateway(base: str, what: str) -> StatusError:
    return StatusError(f"ANTHROPIC_BASE_URL ({base}) does not look like a bifrost-tui gateway: {what}. Check its "
                       "path: the gateway's address, optionally followed by /anthropic (e.g. "
                       "http://gateway-host:8080/anthropic), as Claude Code uses it")


def is_gateway(root: str, timeout: float) -> bool:
    """Whether `root` answers /api/hello as a bifrost-tui gateway does (no credentials sent)."""
    request = urllib.request.Request(f"{root}/api/hello", headers={"user-agent": "bifrost-tui-status"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.read(len(GATEWAY_GREETING)) == GATEWAY_GREETING
    except (urllib.error.URLError, OSError, ValueError):
        return False


def fetch_me(base: str, key: str, timeout: float = 10.0) -> bytes:
    """The raw /api/me body for ANTHROPIC_BASE_URL `base`; StatusError with a message that never contains the key."""
    root = gateway_root(base)
    url = f"{root}/api/me"
    request = urllib.request.Request(url, headers={"x-api-key": key, "accept": "application/json",
                                                   "user-agent": "bifrost-tui-status"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            body = response.read()
    except urllib.error.HTTPError as exc:
        if exc.code == 404:
            raise not_a_gateway(base, f"{url} is not found (HTTP 404)") from None
        if exc.code == 401 and not is_gateway(root, timeout):  # its message (an admin token?) would mislead
            raise not_a_gateway(base, f"{url} answered HTTP 401, and {root}/api/hello does not answer as a "
                                      "gateway does") from None
        if exc.code == 401:
            raise StatusError(f"the gateway does not know this key (HTTP 401 from {url}); check "
                              "ANTHROPIC_API_KEY / ANTHROPIC_AUTH_TOKEN") from None
        raise StatusError(f"{url} answered HTTP {exc.code}: {error_message(exc.read())}") from None
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        raise StatusError(f"cannot reach the gateway at {url} ({reason}); is the gateway running?") from None
    try:
        me = json.loads(body)
    except ValueError:
        me = None
    if not isinstance(me, dict) or "key" not in me:
        raise not_a_gateway(base, f"{url} did not answer with a key's status")
    return body


def error_message(body: bytes) -> str:
    try:
        return str(json.loads(body)["error"]["message"])
    except (ValueError, KeyError, TypeError):
        return body[:200].decode("utf-8", "replace").strip() or "no body"
