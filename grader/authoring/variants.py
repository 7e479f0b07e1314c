"""Variants of an assignment's reference: small exact patches, each with its expected effect.

An assignment's ``variants/*.toml`` files (beside the reference, never shipped) hold tables::

    [[variant]]
    name = "scale_adds"                  # unique within the assignment, [a-z0-9_]+
    about = "Adds the factor instead of multiplying by it."   # one line, for people
    module = "example"                   # the student module the patch applies to
    expect = "loses"                     # "full" | "loses" | "zero"
    exercises = ["scale"]                # where it loses points ("loses") or scores 0 ("zero")
    misconception = "scale.adds"         # optional: the one catalogue id grading must name
    edit = [["x * factor", "x + factor"]]   # or replace = '''def ...''' (exactly one of the two)
    isolate = true                       # the default

- ``edit``: ``[old, new]`` pairs applied in order; each ``old`` must occur exactly once in the
  module as it stands when that pair is applied.
- ``replace``: Python source whose top-level functions and classes replace the module's
  same-named ones (new names are appended); a class holding only methods replaces just those
  methods; the snippet's imports are added at the top of the module.
- ``isolate`` (default true): the module's other definitions keep calling the reference version
  of every changed top-level function (kept as ``_reference_<name>``), so a mistake stays in the
  exercise it lives in; false: they call the changed one, as a student's would. Isolation cannot
  reach a changed class, nor another student module that imports this one: such a variant is
  graded on every exercise, and ``exercises`` must list each one it costs points.

A variant's submission (:func:`build`) is the reference's student modules and given files with
the patch applied to ``module``. :func:`load_all` reads and validates every file: unknown
fields, a patch that does not apply, applies ambiguously or changes nothing raise
:class:`VariantError` naming the file and the variant.
"""

from __future__ import annotations

import ast
import re
import shutil
import tomllib
from dataclasses import dataclass
from pathlib import Path

from grader.assignment import Assignment, AssignmentError

FOLDER = "variants"
EXPECTS = ("full", "loses", "zero")
_FIELDS = {"name", "about", "module", "expect", "exercises", "misconception", "replace", "edit", "isolate"}
_NAME = re.compile(r"[a-z0-9_]+")
_DEFS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)


class VariantError(AssignmentError):
    """A variant that cannot be used, with its file, its name and what is wrong."""


@dataclass(frozen=True)
class Variant:
    name: str
    about: str
    module: str
    expect: str  # one of EXPECTS
    exercises: tuple[str, ...]  # where it loses points / scores 0 (empty for "full")
    misconception: str | None
    replace: str | None
    edit: tuple[tuple[str, str], ...]
    isolate: bool
    file: Path  # the .toml file it comes from

    def error(self, message: str) -> VariantError:
        return VariantError(f"{self.file}: variant {self.name!r}: {message}")


def load_all(assignment: Assignment) -> tuple[Variant, ...]:
    """Every variant of ``assignment`` (none without a variants folder), validated against the
    reference: fields, exercises, and that each patch applies exactly and changes a definition."""
    found, seen = [], {}
    for path in sorted((assignment.folder / FOLDER).glob("*.toml")):
        for variant in _read(path):
            if variant.name in seen:
                raise variant.error(f"the name is also used in {seen[variant.name]}")
            seen[variant.name] = path
            _validate(variant, assignment)
            found.append(variant)
    return tuple(found)


def _read(path: Path) -> list[Variant]:
    try:
        data = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise VariantError(f"{path}: not valid TOML: {exc}") from None
    if set(data) - {"variant"} or not isinstance(data.get("variant", []), list):
        found = sorted(set(data) - {"variant"})
        raise VariantError(f"{path}: expected only [[variant]] tables, found {found}")
    return [_variant(path, number, table) for number, table in enumerate(data.get("variant", []), 1)]


