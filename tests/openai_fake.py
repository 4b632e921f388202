"""A strict stand-in for the OpenAI Chat Completions API (POST /v1/chat/completions, GET /v1/models).

Written from OpenAI's API reference and its observed error bodies, independently of the gateway's own
translation code (nothing from app.proxy.translate is imported): every request is validated the way
api.openai.com does it, and anything it would refuse gets OpenAI's 400 error body naming the parameter:

- Bearer auth with one of the configured keys (401 otherwise);
- only known top-level parameters; `stream_options`, `tool_choice` and `parallel_tool_calls` only where
  OpenAI allows them; temperature 0-2, top_p 0-1, at most 4 stop sequences, `user` at most 64 characters;
  max tokens not above the model's completion limit (gpt-4o: 16384);
- messages with roles system/user/assistant/tool only, each with only its role's keys and content parts;
  every assistant `tool_calls` entry answered by a tool message with the matching `tool_call_id` before
  the next non-tool message, no tool message that answers nothing; tool call ids at most 40 characters;
- tools of type function: name ^[a-zA-Z0-9_-]{1,64}$, description at most 1024 characters, parameters an
  object schema;
- no Anthropic-only field anywhere in the body: `cache_control`, `thinking`, `$schema`.

Answers: when the last user message says "run <cmd>" and a tool named Bash is offered, a Bash tool call;
when the last message is a tool result, the text "tool said: <result>"; else REPLY. Streams are OpenAI's
chunk sequence (role chunk, content or tool_call pieces, the finish_reason chunk, the usage chunk when
`stream_options.include_usage`, `[DONE]`), usage is realistic (cached prompt tokens on a repeated prefix).
`fail_status` (429 with `retry_after`, or 500) makes it refuse the next `fail_times` requests (None: all).
`reasoning` makes it a reasoning model as DeepSeek and vLLM serve one (api.openai.com never sends its reasoning):
that text comes first, in `message.<reasoning_field>` or in stream deltas of that name, before the answer.

Use it as an async context manager in the test's own event loop (`async with FakeOpenAI() as fake`, or the
`openai_fake` fixture), or on a background thread for module-scoped use (`with FakeOpenAI().threaded()`,
or the `openai_fake_module` fixture).
"""
from __future__ import annotations

import asyncio
import contextlib
import hashlib
import itertools
import json
import re
import threading
import time
import uuid
from dataclasses import dataclass, field

import pytest
from aiohttp import web

from local_app import serve_locally

FAKE_KEY = "sk-fake-openai-0123456789abcdef"
REPLY = "Hello from the strict OpenAI fake."
TOOL_PREFIX = "tool said: "

KNOWN_PARAMS = frozenset((
    "model", "messages", "audio", "frequency_penalty", "function_call", "functions", "logit_bias", "logprobs",
    "max_completion_tokens", "max_tokens", "metadata", "modalities", "n", "parallel_tool_calls", "prediction",
    "presence_penalty", "prompt_cache_key", "prompt_cache_retention", "reasoning_effort", "response_format",
    "safety_identifier", "seed", "service_tier", "stop", "store", "stream", "stream_options", "temperature",
    "tool_choice", "tools", "top_logprobs", "top_p", "user", "verbosity", "web_search_options",
))
FORBIDDEN_ANYWHERE = ("cache_control", "thinking", "$schema")  # Anthropic-only: OpenAI refuses them
MESSAGE_KEYS = {
    "system": {"role", "content", "name"},
    "user": {"role", "content", "name"},
    "assistant": {"role", "content", "name", "tool_calls", "refusal", "audio", "function_call"},
    "tool": {"role", "content", "tool_call_id"},
}
PART_TYPES = {
    "system": {"text"},
    "user": {"text", "image_url", "input_audio", "file"},
    "assistant": {"text", "refusal"},
    "tool": {"text"},
}
TOOL_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
MAX_TOOL_ID = 40
MAX_DESCRIPTION = 1024
MAX_USER = 64
MAX_STOP = 4
MAX_TOOLS = 128
COMPLETION_CAPS = {"gpt-4o": 16384, "gpt-4o-mini": 16384, "gpt-4.1": 32768}
RESOLVED = {"gpt-4o": "gpt-4o-2024-08-06", "gpt-4o-mini": "gpt-4o-mini-2024-07-18"}
RUN = re.compile(r"\brun\s+([^\n]+)")


