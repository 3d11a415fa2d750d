"""Which int8 ONNX settings make the defects model fastest on this CPU, at what accuracy.

    .venv/bin/python -m benchmarks.int8_options [--epochs 4] [--held-out-per-class 20]

Trains the CNN briefly on the bundled sample's layout (benchmarks/image_classification.py's
helpers), exports fp32, then quantises it statically (onnxruntime, calibrated on 128 held-out
images) in each way below, and times every model at batch 1 and 32 with one thread at
onnxruntime's default graph optimisation (ORT_ENABLE_ALL) and at ORT_ENABLE_BASIC: the fastest
of 5 interleaved rounds' medians. torch's export already folds BatchNorm into the convolutions
(the fp32 graph has none), so there is no BN fusion left to try.
    int8-export  what the use case exports (export.export_int8)
    qdq / qop    QDQ or QOperator format, per tensor
    *-pc         weights per channel
    *-pre        onnxruntime's quant_pre_process (shape inference, graph optimisation) first
    *-x1         the first convolution and the Gemm left in float
    *-s8         int8 activations instead of uint8
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np

from benchmarks.image_classification import SIZE, held_out, preprocess, training
from runtime_scripts.use_cases.defects import export
from runtime_scripts.use_cases.defects.scoring import softmax

ROUNDS = 5


def quantised(fp32: Path, into: Path, calibration: np.ndarray) -> dict[str, Path]:
    from onnxruntime.quantization import QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    pre = into / "pre.onnx"
    quant_pre_process(str(fp32), str(pre))
    excluded = export.float_nodes(fp32)
    out = {}
    for fmt_name, fmt in (("qdq", QuantFormat.QDQ), ("qop", QuantFormat.QOperator)):
        for suffix, source, options in (
                ("", fp32, {}), ("-pc", fp32, {"per_channel": True}), ("-pre", pre, {}),
                ("-x1", fp32, {"nodes_to_exclude": excluded}),
                ("-s8", fp32, {"activation_type": QuantType.QInt8})):
            path = into / f"{fmt_name}{suffix}.onnx"
            settings = {"per_channel": False, "activation_type": QuantType.QUInt8,
                        "weight_type": QuantType.QInt8, **options}
            quantize_static(str(source), str(path), export._Calibration(calibration),
                            quant_format=fmt, **settings)
            out[f"{fmt_name}{suffix}"] = path
    return out


def session(path: Path, level):
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads, options.inter_op_num_threads = 1, 1
    options.log_severity_level, options.graph_optimization_level = 3, level
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def main() -> None:
    import onnxruntime as ort

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", default="4")
    parser.add_argument("--held-out-per-class", type=int, default=20)
    args = parser.parse_args()
    print(f"# {time.strftime('%Y-%m-%d %H:%M:%S %Z')}, {os.cpu_count()} CPUs, load "
          f"{os.getloadavg()[0]:.2f}, onnxruntime {ort.__version__}")
    with tempfile.TemporaryDirectory() as scratch:
        tmp = Path(scratch)
        paths, run = training(tmp / "train", preprocess(tmp / "shards", 30, 7, 512),
                              epochs=args.epochs)
        state = run.run()
        from runtime_scripts.use_cases.defects.train_job import write_model

        write_model(paths, run.hp, run.prep, state, 1)
        x, y = held_out(tmp, args.held_out_per_class, run.prep)
        calibration = x[np.random.default_rng(0).choice(len(x), min(128, len(x)), False)]
        fp32 = paths.model / export.file_name("fp32")
        models = {"fp32": fp32, "int8-export": paths.model / export.file_name("int8"),
                  **quantised(fp32, tmp, calibration)}
        for level_name in ("ORT_ENABLE_ALL", "ORT_ENABLE_BASIC"):
            level = getattr(ort.GraphOptimizationLevel, level_name)
            sessions = {name: session(path, level) for name, path in models.items()}
            best = {name: {1: float("inf"), 32: float("inf")} for name in models}
            for _ in range(ROUNDS):
                for name, sess in sessions.items():
                    for batch in (1, 32):
                        ms = export.latency_ms(sess, 3, SIZE, batch,
                                               repeats=30 if batch == 1 else 8, warmup=2)
                        best[name][batch] = min(best[name][batch], ms)
            base = best["fp32"]
            print(f"\n{level_name} ({len(y)} held-out images, 1 thread)")
            print(f"{'model':12} {'accuracy':>8} {'KB':>5} {'ms b=1':>7} {'x fp32':>6} "
                  f"{'ms b=32':>8} {'x fp32':>6}")
            for name, sess in sessions.items():
                logits, _ = export.run(sess, x)
                accuracy = float((softmax(logits).argmax(1) == y).mean())
                print(f"{name:12} {accuracy:8.3f} {models[name].stat().st_size / 1024:5.0f} "
                      f"{best[name][1]:7.3f} {base[1] / best[name][1]:6.2f} "
                      f"{best[name][32]:8.2f} {base[32] / best[name][32]:6.2f}")
    print(f"\nload average after {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
