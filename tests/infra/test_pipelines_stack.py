"""The pipelines stack: state machines, their integrations, retry/catch, IAM and validity."""

from __future__ import annotations

import json

import pytest
from aws_cdk.assertions import Match, Template
from sagemaker.core import image_uris

from runtime_scripts.use_cases.churn.manifest import MANIFEST as CHURN

BUILTIN_XGBOOST_VERSION = CHURN.image.builtin_training.version

TRAINING = "mlplatform-dev-churn-training"
BUILTIN_TRAINING = "mlplatform-builtin-churn-training"  # the built-in XGBoost variant of dev
BATCH = "mlplatform-dev-churn-batch-inference"
CROSS_VALIDATION = "mlplatform-dev-churn-cross-validation"


@pytest.fixture(scope="module")
def template(dev) -> Template:
    return Template.from_stack(dev.stack("Pipelines"))


@pytest.fixture(scope="module")
def training(definitions) -> dict:
    return definitions["dev"][TRAINING]


@pytest.fixture(scope="module")
def batch(definitions) -> dict:
    return definitions["dev"][BATCH]


def _resources(asl: dict) -> dict[str, str]:
    return {name: s.get("Resource", "") for name, s in asl["States"].items()
            if s["Type"] == "Task"}


def test_training_states_and_integrations(training):
    resources = _resources(training)
    assert training["StartAt"] == "Validate input"
    expected = {
        "Run Glue ETL": ":states:::glue:startJobRun.sync",
        "Preprocess data": ":states:::sagemaker:createProcessingJob.sync",
        "Train model": ":states:::sagemaker:createTrainingJob.sync",
        "Tune hyperparameters": ":states:::sagemaker:createHyperParameterTuningJob.sync",
        "Tune hyperparameters (warm start)":
            ":states:::sagemaker:createHyperParameterTuningJob.sync",
        "Describe best training job": ":states:::aws-sdk:sagemaker:describeTrainingJob",
        "Evaluate model": ":states:::sagemaker:createProcessingJob.sync",
        "Read evaluation": ":states:::aws-sdk:s3:getObject",
        "Create model": ":states:::aws-sdk:sagemaker:createModel",
        "Register model package": ":states:::aws-sdk:sagemaker:createModelPackage",
        "Notify success": ":states:::sns:publish",
        "Notify rejection": ":states:::sns:publish",
        "Notify failure": ":states:::sns:publish",
    }
    for state, integration in expected.items():
        assert resources[state].endswith(integration), (state, resources[state])
    states = training["States"]
    assert states["Quality gate"]["Type"] == "Choice"
    assert states["Model rejected"]["Type"] == "Succeed"
    assert states["Pipeline failed"]["Type"] == "Fail"
    assert states["Pipeline failed"]["CausePath"] == "$.error.Cause"


def test_evaluation_is_read_without_lambda(training):
    read = training["States"]["Read evaluation"]
    assert read["ResultSelector"] == {"document.$": "States.StringToJson($.Body)"}


def test_the_quality_gate_follows_the_verdict_on_every_condition(training):
    """The evaluation job judges the conditions the validator wrote as its arguments; the Choice
    reads its verdict; the rejection quotes every failed condition; the package records them."""
    states = training["States"]
    app = states["Evaluate model"]["Parameters"]["AppSpecification"]
    assert app["ContainerEntrypoint"] == ["process", "evaluate"]
    assert app["ContainerArguments.$"] == "$.quality_gate.arguments"
    gate = states["Quality gate"]
    assert gate["Choices"] == [{"Variable": "$.evaluation.document.quality_gate.passed",
                                "BooleanEquals": True, "Next": "Create model"}]
    assert gate["Default"] == "Explain rejection"
    reason = states["Explain rejection"]["Parameters"]["reason.$"]
    assert "$.evaluation.document.quality_gate.failed" in reason
    metadata = states["Register model package"]["Parameters"]["CustomerMetadataProperties"]
    assert metadata["quality_gate.$"] == "$.quality_gate.summary"


