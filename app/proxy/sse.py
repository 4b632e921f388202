"""Incremental SSE scanner: fed raw chunks as they are relayed, yields complete (event, data) pairs.

Only events whose names are in `wanted` have their data returned; the rest are skipped without
decoding, so scanning a long stream of content deltas stays cheap. Skipped events named `counted` are
tallied (how many, how many bytes): enough to estimate a stream's output when its usage never arrives.
"""
from __future__ import annotations


class SSEScanner:
    def __init__(self, wanted: frozenset[bytes] | None = None, counted: bytes | None = None):
        self.wanted = wanted
        self.counted = counted
        self.count = 0  # skipped `counted` events so far
        self.counted_bytes = 0  # their size, event line included
        self._buf = b""

    def feed(self, chunk: bytes) -> list[tuple[str, bytes]]:
        buf = self._buf + chunk if self._buf else chunk
        if b"\r" in buf:
            buf = buf.replace(b"\r\n", b"\n")
        out: list[tuple[str, bytes]] = []
        start = 0
        while True:
            end = buf.find(b"\n\n", start)
            if end < 0:
                break
            block = buf[start:end]
            start = end + 2
            event, data = self._parse(block)
            if event is not None:
                out.append((event.decode("utf-8", "replace"), data))
        self._buf = buf[start:]
        return out

    def _parse(self, block: bytes) -> tuple[bytes | None, bytes]:
        event = None
        data_parts = []
        for line in block.split(b"\n"):
            if line.startswith(b"event:"):
                event = line[6:].strip()
                if self.wanted is not None and event not in self.wanted:
                    if event == self.counted:
                        self.count += 1
                        self.counted_bytes += len(block)
                    return None, b""
            elif line.startswith(b"data:"):
                data_parts.append(line[5:].lstrip(b" "))
        if event is None:
            return None, b""
        return event, b"\n".join(data_parts)
