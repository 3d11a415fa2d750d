"""The model directory training writes and evaluation (and anything else) loads.

Layout of `/opt/ml/model` (SageMaker tars it into `model.tar.gz`):

    xgboost-model.json    the booster (`Booster.save_model`, JSON), already cut at the best round
    transform.json        the fitted preprocessing transform (raw rows -> model features)
    feature_schema.json   {"input_columns", "features", "target", "id_columns",
                           "record_columns"} (preprocess.feature_schema); a classifier's also
                           "positive_label", "negative_label" and "decision_threshold"

What kind of model it is (task.py) follows from the booster's own objective: binary:logistic
gives probabilities, reg:squarederror values. Jobs that run for a use case check that it is the
use case's kind; the model alone says how to read its output.

A consumer gets either the extracted directory or the archive as SageMaker stages it (a
directory holding `model.tar.gz`); `resolve_model_dir` accepts both.
"""

from __future__ import annotations

import json
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from runtime_scripts import contract
from runtime_scripts.common.jobio import JobError
from runtime_scripts.common.manifest import UseCaseManifest
from runtime_scripts.common.tabular.task import Task, task_of_objective
from runtime_scripts.common.tabular.transform import FittedTransform

if TYPE_CHECKING:
    import xgboost

SCHEMA_KEYS = ("input_columns", "features", "target", "id_columns", "record_columns")
MODEL_FILES = (contract.MODEL_FILE, contract.TRANSFORM_FILE, contract.FEATURE_SCHEMA_FILE)


def load_feature_schema(path: Path, task: Task) -> dict[str, Any]:
    """Read and check a feature_schema.json of a `task` model; errors name the file and the
    missing keys."""
    try:
        schema = json.loads(path.read_text())
    except FileNotFoundError:
        raise JobError(f"{path} does not exist: it is written by preprocessing") from None
    except json.JSONDecodeError as exc:
        raise JobError(f"{path} is not valid JSON: {exc}") from None
    if not isinstance(schema, dict):
        raise JobError(f"{path} must hold a JSON object")
    missing = [k for k in (*SCHEMA_KEYS, *task.schema_keys) if k not in schema]
    if missing:
        raise JobError(f"{path} lacks keys {missing}: re-run preprocessing with this image")
    return schema


def load_transform(path: Path) -> FittedTransform:
    try:
        return FittedTransform.load(path)
    except FileNotFoundError:
        raise JobError(f"{path} does not exist: it is written by preprocessing") from None
    except (ValueError, KeyError, TypeError) as exc:
        raise JobError(f"{path} is not a usable transform: {exc}") from None


def resolve_model_dir(path: Path, extract_to: Path,
                      required: tuple[str, ...] = MODEL_FILES) -> Path:
    """The directory holding the model files (`required`: the tabular bundle's unless a use
    case's own jobs name theirs): `path` itself, or its archive extracted."""
    archive: Path | None = None
    if path.is_file() and path.name.endswith(".tar.gz"):
        archive = path
    elif path.is_dir() and not (path / required[0]).exists():
        archives = sorted(path.glob("*.tar.gz"))
        if len(archives) > 1:
            raise JobError(f"{path} holds several archives {[a.name for a in archives]}: "
                           "stage exactly one model.tar.gz")
        archive = archives[0] if archives else None
    elif not path.exists():
        raise JobError(f"model input {path} does not exist: map the model artefact to it")
    model_dir = path
    if archive is not None:
        try:
            with tarfile.open(archive, "r:gz") as tar:
                # The "data" filter refuses absolute paths, links out of the tree and devices.
                tar.extractall(extract_to, filter="data")
        except (tarfile.TarError, OSError) as exc:
            raise JobError(f"cannot extract model archive {archive}: {exc}") from None
        model_dir = extract_to
    missing = [name for name in required if not (model_dir / name).is_file()]
    if missing:
        raise JobError(
            f"model at {path} lacks {missing}: it must be the output of a training job"
        )
    return model_dir


@dataclass
class ModelBundle:
    booster: xgboost.Booster
    transform: FittedTransform
    schema: dict[str, Any]
    directory: Path
    task: Task  # what the booster predicts, by its objective

    @property
    def threshold(self) -> float | None:
        """A classifier's decision threshold (feature_schema.json); None for a regression."""
        return self.task.decision_threshold(self.schema, None)

    def feature_name(self, index: int) -> str:
        """Readable name of model feature `f<index>` (boosters are trained without names)."""
        columns = self.transform.output_columns
        return columns[index] if 0 <= index < len(columns) else f"f{index}"


def load_bundle(model_dir: Path, use_case: UseCaseManifest | None = None) -> ModelBundle:
    """The model in `model_dir`; with `use_case`, it must be of the use case's problem type."""
    import xgboost

    booster = xgboost.Booster()
    try:
        booster.load_model(model_dir / contract.MODEL_FILE)
    except xgboost.core.XGBoostError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else "unreadable"
        raise JobError(f"cannot load {model_dir / contract.MODEL_FILE}: {first}") from None
    task = task_of_objective(objective_of(booster), str(model_dir / contract.MODEL_FILE))
    if use_case is not None and task.problem_type != use_case.problem_type:
        raise JobError(f"the model in {model_dir} is a {task} model (objective "
                       f"{task.objective}), but use case {use_case.name!r} is "
                       f"{use_case.problem_type}: use a model of this use case's training")
    transform = load_transform(model_dir / contract.TRANSFORM_FILE)
    schema = load_feature_schema(model_dir / contract.FEATURE_SCHEMA_FILE, task)
    if booster.num_features() != transform.width:
        raise JobError(
            f"model expects {booster.num_features()} features but transform.json produces "
            f"{transform.width}: the model directory mixes artefacts from different runs"
        )
    return ModelBundle(booster, transform, schema, model_dir, task)


def is_linear(booster: xgboost.Booster) -> bool:
    """A gblinear booster (a repacked Linear Learner model, tabular/linear_learner.py): no
    trees, no gain, and XGBoost predicts it through a DMatrix only (it has no in-place
    prediction)."""
    config = json.loads(booster.save_config())
    return config["learner"]["gradient_booster"]["name"] == "gblinear"


def objective_of(booster: xgboost.Booster) -> str:
    """The objective a booster was trained with, from its saved configuration."""
    config = json.loads(booster.save_config())
    return str(config["learner"]["objective"]["name"])