def _variant(path: Path, number: int, table: dict) -> Variant:
    name = table.get("name")
    where = f"{path}: variant {name!r}" if isinstance(name, str) else f"{path}: variant number {number}"
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise VariantError(f"{where}: `name` must be a string of [a-z0-9_]")
    unknown = set(table) - _FIELDS
    if unknown:
        raise VariantError(f"{where}: unknown field(s) {', '.join(sorted(unknown))} "
                           f"(known: {', '.join(sorted(_FIELDS))})")
    for field in ("about", "module", "expect"):
        if not isinstance(table.get(field), str) or not table[field].strip():
            raise VariantError(f"{where}: `{field}` is missing (a string)")
    if ("replace" in table) == ("edit" in table):
        raise VariantError(f"{where}: give exactly one of `replace` and `edit`")
    edit = table.get("edit", [])
    if "edit" in table and not _string_pairs(edit):
        raise VariantError(f"{where}: `edit` must be a non-empty list of [old, new] string pairs")
    exercises = table.get("exercises", [])
    if not isinstance(exercises, list) or not all(isinstance(e, str) for e in exercises):
        raise VariantError(f"{where}: `exercises` must be a list of exercise ids")
    if not isinstance(table.get("isolate", True), bool):
        raise VariantError(f"{where}: `isolate` must be true or false")
    misconception = table.get("misconception")
    if misconception is not None and not isinstance(misconception, str):
        raise VariantError(f"{where}: `misconception` must be a catalogue id (a string)")
    replace = table.get("replace")
    if replace is not None and not isinstance(replace, str):
        raise VariantError(f"{where}: `replace` must be Python source (a string)")
    return Variant(name, " ".join(table["about"].split()), table["module"], table["expect"],
                   tuple(exercises), misconception, replace, tuple(tuple(p) for p in edit),
                   table.get("isolate", True), path)


def _string_pairs(value) -> bool:
    """A non-empty list of ``[old, new]`` string pairs, no old text empty."""
    return isinstance(value, list) and bool(value) and all(
        isinstance(pair, list) and len(pair) == 2 and all(isinstance(s, str) for s in pair) and pair[0] != ""
        for pair in value)


def _validate(variant: Variant, assignment: Assignment) -> None:
    if variant.module not in assignment.student_modules:
        raise variant.error(f"module {variant.module!r} is not a student module "
                            f"({', '.join(assignment.student_modules)})")
    if variant.expect not in EXPECTS:
        raise variant.error(f"`expect` is {variant.expect!r}; use one of {', '.join(EXPECTS)}")
    if (variant.expect == "full") == bool(variant.exercises):
        raise variant.error('`exercises` lists where it loses points: required with expect = "loses" '
                            'or "zero", absent with "full"')
    if variant.misconception is not None and variant.expect == "full":
        raise variant.error('a correct variant (expect = "full") names no misconception')
    for exercise in variant.exercises:
        try:
            assignment.exercise(exercise)
        except AssignmentError as exc:
            raise variant.error(str(exc)) from None
    touched = touched_exercises(variant, assignment)
    outside = [e for e in variant.exercises if e not in touched]
    if outside:
        raise variant.error(f"it expects to lose points in {', '.join(outside)}, but its patch changes "
                            f"only definitions of {', '.join(touched)}")


# --- building -----------------------------------------------------------------------------------

def build(variant: Variant, assignment: Assignment, out: Path) -> Path:
    """Write the variant's submission folder at ``out`` (the reference's student modules and
    given files, the patch applied to ``variant.module``) and return it."""
    out.mkdir(parents=True, exist_ok=True)
    for name in (*(f"{m}.py" for m in assignment.student_modules), *assignment.given_files):
        shutil.copy(assignment.folder / name, out / name)
    (out / f"{variant.module}.py").write_text(patched_module(variant, assignment))
    return out


def patched_module(variant: Variant, assignment: Assignment) -> str:
    """The source of ``variant.module`` with the variant's patch applied."""
    return apply(variant, (assignment.folder / f"{variant.module}.py").read_text())


