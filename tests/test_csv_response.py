"""CSV downloads: formulas are neutralised, numbers are left as numbers (issue 14, item 17)."""

from decimal import Decimal

import pytest

from csworkbench.core.csv_response import neutralise


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (Decimal("-2.12"), "-2.12"),
        ("-2.12", "-2.12"),
        (-3, "-3"),
        ("+4", "+4"),
        ("-0.5e-3", "-0.5e-3"),
        ("=1+2", "'=1+2"),
        ("-2+3", "'-2+3"),
        ("-1+cmd|' /C calc'!A0", "'-1+cmd|' /C calc'!A0"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("+", "'+"),
        ("-", "'-"),
        ("\t1", "'\t1"),
        ("Acme", "Acme"),
        (None, ""),
    ],
)
def test_formulas_get_a_quote_and_plain_numbers_do_not(value, expected):
    assert neutralise(value) == expected
