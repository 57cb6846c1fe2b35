"""How often the slip hint names the right slip, a wrong one, or none (grader/slips).

Usage (from the repository root, with the venv's python):

    python benchmarks/slip_hints.py                    # every exercise
    python benchmarks/slip_hints.py --exercises kfold,conv --jobs 2
    python benchmarks/slip_hints.py --smoke            # kfold only, a few gradings (the suite's)

Three measurements per exercise, each printed as counts of "right", "wrong" and "not named":

1. **Leave-one-out over the catalogue** (no grading: the recorded signatures of
   ``grader/exercises/<id>/slip_signatures.json``): each catalogued edit's signature is matched
   against the catalogue *without its slip*. The right answer is then "not named"; any name is
   wrong. Also the catalogue whole (each edit must name its own slip).
2. **Slips written apart from the catalogue** (``benchmarks/slips/<id>/<name>.mutation``: edits
   of the correct variants' modules, in their styles, and of the reference, that make one
   catalogued slip, combine two, or make one the catalogue does not describe), each graded here.
   Each file's first line says what a hint should name (``# expect: a, b`` or
   ``# expect: none``); a second line ``# base: <variant>`` makes it an edit of
   ``tests/submissions/<id>/<variant>/<id>.py`` instead of the reference. Single slips: right when
   the hint names exactly that slip; combined: right when every slip named is one of them;
   uncatalogued: any name is wrong. Both the whole grading's hint and the one a student's
   ``dlgrade check`` would give (the visible checks only) are counted.
3. **Correct submissions** (the reference and ``tests/submissions/<id>/ok_*`` and
   ``naive_loops``): must score full marks and get no hint.

Targets (docs/grader-strength.md): right for at least 80 % of the single catalogued slips
written apart, wrong for under 5 % of all, never a hint on a correct submission. The exit code
is 1 when a target is missed. Also printed: the seconds grading took, and what matching adds to
a grading (the hints of a graded report, computed again many times).
"""

from __future__ import annotations

import argparse
import functools
import json
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from grader.config import load_config  # noqa: E402
from grader.slips.catalogue import load_catalogue  # noqa: E402
from grader.slips.edits import apply_mutation  # noqa: E402
from grader.slips.match import choose, hints_for  # noqa: E402
from grader.slips.record import grade_sources  # noqa: E402
from grader.slips.signature import visible_part  # noqa: E402

BENCH = REPO / "benchmarks" / "slips"
SUBMISSIONS = REPO / "tests" / "submissions"
CORRECT = ("ok_", "naive_loops")
SMOKE = {"kfold": ["loops_remainder_dropped", "combined_remainder_dropped_seed_ignored",
                   "uncatalogued_shuffle_ignored"]}


@dataclass(frozen=True)
class Written:
    """A slip written apart from the catalogue: its name, source, and what a hint should name."""

    exercise: str
    name: str
    source: str
    expect: tuple[str, ...]

    @property
    def kind(self) -> str:
        return {0: "uncatalogued", 1: "single"}.get(len(self.expect), "combined")


@dataclass
class Tally:
    counts: Counter = field(default_factory=Counter)
    wrong: list[str] = field(default_factory=list)  # what was named wrongly, for the report

    def add(self, verdict: str, note: str = "") -> None:
        self.counts[verdict] += 1
        if verdict == "wrong":
            self.wrong.append(note)

    def text(self) -> str:
        n = sum(self.counts.values())
        return (f"{n:3d}: {self.counts['right']:3d} right, {self.counts['wrong']:3d} wrong, "
                f"{self.counts['none']:3d} not named")


def verdict(named: tuple[str, ...], expect: tuple[str, ...]) -> str:
    """right / wrong / none for a hint naming ``named`` where ``expect`` is the truth."""
    if not named:
        return "none"
    if not expect:
        return "wrong"
    if len(expect) == 1:
        return "right" if named == expect else "wrong"
    return "right" if set(named) <= set(expect) else "wrong"


