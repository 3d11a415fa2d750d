"""The pipelines' input validator reads a first cross-validation or backtest run's data itself
(runtime_scripts/pipeline_input/first_run_profile.py, first_run_windows.py: small CSV whole, a
header or a Parquet footer by ranged GETs, which S3 authorizes as s3:GetObject): its role,
asked of the IAM evaluator over the synthesized account, lists and reads the raw bucket and
nothing else, and writes nowhere."""

from __future__ import annotations

STAGE = "dev"


def _validator_role(synthesized, account) -> str:
    name = f"{synthesized[STAGE].config.resource_prefix}-pipeline-input"
    (role,) = [props["Role"] for _stack, _lid, props in account.resources("AWS::Lambda::Function")
               if props.get("FunctionName") == name]
    return role


def test_the_validator_reads_the_raw_bucket_and_writes_nowhere(synthesized, accounts):
    account = accounts[STAGE]
    role = _validator_role(synthesized, account)
    # The storage stack's buckets, by the physical names the account reader gives them.
    buckets = {kind: name for name in account.bucket_keys
               for kind in ("raw", "artifacts", "curated") if f"-{kind}bucket" in name}
    raw, raw_key = buckets["raw"], account.bucket_keys[buckets["raw"]]
    # What first_run_profile.check asks: ListObjectsV2, GetObject of an SSE-KMS object.
    assert account.can(role, "s3:ListBucket", f"arn:aws:s3:::{raw}")
    assert account.can(role, "s3:GetObject", f"arn:aws:s3:::{raw}/churn/part-0.csv")
    assert account.can(role, "s3:GetObject", f"arn:aws:s3:::{raw}/ames/sales.parquet")
    assert account.can(role, "kms:Decrypt", raw_key)
    assert not account.can(role, "s3:PutObject", f"arn:aws:s3:::{raw}/churn/part-0.csv")
    for other in ("artifacts", "curated"):
        assert not account.can(role, "s3:GetObject", f"arn:aws:s3:::{buckets[other]}/x.csv")
        assert not account.can(role, "s3:ListBucket", f"arn:aws:s3:::{buckets[other]}")
