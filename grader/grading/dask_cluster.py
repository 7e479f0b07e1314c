"""Grading on a Dask cluster: ``grader grade 01 SUBMISSIONS --dask tcp://scheduler:8786``.

Nothing has to be shared with the cluster but the network: the assignment (reference and
published folders) travels once to every Dask worker as data, each submission travels as its
files' bytes, and each result comes back as the plain payload the results store keeps. A Dask
worker process holds one :class:`grader.grading.context.GradingContext` (its own worker template, the
collected suite, the recorded examples, the tests' transcripts: sent with the assignment when the
run's cache holds them, else recorded by each Dask worker process before its first submission
when there are more submissions than workers) for the whole run, so grades and outputs are those
of a local run. Dask workers need this package and torch installed, and the same isolation tools
(bubblewrap, Landlock, cgroups) for the same isolation level; a worker with one thread grades one
submission at a time, more threads queue on its context.
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
import threading
from pathlib import Path
from typing import Iterator

from grader.assignment import load
from grader.grading import store as store_mod
from grader.grading.context import GradeRequest, GradingContext
from grader.grading.suite import fingerprint
from grader.grading.transcripts import Transcripts

CONNECT_SECONDS = 30  # how long to try reaching the scheduler
_CONTEXTS: dict[str, tuple] = {}  # per Dask worker process: run key -> (GradingContext, its folder)
_LOCK = threading.Lock()


class ClusterError(RuntimeError):
    """The Dask cluster cannot be used; the message says why."""


def grade_on_cluster(request, todo: dict[str, Path], address: str, transcripts=None) -> Iterator:
    """Grade ``todo`` (student -> folder or zip) on the Dask cluster at ``address``, with the tests'
    ``transcripts`` when given; yields each :class:`grader.results.StudentResult` as it arrives."""
    try:
        from distributed import Client, as_completed
    except ImportError:
        raise ClusterError("--dask needs dask.distributed: pip install 'llm-grader[dask]'") from None
    assignment = load(request.reference)
    bundle = {"reference": read_folder(request.reference), "published": read_folder(request.published),
              "transcripts": None if transcripts is None else transcripts.encode()}
    try:
        client = Client(address, set_as_default=False, timeout=CONNECT_SECONDS)
    except OSError as exc:
        raise ClusterError(f"cannot reach the Dask scheduler at {address}: {exc}") from None
    with client:
        [shared] = client.scatter([bundle], broadcast=True)
        settings = {"id": request.reference.name, "exercises": request.exercises,
                    "shrink": request.shrink, "limits": dict(request.limit_overrides),
                    "record": transcripts is None and len(todo) > len(client.scheduler_info()["workers"])}
        settings["key"] = repr((fingerprint([request.reference, request.published], request.exercises),
                                request.shrink, sorted(settings["limits"].items())))
        futures = {client.submit(_grade_task, shared, settings, name, read_entry(entry),
                                 pure=False): name for name, entry in todo.items()}
        for future in as_completed(futures, loop=client.loop):
            yield store_mod.from_payload(futures[future], assignment, future.result())


def read_entry(entry: Path) -> dict[str, bytes]:
    """A student's folder as :func:`read_folder` reads it; their zip as the one file of a folder
    (which the Dask worker's intake unpacks, as a local run unpacks the zip itself)."""
    return {entry.name: entry.read_bytes()} if entry.is_file() else read_folder(entry)


def read_folder(folder: Path) -> dict[str, bytes]:
    """Every regular file under ``folder``, by relative path (links and special files skipped)."""
    return {p.relative_to(folder).as_posix(): p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file() and not p.is_symlink()}


def write_folder(folder: Path, files: dict[str, bytes]) -> None:
    """The inverse of :func:`read_folder`; refuses paths that leave ``folder``."""
    root = folder.resolve()
    for name, data in files.items():
        path = (root / name).resolve()
        if not path.is_relative_to(root):
            raise ValueError(f"{name!r} leaves the submission folder")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


def _grade_task(bundle: dict, settings: dict, student: str, files: dict[str, bytes]) -> dict:
    """Runs on a Dask worker: grade one submission with this process's context."""
    with _LOCK:
        context, root = _context(bundle, settings)
        folder = root / "submissions" / student
        try:
            write_folder(folder, files)
            return store_mod.to_payload(context.grade(student, folder))
        finally:
            shutil.rmtree(folder, ignore_errors=True)


def _context(bundle: dict, settings: dict):
    key = settings["key"]
    if key not in _CONTEXTS:
        _close_all()
        root = Path(tempfile.mkdtemp(prefix="grader-dask-"))
        reference = root / "reference" / settings["id"]
        published = root / "assignments" / settings["id"]
        write_folder(reference, bundle["reference"])
        write_folder(published, bundle["published"])
        (root / "submissions").mkdir()
        request = GradeRequest(reference=reference, published=published,
                               submissions=root / "submissions", out=root / "out",
                               exercises=tuple(settings["exercises"]), shrink=settings["shrink"],
                               limit_overrides=settings["limits"])
        given = bundle.get("transcripts")
        context = GradingContext(request, None if given is None else Transcripts.decode(given))
        _CONTEXTS[key] = (context, root)
        if given is None and settings.get("record"):
            context.try_recording()
    return _CONTEXTS[key]


def _close_all() -> None:
    """Stop this process's worker templates and remove their folders (a new run, or exit)."""
    for context, root in _CONTEXTS.values():
        context.close()
        shutil.rmtree(root, ignore_errors=True)
    _CONTEXTS.clear()


atexit.register(_close_all)
