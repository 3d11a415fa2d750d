"""CloudWatch alarms on the stage's endpoint: the rollback alarms a blue/green deployment watches
(5xx errors, p99 model latency), instance health, and what Model Monitor publishes (per-feature
baseline drift; model quality with ground truth). Every alarm notifies the serving topic; the
drift and model quality alarms also start the retraining gate (retraining.py)."""

from __future__ import annotations

from dataclasses import dataclass

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_sns as sns
from constructs import Construct

from config import MonitoringConfig, RollbackAlarmsConfig
from ml_constructs.compliance import acknowledge

ENDPOINT_NAMESPACE = "AWS/SageMaker"
INSTANCE_NAMESPACE = "/aws/sagemaker/Endpoints"
DATA_METRICS_NAMESPACE = "aws/sagemaker/Endpoints/data-metrics"
MODEL_METRICS_NAMESPACE = "aws/sagemaker/Endpoints/model-metrics"
DRIFT_METRIC_PREFIX = "feature_baseline_drift_"
METRICS_PER_ALARM = 10  # CloudWatch: a metric math alarm reads at most 10 metrics


@dataclass(frozen=True)
class ServingAlarmsProps:
    name_prefix: str
    endpoint_name: str
    variant_name: str
    rollback: RollbackAlarmsConfig
    monitoring: MonitoringConfig
    serverless: bool
    topic: sns.ITopic
    features: tuple[str, ...]
    data_quality_schedule: str | None  # None: no Model Monitor on this stage
    model_quality_schedule: str | None


