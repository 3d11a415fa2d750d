"""How a command line names a use case's pipeline (`<use case>:<pipeline>`, or a bare pipeline
for the selected use cases) and how the runner finds its state machine: by the tags of the
synthesized templates, never by a list of its own."""

from __future__ import annotations

import json
from types import SimpleNamespace

import boto3
import pytest
from moto import mock_aws

from local_runner import cli_inputs
from local_runner.assembly import StackTemplate, read_stacks
from local_runner.aws_client import state_machine_arn
from local_runner.cli_inputs import read_inputs, resolve_runs
from local_runner.definitions import StateMachineDefinition, find, state_machines
from local_runner.errors import RunnerError

TWO = SimpleNamespace(stage="duo", use_cases=[SimpleNamespace(name="churn"),
                                              SimpleNamespace(name="fraud")])


@pytest.fixture(autouse=True)
def fraud_exists(monkeypatch):
    monkeypatch.setattr(cli_inputs, "available_use_cases", lambda: ["churn", "fraud"])


def _tagged(use_case: str, pipeline: str) -> StateMachineDefinition:
    return StateMachineDefinition(f"{use_case}{pipeline}", f"mlplatform-dev-{use_case}-{pipeline}",
                                  "Pipelines", {}, {"project": "mlplatform", "stage": "dev",
                                                    "use-case": use_case, "pipeline": pipeline})


DEFINITIONS = [_tagged(u, p) for u in ("churn", "fraud")
               for p in ("training", "batch-inference", "deployment")]


# --- the command line ----------------------------------------------------------------------------
def test_a_bare_pipeline_of_a_stage_with_several_use_cases_must_say_whose():
    with pytest.raises(RunnerError) as error:
        resolve_runs(["training"], None, TWO)
    assert error.value.problem == ("training: stage 'duo' deploys 2 use cases (churn, fraud): "
                                "which one's training?")
    assert error.value.fix == ("name it (churn:training) or pass --use-case churn "
                               "(or --use-case all)")


def test_use_case_all_runs_each_use_cases_pipelines_in_order():
    assert resolve_runs(["training", "batch-inference"], ["all"], TWO) == [
        "churn:training", "churn:batch-inference", "fraud:training", "fraud:batch-inference"]
    assert resolve_runs(["training"], ["fraud"], TWO) == ["fraud:training"]


def test_runs_are_grouped_by_use_case_in_the_order_named():
    assert resolve_runs(["fraud:training", "churn:training", "fraud:batch-inference"], None,
                        TWO) == ["fraud:training", "fraud:batch-inference", "churn:training"]


def test_a_bare_input_key_is_for_that_pipeline_of_every_use_case_run(tmp_path):
    (tmp_path / "tune.json").write_text(json.dumps({"tuning": {"enabled": True}}))
    (tmp_path / "other.json").write_text("{}")
    runs = ["churn:training", "fraud:training", "fraud:batch-inference"]
    inputs = read_inputs([f"training={tmp_path / 'tune.json'}",
                          f"fraud:batch-inference={tmp_path / 'other.json'}"], runs)
    assert inputs == {"churn:training": {"tuning": {"enabled": True}},
                      "fraud:training": {"tuning": {"enabled": True}},
                      "fraud:batch-inference": {}}
    assert list(read_inputs([str(tmp_path / "other.json")], runs)) == ["churn:training"]


# --- the templates -------------------------------------------------------------------------------
@pytest.mark.parametrize(("address", "message"), [
    ("churn:trainig", "churn:trainig: use case 'churn' has no pipeline 'trainig'; did you mean "
                      "training?"),
    ("chrun:training", "chrun:training: the app deploys no use case 'chrun'; did you mean churn?"),
    ("training", "training: 2 use cases have a training pipeline"),
])
def test_a_wrong_or_ambiguous_name_is_told_what_exists(address, message):
    with pytest.raises(RunnerError, match="^" + message.replace("?", r"\?")):
        find(DEFINITIONS, address)


def test_a_pipeline_is_found_by_its_tags_whatever_its_name():
    renamed = [StateMachineDefinition("X", "anything", "S", {}, d.tags) if d.address ==
               "fraud:deployment" else d for d in DEFINITIONS]
    assert find(renamed, "fraud:deployment").name == "anything"


def _machine(name: str, tags: dict) -> dict:
    return {"Type": "AWS::StepFunctions::StateMachine",
            "Properties": {"StateMachineName": name, "DefinitionString": "{}",
                           "Tags": [{"Key": k, "Value": v} for k, v in tags.items()]}}


