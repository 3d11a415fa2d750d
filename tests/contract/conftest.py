"""The synthesized definitions with every placeholder rendered as a deploy would render it, and
the synthesized stages read as accounts (IAM's view of them)."""

from __future__ import annotations

import pytest

from tests.contract.account import Account
from tests.contract.rendering import Rendering, render


@pytest.fixture(scope="session")
def deployed_definitions(synthesized) -> dict[str, dict[str, dict]]:
    """stage -> {state machine name -> ASL}, each `Ref`/`Fn::GetAtt`/cross-stack output
    rendered to a value of its resource's real form (role, key, topic and state machine ARNs,
    subnet and security group ids, the image URI) instead of a `${...}` placeholder, so that
    requests can be held to the patterns of the members that carry them."""
    from local_runner.assembly import read_stacks
    from local_runner.definitions import state_machines
    from local_runner.emulated_account import named_account

    result = {}
    for stage, synth in synthesized.items():
        stacks = read_stacks(synth.outdir)
        values = named_account(stacks, region=synth.config.region).substitutions
        result[stage] = {d.name: d.asl for d in state_machines(stacks, values)}
    return result


@pytest.fixture(scope="session")
def renderings(deployed_definitions) -> dict[str, Rendering]:
    """stage -> every request of every Task over every scenario (tests/contract/scenarios.py)."""
    return {stage: render(stage, machines) for stage, machines in deployed_definitions.items()}


@pytest.fixture(scope="session")
def accounts(synthesized) -> dict[str, Account]:
    """stage -> the stage as IAM sees it (roles and their policies, key and bucket policies)."""
    return {stage: Account.read(s.outdir) for stage, s in synthesized.items()}
