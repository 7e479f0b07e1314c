"""Mutants of an assignment's reference: small mistakes made on purpose, to measure its tests.

    mutants = generate(assignment)       # every distinct mutant of the solution regions

A mutant is the reference with one operator applied at one place inside a solution region
(``### BEGIN SOLUTION`` / ``### END SOLUTION``); the code outside the regions (signatures,
docstrings, given code) is never touched. The operators fit tensor code:

    arithmetic   + <-> -, * <-> /, @ -> *, ** -> *, // <-> /
    operand      ``a op b`` -> ``a`` and -> ``b`` (a dropped scale, term or residual)
    comparison   < <-> <=, > <-> >=, == <-> !=, is <-> is not, in <-> not in
    constant     an integer n -> n + 1 and n - 1 (``dim=-1`` -> ``-2``, off-by-one bounds)
    negation     ``-x`` -> ``x``, ``not x`` -> ``x``
    call         ``x.method(...)`` -> ``x`` and ``f(x, ...)`` -> ``x`` (a dropped transpose,
                 sqrt, masked_fill, contiguous...)
    name         tril <-> triu, min <-> max, argmin <-> argmax, amin <-> amax, sin <-> cos,
                 floor <-> ceil, any <-> all, True <-> False, and <-> or
    arguments    two neighbouring positional arguments swapped
    statement    a simple statement (not a return) replaced by ``pass``

Mutants are made with libcst, which keeps the source's formatting, so a mutant's diff against the
reference is the one changed line. A mutant that does not compile, or whose syntax tree equals the
reference's or an earlier mutant's, is left out.

Each mutant is graded by the tests of its exercise (a mistake must cost points where it lives),
in this process (mutants are the author's own code): it is *killed* when a test fails, *survives*
when every test passes although some answer differs from the reference's (a hole: a check too
weak), and is *equivalent* when every answer equals the reference's on the tests' inputs (either
no input can tell it apart, or none of the tests' inputs does: such mutants are left out of the
score, and listed in the kill matrix). The mutation score of an exercise is killed / (killed +
survived). ``run`` returns a :class:`Report`; ``grader mutants NN`` prints it and writes the kill
matrix as JSON.
"""

from __future__ import annotations

import ast
import difflib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from grader.assignment import Assignment
from grader.authoring.generate import find_regions


@dataclass(frozen=True)
class Mutant:
    id: str  # "attention.scaled_dot_product_attention#3": the function and a number within it
    module: str  # the student module it changes
    function: str  # the top-level function or class whose solution region it changes
    exercise: str  # the exercise of that function
    operator: str  # what was changed, e.g. "comparison: < -> <="
    line: int  # 1-based line of the change in the module
    source: str  # the whole mutated module

    def diff(self, original: str) -> str:
        """The unified diff from ``original`` (the reference module) to this mutant."""
        return "".join(difflib.unified_diff(original.splitlines(keepends=True),
                                            self.source.splitlines(keepends=True),
                                            f"reference/{self.module}.py", f"mutant/{self.module}.py", n=1))


def generate(assignment: Assignment, modules: tuple[str, ...] = ()) -> list[Mutant]:
    """The distinct mutants of the solution regions of ``modules`` (all student modules when
    empty), in source order."""
    found = []
    for module in modules or assignment.student_modules:
        source = (assignment.folder / f"{module}.py").read_text()
        found += module_mutants(assignment, module, source)
    return found


def module_mutants(assignment: Assignment, module: str, source: str) -> list[Mutant]:
    import libcst as cst
    from libcst.metadata import MetadataWrapper, PositionProvider

    lines = source.splitlines()
    regions = [(r.start + 2, r.end) for r in find_regions(lines, f"{module}.py")]  # 1-based, inside
    owners = _owners(source)
    exercises = _exercises(assignment, module, source)
    wrapper = MetadataWrapper(cst.parse_module(source))
    positions = wrapper.resolve(PositionProvider)
    seen = {_tree_key(source)}
    mutants, counts = [], {}
    for node in _nodes(wrapper.module):
        position = positions.get(node)
        if position is None or not any(a <= position.start.line <= b for a, b in regions):
            continue
        for replacement, description in _mutations(node):
            code = wrapper.module.deep_replace(node, replacement).code
            key = _tree_key(code)
            if key is None or key in seen:
                continue
            seen.add(key)
            function = owners[position.start.line]
            counts[function] = counts.get(function, 0) + 1
            mutants.append(Mutant(f"{module}.{function}#{counts[function]}", module, function,
                                  exercises[function], description,
                                  position.start.line, code))
    return mutants


