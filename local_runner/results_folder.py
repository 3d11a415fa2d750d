"""Where `mlplatform run` puts what a run produced: `<results>/<execution>/...` (the keys below the
execution's folder in S3, no bucket names), and `<results>/latest/<pipeline>`, a link to the
last run's execution of each pipeline it ran."""

from __future__ import annotations

import os
from pathlib import Path

LATEST = "latest"


class ResultsFolder:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    @property
    def latest(self) -> Path:
        return self.root / LATEST

    @property
    def tracking_store(self) -> Path:
        """The MLflow file store the local jobs log their runs to."""
        return self.root / "mlflow"

    def execution(self, name: str) -> Path:
        return self.root / name

    def start_run(self) -> None:
        """A new run: `latest` forgets the previous run's links (and only links)."""
        if self.latest.is_symlink():
            self.latest.unlink()
        self.latest.mkdir(parents=True, exist_ok=True)
        for entry in self.latest.iterdir():
            if entry.is_symlink():
                entry.unlink()

    def link_latest(self, pipeline: str, folder: Path) -> Path:
        """`latest/<pipeline>` -> the execution's folder (relative, so the tree can move)."""
        link = self.latest / pipeline
        if link.is_symlink():
            link.unlink()
        link.symlink_to(Path(os.path.relpath(folder, self.latest)), target_is_directory=True)
        return link
