"""Update safety: no deploy after the first one fails on a name.

CloudFormation replaces a resource when a property its resource schema lists as create-only
changes (every property, for a type without an update handler); with the same custom name the
replacement fails. A resource retained by `cdk destroy` or a rolled-back first deploy keeps its
name; a fixed name makes the next deploy fail. The rules come from the CloudFormation resource
schemas cfn-lint ships, over every stage's templates (dev, prod, the built-in XGBoost variant,
the CI/CD stage with the stages it deploys, and dev after an update).
"""

from __future__ import annotations

import json
from pathlib import Path

import botocore.session
import pytest
from botocore.validate import ParamValidator
from cfnlint.schema import PROVIDER_SCHEMA_MANAGER

from local_runner.definitions import render_intrinsic
from ml_constructs.physical_names import digest

RETAINED = ("Retain", "RetainExceptOnCreate")
# Names that are not a top-level property (the schema's DatabaseName is one CDK never sets).
NESTED_NAMES = {"AWS::Glue::Database": ("DatabaseInput", "Name"),
                "AWS::Glue::Table": ("TableInput", "Name")}


def _top_level(pointers) -> set[str]:
    return {p.removeprefix("/properties/").split("/")[0] for p in pointers or ()}


def schema(resource_type: str, region: str = "eu-west-1") -> dict:
    return PROVIDER_SCHEMA_MANAGER.get_resource_schema(region, resource_type).schema


def replacing_properties(resource_type: str) -> set[str]:
    """Top-level properties whose change makes CloudFormation replace the resource."""
    definition = schema(resource_type)
    if "update" not in definition.get("handlers", {"update": {}}):
        return set(definition["properties"]) - _top_level(definition.get("readOnlyProperties"))
    # A nested name (a Glue table's TableInput/Name) replaces only when the name itself changes;
    # the rest of its outer property updates in place.
    nested = "/properties/{}/{}".format(*NESTED_NAMES[resource_type]) \
        if resource_type in NESTED_NAMES else None
    return _top_level(p for p in definition.get("createOnlyProperties") or () if p != nested)


def name_property(resource_type: str) -> str | None:
    """The property that names the resource: its writable primary identifier, else the
    `Name` / `<type>Name` property (e.g. JobDefinitionName of DataQualityJobDefinition)."""
    definition = schema(resource_type)
    writable = set(definition["properties"]) - _top_level(definition.get("readOnlyProperties"))
    for prop in sorted(_top_level(definition.get("primaryIdentifier"))):
        if prop in writable:
            return prop
    suffix = resource_type.rsplit("::", 1)[1]
    for prop in sorted(writable):
        if prop == "Name" or (prop.endswith("Name") and len(prop) > 4
                              and suffix.endswith(prop.removesuffix("Name"))):
            return prop
    return None


def custom_name(resource: dict):
    """The name the template gives the resource, or None (CloudFormation generates one)."""
    props = resource.get("Properties", {})
    if resource["Type"] in NESTED_NAMES:
        outer, inner = NESTED_NAMES[resource["Type"]]
        return props.get(outer, {}).get(inner)
    prop = name_property(resource["Type"])
    return props.get(prop) if prop else None


def resources(templates: list[Path]):
    """(template file name, logical id, resource) of every AWS resource."""
    for path in templates:
        for logical_id, resource in json.loads(path.read_text())["Resources"].items():
            if resource["Type"].startswith("AWS::") and resource["Type"] != "AWS::CDK::Metadata":
                yield path.name, logical_id, resource


@pytest.fixture(scope="module")
def every_stage(synthesized, synthesized_cicd, updated_dev) -> list[Path]:
    return [t for s in (*synthesized.values(), synthesized_cicd, updated_dev) for t in s.templates]


def test_the_schema_rules_name_what_they_should():
    """The rules above, on types whose naming and replacement AWS documents."""
    assert name_property("AWS::S3::Bucket") == "BucketName"
    assert name_property("AWS::SageMaker::DataQualityJobDefinition") == "JobDefinitionName"
    assert name_property("AWS::SNS::Topic") == "TopicName"
    assert name_property("AWS::EC2::FlowLog") is None  # LogGroupName names another resource
    assert name_property("AWS::EC2::VPCEndpoint") is None  # ServiceName too
    assert "Tags" in replacing_properties("AWS::SageMaker::DataQualityJobDefinition")
    assert "EncryptionConfiguration" in replacing_properties("AWS::Glue::SecurityConfiguration")
    assert replacing_properties("AWS::SageMaker::ModelPackageGroup") == {
        "ModelPackageGroupName", "ModelPackageGroupDescription"}


