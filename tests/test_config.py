"""Config loading and validation: the example file loads as-is; every mistake is reported with file, line,
field path and an explanation (all of them at once); secret references resolve or fail without leaking."""
from __future__ import annotations

import os
import re
from decimal import Decimal

import keyring
import keyring.backend
import keyring.backends.fail
import keyring.errors
import pytest

from app.core.config import config_from_text, load_config
from app.core.config_source import ConfigError, format_path
from app.core.secrets import SecretError, SecretRef

from conftest import ROOT

EXAMPLE = ROOT / "config" / "bifrost.example.yaml"


# ----------------------------------------------------------------------------- the example file

def test_example_config_loads_as_is_without_env(monkeypatch):
    for name in list(os.environ):
        if name.startswith(("ANTHROPIC_", "AWS_", "OPENAI_", "VK_", "BIFROST_")):
            monkeypatch.delenv(name)
    cfg = load_config(EXAMPLE)
    assert cfg.timezone == "Asia/Kolkata"
    assert cfg.currency.code == "INR" and cfg.currency.per_usd == Decimal("84")
    assert cfg.server.host == "127.0.0.1" and cfg.server.port == 8080
    assert str(cfg.server.admin_token) == "env:BIFROST_ADMIN_TOKEN"
    assert cfg.sqlite_path == EXAMPLE.parent / "bifrost.db"

    assert [(p.name, p.type) for p in cfg.providers] == [
        ("anthropic", "anthropic"), ("bedrock", "bedrock"), ("openai", "openai"), ("sim", "mock")]
    anthropic_, bedrock, openai_, sim = cfg.providers
    assert [(k.name, str(k.secret), k.weight) for k in anthropic_.keys] == [
        ("org-main", "env:ANTHROPIC_API_KEY", 3), ("org-backup", "keyring:bifrost-tui/anthropic-backup", 1)]
    assert [(b.limit, b.period, b.rolling) for b in anthropic_.budgets] == [(Decimal(800000), "1M", False)]
    assert bedrock.region == "us-east-1" and str(bedrock.keys[0].access_key_id) == "env:AWS_ACCESS_KEY_ID"
    assert openai_.base_url == "https://api.openai.com/v1"
    assert sim.mock == {"latency_ms": 200, "tokens_per_second": 120}

    assert [(c.name, c.budgets[0].limit) for c in cfg.customers] == [("acme", Decimal(1500000))]
    assert [(t.name, t.customer, t.budgets[0].limit) for t in cfg.teams] == [
        ("backend", "acme", Decimal(400000)), ("interns", "acme", Decimal(20000))]

    pranay, intern = cfg.virtual_keys
    assert pranay.name == "dev-pranay" and pranay.team == "backend" and str(pranay.key) == "env:VK_DEV_PRANAY"
    assert [(b.limit, b.period) for b in pranay.budgets] == [(Decimal(25000), "1M"), (Decimal(2000), "1d")]
    rl = pranay.rate_limit
    assert (rl.requests_per_minute, rl.tokens_per_minute, rl.max_concurrent) == (100, 2_000_000, 10)
    assert pranay.allowed_models == ["claude-sonnet-4*", "claude-haiku-4-5*"]
    first, second = pranay.routing
    assert first.when == {"model": "claude-sonnet-4*", "max_input_tokens": 2000, "tools": False}
    assert [(t.provider, t.model, t.weight) for t in first.targets] == [("anthropic", "claude-haiku-4-5-20251001", 1)]
    assert second.when == {"model": "claude-*"}
    assert [(t.provider, t.model, t.weight) for t in second.targets] == [("anthropic", None, 80), ("bedrock", None, 20)]
    assert [(t.provider, t.model) for t in pranay.fallbacks] == [("bedrock", None), ("openai", "gpt-4o")]
    assert intern.team == "interns" and intern.rate_limit.requests_per_minute == 30
    assert intern.rate_limit.tokens_per_minute is None
    assert intern.allowed_models == ["claude-haiku-4-5*"]


