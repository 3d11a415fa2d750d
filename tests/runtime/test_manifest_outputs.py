"""What a manifest may declare about its batch predictions: a prediction table that fits its
answers, and an accuracy monitor on one of its metrics; anything else is refused when the
manifest loads, naming the field and the fix."""

from __future__ import annotations

from dataclasses import replace

import pytest

from runtime_scripts.common.manifest import (
    AccuracyMonitor,
    ManifestError,
    PredictionTable,
    Serving,
    load_manifest,
)

CHURN = load_manifest("churn")  # answers `probability,label` in CSV (and JSON)
TABLE = PredictionTable(column_types=("double", "string"), partition="scored_on")


def test_a_table_typing_each_answer_column_and_a_monitor_on_a_metric_load():
    replace(CHURN, batch_predictions=TABLE,
            accuracy_monitor=AccuracyMonitor(metric="auc", threshold=0.8)).validate()


@pytest.mark.parametrize("change, message", [
    ({"batch_predictions": replace(TABLE, column_types=("double",))},
     "has 1 types for 2 serving.prediction_columns: give one type per column"),
    ({"batch_predictions": replace(TABLE, column_types=("double", "varchar"))},
     "column_types varchar: use string, double"),
    ({"batch_predictions": replace(TABLE, partition="label")},
     "partition 'label' is a prediction column too"),
    ({"batch_predictions": replace(TABLE, partition="Scored-On")},
     "Scored-On are no catalog column names"),
    ({"batch_predictions": TABLE,
      "serving": replace(CHURN.serving, accept_types=("application/json",))},
     "needs a model that takes and answers text/csv"),
    ({"batch_predictions": TABLE, "serving": Serving(content_types=("text/csv",),
                                                     accept_types=("text/csv",))},
     "has 2 types for 0 serving.prediction_columns"),
    ({"accuracy_monitor": AccuracyMonitor(metric="wape", threshold=1.0)},
     "accuracy_monitor.metric 'wape' is not one of its metrics (auc, "),
])
def test_a_declaration_that_does_not_fit_is_refused_naming_the_fix(change, message):
    with pytest.raises(ManifestError, match="use case 'churn'") as info:
        replace(CHURN, **change).validate()
    assert message in str(info.value)
