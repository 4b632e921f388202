"""The console's model: what the last polls brought, bounded. Screens read it; only the poller writes it."""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

REQUEST_ROWS = 5000  # requests kept in the console (the full history is in the request log)
EVENT_ROWS = 1000


@dataclass
class ConsoleState:
    overview: dict = field(default_factory=dict)
    requests: deque = field(default_factory=lambda: deque(maxlen=REQUEST_ROWS))
    events: deque = field(default_factory=lambda: deque(maxlen=EVENT_ROWS))  # failover + breaker events
    budgets: list[dict] = field(default_factory=list)
    series: dict = field(default_factory=dict)
    request_seq: int = 0
    event_seq: int = 0
    new_requests: int = 0  # arrived in the last poll
    connected: bool = True
    error: str | None = None
    last_poll: float = 0.0

    @property
    def currency_symbol(self) -> str:
        return (self.overview.get("currency") or {}).get("symbol", "$")

    @property
    def per_usd(self) -> float:
        return float((self.overview.get("currency") or {}).get("per_usd", "1"))

    def money(self, micro_usd: int | None, places: int | None = None) -> str:
        """Display-currency text for micro-USD (display only: sums stay integers elsewhere)."""
        if micro_usd is None:
            return "unknown"
        value = micro_usd * self.per_usd / 1_000_000
        if places is None:
            places = 2 if abs(value) >= 1 or value == 0 else 4
        return f"{self.currency_symbol}{value:,.{places}f}"
