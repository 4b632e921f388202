"""Reasoning across the Anthropic <-> OpenAI translation, pure (no I/O):

- an OpenAI-compatible upstream's `reasoning_content` / `reasoning` as an Anthropic `thinking` block, first,
  in the JSON answer and in the SSE stream (thinking_delta, then the gateway's signature_delta);
- the gateway's own thinking blocks taken out of a history bound for an Anthropic-format upstream, and
  dropped for an OpenAI one;
- an OpenAI client's `reasoning_effort` as Anthropic `thinking`, and Anthropic thinking as `reasoning_content`.
"""
from __future__ import annotations

import json

import pytest

from app.core.messages_body import MessagesBody
from app.proxy.failover import for_anthropic
from app.proxy.translate import (
    AnthropicToOpenAIStream,
    OpenAIStreamTranslator,
    TranslationError,
    anthropic_to_openai_request,
    anthropic_to_openai_response,
    openai_request_to_anthropic,
    openai_to_anthropic_response,
)
from app.proxy.translate.gateway_thinking import SIGNATURE_PREFIX, signature, without_gateway_thinking

THOUGHT = ["The user wants ", "both files; ", "read first."]
USAGE = {"prompt_tokens": 50, "completion_tokens": 30, "total_tokens": 80}


def chunk(delta=None, finish=None, **extra) -> bytes:
    data = {"id": "chatcmpl-r1", "object": "chat.completion.chunk", "created": 1, "model": "deepseek-reasoner",
            "choices": [] if delta is None else [{"index": 0, "delta": delta, "finish_reason": finish}], **extra}
    return b"data: " + json.dumps(data).encode() + b"\n\n"


def call(index, arguments=None, id=None, name=None) -> dict:
    piece: dict = {"index": index, "function": {}}
    if id:
        piece.update(id=id, type="function")
    if name:
        piece["function"]["name"] = name
    if arguments is not None:
        piece["function"]["arguments"] = arguments
    return {"tool_calls": [piece]}


def parse_sse(raw: bytes) -> list[tuple[str, dict]]:
    events = []
    for frame in raw.decode().strip().split("\n\n"):
        name, data = frame.split("\n")
        assert name.startswith("event: ") and data.startswith("data: "), frame
        events.append((name[7:], json.loads(data[6:])))
    return events


def translate(raw: bytes, cuts=()) -> tuple[list[tuple[str, dict]], OpenAIStreamTranslator]:
    translator = OpenAIStreamTranslator("claude-opus-4-8")
    out, last = b"", 0
    for cut in (*cuts, len(raw)):
        out += translator.feed(raw[last:cut])
        last = cut
    return parse_sse(out + translator.finish()), translator


def shape(events) -> list[tuple]:
    out = []
    for name, data in events:
        if name == "content_block_start":
            out.append((name, data["index"], data["content_block"]["type"]))
        elif name == "content_block_delta":
            out.append((name, data["index"], data["delta"]["type"]))
        elif name == "content_block_stop":
            out.append((name, data["index"]))
        else:
            out.append((name,))
    return out


def assert_well_formed(events) -> None:
    """Every block started before its deltas, stopped before the next starts, indexes 0, 1, 2…; a thinking
    block's last delta is its signature."""
    open_index, started = None, 0
    for name, data in events:
        if name == "content_block_start":
            assert open_index is None and data["index"] == started
            open_index, started, kind, last = data["index"], started + 1, data["content_block"]["type"], None
        elif name == "content_block_delta":
            assert data["index"] == open_index
            last = data["delta"]["type"]
        elif name == "content_block_stop":
            assert data["index"] == open_index
            if kind == "thinking":
                assert last == "signature_delta"
            open_index = None
    assert open_index is None


# ============================================================ OpenAI-compatible upstream -> Anthropic client

@pytest.mark.parametrize("field", ["reasoning_content", "reasoning"])
def test_reasoning_in_a_completion_is_a_leading_thinking_block(field):
    message = {"role": "assistant", "content": "Reading both.", field: "".join(THOUGHT),
               "tool_calls": [{"id": "call_1", "type": "function",
                               "function": {"name": "Read", "arguments": '{"path": "a.py"}'}}]}
    out = openai_to_anthropic_response({"id": "x", "choices": [{"index": 0, "message": message,
                                                                  "finish_reason": "tool_calls"}]}, "claude-opus-4-8")
    assert [b["type"] for b in out["content"]] == ["thinking", "text", "tool_use"]
    assert out["content"][0] == {"type": "thinking", "thinking": "".join(THOUGHT), "signature": signature("".join(THOUGHT))}
    assert out["content"][0]["signature"].startswith(SIGNATURE_PREFIX)
    assert out["stop_reason"] == "tool_use"


