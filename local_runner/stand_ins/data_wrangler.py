"""Stand-in for SageMaker Data Wrangler's container (a labelled emulation, not Data Wrangler).

The real container applies the flow's transforms with Spark. Here the flow is read and checked
as the container would need it (the `flow` input at /opt/ml/processing/flow, the output named in
`--output-config`, its one S3 source's input at /opt/ml/processing/<dataset name>), and the
source's files are copied unchanged to /opt/ml/processing/output: whatever reads the output
next (in the training pipeline, the use case's own preprocessing) runs on the same raw data.
"""

from __future__ import annotations

import json
import shutil
import sys

from local_runner.stand_ins import EMULATED
from runtime_scripts import contract
from runtime_scripts.pipeline_input import wrangler_flow

LABEL = (f"{EMULATED} Data Wrangler's container cannot run on this machine; the flow's "
         "transforms were NOT applied: output {output!r} holds dataset {dataset!r} unchanged, "
         "and the next step runs on the same raw data")


def output_of(arguments: list[str]) -> str:
    """The one output named by `--output-config '<json>'` (one argument, as the SDK sends it,
    or two)."""
    text = " ".join(arguments)
    start = text.find("--output-config")
    if start < 0:
        raise wrangler_flow.FlowError("no --output-config argument names the output to run")
    config = json.loads(text[start + len("--output-config"):].strip().strip("'"))
    if len(config) != 1:
        raise wrangler_flow.FlowError(f"--output-config names {len(config)} outputs; the "
                                      "stand-in runs one")
    return next(iter(config))


def main(arguments: list[str]) -> int:
    processing = contract.MlPaths.from_env().root / "processing"
    message = contract.MlPaths.from_env().root / "output" / "message"
    message.parent.mkdir(parents=True, exist_ok=True)
    try:
        flows = sorted((processing / "flow").rglob("*.flow"))
        if len(flows) != 1:
            raise wrangler_flow.FlowError(f"the flow input holds {len(flows)} .flow files")
        flow = wrangler_flow.parse(flows[0].read_text())
        output = output_of(arguments)
        dataset = wrangler_flow.dataset_name(flow.source(output))
        source = processing / dataset
        files = [f for f in source.rglob("*") if f.is_file()] if source.is_dir() else []
        if not files:
            raise wrangler_flow.FlowError(f"input {dataset!r} (the flow's source) holds no files")
    except (wrangler_flow.FlowError, ValueError) as exc:
        message.write_text(f"Data Wrangler stand-in: {exc}")
        print(f"Data Wrangler stand-in: {exc}", file=sys.stderr)
        return 1
    target = processing / "output"
    for path in files:
        copy = target / path.relative_to(source)
        copy.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, copy)
    label = LABEL.format(output=output, dataset=dataset)
    message.write_text(label)
    print(label, file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
