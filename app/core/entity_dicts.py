"""Entities as plain dicts (the YAML field names) and back, for the management API and the store."""
from __future__ import annotations

from datetime import timezone, tzinfo
from decimal import Decimal
from pathlib import Path

from .config import Budget, RateLimit, RoutingRule, Target, Team, VirtualKey, _Parser
from .config_source import ConfigIssue, YamlDoc, format_path

KINDS = ("customer", "team", "virtual_key")


def number(value: Decimal) -> int | float:
    return int(value) if value == value.to_integral_value() else float(value)


def budget_dict(b: Budget) -> dict:
    out = {"limit": number(b.limit), "period": b.period}
    if b.rolling:
        out["rolling"] = True
    return out


def rate_limit_dict(r: RateLimit | None) -> dict | None:
    if r is None:
        return None
    return {k: v for k, v in (("requests_per_minute", r.requests_per_minute), ("tokens_per_minute",
            r.tokens_per_minute), ("max_concurrent", r.max_concurrent)) if v is not None}


def target_dict(t: Target, weighted: bool) -> dict:
    out = {"provider": t.provider}
    if t.model:
        out["model"] = t.model
    if weighted:
        out["weight"] = t.weight
    return out


def routing_dicts(rules: list[RoutingRule]) -> list[dict]:
    return [{"when": dict(r.when), "targets": [target_dict(t, True) for t in r.targets]} for r in rules]


def entity_dict(kind: str, spec) -> dict:
    """The spec as the YAML would spell it (never a secret: keys show only their reference or hash)."""
    if kind == "customer":
        return _drop_none({"name": spec.name, "budgets": [budget_dict(b) for b in spec.budgets],
                           "rate_limit": rate_limit_dict(spec.rate_limit)})
    if kind == "team":
        return _drop_none({"name": spec.name, "customer": spec.customer,
                           "budgets": [budget_dict(b) for b in spec.budgets],
                           "rate_limit": rate_limit_dict(spec.rate_limit), "routing": routing_dicts(spec.routing),
                           "fallbacks": [target_dict(t, False) for t in spec.fallbacks]})
    return _drop_none({
        "name": spec.name, "team": spec.team, "customer": spec.customer,
        "key": str(spec.key) if spec.key else None, "key_hash": spec.key_hash,
        "budgets": [budget_dict(b) for b in spec.budgets], "rate_limit": rate_limit_dict(spec.rate_limit),
        "allowed_models": spec.allowed_models, "routing": routing_dicts(spec.routing),
        "fallbacks": [target_dict(t, False) for t in spec.fallbacks], "active": spec.active,
        "expires_at": spec.expires_at.isoformat() if spec.expires_at else None,
    })


def _drop_none(d: dict) -> dict:
    return {k: v for k, v in d.items() if v is not None}


class EntityInvalid(Exception):
    def __init__(self, issues: list[ConfigIssue]):
        self.issues = issues
        super().__init__("; ".join(f"{format_path(i.path)}: {i.message}" for i in issues))

    def fields(self) -> list[dict]:
        return [{"path": format_path(i.path), "message": i.message} for i in self.issues]


def parse_entity(kind: str, data: object, *, providers: set[str], customers: set[str], teams: set[str],
                 zone: tzinfo = timezone.utc):
    """Validate an API payload with the config file's rules (a time without an offset is in `zone`, the
    config's timezone, as in the YAML). Raises EntityInvalid listing every problem."""
    parser = _Parser(YamlDoc("api", data), Path.cwd())
    parser.zone = zone
    if kind == "customer":
        spec = parser.customer(data, ())
    elif kind == "team":
        spec = parser.team(data, ())
    elif kind == "virtual_key":
        spec = parser.vkey(data, ())
    else:
        raise ValueError(kind)
    if isinstance(spec, (Team, VirtualKey)):
        if getattr(spec, "customer", None) and spec.customer not in customers:
            parser.error(("customer",), f"no customer named {spec.customer!r}")
        if isinstance(spec, VirtualKey) and spec.team and spec.team not in teams:
            parser.error(("team",), f"no team named {spec.team!r}")
        parser.check_targets(spec.routing, spec.fallbacks, (), providers)
    if parser.issues:
        raise EntityInvalid(parser.issues)
    return spec


def parse_budgets(data: object) -> list[Budget]:
    parser = _Parser(YamlDoc("api", data), Path.cwd())
    budgets = parser.budgets(data, ("budgets",))
    if parser.issues:
        raise EntityInvalid(parser.issues)
    return budgets
