"""Failures the emulated SageMaker reports only when a test or demo asks for them; a run that asks
for none behaves exactly as without this module.

- API errors: the next calls of an action are refused with an error code before doing anything,
  with the message SageMaker sends with it (`ThrottlingException`: "Rate exceeded"), as a
  throttled call is; the engine names and explains them as Step Functions does
  (service_errors.py).
- Job failures: the next jobs an action creates are registered under the requested name and end
  `Failed` at once with the given FailureReason, without running: what SageMaker reports for a job
  it could not provision ("CapacityError: Unable to provision requested ML compute capacity.
  Please retry using a different ML instance type."). The name stays taken, as on AWS.
"""

from __future__ import annotations

import threading

# create*Job action -> (registry kind, name key, ARN resource type); the describe output names
# the job's ARN and status after the name key ("TrainingJobArn", "TrainingJobStatus").
JOB_ACTIONS: dict[str, tuple[str, str, str]] = {
    "createProcessingJob": ("processing-job", "ProcessingJobName", "processing-job"),
    "createTrainingJob": ("training-job", "TrainingJobName", "training-job"),
    "createHyperParameterTuningJob": ("tuning-job", "HyperParameterTuningJobName",
                                      "hyper-parameter-tuning-job"),
    "createTransformJob": ("transform-job", "TransformJobName", "transform-job"),
}


# What SageMaker answers with these codes; any other code gets a message naming the injection.
API_ERROR_MESSAGES = {"ThrottlingException": "Rate exceeded",
                      "InternalFailure": "We encountered an internal error. Please try again.",
                      "ServiceUnavailable": "Service Unavailable"}


def api_error_message(code: str, action: str) -> str:
    return API_ERROR_MESSAGES.get(code, f"{code} injected locally for {action}")


class InjectedFaults:
    """Thread-safe queues of injected failures, per action, consumed in call order."""

    def __init__(self) -> None:
        self._api_errors: dict[str, list[str]] = {}
        self._job_failures: dict[str, list[str]] = {}
        self._lock = threading.Lock()

    def add_api_errors(self, action: str, codes: list[str]) -> None:
        with self._lock:
            self._api_errors.setdefault(action, []).extend(codes)

    def add_job_failures(self, action: str, reasons: list[str]) -> None:
        if action not in JOB_ACTIONS:
            raise ValueError(f"{action} creates no job (one of: {', '.join(JOB_ACTIONS)})")
        with self._lock:
            self._job_failures.setdefault(action, []).extend(reasons)

    def next_api_error(self, action: str) -> str | None:
        with self._lock:
            queue = self._api_errors.get(action)
            return queue.pop(0) if queue else None

    def next_job_failure(self, action: str) -> str | None:
        with self._lock:
            queue = self._job_failures.get(action)
            return queue.pop(0) if queue else None
