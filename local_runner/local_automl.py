"""CreateAutoMLJobV2 / DescribeAutoMLJobV2, emulated for local runs: the job runs the AutoML
stand-in's search (stand_ins/automl.py, a labelled emulation) when it is created, and describe
reports it with Autopilot's shapes (status, BestCandidate and its InferenceContainers), its
label as ExitMessage, which `mlplatform run` prints. Knows nothing of any one pipeline."""

from __future__ import annotations

import traceback
from collections.abc import Callable
from pathlib import Path

from local_runner.api_common import SageMakerError, now

KIND = "automl-job"
# Only the tabular problem type has a stand-in (AWS: AutoMLProblemTypeConfig is a union).
TABULAR = "TabularJobConfig"


class LocalAutoML:
    def __init__(self, *, s3, register: Callable, finish: Callable, describe: Callable,
                 arn: Callable[[str, str], str]) -> None:
        self.s3, self._register, self._finish = s3, register, finish
        self._describe, self._arn = describe, arn

    def _api_createAutoMLJobV2(self, request: dict) -> dict:
        from local_runner.stand_ins import automl

        problem = request.get("AutoMLProblemTypeConfig") or {}
        if set(problem) != {TABULAR}:
            raise SageMakerError("ValidationException", f"only {TABULAR} AutoML jobs are "
                                 f"emulated locally, not {', '.join(problem) or 'none'}")
        name, workdir = self._register(KIND, "AutoMLJobName", request)
        arn = self._arn("automl-job", name)
        try:
            outcome = automl.search(request, self.s3, Path(workdir))
        except Exception as exc:  # noqa: BLE001 - any error of the emulation fails the job
            (Path(workdir) / "automl.log").write_text(traceback.format_exc())
            outcome = {"AutoMLJobStatus": "Failed", "AutoMLJobSecondaryStatus": "Failed",
                       "FailureReason": f"{type(exc).__name__}: {exc}"}
        started = now()
        describe = {**request, "AutoMLJobArn": arn, "AutoMLProblemTypeConfigName": "Tabular",
                    "CreationTime": started, "EndTime": now(), **outcome}
        if "LocalEmulation" in outcome:
            describe["ExitMessage"] = outcome["LocalEmulation"]
        self._finish(KIND, name, describe)
        return {"AutoMLJobArn": arn}

    def _api_describeAutoMLJobV2(self, request: dict) -> dict:
        return self._describe(KIND, request["AutoMLJobName"])
