"""The CI/CD stack (config/stages/cicd.json): stages in order, approval, smoke test, assets,
artifact store, notifications, IAM, cdk-nag, cfn-lint, and the `cicd` config section."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import aws_cdk as cdk
import pytest

from config import load_stage_config, plan_delivery
from ml_constructs.compliance import apply_nag_packs, nag_packs
from ml_constructs.delivery_pipeline import CDK_ASSETS_VERSION, CDK_CLI_VERSION
from ml_constructs.smoke_test import SCRIPT

ROOT = Path(__file__).resolve().parents[2]
PIPELINE_ACCOUNT, DEV_ACCOUNT, PROD_ACCOUNT = "111111111111", "222222222222", "333333333333"


@dataclasses.dataclass
class Synthesized:
    app: cdk.App
    outdir: Path

    def template(self, pattern: str = "Cicd.template.json") -> dict:
        (path,) = self.outdir.glob(pattern)
        return json.loads(path.read_text())

    @property
    def templates(self) -> list[Path]:
        return sorted([*self.outdir.glob("*.template.json"),
                       *self.outdir.glob("assembly-*/*.template.json")])


@pytest.fixture(scope="module")
def cicd(synthesized_cicd) -> Synthesized:
    """The committed pipeline stage, synthesized once a session (tests/conftest.py)."""
    assert synthesized_cicd.config.cicd.enabled
    return Synthesized(synthesized_cicd.app, synthesized_cicd.outdir)


@pytest.fixture(scope="module")
def cross_env(tmp_path_factory) -> Synthesized:
    """dev and prod in their own accounts, prod in another region than the pipeline."""
    from stacks.cicd_stack import CicdStack
    from stacks.platform_app import cdk_json_context

    host = dataclasses.replace(load_stage_config("cicd"), account=PIPELINE_ACCOUNT)
    stages = [dataclasses.replace(load_stage_config("dev"), account=DEV_ACCOUNT),
              dataclasses.replace(load_stage_config("prod"), account=PROD_ACCOUNT,
                                  region="eu-central-1")]
    outdir = tmp_path_factory.mktemp("cdk-out-cross-env")
    app = cdk.App(context=cdk_json_context(), outdir=str(outdir))
    CicdStack(app, "Cicd", env=cdk.Environment(account=host.account, region=host.region),
              config=host, delivery=plan_delivery(host, stages), git_commit="0123456789ab")
    apply_nag_packs(app)
    app.synth()
    return Synthesized(app, outdir)


@pytest.fixture(scope="module")
def template(cicd) -> dict:
    return cicd.template()


def _resources(template: dict, kind: str) -> dict:
    return {k: r for k, r in template["Resources"].items() if r["Type"] == kind}


def _stages(template: dict) -> dict[str, list[dict]]:
    (pipeline,) = _resources(template, "AWS::CodePipeline::Pipeline").values()
    return {s["Name"]: s["Actions"] for s in pipeline["Properties"]["Stages"]}


def _project(template: dict, logical_prefix: str) -> dict:
    (project,) = [r for k, r in _resources(template, "AWS::CodeBuild::Project").items()
                  if k.startswith(logical_prefix)]
    return project["Properties"]


def test_only_a_cicd_enabled_stage_builds_the_pipeline(cicd, synthesized):
    assert [c.node.id for c in cicd.app.node.children if isinstance(c, cdk.Stack)] == ["Cicd"]
    for stage in synthesized.values():
        assert stage.app.node.try_find_child("Cicd") is None


def test_source_build_self_mutation_assets_then_stages_in_config_order(template):
    assert list(_stages(template)) == ["Source", "Build", "UpdatePipeline", "Assets", "dev",
                                       "prod"]


def test_source_is_the_configured_connection(template):
    (action,) = _stages(template)["Source"]
    assert action["ActionTypeId"]["Provider"] == "CodeStarSourceConnection"
    config = load_stage_config("cicd").cicd
    assert action["Configuration"] == {
        "ConnectionArn": config.connection_arn, "FullRepositoryId": config.repository,
        "BranchName": config.branch, "DetectChanges": True}
    role = action["RoleArn"]["Fn::GetAtt"][0]
    (policy,) = [p["Properties"]["PolicyDocument"] for p in
                 _resources(template, "AWS::IAM::Policy").values()
                 if p["Properties"]["Roles"] == [{"Ref": role}]]
    (use,) = [s for s in policy["Statement"] if s["Resource"] == config.connection_arn]
    # Both service prefixes: the connection's ARN is of the service's new name.
    assert sorted(use["Action"]) == ["codeconnections:UseConnection",
                                     "codestar-connections:UseConnection"]


def test_stages_deploy_the_same_stacks_as_the_plain_app(cicd, synthesized):
    for name in ("dev", "prod"):
        stage = cicd.app.node.find_child("Cicd").node.find_child(name)
        plain = {c.node.id: c.stack_name for c in synthesized[name].app.node.children
                 if isinstance(c, cdk.Stack)}
        staged = {c.node.id: c.stack_name for c in stage.node.children
                  if isinstance(c, cdk.Stack)}
        assert {k: v for k, v in staged.items() if k != "DeliverySupport"} == plain


def test_manual_approval_opens_prod_and_nothing_else(template):
    stages = _stages(template)
    approvals = {name: [a for a in actions if a["ActionTypeId"]["Category"] == "Approval"]
                 for name, actions in stages.items()}
    assert [a["Name"] for a in approvals["prod"]] == ["Approve-prod"]
    assert approvals["prod"][0]["RunOrder"] == min(a["RunOrder"] for a in stages["prod"])
    assert all(not found for name, found in approvals.items() if name != "prod")


def test_smoke_test_runs_after_every_dev_deployment_with_its_outputs(template):
    dev = _stages(template)["dev"]
    smoke = next(a for a in dev if a["Name"] == "SmokeTest-churn")  # one per use case
    assert smoke["RunOrder"] > max(a["RunOrder"] for a in dev if a is not smoke)
    variables = json.loads(smoke["Configuration"]["EnvironmentVariables"])
    env = {v["name"]: v["value"] for v in variables}
    assert env["RAW_BUCKET"].endswith(".RawBucketName}")
    assert env["SMOKE_TEST_ROLE_ARN"].endswith(".SmokeTestRoleArn}")
    assert all(not a["Name"].startswith("SmokeTest") for a in _stages(template)["prod"])
    project = _project(template, "DeliveryCodePipelinedevSmokeTestchurn")
    spec = json.loads(project["Source"]["BuildSpec"])
    assert spec["env"]["shell"] == "bash"
    assert spec["phases"]["build"]["commands"] == [SCRIPT]
    fixed = {v["Name"]: v["Value"] for v in project["Environment"]["EnvironmentVariables"]}
    assert fixed["STATE_MACHINE_NAME"] == "mlplatform-dev-churn-training"
    assert fixed["SAMPLE_FILE"] == "runtime_scripts/use_cases/churn/sample_data/mlc_churn.csv"


def test_synth_runs_the_project_tests_reports_them_and_synthesizes_this_stage(template):
    spec = json.loads(_project(template, "DeliveryCodePipelineBuildSynth")["Source"]["BuildSpec"])
    commands = spec["phases"]["build"]["commands"]
    assert commands[0] == 'PYTEST_ADDOPTS="--junitxml=reports/pytest.xml" make test'
    assert "cdk synth" in commands[1] and "-c stage=cicd" in commands[1]
    assert spec["reports"]["pytest"] == {"files": ["pytest.xml"], "base-directory": "reports",
                                         "file-format": "JUNITXML"}
    assert spec["artifacts"]["base-directory"] == "cdk.out"


def test_asset_publishing_builds_images_privileged_with_pinned_tools(template):
    projects = {k: r["Properties"] for k, r in _resources(template, "AWS::CodeBuild::Project")
                .items()}
    docker = [p for k, p in projects.items() if "AssetsDocker" in k]
    files = [p for k, p in projects.items() if "AssetsFile" in k]
    assert docker and files
    assert all(p["Environment"]["PrivilegedMode"] for p in docker)
    others = [p for k, p in projects.items() if "AssetsDocker" not in k]
    assert not any(p["Environment"]["PrivilegedMode"] for p in others)
    for project in docker + files:
        assert f"npm install -g cdk-assets@{CDK_ASSETS_VERSION}" in project["Source"]["BuildSpec"]
    mutation = _project(template, "DeliveryPipelineUpdatePipelineSelfMutation")
    assert f"npm install -g aws-cdk@{CDK_CLI_VERSION}" in mutation["Source"]["BuildSpec"]
    assert CDK_CLI_VERSION == json.loads((ROOT / "package.json").read_text())[
        "devDependencies"]["aws-cdk"]


def test_artifact_bucket_is_kms_encrypted_rotated_logged_and_tls_only(template):
    (pipeline,) = _resources(template, "AWS::CodePipeline::Pipeline").values()
    store = pipeline["Properties"]["ArtifactStore"]
    key_id = store["EncryptionKey"]["Id"]["Fn::GetAtt"][0]
    assert template["Resources"][key_id]["Properties"]["EnableKeyRotation"] is True
    bucket = template["Resources"][store["Location"]["Ref"]]["Properties"]
    rule = bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]
    assert rule["ServerSideEncryptionByDefault"] == {
        "SSEAlgorithm": "aws:kms", "KMSMasterKeyID": {"Fn::GetAtt": [key_id, "Arn"]}}
    assert "DestinationBucketName" in bucket["LoggingConfiguration"]
    policy = next(p["Properties"]["PolicyDocument"] for p in
                  _resources(template, "AWS::S3::BucketPolicy").values()
                  if p["Properties"]["Bucket"] == store["Location"])
    denies = [s["Condition"] for s in policy["Statement"] if s["Effect"] == "Deny"]
    assert {"Bool": {"aws:SecureTransport": "false"}} in denies


def test_failures_and_pending_approvals_notify_an_encrypted_topic(template):
    (rule,) = _resources(template, "AWS::CodeStarNotifications::NotificationRule").values()
    assert sorted(rule["Properties"]["EventTypeIds"]) == [
        "codepipeline-pipeline-manual-approval-needed",
        "codepipeline-pipeline-pipeline-execution-failed"]
    (topic_id, topic), = _resources(template, "AWS::SNS::Topic").items()
    assert rule["Properties"]["Targets"] == [{"TargetAddress": {"Ref": topic_id},
                                              "TargetType": "SNS"}]
    assert "KmsMasterKeyId" in topic["Properties"]


def test_images_are_scanned_on_push(template):
    (scanning,) = _resources(template, "AWS::ECR::RegistryScanningConfiguration").values()
    assert scanning["Properties"]["Rules"] == [{
        "ScanFrequency": "SCAN_ON_PUSH",
        "RepositoryFilters": [{"Filter": "*", "FilterType": "WILDCARD"}]}]


def test_no_aws_managed_admin_policies_anywhere(cicd, cross_env):
    for path in cicd.templates + cross_env.templates:
        text = path.read_text()
        assert "AdministratorAccess" not in text and "PowerUserAccess" not in text, path
        for resource in json.loads(text)["Resources"].values():
            if resource["Type"] in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
                for statement in resource["Properties"]["PolicyDocument"]["Statement"]:
                    assert statement["Action"] not in ("*", ["*"]), path


def test_pipeline_roles_carry_no_managed_policies(template):
    for role in _resources(template, "AWS::IAM::Role").values():
        assert "ManagedPolicyArns" not in role["Properties"]


@pytest.mark.parametrize("name", ["cicd", "cross_env"])
def test_nag_packs_report_nothing_unacknowledged(request, name):
    app = request.getfixturevalue(name).app
    findings = [f"{v.rule_name} on {[r.resource_logical_id for r in v.violating_resources]}"
                for pack in nag_packs(app) for v in pack.validate_scope(app).violations]
    assert findings == []


def test_cfn_lint_finds_nothing(cicd, cross_env):
    # The cross-account prod network stack has placeholder AZs without a context lookup; its
    # stages are the plain stages linted elsewhere, so only its pipeline-side stacks here.
    templates = [*cicd.templates, *cross_env.outdir.glob("*.template.json")]
    cfn_lint = Path(sys.executable).with_name("cfn-lint")
    result = subprocess.run([str(cfn_lint), "--format", "parseable", *map(str, templates)],
                            cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr


def test_cross_account_stages_get_keys_trust_and_hardened_replicas(cross_env):
    replica = cross_env.template(f"cross-region-stack-{PIPELINE_ACCOUNT}_*.template.json")
    # Each stage's deploy role may decrypt the artifacts it reads: dev from the pipeline's
    # bucket, prod (another region) from the replica there.
    for template, account, region in ((cross_env.template(), DEV_ACCOUNT, "eu-west-1"),
                                      (replica, PROD_ACCOUNT, "eu-central-1")):
        key_policy = json.dumps([k["Properties"]["KeyPolicy"] for k in
                                 _resources(template, "AWS::KMS::Key").values()])
        assert f"{account}:role/cdk-hnb659fds-deploy-role-{account}-{region}" in key_policy
    support = cross_env.template("assembly-Cicd-dev/*DeliverySupport*.template.json")
    (role,) = _resources(support, "AWS::IAM::Role").values()
    assert role["Properties"]["RoleName"] == "mlplatform-dev-smoke-test-access"
    trusted = role["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]["Principal"]["AWS"]
    assert f":iam::{PIPELINE_ACCOUNT}:role/mlplatform-cicd-smoke-test-dev" in json.dumps(trusted)
    buckets = _resources(replica, "AWS::S3::Bucket")
    logged = [b for b in buckets.values() if "LoggingConfiguration" in b["Properties"]]
    assert len(logged) == 1 and logged[0]["Properties"]["VersioningConfiguration"] == {
        "Status": "Enabled"}
    assert all(k["Properties"]["EnableKeyRotation"] for k in
               _resources(replica, "AWS::KMS::Key").values())
    # Each other registry scans on push once: dev's account, and prod's account and region.
    for pattern in ("assembly-Cicd-dev/*DeliverySupport*", "assembly-Cicd-prod/*DeliverySupport*"):
        assert _resources(cross_env.template(f"{pattern}.template.json"),
                          "AWS::ECR::RegistryScanningConfiguration")
