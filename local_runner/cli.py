"""`mlplatform`: run the pipelines on this machine, start them on AWS, inspect their definitions."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from config.problems import ConfigError, display_path
from local_runner.assembly import (
    PROJECT_ROOT,
    assembly_dir,
    read_stacks,
    synth,
    synth_is_current,
)
from local_runner.cli_inputs import check_file, check_stage, read_input, read_inputs, stages_read
from local_runner.definitions import find, state_machines
from local_runner.errors import RunnerError

DEFAULT_RESULTS = PROJECT_ROOT / "local_out"
PIPELINES = ("training", "batch-inference", "deployment")


def _assembly(args: argparse.Namespace) -> Path:
    """The stage's cloud assembly, synthesized when missing or older than what it is made of.
    The stage and its configuration are checked first: a mistake there costs no synth."""
    config = check_stage(args.stage)
    outdir = Path(args.outdir) if args.outdir else assembly_dir(args.stage)
    stale = not synth_is_current(outdir, args.stage, stages_read(config))
    if args.synth == "always" or (args.synth == "auto" and stale):
        print(f"Synthesizing stage {args.stage!r} into {display_path(outdir)} ...", flush=True)
        synth(args.stage, outdir)
    return outdir


# --- summary / definition -------------------------------------------------------------------------
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
    definition = find(state_machines(read_stacks(_assembly(args))), args.pipeline)
    print(json.dumps(definition.asl, indent=2))
    return 0


# --- run (local) ----------------------------------------------------------------------------------
def _run(args: argparse.Namespace) -> int:
    from local_runner.local_run import LocalPlatform
    from local_runner.results_folder import ResultsFolder

    # Everything the user typed is checked before the synth (15-30 s) and the emulated account.
    if args.max_trials < 1:
        raise RunnerError(f"--max-trials {args.max_trials}: at least 1 trial is needed")
    inputs = read_inputs(args.input, args.pipelines, PIPELINES)
    seed_file = check_file("--seed", args.seed)
    outdir = _assembly(args)
    results = ResultsFolder(Path(args.results))
    started = time.monotonic()
    reports: list[Path] = []
    with LocalPlatform(outdir, max_local_trials=args.max_trials) as platform:
        for uri in platform.seed(seed_file):
            print(f"  seeded {uri}")
        stamp = time.strftime("%Y%m%d-%H%M%S")
        results.start_run()
        for pipeline in args.pipelines:
            succeeded, report = _run_pipeline(platform, pipeline, inputs.get(pipeline, {}),
                                              f"local-{pipeline}-{stamp}", results)
            if not succeeded:
                return 1
            reports += [report] if report else []
    print(f"\nDone in {time.monotonic() - started:.1f} s. This run's results: "
          f"{display_path(results.latest)}/ ({', '.join(args.pipelines)})")
    if reports:
        print(f"Open the evaluation report: {display_path(reports[-1])}")
    return 0


def _run_pipeline(platform, pipeline: str, execution_input: dict, name: str,
                  results) -> tuple[bool, Path | None]:
    """One execution, followed live, its artefacts copied and summarized: whether it
    succeeded, and its report.html if it wrote one."""
    from local_runner.live_view import LiveView
    from local_runner.reporting import find_report, print_failure, print_summary, write_summary
    from local_runner.tuning_report import trial_table

    print(f"\n▶ {pipeline}: execution {name}")
    view = LiveView(progress=platform.in_progress)
    tuned_before = set(platform.tuning_jobs())
    result = platform.run(pipeline, execution_input, name=name, on_step=view.show,
                          on_tick=view.tick)
    folder = results.execution(name)
    files = platform.download_run(name, folder)
    tables = [trial_table(describe, trials)
              for job, (describe, trials) in platform.tuning_jobs().items()
              if job not in tuned_before and trials]
    summary = write_summary(result, files, folder, tables)
    results.link_latest(pipeline, folder)
    if result.status != "SUCCEEDED":
        print_failure(result, platform.sagemaker)
        print(f"  summary: {display_path(summary)}")
        return False, None
    print_summary(result, files, folder, tables)
    return True, find_report(files)


# --- start (AWS) ----------------------------------------------------------------------------------
def _start(args: argparse.Namespace) -> int:
    from local_runner.aws_client import start_and_watch

    return start_and_watch(stage=args.stage, pipeline=args.pipeline,
                           execution_input=read_input(args.input), watch=args.watch,
                           region=args.region)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mlplatform",
        description="Run the ML platform's pipelines on this machine (AWS emulated, real jobs on "
                    "real data), start them on a deployed stack, or inspect what is deployed.")
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
        "run", help="execute pipelines locally, end to end, on the sample data",
        description="Synthesize the app, deploy it into an emulated AWS account (moto), upload "
                    "the sample data, execute the synthesized state machines with every "
                    "SageMaker/Glue job running the real scripts (and endpoints the real "
                    "inference server), show each state as it runs, then print the results and "
                    "copy the artefacts to --results.")
    run.add_argument("pipelines", nargs="+", choices=PIPELINES, metavar="pipeline",
                     help=f"one or more of {', '.join(PIPELINES)}, run in order in the same "
                          "emulated account (so batch inference finds the model training "
                          "registered)")
    run.add_argument("--input", action="append", metavar="[PIPELINE=]FILE",
                     help="JSON file with an execution input: FILE for the first pipeline, "
                          "PIPELINE=FILE for another; repeat for several (default: {} = the "
                          "stage's defaults). A local deployment needs "
                          "deployment=sample_data/local_deployment.json (no baseline: "
                          "docs/serving.md)")
    run.add_argument("--seed", default=str(PROJECT_ROOT / "sample_data" / "local_run.json"),
                     help="JSON file listing the files to upload first (default: "
                          "sample_data/local_run.json)")
    run.add_argument("--results", default=str(DEFAULT_RESULTS),
                     help="folder the run's artefacts are copied to, one folder per execution, "
                          "`latest/<pipeline>` linking to this run's (default: ./local_out)")
    run.add_argument("--max-trials", type=int, default=4,
                     help="cap on local tuning trials, below the job's own limits (default: 4)")
    with_stage(run)
    run.set_defaults(handler=_run)

    start = commands.add_parser(
        "start", help="start a pipeline on the deployed stack in your AWS account",
        description="Start an execution of a deployed state machine (ARN from the stack "
                    "outputs) with boto3 and your AWS credentials; --watch follows it.")
    start.add_argument("pipeline", choices=PIPELINES)
    start.add_argument("--input", help="JSON file with the execution input (default: {})")
    start.add_argument("--watch", action="store_true",
                       help="follow the execution state by state until it ends")
    start.add_argument("--stage", default="dev", help="deployed stage (default: dev)")
    start.add_argument("--region", default=None,
                       help="AWS region (default: the stage's configured region)")
    start.set_defaults(handler=_start)

    definition = commands.add_parser(
        "definition", help="print a pipeline's synthesized state machine (ASL) as JSON")
    definition.add_argument("pipeline", choices=PIPELINES)
    with_stage(definition)
    definition.set_defaults(handler=_definition)

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