STAGE_TAGS = {"project": "mlplatform", "stage": "dev"}


def test_an_untagged_state_machine_is_no_use_cases_pipeline():
    template = {"Resources": {
        "Training": _machine("mlplatform-dev-fraud-training",
                             {**STAGE_TAGS, "use-case": "fraud", "pipeline": "training"}),
        "Deployment": _machine("mlplatform-dev-fraud-deployment", STAGE_TAGS)}}
    definitions = state_machines([StackTemplate("s", "S", template)])
    assert find(definitions, "fraud:training").name == "mlplatform-dev-fraud-training"
    with pytest.raises(RunnerError, match="has no pipeline 'deployment'"):
        find(definitions, "fraud:deployment")


def test_the_tags_are_read_from_the_template():
    template = {"Resources": {"Machine": {
        "Type": "AWS::StepFunctions::StateMachine",
        "Properties": {"StateMachineName": "mlplatform-dev-fraud-training",
                       "DefinitionString": '{"StartAt": "A", "States": {}}',
                       "Tags": [{"Key": "pipeline", "Value": "training"},
                                {"Key": "use-case", "Value": {"Fn::Join": ["", ["fr", "aud"]]}}]
                       }}}}
    [definition] = state_machines([StackTemplate("mlplatform-dev-pipelines", "P", template)])
    assert (definition.use_case, definition.pipeline, definition.address) == \
        ("fraud", "training", "fraud:training")


def test_the_synthesized_stages_have_each_use_cases_pipelines(synthesized):
    for stage in ("dev", "two"):
        _each_pipeline_found(synthesized[stage])


def _each_pipeline_found(stage) -> None:
    definitions = state_machines(read_stacks(stage.outdir))
    for use_case in stage.config.use_cases:
        for pipeline in ("training", "batch-inference", "deployment"):
            found = find(definitions, f"{use_case.name}:{pipeline}")
            assert (found.use_case, found.pipeline) == (use_case.name, pipeline)
            assert found.name == f"mlplatform-dev-{use_case.name}-{pipeline}"


# --- a deployed stage (mlplatform start) ---------------------------------------------------------
@pytest.fixture
def tagging():
    with mock_aws():
        sfn = boto3.client("stepfunctions", region_name="eu-west-1")
        role = "arn:aws:iam::123456789012:role/sfn"
        for stage in ("dev", "prod"):
            for use_case in ("churn", "fraud"):
                sfn.create_state_machine(
                    name=f"mlplatform-{stage}-{use_case}-training", definition="{}",
                    roleArn=role, tags=[{"key": "project", "value": "mlplatform"},
                                        {"key": "stage", "value": stage},
                                        {"key": "use-case", "value": use_case},
                                        {"key": "pipeline", "value": "training"}])
        yield boto3.client("resourcegroupstaggingapi", region_name="eu-west-1")


STAGE = {"project": "mlplatform", "stage": "prod"}


def test_start_finds_the_deployed_state_machine_by_its_tags(tagging):
    arn = state_machine_arn(tagging, stage_tags=STAGE, use_case="fraud", pipeline="training")
    assert arn == ("arn:aws:states:eu-west-1:123456789012:stateMachine:"
                   "mlplatform-prod-fraud-training")


def test_start_names_what_is_deployed_when_nothing_matches(tagging):
    with pytest.raises(RunnerError) as error:
        state_machine_arn(tagging, stage_tags=STAGE, use_case="fraud", pipeline="trainig")
    assert error.value.problem.endswith("did you mean fraud:training?")
    assert error.value.fix == "deployed: churn:training, fraud:training"


def test_mlplatform_start_starts_the_use_cases_deployed_pipeline(tagging, capsys):
    from local_runner import cli

    sfn = boto3.client("stepfunctions", region_name="eu-west-1")
    assert cli.main(["start", "training", "--stage", "dev"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("started arn:aws:states:eu-west-1:123456789012:execution:"
                          "mlplatform-dev-churn-training:cli-churn-training-")
    machines = {m["name"]: m["stateMachineArn"] for m in sfn.list_state_machines()["stateMachines"]}
    [execution] = sfn.list_executions(
        stateMachineArn=machines["mlplatform-dev-churn-training"])["executions"]
    assert execution["name"].startswith("cli-churn-training-")
