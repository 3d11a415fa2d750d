"""What the demand jobs share: reading the data and the spec, the panel files between the jobs,
and turning this use case's input errors into the platform's one-line job failures."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from pathlib import Path

import pandas as pd

from runtime_scripts import contract
from runtime_scripts.common.jobio import JobError, find_data_files, read_table
from runtime_scripts.use_cases.demand.series import SeriesDataError
from runtime_scripts.use_cases.demand.spec import ForecastSpec, ForecastSpecError

HERE = Path(__file__).resolve().parent
BUNDLED_SPEC = HERE / "dataset.json"
PANEL_FILE = "series.csv"
SPEC_FILE = "spec.json"


@contextlib.contextmanager
def input_errors() -> Iterator[None]:
    """This use case's input errors as JobError: one line in the log and the failure reason."""
    try:
        yield
    except (ForecastSpecError, SeriesDataError, ValueError) as exc:
        if isinstance(exc, JobError):
            raise
        raise JobError(str(exc)) from None


def load_spec(ml: contract.MlPaths) -> ForecastSpec:
    """The execution's spec (the `config` input's dataset.json) or the bundled one."""
    given = ml.processing_input(contract.PROCESSING_INPUT_CONFIG)
    if given.is_dir():
        files = sorted(given.glob("*.json"))
        if len(files) != 1:
            raise JobError(f"the config input {given} must hold one dataset spec (.json), "
                           f"holds {[f.name for f in files]}")
        return ForecastSpec.load(files[0])
    return ForecastSpec.load(BUNDLED_SPEC)


def read_raw(folder: Path) -> pd.DataFrame:
    frames = [read_table(path) for path in find_data_files(folder)]
    return pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]


def write_panel(frame: pd.DataFrame, folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    frame.to_csv(folder / PANEL_FILE, index=False, date_format="%Y-%m-%d")


def read_panel(folder: Path, spec: ForecastSpec) -> pd.DataFrame:
    """A panel file the preprocessing wrote (series.csv in `folder`, or `folder` itself)."""
    path = folder / PANEL_FILE if folder.is_dir() else folder
    if not path.is_file():
        raise JobError(f"{path} does not exist: it is written by this use case's preprocessing")
    frame = pd.read_csv(path, dtype={"series": str, **{c: str for c in spec.static}},
                        parse_dates=["timestamp"], keep_default_na=False, na_values=[""])
    missing = [c for c in ("series", "timestamp", "y", *spec.covariates, *spec.static)
               if c not in frame.columns]
    if missing:
        raise JobError(f"{path} lacks columns {missing}: re-run preprocessing with this spec")
    return frame


def write_spec(spec: ForecastSpec, folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / SPEC_FILE).write_text(json.dumps(spec.to_json(), indent=1))


def read_spec(folder: Path) -> ForecastSpec:
    path = folder / SPEC_FILE
    if not path.is_file():
        raise JobError(f"{path} does not exist: it is written by this use case's preprocessing")
    return ForecastSpec.load(path)
