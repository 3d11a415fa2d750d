"""Training channel options: what a channel of a training or tuning job may be given, what a use
case declares its channels support, and the rules SageMaker applies across them.

Read by the use-case manifest (its `channels`), the stage config (`training.channels`) and the
first state of the training pipelines (`training.channels` of the execution input), so the same
rule refuses the same value everywhere. Standard library only, like contract.py.

The values are botocore's sagemaker enums (Channel, S3DataSource); the cross-field rules are what
the API reference says of them: CompressionType and RecordWrapperType "In File mode, leave this
field unset or set it to None" (CompressionType "is used only in Pipe input mode"), and
"AugmentedManifestFile can only be used if the Channel's input mode is Pipe", its
AttributeNames (1 .. 16, API) naming the attributes of each JSON line.
"""

from __future__ import annotations

from dataclasses import dataclass

INPUT_MODES = ("File", "FastFile", "Pipe")
COMPRESSION_TYPES = ("None", "Gzip")
RECORD_WRAPPER_TYPES = ("None", "RecordIO")
S3_DATA_TYPES = ("S3Prefix", "ManifestFile", "AugmentedManifestFile")
# S3DataDistributionType: every instance gets all of the channel's objects, or about 1/n each.
REPLICATED = "FullyReplicated"
SHARDED = "ShardedByS3Key"
DISTRIBUTION_TYPES = (REPLICATED, SHARDED)
MAX_ATTRIBUTE_NAMES = 16  # API: AttributeNames max 16
MAX_CONTENT_TYPE = 256  # API: ContentType max 256
# The option keys of a channel (stage config and execution input), each with its API member.
OPTION_KEYS = {
    "content_type": "ContentType",
    "compression_type": "CompressionType",
    "record_wrapper_type": "RecordWrapperType",
    "s3_data_type": "S3DataType",
    "attribute_names": "AttributeNames",
    "s3_data_distribution_type": "S3DataDistributionType",
    "input_mode": "InputMode",
}
# What each option key may be at most (the API's enums); a use case narrows them per channel.
API_VALUES = {
    "compression_type": COMPRESSION_TYPES,
    "record_wrapper_type": RECORD_WRAPPER_TYPES,
    "s3_data_type": S3_DATA_TYPES,
    "s3_data_distribution_type": DISTRIBUTION_TYPES,
    "input_mode": INPUT_MODES,
}


def pipe_path(channel: str, epoch: int) -> str:
    """The FIFO a Pipe-mode channel's `epoch` (0, 1, ...) is read from, under
    /opt/ml/input/data: SageMaker creates `<channel>_<epoch>` once per pass over the data."""
    return f"{channel}_{epoch}"


@dataclass(frozen=True)
class ChannelSupport:
    """What one channel of a use case's training jobs accepts: the first value of each is the
    channel's default. `manifest_file` is the object its preprocessing writes in the channel's
    folder when a manifest data type is offered (the channel's S3Uri then names that object)."""

    name: str
    content_types: tuple[str, ...] = ("text/csv",)
    input_modes: tuple[str, ...] = ("File",)
    compression_types: tuple[str, ...] = ("None",)
    record_wrapper_types: tuple[str, ...] = ("None",)
    s3_data_types: tuple[str, ...] = ("S3Prefix",)
    s3_data_distribution_types: tuple[str, ...] = ("FullyReplicated",)
    manifest_file: str | None = None

    @property
    def allowed(self) -> dict[str, list[str]]:
        """The plain form the stage config hands the pipelines (`platform.channels.<name>`)."""
        return {"content_type": list(self.content_types),
                "compression_type": list(self.compression_types),
                "record_wrapper_type": list(self.record_wrapper_types),
                "s3_data_type": list(self.s3_data_types),
                "s3_data_distribution_type": list(self.s3_data_distribution_types),
                "input_mode": list(self.input_modes),
                "manifest_file": self.manifest_file}

    @property
    def defaults(self) -> dict:
        """The channel's options when nothing chooses others: the first of each."""
        allowed = self.allowed
        return {**{key: values[0] for key, values in allowed.items()
                   if key in OPTION_KEYS}, "attribute_names": []}

    def problem(self) -> str | None:
        """Why this declaration cannot stand, or None (ManifestError text)."""
        for key, values in self.allowed.items():
            if key == "manifest_file":
                continue
            if not values:
                return f"channel {self.name!r}: {key} lists no value"
            unknown = [v for v in values if key in API_VALUES and v not in API_VALUES[key]]
            if unknown:
                return (f"channel {self.name!r}: {key} {', '.join(unknown)} is not one of "
                        f"SageMaker's {', '.join(API_VALUES[key])}")
        if set(self.s3_data_types) - {"S3Prefix"} and not self.manifest_file:
            return (f"channel {self.name!r} offers {', '.join(self.s3_data_types)}: name the "
                    "manifest object its preprocessing writes (manifest_file)")
        return None


