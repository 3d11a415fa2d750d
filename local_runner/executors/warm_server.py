"""A warm Python for local jobs: one process that has imported the runtime image's scientific
stack once, and forks a fresh process for each job that asks for it (see warm_python.py).

A local job is a short script whose start-up is mostly `import pandas, sklearn, xgboost`
(about 2 s of CPU here, often more than the job's own work). Forked from this process a job
starts in milliseconds with those modules already loaded, and is otherwise what `python -m
module` or `python script.py` would have started: its own session and process group, the
job's environment, working directory, arguments, standard streams and exit status.

Run by path with `python -I` (never as part of a package, so the only modules a job inherits
are the standard library and the PRELOAD list). Standard library only.
"""

from __future__ import annotations

import array
import atexit
import contextlib
import importlib
import io
import json
import os
import runpy
import selectors
import signal
import socket
import sys
import threading
import traceback

# A job's sys.path ends with the interpreter's own (`-I` puts no script folder first).
BASE_PATH = [p for p in sys.path if p]
# The message protocol is the client's, the module beside this file.
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from warm_client import HEADER, read_exactly, send  # noqa: E402

del sys.path[0]

# What the runtime image ships and nearly every job imports (runtime_scripts/requirements.txt),
# then the frameworks use cases' own images add (PyTorch, say). A module not installed here is
# skipped: a job then imports it itself, as a cold start would.
PRELOAD = ("numpy", "pandas", "pyarrow", "pyarrow.parquet", "scipy.stats", "sklearn",
           "sklearn.metrics", "sklearn.model_selection", "sklearn.linear_model",
           "sklearn.ensemble", "sklearn.preprocessing", "sklearn.cluster", "sklearn.decomposition",
           "xgboost", "matplotlib", "matplotlib.pyplot", "orjson", "uvicorn", "torch")
# Variables read when those modules are imported (thread pools, plotting back end) or when an
# interpreter starts: a job that sets one of them differently from this process gets a cold
# interpreter instead, so it sees exactly what it asked for.
IMPORT_TIME_PREFIXES = ("OMP_", "OPENBLAS_", "MKL_", "KMP_", "GOTO_", "BLIS_", "NUMEXPR_",
                        "MPL", "ARROW_", "PYTHON")
# The interpreter variables a forked job can honour after the fact.
# (PYTHON itself is the bin scripts' choice of interpreter, which no interpreter reads.)
HONOURED = {"PYTHON", "PYTHONPATH", "PYTHONUNBUFFERED", "PYTHONDONTWRITEBYTECODE"}
MAX_FDS = 3


def _import_sensitive(env: dict[str, str], other: dict | None = None) -> dict[str, str | None]:
    return {key: env.get(key) for key in {*env, *(other or ())}
            if key.startswith(IMPORT_TIME_PREFIXES) and key not in HONOURED}


def _receive(conn: socket.socket) -> tuple[dict, list[int]] | None:
    fds = array.array("i")
    head, ancillary, _, _ = conn.recvmsg(HEADER.size, socket.CMSG_LEN(MAX_FDS * fds.itemsize))
    for level, kind, data in ancillary:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            fds.frombytes(data[:len(data) - (len(data) % fds.itemsize)])
    if len(head) < HEADER.size:
        for fd in fds:
            os.close(fd)
        return None
    body = read_exactly(conn, HEADER.unpack(head)[0])
    return None if body is None else (json.loads(body), list(fds))


