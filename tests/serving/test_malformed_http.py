"""The malformed-request battery: raw bytes a client (or an attacker) may send, each answered once
with the right 4xx (never a 5xx, never a reset instead of an answer), and the server healthy
afterwards. Body-level cases go through the codecs and the cell policy; HTTP-level ones through
`serving/protocol.py` on uvicorn."""

from __future__ import annotations

import json
import re

import pytest

from runtime_scripts.common.serving.config import MAX_HEADER_BYTES, MAX_URL_BYTES

ROW = b"KS,128,area_code_415,no,yes,25,265.1,110,45.07,197.4,99,16.78,244.7,91,11.01,10.0,3,2.7,1"


def post(body: bytes, content_type: bytes = b"text/csv", extra: bytes = b"") -> bytes:
    return (b"POST /invocations HTTP/1.1\r\nHost: x\r\nContent-Type: %s\r\nContent-Length: %d\r\n"
            b"%sConnection: close\r\n\r\n%s" % (content_type, len(body), extra, body))


def cell(value: bytes, column: int = 1) -> bytes:
    fields = ROW.split(b",")
    fields[column] = value
    return b",".join(fields)


# (id, raw request, expected status, words the error must contain or None)
CASES = [
    # request line
    ("garbage", b"GARBAGE\r\n\r\n", 400, "malformed HTTP request"),
    ("http-0.9", b"GET /ping\r\n\r\n", 200, None),  # no version: llhttp reads HTTP/0.9
    ("bad-version", b"GET /ping HTTP/9.9\r\nHost: x\r\n\r\n", 400, "malformed"),
    ("space-in-url", b"GET /pi ng HTTP/1.1\r\nHost: x\r\n\r\n", 400, "malformed"),
    ("nul-in-url", b"GET /pi\x00ng HTTP/1.1\r\nHost: x\r\n\r\n", 400, "malformed"),
    ("long-url", b"GET /" + b"a" * (4 * MAX_URL_BYTES) + b" HTTP/1.1\r\nHost: x\r\n\r\n", 414,
     "request line over 8 KB"),
    ("32mb-url", b"GET /" + b"a" * (32 * 1024 * 1024) + b" HTTP/1.1\r\nHost: x\r\n\r\n", 414,
     "request line over"),
    ("unknown-method", b"BREW /ping HTTP/1.1\r\nHost: x\r\n\r\n", 400, "malformed"),
    # headers
    ("header-no-colon", b"GET /ping HTTP/1.1\r\nHost x\r\n\r\n", 400, "malformed"),
    ("space-before-colon", b"GET /ping HTTP/1.1\r\nHost : x\r\n\r\n", 400, "malformed"),
    ("bad-header-name", b"GET /ping HTTP/1.1\r\nHo(st: x\r\n\r\n", 400, "malformed"),
    ("16mb-header", b"GET /ping HTTP/1.1\r\nX-Big: " + b"b" * (16 * 1024 * 1024) + b"\r\n\r\n",
     431, "request headers over 64 KB"),
    ("many-headers", b"GET /ping HTTP/1.1\r\n" + b"X-H: v\r\n" * (MAX_HEADER_BYTES // 4) + b"\r\n",
     431, "request headers over"),
    ("two-content-lengths", b"POST /invocations HTTP/1.1\r\nContent-Length: 3\r\n"
     b"Content-Length: 4\r\n\r\nabcd", 400, "malformed"),
    ("cl-and-chunked", b"POST /invocations HTTP/1.1\r\nContent-Length: 3\r\n"
     b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400, "malformed"),
    ("negative-length", b"POST /invocations HTTP/1.1\r\nContent-Length: -1\r\n\r\n", 400,
     "malformed"),
    ("huge-length", b"POST /invocations HTTP/1.1\r\nContent-Length: 99999999999\r\n\r\n", 413,
     "over the 6 MB limit"),
    ("bad-chunk-size", b"POST /invocations HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
     b"zz\r\nabc\r\n0\r\n\r\n", 400, "malformed"),
    ("expect-over-limit", b"POST /invocations HTTP/1.1\r\nContent-Length: 99999999\r\n"
     b"Expect: 100-continue\r\n\r\n", 413, "over the 6 MB limit"),
    # parse error, then a large body the server will not read: answered, not reset
    ("bad-header-large-body", b"POST /invocations HTTP/1.1\r\nContent-Length: 4000000\r\n"
     b"Bad Header\r\n\r\n" + b"1," * 2_000_000, 400, "malformed"),
    ("bad-chunk-large-body", b"POST /invocations HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
     b"10\r\n" + b"x" * 3_000_000, 400, "malformed"),
    # upgrades: one answer, plain HTTP/1.1
    ("h2c-post", post(ROW, extra=b"Upgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n"
                      b"Connection: Upgrade, HTTP2-Settings\r\n"), 200, None),
    ("websocket-get", b"GET /ping HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
     b"Connection: Upgrade\r\n\r\n", 200, None),
    ("h2-preface", b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 400, None),
    # bodies: the codecs and the cell policy
    ("csv-field-over-limit", post(b'"' + b"a" * 200_000 + b'",1'), 400,
     "row 1 is not valid CSV: field larger than field limit"),
    ("csv-field-over-limit-row-3", post(ROW + b"\n" + ROW + b'\n"' + b"a" * 200_000 + b'"'), 400,
     "row 3 is not valid CSV"),
    ("csv-lone-cr-in-quotes", post(cell(b'"12\r8"')), 400, "row 1: column 'account_length'"),
    ("csv-lone-cr-unquoted", post(cell(b"12\r8")), 400, "row 1: column 'account_length'"),
    ("csv-unclosed-quote", post(cell(b'"128')), 400, None),
    ("csv-inf", post(cell(b"inf")), 400, "must be a finite number"),
    ("csv-1e400", post(cell(b"1e400")), 400, "must be a finite number"),
    ("csv-underscore", post(cell(b"1_000")), 400, "column 'account_length' must be a number"),
    ("csv-nul-numeric", post(cell(b"12\x008")), 400, "must not contain NUL bytes"),
    ("csv-nul-categorical", post(cell(b"K\x00S", 0)), 400, "column 'state' must not contain NUL"),
    ("csv-nan-is-missing", post(cell(b"NaN")), 200, None),
    ("csv-blank-is-missing", post(cell(b" ")), 200, None),
    ("nul-body", post(b"\x00" * 100), 400, None),
    ("not-utf8", post(b"\xff\xfe" + ROW), 400, "not UTF-8"),
    ("json-deep", post(b"[" * 5000 + b"]" * 5000, b"application/json"), 400, None),
    ("json-nan-literal", post(b"[NaN]", b"application/json"), 400, "not valid JSON"),
    ("json-1e400", post(b'{"instances": [["KS", 1e400]]}', b"application/json"), 400, None),
    ("json-object-in-cell", post(b'[["KS", {"a": 1}]]', b"application/json"), 400,
     "values must be numbers, strings or null"),
    ("jsonl-empty-lines", post(b"\n\n\n", b"application/jsonlines"), 400, "empty request body"),
    # echoes are bounded
    ("1mb-bad-token", post(cell(b"x" * 1_000_000)), 400, "(1000000 characters)"),
    ("1mb-content-type", post(ROW, b"a/" + b"b" * 60_000), 415, "characters)"),
]


@pytest.mark.parametrize(("data", "status", "words"), [c[1:] for c in CASES],
                         ids=[c[0] for c in CASES])
def test_malformed_request(server, data, status, words):
    answer = server.raw(data, read_timeout=20)
    assert answer, "no answer at all (a reset or a silent close)"
    codes = [int(code) for code in re.findall(rb"(?:^|\r\n\r\n|\n)HTTP/1\.1 (\d{3}) ", answer)]
    assert codes == [status], answer[:300]
    body = answer.partition(b"\r\n\r\n")[2]
    assert len(answer) < 4096, f"an answer of {len(answer)} bytes echoes too much"
    if words is not None:
        assert words in json.loads(body)["error"]


def test_healthy_after_the_battery(server):
    for _, data, *_ in CASES:
        server.raw(data, read_timeout=20)
    assert server.request("GET", "/ping").status == 200
    reply = server.request("POST", "/invocations", ROW, {"Content-Type": "text/csv"})
    assert reply.status == 200
    assert "Traceback" not in server.log and "unhandled error" not in server.log
