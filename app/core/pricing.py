"""Model prices (USD per million tokens == micro-USD per token) and exact request costs.

Pure: prices are exact Decimals, costs exact integer arithmetic over them (never float). An unknown model
has no price (``None``), never zero.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import yaml

from .usage import Usage

DEFAULT_PATH = Path(__file__).resolve().parents[2] / "config" / "pricing.yaml"
RATE_FIELDS = ("input", "output", "cache_write_5m", "cache_write_1h", "cache_read")
_ENTRY_KEYS = {*RATE_FIELDS, "provider", "aliases", "long_context"}
_DATED = re.compile(r"^(?P<base>.+)-\d{8}$")
_SUFFIX = re.compile(r"(\[[^\[\]]*\]|-latest)$")  # "[1m]"-style context suffix, or "-latest"
_BEDROCK = re.compile(r"^(?:[a-z]{2,10}\.)?anthropic\.(?P<id>.+?)(?:-v\d+(?::\d+)?)?$")
_MEMO_LIMIT = 4096


class PricingError(ValueError):
    """Malformed price data; the message names the file, the model and the field."""


@dataclass(frozen=True, slots=True)
class Rates:
    """USD per million tokens."""
    input: Decimal
    output: Decimal
    cache_write_5m: Decimal
    cache_write_1h: Decimal
    cache_read: Decimal
    # The same rates as integers over one power of ten (scale, (input, output, cache_read, 5m, 1h)):
    # exact integer arithmetic for the request path, no Decimal context per request.
    scaled: tuple = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        rates = (self.input, self.output, self.cache_read, self.cache_write_5m, self.cache_write_1h)
        parts = []
        for rate in rates:
            sign, digits, exponent = Decimal(rate).as_tuple()
            parts.append(((-1) ** sign * int("".join(map(str, digits)) or "0"), exponent))
        places = max(0, *(-exponent for _, exponent in parts))
        object.__setattr__(self, "scaled", (10 ** places, tuple(n * 10 ** (places + e) for n, e in parts)))


@dataclass(frozen=True, slots=True)
class ModelPrice:
    name: str
    provider: str | None
    rates: Rates
    long_context_above: int | None  # total input tokens (incl. cache reads/writes) above which ...
    long_context: Rates | None      # ... every token of the request is billed at these rates
    aliases: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Cost:
    input_micro_usd: int
    output_micro_usd: int
    cache_read_micro_usd: int
    cache_write_micro_usd: int
    total_micro_usd: int  # rounded once from the exact sum, not the sum of rounded parts
    long_context: bool


def _round_scaled(value: int, scale: int) -> int:
    """value / scale rounded half-even, exactly (Decimal.to_integral_value(ROUND_HALF_EVEN) of the quotient)."""
    quotient, remainder = divmod(value, scale)
    twice = 2 * remainder
    if twice > scale or (twice == scale and quotient & 1):
        quotient += 1
    return quotient


def _price(value: Any, where: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, (int, float, str, Decimal)):
        raise PricingError(f"{where}: expected a number, got {value!r}")
    try:
        price = Decimal(str(value).strip())
    except InvalidOperation:
        raise PricingError(f"{where}: expected a number, got {value!r}") from None
    if not price.is_finite() or price < 0:
        raise PricingError(f"{where}: price must be a finite number >= 0, got {value!r}")
    return price


def _rates(entry: dict, where: str) -> Rates:
    """Rates from one mapping: input and output are required; a missing cache rate is billed
    at this tier's input price (no discount or premium is assumed, so nothing becomes free)."""
    got: dict[str, Decimal] = {}
    for name in RATE_FIELDS:
        if entry.get(name) is not None:
            got[name] = _price(entry[name], f"{where}.{name}")
        elif name in ("input", "output"):
            raise PricingError(f"{where}: missing required field '{name}'")
        else:
            got[name] = got["input"]
    return Rates(**got)


def _parse_entry(name: str, entry: Any, source: str) -> ModelPrice:
    where = f"{source}: model '{name}'"
    if not isinstance(entry, dict):
        raise PricingError(f"{where}: expected a mapping of {', '.join(RATE_FIELDS)}, got {entry!r}")
    unknown = sorted(set(entry) - _ENTRY_KEYS)
    if unknown:
        raise PricingError(f"{where}: unknown field(s) {', '.join(map(str, unknown))}")
    rates = _rates(entry, where)
    provider = entry.get("provider")
    if provider is not None and not isinstance(provider, str):
        raise PricingError(f"{where}.provider: expected a string, got {provider!r}")
    aliases = entry.get("aliases") or []
    if not isinstance(aliases, list) or not all(isinstance(a, str) and a for a in aliases):
        raise PricingError(f"{where}.aliases: expected a list of model names, got {aliases!r}")
    above, long_rates = None, None
    lc = entry.get("long_context")
    if lc is not None:
        lw = f"{where}.long_context"
        if not isinstance(lc, dict):
            raise PricingError(f"{lw}: expected a mapping, got {lc!r}")
        above = lc.get("above_input_tokens")
        if isinstance(above, bool) or not isinstance(above, int) or above <= 0:
            raise PricingError(f"{lw}.above_input_tokens: expected a positive integer, got {above!r}")
        unknown = sorted(set(lc) - {*RATE_FIELDS, "above_input_tokens"})
        if unknown:
            raise PricingError(f"{lw}: unknown field(s) {', '.join(map(str, unknown))}")
        long_rates = _rates(lc, lw)
    return ModelPrice(name, provider, rates, above, long_rates, tuple(aliases))


