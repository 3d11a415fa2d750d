"""The distributed Map state on the local engine (local_runner/map_*.py), with small hand-written
definitions: one canary per part moto 5.2.5 lacks or gets wrong, so an upgrade that breaks
one fails here by name. One emulated account for the module."""

from __future__ import annotations

import json
import threading
import time

import boto3
import pytest
from moto import mock_aws

from local_runner import engine
from local_runner.executors import LocalProgram
from local_runner.local_sagemaker import LocalSageMaker
from tests.local_runner.asl_runner import execution_runner

REGION = "eu-west-1"
BUCKET = "map-canary"
LAMBDA = f"arn:aws:lambda:{REGION}:123456789012:function:"
DISTRIBUTED = {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"}
EXCEEDED = "States.ExceedToleratedFailureThreshold"


class Occupancy:
    """A Lambda handler that notes how many invocations run at once."""

    def __init__(self) -> None:
        self.lock, self.now, self.most = threading.Lock(), 0, 0

    def __call__(self, event, context):
        with self.lock:
            self.now += 1
            self.most = max(self.most, self.now)
        time.sleep(0.3)
        with self.lock:
            self.now -= 1
        return event


def fail_on_two(event, context):
    if event["i"] == 2:
        raise ValueError(f"item {event['i']} is broken")
    return {"doubled": event["v"] * 2}


@pytest.fixture(scope="module")
def account(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("map-state")
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
        s3 = boto3.client("s3", region_name=REGION)
        s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
        sagemaker = LocalSageMaker(s3=s3, program=LocalProgram(bin_dir=workdir), workdir=workdir,
                                   region=REGION)
        services = engine.LocalServices(
            sagemaker=sagemaker, glue=None, max_parallel_items=4,
            lambdas={"occupancy": Occupancy(), "fail-on-two": fail_on_two})
        with engine.activate(services):
            yield execution_runner(boto3.client("stepfunctions", region_name=REGION)), s3, \
                services, workdir


def put_json(s3, key: str, value) -> None:
    s3.put_object(Bucket=BUCKET, Key=key, Body=json.dumps(value).encode())


def read_json(s3, key: str):
    return json.loads(s3.get_object(Bucket=BUCKET, Key=key)["Body"].read())


def distributed_map(processor_states: dict, **fields) -> dict:
    """A distributed Map over `$.items`, unless an ItemReader names the items."""
    source = {} if "ItemReader" in fields else {"ItemsPath": "$.items"}
    return {"Type": "Map", "End": True, **source, **fields, "ItemProcessor": {
        "ProcessorConfig": DISTRIBUTED, "StartAt": next(iter(processor_states)),
        "States": processor_states}}


PASS = {"P": {"Type": "Pass", "End": True}}
INDEXED = {"i.$": "$$.Map.Item.Index", "v.$": "$$.Map.Item.Value"}
FAIL_ON_TWO = {"Call": {"Type": "Task", "Resource": f"{LAMBDA}fail-on-two", "End": True}}
FIVE = [10, 11, 12, 13, 14]


def json_reader(key_path: str = "$.key", **config) -> dict:
    return {"Resource": "arn:aws:states:::s3:getObject",
            "ReaderConfig": {"InputType": "JSON", **config},
            "Parameters": {"Bucket": BUCKET, "Key.$": key_path}}


def output(result: dict):
    assert result["status"] == "SUCCEEDED", (result.get("error"), result.get("cause"))
    return json.loads(result["output"])


# --- ItemReader ----------------------------------------------------------------------------------
def test_json_items_from_s3_with_item_selector_and_max_items(account):
    run, s3, *_ = account
    put_json(s3, "items/five.json", FIVE)
    result = run({"Map": distributed_map(
        PASS, ItemReader=json_reader(MaxItems=4),
        ItemSelector={**INDEXED, "tag.$": "$.tag"})}, {"key": "items/five.json", "tag": "t"})
    assert output(result) == [{"i": i, "v": v, "tag": "t"} for i, v in enumerate(FIVE[:4])]


def test_csv_items_with_a_header_row(account):
    run, s3, *_ = account
    s3.put_object(Bucket=BUCKET, Key="items/folds.csv", Body=b"fold,seed\n0,7\n1,8\n")
    result = run({"Map": distributed_map(PASS, ItemReader={
        "Resource": "arn:aws:states:::s3:getObject",
        "ReaderConfig": {"InputType": "CSV", "CSVHeaderLocation": "FIRST_ROW"},
        "Parameters": {"Bucket": BUCKET, "Key": "items/folds.csv"}})})
    assert output(result) == [{"fold": "0", "seed": "7"}, {"fold": "1", "seed": "8"}]


def test_list_objects_v2_reads_every_page_as_json_items(account):
    run, s3, *_ = account
    for name in ("a", "b", "c"):
        put_json(s3, f"listed/{name}.json", name)
    result = run({"Map": distributed_map(PASS, ItemSelector={"key.$": "$$.Map.Item.Value.Key"},
                                         ItemReader={
        "Resource": "arn:aws:states:::s3:listObjectsV2",
        "Parameters": {"Bucket": BUCKET, "Prefix": "listed/", "MaxKeys": 2}})})
    assert output(result) == [{"key": f"listed/{n}.json"} for n in "abc"]


def test_an_unreadable_item_source_is_item_reader_failed_naming_the_object(account):
    run, *_ = account
    result = run({"Map": distributed_map(PASS, ItemReader=json_reader(),
                                         Catch=[{"ErrorEquals": ["States.ItemReaderFailed"],
                                                 "Next": "Caught"}]),
                  "Caught": {"Type": "Pass", "End": True}}, {"key": "items/missing.json"})
    assert output(result)["Error"] == "States.ItemReaderFailed"
    assert f"s3://{BUCKET}/items/missing.json" in output(result)["Cause"]


# --- tolerated failures --------------------------------------------------------------------------
def test_failures_over_the_tolerated_percentage_fail_the_map_naming_the_item(account):
    run, *_ = account
    result = run({"Map": distributed_map(FAIL_ON_TWO, ItemSelector=INDEXED,
                                         ToleratedFailurePercentage=10)}, {"items": FIVE})
    assert (result["status"], result["error"]) == ("FAILED", EXCEEDED)
    assert "1 of 5 items failed" in result["cause"]
    assert "item 2: ValueError" in result["cause"] and "item 2 is broken" in result["cause"]


def test_without_a_declared_tolerance_one_failure_fails_the_map(account):
    run, *_ = account
    result = run({"Map": distributed_map(FAIL_ON_TWO, ItemSelector=INDEXED)}, {"items": FIVE})
    assert (result["status"], result["error"]) == ("FAILED", EXCEEDED)


def test_a_tolerated_failure_leaves_its_error_in_the_results(account):
    run, *_ = account
    result = run({"Map": distributed_map(
        FAIL_ON_TWO, ItemSelector=INDEXED, ToleratedFailureCountPath="$.count",
        ToleratedFailurePercentagePath="$.percentage")},
        {"items": FIVE, "count": 1, "percentage": 20})
    results = output(result)
    assert [r["doubled"] for n, r in enumerate(results) if n != 2] == [20, 22, 26, 28]
    assert results[2]["Status"] == "FAILED" and results[2]["Error"] == "ValueError"
    assert json.loads(results[2]["Input"]) == {"i": 2, "v": 12}


# --- concurrency ---------------------------------------------------------------------------------
OCCUPY = {"Call": {"Type": "Task", "Resource": f"{LAMBDA}occupancy", "End": True}}


@pytest.mark.parametrize(("fields", "most"), [({"MaxConcurrency": 2}, 2),
                                              ({"MaxConcurrencyPath": "$.limit"}, 3),
                                              ({}, 4)])  # unlimited: the machine's bound
def test_children_run_in_parallel_within_max_concurrency_and_the_machine(account, fields, most):
    run, _, services, _ = account
    occupancy = services.lambdas["occupancy"]
    occupancy.most = 0
    result = run({"Map": distributed_map(OCCUPY, **fields)}, {"items": list(range(6)), "limit": 3})
    assert len(output(result)) == 6
    assert occupancy.most == most


# --- child executions ----------------------------------------------------------------------------
def test_each_child_is_an_execution_of_its_own(account):
    run, *_ = account
    result = run({"Map": distributed_map(
        {"Name": {"Type": "Pass", "Parameters": {"child.$": "$$.Execution.Name",
                                                 "parent.$": "$.parent"}, "End": True}},
        ItemSelector={"parent.$": "$$.Execution.Name"})}, {"items": [1, 2, 3]})
    names = output(result)
    assert {n["parent"] for n in names} == {"canary"}
    assert len({n["child"] for n in names}) == 3 and "canary" not in {n["child"] for n in names}


@pytest.mark.parametrize("limit", [{"MaxItemsPerBatch": 2}, {"MaxItemsPerBatchPath": "$.per_batch"},
                                   {"MaxInputBytesPerBatch": 5}])  # "10" is 2 bytes
def test_item_batcher_groups_items_with_the_batch_input(account, limit):
    run, *_ = account
    result = run({"Map": distributed_map(
        PASS, ItemBatcher={**limit, "BatchInput": {"run.$": "$.run"}})},
        {"items": FIVE, "run": "r1", "per_batch": 2})
    assert output(result) == [{"BatchInput": {"run": "r1"}, "Items": FIVE[0:2]},
                              {"BatchInput": {"run": "r1"}, "Items": FIVE[2:4]},
                              {"BatchInput": {"run": "r1"}, "Items": FIVE[4:]}]


# --- ResultWriter --------------------------------------------------------------------------------
def writer(prefix: str) -> dict:
    return {"Resource": "arn:aws:states:::s3:putObject",
            "Parameters": {"Bucket": BUCKET, "Prefix": prefix}}


def manifest_of(s3, details: dict) -> dict:
    assert details["Bucket"] == BUCKET
    return read_json(s3, details["Key"])


def test_result_writer_exports_the_records_by_status_with_a_manifest(account):
    run, s3, *_ = account
    result = output(run({"Map": distributed_map(
        FAIL_ON_TWO, ItemSelector=INDEXED, ToleratedFailureCount=1,
        ResultWriter=writer("exports"))}, {"items": FIVE}))
    run_id = result["MapRunArn"].rpartition(":")[2]
    assert result["ResultWriterDetails"]["Key"] == f"exports/{run_id}/manifest.json"
    manifest = manifest_of(s3, result["ResultWriterDetails"])
    assert manifest["DestinationBucket"] == BUCKET and manifest["MapRunArn"] == result["MapRunArn"]
    assert manifest["ResultFiles"]["PENDING"] == []
    [succeeded], [failed] = manifest["ResultFiles"]["SUCCEEDED"], manifest["ResultFiles"]["FAILED"]
    assert succeeded["Key"] == f"exports/{run_id}/SUCCEEDED_0.json"
    records = read_json(s3, succeeded["Key"])
    assert len(records) == 4 and succeeded["Size"] > 0
    assert {json.loads(r["Output"])["doubled"] for r in records} == {20, 22, 26, 28}
    assert all(r["Status"] == "SUCCEEDED" and r["ExecutionArn"].endswith(r["Name"])
               for r in records)
    [broken] = read_json(s3, failed["Key"])
    assert (broken["Status"], broken["Error"]) == ("FAILED", "ValueError")


def test_a_failed_map_run_still_exports_and_lists_the_items_never_started(account):
    run, s3, *_ = account
    result = run({"Map": distributed_map(
        FAIL_ON_TWO, ItemSelector={"i.$": "States.MathAdd($$.Map.Item.Index, 2)",
                                     "v.$": "$$.Map.Item.Value"},
        MaxConcurrency=1, ResultWriter=writer("failed-run"),
        Catch=[{"ErrorEquals": [EXCEEDED], "ResultPath": "$.error", "Next": "Caught"}]),
        "Caught": {"Type": "Pass", "End": True}}, {"items": FIVE})
    assert output(result)["error"]["Error"] == EXCEEDED
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET, Prefix="failed-run/")["Contents"]]
    manifest = read_json(s3, next(k for k in keys if k.endswith("manifest.json")))
    [pending] = manifest["ResultFiles"]["PENDING"]
    assert [json.loads(r["Input"])["v"] for r in read_json(s3, pending["Key"])] == FIVE[1:]
    assert manifest["ResultFiles"]["SUCCEEDED"] == []