# ----------------------------------------------------------------------------- invalid configs

BASE = """\
providers:
  - {name: up, type: anthropic, keys: [{name: main, secret: env:UP_KEY}]}
customers: [{name: acme}]
teams: [{name: backend, customer: acme}]
virtual_keys:
  - name: dev
    key: env:DEV_KEY
    team: backend
"""

# (id, yaml with the offending line marked "#<", field path, words the message must contain)
INVALID = [
    ("unknown-field", BASE + "  - {name: dev2, key: env:K2, colour: blue}  #<\n",
     "virtual_keys[1].colour", ["unknown field", "allowed_models"]),
    ("unknown-top-level", BASE + "budget: 5  #<\n", "budget", ["unknown field", "virtual_keys"]),
    ("wrong-type-port", "server:\n  port: eighty  #<\n" + BASE, "server.port", ["whole number", "eighty"]),
    ("wrong-type-bool", "logging:\n  store_content: 'yes'  #<\n" + BASE, "logging.store_content", ["true or false"]),
    ("wrong-type-list", BASE.replace("customers: [{name: acme}]", "customers: acme  #<"), "customers",
     ["list"]),
    ("port-range", "server: {port: 70000}  #<\n" + BASE, "server.port", ["65535"]),
    ("bad-period-2d", BASE + "    budgets: [{limit: 10, period: 2d}]  #<\n",
     "virtual_keys[0].budgets[0].period", ["1d, 1w, 1M or 1Y", "rolling: true"]),
    ("rolling-bad-period", BASE + "    budgets:\n      - limit: 10\n        period: 1M  #<\n        rolling: true\n",
     "virtual_keys[0].budgets[0].period", ["rolling", "5h"]),
    ("budget-without-limit", BASE + "    budgets: [{period: 1M}]  #<\n", "virtual_keys[0].budgets[0].limit",
     ["required"]),
    ("unknown-provider-type", "providers:\n  - name: up\n    type: azure  #<\n" + BASE.split("\n", 2)[2],
     "providers[0].type", ["expected one of", "anthropic", "bedrock", "openai", "mock", "azure"]),
    ("unknown-team", BASE.replace("    team: backend\n", "    team: frontend  #<\n"), "virtual_keys[0].team",
     ["no team named 'frontend'", "backend"]),
    ("unknown-customer", BASE.replace("customer: acme}]", "customer: globex}]  #<"), "teams[0].customer",
     ["no customer named 'globex'", "acme"]),
    ("unknown-provider-in-routing",
     BASE + "    routing:\n      - when: {model: 'claude-*'}\n        targets:\n          - provider: nope  #<\n",
     "virtual_keys[0].routing[0].targets[0].provider", ["no provider named 'nope'", "up"]),
    ("unknown-provider-in-fallbacks", BASE + "    fallbacks: [{provider: ghost}]  #<\n",
     "virtual_keys[0].fallbacks[0].provider", ["no provider named 'ghost'"]),
    ("unknown-provider-in-team-fallbacks",
     BASE.replace("teams: [{name: backend, customer: acme}]",
                  "teams:\n  - name: backend\n    customer: acme\n    fallbacks:\n      - provider: ghost  #<"),
     "teams[0].fallbacks[0].provider", ["no provider named 'ghost'"]),
    ("plain-text-secret", BASE.replace("secret: env:UP_KEY}]}", "secret: sk-ant-api03-PLAINTEXTSECRET0123}]}  #<"),
     "providers[0].keys[0].secret", ["env:", "keyring:"]),
    ("plain-text-vk", BASE.replace("key: env:DEV_KEY", "key: vk-plaintextkey-0123456789  #<"),
     "virtual_keys[0].key", ["env:", "keyring:"]),
    ("missing-provider-secret", BASE.replace("secret: env:UP_KEY}]}", "weight: 1}]}  #<"),
     "providers[0].keys[0].secret", ["required"]),
    ("key-and-key-hash",
     BASE + "  - name: dev2  #<\n    key: env:K2\n    key_hash: 'sha256:" + "a" * 64 + "'\n",
     "virtual_keys[1]", ["exactly one of", "key_hash"]),
    ("neither-key-nor-hash", BASE + "  - {name: dev2, team: backend}  #<\n", "virtual_keys[1]", ["exactly one of"]),
    ("bad-key-hash", BASE + "  - {name: dev2, key_hash: 'md5:abc'}  #<\n", "virtual_keys[1].key_hash",
     ["sha256:", "64"]),
    ("uppercase-key-hash", BASE + "  - {name: dev2, key_hash: 'sha256:" + "A" * 64 + "'}  #<\n",
     "virtual_keys[1].key_hash", ["sha256:"]),
    ("bad-timezone", "timezone: Mars/Olympus_Mons  #<\n" + BASE, "timezone", ["timezone", "Mars/Olympus_Mons",
                                                                               "Asia/Kolkata"]),
    ("duplicate-provider", BASE.replace("customers:", "  - {name: up, type: mock}  #<\ncustomers:"),
     "providers[1].name", ["duplicate", "'up'"]),
    ("duplicate-key", BASE + "  - {name: dev, key: env:OTHER}  #<\n", "virtual_keys[1].name", ["duplicate", "'dev'"]),
    ("duplicate-team", BASE.replace("teams: [{name: backend, customer: acme}]",
                                    "teams:\n  - {name: backend}\n  - {name: backend}  #<"),
     "teams[1].name", ["duplicate", "'backend'"]),
    ("bedrock-without-region",
     BASE.replace("customers:", "  - name: br  #<\n    type: bedrock\n    keys: [{name: aws, access_key_id: env:A, "
                                "secret: env:S}]\ncustomers:"),
     "providers[1].region", ["region", "us-east-1"]),
    ("bedrock-without-access-key",
     BASE.replace("customers:", "  - {name: br, type: bedrock, region: us-east-1, keys: [{name: aws, secret: env:S}]}  #<"
                                "\ncustomers:"),
     "providers[1].keys[0].access_key_id", ["required"]),
    ("negative-limit", BASE + "    budgets: [{limit: -5, period: 1M}]  #<\n", "virtual_keys[0].budgets[0].limit",
     ["at least 0", "-5"]),
    ("negative-rate-limit", BASE + "    rate_limit: {requests_per_minute: -1}  #<\n",
     "virtual_keys[0].rate_limit.requests_per_minute", ["greater than 0"]),
    ("zero-exchange-rate", "currency: {code: INR, per_usd: 0}  #<\n" + BASE, "currency.per_usd", ["greater than 0"]),
    ("bad-currency-code", "currency: {code: rupees}  #<\n" + BASE, "currency.code", ["ISO 4217"]),
    ("mock-field-on-real-provider",
     BASE.replace("keys: [{name: main, secret: env:UP_KEY}]}", "latency_ms: 5, keys: [{name: main, secret: env:UP_KEY}]}  #<"),
     "providers[0]", ["latency_ms", "type: mock"]),
    ("bad-expires-at", BASE + "    expires_at: next week  #<\n", "virtual_keys[0].expires_at", ["ISO 8601"]),
    ("routing-rule-without-targets", BASE + "    routing:\n      - when: {model: 'x'}  #<\n",
     "virtual_keys[0].routing[0].targets", ["at least one target"]),
    ("routing-when-wrong-type", BASE + "    routing:\n      - when: {tools: 'yes'}  #<\n        targets: [{provider: up}]\n",
     "virtual_keys[0].routing[0].when.tools", ["bool"]),
]


