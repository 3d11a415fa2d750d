"""Value formats shared by both pipelines: S3 URIs and bucket names, SageMaker names and ARNs.

Kept here, free of any AWS SDK, so the rules AWS applies at CreateTrainingJob time are applied
when the execution starts instead, with the offending key in the message.
"""

from __future__ import annotations

import re
import unicodedata

from .. import contract
from . import names
from .errors import Problem, render

_S3_URI = re.compile(r"^s3://([^/]+)(?:/(.*))?$", re.DOTALL)
_BUCKET_CHARS = re.compile(r"^[a-z0-9][a-z0-9.-]*[a-z0-9]$")
_IPV4 = re.compile(r"^\d{1,3}(\.\d{1,3}){3}$")
# Prefixes and suffixes S3 reserves for access points, Object Lambda, directory and table buckets.
_RESERVED_PREFIXES = ("xn--", "sthree-", "amzn-s3-demo-")
_RESERVED_SUFFIXES = ("-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")

# ^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$ is the pattern of every SageMaker job, model and group name.
SAGEMAKER_NAME = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")
# SageMaker's pattern counts letters and digits only ('-*' repeats freely), so it does not bound
# the length: names.TUNING_NAME_MAX (the API's max) is checked beside it.
TUNING_JOB_NAME = re.compile(rf"^[a-zA-Z0-9](-*[a-zA-Z0-9]){{0,{names.TUNING_NAME_MAX - 1}}}$")
INSTANCE_TYPE = contract.INSTANCE_TYPE_PATTERN
METRIC_NAME = contract.METRIC_NAME_PATTERN
MODEL_PACKAGE_ARN = re.compile(
    r"^arn:aws[a-z-]*:sagemaker:(?P<region>[a-z0-9-]+):(?P<account>\d{12}):"
    r"model-package/(?P<group>[a-zA-Z0-9](?:-*[a-zA-Z0-9]){0,62})/(?P<version>[1-9]\d*)$")
JSON_PATH = re.compile(r"^\$")


# SageMaker's TagValue and CustomerMetadataValue (botocore's sagemaker model): at most 256
# characters of [\p{L}\p{Z}\p{N}_.:/=+\-@] (letters, separators such as spaces, digits, and
# those six), matched against the whole value. The pipelines write the execution name and the data
# location into job tags and model package metadata, where anything else fails the call.
TAG_VALUE_MAX = 256
_TAG_SYMBOLS = frozenset("_.:/=+-@")
TAG_VALUE_HELP = (f"at most {TAG_VALUE_MAX} letters, digits, spaces and _ . : / = + - @ "
                  "(SageMaker's tag and model package metadata values)")


# SageMaker's EntityDescription (ModelPackageDescription): [\p{L}\p{M}\p{Z}\p{S}\p{N}\p{P}]*,
# i.e. no control, format (zero-width joiners inside emoji), private-use or unassigned characters.
DESCRIPTION_HELP = ("letters, marks, digits, punctuation, symbols and spaces (SageMaker's "
                    "model package description), no zero-width or other format characters")


def outside_classes(value: str, classes: str, also: frozenset[str] = frozenset()) -> str:
    r"""The characters of `value` outside the Unicode general categories `classes` (given by
    their first letter: "L" is every letter category, like Java's \p{L}) and `also`, for a
    message (invisible ones as U+XXXX); '' when there are none."""
    bad = sorted({c for c in value if unicodedata.category(c)[0] not in classes
                  and c not in also})
    return " ".join(render(c) if c.isprintable() else f"U+{ord(c):04X}" for c in bad[:10])


def tag_value_problem(value: str) -> str | None:
    """What SageMaker's tag-value pattern rejects in `value`, or None."""
    bad = outside_classes(value, "LZN", _TAG_SYMBOLS)
    if bad:
        return f"has characters SageMaker tags and model package metadata cannot hold: {bad}"
    if len(value) > TAG_VALUE_MAX:
        return f"is {len(value)} characters long"
    return None


def check_tag_value(key: str, value: str, use: str, out: list[Problem]) -> None:
    """`value` (at `key`) becomes a tag or metadata value (`use` says which)."""
    problem = tag_value_problem(value)
    if problem:
        out.append(Problem(key, f"{render(value)} {problem}; it is {use}", TAG_VALUE_HELP))


def split_s3_uri(value: str) -> tuple[str, str] | None:
    """('bucket', 'key/prefix') for 's3://bucket/key/prefix', None when it is not an S3 URI."""
    match = _S3_URI.match(value)
    if not match:
        return None
    return match.group(1), match.group(2) or ""


def bucket_problem(bucket: str) -> str | None:
    """What is wrong with an S3 bucket name under the current naming rules, or None."""
    if not 3 <= len(bucket) <= 63:
        return f"is {len(bucket)} characters long"
    if not _BUCKET_CHARS.match(bucket):
        return "is not a valid bucket name"
    if ".." in bucket:
        return "has two adjacent periods"
    if _IPV4.match(bucket):
        return "is formatted as an IP address"
    if bucket.startswith(_RESERVED_PREFIXES) or bucket.endswith(_RESERVED_SUFFIXES):
        return "uses a prefix or suffix that S3 reserves"
    return None


def control_chars(value: str) -> bool:
    return bool(_CONTROL.search(value))


def check_bucket_name(key: str, value: object, out: list[Problem]) -> None:
    """For platform.artifacts_bucket, which is a bare bucket name rather than a URI."""
    if not isinstance(value, str):
        out.append(Problem(key, "must be a bucket name string"))
        return
    problem = bucket_problem(value)
    if problem:
        out.append(Problem(key, f"bucket {value!r} {problem}"))


def is_inside(uri: str, prefix: str) -> bool:
    """True when objects under `uri` are also listed under the S3 prefix `prefix`. An S3Prefix
    data source matches keys by plain string prefix: 's3://b/in' also reads 's3://b/inside/'."""
    return uri.startswith(prefix)
