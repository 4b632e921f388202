"""Who is who at run time: virtual keys indexed by hash, with their team and customer."""
from __future__ import annotations

from dataclasses import dataclass, field

from .config import Config, Customer, Team, VirtualKey
from .glob_memo import GlobMemo
from .keys import hash_key, hashes_equal
from .secrets import SecretError


@dataclass(slots=True)
class KeyEntry:
    spec: VirtualKey
    key_hash: str
    team: Team | None
    customer: Customer | None
    _allowed: GlobMemo = field(default_factory=GlobMemo, repr=False, compare=False)

    @property
    def name(self) -> str:
        return self.spec.name

    def allows(self, model: str) -> bool:
        patterns = self.spec.allowed_models
        return patterns is None or self._allowed.matches(patterns, model)


class Directory:
    def __init__(self, config: Config):
        self.warnings: list[str] = []
        teams = {t.name: t for t in config.teams}
        customers = {c.name: c for c in config.customers}
        self.by_hash: dict[str, KeyEntry] = {}
        self.by_name: dict[str, KeyEntry] = {}
        for spec in config.virtual_keys:
            self.add(spec, teams, customers)

    def add(self, spec: VirtualKey, teams: dict[str, Team], customers: dict[str, Customer]) -> KeyEntry | None:
        if spec.key_hash:
            digest = spec.key_hash
        else:
            try:
                digest = hash_key(spec.key.resolve())
            except SecretError as exc:
                self.warnings.append(f"virtual key {spec.name!r} is unusable until its secret resolves: {exc}")
                return None
        team = teams.get(spec.team) if spec.team else None
        customer_name = spec.customer or (team.customer if team else None)
        entry = KeyEntry(spec, digest, team, customers.get(customer_name) if customer_name else None)
        self.by_hash[digest] = entry
        self.by_name[spec.name] = entry
        return entry

    def authenticate(self, presented: str) -> KeyEntry | None:
        digest = hash_key(presented)
        entry = self.by_hash.get(digest)
        if entry is None or not hashes_equal(entry.key_hash, digest):
            return None
        return entry
