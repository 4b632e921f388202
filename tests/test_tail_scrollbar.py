"""The live tail's scrollbar (app/tui/tail_scrollbar.py) draws what Textual's ScrollBar draws, cell for cell,
in every state, and draws it again only when it changes."""
from __future__ import annotations

from contextlib import asynccontextmanager

from textual.app import App
from textual.scrollbar import ScrollBar

from app.tui.live_tail import LiveTail
from app.tui.tail_scrollbar import TailScrollBar


class TailApp(App):
    def compose(self):
        yield LiveTail(id="t")


def fill(table: LiveTail, rows: int = 200) -> None:
    table.add_column("name")
    for i in range(rows):
        table.add_row(f"row {i}", key=f"r{i}")


def cells(strips) -> list[list[tuple]]:
    """Each line cell by cell as the terminal gets it: character, colours and attributes, click target."""
    return [[(seg.text, str(seg.style), (seg.style.meta if seg.style else {}).get("@mouse.down"))
             for seg in strip.simplify()] for strip in strips]


def textual_lines(bar: ScrollBar) -> list[list[tuple]]:
    """The same scrollbar through Textual's own path (ScrollBar.render and the widget styles pass)."""
    bar.refresh()
    return cells(ScrollBar.render_lines(bar, bar.region.reset_offset))


@asynccontextmanager
async def full_tail():
    """(pilot, table, its scrollbar) for a 40x12 app whose tail holds 200 rows."""
    app = TailApp()
    async with app.run_test(size=(40, 12)) as pilot:
        table = app.query_one(LiveTail)
        fill(table)
        await pilot.pause()
        yield pilot, table, table.vertical_scrollbar


async def test_the_tail_scrollbar_matches_textuals_in_every_state():
    async with full_tail() as (pilot, table, bar):
        assert isinstance(bar, TailScrollBar) and bar.display
        drawn = set()
        for row in (0, 57, 120, 199):
            table.move_cursor(row=row)
            await pilot.pause()
            drawn.add(str(cells(bar.render_lines(bar.region.reset_offset))))
            assert cells(bar.render_lines(bar.region.reset_offset)) == textual_lines(bar)
        assert len(drawn) == 4  # the thumb moved each time
        bar.mouse_over = True
        await pilot.pause()
        assert cells(bar.render_lines(bar.region.reset_offset)) == textual_lines(bar)
        bar.mouse_over = False
        bar.grabbed = bar.region.offset
        await pilot.pause()
        assert cells(bar.render_lines(bar.region.reset_offset)) == textual_lines(bar)


async def test_an_unchanged_bar_is_not_drawn_again_and_a_moved_one_is():
    async with full_tail() as (pilot, table, bar):
        crop = bar.region.reset_offset
        first = bar.render_lines(crop)
        assert bar.render_lines(crop) is not first and all(a is b for a, b in zip(first, bar.render_lines(crop)))
        table.move_cursor(row=199)
        await pilot.pause()
        moved = bar.render_lines(crop)
        assert cells(moved) != cells(first)
