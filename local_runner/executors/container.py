"""Running an entry point the way a container runs it: in its own process group, with a time
limit, its stdout and stderr captured to one log file, and nothing left running afterwards."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO

# SageMaker sends SIGTERM and waits 120 s before SIGKILL; local jobs are small, so wait less.
GRACE_S = 10.0
TAIL_LINES = 40


@dataclass(frozen=True)
class RunResult:
    exit_code: int | None  # None when the job was stopped for its time limit
    timed_out: bool
    log_path: Path
    last_stderr: str  # the last non-blank stderr line: the failure reason of last resort

    @property
    def succeeded(self) -> bool:
        return self.exit_code == 0

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def tail(self, lines: int = TAIL_LINES) -> str:
        return log_tail(self.log_path, lines)


def log_tail(log_path: Path, lines: int = TAIL_LINES) -> str:
    if not log_path.exists():
        return ""
    return "\n".join(log_path.read_text(errors="replace").splitlines()[-lines:])


class Container:
    """A started entry point. Use as a context manager: leaving it stops the whole group."""

    def __init__(self, argv: list[str], env: Mapping[str, str], cwd: Path, log_path: Path) -> None:
        self.argv, self.env, self.cwd, self.log_path = argv, dict(env), cwd, log_path
        self._proc: subprocess.Popen[bytes] | None = None
        self._readers: list[threading.Thread] = []
        self._lock = threading.Lock()
        self._log: IO[bytes] | None = None
        self.last_stderr = ""

    def __enter__(self) -> Container:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = self._log = self.log_path.open("ab")
        try:
            # A session of its own makes the job one process group: servers fork workers and the
            # bin scripts exec python, so signalling the group is the way to reach every process.
            self._proc = subprocess.Popen(self.argv, env=self.env, cwd=self.cwd,
                                          stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                          stderr=subprocess.PIPE, start_new_session=True)
        except OSError:
            log.close()
            raise
        assert self._proc.stdout is not None and self._proc.stderr is not None
        self._readers = [threading.Thread(target=self._pump, args=(pipe, log, is_err), daemon=True)
                         for pipe, is_err in ((self._proc.stdout, False),
                                              (self._proc.stderr, True))]
        for reader in self._readers:
            reader.start()

    def _pump(self, pipe: IO[bytes], log: IO[bytes], is_stderr: bool) -> None:
        # Line by line into one file, so the log keeps stdout and stderr interleaved in order.
        for line in iter(pipe.readline, b""):
            with self._lock:
                if log.closed:  # only a process that left the group can still be writing
                    break
                log.write(line)
                log.flush()
            if is_stderr and line.strip():
                self.last_stderr = line.decode(errors="replace").strip()
        pipe.close()

    @property
    def pid(self) -> int:
        assert self._proc is not None, "not started"
        return self._proc.pid

    def poll(self) -> int | None:
        assert self._proc is not None, "not started"
        return self._proc.poll()

    def wait(self, timeout: float | None) -> int | None:
        """The exit code, or None if the entry point is still running after `timeout` seconds."""
        assert self._proc is not None, "not started"
        try:
            return self._proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None

    def stop(self, grace: float = GRACE_S) -> None:
        """SIGTERM the group, SIGKILL what is left after `grace`; idempotent."""
        proc = self._proc
        if proc is None:
            return
        if proc.poll() is None:
            _signal_group(proc.pid, signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=grace)
        # Also after a clean exit: a child the entry point forked may still hold the group.
        _signal_group(proc.pid, signal.SIGKILL)
        proc.wait()
        for reader in self._readers:
            reader.join(timeout=5)
        with self._lock:
            if self._log is not None:
                self._log.close()

    def result(self, *, timed_out: bool) -> RunResult:
        assert self._proc is not None, "not started"
        return RunResult(None if timed_out else self._proc.returncode, timed_out, self.log_path,
                         self.last_stderr)


def _signal_group(pid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig)


def run(argv: list[str], env: Mapping[str, str], cwd: Path, log_path: Path,
        timeout_s: float) -> RunResult:
    """Run an entry point to the end, or stop it at `timeout_s` (StoppingCondition)."""
    with Container(argv, env, cwd, log_path) as container:
        timed_out = container.wait(timeout_s) is None
    return container.result(timed_out=timed_out)
