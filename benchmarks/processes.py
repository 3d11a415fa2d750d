"""The servers under test: how each is started, what its requests do, and checks on them.

Every server runs as its own process group on a loopback port with 2 workers, OMP_NUM_THREADS=1
(one request per worker at a time; OpenMP spinning on a busy 2-core machine would otherwise
measure the machine), and scores the same booster. Ours and the uvicorn candidate run the
image's own code in the project's venv; the stock stacks and the pandas server run in the
baselines venv (`benchmarks/requirements-baselines.txt`).
"""

from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from runtime_scripts.common.manifest import USE_CASE_ENV
from runtime_scripts.use_cases.churn.manifest import MANIFEST as CHURN

REPO_ROOT = Path(__file__).resolve().parent.parent
BASELINES_VENV = REPO_ROOT / "benchmarks" / ".venv-baselines"
BASELINES_PYTHON = BASELINES_VENV / "bin" / "python"
RAW, FEATURES = "raw rows", "prepared features"


@dataclass(frozen=True)
class Spec:
    name: str
    kind: str  # "ours", "candidate" (a stock HTTP server with our app on top), "stock", "pandas"
    body: str  # RAW (our transform runs per request) or FEATURES (the matrix training writes)
    what: str  # what one request does, for the table
    command: Callable[[Path, int, int, Path], list[str]]
    python: Path = BASELINES_PYTHON


