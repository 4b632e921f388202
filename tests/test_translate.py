"""Anthropic Messages <-> OpenAI Chat Completions translation, field by field, with the official SDKs
(anthropic, openai) parsing what the translation produces over real HTTP on 127.0.0.1."""
from __future__ import annotations

import json

import anthropic
import openai
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from app.proxy.translate import (
    AnthropicToOpenAIStream,
    OpenAIStreamTranslator,
    TranslationError,
    anthropic_error_to_openai,
    anthropic_to_openai_request,
    anthropic_to_openai_response,
    completion_cap,
    openai_error_body,
    openai_error_to_anthropic,
    openai_request_to_anthropic,
    openai_to_anthropic_response,
)

TOOL_ID = "toolu_rec_d1835f9e8d814d0baf9d"
SCHEMA = {"type": "object", "properties": {"command": {"description": "The command to execute", "type": "string"},
                                           "timeout": {"type": "number"}},
          "required": ["command"], "additionalProperties": False}
USER_ID = json.dumps({"device_id": "3a3f0a9f" * 8, "account_uuid": "", "session_id": "c1594430-0fa0-49a2-ae32-7a560b5a610c"})

# The second turn of a Claude Code 2.1.197 tool round trip (shared reference §4), trimmed.
CLAUDE_CODE_BODY = {
    "model": "claude-opus-4-8",
    "messages": [
        {"role": "user", "content": [
            {"type": "text", "text": "<system-reminder>\nToday's date is 2026-11-26.\n</system-reminder>"},
            {"type": "text", "text": "run echo"}]},
        {"role": "system", "content": "Available agent types for the Agent tool:\n- claude: Catch-all"},
        {"role": "assistant", "content": [
            {"type": "thinking", "thinking": "The user wants echo.", "signature": "sig=="},
            {"type": "text", "text": "Running it."},
            {"type": "tool_use", "id": TOOL_ID, "name": "Bash",
             "input": {"command": "echo recorder-tool-ok", "description": "echo"}}]},
        {"role": "user", "content": [
            {"tool_use_id": TOOL_ID, "type": "tool_result", "content": "recorder-tool-ok", "is_error": False,
             "cache_control": {"type": "ephemeral"}},
            {"type": "text", "text": "", "cache_control": {"type": "ephemeral"}}]},
    ],
    "system": [
        {"type": "text", "text": "x-anthropic-billing-header: cc_version=2.1.197.c40; cc_entrypoint=sdk-cli;"},
        {"type": "text", "text": "You are a Claude agent, built on Anthropic's Claude Agent SDK.",
         "cache_control": {"type": "ephemeral"}},
        {"type": "text", "text": "\nYou are an interactive agent.", "cache_control": {"type": "ephemeral", "ttl": "1h"}},
    ],
    "tools": [
        {"name": "Bash", "description": "Executes a bash command.",
         "input_schema": {"$schema": "https://json-schema.org/draft/2020-12/schema", **SCHEMA},
         "cache_control": {"type": "ephemeral"}},
        {"name": "DeferredToolPlaceholder", "description": "Placeholder", "defer_loading": True,
         "input_schema": {"$schema": "https://json-schema.org/draft/2020-12/schema", "type": "object"}},
        {"type": "web_search_20250305", "name": "web_search", "max_uses": 8},
    ],
    "metadata": {"user_id": USER_ID},
    "max_tokens": 64000,
    "thinking": {"type": "adaptive"},
    "context_management": {"edits": [{"type": "clear_thinking_20251015", "keep": "all"}]},
    "output_config": {"effort": "high"},
    "top_k": 40,
    "stream": True,
}

EXPECTED_OPENAI = {
    "model": "gpt-4.1",
    "messages": [
        {"role": "system", "content": "You are a Claude agent, built on Anthropic's Claude Agent SDK.\n\n"
                                      "\nYou are an interactive agent."},
        {"role": "user", "content": "<system-reminder>\nToday's date is 2026-11-26.\n</system-reminder>\n\nrun echo"},
        {"role": "system", "content": "Available agent types for the Agent tool:\n- claude: Catch-all"},
        {"role": "assistant", "content": "Running it.", "tool_calls": [
            {"id": TOOL_ID, "type": "function",
             "function": {"name": "Bash", "arguments": '{"command": "echo recorder-tool-ok", "description": "echo"}'}}]},
        {"role": "tool", "tool_call_id": TOOL_ID, "content": "recorder-tool-ok"},
    ],
    "max_completion_tokens": 64000,
    "stream": True,
    "stream_options": {"include_usage": True},
    "tools": [
        {"type": "function", "function": {"name": "Bash", "description": "Executes a bash command.",
                                          "parameters": SCHEMA}},
        {"type": "function", "function": {"name": "DeferredToolPlaceholder", "description": "Placeholder",
                                          "parameters": {"type": "object", "properties": {}}}},
    ],
}


# -- Anthropic request -> OpenAI request ---------------------------------------------------------------
def test_claude_code_request_field_by_field():
    out = anthropic_to_openai_request(CLAUDE_CODE_BODY, "gpt-4.1")
    assert out == EXPECTED_OPENAI
    text = json.dumps(out)
    for banned in ("thinking", "context_management", "cache_control", "ephemeral", "$schema", "defer_loading",
                   "output_config", "effort", "web_search", "top_k", "x-anthropic-billing-header", "signature",
                   "metadata", "device_id"):
        assert banned not in text, banned
    assert CLAUDE_CODE_BODY["tools"][0]["input_schema"]["$schema"]  # the caller's body is not mutated


