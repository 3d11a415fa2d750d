"""AWS Glue ETL job: raw CSV in the raw bucket -> typed, deduplicated, partitioned Parquet in the
curated bucket. `etl.py` is the job script itself (uploaded as-is by the CDK construct); it runs in
AWS Glue 5.x and, unchanged, with plain `pyspark` for local runs and tests.
"""
