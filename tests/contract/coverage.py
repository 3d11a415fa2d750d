"""Every permission need of one synthesized stage: each Task's request (the request contract's
renderer), the caller's needs and the execution roles' needs, the Model Monitor job definitions'
needs, and the Glue job's Data Catalog needs."""

from __future__ import annotations

import dataclasses

from tests.contract import authorization as sar
from tests.contract.account import Account
from tests.contract.job_needs import job_needs, monitoring_needs
from tests.contract.needs import Need, caller_needs

MONITORING_KINDS = ("AWS::SageMaker::DataQualityJobDefinition",
                    "AWS::SageMaker::ModelQualityJobDefinition")


SERVICES = {"stepfunctions": "sfn", "application-autoscaling": "applicationautoscaling"}


def rendered_tasks(stage: str, account: Account) -> list:
    """Every request of every Task over every scenario (tests/contract/rendering.py), rendered
    from this account's definitions so that its ARNs are the ones its policies name; in the
    permission models' terms (service and operation as in the Task's Resource)."""
    from tests.contract.rendering import render

    rendering = render(stage, {m.name: m.asl for m in account.state_machines})
    return [dataclasses.replace(
        task, service=SERVICES.get(task.service, task.service),
        operation=task.operation[0].lower() + task.operation[1:],
        integration={"aws-sdk": "sdk"}.get(task.integration, task.integration),
        resource=task.request["FunctionName"] if task.integration == "lambda" else task.resource)
        for task in rendering.tasks]


def stage_needs(stage: str, account: Account) -> tuple[list, list[Need], list[Need]]:
    """(tasks, the state machine roles' needs, the execution roles' needs)."""
    tasks = rendered_tasks(stage, account)
    region = account.assembly.stacks[0].region
    roles = {m.name: m.role_arn for m in account.state_machines}
    models = {t.request["ModelName"]: t.request for t in tasks if t.operation == "createModel"}
    packages = [c for t in tasks if t.operation == "createModelPackage"
                for c in t.request["InferenceSpecification"]["Containers"]]
    callers, jobs = [], []
    for task in tasks:
        callers += caller_needs(task, roles[task.state_machine], region=region,
                                topic_keys=account.topic_keys, bucket_keys=account.bucket_keys)
        jobs += job_needs(task, region=region, bucket_keys=account.bucket_keys, models=models,
                          packages=packages)
    captures = sorted({t.request["DataCaptureConfig"]["DestinationS3Uri"] for t in tasks
                       if t.operation == "createEndpointConfig"
                       and "DataCaptureConfig" in t.request})
    for kind in MONITORING_KINDS:
        for stack, logical_id, props in account.resources(kind):
            jobs += monitoring_needs(props, f"{stack.name}: {logical_id} (monitoring jobs)",
                                     region=stack.region, bucket_keys=account.bucket_keys,
                                     capture_uris=captures)
    return tasks, callers, jobs


def denied(account: Account, needs: list[Need]) -> list[str]:
    """One line per need the account's policies do not allow (deduplicated)."""
    lines = []
    for need in dict.fromkeys(needs):
        decision = account.can(need.principal, need.action, need.resource, need.context)
        if not decision:
            lines.append(f"{need.why}: {need.principal.rsplit('/', 1)[-1]} may not "
                         f"{need.action} on {need.resource} {need.context or ''}"
                         f"({decision.reason})")
    return sorted(set(lines))


# What Spark's Glue Data Catalog client asks while a job with --enable-glue-datacatalog starts
# (the `default` database: looked up, created when missing) and while the ETL script keeps its
# own table (runtime_scripts/glue/etl.py: CREATE TABLE IF NOT EXISTS, ALTER TABLE ADD PARTITION).
SESSION_START = (("GetDatabase", "default", None), ("CreateDatabase", "default", None))
OWN_TABLE = ("GetDatabase", "GetTable", "CreateTable", "GetPartitions", "BatchCreatePartition")


def glue_catalog_needs(account: Account) -> list[Need]:
    """Every Glue job that uses the Data Catalog: each catalog request of the job's session, on
    every resource type the Service Authorization Reference requires for it."""
    needs = []
    for stack, _logical_id, props in account.resources("AWS::Glue::Job"):
        arguments = props.get("DefaultArguments", {})
        if arguments.get("--enable-glue-datacatalog") != "true":
            continue
        role = props["Role"]
        if not role.startswith("arn:"):
            role = f"arn:aws:iam::123456789012:role/{role}"
        why = f"{stack.name}: Glue job {props['Name']} (Spark's catalog client)"
        requests = [*SESSION_START, *((action, arguments["--database"], arguments["--table"])
                                      for action in OWN_TABLE)]
        for action, database, table in requests:
            name = f"glue:{action}"
            names = {"DatabaseName": database, "TableName": table or "*"}
            for resource_type in sar.resource_types(name):
                if resource_type.endswith("*"):
                    resource = sar.arn(name, resource_type.rstrip("*"), region=stack.region,
                                       **names)
                    needs.append(Need(role, name, resource, why))
    return needs