def marked_line(text: str) -> int:
    [line] = [i for i, s in enumerate(text.splitlines(), 1) if s.rstrip().endswith("#<")]
    return line


@pytest.mark.parametrize("text,path,words", [c[1:] for c in INVALID], ids=[c[0] for c in INVALID])
def test_invalid_config_names_line_path_and_reason(text, path, words):
    line = marked_line(text)
    with pytest.raises(ConfigError) as info:
        config_from_text(text, "cfg.yaml")
    issues = [i for i in info.value.issues if format_path(i.path) == path]
    assert issues, f"no issue at {path}: {info.value}"
    issue = issues[0]
    assert issue.line == line, f"{path} reported at line {issue.line}, expected {line}"
    for word in words:
        assert word in issue.message, f"{word!r} missing from {issue.message!r}"
    assert f"cfg.yaml:{line}: {path}: " in str(info.value)


@pytest.mark.parametrize("text,line", [
    ("providers:\n  - {name: up, type: mock\nteams: []\n", 3),
    ("server:\n  port: 8080\n    host: x\n", 3),
    ("providers: [\n", 2),
    ("a: 1\n---\nb: 2\n", 2),
    ("virtual_keys:\n  - name: dev\n\tkey: env:X\n", 3),
], ids=["unclosed-flow", "bad-indent", "eof", "two-documents", "tab"])
def test_invalid_yaml_reports_its_line(text, line):
    with pytest.raises(ConfigError) as info:
        config_from_text(text, "cfg.yaml")
    [issue] = info.value.issues
    assert "invalid YAML" in issue.message
    assert issue.line == line
    assert str(info.value).startswith(f"cfg.yaml:{line}: ")


