"""The batch's summary page: one self-contained HTML file with matplotlib pictures (PNG inline).

What an instructor reads after a batch: the total's histogram and each exercise's, each check's
pass rate (lowest first: the checks the class struggles with), the likely slips the hints named
and how often (the class's most common mistakes), how many submissions carry each flag, and
which could not be graded and why. Statistics are per submission (a group's work
counts once). Drawn with ``matplotlib.figure.Figure`` and the Agg canvas, no pyplot state.
"""

from __future__ import annotations

import base64
import html
import io
import statistics
from collections import Counter
from collections.abc import Sequence

from grader.batch.gradebook import points
from grader.batch.layout import Submission

STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 70em; color: #222; }
table { border-collapse: collapse; margin: 1em 0; } td, th { padding: .25em .75em;
border-bottom: 1px solid #ddd; text-align: left; } td.n, th.n { text-align: right; }
img { max-width: 100%; } .muted { color: #666; } pre { white-space: pre-wrap; margin: 0; }
"""


def render(*, title: str, submissions: Sequence[Submission], states: dict[str, dict],
           exercises: Sequence[str], exercise_points: dict[str, float], grader_version: str,
           notices: Sequence[str] = ()) -> str:
    graded = [states[s.key] for s in submissions if states.get(s.key, {}).get("ok")]
    failed = [(s, states.get(s.key, {})) for s in submissions
              if not states.get(s.key, {}).get("ok")]
    students = sum(len(s.students) or 1 for s in submissions)
    out = [f"<!doctype html><html><head><meta charset='utf-8'><title>{_e(title)}: batch "
           f"summary</title><style>{STYLE}</style></head><body>",
           f"<h1>{_e(title)}</h1>",
           f"<p>{len(submissions)} submission(s), {students} student(s); {len(graded)} graded, "
           f"{len(failed)} could not be graded. <span class='muted'>Grader version "
           f"{_e(grader_version[:12])}.</span></p>"]
    broken = [s.key for s in submissions
              if any(f.startswith("grader error") for f in states.get(s.key, {}).get("flags", []))]
    if broken or failed:
        out.append("<p><strong>GRADER ERROR</strong>: "
                   + (f"the grader itself failed in checks of {len(broken)} submission(s) "
                      f"({_e(_listed(broken))}): their totals are incomplete. " if broken else "")
                   + (f"{len(failed)} submission(s) could not be graded (below). " if failed
                      else "") + "</p>")
    if notices:
        out.append("<ul>" + "".join(f"<li>{_e(n)}</li>" for n in notices) + "</ul>")
    maximum = sum(exercise_points.get(ex, 0) for ex in exercises)
    out.append(_score_table(graded, exercises, exercise_points, maximum))
    if graded:
        out.append("<h2>Scores</h2>")
        out.append(_img(_histograms(graded, exercises, exercise_points, maximum),
                        "histograms of the total and of each exercise"))
        out.append("<h2>Checks: pass rate</h2><p class='muted'>Share of graded submissions "
                   "that passed each check, lowest first.</p>")
        rates = _pass_rates(graded)
        for ex in exercises:
            mine = [(name, rate) for (e, name), rate in rates.items() if e == ex]
            if mine:
                out.append(f"<h3>{_e(ex)}</h3>")
                out.append(_img(_rate_chart(ex, mine), f"pass rate per check of {ex}"))
    out.append(slips_section(graded, exercises))
    flagged: dict[str, list[str]] = {}
    for s in submissions:
        for f in dict.fromkeys(states.get(s.key, {}).get("flags", [])):
            flagged.setdefault(f, []).append(s.key)
    if flagged:
        out.append("<h2>Flags</h2><table><tr><th>flag</th><th class='n'>count</th>"
                   "<th>submissions</th></tr>"
                   + "".join(f"<tr><td>{_e(f)}</td><td class='n'>{len(keys)}</td>"
                             f"<td>{_e(_listed(keys))}</td></tr>"
                             for f, keys in sorted(flagged.items(), key=lambda x: -len(x[1])))
                   + "</table>")
    if failed:
        out.append("<h2>Not graded</h2><table><tr><th>submission</th><th>why</th></tr>"
                   + "".join(f"<tr><td>{_e(s.key)}</td><td><pre>"
                             f"{_e(str(st.get('error', 'not graded yet'))[:1500])}</pre></td></tr>"
                             for s, st in failed) + "</table>")
    out.append("</body></html>")
    return "\n".join(out)


def _listed(keys: Sequence[str], n: int = 10) -> str:
    return ", ".join(keys[:n]) + (f", and {len(keys) - n} more" if len(keys) > n else "")


def slips_section(graded: list[dict], exercises: Sequence[str]) -> str:
    """The class's most common mistakes: how many graded submissions got each slip hint
    (grader.slips), most common first; empty when no submission got one."""
    counts: Counter = Counter()
    texts: dict[tuple[str, str], str] = {}
    for g in graded:
        for ex, hint in (g.get("hints") or {}).items():
            for slip, text in zip(hint.get("slips", []), hint.get("texts", [])):
                counts[(ex, slip)] += 1
                texts[(ex, slip)] = text
    if not counts:
        return ""
    order = {ex: i for i, ex in enumerate(exercises)}
    rows = sorted(counts.items(), key=lambda kv: (-kv[1], order.get(kv[0][0], len(order)), kv[0]))
    return ("<h2>Likely slips</h2><p class='muted'>How many graded submissions got each hint "
            "(\"This pattern of failures usually means: ...\", named from which checks failed "
            "and where): the class's most common mistakes. A submission whose failures match "
            "two slips closely counts for both; a hint can be wrong.</p>"
            "<table><tr><th>exercise</th><th>slip</th><th class='n'>submissions</th>"
            "<th>what it usually means</th></tr>"
            + "".join(f"<tr><td>{_e(ex)}</td><td>{_e(slip)}</td><td class='n'>{n}</td>"
                      f"<td>{_e(texts[(ex, slip)])}</td></tr>" for (ex, slip), n in rows)
            + "</table>")


def _score_table(graded: list[dict], exercises: Sequence[str],
                 exercise_points: dict[str, float], maximum: float) -> str:
    head = ("<table><tr><th></th><th class='n'>points</th><th class='n'>mean</th>"
            "<th class='n'>median</th><th class='n'>min</th><th class='n'>max</th>"
            "<th class='n'>full marks</th></tr>")
    body = []
    for label, top, values in [
        *((ex, exercise_points.get(ex, 0), [g["exercises"][ex][0] for g in graded
                                            if ex in g["exercises"]]) for ex in exercises),
        ("total", maximum, [g["score"] for g in graded]),
    ]:
        if values:
            stats = (statistics.mean(values), statistics.median(values), min(values),
                     max(values))
            cells = "".join(f"<td class='n'>{points(v)}</td>" for v in stats)
            full = sum(v >= top - 0.005 for v in values)
        else:
            cells, full = "<td class='n'>-</td>" * 4, 0
        body.append(f"<tr><th>{_e(label)}</th><td class='n'>{points(top)}</td>{cells}"
                    f"<td class='n'>{full}/{len(values)}</td></tr>")
    return head + "".join(body) + "</table>"


def _pass_rates(graded: list[dict]) -> dict[tuple[str, str], float]:
    seen: dict[tuple[str, str], list[bool]] = {}
    for g in graded:
        for c in g.get("checks", []):
            seen.setdefault((c["exercise"], c["name"]), []).append(c["status"] == "passed")
    return {k: sum(v) / len(v) for k, v in seen.items()}


def _figure(width: float, height: float):
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), layout="constrained")


def _histograms(graded: list[dict], exercises: Sequence[str],
                exercise_points: dict[str, float], maximum: float):
    panels = [("total", maximum, [g["score"] for g in graded])]
    panels += [(ex, exercise_points.get(ex, 0),
                [g["exercises"][ex][0] for g in graded if ex in g["exercises"]])
               for ex in exercises]
    cols = min(3, len(panels))
    rows = -(-len(panels) // cols)
    fig = _figure(4 * cols, 2.8 * rows)
    axes = fig.subplots(rows, cols, squeeze=False).ravel()
    for ax, (label, top, values) in zip(axes, panels):
        ax.hist(values, bins=min(20, max(5, len(values))), range=(0, top or 1),
                color="#4a78b5" if label != "total" else "#2f4f7a", edgecolor="white")
        ax.set_title(f"{label} (of {points(top)})")
        ax.set_xlabel("points")
        ax.set_ylabel("submissions")
        ax.yaxis.get_major_locator().set_params(integer=True)
    for ax in axes[len(panels):]:
        ax.set_visible(False)
    return fig


def _rate_chart(exercise: str, rates: list[tuple[str, float]]):
    rates = sorted(rates, key=lambda r: (r[1], r[0]), reverse=True)  # lowest ends on top
    fig = _figure(9, 0.8 + 0.24 * len(rates))
    ax = fig.subplots()
    labels = [name.split(": ", 1)[-1] for name, _ in rates]
    values = [100 * rate for _, rate in rates]
    bars = ax.barh(range(len(rates)), values, color=[
        "#c0504d" if v < 50 else "#e0a030" if v < 80 else "#5a9a5a" for v in values])
    ax.bar_label(bars, fmt="%.0f%%", fontsize=7, padding=2)
    ax.set_yticks(range(len(rates)), labels, fontsize=8)
    ax.set_xlim(0, 100)
    ax.set_xlabel("% of submissions passing")
    ax.set_title(exercise)
    return fig


def _img(fig, alt: str) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90)
    data = base64.b64encode(buf.getvalue()).decode("ascii")
    return f"<p><img alt='{_e(alt)}' src='data:image/png;base64,{data}'></p>"


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)
