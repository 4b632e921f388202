"""OpenAI Chat Completions, and any OpenAI-compatible server (vLLM, Ollama, OpenRouter, LM Studio, Azure
OpenAI with auth_header: api-key, query_params {api-version: …} and the deployment path in base_url).

Receives an Anthropic Messages request and answers in Anthropic format: the body is translated on the
way out, the JSON reply, the SSE stream and errors on the way back. Only content-type, accept, auth and
the user agent go upstream: never the client's headers (anthropic-*, x-api-key, its query string).
"""
from __future__ import annotations

import json
import re
from urllib.parse import urlencode, urlsplit

import aiohttp

from ...core.config import Provider
from ...core.secrets import SecretError
from ..translate.gateway_thinking import reasoning_of
from ..translate.to_openai import (
    OpenAIStreamTranslator,
    anthropic_to_openai_request,
    completion_cap,
    openai_error_to_anthropic,
    openai_to_anthropic_response,
)
from .base import (
    HttpProviderClient,
    KeyHandle,
    UpstreamCall,
    UpstreamReply,
    UpstreamUnavailable,
)

USER_AGENT = "bifrost-tui"
SSE = "text/event-stream; charset=utf-8"
KEYLESS = "keyless"  # the one pseudo key of a provider configured without keys (a local Ollama, vLLM)
# Hosts that know max_completion_tokens (and whose o-series / gpt-5 models reject max_tokens).
NEW_TOKEN_FIELD_HOSTS = ("api.openai.com", ".openai.azure.com", ".cognitiveservices.azure.com", ".services.ai.azure.com")