def test_every_custom_name_changes_with_what_replaces_the_resource(every_stage):
    """A custom-named resource sets no property that forces a replacement besides its name, or
    its name ends in the digest of those properties (ml_constructs/physical_names.py)."""
    checked, stuck = 0, []
    for template, logical_id, resource in resources(every_stage):
        name, props = custom_name(resource), resource.get("Properties", {})
        prop = name_property(resource["Type"])
        # A property of a composite primary identifier (a user profile's name within its
        # domain) gives the replacement another identity: no collision.
        identity = _top_level(schema(resource["Type"]).get("primaryIdentifier"))
        replacing = {p: props[p] for p in sorted(replacing_properties(resource["Type"]))
                     if p in props and p != prop and p not in identity}
        if name is None or not replacing:
            continue
        checked += 1
        if not (isinstance(name, str) and name.endswith(f"-{digest(replacing)}")):
            stuck.append(f"{template} {logical_id} ({resource['Type']}): {name!r} stays when "
                         f"{', '.join(replacing)} change")
    assert checked >= 5, "the data quality/model quality job definitions, the Glue security " \
                         "configurations and the notification rule carry digests"
    assert not stuck, "\n".join(stuck)


def test_an_update_renames_every_custom_named_resource_it_replaces(dev, updated_dev):
    """What CloudFormation would do with dev's templates replaced by the updated ones: every
    resource whose replacing properties change gets a new name (or has none of its own)."""
    replaced, stuck = [], []
    for before_path in dev.templates:
        after = json.loads((updated_dev.outdir / before_path.name).read_text())["Resources"]
        for logical_id, old in json.loads(before_path.read_text())["Resources"].items():
            new = after.get(logical_id)
            if new is None or new["Type"] != old["Type"] or not old["Type"].startswith("AWS::"):
                continue
            prop = name_property(old["Type"])
            changed = [p for p in replacing_properties(old["Type"]) if p != prop
                       and old.get("Properties", {}).get(p) != new.get("Properties", {}).get(p)]
            if not changed:
                continue
            replaced.append(logical_id)
            if custom_name(old) is not None and custom_name(old) == custom_name(new):
                stuck.append(f"{before_path.name} {logical_id}: {custom_name(old)!r} ({changed})")
    (data_quality,) = [logical_id for logical_id, r in _serving(dev).items()
                       if r["Type"] == "AWS::SageMaker::DataQualityJobDefinition"]
    assert data_quality in replaced  # instance type, tags, preprocessor
    assert not stuck, "\n".join(stuck)


def _serving(stage) -> dict:
    return json.loads((stage.outdir / "Serving.template.json").read_text())["Resources"]


def _job_definitions(template: dict) -> dict[str, str]:
    """monitoring type -> job definition name, e.g. DataQuality -> mlplatform-dev-data-...."""
    return {r["Type"].removeprefix("AWS::SageMaker::").removesuffix("JobDefinition"):
            r["Properties"]["JobDefinitionName"] for r in template.values()
            if r["Type"].endswith("QualityJobDefinition")}


@pytest.mark.parametrize("stage", ["dev", "updated"])
def test_monitoring_schedules_follow_the_current_job_definitions(stage, dev, updated_dev,
                                                                 definitions):
    """The deployment state machine creates or updates each schedule over the job definition of
    its own template; the schedule's name, which the drift alarms watch, never changes."""
    synthesized = {"dev": dev, "updated": updated_dev}[stage]
    from local_runner.assembly import read_stacks
    from local_runner.definitions import state_machines

    names = _job_definitions(_serving(synthesized))
    asl = {d.name: d.asl for d in state_machines(read_stacks(synthesized.outdir))}
    states = asl["mlplatform-dev-churn-deployment"]["States"]
    for monitoring_type, words in (("DataQuality", "data quality"),
                                   ("ModelQuality", "model quality")):
        if monitoring_type not in names:
            continue
        for verb in ("Create", "Update"):
            request = states[f"{verb} {words} schedule"]["Parameters"]
            assert request["MonitoringScheduleName"] == \
                f"mlplatform-dev-churn-{words.replace(' ', '-')}"
            assert request["MonitoringScheduleConfig"]["MonitoringJobDefinitionName"] == \
                names[monitoring_type]
    assert set(names) == ({"DataQuality", "ModelQuality"} if stage == "updated"
                          else {"DataQuality"})
    assert _job_definitions(_serving(dev))["DataQuality"] != \
        _job_definitions(_serving(updated_dev))["DataQuality"]


