"""HTML pages: ``OUT/<student>/feedback.html`` for each student and ``OUT/index.html`` for the class.

    student_page(result)              -> the student's page: exercise table; per exercise that
                                         lost points its cause once (named mistakes and the figures
                                         grading attached, as heatmaps in inline SVG, else the most
                                         informative failure), the other failed tests one line each,
                                         and every test with its full message, collapsed
    class_page(assignment, results)   -> what to re-teach: score histogram, the student x exercise
                                         matrix (coloured), each misconception with the students who
                                         made it (linked), the tests the class fails most, each
                                         exercise's score distribution (inline SVG), the submissions
                                         whose form needs a look

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
            "</strong></p>"]
    if result.notes:
        body += ["<h2>About your submission</h2><ul>",
                 *(f"<li>{escape(s)}</li>" for s in summary.note_sentences(result)), "</ul>"]
    body.append("<table><tr><th>exercise</th><th>points</th><th>tests passed</th><th>note</th></tr>")
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
        if any(not o.passed for o in _outcomes_of(result, exercise.id)):
            body += _exercise_section(exercise, list(result.outcomes), result.figures)
    if result.events:
        body += ["<h2>Limits hit while grading</h2><ul>"] + [f"<li>{escape(e)}</li>" for e in result.events]
        body.append("</ul>")
    if result.printed.strip():
        body += ["<h2>What your code printed (shortened)</h2>",
                 f"<pre>{escape(result.printed[:summary.MAX_PRINTED_OUTPUT])}</pre>"]
    body.append(f"<p><em>Graded in {result.execution_time:.1f} s; isolation: {escape(result.isolation)}.</em></p>")
    return _page(f"Feedback {assignment.id}: {result.student}", body)


def _exercise_section(exercise, outcomes: list, figures) -> list[str]:
    """An exercise that lost points: its cause once (named mistakes and figures, else the exercise
    it builds on that failed too, else the most informative failure), every other failed test on
    one line, and every test of the exercise with its status and full message in a collapsed section."""
    exercise_id = exercise.id
    failures = summary.exercise_failures(exercise_id, outcomes, exercise.builds_on)
    section = [f"<h2 id=\"{escape(exercise_id)}\">{escape(exercise_id)} ({escape(exercise.title)})</h2>"]
    if failures.not_implemented:
        return section + ["<p>Not implemented yet.</p>", *_every_test(exercise_id, outcomes)]
    for mistake in failures.mistakes:
        section.append(f"<div class=mistake><pre>{escape(mistake)}</pre></div>")
    for pair in (f for f in figures if f.exercise == exercise_id):
        section += [f"<p>{escape(pair.title)} of {escape(pair.function)} on the smallest input where yours "
                    "differ (left: expected, right: yours):</p>",
                    _heatmap_svg(pair),
                    f"<details><summary>that input</summary><pre>{escape(pair.probe)}</pre></details>"]
    if failures.from_upstream:
        section.append(f"<p>{escape(summary.upstream_text(failures))}</p>")
    elif not failures.mistakes:
        lead = failures.lead
        section += [f"<h3>{escape(lead.test.description)}</h3><p>{summary.test_kind(lead)}</p>",
                    f"<pre>{escape(feedback.split_diagnosis(lead.message)[0])}</pre>"]
    head, listed = summary.listing(failures)
    if head:
        section.append(f"<p>{escape(head)}</p>")
    if listed:
        section += ["<ul>", *(f"<li>{escape(o.test.description)} ({summary.test_kind(o)}): "
                              f"{escape(note)}</li>" for o, note in listed), "</ul>"]
    if failures.not_run:
        section.append(f"<p>{failures.not_run} more tests {escape(summary.NOT_RUN)}.</p>")
    return section + _every_test(exercise_id, outcomes)


def _every_test(exercise_id: str, outcomes: list) -> list[str]:
    """Every test of the exercise with its status and full message, collapsed."""
    mine = [o for o in outcomes if o.test.exercise == exercise_id]
    listing = [f"<details><summary>Every test of {escape(exercise_id)} ({len(mine)}), with its status and "
               "full message</summary><ul>"]
    for o in mine:
        message = "" if o.passed else f"<pre>{escape(feedback.split_diagnosis(o.message)[0])}</pre>"
        listing.append(f"<li>{escape(o.status.replace('_', ' '))}: {escape(o.test.description)} "
                       f"({summary.test_kind(o)}){message}</li>")
    return listing + ["</ul></details>"]


def class_page(assignment: Assignment, graded: list[results.StudentResult],
               absent: dict[str, str] | None = None) -> str:
    """``OUT/index.html``: what the class did, to decide what to re-teach. ``graded`` is every
    student's result (the whole class, from the store); ``absent``: the students whose submission
    was not in SUBMISSIONS at the last run (student -> that folder), marked as such."""
    graded, absent = sorted(graded, key=lambda r: r.student), absent or {}
    body = [f"<h1>Assignment {escape(assignment.id)} ({escape(assignment.title)}): "
            f"{len(graded)} students</h1>"]
    if graded:
        totals = sorted(r.total for r in graded)
        full = sum(t >= assignment.total_points for t in totals)
        body += [f"<p>Mean {summary.number(sum(totals) / len(totals))}, median "
                 f"{summary.number(totals[len(totals) // 2])} of {summary.number(assignment.total_points)} "
                 f"points; {full} of {len(graded)} with full marks. Sections: "
                 "<a href=\"#students\">students &#215; exercises</a>, "
                 "<a href=\"#misconceptions\">misconceptions</a>, "
                 "<a href=\"#tests\">tests the class fails most</a>, "
                 "<a href=\"#exercises\">scores per exercise</a>, "
                 "<a href=\"#notes\">submissions to look at</a>.</p>",
                 _histogram_svg(totals, assignment.total_points)]
    body += _matrix(assignment, graded, absent)
    body += _misconceptions(graded)
    body += _failed_tests(graded)
    body += _exercise_distributions(assignment, graded)
    body += _submission_notes(assignment, graded, absent)
    return _page(f"Assignment {assignment.id}: class results", body)


def _matrix(assignment: Assignment, graded: list[results.StudentResult], absent: dict[str, str]) -> list[str]:
    """Student x exercise points, each cell coloured by the share of the exercise's points (and
    linked to the student's feedback on that exercise when it lost any)."""
    legend = "".join(f"<span style=\"background:{_score_colour(t)};padding:0 .5rem\">{round(100 * t)}%</span>"
                     for t in (0, 0.25, 0.5, 0.75, 1))
    rows = [f"<h2 id=\"students\">Students &#215; exercises</h2><p>Points per exercise, coloured by "
            f"the share earned: {legend}; &#8211; not graded. A name leads to the student's feedback, "
            "a score to what they lost there.</p>"
            # wider than the text column (centred on the window), scrolling when even that is too narrow
            "<div style=\"overflow-x:auto;width:min(80rem,96vw);margin-left:calc(50% - min(40rem,48vw))\">"
            "<table><tr><th>student</th>"
            f"<th>total<br>/{summary.number(assignment.total_points)}</th><th>note</th>"
            + "".join(f"<th title=\"{escape(e.title)}\">{escape(e.id)}<br>/{summary.number(e.points)}</th>"
                      for e in assignment.exercises) + "</tr>"]
    for r in graded:
        page = f"{escape(quote(r.student, safe=''))}/feedback.html"
        cells = []
        for exercise in assignment.exercises:
            score = r.scores[exercise.id]
            if not score.total_weight:
                cells.append("<td class=n>&#8211;</td>")
                continue
            text = summary.number(score.points)
            if any(not o.passed for o in _outcomes_of(r, exercise.id)):
                text = f"<a href=\"{page}#{escape(exercise.id)}\">{text}</a>"
            cells.append(f"<td class=n style=\"background:{_score_colour(score.points / exercise.points)}\">"
                         f"{text}</td>")
        problems = [n for n in summary.class_notes(r, absent) if summary.is_problem(n)]
        notes = ", ".join(f"<a href=\"#notes\" title=\"{escape(summary.describe(n))}\">"
                          f"{escape(summary.NOTE_BRIEF[n.kind])}</a>" for n in problems)
        graded_points = sum(e.points for e in assignment.exercises if r.scores[e.id].total_weight)
        share = r.total / graded_points if graded_points else 0.0
        rows.append(f"<tr><td style=\"white-space:nowrap\"><a href=\"{page}\">{escape(r.student)}</a></td>"
                    f"<td class=n style=\"background:{_score_colour(share)}\">"
                    f"<strong>{summary.number(r.total)}</strong></td><td style=\"white-space:nowrap\">{notes}</td>"
                    f"{''.join(cells)}</tr>")
    return rows + ["</table></div>"]


