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
