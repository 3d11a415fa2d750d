"""CreateProcessingJob, run locally: inputs staged to their LocalPaths, the AppSpecification's
entry point run as a subprocess, outputs uploaded from their LocalPaths."""

from __future__ import annotations

import json
from pathlib import Path

from local_runner.executors import container, staging
from local_runner.executors.results import COMPLETED, FAILED, JobOutcome, LocalProgram, failed
from local_runner.executors.staging import StagingError
from local_runner.stand_ins import stand_in_command, stand_in_environment


def run_processing_job(request: dict, s3, program: LocalProgram, workdir: Path) -> JobOutcome:
    ml = staging.fresh_ml_root(workdir)
    try:
        argv = staging.resolve_entry_point(_command(request), program, workdir)
        for channel in request.get("ProcessingInputs", []):
            _stage_input(channel, s3, workdir)
        outputs = [_output(o, workdir) for o in
                   request.get("ProcessingOutputConfig", {}).get("Outputs", [])]
    except StagingError as exc:
        return failed(str(exc))
    for local, _, _ in outputs:
        local.mkdir(parents=True, exist_ok=True)  # SageMaker creates them before the job starts
    _write_config(request, ml)

    env = staging.job_environment(program, workdir, request.get("Environment", {}),
                                  stand_in_environment() if _stand_in(request) else {})
    try:
        result = container.run(argv, env, ml, workdir / "logs" / "processing.log",
                               staging.max_runtime(request))
    except OSError as exc:
        return failed(f"cannot start the entry point {argv[0]}: {exc}")
    reason = staging.failure_reason(result, ml, staging.max_runtime(request))
    try:
        for local, uri, mode in outputs:
            # EndOfJob outputs are uploaded when the job succeeds; Continuous ones were being
            # uploaded all along, so whatever was written is there either way.
            if reason is None or mode == "Continuous":
                staging.upload(s3, local, uri)
    except StagingError as exc:
        reason = reason or str(exc)
    return JobOutcome(COMPLETED if reason is None else FAILED, reason, result.tail(), {}, None,
                      None, exit_message=staging.read_text(ml / "output" / "message"))


def _stand_in(request: dict) -> list[str] | None:
    """An image whose entry point is built in (no ContainerEntrypoint) runs its stand-in, if
    local_runner/stand_ins has one (a labelled emulation)."""
    app = request.get("AppSpecification", {})
    if app.get("ContainerEntrypoint"):
        return None
    return stand_in_command(app.get("ImageUri", ""))


def _command(request: dict) -> list[str]:
    app = request.get("AppSpecification", {})
    entry = list(app.get("ContainerEntrypoint") or []) or _stand_in(request) or []
    if not entry:
        raise StagingError(f"AppSpecification has no ContainerEntrypoint: the entry point built "
                           f"into image {app.get('ImageUri', '?')} cannot be run locally, and "
                           "local_runner/stand_ins has no stand-in for it")
    return entry + [str(a) for a in app.get("ContainerArguments", [])]


def _stage_input(channel: dict, s3, workdir: Path) -> None:
    name = channel.get("InputName", "?")
    source = channel.get("S3Input")
    if source is None:
        raise StagingError(f"processing input {name!r}: only S3Input can be staged locally "
                           "(not DatasetDefinition)")
    if source.get("S3DataType", "S3Prefix") != "S3Prefix":
        raise StagingError(f"processing input {name!r}: S3DataType {source['S3DataType']} is not "
                           "supported locally; use S3Prefix")
    if source.get("S3CompressionType", "None") != "None":
        raise StagingError(f"processing input {name!r}: S3CompressionType "
                           f"{source['S3CompressionType']} is not supported locally")
    # Pipe mode streams the same bytes File mode downloads; scripts here read files.
    staging.download(s3, source["S3Uri"], staging.container_path(workdir, source["LocalPath"]))


def _output(output: dict, workdir: Path) -> tuple[Path, str, str]:
    target = output.get("S3Output")
    if target is None:
        raise StagingError(f"processing output {output.get('OutputName', '?')!r}: only S3Output "
                           "can be staged locally (not FeatureStoreOutput)")
    return (staging.container_path(workdir, target["LocalPath"]), target["S3Uri"],
            target.get("S3UploadMode", "EndOfJob"))


def _write_config(request: dict, ml: Path) -> None:
    # /opt/ml/config as SageMaker writes it for processing containers.
    config = ml / "config"
    config.mkdir(parents=True, exist_ok=True)
    (config / "processingjobconfig.json").write_text(json.dumps(request, default=str))
    (config / "resourceconfig.json").write_text(json.dumps(
        {"current_host": "algo-1", "hosts": ["algo-1"]}))

