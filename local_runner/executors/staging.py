"""The SageMaker directory contract on this machine: /opt/ml redirected to `<workdir>/ml`, S3 data
staged in and out the way SageMaker stages it, and the environment a job's entry point sees."""

from __future__ import annotations

import os
import shutil
import tarfile
from collections.abc import Mapping
from pathlib import Path

from botocore.exceptions import BotoCoreError, ClientError

from local_runner import s3_paths
from local_runner.errors import RunnerError
from local_runner.executors.container import RunResult
from local_runner.executors.results import LocalProgram
from local_runner.executors.shared_cores import sharing_cores
from runtime_scripts.common.manifest import USE_CASE_ENV
from runtime_scripts.contract import DEFAULT_ML_ROOT, ML_ROOT_ENV

OPT_ML = DEFAULT_ML_ROOT
# SageMaker's own defaults when a request leaves them out.
DEFAULT_MAX_RUNTIME_S = 86_400
# Interpreter names an entry point may use for the image's Python (e.g. ["python3", "x.py"]).
PYTHON_NAMES = ("python", "python3")
# Variables that steer the container contract: the job's own values replace inherited ones.
CONTRACT_PREFIXES = ("SM_", "SAGEMAKER_", "TRAINING_JOB_", "PROCESSING_JOB_")


class StagingError(Exception):
    """Data could not be staged in or out; the message is the job's failure reason."""


def fresh_ml_root(workdir: Path) -> Path:
    """An empty `<workdir>/ml`: every job starts in a fresh container."""
    root = workdir / "ml"
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    return root


def container_path(workdir: Path, path: str) -> Path:
    """/opt/ml/... -> <workdir>/ml/...; only /opt/ml is redirected (ML_ROOT), so nothing else is."""
    pure = os.path.normpath(path)
    if pure != OPT_ML and not pure.startswith(OPT_ML + "/"):
        raise StagingError(f"local path {path!r} is outside {OPT_ML}: the local runner redirects "
                           f"only {OPT_ML} (with {ML_ROOT_ENV}); use a path under it")
    return workdir / "ml" / os.path.relpath(pure, OPT_ML)


def map_argument(workdir: Path, arg: str) -> str:
    """A container path in an argument (`/opt/ml/x` or `--flag=/opt/ml/x`) as the local path."""
    head, sep, value = arg.rpartition("=") if arg.startswith("--") else ("", "", arg)
    if value == OPT_ML or value.startswith(OPT_ML + "/"):
        return f"{head}{sep}{container_path(workdir, value)}"
    return arg


def resolve_entry_point(argv: list[str], program: LocalProgram, workdir: Path) -> list[str]:
    """The image's command on this machine: its programs are in bin_dir (on the image's PATH),
    its Python is program.interpreter(), container paths in arguments point under <workdir>/ml."""
    if not argv:
        raise StagingError("the job has no entry point to run")
    exe, args = argv[0], [map_argument(workdir, a) for a in argv[1:]]
    name = Path(exe).name
    if (program.bin_dir / name).is_file() and ("/" not in exe or not Path(exe).exists()):
        return [str(program.bin_dir / name), *args]
    if name in PYTHON_NAMES:
        return [program.interpreter(), *args]
    found = shutil.which(exe)
    if found is None:
        raise StagingError(f"entry point {exe!r} is neither in {program.bin_dir} nor on PATH")
    return [found, *args]


def image_program(program: LocalProgram, name: str) -> list[str]:
    """`train` or `serve`: the command SageMaker gives the image, found only in bin_dir (a
    same-named program elsewhere on PATH is not the image's)."""
    path = program.bin_dir / name
    if not path.is_file():
        raise StagingError(f"the image has no {name!r} entry point: {path} does not exist")
    return [str(path)]


