"""The contract between the platform (CDK side, local runner) and the runtime scripts.

This is the one module both sides read: SageMaker container paths, the metric line format that
SageMaker metric definitions and tuning objectives parse, the model directory layout and the
evaluation report schema. It imports nothing but the standard library, so the CDK app can read it
without pulling in numpy or xgboost, and the containers can read it without CDK.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

# --- SageMaker container paths -------------------------------------------------------------------
# SageMaker mounts everything under /opt/ml. Tests and the local runner redirect the root with
# ML_ROOT so the very same entry points run on a workstation.
ML_ROOT_ENV = "ML_ROOT"
# How long the inference server lets one request run (the serving runtime reads it). A batch
# transform job's ModelClientConfig.InvocationsTimeoutInSeconds reaches the container only
# through it: SageMaker passes the payload, strategy and concurrency settings, not the timeout.
MODEL_SERVER_TIMEOUT_ENV = "SAGEMAKER_MODEL_SERVER_TIMEOUT"
DEFAULT_ML_ROOT = "/opt/ml"
# Experiment tracking (runtime_scripts/common/tracking.py): where a job logs its MLflow run (a
# SageMaker tracking server's ARN, or a file: store locally; unset: nowhere), and the pipeline
# execution the job belongs to (its runs are grouped under one parent run per execution).
TRACKING_URI_ENV = "MLFLOW_TRACKING_URI"
EXECUTION_ENV = "ML_PIPELINE_EXECUTION"


@dataclass(frozen=True)
class MlPaths:
    """Resolved SageMaker directory layout for one container run."""

    root: Path

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> MlPaths:
        env = os.environ if environ is None else environ
        return cls(Path(env.get(ML_ROOT_ENV, DEFAULT_ML_ROOT)))

    # Training job layout
    @property
    def input_data(self) -> Path:
        return self.root / "input" / "data"

    def channel(self, name: str) -> Path:
        return self.input_data / name

    @property
    def hyperparameters(self) -> Path:
        return self.root / "input" / "config" / "hyperparameters.json"

    @property
    def input_data_config(self) -> Path:
        """Each channel's ContentType, TrainingInputMode, ... as SageMaker writes them."""
        return self.root / "input" / "config" / "inputdataconfig.json"

    @property
    def resource_config(self) -> Path:
        return self.root / "input" / "config" / "resourceconfig.json"

    @property
    def model(self) -> Path:
        return self.root / "model"

    @property
    def output(self) -> Path:
        return self.root / "output"

    @property
    def output_data(self) -> Path:
        return self.root / "output" / "data"

    @property
    def failure(self) -> Path:
        return self.root / "output" / "failure"

    @property
    def exit_message(self) -> Path:
        """Processing jobs: the first 1 KB becomes ExitMessage in DescribeProcessingJob."""
        return self.root / "output" / "message"

    @property
    def checkpoints(self) -> Path:
        return self.root / "checkpoints"

    # Processing job layout
    @property
    def processing(self) -> Path:
        return self.root / "processing"

    def processing_input(self, name: str) -> Path:
        return self.processing / "input" / name

    def processing_output(self, name: str) -> Path:
        return self.processing / "output" / name


# Processing channel names used by the pipelines and the scripts.
PROCESSING_INPUT_RAW = "raw"
PROCESSING_INPUT_CONFIG = "config"
PROCESSING_INPUT_MODEL = "model"
PROCESSING_INPUT_TEST = "test"
PROCESSING_OUTPUT_TRAIN = "train"
PROCESSING_OUTPUT_VALIDATION = "validation"
PROCESSING_OUTPUT_TEST = "test"
PROCESSING_OUTPUT_BASELINE = "baseline"
PROCESSING_OUTPUT_TRANSFORM = "transform"
PROCESSING_OUTPUT_EVALUATION = "evaluation"
# Repacking a SageMaker built-in XGBoost model (`process package`): its model.tar.gz and the
# preprocess `transform` output in, our model.tar.gz out.
PROCESSING_INPUT_TRANSFORM = "transform"
PROCESSING_OUTPUT_PACKAGED = "packaged"

