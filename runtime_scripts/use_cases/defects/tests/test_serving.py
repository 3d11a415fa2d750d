"""Evaluation and its report, the inference server (every body it takes, the 4xx for a
client's mistakes), batch transform over a prefix and a manifest, and the capture
preprocessor on what the server answered."""

from __future__ import annotations

import base64
import io
import json
from types import SimpleNamespace

import numpy as np
import pytest
from PIL import Image

from runtime_scripts import contract
from runtime_scripts.common.manifest import load_manifest
from runtime_scripts.use_cases.defects import batch, capture
from runtime_scripts.use_cases.defects.tests.conftest import USE_CASE
from runtime_scripts.use_cases.testing import Server


def test_evaluation_scores_every_variant_and_judges_the_gate(run):
    evaluation = run.evaluation
    assert list(evaluation["metrics"]) == list(load_manifest(USE_CASE).metric_names)
    assert evaluation["quality_gate"]["passed"] is True
    assert len(evaluation["quality_gate"]["conditions"]) == 2
    variants = evaluation["variants"]
    assert set(variants) == {"fp32", "fp16", "int8"}
    assert variants["int8"]["size_bytes"] < variants["fp16"]["size_bytes"] \
        < variants["fp32"]["size_bytes"]
    assert evaluation["metrics"]["served_accuracy_drop"] == pytest.approx(
        variants["fp32"]["accuracy"] - variants["int8"]["accuracy"])
    matrix = np.array(evaluation["confusion_matrix"]["matrix"])
    assert matrix.sum() == evaluation["rows"]["total"]
    assert np.trace(matrix) / matrix.sum() == pytest.approx(evaluation["metrics"]["accuracy"])
    for name, scores in evaluation["per_class"].items():
        assert scores["support"] == evaluation["rows"][name]
    report = (run.ml.processing_output(contract.PROCESSING_OUTPUT_EVALUATION)
              / contract.REPORT_FILE).read_text()
    for section in ("ONNX variants", "Per class", "Confusion matrix", "Calibration",
                    "Worst misclassified"):
        assert section in report
    wrong = int(matrix.sum() - np.trace(matrix))
    assert report.count("data:image/png;base64,") == 1 + min(wrong, 12)  # plot + thumbnails


def _png(size=(40, 30), colour=(90, 90, 200), fmt="PNG", mode="RGB") -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, size, colour).save(buffer, format=fmt)
    return buffer.getvalue()


@pytest.fixture(scope="module")
def server(run, tmp_path_factory):
    log = tmp_path_factory.mktemp("serve") / "serve.log"
    started = Server(USE_CASE, run.root, log, env={"SAGEMAKER_MAX_PAYLOAD_IN_MB": "1"})
    yield started
    assert started.stop() == 0


def test_the_server_answers_every_body_it_takes(server, run):
    classes = run.evaluation["model"]["classes"]
    array = io.BytesIO()
    np.save(array, np.full((3, 20, 20), 128, dtype=np.uint8))  # three grayscale images
    batch_body = json.dumps({"instances": [{"b64": base64.b64encode(_png()).decode()},
                                           base64.b64encode(_png(fmt="JPEG")).decode()]})
    for body, content_type, count in ((_png(), "image/png", 1),
                                      (_png(fmt="JPEG"), "image/jpeg", 1),
                                      (_png(mode="P"), "application/x-image", 1),
                                      (array.getvalue(), "application/x-npy", 3),
                                      (batch_body, "application/json", 2)):
        status, answer = server.send("/invocations", body, content_type)
        assert status == 200, (content_type, answer)
        predictions = json.loads(answer)["predictions"]
        assert len(predictions) == count
        for prediction in predictions:
            assert prediction["label"] in classes
            assert sum(prediction["probabilities"].values()) == pytest.approx(1, abs=1e-4)
            assert set(prediction["features"]) >= set(capture.MONITORED)


