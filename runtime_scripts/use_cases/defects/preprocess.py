"""The defects use case's `preprocess` entry point: its image preprocessing job."""

from runtime_scripts.common.entry import run_as

if __name__ == "__main__":
    run_as("defects", "runtime_scripts.use_cases.defects.preprocess_job")
