"""The fitted preprocessing transform: fitted on the training split, applied everywhere else.

Preprocessing fits it and writes it as JSON; training packages it with the model; the inference
server loads it and applies exactly the same steps to raw rows. One implementation of the
encoding (`_encode`) serves both the DataFrame path (preprocessing, evaluation) and the raw-token
path (serving), so the two cannot drift apart.

Steps, per column kind:
- numeric: parse, remember which values were missing (an indicator column when the training data
  had any), impute the training median, clip to training quantiles, standardise with the training
  mean and standard deviation.
- categorical: one-hot over the levels seen in training; a missing value is its own level
  ("__missing__") and an unseen level encodes as all zeros.
Cells are read by the one cell policy (`cells.py`: what is missing, what is rejected), on every
path alike.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from itertools import chain, repeat
from operator import itemgetter
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from runtime_scripts.common.tabular.cells import (
    CellError,
    categorical_value,
    numeric_rejection,
    parse_numeric,
)

if TYPE_CHECKING:
    import pandas as pd

    from runtime_scripts.common.tabular.dataset import DatasetSpec

MISSING_LEVEL = "__missing__"
_SCATTER_MIN_ROWS = 16
TRANSFORM_FORMAT_VERSION = 1


class TransformInputError(ValueError):
    """Raw input that cannot be encoded; the message names the row and column."""


@dataclass(frozen=True)
class NumericColumn:
    name: str
    median: float
    clip_low: float
    clip_high: float
    mean: float
    std: float
    missing_indicator: bool


@dataclass(frozen=True)
class CategoricalColumn:
    name: str
    levels: list[str]


@dataclass
class FittedTransform:
    """Raw feature columns (request order) -> model feature matrix."""

    input_columns: list[str]
    numeric: list[NumericColumn]
    categorical: list[CategoricalColumn]
    target: str
    positive_label: str
    version: int = TRANSFORM_FORMAT_VERSION

    def __post_init__(self) -> None:
        position = {name: i for i, name in enumerate(self.input_columns)}
        self._numeric_positions = np.array([position[c.name] for c in self.numeric], dtype=np.intp)
        self._categorical_positions = [position[c.name] for c in self.categorical]
        self._median = np.array([c.median for c in self.numeric])
        self._low = np.array([c.clip_low for c in self.numeric])
        self._high = np.array([c.clip_high for c in self.numeric])
        self._mean = np.array([c.mean for c in self.numeric])
        self._std = np.array([c.std for c in self.numeric])
        self._indicator_idx = np.array(
            [i for i, c in enumerate(self.numeric) if c.missing_indicator], dtype=np.intp
        )
        # Per categorical column: level -> output column offset.
        self._level_index = [
            {level: j for j, level in enumerate(c.levels)} for c in self.categorical
        ]
        # The same, keyed by raw token: "" and None mean the missing level.
        self._token_index: list[dict[object, int]] = []
        for index in self._level_index:
            tokens: dict[object, int] = dict(index)
            if MISSING_LEVEL in index:
                tokens[""] = tokens[None] = index[MISSING_LEVEL]
            self._token_index.append(tokens)
        n_num = len(self.numeric)
        self._cat_offsets = []
        offset = n_num + len(self._indicator_idx)
        for c in self.categorical:
            self._cat_offsets.append(offset)
            offset += len(c.levels)
        self._width = offset
        self._cat_offsets_array = np.array(self._cat_offsets, dtype=np.intp)
        self._numeric_getter = columns_getter(self._numeric_positions.tolist())
        self._categorical_getter = columns_getter(self._categorical_positions)

    # --- fitting ---------------------------------------------------------------------------------
    @classmethod
    def fit(cls, train: pd.DataFrame, spec: DatasetSpec) -> FittedTransform:
        import pandas as pd

        low_q, high_q = spec.clip_quantiles
        numeric: list[NumericColumn] = []
        for name in spec.numeric_features:
            values = pd.Series(_numeric_column(train[name].tolist(), name), dtype="float64")
            has_missing = bool(values.isna().any())
            if values.notna().sum() == 0:
                raise TransformInputError(
                    f"numeric column {name!r} has no values in the training split: "
                    "drop it from the dataset spec or fix the data"
                )
            median = float(values.median())
            filled = values.fillna(median)
            lo, hi = (float(q) for q in filled.quantile([low_q, high_q]))
            clipped = filled.clip(lo, hi)
            mean = float(clipped.mean())
            std = float(clipped.std(ddof=0))
            numeric.append(
                NumericColumn(name, median, lo, hi, mean, std if std > 0 else 1.0, has_missing)
            )
        categorical = [
            CategoricalColumn(
                name,
                sorted({_level_of(v, i, name) for i, v in enumerate(train[name].tolist())}),
            )
            for name in spec.categorical_features
        ]
        return cls(
            input_columns=list(spec.feature_names),
            numeric=numeric,
            categorical=categorical,
            target=spec.target,
            positive_label=spec.positive_label,
        )

    # --- serialisation ---------------------------------------------------------------------------
    def to_dict(self) -> dict:
        return {
            "version": self.version,
            "target": self.target,
            "positive_label": self.positive_label,
            "input_columns": self.input_columns,
            "numeric": [asdict(c) for c in self.numeric],
            "categorical": [asdict(c) for c in self.categorical],
            "output_columns": self.output_columns,
        }

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(self.to_dict(), indent=2))

    @classmethod
    def from_dict(cls, data: dict) -> FittedTransform:
        if data.get("version") != TRANSFORM_FORMAT_VERSION:
            raise ValueError(
                f"transform format version {data.get('version')!r} is not supported "
                f"(expected {TRANSFORM_FORMAT_VERSION}): re-run preprocessing with this image"
            )
        return cls(
            input_columns=list(data["input_columns"]),
            numeric=[NumericColumn(**c) for c in data["numeric"]],
            categorical=[CategoricalColumn(**c) for c in data["categorical"]],
            target=data["target"],
            positive_label=data["positive_label"],
        )

    @classmethod
    def load(cls, path: Path) -> FittedTransform:
        return cls.from_dict(json.loads(Path(path).read_text()))

    # --- applying --------------------------------------------------------------------------------
    @property
    def output_columns(self) -> list[str]:
        names = [c.name for c in self.numeric]
        names += [f"{self.numeric[i].name}__missing" for i in self._indicator_idx]
        for c in self.categorical:
            names += [f"{c.name}={level}" for level in c.levels]
        return names

    @property
    def width(self) -> int:
        return self._width

    def transform_frame(self, frame: pd.DataFrame) -> np.ndarray:
        """Encode a DataFrame that has (at least) the raw input columns, by name."""
        missing = [c for c in self.input_columns if c not in frame.columns]
        if missing:
            raise TransformInputError(f"input is missing feature columns: {', '.join(missing)}")
        numeric = np.empty((len(frame), len(self.numeric)), dtype=np.float64)
        for j, col in enumerate(self.numeric):
            numeric[:, j] = _numeric_column(frame[col.name].tolist(), col.name)
        categorical = [frame[c.name].tolist() for c in self.categorical]
        return self._encode(numeric, categorical)

    def transform_rows(self, rows: Sequence[Sequence[object]]) -> np.ndarray:
        """Encode raw rows of tokens in `input_columns` order (the serving path).

        Tokens are strings (or numbers and None from JSON); "" and None are missing values.
        Columns are pulled out of the rows with C-level iteration (`itemgetter`, `zip`, `map`)
        because a per-token Python loop is most of the cost of a 1,000-row request.
        """
        n_cols = len(self.input_columns)
        if set(map(len, rows)) - {n_cols}:
            i, row = next((i, r) for i, r in enumerate(rows) if len(r) != n_cols)
            raise TransformInputError(
                f"row {i + 1} has {len(row)} columns, expected {n_cols}: "
                f"{', '.join(self.input_columns)}"
            )
        n_num, n_cat = len(self.numeric), len(self.categorical)
        numeric = np.zeros((len(rows), n_num), dtype=np.float64)
        if n_num and rows:
            tokens = list(chain.from_iterable(map(self._numeric_getter, rows)))
            values, bad = parse_numeric(tokens)
            if bad is not None:
                name = self.numeric[bad % n_num].name
                raise _cell_error(bad // n_num, name, numeric_rejection(tokens[bad]))
            numeric = values.reshape(len(rows), n_num)
        categorical: list[Sequence[object]] = [[] for _ in range(n_cat)]
        if n_cat and rows:
            categorical = list(zip(*map(self._categorical_getter, rows), strict=True))
        return self._encode(numeric, categorical)

    def _encode(self, numeric: np.ndarray, categorical: Sequence[Sequence[object]]) -> np.ndarray:
        """The one encoding: `numeric` (NaN = missing) and raw categorical values per column."""
        n = numeric.shape[0]
        out = np.zeros((n, self._width), dtype=np.float32)
        n_num = len(self.numeric)
        if n_num:
            nan_mask = np.isnan(numeric)
            filled = np.where(nan_mask, self._median, numeric)
            np.clip(filled, self._low, self._high, out=filled)
            out[:, :n_num] = (filled - self._mean) / self._std
            if len(self._indicator_idx):
                out[:, n_num : n_num + len(self._indicator_idx)] = nan_mask[:, self._indicator_idx]
        if self.categorical and n:
            # Output column of each value, one list per categorical column: strings that are
            # levels (and ""/None, missing) resolve in one C-level pass; the rest (numbers, NaN,
            # unseen levels) take the normalising path. Then one scatter for all columns, so a
            # single row costs a handful of numpy calls, not a handful per column.
            columns = []
            for lookup, levels, values, column in zip(
                self._token_index, self._level_index, categorical, self.categorical, strict=True
            ):
                try:
                    index = list(map(lookup.get, values, repeat(-1)))
                except TypeError:  # an unhashable value: normalise every value
                    index = [-1] * n
                if -1 in index:
                    index = [
                        j if j >= 0 else levels.get(_level_of(values[i], i, column.name), -1)
                        for i, j in enumerate(index)
                    ]
                columns.append(index)
            if n <= _SCATTER_MIN_ROWS:  # numpy call overhead would dominate: set them one by one
                for offset, index in zip(self._cat_offsets, columns, strict=True):
                    for i, j in enumerate(index):
                        if j >= 0:
                            out[i, offset + j] = 1.0
            else:
                level = np.array(columns, dtype=np.intp)  # (categorical columns, rows)
                flat = level + self._cat_offsets_array[:, None] + np.arange(n) * self._width
                out.ravel()[flat[level >= 0]] = 1.0
        return out


def columns_getter(positions: Sequence[int]) -> Callable[[Sequence[object]], tuple[object, ...]]:
    """Like itemgetter(*positions), but always returning a tuple."""
    indices = [int(p) for p in positions]
    if not indices:  # a spec without categorical (or without numeric) features
        return lambda row: ()
    if len(indices) == 1:
        return lambda row: (row[indices[0]],)
    return itemgetter(*indices)


def _level_of(value: object, row: int, column: str) -> str:
    try:
        level = categorical_value(value)
    except CellError as exc:
        raise _cell_error(row, column, exc) from None
    return MISSING_LEVEL if level is None else level


def _numeric_column(values: Sequence[object], column: str) -> np.ndarray:
    numbers, bad = parse_numeric(values)
    if bad is not None:
        raise _cell_error(bad, column, numeric_rejection(values[bad]))
    return numbers


def _cell_error(row: int, column: str, error: CellError) -> TransformInputError:
    """The policy's verdict on one cell, naming its (1-based) row and its column."""
    return TransformInputError(f"row {row + 1}: column {column!r} {error}")