def test_max_tokens_field_user_stop_and_sampling():
    body = {"model": "m", "max_tokens": 100, "temperature": 0.2, "top_p": 0.9, "top_k": 5,
            "stop_sequences": ["END", "STOP", "a", "b", "c"], "metadata": {"user_id": "dev-42"},
            "messages": [{"role": "user", "content": "hi"}]}
    assert anthropic_to_openai_request(body, "llama3", max_tokens_field="max_tokens") == {
        "model": "llama3", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 100,
        "temperature": 0.2, "top_p": 0.9, "stop": ["END", "STOP", "a", "b"], "user": "dev-42"}


def test_system_text_mid_conversation_waits_for_the_tool_results():
    """OpenAI requires tool messages right after the assistant's tool_calls: a system message Claude Code put
    between them is moved after the results."""
    body = {"messages": [
        {"role": "user", "content": "go"},
        {"role": "assistant", "content": [{"type": "tool_use", "id": "t1", "name": "Read", "input": {"p": 1}},
                                          {"type": "tool_use", "id": "t2", "name": "Read", "input": {"p": 2}}]},
        {"role": "system", "content": [{"type": "text", "text": "note"}]},
        {"role": "user", "content": [{"type": "text", "text": "and then?"},
                                     {"type": "tool_result", "tool_use_id": "t2", "content": [
                                         {"type": "text", "text": "two"}, {"type": "text", "text": "lines"}]},
                                     {"type": "tool_result", "tool_use_id": "t1", "content": "boom",
                                      "is_error": True}]}]}
    assert anthropic_to_openai_request(body, "m")["messages"] == [
        {"role": "user", "content": "go"},
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": "t1", "type": "function", "function": {"name": "Read", "arguments": '{"p": 1}'}},
            {"id": "t2", "type": "function", "function": {"name": "Read", "arguments": '{"p": 2}'}}]},
        {"role": "tool", "tool_call_id": "t2", "content": "two\nlines"},
        {"role": "tool", "tool_call_id": "t1", "content": "Error: boom"},
        {"role": "system", "content": "note"},
        {"role": "user", "content": "and then?"},
    ]