# Training channel names.
CHANNEL_TRAIN = "train"
CHANNEL_VALIDATION = "validation"
CHANNEL_TRANSFORM = "transform"

# --- Files ---------------------------------------------------------------------------------------
SPLIT_FILE = "data.csv"  # each split: header-less CSV, label first (the XGBoost CSV convention)
BASELINE_FILE = "baseline.csv"  # header-ful raw-feature sample for Model Monitor
TRANSFORM_FILE = "transform.json"  # the fitted preprocessing transform
MODEL_FILE = "xgboost-model.json"  # the booster
FEATURE_SCHEMA_FILE = "feature_schema.json"  # raw input columns, in request order, with types
EVALUATION_FILE = "evaluation.json"
REPORT_FILE = "report.html"
BUILTIN_MODEL_FILE = "xgboost-model"  # the booster SageMaker's built-in XGBoost saves
PACKAGED_MODEL_ARCHIVE = "model.tar.gz"  # what `process package` writes, as SageMaker would
DATASET_SPEC_FILE = "dataset.json"
RAW_TEST_FILE = "raw.csv"  # in the test split: header-ful raw feature columns + target
# Model Monitor in the monitoring bucket: captured requests (SageMaker adds <endpoint>/<variant>/),
# and each endpoint's data quality baselines (`baseline_prefix`).
DATA_CAPTURE_PREFIX = "datacapture"
BASELINE_FILES = ("constraints.json", "statistics.json")


def baseline_prefix(endpoint_name: str) -> str:
    """Where an endpoint's data quality baselines live: each baselining job writes under
    `runs/<job>/`, the deployment promotes the deployed model's to `current/`, which the job
    definition reads. Keyed by endpoint: every use case has its own."""
    return f"baselines/{endpoint_name}/data-quality/"


# --- Metric log lines ----------------------------------------------------------------------------
# One line per report, e.g. "#metrics round=12 train:logloss=0.211 validation:auc=0.917".
# SageMaker metric definitions use METRIC_REGEX_TEMPLATE; a tuning objective such as
# "validation:auc" is one of these names.
METRIC_LINE_PREFIX = "#metrics"
METRIC_NAME_PATTERN = re.compile(r"^[a-z_]+:[a-z0-9_@.-]+$")
METRIC_VALUE_REGEX = r"([-+]?[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)"


def metric_regex(name: str) -> str:
    """The regex SageMaker uses to read `name` from the training log."""
    if not METRIC_NAME_PATTERN.match(name):
        raise ValueError(f"metric name {name!r} must look like 'validation:auc'")
    return rf"{re.escape(name)}={METRIC_VALUE_REGEX}"


def format_metric_line(metrics: dict[str, float], **context: int | str) -> str:
    parts = [METRIC_LINE_PREFIX]
    parts += [f"{k}={v}" for k, v in context.items()]
    parts += [f"{name}={value:.6f}" for name, value in metrics.items()]
    return " ".join(parts)


# --- evaluation.json schema ----------------------------------------------------------------------
# The quality gate in the training pipeline reads `metrics.<name>` from this document; which
# metrics a use case writes, and which way each is better, its manifest says.
EVALUATION_SCHEMA_VERSION = "1"
# Quality gate conditions (`--gate auc>=0.85` arguments of the evaluation job); the training
# pipeline's input and the stage config allow at most GATE_MAX_CONDITIONS of them.
GATE_COMPARISONS = (">=", ">", "<=", "<")
GATE_MAX_CONDITIONS = 8

# Batch predictions scored against known labels (`process evaluate` with these inputs instead
# of `test`): the transform job's output and CSV files of id columns and the target.
PROCESSING_INPUT_PREDICTIONS = "predictions"
PROCESSING_INPUT_LABELS = "labels"

