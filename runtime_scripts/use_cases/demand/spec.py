"""The forecasting dataset spec: how long-format sales data becomes regular series.

A JSON document (the bundled `dataset.json`, or another one an execution passes as the
`config` processing input) that describes any long-format sales table by configuration alone:

    {"name": "pizzaplace",
     "series_id": ["name"],                 # the columns one series is per (the grouping)
     "timestamp": "date",                   # a column, or {"year": .., "month": .., "day": ..}
     "target": "pizzas",                    # the column to forecast (see `aggregation`)
     "aggregation": "count",                # none | sum | mean | count: rows -> one per period
     "frequency": "D",                      # pandas alias: D, W-MON .. W-SUN, MS
     "missing_periods": "zero",             # zero (no rows = no sales) | missing (unknown)
     "covariates": {"price": "mean"},       # known-future covariates and their aggregation
     "static": ["type"],                    # per-series attributes
     "horizon": 14, "season_length": 7,     # season_length: default by frequency
     "holidays": "US",                      # country for holiday features; null: none
     "negative_target": "error",            # error | clip (to 0)
     "short_series": "drop"}                # error | drop: series under one season of history

`aggregation: none` says the data is already one row per series and period: a duplicate
(series, period) or a timestamp off the frequency's grid is then an error naming the rows. With
`sum`/`mean`/`count` rows are binned into the period that holds them (transactions, or daily
rows of a weekly forecast). `count` counts rows (the target need not be a column).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

AGGREGATIONS = ("none", "sum", "mean", "count")
COVARIATE_AGGREGATIONS = ("sum", "mean", "min", "max", "last")
# The frequencies a spec may name, with their default season length (periods per cycle).
FREQUENCIES = {"D": 7, "MS": 12, **{f"W-{d}": 52 for d in
                                    ("MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN")}}
MISSING_PERIODS = ("zero", "missing")
NEGATIVE_TARGET = ("error", "clip")
SHORT_SERIES = ("error", "drop")
DATE_PARTS = ("year", "month", "day")
MAX_HORIZON = 366


class ForecastSpecError(ValueError):
    """The spec itself is malformed; the message names the key and the fix."""


@dataclass(frozen=True)
class ForecastSpec:
    name: str
    series_id: tuple[str, ...]
    target: str
    timestamp: str | dict[str, str]
    frequency: str = "D"
    aggregation: str = "none"
    missing_periods: str = "zero"
    covariates: dict[str, str] = field(default_factory=dict)
    static: tuple[str, ...] = ()
    horizon: int = 14
    season_length: int = 0  # 0: FREQUENCIES' default
    holidays: str | None = None
    negative_target: str = "error"
    short_series: str = "drop"

    @property
    def season(self) -> int:
        return self.season_length or FREQUENCIES[self.frequency]

    @property
    def timestamp_columns(self) -> list[str]:
        if isinstance(self.timestamp, str):
            return [self.timestamp]
        return [self.timestamp[part] for part in DATE_PARTS if part in self.timestamp]

    @property
    def input_columns(self) -> list[str]:
        """The raw columns the data must have."""
        target = [] if self.aggregation == "count" else [self.target]
        return [*self.series_id, *self.timestamp_columns, *target, *self.covariates,
                *self.static]

    def to_json(self) -> dict:
        return {"name": self.name, "series_id": list(self.series_id), "target": self.target,
                "timestamp": self.timestamp, "frequency": self.frequency,
                "aggregation": self.aggregation, "missing_periods": self.missing_periods,
                "covariates": self.covariates, "static": list(self.static),
                "horizon": self.horizon, "season_length": self.season,
                "holidays": self.holidays, "negative_target": self.negative_target,
                "short_series": self.short_series}

    @classmethod
    def load(cls, path: Path) -> ForecastSpec:
        try:
            data = json.loads(Path(path).read_text())
        except FileNotFoundError:
            raise ForecastSpecError(f"dataset spec {path} does not exist") from None
        except json.JSONDecodeError as exc:
            raise ForecastSpecError(f"dataset spec {path} is not valid JSON: {exc}") from None
        return cls.from_json(data, str(path))

    @classmethod
    def from_json(cls, data: object, where: str = "dataset spec") -> ForecastSpec:
        if not isinstance(data, dict):
            raise ForecastSpecError(f"{where} must be a JSON object")
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(data) - known)
        if unknown:
            raise ForecastSpecError(f"{where}: unknown keys {unknown}; known: {sorted(known)}")
        missing = [k for k in ("name", "series_id", "target", "timestamp") if k not in data]
        if missing:
            raise ForecastSpecError(f"{where}: missing keys {missing}")
        args = dict(data)
        args["series_id"] = tuple(_names(data["series_id"], "series_id", where))
        args["static"] = tuple(_names(data.get("static", []), "static", where, empty_ok=True))
        spec = cls(**args)
        spec._validate(where)
        return spec

    def _validate(self, where: str) -> None:
        def choice(key: str, allowed) -> None:
            if getattr(self, key) not in allowed:
                raise ForecastSpecError(f"{where}: {key} {getattr(self, key)!r} is not one of "
                                        f"{', '.join(allowed)}")

        choice("aggregation", AGGREGATIONS)
        choice("frequency", tuple(FREQUENCIES))
        choice("missing_periods", MISSING_PERIODS)
        choice("negative_target", NEGATIVE_TARGET)
        choice("short_series", SHORT_SERIES)
        if isinstance(self.timestamp, dict):
            parts = set(self.timestamp)
            needed = {"year", "month"} | ({"day"} if self.frequency != "MS" else set())
            if not needed <= parts <= set(DATE_PARTS):
                raise ForecastSpecError(f"{where}: timestamp as date parts needs {sorted(needed)}"
                                        f" (of {', '.join(DATE_PARTS)}), got {sorted(parts)}")
        elif not isinstance(self.timestamp, str) or not self.timestamp:
            raise ForecastSpecError(f"{where}: timestamp must be a column name or "
                                    '{"year": col, "month": col, "day": col}')
        if not isinstance(self.covariates, dict) or any(
                a not in COVARIATE_AGGREGATIONS for a in self.covariates.values()):
            raise ForecastSpecError(f"{where}: covariates maps each column to one of "
                                    f"{', '.join(COVARIATE_AGGREGATIONS)}")
        if not isinstance(self.horizon, int) or not 1 <= self.horizon <= MAX_HORIZON:
            raise ForecastSpecError(f"{where}: horizon must be a whole number 1..{MAX_HORIZON}")
        if not isinstance(self.season_length, int) or self.season_length < 0:
            raise ForecastSpecError(f"{where}: season_length must be a whole number >= 1 "
                                    "(or 0 for the frequency's default)")
        columns = self.input_columns
        repeated = sorted({c for c in columns if columns.count(c) > 1})
        if repeated:
            raise ForecastSpecError(f"{where}: columns {repeated} are named in more than one "
                                    "role (series_id, timestamp, target, covariates, static)")
        if self.holidays is not None:
            import holidays

            if self.holidays not in holidays.list_supported_countries():
                raise ForecastSpecError(f"{where}: holidays {self.holidays!r} is no country "
                                        "code the holidays package knows (e.g. US, GB, DE)")


def _names(value: object, key: str, where: str, empty_ok: bool = False) -> list[str]:
    if isinstance(value, str):
        value = [value]
    if (not isinstance(value, list) or not all(isinstance(v, str) and v for v in value)
            or (not value and not empty_ok)):
        raise ForecastSpecError(f"{where}: {key} must be a list of column names")
    return value
