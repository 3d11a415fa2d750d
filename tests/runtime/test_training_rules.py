"""Training rules: the curve rules' verdicts on curves that should and should not fire, the rule
job over a training job's output.tar.gz (with what Debugger reported), and the manifest's checks
of a use case's rules."""

from __future__ import annotations

import dataclasses
import io
import json
import tarfile

import pytest

from runtime_scripts import contract
from runtime_scripts.common import training_rules, training_rules_job
from runtime_scripts.common.manifest import ManifestError
from runtime_scripts.common.training_rules import ERROR, ISSUES, NO_ISSUES, CurveRule
from runtime_scripts.use_cases.churn.manifest import MANIFEST as CHURN

LOSS = CurveRule("LossNotDecreasing", loss="train:logloss", num_steps=5)
OVERFIT = CurveRule("Overfit", loss="train:logloss", validation_loss="validation:logloss",
                    patience=3)


def curve(train: list[float], validation: list[float] | None = None) -> list[dict]:
    validation = validation or train
    return [{"step": i + 1, "train:logloss": t, "validation:logloss": v}
            for i, (t, v) in enumerate(zip(train, validation, strict=True))]


FALLING = [0.7 * 0.95 ** i for i in range(30)]


def test_loss_not_decreasing_fires_on_a_flat_stretch_only():
    assert training_rules.loss_not_decreasing(LOSS, curve(FALLING)).RuleEvaluationStatus == \
        NO_ISSUES
    stalled = FALLING[:12] + [FALLING[11]] * 18
    status = training_rules.loss_not_decreasing(LOSS, curve(stalled))
    assert status.RuleEvaluationStatus == ISSUES
    assert "train:logloss" in status.StatusDetails and "0.1% decrease" in status.StatusDetails


def test_overfit_fires_when_validation_climbs_while_training_falls():
    # Validation bottoms out at step 10, then climbs 5% a step while training keeps falling.
    rising = [0.6 - 0.02 * i for i in range(10)] + [0.42 * 1.05 ** i for i in range(1, 21)]
    status = training_rules.overfit(OVERFIT, curve(FALLING, rising))
    assert status.RuleEvaluationStatus == ISSUES
    assert "validation:logloss rose" in status.StatusDetails
    # The same climb with a training loss that climbs too is no overfitting; nor is a
    # validation loss hovering within 10% of its best.
    assert training_rules.overfit(OVERFIT, curve(rising, rising)).RuleEvaluationStatus == \
        NO_ISSUES
    hovering = [0.5 - 0.01 * i for i in range(10)] + [0.41 * (1 + 0.01 * (i % 3))
                                                       for i in range(20)]
    assert training_rules.overfit(OVERFIT, curve(FALLING, hovering)).RuleEvaluationStatus == \
        NO_ISSUES


def test_a_rule_whose_metric_the_curve_lacks_is_an_error():
    [status] = training_rules.evaluate([dataclasses.replace(LOSS, loss="train:auc")],
                                       curve(FALLING))
    assert status.RuleEvaluationStatus == ERROR and "train:auc" in status.StatusDetails


def _output_tar(root, records: list[dict]) -> None:
    folder = root / "processing" / "input" / contract.PROCESSING_INPUT_TRAINING_OUTPUT
    folder.mkdir(parents=True)
    data = "".join(json.dumps(r) + "\n" for r in records).encode()
    with tarfile.open(folder / "output.tar.gz", "w:gz") as tar:
        info = tarfile.TarInfo(training_rules.CURVE_FILE)
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))


