"""Axis ticks, bar labels and cell geometry for the console's plotext plots (screen 5).

plotext picks its own ticks (uneven values such as 0, 20.9, 31.4, 52.3 on a five-row axis) and
rasterises bars and filled lines with rounding that, in a plot a few cells tall, makes unequal values
look equal, hides tick labels and paints empty buckets. The plots screen therefore works in cells:

- `nice_axis` chooses round, evenly spaced ticks (1, 2, 2.5 or 5 times a power of ten) that land on
  exact character rows, and the axis top that puts them there;
- `bar_cells` says how many cells a bar covers, so bar lengths are proportional to the values and a
  zero is no cell at all (which columns a time bucket covers is `app.tui.plot_time`'s);
- `fit_bar_labels` makes one label per bar, "name value", fitted to a width (the `claude-` prefix of
  model names dropped, long names shortened with an ellipsis, kept distinct).

plotext maps a value y on an axis from lo to hi onto one of `bins` cells as
floor(0.5 + (bins - 1) * (y - lo) / (hi - lo)): cell 0 is lo, cell bins - 1 is hi. Everything here
uses that mapping.
"""
from __future__ import annotations

import math

NICE_MANTISSAS = (1.0, 2.0, 2.5, 5.0, 10.0)
MODEL_PREFIX = "claude-"
ELLIPSIS = "…"


# -- value axes ----------------------------------------------------------------------------------
def nice_step(x: float) -> float:
    """The smallest 1, 2, 2.5 or 5 times a power of ten that is >= x (x > 0)."""
    if not x > 0 or not math.isfinite(x):
        return 1.0
    exp = math.floor(math.log10(x))
    for m in NICE_MANTISSAS:
        step = m * 10.0 ** exp
        if step >= x * (1 - 1e-9):
            return float(f"{step:.12g}")
    return 10.0 ** (exp + 1)  # pragma: no cover - 10.0 always matches


