"""Package job: repack a SageMaker built-in XGBoost or Linear Learner model into this image's
model bundle.

With `training.algorithm = "builtin"` the training (or tuning) job runs SageMaker's
XGBoost container, whose model.tar.gz holds one file, `xgboost-model`, or Linear Learner's
(`training.builtin_algorithm = "linear-learner"`), whose holds `model_algo-1`
(linear_learner.py: its weights become an XGBoost gblinear booster), and nothing of the
preprocessing. This job turns it into the bundle `train` writes (model_bundle.py), so evaluation,
the model registry, serving and batch transform see one model format whichever algorithm ran.

Inputs (processing job layout, root redirectable with ML_ROOT):
    processing/input/model      the built-in model: model.tar.gz as SageMaker stages it (a
                                directory holding it), the archive itself, or its extracted
                                directory; it holds `xgboost-model` (JSON or UBJSON) or
                                `model_algo-1` (Linear Learner's MXNet checkpoint)
    processing/input/transform  the preprocess `transform` output: transform.json and
                                feature_schema.json
Output: processing/output/packaged/model.tar.gz with xgboost-model.json (the booster, cut at its
best round when it has one; Linear Learner's as a gblinear booster), transform.json and
feature_schema.json (a classifier's with its decision_threshold).
"""

from __future__ import annotations

import argparse
import io
import json
import logging
import shutil
import sys
import tarfile
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from runtime_scripts import contract
from runtime_scripts.common.builtin_algorithms import algorithm
from runtime_scripts.common.jobio import JobError, atomic_outputs, run_job
from runtime_scripts.common.manifest import current_use_case
from runtime_scripts.common.model_bundle import (
    load_bundle,
    load_feature_schema,
    load_transform,
    objective_of,
)
from runtime_scripts.common.tabular import linear_learner
from runtime_scripts.common.tabular.task import task_for

if TYPE_CHECKING:
    import xgboost

log = logging.getLogger("tabular.package")

PICKLE_PROTOCOL_MARK = b"\x80"  # pickle protocol >= 2 starts with PROTO (0x80)
LINEAR_LEARNER_MODEL = algorithm("linear-learner").model_file
BUILTIN_MODEL_FILES = (contract.BUILTIN_MODEL_FILE, LINEAR_LEARNER_MODEL)


# --- reading the built-in model ------------------------------------------------------------------
def _extract(archive: Path, into: Path) -> Path:
    try:
        with tarfile.open(archive, "r:gz") as tar:
            # The "data" filter refuses absolute paths, links out of the tree and devices.
            tar.extractall(into, filter="data")
    except (tarfile.TarError, OSError) as exc:
        raise JobError(f"cannot extract model archive {archive}: {exc}") from None
    return into


def find_builtin_model(path: Path, extract_to: Path) -> Path:
    """The `xgboost-model` file of the built-in model at `path` (archive, staged or extracted)."""
    if not path.exists():
        raise JobError(f"model input {path} does not exist: map the built-in training job's "
                       "model artefact (ModelArtifacts.S3ModelArtifacts) to it")
    if path.is_file():
        if not path.name.endswith(".tar.gz"):
            raise JobError(f"model input {path} is neither a model.tar.gz nor a directory")
        directory = _extract(path, extract_to)
    elif any((path / name).is_file() for name in BUILTIN_MODEL_FILES):
        directory = path
    else:
        archives = sorted(path.glob("*.tar.gz"))
        if len(archives) > 1:
            raise JobError(f"{path} holds several archives {[a.name for a in archives]}: "
                           "stage exactly one model.tar.gz")
        directory = _extract(archives[0], extract_to) if archives else path
    for name in BUILTIN_MODEL_FILES:
        if (directory / name).is_file():
            return directory / name
    found = sorted(p.name for p in directory.iterdir()) if directory.is_dir() else []
    hint = ("it is already a bundle of this image's `train`: package only built-in XGBoost "
            "and Linear Learner models" if contract.MODEL_FILE in found
            else "a SageMaker built-in XGBoost or Linear Learner training job's model.tar.gz "
                 "holds one")
    raise JobError(f"no {' or '.join(BUILTIN_MODEL_FILES)} in the model input {path} "
                   f"(found {found or 'nothing'}): {hint}")


def load_builtin_booster(model_file: Path) -> xgboost.Booster:
    """Load `xgboost-model`; a pickle or XGBoost's legacy binary format fails with a message
    naming the format, since this image's XGBoost reads JSON and UBJSON only."""
    import xgboost

    with model_file.open("rb") as handle:
        head = handle.read(4)
    if not head:
        raise JobError(f"{model_file} is empty (0 bytes): the training job wrote no model")
    if head.startswith(PICKLE_PROTOCOL_MARK):
        raise JobError(
            f"{model_file} is a Python pickle of an XGBoost Booster (SageMaker's XGBoost "
            "0.90-1.2 containers pickle it): unpickling is unsafe and tied to that XGBoost "
            "version; train with a built-in version that saves JSON/UBJSON (3.0-5)")
    if not head.startswith(b"{"):  # JSON and UBJSON documents both open with '{'
        raise JobError(
            f"{model_file} is in XGBoost's legacy binary format (SageMaker's XGBoost 1.x "
            f"containers save it), which XGBoost {xgboost.__version__} cannot load (removed in "
            "3.1): train with built-in version 3.0-5, which saves UBJSON")
    booster = xgboost.Booster()
    try:
        booster.load_model(model_file)
    except xgboost.core.XGBoostError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else "unreadable"
        raise JobError(f"cannot load {model_file}: {first}") from None
    return booster


