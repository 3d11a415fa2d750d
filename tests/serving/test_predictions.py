"""Predictions over real HTTP equal in-process predictions, in every accepted format."""

from __future__ import annotations

import csv
import io
import json

import numpy as np
import pandas as pd
import pytest

CSV, JSON, JSONL = "text/csv", "application/json", "application/jsonlines"


def csv_body(frame: pd.DataFrame, newline: str = "\n") -> str:
    return newline.join(",".join(row) for row in frame.to_numpy().tolist()) + newline


def parse(content_type: str, body: bytes) -> tuple[np.ndarray, list[str]]:
    if content_type == CSV:
        rows = [line.split(",") for line in body.decode().splitlines()]
        return np.array([float(p) for p, _ in rows], dtype=np.float32), [label for _, label in rows]
    if content_type == JSON:
        items = json.loads(body)["predictions"]
    else:
        items = [json.loads(line) for line in body.decode().splitlines()]
    probabilities = np.array([item["probability"] for item in items], dtype=np.float32)
    return probabilities, [item["label"] for item in items]


def assert_same(reply, content_type: str, frame: pd.DataFrame, expected) -> None:
    assert reply.status == 200, reply.body
    assert reply.headers["Content-Type"] == content_type
    got_p, got_labels = parse(content_type, reply.body)
    want_p, want_labels = expected(frame)
    # Probabilities travel as the shortest decimal of the float32 value: exactly equal.
    np.testing.assert_array_equal(got_p, want_p)
    assert got_labels == want_labels


def test_csv_single_row(server, holdout, expected):
    frame = holdout.iloc[:1]
    reply = server.request("POST", "/invocations", csv_body(frame), {"Content-Type": CSV})
    assert_same(reply, CSV, frame, expected)


def test_csv_multi_record_batch(server, holdout, expected):
    # Batch transform with SplitType=Line and BatchStrategy=MultiRecord: many lines per request,
    # one output line per input line, in order.
    reply = server.request("POST", "/invocations", csv_body(holdout), {"Content-Type": CSV})
    assert_same(reply, CSV, holdout, expected)
    assert reply.body.count(b"\n") == len(holdout)
    assert {"yes", "no"} <= set(parse(CSV, reply.body)[1])


def test_csv_crlf_quotes_and_no_content_type(server, holdout, expected):
    frame = holdout.iloc[:20]
    out = io.StringIO()
    csv.writer(out, quoting=csv.QUOTE_ALL, lineterminator="\r\n").writerows(frame.to_numpy())
    assert_same(server.request("POST", "/invocations", out.getvalue()), CSV, frame, expected)


def test_missing_and_unseen_values(server, holdout, expected):
    frame = holdout.iloc[:6].copy()
    frame.iloc[0, frame.columns.get_loc("total_day_minutes")] = ""
    frame.iloc[1, frame.columns.get_loc("state")] = ""
    frame.iloc[2, frame.columns.get_loc("state")] = "ZZ"  # never seen in training
    frame.iloc[3, 1:8] = ""
    reply = server.request("POST", "/invocations", csv_body(frame), {"Content-Type": CSV})
    assert_same(reply, CSV, frame, expected)


def _typed(frame: pd.DataFrame, spec) -> list[list]:
    """Rows as a JSON client would send them: numbers as numbers, categories as strings."""
    numeric = set(spec.numeric_features)
    return [
        [float(v) if c in numeric else v for c, v in zip(frame.columns, row, strict=True)]
        for row in frame.to_numpy().tolist()
    ]


@pytest.mark.parametrize("shape", ["instances", "list", "objects", "features", "single"])
def test_json_shapes(server, holdout, expected, sample_model, shape):
    frame = holdout.iloc[:1] if shape == "single" else holdout.iloc[:50]
    rows = _typed(frame, sample_model.spec)
    objects = [dict(zip(frame.columns, row, strict=True)) for row in rows]
    payload = {
        "instances": {"instances": rows},
        "list": rows,
        "objects": objects,
        "features": {"instances": [{"features": row} for row in rows]},
        "single": objects[0],
    }[shape]
    reply = server.request("POST", "/invocations", json.dumps(payload), {"Content-Type": JSON})
    assert_same(reply, JSON, frame, expected)


def test_jsonlines_rows_and_objects(server, holdout, expected, sample_model):
    frame = holdout.iloc[:30]
    rows = _typed(frame, sample_model.spec)
    lines = [json.dumps(r) for r in rows[:15]]
    lines += [json.dumps(dict(zip(frame.columns, r, strict=True))) for r in rows[15:]]
    reply = server.request("POST", "/invocations", "\n".join(lines) + "\n", {"Content-Type": JSONL})
    assert_same(reply, JSONL, frame, expected)


@pytest.mark.parametrize(
    ("content_type", "accept", "answer"),
    [
        (CSV, None, CSV),
        (CSV, "*/*", CSV),
        (CSV, JSON, JSON),
        (CSV, JSONL, JSONL),
        (CSV, "text/*", CSV),
        (JSON, CSV, CSV),
        (JSON, "*/*", JSON),
        (JSONL, None, JSONL),
        (CSV, "application/xml, application/json;q=0.5, text/csv;q=0.4", JSON),
        (f"{CSV}; charset=utf-8", f"{JSON}; charset=utf-8", JSON),
    ],
)
def test_accept_negotiation(server, holdout, expected, sample_model, content_type, accept, answer):
    frame = holdout.iloc[:5]
    if content_type.startswith(CSV):
        body = csv_body(frame)
    elif content_type == JSON:
        body = json.dumps({"instances": _typed(frame, sample_model.spec)})
    else:
        body = "\n".join(json.dumps(r) for r in _typed(frame, sample_model.spec))
    headers = {"Content-Type": content_type} | ({"Accept": accept} if accept else {})
    assert_same(server.request("POST", "/invocations", body, headers), answer, frame, expected)


def test_keep_alive_pipelining(server, holdout, expected):
    frame = holdout.iloc[:2]
    one, two = (csv_body(frame.iloc[[i]]).encode() for i in range(2))
    request = b"POST /invocations HTTP/1.1\r\nHost: x\r\nContent-Type: text/csv\r\n"
    data = b"%sContent-Length: %d\r\n\r\n%s" % (request, len(one), one)
    data += b"%sContent-Length: %d\r\nConnection: close\r\n\r\n%s" % (request, len(two), two)
    answer = server.raw(data)
    assert answer.count(b"HTTP/1.1 200 OK") == 2
    bodies = [part.split(b"\r\n\r\n", 1)[1] for part in answer.split(b"HTTP/1.1 ")[1:]]
    probabilities, _ = expected(frame)
    assert [np.float32(b.split(b",")[0]) for b in bodies] == list(probabilities)


def test_expect_continue_and_head(server, holdout):
    body = csv_body(holdout.iloc[:1]).encode()
    head = b"POST /invocations HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n" % len(body)
    answer = server.raw(head + b"Expect: 100-continue\r\nConnection: close\r\n\r\n" + body)
    assert answer.startswith(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK")
    reply = server.request("HEAD", "/ping")
    assert reply.status == 200 and reply.body == b""
