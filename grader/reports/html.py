"""HTML pages: ``OUT/<student>/feedback.html`` for each student and ``OUT/index.html`` for the class.

    student_page(result)              -> the student's page: exercise table, named mistakes, each
                                         kind of failure with its message, the figures grading
                                         attached (expected vs the student's values, as heatmaps
                                         in inline SVG)
    class_page(assignment, results)   -> score histogram (inline SVG), pass rate per exercise, the
                                         most frequent misconceptions with counts, a link to every
                                         student's page

Self-contained files (images embedded), no scripts. Every text that a submission can influence
(messages, printed output, student names) is escaped.
"""

from __future__ import annotations

import math
from collections import Counter
from html import escape
from urllib.parse import quote

from grader import results
from grader.assignment import Assignment
from grader.grading import feedback
from grader.reports import summary

STYLE = """body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#222}
table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.3rem .6rem}td.n{text-align:right}
pre{background:#f6f6f6;padding:.6rem;overflow-x:auto;white-space:pre-wrap}
.mistake{border-left:4px solid #d33;padding-left:.8rem}img{max-width:100%}"""


def student_page(result: results.StudentResult) -> str:
    assignment, scores = result.assignment, result.scores
    body = [f"<h1>Assignment {escape(assignment.id)} ({escape(assignment.title)}): feedback for "
            f"{escape(result.student)}</h1>",
            f"<p><strong>Total: {summary.number(result.total)} / {summary.number(assignment.total_points)}"
            "</strong></p>",
            "<table><tr><th>exercise</th><th>points</th><th>tests passed</th><th>note</th></tr>"]
    for exercise in assignment.exercises:
        mine = _outcomes_of(result, exercise.id)
        s = scores[exercise.id]
        name = escape(exercise.id)
        name = f"<a href=\"#{name}\">{name}</a>" if any(not o.passed for o in mine) else name
        body.append(f"<tr><td>{name} ({escape(exercise.title)})</td><td class=n>{summary.number(s.points)} / "
                    f"{summary.number(exercise.points)}</td><td class=n>{sum(o.passed for o in mine)}/"
                    f"{len(mine)}</td><td>{escape(summary.exercise_note(mine, s))}</td></tr>")
    body.append("</table>")
    for exercise in assignment.exercises:
        failed = [o for o in _outcomes_of(result, exercise.id) if not o.passed]
        if failed:
            body += _exercise_section(exercise.id, exercise.title, failed, result.figures)
    if result.events:
        body += ["<h2>Limits hit while grading</h2><ul>"] + [f"<li>{escape(e)}</li>" for e in result.events]
        body.append("</ul>")
    if result.printed.strip():
        body += ["<h2>What your code printed (shortened)</h2>",
                 f"<pre>{escape(result.printed[:summary.MAX_PRINTED_OUTPUT])}</pre>"]
    body.append(f"<p><em>Graded in {result.execution_time:.1f} s; isolation: {escape(result.isolation)}.</em></p>")
    return _page(f"Feedback {assignment.id}: {result.student}", body)


def _exercise_section(exercise_id: str, title: str, failed: list, figures) -> list[str]:
    section = [f"<h2 id=\"{escape(exercise_id)}\">{escape(exercise_id)} ({escape(title)})</h2>"]
    if all(o.status == results.NOT_IMPLEMENTED for o in failed):
        return section + ["<p>Not implemented yet.</p>"]
    for diagnosis in summary.diagnoses(failed):
        section.append(f"<div class=mistake><pre>{escape(diagnosis)}</pre></div>")
    for pair in (f for f in figures if f.exercise == exercise_id):
        section += [f"<p>{escape(pair.title)} of {escape(pair.function)} on the smallest input where yours "
                    "differ (left: expected, right: yours):</p>",
                    _heatmap_svg(pair),
                    f"<details><summary>that input</summary><pre>{escape(pair.probe)}</pre></details>"]
    groups = summary.failure_groups(failed)
    for mine in groups[:5]:
        first = mine[0]
        kind = "hidden test" if first.test.hidden else "public test"
        also = f" (and {len(mine) - 1} more tests failing the same way)" if len(mine) > 1 else ""
        message = feedback.split_diagnosis(first.message)[0]
        section += [f"<h3>{escape(first.test.description)}</h3><p>{kind}{escape(also)}</p>",
                    f"<pre>{escape(message)}</pre>"]
    if len(groups) > 5:
        section.append(f"<p>... and {len(groups) - 5} more kinds of failure in this exercise.</p>")
    return section


