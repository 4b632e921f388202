"""Entities created or edited through the management API or the console, stored over the config file.

The config file defines the starting set; a stored entity with the same name replaces it (the API
version wins), and a stored tombstone hides it. Specs are stored as the YAML would spell them.
"""
from __future__ import annotations

import json
from datetime import datetime, timezone

import aiosqlite

SCHEMA = """
CREATE TABLE IF NOT EXISTS entities (
    kind TEXT NOT NULL,               -- customer | team | virtual_key | provider_budgets
    name TEXT NOT NULL,
    spec TEXT NOT NULL,               -- JSON; virtual keys hold only key_hash, never the key
    deleted INTEGER NOT NULL DEFAULT 0,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (kind, name)
);
"""


async def ensure_schema(db: aiosqlite.Connection) -> None:
    await db.executescript(SCHEMA)
    await db.commit()


async def load_entities(db: aiosqlite.Connection) -> list[tuple[str, str, dict, bool]]:
    async with db.execute("SELECT kind, name, spec, deleted FROM entities ORDER BY updated_at") as cur:
        rows = await cur.fetchall()
    return [(kind, name, json.loads(spec), bool(deleted)) for kind, name, spec, deleted in rows]


async def save_entity(db: aiosqlite.Connection, kind: str, name: str, spec: dict, *, deleted: bool = False) -> None:
    now = datetime.now(timezone.utc).isoformat()
    await db.execute("INSERT INTO entities (kind, name, spec, deleted, updated_at) VALUES (?, ?, ?, ?, ?) "
                     "ON CONFLICT (kind, name) DO UPDATE SET spec=excluded.spec, deleted=excluded.deleted, "
                     "updated_at=excluded.updated_at", (kind, name, json.dumps(spec), int(deleted), now))
    await db.commit()
