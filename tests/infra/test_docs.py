"""What the README and docs show must exist: bucket names as CloudFormation generates them for
the storage stack, the layout section's paths, input examples the pipelines accept, and the
"Train on your own CSV" commands."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import pytest

from runtime_scripts.pipeline_input import resolve
from stacks.storage_stack import DATA_BUCKETS
from tests.pipeline_input.events import BATCH_PLATFORM, PLATFORM, event

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()
DOCUMENTS = {"README.md": README,
             **{f"docs/{p.name}": p.read_text() for p in sorted((ROOT / "docs").glob("*.md"))}}
KINDS = "|".join(kind.lower() for kind in DATA_BUCKETS)
# What an example bucket name looks like: the first release named them <project>-<stage>-<kind>-
# <account>[-<region>]; CloudFormation now generates <stack>-<logical id>-<random suffix>.
FIXED_NAME = re.compile(rf"\bmlplatform-(?:dev|prod)-(?:{KINDS})-\d{{12}}\S*")
GENERATED = re.compile(r"\b(mlplatform-(dev|prod)-storage)-([a-z0-9]+)-[a-z0-9]{12,13}\b")


def storage_buckets(synthesized, stage: str) -> tuple[str, set[str]]:
    """The storage stack's name and its buckets' logical ids, as CloudFormation lowercases them
    into the generated names."""
    stack = synthesized[stage].stack("Storage")
    template = json.loads((synthesized[stage].outdir / f"{stack.artifact_id}.template.json")
                          .read_text())
    return stack.stack_name, {logical.lower() for logical, r in template["Resources"].items()
                              if r["Type"] == "AWS::S3::Bucket"}


@pytest.mark.parametrize("document", sorted(DOCUMENTS))
def test_bucket_names_in_examples_are_the_ones_the_storage_stack_creates(synthesized, document):
    text = DOCUMENTS[document]
    assert not FIXED_NAME.findall(text), f"{document} names buckets that no stack creates"
    for match in GENERATED.finditer(text):
        name, (stack, stage, logical) = match[0], match.groups()
        expected_stack, buckets = storage_buckets(synthesized, stage)
        assert stack == expected_stack and logical in buckets, \
            f"{document}: {name} is not a bucket of {expected_stack} ({sorted(buckets)})"


def test_the_examples_name_buckets_at_all():
    assert GENERATED.findall(README) and GENERATED.findall(DOCUMENTS["docs/pipeline-inputs.md"])


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


PROD = {**BATCH_PLATFORM,
        "artifacts_bucket": "mlplatform-prod-storage-artifactsbucket88671897-k6p1z8w3rj5ys",
        "model_package_group": "mlplatform-prod-churn", "resource_prefix": "mlplatform-prod"}


@pytest.mark.parametrize(("heading", "pipeline", "platform"), [
    ("### Training: ", "training", None), ("### Batch inference: ", "batch", PROD)])
def test_the_readme_input_examples_are_accepted(heading, pipeline, platform):
    out = resolve(event(pipeline, readme_json(heading), platform=platform))
    assert out["run"]["pipeline"] == pipeline


def test_the_walkthroughs_aws_commands_give_inputs_the_pipelines_accept(tmp_path):
    """"Train on your own CSV", step 3, run as written with `aws` and `mlplatform` stubbed: the
    bucket names come from the storage stack's outputs and the files written are valid input."""
    section = README.split("**3. Train on AWS.**", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```bash\n(.*?)```", section, re.DOTALL)
    assert len(blocks) == 2
    bins = tmp_path / "bin"
    bins.mkdir()
    calls = tmp_path / "calls"
    (bins / "aws").write_text(f"""#!/bin/sh
echo "aws $*" >> {calls}
case "$*" in
  *RawBucketName*) echo {PLATFORM["artifacts_bucket"].replace("artifacts", "raw")} ;;
  *ArtifactsBucketName*) echo {PLATFORM["artifacts_bucket"]} ;;
esac
""")
    (bins / "mlplatform").write_text(f'#!/bin/sh\necho "mlplatform $*" >> {calls}\n')
    for stub in bins.iterdir():
        stub.chmod(0o755)
    env = {**os.environ, "PATH": f"{bins}:{os.environ['PATH']}"}
    subprocess.run(["bash", "-euc", "\n".join(blocks)], cwd=tmp_path, env=env, check=True)
    raw = PLATFORM["artifacts_bucket"].replace("artifacts", "raw")
    log = calls.read_text().splitlines()
    assert f"aws s3 cp subscriptions.csv s3://{raw}/subscriptions/training/" in log
    assert "mlplatform start training --stage dev --input train-subscriptions.json --watch" in log
    training = resolve(event("training", json.loads((tmp_path / "train-subscriptions.json")
                                                    .read_text())))
    assert training["data"]["raw_s3_uri"] == f"s3://{raw}/subscriptions/training/"
    assert training["data"]["dataset_spec_s3_uri"].endswith("/specs/subscriptions.json")
    batch = resolve(event("batch", json.loads((tmp_path / "score.json").read_text())))
    assert batch["data"]["input_s3_uri"] == f"s3://{raw}/subscriptions/scoring/"
