"""Reading a config: YAML to the model in config.py, with every error naming file, line and field path."""
from __future__ import annotations

import re
from datetime import datetime, timezone, tzinfo
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .config import (CALENDAR_PERIODS, DEFAULT_BASE_URLS, KEY_HASH, PROVIDER_TYPES, ROLLING_PERIOD, WHEN_FIELDS,
                     Budget, Config, Currency, Customer, Logging, Provider, ProviderKey, RateLimit, RoutingRule,
                     Server, Target, Team, VirtualKey)
from .config_source import ConfigError, ConfigIssue, Path_, YamlDoc, parse_yaml
from .secrets import SecretRef


def load_config(path: Path) -> Config:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(str(path), [ConfigIssue((), None, f"cannot read the config file: {exc.strerror}")]) from None
    return config_from_text(text, str(path), base_dir=path.parent)


def config_from_text(text: str, source: str, base_dir: Path | None = None) -> Config:
    return _Parser(parse_yaml(text, source), base_dir or Path.cwd()).parse()


class _Parser:
    def __init__(self, doc: YamlDoc, base_dir: Path):
        self.doc = doc
        self.base_dir = base_dir
        self.issues: list[ConfigIssue] = []
        self.zone: tzinfo = timezone.utc  # the config's timezone once parse() has read it (naive timestamps)

    # -- primitives ------------------------------------------------------
    def error(self, path: Path_, message: str) -> None:
        self.issues.append(ConfigIssue(path, self.doc.line_of(path), message))

    def mapping(self, value, path: Path_, allowed: tuple[str, ...]) -> dict:
        if value is None:
            return {}
        if not isinstance(value, dict):
            self.error(path, f"expected a mapping with fields {', '.join(allowed)}; got {_kind(value)}")
            return {}
        for key in value:
            if key not in allowed:
                self.error(path + (key,), f"unknown field; expected one of: {', '.join(allowed)}")
        return value

    def seq(self, value, path: Path_) -> list:
        if value is None:
            return []
        if not isinstance(value, list):
            self.error(path, f"expected a list; got {_kind(value)}")
            return []
        return value

    def string(self, m: dict, key: str, path: Path_, default=None, required=False):
        value = m.get(key)
        if value is None:
            if required:
                self.error(path + (key,), "required field is missing")
            return default
        if not isinstance(value, str) or not value.strip():
            self.error(path + (key,), f"expected a non-empty string; got {_kind(value)}")
            return default
        return value

    def number(self, m: dict, key: str, path: Path_, kind=int, default=None, minimum=None, positive=False):
        value = m.get(key)
        if value is None:
            return default
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        if kind is int and ok and isinstance(value, float):
            ok = value.is_integer()
        if not ok:
            self.error(path + (key,), f"expected {'a whole number' if kind is int else 'a number'}; got {_kind(value)}")
            return default
        if positive and value <= 0:
            self.error(path + (key,), f"expected a number greater than 0; got {value}")
            return default
        if minimum is not None and value < minimum:
            self.error(path + (key,), f"expected a number of at least {minimum}; got {value}")
            return default
        if kind is Decimal:
            return Decimal(str(value))
        return kind(value)

    def boolean(self, m: dict, key: str, path: Path_, default: bool) -> bool:
        value = m.get(key, default)
        if not isinstance(value, bool):
            self.error(path + (key,), f"expected true or false; got {_kind(value)}")
            return default
        return value

    def secret(self, m: dict, key: str, path: Path_, required=False) -> SecretRef | None:
        value = m.get(key)
        if value is None:
            if required:
                self.error(path + (key,), "required field is missing (env:NAME or keyring:SERVICE/USERNAME)")
            return None
        try:
            return SecretRef.parse(value)
        except ValueError as exc:
            self.error(path + (key,), str(exc))
            return None

    def globs(self, m: dict, key: str, path: Path_) -> list[str] | None:
        if m.get(key) is None:
            return None
        items = self.seq(m[key], path + (key,))
        for i, item in enumerate(items):
            if not isinstance(item, str) or not item:
                self.error(path + (key, i), f"expected a model name or glob such as 'claude-sonnet-4*'; got {_kind(item)}")
        return [str(i) for i in items if isinstance(i, str) and i]

    # -- sections -------------------------------------------------------
    def parse(self) -> Config:
        top = self.mapping(self.doc.data, (), (
            "server", "storage", "currency", "timezone", "providers", "customers", "teams",
            "virtual_keys", "pricing", "pricing_file", "logging"))
        server = self.server(top.get("server"), ("server",))
        storage = self.mapping(top.get("storage"), ("storage",), ("sqlite",))
        sqlite = self.string(storage, "sqlite", ("storage",), default="./bifrost.db")
        currency = self.currency(top.get("currency"), ("currency",))
        tz = self.string(top, "timezone", (), default="UTC")
        try:
            self.zone = ZoneInfo(tz)
        except (ZoneInfoNotFoundError, ValueError):
            self.error(("timezone",), f"unknown IANA timezone {tz!r}; expected a name such as Asia/Kolkata or UTC")
        providers = [self.provider(p, ("providers", i)) for i, p in enumerate(self.seq(top.get("providers"), ("providers",)))]
        customers = [self.customer(c, ("customers", i)) for i, c in enumerate(self.seq(top.get("customers"), ("customers",)))]
        teams = [self.team(t, ("teams", i)) for i, t in enumerate(self.seq(top.get("teams"), ("teams",)))]
        vkeys = [self.vkey(k, ("virtual_keys", i)) for i, k in enumerate(self.seq(top.get("virtual_keys"), ("virtual_keys",)))]
        pricing = top.get("pricing") or {}
        if not isinstance(pricing, dict) or not all(isinstance(v, dict) for v in pricing.values()):
            self.error(("pricing",), "expected a mapping of model name to {input, output, cache_write_5m, cache_write_1h, cache_read}")
            pricing = {}
        log = self.mapping(top.get("logging"), ("logging",), ("file", "level", "store_content"))
        logging_cfg = Logging(
            file=self.string(log, "file", ("logging",)),
            level=self.string(log, "level", ("logging",), default="INFO").upper(),
            store_content=self.boolean(log, "store_content", ("logging",), False),
        )
        self.check_references(providers, customers, teams, vkeys)
        if self.issues:
            raise ConfigError(self.doc.source, self.issues)
        sqlite_path = Path(sqlite).expanduser()
        if not sqlite_path.is_absolute():
            sqlite_path = self.base_dir.resolve() / sqlite_path
        return Config(self.doc.source, server, sqlite_path, currency, tz, providers, customers, teams, vkeys,
                      pricing, self.string(top, "pricing_file", ()), logging_cfg)

    def server(self, value, path) -> Server:
        m = self.mapping(value, path, ("host", "port", "admin_token", "shutdown_timeout_s"))
        port = self.number(m, "port", path, default=8080, minimum=0)
        if port > 65535:
            self.error(path + ("port",), f"expected a TCP port 0-65535; got {port}")
        return Server(
            host=self.string(m, "host", path, default="127.0.0.1"), port=port,
            admin_token=self.secret(m, "admin_token", path),
            shutdown_timeout_s=self.number(m, "shutdown_timeout_s", path, float, 30.0, minimum=0),
        )

    def currency(self, value, path) -> Currency:
        m = self.mapping(value, path, ("code", "symbol", "per_usd"))
        code = self.string(m, "code", path, default="USD")
        if not re.fullmatch(r"[A-Z]{3}", code):
            self.error(path + ("code",), f"expected an ISO 4217 code such as USD or INR; got {code!r}")
        return Currency(code=code, symbol=self.string(m, "symbol", path, default="$" if code == "USD" else code + " "),
                        per_usd=self.number(m, "per_usd", path, Decimal, Decimal(1), positive=True))

    def budgets(self, value, path) -> list[Budget]:
        out = []
        for i, item in enumerate(self.seq(value, path)):
            p = path + (i,)
            m = self.mapping(item, p, ("limit", "period", "rolling"))
            if "limit" not in m:
                self.error(p + ("limit",), "required field is missing (an amount in the display currency)")
            limit = self.number(m, "limit", p, Decimal, Decimal(0), minimum=0)
            period = self.string(m, "period", p, default="1M", required=True)
            rolling = self.boolean(m, "rolling", p, False)
            if rolling and not ROLLING_PERIOD.match(period):
                self.error(p + ("period",), f"a rolling window is N hours or days such as 5h or 7d; got {period!r}")
            elif not rolling and period not in CALENDAR_PERIODS:
                hint = " (add rolling: true for a rolling window)" if ROLLING_PERIOD.match(period) else ""
                self.error(p + ("period",), f"expected a calendar period 1d, 1w, 1M or 1Y; got {period!r}{hint}")
            if any(b.period == period and b.rolling == rolling for b in out):
                self.error(p + ("period",), f"a second {period!r} budget on the same entity; give each period once")
            out.append(Budget(limit, period, rolling))
        return out

    def rate_limit(self, value, path) -> RateLimit | None:
        if value is None:
            return None
        m = self.mapping(value, path, ("requests_per_minute", "tokens_per_minute", "max_concurrent"))
        return RateLimit(*(self.number(m, k, path, positive=True) for k in
                           ("requests_per_minute", "tokens_per_minute", "max_concurrent")))

    def targets(self, value, path, weighted: bool) -> list[Target]:
        out = []
        fields = ("provider", "model", "weight") if weighted else ("provider", "model")
        for i, item in enumerate(self.seq(value, path)):
            m = self.mapping(item, path + (i,), fields)
            out.append(Target(provider=self.string(m, "provider", path + (i,), default="", required=True),
                              model=self.string(m, "model", path + (i,)),
                              weight=self.number(m, "weight", path + (i,), default=1, positive=True)))
        return out

    def routing(self, value, path) -> list[RoutingRule]:
        rules = []
        for i, item in enumerate(self.seq(value, path)):
            p = path + (i,)
            m = self.mapping(item, p, ("when", "targets"))
            when = self.mapping(m.get("when"), p + ("when",), tuple(WHEN_FIELDS))
            for key, kind in WHEN_FIELDS.items():
                if key in when:
                    value_ = when[key]
                    ok = isinstance(value_, (int, float)) and not isinstance(value_, bool) if kind in (int, Decimal) \
                        else isinstance(value_, kind)
                    if not ok:
                        self.error(p + ("when", key), f"expected {kind.__name__ if kind is not Decimal else 'a number'}; got {_kind(value_)}")
            targets = self.targets(m.get("targets"), p + ("targets",), weighted=True)
            if not targets:
                self.error(p + ("targets",), "a routing rule needs at least one target {provider, model?, weight?}")
            rules.append(RoutingRule(when, targets))
        return rules

    def provider(self, value, path) -> Provider:
        m = self.mapping(value, path, ("name", "type", "base_url", "region", "keys", "budgets", "models",
                                       "timeout_s", "connect_timeout_s", "first_byte_timeout_s", "model_map",
                                       "inference_profile", "auth_header", "query_params", "breaker_failures",
                                       "breaker_cooldown_s", "latency_ms", "tokens_per_second",
                                       "reply_text", "error_rate_429", "error_rate_500", "error_rate_529",
                                       "retry_after", "fail_mid_stream_rate", "seed"))
        ptype = self.string(m, "type", path, default="", required=True)
        if ptype and ptype not in PROVIDER_TYPES:
            self.error(path + ("type",), f"expected one of {', '.join(PROVIDER_TYPES)}; got {ptype!r}")
        keys = []
        for i, item in enumerate(self.seq(m.get("keys"), path + ("keys",))):
            p = path + ("keys", i)
            km = self.mapping(item, p, ("name", "secret", "access_key_id", "session_token", "weight"))
            keys.append(ProviderKey(
                name=self.string(km, "name", p, default=f"key{i}", required=True),
                secret=self.secret(km, "secret", p, required=ptype != "openai" or "secret" in km),
                access_key_id=self.secret(km, "access_key_id", p, required=ptype == "bedrock"),
                session_token=self.secret(km, "session_token", p),
                weight=self.number(km, "weight", p, default=1, positive=True)))
        if ptype == "bedrock" and not self.string(m, "region", path):
            self.error(path + ("region",), "a bedrock provider needs region, e.g. us-east-1")
        mock = {k: m[k] for k in ("latency_ms", "tokens_per_second", "reply_text", "error_rate_429", "error_rate_500",
                                  "error_rate_529", "retry_after", "fail_mid_stream_rate", "seed") if k in m}
        if mock and ptype != "mock":
            self.error(path, f"fields {', '.join(mock)} only apply to type: mock")
        return Provider(
            name=self.string(m, "name", path, default="", required=True), type=ptype,
            base_url=(self.string(m, "base_url", path) or DEFAULT_BASE_URLS.get(ptype, "")).rstrip("/") or None,
            region=self.string(m, "region", path), keys=keys,
            budgets=self.budgets(m.get("budgets"), path + ("budgets",)),
            models=self.globs(m, "models", path),
            timeout_s=self.number(m, "timeout_s", path, float, 600.0, positive=True),
            connect_timeout_s=self.number(m, "connect_timeout_s", path, float, 10.0, positive=True),
            first_byte_timeout_s=self.number(m, "first_byte_timeout_s", path, float, 120.0, positive=True),
            model_map=self.str_map(m, "model_map", path),
            inference_profile=self.choice(m, "inference_profile", path, ("us", "eu", "apac", "global"), ptype, "bedrock"),
            auth_header=self.choice(m, "auth_header", path, ("authorization", "api-key"), ptype, "openai"),
            query_params=self.str_map(m, "query_params", path),
            breaker_failures=self.number(m, "breaker_failures", path, default=5, positive=True),
            breaker_cooldown_s=self.number(m, "breaker_cooldown_s", path, float, 30.0, positive=True),
            mock=mock)

    def str_map(self, m: dict, key: str, path) -> dict[str, str]:
        value = m.get(key)
        if value is None:
            return {}
        if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(v, (str, int, float))
                                                  and not isinstance(v, bool) for k, v in value.items()):
            self.error(path + (key,), "expected a mapping of names to strings")
            return {}
        return {k: str(v) for k, v in value.items()}

    def choice(self, m: dict, key: str, path, choices: tuple, ptype: str, only_type: str) -> str | None:
        value = self.string(m, key, path)
        if value is None:
            return None
        if ptype != only_type:
            self.error(path + (key,), f"only applies to type: {only_type}")
        elif value not in choices:
            self.error(path + (key,), f"expected one of {', '.join(choices)}; got {value!r}")
        return value

    def customer(self, value, path) -> Customer:
        m = self.mapping(value, path, ("name", "budgets", "rate_limit"))
        return Customer(self.string(m, "name", path, default="", required=True),
                        self.budgets(m.get("budgets"), path + ("budgets",)),
                        self.rate_limit(m.get("rate_limit"), path + ("rate_limit",)))

    def team(self, value, path) -> Team:
        m = self.mapping(value, path, ("name", "customer", "budgets", "rate_limit", "routing", "fallbacks"))
        return Team(self.string(m, "name", path, default="", required=True), self.string(m, "customer", path),
                    self.budgets(m.get("budgets"), path + ("budgets",)),
                    self.rate_limit(m.get("rate_limit"), path + ("rate_limit",)),
                    self.routing(m.get("routing"), path + ("routing",)),
                    self.targets(m.get("fallbacks"), path + ("fallbacks",), weighted=False))

    def vkey(self, value, path) -> VirtualKey:
        m = self.mapping(value, path, ("name", "key", "key_hash", "team", "customer", "budgets", "rate_limit",
                                       "allowed_models", "routing", "fallbacks", "active", "expires_at"))
        key_hash = self.string(m, "key_hash", path)
        if key_hash is not None and not KEY_HASH.match(key_hash):
            self.error(path + ("key_hash",), 'expected "sha256:" followed by 64 lowercase hex digits')
        key = self.secret(m, "key", path)
        if ("key" in m) == ("key_hash" in m):
            self.error(path, "give exactly one of key (env:NAME or keyring:SERVICE/USERNAME) or key_hash (sha256:<hex>)")
        expires = m.get("expires_at")
        if expires is not None:
            expires = self.timestamp(expires, path + ("expires_at",))
        return VirtualKey(
            name=self.string(m, "name", path, default="", required=True), key=key, key_hash=key_hash,
            team=self.string(m, "team", path), customer=self.string(m, "customer", path),
            budgets=self.budgets(m.get("budgets"), path + ("budgets",)),
            rate_limit=self.rate_limit(m.get("rate_limit"), path + ("rate_limit",)),
            allowed_models=self.globs(m, "allowed_models", path),
            routing=self.routing(m.get("routing"), path + ("routing",)),
            fallbacks=self.targets(m.get("fallbacks"), path + ("fallbacks",), weighted=False),
            active=self.boolean(m, "active", path, True), expires_at=expires)

    def timestamp(self, value, path) -> datetime | None:
        parsed = read_timestamp(value, self.zone)
        if parsed is None:
            self.error(path, "expected an ISO 8601 time such as 2026-12-31T23:59 (in the config's timezone) or "
                             f"2026-12-31T23:59+05:30; got {_kind(value)}")
        return parsed

    def check_references(self, providers, customers, teams, vkeys) -> None:
        for label, items, section in (("provider", providers, "providers"), ("customer", customers, "customers"),
                                      ("team", teams, "teams"), ("virtual key", vkeys, "virtual_keys")):
            seen = set()
            for i, item in enumerate(items):
                if item.name and item.name in seen:
                    self.error((section, i, "name"), f"duplicate {label} name {item.name!r}")
                seen.add(item.name)
        pnames = {p.name for p in providers}
        cnames = {c.name for c in customers}
        tnames = {t.name for t in teams}
        for i, t in enumerate(teams):
            if t.customer and t.customer not in cnames:
                self.error(("teams", i, "customer"), f"no customer named {t.customer!r}; customers: {_names(cnames)}")
            self.check_targets(t.routing, t.fallbacks, ("teams", i), pnames)
        for i, k in enumerate(vkeys):
            if k.team and k.team not in tnames:
                self.error(("virtual_keys", i, "team"), f"no team named {k.team!r}; teams: {_names(tnames)}")
            if k.customer and k.customer not in cnames:
                self.error(("virtual_keys", i, "customer"), f"no customer named {k.customer!r}; customers: {_names(cnames)}")
            self.check_targets(k.routing, k.fallbacks, ("virtual_keys", i), pnames)

    def check_targets(self, routing, fallbacks, path, pnames) -> None:
        for where, message in unknown_providers([[t.provider for t in rule.targets] for rule in routing],
                                                [t.provider for t in fallbacks], pnames):
            self.error(path + where, message)