def job_environment(program: LocalProgram, workdir: Path,
                    *layers: Mapping[str, str]) -> dict[str, str]:
    """This process's environment without inherited contract variables (over the defaults of
    jobs that share this machine's cores, shared_cores.py), the image's settings, then each
    layer in turn (the request's Environment, the job kind's SM_* variables), and last what the
    local program sets for every job."""
    # ML_USE_CASE too: a job runs for the use case its request names, never for ours.
    env = sharing_cores({k: v for k, v in os.environ.items()
                         if k not in (ML_ROOT_ENV, USE_CASE_ENV)
                         and not k.startswith(CONTRACT_PREFIXES)})
    env.update({
        ML_ROOT_ENV: str(workdir / "ml"),
        "PYTHON": program.interpreter(),
        "PATH": f"{program.bin_dir}{os.pathsep}{env.get('PATH', os.defpath)}",
        # Like the image's ENV: log lines reach the log (and the metric regexes) as printed.
        "PYTHONUNBUFFERED": "1",
    })
    for layer in (*layers, program.environment):
        env.update({k: str(v) for k, v in layer.items()})
    return env


def stage_model(model: dict, s3, workdir: Path, ml: Path) -> None:
    """model.tar.gz extracted into /opt/ml/model; an uncompressed model prefix copied there."""
    url = model["ModelDataUrl"]
    objects = require_objects(s3, url)
    if len(objects) == 1 and objects[0][0] == url and url.endswith((".tar.gz", ".tgz")):
        archive = download(s3, url, workdir / "model-archive")[0]
        extract_archive(archive, ml / "model")
    else:
        download(s3, url, ml / "model")


def max_runtime(request: Mapping) -> float:
    stopping = request.get("StoppingCondition") or {}
    return float(stopping.get("MaxRuntimeInSeconds") or DEFAULT_MAX_RUNTIME_S)


# --- S3 ------------------------------------------------------------------------------------------
def list_objects(s3, uri: str) -> list[tuple[str, str]]:
    """(object URI, path relative to `uri`) for every object under the prefix `uri`, in key order.
    A prefix that is one object (e.g. .../model.tar.gz) is relative as its own name."""
    try:
        bucket, prefix = s3_paths.split_s3_uri(uri)
        keys = s3_paths.list_keys(s3, uri)
    except (RunnerError, ClientError, BotoCoreError) as exc:
        raise StagingError(f"cannot list {uri}: {_first_line(exc)}") from None
    found = []
    for key in sorted(keys):
        relative = key[len(prefix):].lstrip("/") if key != prefix else Path(key).name
        if relative and not key.endswith("/"):  # "folder" marker objects hold no data
            found.append((f"s3://{bucket}/{key}", relative))
    return found


def require_objects(s3, uri: str) -> list[tuple[str, str]]:
    """list_objects, failing as SageMaker fails a data source with nothing under it."""
    found = list_objects(s3, uri)
    if not found:
        raise StagingError(f"ClientError: no S3 objects found under S3 URL {uri!r}: check that "
                           "the objects exist under that prefix")
    return found


def download(s3, uri: str, local: Path, *, allow_empty: bool = False,
             share: tuple[int, int] | None = None) -> list[Path]:
    """S3Prefix semantics: every object under the prefix into `local`, relative paths kept. No
    object at all fails (as a data channel does on SageMaker) unless `allow_empty` (checkpoints:
    a first run has none). `share` (host index, hosts): ShardedByS3Key, where SageMaker gives
    each of n instances about 1/n of the objects: here every n-th in key order."""
    objects = list_objects(s3, uri) if allow_empty else require_objects(s3, uri)
    if share is not None:
        objects = shard(sorted(objects), share, uri)
    return fetch(s3, objects, local)


def shard(entries: list, share: tuple[int, int], uri: str) -> list:
    """ShardedByS3Key: host `index` of `count` gets every count-th entry (of a prefix's objects,
    a manifest's keys or an augmented manifest's lines), failing as a host with none would."""
    index, count = share
    mine = entries[index::count]
    if not mine:
        raise StagingError(f"{uri}: ShardedByS3Key over {count} instances leaves instance "
                           f"{index + 1} no object: write at least {count} objects (one "
                           "per instance) or use fewer instances")
    return mine


