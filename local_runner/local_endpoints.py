"""SageMaker real-time endpoints, emulated for local runs: endpoint configs, endpoints served by
the image's real inference server on loopback, blue/green updates that watch the rollback alarms
(CloudWatch, moto's in local runs) and InvokeEndpoint. Part of LocalSageMaker's API; knows no
pipeline.

Each production variant of an endpoint config runs as one local `serve` process, however many
instances it asks for (they would answer alike). An update runs to its end inside the
UpdateEndpoint call, on the local clock (`time_scale`): a caller polling DescribeEndpoint, as
the deployment state machine does, then sees the endpoint InService on the new config, or on the
old one with a FailureReason after a rollback, exactly the two outcomes an AWS update ends in.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from local_runner import blue_green
from local_runner.api_common import ACCOUNT, SageMakerError, now
from local_runner.data_capture import DataCapture
from local_runner.executors import LocalProgram
from local_runner.executors.hosting import HostedModel
from local_runner.executors.staging import StagingError

AlarmStates = Callable[[Sequence[str]], dict[str, str]]  # names -> {name: StateValue}


def _invalid(message: str) -> SageMakerError:
    return SageMakerError("ValidationException", message)


@dataclass
class Fleet:
    """The running servers of one endpoint config, by variant, and how traffic splits over them."""

    config: dict
    servers: dict[str, HostedModel]
    router: blue_green.Router = field(init=False)

    def __post_init__(self) -> None:
        self.router = blue_green.Router([float(v.get("InitialVariantWeight", 1.0))
                                         for v in self.config["ProductionVariants"]])

    @property
    def name(self) -> str:
        return self.config["EndpointConfigName"]

    def pick(self, variant: str | None) -> str:
        names = [v["VariantName"] for v in self.config["ProductionVariants"]]
        if variant is not None:
            if variant not in names:
                raise _invalid(f"TargetVariant {variant} is not a variant of the endpoint")
            return variant
        return names[self.router.pick()]

    def stop(self) -> None:
        for server in self.servers.values():
            server.stop()


@dataclass
class Endpoint:
    name: str
    arn: str
    config_name: str  # the config it serves (or failed to start)
    fleet: Fleet | None
    status: str
    created: str
    modified: str
    failure_reason: str | None = None
    green: Fleet | None = None  # the new fleet while an update shifts traffic to it
    split: blue_green.Router = field(default_factory=lambda: blue_green.Router([1.0]))
    last_deployment: dict | None = None


@dataclass(frozen=True)
class Invocation:
    """InvokeEndpoint's response, plus the endpoint config whose fleet answered (local only)."""

    body: bytes
    content_type: str | None
    variant: str
    endpoint_config: str