# --- SageMaker jobs as iterations ----------------------------------------------------------------
MEET = """
import os, pathlib, sys, time
shared = pathlib.Path(os.environ["SHARED"])
me = shared / ("running-" + os.environ["ITEM"])
me.touch()
(shared / ("started-" + os.environ["ITEM"])).touch()
seen = len(list(shared.glob("running-*")))
(shared / ("seen-" + os.environ["ITEM"])).write_text(str(seen))
deadline = time.time() + 20
while len(list(shared.glob("started-*"))) < 2 and time.time() < deadline:
    time.sleep(0.05)
me.unlink()
sys.exit(0 if time.time() < deadline else 3)
"""


def processing_job(shared, name_format: str) -> dict:
    """A processing job task running MEET, named `name_format` with the item's `i`."""
    return {"Type": "Task", "Resource": "arn:aws:states:::sagemaker:createProcessingJob.sync",
            "Parameters": {
                "ProcessingJobName.$": f"States.Format('{name_format}', $.i)",
                "RoleArn": "arn:aws:iam::123456789012:role/local",
                "AppSpecification": {"ImageUri": "local",
                                     "ContainerEntrypoint": ["python3", "-c", MEET]},
                "Environment": {"SHARED": str(shared), "ITEM.$": "States.Format('{}', $.i)"},
                "ProcessingResources": {"ClusterConfig": {
                    "InstanceCount": 1, "InstanceType": "ml.m5.large", "VolumeSizeInGB": 1}}},
            "ResultSelector": {"status.$": "$.ProcessingJobStatus"}, "End": True}


