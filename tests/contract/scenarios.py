"""Execution inputs the request contract renders every state machine with, per pipeline kind.

Each scenario: `execution_name` (Step Functions allows 1-80 characters, no blanks, no
`< > { } [ ] ? * " # % \\ ^ | ~ \x60 $ & , ; : /` and no control characters), `input` (the
execution input; `{artifacts}`, `{group}`, `{region}` and `{account}` are filled in from the
state machine's own platform values, `{last_content_type}` with the last content type its
use case serves in batch, `{group_column}` and `{gate_metric}` with a column of its dataset spec
and one of its gate metrics, so one scenario fits every stage and use case), optionally `when` (the
platform values it needs, e.g. a serverless endpoint) and `rejected` (the first state must refuse
it, with a message containing this text).
"""

from __future__ import annotations

import json

from local_runner.definitions import PSEUDO_PARAMETERS
from runtime_scripts.common.tabular import manifest_parts

# What the Step Functions console proposes: a UUID.
CONSOLE_NAME = "3f1c2b8e-9d4a-4e7b-8c1f-0a2b3c4d5e6f"
LONGEST_NAME = "nightly-retrain-" + "x" * 60 + "-end"  # 80 characters, the most allowed
ODD_NAMES = {
    "underscores and dots": "june_retrain.v2_final",
    "unicode letters": "réentraînement-été-2026-données-öffentlich-日本",
    "longest unicode": "é" * 80,
}
PACKAGE = "arn:aws:sagemaker:{region}:{account}:model-package/{group}/7"
WARM_PARENTS = ["mlplatform-dev-tune-nightly-0422", "a" * 32]  # the longest allowed: 32


TABULAR_CHANNELS = {c.name: c.allowed for c in manifest_parts.CHANNELS}


def _named(base: dict, names: dict[str, str]) -> dict[str, dict]:
    return {f"{label}": {**base, "execution_name": name} for label, name in names.items()}


