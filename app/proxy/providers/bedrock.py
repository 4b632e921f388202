"""Claude on Amazon Bedrock Runtime: InvokeModel / InvokeModelWithResponseStream, signed with SigV4.

The Anthropic body goes out almost untouched (see bedrock_models.bedrock_body); a stream comes back as
AWS event-stream frames whose `chunk` events carry base64 Anthropic stream events, re-emitted here as
the Anthropic SSE the gateway relays. Bedrock errors become Anthropic-shaped errors.

botocore (the optional `bedrock` extra) signs the requests; it is imported at `start()`, so a gateway
without it still imports and only a configured bedrock provider fails, with the install hint.
"""
from __future__ import annotations

import asyncio
import base64
import json
from urllib.parse import quote

import aiohttp
from yarl import URL

from ...core.config import Provider
from ...core.secrets import SecretError
from ..errors import sse_error_event
from ..eventstream import EventMessage, EventStreamDecoder, EventStreamError
from .base import HttpProviderClient, KeyHandle, UpstreamCall, UpstreamReply, UpstreamUnavailable
from .bedrock_models import (ModelTable, ModelTableError, base_model_id, bedrock_body, count_tokens_body,
                             is_bedrock_id, resolve_model)

INSTALL_HINT = "pip install 'bifrost-tui[bedrock]'"
SIGNING_NAME = "bedrock"  # botocore's bedrock-runtime model: signingName "bedrock"
EVENTSTREAM = "application/vnd.amazon.eventstream"
# Bedrock error -> (status the client sees, Anthropic error type). ServiceUnavailable (503) and
# ModelNotReady (429 at Bedrock, but the model is cold, not the key limited) become 529 overloaded:
# the gateway fails over instead of rotating keys, and Claude Code retries 529 three times then
# switches to its --fallback-model. ServiceQuotaExceeded (400 at Bedrock: token quota) becomes a 429
# so the gateway rotates to a key of another account.
ERRORS = {
    "ThrottlingException": (429, "rate_limit_error"),
    "ServiceQuotaExceededException": (429, "rate_limit_error"),
    "ModelNotReadyException": (529, "overloaded_error"),
    "ServiceUnavailableException": (529, "overloaded_error"),
    "AccessDeniedException": (403, "permission_error"),
    "ValidationException": (400, "invalid_request_error"),
    "ResourceNotFoundException": (404, "not_found_error"),
    "ModelTimeoutException": (504, "api_error"),
    "ModelErrorException": (502, "api_error"),
    "ModelStreamErrorException": (502, "api_error"),
    "InternalServerException": (500, "api_error"),
}
BY_STATUS = {400: "invalid_request_error", 401: "authentication_error", 403: "permission_error",
             404: "not_found_error", 413: "request_too_large", 429: "rate_limit_error"}


def error_type_of(headers, data: dict) -> str:
    """Bedrock's error name: the x-amzn-ErrorType header ("ThrottlingException:http://…"), else `__type`."""
    raw = headers.get("x-amzn-errortype") or data.get("__type") or data.get("code") or ""
    return str(raw).split(":", 1)[0].rsplit("#", 1)[-1]


def anthropic_error(status: int, headers, body: bytes) -> tuple[int, bytes]:
    """A non-200 Bedrock answer as (status, Anthropic error JSON)."""
    try:
        data = json.loads(body) if body[:1] == b"{" else {}
    except ValueError:
        data = {}
    data = data if isinstance(data, dict) else {}
    name = error_type_of(headers, data)
    mapped = ERRORS.get(name)
    if mapped is None:
        out = 504 if status == 408 else 502 if status == 424 else 529 if status == 503 else status
        mapped = (out, BY_STATUS.get(out, "overloaded_error" if out == 529 else
                                     "api_error" if out >= 500 else "invalid_request_error"))
    text = data.get("message") or data.get("Message") or body[:300].decode("utf-8", "replace").strip()
    message = f"Bedrock {name or f'HTTP {status}'}: {text or 'no message'}"
    return mapped[0], json.dumps({"type": "error", "error": {"type": mapped[1], "message": message}}).encode()


