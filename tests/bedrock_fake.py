"""A local stand-in for Amazon Bedrock Runtime (InvokeModel, InvokeModelWithResponseStream, CountTokens).

It checks every request the way AWS does, with code of its own: the SigV4 signature is recomputed here
from the AWS Signature Version 4 documentation (canonical request, string to sign, derived signing key;
URI path segments encoded a second time, as for every service but S3) and never with botocore, which
the provider signs with. Event-stream frames are encoded by hand (big-endian lengths, zlib CRC32s).

`script` lists what the next requests get ("ok" when empty): ok, throttle, quota, unavailable, not_ready,
validation, not_found, internal, mid_stream_error, bad_crc, truncate.
"""
from __future__ import annotations

import asyncio
import base64
import copy
import hashlib
import hmac
import itertools
import json
import re
import struct
import time
import zlib
from dataclasses import dataclass, field
from datetime import datetime, timezone
from urllib.parse import parse_qsl, quote, unquote

from aiohttp import web

from local_app import serve_locally

BEDROCK_VERSION = "bedrock-2023-05-31"
AUTH = re.compile(r"^AWS4-HMAC-SHA256 Credential=([^/]+)/(\d{8})/([^/]+)/([^/]+)/aws4_request, ?"
                  r"SignedHeaders=([a-z0-9;-]+), ?Signature=([0-9a-f]{64})$")
PATH = re.compile(r"^/model/([^/]+)/(invoke|invoke-with-response-stream|count-tokens)$")
ERRORS = {  # behaviour -> (HTTP status, Bedrock error name, message)
    "throttle": (429, "ThrottlingException", "Too many requests, please wait before trying again."),
    "quota": (400, "ServiceQuotaExceededException", "Too many tokens per day, please wait."),
    "unavailable": (503, "ServiceUnavailableException", "Bedrock is unable to process your request."),
    "not_ready": (429, "ModelNotReadyException", "Model is not ready for inference."),
    "validation": (400, "ValidationException", "Malformed input request, please reformat your input."),
    "not_found": (404, "ResourceNotFoundException", "Model not found."),
    "internal": (500, "InternalServerException", "The server encountered an internal error."),
}


# ---------------------------------------------------------------------------------- event-stream frames

def encode_frame(headers: dict[str, str], payload: bytes) -> bytes:
    """One event-stream message with string headers (value type 7)."""
    block = b""
    for name, value in headers.items():
        n, v = name.encode(), value.encode()
        block += bytes([len(n)]) + n + b"\x07" + struct.pack(">H", len(v)) + v
    total = 12 + len(block) + len(payload) + 4
    prelude = struct.pack(">II", total, len(block))
    prelude += struct.pack(">I", zlib.crc32(prelude))
    body = prelude + block + payload
    return body + struct.pack(">I", zlib.crc32(body))


def chunk_frame(event: dict) -> bytes:
    raw = json.dumps(event, ensure_ascii=False).encode()
    payload = json.dumps({"bytes": base64.b64encode(raw).decode(), "p": "abcdefghijklmnop"}).encode()
    return encode_frame({":event-type": "chunk", ":content-type": "application/json", ":message-type": "event"},
                        payload)


def exception_frame(name: str, message: str) -> bytes:
    return encode_frame({":exception-type": name, ":content-type": "application/json",
                         ":message-type": "exception"}, json.dumps({"message": message}).encode())


