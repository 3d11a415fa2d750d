"""Plumbing shared by the jobs: reading input tables, atomic outputs, failure reporting.

Named `jobio` rather than `io` so that running a file from this directory directly can never
shadow the standard library's `io` module.

Every job runs its `main` through `run_job`: input problems raise `JobError` (or the dataset /
transform errors) and become one line on stderr plus the file SageMaker shows as the failure
reason; anything else is a bug and keeps its traceback in the log.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import sys
import tempfile
import traceback
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from runtime_scripts import contract
from runtime_scripts.common.tabular.dataset import DatasetSpecError
from runtime_scripts.common.tabular.transform import TransformInputError

if TYPE_CHECKING:
    import pandas as pd

CSV_SUFFIXES = contract.CSV_SUFFIXES
PARQUET_SUFFIXES = contract.PARQUET_SUFFIXES
# SageMaker's failure reason and ExitMessage both keep only the first 1 KB.
FAILURE_MESSAGE_LIMIT = 1024

log = logging.getLogger("jobs")


class JobError(Exception):
    """A problem with the job's inputs or configuration; the message names it and the fix."""


# Errors that are the caller's fault: reported as one line, no traceback.
EXPECTED_ERRORS: tuple[type[Exception], ...] = (JobError, DatasetSpecError, TransformInputError)


def configure_logging() -> None:
    logging.basicConfig(
        level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(levelname)s %(message)s"
    )


def run_job(main: Callable[[], None], failure_file: Path, job: str) -> int:
    """Run `main`; on error write a one-line reason to `failure_file` and return non-zero."""
    configure_logging()
    try:
        main()
        return 0
    except EXPECTED_ERRORS as exc:
        reason = f"{job} failed: {exc}"
        code = 1
    except Exception as exc:  # a bug: keep the traceback in the log, still leave a reason
        traceback.print_exc()
        reason = f"{job} failed with an unexpected {type(exc).__name__}: {exc}"
        code = 2
    reason = " ".join(reason.split())  # one line, whatever the exception text held
    print(f"ERROR: {reason}", file=sys.stderr, flush=True)
    with contextlib.suppress(OSError):  # reporting must never mask the original error
        failure_file.parent.mkdir(parents=True, exist_ok=True)
        failure_file.write_text(reason.encode()[:FAILURE_MESSAGE_LIMIT].decode(errors="ignore"))
    return code


# --- reading ---------------------------------------------------------------------------------
def find_data_files(root: Path, suffixes: tuple[str, ...] = CSV_SUFFIXES + PARQUET_SUFFIXES,
                    ) -> list[Path]:
    """Data files under `root`, recursively, in a stable order; hidden files are skipped."""
    if root.is_file():
        return [root]
    if not root.is_dir():
        raise JobError(f"input directory {root} does not exist: map the input channel to it")
    files = [
        p for p in root.rglob("*")
        if p.is_file() and p.suffix.lower() in suffixes
        and not any(part.startswith(".") for part in p.relative_to(root).parts)
    ]
    if not files:
        raise JobError(
            f"no {'/'.join(s.lstrip('.') for s in suffixes)} files under {root}: "
            "check the input S3 prefix"
        )
    return sorted(files)


def read_table(path: Path, *, header: bool = True, dtype: object = str) -> pd.DataFrame:
    """One CSV or Parquet file as a DataFrame; CSV cells are read as text unless `dtype` says."""
    import pandas as pd

    if path.stat().st_size == 0:
        raise JobError(f"{path} is empty (0 bytes): remove it or re-export the data")
    try:
        if path.suffix.lower() in PARQUET_SUFFIXES:
            return pd.read_parquet(path)
        # Text, not inferred types: a categorical such as "415" must stay "415" exactly as the
        # inference server will see it, and numeric columns are checked explicitly later.
        return pd.read_csv(
            path, header=0 if header else None, dtype=dtype, skipinitialspace=True,
            keep_default_na=False, na_values=[""],
        )
    except pd.errors.EmptyDataError:
        raise JobError(f"{path} has no rows and no header: re-export the data") from None
    except (pd.errors.ParserError, ValueError, OSError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise JobError(f"cannot read {path}: {first}") from None


# --- writing ---------------------------------------------------------------------------------
def write_atomic(path: Path, data: bytes | str) -> None:
    """Write a file so readers (and S3 checkpoint sync) never see a half-written one."""
    payload = data.encode() if isinstance(data, str) else data
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o644)  # mkstemp creates 0600
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


@contextlib.contextmanager
def atomic_outputs(targets: Mapping[str, Path]) -> Iterator[dict[str, Path]]:
    """Stage every output in a temp dir next to its target; publish only if all succeed.

    Yields name -> staging dir. On an exception the staging dirs are removed and the targets are
    untouched, so a failed job never leaves a partial split behind. On success each target's old
    content is replaced. SageMaker pre-creates processing output dirs (possibly as mount points),
    so publishing renames the staging dir over an empty target where it can and otherwise moves
    the staged files into the target one by one.
    """
    staging: dict[str, Path] = {}
    try:
        for name, target in targets.items():
            target.parent.mkdir(parents=True, exist_ok=True)
            staging[name] = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}."))
            staging[name].chmod(0o755)  # mkdtemp's 0700 would follow the directory into place
        yield staging
    except BaseException:
        for path in staging.values():
            shutil.rmtree(path, ignore_errors=True)
        raise
    for name, target in targets.items():
        _publish(staging[name], target)


def _publish(stage: Path, target: Path) -> None:
    if target.is_dir():
        for old in list(target.iterdir()):
            shutil.rmtree(old) if old.is_dir() and not old.is_symlink() else old.unlink()
        try:
            os.rename(stage, target)  # an empty directory can be replaced in one step
            return
        except OSError:  # a mount point (EBUSY) or another filesystem (EXDEV)
            pass
        for item in stage.iterdir():
            shutil.move(str(item), target / item.name)
        stage.rmdir()
    else:
        os.rename(stage, target)
