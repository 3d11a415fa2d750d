"""The cross-validation state machine as synthesized: a distributed Map over the split job's
fold list, each fold's jobs inheriting the stage's job settings, a failed fold failing its child
execution with its index in the cause, and the role holding what the Map needs, scoped."""

from __future__ import annotations

import json

import pytest

from tests.conftest import ALL_STAGES, TWO_USE_CASES

SUFFIX = "-cross-validation"


def _machines(definitions, stage):
    found = {n: d for n, d in definitions[stage].items() if n.endswith(SUFFIX)}
    assert found, f"{stage}: no cross-validation state machine"
    return found


@pytest.mark.parametrize("stage", ALL_STAGES)
def test_the_folds_are_a_distributed_map_over_the_fold_list(definitions, stage):
    for name, asl in _machines(definitions, stage).items():
        fan_out = asl["States"]["Cross-validate folds"]
        assert fan_out["ItemProcessor"]["ProcessorConfig"] == {"Mode": "DISTRIBUTED",
                                                               "ExecutionType": "STANDARD"}
        assert fan_out["ItemReader"]["Parameters"] == {"Bucket.$": "$.run.s3.fold_list_bucket",
                                                       "Key.$": "$.run.s3.fold_list_key"}
        assert fan_out["MaxConcurrencyPath"] == "$.cross_validation.max_concurrency"
        assert fan_out["ToleratedFailurePercentagePath"] == \
            "$.cross_validation.tolerated_failure_percentage"
        assert fan_out["ResultWriter"]["Parameters"]["Prefix"] == \
            f"map-runs/{name.split('-')[2]}"
        assert fan_out["Catch"][-1]["Next"] == "Notify failure", name


@pytest.mark.parametrize("stage", ALL_STAGES)
def test_a_failed_fold_fails_its_child_with_its_index_and_cause(definitions, stage):
    for name, asl in _machines(definitions, stage).items():
        states = asl["States"]["Cross-validate folds"]["ItemProcessor"]["States"]
        jobs = [s for s in states.values() if s["Type"] == "Task"]
        assert len(jobs) == 3, name  # the use case's preprocess, train and evaluate
        for job in jobs:
            assert job["Catch"][-1] == {"ErrorEquals": ["States.ALL"], "ResultPath": "$.error",
                                        "Next": "Fold failed: explain"}
        explain = states["Fold failed: explain"]
        assert explain["Parameters"]["Cause.$"] == \
            "States.Format('fold {}: {}', $.run.fold, $.error.Cause)"
        assert states[explain["Next"]]["Type"] == "Fail"


@pytest.mark.parametrize("stage", ALL_STAGES)
def test_each_fold_job_inherits_spot_runtime_network_and_keys(definitions, stage):
    for name, asl in _machines(definitions, stage).items():
        states = asl["States"]["Cross-validate folds"]["ItemProcessor"]["States"]
        train = states["Fold: train"]["Parameters"]
        assert train["EnableManagedSpotTraining.$"] == "$.training.use_spot"
        assert train["StoppingCondition.$"] == "$.training.stopping_condition"
        assert train["OutputDataConfig"]["KmsKeyId"]
        assert train["ResourceConfig.$"] == "$.training.cluster_config"
        # Isolated as the use case's training jobs are (not where they log to experiment
        # tracking, which needs the network).
        trained = definitions[stage][name.replace("-cross-validation", "-training")]["States"]
        # Where Autopilot trains (the AutoML branch) no training job of ours says it: the
        # preprocessing job is isolated alike.
        reference = trained["Train model"]["Parameters"] if "Train model" in trained else \
            trained["Preprocess data"]["Parameters"]["NetworkConfig"]
        isolated = reference.get("EnableNetworkIsolation")
        assert bool(train.get("EnableNetworkIsolation")) == bool(isolated), name
        prep = states["Fold: preprocess"]["Parameters"]
        assert prep["StoppingCondition"] == {"MaxRuntimeInSeconds.$":
                                             "$.processing.max_runtime_seconds"}
        assert bool(prep["NetworkConfig"].get("EnableNetworkIsolation")) == bool(isolated), name
        training = asl["States"]["Split into folds"]["Parameters"]
        assert ("VpcConfig" in train) == ("VpcConfig" in training["NetworkConfig"]), name


def test_the_map_may_start_only_its_own_children_and_read_only_fold_lists(dev):
    policies = [r["Properties"]["PolicyDocument"] for stack in dev.templates
                for r in json.loads(stack.read_text())["Resources"].values()
                if r["Type"] == "AWS::IAM::Policy"
                and "states:StartExecution" in json.dumps(r["Properties"])]
    text = json.dumps(policies)
    assert "stateMachine:mlplatform-dev-churn-cross-validation" in text
    assert "execution:mlplatform-dev-churn-cross-validation/*" in text
    assert "/folds/folds.json" in text and "map-runs/churn/*" in text


