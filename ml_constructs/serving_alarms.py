"""CloudWatch alarms on one use case's endpoint: the rollback alarms a blue/green deployment
watches (5xx errors, p99 model latency), instance health, and what Model Monitor publishes
(baseline drift; model quality with ground truth), and the accuracy its batch inference
publishes once actuals arrive (the manifest's accuracy_monitor). Every alarm notifies the
serving topic; the drift, model quality and accuracy alarms also start the use case's
retraining gate (retraining.py)."""

from __future__ import annotations

from dataclasses import dataclass

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_sns as sns
from constructs import Construct

from config import MonitoringConfig, RollbackAlarmsConfig
from ml_constructs import accuracy_metric
from ml_constructs.model_monitor import ModelQuality
from ml_constructs.serving_defaults import ServingNames
from runtime_scripts.common.manifest import UseCaseManifest

ENDPOINT_NAMESPACE = "AWS/SageMaker"
INSTANCE_NAMESPACE = "/aws/sagemaker/Endpoints"
DATA_METRICS_NAMESPACE = "aws/sagemaker/Endpoints/data-metrics"
MODEL_METRICS_NAMESPACE = "aws/sagemaker/Endpoints/model-metrics"
# The largest baseline drift of any feature in a monitoring run, which the data quality job's
# post-analytics processor publishes (runtime_scripts/common/tabular/drift_summary.py keeps the
# same name; a test checks them equal).
#
# Why one aggregate and not an alarm per feature: the features are the deployed model's, and its
# training run's dataset spec decides them, so they change between deployments while alarms are
# fixed at synth. Model Monitor publishes drift only per feature (feature_baseline_drift_<name>),
# and CloudWatch alarms cannot search for metrics by name (a math expression with SEARCH cannot
# be alarmed on). Alarms created per deployment for the deployed columns would live outside
# CloudFormation (left behind by `cdk destroy`, unseen by cdk-nag) and would need a variable-
# length composite. The aggregate, computed in the monitoring job itself from the analyzer's own
# per-feature values, keeps one alarm per use case in the template and covers every column.
DRIFT_SUMMARY_METRIC = "baseline_drift_max"


@dataclass(frozen=True)
class ServingAlarmsProps:
    names: ServingNames
    variant_name: str
    rollback: RollbackAlarmsConfig
    monitoring: MonitoringConfig
    serverless: bool
    topic: sns.ITopic
    data_quality_schedule: str | None  # None: no Model Monitor on this endpoint
    model_quality_schedule: str | None
    model_quality: ModelQuality | None
    drift: bool = True  # the manifest's monitoring.drift
    # With an accuracy_monitor: the alarm on what its batch inference publishes.
    manifest: UseCaseManifest | None = None
    model_package_group: str = ""


