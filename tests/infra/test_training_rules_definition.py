"""The training rules and distributed training in the synthesized training state machines:
Debugger's members of the built-in variant's training job, the rule job of script mode, the
sharded train channel; and the branch states run on the local engine (the poll on Debugger's
statuses, the verdict's choice between warning and failing)."""

from __future__ import annotations

import json

import boto3
import pytest
from moto import mock_aws
from sagemaker.core import image_uris

from runtime_scripts import contract
from tests.infra.test_pipelines_stack import BUILTIN_TRAINING, TRAINING
from tests.local_runner.asl_runner import execution_runner


@pytest.fixture(scope="module")
def script(definitions) -> dict:
    return definitions["dev"][TRAINING]["States"]


@pytest.fixture(scope="module")
def builtin(definitions) -> dict:
    return definitions["builtin"][BUILTIN_TRAINING]["States"]


def test_the_builtin_training_job_carries_debuggers_rules_and_profiler_report(builtin,
                                                                              synthesized):
    image = image_uris.retrieve("debugger", synthesized["builtin"].config.region)
    train = builtin["Train model"]["Parameters"]
    assert train["DebugHookConfig"] == {"S3OutputPath.$": "$.run.s3.debug_output"}
    assert train["DebugRuleConfigurations"] == [
        {"RuleConfigurationName": name, "RuleEvaluatorImage": image,
         "RuleParameters": {"rule_to_invoke": name}} for name in ("Overfit", "TreeDepth")]
    assert train["ProfilerRuleConfigurations"] == [
        {"RuleConfigurationName": "ProfilerReport", "RuleEvaluatorImage": image,
         "RuleParameters": {"rule_to_invoke": "ProfilerReport"}}]
    # Tuning jobs take no Debugger rules (HyperParameterTrainingJobDefinition has none).
    tune = builtin["Tune hyperparameters"]["Parameters"]["TrainingJobDefinition"]
    assert not {"DebugHookConfig", "DebugRuleConfigurations"} & set(tune)
    # The built-in algorithm writes no curve: the rule job takes Debugger's statuses only.
    check = builtin["Check training rules"]["Parameters"]
    assert check["ProcessingInputs"] == []
    assert "'--no-curve'" in builtin["Training rule arguments"]["Parameters"]["arguments.$"]
    assert builtin["Train model"]["Next"] == "Describe training rules"


def test_script_mode_judges_the_curve_in_the_rule_job_without_debugger(script):
    train = script["Train model"]["Parameters"]
    assert not {"DebugHookConfig", "DebugRuleConfigurations", "ProfilerRuleConfigurations"} \
        & set(train)  # dev leaves training.debugger off
    assert script["Train model"]["Next"] == "No Debugger rule statuses"
    check = script["Check training rules"]["Parameters"]
    assert check["AppSpecification"]["ContainerEntrypoint"] == ["process", "training-rules"]
    [output] = check["ProcessingInputs"]
    assert output["InputName"] == contract.PROCESSING_INPUT_TRAINING_OUTPUT
    assert output["S3Input"]["S3Uri.$"] == ("States.Format('{}{}/output/output.tar.gz', "
                                            "$.run.s3.model_output, $.model.training_job_name)")
    evaluation = script["Evaluate model"]["Parameters"]["ProcessingInputs"]
    assert contract.PROCESSING_INPUT_TRAINING_RULES in [i["InputName"] for i in evaluation]
    message = script["Notify success"]["Parameters"]["Message"]
    assert message["training_rules.$"] == "$.training_rules.verdict.document.summary"
    # The best trial of a tuning job is judged too.
    assert script["Describe best training job"]["Next"] == "No Debugger rule statuses"


