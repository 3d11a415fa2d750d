"""The balanced acceptor (`serving/accept.py`) through the event loop uvicorn is given: one
connection per turn, so that other workers get theirs, and on close the connections already
queued are taken before the socket closes."""

from __future__ import annotations

import asyncio
import socket

import pytest

from runtime_scripts.common.serving import accept


class Recorder(asyncio.Protocol):
    def __init__(self, made: list[Recorder]) -> None:
        self.made = made
        self.shut_down = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.made.append(self)

    def shutdown(self) -> None:  # what uvicorn calls on its connections at shutdown
        self.shut_down = True


def serve(pause_s: float, scenario) -> None:
    loop = accept.new_event_loop()
    listener = socket.create_server(("127.0.0.1", 0))
    made: list[Recorder] = []

    async def main() -> None:
        server = await loop.create_server(lambda: Recorder(made), sock=listener, backlog=16)
        await scenario(server, listener.getsockname(), made)

    try:
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(accept, "ACCEPT_PAUSE_S", pause_s)
            loop.run_until_complete(main())
    finally:
        loop.close()
        listener.close()


def test_one_connection_per_turn():
    async def scenario(server, address, made) -> None:
        clients = [socket.create_connection(address) for _ in range(3)]
        await asyncio.sleep(0.3)  # accepted at about 0, 0.6 and 1.2 s
        assert len(made) == 1  # then it stands back for another worker
        await asyncio.sleep(0.6)
        assert len(made) == 2
        await asyncio.sleep(0.6)
        assert len(made) == 3
        server.close()
        await server.wait_closed()
        for client in clients:
            client.close()

    serve(0.6, scenario)


def test_close_takes_what_is_queued_then_refuses():
    async def scenario(server, address, made) -> None:
        clients = [socket.create_connection(address) for _ in range(4)]
        await asyncio.sleep(0.1)
        assert len(made) == 1
        server.close()  # graceful shutdown, long before the next turn
        await server.wait_closed()
        assert len(made) == 4
        assert [p.shut_down for p in made] == [False, True, True, True]
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(address, timeout=2)
        for client in clients:
            client.close()

    serve(30.0, scenario)
