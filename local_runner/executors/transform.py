"""CreateTransformJob, run locally: the model staged to /opt/ml/model, the image's `serve` started
on a free port, every input object (under the prefix, or listed by a manifest) split into
records, batched, posted to /invocations, and the responses assembled into
<S3OutputPath>/<input name>.out, with DataProcessing applied."""

from __future__ import annotations

import contextlib
import gzip
from dataclasses import dataclass
from pathlib import Path

from local_runner.executors import model_server, serial, staging
from local_runner.executors.container import log_tail
from local_runner.executors.manifest_input import manifest_objects
from local_runner.executors.records import (
    JsonPathFilter,
    RecordError,
    batches,
    join,
    split_records,
    split_response,
)
from local_runner.executors.results import COMPLETED, FAILED, JobOutcome, LocalProgram
from local_runner.executors.staging import StagingError

# SageMaker's defaults when neither the request nor /execution-parameters sets a value.
DEFAULT_MAX_PAYLOAD_MB = 6
DEFAULT_INVOCATION_TIMEOUT_S = 600
DEFAULT_INVOCATION_RETRIES = 3
STRATEGY_ENV = {"MultiRecord": "MULTI_RECORD", "SingleRecord": "SINGLE_RECORD"}


@dataclass(frozen=True)
class Plan:
    """What one transform job does with every record, resolved from the request."""

    compressed: bool
    split_type: str
    strategy: str
    max_payload_mb: int
    content_type: str | None
    accept: str | None
    assemble_lines: bool
    input_filter: JsonPathFilter
    output_filter: JsonPathFilter
    join_input: bool
    retries: int


def run_transform_job(request: dict, model: dict, s3, program: LocalProgram,
                      workdir: Path) -> JobOutcome:
    """`model`: {"ModelDataUrl": ..., "Environment": {...} (optional)}, the model's container."""
    output_path = request["TransformOutput"]["S3OutputPath"]
    log_path = workdir / "logs" / "transform.log"
    client = request.get("ModelClientConfig") or {}
    try:
        inputs = _inputs(s3, request["TransformInput"]["DataSource"]["S3DataSource"])
        timeout = float(client.get("InvocationsTimeoutInSeconds") or DEFAULT_INVOCATION_TIMEOUT_S)
        with contextlib.ExitStack() as stack:
            # Each of the model's containers (a serial pipeline's, chained: serial.py).
            server = serial.start(stack, model, s3, program, workdir, log_path, timeout,
                                  before=[{"SAGEMAKER_MODEL_SERVER_WORKERS": "1"}],
                                  after=[request.get("Environment") or {},
                                         _batch_environment(request)])
            server.wait_until_ready()
            plan = _plan(request, server.execution_parameters())
            for uri, relative in inputs:
                output = _transform_object(server, staging.read_object(s3, uri), uri, plan)
                staging.put_object(s3, staging.join_uri(output_path, f"{relative}.out"), output)
    except (StagingError, RecordError) as exc:
        return JobOutcome(FAILED, str(exc), log_tail(log_path), {}, None, output_path)
    except OSError as exc:
        return JobOutcome(FAILED, f"cannot run the model server: {exc}", log_tail(log_path), {},
                          None, output_path)
    return JobOutcome(COMPLETED, None, log_tail(log_path), {}, None, output_path)


def _inputs(s3, source: dict) -> list[tuple[str, str]]:
    """The objects the job transforms, each with the name its output is written under."""
    data_type = source.get("S3DataType", "S3Prefix")
    if data_type == "ManifestFile":
        return manifest_objects(s3, source["S3Uri"])
    if data_type != "S3Prefix":
        raise StagingError(f"S3DataType {data_type} is not supported locally; use S3Prefix or "
                           "ManifestFile")
    return staging.require_objects(s3, source["S3Uri"])


