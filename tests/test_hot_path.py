"""Request-path shortcuts that must not change what the gateway does: the live day roll, header reads for
routing, the log's timestamp text, upstream JSON that only the stdlib reads, memoised model globs."""
from __future__ import annotations

import types
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

from multidict import CIMultiDict, CIMultiDictProxy

from app.core import live_stats
from app.core.config import Provider, VirtualKey
from app.core.directory import KeyEntry
from app.core.live_stats import LiveStats
from app.core.messages_body import MessagesBody
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
    facts = RequestFacts.of(MessagesBody.decode(b'{"model": "claude-sonnet-4-5", "messages": []}'), headers)
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
    assert len(entry._allowed._memo) <= 1024


async def test_log_writer_sums_charges_per_counter_and_keeps_them_on_failure(tmp_path):
    from app.core.ledger import BudgetRef, Charge
    from app.store.log_writer import RequestLogWriter
    from app.store.schema import SCHEMA

    writer = RequestLogWriter(tmp_path / "log.db", interval=3600)
    await writer.open()
    key, team = BudgetRef("key", "k", "1M"), BudgetRef("team", "t", "1d")

    def record(i: int, amount: int) -> RequestRecord:
        r = _record(amount)
        r.id = f"req_{i}"
        r.charges = [Charge(key, "1M:2026-11", amount), Charge(team, "1d:2026-11-26", amount),
                     Charge(key, "1M:2026-10", 1)]  # a late request from the month before
        return r

    async def counters() -> dict:
        async with writer.db.execute("SELECT level, window_key, spent_micro_usd FROM budget_counters") as cur:
            return {(level, window): spent for level, window, spent in await cur.fetchall()}

    writer.put(record(1, 100))
    writer.put(record(2, 20))
    assert len(writer.pending_charges) == 3
    await writer.flush()
    assert await counters() == {("key", "1M:2026-11"): 120, ("team", "1d:2026-11-26"): 120, ("key", "1M:2026-10"): 2}

    writer.put(record(3, 5))
    await writer.db.execute("DROP TABLE request_log")  # the next write fails: rows and charges are kept
    try:
        await writer.flush()
    except Exception:
        pass
    else:
        raise AssertionError("the flush should have failed")
    writer.put(record(4, 7))  # arrives while the failed batch waits for its retry
    await writer.db.executescript(SCHEMA)
    await writer.flush()
    assert await counters() == {("key", "1M:2026-11"): 132, ("team", "1d:2026-11-26"): 132, ("key", "1M:2026-10"): 4}
    async with writer.db.execute("SELECT id FROM request_log ORDER BY id") as cur:
        assert [row[0] for row in await cur.fetchall()] == ["req_3", "req_4"]
    await writer.close()
