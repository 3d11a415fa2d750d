"""`train`: metric lines, model directory, determinism, checkpoint resume, hyperparameter errors."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from runtime_scripts import contract
from runtime_scripts.common.tabular import hyperparameters
from runtime_scripts.use_cases.churn.manifest import MANIFEST as CHURN
from tests.runtime.conftest import PIPELINE_HPS, Pipeline, ok, run_entry, stage_training

METRIC_LINE = re.compile(rf"^{re.escape(contract.METRIC_LINE_PREFIX)} ", re.MULTILINE)
# Small, fast runs with row and column sampling on, so resume must also reproduce the sampling.
RESUME_HPS = {"num_round": "40", "checkpoint_frequency": "5", "early_stopping_rounds": "8",
              "eta": "0.3", "subsample": "0.7", "colsample_bytree": "0.6", "seed": "11",
              "nthread": "1"}


def train_in(root: Path, processed: Path, hps: dict[str, str]) -> str:
    stage_training(root, processed, hps)
    return ok(run_entry("train", root=root)).stdout


def test_every_training_metric_parses_with_the_contract_regex(pipeline: Pipeline) -> None:
    lines = METRIC_LINE.findall(pipeline.train.stdout)
    summary = json.loads((pipeline.ml.output_data / "training_summary.json").read_text())
    assert len(lines) == summary["rounds_trained"] + 1  # one per round, then the final line
    for name in CHURN.training_metrics:
        values = [float(v) for v in re.findall(contract.metric_regex(name), pipeline.train.stdout)]
        assert len(values) == len(lines), name
        # The last value (what SageMaker reports for the job) is the saved model's.
        assert values[-1] == pytest.approx(summary["metrics"][name], abs=1e-6)
    assert summary["stopped_early"] and summary["selected_round"] < summary["rounds_trained"]


def test_metric_regex_does_not_confuse_names_sharing_a_prefix() -> None:
    line = contract.format_metric_line(
        {"validation:aucpr": 0.25, "validation:auc": 0.75, "train:auc": 0.5}, round=3)
    assert re.findall(contract.metric_regex("validation:auc"), line) == ["0.750000"]
    assert re.findall(contract.metric_regex("validation:aucpr"), line) == ["0.250000"]
    assert re.findall(contract.metric_regex("train:auc"), line) == ["0.500000"]


def test_model_directory_layout(pipeline: Pipeline) -> None:
    import xgboost

    model = pipeline.ml.model
    assert sorted(p.name for p in model.iterdir()) == sorted(
        [contract.MODEL_FILE, contract.TRANSFORM_FILE, contract.FEATURE_SCHEMA_FILE])
    channel = pipeline.ml.processing_output(contract.PROCESSING_OUTPUT_TRANSFORM)
    assert (model / contract.TRANSFORM_FILE).read_bytes() == (
        channel / contract.TRANSFORM_FILE).read_bytes()
    schema = json.loads((model / contract.FEATURE_SCHEMA_FILE).read_text())
    assert schema["decision_threshold"] == 0.5 and schema["target"] == "churn"
    booster = xgboost.Booster(model_file=str(model / contract.MODEL_FILE))
    summary = json.loads((pipeline.ml.output_data / "training_summary.json").read_text())
    assert booster.num_boosted_rounds() == summary["selected_round"]  # cut at the best round
    assert booster.attr("eval_metric") == "validation:logloss"  # the default early stopping
    assert not list(pipeline.ml.checkpoints.glob(".*")), "no temp files left in checkpoints"


def test_same_seed_same_model_and_metrics(pipeline: Pipeline, tmp_path: Path) -> None:
    stdout = train_in(tmp_path, pipeline.root, PIPELINE_HPS)
    assert METRIC_LINE.findall(stdout) and stdout == pipeline.train.stdout
    assert (tmp_path / "model" / contract.MODEL_FILE).read_bytes() == (
        pipeline.ml.model / contract.MODEL_FILE).read_bytes()


@pytest.fixture(scope="module")
def whole_run(pipeline: Pipeline, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """An uninterrupted small run: (its ML_ROOT, its stdout)."""
    root = tmp_path_factory.mktemp("whole")
    return root, train_in(root, pipeline.root, RESUME_HPS)


def test_resume_from_checkpoint_equals_an_uninterrupted_run(
        pipeline: Pipeline, whole_run: tuple[Path, str], tmp_path: Path) -> None:
    whole, full_log = whole_run
    # "Interrupted" after 10 rounds: a run that stops there, then the job restarts on the same
    # checkpoint location with the full round budget, as managed spot training does.
    train_in(tmp_path, pipeline.root, {**RESUME_HPS, "num_round": "10"})
    assert (tmp_path / "checkpoints" / "checkpoint-000010.ubj").is_file()
    (tmp_path / "input" / "config" / "hyperparameters.json").write_text(json.dumps(RESUME_HPS))
    resumed = ok(run_entry("train", root=tmp_path))
    assert "resuming from" in resumed.stderr and "after 10 rounds" in resumed.stderr
    summary = json.loads((tmp_path / "output" / "data" / "training_summary.json").read_text())
    assert summary["resumed_from_round"] == 10 and summary["rounds_trained"] > 10
    model = Path("model") / contract.MODEL_FILE
    assert (tmp_path / model).read_bytes() == (whole / model).read_bytes()
    # The rounds after the resume point log exactly what the uninterrupted run logged.
    after = [line for line in full_log.splitlines()
             if "final=1" in line or int(line.split()[1].removeprefix("round=")) > 10]
    assert resumed.stdout.splitlines() == after


def test_other_seed_gives_another_model(pipeline: Pipeline, whole_run: tuple[Path, str],
                                        tmp_path: Path) -> None:
    train_in(tmp_path, pipeline.root, {**RESUME_HPS, "seed": "12"})
    model = Path("model") / contract.MODEL_FILE
    assert (tmp_path / model).read_bytes() != (whole_run[0] / model).read_bytes()


def test_foreign_checkpoint_is_refused(pipeline: Pipeline, whole_run: tuple[Path, str],
                                       tmp_path: Path) -> None:
    shutil.copytree(whole_run[0] / "checkpoints", tmp_path / "checkpoints")
    stage_training(tmp_path, pipeline.root, {**RESUME_HPS, "max_depth": "3"})
    result = run_entry("train", root=tmp_path)
    assert result.returncode == 1
    assert "other hyperparameters or data" in (tmp_path / "output" / "failure").read_text()


def _trial(root: Path, processed: Path, shared: Path, job: str, hps: dict[str, str]):
    """A tuning job's trial: SageMaker names it, adds the objective hyperparameter, and gives
    it the tuning job's one checkpoint location (`shared`, as synced into its container)."""
    stage_training(root, processed, {**hps, "_tuning_objective_metric": "validation:auc"})
    result = ok(run_entry("train", root=root, env={"TRAINING_JOB_NAME": job,
                                                   "SM_CHECKPOINT_DIR": str(shared)}))
    summary = json.loads((root / "output" / "data" / "training_summary.json").read_text())
    return result, summary


