"""Permission coverage: for every Task of every state machine in every stage, what its request
needs is allowed by the state machine's role, and what each job needs is allowed by its
execution role, judged by the IAM evaluator over the synthesized policies (incl. key and bucket
policies). The requests are the request contract's (rendering.py), over every scenario."""

from __future__ import annotations

import json

import pytest

from tests.conftest import ALL_STAGES, TWO_USE_CASES
from tests.contract import asl, coverage
from tests.contract.needs import GRANT_FOR_AWS_RESOURCE


@pytest.fixture(scope="module")
def needs(accounts) -> dict[str, tuple]:
    return {stage: coverage.stage_needs(stage, account) for stage, account in accounts.items()}


@pytest.mark.parametrize("stage", ALL_STAGES)
def test_every_task_is_rendered_and_has_a_permission_model(accounts, needs, stage):
    tasks, callers, _ = needs[stage]
    machines = accounts[stage].state_machines
    expected = {(m.name, n) for m in machines for n, s in asl.all_states(m.asl).items()
                if asl.requesting(s)}
    assert {(t.state_machine, t.state) for t in tasks} == expected
    assert {(n.why.split(": ", 1)[0], n.why.split(": ", 1)[1].rsplit(" (", 1)[0])
            for n in callers} == expected, "a Task whose request needs no permission"


@pytest.mark.parametrize("stage", ALL_STAGES)
def test_state_machine_roles_allow_every_request_their_tasks_make(accounts, needs, stage):
    _, callers, _ = needs[stage]
    assert coverage.denied(accounts[stage], callers) == []


@pytest.mark.parametrize("stage", ALL_STAGES)
def test_execution_roles_allow_what_their_jobs_do(accounts, needs, stage):
    """Read inputs, write outputs, the key, the image, logs and metrics, for every job and
    model the state machines create and every Model Monitor job definition."""
    _, _, jobs = needs[stage]
    monitored = any(accounts[stage].resources(kind) for kind in coverage.MONITORING_KINDS)
    assert {n.why.rsplit(" (", 1)[1] for n in jobs} == \
        {"execution role)", *(["monitoring jobs)"] if monitored else [])}
    assert coverage.denied(accounts[stage], jobs) == []


@pytest.mark.parametrize("stage", ALL_STAGES)
def test_every_encrypted_job_volume_can_be_granted_by_the_role_the_job_runs_as(
        accounts, needs, stage):
    """Defect 3: each processing, training, tuning, transform, baseline and monitoring job
    passes the stage key as VolumeKmsKeyId; SageMaker creates the volume's grant as the job's
    execution role, which needs kms:CreateGrant (for AWS resources only) and kms:DescribeKey."""
    tasks, _, jobs = needs[stage]
    grants = [n for n in jobs if n.action == "kms:CreateGrant"]
    encrypted = {f"{t.state_machine}: {t.state} (execution role)" for t in tasks
                 if "VolumeKmsKeyId" in json.dumps(t.request)}
    encrypted |= {f"{stack.name}: {lid} (monitoring jobs)" for kind in coverage.MONITORING_KINDS
                  for stack, lid, props in accounts[stage].resources(kind)
                  if props["JobResources"]["ClusterConfig"].get("VolumeKmsKeyId")}
    assert encrypted and {n.why for n in grants} == encrypted
    assert all(n.context == GRANT_FOR_AWS_RESOURCE for n in grants)
    describes = [n for n in jobs if n.action == "kms:DescribeKey"]
    assert coverage.denied(accounts[stage], grants + describes) == []
    # ... and only for AWS resources: the same grant for anything else is refused.
    account = accounts[stage]
    assert not account.can(grants[0].principal, "kms:CreateGrant", grants[0].resource,
                           {"kms:GrantIsForAWSResource": "false"})


@pytest.mark.parametrize("stage", ALL_STAGES)
def test_latest_approved_package_lookup_is_authorized(accounts, needs, stage):
    """Defect 9: ListModelPackages is authorized on the model-package resource type (Service
    Authorization Reference), never on the group, for batch inference and deployment alike."""
    _, callers, _ = needs[stage]
    lookups = [n for n in callers if n.action == "sagemaker:ListModelPackages"]
    looking = {m.name for m in accounts[stage].state_machines
               if m.name.endswith(("-batch-inference", "-deployment"))}
    assert len(looking) >= 2 and {n.why.split(":")[0] for n in lookups} == looking
    assert all(n.resource.endswith(":model-package/*") for n in lookups)
    assert coverage.denied(accounts[stage], lookups) == []


@pytest.mark.parametrize("stage", ALL_STAGES)
def test_glue_job_may_open_its_spark_session_with_the_data_catalog(accounts, stage):
    """Defect 1: Spark's Glue catalog client looks up (and creates when missing) `default` when
    the session starts, then the job keeps its own table; the role allows exactly that."""
    account = accounts[stage]
    glue = coverage.glue_catalog_needs(account)
    assert {(n.action, n.resource.rsplit(":", 1)[1]) for n in glue} >= {
        ("glue:GetDatabase", "database/default"), ("glue:CreateDatabase", "database/default")}
    assert coverage.denied(account, glue) == []
    role = glue[0].principal
    other = "arn:aws:glue:eu-west-1:123456789012:database/someone_elses"
    for action in ("glue:GetDatabase", "glue:CreateDatabase", "glue:DeleteDatabase"):
        assert not account.can(role, action, other), action
    assert not account.can(role, "glue:DeleteDatabase",
                           "arn:aws:glue:eu-west-1:123456789012:database/default")


def test_a_glue_job_may_touch_only_its_own_use_cases_data_and_table(accounts):
    """Two use cases in one stage: each job's role reads its raw prefix, writes its curated
    prefix and quarantine, and updates its table, and none of the other use case's."""
    account = accounts[TWO_USE_CASES]
    jobs = [props for _, _, props in account.resources("AWS::Glue::Job")]
    assert len(jobs) == 2

    def arn(uri: str, name: str) -> str:
        return uri.replace("s3://", "arn:aws:s3:::").rstrip("/") + name

    for job in jobs:
        for other in jobs:
            arguments, allowed = other["DefaultArguments"], other is job
            table = (f"arn:aws:glue:eu-west-1:123456789012:table/{arguments['--database']}/"
                     f"{arguments['--table']}")
            checks = [("glue:UpdateTable", table),
                      ("s3:GetObject", arn(arguments["--input_path"], "/2026/data.csv")),
                      ("s3:PutObject", arn(arguments["--output_path"], "/part-0.parquet")),
                      ("s3:PutObject", arn(arguments["--output_path"], "_rejects/x.csv"))]
            for action, resource in checks:
                assert bool(account.can(job["Role"], action, resource)) is allowed, \
                    (job["Name"], action, resource)
