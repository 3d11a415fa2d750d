"""Lake Formation over the stage's data lake: the data lake settings (administrators, no
IAMAllowedPrincipals defaults), the LF-tags (the domain, i.e. the use case, and the sensitivity),
the raw and curated locations of every use case (and its prediction table's folder) registered
with a role scoped to them, the database's tag, the prediction tables' tags, and the grants of
the pipelines' roles and of the readers (data scientists).

The tables are created by each use case's Glue ETL job at run time, so the job assigns their
tags (runtime_scripts/glue/etl.py `--lake_formation_tags`, from `lake_tags` here); the stack
grants it ASSOCIATE on exactly those tag values."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lakeformation as lakeformation
from aws_cdk import aws_s3 as s3
from constructs import Construct

from config import LakeFormationConfig, UseCaseConfig
from config.lake import column_sensitivity
from ml_constructs.compliance import (
    BUCKET_WRITE_ACTIONS,
    KEY_ACTIONS,
    acknowledge_role_policy,
    in_finding,
    wildcard_findings,
)
from ml_constructs.glue_etl import GlueCatalog
from ml_constructs.lake_permissions import READ, WRITE, LakeGrants
from ml_constructs.prediction_table import PredictionTable


def lake_tags(config: LakeFormationConfig, use_case: UseCaseConfig) -> dict | None:
    """The `--lake_formation_tags` of a use case's ETL job; None without Lake Formation."""
    if not config.enabled:
        return None
    return {"table": {config.domain_tag: use_case.name,
                      config.sensitivity_tag: config.default_sensitivity},
            "column_key": config.sensitivity_tag}


def location_arn(bucket: s3.IBucket, prefix: str) -> str:
    """A registered location: the bucket and the use case's prefix (a folder, no slash)."""
    return f"{bucket.bucket_arn}/{prefix.rstrip('/')}"


@dataclass(frozen=True)
class GovernedUseCase:
    config: UseCaseConfig
    etl_role: iam.IRole  # creates and writes the use case's curated table
    # Its batch predictions' catalog table (manifest `batch_predictions`), which the stack
    # creates: tagged and registered here as the ETL tags and registers its curated table.
    prediction_table: PredictionTable | None = None


