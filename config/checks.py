"""Value checks shared by the config sections: formats (instance types, schedules, emails, ...)
and ranges. Each reports through `config.problems.report`, naming the key and what is allowed."""

from __future__ import annotations

import re

from config.problems import report
from runtime_scripts import contract

EMAIL = re.compile(r"^[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}$")
ACCOUNT = re.compile(r"^\d{12}$")
REGION = re.compile(r"^[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-\d$")
PROJECT_NAME = re.compile(r"^[a-z][a-z0-9-]{1,30}[a-z0-9]$")
S3_URI = re.compile(r"^s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](/.*)?$")
_RATE = re.compile(r"^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$")
_CRON = re.compile(r"^cron\(([^ ()]+ ){5}[^ ()]+\)$")
# Model Monitor accepts hourly, daily and every-N-hours crons only (ScheduleConfig in the API).
_MONITOR_CRON = re.compile(r"^cron\(0 (\*|\d{1,2}|\d{1,2}/\d{1,2}) \? \* \* \*\)$")
# CloudWatch Logs accepts only these retention values (in days).
LOG_RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827,
                      2192, 2557, 2922, 3288, 3653)


def check_instance_type(key: str, value: str) -> None:
    if not contract.INSTANCE_TYPE_PATTERN.match(value):
        report(key, f"{value!r} is not a SageMaker instance type",
               "an ml.* type such as ml.m5.xlarge, ml.c5.2xlarge, ml.g5.xlarge")


def check_hosting_instance(key: str, value: str) -> None:
    check_instance_type(key, value)
    if contract.has_instance_storage(value):
        report(key, f"{value!r} has local instance storage, which SageMaker cannot "
               "encrypt with the platform's KMS key",
               "an EBS-backed type such as ml.m5.large, ml.c5.xlarge, ml.p3.2xlarge")


def check_schedule(key: str, value: str) -> bool:
    """Reports what is wrong with an EventBridge schedule expression; whether it is valid."""
    rate = _RATE.match(value)
    if rate:
        amount, unit = int(rate.group(1)), rate.group(2)
        if amount < 1 or (amount == 1) != (not unit.endswith("s")):
            report(key, f"{value!r}: use 'rate(1 day)' or 'rate(N days)' with N > 1",
                   "rate(N minutes|hours|days) or cron(min hour dom month dow year)")
            return False
        return True
    if not _CRON.match(value):
        report(key, f"{value!r} is not a schedule expression",
               "rate(N minutes|hours|days) or cron(min hour dom month dow year), "
               "e.g. cron(0 3 * * ? *)")
        return False
    fields = value[5:-1].split(" ")
    if fields[2] != "?" and fields[4] != "?":
        report(key, f"{value!r}: day-of-month or day-of-week must be '?'",
               "cron(0 3 * * ? *) or cron(0 3 ? * MON *)")
        return False
    return True


def check_monitoring_schedule(key: str, value: str) -> None:
    if check_schedule(key, value) and not _MONITOR_CRON.match(value):
        report(key, f"{value!r} is not a Model Monitor schedule",
               "hourly cron(0 * ? * * *), daily cron(0 H ? * * *) or every N hours "
               "cron(0 H/N ? * * *)")


def check_email(key: str, value: str | None, when_null: str) -> None:
    """An optional email address; `when_null` says what null means there."""
    if value is not None and not EMAIL.match(value):
        report(key, f"{value!r} is not an email address", f"name@example.com, or {when_null}")


def check_positive(key: str, value: float, minimum: float = 1) -> None:
    if value < minimum:
        report(key, f"{value!r} is below the minimum", f">= {minimum}")


def check_range(key: str, value: float, low: float, high: float) -> None:
    if not low <= value <= high:
        report(key, f"{value!r} is out of range", f"{low} .. {high}")
