"""The dataset spec: which column is the target, which are ids, which features and their kinds.

A JSON document (each use case bundles one, named by its manifest) so a pipeline can pass another
one as a processing input without rebuilding the image. A classification target names its two
classes (`positive_label`, `negative_label`); a regression target, a number, names neither.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

FEATURE_KINDS = ("numeric", "categorical")


def bundled_spec_path() -> Path:
    """The dataset spec the running use case bundles (its manifest's `dataset_spec`)."""
    from runtime_scripts.common.manifest import current_use_case

    manifest = current_use_case()
    return manifest.path(manifest.dataset_spec)


class DatasetSpecError(ValueError):
    """The dataset spec itself is malformed; the message names the key and the fix."""


@dataclass(frozen=True)
class SplitRatios:
    train: float
    validation: float
    test: float
    seed: int


@dataclass(frozen=True)
class DatasetSpec:
    name: str
    target: str
    positive_label: str | None  # None for a regression target
    negative_label: str | None
    id_columns: tuple[str, ...]
    features: dict[str, str]  # name -> kind, in request order
    split: SplitRatios
    clip_quantiles: tuple[float, float]
    baseline_rows: int
    # Rows that share this column's value belong together (one customer's records, one
    # house's sales): resampling keeps them on one side of every split. An id column or a
    # feature; None when the rows are independent.
    group_column: str | None = None

    @property
    def columns(self) -> list[str]:
        """Every column the spec names: target, id columns and features."""
        return [self.target, *self.id_columns, *self.features]

    @property
    def problem_type(self) -> str:
        """What the spec's target asks for: classes named, or a number."""
        return "binary_classification" if self.positive_label is not None else "regression"

    def check_problem_type(self, problem_type: str, use_case: str) -> None:
        """The spec fits the use case's problem type, or the error says how to make it fit."""
        if self.problem_type == problem_type:
            return
        fix = ("name the two classes of the target with 'positive_label' and 'negative_label'"
               if problem_type == "binary_classification" else
               "remove 'positive_label' and 'negative_label': a regression target is a number")
        raise DatasetSpecError(f"dataset spec {self.name!r} describes a {self.problem_type} "
                               f"target but use case {use_case!r} is {problem_type}: {fix}")

    @property
    def feature_names(self) -> list[str]:
        return list(self.features)

    @property
    def numeric_features(self) -> list[str]:
        return [n for n, k in self.features.items() if k == "numeric"]

    @property
    def categorical_features(self) -> list[str]:
        return [n for n, k in self.features.items() if k == "categorical"]

    @classmethod
    def load(cls, path: Path | None = None) -> DatasetSpec:
        path = Path(path) if path else bundled_spec_path()
        try:
            data = json.loads(path.read_text())
        except FileNotFoundError:
            raise DatasetSpecError(f"dataset spec {path} does not exist") from None
        except json.JSONDecodeError as exc:
            raise DatasetSpecError(f"dataset spec {path} is not valid JSON: {exc}") from None
        return cls.from_dict(data, source=str(path))

    @classmethod
    def from_dict(cls, data: dict, source: str = "dataset spec") -> DatasetSpec:
        def need(key: str, kind: type):
            if key not in data:
                raise DatasetSpecError(f"{source}: key {key!r} is required")
            if not isinstance(data[key], kind):
                raise DatasetSpecError(f"{source}: key {key!r} must be a {kind.__name__}")
            return data[key]

        known = {"name", "target", "positive_label", "negative_label", "id_columns", "features",
                 "split", "clip_quantiles", "baseline_rows", "group_column"}
        unknown = sorted(set(data) - known)
        if unknown:
            raise DatasetSpecError(
                f"{source}: unknown keys {unknown}; allowed keys: {sorted(known)}"
            )
        features = need("features", dict)
        if not features:
            raise DatasetSpecError(f"{source}: 'features' must name at least one column")
        bad = {n: k for n, k in features.items() if k not in FEATURE_KINDS}
        if bad:
            raise DatasetSpecError(
                f"{source}: features {sorted(bad)} have unknown kinds {sorted(set(bad.values()))}; "
                f"allowed: {list(FEATURE_KINDS)}"
            )
        split = data.get("split", {})
        ratios = SplitRatios(
            train=float(split.get("train", 0.7)),
            validation=float(split.get("validation", 0.15)),
            test=float(split.get("test", 0.15)),
            seed=int(split.get("seed", 42)),
        )
        parts = (ratios.train, ratios.validation, ratios.test)
        if any(r <= 0 for r in parts) or abs(sum(parts) - 1.0) > 1e-6:
            raise DatasetSpecError(
                f"{source}: 'split' ratios train/validation/test must each be > 0 and sum to 1, "
                f"got {parts}"
            )
        q = data.get("clip_quantiles", [0.001, 0.999])
        if not (isinstance(q, list) and len(q) == 2 and 0 <= q[0] < q[1] <= 1):
            raise DatasetSpecError(
                f"{source}: 'clip_quantiles' must be [low, high] with 0 <= low < high <= 1, got {q}"
            )
        target = need("target", str)
        id_columns = tuple(data.get("id_columns", []))
        overlap = sorted(({target} | set(id_columns)) & set(features))
        if overlap:
            raise DatasetSpecError(
                f"{source}: columns {overlap} are listed as features and as target/id columns"
            )
        positive = negative = None
        if "positive_label" in data or "negative_label" in data:  # a classification target
            positive, negative = _class_labels(need("positive_label", str),
                                               need("negative_label", str), target, source)
        baseline_rows = int(data.get("baseline_rows", 1000))
        if baseline_rows <= 0:
            raise DatasetSpecError(f"{source}: 'baseline_rows' must be > 0, got {baseline_rows}")
        return cls(
            group_column=_group_column(data.get("group_column"), id_columns, features, source),
            name=str(data.get("name", "dataset")),
            target=target,
            positive_label=positive,
            negative_label=negative,
            id_columns=id_columns,
            features=dict(features),
            split=ratios,
            clip_quantiles=(float(q[0]), float(q[1])),
            baseline_rows=baseline_rows,
        )


def _group_column(group: object, id_columns: tuple[str, ...], features: dict,
                  source: str) -> str | None:
    if group is not None and group not in (*id_columns, *features):
        raise DatasetSpecError(f"{source}: 'group_column' {group!r} must be one of its id "
                               f"columns or features ({', '.join((*id_columns, *features))})")
    return group  # type: ignore[return-value]


def _class_labels(positive: str, negative: str, target: str, source: str) -> tuple[str, str]:
    """Both classes as the data spells them: predictions answer in the same words, and a target
    value that is neither is a data error rather than a silent negative."""
    for key, label in (("positive_label", positive), ("negative_label", negative)):
        if not label or label.strip() != label:
            raise DatasetSpecError(f"{source}: {key!r} must be a non-empty label without "
                                   f"leading or trailing spaces, got {label!r}")
    if positive == negative:
        raise DatasetSpecError(f"{source}: 'positive_label' and 'negative_label' are both "
                               f"{positive!r}: name the two classes of {target!r}")
    return positive, negative
