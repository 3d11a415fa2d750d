"""What a use case's pipeline does when started with `{}`: the stage config and the use case's
manifest turned into the defaults document the first state merges the execution input over, and
the `platform` values it fixes (shapes: docs/pipeline-inputs.md). Pure functions of the config
(bucket names may be CDK tokens), so tests check them against the input validator without a
synth; the validator learns a use case only from these documents, never by importing it."""

from __future__ import annotations

import dataclasses
import json

from config import JobResources, StageConfig, UseCaseConfig
from config.training import objective_metrics
from ml_constructs.data_wrangler import dataset_spec_columns, flows_prefix
from ml_constructs.resource_names import UseCaseNames
from runtime_scripts import contract
from runtime_scripts.common import builtin_algorithms
from runtime_scripts.common.manifest import Resampling
from runtime_scripts.common.manifest_outputs import CSV as PREDICTION_TABLE_TYPE
from runtime_scripts.common.tabular.dataset import DatasetSpec
from runtime_scripts.common.tabular.task import task_for
from runtime_scripts.contract import AUTOML_PROBLEM_TYPES


def _resources(resources: JobResources) -> dict:
    return {"instance_type": resources.instance_type,
            "instance_count": resources.instance_count,
            "volume_size_gb": resources.volume_size_gb,
            "max_runtime_seconds": resources.max_runtime_seconds}


def _s3(bucket: str, key: str) -> str:
    return f"s3://{bucket}/{key}"


def training_defaults(config: StageConfig, use_case: UseCaseConfig, *, raw_bucket: str,
                      curated_bucket: str) -> dict:
    training, tuning = use_case.training, use_case.tuning
    objective_metric, objective_type = use_case.objective
    manifest = use_case.manifest
    return {
        "data": {
            "raw_s3_uri": _s3(raw_bucket, use_case.prefix),
            "run_glue": False,
            "curated_s3_uri": _s3(curated_bucket, use_case.prefix),
            "dataset_spec_s3_uri": None,
        },
        "processing": _resources(config.processing),
        "preprocessing": {"data_wrangler_flow": None, "output_node": None},
        "training": {**_resources(training), "use_spot": training.use_spot,
                     "max_wait_seconds": training.max_wait_seconds,
                     "hyperparameters": use_case.hyperparameters,
                     "channels": training.channels.options(
                         manifest, builtin=use_case.builtin_training),
                     "algorithm_name": training.algorithm_name},
        "tuning": {
            "enabled": tuning.enabled, "strategy": tuning.strategy,
            "objective_metric": objective_metric, "objective_type": objective_type,
            "max_jobs": tuning.max_jobs, "max_parallel_jobs": tuning.max_parallel_jobs,
            "max_runtime_seconds": None, "early_stopping": "Off",
            "static_hyperparameters": use_case.static_tuning_hyperparameters,
            "ranges": manifest.tuning.ranges, "warm_start": None, "hyperband": None,
        },
        "automl": dataclasses.asdict(training.automl),
        "quality_gate": {"conditions": [dataclasses.asdict(c) for c in use_case.gate]},
        "training_rules": {"on_issue": "fail" if training.rules == "fail" else "warn"},
        "registry": {"approval_status": config.registry.approval_status,
                     "description": f"{manifest.description}: model trained by "
                                    f"{config.resource_prefix}"},
    }


def batch_content_type(use_case: UseCaseConfig) -> str:
    """The type a batch sends by default: the first the use case's model both takes and answers
    (a prediction table's CSV first: the table reads CSV answers), else the first it takes."""
    serving = use_case.served
    if use_case.builtin_serving:  # raw rows in, the built-in's JSON out: the use case's first
        return serving.content_types[0]
    both = [t for t in serving.content_types if t in serving.accept_types]
    if use_case.manifest.batch_predictions is not None:
        both.sort(key=lambda t: t != PREDICTION_TABLE_TYPE)
    return both[0] if both else serving.content_types[0]


def batch_accept(use_case: UseCaseConfig) -> str | None:
    """What a batch asks for by default: null (the content type back, where the model answers
    it); from the built-in's own container, its last answer type, JSON Lines (one answer per
    record, which the batch's Line assembly keeps in the records' order)."""
    return use_case.served.accept_types[-1] if use_case.builtin_serving else None