def test_batch_states_and_integrations(batch):
    resources = _resources(batch)
    assert batch["StartAt"] == "Validate input"
    assert resources["Find latest approved model package"].endswith(
        ":states:::aws-sdk:sagemaker:listModelPackages")
    assert resources["Run batch transform"].endswith(
        ":states:::sagemaker:createTransformJob.sync")
    request = batch["States"]["Run batch transform"]["Parameters"]
    assert request["TransformInput"]["SplitType.$"] == "$.data.split_type"
    assert request["DataProcessing.$"] == "$.data.data_processing"
    assert request["TransformOutput"]["KmsKeyId"]
    listing = batch["States"]["Find latest approved model package"]["Parameters"]
    assert listing["ModelApprovalStatus"] == "Approved"
    assert listing["SortOrder"] == "Descending"


def test_job_requests_use_kms_spot_checkpoints_and_metric_regexes(training):
    train = training["States"]["Train model"]["Parameters"]
    assert train["EnableManagedSpotTraining.$"] == "$.training.use_spot"
    assert train["CheckpointConfig"]["LocalPath"] == "/opt/ml/checkpoints"
    assert train["OutputDataConfig"]["KmsKeyId"]
    # Instances and volume key as the first state shaped them for the execution's instance
    # type, with the stage key it was given (tests/pipeline_input/test_volumes.py).
    assert train["ResourceConfig.$"] == "$.training.cluster_config"
    platform = training["States"]["Validate input"]["Parameters"]["platform"]
    assert platform["volume_kms_key"] == train["OutputDataConfig"]["KmsKeyId"]
    assert train["EnableNetworkIsolation"] is True
    # The image's AlgorithmSpecification, which the first state passes on unless the execution
    # names an algorithm resource.
    assert train["AlgorithmSpecification.$"] == "$.training.algorithm_specification"
    spec = training["States"]["Validate input"]["Parameters"]["platform"]["algorithm_specification"]
    metrics = {m["Name"]: m["Regex"] for m in spec["MetricDefinitions"]}
    assert tuple(metrics) == CHURN.training_metrics  # the manifest's, each with its regex
    assert metrics["validation:auc"].startswith("validation:auc=")
    tags = {t["Key"]: t.get("Value", t.get("Value.$")) for t in train["Tags"]}
    assert {"git-commit", "execution", "data"} <= set(tags)
    # The stage's cost allocation tags and the use case's, as its stack's resources have them.
    assert {k: tags[k] for k in ("project", "stage", "cost-centre", "owner", "use-case")} == {
        "project": "mlplatform", "stage": "dev", "cost-centre": "ml-platform-dev",
        "owner": "ml-team", "use-case": "churn"}
    tune = training["States"]["Tune hyperparameters (warm start)"]["Parameters"]
    assert tune["WarmStartConfig.$"] == "$.tuning.warm_start_config"
    assert "WarmStartConfig.$" not in training["States"]["Tune hyperparameters"]["Parameters"]


def test_state_machines_log_everything_encrypted_and_trace(template):
    template.resource_count_is("AWS::StepFunctions::StateMachine", 3)  # + cross-validation
    template.all_resources_properties("AWS::StepFunctions::StateMachine", {
        "TracingConfiguration": {"Enabled": True},
        "LoggingConfiguration": Match.object_like({"Level": "ALL", "IncludeExecutionData": True}),
    })
    for group in template.find_resources("AWS::Logs::LogGroup").values():
        assert "KmsKeyId" in group["Properties"]


def test_state_machine_names_are_stable(template):
    names = {r["Properties"]["StateMachineName"]
             for r in template.find_resources("AWS::StepFunctions::StateMachine").values()}
    assert names == {TRAINING, BATCH, CROSS_VALIDATION}


