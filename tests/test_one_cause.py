"""One cause per exercise, shown once, in every place feedback appears (feedback.md, which is also
the pull request's summary, feedback.html, the annotations): the named mistake, else the most
informative failure, in full; every other failed test on one line; every test and its status
kept (the HTML page's collapsed listing). An exercise whose code runs one that failed too (its
`builds_on`) says so instead of leading with a failure of its own."""

from dataclasses import replace
from pathlib import Path

import pytest

from grader import results
from grader.assignment import load
from grader.frontends import github
from grader.grading.feedback import with_diagnosis
from grader.reports import html, summary
from grader.reports.markdown import to_feedback_md

ROOT = Path(__file__).resolve().parent.parent
ASSIGNMENT = load(ROOT / "reference" / "01")
MISTAKE = ("Likely mistake (sdpa.missing_scale): your scores are not multiplied by 1/√d_k\n"
           "Smallest input that shows it:\n    query = float64 (1, 1):\n      1")
EXAMPLE = "\n".join(f"      {i} {i} {i}" for i in range(8))  # a long failing input


def outcome(exercise, name, status, message="", tags=(), hidden=False):
    description = f"property {name.split('[')[0]}"
    test = results.TestDefinition(f"test_x.py::{name}", exercise, description, hidden=hidden)
    return results.TestOutcome(test, status, message, tuple(tags))


def failed(exercise, name, error, example="", hidden=False, **kwargs):
    text = f"[{exercise}] property {name}\n{error}"
    if example:
        text += f"\nFailing input:\n    x = float32 (8, 3):\n{example}"
    text += f'\nReproduce: pytest "test_x.py::{name}"'
    return outcome(exercise, name, results.FAILED, text, hidden=hidden, **kwargs)


TAG = ("misconception:sdpa.missing_scale",)
IMPORT = "tokenizer.py could not be imported: SyntaxError: invalid syntax (tokenizer.py, line 3)"
NOT_RUN = "[topk] not run: the exercise already used a forbidden built-in"
OUTCOMES = (
    outcome("sdpa", "s_long", results.FAILED,
            with_diagnosis(f"[sdpa] property s_long\nweights differ\n{EXAMPLE}", MISTAKE), TAG, hidden=True),
    outcome("sdpa", "s_short", results.FAILED,
            with_diagnosis("[sdpa] property s_short\nweights differ", MISTAKE), TAG),
    outcome("sdpa", "s_ok", results.PASSED),
    failed("masks", "m_long", "causal_mask(5): values differ at 3 of 25 positions; the largest difference "
           "...", EXAMPLE, hidden=True),
    failed("masks", "m_short", "causal_mask(1): values differ at 1 of 1 positions"),
    failed("masks", "m_same", "causal_mask(1): values differ at 1 of 1 positions"),
    outcome("masks", "m_ok", results.PASSED),
    outcome("topk", "k_first", results.FORBIDDEN, "[topk] property k_first\nattention.top_k_attention "
            "reached scaled_dot_product_attention: this exercise must be written from scratch"),
    *(outcome("topk", f"k_{i}", results.FORBIDDEN, NOT_RUN) for i in range(2)),
    *(outcome("mha", f"h_{i}", results.NOT_IMPLEMENTED, "[mha] not implemented yet") for i in range(2)),
    failed("tokenizer", "t_a", f"ImportFailed in tokenizer.BPETokenizer: {IMPORT}"),
    failed("tokenizer", "t_b", f"ImportFailed in tokenizer.BPETokenizer.train: {IMPORT}"),
    failed("tokenizer", "t_c", f"train('ab', 258): expected ValueError, got ImportFailed in "
           f"tokenizer.BPETokenizer.train: {IMPORT}"),
    outcome("posenc", "p[float32]", results.FAILED, "[posenc] property p\ntable differs"),
)
RESULT = results.StudentResult("ada", ASSIGNMENT, OUTCOMES, 1.0, "process")


