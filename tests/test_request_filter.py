"""The Requests tail's `/` filter (app/tui/request_filter.py): text to a predicate over a request row."""
from __future__ import annotations

from app.tui.request_filter import make_matcher

ROW = {"key": "asha", "team": "Platform", "requested_model": "claude-sonnet-4-5",
       "served_model": "claude-haiku-4-5", "provider": "bedrock", "status": "error", "error_type": "overloaded"}


def test_an_empty_filter_is_no_filter():
    for text in ("", "   ", "!", " ! "):
        assert make_matcher(text) is None


def test_a_case_insensitive_substring_of_any_field():
    for text in ("ASHA", "platform", "sonnet", "haiku", "bedrock", "error", "overload", "  asha  "):
        assert make_matcher(text)(ROW), text
    assert not make_matcher("openai")(ROW)


def test_bang_inverts():
    assert not make_matcher("!asha")(ROW) and not make_matcher("! asha")(ROW)
    assert make_matcher("!openai")(ROW)


def test_missing_and_empty_fields_match_nothing_and_a_needle_never_spans_two_fields():
    sparse = {"key": "li", "team": None, "provider": "sim"}
    assert make_matcher("li")(sparse) and not make_matcher("none")(sparse)
    assert not make_matcher("lisim")(sparse) and not make_matcher("ashaplatform")(ROW)


def test_other_fields_are_not_searched():
    assert not make_matcher("req-1")({"id": "req-1", "key": "asha"})
