"""Any long-format sales data a spec describes becomes regular series, by configuration alone;
bad input is an error naming the rows and the fix, or a documented treatment."""

from __future__ import annotations

import pandas as pd
import pytest

from runtime_scripts.use_cases.demand.series import SeriesDataError, build_panel
from runtime_scripts.use_cases.demand.spec import ForecastSpec, ForecastSpecError

WEEKLY = {"name": "shop", "series_id": ["store", "sku"], "target": "units",
          "timestamp": "week", "frequency": "W-MON", "covariates": {"price": "mean"},
          "static": ["category"], "horizon": 4, "season_length": 4, "short_series": "drop"}


def weekly_rows(weeks: int = 12, stores=("a", "b")) -> pd.DataFrame:
    rows = []
    for store in stores:
        for week in pd.date_range("2024-01-01", periods=weeks, freq="W-MON"):
            rows.append({"store": store, "sku": "x", "week": f"{week:%Y-%m-%d}",
                         "units": str(week.day), "price": "2.5", "category": "food"})
    return pd.DataFrame(rows)


def spec(**overrides) -> ForecastSpec:
    return ForecastSpec.from_json({**WEEKLY, **overrides})


def test_weekly_series_by_two_id_columns_with_covariates_and_statics() -> None:
    panel = build_panel(weekly_rows(), spec())
    frame = panel.frame
    assert panel.series == ["a|x", "b|x"]
    assert list(frame.columns) == ["series", "timestamp", "y", "price", "category"]
    assert (frame.groupby("series").size() == 12).all()
    assert frame["y"].iloc[0] == 1.0 and frame["price"].eq(2.5).all()


def test_ragged_series_and_missing_targets_stay_ragged_and_unknown() -> None:
    rows = weekly_rows()
    rows = rows[~((rows["store"] == "b") & (rows["week"] < "2024-02-01"))].copy()  # starts late
    rows.loc[rows.index[3], "units"] = None  # an unknown target
    rows = rows.drop(index=rows.index[5])  # a week without a row
    frame = build_panel(rows, spec(missing_periods="missing")).frame
    sizes = frame.groupby("series").size().to_dict()
    assert sizes == {"a|x": 12, "b|x": 7}
    assert frame.loc[frame["series"] == "a|x", "y"].isna().sum() == 2


def test_year_month_day_columns_and_transactions_binned_by_sum() -> None:
    rows = pd.DataFrame({"y": ["2024"] * 30, "m": ["1"] * 30,
                         "d": [str(1 + i // 2) for i in range(30)], "item": "p",
                         "qty": ["1"] * 30})
    panel = build_panel(rows, ForecastSpec.from_json({
        "name": "t", "series_id": ["item"], "target": "qty", "aggregation": "sum",
        "timestamp": {"year": "y", "month": "m", "day": "d"}}))
    assert panel.frame["y"].tolist() == [2.0] * 15


@pytest.mark.parametrize(("change", "expected"), [
    (lambda r: pd.concat([r, r.iloc[[4]]]), "rows 5, 25: duplicate (series, timestamp)"),
    (lambda r: r.assign(week=r["week"].where(r.index != 2, "2024-01-17")),
     "row 3: timestamps off the W-MON grid"),
    (lambda r: r.assign(units=r["units"].where(r.index != 6, "-3")),
     "row 7: target 'units' is negative"),
    (lambda r: r.assign(units=r["units"].where(r.index != 1, "many")),
     "row 2: target 'units' is no number"),
    (lambda r: r.assign(week=r["week"].where(r.index != 0, "soon")),
     "row 1: column 'week' holds no date"),
    (lambda r: r.drop(columns="price"), "the data lacks columns ['price']"),
    (lambda r: r.assign(category=r.index.astype(str)), "static attribute 'category' varies"),
])
def test_bad_input_is_an_error_naming_the_rows_and_the_fix(change, expected) -> None:
    with pytest.raises(SeriesDataError) as error:
        build_panel(change(weekly_rows()).reset_index(drop=True), spec())
    assert expected in str(error.value)
    assert ": " in str(error.value).split(expected)[-1] or "set " in str(error.value)


def test_negative_sales_may_be_clipped_and_duplicates_summed_by_configuration() -> None:
    rows = weekly_rows()
    rows.loc[6, "units"] = "-3"
    panel = build_panel(pd.concat([rows, rows.iloc[[4]]]), spec(
        negative_target="clip", aggregation="sum"))
    assert "1 negative targets clipped to 0" in panel.notes
    a = panel.frame[panel.frame["series"] == "a|x"]["y"].tolist()
    assert a[4] == 2 * float(rows.loc[4, "units"]) and a[6] == 0.0


def test_a_frequency_the_data_lacks_is_named_with_the_data_spacing() -> None:
    with pytest.raises(SeriesDataError, match=r"rows in only 15% of the D periods .* median "
                                              r"7 days apart\): it is coarser than frequency D"):
        build_panel(weekly_rows(), spec(frequency="D", season_length=7, horizon=7))


def test_series_shorter_than_a_season_are_left_out_and_listed_or_an_error() -> None:
    rows = weekly_rows()
    rows = rows[~((rows["store"] == "b") & (rows["week"] < "2024-03-11"))]
    panel = build_panel(rows, spec())
    assert panel.series == ["a|x"] and panel.dropped == ["b|x"]
    assert any("shorter than one season" in note for note in panel.notes)
    with pytest.raises(SeriesDataError, match=r"series \['b\|x'\] have fewer periods than one "
                                              r"season \(4\).*short_series: drop"):
        build_panel(rows, spec(short_series="error"))


@pytest.mark.parametrize(("override", "expected"), [
    ({"frequency": "H"}, "frequency 'H' is not one of D, MS, W-MON"),
    ({"aggregation": "median"}, "aggregation 'median' is not one of"),
    ({"horizon": 0}, "horizon must be a whole number 1..366"),
    ({"colour": "red"}, "unknown keys ['colour']"),
    ({"static": ["store"]}, "columns ['store'] are named in more than one role"),
    ({"holidays": "XX"}, "holidays 'XX' is no country code"),
])
def test_a_malformed_spec_names_the_key(override, expected) -> None:
    with pytest.raises(ForecastSpecError) as error:
        spec(**override)
    assert expected in str(error.value)