def batch_defaults(config: StageConfig, use_case: UseCaseConfig, *, raw_bucket: str) -> dict:
    """By default a batch sends `batch_content_type` (accept null: that type back when the model
    answers it, runtime_scripts/pipeline_input/batch.py); whole objects (images) unsplit, one
    per request."""
    batch = use_case.batch_inference
    names = UseCaseNames(config.resource_prefix, use_case.name)
    content_type = batch_content_type(use_case)
    whole = contract.is_whole_object_type(content_type)
    return {
        "data": {
            "input_s3_uri": _s3(raw_bucket, names.batch_input_prefix),
            "s3_data_type": "S3Prefix", "content_type": content_type,
            "accept": batch_accept(use_case),
            "split_type": "None" if whole else "Line",
            "join_source": "None", "input_filter": "$", "output_filter": "$",
            "output_s3_uri": None, "labels_s3_uri": None,
        },
        "model_package_arn": None,
        "processing": _resources(config.processing),
        "transform": {"instance_type": batch.instance_type,
                      "instance_count": batch.instance_count,
                      "max_payload_mb": batch.max_payload_mb,
                      "max_concurrent_transforms": 0,  # 0: SageMaker asks /execution-parameters
                      "batch_strategy": "SingleRecord" if whole else "MultiRecord",
                      "invocations_timeout_seconds": 600},
    }


def platform_values(config: StageConfig, use_case: UseCaseConfig, *,
                    artifacts_bucket: str) -> dict:
    """What every pipeline of the use case fixes (runtime_scripts/pipeline_input/platform.py)."""
    return {"artifacts_bucket": artifacts_bucket,
            "model_package_group": UseCaseNames(config.resource_prefix,
                                                use_case.name).model_package_group,
            "resource_prefix": config.resource_prefix,
            "use_case": use_case.name,
            "max_job_attempts": config.job_retries.max_attempts}


def pinned_hyperparameters(use_case: UseCaseConfig) -> dict[str, str]:
    """What decides a built-in algorithm's kind of model (its `objective`, `predictor_type`):
    the repacked model is scored and served as the use case's prediction (the rule the stage
    config applies to training.hyperparameters)."""
    builtin = use_case.manifest.image.builtin_training
    if not use_case.builtin_training or builtin is None:
        return {}
    return {k: v for k, v in builtin.hyperparameters.items()
            if k in builtin_algorithms.MODEL_KIND_HYPERPARAMETERS}


def training_section_platform(use_case: UseCaseConfig) -> dict:
    """What the `training` section is checked against in every pipeline that trains: what each
    of the use case's channels accepts. The constructs add the image's AlgorithmSpecification
    (`algorithm_specification`, sagemaker_jobs.image_algorithm_specification)."""
    manifest = use_case.manifest
    return {"channels": {c.name: manifest.channel(c.name, builtin=use_case.builtin_training)
                         .allowed for c in manifest.channels},
            "own_algorithm": None}
def training_instance_family(use_case: UseCaseConfig) -> dict:
    """What the training instances need (the stage config's rule for training.instance_type)."""
    return {"training_instance_family": use_case.manifest.image.instance_family}


def training_platform(config: StageConfig, use_case: UseCaseConfig, *,
                      artifacts_bucket: str,
                      script_mode_hyperparameters: dict[str, str] | None = None) -> dict:
    """`script_mode_hyperparameters`: what AWS's framework image needs to run our code
    (ml_constructs/runtime_image.py), added to every training job's hyperparameters."""
    manifest = use_case.manifest
    return {
        **platform_values(config, use_case, artifacts_bucket=artifacts_bucket),
        **training_section_platform(use_case),
        "gate_metrics": [{"name": m.name, "higher_is_better": m.higher_is_better,
                          "minimum": m.minimum, "maximum": m.maximum}
                         for m in manifest.metrics if m.gateable],
        "gate_requires_one_of": list(manifest.gate_requires_one_of),
        # The stage config's rule for tuning.objective_metric: the training jobs'
        # MetricDefinitions (the manifest's training_metrics), or the built-in algorithm's.
        "objective_metrics": objective_metrics(manifest, builtin=use_case.builtin_training),
        "pinned_hyperparameters": pinned_hyperparameters(use_case),
        **training_instance_family(use_case),
        "script_mode_hyperparameters": dict(script_mode_hyperparameters or {}),
        "data_wrangler_flows": _s3(artifacts_bucket, flows_prefix(use_case.name)),
        "dataset_spec_columns": dataset_spec_columns(use_case),
        "automl": automl_platform(use_case),
    }


