"""Serving benchmark: our inference server against the stock-style gunicorn + Flask baseline.

    python -m benchmarks.serving [--model-dir DIR] [--seconds 5] [--rounds 3] [--out FILE]

Both servers run on loopback with 2 workers each, on the same model directory (built in-process
from the sample data unless --model-dir is given), and first prove they answer identically.
Each case (1-row and 1,000-row CSV bodies, 1 and 8 concurrent connections) is loaded for a
bounded time per server, alternating servers, `--rounds` times. On a shared machine other jobs
would be measured too, so each run waits for idle CPUs and is retried (`--attempts`) when other
processes took more than FOREIGN_CPU_LIMIT cores during it; the best undisturbed round per server
and case is reported ("*" marks a case with no undisturbed round), and every round goes to the
JSON.
Targets (2-core machine): 1 row at 8 connections >= 3x the baseline's req/s with p99 <= 2.5 ms;
1,000-row batches >= 1.25x the baseline's req/s.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

if __package__ in (None, ""):  # run as `python benchmarks/serving.py`
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.loadgen import ForeignCpu, LoadResult, have_wrk, run_load, wait_for_quiet
from benchmarks.processes import BASELINE, OURS, Server, check_same_answers
from benchmarks.sample_model import build_sample_model, read_sample

RESULTS = Path(__file__).resolve().parent / "results" / "serving.json"
CASES = [(1, 1), (1, 8), (1000, 1), (1000, 8)]  # (rows per request, connections)
# A run during which other processes used more than this (in cores) is retried: it measured them.
FOREIGN_CPU_LIMIT = 0.05


def targets_for(rows: int, connections: int) -> dict | None:
    if (rows, connections) == (1, 8):
        return {"min_ratio": 3.0, "max_p99_ms": 2.5}
    if rows == 1000 and connections in (1, 8):
        return {"min_ratio": 1.25}
    return None


def csv_bodies(sizes: set[int]) -> dict[int, bytes]:
    from runtime_scripts.churn.dataset import DatasetSpec

    frame = read_sample()[DatasetSpec.load().feature_names]
    lines = [",".join(row) for row in frame.to_numpy().tolist()]
    return {n: ("\n".join((lines * (n // len(lines) + 1))[:n]) + "\n").encode() for n in sizes}


def measure(server: Server, body: bytes, connections: int, args: argparse.Namespace,
            ) -> tuple[LoadResult, float]:
    """One run, repeated (up to --attempts) while other processes took CPU time during it."""
    for _ in range(args.attempts):
        wait_for_quiet(args.wait_quiet)
        if args.warmup:
            run_load(server.url, body, "text/csv", connections, args.warmup)
        with ForeignCpu() as foreign:
            result = run_load(server.url, body, "text/csv", connections, args.seconds)
        if foreign.cores <= FOREIGN_CPU_LIMIT:
            break
    return result, round(foreign.cores, 3)


def pick(runs: list[dict]) -> dict:
    """The best run among those nobody else disturbed (else among all, marked)."""
    clean = [r for r in runs if r["foreign_cores"] <= FOREIGN_CPU_LIMIT]
    best = max(clean or runs, key=lambda r: r["rps"])
    return best | {"disturbed": not clean}


def evaluate(case: dict) -> None:
    target = case["target"]
    if not target:
        return
    ratio = case["ratio"]
    ok = ratio >= target["min_ratio"]
    if "max_p99_ms" in target:
        ok = ok and case["ours"]["p99_ms"] <= target["max_p99_ms"]
    case["pass"] = ok


def print_table(cases: list[dict]) -> None:
    head = (f"{'case':<22}{'ours req/s':>11}{'p50 ms':>8}{'p99 ms':>8}"
            f"{'base req/s':>12}{'p50 ms':>8}{'p99 ms':>8}{'ratio':>8}  target")
    print(head)
    print("-" * len(head))
    for c in cases:
        ours, base, target = c["ours"], c["baseline"], c["target"]
        goal = ""
        if target:
            goal = f">= {target['min_ratio']}x"
            goal += f", p99 <= {target['max_p99_ms']} ms" if "max_p99_ms" in target else ""
            goal += "  PASS" if c["pass"] else "  FAIL"
        name = f"{c['rows']} row{'s' if c['rows'] > 1 else ''}, {c['connections']} conn"
        name += " *" if ours["disturbed"] or base["disturbed"] else ""
        print(f"{name:<22}{ours['rps']:>11.0f}{ours['p50_ms']:>8.2f}{ours['p99_ms']:>8.2f}"
              f"{base['rps']:>12.0f}{base['p50_ms']:>8.2f}{base['p99_ms']:>8.2f}"
              f"{c['ratio']:>7.2f}x  {goal}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model-dir", type=Path, help="default: train one from the sample data")
    parser.add_argument("--seconds", type=float, default=5.0, help="load time per run")
    parser.add_argument("--warmup", type=float, default=1.0, help="unmeasured load before each")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--cases", default=",".join(f"{r}x{c}" for r, c in CASES),
                        help="ROWSxCONNECTIONS,... (default: %(default)s)")
    parser.add_argument("--nice", type=int, default=0,
                        help="niceness for this run, both servers and wrk alike (e.g. -10 on a "
                             "machine shared with other jobs; negative values need root)")
    parser.add_argument("--wait-quiet", type=float, default=30.0,
                        help="before each run, wait up to this long for other CPU use to settle")
    parser.add_argument("--attempts", type=int, default=4,
                        help=f"tries per run while other processes take > {FOREIGN_CPU_LIMIT} "
                             "cores during it")
    args = parser.parse_args(argv)
    cases_run = [tuple(int(n) for n in case.split("x")) for case in args.cases.split(",")]
    rows_needed = {rows for rows, _ in cases_run}
    if args.nice:
        try:
            os.nice(args.nice)  # inherited by both servers and the load generator
        except PermissionError:
            print(f"cannot set niceness {args.nice} (needs root): running at the default")
            args.nice = 0

    with tempfile.TemporaryDirectory() as tmp:
        model_dir = args.model_dir or build_sample_model(Path(tmp) / "model").model_dir
        bodies = csv_bodies(rows_needed)
        load_before = os.getloadavg()
        with Server.start(OURS, model_dir, args.workers, Path(tmp)) as ours, \
                Server.start(BASELINE, model_dir, args.workers, Path(tmp)) as baseline:
            check_same_answers([ours, baseline], bodies.values())
            runs: dict[tuple[str, int, int], list[dict]] = {}
            for round_ in range(args.rounds):
                for rows, connections in cases_run:
                    for server in (ours, baseline):
                        result, foreign = measure(server, bodies[rows], connections, args)
                        runs.setdefault((server.name, rows, connections), []).append(
                            result.to_dict() | {"round": round_, "foreign_cores": foreign}
                        )
                        print(f"round {round_ + 1}/{args.rounds} {server.name:>8} {rows:>4} rows "
                              f"x{connections}: {result.rps:8.0f} req/s  p99 {result.p99_ms:.2f} "
                              f"ms  errors {result.errors}  (other processes: {foreign:.2f} "
                              "cores)", flush=True)
        load_after = os.getloadavg()

    cases = []
    for rows, connections in cases_run:
        best = {name: pick(runs[(name, rows, connections)]) for name in (OURS, BASELINE)}
        case = {"rows": rows, "connections": connections, "ours": best[OURS],
                "baseline": best[BASELINE], "ratio": best[OURS]["rps"] / best[BASELINE]["rps"],
                "target": targets_for(rows, connections),
                "runs": {name: runs[(name, rows, connections)] for name in (OURS, BASELINE)}}
        evaluate(case)
        cases.append(case)
    print()
    print_table(cases)
    report = {
        "benchmark": "churn serving: ours vs gunicorn+Flask baseline, CSV bodies, loopback",
        "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(),
                    "python": platform.python_version(), "loadavg_before": load_before,
                    "loadavg_after": load_after},
        "settings": {"workers": args.workers, "seconds": args.seconds, "rounds": args.rounds,
                     "nice": args.nice,
                     "load_generator": "wrk" if have_wrk() else "python-asyncio",
                     "model_dir": str(args.model_dir) if args.model_dir else "sample model"},
        "cases": cases,
        "all_targets_met": all(c.get("pass", True) for c in cases),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"\nresults: {args.out}")
    if any(c["ours"]["disturbed"] or c["baseline"]["disturbed"] for c in cases):
        print("* other processes took CPU time during every round of this case: its numbers "
              "measure them too (more --attempts, or a quieter machine)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
