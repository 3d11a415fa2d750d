"""The README's "Train on your own CSV", followed as written: its dataset spec and its seed file,
on a subscriptions table that is not the churn sample's layout (other column names, other label
spelling, an id, an ignored column), through the training and batch inference pipelines."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import pandas as pd
import pytest

from runtime_scripts.common.tabular.dataset import DatasetSpec

ROOT = Path(__file__).resolve().parents[2]
SECTION = re.search(r"^## Train on your own CSV\n(.*?)^## ", (ROOT / "README.md").read_text(),
                    re.DOTALL | re.MULTILINE).group(1)
# The subscriptions table of the README, made from the churn sample by renaming its columns.
COLUMNS = {"customer_id": "account_id", "state": "region", "account_length": "tenure_days",
           "international_plan": "international", "voice_mail_plan": "voicemail",
           "number_vmail_messages": "voicemail_messages", "total_day_minutes": "day_minutes",
           "total_eve_minutes": "evening_minutes", "total_intl_minutes": "intl_minutes",
           "total_intl_calls": "intl_calls", "number_customer_service_calls": "support_calls"}
NEW_ACCOUNTS = 200


def example(name: str) -> dict:
    match = re.search(rf"<!-- example: {name} -->\s*```json\n(.*?)```", SECTION, re.DOTALL)
    assert match, f"the README section has no {name} example"
    return json.loads(match.group(1))


def subscriptions() -> pd.DataFrame:
    churn = pd.read_csv(ROOT / "runtime_scripts/use_cases/churn/sample_data/mlc_churn.csv",
                        dtype=str, keep_default_na=False)
    table = churn[list(COLUMNS)].rename(columns=COLUMNS)
    table["signup_channel"] = ["web", "shop", "phone"] * (len(table) // 3) + \
        ["web"] * (len(table) % 3)
    table["cancelled"] = churn["churn"].map({"yes": "Y", "no": "N"})
    return table


def test_the_readme_spec_is_a_valid_spec_for_the_readme_table():
    spec = DatasetSpec.from_dict(example("dataset-spec"), "README dataset-spec example")
    header = SECTION.split("```text\n", 1)[1].splitlines()[0].split(",")
    assert header == list(subscriptions().columns)
    assert set(spec.feature_names) | {spec.target, *spec.id_columns, "signup_channel"} == \
        set(header)
    first_row = SECTION.split("```text\n", 1)[1].splitlines()[1]
    assert first_row == ",".join(subscriptions().iloc[0])


@pytest.fixture(scope="module")
def seed(tmp_path_factory) -> Path:
    """The README's seed file, its three `/path/to/` files written for real."""
    folder = tmp_path_factory.mktemp("own-csv")
    table = subscriptions()
    table.iloc[:-NEW_ACCOUNTS].to_csv(folder / "subscriptions.csv", index=False)
    table.iloc[-NEW_ACCOUNTS:].drop(columns=["cancelled"]).to_csv(folder / "new_accounts.csv",
                                                                  index=False)
    (folder / "subscriptions.json").write_text(json.dumps(example("dataset-spec")))
    document = example("local-seed")
    for upload in document["uploads"]:
        assert upload["file"].startswith("/path/to/")
        upload["file"] = str(folder / upload["file"].removeprefix("/path/to/"))
    path = folder / "my_run.json"
    path.write_text(json.dumps(document))
    return path


def test_training_and_batch_inference_on_your_own_csv(platform, seed):
    platform.seed(seed)
    inputs = platform.seed_inputs(seed)
    trained = platform.run("churn:training", inputs["training"], name="own-csv")
    assert trained.status == "SUCCEEDED", trained.cause
    assert "Register model package" in trained.path, trained.output.get("outcome")
    document = trained.output["evaluation"]["document"]
    assert (document["model"]["target"], document["model"]["positive_label"],
            document["model"]["negative_label"]) == ("cancelled", "Y", "N")
    assert document["metrics"]["auc"] > 0.85
    assert document["quality_gate"]["passed"] is True

    scored = platform.run("churn:batch-inference", inputs["batch-inference"], name="own-csv-batch")
    assert scored.status == "SUCCEEDED", scored.cause
    bucket, _, prefix = scored.output["run"]["s3"]["output"][5:].partition("/")
    body = platform.clients.s3.get_object(Bucket=bucket, Key=f"{prefix}new_accounts.csv.out")
    header, *rows = list(csv.reader(io.StringIO(body["Body"].read().decode())))
    assert header == ["account_id", "probability", "label"]
    assert [r[0] for r in rows] == list(subscriptions()["account_id"].iloc[-NEW_ACCOUNTS:])
    assert {r[2] for r in rows} == {"Y", "N"}
