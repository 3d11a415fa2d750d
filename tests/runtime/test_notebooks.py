"""Every use case's example notebooks execute, top to bottom, against the bundled sample (each
ends with a check of its first model's quality), and the curated data they read in Studio
comes through Athena in the stage's workgroup."""

from __future__ import annotations

import io
import os

import nbformat
import pytest
from jupyter_client import KernelManager
from nbclient import NotebookClient

from runtime_scripts.common.manifest import available_use_cases, load_manifest
from runtime_scripts.common.tabular.notebook import load_curated
from tests.conftest import ROOT
from tests.contract.shapes import request_problems

NOTEBOOKS = sorted(p for name in available_use_cases()
                   for p in (load_manifest(name).folder / "notebooks").glob("*.ipynb"))


def test_every_use_case_has_an_example_notebook() -> None:
    assert {p.parent.parent.name for p in NOTEBOOKS} == set(available_use_cases())


@pytest.fixture(scope="module")
def kernel(tmp_path_factory):
    """One kernel for every notebook (its start and the imports are most of the time), the
    interpreter running the tests, from the repository root, with a HOME without
    ~/.mlplatform/lake.json (so the notebooks read the bundled sample)."""
    manager = KernelManager(kernel_name="python3")
    manager.start_kernel(cwd=str(ROOT),
                         env={**os.environ, "HOME": str(tmp_path_factory.mktemp("home"))})
    yield manager
    manager.shutdown_kernel(now=True)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: f"{p.parent.parent.name}/{p.name}")
def test_notebook_executes_against_the_bundled_sample(path, kernel) -> None:
    notebook = nbformat.read(path, as_version=4)
    assert all(not c.get("outputs") for c in notebook.cells if c.cell_type == "code"), \
        f"{path.name} is committed with outputs: clear them"
    # Nothing a notebook defined before this one is left for it to lean on.
    notebook.cells.insert(0, nbformat.v4.new_code_cell("%reset -f"))
    NotebookClient(notebook, km=kernel, timeout=300).execute()
    outputs = [o for c in notebook.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    assert any("bundled sample" in o.get("text", "") for o in outputs)


class FakeAthena:
    def __init__(self) -> None:
        self.requests = []

    def start_query_execution(self, **request):
        self.requests.append(("StartQueryExecution", request))
        return {"QueryExecutionId": "q-1"}

    def get_query_execution(self, **request):
        self.requests.append(("GetQueryExecution", request))
        return {"QueryExecution": {"Status": {"State": "SUCCEEDED"}, "ResultConfiguration": {
            "OutputLocation": "s3://artifacts/athena-results/q-1.csv"}}}


class FakeS3:
    def get_object(self, Bucket, Key):  # noqa: N803 (boto3's parameter names)
        assert (Bucket, Key) == ("artifacts", "athena-results/q-1.csv")
        return {"Body": io.BytesIO(b"state,churn,ingest_date\nKS,no,2026-01-01\n")}


def test_in_studio_the_curated_table_comes_through_the_workgroup() -> None:
    athena = FakeAthena()
    lake = {"region": "eu-west-1", "athena_workgroup": "mlplatform-dev-lake",
            "glue_database": "mlplatform_dev", "tables": {"churn": "churn"}}
    frame, source = load_curated("churn", lake=lake, athena=athena, s3=FakeS3(), limit=10)
    assert list(frame.columns) == ["state", "churn"]  # the partition key is not data
    assert source == 'Athena "mlplatform_dev"."churn"'
    (name, start), (_, poll) = athena.requests
    assert start == {"QueryString": 'SELECT * FROM "mlplatform_dev"."churn" LIMIT 10',
                     "WorkGroup": "mlplatform-dev-lake"}
    assert request_problems("athena", name, start) == []
    assert request_problems("athena", "GetQueryExecution", poll) == []
