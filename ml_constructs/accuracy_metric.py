"""The accuracy metric a use case's manifest declares (`accuracy_monitor`): its batch inference
publishes it once a run scored its predictions against the actuals, and its alarm starts the
retraining gate. Both sides build it here, so the alarm watches what the pipeline writes.

CloudWatch's PutMetricData authorizes no resource (its Resource is "*"); the
`cloudwatch:namespace` condition key limits it to this namespace."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_iam as iam
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from runtime_scripts.common.manifest import UseCaseManifest

NAMESPACE = "MLPlatform/Accuracy"
DIMENSION = "ModelPackageGroup"  # the use case's group: one per use case and stage
# A batch run with actuals is a daily or weekly event: the alarm looks at a day's runs.
PERIOD = cdk.Duration.days(1)
EVALUATED_METRICS = "$.evaluation.document.metrics"


def publish_state(scope: Construct, manifest: UseCaseManifest, group_name: str) -> sfn.CustomState:
    """PutMetricData of evaluation.json's `metrics.<metric>`, a CustomState: CDK's
    CallAwsService grants its action without the namespace condition."""
    metric = manifest.accuracy_monitor.metric
    return sfn.CustomState(scope, "Publish accuracy", state_json={
        "Type": "Task", "Resource": "arn:aws:states:::aws-sdk:cloudwatch:putMetricData",
        "Comment": f"{metric} of the predictions against the actuals, for the accuracy alarm",
        "Parameters": {"Namespace": NAMESPACE, "MetricData": [{
            "MetricName": metric, "Dimensions": [{"Name": DIMENSION, "Value": group_name}],
            "Value.$": f"{EVALUATED_METRICS}.{metric}"}]},
        # Its (empty) result beside the state, not ResultPath null: moto's aws-sdk tasks, which
        # the local runs use, pass {} on for a null ResultPath where AWS passes the input on.
        "ResultPath": "$.jobs.accuracy_metric",
    })


def publish_statement() -> iam.PolicyStatement:
    return iam.PolicyStatement(actions=["cloudwatch:PutMetricData"], resources=["*"],
                               conditions={"StringEquals": {"cloudwatch:namespace": NAMESPACE}})


def accuracy_metric(manifest: UseCaseManifest, group_name: str) -> cloudwatch.Metric:
    metric = manifest.accuracy_monitor.metric
    worst = "Minimum" if manifest.metric(metric).higher_is_better else "Maximum"
    return cloudwatch.Metric(namespace=NAMESPACE, metric_name=metric,
                             dimensions_map={DIMENSION: group_name}, statistic=worst,
                             period=PERIOD)


def worse_than(manifest: UseCaseManifest) -> cloudwatch.ComparisonOperator:
    if manifest.metric(manifest.accuracy_monitor.metric).higher_is_better:
        return cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD
    return cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD
