"""Shared helpers for console (Textual) tests. Import with `from tui_harness import ...` (pytest puts
tests/ on sys.path) — `from tests.tui_harness import ...` works too.

Stable API (others depend on it; extend, don't change):

- `FakeSource(...)`: implements every async method of `LocalSource` (overview, requests_since,
  events_since, series, budgets, entities, providers, models, create, update, delete, rotate_key,
  set_provider_secret) over scripted, deterministic data: fixed timestamps (`BASE_TS` + n seconds),
  fixed uptime and numbers. Append between polls:
    `fake.add_request(**fields) -> dict`        one request row (record_dict fields + seq), defaults filled
    `fake.add_requests(n, cycle=None, **fields)` n rows; `cycle={"key": ["a", "b"]}` rotates values
    `fake.add_failover(key, from_, to, reason, request_id=None)` / `fake.add_breaker(provider, key, from_, to,
                                                                                   reason)`
    `fake.add_event(kind, **payload)`           any other event
    `fake.set_summary(**fields)`                 overview()["summary"] fields
    `fake.set_circuit(provider, key, state, failures=0, retry_in_s=None, last_error=None)`
    `fake.fail_with(exc)` / `fake.fail_with(None)` every call raises exc (a lost remote gateway)
  Mutations (create/update/...) are recorded in `fake.calls` as (method, args...) and applied to
  `fake.entities_by_kind`; raise `SourceError` like the real source for unknown names/duplicates.
  `FakeSource.scene()` returns a fake pre-filled with a standard scene (4 keys, 3 providers, a routed
  request, errors, failovers and breaker changes) used by the snapshot tests.
- `make_app(fake=None, readonly=False, poll_interval=3600.0) -> ConsoleApp`: the console on a fake
  source. The poll timer is effectively off; drive polls with `await app.poll()` then
  `await pilot.pause()`.
- `fake_source` pytest fixture: `FakeSource.scene()`.
- `start_gateway(tmp_path, **kw) -> (GatewayServer, LocalSource)`: a REAL in-process gateway on port 0
  with the simulated (mock) provider and two virtual keys (`GATEWAY_KEYS`: name -> secret); call
  `await server.stop()` when done, or use `async with running_gateway(tmp_path) as (server, source)`.
- `send_messages(server, n=1, key="dev-a", model=..., stream=False) -> list[int]`: POST n requests with
  aiohttp, returns the HTTP statuses.
"""
from __future__ import annotations

import copy
import itertools
from collections import deque
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from app.service.console_source import SourceError

BASE_TS = datetime(2026, 11, 3, 4, 30, 0, tzinfo=UTC)  # 10:00:00 in Asia/Kolkata
LISTEN = "http://127.0.0.1:8080"


def _default_summary() -> dict:
    return {"uptime_s": 3723.0, "rps": 1.5, "error_pct": 2.5, "p50_ms": 420.0, "p95_ms": 1850.0, "in_flight": 2,
            "spend_today_micro_usd": 1_250_000, "spend_month_micro_usd": 48_200_000,
            "saved_month_micro_usd": 6_300_000,
            "top_keys": [("pranay", 21_000_000), ("asha", 14_500_000), ("li", 8_200_000),
                         ("intern-sam", 4_500_000)],
            "requests_total": 1234, "errors_total": 31, "loop_lag_ms": 1.2}


def _circuit(provider: str, key: str, state: str = "closed", failures: int = 0, retry_in_s=None,
             last_error=None) -> dict:
    return {"provider": provider, "key": key, "state": state, "failures": failures, "retry_in_s": retry_in_s,
            "last_error": last_error}


def _budget_status(level: str, entity: str, spent_micro: int, limit_micro: int, label: str = "Monthly",
                   period: str = "1M") -> dict:
    pct = round(100.0 * spent_micro / limit_micro, 2) if limit_micro else 0.0
    return {"level": level, "entity": entity, "period": period, "rolling": False, "label": label,
            "currency": "INR", "spent_micro_usd": spent_micro, "reserved_micro_usd": 0,
            "limit_micro_usd": limit_micro, "used_pct": pct, "resets_at": "2026-11-30T18:30:00+00:00",
            "resets_at_local": "2026-12-01 00:00 IST", "runs_out_at": None,
            "text": f"₹{spent_micro * 84 / 1e6:,.2f} of ₹{limit_micro * 84 / 1e6:,.2f}"}


