"""`training.channels`: each training channel's options (content type, compression, record
wrapper, S3 data and distribution type, input mode), checked against what the use case's
channels support (`platform.channels`, from its manifest) and SageMaker's rules across them
(runtime_scripts/channels.py), then shaped for the request (`training.channel_config`).

Every pipeline that trains (training, cross-validation, backtest) shares this section.
"""

from __future__ import annotations

from typing import Any

from .. import channels as rules
from .. import contract
from .errors import Problem
from .schema import Enum, ListOf, Nullable, Obj, Str

NAMES = (contract.CHANNEL_TRAIN, contract.CHANNEL_VALIDATION, contract.CHANNEL_TRANSFORM)

CHANNEL = Obj({
    "content_type": Str(max_len=rules.MAX_CONTENT_TYPE),
    "compression_type": Enum(rules.COMPRESSION_TYPES),
    "record_wrapper_type": Enum(rules.RECORD_WRAPPER_TYPES),
    "s3_data_type": Enum(rules.S3_DATA_TYPES),
    # API: AttributeName 1 .. 256 characters.
    "attribute_names": ListOf(Str(max_len=256), 0, rules.MAX_ATTRIBUTE_NAMES),
    "s3_data_distribution_type": Enum(rules.DISTRIBUTION_TYPES),
    "input_mode": Enum(rules.INPUT_MODES),
})
SCHEMA = Obj({name: CHANNEL for name in NAMES})

_ALLOWED = Obj({**{key: ListOf(Str(max_len=rules.MAX_CONTENT_TYPE), 1)
                   for key in rules.OPTION_KEYS if key != "attribute_names"},
                "manifest_file": Nullable(Str(max_len=1024))})
# What the use case's channels accept (its manifest's `channels`, ChannelSupport.allowed).
PLATFORM_FIELDS = {"channels": Obj({name: _ALLOWED for name in NAMES})}


def check(section: dict[str, Any], platform: dict[str, Any], out: list[Problem],
          key: str = "training.channels") -> None:
    for name in NAMES:
        for found in rules.channel_problems(name, section[name], platform["channels"][name],
                                            platform["use_case"]):
            out.append(Problem(f"{key}.{name}.{found.key}", found.problem, found.allowed))


def derive(section: dict[str, Any], platform: dict[str, Any]) -> dict[str, Any]:
    """The request members of each channel (ml_constructs/sagemaker_jobs.py reads them)."""
    return {name: rules.api_channel(section[name], platform["channels"][name])
            for name in NAMES}


def sources(s3: dict[str, str], channel_config: dict[str, Any]) -> dict[str, dict[str, str]]:
    """Each channel's `{"S3Uri": ...}` in a run whose folders are `s3` (`run.channel_sources`):
    its folder, or the manifest object in it for a manifest data type."""
    return {name: {"S3Uri": s3[name] + channel_config[name]["object"]} for name in NAMES}
