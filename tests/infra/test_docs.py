"""What the README and docs show must exist: bucket names as the storage stack names them, the
layout section's paths, and input examples the pipelines accept."""

from __future__ import annotations

import json
import re
from pathlib import Path

import aws_cdk as cdk
import pytest

from config import load_stage_config
from runtime_scripts.pipeline_input import resolve
from stacks.storage_stack import DATA_BUCKETS, data_bucket_name
from tests.pipeline_input.events import event

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()
DOCUMENTS = {"README.md": README,
             **{f"docs/{p.name}": p.read_text() for p in sorted((ROOT / "docs").glob("*.md"))}}
KINDS = "|".join(kind.lower() for kind in DATA_BUCKETS)
BUCKET = re.compile(rf"\b[a-z][a-z0-9-]*-(?:dev|prod)-(?:{KINDS})-\d{{12}}[a-z0-9-]*")


def bucket_name(stage: str, kind: str, account: str) -> str:
    """`data_bucket_name` with the account it is deployed to, as CloudFormation resolves it."""
    stack = cdk.Stack(cdk.App(), "Names")
    joined = stack.resolve(data_bucket_name(load_stage_config(stage), kind))
    return "".join(account if isinstance(part, dict) else part for part in joined["Fn::Join"][1])


@pytest.mark.parametrize("document", sorted(DOCUMENTS))
def test_bucket_names_in_examples_are_the_ones_the_storage_stack_creates(document):
    found = set(BUCKET.findall(DOCUMENTS[document]))
    for name in found:
        _, stage, kind, account = re.match(r"(.*?)-(dev|prod)-([a-z]+)-(\d{12})", name).groups()
        expected = bucket_name(stage, kind.capitalize(), account)
        assert name == expected, f"{document}: {name} should be {expected}"


def test_the_examples_name_buckets_at_all():
    assert BUCKET.findall(README) and BUCKET.findall(DOCUMENTS["docs/pipeline-inputs.md"])


def test_the_layout_section_lists_paths_that_exist():
    block = README.split("## Layout", 1)[1].split("```", 2)[1]
    parents: list[str] = []
    listed = []
    for line in block.strip("\n").splitlines():
        indent = (len(line) - len(line.lstrip())) // 2
        name = line.split()[0]
        parents = parents[:indent] + [name.rstrip("/")]
        listed.append("/".join(parents))
    missing = [path for path in listed if not (ROOT / path).exists()]
    assert not missing, f"README layout lists paths that do not exist: {missing}"
    assert "runtime_scripts/bin" in listed


def readme_json(heading: str) -> dict:
    section = README.split(heading, 1)[1]
    return json.loads(section.split("```json\n", 1)[1].split("```", 1)[0])


PROD = {"artifacts_bucket": "mlplatform-prod-artifacts-123456789012-eu-west-1",
        "model_package_group": "mlplatform-prod-churn", "resource_prefix": "mlplatform-prod"}


@pytest.mark.parametrize(("heading", "pipeline", "platform"), [
    ("### Training: ", "training", None), ("### Batch inference: ", "batch", PROD)])
def test_the_readme_input_examples_are_accepted(heading, pipeline, platform):
    out = resolve(event(pipeline, readme_json(heading), platform=platform))
    assert out["run"]["pipeline"] == pipeline