def _misconceptions(graded: list[results.StudentResult]) -> list[str]:
    """For each named misconception (most frequent first), what it is and who made it."""
    who: dict[str, list[tuple[str, str]]] = {}  # misconception -> (student, exercise)
    about: dict[str, str] = {}
    for r in graded:
        for o in r.outcomes:
            for tag in o.tags:
                name = tag.removeprefix("misconception:")
                if name == tag:
                    continue
                if (r.student, o.test.exercise) not in who.setdefault(name, []):
                    who[name].append((r.student, o.test.exercise))
                about.setdefault(name, _explanation(o.message, name))
    section = ["<h2 id=\"misconceptions\">Misconceptions</h2>"]
    if not who:
        return section + ["<p>None named.</p>"]
    section.append("<table><tr><th>misconception</th><th>what it is</th><th>students</th><th>who</th></tr>")
    for name in sorted(who, key=lambda n: (-len({s for s, _ in who[n]}), n)):
        students = sorted({s for s, _ in who[name]})
        links = ", ".join(f"<a href=\"{escape(quote(s, safe=''))}/feedback.html#{escape(e)}\" "
                          f"style=\"white-space:nowrap\">{escape(s)}</a>" for s, e in sorted(who[name]))
        section.append(f"<tr><td><code>{escape(name)}</code></td><td>{escape(about[name])}</td>"
                       f"<td class=n>{len(students)}</td><td>{links}</td></tr>")
    return section + ["</table>"]


