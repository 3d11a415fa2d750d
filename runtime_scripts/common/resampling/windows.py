"""Rolling-origin backtest windows: which periods each window trains on and which it evaluates.

A window has a cutoff, its first evaluated period. It evaluates the `horizon` periods from the
cutoff on and trains on periods strictly before `cutoff - gap` (the gap leaves out what would
not yet be known when the forecast is made, such as a month whose sales are still being
booked): every period since the data's first (an expanding training window) or the last
`training_periods` of them (a sliding one). Cutoffs are `step` periods apart: either from a
given first cutoff on, or counted back from the data's end so that the last window evaluates the
last periods there are.

A window fits the data when its training periods start at or after the data's first period,
hold at least `MIN_TRAINING_PERIODS`, and its evaluated periods end at or before the data's
last; with row counts per period (the split job has them) every window must also have rows to
train on and to evaluate. A plan that does not fit is refused with the key to change and the
values that would fit, never cut short silently.

Standard library only: the input validator plans with it too (runtime_scripts/pipeline_input).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass

from runtime_scripts import contract
from runtime_scripts.common.resampling import periods

TRAINING_WINDOWS = ("expanding", "sliding")
_COUNTS = f"{contract.BACKTEST_MIN_WINDOWS} .. {contract.BACKTEST_MAX_WINDOWS}"
# A model trained on one period has seen no change over time at all: at least two.
MIN_TRAINING_PERIODS = 2


class WindowError(ValueError):
    """The windows asked for cannot be cut from the data. `key` names the request's key to
    change, `allowed` its values that would work."""

    def __init__(self, key: str, problem: str, allowed: str | None = None) -> None:
        self.key, self.problem, self.allowed = key, problem, allowed
        text = f"backtest key {key!r}: {problem}"
        super().__init__(f"{text} (allowed: {allowed})" if allowed else text)


@dataclass(frozen=True)
class WindowRequest:
    """What a backtest asks for, in periods of the data's time unit."""

    unit: str
    horizon: int
    step: int
    windows: int | None = None  # None: as many as fit from first_cutoff on
    first_cutoff: int | None = None  # a period number (periods.parse)
    training_window: str = "expanding"
    training_periods: int | None = None  # the sliding window's length
    gap: int = 0

    def check(self) -> None:
        """What is wrong whatever the data: raises WindowError."""
        periods.check_unit(self.unit)
        for key, value, low in (("horizon", self.horizon, 1), ("step", self.step, 1),
                                ("gap", self.gap, 0)):
            if value < low:
                raise WindowError(key, f"{value} is out of range", f"{low} ..")
        if self.windows is None and self.first_cutoff is None:
            raise WindowError("windows", "is required when no first_cutoff is given",
                              f"{_COUNTS}, or a first_cutoff")
        if self.windows is not None and not (contract.BACKTEST_MIN_WINDOWS <= self.windows
                                             <= contract.BACKTEST_MAX_WINDOWS):
            raise WindowError("windows", f"{self.windows} is out of range", _COUNTS)
        if self.training_window not in TRAINING_WINDOWS:
            raise WindowError("training_window", f"{self.training_window!r} is not allowed",
                              ", ".join(TRAINING_WINDOWS))
        if self.training_window == "sliding":
            if self.training_periods is None or self.training_periods < MIN_TRAINING_PERIODS:
                raise WindowError("training_periods", "a sliding training window needs its "
                                  f"length in {self.unit}s, got {self.training_periods}",
                                  f"{MIN_TRAINING_PERIODS} ..")
        elif self.training_periods is not None:
            raise WindowError("training_periods", "applies to a sliding training window only",
                              "null with training_window 'expanding'")


@dataclass(frozen=True)
class Window:
    """One window, in period numbers, both ends included."""

    index: int
    train_first: int
    train_last: int
    cutoff: int  # the first evaluated period
    evaluate_last: int

    def labels(self, unit: str) -> dict[str, str]:
        return {key: periods.label(unit, value) for key, value in asdict(self).items()
                if key != "index"}


def plan(request: WindowRequest, first: int, last: int,
         rows: Mapping[int, int] | None = None) -> list[Window]:
    """The windows of `request` over data whose periods run from `first` to `last`; with
    `rows` (period -> row count) each window must hold rows to train on and to evaluate."""
    request.check()
    cutoffs = _cutoffs(request, first, last)
    windows = [_window(request, i, cutoff, first) for i, cutoff in enumerate(cutoffs)]
    for window in windows:
        _check_fits(request, window, first, last, cutoffs)
    if rows is not None:
        for window in windows:
            _check_rows(request, window, rows)
    return windows


