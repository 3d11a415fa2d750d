"""The training pipeline's input: schema, cross-field rules and the derived `run` section.

Keys and ranges follow the SageMaker API reference (CreateProcessingJob, CreateTrainingJob,
CreateHyperParameterTuningJob, CreateModelPackage); docs/pipeline-inputs.md describes them.
"""

from __future__ import annotations

from typing import Any

from .. import contract
from . import algorithm, automl, channels, data_wrangler, gate, names, tuning, volumes
from .errors import Problem, render
from .origin import Origin
from .platform import COMMON
from .schema import Bool, Enum, Int, Nullable, Obj, S3Uri, Str, StringMap
from .values import DESCRIPTION_HELP, INSTANCE_TYPE, check_tag_value, outside_classes

PIPELINE = "training"

PREPROCESSING_OUTPUTS = (contract.PROCESSING_OUTPUT_TRAIN, contract.PROCESSING_OUTPUT_VALIDATION,
                         contract.PROCESSING_OUTPUT_TEST, contract.PROCESSING_OUTPUT_BASELINE,
                         contract.PROCESSING_OUTPUT_TRANSFORM)
EVALUATION_FILE = contract.EVALUATION_FILE

INSTANCE = Str(pattern=INSTANCE_TYPE,
               pattern_help="an ml.* instance type such as ml.m5.xlarge or ml.g5.xlarge")

# The processing jobs' resources (also the batch pipeline's evaluation job).
PROCESSING = Obj({
    "instance_type": INSTANCE,
    "instance_count": Int(1, contract.JOB_MAX_INSTANCE_COUNT),
    "volume_size_gb": Int(1, contract.VOLUME_MAX_SIZE_GB),
    "max_runtime_seconds": Int(contract.JOB_MIN_RUNTIME_SECONDS,
                               contract.PROCESSING_MAX_RUNTIME_SECONDS),
})

SCHEMA = Obj({
    "data": Obj({
        "raw_s3_uri": S3Uri(),
        "run_glue": Bool(),
        "curated_s3_uri": S3Uri(),
        "dataset_spec_s3_uri": Nullable(S3Uri()),
    }),
    "processing": PROCESSING,
    # A Data Wrangler flow run before the use case's preprocessing (data_wrangler.py).
    "preprocessing": data_wrangler.SCHEMA,
    "training": Obj({
        "instance_type": INSTANCE,
        "instance_count": Int(1, contract.JOB_MAX_INSTANCE_COUNT),
        "volume_size_gb": Int(1, contract.VOLUME_MAX_SIZE_GB),
        "max_runtime_seconds": Int(contract.JOB_MIN_RUNTIME_SECONDS,
                                   contract.TRAINING_MAX_RUNTIME_SECONDS),
        "use_spot": Bool(),
        "max_wait_seconds": Int(contract.JOB_MIN_RUNTIME_SECONDS,
                                contract.TRAINING_MAX_WAIT_SECONDS),
        "hyperparameters": StringMap(),
        "channels": channels.SCHEMA,
        "algorithm_name": algorithm.FIELD,
    }),
    "tuning": tuning.TUNING,
    # Autopilot in place of training (the AutoML branch, where the stage deploys it).
    "automl": automl.SCHEMA,
    "quality_gate": gate.SCHEMA,
    # What a training rule that found an issue does (ml_constructs/training_rules.py).
    "training_rules": Obj({"on_issue": Enum(("warn", "fail"))}),
    "registry": Obj({
        "approval_status": Enum(("Approved", "PendingManualApproval")),
        # ModelPackageDescription allows 1024; 1000 leaves room for a suffix the pipeline adds.
        "description": Str(max_len=1000, min_len=0),
    }),
})


# What every pipeline that trains fixes: the instances the use case's training image needs (its
# manifest's image.instance_family; contract.INSTANCE_FAMILY_PATTERNS).
INSTANCE_FAMILY_FIELDS = {"training_instance_family": Enum(("cpu", "gpu"))}


# The use case's values the training state machine fixes (ml_constructs/pipeline_defaults.py):
# its gate metrics, its tuning objectives, and the hyperparameters its model needs as they are
# (a built-in algorithm's `objective`: the repacked model is scored and served as the use
# case's prediction).
# What the `training` section is checked against, in every pipeline that trains.
SECTION_PLATFORM_FIELDS = {**channels.PLATFORM_FIELDS, **algorithm.PLATFORM_FIELDS,
                           **volumes.PLATFORM_FIELDS}
PLATFORM = Obj({**COMMON, **gate.PLATFORM_FIELDS, **tuning.PLATFORM_FIELDS,
                **data_wrangler.PLATFORM_FIELDS, **INSTANCE_FAMILY_FIELDS, **automl.PLATFORM_FIELDS,
                **SECTION_PLATFORM_FIELDS,
                "pinned_hyperparameters": StringMap(),
                # What AWS's framework training image needs to run the use case's code
                # (sagemaker_program, sagemaker_submit_directory, ...): added to every
                # training job's hyperparameters; empty when the use case's own image trains.
                "script_mode_hyperparameters": StringMap()})


