"""State machine definitions are S3 assets, so a stage's templates stay far below CloudFormation's
1 MB template limit however many use cases it deploys (ml_constructs/stored_definition.py)."""

from __future__ import annotations

import json

import aws_cdk as cdk
import pytest
from aws_cdk import aws_sns as sns
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks

from ml_constructs.stored_definition import stored_state_machine
from tests.conftest import ALL_STAGES, EVERY_USE_CASE

# CloudFormation's limit on a template body uploaded through S3 (what `cdk deploy` does).
TEMPLATE_LIMIT_BYTES = 1_000_000
# CloudFormation's limit on the resources of one stack.
RESOURCE_LIMIT = 500
# What one use case may add to each of its stage's templates, so that a stage can deploy 15.
USE_CASES_PER_STAGE = 15
PER_USE_CASE_BYTES = TEMPLATE_LIMIT_BYTES // USE_CASES_PER_STAGE
PER_USE_CASE_RESOURCES = RESOURCE_LIMIT // USE_CASES_PER_STAGE


@pytest.mark.parametrize("stage", ALL_STAGES)
def test_no_template_holds_a_definition_inline(synthesized, stage):
    for path in synthesized[stage].templates:
        template = json.loads(path.read_text())
        for logical_id, resource in template.get("Resources", {}).items():
            if resource["Type"] == "AWS::StepFunctions::StateMachine":
                props = resource["Properties"]
                assert "DefinitionString" not in props, f"{path.name}: {logical_id}"
                assert set(props["DefinitionS3Location"]) == {"Bucket", "Key"}


def test_each_use_case_adds_little_to_its_stages_templates(synthesized):
    every = synthesized[EVERY_USE_CASE]
    count = len(every.config.use_cases)
    assert count >= 4
    for path in every.templates:
        template = json.loads(path.read_text())
        size = len(json.dumps(template, separators=(",", ":")))
        assert size <= PER_USE_CASE_BYTES * count, \
            f"{path.name}: {size} bytes for {count} use cases"
        resources = len(template.get("Resources", {}))
        assert resources <= PER_USE_CASE_RESOURCES * count, \
            f"{path.name}: {resources} resources for {count} use cases"


def test_the_stored_file_is_the_definition_with_its_references_substituted(definitions, dev):
    """What the engine runs (rendered from the asset and its substitutions) is a whole ASL
    document whose references were filled in: no placeholder is left."""
    for name, asl in definitions["dev"].items():
        text = json.dumps(asl)
        assert "${ref" not in text, name
        assert asl["StartAt"] in asl["States"]


def _machine(definition_of):
    # Asset metadata as the CDK CLI turns it on (the local engine reads the staged file by it).
    app = cdk.App(context={"aws:cdk:enable-asset-metadata": True})
    stack = cdk.Stack(app, "S", env=cdk.Environment(account="123456789012",
                                                     region="eu-west-1"))
    topic = sns.Topic(stack, "Topic")
    machine = stored_state_machine(stack, "Machine", definition=definition_of(stack, topic),
                                   timeout=cdk.Duration.minutes(5))
    template = app.synth().get_stack_by_name("S").template
    outdir = app.outdir
    (resource,) = [r for r in template["Resources"].values()
                   if r["Type"] == "AWS::StepFunctions::StateMachine"]
    staged = resource["Metadata"]["aws:asset:path"]
    with open(f"{outdir}/{staged}") as handle:
        return machine, template, resource, json.load(handle)


def test_references_become_placeholders_and_plain_tokens_their_values():
    def definition(stack, topic):
        return tasks.SnsPublish(stack, "Publish", topic=topic,
                                message=sfn.TaskInput.from_text("done"),
                                result_path=sfn.JsonPath.DISCARD)

    _, template, resource, document = _machine(definition)
    state = document["States"]["Publish"]
    assert state["ResultPath"] is None  # DISCARD is a token for JSON null, not a reference
    assert document["TimeoutSeconds"] == 300
    (name,) = [k for k, v in resource["Properties"]["DefinitionSubstitutions"].items()
               if v == {"Ref": next(k for k, r in template["Resources"].items()
                                    if r["Type"] == "AWS::SNS::Topic")}]
    assert state["Parameters"]["TopicArn"] == f"${{{name}}}"
    # The task's permission reaches the role as it does for an inline definition.
    policies = [r for r in template["Resources"].values() if r["Type"] == "AWS::IAM::Policy"]
    actions = [s["Action"] for p in policies for s in p["Properties"]["PolicyDocument"]
               ["Statement"]]
    assert "sns:Publish" in actions


def test_a_literal_placeholder_in_a_state_is_refused():
    def definition(stack, _topic):
        return sfn.Pass(stack, "Pass", parameters={"text": "costs ${price}"})

    with pytest.raises(ValueError, match=r"holds '\$\{'"):
        _machine(definition)
