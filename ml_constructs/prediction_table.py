"""A use case's batch predictions as a Glue Data Catalog table that Athena can query (its
manifest's `batch_predictions`): CSV answers under `predictions/<use case>/<partition>=<day>/`
of the artifacts bucket, one partition per day a batch run wrote, found by partition
projection, so no crawler or `MSCK REPAIR TABLE` has to run after each batch.

Athena's partition projection computes the partitions from table properties: a `date` type
with `format`, `range` (`NOW-<n>YEARS,NOW` is allowed: relative to the query's time) and an
interval, and `storage.location.template` naming each partition's S3 folder.

The SerDe is Lazy Simple with ',' as field delimiter (Athena's default for CSV without quotes):
it reads a DATE column written YYYY-MM-DD, where Open CSV SerDe (CDK's DataFormat.CSV) reads
DATE only as days since 1970 (Athena's CSV SerDe documentation)."""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import aws_glue as glue
from aws_cdk import aws_s3 as s3
from constructs import Construct

from runtime_scripts.common.manifest_outputs import PredictionTable as PredictionTableSpec

# The Glue type names of the manifest's column types (manifest_outputs.PREDICTION_COLUMN_TYPES).
COLUMN_TYPES = {"string": glue.Schema.STRING, "double": glue.Schema.DOUBLE,
                "bigint": glue.Schema.BIG_INT, "int": glue.Schema.INTEGER,
                "boolean": glue.Schema.BOOLEAN, "date": glue.Schema.DATE,
                "timestamp": glue.Schema.TIMESTAMP}
DAY_FORMAT = "yyyy-MM-dd"  # Java date format of the partition values: runtime's YYYY-MM-DD
# How far back a query finds partitions (relative to the query's time).
PROJECTED_RANGE = "NOW-5YEARS,NOW"
DELIMITED_TEXT = glue.DataFormat(input_format=glue.InputFormat.TEXT,
                                 output_format=glue.OutputFormat.HIVE_IGNORE_KEY_TEXT,
                                 serialization_library=glue.SerializationLibrary.LAZY_SIMPLE)
SERDE_PARAMETERS = {"field.delim": ",", "serialization.format": ","}


@dataclass(frozen=True)
class PredictionTableProps:
    database: glue.IDatabase
    table_name: str
    bucket: s3.IBucket  # where the batch runs write (the artifacts bucket)
    prefix: str  # its folder of the table, ending in '/'
    columns: tuple[str, ...]  # the answer's columns, in order (serving.prediction_columns)
    spec: PredictionTableSpec
    description: str


class PredictionTable(Construct):
    def __init__(self, scope: Construct, construct_id: str, *,
                 props: PredictionTableProps) -> None:
        super().__init__(scope, construct_id)
        spec = props.spec
        partition = spec.partition
        location = f"s3://{props.bucket.bucket_name}/{props.prefix}"
        self.table = glue.S3Table(
            self, "Table", table_name=props.table_name, database=props.database,
            description=props.description,
            storage=glue.S3TableStorage.from_bucket(props.bucket), s3_prefix=props.prefix,
            columns=[glue.Column(name=name, type=COLUMN_TYPES[kind])
                     for name, kind in zip(props.columns, spec.column_types, strict=True)],
            # A string partition: the folder's text as written (YYYY-MM-DD); Athena compares
            # such strings in date order.
            partition_keys=[glue.Column(name=partition, type=glue.Schema.STRING)],
            data_format=DELIMITED_TEXT,
            partition_projection={partition: glue.PartitionProjectionConfiguration.date(
                min=PROJECTED_RANGE.split(",")[0], max=PROJECTED_RANGE.split(",")[1],
                format=DAY_FORMAT,
                step=glue.DateProjectionStep(interval=1,
                                             interval_unit=glue.DateIntervalUnit.DAYS))},
            parameters={"storage.location.template": f"{location}{partition}=${{{partition}}}/"},
        )
        # S3Table has no SerDe parameters: the delimiter on the CfnTable.
        self.table.node.default_child.add_property_override(
            "TableInput.StorageDescriptor.SerdeInfo.Parameters", SERDE_PARAMETERS)
        self.location = location
        # What Lake Formation registers and tags (the name as given: the table's Ref would do
        # as well, but a literal reads the same in the template and in the tests).
        self.bucket, self.prefix, self.table_name = props.bucket, props.prefix, props.table_name