def automl_platform(use_case: UseCaseConfig) -> dict | None:
    """What the AutoML branch fixes: Autopilot's problem type and the target attribute (the
    dataset spec's target); None where the stage does not deploy the branch."""
    columns = dataset_spec_columns(use_case)
    if not use_case.automl_training or columns is None:
        return None
    return {"problem_type": AUTOML_PROBLEM_TYPES[use_case.manifest.problem_type],
            "target": columns["target"]}


def batch_platform(config: StageConfig, use_case: UseCaseConfig, *,
                   artifacts_bucket: str) -> dict:
    serving = use_case.served
    table = use_case.manifest.batch_predictions
    names = UseCaseNames(config.resource_prefix, use_case.name)
    return {**platform_values(config, use_case, artifacts_bucket=artifacts_bucket),
            "content_types": list(serving.content_types),
            "accept_types": list(serving.accept_types),
            "predictions_s3_uri": _s3(artifacts_bucket, names.predictions_prefix) if table
            else None,
            "predictions_partition": table.partition if table else None,
            "labels_refusal": labels_refusal(use_case)}


def labels_refusal(use_case: UseCaseConfig) -> str | None:
    """Why a batch of the use case cannot be scored against labels, or None: the built-in
    algorithm's own container answers its JSON, not the id columns and answer columns the use
    case's evaluation job pairs with labels (runtime_scripts/common/batch_labels.py)."""
    if use_case.batch_labels_scored:
        return None
    builtin = use_case.manifest.image.builtin_training
    return (f"the model is served from built-in {builtin.framework}'s own container, which "
            f"answers its own JSON ({', '.join(use_case.served.prediction_columns)}) without "
            "the rows' ids: the use case's evaluation job cannot pair its answers with labels")


# Cross-validation's defaults (every one can be given per execution): 5 folds, the usual K,
# all of them at once, none may fail.
CV_FOLDS = 5
CV_SEED = 42
CV_MAX_CONCURRENCY = 5
CV_TOLERATED_FAILURE_PERCENTAGE = 0


def cross_validation_gate(use_case: UseCaseConfig,
                          resampling: Resampling | None = None) -> list[dict]:
    """The use case's gate on each metric's mean, and its manifest's bounds on the spread
    (of its cross-validation, or of the `resampling` given: its backtest's)."""
    limits = (resampling or use_case.manifest.cross_validation).max_std
    return [*({"metric": c.metric, "statistic": "mean", "comparison": c.comparison,
               "threshold": c.threshold} for c in use_case.gate),
            *({"metric": limit.metric, "statistic": "std", "comparison": "<=",
               "threshold": limit.max_std} for limit in limits)]


def cross_validation_defaults(config: StageConfig, use_case: UseCaseConfig, *,
                              raw_bucket: str) -> dict:
    training = training_defaults(config, use_case, raw_bucket=raw_bucket, curated_bucket="")
    return {
        "data": {"input_s3_uri": _s3(raw_bucket, use_case.prefix), "dataset_spec_s3_uri": None},
        "processing": training["processing"],
        "training": training["training"],
        "cross_validation": {"folds": CV_FOLDS, "seed": CV_SEED, "group_column": None,
                             "max_concurrency": CV_MAX_CONCURRENCY,
                             "tolerated_failure_percentage": CV_TOLERATED_FAILURE_PERCENTAGE,
                             "final_model": False},
        "quality_gate": {"conditions": cross_validation_gate(use_case)},
        "registry": {**training["registry"],
                     "description": f"{use_case.manifest.description}: model trained on all "
                                    f"the data by {config.resource_prefix} after "
                                    "cross-validation"},
    }


def dataset_columns(use_case: UseCaseConfig) -> list[str]:
    """The columns of the use case's bundled dataset spec: what a group column (or a
    backtest's time) may name. A spec of the use case's own format (backtest_setup.time) names
    its columns its own way: then its raw table's, from its Glue schema."""
    manifest = use_case.manifest
    if manifest.backtest_setup.time is not None:
        return list(json.loads(manifest.path(manifest.glue_schema).read_text())["columns"])
    spec = json.loads(manifest.path(manifest.dataset_spec).read_text())
    return [spec["target"], *spec.get("id_columns", []), *spec["features"]]