# --- Resampling (cross-validation; common/resampling/) -------------------------------------------
# The split job: the data (`raw`, the optional `config` spec) in, one folder per fold out under
# `folds` (<k>/train/, <k>/holdout/, <k>/config/dataset.json) and the fold list, the items of the
# pipeline's distributed Map. A fold's preprocessing takes `holdout` as its test split.
PROCESSING_OUTPUT_FOLDS = "folds"
PROCESSING_INPUT_HOLDOUT = "holdout"
FOLD_LIST_FILE = "folds.json"
FOLD_TRAIN_DIR = "train"
FOLD_HOLDOUT_DIR = "holdout"
FOLD_CONFIG_DIR = "config"
# The data profile the split job writes beside its run (rows, class counts) and to the use
# case's profile location, where the next execution's first states read it.
DATA_PROFILE_FILE = "data_profile.json"
# The data files a job reads (common/jobio.py) and the first-run check lists (by key suffix).
CSV_SUFFIXES = (".csv",)
PARQUET_SUFFIXES = (".parquet", ".pq")
# The resampling pipelines' first run on a data location (no profile yet): the input validator
# reads CSV data exactly, every row, within one budget: at most FIRST_RUN_PROFILE_MAX_BYTES in all
# (the listing's sizes decide before any byte is read), in FIRST_RUN_PROFILE_MAX_FILES files at
# most (one ListObjectsV2 page), and FIRST_RUN_PROFILE_SECONDS of the validator's time, checked
# as the rows stream in (past it the read stops and the check falls back to the files' headers,
# saying so in its answer). Why 16 MiB: the standard library's csv module profiles 16 MiB of
# tabular rows (171,842 of the bundled telecom customers', none a duplicate) in 1.1 s of CPU
# time, holding 27 MiB at its peak (benchmarks/first_run_profile.py; 2026-12-02, 2-core machine
# at load 3.6), and the validator has one vCPU (1,769 MB: ml_constructs/input_validation.py),
# so about a second there; the 5 s stop keeps the validator's 30 s timeout far away when Lambda
# is slower. Larger data keeps the split job's check.
FIRST_RUN_PROFILE_MAX_BYTES = 16 * 1024 * 1024
FIRST_RUN_PROFILE_SECONDS = 5.0
FIRST_RUN_PROFILE_MAX_FILES = 100
# Larger data, or Parquet, is not read whole: one ranged GET of this many bytes per file gives a
# CSV file's header or a Parquet file's footer (a second GET when its metadata is longer, up to
# FIRST_RUN_FOOTER_MAX_BYTES; beyond that the split job checks). Why 256 KiB: the pure-Python
# Thrift decoder took 0.58 s of CPU for a 0.64 MiB footer (60 row groups x 100 columns;
# 2026-12-01, 2-core machine at load 12), so ~0.25 s for 256 KiB on the validator's one vCPU;
# most footers (tens of columns, a few row groups) are a few KiB.
FIRST_RUN_RANGE_BYTES = 64 * 1024
FIRST_RUN_FOOTER_MAX_BYTES = 256 * 1024
# The aggregate job: the fold list and each fold's evaluation.json (`evaluations/<k>/`) in,
# the cross-validated metrics and their report out.
PROCESSING_INPUT_FOLD_LIST = "fold_list"
PROCESSING_INPUT_EVALUATIONS = "evaluations"
PROCESSING_OUTPUT_AGGREGATE = "aggregate"
CV_EVALUATION_FILE = "cv_evaluation.json"
CV_REPORT_FILE = "cv_report.html"
# Statistics a resampling gate condition may bound (`auc:mean>=0.85`, `auc:std<=0.03`).
RESAMPLING_STATISTICS = ("mean", "std", "min", "max")
# With `final_model`, the model trained on all the data is registered with the cross-validated
# statistics as CustomerMetadataProperties: one `cv.<metric>` key per metric, at most this many
# (the rest of the map's entries are the pipeline's own keys; the full statistics are in the
# ModelQuality document either way).
CV_METADATA_PREFIX = "cv."
CV_METADATA_METRICS_MAX = 40
# Where the final model's preprocessing and training write, under the execution's run folder.
CV_FINAL_MODEL_DIR = "final"

