"""The data profile: how many rows the data has, per class (a classification) and in how many
groups. The split job writes it; the cross-validation state machine reads it in its first
states (an S3 GetObject of a few hundred bytes) to refuse, within a second and before any job
is paid for, more folds than the smallest class has rows. Why a profile and not the data: the
input validator is a pure function with no access to the buckets, and a state can read an
object of at most 256 KB (Step Functions' payload quota), far less than most datasets. The
profile records the data location it describes; a profile of another location is ignored.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable


def profile_of(rows: int, labels: Iterable[object] | None, groups: Iterable[object] | None,
               data_s3_uri: str | None = None, group_column: str | None = None) -> dict:
    """`labels` and `groups` one per row (a numpy array or a list), None when not stratified
    or not grouped; `group_column` names the column the groups are of (a later run grouping
    by another column cannot use their count)."""
    counts = dict(sorted(Counter(labels).items())) if labels is not None else {}
    return {"data_s3_uri": data_s3_uri, "rows": rows,
            "class_counts": {str(k): int(v) for k, v in counts.items()},
            # null for a regression: no class can run short of rows.
            "minority_count": int(min(counts.values())) if counts else None,
            "groups": len(set(groups)) if groups is not None else None,
            "group_column": group_column if groups is not None else None}