def _nodes(module) -> Iterator:
    import libcst as cst

    class Collector(cst.CSTVisitor):
        def __init__(self) -> None:
            self.found = []

        def on_visit(self, node) -> bool:
            self.found.append(node)
            return True

    collector = Collector()
    module.visit(collector)
    negated = {id(n.expression) for n in collector.found  # "-1" is one constant, not 1 negated
               if isinstance(n, cst.UnaryOperation) and isinstance(n.operator, cst.Minus)
               and isinstance(n.expression, cst.Integer)}
    return (n for n in collector.found if id(n) not in negated)


def _owners(source: str) -> dict[int, str]:
    """For each 1-based line of a top-level definition (def, class, assignment), its name."""
    owners = {}
    for node in ast.parse(source).body:
        for name in _defined(node):
            owners.update(dict.fromkeys(range(node.lineno, node.end_lineno + 1), name))
    return owners


def _defined(node: ast.stmt) -> list[str]:
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return [node.name]
    if isinstance(node, (ast.Assign, ast.AnnAssign)):
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        return [t.id for t in targets if isinstance(t, ast.Name)][:1]
    return []


def _exercises(assignment: Assignment, module: str, source: str) -> dict[str, str]:
    """The exercise of every top-level name of the module: its own, for the names an exercise
    lists; for a private helper, that of the first listed definition that uses it (directly or
    through other helpers)."""
    tree = ast.parse(source)
    uses = {name: {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}
            for node in tree.body for name in _defined(node)}
    listed = {name.split(".", 1)[1]: e.id for e in assignment.exercises for name in e.names
              if name.startswith(module + ".")}

    def exercise(name: str, seen: frozenset = frozenset()) -> str:
        if name in listed:
            return listed[name]
        for user, used in uses.items():
            if name in used and user not in seen and user != name:
                found = exercise(user, seen | {name})
                if found:
                    return found
        return ""

    return {name: exercise(name) for name in uses}


def _tree_key(code: str) -> str | None:
    """The syntax tree of ``code`` as text (formatting and comments ignored), None when it does
    not compile."""
    try:
        tree = ast.parse(code)
        compile(tree, "<mutant>", "exec")
    except (SyntaxError, ValueError):
        return None
    return ast.dump(tree)


# --- operators ---------------------------------------------------------------------------------

_ARITHMETIC = {"Add": "Subtract", "Subtract": "Add", "Multiply": "Divide", "Divide": "Multiply",
               "MatrixMultiply": "Multiply", "Power": "Multiply", "FloorDivide": "Divide"}
_COMPARISON = {"LessThan": "LessThanEqual", "LessThanEqual": "LessThan", "GreaterThan": "GreaterThanEqual",
               "GreaterThanEqual": "GreaterThan", "Equal": "NotEqual", "NotEqual": "Equal",
               "Is": "IsNot", "IsNot": "Is", "In": "NotIn", "NotIn": "In"}
_NAMES = {}
for _a, _b in (("tril", "triu"), ("min", "max"), ("argmin", "argmax"), ("amin", "amax"), ("sin", "cos"),
               ("floor", "ceil"), ("any", "all"), ("True", "False"), ("minimum", "maximum")):
    _NAMES[_a], _NAMES[_b] = _b, _a
_SYMBOLS = {"Add": "+", "Subtract": "-", "Multiply": "*", "Divide": "/", "MatrixMultiply": "@",
            "Power": "**", "FloorDivide": "//", "LessThan": "<", "LessThanEqual": "<=",
            "GreaterThan": ">", "GreaterThanEqual": ">=", "Equal": "==", "NotEqual": "!=",
            "Is": "is", "IsNot": "is not", "In": "in", "NotIn": "not in"}


def _mutations(node) -> Iterator[tuple[object, str]]:
    """Every (replacement node, description) the operators make of ``node``."""
    for operator in _OPERATORS:
        yield from operator(node)


