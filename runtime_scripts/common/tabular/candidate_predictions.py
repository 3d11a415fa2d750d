"""An AutoML candidate's batch predictions of the test split, for `process evaluate --candidate`.

The candidate is no model of ours (Autopilot's inference containers), so evaluation scores what
its batch transform answered: preprocessing's `automl/test/data.csv` (header-less, the target
first, then the raw feature columns) went through the transform with DataProcessing InputFilter
`$[1:]` (the candidate never sees the target) and JoinSource `Input`, so every output line is
the input line followed by the candidate's answer:
  a regression's: the prediction;
  a classifier's: contract.AUTOML_CLASSIFIER_OUTPUT, i.e. `predicted_label, probability,
  probabilities, labels` (AWS: "Configure inference output in generated containers"); the
  positive label's probability is taken from `probabilities` at its place in `labels`, which
  reads the same in ENSEMBLING and HYPERPARAMETER_TUNING mode (`probability` does not: it is
  the predicted label's in one, the positive class's in the other).
What the rows are (target, labels, problem type) comes from preprocessing's feature_schema.json.
"""

from __future__ import annotations

import ast
import csv
from pathlib import Path
from typing import Any

import numpy as np

from runtime_scripts import contract
from runtime_scripts.common.jobio import JobError
from runtime_scripts.common.tabular.task import Task

CLASSIFIER_FIELDS = 4  # predicted_label, probability, probabilities, labels


def _literal_list(text: str, what: str) -> list:
    try:
        value = ast.literal_eval(text.strip())
    except (ValueError, SyntaxError):
        value = None
    if not isinstance(value, list | tuple):
        raise JobError(f"{what} is {text[:80]!r}, not a list: the candidate's containers must "
                       f"answer {contract.AUTOML_CLASSIFIER_OUTPUT}")
    return list(value)


def _positive_probability(fields: list[str], positive: str, where: str) -> float:
    probabilities = _literal_list(fields[-2], f"{where}: 'probabilities'")
    labels = [str(label) for label in _literal_list(fields[-1], f"{where}: 'labels'")]
    if positive not in labels or len(labels) != len(probabilities):
        raise JobError(f"{where}: labels {labels} do not name the positive label {positive!r} "
                       "once per probability: the candidate was trained on other data")
    return float(probabilities[labels.index(positive)])


def load_candidate_predictions(predictions_dir: Path, schema: dict[str, Any], task: Task,
                               ) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    """(labels, predictions, data info): 0/1 and the positive label's probability of a
    classifier, values and predicted values of a regression."""
    files = [f for f in sorted(predictions_dir.rglob("*")) if f.is_file()]
    if not files:
        raise JobError(f"no prediction files under {predictions_dir}")
    classifier = "positive_label" in schema
    width = len(schema["input_columns"]) + 1 + (CLASSIFIER_FIELDS if classifier else 1)
    targets: list[str] = []
    scores: list[float] = []
    for path in files:
        with path.open(newline="", encoding="utf-8") as handle:
            for number, fields in enumerate(csv.reader(handle), start=1):
                if not fields:
                    continue
                where = f"{path.name} line {number}"
                if len(fields) != width:
                    raise JobError(f"{where} has {len(fields)} fields, not {width} (the target, "
                                   f"{len(schema['input_columns'])} features and the answer): "
                                   "it must be the candidate's transform output joined with "
                                   "its input (JoinSource Input)")
                targets.append(fields[0])
                try:
                    scores.append(_positive_probability(fields, schema["positive_label"], where)
                                  if classifier else float(fields[-1]))
                except ValueError:
                    raise JobError(f"{where}: the prediction {fields[-1]!r} is no number") \
                        from None
    if not targets:
        raise JobError(f"the prediction files under {predictions_dir} hold no rows")
    y = task.encode_target(targets, schema.get("positive_label"),
                           f"the target column of {predictions_dir}")
    return (np.asarray(y, dtype=task.label_dtype), np.array(scores, dtype=np.float64),
            {"source": "candidate", "files": [f.name for f in files]})