def test_pass_role_is_conditioned_on_sagemaker(template):
    policies = template.find_resources("AWS::IAM::Policy")
    statements = [s for p in policies.values()
                  for s in p["Properties"]["PolicyDocument"]["Statement"]]
    pass_role = [s for s in statements if s["Action"] == "iam:PassRole"]
    assert pass_role
    for statement in pass_role:
        assert statement["Condition"] == {
            "StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}}


def test_sync_jobs_may_manage_exactly_their_managed_rules(template):
    policies = template.find_resources("AWS::IAM::Policy")
    rules = json.dumps([s for p in policies.values()
                        for s in p["Properties"]["PolicyDocument"]["Statement"]
                        if "events:PutRule" in s.get("Action", [])])
    for kind in ("Processing", "Training", "Tuning", "Transform"):
        assert f"rule/StepFunctionsGetEventsForSageMaker{kind}JobsRule" in rules


def test_glue_job_is_encrypted_bookmarked_and_logged(template):
    template.has_resource_properties("AWS::Glue::Job", {
        "GlueVersion": "5.0",
        "SecurityConfiguration": Match.any_value(),
        "DefaultArguments": Match.object_like({
            "--job-bookmark-option": "job-bookmark-enable",
            "--enable-continuous-cloudwatch-log": "true",
            "--enable-glue-datacatalog": "true",
        }),
    })
    template.has_resource_properties("AWS::Glue::SecurityConfiguration", {
        "EncryptionConfiguration": {
            "S3Encryptions": [Match.object_like({"S3EncryptionMode": "SSE-KMS"})],
            "CloudWatchEncryption": Match.object_like({"CloudWatchEncryptionMode": "SSE-KMS"}),
            "JobBookmarksEncryption": Match.object_like(
                {"JobBookmarksEncryptionMode": "CSE-KMS"}),
        }
    })
    template.resource_count_is("AWS::Glue::Database", 1)
    (job,) = template.find_resources("AWS::Glue::Job").values()
    arguments = job["Properties"]["DefaultArguments"]
    assert job["Properties"]["Name"] == "mlplatform-dev-churn-etl"
    assert arguments["--table"] == "churn"
    assert json.loads(arguments["--schema_json"]) == json.loads(
        CHURN.path(CHURN.glue_schema).read_text())


def test_model_package_group_and_encrypted_topic(template):
    template.has_resource_properties("AWS::SageMaker::ModelPackageGroup",
                                     {"ModelPackageGroupName": "mlplatform-dev-churn"})
    template.has_resource_properties("AWS::SNS::Topic", {"KmsMasterKeyId": Match.any_value()})


def test_schedule_only_where_configured(synthesized):
    dev = Template.from_stack(synthesized["dev"].stack("Pipelines"))
    prod = Template.from_stack(synthesized["prod"].stack("Pipelines"))
    dev.resource_count_is("AWS::Scheduler::Schedule", 0)
    prod.has_resource_properties("AWS::Scheduler::Schedule",
                                 {"ScheduleExpression": "cron(0 3 * * ? *)"})


def test_prod_jobs_run_in_the_isolated_vpc(definitions, synthesized):
    train = definitions["prod"]["mlplatform-prod-churn-training"]["States"]["Train model"]
    assert train["Parameters"]["VpcConfig"]["Subnets"]
    network = Template.from_stack(synthesized["prod"].stack("Network"))
    network.resource_count_is("AWS::EC2::NatGateway", 0)
    network.resource_count_is("AWS::EC2::InternetGateway", 0)
    network.has_resource_properties("AWS::EC2::FlowLog", {"TrafficType": "ALL"})


# --- built-in XGBoost (training.algorithm = "builtin-xgboost") -----------------------------------
PROCESSING_STATES = ("Preprocess data", "Package model", "Evaluate model")


@pytest.fixture(scope="module")
def builtin(definitions) -> dict:
    return definitions["builtin"][BUILTIN_TRAINING]


def _defaults(asl: dict) -> dict:
    return asl["States"]["Validate input"]["Parameters"]["defaults"]


def test_builtin_xgboost_trains_and_tunes_in_the_sagemaker_image(builtin, synthesized):
    region = synthesized["builtin"].config.region
    expected = image_uris.retrieve("xgboost", region, BUILTIN_XGBOOST_VERSION)
    train = builtin["States"]["Train model"]["Parameters"]
    tunes = [builtin["States"][name]["Parameters"]["TrainingJobDefinition"]
             for name in ("Tune hyperparameters", "Tune hyperparameters (warm start)")]
    spec = builtin["States"]["Validate input"]["Parameters"]["platform"][
        "algorithm_specification"]
    assert spec == {"TrainingImage": expected, "TrainingInputMode": "File"}  # no metrics
    assert _defaults(builtin)["training"]["channels"]["train"]["content_type"] == "text/csv"
    for request in (train, *tunes):
        assert request["AlgorithmSpecification.$"] == "$.training.algorithm_specification"
        channels = request["InputDataConfig"]
        assert [c["ChannelName"] for c in channels] == ["train", "validation"]


def test_builtin_xgboost_keeps_our_image_for_everything_else(builtin, training):
    ours = training["States"]["Preprocess data"]["Parameters"]["AppSpecification"]["ImageUri"]
    assert "container-assets" in ours
    for name in PROCESSING_STATES:
        assert builtin["States"][name]["Parameters"]["AppSpecification"]["ImageUri"] == ours
    assert builtin["States"]["Create model"]["Parameters"]["PrimaryContainer"]["Image"] == ours
    register = builtin["States"]["Register model package"]["Parameters"]
    assert register["InferenceSpecification"]["Containers"][0]["Image"] == ours


def test_builtin_xgboost_model_is_packaged_before_evaluation(builtin):
    states = builtin["States"]
    # After the training rules (Debugger's statuses polled after a single job: builtin has
    # training.debugger on), whichever branch trained.
    assert states["Train model"]["Next"] == "Describe training rules"
    assert states["Describe best training job"]["Next"] == "No Debugger rule statuses"
    assert states["Training rules passed?"]["Default"] == "Package model"
    package = states["Package model"]
    assert package["Resource"].endswith(":states:::sagemaker:createProcessingJob.sync")
    assert package["Next"] == "Use packaged model"
    request = package["Parameters"]
    assert request["ProcessingJobName.$"] == "$.run.job_names.package"
    assert request["AppSpecification"]["ContainerEntrypoint"] == ["process", "package"]
    inputs = {i["InputName"]: i["S3Input"] for i in request["ProcessingInputs"]}
    assert inputs["model"]["S3Uri.$"] == "$.model.artifacts"
    assert inputs["transform"]["S3Uri.$"] == "$.run.s3.transform"
    assert inputs["model"]["LocalPath"] == "/opt/ml/processing/input/model"
    (output,) = request["ProcessingOutputConfig"]["Outputs"]
    assert output["OutputName"] == "packaged"
    assert output["S3Output"]["S3Uri.$"] == "$.run.s3.packaged"
    use = states["Use packaged model"]
    assert use["Type"] == "Pass" and use["ResultPath"] == "$.model"
    assert use["Parameters"]["artifacts.$"] == \
        "States.Format('{}model.tar.gz', $.run.s3.packaged)"
    assert use["Parameters"]["builtin_artifacts.$"] == "$.model.artifacts"
    assert use["Next"] == "Evaluate model"
    evaluate = {i["InputName"]: i["S3Input"]["S3Uri.$"]
                for i in states["Evaluate model"]["Parameters"]["ProcessingInputs"]}
    assert evaluate["model"] == "$.model.artifacts"


def test_builtin_xgboost_defaults_ask_for_probabilities_and_auc(builtin, training):
    hps = _defaults(builtin)["training"]["hyperparameters"]
    static = _defaults(builtin)["tuning"]["static_hyperparameters"]
    for section in (hps, static):
        assert section["objective"] == "binary:logistic" and section["eval_metric"] == "auc"
    assert _defaults(builtin)["tuning"]["objective_metric"] == "validation:auc"
    # Script mode: train.py rejects `objective`, so the dev defaults stay as they were.
    script = _defaults(training)
    assert "objective" not in script["training"]["hyperparameters"]
    assert "objective" not in script["tuning"]["static_hyperparameters"]


@pytest.mark.parametrize(("stage", "name"), [("dev", TRAINING),
                                             ("prod", "mlplatform-prod-churn-training")])
def test_script_mode_has_no_package_step_and_trains_in_our_image(definitions, stage, name):
    states = definitions[stage][name]["States"]
    assert "Package model" not in states and "Use packaged model" not in states
    # Through the training rules (no Debugger in script mode here) to the evaluation.
    assert states["Train model"]["Next"] == "No Debugger rule statuses"
    assert states["Describe best training job"]["Next"] == "No Debugger rule statuses"
    assert states["Training rules passed?"]["Default"] == "Evaluate model"
    spec = states["Validate input"]["Parameters"]["platform"]["algorithm_specification"]
    assert spec["TrainingImage"] == \
        states["Preprocess data"]["Parameters"]["AppSpecification"]["ImageUri"]
    channels = states["Train model"]["Parameters"]["InputDataConfig"]
    assert [c["ChannelName"] for c in channels] == ["train", "validation", "transform"]


# --- per use case --------------------------------------------------------------------------------
def _tags(resource: dict) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in resource["Properties"].get("Tags", [])}


