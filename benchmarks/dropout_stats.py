"""Run the dropout exercise's statistical verdicts on the reference over many seeds, in-process.

    .venv/bin/python benchmarks/dropout_stats.py            # 1,000 seeds, the reference
    .venv/bin/python benchmarks/dropout_stats.py --wrong    # also: how often slips are caught
    .venv/bin/python benchmarks/dropout_stats.py --demo 20  # the training check's loss ratio

Settings come from ``autograder.yml``. For each seed it does what the statistical checks do (same shapes, dtypes, p, inputs from
``judge.input_rng(seed)``, the seed passed to ``dropout_forward`` / ``torch.manual_seed``) and
calls the verdicts of ``grader/exercises/dropout/stats.py``: the numpy function at ``p`` on a 2-D
float32 input and at ``hidden_p`` on a 3-D float32 input, the module at ``p`` (2-D float32) and at
``hidden_p`` (3-D float64). It prints the passes, the largest ``|deviation| / bound`` seen for each
comparison (below 1 passes) and the time.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from grader.config import load_config  # noqa: E402
from grader.errors import CheckFailure  # noqa: E402
from grader.exercises.dropout import Settings, probes, stats  # noqa: E402
from grader.exercises.dropout.judge import input_rng, positive_input  # noqa: E402


def load(path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"dropout_{path.parent.name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def cases(settings: Settings) -> list[tuple[str, str, float, tuple[int, ...], str]]:
    """(name, "numpy" | "module", p, shape, dtype) as in the checks."""
    flat = (settings.rows, settings.cols)
    deep = (settings.rows, settings.cols // 10, 10)
    return [("numpy p", "numpy", settings.p, flat, "float32"),
            ("numpy hidden_p", "numpy", settings.hidden_p, deep, "float32"),
            ("module p", "module", settings.p, flat, "float32"),
            ("module hidden_p", "module", settings.hidden_p, deep, "float64")]


def output(module: ModuleType, kind: str, x: np.ndarray, p: float, seed: int) -> np.ndarray:
    if kind == "numpy":
        return module.dropout_forward(x, p, seed=seed)[0]
    layer = module.Dropout(p)
    layer.train()
    torch.manual_seed(seed)
    with torch.no_grad():
        return layer(torch.from_numpy(x)).numpy()


MEASURES: dict[str, Callable[[np.ndarray, np.ndarray, float], stats.Comparison]] = {
    "fraction": lambda out, x, p: stats.measure_fraction_dropped(out, p),
    "mean": lambda out, x, p: stats.measure_mean(out, x, p),
    "rows": lambda out, x, p: stats.measure_row_agreement(out, p),
}


def verdicts(out: np.ndarray, x: np.ndarray, p: float) -> dict[str, bool]:
    """Each verdict's pass/fail on one output (the functions the checks call)."""
    checks = {
        "fraction": lambda: stats.check_fraction_dropped(out, x, p, what="out"),
        "survivors": lambda: stats.check_survivors_scaled(out, x, p, what="out",
                                                          rtol=stats.survivor_rtol(x.dtype)),
        "mean": lambda: stats.check_mean_preserved(out, x, p, what="out"),
        "rows": lambda: stats.check_independent_rows(out, x, p, what="out"),
    }
    passed = {}
    for name, check in checks.items():
        try:
            check()
            passed[name] = True
        except CheckFailure:
            passed[name] = False
    return passed


def run(module: ModuleType, settings: Settings, seeds: range) -> tuple[dict, dict, dict]:
    """Passes per (case, verdict) and the largest and smallest deviation/bound per
    (case, comparison)."""
    passes: dict[tuple[str, str], int] = {}
    largest: dict[tuple[str, str], float] = {}
    smallest: dict[tuple[str, str], float] = {}
    for seed in seeds:
        for name, kind, p, shape, dtype in cases(settings):
            x = positive_input(input_rng(seed), shape, dtype)
            out = output(module, kind, x, p, seed)
            for verdict, ok in verdicts(out, x, p).items():
                passes[name, verdict] = passes.get((name, verdict), 0) + ok
            for comp, measure in MEASURES.items():
                ratio = measure(out, x, p).ratio
                largest[name, comp] = max(largest.get((name, comp), 0.0), ratio)
                smallest[name, comp] = min(smallest.get((name, comp), np.inf), ratio)
    return passes, largest, smallest


