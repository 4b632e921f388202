"""Overview screen (first cut)."""
from __future__ import annotations

from textual.app import ComposeResult
from textual.widgets import Static

from .base import LiveScreen


class OverviewScreen(LiveScreen):
    def compose_body(self) -> ComposeResult:
        yield Static("Overview", classes="title")
        yield Static(id="body")

    def refresh_data(self, state) -> None:
        self.query_one("#body", Static).update(f"{len(state.requests)} requests seen")
