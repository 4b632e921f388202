"""Incremental decoder of the AWS event-stream binary framing (application/vnd.amazon.eventstream).

One message, all integers big-endian:

    total length u32 | headers length u32 | prelude CRC32 (of the 8 bytes before it)
    headers: name length u8, name (utf-8), value type u8, value
    payload
    message CRC32 (of every byte before it, prelude included)

Header value types: 0 true, 1 false, 2 byte, 3 short, 4 int, 5 long, 6 bytes (u16 length),
7 string (u16 length), 8 timestamp (i64 ms), 9 uuid (16 bytes).

Pure and dependency-free (zlib only), so it runs whether or not botocore is installed; the tests check
it against botocore's own decoder.
"""
from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass, field

PRELUDE = 12  # total length, headers length, prelude CRC
MIN_MESSAGE = PRELUDE + 4
MAX_HEADERS = 128 * 1024
MAX_MESSAGE = 24 * 1024 * 1024  # Bedrock payloads are small; anything this large is corruption

_FIXED = {2: ">b", 3: ">h", 4: ">i", 5: ">q", 8: ">q"}


class EventStreamError(Exception):
    """Corrupt or impossible framing. `messages` holds the good messages decoded before the fault
    in the same `feed` call, so a caller can still deliver them."""

    def __init__(self, message: str, messages: list["EventMessage"] | None = None):
        super().__init__(message)
        self.messages = messages or []


@dataclass(slots=True)
class EventMessage:
    headers: dict[str, str | bytes | int | bool] = field(default_factory=dict)
    payload: bytes = b""

    @property
    def message_type(self) -> str | None:  # "event" | "exception" | "error"
        value = self.headers.get(":message-type")
        return value if isinstance(value, str) else None

    @property
    def event_type(self) -> str | None:
        value = self.headers.get(":event-type")
        return value if isinstance(value, str) else None


def parse_headers(data: bytes) -> dict[str, str | bytes | int | bool]:
    headers: dict[str, str | bytes | int | bool] = {}
    at, end = 0, len(data)
    try:
        while at < end:
            name_len = data[at]
            raw_name = data[at + 1:at + 1 + name_len]
            if len(raw_name) != name_len:
                raise EventStreamError("header name runs past the header block")
            name = raw_name.decode("utf-8")
            at += 1 + name_len
            kind = data[at]
            at += 1
            if kind in (0, 1):
                value: str | bytes | int | bool = kind == 0
            elif kind in _FIXED:
                fmt = _FIXED[kind]
                size = struct.calcsize(fmt)
                (value,) = struct.unpack_from(fmt, data, at)
                at += size
            elif kind in (6, 7):
                (length,) = struct.unpack_from(">H", data, at)
                raw = data[at + 2:at + 2 + length]
                if len(raw) != length:
                    raise EventStreamError("header value runs past the header block")
                value = raw.decode("utf-8") if kind == 7 else bytes(raw)
                at += 2 + length
            elif kind == 9:
                value = bytes(data[at:at + 16])
                if len(value) != 16:
                    raise EventStreamError("uuid header value runs past the header block")
                at += 16
            else:
                raise EventStreamError(f"unknown header value type {kind}")
            if at > end:
                raise EventStreamError("header runs past the header block")
            headers[name] = value
    except (IndexError, struct.error, UnicodeDecodeError) as exc:
        raise EventStreamError(f"malformed headers: {exc}") from None
    return headers


class EventStreamDecoder:
    """Feed raw bytes as they arrive; get back every message completed by them. A frame may be split
    across any number of feeds, and one feed may complete several frames. After an EventStreamError
    the decoder is broken and refuses further input (the stream cannot be resynchronised)."""

    def __init__(self) -> None:
        self._buf = bytearray()
        self._broken: str | None = None

    @property
    def pending(self) -> int:
        """Bytes of an incomplete frame held back; non-zero at the end of input means truncation."""
        return len(self._buf)

    def feed(self, data: bytes) -> list[EventMessage]:
        if self._broken:
            raise EventStreamError(self._broken)
        self._buf += data
        out: list[EventMessage] = []
        try:
            while len(self._buf) >= PRELUDE:
                total, headers_len, prelude_crc = struct.unpack_from(">III", self._buf, 0)
                if zlib.crc32(self._buf[:8]) != prelude_crc:
                    raise EventStreamError("prelude CRC mismatch")
                if total < MIN_MESSAGE or total > MAX_MESSAGE or headers_len > MAX_HEADERS \
                        or PRELUDE + headers_len + 4 > total:
                    raise EventStreamError(f"impossible frame lengths (total {total}, headers {headers_len})")
                if len(self._buf) < total:
                    break
                frame = bytes(self._buf[:total])
                (message_crc,) = struct.unpack_from(">I", frame, total - 4)
                if zlib.crc32(frame[:-4]) != message_crc:
                    raise EventStreamError("message CRC mismatch")
                headers = parse_headers(frame[PRELUDE:PRELUDE + headers_len])
                out.append(EventMessage(headers, frame[PRELUDE + headers_len:total - 4]))
                del self._buf[:total]
        except EventStreamError as exc:
            self._broken = str(exc)
            self._buf.clear()
            exc.messages = out
            raise
        return out
