"""The synthesized stages (tests/conftest.py's `synthesized`) read as accounts, once a session."""

from __future__ import annotations

import pytest

from tests.contract.account import Account


@pytest.fixture(scope="session")
def accounts(synthesized) -> dict[str, Account]:
    return {stage: Account.read(s.outdir) for stage, s in synthesized.items()}