def _arithmetic(node):
    import libcst as cst

    if isinstance(node, cst.BinaryOperation):
        kind = type(node.operator).__name__
        if kind in _ARITHMETIC:
            target = _ARITHMETIC[kind]
            yield (node.with_changes(operator=getattr(cst, target)()),
                   f"arithmetic: {_SYMBOLS[kind]} -> {_SYMBOLS[target]}")
    if isinstance(node, cst.AugAssign):
        kind = type(node.operator).__name__.removesuffix("Assign")
        if kind in _ARITHMETIC:
            target = _ARITHMETIC[kind]
            yield (node.with_changes(operator=getattr(cst, target + "Assign")()),
                   f"arithmetic: {_SYMBOLS[kind]}= -> {_SYMBOLS[target]}=")


def _operand(node):
    import libcst as cst

    if isinstance(node, cst.BinaryOperation):
        symbol = _SYMBOLS.get(type(node.operator).__name__, "op")
        yield node.left.with_changes(lpar=node.lpar, rpar=node.rpar), f"operand: a {symbol} b -> a"
        yield node.right.with_changes(lpar=node.lpar, rpar=node.rpar), f"operand: a {symbol} b -> b"


def _comparison(node):
    import libcst as cst

    if isinstance(node, cst.ComparisonTarget):
        kind = type(node.operator).__name__
        if kind in _COMPARISON:
            target = _COMPARISON[kind]
            yield (node.with_changes(operator=getattr(cst, target)()),
                   f"comparison: {_SYMBOLS[kind]} -> {_SYMBOLS[target]}")


def _constant(node):
    import libcst as cst

    if isinstance(node, cst.Integer):
        value = node.evaluated_value
        for new in (value + 1, value - 1):
            if new >= 0:
                yield node.with_changes(value=str(new)), f"constant: {value} -> {new}"
    if isinstance(node, cst.UnaryOperation) and isinstance(node.operator, cst.Minus) \
            and isinstance(node.expression, cst.Integer):
        value = -node.expression.evaluated_value
        for new in (value + 1, value - 1):
            replacement = (cst.Integer(str(new)) if new >= 0 else
                           node.with_changes(expression=cst.Integer(str(-new))))
            yield replacement, f"constant: {value} -> {new}"


def _negation(node):
    import libcst as cst

    if isinstance(node, cst.UnaryOperation) and isinstance(node.operator, (cst.Minus, cst.Not)) \
            and not isinstance(node.expression, cst.Integer):
        symbol = "-" if isinstance(node.operator, cst.Minus) else "not "
        yield node.expression.with_changes(lpar=node.lpar, rpar=node.rpar), f"negation: {symbol}x -> x"


def _call(node):
    import libcst as cst

    if not isinstance(node, cst.Call):
        return
    if isinstance(node.func, cst.Attribute) and not _is_module_path(node.func.value):
        yield node.func.value, f"call: x.{node.func.attr.value}(...) -> x"
    positional = [a for a in node.args if a.keyword is None and a.star == ""]
    if positional:
        yield positional[0].value, f"call: {_callee(node)}(x, ...) -> x"


def _names(node):
    import libcst as cst

    if isinstance(node, cst.Name) and node.value in _NAMES:
        yield node.with_changes(value=_NAMES[node.value]), f"name: {node.value} -> {_NAMES[node.value]}"
    if isinstance(node, cst.BooleanOperation):
        swapped = cst.Or() if isinstance(node.operator, cst.And) else cst.And()
        yield (node.with_changes(operator=swapped),
               "name: and -> or" if isinstance(node.operator, cst.And) else "name: or -> and")


def _arguments(node):
    import libcst as cst

    if not isinstance(node, cst.Call):
        return
    args = list(node.args)
    for i in range(len(args) - 1):
        a, b = args[i], args[i + 1]
        if a.keyword is None and b.keyword is None and a.star == "" and b.star == "":
            args_swapped = [*args[:i], b.with_changes(comma=a.comma), a.with_changes(comma=b.comma), *args[i + 2:]]
            yield node.with_changes(args=args_swapped), f"arguments: {_callee(node)}(.., a, b, ..) swapped"


def _statement(node):
    import libcst as cst

    if isinstance(node, cst.SimpleStatementLine) and not any(
            isinstance(s, (cst.Return, cst.Pass, cst.Raise)) for s in node.body):
        yield node.with_changes(body=[cst.Pass()]), "statement: -> pass"


