"""Batch inference pipeline input: latest-approved vs a given package, joins, and its errors."""

from __future__ import annotations

import pytest

from runtime_scripts.pipeline_input import InvalidPipelineInput, resolve
from runtime_scripts.pipeline_input.values import SAGEMAKER_NAME

from .events import (
    BATCH_DEFAULTS,
    BATCH_INPUT,
    BATCH_PLATFORM,
    EXECUTION,
    PACKAGE_ARN,
    PLATFORM,
    batch,
    error,
    event,
)

VOLUME_KEY_ID = {"VolumeKmsKeyId": BATCH_PLATFORM["volume_kms_key"]}
PREFIX = f"s3://{PLATFORM['artifacts_bucket']}/batch/churn/{EXECUTION}/"


def input_error(user_input):
    return error(InvalidPipelineInput, batch, user_input)


def test_latest_approved_package_by_default():
    out = batch()
    assert out["model_package_arn"] is None
    assert out["data"]["input_s3_uri"] == BATCH_INPUT
    assert out["transform"] == {**BATCH_DEFAULTS["transform"],
                                "model_client_config": {"InvocationsTimeoutInSeconds": 600},
                                "server_timeout": "600",
                                "resources": {"InstanceType": "ml.m5.large", "InstanceCount": 1,
                                              **VOLUME_KEY_ID}}
    assert out["platform"] == BATCH_PLATFORM
    attempts = out["run"].pop("job_attempts")
    assert list(attempts) == ["transform", "evaluation"]  # jobs only: a model is no job
    assert attempts["transform"]["attempt"] == 1
    assert attempts["transform"]["names"][0] == out["run"]["job_names"]["transform"]
    assert len(set(attempts["transform"]["names"])) == PLATFORM["max_job_attempts"]
    assert out["run"] == {
        "pipeline": "batch",
        "execution_name": EXECUTION,
        "prefix": PREFIX,
        "s3": {"output": f"{PREFIX}output/", "evaluation": f"{PREFIX}evaluation/",
               "evaluation_bucket": PLATFORM["artifacts_bucket"],
               "evaluation_key": f"batch/churn/{EXECUTION}/evaluation/evaluation.json"},
        "job_names": out["run"]["job_names"],
        "use_latest_approved": True,
    }
    # A console UUID does not fit whole after '<prefix>-churn-<word>-': cut, and hashed.
    for kind, word in (("model", "batch-model"), ("transform", "transform"),
                       ("evaluation", "batch-eval")):
        assert out["run"]["job_names"][kind].startswith(f"mlplatform-dev-churn-{word}-3f2b8c1e")
    assert batch(execution_name="nightly-42")["run"]["job_names"] == {
        "model": "mlplatform-dev-churn-batch-model-nightly-42",
        "transform": "mlplatform-dev-churn-transform-nightly-42",
        "evaluation": "mlplatform-dev-churn-batch-eval-nightly-42"}
    assert all(SAGEMAKER_NAME.match(n) and len(n) <= 63
               for n in out["run"]["job_names"].values())
    assert out["data"]["data_processing"] == {"InputFilter": "$", "JoinSource": "None",
                                              "OutputFilter": "$"}
    assert out["data"]["assemble_with"] == "Line"


def test_given_model_package_arn():
    out = batch({"model_package_arn": PACKAGE_ARN})
    assert out["model_package_arn"] == PACKAGE_ARN
    assert out["run"]["use_latest_approved"] is False


def test_package_arn_group_compares_without_case():
    # SageMaker lowercases names in ARNs.
    arn = "arn:aws:sagemaker:eu-west-1:123456789012:model-package/MLPlatform-Dev-Churn/12"
    assert batch({"model_package_arn": arn})["run"]["use_latest_approved"] is False


def test_join_source_input_and_filters_in_the_api_shape():
    out = batch({"data": {"join_source": "Input", "input_filter": "$[1:]",
                          "output_filter": "$[0,-1]"}})
    assert out["data"]["data_processing"] == {"InputFilter": "$[1:]", "JoinSource": "Input",
                                              "OutputFilter": "$[0,-1]"}


def test_explicit_output_location_is_used():
    target = "s3://mlplatform-dev-curated-123456789012/scores/2024-06-01/"
    assert batch({"data": {"output_s3_uri": target}})["run"]["s3"]["output"] == target


def test_single_record_without_splitting():
    out = batch({"data": {"split_type": "None", "content_type": "application/json"},
                 "transform": {"batch_strategy": "SingleRecord"}})
    assert out["data"]["assemble_with"] == "None"


def test_input_uri_may_be_a_stage_default():
    defaults = {**BATCH_DEFAULTS, "data": {**BATCH_DEFAULTS["data"], "input_s3_uri": BATCH_INPUT}}
    out = resolve(event("batch", {}, defaults=defaults))
    assert out["data"]["input_s3_uri"] == BATCH_INPUT


def test_input_uri_is_required_when_the_stage_has_no_default():
    exc = error(InvalidPipelineInput, resolve, event("batch", {}))
    assert str(exc).startswith("input key 'data.input_s3_uri' is required")