_TUNING = {"tuning": {"enabled": True}}
TRAINING = {
    "defaults": {"execution_name": "june-retrain", "input": {}},
    "console name": {"execution_name": CONSOLE_NAME, "input": {}},
    "longest name, tuning": {"execution_name": LONGEST_NAME, "input": _TUNING},
    **_named({"input": {}}, ODD_NAMES),
    "tuning": {"execution_name": "tune-1", "input": _TUNING},
    "tuning, warm start": {"execution_name": LONGEST_NAME, "input": {"tuning": {
        "enabled": True, "warm_start": {"type": "TransferLearning", "parents": WARM_PARENTS}}}},
    "tuning, Hyperband": {"execution_name": "hyperband", "input": {"tuning": {
        "enabled": True, "strategy": "Hyperband", "hyperband": {"min_resource": 1,
                                                                "max_resource": 50}}}},
    "tuning, Grid": {"execution_name": "grid", "input": {"tuning": {
        "enabled": True, "strategy": "Grid", "max_jobs": 6, "ranges": {"categorical": [
            {"name": "max_depth", "values": ["3", "5", "7"]},
            {"name": "eta", "values": ["0.05", "0.1"]}]}}}},
    "tuning off, spot off": {"execution_name": "on-demand", "input": {
        "tuning": {"enabled": False}, "training": {"use_spot": False}}},
    # A training rule with an issue then fails the execution (the outcome that finds one).
    "training rules fail": {"execution_name": "strict-rules",
                            "input": {"training_rules": {"on_issue": "fail"}}},
    # Only where the use case's data is a table (its training pipeline has the flow's states).
    "a Data Wrangler flow, then glue": {"execution_name": "wrangled",
                                        "when_set": ["dataset_spec_columns"], "input": {
        "data": {"run_glue": True}, "preprocessing": {
            "data_wrangler_flow": "{data_wrangler_flows}prepare.flow",
            "output_node": "dw-destination.default"}}},
    # Only where the stage deploys the AutoML branch: a classifier's tuned candidates (three
    # containers) beside the default ensemble.
    "AutoML, tuned candidates": {"execution_name": "automl-hpo", "when_set": ["automl"],
                                 "input": {"automl": {"mode": "HYPERPARAMETER_TUNING",
                                                      "objective_metric": "AUC"}}},
    "glue and a dataset spec": {"execution_name": "with-glue", "input": {"data": {
        "run_glue": True, "dataset_spec_s3_uri": "s3://{artifacts}/specs/churn.json"}}},
    "manual approval, long description": {"execution_name": "needs-approval", "input": {
        "registry": {"approval_status": "PendingManualApproval",
                     "description": "June retrain: données été, 'quoted' & (tagged) — " * 10}}},
    # Where the use case's channels are the shared tabular script's: every channel option it
    # declares besides the defaults, tuned with an algorithm resource instead of the image.
    "channel options, an algorithm resource, tuning": {
        "execution_name": "piped", "when": {"channels": TABULAR_CHANNELS}, "input": {
            "training": {"algorithm_name": "arn:aws:sagemaker:{region}:{account}:algorithm/gbm-2",
                         "channels": {"train": {"input_mode": "Pipe", "compression_type": "Gzip",
                                                "s3_data_distribution_type": "ShardedByS3Key"},
                                      "validation": {"input_mode": "FastFile"}}},
            "tuning": {"enabled": True}}},
    "a channel option the use case does not declare": {"execution_name": "wrapped", "input": {
        "training": {"channels": {"train": {"record_wrapper_type": "RecordIO",
                                            "input_mode": "Pipe"}}}},
        "rejected": "training.channels.train.record_wrapper_type"},
    "characters tags cannot hold": {"execution_name": "june-retrain(v2)!", "input": {},
                                    "rejected": "execution name"},
    # SageMaker's name pattern lets dashes repeat freely: 35 characters that match it.
    "warm start parent too long": {"execution_name": "warm", "input": {"tuning": {
        "enabled": True, "warm_start": {"type": "IdenticalDataAndAlgorithm",
                                        "parents": ["a-" * 17 + "a"]}}},
                                   "rejected": "tuning job names have at most 32"},
    "description CreateModelPackage rejects": {"execution_name": "june", "input": {
        "registry": {"description": "June retrain \U0001F469\u200d\U0001F4bb"}},
        "rejected": "registry.description"},
    "data location tags cannot hold": {"execution_name": "june", "input": {"data": {
        "raw_s3_uri": "s3://{artifacts}/churn (copy)/"}}, "rejected": "'data' tag"},
}
BATCH = {
    "defaults, latest approved": {"execution_name": "nightly-0422", "input": {}},
    "given package": {"execution_name": LONGEST_NAME, "input": {"model_package_arn": PACKAGE}},
    "json lines, single records, joined": {"execution_name": CONSOLE_NAME, "input": {
        "data": {"input_s3_uri": "s3://{artifacts}/batch-input/2026/", "join_source": "Input",
                 "content_type": "{last_content_type}",
                 "output_s3_uri": "s3://{artifacts}/predictions/"},
        "transform": {"batch_strategy": "SingleRecord", "max_concurrent_transforms": 4}}},
    "labels known, predictions scored": {"execution_name": "holdout-0422",
                                         "when": {"labels_refusal": None}, "input": {
        "data": {"input_s3_uri": "s3://{artifacts}/batch-input/holdout/",
                 "labels_s3_uri": "s3://{artifacts}/batch-labels/holdout/"}}},
    # Served from a built-in's own container: its answers cannot be paired with labels.
    "labels of an unscorable model": {"execution_name": "holdout-0422",
                                      "when_set": ["labels_refusal"], "input": {
        "data": {"input_s3_uri": "s3://{artifacts}/batch-input/holdout/",
                 "labels_s3_uri": "s3://{artifacts}/batch-labels/holdout/"}},
        "rejected": "labels cannot be scored"},
    **_named({"input": {}}, ODD_NAMES),
    "characters tags cannot hold": {"execution_name": "nightly(1)", "input": {},
                                    "rejected": "execution name"},
    "input location tags cannot hold": {"execution_name": "nightly", "input": {"data": {
        "input_s3_uri": "s3://{artifacts}/batch-input/" + "k" * 240}},
        "rejected": "'data' tag"},
}
DEPLOYMENT = {
    "defaults, latest approved": {"execution_name": "deploy-1", "input": {}},
    "given package": {"execution_name": LONGEST_NAME, "input": {"model_package_arn": PACKAGE}},
    "given baseline dataset": {"execution_name": CONSOLE_NAME, "input": {
        "baseline": {"enabled": True, "dataset_s3_uri": "s3://{artifacts}/baseline/data.csv"}},
        "when": {"monitoring": True}},
    "no baseline": {"execution_name": "no-baseline", "input": {"baseline": {"enabled": False}}},
    "linear, instances": {"execution_name": "linear", "when": {"serverless": False}, "input": {
        "endpoint": {"initial_instance_count": 2},
        "autoscaling": {"min_capacity": 2, "max_capacity": 4},
        "deployment": {"traffic_routing": "LINEAR", "step_type": "CAPACITY_PERCENT",
                       "step_size": 25, "wait_interval_seconds": 60,
                       "max_execution_timeout_seconds": 3600}}},
    "canary, instance count": {"execution_name": "canary", "when": {"serverless": False},
                               "input": {"endpoint": {"initial_instance_count": 4},
                                         "autoscaling": {"min_capacity": 2, "max_capacity": 6},
                                         "deployment": {"traffic_routing": "CANARY",
                                                        "step_type": "INSTANCE_COUNT",
                                                        "step_size": 1}}},
    "serverless, most memory": {"execution_name": "serverless", "when": {"serverless": True},
                                "input": {"endpoint": {"serverless": {
                                    "memory_size_mb": 6144, "max_concurrency": 200}}}},
    **_named({"input": {}}, ODD_NAMES),
    "characters tags cannot hold": {"execution_name": "deploy(2)!", "input": {},
                                    "rejected": "execution name"},
    "baseline location tags cannot hold": {"execution_name": "deploy-3", "input": {
        "baseline": {"enabled": True, "dataset_s3_uri": "s3://{artifacts}/it's/data.csv"}},
        "when": {"monitoring": True}, "rejected": "'data' tag"},
}
CROSS_VALIDATION = {
    "defaults": {"execution_name": "cv-june", "input": {}},
    "console name": {"execution_name": CONSOLE_NAME, "input": {}},
    "longest name, most folds, grouped": {"execution_name": LONGEST_NAME, "input": {
        "cross_validation": {"folds": 20, "group_column": "{group_column}", "seed": 7}}},
    **_named({"input": {}}, ODD_NAMES),
    "on demand, two at a time, some may fail": {"execution_name": "cv-2", "input": {
        "training": {"use_spot": False},
        "cross_validation": {"max_concurrency": 2, "tolerated_failure_percentage": 20}}},
    "a dataset spec of its own": {"execution_name": "cv-spec", "input": {"data": {
        "dataset_spec_s3_uri": "s3://{artifacts}/specs/churn.json"}}},
    "final model, longest name": {"execution_name": LONGEST_NAME, "input": {
        "cross_validation": {"final_model": True}}},
    "too many folds": {"execution_name": "cv-21", "input": {"cross_validation": {"folds": 21}},
                       "rejected": "folds': 21 is out of range (allowed: 2 .. 20)"},
    "one fold": {"execution_name": "cv-1", "input": {"cross_validation": {"folds": 1}},
                 "rejected": "cross_validation.folds"},
    "group column not in the spec": {"execution_name": "cv-g", "input": {
        "cross_validation": {"group_column": "no_such_column"}},
        "rejected": "cross_validation.group_column"},
    "spread bounded from below": {"execution_name": "cv-s", "input": {"quality_gate": {
        "conditions": [{"metric": "{gate_metric}", "statistic": "std", "comparison": ">=",
                        "threshold": 0.01}]}}, "rejected": "quality_gate.conditions[0].comparison"},
    "characters tags cannot hold": {"execution_name": "cv(2)!", "input": {},
                                    "rejected": "execution name"},
}
BACKTEST = {
    "defaults": {"execution_name": "bt-june", "input": {}},
    "console name": {"execution_name": CONSOLE_NAME, "input": {}},
    "longest name, sliding windows with a gap": {"execution_name": LONGEST_NAME, "input": {
        "backtest": {"windows": 3, "horizon": 2, "step": 3, "gap": 1,
                     "training_window": "sliding", "training_periods": 12}}},
    **_named({"input": {}}, ODD_NAMES),
    "on demand, three at a time, some may fail": {"execution_name": "bt-3", "input": {
        "training": {"use_spot": False},
        "backtest": {"max_concurrency": 3, "tolerated_failure_percentage": 25}}},
    "a dataset spec of its own": {"execution_name": "bt-spec", "input": {"data": {
        "dataset_spec_s3_uri": "s3://{artifacts}/specs/sales.json"}}},
    "data outside the raw bucket": {"execution_name": "bt-elsewhere", "input": {"data": {
        "raw_s3_uri": "s3://{artifacts}/exports/sales/"}}},
    "a horizon of zero": {"execution_name": "bt-h0", "input": {"backtest": {"horizon": 0}},
                          "rejected": "backtest.horizon': 0 is out of range (allowed: 1 ..)"},
    "one window": {"execution_name": "bt-w1", "input": {"backtest": {"windows": 1}},
                   "rejected": "backtest.windows"},
    "characters tags cannot hold": {"execution_name": "bt(2)!", "input": {},
                                    "rejected": "execution name"},
}
# The retraining gate is started by its EventBridge rule, which names executions itself.
RETRAINING = {
    "drift alarm": {"execution_name": CONSOLE_NAME,
                    "input": {"alarm": "mlplatform-dev-drift", "time": "2026-11-23T12:00:00Z"}},
    "started by hand, longest name": {"execution_name": LONGEST_NAME,
                                      "input": {"alarm": "manual", "time": "2026-11-23T12:00:00Z"}},
}
SCENARIOS: dict[str, dict] = {"training": TRAINING, "batch": BATCH, "deployment": DEPLOYMENT,
                              "retraining": RETRAINING, "cross-validation": CROSS_VALIDATION,
                              "backtest": BACKTEST}


