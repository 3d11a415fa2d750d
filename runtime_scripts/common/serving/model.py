"""The model directory SageMaker extracts to /opt/ml/model, loaded once per server worker.

Layout (written by training, see `runtime_scripts.contract`):
- MODEL_FILE: the XGBoost booster (JSON, `Booster.save_model`)
- TRANSFORM_FILE: the fitted preprocessing transform (`FittedTransform.save`)
- FEATURE_SCHEMA_FILE: {"input_columns", "features", "target", "id_columns", "record_columns"},
  and a classifier's "positive_label", "negative_label" and "decision_threshold"

Loading is the shared `model_bundle.load_bundle` (as evaluation uses); this adds the serving
view of the schema and single-threaded prediction. What the model answers (a probability and a
label, or a value) follows from its kind (`task`, by the booster's objective). Our server and
the benchmark baseline both load through `ModelArtifacts.load`, so they score the very same
booster and transform.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from runtime_scripts import contract
from runtime_scripts.common.serving.errors import ModelLoadError
from runtime_scripts.common.tabular.task import DEFAULT_THRESHOLD

if TYPE_CHECKING:
    import xgboost

    from runtime_scripts.common.tabular.task import Task
    from runtime_scripts.common.tabular.transform import FittedTransform


@dataclass(frozen=True)
class FeatureSchema:
    input_columns: list[str]
    features: dict[str, str]
    target: str
    positive_label: str | None  # None: a regression
    negative_label: str | None
    id_columns: list[str]
    record_columns: list[str]  # the training data's layout without the target (see layout.py)
    decision_threshold: float

    @classmethod
    def from_dict(cls, data: dict, source: str, task: Task) -> FeatureSchema:
        required = ("input_columns", "features", "target", *task.schema_keys, "record_columns")
        missing = [k for k in required if k not in data]
        if missing:
            raise ModelLoadError(f"{source}: keys {missing} are required: train the model again "
                                 "with this image (preprocessing writes them)")
        threshold = float(data.get("decision_threshold", DEFAULT_THRESHOLD))
        if not 0.0 <= threshold <= 1.0:
            raise ModelLoadError(f"{source}: decision_threshold must be in [0, 1], got {threshold}")
        schema = cls(
            input_columns=[str(c) for c in data["input_columns"]],
            features=dict(data["features"]),
            target=str(data["target"]),
            positive_label=_text(data.get("positive_label")),
            negative_label=_text(data.get("negative_label")),
            id_columns=[str(c) for c in data.get("id_columns", [])],
            record_columns=[str(c) for c in data["record_columns"]],
            decision_threshold=threshold,
        )
        absent = sorted(set(schema.input_columns) - set(schema.record_columns))
        if absent:
            raise ModelLoadError(f"{source}: record_columns lack the features {absent}")
        return schema


def _text(value: object) -> str | None:
    return None if value is None else str(value)


@dataclass
class ModelArtifacts:
    booster: xgboost.Booster
    transform: FittedTransform
    schema: FeatureSchema
    task: Task

    @classmethod
    def load(cls, model_dir: Path) -> ModelArtifacts:
        from runtime_scripts.common.jobio import JobError
        from runtime_scripts.common.model_bundle import MODEL_FILES, load_bundle

        model_dir = Path(model_dir)
        absent = [name for name in MODEL_FILES if not (model_dir / name).is_file()]
        if absent:
            raise ModelLoadError(
                f"model directory {model_dir} lacks {absent}: point ML_ROOT, SM_MODEL_DIR or "
                "--model-dir at the output of a training job (model.tar.gz extracted)"
            )
        try:
            bundle = load_bundle(model_dir)
        except JobError as exc:
            raise ModelLoadError(str(exc)) from None
        schema_path = model_dir / contract.FEATURE_SCHEMA_FILE
        schema = FeatureSchema.from_dict(bundle.schema, str(schema_path), bundle.task)
        if schema.input_columns != bundle.transform.input_columns:
            raise ModelLoadError(
                f"{schema_path} input_columns {schema.input_columns} differ from the transform's "
                f"{bundle.transform.input_columns}: the model directory mixes two training runs"
            )
        # One request at a time per worker process: OpenMP threads would only contend with the
        # other workers for the same cores.
        bundle.booster.set_param({"nthread": 1})
        return cls(booster=bundle.booster, transform=bundle.transform, schema=schema,
                   task=bundle.task)
