"""The defects use case's `train` entry point: its PyTorch training job."""

from runtime_scripts.common.entry import run_as

if __name__ == "__main__":
    run_as("defects", "runtime_scripts.use_cases.defects.train_job")
