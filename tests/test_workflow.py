"""The student repository's workflow: valid for GitHub Actions, and its test step, run here the way
Actions runs it on a failing submission, publishes the summary and the annotations."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from grader.assignment import load
from grader.authoring import variants
from grader.frontends import github

ROOT = Path(__file__).resolve().parent.parent
WORKFLOW = ROOT / "student_template" / ".github" / "workflows" / "feedback.yml"
STEP_KEYS = {"name", "id", "if", "uses", "with", "run", "env", "shell", "working-directory",
             "continue-on-error", "timeout-minutes"}


@pytest.fixture(scope="module")
def workflow() -> dict:
    return yaml.safe_load(WORKFLOW.read_text())


def steps(workflow: dict) -> list[dict]:
    return [step for job in workflow["jobs"].values() for step in job["steps"]]


def test_workflow_is_a_read_only_pull_request_workflow(workflow):
    triggers = workflow.get("on", workflow.get(True))  # YAML 1.1 reads a bare `on` key as true
    assert list(triggers) == ["pull_request"]
    assert workflow["permissions"] == {"contents": "read"}
    assert "secrets." not in WORKFLOW.read_text()
    for job in workflow["jobs"].values():
        assert isinstance(job["runs-on"], str) and job["steps"]
        for step in job["steps"]:
            assert set(step) <= STEP_KEYS and ("uses" in step) != ("run" in step), step
    uses = {step["uses"].split("@")[0]: step for step in steps(workflow) if "uses" in step}
    assert list(uses) == ["actions/checkout", "actions/setup-python"]
    assert uses["actions/setup-python"]["with"]["python-version"] == "3.11"
    runs = [step["run"] for step in steps(workflow) if "run" in step]
    assert runs[0] == "python -m pip install -r requirements.txt"
    assert runs[-1].startswith("pytest assignments/01 ") and "--github-feedback" in runs[-1]


@pytest.fixture(scope="module")
def failing_run(workflow, tmp_path_factory):
    """The test step's command in a student repository whose causal_mask is upper triangular and
    whose other masks are stubs (the masks tests only, to stay fast)."""
    repo = tmp_path_factory.mktemp("repo")
    folder = repo / "assignments" / "01"
    shutil.copytree(ROOT / "assignments" / "01", folder,
                    ignore=shutil.ignore_patterns("__pycache__", "test_*.py", "*.ipynb"))
    shutil.copy(ROOT / "assignments" / "01" / "test_masks.py", folder)
    shutil.copy(ROOT / "student_template" / "pytest.ini", repo)
    variant = {v.name: v for v in variants.load_all(load(ROOT / "reference" / "01"))}["masks_causal_upper"]
    attention = folder / "attention.py"  # the stub with the variant's causal_mask (a `replace` patch)
    attention.write_text(variants.apply(variant, attention.read_text(), isolate=False))
    summary = tmp_path_factory.mktemp("runner") / "step_summary.md"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST", "GITHUB_"))}
    env.update(GITHUB_ACTIONS="true", GITHUB_STEP_SUMMARY=str(summary), GITHUB_WORKSPACE=str(repo),
               PATH=f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}")
    command = [step["run"] for step in steps(workflow) if "run" in step][-1]
    run = subprocess.run(["bash", "--noprofile", "--norc", "-e", "-c", command], cwd=repo, env=env,
                         check=False, capture_output=True, text=True, timeout=600)
    return folder, run, summary.read_text() if summary.is_file() else ""


def test_failing_run_fails_the_step_and_writes_the_summary(failing_run):
    """The summary leads with the mistake the public tests can name, once, then every failing test
    of masks on one line: what the README and the workflow promise (no more "hint")."""
    _, run, summary = failing_run
    assert run.returncode == 1, run.stdout[-3000:] + run.stderr[-2000:]
    table = [line for line in summary.splitlines() if line.startswith("| masks")]
    assert len(table) == 1 and "/ 10" in table[0], summary[:2000]
    masks = summary.split("### masks")[1]
    assert masks.count("Likely mistake (masks.causal_upper)") == 1 and "Smallest input that shows it" in masks
    assert masks.index("Likely mistake") < masks.index("Failing tests (")
    assert "- causal_mask(3) is [[T, F, F], [T, T, F], [T, T, T]] (each token sees itself and the past) " \
           "(public test): same cause" in masks
    assert len(summary.splitlines()) < 80 and github.ESTIMATE_NOTE in summary
    readme = (ROOT / "student_template" / "README.md").read_text()
    for promise in (readme, WORKFLOW.read_text()):
        assert "hint" not in promise and "mistake it likely comes from" in " ".join(promise.split())


def test_failing_function_gets_one_annotation_on_its_def_line(failing_run):
    folder, run, _ = failing_run
    commands = [line for line in run.stdout.splitlines() if line.startswith("::")]
    assert len(commands) == 1, commands  # the two unfinished masks are not annotated
    kind, properties, message = parse_command(commands[0])
    source = (folder / "attention.py").read_text().splitlines()
    def_line = next(i for i, line in enumerate(source, 1) if line.startswith("def causal_mask("))
    assert kind == "error"
    assert properties == {"file": "assignments/01/attention.py", "line": str(def_line),
                          "title": "[masks] causal_mask: 3 tests fail"}
    assert message.startswith("[masks] ") and "\nLikely mistake (masks.causal_upper)" in message


def parse_command(line: str) -> tuple[str, dict[str, str], str]:
    """``::kind k=v,...::message`` -> (kind, {k: v}, message), undoing GitHub's escaping."""
    head, _, data = line[2:].partition("::")
    kind, _, listed = head.partition(" ")
    properties = dict(pair.split("=", 1) for pair in listed.split(","))
    return kind, {k: unescape(v) for k, v in properties.items()}, unescape(data)


def unescape(text: str) -> str:
    for escaped, plain in (("%0D", "\r"), ("%0A", "\n"), ("%3A", ":"), ("%2C", ","), ("%25", "%")):
        text = text.replace(escaped, plain)
    return text


def test_workflow_commands_escape_data_and_properties():
    command = github.workflow_command("error", "50%\r\ndone", file="a,b.py", title="x: y")
    assert command == "::error file=a%2Cb.py,title=x%3A y::50%25%0D%0Adone"


def test_definition_line_falls_back_to_the_first_line(tmp_path):
    module = tmp_path / "attention.py"
    module.write_text("import torch\n\n\nclass MultiHeadAttention:\n    pass\n")
    assert github.definition_line(module, "MultiHeadAttention") == 4
    assert github.definition_line(module, "causal_mask") == 1
    module.write_text("def causal_mask(:\n")
    assert github.definition_line(module, "causal_mask") == 1
    assert github.definition_line(tmp_path / "missing.py", "causal_mask") == 1
