"""One request, drilled into (`enter` on the Requests or Failover screen), plus the small cell formatters
the request views share (local time, status colour, token counts).

The modal shows everything the log row knows: id, time, key/team/customer, requested vs served model,
the routing rule, every provider attempt (the failover chain), tokens including cache reads/writes,
the cost breakdown (actual, at the requested model, saved), latency and TTFT, status and error, the
session id and the user agent. `esc` closes it, `y` copies the request id (OSC 52).
"""
from __future__ import annotations

from datetime import datetime, timezone
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Footer, Static

from .state import ConsoleState
from .widgets import fmt_ms

# -- shared cell formatters ------------------------------------------------------------------------


@lru_cache(maxsize=16)
def zone(name: str | None):
    """The configured IANA zone (UTC when unknown)."""
    try:
        return ZoneInfo(name) if name else ZoneInfo("UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def parse_ts(ts) -> datetime | None:
    if not ts:
        return None
    if isinstance(ts, datetime):
        return ts
    try:
        return datetime.fromisoformat(str(ts))  # 3.11+: accepts a trailing Z
    except ValueError:
        return None


@lru_cache(maxsize=512)
def _utc_second_local(second: str, tz, fmt: str) -> str:
    return datetime.fromisoformat(second).replace(tzinfo=timezone.utc).astimezone(tz).strftime(fmt)


def local_time(ts, tz, fmt: str = "%H:%M:%S") -> str:
    """An ISO-8601 UTC timestamp as local wall-clock text in the config's timezone.

    The request tail formats ~200 rows a second at 200 requests/s, nearly all within the same few seconds:
    a UTC timestamp as the gateway writes it ("...T12:34:56.789012+00:00") is looked up by its second
    (~0.2 µs instead of ~2 µs parsing and converting)."""
    if type(ts) is str and len(ts) == 32 and ts.endswith("+00:00") and ts[19] == "." and "%f" not in fmt:
        try:
            return _utc_second_local(ts[:19], tz, fmt)
        except ValueError:
            return "–"
    dt = parse_ts(ts)
    if dt is None:
        return "–"
    if dt.tzinfo is not None:
        dt = dt.astimezone(tz)
    return dt.strftime(fmt)


def status_style(status, error_type=None) -> str:
    """green 2xx, yellow 402/429 (budget, rate limit), red other 4xx and failed streams, bold red 5xx."""
    try:
        code = int(status or 0)
    except (TypeError, ValueError):
        code = 0
    if code >= 500:
        return "bold red"
    if code in (402, 429):
        return "yellow"
    if code >= 400 or code == 0 or error_type:
        return "red"
    return "green"


def status_label(row: dict) -> tuple[str, str]:
    """(the status as shown, its style): "!" marks an error that came after a 2xx (a failed stream)."""
    status, error_type = row.get("status"), row.get("error_type")
    label = str(status) if status else "—"
    if error_type and (not status or int(status) < 400):
        label += "!"
    return label, status_style(status, error_type)


def status_text(row: dict) -> Text:
    return Text(*status_label(row))


def compact(n) -> str:
    """1234 → 1.2k, 2500000 → 2.5M (token counts in narrow cells)."""
    if n is None:
        return "–"
    n = int(n)
    if n < 1000:
        return str(n)
    if n < 1_000_000:
        return f"{n / 1000:.1f}k" if n < 10_000 else f"{n // 1000}k"
    return f"{n / 1_000_000:.1f}M"


def prompt_tokens(row: dict) -> int:
    """Every prompt token: fresh input plus cache reads and writes (what the request actually carried)."""
    return sum(int(row.get(k) or 0) for k in ("input_tokens", "cache_read_tokens", "cache_write_5m_tokens",
                                               "cache_write_1h_tokens"))


def model_text(row: dict) -> str:
    """requested→served when routing changed the model, else the model."""
    asked, served = row.get("requested_model"), row.get("served_model")
    if asked and served and asked != served:
        return f"{asked}→{served}"
    return served or asked or "–"


# -- the modal ------------------------------------------------------------------------------------


class AttemptsTable:
    """Every provider tried, in order, as a table that fits its width instead of scrolling: the error column
    wraps, and under 90 columns the key column gives way to it (the summary names the serving key)."""

    NARROW = 90

    def __init__(self, attempts: list[dict]):
        self.attempts = attempts

    def __rich_console__(self, console, options):
        with_key = options.max_width >= self.NARROW
        t = Table(box=None, padding=(0, 1), header_style="bold", show_edge=False)
        names = ("#", "provider", "key", "model", "status", "latency") if with_key else \
            ("#", "provider", "model", "status", "latency")
        for name in names:
            t.add_column(name, no_wrap=True, overflow="ellipsis", justify="right" if name in ("#", "latency") else "left")
        t.add_column("error", overflow="fold", ratio=1, min_width=12)
        for i, a in enumerate(self.attempts, 1):
            cells = [str(i), a.get("provider") or "–", a.get("key") or "–", a.get("model") or "–",
                     Text(str(a.get("status") or "—"), style=status_style(a.get("status"), a.get("error"))),
                     fmt_ms(a.get("latency_ms")), a.get("error") or ""]
            if not with_key:
                del cells[2]
            t.add_row(*cells)
        if not self.attempts:
            t.add_row("–", Text("no provider was tried (refused at the gateway)", style="dim"),
                      *[""] * (len(names) - 1))
        yield t


def _kv(table: Table, label: str, value, style: str = "") -> None:
    table.add_row(Text(label, style="bold"), value if isinstance(value, Text) else Text(str(value), style=style))


class RequestDetail(ModalScreen[None]):
    """Everything about one request. `RequestDetail(row, state)`; `esc` closes, `y` copies the id."""

    DEFAULT_CSS = """
    RequestDetail { align: center middle; }
    RequestDetail > Vertical { width: 92%; max-width: 120; height: 92%; border: thick $accent;
                               background: $surface; }
    RequestDetail VerticalScroll { height: 1fr; padding: 0 1; }
    RequestDetail .detail-section { height: auto; margin-bottom: 1; }
    RequestDetail .detail-heading { text-style: bold; color: $accent; }
    """
    BINDINGS = [
        Binding("escape,q", "close", "Close", id="detail-close"),
        Binding("y", "copy_id", "Copy id", id="detail-copy-id"),
    ]

    def __init__(self, row: dict, state: ConsoleState | None = None):
        super().__init__()
        self.row = row
        self.console_state = state or ConsoleState()

    # formatting ------------------------------------------------------------------------------
    def _money(self, micro) -> str:
        return self.console_state.money(micro)

    def _tz(self):
        return zone(self.console_state.overview.get("timezone"))

    def compose(self) -> ComposeResult:
        row = self.row
        with Vertical(id="detail-frame") as frame:
            frame.border_title = Text(f"Request {row.get('id', '?')}")
            frame.border_subtitle = "esc close · y copy id"
            with VerticalScroll():
                yield Static(self._summary(), classes="detail-section", id="detail-summary")
                yield Static("Attempts (failover chain)", classes="detail-heading")
                yield Static(self._attempts(), classes="detail-section", id="detail-attempts")
                yield Static(self._usage(), classes="detail-section", id="detail-usage")
                yield Static(self._client(), classes="detail-section", id="detail-client")
        yield Footer()

    def _attempts(self) -> "AttemptsTable":
        return AttemptsTable(self.row.get("attempts") or [])

    def _summary(self) -> Table:
        r = self.row
        t = Table.grid(padding=(0, 2))
        t.add_column(no_wrap=True)
        t.add_column()
        tz = self._tz()
        _kv(t, "id", r.get("id") or "–")
        _kv(t, "time", local_time(r.get("ts"), tz, "%Y-%m-%d %H:%M:%S %Z"))
        who = " / ".join(str(x) for x in (r.get("key"), r.get("team"), r.get("customer")) if x) or "–"
        _kv(t, "key / team / customer", who)
        asked, served = r.get("requested_model") or "–", r.get("served_model") or "–"
        models = Text(asked)
        if served != asked:
            models.append(" → ")
            models.append(served, style="bold cyan")
            models.append("  (routed)", style="dim")
        _kv(t, "requested → served", models)
        _kv(t, "routing rule", r.get("rule") or "default route")
        provider = Text(str(r.get("provider") or "–"))
        if r.get("provider_key"):
            provider.append(f" / {r['provider_key']}")
        if r.get("simulated"):
            provider.append("  SIMULATED", style="bold magenta")
        _kv(t, "provider / key", provider)
        status = status_text(r)
        if r.get("error_type"):
            status.append(f"  {r['error_type']}", style=status_style(r.get("status"), r.get("error_type")))
        _kv(t, "status", status)
        if r.get("error_message"):
            _kv(t, "error", r["error_message"], style="red")
        _kv(t, "stream", "yes" if r.get("stream") else "no")
        return t

    def _usage(self) -> Table:
        r = self.row
        t = Table.grid(padding=(0, 2))
        t.add_column(no_wrap=True)
        t.add_column(justify="right", no_wrap=True)
        t.add_column(no_wrap=True)
        t.add_column(justify="right", no_wrap=True)
        cost, asked = r.get("cost_micro_usd"), r.get("requested_cost_micro_usd")
        if r.get("priced") is False or cost is None:
            cost_text = Text("unknown (model has no price)", style="yellow")
        else:
            cost_text = Text(self._money(cost))
        saved = None if (cost is None or asked is None) else asked - cost
        rows = [
            ("input tokens", f"{int(r.get('input_tokens') or 0):,}", "cost (actual)", cost_text),
            ("output tokens", f"{int(r.get('output_tokens') or 0):,}", "at requested model",
             self._money(asked) if asked is not None else "–"),
            ("cache read", f"{int(r.get('cache_read_tokens') or 0):,}", "saved by routing",
             Text(self._money(saved), style="green" if saved and saved > 0 else "") if saved is not None else "–"),
            ("cache write 5m", f"{int(r.get('cache_write_5m_tokens') or 0):,}", "latency", fmt_ms(r.get("latency_ms"))),
            ("cache write 1h", f"{int(r.get('cache_write_1h_tokens') or 0):,}", "time to first token",
             fmt_ms(r.get("ttft_ms"))),
        ]
        for a, b, c, d in rows:
            t.add_row(Text(a, style="bold"), b, Text(c, style="bold"), d if isinstance(d, Text) else Text(str(d)))
        return t

    def _client(self) -> Table:
        r = self.row
        t = Table.grid(padding=(0, 2))
        t.add_column(no_wrap=True)
        t.add_column()
        _kv(t, "session id", r.get("session_id") or "–")
        _kv(t, "user agent", r.get("user_agent") or "–")
        _kv(t, "path", r.get("path") or "–")
        return t

    def action_close(self) -> None:
        self.dismiss(None)

    def action_copy_id(self) -> None:
        rid = self.row.get("id")
        if rid:
            self.app.copy_to_clipboard(rid)
            self.notify(f"copied {rid}", timeout=2)