class LakeGovernance(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, config: LakeFormationConfig,
                 catalog: GlueCatalog, key: kms.IKey, raw_bucket: s3.IBucket,
                 curated_bucket: s3.IBucket, use_cases: Sequence[GovernedUseCase],
                 pipeline_readers: Sequence[iam.IRole]) -> None:
        super().__init__(scope, construct_id)
        self.config = config
        self.database_name = catalog.database_name
        self.domains = [u.config.name for u in use_cases]
        self._after: list = []
        if config.manage_settings:
            self._after.append(self._settings(config))
        # No IAMAllowedPrincipals on the tables created in the database whatever the account's
        # settings: Lake Formation alone decides who reads them.
        database = catalog.database.node.default_child
        database.add_property_override("DatabaseInput.CreateTableDefaultPermissions", [])
        for dependency in self._after:
            database.node.add_dependency(dependency)
        tags = [lakeformation.CfnTag(self, "DomainTag", tag_key=config.domain_tag,
                                     tag_values=sorted(self.domains)),
                lakeformation.CfnTag(self, "SensitivityTag", tag_key=config.sensitivity_tag,
                                     tag_values=list(config.sensitivity_levels))]
        for tag in tags:
            for dependency in self._after:
                tag.node.add_dependency(dependency)
        self._after += tags
        database_tag = lakeformation.CfnTagAssociation(
            self, "DatabaseTags",
            resource={"database": {"catalogId": cdk.Aws.ACCOUNT_ID, "name": self.database_name}},
            lf_tags=[{"catalogId": cdk.Aws.ACCOUNT_ID, "tagKey": config.sensitivity_tag,
                      "tagValues": [config.default_sensitivity]}])
        database_tag.node.add_dependency(catalog.database, *self._after)

        self.registration_role = self._register(key, raw_bucket, curated_bucket, use_cases)
        for use_case in use_cases:
            self._grant_etl(use_case, curated_bucket)
            if use_case.prediction_table is not None:
                self._tag_prediction_table(use_case)
        for i, role in enumerate(pipeline_readers):
            # The jobs read the curated data of every use case (one execution role per stage).
            self.grant_reader(self, f"PipelineReader{i}", role.role_arn, self.domains,
                              config.sensitivity_levels)
        for i, reader in enumerate(config.readers):
            self.grant_reader(self, f"Reader{i}", reader.role_arn,
                              reader.domains or self.domains, reader.sensitivity)

    def _settings(self, config: LakeFormationConfig) -> lakeformation.CfnDataLakeSettings:
        stack = cdk.Stack.of(self)
        # The role CloudFormation deploys with creates the tags and grants: only a data lake
        # administrator may. PutDataLakeSettings replaces the administrators, so the list holds
        # it and the configured ones.
        synthesizer = stack.synthesizer
        # Its ARN holds ${AWS::AccountId}-style placeholders for CloudFormation to fill in.
        deploy_role = (cdk.Fn.sub(synthesizer.cloud_formation_execution_role_arn)
                       if isinstance(synthesizer, cdk.DefaultStackSynthesizer) else None)
        admins = [a for a in (deploy_role, *config.admins) if a]
        # Empty default permissions: new databases and tables get no IAMAllowedPrincipals
        # grant, so Lake Formation permissions (not IAM alone) control access to them.
        return lakeformation.CfnDataLakeSettings(
            self, "Settings",
            admins=[{"dataLakePrincipalIdentifier": admin} for admin in admins],
            create_database_default_permissions=[], create_table_default_permissions=[])

    def _register(self, key: kms.IKey, raw_bucket: s3.IBucket, curated_bucket: s3.IBucket,
                  use_cases: Sequence[GovernedUseCase]) -> iam.Role:
        """One role Lake Formation assumes to vend credentials for the registered locations:
        read/write on exactly those prefixes (what AWS requires of a registration role), and
        the stage key that encrypts them."""
        role = iam.Role(self, "RegistrationRole",
                        assumed_by=iam.ServicePrincipal("lakeformation.amazonaws.com"),
                        description="Lake Formation: the raw and curated data of the use cases")
        objects = []
        # Its prediction table's folder too: Lake Formation vends the credentials that read it.
        locations = [(bucket, kind, u.config.name, u.config.prefix)
                     for bucket, kind in ((raw_bucket, "Raw"), (curated_bucket, "Curated"))
                     for u in use_cases]
        locations += [(u.prediction_table.bucket, "Predictions", u.config.name,
                       u.prediction_table.prefix) for u in use_cases if u.prediction_table]
        for bucket, kind, name, prefix in locations:
            objects.append(bucket.arn_for_objects(f"{prefix}*"))
            bucket.grant_read_write(role, f"{prefix}*")
            resource = lakeformation.CfnResource(
                self, f"{kind}{name}",
                resource_arn=location_arn(bucket, prefix), role_arn=role.role_arn,
                use_service_linked_role=False, hybrid_access_enabled=False)
            resource.node.add_dependency(*self._after, role)
        key.grant_encrypt_decrypt(role)
        acknowledge_role_policy(
            role.node.find_child("DefaultPolicy"),
            "Lake Formation reads and writes the objects under each registered prefix of the "
            "raw and curated buckets and of the prediction tables' folders in the artifacts "
            "bucket (object keys are per partition and file); KMS actions "
            "from CDK's key grant on the stage key.",
            wildcard_findings(actions=(*BUCKET_WRITE_ACTIONS, *KEY_ACTIONS),
                              resources=tuple(in_finding(self, arn) for arn in objects)))
        return role

    def _grant_etl(self, use_case: GovernedUseCase, curated_bucket: s3.IBucket) -> None:
        config = self.config
        name = use_case.config.name
        grants = LakeGrants(self, f"Etl{name}", principal_arn=use_case.etl_role.role_arn,
                            after=self._after)
        # CREATE_TABLE on the database (IAM scopes glue:CreateTable to its own table), pointing
        # into its curated prefix only (DATA_LOCATION_ACCESS on that registered location).
        grants.on_database(self.database_name, ["DESCRIBE", "CREATE_TABLE"])
        grants.on_location("CuratedLocation", location_arn(curated_bucket,
                                                           use_case.config.prefix))
        levels = {config.default_sensitivity, *column_sensitivity(use_case.config).values()}
        grants.associate("DomainTag", config.domain_tag, [name])
        grants.associate("SensitivityTag", config.sensitivity_tag, sorted(levels))
        grants.on_tables("Tables", {config.domain_tag: [name]}, WRITE)

    def _tag_prediction_table(self, use_case: GovernedUseCase) -> None:
        """The tags the ETL job gives the curated table (`lake_tags`): whoever may read the
        use case's domain at its default level selects its predictions as its curated rows
        (the readers' grants are LF-tag expressions, `grant_reader`)."""
        table = use_case.prediction_table
        tags = lake_tags(self.config, use_case.config)["table"]
        association = lakeformation.CfnTagAssociation(
            self, f"PredictionTableTags{use_case.config.name}",
            resource={"table": {"catalogId": cdk.Aws.ACCOUNT_ID,
                                "databaseName": self.database_name, "name": table.table_name}},
            lf_tags=[{"catalogId": cdk.Aws.ACCOUNT_ID, "tagKey": key, "tagValues": [value]}
                     for key, value in tags.items()])
        association.node.add_dependency(table.table, *self._after)

    def grant_reader(self, scope: Construct, construct_id: str, role_arn: str,
                     domains: Sequence[str], sensitivity: Sequence[str]) -> LakeGrants:
        """SELECT on the tables of `domains`, on the columns of the `sensitivity` levels only
        (a column of another level is left out by Lake Formation)."""
        grants = LakeGrants(scope, construct_id, principal_arn=role_arn, after=self._after)
        grants.on_database(self.database_name, ["DESCRIBE"])
        grants.on_tables("Tables", {self.config.domain_tag: list(domains),
                                    self.config.sensitivity_tag: list(sensitivity)}, READ)
        return grants