def written_slips(exercise: str, reference: str, only: list[str] | None) -> list[Written]:
    """The exercise's ``benchmarks/slips/<id>/*.mutation`` (those named in ``only``, if given),
    each applied to the reference or to the correct variant its ``# base:`` line names."""
    out = []
    folder = BENCH / exercise
    for path in sorted(folder.glob("*.mutation")) if folder.is_dir() else []:
        name = path.stem
        if only is not None and name not in only:
            continue
        text = path.read_text()
        lines = text.splitlines()
        if not lines or not lines[0].startswith("# expect:"):
            raise SystemExit(f"{path}: the first line must be '# expect: <slip ids>' or "
                             "'# expect: none'")
        expect = tuple(s.strip() for s in lines[0].split(":", 1)[1].split(",") if s.strip())
        base, base_text = "the reference", reference
        if len(lines) > 1 and lines[1].startswith("# base:"):
            variant = lines[1].split(":", 1)[1].strip()
            base = f"tests/submissions/{exercise}/{variant}/{exercise}.py"
            base_text = (REPO / base).read_text()
        source = apply_mutation(base_text, text, name=f"benchmarks/{exercise}/{name}", base=base)
        out.append(Written(exercise, name, source, () if expect == ("none",) else expect))
    return out


def correct_sources(exercise: str, config, smoke: bool) -> list[tuple[str, str]]:
    out = [("reference", (config.solutions / f"{exercise}.py").read_text())]
    if not smoke:
        for folder in sorted((SUBMISSIONS / exercise).iterdir()):
            if folder.is_dir() and folder.name.startswith(CORRECT):
                out.append((folder.name, (folder / f"{exercise}.py").read_text()))
    return out


def leave_one_out(exercise: str, bar: float | None = None) -> tuple[Tally, Tally, Tally, int]:
    """(the whole catalogue, leave-one-out, leave-one-out on the visible checks), and the
    number of slips with a recorded signature; ``bar`` replaces ``NAME_AT`` (:func:`_named`)."""
    catalogue = load_catalogue(exercise)
    whole, loo, loo_public = Tally(), Tally(), Tally()
    visible = _visible_checks(exercise)
    for slip in catalogue.slips:
        rest = catalogue.without(slip.id)
        for mutation, signature in slip.signatures.items():
            named = _named(signature, catalogue, bar)
            whole.add("right" if slip.id in named else ("wrong" if named else "none"),
                      f"{slip.id} ({mutation}) -> {named}")
            named = _named(signature, rest, bar)
            loo.add("wrong" if named else "none", f"{slip.id} ({mutation}) -> {named}")
            named = _named(visible_part(signature, visible), rest.restricted(visible), bar)
            loo_public.add("wrong" if named else "none", f"{slip.id} ({mutation}) -> {named}")
    return whole, loo, loo_public, sum(1 for s in catalogue.slips if s.signatures)


def _named(signature: dict, catalogue, bar: float | None = None) -> tuple[str, ...]:
    """The slips a hint would name (one, two alike, or two at once); ``bar`` replaces
    ``NAME_AT`` (the pairs' bar is never below it)."""
    from grader.slips.match import NAME_AT, PAIR_AT

    bar = NAME_AT if bar is None else bar
    return tuple(m.slip for m in choose(signature, catalogue, name_at=bar,
                                        pair_at=max(bar, PAIR_AT))[0])


