"""`mlplatform run` prints the hold-out metrics of a scored batch beside the test metrics."""

from __future__ import annotations

from local_runner.local_run import ExecutionResult
from local_runner.reporting import print_metrics_side_by_side


def result(pipeline: str, source: str, total: int, auc: float) -> ExecutionResult:
    document = {"metrics": {"auc": auc, "recall": 0.5, "precision": 0.25},
                "rows": {"total": total},
                "data": {"source": source}}
    return ExecutionResult(pipeline, "run", "arn", "SUCCEEDED",
                           {"evaluation": {"document": document}}, None, None, [], 1.0)


def test_test_and_hold_out_metrics_side_by_side(capsys):
    print_metrics_side_by_side([result("training", "raw", 675, 0.95),
                                ExecutionResult("deployment", "d", "arn", "SUCCEEDED", {}, None,
                                                None, [], 1.0),
                                result("batch-inference", "predictions", 500, 0.9312)])
    lines = capsys.readouterr().out.strip().splitlines()
    assert "training: test split, 675 rows" in lines[0]
    assert "batch-inference: labelled batch, 500 rows" in lines[0]
    assert lines[1].split() == ["auc", "0.9500", "0.9312"]
    assert lines[2].split() == ["recall", "0.5000", "0.5000"]
    assert len({line.index(".") for line in lines[1:]}) == 1  # the columns line up


def test_nothing_is_repeated_for_a_single_evaluation(capsys):
    print_metrics_side_by_side([result("training", "raw", 675, 0.95)])
    assert capsys.readouterr().out == ""


def test_each_use_case_gets_its_own_table(capsys):
    print_metrics_side_by_side([result("churn:training", "raw", 675, 0.95),
                                result("churn:batch-inference", "predictions", 500, 0.93),
                                result("fraud:training", "raw", 300, 0.81),
                                result("fraud:batch-inference", "predictions", 100, 0.79)])
    tables = capsys.readouterr().out.strip().split("\n\n")
    assert len(tables) == 2
    assert "churn:training" in tables[0] and "fraud" not in tables[0]
    assert tables[1].splitlines()[1].split() == ["auc", "0.8100", "0.7900"]
