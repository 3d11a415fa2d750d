"""`mlplatform`: run the pipelines on this machine, start them on AWS, inspect their definitions."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from config import StageConfig
from config.problems import ConfigError, display_path
from local_runner import cli_parser
from local_runner.assembly import (
    assembly_dir,
    read_stacks,
    synth,
    synth_is_current,
)
from local_runner.cli_inputs import (
    check_file,
    check_pipelines,
    check_stage,
    inputs_for,
    read_input,
    read_inputs,
    resolve_runs,
    stages_read,
)
from local_runner.definitions import find, split_address, state_machines
from local_runner.errors import RunnerError

if TYPE_CHECKING:
    from local_runner.local_run import ExecutionResult
    from local_runner.local_seed import Seed


def _outdir(args: argparse.Namespace) -> Path:
    return Path(args.outdir) if args.outdir else assembly_dir(args.stage)


def _will_synth(args: argparse.Namespace, config: StageConfig) -> bool:
    stale = not synth_is_current(_outdir(args), args.stage, stages_read(config))
    return args.synth == "always" or (args.synth == "auto" and stale)


def _assembly(args: argparse.Namespace, config: StageConfig | None = None,
              runs: list[str] = ()) -> Path:
    """The stage's cloud assembly, synthesized when missing or older than what it is made of.
    The stage and its configuration are checked first, and before a synth the pipelines of
    `runs` too: a mistake there costs no synth."""
    config = config or check_stage(args.stage)
    outdir = _outdir(args)
    if _will_synth(args, config):
        check_pipelines(runs)
        print(f"Synthesizing stage {args.stage!r} into {display_path(outdir)} ...", flush=True)
        synth(args.stage, outdir)
    return outdir


def _one_run(args: argparse.Namespace, config: StageConfig) -> str:
    """The single `<use case>:<pipeline>` that `start` and `definition` address."""
    runs = resolve_runs([args.pipeline], [args.use_case] if args.use_case else None, config)
    if len(runs) != 1:
        raise RunnerError(f"{args.pipeline}: names {len(runs)} pipelines ({', '.join(runs)})",
                          "name one, as <use case>:<pipeline>")
    return runs[0]


# --- summary / definition / use-cases -------------------------------------------------------------
def _summary(args: argparse.Namespace) -> int:
    outdir = _assembly(args)
    stacks = read_stacks(outdir)
    print(f"Stage {args.stage!r}: {len(stacks)} stack(s) synthesized offline into "
          f"{display_path(outdir)}, cdk-nag clean (AwsSolutions + NIST 800-53 R5).")
    for stack in stacks:
        counts = stack.resource_counts
        print(f"\n{stack.stack_name}  ({sum(counts.values())} resources)")
        for resource_type, count in sorted(counts.items()):
            print(f"  {count:3d}  {resource_type}")
    print("\nDeploy with: source .venv/bin/activate && "
          f"npx cdk deploy --all -c stage={args.stage}")
    return 0


def _definition(args: argparse.Namespace) -> int:
    config = check_stage(args.stage)
    run = _one_run(args, config)
    definition = find(state_machines(read_stacks(_assembly(args, config, [run]))), run)
    print(json.dumps(definition.asl, indent=2))
    return 0


def _use_cases(args: argparse.Namespace) -> int:
    config = check_stage(args.stage)
    definitions = state_machines(read_stacks(_assembly(args, config)))
    print(f"Stage {args.stage!r} deploys {len(config.use_cases)} use case(s):")
    for use_case in config.use_cases:
        manifest = use_case.manifest
        print(f"\n{use_case.name}  ({manifest.problem_type}, data prefix {use_case.prefix})")
        print(f"  {manifest.description}")
        mine = sorted((d for d in definitions if d.belongs_to(use_case.name) and d.pipeline),
                      key=lambda d: d.name)
        width = max((len(d.pipeline) for d in mine), default=0) + len(use_case.name) + 3
        for definition in mine:
            address = f"{use_case.name}:{definition.pipeline}"
            print(f"  {address:<{width}} state machine {definition.name}")
    return 0


def _new_use_case(args: argparse.Namespace) -> int:
    from local_runner.scaffold import next_steps, scaffold

    created = scaffold(args.name, args.template)
    print(next_steps(created))
    return 0


# --- run (local) ----------------------------------------------------------------------------------
def _seed(args: argparse.Namespace, config: StageConfig, runs: list[str]) -> Seed:
    """--seed's file, else the local-run data of the pipelines run, checked before any synth."""
    from local_runner.local_seed import Seed

    if args.seed:
        return Seed.from_file(check_file("--seed", args.seed)).check()
    names = list(dict.fromkeys(split_address(run)[0] for run in runs))
    return Seed.for_use_cases([config.use_case(name) for name in names], runs).check()