def window_evaluation_arguments(use_case: UseCaseConfig) -> list[str]:
    """What each backtest window's `process evaluate` gets: where the platform scores the
    windows, the rows' predictions too (the aggregate's pooled and by-age scores); then the
    use case's own (backtest_setup.window_evaluation_arguments)."""
    setup = use_case.manifest.backtest_setup
    return [*(["--write-predictions"] if setup.scored_by == "platform" else []),
            *setup.window_evaluation_arguments]


def first_run_profile_spec(use_case: UseCaseConfig) -> dict:
    """What the validator needs of the bundled dataset spec to profile a first run's data as
    the split job would (runtime_scripts/pipeline_input/first_run_profile.py)."""
    manifest = use_case.manifest
    spec = DatasetSpec.load(manifest.path(manifest.dataset_spec))
    return {"name": spec.name, "target": spec.target, "features": list(spec.features),
            "group_column": spec.group_column,
            "stratified": task_for(spec.problem_type).stratified}


def first_run_time_spec(use_case: UseCaseConfig) -> dict:
    """What the validator needs of the bundled dataset spec to profile a backtest's first run
    (runtime_scripts/pipeline_input/first_run_windows.py): its target and time key."""
    manifest = use_case.manifest
    spec = json.loads(manifest.path(manifest.dataset_spec).read_text())
    own_time = manifest.backtest_setup.time
    if own_time is not None:  # a spec of its own format: every row kept, as the split keeps it
        return {"name": spec.get("name") or manifest.name, "target": None, "time": own_time}
    return {"name": spec["name"], "target": spec["target"], "time": spec.get("time")}


def cross_validation_platform(config: StageConfig, use_case: UseCaseConfig, *,
                              artifacts_bucket: str) -> dict:
    training = training_platform(config, use_case, artifacts_bucket=artifacts_bucket)
    resampling = use_case.manifest.cross_validation
    return {**platform_values(config, use_case, artifacts_bucket=artifacts_bucket),
            **training_section_platform(use_case),
            "gate_metrics": training["gate_metrics"],
            "gate_requires_one_of": training["gate_requires_one_of"],
            "refusal": resampling.refusal or None,
            "dataset_columns": dataset_columns(use_case),
            **training_instance_family(use_case)}


# A backtest's fan-out: windows two at a time by default, none may fail (each window is one
# point of the metric over time; a missing one would hide where the model broke).
BACKTEST_MAX_CONCURRENCY = 2
BACKTEST_TOLERATED_FAILURE_PERCENTAGE = 0


def backtest_defaults(config: StageConfig, use_case: UseCaseConfig, *, raw_bucket: str) -> dict:
    """The backtest pipeline's defaults: the training pipeline's data and resources, the
    manifest's window request, the resampling gate on the windows' statistics."""
    training = training_defaults(config, use_case, raw_bucket=raw_bucket, curated_bucket="")
    setup = use_case.manifest.backtest_setup
    return {
        "data": {k: training["data"][k] for k in ("raw_s3_uri", "dataset_spec_s3_uri")},
        "processing": training["processing"],
        "training": training["training"],
        "backtest": {"windows": setup.windows, "first_cutoff": None, "horizon": setup.horizon,
                     "step": None, "training_window": "expanding", "training_periods": None,
                     "gap": 0, "time": None, "max_concurrency": BACKTEST_MAX_CONCURRENCY,
                     "tolerated_failure_percentage": BACKTEST_TOLERATED_FAILURE_PERCENTAGE},
        "quality_gate": {"conditions": cross_validation_gate(use_case,
                                                             use_case.manifest.backtest)},
    }


def backtest_platform(config: StageConfig, use_case: UseCaseConfig, *,
                      artifacts_bucket: str) -> dict:
    manifest = use_case.manifest
    spec = json.loads(manifest.path(manifest.dataset_spec).read_text())
    training = training_platform(config, use_case, artifacts_bucket=artifacts_bucket)
    return {
        **platform_values(config, use_case, artifacts_bucket=artifacts_bucket),
        **training_section_platform(use_case),
        "gate_metrics": training["gate_metrics"],
        "gate_requires_one_of": training["gate_requires_one_of"],
        "refusal": manifest.backtest.refusal or None,
        "dataset_columns": dataset_columns(use_case),
        **training_instance_family(use_case),
        "backtest_setup": {"baseline": manifest.backtest_setup.baseline,
                           "time": manifest.backtest_setup.time or spec.get("time"),
                           "window_evaluation_arguments": window_evaluation_arguments(use_case)},
    }