class ServingAlarms(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, props: ServingAlarmsProps) -> None:
        super().__init__(scope, construct_id)
        self.props = props
        self._notify = actions.SnsAction(props.topic)
        endpoint = props.names.endpoint
        variant = {"EndpointName": endpoint, "VariantName": props.variant_name}
        rollback = props.rollback
        minutes = rollback.evaluation_minutes
        errors_name, latency_name = props.names.rollback_alarms
        self.errors = self._alarm(
            "Errors", errors_name,
            cloudwatch.Metric(namespace=ENDPOINT_NAMESPACE, metric_name="Invocation5XXErrors",
                              dimensions_map=variant, statistic="Sum",
                              period=cdk.Duration.minutes(1)),
            threshold=rollback.max_5xx_errors_per_minute, periods=minutes,
            comparison=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            description=f"{endpoint}: >= {rollback.max_5xx_errors_per_minute} "
                        f"5xx responses a minute for {minutes} min (rolls a deployment back)")
        self.latency = self._alarm(
            "Latency", latency_name,
            cloudwatch.Metric(namespace=ENDPOINT_NAMESPACE, metric_name="ModelLatency",
                              dimensions_map=variant, statistic="p99",
                              period=cdk.Duration.minutes(1)),
            threshold=rollback.max_latency_p99_ms * 1000,  # ModelLatency is in microseconds
            periods=minutes,
            description=f"{endpoint}: p99 model latency above {rollback.max_latency_p99_ms} ms "
                        f"for {minutes} min (rolls a deployment back)")
        self.rollback_alarms = [self.errors, self.latency]
        self.health: list[cloudwatch.Alarm] = []
        if not props.serverless:
            for name, metric in (("Memory", "MemoryUtilization"), ("Disk", "DiskUtilization")):
                self.health.append(self._alarm(
                    name, props.names.alarm(
                        f"endpoint-{metric.removesuffix('Utilization').lower()}"),
                    cloudwatch.Metric(namespace=INSTANCE_NAMESPACE, metric_name=metric,
                                      dimensions_map=variant, statistic="Maximum",
                                      period=cdk.Duration.minutes(5)),
                    threshold=90, periods=3,
                    description=f"{endpoint}: {metric} above 90% for 15 min"))
        # The alarms whose ALARM state starts the retraining gate.
        self.retraining_triggers: list[cloudwatch.IAlarm] = []
        self.drift: cloudwatch.Alarm | None = None
        if props.data_quality_schedule and props.drift:
            self._drift_alarm(props.data_quality_schedule)
        self.model_quality: cloudwatch.Alarm | None = None
        if props.model_quality_schedule and props.model_quality is not None:
            self._model_quality_alarm(props.model_quality_schedule, props.model_quality)
        self.accuracy: cloudwatch.Alarm | None = None
        if props.manifest is not None and props.manifest.accuracy_monitor is not None:
            self._accuracy_alarm(props.manifest)

    @property
    def rollback_alarm_names(self) -> list[str]:
        return self.props.names.rollback_alarms

    def _alarm(self, construct_id: str, name: str, metric: cloudwatch.IMetric, *,
               threshold: float, periods: int, description: str,
               comparison: cloudwatch.ComparisonOperator =
               cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD) -> cloudwatch.Alarm:
        alarm = cloudwatch.Alarm(
            self, construct_id, alarm_name=name, alarm_description=description, metric=metric,
            threshold=threshold, evaluation_periods=periods, datapoints_to_alarm=periods,
            comparison_operator=comparison,
            # No traffic (or no monitoring run this hour) is not a failure.
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING)
        alarm.add_alarm_action(self._notify)
        alarm.add_ok_action(self._notify)
        return alarm

    def _monitor_dimensions(self, schedule: str) -> dict[str, str]:
        return {"Endpoint": self.props.names.endpoint, "MonitoringSchedule": schedule}

    def _drift_alarm(self, schedule: str) -> None:
        """The largest baseline drift of any of the deployed model's features, per run."""
        props = self.props
        self.drift = self._alarm(
            "Drift", props.names.alarm("data-drift"),
            cloudwatch.Metric(namespace=DATA_METRICS_NAMESPACE, metric_name=DRIFT_SUMMARY_METRIC,
                              dimensions_map=self._monitor_dimensions(schedule),
                              statistic="Maximum", period=cdk.Duration.hours(1)),
            threshold=props.monitoring.drift_threshold, periods=1,
            description=f"{props.names.endpoint}: Model Monitor measured a feature's baseline "
                        f"drift above {props.monitoring.drift_threshold} (starts the "
                        "retraining gate)")
        self.retraining_triggers.append(self.drift)

    def _model_quality_alarm(self, schedule: str, quality: ModelQuality) -> None:
        props, monitoring = self.props, self.props.monitoring
        worse = "below" if quality.higher_is_better else "above"
        self.model_quality = self._alarm(
            "ModelQuality", props.names.alarm("model-quality"),
            cloudwatch.Metric(namespace=MODEL_METRICS_NAMESPACE, metric_name=quality.metric,
                              dimensions_map=self._monitor_dimensions(schedule),
                              statistic="Minimum" if quality.higher_is_better else "Maximum",
                              period=cdk.Duration.hours(1)),
            threshold=monitoring.model_quality_threshold, periods=1,
            comparison=(cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD
                        if quality.higher_is_better
                        else cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD),
            description=f"{props.names.endpoint}: {quality.metric} against ground truth "
                        f"{worse} {monitoring.model_quality_threshold} (starts the retraining "
                        "gate)")
        self.retraining_triggers.append(self.model_quality)


    def _accuracy_alarm(self, manifest: UseCaseManifest) -> None:
        """The worst accuracy a day's batch runs with actuals measured (none: not breaching)."""
        monitor, group = manifest.accuracy_monitor, self.props.model_package_group
        worse = "below" if manifest.metric(monitor.metric).higher_is_better else "above"
        self.accuracy = self._alarm(
            "Accuracy", self.props.names.alarm("accuracy"),
            accuracy_metric.accuracy_metric(manifest, group),
            threshold=monitor.threshold, periods=1, comparison=accuracy_metric.worse_than(manifest),
            description=f"{group}: batch predictions' {monitor.metric} against the actuals "
                        f"{worse} {monitor.threshold:g} (starts the retraining gate)")
        self.retraining_triggers.append(self.accuracy)
