"""Usage normalisation (Anthropic, OpenAI) and StreamUsage over realistic SSE event sequences."""
import json

import pytest

from app.core.tokens import streamed_output_tokens
from app.core.usage import StreamUsage, Usage
from app.proxy.sse import SSEScanner


@pytest.mark.parametrize(("raw", "expected"), [
    pytest.param(None, Usage(), id="none"),
    pytest.param({}, Usage(), id="empty"),
    pytest.param({"input_tokens": 10, "output_tokens": 5}, Usage(10, 5), id="no-cache-fields"),
    pytest.param({"input_tokens": 10, "output_tokens": 5, "cache_read_input_tokens": 70,
                  "cache_creation_input_tokens": 300},
                 Usage(10, 5, 70, 300, 0), id="aggregate-only-counts-as-5m"),
    pytest.param({"input_tokens": 3, "cache_creation_input_tokens": 300,
                  "cache_creation": {"ephemeral_5m_input_tokens": 100, "ephemeral_1h_input_tokens": 200}},
                 Usage(3, 0, 0, 100, 200), id="breakdown-not-double-counted"),
    pytest.param({"cache_creation": {"ephemeral_5m_input_tokens": 0, "ephemeral_1h_input_tokens": 40}},
                 Usage(0, 0, 0, 0, 40), id="breakdown-without-aggregate"),
    pytest.param({"input_tokens": None, "output_tokens": None, "cache_read_input_tokens": None,
                  "cache_creation_input_tokens": None, "cache_creation": None},
                 Usage(), id="all-null"),
    pytest.param({"cache_creation_input_tokens": 50,
                  "cache_creation": {"ephemeral_5m_input_tokens": None, "ephemeral_1h_input_tokens": None}},
                 Usage(0, 0, 0, 50, 0), id="null-breakdown-falls-back-to-aggregate"),
    pytest.param({"cache_creation_input_tokens": 500,
                  "cache_creation": {"ephemeral_5m_input_tokens": 100, "ephemeral_1h_input_tokens": 200}},
                 Usage(0, 0, 0, 300, 200), id="aggregate-remainder-is-5m"),
    pytest.param({"cache_creation_input_tokens": 150,
                  "cache_creation": {"ephemeral_5m_input_tokens": 100, "ephemeral_1h_input_tokens": 200}},
                 Usage(0, 0, 0, 0, 150), id="aggregate-caps-breakdown"),
    pytest.param({"input_tokens": -4, "output_tokens": "12", "cache_read_input_tokens": True},
                 Usage(0, 12, 0, 0, 0), id="junk-values"),
])
def test_from_anthropic(raw, expected):
    assert Usage.from_anthropic(raw) == expected


def test_derived_totals():
    u = Usage(input_tokens=10, output_tokens=99, cache_read_tokens=1000, cache_write_5m_tokens=20, cache_write_1h_tokens=30)
    assert u.cache_write_tokens == 50          # 20 + 30
    assert u.total_input_tokens == 1060        # 10 + 1000 + 20 + 30 (output excluded)


def start(usage: dict, model: str = "claude-sonnet-4-5-20250929") -> dict:
    return {"type": "message_start", "message": {
        "id": "msg_01", "type": "message", "role": "assistant", "model": model, "content": [],
        "stop_reason": None, "stop_sequence": None, "usage": usage}}


def delta(usage: dict | None, stop_reason: str | None = None) -> dict:
    return {"type": "message_delta", "delta": {"stop_reason": stop_reason, "stop_sequence": None}, "usage": usage}


def sse(event: str, data: dict) -> bytes:
    """One event as Anthropic sends it (compact JSON, UTF-8)."""
    return f"event: {event}\ndata: {json.dumps(data, ensure_ascii=False, separators=(',', ':'))}\n\n".encode()


def feed(stream: StreamUsage, events: list[dict]) -> StreamUsage:
    for data in events:
        stream.on_event(data["type"], data)
    return stream


START_USAGE = {"input_tokens": 12, "output_tokens": 1, "cache_read_input_tokens": 4000,
               "cache_creation_input_tokens": 1500,
               "cache_creation": {"ephemeral_5m_input_tokens": 500, "ephemeral_1h_input_tokens": 1000}}