def render(msg: EventMessage, model: str) -> tuple[bytes, bool]:
    """One event-stream message as Anthropic SSE bytes, and whether the stream ends with it."""
    kind = msg.message_type or "event"
    if kind == "exception":
        name = str(msg.headers.get(":exception-type") or "exception")
        try:
            text = json.loads(msg.payload).get("message") or ""
        except (ValueError, AttributeError):
            text = msg.payload[:300].decode("utf-8", "replace")
        etype = ERRORS.get(name[:1].upper() + name[1:], (0, "api_error"))[1]
        return sse_error_event(etype, f"Bedrock {name}: {text}"), True
    if kind != "event":
        code, text = msg.headers.get(":error-code"), msg.headers.get(":error-message")
        return sse_error_event("api_error", f"Bedrock stream error {code}: {text}"), True
    if msg.event_type != "chunk":
        return b"", False  # e.g. an initial-response event: nothing for the client
    try:
        raw = base64.b64decode(json.loads(msg.payload)["bytes"], validate=True)
        event = json.loads(raw)
        etype = event["type"]
        if not isinstance(etype, str) or not etype.isidentifier():
            raise ValueError(f"event type {etype!r}")
    except (ValueError, KeyError, TypeError) as exc:
        return sse_error_event("api_error", f"Bedrock sent an unreadable stream chunk ({exc}); "
                                            "response cut short"), True
    message = event.get("message") if etype == "message_start" else None
    if isinstance(message, dict) and not message.get("model") and model:
        message["model"] = model
        raw = b""
    if not raw or b"\n" in raw or b"\r" in raw:
        raw = json.dumps(event, ensure_ascii=False, separators=(",", ":")).encode()
    return b"event: " + etype.encode() + b"\ndata: " + raw + b"\n\n", False


async def sse_stream(resp: aiohttp.ClientResponse, model: str):
    """The Bedrock event stream, decoded as it arrives, as Anthropic SSE chunks. A corrupt frame, an
    exception event or a truncated stream ends it with `event: error` (nothing undecodable is relayed)."""
    decoder = EventStreamDecoder()
    try:
        async for data in resp.content.iter_any():
            try:
                messages, fault = decoder.feed(data), None
            except EventStreamError as exc:
                messages, fault = exc.messages, exc
            out, ended = [], False
            for msg in messages:
                chunk, ended = render(msg, model)
                out.append(chunk)
                if ended:
                    break
            if fault is not None and not ended:
                out.append(sse_error_event("api_error", f"Bedrock event stream is corrupt ({fault}); "
                                                        "response cut short"))
                ended = True
            if any(out):
                yield b"".join(out)
            if ended:
                return
        if decoder.pending:
            yield sse_error_event("api_error", "Bedrock event stream ended in the middle of a frame")
    finally:
        resp.close()


def _import_signer():
    try:
        from botocore.auth import SigV4Auth
        from botocore.awsrequest import AWSRequest
        from botocore.credentials import Credentials
    except ImportError:
        return None
    return SigV4Auth, AWSRequest, Credentials


