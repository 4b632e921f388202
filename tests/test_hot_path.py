"""Request-path shortcuts that must not change what the gateway does: the live day roll, header reads for
routing, the log's timestamp text, upstream JSON that only the stdlib reads, memoised model globs."""
from __future__ import annotations

import types
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from multidict import CIMultiDict, CIMultiDictProxy

from app.core import live_stats
from app.core.config import Provider, VirtualKey
from app.core.directory import KeyEntry
from app.core.live_stats import LiveStats
from app.core.records import RequestRecord
from app.core.routing import RequestFacts, matches
from app.proxy.pipeline import LastValueHeaders
from app.proxy.providers.base import ProviderClient
from app.proxy.relay import loads_upstream
from app.store.request_log import iso_utc

UTC = timezone.utc


def _record(cost: int) -> RequestRecord:
    return RequestRecord(id="req_x", ts=datetime.now(UTC), path="/v1/messages", key_name="k", status=200,
                         cost_micro_usd=cost)


def test_live_spend_rolls_at_local_midnight_and_month_start(monkeypatch):
    """The day is cached between its local midnights (DST day in New York: 23 hours); the roll still
    happens on the first request after each midnight, and the month total at a month start."""
    tz = ZoneInfo("America/New_York")
    clock = {"now": datetime(2026, 3, 7, 12, 0, tzinfo=tz).timestamp()}
    monkeypatch.setattr(live_stats, "time", types.SimpleNamespace(time=lambda: clock["now"]))
    stats = LiveStats(tz, clock=lambda: clock["now"])

    def at(*args) -> None:
        clock["now"] = datetime(*args, tzinfo=tz).timestamp()

    stats.observe(_record(100))
    at(2026, 3, 7, 23, 59, 59)
    stats.observe(_record(10))
    assert (stats.spend_today, stats.spend_month) == (110, 110)
    at(2026, 3, 8, 0, 0, 0)  # a new local day (23 hours long: clocks spring forward at 02:00)
    stats.observe(_record(5))
    assert (stats.spend_today, stats.spend_month) == (5, 115)
    at(2026, 3, 8, 23, 59, 59)
    stats.observe(_record(1))
    assert stats.spend_today == 6
    at(2026, 3, 9, 0, 0, 1)
    stats.observe(_record(2))
    assert stats.spend_today == 2
    at(2026, 3, 31, 23, 0)
    stats.observe(_record(3))
    at(2026, 4, 1, 0, 0)
    stats.observe(_record(7))
    assert (stats.spend_today, stats.spend_month, stats.spend_by_key) == (7, 7, {"k": 7})
    clock["now"] -= 86400 * 3  # the wall clock stepped back across midnight: the day is recomputed
    stats.observe(_record(1))
    assert stats.spend_today == 1


def test_routing_reads_headers_case_insensitively_last_line_winning():
    raw = CIMultiDict([("X-Team", "alpha"), ("x-team", "beta"), ("User-Agent", "claude-cli/2.1.197")])
    headers = LastValueHeaders(CIMultiDictProxy(raw))
    as_dict = {k.lower(): v for k, v in raw.items()}  # what routing was given before
    for name in ("x-team", "user-agent", "missing"):
        assert headers.get(name, "") == as_dict.get(name, "")
    facts = RequestFacts.of({"model": "claude-sonnet-4-5", "messages": []}, 10, headers)
    assert matches({"header": {"X-Team": "be*", "user-agent": "claude-cli/*"}}, facts)
    assert not matches({"header": {"x-team": "alpha"}}, facts)
    assert not matches({"header": {"x-other": "?*"}}, facts)


def test_iso_utc_text_is_unchanged():
    ist = ZoneInfo("Asia/Kolkata")
    for ts in (datetime(2026, 11, 26, 23, 14, 57, 123456, tzinfo=UTC), datetime(2026, 1, 1, tzinfo=UTC),
               datetime(2026, 11, 27, 4, 44, 57, 5, tzinfo=ist), datetime(999, 5, 6, 7, 8, 9, tzinfo=UTC),
               datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)):
        assert iso_utc(ts) == ts.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def test_upstream_json_that_only_the_stdlib_reads_still_gives_usage():
    assert loads_upstream(b'{"usage": {"input_tokens": 3}}') == {"usage": {"input_tokens": 3}}
    data = loads_upstream(b'{"usage": {"input_tokens": 3, "x": NaN}}')
    assert data["usage"]["input_tokens"] == 3
    try:
        loads_upstream(b"not json")
    except ValueError:
        pass
    else:
        raise AssertionError("expected ValueError")


def test_memoised_model_globs_follow_replaced_patterns():
    provider = ProviderClient(Provider(name="p", type="anthropic"))
    assert provider.serves("claude-sonnet-4-5") and not provider.serves("gpt-5")
    provider.patterns = ("gpt-*",)
    assert not provider.serves("claude-sonnet-4-5") and provider.serves("gpt-5")

    spec = VirtualKey(name="k", allowed_models=["claude-*"])
    entry = KeyEntry(spec, "sha256:" + "0" * 64, None, None)
    assert entry.allows("claude-opus-4-8") and not entry.allows("gpt-5")
    spec.allowed_models = ["gpt-*"]
    assert not entry.allows("claude-opus-4-8") and entry.allows("gpt-5")
    spec.allowed_models = None
    assert entry.allows("anything")
    spec.allowed_models = ["m-*"]
    for i in range(3000):  # bounded memo
        assert entry.allows(f"m-{i}")
    assert len(entry._allowed[1]) <= 1024
