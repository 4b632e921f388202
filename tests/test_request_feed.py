"""What the Requests tail takes from the collected requests (app/tui/request_feed.py): the rows above the
last seq seen, the newest matching rows, and the filter's exact "of N" as the collection rolls over."""
from __future__ import annotations

from collections import deque

from app.tui.request_feed import RequestFeed


def rows(first: int, last: int, key=lambda seq: "odd" if seq % 2 else "even") -> list[dict]:
    return [{"seq": s, "id": f"r{s}", "key": key(s)} for s in range(first, last + 1)]


def odd(r: dict) -> bool:
    return r["key"] == "odd"


def test_take_returns_only_the_rows_above_the_last_seq_oldest_first():
    feed, held = RequestFeed(), rows(1, 5)
    assert [r["seq"] for r in feed.take(held)] == [1, 2, 3, 4, 5] and feed.last_seq == 5
    assert feed.take(held) == []
    held += rows(6, 7)
    assert [r["seq"] for r in feed.take(held)] == [6, 7] and feed.last_seq == 7
    assert feed.matched == 7 and list(feed.flags) == [True] * 7


def test_take_filters_and_counts_matches():
    feed = RequestFeed()
    feed.refilter([], odd)
    held = rows(1, 6)
    assert [r["seq"] for r in feed.take(held)] == [1, 3, 5]
    assert feed.matched == 3 and list(feed.flags) == [True, False] * 3


def test_the_count_drops_the_rows_the_collection_dropped():
    feed, held = RequestFeed(), deque(maxlen=4)
    feed.refilter(held, odd)
    held.extend(rows(1, 3))
    feed.take(held)
    assert feed.matched == 2  # 1, 3
    held.extend(rows(4, 6))  # 1 and 2 fall out of the collection: 3..6 held
    assert [r["seq"] for r in feed.take(held)] == [5]
    assert feed.matched == 2 and len(feed.flags) == 4  # 3, 5


def test_refilter_recounts_everything_held_and_catches_up_the_seq():
    feed, held = RequestFeed(), rows(1, 6)
    feed.refilter(held, odd)
    assert feed.match is odd and feed.matched == 3 and feed.last_seq == 6 and feed.take(held) == []
    feed.refilter(held, None)
    assert feed.match is None and feed.matched == 6
    feed.refilter([], odd)
    assert feed.matched == 0 and feed.last_seq == 6  # nothing held: the seq stays


def test_newest_keeps_the_newest_matches_above_a_seq_oldest_first():
    feed, held = RequestFeed(), rows(1, 10)
    assert [r["seq"] for r in feed.newest(held, 3)] == [8, 9, 10]
    assert [r["seq"] for r in feed.newest(held, 100, after=7)] == [8, 9, 10]
    feed.match = odd
    assert [r["seq"] for r in feed.newest(held, 2)] == [7, 9]
    assert [r["seq"] for r in feed.newest(held, 100, after=4)] == [5, 7, 9]
    assert feed.newest(held, 100, after=10) == [] and feed.newest([], 5) == []


def test_a_restarted_source_and_reset():
    feed, held = RequestFeed(), rows(1, 5)
    feed.take(held)
    feed.shown_seq = 5
    assert not feed.restarted(held) and not feed.restarted([])
    assert feed.restarted(rows(1, 2))
    feed.reset()
    assert (feed.last_seq, feed.shown_seq, feed.matched, len(feed.flags)) == (0, 0, 0, 0)
    assert [r["seq"] for r in feed.take(rows(1, 2))] == [1, 2]
