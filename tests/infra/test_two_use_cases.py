"""Two use cases deployed side by side in one stage (the `two` variant of dev: churn and ames):
no name collides, every name is within its limit,
each use case's state machines carry its tags and its own defaults, images and outputs. The
checks every stage gets (cdk-nag, cfn-lint, ASL, the request and permission contracts) run on
this stage too (ALL_STAGES)."""

from __future__ import annotations

import json
from collections import Counter

import pytest
from aws_cdk.assertions import Template

from local_runner.definitions import render_intrinsic
from ml_constructs import resource_names
from tests.conftest import SECOND_USE_CASE, TWO_USE_CASES

OTHER = SECOND_USE_CASE
PREFIX = "mlplatform-dev"
STACK_ID = "arn:aws:cloudformation:eu-west-1:123456789012:stack/s/1b4e28ba-2fa1-11d2-883f-0016d3cc"
# resource type -> (name property, the service's limit)
NAMED = {
    "AWS::StepFunctions::StateMachine": ("StateMachineName",
                                         resource_names.STATE_MACHINE_NAME_MAX),
    "AWS::SageMaker::ModelPackageGroup": ("ModelPackageGroupName",
                                          resource_names.SAGEMAKER_NAME_MAX),
    "AWS::Glue::Job": ("Name", resource_names.GLUE_JOB_NAME_MAX),
    "AWS::Scheduler::Schedule": ("Name", resource_names.SCHEDULE_NAME_MAX),
    "AWS::Logs::LogGroup": ("LogGroupName", resource_names.LOG_GROUP_NAME_MAX),
    "AWS::Lambda::Function": ("FunctionName", resource_names.LAMBDA_FUNCTION_NAME_MAX),
    "AWS::SNS::Topic": ("TopicName", resource_names.SNS_TOPIC_NAME_MAX),
    "AWS::Glue::SecurityConfiguration": ("Name",
                                         resource_names.GLUE_SECURITY_CONFIGURATION_NAME_MAX),
}


@pytest.fixture(scope="module")
def two(synthesized):
    return synthesized[TWO_USE_CASES]


@pytest.fixture(scope="module")
def template(two) -> Template:
    return Template.from_stack(two.stack("Pipelines"))


@pytest.fixture(scope="module")
def machines(definitions) -> dict[str, dict]:
    return definitions[TWO_USE_CASES]


def _names(two) -> list[tuple[str, str]]:
    """(resource type, rendered name) of every named resource of every template."""
    found = []
    for path in two.templates:
        for resource in json.loads(path.read_text())["Resources"].values():
            prop = NAMED.get(resource["Type"], (None,))[0]
            name = resource.get("Properties", {}).get(prop) if prop else None
            if name is not None:
                found.append((resource["Type"],
                              render_intrinsic(name, {"AWS::StackId": STACK_ID})))
    return found


def test_the_stage_deploys_both_use_cases(two):
    assert [u.name for u in two.config.use_cases] == ["churn", OTHER]


def test_no_name_collides_and_every_name_is_within_its_limit(two):
    names = _names(two)
    repeated = [n for n, count in Counter(names).items() if count > 1]
    assert not repeated, repeated
    for resource_type, name in names:
        assert len(name) <= NAMED[resource_type][1], (resource_type, name)
    machines = {n for t, n in names if t == "AWS::StepFunctions::StateMachine"}
    assert {f"{PREFIX}-churn-training", f"{PREFIX}-churn-batch-inference",
            f"{PREFIX}-{OTHER}-training", f"{PREFIX}-{OTHER}-batch-inference"} <= machines
    groups = {n for t, n in names if t == "AWS::SageMaker::ModelPackageGroup"}
    assert groups == {f"{PREFIX}-churn", f"{PREFIX}-{OTHER}"}


def test_each_state_machine_is_tagged_with_its_use_case_and_pipeline(template):
    tags = {}
    for machine in template.find_resources("AWS::StepFunctions::StateMachine").values():
        found = {t["Key"]: t["Value"] for t in machine["Properties"]["Tags"]}
        tags[machine["Properties"]["StateMachineName"]] = (found["use-case"], found["pipeline"])
    assert tags == {f"{PREFIX}-churn-training": ("churn", "training"),
                    f"{PREFIX}-churn-batch-inference": ("churn", "batch-inference"),
                    f"{PREFIX}-{OTHER}-training": (OTHER, "training"),
                    f"{PREFIX}-{OTHER}-batch-inference": (OTHER, "batch-inference"),
                    # Both manifests allow cross-validation: each use case gets its own.
                    f"{PREFIX}-churn-cross-validation": ("churn", "cross-validation"),
                    f"{PREFIX}-{OTHER}-cross-validation": (OTHER, "cross-validation"),
                    # Only the second's manifest allows backtesting (its sales are dated).
                    f"{PREFIX}-{OTHER}-backtest": (OTHER, "backtest")}


def _first_state(asl: dict) -> dict:
    return asl["States"]["Validate input"]["Parameters"]


