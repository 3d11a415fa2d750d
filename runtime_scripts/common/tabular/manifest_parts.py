"""Manifest parts every use case of the shared tabular jobs has alike: what the shared server
reads and answers, the boosting defaults, and the tree search space with its per-use-case bounds.

Standard library and manifest types only, like a manifest itself: the CDK side and the stage
config read manifests without the jobs' dependencies.
"""

from __future__ import annotations

from typing import Literal

from runtime_scripts import contract
from runtime_scripts.channels import ChannelSupport
from runtime_scripts.common.manifest import (
    BuiltinAlgorithm,
    GateCondition,
    Image,
    Serving,
    Tuning,
)
from runtime_scripts.common.training_rules import CurveRule, TrainingRules

# The request and response types of the shared server (serving/codecs.py MEDIA_TYPES; a test
# keeps them equal).
MEDIA_TYPES = ("text/csv", "application/json", "application/jsonlines")
# num_round is a cap: early stopping on the validation split ends training long before it.
BOOSTING = {"num_round": "1000", "early_stopping_rounds": "20"}


def tree_training_rules(loss: str) -> TrainingRules:
    """Boosting's training rules over its `loss` eval metric (e.g. "logloss"): in script mode
    the curve rules (train:<loss> keeps falling; validation:<loss> does not climb away from its
    best while it does), with the built-in algorithm Debugger's Overfit and TreeDepth."""
    train, validation = f"train:{loss}", f"validation:{loss}"
    return TrainingRules(
        builtin=("Overfit", "TreeDepth"),
        curve=(CurveRule("LossNotDecreasing", loss=train),
               CurveRule("Overfit", loss=train, validation_loss=validation)))


def serving(*prediction_columns: str) -> Serving:
    """The shared server's types, answering `prediction_columns` per row (task.py)."""
    return Serving(content_types=MEDIA_TYPES, accept_types=MEDIA_TYPES,
                   prediction_columns=prediction_columns)


def hyperparameters(*, max_depth: int, eta: float) -> dict[str, str]:
    """A use case's default training hyperparameters, as SageMaker passes them (strings)."""
    return {"num_round": BOOSTING["num_round"], "max_depth": str(max_depth), "eta": str(eta),
            "early_stopping_rounds": BOOSTING["early_stopping_rounds"]}


def tree_tuning(objective_metric: str, objective_type: Literal["Maximize", "Minimize"], *,
                eta: tuple[float, float], colsample_bytree: tuple[float, float],
                more_continuous: tuple[dict, ...] = ()) -> Tuning:
    """The tuning job's search over the tree hyperparameters that matter most for XGBoost
    (SageMaker's XGBoost tuning guide names alpha, min_child_weight, subsample, eta and
    num_round; num_round stays a cap here, and early stopping picks the rounds)."""
    continuous = [
        {"name": "eta", "min": eta[0], "max": eta[1], "scaling": "Logarithmic"},
        {"name": "subsample", "min": 0.6, "max": 1.0, "scaling": "Linear"},
        {"name": "colsample_bytree", "min": colsample_bytree[0], "max": colsample_bytree[1],
         "scaling": "Linear"},
        {"name": "min_child_weight", "min": 1.0, "max": 10.0, "scaling": "Auto"},
        *more_continuous,
    ]
    return Tuning(
        objective_metric=objective_metric, objective_type=objective_type,
        ranges={"continuous": continuous,
                "integer": [{"name": "max_depth", "min": 3, "max": 8, "scaling": "Linear"}],
                "categorical": []},
        static_hyperparameters=dict(BOOSTING),
    )


# The tabular use cases' shared image definition (relative to a use case's folder): the same
# dependencies for each, the use case passed as the ML_USE_CASE build argument.
TABULAR_DOCKERFILE = "../../common/tabular/Dockerfile"


