"""An AutoML candidate's joined batch output (target first, the answer last) read back for the
evaluation: the positive label's probability from `probabilities` at its place in `labels`
(what reads the same in both Autopilot modes), and a line of the wrong shape refused."""

from __future__ import annotations

import pytest

from runtime_scripts.common.jobio import JobError
from runtime_scripts.common.tabular.candidate_predictions import load_candidate_predictions
from runtime_scripts.common.tabular.task import task_for

CLASSIFIER = {"input_columns": ["a", "b"], "target": "churn", "positive_label": "yes",
              "negative_label": "no"}


def test_the_positive_labels_probability_is_read_wherever_its_label_stands(tmp_path):
    (tmp_path / "data.csv.out").write_text(
        'yes,1,x,yes,0.8,"[0.2, 0.8]","[\'no\', \'yes\']"\n'
        # the labels in the other order (a tuned candidate's): still yes's probability
        'no,2,y,no,0.7,"[0.3, 0.7]","[\'yes\', \'no\']"\n')
    y, p, data = load_candidate_predictions(tmp_path, CLASSIFIER,
                                            task_for("binary_classification"))
    assert y.tolist() == [1, 0] and p.tolist() == [0.8, 0.3]
    assert data["source"] == "candidate"


def test_a_line_without_the_candidates_answer_is_refused(tmp_path):
    (tmp_path / "data.csv.out").write_text("yes,1,x,yes\n")  # predicted_label only
    with pytest.raises(JobError, match="has 4 fields, not 7"):
        load_candidate_predictions(tmp_path, CLASSIFIER, task_for("binary_classification"))


def test_a_regressions_prediction_is_the_last_field(tmp_path):
    (tmp_path / "part.out").write_text("10.5,1,x,11.0\n3,2,y,2.5\n")
    schema = {"input_columns": ["a", "b"], "target": "price"}
    y, p, _ = load_candidate_predictions(tmp_path, schema, task_for("regression"))
    assert y.tolist() == [10.5, 3.0] and p.tolist() == [11.0, 2.5]
