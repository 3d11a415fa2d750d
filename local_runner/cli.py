"""`mlplatform`: synthesize and summarise the app (more commands arrive with the local runner)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from local_runner.assembly import PROJECT_ROOT, read_stacks, synth
from local_runner.errors import RunnerError


def _summary(args: argparse.Namespace) -> int:
    outdir = Path(args.outdir)
    synth(args.stage, outdir)
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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mlplatform",
        description="Synthesize the ML platform and run its pipelines locally or on AWS.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    summary = commands.add_parser(
        "summary", help="synthesize every stack offline and list what `cdk deploy` would create")
    summary.add_argument("--stage", default="dev",
                         help="stage configuration in config/stages/<stage>.json (default: dev)")
    summary.add_argument("--outdir", default=str(PROJECT_ROOT / "cdk.out"),
                         help="where the cloud assembly is written (default: ./cdk.out)")
    summary.set_defaults(handler=_summary)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.handler(args)
    except RunnerError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