class Invalid(Exception):
    """A request OpenAI would refuse with 400."""

    def __init__(self, message: str, param: str | None = None, code: str | None = None):
        super().__init__(message)
        self.message, self.param, self.code = message, param, code


def error_body(message: str, type_: str = "invalid_request_error", param: str | None = None,
               code: str | None = None) -> dict:
    return {"error": {"message": message, "type": type_, "param": param, "code": code}}


@dataclass
class Recorded:
    method: str
    path: str
    query: str
    headers: dict[str, str]
    raw: bytes
    json: object = None
    status: int = 0
    error: dict | None = None  # the error body's "error" object when refused
    answer: dict | None = None  # when answered: {"text", "tool_call", "usage", "model", "stream"}

    @property
    def ok(self) -> bool:
        return self.status == 200

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers.items() if k.lower() == name.lower()), None)


@dataclass
class FakeOpenAI:
    keys: tuple[str, ...] = (FAKE_KEY,)
    models: tuple[str, ...] | None = None  # None: any model name is served
    completion_caps: dict[str, int] = field(default_factory=lambda: dict(COMPLETION_CAPS))
    max_description: int | None = MAX_DESCRIPTION  # None: no limit (a lenient compatible server)
    reply_text: str = REPLY
    piece_chars: int = 6  # streamed text and tool arguments are split into pieces this long
    fail_status: int | None = None  # 429 or 500
    fail_times: int | None = None  # how many requests to refuse; None: every one
    retry_after: str | None = None
    cached_tokens: int | None = None  # overrides the simulated prefix cache
    reasoning: str | None = None  # the reasoning text sent before every answer
    reasoning_field: str = "reasoning_content"  # DeepSeek, vLLM; "reasoning": OpenRouter, newer vLLM
    requests: list[Recorded] = field(default_factory=list)
    url: str = ""

    def __post_init__(self) -> None:
        self._seen_prefixes: dict[str, int] = {}
        self._ids = itertools.count(1)
        self._runner: web.AppRunner | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ----------------------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        """What an OpenAI client (or the gateway's openai provider) takes as base_url."""
        return self.url + "/v1"

    async def start(self) -> FakeOpenAI:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self.handle)
        self._runner, self.url = await serve_locally(app)
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeOpenAI:
        return await self.start()

    async def __aexit__(self, *exc) -> None:
        await self.stop()

    @contextlib.contextmanager
    def threaded(self):
        """Serve from a background thread with its own event loop: usable from any test's loop, any scope."""
        loop = asyncio.new_event_loop()
        ready = threading.Event()

        def run() -> None:
            asyncio.set_event_loop(loop)
            loop.run_until_complete(self.start())
            ready.set()
            loop.run_forever()
            loop.run_until_complete(self.stop())
            loop.close()

        self._thread = threading.Thread(target=run, name="openai-fake", daemon=True)
        self._thread.start()
        if not ready.wait(10):
            raise RuntimeError("the OpenAI fake did not start")
        try:
            yield self
        finally:
            loop.call_soon_threadsafe(loop.stop)
            self._thread.join(10)

    def reset(self) -> None:
        """Forget requests and failure settings (between tests sharing one fake)."""
        self.requests.clear()
        self._seen_prefixes.clear()
        self.fail_status = self.fail_times = self.retry_after = self.cached_tokens = self.reasoning = None
        self.reasoning_field = "reasoning_content"
        self.max_description = MAX_DESCRIPTION
        self.reply_text = REPLY

    # -- views --------------------------------------------------------------------------------------
    @property
    def completions(self) -> list[Recorded]:
        return [r for r in self.requests if r.path == "/v1/chat/completions"]

    @property
    def rejected(self) -> list[Recorded]:
        return [r for r in self.completions if not r.ok]

    # -- HTTP ---------------------------------------------------------------------------------------
    def _error(self, rec: Recorded, status: int, body: dict, headers: dict | None = None) -> web.Response:
        rec.status, rec.error = status, body["error"]
        return web.json_response(body, status=status, headers={"x-request-id": self._request_id(), **(headers or {})})

    @staticmethod
    def _request_id() -> str:
        return "req_" + uuid.uuid4().hex

    async def handle(self, request: web.Request) -> web.StreamResponse:
        raw = await request.read()
        rec = Recorded(request.method, request.path, request.query_string,
                       {k: v for k, v in request.headers.items()}, raw)
        self.requests.append(rec)
        auth = request.headers.get("Authorization", "")
        if not auth:
            return self._error(rec, 401, error_body(
                "You didn't provide an API key. You need to provide your API key in an Authorization header using "
                "Bearer auth (i.e. Authorization: Bearer YOUR_KEY)."))
        token = auth[7:] if auth[:7].lower() == "bearer " else ""
        if token not in self.keys:
            shown = f"{token[:3]}*****{token[-4:]}" if len(token) > 8 else token
            return self._error(rec, 401, error_body(f"Incorrect API key provided: {shown}. You can find your API "
                                                    "key at https://platform.openai.com/account/api-keys.",
                                                    code="invalid_api_key"))
        if request.method == "GET" and request.path == "/v1/models":
            rec.status = 200
            return web.json_response({"object": "list", "data": [
                {"id": m, "object": "model", "created": 1715367049, "owned_by": "system"}
                for m in (self.models or ("gpt-4o", "gpt-4o-mini"))]})
        if request.path != "/v1/chat/completions":
            return self._error(rec, 404, error_body(f"Invalid URL ({request.method} {request.path})"))
        if request.method != "POST":
            return self._error(rec, 405, error_body(f"Method {request.method} not allowed"))
        if self.fail_status is not None and (self.fail_times is None or self.fail_times > 0):
            if self.fail_times is not None:
                self.fail_times -= 1
            return self._injected(rec)
        try:
            body = json.loads(raw)
        except ValueError:
            return self._error(rec, 400, error_body(
                "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your "
                "HTTP library correctly. The OpenAI API expects a JSON payload, but what was sent was not valid "
                "JSON. If you have trouble figuring out how to fix this, please contact us through our help center "
                "at help.openai.com.)"))
        rec.json = body
        try:
            self.validate(body)
        except Invalid as bad:
            return self._error(rec, 400, error_body(bad.message, param=bad.param, code=bad.code))
        rec.status = 200
        return await self.answer(request, body, rec)

    def _injected(self, rec: Recorded) -> web.Response:
        if self.fail_status == 429:
            headers = {"retry-after": self.retry_after} if self.retry_after is not None else {}
            return self._error(rec, 429, error_body(
                "Rate limit reached for gpt-4o in organization org-fake on requests per min (RPM): Limit 3, Used 3, "
                "Requested 1. Please try again in 20s.", type_="requests", code="rate_limit_exceeded"), headers)
        return self._error(rec, self.fail_status, error_body(
            "The server had an error while processing your request. Sorry about that!", type_="server_error"))

    # -- validation ---------------------------------------------------------------------------------
    def validate(self, body) -> None:
        if not isinstance(body, dict):
            raise Invalid("Invalid type for request body: expected an object.")
        found = _find_forbidden(body, "")
        if found:
            key, where = found
            raise Invalid(f"Unrecognized request argument supplied: {key} (at {where or 'top level'})",
                          param=where or key)
        for key in body:
            if key not in KNOWN_PARAMS:
                raise Invalid(f"Unrecognized request argument supplied: {key}", param=key)
        model = body.get("model")
        if not isinstance(model, str) or not model:
            raise Invalid("you must provide a model parameter", param="model")
        if self.models is not None and model not in self.models:
            raise Invalid(f"The model `{model}` does not exist or you do not have access to it.",
                          param="model", code="model_not_found")
        self._check_messages(body.get("messages"))
        tools = body.get("tools")
        names = self._check_tools(tools) if tools is not None else set()
        self._check_tool_choice(body, names)
        self._check_sampling(body, model)

    def _check_messages(self, messages) -> None:
        if messages is None:
            raise Invalid("Missing required parameter: 'messages'.", param="messages",
                          code="missing_required_parameter")
        if not isinstance(messages, list):
            raise Invalid("Invalid type for 'messages': expected an array of objects.", param="messages",
                          code="invalid_type")
        if not messages:
            raise Invalid("Invalid 'messages': empty array. Expected an array with minimum length 1, but got an "
                          "empty array instead.", param="messages", code="empty_array")
        pending: dict[str, int] = {}  # tool_call ids of the last assistant message still without a tool answer
        pending_from = -1
        for i, message in enumerate(messages):
            where = f"messages[{i}]"
            if not isinstance(message, dict):
                raise Invalid(f"Invalid type for '{where}': expected an object.", param=where, code="invalid_type")
            role = message.get("role")
            if role not in MESSAGE_KEYS:
                raise Invalid(f"Invalid value: '{role}'. Supported values are: 'system', 'assistant', 'user', "
                              "and 'tool'.", param=f"{where}.role", code="invalid_value")
            for key in message:
                if key not in MESSAGE_KEYS[role]:
                    raise Invalid(f"Additional properties are not allowed ('{key}' was unexpected) - '{where}'",
                                  param=f"{where}.{key}")
            if pending and role != "tool":
                raise Invalid("An assistant message with 'tool_calls' must be followed by tool messages responding "
                              "to each 'tool_call_id'. The following tool_call_ids did not have response messages: "
                              + ", ".join(pending), param=f"messages.[{pending_from}].role")
            if role == "tool":
                call_id = message.get("tool_call_id")
                if not isinstance(call_id, str):
                    raise Invalid(f"Missing required parameter: '{where}.tool_call_id'.",
                                  param=f"{where}.tool_call_id", code="missing_required_parameter")
                _check_id(call_id, f"{where}.tool_call_id")
                if call_id not in pending:
                    raise Invalid("Invalid parameter: messages with role 'tool' must be a response to a preceeding "
                                  "message with 'tool_calls'.", param=f"messages.[{i}].role")
                del pending[call_id]
            content_optional = role == "assistant" and (message.get("tool_calls") or message.get("function_call")
                                                        or message.get("refusal"))
            self._check_content(message, role, where, optional=bool(content_optional))
            if role == "assistant" and "tool_calls" in message:
                calls = message["tool_calls"]
                if not isinstance(calls, list):
                    raise Invalid(f"Invalid type for '{where}.tool_calls': expected an array.",
                                  param=f"{where}.tool_calls", code="invalid_type")
                if not calls:
                    raise Invalid(f"Invalid '{where}.tool_calls': empty array. Expected an array with minimum length 1,"
                                  " but got an empty array instead.", param=f"{where}.tool_calls", code="empty_array")
                for j, call in enumerate(calls):
                    cwhere = f"{where}.tool_calls[{j}]"
                    if not isinstance(call, dict) or set(call) - {"id", "type", "function"}:
                        raise Invalid(f"Invalid '{cwhere}': expected an object with id, type and function.",
                                      param=cwhere)
                    if call.get("type") != "function":
                        raise Invalid(f"Invalid value for '{cwhere}.type': expected 'function'.",
                                      param=f"{cwhere}.type", code="invalid_value")
                    if not isinstance(call.get("id"), str):
                        raise Invalid(f"Missing required parameter: '{cwhere}.id'.", param=f"{cwhere}.id",
                                      code="missing_required_parameter")
                    _check_id(call["id"], f"{cwhere}.id")
                    function = call.get("function")
                    if not isinstance(function, dict) or set(function) - {"name", "arguments"} \
                            or not isinstance(function.get("name"), str) or not function["name"] \
                            or not isinstance(function.get("arguments"), str):
                        raise Invalid(f"Invalid '{cwhere}.function': expected {{name: string, arguments: string}}.",
                                      param=f"{cwhere}.function")
                    pending[call["id"]] = j
                pending_from = i
        if pending:
            raise Invalid("An assistant message with 'tool_calls' must be followed by tool messages responding to "
                          "each 'tool_call_id'. The following tool_call_ids did not have response messages: "
                          + ", ".join(pending), param=f"messages.[{pending_from}].role")

    @staticmethod
    def _check_content(message: dict, role: str, where: str, optional: bool) -> None:
        if "content" not in message or message["content"] is None:
            if optional:
                return
            raise Invalid(f"Missing required parameter: '{where}.content'.", param=f"{where}.content",
                          code="missing_required_parameter")
        content = message["content"]
        if isinstance(content, str):
            return
        if not isinstance(content, list):
            raise Invalid(f"Invalid type for '{where}.content': expected one of a string or array of objects.",
                          param=f"{where}.content", code="invalid_type")
        for j, part in enumerate(content):
            pwhere = f"{where}.content[{j}]"
            kind = part.get("type") if isinstance(part, dict) else None
            if kind not in PART_TYPES[role]:
                raise Invalid(f"Invalid value: '{kind}'. Supported values are: "
                              + ", ".join(f"'{t}'" for t in sorted(PART_TYPES[role])) + ".",
                              param=f"{pwhere}.type", code="invalid_value")
            allowed = {"type", kind}
            if set(part) - allowed:
                extra = sorted(set(part) - allowed)[0]
                raise Invalid(f"Unrecognized request argument supplied: {extra} (at {pwhere})",
                              param=f"{pwhere}.{extra}")
            if kind == "text" and not isinstance(part.get("text"), str):
                raise Invalid(f"Missing required parameter: '{pwhere}.text'.", param=f"{pwhere}.text",
                              code="missing_required_parameter")
            if kind == "image_url":
                image = part.get("image_url")
                url = image.get("url") if isinstance(image, dict) else None
                if not isinstance(url, str) or not (url.startswith(("http://", "https://", "data:image/"))):
                    raise Invalid(f"Invalid '{pwhere}.image_url.url': expected a URL or a base64 data URL.",
                                  param=f"{pwhere}.image_url.url", code="invalid_value")

    def _check_tools(self, tools) -> set[str]:
        if not isinstance(tools, list):
            raise Invalid("Invalid type for 'tools': expected an array of objects.", param="tools", code="invalid_type")
        if len(tools) > MAX_TOOLS:
            raise Invalid(f"Invalid 'tools': array too long. Expected an array with maximum length {MAX_TOOLS}, "
                          f"but got an array with length {len(tools)} instead.", param="tools",
                          code="array_above_max_length")
        names: set[str] = set()
        for i, tool in enumerate(tools):
            where = f"tools[{i}]"
            if not isinstance(tool, dict) or tool.get("type") != "function":
                raise Invalid(f"Invalid value for '{where}.type': expected 'function'.", param=f"{where}.type",
                              code="invalid_value")
            if set(tool) - {"type", "function"}:
                extra = sorted(set(tool) - {"type", "function"})[0]
                raise Invalid(f"Unrecognized request argument supplied: {extra} (at {where})", param=f"{where}.{extra}")
            function = tool.get("function")
            if not isinstance(function, dict):
                raise Invalid(f"Missing required parameter: '{where}.function'.", param=f"{where}.function",
                              code="missing_required_parameter")
            extra = set(function) - {"name", "description", "parameters", "strict"}
            if extra:
                raise Invalid(f"Unrecognized request argument supplied: {sorted(extra)[0]} (at {where}.function)",
                              param=f"{where}.function.{sorted(extra)[0]}")
            name = function.get("name")
            if not isinstance(name, str) or not TOOL_NAME.match(name):
                raise Invalid(f"Invalid '{where}.function.name': string does not match pattern. Expected a string "
                              "that matches the pattern '^[a-zA-Z0-9_-]+$'.", param=f"{where}.function.name",
                              code="invalid_value")
            if name in names:
                raise Invalid(f"Invalid 'tools': duplicate function name {name!r}.", param="tools")
            names.add(name)
            description = function.get("description")
            if description is not None and not isinstance(description, str):
                raise Invalid(f"Invalid type for '{where}.function.description': expected a string.",
                              param=f"{where}.function.description", code="invalid_type")
            if description is not None and self.max_description is not None and len(description) > self.max_description:
                raise Invalid(f"Invalid '{where}.function.description': string too long. Expected a string with "
                              f"maximum length {self.max_description}, but got a string with length "
                              f"{len(description)} instead.", param=f"{where}.function.description",
                              code="string_above_max_length")
            params = function.get("parameters")
            if params is not None and (not isinstance(params, dict) or params.get("type") != "object"):
                got = params.get("type") if isinstance(params, dict) else type(params).__name__
                raise Invalid(f"Invalid schema for function '{name}': schema must be a JSON Schema of 'type: "
                              f"\"object\"', got 'type: \"{got}\"'.", param=f"{where}.function.parameters",
                              code="invalid_function_parameters")
        return names

    @staticmethod
    def _check_tool_choice(body: dict, names: set[str]) -> None:
        if "tool_choice" in body and body["tool_choice"] is not None:
            if not names:
                raise Invalid("Invalid value for 'tool_choice': 'tool_choice' is only allowed when 'tools' are "
                              "specified.", param="tool_choice")
            choice = body["tool_choice"]
            if isinstance(choice, str):
                if choice not in ("none", "auto", "required"):
                    raise Invalid(f"Invalid value: '{choice}'. Supported values are: 'none', 'auto', and 'required'.",
                                  param="tool_choice", code="invalid_value")
            elif isinstance(choice, dict):
                function = choice.get("function")
                if choice.get("type") != "function" or not isinstance(function, dict) or set(choice) - {"type",
                                                                                                        "function"}:
                    raise Invalid("Invalid 'tool_choice': expected {type: 'function', function: {name}}.",
                                  param="tool_choice")
                if function.get("name") not in names:
                    raise Invalid(f"Invalid value for 'tool_choice': function '{function.get('name')}' is not among "
                                  "the tools.", param="tool_choice.function.name", code="invalid_value")
            else:
                raise Invalid("Invalid type for 'tool_choice'.", param="tool_choice", code="invalid_type")
        if "parallel_tool_calls" in body and body["parallel_tool_calls"] is not None:
            if not names:
                raise Invalid("Invalid value for 'parallel_tool_calls': 'parallel_tool_calls' is only allowed when "
                              "'tools' are specified.", param="parallel_tool_calls")
            if not isinstance(body["parallel_tool_calls"], bool):
                raise Invalid("Invalid type for 'parallel_tool_calls': expected a boolean.",
                              param="parallel_tool_calls", code="invalid_type")

    def _check_sampling(self, body: dict, model: str) -> None:
        stream = body.get("stream")
        if stream is not None and not isinstance(stream, bool):
            raise Invalid("Invalid type for 'stream': expected a boolean.", param="stream", code="invalid_type")
        if body.get("stream_options") is not None:
            if not stream:
                raise Invalid("The 'stream_options' parameter is only allowed when 'stream' is enabled.",
                              param="stream_options", code="invalid_value")
            options = body["stream_options"]
            if not isinstance(options, dict) or set(options) - {"include_usage", "include_obfuscation"} \
                    or not all(isinstance(v, bool) for v in options.values()):
                raise Invalid("Invalid 'stream_options': expected {include_usage: boolean}.", param="stream_options")
        for name, low, high in (("temperature", 0, 2), ("top_p", 0, 1), ("frequency_penalty", -2, 2),
                                ("presence_penalty", -2, 2)):
            value = body.get(name)
            if value is None:
                continue
            if type(value) not in (int, float):
                raise Invalid(f"Invalid type for '{name}': expected a decimal.", param=name, code="invalid_type")
            if not low <= value <= high:
                raise Invalid(f"Invalid '{name}': decimal {'above maximum' if value > high else 'below minimum'} "
                              f"value. Expected a value {'<=' if value > high else '>='} "
                              f"{high if value > high else low}, but got {value} instead.", param=name,
                              code="decimal_above_max_value" if value > high else "decimal_below_min_value")
        if body.get("max_tokens") is not None and body.get("max_completion_tokens") is not None:
            raise Invalid("max_tokens and max_completion_tokens cannot both be set.", param="max_tokens",
                          code="invalid_value")
        for name in ("max_tokens", "max_completion_tokens"):
            value = body.get(name)
            if value is None:
                continue
            if type(value) is not int or value < 1:
                raise Invalid(f"Invalid '{name}': integer below minimum value. Expected a value >= 1, but got "
                              f"{value} instead.", param=name, code="integer_below_min_value")
            cap = self.completion_caps.get(model)
            if cap is not None and value > cap:
                raise Invalid(f"max_tokens is too large: {value}. This model supports at most {cap} completion "
                              f"tokens, whereas you provided {value}.", param=name, code="invalid_value")
        n = body.get("n")
        if n is not None and (type(n) is not int or n != 1):
            raise Invalid("This fake serves n=1 only.", param="n", code="invalid_value")
        stop = body.get("stop")
        if stop is not None:
            stops = [stop] if isinstance(stop, str) else stop
            if not isinstance(stops, list) or not all(isinstance(s, str) for s in stops):
                raise Invalid("Invalid type for 'stop': expected a string or an array of strings.", param="stop",
                              code="invalid_type")
            if len(stops) > MAX_STOP:
                raise Invalid(f"Invalid 'stop': array too long. Expected an array with maximum length {MAX_STOP}, "
                              f"but got an array with length {len(stops)} instead.", param="stop",
                              code="array_above_max_length")
        user = body.get("user")
        if user is not None:
            if not isinstance(user, str):
                raise Invalid("Invalid type for 'user': expected a string.", param="user", code="invalid_type")
            if len(user) > MAX_USER:
                raise Invalid(f"Invalid 'user': string too long. Expected a string with maximum length {MAX_USER}, "
                              f"but got a string with length {len(user)} instead.", param="user",
                              code="string_above_max_length")
        metadata = body.get("metadata")
        if metadata is not None and (not isinstance(metadata, dict)
                                     or not all(isinstance(v, str) for v in metadata.values())):
            raise Invalid("Invalid 'metadata': expected a map of strings.", param="metadata", code="invalid_type")

    # -- answers ------------------------------------------------------------------------------------
    def decide(self, body: dict) -> tuple[str | None, dict | None]:
        """(text, tool call) for this request."""
        turns = [m for m in body["messages"] if m.get("role") != "system"]
        last = turns[-1] if turns else body["messages"][-1]
        if last.get("role") == "tool":
            return TOOL_PREFIX + _text(last.get("content")), None
        if last.get("role") == "user":
            matches = RUN.findall(_text(last.get("content")))
            tools = {t["function"]["name"] for t in body.get("tools") or ()}
            if matches and "Bash" in tools and body.get("tool_choice") != "none":
                arguments = json.dumps({"command": matches[-1].strip(), "description": "run it (openai fake)"})
                return None, {"id": "call_" + uuid.uuid4().hex[:24], "name": "Bash", "arguments": arguments}
        return self.reply_text, None

    def usage(self, body: dict, completion: str) -> dict:
        prompt = max(1, (len(json.dumps(body["messages"])) + len(json.dumps(body.get("tools") or []))) // 4)
        prefix = hashlib.sha256(json.dumps([body["messages"][:1], body.get("tools")]).encode()).hexdigest()
        if self.cached_tokens is not None:
            cached = min(self.cached_tokens, prompt)
        else:  # OpenAI's automatic prefix caching: prompts of 1024+ tokens, in steps of 128
            seen = self._seen_prefixes.get(prefix, 0)
            cached = (min(seen, prompt) // 128) * 128 if min(seen, prompt) >= 1024 else 0
            self._seen_prefixes[prefix] = max(seen, prompt)
        output = max(1, (len(completion) + 3) // 4)
        return {"prompt_tokens": prompt, "completion_tokens": output, "total_tokens": prompt + output,
                "prompt_tokens_details": {"cached_tokens": cached, "audio_tokens": 0},
                "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0,
                                              "accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0}}

    async def answer(self, request: web.Request, body: dict, rec: Recorded | None = None) -> web.StreamResponse:
        text, call = self.decide(body)
        completion = call["arguments"] if call else text
        usage = self.usage(body, completion)
        model = RESOLVED.get(body["model"], body["model"])
        if rec is not None:
            rec.answer = {"text": text, "tool_call": call, "usage": usage, "model": model,
                          "stream": bool(body.get("stream"))}
        ident, created = f"chatcmpl-fake{next(self._ids):04d}{uuid.uuid4().hex[:16]}", int(time.time())
        finish = "tool_calls" if call else "stop"
        headers = {"x-request-id": self._request_id(), "openai-processing-ms": "42"}
        if not body.get("stream"):
            message = {"role": "assistant", "content": text, "refusal": None, "annotations": []}
            if self.reasoning:
                message[self.reasoning_field] = self.reasoning
            if call:
                message["tool_calls"] = [{"id": call["id"], "type": "function",
                                          "function": {"name": call["name"], "arguments": call["arguments"]}}]
            return web.json_response({
                "id": ident, "object": "chat.completion", "created": created, "model": model,
                "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": finish}],
                "usage": usage, "service_tier": "default", "system_fingerprint": "fp_fake0001"}, headers=headers)
        include_usage = bool((body.get("stream_options") or {}).get("include_usage"))

        def chunk(delta: dict | None, finish_reason: str | None = None, final_usage: dict | None = None) -> bytes:
            data: dict = {"id": ident, "object": "chat.completion.chunk", "created": created, "model": model,
                          "service_tier": "default", "system_fingerprint": "fp_fake0001",
                          "choices": [] if delta is None else [{"index": 0, "delta": delta, "logprobs": None,
                                                                "finish_reason": finish_reason}]}
            if include_usage:
                data["usage"] = final_usage
            return b"data: " + json.dumps(data, separators=(",", ":")).encode() + b"\n\n"

        pieces = [completion[i:i + self.piece_chars] for i in range(0, len(completion), self.piece_chars)]
        out = [chunk({"role": "assistant", "content": None if call else "", "refusal": None})]
        thought = self.reasoning or ""
        out += [chunk({"content": None, self.reasoning_field: thought[i:i + self.piece_chars]})
                for i in range(0, len(thought), self.piece_chars)]
        if call:
            out.append(chunk({"tool_calls": [{"index": 0, "id": call["id"], "type": "function",
                                              "function": {"name": call["name"], "arguments": ""}}]}))
            out += [chunk({"tool_calls": [{"index": 0, "function": {"arguments": p}}]}) for p in pieces]
        else:
            out += [chunk({"content": p}) for p in pieces]
        out.append(chunk({}, finish))
        if include_usage:
            out.append(chunk(None, final_usage=usage))
        out.append(b"data: [DONE]\n\n")
        response = web.StreamResponse(status=200, headers={"content-type": "text/event-stream; charset=utf-8",
                                                           "cache-control": "no-cache", **headers})
        await response.prepare(request)
        for piece in out:
            await response.write(piece)
            await asyncio.sleep(0)
        await response.write_eof()
        return response


def _check_id(value: str, param: str) -> None:
    if len(value) > MAX_TOOL_ID:
        raise Invalid(f"Invalid '{param}': string too long. Expected a string with maximum length {MAX_TOOL_ID}, "
                      f"but got a string with length {len(value)} instead.", param=param,
                      code="string_above_max_length")


def _find_forbidden(value, where: str) -> tuple[str, str] | None:
    if isinstance(value, dict):
        for key, item in value.items():
            if key in FORBIDDEN_ANYWHERE:
                return key, where
            found = _find_forbidden(item, f"{where}.{key}" if where else key)
            if found:
                return found
    elif isinstance(value, list):
        for i, item in enumerate(value):
            found = _find_forbidden(item, f"{where}[{i}]")
            if found:
                return found
    return None


def _text(content) -> str:
    if isinstance(content, str):
        return content
    return "\n".join(p.get("text", "") for p in content or () if isinstance(p, dict) and p.get("type") == "text")


# -- fixtures -------------------------------------------------------------------------------------------
@pytest.fixture
async def openai_fake():
    """A fresh fake in the test's own event loop."""
    async with FakeOpenAI() as fake:
        yield fake


@pytest.fixture(scope="module")
def openai_fake_module():
    """One fake for the whole module, on its own thread; reset before each use by the caller (`reset()`)."""
    with FakeOpenAI().threaded() as fake:
        yield fake
