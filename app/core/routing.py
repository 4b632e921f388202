"""Routing: rules in order, first match wins; a matched rule picks among weighted targets.

Conditions (all must hold): model glob, estimated input tokens (min/max), tools present, images
present, thinking enabled, number of messages (min/max), header globs, and the key's budget used %.
"""
from __future__ import annotations

import fnmatch
import random
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Callable, Mapping

from .config import RoutingRule, Target
from .messages_body import MessagesBody


@dataclass(slots=True)
class RequestFacts:
    model: str
    input_tokens: int
    tools: bool
    thinking: bool
    messages: int
    headers: Mapping[str, str]  # read with .get(lower-case name, default) only
    used_pct: float | Callable[[], float] = 0.0  # the key's most-used budget in %, or how to read it if a rule asks
    body: MessagesBody | None = None  # `images` is read from it when a rule asks

    @classmethod
    def of(cls, body: MessagesBody, headers: Mapping[str, str],
           budget_used_pct: float | Callable[[], float] = 0.0) -> "RequestFacts":
        return cls(model=str(body.model), input_tokens=body.input_tokens, tools=body.tools, messages=body.messages,
                   thinking=body.thinking, headers=headers, used_pct=budget_used_pct, body=body)

    @property
    def budget_used_pct(self) -> float:
        """Read (once) only when a rule has `budget_used_pct_above`: most requests never need the ledger walk."""
        if callable(self.used_pct):
            self.used_pct = self.used_pct()
        return self.used_pct

    @property
    def images(self) -> bool:
        return self.body is not None and self.body.images


def matches(when: dict, f: RequestFacts) -> bool:
    """Every condition present in `when` holds (tested in this order; unknown names are ignored)."""
    if not when:
        return True
    if "model" in when and not fnmatch.fnmatchcase(f.model, when["model"]):
        return False
    if "min_input_tokens" in when and not f.input_tokens >= when["min_input_tokens"]:
        return False
    if "max_input_tokens" in when and not f.input_tokens <= when["max_input_tokens"]:
        return False
    if "tools" in when and not f.tools == when["tools"]:
        return False
    if "images" in when and not f.images == when["images"]:
        return False
    if "thinking" in when and not f.thinking == when["thinking"]:
        return False
    if "min_messages" in when and not f.messages >= when["min_messages"]:
        return False
    if "max_messages" in when and not f.messages <= when["max_messages"]:
        return False
    if "budget_used_pct_above" in when and not f.budget_used_pct > float(when["budget_used_pct_above"]):
        return False
    if "header" in when:
        return all(fnmatch.fnmatchcase(f.headers.get(str(k).lower(), ""), str(g)) for k, g in when["header"].items())
    return True


@dataclass(slots=True)
class Choice:
    rule: int | None  # index of the matched rule, None = default route
    target: Target
    others: list[Target]  # the rule's other targets, by weight order: tried if the pick fails


def choose(rules: list[RoutingRule], facts: RequestFacts, usable, rng: random.Random,
           prefer: str | None = None) -> Choice | None:
    """The first matching rule's weighted pick among usable targets (`usable(target) -> bool`).
    `prefer` (a provider name from session stickiness) wins when it is among them."""
    for i, rule in enumerate(rules):
        if not matches(rule.when, facts):
            continue
        targets = [t for t in rule.targets if usable(t)]
        if not targets:
            continue
        picked = next((t for t in targets if t.provider == prefer), None) or \
            rng.choices(targets, weights=[t.weight for t in targets])[0]
        others = sorted((t for t in targets if t is not picked), key=lambda t: -t.weight)
        return Choice(i, picked, others)
    return None


@dataclass
class StickySessions:
    """x-claude-code-session-id -> (provider, provider key), so prompt-cache hits survive; bounded LRU."""
    capacity: int = 10_000
    entries: OrderedDict = field(default_factory=OrderedDict)

    def get(self, session: str | None) -> tuple[str, str | None] | None:
        if not session or session not in self.entries:
            return None
        self.entries.move_to_end(session)
        return self.entries[session]

    def put(self, session: str | None, provider: str, key: str | None) -> None:
        if not session:
            return
        self.entries[session] = (provider, key)
        self.entries.move_to_end(session)
        while len(self.entries) > self.capacity:
            self.entries.popitem(last=False)