def _explanation(message: str, name: str) -> str:
    """The one-line explanation of misconception ``name`` in a failure ``message``."""
    mark = f"{feedback.DIAGNOSIS_MARK} ({name}): "
    return next((line[len(mark):] for line in feedback.split_diagnosis(message)[1].splitlines()
                 if line.startswith(mark)), "")


def _failed_tests(graded: list[results.StudentResult], shown: int = 12, per_exercise: int = 3) -> list[str]:
    """The tests failed by the most students whose code ran (a test not implemented yet does not
    count; at most ``per_exercise`` of an exercise), with the mistakes named on those failures
    and one of their errors."""
    tried: Counter = Counter()
    failed: dict[str, list[results.TestOutcome]] = {}
    ran = [r for r in graded if summary.was_run(r)]
    for r in ran:
        for o in r.outcomes:
            if o.status != results.NOT_IMPLEMENTED:
                tried[o.test.id] += 1
                if not o.passed:
                    failed.setdefault(o.test.id, []).append(o)
    section = ["<h2 id=\"tests\">Tests the class fails most</h2>",
               f"<p>Among the {len(ran)} submissions whose code ran (a function not implemented yet does "
               f"not count as failing); at most {per_exercise} tests of an exercise.</p>"]
    if not failed:
        return section + ["<p>No test failed.</p>"]
    section.append("<table><tr><th>exercise</th><th>test</th><th>failed by</th>"
                   "<th>mistakes named</th><th>an error</th></tr>")
    per: Counter = Counter()
    for test_id in sorted(failed, key=lambda t: (-len(failed[t]), t)):
        mine = failed[test_id]
        test = mine[0].test
        if per[test.exercise] == per_exercise:
            continue
        per[test.exercise] += 1
        named = Counter(t.removeprefix("misconception:") for o in mine for t in o.tags
                        if t.startswith("misconception:"))
        mistakes = ", ".join(f"<code>{escape(n)}</code> ({c})" for n, c in named.most_common()) or "&#8211;"
        section.append(f"<tr><td>{escape(test.exercise)}</td><td>{escape(test.description)} "
                       f"({'hidden' if test.hidden else 'public'})</td><td class=n>{len(mine)} of "
                       f"{tried[test_id]}</td><td>{mistakes}</td>"
                       f"<td><code>{escape(_first_error_line(mine[0].message))}</code></td></tr>")
        if sum(per.values()) == shown:
            break
    return section + ["</table>"]


def _first_error_line(message: str, limit: int = 90) -> str:
    """The first line of a failure's error (after its title line), shortened."""
    lines = feedback.split_diagnosis(message)[0].splitlines()
    line = (lines[1] if len(lines) > 1 else lines[0] if lines else "").strip()
    return line if len(line) <= limit else line[:limit - 3] + "..."