# --- Limits --------------------------------------------------------------------------------------
# Every limit that more than one side applies (the stage config in config/, the input validator
# Lambda in pipeline_input/, the constructs), defined once. "API" is botocore's SageMaker service
# model (the shape's min/max or enum), "API reference" its documentation text; "platform" is a
# rule of ours, not AWS's.
INSTANCE_TYPE_PATTERN = re.compile(r"^ml\.[a-z][a-z0-9-]*\.[a-z0-9-]+$")
# The SageMaker instance families with instance store (local NVMe SSD) volumes. SageMaker's API
# reference (ResourceConfig, ProcessingClusterConfig, TransformResources: VolumeKmsKeyId;
# CreateEndpointConfig: KmsKeyId) says a request cannot name a volume key for an instance type
# with local storage, which a hardware module on the instance encrypts (XTS-AES-256, keys
# destroyed with the instance, per the EC2 user guide); it names ml.p4d, ml.g4dn and ml.g5 as
# NVMe families. Every family of the API's instance type enums is classified in
# tests/contract/test_instance_storage.py, so a new one fails that test until it is added here
# or to its EBS-only list.
INSTANCE_STORAGE_FAMILIES = frozenset({
    "c5d", "c6gd", "dl1", "g4dn", "g5", "g6", "g6e", "g7", "g7e", "m5d", "m6gd", "p3dn", "p4d",
    "p4de", "p5", "p5e", "p5en", "p6-b200", "p6-b300", "p6e-gb200", "r5d", "r6gd", "r7gd",
    "trn1", "trn1n", "trn2"})


def instance_family(instance_type: str) -> str:
    """'ml.g4dn.xlarge' -> 'g4dn'."""
    return instance_type.split(".")[1] if instance_type.count(".") >= 2 else instance_type


def has_instance_storage(instance_type: str) -> bool:
    """Whether SageMaker refuses a volume KMS key for `instance_type` (its local storage is
    encrypted by the instance's hardware instead)."""
    return instance_family(instance_type) in INSTANCE_STORAGE_FAMILIES


def volume_kms_key(instance_type: str, key: str) -> dict[str, str]:
    """The request member that encrypts an instance's volume with `key`: `{"VolumeKmsKeyId":
    key}`, or nothing for an instance type with local storage (see INSTANCE_STORAGE_FAMILIES)."""
    return {} if has_instance_storage(instance_type) else {"VolumeKmsKeyId": key}
# API: ArnOrName (AlgorithmSpecification.AlgorithmName), 1 .. 170 characters: an algorithm
# resource's name or ARN.
ALGORITHM_NAME_MAX = 170
ALGORITHM_ARN_OR_NAME = re.compile(r"^(arn:aws[a-z\-]*:sagemaker:[a-z0-9\-]*:[0-9]{12}:"
                                   r"[a-z\-]*\/)?([a-zA-Z0-9]([a-zA-Z0-9-]){0,62})(?<!-)$")
# What a use case's manifest may need its training instances to have (image.instance_family):
# "cpu" runs anywhere; "gpu" needs an NVIDIA GPU, which SageMaker's P (p3, p4d, p5, p6-b200, ...)
# and G (g4dn, g5, g6, g6e, ...) families have and no other training family does (Trainium's
# trn* runs no CUDA). API: TrainingInstanceType's enum (tests/contract check the pattern on it).
INSTANCE_FAMILY_PATTERNS = {"gpu": re.compile(r"^ml\.[pg]\d[a-z0-9-]*\.")}
INSTANCE_FAMILY_EXAMPLES = {"gpu": "ml.g4dn.*, ml.g5.*, ml.g6.*, ml.g6e.*, ml.p3.*, ml.p4d.*, "
                                   "ml.p5.* (a P or G family)"}


def instance_family_problem(family: str, instance_type: str, use_case: str) -> str | None:
    """Why `instance_type` cannot train `use_case`, whose manifest needs `family` instances."""
    pattern = INSTANCE_FAMILY_PATTERNS.get(family)
    if pattern is None or pattern.match(instance_type):
        return None
    return (f"{instance_type!r} has no {family.upper()}: use case {use_case!r} trains on "
            f"{family} instances (its manifest's image.instance_family)")


