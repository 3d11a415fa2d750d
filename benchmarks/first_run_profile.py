"""How long the input validator takes to profile a first cross-validation run's data of the
largest size it reads exactly (contract.FIRST_RUN_PROFILE_MAX_BYTES), here on one core: churn's
bundled rows repeated to that size, each copy's `state` cells marked so that no copy repeats
another (the worst case: every row's hash is kept), streamed through data_reads.csv_lines
and profiled by first_run_profile.csv_profile (the csv module), as the Lambda reads it.

    .venv/bin/python -m benchmarks.first_run_profile
"""

from __future__ import annotations

import io
import resource
import time
from pathlib import Path

from config import load_stage_config
from ml_constructs.pipeline_defaults import first_run_profile_spec
from runtime_scripts import contract
from runtime_scripts.pipeline_input import data_reads
from runtime_scripts.pipeline_input.first_run_profile import csv_profile

SAMPLE = Path(__file__).resolve().parents[1] / "runtime_scripts" / "use_cases" / "churn" / \
    "sample_data" / "mlc_churn.csv"


class _OneObject:
    """GetObject of one in-memory object, as the validator's S3 client answers it."""

    def __init__(self, data: bytes) -> None:
        self.data = data

    def get_object(self, *, Bucket, Key):  # noqa: N803 (boto3's names)
        return {"Body": io.BytesIO(self.data)}


def data_of_budget_size() -> bytes:
    header, *rows = SAMPLE.read_text().splitlines()
    state = header.split(",").index("state")  # a feature: a marked row is another row
    lines, size, copy = [header], len(header) + 1, 0
    while True:
        for row in rows:
            cells = row.split(",")
            cells[state] += str(copy)
            marked = ",".join(cells)
            if size + len(marked) + 1 > contract.FIRST_RUN_PROFILE_MAX_BYTES:
                return ("\n".join(lines) + "\n").encode()
            lines.append(marked)
            size += len(marked) + 1
        copy += 1


def main() -> None:
    data = data_of_budget_size()
    spec = first_run_profile_spec(load_stage_config("dev").use_case("churn"))
    best = min(_timed(data, spec) for _ in range(3))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    rows = data.count(b"\n") - 1
    print(f"{len(data) / 2**20:.2f} MiB, {rows} rows, no copy repeating another: "
          f"{best:.3f} s of CPU time (best of 3); peak RSS of the process {peak:.0f} MiB")


def _timed(data: bytes, spec: dict) -> float:
    s3 = _OneObject(data)
    start = time.process_time()
    lines = data_reads.csv_lines(s3, "bucket", "data.csv", data_reads.ReadBudget())
    profile = csv_profile({"data.csv": lines}, spec, None, "s3://bucket/data/")
    elapsed = time.process_time() - start
    print(f"  {profile['rows']} rows profiled in {elapsed:.3f} s")
    return elapsed


if __name__ == "__main__":
    main()
