"""CreateTrainingJob, run locally: channels staged to /opt/ml/input/data, the config files
written, `train` run as a subprocess, the model uploaded as SageMaker lays it out
(<S3OutputPath>/<TrainingJobName>/output/model.tar.gz), checkpoints synced both ways.

A job with ResourceConfig.InstanceCount N > 1 runs N `train` processes at once, one per host
`algo-1` .. `algo-N`, each in its own container root with every channel (all of a
FullyReplicated one, its share of a ShardedByS3Key one's objects) and the host's SM_HOSTS /
SM_CURRENT_HOST and resourceconfig.json, as SageMaker starts the same command on every
instance of a distributed job. SageMaker's hosts resolve each other by those
names; these do not, so each also gets MASTER_ADDR (loopback) and MASTER_PORT (a free port):
where the first host listens, under the names torchrun and PyTorch's process group read. The job
fails when any host fails; the model, the metrics and the checkpoints are the first host's
(a distributed training script saves on its first host).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import socket
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from local_runner.executors import container, manifest_input, pipe, staging
from local_runner.executors.results import COMPLETED, FAILED, JobOutcome, LocalProgram, failed
from local_runner.executors.staging import StagingError
from local_runner.stand_ins import repository, stand_in_environment, training_stand_in_command
from runtime_scripts import contract
from runtime_scripts.channels import SHARDED
from runtime_scripts.common import builtin_algorithms


def hosts_of(request: dict) -> list[str]:
    """algo-1 .. algo-N for ResourceConfig.InstanceCount N (SageMaker's host names)."""
    count = int((request.get("ResourceConfig") or {}).get("InstanceCount", 1) or 1)
    return [f"algo-{i}" for i in range(1, max(count, 1) + 1)]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def run_training_job(request: dict, s3, program: LocalProgram, workdir: Path, *,
                     checkpoints: bool = True) -> JobOutcome:
    hosts = hosts_of(request)
    if len(hosts) == 1:
        return _run_host(request, s3, program, workdir, hosts, hosts[0], {},
                         checkpoints=checkpoints)
    rendezvous = {"MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(_free_port())}
    with ThreadPoolExecutor(len(hosts)) as pool:
        outcomes = list(pool.map(
            lambda host: _run_host(request, s3, program, workdir / host, hosts, host,
                                   rendezvous, checkpoints=checkpoints, upload=host == hosts[0]),
            hosts))
    first = outcomes[0]
    failures = [f"{host}: {o.failure_reason}" for host, o in zip(hosts, outcomes, strict=True)
                if not o.completed]
    if not failures:
        return first
    return JobOutcome(FAILED, "; ".join(failures), first.log_tail, first.final_metrics, None,
                      None)


def _run_host(request: dict, s3, program: LocalProgram, workdir: Path, hosts: list[str],
              host: str, rendezvous: dict[str, str], *, checkpoints: bool,
              upload: bool = True) -> JobOutcome:
    """One host's container: stage, run `train`, and (`upload`) upload what it wrote."""
    ml = staging.fresh_ml_root(workdir)
    hyperparameters = {k: str(v) for k, v in (request.get("HyperParameters") or {}).items()}
    checkpoint = _checkpoint_config(request, workdir) if checkpoints else None
    stand_in = training_stand_in_command(
        request.get("AlgorithmSpecification", {}).get("TrainingImage", ""))
    try:
        argv = stand_in or staging.image_program(program, "train")
        channels, feeders = _stage_channels(request, s3, ml, workdir,
                                            (hosts.index(host), len(hosts)))
        if checkpoint:
            # Resume: SageMaker copies the checkpoint prefix to LocalPath before `train` starts.
            staging.download(s3, checkpoint[1], checkpoint[0], allow_empty=True)
    except StagingError as exc:
        return failed(str(exc))
    _write_config(ml, hyperparameters, request, channels, hosts, host)
    env = staging.job_environment(program, workdir, request.get("Environment") or {},
                                  _sm_environment(request, ml, hyperparameters, channels,
                                                  checkpoint, hosts, host), rendezvous,
                                  stand_in_environment() if stand_in else {})
    max_runtime = staging.max_runtime(request)
    try:
        with contextlib.ExitStack() as pipes:
            for feeder in feeders:
                pipes.enter_context(feeder)
            result = container.run(argv, env, ml, workdir / "logs" / "training.log", max_runtime)
    except OSError as exc:
        return failed(f"cannot start the entry point {argv[0]}: {exc}")
    reason = staging.failure_reason(result, ml, max_runtime)
    artifacts = None
    try:
        if checkpoint and upload:  # synced during the run on SageMaker, a failed run's too
            staging.upload(s3, checkpoint[0], checkpoint[1])
        if reason is None and upload:
            artifacts = _upload_outputs(request, s3, ml, workdir)
    except StagingError as exc:
        reason = reason or str(exc)
    metrics = final_metrics(_metric_definitions(request, bool(stand_in)), result.log_text())
    return JobOutcome(COMPLETED if reason is None else FAILED, reason, result.tail(), metrics,
                      artifacts, None,
                      exit_message=staging.read_text(ml / "output" / "message") if stand_in
                      else None, emulations=emulations(channels, mode_of(request)))


def mode_of(request: dict) -> str:
    return request.get("AlgorithmSpecification", {}).get("TrainingInputMode", "File")


def emulations(channels: list[dict], mode: str) -> tuple[str, ...]:
    """What ran differently here than on SageMaker, per channel, for the run's output."""
    labels = {"Pipe": pipe.LABEL,
              "FastFile": "FastFile input mode staged as File (SageMaker mounts S3 instead)"}
    return tuple(f"channel {c['ChannelName']!r}: {labels[c.get('InputMode', mode)]}"
                 for c in channels if c.get("InputMode", mode) in labels)


def _metric_definitions(request: dict, stand_in: bool) -> list[dict]:
    """The request's MetricDefinitions; for a built-in algorithm's stand-in, which SageMaker
    gives none (the algorithm's are predefined), the metrics the algorithm documents, as the
    stand-in logs them."""
    spec = request.get("AlgorithmSpecification", {})
    if not stand_in:
        return spec.get("MetricDefinitions", [])
    algorithm = builtin_algorithms.by_repository(repository(spec.get("TrainingImage", "")))
    return [{"Name": m.name, "Regex": contract.metric_regex(m.name)}
            for m in (algorithm.metrics if algorithm else ())]


def final_metrics(definitions: list[dict], log: str) -> dict[str, float]:
    """Each MetricDefinitions regex over the log; its first group is the value, and the last
    value read wins, as in SageMaker's FinalMetricDataList."""
    found: dict[str, float] = {}
    for definition in definitions:
        try:
            pattern = re.compile(definition["Regex"])
        except re.error:
            continue  # SageMaker rejects such a definition at create time
        for match in pattern.finditer(log):
            try:
                found[definition["Name"]] = float(match.group(1))
            except (IndexError, ValueError):
                continue
    return found


def _checkpoint_config(request: dict, workdir: Path) -> tuple[Path, str] | None:
    config = request.get("CheckpointConfig")
    if not config or not config.get("S3Uri"):
        return None
    local = config.get("LocalPath") or f"{staging.OPT_ML}/checkpoints"
    return staging.container_path(workdir, local), config["S3Uri"]


def _stage_channels(request: dict, s3, ml: Path, workdir: Path,
                    host: tuple[int, int]) -> tuple[list[dict], list[pipe.PipeFeeder]]:
    """File and FastFile channels downloaded to /opt/ml/input/data/<channel>; Pipe channels
    staged beside the container and fed to it through FIFOs while it runs (pipe.py). Each
    channel's S3DataDistributionType decides what this host gets: all of its objects
    (FullyReplicated) or its share of them (ShardedByS3Key; `host` is (its index, the number
    of hosts))."""
    mode = mode_of(request)
    channels = request.get("InputDataConfig") or []
    feeders = []
    for channel in channels:
        name = channel["ChannelName"]
        source = channel.get("DataSource", {}).get("S3DataSource")
        if source is None:
            raise StagingError(f"channel {name!r}: only S3DataSource can be staged locally")
        share = host if source.get("S3DataDistributionType") == SHARDED else None
        # S3Prefix, ManifestFile or AugmentedManifestFile, as SageMaker reads each.
        if channel.get("InputMode", mode) != "Pipe":
            manifest_input.stage_source(s3, source, ml / "input" / "data" / name, share=share,
                                        pipe=False)
            continue
        files = manifest_input.stage_source(s3, source, workdir / "pipe-source" / name,
                                            share=share, pipe=True)
        feeders.append(pipe.PipeFeeder(
            ml / "input" / "data", name, files,
            compression=channel.get("CompressionType", "None"),
            record_wrapper=channel.get("RecordWrapperType", "None")))
    return channels, feeders


def _write_config(ml: Path, hyperparameters: dict[str, str], request: dict,
                  channels: list[dict], hosts: list[str], host: str) -> None:
    config = ml / "input" / "config"
    config.mkdir(parents=True, exist_ok=True)
    (config / "hyperparameters.json").write_text(json.dumps(hyperparameters))
    (config / "resourceconfig.json").write_text(json.dumps(
        {"current_host": host, "hosts": hosts, "network_interface_name": "eth0"}))
    mode = request.get("AlgorithmSpecification", {}).get("TrainingInputMode", "File")
    (config / "inputdataconfig.json").write_text(json.dumps({
        c["ChannelName"]: {
            "ContentType": c.get("ContentType", ""),
            "TrainingInputMode": c.get("InputMode", mode),
            "S3DistributionType": c.get("DataSource", {}).get("S3DataSource", {})
            .get("S3DataDistributionType", "FullyReplicated"),
            "RecordWrapperType": c.get("RecordWrapperType", "None"),
        } for c in channels}))
    (ml / "model").mkdir()
    (ml / "output" / "data").mkdir(parents=True)


def _sm_environment(request: dict, ml: Path, hyperparameters: dict[str, str],
                    channels: list[dict], checkpoint: tuple[Path, str] | None,
                    hosts: list[str], host: str) -> dict[str, str]:
    """What a SageMaker training container finds in its environment (the training toolkit's
    SM_* set, and TRAINING_JOB_NAME from the platform), with /opt/ml redirected."""
    names = [c["ChannelName"] for c in channels]
    env = {
        "TRAINING_JOB_NAME": request["TrainingJobName"],
        "SM_MODEL_DIR": str(ml / "model"),
        "SM_CHANNELS": json.dumps(names),
        "SM_HPS": json.dumps(hyperparameters),
        "SM_INPUT_DIR": str(ml / "input"),
        "SM_INPUT_CONFIG_DIR": str(ml / "input" / "config"),
        "SM_OUTPUT_DIR": str(ml / "output"),
        "SM_OUTPUT_DATA_DIR": str(ml / "output" / "data"),
        "SM_CURRENT_HOST": host,
        "SM_HOSTS": json.dumps(hosts),
        "SM_NUM_CPUS": str(_cpus()),
        "SM_NUM_GPUS": "0",
    }
    env.update({f"SM_CHANNEL_{n.upper()}": str(ml / "input" / "data" / n) for n in names})
    env.update({f"SM_HP_{k.upper()}": v for k, v in hyperparameters.items() if "=" not in k})
    if checkpoint:
        env["SM_CHECKPOINT_DIR"] = str(checkpoint[0])
    return env


def _cpus() -> int:
    # The CPUs this process may use (a container's share), where the OS can say.
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def _upload_outputs(request: dict, s3, ml: Path, workdir: Path) -> str:
    """model.tar.gz (and output.tar.gz when output/data holds files) where SageMaker puts them."""
    prefix = staging.join_uri(request["OutputDataConfig"]["S3OutputPath"],
                              request["TrainingJobName"], "output")
    model = staging.tar_directory(ml / "model", workdir / "upload" / "model.tar.gz")
    artifacts = staging.upload_file(s3, model, f"{prefix}/model.tar.gz")
    if any(p.is_file() for p in (ml / "output" / "data").rglob("*")):
        data = staging.tar_directory(ml / "output" / "data", workdir / "upload" / "output.tar.gz")
        staging.upload_file(s3, data, f"{prefix}/output.tar.gz")
    return artifacts