# Content types whose object is one record, never lines (images, NumPy arrays), or binary
# framed records a Line split would cut (RecordIO-protobuf, which a built-in algorithm's
# container reads every record of): a batch transform sends each object whole (SplitType None).
WHOLE_OBJECT_TYPES = ("image/", "application/x-npy", "application/x-image",
                      "application/x-recordio-protobuf")


def is_whole_object_type(content_type: str) -> bool:
    return content_type.lower().startswith(WHOLE_OBJECT_TYPES)


SAGEMAKER_NAME_MAX = 63  # API: TrainingJobName, ProcessingJobName, EndpointName, ... max 63
# API: CreateModelPackage's CustomerMetadataProperties, at most 50 entries, keys of 1..128 and
# values of 1..256 characters, each of letters, digits, spaces and _.:/=+-@ only.
MODEL_PACKAGE_METADATA_MAX = 50
MODEL_PACKAGE_METADATA_KEY_MAX = 128
MODEL_PACKAGE_METADATA_VALUE_MAX = 256
MODEL_PACKAGE_METADATA_PATTERN = re.compile(r"^[\w .:/=+\-@]*$")
TUNING_JOB_NAME_MAX = 32  # API: HyperParameterTuningJobName max 32

# Jobs (processing, training, batch transform).
JOB_MIN_RUNTIME_SECONDS = 60  # platform: a job shorter than a minute cannot even pull its image
PROCESSING_MAX_RUNTIME_SECONDS = 777_600  # API: ProcessingMaxRuntimeInSeconds max (9 days)
# API reference, StoppingCondition.MaxRuntimeInSeconds: "The maximum value is 28 days" (the
# model itself gives no maximum).
TRAINING_MAX_RUNTIME_SECONDS = 2_419_200
# MaxWaitTimeInSeconds (spot) has no maximum in the API; the platform caps it at the longest run.
TRAINING_MAX_WAIT_SECONDS = TRAINING_MAX_RUNTIME_SECONDS
VOLUME_MAX_SIZE_GB = 16_384  # API: ProcessingVolumeSizeInGB max (16 TiB, an EBS volume's limit)
# API: ProcessingInstanceCount max 100; API reference: TransformResources.InstanceCount "the
# maximum is 100". Training has no API maximum; the platform applies the same cap.
JOB_MAX_INSTANCE_COUNT = 100
# API reference, MaxPayloadInMB: at most 100 MB, and MaxConcurrentTransforms x MaxPayloadInMB
# at most 100 MB too.
TRANSFORM_MAX_PAYLOAD_MB = 100

# Hyperparameter tuning.
TUNING_STRATEGIES = ("Bayesian", "Random", "Hyperband", "Grid")  # API: the strategy enum
# The API has no maximum; AWS's "Resource limits for automatic model tuning" allow 750 training
# jobs per tuning job (any strategy) and 10 parallel ones by default (adjustable to 100). The
# platform keeps 500 and the default 10.
TUNING_MAX_TRAINING_JOBS = 500
TUNING_MAX_PARALLEL_JOBS = 10

# Cross-validation (platform): fewer than 2 folds is no cross-validation; beyond 20, each fold's
# held-out part is under 5% of the rows and the extra folds add cost more than certainty.
CV_MIN_FOLDS = 2
CV_MAX_FOLDS = 20
# Distributed Map (Step Functions quotas): at most 10,000 parallel child executions; a
# ToleratedFailurePercentage is 0 .. 100.
MAP_MAX_CONCURRENCY = 10_000
MAP_MAX_TOLERATED_FAILURE_PERCENTAGE = 100

# Quality gate conditions (GATE_COMPARISONS, GATE_MAX_CONDITIONS above): platform.
GATE_MIN_CONDITIONS = 2

