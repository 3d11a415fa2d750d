"""Lake Formation and IAM agree, in every synthesized stage that governs its lake.

Lake Formation decides what a principal reads through the catalog (Athena, Glue); IAM decides
what it reads and writes in S3 directly. The two must tell the same story:
- whoever writes a use case's curated files directly is granted INSERT on that use case's
  tables (and nobody else is);
- whoever reads a use case's curated files directly is granted SELECT on all its columns
  (a file reader sees every column, so Lake Formation must not pretend otherwise);
- whoever Lake Formation limits to some sensitivity levels reads no curated or raw file
  directly, may get data access from Lake Formation, and writes nothing to the raw prefixes.
"""

from __future__ import annotations

import json

import pytest

from tests.conftest import (
    ALL_STAGES,
    EVERY_USE_CASE,
    LAKE_READER,
    PREDICTIONS_READER,
    TWO_USE_CASES,
)
from tests.contract.cfn_render import ACCOUNT

LOGS_ONLY = "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"
PARTITION_FILE = "ingest_date=2026-01-01/part-00000.snappy.parquet"


def governed(synthesized) -> list[str]:
    return [s for s in ALL_STAGES if synthesized[s].config.lake_formation.enabled]


@pytest.fixture(scope="module")
def lakes(synthesized, accounts) -> dict:
    """stage -> (config, account, {principal ARN -> [grant properties]}, registration roles)."""
    result = {}
    for stage in governed(synthesized):
        account = accounts[stage]
        grants: dict[str, list[dict]] = {}
        for _, _, props in account.resources("AWS::LakeFormation::PrincipalPermissions"):
            grants.setdefault(props["Principal"]["DataLakePrincipalIdentifier"], []).append(props)
        registration = {props["RoleArn"] for _, _, props in
                        account.resources("AWS::LakeFormation::Resource")}
        result[stage] = (synthesized[stage].config, account, grants, registration)
    return result


def bucket(account, config, kind: str) -> str:
    storage = account.assembly.stack(f"{config.resource_prefix}-storage")
    return account.render(storage, storage.template["Outputs"][f"{kind}BucketName"]["Value"])


def table_grants(grants: list[dict], permission: str, domain_tag: str, domain: str) -> list:
    """The LF-tag expressions of the grants giving `permission` on `domain`'s tables."""
    found = []
    for grant in grants:
        policy = grant["Resource"].get("LFTagPolicy")
        if policy is None or permission not in grant["Permissions"]:
            continue
        expression = {e["TagKey"]: e["TagValues"] for e in policy["Expression"]}
        if domain in expression.get(domain_tag, []):
            found.append(expression)
    return found


def test_some_stage_governs_its_lake(synthesized) -> None:
    assert governed(synthesized), "no synthesized stage turns lake_formation on"


def test_direct_s3_access_and_lake_formation_grants_agree(lakes) -> None:
    problems = []
    for stage, (config, account, grants, registration) in lakes.items():
        lake = config.lake_formation
        curated, raw = bucket(account, config, "Curated"), bucket(account, config, "Raw")
        for principal in account.identity:
            if principal in registration:
                continue  # Lake Formation's own role: it serves the grants below
            managed = account.unknown_managed.get(principal, [])
            if managed:
                # CDK's own custom resource roles: logs only, as AWS documents that policy.
                assert set(managed) == {LOGS_ONLY}, (principal, managed)
                continue
            mine = grants.get(principal, [])
            for use_case in config.use_cases:
                data = f"arn:aws:s3:::{curated}/{use_case.prefix}{PARTITION_FILE}"
                writes = bool(account.can(principal, "s3:PutObject", data))
                reads = bool(account.can(principal, "s3:GetObject", data))
                inserts = table_grants(mine, "INSERT", lake.domain_tag, use_case.name)
                selects = table_grants(mine, "SELECT", lake.domain_tag, use_case.name)
                where = f"{stage}: {principal} on {use_case.name}"
                if writes != bool(inserts):
                    problems.append(f"{where}: writes its curated files {writes}, "
                                    f"INSERT on its tables {bool(inserts)}")
                every_column = [e for e in selects if set(e.get(lake.sensitivity_tag,
                                lake.sensitivity_levels)) == set(lake.sensitivity_levels)]
                if reads and not every_column:
                    problems.append(f"{where}: reads the curated files directly, but Lake "
                                    "Formation grants it no SELECT on every column")
                if selects and not every_column:  # limited by sensitivity
                    raw_data = f"arn:aws:s3:::{raw}/{use_case.prefix}data.csv"
                    for action, arn in (("s3:GetObject", data), ("s3:GetObject", raw_data),
                                        ("s3:PutObject", raw_data)):
                        if account.can(principal, action, arn):
                            problems.append(f"{where}: limited to {selects} by Lake Formation "
                                            f"but allowed {action} on {arn}")
                    if not account.can(principal, "lakeformation:GetDataAccess", "*"):
                        problems.append(f"{where}: granted SELECT but no "
                                        "lakeformation:GetDataAccess to read through it")
    assert problems == []


