"""The IAM evaluator decides as IAM documents it: each rule with an allowed and a refused case."""

from __future__ import annotations

import pytest

from tests.contract.iam_eval import Request, arn_matches, authorize

ROOT = "arn:aws:iam::123456789012:root"
ROLE = "arn:aws:iam::123456789012:role/jobs"
JOB = "arn:aws:sagemaker:eu-west-1:123456789012:training-job/mlplatform-dev-train-x"


def decide(statements, action, resource=JOB, context=None, resource_policy=None, **kwargs):
    request = Request(ROLE, action, resource, context or {})
    return bool(authorize(request, statements, resource_policy, account_root=ROOT, **kwargs))


def allow(**fields):
    return {"Effect": "Allow", **fields}


def test_actions_match_case_insensitively_with_wildcards():
    statements = [allow(Action="sagemaker:Describe*", Resource="*")]
    assert decide(statements, "sagemaker:describeTrainingJob")
    assert not decide(statements, "sagemaker:CreateTrainingJob")
    assert decide([allow(Action="sagemaker:Create?rainingJob", Resource="*")],
                  "sagemaker:CreateTrainingJob")


def test_not_action_allows_everything_else():
    statements = [allow(NotAction=["iam:*"], Resource="*")]
    assert decide(statements, "sagemaker:CreateTrainingJob")
    assert not decide(statements, "iam:PassRole")


def test_explicit_deny_wins_over_any_allow():
    statements = [allow(Action="*", Resource="*"),
                  {"Effect": "Deny", "Action": "sagemaker:CreateTrainingJob", "Resource": JOB}]
    assert not decide(statements, "sagemaker:CreateTrainingJob")
    assert decide(statements, "sagemaker:StopTrainingJob")


def test_nothing_allowed_is_denied():
    assert not decide([], "sagemaker:CreateTrainingJob")


@pytest.mark.parametrize(("pattern", "arn", "expected"), [
    ("arn:aws:sagemaker:eu-west-1:123456789012:training-job/mlplatform-dev-*", JOB, True),
    ("arn:aws:sagemaker:eu-west-1:123456789012:training-job/mlplatform-prod-*", JOB, False),
    ("arn:aws:sagemaker:*:123456789012:training-job/*", JOB, True),
    ("arn:aws:sagemaker:eu-west-1:999999999999:training-job/*", JOB, False),
    ("arn:aws:sagemaker:eu-west-1:123456789012:Training-job/*", JOB, False),  # case-sensitive
    ("arn:aws:logs:eu-west-1:123456789012:log-group:/aws/sagemaker/*",
     "arn:aws:logs:eu-west-1:123456789012:log-group:/aws/sagemaker/TrainingJobs:log-stream:j/1",
     True),
    ("arn:aws:sagemaker:eu-west-1:123456789012:model-package/group/*",
     "arn:aws:sagemaker:eu-west-1:123456789012:model-package/*", False),
])
def test_resources_match_arn_components(pattern, arn, expected):
    assert arn_matches(pattern, arn) is expected


def test_not_resource_excludes():
    statements = [allow(Action="s3:GetObject", NotResource="arn:aws:s3:::secret/*")]
    assert decide(statements, "s3:GetObject", "arn:aws:s3:::data/x")
    assert not decide(statements, "s3:GetObject", "arn:aws:s3:::secret/x")


def test_string_equals_and_like_conditions():
    passed = [allow(Action="iam:PassRole", Resource=ROLE, Condition={
        "StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}})]
    assert decide(passed, "iam:PassRole", ROLE, {"iam:PassedToService": "sagemaker.amazonaws.com"})
    assert not decide(passed, "iam:PassRole", ROLE, {"iam:PassedToService": "ec2.amazonaws.com"})
    assert not decide(passed, "iam:PassRole", ROLE)  # key absent: no match
    metrics = [allow(Action="cloudwatch:PutMetricData", Resource="*", Condition={
        "StringLike": {"cloudwatch:namespace": ["aws/sagemaker/*", "/aws/sagemaker/*"]}})]
    assert decide(metrics, "cloudwatch:PutMetricData", "*",
                  {"cloudwatch:namespace": "/aws/sagemaker/TrainingJobs"})
    assert not decide(metrics, "cloudwatch:PutMetricData", "*",
                      {"cloudwatch:namespace": "Custom"})


def test_arn_like_bool_and_negated_conditions():
    source = [allow(Action="sns:Publish", Resource="*", Condition={
        "ArnLike": {"aws:SourceArn": "arn:aws:cloudwatch:eu-west-1:123456789012:alarm:*"}})]
    assert decide(source, "sns:Publish", "*",
                  {"aws:SourceArn": "arn:aws:cloudwatch:eu-west-1:123456789012:alarm:a"})
    assert not decide(source, "sns:Publish", "*",
                      {"aws:SourceArn": "arn:aws:cloudwatch:eu-west-1:999999999999:alarm:a"})
    grant = [allow(Action="kms:CreateGrant", Resource="*",
                   Condition={"Bool": {"kms:GrantIsForAWSResource": "true"}})]
    assert decide(grant, "kms:CreateGrant", "*", {"kms:GrantIsForAWSResource": "true"})
    assert not decide(grant, "kms:CreateGrant", "*", {"kms:GrantIsForAWSResource": "false"})
    tls = [allow(Action="s3:*", Resource="*"), {"Effect": "Deny", "Action": "s3:*",
                                                "Resource": "*", "Condition": {
                                                    "Bool": {"aws:SecureTransport": "false"}}}]
    assert decide(tls, "s3:GetObject", "*", {"aws:SecureTransport": "true"})
    assert not decide(tls, "s3:GetObject", "*", {"aws:SecureTransport": "false"})
    other = [allow(Action="s3:GetObject", Resource="*",
                   Condition={"StringNotEquals": {"aws:PrincipalTag/team": "other"}})]
    assert decide(other, "s3:GetObject", "*")  # negated operator, key absent: holds


def test_unknown_condition_operator_is_never_judged_allowed():
    statements = [allow(Action="*", Resource="*", Condition={"DateLessThan": {"x": "y"}})]
    with pytest.raises(ValueError, match="DateLessThan"):
        decide(statements, "s3:GetObject")


def test_kms_needs_the_key_policy_directly_or_delegated_to_iam():
    identity = [allow(Action="kms:Decrypt", Resource="*")]
    delegating = [{"Effect": "Allow", "Principal": {"AWS": ROOT}, "Action": "kms:*",
                   "Resource": "*"}]
    service_only = [{"Effect": "Allow", "Principal": {"Service": "logs.amazonaws.com"},
                     "Action": "kms:*", "Resource": "*"}]
    direct = [{"Effect": "Allow", "Principal": {"AWS": ROLE}, "Action": "kms:Decrypt",
               "Resource": "*"}]
    key = "arn:aws:kms:eu-west-1:123456789012:key/k"
    assert decide(identity, "kms:Decrypt", key, resource_policy=delegating,
                  resource_policy_required=True)
    assert not decide(identity, "kms:Decrypt", key, resource_policy=service_only,
                      resource_policy_required=True)
    assert decide([], "kms:Decrypt", key, resource_policy=direct, resource_policy_required=True)
    assert not decide([], "kms:Decrypt", key, resource_policy=delegating,
                      resource_policy_required=True)
