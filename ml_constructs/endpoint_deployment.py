"""The deployment pipeline: an approved model package -> model -> endpoint config (KMS, data
capture) -> data quality baseline -> create the endpoint, or update it blue/green with automatic
rollback on the app's alarms -> wait until it serves the new config (or report the rollback) ->
autoscaling -> baseline promotion and monitoring schedules -> notification.

JSONPath only, and no Lambda besides the input validator, so the local engine can run it against
moto. Permissions beyond each task's own are in deployment_permissions.py.
"""

from __future__ import annotations

from dataclasses import dataclass

import aws_cdk as cdk
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

from config import MonitoringConfig, ServingConfig
from ml_constructs import sagemaker_jobs as jobs
from ml_constructs.deployment_permissions import DeploymentPermissions
from ml_constructs.model_monitor import ModelMonitor
from ml_constructs.model_package_choice import choose_model_package, package_arns
from ml_constructs.monitoring_states import monitoring_states
from ml_constructs.pipeline_state_machine import PipelineFrame
from ml_constructs.pipeline_states import PROCESSING, create_model_state, sagemaker_job_state
from ml_constructs.sdk_states import SdkStates

STATUS = "$.endpoint_status.EndpointStatus"
# DescribeEndpoint's ValidationException for an endpoint that does not exist (yet).
MISSING_ENDPOINT = "*Could not find endpoint*"
# Enough for the longest guarded update the input allows (8 h) plus creation and baselining.
TIMEOUT = cdk.Duration.hours(12)


@dataclass(frozen=True)
class EndpointDeploymentProps:
    frame: PipelineFrame
    job_settings: jobs.JobSettings  # the serving execution role, the platform key, the VPC
    model_package_group_name: str
    name_prefix: str
    endpoint_name: str
    serving: ServingConfig
    monitoring_config: MonitoringConfig
    monitor: ModelMonitor | None  # None: no baseline or schedules (serverless, or disabled)
    permissions: DeploymentPermissions
    rollback_alarm_names: list[str]
    defaults: dict
    platform: dict