def test_ids_openai_would_refuse_are_mapped_consistently():
    long_id = "toolu_vrtx_01" + "x" * 40 + ".v2"
    body = {"messages": [
        {"role": "assistant", "content": [{"type": "tool_use", "id": long_id, "name": "Bash", "input": {}}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": long_id, "content": []}]}]}
    assistant, tool = anthropic_to_openai_request(body, "m")["messages"]
    mapped = assistant["tool_calls"][0]["id"]
    assert mapped == tool["tool_call_id"] and len(mapped) <= 40 and mapped.startswith("call_")
    assert tool["content"] == "" and assistant["tool_calls"][0]["function"]["arguments"] == "{}"


def test_images_documents_and_empty_blocks():
    body = {"messages": [
        {"role": "user", "content": [{"type": "text", "text": ""}]},  # nothing left: no message at all
        {"role": "assistant", "content": [{"type": "text", "text": ""}, {"type": "thinking", "thinking": "x"}]},
        {"role": "assistant", "content": ""},
        {"role": "user", "content": [
            {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="}},
            {"type": "image", "source": {"type": "url", "url": "https://example.com/cat.jpg"}},
            {"type": "document", "source": {"type": "base64", "media_type": "application/pdf", "data": "JVBERi0="},
             "title": "spec.pdf"},
            {"type": "document", "source": {"type": "text", "media_type": "text/plain", "data": "plain doc"}},
            {"type": "text", "text": "what is this?"}]},
        {"role": "assistant", "content": [{"type": "tool_use", "id": "t9", "name": "Read", "input": {"f": "a.png"}}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t9", "content": [
            {"type": "image", "source": {"type": "base64", "media_type": "image/jpeg", "data": "/9j/"}}]}]},
    ]}
    assert anthropic_to_openai_request(body, "gpt-4o")["messages"] == [
        {"role": "user", "content": [
            {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}},
            {"type": "image_url", "image_url": {"url": "https://example.com/cat.jpg"}},
            {"type": "file", "file": {"filename": "spec.pdf", "file_data": "data:application/pdf;base64,JVBERi0="}},
            {"type": "text", "text": "plain doc"},
            {"type": "text", "text": "what is this?"}]},
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": "t9", "type": "function", "function": {"name": "Read", "arguments": '{"f": "a.png"}'}}]},
        {"role": "tool", "tool_call_id": "t9",
         "content": "(1 attachment(s) from this tool result follow in the next message)"},
        {"role": "user", "content": [{"type": "image_url", "image_url": {"url": "data:image/jpeg;base64,/9j/"}}]},
    ]


BASH = {"name": "Bash", "input_schema": {"type": "object", "properties": {}}}
WEB = {"type": "web_search_20250305", "name": "web_search"}


@pytest.mark.parametrize("tools, choice, expected", [
    ([BASH], {"type": "auto"}, {"tool_choice": "auto"}),
    ([BASH], {"type": "any"}, {"tool_choice": "required"}),
    ([BASH], {"type": "none"}, {"tool_choice": "none"}),
    ([BASH], {"type": "tool", "name": "Bash"}, {"tool_choice": {"type": "function", "function": {"name": "Bash"}}}),
    ([BASH], {"type": "auto", "disable_parallel_tool_use": True}, {"tool_choice": "auto", "parallel_tool_calls": False}),
    # Bifrost #3596: Claude Code forces its server-side web_search tool; the tool is dropped, so is the choice
    ([BASH, WEB], {"type": "tool", "name": "web_search"}, {}),
    ([WEB], {"type": "tool", "name": "web_search"}, None),  # no tools left: neither tools nor tool_choice
    ([], {"type": "any"}, None),
])
def test_tool_choice(tools, choice, expected):
    out = anthropic_to_openai_request({"messages": [], "tools": tools, "tool_choice": choice}, "m")
    if expected is None:
        assert "tools" not in out and "tool_choice" not in out and "parallel_tool_calls" not in out
    else:
        assert out["tools"] == [{"type": "function", "function": {"name": "Bash", "parameters": BASH["input_schema"]}}]
        assert {k: out[k] for k in ("tool_choice", "parallel_tool_calls") if k in out} == expected


# -- OpenAI response -> Anthropic response ---------------------------------------------------------------
def test_chat_completion_to_anthropic_message():
    data = {"id": "chatcmpl-abc123", "object": "chat.completion", "created": 1, "model": "gpt-4.1-2025-04-14",
            "choices": [{"index": 0, "finish_reason": "tool_calls", "message": {
                "role": "assistant", "content": "Let me look.", "tool_calls": [
                    {"id": "call_1", "type": "function", "function": {"name": "Read", "arguments": '{"path": "a.py"}'}},
                    {"id": "call_2", "type": "function", "function": {"name": "Bash", "arguments": "{not json"}},
                    {"id": "call_3", "type": "function", "function": {"name": "Noop", "arguments": ""}}]}}],
            "usage": {"prompt_tokens": 1200, "completion_tokens": 35, "total_tokens": 1235,
                      "prompt_tokens_details": {"cached_tokens": 1024}}}
    assert openai_to_anthropic_response(data, "claude-opus-4-8") == {
        "id": "msg_chatcmpl-abc123", "type": "message", "role": "assistant", "model": "claude-opus-4-8",
        "content": [{"type": "text", "text": "Let me look."},
                    {"type": "tool_use", "id": "call_1", "name": "Read", "input": {"path": "a.py"}},
                    {"type": "tool_use", "id": "call_2", "name": "Bash", "input": {"_raw": "{not json"}},
                    {"type": "tool_use", "id": "call_3", "name": "Noop", "input": {}}],
        "stop_reason": "tool_use", "stop_sequence": None,
        "usage": {"input_tokens": 176, "output_tokens": 35, "cache_creation_input_tokens": 0,
                  "cache_read_input_tokens": 1024}}


@pytest.mark.parametrize("finish, tools, stop", [
    ("stop", False, "end_turn"), ("length", False, "max_tokens"), ("tool_calls", True, "tool_use"),
    ("content_filter", False, "refusal"), (None, False, "end_turn"), ("stop", True, "tool_use"),
    ("length", True, "max_tokens"), ("function_call", True, "tool_use"),
])
def test_finish_reason_mapping(finish, tools, stop):
    message = {"role": "assistant", "content": "x"}
    if tools:
        message["tool_calls"] = [{"id": "c", "type": "function", "function": {"name": "T", "arguments": "{}"}}]
    data = {"choices": [{"index": 0, "message": message, "finish_reason": finish}]}
    assert openai_to_anthropic_response(data, "m")["stop_reason"] == stop


# -- OpenAI stream -> Anthropic SSE ----------------------------------------------------------------------
def chunk(delta=None, finish=None, **extra) -> bytes:
    data = {"id": "chatcmpl-9x", "object": "chat.completion.chunk", "created": 1, "model": "gpt-4.1",
            "choices": [] if delta is None else [{"index": 0, "delta": delta, "logprobs": None,
                                                   "finish_reason": finish}], **extra}
    return b"data: " + json.dumps(data).encode() + b"\n\n"


def tc(index, arguments=None, id=None, name=None):
    call = {"index": index}
    if id:
        call.update(id=id, type="function")
    function = {}
    if name is not None:
        function["name"] = name
    if arguments is not None:
        function["arguments"] = arguments
    call["function"] = function
    return {"tool_calls": [call]}


READ_ARGS = ['{"file_', 'path": "/tmp/a', '.py"}']
GREP_ARGS = ['{"pattern"', ': "TODO", "path": "."}']
USAGE = {"prompt_tokens": 5000, "completion_tokens": 42, "total_tokens": 5042,
         "prompt_tokens_details": {"cached_tokens": 4096}, "completion_tokens_details": {"reasoning_tokens": 0}}

# What gpt-4.1 streams for "read a.py and grep TODO" with parallel tool calls and include_usage.
RECORDED = b"".join([
    chunk({"role": "assistant", "content": "", "refusal": None}),
    chunk({"content": "I'll"}), chunk({"content": " check both."}),
    chunk(tc(0, "", id="call_read", name="Read")),
    *[chunk(tc(0, piece)) for piece in READ_ARGS],
    chunk(tc(1, "", id="call_grep", name="Grep")),
    *[chunk(tc(1, piece)) for piece in GREP_ARGS],
    chunk({}, "tool_calls"),
    chunk(None, usage=USAGE),
    b"data: [DONE]\n\n",
])


def parse_sse(raw: bytes) -> list[tuple[str, dict]]:
    events = []
    for frame in raw.decode().strip().split("\n\n"):
        lines = frame.split("\n")
        assert lines[0].startswith("event: ") and lines[1].startswith("data: "), frame
        events.append((lines[0][7:], json.loads(lines[1][6:])))
    return events


def translate(raw: bytes, cuts=(), **kwargs) -> tuple[list[tuple[str, dict]], OpenAIStreamTranslator]:
    translator = OpenAIStreamTranslator("claude-opus-4-8", **kwargs)
    out, last = b"", 0
    for cut in (*cuts, len(raw)):
        out += translator.feed(raw[last:cut])
        last = cut
    return parse_sse(out + translator.finish()), translator


def shape(events):
    out = []
    for name, data in events:
        if name == "content_block_start":
            block = data["content_block"]
            out.append((name, data["index"], block["type"], block.get("name")))
        elif name in ("content_block_delta", "content_block_stop"):
            out.append((name, data["index"]))
        else:
            out.append((name,))
    return out


def test_recorded_stream_exact_event_sequence():
    split_inside_json = RECORDED.index(b'"call_read"') + 4
    split_inside_marker = RECORDED.index(b"data: [DONE]") + 3
    events, translator = translate(RECORDED, cuts=(7, split_inside_json, split_inside_marker), input_tokens_estimate=4800)
    assert shape(events) == [
        ("message_start",),
        ("content_block_start", 0, "text", None), ("content_block_delta", 0), ("content_block_delta", 0),
        ("content_block_stop", 0),
        ("content_block_start", 1, "tool_use", "Read"), *[("content_block_delta", 1)] * 3, ("content_block_stop", 1),
        ("content_block_start", 2, "tool_use", "Grep"), *[("content_block_delta", 2)] * 2, ("content_block_stop", 2),
        ("message_delta",), ("message_stop",),
    ]
    start = events[0][1]["message"]
    assert start["model"] == "claude-opus-4-8" and start["content"] == [] and start["stop_reason"] is None
    assert start["usage"] == {"input_tokens": 4800, "output_tokens": 1, "cache_creation_input_tokens": 0,
                              "cache_read_input_tokens": 0}
    assert events[5][1]["content_block"] == {"type": "tool_use", "id": "call_read", "name": "Read", "input": {}}
    pieces = {1: [], 2: []}
    for name, data in events:
        if name == "content_block_delta" and data["delta"]["type"] == "input_json_delta":
            pieces[data["index"]].append(data["delta"]["partial_json"])
    assert pieces == {1: READ_ARGS, 2: GREP_ARGS}  # exactly as they arrived
    assert json.loads("".join(pieces[1])) == {"file_path": "/tmp/a.py"}
    assert json.loads("".join(pieces[2])) == {"pattern": "TODO", "path": "."}
    assert events[-2][1] == {"type": "message_delta", "delta": {"stop_reason": "tool_use", "stop_sequence": None},
                             "usage": {"input_tokens": 904, "output_tokens": 42, "cache_creation_input_tokens": 0,
                                       "cache_read_input_tokens": 4096}}
    assert translator.stop_reason == "tool_use"
    assert (translator.usage.input_tokens, translator.usage.output_tokens, translator.usage.cache_read_tokens) == \
        (904, 42, 4096)


def test_stream_fed_byte_by_byte_with_crlf_gives_the_same_events():
    crlf = RECORDED.replace(b"\n", b"\r\n")
    events, _ = translate(crlf, cuts=range(1, len(crlf)))
    reference, _ = translate(RECORDED)
    strip = [(n, {k: v for k, v in d.items() if k != "message"}) for n, d in events]
    assert strip == [(n, {k: v for k, v in d.items() if k != "message"}) for n, d in reference]


def test_interleaved_parallel_tool_calls_never_reopen_a_block():
    raw = b"".join([
        chunk(tc(0, "", id="call_a", name="Read")), chunk(tc(1, "", id="call_b", name="Grep")),
        chunk(tc(0, '{"a":')), chunk(tc(1, '{"b":')), chunk(tc(0, "1}")), chunk(tc(1, "2}")),
        chunk({"content": "late words"}), chunk({}, "tool_calls"), b"data: [DONE]\n\n"])
    events, _ = translate(raw)
    assert shape(events) == [
        ("message_start",),
        ("content_block_start", 0, "tool_use", "Read"), ("content_block_delta", 0), ("content_block_delta", 0),
        ("content_block_stop", 0),
        ("content_block_start", 1, "tool_use", "Grep"), ("content_block_delta", 1), ("content_block_delta", 1),
        ("content_block_stop", 1),
        ("content_block_start", 2, "text", None), ("content_block_delta", 2), ("content_block_stop", 2),
        ("message_delta",), ("message_stop",)]
    assert [d["delta"].get("partial_json") for n, d in events if n == "content_block_delta"] == \
        ['{"a":', "1}", '{"b":', "2}", None]


def test_name_first_arguments_later_and_calls_sharing_index_zero():
    """The name may come alone, arguments in later chunks; some servers send each new call at index 0."""
    raw = b"".join([
        chunk(tc(0, None, id="c1", name="Bash")), chunk(tc(0, '{"command":"ls"}')),
        chunk(tc(0, '{"command":"pwd"}', id="c2", name="Bash")), chunk({}, "tool_calls"), b"data: [DONE]\n\n"])
    events, _ = translate(raw)
    blocks = [d["content_block"] for n, d in events if n == "content_block_start"]
    assert blocks == [{"type": "tool_use", "id": "c1", "name": "Bash", "input": {}},
                      {"type": "tool_use", "id": "c2", "name": "Bash", "input": {}}]
    assert [(d["index"], d["delta"]["partial_json"]) for n, d in events if n == "content_block_delta"] == \
        [(0, '{"command":"ls"}'), (1, '{"command":"pwd"}')]


def test_tool_call_that_finishes_with_stop_is_still_tool_use():
    """LiteLLM #34692 / Bifrost #3638: Ollama and vLLM may end a tool-calling turn with finish_reason "stop"."""
    raw = b"".join([chunk({"content": "ok "}), chunk(tc(0, '{"x":1}', id="c", name="T")), chunk({}, "stop"),
                    b"data: [DONE]\n\n"])
    events, translator = translate(raw)
    assert events[-2][1]["delta"]["stop_reason"] == "tool_use" == translator.stop_reason


def test_empty_tool_calls_list_is_text_and_no_empty_leading_block():
    """LiteLLM #29286: vLLM sends `tool_calls: []` with content; the role chunk's "" opens nothing."""
    raw = b"".join([chunk({"role": "assistant", "content": ""}), chunk({"content": "Hello", "tool_calls": []}),
                    chunk({"content": " there", "tool_calls": []}, "stop"), b"data: [DONE]\n\n"])
    events, translator = translate(raw)
    assert shape(events) == [("message_start",), ("content_block_start", 0, "text", None), ("content_block_delta", 0),
                             ("content_block_delta", 0), ("content_block_stop", 0), ("message_delta",), ("message_stop",)]
    assert "".join(d["delta"]["text"] for n, d in events if n == "content_block_delta") == "Hello there"
    assert translator.stop_reason == "end_turn"


def test_no_usage_chunk_still_ends_the_message_with_an_estimate():
    raw = chunk({"content": "12345678"}) + chunk({}, "length") + b"data: [DONE]\n\n"
    events, translator = translate(raw, input_tokens_estimate=77)
    assert events[-2][1]["delta"]["stop_reason"] == "max_tokens" and events[-1][0] == "message_stop"
    assert events[-2][1]["usage"]["input_tokens"] == 77 and events[-2][1]["usage"]["output_tokens"] == 2
    assert translator.usage.input_tokens == 77


def test_finish_reason_then_body_ends_without_done():
    events, translator = translate(chunk({"content": "hi"}) + chunk({}, "stop", usage=USAGE))
    assert events[-1][0] == "message_stop" and translator.usage.output_tokens == 42


def test_empty_stream_still_starts_and_stops():
    events, _ = translate(b"data: [DONE]\n\n")
    assert shape(events) == [("message_start",), ("message_delta",), ("message_stop",)]


def test_error_mid_stream_becomes_anthropic_error_event():
    raw = chunk({"content": "par"}) + b'data: {"error":{"message":"The server had an error","type":"server_error",' \
        b'"param":null,"code":null}}\n\n' + chunk({"content": "ignored"})
    events, translator = translate(raw)
    assert events[-1] == ("error", {"type": "error", "error": {"type": "api_error",
                                                               "message": "The server had an error"}})
    assert shape(events)[:3] == [("message_start",), ("content_block_start", 0, "text", None),
                                 ("content_block_delta", 0)] and len(events) == 4
    assert translator.error["type"] == "api_error"


def test_stream_cut_short_is_an_error_not_a_clean_stop():
    events, _ = translate(chunk({"content": "half an ans"}))
    assert events[-1][0] == "error" and "ended before" in events[-1][1]["error"]["message"]


async def serve(handler, path):
    app = web.Application()
    app.router.add_post(path, handler)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    return server


async def test_anthropic_sdk_consumes_the_translated_stream():
    translator = OpenAIStreamTranslator("claude-opus-4-8", input_tokens_estimate=10)

    async def handler(request):
        response = web.StreamResponse(headers={"content-type": "text/event-stream; charset=utf-8"})
        await response.prepare(request)
        for i in range(0, len(RECORDED), 97):  # upstream chunks cut at arbitrary places
            await response.write(translator.feed(RECORDED[i:i + 97]))
        await response.write(translator.finish())
        return response

    server = await serve(handler, "/v1/messages")
    try:
        async with anthropic.AsyncAnthropic(base_url=str(server.make_url("")), api_key="k", max_retries=0) as client:
            manager = client.messages.stream(model="claude-opus-4-8", max_tokens=100,
                                             messages=[{"role": "user", "content": "go"}])
            async with manager as stream:
                text = "".join([t async for t in stream.text_stream])
                final = await stream.get_final_message()
    finally:
        await server.close()
    assert text == "I'll check both."
    assert [b.type for b in final.content] == ["text", "tool_use", "tool_use"]
    assert final.content[1].input == {"file_path": "/tmp/a.py"} and final.content[1].id == "call_read"
    assert final.content[2].input == {"pattern": "TODO", "path": "."} and final.content[2].name == "Grep"
    assert final.stop_reason == "tool_use"
    assert (final.usage.input_tokens, final.usage.output_tokens, final.usage.cache_read_input_tokens) == (904, 42, 4096)


async def test_anthropic_sdk_parses_the_translated_json():
    data = {"id": "chatcmpl-1", "choices": [{"index": 0, "finish_reason": "stop",
                                             "message": {"role": "assistant", "content": "hi from gpt"}}],
            "usage": {"prompt_tokens": 9, "completion_tokens": 3}}

    async def handler(request):
        return web.json_response(openai_to_anthropic_response(data, (await request.json())["model"]))

    server = await serve(handler, "/v1/messages")
    try:
        async with anthropic.AsyncAnthropic(base_url=str(server.make_url("")), api_key="k", max_retries=0) as client:
            msg = await client.messages.create(model="claude-x", max_tokens=5, messages=[{"role": "user", "content": "hi"}])
    finally:
        await server.close()
    assert msg.content[0].text == "hi from gpt" and msg.stop_reason == "end_turn" and msg.model == "claude-x"
    assert msg.usage.input_tokens == 9 and msg.usage.output_tokens == 3


# -- errors -----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("status, body, kind, message", [
    (429, {"error": {"message": "Rate limit reached for gpt-4.1", "type": "requests", "code": "rate_limit_exceeded"}},
     "rate_limit_error", "Rate limit reached for gpt-4.1"),
    (429, {"error": {"message": "You exceeded your current quota", "type": "insufficient_quota",
                     "code": "insufficient_quota"}}, "rate_limit_error", "You exceeded your current quota"),
    (401, {"error": {"message": "Incorrect API key provided", "type": "invalid_request_error",
                     "code": "invalid_api_key"}}, "authentication_error", "Incorrect API key provided"),
    (403, {"error": {"message": "Country not supported", "type": "invalid_request_error"}}, "permission_error",
     "Country not supported"),
    (404, {"error": {"message": "The model `gpt-9` does not exist", "code": "model_not_found"}}, "not_found_error",
     "The model `gpt-9` does not exist"),
    (400, {"error": {"message": "Invalid 'messages[1].content'", "param": "messages"}}, "invalid_request_error",
     "Invalid 'messages[1].content'"),
    (422, {"detail": "Unprocessable"}, "invalid_request_error", "Unprocessable"),  # FastAPI-style servers
    (400, {"object": "error", "message": "bad grammar", "type": "BadRequestError", "code": 400},  # vLLM
     "invalid_request_error", "bad grammar"),
    (500, {"error": {"message": "The server had an error", "type": "server_error"}}, "api_error",
     "The server had an error"),
    (502, b"<html>Bad Gateway</html>", "api_error", "<html>Bad Gateway</html>"),
    (503, {"error": "Service Unavailable"}, "api_error", "Service Unavailable"),
    (400, {"error": {"message": "This model's maximum context length is 128000 tokens. However, your messages "
                                "resulted in 131000 tokens. Please reduce the length of the messages.",
                     "type": "invalid_request_error", "param": "messages", "code": "context_length_exceeded"}},
     "invalid_request_error", "prompt is too long: 131000 tokens > 128000 maximum (This model's maximum"),
])
def test_openai_errors_become_anthropic_errors(status, body, kind, message):
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    out_status, out = openai_error_to_anthropic(status, raw)
    data = json.loads(out)
    assert out_status == status and data["type"] == "error" and data["error"]["type"] == kind
    assert data["error"]["message"].startswith(message)


