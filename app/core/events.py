"""The gateway's event bus: UI-agnostic, bounded. The console and `attach` read from it; nothing here blocks."""
from __future__ import annotations

import logging
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Callable

from .records import RequestRecord

log = logging.getLogger("bifrost.events")


@dataclass(slots=True)
class Event:
    kind: str  # "request", "failover", "breaker", "config", ...
    payload: Any
    seq: int = 0


@dataclass
class EventBus:
    capacity: int = 2000
    recent_requests: deque = field(default_factory=lambda: deque(maxlen=1000))
    events: deque = field(init=False)
    _subscribers: list[Callable[[Event], None]] = field(default_factory=list)
    _seq: int = 0

    def __post_init__(self) -> None:
        self.events = deque(maxlen=self.capacity)

    def subscribe(self, callback: Callable[[Event], None]) -> Callable[[], None]:
        self._subscribers.append(callback)
        return lambda: self._subscribers.remove(callback)

    def publish(self, kind: str, payload: Any) -> Event:
        self._seq += 1
        event = Event(kind, payload, self._seq)
        if kind == "request":
            self.recent_requests.append(event)
        else:
            self.events.append(event)
        for callback in list(self._subscribers):
            try:
                callback(event)
            except Exception:  # a broken subscriber must never break a request
                log.exception("event subscriber failed")
        return event

    def request_done(self, record: RequestRecord) -> None:
        """Publish a finished request (Gateway.finish has already dropped its prompt/response bodies)."""
        self.publish("request", record)

    @property
    def seq(self) -> int:
        return self._seq

    def requests_since(self, seq: int, limit: int = 1000) -> list[Event]:
        """Finished requests published after `seq` (oldest first); older ones may have left the ring."""
        out = []
        for event in reversed(self.recent_requests):  # newest first: stop at the first one already seen
            if event.seq <= seq:
                break
            out.append(event)
        out.reverse()
        return out[:limit]

    def events_since(self, seq: int) -> list[Event]:
        return [e for e in self.events if e.seq > seq]
