"""The engine's structure, checked from its source: the trust boundary and one-way imports.

- ``grader.worker`` is the untrusted side: it runs in the worker process beside submission code,
  so it imports nothing of the grader outside itself (a bug there must not reach the trusted side,
  and the trusted side's secrets, such as the reference, must not be one import away).
- The trusted side never imports the code that runs submissions (``grader.worker.executor``,
  ``grader.worker.__main__``), except ``grader.frontends.local``: a student's own ``pytest`` runs
  their own code in their own process. Only two places execute a Python file by path: the
  executor (a submission, in the worker) and ``grader.assignment.import_file`` (the reference).
- No import cycles between modules, counting imports inside functions too.

Every import is read with ``ast`` (nothing is imported to check it).
"""

from __future__ import annotations

import ast
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

UNTRUSTED = "worker"  # subpackage that runs beside submission code
RUNS_SUBMISSIONS = ("worker.executor", "worker.__main__")  # what only the untrusted side may import
LOCAL_RUN = "frontends.local"  # a student's own run: their code in their own process
EXECUTES_FILES = {"worker.executor", "assignment"}  # may call spec_from_file_location


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def import_graph(package: Path) -> dict[str, dict[str, int]]:
    """For each module of ``package`` (names relative to it), the modules of the package it
    imports, anywhere in its source, with the line of the first such import."""
    name = package.name
    modules = {module_name(p, package): p for p in sorted(package.rglob("*.py"))
               if "__pycache__" not in p.parts}
    graph: dict[str, dict[str, int]] = {}
    for module, path in modules.items():
        edges: dict[str, int] = {}
        for node in ast.walk(ast.parse(path.read_text())):
            targets = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                targets = [f"{node.module}.{alias.name}" for alias in node.names] + [node.module]
            for target in targets:
                if target == name or not target.startswith(name + "."):
                    continue
                inner = target[len(name) + 1:]
                while inner and inner not in modules:  # "from pkg.mod import function" -> pkg.mod
                    inner = inner.rpartition(".")[0]
                if inner and inner != module and not _is_package(modules.get(inner)):
                    edges.setdefault(inner, node.lineno)
        graph[module] = edges
    return graph


def _is_package(path: Path | None) -> bool:
    return path is not None and path.name == "__init__.py"


def boundary_violations(graph: dict[str, dict[str, int]]) -> list[str]:
    found = []
    for module, edges in graph.items():
        inside = module == UNTRUSTED or module.startswith(UNTRUSTED + ".")
        for target, line in edges.items():
            if inside and not target.startswith(UNTRUSTED + "."):
                found.append(f"{module} (line {line}) imports {target}: the worker side must import "
                             "nothing of the trusted side")
            if not inside and module != LOCAL_RUN and target in RUNS_SUBMISSIONS:
                found.append(f"{module} (line {line}) imports {target}: only the worker runs submissions")
    return found


def cycles(graph: dict[str, dict[str, int]]) -> list[list[str]]:
    """The import cycles of ``graph`` (Tarjan's strongly connected components of two or more)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in graph.get(node, {}):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def file_executors(package: Path) -> set[str]:
    """Modules that execute a Python file by path (``spec_from_file_location``)."""
    return {module_name(p, package) for p in package.rglob("*.py")
            if "spec_from_file_location" in p.read_text()}


def test_the_worker_side_imports_nothing_trusted_and_only_it_runs_submissions():
    assert boundary_violations(import_graph(ROOT / "grader")) == []


def test_no_import_cycles_even_through_imports_inside_functions():
    assert cycles(import_graph(ROOT / "grader")) == []


def test_only_the_executor_and_the_reference_loader_execute_files():
    assert file_executors(ROOT / "grader") == EXECUTES_FILES


def _package(tmp_path: Path, files: dict[str, str]) -> Path:
    package = tmp_path / "grader"
    for name, text in {"__init__.py": "", "worker/__init__.py": "", "grading/__init__.py": "",
                       "frontends/__init__.py": "", **files}.items():
        (package / name).parent.mkdir(parents=True, exist_ok=True)
        (package / name).write_text(textwrap.dedent(text))
    return package


def test_the_checks_catch_a_forbidden_import_and_a_cycle(tmp_path):
    package = _package(tmp_path, {
        "worker/wire.py": "def f():\n    from grader.grading import suite\n",
        "worker/executor.py": "",
        "grading/suite.py": "from grader.grading.batch import run\n",
        "grading/batch.py": "def run():\n    from grader.grading.suite import collect\n"
                            "    from grader.worker.executor import Executor\n",
        "frontends/local.py": "from grader.worker.executor import Executor\n",
    })
    graph = import_graph(package)
    assert sorted(boundary_violations(graph)) == [
        "grading.batch (line 3) imports worker.executor: only the worker runs submissions",
        "worker.wire (line 2) imports grading.suite: the worker side must import nothing of the "
        "trusted side"]
    assert cycles(graph) == [["grading.batch", "grading.suite"]]
