"""The status header: whole gauges at any width, a long first line ends in an ellipsis, no repaint when
nothing changed, and what it paints matches what it says."""
from __future__ import annotations

from rich.text import Text
from tui_harness import FakeSource, make_app

from app.tui.state import ConsoleState
from app.tui.status_header import NARROW, StatusHeader, fit_gauges, header_lines

GAUGE_LABELS = ("req/s", "err ", "p50", "fly ", "day ", "mo ", "lag ")


def test_a_gauge_that_does_not_fit_is_left_out_whole():
    gauges = [Text("aaaa"), Text("bbbb"), Text("cccc")]
    assert fit_gauges(gauges, 14, " ").plain == "aaaa bbbb cccc"
    assert fit_gauges(gauges, 13, " ").plain == "aaaa bbbb"  # not "aaaa bbbb ccc"
    assert fit_gauges(gauges, 8, "  ").plain == "aaaa"
    assert fit_gauges(gauges, 3, " ").plain == ""


def test_gauges_keep_their_styles_as_spans():
    """Styles are spans, so Text equality (the no-repaint check) sees a gauge turning red."""
    state = ConsoleState()
    state.overview = {"summary": {"error_pct": 4.0}}
    _, calm = header_lines(state, [], narrow=False)
    state.overview = {"summary": {"error_pct": 7.0}}
    _, alarmed = header_lines(state, [], narrow=False)
    assert [s.style for s in alarmed[1].spans] == ["red"] and not calm[1].spans


def _painted_header(app) -> list[str]:
    update = app.screen._compositor.render_update(full=True, screen_stack=app._background_screens)
    return ["".join(segment.text for segment in strip) for strip in update.strips[:2]]


async def test_at_80_columns_every_gauge_fits_and_none_is_cut():
    """With a display currency and month spend as long as this, the compact form still shows all seven
    gauges in 78 columns; with a longer one, the last gauge is left out whole, never cut."""
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        header = app.screen.query_one(StatusHeader)
        line2 = header.plain.splitlines()[1]
        assert all(label in line2 for label in GAUGE_LABELS), line2
        assert _painted_header(app)[1].strip() == line2  # what it says is what is painted
        app.state.overview["summary"]["spend_month_micro_usd"] = 123_456_789_000_000  # ₹10 trillion
        header.show(app.state, [])
        await pilot.pause()
        line2 = header.plain.splitlines()[1]
        assert "mo ₹" in line2 and "lag" not in line2 and len(line2) <= 78
        assert _painted_header(app)[1].strip() == line2


async def test_a_long_error_ends_in_an_ellipsis_within_the_width():
    fake = FakeSource.scene()
    app = make_app(fake)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        fake.fail_with(ConnectionError("gateway gone: " + "connection refused " * 10))
        await app.poll()
        await pilot.pause()
        line1 = app.screen.query_one(StatusHeader).plain.splitlines()[0]
        assert line1.startswith("bifrost-tui") and "DISCONNECTED" in line1
        assert line1.endswith("…") and len(line1) == 78
        assert _painted_header(app)[0].strip() == line1


async def test_an_unchanged_header_is_not_repainted(monkeypatch):
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        header = app.screen.query_one(StatusHeader)
        refreshes = []
        real = StatusHeader.refresh
        monkeypatch.setattr(StatusHeader, "refresh", lambda self, *a, **k: (refreshes.append(1), real(self, *a, **k))[1])
        header.show(app.state, app.badges())
        assert refreshes == []
        app.state.overview["summary"]["rps"] = 99.5
        header.show(app.state, app.badges())
        await pilot.pause()
        assert len(refreshes) == 1 and "99.5 req/s" in header.plain


async def test_the_wide_form_from_100_columns_of_header():
    app = make_app()
    async with app.run_test(size=(NARROW + 2, 30)) as pilot:  # + its padding
        await pilot.pause()
        line2 = app.screen.query_one(StatusHeader).plain.splitlines()[1]
        assert "in flight" in line2 and "today" in line2 and "  " in line2
