"""The batch inference pipeline's input: schema, cross-field rules and the derived `run` section.

Keys and ranges follow CreateTransformJob in the SageMaker API reference; the model comes from a
given model package ARN or, when that is null, from the group's latest Approved package. When
`data.labels_s3_uri` names labels known for the batch, an evaluation processing job (resources
under `processing`) scores the predictions against them.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from .. import contract
from . import names, volumes
from .errors import Problem, render
from .origin import Origin
from .platform import COMMON
from .schema import Enum, Int, ListOf, Nullable, Obj, S3Uri, Str
from .training import EVALUATION_FILE, INSTANCE, PROCESSING
from .values import JSON_PATH, MODEL_PACKAGE_ARN, check_tag_value, is_inside

PIPELINE = "batch"

# DataProcessing.InputFilter / OutputFilter: JSONPath expressions of at most 63 characters.
_FILTER = Str(max_len=63, pattern=JSON_PATH, pattern_help="a JSONPath starting with '$', e.g. "
              "'$' (everything), '$[1:]' (drop the first CSV column)")

# A version of the platform's group, or null for its latest Approved one (batch and deployment).
MODEL_PACKAGE = Nullable(Str(
    max_len=2048, pattern=MODEL_PACKAGE_ARN,
    pattern_help="arn:aws:sagemaker:<region>:<account>:model-package/<group>/<version>, "
                 "or null for the latest Approved package"))

SCHEMA = Obj({
    "data": Obj({
        # Null in the defaults is allowed: then every execution must name its input.
        "input_s3_uri": Nullable(S3Uri()),
        # S3Prefix: every object under input_s3_uri; ManifestFile: input_s3_uri is a JSON
        # manifest listing the objects (TransformS3DataSource in the API reference).
        "s3_data_type": Enum(("S3Prefix", "ManifestFile")),
        # One the use case's model takes (platform.content_types), sent as ContentType; and
        # one it answers (platform.accept_types), asked for as Accept. A null accept: the
        # content type itself where the model answers it, else the first it answers.
        "content_type": Str(max_len=256),
        "accept": Nullable(Str(max_len=256)),
        "split_type": Enum(("Line", "None")),
        "join_source": Enum(("None", "Input")),
        "input_filter": _FILTER,
        "output_filter": _FILTER,
        "output_s3_uri": Nullable(S3Uri()),
        # CSV files of the id columns and the target for these records: scored when given.
        "labels_s3_uri": Nullable(S3Uri()),
    }),
    "model_package_arn": MODEL_PACKAGE,
    "processing": PROCESSING,
    "transform": Obj({
        "instance_type": INSTANCE,
        "instance_count": Int(1, contract.JOB_MAX_INSTANCE_COUNT),
        "max_payload_mb": Int(1, contract.TRANSFORM_MAX_PAYLOAD_MB),
        # 0: SageMaker picks per container; with payloads of 1 MB or more, the product rule
        # (below) caps it at TRANSFORM_MAX_PAYLOAD_MB.
        "max_concurrent_transforms": Int(0, contract.TRANSFORM_MAX_PAYLOAD_MB),
        "batch_strategy": Enum(("MultiRecord", "SingleRecord")),
        # ModelClientConfig.InvocationsTimeoutInSeconds: 1 .. 3600 (SageMaker's default is 600).
        "invocations_timeout_seconds": Int(1, 3600),
    }),
})


# The use case's values the batch state machine fixes: the content types its model takes and
# answers (its manifest's `serving`), and, when it declares a prediction table
# (`batch_predictions`), the table's S3 location and partition column: a run that names no
# output writes into the partition of its own day there.
# `labels_refusal`: why the batch's answers cannot be scored against labels (its model answers
# in a format the use case's evaluation job does not read), or null.
PLATFORM = Obj({**COMMON, **volumes.PLATFORM_FIELDS, "content_types": ListOf(Str(max_len=256), 1),
                "accept_types": ListOf(Str(max_len=256), 1),
                "predictions_s3_uri": Nullable(S3Uri()),
                "predictions_partition": Nullable(Str(max_len=255)),
                "labels_refusal": Nullable(Str(max_len=1024))})


def today() -> str:
    """The run's day (UTC), the partition a prediction table's run writes into."""
    return datetime.now(UTC).strftime("%Y-%m-%d")


def default_output(platform: dict[str, Any], run_prefix: str, day: str) -> str:
    """Where a run that names no output writes: its prediction table's partition of `day`,
    else its own folder."""
    table = platform.get("predictions_s3_uri")
    if table:
        return f"{table}{platform['predictions_partition']}={day}/"
    return f"{run_prefix}output/"


def check(doc: dict[str, Any], platform: dict[str, Any], origin: Origin,
          out: list[Problem]) -> None:
    data, transform = doc["data"], doc["transform"]
    if data["content_type"] not in platform["content_types"]:
        out.append(Problem("data.content_type", f"{render(data['content_type'])} is not a "
                           f"content type use case {render(platform['use_case'])} serves",
                           ", ".join(platform["content_types"])))
    if data["accept"] is not None and data["accept"] not in platform["accept_types"]:
        out.append(Problem("data.accept", f"{render(data['accept'])} is not a content type "
                           f"use case {render(platform['use_case'])} answers",
                           ", ".join(platform["accept_types"])))
    if data["split_type"] == "Line" and contract.is_whole_object_type(data["content_type"]):
        # An image or a NumPy array is one record: split at newline bytes it would be garbage.
        out.append(Problem(origin.pick("data.split_type", "data.content_type"),
                           f"{render(data['content_type'])} records are whole objects, which "
                           "SplitType Line would cut at every newline byte",
                           "split_type None (with batch_strategy SingleRecord)"))
    if origin.final and data["input_s3_uri"] is None:
        out.append(Problem("data.input_s3_uri", "is required (the stage has no default input)",
                           "an S3 URI such as s3://bucket/prefix/"))
    if transform["batch_strategy"] == "MultiRecord" and data["split_type"] == "None":
        # CreateTransformJob: the batch strategy needs records, i.e. SplitType Line.
        out.append(Problem(origin.pick("transform.batch_strategy", "data.split_type"),
                           "MultiRecord needs data.split_type 'Line': without splitting there "
                           "are no records to batch", "SingleRecord, or split_type Line"))
    product = transform["max_payload_mb"] * transform["max_concurrent_transforms"]
    if product > contract.TRANSFORM_MAX_PAYLOAD_MB:
        out.append(Problem(origin.pick("transform.max_concurrent_transforms",
                                       "transform.max_payload_mb"),
                           f"max_concurrent_transforms x max_payload_mb is {product} MB: "
                           f"SageMaker caps the product at {contract.TRANSFORM_MAX_PAYLOAD_MB} "
                           "MB", f"a product <= {contract.TRANSFORM_MAX_PAYLOAD_MB}"))
    source = data["input_s3_uri"]
    if source is not None:
        check_tag_value("data.input_s3_uri", source, "written into the transform job's 'data' "
                        "tag", out)
    # A null output goes under s3://<artifacts>/batch/<use case>/<execution>/output/ (or the
    # prediction table's location): check its parent.
    output = data["output_s3_uri"] or platform.get("predictions_s3_uri") or \
        f"s3://{platform['artifacts_bucket']}/{_runs(platform)}"
    if source is not None and is_inside(output, source):
        out.append(Problem(origin.pick("data.output_s3_uri", "data.input_s3_uri"),
                           f"{render(output)} is inside data.input_s3_uri {render(source)}: "
                           "the next run would read this run's output as input"))
    _check_labels(data["labels_s3_uri"], source, output, origin, out,
                  platform.get("labels_refusal"))
    _check_package(doc["model_package_arn"], platform, out)


def _check_labels(labels: str | None, source: str | None, output: str, origin: Origin,
                  out: list[Problem], refusal: str | None = None) -> None:
    """Labels apart from the records and the predictions: the transform job reads every object
    under its input prefix, and the evaluation job every object under the labels prefix."""
    if labels is None:
        return
    if refusal:
        # Here, not after the transform job: its answers would be paid for, then unreadable.
        out.append(Problem("data.labels_s3_uri", f"labels cannot be scored: {refusal}",
                           "null (the batch's answers are still written), or deploy the use "
                           "case with serving.container \"use_case\""))
        return
    for other, name in ((source, "data.input_s3_uri"), (output, "data.output_s3_uri")):
        if other is not None and (is_inside(labels, other) or is_inside(other, labels)):
            out.append(Problem(origin.pick("data.labels_s3_uri", name),
                               f"{render(labels)} and {name} {render(other)} overlap: each "
                               "job would read the other's files", "separate prefixes"))


def _check_package(arn: str | None, platform: dict[str, str], out: list[Problem]) -> None:
    if arn is None:
        return
    match = MODEL_PACKAGE_ARN.match(arn)
    group = platform["model_package_group"]
    # SageMaker lowercases names inside ARNs, so compare without case.
    if match and match.group("group").lower() != group.lower():
        out.append(Problem("model_package_arn", f"{render(arn)} belongs to model package "
                           f"group {render(match.group('group'))}, not this platform's group",
                           f"a version of {group}"))


def accept_type(data: dict[str, Any], platform: dict[str, Any]) -> str:
    """The transform job's Accept: the one asked, else the input's own type where the model
    answers it (a CSV batch gets CSV back), else the first type it answers (images: JSON)."""
    if data["accept"] is not None:
        return data["accept"]
    answered = platform["accept_types"]
    return data["content_type"] if data["content_type"] in answered else answered[0]


def _runs(platform: dict[str, Any]) -> str:
    """Where the executions' folders go: per use case, since two use cases' executions may have
    the same name."""
    return f"batch/{platform['use_case']}/"


def derive(doc: dict[str, Any], platform: dict[str, Any], execution_name: str) -> dict[str, Any]:
    run_key = f"{_runs(platform)}{execution_name}/"
    prefix = f"s3://{platform['artifacts_bucket']}/{run_key}"
    data, transform = dict(doc["data"]), dict(doc["transform"])
    data["data_processing"] = {"InputFilter": data["input_filter"],
                               "JoinSource": data["join_source"],
                               "OutputFilter": data["output_filter"]}
    data["accept"] = accept_type(data, platform)
    # TransformOutput.AssembleWith mirrors the split: records out, one per line, as they came in.
    data["assemble_with"] = data["split_type"]
    transform["model_client_config"] = {
        "InvocationsTimeoutInSeconds": transform["invocations_timeout_seconds"]}
    # The server's own limit, as an environment value (a string), so that a batch allowed up to an
    # hour is not ended by the server's 60 s default first.
    transform["server_timeout"] = str(transform["invocations_timeout_seconds"])
    transform["resources"] = volumes.transform_resources(transform, platform)
    day = today()
    return {
        **doc,
        "processing": volumes.with_cluster(doc["processing"], platform),
        "data": data,
        "transform": transform,
        "platform": dict(platform),
        "run": {
            "pipeline": PIPELINE,
            "execution_name": execution_name,
            "prefix": prefix,
            # The day whose partition of the prediction table a run without output writes.
            **({"prediction_date": day} if platform.get("predictions_s3_uri") else {}),
            "s3": {"output": data["output_s3_uri"] or default_output(platform, prefix, day),
                   # Predictions scored against data.labels_s3_uri, when given.
                   "evaluation": f"{prefix}evaluation/",
                   "evaluation_bucket": platform["artifacts_bucket"],
                   "evaluation_key": f"{run_key}evaluation/{EVALUATION_FILE}"},
            "job_names": names.job_names(platform["resource_prefix"], execution_name,
                                         names.BATCH_JOBS, use_case=platform["use_case"]),
            "job_attempts": names.job_attempts(platform["resource_prefix"], execution_name,
                                               names.BATCH_JOBS, platform["max_job_attempts"],
                                               use_case=platform["use_case"]),
            "use_latest_approved": doc["model_package_arn"] is None,
        },
    }