class OpenAIProvider(HttpProviderClient):
    translated = True

    def __init__(self, spec: Provider):
        super().__init__(spec)
        self.translated = True
        for key in spec.keys:
            try:
                if key.secret is None:
                    raise SecretError("needs secret")
                self.keys.append(KeyHandle(key.name, key.weight, key.secret.resolve()))
            except SecretError as exc:
                self.warnings.append(f"provider {spec.name!r} key {key.name!r} is unusable: {exc}")
        if not spec.keys:
            self.keys.append(KeyHandle(KEYLESS, 1, None))
        self.url = f"{(spec.base_url or '').rstrip('/')}/chat/completions"
        if spec.query_params:
            self.url += "?" + urlencode(spec.query_params)
        host = (urlsplit(spec.base_url or "").hostname or "").lower()
        self.token_field = "max_completion_tokens" if host.endswith(NEW_TOKEN_FIELD_HOSTS) else "max_tokens"
        self._fields: dict[str, str] = {}  # upstream model -> the max-tokens field it turned out to accept
        self._caps: dict[str, int] = {}  # upstream model -> the completion limit it announced

    def headers(self, key: KeyHandle, stream: bool) -> dict[str, str]:
        headers = {"content-type": "application/json", "user-agent": USER_AGENT,
                   "accept": "text/event-stream" if stream else "application/json"}
        if key.material:
            if self.spec.auth_header == "api-key":
                headers["api-key"] = key.material
            else:
                headers["authorization"] = f"Bearer {key.material}"
        return headers

    def request_body(self, call: UpstreamCall) -> dict:
        model = self.upstream_model(call.model)
        field = self._fields.get(model, self.token_field)
        body = anthropic_to_openai_request(call.body_json, model, max_tokens_field=field)
        cap = self._caps.get(model)
        if cap is not None and isinstance(body.get(field), int) and body[field] > cap:
            body[field] = cap
        return body

    async def _post(self, body: dict, key: KeyHandle, stream: bool) -> aiohttp.ClientResponse:
        payload = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
        try:
            return await self.session.post(self.url, data=payload, headers=self.headers(key, stream))
        except TimeoutError:
            raise UpstreamUnavailable(504, f"provider {self.name} did not answer in time", key.name) from None
        except aiohttp.ClientError as exc:
            raise UpstreamUnavailable(502, f"provider {self.name} is unreachable ({type(exc).__name__})",
                                      key.name) from None

    async def _read(self, resp: aiohttp.ClientResponse, key: KeyHandle) -> bytes:
        try:
            raw = await resp.read()
        except (TimeoutError, aiohttp.ClientError):
            resp.close()
            raise UpstreamUnavailable(502, f"provider {self.name} dropped the response", key.name) from None
        resp.release()
        return raw

    def _learn(self, model: str, body: dict, raw: bytes) -> bool:
        """After a 400: True when the request can be fixed and retried once (max-tokens field or limit)."""
        text = raw.decode("utf-8", "replace")
        field = self._fields.get(model, self.token_field)
        other = "max_tokens" if field == "max_completion_tokens" else "max_completion_tokens"
        if re.search(rf"(?:unsupported|unrecognized|unknown|not supported|extra)[^.]*\b{field}\b", text, re.IGNORECASE) \
                or re.search(rf"use '?{other}'? instead", text, re.IGNORECASE):
            self._fields[model] = other
            return True
        cap = completion_cap(raw)
        if cap is not None and cap > 0 and isinstance(body.get(field), int) and body[field] > cap:
            self._caps[model] = cap
            return True
        return False

    async def send(self, call: UpstreamCall, key: KeyHandle) -> UpstreamReply:
        body = self.request_body(call)
        resp = await self._post(body, key, call.stream)
        if resp.status == 400:
            raw = await self._read(resp, key)
            if not self._learn(body["model"], body, raw):
                return self._error(resp, raw, key)
            body = self.request_body(call)
            resp = await self._post(body, key, call.stream)
        headers = {"request-id": resp.headers["x-request-id"]} if "x-request-id" in resp.headers else {}
        if call.stream and resp.status == 200 and resp.content_type == "text/event-stream":
            translator = OpenAIStreamTranslator(call.model, input_tokens_estimate=call.source.input_tokens,
                                                thinking_first=call.source.thinking)
            return UpstreamReply(200, {**headers, "content-type": SSE}, chunks=_translated(resp, translator),
                                 close=resp.close, provider_key=key.name)
        raw = await self._read(resp, key)
        if resp.status != 200:
            return self._error(resp, raw, key)
        try:
            data = json.loads(raw)
            message = openai_to_anthropic_response(data, call.model, thinking_first=call.source.thinking)
        except (ValueError, AttributeError, TypeError):
            return self._error(resp, raw, key, status=502, note="an answer that is not a chat completion: ")
        if call.stream:  # a server that ignored stream: true — replay its answer as an Anthropic stream
            return UpstreamReply(200, {**headers, "content-type": SSE}, chunks=_replayed(data, call.model, call.source.thinking),
                                 provider_key=key.name)
        return UpstreamReply(200, {**headers, "content-type": "application/json"},
                             body=json.dumps(message, ensure_ascii=False).encode(), provider_key=key.name)

    def _error(self, resp: aiohttp.ClientResponse, raw: bytes, key: KeyHandle, status: int | None = None,
               note: str = "") -> UpstreamReply:
        if note:
            raw = json.dumps({"error": {"message": note + raw[:300].decode("utf-8", "replace")}}).encode()
        status, body = openai_error_to_anthropic(status or resp.status, raw)
        headers = {"content-type": "application/json"}
        if "retry-after" in resp.headers:
            headers["retry-after"] = resp.headers["retry-after"]
        if b"insufficient_quota" in raw:  # no retry will help: Claude Code would otherwise retry for minutes
            headers["x-should-retry"] = "false"
        return UpstreamReply(status, headers, body=body, provider_key=key.name)


async def _translated(resp: aiohttp.ClientResponse, translator: OpenAIStreamTranslator):
    async for chunk in resp.content.iter_any():
        out = translator.feed(chunk)
        if out:
            yield out
    out = translator.finish()
    if out:
        yield out


async def _replayed(data: dict, model: str, thinking_first: bool):
    choice = (data.get("choices") or [{}])[0]
    message = choice.get("message") or {}
    delta = {"reasoning_content": reasoning_of(message), "content": message.get("content"),
             "tool_calls": [{**call, "index": i} for i, call in enumerate(message.get("tool_calls") or ())]}
    chunk = {"choices": [{"index": 0, "delta": delta, "finish_reason": choice.get("finish_reason")}],
             "usage": data.get("usage")}
    translator = OpenAIStreamTranslator(model, thinking_first=thinking_first)
    yield translator.feed(b"data: " + json.dumps(chunk).encode() + b"\n\ndata: [DONE]\n\n")
