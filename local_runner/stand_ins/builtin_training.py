"""Stand-in for SageMaker's built-in Linear Learner, K-Means, PCA and XGBoost training images (a
labelled emulation with scikit-learn and open-source XGBoost, not the AWS containers).

`python -m local_runner.stand_ins.builtin_training <framework>` keeps the images' contract: the
channels under /opt/ml/input/data (CSV with no header; the label first, or `label_size=0` in
the channel's content type; or `application/x-recordio-protobuf` Records),
hyperparameters.json with the algorithm's documented names (the required ones checked as the
algorithm does), the metrics under the documented names on the log
(`test:msd`, `validation:objective_loss`, ...: the local executor reads them as SageMaker reads
the algorithm's), and the model in /opt/ml/model as `model_algo-1`, in MXNet's NDArray format
(runtime_scripts/common/mxnet_ndarray.py):
- kmeans: a list of one array, the k x feature_dim centroids;
- pca: {"mean": 1 x d, "v": d x num_components, "s": num_components}, the largest singular
  value last;
- linear-learner: a ZIP of an MXNet Module checkpoint, as the algorithm saves it
  (runtime_scripts/common/tabular/linear_learner.py): mx-mod-0000.params holding
  `arg:fc0_weight` (outputs x d, FullyConnected's layout) and `arg:fc0_bias` (outputs) in
  feature space (the standardisation it fits is folded in), outputs 1 (binary, regression) or
  num_classes, and mx-mod-symbol.json naming that one layer.
- xgboost: `xgboost-model`, the booster in UBJSON (what the 3.0-5 container saves).
The fitting differs from AWS's (Lloyd's k-means, exact SVD, L-BFGS), so the numbers are
scikit-learn's; the layout, names and formats are the same. XGBoost is the library the built-in
container runs, without its distributed training and its input modes other than CSV.
"""

from __future__ import annotations

import json
import shutil
import sys
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from local_runner.stand_ins import EMULATED
from local_runner.stand_ins.builtin_serving import LINEAR_LEARNER_SIDECAR
from runtime_scripts import contract
from runtime_scripts.common import builtin_algorithms, mxnet_ndarray, recordio_protobuf
from runtime_scripts.common.tabular import linear_learner
from runtime_scripts.use_cases.testing import make_model_archive

LABEL = (f"{EMULATED} SageMaker's built-in {{framework}} cannot run on this machine; "
         "scikit-learn's {estimator} trained instead, with the same inputs, metric names and "
         "model layout")
# The least L2 regularisation the emulations use (Linear Learner's wd 0 has none; Ridge needs
# alpha > 0, and 1 / MIN_L2 is LogisticRegression's C then).
MIN_L2 = 1e-6


class AlgorithmError(ValueError):
    """What the built-in algorithm would refuse (a missing hyperparameter, a width mismatch)."""


def _label_size(content_type: str, supervised: bool) -> int:
    for part in content_type.split(";")[1:]:
        key, _, value = part.strip().partition("=")
        if key == "label_size":
            return int(value)
    return 1 if supervised else 0


def read_channel(root: Path, name: str, config: dict, spec) -> tuple[np.ndarray, np.ndarray]:
    """(features, labels) of channel `name`: every file under it, in the channel's content
    type: header-less CSV, or RecordIO-protobuf (each Record's features and label)."""
    files = sorted(p for p in (root / "input" / "data" / name).rglob("*") if p.is_file())
    if not files:
        raise AlgorithmError(f"channel {name!r} holds no files")
    content_type = config.get(name, {}).get("ContentType", "")
    if content_type.split(";")[0].strip() == recordio_protobuf.CONTENT_TYPE:
        return _read_recordio(files, name, spec)
    rows = np.vstack([np.loadtxt(f, delimiter=",", ndmin=2, dtype=np.float64) for f in files])
    size = _label_size(content_type, spec.supervised)
    return rows[:, size:], rows[:, :size].ravel() if size else np.empty(0)


def _read_recordio(files: list[Path], name: str, spec) -> tuple[np.ndarray, np.ndarray]:
    try:
        parts = [recordio_protobuf.read(f) for f in files]
    except recordio_protobuf.RecordIOError as exc:
        raise AlgorithmError(f"channel {name!r}: {exc}") from None
    features = np.vstack([f for f, _ in parts])
    labels = [label for _, label in parts]
    if spec.supervised and any(label is None for label in labels):
        raise AlgorithmError(f"channel {name!r}: records without a label: {spec.framework} "
                             "trains on labelled records")
    return features, (np.concatenate(labels) if spec.supervised else np.empty(0))


def _check_width(features: np.ndarray, hyperparameters: dict[str, str]) -> None:
    declared = hyperparameters.get("feature_dim")
    if declared not in (None, "auto") and int(declared) != features.shape[1]:
        raise AlgorithmError(f"feature_dim={declared} but the data has {features.shape[1]} "
                             "features per record")


