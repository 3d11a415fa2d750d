"""`mlplatform`'s commands and options; the handlers are local_runner/cli.py's."""

from __future__ import annotations

import argparse
from collections.abc import Callable

from local_runner.assembly import PROJECT_ROOT
from local_runner.cli_inputs import ALL

DEFAULT_RESULTS = PROJECT_ROOT / "local_out"
Handler = Callable[[argparse.Namespace], int]


def build_parser(handlers: dict[str, Handler]) -> argparse.ArgumentParser:
    """The parser; `handlers` maps each command to the function that runs it."""
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
    run.set_defaults(handler=handlers["run"])

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
    start.set_defaults(handler=handlers["start"])

    definition = commands.add_parser(
        "definition", help="print a pipeline's synthesized state machine (ASL) as JSON")
    definition.add_argument("pipeline", metavar="[USE_CASE:]PIPELINE", help=pipeline_help)
    definition.add_argument("--use-case", metavar="USE_CASE",
                            help="the use case of a bare PIPELINE")
    with_stage(definition)
    definition.set_defaults(handler=handlers["definition"])

    use_cases = commands.add_parser(
        "use-cases", help="list the use cases a stage deploys and their state machines",
        description="Each use case of the stage: its name, problem type, data prefix and "
                    "description (its manifest) and its pipelines' state machines (the "
                    "synthesized templates).")
    with_stage(use_cases)
    use_cases.set_defaults(handler=handlers["use-cases"])

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
    new.set_defaults(handler=handlers["new-use-case"])

    summary = commands.add_parser(
        "summary", help="synthesize every stack offline and list what `cdk deploy` would create")
    with_stage(summary)
    summary.set_defaults(handler=handlers["summary"])
    return parser