class PriceTable:
    def __init__(self, prices: dict[str, ModelPrice]) -> None:
        self._prices = dict(prices)
        self._names: dict[str, ModelPrice] = {}
        for price in self._prices.values():  # aliases first, so a real model name always wins
            self._names.update(dict.fromkeys(price.aliases, price))
        self._names.update(self._prices)
        self._memo: dict[str, ModelPrice | None] = {}

    @classmethod
    def load(cls, path: str | Path | None = None, overrides: dict[str, dict] | None = None) -> PriceTable:
        """The price file (default: the repo's config/pricing.yaml), then ``overrides`` from the
        user's config: a new model needs input and output; for a known one, the fields given
        replace the file's (``long_context: null`` drops the tier)."""
        source = Path(path) if path is not None else DEFAULT_PATH
        try:
            doc = yaml.safe_load(source.read_text(encoding="utf-8"))
        except OSError as exc:
            raise PricingError(f"{source}: cannot read price file: {exc.strerror or exc}") from None
        except yaml.YAMLError as exc:
            raise PricingError(f"{source}: not valid YAML: {exc}") from None
        models = doc.get("models") if isinstance(doc, dict) else None
        if not isinstance(models, dict):
            raise PricingError(f"{source}: expected a top-level 'models:' mapping")
        prices = {str(name): _parse_entry(str(name), entry, str(source)) for name, entry in models.items()}
        if overrides:
            if not isinstance(overrides, dict):
                raise PricingError(f"config pricing: expected a mapping of model name to prices, got {overrides!r}")
            for name, entry in overrides.items():
                base = models.get(name)
                if isinstance(base, dict) and isinstance(entry, dict):
                    entry = {**base, **entry}  # a known model: the given fields replace the file's
                prices[str(name)] = _parse_entry(str(name), entry, "config pricing")
        return cls(prices)

    def _direct(self, name: str) -> ModelPrice | None:
        price = self._names.get(name)
        if price is None and (dated := _DATED.match(name)):
            price = self._names.get(dated["base"])
        return price

    def _resolve(self, model: str) -> ModelPrice | None:
        candidates = [model]
        if bedrock := _BEDROCK.match(model):
            candidates.append(bedrock["id"])
        for name in candidates:
            price = self._direct(name)
            if price is None and (stripped := _SUFFIX.sub("", name)) != name:
                price = self._direct(stripped)
            if price is not None:
                return price
        return None

    def lookup(self, model: str) -> ModelPrice | None:
        """Exact name, alias, ``<base>-YYYYMMDD``, then a ``[1m]``/``-latest`` suffix stripped;
        Bedrock ids (``us.anthropic.<id>-v1:0``) resolve like ``<id>``. Nothing fuzzier."""
        if not isinstance(model, str) or not model:
            return None
        try:
            return self._memo[model]
        except KeyError:
            pass
        price = self._resolve(model)
        if len(self._memo) >= _MEMO_LIMIT:
            self._memo.clear()
        self._memo[model] = price
        return price

    def cost(self, model: str, usage: Usage) -> Cost | None:
        """The exact cost of one request, or None when the model has no price."""
        price = self.lookup(model)
        if price is None:
            return None
        long = price.long_context is not None and usage.total_input_tokens > price.long_context_above
        scale, (rate_in, rate_out, rate_read, rate_5m, rate_1h) = (price.long_context if long else price.rates).scaled
        inp = usage.input_tokens * rate_in  # exact: integers over `scale`, as Decimal(tokens) * rate was
        out = usage.output_tokens * rate_out
        read = usage.cache_read_tokens * rate_read
        write = usage.cache_write_5m_tokens * rate_5m + usage.cache_write_1h_tokens * rate_1h
        return Cost(_round_scaled(inp, scale), _round_scaled(out, scale), _round_scaled(read, scale),
                    _round_scaled(write, scale), _round_scaled(inp + out + read + write, scale), long)

    def models(self, provider: str | None = None) -> list[ModelPrice]:
        return [p for p in self._prices.values() if provider is None or p.provider == provider]

    def __len__(self) -> int:
        return len(self._prices)


__all__ = ["Cost", "ModelPrice", "PriceTable", "PricingError", "Rates", "RATE_FIELDS", "DEFAULT_PATH"]
