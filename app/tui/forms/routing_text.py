"""Routing edited as compact text, parsed into the API's structures and formatted back:

- a rule's condition: ``model=claude-sonnet-4* max_input_tokens=2000 tools=false header.x-team=web*``
  (empty: every request);
- its targets: ``anthropic:claude-haiku-4-5-20251001*80, bedrock*20`` (``provider[:model][*weight]``);
- fallbacks: ``bedrock, openai:gpt-4o`` (``provider[:model]``).
"""
from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from ...core.config import WHEN_FIELDS
from ...core.config_parse import unknown_providers
from ...core.config_source import format_path
from .field_text import FieldError, plain_number

BOOL_WORDS = {"true": True, "yes": True, "on": True, "1": True, "false": False, "no": False, "off": False, "0": False}



def _when_value(key: str, raw: str):
    kind = WHEN_FIELDS[key]
    if kind is str:
        if not raw:
            raise FieldError(f"{key}: expected a value after =")
        return raw
    if kind is bool:
        if raw.lower() not in BOOL_WORDS:
            raise FieldError(f"{key}: expected true or false; got {raw!r}")
        return BOOL_WORDS[raw.lower()]
    if kind is int:
        try:
            return int(raw.replace(",", "").replace("_", ""))
        except ValueError:
            raise FieldError(f"{key}: expected a whole number; got {raw!r}") from None
    try:  # Decimal: budget_used_pct_above
        return plain_number(Decimal(raw))
    except InvalidOperation:
        raise FieldError(f"{key}: expected a number; got {raw!r}") from None


def parse_when(text: str) -> dict:
    """``model=claude-sonnet-4* max_input_tokens=2000 tools=false header.x-team=web*`` → the API's `when`."""
    when: dict = {}
    for token in text.split():
        key, sep, raw = token.partition("=")
        if not sep:
            raise FieldError(f"expected condition=value; got {token!r} (e.g. model=claude-sonnet-4*)")
        if key.startswith("header."):
            name = key[len("header."):]
            if not name or not raw:
                raise FieldError(f"expected header.NAME=GLOB; got {token!r}")
            when.setdefault("header", {})[name] = raw
            continue
        if key not in WHEN_FIELDS or key == "header":
            known = ", ".join(k for k in WHEN_FIELDS if k != "header")
            raise FieldError(f"unknown condition {key!r}; use {known} or header.NAME")
        if key in when:
            raise FieldError(f"{key} is given twice")
        when[key] = _when_value(key, raw)
    return when


def _word(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def format_when(when: dict | None) -> str:
    parts = []
    for key, value in (when or {}).items():
        if key == "header" and isinstance(value, dict):
            parts.extend(f"header.{name}={glob}" for name, glob in value.items())
        else:
            parts.append(f"{key}={_word(value)}")
    return " ".join(parts)


def _target(item: str, weighted: bool) -> dict:
    weight = None
    if weighted:
        m = re.fullmatch(r"(.*)\*\s*(\S+)", item)
        if m and not m.group(2).endswith("*"):
            item, raw = m.group(1).strip(), m.group(2)
            if not raw.isdigit() or int(raw) <= 0:
                raise FieldError(f"{item}: a weight is a whole number above 0; got {raw!r}")
            weight = int(raw)
    provider, sep, model = item.partition(":")
    provider, model = provider.strip(), model.strip()
    if not provider:
        raise FieldError(f"expected provider[:model]{'[*weight]' if weighted else ''}; got {item!r}")
    if sep and not model:
        raise FieldError(f"{provider}: a model name is expected after ':'")
    if any(c.isspace() for c in provider + model):
        raise FieldError(f"separate targets with commas; got {item!r}")
    out: dict = {"provider": provider}
    if model:
        out["model"] = model
    if weighted:
        out["weight"] = weight or 1
    return out


def parse_targets(text: str) -> list[dict]:
    """``anthropic:claude-haiku-4-5-20251001*80, bedrock*20`` → [{provider, model?, weight}]."""
    items = [part.strip() for part in text.split(",")]
    if not any(items):
        raise FieldError("a rule needs at least one target: provider[:model][*weight]")
    out = []
    for i, item in enumerate(items, 1):
        if not item:
            raise FieldError(f"target {i} is empty (two commas in a row?)")
        out.append(_target(item, weighted=True))
    return out


def format_targets(targets: list[dict] | None) -> str:
    targets = targets or []
    parts = []
    for t in targets:
        text = t.get("provider", "")
        if t.get("model"):
            text += f":{t['model']}"
        weight = t.get("weight", 1)
        if len(targets) > 1 or weight != 1:
            text += f"*{weight}"
        parts.append(text)
    return ", ".join(parts)


def parse_fallbacks(text: str) -> list[dict]:
    """``bedrock, openai:gpt-4o`` → [{provider, model?}], tried in order."""
    out = []
    for i, item in enumerate(part.strip() for part in text.split(",")):
        if not item:
            if text.strip():
                raise FieldError(f"fallback {i + 1} is empty (two commas in a row?)")
            continue
        if "*" in item and ":" not in item:
            raise FieldError(f"{item}: fallbacks are tried in order and take no weight")
        out.append(_target(item, weighted=False))
    return out


def format_fallbacks(fallbacks: list[dict] | None) -> str:
    return ", ".join(t["provider"] + (f":{t['model']}" if t.get("model") else "") for t in fallbacks or [])


def unknown_provider_problems(routing: list[dict | None], fallbacks: list[dict] | None,
                              providers: set[str]) -> list[tuple[str, str]]:
    """(path, message) for every routing target and fallback naming a provider the gateway does not have:
    the gateway's own check (config_parse.unknown_providers), so the message sits under the same input;
    caught here, it shows before the diff instead of after the operator said yes."""
    found = unknown_providers([[t["provider"] for t in (rule or {}).get("targets") or []] for rule in routing],
                              [t["provider"] for t in fallbacks or []], providers)
    return [(format_path(where), message) for where, message in found]
