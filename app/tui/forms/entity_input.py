"""What a key / team / customer form's inputs hold, as typed, and reading it into the entity.

No widgets: the form copies its inputs into an EntityInput, and `read_entity` parses every field,
collecting every problem at once as (path, message) in the source's path syntax (``budgets[0].period``,
``rate_limit.tokens_per_minute``), so a local message lands, and takes the focus, exactly where the same
message from the source would. It also flags routing targets and fallbacks naming a provider the gateway
does not have, and a new expiry already past.

`allowed_models_note` is no problem but a note for the diff: allowed_models patterns that match no
model the gateway knows (a typo such as ``claude-sonet-*``, or a model newer than the price table).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone, tzinfo
from typing import Iterable

from ...core.config import ROLLING_PERIOD
from ...core.known_models import unmatched_patterns
from .entity_text import FIELDS, RATE_FIELDS
from .field_text import FieldError, parse_amount, parse_count, parse_expires, parse_globs, parse_name, read_timestamp
from .routing_text import parse_fallbacks, parse_targets, parse_when, unknown_provider_problems

Problem = tuple[str, str]  # (path, message)


@dataclass
class BudgetInput:
    """One budget row: the limit typed, the calendar period chosen, rolling or not, the window typed."""
    limit: str = ""
    period: str = "1M"
    rolling: bool = False
    window: str = ""


@dataclass
class RuleInput:
    """One routing rule row: its condition text and its targets text."""
    when: str = ""
    targets: str = ""


@dataclass
class EntityInput:
    """Every input of the form as typed; fields the kind has not are ignored."""
    kind: str
    name: str = ""  # read only when creating: an edited entity keeps its name
    team: str | None = None
    customer: str | None = None
    budgets: list[BudgetInput] = field(default_factory=list)
    rate_limit: dict[str, str] = field(default_factory=dict)  # requests_per_minute ... → the text typed
    allowed_models: str = ""
    routing: list[RuleInput] = field(default_factory=list)
    fallbacks: str = ""
    active: bool = True
    expires_at: str = ""


def parse_budget(typed: BudgetInput, symbol: str = "") -> dict:
    """A budget row as the API's budget; FieldError names the part (``limit`` or ``period``)."""
    try:
        limit = parse_amount(typed.limit, symbol)
    except FieldError as exc:
        raise FieldError(str(exc), part="limit") from None
    if typed.rolling:
        window = typed.window.strip()
        if not ROLLING_PERIOD.match(window):
            raise FieldError(f"a rolling window is N hours or days such as 5h or 7d; got {window!r}", part="period")
        return {"limit": limit, "period": window, "rolling": True}
    return {"limit": limit, "period": typed.period}


def parse_rule(typed: RuleInput) -> dict:
    """A routing rule row as the API's rule; FieldError names the part (``when`` or ``targets``)."""
    try:
        when = parse_when(typed.when)
    except FieldError as exc:
        raise FieldError(str(exc), part="when") from None
    try:
        targets = parse_targets(typed.targets)
    except FieldError as exc:
        raise FieldError(str(exc), part="targets") from None
    return {"when": when, "targets": targets}


def checked_expiry(text: str, zone: tzinfo, before: str | None = None, now: datetime | None = None) -> str | None:
    """The typed expiry, refused when it is a new time already past (the key would be refused at once);
    an expiry left as it was (`before`, the stored one) stays, past or not."""
    value = parse_expires(text, zone)
    if value is None:
        return None
    when = datetime.fromisoformat(value)
    now = now or datetime.now(timezone.utc)
    if when <= now and not (before and read_timestamp(before, zone) == when):
        raise FieldError("that time has passed: the key would be refused at once (leave empty for never)")
    return value


def read_entity(typed: EntityInput, *, original: dict | None = None, symbol: str = "",
                zone: tzinfo = timezone.utc, providers: set[str] | None = None,
                now: datetime | None = None) -> tuple[dict, list[Problem]]:
    """(the entity as the form says, every problem found). `original`: the entity being edited (None:
    creating); `providers`: the gateway's provider names, to check routing targets and fallbacks (None:
    unknown, not checked); `now`: for "that expiry has passed" (default: the clock)."""
    problems: list[Problem] = []
    data: dict = {}
    fields = FIELDS[typed.kind]

    def take(slot: str, parse: Callable[[], object]):
        try:
            return parse()
        except FieldError as exc:
            problems.append((f"{slot}.{exc.part}" if exc.part else slot, str(exc)))
            return None

    data["name"] = take("name", lambda: parse_name(typed.name)) if original is None else original["name"]
    for name in ("team", "customer"):
        if name in fields:
            data[name] = getattr(typed, name)
    data["budgets"] = [take(f"budgets[{i}]", lambda b=b: parse_budget(b, symbol)) for i, b in enumerate(typed.budgets)]
    rate_limit = {}
    for key, _ in RATE_FIELDS:
        value = take(f"rate_limit.{key}", lambda key=key: parse_count(typed.rate_limit.get(key, "")))
        if value is not None:
            rate_limit[key] = value
    data["rate_limit"] = rate_limit or None
    if "allowed_models" in fields:
        data["allowed_models"] = take("allowed_models", lambda: parse_globs(typed.allowed_models))
    if "routing" in fields:
        data["routing"] = [take(f"routing[{i}]", lambda r=r: parse_rule(r)) for i, r in enumerate(typed.routing)]
        data["fallbacks"] = take("fallbacks", lambda: parse_fallbacks(typed.fallbacks))
        if providers is not None:
            problems.extend(unknown_provider_problems(data["routing"], data["fallbacks"], providers))
    if "active" in fields:
        data["active"] = typed.active
        before = (original or {}).get("expires_at")
        data["expires_at"] = take("expires_at", lambda: checked_expiry(typed.expires_at, zone, before, now))
    return data, problems


def allowed_models_note(patterns: list[str] | None, known: Iterable[str] | None) -> str:
    """The diff's note when a save sets allowed_models patterns that match no model the gateway knows
    (core/known_models.py); "" when all match, or when the gateway's models are not known (None)."""
    if not patterns or known is None:
        return ""
    unmatched = unmatched_patterns(patterns, known)
    if not unmatched:
        return ""
    listed = ", ".join(repr(p) for p in unmatched)
    verb = "matches" if len(unmatched) == 1 else "match"
    return (f"allowed models: {listed} {verb} no model the gateway knows (price table, providers' models): "
            "a typo? The key is refused for every model it does not match. Fine if the model is newer than "
            "the price table.")
