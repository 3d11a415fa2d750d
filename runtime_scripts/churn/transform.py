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
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import pandas as pd

    from runtime_scripts.churn.dataset import DatasetSpec

MISSING_LEVEL = "__missing__"
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
        n_num = len(self.numeric)
        self._cat_offsets = []
        offset = n_num + len(self._indicator_idx)
        for c in self.categorical:
            self._cat_offsets.append(offset)
            offset += len(c.levels)
        self._width = offset

    # --- fitting ---------------------------------------------------------------------------------
    @classmethod
    def fit(cls, train: pd.DataFrame, spec: DatasetSpec) -> FittedTransform:
        import pandas as pd

        low_q, high_q = spec.clip_quantiles
        numeric: list[NumericColumn] = []
        for name in spec.numeric_features:
            values = pd.to_numeric(train[name], errors="raise").astype("float64")
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
                sorted(
                    {MISSING_LEVEL if _is_missing(v) else str(v) for v in train[name].tolist()}
                ),
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
        import pandas as pd

        missing = [c for c in self.input_columns if c not in frame.columns]
        if missing:
            raise TransformInputError(f"input is missing feature columns: {', '.join(missing)}")
        numeric = np.empty((len(frame), len(self.numeric)), dtype=np.float64)
        for j, col in enumerate(self.numeric):
            converted = pd.to_numeric(frame[col.name], errors="coerce")
            bad = converted.isna() & frame[col.name].notna() & (frame[col.name] != "")
            if bad.any():
                row = int(np.flatnonzero(bad.to_numpy())[0])
                raise TransformInputError(
                    f"row {row + 1}: column {col.name!r} must be numeric, "
                    f"got {frame[col.name].iloc[row]!r}"
                )
            numeric[:, j] = converted.to_numpy(dtype=np.float64, na_value=np.nan)
        categorical = [
            [MISSING_LEVEL if _is_missing(v) else str(v) for v in frame[c.name].tolist()]
            for c in self.categorical
        ]
        return self._encode(numeric, categorical)

    def transform_rows(self, rows: Sequence[Sequence[str]]) -> np.ndarray:
        """Encode raw rows of string tokens in `input_columns` order (the serving path)."""
        n_cols = len(self.input_columns)
        numeric = np.empty((len(rows), len(self.numeric)), dtype=np.float64)
        positions = self._numeric_positions.tolist()
        for i, row in enumerate(rows):
            if len(row) != n_cols:
                raise TransformInputError(
                    f"row {i + 1} has {len(row)} columns, expected {n_cols}: "
                    f"{', '.join(self.input_columns)}"
                )
            out = numeric[i]
            for j, p in enumerate(positions):
                token = row[p]
                if token == "" or token is None:
                    out[j] = math.nan
                    continue
                try:
                    out[j] = float(token)
                except (TypeError, ValueError):
                    raise TransformInputError(
                        f"row {i + 1}: column {self.input_columns[p]!r} must be numeric, "
                        f"got {token!r}"
                    ) from None
        categorical = [
            [
                MISSING_LEVEL if row[p] is None or row[p] == "" else str(row[p])
                for row in rows
            ]
            for p in self._categorical_positions
        ]
        return self._encode(numeric, categorical)

    def _encode(self, numeric: np.ndarray, categorical: list[list[str]]) -> np.ndarray:
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
        for levels, offset, values in zip(
            self._level_index, self._cat_offsets, categorical, strict=True
        ):
            for i, value in enumerate(values):
                j = levels.get(value)
                if j is not None:
                    out[i, offset + j] = 1.0
        return out


def _is_missing(value: object) -> bool:
    return value is None or value == "" or (isinstance(value, float) and math.isnan(value))
