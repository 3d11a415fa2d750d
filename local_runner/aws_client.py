"""`mlplatform start`: the same pipelines on a deployed stack, through boto3 (the only module of
the runner that talks to real AWS)."""

from __future__ import annotations

import json
import time

from local_runner.errors import RunnerError

# pipeline -> (the stack's name after "<prefix>-", its output with the state machine's ARN)
STACK_OUTPUTS = {"training": ("pipelines", "TrainingStateMachineArn"),
                 "batch-inference": ("pipelines", "BatchStateMachineArn"),
                 "deployment": ("serving", "DeploymentStateMachineArn")}
TERMINAL = {"SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"}


def state_machine_arn(cloudformation, stack_name: str, pipeline: str) -> str:
    try:
        stacks = cloudformation.describe_stacks(StackName=stack_name)["Stacks"]
    except Exception as error:  # botocore ClientError / NoCredentialsError
        raise RunnerError(f"cannot read stack {stack_name}: {error}",
                          "deploy it first (`npx cdk deploy --all -c stage=...`) and check your "
                          "AWS credentials and region") from None
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stacks[0].get("Outputs", [])}
    key = STACK_OUTPUTS[pipeline][1]
    if key not in outputs:
        raise RunnerError(f"stack {stack_name} has no output {key}", "redeploy the stack")
    return outputs[key]


def start_and_watch(*, stage: str, pipeline: str, execution_input: dict, watch: bool,
                    region: str | None) -> int:
    import boto3

    from config import load_stage_config

    config = load_stage_config(stage)
    session = boto3.Session(region_name=region or config.region)
    arn = state_machine_arn(session.client("cloudformation"),
                            f"{config.resource_prefix}-{STACK_OUTPUTS[pipeline][0]}", pipeline)
    sfn = session.client("stepfunctions")
    name = f"cli-{pipeline}-{time.strftime('%Y%m%d-%H%M%S')}"
    execution = sfn.start_execution(stateMachineArn=arn, name=name,
                                    input=json.dumps(execution_input))["executionArn"]
    print(f"started {execution}")
    if not watch:
        return 0
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
