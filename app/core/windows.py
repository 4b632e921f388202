"""Budget-window arithmetic: calendar and rolling windows, DST-safe.

Calendar periods (``1d``, ``1w``, ``1M``, ``1Y``) start at a local wall-clock
midnight in the configured IANA zone, converted to UTC; a day may therefore be
23 or 25 hours long. A local midnight that does not exist (a zone that springs
forward at 00:00) resolves to the first existing instant after it. Rolling
periods (``Nh``, ``Nd`` with ``rolling=True``) cover the last N hours/days.

Pure stdlib: no I/O, no framework imports.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

__all__ = ["Period", "Window", "format_reset", "parse_period"]

UTC = timezone.utc
_ONE_DAY = timedelta(days=1)
_PERIOD_RE = re.compile(r"(\d+)([A-Za-z]+)")
_CALENDAR = {"d": "Daily", "w": "Weekly", "M": "Monthly", "Y": "Yearly"}
_ROLLING = {"h": ("hour", timedelta(hours=1)), "d": ("day", timedelta(days=1))}


@dataclass(frozen=True, slots=True)
class Window:
    start: datetime  # UTC, inclusive
    end: datetime  # UTC, exclusive; for rolling windows end == now
    rolling: bool
    key: str  # stable id: "1M:2026-11", "1d:2026-11-26", "1w:2026-W48", "1Y:2026", "rolling:5h"


def parse_period(period: str, rolling: bool) -> Period:
    """Validate a period string such as ``1M`` or (with ``rolling``) ``5h``."""
    text = (period or "").strip()
    if not text:
        raise ValueError("budget period is empty; use 1d, 1w, 1M or 1Y (or Nh / Nd with rolling: true)")
    m = _PERIOD_RE.fullmatch(text)
    if m is None:
        raise ValueError(f"budget period {period!r} is not <number><unit>, e.g. 1d, 1w, 1M, 1Y, 5h")
    count, unit = int(m.group(1)), m.group(2)
    if count <= 0:
        raise ValueError(f"budget period {period!r}: the count must be at least 1")
    if rolling:
        if unit not in _ROLLING:
            raise ValueError(
                f"rolling budget period {period!r}: a rolling window must be in hours or days (Nh / Nd)")
    elif unit not in _CALENDAR:
        hint = " (did you mean 'M' for month?)" if unit == "m" else ""
        if unit in _ROLLING:
            hint = f"; {count}{unit} is only valid as a rolling window (set rolling: true)"
        raise ValueError(f"budget period {period!r}: unknown calendar unit {unit!r}{hint}; use 1d, 1w, 1M or 1Y")
    elif count != 1:
        hint = "; set rolling: true for a rolling window of N days" if unit == "d" else ""
        raise ValueError(f"calendar budget period {period!r}: only 1{unit} is supported{hint}")
    return Period(text=f"{count}{unit}", rolling=rolling, unit=unit, count=count)


@dataclass(frozen=True, slots=True)
class Period:
    text: str
    rolling: bool
    unit: str
    count: int

    def window_at(self, now: datetime, tz: ZoneInfo) -> Window:
        """The window containing ``now`` (tz-aware); datetimes returned in UTC."""
        now = _utc(now)
        if self.rolling:
            span = _ROLLING[self.unit][1] * self.count
            return Window(start=now - span, end=now, rolling=True, key=f"rolling:{self.text}")
        d = self._floor(now.astimezone(tz).date())
        start, end = _midnight(d, tz), _midnight(self._next(d), tz)
        # Guard against odd historical transitions that move the wall clock
        # back across midnight: choose the window by its UTC boundaries.
        while now < start:
            d = self._floor(d - _ONE_DAY)
            start, end = _midnight(d, tz), start
        while now >= end:
            d = self._next(d)
            start, end = end, _midnight(self._next(d), tz)
        return Window(start=start, end=end, rolling=False, key=f"{self.text}:{self._key(d)}")

    def resets_at(self, now: datetime, tz: ZoneInfo) -> datetime | None:
        """When the current calendar window ends; ``None`` for rolling windows."""
        return None if self.rolling else self.window_at(now, tz).end

    def label(self) -> str:
        if self.rolling:
            return f"Rolling {self.count}-{_ROLLING[self.unit][0]}"
        return _CALENDAR[self.unit]

    # -- calendar helpers (local dates) --------------------------------------
    def _floor(self, d: date) -> date:
        if self.unit == "w":
            return d - timedelta(days=d.weekday())
        if self.unit == "M":
            return d.replace(day=1)
        if self.unit == "Y":
            return d.replace(month=1, day=1)
        return d

    def _next(self, d: date) -> date:
        if self.unit == "w":
            return d + timedelta(days=7)
        if self.unit == "M":
            return date(d.year + d.month // 12, d.month % 12 + 1, 1)
        if self.unit == "Y":
            return date(d.year + 1, 1, 1)
        return d + _ONE_DAY

    def _key(self, d: date) -> str:
        if self.unit == "w":
            iso = d.isocalendar()
            return f"{iso.year}-W{iso.week:02d}"
        if self.unit == "M":
            return f"{d.year:04d}-{d.month:02d}"
        if self.unit == "Y":
            return f"{d.year:04d}"
        return d.isoformat()


def _utc(instant: datetime) -> datetime:
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise ValueError("datetime must be timezone-aware")
    return instant.astimezone(UTC)


def _midnight(d: date, tz: ZoneInfo) -> datetime:
    """UTC instant of local midnight starting ``d``; the first existing instant
    after it when that midnight falls in a DST gap; the earlier one if repeated."""
    wall = datetime(d.year, d.month, d.day)
    candidate = wall.replace(tzinfo=tz).astimezone(UTC)  # fold=0: earlier / pre-gap offset
    if candidate.astimezone(tz).replace(tzinfo=None) == wall:
        return candidate
    # In a gap: fold=1 lands before the transition, fold=0 at or after it.
    lo = int(wall.replace(tzinfo=tz, fold=1).astimezone(UTC).timestamp())
    hi = int(candidate.timestamp())
    while hi - lo > 1:  # transitions fall on whole seconds
        mid = (lo + hi) // 2
        if datetime.fromtimestamp(mid, tz).replace(tzinfo=None) >= wall:
            hi = mid
        else:
            lo = mid
    return datetime.fromtimestamp(hi, UTC)


def format_reset(instant: datetime, tz: ZoneInfo) -> str:
    """``2026-12-01 00:00 IST``; numeric abbreviations become ``UTC+05:30``."""
    local = _utc(instant).astimezone(tz)
    abbr = local.tzname() or ""
    if not abbr or abbr[0] in "+-" or abbr[0].isdigit():
        abbr = "UTC" + _offset(local.utcoffset() or timedelta(0))
    return f"{local:%Y-%m-%d %H:%M} {abbr}"


def _offset(off: timedelta) -> str:
    sign = "-" if off < timedelta(0) else "+"
    secs = abs(int(off.total_seconds()))
    h, rem = divmod(secs, 3600)
    m, s = divmod(rem, 60)
    return f"{sign}{h:02d}:{m:02d}" + (f":{s:02d}" if s else "")
