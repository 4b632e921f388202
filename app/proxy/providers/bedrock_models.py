"""Which Bedrock model id serves an Anthropic model name, and the body Bedrock's InvokeModel expects.

Pure (no aiohttp, no botocore). The table lives in config/bedrock_models.yaml; a provider's `model_map`
wins over it, and a name that already is a Bedrock id is used as it is.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

DEFAULT_PATH = Path(__file__).resolve().parents[3] / "config" / "bedrock_models.yaml"
BEDROCK_VERSION = "bedrock-2023-05-31"
_SUFFIX = re.compile(r"\[[^\[\]]*\]$")  # Claude Code's "[1m]" context suffix
_PROFILE_PREFIX = re.compile(r"^[a-z][a-z-]{0,9}\.(?=anthropic\.)")  # us. eu. apac. global. jp. us-gov. ...


class ModelTableError(ValueError):
    """The model table file is malformed; the message names the file and the entry."""


@dataclass(frozen=True, slots=True)
class BedrockModel:
    id: str  # base model id, e.g. anthropic.claude-sonnet-4-5-20250929-v1:0
    profiles: tuple[str, ...] | None = None  # cross-Region profiles AWS lists; None = unchecked
    betas: frozenset[str] | None = None  # this model's own beta allowlist; None = the table's


@dataclass(slots=True)
class ModelTable:
    models: dict[str, BedrockModel] = field(default_factory=dict)  # Anthropic name -> model
    betas: frozenset[str] = frozenset()  # "*" = forward every beta
    source: str = ""

    @classmethod
    def load(cls, path: Path | None = None) -> ModelTable:
        """The table file (default: the repo's config/bedrock_models.yaml). FileNotFoundError when absent."""
        path = path or DEFAULT_PATH
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        return cls.from_mapping(data, str(path))

    @classmethod
    def from_mapping(cls, data: dict, source: str = "<table>") -> ModelTable:
        if not isinstance(data, dict):
            raise ModelTableError(f"{source}: expected a mapping with `models` and `betas`")
        table = cls(source=source, betas=frozenset(_strings(data.get("betas") or [], source, "betas")))
        models = data.get("models") or {}
        if not isinstance(models, dict):
            raise ModelTableError(f"{source}: `models` must map Bedrock ids to {{names, profiles?, betas?}}")
        for model_id, entry in models.items():
            where = f"models.{model_id}"
            if not isinstance(entry, dict) or not entry.get("names"):
                raise ModelTableError(f"{source}: {where} needs `names` (the Anthropic model names it serves)")
            profiles = entry.get("profiles")
            betas = entry.get("betas")
            model = BedrockModel(
                str(model_id),
                tuple(_strings(profiles, source, where + ".profiles")) if profiles is not None else None,
                frozenset(_strings(betas, source, where + ".betas")) if betas is not None else None)
            for name in _strings(entry["names"], source, where + ".names"):
                if name in table.models and table.models[name].id != model.id:
                    raise ModelTableError(f"{source}: {name!r} is listed under both {table.models[name].id} "
                                          f"and {model.id}")
                table.models[name] = model
        return table

    def lookup(self, name: str) -> BedrockModel | None:
        return self.models.get(name) or self.models.get(_SUFFIX.sub("", name))

    def model_for_id(self, model_id: str) -> BedrockModel | None:
        base = _PROFILE_PREFIX.sub("", model_id)
        return next((m for m in self.models.values() if m.id == base), None)

    def allowed_betas(self, model_id: str) -> frozenset[str]:
        model = self.model_for_id(model_id)
        return model.betas if model is not None and model.betas is not None else self.betas


def _strings(value, source: str, where: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise ModelTableError(f"{source}: {where} must be a list of strings")
    return value


def is_bedrock_id(model: str) -> bool:
    return "anthropic." in model or model.startswith("arn:")


def resolve_model(model: str, table: ModelTable, model_map: dict[str, str], profile: str | None) -> str | None:
    """The Bedrock model id to invoke for a requested model, or None when this provider cannot serve it.

    `model_map` wins; a Bedrock id (mapped or requested) is used as it is; otherwise the table's base id,
    prefixed with the inference profile (`us.anthropic.…`) when one is configured."""
    target = model_map.get(model, model)
    if is_bedrock_id(target):
        return target
    entry = table.lookup(target)
    if entry is None:
        return None
    if not profile:
        return entry.id
    if entry.profiles is not None and profile not in entry.profiles:
        return None
    return f"{profile}.{entry.id}"


def base_model_id(model_id: str) -> str | None:
    """The foundation-model id behind an inference-profile id (CountTokens takes only those); None for an ARN."""
    if model_id.startswith("arn:"):
        return None
    return _PROFILE_PREFIX.sub("", model_id)


def beta_list(headers: dict[str, str], body: dict) -> list[str]:
    """Beta flags from every `anthropic-beta` header value and any `anthropic_beta` already in the body,
    in order, without duplicates."""
    raw: list[str] = []
    for name, value in headers.items():
        if name.lower() == "anthropic-beta":
            raw += value.split(",")
    existing = body.get("anthropic_beta")
    if isinstance(existing, list):
        raw += [b for b in existing if isinstance(b, str)]
    out: list[str] = []
    for flag in (b.strip() for b in raw):
        if flag and flag not in out:
            out.append(flag)
    return out


def bedrock_body(body: dict, headers: dict[str, str], allowed_betas: frozenset[str]) -> dict:
    """The InvokeModel body: the Anthropic body without `model` and `stream`, with
    `anthropic_version: bedrock-2023-05-31` and the allowed beta flags as an `anthropic_beta` list.
    `metadata` keeps only `user_id` (the one field both APIs define; Bedrock rejects others)."""
    out: dict = {"anthropic_version": BEDROCK_VERSION}
    out.update((k, v) for k, v in body.items() if k not in ("model", "stream", "anthropic_version", "anthropic_beta"))
    betas = beta_list(headers, body)
    if "*" not in allowed_betas:
        betas = [b for b in betas if b in allowed_betas]
    if betas:
        out["anthropic_beta"] = betas
    metadata = out.get("metadata")
    if isinstance(metadata, dict):
        if "user_id" in metadata:
            out["metadata"] = {"user_id": metadata["user_id"]}
        else:
            out.pop("metadata")
    return out


def count_tokens_body(body: dict, headers: dict[str, str], allowed_betas: frozenset[str]) -> dict:
    """The InvokeModel body to count: as for a real call, plus a `max_tokens` (count_tokens bodies have
    none, InvokeModel requires it) above any thinking budget."""
    out = bedrock_body(body, headers, allowed_betas)
    if not isinstance(out.get("max_tokens"), int):
        thinking = out.get("thinking") if isinstance(out.get("thinking"), dict) else {}
        budget = thinking.get("budget_tokens")
        out["max_tokens"] = budget + 1 if isinstance(budget, int) and budget > 0 else 1
    return out
