"""Wall time of the README's main job after set-up: the training pipeline then batch inference,
executed locally end to end (`mlplatform run training batch-inference`), against the issue's
60 s target on a 2-core machine.

Run from the repository root: `python -m benchmarks.local_pipeline [--repeat N]`. Synthesis is
done once up front and not timed (the main job reuses an up-to-date cdk.out the same way).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET_SECONDS = 60.0
RESULTS = ROOT / "benchmarks" / "results" / "local_pipeline.json"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    mlplatform = [sys.executable, "-m", "local_runner.cli"]
    env = {**os.environ, "AWS_REGION": os.environ.get("AWS_REGION", "eu-west-1")}
    subprocess.run([*mlplatform, "summary", "--synth", "always"], cwd=ROOT, env=env, check=True,
                   capture_output=True)
    timings = []
    for attempt in range(args.repeat):
        started = time.perf_counter()
        result = subprocess.run([*mlplatform, "run", "training", "batch-inference",
                                 "--synth", "never", "--results", "/tmp/mlplatform-bench"],
                                cwd=ROOT, env=env, capture_output=True, text=True)
        elapsed = time.perf_counter() - started
        if result.returncode != 0:
            print(result.stdout[-3000:], result.stderr[-3000:], sep="\n")
            return 1
        timings.append(elapsed)
        print(f"run {attempt + 1}: {elapsed:.1f} s")
    median = statistics.median(timings)
    report = {"target_seconds": TARGET_SECONDS, "runs_seconds": [round(t, 2) for t in timings],
              "median_seconds": round(median, 2), "ratio_to_target": round(median /
                                                                           TARGET_SECONDS, 3),
              "cpus": os.cpu_count()}
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2) + "\n")
    verdict = "meets" if median <= TARGET_SECONDS else "misses"
    print(f"median {median:.1f} s = {median / TARGET_SECONDS:.2f} x the {TARGET_SECONDS:.0f} s "
          f"target ({verdict} it) on {os.cpu_count()} CPUs; written to {RESULTS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
