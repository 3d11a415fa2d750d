"""The ames use case's `serve` entry point: the shared tabular inference server."""

from runtime_scripts.common.entry import run_as

if __name__ == "__main__":
    run_as("ames", "runtime_scripts.common.serving.server")
