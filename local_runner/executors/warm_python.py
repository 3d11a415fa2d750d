"""The interpreter local jobs run with: a warm one by default (warm_server.py, warm_client.py).

`interpreter()` is what LocalProgram exports as PYTHON: a launcher that runs `-m module` and
`script` jobs as forks of one process of this runner that has imported the runtime image's
scientific stack already, and anything else with this very interpreter. A job sees what a cold
`python` would give it (process group, environment, directory, streams, exit status, signals);
it only starts about 2 s sooner. The server starts on first use, in the background: jobs that
start before it is ready, and any job when ML_LOCAL_WARM_PYTHON=0, run cold.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

from local_runner.executors.shared_cores import sharing_cores

SWITCH = "ML_LOCAL_WARM_PYTHON"
HERE = Path(__file__).resolve().parent
SERVER, CLIENT = HERE / "warm_server.py", HERE / "warm_client.py"

_lock = threading.Lock()
_launcher: Path | None = None


def enabled() -> bool:
    return os.environ.get(SWITCH, "1") != "0"


def interpreter() -> str:
    """The path to give a job as its Python."""
    if not enabled():
        return sys.executable
    with _lock:
        if _launcher is None:
            _start()
    return str(_launcher)


def _start() -> None:
    global _launcher
    directory = Path(tempfile.mkdtemp(prefix="warm-python-"))
    socket_path = directory / "socket"
    launcher = directory / "python"
    launcher.write_text(f'#!/bin/sh\nexec "{sys.executable}" -I -S "{CLIENT}" "{socket_path}" '
                        '"$@"\n')
    launcher.chmod(0o755)
    # The server lives as long as this process holds the write end (never inherited by jobs).
    control_read, control_write = os.pipe()
    # What job_environment gives every job: the server's imports see the same threading.
    env = sharing_cores({k: v for k, v in os.environ.items() if k != "PYTHONPATH"})
    with (directory / "server.log").open("ab") as log:
        subprocess.run([sys.executable, "-I", str(SERVER), str(socket_path), str(control_read)],
                       pass_fds=[control_read], env=env, stdin=subprocess.DEVNULL, stdout=log,
                       stderr=log, start_new_session=True, check=True)
    os.close(control_read)
    _launcher = launcher
    atexit.register(_stop, control_write, directory)


def _stop(control_write: int, directory: Path) -> None:
    with contextlib.suppress(OSError):
        os.close(control_write)
    shutil.rmtree(directory, ignore_errors=True)
