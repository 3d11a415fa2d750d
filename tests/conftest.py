"""Shared fixtures: the app is synthesized once per test session, per stage (and for the
built-in XGBoost, the serverless and the two-use-case variants of dev)."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path

import pytest

# Offline synth: no credentials, no instance metadata lookups, a fixed region.
os.environ.setdefault("AWS_REGION", "eu-west-1")
os.environ.setdefault("AWS_EC2_METADATA_DISABLED", "true")
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

STAGES = ("dev", "prod")
# dev with SageMaker's built-in XGBoost for training (`training.algorithm`), synthesized beside
# the committed stages so that cdk-nag, cfn-lint and the ASL validator cover that option too.
BUILTIN = "builtin"
# dev serving from a serverless endpoint (`serving.serverless`; Model Monitor off, since
# serverless endpoints have no data capture): the deployment state machine's other shape. Its
# churn also trains with SageMaker Autopilot (`training.algorithm: "automl"`, two candidates):
# the training state machine's AutoML shape, in every stage-wide check at no extra synth.
SERVERLESS = "serverless"
AUTOML_TRAINING = {"algorithm": "automl", "automl": {"max_candidates": 2}}
# dev deploying ames beside churn, from a stage file of its own but as stage dev (names
# mlplatform-dev-<use case>-...): every check of every stage covers two use cases side by side,
# and tests/infra/test_two_use_cases.py that nothing collides.
TWO_USE_CASES = "two"
SECOND_USE_CASE = "ames"
# Its stage entry: a batch schedule and a drift threshold of its own.
SECOND_USE_CASE_ENTRY = {"name": SECOND_USE_CASE,
                         "batch_inference": {"schedule": "cron(0 4 * * ? *)"},
                         "monitoring": {"drift_threshold": 0.3}}
# With ground truth for ames too (its model quality monitoring), which the serving side's checks
# read (tests/infra/test_serving_use_cases.py, the `two_use_cases` fixture).
GROUND_TRUTH = "s3://labels-bucket/ames/"
# A data scientist who reads ames's internal columns through Lake Formation, nothing of churn
# (tests/contract/test_lake_permissions.py).
LAKE_READER = {"role_arn": "arn:aws:iam::123456789012:role/ames-analyst", "domains": ["ames"],
               "sensitivity": ["internal"]}
# dev deploying every use case of the repository (runtime_scripts/use_cases/*) beside its own:
# each stage-wide check (cdk-nag, cfn-lint, ASL, request and permission contracts, update
# safety) covers a use case the moment its folder exists, with no platform test to edit.
EVERY_USE_CASE = "every"
STAGE_NAMES = {TWO_USE_CASES: "dev", EVERY_USE_CASE: "dev"}  # a variant's stage name
VARIANTS = (BUILTIN, SERVERLESS, TWO_USE_CASES, EVERY_USE_CASE)
ALL_STAGES = (*STAGES, *VARIANTS)  # what tests that check every stage iterate over
ROOT = Path(__file__).resolve().parents[1]


# The test directories whose checks read every synth variant (cdk-nag, cfn-lint, ASL, request
# and permission contracts): under `make test` (xdist's loadfile) one test process runs them
# all, so the variants, their rendered requests and their IAM views are built once per suite,
# not once per process; every other file is a unit of its own (its module fixtures run once).
STAGE_WIDE_DIRECTORIES = ("tests/contract/", "tests/infra/")


def pytest_xdist_make_scheduler(config, log):
    if config.getvalue("dist") != "loadfile":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class FilesAndStageWideChecks(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            path = nodeid.split("::", 1)[0]
            return "stage-wide checks" if path.startswith(STAGE_WIDE_DIRECTORIES) else path

    return FilesAndStageWideChecks(config, log)


def pytest_configure(config) -> None:
    """The jobs the tests start (through LocalProgram, or bin/* with testing.job_python()) run
    on the local runner's warm interpreter: each starts in milliseconds instead of importing the
    scientific stack again (local_runner/executors/warm_python.py; ML_LOCAL_WARM_PYTHON=0: cold).
    Not in xdist's controller, which runs no test. Jobs and the tests' own models share the
    cores as the local runner's jobs do (local_runner/executors/shared_cores.py)."""
    from local_runner.executors import warm_python
    from local_runner.executors.shared_cores import sharing_cores
    from runtime_scripts.use_cases.testing import JOB_PYTHON_ENV

    os.environ.update(sharing_cores(os.environ))
    if config.getoption("numprocesses", None) and not hasattr(config, "workerinput"):
        return
    if warm_python.enabled():
        os.environ.setdefault(JOB_PYTHON_ENV, warm_python.interpreter())


def write_builtin_stage(directory: Path) -> Path:
    data = json.loads((ROOT / "config" / "stages" / "dev.json").read_text())
    # With SageMaker Debugger: its built-in rules apply to the built-in algorithm.
    data["training"] = {**data["training"], "algorithm": "builtin", "debugger": True}
    path = directory / f"{BUILTIN}.json"
    path.write_text(json.dumps(data))
    return path


def write_serverless_stage(directory: Path) -> Path:
    data = json.loads((ROOT / "config" / "stages" / "dev.json").read_text())
    data["serving"] = {**data["serving"], "serverless": {"memory_size_mb": 3072,
                                                         "max_concurrency": 10}}
    data["monitoring"] = {**data["monitoring"], "enabled": False}
    data["training"] = {**data["training"], **AUTOML_TRAINING}
    path = directory / f"{SERVERLESS}.json"
    path.write_text(json.dumps(data))
    return path


def write_two_use_case_stage(directory: Path, *, ground_truth: bool = False) -> Path:
    data = json.loads((ROOT / "config" / "stages" / "dev.json").read_text())
    second = json.loads(json.dumps(SECOND_USE_CASE_ENTRY))
    if ground_truth:
        second["monitoring"]["ground_truth_s3_uri"] = GROUND_TRUTH
    data["use_cases"] = [*data["use_cases"], second]
    # Each use case trains with its own algorithm resource (ml_constructs/own_algorithm.py):
    # two in one stack share the deploy-time provider's role.
    for entry in data["use_cases"]:
        entry["training"] = {**entry.get("training", {}), "own_algorithm": True}
    data["lake_formation"] = {**data["lake_formation"], "readers": [LAKE_READER]}
    path = directory / f"{TWO_USE_CASES}{'-ground-truth' if ground_truth else ''}.json"
    path.write_text(json.dumps(data))
    return path


# The training instance a use case whose image needs a GPU gets in the 'every' variant (the
# stage's own default is a CPU type, which the config refuses for it).
GPU_TRAINING_INSTANCE = "ml.g5.xlarge"


# The committed stage files synthesized by a fixture of their own (`synthesized`,
# `synthesized_cicd`); any other committed stage is covered through the 'every' variant.
SYNTHESIZED_STAGE_FILES = (*STAGES, "cicd")


def _merged(base: dict, over: dict) -> dict:
    """`over` over `base` key by key, nested sections too (as the config loader merges)."""
    return {**base, **{k: _merged(base[k], v) if isinstance(v, dict) and isinstance(
        base.get(k), dict) else v for k, v in over.items()}}


def committed_stage_entry(name: str) -> dict | None:
    """Use case `name`'s entry in the committed stage file besides the synthesized ones that
    deploys it (config/stages/forecast.json: demand, with scheduled batch forecasts), with that
    stage's overridable sections folded in: deployed so in the 'every' variant, each
    stage-wide check covers that stage without a synth of its own (tests/infra/
    test_committed_stages.py checks that the two agree)."""
    from config import available_stages
    from config.use_cases import OVERRIDABLE

    for stage in available_stages():
        if stage in SYNTHESIZED_STAGE_FILES:
            continue
        data = json.loads((ROOT / "config" / "stages" / f"{stage}.json").read_text())
        for entry in data.get("use_cases", []):
            if entry.get("name") == name:
                return _merged({k: data[k] for k in OVERRIDABLE if k in data}, entry)
    return None


# What a use case whose built-in algorithm has an inference container of its own (Linear
# Learner, K-Means, PCA) gets in the 'every' variant: trained by it and served from its own
# container (Model Monitor off, which that container cannot serve), so that every stage-wide
# check covers that shape at no extra synth.
BUILTIN_SERVING_ENTRY = {"training": {"algorithm": "builtin"},
                         "serving": {"container": "builtin"}, "monitoring": {"enabled": False}}


def every_use_case_entry(name: str) -> dict:
    """A use case's entry as the 'every' variant adds it: as a committed stage file deploys
    it, else its defaults, on instances it can train on (its manifest's
    image.instance_family); BUILTIN_SERVING_ENTRY where it applies."""
    from runtime_scripts.common import builtin_algorithms
    from runtime_scripts.common.manifest import load_manifest

    committed = committed_stage_entry(name)
    if committed is not None:
        return committed
    manifest = load_manifest(name)
    builtin = manifest.image.builtin_training
    if builtin and builtin_algorithms.algorithm(builtin.framework).inference_content_types:
        return {"name": name, **json.loads(json.dumps(BUILTIN_SERVING_ENTRY))}
    if manifest.image.instance_family == "gpu":
        return {"name": name, "training": {"instance_type": GPU_TRAINING_INSTANCE}}
    return {"name": name}


# An analyst who reads, through Lake Formation, the domains of the use cases with a prediction
# table at the default level (tests/contract/test_lake_permissions.py: their predictions too).
PREDICTIONS_READER = "arn:aws:iam::123456789012:role/predictions-analyst"


def write_every_use_case_stage(directory: Path) -> Path:
    from runtime_scripts.common.manifest import available_use_cases, load_manifest

    data = json.loads((ROOT / "config" / "stages" / "dev.json").read_text())
    listed = {entry["name"] for entry in data["use_cases"]}
    data["use_cases"] += [every_use_case_entry(name) for name in available_use_cases()
                          if name not in listed]
    predicting = [e["name"] for e in data["use_cases"]
                  if load_manifest(e["name"]).batch_predictions is not None]
    if predicting:
        data["lake_formation"] = {**data["lake_formation"], "readers": [
            {"role_arn": PREDICTIONS_READER, "domains": predicting, "sensitivity": ["internal"]}]}
    path = directory / f"{EVERY_USE_CASE}.json"
    path.write_text(json.dumps(data))
    return path


def two_use_case_config(*, ground_truth: bool = True):
    """The two-use-case stage's config (by default the serving checks' one), without a synth."""
    from config import load_stage_config

    with tempfile.TemporaryDirectory() as directory:
        return load_stage_config(STAGE_NAMES[TWO_USE_CASES], write_two_use_case_stage(
            Path(directory), ground_truth=ground_truth))


# dev as its next deploy might look: other tags and monitoring settings, model quality monitoring
# on, and an edited record preprocessor (an asset), to compare with dev the way CloudFormation
# compares a stack's old and new template (tests/infra/test_update_safety.py).
UPDATED = "updated"


def write_updated_stage(directory: Path) -> Path:
    data = json.loads((ROOT / "config" / "stages" / "dev.json").read_text())
    data["cost_centre"] = "ml-platform-research"
    data["owner"] = "churn-team"
    data["monitoring"] = {**data["monitoring"], "instance_type": "ml.m5.xlarge",
                          "max_runtime_seconds": 2400,
                          "ground_truth_s3_uri": "s3://labels-bucket/churn/"}
    path = directory / f"{UPDATED}.json"
    path.write_text(json.dumps(data))
    return path


class SynthesizedStage:
    """A synthesized stage: its config and cdk.out, and its app (the construct tree) and cloud
    assembly; those two are synthesized in this process when first asked for if the cdk.out
    came from another test process."""

    def __init__(self, config, outdir: Path, app=None, assembly=None, synthesize=None) -> None:
        self.config, self.outdir = config, Path(outdir)
        self._app, self._assembly, self._synthesize = app, assembly, synthesize

    @property
    def app(self):
        self._own()
        return self._app

    @property
    def assembly(self):
        self._own()
        return self._assembly

    def _own(self) -> None:
        if self._app is None:
            self._app, self._assembly = self._synthesize()

    def stack(self, construct_id: str):
        return self.app.node.find_child(construct_id)

    @property
    def templates(self) -> list[Path]:
        """Every stack's template, those of CDK Pipelines stages (assembly-*/) included."""
        return sorted([*self.outdir.glob("*.template.json"),
                       *self.outdir.glob("assembly-*/*.template.json")])


class SynthesizedStages(Mapping):
    """stage -> SynthesizedStage, each synthesized when first asked for: a test process that
    runs only dev's local executions synthesizes dev alone; iterating synthesizes every one.

    Under xdist the test processes share each stage's cdk.out (the stage-wide checks and the
    local executions both need most stages): the first to ask synthesizes it into the
    session's shared directory, holding that stage's lock; the others wait for it and read it
    (their config loaded, their app synthesized again only if a test asks for it)."""

    def __init__(self, tmp_path_factory) -> None:
        self._factory = tmp_path_factory
        self._done: dict[str, SynthesizedStage] = {}
        self._stages_dir: Path | None = None
        self._shared = tmp_path_factory.getbasetemp().parent / "synthesized" \
            if os.environ.get("PYTEST_XDIST_WORKER") else None

    def __getitem__(self, stage: str) -> SynthesizedStage:
        if stage not in ALL_STAGES:
            raise KeyError(stage)
        if stage not in self._done:
            self._done[stage] = self._synthesize(stage)
        return self._done[stage]

    def __iter__(self):
        return iter(ALL_STAGES)

    def __contains__(self, stage: object) -> bool:
        return stage in ALL_STAGES

    def __len__(self) -> int:
        return len(ALL_STAGES)

    def _config_path(self, stage: str) -> Path | None:
        if self._stages_dir is None:
            self._stages_dir = self._factory.mktemp("stages")
        writers = {BUILTIN: write_builtin_stage, SERVERLESS: write_serverless_stage,
                   TWO_USE_CASES: lambda d: write_two_use_case_stage(d, ground_truth=True),
                   EVERY_USE_CASE: write_every_use_case_stage}
        return writers[stage](self._stages_dir) if stage in writers else None

    def _build(self, stage: str, outdir: Path) -> tuple[object, object, object]:
        from stacks.platform_app import build_app

        app, config = build_app(STAGE_NAMES.get(stage, stage), outdir=str(outdir),
                                config_path=self._config_path(stage))
        return app, config, app.synth()

    def _synthesize(self, stage: str) -> SynthesizedStage:
        if self._shared is None:
            outdir = self._factory.mktemp(f"cdk-out-{stage}")
            app, config, assembly = self._build(stage, outdir)
            return SynthesizedStage(config, outdir, app, assembly)
        import fcntl

        from config import load_stage_config

        self._shared.mkdir(exist_ok=True)
        outdir, done = self._shared / f"cdk-out-{stage}", self._shared / f"{stage}.done"
        with (self._shared / f"{stage}.lock").open("w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
            if not done.exists():
                app, config, assembly = self._build(stage, outdir)
                done.touch()
                return SynthesizedStage(config, outdir, app, assembly)
        config = load_stage_config(STAGE_NAMES.get(stage, stage), self._config_path(stage))

        def synthesize_here() -> tuple[object, object]:
            app, _, assembly = self._build(stage, self._factory.mktemp(f"cdk-out-{stage}"))
            return app, assembly

        return SynthesizedStage(config, outdir, synthesize=synthesize_here)


@pytest.fixture(scope="session")
def synthesized(tmp_path_factory) -> SynthesizedStages:
    return SynthesizedStages(tmp_path_factory)


@pytest.fixture(scope="session")
def synthesized_cicd(tmp_path_factory) -> SynthesizedStage:
    """The committed CI/CD stage (config/stages/cicd.json), synthesized like `cdk synth`."""
    from stacks.platform_app import build_app

    outdir = tmp_path_factory.mktemp("cdk-out-cicd")
    app, config = build_app("cicd", outdir=str(outdir))
    assembly = app.synth()
    return SynthesizedStage(config, outdir, app, assembly)


@pytest.fixture(scope="session")
def dev(synthesized) -> SynthesizedStage:
    return synthesized["dev"]


@pytest.fixture(scope="session")
def definitions(synthesized) -> dict:
    """stage -> {state machine name -> ASL document}, rendered from the synthesized templates."""
    from local_runner.assembly import read_stacks
    from local_runner.definitions import state_machines

    return {stage: {d.name: d.asl for d in state_machines(read_stacks(s.outdir))}
            for stage, s in synthesized.items()}


@pytest.fixture(scope="session")
def updated_dev(tmp_path_factory) -> SynthesizedStage:
    """dev after an update (`write_updated_stage`), its record preprocessor edited as well."""
    from ml_constructs import model_monitor
    from stacks.platform_app import build_app

    directory = tmp_path_factory.mktemp(UPDATED)
    original = model_monitor.record_preprocessor
    edited = directory / "capture.py"

    def record_preprocessor(manifest):
        edited.write_text(original(manifest).read_text() + "\n# edited: a new asset hash\n")
        return edited

    outdir = tmp_path_factory.mktemp(f"cdk-out-{UPDATED}")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(model_monitor, "record_preprocessor", record_preprocessor)
        app, config = build_app("dev", outdir=str(outdir),
                                config_path=write_updated_stage(directory))
        assembly = app.synth()
    return SynthesizedStage(config, outdir, app, assembly)


@pytest.fixture(scope="session")
def two_use_cases(synthesized) -> SynthesizedStage:
    """dev with churn and ames side by side, ames with ground truth for model quality
    monitoring (the `two` variant of `synthesized`)."""
    return synthesized[TWO_USE_CASES]
