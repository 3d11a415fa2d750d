"""`process package` for personas: built-in K-Means' or PCA's model -> this image's bundle.

Inputs: processing/input/model (the training job's model.tar.gz: `model_algo-1`, an MXNet
NDArray file, which AWS's examples read with `mx.ndarray.load`: K-Means' a list holding the
k x feature_dim centroids, PCA's the named arrays `mean`, `v` (feature_dim x num_components)
and `s` (the singular values)), processing/input/transform (preprocess's transform.json). The
arrays are in the space the algorithm trained in, the standardised features, which the
transform maps requests to. Output: processing/output/packaged/model.tar.gz holding
personas.json.
"""

from __future__ import annotations

import io
import json
import sys
import tarfile
import tempfile
from pathlib import Path

from runtime_scripts import contract
from runtime_scripts.common import mxnet_ndarray
from runtime_scripts.common.builtin_algorithms import algorithm
from runtime_scripts.common.jobio import JobError, atomic_outputs, run_job
from runtime_scripts.common.model_bundle import resolve_model_dir
from runtime_scripts.use_cases.personas.bundle import BUNDLE_FILE, Segmenter

MODEL_FILE = algorithm("kmeans").model_file


PCA_ARRAYS = ("mean", "v", "s")


def model_arrays(model_input: Path, scratch: Path):
    folder = resolve_model_dir(model_input, scratch, (MODEL_FILE,))
    try:
        return mxnet_ndarray.load(folder / MODEL_FILE)
    except mxnet_ndarray.NDArrayFormatError as exc:
        raise JobError(str(exc)) from None


def model_of(scaling: Segmenter, arrays) -> Segmenter:
    """The bundle of K-Means' centroids (one array) or PCA's named arrays."""
    if isinstance(arrays, dict) and set(PCA_ARRAYS) <= set(arrays):
        return scaling.with_projection(*(arrays[name] for name in PCA_ARRAYS))
    values = list(arrays.values()) if isinstance(arrays, dict) else arrays
    if len(values) != 1:
        raise JobError(f"{MODEL_FILE} holds {len(values)} arrays: K-Means saves one, its "
                       f"centroids, PCA the named {', '.join(PCA_ARRAYS)}")
    return scaling.with_centroids(values[0])


def package(ml: contract.MlPaths) -> dict:
    scaling = Segmenter.read(ml.processing_input(contract.PROCESSING_INPUT_TRANSFORM)
                             / contract.TRANSFORM_FILE)
    with tempfile.TemporaryDirectory(prefix="package-") as scratch:
        model = model_of(scaling, model_arrays(
            ml.processing_input(contract.PROCESSING_INPUT_MODEL), Path(scratch)))
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        data = model.to_json().encode()
        entry = tarfile.TarInfo(BUNDLE_FILE)
        entry.size = len(data)
        tar.addfile(entry, io.BytesIO(data))
    target = ml.processing_output(contract.PROCESSING_OUTPUT_PACKAGED)
    with atomic_outputs({"packaged": target}) as out:
        (out["packaged"] / contract.PACKAGED_MODEL_ARCHIVE).write_bytes(buffer.getvalue())
    if model.components is not None:
        return {"components": len(model.components), "features": len(model.features)}
    return {"k": len(model.centroids), "features": len(model.features)}


def main() -> int:
    ml = contract.MlPaths.from_env()

    def job() -> None:
        print(json.dumps(package(ml)), flush=True)

    return run_job(job, ml.exit_message, "packaging")


if __name__ == "__main__":
    sys.exit(main())