def _cutoffs(request: WindowRequest, first: int, last: int) -> list[int]:
    latest = last - request.horizon + 1  # the last cutoff whose horizon the data covers
    if request.first_cutoff is None:
        count = request.windows or 0
        return [latest - request.step * (count - 1 - i) for i in range(count)]
    start = request.first_cutoff
    if start > latest:
        raise WindowError("first_cutoff", f"{_text(request, start)} leaves fewer than "
                          f"{request.horizon} {request.unit}s to evaluate before the data's "
                          f"last, {_text(request, last)}",
                          f"{_text(request, _earliest_cutoff(request, first))} .. "
                          f"{_text(request, latest)}")
    fitting = (latest - start) // request.step + 1
    if request.windows is None and fitting < contract.BACKTEST_MIN_WINDOWS:
        raise WindowError("first_cutoff", f"only {fitting} window of {request.step} "
                          f"{request.unit}s' step fits from {_text(request, start)} on; a "
                          f"backtest needs {contract.BACKTEST_MIN_WINDOWS}",
                          f"{_text(request, latest - request.step)} or earlier")
    count = fitting if request.windows is None else request.windows
    if count > contract.BACKTEST_MAX_WINDOWS:
        raise WindowError("windows", f"{count} windows of step {request.step} fit from "
                          f"{_text(request, start)} on, more than a backtest runs",
                          f"{_COUNTS}, or a later first_cutoff")
    return [start + request.step * i for i in range(count)]


def _window(request: WindowRequest, index: int, cutoff: int, first: int) -> Window:
    train_last = cutoff - request.gap - 1
    train_first = (first if request.training_window == "expanding"
                   else train_last - (request.training_periods or 0) + 1)
    return Window(index, train_first, train_last, cutoff, cutoff + request.horizon - 1)


def _earliest_cutoff(request: WindowRequest, first: int) -> int:
    """The first cutoff whose training window fits after the data's first period."""
    length = request.training_periods if request.training_window == "sliding" \
        else MIN_TRAINING_PERIODS
    return first + (length or MIN_TRAINING_PERIODS) + request.gap


def _check_fits(request: WindowRequest, window: Window, first: int, last: int,
                cutoffs: list[int]) -> None:
    earliest = _earliest_cutoff(request, first)
    if window.cutoff >= earliest and window.evaluate_last <= last:
        return
    span = f"the data's {request.unit}s {_text(request, first)} .. {_text(request, last)}"
    if window.evaluate_last > last:  # only a given window count can overrun the end
        fit = (last - request.horizon + 1 - cutoffs[0]) // request.step + 1
        raise WindowError("windows", f"{request.windows} windows of {request.horizon} "
                          f"{request.unit}s, {request.step} apart, from "
                          f"{_text(request, cutoffs[0])} on run past the end of {span}",
                          f"{contract.BACKTEST_MIN_WINDOWS} .. {max(fit, 0)}, or an earlier "
                          "first_cutoff")
    need = (f"{request.training_periods} {request.unit}s of sliding training window"
            if request.training_window == "sliding"
            else f"at least {MIN_TRAINING_PERIODS} {request.unit}s to train on")
    gap = f" and a gap of {request.gap}" if request.gap else ""
    problem = (f"window {window.index} (cutoff {_text(request, window.cutoff)}) has no room for "
               f"{need}{gap} after the start of {span}")
    if request.first_cutoff is not None:
        raise WindowError("first_cutoff", problem, f"{_text(request, earliest)} or later")
    latest = last - request.horizon + 1
    most = (latest - earliest) // request.step + 1
    raise WindowError("windows", problem,
                      f"{contract.BACKTEST_MIN_WINDOWS} .. {most}"
                      if most >= contract.BACKTEST_MIN_WINDOWS else
                      "none fit: shorten the horizon, the gap or the training window")


def _check_rows(request: WindowRequest, window: Window, rows: Mapping[int, int]) -> None:
    def count(low: int, high: int) -> int:
        return sum(n for period, n in rows.items() if low <= period <= high)

    where = (f"window {window.index} (cutoff {_text(request, window.cutoff)}, "
             f"{_text(request, window.cutoff)} .. {_text(request, window.evaluate_last)})")
    if count(window.cutoff, window.evaluate_last) == 0:
        raise WindowError("horizon", f"{where} has no rows to evaluate: the data has none in "
                          "those periods", "a horizon or windows that cover periods with rows")
    if count(window.train_first, window.train_last) == 0:
        raise WindowError("windows", f"{where} has no rows to train on between "
                          f"{_text(request, window.train_first)} and "
                          f"{_text(request, window.train_last)}", "fewer or later windows")


def _text(request: WindowRequest, number: int) -> str:
    return periods.label(request.unit, number)
