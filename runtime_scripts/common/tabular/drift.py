"""Drift check: does a sample of raw rows (captured endpoint traffic, or any CSV of raw features)
still look like the baseline the model was trained on?

Per feature, two questions must both say yes before a feature is called drifted, so that a small
sample's noise never is and a large sample's trivial differences never are:
- is the change large? The population stability index (PSI) over the baseline's decile bins
  (numeric) or its categories (categorical) reaches `psi_threshold` (0.2: "a significant shift" in
  credit-scoring practice), or for a categorical feature the share of rows whose category the
  baseline never saw reaches `new_category_threshold`;
- is it real? The two-sample Kolmogorov-Smirnov test (numeric) or the chi-square test of the
  category counts (categorical) rejects "same distribution" at `alpha`.

Usage, as a processing job or on a workstation
(`python -m runtime_scripts.common.tabular.drift -h`):
    processing/input/baseline/**.csv     the baseline.csv preprocessing writes (header-ful)
    processing/input/current/**          captured traffic (*.jsonl from data capture) and/or
                                         raw-feature CSVs (with a header)
    processing/output/drift/drift.json   the report; one JSON summary line goes to stdout
`--fail-on-drift` makes the job fail (exit 3) when a feature drifted, to stop a pipeline.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from runtime_scripts import contract
from runtime_scripts.common.jobio import JobError, find_data_files, run_job, write_atomic
from runtime_scripts.common.tabular.capture import CaptureError, rows_from_lines
from runtime_scripts.common.tabular.dataset import DatasetSpec

log = logging.getLogger("tabular.drift")
DRIFT_INPUT_BASELINE = "baseline"
DRIFT_INPUT_CURRENT = "current"
DRIFT_OUTPUT = "drift"
REPORT_FILE = "drift.json"
CAPTURE_SUFFIXES = (".jsonl",)
CSV_SUFFIXES = (".csv",)
MISSING = "(missing)"
EXIT_DRIFT = 3
_EPSILON = 1e-4  # floor for empty bins: PSI's log ratio is undefined at zero


@dataclass(frozen=True)
class Thresholds:
    psi_threshold: float = 0.2
    alpha: float = 0.01
    new_category_threshold: float = 0.05
    bins: int = 10
    min_rows: int = 100


@dataclass
class FeatureDrift:
    kind: str
    psi: float
    p_value: float
    statistic: float  # KS statistic (numeric) or chi-square statistic (categorical)
    missing_share: dict[str, float]
    new_category_share: float | None = None
    drifted: bool = False
    reasons: list[str] = field(default_factory=list)


# --- statistics ----------------------------------------------------------------------------------
def psi(expected: np.ndarray, actual: np.ndarray) -> float:
    """Population stability index of two share vectors over the same bins."""
    e = np.clip(expected, _EPSILON, None)
    a = np.clip(actual, _EPSILON, None)
    return float(np.sum((a - e) * np.log(a / e)))


def quantile_edges(values: np.ndarray, bins: int) -> np.ndarray:
    """Inner bin edges at the baseline's quantiles, deduplicated (discrete features have fewer)."""
    inner = np.quantile(values, np.linspace(0, 1, bins + 1)[1:-1])
    return np.unique(inner)


