"""Glue job runs, locally: the job's own script under plain pyspark, on data staged from the
emulated S3 and written back to it (the script runs without `awsglue`; see its docstring)."""

from __future__ import annotations

import itertools
import subprocess
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from local_runner.emulated_account import GlueJob
from local_runner.executors.staging import StagingError, download, upload
from local_runner.s3_paths import split_s3_uri

# Arguments that name S3 locations: staged in (input) or written back (outputs).
INPUT_ARGUMENTS = ("--input_path", "--schema_path")
OUTPUT_ARGUMENTS = ("--output_path", "--rejects_path")
GLUE_ONLY_ARGUMENTS = ("--enable-glue-datacatalog", "--job-bookmark-option", "--TempDir",
                       "--enable-continuous-cloudwatch-log", "--enable-metrics",
                       "--enable-observability-metrics", "--job-language")


@dataclass
class LocalGlue:
    jobs: dict[str, GlueJob]
    s3: object
    workdir: Path
    timeout_seconds: int = 1800

    def __post_init__(self) -> None:
        self._counter = itertools.count(1)
        self.runs: list[dict] = []

    def __call__(self, job_name: str, request: dict) -> dict:
        job = self.jobs.get(job_name)
        started = datetime.now(UTC).isoformat()
        run_id = f"jr_local_{next(self._counter):04d}"
        if job is None:
            return self._record(job_name, run_id, started, "FAILED",
                                f"Job {job_name} does not exist in this emulated account")
        arguments = {**job.default_arguments, **request.get("Arguments", {})}
        workdir = self.workdir / "glue" / run_id
        outputs: dict[str, tuple[Path, str]] = {}
        argv = [sys.executable, str(job.script), "--JOB_NAME", job_name]
        for key, value in arguments.items():
            if key in GLUE_ONLY_ARGUMENTS or value is None:
                continue
            if key in INPUT_ARGUMENTS and value.startswith("s3://"):
                local = workdir / "in" / key.strip("-")
                try:
                    download(self.s3, value, local)
                except StagingError as error:
                    return self._record(job_name, run_id, started, "FAILED", str(error))
                value = str(local / Path(split_s3_uri(value)[1]).name) \
                    if local.is_file() else str(local)
            elif key in OUTPUT_ARGUMENTS and value.startswith("s3://"):
                local = workdir / "out" / key.strip("-")
                outputs[key] = (local, value)
                value = str(local)
            argv += [key, value]
        if "--output_path" in outputs and "--rejects_path" not in outputs:
            # The script's default (<output_path>_rejects) must land in S3 too.
            local, remote = outputs["--output_path"]
            rejects = (workdir / "out" / "rejects", remote.rstrip("/") + "_rejects/")
            outputs["--rejects_path"] = rejects
            argv += ["--rejects_path", str(rejects[0])]
        result = subprocess.run(argv, capture_output=True, text=True,
                                timeout=self.timeout_seconds)
        if result.returncode != 0:
            lines = (result.stderr or result.stdout).strip().splitlines()
            return self._record(job_name, run_id, started, "FAILED",
                                lines[-1] if lines else f"exit code {result.returncode}")
        for local, remote in outputs.values():
            if local.exists():
                upload(self.s3, local, remote)
        return self._record(job_name, run_id, started, "SUCCEEDED", None)

    def _record(self, job_name: str, run_id: str, started: str, state: str,
                error: str | None) -> dict:
        run = {"Id": run_id, "JobName": job_name, "JobRunState": state, "StartedOn": started,
               "CompletedOn": datetime.now(UTC).isoformat()}
        if error:
            run["ErrorMessage"] = error
        self.runs.append(run)
        return run