def _default_providers() -> list[dict]:
    return [
        {"name": "anthropic", "type": "anthropic", "base_url": "https://api.anthropic.com", "keys": ["main", "spare"],
         "budgets": [{"limit": 50000, "period": "1M"}],
         "budget_status": [_budget_status("provider", "anthropic", 300_000_000, 595_238_095)],
         "available": True, "simulated": False, "served": True,
         "circuits": [_circuit("anthropic", "main"), _circuit("anthropic", "spare")]},
        {"name": "primary-sim", "type": "mock", "base_url": None, "keys": [], "budgets": [], "budget_status": [],
         "available": True, "simulated": True, "served": True,
         "circuits": [_circuit("primary-sim", "simulated", "open", 4, 12.5, "HTTP 529")]},
        {"name": "backup-sim", "type": "mock", "base_url": None, "keys": [], "budgets": [], "budget_status": [],
         "available": True, "simulated": True, "served": True,
         "circuits": [_circuit("backup-sim", "simulated")]},
    ]


FAKE_MODELS = ("claude-haiku-4-5", "claude-opus-4-5", "claude-sonnet-4-5", "gpt-4o")


class FakeSource:
    """A scripted ConsoleSource: deterministic, in memory, no gateway. See the module docstring."""

    remote = False

    def __init__(self, *, listen: str = LISTEN, timezone_name: str = "Asia/Kolkata",
                 currency: dict | None = None, summary: dict | None = None, providers: list[dict] | None = None,
                 budgets: list[dict] | None = None, ring: int = 1000):
        self.listen = listen
        self.timezone = timezone_name
        self.currency = currency or {"code": "INR", "symbol": "₹", "per_usd": "84.0"}
        self.summary = _default_summary() | (summary or {})
        self.providers_list = providers if providers is not None else _default_providers()
        self.model_names = list(FAKE_MODELS)  # models(): what the gateway knows (price table, providers)
        self.budget_list = budgets if budgets is not None else []
        self.series_data: dict = {"minutes": [], "rps": [], "p50_ms": [], "p95_ms": [], "spend_micro_usd": [],
                                  "by_key": {}, "by_team": {}, "by_model": {}}
        self.entities_by_kind: dict[str, list[dict]] = {"virtual_key": [], "team": [], "customer": []}
        self._seq = 0
        self._n_requests = 0
        self._requests: deque = deque(maxlen=ring)  # like the gateway's event bus: the newest `ring` rows
        self._events: deque = deque(maxlen=2000)
        self.calls: list[tuple] = []
        self._fail: Exception | None = None

    # -- scripting -------------------------------------------------------------------------------
    def add_request(self, **fields) -> dict:
        """Append one finished request; unspecified fields get deterministic defaults."""
        self._seq += 1
        self._n_requests += 1
        n = self._n_requests
        key = fields.get("key", "pranay")
        requested = fields.get("requested_model", "claude-sonnet-4-5")
        served = fields.get("served_model", requested)
        provider = fields.get("provider", "anthropic")
        status = fields.get("status", 200)
        latency = fields.get("latency_ms", 850.0)
        stream = fields.get("stream", True)
        row = {
            "id": f"req_{n:08d}", "ts": (BASE_TS + timedelta(seconds=n)).isoformat(), "path": "/v1/messages",
            "key": key, "team": "backend", "customer": "acme", "requested_model": requested,
            "served_model": served, "provider": provider, "provider_key": "main", "simulated": False,
            "stream": stream, "status": status, "error_type": None, "error_message": None,
            "input_tokens": 12, "output_tokens": 350, "cache_read_tokens": 18_000, "cache_write_5m_tokens": 1_200,
            "cache_write_1h_tokens": 0, "cost_micro_usd": 12_345, "priced": True, "requested_cost_micro_usd": None,
            "latency_ms": latency, "ttft_ms": 310.0 if stream else None, "user_agent": "claude-cli/2.1.197 (external, cli)",
            "session_id": f"sess-{key}", "rule": None,
            "attempts": [{"provider": provider, "key": "main", "model": served, "status": status,
                          "latency_ms": latency}],
        }
        row.update(fields)
        if "requested_cost_micro_usd" not in fields:
            row["requested_cost_micro_usd"] = row["cost_micro_usd"]
        row["seq"] = self._seq
        self._requests.append(row)
        return row

    def add_requests(self, n: int, cycle: dict | None = None, **fields) -> list[dict]:
        """n rows; `cycle={"key": ["a", "b"], "status": [200, 529]}` rotates those fields row by row."""
        iters = {name: itertools.cycle(values) for name, values in (cycle or {}).items()}
        return [self.add_request(**fields, **{name: next(it) for name, it in iters.items()}) for _ in range(n)]

    def add_event(self, kind: str, **payload) -> dict:
        self._seq += 1
        event = {"seq": self._seq, "kind": kind, "at": (BASE_TS + timedelta(seconds=self._seq)).isoformat()}
        event.update(payload)
        self._events.append(event)
        return event

    def add_failover(self, key: str, from_: str, to: str, reason: str = "HTTP 529",
                     request_id: str | None = None, **extra) -> dict:
        return self.add_event("failover", request_id=request_id, key=key, **{"from": from_, "to": to},
                              reason=reason, **extra)

    def add_breaker(self, provider: str, key: str, from_: str, to: str, reason: str | None = "HTTP 529",
                    **extra) -> dict:
        return self.add_event("breaker", provider=provider, key=key, **{"from": from_, "to": to}, reason=reason,
                              **extra)

    def set_summary(self, **fields) -> None:
        self.summary.update(fields)

    def set_circuit(self, provider: str, key: str, state: str, failures: int = 0, retry_in_s=None,
                    last_error=None) -> None:
        for p in self.providers_list:
            if p["name"] == provider:
                p["circuits"] = [c for c in p["circuits"] if c["key"] != key]
                p["circuits"].append(_circuit(provider, key, state, failures, retry_in_s, last_error))
                return
        raise KeyError(provider)

    def fail_with(self, exc: Exception | None) -> None:
        """Make every call raise `exc` (None restores) — a gateway that went away."""
        self._fail = exc

    @property
    def requests(self) -> list[dict]:
        return list(self._requests)

    @classmethod
    def scene(cls) -> FakeSource:
        """The standard deterministic scene (snapshots and most tests start from it)."""
        fake = cls(budgets=[_budget_status("key", "asha", 5_500_000, 5_952_381, "Daily", "1d"),
                            _budget_status("team", "backend", 30_000_000, 95_238_095),
                            _budget_status("team", "interns", 4_000_000, 5_952_381),
                            _budget_status("customer", "acme", 48_200_000, 238_095_238)])
        fake.entities_by_kind = {
            "virtual_key": [{"name": n, "team": t} for n, t in (("pranay", "backend"), ("asha", "backend"),
                                                                  ("li", "frontend"), ("intern-sam", "interns"))],
            "team": [{"name": "backend", "customer": "acme"}, {"name": "frontend", "customer": "acme"},
                     {"name": "interns", "customer": "acme"}],
            "customer": [{"name": "acme"}]}
        fake.add_requests(6, cycle={"key": ["pranay", "asha", "li"], "team": ["backend", "backend", "frontend"]})
        fake.add_request(key="intern-sam", team="interns", requested_model="claude-opus-4-1",
                         served_model="claude-haiku-4-5", provider="primary-sim", simulated=True,
                         rule="team:0", cost_micro_usd=2_100, requested_cost_micro_usd=10_500,
                         input_tokens=900, cache_read_tokens=0, cache_write_5m_tokens=0)
        r = fake.add_request(key="li", team="frontend", provider="backup-sim", simulated=True,
                             attempts=[{"provider": "primary-sim", "key": "simulated", "model": "claude-sonnet-4-5",
                                        "status": 529, "latency_ms": 120.0, "error": "HTTP 529"},
                                       {"provider": "backup-sim", "key": "simulated", "model": "claude-sonnet-4-5",
                                        "status": 200, "latency_ms": 640.0}])
        fake.add_failover("li", "primary-sim", "backup-sim", "HTTP 529", request_id=r["id"])
        fake.add_request(key="asha", status=402, provider=None, error_type="billing_error",
                         error_message="Daily budget for key asha cannot cover this request.", input_tokens=0,
                         output_tokens=0, cache_read_tokens=0, cache_write_5m_tokens=0, cost_micro_usd=0,
                         latency_ms=0.4, stream=False, attempts=[])
        fake.add_breaker("primary-sim", "simulated", "closed", "open", "HTTP 529")
        fake.add_request(key="pranay", status=529, error_type="overloaded_error", error_message="Overloaded",
                         provider="primary-sim", output_tokens=0, cost_micro_usd=0, latency_ms=130.0, stream=False)
        fake.add_breaker("anthropic", "spare", "open", "half-open", None)
        fake.add_breaker("anthropic", "spare", "half-open", "closed", None)
        return fake

    # -- the ConsoleSource interface -------------------------------------------------------------
    def _check(self) -> None:
        if self._fail is not None:
            raise self._fail

    async def overview(self) -> dict:
        self._check()
        return {"listen": self.listen, "summary": copy.deepcopy(self.summary), "currency": dict(self.currency),
                "timezone": self.timezone, "providers": copy.deepcopy(self.providers_list)}

    async def requests_since(self, seq: int, limit: int = 1000) -> tuple[int, list[dict]]:
        self._check()
        out = [r for r in self._requests if r["seq"] > seq][-limit:]
        return (out[-1]["seq"] if out else seq), [copy.deepcopy(r) for r in out]

    async def events_since(self, seq: int) -> tuple[int, list[dict]]:
        self._check()
        out = [e for e in self._events if e["seq"] > seq]
        return (out[-1]["seq"] if out else seq), [dict(e) for e in out]

    async def series(self, minutes: int = 60) -> dict:
        self._check()
        return copy.deepcopy(self.series_data)

    async def budgets(self) -> list[dict]:
        self._check()
        return copy.deepcopy(self.budget_list)

    async def entities(self, kind: str) -> list[dict]:
        self._check()
        return copy.deepcopy(self.entities_by_kind.get(kind, []))

    async def names(self, kind: str) -> list[str]:
        self._check()
        return [e["name"] for e in self.entities_by_kind.get(kind, [])]

    async def providers(self) -> list[dict]:
        self._check()
        return copy.deepcopy(self.providers_list)

    async def models(self) -> list[str]:
        self._check()
        return list(self.model_names)

    def _find(self, kind: str, name: str) -> dict:
        for e in self.entities_by_kind.setdefault(kind, []):
            if e.get("name") == name:
                return e
        raise SourceError(f"no {kind} named {name!r}")

    async def create(self, kind: str, data: dict) -> tuple[dict, str | None]:
        self._check()
        self.calls.append(("create", kind, copy.deepcopy(data)))
        if any(e.get("name") == data.get("name") for e in self.entities_by_kind.setdefault(kind, [])):
            raise SourceError(f"{kind} {data.get('name')!r} already exists")
        entity = copy.deepcopy(data)
        self.entities_by_kind[kind].append(entity)
        secret = f"vk-fake-{data.get('name')}-0001" if kind == "virtual_key" else None
        return copy.deepcopy(entity), secret

    async def update(self, kind: str, name: str, patch: dict) -> dict:
        self._check()
        self.calls.append(("update", kind, name, copy.deepcopy(patch)))
        entity = self._find(kind, name)
        entity.update(copy.deepcopy(patch))
        return copy.deepcopy(entity)

    async def delete(self, kind: str, name: str) -> None:
        self._check()
        self.calls.append(("delete", kind, name))
        entity = self._find(kind, name)
        self.entities_by_kind[kind].remove(entity)

    async def rotate_key(self, name: str) -> tuple[dict, str]:
        self._check()
        self.calls.append(("rotate_key", name))
        entity = self._find("virtual_key", name)
        n = sum(1 for c in self.calls if c[0] == "rotate_key")
        return copy.deepcopy(entity), f"vk-fake-{name}-{n + 1:04d}"

    async def set_provider_secret(self, service: str, username: str, value: str) -> None:
        self._check()
        self.calls.append(("set_provider_secret", service, username, "***"))

    async def close(self) -> None:  # RemoteSource has one; nothing to release here
        pass


