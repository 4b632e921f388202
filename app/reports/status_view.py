"""`bifrost-tui status`: a developer's own key from GET /api/me, with the variables Claude Code already uses."""
from __future__ import annotations

import json
import os
import sys
import urllib.error
import urllib.request
from datetime import datetime, timezone
from decimal import Decimal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from rich.console import Console
from rich.text import Text

from ..core.windows import format_reset

KEY_VARS = ("ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN")
BAR_WIDTH = 30


class StatusError(Exception):
    def __init__(self, message: str, code: int = 1):
        super().__init__(message)
        self.code = code


def gateway_root(base_url: str) -> str:
    """http://host:8080/anthropic/ -> http://host:8080 (/api/me lives at the server root)."""
    return base_url.strip().rstrip("/").removesuffix("/anthropic")


def credentials(env=os.environ) -> tuple[str, str]:
    """(gateway root URL, virtual key); StatusError(code 2) naming what to set."""
    base = env.get("ANTHROPIC_BASE_URL", "").strip()
    key = next((env[v].strip() for v in KEY_VARS if env.get(v, "").strip()), "")
    missing = ([] if base else ["ANTHROPIC_BASE_URL (e.g. http://gateway-host:8080/anthropic)"]) + \
              ([] if key else ["ANTHROPIC_API_KEY (or ANTHROPIC_AUTH_TOKEN) to your virtual key"])
    if missing:
        raise StatusError("set " + " and ".join(missing) + " — the same variables Claude Code uses", 2)
    if not base.lower().startswith(("http://", "https://")):
        raise StatusError(f"ANTHROPIC_BASE_URL must start with http:// or https://; got {base!r}", 2)
    return gateway_root(base), key


def fetch_me(root: str, key: str, timeout: float = 10.0) -> bytes:
    """The raw /api/me body; StatusError with a message that never contains the key."""
    url = f"{root}/api/me"
    request = urllib.request.Request(url, headers={"x-api-key": key, "accept": "application/json",
                                                   "user-agent": "bifrost-tui-status"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            body = response.read()
    except urllib.error.HTTPError as exc:
        if exc.code == 401:
            raise StatusError(f"the gateway does not know this key (HTTP 401 from {url}); check "
                              "ANTHROPIC_API_KEY / ANTHROPIC_AUTH_TOKEN") from None
        raise StatusError(f"{url} answered HTTP {exc.code}: {_error_message(exc.read())}") from None
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        raise StatusError(f"cannot reach the gateway at {url} ({reason}); is the gateway running?") from None
    try:
        me = json.loads(body)
    except ValueError:
        me = None
    if not isinstance(me, dict) or "key" not in me:
        raise StatusError(f"{url} did not answer with a key's status: is ANTHROPIC_BASE_URL a bifrost-tui gateway?")
    return body


def _error_message(body: bytes) -> str:
    try:
        return str(json.loads(body)["error"]["message"])
    except (ValueError, KeyError, TypeError):
        return body[:200].decode("utf-8", "replace").strip() or "no body"


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


def show_status(args) -> int:
    try:
        root, key = credentials()
        body = fetch_me(root, key)
    except StatusError as exc:
        print(f"bifrost-tui status: {exc}", file=sys.stderr)
        return exc.code
    if args.json:
        sys.stdout.write(body.decode("utf-8") + "\n")
        return 0
    render(json.loads(body), Console(highlight=False))
    return 0
