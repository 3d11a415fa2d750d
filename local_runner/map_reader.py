"""A distributed Map's ItemReader, where moto 5.2.5 differs from Step Functions.

moto reads `s3:getObject` (JSON, CSV with FIRST_ROW or GIVEN headers, MaxItems) as AWS does.
Filled in here:
- `s3:listObjectsV2` returns only the first 1000 keys and the raw boto3 entries (datetimes,
  which the interpreter cannot serialise; `ETag`), and fails on an empty prefix. AWS lists
  every object under the prefix, each item `{"Etag", "Key", "LastModified" (epoch seconds),
  "Size", "StorageClass"}`, and an empty prefix is an empty Map.
- a read that fails (no such bucket or key, JSON that does not parse) ends the interpreter
  with a Python exception; AWS fails the Map state with States.ItemReaderFailed, here with a
  cause that names the object and the reason.
"""

from __future__ import annotations

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
from moto.stepfunctions.parser.asl.component.state.exec.state_map.item_reader import (
    item_reader_decl,
)
from moto.stepfunctions.parser.asl.component.state.exec.state_map.item_reader.eval import (
    resource_eval_s3,
)
from moto.stepfunctions.parser.asl.component.state.exec.state_task.credentials import (
    StateCredentials,
)
from moto.stepfunctions.parser.asl.eval.event.event_detail import EventDetails

READER_FAILED = StatesErrorNameType.StatesItemReaderFailed
_original_eval_body = item_reader_decl.ItemReader._eval_body


def _list_objects_v2(env, resource_runtime_part, state_credentials: StateCredentials) -> None:
    s3 = resource_eval_s3.ResourceEvalS3._get_s3_client(
        resource_runtime_part=resource_runtime_part, state_credentials=state_credentials)
    parameters = env.stack.pop()
    items = []
    for page in s3.get_paginator("list_objects_v2").paginate(**parameters):
        items += [{"Etag": entry["ETag"], "Key": entry["Key"],
                   "LastModified": int(entry["LastModified"].timestamp()),
                   "Size": entry["Size"], "StorageClass": entry.get("StorageClass", "STANDARD")}
                  for entry in page.get("Contents", [])]
    env.stack.append(items)


def _read_items(self, env) -> None:
    try:
        _original_eval_body(self, env)
    except FailureEventException:
        raise
    except Exception as error:
        parameters = _parameters(self, env)
        where = "s3://{}/{}".format(parameters.get("Bucket", "?"),
                                    parameters.get("Key", parameters.get("Prefix", "")))
        cause = (f"the ItemReader ({self.resource.resource_arn}) could not read {where}: "
                 f"{type(error).__name__}: {error}")
        raise FailureEventException(FailureEvent(
            env=env, error_name=StatesErrorName(typ=READER_FAILED),
            event_type=HistoryEventType.MapRunFailed,
            event_details=EventDetails(mapRunFailedEventDetails=MapRunFailedEventDetails(
                error=READER_FAILED.to_name(), cause=cause)))) from None


def _parameters(reader, env) -> dict:
    if reader.parargs is None:
        return {}
    try:
        reader.parargs.eval(env=env)
        value = env.stack.pop()
    except Exception:  # the parameters themselves were the problem
        return {}
    return value if isinstance(value, dict) else {}


PATCHES = [(resource_eval_s3.ResourceEvalS3, "_handle_list_objects_v2",
            staticmethod(_list_objects_v2)),
           (item_reader_decl.ItemReader, "_eval_body", _read_items)]
