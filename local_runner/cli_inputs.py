"""What the CLI checks before it synthesizes (15-30 s) or starts anything: the stage and its
configuration, the input files and the pipelines they name. Each mistake is one RunnerError
that names it and its fix."""

from __future__ import annotations

import json
from pathlib import Path

from config import ConfigError, StageConfig, load_stage_config
from config.problems import nearest
from local_runner.errors import RunnerError


def check_stage(stage: str) -> StageConfig:
    """The stage's validated configuration (config/stages/<stage>.json): an unknown stage says
    how to add one, a wrong file names every problem in it."""
    try:
        return load_stage_config(stage)
    except ConfigError as error:
        raise RunnerError(str(error)) from None


def stages_read(config: StageConfig) -> list[str]:
    """The stage files a synth of this stage reads: its own, and a delivery pipeline's stages
    (stacks/platform_app.py builds each of them from its own file)."""
    return [config.stage, *config.cicd.stages] if config.cicd.enabled else [config.stage]


def read_input(path: str | Path | None) -> dict:
    """An execution input file: a JSON object."""
    if path is None:
        return {}
    try:
        text = Path(path).read_text()
    except FileNotFoundError:
        raise RunnerError(f"input file {path} does not exist",
                          "give the path of a JSON file, relative to where you run the "
                          "command") from None
    except IsADirectoryError:
        raise RunnerError(f"input file {path} is a folder", "give a JSON file") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise RunnerError(f"input file {path} is not JSON: {error.msg} at line {error.lineno}, "
                          f"column {error.colno}") from None
    if not isinstance(data, dict):
        raise RunnerError(f"input file {path} holds {type(data).__name__}, not a JSON object",
                          'an execution input is an object, e.g. {"training": {...}}')
    return data


def read_inputs(specs: list[str] | None, pipelines: list[str],
                known: tuple[str, ...]) -> dict[str, dict]:
    """`--input FILE` (the first pipeline's) or `--input PIPELINE=FILE`, any number of times,
    each pipeline at most once. A spec that is an existing file is a file, `=` or not."""
    inputs: dict[str, dict] = {}
    for spec in specs or []:
        pipeline, sep, path = spec.partition("=")
        if not sep or Path(spec).is_file():
            pipeline, path = pipelines[0], spec
        elif pipeline not in known:
            guess = nearest(pipeline, known)
            hint = f"; did you mean {guess}?" if guess else ""
            raise RunnerError(f"--input {spec}: no pipeline is called {pipeline!r}{hint}",
                              f"PIPELINE=FILE with PIPELINE one of {', '.join(known)}")
        elif pipeline not in pipelines:
            raise RunnerError(f"--input {spec}: {pipeline} is not one of the pipelines run "
                              f"({', '.join(pipelines)})",
                              f"add {pipeline} to the pipelines, or drop this --input")
        if pipeline in inputs:
            raise RunnerError(f"--input {spec}: a second input for {pipeline}",
                              "one --input per pipeline (merge the two files)")
        inputs[pipeline] = read_input(path)
    return inputs


def check_file(option: str, path: str | Path) -> Path:
    if not Path(path).is_file():
        raise RunnerError(f"{option} {path}: no such file", f"give an existing file to {option}")
    return Path(path)
