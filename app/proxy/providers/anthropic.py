"""The Anthropic Messages API over HTTP: body forwarded untouched, SSE relayed as it arrives."""
from __future__ import annotations

import asyncio

import aiohttp

from ...core.config import Provider
from ...core.secrets import SecretError
from .base import HttpProviderClient, KeyHandle, UpstreamCall, UpstreamReply, UpstreamUnavailable

# Response headers worth relaying; everything else (hop-by-hop, length, encoding, cookies) is dropped.
RELAY_HEADERS = ("content-type", "request-id", "retry-after", "x-should-retry", "x-bifrost-simulated")
RELAY_PREFIXES = ("anthropic-ratelimit-",)


def relay_headers(headers) -> dict[str, str]:
    out = {}
    for name, value in headers.items():
        lower = name.lower()
        if lower in RELAY_HEADERS or lower.startswith(RELAY_PREFIXES):
            out[lower] = value
    return out


class AnthropicProvider(HttpProviderClient):
    def __init__(self, spec: Provider):
        super().__init__(spec)
        for key in spec.keys:
            try:
                self.keys.append(KeyHandle(key.name, key.weight, key.secret.resolve()))
            except SecretError as exc:
                self.warnings.append(f"provider {spec.name!r} key {key.name!r} is unusable: {exc}")

    async def _post(self, call: UpstreamCall, key: KeyHandle) -> aiohttp.ClientResponse:
        key_name = key.name
        headers = dict(call.headers)
        headers["x-api-key"] = key.material
        headers.setdefault("anthropic-version", "2023-06-01")
        headers["content-type"] = "application/json"
        url = f"{self.spec.base_url}{call.path}" + (f"?{call.query}" if call.query else "")
        try:
            async with asyncio.timeout(self.spec.first_byte_timeout_s):  # until the status line arrives
                resp = await self.session.post(url, data=call.body, headers=headers)
        except asyncio.TimeoutError:
            raise UpstreamUnavailable(504, f"provider {self.name} did not answer in time", key_name) from None
        except aiohttp.ClientError as exc:
            raise UpstreamUnavailable(502, f"provider {self.name} is unreachable ({type(exc).__name__})",
                                      key_name) from None
        return resp

    async def send(self, call: UpstreamCall, key: KeyHandle) -> UpstreamReply:
        resp = await self._post(call, key)
        key_name = key.name
        headers = relay_headers(resp.headers)
        if call.stream and resp.status == 200 and resp.content_type == "text/event-stream":
            return UpstreamReply(resp.status, headers, chunks=resp.content.iter_any(), close=resp.close,
                                 provider_key=key_name)
        try:
            body = await resp.read()
        except (aiohttp.ClientError, asyncio.TimeoutError):
            resp.close()
            raise UpstreamUnavailable(502, f"provider {self.name} dropped the response", key_name) from None
        resp.release()
        return UpstreamReply(resp.status, headers, body=body, provider_key=key_name)

    async def count_tokens(self, call: UpstreamCall) -> UpstreamReply | None:
        reply = await self.messages(call)  # key rotation applies here too
        if reply.status in (404, 405):
            return None
        return reply
