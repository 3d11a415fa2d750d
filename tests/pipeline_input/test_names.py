"""Job names: valid, within limits, deterministic, and distinct for distinct executions and for
distinct use cases."""

from __future__ import annotations

import random
import string

import pytest

from runtime_scripts import contract
from runtime_scripts.common.manifest import USE_CASE_NAME_MAX
from runtime_scripts.pipeline_input import names
from runtime_scripts.pipeline_input.values import SAGEMAKER_NAME, TUNING_JOB_NAME

PREFIX = "mlplatform-dev"
USE_CASE = "churn"
UUID = "3f2b8c1e-0d4a-4e6b-9a61-2c8f5e7d9b10"
ALL_KINDS = {**names.TRAINING_JOBS, **{f"batch-{k}": v for k, v in names.BATCH_JOBS.items()},
             **{f"deployment-{k}": v for k, v in names.DEPLOYMENT_JOBS.items()}}


def all_names(execution_name: str, prefix: str = PREFIX,
              use_case: str = USE_CASE) -> dict[str, str]:
    return names.job_names(prefix, execution_name, ALL_KINDS, use_case=use_case)


def assert_valid(result: dict[str, str], prefix: str = PREFIX) -> None:
    for kind, name in result.items():
        limit = ALL_KINDS[kind][1]
        assert len(name) <= limit, (kind, name)
        assert SAGEMAKER_NAME.match(name), (kind, name)
        assert name.startswith(f"{prefix}-"), (kind, name)
    assert TUNING_JOB_NAME.match(result["tuning"])


def test_short_clean_names_are_kept_readable():
    result = all_names("nightly-42")
    # 35 characters do not fit a tuning job name: cut, with the hash of the whole.
    tuning = result.pop("tuning")
    assert len(tuning) == names.TUNING_NAME_MAX
    assert tuning.startswith("mlplatform-dev-churn-tu-")
    assert all_names("n42")["tuning"] == "mlplatform-dev-churn-tune-n42"
    # An AutoML job name has the tuning job's limit (AutoMLJobName: 32 characters).
    automl = result.pop("automl")
    assert len(automl) == contract.AUTOML_JOB_NAME_MAX and automl.startswith("mlplatform-dev-")
    assert all_names("n42")["automl"] == "mlplatform-dev-churn-automl-n42"
    assert result == {
        "candidate_transform": "mlplatform-dev-churn-cand-nightly-42",
        "preprocessing": "mlplatform-dev-churn-prep-nightly-42",
        "training": "mlplatform-dev-churn-train-nightly-42",
        "data_wrangler": "mlplatform-dev-churn-dw-nightly-42",
        "training_rules": "mlplatform-dev-churn-rules-nightly-42",
        "package": "mlplatform-dev-churn-pkg-nightly-42",
        "evaluation": "mlplatform-dev-churn-eval-nightly-42",
        "model": "mlplatform-dev-churn-model-nightly-42",
        "batch-model": "mlplatform-dev-churn-batch-model-nightly-42",
        "batch-transform": "mlplatform-dev-churn-transform-nightly-42",
        "batch-evaluation": "mlplatform-dev-churn-batch-eval-nightly-42",
        "deployment-model": "mlplatform-dev-churn-serve-nightly-42",
        "deployment-endpoint_config": "mlplatform-dev-churn-epc-nightly-42",
        "deployment-baseline": "mlplatform-dev-churn-dqbase-nightly-42",
    }


def test_console_uuid_names_fit_and_tuning_is_at_most_32():
    result = all_names(UUID)
    assert_valid(result)
    assert result["training"] == f"{PREFIX}-{USE_CASE}-train-{UUID}"
    assert len(result["tuning"]) == 32
    assert result["tuning"].startswith(f"{PREFIX}-{USE_CASE}-tu")


@pytest.mark.parametrize("execution_name", [
    "my run_2024.01.01 #1", "Ünïcödé-läuft", "__init__", "---", "a" * 80, "x", "日本語",
    "run:2024-06-01T03:00:00Z", "Trailing-", "-leading",
])
def test_odd_execution_names_are_sanitised(execution_name):
    assert_valid(all_names(execution_name))


def test_names_are_deterministic():
    assert all_names("retrain after incident #7") == all_names("retrain after incident #7")
    assert names.job_name(PREFIX, "train", UUID, use_case=USE_CASE) == \
        names.job_name(PREFIX, "train", UUID, use_case=USE_CASE)


def test_long_names_differing_only_at_the_end_do_not_collide():
    first, second = "a" * 79 + "1", "a" * 79 + "2"
    one, two = all_names(first), all_names(second)
    for kind in ALL_KINDS:
        assert one[kind] != two[kind], kind


def test_sanitised_names_do_not_collide_with_each_other_or_a_clean_name():
    variants = ["run-1", "run_1", "run.1", "run 1", "run--1"]
    for kind in ("training", "tuning"):
        produced = [all_names(v)[kind] for v in variants]
        assert len(set(produced)) == len(variants), produced
    # The clean one keeps the exact, traceable form.
    assert all_names("run-1")["training"] == f"{PREFIX}-{USE_CASE}-train-run-1"


def test_many_random_names_are_valid_and_distinct():
    rng = random.Random(20240601)
    alphabet = string.ascii_letters + string.digits + "-_.:#é "
    executions = {"".join(rng.choice(alphabet) for _ in range(rng.randint(1, 80)))
                  for _ in range(2000)}
    produced = {kind: set() for kind in ALL_KINDS}
    for execution in executions:
        result = all_names(execution)
        assert_valid(result)
        for kind, name in result.items():
            produced[kind].add(name)
    assert all(len(v) == len(executions) for v in produced.values())


