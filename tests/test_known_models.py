"""An allowed_models glob that matches no known model (a typo such as ``claude-sonet-*``) is warned about,
never refused: the pure check (app/core/known_models.py), the gateway's start and reload (a log warning
naming the key and the pattern), and the admin API (the warning logged and returned with the entity)."""
from __future__ import annotations

import json
import logging
from pathlib import Path

import aiohttp
import pytest

from app.core.config import Provider, VirtualKey, config_from_text
from app.core.known_models import allowed_models_warnings, known_models, unmatched_patterns, unmatched_warning
from app.core.pricing import PriceTable
from app.proxy.server import GatewayServer
from app.service.admin import AdminService
from app.service.console_source import LocalSource

ADMIN_TOKEN = "adm-known-models-3f9a1c7e5b"


@pytest.fixture(scope="module")
def prices() -> PriceTable:
    return PriceTable.load()


# -- the check ---------------------------------------------------------------------------------------------
def test_known_models_are_the_price_table_and_what_providers_are_configured_for(prices):
    providers = [Provider("local", "openai", models=["llama-3.1-70b", "qwen-*"], model_map={"fast": "llama-3.1-8b"}),
                 Provider("sim", "mock")]  # no models: the type's default ("*") names no model
    known = known_models(prices, providers)
    assert {"claude-sonnet-4-5", "claude-sonnet-4-5-20250929", "gpt-4o"} <= known  # names and aliases
    assert {"llama-3.1-70b", "qwen-*", "fast"} <= known
    assert "*" not in known and "llama-3.1-8b" not in known  # model_map's upstream ids are not requested names


def test_unmatched_patterns_use_the_gateways_glob_rule(prices):
    known = known_models(prices, [Provider("local", "openai", models=["qwen-*"])])
    assert unmatched_patterns(["claude-sonnet-4*", "claude-haiku-*", "gpt-4o", "*"], known) == []
    assert unmatched_patterns(["claude-sonet-*", "claude-sonnet-4*", "Claude-Sonnet-4*", "gpt-4.0"], known) == \
        ["claude-sonet-*", "Claude-Sonnet-4*", "gpt-4.0"]  # case-sensitive, as the gateway matches
    # a provider's own glob: the same glob, or one covering it, is known; a narrower one is not
    assert unmatched_patterns(["qwen-*", "q*"], known) == []
    assert unmatched_patterns(["qwen-2*"], known) == ["qwen-2*"]
    assert unmatched_patterns(None, known) == [] and unmatched_patterns([], known) == []


def test_warnings_name_the_key_and_the_pattern(prices):
    keys = [VirtualKey("dev-a", allowed_models=["claude-sonet-*", "claude-haiku-*"]), VirtualKey("dev-b"),
            VirtualKey("dev-c", allowed_models=["gtp-4o"])]
    warnings = allowed_models_warnings(keys, known_models(prices, []))
    assert warnings == [unmatched_warning("dev-a", "claude-sonet-*"), unmatched_warning("dev-c", "gtp-4o")]
    assert "virtual key 'dev-a': allowed_models pattern 'claude-sonet-*' matches no known model" in warnings[0]
    assert "pricing:" in warnings[0]  # what to do when the model is just new


# -- the gateway: config load, reload, the admin API ---------------------------------------------------------
def config_yaml(tmp_path: Path, allowed: str) -> str:
    return (f"storage: {{sqlite: {str(tmp_path / 'bifrost.db')!r}}}\n"
            "server: {admin_token: env:BIFROST_TEST_ADMIN_TOKEN}\n"
            "providers:\n  - {name: sim, type: mock, models: ['sim-*'], model_map: {house-model: claude-haiku-4-5}}\n"
            "virtual_keys:\n"
            f"  - {{name: dev-a, key: env:BIFROST_TEST_VK_A, allowed_models: {allowed}}}\n"
            "  - {name: dev-b, key: env:BIFROST_TEST_VK_B, allowed_models: ['claude-*', 'house-model', 'sim-*']}\n")


@pytest.fixture
def admin_env(test_env, monkeypatch):
    monkeypatch.setenv("BIFROST_TEST_ADMIN_TOKEN", ADMIN_TOKEN)


async def test_config_load_logs_a_warning_for_each_unmatched_pattern(tmp_path, admin_env, caplog):
    config = config_from_text(config_yaml(tmp_path, "['claude-sonet-*', 'claude-haiku-*']"), "t.yaml",
                              base_dir=tmp_path)
    server = GatewayServer(config, port=0)
    with caplog.at_level(logging.WARNING, logger="bifrost.gateway"):
        await server.start()
    try:
        logged = [r.getMessage() for r in caplog.records if r.name == "bifrost.gateway"]
        assert unmatched_warning("dev-a", "claude-sonet-*") in logged
        assert not any("claude-haiku-*" in m or "dev-b" in m for m in logged)  # model_map, provider globs known
        assert unmatched_warning("dev-a", "claude-sonet-*") in server.gateway.warnings
        # a warning, not an error: the key is served for what its patterns do match
        assert server.gateway.directory.by_name["dev-a"].allows("claude-haiku-4-5")
        # a reload of the file says it again, for the file as it is now
        caplog.clear()
        fresh = config_from_text(config_yaml(tmp_path, "['claude-haiku-*', 'gpt-4o-mni']"), "t.yaml",
                                 base_dir=tmp_path)
        with caplog.at_level(logging.WARNING, logger="bifrost.gateway"):
            await server.gateway.reload(fresh)
        logged = [r.getMessage() for r in caplog.records if r.name == "bifrost.gateway"]
        assert logged == [unmatched_warning("dev-a", "gpt-4o-mni")]
    finally:
        await server.stop()


async def test_admin_api_saves_the_pattern_and_returns_and_logs_the_warning(tmp_path, admin_env, caplog):
    config = config_from_text(config_yaml(tmp_path, "['claude-*']"), "t.yaml", base_dir=tmp_path)
    server = GatewayServer(config, port=0)
    await server.start()
    headers = {"authorization": f"Bearer {ADMIN_TOKEN}", "content-type": "application/json"}
    try:
        async with aiohttp.ClientSession() as session:
            async def call(method: str, path: str, body=None) -> tuple[int, dict]:
                async with session.request(method, server.url + path, headers=headers,
                                           data=None if body is None else json.dumps(body)) as resp:
                    return resp.status, await resp.json()

            with caplog.at_level(logging.WARNING, logger="bifrost.admin"):
                status, created = await call("POST", "/api/keys", {"name": "dev-new",
                                                                   "allowed_models": ["claude-sonet-*"]})
            assert status == 201 and created["allowed_models"] == ["claude-sonet-*"]  # saved all the same
            assert created["warnings"] == [unmatched_warning("dev-new", "claude-sonet-*")]
            assert [r.getMessage() for r in caplog.records if r.name == "bifrost.admin"] == created["warnings"]
            status, patched = await call("PATCH", "/api/keys/dev-new", {"allowed_models": ["claude-sonnet-4*"]})
            assert status == 200 and "warnings" not in patched
            status, patched = await call("PATCH", "/api/keys/dev-a", {"budgets": [{"limit": 5, "period": "1d"}]})
            assert status == 200 and "warnings" not in patched  # allowed_models not set: nothing to say
            status, models = await call("GET", "/api/models")
            assert status == 200 and "claude-sonnet-4-5" in models["data"] and "house-model" in models["data"]
            assert models["data"] == sorted(models["data"])
        source = LocalSource(server.gateway, AdminService(server.gateway))
        assert await source.models() == models["data"]  # what the console's form checks against
    finally:
        await server.stop()
