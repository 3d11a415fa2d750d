"""A refused SageMaker API call as Step Functions reports it: the error name and the cause text
(what ml_constructs/api_retries.py decides a retry from).

- Optimized integrations (`arn:aws:states:::sagemaker:...`) use the AWS SDK for Java 1.x: a code
  SageMaker's model defines is that exception (`SageMaker.ResourceLimitExceededException`), any
  other the base one (`SageMaker.AmazonSageMakerException`); the cause is the exception's message,
  "<message> (Service: AmazonSageMaker; Status Code: 400; Error Code: ThrottlingException;
  Request ID: <id>)".
- aws-sdk integrations use the 2.x classes (`SageMaker.ResourceNotFoundException`,
  `SageMaker.SageMakerException`) and their message, which names no code: "<message> (Service:
  SageMaker, Status Code: 400, Request ID: <id>)". moto's aws-sdk task reports the other
  services' errors the same way.
"""

from __future__ import annotations

import functools
import uuid

import botocore.session

from local_runner.api_common import exception_name

# HTTP status of SageMaker's common errors (SageMaker API reference, Common Errors); a code the
# model defines carries its own.
COMMON_STATUS = {"ThrottlingException": 400, "ValidationException": 400,
                 "InternalFailure": 500, "ServiceUnavailable": 503}


@functools.cache
def _modeled() -> dict[str, int]:
    """SageMaker's modeled error codes -> HTTP status."""
    model = botocore.session.get_session().get_service_model("sagemaker")
    return {name: shape.metadata.get("error", {}).get("httpStatusCode", 400)
            for name in model.shape_names
            if (shape := model.shape_for(name)).metadata.get("exception")}


def _status(code: str) -> int:
    return _modeled().get(code) or COMMON_STATUS.get(code, 400)


def optimized(code: str, message: str) -> tuple[str, str]:
    """(error, cause) of an optimized SageMaker integration."""
    name = exception_name(code) if code in _modeled() else "AmazonSageMakerException"
    return (f"SageMaker.{name}",
            f"{message} (Service: AmazonSageMaker; Status Code: {_status(code)}; "
            f"Error Code: {code}; Request ID: {uuid.uuid4()})")


def aws_sdk(code: str, message: str) -> tuple[str, str]:
    """(error, cause) of an aws-sdk SageMaker integration."""
    name = exception_name(code) if code in _modeled() else "SageMakerException"
    return (f"SageMaker.{name}",
            f"{message} (Service: SageMaker, Status Code: {_status(code)}, "
            f"Request ID: {uuid.uuid4()})")
