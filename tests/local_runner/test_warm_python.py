"""The warm interpreter local jobs run with: a job sees what a cold `python` gives it, sooner."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from local_runner.executors import warm_python

# What a job reports about the process it runs in.
PROBE = textwrap.dedent("""
    import json, os, sys
    warm = "pandas" in sys.modules  # before this job imports anything of its own
    print(json.dumps({"argv": sys.argv, "cwd": os.getcwd(), "path0": sys.path[0],
                      "path1": sys.path[1], "var": os.environ.get("JOB_VAR"),
                      "own_session": os.getsid(0) == os.getpid(), "warm": warm,
                      "executable": sys.executable}))
    print("to stderr", file=sys.stderr)
    sys.exit(int(os.environ.get("EXIT_WITH", "0")))
""")


@pytest.fixture(scope="module")
def launcher() -> str:
    if not warm_python.enabled():
        pytest.skip(f"{warm_python.SWITCH}=0 switches the warm interpreter off")
    path = warm_python.interpreter()
    _wait_until_warm(path)
    return path


def _wait_until_warm(path: str, timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if (Path(path).parent / "socket").exists():  # it listens once it has imported all
            return
        time.sleep(0.2)
    raise AssertionError("the warm server never became ready")


def _job(tmp_path: Path, launcher: str, *args: str, **env: str) -> subprocess.CompletedProcess:
    script = tmp_path / "probe.py"
    script.write_text(PROBE)
    work = tmp_path / "work"
    work.mkdir(exist_ok=True)
    return subprocess.run([launcher, str(script), *args], cwd=work, capture_output=True,
                          text=True, timeout=60,
                          env={**os.environ, "PYTHONPATH": "/extra/first", **env})


def test_a_job_sees_its_own_arguments_directory_environment_and_session(tmp_path, launcher):
    done = _job(tmp_path, launcher, "--a", "1", JOB_VAR="x", EXIT_WITH="7")
    report = json.loads(done.stdout)
    assert done.returncode == 7 and done.stderr.strip() == "to stderr"
    assert report["argv"] == [str(tmp_path / "probe.py"), "--a", "1"]
    assert report["cwd"] == str(tmp_path / "work") and report["var"] == "x"
    # As `python script.py`: the script's folder first, then PYTHONPATH.
    assert (report["path0"], report["path1"]) == (str(tmp_path), "/extra/first")
    assert report["own_session"] and report["executable"] == sys.executable
    assert report["warm"], "the job imported the scientific stack again"


def test_a_job_that_sets_an_import_time_variable_gets_a_cold_interpreter(tmp_path, launcher):
    report = json.loads(_job(tmp_path, launcher, OMP_NUM_THREADS="3").stdout)
    assert not report["warm"]


def test_a_runner_that_imported_sklearn_still_starts_its_jobs_warm(tmp_path, launcher):
    """sklearn sets KMP_* defaults in os.environ when imported, here as in the warm process:
    jobs that inherit them are still the warm process's to start."""
    import sklearn  # noqa: F401 - sets KMP_DUPLICATE_LIB_OK and KMP_INIT_AT_FORK

    assert "KMP_INIT_AT_FORK" in os.environ
    assert json.loads(_job(tmp_path, launcher).stdout)["warm"]


def test_failures_exit_as_the_interpreter_exits(tmp_path, launcher):
    for code, want_status, want_stderr in (("raise ValueError('bad value')", 1, "ValueError"),
                                           ("import sys; sys.exit('stopped: why')", 1,
                                            "stopped: why")):
        script = tmp_path / "fail.py"
        script.write_text(code)
        done = subprocess.run([launcher, str(script)], capture_output=True, text=True,
                              timeout=60)
        assert done.returncode == want_status and want_stderr in done.stderr


def test_a_signal_to_the_launcher_reaches_the_job_and_killing_it_kills_the_job(tmp_path,
                                                                              launcher):
    script = tmp_path / "wait.py"
    script.write_text(textwrap.dedent("""
        import os, signal, sys, time
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(3))
        open(sys.argv[1], "w").write(str(os.getpid()))
        time.sleep(60)
    """))
    for sig, want in ((signal.SIGTERM, 3), (signal.SIGKILL, -signal.SIGKILL)):
        pid_file = tmp_path / f"pid-{sig}"
        proc = subprocess.Popen([launcher, str(script), str(pid_file)])
        deadline = time.monotonic() + 30
        while not pid_file.exists() or not pid_file.read_text():
            assert time.monotonic() < deadline, "the job never started"
            time.sleep(0.05)
        job = int(pid_file.read_text())
        proc.send_signal(sig)
        assert proc.wait(timeout=30) == want
        deadline = time.monotonic() + 10
        while _alive(job):
            assert time.monotonic() < deadline, f"job {job} outlived its launcher ({sig!r})"
            time.sleep(0.05)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie until its parent (the warm server) reaps it.
    stat = Path(f"/proc/{pid}/stat")
    return stat.exists() and stat.read_text().split(")")[-1].split()[0] != "Z"


def test_switched_off_the_jobs_python_is_this_interpreter(monkeypatch):
    monkeypatch.setenv(warm_python.SWITCH, "0")
    assert warm_python.interpreter() == sys.executable
