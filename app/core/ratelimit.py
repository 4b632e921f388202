"""Rate limits per key (and optionally team and customer): requests/min, tokens/min, concurrent requests.

Sliding 60-second windows over exact timestamps, so `retry_after` is the real number of seconds
until the request would fit. Tokens are input + output: the input estimate is taken at admission
and corrected with the real usage when the request ends.
"""
from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field

from .config import RateLimit

WINDOW_S = 60.0


@dataclass(slots=True)
class _Scope:
    requests: deque = field(default_factory=deque)  # monotonic times
    tokens: deque = field(default_factory=deque)  # [monotonic time, tokens], corrected in place
    token_sum: int = 0
    in_flight: int = 0

    def expire(self, now: float) -> None:
        edge = now - WINDOW_S
        while self.requests and self.requests[0] <= edge:
            self.requests.popleft()
        while self.tokens and self.tokens[0][0] <= edge:
            self.token_sum -= self.tokens.popleft()[1]

    def live(self, entry: list, now: float) -> bool:
        return entry[0] > now - WINDOW_S


@dataclass(frozen=True, slots=True)
class Throttle:
    scope: str  # "key dev-pranay"
    limit: str  # "requests_per_minute" | "tokens_per_minute" | "max_concurrent"
    retry_after: int  # whole seconds, rounded up
    message: str
    never_fits: bool = False  # the request alone exceeds the limit: retrying cannot help


@dataclass(slots=True)
class Permit:
    scopes: list[_Scope]
    tokens: int
    entries: list[list] = field(default_factory=list)  # this request's token entry in each scope
    released: bool = False


class RateLimiter:
    def __init__(self) -> None:
        self.scopes: dict[str, _Scope] = {}

    def usage(self, scope_id: str, now: float) -> dict:
        scope = self.scopes.get(scope_id)
        if scope is None:
            return {"requests_last_minute": 0, "tokens_last_minute": 0, "in_flight": 0}
        scope.expire(now)
        return {"requests_last_minute": len(scope.requests), "tokens_last_minute": scope.token_sum,
                "in_flight": scope.in_flight}

    def admit(self, limits: list[tuple[str, RateLimit]], tokens: int, now: float) -> Permit | Throttle:
        """Check every scope first, then count the request in all of them (all or nothing)."""
        scopes = []
        for scope_id, limit in limits:
            scope = self.scopes.get(scope_id)
            if scope is None:  # (setdefault would build a throw-away _Scope with two deques every time)
                scope = self.scopes[scope_id] = _Scope()
            scope.expire(now)
            throttle = self._check(scope_id, scope, limit, tokens, now)
            if throttle:
                return throttle
            scopes.append(scope)
        entries = []
        for scope in scopes:
            entry = [now, tokens]
            scope.requests.append(now)
            scope.tokens.append(entry)
            scope.token_sum += tokens
            scope.in_flight += 1
            entries.append(entry)
        return Permit(scopes, tokens, entries)

    def release(self, permit: Permit, actual_tokens: int | None, now: float) -> None:
        """The request ended: free its concurrency slot and correct its token count to the real usage."""
        if permit.released:
            return
        permit.released = True
        delta = 0 if actual_tokens is None else actual_tokens - permit.tokens
        for scope, entry in zip(permit.scopes, permit.entries):
            scope.in_flight -= 1
            if delta and scope.live(entry, now):  # corrected where it was counted, so it leaves with it
                entry[1] += delta
                scope.token_sum += delta

    @staticmethod
    def _check(scope_id: str, scope: _Scope, limit: RateLimit, tokens: int, now: float) -> Throttle | None:
        if limit.max_concurrent is not None and scope.in_flight >= limit.max_concurrent:
            return Throttle(scope_id, "max_concurrent", 1,
                            f"Too many concurrent requests for {scope_id}: {scope.in_flight} in flight, "
                            f"limit {limit.max_concurrent}.")
        rpm = limit.requests_per_minute
        if rpm is not None and len(scope.requests) >= rpm:
            wait = scope.requests[len(scope.requests) - rpm] + WINDOW_S - now
            return Throttle(scope_id, "requests_per_minute", _seconds(wait),
                            f"Rate limit for {scope_id}: {rpm} requests per minute reached.")
        tpm = limit.tokens_per_minute
        if tpm is not None and scope.token_sum + tokens > tpm:
            if tokens > tpm:
                return Throttle(scope_id, "tokens_per_minute", int(WINDOW_S),
                                f"This request (~{tokens} tokens) is larger than the {tpm} tokens per minute "
                                f"limit of {scope_id}; it cannot be served under this limit.", never_fits=True)
            running, wait = scope.token_sum, WINDOW_S
            for at, n in scope.tokens:  # the earliest moment enough old tokens have left the window
                running -= n
                if running + tokens <= tpm:
                    wait = at + WINDOW_S - now
                    break
            return Throttle(scope_id, "tokens_per_minute", _seconds(wait),
                            f"Rate limit for {scope_id}: {tpm} tokens per minute reached "
                            f"({scope.token_sum} used in the last minute).")
        return None


def _seconds(wait: float) -> int:
    return max(1, math.ceil(wait - 1e-9))
