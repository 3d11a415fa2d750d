"""What the CLI checks before it synthesizes (15-30 s) or starts anything: the stage and its
configuration, the use cases and pipelines named, the input files. Each mistake is one
RunnerError that names it and its fix.

A pipeline is named `<use case>:<pipeline>` (`fraud:training`), or by the pipeline alone for
the use cases `--use-case` selects (by default the stage's only one). The synthesized templates'
tags say which state machines exist (definitions.find); before a synth, a pipeline name is
checked against the pipelines the platform builds for a use case (check_pipelines).
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

from config import ConfigError, StageConfig, load_stage_config, stage_file
from config.problems import display_path, nearest
from local_runner.assembly import OFFLINE_ENV
from local_runner.definitions import split_address
from local_runner.errors import RunnerError
from runtime_scripts.common.manifest import available_use_cases

ALL = "all"  # --use-case all: every use case the stage deploys
_PIPELINE = re.compile(r"^[a-z][a-z0-9-]*$")


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


def check_use_case(name: str, config: StageConfig, where: str) -> str:
    """A use case the stage deploys; else which it deploys, the nearest, and how to add one."""
    deployed = [use_case.name for use_case in config.use_cases]
    if name in deployed:
        return name
    stage = display_path(stage_file(config.stage))
    if name in available_use_cases():
        raise RunnerError(f"{where}: stage {config.stage!r} does not deploy use case {name!r}",
                          f'add {{"name": "{name}"}} to use_cases in {stage}')
    guess = nearest(name, deployed) or nearest(name, available_use_cases())
    raise RunnerError(f"{where}: no use case is called {name!r}"
                      + (f"; did you mean {guess}?" if guess else ""),
                      f"stage {config.stage!r} deploys {', '.join(deployed) or 'none'} "
                      "(`mlplatform use-cases`); a new one: `mlplatform new-use-case`")


def selected_use_cases(options: list[str] | None, config: StageConfig) -> list[str]:
    """The use cases a bare pipeline name is for: `--use-case` (repeatable, or `all`), by
    default the stage's only use case."""
    deployed = [use_case.name for use_case in config.use_cases]
    if not options:
        return deployed if len(deployed) == 1 else []
    if ALL in options:
        return deployed
    return list(dict.fromkeys(check_use_case(o, config, f"--use-case {o}") for o in options))


def resolve_runs(names: list[str], options: list[str] | None, config: StageConfig) -> list[str]:
    """The runs a command line names, as `<use case>:<pipeline>`: a bare pipeline once per
    selected use case; grouped by use case in the order they are named, each use case's
    pipelines in the order given."""
    selected = selected_use_cases(options, config)
    runs: list[str] = []
    for name in names:
        use_case, pipeline = split_address(name)
        if not _PIPELINE.match(pipeline):
            example = config.use_cases[0].name if config.use_cases else "<use case>"
            raise RunnerError(f"{name}: {pipeline!r} is not a pipeline name",
                              f"name one as <use case>:<pipeline>, e.g. {example}:training")
        if use_case is not None:
            runs.append(f"{check_use_case(use_case, config, name)}:{pipeline}")
        elif selected:
            runs += [f"{chosen}:{pipeline}" for chosen in selected]
        else:
            deployed = [u.name for u in config.use_cases]
            raise RunnerError(f"{name}: stage {config.stage!r} deploys {len(deployed)} use "
                              f"cases ({', '.join(deployed)}): which one's {pipeline}?",
                              f"name it ({deployed[0]}:{pipeline}) or pass --use-case "
                              f"{deployed[0]} (or --use-case {ALL})")
    twice = sorted({run for run in runs if runs.count(run) > 1})
    if twice:
        raise RunnerError(f"{', '.join(twice)} named twice", "run each pipeline once")
    order = list(dict.fromkeys(split_address(run)[0] for run in runs))
    return sorted(runs, key=lambda run: order.index(split_address(run)[0]))


def platform_pipelines() -> tuple[str, ...]:
    """The pipelines the platform builds for every use case, where the stacks name them
    (imported only before a synth: it loads the CDK, about a second)."""
    os.environ.update({k: v for k, v in OFFLINE_ENV.items() if k not in os.environ})
    from ml_constructs.resource_names import PIPELINES

    return PIPELINES


def check_pipelines(runs: list[str], known: tuple[str, ...] | None = None) -> None:
    """Each run's pipeline is one the platform builds; else the nearest, before any synth."""
    known = known or (platform_pipelines() if runs else ())
    for run in runs:
        pipeline = split_address(run)[1]
        if pipeline not in known:
            guess = nearest(pipeline, known)
            raise RunnerError(f"{run}: there is no pipeline {pipeline!r}"
                              + (f"; did you mean {guess}?" if guess else ""),
                              f"pipelines: {', '.join(known)}")


def runs_named(key: str, runs: list[str]) -> list[str]:
    """The runs an input's key names: `<use case>:<pipeline>` one, a bare pipeline every run
    of that pipeline."""
    use_case, pipeline = split_address(key)
    return [run for run in runs if (run == key if use_case else split_address(run)[1] == key)]


def read_inputs(specs: list[str] | None, runs: list[str]) -> dict[str, dict]:
    """`--input FILE` (the first run's) or `--input PIPELINE=FILE` (PIPELINE as `runs_named`
    reads it), any number of times, each run at most once. A spec that is an existing file is
    a file, `=` or not."""
    inputs: dict[str, dict] = {}
    for spec in specs or []:
        key, sep, path = spec.partition("=")
        if not sep or Path(spec).is_file():
            key, path = runs[0], spec
        targets = runs_named(key, runs)
        if not targets:
            names = sorted({*runs, *(split_address(run)[1] for run in runs)})
            guess = nearest(key, names)
            raise RunnerError(f"--input {spec}: {key} is not one of the pipelines run "
                              f"({', '.join(runs)})" + (f"; did you mean {guess}?" if guess
                                                         else ""),
                              f"add {key} to the pipelines, or drop this --input")
        document = read_input(path)
        for run in targets:
            if run in inputs:
                raise RunnerError(f"--input {spec}: a second input for {run}",
                                  "one --input per pipeline (merge the two files)")
            inputs[run] = document
    return inputs


def inputs_for(runs: list[str], given: dict[str, dict]) -> dict[str, dict]:
    """A seed's inputs (keys as `runs_named` reads them) for the runs they name; keys that
    name no run are for pipelines not run this time."""
    found: dict[str, dict] = {}
    for key, document in given.items():
        for run in runs_named(key, runs):
            found[run] = document
    return found


def check_file(option: str, path: str | Path) -> Path:
    if not Path(path).is_file():
        raise RunnerError(f"{option} {path}: no such file", f"give an existing file to {option}")
    return Path(path)