def default_events(model: str = "claude-sonnet-4-5-20250929") -> list[dict]:
    """A Bedrock Claude stream: cache usage in message_start, text, a tool call, cumulative output tokens."""
    return [
        {"type": "message_start", "message": {
            "id": "msg_bdrk_01XYZ", "type": "message", "role": "assistant", "model": model, "content": [],
            "stop_reason": None, "stop_sequence": None,
            "usage": {"input_tokens": 12, "cache_creation_input_tokens": 300, "cache_read_input_tokens": 4000,
                      "cache_creation": {"ephemeral_5m_input_tokens": 100, "ephemeral_1h_input_tokens": 200},
                      "output_tokens": 1}}},
        {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
        {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Running it: "}},
        {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "ünïcödé ✓\nnew line " * 200}},
        {"type": "content_block_stop", "index": 0},
        {"type": "content_block_start", "index": 1,
         "content_block": {"type": "tool_use", "id": "toolu_bdrk_01", "name": "Bash", "input": {}}},
        {"type": "content_block_delta", "index": 1, "delta": {"type": "input_json_delta", "partial_json": ""}},
        {"type": "content_block_delta", "index": 1,
         "delta": {"type": "input_json_delta", "partial_json": "{\"command\": \"echo hi"}},
        {"type": "content_block_delta", "index": 1,
         "delta": {"type": "input_json_delta", "partial_json": "\", \"description\": \"say hi\"}"}},
        {"type": "content_block_stop", "index": 1},
        {"type": "message_delta", "delta": {"stop_reason": "tool_use", "stop_sequence": None},
         "usage": {"output_tokens": 42}},
        {"type": "message_stop", "amazon-bedrock-invocationMetrics": {
            "inputTokenCount": 12, "outputTokenCount": 42, "invocationLatency": 812, "firstByteLatency": 301}},
    ]


def default_message(model: str | None = "claude-sonnet-4-5-20250929") -> dict:
    message = {"id": "msg_bdrk_02", "type": "message", "role": "assistant",
               "content": [{"type": "text", "text": "hi from fake bedrock"}], "stop_reason": "end_turn",
               "stop_sequence": None, "usage": {"input_tokens": 9, "cache_creation_input_tokens": 0,
                                                "cache_read_input_tokens": 0, "output_tokens": 5}}
    if model:
        message["model"] = model
    return message


# ---------------------------------------------------------------------------------- SigV4, from the docs

def _hmac(key: bytes, text: str) -> bytes:
    return hmac.new(key, text.encode(), hashlib.sha256).digest()

def canonical_uri(raw_path: str) -> str:
    """The path as sent (already URI-encoded once), each segment URI-encoded again."""
    return "/".join(quote(segment, safe="-_.~") for segment in raw_path.split("/")) or "/"


def canonical_query(raw_query: str) -> str:
    pairs = [(quote(k, safe="-_.~"), quote(v, safe="-_.~")) for k, v in parse_qsl(raw_query, keep_blank_values=True)]
    return "&".join(f"{k}={v}" for k, v in sorted(pairs))


def signature(secret: str, date: str, region: str, service: str, amz_date: str, method: str, raw_path: str,
              raw_query: str, headers, signed: list[str], body: bytes) -> str:
    lines = "".join(f"{name}:{' '.join(','.join(headers.getall(name)).split())}\n" for name in signed)
    request = "\n".join([method, canonical_uri(raw_path), canonical_query(raw_query), lines, ";".join(signed),
                         hashlib.sha256(body).hexdigest()])
    scope = f"{date}/{region}/{service}/aws4_request"
    to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(request.encode()).hexdigest()])
    key = _hmac(_hmac(_hmac(_hmac(("AWS4" + secret).encode(), date), region), service), "aws4_request")
    return hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()


@dataclass
class Recorded:
    method: str
    raw_path: str
    model_id: str | None
    operation: str | None
    headers: dict[str, str]
    body: bytes
    json: dict | None = None
    outcome: str = ""  # "ok", a behaviour, or the error name sent back
    aborted: bool = False


