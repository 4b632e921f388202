"""Rate limits on their own: sliding 60 s windows over explicit monotonic times (no sleeping, no clock)."""
from __future__ import annotations


from app.core.config import RateLimit
from app.core.ratelimit import Permit, RateLimiter, Throttle

KEY = "key dev-a"
TEAM = "team backend"


def admit(limiter: RateLimiter, limit: RateLimit, tokens: int, now: float, scope: str = KEY):
    return limiter.admit([(scope, limit)], tokens, now)


def test_rpm_exact_retry_after():
    lim, rl = RateLimiter(), RateLimit(requests_per_minute=3)
    for t in (0.0, 10.0, 20.0):
        permit = admit(lim, rl, 1, t)
        assert isinstance(permit, Permit)
        lim.release(permit, 1, t + 1)
    refused = admit(lim, rl, 1, 30.0)
    assert isinstance(refused, Throttle)
    assert (refused.scope, refused.limit, refused.retry_after) == (KEY, "requests_per_minute", 30)
    assert "3 requests per minute" in refused.message
    # rounding is up to the next whole second, never 0
    assert admit(lim, rl, 1, 45.5).retry_after == 15
    assert admit(lim, rl, 1, 59.9).retry_after == 1
    assert lim.usage(KEY, 59.9)["requests_last_minute"] == 3  # refusals are not counted
    # at t=60 the t=0 request has left the window; the next one waits for t=10's to leave
    assert isinstance(admit(lim, rl, 1, 60.0), Permit)
    later = admit(lim, rl, 1, 61.0)
    assert isinstance(later, Throttle) and later.retry_after == 9


def test_tpm_estimate_then_correction_by_release():
    lim, rl = RateLimiter(), RateLimit(tokens_per_minute=1_000)
    first = admit(lim, rl, 600, 0.0)  # the input estimate
    assert isinstance(first, Permit)
    too_much = admit(lim, rl, 500, 1.0)  # 600 + 500 > 1000 until t=0 leaves the window at 60
    assert isinstance(too_much, Throttle)
    assert (too_much.limit, too_much.retry_after) == ("tokens_per_minute", 59)
    assert "1000 tokens per minute" in too_much.message

    lim.release(first, 100, 5.0)  # it really used 100 tokens (input + output)
    assert lim.usage(KEY, 5.0)["tokens_last_minute"] == 100
    second = admit(lim, rl, 900, 10.0)  # 100 + 900 == 1000: fits exactly
    assert isinstance(second, Permit)
    one_more = admit(lim, rl, 1, 11.0)
    # 1001 > 1000; once the first request's tokens leave (t=60), 900 + 1 fits: 49 s from t=11
    assert isinstance(one_more, Throttle) and one_more.retry_after == 49
    lim.release(second, None, 12.0)  # unknown usage: the estimate stands
    assert lim.usage(KEY, 12.0)["tokens_last_minute"] == 1_000


def test_tpm_correction_upwards():
    lim, rl = RateLimiter(), RateLimit(tokens_per_minute=1_000)
    permit = admit(lim, rl, 100, 0.0)
    lim.release(permit, 950, 2.0)  # much more output than expected
    assert lim.usage(KEY, 2.0)["tokens_last_minute"] == 950
    refused = admit(lim, rl, 100, 3.0)
    assert isinstance(refused, Throttle) and refused.limit == "tokens_per_minute"


def test_tpm_correction_leaves_the_window_with_its_request():
    lim, rl = RateLimiter(), RateLimit(tokens_per_minute=1_000)
    first = admit(lim, rl, 600, 0.0)
    lim.release(first, 100, 5.0)  # the t=0 request used 100 tokens in all
    second = admit(lim, rl, 900, 10.0)
    assert isinstance(second, Permit)
    # at t=61 the t=0 request has left the window; the t=10 request's 900 tokens have not
    assert lim.usage(KEY, 61.0)["tokens_last_minute"] == 900
    refused = admit(lim, rl, 600, 61.0)  # 900 + 600 > 1000
    assert isinstance(refused, Throttle) and refused.retry_after == 9


def test_request_larger_than_tpm_alone():
    lim, rl = RateLimiter(), RateLimit(tokens_per_minute=1_000)
    refused = admit(lim, rl, 1_001, 0.0)
    assert isinstance(refused, Throttle)
    assert (refused.limit, refused.retry_after) == ("tokens_per_minute", 60)
    assert "larger than the 1000 tokens per minute" in refused.message
    assert lim.usage(KEY, 0.0) == {"requests_last_minute": 0, "tokens_last_minute": 0, "in_flight": 0}
    assert isinstance(admit(lim, rl, 1_000, 0.0), Permit)  # exactly the limit fits an empty window


