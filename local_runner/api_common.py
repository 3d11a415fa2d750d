"""What the emulated APIs and the engine share: SageMaker's error type and ARNs, timestamps, and
API requests and responses as Step Functions' aws-sdk integrations have them (JSON only,
PascalCase member names)."""

from __future__ import annotations

import datetime as _dt
import functools
from collections.abc import Callable
from datetime import UTC, datetime

import botocore.session
from botocore.exceptions import UnknownServiceError
from botocore.model import (
    ListShape,
    MapShape,
    OperationModel,
    OperationNotFoundError,
    Shape,
    StructureShape,
)

ACCOUNT = "123456789012"
# AWS's casing of service names in aws-sdk error names ("S3.NoSuchKeyException"): the AWS SDK
# for Java 2.x client names (`SfnClient`, `SnsClient`), as moto's own binding ("sfn": "Sfn") has.
SERVICE_ERROR_PREFIX = {"s3": "S3", "sagemaker": "SageMaker", "sns": "Sns", "glue": "Glue",
                        "lambda": "Lambda", "sfn": "Sfn", "kms": "Kms", "cloudwatch": "CloudWatch",
                        "applicationautoscaling": "ApplicationAutoScaling"}
# Step Functions' aws-sdk service names where boto3's differ (moto maps only sfn/states).
BOTO_SERVICE_NAMES = {"applicationautoscaling": "application-autoscaling"}


class SageMakerError(Exception):
    """An API error as Step Functions names it (`SageMaker.<Code>`), with AWS's message."""

    def __init__(self, code: str, message: str) -> None:
        self.code = code
        self.message = message
        super().__init__(f"{code}: {message}")


def sagemaker_arn(region: str, resource: str, name: str) -> str:
    return f"arn:aws:sagemaker:{region}:{ACCOUNT}:{resource}/{name.lower()}"


def now() -> str:
    # ISO strings, not datetimes: Step Functions passes JSON, and moto's history serialiser
    # cannot encode datetimes.
    return datetime.now(UTC).isoformat(timespec="microseconds")


def service_error_prefix(service_name: str) -> str:
    return SERVICE_ERROR_PREFIX.get(service_name.lower(), service_name)


def exception_name(code: str) -> str:
    """An error code as aws-sdk integrations name it: `ValidationException`, `ModelError...`."""
    return code if code.endswith("Exception") else f"{code}Exception"


def jsonable(value):
    """aws-sdk results as Step Functions sees them: JSON only."""
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items() if k != "ResponseMetadata"}
    if isinstance(value, list):
        return [jsonable(v) for v in value]
    if isinstance(value, _dt.datetime | _dt.date):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    if hasattr(value, "read"):  # botocore StreamingBody (S3 GetObject Body)
        return value.read().decode("utf-8", errors="replace")
    return value


# --- aws-sdk member names ---------------------------------------------------------------------
# Step Functions' aws-sdk integrations take and return PascalCase member names for every service;
# boto3 uses each API's own, which some APIs (Step Functions' own: `stateMachineArn`) spell in
# camelCase. Converted along the operation's botocore shapes, so map keys are left alone.
@functools.cache
def _operation(service: str, action: str) -> OperationModel | None:
    try:
        model = botocore.session.get_session().get_service_model(service)
        # `startExecution` (the ARN's spelling) or `start_execution` (moto's sync resolvers).
        wanted = action.replace("_", "").lower()
        name = next(n for n in model.operation_names if n.lower() == wanted)
        return model.operation_model(name)
    except (UnknownServiceError, OperationNotFoundError, StopIteration):
        return None


def to_boto_request(service: str, action: str, parameters: dict) -> dict:
    operation = _operation(service, action)
    return _named(parameters, operation.input_shape, _api_name) if operation else parameters


def from_boto_response(service: str, action: str, response: dict) -> dict:
    operation = _operation(service, action)
    return _named(response, operation.output_shape, _pascal) if operation else response


def _api_name(key: str, shape: StructureShape) -> str:
    return next((m for m in shape.members if m.lower() == key.lower()), key)


def _pascal(key: str, shape: StructureShape) -> str:
    return key[:1].upper() + key[1:]


def _named(value, shape: Shape | None, rename: Callable[[str, StructureShape], str]):
    if shape is None:
        return value
    if isinstance(shape, StructureShape) and isinstance(value, dict):
        members = {name.lower(): member for name, member in shape.members.items()}
        return {rename(k, shape): _named(v, members.get(k.lower()), rename)
                for k, v in value.items()}
    if isinstance(shape, ListShape) and isinstance(value, list):
        return [_named(v, shape.member, rename) for v in value]
    if isinstance(shape, MapShape) and isinstance(value, dict):
        return {k: _named(v, shape.value, rename) for k, v in value.items()}
    return value
