"""The request log's last minute, read at start so rate limits go on counting across a restart."""
from __future__ import annotations

from datetime import datetime, timedelta

import aiosqlite

from ..core.ratelimit import WINDOW_S
from .request_log import iso_utc

# The rows the limiter admitted (rate_counted), whatever happened to them after: served, refused by a
# budget, cancelled or failed.
RECENT_ADMITTED = """
SELECT ts, key_name, team, customer,
       input_tokens + cache_read_tokens + cache_write_5m_tokens + cache_write_1h_tokens + output_tokens
FROM request_log
WHERE ts >= ? AND rate_counted = 1 AND key_name IS NOT NULL
ORDER BY ts
"""


async def recent_admitted(db: aiosqlite.Connection, now: datetime) -> list[tuple[datetime, str, str | None, str | None, int]]:
    """(start time UTC, key, team, customer, tokens) of each request the rate limiter counted in the last minute."""
    async with db.execute(RECENT_ADMITTED, (iso_utc(now - timedelta(seconds=WINDOW_S)),)) as cur:
        rows = await cur.fetchall()
    return [(datetime.fromisoformat(ts.replace("Z", "+00:00")), key, team, customer, tokens or 0)
            for ts, key, team, customer, tokens in rows]
