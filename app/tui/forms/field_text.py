"""Parsing what a person typed into a form field: amounts, counts, model globs, names, times.

Each parser returns the API's value or raises FieldError, whose text goes on the line under the field.
"""
from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal, InvalidOperation

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


class FieldError(ValueError):
    """A value a person typed that cannot be used; str() says why, for the line under the field."""


def plain_number(value: Decimal) -> int | float:
    return int(value) if value == value.to_integral_value() else float(value)


def parse_amount(text: str, symbol: str = "") -> int | float:
    """A budget limit in the display currency: ``25000``, ``25,000``, ``₹25,000.50``; at least 0."""
    raw = text.strip()
    if symbol:
        raw = raw.replace(symbol.strip(), "")
    raw = raw.replace(",", "").replace("_", "").strip()
    if not raw:
        raise FieldError("required: an amount in the display currency")
    try:
        value = Decimal(raw)
    except InvalidOperation:
        raise FieldError(f"expected an amount such as 25000; got {text.strip()!r}") from None
    if not value.is_finite():
        raise FieldError(f"expected an amount such as 25000; got {text.strip()!r}")
    if value < 0:
        raise FieldError(f"a limit cannot be negative; got {text.strip()}")
    return plain_number(value)


def parse_count(text: str) -> int | None:
    """An optional whole number above 0 (rate limits): ``60``, ``100,000``, ``100k``, ``2m``; empty = none."""
    raw = text.strip().lower().replace(",", "").replace("_", "")
    if not raw:
        return None
    scale = 1
    if raw[-1] in "km":
        scale, raw = (1000 if raw[-1] == "k" else 1_000_000), raw[:-1]
    try:
        value = Decimal(raw) * scale
    except InvalidOperation:
        raise FieldError(f"expected a whole number such as 60 or 100k; got {text.strip()!r}") from None
    if not value.is_finite() or value != value.to_integral_value():
        raise FieldError(f"expected a whole number; got {text.strip()!r}")
    if value <= 0:
        raise FieldError(f"expected a whole number above 0 (empty = no limit); got {text.strip()}")
    return int(value)


def parse_globs(text: str) -> list[str] | None:
    """Comma-separated model names or globs; empty = every model."""
    items = [part.strip() for part in text.split(",")]
    items = [i for i in items if i]
    for item in items:
        if any(c.isspace() for c in item):
            raise FieldError(f"separate models with commas; {item!r} contains a space")
    return items or None


def parse_expires(text: str) -> str | None:
    raw = text.strip()
    if not raw:
        return None
    try:
        datetime.fromisoformat(raw)
    except ValueError:
        raise FieldError(f"expected an ISO 8601 time such as 2026-12-31T23:59:00+05:30; got {raw!r}") from None
    return raw


def parse_name(text: str) -> str:
    name = text.strip()
    if not name:
        raise FieldError("required: a name")
    if not NAME_RE.match(name):
        raise FieldError("use letters, digits, '.', '_' and '-' (the name appears in URLs and the key)")
    return name