def test_the_lead_is_the_named_mistake_else_the_smallest_failure_and_others_get_one_line():
    sdpa = summary.exercise_failures("sdpa", list(OUTCOMES))
    assert sdpa.mistakes == (MISTAKE,) and sdpa.lead.test.id.endswith("s_short")
    assert [(o.test.id.split("::")[1], note) for o, note in sdpa.others] == [("s_long", "same cause")]
    masks = summary.exercise_failures("masks", list(OUTCOMES))
    assert not masks.mistakes and masks.lead.test.id.endswith("m_short")  # smallest, and public
    assert [note for _, note in masks.others] == [
        "causal_mask(5): values differ at 3 of 25 positions; the largest difference ...", "same cause"]
    topk = summary.exercise_failures("topk", list(OUTCOMES))
    assert topk.lead.test.id.endswith("k_first") and topk.others == () and topk.not_run == 2
    assert summary.exercise_failures("mha", list(OUTCOMES)).not_implemented
    assert summary.exercise_failures("params", list(OUTCOMES)) is None
    tokenizer = summary.exercise_failures("tokenizer", list(OUTCOMES))  # whichever function the test called
    assert [note for _, note in tokenizer.others] == ["same cause", "same cause"]
    assert summary.listing(tokenizer) == ("All 3 tests of tokenizer fail this way.", [])


def test_feedback_md_shows_each_cause_once_then_one_line_per_failed_test():
    page = to_feedback_md(RESULT)
    assert page.count("Likely mistake (sdpa.missing_scale)") == 1 and page.count(EXAMPLE) == 0
    sdpa = section(page, "sdpa")
    assert sdpa.index("Likely mistake") < sdpa.index("Failing tests (2 of 3):")
    assert "- property s_short (public test): same cause" in sdpa
    assert "- property s_long (hidden test): same cause" in sdpa
    masks = section(page, "masks")
    assert "**property m_short** (public test)" in masks and 'Reproduce: pytest "test_x.py::m_short"' in masks
    assert "Other failing tests (3 of 4 fail in all):" in masks
    assert "- property m_long (hidden test): causal_mask(5): values differ at 3 of 25 positions" in masks
    assert "- property m_same (public test): same cause" in masks
    assert "2 more tests not run: the exercise already reached a forbidden built-in" in section(page, "topk")
    assert "Not implemented yet." in section(page, "mha") and "h_0" not in page
    tokenizer = section(page, "tokenizer")
    assert "All 3 tests of tokenizer fail this way." in tokenizer and "t_b" not in tokenizer
    assert "**property p** (public test, float32)" in page  # a parametrized test's case is named
    assert all(len(line) < 200 for line in page.splitlines() if line.startswith("- "))


def section(page: str, exercise: str) -> str:
    return page.split(f"### {exercise} (")[1].split("\n### ")[0]


def test_feedback_html_keeps_every_test_and_its_status_in_a_collapsed_listing():
    page = html.student_page(RESULT)
    assert page.count("Likely mistake (sdpa.missing_scale)") == 1
    for o in OUTCOMES:
        if o.test.exercise in ("sdpa", "masks", "topk", "mha", "tokenizer", "posenc"):
            assert f"{o.status.replace('_', ' ')}: {o.test.description} (" in page, o.test.id
    listing = page.split("<details><summary>Every test of masks (4)")[1].split("</details>")[0]
    assert "1 1 1" in listing and "passed: property m_ok" in listing  # full messages, passed tests too
    assert "<li>property s_long (hidden test): same cause</li>" in page


def test_an_annotation_carries_the_functions_most_informative_failure(tmp_path):
    (tmp_path / "attention.py").write_text("def causal_mask(n):\n    pass\n")
    masks = {o.test.id: o for o in OUTCOMES if o.test.exercise == "masks"}
    [command] = github.annotations(ASSIGNMENT, tmp_path, masks, {})
    assert "title=[masks] causal_mask%3A 3 tests fail" in command
    assert "property m_short%0Acausal_mask(1)" in command and "m_long" not in command


