"""The request contract: what every Task of every state machine of every stage sends, over the
scenarios in tests/contract/scenarios.py, holds to the operation's botocore input shape (types,
required members, lengths, patterns, enums), and what the definitions read from each result is a
member of the operation's output. A failure names the stage, state machine, state, scenario and
member, e.g. `Train model [longest name]: Tags[1].Value: 'x(1)' does not match TagValue's
pattern`."""

from __future__ import annotations

import copy
import json

import pytest

from tests.conftest import ALL_STAGES
from tests.contract import asl, result_paths
from tests.contract.rendering import KINDS, render, render_requests
from tests.contract.scenarios import SCENARIOS
from tests.contract.shapes import java_pattern, request_problems


def _where(task) -> str:
    return f"{task.state_machine} / {task.state} [{task.scenario}]"


@pytest.mark.parametrize("stage", ALL_STAGES)
def test_every_request_holds_to_its_botocore_input_shape(renderings, stage):
    found = [f"{_where(t)}: {p}" for t in renderings[stage].tasks
             for p in request_problems(t.service, t.operation, t.request)]
    assert found == [], "\n".join(found)


@pytest.mark.parametrize("stage", ALL_STAGES)
def test_every_state_is_reached_and_every_task_rendered(renderings, deployed_definitions, stage):
    rendering = renderings[stage]
    rendered = {(t.state_machine, t.state) for t in rendering.tasks}
    for machine, definition in deployed_definitions[stage].items():
        states = asl.all_states(definition)
        assert set(states) - rendering.reached[machine] == set(), machine
        tasks = {name for name, s in states.items() if asl.requesting(s)}
        assert {(machine, name) for name in tasks} <= rendered, machine


@pytest.mark.parametrize("stage", ALL_STAGES)
def test_the_first_state_accepts_or_refuses_each_scenario_as_intended(renderings, stage):
    verdicts = renderings[stage].verdicts
    assert verdicts
    for (machine, scenario), verdict in verdicts.items():
        kind = next(k for suffix, k in KINDS.items() if machine.endswith(suffix))
        spec = SCENARIOS[kind][scenario]
        if "rejected" in spec:
            assert verdict.startswith("InvalidPipelineInput: "), (machine, scenario, verdict)
            assert spec["rejected"] in verdict, (machine, scenario, verdict)
        else:
            assert verdict == "accepted", (machine, scenario, verdict)


@pytest.mark.parametrize("stage", ALL_STAGES)
def test_what_the_definitions_read_from_results_exists_in_the_output_shapes(
        deployed_definitions, stage):
    found = [f"{machine}: {p}" for machine, definition in deployed_definitions[stage].items()
             for p in result_paths.problems(definition)]
    assert found == [], "\n".join(found)


def test_the_api_is_what_the_permission_tests_build_on(definitions):
    """render_requests over the plain `definitions` fixture (placeholders kept)."""
    tasks = render_requests("dev", definitions)
    train = next(t for t in tasks if t.state == "Train model")
    assert (train.service, train.operation, train.integration) == \
        ("sagemaker", "CreateTrainingJob", "sync")
    assert train.resource == "arn:aws:states:::sagemaker:createTrainingJob.sync"
    validate = next(t for t in tasks if t.state == "Validate input")
    assert (validate.service, validate.operation, validate.integration) == \
        ("lambda", "Invoke", "lambda")
    assert validate.request["FunctionName"] == validate.resource
    assert validate.request["Payload"]["pipeline"] in ("training", "batch", "deployment")
    start = next(t for t in tasks if t.state == "Start training pipeline")
    assert (start.service, start.operation) == ("stepfunctions", "StartExecution")


# --- the checks themselves find what they exist for ------------------------------------------
def _mutated(deployed_definitions, machine: str, state: str, change) -> list[str]:
    definitions = copy.deepcopy(deployed_definitions["dev"])
    change(definitions[machine]["States"][state])
    tasks = render("dev", {machine: definitions[machine]}).tasks
    return [p for t in tasks if t.state == state
            for p in request_problems(t.service, t.operation, t.request)]


