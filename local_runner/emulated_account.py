"""Deploy the synthesized templates into the emulated account: the resources local runs use.

Reads every stack template in cdk.out and creates, in moto, what the state machines touch:
S3 buckets (by their real names), SNS topics, Lambda functions (their handlers loaded from the
asset folders CDK staged), SageMaker model package groups and monitoring job definitions, Glue
jobs, CloudWatch metric alarms (composite alarms are recorded only: moto has no
PutCompositeAlarm), EventBridge rules (for LocalEvents) and the state machines themselves, with
every `Ref`/`Fn::GetAtt`/cross-stack output in their definitions resolved to the emulated
resources. Generic: nothing here names a pipeline.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path

from local_runner.assembly import StackTemplate
from local_runner.definitions import (
    PSEUDO_PARAMETERS,
    definition_text,
    generated_name,
    render_intrinsic,
)
from local_runner.errors import RunnerError

ACCOUNT = PSEUDO_PARAMETERS["AWS::AccountId"]
ALARM_TYPES = ("AWS::CloudWatch::Alarm", "AWS::CloudWatch::CompositeAlarm")
# AWS::CloudWatch::Alarm properties PutMetricAlarm takes under the same name.
ALARM_PROPERTIES = frozenset((
    "AlarmDescription", "ActionsEnabled", "OKActions", "AlarmActions", "InsufficientDataActions",
    "MetricName", "Namespace", "Statistic", "ExtendedStatistic", "Dimensions", "Period", "Unit",
    "EvaluationPeriods", "DatapointsToAlarm", "Threshold", "ComparisonOperator",
    "TreatMissingData", "EvaluateLowSampleCountPercentile", "Metrics", "ThresholdMetricId"))
MONITORING_JOB_DEFINITION = "JobDefinition"
# What `Ref` gives for the EC2 resources jobs name in their VpcConfig.
EC2_ID_PREFIXES = {"AWS::EC2::Subnet": "subnet", "AWS::EC2::SecurityGroup": "sg",
                   "AWS::EC2::VPC": "vpc"}


@dataclass
class GlueJob:
    name: str
    script: Path
    default_arguments: dict[str, str]


@dataclass
class EmulatedAccount:
    region: str
    substitutions: dict[str, str] = field(default_factory=dict)
    buckets: dict[str, str] = field(default_factory=dict)  # logical id -> bucket name
    state_machines: dict[str, str] = field(default_factory=dict)  # name -> ARN
    lambdas: dict[str, object] = field(default_factory=dict)  # function name -> handler
    glue_jobs: dict[str, GlueJob] = field(default_factory=dict)
    outputs: dict[str, str] = field(default_factory=dict)  # "<stack>.<output>" -> value
    model_package_groups: list[str] = field(default_factory=list)
    alarms: dict[str, str] = field(default_factory=dict)  # alarm name -> ARN
    rules: list[dict] = field(default_factory=list)  # AWS::Events::Rule properties, rendered

    def render(self, node) -> str:
        return render_intrinsic(node, self.substitutions)

    def output(self, name: str) -> str:
        """A stack output by its name (e.g. RawBucketName), whichever stack declares it."""
        matches = [v for k, v in self.outputs.items() if k.split(".", 1)[1] == name]
        if len(matches) != 1:
            raise RunnerError(f"no single stack output named {name!r}",
                              f"outputs: {', '.join(sorted(self.outputs))}")
        return matches[0]


def provision(stacks: list[StackTemplate], assembly_dir: Path, *, region: str, clients,
              sagemaker) -> EmulatedAccount:
    account = named_account(stacks, region=region)
    for stack in stacks:
        for logical_id, resource in stack.template.get("Resources", {}).items():
            _create(account, stack, logical_id, resource, assembly_dir, clients, sagemaker)
    return account


def named_account(stacks: list[StackTemplate], *, region: str) -> EmulatedAccount:
    """Names, ARNs and ids of every resource and stack output, nothing created yet: what
    `Ref`, `Fn::GetAtt` and cross-stack references in the templates render to."""
    account = EmulatedAccount(region=region)
    # Names first (buckets, topics, functions, roles...), so outputs and definitions can refer
    # to them.
    for stack in stacks:
        for logical_id, resource in stack.template.get("Resources", {}).items():
            _name(account, stack, logical_id, resource, region)
    for stack in stacks:
        for name, output in stack.template.get("Outputs", {}).items():
            account.outputs[f"{stack.stack_name}.{name}"] = account.render(output["Value"])
            account.substitutions[f"{stack.stack_name}.{name}"] = \
                account.outputs[f"{stack.stack_name}.{name}"]
    return account


def _ec2_id(prefix: str, logical_id: str) -> str:
    """An EC2 id in AWS's form ('subnet-' and 17 hex digits), stable per logical id."""
    return f"{prefix}-{hashlib.sha256(logical_id.encode()).hexdigest()[:17]}"