class BedrockProvider(HttpProviderClient):
    def __init__(self, spec: Provider, table: ModelTable | None = None):
        super().__init__(spec)
        self.region = spec.region or ""
        self.base_url = (spec.base_url or f"https://bedrock-runtime.{self.region}.amazonaws.com").rstrip("/")
        self.table = table or self._load_table()
        for key in spec.keys:
            try:
                if key.access_key_id is None or key.secret is None:
                    raise SecretError("needs access_key_id and secret")
                material = (key.access_key_id.resolve(), key.secret.resolve(),
                            key.session_token.resolve() if key.session_token else None)
            except SecretError as exc:
                self.warnings.append(f"provider {spec.name!r} key {key.name!r} is unusable: {exc}")
                continue
            self.keys.append(KeyHandle(key.name, key.weight, material))
        if not spec.inference_profile:
            self.warnings.append(f"provider {spec.name!r}: no inference_profile; Bedrock refuses on-demand "
                                 "in-Region calls to most Claude 4.x models (set inference_profile: us|eu|apac|global)")
        self._signer = None
        self._no_count: set[str] = set()  # models whose CountTokens failed for good: estimate locally

    def _load_table(self) -> ModelTable:
        try:
            return ModelTable.load()
        except (OSError, ModelTableError, ValueError) as exc:
            self.warnings.append(f"provider {self.spec.name!r}: Bedrock model table unusable ({exc}); only "
                                 "model_map entries and Bedrock model ids are served")
            return ModelTable()

    def resolve(self, model: str) -> str | None:
        return resolve_model(model, self.table, self.spec.model_map, self.spec.inference_profile)

    def serves(self, model: str) -> bool:
        listed = super().serves(model) or model in self.spec.model_map or \
            (self.spec.models is None and is_bedrock_id(model))
        return listed and self.resolve(model) is not None

    def upstream_model(self, model: str) -> str:
        return self.resolve(model) or model

    async def start(self) -> None:
        self._signer = _import_signer()
        if self._signer is None:
            raise RuntimeError(f"provider {self.name!r} (type: bedrock) needs botocore to sign requests: "
                               f"{INSTALL_HINT}")
        await super().start()

    def url(self, model_id: str, operation: str) -> str:
        return f"{self.base_url}/model/{quote(model_id, safe='')}/{operation}"

    def sign(self, url: str, payload: bytes, headers: dict[str, str], key: KeyHandle) -> dict[str, str]:
        sigv4, aws_request, credentials = self._signer
        access_key, secret, token = key.material
        request = aws_request(method="POST", url=url, data=payload, headers=headers)
        sigv4(credentials(access_key, secret, token), SIGNING_NAME, self.region).add_auth(request)
        return dict(request.headers.items())

    async def _post(self, url: str, payload: bytes, accept: str, key: KeyHandle) -> aiohttp.ClientResponse:
        headers = self.sign(url, payload, {"content-type": "application/json", "accept": accept}, key)
        try:
            return await self.session.post(URL(url, encoded=True), data=payload, headers=headers)
        except asyncio.TimeoutError:
            raise UpstreamUnavailable(504, f"provider {self.name} did not answer in time", key.name) from None
        except aiohttp.ClientError as exc:
            raise UpstreamUnavailable(502, f"provider {self.name} is unreachable ({type(exc).__name__})",
                                      key.name) from None

    async def send(self, call: UpstreamCall, key: KeyHandle) -> UpstreamReply:
        model_id = self.resolve(call.model)
        if model_id is None:
            body = json.dumps({"type": "error", "error": {"type": "not_found_error", "message":
                               f"provider {self.name} has no Bedrock model for {call.model!r}"}}).encode()
            return UpstreamReply(404, {"content-type": "application/json"}, body=body, provider_key=key.name)
        body = bedrock_body(call.body_json, call.headers, self.table.allowed_betas(model_id))
        payload = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
        operation = "invoke-with-response-stream" if call.stream else "invoke"
        resp = await self._post(self.url(model_id, operation), payload,
                                EVENTSTREAM if call.stream else "application/json", key)
        headers = {"request-id": resp.headers["x-amzn-requestid"]} if "x-amzn-requestid" in resp.headers else {}
        if call.stream and resp.status == 200 and resp.content_type == EVENTSTREAM:
            headers["content-type"] = "text/event-stream; charset=utf-8"
            return UpstreamReply(200, headers, chunks=sse_stream(resp, call.model), close=resp.close,
                                 provider_key=key.name)
        try:
            raw = await resp.read()
        except (aiohttp.ClientError, asyncio.TimeoutError):
            resp.close()
            raise UpstreamUnavailable(502, f"provider {self.name} dropped the response", key.name) from None
        resp.release()
        headers["content-type"] = "application/json"
        if resp.status == 200 and not call.stream:
            return UpstreamReply(200, headers, body=self._with_model(raw, call.model), provider_key=key.name)
        if resp.status == 200:  # asked for a stream, got something else
            raw = json.dumps({"message": f"expected {EVENTSTREAM}, got {resp.content_type}"}).encode()
        if "retry-after" in resp.headers:
            headers["retry-after"] = resp.headers["retry-after"]
        status, body_out = anthropic_error(502 if resp.status == 200 else resp.status, resp.headers, raw)
        return UpstreamReply(status, headers, body=body_out, provider_key=key.name)

    @staticmethod
    def _with_model(raw: bytes, model: str) -> bytes:
        try:
            data = json.loads(raw)
        except ValueError:
            return raw
        if isinstance(data, dict) and not data.get("model"):
            data["model"] = model
            return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()
        return raw

    async def count_tokens(self, call: UpstreamCall) -> UpstreamReply | None:
        """Bedrock CountTokens (POST /model/{foundation model id}/count-tokens), one try with a healthy key.
        None, so the gateway estimates locally, on any failure; it never counts against a key's breaker."""
        model_id = self.resolve(call.model)
        base = base_model_id(model_id) if model_id else None
        key = next((k for k in self.key_order(call.prefer_key) if self.breaker(k).state == "closed"), None)
        if base is None or base in self._no_count or key is None or self.session is None:
            return None
        body = count_tokens_body(call.body_json, call.headers, self.table.allowed_betas(model_id))
        encoded = base64.b64encode(json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()).decode()
        payload = json.dumps({"input": {"invokeModel": {"body": encoded}}}).encode()
        try:
            resp = await self._post(self.url(base, "count-tokens"), payload, "application/json", key)
            raw = await resp.read()
            resp.release()
        except (UpstreamUnavailable, aiohttp.ClientError, asyncio.TimeoutError):
            return None
        if resp.status in (400, 403, 404):  # unsupported model, no IAM permission: stop asking
            self._no_count.add(base)
        try:
            count = json.loads(raw).get("inputTokens") if resp.status == 200 else None
        except (ValueError, AttributeError):
            count = None
        if not isinstance(count, int) or isinstance(count, bool):
            return None
        return UpstreamReply(200, {"content-type": "application/json"},
                             body=json.dumps({"input_tokens": count}).encode(), provider_key=key.name)
