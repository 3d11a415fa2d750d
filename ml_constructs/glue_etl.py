"""Glue ETL: raw CSV -> typed, deduplicated, partitioned Parquet in the curated bucket, registered
in a Glue Data Catalog database (runtime_scripts/glue/etl.py). One job per use case, on its own
data prefixes and table; the database and the security configuration are the stage's."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_glue as glue
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from ml_constructs.compliance import (
    BUCKET_WRITE_ACTIONS,
    KEY_ACTIONS,
    acknowledge_role_policy,
    in_finding,
    wildcard_findings,
)
from ml_constructs.physical_names import replaceable_name

GLUE_SCRIPTS = Path(__file__).resolve().parent.parent / "runtime_scripts" / "glue"
SPARK_DEFAULT_DATABASE = "default"  # Spark SQL's session catalog always starts in it


class GlueCatalog(Construct):
    """What a stage's Glue ETL jobs share: the Data Catalog database and the security
    configuration (the stage's key for S3, CloudWatch logs and job bookmarks)."""

    def __init__(self, scope: Construct, construct_id: str, *, database_name: str,
                 security_configuration_name: str, key: kms.IKey) -> None:
        super().__init__(scope, construct_id)
        self.database_name = database_name
        self.database = glue.Database(self, "Database", database_name=self.database_name,
                                      description="Curated, typed data sets of the ML platform")
        # Catalog metadata only (the data stays in the retained curated bucket, and the job
        # recreates its table): deleted with the stack, so its fixed name never blocks the next
        # deploy.
        self.database.apply_removal_policy(cdk.RemovalPolicy.DESTROY)
        self.security = glue.SecurityConfiguration(
            self, "Security",
            security_configuration_name=security_configuration_name,
            s3_encryption=glue.S3Encryption.kms(key),
            cloud_watch_encryption=glue.CloudWatchEncryption.kms(key),
            job_bookmarks_encryption=glue.JobBookmarksEncryption.client_side_kms(key),
        )
        # Glue cannot update a security configuration, only replace it: a name that changes with
        # its encryption settings (the jobs follow its Ref), and nothing to keep after the stack.
        security_resource = self.security.node.default_child
        security_resource.name = replaceable_name(security_resource, security_configuration_name,
                                                  name_property="Name")
        self.security.apply_removal_policy(cdk.RemovalPolicy.DESTROY)


@dataclass(frozen=True)
class GlueEtlProps:
    job_name: str
    table_name: str
    catalog: GlueCatalog
    key: kms.IKey
    raw_bucket: s3.IBucket
    curated_bucket: s3.IBucket
    raw_prefix: str  # the use case's data prefix in each bucket, e.g. "sales/"
    curated_prefix: str
    schema: Path  # the raw table's schema (the use case's glue_schema.json)
    workers: int = 2
    timeout_minutes: int = 60
    # With Lake Formation: the LF-tags the job assigns to its table once it created it
    # (`--lake_formation_tags`, runtime_scripts/glue/etl.py); None without Lake Formation.
    lake_tags: dict | None = None


class GlueEtl(Construct):
    """One use case's ETL job: its raw prefix -> its curated prefix and catalog table."""

    def __init__(self, scope: Construct, construct_id: str, *, props: GlueEtlProps) -> None:
        super().__init__(scope, construct_id)
        stack = cdk.Stack.of(self)
        database_name = props.catalog.database_name
        self.job_name = props.job_name
        role = iam.Role(self, "Role", assumed_by=iam.ServicePrincipal("glue.amazonaws.com"),
                        description=f"{self.job_name}: read raw, write curated, update its table")
        props.raw_bucket.grant_read(role, f"{props.raw_prefix}*")
        # The curated table and its siblings: the quarantine (<output_path>_rejects) and the
        # '<directory>_$folder$' placeholders EMRFS (s3:// paths) writes when it creates a
        # folder, as AWS documents. Not '<prefix>*': that would also match the default prefix
        # of a use case named '<this one>-...'.
        curated = (f"{props.curated_prefix}*", f"{props.curated_prefix.rstrip('/')}_*")
        for pattern in curated:
            props.curated_bucket.grant_read_write(role, pattern)
        props.key.grant_encrypt_decrypt(role)
        catalog = [stack.format_arn(service="glue", resource="catalog"),
                   props.catalog.database.database_arn,
                   stack.format_arn(service="glue", resource="table",
                                    resource_name=f"{database_name}/{props.table_name}")]
        role.add_to_policy(iam.PolicyStatement(
            actions=["glue:GetDatabase", "glue:GetTable", "glue:CreateTable", "glue:UpdateTable",
                     "glue:GetPartition", "glue:GetPartitions", "glue:BatchCreatePartition",
                     "glue:CreatePartition", "glue:UpdatePartition"],
            resources=catalog))
        # With --enable-glue-datacatalog, Spark's session start checks the `default` database:
        # the Glue catalog client (AWSCatalogMetastoreClient) calls GetDatabase("default") and
        # fails the session on any error but EntityNotFound, and Spark's SharedState creates
        # `default` when it is missing (CreateDatabase, fatal when denied). Exactly that, on the
        # account's root catalog and database/default; nothing else of `default`.
        role.add_to_policy(iam.PolicyStatement(
            actions=["glue:GetDatabase", "glue:CreateDatabase"],
            resources=[catalog[0], stack.format_arn(service="glue", resource="database",
                                                    resource_name=SPARK_DEFAULT_DATABASE)]))
        log_groups = stack.format_arn(service="logs", resource="log-group",
                                      arn_format=cdk.ArnFormat.COLON_RESOURCE_NAME,
                                      resource_name="/aws-glue/*")
        role.add_to_policy(iam.PolicyStatement(
            actions=["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents",
                     "logs:AssociateKmsKey"],
            resources=[log_groups, f"{log_groups}:log-stream:*"]))
        role.add_to_policy(iam.PolicyStatement(
            actions=["cloudwatch:PutMetricData"], resources=["*"],
            conditions={"StringEquals": {"cloudwatch:namespace": "Glue"}}))
        if props.lake_tags is not None:
            # AddLFTagsToResource has no resource-level permissions (the Service Authorization
            # Reference lists no resource type); Lake Formation itself decides which tags and
            # tables (ASSOCIATE on the tags, ownership of the table it created).
            role.add_to_policy(iam.PolicyStatement(
                actions=["lakeformation:AddLFTagsToResource"], resources=["*"]))
        lake_arguments = ({} if props.lake_tags is None
                          else {"--lake_formation_tags": json.dumps(props.lake_tags)})
        self.job = glue.PySparkEtlJob(
            self, "Job",
            job_name=self.job_name,
            description="Raw CSV -> typed, deduplicated, partitioned Parquet + catalog table",
            role=role,
            script=glue.Code.from_asset(str(GLUE_SCRIPTS / "etl.py")),
            glue_version=glue.GlueVersion.V5_0,
            worker_configuration=glue.WorkerConfiguration(worker_type=glue.WorkerType.G_1X,
                                                          number_of_workers=props.workers),
            timeout=cdk.Duration.minutes(props.timeout_minutes),
            max_concurrent_runs=1,  # bookmarks and partition overwrites assume one run at a time
            max_retries=0,  # Step Functions owns the retry policy
            security_configuration=props.catalog.security,
            continuous_logging=glue.ContinuousLoggingProps(enabled=True),
            default_arguments={
                "--input_path": props.raw_bucket.s3_url_for_object(props.raw_prefix),
                "--output_path": props.curated_bucket.s3_url_for_object(props.curated_prefix),
                "--schema_json": props.schema.read_text(),
                "--database": database_name,
                "--table": props.table_name,
                "--enable-glue-datacatalog": "true",
                # Bookmarks: a scheduled run only processes raw files it has not seen yet.
                "--job-bookmark-option": "job-bookmark-enable",
                **lake_arguments,
            },
        )
        self.role = role
        acknowledge_role_policy(
            role.node.find_child("DefaultPolicy"),
            "Scoped to the raw/curated prefixes of this data set, the CDK asset bucket holding the "
            "job script, and Glue's own log groups (log streams get generated names); "
            "PutMetricData has no resource ARN and is limited to the Glue namespace by condition "
            "(as AddLFTagsToResource, which Lake Formation authorizes by its own grants); "
            "KMS actions from CDK's key grant on one key.",
            wildcard_findings(
                actions=(*BUCKET_WRITE_ACTIONS, *KEY_ACTIONS),
                resources=("*", in_finding(self, log_groups),
                           in_finding(self, f"{log_groups}:log-stream:*"),
                           in_finding(self, props.raw_bucket.arn_for_objects(
                               f"{props.raw_prefix}*")),
                           *(in_finding(self, props.curated_bucket.arn_for_objects(pattern))
                             for pattern in curated),
                           in_finding(self, stack.format_arn(
                               service="s3", region="", account="",
                               resource=f"cdk-hnb659fds-assets-{stack.account}-{stack.region}",
                               resource_name="*"))),
            ),
        )