def _run(args: argparse.Namespace) -> int:
    from local_runner.local_run import LocalPlatform
    from local_runner.local_seed import merge
    from local_runner.reporting import print_metrics_side_by_side
    from local_runner.results_folder import ResultsFolder
    from local_runner.use_case_requirements import ensure_installed

    # Everything the user typed is checked before the synth (15-30 s) and the emulated account.
    if args.max_trials < 1:
        raise RunnerError(f"--max-trials {args.max_trials}: at least 1 trial is needed")
    config = check_stage(args.stage)
    runs = resolve_runs(args.pipelines, args.use_case, config)
    inputs = read_inputs(args.input, runs)
    seed = _seed(args, config, runs)
    ensure_installed(config.use_case(name).manifest
                     for name in dict.fromkeys(split_address(run)[0] for run in runs))
    outdir = _assembly(args, config, runs)
    definitions = state_machines(read_stacks(outdir))
    for run in runs:  # a pipeline the templates do not have: named before any account is made
        find(definitions, run)
    results = ResultsFolder(Path(args.results))
    started = time.monotonic()
    reports: list[Path] = []
    # Every job's MLflow run, in one store across runs (experiments per use case, a parent
    # run per execution): `mlflow ui --backend-store-uri <results>/mlflow` (README).
    with LocalPlatform(outdir, max_local_trials=args.max_trials,
                       tracking_store=results.tracking_store) as platform:
        for uri in platform.seed(seed):
            print(f"  seeded {uri}")
        seeded = inputs_for(runs, platform.seed_inputs(seed))
        stamp = time.strftime("%Y%m%d-%H%M%S")
        results.start_run()
        finished = []
        for run in runs:
            # --input over the seed's input for the run: objects merge, its values win.
            execution_input = merge(seeded.get(run, {}), inputs.get(run, {}))
            name = f"local-{run.replace(':', '-')}-{stamp}"
            result, report = _run_pipeline(platform, run, execution_input, name, results)
            if result.status != "SUCCEEDED":
                return 1
            finished.append(result)
            reports += [report] if report else []
        print_metrics_side_by_side(finished)
    print(f"\nDone in {time.monotonic() - started:.1f} s. This run's results: "
          f"{display_path(results.latest)}/ ({', '.join(r.replace(':', '-') for r in runs)})")
    if reports:
        print(f"Open the evaluation report: {display_path(reports[-1])}")
    return 0


def _run_pipeline(platform, run: str, execution_input: dict, name: str,
                  results) -> tuple[ExecutionResult, Path | None]:
    """One execution, followed live, its artefacts copied and summarized: its result, and its
    report.html if it wrote one."""
    from local_runner.live_view import LiveView
    from local_runner.reporting import find_report, print_failure, print_summary, write_summary
    from local_runner.tuning_report import trial_table

    print(f"\n▶ {run}: execution {name}")
    view = LiveView(progress=platform.in_progress)
    tuned_before = set(platform.tuning_jobs())
    emulated_before = set(_emulated(platform))
    result = platform.run(run, execution_input, name=name, on_step=view.show,
                          on_tick=view.tick)
    for job, message in _emulated(platform).items():
        if job not in emulated_before:  # a stand-in ran instead of an AWS-owned image
            print(f"  ⚠ {job}: {message}")
    folder = results.execution(name)
    files = platform.download_run(name, folder)
    tables = [trial_table(describe, trials)
              for job, (describe, trials) in platform.tuning_jobs().items()
              if job not in tuned_before and trials]
    summary = write_summary(result, files, folder, tables)
    results.link_latest(run.replace(":", "-"), folder)
    if result.status != "SUCCEEDED":
        print_failure(result, platform.sagemaker)
        print(f"  summary: {display_path(summary)}")
        return result, None
    print_summary(result, files, folder, tables)
    return result, find_report(files)


def _emulated(platform) -> dict[str, str]:
    from local_runner.stand_ins import emulated_jobs

    jobs = platform.sagemaker.state.jobs
    return emulated_jobs({**jobs.get("processing-job", {}), **jobs.get("automl-job", {})},
                         jobs.get("training-job", {}))


# --- start (AWS) ----------------------------------------------------------------------------------
def _start(args: argparse.Namespace) -> int:
    from local_runner.aws_client import start_and_watch

    config = check_stage(args.stage)
    return start_and_watch(stage=args.stage, address=_one_run(args, config),
                           execution_input=read_input(args.input), watch=args.watch,
                           region=args.region)


def build_parser() -> argparse.ArgumentParser:
    return cli_parser.build_parser({"run": _run, "start": _start, "definition": _definition,
                                    "use-cases": _use_cases, "new-use-case": _new_use_case,
                                    "summary": _summary})


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.handler(args)
    except (RunnerError, ConfigError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
