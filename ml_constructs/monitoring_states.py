"""The deployment state machine's last monitoring steps: promote the baseline the deployment
computed to the fixed location the data quality job definition reads, then make sure each
monitoring schedule exists with the configured expression (docs/serving.md)."""

from __future__ import annotations

from aws_cdk import aws_s3 as s3
from aws_cdk import aws_stepfunctions as sfn

from ml_constructs import sagemaker_jobs as jobs
from ml_constructs.model_monitor import ModelMonitor, Monitoring
from ml_constructs.sdk_states import SdkStates


def monitoring_states(states: SdkStates, *, monitor: ModelMonitor, schedule: str,
                      bucket: s3.IBucket, then: sfn.IChainable) -> sfn.IChainable:
    """Without a new baseline (none computed this time) the current one and its schedule stay;
    the model quality schedule, which needs no baseline, is ensured either way."""
    data_quality_monitoring, *others = monitor.monitorings
    after_data_quality = then
    for monitoring in reversed(others):  # model quality, with ground truth configured
        after_data_quality = ensure_schedule(states, monitoring, schedule, after_data_quality)
    data_quality = ensure_schedule(states, data_quality_monitoring, schedule, after_data_quality)
    promotions = [states.task(
        f"Promote baseline {name}", "copyObject",
        {"Bucket": bucket.bucket_name, "Key.$": f"$.run.s3.baseline_promotions[{i}].key",
         "CopySource.$": f"$.run.s3.baseline_promotions[{i}].source"},
        service="s3", iam_action="s3:PutObject",
        resources=[bucket.arn_for_objects(f"{monitor.baseline_prefix}current/*")])
        for i, name in enumerate(("constraints", "statistics"))]
    promotions[0].next(promotions[1]).next(data_quality)
    return (sfn.Choice(states.scope, "Baseline computed?")
            .when(sfn.Condition.is_present("$.baseline_job"), promotions[0])
            .otherwise(after_data_quality))


def ensure_schedule(states: SdkStates, monitoring: Monitoring, schedule: str,
                    then: sfn.IChainable) -> sfn.IChainable:
    """Create the schedule over the CDK-owned job definition, or update it: the expression may
    have changed in the stage config, and the job definition's name changes whenever
    CloudFormation replaced it (ScheduleFollowsJobDefinition also updates it at deploy time)."""
    name = monitoring.schedule_name
    words = "data quality" if monitoring.monitoring_type == "DataQuality" else "model quality"
    arn = states.sagemaker_arn("monitoring-schedule", name)
    find = states.task(f"Find {words} schedule", "listMonitoringSchedules",
                       {"NameContains": name, "EndpointName.$": "$.run.endpoint_name"},
                       resources=["*"], result_path="$.schedule_lookup",
                       result_selector={"schedules.$": "$.MonitoringScheduleSummaries"})
    request = {"name": name, "job_definition": monitoring.job_definition_name,
               "monitoring_type": monitoring.monitoring_type, "schedule": schedule}
    create = states.task(f"Create {words} schedule", "createMonitoringSchedule",
                         jobs.monitoring_schedule(**request, tags=True), resources=[arn])
    update = states.task(f"Update {words} schedule", "updateMonitoringSchedule",
                         jobs.monitoring_schedule(**request, tags=False), resources=[arn])
    create.next(then)
    update.next(then)
    find.next(sfn.Choice(states.scope, f"{words.capitalize()} schedule exists?")
              .when(sfn.Condition.is_present("$.schedule_lookup.schedules[0]"), update)
              .otherwise(create))
    return find
