"""The trained forecaster in /opt/ml/model (SageMaker tars it into model.tar.gz):

    forecaster.json   {"model": gbm | ets | prophet | seasonal_naive, "hyperparameters",
                       "horizon", "trained_end" (the last period fitted on), "series",
                       "validation" (metrics on the held-out window)}
    spec.json         the resolved dataset spec
    series.csv        the history serving and batch forecast from (all the data preprocessing
                      saw; the model itself was fitted on the periods up to trained_end)
    gbm.json, gbm_state.json   the global model (model gbm only)
"""

from __future__ import annotations

import json
import tarfile
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from runtime_scripts.common.jobio import JobError
from runtime_scripts.use_cases.demand import gbm as gbm_model
from runtime_scripts.use_cases.demand import jobs
from runtime_scripts.use_cases.demand.forecasters import forecast
from runtime_scripts.use_cases.demand.spec import ForecastSpec

FORECASTER_FILE = "forecaster.json"


@dataclass
class Forecaster:
    model: str
    spec: ForecastSpec
    history: pd.DataFrame
    info: dict
    gbm: gbm_model.GbmModel | None = None

    @property
    def horizon(self) -> int:
        return self.spec.horizon

    def forecast(self, history: pd.DataFrame | None = None, future: pd.DataFrame | None = None,
                 horizon: int | None = None) -> pd.DataFrame:
        return forecast(self.model, self.history if history is None else history, self.spec,
                        horizon or self.horizon, future, gbm=self.gbm)

    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        (folder / FORECASTER_FILE).write_text(json.dumps({"model": self.model, **self.info},
                                                         indent=1))
        jobs.write_spec(self.spec, folder)
        jobs.write_panel(self.history, folder)
        if self.gbm is not None:
            self.gbm.save(folder)


def resolve(path: Path, extract_to: Path) -> Path:
    """The model directory: `path`, or the one archive in it (as processing stages a model)."""
    if (path / FORECASTER_FILE).is_file():
        return path
    archives = sorted(path.glob("*.tar.gz")) if path.is_dir() else (
        [path] if path.name.endswith(".tar.gz") else [])
    if len(archives) != 1:
        raise JobError(f"{path} holds no {FORECASTER_FILE} and not exactly one model archive: "
                       "map the training job's model.tar.gz to it")
    with tarfile.open(archives[0], "r:gz") as tar:
        tar.extractall(extract_to, filter="data")
    if not (extract_to / FORECASTER_FILE).is_file():
        raise JobError(f"{archives[0]} holds no {FORECASTER_FILE}: it is no model of this use "
                       "case's training")
    return extract_to


def load(folder: Path) -> Forecaster:
    info = json.loads((folder / FORECASTER_FILE).read_text())
    spec = jobs.read_spec(folder)
    model = info.pop("model")
    fitted = gbm_model.GbmModel.load(folder) if model == "gbm" else None
    return Forecaster(model, spec, jobs.read_panel(folder, spec), info, fitted)