def demo(module: ModuleType, settings: Settings, seeds: range) -> list[float]:
    ratios = []
    for seed in seeds:
        h = probes.overfitting_demo(module, p=settings.demo_p, seed=seed,
                                    width=settings.demo_width, steps=settings.demo_steps,
                                    every=settings.demo_every, n_train=settings.demo_train,
                                    n_val=settings.demo_val)
        ratios.append(h["dropout_train"][-1] / h["dropout_train"][0])
        print(f"  seed {seed:3d}: final/initial train loss with Dropout {ratios[-1]:.4f}; "
              f"val loss {h['plain_val'][-1]:.3f} without, {h['dropout_val'][-1]:.3f} with")
    return ratios


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=1000)
    parser.add_argument("--wrong", action="store_true",
                        help="also grade three slips over 100 seeds (how often they are caught)")
    parser.add_argument("--demo", type=int, default=0, metavar="N",
                        help="run the training demonstration for seeds 0..N-1")
    args = parser.parse_args()
    settings = load_config(REPO / "autograder.yml").exercise("dropout").settings or Settings()
    torch.set_num_threads(1)
    reference = load(REPO / "solutions" / "dropout.py")

    n = settings.rows * settings.cols
    print(f"delta per comparison {stats.DELTA:.3g} (FALSE_FAILURE {stats.FALSE_FAILURE:g} / "
          f"COMPARISONS {stats.COMPARISONS}); bounds at n = {n}: "
          f"fraction +/-{stats.hoeffding_mean_bound(n, stats.DELTA):.4g}, "
          f"row agreement +/-{stats.hoeffding_mean_bound(n // 2, stats.DELTA):.4g}")
    started = time.perf_counter()
    passes, worst, _ = run(reference, settings, range(args.seeds))
    seconds = time.perf_counter() - started
    total = sum(passes.values())
    print(f"reference, seeds 0..{args.seeds - 1}: {total} / {len(passes) * args.seeds} verdicts "
          f"passed; {args.seeds * len(cases(settings))} forward passes in {seconds:.1f} s")
    for (case, verdict), n in sorted(passes.items()):
        ratio = worst.get((case, verdict))
        extra = f"  worst |deviation| / bound {ratio:.3f}" if ratio is not None else ""
        print(f"  {case:<16} {verdict:<10} {n:>5} / {args.seeds}{extra}")

    if args.wrong:
        for slip in ("p_is_keep_probability", "no_rescaling", "same_mask_for_every_row"):
            module = load(REPO / "tests" / "submissions" / "dropout" / slip / "dropout.py")
            caught, _, smallest = run(module, settings, range(100))
            print(f"{slip}: verdicts passed out of 100 seeds (0 = always caught); smallest "
                  f"|deviation| / bound")
            for (case, verdict), n in sorted(caught.items()):
                if not case.startswith("numpy"):
                    continue
                ratio = smallest.get((case, verdict))
                extra = f"  worst-case ratio {ratio:.3g}" if ratio is not None else ""
                print(f"  {case:<16} {verdict:<10} {n:>5} / 100{extra}")

    if args.demo:
        ratios = demo(reference, settings, range(args.demo))
        print(f"demo: final/initial training loss with Dropout over {args.demo} seeds: "
              f"max {max(ratios):.4f}, median {float(np.median(ratios)):.4f}; threshold "
              f"{settings.demo_loss_ratio}")
    return 0 if total == len(passes) * args.seeds else 1


if __name__ == "__main__":
    raise SystemExit(main())
