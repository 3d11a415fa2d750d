"""The emulated services' own rules, without a state machine: blue/green traffic plans and
baking, traffic routing, EventBridge patterns and input transformers, data capture records."""

from __future__ import annotations

import json
import time

import boto3
import pytest
from moto import mock_aws

from local_runner import blue_green
from local_runner.data_capture import DataCapture
from local_runner.errors import RunnerError
from local_runner.executors.model_server import Reply
from local_runner.local_events import matches, target_input


def _policy(kind: str, size: dict | None = None, wait: int = 60) -> dict:
    routing: dict = {"Type": kind, "WaitIntervalInSeconds": wait}
    if kind == "CANARY":
        routing["CanarySize"] = size
    elif kind == "LINEAR":
        routing["LinearStepSize"] = size
    return {"TrafficRoutingConfiguration": routing, "TerminationWaitInSeconds": 30}


@pytest.mark.parametrize(("policy", "instances", "shares"), [
    (_policy("ALL_AT_ONCE"), 1, (1.0,)),
    (_policy("CANARY", {"Type": "CAPACITY_PERCENT", "Value": 25}), 1, (0.25, 1.0)),
    (_policy("CANARY", {"Type": "INSTANCE_COUNT", "Value": 1}), 4, (0.25, 1.0)),
    (_policy("LINEAR", {"Type": "CAPACITY_PERCENT", "Value": 30}), 1, (0.3, 0.6, 0.9, 1.0)),
    (_policy("LINEAR", {"Type": "INSTANCE_COUNT", "Value": 1}), 2, (0.5, 1.0)),
    (None, 3, (1.0,)),  # no guardrails: swap at once, nothing to bake
])
def test_traffic_plans_follow_the_routing_configuration(policy, instances, shares):
    plan = blue_green.plan(policy, instances)
    assert plan.shares == pytest.approx(shares)
    assert plan.wait_seconds == (60 if policy else 0)


@pytest.mark.parametrize("size", [{"Type": "CAPACITY_PERCENT", "Value": 60},
                                  {"Type": "INSTANCE_COUNT", "Value": 2}])
def test_a_canary_above_half_the_fleet_is_rejected(size):
    with pytest.raises(blue_green.PolicyError, match="at most 50%"):
        blue_green.plan(_policy("CANARY", size), 3)


def test_the_router_gives_each_target_its_share_in_order():
    router = blue_green.Router([0.75, 0.25])
    picks = [router.pick() for _ in range(8)]
    assert picks.count(1) == 2 and picks[:4].count(1) == 1  # spread, not bunched
    assert blue_green.Router([1.0, 0.0]).pick() == 0


def test_baking_stops_at_the_first_alarm_and_otherwise_lasts_its_period():
    looks: list[list[str]] = []

    def states(names):
        looks.append(list(names))
        return {"a": "OK", "b": "ALARM" if len(looks) >= 3 else "OK"}

    assert blue_green.bake(5.0, ["a", "b"], states) == ["b"]
    assert len(looks) == 3
    started = time.monotonic()
    assert blue_green.bake(0.2, ["a"], lambda names: {"a": "OK"}) == []
    assert 0.2 <= time.monotonic() - started < 1.0
    assert blue_green.bake(0.0, [], states) == []  # nothing to watch


EVENT = {"source": "aws.cloudwatch", "detail-type": "CloudWatch Alarm State Change",
         "resources": ["arn:a", "arn:b"], "time": "2026-11-20T10:00:00Z",
         "detail": {"alarmName": "drift", "state": {"value": "ALARM"}}}


@pytest.mark.parametrize(("pattern", "expected"), [
    ({"source": ["aws.cloudwatch"], "detail": {"state": {"value": ["ALARM"]}}}, True),
    ({"detail": {"state": {"value": ["OK"]}}}, False),
    ({"resources": ["arn:b"]}, True),  # an array matches when any element does
    ({"detail": {"alarmName": [{"prefix": "dr"}]}}, True),
    ({"detail": {"missing": [{"exists": False}]}}, True),
    ({"detail": {"alarmName": [{"anything-but": ["drift", "other"]}]}}, False),
    ({"detail": "ALARM"}, False),  # not an object where the event has one
])
def test_event_patterns(pattern, expected):
    assert matches(pattern, EVENT) is expected


