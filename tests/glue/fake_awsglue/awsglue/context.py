from pathlib import Path

from pyspark.sql import SparkSession
from pyspark.sql import types as T

from awsglue import BOOKMARKS, CALLS, PENDING, SETTINGS


class DynamicFrame:
    def __init__(self, df):
        self._df = df

    def resolveChoice(self, specs=None, choice="", **_kwargs):  # noqa: N802 - Glue's name
        CALLS.append(("resolveChoice", choice))
        return self

    def toDF(self):  # noqa: N802 - Glue's name
        return self._df


class _DynamicFrameReader:
    def __init__(self, context):
        self._context = context

    def from_options(self, connection_type, connection_options=None, format=None,  # noqa: A002
                     format_options=None, transformation_ctx="", **_kwargs):
        CALLS.append(("from_options", {"connection_type": connection_type,
                                       "connection_options": connection_options,
                                       "format": format, "format_options": format_options,
                                       "transformation_ctx": transformation_ctx}))
        spark = self._context.spark_session
        files = []
        for root in connection_options["paths"]:
            root = Path(root.removeprefix("file://"))
            files += [root] if root.is_file() else sorted(p for p in root.rglob("*.csv"))
        seen = BOOKMARKS.get(transformation_ctx, set()) if SETTINGS["bookmarks"] else set()
        new = [str(f) for f in files if str(f) not in seen]
        PENDING[transformation_ctx] = set(new)
        if not new:  # Glue returns an empty frame when the bookmark has seen every file
            return DynamicFrame(spark.createDataFrame([], T.StructType([])))
        header = (format_options or {}).get("withHeader", False)
        return DynamicFrame(spark.read.option("header", header).csv(new))


class GlueContext:
    def __init__(self, spark_context):
        self.spark_session = SparkSession.builder.getOrCreate()
        self.create_dynamic_frame = _DynamicFrameReader(self)