def _batch_environment(request: dict) -> dict[str, str]:
    """What SageMaker tells a container about the batch job it serves."""
    env = {"SAGEMAKER_BATCH": "true"}
    if request.get("MaxPayloadInMB") is not None:
        env["SAGEMAKER_MAX_PAYLOAD_IN_MB"] = str(request["MaxPayloadInMB"])
    if request.get("BatchStrategy") in STRATEGY_ENV:
        env["SAGEMAKER_BATCH_STRATEGY"] = STRATEGY_ENV[request["BatchStrategy"]]
    if request.get("MaxConcurrentTransforms"):  # 0: SageMaker picks, i.e. not set
        env["SAGEMAKER_MAX_CONCURRENT_TRANSFORMS"] = str(request["MaxConcurrentTransforms"])
    return env


def _plan(request: dict, container_params: dict) -> Plan:
    """The request's settings; where it leaves one out, the container's /execution-parameters."""
    source = request["TransformInput"]
    output = request["TransformOutput"]
    processing = request.get("DataProcessing") or {}
    split_type = source.get("SplitType") or "None"
    strategy = request.get("BatchStrategy") or {v: k for k, v in STRATEGY_ENV.items()}.get(
        str(container_params.get("BatchStrategy", "")).upper(),
        "MultiRecord" if split_type == "Line" else "SingleRecord")
    payload = request.get("MaxPayloadInMB")
    if payload is None:
        payload = container_params.get("MaxPayloadInMB", DEFAULT_MAX_PAYLOAD_MB)
    compression = source.get("CompressionType") or "None"
    if compression not in ("None", "Gzip"):
        raise RecordError(f"CompressionType {compression!r} is not supported; use None or Gzip")
    retries = (request.get("ModelClientConfig") or {}).get("InvocationsMaxRetries")
    return Plan(
        compressed=compression == "Gzip",
        split_type=split_type, strategy=strategy, max_payload_mb=int(payload),
        content_type=source.get("ContentType"), accept=output.get("Accept"),
        assemble_lines=output.get("AssembleWith") == "Line",
        input_filter=JsonPathFilter.parse(processing.get("InputFilter")),
        output_filter=JsonPathFilter.parse(processing.get("OutputFilter")),
        join_input=processing.get("JoinSource") == "Input",
        retries=DEFAULT_INVOCATION_RETRIES if retries is None else int(retries))


def _transform_object(server: model_server.ModelServer | serial.SerialServer, body: bytes, uri: str,
                      plan: Plan) -> bytes:
    """One input object in, its .out content back."""
    if plan.compressed:
        try:
            body = gzip.decompress(body)
        except (OSError, EOFError) as exc:
            raise RecordError(f"{uri} is not gzip data (CompressionType Gzip): {exc}") from None
    records = split_records(body, plan.split_type)
    sent = [plan.input_filter.apply(r, plan.content_type or "text/csv") for r in records]
    headers = {k: v for k, v in (("Content-Type", plan.content_type), ("Accept", plan.accept))
               if v}
    chunks: list[bytes] = []
    for start, batch in batches(sent, plan.strategy, plan.max_payload_mb):
        what = (f"record {start + 1}" if len(batch) == 1 else
                f"records {start + 1}-{start + len(batch)}") + f" of {uri}"
        payload = b"\n".join(batch) + b"\n" if plan.split_type == "Line" else batch[0]
        reply = server.invoke(payload, headers, plan.retries)
        if reply.status != 200:
            raise RecordError(f"the model server answered {reply.status or 'nothing'} to "
                              f"{what}: {reply.message()}")
        chunks += _outputs(reply.body, records[start:start + len(batch)], what, plan)
    if not plan.assemble_lines:
        return b"".join(chunks)
    return b"".join(chunk.rstrip(b"\r\n") + b"\n" for chunk in chunks)


def _outputs(body: bytes, originals: list[bytes], what: str, plan: Plan) -> list[bytes]:
    if not plan.join_input and plan.output_filter.identity:
        return [body]  # nothing is applied per record: the response is assembled as it came
    outputs = split_response(body, len(originals))
    if outputs is None:
        raise RecordError(f"the response to {what} does not hold one output per record, which "
                          "JoinSource Input and OutputFilter need")
    media = plan.content_type if plan.join_input else plan.accept or plan.content_type
    results = []
    for original, output in zip(originals, outputs, strict=True):
        record = join(original, output, plan.content_type or "text/csv") if plan.join_input \
            else output
        results.append(plan.output_filter.apply(record, media or "text/csv"))
    return results
