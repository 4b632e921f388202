"""PrintableSource: the console's source with every string it reads made printable.

Model names, error messages and failover reasons are chosen by clients and upstreams (app/core/printable.py).
The console measures column widths and wraps text before it paints, so control characters have to be gone
by the time data reaches a screen, not only when a line is written (app/tui/printable_filter.py is that
last guard). Every read through this wrapper comes back with control characters as visible stand-ins.
The request tail's rows are the exception that stays lazy: a RequestRow makes its own fields printable
when the console first reads one (app/service/request_row.py), so a row that is never drawn costs nothing.
"""
from __future__ import annotations

import asyncio

from ..core.printable import printable_data
from .request_row import RequestRow


class PrintableSource:
    def __init__(self, source):
        self._source = source

    def __getattr__(self, name: str):
        attr = getattr(self._source, name)
        if not asyncio.iscoroutinefunction(attr):
            return attr

        async def read(*args, **kwargs):
            return printable_data(await attr(*args, **kwargs))
        read.__name__ = name
        return read

    async def requests_since(self, seq: int):
        seq, rows = await self._source.requests_since(seq)
        return seq, [row if isinstance(row, RequestRow) else printable_data(row) for row in rows]
