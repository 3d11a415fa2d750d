"""What a use case's manifest may declare about its batch predictions (runtime_scripts/common/
manifest.py imports these): a catalog table Athena queries them in, and an accuracy monitor
that scores them once the actuals arrive. Standard library only, as the manifest."""

from __future__ import annotations

import re
from dataclasses import dataclass

# The Glue (Hive) column types a prediction table may give its columns: what a CSV answer's
# text can be read as.
PREDICTION_COLUMN_TYPES = ("string", "double", "bigint", "int", "boolean", "date", "timestamp")
# Glue Data Catalog (and Athena) column names: lowercase letters, digits and '_'.
CATALOG_COLUMN = re.compile(r"^[a-z_][a-z0-9_]{0,254}$")
CSV = "text/csv"


@dataclass(frozen=True)
class PredictionTable:
    """Batch predictions as a Glue Data Catalog table that Athena can query. A batch run that
    names no output writes its answers into the partition of the day it runs
    (`<partition>=YYYY-MM-DD/`, where a rerun that day replaces that day's answers); Athena
    finds the partitions by partition projection (no crawler, no MSCK REPAIR). The table's
    columns are `serving.prediction_columns`, typed by `column_types`, then the partition; the
    batch runs send and answer CSV (text/csv) with no header line."""

    column_types: tuple[str, ...]  # one Glue type per prediction column, in order
    partition: str = "prediction_date"


@dataclass(frozen=True)
class AccuracyMonitor:
    """Accuracy once the actuals arrive: a batch inference run given them
    (`data.labels_s3_uri`) scores its predictions with the use case's `process evaluate`, the
    batch pipeline publishes evaluation.json's `metrics.<metric>` as a CloudWatch metric, and
    its alarm (worse than `threshold`, by the metric's direction) starts the use case's
    rate-limited retraining gate (monitoring.retrain_on_drift in the stage config)."""

    metric: str  # one of the manifest's metrics
    threshold: float


def prediction_table_problem(table: PredictionTable, columns: tuple[str, ...],
                             content_types: tuple[str, ...],
                             accept_types: tuple[str, ...]) -> str | None:
    """Why `table` cannot describe the batch answers, or None."""
    if not columns or len(table.column_types) != len(columns):
        return (f"batch_predictions.column_types has {len(table.column_types)} types for "
                f"{len(columns)} serving.prediction_columns: give one type per column")
    bad = [c for c in (*columns, table.partition) if not CATALOG_COLUMN.match(c)]
    if bad:
        return (f"batch_predictions: {', '.join(bad)} are no catalog column names (lowercase "
                "letters, digits, '_')")
    if table.partition in columns:
        return f"batch_predictions.partition {table.partition!r} is a prediction column too"
    unknown = [t for t in table.column_types if t not in PREDICTION_COLUMN_TYPES]
    if unknown:
        return (f"batch_predictions.column_types {', '.join(unknown)}: use "
                f"{', '.join(PREDICTION_COLUMN_TYPES)}")
    if CSV not in content_types or CSV not in accept_types:
        return (f"batch_predictions needs a model that takes and answers {CSV} "
                "(serving.content_types and accept_types): the table reads CSV")
    return None


def accuracy_monitor_problem(monitor: AccuracyMonitor, metric_names: tuple[str, ...]) -> str | None:
    if monitor.metric not in metric_names:
        return (f"accuracy_monitor.metric {monitor.metric!r} is not one of its metrics "
                f"({', '.join(metric_names)})")
    if monitor.threshold != monitor.threshold:  # NaN
        return "accuracy_monitor.threshold must be a number"
    return None
