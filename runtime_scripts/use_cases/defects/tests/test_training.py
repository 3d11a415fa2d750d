"""The training job: its metrics lines, its model directory, resuming from checkpoints, mixed
precision, and a 2-instance data-parallel job (two CPU processes, gloo)."""

from __future__ import annotations

import json
import math
import re
import shutil
import socket
from concurrent.futures import ThreadPoolExecutor

import pytest

from runtime_scripts import contract
from runtime_scripts.common import training_rules
from runtime_scripts.common.checkpoint import Store
from runtime_scripts.common.jobio import JobError
from runtime_scripts.common.manifest import load_manifest
from runtime_scripts.common.tabular.train import TrainPaths
from runtime_scripts.use_cases.defects import hparams
from runtime_scripts.use_cases.defects.preprocess_job import read_manifest
from runtime_scripts.use_cases.defects.tests.conftest import HYPERPARAMETERS, USE_CASE
from runtime_scripts.use_cases.testing import run_entry, stage_training


def test_every_epoch_logs_the_metrics_its_manifest_declares(run):
    manifest = load_manifest(USE_CASE)
    lines = [line for line in run.train.stdout.splitlines()
             if line.startswith(contract.METRIC_LINE_PREFIX)]
    assert len(lines) == int(HYPERPARAMETERS["epochs"])
    for name in manifest.training_metrics:  # what the MetricDefinitions' regexes read
        values = [float(re.search(contract.metric_regex(name), line).group(1))
                  for line in lines]
        assert all(math.isfinite(v) for v in values), name
    # The same values per epoch in the training curve the platform's rule job judges.
    curve = training_rules.read_curve(contract.MlPaths(run.root).output_data
                                      / training_rules.CURVE_FILE)
    assert [r["step"] for r in curve] == list(range(1, len(lines) + 1))
    assert set(manifest.training_metrics) <= set(curve[0])


def test_the_model_directory_holds_every_variant_and_the_served_one(run):
    serving = json.loads((run.ml.model / "serving.json").read_text())
    assert serving["variant"] == "int8" and set(serving["variants"]) == {"fp32", "fp16", "int8"}
    for info in serving["variants"].values():
        assert (run.ml.model / info["file"]).stat().st_size == info["size_bytes"]
    training = json.loads((run.ml.model / "training.json").read_text())
    assert training["world_size"] == 1 and training["epochs_run"] == 2


def _paths(tmp_path, run, **changes):
    hps = {**HYPERPARAMETERS, **changes}
    stage_training(tmp_path, run.root, hps)
    paths = TrainPaths.from_env({"ML_ROOT": str(tmp_path)})
    return paths, hparams.parse(hps)


def test_a_job_resumes_after_the_epochs_its_checkpoints_hold(run, tmp_path, capsys):
    from runtime_scripts.use_cases.defects.distributed import Rank
    from runtime_scripts.use_cases.defects.train_job import Training

    paths, hp = _paths(tmp_path, run, epochs="3")
    shutil.copytree(run.ml.checkpoints, paths.checkpoints)
    training = Training(paths, hp, Rank(), Store.for_job(paths.checkpoints, None,
                                                         tuning_trial=False))
    training.resume()
    assert training.state["epoch"] == 2 and len(training.state["history"]) == 2
    state = training.run()
    printed = [line for line in capsys.readouterr().out.splitlines() if "#metrics" in line]
    assert [line.split()[1] for line in printed] == ["epoch=3"]  # only the missing epoch
    assert len(state["history"]) == 3
    # A checkpoint of other hyperparameters is refused, not mixed in.
    paths, other = _paths(tmp_path / "other", run, learning_rate="0.02")
    shutil.copytree(run.ml.checkpoints, paths.checkpoints)
    with pytest.raises(JobError, match="other hyperparameters or data"):
        Training(paths, other, Rank(), Store.for_job(paths.checkpoints, None,
                                                     tuning_trial=False)).resume()


@pytest.mark.parametrize(("precision", "workers"), [("bf16", "0"), ("fp16", "1")])
def test_mixed_precision_steps_train(run, tmp_path, precision, workers):
    from runtime_scripts.use_cases.defects.distributed import Rank
    from runtime_scripts.use_cases.defects.train_job import Training

    paths, hp = _paths(tmp_path, run, precision=precision, channels_last="true",
                       workers=workers, max_steps="2")
    training = Training(paths, hp, Rank(), Store.for_job(paths.checkpoints, None,
                                                         tuning_trial=False))
    before = {k: v.clone() for k, v in training.model.state_dict().items()}
    loss, _ = training.train_epoch(0)
    assert math.isfinite(loss) and training.state["steps"] == 2
    assert training.scaler.is_enabled() == (precision == "fp16")
    assert any((before[k] != v).any() for k, v in training.model.state_dict().items())


