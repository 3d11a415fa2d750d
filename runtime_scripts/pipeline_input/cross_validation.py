"""The cross-validation pipeline's input: schema, cross-field rules and the derived `run`.

The pipeline splits the data into K folds (the split job), runs the use case's own
preprocessing, training and evaluation on each fold (a distributed Map), aggregates the folds'
metrics and gates on their mean and spread (docs/pipeline-inputs.md, README). What is derived
here, so that no state computes: every job name (each fold's too, `run.folds[k]`), every S3
location, the split and aggregate jobs' arguments, and where the data profile would be.
"""

from __future__ import annotations

from typing import Any

from .. import contract
from . import channels, gate, names, resampling, training, volumes
from .data_profile import profile_location
from .errors import Problem, render
from .origin import Origin
from .platform import COMMON
from .schema import Bool, Int, ListOf, Nullable, Obj, S3Uri, Str
from .values import check_tag_value

PIPELINE = "cross-validation"
FOLD_OUTPUTS = training.PREPROCESSING_OUTPUTS
SEED_MAX = 2**31 - 1  # numpy's and scikit-learn's random_state take 32-bit seeds

SCHEMA = Obj({
    "data": Obj({"input_s3_uri": S3Uri(), "dataset_spec_s3_uri": Nullable(S3Uri())}),
    "processing": training.PROCESSING,
    "training": training.SCHEMA.fields["training"],
    "cross_validation": Obj({
        "folds": Int(contract.CV_MIN_FOLDS, contract.CV_MAX_FOLDS),
        "seed": Int(0, SEED_MAX),
        # Rows sharing this column's value stay in one fold (default: the spec's group_column).
        "group_column": Nullable(Str(max_len=255)),
        **resampling.FAN_OUT_FIELDS,
        # After the gate passed: train on all the data and register that model (README).
        "final_model": Bool(),
    }),
    "quality_gate": resampling.GATE,
    # The final model's package, as the training pipeline registers one.
    "registry": training.SCHEMA.fields["registry"],
})

# The use case's values the state machine fixes (ml_constructs/pipeline_defaults.py): its gate
# metrics, and the columns of its bundled dataset spec (what a group column may name).
PLATFORM = Obj({**COMMON, **gate.PLATFORM_FIELDS, **resampling.PLATFORM_FIELDS,
                **training.SECTION_PLATFORM_FIELDS, **training.INSTANCE_FAMILY_FIELDS,
                "dataset_columns": ListOf(Str(max_len=255), 1)})


def check(doc: dict[str, Any], platform: dict[str, Any], origin: Origin,
          out: list[Problem]) -> None:
    resampling.refuse_if_not_allowed(platform, PIPELINE)
    training.check_section(doc["training"], platform, origin, out)
    training.check_instance_family(doc["training"], platform, out)
    group = doc["cross_validation"]["group_column"]
    # With a dataset spec of its own the columns are that spec's: the split job checks them.
    if group is not None and doc["data"]["dataset_spec_s3_uri"] is None \
            and group not in platform["dataset_columns"]:
        out.append(Problem("cross_validation.group_column", f"{render(group)} is not a column "
                           "of the use case's dataset spec",
                           ", ".join(platform["dataset_columns"])))
    resampling.check_gate(doc["quality_gate"], platform, out)
    if doc["cross_validation"]["final_model"]:
        training.check_registry(doc["registry"], out)
        summary = resampling.gate_summary(doc["quality_gate"])
        if len(summary) > contract.MODEL_PACKAGE_METADATA_VALUE_MAX:
            out.append(Problem(origin.pick("quality_gate.conditions"),
                               f"the conditions take {len(summary)} characters written out "
                               f"({summary!r}); the final model's package records them in one "
                               "metadata value of at most "
                               f"{contract.MODEL_PACKAGE_METADATA_VALUE_MAX}",
                               "fewer conditions, or cross_validation.final_model false"))
    check_tag_value("data.input_s3_uri", doc["data"]["input_s3_uri"], "written into every "
                    "job's 'data' tag", out)


def _jobs_of(kinds: dict, platform: dict[str, Any], execution_name: str,
             locations: dict[str, str], channel_config: dict[str, Any]) -> dict:
    """An item's job names (each attempt's too) and its training channels' sources."""
    return {**names.run_jobs(platform, execution_name, kinds),
            "channel_sources": channels.sources(locations, channel_config)}


