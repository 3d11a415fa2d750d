"""A model's containers started locally for a transform job or an endpoint: one server, or for a
serial inference pipeline (CreateModel's Containers with InferenceExecutionConfig Serial) one per
container, chained. AWS: SageMaker sends the first container the request, each next container
the response of the one before as its request, and returns the last container's response; here
the next request carries the response's Content-Type and the client's Accept, and a container
that does not answer 200 ends the chain with its answer (as SageMaker returns a container's
error)."""

from __future__ import annotations

import contextlib
from collections.abc import Mapping, Sequence
from pathlib import Path

from local_runner.executors import model_server, staging
from local_runner.executors.model_server import ModelServer, Reply
from local_runner.executors.results import LocalProgram
from local_runner.stand_ins import serving_stand_in_command, stand_in_environment

# The key of a model's later containers in the model document the executors receive
# (local_sagemaker.py: the first container's keys at the top, the rest here, in order).
NEXT_CONTAINERS = "NextContainers"


class SerialServer:
    """The chained servers of a serial inference pipeline, used as one ModelServer."""

    def __init__(self, servers: Sequence[ModelServer]) -> None:
        self.servers = list(servers)
        self.container = self.servers[0].container

    def wait_until_ready(self) -> None:
        for server in self.servers:
            server.wait_until_ready()

    def execution_parameters(self) -> dict:
        """The first container's: it receives the job's requests as the client sends them."""
        return self.servers[0].execution_parameters()

    def invoke(self, body: bytes, headers: Mapping[str, str], retries: int) -> Reply:
        sent = dict(headers)
        reply = Reply(0, b"no container")
        for server in self.servers:
            reply = server.invoke(body, sent, retries)
            if reply.status != 200:
                return reply
            body = reply.body
            sent = {k: v for k, v in headers.items() if k.lower() != "content-type"}
            if reply.content_type:
                sent["Content-Type"] = reply.content_type
        return reply

    def close(self) -> None:
        for server in self.servers:
            server.close()


def start(stack: contextlib.ExitStack, model: Mapping, s3, program: LocalProgram,
          workdir: Path, log_path: Path, timeout_s: float, *,
          before: Sequence[Mapping[str, str]] = (), after: Sequence[Mapping[str, str]] = ()
          ) -> ModelServer | SerialServer:
    """Stage and start each of `model`'s containers (its own /opt/ml under `workdir`, its own
    log beside `log_path`; an image AWS owns as its labelled stand-in, stand_ins/), their
    environment `before`, the container's Environment, then `after`; stopped with `stack`."""
    containers = [model, *(model.get(NEXT_CONTAINERS) or [])]
    servers = []
    for index, container in enumerate(containers):
        where = workdir if index == 0 else workdir / f"container-{index + 1}"
        log = log_path if index == 0 else log_path.with_name(
            f"{log_path.stem}-container-{index + 1}{log_path.suffix}")
        ml = staging.fresh_ml_root(where)
        staging.stage_model(dict(container), s3, where, ml)
        stand_in = serving_stand_in_command(container.get("Image") or "")
        argv = stand_in or staging.image_program(program, "serve")
        env = staging.job_environment(program, where, *before, container.get("Environment") or {},
                                      *after, stand_in_environment() if stand_in else {})
        servers.append(stack.enter_context(model_server.serving(argv, env, ml, log, timeout_s)))
    return servers[0] if len(servers) == 1 else SerialServer(servers)