def test_completion_budget_overflow_is_not_called_a_long_prompt():
    vllm = {"object": "error", "type": "BadRequestError", "code": 400,
            "message": "This model's maximum context length is 32768 tokens. However, you requested 70000 tokens "
                       "(6000 in the messages, 64000 in the completion). Please reduce the length."}
    raw = json.dumps(vllm).encode()
    assert "prompt is too long" not in json.loads(openai_error_to_anthropic(400, raw)[1])["error"]["message"]
    assert completion_cap(raw) == 26768
    gpt4o = {"error": {"message": "max_tokens is too large: 64000. This model supports at most 16384 completion "
                                  "tokens, whereas you provided 64000.", "param": "max_tokens", "code": "invalid_value"}}
    assert completion_cap(json.dumps(gpt4o).encode()) == 16384
    assert completion_cap(b'{"error":{"message":"nope"}}') is None


# -- inbound: OpenAI client -> Anthropic pipeline ---------------------------------------------------------
OPENAI_BODY = {
    "model": "claude-sonnet-5",
    "messages": [
        {"role": "developer", "content": "Be terse."},
        {"role": "system", "content": [{"type": "text", "text": "Use tools."}]},
        {"role": "user", "content": [{"type": "text", "text": "What's in these?"},
                                     {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0K"}},
                                     {"type": "image_url", "image_url": {"url": "https://x.test/a.jpg", "detail": "low"}}]},
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": "call_1", "type": "function", "function": {"name": "lookup", "arguments": '{"q": "cat"}'}},
            {"id": "call_2", "type": "function", "function": {"name": "lookup", "arguments": '{"q": "dog"}'}}]},
        {"role": "tool", "tool_call_id": "call_1", "content": "a cat"},
        {"role": "tool", "tool_call_id": "call_2", "content": [{"type": "text", "text": "a dog"}]},
        {"role": "user", "content": "thanks"},
    ],
    "tools": [{"type": "function", "function": {"name": "lookup", "description": "Look up", "parameters": {
        "type": "object", "properties": {"q": {"type": "string"}}, "required": ["q"]}, "strict": True}}],
    "tool_choice": "required", "parallel_tool_calls": False,
    "max_completion_tokens": 500, "temperature": 1.5, "top_p": 0.5, "stop": "###", "stream": True,
    "stream_options": {"include_usage": True}, "user": "user-42", "seed": 7, "logit_bias": {"1": 2},
    "response_format": {"type": "json_object"},
}


