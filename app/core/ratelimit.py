"""Rate limits per key (and optionally team and customer): requests/min, tokens/min, concurrent requests.

Sliding 60-second windows over one-second buckets: each bucket keeps the time of its newest request,
and it leaves the window when that request does, so a limit never admits more than it says (a request
counts at most 1 s longer than its own 60 s) and `retry_after` is the whole seconds until the request
would fit. Memory per scope is at most 61 buckets (~10 KB) however fast requests come: one entry per
request held ~160 bytes a request per scope (~45 MB at 2,000 requests/s over key, team and customer),
and 100 ms buckets still ~90 KB a scope, filled over the first minute. Tokens are input + output: the
input estimate is taken at admission and corrected with the real usage when the request ends.
"""
from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field

from .config import RateLimit

WINDOW_S = 60.0
BUCKET_S = 1.0
_TICK, _NEWEST, _REQUESTS, _TOKENS = range(4)  # a bucket: [tick, newest request time, requests, tokens]


@dataclass(slots=True)
class _Scope:
    buckets: deque = field(default_factory=deque)  # oldest first
    request_count: int = 0
    token_sum: int = 0
    in_flight: int = 0

    def expire(self, now: float) -> None:
        edge = now - WINDOW_S
        buckets = self.buckets
        while buckets and buckets[0][_NEWEST] <= edge:
            gone = buckets.popleft()
            self.request_count -= gone[_REQUESTS]
            self.token_sum -= gone[_TOKENS]

    def count(self, tokens: int, now: float) -> list:
        """Count one request; returns its bucket (where a later token correction goes)."""
        tick = int(now // BUCKET_S)
        buckets = self.buckets
        if buckets and buckets[-1][_TICK] == tick:
            bucket = buckets[-1]
            bucket[_NEWEST] = now
            bucket[_REQUESTS] += 1
            bucket[_TOKENS] += tokens
        else:
            bucket = [tick, now, 1, tokens]
            buckets.append(bucket)
        self.request_count += 1
        self.token_sum += tokens
        self.in_flight += 1
        return bucket

    def live(self, bucket: list, now: float) -> bool:
        return bucket[_NEWEST] > now - WINDOW_S


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
    entries: list[list] = field(default_factory=list)  # the bucket this request was counted in, per scope
    released: bool = False


class RateLimiter:
    def __init__(self) -> None:
        self.scopes: dict[str, _Scope] = {}

    def recount(self, scope_id: str, tokens: int, at: float) -> None:
        """Count a request the limiter admitted before a restart (from the request log, oldest first), at its
        time on this process's clock: the window continues instead of starting empty."""
        scope = self.scopes.get(scope_id)
        if scope is None:
            scope = self.scopes[scope_id] = _Scope()
        scope.count(tokens, at)
        scope.in_flight -= 1  # it has ended

    def usage(self, scope_id: str, now: float) -> dict:
        scope = self.scopes.get(scope_id)
        if scope is None:
            return {"requests_last_minute": 0, "tokens_last_minute": 0, "in_flight": 0}
        scope.expire(now)
        return {"requests_last_minute": scope.request_count, "tokens_last_minute": scope.token_sum,
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
        return Permit(scopes, tokens, [scope.count(tokens, now) for scope in scopes])

    def release(self, permit: Permit, actual_tokens: int | None, now: float) -> None:
        """The request ended: free its concurrency slot and correct its token count to the real usage."""
        if permit.released:
            return
        permit.released = True
        delta = 0 if actual_tokens is None else actual_tokens - permit.tokens
        for scope, entry in zip(permit.scopes, permit.entries):
            scope.in_flight -= 1
            if delta and scope.live(entry, now):  # corrected where it was counted, so it leaves with it
                entry[_TOKENS] += delta
                scope.token_sum += delta

    @staticmethod
    def _check(scope_id: str, scope: _Scope, limit: RateLimit, tokens: int, now: float) -> Throttle | None:
        if limit.max_concurrent is not None and scope.in_flight >= limit.max_concurrent:
            return Throttle(scope_id, "max_concurrent", 1,
                            f"Too many concurrent requests for {scope_id}: {scope.in_flight} in flight, "
                            f"limit {limit.max_concurrent}.")
        rpm = limit.requests_per_minute
        if rpm is not None and scope.request_count >= rpm:
            left, wait = scope.request_count, WINDOW_S
            for bucket in scope.buckets:  # the earliest moment enough old requests have left the window
                left -= bucket[_REQUESTS]
                if left < rpm:
                    wait = bucket[_NEWEST] + WINDOW_S - now
                    break
            return Throttle(scope_id, "requests_per_minute", _seconds(wait),
                            f"Rate limit for {scope_id}: {rpm} requests per minute reached.")
        tpm = limit.tokens_per_minute
        if tpm is not None and scope.token_sum + tokens > tpm:
            if tokens > tpm:
                return Throttle(scope_id, "tokens_per_minute", int(WINDOW_S),
                                f"This request (~{tokens} tokens) is larger than the {tpm} tokens per minute "
                                f"limit of {scope_id}; it cannot be served under this limit.", never_fits=True)
            running, wait = scope.token_sum, WINDOW_S
            for bucket in scope.buckets:  # the earliest moment enough old tokens have left the window
                running -= bucket[_TOKENS]
                if running + tokens <= tpm:
                    wait = bucket[_NEWEST] + WINDOW_S - now
                    break
            return Throttle(scope_id, "tokens_per_minute", _seconds(wait),
                            f"Rate limit for {scope_id}: {tpm} tokens per minute reached "
                            f"({scope.token_sum} used in the last minute).")
        return None


def _seconds(wait: float) -> int:
    return max(1, math.ceil(wait - 1e-9))