@pytest.mark.parametrize(("user_input", "key", "fragment"), [
    ({"data": {"input_s3_uri": None}}, "data.input_s3_uri", "is required"),
    ({"data": {"input_s3_uri": "/local/path"}}, "data.input_s3_uri", "is not an S3 URI"),
    ({"data": {"output_s3_uri": "s3://UPPER/x"}}, "data.output_s3_uri", "bucket"),
    ({"data": {"output_s3_uri": BATCH_INPUT + "out/"}}, "data.output_s3_uri",
     "would read this run's output"),
    ({"data": {"content_type": "text/plain"}}, "data.content_type",
     "text/csv, application/json, application/jsonlines"),
    ({"data": {"split_type": "RecordIO"}}, "data.split_type", "Line, None"),
    ({"data": {"join_source": "Output"}}, "data.join_source", "None, Input"),
    ({"data": {"input_filter": "[1:]"}}, "data.input_filter", "JSONPath starting with '$'"),
    ({"data": {"output_filter": "$" + "[0]" * 21}}, "data.output_filter", "at most 63"),
    ({"data": {"split_type": "None"}}, "data.split_type", "MultiRecord needs data.split_type"),
    ({"transform": {"max_payload_mb": 10, "max_concurrent_transforms": 11}},
     "transform.max_concurrent_transforms", "110 MB"),
    ({"transform": {"max_payload_mb": 101}}, "transform.max_payload_mb", "1 .. 100"),
    ({"transform": {"instance_count": 0}}, "transform.instance_count", "1 .. 100"),
    ({"transform": {"invocations_timeout_seconds": 3601}},
     "transform.invocations_timeout_seconds", "1 .. 3600"),
    ({"transform": {"batch_strategy": "Batch"}}, "transform.batch_strategy",
     "MultiRecord, SingleRecord"),
    ({"transform": {"instance_type": "ml.m5"}}, "transform.instance_type", "ml.*"),
    ({"transform": {"max_runtime_seconds": 60}}, "transform.max_runtime_seconds", "unknown key"),
    ({"model_package_arn": "arn:aws:sagemaker:eu-west-1:123456789012:model-package/x"},
     "model_package_arn", "model-package/<group>/<version>"),
    ({"model_package_arn": "arn:aws:sagemaker:eu-west-1:123456789012:model-package/other/3"},
     "model_package_arn", 'group "other", not this platform\'s group'),
    ({"model_package_arn": 7}, "model_package_arn", "must be a string"),
    ({"model_package": PACKAGE_ARN}, "model_package", 'did you mean "model_package_arn"?'),
])
def test_error_names_the_key(user_input, key, fragment):
    exc = input_error(user_input)
    assert key in exc.keys, str(exc)
    assert fragment in str(exc)


def test_output_under_the_input_prefix_is_caught_for_the_derived_location_too():
    exc = error(InvalidPipelineInput, resolve, event("batch", {"data": {
        "input_s3_uri": f"s3://{PLATFORM['artifacts_bucket']}/"}}))
    assert exc.keys == ["data.input_s3_uri"]


# --- labels known for the batch ---------------------------------------------------------------
LABELS = "s3://mlplatform-dev-raw-123456789012/scoring/labels/2024-06-01/"


def test_labels_are_optional_and_kept_apart_from_the_records():
    assert batch()["data"]["labels_s3_uri"] is None
    out = batch({"data": {"labels_s3_uri": LABELS}})
    assert out["data"]["labels_s3_uri"] == LABELS
    processing = {k: v for k, v in out["processing"].items() if k != "cluster_config"}
    assert processing == BATCH_DEFAULTS["processing"]


@pytest.mark.parametrize("labels", [f"{BATCH_INPUT}labels/", BATCH_INPUT.rsplit("/", 2)[0]])
def test_labels_overlapping_the_records_are_refused(labels):
    message = str(input_error({"data": {"labels_s3_uri": labels}}))
    assert message.startswith("input key 'data.labels_s3_uri': ")
    assert " and data.input_s3_uri " in message
    assert "overlap: each job would read the other's files" in message


def test_labels_are_refused_in_the_first_state_where_the_answers_cannot_be_scored():
    """Where the platform says why (serving.container "builtin": the built-in's own container
    answers its JSON, tests/infra/test_builtin_alternatives.py): refused before the transform
    job is paid for; the same batch without labels runs."""
    platform = {**BATCH_PLATFORM, "labels_refusal": "its answers hold no ids"}
    assert batch(platform=platform)["data"]["labels_s3_uri"] is None
    exc = error(InvalidPipelineInput, batch, {"data": {"labels_s3_uri": LABELS}},
                platform=platform)
    assert exc.keys == ["data.labels_s3_uri"]
    assert "labels cannot be scored: its answers hold no ids" in str(exc)
    assert 'null (the batch\'s answers are still written), or deploy the use case with ' \
        'serving.container "use_case"' in str(exc)


