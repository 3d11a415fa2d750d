"""Model Monitor's post-analytics processor: the largest baseline drift of any feature in one
monitoring run, published as one CloudWatch metric whose name does not depend on the columns.

Model Monitor's analyzer publishes drift per feature (`feature_baseline_drift_<feature>`, AWS
"CloudWatch Metrics" of the built-in container), so an alarm on those must name the columns at
synth time; but the columns are the deployed model's, decided by the dataset spec its training
run used, and differ from one deployment to the next. This script runs in the analyzer container
after the analysis (`postprocess_handler`, the job definition's PostAnalyticsProcessorSourceUri:
"called after analysis has been performed", built-in containers only) and writes
`baseline_drift_max` beside the analyzer's per-feature metrics in the container's CloudWatch
metrics directory, which SageMaker publishes when the job's `publish_cloudwatch_metrics` is
Enabled (AWS, Model Monitor container contract, "CloudWatch Metrics": one JSON object per metric,
shaped like PutMetricData's MetricDatum), with the same Endpoint and MonitoringSchedule
dimensions. An alarm on it watches every column the deployed model has.

Standard library only and free of package imports, like the record preprocessor (capture.py):
Model Monitor downloads this one file and calls `postprocess_handler()` with no arguments.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Dict  # noqa: UP035 (Python 3.7 at run time)

log = logging.getLogger("drift_summary")

METRICS_DIR = Path("/opt/ml/output/metrics/cloudwatch")  # the contract's location
DRIFT_METRIC_PREFIX = "feature_baseline_drift_"  # the analyzer's per-feature drift metrics
SUMMARY_METRIC = "baseline_drift_max"  # ml_constructs/serving_alarms.py alarms on it
SUMMARY_FILE = "baseline_drift_summary.json"
PUBLISH_ENV = "publish_cloudwatch_metrics"  # "Enabled" in jobs a monitoring schedule starts
ENDPOINT_ENV = "sagemaker_endpoint_name"
SCHEDULE_ENV = "sagemaker_monitoring_schedule_name"
END_TIME_ENV = "end_time"

Datum = Dict[str, Any]  # noqa: UP006


def read_metrics(directory: Path) -> list[Datum]:
    """Every metric datum in the directory's files: one JSON object per line, or one JSON object
    or list per file; what is neither is skipped (it is not ours to judge)."""
    found: list[Datum] = []
    for path in sorted(p for p in directory.glob("*") if p.is_file()):
        if path.name == SUMMARY_FILE:
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        try:
            document = json.loads(text)
        except ValueError:
            document = []
            for line in text.splitlines():
                try:
                    document.append(json.loads(line))
                except ValueError:
                    continue
        items = document if isinstance(document, list) else [document]
        found.extend(item for item in items if isinstance(item, dict))
    return found


def _value(datum: Datum) -> float | None:
    """The datum's value: `Value`, or the maximum of its `StatisticValues`."""
    value = datum.get("Value")
    if value is None and isinstance(datum.get("StatisticValues"), dict):
        value = datum["StatisticValues"].get("Maximum")
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if number == number else None  # NaN is no measurement


def summarize(metrics: Iterable[Datum], environ: Mapping[str, str]) -> Datum | None:
    """The `baseline_drift_max` datum of one run, or None when the run measured no drift."""
    drifts = [(datum, _value(datum)) for datum in metrics
              if str(datum.get("MetricName", "")).startswith(DRIFT_METRIC_PREFIX)]
    measured = [(datum, value) for datum, value in drifts if value is not None]
    if not measured:
        return None
    dimensions: list[dict[str, str]] = []
    for name, variable in (("Endpoint", ENDPOINT_ENV), ("MonitoringSchedule", SCHEDULE_ENV)):
        if environ.get(variable):
            dimensions.append({"Name": name, "Value": environ[variable]})
    if not dimensions:  # outside a scheduled job: the analyzer's own dimensions
        dimensions = list(measured[0][0].get("Dimensions") or [])
    stamps = sorted(str(d["Timestamp"]) for d, _ in measured if d.get("Timestamp"))
    timestamp = stamps[-1] if stamps else environ.get(END_TIME_ENV)
    datum: Datum = {"MetricName": SUMMARY_METRIC, "Dimensions": dimensions,
                    "Value": max(value for _, value in measured), "Unit": "None"}
    if timestamp:
        datum["Timestamp"] = timestamp
    return datum


def postprocess_handler(directory: Path = METRICS_DIR,
                        environ: Mapping[str, str] = os.environ) -> Datum | None:
    """Model Monitor's post-analytics hook. Writes the summary beside the analyzer's metrics and
    returns it; a run that publishes no metrics, or measured no drift, gets none."""
    if environ.get(PUBLISH_ENV, "Enabled") != "Enabled":
        log.info("%s is %s: no metrics to summarize", PUBLISH_ENV, environ.get(PUBLISH_ENV))
        return None
    if not directory.is_dir():
        log.warning("%s does not exist: the analyzer wrote no metrics", directory)
        return None
    datum = summarize(read_metrics(directory), environ)
    if datum is None:
        log.warning("no %s* metric in %s: no drift summary", DRIFT_METRIC_PREFIX, directory)
        return None
    (directory / SUMMARY_FILE).write_text(json.dumps(datum) + "\n", encoding="utf-8")
    log.info("%s = %s", SUMMARY_METRIC, datum["Value"])
    return datum
