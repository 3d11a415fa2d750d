"""The use cases' own algorithm resources (stage config `training.own_algorithm`, on for both use
cases of the `two` variant): each CreateAlgorithm call holds to botocore's input shape, declares
the manifest's channels, the provider's role may create and delete exactly those algorithms,
and the training pipelines train with them by default."""

from __future__ import annotations

import json

from runtime_scripts.common.manifest import load_manifest
from tests.conftest import TWO_USE_CASES
from tests.contract.cfn_render import Assembly
from tests.contract.shapes import request_problems


def _calls(synthesized) -> tuple[Assembly, object, dict[str, dict]]:
    assembly = Assembly.read(synthesized[TWO_USE_CASES].outdir)
    stack = next(s for s in assembly.stacks if s.name.endswith("-pipelines"))
    calls = {}
    for resource in stack.of_type("Custom::AWS").values():
        create = json.loads(assembly.render(stack, resource["Properties"]["Create"]))
        if create["action"] == "createAlgorithm":
            delete = json.loads(assembly.render(stack, resource["Properties"]["Delete"]))
            calls[create["parameters"]["AlgorithmName"]] = {"create": create, "delete": delete}
    return assembly, stack, calls


def test_each_use_case_declares_its_algorithm_as_create_algorithm_accepts(synthesized,
                                                                          definitions):
    assembly, stack, calls = _calls(synthesized)
    assert sorted(name.rsplit("-", 1)[0] for name in calls) == [
        "mlplatform-dev-ames", "mlplatform-dev-churn"]
    for name, call in calls.items():
        request = call["create"]["parameters"]
        assert request_problems("sagemaker", "CreateAlgorithm", request) == [], name
        assert call["delete"]["parameters"] == {"AlgorithmName": name}
        assert call["create"]["physicalResourceId"] == {"id": name}
        manifest = load_manifest(name.split("-")[2])
        spec = request["TrainingSpecification"]
        channels = {c["Name"]: c["SupportedInputModes"] for c in spec["TrainingChannels"]}
        assert channels == {c.name: list(c.input_modes) for c in manifest.channels}
        assert {h["Name"] for h in spec["SupportedHyperParameters"] if h["IsTunable"]} == {
            r["name"] for kind in manifest.tuning.ranges.values() for r in kind}
        # Trained with by default: the training state machine's defaults name it.
        machine = definitions[TWO_USE_CASES][f"mlplatform-dev-{manifest.name}-training"]
        payload = machine["States"]["Validate input"]["Parameters"]
        assert payload["defaults"]["training"]["algorithm_name"] == name
        assert payload["platform"]["own_algorithm"] == name
    policies = [assembly.render(stack, p["Properties"]["PolicyDocument"])
                for lid, p in stack.of_type("AWS::IAM::Policy").items()
                if lid.startswith("OwnAlgorithmsRole")]
    (statement,) = [s for s in policies[0]["Statement"]
                    if "sagemaker:CreateAlgorithm" in s["Action"]]
    assert statement["Action"] == ["sagemaker:CreateAlgorithm", "sagemaker:DeleteAlgorithm"]
    assert sorted(statement["Resource"]) == sorted(
        f"arn:aws:sagemaker:eu-west-1:123456789012:algorithm/{name}" for name in calls)