class LocalEndpoints:
    def __init__(self, *, s3, program: LocalProgram, workdir: Path,
                 arn: Callable[[str, str], str], model: Callable[[str], dict],
                 alarm_states: AlarmStates | None, time_scale: float) -> None:
        self.s3, self.program, self.workdir, self.time_scale = s3, program, workdir, time_scale
        self.arn, self.model, self.alarm_states = arn, model, alarm_states
        self.configs: dict[str, dict] = {}
        self.endpoints: dict[str, Endpoint] = {}
        self.capture = DataCapture(s3)
        # Called after each traffic shift, before its baking period: tests look at the split.
        self.on_shift: Callable[[str, float], None] | None = None
        self._lock = threading.RLock()
        self._fleets = 0

    # --- endpoint configs ------------------------------------------------------------------------
    def _api_createEndpointConfig(self, request: dict) -> dict:
        name = request["EndpointConfigName"]
        arn = self.arn("endpoint-config", name)
        with self._lock:
            if name in self.configs:
                raise _invalid(f'Cannot create already existing endpoint configuration "{arn}".')
            for variant in request["ProductionVariants"]:
                self.model(variant["ModelName"])  # must exist
            self.configs[name] = {**request, "EndpointConfigArn": arn, "CreationTime": now()}
        return {"EndpointConfigArn": arn}

    def _api_describeEndpointConfig(self, request: dict) -> dict:
        return self._config(request["EndpointConfigName"])

    def _config(self, name: str) -> dict:
        try:
            return self.configs[name]
        except KeyError:
            raise _invalid('Could not find endpoint configuration '
                           f'"{self.arn("endpoint-config", name)}".') from None

    # --- endpoints -------------------------------------------------------------------------------
    def _endpoint(self, name: str) -> Endpoint:
        try:
            return self.endpoints[name]
        except KeyError:
            # DescribeEndpoint's message, which the deployment state machine's Catch matches.
            raise _invalid(f'Could not find endpoint "{self.arn("endpoint", name)}".') from None

    def _api_createEndpoint(self, request: dict) -> dict:
        name = request["EndpointName"]
        arn = self.arn("endpoint", name)
        with self._lock:
            if name in self.endpoints:
                raise _invalid(f'Cannot create already existing endpoint "{arn}".')
            config = self._config(request["EndpointConfigName"])
            endpoint = self.endpoints[name] = Endpoint(name, arn, config["EndpointConfigName"],
                                                       None, "Creating", now(), now())
        try:
            fleet = self._start_fleet(config)
        except StagingError as exc:
            with self._lock:
                endpoint.status, endpoint.modified = "Failed", now()
                endpoint.failure_reason = f"The primary container failed to start: {exc}"
        else:
            with self._lock:
                endpoint.fleet, endpoint.status, endpoint.modified = fleet, "InService", now()
        return {"EndpointArn": arn}

    def _api_describeEndpoint(self, request: dict) -> dict:
        with self._lock:
            return self._describe(self._endpoint(request["EndpointName"]))

    def _describe(self, endpoint: Endpoint) -> dict:
        described: dict = {"EndpointName": endpoint.name, "EndpointArn": endpoint.arn,
                           "EndpointStatus": endpoint.status, "CreationTime": endpoint.created,
                           "LastModifiedTime": endpoint.modified,
                           "EndpointConfigName": endpoint.config_name}
        fleet = endpoint.fleet
        if fleet is not None:
            described["ProductionVariants"] = [{
                "VariantName": v["VariantName"],
                "CurrentWeight": float(v.get("InitialVariantWeight", 1.0)),
                "DesiredWeight": float(v.get("InitialVariantWeight", 1.0)),
                "CurrentInstanceCount": v.get("InitialInstanceCount", 1),
                "DesiredInstanceCount": v.get("InitialInstanceCount", 1),
            } for v in fleet.config["ProductionVariants"]]
            capture = DataCapture.summary(fleet.config)
            if capture:
                described["DataCaptureConfig"] = capture
        if endpoint.failure_reason:
            described["FailureReason"] = endpoint.failure_reason
        if endpoint.last_deployment:
            described["LastDeploymentConfig"] = endpoint.last_deployment
        return described

    def _api_deleteEndpoint(self, request: dict) -> dict:
        with self._lock:
            endpoint = self._endpoint(request["EndpointName"])
            del self.endpoints[endpoint.name]
        for fleet in (endpoint.fleet, endpoint.green):
            if fleet is not None:
                fleet.stop()
        return {}

    def _api_updateEndpoint(self, request: dict) -> dict:
        deployment = request.get("DeploymentConfig") or {}
        alarms = [a["AlarmName"] for a in
                  (deployment.get("AutoRollbackConfiguration") or {}).get("Alarms", [])]
        with self._lock:
            endpoint = self._endpoint(request["EndpointName"])
            if endpoint.status != "InService" or endpoint.fleet is None:
                raise _invalid(f'Cannot update in-progress endpoint "{endpoint.arn}".')
            config = self._config(request["EndpointConfigName"])
            count = sum(v.get("InitialInstanceCount", 1)
                        for v in endpoint.fleet.config["ProductionVariants"])
            try:
                steps = blue_green.plan(deployment.get("BlueGreenUpdatePolicy"), count)
                blue_green.check_alarms(alarms, self.alarm_states)
            except blue_green.PolicyError as exc:
                raise _invalid(str(exc)) from None
            endpoint.status, endpoint.failure_reason = "Updating", None
            endpoint.last_deployment = deployment or None
            endpoint.modified = now()
        try:
            green = self._start_fleet(config)
        except StagingError as exc:
            self._finish(endpoint, None, "Endpoint update rolled back: the new endpoint config's "
                                         f"container failed to start: {exc}")
            return {"EndpointArn": endpoint.arn}
        self._deploy(endpoint, green, steps, alarms)
        return {"EndpointArn": endpoint.arn}

    def _deploy(self, endpoint: Endpoint, green: Fleet, steps: blue_green.Plan,
                alarms: list[str]) -> None:
        states = self.alarm_states or (lambda names: {})
        try:
            for index, share in enumerate(steps.shares):
                with self._lock:
                    endpoint.green = green
                    endpoint.split = blue_green.Router([1.0 - share, share])
                if self.on_shift is not None:
                    self.on_shift(endpoint.name, share)
                fired = blue_green.bake(steps.wait_seconds * self.time_scale, alarms, states)
                if fired:
                    self._finish(endpoint, None, blue_green.rollback_reason(fired, index, steps))
                    green.stop()
                    return
        except BaseException as exc:  # never leave the endpoint Updating, or the fleet running
            self._finish(endpoint, None, f"Endpoint update rolled back: {exc}")
            green.stop()
            raise
        # The old fleet's grace: it takes no traffic any more, nothing is watched.
        time.sleep(steps.termination_wait_seconds * self.time_scale)
        self._finish(endpoint, green, None)

    def _finish(self, endpoint: Endpoint, green: Fleet | None, failure: str | None) -> None:
        """Back to InService: on the green fleet (success) or the old one (rolled back)."""
        with self._lock:
            retired = endpoint.fleet if green is not None else None
            if green is not None:
                endpoint.fleet, endpoint.config_name = green, green.name
            endpoint.green, endpoint.split = None, blue_green.Router([1.0])
            endpoint.status, endpoint.failure_reason, endpoint.modified = \
                "InService", failure, now()
        if retired is not None:
            retired.stop()

    def _start_fleet(self, config: dict) -> Fleet:
        servers: dict[str, HostedModel] = {}
        with self._lock:
            self._fleets += 1
            folder = self.workdir / f"{self._fleets:03d}-{config['EndpointConfigName']}"
        try:
            for variant in config["ProductionVariants"]:
                model = self.model(variant["ModelName"])
                servers[variant["VariantName"]] = HostedModel(
                    model, self.s3, self.program, folder / variant["VariantName"]).start()
        except BaseException:
            for server in servers.values():
                server.stop()
            raise
        return Fleet(config, servers)

    # --- InvokeEndpoint --------------------------------------------------------------------------
    def invoke(self, name: str, body: bytes, content_type: str = "text/csv",
               accept: str | None = None, target_variant: str | None = None) -> Invocation:
        with self._lock:
            endpoint = self.endpoints.get(name)
            if endpoint is None or endpoint.fleet is None:
                raise SageMakerError("ValidationError",
                                     f"Endpoint {name} of account {ACCOUNT} not found.")
            fleets = [endpoint.fleet, endpoint.green]
            fleet = fleets[endpoint.split.pick()] or endpoint.fleet
            variant = fleet.pick(target_variant)
        headers = {"Content-Type": content_type, **({"Accept": accept} if accept else {})}
        reply = fleet.servers[variant].invoke(body, headers)
        if reply.status != 200:
            # InvokeEndpoint's ModelError for a container's non-200 answer (0: no answer).
            side = "client" if 400 <= reply.status < 500 else "server"
            raise SageMakerError("ModelError", f"Received {side} error ({reply.status}) from "
                                 f'primary with message "{reply.message()}".')
        self.capture.record(endpoint.name, variant, fleet.config, body, content_type, reply)
        return Invocation(reply.body, reply.content_type, variant, fleet.name)

    def close(self) -> None:
        """Stop every server (LocalPlatform's exit)."""
        with self._lock:
            fleets = [f for e in self.endpoints.values() for f in (e.fleet, e.green) if f]
        for fleet in fleets:
            fleet.stop()
