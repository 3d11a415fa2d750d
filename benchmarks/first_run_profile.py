"""How long the input validator takes to profile a first cross-validation run's data of the
largest size it reads (contract.FIRST_RUN_PROFILE_MAX_BYTES), here on one core: churn's bundled
rows repeated to that size, profiled by first_run_profile.csv_profile (the csv module).

    .venv/bin/python -m benchmarks.first_run_profile
"""

from __future__ import annotations

import time
from pathlib import Path

from config import load_stage_config
from ml_constructs.pipeline_defaults import first_run_profile_spec
from runtime_scripts import contract
from runtime_scripts.pipeline_input.first_run_profile import csv_profile

SAMPLE = Path(__file__).resolve().parents[1] / "runtime_scripts" / "use_cases" / "churn" / \
    "sample_data" / "mlc_churn.csv"


def main() -> None:
    header, *rows = SAMPLE.read_text().splitlines()
    body, size = [header], len(header) + 1
    while size < contract.FIRST_RUN_PROFILE_MAX_BYTES:
        for row in rows:
            if size + len(row) + 1 > contract.FIRST_RUN_PROFILE_MAX_BYTES:
                break
            body.append(row)
            size += len(row) + 1
        else:
            continue
        break
    text = "\n".join(body) + "\n"
    spec = first_run_profile_spec(load_stage_config("dev").use_case("churn"))
    best = min(_timed(text, spec) for _ in range(3))
    print(f"{len(text.encode()) / 2**20:.2f} MiB, {len(body) - 1} rows: {best:.3f} s "
          f"of CPU time (best of 3)")


def _timed(text: str, spec: dict) -> float:
    start = time.process_time()
    csv_profile({"data.csv": text}, spec, None, "s3://bucket/data/")
    return time.process_time() - start


if __name__ == "__main__":
    main()