def test_repeated_yaml_key_is_an_error():
    text = BASE + "server: {port: 8081}\nvirtual_keys:  #<\n  - {name: other, key: env:OTHER}\n"
    with pytest.raises(ConfigError) as info:
        config_from_text(text, "cfg.yaml")
    [issue] = [i for i in info.value.issues if format_path(i.path) == "virtual_keys"]
    assert issue.line == marked_line(text)
    assert "duplicate" in issue.message or "more than once" in issue.message or "repeated" in issue.message


def test_several_errors_are_reported_together():
    text = (
        "timezone: Nowhere/City  #1\n"
        "providers:\n"
        "  - {name: up, type: azure}  #2\n"
        "virtual_keys:\n"
        "  - name: dev\n"
        "    key: env:DEV\n"
        "    team: ghosts  #3\n"
        "    budgets: [{limit: -1, period: 3d}]  #4\n"
    )
    with pytest.raises(ConfigError) as info:
        config_from_text(text, "multi.yaml")
    found = {(format_path(i.path), i.line) for i in info.value.issues}
    assert {("timezone", 1), ("providers[0].type", 3), ("virtual_keys[0].team", 7),
            ("virtual_keys[0].budgets[0].limit", 8), ("virtual_keys[0].budgets[0].period", 8)} <= found
    lines = str(info.value).splitlines()
    assert len(lines) == len(info.value.issues) >= 5
    assert all(re.match(r"multi\.yaml:\d+: \S+: .+", s) for s in lines)


def test_load_config_reports_the_file_path(tmp_path):
    path = tmp_path / "bifrost.yaml"
    path.write_text("providers:\n  - {name: up, type: nope}\n")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert str(info.value).startswith(f"{path}:2: providers[0].type: ")


def test_valid_minimal_config_and_defaults(tmp_path):
    cfg = config_from_text(BASE, "cfg.yaml", base_dir=tmp_path)
    assert cfg.timezone == "UTC" and cfg.currency.code == "USD"
    assert cfg.server.shutdown_timeout_s == 30.0
    assert cfg.sqlite_path == tmp_path / "bifrost.db"
    assert cfg.providers[0].base_url == "https://api.anthropic.com"
    assert config_from_text("", "empty.yaml").providers == []


# ----------------------------------------------------------------------------- secrets

SECRET = "sk-ant-api03-Zx9Qw8Er7Ty6Ui5Op4"