def test_state_machines_carry_their_use_case_and_pipeline_tags(template):
    machines = template.find_resources("AWS::StepFunctions::StateMachine").values()
    found = {(m["Properties"]["StateMachineName"], _tags(m)["use-case"], _tags(m)["pipeline"])
             for m in machines}
    assert found == {(TRAINING, "churn", "training"), (BATCH, "churn", "batch-inference"),
                     (CROSS_VALIDATION, "churn", "cross-validation")}
    (group,) = template.find_resources("AWS::SageMaker::ModelPackageGroup").values()
    assert _tags(group)["use-case"] == "churn"


def test_the_registered_package_takes_and_answers_the_manifests_content_types(training):
    register = training["States"]["Register model package"]["Parameters"]
    spec = register["InferenceSpecification"]
    assert spec["SupportedContentTypes"] == list(CHURN.serving.content_types)
    assert spec["SupportedResponseMIMETypes"] == list(CHURN.serving.accept_types)
    assert register["ModelPackageGroupName"] == "mlplatform-dev-churn"
    # The run's folder, which the deployment reads the training baseline from.
    assert register["CustomerMetadataProperties"]["run.$"] == "$.run.prefix"
    env = spec["Containers"][0]["Environment"]
    assert env["ML_USE_CASE"] == "churn"


