"""Threshold calibration: run the reference over many seeds and report pass rate and margin.

An exercise with model-quality thresholds provides ``grader/exercises/<id>/calibrate.py`` with

    def measure(reference: ModuleType, settings, *, seeds: Sequence[int], device: str,
                echo: Callable[[str], None]) -> list[Measurement]

which trains/evaluates the reference (a trusted module, run in-process) once per seed and returns
one :class:`Measurement` per threshold. ``dlgrade calibrate <id>`` prints :func:`summarize`.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True)
class Measurement:
    """One threshold and the reference's values over the seeds.

    ``direction="above"``: a value passes when ``value >= threshold`` (accuracy);
    ``direction="below"``: when ``value <= threshold`` (a loss or an error).
    """

    name: str
    threshold: float
    direction: Literal["above", "below"]
    values: tuple[float, ...]

    def passes(self, value: float) -> bool:
        return value >= self.threshold if self.direction == "above" else value <= self.threshold

    @property
    def pass_rate(self) -> float:
        return sum(self.passes(v) for v in self.values) / max(1, len(self.values))

    @property
    def margin(self) -> float:
        """Distance from the worst seed to the threshold; negative when some seed fails."""
        if self.direction == "above":
            return min(self.values) - self.threshold
        return self.threshold - max(self.values)


def summarize(measurements: list[Measurement]) -> str:
    """A table: threshold, pass rate, worst/median/best value and margin, one row per threshold."""
    rows = [f"{'threshold':<44} {'bar':>10} {'pass':>9} {'worst':>10} {'median':>10} "
            f"{'best':>10} {'margin':>10}"]
    for m in measurements:
        worst = min(m.values) if m.direction == "above" else max(m.values)
        best = max(m.values) if m.direction == "above" else min(m.values)
        sign = ">=" if m.direction == "above" else "<="
        passed = sum(m.passes(v) for v in m.values)
        rows.append(f"{m.name:<44} {sign + format(m.threshold, '.4g'):>10} "
                    f"{f'{passed}/{len(m.values)}':>9} {worst:>10.4g} "
                    f"{statistics.median(m.values):>10.4g} {best:>10.4g} {m.margin:>10.4g}")
    return "\n".join(rows)
