"""The model-specific part of the stock stacks: load the booster, predict (benchmark only).

Everything else (decoding, encoding, error handling, the server) is the toolkits' own code.
"""

from __future__ import annotations

import os
from pathlib import Path

from sagemaker_inference.default_inference_handler import DefaultInferenceHandler

from runtime_scripts import contract


def load_booster(model_dir: str | os.PathLike):
    import xgboost

    booster = xgboost.Booster()
    booster.load_model(str(Path(model_dir) / contract.MODEL_FILE))
    booster.set_param({"nthread": 1})  # one request per worker at a time, like ours
    return booster


def csv_to_matrix(text: str):
    """CSV rows to a float32 matrix the way the SageMaker XGBoost container parses them
    (`csv_to_dmatrix`: split lines and fields, `np.array(...).astype(float32)`); faster than the
    toolkit's default `np.genfromtxt`, so the stock stacks are measured at their best."""
    import numpy as np

    rows = [line.split(",") for line in text.strip().split("\n")]
    return np.array(rows).astype(np.float32)


def predictions_to_csv(predictions) -> str:
    return "".join(f"{p}\n" for p in predictions.tolist())


class XGBoostInferenceHandler(DefaultInferenceHandler):
    """The model-specific functions a framework container supplies to the toolkit."""

    def default_model_fn(self, model_dir, context=None):
        return load_booster(model_dir)

    def default_input_fn(self, input_data, content_type, context=None):
        if content_type != "text/csv":
            return super().default_input_fn(input_data, content_type, context)
        if isinstance(input_data, bytes):
            input_data = input_data.decode("utf-8")
        return csv_to_matrix(input_data)

    def default_predict_fn(self, data, model, context=None):
        import xgboost

        return model.predict(xgboost.DMatrix(data))

    def default_output_fn(self, prediction, accept, context=None):
        if accept in ("text/csv", "*/*", None):
            return predictions_to_csv(prediction)
        return super().default_output_fn(prediction, accept, context)