# Real-time endpoints.
# InitialTaskCount and the autoscaling capacities have no API maximum (the account's instance
# quota decides): platform.
ENDPOINT_MAX_INSTANCE_COUNT = 100
# API: ServerlessMemorySizeInMB 1024 .. 6144; API reference: in 1 GB steps.
SERVERLESS_MEMORY_SIZES_MB = tuple(range(1024, 6144 + 1, 1024))
SERVERLESS_MAX_CONCURRENCY = 200  # API: ServerlessMaxConcurrency max
# Blue/green deployments (API: WaitIntervalInSeconds, TerminationWaitInSeconds max 3600;
# MaximumExecutionTimeoutInSeconds 600 .. 28800; API reference: a canary is at most 50% of the
# fleet, a linear step 10-50%).
BLUE_GREEN_MAX_WAIT_SECONDS = 3600
BLUE_GREEN_MIN_TIMEOUT_SECONDS = 600
BLUE_GREEN_MAX_TIMEOUT_SECONDS = 28_800
CANARY_MAX_PERCENT = 50
LINEAR_MIN_PERCENT = 10
# Application Auto Scaling gives the target and the cooldowns no maximum: platform.
AUTOSCALING_MAX_TARGET_INVOCATIONS = 1_000_000
AUTOSCALING_MAX_COOLDOWN_SECONDS = 3600
# The Model Monitor analyzer's volume, for baselining jobs and monitoring schedules: platform.
MONITOR_VOLUME_SIZE_GB = 20

# Backtesting (runtime_scripts/common/resampling/windows.py): each window trains and evaluates
# a model of its own, so the count is capped (platform).
BACKTEST_MAX_WINDOWS = 100
# The window split job's outputs: `plan` (plan.json, the Map's item list, one manifest per
# window: window-<k>.json) and `windows` (<k>/train/rows.csv and <k>/test/raw.csv, the raw rows
# each window trains on and is evaluated on). The aggregate job's inputs: `plan` and
# `evaluations` (<k>/evaluation.json and predictions.csv of each window's evaluation job).
PROCESSING_OUTPUT_WINDOW_PLAN = "plan"
PROCESSING_OUTPUT_WINDOWS = "windows"
PROCESSING_OUTPUT_WINDOW_SPEC = "spec"  # the dataset spec it used: each window's preprocessing
PROCESSING_INPUT_WINDOW_PLAN = "plan"
PROCESSING_OUTPUT_BACKTEST = "backtest"
# A metric over time needs two points at least.
BACKTEST_MIN_WINDOWS = 2
WINDOW_PLAN_FILE = "plan.json"
WINDOW_ITEMS_FILE = "items.json"  # a JSON array, what a distributed Map's ItemReader reads
WINDOW_TRAIN_FILE = "rows.csv"
BACKTEST_FILE = "backtest.json"
BACKTEST_REPORT_FILE = "backtest_report.html"
# `process evaluate --write-predictions`: each evaluated row's target and prediction, in the
# order of its input rows.
PREDICTIONS_FILE = "predictions.csv"
# The window split's profile of the data it read (its files and sizes, periods, row counts),
# beside cross-validation's DATA_PROFILE_FILE in the data's profile folder: the backtest's first
# states check later requests on the same data against it.
TIME_PROFILE_FILE = "time_profile.json"
PROCESSING_OUTPUT_DATA_PROFILE = "profile"


def window_manifest_file(index: int) -> str:
    return f"window-{index}.json"

# --- Training rules (common/training_rules.py, `process training-rules`) --------------------------
# In: the training job's output.tar.gz (its training_curve.jsonl); out: rules.json, which the
# training pipeline reads and the evaluation job puts in its report.
PROCESSING_INPUT_TRAINING_OUTPUT = "training_output"
PROCESSING_INPUT_TRAINING_RULES = "training_rules"
PROCESSING_OUTPUT_TRAINING_RULES = "training_rules"
TRAINING_RULES_FILE = "rules.json"

# --- Distributed training (common/tabular/distributed.py) -----------------------------------------
# How many files preprocessing writes the train split as (the training job's instance count):
# with the train channel ShardedByS3Key each instance then receives one shard.
TRAIN_SHARDS_ENV = "ML_TRAIN_SHARDS"


def shard_file(index: int) -> str:
    """The train split's shard `index` when it is written in several (else SPLIT_FILE)."""
    return f"data-{index:05d}.csv"