def test_evaluation_is_read_from_the_use_cases_own_runs_only(template):
    statements = [s for p in template.find_resources("AWS::IAM::Policy").values()
                  for s in p["Properties"]["PolicyDocument"]["Statement"]
                  if "s3:getobject" in json.dumps(s["Action"]).lower()
                  and "StateMachineRole" in json.dumps(p["Properties"]["Roles"])]
    resources = json.dumps([s["Resource"] for s in statements])
    assert "/runs/churn/*" in resources and "/batch/churn/*" in resources
    assert '/runs/*"' not in resources and '/batch/*"' not in resources


def test_outputs_name_each_use_cases_state_machines_and_group(template):
    outputs = template.to_json()["Outputs"]
    described = {o["Description"]: o for o in outputs.values() if "Description" in o}
    assert set(described) == {"churn: the training state machine",
                              "churn: the batch inference state machine",
                              "churn: the cross-validation state machine",
                              "churn: the model registry group"}
    assert described["churn: the model registry group"]["Value"] == "mlplatform-dev-churn"


def test_the_defaults_are_the_use_cases(training, batch):
    defaults, platform = _defaults(training), training["States"]["Validate input"][
        "Parameters"]["platform"]
    assert defaults["tuning"]["objective_metric"] == CHURN.tuning.objective_metric
    assert defaults["tuning"]["ranges"] == CHURN.tuning.ranges
    assert defaults["quality_gate"]["conditions"] == [
        {"metric": "auc", "comparison": ">=", "threshold": 0.85},
        {"metric": "recall", "comparison": ">=", "threshold": 0.5}]
    assert defaults["data"]["raw_s3_uri"].endswith("/churn/")
    assert platform["use_case"] == "churn" and platform["resource_prefix"] == "mlplatform-dev"
    assert [m["name"] for m in platform["gate_metrics"]] == list(CHURN.gateable_metrics)
    assert platform["objective_metrics"] == list(CHURN.training_metrics)
    batch_defaults = _defaults(batch)
    assert batch_defaults["data"]["input_s3_uri"].endswith("/batch/input/churn/")
    assert batch["States"]["Validate input"]["Parameters"]["platform"]["content_types"] == \
        list(CHURN.serving.content_types)