def _exercise_distributions(assignment: Assignment, graded: list[results.StudentResult]) -> list[str]:
    """Per exercise: how its points are spread over the students graded on it, and its pass rate."""
    section = ["<h2 id=\"exercises\">Scores per exercise</h2>",
               "<table><tr><th>exercise</th><th>students per share of its points</th><th>full marks</th>"
               "<th>mean points</th><th>tests passed</th></tr>"]
    for exercise in assignment.exercises:
        on_it = [r for r in graded if r.scores[exercise.id].total_weight]
        values = [r.scores[exercise.id].points for r in on_it]
        outcomes = [o for r in on_it for o in _outcomes_of(r, exercise.id)]
        full = sum(v >= exercise.points for v in values)
        mean = summary.number(sum(values) / len(values)) if values else "-"
        rate = f"{100 * sum(o.passed for o in outcomes) / len(outcomes):.0f}%" if outcomes else "-"
        chart = _histogram_svg(values, exercise.points, bins=5, width=230, height=60,
                               label=f"{exercise.id} distribution") if values else "not graded"
        section.append(f"<tr><td>{escape(exercise.id)} ({escape(exercise.title)})</td><td>{chart}</td>"
                       f"<td class=n>{full}/{len(values)}</td><td class=n>{mean} / "
                       f"{summary.number(exercise.points)}</td><td class=n>{rate}</td></tr>")
    return section + ["</table>"]


def _submission_notes(assignment: Assignment, graded: list[results.StudentResult],
                      absent: dict[str, str]) -> list[str]:
    """The notes on the submissions' form, one list per kind (problems first), linked."""
    by_kind: dict[str, list[str]] = {}
    for r in graded:
        for note in summary.class_notes(r, absent):
            link = f"<a href=\"{escape(quote(r.student, safe=''))}/feedback.html\">{escape(r.student)}</a>"
            by_kind.setdefault(note.kind, []).append(f"{link} ({escape(note.text)})")
    section = ["<h2 id=\"notes\">Submissions to look at</h2>"]
    if not by_kind:
        return section + ["<p>Every submission arrived as a folder of the assignment's modules.</p>"]
    section.append("<ul>")
    section += [f"<li><strong>{escape(summary.headline(kind, len(by_kind[kind]), assignment.id))}</strong>: "
                f"{', '.join(by_kind[kind])}</li>" for kind in summary.NOTE_KINDS if kind in by_kind]
    return section + ["</ul>"]


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


def _score_colour(share: float) -> str:
    """Light red (no points) through light yellow (half) to light green (all), as ``#rrggbb``:
    dark text stays readable on every one."""
    stops = ((244, 170, 170), (250, 230, 150), (166, 218, 166))
    t = min(1.0, max(0.0, share)) * 2
    low = min(int(t), 1)
    mix = [a + (b - a) * (t - low) for a, b in zip(stops[low], stops[low + 1])]
    return "#" + "".join(f"{round(c):02x}" for c in mix)


def _histogram_svg(values: list[float], maximum: float, bins: int = 10, width: int = 480,
                   height: int = 200, label: str = "score histogram") -> str:
    """Students per ``1/bins`` of ``maximum`` points (full marks in the last bar), as an inline
    SVG bar chart (no plotting library: the class page is rewritten at the end of every run)."""
    counts = [0] * bins
    for value in values:
        counts[min(bins - 1, max(0, int(value / maximum * bins))) if maximum > 0 else 0] += 1
    bar, top, small = (width - 40) // bins - 2, max(counts) or 1, height < 100
    chart = height - (12 if small else 20)
    parts = [(f"<svg role=\"img\" aria-label=\"{escape(label)}\" width=\"{width}\" height=\"{height + 40}\" "
              f"viewBox=\"0 0 {width} {height + 40}\" xmlns=\"http://www.w3.org/2000/svg\" "
              f"font-size=\"{10 if small else 11}\">")]
    for i, count in enumerate(counts):
        x, h = 20 + i * (bar + 2), round(count / top * chart)
        parts.append(f"<rect x=\"{x}\" y=\"{height - h}\" width=\"{bar}\" height=\"{h}\" fill=\"#4a7ab5\">"
                     f"<title>{count} students</title></rect>")
        if count:
            parts.append(f"<text x=\"{x + bar / 2}\" y=\"{height - h - 3}\" "
                         f"text-anchor=\"middle\">{count}</text>")
        parts.append(f"<text x=\"{x}\" y=\"{height + 14}\">{maximum * i / bins:g}</text>")
    what = "points" if small else "total points"
    parts.append(f"<text x=\"{width / 2}\" y=\"{height + 32}\" text-anchor=\"middle\">"
                 f"{what} (of {maximum:g}); bars: students</text></svg>")
    return "".join(parts)
