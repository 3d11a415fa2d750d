"""One cell policy (`runtime_scripts/common/tabular/cells.py`): the same cell gets the same
verdict at training (preprocessing's validation over a CSV read as text) and at serving (the
raw-token transform, from CSV tokens and from JSON values)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from runtime_scripts.common.tabular import cells
from runtime_scripts.common.tabular.dataset import DatasetSpec
from runtime_scripts.common.tabular.preprocess import cell_problems
from runtime_scripts.common.tabular.transform import FittedTransform, TransformInputError
from runtime_scripts.use_cases.churn.manifest import MANIFEST as CHURN
from tests.runtime.conftest import SAMPLE

CHURN_SPEC = CHURN.path(CHURN.dataset_spec)

SPEC = DatasetSpec.load(CHURN_SPEC)
NUMERIC, CATEGORICAL = "account_length", "state"

# (cell, numeric verdict, categorical verdict): a float, "missing", a level, or "rejected".
CASES = [
    ("128", 128.0, "128"),
    (" 12 ", 12.0, "12"),
    ("", "missing", "missing"),
    (" ", "missing", "missing"),
    ("\t", "missing", "missing"),
    ("NaN", "missing", "NaN"),
    ("nan", "missing", "nan"),
    ("inf", "rejected", "inf"),
    ("-Infinity", "rejected", "-Infinity"),
    ("1e400", "rejected", "1e400"),
    ("1_000", "rejected", "1_000"),
    ("\u0661\u0662", "rejected", "\u0661\u0662"),  # Arabic-Indic digits: Python's float reads 12
    ("1\x00", "rejected", "rejected"),
    ("K\x00S", "rejected", "rejected"),
    ("abc", "rejected", "abc"),
]


@pytest.fixture(scope="module")
def transform() -> FittedTransform:
    frame = pd.read_csv(SAMPLE, dtype=str, keep_default_na=False).iloc[:400]
    return FittedTransform.fit(frame, SPEC)


def _training_verdict(cell: str, column: str) -> object:
    frame = pd.read_csv(SAMPLE, dtype=str, keep_default_na=False, nrows=3)
    frame.loc[1, column] = cell
    numeric, problems = cell_problems(frame, SPEC)
    if problems:
        assert column in problems[0] and "1 rows" in problems[0]
        return "rejected"
    if column == NUMERIC:
        value = numeric[column][1]
        return "missing" if math.isnan(value) else value
    level = cells.categorical_value(frame.loc[1, column])
    return "missing" if level is None else level


def _row(column: str, cell: object) -> list[object]:
    row = pd.read_csv(SAMPLE, dtype=str, keep_default_na=False, nrows=1)[SPEC.feature_names]
    values: list[object] = row.iloc[0].tolist()
    values[SPEC.feature_names.index(column)] = cell
    return values


def _assert_serving(transform: FittedTransform, cell: object, column: str, verdict: object):
    """Serving rejects the cell naming row and column, or encodes it exactly as the verdict."""
    if verdict == "rejected":
        with pytest.raises(TransformInputError, match=f"row 1: column {column!r}"):
            transform.transform_rows([_row(column, cell)])
        return
    same = None if verdict == "missing" else repr(verdict) if column == NUMERIC else verdict
    np.testing.assert_array_equal(transform.transform_rows([_row(column, cell)]),
                                  transform.transform_rows([_row(column, same)]))


@pytest.mark.parametrize(("cell", "numeric", "categorical"), CASES,
                         ids=[repr(c[0]) for c in CASES])
def test_training_and_serving_agree(transform, cell, numeric, categorical):
    assert _training_verdict(cell, NUMERIC) == numeric
    assert _training_verdict(cell, CATEGORICAL) == categorical
    _assert_serving(transform, cell, NUMERIC, numeric)
    _assert_serving(transform, cell, CATEGORICAL, categorical)


@pytest.mark.parametrize(("value", "verdict"), [
    (None, "missing"), (float("nan"), "missing"), (12, 12.0), (12.5, 12.5),
    (float("inf"), "rejected"), (True, "rejected"), ([1], "rejected"),
])
def test_json_values_follow_the_same_policy(transform, value, verdict):
    _assert_serving(transform, value, NUMERIC, verdict)


def test_json_numbers_as_categorical_levels():
    assert cells.categorical_value(415) == cells.categorical_value(415.0) == "415"


def test_fast_path_finds_the_first_rejected_cell():
    tokens = ["1", "2.5", " 3 ", "", "inf", "x"]
    values, bad = cells.parse_numeric(tokens)
    assert bad == 4
    numbers, bad = cells.parse_numeric(["1", "2"])
    assert numbers.tolist() == [1.0, 2.0] and bad is None
    assert np.isnan(cells.parse_numeric(["nan", " "])[0]).all()


def test_echoes_are_short():
    message = str(cells.numeric_rejection("9" * 1_000_000 + "x"))
    assert len(message) < 200 and "1000001 characters" in message