def test_both_reasoning_names_with_the_same_text_give_one_block_and_none_gives_no_block():
    both = {"role": "assistant", "content": "4", "reasoning_content": "2+2", "reasoning": "2+2"}
    out = openai_to_anthropic_response({"choices": [{"message": both, "finish_reason": "stop"}]}, "m")
    assert [b["type"] for b in out["content"]] == ["thinking", "text"] and out["content"][0]["thinking"] == "2+2"
    plain = {"role": "assistant", "content": "4", "reasoning_content": None, "reasoning": ""}
    out = openai_to_anthropic_response({"choices": [{"message": plain, "finish_reason": "stop"}]}, "m")
    assert out["content"] == [{"type": "text", "text": "4"}]


# What DeepSeek streams: the role chunk, reasoning_content pieces (content null), then the answer and a tool call.
DEEPSEEK = b"".join([
    chunk({"role": "assistant", "content": None, "reasoning_content": ""}),
    *[chunk({"content": None, "reasoning_content": piece}) for piece in THOUGHT],
    chunk({"content": "Reading ", "reasoning_content": None}), chunk({"content": "both."}),
    chunk(call(0, "", id="call_read", name="Read")), chunk(call(0, '{"path": "a.py"}')),
    chunk({}, "tool_calls"), chunk(None, usage=USAGE), b"data: [DONE]\n\n",
])


def test_streamed_reasoning_is_a_thinking_block_first_signed_before_its_stop():
    events, translator = translate(DEEPSEEK, cuts=(9, DEEPSEEK.index(b"both") + 2))
    assert shape(events) == [
        ("message_start",),
        ("content_block_start", 0, "thinking"), *[("content_block_delta", 0, "thinking_delta")] * 3,
        ("content_block_delta", 0, "signature_delta"), ("content_block_stop", 0),
        ("content_block_start", 1, "text"), *[("content_block_delta", 1, "text_delta")] * 2, ("content_block_stop", 1),
        ("content_block_start", 2, "tool_use"), ("content_block_delta", 2, "input_json_delta"),
        ("content_block_stop", 2),
        ("message_delta",), ("message_stop",),
    ]
    assert events[1][1]["content_block"] == {"type": "thinking", "thinking": "", "signature": ""}
    assert [e[1]["delta"]["thinking"] for e in events[2:5]] == THOUGHT  # as they arrived
    assert events[5][1]["delta"] == {"type": "signature_delta", "signature": signature("".join(THOUGHT))}
    assert translator.stop_reason == "tool_use" and translator.usage.output_tokens == 30


def test_openrouter_reasoning_fed_byte_by_byte_with_crlf_gives_the_same_events():
    openrouter = DEEPSEEK.replace(b'"reasoning_content"', b'"reasoning"').replace(b"\n", b"\r\n")
    events, _ = translate(openrouter, cuts=range(1, len(openrouter)))
    reference, _ = translate(DEEPSEEK)
    assert events[1:] == reference[1:]  # message ids differ
    assert_well_formed(events)


def test_reasoning_after_a_tool_call_is_held_and_sent_before_the_held_text():
    raw = b"".join([
        chunk({"reasoning_content": "first"}), chunk(call(0, "", id="call_a", name="Read")),
        chunk({"reasoning_content": "more "}), chunk(call(0, '{"path": "a"}')), chunk({"reasoning": "thought"}),
        chunk({"content": "late text"}), chunk(call(1, '{"path": "b"}', id="call_b", name="Read")),
        chunk({}, "tool_calls"), b"data: [DONE]\n\n",
    ])
    events, _ = translate(raw)
    assert_well_formed(events)
    starts = [(d["index"], d["content_block"]["type"]) for n, d in events if n == "content_block_start"]
    assert starts == [(0, "thinking"), (1, "tool_use"), (2, "tool_use"), (3, "thinking"), (4, "text")]
    deltas = [d["delta"] for n, d in events if n == "content_block_delta" and d["index"] == 3]
    assert deltas == [{"type": "thinking_delta", "thinking": "more thought"},
                      {"type": "signature_delta", "signature": signature("more thought")}]


