"""Per-metric statistics over folds, and the resampling gate's conditions on them
(`auc:mean>=0.85`, `auc:std<=0.03`), judged like the quality gate (common/quality_gate.py)."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np

from runtime_scripts import contract
from runtime_scripts.common import quality_gate
from runtime_scripts.common.jobio import JobError
from runtime_scripts.common.manifest import UseCaseManifest

_NUMBER = r"[-+]?[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?"
_CONDITION = re.compile(rf"^\s*([a-z_][a-z0-9_]*):({'|'.join(contract.RESAMPLING_STATISTICS)})"
                        rf"\s*(>=|<=|>|<)\s*({_NUMBER})\s*$")


def summarise(values: list[float]) -> dict[str, float]:
    """mean, sample standard deviation, min, max and the 95% t-interval of the mean: over K
    folds the mean's uncertainty is std / sqrt(K) times Student's t with K-1 degrees of
    freedom (the folds' scores are not independent, so the interval is, if anything, narrow)."""
    from scipy import stats

    data = np.asarray(values, dtype=float)
    n = len(data)
    mean, std = float(data.mean()), float(data.std(ddof=1))
    half = float(stats.t.ppf(0.975, n - 1)) * std / math.sqrt(n)
    return {"mean": mean, "std": std, "min": float(data.min()), "max": float(data.max()),
            "ci95_low": mean - half, "ci95_high": mean + half, "folds": n}


def registry_metadata(summary: dict[str, dict[str, float]]) -> dict[str, str]:
    """`{"cv.auc": "mean=0.91234 std=0.0123 ci95_low=0.8971 ci95_high=0.9276 min=... max=...
    folds=5"}`: the statistics as a registered model package's CustomerMetadataProperties, within
    CreateModelPackage's limits (contract.MODEL_PACKAGE_METADATA_*: no braces or quotes, so no
    JSON; six significant digits, the ModelQuality document keeps every digit), the first
    `CV_METADATA_METRICS_MAX` metrics in the manifest's order."""
    out = {}
    for name, stats in list(summary.items())[:contract.CV_METADATA_METRICS_MAX]:
        key = f"{contract.CV_METADATA_PREFIX}{name}"[:contract.MODEL_PACKAGE_METADATA_KEY_MAX]
        value = " ".join(f"{stat}={stats[stat]:.6g}" for stat in
                         ("mean", "std", "ci95_low", "ci95_high", "min", "max")
                         ) + f" folds={stats['folds']}"
        out[key] = value[:contract.MODEL_PACKAGE_METADATA_VALUE_MAX]
    return out


@dataclass(frozen=True)
class SpreadCondition:
    metric: str
    statistic: str
    comparison: str
    threshold: float

    @property
    def key(self) -> str:
        return f"{self.metric}:{self.statistic}"

    @classmethod
    def parse(cls, text: str, manifest: UseCaseManifest) -> SpreadCondition:
        match = _CONDITION.match(text)
        if not match:
            raise JobError(f"gate condition {text!r} is not 'metric:statistic>=number' "
                           f"(statistics: {', '.join(contract.RESAMPLING_STATISTICS)})")
        metric, statistic, comparison = match.group(1), match.group(2), match.group(3)
        threshold = float(match.group(4))
        if metric not in manifest.gateable_metrics:
            raise JobError(f"gate condition {text!r}: use case {manifest.name!r} gates on "
                           f"{', '.join(manifest.gateable_metrics)}")
        if statistic == "std":
            if comparison not in ("<=", "<") or threshold < 0:
                raise JobError(f"gate condition {text!r}: a spread is bounded from above by a "
                               "number >= 0 (<= or <)")
        else:
            problem = manifest.metric(metric).gate_problem(comparison, threshold)
            if problem:
                raise JobError(f"gate condition {text!r}: {problem}")
        return cls(metric, statistic, comparison, threshold)


def judge(conditions: list[SpreadCondition], summary: dict[str, dict[str, float]]) -> dict:
    values = {c.key: summary[c.metric][c.statistic] for c in conditions}
    return quality_gate.judge([quality_gate.Condition(c.key, c.comparison, c.threshold)
                               for c in conditions], values)
