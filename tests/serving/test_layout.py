"""Rows in the training data's own layout: a header row, the id columns, no label. Scored as they
are in a batch transform job, answered with the ids and the labels as the data spells them."""

from __future__ import annotations

import csv
import dataclasses
import io

import orjson
import pytest

from runtime_scripts.common.serving.app import InferenceApp, Scorer
from runtime_scripts.common.serving.config import ServerConfig
from runtime_scripts.common.serving.model import ModelArtifacts

CSV = "text/csv"


def app_for(artifacts: ModelArtifacts, *, batch: bool) -> InferenceApp:
    env = {"SAGEMAKER_BATCH": "true"} if batch else {}
    return InferenceApp(ServerConfig.resolve([], env), Scorer(artifacts))


@pytest.fixture(scope="module")
def records(sample_model) -> tuple[list[str], list[list[str]]]:
    """Held-out rows as the training file has them, without the target: (header, rows)."""
    columns = [c for c in sample_model.holdout.columns if c != sample_model.spec.target]
    return columns, sample_model.holdout[columns].to_numpy().tolist()[:25]


def post(app: InferenceApp, body: str, accept: str | None = None):
    return app.handle("POST", b"/invocations", CSV, accept, body.encode())


def lines(header: list[str], rows: list[list[str]]) -> str:
    return "".join(",".join(r) + "\n" for r in ([header] if header else []) + rows)


def test_a_batch_in_the_training_layout_is_scored_and_answered_with_its_ids(artifacts, records):
    header, rows = records
    assert header[0] == "customer_id" and "churn" not in header
    app = app_for(artifacts, batch=True)
    first = post(app, lines(header, rows[:10]))  # an object's first mini-batch: with its header
    later = post(app, lines([], rows[10:]))  # the mini-batches after it: no header
    assert first.status == later.status == 200, (first.body, later.body)
    answer = list(csv.reader(io.StringIO((first.body + later.body).decode())))
    assert answer[0] == ["customer_id", "probability", "label"]
    assert [a[0] for a in answer[1:]] == [r[0] for r in rows]
    # The very numbers the features alone get: the ids and the header change nothing.
    features = [r[1:] for r in rows]
    alone = list(csv.reader(io.StringIO(post(app, lines([], features)).body.decode())))
    assert [a[1:] for a in answer[1:]] == alone
    assert {a[2] for a in answer[1:]} <= {"yes", "no"}


def test_one_response_line_per_record_as_join_source_input_needs(artifacts, records):
    header, rows = records
    body = post(app_for(artifacts, batch=True), lines(header, rows)).body
    assert len(body.decode().splitlines()) == len(rows) + 1


def test_json_answers_carry_the_ids_too(artifacts, records):
    header, rows = records
    reply = post(app_for(artifacts, batch=True), lines(header, rows[:3]), "application/json")
    predictions = orjson.loads(reply.body)["predictions"]
    assert [list(p) for p in predictions] == [["customer_id", "probability", "label"]] * 3
    assert [p["customer_id"] for p in predictions] == [r[0] for r in rows[:3]]


def test_labels_come_back_as_the_data_spells_both_classes(artifacts, records):
    header, rows = records
    schema = dataclasses.replace(artifacts.schema, positive_label="churned",
                                 negative_label="stayed, for now")
    app = app_for(dataclasses.replace(artifacts, schema=schema), batch=True)
    answer = list(csv.reader(io.StringIO(post(app, lines(header, rows)).body.decode())))
    assert {a[2] for a in answer[1:]} == {"churned", "stayed, for now"}  # quoted in the CSV


def test_an_endpoint_reads_neither_a_header_nor_the_training_layout(artifacts, records):
    """Its captured requests feed Model Monitor, which reads header-less feature rows."""
    header, rows = records
    endpoint = app_for(artifacts, batch=False)
    with_header = post(endpoint, lines(header, rows[:2]))
    assert with_header.status == 400
    assert b"must not have a header row" in with_header.body
    # A row one column too wide is a client's mistake at an endpoint, not a record.
    without = post(endpoint, lines([], rows[:2]))
    assert without.status == 400
    assert b"20 columns, expected 19" in without.body


def test_a_header_of_the_features_is_answered_with_a_header(artifacts, records):
    header, rows = records
    reply = post(app_for(artifacts, batch=True), lines(header[1:], [r[1:] for r in rows[:2]]))
    assert reply.status == 200
    assert reply.body.decode().splitlines()[0] == "probability,label"
    assert len(reply.body.decode().splitlines()) == 3


def test_errors_count_the_header_as_the_client_does(artifacts, records):
    header, rows = records
    bad = [list(r) for r in rows[:3]]
    bad[1][header.index("account_length")] = "lots"
    reply = post(app_for(artifacts, batch=True), lines(header, bad))
    assert reply.status == 400
    assert b"row 3: column 'account_length' must be a number, got 'lots'" in reply.body


def test_records_of_mixed_widths_are_refused_naming_the_row(artifacts, records):
    header, rows = records
    mixed = [rows[0], rows[1][1:], rows[2]]
    reply = post(app_for(artifacts, batch=True), lines(header, mixed))
    assert reply.status == 400
    assert b"row 3 has 19 columns where the rows before it have 20" in reply.body


def test_ids_that_need_quoting_are_quoted(artifacts, records):
    header, rows = records
    row = ['"A-1, north"', *rows[0][1:]]
    reply = post(app_for(artifacts, batch=True), lines(header, [row]))
    answer = list(csv.reader(io.StringIO(reply.body.decode())))
    assert answer[1][0] == "A-1, north"
