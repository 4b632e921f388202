"""footed(): rounded amounts that add up to the exact total rounded, each within one unit of its exact value."""
from __future__ import annotations

from decimal import Decimal as D

import pytest

from app.reports.footing import footed


@pytest.mark.parametrize("amounts, places, expected", [
    ([], 2, []),
    ([D("1.008")] * 3, 2, [D("1.01"), D("1.01"), D("1.00")]),  # alone each is 1.01: 3.03 against 3.024
    ([D("0.294"), D("0.084"), D("0.0336")], 2, [D("0.30"), D("0.08"), D("0.03")]),  # ties: the earlier row
    ([D("1.25"), D("2.5")], 2, [D("1.25"), D("2.50")]),  # exact amounts stay as they are
    ([D("-0.006"), D("-0.006"), D("0.004")], 2, [D("0.00"), D("-0.01"), D("0.00")]),  # -0.008: down to -0.01
    ([D("0.00005")] * 4, 4, [D("0.0001"), D("0.0001"), D("0.0000"), D("0.0000")]),  # 0.0002: half-even total
])
def test_footed(amounts, places, expected):
    got = footed(amounts, places)
    assert got == expected and [str(g) for g in got] == [str(e) for e in expected]  # places kept: "2.50"
    assert sum(got, D(0)) == sum(amounts, D(0)).quantize(D(1).scaleb(-places))
    assert all(abs(g - a) < D(1).scaleb(-places) for g, a in zip(got, amounts))
