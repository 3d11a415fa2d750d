"""SageMaker data capture for local endpoints: each sampled request and its response written to
S3 as SageMaker writes them, one JSON line per request under
`<DestinationS3Uri>/<endpoint>/<variant>/yyyy/mm/dd/hh/`, so Model Monitor's record preprocessor
and the platform's drift check (runtime_scripts/common/tabular/capture.py) read local
captures as they read real ones."""

from __future__ import annotations

import base64
import json
import threading
import uuid
from datetime import UTC, datetime

from local_runner.executors import staging
from local_runner.executors.model_server import Reply


class DataCapture:
    def __init__(self, s3) -> None:
        self.s3 = s3
        self._requests: dict[str, int] = {}  # endpoint config -> requests seen, for sampling
        self._lock = threading.Lock()

    @staticmethod
    def summary(config: dict) -> dict | None:
        """DescribeEndpoint's DataCaptureConfig (a DataCaptureConfigSummary)."""
        capture = config.get("DataCaptureConfig")
        if not capture:
            return None
        enabled = capture.get("EnableCapture", True)
        summary = {"EnableCapture": enabled, "CaptureStatus": "Started" if enabled else "Stopped",
                   "CurrentSamplingPercentage": capture["InitialSamplingPercentage"],
                   "DestinationS3Uri": capture["DestinationS3Uri"]}
        if capture.get("KmsKeyId"):
            summary["KmsKeyId"] = capture["KmsKeyId"]
        return summary

    def _sampled(self, config: dict, percentage: float) -> bool:
        # Deterministic sampling: exactly `percentage` of the requests, evenly spread.
        with self._lock:
            seen = self._requests[config["EndpointConfigName"]] = \
                self._requests.get(config["EndpointConfigName"], 0) + 1
        return int(seen * percentage / 100) > int((seen - 1) * percentage / 100)

    def record(self, endpoint: str, variant: str, config: dict, body: bytes,
               content_type: str | None, reply: Reply) -> str | None:
        """Capture one answered request if the config says so; the object's URI, else None."""
        capture = config.get("DataCaptureConfig")
        if not capture or not capture.get("EnableCapture", True) or \
                not self._sampled(config, capture["InitialSamplingPercentage"]):
            return None
        modes = {o["CaptureMode"] for o in capture.get("CaptureOptions", [])}
        headers = capture.get("CaptureContentTypeHeader") or {}
        data: dict = {}
        if "Input" in modes:
            data["endpointInput"] = _captured("INPUT", body, content_type, headers)
        if "Output" in modes:
            data["endpointOutput"] = _captured("OUTPUT", reply.body, reply.content_type, headers)
        moment = datetime.now(UTC)
        event = uuid.uuid4()
        line = {"captureData": data,
                "eventMetadata": {"eventId": str(event),
                                  "inferenceTime": moment.strftime("%Y-%m-%dT%H:%M:%SZ")},
                "eventVersion": "0"}
        uri = staging.join_uri(capture["DestinationS3Uri"], endpoint, variant,
                               moment.strftime("%Y/%m/%d/%H"),
                               f"{moment.strftime('%M-%S-%f')[:-3]}-{event}.jsonl")
        try:
            return staging.put_object(self.s3, uri, (json.dumps(line) + "\n").encode())
        except staging.StagingError:
            return None  # best effort, as on AWS: a capture failure never fails the request


def _captured(mode: str, payload: bytes, content_type: str | None, headers: dict) -> dict:
    """One side of a request: CSV and JSON types (CaptureContentTypeHeader) as text, anything
    else base64, SageMaker's default."""
    media = (content_type or "").split(";")[0].strip().lower()
    encoding = "CSV" if media in headers.get("CsvContentTypes", []) else \
        "JSON" if media in headers.get("JsonContentTypes", []) else "BASE64"
    text = base64.b64encode(payload).decode() if encoding == "BASE64" else \
        payload.decode("utf-8", errors="replace")
    return {"observedContentType": content_type or "", "mode": mode, "data": text,
            "encoding": encoding}