_OPERATORS: tuple[Callable, ...] = (_arithmetic, _operand, _comparison, _constant, _negation, _call,
                                    _names, _arguments, _statement)


def _is_module_path(node) -> bool:
    """``torch``, ``torch.nn.functional``, ``math``...: a dotted name starting with a lower-case
    module-like name (the receiver of ``torch.sqrt(x)`` is not a value to keep)."""
    import libcst as cst

    while isinstance(node, cst.Attribute):
        node = node.value
    return isinstance(node, cst.Name) and node.value in {"torch", "math", "np", "numpy", "F", "nn"}


def _callee(node) -> str:
    import libcst as cst

    func = node.func
    return func.attr.value if isinstance(func, cst.Attribute) else getattr(func, "value", "f")


# --- grading mutants ---------------------------------------------------------------------------

KILLED, SURVIVED, EQUIVALENT = "killed", "survived", "equivalent"  # see the module docstring
MUTANT_CALL_SECONDS = 2.0  # a mutant's call running longer is stopped (a mutated loop bound)


@dataclass(frozen=True)
class Verdict:
    """What the tests of a mutant's exercise made of it."""

    mutant: Mutant
    status: str  # KILLED, SURVIVED (a hole in the suite) or EQUIVALENT (same answers as the reference)
    killed_by: tuple[str, ...]  # ids of the tests that failed on it

    def to_data(self) -> dict:
        m = self.mutant
        return {"id": m.id, "exercise": m.exercise, "module": m.module, "function": m.function,
                "operator": m.operator, "line": m.line, "status": self.status,
                "killed_by": list(self.killed_by)}


class Grader:
    """The tests of one assignment, collected once, run in this process against mutants.

    The reference is graded first, recording each test's transcript
    (:mod:`grader.grading.transcripts`): a mutant that answers every request of a test exactly
    as the reference does passes it at once, and is equivalent when it does so for every test.
    """

    def __init__(self, assignment: Assignment, published, exercises: tuple[str, ...] = ()):
        from grader.authoring.in_process import InProcess
        from grader.grading import diagnose
        from grader.grading.suite import collect

        suite = collect(assignment.folder, published).select(exercises)
        suite.set_shrinking(False)
        self.grader = InProcess(suite, diagnose.Catalogue())
        self.assignment = assignment
        self.grader.grade(assignment.folder, record=True)

    def verdict(self, mutant: Mutant, scratch) -> Verdict:
        folder = scratch / mutant.id.replace("#", "-")
        folder.mkdir(parents=True)
        for module in self.assignment.student_modules:
            source = mutant.source if module == mutant.module else \
                (self.assignment.folder / f"{module}.py").read_text()
            (folder / f"{module}.py").write_text(source)
        for name in self.assignment.given_files:
            (folder / name).write_bytes((self.assignment.folder / name).read_bytes())
        graded = self.grader.grade(folder, (mutant.exercise,), call_seconds=MUTANT_CALL_SECONDS)
        killed = tuple(o.test.id for o in graded.outcomes if not o.passed)
        alike = len(graded.alike) == len(graded.outcomes)
        return Verdict(mutant, KILLED if killed else EQUIVALENT if alike else SURVIVED, killed)