def test_every_etl_job_may_assign_exactly_the_tags_it_is_given(lakes) -> None:
    for stage, (config, account, grants, _) in lakes.items():
        lake = config.lake_formation
        declared = {props["TagKey"]: set(props["TagValues"])
                    for _, _, props in account.resources("AWS::LakeFormation::Tag")}
        jobs = account.resources("AWS::Glue::Job")
        assert len(jobs) == len(config.use_cases), stage
        for _, _, job in jobs:
            tags = json.loads(job["DefaultArguments"]["--lake_formation_tags"])
            schema = json.loads(job["DefaultArguments"]["--schema_json"])
            wanted = {key: {value} for key, value in tags["table"].items()}
            wanted[tags["column_key"]] = (wanted.get(tags["column_key"], set())
                                          | set(schema.get("column_sensitivity", {}).values()))
            associate = {}
            for grant in grants[job["Role"]]:
                if "LFTag" in grant["Resource"]:
                    assert grant["Permissions"] == ["ASSOCIATE"]
                    tag = grant["Resource"]["LFTag"]
                    associate[tag["TagKey"]] = set(tag["TagValues"])
            assert associate == wanted, (stage, job["Name"])
            # And what IAM must allow for an assignment (Lake Formation's developer guide):
            # the action itself, and glue:GetDatabase on the table's database.
            database = job["DefaultArguments"]["--database"]
            assert account.can(job["Role"], "lakeformation:AddLFTagsToResource", "*")
            assert account.can(job["Role"], "glue:GetDatabase",
                               f"arn:aws:glue:{config.region}:{ACCOUNT}:database/{database}")
            for key, values in wanted.items():
                assert values <= declared[key], (stage, key)
            assert tags["table"][lake.domain_tag] in declared[lake.domain_tag]


def test_settings_make_the_deploy_role_an_administrator_without_iam_defaults(lakes) -> None:
    for stage, (config, account, _, _) in lakes.items():
        (settings,) = [p for _, _, p in account.resources("AWS::LakeFormation::DataLakeSettings")]
        admins = [a["DataLakePrincipalIdentifier"] for a in settings["Admins"]]
        assert admins[0] == (f"arn:aws:iam::{ACCOUNT}:role/cdk-hnb659fds-cfn-exec-role-"
                             f"{ACCOUNT}-{config.region}"), stage
        assert admins[1:] == config.lake_formation.admins
        assert settings["CreateDatabaseDefaultPermissions"] == []
        assert settings["CreateTableDefaultPermissions"] == []
        for _, _, database in account.resources("AWS::Glue::Database"):
            assert database["DatabaseInput"]["CreateTableDefaultPermissions"] == [], stage