@pytest.mark.parametrize("text", [
    BASE.replace("secret: env:UP_KEY", f"secret: {SECRET}"),
    BASE.replace("secret: env:UP_KEY", f"secret: '{SECRET}'") + "server: {admin_token: " + SECRET + "}\n",
    BASE.replace("key: env:DEV_KEY", f"key: {SECRET}"),
    BASE.replace("secret: env:UP_KEY", f"secret: 'env:{SECRET}'"),  # '-' is not allowed in a variable name
    BASE.replace("secret: env:UP_KEY", f"secret: 'keyring:{SECRET}'"),  # no SERVICE/USERNAME
], ids=["provider", "admin-token", "virtual-key", "env-with-secret", "keyring-with-secret"])
def test_plain_secret_is_never_echoed(text):
    with pytest.raises(ConfigError) as info:
        config_from_text(text, "cfg.yaml")
    assert SECRET not in str(info.value)
    assert SECRET[:12] not in str(info.value)
    assert "env:" in str(info.value)


def test_plain_secret_with_a_colon_is_never_echoed():
    secret = "sk-ant-api03-Zx9Qw8Er7Ty6Ui5Op4:tail"
    text = BASE.replace("secret: env:UP_KEY", f"secret: '{secret}'")
    with pytest.raises(ConfigError) as info:
        config_from_text(text, "cfg.yaml")
    assert "sk-ant-api03-Zx9Qw8Er7Ty6Ui5Op4" not in str(info.value)


def test_env_secret_resolves(monkeypatch):
    monkeypatch.setenv("BIFROST_TEST_SECRET_X", SECRET)
    assert SecretRef.parse("env:BIFROST_TEST_SECRET_X").resolve() == SECRET


@pytest.mark.parametrize("value", [None, ""], ids=["unset", "empty"])
def test_env_secret_unset_names_the_variable(monkeypatch, value):
    if value is None:
        monkeypatch.delenv("BIFROST_TEST_NOT_SET_Q", raising=False)
    else:
        monkeypatch.setenv("BIFROST_TEST_NOT_SET_Q", value)
    with pytest.raises(SecretError) as info:
        SecretRef.parse("env:BIFROST_TEST_NOT_SET_Q").resolve()
    assert "BIFROST_TEST_NOT_SET_Q" in str(info.value)


@pytest.fixture
def swap_keyring():
    previous = keyring.get_keyring()

    def use(backend):
        keyring.set_keyring(backend)

    yield use
    keyring.set_keyring(previous)


def test_keyring_without_backend_points_to_env(swap_keyring):
    swap_keyring(keyring.backends.fail.Keyring())
    with pytest.raises(SecretError) as info:
        SecretRef.parse("keyring:bifrost-tui/anthropic-backup").resolve()
    message = str(info.value)
    assert "no OS keyring backend" in message or "no keyring backend" in message
    assert "env:" in message
    assert "bifrost-tui/anthropic-backup" in message


class MemoryKeyring(keyring.backend.KeyringBackend):
    priority = 1

    def __init__(self, entries: dict | None = None, fail_with: str | None = None):
        super().__init__()
        self.entries = entries or {}
        self.fail_with = fail_with

    def get_password(self, service, username):
        if self.fail_with:
            raise keyring.errors.KeyringLocked(self.fail_with)
        return self.entries.get((service, username))

    def set_password(self, service, username, password):
        self.entries[(service, username)] = password

    def delete_password(self, service, username):
        self.entries.pop((service, username), None)


def test_keyring_secret_resolves_and_missing_entry_is_explained(swap_keyring):
    swap_keyring(MemoryKeyring({("bifrost-tui", "main"): SECRET}))
    assert SecretRef.parse("keyring:bifrost-tui/main").resolve() == SECRET
    with pytest.raises(SecretError) as info:
        SecretRef.parse("keyring:bifrost-tui/other").resolve()
    assert "bifrost-tui/other" in str(info.value) and SECRET not in str(info.value)


def test_keyring_error_never_carries_the_secret(swap_keyring):
    swap_keyring(MemoryKeyring(fail_with=f"locked while reading {SECRET}"))
    with pytest.raises(SecretError) as info:
        SecretRef.parse("keyring:bifrost-tui/main").resolve()
    assert SECRET not in str(info.value)
