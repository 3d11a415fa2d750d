"""What Parquet footers (parquet_footer.py) prove about all of a dataset's rows at once.

Statistics bound the data; they do not count it. So only what holds for every possible content
is derived here: the rows that have a value in a column (at most: every row not counted as
null), the classes certainly present (each row group's smallest and largest value is a value of
its rows), and the range a column's values lie within. A row group without statistics for the
column makes the fact unknown (None), never guessed.
"""

from __future__ import annotations

from typing import Any

from .parquet_footer import Footer


def rows(footers: list[Footer]) -> int:
    return sum(f.rows for f in footers)


def rows_with_value(footers: list[Footer], column: str) -> int:
    """At most this many rows have a value in `column` (all rows where nulls are not counted)."""
    total = 0
    for footer in footers:
        for group_rows, stats in footer.row_groups:
            column_stats = stats.get(column)
            nulls = column_stats.null_count if column_stats else None
            total += group_rows - (nulls or 0)
    return total


def labels_present(footers: list[Footer], column: str) -> set[str]:
    """Class labels certainly in the data, as the split job writes them (cells.categorical_value:
    text stripped, 415.0 as '415'); blank text is no label (the split job drops such rows)."""
    found = set()
    for footer in footers:
        for _rows, stats in footer.row_groups:
            column_stats = stats.get(column)
            if column_stats is None:
                continue
            for value in (column_stats.min_value, column_stats.max_value):
                label = _label(value)
                if label:
                    found.add(label)
    return found


def value_range(footers: list[Footer], column: str) -> tuple[Any, Any] | None:
    """The smallest and largest value of `column` over every row group that has values; None
    when one of them has no statistics (or no exact bounds) for it, or none has a value."""
    low = high = None
    for footer in footers:
        for group_rows, stats in footer.row_groups:
            column_stats = stats.get(column)
            if column_stats is not None and column_stats.null_count == group_rows:
                continue  # only nulls: nothing to bound
            if column_stats is None or column_stats.min_value is None \
                    or column_stats.max_value is None:
                return None
            low = column_stats.min_value if low is None else min(low, column_stats.min_value)
            high = column_stats.max_value if high is None else max(high, column_stats.max_value)
    return None if low is None else (low, high)


def _label(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value.strip() or None
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
