"""Data-parallel training across SageMaker's instances and GPUs, launched with torchrun.

SageMaker starts the same `train` command on every instance of a training job with
InstanceCount > 1 and tells each where it is: SM_HOSTS (a JSON list such as
["algo-1", "algo-2"]), SM_CURRENT_HOST and SM_NUM_GPUS (also in
/opt/ml/input/config/resourceconfig.json, `hosts` and `current_host`); the hosts resolve each
other by these names. `launch` turns that into one torchrun per instance (node rank = the host's
index, the first host the rendezvous master, one worker per GPU or one on a CPU instance), and
torchrun's workers find RANK, LOCAL_RANK and WORLD_SIZE in their environment. MASTER_ADDR and
MASTER_PORT, when set, override the first host and port 29500 (a local test runs two "instances"
on one machine this way). NCCL on GPUs, gloo on CPUs.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from runtime_scripts.common.jobio import JobError

DEFAULT_PORT = "29500"


@dataclass(frozen=True)
class Cluster:
    hosts: tuple[str, ...]
    current_host: str
    gpus: int

    @property
    def node_rank(self) -> int:
        return self.hosts.index(self.current_host)

    @property
    def processes_per_node(self) -> int:
        return max(1, self.gpus)

    @property
    def world_size(self) -> int:
        return len(self.hosts) * self.processes_per_node


def cluster(env: Mapping[str, str], resource_config: Path) -> Cluster:
    """Where this process runs, from SM_* (script mode) or resourceconfig.json; one host and
    no GPU when neither says."""
    hosts_text = env.get("SM_HOSTS")
    current = env.get("SM_CURRENT_HOST")
    if hosts_text is None and resource_config.is_file():
        config = json.loads(resource_config.read_text())
        hosts_text, current = json.dumps(config.get("hosts", [])), config.get("current_host")
    if hosts_text is None:
        return Cluster(("localhost",), "localhost", _gpus(env))
    try:
        hosts = tuple(json.loads(hosts_text))
    except (json.JSONDecodeError, TypeError):
        raise JobError(f"SM_HOSTS={hosts_text!r} is not a JSON list of host names") from None
    if not hosts or current not in hosts:
        raise JobError(f"SM_CURRENT_HOST={current!r} is not one of SM_HOSTS {list(hosts)}")
    return Cluster(hosts, current, _gpus(env))


def _gpus(env: Mapping[str, str]) -> int:
    if "SM_NUM_GPUS" in env:
        try:
            return int(env["SM_NUM_GPUS"])
        except ValueError:
            raise JobError(f"SM_NUM_GPUS={env['SM_NUM_GPUS']!r} is not an integer") from None
    import torch

    return torch.cuda.device_count()


def inside_torchrun(env: Mapping[str, str]) -> bool:
    return "LOCAL_RANK" in env and "WORLD_SIZE" in env


def launch(where: Cluster, module: str, argv: list[str], env: Mapping[str, str]) -> int:
    """Run `module` under torchrun for this instance; its exit status."""
    command = [sys.executable, "-m", "torch.distributed.run",
               f"--nnodes={len(where.hosts)}", f"--node-rank={where.node_rank}",
               f"--nproc-per-node={where.processes_per_node}",
               f"--master-addr={env.get('MASTER_ADDR', where.hosts[0])}",
               f"--master-port={env.get('MASTER_PORT', DEFAULT_PORT)}",
               "-m", module, *argv]
    return subprocess.run(command, env=dict(env), check=False).returncode


@dataclass(frozen=True)
class Rank:
    rank: int = 0
    local_rank: int = 0
    world_size: int = 1

    @property
    def main(self) -> bool:
        return self.rank == 0


def init(env: Mapping[str, str]) -> Rank:
    """Join the process group torchrun set up (nothing to join alone)."""
    if not inside_torchrun(env) or int(env["WORLD_SIZE"]) == 1:
        return Rank()
    import torch
    import torch.distributed as dist

    backend = "nccl" if torch.cuda.is_available() else "gloo"
    dist.init_process_group(backend)
    rank = Rank(dist.get_rank(), int(env["LOCAL_RANK"]), dist.get_world_size())
    if torch.cuda.is_available():
        torch.cuda.set_device(rank.local_rank)
    return rank


def check_distribution(input_config: Path, channels: tuple[str, ...]) -> None:
    """Each instance reads its 1/N of the images through DistributedSampler, so every channel
    must be FullyReplicated (inputdataconfig.json's S3DistributionType): with ShardedByS3Key an
    instance would get only some of a split's shard files, and the split's manifest once."""
    if not input_config.is_file():
        return
    config = json.loads(input_config.read_text())
    for channel in channels:
        if config.get(channel, {}).get("S3DistributionType") == "ShardedByS3Key":
            raise JobError(f"channel {channel} is ShardedByS3Key: give it "
                           "S3DistributionType FullyReplicated (the training job shards the "
                           "images itself across instances)")


def environment() -> dict[str, str]:
    return dict(os.environ)
