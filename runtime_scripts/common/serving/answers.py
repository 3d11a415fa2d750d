"""What a model answers per row, and how each response format writes it.

A binary classifier answers a probability and the label it has at the decision threshold
(`probability,label`); a regression answers the predicted value (`prediction`). The columns are
the task's (`Task.prediction_columns`, task.py) and the manifest's `serving.prediction_columns`;
codecs.encode puts the id columns and the response format around them.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar, Protocol

import numpy as np
import orjson

if TYPE_CHECKING:
    from runtime_scripts.common.serving.model import ModelArtifacts


@dataclass(frozen=True)
class LabelText:
    """The two class labels as written in each response format: (negative, positive)."""

    csv: tuple[bytes, bytes]
    json: tuple[bytes, bytes]

    @classmethod
    def of(cls, negative: str, positive: str) -> LabelText:
        def csv_field(label: str) -> bytes:
            out = io.StringIO()
            csv.writer(out, lineterminator="").writerow([label])
            return out.getvalue().encode()

        return cls(
            csv=(csv_field(negative), csv_field(positive)),
            json=(orjson.dumps(negative), orjson.dumps(positive)),
        )


class Answer(Protocol):
    """How a model's per-row outputs are written: its columns, and per row the CSV line and the
    JSON object's members (closing brace included; ids, if any, come before them)."""

    columns: bytes  # the CSV header's names, e.g. b"probability,label"

    def csv_lines(self, values: np.ndarray, numbers: list[bytes]) -> list[bytes]: ...

    def json_members(self, values: np.ndarray, numbers: list[bytes]) -> list[bytes]: ...


@dataclass(frozen=True)
class LabelledProbability:
    """A binary classifier's answer: the probability, and the label it has at the threshold."""

    labels: LabelText
    threshold: float
    names: ClassVar[tuple[str, ...]] = ("probability", "label")
    columns: ClassVar[bytes] = b"probability,label"

    def csv_lines(self, values: np.ndarray, numbers: list[bytes]) -> list[bytes]:
        no, yes = self.labels.csv
        positive = (values >= self.threshold).tolist()
        return [b"%s,%s\n" % (p, yes if y else no) for p, y in zip(numbers, positive, strict=True)]

    def json_members(self, values: np.ndarray, numbers: list[bytes]) -> list[bytes]:
        no, yes = self.labels.json
        positive = (values >= self.threshold).tolist()
        return [b'"probability":%s,"label":%s}' % (p, yes if flag else no)
                for p, flag in zip(numbers, positive, strict=True)]


@dataclass(frozen=True)
class PredictedValue:
    """A regression's answer: the predicted value."""

    names: ClassVar[tuple[str, ...]] = ("prediction",)
    columns: ClassVar[bytes] = b"prediction"

    def csv_lines(self, values: np.ndarray, numbers: list[bytes]) -> list[bytes]:
        return [number + b"\n" for number in numbers]

    def json_members(self, values: np.ndarray, numbers: list[bytes]) -> list[bytes]:
        return [b'"prediction":%s}' % number for number in numbers]


def answer_for(artifacts: ModelArtifacts) -> Answer:
    """The answer in the model's task's columns (a classifier's schema names its classes)."""
    schema = artifacts.schema
    if artifacts.task.prediction_columns == PredictedValue.names:
        return PredictedValue()
    assert schema.positive_label is not None and schema.negative_label is not None
    return LabelledProbability(LabelText.of(schema.negative_label, schema.positive_label),
                               schema.decision_threshold)
