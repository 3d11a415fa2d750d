"""`Resource: "*"` only where AWS has no resource-level permission, in every identity policy of
every stage (dev, prod, the built-in and serverless variants, and the CI/CD stage with its
nested stage assemblies), whether "*" stands alone or inside a list; and the README's list of these
exceptions ("Security baseline") is exactly what the templates hold."""

from __future__ import annotations

import re

import pytest

from tests.conftest import ALL_STAGES, ROOT
from tests.contract.cfn_render import Assembly
from tests.contract.iam_eval import as_list

# Action -> why it has no resource to scope to. The README lists the same actions.
EXCEPTIONS = {
    **dict.fromkeys(("xray:PutTraceSegments", "xray:PutTelemetryRecords",
                     "xray:GetSamplingRules", "xray:GetSamplingTargets"), "X-Ray tracing"),
    "ecr:GetAuthorizationToken": "ECR registry login",
    "cloudwatch:PutMetricData": "CloudWatch metrics, namespace-conditioned",
    **dict.fromkeys(("logs:CreateLogDelivery", "logs:DeleteLogDelivery", "logs:DescribeLogGroups",
                     "logs:DescribeResourcePolicies", "logs:GetLogDelivery",
                     "logs:ListLogDeliveries", "logs:PutResourcePolicy",
                     "logs:UpdateLogDelivery"), "Step Functions log delivery"),
    **dict.fromkeys(("application-autoscaling:DescribeScalableTargets",
                     "application-autoscaling:DeregisterScalableTarget",
                     "application-autoscaling:RegisterScalableTarget",
                     "application-autoscaling:PutScalingPolicy"),
                    "Application Auto Scaling targets (generated ids)"),
    **dict.fromkeys(("sagemaker:ListMonitoringSchedules", "sagemaker:ListApps",
                     "sagemaker:ListSpaces", "sagemaker:ListUserProfiles"),
                    "SageMaker lists without resource types"),
    **dict.fromkeys(("lakeformation:AddLFTagsToResource", "lakeformation:GetDataAccess"),
                    "Lake Formation, which authorizes by its own grants"),
    **dict.fromkeys(("ec2:CreateNetworkInterface", "ec2:CreateNetworkInterfacePermission",
                     "ec2:DeleteNetworkInterface", "ec2:DeleteNetworkInterfacePermission",
                     "ec2:DescribeNetworkInterfaces", "ec2:DescribeVpcs",
                     "ec2:DescribeDhcpOptions", "ec2:DescribeSubnets",
                     "ec2:DescribeSecurityGroups"), "SageMaker's ENIs in the VPC (prod)"),
    **dict.fromkeys(("codebuild:BatchGetBuilds", "codebuild:StartBuild", "codebuild:StopBuild"),
                    "CDK Pipelines' asset publishing actions"),
    **dict.fromkeys(("cloudformation:DescribeStacks", "s3:ListBucket"),
                    "CDK Pipelines' self-mutation reading the bootstrap stack"),
}
CONDITIONED = {"cloudwatch:PutMetricData"}
POLICY_TYPES = ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy")


def _wildcard_statements(outdir) -> list[tuple[str, dict]]:
    assembly = Assembly.read(outdir, nested=True)
    found = []
    for stack in assembly.stacks:
        for logical_id, resource in stack.resources.items():
            props = resource.get("Properties", {})
            documents = [props["PolicyDocument"]] if resource["Type"] in POLICY_TYPES else []
            if resource["Type"] == "AWS::IAM::Role":
                documents = [p["PolicyDocument"] for p in props.get("Policies", [])]
            for document in documents:
                for statement in assembly.render(stack, document)["Statement"]:
                    if "*" in as_list(statement.get("Resource", [])) or "NotResource" in statement:
                        found.append((f"{stack.name}/{logical_id}", statement))
    return found


def _held_actions(outdir) -> set[str]:
    return {a for _, s in _wildcard_statements(outdir) for a in as_list(s.get("Action", []))}


@pytest.fixture(scope="module")
def outdirs(synthesized, synthesized_cicd) -> dict:
    return {**{stage: s.outdir for stage, s in synthesized.items()},
            "cicd": synthesized_cicd.outdir}


@pytest.mark.parametrize("stage", [*ALL_STAGES, "cicd"])
def test_wildcard_resources_only_where_aws_requires_them(outdirs, stage):
    lowered = {a.lower(): a for a in EXCEPTIONS}
    for where, statement in _wildcard_statements(outdirs[stage]):
        assert "NotResource" not in statement and "NotAction" not in statement, where
        for action in as_list(statement["Action"]):
            assert action.lower() in lowered, f"{where}: {action} on '*' ({statement})"
            if lowered[action.lower()] in CONDITIONED:
                assert statement.get("Condition"), f"{where}: {action} on '*' unconditioned"


def test_a_wildcard_inside_a_list_is_caught(tmp_path):
    """The check reads every element of a Resource list, not only a lone "*"."""
    import json

    template = {"Resources": {"P": {"Type": "AWS::IAM::Policy", "Properties": {
        "PolicyDocument": {"Statement": [{"Effect": "Allow", "Action": "s3:GetObject",
                                          "Resource": ["arn:aws:s3:::b/*", "*"]}]}}}}}
    (tmp_path / "T.template.json").write_text(json.dumps(template))
    (tmp_path / "manifest.json").write_text(json.dumps({"artifacts": {"T": {
        "type": "aws:cloudformation:stack", "environment": "aws://unknown-account/eu-west-1",
        "properties": {"templateFile": "T.template.json", "stackName": "t"}}}}))
    assert _held_actions(tmp_path) == {"s3:GetObject"}


def test_readme_lists_exactly_the_wildcard_exceptions_the_templates_hold(outdirs):
    held = set().union(*(_held_actions(d) for d in outdirs.values()))
    assert {a.lower() for a in held} == {a.lower() for a in EXCEPTIONS}
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Security baseline", 1)[1].split("\n## ", 1)[0]
    listed = section.split("Resource: \"*\"", 1)[1].split("a test enforces", 1)[0]
    named = set(re.findall(r"`([a-z0-9-]+:[A-Za-z*]+)`", listed))
    expanded = {a for pattern in named for a in EXCEPTIONS
                if re.fullmatch(pattern.replace("*", ".*"), a)}
    assert expanded == set(EXCEPTIONS), sorted(set(EXCEPTIONS) - expanded)
    assert all(any(re.fullmatch(p.replace("*", ".*"), a) for a in EXCEPTIONS) for p in named)
