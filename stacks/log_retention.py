"""CloudWatch Logs retention from the stage config's day count."""

from __future__ import annotations

from aws_cdk import aws_logs as logs

from config import LOG_RETENTION_DAYS


def retention(days: int) -> logs.RetentionDays:
    """The RetentionDays member for `days` (a value config validated against AWS's list; jsii
    enums expose names, not day counts, and list them in the same ascending order)."""
    members = [r for r in logs.RetentionDays if r.name != "INFINITE"]
    return dict(zip(LOG_RETENTION_DAYS, members, strict=True))[days]
