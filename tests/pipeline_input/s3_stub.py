"""An S3 client for the first-run checks' unit tests: ListObjectsV2 and GetObject, ranged as S3
answers a `Range` header (`bytes=a-b`, both ends included; `bytes=-n`, the last n bytes, the
whole object when it is shorter: RFC 9110's byte ranges), recording what was read; and what a
first-run answer without a profile must say."""

from __future__ import annotations

import io
import re


class StubS3:
    def __init__(self, objects: dict[str, bytes]) -> None:
        self.objects = objects
        self.read: list[str] = []  # keys read whole
        self.ranges: list[tuple[str, str]] = []  # (key, range) of each ranged read

    def list_objects_v2(self, *, Bucket, Prefix, MaxKeys):  # noqa: N803 (boto3's names)
        keys = sorted(k for k in self.objects if k.startswith(Prefix))
        return {"IsTruncated": len(keys) > MaxKeys, "Contents": [
            {"Key": k, "Size": len(self.objects[k])} for k in keys[:MaxKeys]]}

    def get_object(self, *, Bucket, Key, Range=None):  # noqa: N803
        body = self.objects[Key]
        if Range is None:
            self.read.append(Key)
            return {"Body": io.BytesIO(body)}
        self.ranges.append((Key, Range))
        suffix = re.fullmatch(r"bytes=-(\d+)", Range)
        if suffix:
            return {"Body": io.BytesIO(body[-int(suffix.group(1)):])}
        start, end = map(int, re.fullmatch(r"bytes=(\d+)-(\d+)", Range).groups())
        return {"Body": io.BytesIO(body[start:end + 1])}


def unprofiled(answer: dict) -> str:
    """What a first-run answer without a profile says it read (its `extent` says bounded)."""
    assert answer["document"] == {}
    assert answer["extent"]["exact"] is False and answer["extent"]["split_job_checks"]
    return answer["extent"]["read"]
