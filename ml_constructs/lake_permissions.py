"""Lake Formation grants, each one AWS::LakeFormation::PrincipalPermissions: on the stage's
database, on data locations, on LF-tags (ASSOCIATE) and through LF-tag expressions (what a
principal may do on every table whose tags match). Permission names are those
AWS::LakeFormation::PrincipalPermissions accepts (SELECT, INSERT, ALTER, DELETE, DESCRIBE,
CREATE_TABLE, DATA_LOCATION_ACCESS, ASSOCIATE)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import aws_cdk as cdk
from aws_cdk import aws_lakeformation as lakeformation
from constructs import Construct, IDependable

# What each kind of principal may do on the tables its tags select.
READ = ("DESCRIBE", "SELECT")
# The ETL job: read back (merge mode), write partitions (INSERT, DELETE for overwritten
# files), register them and update its table (ALTER).
WRITE = ("DESCRIBE", "SELECT", "INSERT", "DELETE", "ALTER")


class LakeGrants(Construct):
    """The grants of one principal (a role ARN). Every grant depends on `after` (the data lake
    settings that make the stack's role an administrator, the tags it names)."""

    def __init__(self, scope: Construct, construct_id: str, *, principal_arn: str,
                 after: Sequence[IDependable] = ()) -> None:
        super().__init__(scope, construct_id)
        self.principal_arn = principal_arn
        self._after = list(after)
        self._count = 0

    def _grant(self, name: str, resource: dict, permissions: Sequence[str]) -> None:
        grant = lakeformation.CfnPrincipalPermissions(
            self, name, principal={"dataLakePrincipalIdentifier": self.principal_arn},
            resource=resource, permissions=list(permissions), permissions_with_grant_option=[])
        for dependency in self._after:
            grant.node.add_dependency(dependency)

    def on_database(self, database_name: str, permissions: Sequence[str]) -> None:
        self._grant("Database", {"database": {"catalogId": cdk.Aws.ACCOUNT_ID,
                                              "name": database_name}}, permissions)

    def on_location(self, construct_id: str, location_arn: str) -> None:
        """DATA_LOCATION_ACCESS: may create or alter tables pointing into the location."""
        self._grant(construct_id, {"dataLocation": {"catalogId": cdk.Aws.ACCOUNT_ID,
                                                    "resourceArn": location_arn}},
                    ["DATA_LOCATION_ACCESS"])

    def associate(self, construct_id: str, tag_key: str, values: Sequence[str]) -> None:
        """ASSOCIATE: may assign these values of the tag to resources it may alter."""
        self._grant(construct_id, {"lfTag": {"catalogId": cdk.Aws.ACCOUNT_ID,
                                             "tagKey": tag_key, "tagValues": sorted(values)}},
                    ["ASSOCIATE"])

    def on_tables(self, construct_id: str, expression: Mapping[str, Sequence[str]],
                  permissions: Sequence[str]) -> None:
        """`permissions` on every table (and column) whose LF-tags match every key of
        `expression` with one of its values. A column tagged with another value of a key than
        its table (a confidential id in an internal table) does not match: Lake Formation
        leaves it out of what the principal may select."""
        self._grant(construct_id, {"lfTagPolicy": {
            "catalogId": cdk.Aws.ACCOUNT_ID, "resourceType": "TABLE",
            "expression": [{"tagKey": key, "tagValues": sorted(values)}
                           for key, values in sorted(expression.items())]}}, permissions)