# --- Built-in algorithms' input format (common/builtin_algorithms.py) -----------------------------
# The format preprocessing writes the splits a built-in algorithm trains on (train, validation)
# in: unset or text/csv, CSV (SPLIT_FILE); application/x-recordio-protobuf, RECORDIO_SPLIT_FILE
# (common/recordio_protobuf.py). The test split stays CSV for the evaluation job.
TRAINING_INPUT_FORMAT_ENV = "ML_TRAINING_INPUT_FORMAT"
# The first container of a serial inference pipeline (the use case's image before a built-in
# algorithm's own container): with this set to SERVE_FEATURES, `serve` answers each request's
# rows as the model's features (header-less CSV, what the built-in containers take), not
# predictions. SageMaker sends the intermediate response as the next container's request.
SERVE_OUTPUT_ENV = "ML_SERVE_OUTPUT"
SERVE_FEATURES = "features"
RECORDIO_SPLIT_FILE = "data.rec"
TRAINING_SPLITS = (PROCESSING_OUTPUT_TRAIN, PROCESSING_OUTPUT_VALIDATION)

# AutoML (SageMaker Autopilot, CreateAutoMLJobV2 with a TabularJobConfig), the training
# pipeline's `training.algorithm = "automl"` branch.
AUTOML_JOB_NAME_MAX = 32  # API: AutoMLJobName max 32
AUTOML_MODES = ("ENSEMBLING", "HYPERPARAMETER_TUNING")  # API: AutoMLMode (less AUTO: see docs)
AUTOML_MAX_CANDIDATES = 750  # API: CompletionCriteria.MaxCandidates max 750
# API: MaxAutoMLJobRuntimeInSeconds and MaxRuntimePerTrainingJobInSeconds have no maximum; the
# platform caps both at the longest training job (28 days), and a run at 1 hour at least
# (Autopilot's own analysis and feature engineering take longer than that on any data).
AUTOML_MIN_RUNTIME_SECONDS = 3600
AUTOML_MAX_RUNTIME_SECONDS = TRAINING_MAX_RUNTIME_SECONDS
# The use case's problem type -> Autopilot's ProblemType (API: ProblemType enum); a use case of
# another problem type (images, time series) has no tabular AutoML branch.
AUTOML_PROBLEM_TYPES = {"binary_classification": "BinaryClassification",
                        "regression": "Regression"}
# AWS's "Autopilot metrics" page: the objective metrics each problem type accepts (a subset of
# the API's AutoMLMetricEnum), the first the default Autopilot itself picks (F1 for binary
# classification, MSE for regression).
AUTOML_OBJECTIVE_METRICS = {
    "BinaryClassification": ("F1", "Accuracy", "AUC", "BalancedAccuracy", "Precision", "Recall"),
    "Regression": ("MSE", "MAE", "R2", "RMSE"),
}
# Preprocessing's AutoML splits (only in the AutoML branch): raw feature columns and the target
# by name, as Autopilot reads them (CSV with a header, the target among the columns) for train
# and validation; the test split header-less with the target first, what the candidate's batch
# transform reads (its DataProcessing InputFilter drops the target, JoinSource Input keeps it
# beside the prediction for the evaluation).
PROCESSING_OUTPUT_AUTOML = "automl"
AUTOML_SPLITS = ("train", "validation", "test")
# What the candidate's inference containers answer for a classifier (AWS: "Configure inference
# output in generated containers", SAGEMAKER_INFERENCE_OUTPUT keys): the probabilities of every
# label and the labels, which read the same in ENSEMBLING and HYPERPARAMETER_TUNING mode.
AUTOML_INFERENCE_OUTPUT_ENV = "SAGEMAKER_INFERENCE_OUTPUT"
AUTOML_INFERENCE_INPUT_ENV = "SAGEMAKER_INFERENCE_INPUT"
AUTOML_CLASSIFIER_OUTPUT = "predicted_label,probability,probabilities,labels"
# The evaluation job of the AutoML branch learns the best candidate's name from it (the report
# and evaluation.json name it).
AUTOML_CANDIDATE_ENV = "ML_AUTOML_CANDIDATE"