def test_what_the_code_printed_is_each_distinct_line_once_and_short():
    warning = "visualize.py:43: UserWarning: set_ticklabels() should only be used with a fixed number of ticks"
    printed = "\n".join([warning, "    ax.set_xticklabels(keys)"] * 30 + [f"line {i}" for i in range(25)])
    page = to_feedback_md(results.StudentResult("ada", ASSIGNMENT, OUTCOMES, 1.0, "process", printed=printed))
    shown = page.split("## What your code printed (shortened)\n\n```\n")[1].split("\n```")[0].splitlines()
    assert shown[:3] == [warning, "    ax.set_xticklabels(keys)", "line 0"] and len(shown) == 21
    assert shown[-1] == "... (58 repeated lines and 7 more lines left out)"


def test_a_failure_of_the_leads_cause_in_other_words_keeps_them_on_its_line():
    limit = "TimeLimitExceeded in attention.causal_mask: time limit exceeded in attention.causal_mask (more than 2 s)"
    again = ("TimeLimitExceeded in attention.causal_mask: attention.causal_mask was not called again: it exceeded "
             "a time or memory limit 2 times already")
    masks = summary.exercise_failures("masks", [failed("masks", "a", limit), failed("masks", "b", limit),
                                                failed("masks", "c", again)])
    assert [note for _, note in masks.others] == [
        "same cause", "same cause: attention.causal_mask was not called again: it exceeded a time or memory limit 2 "
        "times already"]


def test_an_exercise_whose_code_runs_a_failing_one_says_so_instead_of_its_own_lead(tmp_path):
    masks = summary.exercise_failures("masks", list(OUTCOMES), builds_on=("sdpa", "params"))
    assert masks.upstream == ("sdpa",) and masks.from_upstream  # params passed: not named
    assert summary.upstream_text(masks) == ("masks's code runs your sdpa, which fails tests too: fix it first, "
                                            "as these failures may come from it.")
    head, listed = summary.listing(masks)
    assert head == "Failing tests (3 of 4):" and listed[0] == (masks.lead, "causal_mask(1): values differ at 1 "
                                                                 "of 1 positions")
    assert summary.lead_text(masks).splitlines()[1] == summary.upstream_text(masks)
    own = {e: summary.exercise_failures(e, list(OUTCOMES), builds_on=("masks",)) for e in ("sdpa", "topk", "tokenizer")}
    assert not any(f.from_upstream for f in own.values())  # a named mistake, a forbidden built-in, a module's import
    bigger = replace(ASSIGNMENT, exercises=tuple(replace(e, builds_on=("sdpa",) * (e.id == "masks"))
                                                 for e in ASSIGNMENT.exercises))
    page = to_feedback_md(replace(RESULT, assignment=bigger))
    assert "masks's code runs your sdpa" in section(page, "masks") and "```" not in section(page, "masks")
    assert "- property m_short (public test): causal_mask(1): values differ" in section(page, "masks")
    assert "<p>masks&#x27;s code runs your sdpa" in html.student_page(replace(RESULT, assignment=bigger))


def test_an_exercise_builds_only_on_exercises_listed_before_it(tmp_path):
    from grader.assignment import AssignmentError

    config = (ROOT / "reference" / "01" / "assignment.toml").read_text()
    for wrong in ('"plot"', '"nope"', '"mha"'):
        (tmp_path / "assignment.toml").write_text(config.replace('builds_on = ["sdpa"]\n', f"builds_on = [{wrong}]\n", 1))
        with pytest.raises(AssignmentError, match=r"exercise topk builds_on \[.*\]: each must be an exercise "
                                                  r"listed before it \(sdpa, masks\)"):
            load(tmp_path)
