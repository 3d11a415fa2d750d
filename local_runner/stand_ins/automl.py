"""Stand-in for SageMaker Autopilot (CreateAutoMLJobV2 with a TabularJobConfig): a labelled
EMULATION, not Autopilot.

Autopilot analyses the data, engineers features and trains up to MaxCandidates candidates (an
AutoGluon ensemble, or tuned XGBoost / linear / MLP models) on AWS's images. Here a small search
over scikit-learn model families (gradient boosting, logistic or linear regression, random
forest, extra trees; the first MaxCandidates of them) runs in-process on the request's training
channel, each candidate scored on the validation channel (or, without one, on the
DataSplitConfig's ValidationFraction of the training rows) with the request's objective metric,
and the best one is described with Autopilot's shapes: BestCandidate with its
FinalAutoMLJobObjectiveMetric, CandidateMetrics and InferenceContainers. Those containers name
the stand-in serving image (automl_serving.py), which the local batch transform runs; their
count follows Autopilot's (AWS: one in ENSEMBLING mode; two for a regression, three for a
classifier in HYPERPARAMETER_TUNING mode), all holding the same fitted pipeline.
"""

from __future__ import annotations

import io
import pickle
import tarfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from local_runner.executors import staging
from local_runner.stand_ins import EMULATED

SERVING_REPOSITORY = "sagemaker-sklearn-automl"  # the stand-in serving image's repository
SERVING_TAG = "local-emulation"
MODEL_FILE = "candidate.pkl"
LABEL = (f"{EMULATED} SageMaker Autopilot cannot run on this machine; a search over "
         "{count} scikit-learn model families ({families}) chose {best} "
         "({metric} {value:.4f} on the validation rows)")
# Direction of each objective (API: FinalAutoMLJobObjectiveMetric.Type).
MINIMIZED = {"MSE", "MAE", "RMSE"}


@dataclass(frozen=True)
class Candidate:
    family: str
    name: str
    pipeline: object
    metrics: dict[str, float]


def _families(classifier: bool) -> list[tuple[str, object]]:
    from sklearn import ensemble, linear_model

    if classifier:
        return [("gradient-boosting", ensemble.HistGradientBoostingClassifier(random_state=0)),
                ("logistic", linear_model.LogisticRegression(max_iter=1000)),
                ("random-forest", ensemble.RandomForestClassifier(n_estimators=100,
                                                                  random_state=0)),
                ("extra-trees", ensemble.ExtraTreesClassifier(n_estimators=100,
                                                              random_state=0))]
    return [("gradient-boosting", ensemble.HistGradientBoostingRegressor(random_state=0)),
            ("linear", linear_model.Ridge()),
            ("random-forest", ensemble.RandomForestRegressor(n_estimators=100, random_state=0)),
            ("extra-trees", ensemble.ExtraTreesRegressor(n_estimators=100, random_state=0))]


def text_columns(frame: pd.DataFrame) -> list[str]:
    return [c for c in frame.columns if not pd.api.types.is_numeric_dtype(frame[c])]


def _pipeline(model: object, frame: pd.DataFrame):
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    text = text_columns(frame)
    numbers = [c for c in frame.columns if c not in text]
    features = ColumnTransformer([
        ("numbers", make_pipeline(SimpleImputer(), StandardScaler()), numbers),
        ("text", make_pipeline(SimpleImputer(strategy="most_frequent"),
                               OneHotEncoder(handle_unknown="ignore", sparse_output=False)), text)])
    return make_pipeline(features, model)


def _metrics(classifier: bool, y: np.ndarray, pipeline, x: pd.DataFrame,
             positive: str | None) -> dict[str, float]:
    from sklearn import metrics

    if not classifier:
        p = pipeline.predict(x)
        mse = float(metrics.mean_squared_error(y, p))
        return {"MSE": mse, "RMSE": mse ** 0.5, "MAE": float(metrics.mean_absolute_error(y, p)),
                "R2": float(metrics.r2_score(y, p))}
    labels = [str(c) for c in pipeline.classes_]
    truth = (y == positive).astype(int)
    probability = pipeline.predict_proba(x)[:, labels.index(positive)]
    predicted = (pipeline.predict(x) == positive).astype(int)
    return {"F1": float(metrics.f1_score(truth, predicted, zero_division=0)),
            "Accuracy": float(metrics.accuracy_score(truth, predicted)),
            "AUC": float(metrics.roc_auc_score(truth, probability)),
            "BalancedAccuracy": float(metrics.balanced_accuracy_score(truth, predicted)),
            "Precision": float(metrics.precision_score(truth, predicted, zero_division=0)),
            "Recall": float(metrics.recall_score(truth, predicted, zero_division=0))}


def _read_channel(s3, channel: dict) -> pd.DataFrame:
    uri = channel["DataSource"]["S3DataSource"]["S3Uri"]
    frames = [pd.read_csv(io.BytesIO(staging.read_object(s3, object_uri)))
              for object_uri, _ in staging.require_objects(s3, uri)]
    return pd.concat(frames, ignore_index=True)


