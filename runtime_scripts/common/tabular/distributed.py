"""Distributed XGBoost across the instances of one training job (InstanceCount > 1).

SageMaker starts the same `train` on every instance and names them in SM_HOSTS (["algo-1",
"algo-2", ...]) and SM_CURRENT_HOST; the hosts resolve each other by these names. With the
training channel ShardedByS3Key, each instance receives only its share of the preprocessed
shards (SageMaker replicates about 1/n of the channel's S3 objects to each). XGBoost's
collective (Rabit) then makes them one job: the first host runs the tracker, every host joins
it as a worker, and the `hist` tree method sums the gradient histograms of all workers each
round, so every worker grows the same trees from all the rows, and the evaluation metrics
(`eval_set`) are computed over every worker's rows too.

MASTER_ADDR / MASTER_PORT, when set, override the first host's address and TRACKER_PORT (the
local runner runs two "instances" on one machine this way).
"""

from __future__ import annotations

import contextlib
import json
import logging
import socket
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from runtime_scripts.common.jobio import JobError

log = logging.getLogger("tabular.distributed")
TRACKER_PORT = 9099
# How long a worker waits for the others to join (SageMaker starts the instances at about the
# same time; a slow image pull on one delays it).
JOIN_TIMEOUT_SECONDS = 600


@dataclass(frozen=True)
class Hosts:
    hosts: tuple[str, ...]
    current: str
    tracker_address: str
    tracker_port: int

    @property
    def rank(self) -> int:
        return self.hosts.index(self.current)

    @property
    def distributed(self) -> bool:
        return len(self.hosts) > 1

    @property
    def first(self) -> bool:
        return self.rank == 0


def hosts_of(env: Mapping[str, str]) -> Hosts:
    """This instance's place in the job, from SM_HOSTS / SM_CURRENT_HOST (one host without)."""
    text = env.get("SM_HOSTS")
    if not text:
        return Hosts(("localhost",), "localhost", "127.0.0.1", TRACKER_PORT)
    try:
        hosts = tuple(json.loads(text))
    except (json.JSONDecodeError, TypeError):
        raise JobError(f"SM_HOSTS {text!r} is not a JSON list of host names") from None
    current = env.get("SM_CURRENT_HOST", "")
    if not hosts or current not in hosts:
        raise JobError(f"SM_CURRENT_HOST {current!r} is not one of SM_HOSTS {list(hosts)}")
    port = int(env.get("MASTER_PORT") or TRACKER_PORT)
    return Hosts(hosts, current, env.get("MASTER_ADDR") or hosts[0], port)


def shared_fingerprint(local: str) -> str:
    """One checkpoint fingerprint for every host (inside `collective`): each hashes its own
    shard, so the hosts combine theirs. A resumed job then resumes on every host or on none;
    hosts resuming from different rounds would wait for each other forever."""
    from xgboost import collective as xgb_collective

    if not xgb_collective.is_distributed():
        return local
    import hashlib

    import numpy as np

    digits = np.frombuffer(bytes.fromhex(local), dtype=np.uint8).astype(np.float64)
    combined = xgb_collective.allreduce(digits * (xgb_collective.get_rank() + 1),
                                        xgb_collective.Op.SUM)
    return hashlib.sha256(combined.tobytes()).hexdigest()[:len(local)]


@contextlib.contextmanager
def collective(hosts: Hosts) -> Iterator[None]:
    """Inside: XGBoost trains and evaluates across every host (nothing to do on one host)."""
    if not hosts.distributed:
        yield
        return
    from xgboost import collective as xgb_collective
    from xgboost.tracker import RabitTracker

    address = socket.gethostbyname(hosts.tracker_address)
    tracker = None
    if hosts.first:
        tracker = RabitTracker(n_workers=len(hosts.hosts), host_ip=address,
                               port=hosts.tracker_port, sortby="task",
                               timeout=JOIN_TIMEOUT_SECONDS)
        tracker.start()
    log.info("joining XGBoost's collective as worker %d of %d (tracker %s:%d)", hosts.rank,
             len(hosts.hosts), address, hosts.tracker_port)
    # The task id orders the workers by host (sortby="task"): rank = the host's index.
    with xgb_collective.CommunicatorContext(
            dmlc_tracker_uri=address, dmlc_tracker_port=hosts.tracker_port,
            dmlc_task_id=str(hosts.rank), dmlc_retry=30,
            dmlc_timeout=JOIN_TIMEOUT_SECONDS):
        if xgb_collective.get_world_size() != len(hosts.hosts):
            raise JobError(f"XGBoost's collective has {xgb_collective.get_world_size()} "
                           f"workers, not the job's {len(hosts.hosts)} hosts")
        yield
    if tracker is not None:
        tracker.wait_for(JOIN_TIMEOUT_SECONDS)