def class_page(assignment: Assignment, graded: list[results.StudentResult]) -> str:
    graded = sorted(graded, key=lambda r: r.student)
    body = [f"<h1>Assignment {escape(assignment.id)} ({escape(assignment.title)}): {len(graded)} students</h1>"]
    if graded:
        body.append(_histogram_svg([r.total for r in graded], assignment.total_points))
    body += ["<h2>Pass rate per exercise</h2>",
             "<table><tr><th>exercise</th><th>tests passed</th><th>full marks</th><th>mean points</th></tr>"]
    for exercise in assignment.exercises:
        outcomes = [o for r in graded for o in _outcomes_of(r, exercise.id)]
        full = sum(r.scores[exercise.id].points >= exercise.points for r in graded)
        mean = sum(r.scores[exercise.id].points for r in graded) / len(graded) if graded else 0.0
        rate = f"{100 * sum(o.passed for o in outcomes) / len(outcomes):.0f}%" if outcomes else "-"
        body.append(f"<tr><td>{escape(exercise.id)}</td><td class=n>{rate}</td><td class=n>{full}/"
                    f"{len(graded)}</td><td class=n>{summary.number(mean)} / {summary.number(exercise.points)}</td></tr>")
    body.append("</table>")
    counts = misconception_counts(graded)
    body.append("<h2>Most frequent misconceptions</h2>")
    if counts:
        body.append("<table><tr><th>misconception</th><th>students</th></tr>")
        body += [f"<tr><td>{escape(name)}</td><td class=n>{n}</td></tr>" for name, n in counts.most_common(15)]
        body.append("</table>")
    else:
        body.append("<p>None named.</p>")
    body += ["<h2>Students</h2>", "<table><tr><th>student</th><th>total</th></tr>"]
    for r in graded:
        body.append(f"<tr><td><a href=\"{escape(quote(r.student))}/feedback.html\">{escape(r.student)}</a></td>"
                    f"<td class=n>{summary.number(r.total)}</td></tr>")
    body.append("</table>")
    return _page(f"Assignment {assignment.id}: class results", body)


def misconception_counts(graded: list[results.StudentResult]) -> Counter:
    """For each named misconception, how many students it was named for."""
    return Counter(tag.split(":", 1)[1] for r in graded
                   for tag in {t for o in r.outcomes for t in o.tags if t.startswith("misconception:")})


def _outcomes_of(result: results.StudentResult, exercise_id: str) -> list[results.TestOutcome]:
    return [o for o in result.outcomes if o.test.exercise == exercise_id]


def _page(title: str, body: list[str]) -> str:
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>{escape(title)}</title><style>{STYLE}</style></head><body>\n"
            + "\n".join(body) + "\n</body></html>\n")


# viridis at 0, 1/8, ..., 1: the colour scale of the heatmaps
_VIRIDIS = ((68, 1, 84), (71, 45, 123), (59, 82, 139), (44, 114, 142), (33, 145, 140),
            (40, 174, 128), (94, 201, 98), (173, 220, 48), (253, 231, 37))


def _colour(t: float) -> str:
    """The viridis colour of ``t`` in [0, 1], as ``#rrggbb``."""
    t = min(1.0, max(0.0, t)) * (len(_VIRIDIS) - 1)
    low = min(int(t), len(_VIRIDIS) - 2)
    mix = [a + (b - a) * (t - low) for a, b in zip(_VIRIDIS[low], _VIRIDIS[low + 1])]
    return "#" + "".join(f"{round(c):02x}" for c in mix)