def unknown_providers(routing: list[list[str | None]], fallbacks: list[str | None],
                      known: set[str]) -> list[tuple[tuple, str]]:
    """(path, message) for each routing target (`routing`: each rule's target providers) and fallback naming
    a provider not in `known`: the config file, the admin API and the console's form say it the same way."""
    out = []
    for r, names in enumerate(routing):
        for t, name in enumerate(names):
            if name and name not in known:
                out.append((("routing", r, "targets", t, "provider"),
                            f"no provider named {name!r}; providers: {_names(known)}"))
    for f, name in enumerate(fallbacks):
        if name and name not in known:
            out.append((("fallbacks", f, "provider"), f"no provider named {name!r}; providers: {_names(known)}"))
    return out


def read_timestamp(value, zone: tzinfo) -> datetime | None:
    """An ISO 8601 time (text, or a datetime YAML has already read) as an aware datetime; None when it is
    not one. A time without a UTC offset is a wall-clock time in `zone`, the config's timezone: the team
    reads every other time in that zone (logs --since, reports, budget resets), so an expiry typed the
    same way must mean the same instant in the YAML, the admin API and the console's form alike."""
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.strip())
        except ValueError:
            return None
    else:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=zone)


def _kind(value) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, (dict, list)):
        return "a mapping" if isinstance(value, dict) else "a list"
    return f"{type(value).__name__} {value!r}"


def _names(names: set) -> str:
    return ", ".join(sorted(n for n in names if n)) or "(none defined)"
