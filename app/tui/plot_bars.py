"""Spend this month by key / team / model on the plots screen (5): one bar per row, its length
proportional to the value (the longest fills the width), each labelled "name value" (fitted to the
width: `fit_bar_labels`); rows that do not fit are summed into "(others)". No value axis: the labels
carry the values. Cell geometry in `app.tui.plot_axes`.
"""
from __future__ import annotations

from .plot_axes import bar_cells, canvas_size, fit_bar_labels, short_name

GROUPS = {"k": ("key", "by_key"), "t": ("team", "by_team"), "m": ("model", "by_model")}
OTHERS = "(others)"
BAR_FILL = "█"


def prepare_bars(series: dict, group: str, scale: float, symbol: str, size: tuple[int, int],
                 sig) -> tuple:
    """("bars", group, symbol, ((name, value), ...), labels, size): values in the display currency
    (`scale` per micro-USD) rounded by `sig`, at most one bar per row of the plot."""
    _, field = GROUPS[group]
    rows = sorted((series.get(field) or {}).items(), key=lambda kv: (-kv[1], kv[0]))
    _, lines = canvas_size(*size, 0, x_ticks=False)  # one bar per row at most
    if len(rows) > lines:
        keep = max(0, lines - 1)
        rows = rows[:keep] + [(OTHERS, sum(v for _, v in rows[keep:]))]
    names = [k if k == OTHERS else short_name(k, group) for k, _ in rows]
    values = [(v or 0) * scale for _, v in rows]
    names, labels = fit_bar_labels(names, values, max(12, size[0] // 2))
    return ("bars", group, symbol, tuple((n, sig(v)) for n, v in zip(names, values)), tuple(labels), size)


def draw_bars(plt, data: tuple) -> None:
    """One bar per row (a blank row between bars when they fit), from the left axis, its length in
    cells proportional to its value, labelled with its name and value."""
    _, _, _, rows, labels, (width, height) = data
    if not rows:
        plt.title("no spend yet this month")
        return
    cols, lines = canvas_size(width, height, max(len(label) for label in labels), x_ticks=False)
    pitch = 2 if 2 * len(rows) - 1 <= lines else 1
    ys = [lines - 1 - i * pitch for i in range(len(rows))]
    vmax = max(v for _, v in rows)
    cx: list[int] = []
    cy: list[int] = []
    for (_, value), y in zip(rows, ys):
        n = bar_cells(value, vmax, cols)
        cx.extend(range(n))
        cy.extend([y] * n)
    if cx:
        plt.scatter(cx, cy, marker=BAR_FILL, color="cyan")
    plt.xlim(0, max(1, cols - 1))
    plt.ylim(0, max(1, lines - 1))
    plt.yticks(ys, list(labels))
    plt.xticks([])