def best_round_model(booster: xgboost.Booster) -> tuple[xgboost.Booster, int | None]:
    """The booster cut at its best round when early stopping recorded one (as `train` does:
    the bundle's booster predicts with every tree it holds), and that round's index."""
    best = booster.attr("best_iteration")
    if best is None:
        return booster, None
    try:
        index = int(best)
    except ValueError:
        raise JobError(f"the built-in model's best_iteration {best!r} is not a round") from None
    if not 0 <= index < booster.num_boosted_rounds():
        raise JobError(f"the built-in model's best_iteration {index} is outside its "
                       f"{booster.num_boosted_rounds()} rounds")
    if index + 1 == booster.num_boosted_rounds():
        return booster, index
    cut = booster[: index + 1]
    cut.set_attr(best_iteration=str(index), best_score=booster.attr("best_score"))
    return cut, index


# --- writing the bundle ---------------------------------------------------------------------------
def _archive(directory: Path) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name in (contract.MODEL_FILE, contract.TRANSFORM_FILE, contract.FEATURE_SCHEMA_FILE):
            tar.add(directory / name, arcname=name)
    return buffer.getvalue()


def package(paths: contract.MlPaths, threshold: float | None) -> dict[str, Any]:
    """`threshold`: a classifier's decision threshold (None: 0.5); a regression has none."""
    manifest = current_use_case()
    task = task_for(manifest.problem_type)
    if threshold is not None and "decision_threshold" not in task.own_hyperparameters:
        raise JobError(f"--decision-threshold labels a classifier's probabilities; use case "
                       f"{manifest.name!r} is {task}: leave it out")
    model_input = paths.processing_input(contract.PROCESSING_INPUT_MODEL)
    transform_dir = paths.processing_input(contract.PROCESSING_INPUT_TRANSFORM)
    out_dir = paths.processing_output(contract.PROCESSING_OUTPUT_PACKAGED)
    with tempfile.TemporaryDirectory(prefix="package-") as tmp:
        work = Path(tmp)
        model_file = find_builtin_model(model_input, work / "builtin")
        transform = load_transform(transform_dir / contract.TRANSFORM_FILE)
        if model_file.name == LINEAR_LEARNER_MODEL:
            # Its predictor_type is the use case's (the stage config pins it): one output,
            # the use case's link.
            booster = linear_learner.booster_of(model_file, transform.width, task.objective)
        else:
            booster = load_builtin_booster(model_file)
        objective = objective_of(booster)
        if objective != task.objective:
            raise JobError(f"the built-in model was trained with objective {objective!r}: use "
                           f"case {manifest.name!r} is {task}, whose models are trained with "
                           f"{task.objective}; set the hyperparameter objective={task.objective}")
        schema = load_feature_schema(transform_dir / contract.FEATURE_SCHEMA_FILE, task)
        if booster.num_features() != transform.width:
            raise JobError(f"the built-in model expects {booster.num_features()} features but "
                           f"transform.json produces {transform.width}: the model was trained "
                           "on another preprocessing run's splits")
        model, best = best_round_model(booster)

        bundle_dir = work / "bundle"
        bundle_dir.mkdir()
        model.save_model(bundle_dir / contract.MODEL_FILE)
        shutil.copyfile(transform_dir / contract.TRANSFORM_FILE,
                        bundle_dir / contract.TRANSFORM_FILE)
        schema.update(task.model_schema(threshold))
        (bundle_dir / contract.FEATURE_SCHEMA_FILE).write_text(json.dumps(schema, indent=2))
        load_bundle(bundle_dir, manifest)  # what evaluation and serving will do: fail here
        archive = _archive(bundle_dir)
        with atomic_outputs({"packaged": out_dir}) as staging:
            (staging["packaged"] / contract.PACKAGED_MODEL_ARCHIVE).write_bytes(archive)
    return {"rounds": model.num_boosted_rounds(), "best_iteration": best,
            "builtin_rounds": booster.num_boosted_rounds(), "features": transform.width,
            **task.model_schema(threshold),
            "output": str(out_dir / contract.PACKAGED_MODEL_ARCHIVE)}


def _threshold(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not 0 < value <= 1:
        raise argparse.ArgumentTypeError(f"must be a probability in (0, 1], got {text!r}")
    return value


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="process package", description=__doc__.split("\n")[0])
    parser.add_argument("--decision-threshold", type=_threshold,
                        help="classification: probability at or above which a row is labelled "
                             "positive (default 0.5, as `train`'s decision_threshold)")
    args = parser.parse_args(argv)
    paths = contract.MlPaths.from_env()

    def job() -> None:
        print(json.dumps(package(paths, args.decision_threshold)), flush=True)

    return run_job(job, paths.exit_message, "packaging")


if __name__ == "__main__":
    sys.exit(main())
