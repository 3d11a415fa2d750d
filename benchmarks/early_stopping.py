"""Early stopping on AUC against early stopping on log loss: trees kept, ranking, the metrics at
the decision threshold, and calibration (Brier score, ECE), on the bundled churn sample.

The real entry points run as the pipeline runs them: `process preprocess` once (the dataset
spec's seeded split), then for each configuration `train` and `process evaluate` (the test split,
scored through the packaged transform). Learning rates: the default (0.1) and the two ends of the
default tuning range (0.01, 0.3), where a tuning trial stopped on AUC once produced a model that
never predicted churn.

Run from the repository root: `python -m benchmarks.early_stopping`. Writes
benchmarks/results/early_stopping.json; takes a few minutes on 2 cores.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from runtime_scripts import contract

ROOT = Path(__file__).resolve().parent.parent
BIN = ROOT / "runtime_scripts" / "bin"
SAMPLE = ROOT / "runtime_scripts" / "use_cases" / "churn" / "sample_data" / "mlc_churn.csv"
RESULTS = ROOT / "benchmarks" / "results" / "early_stopping.json"
# (label, hyperparameters): "before" is the first release's default, "after" this one's.
CONFIGURATIONS = [
    (f"{when}, eta {eta}", {"eta": eta, "eval_metric": metric, "early_stopping_rounds": "20",
                            "num_round": rounds})
    for eta, rounds in (("0.1", "300"), ("0.01", "1000"), ("0.3", "300"))
    for when, metric in (("before: AUC", "auc"), ("after: log loss", "logloss"))
]
SHOWN = ("auc", "recall", "precision", "f1", "log_loss", "brier", "ece")


def run(entry: str, *args: str, root: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SM_")}
    env.update(ML_ROOT=str(root), PYTHON=sys.executable)
    result = subprocess.run([str(BIN / entry), *args], env=env, capture_output=True, text=True,
                            check=False)
    if result.returncode != 0:
        raise SystemExit(f"{entry} failed:\n{result.stderr[-2000:]}")


def link(target: Path, source: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    target.symlink_to(source, target_is_directory=source.is_dir())


def measure(processed: Path, hyperparameters: dict[str, str], work: Path) -> dict:
    ml, src = contract.MlPaths(work), contract.MlPaths(processed)
    for channel in (contract.CHANNEL_TRAIN, contract.CHANNEL_VALIDATION,
                    contract.CHANNEL_TRANSFORM):
        link(ml.channel(channel), src.processing_output(channel))
    ml.hyperparameters.parent.mkdir(parents=True, exist_ok=True)
    ml.hyperparameters.write_text(json.dumps({**hyperparameters, "nthread": "1"}))
    run("train", root=work)
    link(ml.processing_input(contract.PROCESSING_INPUT_MODEL), ml.model)
    link(ml.processing_input(contract.PROCESSING_INPUT_TEST),
         src.processing_output(contract.PROCESSING_OUTPUT_TEST))
    run("process", "evaluate", root=work)
    out = ml.processing_output(contract.PROCESSING_OUTPUT_EVALUATION) / contract.EVALUATION_FILE
    document = json.loads(out.read_text())
    return {"trees": document["model"]["num_boosted_rounds"],
            **{k: round(v, 4) for k, v in document["metrics"].items()},
            "confusion_matrix": document["confusion_matrix"]}


def main() -> int:
    started, load = time.time(), os.getloadavg()[0]
    rows = []
    with tempfile.TemporaryDirectory(prefix="early-stopping-") as scratch:
        processed = Path(scratch) / "processed"
        link(contract.MlPaths(processed).processing_input(contract.PROCESSING_INPUT_RAW) /
             SAMPLE.name, SAMPLE)
        run("process", "preprocess", root=processed)
        for i, (label, hyperparameters) in enumerate(CONFIGURATIONS):
            rows.append({"configuration": label, **measure(processed, hyperparameters,
                                                           Path(scratch) / f"run-{i}")})
            print(json.dumps(rows[-1]), flush=True)
    print(f"\n| configuration | trees | {' | '.join(SHOWN)} |")
    print("|---|---|" + "---|" * len(SHOWN))
    for row in rows:
        print(f"| {row['configuration']} | {row['trees']} | "
              + " | ".join(f"{row[k]:.4f}" for k in SHOWN) + " |")
    report = {"date": time.strftime("%Y-%m-%d", time.gmtime(started)),
              "load_average_1m_at_start": round(load, 2),
              "cpus": os.cpu_count(), "data": SAMPLE.name, "rows": rows,
              "seconds": round(time.time() - started, 1)}
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2) + "\n")
    print(f"written to {RESULTS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
