"""The serving fast paths give exactly what the reference paths give.

- `FittedTransform.transform_rows` (raw tokens, the serving path) equals `transform_frame` (the
  DataFrame path preprocessing and evaluation use), row by row and in batches, with missing
  values, unseen levels and JSON-typed values.
- `DensePredictor` (direct C call) equals `Booster.inplace_predict` bit for bit.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from benchmarks.sample_model import SAMPLE_DATA, read_sample
from runtime_scripts.common.serving import predict
from runtime_scripts.common.tabular.transform import TransformInputError


@pytest.fixture(scope="module")
def raw(sample_model) -> pd.DataFrame:
    frame = read_sample()[sample_model.spec.feature_names].copy()
    frame.iloc[0, frame.columns.get_loc("account_length")] = ""
    frame.iloc[1, frame.columns.get_loc("state")] = ""
    frame.iloc[2, frame.columns.get_loc("state")] = "ZZ"
    frame.iloc[3, frame.columns.get_loc("international_plan")] = "__missing__"
    return frame


def test_transform_rows_equals_transform_frame(artifacts, raw):
    transform = artifacts.transform
    rows = raw.to_numpy().tolist()
    reference = transform.transform_frame(raw)
    np.testing.assert_array_equal(transform.transform_rows(rows), reference)  # one batch
    for i in range(40):  # single rows take the small-batch branch
        np.testing.assert_array_equal(transform.transform_rows(rows[i : i + 1]), reference[[i]])


def test_typed_values_and_pandas_inference(artifacts, sample_model):
    # JSON clients send numbers as numbers and null for missing values; pandas' own type
    # inference (what the baseline's read_csv does) gives ints, floats and NaN.
    transform = artifacts.transform
    typed = pd.read_csv(SAMPLE_DATA, nrows=300)[sample_model.spec.feature_names]
    typed.iloc[5, 1] = np.nan
    rows = [[None if isinstance(v, float) and np.isnan(v) else v for v in r]
            for r in typed.astype(object).to_numpy().tolist()]
    np.testing.assert_array_equal(transform.transform_rows(rows), transform.transform_frame(typed))


def test_errors_name_row_and_column(artifacts, raw):
    rows = raw.iloc[:3].to_numpy().tolist()
    rows[2][6] = "12,5"
    with pytest.raises(TransformInputError, match="row 3: column 'total_day_minutes' must be"):
        artifacts.transform.transform_rows(rows)
    with pytest.raises(TransformInputError, match="row 2 has 18 columns, expected 19"):
        artifacts.transform.transform_rows([rows[0], rows[1][:-1]])
    assert artifacts.transform.transform_rows([]).shape == (0, artifacts.transform.width)


def test_dense_predictor_equals_inplace_predict(artifacts, raw):
    booster = artifacts.booster
    features = artifacts.transform.transform_frame(raw)
    features[::5, ::4] = np.nan
    fast = predict.make_predictor(booster, features[:64])
    assert isinstance(fast, predict.DensePredictor)  # the fast path is live on this xgboost
    for batch in (features[:1], features[:1000], features):
        np.testing.assert_array_equal(fast(batch), booster.inplace_predict(batch))


def test_predictor_falls_back_when_the_fast_path_disagrees(artifacts, monkeypatch):
    monkeypatch.setattr(predict.DensePredictor, "__call__", lambda self, m: np.zeros(len(m)))
    probe = np.zeros((4, artifacts.transform.width), dtype=np.float32)
    fallback = predict.make_predictor(artifacts.booster, probe)
    assert not isinstance(fallback, predict.DensePredictor)
    np.testing.assert_array_equal(fallback(probe), artifacts.booster.inplace_predict(probe))
