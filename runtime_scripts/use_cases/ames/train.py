"""The ames use case's `train` entry point: the shared tabular job, for this use case."""

from runtime_scripts.common.entry import run_as

if __name__ == "__main__":
    run_as("ames", "runtime_scripts.common.tabular.train")
