"""Circuit breakers per provider key: skip a failing key for a cool-down, then let one probe through.

closed --(N consecutive failures, or a 429 with retry-after)--> open --(cool-down over)--> half-open
half-open --(probe succeeds)--> closed; --(probe fails)--> open again. A 401/403 marks the key bad:
it stays open until the config is reloaded or an operator resets it.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

CLOSED, OPEN, HALF_OPEN, BAD = "closed", "open", "half-open", "bad"


@dataclass(slots=True)
class Breaker:
    provider: str
    key: str
    threshold: int = 5
    cooldown_s: float = 30.0
    state: str = CLOSED
    failures: int = 0
    open_until: float = 0.0
    probing: bool = False
    last_error: str | None = None

    def allow(self, now: float) -> bool:
        if self.state == CLOSED:
            return True
        if self.state == BAD:
            return False
        if self.state == OPEN and now >= self.open_until:
            self.state, self.probing = HALF_OPEN, False
        if self.state == HALF_OPEN and not self.probing:
            self.probing = True
            return True
        return False

    def success(self) -> None:
        self.state, self.failures, self.probing, self.last_error = CLOSED, 0, False, None

    def failure(self, now: float, reason: str, retry_after: float | None = None, bad: bool = False) -> None:
        self.failures += 1
        self.last_error = reason
        self.probing = False
        if bad:
            self.state = BAD
        elif retry_after is not None or self.state == HALF_OPEN or self.failures >= self.threshold:
            self.state = OPEN
            self.open_until = now + (retry_after if retry_after is not None else self.cooldown_s)

    def snapshot(self, now: float) -> dict:
        return {"provider": self.provider, "key": self.key, "state": self.state, "failures": self.failures,
                "retry_in_s": max(0.0, round(self.open_until - now, 1)) if self.state == OPEN else None,
                "last_error": self.last_error}


@dataclass
class BreakerBoard:
    """All breakers; `on_change(breaker, old_state)` fires on every state change (for events and toasts)."""
    on_change: Callable[[Breaker, str], None] | None = None
    breakers: dict[tuple[str, str], Breaker] = field(default_factory=dict)

    def get(self, provider: str, key: str, threshold: int = 5, cooldown_s: float = 30.0) -> Breaker:
        b = self.breakers.get((provider, key))
        if b is None:
            b = self.breakers[(provider, key)] = Breaker(provider, key, threshold, cooldown_s)
        return b

    def allow(self, b: Breaker, now: float) -> bool:
        old = b.state
        ok = b.allow(now)
        self._changed(b, old)
        return ok

    def success(self, b: Breaker) -> None:
        old = b.state
        b.success()
        self._changed(b, old)

    def failure(self, b: Breaker, now: float, reason: str, retry_after: float | None = None, bad: bool = False) -> None:
        old = b.state
        b.failure(now, reason, retry_after, bad)
        self._changed(b, old)

    def _changed(self, b: Breaker, old: str) -> None:
        if b.state != old and self.on_change:
            self.on_change(b, old)

    def snapshot(self, now: float) -> list[dict]:
        return [b.snapshot(now) for b in self.breakers.values()]
