"""The dataset spec names both classes as the data spells them."""

from __future__ import annotations

import json

import pytest

from runtime_scripts.common.tabular.dataset import DatasetSpec, DatasetSpecError
from runtime_scripts.use_cases.churn.manifest import MANIFEST as CHURN

CHURN_SPEC = CHURN.path(CHURN.dataset_spec)

BUNDLED = json.loads(CHURN_SPEC.read_text())


def test_the_bundled_spec_names_both_churn_classes():
    spec = DatasetSpec.load(CHURN_SPEC)
    assert (spec.positive_label, spec.negative_label) == ("yes", "no")


def test_a_spec_without_the_negative_label_is_refused_by_name():
    doc = {k: v for k, v in BUNDLED.items() if k != "negative_label"}
    with pytest.raises(DatasetSpecError, match="key 'negative_label' is required"):
        DatasetSpec.from_dict(doc, "spec.json")


@pytest.mark.parametrize(("labels", "words"), [
    (("yes", "yes"), "both 'yes': name the two classes of 'churn'"),
    (("yes", " no"), "'negative_label' must be a non-empty label without leading"),
    (("", "no"), "'positive_label' must be a non-empty label"),
])
def test_labels_that_cannot_name_two_classes_are_refused(labels, words):
    doc = {**BUNDLED, "positive_label": labels[0], "negative_label": labels[1]}
    with pytest.raises(DatasetSpecError, match=words):
        DatasetSpec.from_dict(doc, "spec.json")
