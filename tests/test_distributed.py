"""`grader grade --dask`: a real Dask LocalCluster with two worker processes grades a small class,
and every grade and feedback text equals a local run's."""

import csv
import io
import json
import shutil
from pathlib import Path

import pytest
from rich.console import Console

from grader.grading.batch import run_batch
from grader.grading.context import GradeRequest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples" / "submissions"
CLASS = ("ada", "cleo", "dev", "finn", "hana")  # correct, wrong, unfinished, broken import, mixed
ZIPPED = "ben"  # correct, handed in as ben.zip
EXERCISES = ("masks", "params")


def outputs(out: Path) -> dict:
    """Every student's results.json without its timing, and grades.csv."""
    found = {"grades.csv": (out / "grades.csv").read_text()}
    for student in (*CLASS, ZIPPED):
        result = json.loads((out / student / "results.json").read_text())
        result.pop("execution_time", None)
        found[student] = result
    return found


@pytest.fixture(scope="module")
def submissions(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("class")
    for student in CLASS:
        shutil.copytree(EXAMPLES / student, folder / student)
    shutil.make_archive(str(folder / ZIPPED), "zip", EXAMPLES / ZIPPED)
    return folder


def grade(submissions: Path, out: Path, **options) -> dict:
    request = GradeRequest(reference=ROOT / "reference" / "01", published=ROOT / "assignments" / "01",
                           submissions=submissions, out=out, exercises=EXERCISES, **options)
    assert run_batch(request, Console(file=open("/dev/null", "w"))) == 0
    return outputs(out)


@pytest.mark.slow
def test_dask_cluster_grades_like_a_local_run(submissions, tmp_path):
    from distributed import LocalCluster

    local = grade(submissions, tmp_path / "local")
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=None) as cluster:
        remote = grade(submissions, tmp_path / "dask", dask=cluster.scheduler_address)
    assert remote == local
    rows = {row["student"]: row for row in csv.DictReader(io.StringIO(local["grades.csv"]))}
    assert (rows["ada"]["masks"], rows["ada"]["params"], rows["dev"]["sdpa"]) == ("10", "10", "")
    assert (rows["ben"]["masks"], rows["ben"]["note"]) == ("10", "unpacked ben.zip")
    assert float(rows["hana"]["masks"]) < 10


def test_unreachable_scheduler_is_one_clear_error(submissions, tmp_path, monkeypatch):
    from grader.grading import dask_cluster as distributed

    monkeypatch.setattr(distributed, "CONNECT_SECONDS", 2)
    with pytest.raises(distributed.ClusterError, match="cannot reach the Dask scheduler"):
        grade(submissions, tmp_path / "out", dask="tcp://127.0.0.1:9")


def test_a_worker_keeps_one_context_and_closes_it_for_a_new_run(monkeypatch):
    from grader.grading import dask_cluster as distributed

    opened = []

    class Context:
        def __init__(self, request, transcripts=None):
            self.request, self.closed = request, False
            opened.append(self)

        def close(self):
            self.closed = True

    monkeypatch.setattr(distributed, "GradingContext", Context)
    bundle = {"reference": {"assignment.toml": b"id = '01'\n"}, "published": {}}
    settings = {"id": "01", "exercises": (), "shrink": False, "limits": {}, "key": "run 1"}
    first, folder = distributed._context(bundle, settings)
    assert distributed._context(bundle, settings)[0] is first and len(opened) == 1
    assert (folder / "reference" / "01" / "assignment.toml").read_bytes() == b"id = '01'\n"
    second, _ = distributed._context(bundle, {**settings, "key": "run 2"})
    assert first.closed and not folder.exists() and second is not first
    distributed._close_all()
    assert second.closed