def test_the_rule_job_judges_the_curve_with_what_debugger_reported(tmp_path, monkeypatch):
    monkeypatch.setenv("ML_USE_CASE", "churn")
    rising = [0.6 - 0.02 * i for i in range(10)] + [0.42 * 1.05 ** i for i in range(1, 21)]
    _output_tar(tmp_path, curve(FALLING, rising))
    paths = contract.MlPaths(tmp_path)
    profiler = [{"RuleConfigurationName": "ProfilerReport", "RuleEvaluationStatus": "IssuesFound",
                 "StatusDetails": "CPU bottleneck", "source": "SageMaker Debugger"}]
    document = training_rules_job.judge(paths, [], profiler)
    written = json.loads((paths.processing_output(contract.PROCESSING_OUTPUT_TRAINING_RULES)
                          / contract.TRAINING_RULES_FILE).read_text())
    assert written == document
    verdicts = {s["RuleConfigurationName"]: s["RuleEvaluationStatus"]
                for s in document["statuses"]}
    assert verdicts == {"LossNotDecreasing": NO_ISSUES, "Overfit": ISSUES}
    assert document["issues_found"] is True and document["summary"] == "Overfit: IssuesFound"
    assert document["profiler"] == profiler  # listed, deciding nothing
    # Without curve rules (the built-in algorithm), Debugger's statuses decide alone.
    debugger = training_rules_job._statuses(json.dumps([
        {"RuleConfigurationName": "TreeDepth", "RuleEvaluationStatus": "NoIssuesFound"}]), "x")
    alone = training_rules_job.judge(paths, debugger, [], curve_rules=False)
    assert alone["issues_found"] is False and alone["statuses"][0]["source"] == \
        "SageMaker Debugger"


def test_the_rule_job_refuses_curve_rules_without_the_training_output(tmp_path, monkeypatch):
    monkeypatch.setenv("ML_USE_CASE", "churn")
    with pytest.raises(Exception, match="training_output input"):
        training_rules_job.judge(contract.MlPaths(tmp_path), [], [])


def test_the_manifest_refuses_rules_that_cannot_apply():
    scripted = dataclasses.replace(CHURN.image, builtin_training=None, builtin_alternatives=())
    with pytest.raises(ManifestError, match="builtin rules need image.builtin_training"):
        dataclasses.replace(CHURN, image=scripted).validate()
    bad = [dataclasses.replace(CHURN.training_rules, builtin=("DeadRelu",)),
           dataclasses.replace(CHURN.training_rules, curve=(
               dataclasses.replace(OVERFIT, validation_loss="validation:loss"),))]
    for rules, message in zip(bad, ("do not apply to the built-in XGBoost",
                                    "validation:loss: name metrics of its training_metrics"),
                              strict=True):
        with pytest.raises(ManifestError, match=message):
            dataclasses.replace(CHURN, training_rules=rules).validate()


def test_the_local_stand_in_evaluates_the_rules_it_can_and_says_so(tmp_path):
    from local_runner.stand_ins import debugger_rules

    rising = [0.6 - 0.02 * i for i in range(10)] + [0.42 * 1.05 ** i for i in range(1, 21)]
    folder = tmp_path / "algo-1" / "ml" / "output" / "data"
    folder.mkdir(parents=True)
    (folder / training_rules.CURVE_FILE).write_text(
        "".join(json.dumps(r) + "\n" for r in curve(FALLING, rising)))
    request = {"DebugRuleConfigurations": [{"RuleConfigurationName": "Overfit"},
                                           {"RuleConfigurationName": "TreeDepth"}],
               "ProfilerRuleConfigurations": [{"RuleConfigurationName": "ProfilerReport"}]}
    reported = debugger_rules.rule_statuses(request, tmp_path)
    overfit, depth = reported["DebugRuleEvaluationStatuses"]
    assert overfit["RuleEvaluationStatus"] == ISSUES
    assert depth["RuleEvaluationStatus"] == "Stopped"
    assert [s["RuleEvaluationStatus"] for s in reported["ProfilerRuleEvaluationStatuses"]] == \
        ["Stopped"]
    assert all(s["StatusDetails"].startswith("EMULATED:")
               for statuses in reported.values() for s in statuses)
    assert debugger_rules.rule_statuses({}, tmp_path) == {}
