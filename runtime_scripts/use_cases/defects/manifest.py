"""Defects: which surface defect, if any, does a product image show? Image classification with a
small ResNet-style CNN in PyTorch, served as an int8 ONNX model on onnxruntime."""

from runtime_scripts.common.manifest import (
    FrameworkTraining,
    GateCondition,
    Image,
    Metric,
    Monitoring,
    Resampling,
    Serving,
    Tuning,
    UseCaseManifest,
    Wording,
)
from runtime_scripts.common.training_rules import CurveRule, TrainingRules

MANIFEST = UseCaseManifest(
    name="defects",
    description="Surface defect detection: image classification with a CNN (PyTorch, ONNX)",
    problem_type="image_classification",
    cross_validation=Resampling(
        allowed=False,
        refusal=("the platform's cross-validation folds tabular rows; image folds would split a "
                 "folder-per-class image set, which its split job does not do")),
    metrics=(
        Metric("accuracy", higher_is_better=True),
        Metric("macro_f1", higher_is_better=True),
        Metric("macro_precision", higher_is_better=True),
        Metric("macro_recall", higher_is_better=True),
        Metric("log_loss", higher_is_better=False, maximum=None),
        Metric("ece", higher_is_better=False),
        # fp32 ONNX accuracy minus the served variant's (int8 by default): a gate may hold the
        # quantised model within a tolerance of the full-precision one.
        Metric("served_accuracy_drop", higher_is_better=False, minimum=-1.0),
        Metric("served_size_ratio", higher_is_better=False, gateable=False, maximum=None),
    ),
    training_metrics=("train:loss", "train:accuracy", "validation:loss", "validation:accuracy"),
    gate=(GateCondition("accuracy", ">=", 0.8),
          GateCondition("served_accuracy_drop", "<=", 0.01)),
    gate_requires_one_of=("accuracy", "macro_f1", "macro_recall"),
    hyperparameters={
        "epochs": "14", "batch_size": "32", "learning_rate": "0.003", "weight_decay": "0.0005",
        "augment": "0.5", "width": "16", "patience": "5", "precision": "fp32",
        "channels_last": "false", "workers": "0", "pin_memory": "false",
        "prefetch_factor": "2", "seed": "7", "served_variant": "int8",
    },
    tuning=Tuning(
        objective_metric="validation:accuracy", objective_type="Maximize",
        ranges={
            "continuous": [
                {"name": "learning_rate", "min": 0.0003, "max": 0.01, "scaling": "Logarithmic"},
                {"name": "weight_decay", "min": 0.0001, "max": 0.01, "scaling": "Logarithmic"},
                {"name": "augment", "min": 0.0, "max": 1.0, "scaling": "Linear"},
            ],
            "integer": [],
            "categorical": [{"name": "batch_size", "values": ["16", "32", "64"]}],
        },
    ),
    serving=Serving(
        content_types=("image/png", "image/jpeg", "application/x-npy", "application/json"),
        accept_types=("application/json",),
        prediction_columns=("label", "probability"),
    ),
    monitoring=Monitoring(record_preprocessor="capture.py"),
    # GPU training (mixed precision, data-parallel over GPUs): the stage config and the first
    # state refuse a CPU training instance for it. Its own image trains: the training job also
    # exports and quantises ONNX (onnx, onnxruntime), which a network-isolated job cannot pip
    # install into AWS's PyTorch training image, and which that image is not known here to
    # hold. `training_image="framework"` runs the same code on AWS's image (script mode).
    image=Image(dockerfile="Dockerfile", instance_family="gpu", training_image="own",
                framework_training=FrameworkTraining(framework="pytorch", version="2.10.0",
                                                     py_version="py313")),
    requirements="requirements.txt",  # torch, onnx, onnxruntime, pillow
    wording=Wording(rows="images", positive_rows="defective images"),
    sample_data="sample_data/defects.tar",
    # Hold-out images (another seed) a local batch inference scores, as JSON lines.
    local_batch="sample_data/holdout.jsonl",
    # Judged after training over the epochs' curve. Debugger's VanishingGradient and
    # ClassImbalance read tensors only an smdebug hook writes, and smdebug supports no current
    # PyTorch: they are not offered (README, "Training rules and SageMaker Debugger").
    training_rules=TrainingRules(curve=(
        CurveRule("LossNotDecreasing", loss="train:loss", num_steps=3, diff_percent=1.0),
        CurveRule("Overfit", loss="train:loss", validation_loss="validation:loss", patience=3,
                  ratio_threshold=0.25))),
)