def test_reasoning_after_text_starts_a_new_thinking_block_and_text_after_it_another():
    raw = b"".join([chunk({"content": "Hm. "}), chunk({"reasoning_content": "think"}), chunk({"content": "OK"}),
                    chunk({}, "stop"), b"data: [DONE]\n\n"])
    events, _ = translate(raw)
    assert_well_formed(events)
    assert [d["content_block"]["type"] for n, d in events if n == "content_block_start"] == ["text", "thinking", "text"]


def test_a_stream_of_reasoning_only_cut_by_length_is_a_closed_signed_thinking_block():
    raw = b"".join([chunk({"reasoning_content": "x" * 40}), chunk({}, "length"), b"data: [DONE]\n\n"])
    events, translator = translate(raw)
    assert_well_formed(events)
    assert shape(events)[1:5] == [("content_block_start", 0, "thinking"), ("content_block_delta", 0, "thinking_delta"),
                                  ("content_block_delta", 0, "signature_delta"), ("content_block_stop", 0)]
    assert translator.stop_reason == "max_tokens"
    assert translator.usage.output_tokens == 10  # no usage chunk: estimated from the reasoning's 40 characters


# ============================================================ the gateway's thinking blocks in a later request

OURS = {"type": "thinking", "thinking": "reasoned upstream", "signature": signature("reasoned upstream")}
CLAUDES = {"type": "thinking", "thinking": "Claude's own", "signature": "EqoBCkgIARABGAIiQL2UoU0b1OHYi+=="}
REDACTED = {"type": "redacted_thinking", "data": "EmwKAhgBEgy3va3pzix/LafPsn4a"}


def history(*assistant_blocks, last=None, **extra) -> dict:
    return {"model": "claude-opus-4-8", "max_tokens": 32000, "stream": True, **extra, "messages": [
        {"role": "user", "content": "run ls"},
        {"role": "assistant", "content": list(assistant_blocks)},
        last or {"role": "user", "content": [{"type": "text", "text": "thanks"}]}]}