def _positive_label(y: pd.Series) -> str:
    # Autopilot picks the positive class itself; the emulation takes the minority class, the
    # one a churn-like problem asks about (the evaluation reads every label's probability).
    counts = y.value_counts()
    return str(counts.index[-1])


def search(request: dict, s3, workdir: Path) -> dict:
    """The describe fields of a finished job (Completed, or Failed with the reason)."""
    tabular = request["AutoMLProblemTypeConfig"]["TabularJobConfig"]
    target = tabular["TargetAttributeName"]
    classifier = tabular.get("ProblemType") != "Regression"
    channels = {c.get("ChannelType", "training"): c for c in request["AutoMLJobInputDataConfig"]}
    train = _read_channel(s3, channels["training"])
    if target not in train.columns:
        return {"AutoMLJobStatus": "Failed", "AutoMLJobSecondaryStatus": "Failed",
                "FailureReason": f"ClientError: the target attribute {target!r} is not a column "
                                 f"of the training data ({', '.join(train.columns[:10])}, ...)"}
    if "validation" in channels:
        validation = _read_channel(s3, channels["validation"])
    else:
        fraction = (request.get("DataSplitConfig") or {}).get("ValidationFraction", 0.2)
        validation = train.sample(frac=fraction, random_state=0)
        train = train.drop(validation.index)
    y_train, x_train = train[target], train.drop(columns=[target])
    y_valid, x_valid = validation[target], validation.drop(columns=[target])
    if classifier:
        y_train, y_valid = y_train.astype(str), y_valid.astype(str)
    positive = _positive_label(y_train) if classifier else None
    metric = (request.get("AutoMLJobObjective") or {}).get(
        "MetricName", "F1" if classifier else "MSE")
    limit = (tabular.get("CompletionCriteria") or {}).get("MaxCandidates")
    families = _families(classifier)[:limit or None]
    candidates = []
    for family, model in families:
        # One thread: OpenMP's spinning threads (gradient boosting) slow a busy machine 20x.
        with threadpool_limits(1):
            pipeline = _pipeline(model, x_train).fit(x_train, y_train)
        candidates.append(Candidate(family, f"{request['AutoMLJobName']}-{family}", pipeline,
                                    _metrics(classifier, y_valid.to_numpy(), pipeline, x_valid,
                                             positive)))
    sign = 1 if metric in MINIMIZED else -1
    best = min(candidates, key=lambda c: sign * c.metrics[metric])
    model_uri = _upload(s3, request, best, list(x_train.columns),
                        text_columns(x_train), workdir)
    mode = tabular.get("Mode", "ENSEMBLING")
    count = 1 if mode == "ENSEMBLING" else (3 if classifier else 2)
    container = {"Image": serving_image(request), "ModelDataUrl": model_uri,
                 "Environment": {"AUTOML_EMULATION": "true"}}
    label = LABEL.format(count=len(families), families=", ".join(f for f, _ in families),
                         best=best.name, metric=metric, value=best.metrics[metric])
    return {
        "AutoMLJobStatus": "Completed",
        "AutoMLJobSecondaryStatus": "MaxCandidatesReached" if limit == len(families)
        else "Completed",
        "LocalEmulation": label,
        "LocalCandidates": [{"CandidateName": c.name, "Family": c.family,
                             "CandidateMetrics": c.metrics} for c in candidates],
        "BestCandidate": {
            "CandidateName": best.name,
            "FinalAutoMLJobObjectiveMetric": {"MetricName": metric, "Value": best.metrics[metric],
                                              "Type": "Minimize" if sign == 1 else "Maximize"},
            "ObjectiveStatus": "Succeeded", "CandidateStatus": "Completed",
            "CandidateSteps": [],
            "InferenceContainers": [dict(container, Environment=dict(container["Environment"]))
                                    for _ in range(count)],
            "CandidateProperties": {"CandidateMetrics": [
                {"MetricName": name, "Value": value, "Set": "Validation"}
                for name, value in best.metrics.items()]},
        },
    }


def serving_image(request: dict) -> str:
    """An image URI of the stand-in serving image, in the request's account and region."""
    arn = request.get("RoleArn", "arn:aws:iam::000000000000:role/x")
    account = arn.split(":")[4] or "000000000000"
    return f"{account}.dkr.ecr.local.amazonaws.com/{SERVING_REPOSITORY}:{SERVING_TAG}"


def _upload(s3, request: dict, best: Candidate, columns: list[str], text_columns: list[str],
            workdir: Path) -> str:
    archive = workdir / "model.tar.gz"
    data = pickle.dumps({"pipeline": best.pipeline, "columns": columns, "name": best.name,
                         "text_columns": text_columns})
    with tarfile.open(archive, "w:gz") as tar:
        info = tarfile.TarInfo(MODEL_FILE)
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    output = request["OutputDataConfig"]["S3OutputPath"]
    return staging.put_object(s3, staging.join_uri(
        output, request["AutoMLJobName"], "candidates", best.name, "model.tar.gz"),
        archive.read_bytes())
