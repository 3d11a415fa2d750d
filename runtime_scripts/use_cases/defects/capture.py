"""Model Monitor's record preprocessor for the image classifier: one captured request -> one
record of monitored features per image.

The endpoint answers every image with its `features` (scorer.py: width, height, brightness,
contrast, sharpness and the embedding summary), so the captured answer already holds them and
no image has to be decoded here. The data quality job compares the columns of the baseline
(the preprocessing job's baseline.csv: the image features) with these; the embedding summary
rides along in the capture for analysis.

Standard library only, Python 3.7 at run time: Model Monitor downloads this one file into its
analyzer container and calls `preprocess_handler` on every captured record:

    {"captureData": {"endpointInput": {"observedContentType": "image/png", "mode": "INPUT",
                                       "data": "<base64>", "encoding": "BASE64"},
                     "endpointOutput": {"observedContentType": "application/json",
                                        "mode": "OUTPUT", "encoding": "JSON",
                                        "data": "{\\"predictions\\": [...]}"}}, ...}
"""

from __future__ import annotations

import base64
import json
from typing import Any, Dict, List  # noqa: UP035 (Python 3.7 at run time)

# The baseline's columns (features.IMAGE_FEATURES; a test holds the two equal).
MONITORED = ("width", "height", "brightness", "contrast", "sharpness")


class CaptureError(ValueError):
    """A captured record that does not hold this model's answer."""


def _attribute(event_data: Any, *names: str) -> Any:
    for name in names:
        value = getattr(event_data, name, None)
        if value is None and isinstance(event_data, dict):
            value = event_data.get(name)
        if value is not None:
            return value
    return None


def records_from_answer(data: str, encoding: str) -> List[Dict[str, float]]:  # noqa: UP006
    text = base64.b64decode(data).decode("utf-8") if encoding.upper() == "BASE64" else data
    try:
        answer = json.loads(text)
    except ValueError:
        raise CaptureError("the captured answer is not JSON") from None
    predictions = answer.get("predictions") if isinstance(answer, dict) else None
    if not isinstance(predictions, list):
        raise CaptureError('the captured answer has no "predictions" list')
    records = []
    for prediction in predictions:
        features = prediction.get("features") if isinstance(prediction, dict) else None
        if not isinstance(features, dict) or any(name not in features for name in MONITORED):
            raise CaptureError("a captured prediction lacks its features "
                               f"({', '.join(MONITORED)})")
        records.append({name: float(features[name]) for name in MONITORED})
    return records


def preprocess_handler(inference_record: Any, logger: Any = None) -> List[Dict[str, float]]:  # noqa: UP006
    """One record of the monitored features per image of the captured request."""
    output = _attribute(inference_record, "endpoint_output", "endpointOutput")
    if output is None:
        raise CaptureError("the captured record has no endpoint output: capture both "
                           "Input and Output (DataCaptureConfig CaptureOptions)")
    data = _attribute(output, "data")
    encoding = str(_attribute(output, "encoding") or "JSON")
    records = records_from_answer(data, encoding)
    if logger is not None and not records:
        logger.info("captured record without images")
    return records
