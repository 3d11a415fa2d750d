"""Batch predictions joined with the labels known for them, for `process evaluate`.

Predictions are what batch transform wrote (`*.out`): CSV with a header row, the id columns, then
the model's answer last (`probability,label` of a classifier, `prediction` of a regression:
the server's answer to input in the training data's layout; with JoinSource Input the input's
columns come first, which changes nothing here). Labels are CSV files with a header naming the
id columns and the target (a classifier's two labels, or a regression's numbers). Rows pair up by
their ids, so the order and the splitting of either side do not matter; a prediction without a
label (or a label without a prediction) is counted, not scored.
"""

from __future__ import annotations

import csv
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from runtime_scripts.common.jobio import JobError, find_data_files
from runtime_scripts.common.model_bundle import ModelBundle


def load_labelled_predictions(predictions_dir: Path, labels_dir: Path, bundle: ModelBundle,
                              ) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    """(labels, predictions, data info) over the rows present on both sides: labels 0/1 and
    probabilities of a classifier, values and predicted values of a regression."""
    schema = bundle.schema
    ids, target = list(schema["id_columns"]), schema["target"]
    if not ids:
        raise JobError("the model's dataset spec names no id_columns: batch predictions cannot "
                       "be paired with their labels")
    files = [f for f in sorted(predictions_dir.rglob("*")) if f.is_file()]
    if not files:
        raise JobError(f"no prediction files under {predictions_dir}")
    column = bundle.task.score_column
    predicted: dict[tuple[str, ...], float] = {}
    for path in files:
        predicted.update(_predictions(path, ids, column))
    truth: dict[tuple[str, ...], float] = {}
    label_files = find_data_files(labels_dir, (".csv",))
    for path in label_files:
        truth.update(_labels(path, ids, target, bundle.task.label_reader(schema)))
    both = [key for key in truth if key in predicted]
    if not both:
        raise JobError(f"none of the {len(truth)} labelled ids ({', '.join(ids)}) is among the "
                       f"{len(predicted)} predictions: the labels belong to another batch")
    y = np.array([truth[k] for k in both], dtype=bundle.task.label_dtype)
    p = np.array([predicted[k] for k in both], dtype=np.float64)
    return y, p, {"source": "predictions",
                  "files": [f.name for f in files] + [f.name for f in label_files],
                  "predictions_without_label": len(predicted) - len(both),
                  "labels_without_prediction": len(truth) - len(both)}


def _rows(path: Path) -> tuple[list[str], list[list[str]]]:
    with path.open(newline="", encoding="utf-8") as handle:
        rows = [row for row in csv.reader(handle) if row]
    if not rows:
        raise JobError(f"{path.name} is empty")
    return [name.strip() for name in rows[0]], rows[1:]


def _positions(header: list[str], names: list[str], path: Path, what: str) -> list[int]:
    missing = [n for n in names if n not in header]
    if missing:
        raise JobError(f"{path.name}: the header row lacks {', '.join(missing)}; {what}")
    return [header.index(n) for n in names]


def _predictions(path: Path, ids: list[str], column: str) -> dict[tuple[str, ...], float]:
    header, rows = _rows(path)
    where = _positions(header, ids, path, "send the batch in the training data's layout, with its "
                       "header row, so that the predictions carry the ids")
    if column not in header:
        raise JobError(f"{path.name}: no '{column}' column in the header row: it must be the "
                       "output of a batch transform with this model")
    at = len(header) - 1 - header[::-1].index(column)  # joined input comes first
    try:
        return {tuple(row[i].strip() for i in where): float(row[at]) for row in rows}
    except (ValueError, IndexError):
        raise JobError(f"{path.name}: a row does not match its header row") from None


def _labels(path: Path, ids: list[str], target: str, read: Callable[[str], float],
            ) -> dict[tuple[str, ...], float]:
    header, rows = _rows(path)
    where = _positions(header, [*ids, target], path, f"labels are CSV files of {', '.join(ids)} "
                       f"and {target}")
    out = {}
    for number, row in enumerate(rows, start=2):
        if len(row) < len(header):
            raise JobError(f"{path.name} line {number} has {len(row)} fields, the header "
                           f"{len(header)}")
        key, label = tuple(row[i].strip() for i in where[:-1]), row[where[-1]].strip()
        try:
            out[key] = read(label)
        except ValueError as exc:
            raise JobError(f"{path.name} line {number}: {target} {exc}") from None
    return out
