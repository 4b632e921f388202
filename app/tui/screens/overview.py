"""Overview (1): who is spending, how the providers are, what routing saved, how much traffic.

Panels are Statics updated in place (never recomposed) and only when their text changes. Below 100
columns the two columns collapse into one (screen breakpoints: `-narrow` / `-wide`); below 32 rows
the secondary panels (recent events, budgets) are hidden so everything fits 80×24.
"""
from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Static

from ..request_detail import local_time, zone
from ..state import ConsoleState
from ..widgets import bar
from .base import LiveScreen
from .budget_rows import refused

RECENT_EVENTS = 8
HOT_BUDGETS = 6


def share_bar(share: float, width: int) -> Text:
    """A neutral proportion bar (share of the month's spend)."""
    width = max(1, width)
    filled = max(0, min(width, round(width * share)))
    if share > 0 and filled == 0:
        filled = 1
    text = Text("█" * filled, style="cyan")
    text.append("░" * (width - filled), style="grey37")
    return text


def circuit_summary(circuits: list[dict]) -> Text:
    if not circuits:
        return Text("no keys", style="dim")
    counts: dict[str, int] = {}
    for c in circuits:
        state = str(c.get("state") or "closed").replace("-", "_")
        counts[state] = counts.get(state, 0) + 1
    out = Text()
    for state, style in (("closed", "green"), ("half_open", "yellow"), ("open", "red"), ("bad", "bold red")):
        n = counts.pop(state, 0)
        if n:
            if out:
                out.append(" ")
            out.append(f"{n} {state.replace('_', '-')}", style=style)
    for state, n in sorted(counts.items()):  # states we don't know yet
        out.append(f" {n} {state}", style="magenta")
    return out


def _pct_style(pct: float) -> str:
    return "green" if pct < 75 else ("yellow" if pct < 90 else "red")


