"""A finished request as the console reads it: a read-only mapping over the published record.

The console polls ~500 finished requests a second at 500 requests/s but draws about a screenful; making
every row's dict (record_dict, ~2.5 µs) was a fifth of the console's CPU, which it takes from the gateway
thread on the same interpreter. A RequestRow answers `id` and `seq` (all the tail needs to keep its
order) straight from the record and builds the full dict the first time any other field is read — for
the rows that get drawn, filtered or opened. The same keys and values as `record_dict` plus `seq`, with
control characters in strings as visible stand-ins (app/core/printable.py).
A published record is never changed again, so reading it from the console's thread is safe.
"""
from __future__ import annotations

from collections.abc import Mapping

from ..core.printable import printable, printable_data
from ..core.records import RequestRecord, record_dict


class RequestRow(Mapping):
    __slots__ = ("_record", "_seq", "_fields")

    def __init__(self, record: RequestRecord, seq: int) -> None:
        self._record, self._seq, self._fields = record, seq, None

    def _all(self) -> dict:
        fields = self._fields
        if fields is None:
            fields = self._fields = record_dict(self._record)
            fields["seq"] = self._seq
            for name, value in fields.items():  # model names and errors are the client's and upstream's text
                if isinstance(value, str):
                    if not value.isprintable():
                        fields[name] = printable(value)
                elif isinstance(value, list):
                    fields[name] = printable_data(value)
        return fields

    def fields(self) -> dict:
        """Every field as a dict (built once): for a reader that looks at many fields of the row."""
        return self._all()

    def __getitem__(self, key: str):
        if key == "seq":
            return self._seq
        if key == "id":
            return self._record.id
        return self._all()[key]

    def get(self, key: str, default=None):
        if key == "seq":
            return self._seq
        if key == "id":
            return self._record.id
        return self._all().get(key, default)

    def __iter__(self):
        return iter(self._all())

    def __len__(self) -> int:
        return len(self._all())

    def __repr__(self) -> str:
        return f"RequestRow({self._all()!r})"
