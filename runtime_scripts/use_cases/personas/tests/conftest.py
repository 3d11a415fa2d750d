"""One run of personas' jobs per session, in process (the test process has pandas and
scikit-learn loaded already), in SageMaker's directory layout under a temp root, each job on
the one before's outputs as the training pipeline maps them: preprocess, script-mode training,
evaluation; and the built-in paths: K-Means' and PCA's local emulations train on the same
splits, `process package` repacks their model_algo-1, evaluation scores the bundles."""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

from local_runner.stand_ins.builtin_training import train_builtin
from runtime_scripts import contract
from runtime_scripts.common import quality_gate
from runtime_scripts.common.manifest import USE_CASE_ENV
from runtime_scripts.use_cases import testing
from runtime_scripts.use_cases.personas import evaluate, package, preprocess, train
from runtime_scripts.use_cases.personas.manifest import MANIFEST


@dataclass
class PersonasRun:
    root: Path
    summary: dict
    trained: dict
    evaluation: dict
    packaged: dict
    builtin_evaluation: dict
    pca_packaged: dict
    pca_evaluation: dict

    @property
    def ml(self) -> contract.MlPaths:
        return contract.MlPaths(self.root)


def gate(conditions=MANIFEST.gate) -> list:
    return [quality_gate.Condition.parse(f"{c.metric}{c.comparison}{c.threshold!r}", MANIFEST)
            for c in conditions]


PCA = MANIFEST.with_builtin("pca")


def _repack_and_evaluate(root: Path, model: Path, processed: contract.MlPaths, conditions
                         ) -> tuple[dict, dict]:
    """`process package` of a built-in model, then its evaluation, as the pipeline runs them."""
    builtin = contract.MlPaths(root / "package")
    testing.stage_processing(builtin.root, {
        contract.PROCESSING_INPUT_MODEL: model,
        contract.PROCESSING_INPUT_TRANSFORM: processed.processing_output("transform")})
    packaged = package.package(builtin)
    repacked = contract.MlPaths(root / "evaluate")
    testing.stage_evaluation(repacked.root,
                             builtin.processing_output(contract.PROCESSING_OUTPUT_PACKAGED),
                             processed.processing_output("test"))
    return packaged, evaluate.evaluate(repacked, gate(conditions))


def _builtin_kmeans(root: Path, processed: contract.MlPaths, into: Path) -> Path:
    """What built-in K-Means writes for the platform's channels (train, and the validation split
    as `test`) in the manifest's input format (preprocessing's RecordIO-protobuf Records), made
    by its local emulation: model.tar.gz holding model_algo-1."""
    from local_runner.stand_ins import builtin_training

    builtin = MANIFEST.image.builtin_training
    for channel, split in (("train", "train"), ("test", "validation")):
        (root / "input" / "data" / channel).mkdir(parents=True)
        shutil.copytree(processed.processing_output(split), root / "input" / "data" / channel,
                        dirs_exist_ok=True)
    (root / "input" / "config").mkdir(parents=True)
    (root / "input" / "config" / "hyperparameters.json").write_text(
        json.dumps(builtin.hyperparameters))
    (root / "input" / "config" / "inputdataconfig.json").write_text(json.dumps(
        {c: {"ContentType": builtin.content_type} for c in ("train", "test")}))
    builtin_training.run("kmeans", root)
    return testing.make_model_archive(root / "model", into)


@pytest.fixture(scope="session")
def personas(tmp_path_factory: pytest.TempPathFactory) -> PersonasRun:
    root = tmp_path_factory.mktemp("personas")
    ml = contract.MlPaths(root)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(USE_CASE_ENV, MANIFEST.name)
        raw = ml.processing_input(contract.PROCESSING_INPUT_RAW)
        raw.mkdir(parents=True)
        shutil.copy(MANIFEST.path(MANIFEST.sample_data), raw)
        summary = preprocess.preprocess(ml)
        testing.stage_training(root, root, MANIFEST.hyperparameters)
        trained = train.train(ml)
        testing.stage_evaluation(root, testing.make_model_archive(ml.model, root / "staged"),
                                 ml.processing_output(contract.PROCESSING_OUTPUT_TEST))
        evaluation = evaluate.evaluate(ml, gate())
        # The built-in path: preprocessing as the pipeline runs it for built-in K-Means (its
        # input format), its model repacked, then evaluated as the pipeline does.
        for_builtin = contract.MlPaths(root / "for-builtin")
        shutil.copytree(ml.processing_input(contract.PROCESSING_INPUT_RAW),
                        for_builtin.processing_input(contract.PROCESSING_INPUT_RAW))
        patch.setenv(contract.TRAINING_INPUT_FORMAT_ENV,
                     MANIFEST.image.builtin_training.content_type)
        preprocess.preprocess(for_builtin)
        patch.delenv(contract.TRAINING_INPUT_FORMAT_ENV)
        packaged, builtin_evaluation = _repack_and_evaluate(
            root / "builtin", _builtin_kmeans(root / "kmeans", for_builtin, root / "kmeans-model"),
            for_builtin, MANIFEST.gate)
        # Built-in PCA (training.builtin_algorithm "pca") on the same Records.
        pca = PCA.image.builtin_training
        pca_model = train_builtin("pca", root / "pca", for_builtin.root,
                                          pca.hyperparameters, pca.content_type,
                                          root / "pca-model")
        pca_packaged, pca_evaluation = _repack_and_evaluate(root / "pca-builtin", pca_model,
                                                            for_builtin, PCA.gate)
    return PersonasRun(root, summary, trained, evaluation, packaged, builtin_evaluation,
                       pca_packaged, pca_evaluation)


@pytest.fixture(autouse=True)
def _personas_use_case(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(USE_CASE_ENV, MANIFEST.name)
