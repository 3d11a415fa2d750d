"""`mlplatform start`: the same pipelines on a deployed stack, through boto3 (the only module of
the runner that talks to real AWS)."""

from __future__ import annotations

import json
import time

from config.problems import nearest
from local_runner.definitions import PIPELINE_TAG, USE_CASE_TAG
from local_runner.errors import RunnerError

TERMINAL = {"SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"}
# The Resource Groups Tagging API names a resource type as its ARN does:
# arn:aws:states:<region>:<account>:stateMachine:<name>.
STATE_MACHINE_TYPE = "states:stateMachine"


def _tagged_state_machines(tagging, tags: dict[str, str]) -> dict[str, dict[str, str]]:
    """ARN -> tags of every state machine that carries all of `tags`."""
    found = {}
    pages = tagging.get_paginator("get_resources").paginate(
        TagFilters=[{"Key": key, "Values": [value]} for key, value in tags.items()],
        ResourceTypeFilters=[STATE_MACHINE_TYPE])
    for page in pages:
        for resource in page["ResourceTagMappingList"]:
            found[resource["ResourceARN"]] = {t["Key"]: t["Value"] for t in resource["Tags"]}
    return found


def state_machine_arn(tagging, *, stage_tags: dict[str, str], use_case: str,
                      pipeline: str) -> str:
    """The deployed state machine of `<use case>:<pipeline>` in the stage, found by the tags
    the stacks give every state machine (and the stage's own `project` and `stage` tags)."""
    wanted = {**stage_tags, USE_CASE_TAG: use_case, PIPELINE_TAG: pipeline}
    try:
        arns = list(_tagged_state_machines(tagging, wanted))
        deployed = _tagged_state_machines(tagging, stage_tags) if not arns else {}
    except Exception as error:  # botocore ClientError / NoCredentialsError
        raise RunnerError(f"cannot list the stage's state machines: {error}",
                          "check your AWS credentials and region; the caller needs "
                          "tag:GetResources") from None
    if len(arns) == 1:
        return arns[0]
    address = f"{use_case}:{pipeline}"
    if arns:
        raise RunnerError(f"{address}: {len(arns)} state machines carry its tags: "
                          f"{', '.join(sorted(arns))}", "delete the stray one")
    known = sorted(f"{t[USE_CASE_TAG]}:{t[PIPELINE_TAG]}" for t in deployed.values()
                   if USE_CASE_TAG in t and PIPELINE_TAG in t)
    guess = nearest(address, known)
    stage = ", ".join(f"{key}={value}" for key, value in stage_tags.items())
    raise RunnerError(f"{address}: no deployed state machine of the stage ({stage}) has it"
                      + (f"; did you mean {guess}?" if guess else ""),
                      f"deployed: {', '.join(known)}" if known else
                      "deploy the stage first (`npx cdk deploy --all -c stage=...`)")


def start_and_watch(*, stage: str, address: str, execution_input: dict, watch: bool,
                    region: str | None) -> int:
    import boto3

    from config import load_stage_config

    config = load_stage_config(stage)
    use_case, _, pipeline = address.partition(":")
    session = boto3.Session(region_name=region or config.region)
    arn = state_machine_arn(session.client("resourcegroupstaggingapi"),
                            stage_tags={"project": config.project_name, "stage": config.stage},
                            use_case=use_case, pipeline=pipeline)
    sfn = session.client("stepfunctions")
    name = f"cli-{use_case}-{pipeline}-{time.strftime('%Y%m%d-%H%M%S')}"
    execution = sfn.start_execution(stateMachineArn=arn, name=name,
                                    input=json.dumps(execution_input))["executionArn"]
    print(f"started {execution}")
    if not watch:
        return 0
    return _watch(sfn, execution)


def _watch(sfn, execution: str) -> int:
    seen = 0
    while True:
        events = sfn.get_execution_history(executionArn=execution, maxResults=1000)["events"]
        for event in events[seen:]:
            details = event.get("stateEnteredEventDetails") or event.get("stateExitedEventDetails")
            if details:
                verb = "→" if "stateEnteredEventDetails" in event else "✓"
                print(f"  {verb} {details['name']}")
        seen = len(events)
        status = sfn.describe_execution(executionArn=execution)
        if status["status"] in TERMINAL:
            print(f"{status['status']}")
            if status["status"] != "SUCCEEDED":
                failed = next((e["executionFailedEventDetails"] for e in reversed(events)
                               if "executionFailedEventDetails" in e), {})
                print(f"error: {failed.get('error')}\ncause: {failed.get('cause')}")
                return 1
            return 0
        time.sleep(5)