class EndpointDeployment(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, props: EndpointDeploymentProps,
                 **finish_kwargs) -> None:
        super().__init__(scope, construct_id)
        self.props = props
        self.serverless = props.serving.serverless is not None
        frame = props.frame
        self.states = SdkStates(self, frame)
        validate = frame.validate_input(defaults=props.defaults, platform=props.platform)
        create_model = frame.protect(create_model_state(
            self, jobs.model(props.job_settings, container=jobs.model_from_package(),
                             network_isolation=not self.serverless),
            name_prefix=props.name_prefix))
        validate.next(choose_model_package(self, frame, props.model_package_group_name,
                                           self._check_package(create_model)))
        # A missing endpoint is a refused DescribeEndpoint (ValidationException, which SageMaker's
        # model does not define): not retried, it decides between creating and updating.
        missing = sfn.Choice(self, "Endpoint missing?")
        lookup = self.states.task("Describe endpoint", "describeEndpoint",
                                  {"EndpointName.$": "$.run.endpoint_name"},
                                  result_path="$.endpoint_status", resources=[self._endpoint_arn],
                                  not_transient=missing)
        create_model.next(self._create_endpoint_config()).next(self._baseline(lookup))
        wait = sfn.Wait(self, "Wait for endpoint", time=sfn.WaitTime.duration(
            cdk.Duration.seconds(props.serving.poll_interval_seconds)))
        self._create_or_update(lookup, missing, wait)
        check = self.states.task("Check endpoint", "describeEndpoint",
                                 {"EndpointName.$": "$.run.endpoint_name"},
                                 result_path="$.endpoint_status", resources=[self._endpoint_arn])
        wait.next(check).next(self._deployed(wait, self._after_deployment()))
        self.state_machine = frame.finish(validate, timeout=TIMEOUT, **finish_kwargs)
        props.permissions.attach(self.state_machine.role)
        props.permissions.acknowledge_state_machine_policy(
            frame, self.state_machine, model_package_group=props.model_package_group_name,
            monitoring=props.monitor is not None)

    @property
    def _endpoint_arn(self) -> str:
        return self.states.sagemaker_arn("endpoint", self.props.endpoint_name)

    # --- model and endpoint config -------------------------------------------------------------
    def _check_package(self, then: sfn.IChainable) -> sfn.IChainable:
        describe = self.states.task(
            "Describe model package", "describeModelPackage",
            {"ModelPackageName.$": "$.package.arn"},
            resources=package_arns(self, self.props.model_package_group_name),
            result_path="$.package_description")
        describe.next(sfn.Choice(self, "Model package approved?")
                      .when(sfn.Condition.string_equals(
                          "$.package_description.ModelApprovalStatus", "Approved"), then)
                      .otherwise(self.states.fail(
                          "Model package not approved", "ModelPackageNotApproved",
                          "States.Format('model package {} is {}, not Approved: approve it in "
                          "the model registry first', $.package.arn, "
                          "$.package_description.ModelApprovalStatus)")))
        return describe

    def _create_endpoint_config(self) -> tasks.CallAwsService:
        arn = self.states.sagemaker_arn("endpoint-config", f"{self.props.name_prefix}-*")
        return self.states.task(
            "Create endpoint config", "createEndpointConfig",
            jobs.endpoint_config(self.props.job_settings, serverless=self.serverless),
            resources=[arn], result_selector={"arn.$": "$.EndpointConfigArn"},
            result_path="$.created_endpoint_config")

    # --- data quality baseline -----------------------------------------------------------------
    def _baseline(self, then: sfn.IChainable) -> sfn.IChainable:
        props = self.props
        if props.monitor is None:
            return then
        job = props.frame.protect_job(sagemaker_job_state(
            self, "Compute data quality baseline", PROCESSING,
            jobs.baseline_job(props.job_settings, image_uri=props.monitor.image_uri,
                              instance_type=props.monitoring_config.instance_type,
                              max_runtime_seconds=props.monitoring_config.max_runtime_seconds),
            result_selector={"arn.$": "$.ProcessingJobArn"}, result_path="$.baseline_job",
            comment="Statistics and constraints of the training baseline, before any traffic "
                    "moves: a failure here leaves the live endpoint untouched"), kind="baseline")
        job.next(then)
        given = sfn.Pass(self, "Use given baseline dataset",
                         parameters={"s3_uri.$": "$.baseline.dataset_s3_uri"},
                         result_path="$.baseline_source")
        # The training run's folder, as the training pipeline records it on the package.
        from_training = sfn.Pass(self, "Use the training run's baseline", parameters={
            "s3_uri.$": "States.Format('{}preprocessing/baseline/', "
                        "$.package_description.CustomerMetadataProperties.run)"},
                                 result_path="$.baseline_source")
        unknown = sfn.Pass(self, "No baseline dataset", parameters={
            "skipped": "the package names no training run and no baseline.dataset_s3_uri was "
                       "given: the current baseline and schedules stay as they are"},
                           result_path="$.baseline_source")
        for state in (given, from_training):
            state.next(job)
        unknown.next(then)
        return (sfn.Choice(self, "Baseline dataset?")
                .when(sfn.Condition.boolean_equals("$.baseline.enabled", False), then)
                .when(sfn.Condition.boolean_equals("$.baseline.given", True), given)
                .when(sfn.Condition.is_present(
                    "$.package_description.CustomerMetadataProperties.run"), from_training)
                .otherwise(unknown))

    # --- create or blue/green update -----------------------------------------------------------
    def _create_or_update(self, lookup: tasks.CallAwsService, missing: sfn.Choice,
                          wait: sfn.Wait) -> None:
        props = self.props
        configs = self.states.sagemaker_arn("endpoint-config", f"{props.name_prefix}-*")
        create = self.states.task("Create endpoint", "createEndpoint",
                                  jobs.create_endpoint(props.job_settings),
                                  resources=[self._endpoint_arn, configs])
        update = self.states.task("Update endpoint", "updateEndpoint",
                                  jobs.update_endpoint(rollback_alarms=props.rollback_alarm_names,
                                                       serverless=self.serverless),
                                  resources=[self._endpoint_arn, configs])
        missing.when(sfn.Condition.string_matches("$.error.Cause", MISSING_ENDPOINT), create)
        missing.otherwise(props.frame.notify_failure)
        # Rendered before `protect`'s States.ALL catcher (CDK puts States.ALL last).
        lookup.add_catch(missing, errors=["States.TaskFailed"], result_path="$.error")
        create.next(wait)
        update.next(wait)
        live = update if self.serverless else self._suspend_autoscaling(update)
        name = props.endpoint_name
        lookup.next(sfn.Choice(self, "Endpoint status?")
                    .when(sfn.Condition.string_equals(STATUS, "InService"), live)
                    .when(sfn.Condition.string_equals(STATUS, "Failed"), self.states.fail(
                        "Endpoint is failed", "EndpointFailed",
                        f"endpoint {name} is Failed and cannot be updated: delete it "
                        f"(aws sagemaker delete-endpoint --endpoint-name {name}), then deploy "
                        "again"))
                    .otherwise(self.states.fail(
                        "Endpoint is busy", "EndpointBusy",
                        f"States.Format('endpoint {name} is {{}}: another deployment or update "
                        f"is in progress; deploy again once it is InService', {STATUS})")))

    def _suspend_autoscaling(self, then: sfn.IChainable) -> sfn.IChainable:
        """Deregister the variant from autoscaling for the update (an instance type change fails
        otherwise, and scaling is blocked during updates anyway); re-registered afterwards."""
        target = {"ServiceNamespace": "sagemaker", "ScalableDimension": jobs.SCALABLE_DIMENSION}
        find = self.states.task(
            "Find scalable target", "describeScalableTargets",
            {**target, "ResourceIds.$": "States.Array($.autoscaling.resource_id)"},
            service="applicationautoscaling",
            iam_action="application-autoscaling:DescribeScalableTargets",
            resources=["*"], result_selector={"targets.$": "$.ScalableTargets"},
            result_path="$.scaling")
        suspend = self.states.task("Suspend autoscaling", "deregisterScalableTarget",
                                   jobs.scalable_target(), service="applicationautoscaling",
                                   iam_action="application-autoscaling:DeregisterScalableTarget",
                                   resources=["*"])
        suspend.next(then)
        find.next(sfn.Choice(self, "Autoscaling registered?")
                  .when(sfn.Condition.is_present("$.scaling.targets[0]"), suspend)
                  .otherwise(then))
        return find

    def _deployed(self, wait: sfn.Wait, success: sfn.IChainable) -> sfn.Choice:
        """Serving the config we asked for: done. InService with another config: SageMaker rolled
        the update back (an alarm fired, or the new fleet failed to start)."""
        reason = "$.endpoint_status.FailureReason"
        rolled_back = (sfn.Choice(self, "Rollback reason given?")
                       .when(sfn.Condition.is_present(reason), self.states.fail(
                           "Explain rollback", "DeploymentRolledBack",
                           f"States.Format('deployment rolled back: {{}}', {reason})"))
                       .otherwise(self.states.fail(
                           "Explain rollback without reason", "DeploymentRolledBack",
                           "States.Format('deployment rolled back: SageMaker gave no reason; "
                           "the endpoint still serves {}', "
                           "$.endpoint_status.EndpointConfigName)")))
        failed = (sfn.Choice(self, "Failure reason given?")
                  .when(sfn.Condition.is_present(reason), self.states.fail(
                      "Explain endpoint failure", "EndpointFailed",
                      f"States.Format('endpoint is {{}}: {{}}', {STATUS}, {reason})"))
                  .otherwise(self.states.fail(
                      "Explain endpoint failure without reason", "EndpointFailed",
                      f"States.Format('endpoint is {{}}', {STATUS})")))
        if not self.serverless:
            rolled_back = self._restore_autoscaling(rolled_back)
        return (sfn.Choice(self, "Endpoint deployed?")
                .when(sfn.Condition.and_(
                    sfn.Condition.string_equals(STATUS, "InService"),
                    sfn.Condition.string_equals_json_path(
                        "$.endpoint_status.EndpointConfigName",
                        "$.run.job_names.endpoint_config")), success)
                .when(sfn.Condition.string_equals(STATUS, "InService"), rolled_back)
                .when(sfn.Condition.or_(*(sfn.Condition.string_equals(STATUS, s) for s in (
                    "Failed", "UpdateRollbackFailed", "OutOfService"))), failed)
                .otherwise(wait))

    def _autoscaling(self, register_id: str, policy_id: str, target: dict,
                     then: sfn.IChainable) -> sfn.IChainable:
        """Register the variant as a scalable target with `target`'s limits, then put the
        configured target-tracking policy (deregistering deleted any earlier one)."""
        register = self.states.task(
            register_id, "registerScalableTarget", target, service="applicationautoscaling",
            iam_action="application-autoscaling:RegisterScalableTarget", resources=["*"])
        policy = self.states.task(
            policy_id, "putScalingPolicy",
            jobs.scaling_policy(f"{self.props.endpoint_name}-invocations"),
            service="applicationautoscaling",
            iam_action="application-autoscaling:PutScalingPolicy", resources=["*"])
        register.next(policy).next(then)
        return register

    def _restore_autoscaling(self, then: sfn.IChainable) -> sfn.IChainable:
        """After a rollback the old fleet keeps serving: give it back the autoscaling the update
        suspended (its previous limits, the configured policy) before failing the execution."""
        restore = self._autoscaling("Restore autoscaling", "Restore scaling policy",
                                    jobs.restore_scalable_target(), then)
        return (sfn.Choice(self, "Autoscaling was suspended?")
                .when(sfn.Condition.is_present("$.scaling.targets[0]"), restore)
                .otherwise(then))

    # --- after a successful deployment ---------------------------------------------------------
    def _after_deployment(self) -> sfn.IChainable:
        props, frame = self.props, self.props.frame
        notify = frame.notify("Notify success", f"{frame.state_machine_name}: deployed", {
            "status": "DEPLOYED",
            "endpoint": sfn.JsonPath.string_at("$.run.endpoint_name"),
            "endpoint_config": sfn.JsonPath.string_at("$.run.job_names.endpoint_config"),
            "model_package_arn": sfn.JsonPath.string_at("$.package.arn"),
        })
        notify.next(sfn.Succeed(self, "Endpoint serving the new model"))
        head: sfn.IChainable = notify
        if props.monitor is not None:
            head = monitoring_states(self.states, monitor=props.monitor,
                                     schedule=props.monitoring_config.schedule,
                                     bucket=props.permissions.monitoring_bucket, then=notify)
        if not self.serverless:
            head = self._autoscaling("Register autoscaling", "Set scaling policy",
                                     jobs.register_scalable_target(), head)
        return head
