"""`mlplatform`: run the pipelines on this machine, start them on AWS, inspect their definitions."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from local_runner.assembly import PROJECT_ROOT, read_stacks, synth, synth_is_current
from local_runner.definitions import find, state_machines
from local_runner.errors import RunnerError

DEFAULT_OUTDIR = PROJECT_ROOT / "cdk.out"
DEFAULT_RESULTS = PROJECT_ROOT / "local_out"
PIPELINES = ("training", "batch-inference", "deployment")


def _assembly(args: argparse.Namespace) -> Path:
    outdir = Path(args.outdir)
    stale = not synth_is_current(outdir, args.stage)
    if args.synth == "always" or (args.synth == "auto" and stale):
        print(f"Synthesizing stage {args.stage!r} into {outdir} ...", flush=True)
        synth(args.stage, outdir)
    return outdir


def _read_input(path: str | None) -> dict:
    if path is None:
        return {}
    try:
        data = json.loads(Path(path).read_text())
    except FileNotFoundError:
        raise RunnerError(f"input file {path} does not exist") from None
    except json.JSONDecodeError as error:
        raise RunnerError(f"input file {path} is not JSON: {error}") from None
    if not isinstance(data, dict):
        raise RunnerError(f"input file {path} must hold a JSON object")
    return data


def _inputs(specs: list[str] | None, pipelines: list[str]) -> dict[str, dict]:
    """`--input FILE` (the first pipeline's) or `--input PIPELINE=FILE`, any number of times."""
    inputs: dict[str, dict] = {}
    for spec in specs or []:
        pipeline, sep, path = spec.partition("=")
        if not sep or pipeline not in PIPELINES:
            pipeline, path = pipelines[0], spec
        if pipeline not in pipelines:
            raise RunnerError(f"--input {spec}: {pipeline} is not one of the pipelines run")
        inputs[pipeline] = _read_input(path)
    return inputs


# --- summary / definition -------------------------------------------------------------------------
def _summary(args: argparse.Namespace) -> int:
    outdir = _assembly(args)
    stacks = read_stacks(outdir)
    print(f"Stage {args.stage!r}: {len(stacks)} stack(s) synthesized offline into {outdir}, "
          "cdk-nag clean (AwsSolutions + NIST 800-53 R5).")
    for stack in stacks:
        counts = stack.resource_counts
        print(f"\n{stack.stack_name}  ({sum(counts.values())} resources)")
        for resource_type, count in sorted(counts.items()):
            print(f"  {count:3d}  {resource_type}")
    print(f"\nDeploy with: npx cdk deploy --all -c stage={args.stage}")
    return 0


def _definition(args: argparse.Namespace) -> int:
    definition = find(state_machines(read_stacks(_assembly(args))), args.pipeline)
    print(json.dumps(definition.asl, indent=2))
    return 0


# --- run (local) ----------------------------------------------------------------------------------
def _run(args: argparse.Namespace) -> int:
    from local_runner.local_run import LocalPlatform
    from local_runner.reporting import (
        LiveView,
        print_failure,
        print_metrics_side_by_side,
        print_summary,
    )

    outdir = _assembly(args)
    inputs = _inputs(args.input, args.pipelines)
    results = Path(args.results)
    started = time.monotonic()
    with LocalPlatform(outdir, max_local_trials=args.max_trials) as platform:
        for uri in platform.seed(Path(args.seed)):
            print(f"  seeded {uri}")
        # The seed file's inputs, unless --input gives a pipeline its own.
        inputs = {**platform.seed_inputs(Path(args.seed)), **inputs}
        stamp = time.strftime("%Y%m%d-%H%M%S")
        finished = []
        for pipeline in args.pipelines:
            name = f"local-{pipeline}-{stamp}"
            print(f"\n▶ {pipeline}: execution {name}")
            view = LiveView()
            result = platform.run(pipeline, inputs.get(pipeline, {}), name=name,
                                  on_step=view.show)
            files = platform.download_run(name, results / name)
            if result.status != "SUCCEEDED":
                print_failure(result, platform.sagemaker)
                return 1
            print_summary(result, files, results / name)
            finished.append(result)
        print_metrics_side_by_side(finished)
    print(f"\nDone in {time.monotonic() - started:.1f} s.")
    return 0


# --- start (AWS) ----------------------------------------------------------------------------------
def _start(args: argparse.Namespace) -> int:
    from local_runner.aws_client import start_and_watch

    return start_and_watch(stage=args.stage, pipeline=args.pipeline,
                           execution_input=_read_input(args.input), watch=args.watch,
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
        sub.add_argument("--outdir", default=str(DEFAULT_OUTDIR),
                         help="cloud assembly folder (default: ./cdk.out)")
        sub.add_argument("--synth", choices=("auto", "always", "never"), default="auto",
                         help="auto: synthesize only when cdk.out is older than the sources or "
                              "for another stage; always; never: use cdk.out as it is")

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
                     help="JSON file listing the files to upload first and the input each "
                          "pipeline starts with, unless --input gives one (default: "
                          "sample_data/local_run.json)")
    run.add_argument("--results", default=str(DEFAULT_RESULTS),
                     help="folder the run's artefacts are copied to (default: ./local_out)")
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
    except RunnerError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
