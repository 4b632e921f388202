"""The configuration model: what a bifrost.yaml holds, as dataclasses (parsing is in config_parse.py)."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from pathlib import Path

from .secrets import SecretRef

PROVIDER_TYPES = ("anthropic", "bedrock", "openai", "mock")
DEFAULT_BASE_URLS = {"anthropic": "https://api.anthropic.com", "openai": "https://api.openai.com/v1"}
CALENDAR_PERIODS = ("1d", "1w", "1M", "1Y")
ROLLING_PERIOD = re.compile(r"^([1-9][0-9]*)([hd])$")
KEY_HASH = re.compile(r"^sha256:[0-9a-f]{64}$")
WHEN_FIELDS = {
    "model": str, "min_input_tokens": int, "max_input_tokens": int, "tools": bool, "images": bool,
    "thinking": bool, "min_messages": int, "max_messages": int, "header": dict,
    "budget_used_pct_above": Decimal,
}


@dataclass
class Budget:
    limit: Decimal  # in the display currency
    period: str  # 1d 1w 1M 1Y, or Nh / Nd when rolling
    rolling: bool = False


@dataclass
class RateLimit:
    requests_per_minute: int | None = None
    tokens_per_minute: int | None = None
    max_concurrent: int | None = None


@dataclass
class Target:
    provider: str
    model: str | None = None
    weight: int = 1


@dataclass
class RoutingRule:
    when: dict
    targets: list[Target]


@dataclass
class ProviderKey:
    name: str
    secret: SecretRef | None = None
    access_key_id: SecretRef | None = None
    session_token: SecretRef | None = None
    weight: int = 1


@dataclass
class Provider:
    name: str
    type: str
    base_url: str | None = None
    region: str | None = None
    keys: list[ProviderKey] = field(default_factory=list)
    budgets: list[Budget] = field(default_factory=list)
    models: list[str] | None = None  # globs this provider serves; None = the type's default
    timeout_s: float = 600.0  # longest silence while reading a response
    connect_timeout_s: float = 10.0
    first_byte_timeout_s: float = 120.0  # until the response status (and, when streaming, the first event)
    model_map: dict[str, str] = field(default_factory=dict)  # requested model -> this provider's model id
    inference_profile: str | None = None  # bedrock: us | eu | apac | global cross-region profile prefix
    auth_header: str | None = None  # openai-compatible: "authorization" (Bearer, default) or "api-key" (Azure)
    query_params: dict[str, str] = field(default_factory=dict)  # e.g. {api-version: 2024-10-21} for Azure
    breaker_failures: int = 5  # consecutive failures that open a key's circuit
    breaker_cooldown_s: float = 30.0  # how long an open circuit skips the key before one probe
    mock: dict = field(default_factory=dict)  # settings of the simulated provider


@dataclass
class Customer:
    name: str
    budgets: list[Budget] = field(default_factory=list)
    rate_limit: RateLimit | None = None


@dataclass
class Team:
    name: str
    customer: str | None = None
    budgets: list[Budget] = field(default_factory=list)
    rate_limit: RateLimit | None = None
    routing: list[RoutingRule] = field(default_factory=list)
    fallbacks: list[Target] = field(default_factory=list)


@dataclass
class VirtualKey:
    name: str
    key: SecretRef | None = None
    key_hash: str | None = None
    team: str | None = None
    customer: str | None = None
    budgets: list[Budget] = field(default_factory=list)
    rate_limit: RateLimit | None = None
    allowed_models: list[str] | None = None
    routing: list[RoutingRule] = field(default_factory=list)
    fallbacks: list[Target] = field(default_factory=list)
    active: bool = True
    expires_at: datetime | None = None


@dataclass
class Currency:
    code: str = "USD"
    symbol: str = "$"
    per_usd: Decimal = Decimal(1)


@dataclass
class Server:
    host: str = "127.0.0.1"
    port: int = 8080
    admin_token: SecretRef | None = None
    shutdown_timeout_s: float = 30.0


@dataclass
class Logging:
    file: str | None = None
    level: str = "INFO"
    store_content: bool = False  # prompt and response bodies in the request log


@dataclass
class Config:
    source: str
    server: Server
    sqlite_path: Path
    currency: Currency
    timezone: str
    providers: list[Provider]
    customers: list[Customer]
    teams: list[Team]
    virtual_keys: list[VirtualKey]
    pricing: dict[str, dict]
    pricing_file: str | None
    logging: Logging

    def provider(self, name: str) -> Provider | None:
        return next((p for p in self.providers if p.name == name), None)


# Parsing lives in its own module; re-exported here so callers import the config from one place.
from .config_parse import _Parser, config_from_text, load_config  # noqa: E402,F401
