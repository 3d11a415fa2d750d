"""Experiment tracking (prod turns it on, dev leaves it off): the tracking server's resource,
the jobs that log to it, and the network they reach it through; and its config section."""

from __future__ import annotations

import json

import pytest

from config import ConfigError, load_stage_config, stage_file
from ml_constructs.resource_names import StageNames
from runtime_scripts import contract
from runtime_scripts.common.manifest import USE_CASE_ENV
from tests.contract.cfn_render import ACCOUNT

ON, OFF = "prod", "dev"
JOB_ACTIONS = ("createProcessingJob", "createTrainingJob", "createHyperParameterTuningJob")


def stack_template(stage, suffix: str) -> dict:
    (path,) = [p for p in stage.templates if p.name.endswith(f"{suffix}.template.json")]
    return json.loads(path.read_text())


def of_type(template: dict, kind: str) -> list[dict]:
    return [r for r in template["Resources"].values() if r["Type"] == kind]


def job_requests(asl) -> list[tuple[str, dict]]:
    """(action, the container settings of) every processing, training and tuning job request
    of our image anywhere in a state machine (Map iterations included); not Model Monitor's
    baseline job, which runs SageMaker's own container."""
    found = []
    if isinstance(asl, dict):
        resource = asl.get("Resource", "")
        action = next((a for a in JOB_ACTIONS if isinstance(resource, str) and a in resource),
                      None)
        if action:
            params = asl["Parameters"]
            job = params.get("TrainingJobDefinition", params)
            if USE_CASE_ENV in job.get("Environment", {}):
                found.append((action, job))
        for value in asl.values():
            found += job_requests(value)
    elif isinstance(asl, list):
        for value in asl:
            found += job_requests(value)
    return found


def server_arn(config) -> str:
    name = StageNames(config.resource_prefix).tracking_server
    return f"arn:aws:sagemaker:{config.region}:{ACCOUNT}:mlflow-tracking-server/{name}"


def test_prod_has_one_tracking_server_storing_artefacts_under_its_prefix(synthesized) -> None:
    stage = synthesized[ON]
    tracking = stage.config.experiment_tracking
    assert tracking.enabled, "prod no longer turns experiment tracking on: move these checks"
    template = stack_template(stage, "Pipelines")
    (server,) = of_type(template, "AWS::SageMaker::MlflowTrackingServer")
    props = server["Properties"]
    assert props["TrackingServerName"] == StageNames(stage.config.resource_prefix).tracking_server
    assert props["TrackingServerSize"] == tracking.server_size
    assert props["MlflowVersion"] == tracking.mlflow_version
    assert props["WeeklyMaintenanceWindowStart"] == tracking.weekly_maintenance_window_start
    assert props["AutomaticModelRegistration"] is False  # the quality gate registers models
    parts = props["ArtifactStoreUri"]["Fn::Join"][1]
    assert parts[0] == "s3://" and parts[-1] == f"/{tracking.artifact_prefix}"
    assert parts[1]["Fn::GetStackOutput"]["OutputName"] == "ArtifactsBucketName"
    role_id = props["RoleArn"]["Fn::GetAtt"][0]
    assert template["Resources"][role_id]["Type"] == "AWS::IAM::Role"
    assert server["DependsOn"], "created before its role's policy grants the artefact store"
    assert of_type(stack_template(synthesized[OFF], "Pipelines"),
                   "AWS::SageMaker::MlflowTrackingServer") == []


def test_every_job_logs_to_the_server_with_its_execution_and_without_isolation(
        synthesized, definitions) -> None:
    config = synthesized[ON].config
    requests = [r for asl in definitions[ON].values() for r in job_requests(asl)]
    assert {action for action, _ in requests} == set(JOB_ACTIONS)  # prod tunes
    for action, job in requests:
        environment = job["Environment"]
        assert environment[contract.TRACKING_URI_ENV] == server_arn(config), action
        assert environment[f"{contract.EXECUTION_ENV}.$"] == "$.run.execution_name", action
        # A network-isolated container can call nothing, the tracking server included.
        isolation = job.get("NetworkConfig", job).get("EnableNetworkIsolation", False)
        assert isolation is False, action
    for action, job in (r for asl in definitions[OFF].values() for r in job_requests(asl)):
        assert contract.TRACKING_URI_ENV not in job["Environment"], action
        assert job.get("NetworkConfig", job)["EnableNetworkIsolation"] is True, action


def test_jobs_in_other_containers_stay_isolated(definitions) -> None:
    """Data Wrangler's and Model Monitor's containers log nowhere: tracking changes nothing."""
    wrangler = [state for asl in definitions[ON].values()
                for name, state in asl["States"].items() if name == "Run Data Wrangler flow"]
    assert wrangler, "no Data Wrangler job in prod's definitions"
    for state in wrangler:
        assert state["Parameters"]["NetworkConfig"]["EnableNetworkIsolation"] is True
        assert "Environment" not in state["Parameters"]


def test_models_stay_isolated_and_the_package_names_the_server(synthesized, definitions):
    config = synthesized[ON].config
    (training,) = [asl for name, asl in definitions[ON].items() if name.endswith("-training")]
    states = training["States"]
    register = states["Register model package"]["Parameters"]
    assert register["CustomerMetadataProperties"]["tracking_server"] == server_arn(config)
    # The package's serving container does not log anywhere.
    (container,) = register["InferenceSpecification"]["Containers"]
    assert contract.TRACKING_URI_ENV not in container["Environment"]


def test_the_isolated_vpc_reaches_the_tracking_api_through_its_endpoint(synthesized) -> None:
    region = synthesized[ON].config.region
    endpoints = of_type(stack_template(synthesized[ON], "Network"), "AWS::EC2::VPCEndpoint")
    names = [e["Properties"]["ServiceName"] for e in endpoints]
    # AWS's guide to MLflow over PrivateLink: the experiments endpoint, beside the API one.
    assert f"aws.sagemaker.{region}.experiments" in names
    assert any("sagemaker.api" in json.dumps(n) for n in names)


@pytest.mark.parametrize(("key", "value"), [
    ("server_size", "Tiny"), ("mlflow_version", "latest"), ("artifact_prefix", "/mlflow"),
    ("artifact_prefix", "mlflow"), ("weekly_maintenance_window_start", "Sunday 02:00")])
def test_config_refuses_what_the_resource_would_refuse(tmp_path, key: str, value: str) -> None:
    data = json.loads(stage_file(OFF).read_text())
    data["experiment_tracking"] = {"enabled": True, key: value}
    path = tmp_path / f"{OFF}.json"
    path.write_text(json.dumps(data))
    with pytest.raises(ConfigError) as caught:
        load_stage_config(OFF, path)
    assert [p.key for p in caught.value.problems] == [f"experiment_tracking.{key}"]
