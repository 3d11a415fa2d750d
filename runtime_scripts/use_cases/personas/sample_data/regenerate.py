"""Regenerate this folder's sample from the churn use case's copy of modeldata's `mlc_churn`
(5,000 telecom customers): the usage columns of 1,200 customers for training, and 100 others as
the local run's batch to assign. Run from the repository root:
    python runtime_scripts/use_cases/personas/sample_data/regenerate.py
"""

from pathlib import Path

import pandas as pd

HERE = Path(__file__).resolve().parent
SOURCE = HERE.parents[1] / "churn" / "sample_data" / "mlc_churn.csv"
COLUMNS = ["customer_id", "account_length", "number_vmail_messages", "total_day_minutes",
           "total_day_calls", "total_eve_minutes", "total_eve_calls", "total_night_minutes",
           "total_night_calls", "total_intl_minutes", "total_intl_calls",
           "number_customer_service_calls"]

if __name__ == "__main__":
    rows = pd.read_csv(SOURCE, usecols=COLUMNS)[COLUMNS].sample(frac=1.0, random_state=11)
    rows.iloc[:1200].sort_values("customer_id").to_csv(HERE / "customers.csv", index=False)
    rows.iloc[1200:1300].sort_values("customer_id").to_csv(HERE / "local_run" / "holdout.csv",
                                                           index=False)
