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
from local_runner.assembly import (
    PROJECT_ROOT,
    assembly_dir,
    read_stacks,
    synth,
    synth_is_current,
)
from local_runner.cli_inputs import (
    ALL,
    check_file,
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

DEFAULT_RESULTS = PROJECT_ROOT / "local_out"


def _assembly(args: argparse.Namespace, config: StageConfig | None = None) -> Path:
    """The stage's cloud assembly, synthesized when missing or older than what it is made of.
    The stage and its configuration are checked first: a mistake there costs no synth."""
    config = config or check_stage(args.stage)
    outdir = Path(args.outdir) if args.outdir else assembly_dir(args.stage)
    stale = not synth_is_current(outdir, args.stage, stages_read(config))
    if args.synth == "always" or (args.synth == "auto" and stale):
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
    definition = find(state_machines(read_stacks(_assembly(args, config))), run)
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

    # Everything the user typed is checked before the synth (15-30 s) and the emulated account.
    if args.max_trials < 1:
        raise RunnerError(f"--max-trials {args.max_trials}: at least 1 trial is needed")
    config = check_stage(args.stage)
    runs = resolve_runs(args.pipelines, args.use_case, config)
    inputs = read_inputs(args.input, runs)
    seed = _seed(args, config, runs)
    outdir = _assembly(args, config)
    definitions = state_machines(read_stacks(outdir))
    for run in runs:  # a pipeline the templates do not have: named before any account is made
        find(definitions, run)
    results = ResultsFolder(Path(args.results))
    started = time.monotonic()
    reports: list[Path] = []
    with LocalPlatform(outdir, max_local_trials=args.max_trials) as platform:
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
    result = platform.run(run, execution_input, name=name, on_step=view.show,
                          on_tick=view.tick)
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


# --- start (AWS) ----------------------------------------------------------------------------------
def _start(args: argparse.Namespace) -> int:
    from local_runner.aws_client import start_and_watch

    config = check_stage(args.stage)
    return start_and_watch(stage=args.stage, address=_one_run(args, config),
                           execution_input=read_input(args.input), watch=args.watch,
                           region=args.region)


def build_parser() -> argparse.ArgumentParser:
    from local_runner.scaffold import describe_templates
    from runtime_scripts.common.manifest import available_use_cases

    # The examples name a use case that exists (the first one), never a fixed one.
    example = next(iter(available_use_cases()), "my-model")
    pipeline_help = (f"a use case's pipeline, USE_CASE:PIPELINE ({example}:training), or "
                     "PIPELINE for the use case --use-case names (default: the stage's only "
                     "use case); `mlplatform use-cases` lists them")

    parser = argparse.ArgumentParser(
        prog="mlplatform",
        description="Run the ML platform's pipelines on this machine (AWS emulated, real jobs on "
                    "real data), start them on a deployed stack, or inspect what is deployed. "
                    "Each use case a stage deploys (config/stages/<stage>.json, use_cases) has "
                    "its own pipelines, named USE_CASE:PIPELINE.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="command")

    def with_stage(sub: argparse.ArgumentParser) -> None:
        sub.add_argument("--stage", default="dev",
                         help="stage configuration config/stages/<stage>.json (default: dev)")
        sub.add_argument("--outdir", default=None,
                         help="cloud assembly folder (default: ./cdk.out/<stage>, one per "
                              "stage)")
        sub.add_argument("--synth", choices=("auto", "always", "never"), default="auto",
                         help="auto: synthesize only when the stage's assembly is missing or "
                              "older than the app's code, config or its stage file; always; "
                              "never: use the assembly as it is")

    run = commands.add_parser(
        "run", help="execute pipelines locally, end to end, on the use cases' sample data",
        description="Synthesize the app, deploy it into an emulated AWS account (moto), upload "
                    "each use case's local-run data (its manifest's sample_data, local_batch, "
                    "local_batch_labels), execute the synthesized state machines with every "
                    "SageMaker/Glue job running the real scripts (and endpoints the real "
                    "inference server), show each state as it runs, then print the results and "
                    "copy the artefacts to --results.",
        epilog=f"examples: mlplatform run {example}:training {example}:batch-inference | "
               f"mlplatform run --use-case {example} training batch-inference | "
               f"mlplatform run --use-case {ALL} training batch-inference (`make run`)")
    run.add_argument("pipelines", nargs="+", metavar="[USE_CASE:]PIPELINE",
                     help=pipeline_help + "; run grouped by use case, in the order named, in "
                          "the same emulated account (so batch inference finds the model "
                          "training registered)")
    run.add_argument("--use-case", action="append", metavar="USE_CASE",
                     help=f"the use case a bare PIPELINE is for; repeat for several, or "
                          f"`{ALL}` for every use case of the stage")
    run.add_argument("--input", action="append", metavar="[PIPELINE=]FILE",
                     help="JSON file with an execution input, merged over the local-run data's "
                          "input: FILE for the first pipeline run, PIPELINE=FILE for another "
                          "(USE_CASE:PIPELINE, or PIPELINE for each use case run); repeat for "
                          "several (default: {} = the stage's defaults). A local deployment "
                          "needs deployment=sample_data/local_deployment.json (no baseline: "
                          "docs/serving.md)")
    run.add_argument("--seed", default=None,
                     help="JSON file listing the files to upload first and the input each "
                          "pipeline starts with (docs/use-cases.md), instead of the use "
                          "cases' own local-run data")
    run.add_argument("--results", default=str(DEFAULT_RESULTS),
                     help="folder the run's artefacts are copied to, one folder per execution, "
                          "`latest/<use case>-<pipeline>` linking to this run's (default: "
                          "./local_out)")
    run.add_argument("--max-trials", type=int, default=4,
                     help="cap on local tuning trials, below the job's own limits (default: 4)")
    with_stage(run)
    run.set_defaults(handler=_run)

    start = commands.add_parser(
        "start", help="start a pipeline on the deployed stack in your AWS account",
        description="Start an execution of a deployed state machine (found by its use-case and "
                    "pipeline tags, with tag:GetResources) with boto3 and your AWS "
                    "credentials; --watch follows it.")
    start.add_argument("pipeline", metavar="[USE_CASE:]PIPELINE", help=pipeline_help)
    start.add_argument("--use-case", metavar="USE_CASE", help="the use case of a bare PIPELINE")
    start.add_argument("--input", help="JSON file with the execution input (default: {})")
    start.add_argument("--watch", action="store_true",
                       help="follow the execution state by state until it ends")
    start.add_argument("--stage", default="dev", help="deployed stage (default: dev)")
    start.add_argument("--region", default=None,
                       help="AWS region (default: the stage's configured region)")
    start.set_defaults(handler=_start)

    definition = commands.add_parser(
        "definition", help="print a pipeline's synthesized state machine (ASL) as JSON")
    definition.add_argument("pipeline", metavar="[USE_CASE:]PIPELINE", help=pipeline_help)
    definition.add_argument("--use-case", metavar="USE_CASE",
                            help="the use case of a bare PIPELINE")
    with_stage(definition)
    definition.set_defaults(handler=_definition)

    use_cases = commands.add_parser(
        "use-cases", help="list the use cases a stage deploys and their state machines",
        description="Each use case of the stage: its name, problem type, data prefix and "
                    "description (its manifest) and its pipelines' state machines (the "
                    "synthesized templates).")
    with_stage(use_cases)
    use_cases.set_defaults(handler=_use_cases)

    new = commands.add_parser(
        "new-use-case", help="scaffold a new use case from an existing one",
        description="Copy a use case's folder to runtime_scripts/use_cases/NAME/ (manifest, "
                    "dataset spec, Glue schema, Dockerfile, entry points, sample data, tests), "
                    "renamed to NAME, and print what to edit next. It runs at once on the "
                    "template's sample data.",
        epilog=f"templates: {describe_templates()}")
    new.add_argument("name", metavar="NAME",
                     help="the new use case's name: 2-12 lowercase letters, digits and single "
                          "'-', starting with a letter (part of every AWS name it gets)")
    new.add_argument("--from", dest="template", required=True, metavar="TEMPLATE",
                     help="the use case to start from (see templates below)")
    new.set_defaults(handler=_new_use_case)

    summary = commands.add_parser(
        "summary", help="synthesize every stack offline and list what `cdk deploy` would create")
    with_stage(summary)
    summary.set_defaults(handler=_summary)
    return parser


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