def _name(account: EmulatedAccount, stack: StackTemplate, logical_id: str, resource: dict,
          region: str) -> None:
    kind, props = resource["Type"], resource.get("Properties", {})
    subs = account.substitutions
    arn = f"arn:aws:{{service}}:{region}:{ACCOUNT}:{{resource}}"
    if kind == "AWS::S3::Bucket":
        name = account.render(props["BucketName"]) if "BucketName" in props \
            else generated_name(stack.stack_name, logical_id)
        account.buckets[logical_id] = name
        subs[logical_id] = name
        subs[f"{logical_id}.Arn"] = f"arn:aws:s3:::{name}"
    elif kind == "AWS::SNS::Topic":
        name = props.get("TopicName", logical_id)
        subs[logical_id] = arn.format(service="sns", resource=name)
    elif kind == "AWS::Lambda::Function":
        name = props.get("FunctionName", logical_id)
        subs[f"{logical_id}.Arn"] = arn.format(service="lambda", resource=f"function:{name}")
        subs[logical_id] = name
    elif kind == "AWS::IAM::Role":
        subs[f"{logical_id}.Arn"] = f"arn:aws:iam::{ACCOUNT}:role/{logical_id}"
        subs[logical_id] = logical_id
    elif kind == "AWS::KMS::Key":
        subs[f"{logical_id}.Arn"] = arn.format(service="kms", resource=f"key/{logical_id}")
    elif kind == "AWS::StepFunctions::StateMachine":
        name = account.render(props.get("StateMachineName", logical_id))
        subs[logical_id] = arn.format(service="states", resource=f"stateMachine:{name}")
    elif kind in ALARM_TYPES:
        name = account.render(props.get("AlarmName", logical_id))
        subs[logical_id] = name
        subs[f"{logical_id}.Arn"] = f"arn:aws:cloudwatch:{region}:{ACCOUNT}:alarm:{name}"
    elif kind in EC2_ID_PREFIXES:
        subs[logical_id] = _ec2_id(EC2_ID_PREFIXES[kind], logical_id)
        if kind == "AWS::EC2::SecurityGroup":
            subs[f"{logical_id}.GroupId"] = subs[logical_id]
    elif kind in ("AWS::Glue::Job", "AWS::SageMaker::ModelPackageGroup"):
        subs[logical_id] = account.render(props.get("Name") or
                                          props.get("ModelPackageGroupName") or logical_id)


