"""SageMaker's built-in algorithms the platform trains with: what each needs and what it emits.

One record per algorithm, read by the manifest's check, the stage config, the CDK side (image,
channels, content type) and the local stand-ins. What each says is SageMaker's documentation:
- Common data formats for training: CSV input has no header and the target in the first column;
  an algorithm without a target is told so by the content type `text/csv;label_size=0`.
- XGBoost: `train` and `validation` channels; metrics `<channel>:<eval_metric>`; the model file
  `xgboost-model`.
- Linear Learner: `train`, `validation` (and `test`) channels; `predictor_type` is required
  (`binary_classifier`, `multiclass_classifier`, `regressor`), `num_classes` too for a
  multiclass one; it reports `validation:`/`test:` metrics, each valid for one predictor type.
- K-Means: unsupervised, a `train` and an optional `test` channel (no validation: its metrics are
  computed on the test channel); `feature_dim` and `k` are required; it reports `test:msd` and
  `test:ssd` (minimise).
- PCA: unsupervised, `train` and optional `test`; `feature_dim`, `mini_batch_size` and
  `num_components` are required; it reports no metric a tuning job could optimise.
- Linear Learner, K-Means and PCA save MXNet models (`model_algo-1` in model.tar.gz).
- Inference: Linear Learner, K-Means and PCA serve from their own image (the training image's
  URI) rows of features as CSV, JSON ({"instances": [{"features": [...]}]}), JSON Lines or
  RecordIO-protobuf, and answer JSON or JSON Lines: {"predictions": [{"score", "predicted_label"}]},
  {"predictions": [{"closest_cluster", "distance_to_cluster"}]}, {"projections":
  [{"projection"}]}.
- Input formats: Linear Learner, K-Means and PCA train on RecordIO-protobuf
  (`application/x-recordio-protobuf`, common/recordio_protobuf.py) or CSV; the platform's
  XGBoost trains on CSV. RecordIO-protobuf files are already RecordIO-framed, so the channel's
  RecordWrapperType stays None (the API: "If the input data is already in RecordIO format, you
  don't need to set this attribute"; "In File mode, leave this field unset or set it to None").
Standard library only: manifests and the stage config read this without the jobs' dependencies.
"""

from __future__ import annotations

from dataclasses import dataclass, field

CSV = "text/csv"
UNLABELLED_CSV = "text/csv;label_size=0"
RECORDIO_PROTOBUF = "application/x-recordio-protobuf"  # common/recordio_protobuf.CONTENT_TYPE
JSON, JSONLINES = "application/json", "application/jsonlines"
# What the MXNet-based algorithms' inference containers take: rows of features (no label);
# the line-based types last (a batch's scenarios pick the last one with SplitType Line).
_INFERENCE_TYPES = (CSV, RECORDIO_PROTOBUF, JSON, JSONLINES)
# Where the platform's splits go: the validation split is the channel the algorithm computes its
# own metrics on (`validation`, or `test` for an algorithm that takes no validation channel); the
# test split stays for the platform's evaluation job.
VALIDATION_SPLIT = "validation"
# The hyperparameters that decide what kind of model an algorithm makes (XGBoost's objective,
# Linear Learner's predictor_type): the repacked model is scored and served as the use case's
# prediction, so a stage or an execution may not change them.
MODEL_KIND_HYPERPARAMETERS = ("objective", "predictor_type")


@dataclass(frozen=True)
class AlgorithmMetric:
    name: str  # as the algorithm reports it, e.g. "test:msd"
    direction: str  # "Maximize" | "Minimize"
    problem_types: tuple[str, ...]  # the problem types it is computed for


