"""Keys / Teams / Customers / Providers screens (first cut)."""
from __future__ import annotations

from textual.app import ComposeResult
from textual.widgets import Static

from .base import LiveScreen


class _EntityScreen(LiveScreen):
    KIND = ""

    def compose_body(self) -> ComposeResult:
        yield Static(self.KIND, classes="title")
        yield Static(id="body")


class KeysScreen(_EntityScreen):
    KIND = "virtual_key"


class TeamsScreen(_EntityScreen):
    KIND = "team"


class CustomersScreen(_EntityScreen):
    KIND = "customer"


class ProvidersScreen(_EntityScreen):
    KIND = "provider"