def test_tuning_trials_sharing_a_checkpoint_location_resume_only_their_own(
        pipeline: Pipeline, tmp_path: Path) -> None:
    shared = tmp_path / "checkpoints"
    first, second = "tune-1-001-0a1b2c3d", "tune-1-002-4e5f6a7b"
    # Trial 1 is interrupted after 10 rounds; trial 2 (other hyperparameters) starts afterwards
    # on the same location and must train from scratch, not fail on or resume trial 1's.
    _trial(tmp_path / "a", pipeline.root, shared, first, {**RESUME_HPS, "num_round": "10"})
    _, summary = _trial(tmp_path / "b", pipeline.root, shared, second,
                        {**RESUME_HPS, "max_depth": "3"})
    assert summary["resumed_from_round"] is None and summary["rounds_trained"] > 10
    assert (shared / first / "checkpoint-000010.ubj").is_file()  # trial 1's are untouched
    assert any((shared / second).glob("checkpoint-*.ubj"))
    assert not list(shared.glob("checkpoint-*.ubj"))  # nothing outside a trial's own folder
    # Trial 1 restarted (a spot interruption keeps the job name) resumes its own checkpoint.
    resumed, summary = _trial(tmp_path / "a2", pipeline.root, shared, first, RESUME_HPS)
    assert summary["resumed_from_round"] == 10
    # A checkpoint another trial wrote is never resumed, even inside this trial's folder.
    shutil.copytree(shared / second, shared / "tune-1-003-8c9d0e1f")
    foreign, summary = _trial(tmp_path / "c", pipeline.root, shared, "tune-1-003-8c9d0e1f",
                              {**RESUME_HPS, "max_depth": "3"})
    assert summary["resumed_from_round"] is None
    assert f"written by training job {second}, not this one" in foreign.stderr


