"""Parsing what a person typed into a form field: amounts, counts, model globs, names, times.

Each parser returns the API's value or raises FieldError, whose text goes on the line under the field.
"""
from __future__ import annotations

import re
from datetime import datetime, timezone, tzinfo
from decimal import Decimal, InvalidOperation

from ...core import config as _config  # noqa: F401 - first: config.py imports config_parse at its end, so
from ...core.config_parse import read_timestamp  # importing config_parse before config is circular

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


class FieldError(ValueError):
    """A value a person typed that cannot be used; str() says why, for the line under the field.

    `part` names the input inside a row that holds the value (``limit``, ``period``, ``when``,
    ``targets[1].provider``), in the source's path syntax, so a local error lands, and takes the focus,
    exactly where the same error from the source would."""

    def __init__(self, message: str, part: str = ""):
        super().__init__(message)
        self.part = part


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


def zone_name(zone: tzinfo) -> str:
    """``America/New_York`` for a ZoneInfo, ``UTC`` for the fixed UTC zone."""
    return getattr(zone, "key", None) or zone.tzname(None) or "UTC"


def expiry_example(zone: tzinfo) -> str:
    """The shape of an expiry with the offset `zone` has now (``YYYY-MM-DDThh:mm+05:30``): no example date,
    which would one day be in the past."""
    offset = datetime.now(zone).isoformat(timespec="minutes")[16:] or "+00:00"
    return f"YYYY-MM-DDThh:mm{offset}"


def expiry_text(value: str | None, zone: tzinfo) -> str:
    """A stored expiry as the console shows it: the instant in the config's timezone, with its offset,
    so it reads the way it was typed and is never ambiguous (``2026-12-31T23:59-05:00``)."""
    when = read_timestamp(value, zone) if value else None
    if when is None:
        return value or ""
    local = when.astimezone(zone)
    return local.isoformat(timespec="minutes" if local.second == local.microsecond == 0 else "seconds")


def parse_expires(text: str, zone: tzinfo = timezone.utc) -> str | None:
    """An expiry as ISO 8601 text with its UTC offset; empty = never. A time typed without an offset is in
    `zone`, the config's timezone: the rule of the YAML and the admin API (config_parse.read_timestamp)."""
    raw = text.strip()
    if not raw:
        return None
    when = read_timestamp(raw, zone)
    if when is None:
        raise FieldError(f"expected an ISO 8601 time such as {expiry_example(zone)}, or without the offset "
                         f"in {zone_name(zone)}; got {raw!r}")
    return expiry_text(when.isoformat(), zone)


def parse_name(text: str) -> str:
    name = text.strip()
    if not name:
        raise FieldError("required: a name")
    if not NAME_RE.match(name):
        raise FieldError("use letters, digits, '.', '_' and '-' (the name appears in URLs and the key)")
    return name
