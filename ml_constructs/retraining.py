"""Drift-triggered retraining, rate-limited: an EventBridge rule on the drift (and model quality,
and batch accuracy) alarms entering ALARM starts a small "retraining gate" state machine, which
starts the training pipeline on the latest data unless a retraining started less than
`min_hours` ago.

The rate limit is a lock the gate holds by waiting: a gate that starts the training pipeline then
waits `min_hours` before it ends. Any gate execution that finds an older gate execution still
running (i.e. one that started a retraining less than `min_hours` ago, or is deciding right now)
skips, and so does one that finds the training pipeline already running. Ties are broken by start
order (the oldest running gate wins), so even two alarms at the same second start one training.
"""

from __future__ import annotations

from dataclasses import dataclass

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

from ml_constructs.compliance import acknowledge_role_policy
from ml_constructs.pipeline_state_machine import PipelineFrame

# Lets a just-started execution show up in ListExecutions before the gate looks.
SETTLE = cdk.Duration.seconds(10)
GATE_NAME_HASH = "MD5"  # States.Hash: 32 hex digits, so 'drift-<hash>' is 38 characters


@dataclass(frozen=True)
class RetrainingGateProps:
    frame: PipelineFrame  # without an input validator: the input is the rule's, not a person's
    training_state_machine: sfn.IStateMachine
    min_hours: int
    alarms: list[cloudwatch.IAlarm]


class RetrainingGate(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, props: RetrainingGateProps,
                 **finish_kwargs) -> None:
        super().__init__(scope, construct_id)
        self.props = props
        frame = props.frame
        stack = cdk.Stack.of(self)
        # Built from the fixed name: a reference to the state machine's own ARN in its role's
        # policy would be a circular dependency.
        own_arn = stack.format_arn(service="states", resource="stateMachine",
                                   resource_name=frame.state_machine_name,
                                   arn_format=cdk.ArnFormat.COLON_RESOURCE_NAME)
        training_arn = props.training_state_machine.state_machine_arn
        settle = sfn.Wait(self, "Let executions settle", time=sfn.WaitTime.duration(SETTLE))
        me = sfn.Pass(self, "Identify this gate", parameters={"arn.$": "$$.Execution.Id"},
                      result_path="$.gate")
        running_gates = self._list("List running gates", own_arn, "$.gates")
        # ListExecutions lists the newest first: the last item started first.
        oldest = sfn.Pass(self, "Find the oldest running gate", parameters={
            "oldest.$": "States.ArrayGetItem($.gates.executions, "
                        "States.MathAdd(States.ArrayLength($.gates.executions), -1))"},
            result_path="$.lock")
        running_trainings = self._list("List running trainings", training_arn, "$.trainings")
        start = frame.protect(tasks.StepFunctionsStartExecution(
            self, "Start training pipeline", state_machine=props.training_state_machine,
            # Named after this gate's execution, so a retried StartExecution cannot start a
            # second training; hashed, because 'drift-' and an execution name (up to 80
            # characters, Step Functions' limit) can exceed 80 (tests/contract).
            name=sfn.JsonPath.format("drift-{}", sfn.JsonPath.hash(
                sfn.JsonPath.string_at("$$.Execution.Name"), GATE_NAME_HASH)),
            input=sfn.TaskInput.from_object({"registry": {"description": sfn.JsonPath.format(
                "Retrained on the latest data after {} at {}",
                sfn.JsonPath.string_at("$.alarm"), sfn.JsonPath.string_at("$.time"))}}),
            integration_pattern=sfn.IntegrationPattern.REQUEST_RESPONSE,
            result_selector={"execution_arn.$": "$.ExecutionArn"}, result_path="$.training",
        ))
        started = frame.notify("Notify retraining started",
                               f"{frame.state_machine_name}: retraining started", {
                                   "status": "RETRAINING",
                                   "alarm": sfn.JsonPath.string_at("$.alarm"),
                                   "training_execution": sfn.JsonPath.string_at(
                                       "$.training.execution_arn")})
        hold = sfn.Wait(self, "Hold the retraining lock", time=sfn.WaitTime.duration(
            cdk.Duration.hours(props.min_hours)),
            comment="Alarms meanwhile find this execution running and skip")
        skipped = frame.notify("Notify retraining skipped",
                               f"{frame.state_machine_name}: retraining skipped", {
                                   "status": "SKIPPED",
                                   "alarm": sfn.JsonPath.string_at("$.alarm"),
                                   "reason": f"a retraining started less than {props.min_hours} "
                                             "h ago, or the training pipeline is running"})
        skipped.next(sfn.Succeed(self, "Rate-limited"))
        start.next(started).next(hold).next(sfn.Succeed(self, "Lock released"))
        running_trainings.next(sfn.Choice(self, "Training running?")
                               .when(sfn.Condition.is_present("$.trainings.executions[0]"),
                                     skipped)
                               .otherwise(start))
        oldest.next(sfn.Choice(self, "Holds the lock?")
                    .when(sfn.Condition.string_equals_json_path("$.lock.oldest.ExecutionArn",
                                                                "$.gate.arn"),
                          running_trainings)
                    .otherwise(skipped))
        running_gates.next(sfn.Choice(self, "Any gate listed?")
                           .when(sfn.Condition.is_present("$.gates.executions[0]"), oldest)
                           .otherwise(skipped))
        settle.next(me).next(running_gates)
        self.state_machine = frame.finish(settle, timeout=cdk.Duration.hours(props.min_hours + 1),
                                          **finish_kwargs)
        self.rule = self._rule()

    def _list(self, state_id: str, state_machine_arn: str, result_path: str):
        return self.props.frame.protect(tasks.CallAwsService(
            self, state_id, service="sfn", action="listExecutions",
            parameters={"StateMachineArn": state_machine_arn, "StatusFilter": "RUNNING"},
            iam_action="states:ListExecutions", iam_resources=[state_machine_arn],
            result_selector={"executions.$": "$.Executions"}, result_path=result_path))

    def _rule(self) -> events.Rule:
        """Alarm state changes into ALARM start the gate with the alarm's name and time."""
        alarms = self.props.alarms
        rule = events.Rule(
            self, "OnAlarm",
            description="Drift, model quality or accuracy alarm -> retraining gate",
            event_pattern=events.EventPattern(
                source=["aws.cloudwatch"], detail_type=["CloudWatch Alarm State Change"],
                resources=[a.alarm_arn for a in alarms],
                detail={"state": {"value": ["ALARM"]}}))
        role = iam.Role(self, "RuleRole",
                        assumed_by=iam.ServicePrincipal("events.amazonaws.com"),
                        description="EventBridge: start the retraining gate")
        rule.add_target(targets.SfnStateMachine(
            self.state_machine, role=role,
            input=events.RuleTargetInput.from_object({
                "alarm": events.EventField.from_path("$.detail.alarmName"),
                "time": events.EventField.time})))
        acknowledge_role_policy(role.node.find_child("DefaultPolicy"),
                                "Starts executions of one state machine only.", [])
        return rule
