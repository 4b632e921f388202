"""When the plots screen (5) redraws a plot whose data changed. A textual-plotext rebuild is 4-30 ms
(depending on the plot's area and how jagged the line is) and it runs on the gateway's event loop, so
data-driven redraws are paced: each plot at most once every DRAW_EVERY seconds, and at most one plot
at a time, the others following STAGGER seconds apart, so a frame never carries two rebuilds. A plot's
first draw and a forced redraw (a key toggle) happen at once. No Textual here: the screen keeps the
timer that comes back for the plots left waiting.
"""
from __future__ import annotations

import math

DRAW_EVERY = 1.0  # seconds between data-driven redraws of one plot (at most)
STAGGER = 0.2  # seconds between two plots' data-driven redraws (one plotext rebuild per frame)


def plan_redraws(changed: list[tuple[str, bool]], last_draw: dict[str, float], now: float,
                 force: bool = False) -> tuple[list[str], float]:
    """Which of the `changed` plots ((name, never drawn) pairs, in drawing order) to redraw `now`, given
    when each was last drawn (`last_draw`, the same clock), and the seconds until the next of the others
    may be (math.inf if none waits)."""
    due: list[str] = []
    wait = math.inf
    paced = False  # a data-driven redraw is already due: the next one waits STAGGER
    for name, first in changed:
        if not (force or first):
            since = now - last_draw.get(name, -math.inf)
            if since < DRAW_EVERY:
                wait = min(wait, DRAW_EVERY - since)
                continue
            if paced:
                wait = min(wait, STAGGER)
                continue
            paced = True
        due.append(name)
    return due, wait