@functools.cache
def _visible_checks(exercise: str) -> frozenset[str]:
    """The exercise's visible checks (collected, not run; once per exercise)."""
    from grader.runner import list_checks

    return frozenset(m.name for m in list_checks(load_config(REPO / "autograder.yml"), [exercise])
                     if m.visibility == "visible")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--exercises", default=None, help="comma-separated ids (default: all)")
    parser.add_argument("--jobs", type=int, default=2, help="submissions graded at once")
    parser.add_argument("--smoke", action="store_true",
                        help="kfold only, three written slips and the reference")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    parser.add_argument("--sweep", action="store_true",
                        help="also the right and wrong counts for other matching bars (for "
                             "calibrating grader.slips.match.NAME_AT)")
    args = parser.parse_args(argv)
    config = load_config(REPO / "autograder.yml")
    ids = (list(SMOKE) if args.smoke else
           [x.strip() for x in args.exercises.split(",")] if args.exercises else list(config.ids))

    written: list[Written] = []
    correct: list[tuple[str, str, str]] = []
    for ex in ids:
        reference = (config.solutions / f"{ex}.py").read_text()
        written += written_slips(ex, reference, SMOKE.get(ex) if args.smoke else None)
        correct += [(ex, name, src) for name, src in correct_sources(ex, config, args.smoke)]
    items = [(w.exercise, w.source) for w in written] + [(ex, src) for ex, _, src in correct]
    started = time.monotonic()
    graded = grade_sources(config, items, jobs=args.jobs)
    wall = time.monotonic() - started
    by_written = dict(zip([(w.exercise, w.name) for w in written], graded))
    by_correct = dict(zip([(ex, name) for ex, name, _ in correct], graded[len(written):]))

    figures: dict = {}
    rows, problems = [], []
    total = {key: Tally() for key in ("loo", "loo_public", "single", "single_public", "combined",
                                      "combined_public", "uncatalogued", "uncatalogued_public")}
    for ex in ids:
        whole, loo, loo_public, slips = leave_one_out(ex)
        total["loo"].counts.update(loo.counts)
        total["loo_public"].counts.update(loo_public.counts)
        total["loo"].wrong += loo.wrong
        total["loo_public"].wrong += loo_public.wrong
        tallies = {key: Tally() for key in ("single", "combined", "uncatalogued")}
        public = {key: Tally() for key in tallies}
        for w in (w for w in written if w.exercise == ex):
            g = by_written[(ex, w.name)]
            tallies[w.kind].add(verdict(g.hint, w.expect), f"{ex}/{w.name} -> {g.hint}")
            public[w.kind].add(verdict(g.public_hint, w.expect),
                               f"{ex}/{w.name} -> {g.public_hint} (public)")
            if g.full_marks:
                problems.append(f"{ex}/{w.name} scored full marks: it is no slip")
        for key in tallies:
            total[key].counts.update(tallies[key].counts)
            total[key].wrong += tallies[key].wrong
            total[f"{key}_public"].counts.update(public[key].counts)
            total[f"{key}_public"].wrong += public[key].wrong
        hinted = []
        for (e, name), g in by_correct.items():
            if e != ex:
                continue
            if not g.full_marks:
                problems.append(f"{ex}/{name} is correct but lost points")
            if g.hint or g.public_hint:
                hinted.append(name)
                problems.append(f"{ex}/{name} is correct but got the hint "
                                f"{g.hint or g.public_hint}")
        n_correct = sum(1 for e, _ in by_correct if e == ex)
        seconds = [g.seconds for (e, _), g in by_written.items() if e == ex]
        rows.append((ex, slips, whole, loo, loo_public, tallies, public, n_correct, hinted,
                     seconds))
        figures[ex] = {"slips": slips, "catalogue": dict(whole.counts), "loo": dict(loo.counts),
                       "loo_public": dict(loo_public.counts),
                       **{k: dict(t.counts) for k, t in tallies.items()},
                       **{f"{k}_public": dict(t.counts) for k, t in public.items()},
                       "correct": n_correct, "correct_hinted": hinted,
                       "seconds_per_grading": round(sum(seconds) / len(seconds), 2)
                       if seconds else None}

    print("exercise      slips  catalogue itself           leave-one-out (whole / visible)")
    for ex, slips, whole, loo, loo_public, *_ in rows:
        print(f"{ex:<12} {slips:5d}   {whole.text()}   {loo.counts['wrong']}/"
              f"{sum(loo.counts.values())} wrong / {loo_public.counts['wrong']}/"
              f"{sum(loo_public.counts.values())} wrong")
    print()
    print("written apart   kind          whole grading                         "
          "dlgrade check (visible checks)")
    for ex, _, _, _, _, tallies, public, n_correct, hinted, seconds in rows:
        for kind in ("single", "combined", "uncatalogued"):
            if sum(tallies[kind].counts.values()):
                print(f"{ex:<15} {kind:<13} {tallies[kind].text()}   {public[kind].text()}")
        print(f"{ex:<15} {'correct':<13} {n_correct:3d}: {len(hinted)} with a hint"
              + (f" ({', '.join(hinted)})" if hinted else ""))
    print()
    for key in total:
        t = total[key]
        if t.wrong:
            print(f"named wrongly ({key}): " + "; ".join(t.wrong))
    single = total["single"].counts
    n_single = sum(single.values())
    attempts = sum(sum(total[k].counts.values()) for k in ("loo", "single", "combined",
                                                           "uncatalogued"))
    wrong = sum(total[k].counts["wrong"] for k in ("loo", "single", "combined", "uncatalogued"))
    attempts_public = sum(sum(total[k].counts.values()) for k in total if k.endswith("_public"))
    wrong_public = sum(total[k].counts["wrong"] for k in total if k.endswith("_public"))
    right_rate = single["right"] / n_single if n_single else 1.0
    wrong_rate = wrong / attempts if attempts else 0.0
    wrong_public_rate = wrong_public / attempts_public if attempts_public else 0.0
    print(f"single catalogued slips written apart: {single['right']}/{n_single} right "
          f"({right_rate:.0%}; target >= 80 %), public {total['single_public'].counts['right']}/"
          f"{sum(total['single_public'].counts.values())}")
    print(f"named wrongly: {wrong}/{attempts} ({wrong_rate:.1%}; target < 5 %) whole, "
          f"{wrong_public}/{attempts_public} ({wrong_public_rate:.1%}) visible checks only")
    print(f"correct submissions with a hint: "
          f"{sum(len(r[8]) for r in rows)}/{sum(r[7] for r in rows)} (target 0)")
    timing = _matching_cost(config, ids)
    print(f"grading {len(items)} submissions took {wall:.0f} s with {args.jobs} job(s); "
          f"matching adds {timing * 1000:.2f} ms to a grading (hints of a report, computed again)")
    if args.sweep:
        print(sweep(ids, written, by_written))
    for p in problems:
        print(f"PROBLEM: {p}")
    if args.json is not None:
        args.json.write_text(json.dumps({
            "exercises": figures, "right_rate": right_rate,
            "written": {f"{w.exercise}/{w.name}": {
                "expect": list(w.expect), "hint": list(by_written[(w.exercise, w.name)].hint),
                "public_hint": list(by_written[(w.exercise, w.name)].public_hint),
                "signature": by_written[(w.exercise, w.name)].signature} for w in written},
                                         "wrong_rate": wrong_rate,
                                         "wrong_rate_public": wrong_public_rate,
                                         "seconds": round(wall, 1),
                                         "matching_ms": round(timing * 1000, 3)}, indent=1))
    ok = (right_rate >= 0.8 or args.smoke) and wrong_rate < 0.05 and not problems
    return 0 if ok else 1