def test_a_job_name_that_is_no_sagemaker_name_is_refused(pipeline: Pipeline,
                                                        tmp_path: Path) -> None:
    stage_training(tmp_path, pipeline.root, RESUME_HPS)
    result = run_entry("train", root=tmp_path, env={"TRAINING_JOB_NAME": "../elsewhere"})
    assert result.returncode == 1
    assert "is not a SageMaker job name" in (tmp_path / "output" / "failure").read_text()


@pytest.mark.parametrize(("hps", "expected"), [
    ({"max_dept": "4"}, "unknown hyperparameter 'max_dept' (did you mean 'max_depth'?)"),
    ({"eta": "fast"}, "hyperparameter 'eta' must be a number in (0, 1], got 'fast'"),
    ({"subsample": "1.5"}, "hyperparameter 'subsample' must be a number in (0, 1]"),
    ({"num_round": "10.5"}, "hyperparameter 'num_round' must be an integer"),
    ({"eval_metric": "rmse"}, "hyperparameter 'eval_metric' must be one of"),
])
def test_bad_hyperparameter_fails_naming_it(hps: dict[str, str], expected: str,
                                             pipeline: Pipeline, tmp_path: Path) -> None:
    stage_training(tmp_path, pipeline.root, hps)
    result = run_entry("train", root=tmp_path)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    failure = (tmp_path / "output" / "failure").read_text()
    assert expected in failure and "\n" not in failure
    assert f"ERROR: training failed: {expected}" in result.stderr
    assert not (tmp_path / "model").exists()


def test_script_mode_environment_and_arguments(pipeline: Pipeline, tmp_path: Path) -> None:
    """SM_CHANNEL_*, SM_MODEL_DIR, SM_OUTPUT_DATA_DIR, SM_HPS and --name value are honoured."""
    src = pipeline.ml
    env = {f"SM_CHANNEL_{c.upper()}": str(src.processing_output(c))
           for c in ("train", "validation", "transform")}
    env |= {"SM_MODEL_DIR": str(tmp_path / "sm-model"), "SM_OUTPUT_DATA_DIR": str(tmp_path / "d"),
            "SM_CHECKPOINT_DIR": str(tmp_path / "ckpt"),
            # Script-mode SDKs JSON-quote values and add their own sagemaker_* entries.
            "SM_HPS": json.dumps({"eta": '"0.3"', "sagemaker_program": "train.py"})}
    result = ok(run_entry("train", "--num_round", "3", "--max_depth=3", "--nthread", "1",
                          root=tmp_path, env=env))
    summary = json.loads((tmp_path / "d" / "training_summary.json").read_text())
    assert summary["hyperparameters"] | {"eta": 0.3, "num_round": 3, "max_depth": 3} == summary[
        "hyperparameters"]
    assert (tmp_path / "sm-model" / contract.MODEL_FILE).is_file()
    assert (tmp_path / "ckpt" / "checkpoint-000003.ubj").is_file()
    assert len(METRIC_LINE.findall(result.stdout)) == 4


def test_parser_accepts_sagemaker_strings_and_rejects_junk() -> None:
    parsed = hyperparameters.parse({"num_round": "50", "lambda": '"2.5"', "eval_metric": "logloss",
                                    "_tuning_objective_metric": "validation:auc", "seed": 3})
    assert (parsed.num_round, parsed.lambda_, parsed.eval_metric, parsed.seed) == (
        50, 2.5, "logloss", 3)
    assert parsed.as_dict()["lambda"] == 2.5 and not parsed.maximize
    assert hyperparameters.parse({}) == hyperparameters.Hyperparameters()
    with pytest.raises(hyperparameters.HyperparameterError, match="'max_depth' has an unusable"):
        hyperparameters.parse({"max_depth": True})
    with pytest.raises(hyperparameters.HyperparameterError, match="'seed' has no value"):
        hyperparameters.parse_cli(["--seed"])