@dataclass
class FakeBedrock:
    access_key_id: str
    secret: str
    session_token: str | None = None
    region: str = "us-east-1"
    accepted_betas: set[str] | None = None  # None: any; else others get 400 "invalid beta flag"
    events: list[dict] = field(default_factory=default_events)
    message: dict = field(default_factory=default_message)
    input_tokens: int = 321  # CountTokens answer
    stream_exception: tuple[str, str] = ("modelStreamErrorException", "The model stream failed.")
    pace_s: float = 0.0  # pause between stream writes
    script: list[str] = field(default_factory=list)
    requests: list[Recorded] = field(default_factory=list)
    url: str = ""

    async def __aenter__(self) -> FakeBedrock:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self.handle)
        self._runner, self.url = await serve_locally(app)
        return self

    async def __aexit__(self, *exc) -> None:
        await self._runner.cleanup()

    # -- checks ----------------------------------------------------------------
    def auth_error(self, request: web.Request, body: bytes) -> tuple[str, str] | None:
        h = request.headers
        match = AUTH.match(h.get("Authorization", ""))
        if match is None:
            return "MissingAuthenticationTokenException", "Missing Authentication Token"
        access_key, date, region, service, signed_text, sent = match.groups()
        signed = signed_text.split(";")
        amz_date = h.get("X-Amz-Date", "")
        if access_key != self.access_key_id:
            return "UnrecognizedClientException", "The security token included in the request is invalid."
        if region != self.region or service != "bedrock":
            return "InvalidSignatureException", f"Credential should be scoped to {self.region}/bedrock"
        if not amz_date.startswith(date) or "host" not in signed or "x-amz-date" not in signed \
                or signed != sorted(signed) or any(name not in h for name in signed):
            return "IncompleteSignatureException", "Signed headers, scope date or x-amz-date are inconsistent"
        skew = abs(datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ").replace(tzinfo=timezone.utc).timestamp() - time.time())
        if skew > 300:
            return "InvalidSignatureException", "Signature expired"
        token = h.get("X-Amz-Security-Token")
        if token != self.session_token or (token is not None and "x-amz-security-token" not in signed):
            return "UnrecognizedClientException", "The security token included in the request is invalid."
        if "X-Amz-Content-Sha256" in h and h["X-Amz-Content-Sha256"] != hashlib.sha256(body).hexdigest():
            return "InvalidSignatureException", "x-amz-content-sha256 does not match the body"
        expected = signature(self.secret, date, region, service, amz_date, request.method, request.raw_path.split("?")[0],
                             request.query_string, h, signed, body)
        if not hmac.compare_digest(expected, sent):
            return "InvalidSignatureException", ("The request signature we calculated does not match the signature "
                                                 "you provided. Check your AWS Secret Access Key and signing method.")
        return None

    def body_error(self, data, operation: str) -> str | None:
        if not isinstance(data, dict):
            return "Malformed input request: expected a JSON object"
        for key in ("model", "stream"):
            if key in data:
                return f"Malformed input request: extraneous key [{key}] is not permitted"
        if data.get("anthropic_version") != BEDROCK_VERSION:
            return "Malformed input request: anthropic_version must be bedrock-2023-05-31"
        if not isinstance(data.get("max_tokens"), int) or not isinstance(data.get("messages"), list):
            return "Malformed input request: max_tokens and messages are required"
        betas = data.get("anthropic_beta", [])
        if not isinstance(betas, list) or not all(isinstance(b, str) for b in betas):
            return "Malformed input request: anthropic_beta must be a list of strings"
        if self.accepted_betas is not None and any(b not in self.accepted_betas for b in betas):
            return "invalid beta flag"
        return None

    # -- handler ---------------------------------------------------------------
    def error(self, rec: Recorded, status: int, name: str, message: str) -> web.Response:
        rec.outcome = name
        return web.json_response({"message": message}, status=status, headers={
            "x-amzn-ErrorType": f"{name}:http://internal.amazon.com/coral/com.amazon.bedrock/",
            "x-amzn-RequestId": "req-fake-err"})

    async def handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        raw_path = request.raw_path.split("?")[0]
        match = PATH.match(raw_path)
        rec = Recorded(request.method, raw_path, unquote(match[1]) if match else None, match[2] if match else None,
                       dict(request.headers), body)
        self.requests.append(rec)
        if request.method != "POST" or match is None:
            return self.error(rec, 404, "UnknownOperationException", f"no operation at {request.method} {raw_path}")
        failed = self.auth_error(request, body)
        if failed:
            return self.error(rec, 400 if failed[0] == "IncompleteSignatureException" else 403, *failed)
        try:
            rec.json = json.loads(body)
        except ValueError:
            return self.error(rec, 400, "ValidationException", "Malformed input request: not JSON")
        data = rec.json
        if rec.operation == "count-tokens":
            try:
                data = json.loads(base64.b64decode(rec.json["input"]["invokeModel"]["body"]))
            except (KeyError, TypeError, ValueError):
                return self.error(rec, 400, "ValidationException", "input.invokeModel.body is required")
            if not rec.model_id.startswith("anthropic."):
                return self.error(rec, 400, "ValidationException", "The provided model doesn't support counting tokens.")
        problem = self.body_error(data, rec.operation)
        if problem:
            return self.error(rec, 400, "ValidationException", problem)
        behaviour = self.script.pop(0) if self.script else "ok"
        rec.outcome = behaviour
        if behaviour in ERRORS:
            return self.error(rec, *ERRORS[behaviour])
        if rec.operation == "count-tokens":
            return web.json_response({"inputTokens": self.input_tokens})
        if rec.operation == "invoke":
            return web.json_response(copy.deepcopy(self.message), headers={
                "x-amzn-RequestId": "req-fake-1", "X-Amzn-Bedrock-Input-Token-Count": "9",
                "X-Amzn-Bedrock-Output-Token-Count": "5"})
        return await self.stream(request, rec, behaviour)

    def frames(self, behaviour: str) -> bytes:
        frames = [chunk_frame(e) for e in self.events]
        if behaviour == "mid_stream_error":
            frames = frames[:4] + [exception_frame(*self.stream_exception)]
        elif behaviour == "bad_crc":
            bad = bytearray(frames[4])
            bad[-5] ^= 0x01  # one payload bit: the message CRC no longer matches
            frames = frames[:4] + [bytes(bad)] + frames[5:]
        elif behaviour == "truncate":
            frames = frames[:-1] + [frames[-1][:-7]]
        return b"".join(frames)

    async def stream(self, request: web.Request, rec: Recorded, behaviour: str) -> web.StreamResponse:
        resp = web.StreamResponse(headers={"Content-Type": "application/vnd.amazon.eventstream",
                                           "X-Amzn-Bedrock-Content-Type": "application/json",
                                           "x-amzn-RequestId": "req-fake-2"})
        await resp.prepare(request)
        data, at, sizes = self.frames(behaviour), 0, (7, 180, 1, 900, 33, 4096)
        try:
            for i in itertools.count():  # odd write sizes: frames split across writes, several per write
                if at >= len(data):
                    break
                await resp.write(data[at:at + sizes[i % len(sizes)]])
                at += sizes[i % len(sizes)]
                await asyncio.sleep(self.pace_s)
            await resp.write_eof()
        except (ConnectionError, RuntimeError):
            rec.aborted = True
        return resp