def test_stream_output_tokens_are_cumulative_not_summed():
    s = feed(StreamUsage(), [
        start(START_USAGE),
        {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
        {"type": "ping"},
        {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Hello"}},
        delta({"output_tokens": 15}),
        {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": " world"}},
        {"type": "content_block_stop", "index": 0},
        delta({"output_tokens": 40}),
        delta({"output_tokens": 87}, stop_reason="end_turn"),
        {"type": "message_stop"},
    ])
    # final output is the last value 87, not 1 + 15 + 40 + 87 = 143
    assert s.usage == Usage(input_tokens=12, output_tokens=87, cache_read_tokens=4000,
                            cache_write_5m_tokens=500, cache_write_1h_tokens=1000)
    assert s.seen_message_start and s.seen_message_stop
    assert s.stop_reason == "end_turn"
    assert s.model == "claude-sonnet-4-5-20250929"
    assert s.error_type is None


def test_a_cut_stream_is_charged_the_output_it_relayed():
    """No final usage (the client left, or the upstream failed mid-way): the output relayed is estimated
    from the content deltas the scanner tallied, never left at message_start's placeholder of 1."""
    text = "The quick brown fox jumps over the lazy dog. " * 8  # 360 characters, ~90 tokens
    pieces = [text[i:i + 18] for i in range(0, len(text), 18)]  # 20 deltas
    wire = sse("message_start", start(START_USAGE)) + b"".join(
        sse("content_block_delta", {"type": "content_block_delta", "index": 0,
                                    "delta": {"type": "text_delta", "text": p}}) for p in pieces)
    scanner = SSEScanner(frozenset((b"message_start", b"message_delta")), counted=b"content_block_delta")
    usage = StreamUsage()
    for i in range(0, len(wire), 37):  # events split across chunks anywhere
        for event, data in scanner.feed(wire[i:i + 37]):
            usage.on_event(event, json.loads(data))
    assert (scanner.count, usage.usage.output_tokens) == (20, 1)
    estimate = streamed_output_tokens(scanner.count, scanner.counted_bytes)
    assert estimate == len(text) // 4
    assert usage.estimate_output(estimate) and usage.usage.output_tokens == 90
    assert usage.usage.input_tokens == 12  # the rest of the usage is untouched


def test_a_finished_streams_own_count_is_never_replaced_by_an_estimate():
    s = feed(StreamUsage(), [start(START_USAGE), delta({"output_tokens": 7}, stop_reason="end_turn")])
    assert not s.estimate_output(500) and s.usage.output_tokens == 7
    assert not StreamUsage().estimate_output(500)  # no message_start: nothing was relayed to charge
    assert streamed_output_tokens(3, 3 * 113) == 3  # empty deltas still count one token each
    assert streamed_output_tokens(0, 0) == 0


def test_message_delta_input_totals_replace_start_values():
    s = feed(StreamUsage(), [
        start(START_USAGE),
        delta({"input_tokens": 20, "cache_read_input_tokens": 4100, "cache_creation_input_tokens": 1600,
               "cache_creation": {"ephemeral_5m_input_tokens": 600, "ephemeral_1h_input_tokens": 1000},
               "output_tokens": 9}, stop_reason="tool_use"),
    ])
    assert s.usage == Usage(20, 9, 4100, 600, 1000)
    assert s.stop_reason == "tool_use" and not s.seen_message_stop


def test_message_delta_nulls_do_not_erase_start_values():
    s = feed(StreamUsage(), [
        start(START_USAGE),
        delta({"input_tokens": None, "cache_read_input_tokens": None, "cache_creation_input_tokens": None,
               "cache_creation": None, "output_tokens": 33}),
    ])
    assert s.usage == Usage(12, 33, 4000, 500, 1000)


def test_delta_aggregate_without_breakdown_keeps_the_split():
    # the final usage repeats the aggregate only (as the gateway's mock and older API versions do)
    s = feed(StreamUsage(), [start(START_USAGE), delta({"input_tokens": 12, "cache_creation_input_tokens": 1500,
                                                         "cache_read_input_tokens": 4000, "output_tokens": 5})])
    assert (s.usage.cache_write_5m_tokens, s.usage.cache_write_1h_tokens) == (500, 1000)


def test_error_event_is_recorded():
    s = feed(StreamUsage(), [
        start({"input_tokens": 7, "output_tokens": 1}),
        {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}},
    ])
    assert (s.error_type, s.error_message) == ("overloaded_error", "Overloaded")
    assert s.usage == Usage(input_tokens=7, output_tokens=1)
    assert not s.seen_message_stop and s.stop_reason is None


def test_robust_to_missing_and_malformed_fields():
    s = StreamUsage()
    s.on_event("message_start", {})
    s.on_event("message_start", {"message": None})
    s.on_event("message_delta", {"delta": None, "usage": None})
    s.on_event("message_delta", {"usage": "junk"})
    s.on_event("error", {"error": None})
    s.on_event("message_delta", None)  # type: ignore[arg-type]
    s.on_event("", {"type": "message_stop"})  # event name taken from data.type when missing
    s.on_event("something_new", {"type": "something_new"})
    assert s.usage == Usage()
    assert s.seen_message_start and s.seen_message_stop
    assert s.model is None and s.error_type == "error"


def test_before_any_event():
    s = StreamUsage()
    assert s.usage == Usage() and not s.seen_message_start and s.stop_reason is None


@pytest.mark.parametrize(("raw", "expected"), [
    pytest.param({"prompt_tokens": 2000, "completion_tokens": 100, "total_tokens": 2100,
                  "prompt_tokens_details": {"cached_tokens": 1500}},
                 Usage(input_tokens=500, output_tokens=100, cache_read_tokens=1500), id="cached"),  # 2000-1500
    pytest.param({"prompt_tokens": 40, "completion_tokens": 2}, Usage(40, 2), id="no-details"),
    pytest.param({"prompt_tokens": 40, "completion_tokens": 2, "prompt_tokens_details": None},
                 Usage(40, 2), id="null-details"),
    pytest.param({"prompt_tokens": 10, "completion_tokens": 1, "prompt_tokens_details": {"cached_tokens": 25}},
                 Usage(0, 1, 10), id="cached-capped-at-prompt"),
    pytest.param(None, Usage(), id="none"),
])
def test_from_openai(raw, expected):
    u = Usage.from_openai(raw)
    assert u == expected and u.cache_write_tokens == 0