def test_openai_request_to_anthropic_field_by_field():
    assert openai_request_to_anthropic(OPENAI_BODY) == {
        "model": "claude-sonnet-5",
        "system": "Be terse.\n\nUse tools.",
        "messages": [
            {"role": "user", "content": [
                {"type": "text", "text": "What's in these?"},
                {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0K"}},
                {"type": "image", "source": {"type": "url", "url": "https://x.test/a.jpg"}}]},
            {"role": "assistant", "content": [
                {"type": "tool_use", "id": "call_1", "name": "lookup", "input": {"q": "cat"}},
                {"type": "tool_use", "id": "call_2", "name": "lookup", "input": {"q": "dog"}}]},
            {"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": "call_1", "content": "a cat"},
                {"type": "tool_result", "tool_use_id": "call_2", "content": "a dog"},
                {"type": "text", "text": "thanks"}]},
        ],
        "max_tokens": 500, "temperature": 1.5,  # kept: clamped to 1.0 only for Anthropic-format upstreams (failover.body_for)
        "top_p": 0.5, "stop_sequences": ["###"], "stream": True,
        "tools": [{"name": "lookup", "input_schema": {"type": "object", "properties": {"q": {"type": "string"}},
                                                      "required": ["q"]}, "description": "Look up"}],
        "tool_choice": {"type": "any", "disable_parallel_tool_use": True},
        "metadata": {"user_id": "user-42"},
    }


