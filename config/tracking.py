"""`experiment_tracking`: the stage's SageMaker managed MLflow tracking server, which every
training, tuning trial and evaluation job of the stage logs its run to."""

from __future__ import annotations

import re
from dataclasses import dataclass

from config.problems import report

# AWS::SageMaker::MlflowTrackingServer (the CloudFormation schema cfn-lint ships):
# TrackingServerSize is one of these; MlflowVersion matches ^\d+(\.\d+)+$;
# WeeklyMaintenanceWindowStart matches ^(Mon|...|Sun):HH:MM$.
TRACKING_SERVER_SIZES = ("Small", "Medium", "Large")
MLFLOW_VERSION = re.compile(r"^\d+(\.\d+)+$")
MAINTENANCE_WINDOW = re.compile(r"^(Mon|Tue|Wed|Thu|Fri|Sat|Sun):([01]\d|2[0-3]):([0-5]\d)$")
# A key prefix inside the artifacts bucket: no leading slash, one trailing slash.
ARTIFACT_PREFIX = re.compile(r"^[A-Za-z0-9!_.*'()-]+(/[A-Za-z0-9!_.*'()-]+)*/$")


@dataclass(frozen=True)
class ExperimentTrackingConfig:
    """Off by default. On, the stage gets a tracking server and its jobs lose SageMaker's
    network isolation (an isolated container makes no outbound call, the tracking server's
    API included): pair it with network.isolate, whose VPC reaches only AWS endpoints."""

    enabled: bool = False
    # SageMaker recommends Small for up to 25 users, Medium up to 50, Large up to 100.
    server_size: str = "Small"
    # The server's MLflow version; SageMaker offers 2.13, 2.16 and 3.0 lines. The jobs' client
    # (mlflow-skinny in runtime_scripts/requirements.txt) only logs params, metrics, tags and
    # plain artefacts, REST calls every server version of these lines serves.
    mlflow_version: str = "3.0"
    # Where the server keeps run artefacts: this prefix of the stage's artifacts bucket.
    artifact_prefix: str = "mlflow/"
    # UTC start of SageMaker's weekly maintenance of the server; null: SageMaker picks one.
    weekly_maintenance_window_start: str | None = None

    def validate(self, key: str) -> None:
        if self.server_size not in TRACKING_SERVER_SIZES:
            report(f"{key}.server_size", f"{self.server_size!r} is not a tracking server size",
                   ", ".join(TRACKING_SERVER_SIZES))
        if not MLFLOW_VERSION.match(self.mlflow_version):
            report(f"{key}.mlflow_version", f"{self.mlflow_version!r} is not an MLflow version",
                   'digits and dots, e.g. "3.0"')
        if not ARTIFACT_PREFIX.match(self.artifact_prefix):
            report(f"{key}.artifact_prefix", f"{self.artifact_prefix!r} is not a key prefix",
                   'S3 key segments ending with "/", no leading "/", e.g. "mlflow/"')
        window = self.weekly_maintenance_window_start
        if window is not None and not MAINTENANCE_WINDOW.match(window):
            report(f"{key}.weekly_maintenance_window_start", f"{window!r} is not a weekly time",
                   '"Ddd:HH:MM" in UTC, e.g. "Sun:02:00", or null')