def _heatmap_svg(pair) -> str:
    """Expected (left) and the student's (right) matrix side by side, one colour scale, as an
    inline SVG: cells coloured by value and, up to 8 x 8, labelled with it; NaN cells grey. Rows
    and columns are named as the figure's entry says (``pair.rows``, ``pair.columns``)."""
    panels = (("expected", pair.expected), ("yours", pair.got))
    finite = [v for _, rows in panels for row in rows for v in row if math.isfinite(v)]
    low, high = (min(finite), max(finite)) if finite else (0.0, 1.0)
    span = high - low if high > low else 1.0
    n_rows, n_cols = len(pair.expected), max(len(r) for r in pair.expected)
    cell = max(6, min(36, 240 // max(n_rows, n_cols)))
    labelled = n_rows * n_cols <= 64
    width, top = n_cols * cell + 40, 20
    what = escape(pair.title[:1].lower() + pair.title[1:])
    parts = [(f"<svg role=\"img\" aria-label=\"heatmap: expected and your {what}\" "
              f"width=\"{2 * width + 60}\" height=\"{max(n_rows * cell + 30, 115) + top}\" "
              "xmlns=\"http://www.w3.org/2000/svg\" font-size=\"9\">")]
    for number, (title, rows) in enumerate(panels):
        left = 30 + number * width
        parts.append(f"<text x=\"{left}\" y=\"12\" font-size=\"11\">{title}</text>")
        for i, row in enumerate(rows):
            for j, value in enumerate(row):
                x, y = left + j * cell, top + i * cell
                fill = _colour((value - low) / span) if math.isfinite(value) else "#999999"
                parts.append(f"<rect x=\"{x}\" y=\"{y}\" width=\"{cell}\" height=\"{cell}\" fill=\"{fill}\">"
                             f"<title>{escape(pair.rows)} {i}, {escape(pair.columns)} {j}: {value:.4g}</title></rect>")
                if labelled:
                    ink = "black" if math.isfinite(value) and (value - low) / span > 0.6 else "white"
                    parts.append(f"<text x=\"{x + cell / 2}\" y=\"{y + cell / 2 + 3}\" text-anchor=\"middle\" "
                                 f"fill=\"{ink}\">{'NaN' if math.isnan(value) else f'{value:.2f}'}</text>")
        parts.append(f"<text x=\"{left}\" y=\"{top + n_rows * cell + 14}\">{escape(pair.columns)} (column) "
                     f"&#8594;  {escape(pair.rows)} (row) &#8595;</text>")
    scale = 2 * width + 20
    for k in range(10):
        parts.append(f"<rect x=\"{scale}\" y=\"{top + (9 - k) * 10}\" width=\"10\" height=\"10\" "
                     f"fill=\"{_colour(k / 9)}\"/>")
    parts.append(f"<text x=\"{scale}\" y=\"{top - 3}\">{high:.3g}</text>"
                 f"<text x=\"{scale}\" y=\"{top + 110}\">{low:.3g}</text></svg>")
    return "".join(parts)


def _histogram_svg(totals: list[float], maximum: float, bins: int = 10) -> str:
    """Students per tenth of ``maximum`` points, as an inline SVG bar chart (no plotting library:
    the class page is rewritten at the end of every run)."""
    counts = [0] * bins
    for total in totals:
        counts[min(bins - 1, max(0, int(total / maximum * bins))) if maximum > 0 else 0] += 1
    width, height, bar = 480, 200, 44
    top = max(counts)
    parts = [(f"<svg role=\"img\" aria-label=\"score histogram\" width=\"{width}\" height=\"{height + 40}\" "
              f"viewBox=\"0 0 {width} {height + 40}\" xmlns=\"http://www.w3.org/2000/svg\" font-size=\"11\">")]
    for i, count in enumerate(counts):
        x, h = 20 + i * (bar + 2), round(count / top * (height - 20))
        parts.append(f"<rect x=\"{x}\" y=\"{height - h}\" width=\"{bar}\" height=\"{h}\" fill=\"#4a7ab5\">"
                     f"<title>{count} students</title></rect>")
        if count:
            parts.append(f"<text x=\"{x + bar / 2}\" y=\"{height - h - 4}\" text-anchor=\"middle\">{count}</text>")
        parts.append(f"<text x=\"{x}\" y=\"{height + 14}\">{maximum * i / bins:g}</text>")
    parts.append(f"<text x=\"{width / 2}\" y=\"{height + 34}\" text-anchor=\"middle\">"
                 f"total points (of {maximum:g}); bars: students</text></svg>")
    return "".join(parts)