def _asset_hash(directory, tmp_path, name: str) -> str:
    """Churn's image asset hash with `directory` as runtime_scripts/."""
    import aws_cdk as cdk

    from config import load_stage_config
    from ml_constructs import runtime_image
    from runtime_scripts.common import manifest

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(runtime_image, "RUNTIME_SCRIPTS", directory)
        patch.setattr(manifest, "USE_CASES_DIR", directory / "use_cases")
        app = cdk.App(outdir=str(tmp_path / name))
        stack = cdk.Stack(app, "Images")
        config = load_stage_config("dev")
        image = runtime_image.RuntimeImage(stack, "Churn", use_case=config.use_case("churn"),
                                           region=config.region)
        return image.asset.asset_hash


def test_editing_another_use_case_does_not_change_this_ones_image(tmp_path):
    """The build context holds only this use case's folder: another use case's edit neither
    changes its asset hash nor rebuilds its image; its own edit does."""
    import shutil

    from ml_constructs.runtime_image import RUNTIME_SCRIPTS

    context = tmp_path / "runtime_scripts"
    shutil.copytree(RUNTIME_SCRIPTS, context,
                    ignore=shutil.ignore_patterns("__pycache__", "sample_data"))
    other = context / "use_cases" / "other"
    other.mkdir()
    (other / "train.py").write_text("print('one')\n")
    before = _asset_hash(context, tmp_path, "before")
    (other / "train.py").write_text("print('two')\n")
    (other / "Dockerfile").write_text("FROM scratch\n")
    assert _asset_hash(context, tmp_path, "other-edited") == before
    (context / "use_cases" / "churn" / "train.py").write_text("# edited\n")
    assert _asset_hash(context, tmp_path, "own-edited") != before


def test_the_glue_role_writes_only_its_prefix_and_its_siblings(template):
    """'churn/*' and 'churn_*' (the quarantine, EMRFS folder markers), never 'churn*': that
    would also match 'churn-eu/', the default data prefix of a use case named churn-eu."""
    from local_runner.definitions import render_intrinsic

    roles = template.find_resources("AWS::IAM::Role")
    (role_id,) = [lid for lid, r in roles.items() if "glue.amazonaws.com"
                  in json.dumps(r["Properties"]["AssumeRolePolicyDocument"])]
    (policy,) = [p for p in template.find_resources("AWS::IAM::Policy").values()
                 if p["Properties"]["Roles"] == [{"Ref": role_id}]]
    writes = [s for s in policy["Properties"]["PolicyDocument"]["Statement"]
              if "s3:PutObject" in s["Action"]]
    arns = [render_intrinsic(r, {}).split(":::", 1)[-1] for s in writes for r in s["Resource"]]
    objects = sorted(arn.split("/", 1)[1] for arn in arns if "/" in arn)  # the keys after buckets
    assert objects == ["churn/*", "churn_*"], objects
