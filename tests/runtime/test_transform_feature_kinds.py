"""A dataset spec may have only numeric or only categorical features: the transform fits and
encodes both ways (rows at serving, frames at training) without the other kind."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from runtime_scripts.common.tabular.dataset import DatasetSpec
from runtime_scripts.common.tabular.transform import FittedTransform

FRAME = pd.DataFrame({"id": ["1", "2", "3", "4"], "size": ["1.5", "2.5", "", "4"],
                      "colour": ["red", "blue", "red", ""], "label": ["a", "b", "a", "b"]})


def _spec(features: dict) -> DatasetSpec:
    return DatasetSpec.from_dict(json.loads(json.dumps({
        "name": "kinds", "target": "label", "positive_label": "a", "negative_label": "b",
        "id_columns": ["id"], "features": features,
        "split": {"train": 0.5, "validation": 0.25, "test": 0.25, "seed": 1}})))


@pytest.mark.parametrize("features", [{"size": "numeric"}, {"colour": "categorical"}],
                         ids=["numeric only", "categorical only"])
def test_one_kind_of_feature_fits_and_encodes_rows_and_frames(features):
    transform = FittedTransform.fit(FRAME, _spec(features))
    rows = FRAME[list(transform.input_columns)].values.tolist()
    from_rows = transform.transform_rows(rows)
    assert from_rows.shape[0] == 4 and from_rows.shape[1] >= 1
    np.testing.assert_allclose(from_rows, transform.transform_frame(FRAME))
