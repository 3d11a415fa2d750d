"""ONNX export in three variants, and what each costs on a CPU.

    fp32  torch's TorchScript-based exporter (torch.onnx.export with dynamo=False: the newer
          exporter needs onnxscript, which the image does not ship), opset 17, dynamic batch
    fp16  the fp32 graph with float16 weights and activations (onnxruntime's float16
          converter), float32 inputs and outputs kept, so clients send the same arrays
    int8  static quantisation in QDQ format (onnxruntime.quantization.quantize_static):
          int8 weights (per tensor), uint8 activations whose ranges are calibrated on
          validation images (MinMax). Per tensor rather than per channel: on 600 held-out
          images of the bundled sample's layout, per channel lost 1.3 accuracy points against
          fp32 and per tensor 0.2, in a file 4% smaller (2026-12-01, one model). The first
          convolution (3 input channels: little arithmetic for the quantise / dequantise it
          costs) and the classifier's Gemm stay float: on 240 held-out images (2026-12-01,
          load 22-24 on 2 CPUs, one thread, benchmarks/int8_options.py) that took int8 from
          1.54x / 1.39x to 1.64x / 1.78x fp32's speed at batch 1 in two runs, at fp32's
          accuracy; batch 32 moved too much with the load to rank (README, defects section)
Every variant outputs `logits` and `embedding` (the pooled features, for monitoring).
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

VARIANTS = ("fp32", "fp16", "int8")
INPUT, LOGITS, EMBEDDING = "image", "logits", "embedding"
OPSET = 17


def file_name(variant: str) -> str:
    return f"model-{variant}.onnx"


def export_fp32(model, channels: int, size: int, path: Path) -> None:
    import torch

    from runtime_scripts.use_cases.defects.model import WithEmbedding

    graph = WithEmbedding(model).eval()
    example = torch.zeros(1, channels, size, size)
    torch.onnx.export(graph, (example,), str(path), dynamo=False, opset_version=OPSET,
                      input_names=[INPUT], output_names=[LOGITS, EMBEDDING],
                      dynamic_axes={INPUT: {0: "batch"}, LOGITS: {0: "batch"},
                                    EMBEDDING: {0: "batch"}})


def export_fp16(fp32: Path, path: Path) -> None:
    import onnx
    from onnxruntime.transformers.float16 import convert_float_to_float16

    onnx.save(convert_float_to_float16(onnx.load(str(fp32)), keep_io_types=True), str(path))


class _Calibration:
    """onnxruntime's CalibrationDataReader protocol over normalised validation images."""

    def __init__(self, images: np.ndarray, batch: int = 16) -> None:
        self.batches = iter([images[i:i + batch] for i in range(0, len(images), batch)])

    def get_next(self):
        batch = next(self.batches, None)
        return None if batch is None else {INPUT: batch.astype(np.float32)}


def export_int8(fp32: Path, path: Path, calibration: np.ndarray) -> None:
    from onnxruntime.quantization import (
        CalibrationMethod,
        QuantFormat,
        QuantType,
        quantize_static,
    )

    quantize_static(str(fp32), str(path), _Calibration(calibration),
                    quant_format=QuantFormat.QDQ, per_channel=False,
                    activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                    calibrate_method=CalibrationMethod.MinMax,
                    nodes_to_exclude=float_nodes(fp32))


def float_nodes(fp32: Path) -> list[str]:
    """The nodes int8 leaves in float: the convolution reading the image and every Gemm (the
    classifier), where quantising costs more time than the int8 arithmetic saves."""
    import onnx

    nodes = onnx.load(str(fp32)).graph.node
    first = [n.name for n in nodes if n.op_type == "Conv" and INPUT in n.input][:1]
    return first + [n.name for n in nodes if n.op_type == "Gemm"]


def export_all(model, channels: int, size: int, calibration: np.ndarray,
               into: Path) -> dict[str, dict]:
    """All three variants under `into`; {variant: {file, size_bytes}}."""
    export_fp32(model, channels, size, into / file_name("fp32"))
    export_fp16(into / file_name("fp32"), into / file_name("fp16"))
    export_int8(into / file_name("fp32"), into / file_name("int8"), calibration)
    return {v: {"file": file_name(v), "size_bytes": (into / file_name(v)).stat().st_size}
            for v in VARIANTS}


def session(path: Path, threads: int = 1):
    """A CPU session; `threads` intra-op threads (1: one request per core, as served)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def run(sess, images: np.ndarray, batch: int = 64) -> tuple[np.ndarray, np.ndarray]:
    """(logits, embeddings) of normalised images N x C x H x W."""
    logits, embeddings = [], []
    for i in range(0, len(images), batch):
        out = sess.run([LOGITS, EMBEDDING], {INPUT: images[i:i + batch].astype(np.float32)})
        logits.append(out[0])
        embeddings.append(out[1])
    return np.concatenate(logits), np.concatenate(embeddings)


def latency_ms(sess, channels: int, size: int, batch: int, *, repeats: int = 20,
               warmup: int = 3) -> float:
    """Median milliseconds of one call on `batch` images."""
    x = np.random.default_rng(0).standard_normal((batch, channels, size, size)).astype(np.float32)
    for _ in range(warmup):
        sess.run([LOGITS], {INPUT: x})
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        sess.run([LOGITS], {INPUT: x})
        times.append(time.perf_counter() - start)
    return float(np.median(times) * 1000)