def test_openai_request_defaults_and_refusals():
    out = openai_request_to_anthropic({"model": "m", "messages": [{"role": "user", "content": "hi"}],
                                       "user": "someone@example.com"})
    assert out == {"model": "m", "messages": [{"role": "user", "content": [{"type": "text", "text": "hi"}]}],
                   "max_tokens": 4096}
    for body, param in [({"messages": [], "n": 2}, "n"), ({"messages": "hi"}, "messages"),
                        ({"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {
                            "url": "file:///etc/passwd"}}]}]}, "messages[0].content[0]"),
                        ({"messages": [{"role": "function", "content": "x"}]}, "messages[0].role"),
                        ({"messages": [], "tool_choice": "sometimes", "tools": []}, "tool_choice"),
                        ({"messages": [], "tools": [{"type": "code_interpreter"}]}, "tools[0]"),
                        ({"messages": [], "temperature": "hot"}, "temperature")]:
        with pytest.raises(TranslationError) as caught:
            openai_request_to_anthropic(body)
        assert caught.value.param == param and caught.value.message
    with pytest.raises(ValueError, match="n > 1"):
        openai_request_to_anthropic({"messages": [], "n": 3})


ANTHROPIC_TOOL_MESSAGE = {
    "id": "msg_01XYZ", "type": "message", "role": "assistant", "model": "claude-sonnet-5",
    "content": [{"type": "thinking", "thinking": "hmm", "signature": "s"}, {"type": "text", "text": "Looking."},
                {"type": "tool_use", "id": "toolu_01", "name": "lookup", "input": {"q": "cat"}}],
    "stop_reason": "tool_use", "stop_sequence": None,
    "usage": {"input_tokens": 20, "output_tokens": 15, "cache_read_input_tokens": 1000,
              "cache_creation_input_tokens": 200}}