def nice_axis(vmax: float, rows: int) -> tuple[list[float], float]:
    """Ticks and axis top for values 0..vmax on an axis `rows` character rows tall.

    The ticks are 0, s, 2s, ... for a round step s, one every p rows exactly (so they are evenly
    spaced on screen too), and the axis top is s * (rows - 1) / p, the value of the top row (which
    can lie above the last tick). Of the choices with a few ticks (three or more when the axis has six
    rows or more), the one with the lowest top (the data using most of the height) wins, then the one
    whose tick count is nearest a few, then the sparser one."""
    if not (vmax > 0 and math.isfinite(vmax)):
        vmax = 1.0
    span = rows - 1
    if span < 1:
        step = nice_step(vmax)
        return [0.0, step], step
    target = max(2, min(5, span // 3))
    k_min = min(span, 2 if span < 6 else 3)  # a 0, a top and something between whenever rows allow
    best = None
    for p in range(1, span + 1):  # rows per tick
        k = span // p  # intervals that fit
        if k < k_min or k > 8 or (span >= 8 and p < 2):  # room to spare: a blank row between labels
            continue
        step = nice_step(vmax * p / span)
        top = step * span / p
        key = (round(top / vmax, 6), abs(k - target), -p)
        if best is None or key < best[0]:
            best = (key, step, k, top)
    _, step, k, top = best
    return [float(f"{j * step:.12g}") for j in range(k + 1)], top


def tick_texts(ticks: list[float]) -> list[str]:
    """The tick values as short text, all with the same number of decimals (the fewest that show every
    tick exactly); thousands as `k` and millions as `M` once the axis reaches 10,000."""
    if not ticks:
        return []
    top = max(abs(t) for t in ticks)
    suffix, scale = "", 1.0
    if top >= 10_000_000:
        suffix, scale = "M", 1e6
    elif top >= 10_000:
        suffix, scale = "k", 1e3
    values = [t / scale for t in ticks]
    for places in range(10):
        if all(abs(round(v, places) - v) < 1e-9 * max(1.0, abs(v)) for v in values):
            break
    return [f"{v:.{places}f}{suffix}" if v else "0" for v in values]


def value_row(value: float, top: float, rows: int) -> int:
    """The row (0 = the bottom, the axis's 0) plotext draws `value` in, on an axis 0..top."""
    if rows <= 1 or top <= 0:
        return 0
    return max(0, min(rows - 1, math.floor(round(0.5 + (rows - 1) * value / top, 8))))


def row_value(row: int, top: float, rows: int) -> float:
    """The value plotext draws exactly in `row` (the inverse of `value_row`)."""
    return top * row / (rows - 1) if rows > 1 else 0.0


# -- cells ------------------------------------------------------------------------------------------
def bar_cells(value: float, vmax: float, cells: int) -> int:
    """How many of `cells` a bar of `value` fills when `vmax` fills them all: proportional, rounded,
    at least one for any positive value, none for zero."""
    if not value > 0 or not vmax > 0 or cells <= 0:
        return 0
    return max(1, min(cells, round(cells * value / vmax)))


def canvas_size(width: int, height: int, label_cells: int, x_ticks: bool = True) -> tuple[int, int]:
    """(columns, rows) inside a plotext figure of `width` x `height` cells whose y tick labels are
    `label_cells` wide: a column for the y axis and one for the right frame; a row for the top frame,
    one for the x axis and, with x tick labels, one for them."""
    return max(1, width - label_cells - 2), max(1, height - (3 if x_ticks else 2))


# -- bar labels -------------------------------------------------------------------------------------
def compact_number(value: float) -> str:
    """A money amount in a few cells: 63.51, 0.90, 1.23k, 12.3k, 123k, 1.23M."""
    a = abs(value)
    if a < 1000:
        return f"{value:.2f}"
    for limit, scale, suffix in ((1e6, 1e3, "k"), (1e9, 1e6, "M"), (math.inf, 1e9, "G")):
        if a < limit * (1 - 5e-4):  # 999,999 shows as 1.00M, not 1000k
            scaled = value / scale
            places = 2 if abs(scaled) < 10 else (1 if abs(scaled) < 100 else 0)
            return f"{scaled:.{places}f}{suffix}"
    return f"{value:.3g}"  # pragma: no cover


def short_name(name, group: str) -> str:
    """A bar's name: model names without the `claude-` prefix."""
    text = str(name)
    if group == "m" and text.startswith(MODEL_PREFIX) and len(text) > len(MODEL_PREFIX):
        text = text[len(MODEL_PREFIX):]
    return text


def clip(text: str, width: int, middle: bool = False) -> str:
    """`text` in at most `width` cells: cut with an ellipsis at the end (or in the middle)."""
    if len(text) <= width:
        return text
    if width <= 1:
        return text[:width]
    if not middle:
        return text[:width - 1] + ELLIPSIS
    head = (width - 1 + 1) // 2
    tail = width - 1 - head
    return text[:head] + ELLIPSIS + (text[-tail:] if tail else "")


def fit_names(names: list[str], width: int) -> list[str]:
    """Every name in at most `width` cells; names that would clip to the same text are cut in the
    middle instead, so bars stay distinguishable (`backend-team-a` / `backend-team-b`)."""
    out = [clip(n, width) for n in names]
    seen: dict[str, int] = {}
    for text in out:
        seen[text] = seen.get(text, 0) + 1
    return [clip(n, width, middle=True) if seen[o] > 1 and o != n else o for n, o in zip(names, out)]


def fit_bar_labels(names: list[str], values: list[float], width: int) -> tuple[list[str], list[str]]:
    """(the fitted names, one label per bar): labels "name value", all the same length and at most
    `width` cells when possible (names are cut, the values always show in full), the name
    left-aligned, the value right-aligned."""
    texts = [compact_number(v) for v in values]
    value_w = max((len(t) for t in texts), default=0)
    name_w = max(1, min(max((len(n) for n in names), default=1), width - value_w - 1))
    fitted = fit_names(list(names), name_w)
    return fitted, [f"{n.ljust(name_w)} {t.rjust(value_w)}" for n, t in zip(fitted, texts)]