def linear_learner(predictor_type: str, *, gate: tuple[GateCondition, ...] = (),
                   **hyperparameters: str) -> BuiltinAlgorithm:
    """SageMaker's built-in Linear Learner as another way to train (`training.builtin_algorithm
    = "linear-learner"`), on the same CSV splits as built-in XGBoost (label first, no header;
    the shared transform has imputed and standardised them). `predictor_type` is the use
    case's (binary_classifier, regressor); the tabular package job repacks its model
    (linear_learner.py). Its tuning searches the regularisation and the step size, four of the
    hyperparameters its tuning guide lists as tunable, on its validation loss (valid for every
    predictor type). `hyperparameters`: the use case's choices on top (e.g. wd); `gate`: its
    models' default gate where the use case's asks what a linear model cannot reach."""
    objective = "validation:objective_loss"
    return BuiltinAlgorithm(
        framework="linear-learner", version="1",
        hyperparameters={"predictor_type": predictor_type, **hyperparameters},
        objective_metric=objective, gate=gate,
        tuning=Tuning(objective_metric=objective, objective_type="Minimize", ranges={
            "continuous": [
                {"name": "wd", "min": 1e-7, "max": 1.0, "scaling": "Logarithmic"},
                {"name": "l1", "min": 1e-7, "max": 1.0, "scaling": "Logarithmic"},
                {"name": "learning_rate", "min": 1e-5, "max": 1.0, "scaling": "Logarithmic"}],
            "integer": [{"name": "mini_batch_size", "min": 100, "max": 5000,
                         "scaling": "Logarithmic"}],
            "categorical": []},
            static_hyperparameters={"predictor_type": predictor_type}))


def xgboost_image(*, objective: str, eval_metric: str,
                  alternatives: tuple[BuiltinAlgorithm, ...] = ()) -> Image:
    """The use case's own CPU image, and SageMaker's built-in XGBoost as the other way to train.

    Built-in version 3.0-5: the 1.x images save XGBoost's legacy binary format, which our
    XGBoost (>= 3.1) cannot load for the repack. Its objective is named even where it is the
    built-in default (reg:squarederror), so the repack's check and the tuning objective never
    rest on a default; early stopping and the tuning objective read validation:<eval_metric>.
    `alternatives`: other built-in algorithms a stage may choose (`linear_learner`).
    """
    return Image(dockerfile=TABULAR_DOCKERFILE, instance_family="cpu", sharded_training=True,
                 builtin_training=BuiltinAlgorithm(
        framework="xgboost", version="3.0-5",
        hyperparameters={"objective": objective, "eval_metric": eval_metric},
        objective_metric=f"validation:{eval_metric}"), builtin_alternatives=alternatives)


# The shared training script's channels (train.py): the splits read from files (File; FastFile
# mounts the same files) or streamed (Pipe, where SageMaker also unpacks Gzip objects), each
# split whole on every instance or a share of its files per instance (ShardedByS3Key); the
# transform's JSON files only as files. The script trains across instances on one train shard
# each (xgboost_image's sharded_training, distributed.py), so the train channel is
# ShardedByS3Key by default: SageMaker copies each instance about 1/n of its objects (with one
# instance, all of them, as FullyReplicated would).
SPLIT_CHANNEL = {"content_types": ("text/csv",), "input_modes": ("File", "FastFile", "Pipe"),
                 "compression_types": ("None", "Gzip"),
                 "s3_data_distribution_types": ("FullyReplicated", "ShardedByS3Key")}
CHANNELS = (
    ChannelSupport(contract.CHANNEL_TRAIN, **{
        **SPLIT_CHANNEL, "s3_data_distribution_types": ("ShardedByS3Key", "FullyReplicated")}),
    ChannelSupport(contract.CHANNEL_VALIDATION, **SPLIT_CHANNEL),
    ChannelSupport(contract.CHANNEL_TRANSFORM, content_types=("application/json",),
                   input_modes=("File", "FastFile")),
)
