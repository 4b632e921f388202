"""Cells of the Keys / Teams / Customers / Providers tables: a column's cell and sort key, and how an
entity's budgets, state, models, source and circuits read in a cell."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from rich.text import Text

from ..forms.entity_text import budgets_text

MODELS_WIDTH = 18


@dataclass
class Column:
    label: str
    key: str
    cell: Callable[[dict], Any]
    sort: Callable[[dict], Any]


def pct_style(pct: float) -> str:
    return "green" if pct < 75 else ("yellow" if pct < 90 else "bold red")


def used_pct(item: dict) -> float | None:
    status = item.get("budget_status") or []
    return max((s.get("used_pct") or 0.0 for s in status), default=None)


def budgets_cell(item: dict, symbol: str) -> Text:
    budgets = item.get("budgets") or []
    if not budgets:
        return Text("–", style="dim")
    text = Text(budgets_text(budgets, symbol))
    pct = used_pct(item)
    if pct is not None:
        text.append(f" {pct:.0f}%", style=pct_style(pct))
    return text


def lower_text(value) -> str:
    return str(value or "").lower()


def _expired(item: dict) -> bool:
    raw = item.get("expires_at")
    if not raw:
        return False
    try:
        when = datetime.fromisoformat(raw)
    except ValueError:
        return False
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return when <= datetime.now(timezone.utc)


def active_cell(item: dict) -> Text:
    if item.get("active") is False:
        return Text("off", style="bold red")
    if _expired(item):
        return Text("expired", style="red")
    if item.get("usable") is False:
        return Text("unusable", style="yellow")
    return Text("on", style="green")


def models_cell(item: dict) -> Text:
    models = item.get("allowed_models")
    if not models:
        return Text("all", style="dim")
    text = ", ".join(models)
    return Text(text if len(text) <= MODELS_WIDTH else text[:MODELS_WIDTH - 1] + "…")


def source_cell(item: dict) -> Text:
    src = item.get("source") or "config"
    return Text(src, style="cyan" if src == "api" else "dim")


def dash(value) -> Text | str:
    return str(value) if value else Text("–", style="dim")


CIRCUIT_STYLE = {"closed": "green", "half-open": "yellow", "half_open": "yellow", "open": "bold red", "bad": "bold red"}


def circuits_cell(provider: dict) -> Text:
    circuits = provider.get("circuits") or []
    if not circuits:
        return Text("–", style="dim")
    text = Text()
    for i, c in enumerate(circuits):
        if i:
            text.append(" · ")
        state = str(c.get("state") or "?")
        text.append(f"{c.get('key')} ")
        text.append(state, style=CIRCUIT_STYLE.get(state, "yellow"))
        if c.get("retry_in_s"):
            text.append(f" {c['retry_in_s']:.0f}s")
        elif c.get("failures"):
            text.append(f" ({c['failures']} fail)", style="dim")
    return text