class OverviewScreen(LiveScreen):
    TITLE = "Overview"
    NEEDS_BUDGETS = True
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (100, "-wide")]
    VERTICAL_BREAKPOINTS = [(0, "-short"), (32, "-tall")]
    DEFAULT_CSS = """
    OverviewScreen #overview-body { height: 1fr; }
    OverviewScreen #overview-columns { height: auto; }
    OverviewScreen .ov-column { height: auto; width: 1fr; }
    OverviewScreen .ov-panel { height: auto; border: round $primary; padding: 0 1; text-wrap: nowrap;
                               text-overflow: ellipsis; }
    OverviewScreen.-narrow #overview-columns { layout: vertical; }
    OverviewScreen.-wide #overview-columns { layout: horizontal; }
    OverviewScreen.-short #ov-events, OverviewScreen.-short #ov-budgets { display: none; }
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._shown: dict[str, Text] = {}
        self._ready = False

    def compose_body(self) -> ComposeResult:
        with VerticalScroll(id="overview-body"):
            with Horizontal(id="overview-columns"):
                with Vertical(classes="ov-column", id="ov-left"):
                    yield Static(id="ov-spenders", classes="ov-panel")
                    yield Static(id="ov-month", classes="ov-panel")
                    yield Static(id="ov-budgets", classes="ov-panel")
                with Vertical(classes="ov-column", id="ov-right"):
                    yield Static(id="ov-providers", classes="ov-panel")
                    yield Static(id="ov-events", classes="ov-panel")

    def on_mount(self) -> None:
        titles = {"ov-spenders": "Top spenders · this month", "ov-month": "This month",
                  "ov-budgets": "Budgets nearest their limit", "ov-providers": "Providers",
                  "ov-events": "Recent failovers and circuits [4]"}
        for wid, title in titles.items():
            self.query_one(f"#{wid}", Static).border_title = title
        self._ready = True
        self.refresh_data(self.state)

    # sizes ----------------------------------------------------------------------------------
    @property
    def narrow(self) -> bool:
        return self.app.size.width < 100

    @property
    def tall(self) -> bool:
        return self.app.size.height >= 32

    def _inner_width(self) -> int:
        """Text width inside one panel: the whole screen when narrow, half of it when wide."""
        width = self.app.size.width
        column = width if self.narrow else width // 2
        return max(20, column - 4)  # border + padding

    def on_resize(self) -> None:
        if not self._ready:
            return
        self._shown.clear()
        self.call_after_refresh(self.refresh_data, self.state)

    # data -----------------------------------------------------------------------------------
    def refresh_data(self, state: ConsoleState) -> None:
        if not self._ready:  # the poller can fire between the mode switch and on_mount
            return
        summary = state.overview.get("summary") or {}
        width = self._inner_width()
        self._set("ov-spenders", self._spenders(state, summary, width))
        month = self._month(state, summary, width)
        blocking = None if self.tall else self._blocking(state, width)  # tall: the budgets panel heads with them
        self._set("ov-month", Text.assemble(blocking, "\n", month) if blocking else month)
        self._set("ov-providers", self._providers(state, width))
        if self.tall:
            self._set("ov-events", self._events(state, width))
            self._set("ov-budgets", self._budgets(state, width))

    def _set(self, wid: str, text: Text) -> None:
        if self._shown.get(wid) != text:  # Text equality: same characters and styles
            self._shown[wid] = text
            self.query_one(f"#{wid}", Static).update(text)

    def _spenders(self, state: ConsoleState, s: dict, width: int) -> Text:
        top = [(k, int(v or 0)) for k, v in (s.get("top_keys") or [])]
        month = int(s.get("spend_month_micro_usd") or 0) or sum(v for _, v in top)
        if not top:
            return Text("no spend yet this month", style="dim")
        name_w = min(20, max(len(str(k)) for k, _ in top))
        amounts = [state.money(v) for _, v in top]
        amount_w = max(len(a) for a in amounts)
        bar_w = max(4, width - name_w - amount_w - 5 - 3)
        out = Text()
        for (key, micro), amount in zip(top, amounts):
            share = micro / month if month else 0.0
            if out:
                out.append("\n")
            out.append(f"{str(key)[:name_w]:<{name_w}} ", style="bold")
            out.append(f"{amount:>{amount_w}} ")
            out.append_text(share_bar(share, bar_w))
            out.append(f" {share * 100:3.0f}%")
        return out

    def _month(self, state: ConsoleState, s: dict, width: int) -> Text:
        month = "requests_month" in s  # an older gateway reports only the counts since it started
        total = int(s.get("requests_month" if month else "requests_total") or 0)
        errors = int(s.get("errors_month" if month else "errors_total") or 0)
        actual = int(s.get("spend_month_micro_usd") or 0)
        saved = int(s.get("saved_month_micro_usd") or 0)
        asked = actual + saved
        out = Text()
        out.append("requests ", style="bold")
        out.append(f"{total:,}")
        out.append("   errors ", style="bold")
        pct = 100 * errors / total if total else 0.0
        out.append(f"{errors:,} ({pct:.1f}%)", style="red" if pct >= 5 else "")
        out.append("   this month" if month else "   since start", style="dim")
        out.append("\nspend ", style="bold")
        out.append(state.money(actual))
        out.append("   today ", style="bold")
        out.append(state.money(int(s.get("spend_today_micro_usd") or 0)))
        if saved < 0:  # fallbacks/routes to pricier models
            out.append("\nrouting cost ", style="bold")
            out.append(state.money(-saved), style="bold yellow")
            out.append(" more than the requested models", style="dim")
            return out
        out.append("\nrouting saved ", style="bold")
        out.append(state.money(saved), style="bold green" if saved > 0 else "")
        if saved and asked > 0:
            note = f"  ({100 * saved / asked:.0f}% of {state.money(asked)} at the requested models)"
            if len(note) + len(out.plain.rsplit("\n", 1)[-1]) > width:
                note = f"  ({100 * saved / asked:.0f}% of {state.money(asked)})"
            out.append(note, style="dim")
        elif not saved:
            out.append("  no request was routed to a cheaper model", style="dim")
        if self.tall and saved and asked > 0:
            label_w = 10
            amount_w = max(len(state.money(asked)), len(state.money(actual)))
            bar_w = max(4, width - label_w - amount_w - 2)
            for label, value, style in (("requested", asked, "grey62"), ("actual", actual, "green")):
                filled = min(bar_w, round(bar_w * value / asked))
                out.append(f"\n{label:<{label_w}}")
                out.append("█" * filled, style=style)
                out.append("░" * (bar_w - filled), style="grey37")
                out.append(f" {state.money(value):>{amount_w}}")
        return out

    def _providers(self, state: ConsoleState, width: int) -> Text:
        providers = state.overview.get("providers") or []
        if not providers:
            return Text("no providers configured", style="dim")
        name_w = min(18, max(len(str(p.get("name"))) for p in providers))
        type_w = max(len(str(p.get("type") or "")) for p in providers)
        out = Text()
        for p in providers:
            if out:
                out.append("\n")
            available = p.get("available", False)
            out.append("● " if available else "○ ", style="green" if available else "red")
            out.append(f"{str(p.get('name'))[:name_w]:<{name_w}} ", style="bold")
            out.append(f"{p.get('type') or ''!s:<{type_w}} ", style="dim")
            if p.get("simulated"):
                out.append("SIMULATED ", style="bold magenta")
            if not p.get("served", True):
                out.append("not served ", style="yellow")
            elif not available:
                out.append("down ", style="bold red")
            out.append_text(circuit_summary(p.get("circuits") or []))
            budgets = p.get("budget_status") or []
            if budgets:
                pct = max(float(b.get("used_pct") or 0.0) for b in budgets)
                out.append("  budget ", style="dim")
                out.append(f"{pct:.0f}%", style=_pct_style(pct))
        return out

    def _events(self, state: ConsoleState, width: int) -> Text:
        events = list(state.events)[-RECENT_EVENTS:]
        if not events:
            return Text("no failovers or circuit changes", style="dim")
        tz = zone(state.overview.get("timezone"))
        out = Text()
        for e in reversed(events):  # newest first
            if out:
                out.append("\n")
            out.append(local_time(e.get("at"), tz) + " ", style="dim")
            if e.get("kind") == "breaker":
                to = str(e.get("to") or "")
                style = "red" if to in ("open", "bad") else ("yellow" if "half" in to else "green")
                out.append(f"{e.get('provider')}/{e.get('key')} ", style="bold")
                out.append(f"{e.get('from')} → {to}", style=style)
            else:
                out.append(f"{e.get('key') or '–'} ", style="bold")
                out.append(f"{e.get('from')} → {e.get('to')}", style="yellow")
            if e.get("reason"):
                out.append(f"  {e.get('reason')}", style="dim")
        return out

    @staticmethod
    def _blocking(state: ConsoleState, width: int) -> Text | None:
        """One line naming the budgets refusing requests now, for a screen too short for the budgets panel."""
        blocking = sorted((b for b in state.budgets if refused(b)), key=lambda b: -refused(b))
        if not blocking:
            return None
        names = ", ".join(f"{b.get('level')} {b.get('entity')}" for b in blocking)
        tail = f" ({sum(refused(b) for b in blocking):,} refused in the last hour)"
        room = max(8, width - len("blocking ") - len(tail))
        if len(names) > room:
            names = names[:room - 1] + "…"
        return Text.assemble(("blocking ", "bold red"), (names, "red"), (tail, "dim"))

    def _budgets(self, state: ConsoleState, width: int) -> Text:
        # a budget refusing requests now comes first, whatever its %: a key blocked by a request bigger than
        # what is left can sit at 0% used
        budgets = sorted(state.budgets, key=lambda b: (not refused(b),
                                                       -float(b.get("used_pct") or 0.0)))[:HOT_BUDGETS]
        if not budgets:
            return Text("no budgets configured", style="dim")
        labels = [f"{b.get('level')} {b.get('entity')} {str(b.get('label') or '').lower()}" for b in budgets]
        label_w = min(30, max(len(x) for x in labels))
        blocking = max((len(f" blocking ×{refused(b):,}") for b in budgets if refused(b)), default=0)
        bar_w = max(4, min(20, width - label_w - 8 - blocking))
        out = Text()
        for b, label in zip(budgets, labels):
            pct = float(b.get("used_pct") or 0.0)
            if out:
                out.append("\n")
            count = refused(b)
            out.append(f"{label[:label_w]:<{label_w}} ", style="bold red" if count else "")
            out.append_text(bar(pct, bar_w))
            out.append(f" {pct:3.0f}%", style=_pct_style(pct))
            if count:
                out.append(f" blocking ×{count:,}", style="bold red")
        return out
