"""`mlplatform run` as a user sees it: one real run of the training pipeline with tuning on, in
a process of its own, on the session's dev assembly."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TUNING = {"tuning": {"enabled": True, "max_jobs": 2, "max_parallel_jobs": 1,
                     "static_hyperparameters": {"num_round": "60"}}}


@pytest.fixture(scope="module")
def run(synthesized, tmp_path_factory):
    work = tmp_path_factory.mktemp("cli-run")
    (work / "tune.json").write_text(json.dumps(TUNING))
    results = work / "local_out"
    done = subprocess.run(
        [sys.executable, "-m", "local_runner.cli", "run", "churn:training", "--input",
         str(work / "tune.json"), "--outdir", str(synthesized["dev"].outdir), "--synth", "never",
         "--results", str(results), "--max-trials", "2"],
        cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    return done.stdout, results


def test_a_succeeded_run_shows_no_failure_and_no_list_of_state_names(run):
    out, _ = run
    assert "✗" not in out
    assert "→" not in out
    assert re.search(r"SUCCEEDED in [\d.]+ s \(\d+ states\)\n", out)
    assert "(0 files" not in out


def test_a_long_tuning_state_shows_its_trials_and_best_objective_while_it_runs(run):
    out, _ = run
    assert re.search(r"… Tune hyperparameters running for [\d.]+ s: 1/2 trials, best "
                     r"validation:auc 0\.\d{4}\n", out)


def test_the_run_prints_the_trial_table_and_its_summary_holds_it(run):
    out, results = run
    title = re.search(r"tuning job (\S+): 2 trials, maximize validation:auc \(★ best\)", out)
    assert title
    rows = [line for line in out.splitlines() if re.match(r"\s+(★\s+)?[12]\s+\d", line)]
    assert len(rows) == 2 and sum("★" in row for row in rows) == 1
    summary = (results / "latest" / "churn-training" / "summary.md").read_text()
    assert title.group(0) in summary and rows[0].strip() in summary


def test_results_have_short_paths_and_the_run_ends_with_the_report(run):
    out, results = run
    last = out.strip().splitlines()[-1]
    assert last.startswith("Open the evaluation report: ")
    report = Path(last.removeprefix("Open the evaluation report: "))
    assert report.is_file() and report.name == "report.html"
    execution = (results / "latest" / "churn-training").resolve()
    assert report.resolve() == execution / "evaluation" / "report.html"
    assert execution.parent == results.resolve()
    assert not any("mlplatform-dev-" in part and "-eu-west-1" in part
                   for path in results.rglob("*") for part in path.parts)  # no bucket level


def test_the_run_uploads_only_what_its_pipelines_read_below_the_use_cases_prefix(run):
    out, _ = run
    seeded = re.findall(r"^  seeded s3://[^/]+/(\S+)$", out, re.MULTILINE)
    assert seeded == ["churn/mlc_churn_train.csv"]  # training reads no batch file
    assert re.search(r"^▶ churn:training: execution local-churn-training-\d{8}-\d{6}$", out,
                     re.MULTILINE)
