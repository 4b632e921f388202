"""The Requests tail's title (app/tui/request_title.py)."""
from __future__ import annotations

from app.tui.request_title import requests_title


def plain(**kw) -> str:
    args = dict(shown=10, held=12, matching=None, filter_text="", paused=False, unseen=0) | kw
    return requests_title(**args).plain


def test_unfiltered_and_following():
    assert plain() == "Requests [2]  showing 10 of 12  following"
    assert plain(shown=1000, held=3610) == "Requests [2]  showing 1,000 of 3,610  following"


def test_filtered_counts_the_matches():
    assert plain(shown=3, matching=3, filter_text="asha") == \
        "Requests [2]  showing 3 of 3 matching (of 12)  filter asha  following"
    assert plain(filter_text="!") == "Requests [2]  showing 10 of 12  filter !  following"  # no predicate


def test_paused_with_and_without_new_rows():
    assert plain(paused=True) == "Requests [2]  showing 10 of 12  PAUSED"
    assert plain(paused=True, unseen=1234) == "Requests [2]  showing 10 of 12  PAUSED +1,234 new"
    assert plain(unseen=5) == "Requests [2]  showing 10 of 12  following"  # counted only while paused


def test_styles():
    title = requests_title(shown=1, held=1, matching=1, filter_text="li", paused=True, unseen=2)
    styles = {title.plain[s.start:s.end]: str(s.style) for s in title.spans}
    assert styles == {"li": "bold yellow", "  PAUSED": "bold reverse", " +2 new": "bold yellow"}
    assert str(title.style) == "bold"