@pytest.mark.parametrize(("body", "content_type", "status", "says"), [
    (_png()[:70], "image/png", 400, "corrupt"),
    (b"col1,col2\n1,2", "text/csv", 415, "not supported"),
    (b"plain words", "image/png", 415, "not an image format"),
    (_png(size=(4, 4)), "image/png", 400, "smaller than"),
    (b'{"instances": ["%%%"]}', "application/json", 400, "instance 0: not valid base64"),
    (b'{"instances": []}', "application/json", 400, "instances"),
    (b"\x93NUMPY garbage", "application/x-npy", 400, ".npy"),
    (b"x" * (1024 * 1024 + 1), "image/png", 413, "over the 1 MB limit"),
])
def test_a_clients_mistake_gets_a_4xx_that_names_it(server, body, content_type, status, says):
    got, answer = server.send("/invocations", body, content_type)
    assert got == status and says in json.loads(answer)["error"]


def test_json_lines_get_one_answer_line_each(server):
    # A batch transform with SplitType Line and MultiRecord sends several lines in one body.
    line = json.dumps({"instances": [base64.b64encode(_png()).decode()]})
    status, answer = server.send("/invocations", "\n".join([line] * 3) + "\n",
                                 "application/json")
    assert status == 200
    answers = [json.loads(one) for one in answer.decode().splitlines()]
    assert len(answers) == 3 and all(len(a["predictions"]) == 1 for a in answers)


def test_the_variant_is_chosen_by_configuration(run, tmp_path):
    from runtime_scripts.use_cases.defects.scorer import Scorer

    assert Scorer(run.ml.model).variant == "int8"
    assert Scorer(run.ml.model, "fp16").variant == "fp16"
    with pytest.raises(ValueError, match="SERVING_VARIANT='fp8'"):
        Scorer(run.ml.model, "fp8")


def test_batch_transform_over_a_prefix_and_a_manifest(run, tmp_path):
    from runtime_scripts.use_cases.defects.scorer import Scorer

    scorer = Scorer(run.ml.model)
    keys = sorted(p.relative_to(run.raw).as_posix() for p in run.raw.rglob("*good_*.png"))[:4]
    assert batch.transform(scorer, run.raw, keys, tmp_path / "manifest-out") == 4
    manifest = tmp_path / "input.manifest"
    manifest.write_text(json.dumps([{"prefix": str(run.raw)}, *keys]))
    root, listed = batch.manifest_keys(manifest)
    assert listed == keys
    prefix = tmp_path / "prefix"
    for key in keys:
        (prefix / key).parent.mkdir(parents=True, exist_ok=True)
        (prefix / key).write_bytes((run.raw / key).read_bytes())
    assert batch.prefix_keys(prefix) == keys
    batch.transform(scorer, prefix, keys, tmp_path / "prefix-out")
    for key in keys:
        one = json.loads((tmp_path / "manifest-out" / f"{key}.out").read_text())
        assert one == json.loads((tmp_path / "prefix-out" / f"{key}.out").read_text())
        assert len(one["predictions"]) == 1


def test_the_capture_preprocessor_reads_the_features_the_server_answered(run):
    from runtime_scripts.use_cases.defects.scorer import Scorer

    answer = Scorer(run.ml.model).answer("image/png", None, _png())
    record = SimpleNamespace(
        endpoint_input=SimpleNamespace(data=base64.b64encode(_png()).decode(),
                                       encoding="BASE64", observedContentType="image/png"),
        endpoint_output=SimpleNamespace(data=base64.b64encode(answer).decode(),
                                        encoding="BASE64",
                                        observedContentType="application/json"))
    rows = capture.preprocess_handler(record)
    assert len(rows) == 1 and tuple(rows[0]) == capture.MONITORED
    assert rows[0]["width"] == 40 and rows[0]["height"] == 30
    with pytest.raises(capture.CaptureError, match="no endpoint output"):
        capture.preprocess_handler(SimpleNamespace(endpoint_input=record.endpoint_input))