def make_app(fake: FakeSource | None = None, readonly: bool = False, poll_interval: float = 3600.0):
    """A ConsoleApp on `fake` (default: FakeSource.scene()); polls once at mount, then only when the
    test calls `await app.poll()`."""
    from app.tui.app import ConsoleApp
    return ConsoleApp(fake if fake is not None else FakeSource.scene(), readonly=readonly,
                      poll_interval=poll_interval)


@pytest.fixture
def fake_source() -> FakeSource:
    return FakeSource.scene()


# -- a real in-process gateway ---------------------------------------------------------------------

GATEWAY_KEYS = {"dev-a": "vk-harness-dev-a-7c1e9a2b4d6f8e0a1c3b5d7f",
                "dev-b": "vk-harness-dev-b-2b4d6f8e0a1c3b5d7f9e1a3c"}


def gateway_config(tmp_path: Path, extra: str = ""):
    """Config text for start_gateway: SQLite under tmp_path, INR, Asia/Kolkata, one fast mock provider."""
    from app.core.config import config_from_text
    from app.core.keys import hash_key
    keys = "".join(f"  - {{name: {name}, team: backend, key_hash: '{hash_key(secret)}'}}\n"
                   for name, secret in GATEWAY_KEYS.items())
    text = (f"server: {{host: 127.0.0.1, port: 0}}\n"
            f"storage: {{sqlite: {str(Path(tmp_path) / 'tui.db')!r}}}\n"
            "timezone: Asia/Kolkata\ncurrency: {code: INR, symbol: '₹', per_usd: 84.0}\n"
            "customers: [{name: acme}]\nteams: [{name: backend, customer: acme}]\n"
            "providers:\n  - {name: sim, type: mock, latency_ms: 5, tokens_per_second: 5000}\n"
            f"virtual_keys:\n{keys}{extra}")
    return config_from_text(text, "tui-harness.yaml", base_dir=Path(tmp_path))