def test_a_request_broken_on_purpose_is_reported(deployed_definitions):
    training = "mlplatform-dev-churn-training"

    def bad_enum(state):
        # The first state shapes AlgorithmSpecification; a fixed one breaks as well.
        del state["Parameters"]["AlgorithmSpecification.$"]
        state["Parameters"]["AlgorithmSpecification"] = {"TrainingImage": "x",
                                                         "TrainingInputMode": "Streaming"}

    def too_long(state):
        state["Parameters"]["TrainingJobName.$"] = "States.Format('{}-{}', " \
            "$.run.job_names.training, $.run.job_names.training)"

    def unknown_member(state):
        state["Parameters"]["OutputDataConfig"]["VolumeSizeInGb"] = 30

    def bad_tag(state):
        state["Parameters"]["Tags"].append({"Key": "note", "Value": "a (note)!"})

    def missing_required(state):
        del state["Parameters"]["RoleArn"]

    expected = {bad_enum: "'Streaming' is not one of", too_long: "characters (allowed: 1 .. 63)",
                unknown_member: "unknown member 'VolumeSizeInGb'",
                bad_tag: "does not match TagValue's pattern",
                missing_required: "required member 'RoleArn' is missing"}
    for change, message in expected.items():
        problems = _mutated(deployed_definitions, training, "Train model", change)
        assert any(message in p for p in problems), (change.__name__, problems)


def test_a_result_member_misspelled_on_purpose_is_reported(deployed_definitions):
    definition = copy.deepcopy(deployed_definitions["dev"]["mlplatform-dev-churn-deployment"])
    states = definition["States"]
    states["Find latest approved model package"]["ResultSelector"] = {
        "packages.$": "$.ModelPackageSummaries"}
    states["Endpoint status?"]["Choices"][0]["Variable"] = "$.endpoint_status.Status"
    found = result_paths.problems(definition)
    assert any("no member 'ModelPackageSummaries'" in p for p in found), found
    assert any("Endpoint status? reads $.endpoint_status.Status" in p
               and "no member 'Status'" in p for p in found), found


def test_java_patterns_translate_to_what_the_services_match():
    assert java_pattern(r"[\p{L}\p{Z}\p{N}_.:/=+\-@]*").fullmatch("Été 2026_x")
    assert not java_pattern(r"[\p{L}\p{Z}\p{N}_.:/=+\-@]*").fullmatch("x!")
    assert java_pattern(r"([\p{L}\p{Z}\p{N}_.:\/=+\-@]*)${1,256}").fullmatch("run")
    surrogates = java_pattern(r"[\u0020-\uD7FF\uE000-\uFFFD\uD800\uDC00-\uDBFF\uDFFF\t]*")
    assert surrogates.fullmatch("ok \U0001F600") and not surrogates.fullmatch("\x01")
    alnum = java_pattern(r"arn:[\p{Alnum}\-]+:lambda:.*")  # Java's \p{Alnum} is ASCII only
    assert alnum.fullmatch("arn:aws:lambda:x") and not alnum.fullmatch("arn:äws:lambda:x")


def test_every_pattern_of_the_services_used_compiles():
    from tests.contract.outcomes import service_model

    services = {"sagemaker", "s3", "sns", "glue", "stepfunctions", "application-autoscaling",
                "lambda"}
    for service in services:
        model = service_model(service)
        for shape_name in model.shape_names:
            pattern = model.shape_for(shape_name).metadata.get("pattern")
            if pattern:
                java_pattern(pattern)  # raises on a construct the translation misses


def test_the_walker_fails_loudly_on_what_it_cannot_evaluate():
    with pytest.raises(asl.Unsupported):
        asl.get({"a": [1]}, "$.a[*]")
    with pytest.raises(asl.Unsupported):
        asl.expression("States.UUID()", {}, {})
    with pytest.raises(asl.PathNotFound):
        asl.resolve({"x.$": "$.missing"}, {}, {})
    assert asl.expression("States.Format('a {} {}', $.s, $.n)", {"s": "b", "n": 2}, {}) == "a b 2"
    assert asl.matches({"Variable": "$.c", "StringMatches": "*not found*"},
                       {"c": "endpoint not found: x"}, {})
    assert json.loads(json.dumps(asl.put({"a": {"b": 1}}, "$.a.c", 2))) == {"a": {"b": 1, "c": 2}}
