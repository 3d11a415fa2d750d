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

from config.settings import MonitoringConfig, ServingConfig
from ml_constructs import sagemaker_jobs as jobs
from ml_constructs.deployment_permissions import DeploymentPermissions
from ml_constructs.model_monitor import ModelMonitor
from ml_constructs.model_package_choice import choose_model_package, package_arns
from ml_constructs.pipeline_state_machine import PipelineFrame
from ml_constructs.pipeline_states import PROCESSING, create_model_state, sagemaker_job_state

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
        validate = frame.validate_input(defaults=props.defaults, platform=props.platform)
        create_model = frame.protect(create_model_state(
            self, jobs.model(props.job_settings, container=jobs.model_from_package(),
                             network_isolation=not self.serverless),
            name_prefix=props.name_prefix))
        validate.next(choose_model_package(self, frame, props.model_package_group_name,
                                           self._check_package(create_model)))
        lookup = self._sdk("Describe endpoint", "describeEndpoint",
                           {"EndpointName.$": "$.run.endpoint_name"},
                           result_path="$.endpoint_status", resources=[self._endpoint_arn])
        create_model.next(self._create_endpoint_config()).next(self._baseline(lookup))
        wait = sfn.Wait(self, "Wait for endpoint", time=sfn.WaitTime.duration(
            cdk.Duration.seconds(props.serving.poll_interval_seconds)))
        self._create_or_update(lookup, wait)
        wait.next(self._sdk("Check endpoint", "describeEndpoint",
                            {"EndpointName.$": "$.run.endpoint_name"},
                            result_path="$.endpoint_status", resources=[self._endpoint_arn])
                  ).next(self._deployed(wait, self._after_deployment()))
        self.state_machine = frame.finish(validate, timeout=TIMEOUT, **finish_kwargs)
        props.permissions.attach(self.state_machine.role)
        props.permissions.acknowledge_state_machine_policy(
            frame, self.state_machine, model_package_group=props.model_package_group_name,
            monitoring=props.monitor is not None)

    # --- helpers -------------------------------------------------------------------------------
    @property
    def _endpoint_arn(self) -> str:
        return cdk.Stack.of(self).format_arn(service="sagemaker", resource="endpoint",
                                             resource_name=self.props.endpoint_name)

    def _arn(self, resource: str, name: str) -> str:
        return cdk.Stack.of(self).format_arn(service="sagemaker", resource=resource,
                                             resource_name=name)

    def _sdk(self, state_id: str, action: str, parameters: dict, *, resources: list[str],
             result_path: str | None = sfn.JsonPath.DISCARD, service: str = "sagemaker",
             iam_action: str | None = None, result_selector: dict | None = None,
             catch: tuple[sfn.IChainable, str] | None = None) -> tasks.CallAwsService:
        task = tasks.CallAwsService(self, state_id, service=service, action=action,
                                    parameters=parameters, iam_resources=resources,
                                    iam_action=iam_action, result_path=result_path,
                                    result_selector=result_selector)
        if catch is not None:  # a specific error handled before `protect` catches the rest
            handler, errors = catch
            task.add_catch(handler, errors=[errors], result_path="$.error")
        return self.props.frame.protect(task)

    def _fail(self, state_id: str, error: str, cause: str) -> sfn.Pass:
        """A Pass that explains a failure in `$.error` and goes to the failure path."""
        key = "Cause.$" if cause.startswith("States.") else "Cause"
        explain = sfn.Pass(self, state_id, parameters={"Error": error, key: cause},
                           result_path="$.error")
        explain.next(self.props.frame.notify_failure)
        return explain

    # --- model and endpoint config -------------------------------------------------------------
    def _check_package(self, then: sfn.IChainable) -> sfn.IChainable:
        describe = self._sdk("Describe model package", "describeModelPackage",
                             {"ModelPackageName.$": "$.package.arn"},
                             resources=package_arns(self, self.props.model_package_group_name),
                             result_path="$.package_description")
        describe.next(sfn.Choice(self, "Model package approved?")
                      .when(sfn.Condition.string_equals(
                          "$.package_description.ModelApprovalStatus", "Approved"), then)
                      .otherwise(self._fail(
                          "Model package not approved", "ModelPackageNotApproved",
                          "States.Format('model package {} is {}, not Approved: approve it in "
                          "the model registry first', $.package.arn, "
                          "$.package_description.ModelApprovalStatus)")))
        return describe

    def _create_endpoint_config(self) -> tasks.CallAwsService:
        arn = self._arn("endpoint-config", f"{self.props.name_prefix}-*")
        return self._sdk("Create endpoint config", "createEndpointConfig",
                         jobs.endpoint_config(self.props.job_settings, serverless=self.serverless),
                         resources=[arn], result_selector={"arn.$": "$.EndpointConfigArn"},
                         result_path="$.created_endpoint_config")

    # --- data quality baseline -----------------------------------------------------------------
    def _baseline(self, then: sfn.IChainable) -> sfn.IChainable:
        props = self.props
        if props.monitor is None:
            return then
        job = props.frame.protect(sagemaker_job_state(
            self, "Compute data quality baseline", PROCESSING,
            jobs.baseline_job(props.job_settings, image_uri=props.monitor.image_uri,
                              instance_type=props.monitoring_config.instance_type,
                              max_runtime_seconds=props.monitoring_config.max_runtime_seconds),
            result_selector={"arn.$": "$.ProcessingJobArn"}, result_path="$.baseline_job",
            comment="Statistics and constraints of the training baseline, before any traffic "
                    "moves: a failure here leaves the live endpoint untouched"))
        job.next(then)
        given = sfn.Pass(self, "Use given baseline dataset",
                         parameters={"s3_uri.$": "$.baseline.dataset_s3_uri"},
                         result_path="$.baseline_source")
        from_training = sfn.Pass(self, "Use the training run's baseline", parameters={
            "s3_uri.$": "States.Format('s3://{}/runs/{}/preprocessing/baseline/', "
                        "$.platform.artifacts_bucket, "
                        "$.package_description.CustomerMetadataProperties.execution)"},
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
                    "$.package_description.CustomerMetadataProperties.execution"), from_training)
                .otherwise(unknown))

    # --- create or blue/green update -----------------------------------------------------------
    def _create_or_update(self, lookup: tasks.CallAwsService, wait: sfn.Wait) -> None:
        props = self.props
        configs = self._arn("endpoint-config", f"{props.name_prefix}-*")
        create = self._sdk("Create endpoint", "createEndpoint",
                           jobs.create_endpoint(props.job_settings),
                           resources=[self._endpoint_arn, configs])
        update = self._sdk("Update endpoint", "updateEndpoint",
                           jobs.update_endpoint(rollback_alarms=props.rollback_alarm_names,
                                                serverless=self.serverless),
                           resources=[self._endpoint_arn, configs])
        missing = (sfn.Choice(self, "Endpoint missing?")
                   .when(sfn.Condition.string_matches("$.error.Cause", MISSING_ENDPOINT), create)
                   .otherwise(props.frame.notify_failure))
        lookup.add_catch(missing, errors=["States.TaskFailed"], result_path="$.error")
        create.next(wait)
        update.next(wait)
        live = update if self.serverless else self._suspend_autoscaling(update)
        name = props.endpoint_name
        lookup.next(sfn.Choice(self, "Endpoint status?")
                    .when(sfn.Condition.string_equals(STATUS, "InService"), live)
                    .when(sfn.Condition.string_equals(STATUS, "Failed"), self._fail(
                        "Endpoint is failed", "EndpointFailed",
                        f"endpoint {name} is Failed and cannot be updated: delete it "
                        f"(aws sagemaker delete-endpoint --endpoint-name {name}), then deploy "
                        "again"))
                    .otherwise(self._fail(
                        "Endpoint is busy", "EndpointBusy",
                        f"States.Format('endpoint {name} is {{}}: another deployment or update "
                        f"is in progress; deploy again once it is InService', {STATUS})")))

    def _suspend_autoscaling(self, then: sfn.IChainable) -> sfn.IChainable:
        """Deregister the variant from autoscaling for the update (an instance type change fails
        otherwise, and scaling is blocked during updates anyway); re-registered afterwards."""
        target = {"ServiceNamespace": "sagemaker", "ScalableDimension": jobs.SCALABLE_DIMENSION}
        find = self._sdk("Find scalable target", "describeScalableTargets",
                         {**target, "ResourceIds.$": "States.Array($.autoscaling.resource_id)"},
                         service="applicationautoscaling",
                         iam_action="application-autoscaling:DescribeScalableTargets",
                         resources=["*"], result_selector={"targets.$": "$.ScalableTargets"},
                         result_path="$.scaling")
        suspend = self._sdk("Suspend autoscaling", "deregisterScalableTarget",
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
                       .when(sfn.Condition.is_present(reason), self._fail(
                           "Explain rollback", "DeploymentRolledBack",
                           f"States.Format('deployment rolled back: {{}}', {reason})"))
                       .otherwise(self._fail(
                           "Explain rollback without reason", "DeploymentRolledBack",
                           "States.Format('deployment rolled back: SageMaker gave no reason; "
                           "the endpoint still serves {}', "
                           "$.endpoint_status.EndpointConfigName)")))
        failed = (sfn.Choice(self, "Failure reason given?")
                  .when(sfn.Condition.is_present(reason), self._fail(
                      "Explain endpoint failure", "EndpointFailed",
                      f"States.Format('endpoint is {{}}: {{}}', {STATUS}, {reason})"))
                  .otherwise(self._fail(
                      "Explain endpoint failure without reason", "EndpointFailed",
                      f"States.Format('endpoint is {{}}', {STATUS})")))
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
            head = self._monitoring(notify)
        if not self.serverless:
            register = self._sdk("Register autoscaling", "registerScalableTarget",
                                 jobs.register_scalable_target(),
                                 service="applicationautoscaling",
                                 iam_action="application-autoscaling:RegisterScalableTarget",
                                 resources=["*"])
            policy = self._sdk("Set scaling policy", "putScalingPolicy",
                               jobs.scaling_policy(f"{props.endpoint_name}-invocations"),
                               service="applicationautoscaling",
                               iam_action="application-autoscaling:PutScalingPolicy",
                               resources=["*"])
            register.next(policy).next(head)
            head = register
        return head

    def _monitoring(self, then: sfn.IChainable) -> sfn.IChainable:
        """Promote the new baseline to the fixed location the job definition reads, then make
        sure each schedule exists with the configured expression. Without a new baseline the
        current one (and its schedule) stays; the model quality schedule is ensured either way."""
        monitor = self.props.monitor
        assert monitor is not None
        after_data_quality = then
        if monitor.model_quality_name is not None:
            after_data_quality = self._ensure_schedule(
                monitor.model_quality_name, "ModelQuality", then)
        data_quality = self._ensure_schedule(monitor.data_quality_name, "DataQuality",
                                             after_data_quality)
        bucket = self.props.permissions.monitoring_bucket
        promotions = [self._sdk(
            f"Promote baseline {name}", "copyObject",
            {"Bucket": bucket.bucket_name,
             "Key.$": f"$.run.s3.baseline_promotions[{i}].key",
             "CopySource.$": f"$.run.s3.baseline_promotions[{i}].source"},
            service="s3", iam_action="s3:PutObject",
            resources=[bucket.arn_for_objects("baselines/data-quality/current/*")])
            for i, name in enumerate(("constraints", "statistics"))]
        promotions[0].next(promotions[1]).next(data_quality)
        return (sfn.Choice(self, "Baseline computed?")
                .when(sfn.Condition.is_present("$.baseline_job"), promotions[0])
                .otherwise(after_data_quality))

    def _ensure_schedule(self, schedule: str, kind: str, then: sfn.IChainable) -> sfn.IChainable:
        """Create the schedule over the CDK-owned job definition of the same name, or update it
        (the expression may have changed in the stage config)."""
        words = "data quality" if kind == "DataQuality" else "model quality"
        arn = self._arn("monitoring-schedule", schedule)
        find = self._sdk(f"Find {words} schedule", "listMonitoringSchedules",
                         {"NameContains": schedule, "EndpointName.$": "$.run.endpoint_name"},
                         resources=["*"], result_selector={
                             "schedules.$": "$.MonitoringScheduleSummaries"},
                         result_path="$.schedule_lookup")
        request = {"name": schedule, "job_definition": schedule, "monitoring_type": kind,
                   "schedule": self.props.monitoring_config.schedule}
        create = self._sdk(f"Create {words} schedule", "createMonitoringSchedule",
                           jobs.monitoring_schedule(**request, tags=True), resources=[arn])
        update = self._sdk(f"Update {words} schedule", "updateMonitoringSchedule",
                           jobs.monitoring_schedule(**request, tags=False), resources=[arn])
        create.next(then)
        update.next(then)
        find.next(sfn.Choice(self, f"{words.capitalize()} schedule exists?")
                  .when(sfn.Condition.is_present("$.schedule_lookup.schedules[0]"), update)
                  .otherwise(create))
        return find
