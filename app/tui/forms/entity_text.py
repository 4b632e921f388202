"""An entity (key, team, customer) as text: the fields each kind has, one line per field for the diff,
the patch of what changed, budgets and rate limits in a table cell, and where a source's field error
(``budgets[0].period``) belongs on the form.
"""
from __future__ import annotations

import re
from datetime import datetime, timezone, tzinfo
from decimal import Decimal

from .field_text import expiry_text
from .routing_text import format_fallbacks, format_targets, format_when

PERIOD_SUFFIX = {"1d": "d", "1w": "w", "1M": "M", "1Y": "Y"}
KIND_LABEL = {"virtual_key": "key", "team": "team", "customer": "customer"}
FIELDS = {
    "customer": ("name", "budgets", "rate_limit"),
    "team": ("name", "customer", "budgets", "rate_limit", "routing", "fallbacks"),
    "virtual_key": ("name", "team", "customer", "budgets", "rate_limit", "allowed_models", "routing", "fallbacks",
                    "active", "expires_at"),
}
RATE_FIELDS = (("requests_per_minute", "requests/min"), ("tokens_per_minute", "tokens/min"),
               ("max_concurrent", "max concurrent"))
RATE_SHORT = {"requests_per_minute": "req/min", "tokens_per_minute": "tok/min", "max_concurrent": "concurrent"}


def money(amount, symbol: str) -> str:
    value = Decimal(str(amount))
    return f"{symbol}{value:,.0f}" if value == value.to_integral_value() else f"{symbol}{value:,.2f}"


def budget_text(b: dict, symbol: str) -> str:
    period = b.get("period", "")
    if b.get("rolling"):
        return f"{money(b.get('limit', 0), symbol)}/{period} rolling"
    return f"{money(b.get('limit', 0), symbol)}/{PERIOD_SUFFIX.get(period, period)}"


def budgets_text(budgets: list[dict] | None, symbol: str) -> str:
    return " · ".join(budget_text(b, symbol) for b in budgets or [])


def compact_number(n: int) -> str:
    if n >= 1_000_000 and n % 100_000 == 0:
        return f"{n / 1_000_000:g}M"
    if n >= 1000 and n % 100 == 0:
        return f"{n / 1000:g}k"
    return f"{n:,}"


def rate_text(rl: dict | None) -> str:
    rl = rl or {}
    parts = []
    if rl.get("requests_per_minute"):
        parts.append(f"{compact_number(rl['requests_per_minute'])} rpm")
    if rl.get("tokens_per_minute"):
        parts.append(f"{compact_number(rl['tokens_per_minute'])} tpm")
    if rl.get("max_concurrent"):
        parts.append(f"{rl['max_concurrent']} conc")
    return " · ".join(parts)


def display_fields(kind: str, data: dict | None, symbol: str, zone: tzinfo = timezone.utc) -> dict[str, str]:
    """An entity as the diff shows it: one line of text per field (absent = not set); an expiry as its
    instant in `zone` (the config's timezone) with the offset, so old and new compare at a glance."""
    data = data or {}
    out: dict[str, str] = {}
    for field in FIELDS[kind]:
        value = data.get(field)
        if field == "budgets":
            for i, b in enumerate(value or []):
                out[f"budget {i + 1}"] = budget_text(b, symbol)
        elif field == "rate_limit":
            for key, label in RATE_FIELDS:
                if (value or {}).get(key) is not None:
                    out[label] = f"{value[key]:,}"
        elif field == "allowed_models":
            out["allowed models"] = ", ".join(value) if value else "all models"
        elif field == "routing":
            for i, rule in enumerate(value or []):
                out[f"routing rule {i + 1}"] = (f"{format_when(rule.get('when')) or '(every request)'} → "
                                                f"{format_targets(rule.get('targets'))}")
        elif field == "fallbacks":
            if value:
                out["fallbacks"] = format_fallbacks(value)
        elif field == "active":
            out["active"] = "yes" if value is not False else "no"
        elif field == "expires_at":
            out["expires at"] = expiry_text(value, zone) if value else "never"
        elif value is not None:
            out[field] = str(value)
    return out


def _norm(value):
    """For comparing an entity's stored field with a form value: none/empty alike, 2000 == 2000.0."""
    if isinstance(value, dict):
        value = {k: _norm(v) for k, v in value.items()}
        value = {k: v for k, v in value.items() if v is not None}
        return value or None
    if isinstance(value, list):
        return [_norm(v) for v in value] or None
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _comparable(field: str, value):
    """A field's value for "did it change": an expiry is an instant (23:59-05:00 is 04:59+00:00 the next
    day: re-saving a form must not send an expiry that only changed its offset)."""
    if field == "expires_at" and isinstance(value, str):
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            return value
    return _norm(value)


def patch_of(kind: str, old: dict, new: dict) -> dict:
    """The fields whose value changes (None clears a field)."""
    return {f: new.get(f) for f in FIELDS[kind]
            if f != "name" and _comparable(f, old.get(f)) != _comparable(f, new.get(f))}


FIELD_PATH = re.compile(r"^([A-Za-z_]+)(?:\[(\d+)\])?(?:\.(.*))?$")


def error_slot(path: str) -> tuple[str, int | None, str]:
    """``budgets[0].period`` → ("budgets", 0, "period"); ``team`` → ("team", None, "")."""
    m = FIELD_PATH.match(path or "")
    if not m:
        return "", None, path or ""
    index = int(m.group(2)) if m.group(2) is not None else None
    return m.group(1), index, m.group(3) or ""