def test_a_bad_hyperparameter_is_named():
    with pytest.raises(JobError, match="must be one of fp32, bf16, fp16"):
        hparams.parse({"precision": "fp8"})
    with pytest.raises(JobError, match="did you mean 'learning_rate'"):
        hparams.parse({"learning_rat": "0.1"})


def test_two_instances_train_one_model_data_parallel(run, tmp_path):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    hosts = ["algo-1", "algo-2"]

    def instance(host: str):
        root = tmp_path / host
        stage_training(root, run.root, HYPERPARAMETERS)
        env = {"SM_HOSTS": json.dumps(hosts), "SM_CURRENT_HOST": host, "SM_NUM_GPUS": "0",
               "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(port),
               "GLOO_SOCKET_IFNAME": "lo"}
        return root, run_entry("train", root=root, use_case=USE_CASE, env=env)

    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(instance, hosts))
    for _root, done in results:
        assert done.returncode == 0, done.stderr[-3000:]
    (first, first_run), (second, second_run) = results
    training = json.loads((first / "model" / "training.json").read_text())
    assert training["world_size"] == 2
    # Each process trained on its half of the images: half the optimiser steps per epoch.
    images = len(read_manifest(run.ml.processing_output("train")))
    per_rank = math.ceil(images / 2)
    assert training["steps"] == 2 * math.ceil(per_rank / int(HYPERPARAMETERS["batch_size"]))
    assert "#metrics" in first_run.stdout and "#metrics" not in second_run.stdout
    assert not (second / "model" / "serving.json").exists()  # rank 0 alone writes the model


def test_its_code_runs_from_the_archive_aws_pytorch_image_runs(tmp_path):
    """Script mode as AWS's training toolkit runs it: the platform's code archive extracted, its
    entry point run from there (no PYTHONPATH) with the hyperparameters as `--name value`
    arguments over hyperparameters.json, which holds the toolkit's own sagemaker_* keys too.
    The job reaches the use case's training and reads both: the argument's value is the one
    refused (a real training from the archive would cost the suite a second training run)."""
    import io
    import os
    import subprocess
    import sys
    import tarfile

    from ml_constructs.framework_code import ENTRY_POINT, build_archive

    code = tmp_path / "code"
    with tarfile.open(fileobj=io.BytesIO(build_archive(USE_CASE).read_bytes()), mode="r:gz") \
            as archive:
        archive.extractall(code, filter="data")
    script_mode = {"sagemaker_program": ENTRY_POINT, "sagemaker_region": "eu-west-1",
                   "sagemaker_submit_directory": "s3://bucket/code.tar.gz"}
    # No channel data: the job refuses its hyperparameters before it reads any.
    stage_training(tmp_path / "ml", tmp_path / "no-data", {**HYPERPARAMETERS, **script_mode})
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SM_", "PYTHONPATH"))}
    env.update({"ML_ROOT": str(tmp_path / "ml"), "ML_USE_CASE": USE_CASE})
    done = subprocess.run([sys.executable, ENTRY_POINT, "--precision", "fp8", "--epochs", "1"],
                          cwd=code, env=env, capture_output=True, text=True, timeout=300,
                          check=False)
    assert done.returncode != 0
    failure = (tmp_path / "ml" / "output" / "failure").read_text()
    assert "must be one of fp32, bf16, fp16" in failure and "sagemaker_" not in failure


def test_int8_leaves_the_image_convolution_and_the_classifier_in_float(run):
    """Quantised elsewhere (QDQ), but not where it costs more than it saves (export.py)."""
    import onnx

    graph = onnx.load(str(run.ml.model / "model-int8.onnx")).graph
    dequantised = {o for n in graph.node if n.op_type == "DequantizeLinear" for o in n.output}
    weights = {n.name: n.input[1] for n in graph.node if n.op_type in ("Conv", "Gemm")}
    first = next(n for n in graph.node if n.op_type == "Conv")
    float_ones = {name for name, weight in weights.items() if weight not in dequantised}
    assert float_ones == {first.name, *(n.name for n in graph.node if n.op_type == "Gemm")}
    assert len(weights) > len(float_ones) + 3  # the other convolutions are int8
