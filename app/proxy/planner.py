"""The attempt plan of a request: the routed target first (session-sticky when healthy), then the
matched rule's other targets, then the key's (or its team's) fallback chain."""
from __future__ import annotations

import random
from dataclasses import dataclass

from ..core.config import Target
from ..core.directory import KeyEntry
from ..core.routing import RequestFacts, StickySessions, choose
from .providers.base import ProviderClient


@dataclass(slots=True)
class Step:
    provider: ProviderClient
    model: str  # the model name to serve (before the provider's own id mapping)
    rule: str | None  # "key:0", "team:1" or None for the default route / a fallback
    prefer_key: str | None = None


class Planner:
    def __init__(self, providers: list[ProviderClient], rng: random.Random | None = None):
        self.providers = {p.name: p for p in providers}
        self.ordered = providers
        self.rng = rng or random.Random()
        self.sticky = StickySessions()

    def usable(self, target: Target, model: str) -> bool:
        p = self.providers.get(target.provider)
        return p is not None and p.available and p.serves(target.model or model)

    def plan(self, entry: KeyEntry, facts: RequestFacts, session: str | None) -> list[Step]:
        model = facts.model
        rules, owner = (entry.spec.routing, "key") if entry.spec.routing else \
            ((entry.team.routing, "team") if entry.team and entry.team.routing else ([], None))
        sticky = self.sticky.get(session)
        prefer = sticky[0] if sticky and self.providers.get(sticky[0]) and self.providers[sticky[0]].healthy() else None
        steps: list[Step] = []
        choice = choose(rules, facts, lambda t: self.usable(t, model), self.rng, prefer)
        if choice is not None:
            for t in [choice.target, *choice.others]:
                steps.append(Step(self.providers[t.provider], t.model or model, f"{owner}:{choice.rule}"))
        else:
            default = [p for p in self.ordered if p.available and p.serves(model)]
            if prefer:
                default.sort(key=lambda p: p.name != prefer)
            steps += [Step(p, model, None) for p in default[:1]]
        fallbacks = entry.spec.fallbacks or (entry.team.fallbacks if entry.team else [])
        for t in fallbacks:
            if self.usable(t, model):
                steps.append(Step(self.providers[t.provider], t.model or model, None))
        seen, plan = set(), []
        for step in steps:  # the same provider and model is tried once
            if (step.provider.name, step.model) not in seen:
                seen.add((step.provider.name, step.model))
                plan.append(step)
        if plan and sticky and plan[0].provider.name == sticky[0]:
            plan[0].prefer_key = sticky[1]
        # healthy providers before ones whose every key is cooling down (keeps the order otherwise)
        plan.sort(key=lambda s: not s.provider.healthy())
        return plan