@dataclass(frozen=True)
class Report:
    """Every mutant's verdict, with the reference's sources (to show survivors as diffs)."""

    assignment: Assignment
    verdicts: tuple[Verdict, ...]
    tests: tuple[str, ...]  # ids of the suite's tests, in order
    sources: dict  # module -> the reference's source

    def scores(self) -> dict[str, tuple[int, int, int]]:
        """Per exercise: (killed, survived, equivalent)."""
        counts = {e.id: [0, 0, 0] for e in self.assignment.exercises}
        for v in self.verdicts:
            counts[v.mutant.exercise][(KILLED, SURVIVED, EQUIVALENT).index(v.status)] += 1
        return {e: tuple(c) for e, c in counts.items()}

    def lines(self) -> list[str]:
        out = [f"{'exercise':<12}{'mutants':>8}{'killed':>8}{'survived':>10}{'equivalent':>12}{'score':>8}"]
        for exercise, (killed, survived, equivalent) in self.scores().items():
            total = killed + survived + equivalent
            if total:
                out.append(f"{exercise:<12}{total:>8}{killed:>8}{survived:>10}{equivalent:>12}"
                           f"{mutation_score(killed, survived):>8.1%}")
        killed, survived, equivalent = (sum(c[i] for c in self.scores().values()) for i in range(3))
        out.append(f"{'all':<12}{killed + survived + equivalent:>8}{killed:>8}{survived:>10}{equivalent:>12}"
                   f"{mutation_score(killed, survived):>8.1%}")
        return out

    def survivors(self) -> list[str]:
        """Each surviving mutant as a heading and its diff: what no test catches."""
        out = []
        for v in self.verdicts:
            if v.status == SURVIVED:
                out += [f"survived: {v.mutant.id} [{v.mutant.exercise}] {v.mutant.operator}",
                        v.mutant.diff(self.sources[v.mutant.module]).rstrip()]
        return out

    def to_data(self) -> dict:
        """The kill matrix as data: the tests, and for every mutant its verdict and the tests that
        killed it."""
        return {"assignment": self.assignment.id, "tests": list(self.tests),
                "scores": {e: dict(zip((KILLED, SURVIVED, EQUIVALENT), c)) for e, c in self.scores().items()},
                "mutants": [{**v.to_data(), "diff": v.mutant.diff(self.sources[v.mutant.module])}
                            for v in self.verdicts]}


def mutation_score(killed: int, survived: int) -> float:
    """The share of the non-equivalent mutants that the tests kill (1.0 when there are none)."""
    return killed / (killed + survived) if killed + survived else 1.0


MEMORY_MARGIN = 2 * 2**30  # bytes a grading process may allocate beyond what it holds when it forks


def run(assignment: Assignment, published, exercises: tuple[str, ...] = (), jobs: int = 1,
        progress: Callable[[int, int], None] | None = None) -> Report:
    """Generate the mutants of ``exercises`` (all when empty) and grade them in ``jobs`` forked
    copies of this process (the suite collected and the reference's answers recorded once, before
    the fork). A copy may allocate :data:`MEMORY_MARGIN` more than it holds: a mutant that asks for
    more fails its call, as one that loops fails at :data:`MUTANT_CALL_SECONDS`."""
    import tempfile
    from concurrent.futures import ProcessPoolExecutor, as_completed
    from multiprocessing import get_context

    try:
        import libcst  # noqa: F401
    except ImportError:
        raise ImportError("grader mutants needs libcst: pip install 'llm-grader[mutants]'") from None
    import torch

    from grader.testing import hypothesis_profile

    torch.set_num_threads(1)  # before any tensor work: no thread pool to carry over the fork
    global _GRADER
    for exercise in exercises:
        assignment.exercise(exercise)
    mutants = [m for m in generate(assignment) if not exercises or m.exercise in exercises]
    progress = progress or (lambda done, total: None)
    verdicts = []
    with hypothesis_profile(shrink=False), tempfile.TemporaryDirectory(prefix="grader-mutants-") as scratch:
        _GRADER = Grader(assignment, published, exercises), Path(scratch)
        with ProcessPoolExecutor(max_workers=max(1, jobs), mp_context=get_context("fork"),
                                 initializer=_limit_memory) as pool:
            futures = {pool.submit(_verdict, m): m for m in mutants}
            for future in as_completed(futures):
                verdicts.append(Verdict(futures[future], *future.result()))
                progress(len(verdicts), len(mutants))
        grader, _GRADER = _GRADER[0], None
    order = {m.id: i for i, m in enumerate(mutants)}
    sources = {m: (assignment.folder / f"{m}.py").read_text() for m in assignment.student_modules}
    return Report(assignment, tuple(sorted(verdicts, key=lambda v: order[v.mutant.id])),
                  tuple(t.definition.id for t in grader.grader.suite.tests), sources)


_GRADER: tuple[Grader, Path] | None = None  # what the forked grading processes inherit


def _limit_memory() -> None:
    import resource

    with open("/proc/self/statm") as statm:
        held = int(statm.read().split()[0]) * resource.getpagesize()
    resource.setrlimit(resource.RLIMIT_AS, (held + MEMORY_MARGIN, resource.RLIM_INFINITY))


def _verdict(mutant: Mutant) -> tuple[str, tuple[str, ...]]:
    grader, scratch = _GRADER
    verdict = grader.verdict(mutant, scratch)
    return verdict.status, verdict.killed_by
