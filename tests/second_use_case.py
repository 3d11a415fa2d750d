"""A second use case for the two-use-case stage, until the ames use case (issue 12) is on main:
churn's folder copied under another name into a copy of runtime_scripts/, with a manifest of
its own (other gate metrics, objective, content types; no built-in algorithm), made loadable
for the duration of a synth only. Nothing is written into the source tree.

The name holds a '-' and starts with churn's: the hardest case for names that must not collide.
"""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

NAME = "churn-eu"
MANIFEST = '''"""Churn (EU): the test-only second use case (tests/second_use_case.py)."""

from dataclasses import replace

from runtime_scripts.common.manifest import GateCondition, Image, Metric, Serving
from runtime_scripts.use_cases.churn.manifest import MANIFEST as CHURN

MANIFEST = replace(
    CHURN, name="churn-eu", description="Customer churn (EU): binary classification",
    metrics=(Metric("auc", higher_is_better=True), Metric("recall", higher_is_better=True),
             Metric("f1", higher_is_better=True),
             Metric("log_loss", higher_is_better=False, maximum=None)),
    gate=(GateCondition("auc", ">=", 0.8), GateCondition("f1", ">=", 0.4)),
    gate_requires_one_of=("recall", "f1"),
    tuning=replace(CHURN.tuning, objective_metric="validation:logloss",
                   objective_type="Minimize"),
    serving=Serving(content_types=("text/csv",), accept_types=("text/csv",),
                    prediction_columns=("probability", "label")),
    image=Image(instance_family="cpu"),
)
'''
# Its entry in the stage file: its own batch schedule; its data prefix is the default one,
# "churn-eu/", which starts with churn's "churn".
STAGE_ENTRY = {"name": NAME, "batch_inference": {"schedule": "cron(0 4 * * ? *)"}}


def write_context(directory: Path) -> Path:
    """A copy of runtime_scripts/ with the second use case beside churn; returns the copy."""
    from ml_constructs.runtime_image import RUNTIME_SCRIPTS

    context = directory / "runtime_scripts"
    shutil.copytree(RUNTIME_SCRIPTS, context,
                    ignore=shutil.ignore_patterns("__pycache__", "sample_data", "tests"))
    folder = context / "use_cases" / NAME
    shutil.copytree(context / "use_cases" / "churn", folder)
    (folder / "manifest.py").write_text(MANIFEST)
    dockerfile = folder / "Dockerfile"
    text = dockerfile.read_text().replace("ML_USE_CASE=churn", f"ML_USE_CASE={NAME}")
    dockerfile.write_text(text)
    return context


@contextlib.contextmanager
def loadable(context: Path) -> Iterator[None]:
    """While open, the use cases are those of `context` (its manifests load, its folders are
    the images' build context); the second one's modules come from there."""
    import runtime_scripts.use_cases as package
    from ml_constructs import runtime_image
    from runtime_scripts.common import manifest

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(manifest, "USE_CASES_DIR", context / "use_cases")
        patch.setattr(runtime_image, "RUNTIME_SCRIPTS", context)
        patch.setattr(package, "__path__", [*package.__path__, str(context / "use_cases")])
        yield
