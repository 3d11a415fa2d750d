"""SageMaker's built-in Linear Learner model, read without MXNet, as the tabular bundle's booster.

What the algorithm saves (model.tar.gz holds `model_algo-1`): a ZIP archive (AWS's and its
users' examples `unzip model_algo-1`) of an MXNet Module checkpoint: mx-mod-symbol.json (the
network), mx-mod-0000.params (an MXNet NDArray file, common/mxnet_ndarray.py, whose names carry
MXNet's `arg:` prefix for parameters), manifest.json and additional-params.json. The linear
layer is `fc0`: `fc0_weight` (MXNet's FullyConnected layout, outputs x features) and
`fc0_bias`; the examples feed the loaded network raw feature rows and read predictions in the
label's unit, so the normalisation the algorithm learns is part of these weights.

A linear model with one output is exactly an XGBoost `gblinear` booster: its prediction is the
objective's link (the logistic function for binary:logistic, the identity for
reg:squarederror) of w . x + b, with the base score at the link's zero. So the bundle keeps one
model format (model_bundle.py) whichever algorithm trained: evaluation, the registry and
serving read the same file. Missing values: gblinear counts a missing feature as 0 (it is
sparse), where Linear Learner, which takes no missing values, never sees one.
"""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from runtime_scripts.common import mxnet_ndarray
from runtime_scripts.common.jobio import JobError

if TYPE_CHECKING:
    import xgboost

PARAMS_MEMBER = "mx-mod-0000.params"
SYMBOL_MEMBER = "mx-mod-symbol.json"
WEIGHT, BIAS = "fc0_weight", "fc0_bias"
# The base score at which each objective's link is 0: the margin is w . x + b alone.
ZERO_MARGIN_BASE_SCORE = {"binary:logistic": "5E-1", "reg:squarederror": "0"}


def read_parameters(model_file: Path) -> dict[str, np.ndarray]:
    """The checkpoint's parameters by name (without MXNet's `arg:`/`aux:` prefixes)."""
    try:
        with zipfile.ZipFile(model_file) as archive:
            names = archive.namelist()
            if PARAMS_MEMBER not in names:
                raise JobError(f"{model_file} holds {sorted(names)}, not {PARAMS_MEMBER}: it "
                               "is not a Linear Learner model")
            data = archive.read(PARAMS_MEMBER)
    except zipfile.BadZipFile:
        raise JobError(f"{model_file} is not a ZIP archive: built-in Linear Learner saves its "
                       "MXNet checkpoint zipped (a K-Means or PCA model_algo-1 is an NDArray "
                       "file): train the use case with Linear Learner") from None
    try:
        arrays = mxnet_ndarray.loads(data, f"{model_file}:{PARAMS_MEMBER}")
    except mxnet_ndarray.NDArrayFormatError as exc:
        raise JobError(str(exc)) from None
    if not isinstance(arrays, dict):
        raise JobError(f"{model_file}: {PARAMS_MEMBER} names none of its arrays")
    return {name.split(":", 1)[-1]: value for name, value in arrays.items()}


def weights_and_bias(parameters: dict[str, np.ndarray], width: int,
                     where: str) -> tuple[np.ndarray, float]:
    """One output's weights (`width` of them) and bias; other shapes name what they are."""
    missing = [n for n in (WEIGHT, BIAS) if n not in parameters]
    other = sorted(set(parameters) - {WEIGHT, BIAS})
    if missing or other:
        raise JobError(f"{where} holds the parameters {sorted(parameters)}: a linear model has "
                       f"exactly {WEIGHT} and {BIAS}")
    weight, bias = parameters[WEIGHT], parameters[BIAS].ravel()
    # FullyConnected's layout is outputs x features; one output's row and column hold the
    # same values.
    if weight.ndim != 2 or 1 not in weight.shape or weight.size != width or bias.size != 1:
        raise JobError(f"{where}: {WEIGHT} has shape {list(weight.shape)} and {BIAS} "
                       f"{list(bias.shape)}, but the use case's model has one output over "
                       f"{width} features (transform.json): a multiclass model, or one trained "
                       "on another preprocessing run's splits")
    return weight.astype(np.float64).ravel(), float(bias[0])


def linear_booster(weights: np.ndarray, bias: float, objective: str) -> xgboost.Booster:
    """The gblinear booster predicting link(weights . x + bias) under `objective`."""
    import xgboost

    if objective not in ZERO_MARGIN_BASE_SCORE:
        raise JobError(f"a linear model of objective {objective!r} is not packaged: "
                       f"{', '.join(ZERO_MARGIN_BASE_SCORE)}")
    document = {"learner": {
        "attributes": {}, "feature_names": [], "feature_types": [],
        "gradient_booster": {"name": "gblinear", "model": {
            "boosted_rounds": 1, "weights": [*map(float, weights), float(bias)]}},
        "learner_model_param": {"base_score": ZERO_MARGIN_BASE_SCORE[objective],
                                "boost_from_average": "0", "num_class": "0",
                                "num_feature": str(len(weights)), "num_target": "1"},
        "objective": {"name": objective}},
        "version": list(map(int, xgboost.__version__.split(".")[:3]))}
    booster = xgboost.Booster()
    booster.load_model(bytearray(json.dumps(document).encode()))
    return booster


def booster_of(model_file: Path, width: int, objective: str) -> xgboost.Booster:
    weights, bias = weights_and_bias(read_parameters(model_file), width, str(model_file))
    return linear_booster(weights, bias, objective)


def checkpoint_bytes(weight: np.ndarray, bias: np.ndarray, symbol: dict) -> bytes:
    """A model_algo-1 in the layout above (the local emulation writes it; tests read it)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(PARAMS_MEMBER, mxnet_ndarray.dumps(
            {f"arg:{WEIGHT}": weight, f"arg:{BIAS}": bias}))
        archive.writestr(SYMBOL_MEMBER, json.dumps(symbol))
    return buffer.getvalue()
