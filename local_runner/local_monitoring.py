"""Model Monitor's monitoring schedules, emulated as records: created, updated, listed and
described with AWS's shapes and checks, over the job definitions the app deploys (provisioned
from the templates). Nothing runs on the schedule locally: monitoring executions need AWS's
analyzer image (docs/serving.md, "Run it locally")."""

from __future__ import annotations

import threading
from collections.abc import Callable

from local_runner.api_common import SageMakerError, now


class LocalMonitoring:
    def __init__(self, *, arn: Callable[[str, str], str],
                 endpoint_exists: Callable[[str], bool]) -> None:
        self.arn = arn
        self.endpoint_exists = endpoint_exists
        self.job_definitions: dict[str, dict] = {}  # name -> {"MonitoringType", "EndpointName"}
        self.schedules: dict[str, dict] = {}
        self._lock = threading.Lock()

    def register_job_definition(self, name: str, monitoring_type: str,
                                endpoint_name: str) -> None:
        """A CfnDataQualityJobDefinition (or model quality, ...) from the deployed templates."""
        self.job_definitions[name] = {"MonitoringType": monitoring_type,
                                      "EndpointName": endpoint_name}

    def _checked(self, request: dict) -> dict:
        """The schedule's job definition; SageMaker checks it and its endpoint exist."""
        config = request["MonitoringScheduleConfig"]
        name = config.get("MonitoringJobDefinitionName")
        definition = self.job_definitions.get(name or "")
        if definition is None:
            raise SageMakerError("ValidationException",
                                 f"Job definition {name} does not exist (only schedules over a "
                                 "job definition name are emulated)")
        if config.get("MonitoringType", "DataQuality") != definition["MonitoringType"]:
            raise SageMakerError("ValidationException",
                                 f"MonitoringType {config.get('MonitoringType')} does not match "
                                 f"job definition {name} ({definition['MonitoringType']})")
        if not self.endpoint_exists(definition["EndpointName"]):
            raise SageMakerError("ValidationException",
                                 f"Endpoint {definition['EndpointName']} does not exist")
        return definition

    def _api_createMonitoringSchedule(self, request: dict) -> dict:
        name = request["MonitoringScheduleName"]
        arn = self.arn("monitoring-schedule", name)
        with self._lock:
            if name in self.schedules:
                raise SageMakerError("ResourceInUse",
                                     f"Monitoring Schedule {arn} already exists")
            definition = self._checked(request)
            self.schedules[name] = {
                "MonitoringScheduleName": name, "MonitoringScheduleArn": arn,
                "MonitoringScheduleStatus": "Scheduled", "CreationTime": now(),
                "LastModifiedTime": now(), "MonitoringType": definition["MonitoringType"],
                "EndpointName": definition["EndpointName"],
                "MonitoringScheduleConfig": request["MonitoringScheduleConfig"],
                "Tags": request.get("Tags", [])}
        return {"MonitoringScheduleArn": arn}

    def _api_updateMonitoringSchedule(self, request: dict) -> dict:
        with self._lock:
            schedule = self._schedule(request["MonitoringScheduleName"])
            self._checked(request)
            schedule["MonitoringScheduleConfig"] = request["MonitoringScheduleConfig"]
            schedule["LastModifiedTime"] = now()
        return {"MonitoringScheduleArn": schedule["MonitoringScheduleArn"]}

    def _api_describeMonitoringSchedule(self, request: dict) -> dict:
        return {k: v for k, v in self._schedule(request["MonitoringScheduleName"]).items()
                if k != "Tags"}

    def _api_deleteMonitoringSchedule(self, request: dict) -> dict:
        with self._lock:
            del self.schedules[self._schedule(request["MonitoringScheduleName"])
                               ["MonitoringScheduleName"]]
        return {}

    def _api_listMonitoringSchedules(self, request: dict) -> dict:
        filters = {"EndpointName": request.get("EndpointName"),
                   "MonitoringType": request.get("MonitoringTypeEquals"),
                   "MonitoringScheduleStatus": request.get("StatusEquals")}
        found = [s for s in self.schedules.values()
                 if request.get("NameContains", "") in s["MonitoringScheduleName"]
                 and all(v is None or s[k] == v for k, v in filters.items())]
        found.sort(key=lambda s: s["CreationTime"],
                   reverse=request.get("SortOrder", "Descending") == "Descending")
        keys = ("MonitoringScheduleName", "MonitoringScheduleArn", "CreationTime",
                "LastModifiedTime", "MonitoringScheduleStatus", "EndpointName", "MonitoringType")
        return {"MonitoringScheduleSummaries": [
            {**{k: s[k] for k in keys}, "MonitoringJobDefinitionName":
             s["MonitoringScheduleConfig"]["MonitoringJobDefinitionName"]} for s in found]}

    def _schedule(self, name: str) -> dict:
        try:
            return self.schedules[name]
        except KeyError:
            raise SageMakerError("ResourceNotFound",
                                 f"Monitoring Schedule {self.arn('monitoring-schedule', name)} "
                                 "does not exist") from None