def test_a_deploy_that_replaces_a_job_definition_moves_its_schedule_first(updated_dev):
    """CloudFormation creates the new job definition, then the custom resource points an
    existing schedule at it (none yet: ResourceNotFound is expected), then deletes the old one.
    The request matches botocore's UpdateMonitoringSchedule input shape."""
    template = _serving(updated_dev)
    names = _job_definitions(template)
    by_name = {r["Properties"]["JobDefinitionName"]: logical_id for logical_id, r in
               template.items() if r["Type"].endswith("QualityJobDefinition")}
    model = botocore.session.get_session().get_service_model("sagemaker")
    shape = model.operation_model("UpdateMonitoringSchedule").input_shape
    followers = [(logical_id, r) for logical_id, r in template.items() if r["Type"] == "Custom::AWS"
                 and "updateMonitoringSchedule" in json.dumps(r["Properties"])]
    assert len(followers) == len(names) == 2
    for _, follower in followers:
        job_definition = None
        for phase in ("Create", "Update"):
            call = json.loads(render_intrinsic(follower["Properties"][phase], {}))
            assert call["service"] == "SageMaker"
            assert call["ignoreErrorCodesMatching"] == "ResourceNotFound"
            request = call["parameters"]
            report = ParamValidator().validate(request, shape)
            assert not report.has_errors(), report.generate_report()
            job_definition = request["MonitoringScheduleConfig"]["MonitoringJobDefinitionName"]
            assert names[request["MonitoringScheduleConfig"]["MonitoringType"]] == job_definition
            assert call["physicalResourceId"] == {"id": job_definition}
        assert by_name[job_definition] in follower["DependsOn"]
    (policy,) = [r["Properties"]["PolicyDocument"] for r in template.values()
                 if r["Type"] == "AWS::IAM::Policy" and "sagemaker:UpdateMonitoringSchedule"
                 in json.dumps(r)]
    (statement,) = [s for s in policy["Statement"]
                    if s["Action"] == "sagemaker:UpdateMonitoringSchedule"]
    assert sorted(render_intrinsic(r, {}).rsplit("/", 1)[1] for r in statement["Resource"]) == [
        "mlplatform-dev-churn-data-quality", "mlplatform-dev-churn-model-quality"]


def _name_for_stack(name, stack_uuid: str) -> str:
    stack_id = f"arn:aws:cloudformation:eu-west-1:123456789012:stack/any/{stack_uuid}"
    return render_intrinsic(name, {"AWS::StackId": stack_id})


def test_retained_resources_never_block_the_next_deploy(every_stage):
    """Every resource CloudFormation retains has a generated name, or one that is new for every
    stack CloudFormation creates (it ends in the stack's id): after `cdk destroy`, or a first
    deploy that rolled back, the next deploy creates its own instead of failing on the name."""
    retained, blocking = 0, []
    for template, logical_id, resource in resources(every_stage):
        if resource.get("DeletionPolicy") not in RETAINED:
            continue
        retained += 1
        name = custom_name(resource)
        if name is not None and (_name_for_stack(name, "1b4e28ba-2fa1-11d2-883f-0016d3cca427")
                                 == _name_for_stack(name, "6fa459ea-ee8a-3ca4-894e-db77e160355e")):
            blocking.append(f"{template} {logical_id} ({resource['Type']}): {name!r}")
    assert retained >= 10  # buckets, keys, log groups of every stage
    assert not blocking, "\n".join(blocking)


def test_other_stacks_read_the_bucket_names_the_storage_stack_publishes(dev):
    """Generated bucket names reach the other stacks as the storage stack's outputs, read at
    deploy time: every Fn::GetStackOutput names an output that stack declares."""
    templates = [json.loads(p.read_text()) for p in dev.templates]
    outputs = {(f"mlplatform-dev-{p.name.removesuffix('.template.json').lower()}", name)
               for p in dev.templates for name in json.loads(p.read_text()).get("Outputs", {})}
    reads = set()

    def visit(node):
        if isinstance(node, dict):
            if "Fn::GetStackOutput" in node:
                ref = node["Fn::GetStackOutput"]
                reads.add((ref["StackName"], ref["OutputName"]))
            for value in node.values():
                visit(value)
        elif isinstance(node, list):
            for value in node:
                visit(value)

    visit(templates)
    bucket_reads = {r for r in reads if r[1].endswith("BucketName")}
    assert {o for _, o in bucket_reads} == {f"{k}BucketName" for k in
                                            ("Raw", "Curated", "Artifacts", "Monitoring")}
    assert reads <= outputs, reads - outputs
