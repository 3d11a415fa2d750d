"""Test support for use cases: run a use case's jobs through the real entry points
(runtime_scripts/bin/*) as its image runs them, in SageMaker's directory layout under a temp
ML_ROOT, and stage one job's outputs as the next job's inputs the way the pipelines map them.

A use case's own tests (`use_cases/<name>/tests/`) use it, as do the shared runtime's tests in
tests/runtime; runtime_scripts imports nothing from tests/, so it lives here.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import tarfile
import time
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from runtime_scripts import contract
from runtime_scripts.common.manifest import USE_CASE_ENV

BIN = Path(__file__).resolve().parent.parent / "bin"
# The interpreter the jobs under test run with (their PYTHON): this one, unless the test session
# names another (the suite names a warm one that starts each job in milliseconds).
JOB_PYTHON_ENV = "ML_JOB_PYTHON"


def job_python() -> str:
    return os.environ.get(JOB_PYTHON_ENV) or sys.executable


def run_entry(entry: str, *args: str, root: Path, use_case: str,
              env: Mapping[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """bin/<entry> for `use_case` with ML_ROOT=root, its output captured; SM_* variables of the
    surrounding shell do not leak into the job under test."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("SM_")}
    full_env.update({"ML_ROOT": str(root), "PYTHON": job_python(), USE_CASE_ENV: use_case})
    full_env.update(env or {})
    return subprocess.run([str(BIN / entry), *args], env=full_env, capture_output=True,
                          text=True, timeout=300, check=False)


def ok(result: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    assert result.returncode == 0, f"exit {result.returncode}\n{result.stdout}\n{result.stderr}"
    return result


def stage_training(root: Path, processed: Path, hps: Mapping[str, str]) -> None:
    """The training job layout: channels are the preprocess outputs of `processed`."""
    ml, src = contract.MlPaths(root), contract.MlPaths(processed)
    ml.input_data.mkdir(parents=True, exist_ok=True)
    channels = (contract.CHANNEL_TRAIN, contract.CHANNEL_VALIDATION, contract.CHANNEL_TRANSFORM)
    for channel in channels:
        ml.channel(channel).symlink_to(src.processing_output(channel), target_is_directory=True)
    ml.hyperparameters.parent.mkdir(parents=True, exist_ok=True)
    ml.hyperparameters.write_text(json.dumps(dict(hps)))


def stage_processing(root: Path, inputs: Mapping[str, Path]) -> contract.MlPaths:
    """A processing job's inputs (channel name -> source file or folder), as symlinks."""
    ml = contract.MlPaths(root)
    for name, source in inputs.items():
        target = ml.processing_input(name)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.symlink_to(source, target_is_directory=source.is_dir())
    return ml


def stage_evaluation(root: Path, model: Path, test: Path) -> None:
    stage_processing(root, {contract.PROCESSING_INPUT_MODEL: model,
                            contract.PROCESSING_INPUT_TEST: test})


@dataclass
class PipelineRun:
    """What `run_training_pipeline` left under `root`, and what its jobs printed."""

    root: Path
    preprocess: subprocess.CompletedProcess[str]
    train: subprocess.CompletedProcess[str]
    evaluate: subprocess.CompletedProcess[str]

    @property
    def ml(self) -> contract.MlPaths:
        return contract.MlPaths(self.root)

    @property
    def summary(self) -> dict:
        """Preprocessing's summary line."""
        return json.loads(self.preprocess.stdout.strip().splitlines()[-1])

    @property
    def evaluation(self) -> dict:
        path = self.ml.processing_output(contract.PROCESSING_OUTPUT_EVALUATION)
        return json.loads((path / contract.EVALUATION_FILE).read_text())


def run_training_pipeline(root: Path, use_case: str, raw: Path, hps: Mapping[str, str],
                          evaluate_args: Sequence[str] = ()) -> PipelineRun:
    """preprocess `raw` -> train with `hps` -> evaluate (with `evaluate_args`), each job on the
    one before's outputs as the training pipeline maps them; a job that fails fails the call."""
    ml = contract.MlPaths(root)
    raw_input = ml.processing_input(contract.PROCESSING_INPUT_RAW)
    raw_input.mkdir(parents=True)
    (raw_input / raw.name).symlink_to(raw)
    preprocess = ok(run_entry("process", "preprocess", root=root, use_case=use_case))
    stage_training(root, root, hps)
    train = ok(run_entry("train", root=root, use_case=use_case))
    # Evaluation gets the archive exactly as a processing job stages an S3 model artefact.
    archive = make_model_archive(ml.model, root / "staged-model")
    stage_evaluation(root, archive, ml.processing_output(contract.PROCESSING_OUTPUT_TEST))
    evaluate = ok(run_entry("process", "evaluate", *evaluate_args, root=root,
                            use_case=use_case))
    return PipelineRun(root, preprocess, train, evaluate)


def make_model_archive(model_dir: Path, into: Path) -> Path:
    """model.tar.gz as SageMaker packs /opt/ml/model, in a directory as processing stages it."""
    into.mkdir(parents=True, exist_ok=True)
    with tarfile.open(into / "model.tar.gz", "w:gz") as tar:
        for path in sorted(model_dir.iterdir()):
            tar.add(path, arcname=path.name)
    return into


class Server:
    """bin/serve for `use_case` on a free loopback port, reading the model under `ml_root`
    (ML_ROOT/model), its log in `log`; `send` posts to it over HTTP."""

    def __init__(self, use_case: str, ml_root: Path, log: Path,
                 env: Mapping[str, str] | None = None) -> None:
        with socket.socket() as probe:  # a port nothing listens on; the server binds it next
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.log = log
        variables = {**os.environ, "PYTHON": job_python(), USE_CASE_ENV: use_case,
                     "ML_ROOT": str(ml_root), **(env or {})}
        with log.open("wb") as out:
            self.process = subprocess.Popen(
                [str(BIN / "serve"), "--host", "127.0.0.1", "--port", str(self.port)],
                env=variables, stdout=out, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while self.process.poll() is None and time.monotonic() < deadline:
            with contextlib.suppress(OSError):
                if self.send("/ping", method="GET")[0] == 200:
                    return
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"bin/serve did not answer /ping:\n{log.read_text()}")

    def send(self, path: str, body: bytes | str | None = None, content_type: str = "text/csv",
             method: str = "POST") -> tuple[int, bytes]:
        """(status, body) of one request; an error status is an answer, not an exception."""
        data = body.encode() if isinstance(body, str) else body
        request = urllib.request.Request(f"http://127.0.0.1:{self.port}{path}", data=data,
                                         method=method, headers={"Content-Type": content_type})
        try:
            with urllib.request.urlopen(request, timeout=30) as reply:
                return reply.status, reply.read()
        except urllib.error.HTTPError as error:
            return error.code, error.read()

    def stop(self) -> int:
        """SIGTERM, as SageMaker stops a container; the exit status."""
        if self.process.poll() is None:
            self.process.terminate()
        return self.process.wait(30)
