"""A tuning job's trials as a table: each trial's hyperparameters and objective, the best marked.
Printed by `mlplatform run` and written into the run's summary.md."""

from __future__ import annotations

BEST_MARK = "★"


def trial_table(describe: dict, trials: list[tuple[str, dict[str, str], float | None, str]],
                ) -> list[str]:
    """`describe`: DescribeHyperParameterTuningJob's output; `trials`: (name, tuned
    hyperparameters, objective or None, status) in the order they ran."""
    objective = describe["HyperParameterTuningJobConfig"]["HyperParameterTuningJobObjective"]
    best = (describe.get("BestTrainingJob") or {}).get("TrainingJobName")
    names: list[str] = []
    for _, tuned, _, _ in trials:
        names += [n for n in tuned if n not in names]
    header = ["", "trial", *names, objective["MetricName"]]
    rows = [[BEST_MARK if name == best else "", str(index), *(tuned.get(n, "") for n in names),
             f"{value:.4f}" if value is not None else status.lower()]
            for index, (name, tuned, value, status) in enumerate(trials, start=1)]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    lines = [f"tuning job {describe['HyperParameterTuningJobName']}: {len(trials)} trials, "
             f"{objective['Type'].lower()} {objective['MetricName']} ({BEST_MARK} best)"]
    lines += ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True))
              .rstrip() for row in [header, *rows]]
    return lines
