"""Serving benchmark: our server (uvicorn with our protocol, supervisor and app) against the stock
SageMaker stacks, and against stock uvicorn carrying the same app.

    python -m benchmarks.serving --setup        # once: the baselines venv (needs java, nginx, wrk)
    python -m benchmarks.serving [--rounds 3] [--seconds 5] [--servers ...] [--soak 60]

Servers (`processes.SERVERS`), 2 workers each, same booster, loopback, closed-loop load from `wrk`:
ours; stock uvicorn with our app on top (`candidates.py`: what our protocol and supervisor
cost); the stock stacks MMS + sagemaker-inference and nginx + gunicorn/gevent + Flask
(`stock_stacks.py`); and the pandas server (`baseline_server.py`). Every server first proves it
scores the benchmark bodies exactly as ours does. Each case (1 and 1,000 rows per request, 1 and
8 connections) runs once per server per round, the servers' order alternating between rounds;
the table shows the median of the rounds. Each run records the machine's load average, the CPU
time other processes took during it, and the server's own CPU time per request, which a busy
machine disturbs far less than req/s. Then a soak (`--soak` s at 64 connections, ours) reports
errors and every process's memory before and after.

Targets: single rows >= 3x the best stock stack's req/s at 1 and 8 connections; 1,000-row
batches >= 1.0x (ours still runs the raw-to-features transform, the stock stacks do not).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

if __package__ in (None, ""):  # run as `python benchmarks/serving.py`
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.loadgen import ForeignCpu, run_load, wait_for_quiet
from benchmarks.processes import (
    BASELINES_VENV,
    FEATURES,
    REPO_ROOT,
    SERVERS,
    Server,
    baselines_missing,
    check_same_answers,
    probabilities,
)
from benchmarks.report import markdown_table, print_table, summarise
from benchmarks.sample_model import build_sample_model, read_sample

RESULTS = Path(__file__).resolve().parent / "results" / "serving.json"
CASES = [(1, 1), (1, 8), (1000, 1), (1000, 8)]  # (rows per request, connections)
SOAK_CONNECTIONS = 64


def bodies(model_dir: Path, sizes: set[int]) -> dict[tuple[str, int], bytes]:
    """Raw CSV rows (what our server takes) and the same rows as prepared features."""
    import pandas as pd

    from runtime_scripts.common.serving.model import ModelArtifacts

    artifacts = ModelArtifacts.load(model_dir)
    frame = read_sample()[artifacts.schema.input_columns]
    out = {}
    for n in sizes:
        rows = pd.concat([frame] * (n // len(frame) + 1), ignore_index=True).iloc[:n]
        out[("raw", n)] = ("\n".join(",".join(r) for r in rows.to_numpy().tolist()) + "\n").encode()
        features = artifacts.transform.transform_frame(rows)
        lines = [",".join(f"{v:.9g}" for v in row) for row in features.tolist()]
        out[("features", n)] = ("\n".join(lines) + "\n").encode()
    return out


def body_for(server: Server, all_bodies: dict, rows: int) -> bytes:
    return all_bodies[("features" if server.spec.body == FEATURES else "raw", rows)]


def measure(server: Server, body: bytes, connections: int, args: argparse.Namespace) -> dict:
    wait_for_quiet(args.wait_quiet)
    if args.warmup:
        run_load(server.url, body, "text/csv", connections, args.warmup)
    cpu_before = server.cpu_seconds()
    with ForeignCpu() as foreign:
        result = run_load(server.url, body, "text/csv", connections, args.seconds)
    cpu = server.cpu_seconds() - cpu_before
    return result.to_dict() | {
        "server_cpu_us_per_request": round(1e6 * cpu / max(1, result.requests), 1),
        "foreign_cores": round(foreign.cores, 3),
        "loadavg_1m": round(os.getloadavg()[0], 2),
    }


def soak(server: Server, body: bytes, seconds: float) -> dict:
    def memory() -> list[dict]:
        return [{"pid": pid, "process": name, "rss_mb": round(rss / 2**20, 1)}
                for pid, name, rss in server.processes()]

    run_load(server.url, body, "text/csv", SOAK_CONNECTIONS, 10)  # warm-up
    before = memory()
    result = run_load(server.url, body, "text/csv", SOAK_CONNECTIONS, seconds)
    after = memory()
    print(f"soak {server.name}: {seconds:.0f} s x {SOAK_CONNECTIONS} connections, "
          f"{result.requests} requests, {result.errors} errors, p99 {result.p99_ms:.2f} ms")
    for b in before:
        a = next((x for x in after if x["pid"] == b["pid"]), None)
        print(f"  pid {b['pid']:>7} {b['process']:<16} {b['rss_mb']:>7.1f} MB -> "
              f"{a['rss_mb'] if a else 'gone':>7} MB")
    return {"server": server.name, "connections": SOAK_CONNECTIONS, "seconds": seconds,
            "result": result.to_dict(), "memory_before": before, "memory_after": after}


def setup() -> int:
    venv = BASELINES_VENV
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run([str(venv / "bin" / "pip"), "install", "-q", "-r",
                    str(REPO_ROOT / "benchmarks" / "requirements-baselines.txt")], check=True)
    print(f"baselines venv ready: {venv}")
    for problem in baselines_missing():
        print(f"still missing: {problem}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--setup", action="store_true", help="create the baselines venv and exit")
    parser.add_argument("--model-dir", type=Path, help="default: train one from the sample data")
    parser.add_argument("--seconds", type=float, default=5.0, help="load time per run")
    parser.add_argument("--warmup", type=float, default=1.0, help="unmeasured load before each")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--servers", default=",".join(SERVERS),
                        help="comma-separated (default: %(default)s)")
    parser.add_argument("--cases", default=",".join(f"{r}x{c}" for r, c in CASES),
                        help="ROWSxCONNECTIONS,... (default: %(default)s)")
    parser.add_argument("--soak", type=float, default=60.0, help="soak seconds (0: none)")
    parser.add_argument("--wait-quiet", type=float, default=5.0,
                        help="before each run, wait up to this long for other CPU use to settle")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    if args.setup:
        return setup()
    missing = baselines_missing()
    if missing:
        print("the benchmark needs:\n" + "\n".join(f"  - {m}" for m in missing))
        return 2
    names = args.servers.split(",")
    unknown = sorted(set(names) - set(SERVERS))
    if unknown:
        print(f"unknown servers {unknown}; known: {', '.join(SERVERS)}")
        return 2
    cases = [tuple(int(n) for n in case.split("x")) for case in args.cases.split(",")]
    started = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    load_before = os.getloadavg()
    runs: dict[str, list[dict]] = {}
    soaks = []
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        tmp.chmod(0o755)  # nginx's workers (www-data) must reach gunicorn's socket in it
        model_dir = args.model_dir or build_sample_model(tmp / "model").model_dir
        all_bodies = bodies(model_dir, {rows for rows, _ in cases})
        for round_ in range(args.rounds):
            order = names if round_ % 2 == 0 else names[::-1]
            for name in order:
                spec = SERVERS[name]
                one = all_bodies[("features" if spec.body == FEATURES else "raw", 1)]
                with Server.start(spec, model_dir, args.workers, tmp, one) as server:
                    if round_ == 0:
                        for rows, _ in cases:
                            reference = reference_scores(model_dir, all_bodies[("raw", rows)])
                            check_same_answers(server, body_for(server, all_bodies, rows),
                                               reference)
                    for rows, connections in cases:
                        run = measure(server, body_for(server, all_bodies, rows), connections,
                                      args)
                        run |= {"server": name, "rows": rows, "connections": connections,
                                "round": round_}
                        runs.setdefault(name, []).append(run)
                        print(f"round {round_ + 1}/{args.rounds} {name:>16} {rows:>4} rows "
                              f"x{connections}: {run['rps']:8.0f} req/s  p99 {run['p99_ms']:6.2f}"
                              f" ms  cpu {run['server_cpu_us_per_request']:7.0f} us/req  "
                              f"errors {run['errors']}  load {run['loadavg_1m']:.1f}  others "
                              f"{run['foreign_cores']:.2f} cores", flush=True)
        if args.soak and "ours" in names:
            one = all_bodies[("raw", 1)]
            with Server.start(SERVERS["ours"], model_dir, args.workers, tmp, one) as server:
                soaks.append(soak(server, one, args.soak))
    table = summarise(runs, cases)
    print()
    print_table(table)
    report = {
        "benchmark": "churn serving: ours vs stock SageMaker stacks and stock uvicorn with our app",
        "when": started,
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(),
                    "python": platform.python_version(), "loadavg_before": load_before,
                    "loadavg_after": os.getloadavg()},
        "settings": {"workers": args.workers, "seconds": args.seconds, "rounds": args.rounds,
                     "warmup": args.warmup, "load_generator": "wrk",
                     "model_dir": str(args.model_dir) if args.model_dir else "sample model"},
        "servers": {name: {"kind": SERVERS[name].kind, "request": SERVERS[name].what}
                    for name in names},
        "summary": table,
        "soak": soaks,
        "runs": runs,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"\nresults: {args.out}\n\n{markdown_table(table)}")
    return 0


def reference_scores(model_dir: Path, raw_body: bytes):
    """What every server must answer: our transform and the booster, in-process."""
    import numpy as np

    from runtime_scripts.common.serving.app import InferenceApp, Request, Scorer
    from runtime_scripts.common.serving.config import ServerConfig
    from runtime_scripts.common.serving.model import ModelArtifacts

    app = InferenceApp(ServerConfig.resolve(["--model-dir", str(model_dir)], {}),
                       Scorer(ModelArtifacts.load(model_dir)))
    response = app.handle_batch([Request("POST", b"/invocations", "text/csv", None, raw_body)])[0]
    assert response.status == 200, response.body[:200]
    return np.asarray(probabilities(response.body))


if __name__ == "__main__":
    sys.exit(main())