@dataclass(frozen=True)
class ChannelProblem:
    key: str  # relative to the channel, e.g. "input_mode"
    problem: str
    allowed: str | None = None


def channel_problems(channel: str, options: dict, allowed: dict,
                     use_case: str) -> list[ChannelProblem]:
    """What is wrong with `options` (a channel's option keys) for a channel that accepts
    `allowed` (`ChannelSupport.allowed`): each refused value names the key and what may be
    given."""
    found: list[ChannelProblem] = []
    whose = f"use case {use_case!r}'s {channel!r} channel"
    for key in OPTION_KEYS:
        if key == "attribute_names":
            continue
        value, choices = options[key], allowed[key]
        if value not in choices:
            found.append(ChannelProblem(key, f"{value!r} is not supported by {whose}",
                                        ", ".join(choices)))
    mode, names = options["input_mode"], options["attribute_names"]
    for key in ("compression_type", "record_wrapper_type"):
        if options[key] != "None" and mode != "Pipe":
            found.append(ChannelProblem(key, f"{options[key]!r} with input_mode {mode!r}: "
                                        "SageMaker applies it only in Pipe mode", "None"))
    augmented = options["s3_data_type"] == "AugmentedManifestFile"
    if augmented and mode != "Pipe":
        found.append(ChannelProblem("s3_data_type", f"AugmentedManifestFile with input_mode "
                                    f"{mode!r}: SageMaker reads an augmented manifest only in "
                                    "Pipe mode", "input_mode Pipe"))
    if augmented and not 1 <= len(names) <= MAX_ATTRIBUTE_NAMES:
        found.append(ChannelProblem("attribute_names", f"has {len(names)} names: an "
                                    "AugmentedManifestFile channel names the attributes of each "
                                    f"line it reads", f"1 .. {MAX_ATTRIBUTE_NAMES} names"))
    if names and not augmented:
        found.append(ChannelProblem("attribute_names", "is only read with s3_data_type "
                                    "AugmentedManifestFile", "[]"))
    return found


def api_channel(options: dict, allowed: dict) -> dict:
    """A validated channel's request members: `s3_data_source` (S3DataSource without its S3Uri)
    and `object` (what follows the channel's S3 folder in its S3Uri: its manifest object for a
    manifest data type, else nothing), and the Channel members by API name."""
    source = {"S3DataType": options["s3_data_type"],
              "S3DataDistributionType": options["s3_data_distribution_type"]}
    if options["attribute_names"]:
        source["AttributeNames"] = list(options["attribute_names"])
    manifest = options["s3_data_type"] != "S3Prefix"
    return {"s3_data_source": source,
            "object": (allowed.get("manifest_file") or "") if manifest else "",
            "ContentType": options["content_type"],
            "CompressionType": options["compression_type"],
            "RecordWrapperType": options["record_wrapper_type"],
            "InputMode": options["input_mode"]}

