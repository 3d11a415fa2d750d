"""Where stage files live: config/stages/<stage>.json, one per stage."""

from __future__ import annotations

from pathlib import Path

from config.problems import ConfigError, display_path, nearest

STAGES_DIR = Path(__file__).with_name("stages")


def available_stages() -> list[str]:
    return sorted(p.stem for p in STAGES_DIR.glob("*.json"))


def stage_file(stage: str) -> Path:
    """config/stages/<stage>.json; an unknown stage says which exist and how to add one."""
    stages = available_stages()
    if stage not in stages:
        guess = nearest(stage, stages)
        hint = f"; did you mean {guess!r}?" if guess else ""
        new_file = display_path(STAGES_DIR / f"{stage}.json")
        raise ConfigError("stage", f"unknown stage {stage!r}{hint}",
                          f"{', '.join(stages)}; to add a stage, create {new_file} (a copy of "
                          f"{display_path(STAGES_DIR / 'dev.json')} to start from)")
    return STAGES_DIR / f"{stage}.json"
