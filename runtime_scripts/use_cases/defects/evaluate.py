"""The defects use case's `evaluate` entry point: its image evaluation job."""

from runtime_scripts.common.entry import run_as

if __name__ == "__main__":
    run_as("defects", "runtime_scripts.use_cases.defects.evaluate_job")