def train_kmeans(hp: dict[str, str], train, test, model: Path) -> tuple[dict, str]:
    from sklearn.cluster import KMeans

    init = "random" if hp.get("init_method") == "random" else "k-means++"
    fitted = KMeans(n_clusters=int(hp["k"]), init=init, n_init=1, random_state=0,
                    max_iter=int(hp.get("epochs", "1")) * 100).fit(train[0])
    mxnet_ndarray.save(model / spec_model_file("kmeans"), [fitted.cluster_centers_])
    metrics = {}
    if test is not None:
        squared = np.min(((test[0][:, None, :] - fitted.cluster_centers_[None]) ** 2).sum(-1),
                         axis=1)
        wanted = json.loads(hp.get("eval_metrics", '["msd"]').replace("'", '"'))
        metrics = {f"test:{m}": float(squared.mean() if m == "msd" else squared.sum())
                   for m in wanted}
    return metrics, "KMeans"


def train_pca(hp: dict[str, str], train, test, model: Path) -> tuple[dict, str]:
    from sklearn.decomposition import PCA

    n = int(hp["num_components"])
    if n > train[0].shape[1]:
        raise AlgorithmError(f"num_components={n} exceeds feature_dim {train[0].shape[1]}")
    solver = "randomized" if hp.get("algorithm_mode") == "randomized" else "full"
    # scikit-learn always centres the data (the algorithm's subtract_mean=true, its default).
    fitted = PCA(n_components=n, svd_solver=solver, random_state=0).fit(train[0])
    # In the algorithm's order (AWS's example notebooks: "the top value is in the last row"
    # of s): the smallest singular value first.
    mxnet_ndarray.save(model / spec_model_file("pca"), {"mean": fitted.mean_[None, :],
                                                "v": fitted.components_[::-1].T,
                                                "s": fitted.singular_values_[::-1]})
    return {}, "PCA"


def _positive_weight(hp: dict[str, str]) -> dict | str | None:
    """positive_example_weight_mult: "balanced" weighs the classes equally (as the algorithm
    documents it), a number multiplies the positive rows' weight; "auto" (the algorithm picks
    one by its own search) is 1 here."""
    given = hp.get("positive_example_weight_mult", "auto")
    if given == "balanced":
        return "balanced"
    return None if given == "auto" else {0: 1.0, 1: float(given)}


def train_linear_learner(hp: dict[str, str], train, validation, model: Path) -> tuple[dict, str]:
    from sklearn import metrics as sk
    from sklearn.linear_model import LogisticRegression, Ridge
    from sklearn.preprocessing import StandardScaler

    kind = hp["predictor_type"]
    scaler = StandardScaler().fit(train[0])
    x = scaler.transform(train[0])
    # wd 0 (no L2 term) as the least regularisation both estimators take.
    l2 = max(float(hp.get("wd", "0") if hp.get("wd", "auto") != "auto" else "0"), MIN_L2)
    if kind == "regressor":
        estimator = Ridge(alpha=l2 * len(x)).fit(x, train[1])
        weight, bias = estimator.coef_[:, None], np.atleast_1d(estimator.intercept_)
    else:
        estimator = LogisticRegression(C=1.0 / l2, max_iter=1000,
                                       class_weight=_positive_weight(hp)).fit(
            x, train[1].astype(int))
        weight, bias = estimator.coef_.T, estimator.intercept_
    # Fold the standardisation into the weights: scores of raw features, as the model serves.
    weight = weight / scaler.scale_[:, None]
    bias = bias - scaler.mean_ @ weight
    (model / spec_model_file("linear-learner")).write_bytes(linear_learner.checkpoint_bytes(
        weight.T, bias, {"nodes": [{"op": "FullyConnected", "name": "fc0",
                                    "attrs": {"num_hidden": str(len(bias))}}]}))
    # What the serving emulation needs and the arrays do not say (builtin_serving.py).
    (model / LINEAR_LEARNER_SIDECAR).write_text(json.dumps({"predictor_type": kind}))
    if validation is None:
        return {}, type(estimator).__name__
    features, labels = validation
    scores = features @ weight + bias
    if kind == "regressor":
        predicted = scores.ravel()
        mse = sk.mean_squared_error(labels, predicted)
        found = {"objective_loss": mse, "mse": mse,
                 "absolute_loss": sk.mean_absolute_error(labels, predicted)}
    elif kind == "binary_classifier":
        probability = 1 / (1 + np.exp(-scores.ravel()))
        predicted = (probability >= 0.5).astype(int)
        found = {"objective_loss": sk.log_loss(labels, probability, labels=[0, 1]),
                 "binary_classification_accuracy": sk.accuracy_score(labels, predicted),
                 "precision": sk.precision_score(labels, predicted, zero_division=0),
                 "recall": sk.recall_score(labels, predicted, zero_division=0),
                 "binary_f_beta": sk.f1_score(labels, predicted, zero_division=0)}
    else:
        shifted = np.exp(scores - scores.max(axis=1, keepdims=True))
        probability = shifted / shifted.sum(axis=1, keepdims=True)
        predicted = probability.argmax(axis=1)
        found = {"objective_loss": sk.log_loss(labels, probability,
                                               labels=list(range(probability.shape[1]))),
                 "multiclass_accuracy": sk.accuracy_score(labels, predicted),
                 "macro_precision": sk.precision_score(labels, predicted, average="macro",
                                                       zero_division=0),
                 "macro_recall": sk.recall_score(labels, predicted, average="macro",
                                                 zero_division=0),
                 "macro_f_beta": sk.f1_score(labels, predicted, average="macro",
                                             zero_division=0)}
    return {f"validation:{k}": float(v) for k, v in found.items()}, type(estimator).__name__


