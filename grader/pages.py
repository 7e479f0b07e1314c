"""HTML pages: ``OUT/<student>/feedback.html`` for each student and ``OUT/index.html`` for the class.

    student_page(result)              -> the student's page: exercise table, named mistakes, each
                                         kind of failure with its message, heatmaps of expected vs
                                         the student's attention weights (PNG data URIs)
    class_page(assignment, results)   -> score histogram, pass rate per exercise, the most frequent
                                         misconceptions with counts, a link to every student's page

Self-contained files (images embedded), no scripts. Every text that a submission can influence
(messages, printed output, student names) is escaped.
"""

from __future__ import annotations

import base64
import io
from collections import Counter
from html import escape
from urllib.parse import quote

from grader import feedback, reports, results
from grader.assignment import Assignment

STYLE = """body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#222}
table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.3rem .6rem}td.n{text-align:right}
pre{background:#f6f6f6;padding:.6rem;overflow-x:auto;white-space:pre-wrap}
.mistake{border-left:4px solid #d33;padding-left:.8rem}img{max-width:100%}"""


def student_page(result: reports.StudentResult) -> str:
    assignment, scores = result.assignment, result.scores
    body = [f"<h1>Assignment {escape(assignment.id)} ({escape(assignment.title)}): feedback for "
            f"{escape(result.student)}</h1>",
            f"<p><strong>Total: {reports.number(result.total)} / {reports.number(assignment.total_points)}"
            "</strong></p>",
            "<table><tr><th>exercise</th><th>points</th><th>tests passed</th><th>note</th></tr>"]
    for exercise in assignment.exercises:
        mine = _outcomes_of(result, exercise.id)
        s = scores[exercise.id]
        name = escape(exercise.id)
        name = f"<a href=\"#{name}\">{name}</a>" if any(not o.passed for o in mine) else name
        body.append(f"<tr><td>{name} ({escape(exercise.title)})</td><td class=n>{reports.number(s.points)} / "
                    f"{reports.number(exercise.points)}</td><td class=n>{sum(o.passed for o in mine)}/"
                    f"{len(mine)}</td><td>{escape(reports.exercise_note(mine, s))}</td></tr>")
    body.append("</table>")
    for exercise in assignment.exercises:
        failed = [o for o in _outcomes_of(result, exercise.id) if not o.passed]
        if failed:
            body += _exercise_section(exercise.id, exercise.title, failed, result.heatmaps)
    if result.events:
        body += ["<h2>Limits hit while grading</h2><ul>"] + [f"<li>{escape(e)}</li>" for e in result.events]
        body.append("</ul>")
    if result.printed.strip():
        body += ["<h2>What your code printed (shortened)</h2>",
                 f"<pre>{escape(result.printed[:reports.MAX_PRINTED_OUTPUT])}</pre>"]
    body.append(f"<p><em>Graded in {result.execution_time:.1f} s; isolation: {escape(result.isolation)}.</em></p>")
    return _page(f"Feedback {assignment.id}: {result.student}", body)


def _exercise_section(exercise_id: str, title: str, failed: list, heatmaps) -> list[str]:
    section = [f"<h2 id=\"{escape(exercise_id)}\">{escape(exercise_id)} ({escape(title)})</h2>"]
    if all(o.status == results.NOT_IMPLEMENTED for o in failed):
        return section + ["<p>Not implemented yet.</p>"]
    for diagnosis in reports.diagnoses(failed):
        section.append(f"<div class=mistake><pre>{escape(diagnosis)}</pre></div>")
    for pair in (h for h in heatmaps if h.exercise == exercise_id):
        section += [f"<p>Attention weights of {escape(pair.function)} on the smallest input where yours "
                    "differ (left: expected, right: yours):</p>",
                    f"<img alt=\"expected and your attention weights\" src=\"{_heatmap_uri(pair)}\">",
                    f"<details><summary>that input</summary><pre>{escape(pair.probe)}</pre></details>"]
    groups = reports.failure_groups(failed)
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