def test_long_prefix_still_gives_valid_names():
    prefix = "a-very-long-project-name-for-testing-prod"  # 40 characters: the platform maximum
    result = names.job_names(prefix, UUID, names.TRAINING_JOBS, use_case=USE_CASE)
    assert all(SAGEMAKER_NAME.match(n) and len(n) <= 63 for n in result.values())
    assert len(result["tuning"]) <= 32 and TUNING_JOB_NAME.match(result["tuning"])


def test_prefix_stays_whole_up_to_the_scoped_maximum():
    prefix = "p" * names.MAX_SCOPED_PREFIX
    longest = "u" * USE_CASE_NAME_MAX
    assert names.job_name(prefix, "tune", UUID, names.TUNING_NAME_MAX,
                          use_case=longest).startswith(f"{prefix}-")


def test_hash_uses_name_characters_only():
    digest = names.short_hash("anything")
    assert len(digest) == names.HASH_LENGTH
    assert SAGEMAKER_NAME.match(digest)


# --- names of retried attempts -------------------------------------------------------------------
ATTEMPTS = 3


def test_attempt_names_are_distinct_valid_and_keep_the_prefix():
    for execution in ("nightly-42", UUID, "x" * 80, "run_1"):
        for prefix in (PREFIX, "p" * names.MAX_SCOPED_PREFIX):
            attempts = names.job_attempts(prefix, execution, names.TRAINING_JOBS, ATTEMPTS,
                                          use_case=USE_CASE)
            assert set(attempts) == set(names.TRAINING_JOBS) & names.JOB_KINDS
            assert "model" not in attempts  # CreateModel is no job
            for kind, entry in attempts.items():
                word, limit = names.TRAINING_JOBS[kind]
                assert entry["attempt"] == 1
                assert entry["names"][0] == names.job_name(prefix, word, execution, limit,
                                                           use_case=USE_CASE)
                assert len(set(entry["names"])) == ATTEMPTS
                for name in entry["names"]:
                    assert len(name) <= limit and SAGEMAKER_NAME.match(name), name
                    assert name.startswith(f"{prefix}-"), name
            assert TUNING_JOB_NAME.match(attempts["tuning"]["names"][-1])


def test_a_later_attempt_shows_its_number_and_never_equals_another_executions_name():
    second = names.attempt_name(PREFIX, "train", "nightly-42", 2, use_case=USE_CASE)
    assert second.startswith("mlplatform-dev-churn-train-nightly-42-a2-")
    # Another execution named like that attempt's readable part gets a first-attempt name of
    # its own: the later attempt's hash covers '/attempt-2', which no execution name holds.
    assert names.attempt_name(PREFIX, "train", "nightly-42-a2", 1, use_case=USE_CASE) != second
    assert names.attempt_name(PREFIX, "train", "nightly-42", 2, use_case=USE_CASE) == second
    with pytest.raises(ValueError, match="start at 1"):
        names.attempt_name(PREFIX, "train", "nightly-42", 0, use_case=USE_CASE)


# --- two use cases in one stage ----------------------------------------------------------------
def test_two_use_cases_never_share_a_job_name_for_the_same_execution():
    """Both use cases' state machines may run an execution of the same name."""
    for execution in ("nightly-42", UUID, "x" * 80, "run_1", "é" * 80):
        churn, ames = all_names(execution), all_names(execution, use_case="ames")
        assert_valid(ames)
        assert not set(churn.values()) & set(ames.values()), execution
        for attempt in range(1, ATTEMPTS + 1):
            for kind, (word, limit) in ALL_KINDS.items():
                one = names.attempt_name(PREFIX, word, execution, attempt, limit,
                                         use_case=USE_CASE)
                other = names.attempt_name(PREFIX, word, execution, attempt, limit,
                                           use_case="ames")
                assert one != other, (kind, execution, attempt)


def test_a_use_case_named_like_another_plus_a_job_word_does_not_collide():
    """'sales' + 'model' + 'train-x' reads like 'sales-model' + 'train' + 'x': a use case whose
    name holds a '-' always ends its names in the hash of the unambiguous parts."""
    plain = names.job_name(PREFIX, "model", "train-x", use_case="sales")
    hyphenated = names.job_name(PREFIX, "train", "x", use_case="sales-model")
    assert plain == "mlplatform-dev-sales-model-train-x"  # readable: no '-' in the use case
    assert hyphenated.startswith("mlplatform-dev-sales-model-train-x-")
    assert plain != hyphenated and SAGEMAKER_NAME.match(hyphenated)


def test_no_job_word_is_another_followed_by_a_dash():
    """What keeps names of use cases without '-' apart: after '<prefix>-<use case>-' the word
    and the execution name can be split only one way."""
    words = [word for kind in (names.TRAINING_JOBS, names.BATCH_JOBS, names.DEPLOYMENT_JOBS)
             for word, _ in kind.values()]
    assert len(set(words)) == len(words)
    assert not [(a, b) for a in words for b in words if b.startswith(f"{a}-")]


def test_a_prefix_that_is_already_a_use_cases_own_names_without_another_one():
    """The deployment's: '<stage prefix>-<use case>' and no use case, the same readable name."""
    assert names.job_name("mlplatform-dev-churn", "serve", "deploy-1") == \
        names.job_name(PREFIX, "serve", "deploy-1", use_case=USE_CASE) == \
        "mlplatform-dev-churn-serve-deploy-1"