def apply(variant: Variant, source: str, isolate: bool | None = None) -> str:
    """``source`` (a module) with the variant's patch applied; ``isolate`` overrides the
    variant's own setting. Raises :class:`VariantError` when the patch does not apply."""
    isolate = variant.isolate if isolate is None else isolate
    patched = _replaced(variant, source) if variant.replace is not None else _edited(variant, source)
    try:
        tree = ast.parse(patched)
    except SyntaxError as exc:
        raise variant.error(f"the patched {variant.module}.py does not parse: {exc}") from None
    changed = changed_definitions(ast.parse(source), tree)
    if not changed:
        raise variant.error(f"the patch changes no definition of {variant.module}.py")
    functions = [n for n in ast.parse(source).body if isinstance(n, ast.FunctionDef) and n.name in changed]
    return _isolated(source, patched, tree, functions) if isolate and functions else patched


def changed_definitions(before: ast.Module, after: ast.Module) -> list[str]:
    """Top-level functions and classes of ``before`` that ``after`` defines differently (by
    their syntax tree: comments and layout do not count)."""
    old = {n.name: ast.dump(n) for n in before.body if isinstance(n, _DEFS)}
    return [n.name for n in after.body
            if isinstance(n, _DEFS) and n.name in old and ast.dump(n) != old[n.name]]


def touched_exercises(variant: Variant, assignment: Assignment) -> tuple[str, ...]:
    """The exercises whose points the variant can change, in the assignment's order: those of
    the definitions its patch changes when isolation keeps the change there; every exercise
    otherwise (without ``isolate``, when it changes a class, or when other student modules
    import the module: isolation redirects only the module's own calls to its functions)."""
    every = tuple(e.id for e in assignment.exercises)
    if not variant.isolate or _imported_by_others(variant.module, assignment):
        return every
    source = (assignment.folder / f"{variant.module}.py").read_text()
    tree = ast.parse(source)
    changed = changed_definitions(tree, ast.parse(apply(variant, source, isolate=False)))
    if {n.name for n in tree.body if isinstance(n, ast.ClassDef)} & set(changed):
        return every
    owned = {f"{variant.module}.{name}" for name in changed}
    touched = tuple(e.id for e in assignment.exercises if owned & set(e.names))
    if not touched:
        raise variant.error(f"it changes only {', '.join(changed)}, which belong to no exercise: isolated, "
                            "nothing calls them (set isolate = false)")
    return touched


def _imported_by_others(module: str, assignment: Assignment) -> bool:
    """Whether another student module imports ``module`` (``import m``, ``from m import x``)."""
    for other in assignment.student_modules:
        if other != module:
            for node in ast.walk(ast.parse((assignment.folder / f"{other}.py").read_text())):
                names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                         else [node.module] if isinstance(node, ast.ImportFrom) else [])
                if module in names:
                    return True
    return False


def _edited(variant: Variant, source: str) -> str:
    for number, (old, new) in enumerate(variant.edit, 1):
        count = source.count(old)
        if count != 1:
            where = "does not occur" if not count else f"occurs {count} times"
            raise variant.error(f"edit {number}: its old text {_short(old)} {where} in {variant.module}.py; "
                                "it must occur exactly once (add surrounding text to make it unique)")
        source = source.replace(old, new)
    return source


def _replaced(variant: Variant, source: str) -> str:
    """``source`` with the snippet's definitions put in place (see the module docstring)."""
    try:
        snippet = ast.parse(variant.replace)
    except SyntaxError as exc:
        raise variant.error(f"`replace` does not parse: {exc}") from None
    snippet_lines = variant.replace.splitlines(keepends=True)
    lines = source.splitlines(keepends=True)
    tree = ast.parse(source)
    by_name = {n.name: n for n in tree.body if isinstance(n, _DEFS)}
    spans, appended = [], []  # (start, end, text) over lines; new definitions
    for node in snippet.body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            continue
        if not isinstance(node, _DEFS):
            raise variant.error(f"`replace` may hold only imports, functions and classes "
                                f"(line {node.lineno})")
        text = _text(snippet_lines, node)
        target = by_name.get(node.name)
        if target is None:
            appended.append(text)
        elif isinstance(node, ast.ClassDef) and isinstance(target, ast.ClassDef) and _only_methods(node):
            spans += _method_spans(variant, lines, target, node, snippet_lines)
        else:
            spans.append((_first_line(target) - 1, target.end_lineno, text))
    for start, end, text in sorted(spans, reverse=True):
        lines[start:end] = [text]
    imports = [ast.get_source_segment(variant.replace, n) + "\n" for n in snippet.body
               if isinstance(n, (ast.Import, ast.ImportFrom))]
    present = {ast.get_source_segment(source, n) + "\n" for n in tree.body
               if isinstance(n, (ast.Import, ast.ImportFrom))}
    head = _header_length(tree)
    body = "".join(lines[:head]) + "".join(i for i in imports if i not in present) + "".join(lines[head:])
    return body + "".join("\n\n" + text for text in appended)