def test_processing_jobs_of_one_execution_run_side_by_side(account):
    """Four real processing jobs, two at a time: each waits until another has started (so two
    do run at once), none sees more than two running, every name and workdir is its own."""
    run, _, services, workdir = account
    shared = workdir / "meet"
    shared.mkdir()
    job = processing_job(shared, "fold-{}")
    result = run({"Map": distributed_map({"Job": job}, ItemSelector=INDEXED, MaxConcurrency=2)},
                 {"items": FIVE[:4]})
    assert output(result) == [{"status": "Completed"}] * 4
    assert sorted(int((shared / f"seen-{i}").read_text()) for i in range(4))[-1] <= 2
    names = [name for kind, name in services.sagemaker.calls if kind == "processing-job"]
    assert sorted(names) == [f"fold-{i}" for i in range(4)]
    assert len(list((workdir / "processing-job").iterdir())) == 4


def test_a_failed_job_fails_the_map_with_its_item_index_and_failure_reason(account):
    run, _, services, workdir = account
    services.sagemaker.inject_job_failures("createProcessingJob", ["CapacityError: no capacity"])
    result = run({"Map": distributed_map({"Job": processing_job(workdir, "unlucky-{}")},
                                         ItemSelector=INDEXED, MaxConcurrency=1)},
                 {"items": FIVE[:2]})
    assert (result["status"], result["error"]) == ("FAILED", EXCEEDED)
    assert "item 0: States.TaskFailed: CapacityError: no capacity" in result["cause"]
    assert [n for k, n in services.sagemaker.calls if k == "processing-job"][-1] == "unlucky-0"


def test_a_definition_with_a_small_decimal_still_parses(account):
    """The Map patches re-serialize a definition; 0.00001 (a tuning range's bound) must not
    come out as 1e-05, which moto's ASL grammar refuses."""
    run, *_ = account
    result = run({"Bound": {"Type": "Pass", "Result": {"min": 0.00001, "note": "1e-05"},
                            "End": True}})
    assert result["status"] == "SUCCEEDED"
    assert json.loads(result["output"]) == {"min": 0.00001, "note": "1e-05"}
