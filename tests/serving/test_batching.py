"""Requests answered together (one transform + predict for all of them) get exactly the answers
they would get alone, including when some of them are bad."""

from __future__ import annotations

import socket

import pytest

from runtime_scripts.common.serving.app import InferenceApp, Request, Scorer
from runtime_scripts.common.serving.config import ServerConfig

CSV = "text/csv"


@pytest.fixture(scope="module")
def app(artifacts) -> InferenceApp:
    return InferenceApp(ServerConfig.resolve([], {}), Scorer(artifacts))


def requests_for(holdout) -> list[Request]:
    lines = [",".join(row) for row in holdout.to_numpy().tolist()]
    bad = lines[3].replace(",", ",x,", 1)
    return [
        Request("POST", b"/invocations", CSV, None, lines[0].encode()),
        Request("POST", b"/invocations", CSV, "application/json", "\n".join(lines[1:4]).encode()),
        Request("POST", b"/invocations", CSV, None, bad.encode()),  # wrong column count
        Request("GET", b"/ping", None, None, b""),
        Request("POST", b"/invocations", "application/xml", None, b"<x/>"),
        Request("POST", b"/invocations", CSV, None, "\n".join(lines[4:40]).encode()),
        Request("POST", b"/invocations", CSV, None, lines[0].replace(",", ",,", 1).encode()),
    ]


def test_batch_answers_equal_single_answers(app, holdout):
    requests = requests_for(holdout)
    alone = [app.handle_batch([r])[0] for r in requests]
    assert [r.status for r in alone] == [200, 200, 400, 200, 415, 200, 400]
    assert app.handle_batch(requests) == alone  # with bad requests in the batch
    good = [r for r, answer in zip(requests, alone, strict=True) if answer.status == 200]
    assert app.handle_batch(good) == [a for a in alone if a.status == 200]  # one predict call


def test_concurrent_connections_get_their_own_answers(server, holdout):
    lines = [",".join(row) for row in holdout.to_numpy().tolist()]
    bodies = [lines[i].encode() for i in range(24)]
    bodies[7] = b"not,a,row"
    alone = [server.request("POST", "/invocations", b, {"Content-Type": CSV}) for b in bodies]
    # All requests sent before any answer is read, so workers see several at once.
    socks = [socket.create_connection(("127.0.0.1", server.port), timeout=10) for _ in bodies]
    for sock, body in zip(socks, bodies, strict=True):
        head = b"POST /invocations HTTP/1.1\r\nHost: x\r\nContent-Type: text/csv\r\n"
        sock.sendall(head + b"Connection: close\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
    answers = []
    for sock in socks:
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
        sock.close()
        answers.append(b"".join(chunks).split(b"\r\n\r\n", 1)[1])
    assert answers == [reply.body for reply in alone]
    assert b"row 1 has 3 columns" in answers[7]
