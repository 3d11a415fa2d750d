"""`training.channels`: the options of each training channel a stage (or one use case of it)
chooses over its use case's defaults. The rules are runtime_scripts/channels.py's, the same
ones the first state of every training pipeline applies to an execution's input."""

from __future__ import annotations

from dataclasses import dataclass, field, fields

from config.problems import report
from runtime_scripts import channels as rules
from runtime_scripts.common.manifest import UseCaseManifest


@dataclass(frozen=True)
class ChannelConfig:
    """One channel's options; None keeps the use case's default (its manifest's first value)."""

    content_type: str | None = None
    compression_type: str | None = None
    record_wrapper_type: str | None = None
    s3_data_type: str | None = None
    attribute_names: list[str] = field(default_factory=list)
    s3_data_distribution_type: str | None = None
    input_mode: str | None = None

    def validate(self, key: str) -> None:
        for name, allowed in rules.API_VALUES.items():
            value = getattr(self, name)
            if value is not None and value not in allowed:
                report(f"{key}.{name}", f"{value!r} is not a SageMaker value",
                       ", ".join(allowed))

    def options(self, manifest: UseCaseManifest, name: str, *, builtin: bool = False) -> dict:
        chosen = {f.name: getattr(self, f.name) for f in fields(self)}
        return {**manifest.channel(name, builtin=builtin).defaults,
                **{k: v for k, v in chosen.items() if v not in (None, [])}}


@dataclass(frozen=True)
class ChannelsConfig:
    train: ChannelConfig = field(default_factory=ChannelConfig)
    validation: ChannelConfig = field(default_factory=ChannelConfig)
    transform: ChannelConfig = field(default_factory=ChannelConfig)

    def validate(self, key: str) -> None:
        for f in fields(self):
            getattr(self, f.name).validate(f"{key}.{f.name}")

    def options(self, manifest: UseCaseManifest, *, builtin: bool = False) -> dict[str, dict]:
        """Each channel's options as the pipelines' defaults hold them (`builtin`: training
        with the built-in algorithm, UseCaseManifest.channel)."""
        return {f.name: getattr(self, f.name).options(manifest, f.name, builtin=builtin)
                for f in fields(self)}

    def validate_for(self, key: str, manifest: UseCaseManifest, *,
                     builtin: bool = False) -> None:
        for name, options in self.options(manifest, builtin=builtin).items():
            allowed = manifest.channel(name, builtin=builtin).allowed
            for found in rules.channel_problems(name, options, allowed, manifest.name):
                report(f"{key}.{name}.{found.key}", found.problem, found.allowed)
