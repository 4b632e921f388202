"""RequestRow reads like record_dict(record) | {"seq": n} and builds that dict only when a field is read."""
from datetime import datetime, timezone

from app.core.records import RequestRecord, record_dict
from app.core.usage import Usage
from app.service.request_row import RequestRow


def record() -> RequestRecord:
    return RequestRecord(id="req_1", ts=datetime(2026, 11, 27, 4, 30, tzinfo=timezone.utc), path="/v1/messages",
                         key_name="dev-pranay", team="backend", requested_model="claude-sonnet-4-5",
                         served_model="claude-haiku-4-5", provider="anthropic", status=200,
                         usage=Usage(input_tokens=12, output_tokens=34), cost_micro_usd=123, latency_ms=12.345,
                         attempts=[{"provider": "anthropic", "status": 200}])


def test_a_row_is_the_records_dict_with_its_seq():
    r = record()
    row = RequestRow(r, 7)
    expected = record_dict(r) | {"seq": 7}
    assert dict(row) == expected and row == expected and len(row) == len(expected)
    assert row["served_model"] == "claude-haiku-4-5" and row.get("latency_ms") == 12.3
    assert row.get("nope") is None and row.get("nope", "x") == "x" and "key" in row and "nope" not in row


def test_id_and_seq_do_not_build_the_dict(monkeypatch):
    import app.service.request_row as request_row
    built = []
    monkeypatch.setattr(request_row, "record_dict", lambda rec: built.append(rec) or record_dict(rec))
    row = RequestRow(record(), 7)
    assert (row["id"], row.get("id"), row["seq"], row.get("seq", 0)) == ("req_1", "req_1", 7, 7)
    assert built == []
    assert row.get("key") == "dev-pranay" and row["team"] == "backend"
    assert len(built) == 1  # built once, then kept
    assert row.fields() is row.fields() and row.fields() == dict(row) and len(built) == 1


def test_a_tail_row_formats_the_same_from_a_view_and_from_a_dict():
    """row_cells reads a RequestRow through its dict (one build, no per-field lookups): same cells as
    from the plain dict a remote gateway sends."""
    from app.tui.request_detail import zone
    from app.tui.screens.request_rows import row_cells
    from app.tui.state import ConsoleState
    row = RequestRow(record(), 7)
    money, tz = ConsoleState().money, zone("Asia/Kolkata")
    cells = [(c.plain, c.style, c.justify) for c in row_cells(row, tz, money)]
    assert cells == [(c.plain, c.style, c.justify) for c in row_cells(dict(row), tz, money)]
    assert cells[0][0] == "10:00:00" and cells[2][0] == "claude-sonnet-4-5→claude-haiku-4-5"


def test_local_time_by_the_second_matches_parsing_each_timestamp():
    """The tail's time column looks up a gateway timestamp by its UTC second: the same text as parsing and
    converting it, across daylight-saving changes, and other forms still parse."""
    from datetime import timedelta

    from app.tui.request_detail import local_time, zone
    for name in ("Europe/Berlin", "America/New_York", "Asia/Kolkata", "Australia/Lord_Howe", "UTC"):
        tz = zone(name)
        start = datetime(2026, 3, 8, 0, 0, 0, 123456, tzinfo=timezone.utc)  # US change on this day
        for minutes in list(range(0, 24 * 60, 7)) + [60 * 24 * 21 + m for m in range(0, 24 * 60, 13)]:
            at = start + timedelta(minutes=minutes, seconds=minutes % 60)
            ts = at.isoformat()
            assert len(ts) == 32
            assert local_time(ts, tz) == at.astimezone(tz).strftime("%H:%M:%S"), (name, ts)
            assert local_time(ts, tz, "%Y-%m-%d %H:%M:%S %Z") == at.astimezone(tz).strftime("%Y-%m-%d %H:%M:%S %Z")
    tz = zone("Europe/Berlin")
    assert local_time("2026-11-27T04:30:00Z", tz) == "05:30:00"
    assert local_time("2026-11-27T04:30:00.5+05:30", tz) == "00:00:00"
    assert local_time("2026-11-27T04:30:00.000000+00:00", tz, "%S.%f") == "00.000000"
    assert local_time("2026-13-45T99:99:99.000000+00:00", tz) == "–" and local_time("not a time", tz) == "–"
    assert local_time(None, tz) == "–"


def test_client_and_upstream_text_is_printable_in_the_row():
    r = record()
    r.served_model = "evil\x1b]52;c;aGk=\x07"
    r.error_message = "boom \x1b[2J\u202e"
    r.attempts = [{"provider": "anthropic", "status": 500, "error": "x\x9by"}]
    row = RequestRow(r, 1)
    assert row["served_model"] == "evil␛]52;c;aGk=␇" and row["error_message"] == "boom ␛[2J\ufffd"
    assert row["attempts"] == [{"provider": "anthropic", "status": 500, "error": "x\ufffdy"}]
    assert row["key"] == "dev-pranay" and r.served_model == "evil\x1b]52;c;aGk=\x07"  # the record is untouched


async def test_the_console_source_reads_printable_text_and_keeps_request_rows_lazy():
    from app.service.printable_source import PrintableSource

    class Source:
        remote = False

        async def events_since(self, seq):
            return seq + 1, [{"kind": "failover", "reason": "HTTP 500 \x1b[31m", ("t\x1b",): ["a\x07"]}]

        async def requests_since(self, seq):
            return 2, [RequestRow(record(), 1), {"id": "r2", "served_model": "m\x1b"}]

    source = PrintableSource(Source())
    assert source.remote is False
    assert await source.events_since(0) == (1, [{"kind": "failover", "reason": "HTTP 500 ␛[31m", ("t␛",): ["a␇"]}])
    seq, (lazy, remote) = await source.requests_since(0)
    assert seq == 2 and isinstance(lazy, RequestRow) and lazy._fields is None
    assert remote == {"id": "r2", "served_model": "m␛"}


def test_printable_data_returns_clean_data_as_is_and_walks_dirty_data():
    from app.core.printable import printable_data
    clean = {"a": ["b", ("c", 1, 2.5, None)], "modèle": "₹1.04"}
    assert printable_data(clean) is clean  # no walk, no copy
    slashed = {"path\\x": ["back\\slash"]}  # a backslash costs a walk, and changes nothing
    assert printable_data(slashed) == slashed
    dirty = {"a": ["b\x1b", ("c\u202e", 1)], "k\x07": 2.5, "bs": "a\\b"}
    assert printable_data(dirty) == {"a": ["b␛", ("c\ufffd", 1)], "k␇": 2.5, "bs": "a\\b"}
