"""The ETL job's Lake Formation tags: the schema's column_sensitivity, the job argument, and
the AddLFTagsToResource requests (held to botocore's model, every constraint included)."""

from __future__ import annotations

import json

import pytest

from runtime_scripts.glue import etl
from tests.contract.shapes import request_problems

SCHEMA = {"columns": {"customer_id": "int", "state": "string", "phone": "string",
                      "churn": "string"},
          "dedup_keys": ["customer_id"],
          "column_sensitivity": {"customer_id": "confidential", "phone": "restricted"}}
TAGS = {"table": {"domain": "churn", "sensitivity": "internal"}, "column_key": "sensitivity"}


def args(**overrides) -> etl.JobArgs:
    raw = {"input_path": "s3://raw/churn/", "output_path": "s3://curated/churn/",
           "schema_json": json.dumps(SCHEMA), "database": "mlplatform_dev", "table": "churn",
           "lake_formation_tags": json.dumps(TAGS), **overrides}
    return etl.resolve_args(raw, lambda path: "")


def test_requests_tag_the_table_then_each_level_of_columns() -> None:
    requests = etl.lake_formation_requests(args())
    table = {"DatabaseName": "mlplatform_dev", "Name": "churn"}
    assert requests == [
        {"Resource": {"Table": table},
         "LFTags": [{"TagKey": "domain", "TagValues": ["churn"]},
                    {"TagKey": "sensitivity", "TagValues": ["internal"]}]},
        {"Resource": {"TableWithColumns": {**table, "ColumnNames": ["customer_id"]}},
         "LFTags": [{"TagKey": "sensitivity", "TagValues": ["confidential"]}]},
        {"Resource": {"TableWithColumns": {**table, "ColumnNames": ["phone"]}},
         "LFTags": [{"TagKey": "sensitivity", "TagValues": ["restricted"]}]},
    ]
    for request in requests:
        assert request_problems("lakeformation", "AddLFTagsToResource", request) == []


def test_without_the_argument_nothing_is_tagged() -> None:
    assert etl.lake_formation_requests(args(lake_formation_tags=None)) == []


class FakeLakeFormation:
    def __init__(self, failures: list) -> None:
        self.failures, self.calls = failures, []

    def add_lf_tags_to_resource(self, **request):
        self.calls.append(request)
        return {"Failures": self.failures}


def test_a_refused_assignment_fails_the_job_naming_the_tag() -> None:
    client = FakeLakeFormation([{"LFTag": {"TagKey": "domain", "TagValues": ["churn"]},
                                 "Error": {"ErrorCode": "AccessDeniedException",
                                           "ErrorMessage": "no ASSOCIATE"}}])
    with pytest.raises(etl.EtlError, match="domain: no ASSOCIATE.*ASSOCIATE on those tags"):
        etl.assign_lake_formation_tags(client, args())
    assert len(client.calls) == 1  # stops at the first refusal


def test_every_request_is_sent_when_lake_formation_accepts() -> None:
    client = FakeLakeFormation([])
    etl.assign_lake_formation_tags(client, args())
    assert client.calls == etl.lake_formation_requests(args())


@pytest.mark.parametrize(("overrides", "message"), [
    ({"lake_formation_tags": "{}"}, "must be JSON like"),
    ({"lake_formation_tags": '{"table": {"domain": 1}, "column_key": "s"}'}, "must be JSON"),
    ({"database": None, "table": None}, "pass --database and --table too"),
    ({"schema_json": json.dumps({**SCHEMA, "column_sensitivity": {"nope": "x"}})},
     "column_sensitivity names 'nope', not a declared data column"),
    ({"schema_json": json.dumps({**SCHEMA, "column_sensitivity": ["customer_id"]})},
     "must be an object of column name -> level"),
])
def test_bad_tags_or_sensitivities_are_one_line_errors(overrides: dict, message: str) -> None:
    with pytest.raises(etl.EtlError, match=message):
        args(**overrides)