def sweep(ids: list[str], written: list[Written], by_written: dict) -> str:
    """Right and wrong counts with other bars than ``NAME_AT``, whole gradings and the visible
    checks alone (as ``dlgrade check``)."""
    catalogues = {ex: load_catalogue(ex) for ex in ids}
    lines = ["bar    single right (whole, visible)   wrong: leave-one-out + written apart (whole, "
             "visible)"]
    for bar in (0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95, 1.0):
        right, wrong = Counter(), Counter()
        singles = attempts = 0
        for ex in ids:
            _, loo, loo_public, _ = leave_one_out(ex, bar)
            attempts += sum(loo.counts.values())
            wrong["whole"] += loo.counts["wrong"]
            wrong["visible"] += loo_public.counts["wrong"]
        for w in written:
            signature = by_written[(w.exercise, w.name)].signature
            visible = _visible_checks(w.exercise)
            attempts += 1
            singles += w.kind == "single"
            for key, sig, catalogue in (
                    ("whole", signature, catalogues[w.exercise]),
                    ("visible", visible_part(signature, visible),
                     catalogues[w.exercise].restricted(visible))):
                v = verdict(_named(sig, catalogue, bar), w.expect)
                wrong[key] += v == "wrong"
                right[key] += v == "right" and w.kind == "single"
        lines.append(f"{bar:4.2f}   {right['whole']:3d} {right['visible']:3d} /{singles:<3d}"
                     f"{right['whole'] / max(1, singles):15.0%}   {wrong['whole']:3d} "
                     f"{wrong['visible']:3d} /{attempts}  {wrong['whole'] / max(1, attempts):5.1%}")
    return "\n".join(lines)


def _matching_cost(config, ids: list[str], repeats: int = 50) -> float:
    """Seconds :func:`hints_for` takes on a report that failed checks of every exercise (the
    catalogues read from their files each time, as a grading does)."""
    from grader.results import CheckResult

    checks = []
    for ex in ids:
        catalogue = load_catalogue(ex)
        for slip in catalogue.slips[:1]:
            for name, where in next(iter(slip.signatures.values()), {}).items():
                checks.append(CheckResult(ex, name, 0.0, 1.0, "visible", "failed",
                                          failed_at=where))
    started = time.perf_counter()
    for _ in range(repeats):
        hints_for(checks, ids, public_only=False)
    return (time.perf_counter() - started) / repeats


if __name__ == "__main__":
    sys.exit(main())
