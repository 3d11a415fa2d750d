"""Which fold each row is held out in: seeded, stratified by class for a classification, and
with every group (the dataset spec's `group_column`) held out whole in one fold.

scikit-learn's K-fold splitters, as the SageMaker examples and most ML code use them:
StratifiedKFold / StratifiedGroupKFold for a classification, KFold / GroupKFold for a
regression, each shuffled with the seed (GroupKFold's shuffle is deterministic too).
"""

from __future__ import annotations

from collections import Counter

import numpy as np

from runtime_scripts.common.resampling.fold_rules import FOLDS_KEY, folds_problem


class FoldError(ValueError):
    """The rows cannot be dealt into the folds asked for; names the key and the allowed values."""


def assign_folds(folds: int, seed: int, *, n_rows: int, labels: np.ndarray | None = None,
                 groups: np.ndarray | None = None) -> np.ndarray:
    """The fold (0 .. folds-1) each of `n_rows` rows is held out in. `labels`: stratify by
    them; `groups`: keep each group in one fold."""
    from sklearn import model_selection as ms

    counts = dict(Counter(labels.tolist())) if labels is not None else None
    n_groups = len(set(groups.tolist())) if groups is not None else None
    problem = folds_problem(folds, {str(k): v for k, v in counts.items()} if counts else None,
                            n_groups, n_rows)
    if problem:
        raise FoldError(str(problem))
    if labels is not None and groups is not None:
        splitter = ms.StratifiedGroupKFold(folds, shuffle=True, random_state=seed)
    elif labels is not None:
        splitter = ms.StratifiedKFold(folds, shuffle=True, random_state=seed)
    elif groups is not None:
        splitter = ms.GroupKFold(folds, shuffle=True, random_state=seed)
    else:
        splitter = ms.KFold(folds, shuffle=True, random_state=seed)
    fold_of = np.full(n_rows, -1, dtype=int)
    rows = np.zeros(n_rows)
    for fold, (_, held_out) in enumerate(splitter.split(rows, labels, groups)):
        fold_of[held_out] = fold
    empty = sorted(set(range(folds)) - set(fold_of.tolist()))
    if empty:  # StratifiedGroupKFold can leave a fold empty when a few groups are very large
        raise FoldError(f"{FOLDS_KEY} {folds}: fold(s) {empty} would hold out no rows with "
                        "these groups; use fewer folds")
    return fold_of
