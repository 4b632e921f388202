"""One line of the live tail (app/tui/tail_line.py): cells padded to their columns, plain text run
together into one segment, cell styles over the line's, the first column fixed when scrolled sideways,
and the line cut or padded to the table's width."""
from __future__ import annotations

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.strip import Strip

from app.tui.tail_cell import TailCell
from app.tui.tail_line import PAD, STACKED_MAX, StackedStyles, draw_cells, finish_line, scrolled
from app.tui.tail_rows import TailColumn

LINE = Style(bgcolor="blue")
BASE = Style(bgcolor="black")


def columns(*widths: int) -> list[TailColumn]:
    return [TailColumn(f"c{i}", Text(f"c{i}"), w) for i, w in enumerate(widths)]


def test_a_plain_row_is_one_segment_padded_to_the_columns():
    segments, length = draw_cells(columns(5, 3), [TailCell("ab"), TailCell("7", justify="right")], LINE,
                                  StackedStyles().over)
    assert segments == [Segment(" ab    " + "   7 ", LINE)]
    assert length == 5 + 3 + 4 * PAD == sum(len(s.text) for s in segments)


def test_a_styled_cell_is_its_own_segment_over_the_line_style():
    stacked = StackedStyles()
    styled = Text("ok", style="bold")
    styled.stylize("red", 0, 1)  # spans: drawn through rich
    segments, length = draw_cells(columns(3, 4), [TailCell("x", style="green"), styled], LINE, stacked.over)
    texts = [(s.text, s.style) for s in segments]
    assert texts[0] == (" ", LINE)
    assert texts[1] == ("x", LINE + Style.parse("green"))
    assert "".join(t for t, _ in texts) == " x    ok   "
    assert length == 11
    assert all(style is not None and style.bgcolor == LINE.bgcolor for _, style in texts)


def test_stacked_styles_are_made_once_a_pair_and_stay_few():
    stacked = StackedStyles()
    first = stacked.over(LINE, "red")
    assert stacked.over(LINE, "red") is first and first == LINE + Style.parse("red")
    for i in range(STACKED_MAX + 5):
        stacked.over(Style(color=f"color({i % 256})", bold=i > 255), "red")
    assert len(stacked._combined) <= STACKED_MAX


def test_finish_pads_a_short_line_to_the_width_in_the_base_style():
    cols = columns(2)
    segments, length = draw_cells(cols, [TailCell("a")], LINE, StackedStyles().over)
    strip = finish_line(segments, length, (10, 0, (), None), BASE, cols)
    assert strip.cell_length == 10 and strip.text == " a        "
    assert list(strip)[-1] == Segment(" " * 6, BASE)


def test_scrolling_sideways_keeps_the_first_column_and_cuts_to_the_width():
    cols = columns(2, 6)
    segments, length = draw_cells(cols, [TailCell("id"), TailCell("abcdef")], LINE, StackedStyles().over)
    assert finish_line(list(segments), length, (12, 0, (), None), BASE, cols).text == " id  abcdef "
    assert finish_line(list(segments), length, (12, 3, (), None), BASE, cols).text == " id cdef    "
    assert finish_line(list(segments), length, (7, 0, (), None), BASE, cols).text == " id  ab"
    assert scrolled(Strip([Segment("0123456789")]), 4, 0, cols).text == "0123"


def test_line_filters_apply_once_to_the_finished_line():
    seen = []

    class Upper:
        def apply(self, segments, background):
            seen.append((len(segments), background))
            return [Segment(s.text.upper(), s.style) for s in segments]

    cols = columns(3)
    segments, length = draw_cells(cols, [TailCell("abc")], LINE, StackedStyles().over)
    strip = finish_line(segments, length, (8, 0, (Upper(),), "bg"), BASE, cols)
    assert strip.text == " ABC    " and seen == [(2, "bg")]