@pytest.mark.parametrize("stage", ALL_STAGES)
def test_a_final_model_is_trained_and_registered_only_when_asked_after_the_gate(definitions,
                                                                               stage):
    """`final_model`: the passed gate's Choice; the model trained and registered in the use
    case's group with the folds' statistics merged (shallowly, all Step Functions allows) into
    the run's metadata; otherwise the cross-validation notice, as before."""
    for name, asl in _machines(definitions, stage).items():
        states = asl["States"]
        assert states["Gate on mean and spread"]["Choices"][0]["Next"] == "Train final model?"
        choice = states["Train final model?"]
        assert choice["Choices"] == [{"Variable": "$.cross_validation.final_model",
                                      "BooleanEquals": True,
                                      "Next": "Final model: keep the folds' run"}]
        assert choice["Default"] == "Notify cross-validated"
        register = states["Final model: register"]["Parameters"]
        assert register["ModelPackageGroupName"] == name.removesuffix(SUFFIX)
        assert register["CustomerMetadataProperties.$"] == (
            "States.JsonMerge($.final_model.metadata, "
            "$.evaluation.document.registry_metadata, false)")
        train = states["Final model: train"]["Parameters"]
        assert train["HyperParameters.$"] == "$.training.hyperparameters"
        for state in ("Final model: preprocess", "Final model: train", "Final model: register"):
            assert states[state]["Catch"][-1]["Next"] == "Notify failure", (name, state)


def test_cross_validation_and_backtest_read_the_data_profile_with_one_builder(definitions):
    """The same S3 read of the stored profile (retries, catchers in order: a missing profile to
    the first run's 'Profile the data', its input kept), and the same validator call but for
    the check and what of the request it needs."""
    machines = definitions[TWO_USE_CASES]
    cv = machines["mlplatform-dev-ames-cross-validation"]["States"]
    bt = machines["mlplatform-dev-ames-backtest"]["States"]
    reads = cv["Read data profile"], bt["Read the data's profile"]
    for read in reads:
        assert [c["ErrorEquals"] for c in read["Catch"]][-2:] == [["S3.NoSuchKeyException"],
                                                                  ["States.ALL"]]
        assert read["Catch"][-2]["Next"] == "Profile the data"
        assert read["Catch"][-2]["ResultPath"] is None
    for key in ("Resource", "Parameters", "ResultSelector"):
        assert reads[0][key] == reads[1][key], key
    # Each read's own transient-error check is named after it.
    names = "Read data profile", "Read the data's profile"
    assert [{**c, "Next": c["Next"].replace(names[0], "<read>")} for c in reads[0]["Catch"]] == \
        [{**c, "Next": c["Next"].replace(names[1], "<read>")} for c in reads[1]["Catch"]]
    payloads = [s["Profile the data"]["Parameters"] for s in (cv, bt)]
    shared = ("data_s3_uri.$", "dataset_spec_s3_uri.$", "readable_bucket")
    assert payloads[0]["readable_bucket"].startswith("mlplatform-dev-")
    assert [p["dataset_spec_s3_uri.$"] for p in payloads] == ["$.data.dataset_spec_s3_uri"] * 2
    assert all(set(shared) <= set(p) for p in payloads)
    assert payloads[0]["readable_bucket"] == payloads[1]["readable_bucket"]
    assert set(payloads[0]) - set(payloads[1]) == {"folds.$", "group_column.$"}
    assert set(payloads[1]) - set(payloads[0]) == {"time.$"}


def _refusal(states: dict, document: dict) -> str | None:
    """The cause `Folds fit the classes?` fails the execution with on this state, or None."""
    from tests.contract import asl

    choice = states["Folds fit the classes?"]
    chosen = next((rule["Next"] for rule in choice["Choices"]
                   if asl.matches(rule, document, {})), choice["Default"])
    explain = states[chosen]
    if explain["Type"] != "Pass":
        return None
    return asl.resolve(explain["Parameters"], document, {})["Cause"]


def test_a_stored_profile_refuses_more_folds_than_the_groups_of_the_same_column(definitions):
    states = definitions["dev"]["mlplatform-dev-churn-cross-validation"]["States"]
    profile = {"rows": 500, "class_counts": {"no": 400, "yes": 100}, "minority_count": 100,
               "groups": 3, "group_column": "household"}

    def state(grouped_by, **changes):
        return {"cross_validation": {"folds": 5, "group_column": grouped_by},
                "data": {"input_s3_uri": "s3://raw/churn/"},
                "profile": {"document": {**profile, **changes}}}

    assert _refusal(states, state("household")) == (
        "cross_validation.folds 5 is more than the 3 groups of s3://raw/churn/ (column "
        "household): each group is held out whole in one fold (allowed: 2 .. 3)")
    # Groups of another column, of none, or a profile from before group columns were named.
    assert _refusal(states, state("region")) is None
    assert _refusal(states, state(None)) is None
    assert _refusal(states, state("household", group_column=None, groups=None)) is None
    old = state("household")
    del old["profile"]["document"]["group_column"]
    assert _refusal(states, old) is None
    # The classes first, as before.
    assert "rows of the smallest class" in _refusal(states, state("household", minority_count=4))
