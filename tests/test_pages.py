"""HTML pages: charts are inline SVG (any image would be an embedded PNG), every link they hold
leads somewhere, student text is escaped."""

import base64
from html.parser import HTMLParser
from pathlib import Path

from grader import results
from grader.assignment import load
from grader.grading import batch
from grader.grading.diagnose import FigurePair
from grader.grading.feedback import with_diagnosis
from grader.reports import html as pages
from grader.results import StudentResult

ROOT = Path(__file__).resolve().parent.parent
ASSIGNMENT = load(ROOT / "reference" / "01")
HOSTILE = "<script>alert(1)</script>"


class Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.images, self.links, self.ids, self.scripts, self.charts, self.rects = [], [], set(), 0, [], []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.ids.add(attrs.get("id"))
        self.scripts += tag == "script"
        if tag == "img":
            self.images.append(attrs["src"])
        if tag == "a":
            self.links.append(attrs["href"])
        if tag == "svg":
            self.charts.append(attrs["aria-label"])
        if tag == "rect":
            self.rects.append(float(attrs["height"]))


def outcome(exercise, name, status, message="", tags=()):
    test = results.TestDefinition(f"test_x.py::{name}", exercise, f"property {name}", hidden=name.startswith("h"))
    return results.TestOutcome(test, status, message, tuple(tags))


def student(name, *outcomes, figures=()):
    return StudentResult(name, ASSIGNMENT, tuple(outcomes), 1.5, "process", printed=HOSTILE,
                         figures=tuple(figures))


def make_class():
    diagnosis = "Likely mistake (sdpa.missing_scale): your scores are not multiplied by 1/√d_k"
    wrong = with_diagnosis(f"[sdpa] weights\nvalues differ {HOSTILE}", diagnosis)
    pair = FigurePair("sdpa", "attention.scaled_dot_product_attention", "Attention <weights>", "query", "key",
                      "float64 (2, 3)", [[0.5, 0.5, 0.0], [0.2, 0.3, 0.5]],
                      [[0.9, 0.1, 0.0], [float("nan"), 0.3, 0.7]])
    return [
        student("ada", outcome("sdpa", "a", results.PASSED), outcome("masks", "b", results.PASSED)),
        student("cleo & co", outcome("sdpa", "a", results.FAILED, wrong, ["misconception:sdpa.missing_scale"]),
                outcome("sdpa", "h1", results.FAILED, wrong, ["misconception:sdpa.missing_scale"]),
                outcome("masks", "b", results.PASSED), figures=[pair]),
        student(HOSTILE, outcome("sdpa", "a", results.NOT_IMPLEMENTED, "[sdpa] not implemented yet"),
                outcome("masks", "b", results.FAILED, "[masks] " + HOSTILE)),
    ]


def check_page(path: Path) -> Links:
    parser = Links()
    parser.feed(path.read_text())
    assert parser.scripts == 0, f"{path} runs a script"
    for src in parser.images:
        assert src.startswith("data:image/png;base64,")
        assert base64.b64decode(src.split(",", 1)[1]).startswith(b"\x89PNG\r\n\x1a\n")
    for href in parser.links:
        if href.startswith("#"):
            assert href[1:] in parser.ids, f"{path}: no anchor {href}"
        else:
            from urllib.parse import unquote

            page, _, anchor = href.partition("#")
            target = path.parent / unquote(page)
            assert target.is_file(), f"{path}: broken link {href}"
            if anchor:
                ids = Links()
                ids.feed(target.read_text())
                assert anchor in ids.ids, f"{path}: no anchor #{anchor} in {target}"
    return parser


def test_pages_embed_their_charts_link_existing_pages_and_escape_student_text(tmp_path):
    graded = make_class()
    for result in graded:
        batch.write_student_outputs(tmp_path, result)
    (tmp_path / "index.html").write_text(pages.class_page(ASSIGNMENT, graded))
    index = check_page(tmp_path / "index.html")
    assert not index.images
    assert index.charts == ["score histogram", "sdpa distribution", "masks distribution"]
    bars = index.rects[:10]  # totals 30, 10 and 0 of 100: one student in each of three bars
    assert bars[0] == bars[1] == bars[3] > 0 and sum(b > 0 for b in bars) == 3
    text = (tmp_path / "index.html").read_text()
    assert "<code>sdpa.missing_scale</code></td><td>your scores are not multiplied by 1/√d_k</td><td class=n>1<" in text
    cleo = check_page(tmp_path / "cleo & co" / "feedback.html")
    assert cleo.charts == ["heatmap: expected and your attention <weights>"]  # the figure's title
    assert len(cleo.rects) == 2 * 6 + 10  # two 2 x 3 panels and the colour scale
    page = (tmp_path / "cleo & co" / "feedback.html").read_text()
    assert page.count(">NaN</text>") == 1 and "query 1, key 0: nan" in page  # the NaN cell, greyed
    assert "Attention &lt;weights&gt; of attention.scaled_dot_product_attention" in page
    assert "key (column) &#8594;  query (row)" in page  # rows and columns named by the figure
    assert page.count("Likely mistake (sdpa.missing_scale)") == 1  # once per exercise, not per test
    for result in graded:
        check_page(tmp_path / result.student / "feedback.html")
    hostile = (tmp_path / HOSTILE / "feedback.html").read_text()
    assert HOSTILE not in hostile and "&lt;script&gt;" in hostile
