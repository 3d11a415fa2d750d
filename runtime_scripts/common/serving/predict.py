"""Booster prediction for the serving hot path.

`Booster.inplace_predict` spends ~100 us per call in Python before and after the ~40 us of C work
for one row (type dispatch over pandas/arrow/cupy, JSON-encoding its config, wrapping the result),
which is most of a single-row request. `DensePredictor` calls the same C entry point that
`inplace_predict` uses for a float32 numpy matrix, `XGBoosterPredictFromDense`, with the config
encoded once. It is checked against `inplace_predict` on probe rows when it is built; if the
private API it relies on is missing or disagrees (another xgboost version), the server falls back
to `inplace_predict` and says so in the log.
"""

from __future__ import annotations

import ctypes
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import xgboost

log = logging.getLogger(__name__)

Predict = Callable[[np.ndarray], np.ndarray]

# Same arguments `inplace_predict` sends by default: probabilities, all trees, NaN is missing.
_CONFIG = (
    b'{"type": 0, "training": false, "iteration_begin": 0, "iteration_end": 0, '
    b'"missing": NaN, "strict_shape": false, "cache_id": 0}'
)


class DensePredictor:
    """Probabilities for a C-contiguous float32 matrix, one value per row."""

    def __init__(self, booster: xgboost.Booster) -> None:
        from xgboost import core

        self._booster = booster  # keeps the handle alive
        self._handle = booster.handle
        # One proxy DMatrix for every call: with none, xgboost builds one per call, and with it
        # a thread context that reads the cgroup CPU quota files (~8 us of syscalls a row).
        self._proxy = core._ProxyDMatrix()
        self._call = core._LIB.XGBoosterPredictFromDense
        self._check = core._check_call
        self._ulong = core.c_bst_ulong
        self._width = booster.num_features()

    def __call__(self, matrix: np.ndarray) -> np.ndarray:
        if matrix.dtype != np.float32 or not matrix.flags.c_contiguous:
            matrix = np.ascontiguousarray(matrix, dtype=np.float32)
        n, width = matrix.shape
        if width != self._width:
            raise ValueError(f"expected {self._width} features, got {width}")
        interface = b'{"data": [%d, true], "strides": null, "typestr": "<f4", "shape": [%d, %d], '
        interface += b'"version": 3}'
        interface %= (matrix.ctypes.data, n, width)
        shape = ctypes.POINTER(self._ulong)()
        dims = self._ulong()
        out = ctypes.POINTER(ctypes.c_float)()
        self._check(
            self._call(
                self._handle, interface, _CONFIG, self._proxy.handle,
                ctypes.byref(shape), ctypes.byref(dims), ctypes.byref(out),
            )
        )
        if dims.value != 1 or shape[0] != n:
            got = [shape[i] for i in range(dims.value)]
            raise RuntimeError(f"unexpected prediction shape {got} for {n} rows")
        # The buffer belongs to the booster and is reused by the next call: copy it out.
        return np.frombuffer(ctypes.string_at(out, 4 * n), dtype=np.float32)


def make_predictor(booster: xgboost.Booster, probe: np.ndarray) -> Predict:
    """The fast path if it agrees bit for bit with `inplace_predict` on `probe`, else the latter
    (a linear booster: DMatrix prediction)."""
    from runtime_scripts.common.model_bundle import is_linear

    if is_linear(booster):
        # XGBoost predicts a gblinear booster through a DMatrix only (its in-place prediction
        # is for trees: "Inplace predict is not supported by the current booster").
        import xgboost

        return lambda matrix: booster.predict(xgboost.DMatrix(matrix))

    def reference(matrix: np.ndarray) -> np.ndarray:
        return booster.inplace_predict(matrix)

    try:
        fast = DensePredictor(booster)
        if np.array_equal(fast(probe), reference(probe)):
            return fast
        log.warning("fast prediction disagrees with inplace_predict; using inplace_predict")
    except (AttributeError, TypeError, ValueError, RuntimeError) as exc:
        log.warning("fast prediction unavailable (%s); using inplace_predict", exc)
    return reference
