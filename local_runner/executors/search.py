"""The search space of a tuning job (its ParameterRanges) and the ways to draw from it.

Continuous and integer ranges map a unit interval onto [MinValue, MaxValue] with their
ScalingType, so random sampling and sampling around a known point are both done in that unit
space: uniform there is uniform on the scale the user asked for.
"""

from __future__ import annotations

import itertools
import math
import random
from dataclasses import dataclass
from decimal import Decimal

KINDS = (("ContinuousParameterRanges", "continuous"), ("IntegerParameterRanges", "integer"),
         ("CategoricalParameterRanges", "categorical"))
# Sampling around a point: a normal step of this many range widths (in scaled units).
NEIGHBOURHOOD_SPREAD = 0.15


class SearchSpaceError(ValueError):
    """ParameterRanges that SageMaker would reject; the message names the range."""


@dataclass(frozen=True)
class Range:
    name: str
    kind: str  # "continuous" | "integer" | "categorical"
    low: float = 0.0
    high: float = 0.0
    scaling: str = "Linear"  # Auto is Linear here
    values: tuple[str, ...] = ()

    def sample(self, rng: random.Random) -> str:
        if self.kind == "categorical":
            return rng.choice(self.values)
        return self.from_unit(rng.random())

    def around(self, value: str | None, rng: random.Random) -> str:
        """A value near `value`; a value outside the range (or none) is drawn anew."""
        if self.kind == "categorical":
            return value if value in self.values and rng.random() < 0.5 else self.sample(rng)
        unit = self.to_unit(value)
        if unit is None:
            return self.sample(rng)
        return self.from_unit(min(1.0, max(0.0, rng.gauss(unit, NEIGHBOURHOOD_SPREAD))))

    def project(self, value: str | None, rng: random.Random) -> str:
        """`value` itself where the range allows it, else the nearest allowed value."""
        if self.kind == "categorical":
            return value if value in self.values else self.sample(rng)
        unit = self.to_unit(value)
        return self.sample(rng) if unit is None else self.from_unit(unit)

    def from_unit(self, u: float) -> str:
        low, high = self.low, self.high
        if self.kind == "integer":
            high += 1  # floor() below: every integer in [low, high] gets an equal share
        if self.scaling == "Logarithmic":
            x = math.exp(math.log(low) + u * (math.log(high) - math.log(low)))
        elif self.scaling == "ReverseLogarithmic":
            x = 1 - math.exp(math.log(1 - low) + u * (math.log(1 - high) - math.log(1 - low)))
        else:
            x = low + u * (high - low)
        if self.kind == "integer":
            return str(int(min(self.high, max(self.low, math.floor(x)))))
        return _decimal(min(self.high, max(self.low, x)))

    def to_unit(self, value: str | None) -> float | None:
        try:
            x = float(value) if value is not None else math.nan
        except ValueError:
            return None
        if not math.isfinite(x):
            return None
        low, high = self.low, self.high
        x = min(high, max(low, x))
        if self.kind == "integer":  # the middle of x's share of [low, high + 1)
            x, high = x + 0.5, high + 1
        if self.scaling == "Logarithmic":
            u = (math.log(x) - math.log(low)) / (math.log(high) - math.log(low))
        elif self.scaling == "ReverseLogarithmic":
            u = (math.log(1 - x) - math.log(1 - low)) / (math.log(1 - high) - math.log(1 - low))
        else:
            u = (x - low) / (high - low)
        return min(1.0, max(0.0, u))


def _decimal(x: float) -> str:
    """Six significant digits, never in exponent form (SageMaker passes plain decimals)."""
    text = f"{x:.6g}"
    return format(Decimal(text), "f") if "e" in text else text


def parse_ranges(parameter_ranges: dict) -> list[Range]:
    ranges: list[Range] = []
    for key, kind in KINDS:
        for spec in parameter_ranges.get(key) or []:
            ranges.append(_parse_one(spec, kind))
    if not ranges:
        raise SearchSpaceError("ParameterRanges holds no range: tune at least one hyperparameter")
    return ranges


def _parse_one(spec: dict, kind: str) -> Range:
    name = spec["Name"]
    if kind == "categorical":
        values = tuple(str(v) for v in spec.get("Values") or [])
        if not values:
            raise SearchSpaceError(f"categorical range {name!r} has no Values")
        return Range(name, kind, values=values)
    try:
        low, high = float(spec["MinValue"]), float(spec["MaxValue"])
    except (KeyError, ValueError):
        raise SearchSpaceError(f"{kind} range {name!r}: MinValue and MaxValue must be numbers "
                               f"(as strings), got {spec.get('MinValue')!r}, "
                               f"{spec.get('MaxValue')!r}") from None
    scaling = spec.get("ScalingType", "Auto")
    scaling = "Linear" if scaling == "Auto" else scaling
    if not low < high:
        raise SearchSpaceError(f"{kind} range {name!r}: MinValue {low:g} must be below "
                               f"MaxValue {high:g}")
    if scaling == "Logarithmic" and low <= 0:
        raise SearchSpaceError(f"{kind} range {name!r}: Logarithmic scaling needs MinValue > 0")
    if scaling == "ReverseLogarithmic" and (kind == "integer" or not 0 <= low < high < 1):
        raise SearchSpaceError(f"{kind} range {name!r}: ReverseLogarithmic scaling is for "
                               "continuous ranges within [0, 1)")
    if scaling not in ("Linear", "Logarithmic", "ReverseLogarithmic"):
        raise SearchSpaceError(f"{kind} range {name!r}: unknown ScalingType {scaling!r}")
    if kind == "integer" and not (low.is_integer() and high.is_integer()):
        raise SearchSpaceError(f"integer range {name!r}: MinValue and MaxValue must be integers")
    return Range(name, kind, low, high, scaling)


# --- drawing configurations ----------------------------------------------------------------------
def random_configs(ranges: list[Range], rng: random.Random, count: int) -> list[dict[str, str]]:
    return [{r.name: r.sample(rng) for r in ranges} for _ in range(count)]


def grid_configs(ranges: list[Range], count: int) -> list[dict[str, str]]:
    """Grid search: the cartesian product of the categorical values, in order, truncated."""
    numeric = [r.name for r in ranges if r.kind != "categorical"]
    if numeric:
        raise SearchSpaceError(f"the Grid strategy takes only categorical ranges, not "
                               f"{', '.join(numeric)}")
    product = itertools.product(*(r.values for r in ranges))
    return [dict(zip((r.name for r in ranges), combo, strict=True))
            for combo in itertools.islice(product, count)]


def warm_configs(ranges: list[Range], best: dict[str, str], rng: random.Random,
                 count: int) -> list[dict[str, str]]:
    """Warm start: the best known configuration first (re-evaluated on this job's data and
    ranges), then configurations sampled around it."""
    first = {r.name: r.project(best.get(r.name), rng) for r in ranges}
    rest = [{r.name: r.around(best.get(r.name), rng) for r in ranges} for _ in range(count - 1)]
    return [first, *rest][:count]
