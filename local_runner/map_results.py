"""A distributed Map's ResultWriter (`arn:aws:states:::s3:putObject`), as Step Functions exports.

moto 5.2.5 writes a manifest that lists no result file and writes none. AWS, and this module:
- the child executions' records, grouped by status, go to `<Prefix>/<map run id>/` as
  SUCCEEDED_<n>.json, FAILED_<n>.json (failed and timed out children) and PENDING_<n>.json
  (children never started because the Map Run failed first), each a JSON array of the records
  (map_run.ChildExecution.record: ExecutionArn, Input, Output or Error/Cause, dates, Status);
- `manifest.json` there holds `{"DestinationBucket", "MapRunArn", "ResultFiles": {"FAILED",
  "PENDING", "SUCCEEDED": [{"Key", "Size"}]}}`;
- the Map's result is `{"MapRunArn", "ResultWriterDetails": {"Bucket", "Key": <manifest key>}}`;
- the results are exported also when the Map Run fails (e.g. over its tolerated failures), and
  then the Map fails with its own error (map_state.py);
- a write that fails (no such bucket) fails the Map with States.ResultWriterFailed.
"""

from __future__ import annotations

import json

from moto.stepfunctions.parser.api import HistoryEventType, MapRunFailedEventDetails
from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import (
    FailureEvent,
    FailureEventException,
)
from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name import (
    StatesErrorName,
)
from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name_type import (
    StatesErrorNameType,
)
from moto.stepfunctions.parser.asl.component.state.exec.state_map.result_writer.resource_eval import (  # noqa: E501
    resource_eval_s3,
)
from moto.stepfunctions.parser.asl.eval.event.event_detail import EventDetails

from local_runner.map_run import FAILURE_STATUSES, MAP_RUN_ATTRIBUTE, LocalMapRun

WRITER_FAILED = StatesErrorNameType.StatesResultWriterFailed
# Result files by status, in the manifest's order; a status's children go to <STATUS>_<n>.json.
FILE_STATUSES = {"FAILED": FAILURE_STATUSES, "PENDING": ("PENDING",),
                 "SUCCEEDED": ("SUCCEEDED",)}
# AWS splits a status's records over several files when they are large; locally one file each
# holds up to this many records.
RECORDS_PER_FILE = 10_000


def export(run: LocalMapRun, s3, bucket: str, prefix: str) -> dict:
    """Write the result files and manifest; the Map state's result."""
    run_id = run.arn.rpartition(":")[2]
    folder = f"{prefix.rstrip('/')}/{run_id}" if prefix else run_id
    files: dict[str, list[dict]] = {}
    for status, members in FILE_STATUSES.items():
        records = [c.record() for c in run.children if c.status in members]
        files[status] = []
        for n, start in enumerate(range(0, len(records), RECORDS_PER_FILE)):
            body = json.dumps(records[start:start + RECORDS_PER_FILE]).encode()
            key = f"{folder}/{status}_{n}.json"
            s3.put_object(Bucket=bucket, Key=key, Body=body)
            files[status].append({"Key": key, "Size": len(body)})
    manifest_key = f"{folder}/manifest.json"
    s3.put_object(Bucket=bucket, Key=manifest_key, Body=json.dumps(
        {"DestinationBucket": bucket, "MapRunArn": run.arn, "ResultFiles": files}).encode())
    return {"MapRunArn": run.arn,
            "ResultWriterDetails": {"Bucket": bucket, "Key": manifest_key}}


def _put_object(env, resource_runtime_part, state_credentials) -> None:
    parameters = env.stack.pop()
    env.stack.pop()  # the children's outputs: the records are on the map run
    run: LocalMapRun | None = getattr(env, MAP_RUN_ATTRIBUTE, None)
    if run is None:
        raise RuntimeError("ResultWriter evaluated without a distributed Map run")
    s3 = resource_eval_s3.ResourceEvalS3._get_s3_client(
        resource_runtime_part=resource_runtime_part, state_credentials=state_credentials)
    bucket, prefix = parameters.get("Bucket"), parameters.get("Prefix", "")
    try:
        env.stack.append(export(run, s3, bucket, prefix))
    except Exception as error:
        cause = (f"the ResultWriter could not write the results of {run.arn} to "
                 f"s3://{bucket}/{prefix}: {type(error).__name__}: {error}")
        raise FailureEventException(FailureEvent(
            env=env, error_name=StatesErrorName(typ=WRITER_FAILED),
            event_type=HistoryEventType.MapRunFailed,
            event_details=EventDetails(mapRunFailedEventDetails=MapRunFailedEventDetails(
                error=WRITER_FAILED.to_name(), cause=cause)))) from None


PATCHES = [(resource_eval_s3.ResourceEvalS3, "_handle_put_object", staticmethod(_put_object))]
