"""The live tail's rows without the widget (app/tui/tail_rows.py): keys in order, sequence numbers that
survive eviction, cells made once on first use, column widths that only grow, pruning of evicted rows."""
from __future__ import annotations

import pytest
from rich.text import Text

from app.tui.tail_cell import TailCell
from app.tui.tail_rows import TailRows


def rows_of(n: int, start: int = 0) -> list[tuple[str, dict]]:
    return [(f"k{i}", {"n": i}) for i in range(start, start + n)]


def formatter(made: list):
    def cells(item: dict) -> tuple:
        made.append(item["n"])
        return (TailCell(f"row {item['n']}"), TailCell("x" * item["n"]))
    return cells


def test_extend_keeps_keys_items_and_sequence_in_order():
    rows = TailRows()
    rows.extend(rows_of(3))
    assert rows.keys == ["k0", "k1", "k2"] and len(rows) == 3 and "k1" in rows and "k9" not in rows
    assert [rows.index(k) for k in rows.keys] == [0, 1, 2]
    assert rows.item("k2") == {"n": 2}
    assert rows.seq == {"k0": 0, "k1": 1, "k2": 2}


def test_a_duplicate_key_raises_and_keeps_the_rows_before_it():
    rows = TailRows()
    rows.extend(rows_of(2))
    with pytest.raises(ValueError, match="duplicate row key 'k1'"):
        rows.extend([("k2", {"n": 2}), ("k1", {"n": 1}), ("k3", {"n": 3})])
    assert rows.keys == ["k0", "k1", "k2"] and rows.next_seq == 3
    rows.extend([("k3", {"n": 3})])
    assert rows.seq["k3"] == 3  # numbering goes on without a gap


def test_dropping_the_oldest_rows_keeps_indexes_and_sequence_numbers_right():
    rows = TailRows()
    rows.extend(rows_of(5))
    assert rows.drop(2) == 2
    assert rows.keys == ["k2", "k3", "k4"] and rows.first_seq == 2
    assert rows.index("k2") == 0 and rows.index("k4") == 2 and rows.item("k3") == {"n": 3}
    assert rows.seq["k3"] == 3  # the number (zebra parity) survives eviction
    with pytest.raises(KeyError):
        rows.index("k0")
    assert rows.drop(10) == 3 and len(rows) == 0 and rows.first_seq == 5


def test_cells_are_made_once_on_first_use_and_report_a_wider_column():
    rows = TailRows()
    rows.add_column("name")
    rows.add_column("fill", key="f")
    assert [(c.key, c.label.plain, c.width) for c in rows.columns] == [("name", "name", 4), ("f", "fill", 4)]
    rows.extend(rows_of(6))
    made: list = []
    cells, wider = rows.row_cells("k5", formatter(made))
    assert [c.plain for c in cells] == ["row 5", "xxxxx"] and wider  # both columns grew
    assert [c.width for c in rows.columns] == [5, 5]
    again, wider = rows.row_cells("k5", formatter(made))
    assert again is cells and not wider and made == [5]  # cached: not made again
    _, wider = rows.row_cells("k1", formatter(made))
    assert not wider and [c.width for c in rows.columns] == [5, 5]  # narrower cells: widths stay
    assert set(rows.cells) == {"k1", "k5"}  # only the rows read so far


def test_rows_added_as_cells_have_no_item_and_plain_strings_become_tail_cells():
    rows = TailRows()
    rows.add_column("a")
    rows.add_column("b")
    rows.extend([("r", None)])
    assert rows.set_cells("r", ("alpha", Text("β", style="red")))
    cells = rows.cells["r"]
    assert isinstance(cells[0], TailCell) and cells[0].plain == "alpha"
    assert isinstance(cells[1], Text)  # rich Text is kept as it is
    assert rows.item("r") is None
    assert not rows.set_cells("r", ("a", "b"))  # nothing wider


def test_prune_forgets_the_cells_of_evicted_rows_only_over_the_limit():
    rows = TailRows()
    rows.add_column("n")
    rows.extend(rows_of(10))
    for key in list(rows.keys):
        rows.row_cells(key, formatter([]))
    rows.drop(4)
    assert not rows.prune(10) and len(rows.cells) == 10  # at the limit: kept
    assert rows.prune(9)
    assert set(rows.cells) == set(rows.keys) == {f"k{i}" for i in range(4, 10)}


def test_clear_goes_on_numbering_and_can_drop_the_columns():
    rows = TailRows()
    rows.add_column("n")
    rows.extend(rows_of(3))
    rows.row_cells("k0", formatter([]))
    rows.clear()
    assert len(rows) == 0 and not rows.cells and not rows.seq and len(rows.columns) == 1
    rows.extend([("k0", {"n": 0})])  # a key can come back after a clear
    assert rows.seq["k0"] == 3 and rows.index("k0") == 0
    rows.clear(columns=True)
    assert rows.columns == []