def fetch(s3, objects: list[tuple[str, str]], local: Path) -> list[Path]:
    """Each (object URI, relative path) downloaded to `local` / its relative path."""
    local.mkdir(parents=True, exist_ok=True)
    files = []
    for source, relative in objects:
        target = local / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        bucket, key = s3_paths.split_s3_uri(source)
        try:
            s3.download_file(bucket, key, str(target))
        except (ClientError, BotoCoreError) as exc:
            raise StagingError(f"cannot download {source}: {_first_line(exc)}") from None
        files.append(target)
    return files


def read_object(s3, uri: str) -> bytes:
    try:
        bucket, key = s3_paths.split_s3_uri(uri)
        return s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    except (RunnerError, ClientError, BotoCoreError) as exc:
        raise StagingError(f"cannot read {uri}: {_first_line(exc)}") from None


def put_object(s3, uri: str, data: bytes) -> str:
    try:
        bucket, key = s3_paths.split_s3_uri(uri)
        s3.put_object(Bucket=bucket, Key=key, Body=data)
    except (RunnerError, ClientError, BotoCoreError) as exc:
        raise StagingError(f"cannot write {uri}: {_first_line(exc)}") from None
    return uri


def upload(s3, local: Path, uri: str) -> list[str]:
    """Every file under `local` to `uri` + its relative path."""
    try:
        return s3_paths.upload_dir(s3, local, uri) if local.is_dir() else []
    except (RunnerError, ClientError, BotoCoreError) as exc:
        raise StagingError(f"cannot upload {local} to {uri}: {_first_line(exc)}") from None


def upload_file(s3, path: Path, uri: str) -> str:
    try:
        bucket, key = s3_paths.split_s3_uri(uri)
        s3.upload_file(str(path), bucket, key)
    except (RunnerError, ClientError, BotoCoreError) as exc:
        raise StagingError(f"cannot upload {path.name} to {uri}: {_first_line(exc)}") from None
    return uri


def join_uri(prefix: str, *parts: str) -> str:
    return "/".join([prefix.rstrip("/"), *(p.strip("/") for p in parts)])


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


# --- model archives ------------------------------------------------------------------------------
def tar_directory(directory: Path, archive: Path) -> Path:
    """model.tar.gz as SageMaker packs /opt/ml/model: its contents at the archive's root."""
    archive.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(archive, "w:gz") as tar:
        for path in sorted(directory.iterdir()) if directory.is_dir() else []:
            tar.add(path, arcname=path.name)
    return archive


def extract_archive(archive: Path, directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    try:
        with tarfile.open(archive, "r:*") as tar:
            # The "data" filter refuses absolute paths, links out of the tree and device files.
            tar.extractall(directory, filter="data")
    except (tarfile.TarError, OSError) as exc:
        raise StagingError(f"cannot extract the model archive {archive.name}: {exc}") from None


# --- failure reasons -----------------------------------------------------------------------------
def read_text(path: Path, limit: int = 1024) -> str | None:
    """A reason file's text (SageMaker keeps its first 1 KB), or None when absent or blank."""
    try:
        text = path.read_bytes()[:limit].decode(errors="replace").strip()
    except OSError:
        return None
    return text or None


def failure_reason(result: RunResult, ml: Path, max_runtime_s: float) -> str | None:
    """None for a job that succeeded; else why it did not, in the words SageMaker would use:
    output/failure (training), output/message (processing), else the last stderr line."""
    if result.timed_out:
        return (f"the job ran longer than StoppingCondition.MaxRuntimeInSeconds "
                f"({max_runtime_s:g} s) and was stopped")
    if result.succeeded:
        return None
    return (read_text(ml / "output" / "failure") or read_text(ml / "output" / "message")
            or result.last_stderr or f"the entry point exited with code {result.exit_code}")