class Server:
    def __init__(self, listener: socket.socket, control_fd: int, before: dict[str, str]) -> None:
        self.listener, self.control_fd = listener, control_fd
        # What the preloaded modules saw, and what they set (sklearn sets KMP_* defaults, say):
        # a job gets the latter as the same imports would have set them in a cold process.
        self.seen = _import_sensitive(before)
        self.import_set = {k: v for k, v in os.environ.items() if before.get(k) != v}
        self.selector = selectors.DefaultSelector()
        self.children: dict[int, socket.socket] = {}  # pid -> the client waiting for it
        self.wake_r, self.wake_w = os.pipe()
        os.set_blocking(self.wake_w, False)
        self.base_path = BASE_PATH

    def serve(self) -> None:
        signal.set_wakeup_fd(self.wake_w)
        signal.signal(signal.SIGCHLD, lambda *_: None)
        self.selector.register(self.listener, selectors.EVENT_READ, "accept")
        self.selector.register(self.control_fd, selectors.EVENT_READ, "control")
        self.selector.register(self.wake_r, selectors.EVENT_READ, "reap")
        while True:
            for key, _ in self.selector.select(timeout=1.0):
                if key.data == "accept":
                    conn, _ = self.listener.accept()
                    self.selector.register(conn, selectors.EVENT_READ, "request")
                elif key.data == "control":  # the runner is gone: so is every job
                    self._stop_all()
                    return
                elif key.data == "reap":
                    with contextlib.suppress(BlockingIOError):
                        os.read(self.wake_r, 4096)
                else:
                    self._client_readable(key.fileobj)
            self._reap()

    def _client_readable(self, conn: socket.socket) -> None:
        waiting = next((pid for pid, c in self.children.items() if c is conn), None)
        if waiting is not None:  # the client died before its job: the job goes with it
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(waiting, signal.SIGKILL)
            self.selector.unregister(conn)
            return
        try:
            received = _receive(conn)
        except OSError:
            received = None
        if received is None:
            self.selector.unregister(conn)
            conn.close()
            return
        request, fds = received
        if len(fds) != MAX_FDS or not self._sees_the_same(request["env"]):
            for fd in fds:
                os.close(fd)
            send(conn, {"cold": True})
            self.selector.unregister(conn)
            conn.close()
            return
        pid = os.fork()
        if pid == 0:
            self._child(request, fds, conn)  # never returns
        for fd in fds:
            os.close(fd)
        self.children[pid] = conn
        send(conn, {"pid": pid})

    def _sees_the_same(self, env: dict[str, str]) -> bool:
        """Whether the job's import-time variables are what the preloaded modules saw, or what
        they set themselves (a runner that imported sklearn passes its KMP_* defaults on)."""
        return all(value in (self.seen.get(key), self.import_set.get(key, self.seen.get(key)))
                   for key, value in _import_sensitive(env, self.seen).items())

    def _reap(self) -> None:
        while self.children:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            conn = self.children.pop(pid, None)
            if conn is None:
                continue
            code = -os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)
            with contextlib.suppress(OSError):
                send(conn, {"status": code})
            with contextlib.suppress(KeyError, ValueError):
                self.selector.unregister(conn)
            conn.close()

    def _stop_all(self) -> None:
        for pid in self.children:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pid, signal.SIGKILL)

    def _child(self, request: dict, fds: list[int], client: socket.socket) -> None:
        code = 1
        try:
            os.setsid()
            signal.set_wakeup_fd(-1)
            for sig in (signal.SIGCHLD, signal.SIGINT, signal.SIGTERM, signal.SIGPIPE):
                signal.signal(sig, signal.SIG_DFL if sig != signal.SIGINT
                              else signal.default_int_handler)
            for target, fd in enumerate(fds):
                os.dup2(fd, target)
            for fd in {*fds, self.wake_r, self.wake_w, self.control_fd} - {0, 1, 2}:
                with contextlib.suppress(OSError):
                    os.close(fd)
            for key in list(self.selector.get_map().values()):
                if isinstance(key.fileobj, socket.socket):
                    key.fileobj.close()
            self.selector.close()
            self.listener.close()
            client.close()
            for other in self.children.values():
                other.close()
            code = _run_job(request, self.base_path, self.import_set)
        except BaseException:  # noqa: BLE001 - a job's failure is its exit status
            with contextlib.suppress(Exception):
                traceback.print_exc()
        finally:
            os._exit(code)


def _streams(env: dict[str, str]) -> None:
    unbuffered = bool(env.get("PYTHONUNBUFFERED"))
    for fd, name in ((1, "stdout"), (2, "stderr")):
        raw = io.FileIO(fd, "w", closefd=False)
        stream = io.TextIOWrapper(raw if unbuffered else io.BufferedWriter(raw),
                                  encoding="utf-8", errors="backslashreplace" if fd == 2
                                  else "strict", line_buffering=not unbuffered and fd == 2,
                                  write_through=unbuffered)
        setattr(sys, name, stream)
        setattr(sys, f"__{name}__", stream)
    sys.stdin = sys.__stdin__ = io.TextIOWrapper(io.FileIO(0, "r", closefd=False),
                                                 encoding="utf-8")


def _run_job(request: dict, base_path: list[str], import_set: dict[str, str]) -> int:
    """What `python -m module args` or `python script args` would do, from here; its status."""
    env = request["env"]
    sys.modules.pop("warm_client", None)  # not the job's to import by that name
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(env)
    for key, value in import_set.items():
        os.environ.setdefault(key, value)
    _streams(env)
    sys.dont_write_bytecode = bool(env.get("PYTHONDONTWRITEBYTECODE"))
    extra = [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
    script = request.get("script")
    first = os.path.dirname(os.path.abspath(script)) if script else os.getcwd()
    sys.path[:] = [first, *extra, *base_path]
    sys.argv = [script or request["module"], *request["args"]]
    code = 0
    try:
        if script:
            runpy.run_path(script, run_name="__main__")
        else:
            runpy.run_module(request["module"], run_name="__main__", alter_sys=True)
    except SystemExit as stop:
        code = _exit_code(stop.code)
    except KeyboardInterrupt:
        traceback.print_exc()
        code = 128 + signal.SIGINT
    except BaseException:  # noqa: BLE001 - as the interpreter does: print it, exit 1
        traceback.print_exc()
        code = 1
    # An interpreter's exit: wait for non-daemon threads, run atexit, flush the streams.
    with contextlib.suppress(Exception):
        threading._shutdown()  # type: ignore[attr-defined]
    with contextlib.suppress(Exception):
        atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    return code


def _exit_code(value: object) -> int:
    if value is None:
        return 0
    if isinstance(value, int):
        return value & 0xFF
    with contextlib.suppress(Exception):
        print(value, file=sys.stderr)
    return 1


def main() -> None:
    socket_path, control_fd = sys.argv[1], int(sys.argv[2])
    # Not a child of the runner's (which waits for this first process at once): it ends when
    # the runner's end of the control pipe closes, with the runner.
    if os.fork() > 0:
        os._exit(0)
    before = dict(os.environ)
    for name in PRELOAD:
        with contextlib.suppress(Exception):
            importlib.import_module(name)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(socket_path + ".new")
    listener.listen(64)
    os.rename(socket_path + ".new", socket_path)  # ready: clients may connect
    Server(listener, control_fd, before).serve()


if __name__ == "__main__":
    main()
