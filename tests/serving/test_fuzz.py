"""Deterministic, bounded fuzzing over loopback: thousands of mutated requests (fixed seed), each
on its own connection, 16 at a time; not one may be answered 5xx, and /ping is healthy after.

The seeds are valid requests of every body type; the mutations are those that found the 500s
and resets the server once gave (quotes, lone CRs, long fields, NUL bytes, odd numbers, broken
framing) plus blind byte flips, insertions, deletions and truncations.
"""

from __future__ import annotations

import asyncio
import json
import random
import re

import pytest

SEED = 20261201
REQUESTS = 3000
CONCURRENCY = 16
ROW = b"KS,128,area_code_415,no,yes,25,265.1,110,45.07,197.4,99,16.78,244.7,91,11.01,10.0,3,2.7,1"
NASTY = [b'"', b'"\r"', b"\r", b"\n", b"\x00", b"inf", b"1e400", b"NaN", b"1_000", b",", b'""',
         b"\xff", b"\xc3", b"-", b"1e-400", b"\t", b" ", b"\\", b"[", b"{", b"null", b"true",
         b'"' + b"q" * 140_000 + b'"', b"9" * 400]
STATUS = re.compile(rb"HTTP/1\.[01] (\d{3})")


def seeds() -> list[tuple[bytes, bytes]]:
    rows = [ROW, ROW.replace(b"KS", b"OH"), ROW.replace(b",25,", b",,")]
    names = ["state", "account_length"]
    return [
        (b"text/csv", ROW),
        (b"text/csv", b"\n".join(rows)),
        (b"text/csv", b"\n".join(b'"' + r.replace(b",", b'","') + b'"' for r in rows)),
        (b"application/json", json.dumps({"instances": [r.decode().split(",") for r in rows]})
         .encode()),
        (b"application/json", json.dumps([dict(zip(names, ["KS", 128], strict=True))]).encode()),
        (b"application/jsonlines", b"\n".join(json.dumps(r.decode().split(",")).encode()
                                              for r in rows)),
    ]


def request(content_type: bytes, body: bytes, length: int | None = None,
            chunked: bool = False) -> bytearray:
    head = b"POST /invocations HTTP/1.1\r\nHost: x\r\nContent-Type: %s\r\n" % content_type
    if chunked:
        body = b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body)
        head += b"Transfer-Encoding: chunked\r\n"
    else:
        head += b"Content-Length: %d\r\n" % (len(body) if length is None else length)
    return bytearray(head + b"Connection: close\r\n\r\n" + body)


def mutate(rng: random.Random, content_type: bytes, body: bytes) -> bytes:
    body = bytearray(body)
    for _ in range(rng.randint(1, 4)):
        where = rng.randrange(len(body) + 1)
        choice = rng.random()
        if choice < 0.45:  # a nasty token into the body (the cell and CSV paths)
            body[where:where + rng.randint(0, 6)] = rng.choice(NASTY)
        elif choice < 0.6:
            body[where:where] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 8)))
        elif choice < 0.7:
            del body[where:where + rng.randint(1, 30)]
        elif choice < 0.8 and body:
            body[rng.randrange(len(body))] ^= 1 << rng.randrange(8)
        else:
            body = body[:where]
    framing = rng.random()
    if framing < 0.1:
        data = request(content_type, bytes(body), chunked=True)
    elif framing < 0.15:  # a wrong Content-Length
        data = request(content_type, bytes(body), length=max(0, len(body) + rng.randint(-5, 5)))
    else:
        data = request(content_type, bytes(body))
    if rng.random() < 0.1:  # damage the head as well
        where = rng.randrange(len(data) - len(body))
        data[where] ^= 1 << rng.randrange(8)
    return bytes(data)


async def send_all(port: int, payloads: list[bytes]) -> list[bytes]:
    answers: list[bytes] = [b""] * len(payloads)
    queue = list(enumerate(payloads))

    async def client() -> None:
        while queue:
            i, data = queue.pop()
            try:
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
                writer.write(data)
                await writer.drain()
                writer.write_eof()
                answers[i] = await asyncio.wait_for(reader.read(), timeout=10)
                writer.close()
            except (ConnectionError, TimeoutError):
                answers[i] = b"<reset>"

    await asyncio.gather(*(client() for _ in range(CONCURRENCY)))
    return answers


def test_fuzzed_requests_get_no_5xx(server):
    rng = random.Random(SEED)
    base = seeds()
    payloads = [mutate(rng, *rng.choice(base)) for _ in range(REQUESTS)]
    answers = asyncio.run(send_all(server.port, payloads))
    codes = [int(c) for answer in answers for c in STATUS.findall(answer[:64])]
    server_errors = [(payloads[i][:120], a[:200]) for i, a in enumerate(answers)
                     if STATUS.match(a) and a[9:10] == b"5"]
    assert not server_errors, f"{len(server_errors)} answers of 5xx, e.g. {server_errors[:3]}"
    assert len(codes) > REQUESTS * 0.9, "most fuzzed requests must be answered at all"
    assert {200, 400} <= set(codes)  # the mutations reach both the happy and the error paths
    assert server.request("GET", "/ping").status == 200
    assert "Traceback" not in server.log and "unhandled error" not in server.log


@pytest.mark.parametrize(("body", "words"), [
    (b'"' + b"f" * 140_000 + b'",1', b"row 1 is not valid CSV: field larger than field limit"),
    (b'"KS",1\r28' + ROW[6:], b"row 1 has 2 columns"),  # a lone CR ends a row, as in RFC 4180
])
def test_the_csv_errors_fuzzing_found(server, body, words):
    # Both raised csv.Error, answered 500, before the fix.
    reply = server.request("POST", "/invocations", body, {"Content-Type": "text/csv"})
    assert reply.status == 400 and words in reply.body
