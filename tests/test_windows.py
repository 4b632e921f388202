"""Budget-window arithmetic: calendar windows in an IANA zone, rolling windows."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.core.windows import Period, Window, format_reset, parse_period

UTC = timezone.utc
US = timedelta(microseconds=1)
DAILY = parse_period("1d", False)
WEEKLY = parse_period("1w", False)
MONTHLY = parse_period("1M", False)
YEARLY = parse_period("1Y", False)
CALENDAR = [DAILY, WEEKLY, MONTHLY, YEARLY]
ZONES = ["Asia/Kolkata", "America/New_York", "Europe/London", "Australia/Lord_Howe",
         "Pacific/Chatham", "America/Santiago", "America/Havana", "Asia/Beirut", "UTC"]


def local(tz: str, *args: int) -> datetime:
    return datetime(*args, tzinfo=ZoneInfo(tz))


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


# -- table tests ----------------------------------------------------------------

@pytest.mark.parametrize("now, start, end, key", [
    # month ends: 31st -> 1st
    (utc(2026, 1, 31, 23, 59, 59), utc(2026, 1, 1), utc(2026, 2, 1), "1M:2026-01"),
    (utc(2026, 2, 1), utc(2026, 2, 1), utc(2026, 3, 1), "1M:2026-02"),
    # February: leap 2028 has the 29th, 2027 ends on the 28th
    (utc(2028, 2, 29, 12), utc(2028, 2, 1), utc(2028, 3, 1), "1M:2028-02"),
    (utc(2027, 2, 28, 23, 59), utc(2027, 2, 1), utc(2027, 3, 1), "1M:2027-02"),
    # December -> January of the next year
    (utc(2026, 12, 31, 23, 59, 59, 999999), utc(2026, 12, 1), utc(2027, 1, 1), "1M:2026-12"),
    (utc(2027, 1, 1), utc(2027, 1, 1), utc(2027, 2, 1), "1M:2027-01"),
])
def test_month_boundaries_utc(now, start, end, key):
    assert MONTHLY.window_at(now, ZoneInfo("UTC")) == Window(start, end, False, key)


def test_month_is_a_real_month_not_30_days():
    w = MONTHLY.window_at(utc(2026, 1, 15), ZoneInfo("UTC"))
    assert w.end - w.start == timedelta(days=31)
    w = MONTHLY.window_at(utc(2027, 2, 15), ZoneInfo("UTC"))
    assert w.end - w.start == timedelta(days=28)


def test_week_starts_monday_and_sunday_night_belongs_to_previous_monday():
    tz = ZoneInfo("Europe/London")
    sunday_night = local("Europe/London", 2026, 11, 29, 23, 59)  # Sunday
    w = WEEKLY.window_at(sunday_night, tz)
    assert w.start == utc(2026, 11, 23)  # Monday 23 Nov 00:00 GMT
    assert w.end == utc(2026, 11, 30)
    assert w.key == "1w:2026-W48"
    monday = WEEKLY.window_at(local("Europe/London", 2026, 11, 30), tz)
    assert monday.start == w.end and monday.key == "1w:2026-W49"


def test_week_key_uses_iso_year_of_the_monday():
    # Monday 2024-12-30 starts ISO week 2025-W01
    w = WEEKLY.window_at(utc(2025, 1, 1, 12), ZoneInfo("UTC"))
    assert w.start == utc(2024, 12, 30) and w.key == "1w:2025-W01"


def test_year_boundary():
    tz = ZoneInfo("America/New_York")
    w = YEARLY.window_at(local("America/New_York", 2026, 12, 31, 23, 59, 59), tz)
    assert w.key == "1Y:2026"
    assert w.start == utc(2026, 1, 1, 5) and w.end == utc(2027, 1, 1, 5)
    nxt = YEARLY.window_at(w.end, tz)
    assert nxt.key == "1Y:2027" and nxt.start == w.end
    d = DAILY.window_at(local("America/New_York", 2026, 12, 31, 23, 59, 59), tz)
    assert d.key == "1d:2026-12-31" and d.end == utc(2027, 1, 1, 5)


def test_kolkata_half_hour_offset():
    tz = ZoneInfo("Asia/Kolkata")
    now = utc(2026, 11, 30, 18, 29, 59)  # 23:59:59 IST on 30 Nov
    w = MONTHLY.window_at(now, tz)
    assert w.key == "1M:2026-11"
    assert w.start == utc(2026, 10, 31, 18, 30)
    assert w.end == utc(2026, 11, 30, 18, 30)  # local midnight 1 Dec
    assert MONTHLY.resets_at(now, tz) == w.end
    nxt = MONTHLY.window_at(utc(2026, 11, 30, 18, 30), tz)
    assert nxt.key == "1M:2026-12" and nxt.start == w.end
    day = DAILY.window_at(utc(2026, 11, 30, 18, 30), tz)
    assert day.key == "1d:2026-12-01" and day.start == utc(2026, 11, 30, 18, 30)


def test_new_york_dst_days_are_23_and_25_hours():
    tz = ZoneInfo("America/New_York")
    spring = DAILY.window_at(local("America/New_York", 2026, 3, 8, 12), tz)
    assert spring.key == "1d:2026-03-08"
    assert spring.start == utc(2026, 3, 8, 5) and spring.end == utc(2026, 3, 9, 4)
    assert spring.end - spring.start == timedelta(hours=23)
    fall = DAILY.window_at(local("America/New_York", 2026, 11, 1, 12), tz)
    assert fall.key == "1d:2026-11-01"
    assert fall.start == utc(2026, 11, 1, 4) and fall.end == utc(2026, 11, 2, 5)
    assert fall.end - fall.start == timedelta(hours=25)
    # both passes through the repeated 01:xx hour are in the same day
    first = datetime(2026, 11, 1, 1, 30, tzinfo=tz)
    second = first.replace(fold=1)
    assert DAILY.window_at(first, tz) == DAILY.window_at(second, tz) == fall


def test_europe_london():
    tz = ZoneInfo("Europe/London")
    summer = DAILY.window_at(utc(2026, 7, 1, 23, 30), tz)  # 00:30 BST 2 July
    assert summer.key == "1d:2026-07-02" and summer.start == utc(2026, 7, 1, 23)
    spring = DAILY.window_at(utc(2026, 3, 29, 12), tz)
    assert spring.end - spring.start == timedelta(hours=23)
    m = MONTHLY.window_at(utc(2026, 4, 15), tz)
    assert m.start == utc(2026, 3, 31, 23) and m.end == utc(2026, 4, 30, 23)


def test_missing_midnight_resolves_to_first_instant_after():
    # America/Santiago springs forward at 24:00 Saturday: Sunday 6 Sept 2026
    # 00:00 -04 does not exist; the day starts at 01:00 -03 == 04:00 UTC.
    tz = ZoneInfo("America/Santiago")
    w = DAILY.window_at(utc(2026, 9, 6, 12), tz)
    assert w.key == "1d:2026-09-06"
    assert w.start == utc(2026, 9, 6, 4)
    assert w.start.astimezone(tz).replace(tzinfo=None) == datetime(2026, 9, 6, 1)
    assert w.end == utc(2026, 9, 7, 3)
    assert w.end - w.start == timedelta(hours=23)
    prev = DAILY.window_at(w.start - US, tz)
    assert prev.key == "1d:2026-09-05" and prev.end == w.start
    assert prev.end - prev.start == timedelta(hours=24)
    # Havana: Sunday 8 March 2026 00:00 CST is skipped, 01:00 CDT == 05:00 UTC
    havana = DAILY.window_at(utc(2026, 3, 8, 12), ZoneInfo("America/Havana"))
    assert havana.start == utc(2026, 3, 8, 5) and havana.key == "1d:2026-03-08"


def test_midnight_in_the_middle_of_a_gap():
    # Pacific/Apia skipped 30 Dec 2011 entirely: the day after 29 Dec is 31 Dec.
    tz = ZoneInfo("Pacific/Apia")
    w = DAILY.window_at(local("Pacific/Apia", 2011, 12, 29, 12), tz)
    nxt = DAILY.window_at(w.end, tz)
    assert nxt.start == w.end and nxt.key == "1d:2011-12-31"
    assert nxt.start.astimezone(tz).replace(tzinfo=None) == datetime(2011, 12, 31)


def test_midnight_strictly_inside_a_gap():
    # Toronto 31 Mar 1919: 23:30 EST -> 00:30 EDT; the day starts at 00:30 local,
    # not at 01:00 (which is what the naive fold=0 conversion would give).
    tz = ZoneInfo("America/Toronto")
    w = DAILY.window_at(utc(1919, 3, 31, 12), tz)
    assert w.key == "1d:1919-03-31" and w.start == utc(1919, 3, 31, 4, 30)
    assert w.start.astimezone(tz).replace(tzinfo=None) == datetime(1919, 3, 31, 0, 30)
    assert DAILY.window_at(w.start - US, tz).key == "1d:1919-03-30"


def test_fall_back_across_midnight():
    # St John's 25 Oct 1987: 00:01 NDT -> 23:01 NST, so 23:01..23:59 of the 24th
    # is lived twice, the second time after the 25th has begun. Those instants
    # belong to the window that contains them by UTC boundaries: the 25th.
    tz = ZoneInfo("America/St_Johns")
    repeated = datetime(1987, 10, 24, 23, 30, tzinfo=tz, fold=1)
    w = DAILY.window_at(repeated, tz)
    assert w.key == "1d:1987-10-25" and w.start <= repeated < w.end
    assert w.start == datetime(1987, 10, 25, tzinfo=tz).astimezone(UTC)
    assert DAILY.window_at(w.start - US, tz).end == w.start
    # weeks too: 25 Oct 1987 was a Sunday, so the repeated hour is in that week
    assert WEEKLY.window_at(repeated, tz).key == "1w:1987-W43"


def test_utc_day():
    w = DAILY.window_at(datetime(2026, 11, 26, 13, 5, tzinfo=timezone(timedelta(hours=-8))),
                        ZoneInfo("UTC"))
    assert w == Window(utc(2026, 11, 26), utc(2026, 11, 27), False, "1d:2026-11-26")


def test_rolling_window():
    p = parse_period("5h", True)
    now = local("Asia/Kolkata", 2026, 11, 26, 10)
    w = p.window_at(now, ZoneInfo("Asia/Kolkata"))
    assert w == Window(utc(2026, 11, 25, 23, 30), utc(2026, 11, 26, 4, 30), True, "rolling:5h")
    assert w.end.tzinfo == UTC
    assert p.resets_at(now, ZoneInfo("UTC")) is None
    seven = parse_period("7d", True).window_at(now, ZoneInfo("America/New_York"))
    assert seven.end - seven.start == timedelta(days=7) and seven.key == "rolling:7d"


def test_labels():
    assert [p.label() for p in CALENDAR] == ["Daily", "Weekly", "Monthly", "Yearly"]
    assert parse_period("5h", True).label() == "Rolling 5-hour"
    assert parse_period("7d", True).label() == "Rolling 7-day"


def test_naive_now_is_rejected():
    with pytest.raises(ValueError, match="timezone-aware"):
        DAILY.window_at(datetime(2026, 1, 1), ZoneInfo("UTC"))


# -- parse_period -----------------------------------------------------------------

def test_parse_period_ok():
    assert parse_period("1M", False) == Period("1M", False, "M", 1)
    assert parse_period(" 5h ", True) == Period("5h", True, "h", 5)


@pytest.mark.parametrize("text, rolling, match", [
    ("2d", False, "rolling"),
    ("5h", False, "rolling"),
    ("0h", True, "at least 1"),
    ("5x", True, "hours or days"),
    ("5x", False, "unknown calendar unit 'x'"),
    ("", False, "empty"),
    ("   ", True, "empty"),
    ("h", True, "<number><unit>"),
    ("1.5h", True, "<number><unit>"),
    ("-1d", True, "<number><unit>"),
    ("1m", False, "'M' for month"),
    ("2M", False, "only 1M"),
    ("1M", True, "hours or days"),
])
def test_parse_period_errors(text, rolling, match):
    with pytest.raises(ValueError, match=match):
        parse_period(text, rolling)


# -- format_reset -------------------------------------------------------------------

def test_format_reset():
    assert format_reset(utc(2026, 11, 30, 18, 30), ZoneInfo("Asia/Kolkata")) == "2026-12-01 00:00 IST"
    assert format_reset(utc(2026, 12, 1), ZoneInfo("UTC")) == "2026-12-01 00:00 UTC"
    assert format_reset(utc(2026, 7, 1, 4), ZoneInfo("America/New_York")) == "2026-07-01 00:00 EDT"
    # zones whose abbreviation is numeric get a UTC offset instead
    assert format_reset(utc(2026, 9, 6, 4), ZoneInfo("America/Santiago")) == "2026-09-06 01:00 UTC-03:00"
    assert format_reset(utc(2026, 7, 1), ZoneInfo("Australia/Lord_Howe")) == "2026-07-01 10:30 UTC+10:30"
    assert format_reset(utc(2026, 1, 1), ZoneInfo("Pacific/Chatham")) == "2026-01-01 13:45 UTC+13:45"


# -- properties -----------------------------------------------------------------------

LO, HI = utc(1970, 1, 1), utc(2100, 1, 1)
instants = st.integers(int(LO.timestamp() * 1e6), int(HI.timestamp() * 1e6)).map(
    lambda us: LO + timedelta(microseconds=us - int(LO.timestamp() * 1e6)))
zones = st.sampled_from(ZONES).map(ZoneInfo)
periods = st.sampled_from(CALENDAR)


def first_wall_at_or_after(start: datetime, tz: ZoneInfo, wall: datetime) -> bool:
    """``start`` is the first instant whose local wall clock reads >= ``wall``."""
    return (start.astimezone(tz).replace(tzinfo=None) >= wall
            and (start - US).astimezone(tz).replace(tzinfo=None) < wall)


def check_window(p: Period, now: datetime, tz: ZoneInfo) -> Window:
    w = p.window_at(now, tz)
    assert w.start.tzinfo == UTC and w.end.tzinfo == UTC and not w.rolling
    assert w.start <= now < w.end
    assert p.resets_at(now, tz) == w.end
    assert p.window_at(w.start, tz) == w
    assert p.window_at(w.end - US, tz) == w
    nxt = p.window_at(w.end, tz)
    assert nxt.start == w.end and nxt.key != w.key
    prev = p.window_at(w.start - US, tz)
    assert prev.end == w.start and prev.key != w.key
    # local shape of the start, derived from the key
    label = w.key.split(":", 1)[1]
    ls = w.start.astimezone(tz)
    if p.unit == "d":
        assert first_wall_at_or_after(w.start, tz, datetime.fromisoformat(label))
    elif p.unit == "w":
        assert ls.weekday() == 0 and ls.isocalendar()[:2] == tuple(map(int, label.split("-W")))
        assert first_wall_at_or_after(w.start, tz, datetime(ls.year, ls.month, ls.day))
    elif p.unit == "M":
        assert ls.day == 1 and f"{ls.year:04d}-{ls.month:02d}" == label
        assert first_wall_at_or_after(w.start, tz, datetime(ls.year, ls.month, 1))
    else:
        assert (ls.month, ls.day, ls.year) == (1, 1, int(label))
        assert first_wall_at_or_after(w.start, tz, datetime(ls.year, 1, 1))
    return w


@settings(max_examples=600, deadline=None)
@given(p=periods, now=instants, tz=zones)
def test_calendar_window_properties(p, now, tz):
    check_window(p, now, tz)


@settings(max_examples=300, deadline=None)
@given(p=periods, now=instants, tz=zones, hours=st.integers(-3, 3), us=st.integers(-1, 1))
def test_properties_near_boundaries(p, now, tz, hours, us):
    """Instants within a few hours of a window boundary, where DST bites."""
    edge = p.window_at(now, tz).end + timedelta(hours=hours, microseconds=us)
    check_window(p, edge, tz)


@settings(max_examples=300, deadline=None)
@given(now=instants, tz=zones, p=periods)
def test_key_is_stable_within_a_window(now, tz, p):
    w = p.window_at(now, tz)
    mid = w.start + (w.end - w.start) / 2
    assert p.window_at(mid, tz).key == w.key
    assert p.window_at(now.astimezone(tz), tz) == w  # same instant, other tzinfo


@settings(max_examples=300, deadline=None)
@given(now=instants, tz=zones, n=st.integers(1, 72), unit=st.sampled_from(["h", "d"]))
def test_rolling_window_properties(now, tz, n, unit):
    p = parse_period(f"{n}{unit}", True)
    w = p.window_at(now, tz)
    assert w.end == now and w.rolling and w.key == f"rolling:{n}{unit}"
    assert w.end - w.start == (timedelta(hours=n) if unit == "h" else timedelta(days=n))
    assert p.resets_at(now, tz) is None


@pytest.mark.parametrize("zone", ["America/Santiago", "America/Havana", "Asia/Beirut",
                                  "America/Toronto", "America/St_Johns",
                                  "Australia/Lord_Howe", "Pacific/Chatham", "America/New_York"])
def test_every_day_1970_2100_is_contiguous(zone):
    """Walk every daily window so every DST transition in range is exercised."""
    tz = ZoneInfo(zone)
    w = DAILY.window_at(utc(1900, 1, 1), tz)
    lengths = set()
    while w.start < HI:
        nxt = DAILY.window_at(w.end, tz)
        assert nxt.start == w.end and nxt.key != w.key
        lengths.add(w.end - w.start)
        assert first_wall_at_or_after(nxt.start, tz, datetime.fromisoformat(nxt.key[3:]))
        w = nxt
    assert timedelta(hours=24) in lengths and len(lengths) > 1