def _fold(prefix: str, fold: int, platform: dict[str, Any], execution_name: str,
          channel_config: dict[str, Any]) -> dict:
    """What fold `fold`'s iteration reads as `$.run`: the training pipeline's shape, so its
    request builders (ml_constructs/sagemaker_jobs.py) serve the fold's jobs unchanged."""
    root = f"{prefix}folds/{fold}/"
    kinds = names.fold_jobs(fold)
    locations = training.model_locations(root)
    return {
        "pipeline": PIPELINE,
        "execution_name": execution_name,
        "fold": fold,
        "prefix": root,
        "s3": {
            "preprocessing_input": f"{root}{contract.FOLD_TRAIN_DIR}/",
            "holdout": f"{root}{contract.FOLD_HOLDOUT_DIR}/",
            "dataset_spec": f"{root}{contract.FOLD_CONFIG_DIR}/",
            **locations,
            # Apart from the fold's data: the aggregate job reads only the evaluations.
            "evaluation": f"{prefix}evaluations/{fold}/",
        },
        **_jobs_of(kinds, platform, execution_name, locations, channel_config),
    }


def _final(prefix: str, run_key: str, data_uri: str, platform: dict[str, Any],
           execution_name: str, channel_config: dict[str, Any]) -> dict:
    """What the final model's states read as `$.run` (with `final_model`): the training
    pipeline's shape, so its request builders and its registration serve them unchanged. The
    preprocessing reads the data twice, as `raw` and as `holdout`: a holdout is the test split as
    given and every raw row goes to train or validation (common/tabular/preprocess.py), so the
    model trains on all the rows, validation kept for early stopping as in the folds; the test
    split is never scored (the package's metrics are the folds'). Its `evaluation` is the
    aggregate's cv_evaluation.json, the package's ModelQuality document."""
    root = f"{prefix}{contract.CV_FINAL_MODEL_DIR}/"
    kinds = names.FINAL_MODEL_JOBS
    locations = training.model_locations(root)
    return {
        "pipeline": PIPELINE,
        "execution_name": execution_name,
        "prefix": root,
        "s3": {
            "preprocessing_input": data_uri,
            "holdout": data_uri,
            # The spec the split job used (bundled or the input's), as every fold reads it.
            "dataset_spec": f"{prefix}folds/0/{contract.FOLD_CONFIG_DIR}/",
            **locations,
            "evaluation_bucket": platform["artifacts_bucket"],
            "evaluation_key": f"{run_key}cross-validation/{contract.CV_EVALUATION_FILE}",
        },
        **_jobs_of(kinds, platform, execution_name, locations, channel_config),
    }


def derive(doc: dict[str, Any], platform: dict[str, Any], execution_name: str) -> dict[str, Any]:
    bucket, use_case = platform["artifacts_bucket"], platform["use_case"]
    run_key = f"runs/{use_case}/{execution_name}/"
    prefix = f"s3://{bucket}/{run_key}"
    cv = doc["cross_validation"]
    data_uri = doc["data"]["input_s3_uri"]
    split_arguments = ["--folds", str(cv["folds"]), "--seed", str(cv["seed"]),
                       "--data-uri", data_uri]
    if cv["group_column"] is not None:
        split_arguments += ["--group-column", cv["group_column"]]
    training_section = training.derive_section(doc["training"], platform)
    return {
        **doc,
        "processing": volumes.with_cluster(doc["processing"], platform),
        "training": training_section,
        "cross_validation": {**cv, "split_arguments": split_arguments},
        "quality_gate": {**doc["quality_gate"],
                         "arguments": resampling.gate_arguments(doc["quality_gate"]),
                         "summary": resampling.gate_summary(doc["quality_gate"])},
        "platform": dict(platform),
        "run": {
            "pipeline": PIPELINE,
            "execution_name": execution_name,
            "prefix": prefix,
            "s3": {
                "input": data_uri,
                "folds": f"{prefix}folds/",
                "fold_list": f"{prefix}folds/{contract.FOLD_LIST_FILE}",
                "fold_list_bucket": bucket,
                "fold_list_key": f"{run_key}folds/{contract.FOLD_LIST_FILE}",
                "evaluations": f"{prefix}evaluations/",
                "aggregate": f"{prefix}cross-validation/",
                "aggregate_bucket": bucket,
                "aggregate_key": f"{run_key}cross-validation/{contract.CV_EVALUATION_FILE}",
                # One profile per data location: the next run on the same data reads it.
                **profile_location(bucket, use_case, data_uri, contract.DATA_PROFILE_FILE),
            },
            **names.run_jobs(platform, execution_name, names.CROSS_VALIDATION_JOBS),
            "folds": [_fold(prefix, k, platform, execution_name,
                            training_section["channel_config"]) for k in range(cv["folds"])],
            "final": _final(prefix, run_key, data_uri, platform, execution_name,
                            training_section["channel_config"]),
        },
    }
