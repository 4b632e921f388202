"""The words around the plots (app/tui/plot_titles.py): titles that name the window and the drawn
buckets, and the status line of keys."""
from __future__ import annotations

from app.tui.plot_titles import WINDOWS, plot_titles, span_text, status_line


def test_span_text():
    assert [span_text(m) for m in (1, 5, 60, 90, 120, 1440)] == ["1 min", "5 min", "1 h", "90 min", "2 h", "24 h"]


def test_titles_before_anything_is_drawn():
    titles = plot_titles("h", "k", "₹", {})
    assert titles == {
        "spend": "Spend (₹ per minute) · last hour",
        "rps": "Requests/s · 1 min avg · last hour",
        "latency": "Latency ms [green]p50[/] [red]p95[/] · last hour",
        "bars": "Spend this month by key (₹)",
    }
    assert plot_titles("d", "m", "$", {})["spend"] == "Spend ($ per hour) · last day"


def test_titles_name_the_drawn_buckets():
    spend = ("spend", "h", "UTC", "₹", 2)
    rps = ("rps", "h", "UTC", (), (), 10)
    titles = plot_titles("h", "t", "₹", {"spend": spend, "rps": rps})
    assert titles["spend"] == "Spend (₹ per 2 min) · last hour" and titles["rps"].startswith("Requests/s · 10 min avg")
    assert titles["bars"] == "Spend this month by team (₹)"
    day = plot_titles("d", "k", "₹", {"spend": spend[:4] + (180,), "rps": rps[:5] + (60,)})
    assert day["spend"] == "Spend (₹ per 3 h) · last day" and day["rps"] == "Requests/s · 1 h avg · last day"
    assert plot_titles("d", "k", "₹", {"spend": spend[:4] + (60,)})["spend"] == "Spend (₹ per hour) · last day"


def test_the_status_line_highlights_the_chosen_keys():
    status = status_line("d", "m", None, loading=False)
    assert status.plain == " h last hour   d last day  │  k by key   t by team   m by model  "
    reversed_keys = [status.plain[s.start:s.end] for s in status.spans if "reverse" in str(s.style)]
    assert reversed_keys == [" d ", " m "]
    assert set(WINDOWS) == {"h", "d"} and WINDOWS["d"][1] == 1440


def test_the_status_line_says_why_the_series_is_missing():
    assert status_line("h", "k", None, loading=True).plain.endswith("│ loading…")
    stale = status_line("h", "k", "boom", loading=True)
    assert stale.plain.endswith("│ series unavailable: boom") and "loading" not in stale.plain