def test_each_training_state_machine_has_its_use_cases_defaults(machines):
    churn = _first_state(machines[f"{PREFIX}-churn-training"])
    other = _first_state(machines[f"{PREFIX}-{OTHER}-training"])
    for first, name in ((churn, "churn"), (other, OTHER)):
        assert first["platform"]["use_case"] == name
        assert first["platform"]["resource_prefix"] == PREFIX
        assert first["platform"]["model_package_group"] == f"{PREFIX}-{name}"
        assert first["defaults"]["data"]["raw_s3_uri"].endswith(f"/{name}/")
    assert [(c["metric"], c["comparison"], c["threshold"]) for c in churn["defaults"][
        "quality_gate"]["conditions"]] == [("auc", ">=", 0.85), ("recall", ">=", 0.5)]
    assert [(c["metric"], c["comparison"], c["threshold"]) for c in other["defaults"][
        "quality_gate"]["conditions"]] == [("r2", ">=", 0.8), ("mae", "<=", 20000.0)]
    assert (churn["defaults"]["tuning"]["objective_metric"],
            churn["defaults"]["tuning"]["objective_type"]) == ("validation:auc", "Maximize")
    assert (other["defaults"]["tuning"]["objective_metric"],
            other["defaults"]["tuning"]["objective_type"]) == ("validation:rmse", "Minimize")
    assert other["platform"]["gate_metrics"] == [
        {"name": "rmse", "higher_is_better": False, "minimum": 0.0},
        {"name": "mae", "higher_is_better": False, "minimum": 0.0},
        {"name": "r2", "higher_is_better": True, "maximum": 1.0}]  # CDK drops the nulls
    assert other["platform"]["objective_metrics"] == [
        "train:rmse", "validation:rmse", "validation:mae"]
    assert other["platform"]["gate_requires_one_of"] == []
    assert churn["platform"]["gate_requires_one_of"] == ["precision", "recall", "f1"]
    assert len(churn["platform"]["gate_metrics"]) == 9


def test_each_metric_definition_is_its_use_cases_training_metric(machines):
    for name, expected in (("churn", ["train:logloss", "train:auc", "validation:logloss",
                                      "validation:auc", "validation:aucpr"]),
                           (OTHER, ["train:rmse", "validation:rmse", "validation:mae"])):
        states = machines[f"{PREFIX}-{name}-training"]["States"]
        definitions = states["Validate input"]["Parameters"]["platform"][
            "algorithm_specification"]["MetricDefinitions"]
        assert [d["Name"] for d in definitions] == expected, name


def test_each_use_case_runs_its_own_image_with_its_name(machines):
    images = {}
    for name in ("churn", OTHER):
        states = machines[f"{PREFIX}-{name}-training"]["States"]
        preprocess = states["Preprocess data"]["Parameters"]
        assert preprocess["Environment"]["ML_USE_CASE"] == name
        assert states["Train model"]["Parameters"]["Environment"]["ML_USE_CASE"] == name
        images[name] = preprocess["AppSpecification"]["ImageUri"]
        register = states["Register model package"]["Parameters"]
        assert register["InferenceSpecification"]["Containers"][0]["Image"] == images[name]
        transform = machines[f"{PREFIX}-{name}-batch-inference"]["States"][
            "Run batch transform"]["Parameters"]
        assert transform["Environment"]["ML_USE_CASE"] == name
    assert images["churn"] != images[OTHER]


def test_each_image_is_built_from_its_own_folder_only(two):
    assets = json.loads((two.outdir / "Pipelines.assets.json").read_text())["dockerImages"]
    contexts = {a["source"]["dockerBuildArgs"]["ML_USE_CASE"]:
                (a["source"]["dockerFile"], two.outdir / a["source"]["directory"])
                for a in assets.values()}
    assert set(contexts) == {"churn", OTHER}
    for own, (dockerfile, context) in contexts.items():
        # Tabular use cases share one image definition; the build argument picks the use case.
        assert dockerfile == "common/tabular/Dockerfile"
        assert (context / dockerfile).is_file()
        assert sorted(p.name for p in (context / "use_cases").iterdir()
                      if p.is_dir()) == [own], dockerfile
        assert (context / "common").is_dir() and (context / "contract.py").is_file()


def test_each_glue_job_keeps_to_its_use_cases_prefix_and_table(template):
    jobs = {j["Properties"]["Name"]: j["Properties"]["DefaultArguments"]
            for j in template.find_resources("AWS::Glue::Job").values()}
    assert set(jobs) == {f"{PREFIX}-churn-etl", f"{PREFIX}-{OTHER}-etl"}
    churn, other = jobs[f"{PREFIX}-churn-etl"], jobs[f"{PREFIX}-{OTHER}-etl"]
    assert (churn["--table"], other["--table"]) == ("churn", OTHER.replace("-", "_"))
    assert churn["--database"] == other["--database"]  # the stage's one database
    assert json.dumps(other["--input_path"]).endswith(f'/{OTHER}/"]]}}')
    template.resource_count_is("AWS::Glue::Database", 1)
    template.resource_count_is("AWS::Glue::SecurityConfiguration", 1)


def test_only_the_use_case_with_a_schedule_has_one(template):
    (schedule,) = template.find_resources("AWS::Scheduler::Schedule").values()
    assert schedule["Properties"]["Name"] == f"{PREFIX}-{OTHER}-batch-inference"
    assert schedule["Properties"]["ScheduleExpression"] == "cron(0 4 * * ? *)"


def test_outputs_per_use_case_have_distinct_ids(template):
    outputs = template.to_json()["Outputs"]
    described = sorted(o["Description"] for o in outputs.values() if "Description" in o)
    assert described == sorted([f"{name}: the {what}" for name in ("churn", OTHER) for what in (
        "training state machine", "batch inference state machine", "model registry group",
        "cross-validation state machine")] + [f"{OTHER}: the backtest state machine"])


def test_shared_resources_exist_once(template):
    """One execution role, topic, validator and Glue database for the stage's use cases, and
    one deploy-time provider function for both use cases' algorithm resources."""
    template.resource_count_is("AWS::SNS::Topic", 1)
    template.resource_count_is("AWS::Lambda::Function", 2)
    roles = [r for r in template.find_resources("AWS::IAM::Role").values()
             if "sagemaker.amazonaws.com" in json.dumps(r["Properties"]
                                                        ["AssumeRolePolicyDocument"])]
    assert len(roles) == 1