def test_registration_role_reaches_the_registered_prefixes_only(lakes) -> None:
    for stage, (config, account, _, registration) in lakes.items():
        (role,) = registration
        registered = {p["ResourceArn"] for _, _, p in
                      account.resources("AWS::LakeFormation::Resource")}
        for kind in ("Raw", "Curated"):
            name = bucket(account, config, kind)
            for use_case in config.use_cases:
                location = f"arn:aws:s3:::{name}/{use_case.prefix.rstrip('/')}"
                assert location in registered, (stage, location)
                for action in ("s3:GetObject", "s3:PutObject", "s3:DeleteObject"):
                    assert account.can(role, action, f"{location}/{PARTITION_FILE}"), action
            assert not account.can(role, "s3:GetObject", f"arn:aws:s3:::{name}/other/x.csv")
        artifacts = bucket(account, config, "Artifacts")
        assert not account.can(role, "s3:GetObject", f"arn:aws:s3:::{artifacts}/models/x")


def test_a_configured_reader_reads_its_domains_at_its_levels_through_athena(lakes) -> None:
    config, account, grants, _ = lakes[TWO_USE_CASES]
    lake, reader = config.lake_formation, LAKE_READER["role_arn"]
    names = [u.name for u in config.use_cases]
    assert set(LAKE_READER["domains"]) < set(names)  # one domain of two
    for name in names:
        selects = table_grants(grants[reader], "SELECT", lake.domain_tag, name)
        if name in LAKE_READER["domains"]:
            assert selects == [{lake.domain_tag: [name],
                                lake.sensitivity_tag: LAKE_READER["sensitivity"]}]
        else:
            assert selects == []
    # The stack attached its reader policy to the role: it queries in the stage's workgroup.
    workgroup = f"arn:aws:athena:{config.region}:{ACCOUNT}:workgroup/{config.resource_prefix}-lake"
    assert account.can(reader, "athena:StartQueryExecution", workgroup)
    assert account.can(reader, "glue:GetTable", f"arn:aws:glue:{config.region}:{ACCOUNT}:table/"
                       f"{config.resource_prefix.replace('-', '_')}/ames")


def test_whoever_reads_a_domain_selects_its_predictions_table_as_its_curated_table(lakes) -> None:
    from ml_constructs.lake_governance import lake_tags
    from ml_constructs.resource_names import UseCaseNames

    checked = []
    for stage, (config, account, grants, registration) in lakes.items():
        lake = config.lake_formation
        tagged = {props["Resource"]["Table"]["Name"]: {t["TagKey"]: t["TagValues"]
                                                       for t in props["LFTags"]}
                  for _, _, props in account.resources("AWS::LakeFormation::TagAssociation")
                  if "Table" in props["Resource"]}
        registered = {p["ResourceArn"] for _, _, p in
                      account.resources("AWS::LakeFormation::Resource")}
        (role,) = registration
        artifacts = bucket(account, config, "Artifacts")
        for use_case in config.use_cases:
            if use_case.manifest.batch_predictions is None:
                continue
            names = UseCaseNames(config.resource_prefix, use_case.name)
            # Tagged as its ETL job tags its curated table: the same grants select both.
            curated = {key: [value] for key, value in lake_tags(lake, use_case)["table"].items()}
            assert tagged.get(names.predictions_table) == curated, (stage, use_case.name)
            # Its folder registered: Lake Formation vends the credentials that read it.
            location = f"arn:aws:s3:::{artifacts}/{names.predictions_prefix.rstrip('/')}"
            assert location in registered, (stage, location)
            assert account.can(role, "s3:GetObject", f"{location}/forecast_date=2026-01-01/x")
            readers = set()
            for principal, mine in grants.items():
                for expression in table_grants(mine, "SELECT", lake.domain_tag, use_case.name):
                    # Lake Formation: a table matches when each key's tag is among its values.
                    matches = all(set(curated.get(k, [])) & set(v) for k, v in expression.items())
                    reads_its_level = lake.default_sensitivity in expression.get(
                        lake.sensitivity_tag, lake.sensitivity_levels)
                    assert matches == reads_its_level, (stage, principal, expression)
                    readers |= {principal} if matches else set()
            assert PREDICTIONS_READER in readers or stage != EVERY_USE_CASE, readers
            checked.append((stage, use_case.name))
    assert checked, "no governed stage deploys a use case with batch predictions"
