"""The AutoML branch of the training pipeline, executed locally end to end (one execution): the
AutoML stand-in's search (a labelled emulation of Autopilot) chooses a candidate, the candidate
serves the test split through a batch transform, the use case's evaluation job scores it, the
gate passes and the candidate's containers are registered. Churn, two candidates."""

from __future__ import annotations

import pytest

from local_runner.stand_ins import EMULATED

STAGE = "serverless"  # dev's variant whose churn trains with AutoML (tests/conftest.py)
AUTOML_PATH = ["Preprocess data", "Start AutoML job", "Wait for AutoML job",
               "Describe AutoML job", "AutoML job finished?", "Candidate kind?",
               "Candidate containers (ensemble classifier)", "Create model",
               "Transform test split with candidate", "Evaluate candidate", "Use candidate model",
               "Read evaluation", "Quality gate", "Register model package", "Notify success",
               "Model registered"]


@pytest.fixture(scope="module")
def automl_run(synthesized, tmp_path_factory):
    from local_runner.local_run import LocalPlatform
    from local_runner.local_seed import Seed

    stage = synthesized[STAGE]
    with LocalPlatform(stage.outdir, workdir=tmp_path_factory.mktemp("automl-run")) as local:
        local.seed(Seed.for_use_cases(stage.config.use_cases))
        yield local, local.run("churn:training", {}, name="automl-run")


def test_the_automl_branch_registers_the_best_candidate(automl_run):
    platform, result = automl_run
    assert result.status == "SUCCEEDED", result.cause
    assert result.path[result.path.index("Preprocess data"):] == AUTOML_PATH
    output = result.output
    # The emulated Autopilot job: the two cheapest families searched, the best one described.
    job = platform.sagemaker.call("describeAutoMLJobV2",
                                  {"AutoMLJobName": output["run"]["job_names"]["automl"]})
    assert job["AutoMLJobStatus"] == "Completed"
    assert job["ExitMessage"].startswith(f"{EMULATED} SageMaker Autopilot cannot run")
    assert [c["Family"] for c in job["LocalCandidates"]] == ["gradient-boosting", "logistic"]
    best = job["BestCandidate"]
    assert best["FinalAutoMLJobObjectiveMetric"]["MetricName"] == "F1"  # Autopilot's default
    # The use case's own evaluation of the candidate's test predictions, its gate passed.
    evaluation = output["evaluation"]["document"]
    assert evaluation["data"]["source"] == "candidate"
    assert evaluation["model"]["candidate"] == best["CandidateName"]
    assert evaluation["metrics"]["auc"] >= 0.85 and evaluation["quality_gate"]["passed"]
    assert evaluation["rows"]["total"] > 500  # the whole test split (15% of 5,000 rows)
    # Registered with the candidate's containers, set to answer every label's probability.
    package = platform.sagemaker.call("describeModelPackage",
                                      {"ModelPackageName": output["registered"]["arn"]})
    (container,) = package["InferenceSpecification"]["Containers"]
    assert container["ModelDataUrl"] == best["InferenceContainers"][0]["ModelDataUrl"]
    assert container["Environment"]["SAGEMAKER_INFERENCE_OUTPUT"] == \
        "predicted_label,probability,probabilities,labels"
    assert package["CustomerMetadataProperties"]["training_job"] == \
        output["run"]["job_names"]["automl"]