def test_a_content_type_the_use_case_does_not_serve_is_refused():
    exc = input_error({"data": {"content_type": "application/x-parquet"}})
    assert exc.keys == ["data.content_type"]
    assert 'not a content type use case "churn" serves' in str(exc)
    csv_only = {**BATCH_PLATFORM, "content_types": ["text/csv"]}
    exc = error(InvalidPipelineInput, batch, {"data": {"content_type": "application/json"}},
                platform=csv_only)
    assert exc.keys == ["data.content_type"]
    assert batch({"data": {"content_type": "application/jsonlines"}})["data"]["content_type"] \
        == "application/jsonlines"


def test_two_use_cases_write_their_executions_to_their_own_folders():
    churn = batch(execution_name="nightly")
    other = batch(execution_name="nightly", platform={**BATCH_PLATFORM, "use_case": "ames",
                                                      "model_package_group": "mlplatform-dev-ames"})
    assert churn["run"]["prefix"].endswith("/batch/churn/nightly/")
    assert other["run"]["prefix"].endswith("/batch/ames/nightly/")
    assert not set(churn["run"]["job_names"].values()) & set(other["run"]["job_names"].values())


def test_the_invocation_timeout_reaches_the_server_as_its_own_limit():
    out = batch({"transform": {"invocations_timeout_seconds": 1800}})
    assert out["transform"]["model_client_config"] == {"InvocationsTimeoutInSeconds": 1800}
    assert out["transform"]["server_timeout"] == "1800"  # an environment value is a string


# A use case whose model takes images and answers JSON (manifest serving content/accept types).
IMAGE_PLATFORM = {**BATCH_PLATFORM, "accept_types": ["application/json"],
                  "content_types": ["image/png", "image/jpeg", "application/json"]}
IMAGES = {"content_type": "image/png", "split_type": "None"}
SINGLE = {"batch_strategy": "SingleRecord"}
IMAGE_DEFAULTS = {**BATCH_DEFAULTS, "data": {**BATCH_DEFAULTS["data"], **IMAGES},
                  "transform": {**BATCH_DEFAULTS["transform"], **SINGLE}}


def test_images_are_sent_whole_and_answered_in_a_type_the_model_answers():
    images = {"platform": IMAGE_PLATFORM, "defaults": IMAGE_DEFAULTS}
    out = batch(**images)
    assert out["data"]["accept"] == "application/json"  # not image/png, which it cannot answer
    assert out["data"]["assemble_with"] == "None"
    listed = batch({"data": {"s3_data_type": "ManifestFile",
                             "input_s3_uri": BATCH_INPUT + "images.manifest"}}, **images)
    assert listed["data"]["s3_data_type"] == "ManifestFile"
    assert batch()["data"]["accept"] == "text/csv"  # a CSV batch still gets CSV back


def test_an_image_batch_split_by_line_or_asking_an_unanswered_type_is_refused():
    images = {"platform": IMAGE_PLATFORM, "defaults": IMAGE_DEFAULTS}
    exc = error(InvalidPipelineInput, batch, {"data": {"split_type": "Line"},
                                              "transform": {"batch_strategy": "MultiRecord"}},
                **images)
    assert exc.keys == ["data.split_type"]
    assert "'image/png' records are whole objects" in str(exc).replace('"', "'")
    exc = error(InvalidPipelineInput, batch, {"data": {"accept": "image/png"}}, **images)
    assert exc.keys == ["data.accept"]
    assert "(allowed: application/json)" in str(exc)
    exc = error(InvalidPipelineInput, batch, {"data": {"s3_data_type": "AugmentedManifestFile"}})
    assert exc.keys == ["data.s3_data_type"]


def test_a_prediction_tables_run_writes_into_the_partition_of_its_day(monkeypatch):
    """With a prediction table (the manifest's batch_predictions), a run that names no output
    writes into `<table>/<partition>=<today>/`; a given output still wins."""
    from runtime_scripts.pipeline_input import batch as batch_input

    table = f"s3://{PLATFORM['artifacts_bucket']}/predictions/churn/"
    platform = {**BATCH_PLATFORM, "predictions_s3_uri": table,
                "predictions_partition": "scored_on"}
    monkeypatch.setattr(batch_input, "today", lambda: "2026-03-01")
    out = batch(platform=platform)
    assert out["run"]["s3"]["output"] == f"{table}scored_on=2026-03-01/"
    assert out["run"]["prediction_date"] == "2026-03-01"
    given = "s3://elsewhere/scores/"
    assert batch({"data": {"output_s3_uri": given}}, platform=platform)["run"]["s3"][
        "output"] == given
    # An input above the table would read the runs' forecasts back: refused.
    above = f"s3://{PLATFORM['artifacts_bucket']}/predictions/"
    problem = error(InvalidPipelineInput, batch, {"data": {"input_s3_uri": above}},
                    platform=platform)
    assert f'is inside data.input_s3_uri "{above}": the next run would read' in str(problem)
    assert "prediction_date" not in batch()["run"]  # without a table: its own folder