def _method_spans(variant: Variant, lines: list[str], target: ast.ClassDef, snippet: ast.ClassDef,
                  snippet_lines: list[str]) -> list[tuple[int, int, str]]:
    """Replace the methods of class ``target`` that ``snippet`` defines (new ones go at its end),
    re-indented to the class body's indentation."""
    methods = {n.name: n for n in target.body if isinstance(n, _DEFS)}
    indent = _indent_of(lines[target.body[-1].lineno - 1])
    spans = []
    for node in snippet.body:
        text = _reindented(_text(snippet_lines, node), indent)
        if node.name in methods:
            spans.append((_first_line(methods[node.name]) - 1, methods[node.name].end_lineno, text))
        else:
            spans.append((target.end_lineno, target.end_lineno, "\n" + text))
    return spans


def _isolated(source: str, patched: str, tree: ast.Module, functions: list[ast.FunctionDef]) -> str:
    """``patched`` where every definition the patch did not change calls the reference version of
    each changed function, kept under ``_reference_<name>`` at the end of the module."""
    names = [f.name for f in functions]
    original = {n.name for n in ast.parse(source).body if isinstance(n, _DEFS)}
    changed = set(changed_definitions(ast.parse(source), tree))
    lines = patched.splitlines(keepends=True)
    for node in sorted(tree.body, key=lambda n: -n.lineno):
        if isinstance(node, _DEFS) and node.name in original and node.name not in changed:
            span = slice(_first_line(node) - 1, node.end_lineno)
            lines[span] = [_call_reference("".join(lines[span]), names)]
    source_lines = source.splitlines(keepends=True)
    kept = "".join("\n\n" + re.sub(rf"^def {f.name}\(", f"def _reference_{f.name}(", _text(source_lines, f))
                   for f in functions)
    return "".join(lines) + kept


def _call_reference(text: str, names: list[str]) -> str:
    for name in names:
        text = re.sub(rf"(?<![\w.]){name}\(", f"_reference_{name}(", text)
    return text


def _only_methods(node: ast.ClassDef) -> bool:
    return all(isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)) for n in node.body)


def _text(lines: list[str], node: ast.AST) -> str:
    text = "".join(lines[_first_line(node) - 1: node.end_lineno])
    return text if text.endswith("\n") else text + "\n"


def _first_line(node: ast.AST) -> int:
    return min([node.lineno, *(d.lineno for d in getattr(node, "decorator_list", []))])


def _indent_of(line: str) -> str:
    return line[: len(line) - len(line.lstrip())]


def _reindented(text: str, indent: str) -> str:
    lines = text.splitlines(keepends=True)
    current = _indent_of(lines[0])
    return "".join(indent + line[len(current):] if line.startswith(current) and line.strip() else line
                   for line in lines)


def _header_length(tree: ast.Module) -> int:
    """How many lines the module's docstring and ``from __future__`` imports take."""
    end = 0
    for node in tree.body:
        docstring = isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)
        if not (docstring or (isinstance(node, ast.ImportFrom) and node.module == "__future__")):
            break
        end = node.end_lineno
    return end


def _short(text: str) -> str:
    first = text.strip().splitlines()[0] if text.strip() else text
    more = " (and more lines)" if "\n" in text.strip() else ""
    return repr(first if len(first) <= 60 else first[:57] + "...") + more
