"""What the plots screen (5) says around its plots: the windows it shows (`WINDOWS`), each plot's border
title (`plot_titles`: the window, and the buckets drawn: "per 2 min", "1 h avg") and the status line
of keys (`status_line`). No Textual here; the screen sets them only when they change (setting a
border title re-renders the whole plot).
"""
from __future__ import annotations

from rich.text import Text

from .plot_bars import GROUPS

WINDOWS = {"h": ("last hour", 60), "d": ("last day", 1440)}  # key -> (label, minutes of series)


def span_text(minutes: int) -> str:
    return f"{minutes // 60} h" if minutes >= 60 and minutes % 60 == 0 else f"{minutes} min"


def plot_titles(window: str, group: str, symbol: str, drawn: dict[str, tuple]) -> dict[str, str]:
    """Plot name -> border title, for `window` and `group`, naming the buckets of what is `drawn` (the
    prepared data each plot shows, app/tui/plot_series.py): one minute (an hour in the day view) until a
    plot is drawn."""
    window_label = WINDOWS[window][0]
    spend = drawn.get("spend")
    if window == "d":
        per = "hour" if not spend or spend[4] <= 60 else f"{spend[4] // 60} h"
    else:
        per = "minute" if not spend or spend[4] <= 1 else f"{spend[4]} min"
    rps = drawn.get("rps")
    return {
        "spend": f"Spend ({symbol} per {per}) · {window_label}",
        "rps": f"Requests/s · {span_text(rps[5] if rps else 1)} avg · {window_label}",
        "latency": f"Latency ms [green]p50[/] [red]p95[/] · {window_label}",
        "bars": f"Spend this month by {GROUPS[group][0]} ({symbol})",
    }


def status_line(window: str, group: str, fetch_error: str | None, loading: bool) -> Text:
    """The window and group keys, the chosen ones highlighted, then why the series is stale or missing."""
    status = Text()
    for key, (label, _) in WINDOWS.items():
        status.append(f" {key} ", style="bold reverse" if key == window else "bold")
        status.append(f"{label}  ")
    status.append("│ ", style="dim")
    for key, (label, _) in GROUPS.items():
        status.append(f" {key} ", style="bold reverse" if key == group else "bold")
        status.append(f"by {label}  ")
    if fetch_error:
        status.append(f"│ series unavailable: {fetch_error}", style="bold red")
    elif loading:
        status.append("│ loading…", style="dim")
    return status