async def start_gateway(tmp_path: Path, extra: str = ""):
    """Start a real gateway (port 0, mock provider) in this loop; returns (server, LocalSource)."""
    from app.proxy.server import GatewayServer
    from app.service.admin import AdminService
    from app.service.console_source import LocalSource
    server = GatewayServer(gateway_config(tmp_path, extra), port=0)
    await server.start()
    return server, LocalSource(server.gateway, AdminService(server.gateway), server.url)


@asynccontextmanager
async def running_gateway(tmp_path: Path, extra: str = ""):
    server, source = await start_gateway(tmp_path, extra)
    try:
        yield server, source
    finally:
        await server.stop()


async def send_messages(server, n: int = 1, key: str = "dev-a", model: str = "claude-sonnet-4-5",
                        stream: bool = False, text: str = "hello") -> list[int]:
    """POST n /anthropic/v1/messages requests with the named virtual key; returns the statuses."""
    import aiohttp
    statuses = []
    async with aiohttp.ClientSession() as session:
        for _ in range(n):
            body = {"model": model, "max_tokens": 64, "stream": stream,
                    "messages": [{"role": "user", "content": text}]}
            async with session.post(f"{server.url}/anthropic/v1/messages", json=body,
                                    headers={"x-api-key": GATEWAY_KEYS[key],
                                             "user-agent": "tui-harness/1"}) as resp:
                await resp.read()
                statuses.append(resp.status)
    return statuses