def test_max_concurrent_and_release():
    lim, rl = RateLimiter(), RateLimit(max_concurrent=2)
    a = admit(lim, rl, 10, 0.0)
    b = admit(lim, rl, 10, 0.1)
    assert isinstance(a, Permit) and isinstance(b, Permit)
    c = admit(lim, rl, 10, 0.2)
    assert isinstance(c, Throttle)
    assert (c.limit, c.retry_after) == ("max_concurrent", 1)
    assert "2 in flight, limit 2" in c.message
    lim.release(a, 10, 0.3)
    lim.release(a, 10, 0.3)  # a second release is a no-op: it must not free another slot
    assert lim.usage(KEY, 0.3)["in_flight"] == 1
    d = admit(lim, rl, 10, 0.4)
    assert isinstance(d, Permit)
    assert isinstance(admit(lim, rl, 10, 0.5), Throttle)
    lim.release(b, 10, 1.0)
    lim.release(d, 10, 1.0)
    assert lim.usage(KEY, 1.0)["in_flight"] == 0


def test_all_or_nothing_across_scopes():
    lim = RateLimiter()
    limits = [(KEY, RateLimit(requests_per_minute=10, max_concurrent=5)), (TEAM, RateLimit(requests_per_minute=1))]
    first = lim.admit(limits, 50, 0.0)
    assert isinstance(first, Permit)
    second = lim.admit(limits, 50, 1.0)
    assert isinstance(second, Throttle)
    assert (second.scope, second.limit, second.retry_after) == (TEAM, "requests_per_minute", 59)
    # the key scope passed its own check but was not counted: the team refused
    assert lim.usage(KEY, 1.0) == {"requests_last_minute": 1, "tokens_last_minute": 50, "in_flight": 1}
    assert lim.usage(TEAM, 1.0) == {"requests_last_minute": 1, "tokens_last_minute": 50, "in_flight": 1}
    lim.release(first, 70, 2.0)
    assert lim.usage(KEY, 2.0) == {"requests_last_minute": 1, "tokens_last_minute": 70, "in_flight": 0}
    assert lim.usage(TEAM, 2.0)["in_flight"] == 0


def test_scopes_are_independent():
    lim = RateLimiter()
    rl = RateLimit(requests_per_minute=1)
    assert isinstance(admit(lim, rl, 1, 0.0, "key a"), Permit)
    assert isinstance(admit(lim, rl, 1, 0.0, "key b"), Permit)
    assert isinstance(admit(lim, rl, 1, 0.0, "key a"), Throttle)


def test_memory_is_bounded_by_buckets_not_requests():
    lim, rl = RateLimiter(), RateLimit(requests_per_minute=1_000_000, tokens_per_minute=None, max_concurrent=None)
    for i in range(20_000):  # 20,000 requests in 2 s
        permit = admit(lim, rl, 1, i / 10_000)
        lim.release(permit, 1, i / 10_000)
    scope = lim.scopes[KEY]
    assert len(scope.buckets) <= 3 and scope.request_count == 20_000
    assert lim.usage(KEY, 2.0)["requests_last_minute"] == 20_000
    assert lim.usage(KEY, 62.1)["requests_last_minute"] == 0 and not scope.buckets


def test_a_bucket_leaves_with_its_newest_request_never_earlier():
    lim, rl = RateLimiter(), RateLimit(requests_per_minute=2, tokens_per_minute=None, max_concurrent=None)
    assert not isinstance(admit(lim, rl, 1, 0.1), Throttle)
    assert not isinstance(admit(lim, rl, 1, 0.9), Throttle)  # same one-second bucket
    refused = admit(lim, rl, 1, 60.5)  # the first request's own minute is over, its bucket's is not
    assert isinstance(refused, Throttle) and refused.retry_after == 1
    assert not isinstance(admit(lim, rl, 1, 60.91), Throttle)


def test_never_more_than_the_limit_in_any_sixty_seconds():
    import random
    rng = random.Random(3)
    lim, rl = RateLimiter(), RateLimit(requests_per_minute=50, tokens_per_minute=None, max_concurrent=None)
    admitted, now = [], 0.0
    for _ in range(5_000):
        now += rng.expovariate(2.0)  # ~2 requests a second against a limit of 50 a minute
        result = admit(lim, rl, 1, now)
        if not isinstance(result, Throttle):
            admitted.append(now)
            lim.release(result, 1, now)
    for i, t in enumerate(admitted):  # every window of 60 s starting at an admitted request
        inside = sum(1 for u in admitted[i:i + 60] if u < t + 60)
        assert inside <= 50
    assert len(admitted) > 50 * (now / 60) * 0.9  # and it is not much stricter than the limit
