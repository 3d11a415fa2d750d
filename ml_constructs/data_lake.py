"""The governed data lake of a stage: Lake Formation (lake_governance.py), the Athena
workgroup, and the managed policy a reader's role needs to query through them (attached to
the configured readers' roles; the Studio execution role carries the same statements).

A reader reads the curated data only through Lake Formation: the policy grants no S3 access
to the data buckets, so a column Lake Formation leaves out cannot be read from the files."""

from __future__ import annotations

from collections.abc import Sequence

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from constructs import Construct

from config import StageConfig
from ml_constructs.athena_workgroup import RESULTS_PREFIX, AthenaWorkgroup
from ml_constructs.compliance import acknowledge, in_finding, wildcard_findings
from ml_constructs.lake_governance import GovernedUseCase, LakeGovernance
from ml_constructs.resource_names import StageNames


class DataLake(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, config: StageConfig, shared,
                 use_cases: Sequence[GovernedUseCase]) -> None:
        """`shared`: the stage's SharedPipelineResources (key, buckets, catalog, the jobs'
        execution role)."""
        super().__init__(scope, construct_id)
        names = StageNames(config.resource_prefix)
        self.governance = LakeGovernance(
            self, "LakeFormation", config=config.lake_formation, catalog=shared.glue_catalog,
            key=shared.key, raw_bucket=shared.raw_bucket, curated_bucket=shared.curated_bucket,
            use_cases=use_cases, pipeline_readers=[shared.execution_role])
        self.workgroup = AthenaWorkgroup(self, "Athena", name=names.athena_workgroup,
                                         key=shared.key,
                                         artifacts_bucket=shared.artifacts_bucket)
        self.database_name = shared.glue_catalog.database_name
        readers = [iam.Role.from_role_arn(self, f"Reader{i}", reader.role_arn)
                   for i, reader in enumerate(config.lake_formation.readers)]
        self.reader_policy = iam.ManagedPolicy(
            self, "ReaderPolicy", description="Query the curated tables through Lake "
            "Formation and the stage's Athena workgroup", statements=self.reader_statements(),
            roles=readers)
        acknowledge(self.reader_policy, READER_REASON,
                    *wildcard_findings(resources=self.reader_wildcards(self)))

    def reader_statements(self) -> list[iam.PolicyStatement]:
        stack = cdk.Stack.of(self)
        catalog = [stack.format_arn(service="glue", resource="catalog"),
                   stack.format_arn(service="glue", resource="database",
                                    resource_name=self.database_name),
                   stack.format_arn(service="glue", resource="table",
                                    resource_name=f"{self.database_name}/*")]
        return [
            iam.PolicyStatement(
                actions=["glue:GetDatabase", "glue:GetDatabases", "glue:GetTable",
                         "glue:GetTables", "glue:GetPartition", "glue:GetPartitions",
                         "glue:BatchGetPartition"], resources=catalog),
            # Lake Formation vends the data's credentials to Athena for what it grants; the
            # action has no resource-level permissions (Service Authorization Reference).
            iam.PolicyStatement(actions=["lakeformation:GetDataAccess"], resources=["*"]),
            *self.workgroup.reader_statements(),
        ]

    def reader_wildcards(self, scope: Construct) -> tuple[str, ...]:
        """The wildcard resources of `reader_statements`, as cdk-nag spells them in `scope`."""
        stack = cdk.Stack.of(self)
        return ("*", in_finding(scope, stack.format_arn(
                    service="glue", resource="table", resource_name=f"{self.database_name}/*")),
                in_finding(scope, self.workgroup.artifacts_bucket.arn_for_objects(
                    f"{RESULTS_PREFIX}*")))


READER_REASON = (
    "Readers list the stage database's tables (any table of it, what Lake Formation lets them "
    "see is its own decision) and read and write Athena query results under the workgroup's "
    "result prefix; lakeformation:GetDataAccess has no resource-level permissions.")