@dataclass(frozen=True)
class AlgorithmSpec:
    framework: str  # the SageMaker SDK's image_uris name
    repository: str  # the image's ECR repository (the local stand-ins are keyed by it)
    problem_types: tuple[str, ...]
    supervised: bool
    # Channel name -> the platform split it receives.
    channels: dict[str, str]
    required_hyperparameters: tuple[str, ...]
    metrics: tuple[AlgorithmMetric, ...]
    model_file: str  # what its model.tar.gz holds
    # predictor_type (Linear Learner) per problem type: the hyperparameter must say the same.
    predictor_types: dict[str, str] = field(default_factory=dict)
    # The training input formats the platform writes for it (preprocessing), the first the
    # default: CSV and/or RECORDIO_PROTOBUF.
    input_formats: tuple[str, ...] = (CSV,)
    # What its own inference container takes and answers, and the keys of each row's answer
    # (its "Common data formats for inference" and response formats); none: the platform serves
    # its model from the use case's image only.
    inference_content_types: tuple[str, ...] = ()
    answer_keys: tuple[str, ...] = ()

    @property
    def answer_types(self) -> tuple[str, ...]:
        return (JSON, JSONLINES) if self.inference_content_types else ()

    @property
    def content_type(self) -> str:
        return self.channel_content_type(CSV)

    def channel_content_type(self, input_format: str | None) -> str:
        """The channels' ContentType for `input_format` (None: the default): CSV says whether
        the first column is a label; a Record carries its label or none."""
        chosen = input_format or self.input_formats[0]
        if chosen not in self.input_formats:
            raise KeyError(f"{self.framework} trains on {', '.join(self.input_formats)}, "
                           f"not {chosen!r}")
        if chosen == CSV:
            return CSV if self.supervised else UNLABELLED_CSV
        return chosen

    def objective_metrics(self, problem_type: str) -> list[str]:
        return [m.name for m in self.metrics if problem_type in m.problem_types]

    def direction(self, metric: str) -> str:
        for candidate in self.metrics:
            if candidate.name == metric:
                return candidate.direction
        raise KeyError(metric)

    def hyperparameter_problem(self, hyperparameters: dict[str, str],
                               problem_type: str) -> str | None:
        """Why these hyperparameters cannot train a model of `problem_type`, or None. An
        unsupervised algorithm trains any unsupervised use case (it reads no label; the use
        case's evaluation decides what its model is scored on)."""
        if not self.supervised and problem_type in UNSUPERVISED_PROBLEM_TYPES:
            problem_type = self.problem_types[0]
        if problem_type not in self.problem_types:
            return (f"{self.framework} trains {', '.join(self.problem_types)} models, not "
                    f"{problem_type}")
        required = list(self.required_hyperparameters)
        if self.predictor_types.get(problem_type) == "multiclass_classifier":
            required.append("num_classes")
        missing = [name for name in required if name not in hyperparameters]
        if missing:
            return f"{self.framework} requires the hyperparameters {', '.join(missing)}"
        wanted = self.predictor_types.get(problem_type)
        if wanted and hyperparameters.get("predictor_type") != wanted:
            return (f"predictor_type {hyperparameters.get('predictor_type')!r} does not train a "
                    f"{problem_type} model: set predictor_type={wanted}")
        for name in ("feature_dim", "k", "num_components", "num_classes", "mini_batch_size"):
            if name in hyperparameters and not _positive_integer(hyperparameters[name]):
                return f"{name} must be a positive integer, got {hyperparameters[name]!r}"
        return None


def _positive_integer(text: str) -> bool:
    return str(text).isdigit() and int(text) > 0


_BINARY, _MULTI, _REGRESSION = "binary_classification", "multiclass_classification", "regression"
_CLUSTERING, _REDUCTION = "clustering", "dimensionality_reduction"
UNSUPERVISED_PROBLEM_TYPES = (_CLUSTERING, _REDUCTION)


