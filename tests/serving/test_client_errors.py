"""Malformed requests get the right 4xx with a message that names the problem, and the server
keeps serving afterwards."""

from __future__ import annotations

import json

import pytest

CSV = {"Content-Type": "text/csv"}
JSON = {"Content-Type": "application/json"}
JSONL = {"Content-Type": "application/jsonlines"}
ROW = "KS,128,area_code_415,no,yes,25,265.1,110,45.07,197.4,99,16.78,244.7,91,11.01,10.0,3,2.7,1"
OBJECT = dict(zip(["state", "account_length"], ["KS", 128], strict=True))

# (id, method, path, headers, body, status, words the message must contain)
CASES = [
    ("unknown-path", "GET", "/predict", {}, None, 404, "no route '/predict'"),
    ("near-miss-path", "POST", "/invocation", CSV, ROW, 404, "/invocation"),
    ("get-invocations", "GET", "/invocations", {}, None, 405, "use POST"),
    ("put-invocations", "PUT", "/invocations", CSV, ROW, 405, "use POST"),
    ("post-ping", "POST", "/ping", CSV, ROW, 405, "use GET"),
    ("delete-exec-params", "DELETE", "/execution-parameters", {}, None, 405, "use GET"),
    ("empty-body", "POST", "/invocations", CSV, "", 400, "empty request body"),
    ("blank-body", "POST", "/invocations", CSV, " \n\n", 400, "empty request body"),
    ("too-few-columns", "POST", "/invocations", CSV, "KS,128", 400, "has 2 columns, expected 19"),
    ("too-many-columns", "POST", "/invocations", CSV, ROW + ",1", 400, "20 columns, expected 19"),
    ("bad-second-row", "POST", "/invocations", CSV, f"{ROW}\nKS,1", 400, "row 2 has 2 columns"),
    ("non-numeric", "POST", "/invocations", CSV, ROW.replace(",128,", ",abc,"), 400,
     "'account_length' must be a number, got 'abc'"),
    # An endpoint reads no header (batch transform does: test_layout.py).
    ("header-row", "POST", "/invocations", CSV, "state,account_length,area_code,"
     "international_plan,voice_mail_plan,number_vmail_messages,total_day_minutes,"
     "total_day_calls,total_day_charge,total_eve_minutes,total_eve_calls,total_eve_charge,"
     "total_night_minutes,total_night_calls,total_night_charge,total_intl_minutes,"
     "total_intl_calls,total_intl_charge,number_customer_service_calls\n" + ROW, 400,
     "must not have a header row"),
    ("unknown-header", "POST", "/invocations", CSV, "state,account_len,area_code,"
     "international_plan,voice_mail_plan,number_vmail_messages,total_day_minutes,"
     "total_day_calls,total_day_charge,total_eve_minutes,total_eve_calls,total_eve_charge,"
     "total_night_minutes,total_night_calls,total_night_charge,total_intl_minutes,"
     "total_intl_calls,total_intl_charge,number_customer_service_calls\n" + ROW, 400,
     "looks like a header but names neither layout"),
    ("not-utf8", "POST", "/invocations", CSV, b"\xff\xfe,1", 400, "not UTF-8"),
    ("invalid-json", "POST", "/invocations", JSON, "{instances: [", 400, "not valid JSON"),
    ("json-scalar", "POST", "/invocations", JSON, "[3, [1]]", 400, "values must be numbers"),
    ("json-instance-type", "POST", "/invocations", JSON, '{"instances": [1, 2]}', 400,
     "must be a list of values or an object"),
    ("json-unknown-key", "POST", "/invocations", JSON, json.dumps([OBJECT | {"stat": "KS"}]), 400,
     "unknown keys ['stat']"),
    ("json-bool", "POST", "/invocations", JSON, json.dumps([OBJECT | {"account_length": True}]),
     400, "'account_length' has value True"),
    ("json-empty-list", "POST", "/invocations", JSON, "[]", 400, "no instances"),
    ("json-wrong-count", "POST", "/invocations", JSON, '{"instances": [["KS", 1]]}', 400,
     "row 1 has 2 columns"),
    ("jsonl-bad-line", "POST", "/invocations", JSONL, '["KS"]\n{oops', 400, "line 2 is not valid"),
    ("unsupported-content-type", "POST", "/invocations", {"Content-Type": "application/xml"},
     "<row/>", 415, "unsupported Content-Type 'application/xml'"),
    ("text-plain", "POST", "/invocations", {"Content-Type": "text/plain"}, ROW, 415, "text/plain"),
    ("npy", "POST", "/invocations", {"Content-Type": "application/x-npy"}, b"\x93NUMPY", 415,
     "application/x-npy"),
    ("unsupported-accept", "POST", "/invocations", CSV | {"Accept": "application/xml"}, ROW,
     406, "unsupported Accept 'application/xml'"),
    ("accept-html", "POST", "/invocations", CSV | {"Accept": "text/html"}, ROW, 406,
     "accept one of text/csv"),
    ("accept-q0", "POST", "/invocations", CSV | {"Accept": "text/csv;q=0"}, ROW, 406, "q=0"),
]


@pytest.mark.parametrize(
    ("method", "path", "headers", "body", "status", "words"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_client_error(server, method, path, headers, body, status, words):
    reply = server.request(method, path, body, headers)
    assert reply.status == status, reply.body
    assert words in json.loads(reply.body)["error"]
    if status == 405:
        assert reply.headers["Allow"] in ("POST", "GET, HEAD")


def test_payload_over_limit_with_content_length(server):
    body = b"1," * (3 * 1024 * 1024) + b"1"  # 6 MB + 1 byte: over the default 6 MB
    reply = server.request("POST", "/invocations", body, CSV)
    assert reply.status == 413
    assert "over the 6 MB limit" in json.loads(reply.body)["error"]


def test_payload_over_limit_chunked(server):
    chunk = b"1," * 65536
    chunks = b"".join(b"%x\r\n%s\r\n" % (len(chunk), chunk) for _ in range(50))  # 6.25 MB
    head = b"POST /invocations HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
    answer = server.raw(head + chunks + b"0\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 413 Request Entity Too Large")


@pytest.mark.parametrize(
    "data",
    [b"GARBAGE\r\n\r\n", b"POST /invocations HTTP/1.1\r\nContent-Length: x\r\n\r\n",
     b"POST /invocations HTTP/9.9\r\nHost: x\r\n\r\n"],
    ids=["garbage", "bad-content-length", "bad-version"],
)
def test_malformed_http(server, data):
    answer = server.raw(data)
    assert answer.startswith(b"HTTP/1.1 400 Bad Request")
    assert b"malformed HTTP request" in answer


def test_still_serving_after_errors(server):
    # Runs after the error cases above (file order): same workers, still healthy.
    for _, method, path, headers, body, *_ in CASES:
        server.request(method, path, body, headers)
    assert server.request("GET", "/ping").status == 200
    reply = server.request("POST", "/invocations", ROW, CSV)
    assert reply.status == 200 and reply.text.endswith(("yes\n", "no\n"))
    assert "Traceback" not in server.log and " 500 " not in server.log