def _ours(model_dir: Path, port: int, workers: int, tmp: Path) -> list[str]:
    return [str(REPO_ROOT / "runtime_scripts" / "bin" / "serve"), "--model-dir", str(model_dir),
            "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers)]


def _module(*args: str, python: Path = BASELINES_PYTHON
            ) -> Callable[[Path, int, int, Path], list[str]]:
    def command(model_dir: Path, port: int, workers: int, tmp: Path) -> list[str]:
        values = {"model_dir": str(model_dir), "port": str(port), "workers": str(workers),
                  "tmp": str(tmp)}
        return [str(python), *(a.format(**values) for a in args)]

    return command


OUR_REQUEST = "HTTP parse, CSV decode, our transform (raw -> features), predict, label, encode"
STOCK_REQUEST = "CSV of prepared features decoded, DMatrix, predict, probabilities encoded"
SERVERS = {
    spec.name: spec
    for spec in (
        Spec("ours", "ours", RAW,
             "uvicorn (httptools, uvloop) with our protocol and supervisor "
             "(runtime_scripts/bin/serve): " + OUR_REQUEST, _ours, python=Path(sys.executable)),
        Spec("uvicorn", "candidate", RAW,
             "stock uvicorn (httptools, uvloop, its own protocol and supervisor) + our app: "
             + OUR_REQUEST,
             _module("-m", "uvicorn", "--factory", "benchmarks.candidates:create_app",
                     "--http", "httptools", "--loop", "uvloop", "--workers", "{workers}",
                     "--host", "127.0.0.1", "--port", "{port}", "--log-level", "warning",
                     "--no-access-log", python=Path(sys.executable)),
             python=Path(sys.executable)),
        Spec("mms", "stock", FEATURES,
             "Multi Model Server + sagemaker-inference toolkit: " + STOCK_REQUEST,
             _module("-m", "benchmarks.stock_stacks", "mms", "--model-dir", "{model_dir}",
                     "--port", "{port}", "--workers", "{workers}", "--tmp", "{tmp}/mms")),
        Spec("gevent", "stock", FEATURES,
             "nginx -> gunicorn (gevent workers) -> Flask: " + STOCK_REQUEST,
             _module("-m", "benchmarks.stock_stacks", "gevent", "--model-dir", "{model_dir}",
                     "--port", "{port}", "--workers", "{workers}", "--tmp", "{tmp}/gevent")),
        Spec("pandas", "pandas", RAW,
             "gunicorn (sync workers) + Flask, pd.read_csv + the transform's pandas path, predict",
             _module("-m", "benchmarks.baseline_server", "--model-dir", "{model_dir}",
                     "--port", "{port}", "--workers", "{workers}")),
    )
}


def baselines_missing() -> list[str]:
    """What the baselines need that this machine lacks, each with the command that installs it."""
    problems = []
    if not BASELINES_PYTHON.exists():
        problems.append(
            f"the baselines venv {BASELINES_VENV.relative_to(REPO_ROOT)}: "
            "python -m benchmarks.serving --setup"
        )
    for tool, package in (("java", "default-jre-headless"), ("nginx", "nginx"), ("wrk", "wrk")):
        if not _which(tool):
            problems.append(f"{tool}: apt-get install -y {package}")
    return problems


def _which(tool: str) -> bool:
    path = os.environ.get("PATH", "").split(":") + ["/usr/sbin"]
    return any(Path(d, tool).exists() for d in path)


def _free_port(four_digits: bool = False) -> int:
    """A free loopback port; MMS rejects addresses whose port has more than four digits."""
    candidates = range(9100, 9990, 2) if four_digits else [0]
    for port in candidates:
        try:
            with socket.socket() as one, socket.socket() as two:
                one.bind(("127.0.0.1", port))
                if four_digits:
                    two.bind(("127.0.0.1", port + 1))  # MMS's management port
                return one.getsockname()[1]
        except OSError:
            continue
    raise RuntimeError("no free loopback port")


@dataclass
class Server:
    spec: Spec
    port: int
    process: subprocess.Popen
    log: Path

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/invocations"

    def post(self, body: bytes, timeout: float = 30) -> tuple[int, bytes]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            conn.request("POST", "/invocations", body,
                         {"Content-Type": "text/csv", "Accept": "text/csv"})
            response = conn.getresponse()
            return response.status, response.read()
        finally:
            conn.close()

    def wait_ready(self, body: bytes, timeout: float = 180.0) -> None:
        """Until a real invocation answers 200 (MMS answers /ping before its workers load)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited:\n{self.log.read_text()[-3000:]}")
            try:
                if self.post(body, timeout=5)[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.2)
        logs = "\n".join(f"{f}:\n{f.read_text()[-1500:]}" for f in self.log.parent.glob(
            f"{self.name}/**/*.log"))
        raise TimeoutError(f"{self.name} not ready in {timeout} s:\n{self.log.read_text()[-3000:]}"
                           f"\n{logs}")

    def processes(self) -> list[tuple[int, str, int]]:
        """(pid, name, RSS bytes) of every process of this server (its process group)."""
        out = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
                fields = stat.rsplit(")", 1)[1].split()
                if int(fields[2]) != self.process.pid:  # process group
                    continue
                name = stat.split("(", 1)[1].rsplit(")", 1)[0]
                rss = int(fields[21]) * os.sysconf("SC_PAGE_SIZE")
                out.append((int(entry.name), name, rss))
            except (OSError, IndexError, ValueError):
                continue
        return sorted(out)

    def cpu_seconds(self) -> float:
        """CPU time of the server's processes, with that of those already reaped (gunicorn's
        max-requests recycles workers): utime + stime + cutime + cstime of the living ones."""
        tick = os.sysconf("SC_CLK_TCK")
        total = 0.0
        for pid, _, _ in self.processes():
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                total += sum(int(f) for f in fields[11:15]) / tick
            except (OSError, IndexError, ValueError):
                continue
        return total

    @classmethod
    @contextmanager
    def start(cls, spec: Spec, model_dir: Path, workers: int, tmp: Path, ready_body: bytes,
              ) -> Iterator[Server]:
        port = _free_port(four_digits=spec.name == "mms")
        log = tmp / f"{spec.name}.log"
        env = os.environ | {
            "PYTHON": str(spec.python), "PYTHONPATH": str(REPO_ROOT), "OMP_NUM_THREADS": "1",
            "SAGEMAKER_MODEL_SERVER_WORKERS": str(workers), "BENCH_MODEL_DIR": str(model_dir),
            "SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT": "text/csv",
            "PATH": f"{spec.python.parent}:{os.environ.get('PATH', '')}",
            USE_CASE_ENV: CHURN.name,  # the image sets it; `serve` refuses to guess
        }
        with open(log, "wb") as out:
            process = subprocess.Popen(spec.command(model_dir, port, workers, tmp), cwd=REPO_ROOT,
                                       env=env, stdout=out, stderr=subprocess.STDOUT,
                                       start_new_session=True)
        server = cls(spec, port, process, log)
        try:
            server.wait_ready(ready_body)
            yield server
        finally:
            _stop(process)


def _stop(process: subprocess.Popen) -> None:
    with_signal = [(signal.SIGTERM, 30), (signal.SIGKILL, 10)]
    for signum, wait in with_signal:
        try:
            os.killpg(process.pid, signum)
        except ProcessLookupError:
            return
        try:
            process.wait(wait)
            os.killpg(process.pid, signal.SIGKILL)  # stragglers of the group (nginx, java)
        except subprocess.TimeoutExpired:
            continue
        except ProcessLookupError:
            return
        return


def probabilities(body: bytes) -> np.ndarray:
    """The first field of every answer line as float32 (ours adds a label; the stock, none)."""
    return np.array([float(line.split(b",")[0]) for line in body.splitlines()], dtype=np.float32)


def check_same_answers(server: Server, body: bytes, reference: np.ndarray) -> None:
    status, reply = server.post(body)
    if status != 200:
        raise RuntimeError(f"{server.name} answered {status}: {reply[:200]!r}")
    if not np.array_equal(probabilities(reply), reference):
        raise RuntimeError(f"{server.name} scores the benchmark body differently: fix that first")