def train_xgboost(hp: dict[str, str], train, validation, model: Path) -> tuple[dict, str]:
    """The open-source XGBoost the built-in container wraps: `num_round` rounds (early stopping
    on the validation channel with `early_stopping_rounds`), the other hyperparameters as
    booster parameters, each round's `<channel>:<eval_metric>` on the log as the container
    prints them, the booster saved as `xgboost-model` (UBJSON, as version 3.0-5 saves it)."""
    import xgboost

    params = {k: v for k, v in hp.items() if k not in ("num_round", "early_stopping_rounds")}
    sets = [(xgboost.DMatrix(train[0], label=train[1]), "train")]
    if validation is not None:
        sets.append((xgboost.DMatrix(validation[0], label=validation[1]), "validation"))
    history: dict = {}
    stopping = hp.get("early_stopping_rounds")
    booster = xgboost.train(params, sets[0][0], num_boost_round=int(hp.get("num_round", "100")),
                            evals=sets, evals_result=history, verbose_eval=False,
                            early_stopping_rounds=int(stopping) if stopping else None)
    for round_index in range(len(next(iter(history["train"].values())))):
        print(contract.format_metric_line(
            {f"{channel}:{name}": values[round_index]
             for channel, metrics in history.items() for name, values in metrics.items()},
            round=round_index), flush=True)
    booster.save_model(model / spec_model_file("xgboost"))
    return {}, "xgboost.train"


def spec_model_file(framework: str) -> str:
    return builtin_algorithms.algorithm(framework).model_file


TRAINERS = {"kmeans": train_kmeans, "pca": train_pca, "linear-learner": train_linear_learner,
            "xgboost": train_xgboost}


def run(framework: str, root: Path) -> str:
    """Train as built-in `framework` would under the container root `root`; the label."""
    spec = builtin_algorithms.algorithm(framework)
    config_dir = root / "input" / "config"
    hp = json.loads((config_dir / "hyperparameters.json").read_text())
    channels = json.loads((config_dir / "inputdataconfig.json").read_text())
    missing = [n for n in spec.required_hyperparameters if n not in hp]
    if missing:
        raise AlgorithmError(f"missing required hyperparameters: {', '.join(missing)}")
    metric_channel = next(name for name, split in spec.channels.items()
                          if split == builtin_algorithms.VALIDATION_SPLIT)
    train = read_channel(root, "train", channels, spec)
    _check_width(train[0], hp)
    held_out = read_channel(root, metric_channel, channels, spec) \
        if metric_channel in channels else None
    model = root / "model"
    model.mkdir(parents=True, exist_ok=True)
    metrics, estimator = TRAINERS[framework](hp, train, held_out, model)
    if metrics:
        print(contract.format_metric_line(metrics), flush=True)
    return LABEL.format(framework=framework, estimator=estimator)


def main(arguments: list[str]) -> int:
    root = contract.MlPaths.from_env().root
    (root / "output").mkdir(parents=True, exist_ok=True)
    try:
        label = run(arguments[0], root)
    except (AlgorithmError, KeyError, ValueError, OSError) as exc:
        (root / "output" / "failure").write_text(f"ClientError: {exc}")
        print(f"built-in {arguments[0] if arguments else '?'} stand-in: {exc}", file=sys.stderr)
        return 1
    (root / "output" / "message").write_text(label)
    print(label, file=sys.stderr)
    return 0


def train_builtin(framework: str, root: Path, processed: Path, hps: Mapping[str, str],
                  content_type: str, into: Path) -> Path:
    """What built-in `framework` writes when trained on the preprocess outputs of `processed`
    (each of its channels gets the platform split the algorithm's record names, in
    `content_type`), made by its local emulation: model.tar.gz in `into`, as processing stages
    it (for the use cases' tests of their repacks)."""
    src = contract.MlPaths(processed)
    channels = builtin_algorithms.algorithm(framework).channels
    for channel, split in channels.items():
        shutil.copytree(src.processing_output(split), root / "input" / "data" / channel)
    (root / "input" / "config").mkdir(parents=True)
    (root / "input" / "config" / "hyperparameters.json").write_text(json.dumps(dict(hps)))
    (root / "input" / "config" / "inputdataconfig.json").write_text(json.dumps(
        {channel: {"ContentType": content_type} for channel in channels}))
    run(framework, root)
    return make_model_archive(root / "model", into)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