def class_page(assignment: Assignment, graded: list[reports.StudentResult]) -> str:
    graded = sorted(graded, key=lambda r: r.student)
    body = [f"<h1>Assignment {escape(assignment.id)} ({escape(assignment.title)}): {len(graded)} students</h1>"]
    if graded:
        body.append(f"<img alt=\"score histogram\" src=\"{_histogram_uri([r.total for r in graded], assignment.total_points)}\">")
    body += ["<h2>Pass rate per exercise</h2>",
             "<table><tr><th>exercise</th><th>tests passed</th><th>full marks</th><th>mean points</th></tr>"]
    for exercise in assignment.exercises:
        outcomes = [o for r in graded for o in _outcomes_of(r, exercise.id)]
        full = sum(r.scores[exercise.id].points >= exercise.points for r in graded)
        mean = sum(r.scores[exercise.id].points for r in graded) / len(graded) if graded else 0.0
        rate = f"{100 * sum(o.passed for o in outcomes) / len(outcomes):.0f}%" if outcomes else "-"
        body.append(f"<tr><td>{escape(exercise.id)}</td><td class=n>{rate}</td><td class=n>{full}/"
                    f"{len(graded)}</td><td class=n>{reports.number(mean)} / {reports.number(exercise.points)}</td></tr>")
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
                    f"<td class=n>{reports.number(r.total)}</td></tr>")
    body.append("</table>")
    return _page(f"Assignment {assignment.id}: class results", body)


def misconception_counts(graded: list[reports.StudentResult]) -> Counter:
    """For each named misconception, how many students it was named for."""
    return Counter(tag.split(":", 1)[1] for r in graded
                   for tag in {t for o in r.outcomes for t in o.tags if t.startswith("misconception:")})


def _outcomes_of(result: reports.StudentResult, exercise_id: str) -> list[results.TestOutcome]:
    return [o for o in result.outcomes if o.test.exercise == exercise_id]


def _page(title: str, body: list[str]) -> str:
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>{escape(title)}</title><style>{STYLE}</style></head><body>\n"
            + "\n".join(body) + "\n</body></html>\n")


def _heatmap_uri(pair) -> str:
    import numpy as np

    expected, got = np.asarray(pair.expected, dtype=float), np.asarray(pair.got, dtype=float)
    finite = np.concatenate([expected[np.isfinite(expected)], got[np.isfinite(got)]])
    low, high = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
    figure, axes = _figure(1, 2, (8, 3.5))
    for ax, data, title in zip(axes, (expected, got), ("expected", "yours")):
        image = ax.imshow(data, vmin=low, vmax=high if high > low else low + 1, cmap="viridis")
        ax.set_title(title)
        ax.set_xticks(range(data.shape[1]))
        ax.set_yticks(range(data.shape[0]))
        ax.set_xlabel("key")
        ax.set_ylabel("query")
        for (i, j), value in np.ndenumerate(data if data.size <= 64 else np.empty((0, 0))):
            ax.text(j, i, "NaN" if np.isnan(value) else f"{value:.2f}", ha="center", va="center",
                    fontsize=7, color="w")
    figure.colorbar(image, ax=list(axes))
    return _png_uri(figure)


def _histogram_uri(totals: list[float], maximum: float) -> str:
    figure, ax = _figure(1, 1, (6, 3))
    ax.hist(totals, bins=10, range=(0, maximum), color="#4a7ab5", edgecolor="white")
    ax.set_xlabel(f"total points (of {maximum:g})")
    ax.set_ylabel("students")
    return _png_uri(figure)


def _figure(rows: int, columns: int, size: tuple[float, float]):
    from matplotlib.figure import Figure

    figure = Figure(figsize=size, dpi=80)
    axes = figure.subplots(rows, columns)
    return figure, axes


def _png_uri(figure) -> str:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", bbox_inches="tight")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")