def test_anthropic_message_to_chat_completion():
    out = anthropic_to_openai_response(ANTHROPIC_TOOL_MESSAGE, "claude-sonnet-5")
    assert isinstance(out.pop("created"), int)
    assert out == {"id": "chatcmpl-01XYZ", "object": "chat.completion", "model": "claude-sonnet-5",
                   "choices": [{"index": 0, "logprobs": None, "finish_reason": "tool_calls", "message": {
                       "role": "assistant", "content": "Looking.", "refusal": None, "reasoning_content": "hmm",
                       "tool_calls": [{"id": "toolu_01", "type": "function",
                                       "function": {"name": "lookup", "arguments": '{"q": "cat"}'}}]}}],
                   "usage": {"prompt_tokens": 1220, "completion_tokens": 15, "total_tokens": 1235,
                             "prompt_tokens_details": {"cached_tokens": 1000}}}


def anthropic_sse(events: list[tuple[str, dict]]) -> bytes:
    return b"".join(f"event: {n}\ndata: {json.dumps(d)}\n\n".encode() for n, d in events)


ANTHROPIC_STREAM = anthropic_sse([
    ("message_start", {"type": "message_start", "message": {
        "id": "msg_01S", "type": "message", "role": "assistant", "model": "claude-sonnet-5", "content": [],
        "stop_reason": None, "stop_sequence": None,
        "usage": {"input_tokens": 30, "output_tokens": 1, "cache_read_input_tokens": 70,
                  "cache_creation_input_tokens": 0}}}),
    ("content_block_start", {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}),
    ("ping", {"type": "ping"}),
    ("content_block_delta", {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "On "}}),
    ("content_block_delta", {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "it."}}),
    ("content_block_stop", {"type": "content_block_stop", "index": 0}),
    ("content_block_start", {"type": "content_block_start", "index": 1, "content_block": {
        "type": "tool_use", "id": "toolu_A", "name": "lookup", "input": {}}}),
    ("content_block_delta", {"type": "content_block_delta", "index": 1, "delta": {
        "type": "input_json_delta", "partial_json": '{"q": '}}),
    ("content_block_delta", {"type": "content_block_delta", "index": 1, "delta": {
        "type": "input_json_delta", "partial_json": '"cat"}'}}),
    ("content_block_stop", {"type": "content_block_stop", "index": 1}),
    ("content_block_start", {"type": "content_block_start", "index": 2, "content_block": {
        "type": "tool_use", "id": "toolu_B", "name": "lookup", "input": {}}}),
    ("content_block_delta", {"type": "content_block_delta", "index": 2, "delta": {
        "type": "input_json_delta", "partial_json": '{"q": "dog"}'}}),
    ("content_block_stop", {"type": "content_block_stop", "index": 2}),
    ("message_delta", {"type": "message_delta", "delta": {"stop_reason": "tool_use", "stop_sequence": None},
                       "usage": {"output_tokens": 25}}),
    ("message_stop", {"type": "message_stop"}),
])


