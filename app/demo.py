"""`bifrost-tui demo`: the gateway, simulated providers and synthetic traffic from a few fake developers.

Everything is SIMULATED and labelled so. Within seconds: requests flow, one developer blows a tiny
daily budget (402s), the primary simulated provider starts answering 529 so failover fires to the
backup, and interns' Opus requests are routed to Haiku (routing savings).
"""
from __future__ import annotations

import asyncio
import dataclasses
import random
import tempfile
from pathlib import Path

import aiohttp

from .core.config import Config, config_from_text
from .core.keys import hash_key

DEVELOPERS = (  # name, team, models they ask for, stream share
    ("pranay", "backend", ("claude-sonnet-4-5", "claude-haiku-4-5"), 0.7),
    ("asha", "backend", ("claude-sonnet-4-5",), 0.5),
    ("li", "frontend", ("claude-haiku-4-5", "claude-sonnet-4-5"), 0.6),
    ("maria", "frontend", ("claude-opus-4-1",), 0.5),
    ("intern-sam", "interns", ("claude-opus-4-1", "claude-haiku-4-5"), 0.5),
)
PROMPTS = ("refactor the session cache", "why does this test flake?", "write a migration for the orders table",
           "explain this stack trace", "run echo hello", "summarise the PR review comments")


def demo_config(data_dir: Path, port: int = 0) -> tuple[Config, dict[str, str]]:
    keys = {name: f"vk-demo-{name}" for name, *_ in DEVELOPERS}
    lines = [
        f"server: {{host: 127.0.0.1, port: {port}}}",
        f"storage: {{sqlite: {str(data_dir / 'demo.db')!r}}}",
        "currency: {code: INR, symbol: '₹', per_usd: 84.0}",
        "timezone: Asia/Kolkata",
        "providers:",
        "  - {name: primary-sim, type: mock, latency_ms: 120, tokens_per_second: 400, breaker_failures: 3,"
        " breaker_cooldown_s: 8, budgets: [{limit: 5000, period: 1M}]}",
        "  - {name: backup-sim, type: mock, latency_ms: 200, tokens_per_second: 250}",
        "customers: [{name: acme, budgets: [{limit: 20000, period: 1M}]}]",
        "teams:",
        "  - {name: backend, customer: acme, budgets: [{limit: 8000, period: 1M}], fallbacks: [{provider: backup-sim}]}",
        "  - {name: frontend, customer: acme, budgets: [{limit: 6000, period: 1M}], fallbacks: [{provider: backup-sim}]}",
        "  - name: interns",
        "    customer: acme",
        "    budgets: [{limit: 500, period: 1M}]",
        "    routing: [{when: {model: 'claude-opus-*'}, targets: [{provider: primary-sim, model: claude-haiku-4-5}]}]",
        "    fallbacks: [{provider: backup-sim}]",
        "virtual_keys:",
    ]
    for name, team, *_ in DEVELOPERS:
        budget = "[{limit: 0.5, period: 1d}]" if name == "asha" else "[{limit: 2000, period: 1d}, {limit: 9000, period: 1M}]"
        lines.append(f"  - {{name: {name}, team: {team}, key_hash: '{hash_key(keys[name])}', budgets: {budget}}}")
    return config_from_text("\n".join(lines) + "\n", "(demo config)", base_dir=data_dir), keys


async def developer(session: aiohttp.ClientSession, url: str, key: str, models, stream_share: float,
                    rng: random.Random, stop: asyncio.Event) -> None:
    while not stop.is_set():
        body = {"model": rng.choice(models), "max_tokens": rng.choice((512, 2048, 8192)),
                "stream": rng.random() < stream_share,
                "messages": [{"role": "user", "content": rng.choice(PROMPTS) + " " + "context " * rng.randint(5, 400)}]}
        try:
            async with session.post(f"{url}/anthropic/v1/messages", json=body,
                                    headers={"x-api-key": key, "user-agent": "bifrost-demo/1 (simulated developer)",
                                             "x-claude-code-session-id": f"demo-{key[-6:]}"}) as resp:
                async for _ in resp.content.iter_any():
                    pass
        except aiohttp.ClientError:
            pass
        try:
            await asyncio.wait_for(stop.wait(), rng.uniform(0.2, 1.5))
        except asyncio.TimeoutError:
            pass


async def trouble(server, stop: asyncio.Event, after_s: float = 6.0) -> None:
    """After a few seconds the primary simulated provider starts answering 529 (failover fires),
    then recovers, in a loop."""
    primary = next(p for p in server.gateway.providers if p.name == "primary-sim")
    calm = primary.engine.settings
    while not stop.is_set():
        for settings, hold in ((calm, after_s), (dataclasses.replace(calm, error_rate_529=0.6), 12.0)):
            primary.engine.settings = settings
            try:
                await asyncio.wait_for(stop.wait(), hold)
                return
            except asyncio.TimeoutError:
                pass


async def run_traffic(server, keys: dict[str, str], stop: asyncio.Event, seed: int = 7) -> None:
    rng = random.Random(seed)
    async with aiohttp.ClientSession() as session:
        tasks = [asyncio.create_task(developer(session, server.url, keys[name], models, share,
                                               random.Random(rng.random()), stop))
                 for name, _, models, share in DEVELOPERS]
        tasks.append(asyncio.create_task(trouble(server, stop)))
        await stop.wait()
        await asyncio.gather(*tasks, return_exceptions=True)


def demo_data_dir() -> Path:
    return Path(tempfile.mkdtemp(prefix="bifrost-demo-"))
