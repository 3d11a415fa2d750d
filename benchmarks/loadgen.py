"""Closed-loop HTTP load: `wrk` when installed, else a small asyncio client.

wrk (C, one thread) costs the 2-core machine far less CPU than any Python client would, so the
servers, not the load generator, are what gets measured. Both report the same `LoadResult`.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

# wrk calls done() once at the end; latency percentiles are in microseconds.
_WRK_SCRIPT = """
wrk.method = "POST"
wrk.headers["Content-Type"] = os.getenv("BENCH_CONTENT_TYPE")
local f = assert(io.open(os.getenv("BENCH_BODY"), "rb"))
wrk.body = f:read("*a")
f:close()
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '\\n{"requests": %d, "duration_us": %d, "p50_us": %d, "p99_us": %d, "max_us": %d, '
    .. '"errors": %d, "non_2xx": %d}\\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    latency.max, e.connect + e.read + e.write + e.timeout, e.status))
end
"""


@dataclass(frozen=True)
class LoadResult:
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    max_ms: float
    errors: int  # connection errors, timeouts and non-2xx answers
    tool: str

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def to_dict(self) -> dict:
        return asdict(self) | {"rps": round(self.rps, 1)}


def machine_busy(interval: float = 0.5) -> float:
    """Fraction of all CPUs busy over `interval` (from /proc/stat; 0.0 where unavailable)."""

    def sample() -> tuple[int, int]:
        fields = [int(x) for x in Path("/proc/stat").read_text().split("\n")[0].split()[1:]]
        return sum(fields), fields[3] + fields[4]  # total, idle + iowait

    try:
        total0, idle0 = sample()
        time.sleep(interval)
        total1, idle1 = sample()
    except OSError:
        return 0.0
    return 1.0 - (idle1 - idle0) / max(1, total1 - total0)


def wait_for_quiet(max_wait: float, threshold: float = 0.2) -> float:
    """Wait (up to `max_wait` s) until other processes leave the CPUs mostly idle.

    On a shared machine a run that overlaps someone's test suite measures them, not us.
    Returns the last busy fraction seen.
    """
    deadline = time.monotonic() + max_wait
    busy = machine_busy()
    while busy > threshold and time.monotonic() < deadline:
        busy = machine_busy()
    return busy


class ForeignCpu:
    """CPU time other processes took while the block ran, in cores (0.5 = half a core).

    Total busy time from /proc/stat minus what this process and its descendants (both servers
    and the load generator) used: a run where others took more than a sliver measured them too.
    """

    def __enter__(self) -> ForeignCpu:
        self.cores = 0.0
        self._start = (time.monotonic(), _busy_seconds(), _own_seconds())
        return self

    def __exit__(self, *exc: object) -> None:
        t0, busy0, own0 = self._start
        elapsed = time.monotonic() - t0
        foreign = (_busy_seconds() - busy0) - (_own_seconds() - own0)
        self.cores = max(0.0, foreign / elapsed) if elapsed > 0 else 0.0


def _busy_seconds() -> float:
    try:
        fields = [int(x) for x in Path("/proc/stat").read_text().split("\n")[0].split()[1:8]]
    except OSError:
        return 0.0
    return (sum(fields) - fields[3] - fields[4]) / os.sysconf("SC_CLK_TCK")


def _own_seconds() -> float:
    """CPU seconds of this process, its reaped children (wrk) and its live descendants."""
    times = os.times()
    total = times.user + times.system + times.children_user + times.children_system
    tick = os.sysconf("SC_CLK_TCK")
    pending = [os.getpid()]
    while pending:
        pid = pending.pop()
        try:
            for task in Path(f"/proc/{pid}/task").iterdir():
                pending += [int(c) for c in (task / "children").read_text().split()]
            if pid != os.getpid():
                stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                total += (int(stat[11]) + int(stat[12])) / tick  # utime, stime
        except (OSError, IndexError, ValueError):
            continue  # exited meanwhile
    return total


def have_wrk() -> bool:
    return shutil.which("wrk") is not None


def run_load(
    url: str, body: bytes, content_type: str, connections: int, seconds: float
) -> LoadResult:
    if have_wrk():
        return _run_wrk(url, body, content_type, connections, seconds)
    return asyncio.run(_run_python(url, body, content_type, connections, seconds))


def _run_wrk(
    url: str, body: bytes, content_type: str, connections: int, seconds: float
) -> LoadResult:
    with tempfile.TemporaryDirectory() as tmp:
        script, body_file = Path(tmp, "post.lua"), Path(tmp, "body")
        script.write_text(_WRK_SCRIPT)
        body_file.write_bytes(body)
        env = os.environ | {"BENCH_BODY": str(body_file), "BENCH_CONTENT_TYPE": content_type}
        # wrk takes whole seconds only.
        command = ["wrk", "-t1", f"-c{connections}", f"-d{max(1, round(seconds))}s",
                   "--timeout", "10s",
                   "-s", str(script), url]
        out = subprocess.run(command, env=env, capture_output=True, text=True, check=True)
    summary = json.loads(out.stdout.strip().splitlines()[-1])
    return LoadResult(
        requests=summary["requests"],
        seconds=summary["duration_us"] / 1e6,
        p50_ms=summary["p50_us"] / 1e3,
        p99_ms=summary["p99_us"] / 1e3,
        max_ms=summary["max_us"] / 1e3,
        errors=summary["errors"] + summary["non_2xx"],
        tool="wrk",
    )


async def _run_python(
    url: str, body: bytes, content_type: str, connections: int, seconds: float
) -> LoadResult:
    host, _, rest = url.removeprefix("http://").partition(":")
    port, _, path = rest.partition("/")
    request = (
        f"POST /{path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: {content_type}\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode() + body
    latencies: list[float] = []
    errors = 0
    deadline = time.perf_counter() + seconds

    async def client() -> None:
        nonlocal errors
        reader = writer = None
        while time.perf_counter() < deadline:
            if writer is None:
                reader, writer = await asyncio.open_connection(host, int(port))
            start = time.perf_counter()
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.decode("latin-1").lower().split("\r\n")
            length = next(int(x.split(":")[1]) for x in lines if x.startswith("content-length"))
            await reader.readexactly(length)
            latencies.append(time.perf_counter() - start)
            errors += not lines[0].split()[1].startswith("2")
            if "connection: close" in lines:
                writer.close()
                writer = None

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(connections)))
    elapsed = time.perf_counter() - started
    ordered = sorted(latencies) or [0.0]

    def pct(q: float) -> float:
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1e3

    return LoadResult(len(latencies), elapsed, pct(0.5), pct(0.99), ordered[-1] * 1e3, errors,
                      "python-asyncio")
