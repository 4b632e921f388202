"""The model names the gateway knows of, and `allowed_models` patterns that match none of them.

A key's `allowed_models` glob with a typo (``claude-sonet-*``) matches nothing, so the key is refused
(403) for the very model it was meant to allow, and nothing said why. Known here: every model and alias
in the price table, and what the config's providers list (`models`, globs included, and the requested
names of `model_map`). A pattern matching none of them gets a warning, never an error: the model may
be newer than the price table. The match is the gateway's own (glob_memo.matches_any); a provider's glob
counts as matched when the pattern matches its text (``claude-*`` covers a provider's ``claude-3*``).
Pure: the gateway, the admin API and the console's form all ask here.
"""
from __future__ import annotations

from typing import Iterable

from .config import Provider, VirtualKey
from .glob_memo import matches_any
from .pricing import PriceTable


def known_models(prices: PriceTable, providers: Iterable[Provider]) -> frozenset[str]:
    """Every model name of the price table (aliases included) and every model the providers are
    configured for: their `models` entries (globs kept as written) and `model_map`'s requested names."""
    names: set[str] = set()
    for price in prices.models():
        names.add(price.name)
        names.update(price.aliases)
    for spec in providers:
        names.update(spec.models or ())
        names.update(spec.model_map)
    return frozenset(names)


def unmatched_patterns(patterns: Iterable[str] | None, known: Iterable[str]) -> list[str]:
    """The patterns (in their order) that are not a known name and match none, as the gateway matches."""
    known = known if isinstance(known, (set, frozenset)) else frozenset(known)
    return [p for p in patterns or () if p not in known and not any(matches_any((p,), name) for name in known)]


def unmatched_warning(key_name: str, pattern: str) -> str:
    """The log line for one such pattern: names the key and the pattern, says why it matters and what to do."""
    return (f"virtual key {key_name!r}: allowed_models pattern {pattern!r} matches no known model (none in the "
            "price table, none a provider lists in models or model_map): a typo? The key is refused (403) for "
            "any model it does not match; if the model is new, add it under pricing: to silence this")


def allowed_models_warnings(keys: Iterable[VirtualKey], known: Iterable[str]) -> list[str]:
    """A warning for every key's allowed_models pattern that matches no known model."""
    known = frozenset(known)
    return [unmatched_warning(key.name, pattern) for key in keys
            for pattern in unmatched_patterns(key.allowed_models, known)]


__all__ = ["allowed_models_warnings", "known_models", "unmatched_patterns", "unmatched_warning"]
