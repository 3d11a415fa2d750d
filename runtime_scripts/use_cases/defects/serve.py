"""The defects use case's `serve` entry point: its onnxruntime image server."""

from runtime_scripts.common.entry import run_as

if __name__ == "__main__":
    run_as("defects", "runtime_scripts.use_cases.defects.server")
