"""The entity form's input read into an entity without any app or widget (app/tui/forms/entity_input.py):
every problem at once, in the source's path syntax; unknown providers; a past expiry; the diff's note
on allowed_models patterns that match no known model."""
from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from app.tui.forms.entity_input import (BudgetInput, EntityInput, RuleInput, allowed_models_note, checked_expiry,
                                        parse_budget, parse_rule, read_entity)
from app.tui.forms.field_text import FieldError

NEW_YORK = ZoneInfo("America/New_York")
NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def test_a_new_key_with_every_field():
    typed = EntityInput("virtual_key", name=" dev-new ", team="backend",
                        budgets=[BudgetInput("₹1,500", "1w"), BudgetInput("200", rolling=True, window=" 5h ")],
                        rate_limit={"requests_per_minute": "120", "tokens_per_minute": "100k"},
                        allowed_models="claude-sonnet-*, claude-haiku-*",
                        routing=[RuleInput("model=claude-haiku-* tools=false", "sim:claude-haiku-4-5*3, anthropic")],
                        fallbacks="anthropic:claude-sonnet-4-5, sim", active=False, expires_at="2026-12-31T23:59")
    data, problems = read_entity(typed, symbol="₹", zone=NEW_YORK, providers={"sim", "anthropic"}, now=NOW)
    assert problems == []
    assert data == {
        "name": "dev-new", "team": "backend", "customer": None,
        "budgets": [{"limit": 1500, "period": "1w"}, {"limit": 200, "period": "5h", "rolling": True}],
        "rate_limit": {"requests_per_minute": 120, "tokens_per_minute": 100_000},
        "allowed_models": ["claude-sonnet-*", "claude-haiku-*"],
        "routing": [{"when": {"model": "claude-haiku-*", "tools": False},
                     "targets": [{"provider": "sim", "model": "claude-haiku-4-5", "weight": 3},
                                 {"provider": "anthropic", "weight": 1}]}],
        "fallbacks": [{"provider": "anthropic", "model": "claude-sonnet-4-5"}, {"provider": "sim"}],
        "active": False, "expires_at": "2026-12-31T23:59-05:00",  # no offset typed: the config's timezone
    }


def test_only_the_fields_of_the_kind():
    data, problems = read_entity(EntityInput("customer", name="acme", team="ignored", allowed_models="x",
                                             fallbacks="nowhere", expires_at="garbage"))
    assert problems == [] and data == {"name": "acme", "budgets": [], "rate_limit": None}
    data, _ = read_entity(EntityInput("team", name="web", customer="acme"))
    assert data == {"name": "web", "customer": "acme", "budgets": [], "rate_limit": None, "routing": [],
                    "fallbacks": []}


def test_every_problem_at_once_in_the_sources_paths():
    typed = EntityInput("virtual_key", name="bad key",
                        budgets=[BudgetInput("-5"), BudgetInput("100", rolling=True, window="2x")],
                        rate_limit={"requests_per_minute": "0", "tokens_per_minute": "lots", "max_concurrent": "1.5"},
                        allowed_models="claude sonnet",
                        routing=[RuleInput("modle=claude-*", "sim"), RuleInput("", "")],
                        fallbacks="sim*2", expires_at="next tuesday")
    data, problems = read_entity(typed, zone=NEW_YORK, now=NOW)
    paths = [path for path, _ in problems]
    assert paths == ["name", "budgets[0].limit", "budgets[1].period", "rate_limit.requests_per_minute",
                     "rate_limit.tokens_per_minute", "rate_limit.max_concurrent", "allowed_models",
                     "routing[0].when", "routing[1].targets", "fallbacks", "expires_at"]
    messages = dict(problems)
    assert "letters, digits" in messages["name"] and "cannot be negative" in messages["budgets[0].limit"]
    assert "'2x'" in messages["budgets[1].period"] and "unknown condition 'modle'" in messages["routing[0].when"]
    assert "take no weight" in messages["fallbacks"] and "America/New_York" in messages["expires_at"]
    assert data["budgets"] == [None, None] and data["routing"] == [None, None]  # the rows still line up


def test_an_edit_keeps_the_name_and_an_unchanged_past_expiry():
    original = {"name": "dev-a", "expires_at": "2020-01-01T05:00:00+00:00"}
    typed = EntityInput("virtual_key", name="ignored", expires_at="2020-01-01T00:00-05:00")
    data, problems = read_entity(typed, original=original, zone=NEW_YORK, now=NOW)
    assert problems == [] and data["name"] == "dev-a" and data["expires_at"] == "2020-01-01T00:00-05:00"
    # a new time already past is refused: the key would be refused at once
    _, problems = read_entity(EntityInput("virtual_key", expires_at="2021-01-01T00:00"), original=original,
                              zone=NEW_YORK, now=NOW)
    assert [p for p, _ in problems] == ["expires_at"] and "has passed" in problems[0][1]


def test_unknown_providers_only_when_the_providers_are_known():
    typed = EntityInput("team", name="web", routing=[RuleInput("", "sim*3, yesterday*1")], fallbacks="sim, tomorrow")
    _, problems = read_entity(typed, providers={"sim"})
    assert problems == [("routing[0].targets[1].provider", "no provider named 'yesterday'; providers: sim"),
                        ("fallbacks[1].provider", "no provider named 'tomorrow'; providers: sim")]
    assert read_entity(typed, providers=None)[1] == []  # the source checks again on save


def test_row_parsers_name_the_part_at_fault():
    assert parse_budget(BudgetInput("$25,000.50", "1M"), "$") == {"limit": 25000.5, "period": "1M"}
    with pytest.raises(FieldError) as exc:
        parse_budget(BudgetInput(""))
    assert exc.value.part == "limit"
    assert parse_rule(RuleInput("", "sim")) == {"when": {}, "targets": [{"provider": "sim", "weight": 1}]}
    with pytest.raises(FieldError) as exc:
        parse_rule(RuleInput("tools=maybe", "sim"))
    assert exc.value.part == "when"


def test_checked_expiry():
    assert checked_expiry("  ", NEW_YORK, now=NOW) is None
    assert checked_expiry("2026-07-01T12:00", NEW_YORK, now=NOW) == "2026-07-01T12:00-04:00"
    with pytest.raises(FieldError, match="has passed"):
        checked_expiry("2026-06-01T08:00", NEW_YORK, now=NOW)  # 12:00 UTC: exactly now


def test_allowed_models_note():
    known = ["claude-sonnet-4-5", "claude-haiku-4-5", "gpt-4o"]
    assert allowed_models_note(["claude-sonnet-*", "gpt-4o"], known) == ""
    note = allowed_models_note(["claude-sonet-*", "claude-haiku-*"], known)
    assert "'claude-sonet-*' matches no model the gateway knows" in note and "haiku" not in note
    note = allowed_models_note(["claude-sonet-*", "gtp-4o"], known)
    assert "'claude-sonet-*', 'gtp-4o' match no model" in note
    assert allowed_models_note(["claude-sonet-*"], None) == ""  # the gateway's models unknown: no note
    assert allowed_models_note(None, known) == ""