class ServingAlarms(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, props: ServingAlarmsProps) -> None:
        super().__init__(scope, construct_id)
        self.props = props
        self._notify = actions.SnsAction(props.topic)
        variant = {"EndpointName": props.endpoint_name, "VariantName": props.variant_name}
        rollback = props.rollback
        minutes = rollback.evaluation_minutes
        self.errors = self._alarm(
            "Errors", "endpoint-5xx-errors",
            cloudwatch.Metric(namespace=ENDPOINT_NAMESPACE, metric_name="Invocation5XXErrors",
                              dimensions_map=variant, statistic="Sum",
                              period=cdk.Duration.minutes(1)),
            threshold=rollback.max_5xx_errors_per_minute, periods=minutes,
            comparison=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            description=f"{props.endpoint_name}: >= {rollback.max_5xx_errors_per_minute} "
                        f"5xx responses a minute for {minutes} min (rolls a deployment back)")
        self.latency = self._alarm(
            "Latency", "endpoint-latency-p99",
            cloudwatch.Metric(namespace=ENDPOINT_NAMESPACE, metric_name="ModelLatency",
                              dimensions_map=variant, statistic="p99",
                              period=cdk.Duration.minutes(1)),
            threshold=rollback.max_latency_p99_ms * 1000,  # ModelLatency is in microseconds
            periods=minutes,
            description=f"{props.endpoint_name}: p99 model latency above "
                        f"{rollback.max_latency_p99_ms} ms for {minutes} min (rolls a deployment "
                        "back)")
        self.rollback_alarms = [self.errors, self.latency]
        self.health: list[cloudwatch.Alarm] = []
        if not props.serverless:
            for name, metric in (("Memory", "MemoryUtilization"), ("Disk", "DiskUtilization")):
                self.health.append(self._alarm(
                    name, f"endpoint-{metric.removesuffix('Utilization').lower()}",
                    cloudwatch.Metric(namespace=INSTANCE_NAMESPACE, metric_name=metric,
                                      dimensions_map=variant, statistic="Maximum",
                                      period=cdk.Duration.minutes(5)),
                    threshold=90, periods=3,
                    description=f"{props.endpoint_name}: {metric} above 90% for 15 min"))
        # The alarms whose ALARM state starts the retraining gate.
        self.retraining_triggers: list[cloudwatch.IAlarm] = []
        self.drift: cloudwatch.CompositeAlarm | None = None
        if props.data_quality_schedule:
            self._drift_alarm(props.data_quality_schedule)
        self.model_quality: cloudwatch.Alarm | None = None
        if props.model_quality_schedule:
            self._model_quality_alarm(props.model_quality_schedule)

    @property
    def rollback_alarm_names(self) -> list[str]:
        return [f"{self.props.name_prefix}-{suffix}"
                for suffix in ("endpoint-5xx-errors", "endpoint-latency-p99")]

    def _alarm(self, construct_id: str, suffix: str, metric: cloudwatch.IMetric, *,
               threshold: float, periods: int, description: str,
               comparison: cloudwatch.ComparisonOperator =
               cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
               notify: bool = True) -> cloudwatch.Alarm:
        alarm = cloudwatch.Alarm(
            self, construct_id, alarm_name=f"{self.props.name_prefix}-{suffix}",
            alarm_description=description, metric=metric, threshold=threshold,
            evaluation_periods=periods, datapoints_to_alarm=periods,
            comparison_operator=comparison,
            # No traffic (or no monitoring run this hour) is not a failure.
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING)
        if notify:
            alarm.add_alarm_action(self._notify)
            alarm.add_ok_action(self._notify)
        return alarm

    def _drift_alarm(self, schedule: str) -> None:
        """The largest baseline drift distance of any feature, over groups of at most ten
        features (a metric math alarm's limit), combined into one composite alarm."""
        props = self.props
        dims = {"Endpoint": props.endpoint_name, "MonitoringSchedule": schedule}
        groups = [props.features[i:i + METRICS_PER_ALARM]
                  for i in range(0, len(props.features), METRICS_PER_ALARM)]
        members = []
        for number, group in enumerate(groups, 1):
            expression = cloudwatch.MathExpression(
                expression=f"MAX([{', '.join(f'd{i}' for i in range(len(group)))}])",
                using_metrics={f"d{i}": cloudwatch.Metric(
                    namespace=DATA_METRICS_NAMESPACE,
                    metric_name=f"{DRIFT_METRIC_PREFIX}{feature}", dimensions_map=dims,
                    statistic="Maximum", period=cdk.Duration.hours(1))
                    for i, feature in enumerate(group)},
                label=f"largest feature drift, group {number}",
                period=cdk.Duration.hours(1))
            member = self._alarm(
                f"DriftGroup{number}", f"feature-drift-{number}", expression,
                threshold=props.monitoring.drift_threshold, periods=1, notify=False,
                description=f"{props.endpoint_name}: baseline drift above "
                            f"{props.monitoring.drift_threshold} in one of {', '.join(group)}")
            acknowledge(member, "A member of the composite data drift alarm, which notifies and "
                        "starts retraining; notifying per member would send every message twice.",
                        "NIST.800.53.R5-CloudWatchAlarmAction")
            members.append(member)
        self.drift = cloudwatch.CompositeAlarm(
            self, "Drift", composite_alarm_name=f"{props.name_prefix}-data-drift",
            alarm_description=f"{props.endpoint_name}: Model Monitor measured feature drift "
                              "beyond the threshold (starts the retraining gate)",
            alarm_rule=cloudwatch.AlarmRule.any_of(*members))
        self.drift.add_alarm_action(self._notify)
        self.drift.add_ok_action(self._notify)
        self.retraining_triggers.append(self.drift)

    def _model_quality_alarm(self, schedule: str) -> None:
        props, monitoring = self.props, self.props.monitoring
        self.model_quality = self._alarm(
            "ModelQuality", "model-quality",
            cloudwatch.Metric(namespace=MODEL_METRICS_NAMESPACE,
                              metric_name=monitoring.model_quality_metric,
                              dimensions_map={"Endpoint": props.endpoint_name,
                                              "MonitoringSchedule": schedule},
                              statistic="Minimum", period=cdk.Duration.hours(1)),
            threshold=monitoring.model_quality_threshold, periods=1,
            comparison=cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
            description=f"{props.endpoint_name}: {monitoring.model_quality_metric} against "
                        f"ground truth below {monitoring.model_quality_threshold} (starts the "
                        "retraining gate)")
        self.retraining_triggers.append(self.model_quality)
