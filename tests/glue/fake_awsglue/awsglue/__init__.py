"""A stand-in for AWS Glue's `awsglue` package, just enough to drive etl.py's Glue mode locally.

It mimics the parts etl.py uses: getResolvedOptions (argparse, every listed option required, the
bookmark option always resolved), GlueContext.create_dynamic_frame.from_options (CSV via plain
Spark, all columns text) and Job.init/commit with a file-level job bookmark keyed by
transformation_ctx. CALLS records what the script asked for so tests can assert on it.
"""

CALLS: list[tuple[str, object]] = []
BOOKMARKS: dict[str, set[str]] = {}  # (job name/transformation_ctx) -> files already processed
PENDING: dict[str, set[str]] = {}  # read in the current run, persisted by Job.commit()
SETTINGS = {"bookmarks": False}  # set by Job.init from --job-bookmark-option