def _create(account: EmulatedAccount, stack: StackTemplate, logical_id: str, resource: dict,
            assembly_dir: Path, clients, sagemaker) -> None:
    kind, props = resource["Type"], resource.get("Properties", {})
    if kind == "AWS::S3::Bucket":
        name = account.buckets[logical_id]
        config = {} if account.region == "us-east-1" else {
            "CreateBucketConfiguration": {"LocationConstraint": account.region}}
        clients.s3.create_bucket(Bucket=name, **config)
    elif kind == "AWS::SNS::Topic":
        clients.sns.create_topic(Name=props.get("TopicName", logical_id))
    elif kind == "AWS::Lambda::Function" and not str(props.get("Runtime", "")).startswith(
            "python"):
        return  # e.g. CDK's Node.js custom-resource providers: deploy-time only, never invoked
    elif kind == "AWS::Lambda::Function":
        folder = assembly_dir / resource["Metadata"]["aws:asset:path"]
        account.lambdas[props.get("FunctionName", logical_id)] = \
            _load_handler(folder, props["Handler"])
    elif kind == "AWS::SageMaker::ModelPackageGroup":
        group = props["ModelPackageGroupName"]
        sagemaker.create_model_package_group(group)
        account.model_package_groups.append(group)
    elif kind == "AWS::Glue::Job":
        script = resource.get("Metadata", {}).get("aws:asset:path")
        name = account.render(props.get("Name", logical_id))
        account.glue_jobs[name] = GlueJob(
            name=name, script=_glue_script(assembly_dir, props, script),
            default_arguments={k: account.render(v)
                               for k, v in props.get("DefaultArguments", {}).items()})
    elif kind in ALARM_TYPES:
        _create_alarm(account, kind, logical_id, props, clients)
    elif kind.startswith("AWS::SageMaker::") and kind.endswith(MONITORING_JOB_DEFINITION):
        _register_job_definition(account, kind, props, sagemaker)
    elif kind == "AWS::Events::Rule":
        account.rules.append({"Name": logical_id, **_rendered(account, props)})
    elif kind == "AWS::StepFunctions::StateMachine":
        name = account.render(props.get("StateMachineName", logical_id))
        definition = definition_text(resource, assembly_dir, account.render)
        # With the template's tags, which is how `mlplatform start` finds a deployed pipeline.
        response = clients.sfn.create_state_machine(
            name=name, definition=definition, roleArn=account.render(props["RoleArn"]),
            tags=[{"key": tag["Key"], "value": account.render(tag["Value"])}
                  for tag in props.get("Tags", [])])
        account.state_machines[name] = response["stateMachineArn"]


def _rendered(account: EmulatedAccount, node):
    """A property tree with every intrinsic in it rendered."""
    if isinstance(node, list):
        return [_rendered(account, item) for item in node]
    if isinstance(node, dict):
        if len(node) == 1 and next(iter(node)).startswith(("Ref", "Fn::")):
            return account.render(node)
        return {key: _rendered(account, value) for key, value in node.items()}
    return node


def _create_alarm(account: EmulatedAccount, kind: str, logical_id: str, props: dict,
                  clients) -> None:
    name = account.substitutions[logical_id]
    account.alarms[name] = account.substitutions[f"{logical_id}.Arn"]
    if kind == "AWS::CloudWatch::Alarm":
        request = {k: v for k, v in _rendered(account, props).items() if k in ALARM_PROPERTIES}
        clients.cloudwatch.put_metric_alarm(**{**request, "AlarmName": name})


def _register_job_definition(account: EmulatedAccount, kind: str, props: dict,
                             sagemaker) -> None:
    """E.g. AWS::SageMaker::DataQualityJobDefinition: type DataQuality, its endpoint input."""
    monitoring_type = kind.removeprefix("AWS::SageMaker::").removesuffix(
        MONITORING_JOB_DEFINITION)
    job_input = _rendered(account, props.get(f"{monitoring_type}JobInput", {}))
    sagemaker.monitoring.register_job_definition(
        account.render(props["JobDefinitionName"]), monitoring_type,
        job_input.get("EndpointInput", {}).get("EndpointName", ""))


def _glue_script(assembly_dir: Path, props: dict, asset_path: str | None) -> Path:
    """The job script as CDK staged it: the asset whose hash is in ScriptLocation's key."""
    location = json.dumps(props["Command"]["ScriptLocation"])
    for asset in assembly_dir.glob("asset.*"):
        digest = asset.name.removeprefix("asset.").split(".")[0]
        if digest in location:
            return asset if asset.is_file() else next(asset.glob("*.py"))
    raise RunnerError(f"the Glue job script asset is not in {assembly_dir}",
                      "re-run `cdk synth` (the runner does it unless --no-synth)")


def _load_handler(folder: Path, handler: str):
    """Import `module.function` from a Lambda asset folder, as the Lambda runtime would."""
    module_name, _, function = handler.rpartition(".")
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))
    try:
        module = importlib.import_module(module_name)
    except ImportError as error:
        raise RunnerError(f"cannot import Lambda handler {handler} from {folder}: {error}") \
            from None
    return getattr(module, function)