def applies(scenario: dict, platform: dict) -> bool:
    """`when`: platform values it needs; `when_set`: platform keys that must not be null."""
    return (all(platform.get(key) == value for key, value in scenario.get("when", {}).items())
            and all(platform.get(key) is not None for key in scenario.get("when_set", ())))


def render_input(value: dict, platform: dict) -> dict:
    """The scenario's input with `{artifacts}`, `{group}`, `{region}`, `{account}`,
    `{last_content_type}`, `{data_wrangler_flows}` filled in."""
    text = json.dumps(value, ensure_ascii=False)
    fills = {"{artifacts}": platform.get("artifacts_bucket", "artifacts-bucket"),
             "{group}": platform.get("model_package_group", "group"),
             "{region}": PSEUDO_PARAMETERS["AWS::Region"],
             "{account}": PSEUDO_PARAMETERS["AWS::AccountId"],
             "{last_content_type}": (platform.get("content_types") or ["text/csv"])[-1],
             # A column of the use case's dataset spec besides its target, and a gate metric.
             "{group_column}": (platform.get("dataset_columns") or ["", "id"])[1],
             "{gate_metric}": (platform.get("gate_metrics") or [{"name": "score"}])[0]["name"],
             "{data_wrangler_flows}": platform.get("data_wrangler_flows", "s3://flows/")}
    for token, fill in fills.items():
        text = text.replace(token, fill)
    return json.loads(text)
