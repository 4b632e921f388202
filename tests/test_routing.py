"""Routing rules, weighted choice, session stickiness, circuit breakers and the attempt planner — pure and fast
(no network, explicit clocks, seeded random numbers)."""
from __future__ import annotations

import asyncio
import dataclasses
import json
import random
import time
from collections import Counter
from decimal import Decimal

import pytest

from app.core.breaker import BAD, CLOSED, HALF_OPEN, OPEN, Breaker, BreakerBoard
from app.core.config import Provider, RoutingRule, Target, Team, VirtualKey
from app.core.directory import KeyEntry
from app.core.messages_body import MessagesBody
from app.core.routing import RequestFacts, StickySessions, choose, matches
from app.proxy.planner import Planner
from app.proxy.providers.base import (
    KeyHandle,
    ProviderClient,
    UpstreamCall,
    UpstreamReply,
    UpstreamUnavailable,
)

HI = [{"role": "user", "content": "hi"}]
TOOL = {"name": "Bash", "description": "run", "input_schema": {"type": "object"}}
IMAGE = {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="}}


def facts(body: dict | None = None, *, tokens: int = 100, headers: dict | None = None, pct: float = 0.0,
          **fields) -> RequestFacts:
    body = {"model": "claude-sonnet-4-5", "max_tokens": 10, "messages": HI, **(body or {}), **fields}
    read = RequestFacts.of(MessagesBody.decode(json.dumps(body).encode()), headers or {}, pct)
    return dataclasses.replace(read, input_tokens=tokens)


# ----------------------------------------------------------------------------- RequestFacts and `when`

def test_facts_from_body():
    f = facts({"tools": [TOOL], "thinking": {"type": "enabled", "budget_tokens": 1024},
               "messages": [{"role": "user", "content": [{"type": "text", "text": "look"}, IMAGE]},
                            {"role": "assistant", "content": "ok"}, {"role": "user", "content": "and?"}]},
              tokens=1234, headers={"user-agent": "claude-cli/2.1.197"}, pct=12.5)
    assert (f.model, f.input_tokens, f.tools, f.images, f.thinking, f.messages, f.budget_used_pct) == \
        ("claude-sonnet-4-5", 1234, True, True, True, 3, 12.5)
    plain = facts()
    assert (plain.tools, plain.images, plain.thinking, plain.messages) == (False, False, False, 1)
    assert facts({"tools": []}).tools is False  # an empty tool list is no tools


@pytest.mark.parametrize("thinking, expected", [
    ({"type": "enabled", "budget_tokens": 2048}, True),
    ({"type": "adaptive"}, True),
    ({"type": "disabled"}, False),
    (None, False),
])
def test_thinking_enabled_or_adaptive_vs_absent(thinking, expected):
    body = {} if thinking is None else {"thinking": thinking}
    f = facts(body)
    assert f.thinking is expected
    assert matches({"thinking": True}, f) is expected
    assert matches({"thinking": False}, f) is (not expected)


def test_when_model_glob():
    assert matches({"model": "claude-sonnet-*"}, facts(model="claude-sonnet-4-5"))
    assert matches({"model": "claude-*-4-5"}, facts(model="claude-haiku-4-5"))
    assert not matches({"model": "claude-opus-*"}, facts(model="claude-sonnet-4-5"))
    assert not matches({"model": "CLAUDE-SONNET-*"}, facts(model="claude-sonnet-4-5"))  # case-sensitive


def test_when_input_tokens_bounds_are_inclusive():
    assert matches({"min_input_tokens": 100}, facts(tokens=100))
    assert not matches({"min_input_tokens": 101}, facts(tokens=100))
    assert matches({"max_input_tokens": 100}, facts(tokens=100))
    assert not matches({"max_input_tokens": 99}, facts(tokens=100))
    assert matches({"min_input_tokens": 50, "max_input_tokens": 150}, facts(tokens=100))
    assert not matches({"min_input_tokens": 50, "max_input_tokens": 150}, facts(tokens=151))


def test_when_tools():
    assert matches({"tools": True}, facts({"tools": [TOOL]}))
    assert not matches({"tools": True}, facts())
    assert matches({"tools": False}, facts())
    assert not matches({"tools": False}, facts({"tools": [TOOL]}))


def test_when_images():
    with_image = facts({"messages": [{"role": "user", "content": [IMAGE, {"type": "text", "text": "what?"}]}]})
    assert with_image.images
    assert matches({"images": True}, with_image) and not matches({"images": False}, with_image)
    assert matches({"images": False}, facts()) and not matches({"images": True}, facts())


def test_when_message_count():
    three = facts({"messages": HI * 3})
    assert matches({"min_messages": 3}, three) and not matches({"min_messages": 4}, three)
    assert matches({"max_messages": 3}, three) and not matches({"max_messages": 2}, three)


def test_when_header_glob_on_user_agent():
    ua = {"user-agent": "claude-cli/2.1.197 (external, sdk-cli)"}
    assert matches({"header": {"user-agent": "claude-cli/*"}}, facts(headers=ua))
    assert matches({"header": {"User-Agent": "claude-cli/2.*"}}, facts(headers=ua))  # names are case-insensitive
    assert not matches({"header": {"user-agent": "curl/*"}}, facts(headers=ua))
    assert not matches({"header": {"user-agent": "claude-cli/*"}}, facts())  # absent header does not match
    both = {"header": {"user-agent": "claude-cli/*", "x-team": "core"}}
    assert not matches(both, facts(headers=ua))
    assert matches(both, facts(headers={**ua, "x-team": "core"}))


def test_when_budget_used_pct_above_is_strict():
    rule = {"budget_used_pct_above": Decimal(80)}  # the parser gives a Decimal
    assert matches(rule, facts(pct=80.01))
    assert not matches(rule, facts(pct=80.0))
    assert not matches(rule, facts(pct=10.0))


def test_the_budget_is_read_only_when_a_rule_asks_and_then_once():
    reads = []

    def used() -> float:
        reads.append(1)
        return 90.0

    f = facts(pct=used)
    assert matches({"model": "claude-sonnet-*", "tools": False}, f) and reads == []  # no ledger walk
    rule = {"budget_used_pct_above": Decimal(80)}
    assert matches(rule, f) and matches(rule, f) and reads == [1]


def test_empty_when_matches_everything_and_all_conditions_must_hold():
    assert matches({}, facts())
    both = {"model": "claude-sonnet-*", "tools": True}
    assert matches(both, facts({"tools": [TOOL]}))
    assert not matches(both, facts())
    assert not matches(both, facts({"tools": [TOOL]}, model="claude-opus-4-1"))


# ----------------------------------------------------------------------------- choose

def rule(when: dict, *targets: tuple) -> RoutingRule:
    return RoutingRule(when, [Target(*t) for t in targets])


def everything(_t) -> bool:
    return True


def test_first_matching_rule_wins():
    rules = [rule({"model": "claude-opus-*"}, ("a",)),
             rule({"model": "claude-sonnet-*"}, ("b", "claude-haiku-4-5")),
             rule({}, ("c",))]
    got = choose(rules, facts(), everything, random.Random(1))
    assert (got.rule, got.target.provider, got.target.model, got.others) == (1, "b", "claude-haiku-4-5", [])
    assert choose(rules, facts(model="claude-opus-4-1"), everything, random.Random(1)).rule == 0
    assert choose(rules, facts(model="gpt-4o"), everything, random.Random(1)).rule == 2
    assert choose(rules[:2], facts(model="gpt-4o"), everything, random.Random(1)) is None


def test_rule_with_no_usable_target_is_skipped():
    rules = [rule({}, ("down1",), ("down2",)), rule({}, ("up", None, 3), ("down3",))]
    got = choose(rules, facts(), lambda t: t.provider == "up", random.Random(1))
    assert got.rule == 1 and got.target.provider == "up" and got.others == []  # unusable targets are dropped
    assert choose(rules[:1], facts(), lambda t: t.provider == "up", random.Random(1)) is None


def test_weighted_choice_distribution_80_20():
    rules = [rule({}, ("a", None, 80), ("b", None, 20))]
    rng = random.Random(20251101)
    picks = Counter(choose(rules, facts(), everything, rng).target.provider for _ in range(10_000))
    assert abs(picks["a"] / 10_000 - 0.80) <= 0.02, picks
    assert abs(picks["b"] / 10_000 - 0.20) <= 0.02, picks


def test_others_are_the_rest_by_weight():
    rules = [rule({}, ("a", None, 1), ("b", None, 5), ("c", None, 3))]
    seen = set()
    for seed in range(50):
        got = choose(rules, facts(), everything, random.Random(seed))
        rest = [t.provider for t in got.others]
        assert got.target.provider not in rest and len(rest) == 2
        weights = [t.weight for t in got.others]
        assert weights == sorted(weights, reverse=True)
        seen.add(got.target.provider)
    assert seen == {"a", "b", "c"}


def test_sticky_preference_wins_over_the_weights():
    rules = [rule({}, ("a", None, 99), ("b", None, 1))]
    rng = random.Random(7)
    assert all(choose(rules, facts(), everything, rng, prefer="b").target.provider == "b" for _ in range(200))
    # a preference for a provider that is not a usable target of the rule is ignored
    got = choose(rules, facts(), lambda t: t.provider == "a", rng, prefer="b")
    assert got.target.provider == "a"
    assert choose(rules, facts(), everything, random.Random(3), prefer="zzz").target.provider in ("a", "b")


# ----------------------------------------------------------------------------- StickySessions

def test_sticky_sessions_lru_bound():
    s = StickySessions(capacity=3)
    for i in range(3):
        s.put(f"s{i}", f"p{i}", f"k{i}")
    assert s.get("s0") == ("p0", "k0")  # s0 is now the most recently used
    s.put("s3", "p3", None)
    assert len(s.entries) == 3
    assert s.get("s1") is None  # the least recently used was evicted
    assert s.get("s0") == ("p0", "k0") and s.get("s2") == ("p2", "k2") and s.get("s3") == ("p3", None)
    s.put("s2", "other", "k9")  # re-put updates and refreshes
    s.put("s4", "p4", None)
    s.put("s5", "p5", None)
    assert list(s.entries) == ["s2", "s4", "s5"] and s.get("s2") == ("other", "k9")
    s.put(None, "x", None)
    s.put("", "x", None)
    assert s.get(None) is None and s.get("") is None and len(s.entries) == 3


def test_sticky_sessions_default_capacity_holds():
    s = StickySessions()
    for i in range(s.capacity + 50):
        s.put(str(i), "a", None)
    assert len(s.entries) == s.capacity and s.get("0") is None and s.get(str(s.capacity + 49)) == ("a", None)


# ----------------------------------------------------------------------------- Breaker

def test_breaker_opens_after_n_consecutive_failures():
    b = Breaker("a", "k1", threshold=3, cooldown_s=10)
    assert b.allow(0.0) and b.state == CLOSED
    b.failure(1.0, "HTTP 500")
    b.failure(2.0, "HTTP 500")
    assert b.state == CLOSED and b.allow(2.0)
    b.failure(3.0, "HTTP 502")
    assert b.state == OPEN and b.open_until == 13.0 and b.last_error == "HTTP 502"
    assert not b.allow(3.0) and not b.allow(12.99)
    assert b.snapshot(8.0) == {"provider": "a", "key": "k1", "state": OPEN, "failures": 3, "retry_in_s": 5.0,
                               "last_error": "HTTP 502"}


def test_success_resets_the_consecutive_count():
    b = Breaker("a", "k1", threshold=2, cooldown_s=10)
    b.failure(1.0, "HTTP 500")
    b.success()
    b.failure(2.0, "HTTP 500")
    assert b.state == CLOSED and b.failures == 1


def test_breaker_cooldown_then_exactly_one_half_open_probe():
    b = Breaker("a", "k1", threshold=1, cooldown_s=5)
    b.failure(100.0, "HTTP 500")
    assert b.state == OPEN and not b.allow(104.9)
    assert b.allow(105.0) and b.state == HALF_OPEN  # the probe
    assert not b.allow(105.1) and not b.allow(200.0)  # a second, concurrent probe is denied
    assert b.snapshot(105.1)["state"] == HALF_OPEN and b.snapshot(105.1)["retry_in_s"] is None


def test_probe_success_closes():
    b = Breaker("a", "k1", threshold=2, cooldown_s=5)
    b.failure(0.0, "x")
    b.failure(0.0, "x")
    assert b.allow(5.0)
    b.success()
    assert (b.state, b.failures, b.last_error) == (CLOSED, 0, None)
    assert b.allow(5.1) and b.allow(5.2)  # closed: everyone passes
    b.failure(6.0, "x")
    assert b.state == CLOSED  # needs the full threshold again


def test_probe_failure_opens_again_for_a_full_cooldown():
    b = Breaker("a", "k1", threshold=3, cooldown_s=5)
    for _ in range(3):
        b.failure(0.0, "HTTP 500")
    assert b.allow(5.0) and b.state == HALF_OPEN
    b.failure(5.5, "HTTP 503")  # one failure suffices in half-open
    assert b.state == OPEN and b.open_until == 10.5 and not b.probing
    assert not b.allow(10.4)
    assert b.allow(10.5) and b.state == HALF_OPEN


def test_429_with_retry_after_opens_at_once_for_that_long():
    b = Breaker("a", "k1", threshold=5, cooldown_s=30)
    b.failure(50.0, "HTTP 429", retry_after=7.0)
    assert b.state == OPEN and b.failures == 1 and b.open_until == 57.0  # not the 30 s cool-down
    assert not b.allow(56.9)
    assert b.allow(57.0) and b.state == HALF_OPEN


def test_bad_stays_bad():
    b = Breaker("a", "k1", threshold=5, cooldown_s=1)
    b.failure(0.0, "HTTP 401", bad=True)
    assert b.state == BAD
    for now in (0.0, 1.0, 10.0, 1e9):
        assert not b.allow(now)
    assert b.state == BAD and b.snapshot(5.0)["state"] == BAD and b.snapshot(5.0)["retry_in_s"] is None
    b.success()  # only an operator reset (or a reload) brings it back
    assert b.state == CLOSED and b.allow(0.0)


def test_board_reports_every_state_change():
    changes = []
    board = BreakerBoard(on_change=lambda b, old: changes.append((b.key, old, b.state)))
    b = board.get("a", "k1", threshold=1, cooldown_s=2)
    assert board.get("a", "k1") is b  # one breaker per (provider, key)
    assert board.allow(b, 0.0)
    board.failure(b, 0.0, "HTTP 500")
    assert not board.allow(b, 1.0)
    assert board.allow(b, 2.0)
    board.success(b)
    board.failure(b, 3.0, "HTTP 401", bad=True)
    assert changes == [("k1", CLOSED, OPEN), ("k1", OPEN, HALF_OPEN), ("k1", HALF_OPEN, CLOSED), ("k1", CLOSED, BAD)]
    assert [s["state"] for s in board.snapshot(3.0)] == [BAD]


# ----------------------------------------------------------------------------- Planner

class FakeProvider(ProviderClient):
    def __init__(self, name: str, models: list[str] | None = None, keys=("k1",), **spec):
        super().__init__(Provider(name=name, type="anthropic", models=models, **spec))
        self.keys = [KeyHandle(k, 1, f"secret-{k}") for k in keys]
        self.sent: list[tuple[str, str]] = []
        self.script: list = []  # what send() does per call: an int status, or an exception to raise

    async def send(self, call: UpstreamCall, key: KeyHandle) -> UpstreamReply:
        self.sent.append((key.name, call.model))
        action = self.script.pop(0) if self.script else 200
        if isinstance(action, BaseException):
            raise action
        headers = {"retry-after": "3"} if action == 429 else {}
        return UpstreamReply(action, headers, body=b"{}")


class PickRng:
    """Stands in for random.Random: `choices` picks the named provider (else the first)."""

    def __init__(self, name: str):
        self.name = name

    def choices(self, population, weights=None):
        return [next((t for t in population if t.provider == self.name), population[0])]


def entry(routing=(), fallbacks=(), team: Team | None = None) -> KeyEntry:
    spec = VirtualKey(name="dev", routing=list(routing), fallbacks=list(fallbacks), team=team.name if team else None)
    return KeyEntry(spec, "sha256:" + "0" * 64, team, None)


def order(plan) -> list[tuple[str, str, str | None]]:
    return [(s.provider.name, s.model, s.rule) for s in plan]


def providers(*names, **kw):
    board = BreakerBoard()
    out = [FakeProvider(n, **kw) for n in names]
    for p in out:
        p.board = board
    return out


def open_all(p: FakeProvider) -> None:
    for k in p.keys:
        p.board.failure(p.breaker(k), 1e12, "HTTP 500", retry_after=3600)  # open far into the future


def test_plan_routed_target_then_rule_others_then_fallbacks_deduped():
    a, b, c, d = providers("a", "b", "c", "d")
    planner = Planner([a, b, c, d], rng=PickRng("b"))
    key = entry(routing=[rule({"model": "claude-opus-*"}, ("d",)),
                         rule({"model": "claude-sonnet-*"}, ("a", None, 1), ("b", "claude-haiku-4-5", 2),
                              ("c", None, 5))],
                fallbacks=[Target("a"), Target("d"), Target("c", "claude-haiku-4-5"), Target("c")])
    plan = planner.plan(key, facts(), None)
    M = "claude-sonnet-4-5"
    assert order(plan) == [("b", "claude-haiku-4-5", "key:1"), ("c", M, "key:1"), ("a", M, "key:1"),
                           ("d", M, None), ("c", "claude-haiku-4-5", None)]
    assert all(s.prefer_key is None for s in plan)


def test_plan_default_route_is_the_first_provider_that_serves_the_model_then_fallbacks():
    a, b, c = providers("a", "b", "c")
    a.patterns = ("gpt-*",)
    planner = Planner([a, b, c], rng=random.Random(1))
    assert order(planner.plan(entry(fallbacks=[Target("c"), Target("a"), Target("b")]), facts(), None)) == \
        [("b", "claude-sonnet-4-5", None), ("c", "claude-sonnet-4-5", None)]  # a does not serve it; b once
    # a rule that matches nothing falls through to the default route
    no_match = entry(routing=[rule({"model": "claude-opus-*"}, ("c",))])
    assert order(planner.plan(no_match, facts(), None)) == [("b", "claude-sonnet-4-5", None)]


def test_plan_skips_targets_that_cannot_serve():
    a, b = providers("a", "b")
    b.keys = []  # no usable key: not available
    planner = Planner([a, b], rng=PickRng("a"))
    key = entry(routing=[rule({}, ("b",))], fallbacks=[Target("b"), Target("a", "gpt-4o")])
    # the rule's only target is unavailable: the rule is skipped; a does not serve gpt-4o
    assert order(planner.plan(key, facts(), None)) == [("a", "claude-sonnet-4-5", None)]


def test_plan_unhealthy_providers_go_last_keeping_order():
    a, b, c = providers("a", "b", "c")
    planner = Planner([a, b, c], rng=PickRng("a"))
    key = entry(routing=[rule({}, ("a", None, 3), ("b", None, 2))], fallbacks=[Target("c")])
    assert [s.provider.name for s in planner.plan(key, facts(), None)] == ["a", "b", "c"]
    open_all(a)
    assert not a.healthy() and b.healthy()
    assert [s.provider.name for s in planner.plan(key, facts(), None)] == ["b", "c", "a"]
    open_all(c)
    assert [s.provider.name for s in planner.plan(key, facts(), None)] == ["b", "a", "c"]


def test_plan_provider_with_one_healthy_key_is_healthy():
    (a,) = providers("a", keys=("k1", "k2"))
    open_all(a)
    assert not a.healthy()
    a.board.success(a.breaker(a.keys[1]))
    assert a.healthy()


def test_plan_team_routing_and_fallbacks_inherited_when_the_key_has_none():
    a, b, c = providers("a", "b", "c")
    planner = Planner([a, b, c], rng=PickRng("b"))
    team = Team(name="backend", routing=[rule({"tools": True}, ("a",)), rule({}, ("b", "claude-haiku-4-5"))],
                fallbacks=[Target("c")])
    plan = planner.plan(entry(team=team), facts(), None)
    assert order(plan) == [("b", "claude-haiku-4-5", "team:1"), ("c", "claude-sonnet-4-5", None)]
    # the key's own routing and fallbacks replace the team's
    own = entry(routing=[rule({}, ("a",))], fallbacks=[Target("b")], team=team)
    assert order(planner.plan(own, facts(), None)) == [("a", "claude-sonnet-4-5", "key:0"),
                                                       ("b", "claude-sonnet-4-5", None)]


def test_plan_session_stickiness():
    a, b = providers("a", "b", keys=("k1", "k2"))
    planner = Planner([a, b], rng=PickRng("a"))
    key = entry(routing=[rule({}, ("a", None, 1), ("b", None, 1))])
    planner.sticky.put("sess-1", "b", "k2")
    plan = planner.plan(key, facts(), "sess-1")
    assert [s.provider.name for s in plan] == ["b", "a"] and plan[0].prefer_key == "k2"
    assert [s.provider.name for s in planner.plan(key, facts(), "sess-2")] == ["a", "b"]
    # the sticky provider is skipped while unhealthy (and its key is not preferred elsewhere)
    open_all(b)
    plan = planner.plan(key, facts(), "sess-1")
    assert [s.provider.name for s in plan] == ["a", "b"] and all(s.prefer_key is None for s in plan)
    # the default route honours stickiness too
    c, d = providers("c", "d")
    planner = Planner([c, d])
    planner.sticky.put("s", "d", "k1")
    plan = planner.plan(entry(), facts(), "s")
    assert [s.provider.name for s in plan] == ["d"] and plan[0].prefer_key == "k1"


# ----------------------------------------------------------------------------- key rotation (ProviderClient.messages)

def call(model="claude-sonnet-4-5", prefer_key=None) -> UpstreamCall:
    return UpstreamCall("/v1/messages", "", b"{}", MessagesBody.of_document({}, b"{}"), model, False, {},
                        prefer_key=prefer_key)


async def test_rotation_429_opens_the_key_and_tries_the_other():
    (a,) = providers("a", keys=("k1", "k2"))
    a.script = [429, 200]
    reply = await a.messages(call(prefer_key="k1"))
    assert reply.status == 200 and reply.provider_key == "k2" and a.sent == [("k1", "claude-sonnet-4-5"),
                                                                             ("k2", "claude-sonnet-4-5")]
    assert [(x["key"], x["status"]) for x in reply.attempts] == [("k1", 429)]
    k1 = a.breaker(a.keys[0])
    assert k1.state == OPEN and 2.5 < k1.open_until - time.monotonic() <= 3.0  # its retry-after, not the 30 s
    assert a.breaker(a.keys[1]).state == CLOSED


async def test_rotation_401_marks_bad_and_5xx_goes_back_to_the_pipeline():
    (a,) = providers("a", keys=("k1", "k2"))
    a.script = [401, 200]
    reply = await a.messages(call(prefer_key="k1"))
    assert reply.status == 200 and reply.provider_key == "k2" and a.breaker(a.keys[0]).state == BAD
    a.sent.clear()
    a.script = [500]
    reply = await a.messages(call())
    assert reply.status == 500 and a.sent == [("k2", "claude-sonnet-4-5")]  # k1 is bad: skipped, no rotation on 5xx
    assert a.breaker(a.keys[1]).failures == 1


async def test_rotation_every_key_rejected_returns_the_last_rejection():
    (a,) = providers("a", keys=("k1", "k2"))
    a.script = [429, 429]
    reply = await a.messages(call(prefer_key="k1"))
    assert reply.status == 429 and reply.provider_key == "k2"
    assert [(x["key"], x["status"]) for x in reply.attempts] == [("k1", 429)]
    with pytest.raises(UpstreamUnavailable) as info:  # now both keys are cooling down
        await a.messages(call())
    assert info.value.status == 429 and info.value.retry_after == 3


async def test_cancelled_half_open_probe_does_not_wedge_the_key():
    (a,) = providers("a", keys=("k1",), breaker_failures=1, breaker_cooldown_s=0.01)
    a.script = [500]
    assert (await a.messages(call())).status == 500
    b = a.breaker(a.keys[0])
    assert b.state == OPEN
    await asyncio.sleep(0.02)
    a.script = [asyncio.CancelledError()]
    with pytest.raises(asyncio.CancelledError):
        await a.messages(call())  # the probe is cancelled (gateway stopping, task cancelled)
    a.script = [200]
    reply = await a.messages(call())  # a later request should get to probe again
    assert reply.status == 200
