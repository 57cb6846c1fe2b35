"""After grading: the one or two catalogued slips an exercise's failures match closely.

The measure is a Jaccard index over failed checks that gives a shared check full credit when it
failed at the same place (same case, same site, same kind: see :mod:`grader.slips.signature`)
and half credit when it failed elsewhere::

    similarity(S, T) = sum over checks failed in both of (1 if same locus else 1/2)
                       / number of checks failed in either

A slip is named when its best edit's similarity is at least ``NAME_AT``; a second slip is named
with it when it is within ``TIE`` of the first ("A; or: B"); three or more that close name
nothing (the pattern does not tell them apart). When no slip is named, two slips made at once
are: the pair of the best ``PAIR_FROM`` whose signatures together match at least ``PAIR_AT``,
each explaining a failure the other does not ("A; and: B"). Calibrated by
``benchmarks/slip_hints.py`` (leave-one-out over the catalogue and slips written apart from
it): see ``docs/grader-strength.md``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from grader.results import CheckResult, Hint
from grader.slips.catalogue import Catalogue, load_catalogue
from grader.slips.signature import Signature, signature_of, visible_part

PARTIAL = 0.5  # a check failed by both, at another case or site
NAME_AT = 0.8  # calibrated: see the module docstring
TIE = 0.05
PAIR_AT = 0.95  # two hypotheses fit more patterns than one: a higher bar
PAIR_FROM = 5


@dataclass(frozen=True)
class Match:
    slip: str
    score: float
    mutation: str  # the slip's edit that matched best


def similarity(a: Signature, b: Signature) -> float:
    """See the module docstring; 0 when neither failed anything."""
    union = a.keys() | b.keys()
    if not union:
        return 0.0
    shared = sum(1.0 if a[c] == b[c] else PARTIAL for c in a.keys() & b.keys())
    return shared / len(union)


def rank(signature: Signature, catalogue: Catalogue) -> list[Match]:
    """Every catalogued slip with a recorded signature, best match first."""
    out = []
    for slip in catalogue.slips:
        scored = [(similarity(signature, sig), m) for m, sig in slip.signatures.items() if sig]
        if scored:
            score, mutation = max(scored)
            out.append(Match(slip.id, score, mutation))
    return sorted(out, key=lambda m: (-m.score, m.slip))


def name_slips(signature: Signature, catalogue: Catalogue, *, name_at: float = NAME_AT,
               tie: float = TIE) -> tuple[Match, ...]:
    """The one or two slips ``signature`` matches closely, or none (``name_at`` and ``tie``:
    see the module docstring; other values for calibrating them only)."""
    named = [m for m in rank(signature, catalogue) if m.score >= name_at]
    close = [m for m in named if m.score >= named[0].score - tie] if named else []
    return tuple(close) if len(close) <= 2 else ()


def name_pair(signature: Signature, catalogue: Catalogue, *,
              pair_at: float = PAIR_AT) -> tuple[Match, ...]:
    """Two slips made at once whose signatures together match ``signature`` closely, or none;
    both carry the pair's similarity."""
    best: tuple[float, tuple[Match, ...]] = (0.0, ())
    ranked = rank(signature, catalogue)[:PAIR_FROM]
    for i, a in enumerate(ranked):
        for b in ranked[i + 1:]:
            for ma, ta in catalogue.slip(a.slip).signatures.items():
                for mb, tb in catalogue.slip(b.slip).signatures.items():
                    # each must explain a failure the other does not
                    if not (ta.keys() - tb.keys()) & signature.keys() or not (
                            tb.keys() - ta.keys()) & signature.keys():
                        continue
                    score = similarity(signature, _together(ta, tb, signature))
                    if score > best[0]:
                        best = (score, (Match(a.slip, score, ma), Match(b.slip, score, mb)))
    return best[1] if best[0] >= pair_at else ()


def _together(a: Signature, b: Signature, seen: Signature) -> dict[str, str]:
    """The failures of two slips made at once: each check either fails, where ``seen`` failed
    when that is where one of them fails it."""
    out = {**b, **a}
    for check in a.keys() & b.keys():
        if seen.get(check) in (a[check], b[check]):
            out[check] = seen[check]
    return out


def choose(signature: Signature, catalogue: Catalogue, *, name_at: float = NAME_AT,
           pair_at: float = PAIR_AT) -> tuple[tuple[Match, ...], bool]:
    """``(matches, together)``: one or two slips that each match (``together`` False), or two
    made at once (True), or none."""
    named = name_slips(signature, catalogue, name_at=name_at)
    if named:
        return named, False
    pair = name_pair(signature, catalogue, pair_at=pair_at)
    return pair, bool(pair)


def hints_for(checks: Sequence[CheckResult], exercises: Iterable[str], *, public_only: bool,
              skip: Iterable[str] = (),
              load: Callable[[str], Catalogue] = load_catalogue) -> dict[str, Hint]:
    """The hint for each exercise of a graded report whose failures match a catalogued slip.

    ``public_only``: only the visible checks ran (``dlgrade check``), so the catalogue is cut to
    them. ``skip``: exercises not to hint at (not handed in, refused). An exercise with full
    marks never gets a hint; a hint changes no score. ``load`` reads an exercise's catalogue.
    """
    hints: dict[str, Hint] = {}
    skipped = set(skip)
    for ex in exercises:
        mine = [c for c in checks if c.exercise == ex]
        if ex in skipped or not mine or sum(c.score for c in mine) >= sum(
                c.max_score for c in mine) - 1e-9:
            continue
        catalogue = load(ex)
        if not catalogue.slips:
            continue
        visible = {c.name for c in mine if c.visibility == "visible"}
        signature = signature_of(mine, ex)
        if public_only or catalogue.visible_only:
            signature, catalogue = visible_part(signature, visible), catalogue.restricted(visible)
        named, together = choose(signature, catalogue)
        if not named:
            continue
        public = public_only or catalogue.visible_only
        if not public:
            seen, also = choose(visible_part(signature, visible), catalogue.restricted(visible))
            public = also == together and [m.slip for m in seen] == [m.slip for m in named]
        hints[ex] = Hint(slips=tuple(m.slip for m in named),
                         texts=tuple(catalogue.slip(m.slip).hint for m in named), public=public,
                         together=together)
    return hints