TOOL_USE = {"type": "tool_use", "id": "toolu_1", "name": "Bash", "input": {"command": "ls"}}
TOOL_RESULT = {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": "a.py"}]}


def test_only_the_gateways_thinking_blocks_are_taken_out():
    body = history(OURS, {"type": "text", "text": "Listing."}, TOOL_USE, last=TOOL_RESULT)
    body["messages"].insert(1, {"role": "assistant", "content": [CLAUDES, {"type": "text", "text": "hi"}]})
    body["messages"].insert(1, {"role": "assistant", "content": [REDACTED, {"type": "text", "text": "hey"}]})
    out = without_gateway_thinking(body)
    assert [m["content"] for m in out["messages"][1:3]] == [body["messages"][1]["content"], body["messages"][2]["content"]]
    assert out["messages"][3]["content"] == [{"type": "text", "text": "Listing."}, TOOL_USE]
    assert body["messages"][3]["content"][0] is OURS  # the original is left as it was
    assert without_gateway_thinking(history(CLAUDES, {"type": "text", "text": "x"})) is None


def test_an_assistant_message_that_was_only_reasoning_is_left_out():
    out = without_gateway_thinking(history(OURS))
    assert [m["role"] for m in out["messages"]] == ["user", "user"]  # Anthropic joins consecutive user turns


@pytest.mark.parametrize("thinking", [{"type": "adaptive"}, {"type": "enabled", "budget_tokens": 4096}])
def test_a_tool_loop_left_without_its_leading_thinking_block_goes_without_thinking(thinking):
    management = {"edits": [{"type": "clear_thinking_20251015", "keep": "all"},
                            {"type": "clear_tool_uses_20250919"}]}
    out = without_gateway_thinking(history(OURS, TOOL_USE, last=TOOL_RESULT, thinking=thinking,
                                           context_management=management))
    assert "thinking" not in out
    assert out["context_management"] == {"edits": [{"type": "clear_tool_uses_20250919"}]}
    only_clear = {"edits": [management["edits"][0]]}
    out = without_gateway_thinking(history(OURS, TOOL_USE, last=TOOL_RESULT, thinking=thinking,
                                           context_management=only_clear))
    assert "thinking" not in out and "context_management" not in out


def test_thinking_stays_on_outside_a_tool_loop():
    out = without_gateway_thinking(history(OURS, {"type": "text", "text": "Done."}, thinking={"type": "adaptive"}))
    assert out["thinking"] == {"type": "adaptive"}


def test_for_anthropic_keeps_the_fast_path_unless_the_raw_body_holds_the_mark():
    plain = MessagesBody.decode(json.dumps(history(CLAUDES, {"type": "text", "text": "x"})).encode())
    assert for_anthropic(plain) is plain
    assert plain._json is None  # not even parsed
    mentioned = MessagesBody.decode(json.dumps(history({"type": "text", "text": SIGNATURE_PREFIX})).encode())
    assert for_anthropic(mentioned) is mentioned  # the prefix in a text: nothing to take out
    raw = json.dumps(history(OURS, {"type": "text", "text": "Listing."}, TOOL_USE, last=TOOL_RESULT,
                             thinking={"type": "adaptive"}), separators=(",", ":")).encode()
    body = MessagesBody.decode(raw)
    clean = for_anthropic(body)
    assert SIGNATURE_PREFIX.encode() not in clean.raw
    assert json.loads(clean.raw) == clean.json == without_gateway_thinking(json.loads(raw))
    assert clean.model == body.model and clean.stream and clean.max_tokens == 32000 and not clean.thinking


def test_an_openai_upstream_gets_no_thinking_block_of_either_kind():
    body = history(OURS, {"type": "text", "text": "Listing."}, TOOL_USE, last=TOOL_RESULT)
    body["messages"].insert(1, {"role": "assistant", "content": [CLAUDES, {"type": "text", "text": "hi"}]})
    out = anthropic_to_openai_request(body, "deepseek-reasoner")
    assert "thinking" not in json.dumps(out) and SIGNATURE_PREFIX not in json.dumps(out)
    assert [m["role"] for m in out["messages"]] == ["user", "assistant", "assistant", "tool"]
    assert out["messages"][2]["content"] == "Listing."


# ============================================================ OpenAI client -> Anthropic upstream

def request(**extra) -> dict:
    return {"model": "claude-sonnet-4-5", "messages": [{"role": "user", "content": "prove it"}], **extra}


@pytest.mark.parametrize("effort, budget", [("minimal", 1024), ("low", 2048), ("medium", 8192), ("high", 16384),
                                            ("xhigh", 32768)])
def test_reasoning_effort_without_a_limit_adds_the_budget_to_the_default_limit(effort, budget):
    out = openai_request_to_anthropic(request(reasoning_effort=effort, temperature=0.2, top_p=0.5))
    assert out["thinking"] == {"type": "enabled", "budget_tokens": budget}
    assert out["max_tokens"] == 4096 + budget
    assert "temperature" not in out and "top_p" not in out  # Anthropic refuses them with thinking


@pytest.mark.parametrize("field", ["max_completion_tokens", "max_tokens"])
@pytest.mark.parametrize("limit, effort, budget", [(100000, "high", 16384), (10000, "high", 5000),
                                                   (2048, "medium", 1024), (2047, "minimal", None)])
def test_a_given_limit_holds_the_reasoning_too(field, limit, effort, budget):
    out = openai_request_to_anthropic(request(reasoning_effort=effort, temperature=0.2, **{field: limit}))
    assert out["max_tokens"] == limit
    if budget is None:  # under Anthropic's minimum: no thinking, the request as it was
        assert "thinking" not in out and out["temperature"] == 0.2
    else:
        assert out["thinking"] == {"type": "enabled", "budget_tokens": budget} and budget < limit
        assert "temperature" not in out


def test_reasoning_effort_none_absent_or_invalid():
    assert "thinking" not in openai_request_to_anthropic(request(reasoning_effort="none"))
    assert openai_request_to_anthropic(request())["max_tokens"] == 4096
    with pytest.raises(TranslationError) as caught:
        openai_request_to_anthropic(request(reasoning_effort="extreme"))
    assert caught.value.param == "reasoning_effort" and "minimal" in caught.value.message


TOOLS = [{"type": "function", "function": {"name": "lookup", "parameters": {"type": "object", "properties": {}}}}]


@pytest.mark.parametrize("choice", ["required", {"type": "function", "function": {"name": "lookup"}}])
def test_no_thinking_when_a_tool_is_forced(choice):
    out = openai_request_to_anthropic(request(reasoning_effort="high", tools=TOOLS, tool_choice=choice))
    assert "thinking" not in out and out["max_tokens"] == 4096
    auto = openai_request_to_anthropic(request(reasoning_effort="high", tools=TOOLS, tool_choice="auto"))
    assert auto["thinking"]["budget_tokens"] == 16384


def test_no_thinking_when_the_request_continues_a_tool_call():
    messages = [{"role": "user", "content": "look up cats"},
                {"role": "assistant", "content": None, "reasoning_content": "I should look.",
                 "tool_calls": [{"id": "toolu_1", "type": "function",
                                 "function": {"name": "lookup", "arguments": "{}"}}]},
                {"role": "tool", "tool_call_id": "toolu_1", "content": "cats: many"}]
    out = openai_request_to_anthropic(request(reasoning_effort="high", tools=TOOLS, messages=messages))
    assert "thinking" not in out
    assert out["messages"][1]["content"] == [{"type": "tool_use", "id": "toolu_1", "name": "lookup", "input": {}}]
    messages.append({"role": "assistant", "content": "Many cats."})
    messages.append({"role": "user", "content": "and dogs?"})
    out = openai_request_to_anthropic(request(reasoning_effort="high", tools=TOOLS, messages=messages))
    assert out["thinking"]["budget_tokens"] == 16384  # a new turn: thinking again


def test_thinking_comes_back_as_reasoning_content_and_redacted_thinking_does_not():
    message = {"id": "msg_1", "role": "assistant", "stop_reason": "end_turn", "usage": {"input_tokens": 5,
                                                                                       "output_tokens": 9},
               "content": [{"type": "thinking", "thinking": "Step one.", "signature": "EqoB=="}, REDACTED,
                           {"type": "text", "text": "Proved."},
                           {"type": "thinking", "thinking": "Step two.", "signature": "EqoC=="}]}
    reply = anthropic_to_openai_response(message, "claude-sonnet-4-5")["choices"][0]["message"]
    assert reply["content"] == "Proved."
    assert reply["reasoning_content"] == "Step one.\n\nStep two."
    assert "EmwK" not in json.dumps(reply) and "Eqo" not in json.dumps(reply)
    plain = anthropic_to_openai_response({**message, "content": [{"type": "text", "text": "x"}]}, "m")
    assert "reasoning_content" not in plain["choices"][0]["message"]


def anthropic_sse(events: list[tuple[str, dict]]) -> bytes:
    return b"".join(f"event: {n}\ndata: {json.dumps(d)}\n\n".encode() for n, d in events)


def block(index, content_block) -> tuple[str, dict]:
    return "content_block_start", {"type": "content_block_start", "index": index, "content_block": content_block}


def delta(index, **fields) -> tuple[str, dict]:
    return "content_block_delta", {"type": "content_block_delta", "index": index, "delta": fields}


def stop(index) -> tuple[str, dict]:
    return "content_block_stop", {"type": "content_block_stop", "index": index}


# Claude's extended-thinking stream: thinking deltas, the signature just before the stop, then the text.
CLAUDE_THINKING = anthropic_sse([
    ("message_start", {"type": "message_start", "message": {
        "id": "msg_T", "type": "message", "role": "assistant", "model": "claude-sonnet-4-5", "content": [],
        "stop_reason": None, "stop_sequence": None, "usage": {"input_tokens": 12, "output_tokens": 1}}}),
    block(0, {"type": "thinking", "thinking": "", "signature": ""}),
    delta(0, type="thinking_delta", thinking="Let me "), delta(0, type="thinking_delta", thinking="check."),
    delta(0, type="signature_delta", signature="EqQBCgIYAhIM1gbcDa9GJwZA2b3h"), stop(0),
    block(1, {"type": "redacted_thinking", "data": "EmwKAhgBEgy3va3pzix"}), stop(1),
    block(2, {"type": "thinking", "thinking": "", "signature": ""}),
    delta(2, type="thinking_delta", thinking="Again."), delta(2, type="signature_delta", signature="EqQC"), stop(2),
    block(3, {"type": "text", "text": ""}), delta(3, type="text_delta", text="Yes."), stop(3),
    ("message_delta", {"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                       "usage": {"output_tokens": 40}}),
    ("message_stop", {"type": "message_stop"}),
])


def test_streamed_thinking_becomes_reasoning_content_deltas_before_the_content():
    translator = AnthropicToOpenAIStream("claude-sonnet-4-5", include_usage=True)
    raw = b"".join(translator.feed(CLAUDE_THINKING[i:i + 31]) for i in range(0, len(CLAUDE_THINKING), 31))
    chunks = [json.loads(line[6:]) for line in raw.decode().split("\n\n") if line.startswith("data: {")]
    deltas = [c["choices"][0]["delta"] for c in chunks if c["choices"]]
    assert deltas == [{"role": "assistant", "content": ""}, {"reasoning_content": "Let me "},
                      {"reasoning_content": "check."}, {"reasoning_content": "\n\nAgain."}, {"content": "Yes."}, {}]
    assert chunks[-1]["usage"]["completion_tokens"] == 40
    assert b"EqQB" not in raw and b"EmwK" not in raw and raw.endswith(b"data: [DONE]\n\n")


# ============================================================ the client asked for thinking, the upstream did not reason

TOOL_TURN = b"".join([chunk({"role": "assistant", "content": "Listing."}),
                      chunk(call(0, "", id="call_ls", name="Bash")), chunk(call(0, '{"command": "ls"}')),
                      chunk({}, "tool_calls"), b"data: [DONE]\n\n"])


def test_a_stream_without_reasoning_starts_with_an_empty_signed_thinking_block_when_thinking_was_asked():
    translator = OpenAIStreamTranslator("claude-opus-4-8", thinking_first=True)
    events = parse_sse(translator.feed(TOOL_TURN) + translator.finish())
    assert_well_formed(events)
    assert shape(events)[1:4] == [("content_block_start", 0, "thinking"), ("content_block_delta", 0, "signature_delta"),
                                  ("content_block_stop", 0)]
    assert events[2][1]["delta"] == {"type": "signature_delta", "signature": signature("")}
    assert [d["content_block"]["type"] for n, d in events if n == "content_block_start"] == \
        ["thinking", "text", "tool_use"]
    # not asked for: no block; reasoning sent: its own block only, not an empty one besides
    plain, _ = translate(TOOL_TURN)
    assert [d["content_block"]["type"] for n, d in plain if n == "content_block_start"] == ["text", "tool_use"]
    translator = OpenAIStreamTranslator("claude-opus-4-8", thinking_first=True)
    reasoned = parse_sse(translator.feed(DEEPSEEK) + translator.finish())
    reference, _ = translate(DEEPSEEK)
    assert shape(reasoned) == shape(reference)


def test_a_completion_without_reasoning_starts_with_an_empty_signed_thinking_block_when_thinking_was_asked():
    message = {"role": "assistant", "content": None, "tool_calls": [
        {"id": "call_ls", "type": "function", "function": {"name": "Bash", "arguments": '{"command": "ls"}'}}]}
    data = {"id": "x", "choices": [{"index": 0, "message": message, "finish_reason": "tool_calls"}]}
    out = openai_to_anthropic_response(data, "claude-opus-4-8", thinking_first=True)
    assert out["content"][0] == {"type": "thinking", "thinking": "", "signature": signature("")}
    assert [b["type"] for b in out["content"]] == ["thinking", "tool_use"]
    assert [b["type"] for b in openai_to_anthropic_response(data, "claude-opus-4-8")["content"]] == ["tool_use"]


def test_the_empty_block_marks_a_tool_loop_so_an_anthropic_upstream_gets_it_without_thinking():
    empty = {"type": "thinking", "thinking": "", "signature": signature("")}
    tool_use = {"type": "tool_use", "id": "call_ls", "name": "Bash", "input": {"command": "ls"}}
    document = {"model": "claude-opus-4-8", "max_tokens": 2000, "thinking": {"type": "enabled", "budget_tokens": 1024},
                "messages": [{"role": "user", "content": "run ls"}, {"role": "assistant", "content": [empty, tool_use]},
                             {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "call_ls",
                                                           "content": "a.py"}]}]}
    body = MessagesBody.decode(json.dumps(document).encode())
    sent = for_anthropic(body)
    assert sent is not body and "thinking" not in sent.json
    assert sent.json["messages"][1] == {"role": "assistant", "content": [tool_use]}