def test_the_tabular_train_channel_is_sharded_over_one_shard_per_instance(script, builtin):
    """One mechanism: the distribution is the channel's option (the first state derives the
    request's S3DataSource from it); a sharded use case's default for train is ShardedByS3Key,
    the built-in algorithm's (one unsharded train file) FullyReplicated only."""
    for request in (script["Train model"]["Parameters"],
                    script["Tune hyperparameters"]["Parameters"]["TrainingJobDefinition"]):
        assert {c["ChannelName"]: c["DataSource"]["S3DataSource.$"]
                for c in request["InputDataConfig"]} == {
            name: f"States.JsonMerge($.training.channel_config.{name}.s3_data_source, "
                  f"$.run.channel_sources.{name}, false)"
            for name in ("train", "validation", "transform")}
    validate = script["Validate input"]["Parameters"]
    defaults = {name: channel["s3_data_distribution_type"]
                for name, channel in validate["defaults"]["training"]["channels"].items()}
    assert defaults == {"train": "ShardedByS3Key", "validation": "FullyReplicated",
                        "transform": "FullyReplicated"}
    assert validate["platform"]["channels"]["train"]["s3_data_distribution_type"] == [
        "ShardedByS3Key", "FullyReplicated"]
    environment = script["Preprocess data"]["Parameters"]["Environment"]
    assert environment[f"{contract.TRAIN_SHARDS_ENV}.$"] == "$.training.train_shards"
    # The built-in algorithm trains as it does: every instance gets every row.
    builtin_input = builtin["Validate input"]["Parameters"]
    assert {c["s3_data_distribution_type"]
            for c in builtin_input["defaults"]["training"]["channels"].values()} == \
        {"FullyReplicated"}
    assert {name: c["s3_data_distribution_type"]
            for name, c in builtin_input["platform"]["channels"].items()} == {
        name: ["FullyReplicated"] for name in ("train", "validation", "transform")}
    assert f"{contract.TRAIN_SHARDS_ENV}.$" not in \
        builtin["Preprocess data"]["Parameters"]["Environment"]


def _branch(states: dict, names: tuple[str, ...]) -> dict:
    """`names` of a definition (the first starts), each state they lead to outside them a Pass
    that ends there."""
    picked = {name: states[name] for name in names}
    targets = {t for s in picked.values()
               for t in (s.get("Next"), s.get("Default"), *(c["Next"] for c in
                                                            s.get("Choices", [])))}
    return {**picked, **{t: {"Type": "Pass", "End": True} for t in targets
                         if t and t not in picked}}


@pytest.fixture(scope="module")
def run():
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
        yield execution_runner(boto3.client("stepfunctions", region_name="eu-west-1"))


def _path(result: dict) -> list[str]:
    return [e["stateEnteredEventDetails"]["name"] for e in result["history"]
            if "stateEnteredEventDetails" in e]


def _status(name: str, status: str) -> dict:
    return {"RuleConfigurationName": name, "RuleEvaluationStatus": status}


def test_the_poll_waits_while_a_debugger_rule_runs_then_passes_the_statuses_on(builtin, run):
    branch = _branch(builtin, ("Any training rule running?", "Training rules finished?",
                               "Training rule arguments"))
    states = branch
    debug = [_status("Overfit", "NoIssuesFound"), _status("TreeDepth", "InProgress")]
    profiler = [_status("ProfilerReport", "NoIssuesFound")]
    described = {"debug": debug, "profiler": profiler}
    waiting = run(states, {"debugger_status": described})
    assert _path(waiting)[-1] == "Wait for training rules"
    debug[1]["RuleEvaluationStatus"] = "IssuesFound"
    done = run(states, {"debugger_status": described})
    assert _path(done)[-2:] == ["Training rule arguments", "Check training rules"]
    arguments = json.loads(done["output"])["debugger"]["arguments"]
    assert arguments[0] == "--debugger-statuses" and json.loads(arguments[1]) == debug
    assert arguments[2] == "--profiler-statuses" and json.loads(arguments[3]) == profiler
    assert arguments[4:] == ["--no-curve"]


@pytest.mark.parametrize(("on_issue", "issues", "last"), [
    ("fail", True, "Notify training rule issues"), ("warn", True, "Evaluate model"),
    ("fail", False, "Evaluate model")])
def test_a_rule_with_an_issue_fails_the_execution_only_when_asked(script, run, on_issue,
                                                                   issues, last):
    states = _branch(script, ("Training rules passed?",))
    result = run(states, {"training_rules": {"on_issue": on_issue, "verdict": {"document": {
        "issues_found": issues, "summary": "Overfit: IssuesFound"}}}})
    assert _path(result)[-1] == last
