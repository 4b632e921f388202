"""Errors in the caller's own API shape. Anthropic: {"type":"error","error":{"type","message"}}."""
from __future__ import annotations

import json

from aiohttp import web

from ..core.governance import Refused

ANTHROPIC_TYPES = {
    400: "invalid_request_error", 401: "authentication_error", 402: "billing_error", 403: "permission_error",
    404: "not_found_error", 413: "request_too_large", 429: "rate_limit_error", 500: "api_error",
    502: "api_error", 503: "api_error", 504: "api_error", 529: "overloaded_error",
}
# Statuses a client must not retry: Claude Code otherwise retries 401 for minutes (see shared reference).
NO_RETRY = {400, 401, 402, 403, 404, 413}


def anthropic_error(status: int, message: str, *, error_type: str | None = None,
                    retry_after: int | None = None, retry: bool | None = None) -> web.Response:
    etype = error_type or ANTHROPIC_TYPES.get(status, "api_error")
    body = {"type": "error", "error": {"type": etype, "message": message}}
    headers = {"content-type": "application/json"}
    if retry_after is not None:
        headers["retry-after"] = str(int(retry_after))
    if retry is False or (retry is None and status in NO_RETRY):
        headers["x-should-retry"] = "false"
    return web.Response(status=status, body=json.dumps(body).encode(), headers=headers)


def sse_error_event(error_type: str, message: str) -> bytes:
    """An Anthropic `event: error` for a stream that already started."""
    data = json.dumps({"type": "error", "error": {"type": error_type, "message": message}})
    return f"event: error\ndata: {data}\n\n".encode()


class Refusal(Exception):
    """A request answered by the gateway itself with an error (auth, bad body, no provider, governance)."""

    def __init__(self, status: int, message: str, error_type: str | None = None, *,
                 retry_after: int | None = None, should_retry: bool | None = None, param: str | None = None):
        super().__init__(message)
        self.status, self.message, self.error_type = status, message, error_type
        self.retry_after, self.should_retry, self.param = retry_after, should_retry, param

    @classmethod
    def of(cls, refused: Refused) -> "Refusal":
        return cls(refused.status, refused.message, refused.error_type, retry_after=refused.retry_after,
                   should_retry=refused.should_retry)

    def response(self) -> web.Response:
        return anthropic_error(self.status, self.message, error_type=self.error_type,
                               retry_after=self.retry_after, retry=self.should_retry)
