"""The smoke test's script, run under bash against a fake `aws`, its execution input run
through the training pipeline's own input validation, and one target per use case of a stage,
each with its manifest's sample file."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from config import load_stage_config
from ml_constructs.smoke_test import EXECUTION_INPUT, SCRIPT, UPLOAD_PREFIX, smoke_targets
from runtime_scripts.pipeline_input import resolve
from tests.pipeline_input.events import event

ROOT = Path(__file__).resolve().parents[2]
STATE_MACHINE = "mlplatform-dev-churn-training"
EXECUTION_ARN = f"arn:aws:states:eu-west-1:123456789012:execution:{STATE_MACHINE}:smoke-7"
SAMPLE_FILE = "runtime_scripts/use_cases/churn/sample_data/mlc_churn.csv"

# Answers like the AWS CLI with --output text; the status turns final on the second poll.
FAKE_AWS = r"""#!/usr/bin/env bash
printf '%s\n' "$*" >> "$CALLS"
case "$1 $2" in
  "sts assume-role") echo "AKIAFAKE secret token" ;;
  "s3 cp") [ -f "$3" ] || { echo "no such file $3" >&2; exit 1; } ;;
  "stepfunctions start-execution")
    while [ $# -gt 0 ]; do
      [ "$1" = --input ] && printf '%s' "$2" > "$INPUT"
      [ "$1" = --state-machine-arn ] && printf '%s' "$2" > "$STARTED"
      shift
    done
    echo "$EXECUTION_ARN" ;;
  "stepfunctions describe-execution")
    case "$*" in *"[error, cause]"*) echo "States.TaskFailed preprocessing failed"; exit 0 ;; esac
    polls=$(( $(cat "$POLLS" 2>/dev/null || echo 0) + 1 )); echo "$polls" > "$POLLS"
    if [ "$polls" -lt 2 ]; then echo RUNNING; else echo "$FINAL_STATUS"; fi ;;
  "stepfunctions stop-execution") ;;
  *) echo "unexpected: $*" >&2; exit 2 ;;
esac
"""


def _run(tmp_path: Path, final_status: str, timeout_seconds: int = 600):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "aws").write_text(FAKE_AWS)
    (bin_dir / "aws").chmod(0o755)
    env = {
        "PATH": f"{bin_dir}:{os.environ['PATH']}", "CALLS": str(tmp_path / "calls"),
        "INPUT": str(tmp_path / "input.json"), "POLLS": str(tmp_path / "polls"),
        "STARTED": str(tmp_path / "started"), "AWS_REGION": "eu-west-1", "USE_CASE": "churn",
        "FINAL_STATUS": final_status, "EXECUTION_ARN": EXECUTION_ARN,
        "CODEBUILD_BUILD_NUMBER": "7",
        "SMOKE_TEST_ROLE_ARN": "arn:aws-cn:iam::123456789012:role/mlplatform-dev-smoke-test-access",
        "RAW_BUCKET": "mlplatform-dev-raw-123456789012-eu-west-1",
        "STATE_MACHINE_NAME": STATE_MACHINE,
        "SAMPLE_FILE": SAMPLE_FILE, "UPLOAD_PREFIX": UPLOAD_PREFIX, "POLL_SECONDS": "0",
        "SMOKE_TEST_TIMEOUT_SECONDS": str(timeout_seconds),
        "EXECUTION_INPUT": json.dumps(EXECUTION_INPUT),
    }
    result = subprocess.run(["bash", "-c", SCRIPT], cwd=ROOT, env=env, capture_output=True,
                            text=True, timeout=60)
    return result, (tmp_path / "calls").read_text().splitlines()


def test_uploads_the_sample_starts_training_and_passes_on_success(tmp_path):
    result, calls = _run(tmp_path, "SUCCEEDED")
    assert result.returncode == 0, result.stderr
    assert calls[0].startswith("sts assume-role --role-arn arn:aws-cn:iam::123456789012:role/")
    (upload,) = [c for c in calls if c.startswith("s3 cp")]
    assert upload.startswith(f"s3 cp {SAMPLE_FILE} s3://mlplatform-dev-raw-123456789012-eu-west-1"
                             f"/{UPLOAD_PREFIX}/smoke-churn-7-")
    # The stage's own account and partition, from the role it assumed there.
    assert (tmp_path / "started").read_text() == \
        f"arn:aws-cn:states:eu-west-1:123456789012:stateMachine:{STATE_MACHINE}"
    sent = json.loads((tmp_path / "input.json").read_text())
    assert sent["data"]["raw_s3_uri"] == upload.split()[3].rsplit("/", 1)[0] + "/"
    assert sent["registry"]["description"].startswith("CI smoke test smoke-churn-7-")
    assert sum(c.startswith("stepfunctions describe-execution") for c in calls) == 2
    assert "smoke test passed" in result.stdout


@pytest.mark.parametrize("status", ["FAILED", "TIMED_OUT", "ABORTED"])
def test_fails_the_promotion_when_the_execution_does_not_succeed(tmp_path, status):
    result, calls = _run(tmp_path, status)
    assert result.returncode == 1
    assert f"is {status}" in result.stderr and "preprocessing failed" in result.stderr


def test_stops_the_execution_and_fails_when_out_of_time(tmp_path):
    result, calls = _run(tmp_path, "RUNNING", timeout_seconds=0)
    assert result.returncode == 1
    assert calls[-1].startswith(f"stepfunctions stop-execution --execution-arn {EXECUTION_ARN}")
    assert "timed out" in result.stderr


def test_the_execution_input_passes_the_training_pipelines_validation():
    filled = json.loads(json.dumps(EXECUTION_INPUT)
                        .replace("__DATA__", "s3://mlplatform-dev-raw-123456789012/smoke-tests/r/")
                        .replace("__RUN__", "smoke-7-1700000000"))
    out = resolve(event("training", filled, execution_name="smoke-7-1700000000"))
    assert out["tuning"]["enabled"] is False
    assert out["registry"]["approval_status"] == "PendingManualApproval"
    assert out["run"]["s3"]["preprocessing_input"] == filled["data"]["raw_s3_uri"]


def test_every_use_case_of_a_stage_is_smoke_tested_on_its_own_sample():
    from tests.conftest import SECOND_USE_CASE, two_use_case_config

    (churn,) = smoke_targets(load_stage_config("dev"))
    assert (churn.use_case, churn.state_machine_name, churn.sample_file) == (
        "churn", STATE_MACHINE, SAMPLE_FILE)
    assert (ROOT / churn.sample_file).is_file()
    targets = smoke_targets(two_use_case_config())
    assert [t.use_case for t in targets] == ["churn", SECOND_USE_CASE]
    assert targets[1].state_machine_name == f"mlplatform-dev-{SECOND_USE_CASE}-training"
    assert targets[1].sample_file == (f"runtime_scripts/use_cases/{SECOND_USE_CASE}/"
                                      "sample_data/ames.csv")  # its manifest's sample_data
    assert (ROOT / targets[1].sample_file).is_file()