async def openai_server(seen: list):
    async def handler(request):
        body = await request.json()
        anthropic_body = openai_request_to_anthropic(body)
        seen.append(anthropic_body)
        if not anthropic_body.get("stream"):
            return web.json_response(anthropic_to_openai_response(ANTHROPIC_TOOL_MESSAGE, body["model"]))
        include = bool((body.get("stream_options") or {}).get("include_usage"))
        translator = AnthropicToOpenAIStream(body["model"], include_usage=include)
        response = web.StreamResponse(headers={"content-type": "text/event-stream"})
        await response.prepare(request)
        cut = ANTHROPIC_STREAM.index(b"event: content_block_stop")  # an overload after the first text
        source = ANTHROPIC_STREAM if body.get("user") != "broken" else ANTHROPIC_STREAM[:cut] + anthropic_sse([
            ("error", {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}})])
        for i in range(0, len(source), 50):
            await response.write(translator.feed(source[i:i + 50]))
        await response.write(translator.finish())
        return response

    return await serve(handler, "/v1/chat/completions")


async def test_openai_sdk_parses_translated_completion_and_stream():
    seen: list = []
    server = await openai_server(seen)
    try:
        async with openai.AsyncOpenAI(base_url=str(server.make_url("/v1")), api_key="vk", max_retries=0) as client:
            reply = await client.chat.completions.create(model="claude-sonnet-5", messages=[
                {"role": "user", "content": "find a cat"}], tools=OPENAI_BODY["tools"])
            stream = await client.chat.completions.create(
                model="claude-sonnet-5", messages=[{"role": "user", "content": "find"}], tools=OPENAI_BODY["tools"],
                stream=True, stream_options={"include_usage": True})
            chunks = [c async for c in stream]
            with pytest.raises(openai.APIError, match="Overloaded"):
                broken = await client.chat.completions.create(model="m", messages=[{"role": "user", "content": "x"}],
                                                              stream=True, user="broken")
                async for _ in broken:
                    pass
    finally:
        await server.close()
    assert seen[0]["max_tokens"] == 4096 and seen[0]["tools"][0]["name"] == "lookup"
    message = reply.choices[0].message
    assert message.content == "Looking." and reply.choices[0].finish_reason == "tool_calls"
    assert message.tool_calls[0].id == "toolu_01" and json.loads(message.tool_calls[0].function.arguments) == {"q": "cat"}
    assert reply.usage.prompt_tokens == 1220 and reply.usage.prompt_tokens_details.cached_tokens == 1000

    assert chunks[0].choices[0].delta.role == "assistant"
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "On it."
    calls: dict[int, dict] = {}
    for c in chunks:
        for call in (c.choices[0].delta.tool_calls or []) if c.choices else []:
            entry = calls.setdefault(call.index, {"id": None, "name": None, "arguments": ""})
            entry["id"] = call.id or entry["id"]
            entry["name"] = (call.function.name if call.function else None) or entry["name"]
            entry["arguments"] += (call.function.arguments or "") if call.function else ""
    assert {i: (e["id"], e["name"], json.loads(e["arguments"])) for i, e in calls.items()} == {
        0: ("toolu_A", "lookup", {"q": "cat"}), 1: ("toolu_B", "lookup", {"q": "dog"})}
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "tool_calls"
    assert chunks[-1].choices == [] and chunks[-1].usage.prompt_tokens == 100
    assert chunks[-1].usage.completion_tokens == 25 and chunks[-1].usage.total_tokens == 125
    assert chunks[-1].usage.prompt_tokens_details.cached_tokens == 70


def test_stream_without_include_usage_has_no_usage_chunk():
    translator = AnthropicToOpenAIStream("m")
    raw = translator.feed(ANTHROPIC_STREAM) + translator.finish()
    frames = raw.decode().strip().split("\n\n")
    assert frames[-1] == "data: [DONE]" and all("usage" not in f for f in frames)
    assert json.loads(frames[-2][6:])["choices"][0]["finish_reason"] == "tool_calls"


def test_error_bodies():
    assert json.loads(openai_error_body(400, "bad", "invalid_request_error", param="n")) == {
        "error": {"message": "bad", "type": "invalid_request_error", "param": "n", "code": None}}
    body = json.dumps({"type": "error", "error": {"type": "rate_limit_error", "message": "slow down"}}).encode()
    assert json.loads(anthropic_error_to_openai(429, body)) == {
        "error": {"message": "slow down", "type": "rate_limit_exceeded", "param": None, "code": "rate_limit_error"}}