def test_an_unknown_pattern_filter_fails_loudly():
    with pytest.raises(RunnerError, match="numeric"):
        matches({"detail": {"alarmName": [{"numeric": [">", 0]}]}}, EVENT)


def test_input_transformers_render_values_as_json_or_inside_strings():
    target = {"InputTransformer": {
        "InputPathsMap": {"name": "$.detail.alarmName", "state": "$.detail.state"},
        "InputTemplate": '{"alarm": <name>, "said": "alarm <name> is <state>", "s": <state>}'}}
    assert target_input(target, EVENT) == {"alarm": "drift",
                                           "said": 'alarm drift is {"value": "ALARM"}',
                                           "s": {"value": "ALARM"}}
    assert target_input({"Input": '{"x": 1}'}, EVENT) == {"x": 1}
    assert target_input({"InputPath": "$.detail.state"}, EVENT) == {"value": "ALARM"}
    assert target_input({}, EVENT) == EVENT


CONFIG = {"EndpointConfigName": "epc", "DataCaptureConfig": {
    "EnableCapture": True, "InitialSamplingPercentage": 50,
    "DestinationS3Uri": "s3://captures/datacapture",
    "CaptureOptions": [{"CaptureMode": "Input"}, {"CaptureMode": "Output"}],
    "CaptureContentTypeHeader": {"CsvContentTypes": ["text/csv"]}}}


def test_data_capture_samples_evenly_and_encodes_by_content_type():
    with mock_aws():
        s3 = boto3.client("s3", region_name="eu-west-1")
        s3.create_bucket(Bucket="captures",
                         CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
        capture = DataCapture(s3)
        reply = Reply(200, b'{"p": 0.1}', "application/json")
        uris = [capture.record("ep", "AllTraffic", CONFIG, b"1,2\n", "text/csv", reply)
                for _ in range(4)]
        assert [u is not None for u in uris] == [False, True, False, True]
        assert uris[1].startswith("s3://captures/datacapture/ep/AllTraffic/")
        key = uris[1].split("/", 3)[3]
        line = json.loads(s3.get_object(Bucket="captures", Key=key)["Body"].read())
    data = line["captureData"]
    assert data["endpointInput"] == {"observedContentType": "text/csv", "mode": "INPUT",
                                     "data": "1,2\n", "encoding": "CSV"}
    assert data["endpointOutput"]["encoding"] == "BASE64"  # JSON is not a capture JSON type here
    assert DataCapture.summary(CONFIG)["CaptureStatus"] == "Started"


def test_update_alarms_must_exist():
    blue_green.check_alarms([], None)
    with pytest.raises(blue_green.PolicyError, match="alarm.s. b do not exist"):
        blue_green.check_alarms(["a", "b"], lambda names: {"a": "OK"})


def test_an_endpoint_whose_model_cannot_start_is_failed_with_the_reason(tmp_path):
    from local_runner.api_common import SageMakerError
    from local_runner.executors import LocalProgram
    from local_runner.local_endpoints import LocalEndpoints

    with mock_aws():
        s3 = boto3.client("s3", region_name="eu-west-1")
        s3.create_bucket(Bucket="models",
                         CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
        endpoints = LocalEndpoints(
            s3=s3, program=LocalProgram(bin_dir=tmp_path), workdir=tmp_path,
            arn=lambda kind, name: f"arn:{kind}/{name}",
            model=lambda name: {"ModelDataUrl": "s3://models/absent/model.tar.gz"},
            alarm_states=None, time_scale=0.001)
        with pytest.raises(SageMakerError, match='Could not find endpoint "arn:endpoint/ep"'):
            endpoints._api_describeEndpoint({"EndpointName": "ep"})
        endpoints._api_createEndpointConfig({"EndpointConfigName": "epc", "ProductionVariants": [
            {"VariantName": "AllTraffic", "ModelName": "m", "InitialInstanceCount": 1}]})
        endpoints._api_createEndpoint({"EndpointName": "ep", "EndpointConfigName": "epc"})
        described = endpoints._api_describeEndpoint({"EndpointName": "ep"})
        assert described["EndpointStatus"] == "Failed"
        assert described["EndpointConfigName"] == "epc"
        assert "no S3 objects found" in described["FailureReason"]
        with pytest.raises(SageMakerError, match="Cannot update in-progress endpoint"):
            endpoints._api_updateEndpoint({"EndpointName": "ep", "EndpointConfigName": "epc"})
