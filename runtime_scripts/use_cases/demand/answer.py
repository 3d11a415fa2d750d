"""Forecast requests -> answers, no I/O (serve.py puts it on HTTP; tests call it directly).

JSON request:
    {"series": [{"id": "hawaiian", "horizon": 14,
                 "history": [{"timestamp": "2015-12-31", "y": 7}, ...],   (optional)
                 "future": {"price": [13.2, ...]}}]}                      (optional)
`history` periods are merged over the model's own history of the series (new periods appended,
known ones replaced); the forecast starts after the last one. A series the model has not seen
needs a history of at least one season. `future` gives each known-future covariate for every
forecast period (the spec's `covariates`; required when it has any).
CSV request: one `id,horizon` per line (a header line `id,horizon` may lead; horizon may be left
out: the trained one).
The id `*` (EVERY_SERIES) stands for every series the model knows, each from its own history:
a batch transform of the one line `*` forecasts them all (the model's series, not a list that
could go stale).
Answers: JSON {"predictions": [{"id", "forecast": [{"timestamp", "p10", "p50", "p90"}]}]}, or
CSV lines `id,timestamp,p10,p50,p90`. Problems are `BadRequest`s naming the series and the fix.
"""

from __future__ import annotations

import csv
import io
import json

import pandas as pd

from runtime_scripts.use_cases.demand.bundle import Forecaster
from runtime_scripts.use_cases.demand.forecasters import MissingCovariates, future_index
from runtime_scripts.use_cases.demand.series import period_labels

MAX_SERIES_SHOWN = 5
EVERY_SERIES = "*"


class BadRequest(ValueError):
    """The request's fault: a 400 with this message."""


def parse_json(body: bytes) -> list[dict]:
    try:
        document = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise BadRequest(f"the body is not JSON: {exc}") from None
    items = document.get("series") if isinstance(document, dict) else None
    if not isinstance(items, list) or not items:
        raise BadRequest('the body must be {"series": [{"id": ..., "horizon": ...}, ...]}')
    for position, item in enumerate(items):
        if not isinstance(item, dict) or "id" not in item:
            raise BadRequest(f"series[{position}] must be an object with an \"id\"")
    return items


def parse_csv(body: bytes) -> list[dict]:
    try:
        lines = [row for row in csv.reader(io.StringIO(body.decode())) if row]
    except UnicodeDecodeError:
        raise BadRequest("the CSV body is not UTF-8") from None
    if lines and [c.strip().lower() for c in lines[0]][:2] == ["id", "horizon"]:
        lines = lines[1:]
    if not lines:
        raise BadRequest("the CSV body has no `id,horizon` line")
    items = []
    for number, row in enumerate(lines, start=1):
        if len(row) > 2:
            raise BadRequest(f"CSV line {number} has {len(row)} fields: send `id,horizon`")
        items.append({"id": row[0].strip(),
                      **({"horizon": row[1].strip()} if len(row) > 1 and row[1].strip() else {})})
    return items


def _horizon(item: dict, forecaster: Forecaster) -> int:
    value = item.get("horizon", forecaster.horizon)
    try:
        horizon = int(value)
    except (TypeError, ValueError):
        raise BadRequest(f"series {item['id']!r}: horizon {value!r} is no whole number") from None
    if not 1 <= horizon <= forecaster.horizon:
        raise BadRequest(f"series {item['id']!r}: horizon {horizon} is over the trained maximum "
                         f"{forecaster.horizon} (1..{forecaster.horizon}): ask for fewer periods "
                         "or train with a longer horizon in the dataset spec")
    return horizon


