"""How many folds the data can hold, one rule for the split job (folds.py) and the validator's
first run on the data (pipeline_input/first_run_profile.py), in the same words. Standard library
only: the validator's Lambda has nothing else."""

from __future__ import annotations

from dataclasses import dataclass

from runtime_scripts import contract

FOLDS_KEY = "cross_validation.folds"


@dataclass(frozen=True)
class FoldProblem:
    key: str
    problem: str  # follows the value: "7 is more than ..."
    allowed: str

    def __str__(self) -> str:
        return f"{self.key} {self.problem} (allowed: {self.allowed})"


def folds_problem(folds: int, class_counts: dict[str, int] | None, groups: int | None,
                  rows: int | None = None) -> FoldProblem | None:
    """Why `folds` cannot be used on data with these class counts (a classification), this
    number of groups (when grouped) and rows, or None. The first states apply the same rule to
    a data profile, the split job to the data itself."""
    low, high = contract.CV_MIN_FOLDS, contract.CV_MAX_FOLDS

    def up_to(most: int) -> str:
        return f"{low} .. {min(high, most)}" if most >= low else \
            f"none: cross-validation needs at least {low}"

    if not low <= folds <= high:
        return FoldProblem(FOLDS_KEY, f"{folds} is out of range", f"{low} .. {high}")
    if class_counts:
        smallest, count = min(class_counts.items(), key=lambda item: item[1])
        if folds > count:
            return FoldProblem(FOLDS_KEY, f"{folds} is more than the {count} rows of class "
                               f"{smallest!r}: every fold must hold out rows of every class",
                               up_to(count))
    if groups is not None and folds > groups:
        return FoldProblem(FOLDS_KEY, f"{folds} is more than the {groups} groups of the data: "
                           "each group is held out whole in one fold", up_to(groups))
    if rows is not None and folds > rows:
        return FoldProblem(FOLDS_KEY, f"{folds} is more than the {rows} rows of the data: "
                           "every fold must hold out a row", up_to(rows))
    return None
