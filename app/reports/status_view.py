"""`bifrost-tui status`: a developer's own key from GET /api/me (app/reports/gateway_me.py), drawn as bars."""
from __future__ import annotations

import json
import sys
from datetime import datetime, timezone
from decimal import Decimal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from rich.console import Console
from rich.text import Text

from ..core.windows import format_reset
from .gateway_me import StatusError, credentials, fetch_me

BAR_WIDTH = 30


def money(value, symbol: str) -> str:
    """Display-currency amount from /api/me: 2 places, 4 for small amounts (as format_money)."""
    amount = Decimal(str(value))
    places = 2 if abs(amount) >= 1 or amount == 0 else 4
    return f"{symbol}{amount.quantize(Decimal(1).scaleb(-places)):,}"


def colour(pct: float) -> str:
    return "green" if pct < 75 else ("yellow" if pct < 90 else "red")


def bar(pct: float) -> Text:
    filled = min(BAR_WIDTH, max(0, round(BAR_WIDTH * pct / 100)))
    return Text("█" * filled, style=colour(pct)) + Text("░" * (BAR_WIDTH - filled), style="dim")


def budget_lines(b: dict, symbol: str, tz: ZoneInfo, now: datetime) -> list[Text]:
    who = "key" if b["level"] == "key" else f"{b['level']} {b['entity']}"
    pct = float(b.get("used_pct") or 0)
    head = Text(f"  {b['label']} ({who})".ljust(34)) + bar(pct) + Text(f" {pct:5.1f}%", style=colour(pct))
    detail = f"{money(b['spent'], symbol)} of {money(b['limit'], symbol)}, {money(b['remaining'], symbol)} left"
    if b.get("reserved"):
        detail += f" ({money(b['reserved'], symbol)} held by requests in flight)"
    when = f"resets {b['resets_at_local']}" if b.get("resets_at_local") else f"rolling {b['period']} window"
    if b.get("runs_out_at"):
        runs_out = datetime.fromisoformat(b["runs_out_at"])
        when += "; used up" if runs_out <= now else f"; at this rate runs out {format_reset(runs_out, tz)}"
    style = "dim" if pct < 75 else colour(pct)
    lines = [head, Text("    " + detail, style=style), Text("    " + when, style=style)]
    refused = int(b.get("refused_recent") or 0)
    if refused:  # a request bigger than what is left: blocked although the bar may read 0%
        lines.append(Text(f"    blocking: {refused:,} request(s) refused in the last hour", style="bold red"))
    return lines


def render(me: dict, console: Console) -> None:
    try:
        tz = ZoneInfo(me.get("timezone") or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        tz = ZoneInfo("UTC")
    now = datetime.now(timezone.utc)
    symbol = (me.get("currency") or {}).get("symbol", "$")
    state = "active" if me.get("active", True) else "DISABLED"
    if me.get("expires_at"):
        expires = datetime.fromisoformat(me["expires_at"])
        state = f"EXPIRED {format_reset(expires, tz)}" if expires <= now else \
            f"{state}, expires {format_reset(expires, tz)}"
    console.print(Text.assemble(("key ", "bold"), (str(me["key"]), "bold cyan"), f"  ({state})"))
    console.print(Text(f"team {me.get('team') or '—'}   customer {me.get('customer') or '—'}"))
    budgets = [*me.get("budgets", []), *me.get("team_budgets", []), *me.get("customer_budgets", [])]
    console.print(Text("\nBudgets", style="bold"))
    for b in budgets:
        for line in budget_lines(b, symbol, tz, now):
            console.print(line)
    if not budgets:
        console.print(Text("  no budgets on this key, its team or customer"))
    console.print(Text("\nRate limits", style="bold"))
    limits, usage = me.get("rate_limit") or {}, me.get("rate_usage") or {}
    rows = (("requests/min", "requests_per_minute", "requests_last_minute"),
            ("tokens/min", "tokens_per_minute", "tokens_last_minute"),
            ("concurrent", "max_concurrent", "in_flight"))
    for label, limit_field, usage_field in rows:
        if limits.get(limit_field) is not None:
            used, limit = usage.get(usage_field, 0), limits[limit_field]
            pct = 100.0 * used / limit if limit else 0.0
            console.print(Text(f"  {label:<14}{used:>10,} of {limit:,}", style=colour(pct)))
    if not limits:
        console.print(Text("  none on this key"))
    models = me.get("allowed_models")
    console.print(Text("\nAllowed models", style="bold"))
    console.print(Text("  " + (", ".join(models) if models else "all models the gateway serves")))


class PipedConsole(Console):
    """rich's Console, except that a reader who stops early (`status | head -3`) is the command line's usual
    quiet BrokenPipeError (exit 0, app/cli.py), not rich's own exit 1."""

    def on_broken_pipe(self) -> None:
        self.quiet = True
        raise BrokenPipeError


def show_status(args) -> int:
    try:
        base, key = credentials()
        body = fetch_me(base, key)
    except StatusError as exc:
        print(f"bifrost-tui status: {exc}", file=sys.stderr)
        return exc.code
    if args.json:
        sys.stdout.write(body.decode("utf-8") + "\n")
        return 0
    render(json.loads(body), PipedConsole(highlight=False))
    return 0