def check(doc: dict[str, Any], platform: dict[str, Any], origin: Origin,
          out: list[Problem]) -> None:
    """Rules that involve more than one key; run only once every key has the right type."""
    t = doc["training"]
    check_section(t, platform, origin, out)
    check_instance_family(t, platform, out)
    # An algorithm resource of someone else's declares its own metrics: SageMaker checks the
    # objective against them when the tuning job is created.
    tuning.check(doc["tuning"], t["hyperparameters"], platform, origin, out,
                 known_metrics=not algorithm.external(t, platform))
    _check_pinned(doc, platform, out)
    _check_script_mode(doc, platform, out)
    gate.check(doc["quality_gate"], platform, origin, out)
    data_wrangler.check(doc, platform, out)
    automl.check(doc, platform, out)
    if platform["automl"] is not None and t["algorithm_name"] is not None:
        # CreateAutoMLJobV2 takes no AlgorithmSpecification: Autopilot trains its own candidates.
        out.append(Problem("training.algorithm_name", "is an algorithm resource: this state "
                           "machine trains with Autopilot (the AutoML branch), which chooses "
                           "and trains its own candidates", "null"))
    check_registry(doc["registry"], out)
    data = doc["data"]
    source = "data.curated_s3_uri" if data["run_glue"] else "data.raw_s3_uri"
    check_tag_value(source, data[source.split(".")[1]], "written into the preprocessing job's "
                    "'data' tag and the model package's 'data' metadata", out)


def check_section(t: dict[str, Any], platform: dict[str, Any], origin: Origin,
                  out: list[Problem]) -> None:
    """The `training` section's rules, in every pipeline that trains."""
    check_spot(t, origin, out)
    channels.check(t["channels"], platform, out)
    algorithm.check(t, platform, out)


def derive_section(t: dict[str, Any], platform: dict[str, Any]) -> dict[str, Any]:
    """The `training` section plus what its requests read: the ResourceConfig
    (`cluster_config`), the stopping condition, each channel's request members
    (`channel_config`) and the AlgorithmSpecification."""
    return {**volumes.with_cluster(t, platform), "stopping_condition": stopping_condition(t),
            "channel_config": channels.derive(t["channels"], platform),
            # One train shard per instance (ML_TRAIN_SHARDS of a sharded use case's
            # preprocessing: the training pipeline's, each fold's and each window's).
            "train_shards": str(t["instance_count"]),
            "algorithm_specification": algorithm.specification(t, platform)}


def check_registry(registry: dict[str, Any], out: list[Problem]) -> None:
    """The `registry` section (also the cross-validation's, for its final model)."""
    bad = outside_classes(registry["description"], "LMZSNP")
    if bad:
        out.append(Problem("registry.description", f"has characters CreateModelPackage rejects: "
                           f"{bad}", DESCRIPTION_HELP))


def check_spot(t: dict[str, Any], origin: Origin, out: list[Problem]) -> None:
    """The `training` section's rule across keys: managed spot waits at least as long as the job
    may run."""
    if t["use_spot"] and t["max_wait_seconds"] < t["max_runtime_seconds"]:
        out.append(Problem(
            origin.pick("training.max_wait_seconds", "training.max_runtime_seconds",
                        "training.use_spot"),
            f"with use_spot, max_wait_seconds ({t['max_wait_seconds']}) must be >= "
            f"max_runtime_seconds ({t['max_runtime_seconds']}): managed spot training needs "
            "MaxWaitTimeInSeconds >= MaxRuntimeInSeconds",
            f">= {t['max_runtime_seconds']}"))


def check_instance_family(t: dict[str, Any], platform: dict[str, Any],
                          out: list[Problem]) -> None:
    """The `training` section's instances have what the use case's image needs (a GPU): refused
    here, before any job, rather than by a training job that starts, bills and then fails."""
    family = platform["training_instance_family"]
    problem = contract.instance_family_problem(family, t["instance_type"], platform["use_case"])
    if problem:
        out.append(Problem("training.instance_type", problem,
                           contract.INSTANCE_FAMILY_EXAMPLES[family]))


def stopping_condition(training: dict[str, Any]) -> dict[str, int]:
    """CreateTrainingJob's StoppingCondition of the `training` section."""
    stopping = {"MaxRuntimeInSeconds": training["max_runtime_seconds"]}
    if training["use_spot"]:
        # CreateTrainingJob rejects MaxWaitTimeInSeconds unless managed spot training is on.
        stopping["MaxWaitTimeInSeconds"] = training["max_wait_seconds"]
    return stopping


