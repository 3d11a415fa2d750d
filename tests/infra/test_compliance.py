"""cdk-nag and cfn-lint over the synthesized app: nothing unacknowledged, no lint findings."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import aws_cdk as cdk
import pytest
from aws_cdk import aws_s3 as s3

from ml_constructs.compliance import acknowledge, nag_packs
from tests.conftest import ALL_STAGES

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("stage", ALL_STAGES)
def test_nag_packs_report_nothing_unacknowledged(synthesized, stage):
    app = synthesized[stage].app
    findings = []
    for pack in nag_packs(app):
        report = pack.validate_scope(app)
        findings += [f"{v.rule_name} on {[r.resource_logical_id for r in v.violating_resources]}"
                     for v in report.violations]
    assert findings == []


def test_nag_packs_do_catch_an_insecure_bucket(tmp_path):
    """Guards against a silently disabled pack: a bare bucket must be reported."""
    app = cdk.App(outdir=str(tmp_path))
    stack = cdk.Stack(app, "Insecure")
    s3.Bucket(stack, "Bare")
    rules = {v.rule_name for pack in nag_packs(app) for v in pack.validate_scope(app).violations}
    assert {"AwsSolutions-S1", "NIST.800.53.R5-S3DefaultEncryptionKMS"} <= rules


def test_acknowledgements_need_a_specific_reason():
    app = cdk.App()
    with pytest.raises(ValueError, match="needs a specific reason"):
        acknowledge(cdk.Stack(app, "S"), "ok", "AwsSolutions-S1")


def test_cfn_lint_finds_nothing(synthesized):
    templates = [str(t) for s in synthesized.values() for t in s.templates]
    assert templates
    cfn_lint = Path(sys.executable).with_name("cfn-lint")
    result = subprocess.run([str(cfn_lint), "--format", "parseable", *templates],
                            cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == ""
