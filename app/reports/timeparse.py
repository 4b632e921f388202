"""Times given on the command line: ISO dates/times in the team's timezone, or relative (24h, 7d, 30m)."""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

RELATIVE = re.compile(r"^(\d+)([mhdw])$")
DATE_ONLY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_time(text: str | None, tz: ZoneInfo, now: datetime | None = None) -> datetime | None:
    """A UTC datetime; a date or naive time is read in `tz`. Raises ValueError with the accepted forms."""
    if not text:
        return None
    now = now or datetime.now(timezone.utc)
    try:
        m = RELATIVE.match(text.strip())
        if m:
            return now - timedelta(**{UNITS[m.group(2)]: int(m.group(1))})
        try:
            parsed = datetime.fromisoformat(text.strip())
        except ValueError:
            raise ValueError(f"cannot read time {text!r}: use 2026-11-01, 2026-11-01T09:30, or relative "
                             "30m/24h/7d/2w") from None
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=tz)
        return parsed.astimezone(timezone.utc)
    except OverflowError:  # 0001-01-01 in a zone east of UTC, 800000d ago: before the calendar starts
        raise ValueError(f"time {text!r} is out of range: use a date after year 1") from None


def parse_range(since: str | None, until: str | None, tz: ZoneInfo,
                now: datetime | None = None) -> tuple[datetime | None, datetime | None]:
    """--since and --until as UTC datetimes. A date alone as --until means through the end of that day
    (`--since 2026-11-28 --until 2026-11-28` is the whole day); a range that ends before it starts is a
    ValueError rather than an empty answer."""
    start, end = parse_time(since, tz, now), parse_time(until, tz, now)
    if end is not None and DATE_ONLY.match(until.strip()):
        try:
            day = datetime.fromisoformat(until.strip()).date() + timedelta(days=1)
        except OverflowError:  # 9999-12-31: through the end of time
            end = None
        else:
            end = datetime(day.year, day.month, day.day, tzinfo=tz).astimezone(timezone.utc)  # next local midnight
    if start is not None and end is not None and end <= start:
        raise ValueError(f"--until ({until}) is not after --since ({since}): nothing can be in that range")
    return start, end