def _check_pinned(doc: dict[str, Any], platform: dict[str, Any], out: list[Problem]) -> None:
    training_hps = doc["training"]["hyperparameters"]
    sections = (("training.hyperparameters", training_hps),
                ("tuning.static_hyperparameters",
                 tuning.effective_static(doc["tuning"], training_hps)))
    for name, value in platform["pinned_hyperparameters"].items():
        for key, hyperparameters in sections:
            got = hyperparameters.get(name)
            if got != value:
                found = "is missing" if got is None else f"{render(got)} is not allowed"
                out.append(Problem(f"{key}.{name}", f"{found}: use case "
                                   f"{render(platform['use_case'])} needs {name} {render(value)} "
                                   "(what its model is scored and served as)", render(value)))


def _check_script_mode(doc: dict[str, Any], platform: dict[str, Any],
                       out: list[Problem]) -> None:
    """The script-mode hyperparameters are the platform's: one given would point AWS's image at
    other code than the use case's."""
    for key in ("training.hyperparameters", "tuning.static_hyperparameters"):
        given = doc["training"]["hyperparameters"] if key.startswith("training") \
            else doc["tuning"]["static_hyperparameters"]
        for name in sorted(set(given) & set(platform["script_mode_hyperparameters"])):
            out.append(Problem(f"{key}.{name}", "is set by the platform: AWS's training image "
                               f"of use case {render(platform['use_case'])} runs its code "
                               "from it", "leave it out"))


def model_locations(prefix: str) -> dict[str, str]:
    """Where preprocessing, training and checkpoints of one run write, under `prefix`."""
    return {**{name: f"{prefix}preprocessing/{name}/" for name in PREPROCESSING_OUTPUTS},
            # The AutoML branch's raw splits (contract.AUTOML_SPLITS under it).
            contract.PROCESSING_OUTPUT_AUTOML:
                f"{prefix}preprocessing/{contract.PROCESSING_OUTPUT_AUTOML}/",
            "model_output": f"{prefix}training/",
            "checkpoints": f"{prefix}checkpoints/"}


def derive(doc: dict[str, Any], platform: dict[str, Any], execution_name: str) -> dict[str, Any]:
    """The validated document plus everything later states need, so none of them computes."""
    bucket = platform["artifacts_bucket"]
    # Per use case: two use cases' executions may have the same name.
    run_key = f"runs/{platform['use_case']}/{execution_name}/"
    prefix = f"s3://{bucket}/{run_key}"
    data = doc["data"]
    s3 = {
        # Glue writes the curated copy; preprocessing then reads that instead of the raw data.
        "preprocessing_input": data["curated_s3_uri"] if data["run_glue"] else data["raw_s3_uri"],
        **model_locations(prefix),
        # A built-in XGBoost model repacked with the transform (model.tar.gz), when configured.
        "packaged": f"{prefix}packaged/",
        "evaluation": f"{prefix}evaluation/",
        # The S3 GetObject task takes bucket and key separately, not a URI.
        "evaluation_bucket": bucket,
        "evaluation_key": f"{run_key}evaluation/{EVALUATION_FILE}",
        # Where the built-in algorithm writes the tensors Debugger's rules read.
        "debug_output": f"{prefix}debugger/",
        # The training rules job's verdict (rules.json), read by the state machine.
        "training_rules": f"{prefix}training-rules/",
        "training_rules_key": f"{run_key}training-rules/{contract.TRAINING_RULES_FILE}",
    }
    training = derive_section({**doc["training"], "hyperparameters": {
        **doc["training"]["hyperparameters"], **platform["script_mode_hyperparameters"]}},
        platform)
    quality_gate = gate.derive(doc["quality_gate"])
    automl_run = automl.derive(doc, platform, prefix)
    # The evaluation job of the AutoML branch scores the candidate's predictions, same gate.
    automl_run["evaluation_arguments"] = ["--candidate", *quality_gate["arguments"]]
    # Its candidate's batch transform of the test split, on one processing instance.
    automl_run["transform_resources"] = volumes.transform_resources(
        {**doc["processing"], "instance_count": 1}, platform)
    return {
        **doc,
        "processing": volumes.with_cluster(doc["processing"], platform),
        "training": training,
        "tuning": {**doc["tuning"], **tuning.derive(doc["tuning"], training["hyperparameters"])},
        "quality_gate": quality_gate,
        "automl": automl_run,
        "platform": dict(platform),
        "run": {
            "pipeline": PIPELINE,
            "execution_name": execution_name,
            "prefix": prefix,
            "s3": s3,
            "job_names": names.job_names(platform["resource_prefix"], execution_name,
                                         names.TRAINING_JOBS, use_case=platform["use_case"]),
            "job_attempts": names.job_attempts(platform["resource_prefix"], execution_name,
                                               names.TRAINING_JOBS, platform["max_job_attempts"],
                                               use_case=platform["use_case"]),
            "data_wrangler": data_wrangler.derive(doc, prefix),
            "channel_sources": channels.sources(s3, training["channel_config"]),
        },
    }
