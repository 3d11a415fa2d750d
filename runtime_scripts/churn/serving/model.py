"""The model directory SageMaker extracts to /opt/ml/model, loaded once per server worker.

Layout (written by training, see `runtime_scripts.contract`):
- MODEL_FILE: the XGBoost booster (JSON, `Booster.save_model`)
- TRANSFORM_FILE: the fitted preprocessing transform (`FittedTransform.save`)
- FEATURE_SCHEMA_FILE: {"input_columns", "features", "target", "positive_label", "id_columns",
  "decision_threshold"} and optionally "negative_label"

Both our server and the benchmark baseline load through `ModelArtifacts.load`, so they score the
very same booster and transform.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from runtime_scripts import contract
from runtime_scripts.churn.serving.errors import ModelLoadError
from runtime_scripts.churn.transform import FittedTransform

if TYPE_CHECKING:
    import xgboost

# The schema names only the positive class; the label we answer for the other class follows the
# usual binary pairs unless the schema spells it out as "negative_label".
_NEGATIVE_FOR = {"yes": "no", "true": "false", "1": "0", "y": "n"}


@dataclass(frozen=True)
class FeatureSchema:
    input_columns: list[str]
    features: dict[str, str]
    target: str
    positive_label: str
    negative_label: str
    id_columns: list[str]
    decision_threshold: float

    @classmethod
    def from_dict(cls, data: dict, source: str) -> FeatureSchema:
        required = ("input_columns", "features", "target", "positive_label")
        missing = [k for k in required if k not in data]
        if missing:
            raise ModelLoadError(f"{source}: keys {missing} are required")
        positive = str(data["positive_label"])
        negative = data.get("negative_label") or _NEGATIVE_FOR.get(positive.lower())
        threshold = float(data.get("decision_threshold", 0.5))
        if not 0.0 <= threshold <= 1.0:
            raise ModelLoadError(f"{source}: decision_threshold must be in [0, 1], got {threshold}")
        return cls(
            input_columns=[str(c) for c in data["input_columns"]],
            features=dict(data["features"]),
            target=str(data["target"]),
            positive_label=positive,
            negative_label=str(negative) if negative else f"not_{positive}",
            id_columns=[str(c) for c in data.get("id_columns", [])],
            decision_threshold=threshold,
        )


@dataclass
class ModelArtifacts:
    booster: xgboost.Booster
    transform: FittedTransform
    schema: FeatureSchema

    @classmethod
    def load(cls, model_dir: Path) -> ModelArtifacts:
        import xgboost

        model_dir = Path(model_dir)
        paths = {
            name: model_dir / name
            for name in (contract.MODEL_FILE, contract.TRANSFORM_FILE, contract.FEATURE_SCHEMA_FILE)
        }
        absent = [name for name, path in paths.items() if not path.is_file()]
        if absent:
            raise ModelLoadError(
                f"model directory {model_dir} lacks {absent}: point ML_ROOT, SM_MODEL_DIR or "
                "--model-dir at the output of a training job (model.tar.gz extracted)"
            )
        schema_path = paths[contract.FEATURE_SCHEMA_FILE]
        try:
            schema = FeatureSchema.from_dict(json.loads(schema_path.read_text()), str(schema_path))
            transform = FittedTransform.load(paths[contract.TRANSFORM_FILE])
            booster = xgboost.Booster()
            booster.load_model(str(paths[contract.MODEL_FILE]))
        except (ValueError, KeyError, TypeError, xgboost.core.XGBoostError) as exc:
            raise ModelLoadError(f"cannot load the model from {model_dir}: {exc}") from exc
        # One request at a time per worker process: OpenMP threads would only contend with the
        # other workers for the same cores.
        booster.set_param({"nthread": 1})
        if schema.input_columns != transform.input_columns:
            raise ModelLoadError(
                f"{schema_path} input_columns {schema.input_columns} differ from the transform's "
                f"{transform.input_columns}: the model directory mixes two training runs"
            )
        if booster.num_features() != transform.width:
            raise ModelLoadError(
                f"the booster expects {booster.num_features()} features but the transform makes "
                f"{transform.width}: the model directory mixes two training runs"
            )
        return cls(booster=booster, transform=transform, schema=schema)