def _linear_learner_metrics() -> tuple[AlgorithmMetric, ...]:
    documented = (  # name, direction, problem types (the documented "valid for")
        ("objective_loss", "Minimize", (_BINARY, _MULTI, _REGRESSION)),
        ("binary_classification_accuracy", "Maximize", (_BINARY,)),
        ("binary_f_beta", "Maximize", (_BINARY,)),
        ("precision", "Maximize", (_BINARY,)),
        ("recall", "Maximize", (_BINARY,)),
        ("multiclass_accuracy", "Maximize", (_MULTI,)),
        ("multiclass_top_k_accuracy", "Maximize", (_MULTI,)),
        ("macro_f_beta", "Maximize", (_MULTI,)),
        ("macro_precision", "Maximize", (_MULTI,)),
        ("macro_recall", "Maximize", (_MULTI,)),
        ("dcg", "Maximize", (_MULTI,)),
        ("mse", "Minimize", (_REGRESSION,)),
        ("absolute_loss", "Minimize", (_REGRESSION,)),
    )
    return tuple(AlgorithmMetric(f"{channel}:{name}", direction, kinds)
                 for channel in ("validation", "test") for name, direction, kinds in documented)


# The documented input formats of the MXNet-based algorithms, CSV first (the platform's default).
_MXNET_FORMATS = (CSV, RECORDIO_PROTOBUF)

ALGORITHMS: dict[str, AlgorithmSpec] = {spec.framework: spec for spec in (
    AlgorithmSpec(
        framework="xgboost", repository="sagemaker-xgboost",
        problem_types=(_BINARY, _MULTI, _REGRESSION), supervised=True,
        channels={"train": "train", "validation": VALIDATION_SPLIT},
        required_hyperparameters=("objective",),
        metrics=tuple(AlgorithmMetric(f"{channel}:{name}", direction, kinds)
                      for channel in ("train", "validation")
                      for name, direction, kinds in (
                          ("auc", "Maximize", (_BINARY,)), ("logloss", "Minimize", (_BINARY,)),
                          ("error", "Minimize", (_BINARY,)),
                          ("mlogloss", "Minimize", (_MULTI,)),
                          ("merror", "Minimize", (_MULTI,)),
                          ("rmse", "Minimize", (_REGRESSION,)),
                          ("mae", "Minimize", (_REGRESSION,)))),
        model_file="xgboost-model"),
    AlgorithmSpec(
        framework="linear-learner", repository="linear-learner",
        problem_types=(_BINARY, _MULTI, _REGRESSION), supervised=True,
        channels={"train": "train", "validation": VALIDATION_SPLIT},
        required_hyperparameters=("predictor_type",), metrics=_linear_learner_metrics(),
        model_file="model_algo-1", input_formats=_MXNET_FORMATS,
        inference_content_types=_INFERENCE_TYPES, answer_keys=("score", "predicted_label"),
        predictor_types={_BINARY: "binary_classifier", _MULTI: "multiclass_classifier",
                         _REGRESSION: "regressor"}),
    AlgorithmSpec(
        framework="kmeans", repository="kmeans", problem_types=(_CLUSTERING,),
        supervised=False, channels={"train": "train", "test": VALIDATION_SPLIT},
        required_hyperparameters=("feature_dim", "k"),
        metrics=(AlgorithmMetric("test:msd", "Minimize", (_CLUSTERING,)),
                 AlgorithmMetric("test:ssd", "Minimize", (_CLUSTERING,))),
        model_file="model_algo-1", input_formats=_MXNET_FORMATS,
        inference_content_types=_INFERENCE_TYPES,
        answer_keys=("closest_cluster", "distance_to_cluster")),
    AlgorithmSpec(
        framework="pca", repository="pca", problem_types=(_REDUCTION,),
        supervised=False, channels={"train": "train", "test": VALIDATION_SPLIT},
        required_hyperparameters=("feature_dim", "mini_batch_size", "num_components"),
        metrics=(), model_file="model_algo-1", input_formats=_MXNET_FORMATS,
        inference_content_types=_INFERENCE_TYPES, answer_keys=("projection",)),
)}


def algorithm(framework: str) -> AlgorithmSpec:
    if framework not in ALGORITHMS:
        raise KeyError(f"{framework!r} is not a built-in algorithm the platform trains with: "
                       f"{', '.join(ALGORITHMS)}")
    return ALGORITHMS[framework]


def by_repository(repository: str) -> AlgorithmSpec | None:
    return next((a for a in ALGORITHMS.values() if a.repository == repository), None)