def shares(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    # Right-closed bins: a value equal to an edge falls with the values below it, so a discrete
    # feature's repeated value never straddles two bins.
    counts = np.bincount(np.searchsorted(edges, values, side="left"), minlength=len(edges) + 1)
    return counts / max(len(values), 1)


def numeric_drift(base: pd.Series, current: pd.Series, t: Thresholds) -> FeatureDrift:
    b = pd.to_numeric(base, errors="coerce")
    c = pd.to_numeric(current, errors="coerce")
    missing = {"baseline": float(b.isna().mean()), "current": float(c.isna().mean())}
    b, c = b.dropna().to_numpy(float), c.dropna().to_numpy(float)
    if len(b) == 0 or len(c) == 0:
        return FeatureDrift("numeric", math.nan, math.nan, math.nan, missing,
                            reasons=["no numeric values to compare"])
    edges = quantile_edges(b, t.bins)
    value = psi(shares(b, edges), shares(c, edges))
    ks = stats.ks_2samp(b, c)
    result = FeatureDrift("numeric", value, float(ks.pvalue), float(ks.statistic), missing)
    if value >= t.psi_threshold and ks.pvalue < t.alpha:
        result.drifted = True
        result.reasons.append(f"PSI {value:.3f} >= {t.psi_threshold} and KS p-value "
                              f"{ks.pvalue:.2g} < {t.alpha}")
    return result


def categorical_drift(base: pd.Series, current: pd.Series, t: Thresholds) -> FeatureDrift:
    b = base.astype("string").fillna(MISSING)
    c = current.astype("string").fillna(MISSING)
    missing = {"baseline": float((b == MISSING).mean()), "current": float((c == MISSING).mean())}
    b_counts, c_counts = b.value_counts(), c.value_counts()
    categories = sorted(set(b_counts.index) | set(c_counts.index))
    bc = b_counts.reindex(categories, fill_value=0).to_numpy(float)
    cc = c_counts.reindex(categories, fill_value=0).to_numpy(float)
    value = psi(bc / bc.sum(), cc / cc.sum())
    new_share = float(cc[bc == 0].sum() / cc.sum())
    if len(categories) > 1:
        chi2, p_value, _, _ = stats.chi2_contingency(np.vstack([bc, cc]))
    else:
        chi2, p_value = 0.0, 1.0
    result = FeatureDrift("categorical", value, float(p_value), float(chi2), missing,
                          new_category_share=new_share)
    if p_value < t.alpha:
        if value >= t.psi_threshold:
            result.reasons.append(f"PSI {value:.3f} >= {t.psi_threshold} and chi-square "
                                  f"p-value {p_value:.2g} < {t.alpha}")
        if new_share >= t.new_category_threshold:
            result.reasons.append(f"{new_share:.1%} of rows have categories the baseline never "
                                  f"saw (>= {t.new_category_threshold:.0%})")
        result.drifted = bool(result.reasons)
    return result


def compare(baseline: pd.DataFrame, current: pd.DataFrame, spec: DatasetSpec,
            thresholds: Thresholds = Thresholds()) -> dict:
    """The drift report of `current` against `baseline`, both with the spec's feature columns."""
    for name, frame in (("baseline", baseline), ("current", current)):
        absent = [f for f in spec.feature_names if f not in frame.columns]
        if absent:
            raise JobError(f"the {name} rows lack feature columns {absent[:5]}: expected the "
                           "raw feature columns of the dataset spec")
    report: dict = {"rows": {"baseline": len(baseline), "current": len(current)},
                    "thresholds": asdict(thresholds), "drifted": False, "drifted_features": [],
                    "features": {}}
    if len(current) < thresholds.min_rows or len(baseline) < thresholds.min_rows:
        report["insufficient_data"] = (f"need at least {thresholds.min_rows} rows on each "
                                       "side to judge drift")
        return report
    for name, kind in spec.features.items():
        judge = numeric_drift if kind == "numeric" else categorical_drift
        result = judge(baseline[name], current[name], thresholds)
        report["features"][name] = asdict(result)
        if result.drifted:
            report["drifted_features"].append(name)
    report["drifted"] = bool(report["drifted_features"])
    return _json_safe(report)


def _json_safe(node):
    if isinstance(node, dict):
        return {k: _json_safe(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_json_safe(v) for v in node]
    if isinstance(node, float) and not math.isfinite(node):
        return None
    return node


# --- reading -------------------------------------------------------------------------------------
def read_capture(paths: list[Path], columns: list[str]) -> pd.DataFrame:
    rows = []
    for path in paths:
        try:
            rows.extend(rows_from_lines(path.read_text().splitlines(), columns))
        except CaptureError as exc:
            raise JobError(f"{path}: {exc}") from None
    bad = [len(r) for r in rows if len(r) != len(columns)]
    if bad:
        raise JobError(f"{len(bad)} captured rows have {bad[0]} values, expected "
                       f"{len(columns)}: the endpoint's request columns differ from the spec")
    return pd.DataFrame(rows, columns=columns, dtype=object)


def read_rows(root: Path, spec: DatasetSpec, *, captures: bool) -> pd.DataFrame:
    """Header-ful CSVs under `root`, plus data capture files when `captures` is true."""
    suffixes = CSV_SUFFIXES + (CAPTURE_SUFFIXES if captures else ())
    files = find_data_files(root, suffixes)
    frames = [pd.read_csv(p, dtype=str, keep_default_na=True)
              for p in files if p.suffix.lower() in CSV_SUFFIXES]
    capture_files = [p for p in files if p.suffix.lower() in CAPTURE_SUFFIXES]
    if capture_files:
        frames.append(read_capture(capture_files, spec.feature_names))
    log.info("%s: %d CSV and %d capture files", root, len(files) - len(capture_files),
             len(capture_files))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m runtime_scripts.common.tabular.drift",
                                     description=__doc__.split("\n")[0])
    paths = contract.MlPaths.from_env()
    defaults = Thresholds()
    parser.add_argument("--baseline", type=Path,
                        default=paths.processing_input(DRIFT_INPUT_BASELINE))
    parser.add_argument("--current", type=Path,
                        default=paths.processing_input(DRIFT_INPUT_CURRENT))
    parser.add_argument("--output", type=Path,
                        default=paths.processing_output(DRIFT_OUTPUT) / REPORT_FILE)
    parser.add_argument("--dataset-spec", type=Path, help="dataset spec JSON (default: bundled)")
    parser.add_argument("--psi-threshold", type=float, default=defaults.psi_threshold)
    parser.add_argument("--alpha", type=float, default=defaults.alpha)
    parser.add_argument("--new-category-threshold", type=float,
                        default=defaults.new_category_threshold)
    parser.add_argument("--min-rows", type=int, default=defaults.min_rows)
    parser.add_argument("--fail-on-drift", action="store_true",
                        help=f"exit {EXIT_DRIFT} when a feature drifted")
    args = parser.parse_args(argv)
    thresholds = Thresholds(args.psi_threshold, args.alpha, args.new_category_threshold,
                            defaults.bins, args.min_rows)
    outcome: dict = {}

    def job() -> None:
        spec = DatasetSpec.load(args.dataset_spec)
        report = compare(read_rows(args.baseline, spec, captures=False),
                         read_rows(args.current, spec, captures=True), spec, thresholds)
        args.output.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(args.output, json.dumps(report, indent=2))
        outcome.update(report)
        print(json.dumps({"drifted": report["drifted"],
                          "drifted_features": report["drifted_features"],
                          "rows": report["rows"], "report": str(args.output)}), flush=True)

    code = run_job(job, paths.exit_message, "drift")
    if code == 0 and args.fail_on_drift and outcome.get("drifted"):
        return EXIT_DRIFT
    return code


if __name__ == "__main__":
    sys.exit(main())