def _history(item: dict, forecaster: Forecaster) -> pd.DataFrame:
    spec = forecaster.spec
    series = str(item["id"])
    own = forecaster.history[forecaster.history["series"] == series]
    given = item.get("history")
    if given is None:
        if own.empty:
            raise BadRequest(f"unknown series {series!r}: the model knows "
                             f"{len(forecaster.info.get('series', []))} series (e.g. "
                             f"{', '.join(forecaster.info.get('series', [])[:MAX_SERIES_SHOWN])}"
                             "); send its history to forecast a new one")
        return own
    try:
        extra = pd.DataFrame(given)
        extra["timestamp"] = period_labels(pd.to_datetime(extra["timestamp"]), spec.frequency)
        extra["y"] = pd.to_numeric(extra["y"], errors="raise")
    except (KeyError, ValueError, TypeError):
        raise BadRequest(f"series {series!r}: history must be a list of "
                         '{"timestamp": "YYYY-MM-DD", "y": number}') from None
    if (extra["y"] < 0).any():
        raise BadRequest(f"series {series!r}: history holds negative sales")
    template = own.iloc[-1] if not own.empty else None
    extra["series"] = series
    for column in [*spec.covariates, *spec.static]:
        if column not in extra.columns:
            extra[column] = template[column] if template is not None else None
    merged = pd.concat([own[~own["timestamp"].isin(extra["timestamp"])], extra])
    merged = merged.sort_values("timestamp")
    index = pd.date_range(merged["timestamp"].min(), merged["timestamp"].max(),
                          freq=spec.frequency)
    if len(index) < spec.season:
        raise BadRequest(f"series {series!r}: a history of {len(index)} periods is shorter than "
                         f"one season ({spec.season}): send more")
    merged = merged.set_index("timestamp").reindex(index).rename_axis("timestamp").reset_index()
    merged["series"] = series
    if spec.missing_periods == "zero":
        merged["y"] = merged["y"].fillna(0.0)
    for column in [*spec.covariates, *spec.static]:
        merged[column] = merged[column].ffill().bfill()
    return merged[forecaster.history.columns]


def _future(item: dict, forecaster: Forecaster, end, horizon: int) -> pd.DataFrame | None:
    spec = forecaster.spec
    if not spec.covariates:
        return None
    given = item.get("future") or {}
    missing = [c for c in spec.covariates if c not in given]
    if missing:
        raise BadRequest(f"series {item['id']!r}: future covariates {missing} are missing: "
                         f"send \"future\": {{{', '.join(repr(c) for c in missing)}: [one value "
                         f"per period, {horizon}]}}")
    frame = pd.DataFrame({"series": str(item["id"]),
                          "timestamp": future_index(end, horizon, spec.frequency)})
    for column in spec.covariates:
        values = given[column]
        if not isinstance(values, list) or len(values) < horizon:
            raise BadRequest(f"series {item['id']!r}: future covariate {column!r} needs "
                             f"{horizon} values (one per forecast period), got "
                             f"{len(values) if isinstance(values, list) else values!r}")
        frame[column] = pd.to_numeric(pd.Series(values[:horizon]), errors="coerce")
        if frame[column].isna().any():
            raise BadRequest(f"series {item['id']!r}: future covariate {column!r} holds "
                             "values that are no numbers")
    return frame


def answer(items: list[dict], forecaster: Forecaster) -> list[dict]:
    """Forecasts per item: {"id", "forecast": [{timestamp, p10, p50, p90}]}."""
    out = []
    for item in _every_series(items, forecaster):
        horizon = _horizon(item, forecaster)
        history = _history(item, forecaster)
        future = _future(item, forecaster, history["timestamp"].max(), horizon)
        try:
            result = forecaster.forecast(history, future, horizon)
        except MissingCovariates as exc:
            raise BadRequest(f"series {item['id']!r}: {exc}") from None
        out.append({"id": str(item["id"]), "forecast": [
            {"timestamp": f"{row.timestamp:%Y-%m-%d}", "p10": round(float(row.p10), 4),
             "p50": round(float(row.p50), 4), "p90": round(float(row.p90), 4)}
            for row in result.itertuples()]})
    return out


def _every_series(items: list[dict], forecaster: Forecaster) -> list[dict]:
    """Items with `EVERY_SERIES` replaced by one item per series of the model's history."""
    expanded = []
    for item in items:
        if str(item["id"]) != EVERY_SERIES:
            expanded.append(item)
            continue
        if "history" in item or "future" in item:
            raise BadRequest(f"series {EVERY_SERIES!r} (every series) takes no history or "
                             "future: send them per series id")
        known = sorted(forecaster.history["series"].unique())
        expanded += [{**item, "id": series} for series in known]
    return expanded


def to_json(predictions: list[dict]) -> bytes:
    return json.dumps({"predictions": predictions}).encode()


def to_csv(predictions: list[dict]) -> bytes:
    lines = [f"{p['id']},{f['timestamp']},{f['p10']},{f['p50']},{f['p90']}"
             for p in predictions for f in p["forecast"]]
    return ("\n".join(lines) + "\n").encode()
